//! bunq: the API context (installation, device, session), request signing, session lifecycle,
//! persistence, partner user provisioning and notification filters.
//!
//! Compared with bunq's official SDKs, which are synchronous, keep one process-global context
//! and never retry a 429, this module is async, holds any number of independent contexts
//! (one per API key or provisioned user) and retries 429s within the facade's retry policy.
//!
//! - A [`BunqClient`] holds the configuration (base URL: production, sandbox, or an override
//!   such as `BUNQ_BASE_URL`) and the `/session-server` rate limiter shared by every context
//!   it makes (bunq allows one session call per 30 s per IP).
//! - A [`BunqContext`] is one API key's context: an RSA-2048 key pair registered with
//!   `POST /installation`, the installation token, bunq's server public key, the device
//!   (`POST /device-server`) and the current [`BunqSession`] (`POST /session-server`).
//! - Every request after installation is signed (`X-Bunq-Client-Signature`: RSA PKCS#1 v1.5
//!   SHA-256 of exactly the body bytes sent, on every attempt) and every 2xx response is checked
//!   against `X-Bunq-Server-Signature`; a missing or wrong signature fails the call.
//! - Sessions are renewed when less than 30 s is left, and once after a 401.
//! - A [`ContextStore`] ([`FileStore`]: one JSON file, atomic writes, mode 0600) keeps the
//!   context across restarts: restoring skips installation and device registration and
//!   reuses the session while it is valid.
//!
//! ```no_run
//! use embed_sessions::bunq::{BunqClient, FileStore};
//! # async fn demo() -> Result<(), embed_sessions::Error> {
//! // BUNQ_API_KEY, and BUNQ_BASE_URL (for example the sandbox, bunq::SANDBOX_URL).
//! let bunq = BunqClient::from_env()?;
//! let ctx = bunq.context().store(FileStore::new("bunq-context.json")).send().await?;
//! let session = ctx.session().await?;
//! println!("user {} until {}", session.user_id(), session.expires_at());
//! for filter in ctx.notification_filters_url().await? {
//!     println!("{:?} -> {:?}", filter.category, filter.notification_target);
//! }
//! # Ok(()) }
//! ```
//!
//! The partner flow (provision a user, wait until it can be onboarded, act for it):
//!
//! ```no_run
//! use std::time::Duration;
//! use embed_sessions::bunq::{BunqClient, FileStore, ProvisionPoll, raw::types};
//! # async fn demo() -> Result<(), embed_sessions::Error> {
//! let bunq = BunqClient::from_env()?; // the partner's API key
//! let partner = bunq.context().store(FileStore::new("partner.json")).send().await?;
//! let provision = partner
//!     .create_user_provision(types::PartnerUserProvisionCreate {
//!         external_uuid: uuid::Uuid::nil(), // your id for this user
//!         user_verified_type: types::UserVerifiedType::PartnerUserPerson,
//!         email: "user@example.com".into(),
//!         phone_number: "+31612345678".into(),
//!         products: vec!["USER_VERIFIED".into()],
//!         director_relation_provision_id: None,
//!     })
//!     .await?;
//! let poll = ProvisionPoll::default()
//!     .with_interval(Duration::from_secs(5))
//!     .with_deadline(Duration::from_secs(600));
//! let ready = partner.wait_for_user_provision(provision.id(), poll).await?;
//! // The token value is stored before its first use.
//! let user = bunq.open_provisioned_user(&ready, FileStore::new("user-1.json")).await?;
//! user.set_notification_filters_url(vec![types::NotificationFilterUrlRule {
//!     category: "PAYMENT".into(),
//!     notification_target: "https://example.com/bunq/callback".into(),
//! }])
//! .await?;
//! # Ok(()) }
//! ```

mod context;
mod crypto;
pub mod events;
mod hook;
mod limiter;
mod partner;
mod reason;
#[cfg(feature = "redis")]
mod redis_store;
mod session;
mod store;

use std::fmt;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

/// The generated bunq client (`bunq-client`), for everything the wrappers do not cover; run
/// its operations signed and with session renewal through [`BunqContext::call`].
pub use bunq_client as raw;
pub use context::{BunqContext, ContextBuilder, Operation};
pub use limiter::SessionRateLimit;
pub use partner::{Provision, ProvisionPoll, ReadyProvision};
pub use reason::BunqReason;
#[cfg(feature = "redis")]
pub use redis_store::{DEFAULT_LEASE_TTL, DEFAULT_LEASE_WAIT, RedisContextStore};
pub use session::{BunqSession, BunqUser, DEFAULT_SESSION_TIMEOUT_SECS, MAX_SESSION_TIMEOUT_SECS};
pub use store::{
    CONTEXT_FORMAT, ContextStore, FileStore, MAX_CONTEXT_FILE_BYTES, StoreFuture, StoreLock,
    StoredContext,
};

