//! Spec-authoring rules checked on an OpenAPI 3.0.x document before it reaches progenitor.
//!
//! progenitor 0.15.1 panics (`assert!`, `todo!`, `unwrap`) or silently generates wrong code on a
//! number of spec shapes (see `shared/notes/progenitor.md` §4–5). [`check`] finds all of them
//! statically and reports each as a [`Violation`] located by JSON pointer, so a spec author gets a
//! list of fixes instead of a panic backtrace.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

/// One problem found in a spec, located by RFC 6901 JSON pointer (e.g. `/paths/~1teams~1{id}/get/operationId`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// RFC 6901 JSON pointer to the offending value (`""` is the whole document).
    pub pointer: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl Violation {
    /// Creates a violation at `pointer` (an RFC 6901 JSON pointer) with a message saying what is
    /// wrong and how to fix it.
    pub fn new(pointer: impl Into<String>, message: impl Into<String>) -> Self {
        Self { pointer: pointer.into(), message: message.into() }
    }

    /// Renders `specs/FILE: /json/pointer: message` — message says what is wrong and how to fix it.
    ///
    /// `spec_path` is printed as given (e.g. `specs/vlens.yaml`); the whole document (empty
    /// pointer) is shown as `/`.
    pub fn render(&self, spec_path: &str) -> String {
        let pointer = if self.pointer.is_empty() { "/" } else { &self.pointer };
        format!("{spec_path}: {pointer}: {}", self.message)
    }
}

/// Escapes one reference token for a JSON pointer (RFC 6901): `~` → `~0`, `/` → `~1`.
pub fn escape_pointer_token(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

/// Unescapes one JSON pointer reference token: `~1` → `/`, `~0` → `~`.
fn unescape_pointer_token(s: &str) -> String {
    s.replace("~1", "/").replace("~0", "~")
}

/// `base` + `/` + escaped `token`.
pub(crate) fn ptr(base: &str, token: &str) -> String {
    format!("{base}/{}", escape_pointer_token(token))
}

/// Sorts violations by pointer (then message) and removes exact duplicates.
pub(crate) fn sort_violations(v: &mut Vec<Violation>) {
    v.sort_by(|a, b| a.pointer.cmp(&b.pointer).then_with(|| a.message.cmp(&b.message)));
    v.dedup();
}

// ---------------------------------------------------------------------------------------------
// Naming: the conversions progenitor/typify apply (heck 0.5 + `sanitize`).
// ---------------------------------------------------------------------------------------------

/// Splits a string into words exactly like heck 0.5's `transform`.
fn heck_words(s: &str) -> Vec<&str> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mode {
        Boundary,
        Lowercase,
        Uppercase,
    }
    let mut out = Vec::new();
    for word in s.split(|c: char| !c.is_alphanumeric()) {
        let mut chars = word.char_indices().peekable();
        let mut init = 0;
        let mut mode = Mode::Boundary;
        while let Some((i, c)) = chars.next() {
            if let Some(&(next_i, next)) = chars.peek() {
                let next_mode = if c.is_lowercase() {
                    Mode::Lowercase
                } else if c.is_uppercase() {
                    Mode::Uppercase
                } else {
                    mode
                };
                if next_mode == Mode::Lowercase && next.is_uppercase() {
                    out.push(&word[init..next_i]);
                    init = next_i;
                    mode = Mode::Boundary;
                } else if mode == Mode::Uppercase && c.is_uppercase() && next.is_lowercase() {
                    out.push(&word[init..i]);
                    init = i;
                    mode = Mode::Boundary;
                } else {
                    mode = next_mode;
                }
            } else {
                out.push(&word[init..]);
                break;
            }
        }
    }
    out
}

fn heck_lowercase(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == 'Σ' && chars.peek().is_none() {
            out.push('ς');
        } else {
            out.extend(c.to_lowercase());
        }
    }
    out
}

fn heck_snake(s: &str) -> String {
    heck_words(s).into_iter().map(heck_lowercase).collect::<Vec<_>>().join("_")
}

fn heck_pascal(s: &str) -> String {
    let mut out = String::new();
    for word in heck_words(s) {
        let mut chars = word.char_indices();
        if let Some((_, c)) = chars.next() {
            out.extend(c.to_uppercase());
            if let Some((i, _)) = chars.next() {
                out.push_str(&heck_lowercase(&word[i..]));
            }
        }
    }
    out
}

