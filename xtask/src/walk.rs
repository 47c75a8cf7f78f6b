//! The OpenAPI document walker and JSON-pointer helpers, shared by the down-converter, the rule
//! check and the spec-drift comparison.

use serde_json::Value;

/// Escapes one reference token for a JSON pointer (RFC 6901): `~` → `~0`, `/` → `~1`.
pub fn escape_pointer_token(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

/// Unescapes one JSON pointer reference token: `~1` → `/`, `~0` → `~`.
pub(crate) fn unescape_pointer_token(s: &str) -> String {
    s.replace("~1", "/").replace("~0", "~")
}

/// `base` + `/` + escaped `token`.
pub(crate) fn ptr(base: &str, token: &str) -> String {
    format!("{base}/{}", escape_pointer_token(token))
}

/// Resolves a (possibly `$ref`) object against `#/components/<section>/<name>`, following
/// chains of references. Returns the object and the pointer where it is defined, or `None` if a
/// reference cannot be resolved (reported separately by the `$ref` rule).
pub(crate) fn resolve<'a>(
    doc: &'a Value,
    v: &'a Value,
    at: String,
    section: &str,
) -> Option<(&'a Value, String)> {
    let mut cur = (v, at);
    for _ in 0..16 {
        let Some(reference) = cur.0.get("$ref") else {
            return Some(cur);
        };
        let name = reference.as_str()?.strip_prefix(&format!("#/components/{section}/"))?;
        if name.contains('/') {
            return None;
        }
        let name = unescape_pointer_token(name);
        let target = doc.get("components")?.get(section)?.get(&name)?;
        cur = (target, ptr(&ptr(&ptr("", "components"), section), &name));
    }
    None
}

/// The HTTP methods a path item may hold, in the order progenitor visits them.
pub(crate) const HTTP_METHODS: [&str; 8] =
    ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/// The kind of OpenAPI object the walker is visiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Node {
    Schema,
    Parameter,
    RequestBody,
    Response,
    Header,
    Example,
    Link,
    Callback,
    PathItem,
    Operation,
    MediaType,
    SecurityScheme,
}

impl Node {
    /// The `components` section a `$ref` at this kind of node must point into.
    pub(crate) fn component_section(self) -> Option<&'static str> {
        Some(match self {
            Node::Schema => "schemas",
            Node::Parameter => "parameters",
            Node::RequestBody => "requestBodies",
            Node::Response => "responses",
            Node::Header => "headers",
            Node::Example => "examples",
            Node::Link => "links",
            Node::Callback => "callbacks",
            Node::SecurityScheme => "securitySchemes",
            Node::PathItem | Node::Operation | Node::MediaType => return None,
        })
    }
}

/// Schema keywords whose value is a single subschema.
const SCHEMA_SINGLE: &[&str] = &[
    "not",
    "if",
    "then",
    "else",
    "contains",
    "propertyNames",
    "contentSchema",
    "unevaluatedItems",
];
/// Schema keywords whose value is an array of subschemas.
const SCHEMA_ARRAY: &[&str] = &["allOf", "oneOf", "anyOf", "prefixItems"];
/// Schema keywords whose value is a map of name → subschema.
const SCHEMA_MAP: &[&str] =
    &["properties", "patternProperties", "$defs", "definitions", "dependentSchemas"];

/// Visits every object of `doc` that can hold a schema, parameter, response, … in document order
/// (parents before children), calling `f(kind, pointer, value)`. Reference objects are visited
/// (with their `$ref`) but not followed. Schemas are visited wherever they can occur, including
/// JSON Schema 2020-12 keywords (`prefixItems`, `$defs`, …) and boolean schemas, except boolean
/// `additionalProperties`.
pub(crate) fn walk<F: FnMut(Node, &str, &Value)>(doc: &Value, f: &mut F) {
    if let Some(paths) = doc.get("paths").and_then(Value::as_object) {
        for (p, item) in paths {
            if !p.starts_with("x-") {
                walk_path_item(item, &ptr("/paths", p), f);
            }
        }
    }
    if let Some(hooks) = doc.get("webhooks").and_then(Value::as_object) {
        for (name, item) in hooks {
            walk_path_item(item, &ptr("/webhooks", name), f);
        }
    }
    let Some(components) = doc.get("components").and_then(Value::as_object) else {
        return;
    };
    for (section, entries) in components {
        let Some(entries) = entries.as_object() else {
            continue;
        };
        let base = ptr("/components", section);
        for (name, v) in entries {
            let p = ptr(&base, name);
            match section.as_str() {
                "schemas" => walk_schema(v, &p, f),
                "responses" => walk_response(v, &p, f),
                "parameters" => walk_parameter(v, &p, Node::Parameter, f),
                "headers" => walk_parameter(v, &p, Node::Header, f),
                "examples" => f(Node::Example, &p, v),
                "links" => f(Node::Link, &p, v),
                "requestBodies" => walk_request_body(v, &p, f),
                "securitySchemes" => f(Node::SecurityScheme, &p, v),
                "callbacks" => walk_callback(v, &p, f),
                "pathItems" => walk_path_item(v, &p, f),
                _ => {}
            }
        }
    }
}

