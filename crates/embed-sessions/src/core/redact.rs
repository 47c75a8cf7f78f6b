//! Bounded, redacted excerpts of response bodies for error messages.

/// Longest excerpt kept from an unexpected body, in bytes (before escaping).
pub const EXCERPT_LIMIT: usize = 512;

/// Keys whose values never appear in an excerpt (compared case-insensitively, as substrings).
const SECRET_KEYS: &[&str] = &["token", "secret", "password", "key", "authorization", "credential"];

fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    SECRET_KEYS.iter().any(|s| k.contains(s))
}

/// Replaces the values of secret-named members (at any depth) by `"[REDACTED]"`.
pub(crate) fn redact_json(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, val) in map.iter_mut() {
                if is_secret_key(k) && !val.is_null() {
                    *val = serde_json::Value::String("[REDACTED]".into());
                } else {
                    redact_json(val);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(redact_json),
        _ => {}
    }
}

/// The end (exclusive, a byte index) of the JSON string literal starting at `start` (a `"`),
/// escapes respected; `None` when it is not terminated.
fn string_end(s: &str, start: usize) -> Option<usize> {
    let mut escaped = false;
    for (j, c) in s[start + 1..].char_indices() {
        match (escaped, c) {
            (true, _) => escaped = false,
            (false, '\\') => escaped = true,
            (false, '"') => return Some(start + 1 + j + 1),
            _ => {}
        }
    }
    None
}

/// The end (exclusive) of the array or object starting at `start`, nested brackets and
/// strings skipped; `None` when it is not closed.
fn bracket_end(s: &str, start: usize) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut depth = 0usize;
    let mut i = start;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                i = string_end(s, i)?;
                continue;
            }
            b'[' | b'{' => depth += 1,
            b']' | b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// Redacts the values of secret-named members in text that is not valid JSON (a truncated
/// body): strings (escaped quotes included), and whole arrays or objects, however nested.
/// An unterminated value is redacted to the end of the text.
fn redact_text(s: &str) -> String {
    const HIDDEN: &str = "\"[REDACTED]\"";
    let mut out = String::with_capacity(s.len());
    let mut pos = 0;
    while let Some(offset) = s[pos..].find('"') {
        let start = pos + offset;
        out.push_str(&s[pos..start]);
        let Some(end) = string_end(s, start) else {
            out.push_str(&s[start..]);
            return out;
        };
        out.push_str(&s[start..end]);
        pos = end;
        let rest = &s[end..];
        let after_ws = rest.len() - rest.trim_start().len();
        if !rest.trim_start().starts_with(':') || !is_secret_key(&s[start + 1..end - 1]) {
            continue;
        }
        let colon = end + after_ws;
        let value_rest = &s[colon + 1..];
        let value_start = colon + 1 + (value_rest.len() - value_rest.trim_start().len());
        let value_end = match s.as_bytes().get(value_start) {
            Some(b'"') => string_end(s, value_start),
            Some(b'[' | b'{') => bracket_end(s, value_start),
            _ => continue,
        };
        out.push_str(&s[end..value_start]);
        out.push_str(HIDDEN);
        match value_end {
            Some(e) => pos = e,
            None => return out,
        }
    }
    out.push_str(&s[pos..]);
    out
}

/// Exact credential values a call sent (its sensitive header values and the secrets in its
/// body), removed from everything the call's error says.
///
/// Values shorter than [`Scrubber::MIN_LEN`] bytes are not scrubbed: no provider issues
/// credentials that short, and replacing one or two characters would mangle the provider's
/// words.
#[derive(Default, Clone)]
pub(crate) struct Scrubber {
    values: Vec<String>,
}

impl Scrubber {
    /// Shortest value scrubbed, in bytes.
    pub const MIN_LEN: usize = 4;

    /// Adds a value (and, for `Bearer <token>` or `Basic <x>`, the bare token).
    pub(crate) fn add(&mut self, value: &str) {
        let value = value.trim();
        if let Some((scheme, token)) = value.split_once(' ')
            && matches!(scheme.to_ascii_lowercase().as_str(), "bearer" | "basic" | "token")
        {
            self.add(token);
        }
        if value.len() >= Self::MIN_LEN && !self.values.iter().any(|v| v == value) {
            self.values.push(value.to_string());
            // Longest first, so a value containing another is replaced whole.
            self.values.sort_by_key(|v| std::cmp::Reverse(v.len()));
        }
    }

    /// Replaces every occurrence of every value in `text` by `[REDACTED]`.
    pub(crate) fn scrub_in_place(&self, text: &mut String) {
        for v in &self.values {
            if text.contains(v.as_str()) {
                *text = text.replace(v.as_str(), "[REDACTED]");
            }
        }
    }

    /// Scrubs every string (keys and values) in a JSON value.
    pub(crate) fn scrub_json(&self, v: &mut serde_json::Value) {
        match v {
            serde_json::Value::String(s) => self.scrub_in_place(s),
            serde_json::Value::Array(items) => items.iter_mut().for_each(|x| self.scrub_json(x)),
            serde_json::Value::Object(map) => {
                let old = std::mem::take(map);
                for (mut k, mut val) in old {
                    self.scrub_in_place(&mut k);
                    self.scrub_json(&mut val);
                    map.insert(k, val);
                }
            }
            _ => {}
        }
    }
}

/// One line, at most `limit` bytes (on a char boundary), control characters escaped.
pub(crate) fn one_line(s: &str, limit: usize) -> String {
    let mut cut = s.len().min(limit);
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    let mut out = String::with_capacity(cut + 8);
    for c in s[..cut].chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    if cut < s.len() {
        out.push_str("...");
    }
    out
}

