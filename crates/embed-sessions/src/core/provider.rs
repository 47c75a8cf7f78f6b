//! What a provider plugs into the core: one [`Descriptor`] and one typed reason.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

/// A provider as the core sees it: a name, where its configuration comes from, which headers
/// carry credentials, which operations must not be repeated blindly, and its typed reason.
///
/// Implemented by a marker type per provider module (`Acme` below); a configuration
/// is typed by it ([`Config<P>`](crate::Config)), so a configuration for one provider cannot be
/// given to another's client.
///
/// ```
/// use embed_sessions::core::{Descriptor, Provider};
/// # #[derive(Debug, Clone, Copy, PartialEq)] enum AcmeReason { Other }
/// # impl std::fmt::Display for AcmeReason {
/// #     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str("rejected") }
/// # }
/// # impl embed_sessions::ProviderReason for AcmeReason {
/// #     fn from_response(_: u16, _: Option<&str>, _: Option<&str>) -> Self { AcmeReason::Other }
/// #     fn hint(&self) -> Option<&'static str> { None }
/// # }
/// /// The Acme API.
/// #[derive(Debug, Clone, Copy)]
/// struct Acme;
///
/// impl Provider for Acme {
///     const DESCRIPTOR: &'static Descriptor =
///         &Descriptor::new("acme", "ACME_API_KEY", "ACME_BASE_URL", "https://api.acme.test")
///             .with_sensitive_headers(&["x-acme-key"])
///             .with_not_safe_to_repeat(&["create_order"]);
///     type Reason = AcmeReason;
/// }
/// assert_eq!(Acme::DESCRIPTOR.name(), "acme");
/// assert!(!Acme::DESCRIPTOR.is_retry_safe("create_order"));
/// ```
pub trait Provider: Send + Sync + 'static {
    /// Everything the core needs to know of this provider.
    const DESCRIPTOR: &'static Descriptor;
    /// The provider's typed reason for a rejected request.
    type Reason: ProviderReason + PartialEq;
}

/// A provider's constants. Built in a `const` with [`Descriptor::new`] and the `with_*` setters.
#[derive(Debug, Clone, Copy)]
pub struct Descriptor {
    name: &'static str,
    api_key_var: &'static str,
    base_url_var: &'static str,
    production_url: &'static str,
    sandbox_url: Option<&'static str>,
    sensitive_headers: &'static [&'static str],
    not_safe_to_repeat: &'static [&'static str],
    rate_rule: Option<RateRuleFn>,
}

/// Which published limits an operation (id, HTTP method) is under, if any.
pub type RateRuleFn = fn(operation: &str, method: &str) -> Option<super::budget::RateRule>;

impl Descriptor {
    /// A provider named `name` (lower case, as shown in errors, logs and the CLI), whose API
    /// key and base URL override are read from `api_key_var` and `base_url_var`, and whose
    /// production API is at `production_url`.
    pub const fn new(
        name: &'static str,
        api_key_var: &'static str,
        base_url_var: &'static str,
        production_url: &'static str,
    ) -> Self {
        Self {
            name,
            api_key_var,
            base_url_var,
            production_url,
            sandbox_url: None,
            sensitive_headers: &[],
            not_safe_to_repeat: &[],
            rate_rule: None,
        }
    }

    /// The provider's published rate limits: `rule` says which an operation (id, HTTP
    /// method) is under. Kept before each request (see [`budget`](super::budget)).
    pub const fn with_rate_limits(mut self, rule: RateRuleFn) -> Self {
        self.rate_rule = Some(rule);
        self
    }

    /// The published limits of an operation, if any.
    pub fn rate_rule(&self, operation: &str, method: &str) -> Option<super::budget::RateRule> {
        self.rate_rule.and_then(|rule| rule(operation, method))
    }

    /// The provider's own sandbox, where it publishes one.
    pub const fn with_sandbox_url(mut self, url: &'static str) -> Self {
        self.sandbox_url = Some(url);
        self
    }

