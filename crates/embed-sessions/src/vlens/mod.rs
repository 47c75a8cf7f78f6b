//! Vlens: embedded auth sessions, invitations with pre-filled fields, admin login.
//!
//! A backend mints a session token for a user with [`VlensClient::auth_session`] (API key
//! only) or [`VlensClient::invitation`] (API key plus an admin bearer token, obtained and renewed
//! for you from [`AdminCredentials`]), then loads the Vlens iframe with
//! [`VlensSession::iframe_url`].
//!
//! ```no_run
//! use embed_sessions::vlens::VlensClient;
//! # async fn demo() -> Result<(), embed_sessions::Error> {
//! let vlens = VlensClient::from_env()?; // VLENS_API_KEY, optional VLENS_BASE_URL
//! let session = vlens
//!     .auth_session()
//!     .phone("+201234567890")
//!     .contract_type(414)
//!     .minimal_signature_flow(true)
//!     .send()
//!     .await?;
//! println!("{}", session.iframe_html());
//! # Ok(()) }
//! ```

mod admin;
pub mod events;
mod template;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

pub use admin::AdminCredentials;
pub use template::{TemplateField, TemplateFields};
/// The generated Vlens client (`vlens-client`), for everything the wrappers do not cover.
pub use vlens_client as raw;

use crate::core::budget::{Limit, RateRule};
use crate::core::error::ErrorKind;
use crate::core::{
    ApiError, Call, Config, Core, Descriptor, Error, Provider, ProviderReason, RetryPolicy, Secret,
    renew_once_on_401, validate,
};
use admin::AdminAuth;
use raw::types;

/// Default origin of the embedded Vlens app.
pub const DEFAULT_IFRAME_ORIGIN: &str = "https://app.vlenseg.com";
/// The environment variable [`VlensClient::from_env`] reads the iframe origin from.
pub const IFRAME_ORIGIN_VAR: &str = "VLENS_IFRAME_ORIGIN";

/// Vlens's published limits per tenant: 10 requests per second and 60 per minute.
pub const RATE_LIMITS: &[Limit] =
    &[Limit::new(10, Duration::from_secs(1)), Limit::new(60, Duration::from_secs(60))];

const CREATE_AUTH_SESSION: &str = "create_auth_session";
const CREATE_INVITATION: &str = "create_invitation";
const TEMPLATE_FIELDS: &str = "get_business_request_type_template_fields";
const BUSINESS_REQUEST: &str = "get_business_request_by_id";
const LOGIN: &str = "login";
const REFRESH_TOKEN: &str = "refresh_token";

/// The Vlens provider: its [`Descriptor`] and reason, and the marker that types its
/// configuration (`Config::builder(Vlens)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vlens;

impl Provider for Vlens {
    const DESCRIPTOR: &'static Descriptor =
        &Descriptor::new("vlens", "VLENS_API_KEY", "VLENS_BASE_URL", "https://api.vlenseg.com")
            .with_sensitive_headers(&["apikey"])
            // An invitation repeated after a timeout could invite twice; a repeated login or
            // refresh could invalidate the token the first one issued.
            .with_not_safe_to_repeat(&[CREATE_INVITATION, LOGIN, REFRESH_TOKEN])
            // Decision (the docs disagree): didoc.vlens.co gives 10 requests/s and 60/min per
            // tenant, apidoc.vlens.co 15/s and 120/min; the stricter pair is kept, both at
            // once, for every operation of one API key (the tenant).
            .with_rate_limits(|_, _| Some(RateRule { limits: RATE_LIMITS, per_operation: false }));
    type Reason = VlensReason;
}

/// A [`Config`] for Vlens.
pub type VlensConfig = Config<Vlens>;

