//! A session cache for backends that serve many iframe loads.
//!
//! Design (no cache crate): one `std::sync::RwLock` over a two-level `HashMap`, keyed by
//! `(tenantId, autoProvision)` then `sub`, so a hit takes one read lock, two hash lookups of
//! borrowed keys (no allocation), one monotonic clock read and one `Arc` clone. A miss takes the
//! write lock briefly to join the key's fetch in flight or start one; the fetch runs in its own
//! task (so a caller that gives up does not cancel it for the others) and publishes its outcome
//! on a `tokio::sync::watch` channel. The lock is never held across an `.await`, so callers for
//! different keys never wait on each other's requests.
//!
//! Why not `moka`: its `future::Cache::try_get_with` gives the same one-request-per-key
//! behaviour, but it adds about ten crates (crossbeam, parking_lot, async-lock, ...), its
//! expiry clock cannot follow `tokio::time::pause`, and its eviction machinery buys nothing at
//! the size of this cache (one entry per user and team, each living 15 minutes).

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, PoisonError, RwLock, Weak};
use std::time::Duration;

use chrono::Utc;
use tokio::sync::watch;
use tokio::time::Instant;
use tracing::Instrument;
use uuid::Uuid;

use super::{CREATE_EMBED_SESSION, VrPlatform, VrPlatformClient, VrPlatformSession, validate_key};
use crate::core::Provider;
use crate::core::error::{Error, ErrorKind};

/// Default margin: a cached session is handed out while it has more than 60 s of life left.
pub const DEFAULT_MARGIN: Duration = Duration::from_secs(60);
/// Default bound on the number of cached keys: 10,000.
pub const DEFAULT_MAX_ENTRIES: usize = 10_000;
/// Longest a session is cached, whatever its `expiresAt` says (VRPlatform issues 15 minutes).
const MAX_CACHED_LIFE: Duration = Duration::from_secs(24 * 60 * 60);

/// Whether a session request may create the embedded user on first access
/// (`autoProvision=true`); part of the cache key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum UserProvisioning {
    /// The user must exist already: an unknown `sub` is
    /// [`VrPlatformReason::UnknownUser`](super::VrPlatformReason::UnknownUser).
    #[default]
    ExistingUser,
    /// VRPlatform creates the user on first access.
    AutoProvision,
}

impl From<bool> for UserProvisioning {
    /// `true`: [`AutoProvision`](Self::AutoProvision) (the `autoProvision` flag).
    fn from(auto_provision: bool) -> Self {
        if auto_provision { Self::AutoProvision } else { Self::ExistingUser }
    }
}

/// The outcome of one upstream fetch, shared by every caller waiting on it.
type Outcome = Result<Arc<VrPlatformSession>, Arc<Error>>;

/// Caches embed sessions per (`sub`, `tenantId`, `autoProvision`) and refreshes them before
/// they expire.
///
/// - A cached session is returned while it has more than the margin (default 60 s, see
///   [`SessionCacheBuilder::margin`]) of life left; after that the next caller fetches a new
///   one. Life left is judged from `expiresAt` against this machine's clock when the session
///   arrives, then followed with the monotonic clock (`tokio::time::Instant`).
/// - Many concurrent callers for one key cause one upstream request and share its outcome;
///   callers for different keys do not wait on each other.
/// - Failures are not cached: the callers waiting on a failed request all get its error, and
///   the next caller sends a new request.
/// - At most [`SessionCacheBuilder::max_entries`] keys are kept: when full, expired entries are
///   dropped first, then (1/32 of the entries at a time) the ones closest to expiry.
///
/// Cheap to clone; clones share the cache. `Debug` never shows a token. Fetches run as tokio
/// tasks, so use it inside a tokio runtime.
///
/// ```no_run
/// use embed_sessions::vrplatform::{SessionCache, UserProvisioning, VrPlatformClient};
/// # async fn demo() -> Result<(), embed_sessions::Error> {
/// let cache = SessionCache::new(VrPlatformClient::from_env()?);
/// // In the handler of each iframe load:
/// let tenant = "4f8f94de-2cc0-4ec7-a7f8-f0c7f560e59a";
/// let session = cache.get("hostaway-user-123", tenant, UserProvisioning::ExistingUser).await?;
/// let body = serde_json::to_string(&session.frontend_payload()).unwrap();
/// # let _ = body;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct SessionCache {
    inner: Arc<Inner>,
}