/// Replaces every string *value* (not object keys) by `"…"`, in text that may be truncated.
fn hide_string_values(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c != '"' {
            out.push(c);
            continue;
        }
        // Find the end of this string literal.
        let mut end = None;
        let mut escaped = false;
        for (j, d) in chars.by_ref() {
            match (escaped, d) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => {
                    end = Some(j);
                    break;
                }
                _ => {}
            }
        }
        let Some(end) = end else {
            out.push_str("\"…");
            return out;
        };
        let is_key = s[end + 1..].trim_start().starts_with(':');
        if is_key {
            out.push_str(&s[i..=end]);
        } else {
            out.push_str("\"…\"");
        }
    }
    out
}

/// A bounded excerpt of `body` with secret-looking values redacted: at most
/// [`EXCERPT_LIMIT`] bytes of the body, escaped onto one line. A successful response may
/// carry a token under any name (an envelope's `data`, say), so for those only the shape of a
/// JSON body is kept (every string value becomes `"…"`), and a body that is not JSON (a
/// `text/plain` `accessToken=…`) is described by its length and content type only.
pub(crate) fn excerpt(body: &[u8], success: bool, content_type: Option<&str>) -> String {
    if success {
        let head = &body[..body.len().min(64 * 1024)];
        if head.is_empty() {
            return "(empty)".into();
        }
        let looks_json = head
            .iter()
            .find(|b| !b.is_ascii_whitespace())
            .is_some_and(|b| matches!(b, b'{' | b'['));
        if !looks_json {
            let what = content_type.map_or("no content type".to_string(), |t| one_line(t, 80));
            return format!("({} bytes, {what}, not shown)", body.len());
        }
        return one_line(&hide_string_values(&String::from_utf8_lossy(head)), EXCERPT_LIMIT);
    }
    if body.is_empty() {
        return "(empty)".into();
    }
    // Only the head of a large body is ever looked at.
    let head = &body[..body.len().min(64 * 1024)];
    let text = String::from_utf8_lossy(head);
    let redacted = match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(mut v) => {
            redact_json(&mut v);
            v.to_string()
        }
        Err(_) => redact_text(&text),
    };
    one_line(&redacted, EXCERPT_LIMIT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_are_bounded_and_redacted() {
        let body = br#"{"accessToken":"tok_secret_1","tenantId":"t","nested":{"api_key":"k9"}}"#;
        let e = excerpt(body, false, None);
        assert!(!e.contains("tok_secret_1") && !e.contains("k9"), "{e}");
        assert!(e.contains("tenantId"));
        let truncated = br#"{"data":{"token":"tok_secret_2","refreshToken":"r3"#;
        let e = excerpt(truncated, false, None);
        assert!(!e.contains("tok_secret_2") && !e.contains("r3"), "{e}");
        let big = vec![b'x'; 10_000];
        assert!(excerpt(&big, false, None).len() <= EXCERPT_LIMIT + 3);
        assert_eq!(excerpt(b"", false, None), "(empty)");
        assert_eq!(excerpt(b"", true, None), "(empty)");
        assert_eq!(excerpt(b"<html>\n502</html>", false, None), "<html>\\n502</html>");
        let multibyte = "é".repeat(600);
        assert!(excerpt(multibyte.as_bytes(), false, None).ends_with("..."));
        let ok = excerpt(br#"{"data":"tok-9","n":[1,"x\"y"],"error_co"#, true, None);
        // An unterminated string may be a value: hidden too.
        assert_eq!(ok, r#"{"data":"…","n":[1,"…"],"…"#);
    }

    #[test]
    fn success_bodies_that_are_not_json_are_described_not_quoted() {
        let e = excerpt(b"accessToken=tok_plain_secret", true, Some("text/plain"));
        assert_eq!(e, "(28 bytes, text/plain, not shown)");
        let e = excerpt(b"tok_plain_secret", true, None);
        assert!(!e.contains("tok_plain"), "{e}");
    }

    #[test]
    fn broken_json_redaction_handles_escapes_arrays_and_objects() {
        let cases: &[&[u8]] = &[
            br#"{"password":"ab\"cd_secret1","x":1,"#,
            br#"{"tokens":["s3cret_a","s3cret_b"],"ok":true,"#,
            br#"{"apiKey":{"value":"s3cret_c","n":[1,2]},"ok":1"#,
            br#"{"refresh_token":["s3cret_d","#,
            br#"{"secret" : "s3cret_e"#,
        ];
        for body in cases {
            let e = excerpt(body, false, None);
            assert!(!e.contains("s3cret") && !e.contains("cd_secret1"), "{e}");
            assert!(e.contains("[REDACTED]"), "{e}");
        }
        let e = excerpt(br#"{"password":"ab\"cd_secret1","x":1,"#, false, None);
        assert_eq!(e, r#"{"password":"[REDACTED]","x":1,"#);
    }

    #[test]
    fn scrubber_removes_exact_values_and_bearer_tokens() {
        let mut s = Scrubber::default();
        s.add("Bearer tok_abcdef");
        s.add("KEY_123456");
        s.add("ab"); // too short: kept
        let mut text = "echo KEY_123456 and tok_abcdef; ab".to_string();
        s.scrub_in_place(&mut text);
        assert_eq!(text, "echo [REDACTED] and [REDACTED]; ab");
        let mut v = serde_json::json!({"m": ["KEY_123456"], "KEY_123456": 1});
        s.scrub_json(&mut v);
        assert!(!v.to_string().contains("KEY_123456"), "{v}");
    }
}
