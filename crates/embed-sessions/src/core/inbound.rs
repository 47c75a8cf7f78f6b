//! Inbound events (webhooks, callbacks): the pieces every provider's receiver shares.
//!
//! A provider module parses its own bodies; this module bounds and checks them before any
//! parsing ([`check_body`]), names what is wrong in one error kind
//! ([`ErrorKind::InvalidEvent`]), guards where a request came from ([`SourceAllowlist`],
//! [`UrlToken`]), drops redeliveries ([`DedupeStore`], [`MemoryDedupe`], [`once`]) and says
//! whether the provider's API agrees with what an event claimed ([`Confirmation`]).
//!
//! Nothing in an inbound body is trusted: no documented provider signs these requests, so a
//! handler acts on the confirmation (an authenticated re-read), never on the body.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::error::{Error, ErrorKind};
use super::secret::Secret;

/// The largest inbound body accepted by default: 64 KiB. The documented events are a few
/// hundred bytes, or one object of the provider's API.
pub const DEFAULT_MAX_EVENT_BYTES: usize = 64 * 1024;

/// How long a claimed event stays "being handled" before another replica may take it over
/// (the claimer died): 5 minutes.
pub const DEFAULT_CLAIM_TTL: Duration = Duration::from_secs(300);

/// How long a handled event id is remembered by default: 24 hours, far longer than any
/// documented redelivery schedule (the providers' own figures are in their `events` modules).
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(24 * 3600);

/// An [`ErrorKind::InvalidEvent`] error for `provider`: `message` says what is wrong, with a
/// bounded excerpt of `body` (string values hidden).
pub fn invalid_event(provider: &'static str, message: impl Into<String>, body: &[u8]) -> Error {
    Error::new(ErrorKind::InvalidEvent)
        .with_message(message)
        .with_excerpt(body, None)
        .at(provider, "parse_event")
}

/// Refuses a body before parsing: over `max` bytes (by its `Content-Length` or its length), or
/// sent with a content type that is not JSON. A missing content type is accepted.
pub fn check_body(
    provider: &'static str,
    headers: &http::HeaderMap,
    body: &[u8],
    max: usize,
) -> Result<(), Error> {
    let declared = headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let size = declared.unwrap_or(0).max(body.len() as u64);
    let refused = |message: String| {
        Error::new(ErrorKind::InvalidEvent).with_message(message).at(provider, "parse_event")
    };
    if size > max as u64 {
        return Err(refused(format!(
            "the body is {size} bytes, over the limit of {max}; refused before parsing"
        )));
    }
    if let Some(ct) = headers.get(http::header::CONTENT_TYPE) {
        let ct = ct.to_str().unwrap_or("").to_ascii_lowercase();
        let essence = ct.split(';').next().unwrap_or("").trim();
        if !(essence == "application/json" || essence.ends_with("+json")) {
            return Err(invalid_event(
                provider,
                format!("the content type is `{}`, not JSON", super::redact::one_line(essence, 80)),
                b"",
            ));
        }
    }
    Ok(())
}

/// A provider's inbound event type: how it is read from the body's JSON object.
///
/// [`parse_event`] bounds and checks the body and parses the JSON before `from_object` sees it;
/// a provider's `events::parse` is [`parse_event`] with [`DEFAULT_MAX_EVENT_BYTES`].
pub trait InboundEvent: Sized {
    /// The provider's name, as its errors carry it.
    const PROVIDER: &'static str;

    /// Reads the event from the body's top-level object. An error is a message that names the
    /// member and what is wrong with it, never its value (it may be personal data).
    fn from_object(map: serde_json::Map<String, serde_json::Value>) -> Result<Self, String>;
}