struct Inner {
    client: VrPlatformClient,
    margin: Duration,
    max_entries: usize,
    map: RwLock<Map>,
    /// The Redis level behind this one, when the cache is shared by a fleet.
    #[cfg(feature = "redis")]
    shared: Option<super::shared::SharedLevel>,
}

#[derive(Default)]
struct Map {
    /// `(tenantId, autoProvision)` → `sub` → slot.
    slots: HashMap<(Uuid, bool), HashMap<Box<str>, Slot>>,
    len: usize,
    next_flight: u64,
}

#[derive(Default)]
struct Slot {
    ready: Option<Ready>,
    flight: Option<Flight>,
}

struct Ready {
    session: Arc<VrPlatformSession>,
    /// The session is handed out until this instant (its expiry minus the margin).
    fresh_until: Instant,
}

struct Flight {
    id: u64,
    outcome: watch::Receiver<Option<Outcome>>,
}

impl Flight {
    /// Whether the fetch can still answer: running, or finished with its outcome published
    /// (a fetch whose task was stopped, by a panic or a runtime shutdown, cannot).
    fn alive(&self) -> bool {
        self.outcome.has_changed().is_ok() || self.outcome.borrow().is_some()
    }
}

impl Slot {
    fn fresh(&self, now: Instant) -> Option<&Arc<VrPlatformSession>> {
        self.ready.as_ref().filter(|r| r.fresh_until > now).map(|r| &r.session)
    }

    /// Eviction order: idle slots before slots with a fetch in flight, then by freshness
    /// (expired or empty first).
    fn eviction_rank(&self) -> (bool, Option<Instant>) {
        (self.flight.is_some(), self.ready.as_ref().map(|r| r.fresh_until))
    }
}

impl Map {
    fn get(&self, tenant: Uuid, auto: bool, sub: &str) -> Option<&Slot> {
        self.slots.get(&(tenant, auto))?.get(sub)
    }

    fn get_mut(&mut self, tenant: Uuid, auto: bool, sub: &str) -> Option<&mut Slot> {
        self.slots.get_mut(&(tenant, auto))?.get_mut(sub)
    }

    fn remove(&mut self, tenant: Uuid, auto: bool, sub: &str) {
        if let Some(subs) = self.slots.get_mut(&(tenant, auto)) {
            if subs.remove(sub).is_some() {
                self.len -= 1;
            }
            if subs.is_empty() {
                self.slots.remove(&(tenant, auto));
            }
        }
    }

    /// Makes room for one more slot. When full, drops every expired idle slot; if that frees
    /// nothing, drops the lowest-ranked 1/32 of the slots at once (at least one), so the scan
    /// under the write lock happens once per that many new keys, not on each.
    fn make_room(&mut self, max_entries: usize, now: Instant) {
        if self.len < max_entries {
            return;
        }
        for subs in self.slots.values_mut() {
            subs.retain(|_, slot| slot.flight.is_some() || slot.fresh(now).is_some());
        }
        self.slots.retain(|_, subs| !subs.is_empty());
        self.len = self.slots.values().map(HashMap::len).sum();
        if self.len < max_entries {
            return;
        }
        let batch = (max_entries / 32).max(1).min(self.len);
        let mut ranked: Vec<_> = self
            .slots
            .iter()
            .flat_map(|(k, subs)| {
                subs.iter().map(move |(sub, slot)| (slot.eviction_rank(), k, sub))
            })
            .collect();
        ranked.select_nth_unstable_by_key(batch - 1, |(rank, _, _)| *rank);
        let victims: Vec<(Uuid, bool, Box<str>)> = ranked[..batch]
            .iter()
            .map(|(_, key, sub)| (key.0, key.1, Box::<str>::clone(sub)))
            .collect();
        for (tenant, auto, sub) in victims {
            self.remove(tenant, auto, &sub);
        }
    }
}

/// Builder of a [`SessionCache`].
///
/// ```
/// use std::time::Duration;
/// use embed_sessions::Config;
/// use embed_sessions::vrplatform::{SessionCache, VrPlatform, VrPlatformClient};
/// let config = Config::builder(VrPlatform).api_key("K").build()?;
/// let client = VrPlatformClient::new(config)?;
/// let cache = SessionCache::builder(client)
///     .margin(Duration::from_secs(120))
///     .max_entries(1_000)
///     .build();
/// assert!(cache.is_empty());
/// # Ok::<(), embed_sessions::Error>(())
/// ```
#[must_use = "call `build` to get the cache"]
#[derive(Debug)]
pub struct SessionCacheBuilder {
    client: VrPlatformClient,
    margin: Duration,
    max_entries: usize,
    #[cfg(feature = "redis")]
    shared: Option<super::shared::SharedLevel>,
}