/// Rust keywords (and `_`) that typify/progenitor suffix with `_`.
const RUST_KEYWORDS: &[&str] = &[
    "_", "abstract", "as", "async", "await", "become", "box", "break", "const", "continue",
    "crate", "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if",
    "impl", "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub",
    "ref", "return", "Self", "self", "static", "struct", "super", "trait", "true", "try", "type",
    "typeof", "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

#[derive(Clone, Copy)]
enum Case {
    Snake,
    Pascal,
}

/// progenitor's / typify's `sanitize`: the identifier an OpenAPI name becomes in Rust.
/// `typify_prefix` selects typify's fix for a leading non-letter (`X…`) over progenitor's (`_…`).
fn sanitize(input: &str, case: Case, typify_prefix: bool) -> String {
    let to_case = |s: &str| match case {
        Case::Snake => heck_snake(s),
        Case::Pascal => heck_pascal(s),
    };
    let out = match input {
        "+1" => "plus1".to_string(),
        "-1" => "minus1".to_string(),
        _ => to_case(
            &input.replace('\'', "").replace(|c: char| !(c.is_alphanumeric() || c == '_'), "-"),
        ),
    };
    let out = match out.chars().next() {
        None => to_case("x"),
        Some(c) if c.is_alphabetic() => out,
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

// ---------------------------------------------------------------------------------------------
// Document walker, shared with the down-converter.
// ---------------------------------------------------------------------------------------------

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
    fn component_section(self) -> Option<&'static str> {
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

fn is_ref(v: &Value) -> bool {
    v.get("$ref").is_some()
}

fn walk_path_item<F: FnMut(Node, &str, &Value)>(v: &Value, p: &str, f: &mut F) {
    f(Node::PathItem, p, v);
    if is_ref(v) {
        return;
    }
    if let Some(params) = v.get("parameters").and_then(Value::as_array) {
        let base = ptr(p, "parameters");
        for (i, param) in params.iter().enumerate() {
            walk_parameter(param, &ptr(&base, &i.to_string()), Node::Parameter, f);
        }
    }
    for method in HTTP_METHODS {
        if let Some(op) = v.get(method) {
            walk_operation(op, &ptr(p, method), f);
        }
    }
}

fn walk_operation<F: FnMut(Node, &str, &Value)>(v: &Value, p: &str, f: &mut F) {
    f(Node::Operation, p, v);
    if let Some(params) = v.get("parameters").and_then(Value::as_array) {
        let base = ptr(p, "parameters");
        for (i, param) in params.iter().enumerate() {
            walk_parameter(param, &ptr(&base, &i.to_string()), Node::Parameter, f);
        }
    }
    if let Some(body) = v.get("requestBody") {
        walk_request_body(body, &ptr(p, "requestBody"), f);
    }
    if let Some(responses) = v.get("responses").and_then(Value::as_object) {
        let base = ptr(p, "responses");
        for (code, r) in responses {
            if !code.starts_with("x-") {
                walk_response(r, &ptr(&base, code), f);
            }
        }
    }
    if let Some(callbacks) = v.get("callbacks").and_then(Value::as_object) {
        let base = ptr(p, "callbacks");
        for (name, cb) in callbacks {
            walk_callback(cb, &ptr(&base, name), f);
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
    if let Some(content) = v.get("content").and_then(Value::as_object) {
        let base = ptr(p, "content");
        for (mt, media) in content {
            walk_media_type(media, &ptr(&base, mt), f);
        }
    }
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
        } else if SCHEMA_ARRAY.contains(&key) {
            if let Some(children) = child.as_array() {
                let base = ptr(p, key);
                for (i, s) in children.iter().enumerate() {
                    walk_schema(s, &ptr(&base, &i.to_string()), f);
                }
            }
        } else if key == "items" {
            match child {
                Value::Array(children) => {
                    let base = ptr(p, key);
                    for (i, s) in children.iter().enumerate() {
                        walk_schema(s, &ptr(&base, &i.to_string()), f);
                    }
                }
                _ => walk_schema(child, &ptr(p, key), f),
            }
        } else if key == "additionalProperties" || key == "unevaluatedProperties" {
            if child.is_object() {
                walk_schema(child, &ptr(p, key), f);
            }
        } else if SCHEMA_SINGLE.contains(&key) {
            walk_schema(child, &ptr(p, key), f);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The rules.
// ---------------------------------------------------------------------------------------------

/// Canonical HTTP status codes: those with a standard reason phrase in the `http` crate (1.x).
const CANONICAL_STATUS: &[u16] = &[
    100, 101, 102, 103, 200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304,
    305, 307, 308, 400, 401, 402, 403, 404, 405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415,
    416, 417, 418, 421, 422, 423, 424, 425, 426, 428, 429, 431, 451, 500, 501, 502, 503, 504, 505,
    506, 507, 508, 510, 511,
];

/// Request body content types progenitor can generate code for.
const BODY_CONTENT_TYPES: &[&str] = &[
    "application/json",
    "application/x-www-form-urlencoded",
    "application/octet-stream",
    "text/plain",
    "text/x-markdown",
];

/// JSON Schema 2020-12 / OpenAPI 3.1 keywords with no OpenAPI 3.0 meaning.
pub(crate) const KEYWORDS_31: &[&str] = &[
    "$schema",
    "$id",
    "$anchor",
    "$dynamicRef",
    "$dynamicAnchor",
    "$vocabulary",
    "$comment",
    "$defs",
    "definitions",
    "prefixItems",
    "unevaluatedProperties",
    "unevaluatedItems",
    "if",
    "then",
    "else",
    "dependentSchemas",
    "dependentRequired",
    "patternProperties",
    "propertyNames",
    "contains",
    "minContains",
    "maxContains",
    "contentEncoding",
    "contentMediaType",
    "contentSchema",
];

/// Keys that may sit next to a schema `$ref` without changing its meaning (3.0 ignores them).
pub(crate) const REF_ANNOTATIONS: &[&str] =
    &["description", "summary", "title", "example", "deprecated", "externalDocs", "$comment"];

/// The single-type names OpenAPI 3.0 knows.
const TYPES_30: &[&str] = &["string", "number", "integer", "boolean", "object", "array"];

/// Checks an OpenAPI 3.0.x document (after [`crate::downconvert::downconvert`]) against every
/// spec-authoring rule progenitor 0.15.1 needs, returning all violations sorted by pointer
/// (then message), without duplicates. An empty result means the spec is safe to generate from.
///
/// Rules: `openapi` is 3.0.x; `info`/`paths` present; every operation has an `operationId`,
/// unique after snake_case conversion; one success and one error body type per operation
/// (`default` counts as both); one supported request content type (no multipart) with a usable
/// schema; no cookie parameters; parameters use `schema` and default styles; canonical status
/// codes or `1XX`–`5XX`/`default` only; no 3.1 leftovers in schemas (`type: 'null'`, type arrays,
/// `const`, numeric `exclusiveMinimum`, `examples`, 2020-12 keywords, boolean schemas); every
/// `$ref` is local and points to an existing component of the right kind; schema `$ref`s have
/// no ignored siblings; path templates match the `in: path` parameters, which are required;
/// parameter names unique after snake_case; component names valid and unique after PascalCase;
/// inline body/response schemas don't take a component's Rust type name.
pub fn check(doc: &Value) -> Vec<Violation> {
    let mut out = Vec::new();
    check_document(doc, &mut out);
    check_operations(doc, &mut out);
    check_nodes(doc, &mut out);
    check_component_names(doc, &mut out);
    sort_violations(&mut out);
    out
}

/// Rule 1 (version) and the top-level members openapiv3 requires.
fn check_document(doc: &Value, out: &mut Vec<Violation>) {
    let Some(root) = doc.as_object() else {
        out.push(Violation::new(
            "",
            "the document is not a JSON/YAML object; write an OpenAPI 3.0.3 document",
        ));
        return;
    };
    match root.get("openapi") {
        Some(Value::String(v)) if v.trim().starts_with("3.0.") => {}
        Some(Value::String(v)) => out.push(Violation::new(
            "/openapi",
            format!(
                "version `{v}` is not supported: progenitor reads OpenAPI 3.0.x only; \
                 author the spec as `openapi: 3.0.3` (3.1 specs are down-converted first)"
            ),
        )),
        _ => out.push(Violation::new(
            "/openapi",
            "missing `openapi` version string; add `openapi: 3.0.3`",
        )),
    }
    match root.get("info") {
        Some(Value::Object(info)) => {
            for key in ["title", "version"] {
                if !info.get(key).is_some_and(Value::is_string) {
                    out.push(Violation::new(
                        "/info",
                        format!("`info.{key}` is required and must be a string; add it"),
                    ));
                }
            }
        }
        _ => {
            out.push(Violation::new("/info", "missing `info` object; add `info: {title, version}`"))
        }
    }
    if !root.get("paths").is_some_and(Value::is_object) {
        out.push(Violation::new(
            "/paths",
            "missing `paths` object (required in OpenAPI 3.0); add `paths: {}`",
        ));
    }
}

/// One operation of the document, with where it sits.
struct Op<'a> {
    path: &'a str,
    path_ptr: String,
    path_item: &'a Map<String, Value>,
    ptr: String,
    op: &'a Value,
}

fn operations<'a>(doc: &'a Value, out: &mut Vec<Violation>) -> Vec<Op<'a>> {
    let mut ops = Vec::new();
    let Some(paths) = doc.get("paths").and_then(Value::as_object) else {
        return ops;
    };
    for (path, item) in paths {
        if path.starts_with("x-") {
            continue;
        }
        let path_ptr = ptr("/paths", path);
        let Some(item_map) = item.as_object() else {
            out.push(Violation::new(path_ptr, "path item must be an object"));
            continue;
        };
        if item_map.contains_key("$ref") {
            out.push(Violation::new(
                ptr(&path_ptr, "$ref"),
                "progenitor does not support `$ref` path items; inline the path item here",
            ));
            continue;
        }
        for method in HTTP_METHODS {
            if let Some(op) = item.get(method) {
                ops.push(Op {
                    path,
                    path_ptr: path_ptr.clone(),
                    path_item: item_map,
                    ptr: ptr(&path_ptr, method),
                    op,
                });
            }
        }
    }
    ops
}

/// Resolves a (possibly `$ref`) object against `#/components/<section>/<name>`, following
/// chains of references. Returns the object and the pointer where it is defined, or `None` if a
/// reference cannot be resolved (reported separately by the `$ref` rule).
fn resolve<'a>(
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

fn check_operations(doc: &Value, out: &mut Vec<Violation>) {
    let ops = operations(doc, out);
    // Rule 2: operationId present and unique after snake_case.
    let mut seen: BTreeMap<String, (String, String)> = BTreeMap::new();
    for op in &ops {
        match op.op.get("operationId") {
            Some(Value::String(id)) if !id.is_empty() => {
                let method = operation_method_name(id);
                let here = ptr(&op.ptr, "operationId");
                if let Some((other, other_ptr)) = seen.get(&method) {
                    let how = if other == id {
                        "is also used".to_string()
                    } else {
                        format!("collides with `{other}`")
                    };
                    out.push(Violation::new(
                        here,
                        format!(
                            "operationId `{id}` {how} at {other_ptr}: both become the Rust method \
                             `{method}`; rename one of them"
                        ),
                    ));
                } else {
                    seen.insert(method, (id.clone(), here));
                }
            }
            Some(Value::String(_)) | None => out.push(Violation::new(
                op.ptr.clone(),
                "operation has no operationId; add a unique one (it becomes the Rust method name)",
            )),
            Some(_) => out
                .push(Violation::new(ptr(&op.ptr, "operationId"), "operationId must be a string")),
        }
    }
    for op in &ops {
        check_responses(doc, op, out);
        check_request_body(doc, op, out);
        check_parameters(doc, op, out);
        check_inline_type_names(doc, op, out);
    }
}

// ----- responses (rules 3, 4, 7) -----

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Code(u16),
    Range(u16),
    Default,
}

impl Status {
    fn parse(key: &str) -> Option<Status> {
        if key == "default" {
            return Some(Status::Default);
        }
        let b = key.as_bytes();
        if b.len() != 3 {
            return None;
        }
        if let Ok(n) = key.parse::<u16>() {
            return (100..1000).contains(&n).then_some(Status::Code(n));
        }
        let upper = key.to_ascii_uppercase();
        let u = upper.as_bytes();
        (u[0].is_ascii_digit() && &u[1..] == b"XX").then(|| Status::Range(u16::from(u[0] - b'0')))
    }

    /// progenitor's sort key for response statuses.
    fn order(self) -> u16 {
        match self {
            Status::Code(c) => c,
            Status::Range(r) => r * 100,
            Status::Default => 1000,
        }
    }

    fn is_success(self) -> bool {
        matches!(
            self,
            Status::Default | Status::Code(101) | Status::Code(200..=299) | Status::Range(2)
        )
    }

    fn is_error(self) -> bool {
        matches!(self, Status::Default | Status::Code(400..=599) | Status::Range(4..=5))
    }
}

/// What a response's body turns into in progenitor.
struct Body {
    /// Equal keys ⇔ same Rust type.
    key: String,
    /// Human description for messages.
    desc: String,
}

struct Resp {
    status: Status,
    label: String,
    ptr: String,
    body: Body,
}

fn is_json(content_type: &str) -> bool {
    content_type == "application/json" || content_type.starts_with("application/json;")
}

fn describe_schema(schema: &Value) -> String {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => format!("JSON `{r}`"),
        None => {
            let s = schema.to_string();
            if s.len() > 60 {
                let mut end = 57;
                while !s.is_char_boundary(end) {
                    end -= 1;
                }
                format!("inline JSON `{}...`", &s[..end])
            } else {
                format!("inline JSON `{s}`")
            }
        }
    }
}

fn response_body(
    doc: &Value,
    status: Status,
    r: &Value,
    at: &str,
    out: &mut Vec<Violation>,
) -> Option<Body> {
    let (r, def_ptr) = resolve(doc, r, at.to_string(), "responses")?;
    let content = r.get("content").and_then(Value::as_object);
    let json = content.and_then(|c| c.iter().find(|(ct, _)| is_json(ct)));
    if let Some((ct, media)) = json {
        let media_ptr = ptr(&ptr(&def_ptr, "content"), ct);
        if media.get("encoding").and_then(Value::as_object).is_some_and(|e| !e.is_empty()) {
            out.push(Violation::new(
                ptr(&media_ptr, "encoding"),
                "progenitor panics (todo!) on `encoding` in a JSON response; remove it",
            ));
        }
        return Some(match media.get("schema") {
            Some(schema) => Body { key: format!("json:{schema}"), desc: describe_schema(schema) },
            None => {
                out.push(Violation::new(
                    media_ptr,
                    "JSON response without `schema`: progenitor panics (todo!); add a schema",
                ));
                Body { key: "json-without-schema".into(), desc: "JSON without a schema".into() }
            }
        });
    }
    Some(if status == Status::Code(101) {
        Body { key: "upgrade".into(), desc: "a protocol upgrade".into() }
    } else if let Some((ct, _)) = content.and_then(|c| c.iter().next()) {
        Body { key: "raw".into(), desc: format!("a non-JSON body (`{ct}`)") }
    } else {
        Body { key: "none".into(), desc: "no body".into() }
    })
}

fn check_responses(doc: &Value, op: &Op<'_>, out: &mut Vec<Violation>) {
    let responses_ptr = ptr(&op.ptr, "responses");
    let Some(responses) = op.op.get("responses").and_then(Value::as_object) else {
        out.push(Violation::new(
            op.ptr.clone(),
            "operation has no `responses` object (required in OpenAPI 3.0); declare its responses",
        ));
        return;
    };
    // progenitor lists `default` first, then the others in document order.
    let mut resps = Vec::new();
    let ordered = responses
        .get_key_value("default")
        .into_iter()
        .chain(responses.iter().filter(|(k, _)| k.as_str() != "default"));
    for (key, r) in ordered {
        if key.starts_with("x-") {
            continue;
        }
        let at = ptr(&responses_ptr, key);
        // Rule 7: canonical status codes and ranges only.
        let status = Status::parse(key);
        let canonical = match status {
            Some(Status::Default) => true,
            Some(Status::Code(c)) => CANONICAL_STATUS.contains(&c),
            Some(Status::Range(r)) => (1..=5).contains(&r) && key.ends_with("XX"),
            None => false,
        };
        if !canonical {
            let hint = match key.as_bytes().first() {
                Some(d @ b'1'..=b'5') => format!("use the range `{}XX` instead", *d as char),
                _ => "use a status code between 100 and 599, a range `1XX`-`5XX`, or `default`"
                    .to_string(),
            };
            out.push(Violation::new(
                at.clone(),
                format!(
                    "response status `{key}` is not a canonical HTTP status code (progenitor's \
                     httpmock generation panics on it); {hint}"
                ),
            ));
        }
        let Some(status) = status else { continue };
        if let Some(body) = response_body(doc, status, r, &at, out) {
            resps.push(Resp { status, label: key.clone(), ptr: at, body });
        }
    }

    // Rule 3: one success body type, replicating progenitor's `extract_responses`.
    let mut success: Vec<&Resp> = resps.iter().filter(|r| r.status.is_success()).collect();
    success.sort_by_key(|r| r.status.order());
    let n = success.len();
    if n >= 2
        && success[n - 2].status == Status::Range(2)
        && success[n - 1].status == Status::Default
    {
        success.pop();
    }
    report_body_conflicts(&success, "success", out);

    // Rule 4: one error body type.
    let mut errors: Vec<&Resp> = resps.iter().filter(|r| r.status.is_error()).collect();
    errors.sort_by_key(|r| r.status.order());
    report_body_conflicts(&errors, "error", out);
}

fn report_body_conflicts(items: &[&Resp], what: &str, out: &mut Vec<Violation>) {
    let Some(first) = items.first() else { return };
    for r in &items[1..] {
        if r.body.key == first.body.key {
            continue;
        }
        let fix = if r.status == Status::Default || first.status == Status::Default {
            "`default` counts as both a success and an error response: replace it with \
             `4XX`/`5XX` responses sharing one error schema"
                .to_string()
        } else if what == "success" {
            "give every 2xx response the same body (never JSON plus an empty 204)".to_string()
        } else {
            "give every 4xx/5xx response the same error schema".to_string()
        };
        out.push(Violation::new(
            r.ptr.clone(),
            format!(
                "more than one {what} body type: `{}` has {} but `{}` has {} (progenitor panics: \
                 response_types.len() <= 1); {fix}",
                r.label, r.body.desc, first.label, first.body.desc
            ),
        ));
    }
}

// ----- request body (rule 5) -----

/// Resolves a schema `$ref` (one or more levels) for shape checks.
fn resolve_schema<'a>(doc: &'a Value, schema: &'a Value) -> Option<&'a Value> {
    resolve(doc, schema, String::new(), "schemas").map(|(s, _)| s)
}

/// Whether `schema` is exactly a plain string schema with the given `format` (progenitor's
/// requirement for octet-stream and text bodies).
fn is_plain_string(schema: &Value, format: Option<&str>) -> bool {
    let Some(m) = schema.as_object() else {
        return false;
    };
    m.get("type").and_then(Value::as_str) == Some("string")
        && m.get("format").and_then(Value::as_str) == format
        && m.get("nullable").and_then(Value::as_bool) != Some(true)
        && ["discriminator", "default", "pattern", "minLength", "maxLength"]
            .iter()
            .all(|k| !m.contains_key(*k))
        && m.get("enum").is_none_or(|e| e.as_array().is_some_and(Vec::is_empty))
}

fn check_request_body(doc: &Value, op: &Op<'_>, out: &mut Vec<Violation>) {
    let Some(body) = op.op.get("requestBody") else {
        return;
    };
    let Some((body, body_ptr)) = resolve(doc, body, ptr(&op.ptr, "requestBody"), "requestBodies")
    else {
        return;
    };
    if body.get("required").and_then(Value::as_bool) == Some(false) {
        out.push(Violation::new(
            ptr(&body_ptr, "required"),
            "progenitor always sends the request body (oxidecomputer/progenitor#384), so \
             `required: false` is not honoured; set `required: true` or drop it",
        ));
    }
    let content_ptr = ptr(&body_ptr, "content");
    let content = match body.get("content").and_then(Value::as_object) {
        Some(c) if !c.is_empty() => c,
        _ => {
            out.push(Violation::new(
                content_ptr,
                "request body has no content type; declare exactly one (e.g. application/json)",
            ));
            return;
        }
    };
    if content.len() > 1 {
        let types = content.keys().cloned().collect::<Vec<_>>().join(", ");
        out.push(Violation::new(
            content_ptr,
            format!(
                "request body has {} content types ({types}); progenitor supports exactly one \
                 (todo! panic): keep one of {}",
                content.len(),
                BODY_CONTENT_TYPES.join(", ")
            ),
        ));
        return;
    }
    let Some((ct, media)) = content.iter().next() else {
        return;
    };
    let media_ptr = ptr(&content_ptr, ct);
    let base = &ct[..ct.find(';').unwrap_or(ct.len())];
    if base.starts_with("multipart/") {
        out.push(Violation::new(
            media_ptr,
            format!(
                "`{ct}` request bodies are not supported by progenitor (#518); use \
                 application/json or application/octet-stream"
            ),
        ));
        return;
    }
    if !BODY_CONTENT_TYPES.contains(&base) {
        out.push(Violation::new(
            media_ptr,
            format!(
                "request content type `{ct}` is not supported by progenitor; use one of {}",
                BODY_CONTENT_TYPES.join(", ")
            ),
        ));
        return;
    }
    let Some(schema) = media.get("schema") else {
        out.push(Violation::new(
            media_ptr,
            "request body media type has no `schema` (progenitor errors); add one",
        ));
        return;
    };
    let schema_ptr = ptr(&media_ptr, "schema");
    let resolved = resolve_schema(doc, schema);
    match base {
        "application/octet-stream" => {
            if resolved.is_some_and(|s| !is_plain_string(s, Some("binary"))) {
                out.push(Violation::new(
                    schema_ptr,
                    "an application/octet-stream body schema must be exactly \
                     `{type: string, format: binary}` for progenitor; use that schema",
                ));
            }
        }
        "text/plain" | "text/x-markdown" => {
            if resolved.is_some_and(|s| !is_plain_string(s, None)) {
                out.push(Violation::new(
                    schema_ptr,
                    "a text body schema must be exactly `{type: string}` (no format, pattern, \
                     enum or length limits) for progenitor; use that schema",
                ));
            }
        }
        _ => {
            if media.get("encoding").and_then(Value::as_object).is_some_and(|e| !e.is_empty()) {
                out.push(Violation::new(
                    ptr(&media_ptr, "encoding"),
                    "progenitor panics (todo!) on a request body `encoding`; remove it",
                ));
            }
        }
    }
}

// ----- parameters (rules 6, 10) -----

struct Param<'a> {
    name: &'a str,
    location: &'a str,
    /// Where the parameter is used (the array entry).
    use_ptr: String,
    /// Where the parameter is defined (the entry, or the component it references).
    def_ptr: String,
    def: &'a Value,
}

