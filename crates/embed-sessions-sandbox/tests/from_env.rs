//! `VlensClient::from_env` reads `VLENS_IFRAME_ORIGIN` (the sandbox's `vlensApp`, which has a
//! path prefix) and the facade's `<origin>/session?token=...` lands on the sandbox's page.
//! Alone in its binary: it sets process environment variables.

use embed_sessions::vlens::VlensClient;
use embed_sessions_sandbox::Sandbox;

#[tokio::test]
async fn from_env_uses_the_iframe_origin_and_rejects_a_bad_one() {
    let sb = Sandbox::start().await.unwrap();
    // SAFETY: the only test in this binary; no other thread reads the environment meanwhile.
    unsafe {
        std::env::set_var("VLENS_API_KEY", "from-env-key");
        std::env::set_var("VLENS_BASE_URL", &sb.urls().vlens);
        std::env::set_var("VLENS_IFRAME_ORIGIN", &sb.urls().vlens_app);
    }
    let vlens = VlensClient::from_env().unwrap();
    let s = vlens.auth_session().email("env@example.com").send().await.unwrap();
    let url = s.iframe_url();
    assert!(url.starts_with(&format!("{}/session?token=", sb.urls().vlens_app)), "{url}");
    let html = reqwest::get(&url).await.unwrap().text().await.unwrap();
    assert!(html.contains("env@example.com") && html.contains(r#"data-state="issued""#), "{html}");
    // Plain http on a non-loopback host is refused, like a base URL.
    unsafe { std::env::set_var("VLENS_IFRAME_ORIGIN", "http://example.com") };
    let e = VlensClient::from_env().unwrap_err();
    assert!(e.to_string().contains("https"), "{e}");
    // Unset: the default origin.
    unsafe { std::env::remove_var("VLENS_IFRAME_ORIGIN") };
    let s = VlensClient::from_env()
        .unwrap()
        .auth_session()
        .email("env@example.com")
        .send()
        .await
        .unwrap();
    assert!(s.iframe_url().starts_with("https://app.vlenseg.com/session?token="));
}