impl SessionCacheBuilder {
    /// A cached session is handed out only while it has more than this much life left
    /// (default 60 s). Leave the frontend enough time to load the iframe; a margin longer than
    /// the session lifetime (15 minutes) turns caching off.
    pub fn margin(mut self, margin: Duration) -> Self {
        self.margin = margin;
        self
    }

    /// Most keys kept (default 10,000; at least 1).
    pub fn max_entries(mut self, max_entries: usize) -> Self {
        self.max_entries = max_entries.max(1);
        self
    }

    /// Shares the cache with the other instances of a fleet through Redis (feature
    /// `redis`): this cache stays in front; on a miss the session comes from Redis, or one
    /// instance fetches it (under a lease) and writes it there, sealed, until it expires. With
    /// Redis failing, sessions are fetched as without it.
    #[cfg(feature = "redis")]
    pub fn shared(mut self, fleet: &crate::fleet::Fleet) -> Self {
        self.shared = Some(super::shared::SharedLevel { fleet: fleet.clone() });
        self
    }

    /// Builds the (empty) cache.
    pub fn build(self) -> SessionCache {
        SessionCache {
            inner: Arc::new(Inner {
                client: self.client,
                margin: self.margin,
                max_entries: self.max_entries,
                map: RwLock::new(Map::default()),
                #[cfg(feature = "redis")]
                shared: self.shared,
            }),
        }
    }
}

enum Join {
    Hit(Arc<VrPlatformSession>),
    Wait(watch::Receiver<Option<Outcome>>),
}

impl SessionCache {
    /// A cache with the default margin (60 s) and size bound (10,000 keys).
    pub fn new(client: VrPlatformClient) -> Self {
        Self::builder(client).build()
    }

    /// Starts a cache with custom settings.
    pub fn builder(client: VrPlatformClient) -> SessionCacheBuilder {
        SessionCacheBuilder {
            client,
            margin: DEFAULT_MARGIN,
            max_entries: DEFAULT_MAX_ENTRIES,
            #[cfg(feature = "redis")]
            shared: None,
        }
    }

    /// The client used for fetches.
    pub fn client(&self) -> &VrPlatformClient {
        &self.inner.client
    }

    /// The session for (`sub`, `tenant_id`, `provisioning`): the cached one while it has more
    /// than the margin of life left, else a new one (one upstream request however many callers
    /// ask at once). Input is checked first, exactly like
    /// [`EmbedSessionBuilder::send`](super::EmbedSessionBuilder::send).
    pub async fn get(
        &self,
        sub: &str,
        tenant_id: &str,
        provisioning: UserProvisioning,
    ) -> Result<Arc<VrPlatformSession>, Error> {
        let auto_provision = provisioning == UserProvisioning::AutoProvision;
        let (sub, tenant) = validate_key(Some(sub), Some(tenant_id))?;
        let now = Instant::now();
        if let Some(session) =
            self.read().get(tenant, auto_provision, sub).and_then(|s| s.fresh(now))
        {
            return Ok(session.clone());
        }
        let mut outcome = match self.join_or_fetch(sub, tenant, auto_provision) {
            Join::Hit(session) => return Ok(session),
            Join::Wait(rx) => rx,
        };
        let shared = match outcome.wait_for(Option::is_some).await {
            Ok(value) => value.clone(),
            Err(_) => None,
        };
        match shared {
            Some(Ok(session)) => Ok(session),
            Some(Err(error)) => Err(Error::copy_of(&error)),
            None => Err(Error::new(ErrorKind::Session)
                .with_message("the session request ended without an answer (its task stopped)")
                .at(VrPlatform::DESCRIPTOR.name(), CREATE_EMBED_SESSION)),
        }
    }

    /// Forgets the cached session of this key (for example after the frontend reported that
    /// VRPlatform refused its token); a fetch in flight is not affected.
    pub fn invalidate(&self, sub: &str, tenant_id: &str, provisioning: UserProvisioning) {
        let auto_provision = provisioning == UserProvisioning::AutoProvision;
        let Ok(tenant) = Uuid::try_parse(tenant_id) else { return };
        let mut map = self.write();
        if let Some(slot) = map.get_mut(tenant, auto_provision, sub) {
            slot.ready = None;
            if slot.flight.is_none() {
                map.remove(tenant, auto_provision, sub);
            }
        }
    }