use crate::core::{Config, Core, Descriptor, Error, Provider, RetryPolicy, Secret};
use limiter::SessionLimiter;
use reason::BunqReason as Reason;

/// The public API in production.
pub const PRODUCTION_URL: &str = "https://api.bunq.com/v1";
/// The public API in the sandbox.
pub const SANDBOX_URL: &str = "https://public-api.sandbox.bunq.com/v1";
/// The Partner API in production.
pub const PARTNER_PRODUCTION_URL: &str = "https://api.partner.bunq.com/v1";
/// The Partner API in the sandbox.
pub const PARTNER_SANDBOX_URL: &str = "https://partner-api.sandbox.bunq.com/v1";

/// bunq's rate-limit window (GET 3, POST 5, PUT 2 per 3 consecutive seconds), used as the wait
/// before retrying a 429: bunq sends no `Retry-After`.
pub const RATE_WINDOW: Duration = Duration::from_secs(3);
/// bunq allows one `/session-server` call per this interval per IP.
pub const SESSION_INTERVAL: Duration = Duration::from_secs(30);
/// A session is renewed when less than this much life is left.
pub const RENEW_MARGIN: Duration = Duration::from_secs(30);
/// Default `description` of a registered device.
pub const DEFAULT_DEVICE_DESCRIPTION: &str = "embed-sessions";

/// The bunq provider: its [`Descriptor`] and reason, and the marker that types its
/// configuration (`Config::builder(Bunq)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bunq;

impl Provider for Bunq {
    const DESCRIPTOR: &'static Descriptor =
        &Descriptor::new("bunq", "BUNQ_API_KEY", "BUNQ_BASE_URL", PRODUCTION_URL)
            .with_sandbox_url(SANDBOX_URL)
            .with_sensitive_headers(&["x-bunq-client-authentication", "x-bunq-client-signature"])
            // Each creates something (an installation, a device, a session, a provisioned user)
            // that a repeat after a timeout could create twice.
            .with_not_safe_to_repeat(&[
                CREATE_INSTALLATION,
                CREATE_DEVICE_SERVER,
                CREATE_SESSION_SERVER,
                CREATE_USER_PROVISION,
            ])
            .with_rate_limits(rate_rule);
    type Reason = Reason;
}

/// bunq's published limits, per endpoint (here: per operation) and per IP: GET 3, POST 5, PUT
/// 2 within any 3 consecutive seconds. `/session-server`'s 1 per 30 s is kept by the client's
/// [`SessionLimiter`] (which can wait or fail, and whose interval tests shorten), not here.
/// A budget is kept per API key (each context's own) unless the configuration names an egress
/// identity (`ConfigBuilder::rate_identity`): replicas behind one NAT should set one.
fn rate_rule(_operation: &str, method: &str) -> Option<crate::core::budget::RateRule> {
    use crate::core::budget::{Limit, RateRule};
    const WINDOW: Duration = Duration::from_secs(3);
    const GET: &[Limit] = &[Limit::new(3, WINDOW)];
    const POST: &[Limit] = &[Limit::new(5, WINDOW)];
    const PUT: &[Limit] = &[Limit::new(2, WINDOW)];
    let limits = match method {
        "GET" => GET,
        "POST" => POST,
        "PUT" => PUT,
        _ => return None,
    };
    Some(RateRule { limits, per_operation: true })
}

/// The operations the descriptor marks as not safe to repeat.
const CREATE_INSTALLATION: &str = "create_installation";
const CREATE_DEVICE_SERVER: &str = "create_device_server";
const CREATE_SESSION_SERVER: &str = "create_session_server";
const CREATE_USER_PROVISION: &str = "create_partner_user_provision";

/// A [`Config`] for bunq.
pub type BunqConfig = Config<Bunq>;

/// Which bunq a base URL points at. A context made for one environment is refused by a client
/// configured for another.
///
/// ```
/// use embed_sessions::bunq::{Environment, SANDBOX_URL};
/// assert_eq!(Environment::from_base_url(SANDBOX_URL), Environment::Sandbox);
/// assert_eq!(Environment::from_base_url("https://api.bunq.com/v1"), Environment::Production);
/// assert_eq!(Environment::from_base_url("http://127.0.0.1:8080/v1"), Environment::Other);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Environment {
    /// `*.bunq.com` outside the sandbox: real money.
    Production,
    /// `*.sandbox.bunq.com`.
    Sandbox,
    /// Any other host (a mock, a proxy): contexts must match its exact base URL.
    Other,
}

