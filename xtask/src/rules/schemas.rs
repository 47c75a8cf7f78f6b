//! Schemas (rule 8): no OpenAPI 3.1 / JSON Schema 2020-12 leftovers (`type: 'null'`, type
//! arrays, `const`, numeric exclusive bounds, `examples`, tuple `items`, 2020-12 keywords,
//! boolean schemas), no `$ref` siblings that OpenAPI 3.0 would ignore, and no schema without
//! `type` whose keywords typify cannot place (it panics, `todo!`, on those).

use serde_json::{Map, Value};

use super::{KEYWORDS_31, REF_ANNOTATIONS, Violation};
use crate::walk::ptr;

/// The single-type names OpenAPI 3.0 knows.
const TYPES_30: &[&str] = &["string", "number", "integer", "boolean", "object", "array"];

/// The members next to a schema's `$ref` that OpenAPI 3.0 ignores (everything but annotations
/// and extensions).
pub(crate) fn ignored_ref_siblings(m: &Map<String, Value>) -> Vec<&str> {
    m.keys()
        .map(String::as_str)
        .filter(|k| *k != "$ref" && !k.starts_with("x-") && !REF_ANNOTATIONS.contains(k))
        .collect()
}

/// Checks one schema object the walker visited at `p`.
pub(super) fn check_schema(p: &str, v: &Value, out: &mut Vec<Violation>) {
    let m = match v {
        Value::Object(m) => m,
        Value::Bool(_) => {
            out.push(Violation::new(
                p,
                "boolean schemas are OpenAPI 3.1; use `{}` (any value) instead",
            ));
            return;
        }
        _ => {
            out.push(Violation::new(p, "a schema must be an object"));
            return;
        }
    };
    check_type(p, m, out);
    check_31_keywords(p, m, out);
    check_typeless(p, m, out);
    check_format(p, m, out);
    if m.contains_key("$ref") {
        let ignored = ignored_ref_siblings(m);
        if !ignored.is_empty() {
            out.push(Violation::new(
                p,
                format!(
                    "OpenAPI 3.0 ignores siblings of `$ref` ({}); wrap the reference as \
                     `allOf: [{{$ref: ...}}]` next to them",
                    ignored.join(", ")
                ),
            ));
        }
    }
}

/// `type` is one OpenAPI 3.0 type name (progenitor panics on `null`).
fn check_type(p: &str, m: &Map<String, Value>, out: &mut Vec<Violation>) {
    match m.get("type") {
        None => {}
        Some(Value::String(t)) if t == "null" => out.push(Violation::new(
            ptr(p, "type"),
            "`type: 'null'` makes progenitor panic (invalid type: null); drop the null branch \
             and set `nullable: true` on the schema that may be null",
        )),
        Some(Value::String(t)) if TYPES_30.contains(&t.as_str()) => {}
        Some(Value::String(t)) => out.push(Violation::new(
            ptr(p, "type"),
            format!("unknown type `{t}`; use one of {}", TYPES_30.join(", ")),
        )),
        Some(Value::Array(_)) => out.push(Violation::new(
            ptr(p, "type"),
            "type arrays are OpenAPI 3.1; use a single `type` plus `nullable: true`, or `oneOf`",
        )),
        Some(_) => out.push(Violation::new(ptr(p, "type"), "`type` must be a string")),
    }
}

/// The 3.1 forms of `const`, `examples`, exclusive bounds and `items`, and 2020-12 keywords.
fn check_31_keywords(p: &str, m: &Map<String, Value>, out: &mut Vec<Violation>) {
    if let Some(c) = m.get("const") {
        out.push(Violation::new(
            ptr(p, "const"),
            format!("`const` is OpenAPI 3.1; use `enum: [{c}]`"),
        ));
    }
    if m.contains_key("examples") {
        out.push(Violation::new(
            ptr(p, "examples"),
            "`examples` in a schema is OpenAPI 3.1; use a single `example`",
        ));
    }
    for (kw, bound) in [("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")] {
        match m.get(kw) {
            Some(Value::Number(n)) => out.push(Violation::new(
                ptr(p, kw),
                format!("numeric `{kw}` is OpenAPI 3.1; write `{bound}: {n}` plus `{kw}: true`"),
            )),
            Some(Value::Bool(true)) if !m.contains_key(bound) => out.push(Violation::new(
                ptr(p, kw),
                format!(
                    "`{kw}: true` without `{bound}` makes progenitor panic (todo!); add `{bound}`"
                ),
            )),
            _ => {}
        }
    }
    if m.get("items").is_some_and(Value::is_array) {
        out.push(Violation::new(
            ptr(p, "items"),
            "`items` must be a single schema in OpenAPI 3.0 (tuples are not supported)",
        ));
    }
    for kw in KEYWORDS_31 {
        if m.contains_key(*kw) {
            out.push(Violation::new(
                ptr(p, kw),
                format!("`{kw}` is a JSON Schema 2020-12 keyword OpenAPI 3.0 does not support; remove it"),
            ));
        }
    }
}

