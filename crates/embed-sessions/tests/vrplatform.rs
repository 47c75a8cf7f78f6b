//! The VRPlatform wrappers against httpmock: wire format, the nine documented failures,
//! malformed replies, the session cache, the frontend payload, input validation and redaction.
#![cfg(feature = "vrplatform")]

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use embed_sessions::vrplatform::{
    SessionCache, UserProvisioning, VrPlatform, VrPlatformClient, VrPlatformReason,
    VrPlatformSession, raw,
};
use embed_sessions::{Config, Error, ErrorKind, ProviderReason, RetryPolicy};
use httpmock::MockServer;
use raw::mock::MockServerExt;
use raw::types;
use serde_json::{Value, json};

const API_KEY: &str = "vrp-provider-key-SECRET-7f3a91";
const TOKEN: &str = "vrp-access-token-SECRET-c0ffee42";
const TENANT: &str = "4f8f94de-2cc0-4ec7-a7f8-f0c7f560e59a";
const OTHER_TENANT: &str = "0b7c1a52-3f9e-4d61-9a8b-2c4d6e8f0a1b";
const USER: &str = "11111111-1111-4111-8111-111111111111";

fn config(server: &MockServer) -> Config<VrPlatform> {
    // Every test's traces are captured, so the redaction test sees a full run's output.
    embed_sessions_testkit::global_logs();
    Config::builder(VrPlatform)
        .api_key(API_KEY)
        .base_url(server.base_url())
        .retry(RetryPolicy::none())
        .build()
        .unwrap()
}

fn client(server: &MockServer) -> VrPlatformClient {
    VrPlatformClient::new(config(server)).unwrap()
}

