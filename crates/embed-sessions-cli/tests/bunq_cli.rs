//! `embed-sessions bunq ...` against the strict fake bunq of the facade's tests (signatures
//! verified both ways, one-time token values, partner provisioning).

#[path = "../../embed-sessions/tests/bunq_server/mod.rs"]
mod bunq_server;

use std::path::PathBuf;

use assert_cmd::Command;
use bunq_server::{FakeBunq, PARTNER_KEY, SignMode};
use serde_json::Value;

struct Dir(PathBuf);

impl Dir {
    fn new(tag: &str) -> Self {
        let p = std::env::temp_dir().join(format!("es-cli-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }
    fn file(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn cli(server: &FakeBunq) -> Command {
    let mut cmd = Command::cargo_bin("embed-sessions").unwrap();
    cmd.env_remove("BUNQ_API_KEY").env("BUNQ_BASE_URL", server.base_url());
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

fn server() -> (tokio::runtime::Runtime, FakeBunq) {
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let server = rt.block_on(FakeBunq::start());
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
    assert_eq!(v["userId"], bunq_server::PARTNER_COMPANY_ID);
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
    assert_eq!(server.hits("POST /installation"), 1);
    assert_eq!(server.hits("POST /device-server"), 1);
    assert_eq!(server.hits("POST /session-server"), 1);
    assert!(server.problems().is_empty(), "{:?}", server.problems());
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
    assert_eq!(server.total_hits(), 0);
}

#[test]
fn an_unsigned_response_fails_with_exit_4() {
    let (_rt, server) = server();
    server.set_sign_mode(SignMode::Missing);
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
    server.provision_ready_after(Some(1));
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
    assert_eq!(v["id"], bunq_server::PROVISION_ID);
    assert_eq!(v["sub_status"], "PENDING_PROCESS_USER_ONBOARDING");
    assert_eq!(v["userId"], bunq_server::API_KEY_USER_ID);
    let user_file = dir.file(&format!("partner.user-{external}.json"));
    assert_eq!(v["userContext"], user_file.display().to_string());
    assert!(user_file.exists());
    // The one-time token value was used and stored, never printed.
    for secret in server.secrets() {
        assert!(!stdout.contains(&secret) && !stderr.contains(&secret));
    }
    // Invalid input: nothing is sent.
    let before = server.total_hits();
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
    assert_eq!(server.total_hits(), before);
}