/// Why Vlens rejected a request: the documented error-code families, plus HTTP statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum VlensReason {
    /// HTTP 401, or an envelope saying the credentials were refused.
    Unauthorized,
    /// HTTP 403.
    Forbidden,
    /// 1050: image quality too low for OCR.
    ImageQuality,
    /// 3001-3014 and 3101-3102: ID document validation.
    DocumentValidation,
    /// 4001-4007: bundle or subscription problems.
    Subscription,
    /// 4206-4210: face detection problems.
    Face,
    /// 5000-5008: generic failure, unsupported document, image too large, wrong endpoint.
    Generic,
    /// 7000-7008: processing error for a document type.
    Processing,
    /// An error code the docs do not list.
    Other,
}

impl ProviderReason for VlensReason {
    /// The reason for the HTTP status and an envelope `error_code` (its decimal text; the
    /// message is not used).
    ///
    /// ```
    /// use embed_sessions::ProviderReason;
    /// use embed_sessions::vlens::VlensReason;
    /// assert_eq!(VlensReason::from_response(200, Some("1050"), None), VlensReason::ImageQuality);
    /// assert_eq!(VlensReason::from_response(401, None, None), VlensReason::Unauthorized);
    /// ```
    fn from_response(status: u16, code: Option<&str>, _message: Option<&str>) -> Self {
        let code = code.and_then(|c| c.trim().parse::<i64>().ok());
        match (code, status) {
            (_, 401) => VlensReason::Unauthorized,
            (_, 403) => VlensReason::Forbidden,
            (Some(1050), _) => VlensReason::ImageQuality,
            (Some(3001..=3014 | 3101 | 3102), _) => VlensReason::DocumentValidation,
            (Some(4001..=4007), _) => VlensReason::Subscription,
            (Some(4206..=4210), _) => VlensReason::Face,
            (Some(5000..=5008), _) => VlensReason::Generic,
            (Some(7000..=7008), _) => VlensReason::Processing,
            _ => VlensReason::Other,
        }
    }

    fn hint(&self) -> Option<&'static str> {
        Some(match self {
            VlensReason::Unauthorized => {
                "check VLENS_API_KEY (and the admin credentials for invitations)"
            }
            VlensReason::Forbidden => "the key or admin user lacks permission for this operation",
            VlensReason::ImageQuality => "ask the user to retake the picture in better light",
            VlensReason::DocumentValidation => {
                "the ID document failed validation; ask for a valid document"
            }
            VlensReason::Subscription => "check the tenant's Vlens bundle or subscription",
            VlensReason::Face => "ask the user to retake the selfie with one clear face",
            VlensReason::Generic => "see the error message; contact Vlens if it persists",
            VlensReason::Processing => {
                "the document could not be processed; retry or contact Vlens"
            }
            VlensReason::Other => return None,
        })
    }
}

impl fmt::Display for VlensReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            VlensReason::Unauthorized => "unauthorized",
            VlensReason::Forbidden => "forbidden",
            VlensReason::ImageQuality => "image quality too low",
            VlensReason::DocumentValidation => "document validation failed",
            VlensReason::Subscription => "subscription problem",
            VlensReason::Face => "face check failed",
            VlensReason::Generic => "request failed",
            VlensReason::Processing => "processing error",
            VlensReason::Other => "request rejected",
        })
    }
}

/// Turns a Vlens envelope into a provider error.
fn envelope_error(
    status: u16,
    _headers: &reqwest::header::HeaderMap,
    out: types::ApiOutput,
) -> ApiError {
    ApiError::from_response::<Vlens>(
        status,
        out.error_code.map(|c| c.to_string()),
        out.error_message,
    )
    .with_details(out.error_descriptions)
}

/// A generated `ApiOutput*` envelope: `data` plus the error fields every envelope has.
pub(super) trait Envelope: Sized {
    /// What `data` holds.
    type Data;
    /// The envelope taken apart: `data` and an `ApiOutput` with the error fields.
    fn split(self) -> (Option<Self::Data>, types::ApiOutput);
}

macro_rules! envelope {
    ($($ty:ident => $data:ty),* $(,)?) => {$(
        impl Envelope for types::$ty {
            type Data = $data;
            fn split(self) -> (Option<$data>, types::ApiOutput) {
                let errors = types::ApiOutput {
                    data: None,
                    error_code: self.error_code,
                    error_descriptions: self.error_descriptions,
                    error_message: self.error_message,
                };
                (self.data, errors)
            }
        }
    )*};
}

