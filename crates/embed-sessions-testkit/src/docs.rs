//! The repository's provider doc fixtures (`tests/fixtures/docs/`) and spec helpers.

use std::path::{Path, PathBuf};

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("the testkit sits in crates/ of the workspace")
        .to_path_buf()
}

/// `tests/fixtures/docs/`: the provider doc pages and examples the tests read, each listed with
/// its page address in `tests/fixtures/docs/SOURCES.md`. Tests read nothing outside the
/// repository.
pub fn docs_dir() -> PathBuf {
    workspace_root().join("tests/fixtures/docs")
}

/// Loads a YAML file into a JSON value.
pub fn load_yaml(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Removes `null` members from objects, recursively: for optional nullable fields an absent
/// member and an explicit `null` are the same value, and the generated types omit `None`.
pub fn strip_nulls(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(map) => {
            map.retain(|_, x| !x.is_null());
            map.values_mut().for_each(strip_nulls);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}

/// The text of a provider doc file under `tests/fixtures/docs/`, e.g. `"bunq/examples.md"`.
pub fn doc_text(relative: &str) -> String {
    let path = docs_dir().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The component schemas the operations of `spec` send and receive, as `(where, schema name)`:
/// each JSON request body and each JSON response (success and error, through
/// `components/responses`) that is a `$ref` to `components/schemas`.
pub fn operation_body_schemas(spec: &serde_json::Value) -> Vec<(String, String)> {
    fn schema_name(media: &serde_json::Value) -> Option<String> {
        let r = media.pointer("/schema/$ref")?.as_str()?;
        r.strip_prefix("#/components/schemas/").map(str::to_string)
    }
    fn resolve<'a>(spec: &'a serde_json::Value, v: &'a serde_json::Value) -> &'a serde_json::Value {
        match v.get("$ref").and_then(serde_json::Value::as_str) {
            Some(r) => spec.pointer(r.trim_start_matches('#')).expect("a resolvable $ref"),
            None => v,
        }
    }
    let mut out = Vec::new();
    let paths = spec["paths"].as_object().expect("paths");
    for (path, item) in paths {
        let item = item.as_object().expect("a path item");
        let methods = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];
        for (method, op) in item.iter().filter(|(m, _)| methods.contains(&m.as_str())) {
            let at = format!("{method} {path}");
            if let Some(media) = op.pointer("/requestBody/content/application~1json") {
                out.extend(schema_name(media).map(|n| (format!("{at} request"), n)));
            }
            for (status, response) in op["responses"].as_object().into_iter().flatten() {
                let response = resolve(spec, response);
                if let Some(media) = response.pointer("/content/application~1json") {
                    out.extend(schema_name(media).map(|n| (format!("{at} {status}"), n)));
                }
            }
        }
    }
    out
}

/// Every top-level JSON object embedded in a prose page, in order of appearance. Each `{` that
/// starts a valid JSON value is decoded and scanning resumes after that value; a `{` that starts no
/// valid JSON (a path template like `{id}`, a schematic `{…}`) is skipped, so fix placeholders up
/// before calling this, or the objects nested inside a broken example are returned instead.
pub fn json_objects(text: &str) -> Vec<serde_json::Value> {
    let mut found = Vec::new();
    let mut pos = 0;
    while let Some(offset) = text[pos..].find('{') {
        let start = pos + offset;
        let mut stream =
            serde_json::Deserializer::from_str(&text[start..]).into_iter::<serde_json::Value>();
        match stream.next() {
            Some(Ok(value)) => {
                pos = start + stream.byte_offset();
                found.push(value);
            }
            _ => pos = start + 1,
        }
    }
    found
}
