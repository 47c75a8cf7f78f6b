//! bunq contexts in Redis, shared by the instances of a fleet (feature `redis`).

use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use super::store::{ContextStore, StoreFuture, StoreLock, StoredContext};
use crate::core::error::{Error, ErrorKind};
use crate::fleet::{Fleet, Lease, Refused};

/// How long a creation or renewal lease lives without being extended (its holder extends it
/// while it works; a crashed holder's lease is free again after this).
pub const DEFAULT_LEASE_TTL: Duration = Duration::from_secs(10);
/// How long an instance waits for another's lease before giving up with a timeout.
pub const DEFAULT_LEASE_WAIT: Duration = Duration::from_secs(90);

/// One bunq context in Redis, by name: `<prefix>bunq:context:<name>`, sealed with the store
/// key, saved by compare-and-set on its version (a copy older than what Redis holds is never
/// written: the save fails with [`ErrorKind::Store`]); creation and renewal run under the
/// lease `<prefix>bunq:lease:<name>`, one instance at a time, fenced by the lease's token.
/// Use one value per instance (process) and context: the lease is re-entrant within it.
///
/// ```no_run
/// # async fn demo() -> Result<(), embed_sessions::Error> {
/// use embed_sessions::bunq::{BunqClient, RedisContextStore};
/// use embed_sessions::fleet::Fleet;
/// let fleet = Fleet::from_env().await?.expect("EMBED_SESSIONS_REDIS_URL is set");
/// let ctx = BunqClient::from_env()?
///     .context()
///     .store(RedisContextStore::new(&fleet, "partner")?)
///     .send()
///     .await?;
/// println!("session {}", ctx.session().await?.id());
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct RedisContextStore {
    fleet: Fleet,
    name: String,
    key: String,
    lease_name: String,
    lease_ttl: Duration,
    lease_wait: Duration,
    /// The version this instance last read or wrote.
    version: Mutex<u64>,
    /// The lease while held (through the `StoreLock` handed out), the fence of every save.
    lease: Mutex<Weak<Lease>>,
}

impl RedisContextStore {
    /// The context named `name` (letters, digits, `.`, `-`, `_`, `@`; at most 200).
    pub fn new(fleet: &Fleet, name: &str) -> Result<Self, Error> {
        let ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '@');
        if name.is_empty() || name.len() > 200 || !name.chars().all(ok) {
            return Err(Error::invalid_input(
                "context",
                "a context name is 1 to 200 letters, digits, `.`, `-`, `_` or `@`",
            ));
        }
        Ok(Self {
            fleet: fleet.clone(),
            name: name.to_string(),
            key: fleet.key(&format!("bunq:context:{name}")),
            lease_name: format!("bunq:lease:{name}"),
            lease_ttl: DEFAULT_LEASE_TTL,
            lease_wait: DEFAULT_LEASE_WAIT,
            version: Mutex::new(0),
            lease: Mutex::new(Weak::new()),
        })
    }

    /// Changes the lease's time to live (default [`DEFAULT_LEASE_TTL`]) and how long to wait
    /// for another instance's lease (default [`DEFAULT_LEASE_WAIT`]).
    pub fn with_lease(mut self, ttl: Duration, wait: Duration) -> Self {
        self.lease_ttl = ttl.max(Duration::from_millis(30));
        self.lease_wait = wait;
        self
    }

    /// The context's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The version of the context this instance last read or wrote (0: none).
    pub fn version(&self) -> u64 {
        *self.version.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn set_version(&self, v: u64) {
        *self.version.lock().unwrap_or_else(|p| p.into_inner()) = v;
    }

    fn held_lease(&self) -> Option<Arc<Lease>> {
        self.lease.lock().unwrap_or_else(|p| p.into_inner()).upgrade()
    }
}

impl ContextStore for RedisContextStore {
    fn load(&self) -> StoreFuture<'_, Option<StoredContext>> {
        Box::pin(async move {
            let record = self.fleet.load(&self.key).await?;
            self.set_version(record.version);
            match record.value {
                None => Ok(None),
                Some(json) => StoredContext::from_json(&json).map(Some).map_err(|e| {
                    let why = e.to_string();
                    e.with_message(format!("{}: {why}", self.describe()))
                }),
            }
        })
    }

    fn save<'a>(&'a self, context: &'a StoredContext) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let json = context.to_json()?;
            let lease = self.held_lease();
            let expected = self.version();
            let saved =
                self.fleet.save(&self.key, expected, json.expose().as_bytes(), lease.as_deref());
            match saved.await? {
                Ok(v) => {
                    self.set_version(v);
                    Ok(())
                }
                Err(Refused::Newer(v)) => Err(Error::new(ErrorKind::Store).with_message(format!(
                    "{}: another instance saved version {v} after this one read version \
                     {expected}; this older copy was not written (open the context again)",
                    self.describe()
                ))),
                Err(Refused::Fenced) => Err(Error::new(ErrorKind::Store).with_message(format!(
                    "{}: this instance's lease expired before it saved (another may hold it \
                     now); nothing was written",
                    self.describe()
                ))),
            }
        })
    }

    fn describe(&self) -> String {
        format!("the bunq context `{}` in Redis at {} ({})", self.name, self.fleet.url(), self.key)
    }

    fn lock(&self) -> StoreFuture<'_, Option<StoreLock>> {
        Box::pin(async move {
            // Re-entrant within this store: a renewal inside a creation runs under the lease
            // the creation holds (one store value per instance and context).
            if let Some(held) = self.held_lease() {
                return Ok(Some(lock(held)));
            }
            let lease = Arc::new(
                self.fleet.lease(&self.lease_name, self.lease_ttl, self.lease_wait).await?,
            );
            *self.lease.lock().unwrap_or_else(|p| p.into_inner()) = Arc::downgrade(&lease);
            Ok(Some(lock(lease)))
        })
    }
}

/// A lock whose release gives the lease back (compare-and-delete) unless a re-entrant holder
/// in this instance still has it.
fn lock(lease: Arc<Lease>) -> StoreLock {
    StoreLock::with_release(move || async move {
        if let Ok(lease) = Arc::try_unwrap(lease) {
            lease.release().await;
        }
    })
}
