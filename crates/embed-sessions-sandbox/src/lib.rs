//! An offline, stateful stand-in of Vlens, VRPlatform and bunq on one loopback port.
//!
//! ```no_run
//! # async fn demo() -> Result<(), embed_sessions_sandbox::SandboxError> {
//! use embed_sessions_sandbox::{Fault, Sandbox, Target};
//!
//! let sandbox = Sandbox::start().await?;              // 127.0.0.1, a free port
//! let urls = sandbox.urls();                           // set VLENS_BASE_URL=urls.vlens, ...
//! sandbox.add_fault(Target::Bunq, Fault::parse("503")?, Some(1));
//! // ... drive a client against urls.bunq ...
//! for r in sandbox.requests() {                        // redacted
//!     println!("{} {} -> {}", r.method, r.path, r.status);
//! }
//! # Ok(()) }
//! ```
//!
//! Prefixes (see [`Urls`]): `/vlens` (the Vlens API), `/vlens-app` (the iframe origin: its
//! `/session?token=...` page), `/vrplatform`, `/bunq/v1`, `/_sandbox` (admin: requests,
//! faults, clock) and `/` (a live page). The documented sandbox inputs that make a provider
//! fail are in the README's "Sandbox" section and in [`INPUTS`].
//!
//! Request bodies are validated against the specs in `specs/` (embedded at compile time, see
//! [`spec`]); faults are described in [`fault`]; secrets are redacted as [`record`] says.

