//! VRPlatform: embed sessions for the iframe, typed failures, a session cache, verification.
//!
//! A backend mints a short-lived session (currently 15 minutes) for one of its users inside a
//! managed team with [`VrPlatformClient::embed_session`], and hands the frontend exactly what it
//! needs with [`VrPlatformSession::frontend_payload`]. Backends that serve many iframe loads
//! share sessions through a [`SessionCache`]. [`VrPlatformClient::verify_session`] makes the
//! call the iframe will make with the session's bearer token.
//!
//! ```no_run
//! use embed_sessions::vrplatform::VrPlatformClient;
//! # async fn demo() -> Result<(), embed_sessions::Error> {
//! let vrp = VrPlatformClient::from_env()?; // VRPLATFORM_API_KEY, optional VRPLATFORM_BASE_URL
//! let session = vrp
//!     .embed_session()
//!     .sub("hostaway-user-123")
//!     .tenant_id("4f8f94de-2cc0-4ec7-a7f8-f0c7f560e59a")
//!     .auto_provision(true)
//!     .send()
//!     .await?;
//! // {"accessToken":"...","expiresAt":"2026-04-01T12:00:00.000Z","tenantId":"4f8f94de-..."}
//! let json = serde_json::to_string(&session.frontend_payload()).unwrap();
//! # let _ = json;
//! # Ok(()) }
//! ```
//!
//! Failures carry a [`VrPlatformReason`] (one variant per documented failure) and a hint:
//!
//! ```no_run
//! use embed_sessions::vrplatform::{VrPlatformClient, VrPlatformReason};
//! # async fn demo(vrp: VrPlatformClient) {
//! let tenant = "4f8f94de-2cc0-4ec7-a7f8-f0c7f560e59a";
//! match vrp.embed_session().sub("u-1").tenant_id(tenant).send().await {
//!     Ok(session) => println!("expires at {}", session.expires_at()),
//!     Err(e) if e.reason_as() == Some(&VrPlatformReason::UnknownUser) => {
//!         eprintln!("{e}"); // ... unknown embedded user (HTTP 401): ...; enable autoProvision ...
//!     }
//!     Err(e) => eprintln!("{e}"),
//! }
//! # }
//! ```

mod cache;
#[cfg(feature = "redis")]
mod shared;

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, SecondsFormat, Utc};
use progenitor_client::ResponseValue;
use uuid::Uuid;
/// The generated VRPlatform client (`vrplatform-client`), for everything the wrappers do not
/// cover.
pub use vrplatform_client as raw;

pub use cache::{
    DEFAULT_MARGIN, DEFAULT_MAX_ENTRIES, SessionCache, SessionCacheBuilder, UserProvisioning,
};

use crate::core::error::ErrorKind;
use crate::core::{
    ApiError, Call, Config, Core, Descriptor, Error, Provider, ProviderReason, RetryPolicy, Secret,
    validate,
};
use raw::types;

const CREATE_EMBED_SESSION: &str = "create_embed_session";
const GET_TEAM: &str = "get_team";

/// The VRPlatform provider: its [`Descriptor`] and reason, and the marker that types its
/// configuration (`Config::builder(VrPlatform)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VrPlatform;

impl Provider for VrPlatform {
    // Both operations are safe to repeat: a session request issues a new token each time, and
    // reading a team changes nothing.
    const DESCRIPTOR: &'static Descriptor = &Descriptor::new(
        "vrplatform",
        "VRPLATFORM_API_KEY",
        "VRPLATFORM_BASE_URL",
        "https://api.edge.vrplatform.app",
    )
    .with_sensitive_headers(&["x-api-key"]);
    type Reason = VrPlatformReason;
}

/// A [`Config`] for VRPlatform.
pub type VrPlatformConfig = Config<VrPlatform>;