/// Parses an inbound body as `E`, refusing it before parsing when it is over `max_bytes` or not
/// JSON ([`check_body`]); what `E` finds wrong is an [`ErrorKind::InvalidEvent`] with a bounded
/// excerpt of the body (string values hidden).
///
/// ```
/// use embed_sessions::core::inbound::{self, InboundEvent};
/// use serde_json::{Map, Value};
/// struct Ping { id: String }
/// impl InboundEvent for Ping {
///     const PROVIDER: &'static str = "example";
///     fn from_object(map: Map<String, Value>) -> Result<Self, String> {
///         Ok(Ping { id: inbound::required_str(&map, "", "Id")? })
///     }
/// }
/// let headers = http::HeaderMap::new();
/// let ping: Ping = inbound::parse_event(&headers, br#"{"Id":"e1"}"#, 1024)?;
/// assert_eq!(ping.id, "e1");
/// let missing = inbound::parse_event::<Ping>(&headers, br#"{}"#, 1024).err().unwrap();
/// assert!(missing.to_string().contains("`Id` is missing"), "{missing}");
/// assert!(inbound::parse_event::<Ping>(&headers, br#"{"Id":"e1"}"#, 5).is_err()); // too long
/// # Ok::<(), embed_sessions::Error>(())
/// ```
pub fn parse_event<E: InboundEvent>(
    headers: &http::HeaderMap,
    body: &[u8],
    max_bytes: usize,
) -> Result<E, Error> {
    check_body(E::PROVIDER, headers, body, max_bytes)?;
    let map = json_object(E::PROVIDER, body)?;
    E::from_object(map).map_err(|what| invalid_event(E::PROVIDER, what, body))
}

/// The body as a JSON object (after [`check_body`]); anything else is an invalid event.
pub fn json_object(
    provider: &'static str,
    body: &[u8],
) -> Result<serde_json::Map<String, serde_json::Value>, Error> {
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(serde_json::Value::Object(map)) => Ok(map),
        Ok(other) => Err(invalid_event(
            provider,
            format!("the body is a JSON {}, not an object", json_type(&other)),
            body,
        )),
        // Line and column only: serde_json's message can quote the offending value.
        Err(e) => Err(invalid_event(
            provider,
            format!("the body is not JSON (line {}, column {})", e.line(), e.column()),
            body,
        )),
    }
}

/// The JSON type name of `v`, for messages.
pub fn json_type(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "boolean",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    }
}

/// The longest string member an event parser accepts for an id, a name or a status.
pub const MAX_MEMBER_BYTES: usize = 200;

/// A required, non-empty string member `key` of `map` (at most [`MAX_MEMBER_BYTES`]), or a
/// message naming it as `at` + `key` (`at` is the path of `map`, such as `"Data."`).
pub fn required_str(
    map: &serde_json::Map<String, serde_json::Value>,
    at: &str,
    key: &str,
) -> Result<String, String> {
    match optional_str(map, at, key)? {
        Some(s) if s.trim().is_empty() => Err(format!("`{at}{key}` is empty")),
        Some(s) if s.len() > MAX_MEMBER_BYTES => {
            Err(format!("`{at}{key}` is {} bytes long, over {MAX_MEMBER_BYTES}", s.len()))
        }
        Some(s) => Ok(s),
        None => Err(format!("`{at}{key}` is missing")),
    }
}

/// An optional string member (absent or `null`: `None`), or a message naming it when it has
/// another type.
pub fn optional_str(
    map: &serde_json::Map<String, serde_json::Value>,
    at: &str,
    key: &str,
) -> Result<Option<String>, String> {
    match map.get(key) {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(s)) => Ok(Some(s.clone())),
        Some(v) => Err(format!("`{at}{key}` is a {}, not a string", json_type(v))),
    }
}

/// A required object member, or a message naming it.
pub fn required_object<'a>(
    map: &'a serde_json::Map<String, serde_json::Value>,
    at: &str,
    key: &str,
) -> Result<&'a serde_json::Map<String, serde_json::Value>, String> {
    match map.get(key) {
        Some(serde_json::Value::Object(o)) => Ok(o),
        None | Some(serde_json::Value::Null) => Err(format!("`{at}{key}` is missing")),
        Some(v) => Err(format!("`{at}{key}` is a {}, not an object", json_type(v))),
    }
}