    /// Forgets every cached session; fetches in flight complete for their callers.
    pub fn clear(&self) {
        let mut map = self.write();
        map.slots.clear();
        map.len = 0;
    }

    /// How many keys are held (cached sessions, expired or not, and fetches in flight).
    pub fn len(&self) -> usize {
        self.read().len
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Map> {
        self.inner.map.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Map> {
        self.inner.map.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Under the write lock: a fresh session (another caller just stored it), the fetch in
    /// flight for this key, or a new fetch.
    fn join_or_fetch(&self, sub: &str, tenant: Uuid, auto: bool) -> Join {
        let mut map = self.write();
        let now = Instant::now();
        if let Some(slot) = map.get(tenant, auto, sub) {
            if let Some(session) = slot.fresh(now) {
                return Join::Hit(session.clone());
            }
            if let Some(flight) = slot.flight.as_ref().filter(|f| f.alive()) {
                return Join::Wait(flight.outcome.clone());
            }
        } else {
            map.make_room(self.inner.max_entries, now);
            map.slots.entry((tenant, auto)).or_default().insert(sub.into(), Slot::default());
            map.len += 1;
        }
        let id = map.next_flight;
        map.next_flight += 1;
        let (tx, rx) = watch::channel(None);
        if let Some(slot) = map.get_mut(tenant, auto, sub) {
            slot.flight = Some(Flight { id, outcome: rx.clone() });
        }
        drop(map);
        let fetch = fetch(Arc::downgrade(&self.inner), sub.into(), tenant, auto, id, tx);
        tokio::spawn(fetch.instrument(tracing::Span::current()));
        Join::Wait(rx)
    }
}

/// One upstream request: fetch, update the slot it was started for (when it is still there),
/// then publish the outcome to the waiting callers.
async fn fetch(
    cache: Weak<Inner>,
    sub: Box<str>,
    tenant: Uuid,
    auto: bool,
    id: u64,
    tx: watch::Sender<Option<Outcome>>,
) {
    let Some(inner) = cache.upgrade() else { return };
    let client = inner.client.clone();
    tracing::debug!(tenant_id = %tenant, auto_provision = auto, "vrplatform session cache: fetching");
    #[cfg(feature = "redis")]
    let fetched = match inner.shared.clone() {
        Some(shared) => {
            let key = client.core.configured_api_key().map(|k| k.expose().to_string());
            let upstream = || client.create(&sub, tenant, auto);
            let margin = inner.margin;
            drop(inner);
            shared
                .get(key.as_deref().unwrap_or_default(), &sub, tenant, auto, margin, upstream)
                .await
        }
        None => {
            drop(inner);
            client.create(&sub, tenant, auto).await
        }
    };
    #[cfg(not(feature = "redis"))]
    let fetched = {
        drop(inner);
        client.create(&sub, tenant, auto).await
    };
    let outcome: Outcome = fetched.map(Arc::new).map_err(Arc::new);
    if let Some(inner) = cache.upgrade() {
        let mut map = inner.map.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(slot) = map.get_mut(tenant, auto, &sub)
            && slot.flight.as_ref().is_some_and(|f| f.id == id)
        {
            slot.flight = None;
            match &outcome {
                Ok(session) => {
                    let fresh_until = fresh_until(session, inner.margin);
                    slot.ready = Some(Ready { session: session.clone(), fresh_until });
                }
                Err(_) => {
                    if slot.fresh(Instant::now()).is_none() {
                        map.remove(tenant, auto, &sub);
                    }
                }
            }
        }
    }
    if let Err(e) = &outcome {
        tracing::debug!(tenant_id = %tenant, error = %e, "vrplatform session cache: fetch failed");
    }
    // Nobody may be waiting any more; that is fine.
    let _ = tx.send(Some(outcome));
}

/// The instant until which `session` is handed out: now plus its life left (by the wall
/// clock) minus the margin, capped at [`MAX_CACHED_LIFE`]. Already past when less than the
/// margin is left.
fn fresh_until(session: &VrPlatformSession, margin: Duration) -> Instant {
    let now = Instant::now();
    let left = (session.expires_at() - Utc::now()).to_std().unwrap_or(Duration::ZERO);
    now + left.saturating_sub(margin).min(MAX_CACHED_LIFE)
}

impl fmt::Debug for SessionCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionCache")
            .field("client", &self.inner.client)
            .field("margin", &self.inner.margin)
            .field("max_entries", &self.inner.max_entries)
            .field("len", &self.len())
            .finish()
    }
}