/// Why VRPlatform rejected a request: the nine documented failures of
/// `POST /auth/embed/session` (status and message), plus [`VrPlatformReason::Other`].
///
/// `Display` is short and lower-case (`unknown embedded user`); [`VrPlatformReason::hint`] says
/// what to do.
///
/// ```
/// use embed_sessions::ProviderReason;
/// use embed_sessions::vrplatform::VrPlatformReason;
/// let r = VrPlatformReason::from_response(401, Some("UNAUTHORIZED"), Some("unknown embedded user."));
/// assert_eq!(r, VrPlatformReason::UnknownUser);
/// assert_eq!(r.to_string(), "unknown embedded user");
/// assert_eq!(r.hint(), Some("enable autoProvision or create the user first"));
/// let other = VrPlatformReason::from_response(403, None, Some("Unknown embedded user"));
/// assert_eq!(other, VrPlatformReason::Other);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum VrPlatformReason {
    /// 401 "Missing provider api key": `x-api-key` was not sent.
    MissingApiKey,
    /// 401 "Invalid provider API key, not found": the key is wrong or unknown.
    InvalidApiKey,
    /// 401 "Provider API key is inactive": the provider or its key is inactive.
    ApiKeyInactive,
    /// 401 "Provider API key expired".
    ApiKeyExpired,
    /// 404 "Tenant not found": no team has this `tenantId`.
    TenantNotFound,
    /// 401 "Provider API key is not allowed for tenant": the key cannot access that team.
    TenantNotAllowed,
    /// 401 "Unknown embedded user": no user for this `sub`, and `autoProvision` was not set.
    UnknownUser,
    /// 401 "Embedded user is not active": the user is inactive, archived or unconfirmed.
    UserInactive,
    /// 401 "Embedded user is not allowed to access tenant": the user is not a team member.
    UserNotAllowed,
    /// Any other status or message; [`ApiError`] keeps the status, code and message.
    Other,
}

/// The documented failures: status, message (normalised: lower case, no trailing
/// punctuation), reason.
const DOCUMENTED: &[(u16, &str, VrPlatformReason)] = &[
    (401, "missing provider api key", VrPlatformReason::MissingApiKey),
    (401, "invalid provider api key, not found", VrPlatformReason::InvalidApiKey),
    (401, "provider api key is inactive", VrPlatformReason::ApiKeyInactive),
    (401, "provider api key expired", VrPlatformReason::ApiKeyExpired),
    (404, "tenant not found", VrPlatformReason::TenantNotFound),
    (401, "provider api key is not allowed for tenant", VrPlatformReason::TenantNotAllowed),
    (401, "unknown embedded user", VrPlatformReason::UnknownUser),
    (401, "embedded user is not active", VrPlatformReason::UserInactive),
    (401, "embedded user is not allowed to access tenant", VrPlatformReason::UserNotAllowed),
];

/// Lower case, inner whitespace collapsed, surrounding whitespace and trailing punctuation
/// removed.
fn normalize(message: &str) -> String {
    let trimmed =
        message.trim().trim_end_matches(|c: char| c.is_ascii_punctuation() || c.is_whitespace());
    let mut out = String::with_capacity(trimmed.len());
    for word in trimmed.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(word.chars().flat_map(char::to_lowercase));
    }
    out
}

impl ProviderReason for VrPlatformReason {
    /// The reason for a response status and `message`: matched on both, ignoring case,
    /// surrounding whitespace and trailing punctuation (the `code` is not used: VRPlatform
    /// sends `UNAUTHORIZED` for most of them). Anything else is [`VrPlatformReason::Other`];
    /// this never fails.
    fn from_response(status: u16, _code: Option<&str>, message: Option<&str>) -> Self {
        let message = normalize(message.unwrap_or(""));
        DOCUMENTED
            .iter()
            .find(|(s, m, _)| *s == status && *m == message)
            .map_or(VrPlatformReason::Other, |(_, _, r)| *r)
    }

