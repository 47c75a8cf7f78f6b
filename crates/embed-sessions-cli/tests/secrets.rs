//! One test for every secret: it runs each wrapper's success and failure paths with tracing at
//! TRACE, renders `Debug` and `Display` of the public types and errors, runs the CLI at `-vv`,
//! and asserts that none of the secrets used appears anywhere (the CLI may print only the
//! token its command was asked for).

use std::time::Duration;

use assert_cmd::Command;
use embed_sessions::bunq::{BunqClient, FileStore, ProvisionPoll};
use embed_sessions::vlens::{AdminCredentials, VlensClient};
use embed_sessions::vrplatform::{SessionCache, UserProvisioning, VrPlatformClient};
use embed_sessions::{Config, RetryPolicy, Secret};
use embed_sessions_sandbox::{Action, Fault, Target};
use httpmock::MockServer;
use serde_json::json;

const VLENS_KEY: &str = "S3CRET-vlens-api-key";
const VLENS_PASSWORD: &str = "S3CRET-vlens-password";
const VLENS_ACCESS: &str = "S3CRET-vlens-admin-access";
const VLENS_REFRESH: &str = "S3CRET-vlens-admin-refresh";
const VLENS_SESSION: &str = "S3CRET-vlens-session-token";
const VRP_KEY: &str = "S3CRET-vrplatform-provider-key";
const VRP_ACCESS: &str = "S3CRET-vrplatform-access-token";
/// A partner company's API key at the sandbox's bunq.
const PARTNER_KEY: &str = "S3CRET-partner-api-key-0001";
const TENANT: &str = "4f8f94de-2cc0-4ec7-a7f8-f0c7f560e59a";

fn config<P: embed_sessions::Provider>(provider: P, base: &str, key: Option<&str>) -> Config<P> {
    let mut b = Config::builder(provider).base_url(base).retry(RetryPolicy::none());
    if let Some(k) = key {
        b = b.api_key(k);
    }
    b.build().unwrap()
}

