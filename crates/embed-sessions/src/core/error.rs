//! The one error type of the facade.

use std::fmt;

pub use super::provider::Reason;

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What kind of failure an [`Error`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Invalid input from the caller; nothing was sent. [`Error::field`] names the field.
    InvalidInput,
    /// Invalid configuration (missing key, non-https base URL, ...); nothing was sent.
    Config,
    /// The provider rejected the request: an HTTP 4xx/5xx with a provider error body, or a
    /// success status whose body reports an error. [`Error::api_error`] has the details.
    Api,
    /// An attempt timed out (connect, or the whole exchange).
    Timeout,
    /// The connection could not be established or broke.
    Connect,
    /// Another transport failure (TLS, redirect refused, body interrupted, ...).
    Transport,
    /// The response could not be understood: wrong shape, non-JSON, an undocumented status.
    UnexpectedResponse,
    /// The response body was larger than the configured limit.
    BodyTooLarge,
    /// A signature was missing or did not verify (a provider's response signatures).
    Signature,
    /// A session could not be opened or renewed (for example, a provider's session rate
    /// limit).
    Session,
    /// A stored context could not be read or written (a context file: corrupt, truncated,
    /// unreadable, or not writable). The error names the file.
    Store,
    /// The provider's published rate limit leaves no request free within the attempt
    /// timeout; nothing was sent.
    RateLimited,
    /// An inbound event (webhook, callback) is not a valid event: too large, not JSON, a
    /// required member missing or of the wrong type. The message names what.
    InvalidEvent,
    /// An inbound request was refused by a guard: its source address is not the provider's,
    /// or its URL token is wrong.
    EventRefused,
}

/// A provider's error details: the typed reason plus what the provider said.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ApiError {
    /// The typed reason (provider-specific where the docs list reasons).
    pub reason: Reason,
    /// The provider's error code, as sent.
    pub code: Option<String>,
    /// The provider's message.
    pub message: Option<String>,
    /// Further details as sent (lists of issues, field descriptions, ...), redacted.
    pub details: Option<serde_json::Value>,
    /// The provider's id of this response, for support, where it sends one.
    pub response_id: Option<String>,
}

impl ApiError {
    /// Details with a reason and optional code and message.
    pub fn new(reason: Reason, code: Option<String>, message: Option<String>) -> Self {
        Self { reason, code, message, details: None, response_id: None }
    }

    /// Details for a response of provider `P`: its typed reason built from the status, code
    /// and message ([`ProviderReason::from_response`](super::ProviderReason::from_response)),
    /// with the code and message kept as sent.
    pub fn from_response<P: super::Provider>(
        status: u16,
        code: Option<String>,
        message: Option<String>,
    ) -> Self {
        use super::ProviderReason as _;
        let reason = P::Reason::from_response(status, code.as_deref(), message.as_deref());
        Self::new(Reason::new(reason), code, message)
    }

    /// The same details with `details` (redacted when the error is finished).
    pub fn with_details(mut self, details: Option<serde_json::Value>) -> Self {
        self.details = details;
        self
    }
}