    /// What to do about it (`None` for [`VrPlatformReason::Other`]).
    fn hint(&self) -> Option<&'static str> {
        Some(match self {
            VrPlatformReason::MissingApiKey => "send the provider API key (set VRPLATFORM_API_KEY)",
            VrPlatformReason::InvalidApiKey => {
                "check VRPLATFORM_API_KEY: the key is wrong or unknown"
            }
            VrPlatformReason::ApiKeyInactive => {
                "the provider or its key is inactive: reactivate it or use an active key"
            }
            VrPlatformReason::ApiKeyExpired => {
                "issue a new provider API key and update VRPLATFORM_API_KEY"
            }
            VrPlatformReason::TenantNotFound => "check tenantId: no team has this id",
            VrPlatformReason::TenantNotAllowed => {
                "use a managed team your provider key can access, or get it granted"
            }
            VrPlatformReason::UnknownUser => "enable autoProvision or create the user first",
            VrPlatformReason::UserInactive => {
                "the user is inactive, archived or unconfirmed: reactivate or confirm them"
            }
            VrPlatformReason::UserNotAllowed => {
                "add the user to the team, or open a team the user belongs to"
            }
            VrPlatformReason::Other => return None,
        })
    }
}

impl fmt::Display for VrPlatformReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            VrPlatformReason::MissingApiKey => "missing provider api key",
            VrPlatformReason::InvalidApiKey => "invalid provider api key",
            VrPlatformReason::ApiKeyInactive => "provider api key inactive",
            VrPlatformReason::ApiKeyExpired => "provider api key expired",
            VrPlatformReason::TenantNotFound => "tenant not found",
            VrPlatformReason::TenantNotAllowed => "provider api key not allowed for tenant",
            VrPlatformReason::UnknownUser => "unknown embedded user",
            VrPlatformReason::UserInactive => "embedded user not active",
            VrPlatformReason::UserNotAllowed => "embedded user not allowed for tenant",
            VrPlatformReason::Other => "request rejected",
        })
    }
}

/// Turns a VRPlatform error body into a provider error: typed reason, `code`, `message`, and
/// `issues`/`context` (when present) as details.
fn api_error(
    status: u16,
    _headers: &reqwest::header::HeaderMap,
    body: types::ErrorBody,
) -> ApiError {
    let mut details = serde_json::Map::new();
    if let Some(issues) = body.issues.filter(|i| !i.is_empty())
        && let Ok(v) = serde_json::to_value(issues)
    {
        details.insert("issues".into(), v);
    }
    if let Some(context) = body.context.filter(|c| !c.is_null()) {
        details.insert("context".into(), context);
    }
    ApiError::from_response::<VrPlatform>(status, body.code, Some(body.message))
        .with_details((!details.is_empty()).then_some(serde_json::Value::Object(details)))
}

type RawResult<T> = Result<ResponseValue<T>, progenitor_client::Error<types::ErrorBody>>;

/// The spec types error bodies only for 401 and 404, so another 4xx/5xx (a 403 "Managed team
/// context required", a 500) reaches us as `UnexpectedResponse`. When its body is a VRPlatform
/// `{code, message}` body, it becomes a typed error response, so its message is kept; anything
/// else (HTML, truncated JSON) is handed back unchanged for the core to report with an excerpt.
///
/// It takes the generated call's result, not its future: an `async fn` keeps a future passed
/// to it twice in its own state (rust-lang/rust#62958), and the generated future is large.
async fn decode_undeclared<T>(sent: RawResult<T>) -> RawResult<T> {
    use progenitor_client::Error as P;
    match sent {
        // Boxed: only an error answer pays for reading its body in this future's room.
        Err(P::UnexpectedResponse(resp)) if resp.status().as_u16() >= 400 => {
            Box::pin(decode_error_body(resp)).await
        }
        other => other,
    }
}

/// An undeclared error status's body as VRPlatform's `ErrorBody`, when it is one.
async fn decode_error_body<T>(resp: reqwest::Response) -> RawResult<T> {
    use progenitor_client::Error as P;
    let status = resp.status();
    let headers = resp.headers().clone();
    // The core's transport hands over responses whose bodies are already in memory.
    let body = match resp.bytes().await {
        Ok(body) => body,
        Err(e) => return Err(P::ResponseBodyError(e)),
    };
    match serde_json::from_slice::<types::ErrorBody>(&body) {
        Ok(parsed) => Err(P::ErrorResponse(ResponseValue::new(parsed, status, headers))),
        Err(_) => {
            let mut rebuilt = http::Response::new(body);
            *rebuilt.status_mut() = status;
            *rebuilt.headers_mut() = headers;
            Err(P::UnexpectedResponse(reqwest::Response::from(rebuilt)))
        }
    }
}

