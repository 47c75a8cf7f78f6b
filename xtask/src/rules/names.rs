//! Rust names: the identifiers progenitor and typify derive from OpenAPI names, and the rules
//! that keep them unique (rule 11 and inline type names).

use std::collections::BTreeMap;

use heck::{ToPascalCase, ToSnakeCase};
use serde_json::Value;

use super::Violation;
use super::operations::{Op, is_json};
use crate::walk::{escape_pointer_token, is_ref, ptr};

/// Rust keywords (and `_`) that typify/progenitor suffix with `_` (typify's `accept_as_ident`).
const RUST_KEYWORDS: &[&str] = &[
    "_", "abstract", "as", "async", "await", "become", "box", "break", "const", "continue",
    "crate", "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if",
    "impl", "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub",
    "ref", "return", "Self", "self", "static", "struct", "super", "trait", "true", "try", "type",
    "typeof", "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// The case an identifier is converted to.
#[derive(Clone, Copy)]
enum Case {
    Snake,
    Pascal,
}

/// progenitor's / typify's `sanitize` (heck 0.5 plus the identifier fixes on top of it): the
/// identifier an OpenAPI name becomes in Rust. `typify_prefix` selects typify's fix for a
/// leading non-identifier character (`X…`/`x…`) over progenitor's (`_…`).
fn sanitize(input: &str, case: Case, typify_prefix: bool) -> String {
    let to_case = |s: &str| match case {
        Case::Snake => s.to_snake_case(),
        Case::Pascal => s.to_pascal_case(),
    };
    let out = match input {
        "+1" => "plus1".to_string(),
        "-1" => "minus1".to_string(),
        _ => to_case(
            &input.replace('\'', "").replace(|c: char| !unicode_ident::is_xid_continue(c), "-"),
        ),
    };
    let out = match out.chars().next() {
        None => to_case("x"),
        Some(c) if unicode_ident::is_xid_start(c) => out,
        Some(_) if typify_prefix => format!("{}{out}", to_case("x")),
        Some(_) => format!("_{out}"),
    };
    if RUST_KEYWORDS.contains(&out.as_str()) { format!("{out}_") } else { out }
}

/// The Rust method name progenitor derives from an `operationId` (heck `to_snake_case` plus
/// identifier sanitising): `create-auth-session`, `createAuthSession` and `CreateAuthSession`
/// all become `create_auth_session`.
pub fn operation_method_name(operation_id: &str) -> String {
    sanitize(operation_id, Case::Snake, false)
}

/// The Rust type name typify derives from a component schema name (heck `to_pascal_case` plus
/// identifier sanitising): `api_output` and `ApiOutput` both become `ApiOutput`.
pub fn schema_type_name(name: &str) -> String {
    sanitize(name, Case::Pascal, true)
}

// ----- inline type names -----

/// Whether typify turns this inline schema into a named type (struct or enum).
fn makes_named_type(schema: &Value) -> bool {
    let Some(m) = schema.as_object() else {
        return false;
    };
    !m.contains_key("$ref")
        && (m.get("properties").and_then(Value::as_object).is_some_and(|p| !p.is_empty())
            || m.contains_key("enum")
            || m.contains_key("oneOf")
            || m.contains_key("anyOf"))
}

fn component_type_names(doc: &Value) -> BTreeMap<String, String> {
    let mut names = BTreeMap::new();
    if let Some(schemas) = doc.pointer("/components/schemas").and_then(Value::as_object) {
        for name in schemas.keys() {
            names.entry(schema_type_name(name)).or_insert_with(|| name.clone());
        }
    }
    names
}

pub(super) fn check_inline_type_names(doc: &Value, op: &Op<'_>, out: &mut Vec<Violation>) {
    let Some(id) = op.op.get("operationId").and_then(Value::as_str) else {
        return;
    };
    let components = component_type_names(doc);
    let mut candidates = Vec::new();
    if let Some(body) = op.op.get("requestBody").filter(|b| !is_ref(b))
        && let Some(content) = body.get("content").and_then(Value::as_object)
    {
        let base = ptr(&ptr(&op.ptr, "requestBody"), "content");
        for (ct, media) in content {
            if let Some(schema) = media.get("schema") {
                candidates.push((ptr(&ptr(&base, ct), "schema"), schema, "body"));
            }
        }
    }
    if let Some(responses) = op.op.get("responses").and_then(Value::as_object) {
        let base = ptr(&op.ptr, "responses");
        for (code, r) in responses {
            if is_ref(r) {
                continue;
            }
            if let Some(content) = r.get("content").and_then(Value::as_object) {
                for (ct, media) in content {
                    if is_json(ct)
                        && let Some(schema) = media.get("schema")
                    {
                        let p = ptr(&ptr(&ptr(&ptr(&base, code), "content"), ct), "schema");
                        candidates.push((p, schema, "response"));
                    }
                }
            }
        }
    }
    for (p, schema, suffix) in candidates {
        if !makes_named_type(schema) {
            continue;
        }
        let name = match schema.get("title").and_then(Value::as_str) {
            Some(title) => schema_type_name(title),
            None => schema_type_name(&format!("{id}-{suffix}")),
        };
        if let Some(component) = components.get(&name) {
            out.push(Violation::new(
                p,
                format!(
                    "this inline schema would become the Rust type `{name}`, which is already \
                     component schema `{component}`; typify silently reuses the first type. \
                     $ref the component, or move this schema to components under another name"
                ),
            ));
        }
    }
}

// ----- component names (rule 11) -----

pub(super) fn check_component_names(doc: &Value, out: &mut Vec<Violation>) {
    let Some(components) = doc.get("components").and_then(Value::as_object) else {
        return;
    };
    for (section, entries) in components {
        if section.starts_with("x-") {
            continue;
        }
        let Some(entries) = entries.as_object() else {
            continue;
        };
        let base = ptr("/components", section);
        for name in entries.keys() {
            let valid = !name.is_empty()
                && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
            if !valid {
                out.push(Violation::new(
                    ptr(&base, name),
                    "component names must match ^[a-zA-Z0-9._-]+$ (OpenAPI 3.0); rename it and \
                     its references",
                ));
            }
        }
    }
    let Some(schemas) = components.get("schemas").and_then(Value::as_object) else {
        return;
    };
    let mut seen: BTreeMap<String, &str> = BTreeMap::new();
    for name in schemas.keys() {
        let rust = schema_type_name(name);
        if let Some(other) = seen.get(&rust) {
            out.push(Violation::new(
                ptr("/components/schemas", name),
                format!(
                    "schema `{name}` and schema `{other}` (/components/schemas/{}) both become \
                     the Rust type `{rust}` (two structs of one name: the generated code does not \
                     compile); rename one",
                    escape_pointer_token(other)
                ),
            ));
        } else {
            seen.insert(rust, name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::single;

    #[test]
    fn snake_case_like_heck() {
        for (input, expected) in [
            ("create-auth-session", "create_auth_session"),
            ("createAuthSession", "create_auth_session"),
            ("CreateAuthSession", "create_auth_session"),
            ("create_auth_session", "create_auth_session"),
            ("HTTPServerError", "http_server_error"),
            ("getV2Users", "get_v2_users"),
            ("IdentityUserSession_CreateAuthSession", "identity_user_session_create_auth_session"),
            ("user's list", "users_list"),
            ("2fa", "_2fa"),
            ("type", "type_"),
            ("", "x"),
        ] {
            assert_eq!(operation_method_name(input), expected, "{input}");
        }
    }

    #[test]
    fn pascal_case_like_heck() {
        for (input, expected) in [
            ("api_output", "ApiOutput"),
            ("ApiOutput", "ApiOutput"),
            ("apiOutput", "ApiOutput"),
            ("API_OUTPUT", "ApiOutput"),
            ("ApiOutputString", "ApiOutputString"),
            ("v2.Item", "V2Item"),
            ("2fa", "X2fa"),
            ("self", "Self_"),
        ] {
            assert_eq!(schema_type_name(input), expected, "{input}");
        }
    }

    #[test]
    fn schema_name_collision() {
        single("schema-name-collision", "/components/schemas/api_output");
    }

    #[test]
    fn component_name() {
        single("component-name", "/components/schemas/Team Info");
    }

    #[test]
    fn inline_type_name() {
        single(
            "inline-type-name",
            "/paths/~1teams/get/responses/200/content/application~1json/schema",
        );
    }
}
