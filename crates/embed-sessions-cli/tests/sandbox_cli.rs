//! Every CLI subcommand against `embed-sessions sandbox` (the built binary, spawned; its JSON
//! line read; the environment pointed at it), the VRPlatform failure inputs, and the
//! sandbox's own log (secrets redacted).

use embed_sessions_testkit::process::{Running, cli, http_get, output};
use serde_json::Value;

/// The CLI under test.
const BIN: &str = env!("CARGO_BIN_EXE_embed-sessions");

const TENANT: &str = "4f8f94de-2cc0-4ec7-a7f8-f0c7f560e59a";

fn dir(tag: &str) -> std::path::PathBuf {
    let p = std::env::temp_dir().join(format!("es-sandbox-cli-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&p);
    std::fs::create_dir_all(&p).unwrap();
    p
}

fn json(stdout: &str) -> Value {
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
}

fn count(sb: &Running, method: &str, path: &str) -> usize {
    sb.requests()
        .iter()
        .filter(|r| r["method"] == method && r["path"].as_str().is_some_and(|p| p.ends_with(path)))
        .count()
}

#[test]
fn vlens_subcommands() {
    let sb = Running::start(BIN, &[]);
    let (code, out, err) = output(cli(&sb).env("VLENS_API_KEY", "any-vlens-key").args([
        "vlens",
        "auth-session",
        "--phone",
        "+201234567890",
        "--contract-type",
        "414",
        "--minimal-signature-flow",
    ]));
    assert_eq!(code, 0, "{err}");
    let v = json(&out);
    let url = v["iframeUrl"].as_str().unwrap();
    assert!(
        url.starts_with(&format!("{}/session?token=", sb.urls["vlensApp"].as_str().unwrap())),
        "{url}"
    );
    // The iframe page knows the token and its user.
    let (status, page) = http_get(url);
    assert_eq!(status, 200);
    assert!(page.contains("+201234567890") && page.contains(r#"data-state="issued""#), "{page}");

    let (code, out, err) = output(
        cli(&sb)
            .env("VLENS_API_KEY", "any-vlens-key")
            .env("VLENS_TENANCY_NAME", "acme")
            .env("VLENS_USERNAME", "admin")
            .env("VLENS_PASSWORD", "admin-pass")
            .args([
                "vlens",
                "invitation",
                "--email",
                "user@example.com",
                "--contract-type",
                "414",
                "--field",
                "414.fullName=Ahmed Mohamed",
                "--field",
                "414.monthlyIncome=5000",
            ]),
    );
    assert_eq!(code, 0, "{err}");
    let (_, page) = http_get(json(&out)["iframeUrl"].as_str().unwrap());
    assert!(page.contains("user@example.com") && page.contains("Ahmed Mohamed"), "{page}");
    assert_eq!(count(&sb, "POST", "/api/credentials/Login"), 1);

    let (code, out, err) = output(cli(&sb).env("VLENS_API_KEY", "any-vlens-key").args([
        "vlens",
        "template-fields",
        "--request-type",
        "414",
    ]));
    assert_eq!(code, 0, "{err}");
    // The nested questions (relatedQuestions) become `children` in the CLI's output.
    let v = json(&out);
    let employment =
        v["fields"].as_array().unwrap().iter().find(|f| f["key"] == "employmentType").unwrap();
    let nested: Vec<&str> = employment["children"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["key"].as_str())
        .collect();
    assert_eq!(nested, ["employerName", "selfEmployedSince"], "{out}");

    // Sandbox inputs: an invalid key, an unknown template (exit 3).
    let (code, _, err) = output(cli(&sb).env("VLENS_API_KEY", "invalid_key").args([
        "vlens",
        "auth-session",
        "--phone",
        "+201234567890",
    ]));
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("Invalid ApiKey") || err.contains("401"), "{err}");
    let (code, _, err) = output(cli(&sb).env("VLENS_API_KEY", "k").args([
        "vlens",
        "template-fields",
        "--request-type",
        "999",
    ]));
    assert_eq!(code, 3, "{err}");
    sb.stop();
}

#[test]
fn vrplatform_subcommands() {
    let sb = Running::start(BIN, &[]);
    let (code, out, err) = output(cli(&sb).env("VRPLATFORM_API_KEY", "any-provider-key").args([
        "vrplatform",
        "session",
        "--sub",
        "hostaway-user-123",
        "--tenant",
        TENANT,
        "--auto-provision",
    ]));
    assert_eq!(code, 0, "{err}");
    let v = json(&out);
    assert_eq!(v["tenantId"], TENANT);
    let token = v["accessToken"].as_str().unwrap().to_string();
    let (code, out, err) = output(cli(&sb).env("VRP_TOKEN", &token).args([
        "vrplatform",
        "team",
        "--tenant",
        TENANT,
        "--access-token-env",
        "VRP_TOKEN",
    ]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(json(&out)["id"], TENANT);
    // The token of this tenant does not open another one.
    let other = "5f8f94de-2cc0-4ec7-a7f8-f0c7f560e59a";
    let (code, _, err) = output(cli(&sb).env("VRP_TOKEN", &token).args([
        "vrplatform",
        "team",
        "--tenant",
        other,
        "--access-token-env",
        "VRP_TOKEN",
    ]));
    assert_eq!(code, 3, "{err}");
    // With the provider key.
    let (code, out, err) = output(cli(&sb).env("VRPLATFORM_API_KEY", "any-provider-key").args([
        "vrplatform",
        "team",
        "--tenant",
        other,
    ]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(json(&out)["id"], other);
    // 15 minutes of sandbox time later, the token is refused.
    sb.post("/_sandbox/clock", r#"{"advanceSeconds": 900}"#);
    let (code, _, err) = output(cli(&sb).env("VRP_TOKEN", &token).args([
        "vrplatform",
        "team",
        "--tenant",
        TENANT,
        "--access-token-env",
        "VRP_TOKEN",
    ]));
    assert_eq!(code, 3, "{err}");
    sb.stop();
}

/// The documented sandbox inputs: each prints the CLI's line for that failure and exits 3.
#[test]
fn vrplatform_failure_inputs_exit_3_with_their_messages() {
    let sb = Running::start(BIN, &[]);
    let nf = "00000000-0000-4000-8000-000000000404";
    let forbidden = "00000000-0000-4000-8000-000000000403";
    let cases = [
        (
            "invalid_key",
            "u",
            TENANT,
            "vrplatform: invalid provider api key (401, code UNAUTHORIZED): check VRPLATFORM_API_KEY: the key is wrong or unknown; provider said: \"Invalid provider API key, not found\"",
        ),
        (
            "inactive_key",
            "u",
            TENANT,
            "vrplatform: provider api key inactive (401, code UNAUTHORIZED): the provider or its key is inactive: reactivate it or use an active key; provider said: \"Provider API key is inactive\"",
        ),
        (
            "expired_key",
            "u",
            TENANT,
            "vrplatform: provider api key expired (401, code UNAUTHORIZED): issue a new provider API key and update VRPLATFORM_API_KEY; provider said: \"Provider API key expired\"",
        ),
        (
            "key",
            "u",
            nf,
            "vrplatform: tenant not found (404, code NOT_FOUND): check tenantId: no team has this id; provider said: \"Tenant not found\"",
        ),
        (
            "key",
            "u",
            forbidden,
            "vrplatform: provider api key not allowed for tenant (401, code UNAUTHORIZED): use a managed team your provider key can access, or get it granted; provider said: \"Provider API key is not allowed for tenant\"",
        ),
        (
            "key",
            "unknown_u",
            TENANT,
            "vrplatform: unknown embedded user (401, code UNAUTHORIZED): enable --auto-provision or create the user first; provider said: \"Unknown embedded user\"",
        ),
        (
            "key",
            "inactive_u",
            TENANT,
            "vrplatform: embedded user not active (401, code UNAUTHORIZED): the user is inactive, archived or unconfirmed: reactivate or confirm them; provider said: \"Embedded user is not active\"",
        ),
        (
            "key",
            "outsider_u",
            TENANT,
            "vrplatform: embedded user not allowed for tenant (401, code UNAUTHORIZED): add the user to the team, or open a team the user belongs to; provider said: \"Embedded user is not allowed to access tenant\"",
        ),
    ];
    for (key, sub, tenant, line) in cases {
        let (code, out, err) = output(cli(&sb).env("VRPLATFORM_API_KEY", key).args([
            "vrplatform",
            "session",
            "--sub",
            sub,
            "--tenant",
            tenant,
        ]));
        assert_eq!(code, 3, "{sub} {tenant}: {err}");
        assert!(out.is_empty());
        assert_eq!(err.trim(), line);
    }
    // The ninth, a missing key, cannot leave the CLI (exit 2, nothing sent); the sandbox's
    // own answer to it is covered by the library tests.
    let before = sb.requests().len();
    let (code, _, err) =
        output(cli(&sb).args(["vrplatform", "session", "--sub", "u", "--tenant", TENANT]));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("VRPLATFORM_API_KEY"), "{err}");
    assert_eq!(sb.requests().len(), before);
    // The unknown user exists once auto-provisioned.
    let args = ["vrplatform", "session", "--sub", "unknown_later", "--tenant", TENANT];
    let (code, _, _) = output(cli(&sb).env("VRPLATFORM_API_KEY", "k").args(args));
    assert_eq!(code, 3);
    let (code, _, err) =
        output(cli(&sb).env("VRPLATFORM_API_KEY", "k").args(args).arg("--auto-provision"));
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = output(cli(&sb).env("VRPLATFORM_API_KEY", "k").args(args));
    assert_eq!(code, 0, "{err}");
    sb.stop();
}

#[test]
fn bunq_session_resume_and_provision_wait() {
    let sb = Running::start(BIN, &["--bunq-session-interval", "0", "--bunq-provision-reads", "2"]);
    let d = dir("bunq");
    let ctx = d.join("partner.json");
    let (code, out, err) = output(
        cli(&sb)
            .env("BUNQ_API_KEY", "sandbox_partner_cli_key")
            .args(["bunq", "session", "--context"])
            .arg(&ctx),
    );
    assert_eq!(code, 0, "{err}");
    let first = json(&out);
    assert!(first["userId"].as_i64().is_some() && first["sessionId"].as_i64().is_some(), "{first}");
    assert_eq!(count(&sb, "POST", "/installation"), 1);
    // Resumed from the file: same session, no new installation, device or session.
    let (code, out2, err) = output(cli(&sb).args(["bunq", "session", "--context"]).arg(&ctx));
    assert_eq!(code, 0, "{err}");
    assert_eq!(json(&out2), first);
    assert_eq!(count(&sb, "POST", "/installation"), 1);
    assert_eq!(count(&sb, "POST", "/device-server"), 1);
    assert_eq!(count(&sb, "POST", "/session-server"), 1);

    let (code, out, err) =
        output(cli(&sb).args(["bunq", "provision", "--context"]).arg(&ctx).args([
            "--email",
            "new@example.com",
            "--phone",
            "+31612345678",
            "--external-id",
            "4f8f94de-2cc0-4ec7-a7f8-f0c7f560e59a",
            "--wait",
            "60",
        ]));
    assert_eq!(code, 0, "{err}");
    let v = json(&out);
    assert_eq!(v["sub_status"], "PENDING_PROCESS_USER_ONBOARDING", "{v}");
    assert!(v["userId"].as_i64().is_some_and(|id| id != first["userId"].as_i64().unwrap()), "{v}");
    let user_ctx = v["userContext"].as_str().unwrap();
    assert!(std::path::Path::new(user_ctx).exists());
    assert!(!out.contains("provisioned_"), "the token value is never printed: {out}");
    // The provisioned user's context resumes too.
    let (code, out, err) = output(cli(&sb).args(["bunq", "session", "--context", user_ctx]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(json(&out)["userId"], v["userId"]);
    assert_eq!(count(&sb, "POST", "/installation"), 2);
    // Every bunq request the sandbox saw was signed and verified (none got 466/400).
    assert!(
        sb.requests().iter().filter(|r| r["provider"] == "bunq").all(|r| r["status"] == 200),
        "{:?}",
        sb.requests()
    );
    let _ = std::fs::remove_dir_all(&d);
    sb.stop();
}

#[test]
fn the_log_and_the_page_redact_secrets() {
    let sb = Running::start(BIN, &["--bunq-session-interval", "0"]);
    let d = dir("redact");
    let secrets = [
        "vlens-KEY-abcdef-123",
        "vlens-PASS-abcdef-456",
        "vrp-KEY-abcdef-789",
        "sandbox_bunq_KEY_abcdef",
    ];
    let (code, out, err) = output(
        cli(&sb)
            .env("VLENS_API_KEY", secrets[0])
            .env("VLENS_TENANCY_NAME", "acme")
            .env("VLENS_USERNAME", "admin")
            .env("VLENS_PASSWORD", secrets[1])
            .args(["vlens", "invitation", "--phone", "+201234567890"]),
    );
    assert_eq!(code, 0, "{err}");
    let vlens_token = json(&out)["token"].as_str().unwrap().to_string();
    http_get(json(&out)["iframeUrl"].as_str().unwrap());
    let (code, out, err) = output(cli(&sb).env("VRPLATFORM_API_KEY", secrets[2]).args([
        "vrplatform",
        "session",
        "--sub",
        "u",
        "--tenant",
        TENANT,
    ]));
    assert_eq!(code, 0, "{err}");
    let vrp_token = json(&out)["accessToken"].as_str().unwrap().to_string();
    let (code, _, err) = output(
        cli(&sb)
            .env("BUNQ_API_KEY", secrets[3])
            .args(["bunq", "session", "--context"])
            .arg(d.join("c.json")),
    );
    assert_eq!(code, 0, "{err}");
    let stored = std::fs::read_to_string(d.join("c.json")).unwrap();
    let page = sb.get("/_sandbox/requests");
    let home = sb.get("/");
    let log = sb.stop();
    assert!(log.contains("/auth/embed/session") && log.contains("[REDACTED]"), "{log}");
    let mut all: Vec<String> = secrets.iter().map(|s| s.to_string()).collect();
    all.push(vlens_token);
    all.push(vrp_token);
    // The bunq tokens the facade stored.
    let stored: Value = serde_json::from_str(&stored).unwrap();
    for s in collect_strings(&stored) {
        if s.starts_with("installation_") || s.starts_with("session_") {
            all.push(s);
        }
    }
    assert!(all.len() >= 8, "{all:?}");
    for s in &all {
        assert!(!log.contains(s.as_str()), "{s} in the log");
        assert!(!page.contains(s.as_str()), "{s} on the page");
        assert!(!home.contains(s.as_str()), "{s} on /");
    }
    let _ = std::fs::remove_dir_all(&d);
}

fn collect_strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a.iter().flat_map(collect_strings).collect(),
        Value::Object(m) => m.values().flat_map(collect_strings).collect(),
        _ => vec![],
    }
}

#[test]
fn binding_and_signals() {
    // A non-loopback address needs the flag.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_embed-sessions"))
        .args(["sandbox", "--bind", "0.0.0.0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--allow-non-loopback"));
    assert!(out.stdout.is_empty());
    // With it: a warning, and it serves.
    let sb = Running::start(BIN, &["--bind", "0.0.0.0", "--allow-non-loopback"]);
    let (status, _) =
        http_get(&format!("{}/", sb.urls["url"].as_str().unwrap().replace("0.0.0.0", "127.0.0.1")));
    assert_eq!(status, 200);
    let log = sb.stop();
    assert!(log.contains("WARNING"), "{log}");
    // SIGINT ends it with 0 as SIGTERM does (stop() checks the exit code).
    let sb = Running::start(BIN, &[]);
    sb.stop_with("INT");
}