/// A VRPlatform client: provider API key and base URL (default
/// `https://api.edge.vrplatform.app`). Keep it server-side.
///
/// Cheap to clone; clones share one connection pool.
#[derive(Clone, Debug)]
pub struct VrPlatformClient {
    core: Arc<Core<raw::Client>>,
}

impl VrPlatformClient {
    /// A client from a configuration made with `Config::builder(VrPlatform)`; the API key is
    /// required (a configuration error naming `VRPLATFORM_API_KEY` otherwise).
    ///
    /// ```
    /// use embed_sessions::Config;
    /// use embed_sessions::vrplatform::{VrPlatform, VrPlatformClient};
    /// let config = Config::builder(VrPlatform).api_key("PROVIDER_KEY").build()?;
    /// let vrp = VrPlatformClient::new(config)?;
    /// assert!(!format!("{vrp:?}").contains("PROVIDER_KEY"));
    /// # Ok::<(), embed_sessions::Error>(())
    /// ```
    pub fn new(config: VrPlatformConfig) -> Result<Self, Error> {
        config.require_api_key()?;
        Self::without_key(config)
    }

    /// A client without a provider key, for the calls made with an embed access token only
    /// ([`team_with_token`](Self::team_with_token)); the provider-key calls then fail with a
    /// configuration error naming `VRPLATFORM_API_KEY`.
    ///
    /// ```
    /// use embed_sessions::Config;
    /// use embed_sessions::vrplatform::{VrPlatform, VrPlatformClient};
    /// let config = Config::builder(VrPlatform).build()?;
    /// let vrp = VrPlatformClient::without_key(config)?;
    /// # Ok::<(), embed_sessions::Error>(())
    /// ```
    pub fn without_key(config: VrPlatformConfig) -> Result<Self, Error> {
        let core = Core::new(config, RetryPolicy::default(), raw::Client::new_with_client);
        Ok(Self { core: Arc::new(core) })
    }

    /// A client from `VRPLATFORM_API_KEY` (required) and `VRPLATFORM_BASE_URL` (optional).
    ///
    /// ```no_run
    /// let vrp = embed_sessions::vrplatform::VrPlatformClient::from_env()?;
    /// # Ok::<(), embed_sessions::Error>(())
    /// ```
    pub fn from_env() -> Result<Self, Error> {
        Self::new(Config::from_env(VrPlatform)?)
    }

