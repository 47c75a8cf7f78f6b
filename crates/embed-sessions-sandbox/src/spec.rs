//! The specs of `specs/`, embedded at compile time, and request-body validation against them.
//!
//! Each operation's JSON request-body schema is compiled once with `jsonschema` (draft 2020-12,
//! formats checked). `vlens.yaml` is OpenAPI 3.1, whose schemas already are 2020-12; the 3.0.3
//! specs get `nullable: true` translated first (`type: [T, "null"]`, `null` added to an `enum`,
//! or `anyOf: [schema, {type: null}]` around an `allOf`/`$ref`). `$ref`s such as
//! `#/components/schemas/X` resolve because the compiled schema carries the spec's
//! `components` at its root.
//!
//! Besides the schema, a body must spell documented fields with their documented casing:
//! `digitalIdentityOnly` for `DigitalIdentityOnly` is rejected even where
//! `additionalProperties` is open (the schema alone would accept it silently).

use std::collections::HashMap;

use jsonschema::{Draft, Validator};
use serde_json::{Map, Value, json};

/// `specs/vlens.yaml`, as compiled into the sandbox.
pub const VLENS_SPEC: &str = include_str!("../../../specs/vlens.yaml");
/// `specs/vrplatform.yaml`, as compiled into the sandbox.
pub const VRPLATFORM_SPEC: &str = include_str!("../../../specs/vrplatform.yaml");
/// `specs/bunq.yaml`, as compiled into the sandbox.
pub const BUNQ_SPEC: &str = include_str!("../../../specs/bunq.yaml");

/// One provider's spec: the request-body validators of its operations.
pub(crate) struct Spec {
    /// `(METHOD, path template)` -> body schema and its validator.
    bodies: HashMap<(String, String), Body>,
}

struct Body {
    validator: Validator,
    /// The schema (with `components` at its root), for the casing walk.
    schema: Value,
    required: bool,
}

/// Why a request body was rejected; `field` is a dotted path (`SessionInput.phoneNumber`),
/// empty for the body itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BodyProblem {
    pub field: String,
    pub message: String,
}

impl BodyProblem {
    fn new(field: String, message: impl Into<String>) -> Self {
        Self { field, message: message.into() }
    }

    /// `field `x.y`: message` (or the message alone for the body).
    pub fn describe(&self) -> String {
        if self.field.is_empty() {
            format!("request body: {}", self.message)
        } else {
            format!("field `{}`: {}", self.field, self.message)
        }
    }
}

impl Spec {
    /// Parses a spec (YAML), translating 3.0 `nullable` when `openapi` is 3.0.x.
    pub fn load(yaml: &str) -> Result<Self, String> {
        let mut doc: Value =
            serde_norway::from_str(yaml).map_err(|e| format!("spec is not valid YAML: {e}"))?;
        let is_30 = doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.0"));
        if is_30 {
            translate_nullable(&mut doc);
        }
        let components = doc.get("components").cloned().unwrap_or_else(|| json!({}));
        let mut bodies = HashMap::new();
        let paths = doc["paths"].as_object().cloned().unwrap_or_default();
        for (path, item) in paths {
            let Some(item) = item.as_object() else { continue };
            for (method, op) in item {
                let body = &op["requestBody"];
                let Some(schema) = body["content"]["application/json"]["schema"].as_object() else {
                    continue;
                };
                let mut root = Map::new();
                root.insert(
                    "$schema".into(),
                    json!("https://json-schema.org/draft/2020-12/schema"),
                );
                for (k, v) in schema {
                    root.insert(k.clone(), v.clone());
                }
                root.insert("components".into(), components.clone());
                let root = Value::Object(root);
                let validator = jsonschema::options()
                    .with_draft(Draft::Draft202012)
                    .should_validate_formats(true)
                    .build(&root)
                    .map_err(|e| format!("{method} {path}: schema does not compile: {e}"))?;
                bodies.insert(
                    (method.to_ascii_uppercase(), path.clone()),
                    Body {
                        validator,
                        schema: root,
                        required: body["required"].as_bool().unwrap_or(false),
                    },
                );
            }
        }
        Ok(Self { bodies })
    }