    /// Headers (lower case) whose values are credentials, besides `authorization`: marked
    /// sensitive on every request and scrubbed from every error.
    pub const fn with_sensitive_headers(mut self, headers: &'static [&'static str]) -> Self {
        self.sensitive_headers = headers;
        self
    }

    /// Operations (snake_case operation ids) that could take effect twice if repeated after
    /// an uncertain failure (a timeout, a 502-504): they are retried only when they certainly
    /// were not processed. Every other operation is safe to repeat.
    pub const fn with_not_safe_to_repeat(mut self, operations: &'static [&'static str]) -> Self {
        self.not_safe_to_repeat = operations;
        self
    }

    /// Lower-case name, as used in errors, logs and the command-line tool.
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// The environment variable holding the API key.
    pub const fn api_key_var(&self) -> &'static str {
        self.api_key_var
    }

    /// The environment variable overriding the base URL.
    pub const fn base_url_var(&self) -> &'static str {
        self.base_url_var
    }

    /// The production base URL.
    pub const fn production_url(&self) -> &'static str {
        self.production_url
    }

    /// The provider's sandbox base URL, if it publishes one.
    pub const fn sandbox_url(&self) -> Option<&'static str> {
        self.sandbox_url
    }

    /// The credential headers besides `authorization`.
    pub const fn sensitive_headers(&self) -> &'static [&'static str] {
        self.sensitive_headers
    }

    /// Whether `operation` may be repeated after an uncertain failure.
    pub fn is_retry_safe(&self, operation: &str) -> bool {
        !self.not_safe_to_repeat.contains(&operation)
    }
}

/// A provider's typed reason for a rejected request, built the same way for every provider:
/// from the HTTP status and the provider's error code and message as sent.
pub trait ProviderReason: fmt::Display + fmt::Debug + Send + Sync + 'static {
    /// The reason for a response with `status`, the provider's error `code` (if its error
    /// bodies carry one) and `message`. Never fails: an unmatched response has an "other"
    /// reason.
    fn from_response(status: u16, code: Option<&str>, message: Option<&str>) -> Self
    where
        Self: Sized;

    /// What to do about it, where the docs say.
    fn hint(&self) -> Option<&'static str>;
}

/// Object-safe view of a reason, with equality and downcasting.
trait DynReason: ProviderReason {
    fn as_any(&self) -> &dyn Any;
    fn dyn_eq(&self, other: &dyn DynReason) -> bool;
}

impl<R: ProviderReason + PartialEq> DynReason for R {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn dyn_eq(&self, other: &dyn DynReason) -> bool {
        other.as_any().downcast_ref::<R>() == Some(self)
    }
}

/// The typed reason of a rejected request: one provider's [`Provider::Reason`], kept behind
/// this one type so that [`Error`](crate::Error) is the same for every provider.
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
/// use embed_sessions::Reason;
/// let reason = Reason::new(AcmeReason::from_response(401, None, Some("Unknown user")));
/// assert_eq!(reason.get::<AcmeReason>(), Some(&AcmeReason::UnknownUser));
/// assert_eq!(reason.hint(), Some("create the user first"));
/// assert_ne!(reason, Reason::other());
/// ```
#[derive(Clone)]
pub struct Reason(Arc<dyn DynReason>);

/// The reason of a rejection no provider reason describes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Unmatched;

impl fmt::Display for Unmatched {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("request rejected")
    }
}

impl ProviderReason for Unmatched {
    fn from_response(_: u16, _: Option<&str>, _: Option<&str>) -> Self {
        Unmatched
    }

    fn hint(&self) -> Option<&'static str> {
        None
    }
}

impl Reason {
    /// Wraps a provider's reason.
    pub fn new<R: ProviderReason + PartialEq>(reason: R) -> Self {
        Self(Arc::new(reason))
    }

    /// No documented reason matched (shown as "request rejected").
    pub fn other() -> Self {
        Self::new(Unmatched)
    }

    /// The provider's reason, if it is an `R`.
    pub fn get<R: ProviderReason>(&self) -> Option<&R> {
        self.0.as_any().downcast_ref::<R>()
    }

    /// What to do about it, where the docs say.
    pub fn hint(&self) -> Option<&'static str> {
        self.0.hint()
    }
}

impl PartialEq for Reason {
    fn eq(&self, other: &Self) -> bool {
        self.0.dyn_eq(&*other.0)
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&*self.0, f)
    }
}

impl fmt::Debug for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}