impl Environment {
    /// The environment of a base URL, by host.
    pub fn from_base_url(url: &str) -> Self {
        let host = reqwest::Url::parse(url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
            .unwrap_or_default();
        if host.ends_with(".sandbox.bunq.com") {
            Environment::Sandbox
        } else if host == "bunq.com" || host.ends_with(".bunq.com") {
            Environment::Production
        } else {
            Environment::Other
        }
    }

    /// `production`, `sandbox` or `other`.
    pub fn name(self) -> &'static str {
        match self {
            Environment::Production => "production",
            Environment::Sandbox => "sandbox",
            Environment::Other => "other",
        }
    }
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The retry policy a [`BunqClient`] uses when the configuration sets none: the default, with
/// bunq's 3-second window as the wait before retrying a 429. A policy set on the
/// configuration is used as it is.
pub fn default_retry_policy() -> RetryPolicy {
    RetryPolicy::default().default_retry_after_429(Some(RATE_WINDOW))
}

/// A bunq client: configuration, device settings, and the `/session-server` rate limiter
/// shared by every [`BunqContext`] it (or a clone of it) makes.
///
/// Cheap to clone. It holds no context itself: make as many as needed with
/// [`BunqClient::context`].
///
/// ```
/// use embed_sessions::Config;
/// use embed_sessions::bunq::{self, Bunq, BunqClient, Environment};
/// let config = Config::builder(Bunq)
///     .base_url(bunq::SANDBOX_URL)
///     .api_key("sandbox_0123456789")
///     .build()?;
/// let bunq = BunqClient::new(config)?.with_device_description("my backend");
/// assert_eq!(bunq.environment(), Environment::Sandbox);
/// assert!(!format!("{bunq:?}").contains("sandbox_0123456789"));
/// # Ok::<(), embed_sessions::Error>(())
/// ```
#[derive(Clone)]
pub struct BunqClient {
    inner: Arc<ClientInner>,
}

#[derive(Clone, Debug)]
struct ClientInner {
    core: Arc<Core<raw::Client>>,
    environment: Environment,
    device_description: String,
    permitted_ips: Vec<String>,
    check_server_signatures: bool,
    rate_limit: SessionRateLimit,
    limiter: Arc<SessionLimiter>,
}

impl fmt::Debug for BunqClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("BunqClient").field(&self.inner).finish()
    }
}

impl BunqClient {
    /// A client from a configuration made with `Config::builder(Bunq)`; the API key is
    /// required (a configuration error naming `BUNQ_API_KEY` otherwise): it is the key of the
    /// contexts opened without one of their own. When the configuration sets no retry policy,
    /// [`default_retry_policy`] (429s wait bunq's 3-second window) is used; a policy set on
    /// the configuration is used as it is, even one equal to [`RetryPolicy::default`].
    pub fn new(config: BunqConfig) -> Result<Self, Error> {
        config.require_api_key()?;
        Self::without_key(config)
    }

    /// A client without an API key of its own, for contexts that each bring theirs
    /// ([`ContextBuilder::api_key`], [`BunqClient::open_provisioned_user`], restored
    /// contexts).
    pub fn without_key(config: BunqConfig) -> Result<Self, Error> {
        let environment = Environment::from_base_url(config.base_url());
        if let Some(key) = config.api_key() {
            check_key_environment(key, environment)?;
        }
        let core = Core::new(config, default_retry_policy(), raw::Client::new_with_client);
        Ok(Self {
            inner: Arc::new(ClientInner {
                core: Arc::new(core),
                environment,
                device_description: DEFAULT_DEVICE_DESCRIPTION.to_string(),
                permitted_ips: Vec::new(),
                check_server_signatures: true,
                rate_limit: SessionRateLimit::default(),
                limiter: Arc::new(SessionLimiter::new(SESSION_INTERVAL)),
            }),
        })
    }

    /// A client from `BUNQ_API_KEY` (required) and `BUNQ_BASE_URL` (optional; production
    /// when unset).
    pub fn from_env() -> Result<Self, Error> {
        Self::new(Config::from_env(Bunq)?)
    }

    fn edit(mut self, f: impl FnOnce(&mut ClientInner)) -> Self {
        f(Arc::make_mut(&mut self.inner));
        self
    }

    /// The `description` of devices registered from now on (default `embed-sessions`).
    pub fn with_device_description(self, description: impl Into<String>) -> Self {
        let description = description.into();
        self.edit(|i| i.device_description = description)
    }