/// The keyword groups of a schema without `type`, by the kind of value they constrain.
const TYPELESS_GROUPS: &[(&str, &[&str])] = &[
    ("string", &["format", "pattern", "minLength", "maxLength"]),
    ("number", &["minimum", "maximum", "multipleOf", "exclusiveMinimum", "exclusiveMaximum"]),
    (
        "object",
        &["properties", "required", "additionalProperties", "minProperties", "maxProperties"],
    ),
    ("array", &["items", "minItems", "maxItems", "uniqueItems"]),
    ("enum", &["enum"]),
    ("oneOf", &["oneOf"]),
    ("allOf", &["allOf"]),
    ("anyOf", &["anyOf"]),
    ("not", &["not"]),
];

/// A schema without `type` (found by fuzzing `cargo xtask codegen`): typify converts one only
/// when its keywords constrain a single kind of value, and a `format` only beside a string
/// keyword (`{format: uuid}` alone panics with "invalid (or unexpected) schema").
fn check_typeless(p: &str, m: &Map<String, Value>, out: &mut Vec<Violation>) {
    if m.contains_key("type") || m.contains_key("$ref") {
        return;
    }
    let groups: Vec<&str> = TYPELESS_GROUPS
        .iter()
        .filter(|(_, kws)| kws.iter().any(|k| m.contains_key(*k)))
        .map(|(g, _)| *g)
        .collect();
    let string_kw = ["pattern", "minLength", "maxLength"].iter().any(|k| m.contains_key(*k));
    let why = match groups.as_slice() {
        [] => return,
        ["number"] => "keywords of a number without `type`",
        ["string"] if m.contains_key("format") && !string_kw => "a `format` without `type`",
        [_] => return,
        _ => "keywords of several kinds of value without `type`",
    };
    out.push(Violation::new(
        p,
        format!(
            "{why} ({}) makes progenitor panic (typify: invalid or unexpected schema); add the \
             `type` the value has",
            groups.join(", ")
        ),
    ));
}

/// typify converts a `format` on strings, integers and numbers only; on a boolean, object or
/// array it panics (`todo!`, found by fuzzing `cargo xtask codegen`).
fn check_format(p: &str, m: &Map<String, Value>, out: &mut Vec<Violation>) {
    if let (Some(Value::String(t)), Some(_)) = (m.get("type"), m.get("format"))
        && matches!(t.as_str(), "boolean" | "object" | "array")
    {
        out.push(Violation::new(
            ptr(p, "format"),
            format!(
                "a `format` on a `{t}` makes progenitor panic (typify: invalid or unexpected \
                 schema); remove it (formats apply to strings, integers and numbers)"
            ),
        ));
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::single;

    #[test]
    fn schema_typeless_format() {
        single("schema-typeless-format", "/components/schemas/Team/properties/id");
    }

    #[test]
    fn schema_format_on_boolean() {
        single("schema-format-boolean", "/components/schemas/Team/properties/active/format");
    }

    #[test]
    fn schema_type_null() {
        single("schema-type-null", "/components/schemas/Team/properties/note/oneOf/1/type");
    }

    #[test]
    fn schema_type_array() {
        single("schema-type-array", "/components/schemas/Team/properties/name/type");
    }

    #[test]
    fn schema_const() {
        single("schema-const", "/components/schemas/Team/properties/kind/const");
    }

    #[test]
    fn schema_keyword_31() {
        single("schema-keyword-31", "/components/schemas/Team/unevaluatedProperties");
    }

    #[test]
    fn schema_exclusive_bound() {
        single(
            "schema-exclusive-bound",
            "/components/schemas/Team/properties/size/exclusiveMinimum",
        );
    }

    #[test]
    fn schema_ref_siblings() {
        single("schema-ref-siblings", "/components/schemas/Team/properties/owner");
    }
}
