//! The Vlens wrappers against httpmock: wire format, envelope handling, admin token caching,
//! retries, input validation and redaction.
#![cfg(feature = "vlens")]

use std::time::{Duration, Instant};

use embed_sessions::vlens::{AdminCredentials, VlensClient, VlensReason, raw};
use embed_sessions::{Config, ErrorKind, RetryPolicy};
use httpmock::MockServer;
use raw::mock::MockServerExt;
use raw::types;
use serde_json::json;

const API_KEY: &str = "vlens-api-key-SECRET-4711";
const PASSWORD: &str = "admin-password-SECRET-9";
const ACCESS: &str = "admin-access-token-SECRET-1";
const REFRESH: &str = "admin-refresh-token-SECRET-2";
const SESSION: &str = "session token/with+special=chars&more";

fn fast_retries() -> RetryPolicy {
    RetryPolicy::default()
        .initial_backoff(Duration::from_millis(1))
        .max_backoff(Duration::from_millis(5))
}

fn client(server: &MockServer) -> VlensClient {
    // Every test's traces are captured, so the redaction test sees a full run's output.
    embed_sessions_testkit::global_logs();
    let config = Config::builder(embed_sessions::vlens::Vlens)
        .api_key(API_KEY)
        .base_url(server.base_url())
        // A budget per client (tests run in one process): Vlens allows 10/s and 60/min per key.
        .rate_identity(embed_sessions_testkit::fresh_rate_identity())
        .retry(fast_retries())
        .build()
        .unwrap();
    VlensClient::new(config).unwrap()
}

fn admin_client(server: &MockServer) -> VlensClient {
    client(server).with_admin(AdminCredentials::new("acme", "admin@acme.test", PASSWORD))
}

fn ok_token(token: &str) -> types::ApiOutputString {
    types::ApiOutputString { data: Some(token.into()), ..Default::default() }
}

fn mock_login<'a>(server: &'a MockServer, expires_in: i64) -> httpmock::Mock<'a> {
    server.login(|when, then| {
        when.api_key(API_KEY).tenancy_name("acme");
        then.ok(&types::ApiOutputLoginOutput {
            data: Some(types::LoginOutput {
                access_token: Some(ACCESS.into()),
                expire_in_seconds: Some(expires_in),
                refresh_token: Some(REFRESH.into()),
                refresh_token_expire_in_seconds: Some(604_800),
            }),
            ..Default::default()
        });
    })
}

