//! The transport every generated operation goes through: retries, bounded body reading,
//! tracing, sensitive-header marking and a provider's per-attempt hook (request signing,
//! response checks), keeping what it saw so errors carry status, attempts and a body
//! excerpt.
//!
//! A provider client holds one [`Core`]: its configuration, its generated client (built once,
//! with this transport plugged in through `Hooks`) and its retry policy. Each call runs inside
//! [`Core::call`], which puts the call's own state (operation, retry safety, hook, what was
//! seen) in a task-local for the transport to find: the generated client's requests carry no
//! room for it, and building a generated client per call is what this design avoids.
//!
//! Retries are made by [`Core::call`], which runs the generated operation again: the
//! transport sends each request it is given once (it keeps no copy for a retry) and says
//! whether, and after which wait, another attempt should follow.

use std::borrow::Cow;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Instant, SystemTime};

use embed_sessions_hooks::{Hooks, ResponseFuture, Transport};
use progenitor_client::ResponseValue;
use reqwest::ResponseBuilderExt as _;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use tracing::Instrument;

use super::budget::{Limit, acquire, identity_of};
use super::config::{Config, Settings};
use super::error::{ApiError, Error, ErrorKind};
use super::provider::{Descriptor, Provider};
use super::redact::Scrubber;
use super::retry::{Failure, RetryPolicy, parse_retry_after};
use super::secret::Secret;

/// A provider hook around each attempt (for example: sign the request, verify the response).
pub trait AttemptHook: Send + Sync + 'static {
    /// Called on each attempt's request just before it is sent.
    fn prepare(&self, request: &mut reqwest::Request) -> Result<(), Error>;
    /// Called with each final response, body included.
    fn verify(&self, status: u16, headers: &HeaderMap, body: &[u8]) -> Result<(), Error>;
}

/// One call of one operation: what [`Core::call`] needs beyond the request itself.
///
/// ```
/// use embed_sessions::core::Call;
/// let call = Call::new("create_order").retry_safe(false);
/// # let _ = call;
/// ```
#[must_use]
pub struct Call<'s> {
    op: &'static str,
    retry_safe: Option<bool>,
    body_secrets: &'s [&'s Secret],
    hook: Option<Arc<dyn AttemptHook>>,
    policy: Option<RetryPolicy>,
    rate_identity: Option<String>,
}

impl<'s> Call<'s> {
    /// A call of `operation` (its snake_case operation id). Whether it is safe to repeat comes
    /// from the provider's [`Descriptor`] unless set with [`Call::retry_safe`].
    pub fn new(operation: &'static str) -> Self {
        Self {
            op: operation,
            retry_safe: None,
            body_secrets: &[],
            hook: None,
            policy: None,
            rate_identity: None,
        }
    }

    /// Whose rate budget this call counts against, when it is not the client's (a provider
    /// whose calls carry several API keys: [`budget::identity_of`](super::budget::identity_of)
    /// of the call's key). An identity set on the configuration wins over this one.
    pub fn rate_identity(mut self, identity: String) -> Self {
        self.rate_identity = Some(identity);
        self
    }

    /// Overrides whether the operation may be repeated after an uncertain failure.
    pub fn retry_safe(mut self, safe: bool) -> Self {
        self.retry_safe = Some(safe);
        self
    }

    /// Credentials in the request body (a password, a refresh token): with the values of the
    /// sensitive headers the call sends, they are scrubbed from its error.
    pub fn body_secrets(mut self, secrets: &'s [&'s Secret]) -> Self {
        self.body_secrets = secrets;
        self
    }

    /// A hook run around each attempt of this call.
    pub fn hook(mut self, hook: Arc<dyn AttemptHook>) -> Self {
        self.hook = Some(hook);
        self
    }

    /// A retry policy for this call instead of the client's.
    pub fn policy(mut self, policy: RetryPolicy) -> Self {
        self.policy = Some(policy);
        self
    }
}

/// What a call's transport saw, kept for the error that follows (if any).
#[derive(Default)]
struct Seen {
    attempts: u32,
    status: Option<u16>,
    body: Option<bytes::Bytes>,
    content_type: Option<HeaderValue>,
    failure: Option<Error>,
    /// The credential values sent in sensitive headers, scrubbed from the call's error (the
    /// configured API key is scrubbed anyway and not recorded).
    sent: Vec<HeaderValue>,
    /// Set by the transport when the attempt it just made should be followed by another one
    /// after this wait; [`Core::call`] then runs the operation again.
    retry: Option<std::time::Duration>,
}

/// The call in progress, as the transport sees it.
struct CallState {
    op: &'static str,
    /// The call's own rate-budget identity (see [`Call::rate_identity`]).
    rate_identity: Option<String>,
    retry_safe: bool,
    policy: RetryPolicy,
    hook: Option<Arc<dyn AttemptHook>>,
    seen: Mutex<Seen>,
}