pub(crate) fn is_ref(v: &Value) -> bool {
    v.get("$ref").is_some()
}

fn walk_path_item<F: FnMut(Node, &str, &Value)>(v: &Value, p: &str, f: &mut F) {
    f(Node::PathItem, p, v);
    if is_ref(v) {
        return;
    }
    walk_parameter_list(v, p, f);
    for method in HTTP_METHODS {
        if let Some(op) = v.get(method) {
            walk_operation(op, &ptr(p, method), f);
        }
    }
}

/// The `parameters` array of a path item or an operation.
fn walk_parameter_list<F: FnMut(Node, &str, &Value)>(v: &Value, p: &str, f: &mut F) {
    if let Some(params) = v.get("parameters").and_then(Value::as_array) {
        let base = ptr(p, "parameters");
        for (i, param) in params.iter().enumerate() {
            walk_parameter(param, &ptr(&base, &i.to_string()), Node::Parameter, f);
        }
    }
}

fn walk_operation<F: FnMut(Node, &str, &Value)>(v: &Value, p: &str, f: &mut F) {
    f(Node::Operation, p, v);
    walk_parameter_list(v, p, f);
    if let Some(body) = v.get("requestBody") {
        walk_request_body(body, &ptr(p, "requestBody"), f);
    }
    walk_members(v, p, "responses", f, walk_response);
    walk_members(v, p, "callbacks", f, walk_callback);
}

/// Visits each member of the object `v[key]` (but `x-` extensions) with `visit`.
fn walk_members<F: FnMut(Node, &str, &Value)>(
    v: &Value,
    p: &str,
    key: &str,
    f: &mut F,
    visit: fn(&Value, &str, &mut F),
) {
    if let Some(members) = v.get(key).and_then(Value::as_object) {
        let base = ptr(p, key);
        for (name, member) in members {
            if !name.starts_with("x-") {
                visit(member, &ptr(&base, name), f);
            }
        }
    }
}

fn walk_callback<F: FnMut(Node, &str, &Value)>(v: &Value, p: &str, f: &mut F) {
    f(Node::Callback, p, v);
    if is_ref(v) {
        return;
    }
    if let Some(map) = v.as_object() {
        for (expr, item) in map {
            if !expr.starts_with("x-") {
                walk_path_item(item, &ptr(p, expr), f);
            }
        }
    }
}

/// Parameters and headers share their shape (`schema` or `content`, `examples`).
fn walk_parameter<F: FnMut(Node, &str, &Value)>(v: &Value, p: &str, kind: Node, f: &mut F) {
    f(kind, p, v);
    if is_ref(v) {
        return;
    }
    if let Some(schema) = v.get("schema") {
        walk_schema(schema, &ptr(p, "schema"), f);
    }
    walk_content(v, p, f);
    walk_examples(v, p, f);
}

fn walk_examples<F: FnMut(Node, &str, &Value)>(v: &Value, p: &str, f: &mut F) {
    if let Some(examples) = v.get("examples").and_then(Value::as_object) {
        let base = ptr(p, "examples");
        for (name, ex) in examples {
            f(Node::Example, &ptr(&base, name), ex);
        }
    }
}

fn walk_content<F: FnMut(Node, &str, &Value)>(v: &Value, p: &str, f: &mut F) {
    walk_members(v, p, "content", f, walk_media_type);
}

fn walk_media_type<F: FnMut(Node, &str, &Value)>(v: &Value, p: &str, f: &mut F) {
    f(Node::MediaType, p, v);
    if let Some(schema) = v.get("schema") {
        walk_schema(schema, &ptr(p, "schema"), f);
    }
    walk_examples(v, p, f);
    if let Some(encoding) = v.get("encoding").and_then(Value::as_object) {
        let base = ptr(p, "encoding");
        for (prop, enc) in encoding {
            if let Some(headers) = enc.get("headers").and_then(Value::as_object) {
                let hbase = ptr(&ptr(&base, prop), "headers");
                for (name, h) in headers {
                    walk_parameter(h, &ptr(&hbase, name), Node::Header, f);
                }
            }
        }
    }
}