/// Builder setters that store their argument as it is, each with its doc comment (the same
/// as the facade's `setters!`; the sandbox does not depend on the facade).
macro_rules! setters {
    ($($(#[$doc:meta])* $field:ident: $ty:ty),* $(,)?) => {$(
        $(#[$doc])* pub fn $field(mut self, value: $ty) -> Self { self.$field = value; self }
    )*};
}

pub mod fault;
pub mod record;
pub mod spec;

mod admin;
mod bunq;
mod page;
mod server;
mod vlens;
mod vrplatform;

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::net::TcpListener;

pub use crate::bunq::{ServerKey, route as bunq_route};
pub use crate::fault::{Action, ActiveFault, Canned, Fault, Target};
pub use crate::record::{REDACTED, RecordedRequest};

/// The Vlens API prefix.
pub const VLENS_PREFIX: &str = "/vlens";
/// The Vlens iframe app prefix (the iframe origin of the facade: `VLENS_IFRAME_ORIGIN`).
pub const VLENS_APP_PREFIX: &str = "/vlens-app";
/// The VRPlatform prefix.
pub const VRPLATFORM_PREFIX: &str = "/vrplatform";
/// The bunq prefix (bunq's base URLs end in `/v1`).
pub const BUNQ_PREFIX: &str = "/bunq/v1";

/// bunq's documented limit: one `/session-server` call per 30 s per client address.
pub const BUNQ_SESSION_INTERVAL: Duration = Duration::from_secs(30);
/// How many reads of a provision it takes to become ready, by default.
pub const BUNQ_PROVISION_READS: u32 = 3;

/// One documented sandbox input that makes a provider answer a failure.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Input {
    /// `vlens`, `vrplatform` or `bunq`.
    pub provider: &'static str,
    /// Where it goes (a header, a body field, a query parameter).
    pub field: &'static str,
    /// The value (a prefix ends in `…`).
    pub value: &'static str,
    /// What the sandbox answers.
    pub answer: &'static str,
}

/// The documented sandbox inputs (also on the page at `/` and in the README).
pub const INPUTS: &[Input] = &[
    Input {
        provider: "vlens",
        field: "ApiKey header",
        value: "(missing)",
        answer: "401, error_code 401 \"ApiKey header is required\"",
    },
    Input {
        provider: "vlens",
        field: "ApiKey header",
        value: "invalid_…",
        answer: "401, error_code 401 \"Invalid ApiKey\"",
    },
    Input {
        provider: "vlens",
        field: "login tenancyName",
        value: "unknown_…",
        answer: "401, error_code 401 \"There is no tenant defined with name <name>!\"",
    },
    Input {
        provider: "vlens",
        field: "login password",
        value: "wrong…",
        answer: "401, error_code 401 \"Invalid user name or password\"",
    },
    Input {
        provider: "vlens",
        field: "phoneNumber",
        value: "+200000000000",
        answer: "200 with error_code 5000 \"Generic failure\" (an envelope error on a 200)",
    },
    Input {
        provider: "vlens",
        field: "requestTypeId",
        value: "anything but 414",
        answer: "400, error_code 400 \"Business request type <id> not found\"",
    },
    Input {
        provider: "vrplatform",
        field: "x-api-key header",
        value: "(missing)",
        answer: "401 \"Missing provider api key\"",
    },
    Input {
        provider: "vrplatform",
        field: "x-api-key header",
        value: "invalid_…",
        answer: "401 \"Invalid provider API key, not found\"",
    },
    Input {
        provider: "vrplatform",
        field: "x-api-key header",
        value: "inactive_…",
        answer: "401 \"Provider API key is inactive\"",
    },
    Input {
        provider: "vrplatform",
        field: "x-api-key header",
        value: "expired_…",
        answer: "401 \"Provider API key expired\"",
    },
    Input {
        provider: "vrplatform",
        field: "tenantId",
        value: vrplatform::TENANT_NOT_FOUND,
        answer: "404 \"Tenant not found\"",
    },
    Input {
        provider: "vrplatform",
        field: "tenantId",
        value: vrplatform::TENANT_FORBIDDEN,
        answer: "401 \"Provider API key is not allowed for tenant\"",
    },
    Input {
        provider: "vrplatform",
        field: "sub",
        value: "unknown_…",
        answer: "401 \"Unknown embedded user\" until a call with autoProvision=true creates it",
    },
    Input {
        provider: "vrplatform",
        field: "sub",
        value: "inactive_…",
        answer: "401 \"Embedded user is not active\"",
    },
    Input {
        provider: "vrplatform",
        field: "sub",
        value: "outsider_…",
        answer: "401 \"Embedded user is not allowed to access tenant\"",
    },
    Input {
        provider: "bunq",
        field: "secret (API key)",
        value: "invalid_…",
        answer: "400 \"User credentials are incorrect. Incorrect API key or IP address.\"",
    },
    Input {
        provider: "bunq",
        field: "secret (API key)",
        value: "…person…",
        answer: "a UserPerson (not a partner: provisioning answers 403); any other key is a partner UserCompany",
    },
    Input {
        provider: "bunq",
        field: "provision email",
        value: "never-ready…",
        answer: "stays PENDING_PROCESS_USER",
    },
    Input {
        provider: "bunq",
        field: "provision email",
        value: "fail…",
        answer: "status FAILED after the first read",
    },
];

/// The URLs of a running sandbox, as printed by `embed-sessions sandbox`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Urls {
    /// `http://127.0.0.1:PORT`: the page and `/_sandbox`.
    pub url: String,
    /// `VLENS_BASE_URL`.
    pub vlens: String,
    /// `VLENS_IFRAME_ORIGIN` (the iframe URL is `<vlensApp>/session?token=...`).
    #[serde(rename = "vlensApp")]
    pub vlens_app: String,
    /// `VRPLATFORM_BASE_URL`.
    pub vrplatform: String,
    /// `BUNQ_BASE_URL`.
    pub bunq: String,
}

impl Urls {
    fn new(addr: SocketAddr) -> Self {
        let url = format!("http://{addr}");
        Self {
            vlens: format!("{url}{VLENS_PREFIX}"),
            vlens_app: format!("{url}{VLENS_APP_PREFIX}"),
            vrplatform: format!("{url}{VRPLATFORM_PREFIX}"),
            bunq: format!("{url}{BUNQ_PREFIX}"),
            url,
        }
    }