fn vlens_mocks(server: &MockServer) {
    server.mock(|when, then| {
        when.path("/api/credentials/Login");
        then.status(200).json_body(json!({"data": {
            "accessToken": VLENS_ACCESS, "expireInSeconds": 30, "refreshToken": VLENS_REFRESH
        }}));
    });
    server.mock(|when, then| {
        when.path("/api/credentials/RefreshToken");
        then.status(401).json_body(json!({"error_code": 401, "error_message": "refresh refused"}));
    });
    server.mock(|when, then| {
        when.path("/api/IdentityUserSession/CreateInvitation");
        then.status(200).json_body(json!({"data": VLENS_SESSION}));
    });
    server.mock(|when, then| {
        when.path("/api/IdentityUserSession/CreateAuthSession")
            .json_body_includes(r#"{"email":"ok@x.co"}"#);
        then.status(200).json_body(json!({"data": VLENS_SESSION, "error_code": 0}));
    });
    server.mock(|when, then| {
        when.path("/api/IdentityUserSession/CreateAuthSession")
            .json_body_includes(r#"{"email":"bad@x.co"}"#);
        then.status(200)
            .json_body(json!({"data": null, "error_code": 5000, "error_message": "failed"}));
    });
    server.mock(|when, then| {
        when.path("/api/IdentityUserSession/CreateAuthSession")
            .json_body_includes(r#"{"email":"trunc@x.co"}"#);
        then.status(200).body(format!(r#"{{"data":"{VLENS_SESSION}","error_co"#));
    });
}

fn vrp_mocks(server: &MockServer) {
    server.mock(|when, then| {
        when.path("/auth/embed/session").json_body_includes(r#"{"sub":"ok"}"#);
        then.status(200).json_body(json!({
            "accessToken": VRP_ACCESS, "expiresAt": "2099-01-01T00:00:00.000Z",
            "tenantId": TENANT, "userId": "11111111-1111-4111-8111-111111111111"
        }));
    });
    server.mock(|when, then| {
        when.path("/auth/embed/session").json_body_includes(r#"{"sub":"unknown"}"#);
        then.status(401)
            .json_body(json!({"code": "UNAUTHORIZED", "message": "Unknown embedded user"}));
    });
    server.mock(|when, then| {
        when.path("/auth/embed/session").json_body_includes(r#"{"sub":"wrong"}"#);
        then.status(200).json_body(json!({"accessToken": VRP_ACCESS, "expiresAt": 5}));
    });
    server.mock(|when, then| {
        when.path(format!("/teams/{TENANT}"));
        then.status(200).json_body(json!({"id": TENANT, "name": "T"}));
    });
}

#[test]
fn no_secret_appears_in_any_output() {
    // Everything at TRACE except the mock servers' own logs (target `httpmock`), which print
    // the requests they receive, credentials included: they play the provider, not us.
    let logs = embed_sessions_testkit::global_logs();

    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let vlens_server = MockServer::start();
    vlens_mocks(&vlens_server);
    let vrp_server = MockServer::start();
    vrp_mocks(&vrp_server);
    let bunq = rt.block_on(embed_sessions_testkit::sandbox::start());
    bunq.set_bunq_provision_reads(1);
    let dir = std::env::temp_dir().join(format!("es-secrets-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut rendered = Vec::<String>::new();

    rt.block_on(async {
        // Vlens: success and failure paths, admin login, refresh failure, re-login.
        let vlens = VlensClient::new(config(
            embed_sessions::vlens::Vlens,
            &vlens_server.base_url(),
            Some(VLENS_KEY),
        ))
        .unwrap()
        .with_admin(AdminCredentials::new("acme", "admin", VLENS_PASSWORD));
        let s = vlens.auth_session().email("ok@x.co").send().await.unwrap();
        rendered.push(format!("{s:?}"));
        for email in ["bad@x.co", "trunc@x.co", "not-an-email"] {
            let e = vlens.auth_session().email(email).send().await.unwrap_err();
            rendered.push(format!("{e}\n{e:?}"));
        }
        for _ in 0..2 {
            let s = vlens.invitation().email("ok@x.co").field(414, "k", "v").send().await.unwrap();
            rendered.push(format!("{s:?}"));
        }
        rendered.push(format!("{vlens:?}\n{:?}", vlens.base_url()));
        rendered.push(format!("{:?}", AdminCredentials::new("acme", "admin", VLENS_PASSWORD)));

        // VRPlatform: success, documented failure, malformed, cache, verification.
        let vrp = VrPlatformClient::new(config(
            embed_sessions::vrplatform::VrPlatform,
            &vrp_server.base_url(),
            Some(VRP_KEY),
        ))
        .unwrap();
        let s = vrp.embed_session().sub("ok").tenant_id(TENANT).send().await.unwrap();
        rendered.push(format!("{s:?}\n{:?}", s.frontend_payload()));
        vrp.verify_session(&s).await.unwrap();
        vrp.team_with_token(TENANT, &Secret::new(VRP_ACCESS)).await.unwrap();
        for sub in ["unknown", "wrong", ""] {
            let e = vrp.embed_session().sub(sub).tenant_id(TENANT).send().await.unwrap_err();
            rendered.push(format!("{e}\n{e:?}"));
        }
        let cache = SessionCache::new(vrp.clone());
        let cached = cache.get("ok", TENANT, UserProvisioning::ExistingUser).await.unwrap();
        rendered.push(format!("{cache:?}\n{cached:?}\n{vrp:?}"));

        // bunq: context creation, signed calls, partner flow, a failure (tampered signature).
        let client =
            BunqClient::without_key(config(embed_sessions::bunq::Bunq, &bunq.urls().bunq, None))
                .unwrap()
                .with_session_interval(Duration::from_millis(10));
        let partner = client
            .context()
            .api_key(PARTNER_KEY)
            .store(FileStore::new(dir.join("partner.json")))
            .send()
            .await
            .unwrap();
        let session = partner.session().await.unwrap();
        rendered
            .push(format!("{partner:?}\n{session:?}\n{client:?}\n{:?}", partner.snapshot().await));
        let request = embed_sessions::bunq::raw::types::PartnerUserProvisionCreate {
            director_relation_provision_id: None,
            email: "new@example.com".into(),
            external_uuid: TENANT.parse().unwrap(),
            phone_number: "+31612345678".into(),
            products: vec!["USER_VERIFIED".into()],
            user_verified_type:
                embed_sessions::bunq::raw::types::UserVerifiedType::PartnerUserPerson,
        };
        let provision = partner.create_user_provision(request).await.unwrap();
        let poll = ProvisionPoll::default().with_interval(Duration::from_millis(5));
        let ready = partner.wait_for_user_provision(provision.id(), poll).await.unwrap();
        rendered.push(format!("{provision:?}\n{ready:?}"));
        let user = client
            .open_provisioned_user(&ready, FileStore::new(dir.join("user.json")))
            .await
            .unwrap();
        rendered.push(format!("{user:?}\n{:?}", user.notification_filters_url().await.unwrap()));
        let fault = bunq.add_fault(Target::Bunq, Fault::action(Action::BadSignature), None);
        let e = user.notification_filters_url().await.unwrap_err();
        rendered.push(format!("{e}\n{e:?}"));
        bunq.remove_fault(fault);
    });

    // The CLI, at -vv, success and failure paths.
    let partner_file = dir.join("cli-partner.json");
    // (arguments, environment, the one secret the command may print)
    type Run<'a> = (Vec<String>, Vec<(&'a str, String)>, Option<&'a str>);
    let runs: Vec<Run> = vec![
        (
            vec!["vlens", "auth-session", "--email", "ok@x.co"]
                .into_iter()
                .map(String::from)
                .collect(),
            vec![("VLENS_API_KEY", VLENS_KEY.into()), ("VLENS_BASE_URL", vlens_server.base_url())],
            Some(VLENS_SESSION),
        ),
        (
            vec!["vlens", "auth-session", "--email", "bad@x.co"]
                .into_iter()
                .map(String::from)
                .collect(),
            vec![("VLENS_API_KEY", VLENS_KEY.into()), ("VLENS_BASE_URL", vlens_server.base_url())],
            None,
        ),
        (
            vec!["vlens", "invitation", "--email", "ok@x.co"]
                .into_iter()
                .map(String::from)
                .collect(),
            vec![
                ("VLENS_API_KEY", VLENS_KEY.into()),
                ("VLENS_BASE_URL", vlens_server.base_url()),
                ("VLENS_TENANCY_NAME", "acme".into()),
                ("VLENS_USERNAME", "admin".into()),
                ("VLENS_PASSWORD", VLENS_PASSWORD.into()),
            ],
            Some(VLENS_SESSION),
        ),
        (
            vec!["vrplatform", "session", "--sub", "ok", "--tenant", TENANT]
                .into_iter()
                .map(String::from)
                .collect(),
            vec![
                ("VRPLATFORM_API_KEY", VRP_KEY.into()),
                ("VRPLATFORM_BASE_URL", vrp_server.base_url()),
            ],
            Some(VRP_ACCESS),
        ),
        (
            vec!["vrplatform", "session", "--sub", "unknown", "--tenant", TENANT]
                .into_iter()
                .map(String::from)
                .collect(),
            vec![
                ("VRPLATFORM_API_KEY", VRP_KEY.into()),
                ("VRPLATFORM_BASE_URL", vrp_server.base_url()),
            ],
            None,
        ),
        (
            vec!["vrplatform", "team", "--tenant", TENANT, "--access-token-env", "TOK"]
                .into_iter()
                .map(String::from)
                .collect(),
            vec![("TOK", VRP_ACCESS.into()), ("VRPLATFORM_BASE_URL", vrp_server.base_url())],
            None,
        ),
        (
            vec![
                "bunq".to_string(),
                "session".into(),
                "--context".into(),
                partner_file.display().to_string(),
            ],
            vec![("BUNQ_API_KEY", PARTNER_KEY.into()), ("BUNQ_BASE_URL", bunq.urls().bunq.clone())],
            None,
        ),
    ];
    let mut cli_outputs = Vec::new();
    for (args, env, allowed) in &runs {
        let mut cmd = Command::cargo_bin("embed-sessions").unwrap();
        for var in ["VLENS_API_KEY", "VRPLATFORM_API_KEY", "BUNQ_API_KEY"] {
            cmd.env_remove(var);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.arg("-vv").args(args).output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        cli_outputs.push((args.join(" "), stdout, stderr, *allowed));
    }

    // Every secret used, the bunq ones read back from the sandbox and the context files.
    let mut secrets: Vec<String> = [
        VLENS_KEY,
        VLENS_PASSWORD,
        VLENS_ACCESS,
        VLENS_REFRESH,
        VLENS_SESSION,
        VRP_KEY,
        VRP_ACCESS,
        PARTNER_KEY,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    secrets.extend(bunq.secrets());
    for file in ["partner.json", "user.json", "cli-partner.json"] {
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let key =
            v["installation"]["private_key"].as_str().expect("the file holds the private key");
        // A distinctive line of the PEM body.
        secrets.push(key.lines().nth(3).unwrap().to_string());
        secrets.push(v["api_key"].as_str().unwrap().to_string());
        secrets.push(v["installation"]["token"].as_str().unwrap().to_string());
        secrets.push(v["session"]["token"].as_str().unwrap().to_string());
    }
    assert!(secrets.len() > 12, "{}", secrets.len());

    let logs = logs.contents();
    assert!(logs.contains("embed_sessions.request"), "TRACE output was captured");
    for secret in &secrets {
        if let Some(p) = logs.find(secret.as_str()) {
            let context = &logs[p.saturating_sub(200)..p];
            panic!("a secret is in the TRACE output, after: {context}");
        }
        for r in &rendered {
            assert!(!r.contains(secret.as_str()), "a secret is in a rendering: {r}");
        }
        for (cmd, stdout, stderr, allowed) in &cli_outputs {
            assert!(!stderr.contains(secret.as_str()), "`{cmd}` leaked a secret on stderr");
            if *allowed != Some(secret.as_str()) {
                assert!(!stdout.contains(secret.as_str()), "`{cmd}` leaked a secret on stdout");
            }
        }
    }
    // The CLI runs did what they should (so the check above saw real output).
    let ok: Vec<_> = cli_outputs
        .iter()
        .filter(|(_, out, _, _)| !out.is_empty())
        .map(|(c, ..)| c.clone())
        .collect();
    assert_eq!(ok.len(), 5, "{ok:?}");
    assert!(cli_outputs[0].1.contains(VLENS_SESSION), "the requested token is printed");
    let _ = std::fs::remove_dir_all(&dir);
}