    /// The base URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        self.core.base_url()
    }

    /// Starts an embed session request (`POST /auth/embed/session`). `sub` and `tenant_id`
    /// are required; see [`EmbedSessionBuilder`].
    pub fn embed_session(&self) -> EmbedSessionBuilder<'_> {
        EmbedSessionBuilder { client: self, sub: None, tenant_id: None, auto_provision: false }
    }

    /// Issues a session for validated input (shared by the builder and the cache).
    async fn create(
        &self,
        sub: &str,
        tenant_id: Uuid,
        auto_provision: bool,
    ) -> Result<VrPlatformSession, Error> {
        let key = self.core.api_key_header()?;
        self.core
            .call(
                Call::new(CREATE_EMBED_SESSION),
                |c| {
                    // The body is built per attempt from the borrowed input (no copy kept for
                    // a retry). `sub` was checked non-empty, all the spec asks of it.
                    let req = c.create_embed_session().x_api_key(key);
                    let req = req.body_map(|b| b.sub(sub).tenant_id(tenant_id));
                    // Sent only when asked: otherwise unknown users get the explicit 401.
                    let req = if auto_provision { req.auto_provision(true) } else { req };
                    async move { decode_undeclared(req.send().await).await }
                },
                api_error,
                |out| VrPlatformSession::try_from(out.into_inner()),
            )
            .await
    }

    /// Reads the session's team the way the iframe will: `GET /teams/{tenantId}` with
    /// `Authorization: Bearer <accessToken>` (no API key). Success proves the token works.
    ///
    /// ```no_run
    /// # use embed_sessions::vrplatform::VrPlatformClient;
    /// # async fn demo(vrp: VrPlatformClient) -> Result<(), embed_sessions::Error> {
    /// let tenant = "4f8f94de-2cc0-4ec7-a7f8-f0c7f560e59a";
    /// let session = vrp.embed_session().sub("u-1").tenant_id(tenant).send().await?;
    /// let team = vrp.verify_session(&session).await?;
    /// println!("session opens {}", team.name.as_deref().unwrap_or("(unnamed team)"));
    /// # Ok(()) }
    /// ```
    pub async fn verify_session(&self, session: &VrPlatformSession) -> Result<types::Team, Error> {
        self.get_team(session.tenant_id, TeamAuth::Bearer(session.token.expose())).await
    }

    /// Reads a team with an embed access token you hold (`Authorization: Bearer`), for
    /// example one a frontend reported as refused. `tenant_id` must be a UUID (checked before
    /// sending); no provider key is needed.
    ///
    /// ```no_run
    /// # use embed_sessions::{Secret, vrplatform::VrPlatformClient};
    /// # async fn demo(vrp: VrPlatformClient, token: Secret) -> Result<(), embed_sessions::Error> {
    /// let team = vrp.team_with_token("4f8f94de-2cc0-4ec7-a7f8-f0c7f560e59a", &token).await?;
    /// # Ok(()) }
    /// ```
    pub async fn team_with_token(
        &self,
        tenant_id: &str,
        access_token: &Secret,
    ) -> Result<types::Team, Error> {
        let id = validate::uuid("tenantId", tenant_id)?;
        validate::non_empty("access_token", access_token.expose())?;
        self.get_team(id, TeamAuth::Bearer(access_token.expose())).await
    }

    /// Reads a team from the backend: `GET /teams/{tenant_id}` with the provider API key
    /// (`x-api-key`). `tenant_id` must be a UUID (checked before sending).
    ///
    /// ```no_run
    /// # use embed_sessions::vrplatform::VrPlatformClient;
    /// # async fn demo(vrp: VrPlatformClient) -> Result<(), embed_sessions::Error> {
    /// let team = vrp.team("4f8f94de-2cc0-4ec7-a7f8-f0c7f560e59a").await?;
    /// println!("{:?} {:?}", team.name, team.status);
    /// # Ok(()) }
    /// ```
    pub async fn team(&self, tenant_id: &str) -> Result<types::Team, Error> {
        let id = validate::uuid("tenantId", tenant_id)?;
        let key = self.core.api_key_header()?;
        self.get_team(id, TeamAuth::ApiKey(key)).await
    }

    /// `GET /teams/{id}`, authenticated as the caller chose.
    async fn get_team(&self, id: Uuid, auth: TeamAuth<'_>) -> Result<types::Team, Error> {
        self.core
            .call(
                Call::new(GET_TEAM),
                |c| {
                    let req = c.get_team().id(id);
                    let req = match &auth {
                        TeamAuth::ApiKey(key) => req.x_api_key(*key),
                        TeamAuth::Bearer(token) => req.authorization(format!("Bearer {token}")),
                    };
                    async move { decode_undeclared(req.send().await).await }
                },
                api_error,
                |out| Ok(out.into_inner()),
            )
            .await
    }
}

/// How a team is read: as the backend (provider key) or as the iframe (embed token).
enum TeamAuth<'t> {
    ApiKey(&'t str),
    Bearer(&'t str),
}

/// Builds an embed session request. See [`VrPlatformClient::embed_session`].
///
/// `sub` must be non-empty text and `tenant_id` a UUID; both are checked before anything is
/// sent, and the error names the field (`sub`, `tenantId`).
#[derive(Debug)]
#[must_use = "call `send` to issue the session"]
pub struct EmbedSessionBuilder<'a> {
    client: &'a VrPlatformClient,
    sub: Option<Cow<'a, str>>,
    tenant_id: Option<Cow<'a, str>>,
    auto_provision: bool,
}