    /// The environment that points the facade and the CLI at the sandbox.
    pub fn env(&self) -> [(&'static str, &str); 4] {
        [
            ("VLENS_BASE_URL", &self.vlens),
            ("VLENS_IFRAME_ORIGIN", &self.vlens_app),
            ("VRPLATFORM_BASE_URL", &self.vrplatform),
            ("BUNQ_BASE_URL", &self.bunq),
        ]
    }
}

/// Why the sandbox did not start.
#[derive(Debug)]
pub enum SandboxError {
    /// A non-loopback address without [`SandboxBuilder::allow_non_loopback`].
    NonLoopback(SocketAddr),
    /// The address could not be bound.
    Bind(SocketAddr, std::io::Error),
    /// A spec failed to load (a build problem: the specs are compiled in).
    Spec(String),
    /// A fault description did not parse.
    Fault(String),
}

impl fmt::Display for SandboxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NonLoopback(a) => write!(
                f,
                "{a} is not a loopback address; the sandbox accepts any credential, so binding \
                 it elsewhere needs --allow-non-loopback"
            ),
            Self::Bind(a, e) => write!(f, "cannot listen on {a}: {e}"),
            Self::Spec(e) => write!(f, "a compiled-in spec is broken: {e}"),
            Self::Fault(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for SandboxError {}

impl From<String> for SandboxError {
    fn from(e: String) -> Self {
        Self::Fault(e)
    }
}

/// A callback that sees every recorded (redacted) request.
pub type RequestLog = Arc<dyn Fn(&RecordedRequest) + Send + Sync>;

/// Options of a sandbox; [`Sandbox::builder`].
#[derive(Clone)]
pub struct SandboxBuilder {
    bind: SocketAddr,
    allow_non_loopback: bool,
    bunq_session_interval: Duration,
    bunq_provision_reads: u32,
    capacity: usize,
    on_request: Option<RequestLog>,
}

impl fmt::Debug for SandboxBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SandboxBuilder")
            .field("bind", &self.bind)
            .field("allow_non_loopback", &self.allow_non_loopback)
            .field("bunq_session_interval", &self.bunq_session_interval)
            .field("bunq_provision_reads", &self.bunq_provision_reads)
            .finish_non_exhaustive()
    }
}

impl Default for SandboxBuilder {
    fn default() -> Self {
        Self {
            bind: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            allow_non_loopback: false,
            bunq_session_interval: BUNQ_SESSION_INTERVAL,
            bunq_provision_reads: BUNQ_PROVISION_READS,
            capacity: 500,
            on_request: None,
        }
    }
}

impl SandboxBuilder {
    setters! {
        /// The address to listen on (default `127.0.0.1:0`: a free port).
        bind: SocketAddr,
        /// Allows a non-loopback address (the sandbox accepts any credential: anyone who can
        /// reach it can use it).
        allow_non_loopback: bool,
        /// The `/session-server` limit per client address (default 30 s, as bunq).
        bunq_session_interval: Duration,
        /// Reads of a provision until it is ready (default 3; 0 or 1: ready at the first
        /// read).
        bunq_provision_reads: u32,
    }

    /// How many requests are kept for [`Sandbox::requests`] and the page (default 500).
    pub fn capacity(mut self, n: usize) -> Self {
        self.capacity = n.max(1);
        self
    }

    /// Called with every recorded request (already redacted), e.g. to log it.
    pub fn on_request(mut self, log: impl Fn(&RecordedRequest) + Send + Sync + 'static) -> Self {
        self.on_request = Some(Arc::new(log));
        self
    }

    /// Binds and starts serving on the current tokio runtime.
    pub async fn start(self) -> Result<Sandbox, SandboxError> {
        if !self.bind.ip().is_loopback() && !self.allow_non_loopback {
            return Err(SandboxError::NonLoopback(self.bind));
        }
        let specs = Specs {
            vlens: spec::Spec::load(spec::VLENS_SPEC).map_err(SandboxError::Spec)?,
            vrplatform: spec::Spec::load(spec::VRPLATFORM_SPEC).map_err(SandboxError::Spec)?,
            bunq: spec::Spec::load(spec::BUNQ_SPEC).map_err(SandboxError::Spec)?,
        };
        let key = tokio::task::spawn_blocking(ServerKey::generate)
            .await
            .map_err(|e| SandboxError::Spec(format!("key generation failed: {e}")))?
            .map_err(SandboxError::Spec)?;
        let listener =
            TcpListener::bind(self.bind).await.map_err(|e| SandboxError::Bind(self.bind, e))?;
        let addr = listener.local_addr().map_err(|e| SandboxError::Bind(self.bind, e))?;
        let urls = Urls::new(addr);
        let shared = Arc::new(Shared {
            urls: urls.clone(),
            specs,
            server_key: key,
            on_request: self.on_request,
            state: Mutex::new(State {
                clock_offset: chrono::Duration::zero(),
                faults: fault::Faults::default(),
                canned: fault::CannedResponses::default(),
                recorder: record::Recorder::new(self.capacity),
                vlens: vlens::State::default(),
                vrplatform: vrplatform::State::default(),
                bunq: bunq::State::new(self.bunq_session_interval, self.bunq_provision_reads),
            }),
        });
        let task = tokio::spawn(server::accept_loop(listener, shared.clone()));
        Ok(Sandbox { addr, urls, shared, task })
    }
}

