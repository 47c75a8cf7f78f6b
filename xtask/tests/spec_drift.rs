//! `cargo xtask spec-drift`: the published CreateAuthSession page against `specs/vlens.yaml`,
//! and edited copies of it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use xtask::codegen;

/// The repository copy of the published page.
const PAGE: &str = "tests/fixtures/docs/vlens/create-auth-session.md";
const OPERATION: &str = "/paths/~1api~1IdentityUserSession~1CreateAuthSession/post";

/// Runs the binary in the workspace root, so the page path and the pointers read as in the
/// README.
fn spec_drift(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("spec-drift")
        .args(args)
        .current_dir(codegen::workspace_root())
        .env_remove("XTASK_WORKSPACE_ROOT")
        .output()
        .unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The report's lines of one class.
fn lines_of<'a>(report: &'a str, class: &str) -> Vec<&'a str> {
    let prefix = format!("{class}: ");
    report.lines().filter(|l| l.starts_with(&prefix)).collect()
}

/// The known deviations the published page must show: exactly those our spec documents.
fn documented_deviations() -> Vec<String> {
    vec![
        "known deviation: /components/schemas/ApiOutputString/properties/error_descriptions/nullable: \
         published says true, ours says false (x-deviation: published `oneOf: [{description: Any \
         type}, {type: 'null'}]` rejects the docs' own `\"error_descriptions\": null` (null matches \
         both branches); we use one schema for any JSON value, null included)"
            .to_string(),
        "known deviation: /info/title: published says \"example-openapi\", ours says \"Vlens API\" \
         (x-deviation: the published title is a placeholder; ours names the API (the version is \
         unchanged))"
            .to_string(),
    ]
}

/// A copy of the page with `from` replaced by `to` (once), in a scratch dir of this test.
fn edited_page(tag: &str, from: &str, to: &str) -> PathBuf {
    let root = codegen::workspace_root();
    let text = std::fs::read_to_string(root.join(PAGE)).unwrap();
    assert!(text.contains(from), "the page contains {from:?}");
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("spec-drift");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{tag}.md"));
    std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
    path
}

/// Runs spec-drift on an edited page, which must exit 1 with exactly one new-upstream line,
/// starting with `prefix`. Returns the report.
fn assert_one_new_upstream(page: &Path, prefix: &str) -> String {
    let out = spec_drift(&["vlens", page.to_str().unwrap()]);
    let report = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{report}{}", String::from_utf8_lossy(&out.stderr));
    let new = lines_of(&report, "new upstream");
    assert_eq!(new.len(), 1, "{report}");
    assert!(new[0].starts_with(prefix), "{report}");
    report
}

/// Runs spec-drift on an edited page: exit 1, `expected` is the only new-upstream line, and the
/// documented deviations are still reported as such.
fn assert_new_upstream(page: &Path, expected: &str) {
    let report = assert_one_new_upstream(page, expected);
    assert_eq!(lines_of(&report, "new upstream"), vec![expected], "{report}");
    assert_eq!(lines_of(&report, "known deviation"), documented_deviations(), "{report}");
}