envelope! {
    ApiOutputString => String,
    ApiOutputLoginOutput => types::LoginOutput,
    ApiOutputRefreshTokenOutput => types::RefreshTokenOutput,
    ApiOutputRequestTypeTemplate => types::RequestTypeTemplate,
    ApiOutputBusinessRequest => types::BusinessRequest,
}

/// The envelope turned into a `Result`: `error_code` null or 0 with `data` is success; any
/// other code is a provider error carrying code, message and descriptions; no code and no
/// `data` is an unexpected response. `what` names the expected `data` in that message. Used
/// as the `open` step of [`Core::call`], which adds provider, operation and scrubbing.
pub(super) fn open_envelope<E: Envelope>(
    what: &'static str,
) -> impl FnOnce(progenitor_client::ResponseValue<E>) -> Result<E::Data, Error> {
    move |out| open_split(out.status().as_u16(), what, out.into_inner().split())
}

fn open_split<D>(
    status: u16,
    what: &str,
    (data, errors): (Option<D>, types::ApiOutput),
) -> Result<D, Error> {
    match (errors.error_code, data) {
        (None | Some(0), Some(data)) => Ok(data),
        (None | Some(0), None) => Err(Error::new(ErrorKind::UnexpectedResponse)
            .with_status(Some(status))
            .with_message(format!("the envelope has no error code and no {what} in `data`"))),
        (Some(_), _) => Err(Error::api(
            Some(status),
            envelope_error(status, &reqwest::header::HeaderMap::new(), errors),
        )),
    }
}

/// A session token from an `ApiOutputString` envelope (an empty token counts as none).
fn open_token(
    out: progenitor_client::ResponseValue<types::ApiOutputString>,
) -> Result<Secret, Error> {
    let status = out.status().as_u16();
    let (data, errors) = out.into_inner().split();
    open_split(status, "token", (data.filter(|t| !t.is_empty()), errors)).map(Secret::new)
}

/// A Vlens client: API key, base URL, iframe origin and (for invitations) admin credentials.
///
/// Cheap to clone; clones share the admin token cache.
#[derive(Clone, Debug)]
pub struct VlensClient {
    core: Arc<Core<raw::Client>>,
    iframe_origin: Arc<str>,
    admin: Option<Arc<AdminAuth>>,
}

impl VlensClient {
    /// A client from a configuration made with `Config::builder(Vlens)`; the API key is
    /// required (a configuration error naming `VLENS_API_KEY` otherwise).
    ///
    /// ```
    /// use embed_sessions::Config;
    /// use embed_sessions::vlens::{Vlens, VlensClient};
    /// let config = Config::builder(Vlens).api_key("KEY").build()?;
    /// let vlens = VlensClient::new(config)?;
    /// assert!(!format!("{vlens:?}").contains("KEY"));
    /// # Ok::<(), embed_sessions::Error>(())
    /// ```
    pub fn new(config: VlensConfig) -> Result<Self, Error> {
        config.require_api_key()?;
        Ok(Self {
            core: Arc::new(Core::new(config, RetryPolicy::default(), raw::Client::new_with_client)),
            iframe_origin: Arc::from(DEFAULT_IFRAME_ORIGIN),
            admin: None,
        })
    }

    /// A client from `VLENS_API_KEY` and `VLENS_BASE_URL`; admin credentials are read too
    /// when `VLENS_TENANCY_NAME`, `VLENS_USERNAME` and `VLENS_PASSWORD` are all set, and the
    /// iframe origin from `VLENS_IFRAME_ORIGIN` when set (see [`Self::with_iframe_origin`]).
    pub fn from_env() -> Result<Self, Error> {
        let mut client = Self::new(Config::from_env(Vlens)?)?;
        if let Ok(origin) = std::env::var(IFRAME_ORIGIN_VAR)
            && !origin.is_empty()
        {
            client = client.with_iframe_origin(&origin)?;
        }
        Ok(match AdminCredentials::from_env() {
            Ok(creds) => client.with_admin(creds),
            Err(_) => client,
        })
    }

