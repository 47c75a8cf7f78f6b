//! Admin authentication for invitations: login, cached token, refresh, fallback login.

use std::fmt;
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

use super::{LOGIN, REFRESH_TOKEN as REFRESH, Vlens, envelope_error, open_envelope, raw, types};
use crate::core::error::ErrorKind;
use crate::core::{Call, Error, Provider, Secret};

type Core = crate::core::Core<raw::Client>;

/// A token is renewed when less than this much life is left.
const RENEW_MARGIN: Duration = Duration::from_secs(60);
/// Lifetimes used when Vlens omits them (its documented defaults).
const DEFAULT_ACCESS_LIFETIME: i64 = 86_400;
const DEFAULT_REFRESH_LIFETIME: i64 = 604_800;
/// Longest lifetime accepted from Vlens (one year); a larger or negative one is a malformed
/// answer, not a reason to overflow the clock.
const MAX_LIFETIME: i64 = 366 * 86_400;

/// Admin credentials of a Vlens tenant: tenancy name, user name (or email) and password.
///
/// ```
/// use embed_sessions::vlens::AdminCredentials;
/// let creds = AdminCredentials::new("acme", "admin@acme.test", "hunter2");
/// assert!(!format!("{creds:?}").contains("hunter2"));
/// ```
#[derive(Clone, Debug)]
pub struct AdminCredentials {
    tenancy_name: String,
    username: String,
    password: Secret,
}

impl AdminCredentials {
    /// Credentials from values.
    pub fn new(
        tenancy_name: impl Into<String>,
        username: impl Into<String>,
        password: impl Into<Secret>,
    ) -> Self {
        Self {
            tenancy_name: tenancy_name.into(),
            username: username.into(),
            password: password.into(),
        }
    }

    /// Credentials from `VLENS_TENANCY_NAME`, `VLENS_USERNAME` and `VLENS_PASSWORD`; a missing
    /// variable is a configuration error naming it.
    pub fn from_env() -> Result<Self, Error> {
        let var = |name: &str| match std::env::var(name) {
            Ok(v) if !v.is_empty() => Ok(v),
            _ => Err(Error::config(format!("environment variable {name} is not set"))),
        };
        Ok(Self::new(var("VLENS_TENANCY_NAME")?, var("VLENS_USERNAME")?, var("VLENS_PASSWORD")?))
    }

    /// The tenancy name.
    pub fn tenancy_name(&self) -> &str {
        &self.tenancy_name
    }

    /// The user name or email address.
    pub fn username(&self) -> &str {
        &self.username
    }

    fn validate(&self) -> Result<(), Error> {
        let check = |field: &'static str, v: &str, max: usize| {
            if v.is_empty() || v.chars().count() > max {
                Err(Error::invalid_input(field, format!("must be 1 to {max} characters")))
            } else {
                Ok(())
            }
        };
        check("tenancy_name", &self.tenancy_name, 256)?;
        check("username", &self.username, 256)?;
        check("password", self.password.expose(), 32)
    }
}

struct Tokens {
    access: Secret,
    access_expires: Instant,
    refresh: Option<Secret>,
    refresh_expires: Instant,
}

/// The admin token cache: one async mutex, held across a login or refresh, so concurrent
/// callers wait for the one request in flight and then share its token.
pub(super) struct AdminAuth {
    credentials: AdminCredentials,
    tokens: Mutex<Option<Tokens>>,
    /// The fleet's Redis, where the tokens are shared by the instances (feature `redis`).
    #[cfg(feature = "redis")]
    shared: Option<crate::fleet::Fleet>,
}

impl fmt::Debug for AdminAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdminAuth").field("credentials", &self.credentials).finish_non_exhaustive()
    }
}

/// When the access token expires (`data.expireInSeconds`, 24 h when absent).
fn access_expiry(now: Instant, secs: Option<i64>) -> Result<Instant, Error> {
    expiry(now, "data.expireInSeconds", secs, DEFAULT_ACCESS_LIFETIME)
}

