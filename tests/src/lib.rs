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