pub(crate) struct Specs {
    pub vlens: spec::Spec,
    pub vrplatform: spec::Spec,
    pub bunq: spec::Spec,
}

/// What every handler shares.
pub(crate) struct Shared {
    pub urls: Urls,
    pub specs: Specs,
    pub server_key: ServerKey,
    pub on_request: Option<RequestLog>,
    state: Mutex<State>,
}

impl Shared {
    /// The state (a poisoned lock is taken over: one failed handler must not stop the rest).
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The mutable state of all providers.
pub(crate) struct State {
    clock_offset: chrono::Duration,
    pub faults: fault::Faults,
    pub canned: fault::CannedResponses,
    pub recorder: record::Recorder,
    pub vlens: vlens::State,
    pub vrplatform: vrplatform::State,
    pub bunq: bunq::State,
}

impl State {
    /// Sandbox time: the real time plus what [`Sandbox::advance_clock`] added.
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + self.clock_offset
    }

    pub fn advance(&mut self, by: Duration) {
        self.clock_offset += chrono::Duration::from_std(by).unwrap_or(chrono::Duration::zero());
    }
}

/// A running sandbox; stops when dropped (or with [`Sandbox::shutdown`]).
pub struct Sandbox {
    addr: SocketAddr,
    urls: Urls,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sandbox").field("addr", &self.addr).finish_non_exhaustive()
    }
}

impl Sandbox {
    /// Options.
    pub fn builder() -> SandboxBuilder {
        SandboxBuilder::default()
    }

    /// Starts with the defaults: `127.0.0.1`, a free port, bunq's 30-s session limit.
    pub async fn start() -> Result<Sandbox, SandboxError> {
        Self::builder().start().await
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URLs.
    pub fn urls(&self) -> &Urls {
        &self.urls
    }

    /// The last requests it received (oldest first), redacted.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().recorder.list(0)
    }

    /// Forgets the recorded requests.
    pub fn clear_requests(&self) {
        self.shared.lock().recorder.clear();
    }

    /// Switches a fault on for a provider's requests, for `times` requests (`None`: until
    /// cleared). Returns its id.
    pub fn add_fault(&self, provider: Target, fault: Fault, times: Option<u32>) -> u64 {
        self.shared.lock().faults.add(provider, fault, None, times)
    }

    /// Like [`Sandbox::add_fault`], only for paths (after the provider prefix, e.g.
    /// `/session-server`) that start with `path_prefix`.
    pub fn add_fault_on(
        &self,
        provider: Target,
        path_prefix: &str,
        fault: Fault,
        times: Option<u32>,
    ) -> u64 {
        self.shared.lock().faults.add(provider, fault, Some(path_prefix.to_string()), times)
    }

    /// Switches one fault off; false when there was none with this id.
    pub fn remove_fault(&self, id: u64) -> bool {
        self.shared.lock().faults.remove(id)
    }

    /// Switches every fault off (canned responses too).
    pub fn clear_faults(&self) {
        let mut state = self.shared.lock();
        state.faults.clear();
        state.canned.clear();
    }

    /// Answers a provider's next `times` requests (`None`: until cleared) whose path (after the
    /// provider prefix) starts with `path_prefix` (`None`: every path) with `response`, as
    /// given, instead of the provider's answer. The request is recorded with that status and
    /// fault `canned <status>`. Canned responses are tried in the order they were added, before
    /// the faults (whose latency still applies).
    pub fn respond(
        &self,
        provider: Target,
        path_prefix: Option<&str>,
        response: Canned,
        times: Option<u32>,
    ) {
        self.shared.lock().canned.add(provider, path_prefix.map(str::to_string), response, times);
    }

    /// The faults switched on.
    pub fn faults(&self) -> Vec<ActiveFault> {
        self.shared.lock().faults.list()
    }

    /// Moves sandbox time forward (token and session expiry, the bunq session limit).
    pub fn advance_clock(&self, by: Duration) {
        self.shared.lock().advance(by);
    }

    /// Changes the bunq `/session-server` limit per client address.
    pub fn set_bunq_session_interval(&self, interval: Duration) {
        self.shared.lock().bunq.session_interval = interval;
    }

    /// Changes how many reads a provision created from now on takes to become ready.
    pub fn set_bunq_provision_reads(&self, reads: u32) {
        self.shared.lock().bunq.provision_reads = reads;
    }

