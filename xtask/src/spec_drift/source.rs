//! Reading what a provider publishes: a documentation page (markdown with embedded OpenAPI
//! blocks, the page's `.md` form) or a bare OpenAPI document (YAML or JSON).

use std::path::Path;

use serde_json::Value;

/// What one published file says.
#[derive(Debug, Clone)]
pub struct Published {
    /// The OpenAPI documents found in the file (one for a bare document, one per embedded
    /// `openapi:` block for a page), as loaded (not yet down-converted).
    pub fragments: Vec<Value>,
    /// The operations the page's prose says it documents (`POST https://host/path` lines
    /// outside code blocks), as (lower-case method, URL).
    pub documented: Vec<(String, String)>,
}

/// HTTP methods a page may name at the start of a line (upper case, as pages write them).
const METHODS: [&str; 8] = ["GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE"];

/// Reads a published file. A file that parses as a YAML/JSON object with an `openapi` member is
/// a bare document; anything else is read as a page and must embed at least one OpenAPI block.
pub fn read(path: &Path) -> Result<Published, String> {
    let shown = path.display();
    let text = std::fs::read_to_string(path).map_err(|e| format!("{shown}: cannot read: {e}"))?;
    if let Some(doc) = parse_document(&text).filter(|d| d.get("openapi").is_some()) {
        return Ok(Published { fragments: vec![doc], documented: Vec::new() });
    }
    let (blocks, prose) = split_fences(&text);
    let fragments: Vec<Value> = blocks
        .iter()
        .filter_map(|b| parse_document(b))
        .filter(|d| d.get("openapi").is_some())
        .collect();
    if fragments.is_empty() {
        return Err(format!(
            "{shown}: neither an OpenAPI document nor a page with an embedded `openapi:` block"
        ));
    }
    Ok(Published { fragments, documented: documented_operations(&prose) })
}

/// Parses YAML (a superset of JSON) into a JSON value; `None` unless it is an object.
fn parse_document(text: &str) -> Option<Value> {
    serde_norway::from_str::<Value>(text).ok().filter(Value::is_object)
}

/// Splits markdown into the contents of its fenced code blocks and the lines outside them.
fn split_fences(text: &str) -> (Vec<String>, Vec<&str>) {
    let mut blocks = Vec::new();
    let mut prose = Vec::new();
    let mut open: Option<(String, String)> = None;
    for line in text.lines() {
        let trimmed = line.trim_start();
        match &mut open {
            None if trimmed.starts_with("```") || trimmed.starts_with("~~~") => {
                let fence: String =
                    trimmed.chars().take_while(|c| *c == '`' || *c == '~').collect();
                open = Some((fence, String::new()));
            }
            None => prose.push(line),
            Some((fence, body)) if trimmed.trim_end() == fence.as_str() => {
                blocks.push(std::mem::take(body));
                open = None;
            }
            Some((_, body)) => {
                body.push_str(line);
                body.push('\n');
            }
        }
    }
    (blocks, prose)
}

/// `POST https://api.example.com/path` lines of the prose, as (`post`, URL).
fn documented_operations(prose: &[&str]) -> Vec<(String, String)> {
    prose
        .iter()
        .filter_map(|line| {
            let (method, url) = line.trim().split_once(' ')?;
            let url = url.trim();
            (METHODS.contains(&method)
                && (url.starts_with("https://") || url.starts_with("http://")))
            .then(|| (method.to_ascii_lowercase(), url.to_string()))
        })
        .collect()
}

/// The path of `url` relative to one of `servers` (their `url`s), or else its path after the
/// host; the query and fragment are dropped.
pub fn operation_path(url: &str, servers: &[&str]) -> String {
    let url = url.split(['?', '#']).next().unwrap_or(url);
    for server in servers {
        let server = server.trim_end_matches('/');
        if let Some(rest) = url.strip_prefix(server)
            && (rest.is_empty() || rest.starts_with('/'))
        {
            return if rest.is_empty() { "/".into() } else { rest.into() };
        }
    }
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    match after_scheme.find('/') {
        Some(i) => after_scheme[i..].to_string(),
        None => "/".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fences_and_prose() {
        let page = "# T\n\nPOST https://api.x.com/a/b\n\n```yaml\nopenapi: 3.1.0\npaths: {}\n```\n\n```python\nimport x\n```\n";
        let (blocks, prose) = split_fences(page);
        assert_eq!(blocks, vec!["openapi: 3.1.0\npaths: {}\n".to_string(), "import x\n".into()]);
        assert!(prose.contains(&"POST https://api.x.com/a/b"));
        assert!(!prose.iter().any(|l| l.contains("import")));
        assert_eq!(
            documented_operations(&prose),
            vec![("post".to_string(), "https://api.x.com/a/b".to_string())]
        );
    }

    #[test]
    fn paths_of_urls() {
        assert_eq!(operation_path("https://api.x.com/a/b?q=1", &[]), "/a/b");
        assert_eq!(operation_path("https://api.x.com/v1/a", &["https://api.x.com/v1/"]), "/a");
        assert_eq!(operation_path("https://api.x.com", &[]), "/");
    }
}