/// What the provider's API says about an event's claim, read through an authenticated call.
///
/// `current` is the object as the API returned it; act on it, not on the event body.
#[derive(Debug, Clone, PartialEq)]
pub struct Confirmation<T> {
    current: T,
    claimed: String,
    actual: String,
}

impl<T> Confirmation<T> {
    /// A confirmation: the event `claimed` something, the API says `actual`.
    pub fn new(current: T, claimed: impl Into<String>, actual: impl Into<String>) -> Self {
        Self { current, claimed: claimed.into(), actual: actual.into() }
    }

    /// Whether the API says what the event claimed.
    pub fn is_confirmed(&self) -> bool {
        self.claimed == self.actual
    }

    /// What the event claimed (its status or amount, as text).
    pub fn claimed(&self) -> &str {
        &self.claimed
    }

    /// What the API says now, in the same form as [`claimed`](Self::claimed).
    pub fn actual(&self) -> &str {
        &self.actual
    }

    /// The object as the API returned it.
    pub fn current(&self) -> &T {
        &self.current
    }

    /// The object as the API returned it, by value.
    pub fn into_current(self) -> T {
        self.current
    }
}

/// The addresses a provider sends events from, as CIDR ranges; a request from anywhere else
/// is refused before its body is read.
///
/// Behind a reverse proxy, pass the client address the proxy saw (and trust only your own
/// proxy's header), not the proxy's address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceAllowlist {
    nets: Option<Vec<ipnet::IpNet>>,
}

impl SourceAllowlist {
    /// The ranges in `cidrs` (`"185.40.108.0/22"`, `"2001:db8::/32"`, or a bare address).
    ///
    /// ```
    /// use embed_sessions::core::inbound::SourceAllowlist;
    /// let list = SourceAllowlist::parse(&["185.40.108.0/22"])?;
    /// assert!(list.allows("185.40.111.7".parse().unwrap()));
    /// assert!(!list.allows("185.40.112.1".parse().unwrap()));
    /// # Ok::<(), embed_sessions::Error>(())
    /// ```
    pub fn parse<S: AsRef<str>>(cidrs: &[S]) -> Result<Self, Error> {
        let mut nets = Vec::with_capacity(cidrs.len());
        for c in cidrs {
            let c = c.as_ref().trim();
            let net = c
                .parse::<ipnet::IpNet>()
                .or_else(|_| c.parse::<IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| {
                    Error::invalid_input(
                        "source_addresses",
                        format!(
                            "`{}` is not an address or CIDR range",
                            super::redact::one_line(c, 60)
                        ),
                    )
                })?;
            nets.push(net.trunc());
        }
        if nets.is_empty() {
            return Err(Error::invalid_input(
                "source_addresses",
                "the list is empty; use `SourceAllowlist::any()` to switch the check off",
            ));
        }
        Ok(Self { nets: Some(nets) })
    }

    /// No address check: for a provider's sandbox, whose senders have no published range.
    /// Rely on the confirmation then.
    pub fn any() -> Self {
        Self { nets: None }
    }

    /// Whether `addr` is in the list (an IPv4-mapped IPv6 address counts as its IPv4 form).
    pub fn allows(&self, addr: IpAddr) -> bool {
        let addr = addr.to_canonical();
        self.nets.as_ref().is_none_or(|nets| nets.iter().any(|n| n.contains(&addr)))
    }

    /// `Ok` when `addr` is allowed; otherwise an [`ErrorKind::EventRefused`] error naming it.
    pub fn check(&self, provider: &'static str, addr: IpAddr) -> Result<(), Error> {
        if self.allows(addr) {
            return Ok(());
        }
        Err(Error::new(ErrorKind::EventRefused)
            .with_message(format!(
                "{addr} is not in the allowed source addresses (the provider's published ranges unless configured); refused"
            ))
            .at(provider, "receive_event"))
    }
}