/// When a token with this provider-supplied lifetime expires: checked, never overflowing
/// (an out-of-range lifetime is an [`ErrorKind::UnexpectedResponse`] naming the field).
fn expiry(now: Instant, field: &str, secs: Option<i64>, default: i64) -> Result<Instant, Error> {
    let secs = secs.unwrap_or(default);
    let life = crate::core::validate::provider_seconds(field, secs, MAX_LIFETIME)?;
    now.checked_add(life).ok_or_else(|| {
        Error::new(ErrorKind::UnexpectedResponse)
            .with_message(format!("`{field}` {secs} cannot be added to the clock"))
    })
}

impl AdminAuth {
    pub(super) fn new(credentials: AdminCredentials) -> Self {
        Self {
            credentials,
            tokens: Mutex::new(None),
            #[cfg(feature = "redis")]
            shared: None,
        }
    }

    /// The same credentials, with the tokens shared through the fleet's Redis.
    #[cfg(feature = "redis")]
    pub(super) fn shared(&self, fleet: &crate::fleet::Fleet) -> Self {
        Self { shared: Some(fleet.clone()), ..Self::new(self.credentials.clone()) }
    }

    /// Forgets the cached access token (after the provider refused it); the refresh token is
    /// kept.
    pub(super) async fn invalidate(&self) {
        if let Some(t) = self.tokens.lock().await.as_mut() {
            t.access_expires = Instant::now();
        }
    }

    pub(super) async fn access_token(&self, core: &Core) -> Result<Secret, Error> {
        let mut guard = self.tokens.lock().await;
        if let Some(t) = guard.as_ref()
            && t.access_expires > Instant::now() + RENEW_MARGIN
        {
            return Ok(t.access.clone());
        }
        let held = guard.take();
        #[cfg(feature = "redis")]
        let tokens = match &self.shared {
            Some(fleet) => {
                let c = &self.credentials;
                let digest = crate::fleet::Fleet::digest(&[
                    core.api_key()?.expose(),
                    &c.tenancy_name,
                    &c.username,
                ]);
                let name = format!("vlens:admin:{digest}");
                fleet.get_or_fetch(&name, RENEW_MARGIN, TOKENS, || self.renew(core, held)).await?
            }
            None => self.renew(core, held).await?,
        };
        #[cfg(not(feature = "redis"))]
        let tokens = self.renew(core, held).await?;
        let access = tokens.access.clone();
        *guard = Some(tokens);
        Ok(access)
    }

    /// New tokens: by refresh while the refresh token lives, else (or when the refresh
    /// fails) by login.
    async fn renew(&self, core: &Core, held: Option<Tokens>) -> Result<Tokens, Error> {
        if let Some(t) = held
            && let Some(refresh) = t.refresh.filter(|_| t.refresh_expires > Instant::now())
        {
            match self.refresh(core, refresh).await {
                Ok(tokens) => return Ok(tokens),
                Err(e) => {
                    // Kind and status only: a provider message could echo the token.
                    tracing::debug!(
                        kind = ?e.kind(),
                        status = ?e.status(),
                        "vlens admin token refresh failed; logging in again"
                    );
                }
            }
        }
        self.login(core).await
    }

    async fn login(&self, core: &Core) -> Result<Tokens, Error> {
        self.credentials.validate()?;
        let key = core.api_key_header()?;
        let c = &self.credentials;
        let body =
            types::LoginInput {
                password: c.password.expose().parse().map_err(|_| {
                    Error::invalid_input("password", "must be at most 32 characters")
                })?,
                tenancy_name: c.tenancy_name.parse().map_err(|_| {
                    Error::invalid_input("tenancy_name", "must be at most 256 characters")
                })?,
                user_name_or_email_address: c.username.parse().map_err(|_| {
                    Error::invalid_input("username", "must be at most 256 characters")
                })?,
            };
        let data = core
            .call(
                Call::new(LOGIN).body_secrets(&[&c.password]),
                |client| {
                    let tenancy = c.tenancy_name.as_str();
                    client.login().api_key(key).tenancy_name(tenancy).body(body.clone()).send()
                },
                envelope_error,
                open_envelope("tokens"),
            )
            .await?;
        let now = Instant::now();
        let access = data
            .access_token
            .filter(|t| !t.is_empty())
            .ok_or_else(|| missing(LOGIN, "accessToken"))?;
        let at = |e: Error| e.at(Vlens::DESCRIPTOR.name(), LOGIN);
        Ok(Tokens {
            access: Secret::new(access),
            access_expires: access_expiry(now, data.expire_in_seconds).map_err(at)?,
            refresh: data.refresh_token.map(Secret::new),
            refresh_expires: expiry(
                now,
                "data.refreshTokenExpireInSeconds",
                data.refresh_token_expire_in_seconds,
                DEFAULT_REFRESH_LIFETIME,
            )
            .map_err(at)?,
        })
    }

