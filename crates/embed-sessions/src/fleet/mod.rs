//! Several instances of one backend sharing state through Redis (feature `redis`).
//!
//! A [`Fleet`] is one Redis connection (redis-rs's reconnecting, multiplexed
//! `ConnectionManager`), a key prefix and the [`StoreKey`] that seals every value written.
//! On it:
//!
//! - [`Lease`]: one holder at a time for a piece of work (`SET key token NX PX`), extended
//!   while the work runs, released by a compare-and-delete script; a crashed holder's lease
//!   expires after its time to live and another instance takes over. The holder's token is
//!   the fencing check: a result is written only while the token still holds the lease.
//! - Versioned, sealed records: [`Fleet::load`] and [`Fleet::save`], a compare-and-set on a
//!   version in one script, so an instance holding an older copy never overwrites a newer one
//!   and two writers never both win.
//!
//! What uses it: `bunq::RedisContextStore` (bunq contexts, one creation and one renewal
//! across the fleet). Nothing here names a provider.
//!
//! Redis unreachable at start is a [`ErrorKind::Store`] error naming the URL (its password
//! hidden); lost mid-operation, a typed error and nothing half-written (every write is one
//! script); restarted empty, records are simply absent and are created again.

mod budget;
mod dedupe;
mod lease;
mod seal;

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

pub use dedupe::RedisDedupe;
pub use lease::Lease;
pub use seal::{STORE_KEY_VAR, StoreKey};

use crate::core::error::ErrorKind;
use crate::{Error, Secret};

/// The environment variable with the Redis URL (`redis://[:password@]host:port[/db]`).
pub const REDIS_URL_VAR: &str = "EMBED_SESSIONS_REDIS_URL";
/// The environment variable with the prefix of every key (default [`DEFAULT_PREFIX`]).
pub const REDIS_PREFIX_VAR: &str = "EMBED_SESSIONS_REDIS_PREFIX";
/// The default key prefix.
pub const DEFAULT_PREFIX: &str = "embed-sessions:";
/// How long one Redis command may take before it is a typed error.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(2);

/// A Redis connection shared by the instances of a fleet: prefix, store key. Cheap to clone.
#[derive(Clone)]
pub struct Fleet {
    conn: ConnectionManager,
    prefix: String,
    key: std::sync::Arc<StoreKey>,
    shown_url: String,
}

impl fmt::Debug for Fleet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fleet")
            .field("url", &self.shown_url)
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// A record read with [`Fleet::load`]: its version (0: there is none) and its opened value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The version the record has in Redis (0 when absent).
    pub version: u64,
    /// The opened value, `None` when absent.
    pub value: Option<Vec<u8>>,
}

/// Why [`Fleet::save`] wrote nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Another writer saved first: Redis holds this newer version.
    Newer(u64),
    /// The lease named as fence is no longer held with that token.
    Fenced,
}

/// Compare-and-set of a versioned record, fenced by a lease token.
/// KEYS: record, lease. ARGV: expected version, new sealed value, lease token ("" = none),
/// time to live in ms ("0" = none).
/// Returns the new version, -1 (and the stored version) when another version is stored, -2
/// when the lease is not held with that token.
const SAVE: &str = r"
if ARGV[3] ~= '' and redis.call('GET', KEYS[2]) ~= ARGV[3] then return {-2, 0} end
local v = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
if v ~= tonumber(ARGV[1]) then return {-1, v} end
redis.call('HSET', KEYS[1], 'v', v + 1, 'data', ARGV[2])
if tonumber(ARGV[4]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[4]) end
return {v + 1, 0}
";

