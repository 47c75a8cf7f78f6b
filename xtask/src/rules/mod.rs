//! Spec-authoring rules checked on an OpenAPI 3.0.x document before it reaches progenitor.
//!
//! progenitor 0.15.1 panics (`assert!`, `todo!`, `unwrap`) or silently generates wrong code on a
//! number of spec shapes (see `shared/notes/progenitor.md` §4–5). [`check`] finds all of them
//! statically and reports each as a [`Violation`] located by JSON pointer, so a spec author gets a
//! list of fixes instead of a panic backtrace.
//!
//! One module per group of rules, by what they check: document-level members, operations
//! and their ids, parameters, request bodies, responses, schemas, references and Rust names.

mod document;
mod names;
mod operations;
mod parameters;
mod refs;
mod request_body;
mod responses;
mod schemas;

use serde_json::Value;

pub use names::{operation_method_name, schema_type_name};
pub(crate) use schemas::ignored_ref_siblings;

use crate::walk::{Node, walk};

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

/// Sorts violations by pointer (then message) and removes exact duplicates.
pub(crate) fn sort_violations(v: &mut Vec<Violation>) {
    v.sort_by(|a, b| a.pointer.cmp(&b.pointer).then_with(|| a.message.cmp(&b.message)));
    v.dedup();
}

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
    document::check_document(doc, &mut out);
    let ops = operations::operations(doc, &mut out);
    operations::check_operation_ids(&ops, &mut out);
    for op in &ops {
        responses::check_responses(doc, op, &mut out);
        request_body::check_request_body(doc, op, &mut out);
        parameters::check_parameters(doc, op, &mut out);
        names::check_inline_type_names(doc, op, &mut out);
    }
    walk(doc, &mut |node, p, v| {
        if let Some(reference) = v.get("$ref") {
            refs::check_ref(doc, node, p, reference, &mut out);
        }
        if node == Node::Schema {
            schemas::check_schema(p, v, &mut out);
        }
    });
    names::check_component_names(doc, &mut out);
    sort_violations(&mut out);
    out
}

/// Test support shared by the rule modules and the down-converter's tests.
#[cfg(test)]
pub(crate) mod testing {
    use serde_json::Value;

    use super::check;

    /// Asserts progenitor generates the client and the httpmock module from `doc` without an
    /// error or a panic.
    pub(crate) fn assert_generates(doc: &Value) {
        let spec: openapiv3::OpenAPI = serde_json::from_value(doc.clone())
            .unwrap_or_else(|e| panic!("openapiv3 rejects the document: {e}\n{doc:#}"));
        let mut settings = progenitor::GenerationSettings::new();
        settings.with_interface(progenitor::InterfaceStyle::Builder);
        let mut generator = progenitor::Generator::new(&settings);
        generator.generate_tokens(&spec).unwrap_or_else(|e| panic!("progenitor: {e}"));
        generator.httpmock(&spec, "crate").unwrap_or_else(|e| panic!("progenitor httpmock: {e}"));
    }

    /// Loads `xtask/tests/fixtures/rules/<name>.yaml`.
    pub(crate) fn fixture(name: &str) -> Value {
        let path = format!("{}/tests/fixtures/rules/{name}.yaml", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    /// Asserts the fixture yields exactly one violation, at `pointer`, with a message.
    pub(crate) fn single(name: &str, pointer: &str) {
        let v = check(&fixture(name));
        assert_eq!(v.len(), 1, "{name}: expected one violation, got {v:#?}");
        assert_eq!(v[0].pointer, pointer, "{name}: {v:#?}");
        assert!(!v[0].message.trim().is_empty(), "{name}: empty message");
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::testing::{assert_generates, fixture};
    use super::*;

    #[test]
    fn render() {
        let v = Violation::new("/paths/~1x/get", "missing operationId");
        assert_eq!(
            v.render("specs/vlens.yaml"),
            "specs/vlens.yaml: /paths/~1x/get: missing operationId"
        );
        assert_eq!(Violation::new("", "m").render("s.yaml"), "s.yaml: /: m");
    }

    #[test]
    fn clean_fixture_has_no_violations() {
        let doc = fixture("clean");
        assert_eq!(check(&doc), vec![]);
        assert_generates(&doc);
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
}