tokio::task_local! {
    /// The call in progress on this task, set by [`Core::call`] around the generated
    /// client's future and read by the transport for each request it sends.
    static CALL: Arc<CallState>;
}

impl CallState {
    fn seen(&self) -> MutexGuard<'_, Seen> {
        self.seen.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether attempt `attempt` may be followed by another one: there is one left, and
    /// `retryable` (this failure may be repeated for this operation).
    fn has_retry(&self, attempt: u32, retryable: bool) -> bool {
        retryable && attempt < self.policy.attempts()
    }

    /// The wait before another attempt after attempt `attempt` failed in transport (no answer,
    /// or a body cut short: in the transport, or in the generated client reading a body the
    /// transport handed over unread), if the failure may be repeated and an attempt is left.
    fn retry_after_error(&self, e: &reqwest::Error, attempt: u32) -> Option<std::time::Duration> {
        let retryable = failure_of(e).is_some_and(|f| f.is_retryable(self.retry_safe));
        if !self.has_retry(attempt, retryable) {
            return None;
        }
        self.policy.delay(attempt + 1, None, None)
    }

    /// Records what the answer of the final attempt was (its body, when it was read here).
    fn answered(&self, status: u16, headers: &HeaderMap, body: Option<bytes::Bytes>) {
        let mut seen = self.seen();
        seen.status = Some(status);
        seen.content_type = headers.get(CONTENT_TYPE).cloned();
        seen.body = body;
    }

    /// Ends this attempt with "send again after `wait`" (see [`Core::call`]).
    fn retry_later(&self, wait: std::time::Duration) -> reqwest::Result<reqwest::Response> {
        self.seen().retry = Some(wait);
        placeholder()
    }

    /// Ends the call with `error` (see [`Core::call`]).
    fn fail(&self, error: Error) -> reqwest::Result<reqwest::Response> {
        self.seen().failure = Some(error);
        placeholder()
    }
}

/// The answer the generated client gets when the transport ends an attempt without one: it
/// turns it into some error, which `Core::call` discards for the retry or failure recorded in
/// the call state.
fn placeholder() -> reqwest::Result<reqwest::Response> {
    Ok(synthetic(599, bytes::Bytes::new(), HeaderMap::new(), None))
}

/// What every call of one provider client shares: the generated client's transport.
struct Shared {
    settings: Settings,
    policy: RetryPolicy,
    /// `authorization` and the provider's credential headers, parsed once.
    sensitive: Box<[HeaderName]>,
    /// `<provider>:<identity>`: the name of this client's rate budgets.
    budget_key: String,
}

/// What one attempt came to.
enum Attempt {
    /// Send again after this wait.
    Retry(std::time::Duration),
    /// The attempt's outcome is the call's.
    Done(reqwest::Result<reqwest::Response>),
}