#[test]
fn the_published_page_shows_exactly_our_documented_deviations() {
    let out = spec_drift(&["vlens", PAGE]);
    let report = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{report}{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(lines_of(&report, "new upstream"), Vec::<&str>::new(), "{report}");
    assert_eq!(lines_of(&report, "known deviation"), documented_deviations(), "{report}");
    // What we add from other pages: the typed error responses, at least.
    let ours = lines_of(&report, "ours only");
    let error_responses = format!(
        "ours only: {OPERATION}/responses/4XX: published says nothing, ours says \
         {{\"$ref\":\"#/components/responses/ApiError\"}}"
    );
    assert!(ours.contains(&error_responses.as_str()), "{report}");
    let last = report.lines().last().unwrap();
    assert!(
        last.starts_with(&format!("specs/vlens.yaml vs {PAGE}: 0 new upstream, 2 known")),
        "{last}"
    );
    // Deterministic.
    assert_eq!(stdout(&spec_drift(&["vlens", PAGE])), report);
}

#[test]
fn a_bare_fragment_is_compared_like_the_page() {
    let fragment = format!("{}/tests/fixtures/vlens-fragment-3.1.yaml", env!("CARGO_MANIFEST_DIR"));
    let out = spec_drift(&["vlens", &fragment]);
    let report = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{report}");
    assert_eq!(lines_of(&report, "known deviation"), documented_deviations(), "{report}");
}

#[test]
fn a_new_property_is_new_upstream() {
    let page = edited_page(
        "new-property",
        "        sessionPermissions:\n          $ref",
        "        nationalId:\n          type: string\n        sessionPermissions:\n          $ref",
    );
    assert_new_upstream(
        &page,
        "new upstream: /components/schemas/CreateAuthSessionInput/properties/nationalId: \
         published says {\"type\":\"string\"}, ours says nothing",
    );
}

#[test]
fn a_type_change_is_new_upstream() {
    let page = edited_page(
        "type-change",
        "        minimalSignatureFlow:\n          type: boolean",
        "        minimalSignatureFlow:\n          type: string",
    );
    assert_new_upstream(
        &page,
        "new upstream: /components/schemas/SessionPermissions/properties/minimalSignatureFlow/type: \
         published says \"string\", ours says \"boolean\"",
    );
}

#[test]
fn a_removed_parameter_is_new_upstream() {
    let page = edited_page(
        "removed-parameter",
        "      parameters:\n        - name: ApiKey\n          in: header\n          description: >-\n            Static API key issued to your tenant. Obtain from the Vlens\n            dashboard.\n          required: true\n          schema:\n            type: string\n",
        "",
    );
    let prefix = format!(
        "new upstream: {OPERATION}/parameters/0: published says nothing, ours says \
         {{\"name\":\"ApiKey\",\"in\":\"header\""
    );
    let report = assert_one_new_upstream(&page, &prefix);
    assert_eq!(lines_of(&report, "known deviation"), documented_deviations(), "{report}");
}

#[test]
fn a_removed_operation_is_new_upstream() {
    // The page still says it documents POST …/CreateAuthSession, its fragment no longer has it.
    let page = edited_page(
        "removed-operation",
        "paths:\n  /api/IdentityUserSession/CreateAuthSession:\n    post:\n",
        "paths: {}\nx-removed:\n  /api/IdentityUserSession/CreateAuthSession:\n    post:\n",
    );
    let prefix = format!(
        "new upstream: {OPERATION}: published says nothing, ours says \
         {{\"operationId\":\"create-auth-session\""
    );
    assert_one_new_upstream(&page, &prefix);
}

#[test]
fn a_moved_operation_is_new_upstream_at_both_places() {
    let page = edited_page(
        "moved-operation",
        "  /api/IdentityUserSession/CreateAuthSession:\n",
        "  /api/v2/IdentityUserSession/CreateAuthSession:\n",
    );
    let out = spec_drift(&["vlens", page.to_str().unwrap()]);
    let report = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{report}");
    let pointers: Vec<&str> =
        lines_of(&report, "new upstream").iter().map(|l| l.split(": ").nth(1).unwrap()).collect();
    assert_eq!(
        pointers,
        vec![OPERATION, "/paths/~1api~1v2~1IdentityUserSession~1CreateAuthSession/post"],
        "{report}"
    );
}

#[test]
fn json_output_parses_and_matches_the_text() {
    let page = edited_page(
        "json",
        "        minimalSignatureFlow:\n          type: boolean",
        "        minimalSignatureFlow:\n          type: integer",
    );
    let out = spec_drift(&["--json", "vlens", page.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let items: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("a JSON array");
    let text = stdout(&spec_drift(&["vlens", page.to_str().unwrap()]));
    assert_eq!(items.len(), text.lines().count() - 1, "{text}");
    let changed =
        items.iter().find(|i| i["class"] == "new upstream").unwrap_or_else(|| panic!("{items:#?}"));
    assert_eq!(
        changed["pointer"],
        "/components/schemas/SessionPermissions/properties/minimalSignatureFlow/type"
    );
    assert_eq!(changed["published"], "integer");
    assert_eq!(changed["ours"], "boolean");
    assert!(changed.get("deviation").is_none());
    assert!(items.iter().any(|i| i["class"] == "known deviation" && i["deviation"].is_string()));
}

#[test]
fn usage_errors_and_unreadable_files_exit_2() {
    for args in [
        vec!["vlens"],
        vec!["stripe", PAGE],
        vec!["--frobnicate", "vlens", PAGE],
        vec!["vlens", "tests/fixtures/docs/vlens/no-such-page.md"],
        vec!["vlens", "Cargo.toml"],
    ] {
        let out = spec_drift(&args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!out.stderr.is_empty(), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}