/// An unguessable token for a subscribed webhook URL (`https://you/webhooks/<provider>/<token>`),
/// for providers that sign nothing: a request without it is refused. Compared in constant
/// time; never printed.
#[derive(Clone, Debug)]
pub struct UrlToken(Secret);

/// The shortest token [`UrlToken::new`] accepts: 32 characters.
pub const MIN_URL_TOKEN_LEN: usize = 32;

impl UrlToken {
    /// A new random token: 32 bytes from the operating system's generator, base64url
    /// (43 characters, safe in a URL path).
    pub fn generate() -> Result<Self, Error> {
        use base64::Engine as _;
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes)
            .map_err(|e| Error::config(format!("the system random generator failed: {e}")))?;
        Ok(Self(Secret::new(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))))
    }

    /// A token you generated earlier (kept with your configuration); at least
    /// [`MIN_URL_TOKEN_LEN`] URL-safe characters (`A-Z a-z 0-9 - _ . ~`).
    pub fn new(token: impl Into<Secret>) -> Result<Self, Error> {
        let token = token.into();
        let t = token.expose();
        if t.len() < MIN_URL_TOKEN_LEN {
            return Err(Error::invalid_input(
                "url_token",
                format!(
                    "a token of {} characters is guessable; use at least {MIN_URL_TOKEN_LEN} \
                     (UrlToken::generate makes one)",
                    t.len()
                ),
            ));
        }
        if !t.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.~".contains(&b)) {
            return Err(Error::invalid_input(
                "url_token",
                "use URL-safe characters only (A-Z a-z 0-9 - _ . ~)",
            ));
        }
        Ok(Self(token))
    }

    /// The token, to put in the URL you subscribe.
    pub fn expose(&self) -> &str {
        self.0.expose()
    }

    /// Whether `presented` is the token, compared in constant time (its length is not
    /// secret: every token has the same).
    pub fn matches(&self, presented: &str) -> bool {
        use subtle::ConstantTimeEq as _;
        let expected = self.0.expose().as_bytes();
        expected.len() == presented.len() && bool::from(expected.ct_eq(presented.as_bytes()))
    }

    /// `Ok` when `presented` is the token; otherwise an [`ErrorKind::EventRefused`] error
    /// (which never quotes either value).
    pub fn check(&self, provider: &'static str, presented: &str) -> Result<(), Error> {
        if self.matches(presented) {
            return Ok(());
        }
        Err(Error::new(ErrorKind::EventRefused)
            .with_message("the URL token is missing or wrong; refused")
            .at(provider, "receive_event"))
    }
}

/// A future returned by a [`DedupeStore`].
pub type DedupeFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, Error>> + Send + 'a>>;

/// What [`DedupeStore::claim`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// First sight: this caller handles the event, then calls `complete` (or `release` when
    /// handling failed, so that a redelivery is handled).
    First,
    /// Another caller (maybe another replica) is handling it now.
    InProgress,
    /// Already handled within the retention window: a redelivery.
    Done,
}

/// Remembers which events were handled, by key (a provider event's `dedupe_key()`).
///
/// A claim is held for a claim TTL while the event is handled, so that a caller that dies
/// mid-way does not make the event a duplicate for ever; `complete` then keeps the key for
/// the retention window.
pub trait DedupeStore: Send + Sync {
    /// Claims `key`: [`Claim::First`] for exactly one caller across everyone sharing the store.
    fn claim<'a>(&'a self, key: &'a str) -> DedupeFuture<'a, Claim>;
    /// Marks a claimed `key` handled: later claims within the retention window are `Done`.
    fn complete<'a>(&'a self, key: &'a str) -> DedupeFuture<'a, ()>;
    /// Gives up a claim (handling failed): the next claim of `key` is `First` again.
    fn release<'a>(&'a self, key: &'a str) -> DedupeFuture<'a, ()>;
}