impl Fleet {
    /// Connects to `url` (checked with a `PING`), with this key prefix and store key.
    pub async fn connect(url: &str, prefix: &str, key: StoreKey) -> Result<Self, Error> {
        let shown_url = crate::core::config::without_userinfo(url);
        let unreachable = |what: &str, e: redis::RedisError| {
            Error::new(ErrorKind::Store).with_message(format!(
                "Redis at {shown_url} {what}: {}; check {REDIS_URL_VAR} and that the server \
                 runs",
                crate::core::redact::one_line(&e.to_string(), 200)
            ))
        };
        let client = redis::Client::open(url).map_err(|e| {
            Error::config(format!(
                "{REDIS_URL_VAR} ({shown_url}) is not a Redis URL: {}",
                crate::core::redact::one_line(&e.to_string(), 200)
            ))
        })?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(COMMAND_TIMEOUT))
            .set_response_timeout(Some(COMMAND_TIMEOUT))
            .set_number_of_retries(2);
        let conn = tokio::time::timeout(
            COMMAND_TIMEOUT * 3,
            ConnectionManager::new_with_config(client, config),
        )
        .await
        .map_err(|_| {
            Error::new(ErrorKind::Store)
                .with_message(format!("Redis at {shown_url} did not answer in time"))
        })?
        .map_err(|e| unreachable("is unreachable", e))?;
        let mut conn = conn;
        let _: String = redis::cmd("PING")
            .query_async(&mut conn)
            .await
            .map_err(|e| unreachable("refused PING", e))?;
        Ok(Self { conn, prefix: prefix.to_string(), key: key.into(), shown_url })
    }

    /// [`Fleet::connect`] from the environment: `None` when [`REDIS_URL_VAR`] is unset (the
    /// in-process path); the prefix from [`REDIS_PREFIX_VAR`], the store key from
    /// [`STORE_KEY_VAR`] (required with Redis).
    pub async fn from_env() -> Result<Option<Self>, Error> {
        let Some(url) = std::env::var(REDIS_URL_VAR).ok().filter(|u| !u.trim().is_empty()) else {
            return Ok(None);
        };
        Self::connect_url_env(&url).await.map(Some)
    }

    /// [`Fleet::connect`] to `url` (a command-line flag, say), with the prefix from
    /// [`REDIS_PREFIX_VAR`] and the store key from [`STORE_KEY_VAR`].
    pub async fn connect_url_env(url: &str) -> Result<Self, Error> {
        let prefix = std::env::var(REDIS_PREFIX_VAR).unwrap_or_else(|_| DEFAULT_PREFIX.into());
        Self::connect(url, &prefix, StoreKey::from_env()?).await
    }

    /// The full Redis key for `name` (the prefix in front).
    pub fn key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// The URL, its password hidden.
    pub fn url(&self) -> &str {
        &self.shown_url
    }

    /// A hex SHA-256 of `parts` (joined with NUL): a key that names no user or secret.
    pub fn digest(parts: &[&str]) -> String {
        crate::core::digest::sha256_hex(parts)
    }

    pub(crate) fn conn(&self) -> ConnectionManager {
        self.conn.clone()
    }

    pub(crate) fn lost(&self, what: &str, e: redis::RedisError) -> Error {
        let kind = if e.is_timeout() { ErrorKind::Timeout } else { ErrorKind::Store };
        Error::new(kind).with_message(format!(
            "Redis at {} failed while {what}: {}; nothing was written",
            self.shown_url,
            crate::core::redact::one_line(&e.to_string(), 200)
        ))
    }

    /// Reads the record at `key` (a full key, see [`Fleet::key`]) and opens it.
    pub async fn load(&self, key: &str) -> Result<Record, Error> {
        let (version, data): (Option<u64>, Option<String>) = redis::cmd("HMGET")
            .arg(key)
            .arg("v")
            .arg("data")
            .query_async(&mut self.conn())
            .await
            .map_err(|e| self.lost("reading", e))?;
        match (version, data) {
            (Some(v), Some(sealed)) => {
                Ok(Record { version: v, value: Some(self.key.open(key, v, &sealed)?) })
            }
            _ => Ok(Record { version: 0, value: None }),
        }
    }

    /// Writes `value` at `key` as version `expected + 1`, sealed, if Redis still holds
    /// version `expected` (0: none) and, with a `fence`, while that lease is held with its
    /// token. One script: nothing is half-written.
    pub async fn save(
        &self,
        key: &str,
        expected: u64,
        value: &[u8],
        fence: Option<&Lease>,
    ) -> Result<Result<u64, Refused>, Error> {
        self.save_expiring(key, expected, value, fence, None).await
    }

    /// [`Fleet::save`] of a record Redis drops after `ttl` (a cached token).
    pub async fn save_expiring(
        &self,
        key: &str,
        expected: u64,
        value: &[u8],
        fence: Option<&Lease>,
        ttl: Option<Duration>,
    ) -> Result<Result<u64, Refused>, Error> {
        let ttl_ms = ttl.map_or(0, |t| u64::try_from(t.as_millis()).unwrap_or(u64::MAX).max(1));
        let sealed = self.key.seal(key, expected + 1, value)?;
        let (lease_key, token) = match fence {
            Some(l) => (l.key().to_string(), l.token().expose().to_string()),
            None => (self.key("unfenced"), String::new()),
        };
        let (code, stored): (i64, u64) = redis::Script::new(SAVE)
            .key(key)
            .key(lease_key)
            .arg(expected)
            .arg(sealed)
            .arg(token)
            .arg(ttl_ms)
            .invoke_async(&mut self.conn())
            .await
            .map_err(|e| self.lost("saving", e))?;
        Ok(match code {
            -2 => Err(Refused::Fenced),
            -1 => Err(Refused::Newer(stored)),
            v => Ok(u64::try_from(v).unwrap_or_default()),
        })
    }

    /// Takes the lease `name` (a name under the prefix), waiting while another instance holds
    /// it, for at most `wait`. It lives `ttl` unless extended (its holder extends it every
    /// third of `ttl` while it lives) and is released when dropped.
    pub async fn lease(&self, name: &str, ttl: Duration, wait: Duration) -> Result<Lease, Error> {
        Lease::acquire(self, self.key(name), ttl, wait).await
    }
}

