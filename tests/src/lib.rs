//! Shared helpers for the workspace's end-to-end tests (see `tests/tests/`).

use std::path::{Path, PathBuf};

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the workspace root")
        .to_path_buf()
}

/// The `shared/` folder beside the workspace checkout (provider docs and seeds).
pub fn shared_dir() -> PathBuf {
    workspace_root().parent().expect("the checkout has a parent").join("shared")
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

/// The text of the page in `shared/seeds/` whose file name starts with `prefix` (e.g. `"003_"`).
pub fn seed_text(prefix: &str) -> String {
    let dir = shared_dir().join("seeds");
    let mut matches: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("readable seeds/ entry").path())
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with(prefix)))
        .collect();
    assert_eq!(
        matches.len(),
        1,
        "exactly one seed named {prefix}* in {}: {matches:?}",
        dir.display()
    );
    let path = matches.remove(0);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
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

pub mod fault;