/// Runs `handle` for the first delivery of `key` only: claims it, completes it when `handle`
/// succeeds, releases it when `handle` fails (so a redelivery is handled). `Ok(Ok(value))`
/// when this call handled it, `Ok(Err(claim))` for a duplicate (what the store said), `Err`
/// when the store or `handle` failed.
pub async fn once<T, F, Fut>(
    store: &dyn DedupeStore,
    key: &str,
    handle: F,
) -> Result<Result<T, Claim>, Error>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<T, Error>>,
{
    match store.claim(key).await? {
        Claim::First => {}
        other => return Ok(Err(other)),
    }
    match handle().await {
        Ok(v) => {
            store.complete(key).await?;
            Ok(Ok(v))
        }
        Err(e) => {
            store.release(key).await?;
            Err(e)
        }
    }
}

/// A [`DedupeStore`] in this process's memory: duplicates are caught within one replica.
/// With several replicas use the Redis store (feature `redis`).
///
/// Bounded: at most `capacity` keys (default 1,000,000); when full, the oldest is forgotten.
#[derive(Debug)]
pub struct MemoryDedupe {
    retention: Duration,
    claim_ttl: Duration,
    capacity: usize,
    state: Mutex<Memory>,
}

#[derive(Debug, Default)]
struct Memory {
    /// key → (done, until).
    keys: HashMap<String, (bool, Instant)>,
    /// Writes in order, each with the `until` it set, for eviction.
    order: VecDeque<(String, Instant)>,
}

impl Default for MemoryDedupe {
    fn default() -> Self {
        Self::new(DEFAULT_RETENTION)
    }
}

impl MemoryDedupe {
    /// A store that remembers handled keys for `retention`.
    pub fn new(retention: Duration) -> Self {
        Self {
            retention,
            claim_ttl: DEFAULT_CLAIM_TTL,
            capacity: 1_000_000,
            state: Mutex::default(),
        }
    }

    /// The most keys kept (at least 1).
    pub fn with_capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity.max(1);
        self
    }

    /// How long a claim holds before another caller may take the event over.
    pub fn with_claim_ttl(mut self, ttl: Duration) -> Self {
        self.claim_ttl = ttl;
        self
    }

    /// How many keys are remembered now (claimed or handled).
    pub fn len(&self) -> usize {
        self.lock().keys.len()
    }

    /// Whether no key is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Memory> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn set(&self, m: &mut Memory, key: &str, done: bool, now: Instant) {
        let until = now + if done { self.retention } else { self.claim_ttl };
        m.keys.insert(key.to_string(), (done, until));
        m.order.push_back((key.to_string(), until));
        // From the oldest write: skip entries a later write or a release superseded, forget
        // expired keys and, over capacity, the oldest.
        while let Some((k, written)) = m.order.front() {
            let current = m.keys.get(k).map(|&(_, u)| u);
            if current != Some(*written) {
                m.order.pop_front();
            } else if *written <= now || m.keys.len() > self.capacity {
                let k = k.clone();
                m.order.pop_front();
                m.keys.remove(&k);
            } else {
                break;
            }
        }
        if m.order.len() > 2 * self.capacity {
            let Memory { keys, order } = m;
            order.retain(|(k, w)| keys.get(k).is_some_and(|&(_, u)| u == *w));
        }
    }
}

impl DedupeStore for MemoryDedupe {
    fn claim<'a>(&'a self, key: &'a str) -> DedupeFuture<'a, Claim> {
        Box::pin(async move {
            let now = Instant::now();
            let mut m = self.lock();
            match m.keys.get(key) {
                Some(&(true, until)) if until > now => return Ok(Claim::Done),
                Some(&(false, until)) if until > now => return Ok(Claim::InProgress),
                _ => {}
            }
            self.set(&mut m, key, false, now);
            Ok(Claim::First)
        })
    }

