//! The built `embed-sessions` binary against httpmock servers: outputs, exit codes, error
//! lines, environment handling, and that secrets stay out of the output.

use assert_cmd::Command;
use httpmock::MockServer;
use serde_json::{Value, json};

const VLENS_KEY: &str = "cli-vlens-key-SECRET-77";
const VRP_KEY: &str = "cli-vrp-key-SECRET-88";
const TENANT: &str = "4f8f94de-2cc0-4ec7-a7f8-f0c7f560e59a";

/// The binary with a clean environment (no provider variables leak in from the caller).
fn cli() -> Command {
    let mut cmd = Command::cargo_bin("embed-sessions").unwrap();
    for var in [
        "VLENS_API_KEY",
        "VLENS_BASE_URL",
        "VLENS_TENANCY_NAME",
        "VLENS_USERNAME",
        "VLENS_PASSWORD",
        "VRPLATFORM_API_KEY",
        "VRPLATFORM_BASE_URL",
        "BUNQ_API_KEY",
        "BUNQ_BASE_URL",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        assert_eq!(self.stdout.lines().count(), 1, "one JSON object on stdout: {}", self.stdout);
        serde_json::from_str(&self.stdout).unwrap()
    }
}

fn run(cmd: &mut Command) -> Run {
    let out = cmd.output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn vrp_session_body() -> Value {
    json!({
        "accessToken": "vrp-access-token-1", "expiresAt": "2026-04-01T12:00:00.000Z",
        "tenantId": TENANT, "userId": "11111111-1111-4111-8111-111111111111"
    })
}

#[test]
fn vlens_auth_session_prints_token_and_iframe_url() {
    let server = MockServer::start();
    let m = server.mock(|when, then| {
        when.method("POST")
            .path("/api/IdentityUserSession/CreateAuthSession")
            .header("ApiKey", VLENS_KEY)
            .json_body(json!({
                "phoneNumber": "+201234567890",
                "sessionPermissions": {"allowedContractTypeIds": [414, 415], "minimalSignatureFlow": true}
            }));
        then.status(200).json_body(json!({"data": "tok/1", "error_code": 0}));
    });
    let r = run(cli()
        .env("VLENS_API_KEY", VLENS_KEY)
        .env("VLENS_BASE_URL", server.base_url())
        .args(["vlens", "auth-session", "--phone", "+201234567890"])
        .args(["--contract-type", "414", "--contract-type", "415", "--minimal-signature-flow"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    m.assert();
    assert_eq!(
        r.json(),
        json!({"token": "tok/1", "iframeUrl": "https://app.vlenseg.com/session?token=tok%2F1"})
    );
    assert!(!r.stdout.contains(VLENS_KEY) && !r.stderr.contains(VLENS_KEY));
}

#[test]
fn vlens_invitation_logs_in_and_sends_fields() {
    let server = MockServer::start();
    let login = server.mock(|when, then| {
        when.path("/api/credentials/Login").header("TenancyName", "acme");
        then.status(200)
            .json_body(json!({"data": {"accessToken": "adm-SECRET", "expireInSeconds": 86400}}));
    });
    let invite = server.mock(|when, then| {
        when.path("/api/IdentityUserSession/CreateInvitation")
            .header("Authorization", "Bearer adm-SECRET")
            .json_body(json!({"SessionInput": {
                "email": "user@example.com",
                "sessionPermissions": {"allowedContractTypeIds": [414]},
                "RequestFieldsValues": {"414": {"fullName": "Ahmed Mohamed", "note": "a=b"}}
            }}));
        then.status(200).json_body(json!({"data": "inv-token"}));
    });
    let r = run(cli()
        .env("VLENS_API_KEY", VLENS_KEY)
        .env("VLENS_TENANCY_NAME", "acme")
        .env("VLENS_USERNAME", "admin")
        .env("VLENS_PASSWORD", "pw-SECRET-3")
        .args([
            "--base-url",
            &server.base_url(),
            "vlens",
            "invitation",
            "--email",
            "user@example.com",
        ])
        .args([
            "--contract-type",
            "414",
            "--field",
            "414.fullName=Ahmed Mohamed",
            "--field",
            "414.note=a=b",
        ]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    login.assert();
    invite.assert();
    assert_eq!(r.json()["token"], "inv-token");
    for secret in [VLENS_KEY, "adm-SECRET", "pw-SECRET-3"] {
        assert!(!r.stdout.contains(secret) && !r.stderr.contains(secret), "{secret}");
    }
}

#[test]
fn vlens_template_fields_prints_the_tree() {
    let server = MockServer::start();
    server.mock(|when, then| {
        when.path("/api/BusinessRequest/GetBusinessRequestTypeTemplateFields")
            .query_param("requestTypeId", "414");
        then.status(200).json_body(json!({"data": {"id": 414, "name": "Loan", "requestsFields": [
            {"key": "a", "relatedQuestions": [{"key": "b"}]}
        ]}}));
    });
    let r = run(cli()
        .env("VLENS_API_KEY", VLENS_KEY)
        .env("VLENS_BASE_URL", server.base_url())
        .args(["vlens", "template-fields", "--request-type", "414"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = r.json();
    assert_eq!(v["id"], 414);
    assert_eq!(v["fields"][0]["children"][0]["key"], "b");
}

#[test]
fn vlens_envelope_error_exits_3_and_5xx_exits_4() {
    let server = MockServer::start();
    server.mock(|when, then| {
        when.path("/api/IdentityUserSession/CreateAuthSession")
            .json_body_includes(r#"{"email":"a@b.co"}"#);
        then.status(200).json_body(
            json!({"data": null, "error_code": 4001, "error_message": "Bundle expired"}),
        );
    });
    server.mock(|when, then| {
        when.path("/api/IdentityUserSession/CreateAuthSession")
            .json_body_includes(r#"{"email":"c@d.co"}"#);
        then.status(503).body("<html>busy</html>");
    });
    let base = server.base_url();
    let r = run(cli().env("VLENS_API_KEY", VLENS_KEY).args([
        "--base-url",
        &base,
        "vlens",
        "auth-session",
        "--email",
        "a@b.co",
    ]));
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stdout.is_empty());
    assert_eq!(
        r.stderr.trim(),
        "vlens: subscription problem (200, code 4001): check the tenant's Vlens bundle or subscription; provider said: \"Bundle expired\""
    );
    let r = run(cli().env("VLENS_API_KEY", VLENS_KEY).args([
        "--base-url",
        &base,
        "--retries",
        "0",
        "vlens",
        "auth-session",
        "--email",
        "c@d.co",
    ]));
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(r.stderr.contains("HTTP 503"), "{}", r.stderr);
}

#[test]
fn vrplatform_session_prints_exactly_the_frontend_payload() {
    let server = MockServer::start();
    let m = server.mock(|when, then| {
        when.method("POST")
            .path("/auth/embed/session")
            .header("x-api-key", VRP_KEY)
            .query_param("autoProvision", "true")
            .json_body(json!({"sub": "hostaway-user-123", "tenantId": TENANT}));
        then.status(200).json_body(vrp_session_body());
    });
    let r = run(cli()
        .env("VRPLATFORM_API_KEY", VRP_KEY)
        .env("VRPLATFORM_BASE_URL", server.base_url())
        .args([
            "vrplatform",
            "session",
            "--sub",
            "hostaway-user-123",
            "--tenant",
            TENANT,
            "--auto-provision",
        ]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    m.assert();
    assert_eq!(
        r.json(),
        json!({"accessToken": "vrp-access-token-1", "expiresAt": "2026-04-01T12:00:00.000Z", "tenantId": TENANT})
    );
    assert!(!r.stdout.contains(VRP_KEY) && !r.stderr.contains(VRP_KEY));
}

#[test]
fn vrplatform_team_with_key_or_with_a_token_from_the_environment() {
    let server = MockServer::start();
    let by_key = server.mock(|when, then| {
        when.method("GET").path(format!("/teams/{TENANT}")).header("x-api-key", VRP_KEY);
        then.status(200).json_body(json!({"id": TENANT, "name": "Key team"}));
    });
    let by_token = server.mock(|when, then| {
        when.method("GET")
            .path(format!("/teams/{TENANT}"))
            .header("Authorization", "Bearer iframe-token-SECRET")
            .header_missing("x-api-key");
        then.status(200).json_body(json!({"id": TENANT, "name": "Token team", "status": "active"}));
    });
    let base = server.base_url();
    let r = run(cli().env("VRPLATFORM_API_KEY", VRP_KEY).args([
        "--base-url",
        &base,
        "vrplatform",
        "team",
        "--tenant",
        TENANT,
    ]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json()["name"], "Key team");
    let r = run(cli().env("MY_TOKEN", "iframe-token-SECRET").args([
        "--base-url",
        &base,
        "vrplatform",
        "team",
        "--tenant",
        TENANT,
        "--access-token-env",
        "MY_TOKEN",
    ]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json()["name"], "Token team");
    assert!(!r.stdout.contains("iframe-token-SECRET"));
    by_key.assert();
    by_token.assert();
    let r = run(cli().args([
        "--base-url",
        &base,
        "vrplatform",
        "team",
        "--tenant",
        TENANT,
        "--access-token-env",
        "NOPE_UNSET",
    ]));
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("NOPE_UNSET"), "{}", r.stderr);
}

/// Every documented VRPlatform failure prints its own line with the reason and the hint.
#[test]
fn vrplatform_documented_failures_have_their_own_lines() {
    let cases = [
        (401, "Missing provider api key"),
        (401, "Invalid provider API key, not found"),
        (401, "Provider API key is inactive"),
        (401, "Provider API key expired"),
        (404, "Tenant not found"),
        (401, "Provider API key is not allowed for tenant"),
        (401, "Unknown embedded user"),
        (401, "Embedded user is not active"),
        (401, "Embedded user is not allowed to access tenant"),
    ];
    let server = MockServer::start();
    let mut lines = Vec::new();
    for (i, (status, message)) in cases.iter().enumerate() {
        let sub = format!("user-{i}");
        let mut m = server.mock(|when, then| {
            when.path("/auth/embed/session").json_body_includes(format!(r#"{{"sub":"{sub}"}}"#));
            then.status(*status).json_body(json!({"code": "UNAUTHORIZED", "message": message}));
        });
        let r = run(cli().env("VRPLATFORM_API_KEY", VRP_KEY).args([
            "--base-url",
            &server.base_url(),
            "vrplatform",
            "session",
            "--sub",
            &sub,
            "--tenant",
            TENANT,
        ]));
        assert_eq!(r.code, 3, "{message}: {}", r.stderr);
        assert!(r.stdout.is_empty());
        let line = r.stderr.trim().to_string();
        assert_eq!(line.lines().count(), 1, "{line}");
        assert!(line.starts_with("vrplatform: "), "{line}");
        assert!(line.contains(&format!("({status}, code UNAUTHORIZED)")), "{line}");
        // The provider's words, exactly as the docs print them (operators grep for them).
        assert!(line.ends_with(&format!("provider said: \"{message}\"")), "{line}");
        assert!(!line.contains(VRP_KEY));
        lines.push(line);
        m.delete();
    }
    assert_eq!(
        lines[6],
        "vrplatform: unknown embedded user (401, code UNAUTHORIZED): enable --auto-provision or create the user first; provider said: \"Unknown embedded user\""
    );
    assert!(
        lines[8].contains("Embedded user is not allowed to access tenant"),
        "the documented message, not a paraphrase: {}",
        lines[8]
    );
    let mut unique = lines.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 9, "each failure has its own line: {lines:#?}");
}

#[test]
fn usage_errors_exit_2_and_send_nothing() {
    let server = MockServer::start();
    let any = server.mock(|when, then| {
        when.any_request();
        then.status(200).json_body(vrp_session_body());
    });
    let base = server.base_url();
    // A missing variable names it.
    let r = run(cli().args([
        "--base-url",
        &base,
        "vrplatform",
        "session",
        "--sub",
        "u",
        "--tenant",
        TENANT,
    ]));
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("VRPLATFORM_API_KEY"), "{}", r.stderr);
    let r = run(cli().args(["--base-url", &base, "vlens", "auth-session", "--email", "a@b.co"]));
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("VLENS_API_KEY"), "{}", r.stderr);
    let r = run(cli().env("VLENS_API_KEY", VLENS_KEY).args([
        "--base-url",
        &base,
        "vlens",
        "invitation",
        "--email",
        "a@b.co",
    ]));
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("VLENS_TENANCY_NAME"), "{}", r.stderr);
    // An invalid --tenant.
    let r = run(cli().env("VRPLATFORM_API_KEY", VRP_KEY).args([
        "--base-url",
        &base,
        "vrplatform",
        "session",
        "--sub",
        "u",
        "--tenant",
        "not-a-uuid",
    ]));
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("tenantId"), "{}", r.stderr);
    // Invalid input, both/neither user flags, a non-https base URL.
    for args in [
        vec!["vlens", "auth-session", "--phone", "12345"],
        vec!["vlens", "auth-session", "--phone", "+201234567890", "--email", "a@b.co"],
        vec!["vlens", "auth-session"],
        vec!["vlens", "invitation", "--email", "a@b.co", "--field", "nodot"],
    ] {
        let r = run(cli().env("VLENS_API_KEY", VLENS_KEY).args(["--base-url", &base]).args(&args));
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(r.stdout.is_empty());
    }
    let r = run(cli().env("VLENS_API_KEY", VLENS_KEY).args([
        "--base-url",
        "http://api.example.com",
        "vlens",
        "auth-session",
        "--email",
        "a@b.co",
    ]));
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("https"), "{}", r.stderr);
    assert_eq!(any.calls(), 0);
    // Secrets are not accepted as flags.
    let r = run(cli().args(["vlens", "auth-session", "--email", "a@b.co", "--api-key", "x"]));
    assert_eq!(r.code, 2);
}

#[test]
fn transport_failures_exit_4() {
    // Nothing listens on this port.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let r = run(cli().env("VRPLATFORM_API_KEY", VRP_KEY).args([
        "--base-url",
        &base,
        "--retries",
        "1",
        "--timeout",
        "2",
        "vrplatform",
        "session",
        "--sub",
        "u",
        "--tenant",
        TENANT,
    ]));
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(r.stderr.contains("connection failed"), "{}", r.stderr);
    assert!(r.stderr.contains("after 2 attempts"), "{}", r.stderr);
}

#[test]
fn every_subcommand_has_help_with_an_example() {
    for args in [
        vec!["--help"],
        vec!["vlens", "auth-session", "--help"],
        vec!["vlens", "invitation", "--help"],
        vec!["vlens", "template-fields", "--help"],
        vec!["vrplatform", "session", "--help"],
        vec!["vrplatform", "team", "--help"],
        vec!["bunq", "session", "--help"],
        vec!["bunq", "provision", "--help"],
    ] {
        let r = run(cli().args(&args));
        assert_eq!(r.code, 0, "{args:?}");
        assert!(r.stdout.contains("Example"), "{args:?}: {}", r.stdout);
    }
}

#[test]
fn verbose_output_never_shows_the_key() {
    let server = MockServer::start();
    server.mock(|when, then| {
        when.path("/auth/embed/session");
        then.status(200).json_body(vrp_session_body());
    });
    let r = run(cli().env("VRPLATFORM_API_KEY", VRP_KEY).args([
        "-vv",
        "--base-url",
        &server.base_url(),
        "vrplatform",
        "session",
        "--sub",
        "u",
        "--tenant",
        TENANT,
    ]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("embed_sessions.request"), "traces are on: {}", r.stderr);
    assert!(!r.stderr.contains(VRP_KEY) && !r.stdout.contains(VRP_KEY));
    assert!(!r.stderr.contains("vrp-access-token-1"), "the token goes to stdout only");
}
