//! Secrets the sandbox receives or issues never appear on its page, in its request log or in
//! what `on_request` (the CLI's log) sees.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use embed_sessions_sandbox::{REDACTED, Sandbox};
use embed_sessions_testkit::bunq::RawBunq;
use serde_json::json;

#[tokio::test]
async fn secrets_are_redacted_everywhere() {
    let logged = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = logged.clone();
    let sb = Sandbox::builder()
        .bunq_session_interval(Duration::ZERO)
        .on_request(move |r| sink.lock().unwrap().push(serde_json::to_string(r).unwrap()))
        .start()
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let mut secrets = vec![
        "vlens-api-key-SECRET-1".to_string(),
        "admin-PASSWORD-2".to_string(),
        "vrp-provider-key-SECRET-3".to_string(),
        "sandbox_bunq_api_key_SECRET_4".to_string(),
    ];
    // Vlens: API key, password; the issued tokens.
    let login: serde_json::Value = http
        .post(format!("{}/api/credentials/Login", sb.urls().vlens))
        .header("ApiKey", &secrets[0])
        .header("TenancyName", "acme")
        .json(&json!({"tenancyName": "acme", "userNameOrEmailAddress": "admin", "password": secrets[1]}))
        .send().await.unwrap().json().await.unwrap();
    let access = login["data"]["accessToken"].as_str().unwrap().to_string();
    secrets.push(access.clone());
    secrets.push(login["data"]["refreshToken"].as_str().unwrap().to_string());
    let s: serde_json::Value = http
        .post(format!("{}/api/IdentityUserSession/CreateInvitation", sb.urls().vlens))
        .header("ApiKey", &secrets[0])
        .header("Authorization", format!("Bearer {access}"))
        .json(&json!({"SessionInput": {"phoneNumber": "+201234567890"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = s["data"].as_str().unwrap().to_string();
    // The iframe page: the token travels in the query.
    http.get(format!("{}/session?token={token}", sb.urls().vlens_app)).send().await.unwrap();
    secrets.push(token);
    // VRPlatform: provider key and bearer token.
    let v: serde_json::Value = http
        .post(format!("{}/auth/embed/session", sb.urls().vrplatform))
        .header("x-api-key", &secrets[2])
        .json(&json!({"sub": "u1", "tenantId": "4f8f94de-2cc0-4ec7-a7f8-f0c7f560e59a"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let bearer = v["accessToken"].as_str().unwrap().to_string();
    http.get(format!("{}/teams/4f8f94de-2cc0-4ec7-a7f8-f0c7f560e59a", sb.urls().vrplatform))
        .header("Authorization", format!("Bearer {bearer}"))
        .send()
        .await
        .unwrap();
    secrets.push(bearer);
    // bunq: the API key as `secret`, installation and session tokens.
    let mut c = RawBunq::new(&sb.urls().bunq);
    c.open(&secrets[3]).await;
    secrets.push(c.installation.clone().unwrap());
    secrets.push(c.session.clone().unwrap());

    let page = http
        .get(format!("{}/_sandbox/requests", sb.urls().url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let home = http.get(&sb.urls().url).send().await.unwrap().text().await.unwrap();
    let log = logged.lock().unwrap().join("\n");
    let listed = serde_json::to_string(&sb.requests()).unwrap();
    assert!(sb.requests().len() >= 8);
    for text in [&page, &home, &log, &listed] {
        for s in &secrets {
            assert!(!text.contains(s.as_str()), "secret {s} visible");
        }
    }
    assert!(page.contains(REDACTED) && log.contains(REDACTED));
    // What is not secret stays readable.
    assert!(page.contains("+201234567890") && page.contains("acme"), "{page:.400}");
    assert!(log.contains("/auth/embed/session"));
}