impl<'a> EmbedSessionBuilder<'a> {
    /// Your stable external id of the user (`sub`, for example `hostaway-user-123`): a `&str`
    /// (borrowed, not copied) or a `String`.
    // Named after the API field, not `std::ops::Sub`.
    #[allow(clippy::should_implement_trait)]
    pub fn sub(mut self, sub: impl Into<Cow<'a, str>>) -> Self {
        self.sub = Some(sub.into());
        self
    }

    /// The managed team the iframe opens into (`tenantId`, a UUID such as
    /// `4f8f94de-2cc0-4ec7-a7f8-f0c7f560e59a`): a `&str` or a `String`.
    pub fn tenant_id(mut self, tenant_id: impl Into<Cow<'a, str>>) -> Self {
        self.tenant_id = Some(tenant_id.into());
        self
    }

    setters! {
        /// Creates the user on first access (`?autoProvision=true`). Off by default: the
        /// query parameter is then not sent, and an unknown user is
        /// [`VrPlatformReason::UnknownUser`].
        auto_provision: bool,
    }

    /// Validates the input (nothing is sent when it is invalid) and issues the session.
    pub async fn send(self) -> Result<VrPlatformSession, Error> {
        let (sub, tenant_id) = validate_key(self.sub.as_deref(), self.tenant_id.as_deref())?;
        self.client.create(sub, tenant_id, self.auto_provision).await
    }
}

/// Checks `sub` and `tenantId`; the error names the field.
fn validate_key<'s>(
    sub: Option<&'s str>,
    tenant_id: Option<&str>,
) -> Result<(&'s str, Uuid), Error> {
    let sub = sub.ok_or_else(|| Error::invalid_input("sub", "is required"))?;
    validate::non_empty("sub", sub)?;
    let tenant_id = tenant_id.ok_or_else(|| Error::invalid_input("tenantId", "is required"))?;
    Ok((sub, validate::uuid("tenantId", tenant_id)?))
}

/// An issued embed session: the bearer token, its expiry, the team and the user.
///
/// `Debug` never shows the token. Hand the frontend [`VrPlatformSession::frontend_payload`].
#[derive(Clone, Debug)]
pub struct VrPlatformSession {
    token: Secret,
    expires_at: DateTime<Utc>,
    tenant_id: Uuid,
    user_id: Uuid,
}

impl TryFrom<types::EmbedSession> for VrPlatformSession {
    type Error = Error;

    /// Checks a raw session: a non-empty token and an RFC 3339 `expiresAt` (else an
    /// [`ErrorKind::UnexpectedResponse`] error).
    ///
    /// ```
    /// use embed_sessions::vrplatform::{VrPlatformSession, raw::types::EmbedSession};
    /// let raw: EmbedSession = serde_json::from_value(serde_json::json!({
    ///     "accessToken": "tok",
    ///     "expiresAt": "2026-04-01T12:00:00.000Z",
    ///     "tenantId": "4f8f94de-2cc0-4ec7-a7f8-f0c7f560e59a",
    ///     "userId": "11111111-1111-4111-8111-111111111111",
    /// })).unwrap();
    /// let session = VrPlatformSession::try_from(raw)?;
    /// assert_eq!(session.expires_at().to_rfc3339(), "2026-04-01T12:00:00+00:00");
    /// # Ok::<(), embed_sessions::Error>(())
    /// ```
    fn try_from(raw: types::EmbedSession) -> Result<Self, Error> {
        let unexpected = |message: String| {
            Error::new(ErrorKind::UnexpectedResponse)
                .with_status(Some(200))
                .with_message(message)
                .at(VrPlatform::DESCRIPTOR.name(), CREATE_EMBED_SESSION)
        };
        if raw.access_token.is_empty() {
            return Err(unexpected("`accessToken` is empty".into()));
        }
        let expires_at = DateTime::parse_from_rfc3339(&raw.expires_at)
            .map_err(|e| {
                unexpected(format!(
                    "`expiresAt` `{}` is not an RFC 3339 timestamp ({e})",
                    crate::core::redact::one_line(&raw.expires_at, 64)
                ))
            })?
            .with_timezone(&Utc);
        Ok(Self {
            token: Secret::new(raw.access_token),
            expires_at,
            tenant_id: raw.tenant_id,
            user_id: raw.user_id,
        })
    }
}

