//! A lease on a Redis key: one holder at a time, expiring when its holder is gone.

use std::time::{Duration, Instant};

use super::{Fleet, random_token};
use crate::core::error::ErrorKind;
use crate::{Error, Secret};

/// Deletes the lease only if it still holds this token.
const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
";

/// Extends the lease only if it still holds this token.
const EXTEND: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
";

/// How often a waiting instance looks whether the lease is free.
const POLL: Duration = Duration::from_millis(25);

/// A held lease. While it lives a task extends it every third of its time to live; dropping
/// it releases it (compare-and-delete, so a lease that expired and was taken by another
/// instance is left alone). Its token fences writes: see [`Fleet::save`].
#[derive(Debug)]
pub struct Lease {
    fleet: Fleet,
    key: String,
    token: Secret,
    extender: tokio::task::JoinHandle<()>,
    /// Set by [`Lease::release`]: nothing left for `Drop` to do.
    released: bool,
}

impl Lease {
    pub(super) async fn acquire(
        fleet: &Fleet,
        key: String,
        ttl: Duration,
        wait: Duration,
    ) -> Result<Self, Error> {
        let token = random_token();
        let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let deadline = Instant::now() + wait;
        loop {
            let taken: Option<String> = redis::cmd("SET")
                .arg(&key)
                .arg(token.expose())
                .arg("NX")
                .arg("PX")
                .arg(ttl_ms)
                .query_async(&mut fleet.conn())
                .await
                .map_err(|e| fleet.lost("taking a lease", e))?;
            if taken.is_some() {
                let extender = tokio::spawn(extend(fleet.clone(), key.clone(), token.clone(), ttl));
                tracing::debug!(lease = %key, "lease taken");
                return Ok(Self { fleet: fleet.clone(), key, token, extender, released: false });
            }
            if Instant::now() + POLL > deadline {
                return Err(Error::new(ErrorKind::Timeout).with_message(format!(
                    "the lease {key} stayed held by another instance for {:.1} s; it expires \
                     on its own within {:.1} s if its holder is gone",
                    wait.as_secs_f64(),
                    ttl.as_secs_f64()
                )));
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The lease's full Redis key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The holder's token (the fence).
    pub(crate) fn token(&self) -> &Secret {
        &self.token
    }

    /// Releases the lease now (dropping it does the same, in a spawned task).
    pub async fn release(mut self) {
        self.extender.abort();
        let _ = release(&self.fleet, &self.key, &self.token).await;
        self.released = true;
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.extender.abort();
        if self.released {
            return;
        }
        let (fleet, key, token) = (self.fleet.clone(), self.key.clone(), self.token.clone());
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move {
                let _ = release(&fleet, &key, &token).await;
            });
        }
    }
}

async fn release(fleet: &Fleet, key: &str, token: &Secret) -> Result<(), redis::RedisError> {
    redis::Script::new(RELEASE)
        .key(key)
        .arg(token.expose())
        .invoke_async::<i64>(&mut fleet.conn())
        .await
        .map(|_| ())
}

/// Extends the lease every third of its time to live until aborted or lost.
async fn extend(fleet: Fleet, key: String, token: Secret, ttl: Duration) {
    let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
    loop {
        tokio::time::sleep(ttl / 3).await;
        let held: Result<i64, _> = redis::Script::new(EXTEND)
            .key(&key)
            .arg(token.expose())
            .arg(ttl_ms)
            .invoke_async(&mut fleet.conn())
            .await;
        if !matches!(held, Ok(1)) {
            tracing::debug!(lease = %key, "lease lost; writes under it will be refused");
            return;
        }
    }
}