    fn complete<'a>(&'a self, key: &'a str) -> DedupeFuture<'a, ()> {
        Box::pin(async move {
            let mut m = self.lock();
            self.set(&mut m, key, true, Instant::now());
            Ok(())
        })
    }

    fn release<'a>(&'a self, key: &'a str) -> DedupeFuture<'a, ()> {
        Box::pin(async move {
            self.lock().keys.remove(key);
            Ok(())
        })
    }
}

impl<S: DedupeStore + ?Sized> DedupeStore for std::sync::Arc<S> {
    fn claim<'a>(&'a self, key: &'a str) -> DedupeFuture<'a, Claim> {
        (**self).claim(key)
    }
    fn complete<'a>(&'a self, key: &'a str) -> DedupeFuture<'a, ()> {
        (**self).complete(key)
    }
    fn release<'a>(&'a self, key: &'a str) -> DedupeFuture<'a, ()> {
        (**self).release(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_key_is_first_once_then_in_progress_then_done_and_released_keys_are_first_again() {
        let store = MemoryDedupe::new(Duration::from_secs(60));
        assert_eq!(store.claim("a").await.unwrap(), Claim::First);
        assert_eq!(store.claim("a").await.unwrap(), Claim::InProgress);
        store.complete("a").await.unwrap();
        assert_eq!(store.claim("a").await.unwrap(), Claim::Done);
        assert_eq!(store.claim("b").await.unwrap(), Claim::First);
        store.release("b").await.unwrap();
        assert_eq!(store.claim("b").await.unwrap(), Claim::First);
    }

    #[tokio::test]
    async fn an_abandoned_claim_expires_and_the_store_stays_within_capacity() {
        let store = MemoryDedupe::new(Duration::from_secs(60))
            .with_claim_ttl(Duration::from_millis(1))
            .with_capacity(100);
        assert_eq!(store.claim("dead").await.unwrap(), Claim::First);
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(store.claim("dead").await.unwrap(), Claim::First);
        for i in 0..1000 {
            let k = format!("k{i}");
            store.claim(&k).await.unwrap();
            store.complete(&k).await.unwrap();
        }
        assert!(store.len() <= 100, "{} keys kept", store.len());
        assert_eq!(store.claim("k999").await.unwrap(), Claim::Done);
    }

    #[test]
    fn tokens_compare_whole_and_refuse_short_or_unsafe_values() {
        let t = UrlToken::generate().unwrap();
        assert_eq!(t.expose().len(), 43);
        assert!(t.matches(t.expose()));
        assert!(!t.matches(&t.expose()[..42]));
        assert!(!t.matches(""));
        let e = t.check("acme", "wrong").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::EventRefused);
        assert!(!e.to_string().contains(t.expose()));
        assert!(!format!("{t:?}").contains(t.expose()));
        assert_eq!(UrlToken::new("short").unwrap_err().field(), Some("url_token"));
        assert!(UrlToken::new("a/".repeat(20)).is_err());
    }

    #[test]
    fn allowlists_hold_ranges_and_mapped_addresses() {
        let l = SourceAllowlist::parse(&["185.40.108.0/22", "2001:db8::1"]).unwrap();
        assert!(l.allows("185.40.108.0".parse().unwrap()));
        assert!(l.allows("185.40.111.255".parse().unwrap()));
        assert!(l.allows("::ffff:185.40.109.3".parse().unwrap()));
        assert!(!l.allows("185.40.107.255".parse().unwrap()));
        assert!(l.allows("2001:db8::1".parse().unwrap()));
        assert!(!l.allows("127.0.0.1".parse().unwrap()));
        assert_eq!(
            l.check("acme", "10.0.0.1".parse().unwrap()).unwrap_err().kind(),
            ErrorKind::EventRefused
        );
        assert!(SourceAllowlist::any().allows("10.0.0.1".parse().unwrap()));
        assert!(SourceAllowlist::parse(&["nope"]).is_err());
        assert!(SourceAllowlist::parse::<&str>(&[]).is_err());
    }
}