#[tokio::test]
async fn auth_session_success_on_the_wire() {
    let server = MockServer::start_async().await;
    let m = server.mock(|when, then| {
        when.method("POST")
            .path("/api/IdentityUserSession/CreateAuthSession")
            .header("ApiKey", API_KEY)
            .header("user-agent", embed_sessions::USER_AGENT)
            .header_missing("api-version")
            .json_body(json!({
                "phoneNumber": "+201234567890",
                "sessionPermissions": {
                    "allowedContractTypeIds": [414, 415],
                    "minimalSignatureFlow": true,
                    "DigitalIdentityOnly": false
                }
            }));
        then.status(200).json_body(json!({"data": SESSION, "error_code": null}));
    });
    let session = client(&server)
        .auth_session()
        .phone("+201234567890")
        .contract_type(414)
        .contract_types([415])
        .minimal_signature_flow(true)
        .digital_identity_only(false)
        .send()
        .await
        .unwrap();
    m.assert_async().await;
    assert_eq!(session.token().expose(), SESSION);
    assert_eq!(
        session.iframe_url(),
        "https://app.vlenseg.com/session?token=session%20token%2Fwith%2Bspecial%3Dchars%26more"
    );
    let html = session.iframe_html();
    assert!(html.contains(r#"allow="camera; microphone""#), "{html}");
    assert!(html.contains("src=\"https://app.vlenseg.com/session?token=session%20token"), "{html}");
}

#[tokio::test]
async fn auth_session_by_email_with_public_key_and_custom_origin() {
    let server = MockServer::start_async().await;
    let pem = test_pem();
    let m = server.create_auth_session(|when, then| {
        when.api_key(API_KEY).body(&types::CreateAuthSessionInput {
            email: Some("user@example.com".into()),
            user_public_key: Some(pem.trim().to_string()),
            session_permissions: Some(types::SessionPermissions {
                allowed_contract_type_ids: vec![],
                minimal_signature_flow: None,
                digital_identity_only: Some(true),
            }),
            phone_number: None,
        });
        then.ok(&ok_token("tok"));
    });
    let session = client(&server)
        .with_iframe_origin("https://kyc.example.com/")
        .unwrap()
        .auth_session()
        .email("user@example.com")
        .digital_identity_only(true)
        .user_public_key(pem)
        .send()
        .await
        .unwrap();
    m.assert_async().await;
    assert_eq!(session.iframe_url(), "https://kyc.example.com/session?token=tok");
}

async fn auth_session_result(
    body: serde_json::Value,
    status: u16,
) -> (Result<String, embed_sessions::Error>, usize) {
    let server = MockServer::start_async().await;
    let m = server.mock(|when, then| {
        when.path("/api/IdentityUserSession/CreateAuthSession");
        then.status(status).header("content-type", "application/json").body(body.to_string());
    });
    let r = client(&server).auth_session().email("a@b.co").send().await;
    (r.map(|s| s.token().expose().to_string()), m.calls_async().await)
}

#[tokio::test]
async fn envelope_cases() {
    // error_code null: success.
    let (r, _) =
        auth_session_result(json!({"data": "t1", "error_code": null, "error_message": null}), 200)
            .await;
    assert_eq!(r.unwrap(), "t1");
    // error_code 0 with an empty message: success.
    let (r, _) =
        auth_session_result(json!({"data": "t2", "error_code": 0, "error_message": ""}), 200).await;
    assert_eq!(r.unwrap(), "t2");
    // Only {data, error_code}: success.
    let (r, _) = auth_session_result(json!({"data": "t3", "error_code": 0}), 200).await;
    assert_eq!(r.unwrap(), "t3");
    // A code with a message: a typed provider error, even on HTTP 200.
    let (r, hits) = auth_session_result(
        json!({"data": null, "error_code": 1050, "error_message": "Image quality too low for OCR extraction", "error_descriptions": {"x": 1}}),
        200,
    )
    .await;
    let e = r.unwrap_err();
    assert_eq!(hits, 1);
    assert_eq!(e.kind(), ErrorKind::Api);
    assert_eq!(e.reason_as(), Some(&VlensReason::ImageQuality));
    let api = e.api_error().unwrap();
    assert_eq!(api.code.as_deref(), Some("1050"));
    assert_eq!(api.message.as_deref(), Some("Image quality too low for OCR extraction"));
    assert_eq!(api.details, Some(json!({"x": 1})));
    assert_eq!(e.status(), Some(200));
    let shown = e.to_string();
    assert_eq!(
        shown,
        "vlens create_auth_session: image quality too low (HTTP 200, code 1050); ask the user to \
         retake the picture in better light; provider said: \"Image quality too low for OCR \
         extraction\""
    );
    assert!(e.hint().is_some());
    // data null and no code: an unexpected response, not a success.
    let (r, _) = auth_session_result(json!({"data": null, "error_code": null}), 200).await;
    assert_eq!(r.unwrap_err().kind(), ErrorKind::UnexpectedResponse);
    // An unknown code keeps code and message.
    let (r, _) =
        auth_session_result(json!({"error_code": 9999, "error_message": "nope"}), 200).await;
    let e = r.unwrap_err();
    assert_eq!(e.reason_as(), Some(&VlensReason::Other));
    assert_eq!(e.api_error().unwrap().code.as_deref(), Some("9999"));
}

#[tokio::test]
async fn http_error_statuses_are_typed_and_never_panic() {
    // 401 with the envelope.
    let (r, hits) =
        auth_session_result(json!({"error_code": 401, "error_message": "Invalid API key"}), 401)
            .await;
    let e = r.unwrap_err();
    assert_eq!((e.kind(), e.status(), hits), (ErrorKind::Api, Some(401), 1));
    assert_eq!(e.reason_as(), Some(&VlensReason::Unauthorized));
    assert!(e.to_string().contains("check VLENS_API_KEY"), "{e}");
    // 500 with JSON: not retried, status kept.
    let (r, hits) =
        auth_session_result(json!({"error_code": 5000, "error_message": "boom"}), 500).await;
    let e = r.unwrap_err();
    assert_eq!((e.status(), hits), (Some(500), 1));
    assert!(!e.is_retryable());
    assert!(e.body_excerpt().unwrap().contains("boom"));

    // An HTML 502: retried (3 attempts), then a typed error with status and a bounded excerpt.
    let server = MockServer::start_async().await;
    let m = server.mock(|when, then| {
        when.path("/api/IdentityUserSession/CreateAuthSession");
        then.status(502)
            .header("content-type", "text/html")
            .body(format!("<html>{}</html>", "x".repeat(5000)));
    });
    let e = client(&server).auth_session().email("a@b.co").send().await.unwrap_err();
    assert_eq!(m.calls_async().await, 3);
    assert_eq!((e.kind(), e.status(), e.attempts()), (ErrorKind::UnexpectedResponse, Some(502), 3));
    assert!(e.is_retryable());
    assert!(e.body_excerpt().unwrap().starts_with("<html>"));
    assert!(e.body_excerpt().unwrap().len() < 600);

    // Truncated JSON on 200 and on the typed 4XX.
    for status in [200, 422] {
        let server = MockServer::start_async().await;
        server.mock(|when, then| {
            when.path("/api/IdentityUserSession/CreateAuthSession");
            then.status(status)
                .header("content-type", "application/json")
                .body(r#"{"data": "tok", "error_co"#);
        });
        let e = client(&server).auth_session().email("a@b.co").send().await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UnexpectedResponse, "{status}");
        assert_eq!(e.status(), Some(status));
        if status == 200 {
            assert!(!e.body_excerpt().unwrap().contains("tok"), "success values are hidden: {e}");
        }
        assert!(e.to_string().contains("truncated JSON"), "{e}");
    }
}

#[tokio::test]
async fn two_invitations_log_in_once_with_the_documented_login() {
    let server = MockServer::start_async().await;
    let login = server.mock(|when, then| {
        when.method("POST")
            .path("/api/credentials/Login")
            .header("ApiKey", API_KEY)
            .header("TenancyName", "acme")
            .json_body(json!({"tenancyName": "acme", "userNameOrEmailAddress": "admin@acme.test", "password": PASSWORD}));
        then.status(200).json_body(json!({
            "data": {"accessToken": ACCESS, "expireInSeconds": 86400, "refreshToken": REFRESH, "refreshTokenExpireInSeconds": 604800},
            "error_code": null
        }));
    });
    let invite = server.mock(|when, then| {
        when.method("POST")
            .path("/api/IdentityUserSession/CreateInvitation")
            .header("ApiKey", API_KEY)
            .header("Authorization", format!("Bearer {ACCESS}"))
            .json_body(json!({"SessionInput": {
                "phoneNumber": "+201234567890",
                "sessionPermissions": {"allowedContractTypeIds": [414], "minimalSignatureFlow": true},
                "RequestFieldsValues": {"414": {"fullName": "Ahmed Mohamed", "monthlyIncome": "5000"}}
            }}));
        then.status(200).json_body(json!({"data": "invite-token"}));
    });
    let vlens = admin_client(&server);
    for _ in 0..2 {
        let s = vlens
            .invitation()
            .phone("+201234567890")
            .contract_type(414)
            .minimal_signature_flow(true)
            .field(414, "fullName", "Ahmed Mohamed")
            .field(414, "monthlyIncome", "5000")
            .send()
            .await
            .unwrap();
        assert_eq!(s.token().expose(), "invite-token");
    }
    login.assert_calls_async(1).await;
    invite.assert_calls_async(2).await;
}

#[tokio::test]
async fn an_expired_access_token_is_refreshed_once() {
    let server = MockServer::start_async().await;
    // 30 s of life is less than the 60 s renewal margin: the next call refreshes.
    let login = mock_login(&server, 30);
    let refresh = server.mock(|when, then| {
        when.path("/api/credentials/RefreshToken").header("ApiKey", API_KEY).json_body(json!({"refreshToken": REFRESH}));
        then.status(200).json_body(json!({"data": {
            "accessToken": "access-2", "expireInSeconds": 86400, "refreshToken": REFRESH, "newRefreshToken": "refresh-2"
        }}));
    });
    let invite = server.create_invitation(|when, then| {
        when.authorization("Bearer access-2");
        then.ok(&ok_token("inv"));
    });
    let vlens = admin_client(&server);
    assert_eq!(vlens.admin_token().await.unwrap().expose(), ACCESS);
    vlens.invitation().email("a@b.co").send().await.unwrap();
    vlens.invitation().email("a@b.co").send().await.unwrap();
    login.assert_calls_async(1).await;
    refresh.assert_calls_async(1).await;
    invite.assert_calls_async(2).await;
}

#[tokio::test]
async fn a_failed_refresh_falls_back_to_one_login() {
    let server = MockServer::start_async().await;
    let login = mock_login(&server, 30);
    let refresh = server.refresh_token(|when, then| {
        when.api_key(API_KEY);
        then.client_error(
            401,
            &types::ApiOutput {
                error_code: Some(401),
                error_message: Some("expired".into()),
                ..Default::default()
            },
        );
    });
    let vlens = admin_client(&server);
    vlens.admin_token().await.unwrap();
    login.assert_calls_async(1).await;
    // Expired (30 s < margin): refresh fails, one fresh login follows.
    assert_eq!(vlens.admin_token().await.unwrap().expose(), ACCESS);
    refresh.assert_calls_async(1).await;
    login.assert_calls_async(2).await;
}

#[tokio::test]
async fn fifty_concurrent_invitations_log_in_once() {
    let server = MockServer::start_async().await;
    let login = mock_login(&server, 86_400);
    let invite = server.create_invitation(|when, then| {
        when.api_key(API_KEY).authorization(format!("Bearer {ACCESS}").as_str());
        then.ok(&ok_token("inv"));
    });
    let vlens = admin_client(&server);
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let vlens = vlens.clone();
            tokio::spawn(async move {
                vlens.invitation().email(format!("user{i}@example.com")).send().await
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    login.assert_calls_async(1).await;
    invite.assert_calls_async(50).await;
}

#[tokio::test]
async fn an_invitation_401_renews_the_admin_token_once() {
    let server = MockServer::start_async().await;
    let login = mock_login(&server, 86_400);
    let invite = server.mock(|when, then| {
        when.path("/api/IdentityUserSession/CreateInvitation");
        then.status(401).json_body(json!({"error_code": 401, "error_message": "token revoked"}));
    });
    let e = admin_client(&server).invitation().email("a@b.co").send().await.unwrap_err();
    assert_eq!(e.status(), Some(401));
    login.assert_calls_async(2).await;
    invite.assert_calls_async(2).await;
}

#[tokio::test]
async fn invitations_need_admin_credentials() {
    let server = MockServer::start_async().await;
    let any = server.mock(|when, then| {
        when.any_request();
        then.status(500);
    });
    let e = client(&server).invitation().email("a@b.co").send().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config);
    assert!(e.to_string().contains("VLENS_TENANCY_NAME"), "{e}");
    assert_eq!(any.calls_async().await, 0);
}

#[tokio::test]
async fn template_fields_are_a_tree_and_check_invitation_keys() {
    let server = MockServer::start_async().await;
    let login = mock_login(&server, 86_400);
    let m = server.mock(|when, then| {
        when.method("GET")
            .path("/api/BusinessRequest/GetBusinessRequestTypeTemplateFields")
            .query_param("requestTypeId", "414")
            .header("ApiKey", API_KEY)
            .header("Authorization", format!("Bearer {ACCESS}"));
        then.status(200).json_body(json!({"data": {"id": 414, "name": "Loan", "requestsFields": [
            {"key": "fullName", "type": "text"},
            {"key": "employed", "type": "dropdown", "availableValues": ["yes", "no"],
             "availableValuesItems": [{"id": 1, "name": "yes", "relatedQuestions": [{"key": "employer"}]}],
             "relatedQuestions": [{"key": "since", "relatedQuestions": [{"key": "sinceMonth"}]}]}
        ]}}));
    });
    let vlens = admin_client(&server);
    let template = vlens.template_fields(414).await.unwrap();
    m.assert_async().await;
    login.assert_calls_async(1).await;
    assert_eq!(template.keys(), vec!["fullName", "employed", "since", "sinceMonth", "employer"]);
    assert_eq!(template.fields[1].children[0].children[0].key.as_deref(), Some("sinceMonth"));
    let ok = vlens.invitation().field(414, "sinceMonth", "3").check_against(414, &template);
    assert!(ok.is_ok());
    let bad = vlens.invitation().field(414, "fullname", "x").check_against(414, &template);
    let e = bad.err().unwrap();
    assert_eq!(e.field(), Some("field"));
    assert!(e.to_string().contains("`fullname` is not a field of request type 414"), "{e}");
}

#[tokio::test]
async fn retries_503_then_200_in_two_hits() {
    let server = MockServer::start_async().await;
    let fail = server.mock(|when, then| {
        when.path("/api/IdentityUserSession/CreateAuthSession");
        then.status(503).body("busy");
    });
    fail.up_to_n_times_async(1).await;
    let ok = server.create_auth_session(|when, then| {
        when.api_key(API_KEY);
        then.ok(&ok_token("after-retry"));
    });
    let s = client(&server).auth_session().email("a@b.co").send().await.unwrap();
    assert_eq!(s.token().expose(), "after-retry");
    assert_eq!(fail.calls_async().await + ok.calls_async().await, 2);
}

#[tokio::test]
async fn honours_retry_after_on_429() {
    let server = MockServer::start_async().await;
    let limited = server.mock(|when, then| {
        when.path("/api/IdentityUserSession/CreateAuthSession");
        then.status(429).header("Retry-After", "1");
    });
    limited.up_to_n_times_async(1).await;
    let ok = server.create_auth_session(|when, then| {
        when.api_key(API_KEY);
        then.ok(&ok_token("t"));
    });
    let started = Instant::now();
    client(&server).auth_session().email("a@b.co").send().await.unwrap();
    assert!(started.elapsed() >= Duration::from_secs(1), "{:?}", started.elapsed());
    assert_eq!(limited.calls_async().await, 1);
    assert_eq!(ok.calls_async().await, 1);
}

#[tokio::test]
async fn does_not_retry_400_and_stops_at_the_attempt_limit() {
    let server = MockServer::start_async().await;
    let bad = server.mock(|when, then| {
        when.path("/api/IdentityUserSession/CreateAuthSession");
        then.status(400).json_body(json!({"error_code": 400, "error_message": "bad"}));
    });
    let e = client(&server).auth_session().email("a@b.co").send().await.unwrap_err();
    assert_eq!((e.status(), e.attempts()), (Some(400), 1));
    bad.assert_calls_async(1).await;

    let server = MockServer::start_async().await;
    let busy = server.mock(|when, then| {
        when.path("/api/IdentityUserSession/CreateAuthSession");
        then.status(503);
    });
    let config = Config::builder(embed_sessions::vlens::Vlens)
        .api_key(API_KEY)
        .base_url(server.base_url())
        // A budget per client (tests run in one process): Vlens allows 10/s and 60/min per key.
        .rate_identity(embed_sessions_testkit::fresh_rate_identity())
        .retry(fast_retries().max_attempts(4))
        .build()
        .unwrap();
    let e =
        VlensClient::new(config).unwrap().auth_session().email("a@b.co").send().await.unwrap_err();
    assert_eq!((e.status(), e.attempts()), (Some(503), 4));
    busy.assert_calls_async(4).await;

    // Switched off: one attempt.
    let server = MockServer::start_async().await;
    let busy = server.mock(|when, then| {
        when.path("/api/IdentityUserSession/CreateAuthSession");
        then.status(503);
    });
    let config = Config::builder(embed_sessions::vlens::Vlens)
        .api_key(API_KEY)
        .base_url(server.base_url())
        // A budget per client (tests run in one process): Vlens allows 10/s and 60/min per key.
        .rate_identity(embed_sessions_testkit::fresh_rate_identity())
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    VlensClient::new(config).unwrap().auth_session().email("a@b.co").send().await.unwrap_err();
    busy.assert_calls_async(1).await;
}

#[tokio::test]
async fn invitations_are_not_repeated_after_an_uncertain_failure() {
    let server = MockServer::start_async().await;
    mock_login(&server, 86_400);
    let invite = server.mock(|when, then| {
        when.path("/api/IdentityUserSession/CreateInvitation");
        then.status(503);
    });
    let e = admin_client(&server).invitation().email("a@b.co").send().await.unwrap_err();
    assert_eq!(e.status(), Some(503));
    invite.assert_calls_async(1).await;
}

#[tokio::test]
async fn bad_input_is_rejected_before_any_request() {
    let server = MockServer::start_async().await;
    let any = server.mock(|when, then| {
        when.any_request();
        then.status(200).json_body(json!({"data": "t"}));
    });
    let vlens = client(&server);
    let cases = [
        (vlens.auth_session().phone("0123"), "phone"),
        (vlens.auth_session().phone("+20 123 456"), "phone"),
        (vlens.auth_session().email("not-an-email"), "email"),
        (vlens.auth_session().email("a@b.co").phone("+201234567890"), "phone"),
        (vlens.auth_session(), "phone"),
        (
            vlens
                .auth_session()
                .email("a@b.co")
                .user_public_key("-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----"),
            "user_public_key",
        ),
        (vlens.auth_session().email("a@b.co").contract_type(-1), "contract_type"),
    ];
    for (builder, field) in cases {
        let e = builder.send().await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
        assert_eq!(e.field(), Some(field), "{e}");
        assert!(e.to_string().contains(field), "{e}");
        assert!(e.is_rejected_before_sending());
    }
    let e = vlens.invitation().email("a@b.co").field(414, "", "x").send().await.unwrap_err();
    assert_eq!(e.field(), Some("field"));
    assert_eq!(any.calls_async().await, 0);

    for url in [
        "http://api.vlenseg.com",
        "ftp://127.0.0.1",
        "not a url",
        "https://user:pw@api.vlenseg.com",
    ] {
        let e = Config::builder(embed_sessions::vlens::Vlens)
            .api_key(API_KEY)
            .base_url(url)
            .build()
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config, "{url}");
        assert!(!e.to_string().contains("pw@"), "{e}");
    }
    for url in
        ["http://127.0.0.1:9", "http://localhost:9", "http://[::1]:9", "https://api.vlenseg.com/"]
    {
        Config::builder(embed_sessions::vlens::Vlens)
            .api_key(API_KEY)
            .base_url(url)
            .build()
            .unwrap();
    }
    let e = VlensClient::new(Config::builder(embed_sessions::vlens::Vlens).build().unwrap())
        .unwrap_err();
    assert!(e.to_string().contains("VLENS_API_KEY"), "{e}");
}

#[test]
fn secrets_never_show_in_debug_display_or_traces() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let logs = embed_sessions_testkit::global_logs();
    let mut rendered = String::new();
    rt.block_on(async {
        let server = MockServer::start_async().await;
        mock_login(&server, 30);
        server.refresh_token(|when, then| {
            when.api_key(API_KEY);
            then.client_error(
                401,
                &types::ApiOutput {
                    error_message: Some(format!("bad {REFRESH}")),
                    ..Default::default()
                },
            );
        });
        server.create_invitation(|when, then| {
            when.authorization(format!("Bearer {ACCESS}").as_str());
            then.ok(&ok_token(SESSION));
        });
        server.create_auth_session(|when, then| {
            when.api_key(API_KEY);
            then.into_inner()
                .status(200)
                .json_body(json!({"data": null, "error_code": 7001, "error_message": "x"}));
        });
        let vlens = admin_client(&server);
        let session = vlens.invitation().email("a@b.co").send().await.unwrap();
        let session2 = vlens.invitation().email("a@b.co").send().await.unwrap();
        let err = vlens.auth_session().email("a@b.co").send().await.unwrap_err();
        rendered += &format!(
            "{vlens:?}\n{:?}\n{session:?}\n{session2:?}\n{err}\n{err:?}\n",
            vlens.base_url()
        );
        rendered += &format!("{:?}", AdminCredentials::new("acme", "u", PASSWORD));
        // Truncated success body carrying a token: the excerpt redacts it.
        let s2 = MockServer::start_async().await;
        s2.mock(|when, then| {
            when.any_request();
            then.status(200).body(format!(r#"{{"data":"{ACCESS}","error_co"#));
        });
        let e = client(&s2).auth_session().email("a@b.co").send().await.unwrap_err();
        rendered += &format!("{e}\n{e:?}\n");
    });
    let logs = logs.contents();
    assert!(logs.contains("embed_sessions.request"), "spans are emitted: {logs}");
    assert!(logs.contains("create_invitation") && logs.contains("attempt"), "{logs}");
    for secret in [API_KEY, PASSWORD, ACCESS, REFRESH, SESSION, "session token"] {
        assert!(!logs.contains(secret), "{secret} in traces");
        assert!(!rendered.contains(secret), "{secret} in rendered output:\n{rendered}");
    }
}

fn test_pem() -> String {
    "-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAu1SU1LfVLPHCozMxH2Mo
4lgOEePzNm0tRgeLezV6ffAt0gunVTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u
+qKhbwKfBstIs+bMY2Zkp18gnTxKLxoS2tFczGkPLPgizskuemMghRniWaoLcyeh
kd3qqGElvW/VDL5AaWTg0nLVkjRo9z+40RQzuVaE8AkAFmxZzow3x+VJYKdjykkJ
0iT9wCS0DRTXu269V264Vf/3jvredZiKRkgwlL9xNAwxXFg0x/XFw005UWVRIkdg
cKWTjpBP2dPwVZ4WWC+9aGVd+Gyn1o0CLelf4rEjGoXbAAEgAqeGUxrcIlbjXfbc
mwIDAQAB
-----END PUBLIC KEY-----
"
    .to_string()
}