impl Shared {
    fn descriptor(&self) -> &'static Descriptor {
        self.settings.descriptor
    }

    /// The request as it is sent: checked, signed by the call's hook, with its credential
    /// headers marked sensitive and their values recorded for scrubbing.
    fn prepare(
        &self,
        call: &CallState,
        mut req: Box<reqwest::Request>,
    ) -> Result<Box<reqwest::Request>, Error> {
        // Generated requests carry in-memory bodies. A streamed body could be neither
        // repeated, nor signed, nor checked against the body cap: refused, never sent.
        if req.body().is_some_and(|b| b.as_bytes().is_none()) {
            return Err(Error::invalid_input(
                "body",
                "a streamed request body cannot be signed, repeated or bounded; send the body \
                 as bytes",
            ));
        }
        if let Some(hook) = &call.hook {
            hook.prepare(&mut req)?;
        }
        // Headers a hook added (an authentication token) are credentials too.
        let key = self.settings.api_key.as_ref().map(|k| k.expose().as_bytes());
        let mut seen = None;
        // One pass over the few headers sent (cheaper than a hash lookup per sensitive name).
        for (name, v) in req.headers_mut().iter_mut() {
            if !self.sensitive.contains(name) {
                continue;
            }
            v.set_sensitive(true);
            if Some(v.as_bytes()) == key {
                continue;
            }
            let seen = seen.get_or_insert_with(|| call.seen());
            if !seen.sent.contains(v) {
                seen.sent.push(v.clone());
            }
        }
        Ok(req)
    }

    /// Sends the request (feature `fuzzing`: or answers it in process).
    async fn send(
        &self,
        client: &reqwest::Client,
        req: Box<reqwest::Request>,
    ) -> reqwest::Result<reqwest::Response> {
        #[cfg(feature = "fuzzing")]
        if let Some(respond) = &self.settings.responder {
            return Ok(respond(&req));
        }
        client.execute(*req).await
    }

    /// Sends one attempt. A success whose declared length is within the body cap, with no
    /// hook to check it, is handed over unread (the generated client reads it, and the
    /// connection cannot deliver more than the declared length); any other answer is read
    /// whole here, bounded.
    async fn attempt(
        &self,
        call: &CallState,
        client: &reqwest::Client,
        req: Box<reqwest::Request>,
        attempt: u32,
    ) -> Attempt {
        let span = tracing::debug_span!(
            "embed_sessions.request",
            provider = self.descriptor().name(),
            operation = call.op,
            attempt,
            status = tracing::field::Empty,
            latency_ms = tracing::field::Empty,
        );
        let max = self.settings.max_body_bytes;
        let started = Instant::now();
        let exchange = async {
            let resp = self.send(client, req).await?;
            let status = resp.status().as_u16();
            if !span.is_disabled() {
                span.record("status", status);
            }
            if resp.status().is_success()
                && call.hook.is_none()
                && resp.content_length().is_some_and(|n| n <= max as u64)
            {
                return Ok((status, Received::Unread(resp)));
            }
            // Boxed: only the answers read here (errors, hooked calls) pay for its room.
            let read = Box::pin(read_bounded(resp, max)).await?;
            Ok::<_, reqwest::Error>((status, Received::Read(read)))
        };
        // Without a subscriber the span is disabled: no instrumentation to pay for.
        let outcome = if span.is_disabled() {
            exchange.await
        } else {
            exchange.instrument(span.clone()).await
        };
        let latency_ms = started.elapsed().as_millis() as u64;
        let _entered = (!span.is_disabled()).then(|| {
            span.record("latency_ms", latency_ms);
            span.enter()
        });
        match outcome {
            Err(e) => {
                tracing::debug!(latency_ms, timeout = e.is_timeout(), "attempt failed");
                match call.retry_after_error(&e, attempt) {
                    Some(wait) => Attempt::Retry(wait),
                    None => Attempt::Done(Err(e)),
                }
            }
            Ok((status, Received::Unread(resp))) => {
                tracing::debug!(status, latency_ms, "attempt done");
                call.answered(status, resp.headers(), None);
                Attempt::Done(Ok(resp))
            }
            Ok((_, Received::Read(Err(too_large)))) => Attempt::Done(call.fail(too_large)),
            Ok((status, Received::Read(Ok((parts, body))))) => {
                tracing::debug!(status, latency_ms, "attempt done");
                if call.has_retry(attempt, RetryPolicy::retryable_status(status, call.retry_safe))
                    && let Some(wait) =
                        call.policy.delay(attempt + 1, Some(status), retry_after(&parts.headers))
                {
                    tracing::debug!(wait_ms = wait.as_millis() as u64, "retrying");
                    return Attempt::Retry(wait);
                }
                Attempt::Done(finish_response(call, status, parts, body))
            }
        }
    }

    /// The rate budget this request counts against, if its operation is under published
    /// limits (or the client's own).
    fn budget_for(
        &self,
        call: &CallState,
        method: &str,
    ) -> Option<(Cow<'_, str>, &'static [Limit])> {
        let op = call.op;
        let rates = &self.settings.rates;
        let (limits, per_operation) = match rates.limits {
            Some(limits) => (limits, false),
            None => {
                let rule = self.descriptor().rate_rule(op, method)?;
                (rule.limits, rule.per_operation)
            }
        };
        if limits.is_empty() {
            return None;
        }
        let base = self.budget_base(call.rate_identity.as_deref());
        let key = if per_operation { Cow::Owned(format!("{base}:{op}")) } else { base };
        Some((key, limits))
    }

    /// `<provider>:<identity>` of a budget: the configuration's identity wins; else the
    /// call's own (its API key's); else the client's (see `budget_key`).
    fn budget_base(&self, call_identity: Option<&str>) -> Cow<'_, str> {
        match (&self.settings.rates.identity, call_identity) {
            (None, Some(id)) => Cow::Owned(format!("{}:{id}", self.descriptor().name())),
            _ => Cow::Borrowed(self.budget_key.as_str()),
        }
    }

    /// One attempt of the call on this task: the attempt is counted, the request prepared,
    /// the rate budget taken, the request sent. When another attempt should follow, the
    /// call state says after which wait (see [`CallState::retry_later`]).
    async fn run(
        &self,
        call: &CallState,
        client: &reqwest::Client,
        request: Box<reqwest::Request>,
    ) -> reqwest::Result<reqwest::Response> {
        let attempt = {
            let mut seen = call.seen();
            seen.attempts += 1;
            seen.attempts
        };
        let req = match self.prepare(call, request) {
            Ok(req) => req,
            Err(e) => return call.fail(e),
        };
        if let Some((key, limits)) = self.budget_for(call, req.method().as_str()) {
            let store = &*self.settings.rates.store;
            let limits = super::budget::with_send_margin(limits);
            if let Err(e) = acquire(store, &key, &limits, self.settings.timeout).await {
                return call.fail(e);
            }
        }
        match self.attempt(call, client, req, attempt).await {
            Attempt::Retry(wait) => call.retry_later(wait),
            Attempt::Done(outcome) => outcome,
        }
    }
}

