//! Configuration shared by every provider client: credentials, base URL, timeouts, retries.

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use crate::error::Error;
use crate::retry::RetryPolicy;
use crate::secret::Secret;

/// The providers this crate talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Provider {
    /// Vlens: identity verification and e-contracting.
    Vlens,
    /// VRPlatform: vacation-rental accounting.
    VrPlatform,
    /// bunq: bank (public and Partner API).
    Bunq,
}

impl Provider {
    /// Lower-case name, as used in errors, logs and the command-line tool.
    pub fn name(self) -> &'static str {
        match self {
            Provider::Vlens => "vlens",
            Provider::VrPlatform => "vrplatform",
            Provider::Bunq => "bunq",
        }
    }

    /// The environment variable holding the API key (`VLENS_API_KEY`, ...).
    pub fn api_key_var(self) -> &'static str {
        match self {
            Provider::Vlens => "VLENS_API_KEY",
            Provider::VrPlatform => "VRPLATFORM_API_KEY",
            Provider::Bunq => "BUNQ_API_KEY",
        }
    }

    /// The environment variable overriding the base URL (`VLENS_BASE_URL`, ...).
    pub fn base_url_var(self) -> &'static str {
        match self {
            Provider::Vlens => "VLENS_BASE_URL",
            Provider::VrPlatform => "VRPLATFORM_BASE_URL",
            Provider::Bunq => "BUNQ_BASE_URL",
        }
    }

    /// The production base URL.
    pub fn production_url(self) -> &'static str {
        match self {
            Provider::Vlens => "https://api.vlenseg.com",
            Provider::VrPlatform => "https://api.edge.vrplatform.app",
            Provider::Bunq => "https://api.bunq.com/v1",
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Default connect timeout: 5 s.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Default total timeout of one attempt (connect, send, and read the whole response): 30 s.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default cap on a response body: 2 MiB. Larger bodies are an error, never buffered.
pub const DEFAULT_MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// The user agent sent by default: `embed-sessions/<version>`.
pub const USER_AGENT: &str = concat!("embed-sessions/", env!("CARGO_PKG_VERSION"));

/// Settings shared by every provider client. Build one with [`Config::builder`].
///
/// ```
/// use std::time::Duration;
/// use embed_sessions::{Config, Provider};
/// let config = Config::builder(Provider::VrPlatform)
///     .api_key("provider-key")
///     .timeout(Duration::from_secs(10))
///     .build()?;
/// assert_eq!(config.base_url(), "https://api.edge.vrplatform.app");
/// assert!(!format!("{config:?}").contains("provider-key"));
/// # Ok::<(), embed_sessions::Error>(())
/// ```
#[derive(Clone)]
pub struct Config {
    pub(crate) provider: Provider,
    pub(crate) api_key: Option<Secret>,
    pub(crate) base_url: String,
    pub(crate) connect_timeout: Duration,
    pub(crate) timeout: Duration,
    pub(crate) user_agent: String,
    pub(crate) retry: Option<RetryPolicy>,
    pub(crate) max_body_bytes: usize,
    pub(crate) http: reqwest::Client,
}

impl Config {
    /// Starts a configuration for `provider`: production URL, default timeouts and retries.
    pub fn builder(provider: Provider) -> ConfigBuilder {
        ConfigBuilder {
            provider,
            api_key: None,
            base_url: None,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            timeout: DEFAULT_TIMEOUT,
            user_agent: USER_AGENT.to_string(),
            retry: None,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            http: None,
        }
    }

    /// A configuration from the environment: `<PROVIDER>_API_KEY` (required) and
    /// `<PROVIDER>_BASE_URL` (optional).
    pub fn from_env(provider: Provider) -> Result<Config, Error> {
        Self::builder(provider).from_env()?.build()
    }

    /// The provider this configuration is for.
    pub fn provider(&self) -> Provider {
        self.provider
    }

    /// The base URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The API key, if one was configured.
    pub fn api_key(&self) -> Option<&Secret> {
        self.api_key.as_ref()
    }

    /// The retry policy set on the builder; `None` means the provider client's default
    /// ([`RetryPolicy::default`], and for bunq `bunq::default_retry_policy`). A policy set
    /// explicitly is used as it is, even when it equals the default.
    pub fn retry_policy(&self) -> Option<&RetryPolicy> {
        self.retry.as_ref()
    }

    /// Total timeout of one attempt.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Checks that this configuration was made for `provider` (a client refuses another's).
    pub(crate) fn expect_provider(&self, provider: Provider) -> Result<(), Error> {
        if self.provider == provider {
            Ok(())
        } else {
            Err(Error::config(format!(
                "a {} configuration was given to the {provider} client",
                self.provider
            )))
        }
    }

    /// The API key, or a configuration error naming its environment variable.
    pub(crate) fn require_api_key(&self) -> Result<&Secret, Error> {
        self.api_key.as_ref().ok_or_else(|| {
            Error::config(format!(
                "{}: no API key: pass one to the builder or set {}",
                self.provider,
                self.provider.api_key_var()
            ))
        })
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("provider", &self.provider)
            .field("api_key", &self.api_key)
            .field("base_url", &self.base_url)
            .field("connect_timeout", &self.connect_timeout)
            .field("timeout", &self.timeout)
            .field("user_agent", &self.user_agent)
            .field("retry", &self.retry)
            .field("max_body_bytes", &self.max_body_bytes)
            .finish_non_exhaustive()
    }
}

/// Builder of a [`Config`]; every setting has a finite default.
#[derive(Clone)]
pub struct ConfigBuilder {
    provider: Provider,
    api_key: Option<Secret>,
    base_url: Option<String>,
    connect_timeout: Duration,
    timeout: Duration,
    user_agent: String,
    retry: Option<RetryPolicy>,
    max_body_bytes: usize,
    http: Option<reqwest::Client>,
}

impl fmt::Debug for ConfigBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConfigBuilder")
            .field("provider", &self.provider)
            .field("api_key", &self.api_key)
            .field("base_url", &self.base_url)
            .field("connect_timeout", &self.connect_timeout)
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl ConfigBuilder {
    /// Sets the API key (for bunq: the API key or a provisioned user's token value).
    pub fn api_key(mut self, key: impl Into<Secret>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// Reads `<PROVIDER>_API_KEY` (required: its absence is an error naming the variable) and
    /// `<PROVIDER>_BASE_URL` (optional) from the environment.
    pub fn from_env(mut self) -> Result<Self, Error> {
        let var = self.provider.api_key_var();
        match std::env::var(var) {
            Ok(v) if !v.is_empty() => self.api_key = Some(Secret::new(v)),
            _ => {
                return Err(Error::config(format!("environment variable {var} is not set")));
            }
        }
        self.base_url_from_env()
    }

    /// Reads only `<PROVIDER>_BASE_URL` from the environment, if set.
    pub fn base_url_from_env(mut self) -> Result<Self, Error> {
        if let Ok(url) = std::env::var(self.provider.base_url_var())
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

    /// Connect timeout (default 5 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Total timeout of one attempt, body included (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// User agent (default `embed-sessions/<version>`).
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// Retry policy (default: the provider client's, [`RetryPolicy::default`] with bunq's
    /// 3-second 429 window for bunq; [`RetryPolicy::none`] turns retries off). Used as given.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }

    /// Largest response body accepted (default 2 MiB); a larger one is an error.
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = bytes;
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

    /// Validates and builds the configuration.
    pub fn build(self) -> Result<Config, Error> {
        let raw = self.base_url.unwrap_or_else(|| self.provider.production_url().to_string());
        let base_url = validate_base_url(self.provider, &raw)?;
        if let Some(key) = &self.api_key
            && (key.is_empty() || key.expose().trim() != key.expose())
        {
            return Err(Error::config(format!(
                "{}: the API key is empty or has surrounding whitespace",
                self.provider
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
                // Credentials travel in custom headers (ApiKey, x-api-key, X-Bunq-...), which
                // reqwest keeps on a cross-host redirect: never follow one.
                .redirect(reqwest::redirect::Policy::none())
                .https_only(false)
                .build()
                .map_err(|e| Error::config(format!("cannot build the HTTP client: {e}")))?,
        };
        Ok(Config {
            provider: self.provider,
            api_key: self.api_key,
            base_url,
            connect_timeout: self.connect_timeout,
            timeout: self.timeout,
            user_agent: self.user_agent,
            retry: self.retry,
            max_body_bytes: self.max_body_bytes,
            http,
        })
    }
}

/// Checks a base URL: `https`, or `http` on a loopback host. Returns it without trailing `/`.
pub(crate) fn validate_base_url(provider: Provider, raw: &str) -> Result<String, Error> {
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
fn without_userinfo(raw: &str) -> String {
    let (scheme, rest) = match raw.find("://") {
        Some(i) => (&raw[..i + 3], &raw[i + 3..]),
        None => ("", raw),
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let shown = match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}[REDACTED]@{}", &rest[at + 1..]),
        None => raw.to_string(),
    };
    crate::redact::one_line(&shown, 200)
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
            let e = validate_base_url(Provider::Vlens, bad).unwrap_err();
            let text = format!("{e} {e:?}");
            assert!(!text.contains("S3CRET"), "{bad}: {text}");
        }
        let e = validate_base_url(Provider::Vlens, "https://admin:S3CRET@host:99999").unwrap_err();
        assert!(e.to_string().contains("https://[REDACTED]@host:99999"), "{e}");
    }
}
