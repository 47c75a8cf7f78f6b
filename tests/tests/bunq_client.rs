//! The generated bunq client (`bunq-client`) against httpmock: every operation with the generated
//! typed mock helpers (`MockServerExt`) plus raw matchers on the exact wire format (header names,
//! path ids, query string, JSON field names), success and `{"Error": [...]}` bodies, hit counts.

use std::num::NonZeroU64;

use bunq_client::mock::MockServerExt;
use bunq_client::{Client, Error, types};
use httpmock::{MockServer, When};
use serde_json::{Value, json};

const UA: &str = "embed-sessions-tests/1.0";
const SIG: &str = "c2lnbmF0dXJlLW9mLXRoZS1ib2R5";
const GEO: &str = "0 0 0 0 000";
const PEM: &str = "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA\n-----END PUBLIC KEY-----\n";

/// Sets every optional bunq header through the request builder (or, with the same method names,
/// through a typed httpmock `When`), with the given authentication token.
macro_rules! bunq_headers {
    ($b:expr, $auth:expr, $request_id:expr) => {
        $b.x_bunq_client_authentication($auth)
            .x_bunq_client_signature(SIG)
            .user_agent(UA)
            .cache_control("no-cache")
            .x_bunq_client_request_id($request_id)
            .x_bunq_language("en_US")
            .x_bunq_region("nl_NL")
            .x_bunq_geolocation(GEO)
    };
}

/// The same headers as raw matchers, by their exact names (`auth` `None`: installation, which
/// sends neither authentication nor signature).
fn raw_headers(when: When, auth: Option<&str>, request_id: &str) -> When {
    let when = when
        .header("User-Agent", UA)
        .header("Cache-Control", "no-cache")
        .header("X-Bunq-Client-Request-Id", request_id)
        .header("X-Bunq-Language", "en_US")
        .header("X-Bunq-Region", "nl_NL")
        .header("X-Bunq-Geolocation", GEO)
        .header_missing("api-version")
        .header("accept", "application/json");
    match auth {
        Some(token) => when
            .header("X-Bunq-Client-Authentication", token)
            .header("X-Bunq-Client-Signature", SIG),
        None => when
            .header_missing("X-Bunq-Client-Authentication")
            .header_missing("X-Bunq-Client-Signature"),
    }
}

fn client(server: &MockServer) -> Client {
    Client::new(&server.base_url(), Default::default())
}

/// Responds with a raw JSON text (not a typed value) so decoding of the server's bytes is tested.
fn respond(then: httpmock::Then, status: u16, body: &str) {
    then.status(status).header("content-type", "application/json").body(body);
}

fn error_entries(e: Error<types::BunqError>) -> (u16, Vec<String>) {
    match e {
        Error::ErrorResponse(rv) => {
            let status = rv.status().as_u16();
            let entries = rv.into_inner().error.unwrap_or_default();
            (status, entries.into_iter().map(|e| e.error_description).collect())
        }
        other => panic!("expected a typed bunq error, got {other:?}"),
    }
}

#[tokio::test]
async fn create_installation() {
    let server = MockServer::start_async().await;
    let body = types::InstallationCreate { client_public_key: PEM.into() };
    let mock = server.create_installation(|when, then| {
        let when = when
            .user_agent(UA)
            .cache_control("no-cache")
            .x_bunq_client_request_id("req-1")
            .x_bunq_language("en_US")
            .x_bunq_region("nl_NL")
            .x_bunq_geolocation(GEO)
            .body(&body);
        raw_headers(when.into_inner(), None, "req-1")
            .header("content-type", "application/json")
            .path("/installation")
            .json_body(json!({"client_public_key": PEM}));
        respond(
            then.into_inner(),
            200,
            r#"{"Response":[{"Id":{"id":81}},{"Token":{"id":82,"created":"2025-08-13 15:53:11.594918","updated":"2025-08-13 15:53:11.594918","token":"installation-token"}},{"ServerPublicKey":{"server_public_key":"-----BEGIN PUBLIC KEY-----\nSERVER\n-----END PUBLIC KEY-----\n"}}]}"#,
        );
    });
    let out = client(&server)
        .create_installation()
        .user_agent(UA)
        .cache_control("no-cache")
        .x_bunq_client_request_id("req-1")
        .x_bunq_language("en_US")
        .x_bunq_region("nl_NL")
        .x_bunq_geolocation(GEO)
        .body(body.clone())
        .send()
        .await
        .expect("installation");
    let mut token = None;
    let mut id = None;
    let mut server_key = None;
    for item in &out.response {
        match item {
            types::InstallationItem::Id(i) => id = Some(i.id),
            types::InstallationItem::Token(t) => token = Some(t.token.clone()),
            types::InstallationItem::ServerPublicKey(k) => {
                server_key = Some(k.server_public_key.clone())
            }
        }
    }
    assert_eq!(id, Some(81));
    assert_eq!(token.as_deref(), Some("installation-token"));
    assert_eq!(
        server_key.as_deref(),
        Some("-----BEGIN PUBLIC KEY-----\nSERVER\n-----END PUBLIC KEY-----\n")
    );
    mock.assert_calls_async(1).await;
}

