//! The requests the sandbox received, redacted before anyone (its page, its logs, a test)
//! sees them.
//!
//! Two layers: by name (credential headers, JSON keys such as `password`, `secret`,
//! `token_value`, query parameters such as `token`), and by value: every secret the sandbox
//! received or issued (API keys, passwords, tokens, bunq secrets) is remembered and replaced by
//! `[REDACTED]` wherever it shows up, e.g. inside a path or a free-text field.

use std::collections::{HashSet, VecDeque};

use serde::Serialize;
use serde_json::Value;

/// What replaces a secret.
pub const REDACTED: &str = "[REDACTED]";

/// Header names whose value is always hidden.
const SECRET_HEADERS: &[&str] = &[
    "apikey",
    "authorization",
    "x-api-key",
    "x-bunq-client-authentication",
    "x-bunq-client-signature",
    "cookie",
    "proxy-authorization",
];

/// Whether a JSON key or query parameter names a secret.
pub(crate) fn secret_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase().replace(['_', '-'], "");
    [
        "password",
        "secret",
        "token",
        "apikey",
        "authorization",
        "signature",
        "privatekey",
        "authorizationcode",
    ]
    .iter()
    .any(|s| n.contains(s))
}

/// The longest request body kept (after redaction), in characters.
const BODY_LIMIT: usize = 4096;

/// One request as the sandbox saw it, redacted.
#[derive(Debug, Clone, Serialize)]
pub struct RecordedRequest {
    /// Increasing from 1.
    pub id: u64,
    /// When it arrived (RFC 3339, sandbox clock).
    pub at: String,
    /// `vlens`, `vlens-app`, `vrplatform` or `bunq`.
    pub provider: &'static str,
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path and query as received (secrets redacted).
    pub path: String,
    /// The status answered (0 when the connection was reset).
    pub status: u16,
    /// The fault applied, if any (`503`, `reset`, ...).
    pub fault: Option<String>,
    /// Request headers, secrets redacted.
    pub headers: Vec<(String, String)>,
    /// The request body (JSON re-encoded with secret fields redacted), at most 4 KiB.
    pub body: String,
}

impl RecordedRequest {
    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// The secrets seen so far and the last requests.
#[derive(Debug)]
pub(crate) struct Recorder {
    secrets: HashSet<String>,
    records: VecDeque<RecordedRequest>,
    next_id: u64,
    capacity: usize,
}

impl Recorder {
    pub fn new(capacity: usize) -> Self {
        Self { secrets: HashSet::new(), records: VecDeque::new(), next_id: 0, capacity }
    }

    /// Remembers a secret (too short ones are hidden by name only: replacing them everywhere
    /// would garble the log).
    pub fn secret(&mut self, value: &str) {
        let v = value.trim();
        if v.len() >= 6 {
            self.secrets.insert(v.to_string());
        }
    }

    /// The secrets remembered so far, sorted.
    pub fn secrets(&self) -> Vec<String> {
        let mut out: Vec<String> = self.secrets.iter().cloned().collect();
        out.sort();
        out
    }

    /// Replaces every remembered secret in `text`.
    pub fn scrub(&self, text: &str) -> String {
        let mut out = text.to_string();
        // Longest first, so a secret containing another is replaced whole.
        let mut secrets: Vec<&String> = self.secrets.iter().filter(|s| out.contains(*s)).collect();
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        for s in secrets {
            out = out.replace(s.as_str(), REDACTED);
        }
        out
    }

    /// A path with secret query parameters hidden, then scrubbed.
    pub fn path(&self, path_and_query: &str) -> String {
        let out = match path_and_query.split_once('?') {
            None => path_and_query.to_string(),
            Some((path, query)) => {
                let query: Vec<String> = query
                    .split('&')
                    .map(|pair| match pair.split_once('=') {
                        Some((k, _)) if secret_name(k) => format!("{k}={REDACTED}"),
                        _ => pair.to_string(),
                    })
                    .collect();
                format!("{path}?{}", query.join("&"))
            }
        };
        self.scrub(&out)
    }

    /// Headers with credential headers hidden, then scrubbed.
    pub fn headers(&self, headers: &http::HeaderMap) -> Vec<(String, String)> {
        headers
            .iter()
            .map(|(name, value)| {
                let name = name.as_str().to_string();
                let value = if SECRET_HEADERS.contains(&name.as_str()) {
                    REDACTED.to_string()
                } else {
                    self.scrub(&String::from_utf8_lossy(value.as_bytes()))
                };
                (name, value)
            })
            .collect()
    }

    /// A body: JSON with secret fields hidden, anything else as (lossy) text; scrubbed and cut.
    pub fn body(&self, raw: &[u8]) -> String {
        let text = match serde_json::from_slice::<Value>(raw) {
            Ok(mut v) => {
                redact_json(&mut v, 0);
                v.to_string()
            }
            Err(_) => String::from_utf8_lossy(raw).into_owned(),
        };
        let text = self.scrub(&text);
        if text.chars().count() > BODY_LIMIT {
            let cut: String = text.chars().take(BODY_LIMIT).collect();
            format!("{cut}... ({} bytes)", raw.len())
        } else {
            text
        }
    }

    pub fn push(&mut self, mut record: RecordedRequest) -> RecordedRequest {
        self.next_id += 1;
        record.id = self.next_id;
        if self.records.len() == self.capacity {
            self.records.pop_front();
        }
        self.records.push_back(record.clone());
        record
    }

    pub fn list(&self, after: u64) -> Vec<RecordedRequest> {
        self.records.iter().filter(|r| r.id > after).cloned().collect()
    }

    pub fn clear(&mut self) {
        self.records.clear();
    }
}

fn redact_json(v: &mut Value, depth: u32) {
    if depth > 64 {
        *v = Value::String(REDACTED.into());
        return;
    }
    match v {
        Value::Object(map) => {
            for (k, val) in map.iter_mut() {
                if secret_name(k) && !val.is_null() {
                    *val = Value::String(REDACTED.into());
                } else {
                    redact_json(val, depth + 1);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| redact_json(i, depth + 1)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_hidden_by_name_and_by_value() {
        let mut r = Recorder::new(10);
        r.secret("vlens-session-abcdef");
        let body = r.body(br#"{"password":"hunter22","note":"token vlens-session-abcdef","n":1}"#);
        assert!(!body.contains("hunter22") && !body.contains("abcdef"), "{body}");
        assert!(body.contains(REDACTED) && body.contains("\"n\":1"), "{body}");
        assert_eq!(
            r.path("/vlens-app/session?token=xyz&x=1"),
            format!("/vlens-app/session?token={REDACTED}&x=1")
        );
        let mut h = http::HeaderMap::new();
        h.insert("apikey", "k".parse().unwrap());
        h.insert("user-agent", "ua vlens-session-abcdef".parse().unwrap());
        let h = r.headers(&h);
        assert!(h.iter().all(|(_, v)| !v.contains("abcdef") && v != "k"), "{h:?}");
    }
}
