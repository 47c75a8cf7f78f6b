//! A bunq session: id, token, the user it acts for, and when it expires.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::raw::types::{self, SessionServerItem, UserApiKeyUser};
use super::{Bunq, CREATE_SESSION_SERVER as OP};
use crate::core::error::{Error, ErrorKind};
use crate::core::{Provider, Secret};

/// Session lifetime when bunq sends no `session_timeout`: one week (its documented default).
pub const DEFAULT_SESSION_TIMEOUT_SECS: i64 = 604_800;

/// Longest `session_timeout` accepted (one year; bunq documents one week as the default):
/// anything larger is refused as a malformed answer.
pub const MAX_SESSION_TIMEOUT_SECS: i64 = 366 * 86_400;

/// The user a session acts for, as bunq returned it (one of the `session-server` user
/// objects). Serialised in bunq's own one-key form (`{"UserApiKey": {...}}`).
///
/// ```
/// use embed_sessions::bunq::{BunqUser, raw::types};
/// let user: BunqUser = serde_json::from_str(r#"{"UserApiKey": {
///     "id": 1364,
///     "requested_by_user": {"UserCompany": {"id": 1360, "session_timeout": 3600}},
///     "granted_by_user": {"UserPerson": {"id": 1363}}
/// }}"#)?;
/// assert_eq!(user.id(), 1364); // the {userID} of this session's calls
/// assert_eq!(user.granted_by_user_id(), Some(1363)); // the real user
/// assert_eq!(user.session_timeout(), Some(3600)); // the requesting user's
/// # Ok::<(), serde_json::Error>(())
/// ```
// The variants are bunq's objects as generated; a session holds one, so boxing would only
// make matching on them clumsier.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Serialize, Deserialize)]
#[non_exhaustive]
pub enum BunqUser {
    /// A natural person (a session opened with the person's own API key).
    #[serde(rename = "UserPerson")]
    Person(types::UserPerson),
    /// A company (for a partner: the partner itself).
    #[serde(rename = "UserCompany")]
    Company(types::UserCompany),
    /// Another user's API key (a provisioned user's `token_value`): `requested_by_user` is the
    /// partner, `granted_by_user` the user.
    #[serde(rename = "UserApiKey")]
    ApiKey(types::UserApiKey),
    /// A payment service provider (PSD2).
    #[serde(rename = "UserPaymentServiceProvider")]
    PaymentServiceProvider(types::UserPaymentServiceProvider),
}

/// The id of a user wrapped in a one-key object (`requested_by_user`, `granted_by_user`).
pub(crate) fn wrapped_user_id(user: &UserApiKeyUser) -> i64 {
    match user {
        UserApiKeyUser::UserPerson(u) => u.id,
        UserApiKeyUser::UserCompany(u) => u.id,
        UserApiKeyUser::UserPaymentServiceProvider(u) => u.id,
    }
}

fn wrapped_session_timeout(user: &UserApiKeyUser) -> Option<i64> {
    match user {
        UserApiKeyUser::UserPerson(u) => u.session_timeout,
        UserApiKeyUser::UserCompany(u) => u.session_timeout,
        UserApiKeyUser::UserPaymentServiceProvider(u) => u.session_timeout,
    }
}

impl BunqUser {
    /// The `{userID}` for this session's calls: the user's id, or for an API-key session the
    /// API key's id (`UserApiKey.id`).
    pub fn id(&self) -> i64 {
        match self {
            BunqUser::Person(u) => u.id,
            BunqUser::Company(u) => u.id,
            BunqUser::ApiKey(u) => u.id,
            BunqUser::PaymentServiceProvider(u) => u.id,
        }
    }

    /// bunq's name of the object: `UserPerson`, `UserCompany`, `UserApiKey` or
    /// `UserPaymentServiceProvider`.
    pub fn kind(&self) -> &'static str {
        match self {
            BunqUser::Person(_) => "UserPerson",
            BunqUser::Company(_) => "UserCompany",
            BunqUser::ApiKey(_) => "UserApiKey",
            BunqUser::PaymentServiceProvider(_) => "UserPaymentServiceProvider",
        }
    }

    /// The session lifetime in seconds bunq states for this user; for an API-key session, the
    /// requesting user's (as the official SDKs read it).
    pub fn session_timeout(&self) -> Option<i64> {
        match self {
            BunqUser::Person(u) => u.session_timeout,
            BunqUser::Company(u) => u.session_timeout,
            BunqUser::PaymentServiceProvider(u) => u.session_timeout,
            BunqUser::ApiKey(u) => u.requested_by_user.as_ref().and_then(wrapped_session_timeout),
        }
    }

    /// For an API-key session, the user that requested the key (for a provisioned user: the
    /// partner).
    pub fn requested_by(&self) -> Option<&UserApiKeyUser> {
        match self {
            BunqUser::ApiKey(u) => u.requested_by_user.as_ref(),
            _ => None,
        }
    }

    /// For an API-key session, the user that granted the key (for a provisioned user: the user
    /// itself).
    pub fn granted_by(&self) -> Option<&UserApiKeyUser> {
        match self {
            BunqUser::ApiKey(u) => u.granted_by_user.as_ref(),
            _ => None,
        }
    }

    /// For an API-key session, the real id of the user that granted the key.
    pub fn granted_by_user_id(&self) -> Option<i64> {
        self.granted_by().map(wrapped_user_id)
    }
}

