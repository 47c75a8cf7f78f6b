//! Configuration shared by every provider client: credentials, base URL, timeouts, retries.

use std::fmt;
use std::marker::PhantomData;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use super::budget::{BudgetStore, Limit};
use super::error::Error;
use super::provider::{Descriptor, Provider};
use super::retry::RetryPolicy;
use super::secret::Secret;

/// Default connect timeout: 5 s.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Default total timeout of one attempt (connect, send, and read the whole response): 30 s.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default cap on a response body: 2 MiB. Larger bodies are an error, never buffered.
pub const DEFAULT_MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// The user agent sent by default: `embed-sessions/<version>`.
pub const USER_AGENT: &str = concat!("embed-sessions/", env!("CARGO_PKG_VERSION"));

/// Settings of one provider's client, typed by the provider: a `Config<Acme>` is accepted by
/// the Acme client only. Build one with [`Config::builder`].
///
/// ```
/// # use embed_sessions::core::{Descriptor, Provider, ProviderReason};
/// # #[derive(Debug, PartialEq)]
/// # enum AcmeReason { UnknownUser, Other }
/// # impl std::fmt::Display for AcmeReason {
/// #     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { write!(f, "{self:?}") }
/// # }
/// # impl ProviderReason for AcmeReason {
/// #     fn from_response(status: u16, _: Option<&str>, message: Option<&str>) -> Self {
/// #         if status == 401 && message == Some("Unknown user") { Self::UnknownUser } else { Self::Other }
/// #     }
/// #     fn hint(&self) -> Option<&'static str> { Some("create the user first") }
/// # }
/// # struct Acme;
/// # impl Provider for Acme {
/// #     const DESCRIPTOR: &'static Descriptor =
/// #         &Descriptor::new("acme", "ACME_API_KEY", "ACME_BASE_URL", "https://api.acme.test");
/// #     type Reason = AcmeReason;
/// # }
/// use std::time::Duration;
/// use embed_sessions::Config;
/// let config = Config::builder(Acme)
///     .api_key("provider-key")
///     .timeout(Duration::from_secs(10))
///     .build()?;
/// assert_eq!(config.base_url(), "https://api.acme.test");
/// assert!(!format!("{config:?}").contains("provider-key"));
/// # Ok::<(), embed_sessions::Error>(())
/// ```
#[derive(Clone)]
pub struct Config<P: Provider> {
    pub(crate) settings: Settings,
    provider: PhantomData<fn() -> P>,
}

/// The untyped settings behind a [`Config`], as the core uses them.
#[derive(Clone)]
pub(crate) struct Settings {
    pub(crate) descriptor: &'static Descriptor,
    pub(crate) api_key: Option<Secret>,
    pub(crate) base_url: String,
    pub(crate) connect_timeout: Duration,
    pub(crate) timeout: Duration,
    pub(crate) user_agent: String,
    pub(crate) retry: Option<RetryPolicy>,
    pub(crate) max_body_bytes: usize,
    pub(crate) http: reqwest::Client,
    pub(crate) rates: Rates,
    /// Feature `fuzzing`: answers every request in process instead of sending it.
    #[cfg(feature = "fuzzing")]
    pub(crate) responder: Option<Responder>,
}

/// Feature `fuzzing`: an in-process answer to each request (the fuzz targets' transport).
#[cfg(feature = "fuzzing")]
pub type Responder = Arc<dyn Fn(&reqwest::Request) -> reqwest::Response + Send + Sync>;

/// How a client keeps rate budgets.
#[derive(Clone, Debug)]
pub(crate) struct Rates {
    /// `None`: the provider's published limits; `Some(list)`: these for every request
    /// (`[]`: none).
    pub limits: Option<&'static [Limit]>,
    /// Where budgets are kept (this process unless a fleet's store is set).
    pub store: Arc<dyn BudgetStore>,
    /// Whose budget (default: a digest of the API key).
    pub identity: Option<String>,
}

impl Default for Rates {
    fn default() -> Self {
        Self { limits: None, store: super::budget::local_budgets(), identity: None }
    }
}

impl<P: Provider> Config<P> {
    /// Starts a configuration for provider `P` (pass its marker: `Config::builder(Acme)`):
    /// production URL, default timeouts and retries.
    pub fn builder(provider: P) -> ConfigBuilder<P> {
        let _ = provider;
        ConfigBuilder {
            api_key: None,
            base_url: None,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            timeout: DEFAULT_TIMEOUT,
            user_agent: USER_AGENT.to_string(),
            retry: None,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            http: None,
            #[cfg(feature = "fuzzing")]
            responder: None,
            rates: Rates::default(),
            provider: PhantomData,
        }
    }

    /// A configuration from the environment: the provider's API key variable (required) and base URL
    /// variable (optional), as its [`Descriptor`] names them.
    pub fn from_env(provider: P) -> Result<Self, Error> {
        Self::builder(provider).from_env()?.build()
    }