/// An answer as [`Shared::attempt`] passes it on.
enum Received {
    /// A success with a declared length within the cap and no hook: its body is unread.
    Unread(reqwest::Response),
    /// Read whole (bounded), or refused as too large.
    Read(Result<(Parts, bytes::Bytes), Error>),
}

/// The `Retry-After` of a response, as a wait from now.
fn retry_after(headers: &HeaderMap) -> Option<std::time::Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    parse_retry_after(value, SystemTime::now())
}

/// Records the final response, runs the hook's check, and hands the response on.
fn finish_response(
    call: &CallState,
    status: u16,
    parts: Parts,
    body: bytes::Bytes,
) -> reqwest::Result<reqwest::Response> {
    call.answered(status, &parts.headers, Some(body.clone()));
    if let Some(hook) = &call.hook
        && let Err(e) = hook.verify(status, &parts.headers, &body)
    {
        return call.fail(e.with_status(Some(status)));
    }
    Ok(synthetic(status, body, parts.headers, Some(parts.url)))
}

struct Parts {
    headers: HeaderMap,
    url: reqwest::Url,
}

/// Reads a whole body, refusing more than `max` bytes; takes the headers (no copy).
async fn read_bounded(
    mut resp: reqwest::Response,
    max: usize,
) -> reqwest::Result<Result<(Parts, bytes::Bytes), Error>> {
    if resp.content_length().is_some_and(|n| n > max as u64) {
        return Ok(Err(too_large(max)));
    }
    let headers = std::mem::take(resp.headers_mut());
    let url = resp.url().clone();
    Ok(match embed_sessions_hooks::read_body(resp, max).await? {
        Some(body) => Ok((Parts { headers, url }, body)),
        None => Err(too_large(max)),
    })
}

/// The retry class of a transport error: `None` for failures no retry can fix (TLS, a
/// refused redirect, a request that could not be built).
fn failure_of(e: &reqwest::Error) -> Option<Failure> {
    if e.is_connect() && !e.is_timeout() {
        Some(Failure::Unsent)
    } else if e.is_timeout() || e.is_body() || e.is_decode() || e.is_request() {
        // `is_request`: the connection broke after the request was (perhaps wholly) sent and
        // before a response head arrived, e.g. reset by the peer: it may have been processed.
        Some(Failure::Uncertain)
    } else {
        None
    }
}

fn too_large(max: usize) -> Error {
    Error::new(ErrorKind::BodyTooLarge)
        .with_message(format!("more than {max} bytes; raise `max_body_bytes` if this is expected"))
}

/// The response handed to the generated client. With the request's URL: without one, reqwest
/// parses a placeholder URL for every response.
pub(crate) fn synthetic(
    status: u16,
    body: bytes::Bytes,
    headers: HeaderMap,
    url: Option<reqwest::Url>,
) -> reqwest::Response {
    let mut builder = http::Response::builder().status(status);
    if let Some(url) = url {
        builder = builder.url(url);
    }
    if let Some(h) = builder.headers_mut() {
        *h = headers;
    }
    let resp = builder.body(body).unwrap_or_else(|_| http::Response::new(bytes::Bytes::new()));
    reqwest::Response::from(resp)
}

impl Transport for Shared {
    fn execute<'a>(
        &'a self,
        client: &'a reqwest::Client,
        request: reqwest::Request,
        operation_id: &'static str,
    ) -> ResponseFuture<'a> {
        let _ = operation_id;
        // Boxed once here, the request (some 260 bytes) is not copied into every future of
        // the attempt: the future boxed below stays small.
        let request = Box::new(request);
        Box::pin(async move {
            // Outside `Core::call` there is no call state: no hook (a request that must be
            // signed would go out unsigned), nowhere to record what was seen. Nothing is sent;
            // the generated client reports an undocumented status.
            let Ok(call) = CALL.try_with(Arc::clone) else {
                let why = "not sent: a core's generated client sends only inside `Core::call`";
                return Ok(synthetic(
                    599,
                    bytes::Bytes::from_static(why.as_bytes()),
                    HeaderMap::new(),
                    None,
                ));
            };
            self.run(&call, client, request).await
        })
    }
}

/// What a provider client shares between calls: its configuration, its generated client `C`
/// (built once, with the core's transport plugged in) and its retry policy.
pub struct Core<C> {
    shared: Arc<Shared>,
    raw: C,
}

impl<C> std::fmt::Debug for Core<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = &self.shared.settings;
        f.debug_struct("Core")
            .field("provider", &s.descriptor.name())
            .field("base_url", &s.base_url)
            .finish_non_exhaustive()
    }
}

