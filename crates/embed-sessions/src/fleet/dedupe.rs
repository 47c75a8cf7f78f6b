//! The inbound-event dedupe store on Redis: a redelivery that reaches another replica is
//! still a duplicate.

use std::time::Duration;

use crate::Secret;
use crate::core::inbound::{
    Claim, DEFAULT_CLAIM_TTL, DEFAULT_RETENTION, DedupeFuture, DedupeStore,
};

use super::Fleet;

/// `SET key claim NX PX ttl`; when the key exists: 1 for handled, 2 for being handled.
const CLAIM: &str = r"
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 0 end
if redis.call('GET', KEYS[1]) == 'done' then return 1 end
return 2
";

/// Deletes the key only while it still holds this store's claim.
const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
";

/// A [`DedupeStore`] shared by every replica through the fleet's Redis.
///
/// Keys are `<prefix>event:<SHA-256 of the event key>` (no event id in clear). A claim lives
/// for the claim TTL (default 5 minutes) so that a replica that dies while handling an event
/// does not make it a duplicate for ever; a handled key lives for the retention window
/// (default 24 hours). If Redis restarts empty, events handled before are handled again when
/// redelivered: handlers act on the confirmed state, so a repeat is harmless. With Redis
/// down, `claim` fails: answer the provider with a 5xx so that it redelivers.
#[derive(Debug, Clone)]
pub struct RedisDedupe {
    fleet: Fleet,
    retention: Duration,
    claim_ttl: Duration,
    /// This store's claim value: release deletes only its own claims.
    claim_value: Secret,
}

impl RedisDedupe {
    /// A store on `fleet` that remembers handled events for `retention`.
    pub fn new(fleet: &Fleet, retention: Duration) -> Self {
        Self {
            fleet: fleet.clone(),
            retention,
            claim_ttl: DEFAULT_CLAIM_TTL,
            claim_value: Secret::new(format!("claim:{}", super::random_token().expose())),
        }
    }

    /// A store with the default retention (24 hours).
    pub fn with_defaults(fleet: &Fleet) -> Self {
        Self::new(fleet, DEFAULT_RETENTION)
    }

    /// How long a claim holds before another replica may take the event over.
    pub fn with_claim_ttl(mut self, ttl: Duration) -> Self {
        self.claim_ttl = ttl;
        self
    }

    fn key(&self, event_key: &str) -> String {
        self.fleet.key(&format!("event:{}", Fleet::digest(&[event_key])))
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}

impl DedupeStore for RedisDedupe {
    fn claim<'a>(&'a self, key: &'a str) -> DedupeFuture<'a, Claim> {
        Box::pin(async move {
            let code: i64 = redis::Script::new(CLAIM)
                .key(self.key(key))
                .arg(self.claim_value.expose())
                .arg(millis(self.claim_ttl))
                .invoke_async(&mut self.fleet.conn())
                .await
                .map_err(|e| self.fleet.lost("claiming an event", e))?;
            Ok(match code {
                0 => Claim::First,
                1 => Claim::Done,
                _ => Claim::InProgress,
            })
        })
    }

    fn complete<'a>(&'a self, key: &'a str) -> DedupeFuture<'a, ()> {
        Box::pin(async move {
            redis::cmd("SET")
                .arg(self.key(key))
                .arg("done")
                .arg("PX")
                .arg(millis(self.retention))
                .query_async::<()>(&mut self.fleet.conn())
                .await
                .map_err(|e| self.fleet.lost("marking an event handled", e))
        })
    }

    fn release<'a>(&'a self, key: &'a str) -> DedupeFuture<'a, ()> {
        Box::pin(async move {
            redis::Script::new(RELEASE)
                .key(self.key(key))
                .arg(self.claim_value.expose())
                .invoke_async::<i64>(&mut self.fleet.conn())
                .await
                .map(drop)
                .map_err(|e| self.fleet.lost("releasing an event claim", e))
        })
    }
}