#[tokio::test]
async fn create_device_server_with_and_without_permitted_ips() {
    let server = MockServer::start_async().await;
    let with_ips = types::DeviceServerCreate {
        description: "partner backend".into(),
        secret: "sandbox_api_key".into(),
        permitted_ips: vec!["1.2.3.4".into(), "*".into()],
    };
    let without_ips = types::DeviceServerCreate { permitted_ips: vec![], ..with_ips.clone() };
    let m_with = server.create_device_server(|when, then| {
        let when = bunq_headers!(when, "installation-token", "req-2").body(&with_ips);
        raw_headers(when.into_inner(), Some("installation-token"), "req-2")
            .path("/device-server")
            .json_body(json!({"description": "partner backend", "secret": "sandbox_api_key",
                "permitted_ips": ["1.2.3.4", "*"]}));
        respond(then.into_inner(), 200, r#"{"Response":[{"Id":{"id":42}}]}"#);
    });
    let m_without = server.create_device_server(|when, then| {
        // `permitted_ips` must be absent (not `[]`, not `null`) to bind the caller's IP.
        when.x_bunq_client_authentication("installation-token")
            .into_inner()
            .json_body(json!({"description": "partner backend", "secret": "sandbox_api_key"}));
        respond(then.into_inner(), 200, r#"{"Response":[{"Id":{"id":43}}]}"#);
    });
    let c = client(&server);
    let out = bunq_headers!(c.create_device_server(), "installation-token", "req-2")
        .body(with_ips)
        .send()
        .await
        .unwrap();
    assert!(matches!(out.response.as_slice(), [types::DeviceServerItem::Id(types::Id { id: 42 })]));
    let out = c
        .create_device_server()
        .x_bunq_client_authentication("installation-token")
        .body(without_ips)
        .send()
        .await
        .unwrap();
    assert!(matches!(out.response.as_slice(), [types::DeviceServerItem::Id(types::Id { id: 43 })]));
    m_with.assert_calls_async(1).await;
    m_without.assert_calls_async(1).await;
}

/// The session-server response of the bunq page, avatars filled in, elements shuffled.
const SESSION_REORDERED: &str = r#"{"Response":[
  {"UserApiKey":{"id":1364,"created":"2025-08-13 15:53:11.286445","updated":"2025-08-13 15:53:11.286445",
    "requested_by_user":{"UserCompany":{"id":1360,"display_name":"Surrey Coöperatie","public_nick_name":"Surrey Coöperatie","avatar":{"uuid":"a","image":[]},"session_timeout":604800}},
    "granted_by_user":{"UserPerson":{"id":1363,"display_name":"New bunqer","public_nick_name":"New bunqer","avatar":{"uuid":"b","image":[]},"session_timeout":604800}}}},
  {"Token":{"id":2173,"created":"2025-08-13 15:53:11.594918","updated":"2025-08-13 15:53:11.594918","token":"f981bd6d26b8328b89e85a774c404bb02e72d18062dab92bb59c9e59a1c5958f"}},
  {"Id":{"id":2173}}
]}"#;