    /// Uses another origin for iframe URLs (default `https://app.vlenseg.com`); same rules as
    /// base URLs (https, or http on loopback).
    pub fn with_iframe_origin(mut self, origin: &str) -> Result<Self, Error> {
        let origin = crate::core::validate_base_url(Vlens::DESCRIPTOR.name(), origin)?;
        self.iframe_origin = Arc::from(origin);
        Ok(self)
    }

    /// Adds admin credentials, needed for invitations. Tokens are cached and renewed.
    pub fn with_admin(mut self, credentials: AdminCredentials) -> Self {
        self.admin = Some(Arc::new(AdminAuth::new(credentials)));
        self
    }

    /// Shares the admin tokens with the other instances of a fleet through Redis (feature
    /// `redis`; call after [`with_admin`](Self::with_admin)): one login or refresh per token
    /// lifetime across the fleet, the tokens sealed in Redis; this instance's cache stays in
    /// front. With Redis failing, the tokens are fetched as without it.
    #[cfg(feature = "redis")]
    pub fn with_shared_admin_token(mut self, fleet: &crate::fleet::Fleet) -> Self {
        self.admin = self.admin.map(|a| Arc::new(a.shared(fleet)));
        self
    }

    /// The base URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        self.core.base_url()
    }

    /// The iframe origin iframe URLs use.
    pub fn iframe_origin(&self) -> &str {
        &self.iframe_origin
    }

    /// Starts an auth session (API key only).
    pub fn auth_session(&self) -> AuthSessionBuilder<'_> {
        AuthSessionBuilder { client: self, user: UserSpec::default() }
    }

    /// Starts an invitation (API key and admin token), with pre-filled fields.
    pub fn invitation(&self) -> InvitationBuilder<'_> {
        InvitationBuilder { client: self, user: UserSpec::default(), fields: BTreeMap::new() }
    }

    /// A valid admin access token: cached, renewed with the refresh token shortly before it
    /// expires, or obtained by a fresh login. Concurrent callers share one login.
    pub async fn admin_token(&self) -> Result<Secret, Error> {
        let admin = self.admin.as_ref().ok_or_else(|| {
            Error::config(
                "vlens: invitations need admin credentials: call `with_admin` or set \
                 VLENS_TENANCY_NAME, VLENS_USERNAME and VLENS_PASSWORD",
            )
        })?;
        admin.access_token(&self.core).await
    }

    /// The template fields of a contract (business request) type: the keys an invitation can
    /// pre-fill. Sends the admin bearer token when admin credentials are configured.
    pub async fn template_fields(&self, request_type_id: i32) -> Result<TemplateFields, Error> {
        let key = self.core.api_key_header()?;
        let bearer = self.optional_bearer().await?;
        self.core
            .call(
                Call::new(TEMPLATE_FIELDS),
                |c| {
                    let mut req = c
                        .get_business_request_type_template_fields()
                        .api_key(key)
                        .request_type_id(request_type_id);
                    if let Some(b) = &bearer {
                        req = req.authorization(b);
                    }
                    req.send()
                },
                envelope_error,
                open_envelope("template"),
            )
            .await
            .map(TemplateFields::from_raw)
    }

    /// A business request, read through the API (`GetBusinessRequestById`): its current
    /// `requeststatus`. Sends the admin bearer token when admin credentials are configured.
    /// `id` is the request's UUID (a webhook's `Data.Id`), checked before any request.
    pub async fn business_request(&self, id: &str) -> Result<types::BusinessRequest, Error> {
        let uuid = uuid::Uuid::parse_str(id.trim()).map_err(|_| {
            Error::invalid_input(
                "request_id",
                format!("`{}` is not a UUID", crate::core::redact::one_line(id, 60)),
            )
        })?;
        let key = self.core.api_key_header()?;
        let bearer = self.optional_bearer().await?;
        let request = self
            .core
            .call(
                Call::new(BUSINESS_REQUEST),
                |c| {
                    let mut req = c.get_business_request_by_id().api_key(key).id(uuid);
                    if let Some(b) = &bearer {
                        req = req.authorization(b);
                    }
                    req.send()
                },
                envelope_error,
                open_envelope("business request"),
            )
            .await?;
        match request.id.as_deref().map(uuid::Uuid::parse_str) {
            Some(Ok(got)) if got != uuid => Err(Error::unexpected_response(
                Some(200),
                format!("asked for business request {uuid}, the API answered with {got}"),
            )
            .at(Vlens::DESCRIPTOR.name(), BUSINESS_REQUEST)),
            _ => Ok(request),
        }
    }

    /// Confirms a webhook through the API: reads the business request it names and compares
    /// its current status with the one the webhook claims. Act on
    /// [`Confirmation::current`](crate::core::inbound::Confirmation::current), not on the
    /// webhook body; an unconfirmed claim (`!is_confirmed()`) is a stale, reordered or forged
    /// delivery. An event of a kind the docs do not list cannot be confirmed (an invalid
    /// input error, nothing sent).
    pub async fn confirm_event(
        &self,
        event: &events::VlensEvent,
    ) -> Result<crate::core::inbound::Confirmation<types::BusinessRequest>, Error> {
        let events::VlensEventKind::BusinessRequestStatusChange(change) = event.kind() else {
            return Err(Error::invalid_input(
                "event",
                format!(
                    "`{}` events are not documented, so there is nothing to re-read;                      read the object they name yourself",
                    crate::core::redact::one_line(event.event_name(), 80)
                ),
            ));
        };
        let current = self.business_request(&change.request_id).await?;
        let actual = events::current_status(&current);
        let claimed = change.new_status.as_str().to_string();
        Ok(crate::core::inbound::Confirmation::new(current, claimed, actual))
    }

    /// `Bearer <admin token>` when admin credentials are configured.
    async fn optional_bearer(&self) -> Result<Option<String>, Error> {
        Ok(match &self.admin {
            Some(_) => Some(format!("Bearer {}", self.admin_token().await?.expose())),
            None => None,
        })
    }

    fn session(&self, token: Secret) -> VlensSession {
        VlensSession { token, iframe_origin: self.iframe_origin.clone() }
    }
}