/// The facade's error: what failed, where, and what the provider said.
///
/// `Display` gives the provider, the operation, our reason, the HTTP status and the provider's
/// code, a hint where one is known, then the provider's own message as sent (bounded, one
/// line): `<provider> create_session: user not allowed (HTTP 401, code UNAUTHORIZED); add the
/// user to the team; provider said: "User is not allowed to access tenant"`. Neither `Display` nor `Debug` contains a credential the call
/// sent (its sensitive headers and body secrets are scrubbed from every message, detail and
/// excerpt) or a value of a successful response. The underlying transport or I/O error is
/// kept as [`std::error::Error::source`]; nothing that can quote response data is (a
/// `serde_json` error's text quotes the offending value, so it is reduced to its category
/// and position).
///
/// ```
/// use embed_sessions::{Error, ErrorKind};
/// let err = Error::invalid_input("email", "`not-an-email` is not an email address");
/// assert_eq!(err.kind(), ErrorKind::InvalidInput);
/// assert_eq!(err.field(), Some("email"));
/// assert!(!err.is_retryable());
/// assert_eq!(err.to_string(), "invalid email: `not-an-email` is not an email address (nothing was sent)");
/// ```
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    kind: ErrorKind,
    provider: Option<&'static str>,
    operation: Option<&'static str>,
    status: Option<u16>,
    field: Option<&'static str>,
    message: Option<String>,
    api: Option<ApiError>,
    excerpt: Option<String>,
    attempts: u32,
    /// Whether the failed operation is safe to repeat after an uncertain failure (set by the
    /// transport for every call; `None` for errors made outside a call).
    retry_safe: Option<bool>,
    /// The exchange broke after the request may have been processed (body interrupted).
    uncertain: bool,
    source: Option<BoxError>,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind) -> Self {
        Self {
            inner: Box::new(Inner {
                kind,
                provider: None,
                operation: None,
                status: None,
                field: None,
                message: None,
                api: None,
                excerpt: None,
                attempts: 0,
                retry_safe: None,
                uncertain: false,
                source: None,
            }),
        }
    }

    /// Invalid input in `field`; nothing is sent.
    pub fn invalid_input(field: &'static str, message: impl Into<String>) -> Self {
        let mut e = Self::new(ErrorKind::InvalidInput);
        e.inner.field = Some(field);
        e.inner.message = Some(message.into());
        e
    }

    /// Invalid configuration; nothing is sent.
    pub fn config(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Config).with_message(message)
    }

    /// The response could not be understood (a provider client's `open` step: a field it needs
    /// is missing, a value is out of range). `message` says what; never quote a secret in it.
    pub fn unexpected_response(status: Option<u16>, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::UnexpectedResponse).with_status(status).with_message(message)
    }

    /// The provider rejected the request.
    pub fn api(status: Option<u16>, api: ApiError) -> Self {
        let mut e = Self::new(ErrorKind::Api);
        e.inner.status = status;
        e.inner.api = Some(api);
        e
    }

    pub(crate) fn with_message(mut self, message: impl Into<String>) -> Self {
        self.inner.message = Some(message.into());
        self
    }

    pub(crate) fn with_status(mut self, status: Option<u16>) -> Self {
        if status.is_some() {
            self.inner.status = status;
        }
        self
    }

    /// A bounded, redacted excerpt of `body` (see [`super::redact::excerpt`]); `content_type`
    /// describes a success body that is not JSON (which is then not quoted at all).
    pub(crate) fn with_excerpt(mut self, body: &[u8], content_type: Option<&str>) -> Self {
        // Unknown status: treat as a success body (the stricter redaction).
        let success = self.inner.status.is_none_or(|s| (200..300).contains(&s));
        self.inner.excerpt = Some(super::redact::excerpt(body, success, content_type));
        self
    }

    /// Keeps `source` for [`std::error::Error::source`]. Only for errors whose text cannot
    /// carry response data (I/O, task and transport errors without URL): a `serde_json`
    /// error quotes the offending value and is never kept.
    pub(crate) fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.inner.source = Some(source.into());
        self
    }

    /// Marks a transport failure after which the request may have been processed.
    pub(crate) fn uncertain(mut self) -> Self {
        self.inner.uncertain = true;
        self
    }

    /// Records whether the operation that failed is safe to repeat (see
    /// [`Error::is_retryable`]).
    pub(crate) fn with_retry_safety(mut self, retry_safe: bool) -> Self {
        self.inner.retry_safe = Some(retry_safe);
        self
    }

    /// Removes every exact credential value in `scrubber` from the message, the provider's
    /// message and details, and the excerpt; redacts secret-named members of the details.
    pub(crate) fn scrubbed(mut self, scrubber: &super::redact::Scrubber) -> Self {
        let i = &mut *self.inner;
        if let Some(m) = i.message.as_mut() {
            scrubber.scrub_in_place(m);
        }
        if let Some(x) = i.excerpt.as_mut() {
            scrubber.scrub_in_place(x);
        }
        if let Some(api) = i.api.as_mut() {
            if let Some(m) = api.message.as_mut() {
                scrubber.scrub_in_place(m);
            }
            if let Some(d) = api.details.as_mut() {
                super::redact::redact_json(d);
                scrubber.scrub_json(d);
            }
        }
        self
    }

    pub(crate) fn at(mut self, provider: &'static str, operation: &'static str) -> Self {
        self.inner.provider.get_or_insert(provider);
        self.inner.operation.get_or_insert(operation);
        self
    }

    pub(crate) fn with_attempts(mut self, attempts: u32) -> Self {
        if attempts > 0 {
            self.inner.attempts = attempts;
        }
        self
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// The name of the provider involved ([`Descriptor::name`](super::Descriptor::name)), if a
    /// provider call was being made.
    pub fn provider(&self) -> Option<&'static str> {
        self.inner.provider
    }

    /// The operation (its snake_case operation id, e.g. `create_auth_session`).
    pub fn operation(&self) -> Option<&'static str> {
        self.inner.operation
    }

    /// The HTTP status of the response, when one was received.
    pub fn status(&self) -> Option<u16> {
        self.inner.status
    }

    /// For invalid input: the field at fault.
    pub fn field(&self) -> Option<&'static str> {
        self.inner.field
    }

    /// The provider's error details, for [`ErrorKind::Api`].
    pub fn api_error(&self) -> Option<&ApiError> {
        self.inner.api.as_ref()
    }

    /// The typed reason, for [`ErrorKind::Api`].
    pub fn reason(&self) -> Option<&Reason> {
        self.inner.api.as_ref().map(|a| &a.reason)
    }

    /// The provider's typed reason, if this is a rejection with a reason of type `R`:
    /// `e.reason_as::<AcmeReason>() == Some(&AcmeReason::UnknownUser)`.
    pub fn reason_as<R: super::ProviderReason>(&self) -> Option<&R> {
        self.reason()?.get::<R>()
    }

    /// A short hint saying what to do, where one is known.
    pub fn hint(&self) -> Option<&'static str> {
        self.reason().and_then(Reason::hint)
    }

    /// The provider's own message as sent (for [`ErrorKind::Api`]), on one line and bounded
    /// to 300 bytes, with the credentials the call sent removed. Operators grep for these
    /// words; `Display` shows them after our reason and hint.
    pub fn provider_message(&self) -> Option<String> {
        let m = self.api_error()?.message.as_deref().filter(|m| !m.trim().is_empty())?;
        Some(super::redact::one_line(m, 300))
    }

    /// A bounded, redacted excerpt of an unexpected response body.
    pub fn body_excerpt(&self) -> Option<&str> {
        self.inner.excerpt.as_deref()
    }

    /// How many attempts were made (0 when nothing was sent).
    pub fn attempts(&self) -> u32 {
        self.inner.attempts
    }

    /// Whether nothing reached the provider because the input or configuration was rejected.
    pub fn is_rejected_before_sending(&self) -> bool {
        matches!(self.inner.kind, ErrorKind::InvalidInput | ErrorKind::Config)
    }

    /// Whether repeating the failed call is safe and may succeed, by the same rule the
    /// transport applies between attempts ([`RetryPolicy`](super::RetryPolicy)): a connection
    /// failure or an HTTP 429 always (the request was not processed); a timeout, an
    /// interrupted body or an HTTP 502, 503 or 504 only for an operation that is safe to
    /// repeat (each provider names those that are not, such as a creation that could be made
    /// twice: [`Descriptor::with_not_safe_to_repeat`](super::Descriptor::with_not_safe_to_repeat)).
    pub fn is_retryable(&self) -> bool {
        let i = &self.inner;
        let failure = match i.kind {
            ErrorKind::Connect | ErrorKind::RateLimited => Some(super::retry::Failure::Unsent),
            ErrorKind::Timeout => Some(super::retry::Failure::Uncertain),
            ErrorKind::Transport if i.uncertain => Some(super::retry::Failure::Uncertain),
            ErrorKind::Api | ErrorKind::UnexpectedResponse => {
                i.status.map(super::retry::Failure::Status)
            }
            _ => None,
        };
        failure.is_some_and(|f| f.is_retryable(i.retry_safe.unwrap_or(false)))
    }

    /// Whether an attempt timed out.
    pub fn is_timeout(&self) -> bool {
        self.inner.kind == ErrorKind::Timeout
    }
}