fn tenant() -> uuid::Uuid {
    uuid::Uuid::parse_str(TENANT).unwrap()
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A 200 body like the docs' example, with `token` and `expiresAt` = now + `life`.
fn session_body(token: &str, life: Duration) -> types::EmbedSession {
    let expires = Utc::now() + chrono::Duration::from_std(life).unwrap();
    types::EmbedSession {
        access_token: token.into(),
        expires_at: rfc3339(expires),
        tenant_id: tenant(),
        user_id: USER.parse().unwrap(),
    }
}

const FIFTEEN_MINUTES: Duration = Duration::from_secs(15 * 60);

fn error_body(code: &str, message: &str) -> types::ErrorBody {
    types::ErrorBody {
        code: Some(code.into()),
        message: message.into(),
        issues: None,
        context: None,
    }
}

fn assert_no_secret(what: &str, text: &str) {
    assert!(!text.contains(API_KEY), "{what} leaks the API key: {text}");
    assert!(!text.contains(TOKEN), "{what} leaks the access token: {text}");
}

fn vrp_reason(e: &Error) -> Option<VrPlatformReason> {
    e.reason_as::<VrPlatformReason>().copied()
}

// ---------------------------------------------------------------------------------------------
// Wire format

#[tokio::test]
async fn embed_session_wire_format_without_auto_provision() {
    let server = MockServer::start_async().await;
    let expected: types::EmbedSessionRequest =
        serde_json::from_value(json!({"sub": "hostaway-user-123", "tenantId": TENANT})).unwrap();
    let body = session_body(TOKEN, FIFTEEN_MINUTES);
    let mock = server.create_embed_session(|when, then| {
        when.x_api_key(API_KEY)
            .auto_provision(None)
            .body(&expected)
            .into_inner()
            .header("x-api-key", API_KEY)
            .header("content-type", "application/json")
            .header_missing("authorization")
            .header_missing("api-version")
            .query_param_missing("autoProvision")
            .is_true(|req| req.uri().query().is_none())
            .json_body(json!({"sub": "hostaway-user-123", "tenantId": TENANT}))
            .body(format!(r#"{{"sub":"hostaway-user-123","tenantId":"{TENANT}"}}"#));
        then.ok(&body);
    });

    let session = client(&server)
        .embed_session()
        .sub("hostaway-user-123")
        .tenant_id(TENANT)
        .send()
        .await
        .expect("session issued");
    mock.assert_calls_async(1).await;
    assert_eq!(session.token().expose(), TOKEN);
    assert_eq!(session.tenant_id(), tenant());
    assert_eq!(session.user_id().to_string(), USER);
    assert_eq!(rfc3339(session.expires_at()), body.expires_at);
}

#[tokio::test]
async fn auto_provision_is_sent_only_when_asked() {
    let server = MockServer::start_async().await;
    let with = server.create_embed_session(|when, then| {
        when.x_api_key(API_KEY)
            .auto_provision(true)
            .into_inner()
            .query_param("autoProvision", "true")
            .json_body(json!({"sub": "u-1", "tenantId": TENANT}));
        then.ok(&session_body(TOKEN, FIFTEEN_MINUTES));
    });
    let without = server.create_embed_session(|when, then| {
        when.x_api_key(API_KEY).auto_provision(None);
        then.ok(&session_body(TOKEN, FIFTEEN_MINUTES));
    });
    let c = client(&server);

    c.embed_session().sub("u-1").tenant_id(TENANT).auto_provision(true).send().await.unwrap();
    with.assert_calls_async(1).await;
    without.assert_calls_async(0).await;

    c.embed_session().sub("u-1").tenant_id(TENANT).auto_provision(false).send().await.unwrap();
    c.embed_session().sub("u-1").tenant_id(TENANT).send().await.unwrap();
    with.assert_calls_async(1).await;
    without.assert_calls_async(2).await;
}

#[tokio::test]
async fn verify_session_uses_the_bearer_token_and_team_uses_the_api_key() {
    let server = MockServer::start_async().await;
    let issue = server.create_embed_session(|when, then| {
        when.x_api_key(API_KEY);
        then.ok(&session_body(TOKEN, FIFTEEN_MINUTES));
    });
    let team_json = json!({"id": TENANT, "name": "Acme Rentals", "status": "active", "type": "propertyManager"});
    let bearer = server.get_team(|when, then| {
        when.id(&tenant())
            .authorization(format!("Bearer {TOKEN}").as_str())
            .x_api_key(None)
            .into_inner()
            .path(format!("/teams/{TENANT}"))
            .header("authorization", format!("Bearer {TOKEN}"))
            .header_missing("x-api-key");
        then.into_inner().status(200).json_body(team_json.clone());
    });
    let keyed = server.get_team(|when, then| {
        when.id(&tenant())
            .x_api_key(API_KEY)
            .authorization(None)
            .into_inner()
            .header("x-api-key", API_KEY)
            .header_missing("authorization");
        then.into_inner().status(200).json_body(team_json.clone());
    });
    let c = client(&server);

    let session = c.embed_session().sub("u-1").tenant_id(TENANT).send().await.unwrap();
    let team = c.verify_session(&session).await.expect("bearer token accepted");
    assert_eq!(team.id, tenant());
    assert_eq!(team.name.as_deref(), Some("Acme Rentals"));
    bearer.assert_calls_async(1).await;
    keyed.assert_calls_async(0).await;

    let team = c.team(TENANT).await.expect("provider key accepted");
    assert_eq!(team.name.as_deref(), Some("Acme Rentals"));
    keyed.assert_calls_async(1).await;
    bearer.assert_calls_async(1).await;
    issue.assert_calls_async(1).await;
}

#[tokio::test]
async fn a_refused_bearer_token_is_a_typed_error() {
    let server = MockServer::start_async().await;
    server.create_embed_session(|when, then| {
        when.x_api_key(API_KEY);
        then.ok(&session_body(TOKEN, FIFTEEN_MINUTES));
    });
    server.get_team(|when, then| {
        when.authorization(format!("Bearer {TOKEN}").as_str());
        then.unauthorized(&error_body("UNAUTHORIZED", "Token expired"));
    });
    let c = client(&server);
    let session = c.embed_session().sub("u-1").tenant_id(TENANT).send().await.unwrap();
    let e = c.verify_session(&session).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Api);
    assert_eq!(e.status(), Some(401));
    assert_eq!(e.operation(), Some("get_team"));
    assert_eq!(vrp_reason(&e), Some(VrPlatformReason::Other));
    assert_eq!(e.api_error().unwrap().message.as_deref(), Some("Token expired"));
    assert_no_secret("error", &format!("{e} {e:?}"));
}

// ---------------------------------------------------------------------------------------------
// Failures

/// The guide's failure table: status, message, reason, a word of the hint.
const DOCUMENTED: &[(u16, &str, VrPlatformReason, &str)] = &[
    (401, "Missing provider api key", VrPlatformReason::MissingApiKey, "VRPLATFORM_API_KEY"),
    (401, "Invalid provider API key, not found", VrPlatformReason::InvalidApiKey, "wrong"),
    (401, "Provider API key is inactive", VrPlatformReason::ApiKeyInactive, "inactive"),
    (401, "Provider API key expired", VrPlatformReason::ApiKeyExpired, "new provider API key"),
    (404, "Tenant not found", VrPlatformReason::TenantNotFound, "tenantId"),
    (401, "Provider API key is not allowed for tenant", VrPlatformReason::TenantNotAllowed, "team"),
    (401, "Unknown embedded user", VrPlatformReason::UnknownUser, "autoProvision"),
    (401, "Embedded user is not active", VrPlatformReason::UserInactive, "reactivate"),
    (
        401,
        "Embedded user is not allowed to access tenant",
        VrPlatformReason::UserNotAllowed,
        "add the user",
    ),
];

#[tokio::test]
async fn each_documented_failure_is_its_own_reason_with_a_hint() {
    let server = MockServer::start_async().await;
    let c = client(&server);
    let mut seen = Vec::new();
    for &(status, message, reason, hint_word) in DOCUMENTED {
        for variant in [message.to_string(), format!("{}. ", message.to_uppercase())] {
            let body = error_body("E_CODE", &variant);
            let mock = server.create_embed_session(|when, then| {
                when.x_api_key(API_KEY);
                if status == 404 {
                    then.not_found(&body);
                } else {
                    then.unauthorized(&body);
                }
            });
            let e = c.embed_session().sub("u-1").tenant_id(TENANT).send().await.unwrap_err();
            mock.assert_calls_async(1).await;
            mock.delete_async().await;

            assert_eq!(e.kind(), ErrorKind::Api, "{variant}");
            assert_eq!(e.status(), Some(status), "{variant}");
            assert_eq!(vrp_reason(&e), Some(reason), "{variant}");
            let hint = e.hint().expect("a hint");
            assert!(hint.contains(hint_word), "{reason:?}: {hint}");
            let api = e.api_error().unwrap();
            assert_eq!(api.code.as_deref(), Some("E_CODE"));
            assert_eq!(api.message.as_deref(), Some(variant.as_str()));
            let shown = e.to_string();
            assert!(
                shown.starts_with(&format!(
                    "vrplatform create_embed_session: {reason} (HTTP {status}, code E_CODE)"
                )),
                "{shown}"
            );
            assert!(shown.contains(&format!("; {hint}; ")), "{shown}");
            assert!(shown.ends_with(&format!("; provider said: \"{variant}\"")), "{shown}");
            let display = reason.to_string();
            assert_eq!(display, display.to_lowercase());
            assert!(display.len() < 45, "{display}");
            assert!(!e.is_retryable());
        }
        seen.push(reason);
    }
    seen.dedup();
    assert_eq!(seen.len(), 9, "nine distinct reasons");
}

#[test]
fn the_cli_line_reads_well() {
    let r = VrPlatformReason::from_response(401, None, Some("Unknown embedded user"));
    assert_eq!(
        format!("vrplatform: {r} (401): {}", r.hint().unwrap()),
        "vrplatform: unknown embedded user (401): enable autoProvision or create the user first"
    );
}

#[tokio::test]
async fn unlisted_messages_and_statuses_keep_status_code_and_message() {
    let server = MockServer::start_async().await;
    let c = client(&server);
    let cases: &[(u16, Value)] = &[
        (401, json!({"code": "UNAUTHORIZED", "message": "Something new went wrong"})),
        (
            404,
            json!({"code": "NOT_FOUND", "message": "App 'x' not found", "issues": [], "context": null}),
        ),
        (500, json!({"code": "INTERNAL", "message": "Internal server error"})),
        (
            403,
            json!({"code": "FORBIDDEN", "message": "Managed team context required, set x-team-id to the target team"}),
        ),
        (
            400,
            json!({"code": "BAD_REQUEST", "message": "Invalid body", "issues": [{"message": "sub: required"}], "context": {"field": "sub"}}),
        ),
    ];
    for (status, body) in cases {
        let mock = server.create_embed_session(|when, then| {
            when.x_api_key(API_KEY);
            then.into_inner().status(*status).json_body(body.clone());
        });
        let e = c.embed_session().sub("u-1").tenant_id(TENANT).send().await.unwrap_err();
        mock.assert_calls_async(1).await;
        mock.delete_async().await;
        assert_eq!(e.kind(), ErrorKind::Api, "{status}: {e}");
        assert_eq!(e.status(), Some(*status));
        assert_eq!(vrp_reason(&e), Some(VrPlatformReason::Other), "{status}");
        assert_eq!(e.hint(), None);
        let api = e.api_error().unwrap();
        assert_eq!(api.code.as_deref(), body["code"].as_str());
        assert_eq!(api.message.as_deref(), body["message"].as_str());
        let shown = e.to_string();
        assert!(shown.contains(&format!("HTTP {status}")), "{shown}");
        assert!(shown.contains(body["message"].as_str().unwrap()), "{shown}");
        if *status == 400 {
            assert_eq!(
                api.details,
                Some(
                    json!({"issues": [{"message": "sub: required"}], "context": {"field": "sub"}})
                )
            );
        } else {
            assert_eq!(api.details, None);
        }
    }
}

#[tokio::test]
async fn malformed_replies_are_typed_errors_with_their_status() {
    let server = MockServer::start_async().await;
    let c = client(&server);
    let html = "<html><body><h1>502 Bad Gateway</h1></body></html>";
    let cases: &[(u16, &str, &str)] = &[
        (401, "text/html", html),
        (404, "text/html", html),
        (500, "text/html", html),
        (403, "text/html", "<html>Access denied by the firewall</html>"),
        (401, "application/json", r#"{"code":"UNAUTHORIZED","message":"Unknown emb"#),
        (500, "application/json", r#"{"code":"INTERNAL","mess"#),
        (
            200,
            "application/json",
            r#"{"accessToken":"vrp-access-token-SECRET-c0ffee42","expiresAt":"2026"#,
        ),
        (200, "text/html", html),
        (401, "application/json", ""),
    ];
    for &(status, content_type, body) in cases {
        let mock = server.create_embed_session(|when, then| {
            when.x_api_key(API_KEY);
            then.into_inner().status(status).header("content-type", content_type).body(body);
        });
        let e = c.embed_session().sub("u-1").tenant_id(TENANT).send().await.unwrap_err();
        mock.assert_calls_async(1).await;
        mock.delete_async().await;
        assert_eq!(e.kind(), ErrorKind::UnexpectedResponse, "{status} {body}: {e}");
        assert_eq!(e.status(), Some(status), "{status} {body}: {e}");
        assert!(e.body_excerpt().is_some(), "{e:?}");
        assert_eq!(e.provider(), Some("vrplatform"));
        assert_no_secret("error", &format!("{e} {e:?}"));
    }
}

#[tokio::test]
async fn an_unparsable_expires_at_is_an_unexpected_response() {
    let server = MockServer::start_async().await;
    for bad in ["tomorrow", "2026-04-01 12:00:00", "", "2026-13-01T12:00:00Z"] {
        let mut body = session_body(TOKEN, FIFTEEN_MINUTES);
        body.expires_at = bad.into();
        let mock = server.create_embed_session(|when, then| {
            when.x_api_key(API_KEY);
            then.ok(&body);
        });
        let e =
            client(&server).embed_session().sub("u").tenant_id(TENANT).send().await.unwrap_err();
        mock.delete_async().await;
        assert_eq!(e.kind(), ErrorKind::UnexpectedResponse, "{bad}");
        assert_eq!(e.status(), Some(200));
        assert!(e.to_string().contains("expiresAt"), "{e}");
        assert_no_secret("error", &format!("{e} {e:?}"));
    }
    // Other RFC 3339 forms are accepted and normalised to UTC.
    let mut body = session_body(TOKEN, FIFTEEN_MINUTES);
    body.expires_at = "2026-04-01T14:00:00+02:00".into();
    server.create_embed_session(|when, then| {
        when.x_api_key(API_KEY);
        then.ok(&body);
    });
    let s = client(&server).embed_session().sub("u").tenant_id(TENANT).send().await.unwrap();
    assert_eq!(rfc3339(s.expires_at()), "2026-04-01T12:00:00.000Z");
}

// ---------------------------------------------------------------------------------------------
// Input validation

#[tokio::test]
async fn bad_input_is_rejected_before_any_request() {
    let server = MockServer::start_async().await;
    let any = server.mock(|_, then| {
        then.status(599);
    });
    let c = client(&server);
    let cache = SessionCache::new(c.clone());

    let cases: [(Option<&str>, Option<&str>, &str); 7] = [
        (Some(""), Some(TENANT), "sub"),
        (Some("   "), Some(TENANT), "sub"),
        (Some("a\nb"), Some(TENANT), "sub"),
        (None, Some(TENANT), "sub"),
        (Some("u-1"), Some("not-a-uuid"), "tenantId"),
        (Some("u-1"), Some("4f8f94de2cc04ec7a7f8f0c7f560e59a"), "tenantId"),
        (Some("u-1"), None, "tenantId"),
    ];
    for (sub, tenant_id, field) in cases {
        let mut b = c.embed_session();
        if let Some(s) = sub {
            b = b.sub(s);
        }
        if let Some(t) = tenant_id {
            b = b.tenant_id(t);
        }
        let e = b.send().await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{sub:?} {tenant_id:?}");
        assert_eq!(e.field(), Some(field), "{sub:?} {tenant_id:?}");
        assert!(e.is_rejected_before_sending());
        assert!(e.to_string().contains(field), "{e}");
        assert_eq!(e.attempts(), 0);

        if let (Some(s), Some(t)) = (sub, tenant_id) {
            let e = cache.get(s, t, UserProvisioning::ExistingUser).await.unwrap_err();
            assert_eq!(e.field(), Some(field));
        }
    }
    let e = c.team("not-a-uuid").await.unwrap_err();
    assert_eq!(e.field(), Some("tenantId"));
    assert!(cache.is_empty());
    any.assert_calls_async(0).await;
}

#[test]
fn configuration_is_checked() {
    let e = VrPlatformClient::new(Config::builder(VrPlatform).build().unwrap()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config);
    assert!(e.to_string().contains("VRPLATFORM_API_KEY"), "{e}");
    // A Vlens configuration for this client does not compile (`Config<Vlens>` is not a
    // `Config<VrPlatform>`): see the `compile_fail` example on `embed_sessions::Config`.
    let plain_http =
        Config::builder(VrPlatform).api_key("k").base_url("http://example.com").build();
    assert_eq!(plain_http.unwrap_err().kind(), ErrorKind::Config);
}

// ---------------------------------------------------------------------------------------------
// Frontend payload

#[tokio::test]
async fn the_frontend_payload_has_exactly_the_documented_fields() {
    let server = MockServer::start_async().await;
    let body = session_body(TOKEN, FIFTEEN_MINUTES);
    server.create_embed_session(|when, then| {
        when.x_api_key(API_KEY);
        then.ok(&body);
    });
    let session = client(&server).embed_session().sub("u").tenant_id(TENANT).send().await.unwrap();
    let payload = session.frontend_payload();
    let json = serde_json::to_value(&payload).unwrap();
    let obj = json.as_object().unwrap();
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["accessToken", "expiresAt", "tenantId"]);
    assert_eq!(obj["accessToken"], TOKEN);
    assert_eq!(obj["tenantId"], TENANT);
    let expires = obj["expiresAt"].as_str().unwrap();
    assert_eq!(expires, body.expires_at, "same form as VRPlatform's (UTC, milliseconds)");
    let parsed = DateTime::parse_from_rfc3339(expires).expect("RFC 3339");
    assert_eq!(parsed.with_timezone(&Utc), session.expires_at());
    assert!(expires.ends_with('Z'));
    assert_no_secret("payload Debug", &format!("{payload:?}"));
}

// ---------------------------------------------------------------------------------------------
// Session cache

fn ok_mock<'a>(
    server: &'a MockServer,
    sub: &str,
    life: Duration,
    delay: Duration,
) -> httpmock::Mock<'a> {
    let body = session_body(&format!("{TOKEN}-{sub}"), life);
    let sub = sub.to_string();
    server.create_embed_session(move |when, then| {
        when.x_api_key(API_KEY).into_inner().json_body_includes(json!({"sub": sub}).to_string());
        then.ok(&body).into_inner().delay(delay);
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_thousand_concurrent_callers_cause_one_request() {
    let server = MockServer::start_async().await;
    let mock = ok_mock(&server, "u-1", FIFTEEN_MINUTES, Duration::from_millis(300));
    let cache = SessionCache::new(client(&server));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..1000 {
        let cache = cache.clone();
        tasks.spawn(async move { cache.get("u-1", TENANT, UserProvisioning::ExistingUser).await });
    }
    let mut sessions: Vec<Arc<VrPlatformSession>> = Vec::new();
    while let Some(r) = tasks.join_next().await {
        sessions.push(r.unwrap().expect("session"));
    }
    assert_eq!(sessions.len(), 1000);
    assert!(sessions.iter().all(|s| Arc::ptr_eq(s, &sessions[0])));
    assert_eq!(sessions[0].token().expose(), format!("{TOKEN}-u-1"));
    mock.assert_calls_async(1).await;
    // And later callers hit the cache.
    let again = cache.get("u-1", TENANT, UserProvisioning::ExistingUser).await.unwrap();
    assert!(Arc::ptr_eq(&again, &sessions[0]));
    mock.assert_calls_async(1).await;
    assert_eq!(cache.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn different_keys_fetch_separately_and_do_not_wait_on_each_other() {
    let server = MockServer::start_async().await;
    let slow = ok_mock(&server, "slow", FIFTEEN_MINUTES, Duration::from_secs(3));
    let fast = ok_mock(&server, "fast", FIFTEEN_MINUTES, Duration::ZERO);
    let cache = SessionCache::new(client(&server));

    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let c = cache.clone();
        tasks.spawn(async move { c.get("slow", TENANT, UserProvisioning::ExistingUser).await });
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = std::time::Instant::now();
    for _ in 0..50 {
        let s = cache.get("fast", TENANT, UserProvisioning::ExistingUser).await.unwrap();
        assert_eq!(s.token().expose(), format!("{TOKEN}-fast"));
    }
    assert!(started.elapsed() < Duration::from_secs(2), "the fast key waited on the slow one");
    while let Some(r) = tasks.join_next().await {
        assert_eq!(r.unwrap().unwrap().token().expose(), format!("{TOKEN}-slow"));
    }
    slow.assert_calls_async(1).await;
    fast.assert_calls_async(1).await;
    assert_eq!(cache.len(), 2);
}

#[tokio::test]
async fn auto_provision_and_tenant_are_part_of_the_key() {
    let server = MockServer::start_async().await;
    let plain = server.create_embed_session(|when, then| {
        when.x_api_key(API_KEY).auto_provision(None);
        then.ok(&session_body(TOKEN, FIFTEEN_MINUTES));
    });
    let provisioned = server.create_embed_session(|when, then| {
        when.x_api_key(API_KEY).auto_provision(true);
        then.ok(&session_body(TOKEN, FIFTEEN_MINUTES));
    });
    let cache = SessionCache::new(client(&server));
    for _ in 0..3 {
        cache.get("u-1", TENANT, UserProvisioning::ExistingUser).await.unwrap();
        cache.get("u-1", TENANT, UserProvisioning::AutoProvision).await.unwrap();
        cache.get("u-1", OTHER_TENANT, UserProvisioning::ExistingUser).await.unwrap();
    }
    plain.assert_calls_async(2).await;
    provisioned.assert_calls_async(1).await;
    assert_eq!(cache.len(), 3);
}

#[tokio::test]
async fn a_session_with_less_life_than_the_margin_is_refreshed() {
    let server = MockServer::start_async().await;
    let short = ok_mock(&server, "short", Duration::from_secs(30), Duration::ZERO);
    let long = ok_mock(&server, "long", FIFTEEN_MINUTES, Duration::ZERO);
    let cache = SessionCache::builder(client(&server)).margin(Duration::from_secs(60)).build();

    for _ in 0..3 {
        cache.get("short", TENANT, UserProvisioning::ExistingUser).await.unwrap();
        cache.get("long", TENANT, UserProvisioning::ExistingUser).await.unwrap();
    }
    short.assert_calls_async(3).await;
    long.assert_calls_async(1).await;

    // With a margin under its 30 s of life, the short session is cached too.
    let lenient = SessionCache::builder(client(&server)).margin(Duration::from_secs(5)).build();
    lenient.get("short", TENANT, UserProvisioning::ExistingUser).await.unwrap();
    lenient.get("short", TENANT, UserProvisioning::ExistingUser).await.unwrap();
    short.assert_calls_async(4).await;
}

#[tokio::test]
async fn a_session_is_refreshed_once_its_margin_is_reached() {
    let server = MockServer::start_async().await;
    let mock = ok_mock(&server, "u-1", FIFTEEN_MINUTES, Duration::ZERO);
    let cache = SessionCache::new(client(&server));
    let first = cache.get("u-1", TENANT, UserProvisioning::ExistingUser).await.unwrap();

    // Cache hits need no I/O, so the clock can be paused and moved.
    tokio::time::pause();
    tokio::time::advance(Duration::from_secs(13 * 60)).await;
    assert!(Arc::ptr_eq(
        &cache.get("u-1", TENANT, UserProvisioning::ExistingUser).await.unwrap(),
        &first
    ));
    tokio::time::advance(Duration::from_secs(60 + 5)).await;
    // 14 min 5 s later: under 60 s of life left (by the monotonic clock).
    tokio::time::resume();
    let second = cache.get("u-1", TENANT, UserProvisioning::ExistingUser).await.unwrap();
    assert!(!Arc::ptr_eq(&second, &first));
    mock.assert_calls_async(2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_are_shared_by_waiters_but_not_cached() {
    let server = MockServer::start_async().await;
    let failing = server.create_embed_session(|when, then| {
        when.x_api_key(API_KEY);
        then.unauthorized(&error_body("UNAUTHORIZED", "Unknown embedded user"))
            .into_inner()
            .delay(Duration::from_millis(300));
    });
    let cache = SessionCache::new(client(&server));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..100 {
        let c = cache.clone();
        tasks.spawn(async move { c.get("u-1", TENANT, UserProvisioning::ExistingUser).await });
    }
    while let Some(r) = tasks.join_next().await {
        let e = r.unwrap().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Api);
        assert_eq!(e.status(), Some(401));
        assert_eq!(vrp_reason(&e), Some(VrPlatformReason::UnknownUser));
        assert_eq!(e.operation(), Some("create_embed_session"));
        assert!(e.to_string().contains("enable autoProvision"), "{e}");
    }
    failing.assert_calls_async(1).await;
    assert!(cache.is_empty(), "a failure leaves nothing behind");

    // The next caller tries again.
    let e = cache.get("u-1", TENANT, UserProvisioning::ExistingUser).await.unwrap_err();
    assert_eq!(vrp_reason(&e), Some(VrPlatformReason::UnknownUser));
    failing.assert_calls_async(2).await;
    failing.delete_async().await;

    let ok = ok_mock(&server, "u-1", FIFTEEN_MINUTES, Duration::ZERO);
    cache.get("u-1", TENANT, UserProvisioning::ExistingUser).await.expect("retried, not cached");
    cache.get("u-1", TENANT, UserProvisioning::ExistingUser).await.unwrap();
    ok.assert_calls_async(1).await;
}

#[tokio::test]
async fn a_transport_failure_is_shared_with_its_source() {
    // A loopback port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let config = Config::builder(VrPlatform)
        .api_key(API_KEY)
        .base_url(format!("http://127.0.0.1:{port}"))
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let c = VrPlatformClient::new(config).unwrap();
    let cache = SessionCache::new(c);
    let (a, b) = tokio::join!(
        cache.get("u-1", TENANT, UserProvisioning::ExistingUser),
        cache.get("u-1", TENANT, UserProvisioning::ExistingUser)
    );
    for e in [a.unwrap_err(), b.unwrap_err()] {
        assert!(matches!(e.kind(), ErrorKind::Connect | ErrorKind::Transport), "{e:?}");
        assert!(std::error::Error::source(&e).is_some(), "{e:?}");
    }
    assert!(cache.is_empty());
}

#[tokio::test]
async fn the_cache_is_bounded_and_evicts_expired_entries_first() {
    let server = MockServer::start_async().await;
    let a = ok_mock(&server, "a", Duration::from_secs(10 * 60), Duration::ZERO);
    let b = ok_mock(&server, "b", FIFTEEN_MINUTES, Duration::ZERO);
    let c = ok_mock(&server, "c", FIFTEEN_MINUTES, Duration::ZERO);
    let stale = ok_mock(&server, "stale", Duration::from_secs(30), Duration::ZERO);
    let cache = SessionCache::builder(client(&server)).max_entries(2).build();

    cache.get("a", TENANT, UserProvisioning::ExistingUser).await.unwrap();
    cache.get("b", TENANT, UserProvisioning::ExistingUser).await.unwrap();
    assert_eq!(cache.len(), 2);
    // Full: `a`, closest to expiry, makes room for `c`.
    cache.get("c", TENANT, UserProvisioning::ExistingUser).await.unwrap();
    assert_eq!(cache.len(), 2);
    cache.get("b", TENANT, UserProvisioning::ExistingUser).await.unwrap();
    cache.get("c", TENANT, UserProvisioning::ExistingUser).await.unwrap();
    b.assert_calls_async(1).await;
    c.assert_calls_async(1).await;
    cache.get("a", TENANT, UserProvisioning::ExistingUser).await.unwrap();
    a.assert_calls_async(2).await;
    assert_eq!(cache.len(), 2);

    // An expired entry goes before any live one.
    let cache = SessionCache::builder(client(&server)).max_entries(2).build();
    cache.get("stale", TENANT, UserProvisioning::ExistingUser).await.unwrap();
    cache.get("a", TENANT, UserProvisioning::ExistingUser).await.unwrap();
    cache.get("b", TENANT, UserProvisioning::ExistingUser).await.unwrap();
    assert_eq!(cache.len(), 2);
    cache.get("a", TENANT, UserProvisioning::ExistingUser).await.unwrap();
    cache.get("b", TENANT, UserProvisioning::ExistingUser).await.unwrap();
    a.assert_calls_async(3).await;
    b.assert_calls_async(2).await;
    stale.assert_calls_async(1).await;
}

#[tokio::test]
async fn a_full_cache_never_grows_past_its_bound() {
    let server = MockServer::start_async().await;
    let any = server.create_embed_session(|when, then| {
        when.x_api_key(API_KEY);
        then.ok(&session_body(TOKEN, FIFTEEN_MINUTES));
    });
    let cache = SessionCache::builder(client(&server)).max_entries(64).build();
    for i in 0..200 {
        cache
            .get(
                &format!("user-{i}"),
                TENANT,
                if i % 2 == 0 {
                    UserProvisioning::AutoProvision
                } else {
                    UserProvisioning::ExistingUser
                },
            )
            .await
            .unwrap();
        assert!(cache.len() <= 64, "{} entries", cache.len());
    }
    assert!(cache.len() >= 60, "evicts in small batches: {}", cache.len());
    // The most recent keys are still cached.
    cache.get("user-199", TENANT, UserProvisioning::ExistingUser).await.unwrap();
    any.assert_calls_async(200).await;
}

#[tokio::test]
async fn invalidate_and_clear_forget_sessions() {
    let server = MockServer::start_async().await;
    let mock = ok_mock(&server, "u-1", FIFTEEN_MINUTES, Duration::ZERO);
    let cache = SessionCache::new(client(&server));
    cache.get("u-1", TENANT, UserProvisioning::ExistingUser).await.unwrap();
    cache.invalidate("u-1", TENANT, UserProvisioning::ExistingUser);
    assert!(cache.is_empty());
    cache.get("u-1", TENANT, UserProvisioning::ExistingUser).await.unwrap();
    cache.clear();
    cache.get("u-1", TENANT, UserProvisioning::ExistingUser).await.unwrap();
    cache.get("u-1", TENANT, UserProvisioning::ExistingUser).await.unwrap();
    mock.assert_calls_async(3).await;
}

// ---------------------------------------------------------------------------------------------
// Redaction

#[tokio::test]
async fn secrets_never_appear_in_debug_errors_or_traces() {
    let logs = embed_sessions_testkit::global_logs();
    let server = MockServer::start_async().await;
    let ok = server.create_embed_session(|when, then| {
        when.x_api_key(API_KEY).into_inner().json_body_includes(r#"{"sub":"ok"}"#);
        then.ok(&session_body(TOKEN, FIFTEEN_MINUTES));
    });
    server.create_embed_session(|when, then| {
        when.x_api_key(API_KEY).into_inner().json_body_includes(r#"{"sub":"denied"}"#);
        then.unauthorized(&error_body("UNAUTHORIZED", "Provider API key expired"));
    });
    // A 200 that fails decoding, carrying the token: the excerpt must not show it.
    server.create_embed_session(|when, then| {
        when.x_api_key(API_KEY).into_inner().json_body_includes(r#"{"sub":"broken"}"#);
        then.into_inner().status(200).json_body(
            json!({"accessToken": TOKEN, "expiresAt": "x", "tenantId": "nope", "userId": USER}),
        );
    });
    server.get_team(|when, then| {
        when.authorization(format!("Bearer {TOKEN}").as_str());
        then.into_inner().status(200).json_body(json!({"id": TENANT}));
    });

    let config = config(&server);
    let c = VrPlatformClient::new(config.clone()).unwrap();
    let cache = SessionCache::new(c.clone());
    let session = c.embed_session().sub("ok").tenant_id(TENANT).send().await.unwrap();
    let cached = cache.get("ok", TENANT, UserProvisioning::AutoProvision).await.unwrap();
    c.verify_session(&session).await.unwrap();
    let denied = c.embed_session().sub("denied").tenant_id(TENANT).send().await.unwrap_err();
    let cached_denied =
        cache.get("denied", TENANT, UserProvisioning::ExistingUser).await.unwrap_err();
    let broken = c.embed_session().sub("broken").tenant_id(TENANT).send().await.unwrap_err();
    assert_eq!(broken.kind(), ErrorKind::UnexpectedResponse);
    ok.assert_calls_async(2).await;

    for (what, text) in [
        ("config", format!("{config:?}")),
        ("client", format!("{c:?}")),
        ("session", format!("{session:?}")),
        ("cached session", format!("{cached:?}")),
        ("payload", format!("{:?}", session.frontend_payload())),
        ("cache", format!("{cache:?}")),
        ("builder", format!("{:?}", c.embed_session().sub("ok").tenant_id(TENANT))),
        ("token", format!("{:?} {}", session.token(), session.token())),
        ("denied", format!("{denied} {denied:?}")),
        ("cached denied", format!("{cached_denied} {cached_denied:?}")),
        ("broken", format!("{broken} {broken:?}")),
    ] {
        assert_no_secret(what, &text);
    }
    assert!(format!("{session:?}").contains("[REDACTED]"));

    let logs = logs.contents();
    assert!(logs.contains("embed_sessions.request"), "tracing captured nothing: {logs}");
    assert!(logs.contains("create_embed_session") && logs.contains("get_team"), "{logs}");
    assert_no_secret("trace output", &logs);
}