/// A bunq session: what `POST /session-server` returned, matched by key (never by position),
/// with its expiry computed locally (creation + `session_timeout`; bunq's extension of a
/// session on use is not relied on).
///
/// `Debug` never shows the token.
#[derive(Clone)]
pub struct BunqSession {
    id: i64,
    token: Secret,
    user: BunqUser,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
}

impl fmt::Debug for BunqSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BunqSession")
            .field("id", &self.id)
            .field("token", &self.token)
            .field("user", &format_args!("{}({})", self.user.kind(), self.user.id()))
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

fn unexpected(message: String) -> Error {
    Error::new(ErrorKind::UnexpectedResponse).with_message(message).at(Bunq::DESCRIPTOR.name(), OP)
}

impl BunqSession {
    /// The session in a `session-server` response, created at `created_at` (take the time
    /// just before sending: the expiry errs on the early side). The response must hold `Id`,
    /// `Token` and exactly one user object, in any order.
    pub fn from_response(
        response: types::SessionServerResponse,
        created_at: DateTime<Utc>,
    ) -> Result<Self, Error> {
        let (mut id, mut token, mut users) = (None, None, Vec::new());
        for item in response.response {
            match item {
                SessionServerItem::Id(i) => id = Some(i.id),
                SessionServerItem::Token(t) => token = Some(Secret::new(t.token)),
                SessionServerItem::UserPerson(u) => users.push(BunqUser::Person(u)),
                SessionServerItem::UserCompany(u) => users.push(BunqUser::Company(u)),
                SessionServerItem::UserApiKey(u) => users.push(BunqUser::ApiKey(u)),
                SessionServerItem::UserPaymentServiceProvider(u) => {
                    users.push(BunqUser::PaymentServiceProvider(u))
                }
            }
        }
        let id = id.ok_or_else(|| unexpected("the response has no `Id` element".into()))?;
        let token = token
            .filter(|t| !t.is_empty())
            .ok_or_else(|| unexpected("the response has no `Token` element".into()))?;
        if users.len() != 1 {
            return Err(unexpected(format!(
                "the response has {} user objects; expected exactly one",
                users.len()
            )));
        }
        let user = users.remove(0);
        Self::new(id, token, user, created_at)
    }

    /// A session whose expiry is `created_at` + the user's `session_timeout` (the default when
    /// absent or not positive), checked: a timeout beyond [`MAX_SESSION_TIMEOUT_SECS`] or a sum
    /// past chrono's range is an error, never a panic.
    pub(crate) fn new(
        id: i64,
        token: Secret,
        user: BunqUser,
        created_at: DateTime<Utc>,
    ) -> Result<Self, Error> {
        let timeout =
            user.session_timeout().filter(|t| *t > 0).unwrap_or(DEFAULT_SESSION_TIMEOUT_SECS);
        let life = crate::core::validate::provider_seconds(
            "session_timeout",
            timeout,
            MAX_SESSION_TIMEOUT_SECS,
        )
        .map_err(|e| e.at(Bunq::DESCRIPTOR.name(), OP))?;
        let expires_at = chrono::TimeDelta::from_std(life)
            .ok()
            .and_then(|d| created_at.checked_add_signed(d))
            .ok_or_else(|| {
                unexpected(format!("`session_timeout` {timeout} overflows the clock"))
            })?;
        Ok(Self { id, token, user, created_at, expires_at })
    }

    pub(crate) fn restored(
        id: i64,
        token: Secret,
        user: BunqUser,
        created_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Self {
        Self { id, token, user, created_at, expires_at }
    }

    /// The session id (for `DELETE /session/{id}`).
    pub fn id(&self) -> i64 {
        self.id
    }

    /// The session token (`X-Bunq-Client-Authentication` of every call in this session).
    pub fn token(&self) -> &Secret {
        &self.token
    }

    /// The user this session acts for.
    pub fn user(&self) -> &BunqUser {
        &self.user
    }

    /// The `{userID}` for this session's calls (for an API-key session, the API key's id).
    pub fn user_id(&self) -> i64 {
        self.user.id()
    }

    /// When the session was opened (local clock, just before the request).
    pub fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }

    /// When the session expires: creation + `session_timeout`.
    pub fn expires_at(&self) -> DateTime<Utc> {
        self.expires_at
    }

    /// Whether more than `margin` of life is left at `now`.
    pub fn is_valid_for(&self, margin: std::time::Duration, now: DateTime<Utc>) -> bool {
        lives_beyond(self.expires_at, margin, now)
    }
}

/// Whether something expiring at `expires_at` has more than `margin` left at `now`.
pub(crate) fn lives_beyond(
    expires_at: DateTime<Utc>,
    margin: std::time::Duration,
    now: DateTime<Utc>,
) -> bool {
    let margin = chrono::Duration::from_std(margin).unwrap_or(chrono::Duration::MAX);
    expires_at - now > margin
}
