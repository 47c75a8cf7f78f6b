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

/// How `cargo xtask` is started in a checkout: through `cargo run` (which sets the run-time
/// `CARGO_MANIFEST_DIR` to the checkout's `xtask/`) or by running the binary directly there.
#[derive(Debug, Clone, Copy)]
enum Start {
    CargoRun,
    Direct,
}

/// `xtask codegen --check vlens` in `checkout`, with the xtask binary cargo built for this
/// test: it was compiled in this workspace, so its compile-time root is not `checkout`, which
/// is what a second checkout sharing one target dir runs (cargo reuses the first's binary).
/// Running the built binary rather than `cargo xtask` keeps the test from building the xtask
/// and its dependencies again in a second target dir.
fn check_in(checkout: &Path, start: Start) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_xtask"));
    command
        .args(["codegen", "--check", "vlens"])
        .current_dir(checkout)
        .env_remove("XTASK_WORKSPACE_ROOT")
        .env_remove("CARGO_MANIFEST_DIR");
    if let Start::CargoRun = start {
        command.env("CARGO_MANIFEST_DIR", checkout.join("xtask"));
    }
    command.output().unwrap()
}

#[test]
fn a_second_checkout_sharing_the_target_dir_checks_its_own_specs() {
    let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("xtask-root");
    let (first, second) = (base.join("first"), base.join("second"));
    let root = codegen::workspace_root();
    for checkout in [&first, &second] {
        let _ = std::fs::remove_dir_all(checkout);
        for rel in COPIED {
            copy(&root, checkout, Path::new(rel));
        }
    }
    let spec = second.join("specs/vlens.yaml");
    let text = std::fs::read_to_string(&spec).unwrap();
    let edited = text.replacen("Create an embedded auth session", "Create a session (edited)", 1);
    assert_ne!(edited, text, "the spec holds the summary this test edits");
    std::fs::write(&spec, edited).unwrap();

    for start in [Start::CargoRun, Start::Direct] {
        let out = check_in(&first, start);
        assert!(
            out.status.success(),
            "{start:?}: the first checkout is up to date:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let out = check_in(&second, start);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{start:?}: the edit is seen:\n{stderr}");
        assert!(stderr.contains("crates/vlens-client/src/generated.rs differs"), "{stderr}");
        assert!(stderr.contains("specs/vlens.yaml"), "the report names the spec: {stderr}");
        assert!(stderr.contains("(edited)"), "{stderr}");
    }
    let _ = std::fs::remove_dir_all(&base);
}
