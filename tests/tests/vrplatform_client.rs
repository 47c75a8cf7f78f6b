//! The generated VRPlatform client (`vrplatform-client`) against httpmock: every operation with
//! the generated typed mock helpers (`MockServerExt`) plus raw matchers on the exact wire format
//! (header names, query string, path, JSON field names), success and error bodies, hit counts.

use httpmock::MockServer;
use serde_json::{Value, json};
use vrplatform_client::mock::MockServerExt;
use vrplatform_client::{Client, Error, types};

const TENANT: &str = "4f8f94de-2cc0-4ec7-a7f8-f0c7f560e59a";
const USER: &str = "11111111-1111-4111-8111-111111111111";
/// The session-backend page's 200 response, verbatim.
const SESSION_JSON: &str = r#"{
"accessToken": "<vrplatform-bearer-token>",
"expiresAt": "2026-04-01T12:00:00.000Z",
"tenantId": "4f8f94de-2cc0-4ec7-a7f8-f0c7f560e59a",
"userId": "11111111-1111-4111-8111-111111111111"
}"#;

fn tenant() -> uuid::Uuid {
    uuid::Uuid::parse_str(TENANT).unwrap()
}

fn client(server: &MockServer) -> Client {
    Client::new(&server.base_url(), Default::default())
}

fn request(sub: &str) -> types::builder::EmbedSessionRequest {
    types::EmbedSessionRequest::builder().sub(sub).tenant_id(tenant())
}

/// The error body of an `Error::ErrorResponse`, with its status; panics on any other variant.
fn error_body(e: Error<types::ErrorBody>) -> (u16, types::ErrorBody) {
    match e {
        Error::ErrorResponse(rv) => (rv.status().as_u16(), rv.into_inner()),
        other => panic!("expected a typed error response, got {other:?}"),
    }
}

#[tokio::test]
async fn create_embed_session_wire_format_without_auto_provision() {
    let server = MockServer::start_async().await;
    let expected_body: types::EmbedSessionRequest =
        serde_json::from_value(json!({"sub": "hostaway-user-123", "tenantId": TENANT})).unwrap();
    let mock = server.create_embed_session(|when, then| {
        let when = when.x_api_key("pk_test_123").auto_provision(None).body(&expected_body);
        // Raw matchers: exact header names and JSON field names, no query string at all.
        when.into_inner()
            .header("x-api-key", "pk_test_123")
            .header("content-type", "application/json")
            .header_missing("authorization")
            .query_param_missing("autoProvision")
            .path("/auth/embed/session")
            .json_body(json!({"sub": "hostaway-user-123", "tenantId": TENANT}))
            .is_true(|req| req.uri().query().is_none());
        then.into_inner().status(200).header("content-type", "application/json").body(SESSION_JSON);
    });

    let session = client(&server)
        .create_embed_session()
        .x_api_key("pk_test_123")
        .body(request("hostaway-user-123"))
        .send()
        .await
        .expect("session issued");
    assert_eq!(session.status().as_u16(), 200);
    assert_eq!(session.access_token, "<vrplatform-bearer-token>");
    assert_eq!(session.expires_at, "2026-04-01T12:00:00.000Z");
    assert_eq!(session.tenant_id, tenant());
    assert_eq!(session.user_id.to_string(), USER);
    mock.assert_calls_async(1).await;
}

#[tokio::test]
async fn create_embed_session_sends_auto_provision_only_when_set() {
    let server = MockServer::start_async().await;
    let ok: types::EmbedSession = serde_json::from_str(SESSION_JSON).unwrap();
    let with_true = server.create_embed_session(|when, then| {
        when.auto_provision(true)
            .x_api_key("k")
            .into_inner()
            .query_param("autoProvision", "true")
            .json_body(json!({"sub": "u-1", "tenantId": TENANT}));
        then.ok(&ok);
    });
    let with_false = server.create_embed_session(|when, then| {
        when.auto_provision(false).x_api_key("k");
        then.ok(&ok);
    });
    let without = server.create_embed_session(|when, then| {
        when.auto_provision(None).x_api_key("k");
        then.ok(&ok);
    });

    let c = client(&server);
    c.create_embed_session()
        .x_api_key("k")
        .auto_provision(true)
        .body(request("u-1"))
        .send()
        .await
        .unwrap();
    with_true.assert_calls_async(1).await;
    without.assert_calls_async(0).await;

    c.create_embed_session().x_api_key("k").body(request("u-1")).send().await.unwrap();
    without.assert_calls_async(1).await;
    with_true.assert_calls_async(1).await;

    // `false` is sent literally; the facade should leave the parameter unset instead.
    c.create_embed_session()
        .x_api_key("k")
        .auto_provision(false)
        .body(request("u-1"))
        .send()
        .await
        .unwrap();
    with_false.assert_calls_async(1).await;
    without.assert_calls_async(1).await;
}