/// The user and permissions shared by auth sessions and invitations.
#[derive(Default, Clone)]
struct UserSpec {
    phone: Option<String>,
    email: Option<String>,
    contract_types: Vec<i64>,
    minimal_signature_flow: Option<bool>,
    digital_identity_only: Option<bool>,
    user_public_key: Option<String>,
}

/// What the user-facing builders share; validated before any request.
struct ValidUser {
    phone: Option<String>,
    email: Option<String>,
    permissions: Option<types::SessionPermissions>,
    user_public_key: Option<String>,
}

impl UserSpec {
    /// Checks the user and hands its parts on (moved, not copied).
    fn validate(self) -> Result<ValidUser, Error> {
        match (&self.phone, &self.email) {
            (Some(_), Some(_)) => {
                return Err(Error::invalid_input(
                    "phone",
                    "give a phone number or an email address, not both",
                ));
            }
            (None, None) => {
                return Err(Error::invalid_input(
                    "phone",
                    "the user is identified by a phone number or an email address: give one",
                ));
            }
            (Some(p), None) => validate::phone_e164("phone", p)?,
            (None, Some(e)) => validate::email("email", e)?,
        }
        if let Some(bad) = self.contract_types.iter().find(|id| **id <= 0) {
            return Err(Error::invalid_input(
                "contract_type",
                format!("contract type ids are positive integers, got {bad}"),
            ));
        }
        let user_public_key = self
            .user_public_key
            .as_deref()
            .map(|pem| validate::rsa_public_key_pem("user_public_key", pem))
            .transpose()?;
        let permissions = if self.contract_types.is_empty()
            && self.minimal_signature_flow.is_none()
            && self.digital_identity_only.is_none()
        {
            None
        } else {
            Some(types::SessionPermissions {
                allowed_contract_type_ids: self.contract_types,
                digital_identity_only: self.digital_identity_only,
                minimal_signature_flow: self.minimal_signature_flow,
            })
        };
        Ok(ValidUser { phone: self.phone, email: self.email, permissions, user_public_key })
    }
}