#[tokio::test]
async fn create_session_server_finds_elements_by_key() {
    let server = MockServer::start_async().await;
    let body = types::SessionServerCreate { secret: "credential-token".into() };
    let mock = server.create_session_server(|when, then| {
        let when = bunq_headers!(when, "installation-token", "req-3").body(&body);
        raw_headers(when.into_inner(), Some("installation-token"), "req-3")
            .path("/session-server")
            .body(r#"{"secret":"credential-token"}"#);
        respond(then.into_inner(), 200, SESSION_REORDERED);
    });
    let out = bunq_headers!(client(&server).create_session_server(), "installation-token", "req-3")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert!(matches!(out.response[0], types::SessionServerItem::UserApiKey(_)), "order is kept");
    let session_id = out.response.iter().find_map(|i| match i {
        types::SessionServerItem::Id(id) => Some(id.id),
        _ => None,
    });
    let token = out.response.iter().find_map(|i| match i {
        types::SessionServerItem::Token(t) => Some(t.token.as_str()),
        _ => None,
    });
    let key = out
        .response
        .iter()
        .find_map(|i| match i {
            types::SessionServerItem::UserApiKey(k) => Some(k),
            _ => None,
        })
        .expect("UserApiKey element");
    assert_eq!(session_id, Some(2173));
    assert_eq!(token, Some("f981bd6d26b8328b89e85a774c404bb02e72d18062dab92bb59c9e59a1c5958f"));
    assert_eq!(key.id, 1364);
    match key.requested_by_user.as_ref() {
        Some(types::UserApiKeyUser::UserCompany(c)) => {
            assert_eq!((c.id, c.session_timeout), (1360, Some(604800)));
            assert_eq!(c.display_name.as_deref(), Some("Surrey Coöperatie"));
        }
        other => panic!("{other:?}"),
    }
    match key.granted_by_user.as_ref() {
        Some(types::UserApiKeyUser::UserPerson(p)) => assert_eq!(p.id, 1363),
        other => panic!("{other:?}"),
    }
    mock.assert_calls_async(1).await;
}

#[tokio::test]
async fn create_session_server_466_and_490() {
    let server = MockServer::start_async().await;
    let missing_sig = server.create_session_server(|when, then| {
        when.x_bunq_client_signature(None);
        respond(
            then.into_inner(),
            466,
            r#"{"Error":[{"error_description":"Request signature is required for this operation.","error_description_translated":"Request signature is required for this operation."}]}"#,
        );
    });
    let user_error = server.create_session_server(|when, then| {
        when.x_bunq_client_signature(SIG);
        let err: types::BunqError = serde_json::from_value(json!({"Error": [
            {"error_description": "User error one.", "error_description_translated": "Gebruikersfout een."},
            {"error_description": "User error two."}
        ]}))
        .unwrap();
        then.client_error(490, &err);
    });
    let c = client(&server);
    let body = types::SessionServerCreate { secret: "k".into() };

    let err = c
        .create_session_server()
        .x_bunq_client_authentication("t")
        .body(body.clone())
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(466));
    let (status, descriptions) = error_entries(err);
    assert_eq!(status, 466);
    assert_eq!(descriptions, ["Request signature is required for this operation."]);

    let err = c
        .create_session_server()
        .x_bunq_client_authentication("t")
        .x_bunq_client_signature(SIG)
        .body(body)
        .send()
        .await
        .unwrap_err();
    let (status, descriptions) = error_entries(err);
    assert_eq!(status, 490);
    assert_eq!(descriptions, ["User error one.", "User error two."]);
    missing_sig.assert_calls_async(1).await;
    user_error.assert_calls_async(1).await;
}

#[tokio::test]
async fn delete_session() {
    let server = MockServer::start_async().await;
    let mock = server.delete_session(|when, then| {
        let when = bunq_headers!(when.item_id(2173), "session-token", "req-4");
        raw_headers(when.into_inner(), Some("session-token"), "req-4")
            .method("DELETE")
            .path("/session/2173");
        respond(then.into_inner(), 200, r#"{"Response":[]}"#);
    });
    let out =
        bunq_headers!(client(&server).delete_session().item_id(2173), "session-token", "req-4")
            .send()
            .await
            .unwrap();
    assert_eq!(out.status().as_u16(), 200);
    let out: types::DeleteSessionResponse = out.into_inner();
    assert!(out.response.is_empty());
    mock.assert_calls_async(1).await;

    // Some servers put an empty object in the list; it is raw JSON.
    let server = MockServer::start_async().await;
    let mock = server.delete_session(|when, then| {
        when.item_id(7);
        respond(then.into_inner(), 200, r#"{"Response":[{}]}"#);
    });
    let out = client(&server).delete_session().item_id(7).send().await.unwrap();
    assert_eq!(out.response, vec![json!({})]);
    mock.assert_calls_async(1).await;
}

const PROVISION_READY: &str = r#"{"Response":[{"PartnerUserProvision":{
  "id":429307,"created":"2026-02-10 18:33:15.807152","updated":"2026-02-10 18:40:15.000000",
  "external_uuid":"550e8400-e29b-41d4-a716-446655440000","user_verified_type":"PARTNER_USER_PERSON",
  "email":"user@example.com","phone_number":"+31612345678","products":["USER_VERIFIED"],
  "director_relation_provision_id":null,"status":"ACTIVE","sub_status":"PENDING_PROCESS_USER_ONBOARDING",
  "action_required":"USER",
  "label_user":{"uuid":"a1b2c3d4-e5f6-7890-abcd-ef1234567890","display_name":"User Name","country":"NL","type":"PERSON","avatar":null},
  "oauth_request":{"id":456,"status":"ACTIVE","authorization_code":"auth_code_123","client_id":"client_id_456"},
  "credential":{"id":789,"status":"PENDING_FIRST_USE","expiry_time":"2026-02-10 22:40:15.000000","token_value":"credential_token_abc123def456"}}}]}"#;