fn walk_request_body<F: FnMut(Node, &str, &Value)>(v: &Value, p: &str, f: &mut F) {
    f(Node::RequestBody, p, v);
    if !is_ref(v) {
        walk_content(v, p, f);
    }
}

fn walk_response<F: FnMut(Node, &str, &Value)>(v: &Value, p: &str, f: &mut F) {
    f(Node::Response, p, v);
    if is_ref(v) {
        return;
    }
    if let Some(headers) = v.get("headers").and_then(Value::as_object) {
        let base = ptr(p, "headers");
        for (name, h) in headers {
            walk_parameter(h, &ptr(&base, name), Node::Header, f);
        }
    }
    walk_content(v, p, f);
    if let Some(links) = v.get("links").and_then(Value::as_object) {
        let base = ptr(p, "links");
        for (name, l) in links {
            f(Node::Link, &ptr(&base, name), l);
        }
    }
}

fn walk_schema<F: FnMut(Node, &str, &Value)>(v: &Value, p: &str, f: &mut F) {
    f(Node::Schema, p, v);
    let Some(map) = v.as_object() else {
        return;
    };
    for (key, child) in map {
        let key = key.as_str();
        if SCHEMA_MAP.contains(&key) {
            if let Some(children) = child.as_object() {
                let base = ptr(p, key);
                for (name, s) in children {
                    walk_schema(s, &ptr(&base, name), f);
                }
            }
        } else if SCHEMA_ARRAY.contains(&key) || (key == "items" && child.is_array()) {
            if let Some(children) = child.as_array() {
                let base = ptr(p, key);
                for (i, s) in children.iter().enumerate() {
                    walk_schema(s, &ptr(&base, &i.to_string()), f);
                }
            }
        } else if key == "items" {
            walk_schema(child, &ptr(p, key), f);
        } else if key == "additionalProperties" || key == "unevaluatedProperties" {
            if child.is_object() {
                walk_schema(child, &ptr(p, key), f);
            }
        } else if SCHEMA_SINGLE.contains(&key) {
            walk_schema(child, &ptr(p, key), f);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pointer_tokens() {
        assert_eq!(escape_pointer_token("/teams/{id}"), "~1teams~1{id}");
        assert_eq!(escape_pointer_token("a~b/c"), "a~0b~1c");
        assert_eq!(unescape_pointer_token("a~0b~1c"), "a~b/c");
        assert_eq!(ptr("/paths", "/a/{b}"), "/paths/~1a~1{b}");
    }

    #[test]
    fn resolve_follows_reference_chains() {
        let doc = json!({"components": {"parameters": {
            "A": {"$ref": "#/components/parameters/B"},
            "B": {"name": "b", "in": "query"}
        }}});
        let to_a = json!({"$ref": "#/components/parameters/A"});
        let (v, at) = resolve(&doc, &to_a, "/x".into(), "parameters").unwrap();
        assert_eq!(v["name"], "b");
        assert_eq!(at, "/components/parameters/B");
        let wrong_section = json!({"$ref": "#/components/schemas/A"});
        assert!(resolve(&doc, &wrong_section, "/x".into(), "parameters").is_none());
        let inline = json!({"name": "c"});
        assert_eq!(resolve(&doc, &inline, "/y".into(), "parameters"), Some((&inline, "/y".into())));
    }

    #[test]
    fn walker_visits_nested_schemas() {
        let doc = json!({
            "openapi": "3.0.3",
            "paths": {"/a": {"parameters": [{"name": "p", "in": "query", "schema": {"type": "string"}}],
                "get": {"responses": {"200": {"description": "", "content": {"application/json": {
                    "schema": {"type": "object", "properties": {"x": {"type": "array", "items": {"oneOf": [{"type": "string"}]}}},
                               "additionalProperties": {"not": {"type": "string"}}}}}}}}}},
            "components": {"schemas": {"A": {"allOf": [{"$ref": "#/components/schemas/B"}]}, "B": {}}}
        });
        let mut seen = Vec::new();
        walk(&doc, &mut |node, p, _| {
            if node == Node::Schema {
                seen.push(p.to_string());
            }
        });
        let resp = "/paths/~1a/get/responses/200/content/application~1json/schema";
        assert_eq!(
            seen,
            vec![
                "/paths/~1a/parameters/0/schema".to_string(),
                resp.to_string(),
                format!("{resp}/properties/x"),
                format!("{resp}/properties/x/items"),
                format!("{resp}/properties/x/items/oneOf/0"),
                format!("{resp}/additionalProperties"),
                format!("{resp}/additionalProperties/not"),
                "/components/schemas/A".to_string(),
                "/components/schemas/A/allOf/0".to_string(),
                "/components/schemas/B".to_string(),
            ]
        );
    }
}