#[tokio::test]
async fn create_embed_session_typed_401_and_404_bodies() {
    let cases: &[(u16, &str)] = &[
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
    let server = MockServer::start_async().await;
    let c = client(&server);
    for (i, &(status, message)) in cases.iter().enumerate() {
        let sub = format!("user-{i}");
        let raw = json!({"code": if status == 404 { "NOT_FOUND" } else { "UNAUTHORIZED" }, "message": message});
        let mock = server.create_embed_session(|when, then| {
            when.x_api_key("k").into_inner().json_body(json!({"sub": sub, "tenantId": TENANT}));
            then.into_inner()
                .status(status)
                .header("content-type", "application/json")
                .body(raw.to_string());
        });
        let err =
            c.create_embed_session().x_api_key("k").body(request(&sub)).send().await.unwrap_err();
        assert_eq!(err.status().map(|s| s.as_u16()), Some(status), "{message}");
        let (got_status, body) = error_body(err);
        assert_eq!(got_status, status);
        assert_eq!(body.message, message);
        assert_eq!(body.code.as_deref(), raw["code"].as_str());
        assert!(body.issues.is_none() && body.context.is_none());
        mock.assert_calls_async(1).await;
    }

    // The typed `then` helpers produce the same statuses.
    let server = MockServer::start_async().await;
    let body: types::ErrorBody =
        serde_json::from_value(json!({"code": "NOT_FOUND", "message": "Tenant not found"}))
            .unwrap();
    let mock = server.create_embed_session(|when, then| {
        when.x_api_key("k");
        then.not_found(&body);
    });
    let err = client(&server)
        .create_embed_session()
        .x_api_key("k")
        .body(request("x"))
        .send()
        .await
        .unwrap_err();
    let (status, body) = error_body(err);
    assert_eq!((status, body.message.as_str()), (404, "Tenant not found"));
    mock.assert_calls_async(1).await;
}

#[tokio::test]
async fn create_embed_session_long_error_form_decodes() {
    let server = MockServer::start_async().await;
    let raw = r#"{"code":"BAD_REQUEST","message":"Invalid input","issues":[{"message":"tenantId: Invalid uuid"},{"message":"sub: Required"}],"context":null}"#;
    let mock = server.create_embed_session(|when, then| {
        when.x_api_key("k");
        then.into_inner().status(401).header("content-type", "application/json").body(raw);
    });
    let err = client(&server)
        .create_embed_session()
        .x_api_key("k")
        .body(request("x"))
        .send()
        .await
        .unwrap_err();
    let (status, body) = error_body(err);
    assert_eq!(status, 401);
    assert_eq!(body.code.as_deref(), Some("BAD_REQUEST"));
    assert_eq!(body.message, "Invalid input");
    let issues: Vec<&str> =
        body.issues.as_deref().unwrap().iter().map(|i| i.message.as_str()).collect();
    assert_eq!(issues, ["tenantId: Invalid uuid", "sub: Required"]);
    assert!(body.context.is_none(), "`context: null` decodes to None");
    mock.assert_calls_async(1).await;
}

#[tokio::test]
async fn create_embed_session_rejects_bad_input_before_sending() {
    let server = MockServer::start_async().await;
    let mock = server.create_embed_session(|_when, then| {
        then.ok(&serde_json::from_str(SESSION_JSON).unwrap());
    });
    let c = client(&server);
    // Missing required header.
    let err = c.create_embed_session().body(request("u")).send().await.unwrap_err();
    assert!(matches!(&err, Error::InvalidRequest(m) if m.contains("x_api_key")), "{err:?}");
    // `sub` has minLength 1.
    let err = c.create_embed_session().x_api_key("k").body(request("")).send().await.unwrap_err();
    assert!(matches!(err, Error::InvalidRequest(_)), "{err:?}");
    mock.assert_calls_async(0).await;
}

fn full_team() -> Value {
    json!({
        "id": TENANT,
        "name": "Acme Stays",
        "companyName": "Acme Stays LLC",
        "phone": "+1 555 0100",
        "email": "ops@acme.example",
        "taxId": "12-3456789",
        "logo": null,
        "defaultCurrency": "USD",
        "longTermStayNights": 28.0,
        "defaultRevenueRecognition": "checkIn",
        "statementAddress": {"full": "1 Main St, Springfield, IL 62701, US", "line1": "1 Main St",
            "line2": null, "city": "Springfield", "state": "Illinois", "postalCode": "62701",
            "stateCode": "IL", "countryCode": "US"},
        "billingAddress": null,
        "partner": {"id": USER, "name": "Hostaway"},
        "billingPartner": {"id": USER, "name": "Hostaway"},
        "type": "propertyManager",
        "status": "active",
        "billingSubscriptionStatus": "active",
        "billingPlan": "pro",
        "createdAt": "2025-01-01T00:00:00.000Z",
        "updatedAt": "2025-01-02T00:00:00.000Z",
        "trialUntil": null,
        "cancelledAt": null,
        "isOnboarding": false,
        "isGeneralLedger": true,
        "booksClosedAt": "2024-12-31",
        "extractableConnections": [{"id": "c1", "app": {"id": "hostaway"}}],
        "issues": [{"code": "unassignedAccount", "severity": "error", "context": {"accountIds": ["a1", "a2"]}}],
        "statementStartAt": "2024-01-01"
    })
}

#[tokio::test]
async fn get_team_with_bearer_token() {
    let server = MockServer::start_async().await;
    let team = full_team();
    let mock = server.get_team(|when, then| {
        when.id(&tenant())
            .authorization("Bearer tok-123")
            .x_api_key(None)
            .into_inner()
            .path(format!("/teams/{TENANT}"))
            .header("Authorization", "Bearer tok-123")
            .header_missing("x-team-id")
            .header_missing("x-api-key");
        then.into_inner()
            .status(200)
            .header("content-type", "application/json")
            .body(team.to_string());
    });
    let t = client(&server)
        .get_team()
        .id(tenant())
        .authorization("Bearer tok-123")
        .send()
        .await
        .expect("team")
        .into_inner();
    assert_eq!(t.id, tenant());
    assert_eq!(t.name.as_deref(), Some("Acme Stays"));
    assert_eq!(t.type_, Some(types::TeamType::PropertyManager));
    assert_eq!(t.status, Some(types::TeamStatus::Active));
    assert_eq!(t.partner.as_ref().and_then(|p| p.name.as_deref()), Some("Hostaway"));
    assert_eq!(t.statement_address.as_ref().and_then(|a| a.postal_code.as_deref()), Some("62701"));
    assert!(t.billing_address.is_none() && t.logo.is_none());
    assert_eq!(t.long_term_stay_nights, Some(28.0));
    assert_eq!(t.is_general_ledger, Some(true));
    assert_eq!(t.books_closed_at.as_deref(), Some("2024-12-31"));
    assert_eq!(t.extractable_connections, Some(json!([{"id": "c1", "app": {"id": "hostaway"}}])));
    let issue = &t.issues.as_deref().unwrap()[0];
    assert_eq!(issue.code.as_deref(), Some("unassignedAccount"));
    assert_eq!(issue.context, Some(json!({"accountIds": ["a1", "a2"]})));
    // Re-encoding keeps the wire names; nulls and the unknown field are dropped.
    let mut expected = team.clone();
    strip_for_reencode(&mut expected);
    assert_eq!(serde_json::to_value(&t).unwrap(), expected);
    mock.assert_calls_async(1).await;
}

fn strip_for_reencode(v: &mut Value) {
    embed_sessions_testkit::strip_nulls(v);
    v.as_object_mut().unwrap().remove("statementStartAt");
}

#[tokio::test]
async fn get_team_with_api_key_and_minimal_team() {
    let server = MockServer::start_async().await;
    let nil = uuid::Uuid::nil();
    let mock = server.get_team(|when, then| {
        when.id(&nil)
            .x_api_key("pk")
            .authorization(None)
            .into_inner()
            .path("/teams/00000000-0000-0000-0000-000000000000")
            .header_missing("authorization");
        then.into_inner()
            .status(200)
            .header("content-type", "application/json")
            .body(r#"{"id":"00000000-0000-0000-0000-000000000000"}"#);
    });
    let t = client(&server).get_team().id(nil).x_api_key("pk").send().await.unwrap();
    assert_eq!(t.id, nil);
    assert!(t.name.is_none() && t.status.is_none() && t.issues.is_none());
    assert_eq!(serde_json::to_value(&*t).unwrap(), json!({"id": nil}));
    mock.assert_calls_async(1).await;
}

#[tokio::test]
async fn get_team_error_bodies() {
    let server = MockServer::start_async().await;
    let c = client(&server);
    let missing = uuid::Uuid::parse_str(USER).unwrap();
    let not_found = server.get_team(|when, then| {
        when.id(&missing);
        then.into_inner()
            .status(404)
            .header("content-type", "application/json")
            .body(r#"{"code":"NOT_FOUND","message":"Team not found","issues":[],"context":{"id":"11111111-1111-4111-8111-111111111111"}}"#);
    });
    let unauthorized = server.get_team(|when, then| {
        when.id(&tenant()).authorization("Bearer expired");
        then.into_inner()
            .status(401)
            .header("content-type", "application/json")
            .body(r#"{"code":"UNAUTHORIZED","message":"Unauthorized","issues":[],"context":null}"#);
    });

    let (status, body) =
        error_body(c.get_team().id(missing).x_api_key("pk").send().await.unwrap_err());
    assert_eq!(status, 404);
    assert_eq!(body.message, "Team not found");
    assert_eq!(body.issues.as_ref().map(Vec::len), Some(0));
    assert_eq!(body.context, Some(json!({"id": USER})));

    let (status, body) = error_body(
        c.get_team().id(tenant()).authorization("Bearer expired").send().await.unwrap_err(),
    );
    assert_eq!(status, 401);
    assert_eq!(body.code.as_deref(), Some("UNAUTHORIZED"));
    assert!(body.context.is_none());

    // The typed helper for 401.
    let typed: types::ErrorBody =
        serde_json::from_value(json!({"message": "Unauthorized"})).unwrap();
    let other = uuid::Uuid::max();
    let typed_mock = server.get_team(|when, then| {
        when.id(&other);
        then.unauthorized(&typed);
    });
    let (status, body) = error_body(c.get_team().id(other).send().await.unwrap_err());
    assert_eq!((status, body.message.as_str(), body.code), (401, "Unauthorized", None));

    not_found.assert_calls_async(1).await;
    unauthorized.assert_calls_async(1).await;
    typed_mock.assert_calls_async(1).await;
}

#[tokio::test]
async fn undeclared_statuses_keep_status_and_body() {
    let server = MockServer::start_async().await;
    let c = client(&server);
    let blocked = uuid::Uuid::nil();
    let html = server.mock(|when, then| {
        when.path(format!("/teams/{blocked}"));
        then.status(403).header("content-type", "text/html").body("<html>blocked</html>");
    });
    let err = c.get_team().id(blocked).x_api_key("k").send().await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(403));
    match err {
        Error::UnexpectedResponse(resp) => {
            assert_eq!(resp.text().await.unwrap(), "<html>blocked</html>")
        }
        other => panic!("{other:?}"),
    }

    // A JSON 400 (undeclared) is also UnexpectedResponse; its body still parses as ErrorBody.
    let bad = server.create_embed_session(|when, then| {
        when.x_api_key("k");
        then.into_inner()
            .status(400)
            .header("content-type", "application/json")
            .body(r#"{"code":"BAD_REQUEST","message":"Invalid input","issues":[{"message":"sub: Required"}],"context":null}"#);
    });
    let err = c.create_embed_session().x_api_key("k").body(request("u")).send().await.unwrap_err();
    match err {
        Error::UnexpectedResponse(resp) => {
            assert_eq!(resp.status().as_u16(), 400);
            let body: types::ErrorBody = serde_json::from_str(&resp.text().await.unwrap()).unwrap();
            assert_eq!(body.issues.unwrap()[0].message, "sub: Required");
        }
        other => panic!("{other:?}"),
    }
    html.assert_calls_async(1).await;
    bad.assert_calls_async(1).await;
}

#[tokio::test]
async fn declared_status_with_non_json_body_loses_status() {
    // Documented limitation (progenitor): a declared status whose body is not JSON becomes
    // InvalidResponsePayload, without the status.
    let server = MockServer::start_async().await;
    let mock = server.create_embed_session(|when, then| {
        when.x_api_key("k");
        then.into_inner().status(401).header("content-type", "text/plain").body("Unauthorized");
    });
    let err = client(&server)
        .create_embed_session()
        .x_api_key("k")
        .body(request("u"))
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidResponsePayload(bytes, _) if &bytes[..] == b"Unauthorized"),
        "{err:?}"
    );
    assert_eq!(err.status(), None);
    mock.assert_calls_async(1).await;
}