fn provision(item: &types::PartnerUserProvisionItem) -> &types::PartnerUserProvision {
    match item {
        types::PartnerUserProvisionItem::PartnerUserProvision(p) => p,
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn create_partner_user_provision() {
    let server = MockServer::start_async().await;
    let body = types::PartnerUserProvisionCreate {
        external_uuid: uuid::Uuid::parse_str("550e8400-e29b-41d4-a716-446655440000").unwrap(),
        user_verified_type: types::UserVerifiedType::PartnerUserPerson,
        email: "user@example.com".into(),
        phone_number: "+31612345678".into(),
        products: vec!["USER_VERIFIED".into()],
        director_relation_provision_id: None,
    };
    let mock = server.create_partner_user_provision(|when, then| {
        let when = bunq_headers!(when, "partner-session", "req-5").body(&body);
        raw_headers(when.into_inner(), Some("partner-session"), "req-5")
            .method("POST")
            .path("/partner-user-provision")
            .json_body(json!({
                "external_uuid": "550e8400-e29b-41d4-a716-446655440000",
                "user_verified_type": "PARTNER_USER_PERSON",
                "email": "user@example.com",
                "phone_number": "+31612345678",
                "products": ["USER_VERIFIED"]
            }));
        respond(then.into_inner(), 200, r#"{"Response":[{"Id":{"id":429307}}]}"#);
    });
    let out =
        bunq_headers!(client(&server).create_partner_user_provision(), "partner-session", "req-5")
            .body(body.clone())
            .send()
            .await
            .unwrap();
    assert!(matches!(
        out.response.as_slice(),
        [types::PartnerUserProvisionItem::Id(types::Id { id: 429307 })]
    ));
    assert!(out.pagination.is_none());
    mock.assert_calls_async(1).await;

    // Company form: the director id is sent; the full provision comes back instead of `Id`.
    let server = MockServer::start_async().await;
    let company = types::PartnerUserProvisionCreate {
        user_verified_type: types::UserVerifiedType::PartnerUserCompany,
        products: vec!["COMPANY_VERIFIED".into()],
        director_relation_provision_id: Some(123),
        ..body
    };
    let mock = server.create_partner_user_provision(|when, then| {
        when.into_inner().json_body(json!({
            "external_uuid": "550e8400-e29b-41d4-a716-446655440000",
            "user_verified_type": "PARTNER_USER_COMPANY",
            "email": "user@example.com",
            "phone_number": "+31612345678",
            "products": ["COMPANY_VERIFIED"],
            "director_relation_provision_id": 123
        }));
        respond(
            then.into_inner(),
            200,
            r#"{"Response":[{"PartnerUserProvision":{"id":429308,"status":"CREATED","sub_status":"PENDING_PROCESS_USER","action_required":"SYSTEM","label_user":null,"oauth_request":null,"credential":null}}]}"#,
        );
    });
    let out = client(&server).create_partner_user_provision().body(company).send().await.unwrap();
    let p = provision(&out.response[0]);
    assert_eq!((p.id, p.sub_status.as_deref()), (Some(429308), Some("PENDING_PROCESS_USER")));
    assert!(p.credential.is_none() && p.label_user.is_none() && p.oauth_request.is_none());
    mock.assert_calls_async(1).await;
}

#[tokio::test]
async fn get_partner_user_provision_ready() {
    let server = MockServer::start_async().await;
    let mock = server.get_partner_user_provision(|when, then| {
        let when = bunq_headers!(when.id(429307), "partner-session", "req-6");
        raw_headers(when.into_inner(), Some("partner-session"), "req-6")
            .method("GET")
            .path("/partner-user-provision/429307");
        respond(then.into_inner(), 200, PROVISION_READY);
    });
    let out = bunq_headers!(
        client(&server).get_partner_user_provision().id(429307),
        "partner-session",
        "req-6"
    )
    .send()
    .await
    .unwrap();
    let p = provision(&out.response[0]);
    assert_eq!(p.id, Some(429307));
    assert_eq!(p.sub_status.as_deref(), Some("PENDING_PROCESS_USER_ONBOARDING"));
    assert_eq!(p.director_relation_provision_id, None);
    let credential = p.credential.as_ref().unwrap();
    assert_eq!(credential.status.as_deref(), Some("PENDING_FIRST_USE"));
    assert_eq!(credential.token_value.as_deref(), Some("credential_token_abc123def456"));
    assert_eq!(p.label_user.as_ref().unwrap().type_.as_deref(), Some("PERSON"));
    assert_eq!(p.oauth_request.as_ref().unwrap().client_id.as_deref(), Some("client_id_456"));
    mock.assert_calls_async(1).await;

    // After first use the token is null (and the key is still there).
    let server = MockServer::start_async().await;
    let mock = server.get_partner_user_provision(|when, then| {
        when.id(429307);
        respond(
            then.into_inner(),
            200,
            r#"{"Response":[{"PartnerUserProvision":{"id":429307,"status":"ACTIVE","sub_status":"NONE","label_user":null,"oauth_request":null,"credential":{"id":789,"status":"ACTIVE","expiry_time":"2026-02-10 22:40:15.000000","token_value":null}}}]}"#,
        );
    });
    let out = client(&server).get_partner_user_provision().id(429307).send().await.unwrap();
    let p = provision(&out.response[0]);
    assert_eq!(p.credential.as_ref().unwrap().token_value, None);
    assert_eq!(
        serde_json::to_value(&*out).unwrap()["Response"][0]["PartnerUserProvision"]["credential"]["token_value"],
        Value::Null,
        "required + nullable keys are re-encoded as null"
    );
    mock.assert_calls_async(1).await;
}

#[tokio::test]
async fn update_partner_user_provision() {
    let server = MockServer::start_async().await;
    let reset = types::PartnerUserProvisionUpdate {
        status: types::PartnerUserProvisionUpdateStatus::TokenResetRequested,
    };
    let cancel = types::PartnerUserProvisionUpdate {
        status: types::PartnerUserProvisionUpdateStatus::Cancelled,
    };
    let m_reset = server.update_partner_user_provision(|when, then| {
        let when = bunq_headers!(when.id(429307), "partner-session", "req-7").body(&reset);
        raw_headers(when.into_inner(), Some("partner-session"), "req-7")
            .method("PUT")
            .path("/partner-user-provision/429307")
            .body(r#"{"status":"TOKEN_RESET_REQUESTED"}"#);
        respond(then.into_inner(), 200, r#"{"Response":[{"Id":{"id":429307}}]}"#);
    });
    let m_cancel = server.update_partner_user_provision(|when, then| {
        when.id(429308).into_inner().body(r#"{"status":"CANCELLED"}"#);
        respond(then.into_inner(), 200, r#"{"Response":[{"Id":{"id":429308}}]}"#);
    });
    let c = client(&server);
    let out =
        bunq_headers!(c.update_partner_user_provision().id(429307), "partner-session", "req-7")
            .body(reset)
            .send()
            .await
            .unwrap();
    assert!(matches!(
        out.response.as_slice(),
        [types::PartnerUserProvisionItem::Id(types::Id { id: 429307 })]
    ));
    let out = c.update_partner_user_provision().id(429308).body(cancel).send().await.unwrap();
    assert!(matches!(
        out.response.as_slice(),
        [types::PartnerUserProvisionItem::Id(types::Id { id: 429308 })]
    ));
    m_reset.assert_calls_async(1).await;
    m_cancel.assert_calls_async(1).await;
}

const URL_FILTERS: &str = r#"{"Response":[
  {"NotificationFilterUrl":{"id":111,"created":"2024-01-01 00:00:00.000000","updated":"2024-01-01 00:00:00.000000","category":"MUTATION","notification_target":"https://test.example/webhook","all_user_id":[1364],"all_monetary_account_id":[]}},
  {"NotificationFilterUrl":{"id":112,"category":"PARTNER_USER_PROVISION","notification_target":"https://test.example/provision"}}
],"Pagination":{"future_url":"/v1/user/1364/notification-filter-url?newer_id=112","newer_url":null,"older_url":"/v1/user/1364/notification-filter-url?older_id=111"}}"#;

#[tokio::test]
async fn create_notification_filter_url() {
    let server = MockServer::start_async().await;
    let body = types::NotificationFilterUrlCreate {
        notification_filters: vec![
            types::NotificationFilterUrlRule {
                category: "MUTATION".into(),
                notification_target: "https://test.example/webhook".into(),
            },
            types::NotificationFilterUrlRule {
                category: "PARTNER_USER_PROVISION".into(),
                notification_target: "https://test.example/provision".into(),
            },
        ],
    };
    let mock = server.create_notification_filter_url(|when, then| {
        let when = bunq_headers!(when.user_id(1364), "user-session", "req-8").body(&body);
        raw_headers(when.into_inner(), Some("user-session"), "req-8")
            .method("POST")
            .path("/user/1364/notification-filter-url")
            .json_body(json!({"notification_filters": [
                {"category": "MUTATION", "notification_target": "https://test.example/webhook"},
                {"category": "PARTNER_USER_PROVISION", "notification_target": "https://test.example/provision"}
            ]}));
        respond(then.into_inner(), 200, URL_FILTERS);
    });
    let clear = server.create_notification_filter_url(|when, then| {
        // Clearing sends an explicit empty list.
        when.user_id(1360).into_inner().body(r#"{"notification_filters":[]}"#);
        respond(then.into_inner(), 200, r#"{"Response":[]}"#);
    });
    let c = client(&server);
    let out =
        bunq_headers!(c.create_notification_filter_url().user_id(1364), "user-session", "req-8")
            .body(body)
            .send()
            .await
            .unwrap();
    let targets: Vec<_> = out
        .response
        .iter()
        .map(|types::NotificationFilterUrlItem::NotificationFilterUrl(f)| {
            (f.id, f.category.clone().unwrap(), f.notification_target.clone().unwrap())
        })
        .collect();
    assert_eq!(
        targets,
        [
            (Some(111), "MUTATION".to_string(), "https://test.example/webhook".to_string()),
            (
                Some(112),
                "PARTNER_USER_PROVISION".to_string(),
                "https://test.example/provision".to_string()
            )
        ]
    );
    let types::NotificationFilterUrlItem::NotificationFilterUrl(first) = &out.response[0];
    assert_eq!(first.all_user_id, Some(vec![json!(1364)]));
    let out = c
        .create_notification_filter_url()
        .user_id(1360)
        .body(types::NotificationFilterUrlCreate { notification_filters: vec![] })
        .send()
        .await
        .unwrap();
    assert!(out.response.is_empty());
    mock.assert_calls_async(1).await;
    clear.assert_calls_async(1).await;
}

#[tokio::test]
async fn list_notification_filter_url_with_paging() {
    let server = MockServer::start_async().await;
    let mock = server.list_notification_filter_url(|when, then| {
        let when = bunq_headers!(when.user_id(1364), "user-session", "req-9")
            .count(NonZeroU64::new(200))
            .older_id(500)
            .newer_id(None);
        raw_headers(when.into_inner(), Some("user-session"), "req-9")
            .method("GET")
            .path("/user/1364/notification-filter-url")
            .query_param("count", "200")
            .query_param("older_id", "500")
            .query_param_missing("newer_id");
        respond(then.into_inner(), 200, URL_FILTERS);
    });
    let no_query = server.list_notification_filter_url(|when, then| {
        when.user_id(1).count(None).older_id(None).newer_id(None);
        respond(
            then.into_inner(),
            200,
            r#"{"Response":[],"Pagination":{"future_url":null,"newer_url":null,"older_url":null}}"#,
        );
    });
    let c = client(&server);
    let out =
        bunq_headers!(c.list_notification_filter_url().user_id(1364), "user-session", "req-9")
            .count(200u64)
            .older_id(500)
            .send()
            .await
            .unwrap();
    assert_eq!(out.response.len(), 2);
    let paging = out.pagination.as_ref().unwrap();
    assert_eq!(
        paging.older_url.as_deref(),
        Some("/v1/user/1364/notification-filter-url?older_id=111")
    );
    assert_eq!(paging.newer_url, None);
    let out = c.list_notification_filter_url().user_id(1).send().await.unwrap();
    assert!(out.response.is_empty());
    assert!(out.pagination.as_ref().unwrap().future_url.is_none());
    // `count` 0 is rejected by the builder (NonZeroU64); the maximum of 200 is NOT enforced.
    let err = c.list_notification_filter_url().user_id(1).count(0u64).send().await.unwrap_err();
    assert!(matches!(err, Error::InvalidRequest(_)), "{err:?}");
    mock.assert_calls_async(1).await;
    no_query.assert_calls_async(1).await;
}

#[tokio::test]
async fn create_notification_filter_push() {
    let server = MockServer::start_async().await;
    let body = types::NotificationFilterPushCreate {
        notification_filters: vec![types::NotificationFilterPushRule {
            category: "SCHEDULE_RESULT".into(),
        }],
    };
    let mock = server.create_notification_filter_push(|when, then| {
        let when = bunq_headers!(when.user_id(1364), "user-session", "req-10").body(&body);
        raw_headers(when.into_inner(), Some("user-session"), "req-10")
            .method("POST")
            .path("/user/1364/notification-filter-push")
            .json_body(json!({"notification_filters": [{"category": "SCHEDULE_RESULT"}]}));
        respond(
            then.into_inner(),
            200,
            r#"{"Response":[{"NotificationFilterPush":{"id":5,"created":"2024-01-01 00:00:00.000000","updated":"2024-01-01 00:00:00.000000","category":"SCHEDULE_RESULT","all_user_id":[]}}]}"#,
        );
    });
    let out = bunq_headers!(
        client(&server).create_notification_filter_push().user_id(1364),
        "user-session",
        "req-10"
    )
    .body(body)
    .send()
    .await
    .unwrap();
    let types::NotificationFilterPushItem::NotificationFilterPush(f) = &out.response[0];
    assert_eq!((f.id, f.category.as_deref()), (Some(5), Some("SCHEDULE_RESULT")));
    assert_eq!(f.all_user_id, Some(vec![]));
    mock.assert_calls_async(1).await;
}

#[tokio::test]
async fn list_notification_filter_push() {
    let server = MockServer::start_async().await;
    let mock = server.list_notification_filter_push(|when, then| {
        let when = bunq_headers!(when.user_id(1364), "user-session", "req-11").count(NonZeroU64::new(10));
        raw_headers(when.into_inner(), Some("user-session"), "req-11")
            .method("GET")
            .path("/user/1364/notification-filter-push")
            .query_param("count", "10");
        respond(
            then.into_inner(),
            200,
            r#"{"Response":[{"NotificationFilterPush":{"id":5,"category":"SCHEDULE_RESULT"}},{"NotificationFilterPush":{"id":6,"category":"PAYMENT"}}],"Pagination":{"future_url":null,"newer_url":null,"older_url":null}}"#,
        );
    });
    let out = bunq_headers!(
        client(&server).list_notification_filter_push().user_id(1364),
        "user-session",
        "req-11"
    )
    .count(10u64)
    .send()
    .await
    .unwrap();
    let categories: Vec<_> = out
        .response
        .iter()
        .map(|types::NotificationFilterPushItem::NotificationFilterPush(f)| {
            f.category.as_deref().unwrap()
        })
        .collect();
    assert_eq!(categories, ["SCHEDULE_RESULT", "PAYMENT"]);
    mock.assert_calls_async(1).await;
}

/// Calls every operation once and returns each operation's error (`None` when it succeeded).
async fn call_every_operation(c: &Client) -> Vec<(&'static str, Option<Error<types::BunqError>>)> {
    fn error_of<T>(r: Result<T, Error<types::BunqError>>) -> Option<Error<types::BunqError>> {
        r.err()
    }
    vec![
        (
            "create_installation",
            error_of(
                c.create_installation()
                    .body(types::InstallationCreate { client_public_key: PEM.into() })
                    .send()
                    .await,
            ),
        ),
        (
            "create_device_server",
            error_of(
                c.create_device_server()
                    .body(types::DeviceServerCreate {
                        description: "d".into(),
                        secret: "s".into(),
                        permitted_ips: vec![],
                    })
                    .send()
                    .await,
            ),
        ),
        (
            "create_session_server",
            error_of(
                c.create_session_server()
                    .body(types::SessionServerCreate { secret: "s".into() })
                    .send()
                    .await,
            ),
        ),
        ("delete_session", error_of(c.delete_session().item_id(1).send().await)),
        (
            "create_partner_user_provision",
            error_of(
                c.create_partner_user_provision()
                    .body(types::PartnerUserProvisionCreate {
                        external_uuid: uuid::Uuid::nil(),
                        user_verified_type: types::UserVerifiedType::PartnerUserPerson,
                        email: "e".into(),
                        phone_number: "p".into(),
                        products: vec![],
                        director_relation_provision_id: None,
                    })
                    .send()
                    .await,
            ),
        ),
        ("get_partner_user_provision", error_of(c.get_partner_user_provision().id(1).send().await)),
        (
            "update_partner_user_provision",
            error_of(
                c.update_partner_user_provision()
                    .id(1)
                    .body(types::PartnerUserProvisionUpdate {
                        status: types::PartnerUserProvisionUpdateStatus::Cancelled,
                    })
                    .send()
                    .await,
            ),
        ),
        (
            "create_notification_filter_url",
            error_of(
                c.create_notification_filter_url()
                    .user_id(1)
                    .body(types::NotificationFilterUrlCreate { notification_filters: vec![] })
                    .send()
                    .await,
            ),
        ),
        (
            "list_notification_filter_url",
            error_of(c.list_notification_filter_url().user_id(1).send().await),
        ),
        (
            "create_notification_filter_push",
            error_of(
                c.create_notification_filter_push()
                    .user_id(1)
                    .body(types::NotificationFilterPushCreate { notification_filters: vec![] })
                    .send()
                    .await,
            ),
        ),
        (
            "list_notification_filter_push",
            error_of(c.list_notification_filter_push().user_id(1).send().await),
        ),
    ]
}

#[tokio::test]
async fn every_operation_decodes_4xx_error_bodies() {
    for status in [400u16, 401, 403, 404, 405, 429, 466, 490, 491] {
        let server = MockServer::start_async().await;
        let description = format!("bunq error {status}");
        let body = json!({"Error": [
            {"error_description": description, "error_description_translated": format!("vertaald {status}"),
             "error_additional_parameter": [{"field": "x"}]},
            {"error_description": "second entry"}
        ]});
        let mock = server.mock(|_when, then| {
            respond(then, status, &body.to_string());
        });
        let results = call_every_operation(&client(&server)).await;
        assert_eq!(results.len(), 11);
        for (op, result) in results {
            let err = result.unwrap_or_else(|| panic!("{op} succeeded"));
            assert_eq!(err.status().map(|s| s.as_u16()), Some(status), "{op}");
            let (got, descriptions) = error_entries(err);
            assert_eq!(got, status, "{op}");
            assert_eq!(descriptions, [description.as_str(), "second entry"], "{op}");
        }
        mock.assert_calls_async(11).await;
    }
}

#[tokio::test]
async fn non_json_and_5xx_responses() {
    // 5XX is undeclared: every operation reports UnexpectedResponse with the status and body.
    let server = MockServer::start_async().await;
    let mock = server.mock(|_when, then| {
        then.status(502).header("content-type", "text/html").body("<html>Bad gateway</html>");
    });
    for (op, result) in call_every_operation(&client(&server)).await {
        match result.unwrap_or_else(|| panic!("{op} succeeded")) {
            Error::UnexpectedResponse(resp) => {
                assert_eq!(resp.status().as_u16(), 502, "{op}");
                assert_eq!(resp.text().await.unwrap(), "<html>Bad gateway</html>", "{op}");
            }
            other => panic!("{op}: {other:?}"),
        }
    }
    mock.assert_calls_async(11).await;

    // A JSON 500 also stays UnexpectedResponse; its body still parses as BunqError.
    let server = MockServer::start_async().await;
    server.delete_session(|when, then| {
        when.item_id(1);
        respond(
            then.into_inner(),
            500,
            r#"{"Error":[{"error_description":"Please contact bunq."}]}"#,
        );
    });
    match client(&server).delete_session().item_id(1).send().await.unwrap_err() {
        Error::UnexpectedResponse(resp) => {
            assert_eq!(resp.status().as_u16(), 500);
            let e: types::BunqError = serde_json::from_str(&resp.text().await.unwrap()).unwrap();
            assert_eq!(e.error.unwrap()[0].error_description, "Please contact bunq.");
        }
        other => panic!("{other:?}"),
    }

    // A 4XX with a non-JSON body (a proxy's HTML 429) loses its status: InvalidResponsePayload.
    let server = MockServer::start_async().await;
    server.mock(|_when, then| {
        then.status(429).header("content-type", "text/html").body("<html>slow down</html>");
    });
    let err = client(&server).get_partner_user_provision().id(1).send().await.unwrap_err();
    assert!(
        matches!(&err, Error::InvalidResponsePayload(b, _) if &b[..] == b"<html>slow down</html>"),
        "{err:?}"
    );
    assert_eq!(err.status(), None);
}

#[tokio::test]
async fn base_url_carries_the_v1_prefix() {
    // Paths in the spec are relative to `https://api.bunq.com/v1`; the typed mock helpers match
    // paths without prefix, so a prefixed base URL needs raw matchers.
    let server = MockServer::start_async().await;
    let mock = server.mock(|when, then| {
        when.method("POST").path("/v1/session-server");
        respond(
            then,
            200,
            r#"{"Response":[{"Id":{"id":1}},{"Token":{"token":"t"}},{"UserPerson":{"id":9}}]}"#,
        );
    });
    let c = Client::new(&format!("{}/v1", server.base_url()), Default::default());
    let out = c
        .create_session_server()
        .body(types::SessionServerCreate { secret: "s".into() })
        .send()
        .await
        .unwrap();
    assert!(matches!(
        out.response[2],
        types::SessionServerItem::UserPerson(types::UserPerson { id: 9, .. })
    ));
    mock.assert_calls_async(1).await;
}
