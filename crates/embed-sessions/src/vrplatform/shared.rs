//! The second level of the session cache, in Redis (feature `redis`): N instances asking for
//! one (sub, tenant) cause one upstream call per token lifetime.
//!
//! The record `<prefix>vrplatform:session:<digest>` holds the session as VRPlatform sent it,
//! sealed, and expires with it; its digest is a SHA-256 of the provider key, tenant, auto
//! provisioning and `sub` (no user id or key in a Redis key). A miss takes the lease
//! `<prefix>vrplatform:lease:<digest>`, reads again (another instance may have just fetched),
//! and only then asks VRPlatform. Redis failing is logged and the call goes upstream: the
//! second level never makes a session unavailable.

use std::time::Duration;

use chrono::Utc;
use uuid::Uuid;

use super::{VrPlatformSession, raw::types};
use crate::core::error::Error;
use crate::fleet::Fleet;

/// How long an instance waits for another's fetch of the same key.
const LEASE_WAIT: Duration = Duration::from_secs(35);
/// The fetch lease lives this long unless extended.
const LEASE_TTL: Duration = Duration::from_secs(10);

/// The Redis level of one cache.
#[derive(Debug, Clone)]
pub(super) struct SharedLevel {
    pub fleet: Fleet,
}

impl SharedLevel {
    fn digest(key: &str, sub: &str, tenant: Uuid, auto: bool) -> String {
        Fleet::digest(&[key, &tenant.to_string(), if auto { "auto" } else { "existing" }, sub])
    }

    /// A session fresh for more than `margin`, from Redis.
    async fn read(
        &self,
        record: &str,
        margin: Duration,
    ) -> Result<Option<VrPlatformSession>, Error> {
        let Some(json) = self.fleet.load(record).await?.value else { return Ok(None) };
        let Ok(raw) = serde_json::from_slice::<types::EmbedSession>(&json) else { return Ok(None) };
        let session = VrPlatformSession::try_from(raw)?;
        let left = (session.expires_at() - Utc::now()).to_std().unwrap_or(Duration::ZERO);
        Ok((left > margin).then_some(session))
    }

    /// The session from Redis, or from `fetch` (under the lease, written to Redis after).
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
        let digest = Self::digest(api_key, sub, tenant, auto);
        let record = self.fleet.key(&format!("vrplatform:session:{digest}"));
        match self.read(&record, margin).await {
            Ok(Some(session)) => return Ok(session),
            Ok(None) => {}
            Err(e) => {
                tracing::debug!(error = %e, "vrplatform session cache: Redis level unusable");
                return fetch().await;
            }
        }
        let lease = match self
            .fleet
            .lease(&format!("vrplatform:lease:{digest}"), LEASE_TTL, LEASE_WAIT)
            .await
        {
            Ok(lease) => lease,
            Err(e) => {
                tracing::debug!(error = %e, "vrplatform session cache: no lease, fetching");
                return fetch().await;
            }
        };
        if let Ok(Some(session)) = self.read(&record, margin).await {
            lease.release().await;
            return Ok(session);
        }
        let fetched = fetch().await;
        if let Ok(session) = &fetched {
            self.write(&record, session, &lease).await;
        }
        lease.release().await;
        fetched
    }

    async fn write(&self, record: &str, session: &VrPlatformSession, lease: &crate::fleet::Lease) {
        let raw = serde_json::json!({
            "accessToken": session.token().expose(),
            "expiresAt": session.expires_at().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "tenantId": session.tenant_id(),
            "userId": session.user_id(),
        });
        let ttl = (session.expires_at() - Utc::now()).to_std().unwrap_or(Duration::ZERO);
        if ttl.is_zero() {
            return;
        }
        // The version read under the lease is the one to replace (0 once the old expired).
        let expected = match self.fleet.load(record).await {
            Ok(r) => r.version,
            Err(_) => return,
        };
        let saved = self
            .fleet
            .save_expiring(record, expected, raw.to_string().as_bytes(), Some(lease), Some(ttl))
            .await;
        if !matches!(saved, Ok(Ok(_))) {
            tracing::debug!("vrplatform session cache: the session was not written to Redis");
        }
    }
}
