//! The xtask checks the checkout it runs in, even when two checkouts share one target dir.
//!
//! cargo fingerprints workspace members by paths relative to the workspace, so with one
//! `CARGO_TARGET_DIR` for two checkouts (a global target dir, git worktrees, CI caches) the
//! second checkout runs the xtask binary built for the first. A workspace root baked in at
//! compile time then checks the first checkout's specs and says "up to date".

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use xtask::codegen;

/// What `cargo xtask` needs of a checkout: the workspace manifests and every member's sources.
const COPIED: &[&str] =
    &["Cargo.toml", "Cargo.lock", ".cargo", "xtask", "specs", "crates", "tests"];

/// Copies `rel` (a file or a directory, without `target/` directories) from `from` to `to`.
fn copy(from: &Path, to: &Path, rel: &Path) {
    let src = from.join(rel);
    let dst = to.join(rel);
    if src.is_dir() {
        std::fs::create_dir_all(&dst).unwrap();
        for entry in std::fs::read_dir(&src).unwrap() {
            let name = entry.unwrap().file_name();
            if name != "target" {
                copy(from, to, &rel.join(name));
            }
        }
    } else {
        std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
        std::fs::copy(&src, &dst).unwrap_or_else(|e| panic!("{}: {e}", src.display()));
    }
}

/// `cargo xtask codegen --check vlens` in `checkout`, building into `target`.
fn check_in(checkout: &Path, target: &Path) -> Output {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    Command::new(cargo)
        .args(["--offline", "xtask", "codegen", "--check", "vlens"])
        .current_dir(checkout)
        .env("CARGO_TARGET_DIR", target)
        .env_remove("XTASK_WORKSPACE_ROOT")
        .env_remove("CARGO_MANIFEST_DIR")
        .output()
        .unwrap()
}

#[test]
fn a_second_checkout_sharing_the_target_dir_checks_its_own_specs() {
    // Fixed paths under cargo's per-target scratch dir: the shared target dir survives between
    // runs, so only the xtask crate itself is rebuilt after the first run.
    let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("xtask-shared-target");
    let (first, second, target) = (base.join("first"), base.join("second"), base.join("target"));
    let root = codegen::workspace_root();
    // Both copies exist before the first build, so the second one's sources are not newer than
    // the binary and cargo reuses it (the situation of two worktrees on one target dir).
    for checkout in [&first, &second] {
        let _ = std::fs::remove_dir_all(checkout);
        for rel in COPIED {
            copy(&root, checkout, Path::new(rel));
        }
    }

    let out = check_in(&first, &target);
    assert!(
        out.status.success(),
        "the first checkout is up to date:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let spec = second.join("specs/vlens.yaml");
    let text = std::fs::read_to_string(&spec).unwrap();
    let edited = text.replacen("Create an embedded auth session", "Create a session (edited)", 1);
    assert_ne!(edited, text, "the spec holds the summary this test edits");
    std::fs::write(&spec, edited).unwrap();

    let out = check_in(&second, &target);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "the edit in the second checkout is seen:\n{stderr}");
    assert!(stderr.contains("crates/vlens-client/src/generated.rs differs"), "{stderr}");
    assert!(stderr.contains("specs/vlens.yaml"), "the report names the spec: {stderr}");
    assert!(stderr.contains("(edited)"), "{stderr}");

    for checkout in [&first, &second] {
        let _ = std::fs::remove_dir_all(checkout);
    }
}