    /// The provider's descriptor (name, environment variables, URLs).
    pub fn descriptor(&self) -> &'static Descriptor {
        P::DESCRIPTOR
    }

    /// The base URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.settings.base_url
    }

    /// The API key, if one was configured.
    pub fn api_key(&self) -> Option<&Secret> {
        self.settings.api_key.as_ref()
    }

    /// The retry policy set on the builder; `None` means the provider client's default
    /// ([`RetryPolicy::default`], or the provider's own where it documents one). A policy set
    /// explicitly is used as it is, even when it equals the default.
    pub fn retry_policy(&self) -> Option<&RetryPolicy> {
        self.settings.retry.as_ref()
    }

    /// Total timeout of one attempt.
    pub fn timeout(&self) -> Duration {
        self.settings.timeout
    }

    /// The API key, or a configuration error naming its environment variable (what a
    /// provider client whose every call needs the key checks at construction).
    pub fn require_api_key(&self) -> Result<&Secret, Error> {
        self.settings.require_api_key()
    }
}

impl Settings {
    /// The API key, or a configuration error naming its environment variable.
    pub(crate) fn require_api_key(&self) -> Result<&Secret, Error> {
        self.api_key.as_ref().ok_or_else(|| {
            let d = self.descriptor;
            Error::config(format!(
                "{}: no API key: pass one to the builder or set {}",
                d.name(),
                d.api_key_var()
            ))
        })
    }
}

impl<P: Provider> fmt::Debug for Config<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.settings;
        let timeouts = [s.connect_timeout, s.timeout];
        let name = s.descriptor.name();
        debug_settings(f, "Config", name, s.api_key.as_ref(), Some(&s.base_url), timeouts, &s.retry)
    }
}

/// What `Config` and `ConfigBuilder` show in `Debug` (the API key through `Secret`'s
/// redacted form; the user agent, body limit and HTTP client are left out).
fn debug_settings(
    f: &mut fmt::Formatter<'_>,
    name: &str,
    provider: &str,
    api_key: Option<&Secret>,
    base_url: Option<&String>,
    [connect_timeout, timeout]: [Duration; 2],
    retry: &Option<RetryPolicy>,
) -> fmt::Result {
    f.debug_struct(name)
        .field("provider", &provider)
        .field("api_key", &api_key)
        .field("base_url", &base_url)
        .field("connect_timeout", &connect_timeout)
        .field("timeout", &timeout)
        .field("retry", retry)
        .finish_non_exhaustive()
}

/// Builder of a [`Config`]; every setting has a finite default.
#[derive(Clone)]
pub struct ConfigBuilder<P: Provider> {
    provider: PhantomData<fn() -> P>,
    api_key: Option<Secret>,
    base_url: Option<String>,
    connect_timeout: Duration,
    timeout: Duration,
    user_agent: String,
    retry: Option<RetryPolicy>,
    max_body_bytes: usize,
    http: Option<reqwest::Client>,
    rates: Rates,
    #[cfg(feature = "fuzzing")]
    responder: Option<Responder>,
}

impl<P: Provider> fmt::Debug for ConfigBuilder<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let timeouts = [self.connect_timeout, self.timeout];
        let (name, key, url) =
            (P::DESCRIPTOR.name(), self.api_key.as_ref(), self.base_url.as_ref());
        debug_settings(f, "ConfigBuilder", name, key, url, timeouts, &self.retry)
    }
}

impl<P: Provider> ConfigBuilder<P> {
    /// Sets the API key.
    pub fn api_key(mut self, key: impl Into<Secret>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// Reads the provider's API key variable (required: its absence is an error naming the
    /// variable) and base URL variable (optional) from the environment.
    pub fn from_env(mut self) -> Result<Self, Error> {
        let var = P::DESCRIPTOR.api_key_var();
        match std::env::var(var) {
            Ok(v) if !v.is_empty() => self.api_key = Some(Secret::new(v)),
            _ => {
                return Err(Error::config(format!("environment variable {var} is not set")));
            }
        }
        self.base_url_from_env()
    }

    /// Reads only the provider's base URL variable from the environment, if set.
    pub fn base_url_from_env(mut self) -> Result<Self, Error> {
        if let Ok(url) = std::env::var(P::DESCRIPTOR.base_url_var())
            && !url.is_empty()
        {
            self.base_url = Some(url);
        }
        Ok(self)
    }

    /// Overrides the base URL. It must be `https`, except for loopback hosts
    /// (`127.0.0.0/8`, `::1`, `localhost`), which may use plain `http` (tests, local mocks).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    setters! {
        /// Connect timeout (default 5 s).
        connect_timeout: Duration,
        /// Total timeout of one attempt, body included (default 30 s).
        timeout: Duration,
        /// Largest response body accepted (default 2 MiB); a larger one is an error.
        max_body_bytes: usize,
    }

    /// User agent (default `embed-sessions/<version>`).
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// Retry policy (default: the provider client's, [`RetryPolicy::default`] or the
    /// provider's documented one; [`RetryPolicy::none`] turns retries off). Used as given.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }

    /// Escape hatch: use this `reqwest::Client` (its own timeouts, proxy, TLS and redirect
    /// settings apply; the timeouts and user agent set here do not). Keep redirects off
    /// (`redirect::Policy::none()`): credentials are sent in custom headers that `reqwest`
    /// does not strip on a redirect to another host.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// Feature `fuzzing` only (the fuzz targets): answer every request with `responder`
    /// instead of sending it. Everything else (hooks, bounds, decoding, errors) runs as usual.
    #[cfg(feature = "fuzzing")]
    #[doc(hidden)]
    pub fn respond_with(mut self, responder: Responder) -> Self {
        self.responder = Some(responder);
        self
    }

    /// Replaces the provider's published rate limits with `limits`, kept for every request of
    /// this client together (`&[]`: none). Default: the provider's (see its descriptor).
    pub fn rate_limits(mut self, limits: &'static [Limit]) -> Self {
        self.rates.limits = Some(limits);
        self
    }

    /// Keeps the rate budgets in `store` (a fleet's Redis: `Fleet::budgets`) instead of this
    /// process.
    pub fn rate_budgets(mut self, store: Arc<dyn BudgetStore>) -> Self {
        self.rates.store = store;
        self
    }

    /// Whose budget the requests count against (for example the egress address that several
    /// API keys share). Default: one budget per API key.
    pub fn rate_identity(mut self, identity: impl Into<String>) -> Self {
        self.rates.identity = Some(identity.into());
        self
    }

    /// Validates and builds the configuration.
    pub fn build(self) -> Result<Config<P>, Error> {
        let d = P::DESCRIPTOR;
        let raw = self.base_url.unwrap_or_else(|| d.production_url().to_string());
        let base_url = validate_base_url(d.name(), &raw)?;
        if let Some(key) = &self.api_key
            && (key.is_empty() || key.expose().trim() != key.expose())
        {
            return Err(Error::config(format!(
                "{}: the API key is empty or has surrounding whitespace",
                d.name()
            )));
        }
        if self.timeout.is_zero() || self.connect_timeout.is_zero() {
            return Err(Error::config("timeouts must be greater than zero"));
        }
        let http = match self.http {
            Some(client) => client,
            None => reqwest::Client::builder()
                .connect_timeout(self.connect_timeout)
                .timeout(self.timeout)
                .user_agent(self.user_agent.clone())
                // Credentials travel in custom headers, which reqwest keeps on a cross-host
                // redirect: never follow one.
                .redirect(reqwest::redirect::Policy::none())
                .https_only(false)
                .build()
                .map_err(|e| Error::config(format!("cannot build the HTTP client: {e}")))?,
        };
        let settings = Settings {
            descriptor: d,
            api_key: self.api_key,
            base_url,
            connect_timeout: self.connect_timeout,
            timeout: self.timeout,
            user_agent: self.user_agent,
            retry: self.retry,
            max_body_bytes: self.max_body_bytes,
            http,
            rates: self.rates,
            #[cfg(feature = "fuzzing")]
            responder: self.responder,
        };
        Ok(Config { settings, provider: PhantomData })
    }
}

/// Checks a base URL (or another URL the provider's client hands out, such as an iframe
/// origin) of the provider named `provider`: `https`, or `http` on a loopback host. Returns it
/// without trailing `/`.
pub fn validate_base_url(provider: &str, raw: &str) -> Result<String, Error> {
    let shown = without_userinfo(raw);
    let url = reqwest::Url::parse(raw).map_err(|e| {
        Error::config(format!("{provider}: base_url `{shown}` is not a valid URL: {e}"))
    })?;
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    };
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::config(format!(
            "{provider}: base_url must not carry credentials; configure the API key instead"
        )));
    }
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        scheme => {
            return Err(Error::config(format!(
                "{provider}: base_url `{shown}` must use https (plain {scheme} is allowed only for \
                 loopback hosts such as 127.0.0.1 or localhost)"
            )));
        }
    }
    Ok(raw.trim_end_matches('/').to_string())
}

/// `raw` with anything that looks like credentials in its authority (`user:password@`)
/// replaced, for error messages: the URL may not even parse, so this works on the text.
pub(crate) fn without_userinfo(raw: &str) -> String {
    let (scheme, rest) = match raw.find("://") {
        Some(i) => (&raw[..i + 3], &raw[i + 3..]),
        None => ("", raw),
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let shown = match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}[REDACTED]@{}", &rest[at + 1..]),
        None => raw.to_string(),
    };
    super::redact::one_line(&shown, 200)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_errors_never_echo_credentials() {
        for bad in [
            "https://admin:S3CRET@host:99999",
            "https://admin:S3CRET@host:99999/v1?x=1",
            "http://admin:S3CRET@example.com",
            "https://:S3CRET@127.0.0.1:8080",
            "admin:S3CRET@host:99999",
        ] {
            let e = validate_base_url("acme", bad).unwrap_err();
            let text = format!("{e} {e:?}");
            assert!(!text.contains("S3CRET"), "{bad}: {text}");
        }
        let e = validate_base_url("acme", "https://admin:S3CRET@host:99999").unwrap_err();
        assert!(e.to_string().contains("https://[REDACTED]@host:99999"), "{e}");
    }
}
