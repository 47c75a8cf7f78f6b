//! The generated Vlens client against httpmock, with the generated typed mock helpers, for
//! every operation in `specs/vlens.yaml`: headers, exact JSON field names and casing, and
//! response decoding.

use httpmock::MockServer;
use serde_json::json;
use vlens_client::mock::MockServerExt;
use vlens_client::{Client, types};

fn client(server: &MockServer) -> Client {
    Client::new(&server.base_url(), Default::default())
}

fn permissions() -> types::SessionPermissions {
    types::SessionPermissions {
        allowed_contract_type_ids: vec![414],
        minimal_signature_flow: Some(true),
        digital_identity_only: Some(false),
    }
}

#[tokio::test]
async fn create_auth_session_sends_api_key_and_documented_body() {
    let server = MockServer::start_async().await;
    let body = types::CreateAuthSessionInput {
        phone_number: Some("+201234567890".into()),
        session_permissions: Some(permissions()),
        ..Default::default()
    };
    // Typed helper: header and body as the spec types them.
    let typed = server.create_auth_session(|when, then| {
        when.api_key("key-1").body(&body);
        then.ok(&types::ApiOutputString {
            data: Some("session-token".into()),
            error_code: None,
            error_message: None,
            error_descriptions: None,
        });
    });
    // Raw matcher: the exact JSON on the wire, casing included (`DigitalIdentityOnly`).
    let raw = server.mock(|when, then| {
        when.method("POST")
            .path("/api/IdentityUserSession/CreateAuthSession")
            .header("ApiKey", "key-1")
            .header("content-type", "application/json")
            .json_body(json!({
                "phoneNumber": "+201234567890",
                "sessionPermissions": {
                    "allowedContractTypeIds": [414],
                    "minimalSignatureFlow": true,
                    "DigitalIdentityOnly": false
                }
            }));
        then.status(200);
    });
    let out =
        client(&server).create_auth_session().api_key("key-1").body(body).send().await.unwrap();
    assert_eq!(out.status(), 200);
    assert_eq!(out.data.as_deref(), Some("session-token"));
    typed.assert_calls_async(1).await;
    // The typed mock answered first; the raw one only proves the same request matches it.
    assert_eq!(raw.calls_async().await, 0);
    let check = server.mock(|when, then| {
        when.any_request();
        then.status(500);
    });
    assert_eq!(check.calls_async().await, 0, "no stray request");
}

#[tokio::test]
async fn create_auth_session_wire_format_matches_the_docs_exactly() {
    let server = MockServer::start_async().await;
    let raw = server.mock(|when, then| {
        when.method("POST")
            .path("/api/IdentityUserSession/CreateAuthSession")
            .header("ApiKey", "key-1")
            .json_body(json!({
                "email": "user@example.com",
                "userPublicKey": "PEM",
                "sessionPermissions": {"allowedContractTypeIds": [1, 2], "DigitalIdentityOnly": true}
            }));
        then.status(200).json_body(json!({"data": "t", "error_code": 0, "error_message": ""}));
    });
    let out = client(&server)
        .create_auth_session()
        .api_key("key-1")
        .body(types::CreateAuthSessionInput {
            email: Some("user@example.com".into()),
            user_public_key: Some("PEM".into()),
            session_permissions: Some(types::SessionPermissions {
                allowed_contract_type_ids: vec![1, 2],
                digital_identity_only: Some(true),
                minimal_signature_flow: None,
            }),
            phone_number: None,
        })
        .send()
        .await
        .unwrap();
    raw.assert_async().await;
    assert_eq!(out.error_code, Some(0));
    assert_eq!(out.error_message.as_deref(), Some(""));
}