    /// Parses and validates the body of `METHOD path-template`. An empty body is `None` when
    /// the spec does not require one.
    pub fn body(
        &self,
        method: &str,
        template: &str,
        raw: &[u8],
    ) -> Result<Option<Value>, BodyProblem> {
        let Some(spec) = self.bodies.get(&(method.to_string(), template.to_string())) else {
            return Ok(None);
        };
        if raw.iter().all(u8::is_ascii_whitespace) {
            if spec.required {
                return Err(BodyProblem::new(String::new(), "a JSON body is required"));
            }
            return Ok(None);
        }
        let value: Value = serde_json::from_slice(raw)
            .map_err(|e| BodyProblem::new(String::new(), format!("not valid JSON ({e})")))?;
        if let Some(problem) = casing(&value, &spec.schema, &spec.schema, "", 0) {
            return Err(problem);
        }
        if let Some(error) = spec.validator.iter_errors(&value).next() {
            let field = pointer_to_field(error.instance_path().as_str());
            // Masked: the message never repeats the value (it may be a password).
            return Err(BodyProblem::new(field, error.masked().to_string()));
        }
        Ok(Some(value))
    }

    /// Whether the spec has a body schema for this operation (tests use it).
    #[cfg(test)]
    pub fn has_body(&self, method: &str, template: &str) -> bool {
        self.bodies.contains_key(&(method.to_string(), template.to_string()))
    }
}

