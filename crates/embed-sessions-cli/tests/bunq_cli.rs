//! `embed-sessions bunq ...` against the sandbox's bunq, embedded in the test (signatures
//! verified both ways, one-time token values, partner provisioning).

use assert_cmd::Command;
use embed_sessions_sandbox::{Action, Fault, Sandbox, Target};
use embed_sessions_testkit::TempDir as Dir;
use embed_sessions_testkit::sandbox::{bunq_hits, bunq_refusals, hits_of};
use serde_json::Value;

/// A partner company's API key (the sandbox makes any key without `person` a company).
const PARTNER_KEY: &str = "partner-api-key-0001-secret";

fn cli(server: &Sandbox) -> Command {
    let mut cmd = Command::cargo_bin("embed-sessions").unwrap();
    cmd.env_remove("BUNQ_API_KEY").env("BUNQ_BASE_URL", &server.urls().bunq);
    cmd
}

fn output(cmd: &mut Command) -> (i32, String, String) {
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The sandbox, served by a runtime that lives as long as the test holds it.
fn server() -> (tokio::runtime::Runtime, Sandbox) {
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let server = rt.block_on(embed_sessions_testkit::sandbox::start());
    (rt, server)
}

#[test]
fn session_creates_then_reuses_the_context_file() {
    let (_rt, server) = server();
    let dir = Dir::new("session");
    let file = dir.file("partner.json");
    let (code, stdout, stderr) = output(
        cli(&server)
            .env("BUNQ_API_KEY", PARTNER_KEY)
            .args(["bunq", "session", "--context"])
            .arg(&file)
            .args(["--description", "ops laptop"]),
    );
    assert_eq!(code, 0, "{stderr}");
    let v: Value = serde_json::from_str(stdout.trim()).unwrap();
    let mut keys: Vec<_> = v.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    assert_eq!(keys, ["expiresAt", "sessionId", "userId"]);
    assert_eq!(v["userId"], server.bunq_user_id(PARTNER_KEY).unwrap());
    assert!(v["expiresAt"].as_str().unwrap().ends_with('Z'));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
    }
    // The token stays in the file; nothing secret on stdout or stderr.
    for secret in server.secrets() {
        assert!(!stdout.contains(&secret) && !stderr.contains(&secret), "secret in output");
    }
    assert!(!stdout.contains(PARTNER_KEY));
    // A second run needs no key and makes no installation, device or session call.
    let (code, stdout2, stderr) =
        output(cli(&server).args(["bunq", "session", "--context"]).arg(&file));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout2, stdout);
    assert_eq!(bunq_hits(&server, "POST /installation"), 1);
    assert_eq!(bunq_hits(&server, "POST /device-server"), 1);
    assert_eq!(bunq_hits(&server, "POST /session-server"), 1);
    assert_eq!(bunq_refusals(&server), Vec::<String>::new());
}

#[test]
fn session_without_key_or_file_is_a_usage_error() {
    let (_rt, server) = server();
    let dir = Dir::new("nokey");
    let (code, stdout, stderr) =
        output(cli(&server).args(["bunq", "session", "--context"]).arg(dir.file("x.json")));
    assert_eq!(code, 2, "{stderr}");
    assert!(stdout.is_empty());
    assert!(stderr.contains("BUNQ_API_KEY"), "{stderr}");
    assert_eq!(hits_of(&server, "bunq"), 0);
}

#[test]
fn an_unsigned_response_fails_with_exit_4() {
    let (_rt, server) = server();
    server.add_fault(Target::Bunq, Fault::action(Action::Unsigned), None);
    let dir = Dir::new("unsigned");
    let (code, stdout, stderr) = output(
        cli(&server)
            .env("BUNQ_API_KEY", PARTNER_KEY)
            .args(["bunq", "session", "--context"])
            .arg(dir.file("p.json")),
    );
    assert_eq!(code, 4, "{stderr}");
    assert!(stdout.is_empty());
    assert!(stderr.contains("signature"), "{stderr}");
}

#[test]
fn provision_waits_and_stores_the_users_context_without_printing_its_token() {
    let (_rt, server) = server();
    server.set_bunq_provision_reads(1);
    let dir = Dir::new("provision");
    let partner = dir.file("partner.json");
    // The partner's context first (so the provision run needs no second session call).
    let (code, _, stderr) = output(
        cli(&server)
            .env("BUNQ_API_KEY", PARTNER_KEY)
            .args(["bunq", "session", "--context"])
            .arg(&partner),
    );
    assert_eq!(code, 0, "{stderr}");
    let external = "4f8f94de-2cc0-4ec7-a7f8-f0c7f560e59a";
    let (code, stdout, stderr) = output(
        cli(&server)
            .args(["bunq", "provision", "--context"])
            .arg(&partner)
            .args([
                "--email",
                "new@example.com",
                "--phone",
                "+31612345678",
                "--external-id",
                external,
            ])
            .args(["--wait", "20"]),
    );
    assert_eq!(code, 0, "{stderr}");
    let v: Value = serde_json::from_str(stdout.trim()).unwrap();
    let provision_id = v["id"].as_i64().expect("the provision id");
    assert_eq!(v["sub_status"], "PENDING_PROCESS_USER_ONBOARDING");
    let token = server.bunq_provision_token(provision_id).expect("the used token value");
    assert_eq!(v["userId"], server.bunq_user_id(&token).unwrap());
    let user_file = dir.file(&format!("partner.user-{external}.json"));
    assert_eq!(v["userContext"], user_file.display().to_string());
    assert!(user_file.exists());
    // The one-time token value was used and stored, never printed.
    for secret in server.secrets() {
        assert!(!stdout.contains(&secret) && !stderr.contains(&secret));
    }
    // Invalid input: nothing is sent.
    let before = hits_of(&server, "bunq");
    let (code, _, stderr) =
        output(cli(&server).args(["bunq", "provision", "--context"]).arg(&partner).args([
            "--email",
            "new@example.com",
            "--phone",
            "0612",
            "--external-id",
            external,
        ]));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("phone_number"), "{stderr}");
    let (code, _, stderr) =
        output(cli(&server).args(["bunq", "provision", "--context"]).arg(&partner).args([
            "--email",
            "new@example.com",
            "--phone",
            "+31612345678",
            "--external-id",
            "nope",
        ]));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("external_id"), "{stderr}");
    assert_eq!(hits_of(&server, "bunq"), before);
}