impl Error {
    /// `<provider> <operation>: ` when known.
    fn write_place(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        if let Some(p) = i.provider {
            f.write_str(p)?;
            if let Some(op) = i.operation {
                write!(f, " {op}")?;
            }
            f.write_str(": ")?;
        }
        Ok(())
    }

    /// A rejection: reason, status and code, hint, the provider's words, its response id.
    fn write_api(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let api = self.inner.api.as_ref();
        match api {
            Some(a) => write!(f, "{}", a.reason)?,
            None => f.write_str("request rejected")?,
        }
        match (self.inner.status, api.and_then(|a| a.code.as_deref())) {
            (Some(s), Some(c)) => write!(f, " (HTTP {s}, code {c})")?,
            (Some(s), None) => write!(f, " (HTTP {s})")?,
            (None, Some(c)) => write!(f, " (code {c})")?,
            (None, None) => {}
        }
        if let Some(h) = self.hint() {
            write!(f, "; {h}")?;
        }
        if let Some(m) = self.provider_message() {
            write!(f, "; provider said: \"{m}\"")?;
        }
        if let Some(id) = api.and_then(|a| a.response_id.as_deref()) {
            write!(f, " [response id {id}]")?;
        }
        Ok(())
    }

    /// Any other failure: what happened, status, our message, the body excerpt.
    fn write_failure(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        f.write_str(match i.kind {
            ErrorKind::Timeout => "timed out",
            ErrorKind::Connect => "connection failed",
            ErrorKind::Transport => "transport error",
            ErrorKind::UnexpectedResponse => "unexpected response",
            ErrorKind::BodyTooLarge => "response body too large",
            ErrorKind::Signature => "signature check failed",
            ErrorKind::Session => "session error",
            ErrorKind::Store => "context store error",
            ErrorKind::RateLimited => "rate limit reached",
            ErrorKind::InvalidEvent => "invalid event",
            ErrorKind::EventRefused => "event refused",
            _ => "error",
        })?;
        if let Some(s) = i.status {
            write!(f, " (HTTP {s})")?;
        }
        if let Some(m) = &i.message {
            write!(f, ": {m}")?;
        }
        if let Some(x) = &i.excerpt {
            write!(f, "; body: {x}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        match i.kind {
            ErrorKind::InvalidInput => {
                let field = i.field.unwrap_or("input");
                let why = i.message.as_deref().unwrap_or("rejected");
                return write!(f, "invalid {field}: {why} (nothing was sent)");
            }
            ErrorKind::Config => {
                let why = i.message.as_deref().unwrap_or("invalid configuration");
                return write!(f, "configuration error: {why}");
            }
            _ => {}
        }
        self.write_place(f)?;
        match i.kind {
            ErrorKind::Api => self.write_api(f)?,
            _ => self.write_failure(f)?,
        }
        if i.attempts > 1 {
            write!(f, " (after {} attempts)", i.attempts)?;
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        let mut d = f.debug_struct("Error");
        d.field("kind", &i.kind);
        if let Some(p) = i.provider {
            d.field("provider", &p);
        }
        if let Some(op) = i.operation {
            d.field("operation", &op);
        }
        if let Some(s) = i.status {
            d.field("status", &s);
        }
        if let Some(x) = i.field {
            d.field("field", &x);
        }
        if let Some(m) = &i.message {
            d.field("message", m);
        }
        if let Some(a) = &i.api {
            d.field("api", a);
        }
        if let Some(x) = &i.excerpt {
            d.field("excerpt", x);
        }
        if i.attempts > 0 {
            d.field("attempts", &i.attempts);
        }
        if let Some(s) = &i.source {
            d.field("source", &s.to_string());
        }
        d.finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner.source.as_deref().map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl Error {
    /// A copy of an error shared by several callers (those that waited on one request in a
    /// session cache): the same fields, the source reachable through the copy.
    pub fn copy_of(shared: &std::sync::Arc<Error>) -> Error {
        let i = &shared.inner;
        Error {
            inner: Box::new(Inner {
                kind: i.kind,
                provider: i.provider,
                operation: i.operation,
                status: i.status,
                field: i.field,
                message: i.message.clone(),
                api: i.api.clone(),
                excerpt: i.excerpt.clone(),
                attempts: i.attempts,
                retry_safe: i.retry_safe,
                uncertain: i.uncertain,
                source: i
                    .source
                    .as_ref()
                    .map(|_| Box::new(SharedSource(shared.clone())) as BoxError),
            }),
        }
    }
}

/// The source of a shared [`Error`], reached through the original.
struct SharedSource(std::sync::Arc<Error>);

impl SharedSource {
    fn original(&self) -> Option<&(dyn std::error::Error + Send + Sync + 'static)> {
        self.0.inner.source.as_deref()
    }
}

impl fmt::Display for SharedSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.original() {
            Some(s) => fmt::Display::fmt(s, f),
            None => Ok(()),
        }
    }
}

impl fmt::Debug for SharedSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.original() {
            Some(s) => fmt::Debug::fmt(s, f),
            None => f.write_str("SharedSource"),
        }
    }
}

impl std::error::Error for SharedSource {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.original()?.source()
    }
}