/// Parses a path template into its parameter names, or says what is wrong with it.
fn template_names(path: &str) -> Result<Vec<&str>, String> {
    if !path.starts_with('/') {
        return Err("path must start with `/`".into());
    }
    let mut names = Vec::new();
    let mut rest = path;
    while let Some(open) = rest.find(['{', '}']) {
        if rest.as_bytes()[open] == b'}' {
            return Err("unexpected `}`".into());
        }
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            return Err("unterminated `{`".into());
        };
        let name = &after[..close];
        if name.is_empty() || name.contains(['/', '{']) {
            return Err(format!("invalid parameter name `{name}`"));
        }
        names.push(name);
        rest = &after[close + 1..];
    }
    Ok(names)
}

fn collect_params<'a>(
    doc: &'a Value,
    list: Option<&'a Value>,
    base: &str,
    params: &mut Vec<Param<'a>>,
    out: &mut Vec<Violation>,
) {
    let Some(list) = list.and_then(Value::as_array) else {
        return;
    };
    for (i, entry) in list.iter().enumerate() {
        let use_ptr = ptr(&ptr(base, "parameters"), &i.to_string());
        let Some((def, def_ptr)) = resolve(doc, entry, use_ptr.clone(), "parameters") else {
            continue;
        };
        let (Some(name), Some(location)) =
            (def.get("name").and_then(Value::as_str), def.get("in").and_then(Value::as_str))
        else {
            out.push(Violation::new(
                def_ptr,
                "parameter needs string `name` and `in` members; add them",
            ));
            continue;
        };
        // Operation parameters override path-level ones with the same name and location.
        params.retain(|p| !(p.name == name && p.location == location));
        params.push(Param { name, location, use_ptr, def_ptr, def });
    }
}