macro_rules! user_setters {
    () => {
        /// Identifies the user by an E.164 phone number (`+201234567890`). Exclusive with
        /// [`email`](Self::email).
        pub fn phone(mut self, phone: impl Into<String>) -> Self {
            self.user.phone = Some(phone.into());
            self
        }

        /// Identifies the user by email address. Exclusive with [`phone`](Self::phone).
        pub fn email(mut self, email: impl Into<String>) -> Self {
            self.user.email = Some(email.into());
            self
        }

        /// Allows one contract type id in the session (repeatable).
        pub fn contract_type(mut self, id: i64) -> Self {
            self.user.contract_types.push(id);
            self
        }

        /// Allows these contract type ids in the session.
        pub fn contract_types(mut self, ids: impl IntoIterator<Item = i64>) -> Self {
            self.user.contract_types.extend(ids);
            self
        }

        /// Skip optional steps and use the streamlined signing flow.
        pub fn minimal_signature_flow(mut self, on: bool) -> Self {
            self.user.minimal_signature_flow = Some(on);
            self
        }

        /// KYC only, no contract creation (`DigitalIdentityOnly`).
        pub fn digital_identity_only(mut self, on: bool) -> Self {
            self.user.digital_identity_only = Some(on);
            self
        }

        /// An RSA public key (PEM) with which Vlens encrypts the session token.
        pub fn user_public_key(mut self, pem: impl Into<String>) -> Self {
            self.user.user_public_key = Some(pem.into());
            self
        }
    };
}

/// Builds a `CreateAuthSession` request. See [`VlensClient::auth_session`].
#[must_use = "call `send` to create the session"]
pub struct AuthSessionBuilder<'a> {
    client: &'a VlensClient,
    user: UserSpec,
}

impl AuthSessionBuilder<'_> {
    user_setters!();

    /// Validates the input (nothing is sent when it is invalid) and creates the session.
    pub async fn send(self) -> Result<VlensSession, Error> {
        let user = self.user.validate()?;
        let key = self.client.core.api_key_header()?;
        let body = types::CreateAuthSessionInput {
            email: user.email,
            phone_number: user.phone,
            session_permissions: user.permissions,
            user_public_key: user.user_public_key,
        };
        let token = self
            .client
            .core
            .call(
                Call::new(CREATE_AUTH_SESSION),
                |c| c.create_auth_session().api_key(key).body(body.clone()).send(),
                envelope_error,
                open_token,
            )
            .await?;
        Ok(self.client.session(token))
    }
}

/// Checks the pre-filled field keys of an invitation.
fn validate_fields(fields: &BTreeMap<String, BTreeMap<String, String>>) -> Result<(), Error> {
    for (type_id, values) in fields {
        for key in values.keys() {
            if key.trim().is_empty() || key.chars().any(char::is_control) {
                return Err(Error::invalid_input(
                    "field",
                    format!("field keys of contract type {type_id} must be non-empty text"),
                ));
            }
        }
    }
    Ok(())
}

/// Builds a `CreateInvitation` request. See [`VlensClient::invitation`].
#[must_use = "call `send` to create the invitation"]
pub struct InvitationBuilder<'a> {
    client: &'a VlensClient,
    user: UserSpec,
    fields: BTreeMap<String, BTreeMap<String, String>>,
}