impl<C> Core<C> {
    /// A core for `config`. `default_policy` applies when the configuration sets none;
    /// `make` builds the generated client (`raw::Client::new_with_client`) once, with the
    /// base URL, the `reqwest::Client` and the hooks that route its requests through this
    /// core.
    pub fn new<P: Provider>(
        config: Config<P>,
        default_policy: RetryPolicy,
        make: impl FnOnce(&str, reqwest::Client, Hooks) -> C,
    ) -> Self {
        let settings = config.settings;
        let policy = settings.retry.clone().unwrap_or(default_policy);
        let names = P::DESCRIPTOR.sensitive_headers().iter();
        let sensitive = std::iter::once(AUTHORIZATION)
            .chain(names.filter_map(|h| HeaderName::from_bytes(h.as_bytes()).ok()))
            .collect();
        let identity = match (&settings.rates.identity, &settings.api_key) {
            (Some(id), _) => id.clone(),
            (None, Some(key)) => identity_of(key),
            (None, None) => "default".into(),
        };
        let budget_key = format!("{}:{identity}", P::DESCRIPTOR.name());
        let shared = Arc::new(Shared { settings, policy, sensitive, budget_key });
        let hooks = Hooks::new(shared.clone());
        let raw = make(&shared.settings.base_url, shared.settings.http.clone(), hooks);
        Self { shared, raw }
    }

    /// The generated client, with the core's transport plugged in.
    pub fn raw(&self) -> &C {
        &self.raw
    }

    /// The provider's descriptor.
    pub fn descriptor(&self) -> &'static Descriptor {
        self.shared.settings.descriptor
    }

    /// The base URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.shared.settings.base_url
    }

    /// The retry policy in force: the configuration's, else the provider client's default.
    pub fn policy(&self) -> &RetryPolicy {
        &self.shared.policy
    }

    /// The configured API key, or a configuration error naming its environment variable.
    pub fn api_key(&self) -> Result<&Secret, Error> {
        self.shared.settings.require_api_key()
    }

    /// The configured API key's text, for a generated builder's header argument (the builder
    /// copies it), or a configuration error naming its environment variable.
    pub fn api_key_header(&self) -> Result<&str, Error> {
        Ok(self.api_key()?.expose())
    }

    /// The configured API key, if any.
    pub fn configured_api_key(&self) -> Option<&Secret> {
        self.shared.settings.api_key.as_ref()
    }

    /// The user agent the configuration sends.
    pub fn user_agent(&self) -> &str {
        &self.shared.settings.user_agent
    }

    /// The total timeout of one attempt.
    pub fn attempt_timeout(&self) -> std::time::Duration {
        self.shared.settings.timeout
    }

    /// Takes one request from a budget of the provider's own making (a limit the descriptor
    /// cannot state, e.g. with a configurable window), kept where the client's budgets are:
    /// `name` under the budget identity (the configuration's, else `key`'s, else the client's).
    /// Only when the budgets are a fleet's: in one process the provider module's own limiter
    /// does this. Waits for at most `deadline`.
    pub async fn take_shared_budget(
        &self,
        name: &str,
        key: Option<&Secret>,
        limit: Limit,
        deadline: std::time::Duration,
    ) -> Result<(), Error> {
        let store = &*self.shared.settings.rates.store;
        if !store.is_shared() {
            return Ok(());
        }
        let identity = key.map(identity_of);
        let budget = format!("{}:{name}", self.shared.budget_base(identity.as_deref()));
        acquire(store, &budget, &[limit], deadline).await
    }

    /// Runs one generated operation: `send` builds and sends it with the generated client,
    /// once per attempt (a retry runs it again, so it takes its inputs by reference or
    /// clones them); `api_error` turns a typed error body into the provider's [`ApiError`];
    /// `open` turns the typed success into the caller's value (an envelope's `data`, say),
    /// and its errors are finished like the others: provider, operation, attempts, retry
    /// safety, and every credential the call sent scrubbed.
    pub fn call<'a, T, E, U, Fut>(
        &'a self,
        call: Call<'_>,
        send: impl Fn(&'a C) -> Fut,
        api_error: impl FnOnce(u16, &HeaderMap, E) -> ApiError,
        open: impl FnOnce(ResponseValue<T>) -> Result<U, Error>,
    ) -> impl std::future::Future<Output = Result<U, Error>>
    where
        Fut: std::future::Future<Output = Result<ResponseValue<T>, progenitor_client::Error<E>>>,
    {
        // Taken apart before the future is made: it keeps only what it uses.
        let d = self.descriptor();
        let Call { op, retry_safe, body_secrets, hook, policy, rate_identity } = call;
        let retry_safe = retry_safe.unwrap_or_else(|| d.is_retry_safe(op));
        let state = Arc::new(CallState {
            op,
            rate_identity,
            retry_safe,
            policy: policy.unwrap_or_else(|| self.shared.policy.clone()),
            hook,
            seen: Mutex::new(Seen::default()),
        });
        async move {
            // Everything up to the answer in one block that ends before the failure path's
            // await: no local of it (the generated result, what was seen) keeps its room in
            // this future's state, which every caller's future holds and moves.
            let failed = {
                let result = loop {
                    let wait = {
                        // Boxed: the generated operation's future is large, and every future
                        // this one is part of would otherwise be moved (copied) with it.
                        let result = CALL.scope(state.clone(), Box::pin(send(&self.raw))).await;
                        let wait = match &result {
                            Err(progenitor_client::Error::ResponseBodyError(e)) => {
                                state.retry_after_error(e, state.seen().attempts)
                            }
                            _ => state.seen().retry.take(),
                        };
                        match wait {
                            Some(wait) => wait,
                            None => break result,
                        }
                    };
                    // Boxed, as below: only a retry pays for the timer's room.
                    Box::pin(tokio::time::sleep(wait)).await;
                };
                let mut seen = std::mem::take(&mut *state.seen());
                let ending = Ending {
                    sent: std::mem::take(&mut seen.sent),
                    attempts: seen.attempts,
                    body_secrets,
                    api_key: self.shared.settings.api_key.as_ref(),
                    provider: d.name(),
                    op,
                    retry_safe,
                };
                if let Some(failure) = seen.failure.take() {
                    return Err(ending.finish(failure));
                }
                match result {
                    Ok(v) => return open(v).map_err(|e| ending.finish(e)),
                    // Boxed: only a failed call pays for the conversion's room.
                    Err(e) => Box::pin(async move {
                        Err(ending.finish(convert(e, &mut seen, api_error).await))
                    }),
                }
            };
            failed.await
        }
    }
}