fn check_parameters(doc: &Value, op: &Op<'_>, out: &mut Vec<Violation>) {
    let mut params = Vec::new();
    collect_params(doc, op.path_item.get("parameters"), &op.path_ptr, &mut params, out);
    collect_params(doc, op.op.get("parameters"), &op.ptr, &mut params, out);

    let names = match template_names(op.path) {
        Ok(names) => {
            let mut seen = BTreeSet::new();
            for n in &names {
                if !seen.insert(*n) {
                    out.push(Violation::new(
                        op.path_ptr.clone(),
                        format!(
                            "path template uses `{{{n}}}` twice; give each segment its own name"
                        ),
                    ));
                }
            }
            names
        }
        Err(e) => {
            out.push(Violation::new(
                op.path_ptr.clone(),
                format!("invalid path template `{}`: {e}; fix the path", op.path),
            ));
            Vec::new()
        }
    };

    for n in &names {
        if !params.iter().any(|p| p.location == "path" && p.name == *n) {
            out.push(Violation::new(
                op.ptr.clone(),
                format!(
                    "path template parameter `{{{n}}}` has no `in: path` parameter; declare \
                     `{{name: {n}, in: path, required: true, schema: ...}}`"
                ),
            ));
        }
    }

    let mut rust_names: BTreeMap<String, &Param<'_>> = BTreeMap::new();
    for p in &params {
        let (name, def, def_ptr) = (p.name, p.def, &p.def_ptr);
        match p.location {
            "cookie" => out.push(Violation::new(
                p.use_ptr.clone(),
                format!(
                    "cookie parameter `{name}`: progenitor does not support cookie parameters; \
                     remove it and send the cookie via a reqwest default header or \
                     ClientHooks::pre"
                ),
            )),
            "path" => {
                if !names.contains(&name) {
                    out.push(Violation::new(
                        p.use_ptr.clone(),
                        format!(
                            "path parameter `{name}` does not appear in the path template `{}`; \
                             rename it to match a `{{...}}` segment or remove it",
                            op.path
                        ),
                    ));
                }
                if def.get("required").and_then(Value::as_bool) != Some(true) {
                    out.push(Violation::new(
                        def_ptr.clone(),
                        format!(
                            "path parameter `{name}` must be `required: true` (progenitor \
                             asserts it); add `required: true`"
                        ),
                    ));
                }
            }
            "query" | "header" => {}
            other => out.push(Violation::new(
                ptr(def_ptr, "in"),
                format!("unknown parameter location `{other}`; use path, query or header"),
            )),
        }
        let allowed_style = match p.location {
            "path" | "header" => "simple",
            "query" => "form",
            _ => "",
        };
        if let Some(style) = def.get("style").and_then(Value::as_str)
            && !allowed_style.is_empty()
            && style != allowed_style
        {
            out.push(Violation::new(
                ptr(def_ptr, "style"),
                format!(
                    "progenitor supports only `style: {allowed_style}` for {} parameters; \
                     remove `style: {style}`",
                    p.location
                ),
            ));
        }
        if def.get("content").is_some() {
            out.push(Violation::new(
                ptr(def_ptr, "content"),
                format!(
                    "parameter `{name}` uses `content`, which progenitor does not support; \
                     describe it with `schema` instead"
                ),
            ));
        } else if def.get("schema").is_none() {
            out.push(Violation::new(
                def_ptr.clone(),
                format!("parameter `{name}` has no `schema`; add one"),
            ));
        }
        if p.location != "cookie" {
            let rust = operation_method_name(name);
            if let Some(other) = rust_names.get(&rust) {
                out.push(Violation::new(
                    p.use_ptr.clone(),
                    format!(
                        "parameter `{name}` collides with `{}` at {}: both become the Rust \
                         argument `{rust}`; rename one",
                        other.name, other.use_ptr
                    ),
                ));
            } else {
                rust_names.insert(rust, p);
            }
        }
    }
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

fn check_inline_type_names(doc: &Value, op: &Op<'_>, out: &mut Vec<Violation>) {
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

// ----- schemas and references (rules 8, 9) -----

fn check_nodes(doc: &Value, out: &mut Vec<Violation>) {
    walk(doc, &mut |node, p, v| {
        if let Some(reference) = v.get("$ref") {
            check_ref(doc, node, p, reference, out);
        }
        if node == Node::Schema {
            check_schema(p, v, out);
        }
    });
}

fn check_ref(doc: &Value, node: Node, p: &str, reference: &Value, out: &mut Vec<Violation>) {
    let at = ptr(p, "$ref");
    let Some(section) = node.component_section() else {
        return;
    };
    let Some(r) = reference.as_str() else {
        out.push(Violation::new(at, "`$ref` must be a string"));
        return;
    };
    let Some(local) = r.strip_prefix("#/") else {
        out.push(Violation::new(
            at,
            format!(
                "external reference `{r}` is not supported; bundle the spec into one file \
                 (e.g. `redocly bundle`) and use `#/components/{section}/...`"
            ),
        ));
        return;
    };
    let tokens: Vec<String> = local.split('/').map(unescape_pointer_token).collect();
    match tokens.as_slice() {
        [c, s, name] if c == "components" && s == section => {
            let exists = doc
                .get("components")
                .and_then(|c| c.get(section))
                .and_then(|s| s.get(name))
                .is_some();
            if !exists {
                out.push(Violation::new(
                    at,
                    format!("`{r}` points to a missing component; define `components.{section}.{name}` or fix the reference"),
                ));
            }
        }
        _ => out.push(Violation::new(
            at,
            format!(
                "`{r}` must point to a whole component `#/components/{section}/NAME` \
                 (progenitor resolves only those); move the target to components.{section}"
            ),
        )),
    }
}

fn check_schema(p: &str, v: &Value, out: &mut Vec<Violation>) {
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
    if m.contains_key("$ref") {
        let ignored: Vec<&str> = m
            .keys()
            .map(String::as_str)
            .filter(|k| *k != "$ref" && !k.starts_with("x-") && !REF_ANNOTATIONS.contains(k))
            .collect();
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

// ----- component names (rule 11) -----

fn check_component_names(doc: &Value, out: &mut Vec<Violation>) {
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

/// Test support: asserts progenitor generates the client and the httpmock module from `doc`
/// without an error or a panic.
#[cfg(test)]
pub(crate) fn assert_generates(doc: &Value) {
    let spec: openapiv3::OpenAPI = serde_json::from_value(doc.clone())
        .unwrap_or_else(|e| panic!("openapiv3 rejects the document: {e}\n{doc:#}"));
    let mut settings = progenitor::GenerationSettings::new();
    settings.with_interface(progenitor::InterfaceStyle::Builder);
    let mut generator = progenitor::Generator::new(&settings);
    generator.generate_tokens(&spec).unwrap_or_else(|e| panic!("progenitor: {e}"));
    generator.httpmock(&spec, "crate").unwrap_or_else(|e| panic!("progenitor httpmock: {e}"));
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fixture(name: &str) -> Value {
        let path = format!("{}/tests/fixtures/rules/{name}.yaml", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    /// Asserts the fixture yields exactly one violation, at `pointer`, with a message.
    fn single(name: &str, pointer: &str) {
        let v = check(&fixture(name));
        assert_eq!(v.len(), 1, "{name}: expected one violation, got {v:#?}");
        assert_eq!(v[0].pointer, pointer, "{name}: {v:#?}");
        assert!(!v[0].message.trim().is_empty(), "{name}: empty message");
    }

    #[test]
    fn escape_and_render() {
        assert_eq!(escape_pointer_token("/teams/{id}"), "~1teams~1{id}");
        assert_eq!(escape_pointer_token("a~b/c"), "a~0b~1c");
        assert_eq!(unescape_pointer_token("a~0b~1c"), "a~b/c");
        let v = Violation::new("/paths/~1x/get", "missing operationId");
        assert_eq!(
            v.render("specs/vlens.yaml"),
            "specs/vlens.yaml: /paths/~1x/get: missing operationId"
        );
        assert_eq!(Violation::new("", "m").render("s.yaml"), "s.yaml: /: m");
    }

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

    #[test]
    fn clean_fixture_has_no_violations() {
        let doc = fixture("clean");
        assert_eq!(check(&doc), vec![]);
        assert_generates(&doc);
    }

    #[test]
    fn openapi_version() {
        single("openapi-version", "/openapi");
    }

    #[test]
    fn document_structure() {
        single("document-structure", "/info");
    }

    #[test]
    fn operation_id_missing() {
        single("operation-id-missing", "/paths/~1teams/post");
    }

    #[test]
    fn operation_id_duplicate() {
        single("operation-id-duplicate", "/paths/~1teams~1{id}/get/operationId");
        let v = check(&fixture("operation-id-duplicate"));
        assert!(v[0].message.contains("/paths/~1teams/get/operationId"));
        assert!(v[0].message.contains("get_team"));
    }

    #[test]
    fn success_body_types() {
        single("success-body-types", "/paths/~1teams/post/responses/204");
    }

    #[test]
    fn success_default_body() {
        single("success-default-body", "/paths/~1teams/get/responses/default");
    }

    #[test]
    fn error_body_types() {
        single("error-body-types", "/paths/~1teams/get/responses/5XX");
    }

    #[test]
    fn request_body_content() {
        single("request-body-content", "/paths/~1teams/post/requestBody/content");
    }

    #[test]
    fn request_body_multipart() {
        single(
            "request-body-multipart",
            "/paths/~1teams/post/requestBody/content/multipart~1form-data",
        );
    }

    #[test]
    fn request_body_schema() {
        single(
            "request-body-schema",
            "/paths/~1files/put/requestBody/content/application~1octet-stream/schema",
        );
    }

    #[test]
    fn request_body_optional() {
        single("request-body-optional", "/components/requestBodies/Team/required");
    }

    #[test]
    fn cookie_parameter() {
        single("cookie-parameter", "/paths/~1teams/get/parameters/1");
    }

    #[test]
    fn parameter_style() {
        single("parameter-style", "/paths/~1teams/get/parameters/0/style");
    }

    #[test]
    fn parameter_content() {
        single("parameter-content", "/paths/~1teams/get/parameters/0/content");
    }

    #[test]
    fn parameter_name_collision() {
        single("parameter-name-collision", "/paths/~1teams/get/parameters/1");
    }

    #[test]
    fn status_code() {
        single("status-code", "/paths/~1teams/get/responses/499");
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

    #[test]
    fn ref_missing() {
        single(
            "ref-missing",
            "/paths/~1teams/get/responses/200/content/application~1json/schema/$ref",
        );
    }

    #[test]
    fn ref_external() {
        single("ref-external", "/components/schemas/Team/properties/owner/$ref");
    }

    #[test]
    fn path_params_missing() {
        single("path-params-missing", "/paths/~1teams~1{id}/get");
    }

    #[test]
    fn path_params_extra() {
        single("path-params-extra", "/paths/~1teams/get/parameters/0");
    }

    #[test]
    fn path_params_required() {
        single("path-params-required", "/components/parameters/TeamId");
    }

    #[test]
    fn path_item_ref() {
        single("path-item-ref", "/paths/~1teams/$ref");
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

    #[test]
    fn multi_defect_fixture_reports_all() {
        let v = check(&fixture("multi-defect"));
        let pointers: Vec<&str> = v.iter().map(|v| v.pointer.as_str()).collect();
        assert_eq!(
            pointers,
            vec![
                "/components/schemas/Team/properties/name/type",
                "/openapi",
                "/paths/~1teams/get/parameters/0",
                "/paths/~1teams/get/responses/204",
                "/paths/~1teams/get/responses/499",
                "/paths/~1teams/post",
                "/paths/~1teams~1{id}/get",
            ],
            "{v:#?}"
        );
        assert!(v.iter().all(|v| !v.message.is_empty()));
    }

    #[test]
    fn violations_are_sorted_and_unique() {
        // The same cookie component used by two operations is reported at each use, once each.
        let doc = json!({
            "openapi": "3.0.3",
            "info": {"title": "t", "version": "1"},
            "paths": {"/a": {"parameters": [{"$ref": "#/components/parameters/S"}],
                "get": {"operationId": "a", "responses": {"204": {"description": ""}}},
                "put": {"operationId": "b", "responses": {"204": {"description": ""}}}}},
            "components": {"parameters": {"S": {"name": "s", "in": "cookie", "schema": {"type": "string"}}}}
        });
        let v = check(&doc);
        assert_eq!(v.len(), 1, "{v:#?}");
        assert_eq!(v[0].pointer, "/paths/~1a/parameters/0");
    }

    #[test]
    fn range_and_default_success_is_allowed() {
        // progenitor drops `default` when the last success entries are `2XX` then `default`.
        let doc = json!({
            "openapi": "3.0.3",
            "info": {"title": "t", "version": "1"},
            "paths": {"/a": {"get": {"operationId": "a", "responses": {
                "2XX": {"description": "", "content": {"application/json": {"schema": {"type": "string"}}}},
                "default": {"description": "", "content": {"application/json": {"schema": {"type": "integer"}}}}
            }}}}
        });
        assert_eq!(check(&doc), vec![]);
        assert_generates(&doc);
    }
}
