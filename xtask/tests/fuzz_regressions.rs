//! The `spec` fuzz target's inputs in the normal test suite (`fuzz/fuzz_targets/spec.rs` runs
//! the same `codegen::check_bytes` under libFuzzer): the three specs pass it, and every input
//! that once crashed it (`fuzz/regressions/spec/`, kept when the rule was added) is reported
//! as a violation, never a panic.

use xtask::codegen;

#[test]
fn the_specs_pass_the_fuzz_entry_and_kept_crashes_are_reported() {
    let root = codegen::workspace_root();
    for spec in ["specs/vlens.yaml", "specs/vrplatform.yaml", "specs/bunq.yaml"] {
        let data = std::fs::read(root.join(spec)).unwrap();
        codegen::check_bytes(&data).unwrap_or_else(|e| panic!("{spec}: {e}"));
    }
    let dir = root.join("fuzz/regressions/spec");
    let mut kept = 0;
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for entry in entries {
            let path = entry.unwrap().path();
            let data = std::fs::read(&path).unwrap();
            let e = codegen::check_bytes(&data).expect_err("a kept crash input is a bad spec");
            assert!(!e.to_string().is_empty(), "{}", path.display());
            kept += 1;
        }
    }
    println!("{kept} kept spec inputs");
    // Hostile bytes are load errors.
    assert!(codegen::check_bytes(&[0xff, 0xfe]).is_err());
    assert!(codegen::check_bytes(b"openapi: [").is_err());
}
