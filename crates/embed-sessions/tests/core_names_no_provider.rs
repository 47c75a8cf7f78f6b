//! The core names no provider (issue 14's rule): no file under `src/core/`, nor the transport
//! seam crate `embed-sessions-hooks`, mentions Vlens, VRPlatform or bunq, in code, comments or
//! tests. A provider's facts live in its own module; the core learns them through `Provider`.

use std::path::{Path, PathBuf};

const PROVIDERS: &[&str] = &["vlens", "vrplatform", "bunq"];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|x| x == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_core_file_names_a_provider() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src/core"), &mut files);
    rust_files(&root.join("../embed-sessions-hooks/src"), &mut files);
    assert!(files.len() >= 10, "found only {files:?}: has the core moved?");
    let mut found = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap().to_ascii_lowercase();
        for (n, line) in text.lines().enumerate() {
            if PROVIDERS.iter().any(|p| line.contains(p)) {
                found.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
            }
        }
    }
    assert!(found.is_empty(), "core files name a provider:\n{}", found.join("\n"));
}
