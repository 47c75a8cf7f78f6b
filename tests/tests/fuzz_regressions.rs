//! The fuzz targets' inputs in the normal test suite: every seed (`fuzz/seeds/<target>/`) and
//! every input that once crashed a target (`fuzz/regressions/<target>/`, kept when the bug was
//! fixed) runs through the same harness function as `cargo fuzz` (`embed_sessions::fuzzing`),
//! so a fixed crash stays fixed without nightly or libFuzzer. The xtask's `spec` target has
//! its own file, `xtask/tests/fuzz_regressions.rs`.

use std::path::PathBuf;

use embed_sessions::fuzzing;
use embed_sessions_testkit::docs::workspace_root;

/// A harness function: whether the input decoded into a value.
type Harness = fn(&[u8]) -> bool;

const TARGETS: &[(&str, Harness)] = &[
    ("vlens_response", fuzzing::vlens_response),
    ("vrplatform_response", fuzzing::vrplatform_response),
    ("bunq_response", fuzzing::bunq_response),
    ("retry_after", fuzzing::retry_after),
    ("excerpt", fuzzing::excerpt),
    ("event", fuzzing::event),
    ("bunq_context_file", fuzzing::bunq_context_file),
];

fn inputs(target: &str) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in ["fuzz/seeds", "fuzz/regressions"] {
        let dir = workspace_root().join(dir).join(target);
        if let Ok(entries) = std::fs::read_dir(&dir) {
            files.extend(entries.map(|e| e.unwrap().path()).filter(|p| p.is_file()));
        }
    }
    files.sort();
    files
}

#[test]
fn every_seed_and_regression_input_runs_without_a_panic() {
    let mut ran = Vec::new();
    for (target, harness) in TARGETS {
        let files = inputs(target);
        assert!(!files.is_empty(), "no seeds for {target}");
        for file in &files {
            let data = std::fs::read(file).unwrap();
            let _decoded = harness(&data);
        }
        ran.push(format!("{target}: {}", files.len()));
    }
    println!("{}", ran.join(", "));
}

#[test]
fn the_documented_answers_decode_through_the_harness_and_errors_do_not() {
    // The harness reaches the success paths (it does not fail every input early), and the
    // error answers and hostile bytes come back as typed errors.
    for (target, seed, decodes) in [
        ("vlens_response", "auth-session-ok", true),
        ("vlens_response", "template", true),
        ("vlens_response", "business-request", true),
        ("vrplatform_response", "doc-1", true),
        ("bunq_response", "session", true),
        ("bunq_response", "filters", true),
        ("bunq_response", "payment", true),
        ("retry_after", "seconds", true),
        ("retry_after", "date", true),
        ("event", "vlens-webhook", true),
        ("event", "bunq-Payment", true),
        ("bunq_context_file", "sandbox-context.json", true),
        ("bunq_context_file", "no-session.json", true),
        ("vlens_response", "error-envelope", false),
        ("vrplatform_response", "error-401", false),
        ("bunq_response", "error", false),
        ("bunq_response", "signature", false),
        ("retry_after", "negative", false),
    ] {
        let data =
            std::fs::read(workspace_root().join("fuzz/seeds").join(target).join(seed)).unwrap();
        let harness = TARGETS.iter().find(|(t, _)| *t == target).unwrap().1;
        let what = if decodes { "decode" } else { "be an error" };
        assert_eq!(harness(&data), decodes, "{target}/{seed} should {what}");
    }
    for (_, harness) in TARGETS {
        assert!(!harness(b""));
        assert!(!harness(&[0xff]));
    }
}