/// What a call's error is finished with (see [`Core::call`]).
struct Ending<'a> {
    /// The credential values the call sent in sensitive headers.
    sent: Vec<HeaderValue>,
    attempts: u32,
    body_secrets: &'a [&'a Secret],
    api_key: Option<&'a Secret>,
    provider: &'static str,
    op: &'static str,
    retry_safe: bool,
}

impl Ending<'_> {
    /// `e` with the provider, operation, attempts and retry safety, and every credential the
    /// call sent scrubbed.
    fn finish(&self, e: Error) -> Error {
        let mut scrubber = Scrubber::default();
        for v in &self.sent {
            if let Ok(text) = v.to_str() {
                scrubber.add(text);
            }
        }
        for secret in self.body_secrets.iter().copied().chain(self.api_key) {
            scrubber.add(secret.expose());
        }
        e.at(self.provider, self.op)
            .with_attempts(self.attempts)
            .with_retry_safety(self.retry_safe)
            .scrubbed(&scrubber)
    }
}

/// Runs `attempt`; when it fails with HTTP 401, runs `renew` (drop a cached token, say) and
/// `attempt` once more. For calls authenticated with a token the client obtains itself.
pub async fn renew_once_on_401<T, A, AF, R, RF>(mut attempt: A, renew: R) -> Result<T, Error>
where
    A: FnMut() -> AF,
    AF: std::future::Future<Output = Result<T, Error>>,
    R: FnOnce(Error) -> RF,
    RF: std::future::Future<Output = Result<(), Error>>,
{
    match attempt().await {
        Err(e) if e.status() == Some(401) => {
            renew(e).await?;
            attempt().await
        }
        other => other,
    }
}

/// A generated client's error as the facade's, with what the transport saw.
async fn convert<E>(
    err: progenitor_client::Error<E>,
    seen: &mut Seen,
    api_error: impl FnOnce(u16, &HeaderMap, E) -> ApiError,
) -> Error {
    use progenitor_client::Error as P;
    match err {
        P::InvalidRequest(msg) => Error::invalid_input("request", msg),
        P::CommunicationError(e) | P::ResponseBodyError(e) | P::InvalidUpgrade(e) => {
            transport_error(e)
        }
        P::ErrorResponse(rv) => {
            let status = rv.status().as_u16();
            let headers = rv.headers().clone();
            Error::api(Some(status), api_error(status, &headers, rv.into_inner()))
        }
        // The serde error is not kept as the source: its text quotes the offending value.
        P::InvalidResponsePayload(body, e) => Error::new(ErrorKind::UnexpectedResponse)
            .with_status(seen.status)
            .with_message(format!(
                "the body does not match the documented schema ({})",
                serde_kind(&e)
            ))
            .with_excerpt(&body, seen.content_type.as_ref().and_then(|v| v.to_str().ok())),
        P::UnexpectedResponse(resp) => {
            let status = resp.status().as_u16();
            // A success the transport handed over unread has a declared length within the cap.
            let body = match seen.body.take() {
                Some(body) => body,
                None => resp.bytes().await.unwrap_or_default(),
            };
            Error::new(ErrorKind::UnexpectedResponse)
                .with_status(Some(status))
                .with_message(if (300..400).contains(&status) {
                    "a redirect, not followed (credentials stay with the configured host)"
                } else {
                    "undocumented status"
                })
                .with_excerpt(&body, seen.content_type.as_ref().and_then(|v| v.to_str().ok()))
        }
        P::Custom(msg) => Error::new(ErrorKind::Transport).with_message(msg),
    }
}

/// A serde error's category and position, never the offending value.
pub(crate) fn serde_kind(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let what = match e.classify() {
        Category::Io => "I/O error",
        Category::Syntax => "invalid JSON",
        Category::Data => "wrong shape or field types",
        Category::Eof => "truncated JSON",
    };
    format!("{what} at line {} column {}", e.line(), e.column())
}

