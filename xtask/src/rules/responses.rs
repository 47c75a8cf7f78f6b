//! Responses: canonical status codes (rule 7) and one success and one error body type per
//! operation (rules 3 and 4), as progenitor's `extract_responses` sees them.

use serde_json::Value;

use super::Violation;
use super::operations::{Op, is_json};
use crate::walk::{ptr, resolve};

/// Canonical HTTP status codes: those with a standard reason phrase in the `http` crate (1.x).
const CANONICAL_STATUS: &[u16] = &[
    100, 101, 102, 103, 200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304,
    305, 307, 308, 400, 401, 402, 403, 404, 405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415,
    416, 417, 418, 421, 422, 423, 424, 425, 426, 428, 429, 431, 451, 500, 501, 502, 503, 504, 505,
    506, 507, 508, 510, 511,
];

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

pub(super) fn check_responses(doc: &Value, op: &Op<'_>, out: &mut Vec<Violation>) {
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
        let Some(status) = check_status(key, &at, out) else { continue };
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

/// Rule 7: canonical status codes and ranges only. Returns the parsed status, if any.
fn check_status(key: &str, at: &str, out: &mut Vec<Violation>) -> Option<Status> {
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
            at,
            format!(
                "response status `{key}` is not a canonical HTTP status code (progenitor's \
                 httpmock generation panics on it); {hint}"
            ),
        ));
    }
    status
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::rules::check;
    use crate::rules::testing::{assert_generates, single};

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
    fn status_code() {
        single("status-code", "/paths/~1teams/get/responses/499");
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
