//! VRPlatform and Vlens through the facade and raw HTTP: documented failures, tokens, schema
//! rejection naming the field, the iframe page.

use std::time::Duration;

use embed_sessions::vlens::{AdminCredentials, VlensClient};
use embed_sessions::vrplatform::VrPlatformClient;
use embed_sessions::{Config, RetryPolicy, Secret};
use embed_sessions_sandbox::Sandbox;
use serde_json::{Value, json};

const TENANT: &str = "4f8f94de-2cc0-4ec7-a7f8-f0c7f560e59a";

fn vrp(sb: &Sandbox, key: &str) -> VrPlatformClient {
    let config = Config::builder(embed_sessions::vrplatform::VrPlatform)
        .api_key(key)
        .base_url(sb.urls().vrplatform.clone())
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    VrPlatformClient::new(config).unwrap()
}

#[tokio::test]
async fn vrplatform_nine_failures_with_documented_status_and_message() {
    let sb = Sandbox::start().await.unwrap();
    let http = reqwest::Client::new();
    let url = format!("{}/auth/embed/session", sb.urls().vrplatform);
    let cases: [(Option<&str>, &str, &str, u16, &str); 9] = [
        (None, "u", TENANT, 401, "Missing provider api key"),
        (Some("invalid_k"), "u", TENANT, 401, "Invalid provider API key, not found"),
        (Some("inactive_k"), "u", TENANT, 401, "Provider API key is inactive"),
        (Some("expired_k"), "u", TENANT, 401, "Provider API key expired"),
        (Some("k"), "u", "00000000-0000-4000-8000-000000000404", 404, "Tenant not found"),
        (
            Some("k"),
            "u",
            "00000000-0000-4000-8000-000000000403",
            401,
            "Provider API key is not allowed for tenant",
        ),
        (Some("k"), "unknown_u", TENANT, 401, "Unknown embedded user"),
        (Some("k"), "inactive_u", TENANT, 401, "Embedded user is not active"),
        (Some("k"), "outsider_u", TENANT, 401, "Embedded user is not allowed to access tenant"),
    ];
    for (key, sub, tenant, status, message) in cases {
        let mut req = http.post(&url).json(&json!({"sub": sub, "tenantId": tenant}));
        if let Some(k) = key {
            req = req.header("x-api-key", k);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), status, "{message}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["message"], message);
        assert!(body["code"].is_string());
    }
    // The facade maps each message to its typed reason (a failure of one is a spec drift).
    let e = vrp(&sb, "expired_key")
        .embed_session()
        .sub("u")
        .tenant_id(TENANT)
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(401));
    assert!(e.reason().is_some(), "{e}");
}

#[tokio::test]
async fn vrplatform_unknown_user_exists_after_auto_provision() {
    let sb = Sandbox::start().await.unwrap();
    let c = vrp(&sb, "k");
    let e = c.embed_session().sub("unknown_new").tenant_id(TENANT).send().await.unwrap_err();
    assert_eq!(e.status(), Some(401));
    let s = c
        .embed_session()
        .sub("unknown_new")
        .tenant_id(TENANT)
        .auto_provision(true)
        .send()
        .await
        .unwrap();
    let payload = serde_json::to_value(s.frontend_payload()).unwrap();
    assert_eq!(payload["tenantId"], TENANT);
    // Now known: no autoProvision needed (a fresh client: no cache).
    vrp(&sb, "k").embed_session().sub("unknown_new").tenant_id(TENANT).send().await.unwrap();
}

#[tokio::test]
async fn vrplatform_tokens_last_15_minutes_and_open_their_tenant_only() {
    let sb = Sandbox::start().await.unwrap();
    let c = vrp(&sb, "k");
    let s = c.embed_session().sub("team-user").tenant_id(TENANT).send().await.unwrap();
    let payload = serde_json::to_value(s.frontend_payload()).unwrap();
    let token = Secret::new(payload["accessToken"].as_str().unwrap().to_string());
    let expires =
        chrono::DateTime::parse_from_rfc3339(payload["expiresAt"].as_str().unwrap()).unwrap();
    let left = expires.with_timezone(&chrono::Utc) - chrono::Utc::now();
    assert!(
        left > chrono::Duration::minutes(14) && left <= chrono::Duration::minutes(15),
        "{left}"
    );
    assert!(
        payload["expiresAt"].as_str().unwrap().ends_with(".000Z")
            || payload["expiresAt"].as_str().unwrap().len() == 24
    );
    let bearer = VrPlatformClient::without_key(
        Config::builder(embed_sessions::vrplatform::VrPlatform)
            .base_url(sb.urls().vrplatform.clone())
            .build()
            .unwrap(),
    )
    .unwrap();
    let team = bearer.team_with_token(TENANT, &token).await.unwrap();
    assert_eq!(serde_json::to_value(&team).unwrap()["id"], TENANT);
    // Another tenant: not visible with this token.
    let other = "5f8f94de-2cc0-4ec7-a7f8-f0c7f560e59a";
    assert_eq!(bearer.team_with_token(other, &token).await.unwrap_err().status(), Some(404));
    // The provider key reads any tenant.
    c.team(other).await.unwrap();
    // A made-up token: 401.
    let fake = Secret::new("vrp_embed_made_up".to_string());
    assert_eq!(bearer.team_with_token(TENANT, &fake).await.unwrap_err().status(), Some(401));
    // 15 minutes of sandbox time later: expired.
    sb.advance_clock(Duration::from_secs(15 * 60));
    assert_eq!(bearer.team_with_token(TENANT, &token).await.unwrap_err().status(), Some(401));
}