#[tokio::test]
async fn create_invitation_sends_bearer_and_pascal_case_fields() {
    let server = MockServer::start_async().await;
    let mut values = std::collections::HashMap::new();
    values.insert(
        "414".to_string(),
        [
            ("fullName".to_string(), "Ahmed Mohamed".to_string()),
            ("monthlyIncome".to_string(), "5000".to_string()),
        ]
        .into_iter()
        .collect(),
    );
    let body = types::CreateInvitationInput {
        session_input: types::InvitationSessionInput {
            phone_number: Some("+201234567890".into()),
            session_permissions: Some(permissions()),
            request_fields_values: Some(types::RequestFieldsValues(values)),
            email: None,
            user_public_key: None,
        },
    };
    let typed = server.create_invitation(|when, then| {
        when.api_key("key-1").authorization("Bearer admin-1").body(&body);
        then.ok(&types::ApiOutputString {
            data: Some("invite-token".into()),
            ..Default::default()
        });
    });
    let raw = server.mock(|when, then| {
        when.method("POST").path("/api/IdentityUserSession/CreateInvitation").json_body(json!({
            "SessionInput": {
                "phoneNumber": "+201234567890",
                "sessionPermissions": {
                    "allowedContractTypeIds": [414],
                    "minimalSignatureFlow": true,
                    "DigitalIdentityOnly": false
                },
                "RequestFieldsValues": {"414": {"fullName": "Ahmed Mohamed", "monthlyIncome": "5000"}}
            }
        }));
        then.status(200).json_body(json!({"data": "raw-match"}));
    });
    let out = client(&server)
        .create_invitation()
        .api_key("key-1")
        .authorization("Bearer admin-1")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(out.data.as_deref(), Some("invite-token"));
    typed.assert_async().await;
    // Same request with the typed mock gone: the raw JSON matcher must match it.
    typed.delete_async().await;
    let out = client(&server)
        .create_invitation()
        .api_key("key-1")
        .authorization("Bearer admin-1")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(out.data.as_deref(), Some("raw-match"));
    raw.assert_async().await;
}

#[tokio::test]
async fn login_sends_tenancy_header_and_body_and_decodes_tokens() {
    let server = MockServer::start_async().await;
    let body = types::LoginInput {
        tenancy_name: "acme".parse().unwrap(),
        user_name_or_email_address: "admin@acme.test".parse().unwrap(),
        password: "pw".parse().unwrap(),
    };
    let m = server.login(|when, then| {
        when.api_key("key-1").tenancy_name("acme").body(&body);
        then.ok(&types::ApiOutputLoginOutput {
            data: Some(types::LoginOutput {
                access_token: Some("at".into()),
                expire_in_seconds: Some(86400),
                refresh_token: Some("rt".into()),
                refresh_token_expire_in_seconds: Some(604800),
            }),
            ..Default::default()
        });
    });
    let raw = server.mock(|when, then| {
        when.path("/api/credentials/Login").json_body(json!({
            "tenancyName": "acme", "userNameOrEmailAddress": "admin@acme.test", "password": "pw"
        }));
        then.status(418);
    });
    let out = client(&server)
        .login()
        .api_key("key-1")
        .tenancy_name("acme")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    m.assert_async().await;
    let data = out.into_inner().data.unwrap();
    assert_eq!(data.access_token.as_deref(), Some("at"));
    assert_eq!(data.refresh_token_expire_in_seconds, Some(604800));
    m.delete_async().await;
    let _ = client(&server).login().api_key("key-1").tenancy_name("acme").body(body).send().await;
    raw.assert_async().await;
}

#[tokio::test]
async fn login_error_status_decodes_the_envelope() {
    let server = MockServer::start_async().await;
    server.login(|when, then| {
        when.api_key("key-1");
        then.client_error(
            401,
            &types::ApiOutput {
                error_code: Some(401),
                error_message: Some("Invalid user name or password".into()),
                ..Default::default()
            },
        );
    });
    let body = types::LoginInput {
        tenancy_name: "acme".parse().unwrap(),
        user_name_or_email_address: "u".parse().unwrap(),
        password: "p".parse().unwrap(),
    };
    match client(&server).login().api_key("key-1").tenancy_name("acme").body(body).send().await {
        Err(vlens_client::Error::ErrorResponse(rv)) => {
            assert_eq!(rv.status(), 401);
            assert_eq!(rv.error_message.as_deref(), Some("Invalid user name or password"));
        }
        other => panic!("expected a typed 401, got {other:?}"),
    }
    // Over-long input is refused by the generated builder before sending.
    assert!("x".repeat(33).parse::<types::LoginInputPassword>().is_err());
}

