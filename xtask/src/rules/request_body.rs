//! Request bodies (rule 5): exactly one content type progenitor supports (no multipart), with a
//! schema of the shape that content type needs, always sent.

use serde_json::Value;

use super::Violation;
use super::operations::Op;
use crate::walk::{ptr, resolve};

/// Request body content types progenitor can generate code for.
const BODY_CONTENT_TYPES: &[&str] = &[
    "application/json",
    "application/x-www-form-urlencoded",
    "application/octet-stream",
    "text/plain",
    "text/x-markdown",
];

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

/// The one media type of a request body, once its content type is known to be supported.
struct Media<'a> {
    /// The content type without parameters (`application/json`).
    base: &'a str,
    media: &'a Value,
    ptr: String,
}

pub(super) fn check_request_body(doc: &Value, op: &Op<'_>, out: &mut Vec<Violation>) {
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
    if let Some(media) = supported_media_type(body, &body_ptr, out) {
        check_body_schema(doc, &media, out);
    }
}

/// The body's single media type, if it has exactly one and progenitor supports it.
fn supported_media_type<'a>(
    body: &'a Value,
    body_ptr: &str,
    out: &mut Vec<Violation>,
) -> Option<Media<'a>> {
    let content_ptr = ptr(body_ptr, "content");
    let content = match body.get("content").and_then(Value::as_object) {
        Some(c) if !c.is_empty() => c,
        _ => {
            out.push(Violation::new(
                content_ptr,
                "request body has no content type; declare exactly one (e.g. application/json)",
            ));
            return None;
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
        return None;
    }
    let (ct, media) = content.iter().next()?;
    let media_ptr = ptr(&content_ptr, ct);
    let base = &ct[..ct.find(';').unwrap_or(ct.len())];
    let problem = if base.starts_with("multipart/") {
        format!(
            "`{ct}` request bodies are not supported by progenitor (#518); use \
             application/json or application/octet-stream"
        )
    } else if !BODY_CONTENT_TYPES.contains(&base) {
        format!(
            "request content type `{ct}` is not supported by progenitor; use one of {}",
            BODY_CONTENT_TYPES.join(", ")
        )
    } else {
        return Some(Media { base, media, ptr: media_ptr });
    };
    out.push(Violation::new(media_ptr, problem));
    None
}

/// The schema (and encoding) a supported media type needs.
fn check_body_schema(doc: &Value, media: &Media<'_>, out: &mut Vec<Violation>) {
    let Some(schema) = media.media.get("schema") else {
        out.push(Violation::new(
            media.ptr.clone(),
            "request body media type has no `schema` (progenitor errors); add one",
        ));
        return;
    };
    let schema_ptr = ptr(&media.ptr, "schema");
    let resolved = resolve_schema(doc, schema);
    match media.base {
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
            let encoding = media.media.get("encoding").and_then(Value::as_object);
            if encoding.is_some_and(|e| !e.is_empty()) {
                out.push(Violation::new(
                    ptr(&media.ptr, "encoding"),
                    "progenitor panics (todo!) on a request body `encoding`; remove it",
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::single;

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
}
