//! Bounded, redacted excerpts of response bodies for error messages.

/// Longest excerpt kept from an unexpected body, in bytes (before escaping).
pub const EXCERPT_LIMIT: usize = 512;

/// Keys whose values never appear in an excerpt (compared case-insensitively, as substrings).
const SECRET_KEYS: &[&str] = &["token", "secret", "password", "key", "authorization", "credential"];

fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    SECRET_KEYS.iter().any(|s| k.contains(s))
}

fn redact_json(v: &mut serde_json::Value) {
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

/// Redacts `"<secret key>": "<value>"` pairs in text that is not valid JSON (truncated bodies).
fn redact_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find('"') {
        let (before, from_quote) = rest.split_at(start);
        out.push_str(before);
        let Some(end) = from_quote[1..].find('"') else {
            out.push_str(from_quote);
            return out;
        };
        let key = &from_quote[1..=end];
        let after_key = &from_quote[end + 2..];
        out.push('"');
        out.push_str(key);
        out.push('"');
        rest = after_key;
        if !is_secret_key(key) {
            continue;
        }
        let trimmed = rest.trim_start();
        if let Some(value) = trimmed.strip_prefix(':') {
            let value = value.trim_start();
            if let Some(v) = value.strip_prefix('"') {
                out.push_str(":\"[REDACTED]\"");
                rest = match v.find('"') {
                    Some(i) => &v[i + 1..],
                    None => "",
                };
            }
        }
    }
    out.push_str(rest);
    out
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
/// carry a token under any name (Vlens puts it in `data`), so for those only the shape is
/// kept: every string value becomes `"…"`.
pub(crate) fn excerpt(body: &[u8], success: bool) -> String {
    if success {
        let head = &body[..body.len().min(64 * 1024)];
        if head.is_empty() {
            return "(empty)".into();
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
        let e = excerpt(body, false);
        assert!(!e.contains("tok_secret_1") && !e.contains("k9"), "{e}");
        assert!(e.contains("tenantId"));
        let truncated = br#"{"data":{"token":"tok_secret_2","refreshToken":"r3"#;
        let e = excerpt(truncated, false);
        assert!(!e.contains("tok_secret_2") && !e.contains("r3"), "{e}");
        let big = vec![b'x'; 10_000];
        assert!(excerpt(&big, false).len() <= EXCERPT_LIMIT + 3);
        assert_eq!(excerpt(b"", false), "(empty)");
        assert_eq!(excerpt(b"", true), "(empty)");
        assert_eq!(excerpt(b"<html>\n502</html>", false), "<html>\\n502</html>");
        let multibyte = "é".repeat(600);
        assert!(excerpt(multibyte.as_bytes(), false).ends_with("..."));
        let ok = excerpt(br#"{"data":"tok-9","n":[1,"x\"y"],"error_co"#, true);
        // An unterminated string may be a value: hidden too.
        assert_eq!(ok, r#"{"data":"…","n":[1,"…"],"…"#);
    }
}