/// `/SessionInput/phoneNumber` -> `SessionInput.phoneNumber`; `/a/0/b` -> `a[0].b`.
fn pointer_to_field(pointer: &str) -> String {
    let mut out = String::new();
    for seg in pointer.split('/').skip(1) {
        let seg = seg.replace("~1", "/").replace("~0", "~");
        if !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_digit()) {
            out.push_str(&format!("[{seg}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&seg);
        }
    }
    out
}

/// Follows `$ref: '#/...'` inside `root` (at most 32 hops).
fn resolve<'a>(mut schema: &'a Value, root: &'a Value) -> &'a Value {
    for _ in 0..32 {
        match schema.get("$ref").and_then(Value::as_str) {
            Some(r) if r.starts_with('#') => match root.pointer(&r[1..]) {
                Some(target) => schema = target,
                None => return schema,
            },
            _ => return schema,
        }
    }
    schema
}

/// The first key of `value` that differs from a documented property only in casing.
fn casing(
    value: &Value,
    schema: &Value,
    root: &Value,
    at: &str,
    depth: u32,
) -> Option<BodyProblem> {
    if depth > 48 {
        return None;
    }
    let schema = resolve(schema, root);
    for combinator in ["allOf", "anyOf", "oneOf"] {
        if let Some(branches) = schema.get(combinator).and_then(Value::as_array) {
            for branch in branches {
                if let Some(p) = casing(value, branch, root, at, depth + 1) {
                    return Some(p);
                }
            }
        }
    }
    let join = |key: &str| if at.is_empty() { key.to_string() } else { format!("{at}.{key}") };
    match value {
        Value::Object(map) => {
            let props = schema.get("properties").and_then(Value::as_object);
            for (key, v) in map {
                match props.and_then(|p| p.get(key)) {
                    Some(sub) => {
                        if let Some(p) = casing(v, sub, root, &join(key), depth + 1) {
                            return Some(p);
                        }
                    }
                    None => {
                        if let Some(documented) =
                            props.and_then(|p| p.keys().find(|name| name.eq_ignore_ascii_case(key)))
                        {
                            return Some(BodyProblem::new(
                                join(key),
                                format!(
                                    "unknown field; the documented name is `{documented}` \
                                     (field names are case-sensitive)"
                                ),
                            ));
                        }
                        if let Some(extra) =
                            schema.get("additionalProperties").filter(|s| s.is_object())
                            && let Some(p) = casing(v, extra, root, &join(key), depth + 1)
                        {
                            return Some(p);
                        }
                    }
                }
            }
            None
        }
        Value::Array(items) => {
            let item_schema = schema.get("items")?;
            items
                .iter()
                .enumerate()
                .find_map(|(i, v)| casing(v, item_schema, root, &format!("{at}[{i}]"), depth + 1))
        }
        _ => None,
    }
}

/// OpenAPI 3.0 `nullable: true` -> JSON Schema 2020-12, everywhere in the document.
fn translate_nullable(value: &mut Value) {
    match value {
        Value::Array(items) => items.iter_mut().for_each(translate_nullable),
        Value::Object(map) => {
            for v in map.values_mut() {
                translate_nullable(v);
            }
            if map.get("nullable") != Some(&Value::Bool(true)) {
                map.remove("nullable");
                return;
            }
            map.remove("nullable");
            if let Some(list) = map.get_mut("enum").and_then(Value::as_array_mut)
                && !list.contains(&Value::Null)
            {
                list.push(Value::Null);
            }
            match map.get("type").cloned() {
                Some(Value::String(t)) => {
                    map.insert("type".into(), json!([t, "null"]));
                }
                Some(_) => {}
                None => {
                    let inner = Value::Object(std::mem::take(map));
                    map.insert("anyOf".into(), json!([inner, {"type": "null"}]));
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spec_loads_and_has_its_bodies() {
        let vlens = Spec::load(VLENS_SPEC).unwrap();
        assert!(vlens.has_body("POST", "/api/IdentityUserSession/CreateInvitation"));
        let vrp = Spec::load(VRPLATFORM_SPEC).unwrap();
        assert!(vrp.has_body("POST", "/auth/embed/session"));
        let bunq = Spec::load(BUNQ_SPEC).unwrap();
        assert!(bunq.has_body("POST", "/partner-user-provision"));
        assert!(bunq.has_body("POST", "/user/{userID}/notification-filter-url"));
    }

    #[test]
    fn problems_name_the_field() {
        let vrp = Spec::load(VRPLATFORM_SPEC).unwrap();
        let e = vrp.body("POST", "/auth/embed/session", br#"{"sub":"a","tenantId":"nope"}"#);
        assert_eq!(e.unwrap_err().field, "tenantId");
        let e = vrp.body(
            "POST",
            "/auth/embed/session",
            br#"{"tenantId":"4f8f94de-2cc0-4ec7-a7f8-f0c7f560e59a"}"#,
        );
        assert!(e.unwrap_err().describe().contains("sub"));
        let vlens = Spec::load(VLENS_SPEC).unwrap();
        let e = vlens
            .body(
                "POST",
                "/api/IdentityUserSession/CreateAuthSession",
                br#"{"phoneNumber":"+20","sessionPermissions":{"digitalIdentityOnly":true}}"#,
            )
            .unwrap_err();
        assert_eq!(e.field, "sessionPermissions.digitalIdentityOnly");
        assert!(e.message.contains("DigitalIdentityOnly"), "{e:?}");
        let e = vlens
            .body("POST", "/api/credentials/Login", br#"{"tenancyName":"t","userNameOrEmailAddress":"u","password":"0123456789012345678901234567890123"}"#)
            .unwrap_err();
        assert_eq!(e.field, "password");
        assert!(!e.message.contains("0123456789"), "the value is masked: {e:?}");
    }

    #[test]
    fn nullable_becomes_a_null_branch() {
        let mut v = json!({"a": {"type": "string", "nullable": true},
                           "b": {"allOf": [{"$ref": "#/x"}], "nullable": true},
                           "c": {"type": "string", "enum": ["x"], "nullable": true}});
        translate_nullable(&mut v);
        assert_eq!(v["a"], json!({"type": ["string", "null"]}));
        assert_eq!(v["b"], json!({"anyOf": [{"allOf": [{"$ref": "#/x"}]}, {"type": "null"}]}));
        assert_eq!(v["c"]["enum"], json!(["x", null]));
    }
}