impl VrPlatformSession {
    /// The bearer token (`accessToken`; `Authorization: Bearer <token>` on Product API
    /// calls).
    pub fn token(&self) -> &Secret {
        &self.token
    }

    /// When the token expires (`expiresAt`).
    pub fn expires_at(&self) -> DateTime<Utc> {
        self.expires_at
    }

    /// The team the session opens into (`tenantId`).
    pub fn tenant_id(&self) -> Uuid {
        self.tenant_id
    }

    /// VRPlatform's id of the embedded user (`userId`).
    pub fn user_id(&self) -> Uuid {
        self.user_id
    }

    /// What the frontend needs, and nothing else: serialize it as the JSON your backend
    /// returns to the browser.
    ///
    /// ```
    /// # use embed_sessions::vrplatform::{VrPlatformSession, raw::types::EmbedSession};
    /// # let raw: EmbedSession = serde_json::from_value(serde_json::json!({
    /// #     "accessToken": "tok",
    /// #     "expiresAt": "2026-04-01T12:00:00Z",
    /// #     "tenantId": "4f8f94de-2cc0-4ec7-a7f8-f0c7f560e59a",
    /// #     "userId": "11111111-1111-4111-8111-111111111111",
    /// # })).unwrap();
    /// # let session = VrPlatformSession::try_from(raw)?;
    /// let json = serde_json::to_string(&session.frontend_payload()).unwrap();
    /// assert_eq!(
    ///     json,
    ///     concat!(
    ///         r#"{"accessToken":"tok","expiresAt":"2026-04-01T12:00:00.000Z","#,
    ///         r#""tenantId":"4f8f94de-2cc0-4ec7-a7f8-f0c7f560e59a"}"#
    ///     )
    /// );
    /// # Ok::<(), embed_sessions::Error>(())
    /// ```
    pub fn frontend_payload(&self) -> FrontendPayload {
        FrontendPayload {
            access_token: self.token.clone(),
            expires_at: self.expires_at,
            tenant_id: self.tenant_id,
        }
    }
}

/// The session payload for the frontend: exactly `accessToken`, `expiresAt` (RFC 3339, UTC,
/// milliseconds, like VRPlatform's own `2026-04-01T12:00:00.000Z`) and `tenantId`.
///
/// Serializing it exposes the token, as intended: return it only to the user's browser.
/// `Debug` does not show the token.
#[derive(Clone, serde::Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct FrontendPayload {
    #[serde(serialize_with = "expose_secret")]
    access_token: Secret,
    #[serde(serialize_with = "rfc3339_millis")]
    expires_at: DateTime<Utc>,
    tenant_id: Uuid,
}

impl FrontendPayload {
    /// The bearer token (`accessToken`).
    pub fn token(&self) -> &Secret {
        &self.access_token
    }

    /// When the token expires.
    pub fn expires_at(&self) -> DateTime<Utc> {
        self.expires_at
    }

    /// The team the iframe opens into.
    pub fn tenant_id(&self) -> Uuid {
        self.tenant_id
    }
}

fn expose_secret<S: serde::Serializer>(secret: &Secret, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(secret.expose())
}

fn rfc3339_millis<S: serde::Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::Millis, true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation_tolerates_case_spacing_and_trailing_punctuation() {
        assert_eq!(normalize("  Unknown   Embedded user.  "), "unknown embedded user");
        assert_eq!(normalize("Invalid provider API key, not found!"), normalize(DOCUMENTED[1].1));
        for (status, message, reason) in DOCUMENTED {
            let from = |m: &str| VrPlatformReason::from_response(*status, None, Some(m));
            assert_eq!(from(message), *reason);
            assert_eq!(from(&format!("{}.", message.to_uppercase())), *reason);
            assert!(reason.hint().is_some());
        }
        let from = VrPlatformReason::from_response;
        assert_eq!(from(500, None, Some("Tenant not found")), VrPlatformReason::Other);
        assert_eq!(from(401, None, Some("")), VrPlatformReason::Other);
        assert_eq!(from(401, None, None), VrPlatformReason::Other);
    }
}