fn transport_error(e: reqwest::Error) -> Error {
    let kind = if e.is_timeout() {
        ErrorKind::Timeout
    } else if e.is_connect() {
        ErrorKind::Connect
    } else {
        ErrorKind::Transport
    };
    let status = e.status().map(|s| s.as_u16());
    let message = if e.is_timeout() {
        "no complete answer within the configured timeout"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_body() || e.is_decode() {
        "the response body was interrupted"
    } else if e.is_redirect() {
        "redirect refused"
    } else {
        "request failed"
    };
    let error = Error::new(kind).with_status(status).with_message(message);
    let error = if failure_of(&e) == Some(Failure::Uncertain) { error.uncertain() } else { error };
    error.with_source(e.without_url())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::core::Reason;

    /// A provider for these tests: `create_op` is not safe to repeat.
    struct Test;

    impl Provider for Test {
        const DESCRIPTOR: &'static Descriptor =
            &Descriptor::new("test", "TEST_API_KEY", "TEST_BASE_URL", "https://api.test.invalid")
                .with_not_safe_to_repeat(&["create_op"]);
        // No typed reasons: every rejection is `Reason::other()`.
        type Reason = crate::core::provider::Unmatched;
    }

    /// What a generated client holds.
    struct Raw {
        base: String,
        http: reqwest::Client,
        hooks: Hooks,
    }

    impl Raw {
        fn new(base: &str, http: reqwest::Client, hooks: Hooks) -> Self {
            Self { base: base.to_string(), http, hooks }
        }
    }

    /// Issue 13, finding 7: a body that cannot be cloned was sent as it was, skipping the
    /// signing hook, the size cap and the response check. It is refused, and nothing is sent.
    #[tokio::test]
    async fn streamed_request_bodies_are_refused_and_never_sent() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let config = Config::builder(Test).base_url(&base).build().unwrap();
        let core = Core::new(config, RetryPolicy::default(), Raw::new);
        let result: Result<(), Error> = core
            .call(
                Call::new("upload"),
                |raw| async move {
                    let chunks = vec![Ok::<_, std::io::Error>(bytes::Bytes::from_static(b"x"))];
                    let body = reqwest::Body::wrap_stream(futures::stream::iter(chunks));
                    let url = format!("{}/upload", raw.base);
                    let request = raw.http.post(url).body(body).build().unwrap();
                    let resp = raw
                        .hooks
                        .exec(&raw.http, request, "upload")
                        .await
                        .map_err(progenitor_client::Error::<()>::CommunicationError)?;
                    Ok(ResponseValue::new((), resp.status(), resp.headers().clone()))
                },
                |_, _, ()| ApiError::new(Reason::other(), None, None),
                |_| Ok(()),
            )
            .await;
        let e = result.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e:?}");
        assert_eq!(e.field(), Some("body"));
        assert!(e.to_string().contains("streamed request body"), "{e}");
        let nothing = listener.accept().map(|_| ()).unwrap_err();
        assert_eq!(nothing.kind(), std::io::ErrorKind::WouldBlock, "a connection was made");
    }

    /// How the scripted server answers every connection.
    #[derive(Debug, Clone, Copy)]
    enum Answer {
        Refused,
        Status(u16),
        Silent,
        BodyCut,
        /// The request is read, then the connection is reset with no answer at all.
        ResetBeforeHead,
    }

    /// A loopback server answering every request the same way (a closed port for `Refused`).
    async fn serve(answer: Answer) -> String {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        if let Answer::Refused = answer {
            return base; // dropped: the port refuses connections
        }
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    let _ = socket.read(&mut buf).await;
                    let reply = match answer {
                        Answer::Status(s) => {
                            format!("HTTP/1.1 {s} X\r\ncontent-length: 0\r\n\r\n")
                        }
                        Answer::BodyCut => {
                            "HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{\"a\":".into()
                        }
                        Answer::Silent => {
                            tokio::time::sleep(Duration::from_secs(30)).await;
                            return;
                        }
                        Answer::ResetBeforeHead => {
                            // Linger 0: close with a reset instead of a clean FIN.
                            #[allow(deprecated)]
                            let _ = socket.set_linger(Some(Duration::ZERO));
                            return;
                        }
                        Answer::Refused => unreachable!(),
                    };
                    let _ = socket.write_all(reply.as_bytes()).await;
                });
            }
        });
        base
    }

    async fn fail_once(base: &str, op: &'static str, attempts: u32) -> Error {
        let policy = RetryPolicy::none()
            .max_attempts(attempts)
            .initial_backoff(Duration::ZERO)
            .jitter(false);
        let config = Config::builder(Test)
            .base_url(base)
            .timeout(Duration::from_millis(300))
            .retry(policy)
            .build()
            .unwrap();
        let core = Core::new(config, RetryPolicy::default(), Raw::new);
        let result: Result<(), Error> = core
            .call(
                Call::new(op),
                |raw| async move {
                    let request = raw.http.get(format!("{}/x", raw.base)).build().unwrap();
                    let resp = raw
                        .hooks
                        .exec(&raw.http, request, op)
                        .await
                        .map_err(progenitor_client::Error::<()>::CommunicationError)?;
                    if resp.status().is_success() {
                        resp.bytes().await.map_err(progenitor_client::Error::ResponseBodyError)?;
                        return Ok(ResponseValue::new((), http::StatusCode::OK, HeaderMap::new()));
                    }
                    Err(progenitor_client::Error::UnexpectedResponse(resp))
                },
                |_, _, ()| ApiError::new(Reason::other(), None, None),
                |_| Ok(()),
            )
            .await;
        result.unwrap_err()
    }

    /// A success is handed to the generated client unread only when its declared length is
    /// within the cap: a chunked success over the cap, and a declared length over it, are
    /// refused while reading; one within it decodes; the server's extra bytes beyond a
    /// declared length are never read as body.
    #[tokio::test]
    async fn the_body_cap_holds_for_successes_handed_over_unread() {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        async fn answer(reply: Vec<u8>) -> String {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let base = format!("http://{}", listener.local_addr().unwrap());
            tokio::spawn(async move {
                while let Ok((mut socket, _)) = listener.accept().await {
                    let reply = reply.clone();
                    tokio::spawn(async move {
                        let mut buf = [0u8; 4096];
                        let _ = socket.read(&mut buf).await;
                        let _ = socket.write_all(&reply).await;
                    });
                }
            });
            base
        }
        async fn get(base: &str) -> Result<bytes::Bytes, Error> {
            let config = Config::builder(Test).base_url(base).max_body_bytes(64).build().unwrap();
            let core = Core::new(config, RetryPolicy::none(), Raw::new);
            core.call(
                Call::new("read"),
                |raw| async move {
                    let request = raw.http.get(format!("{}/x", raw.base)).build().unwrap();
                    let resp = raw
                        .hooks
                        .exec(&raw.http, request, "read")
                        .await
                        .map_err(progenitor_client::Error::<()>::CommunicationError)?;
                    let (status, headers) = (resp.status(), resp.headers().clone());
                    let body =
                        resp.bytes().await.map_err(progenitor_client::Error::ResponseBodyError)?;
                    Ok(ResponseValue::new(body, status, headers))
                },
                |_, _, ()| ApiError::new(Reason::other(), None, None),
                |v| Ok(v.into_inner()),
            )
            .await
        }
        let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n";
        let chunk = "x".repeat(50);
        let chunked = format!(
            "{head}transfer-encoding: chunked\r\n\r\n32\r\n{chunk}\r\n32\r\n{chunk}\r\n0\r\n\r\n"
        );
        let e = get(&answer(chunked.into_bytes()).await).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::BodyTooLarge, "chunked over the cap: {e}");
        let declared = format!("{head}content-length: 100\r\n\r\n{chunk}{chunk}");
        let e = get(&answer(declared.into_bytes()).await).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::BodyTooLarge, "declared over the cap: {e}");
        let within = format!("{head}content-length: 10\r\n\r\n0123456789{chunk}{chunk}");
        let body = get(&answer(within.into_bytes()).await).await.unwrap();
        assert_eq!(&body[..], b"0123456789", "only the declared length is the body");
    }

    /// Issue 12, item 5: `Error::is_retryable` answers for the operation that failed by the
    /// same rule the transport applies: a failure is retryable exactly when a second attempt
    /// is made, for operations that are and are not safe to repeat.
    #[tokio::test]
    async fn is_retryable_agrees_with_the_transport_for_every_operation_kind() {
        let answers = [
            Answer::Refused,
            Answer::Silent,
            Answer::BodyCut,
            Answer::ResetBeforeHead,
            Answer::Status(429),
            Answer::Status(500),
            Answer::Status(502),
            Answer::Status(503),
            Answer::Status(504),
            Answer::Status(400),
            Answer::Status(401),
        ];
        for op in ["safe_op", "create_op"] {
            let retry_safe = Test::DESCRIPTOR.is_retry_safe(op);
            for answer in answers {
                let base = serve(answer).await;
                let once = fail_once(&base, op, 1).await;
                let twice = fail_once(&base, op, 2).await;
                let repeated = twice.attempts() == 2;
                assert_eq!(
                    once.is_retryable(),
                    repeated,
                    "{op:?} {answer:?}: {once:?} / {twice:?}"
                );
                assert_eq!(twice.is_retryable(), repeated, "{op:?} {answer:?}");
                let expected = match answer {
                    Answer::Refused | Answer::Status(429) => true,
                    Answer::Silent
                    | Answer::BodyCut
                    | Answer::ResetBeforeHead
                    | Answer::Status(502..=504) => retry_safe,
                    _ => false,
                };
                assert_eq!(repeated, expected, "{op:?} {answer:?}: {twice:?}");
            }
        }
    }
}
