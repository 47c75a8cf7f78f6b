//! Document-level rules: the `openapi` version (rule 1) and the top-level members openapiv3
//! requires.

use serde_json::Value;

use super::Violation;

/// Rule 1 (version) and the top-level members openapiv3 requires.
pub(super) fn check_document(doc: &Value, out: &mut Vec<Violation>) {
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

#[cfg(test)]
mod tests {
    use crate::rules::testing::single;

    #[test]
    fn openapi_version() {
        single("openapi-version", "/openapi");
    }

    #[test]
    fn document_structure() {
        single("document-structure", "/info");
    }
}