/// How a value shared by [`Fleet::get_or_fetch`] is written and read back: its bytes and
/// when it expires.
pub struct Codec<T> {
    /// The bytes to store and the value's expiry (`None`: do not share this one).
    pub encode: fn(&T) -> Option<Expiring<Vec<u8>>>,
    /// The value and its expiry from stored bytes (`None`: unusable, fetch again).
    pub decode: fn(&[u8]) -> Option<Expiring<T>>,
}

/// A value and when it expires.
pub type Expiring<T> = (T, DateTime<Utc>);

/// How long an instance waits for another's fetch of the same shared value.
const FETCH_WAIT: Duration = Duration::from_secs(35);
/// A fetch lease lives this long unless extended.
const FETCH_TTL: Duration = Duration::from_secs(10);

impl Fleet {
    /// A value the fleet shares until it expires (a token): the stored one while it has more
    /// than `margin` left; else one instance (under the lease `<name>:lease`) reads again and,
    /// if still needed, runs `fetch` and stores the result, sealed, expiring with it, while the
    /// others wait and read it. Redis failing is logged and `fetch` runs: the shared level never
    /// makes the value unavailable. `name` is a name under the prefix; use a digest
    /// ([`Fleet::digest`]) rather than user ids or keys in it.
    pub async fn get_or_fetch<T, F, Fut>(
        &self,
        name: &str,
        margin: Duration,
        codec: Codec<T>,
        fetch: F,
    ) -> Result<T, Error>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<T, Error>>,
    {
        let record = self.key(name);
        let fresh = |bytes: &[u8]| {
            let (value, expires) = (codec.decode)(bytes)?;
            let left = (expires - Utc::now()).to_std().unwrap_or(Duration::ZERO);
            (left > margin).then_some(value)
        };
        match self.load(&record).await {
            Ok(r) => {
                if let Some(v) = r.value.as_deref().and_then(fresh) {
                    return Ok(v);
                }
            }
            Err(e) => {
                tracing::debug!(error = %e, "shared value: Redis unusable, fetching");
                return fetch().await;
            }
        }
        let lease = match self.lease(&format!("{name}:lease"), FETCH_TTL, FETCH_WAIT).await {
            Ok(lease) => lease,
            Err(e) => {
                tracing::debug!(error = %e, "shared value: no lease, fetching");
                return fetch().await;
            }
        };
        let again = self.load(&record).await;
        if let Ok(r) = &again
            && let Some(v) = r.value.as_deref().and_then(fresh)
        {
            lease.release().await;
            return Ok(v);
        }
        let fetched = fetch().await;
        if let (Ok(value), Ok(r)) = (&fetched, &again)
            && let Some((bytes, expires)) = (codec.encode)(value)
            && let Ok(ttl) = (expires - Utc::now()).to_std()
            && !ttl.is_zero()
        {
            let saved = self.save_expiring(&record, r.version, &bytes, Some(&lease), Some(ttl));
            if !matches!(saved.await, Ok(Ok(_))) {
                tracing::debug!("shared value: not written to Redis");
            }
        }
        lease.release().await;
        fetched
    }
}

/// A random token (128 bits, hex), as a secret.
pub(crate) fn random_token() -> Secret {
    Secret::new(format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..)))
}