impl InvitationBuilder<'_> {
    user_setters!();

    /// Pre-fills field `key` of contract type `contract_type_id` with `value`
    /// (`RequestFieldsValues["<id>"]["<key>"]`). Keys come from
    /// [`VlensClient::template_fields`].
    pub fn field(
        mut self,
        contract_type_id: i64,
        key: impl Into<String>,
        value: impl Into<String>,
    ) -> Self {
        self.fields
            .entry(contract_type_id.to_string())
            .or_default()
            .insert(key.into(), value.into());
        self
    }

    /// The pre-filled values so far, keyed by contract type id then field key.
    pub fn fields(&self) -> &BTreeMap<String, BTreeMap<String, String>> {
        &self.fields
    }

    /// Checks that every pre-filled key of `contract_type_id` exists in `template`
    /// (nothing is sent); the error names the first unknown key.
    pub fn check_against(
        self,
        contract_type_id: i64,
        template: &TemplateFields,
    ) -> Result<Self, Error> {
        if let Some(values) = self.fields.get(&contract_type_id.to_string()) {
            template.check_keys(values.keys().map(String::as_str))?;
        }
        Ok(self)
    }

    /// Validates the input (nothing is sent when it is invalid), obtains an admin token, and
    /// creates the invitation. A 401 renews the admin token once and repeats the call once.
    pub async fn send(self) -> Result<VlensSession, Error> {
        let user = self.user.validate()?;
        validate_fields(&self.fields)?;
        let client = self.client;
        let key = client.core.api_key_header()?;
        let request_fields = (!self.fields.is_empty()).then(|| {
            let map = self.fields.into_iter().map(|(k, v)| (k, v.into_iter().collect())).collect();
            types::RequestFieldsValues(map)
        });
        let body = types::CreateInvitationInput {
            session_input: types::InvitationSessionInput {
                email: user.email,
                phone_number: user.phone,
                request_fields_values: request_fields,
                session_permissions: user.permissions,
                user_public_key: user.user_public_key,
            },
        };
        let attempt = || async {
            let bearer = format!("Bearer {}", client.admin_token().await?.expose());
            client
                .core
                .call(
                    Call::new(CREATE_INVITATION),
                    |c| {
                        let req = c.create_invitation().api_key(key).authorization(&bearer);
                        req.body(body.clone()).send()
                    },
                    envelope_error,
                    open_token,
                )
                .await
        };
        // A 401 may mean the cached admin token was revoked: renew it once and repeat.
        let renew = |_| async {
            if let Some(admin) = &client.admin {
                admin.invalidate().await;
            }
            Ok(())
        };
        let token = renew_once_on_401(attempt, renew).await?;
        Ok(client.session(token))
    }
}

/// A Vlens session: the token and what the frontend needs to load the iframe.
///
/// ```
/// # use embed_sessions::vlens::VlensSession;
/// # fn show(session: &VlensSession) {
/// let url = session.iframe_url(); // https://app.vlenseg.com/session?token=...
/// let html = session.iframe_html(); // <iframe ... allow="camera; microphone">
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct VlensSession {
    token: Secret,
    iframe_origin: Arc<str>,
}

/// Characters kept as they are in the token query parameter (RFC 3986 unreserved).
const QUERY_VALUE: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

impl VlensSession {
    /// The session token.
    pub fn token(&self) -> &Secret {
        &self.token
    }

    /// The iframe URL: `<origin>/session?token=<percent-encoded token>`. It contains the
    /// token: hand it to the user's browser only.
    pub fn iframe_url(&self) -> String {
        let token = percent_encoding::utf8_percent_encode(self.token.expose(), QUERY_VALUE);
        format!("{}/session?token={token}", self.iframe_origin)
    }

    /// An HTML snippet loading the session, with the `allow="camera; microphone"` attribute
    /// that liveness detection requires.
    pub fn iframe_html(&self) -> String {
        let url = self.iframe_url().replace('&', "&amp;").replace('"', "&quot;");
        format!(
            "<iframe src=\"{url}\" width=\"100%\" height=\"700\" allow=\"camera; microphone\"></iframe>"
        )
    }
}