#[tokio::test]
async fn refresh_token_sends_the_refresh_token_and_decodes_both_tokens() {
    let server = MockServer::start_async().await;
    let body = types::RefreshTokenInput { refresh_token: Some("rt-1".into()) };
    let m = server.refresh_token(|when, then| {
        when.api_key("key-1").body(&body);
        then.ok(&types::ApiOutputRefreshTokenOutput {
            data: Some(types::RefreshTokenOutput {
                access_token: Some("at-2".into()),
                encrypted_access_token: Some("enc".into()),
                expire_in_seconds: Some(60),
                refresh_token: Some("rt-1".into()),
                new_refresh_token: Some("rt-2".into()),
            }),
            ..Default::default()
        });
    });
    let raw = server.mock(|when, then| {
        when.path("/api/credentials/RefreshToken").json_body(json!({"refreshToken": "rt-1"}));
        then.status(418);
    });
    let out =
        client(&server).refresh_token().api_key("key-1").body(body.clone()).send().await.unwrap();
    m.assert_async().await;
    let data = out.into_inner().data.unwrap();
    assert_eq!(data.new_refresh_token.as_deref(), Some("rt-2"));
    assert_eq!(data.encrypted_access_token.as_deref(), Some("enc"));
    m.delete_async().await;
    let _ = client(&server).refresh_token().api_key("key-1").body(body).send().await;
    raw.assert_async().await;
}

#[tokio::test]
async fn template_fields_decode_recursively() {
    let server = MockServer::start_async().await;
    let m = server.get_business_request_type_template_fields(|when, then| {
        when.api_key("key-1").authorization("Bearer user-1").request_type_id(414).is_localized(None);
        then.into_inner().status(200).json_body(json!({
            "data": {
                "id": 414,
                "name": "Personal loan",
                "requestsFields": [{
                    "order": 1, "key": "fullName", "displayText": "Full name", "type": "text",
                    "visibleToUser": true, "tabularData": [["a", "b"]], "availableValues": [],
                    "relatedQuestions": [{
                        "key": "employer", "type": "text",
                        "relatedQuestions": [{"key": "employerAddress"}]
                    }],
                    "availableValuesItems": [{"id": 1, "name": "Yes", "relatedQuestions": [{"key": "since"}]}],
                    "somethingNew": {"ignored": true}
                }]
            },
            "error_code": null, "error_message": null, "error_descriptions": null,
            "services": {"Validations": {}}
        }));
    });
    let out = client(&server)
        .get_business_request_type_template_fields()
        .api_key("key-1")
        .authorization("Bearer user-1")
        .request_type_id(414)
        .send()
        .await
        .unwrap();
    m.assert_async().await;
    let data = out.into_inner().data.unwrap();
    assert_eq!(data.id, Some(414));
    let field = &data.requests_fields.as_ref().unwrap()[0];
    assert_eq!(field.key.as_deref(), Some("fullName"));
    assert_eq!(field.tabular_data.as_ref().unwrap()[0], vec!["a", "b"]);
    let nested = &field.related_questions.as_ref().unwrap()[0];
    assert_eq!(
        nested.related_questions.as_ref().unwrap()[0].key.as_deref(),
        Some("employerAddress")
    );
    let item = &field.available_values_items.as_ref().unwrap()[0];
    assert_eq!(item.related_questions.as_ref().unwrap()[0].key.as_deref(), Some("since"));
}

#[tokio::test]
async fn template_fields_without_bearer_send_no_authorization_header() {
    let server = MockServer::start_async().await;
    let m = server.get_business_request_type_template_fields(|when, then| {
        when.api_key("key-1").authorization(None).request_type_id(7).is_localized(true);
        then.ok(&types::ApiOutputRequestTypeTemplate::default());
    });
    client(&server)
        .get_business_request_type_template_fields()
        .api_key("key-1")
        .request_type_id(7)
        .is_localized(true)
        .send()
        .await
        .unwrap();
    m.assert_async().await;
}