    async fn refresh(&self, core: &Core, refresh: Secret) -> Result<Tokens, Error> {
        let key = core.api_key_header()?;
        let body = types::RefreshTokenInput { refresh_token: Some(refresh.expose().to_string()) };
        let data = core
            .call(
                Call::new(REFRESH).body_secrets(&[&refresh]),
                |client| client.refresh_token().api_key(key).body(body.clone()).send(),
                envelope_error,
                open_envelope("tokens"),
            )
            .await?;
        let access = data
            .access_token
            .filter(|t| !t.is_empty())
            .ok_or_else(|| missing(REFRESH, "accessToken"))?;
        let now = Instant::now();
        let at = |e: Error| e.at(Vlens::DESCRIPTOR.name(), REFRESH);
        // Keep `newRefreshToken` when Vlens issues one, else the (possibly same) `refreshToken`,
        // else the one just used.
        let next_refresh =
            data.new_refresh_token.or(data.refresh_token).map(Secret::new).unwrap_or(refresh);
        Ok(Tokens {
            access: Secret::new(access),
            access_expires: access_expiry(now, data.expire_in_seconds).map_err(at)?,
            refresh: Some(next_refresh),
            refresh_expires: expiry(now, "refresh lifetime", None, DEFAULT_REFRESH_LIFETIME)
                .map_err(at)?,
        })
    }
}

/// The admin tokens as the fleet shares them: wall-clock expiries (each instance's monotonic
/// clock is its own).
#[cfg(feature = "redis")]
const TOKENS: crate::fleet::Codec<Tokens> = crate::fleet::Codec {
    encode: |t| {
        let wall = |at: Instant| {
            let left = at.saturating_duration_since(Instant::now());
            chrono::Utc::now() + chrono::Duration::from_std(left).unwrap_or_default()
        };
        let access_expires = wall(t.access_expires);
        let json = serde_json::json!({
            "access": t.access.expose(),
            "accessExpiresAt": access_expires.to_rfc3339(),
            "refresh": t.refresh.as_ref().map(|r| r.expose().to_string()),
            "refreshExpiresAt": wall(t.refresh_expires).to_rfc3339(),
        });
        Some((json.to_string().into_bytes(), access_expires))
    },
    decode: |bytes| {
        let v: serde_json::Value = serde_json::from_slice(bytes).ok()?;
        let at = |field: &str| {
            chrono::DateTime::parse_from_rfc3339(v[field].as_str()?).ok().map(|t| t.to_utc())
        };
        let mono = |t: chrono::DateTime<chrono::Utc>| {
            Instant::now() + (t - chrono::Utc::now()).to_std().unwrap_or_default()
        };
        let access_expires = at("accessExpiresAt")?;
        let tokens = Tokens {
            access: Secret::new(v["access"].as_str()?.to_string()),
            access_expires: mono(access_expires),
            refresh: v["refresh"].as_str().map(|r| Secret::new(r.to_string())),
            refresh_expires: mono(at("refreshExpiresAt")?),
        };
        Some((tokens, access_expires))
    },
};

fn missing(op: &'static str, field: &str) -> Error {
    Error::new(ErrorKind::UnexpectedResponse)
        .with_status(Some(200))
        .with_message(format!("`data.{field}` is missing"))
        .at(Vlens::DESCRIPTOR.name(), op)
}