    /// The IPv4 addresses a new device's API key may be used from (`*` adds a wildcard). By
    /// default none are sent and bunq binds the caller's current IP.
    pub fn with_permitted_ips<I, S>(self, ips: I) -> Result<Self, Error>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let ips: Vec<String> = ips.into_iter().map(Into::into).collect();
        if let Some(bad) = ips.iter().find(|ip| *ip != "*" && ip.parse::<Ipv4Addr>().is_err()) {
            return Err(Error::invalid_input(
                "permitted_ips",
                format!("`{bad}` is not an IPv4 address or `*` (bunq documents IPv4 only)"),
            ));
        }
        Ok(self.edit(|i| i.permitted_ips = ips))
    }

    /// Whether 2xx responses must carry a valid `X-Bunq-Server-Signature` (default on; a
    /// missing or wrong one fails the call). Turn it off only against mocks that cannot sign:
    /// it is refused (a configuration error) for production, where an unverified answer could
    /// come from anyone on the path.
    ///
    /// ```
    /// use embed_sessions::Config;
    /// use embed_sessions::bunq::{Bunq, BunqClient};
    /// let prod = BunqClient::without_key(Config::builder(Bunq).build()?)?;
    /// assert!(prod.with_server_signature_check(false).is_err());
    /// let mock = Config::builder(Bunq).base_url("http://127.0.0.1:9/v1").build()?;
    /// assert!(BunqClient::without_key(mock)?.with_server_signature_check(false).is_ok());
    /// # Ok::<(), embed_sessions::Error>(())
    /// ```
    pub fn with_server_signature_check(self, on: bool) -> Result<Self, Error> {
        if !on {
            if self.inner.environment == Environment::Production {
                return Err(Error::config(
                    "bunq: the server signature check cannot be turned off for production \
                     (api.bunq.com); only for the sandbox or a local mock",
                ));
            }
            tracing::warn!("bunq: server signature check turned off; responses are not verified");
        }
        Ok(self.edit(|i| i.check_server_signatures = on))
    }

    /// What happens when a session call would exceed bunq's limit (default: wait up to 5
    /// minutes). Shared limiter, per-client setting.
    pub fn with_session_rate_limit(self, mode: SessionRateLimit) -> Self {
        self.edit(|i| i.rate_limit = mode)
    }

    /// The minimum time between two `/session-server` calls (default 30 s, bunq's limit); also
    /// the wait before retrying a session call that got a 429. Installs a new limiter: set it
    /// before cloning the client.
    pub fn with_session_interval(self, interval: Duration) -> Self {
        self.edit(|i| i.limiter = Arc::new(SessionLimiter::new(interval)))
    }

    /// The base URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        self.inner.core.base_url()
    }

    /// The timeout of one attempt.
    pub(crate) fn attempt_timeout(&self) -> Duration {
        self.inner.core.attempt_timeout()
    }

    /// The retry policy in force: the configuration's, else [`default_retry_policy`].
    pub fn retry_policy(&self) -> RetryPolicy {
        self.inner.core.policy().clone()
    }

    /// The environment of the configured base URL.
    pub fn environment(&self) -> Environment {
        self.inner.environment
    }

    /// Starts opening a context: restored from a store, or created (installation, device,
    /// session) and saved step by step.
    pub fn context(&self) -> ContextBuilder<'_> {
        ContextBuilder::new(self)
    }

    /// Creates a context for `api_key` (installation, device, session), without a store.
    pub async fn create_context(&self, api_key: impl Into<Secret>) -> Result<BunqContext, Error> {
        self.context().api_key(api_key).send().await
    }

    /// A context from a snapshot, without any request: the session is renewed on first use if
    /// it is missing or about to expire. Refused when the snapshot is for another environment
    /// or base URL, or is incomplete (use [`ContextBuilder::send`] to finish one).
    pub fn restore(&self, stored: StoredContext) -> Result<BunqContext, Error> {
        context::restore(self, stored, None, "the stored bunq context")
    }

    /// A context for a provisioned user from its ready provision: the token value is saved in
    /// `store` before its first use (bunq shows it once), then installation, device and
    /// session follow, each saved.
    pub async fn open_provisioned_user(
        &self,
        ready: &ReadyProvision,
        store: impl ContextStore,
    ) -> Result<BunqContext, Error> {
        self.context().api_key(ready.token_value().clone()).store(store).send().await
    }
}

/// A `sandbox_` key with a production URL is a mistake caught before anything is sent.
fn check_key_environment(key: &Secret, environment: Environment) -> Result<(), Error> {
    if environment == Environment::Production && key.expose().starts_with("sandbox_") {
        return Err(Error::config(
            "bunq: a sandbox API key (`sandbox_...`) with a production base URL; set \
             BUNQ_BASE_URL to the sandbox (https://public-api.sandbox.bunq.com/v1)",
        ));
    }
    Ok(())
}