#[tokio::test]
async fn request_bodies_that_do_not_match_the_spec_are_rejected_naming_the_field() {
    let sb = Sandbox::start().await.unwrap();
    let http = reqwest::Client::new();
    // VRPlatform: a tenantId that is not a UUID; a missing sub.
    let url = format!("{}/auth/embed/session", sb.urls().vrplatform);
    let r = http
        .post(&url)
        .header("x-api-key", "k")
        .json(&json!({"sub": "u", "tenantId": "nope"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert!(body["issues"][0]["message"].as_str().unwrap().contains("`tenantId`"), "{body}");
    let r = http
        .post(&url)
        .header("x-api-key", "k")
        .json(&json!({"tenantId": TENANT}))
        .send()
        .await
        .unwrap();
    let body: Value = r.json().await.unwrap();
    assert!(body["issues"][0]["message"].as_str().unwrap().contains("sub"), "{body}");
    // Vlens: wrong casing of a documented field.
    let url = format!("{}/api/IdentityUserSession/CreateAuthSession", sb.urls().vlens);
    let r = http
        .post(&url)
        .header("ApiKey", "k")
        .json(&json!({"phoneNumber": "+201234567890", "sessionPermissions": {"digitalIdentityOnly": true}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    let msg = body["error_message"].as_str().unwrap();
    assert!(
        msg.contains("sessionPermissions.digitalIdentityOnly")
            && msg.contains("DigitalIdentityOnly"),
        "{msg}"
    );
    assert_eq!(body["error_code"], 400);
    // Vlens: `sessionInput` for `SessionInput` (invitations), a wrong type.
    let r = http
        .post(&url)
        .header("ApiKey", "k")
        .json(&json!({"phoneNumber": 201234567890_i64}))
        .send()
        .await
        .unwrap();
    let body: Value = r.json().await.unwrap();
    assert!(body["error_message"].as_str().unwrap().contains("`phoneNumber`"), "{body}");
    // bunq: installation without its key.
    let r = http
        .post(format!("{}/installation", sb.urls().bunq))
        .header("User-Agent", "t")
        .header("Cache-Control", "no-cache")
        .json(&json!({"client_public_keys": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert!(
        body["Error"][0]["error_description"].as_str().unwrap().contains("client_public_key"),
        "{body}"
    );
    // Hostile bodies: the provider's error shape, never a crash.
    for raw in ["", "{", "[]", "null", "\"x\"", &"[".repeat(10_000)] {
        let r = http.post(&url).header("ApiKey", "k").body(raw.to_string()).send().await.unwrap();
        assert_eq!(r.status(), 400, "{raw:.20}");
        let body: Value = r.json().await.unwrap();
        assert!(body["error_code"].is_number());
    }
}

#[tokio::test]
async fn vlens_sessions_invitations_templates_and_the_iframe_page() {
    let sb = Sandbox::start().await.unwrap();
    let config = Config::builder(embed_sessions::vlens::Vlens)
        .api_key("vlens-key")
        .base_url(sb.urls().vlens.clone())
        .build()
        .unwrap();
    let vlens = VlensClient::new(config).unwrap().with_iframe_origin(&sb.urls().vlens_app).unwrap();
    let s = vlens.auth_session().phone("+201234567890").contract_type(414).send().await.unwrap();
    let url = s.iframe_url();
    assert!(url.starts_with(&format!("{}/session?token=", sb.urls().vlens_app)), "{url}");
    assert_eq!(sb.vlens_session_user(s.token().expose()).as_deref(), Some("+201234567890"));
    let page = reqwest::get(&url).await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains(r#"data-state="issued""#) && html.contains("+201234567890"), "{html}");
    let unknown =
        reqwest::get(format!("{}/session?token=made-up", sb.urls().vlens_app)).await.unwrap();
    assert_eq!(unknown.status(), 404);
    assert!(unknown.text().await.unwrap().contains(r#"data-state="unknown""#));

    // Invitations need the admin token: without credentials, the sandbox says 401.
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{}/api/IdentityUserSession/CreateInvitation", sb.urls().vlens))
        .header("ApiKey", "k")
        .json(&json!({"SessionInput": {"phoneNumber": "+201234567890"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let admin = vlens.clone().with_admin(AdminCredentials::new("tenant", "admin", "pass-word"));
    let inv = admin
        .invitation()
        .email("user@example.com")
        .contract_type(414)
        .field(414, "fullName", "Ahmed <b>Mohamed</b>")
        .send()
        .await
        .unwrap();
    let html = reqwest::get(inv.iframe_url()).await.unwrap().text().await.unwrap();
    assert!(html.contains("user@example.com") && html.contains("invitation"), "{html}");
    assert!(html.contains("Ahmed &lt;b&gt;Mohamed&lt;/b&gt;"), "escaped: {html}");
    // An unknown template field key is refused, naming it.
    let e = admin
        .invitation()
        .email("user@example.com")
        .field(414, "fullname", "x")
        .send()
        .await
        .unwrap_err();
    assert!(e.to_string().contains("fullname") || format!("{e:?}").contains("fullname"), "{e}");
    // Template fields: nested relatedQuestions.
    let t = serde_json::to_value(admin.template_fields(414).await.unwrap()).unwrap();
    let text = t.to_string();
    // Nested twice: under the field (employerName) and under one of its values.
    assert!(text.contains("employerName") && text.contains("selfEmployedSince"), "{text}");
    assert_eq!(text.matches("employerName").count(), 1, "{text}");
    assert!(vlens.template_fields(999).await.is_err());
    // Wrong admin password: the facade reports the rejection.
    let wrong = vlens.clone().with_admin(AdminCredentials::new("tenant", "admin", "wrong-pass"));
    assert!(wrong.invitation().phone("+201234567890").send().await.is_err());
    // An envelope error on a 200.
    let e = vlens.auth_session().phone("+200000000000").send().await.unwrap_err();
    assert!(e.to_string().contains("5000") || format!("{e:?}").contains("5000"), "{e}");
}

#[tokio::test]
async fn vlens_login_and_refresh_issue_expiring_admin_tokens() {
    let sb = Sandbox::start().await.unwrap();
    let http = reqwest::Client::new();
    let base = &sb.urls().vlens;
    let login = |tenant: &str, password: &str| {
        http.post(format!("{base}/api/credentials/Login"))
            .header("ApiKey", "k")
            .header("TenancyName", tenant.to_string())
            .json(&json!({"tenancyName": tenant, "userNameOrEmailAddress": "admin", "password": password}))
    };
    let r: Value = login("acme", "secret-pass").send().await.unwrap().json().await.unwrap();
    assert_eq!(r["data"]["expireInSeconds"], 86_400);
    assert_eq!(r["data"]["refreshTokenExpireInSeconds"], 604_800);
    let refresh = r["data"]["refreshToken"].as_str().unwrap().to_string();
    let access = r["data"]["accessToken"].as_str().unwrap().to_string();
    let r = login("unknown_acme", "p").send().await.unwrap();
    assert_eq!(r.status(), 401);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error_message"], "There is no tenant defined with name unknown_acme!");
    // Header and body must agree.
    let r = http
        .post(format!("{base}/api/credentials/Login"))
        .header("ApiKey", "k")
        .header("TenancyName", "a")
        .json(&json!({"tenancyName": "b", "userNameOrEmailAddress": "admin", "password": "p"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    // Refresh rotates.
    let r: Value = http
        .post(format!("{base}/api/credentials/RefreshToken"))
        .header("ApiKey", "k")
        .json(&json!({"refreshToken": refresh}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let new_refresh = r["data"]["newRefreshToken"].as_str().unwrap().to_string();
    assert_ne!(new_refresh, refresh);
    let again = http
        .post(format!("{base}/api/credentials/RefreshToken"))
        .header("ApiKey", "k")
        .json(&json!({"refreshToken": refresh}))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 401, "a used refresh token is refused");
    // After 24 h of sandbox time the access token no longer opens invitations.
    let invite = || {
        http.post(format!("{base}/api/IdentityUserSession/CreateInvitation"))
            .header("ApiKey", "k")
            .header("Authorization", format!("Bearer {access}"))
            .json(&json!({"SessionInput": {"phoneNumber": "+201234567890"}}))
    };
    assert_eq!(invite().send().await.unwrap().status(), 200);
    sb.advance_clock(Duration::from_secs(86_400));
    assert_eq!(invite().send().await.unwrap().status(), 401);
    // The ApiKey header is required everywhere.
    let r = http
        .post(format!("{base}/api/IdentityUserSession/CreateAuthSession"))
        .json(&json!({"phoneNumber": "+201234567890"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error_message"], "ApiKey header is required");
}
