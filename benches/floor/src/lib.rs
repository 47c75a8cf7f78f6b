//! The compile-cost floor (see BENCHMARKS.md): what one `embed-sessions` call does, written by
//! hand with reqwest (rustls, JSON), serde and tokio only. `scripts/compile-cost.sh` builds this
//! library beside `embed-sessions`; the binary (`src/main.rs`) runs it once, for
//! `scripts/peak-memory.sh`.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// `POST /auth/embed/session` body.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Request<'a> {
    sub: &'a str,
    tenant_id: &'a str,
}

/// VRPlatform's embed session.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    pub access_token: String,
    pub expires_at: String,
    pub tenant_id: String,
    pub user_id: String,
}

/// A client with the facade's defaults: 5 s connect timeout, 30 s timeout, no redirects.
pub fn client() -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(30))
        .redirect(reqwest::redirect::Policy::none())
        .build()
}

/// Mints one embed session.
pub async fn embed_session(
    client: &reqwest::Client,
    base_url: &str,
    api_key: &str,
    sub: &str,
    tenant_id: &str,
) -> reqwest::Result<Session> {
    client
        .post(format!("{base_url}/auth/embed/session"))
        .header("x-api-key", api_key)
        .json(&Request { sub, tenant_id })
        .send()
        .await?
        .error_for_status()?
        .json()
        .await
}
