//! The second level of the session cache, in Redis (feature `redis`): N instances asking for
//! one (sub, tenant) cause one upstream call per token lifetime ([`Fleet::get_or_fetch`]).
//!
//! The record `<prefix>vrplatform:session:<digest>` holds the session as VRPlatform sent it,
//! sealed, and expires with it; its digest is a SHA-256 of the provider key, tenant, auto
//! provisioning and `sub` (no user id or key in a Redis key).

use std::time::Duration;

use uuid::Uuid;

use super::{VrPlatformSession, raw::types};
use crate::core::error::Error;
use crate::fleet::{Codec, Fleet};

/// The session as stored: VRPlatform's own JSON.
const CODEC: Codec<VrPlatformSession> = Codec {
    encode: |s| {
        let raw = serde_json::json!({
            "accessToken": s.token().expose(),
            "expiresAt": s.expires_at().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "tenantId": s.tenant_id(),
            "userId": s.user_id(),
        });
        Some((raw.to_string().into_bytes(), s.expires_at()))
    },
    decode: |bytes| {
        let raw = serde_json::from_slice::<types::EmbedSession>(bytes).ok()?;
        let session = VrPlatformSession::try_from(raw).ok()?;
        let expires = session.expires_at();
        Some((session, expires))
    },
};

/// The Redis level of one cache.
#[derive(Debug, Clone)]
pub(super) struct SharedLevel {
    pub fleet: Fleet,
}

impl SharedLevel {
    /// The session from Redis, or from `fetch` by one instance (then written to Redis).
    pub async fn get<F, Fut>(
        &self,
        api_key: &str,
        sub: &str,
        tenant: Uuid,
        auto: bool,
        margin: Duration,
        fetch: F,
    ) -> Result<VrPlatformSession, Error>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<VrPlatformSession, Error>>,
    {
        let provisioning = if auto { "auto" } else { "existing" };
        let digest = Fleet::digest(&[api_key, &tenant.to_string(), provisioning, sub]);
        let name = format!("vrplatform:session:{digest}");
        self.fleet.get_or_fetch(&name, margin, CODEC, fetch).await
    }
}