    /// Changes the `session_timeout` (seconds) that `/session-server` reports for sessions
    /// created from now on, and after which they expire in sandbox time (default one week, as
    /// bunq). Any value is answered as given, e.g. `i64::MAX` to test a client's overflow
    /// handling (such a session never expires).
    pub fn set_bunq_session_timeout(&self, seconds: i64) {
        self.shared.lock().bunq.session_timeout = seconds;
    }

    /// Ends every bunq session now (as bunq does when a session times out or is revoked): the
    /// next call with one gets 401 "Insufficient authorisation.".
    pub fn expire_bunq_sessions(&self) {
        self.shared.lock().bunq.expire_sessions();
    }

    /// Sets the business request `id` (a UUID) that `GetBusinessRequestById` answers with, at
    /// `requeststatus` `status` (1 Pending Approval, 2 Approved, 3 Rejected, 4 Customer Signed;
    /// another number needs `name`). For webhook confirmation tests. Returns the status name,
    /// or why not.
    pub fn set_vlens_business_request(
        &self,
        id: &str,
        status: i64,
        name: Option<&str>,
    ) -> Result<String, String> {
        self.shared.lock().vlens.set_business_request(id, status, name)
    }

    /// Stores an object (`Payment`, `MasterCardAction`, `RequestInquiry`, with an integer
    /// `id`) that bunq user `user_id` reads at monetary account `account_id`: what a callback
    /// confirmation reads. Returns the id, or why not.
    pub fn put_bunq_object(
        &self,
        user_id: i64,
        account_id: i64,
        kind: &str,
        object: serde_json::Value,
    ) -> Result<i64, String> {
        self.shared.lock().bunq.put_object(user_id, account_id, kind, object)
    }

    /// The bunq user id of an API key, or of a provisioned user's token value, once the sandbox
    /// has seen it in a `/device-server` call (ids are assigned on first use).
    pub fn bunq_user_id(&self, api_key: &str) -> Option<i64> {
        self.shared.lock().bunq.user_id(api_key)
    }

    /// The RSA public keys installed at bunq so far (PEM as sent), oldest first.
    pub fn bunq_installed_keys(&self) -> Vec<String> {
        self.shared.lock().bunq.installed_keys()
    }

    /// How many bunq requests carried an `X-Bunq-Client-Signature` that verified against their
    /// installation's key.
    pub fn bunq_verified_signatures(&self) -> usize {
        self.shared.lock().bunq.verified
    }

    /// The notification filters bunq holds for a user id (`push`: the push filters, else the
    /// URL filters), as last set by a POST (which replaces them).
    pub fn bunq_notification_filters(&self, user_id: i64, push: bool) -> Vec<serde_json::Value> {
        self.shared.lock().bunq.notification_filters(user_id, push)
    }

    /// The one-time token value of a partner user provision, once it became ready (kept after
    /// its first use, when bunq's answer shows it as null), for tests.
    pub fn bunq_provision_token(&self, provision_id: i64) -> Option<String> {
        self.shared.lock().bunq.provision_token(provision_id)
    }

    /// `/session-server` answers list `Id`, `Token` and the user object in reverse order from
    /// now on (`true`) or in bunq's documented order (`false`): clients must not rely on it.
    pub fn set_bunq_session_items_reversed(&self, reversed: bool) {
        self.shared.lock().bunq.reversed_session_items = reversed;
    }

    /// Every secret the sandbox saw or issued so far (API keys, passwords, bearer, bunq and
    /// provisioned tokens; 6 characters or more), sorted: for tests that check that none of
    /// them leaks into an output. Provisioned token values start with `provisioned_`.
    pub fn secrets(&self) -> Vec<String> {
        self.shared.lock().recorder.secrets()
    }

    /// The sandbox's bunq server public key (PEM), as returned by installation.
    pub fn bunq_server_public_key(&self) -> String {
        self.shared.server_key.public_pem().to_string()
    }

    /// Who a Vlens session token was issued for (phone or email), if this sandbox issued it.
    pub fn vlens_session_user(&self, token: &str) -> Option<String> {
        self.shared.lock().vlens.sessions.get(token).map(|s| s.user.clone())
    }

    /// Stops serving and closes every connection.
    pub async fn shutdown(mut self) {
        self.task.abort();
        let _ = (&mut self.task).await;
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.task.abort();
    }
}
