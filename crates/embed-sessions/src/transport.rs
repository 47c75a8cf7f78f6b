//! The facade's transport: every generated operation goes through [`Call::execute`], which adds
//! retries, bounded body reading, tracing, sensitive-header marking and provider hooks (bunq
//! signing), and keeps what it saw so errors carry status, attempts and a body excerpt.

use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

use embed_sessions_hooks::{Hooks, ResponseFuture, Transport};
use progenitor_client::ResponseValue;
use reqwest::ResponseBuilderExt as _;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderName};
use tracing::Instrument;

use crate::config::{Config, Provider};
use crate::error::{ApiError, Error, ErrorKind};
use crate::redact::Scrubber;
use crate::retry::{Failure, RetryPolicy, parse_retry_after};
use crate::secret::Secret;

/// Headers whose values are credentials: marked sensitive on every request. (`HeaderName`s,
/// not strings: looking a string up parses it first, on every request.)
static SENSITIVE_HEADERS: [HeaderName; 5] = [
    AUTHORIZATION,
    HeaderName::from_static("apikey"),
    HeaderName::from_static("x-api-key"),
    HeaderName::from_static("x-bunq-client-authentication"),
    HeaderName::from_static("x-bunq-client-signature"),
];

/// progenitor sends `api-version: <spec version>`; no provider defines it.
const API_VERSION: HeaderName = HeaderName::from_static("api-version");

/// A provider hook around each attempt (bunq: sign the request, verify the response).
pub(crate) trait AttemptHook: Send + Sync + 'static {
    /// Called on each attempt's request just before it is sent.
    fn prepare(&self, request: &mut reqwest::Request) -> Result<(), Error>;
    /// Called with each final response, body included.
    fn verify(&self, status: u16, headers: &HeaderMap, body: &[u8]) -> Result<(), Error>;
}

/// How one operation may be retried.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Op {
    /// The snake_case operation id.
    pub name: &'static str,
    /// Whether repeating the operation after an uncertain failure (timeout, 502-504) is safe.
    pub retry_safe: bool,
}

impl Op {
    /// An operation that may be repeated after any retryable failure.
    pub const fn idempotent(name: &'static str) -> Self {
        Self { name, retry_safe: true }
    }

    /// An operation that is repeated only when it certainly was not processed.
    #[cfg_attr(not(feature = "vlens"), allow(dead_code))]
    pub const fn once(name: &'static str) -> Self {
        Self { name, retry_safe: false }
    }
}

/// What a call's transport saw, kept for the error that follows (if any).
#[derive(Default)]
struct Seen {
    attempts: u32,
    status: Option<u16>,
    body: Option<bytes::Bytes>,
    content_type: Option<String>,
    failure: Option<Error>,
    /// The credential values sent in sensitive headers, scrubbed from the call's error.
    sent: Scrubber,
}

/// One call of one operation: the transport plugged into a per-call generated client.
pub(crate) struct Call {
    provider: Provider,
    op: Op,
    policy: RetryPolicy,
    max_body_bytes: usize,
    hook: Option<Arc<dyn AttemptHook>>,
    seen: Mutex<Seen>,
}

impl Call {
    fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.seen.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn fail(&self, error: Error) -> reqwest::Result<reqwest::Response> {
        self.seen().failure = Some(error);
        // The generated client turns this into some error; `finish` replaces it with the
        // failure recorded above.
        Ok(synthetic(599, bytes::Bytes::new(), HeaderMap::new(), None))
    }

    async fn run(
        &self,
        client: &reqwest::Client,
        request: reqwest::Request,
    ) -> reqwest::Result<reqwest::Response> {
        let max = self.policy.attempts();
        let mut attempt = 0;
        // Kept for a retry until the last attempt, which sends it (earlier ones send a copy).
        let mut request = Some(request);
        loop {
            attempt += 1;
            self.seen().attempts = attempt;
            let last = attempt >= max;
            // Generated requests carry in-memory bodies. A streamed body could be neither
            // repeated, nor signed, nor checked against the body cap: refused, never sent.
            if request.as_ref().is_some_and(|r| r.body().is_some_and(|b| b.as_bytes().is_none())) {
                return self.fail(Error::invalid_input(
                    "body",
                    "a streamed request body cannot be signed, repeated or bounded; send the \
                     body as bytes",
                ));
            }
            let mut req = match request.take() {
                Some(original) if !last => match original.try_clone() {
                    Some(copy) => {
                        request = Some(original);
                        copy
                    }
                    None => original,
                },
                Some(original) => original,
                None => unreachable!("every attempt but the last keeps the request"),
            };
            {
                let mut seen = self.seen();
                for name in &SENSITIVE_HEADERS {
                    if let Some(v) = req.headers_mut().get_mut(name) {
                        v.set_sensitive(true);
                        if let Ok(text) = v.to_str() {
                            seen.sent.add(text);
                        }
                    }
                }
            }
            req.headers_mut().remove(API_VERSION);
            if let Some(hook) = &self.hook
                && let Err(e) = hook.prepare(&mut req)
            {
                return self.fail(e);
            }
            // Headers a hook added (bunq's authentication) are credentials too.
            if self.hook.is_some() {
                let mut seen = self.seen();
                for name in &SENSITIVE_HEADERS {
                    if let Some(text) = req.headers().get(name).and_then(|v| v.to_str().ok()) {
                        seen.sent.add(text);
                    }
                }
            }
            let span = tracing::debug_span!(
                "embed_sessions.request",
                provider = self.provider.name(),
                operation = self.op.name,
                attempt,
                status = tracing::field::Empty,
                latency_ms = tracing::field::Empty,
            );
            let started = Instant::now();
            let outcome = async {
                let resp = client.execute(req).await?;
                let status = resp.status().as_u16();
                tracing::Span::current().record("status", status);
                let body = read_bounded(resp, self.max_body_bytes).await?;
                Ok::<_, reqwest::Error>((status, body))
            }
            .instrument(span.clone())
            .await;
            let latency_ms = started.elapsed().as_millis() as u64;
            span.record("latency_ms", latency_ms);
            match outcome {
                Err(e) => {
                    let retry = failure_of(&e).is_some_and(|f| f.is_retryable(self.op.retry_safe));
                    span.in_scope(|| {
                        tracing::debug!(
                            latency_ms,
                            timeout = e.is_timeout(),
                            connect = e.is_connect(),
                            "attempt failed"
                        )
                    });
                    if retry
                        && !last
                        && let Some(wait) = self.policy.delay(attempt + 1, None, None)
                    {
                        tokio::time::sleep(wait).await;
                        continue;
                    }
                    return Err(e);
                }
                Ok((status, Err(too_large))) => {
                    let _ = status;
                    return self.fail(too_large);
                }
                Ok((status, Ok((parts, body)))) => {
                    span.in_scope(|| tracing::debug!(status, latency_ms, "attempt done"));
                    if RetryPolicy::retryable_status(status, self.op.retry_safe) && !last {
                        let retry_after = parts
                            .headers
                            .get(reqwest::header::RETRY_AFTER)
                            .and_then(|v| v.to_str().ok())
                            .and_then(|v| parse_retry_after(v, SystemTime::now()));
                        if let Some(wait) =
                            self.policy.delay(attempt + 1, Some(status), retry_after)
                        {
                            span.in_scope(|| {
                                tracing::debug!(wait_ms = wait.as_millis() as u64, "retrying")
                            });
                            tokio::time::sleep(wait).await;
                            continue;
                        }
                    }
                    {
                        let mut seen = self.seen();
                        seen.status = Some(status);
                        seen.body = Some(body.clone());
                        seen.content_type = parts
                            .headers
                            .get(reqwest::header::CONTENT_TYPE)
                            .and_then(|v| v.to_str().ok())
                            .map(str::to_string);
                    }
                    if let Some(hook) = &self.hook
                        && let Err(e) = hook.verify(status, &parts.headers, &body)
                    {
                        return self.fail(e.with_status(Some(status)));
                    }
                    return Ok(synthetic(status, body, parts.headers, Some(parts.url)));
                }
            }
        }
    }
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
    // A body that arrives in one chunk (the usual small JSON answer) is kept as it is.
    let mut first: Option<bytes::Bytes> = None;
    let mut buf = bytes::BytesMut::new();
    while let Some(chunk) = resp.chunk().await? {
        let so_far = first.as_ref().map_or(buf.len(), bytes::Bytes::len);
        if so_far + chunk.len() > max {
            return Ok(Err(too_large(max)));
        }
        if first.is_none() && buf.is_empty() {
            first = Some(chunk);
            continue;
        }
        if let Some(first) = first.take() {
            buf.extend_from_slice(&first);
        }
        buf.extend_from_slice(&chunk);
    }
    let body = first.unwrap_or_else(|| buf.freeze());
    Ok(Ok((Parts { headers, url }, body)))
}

/// The retry class of a transport error: `None` for failures no retry can fix (TLS, a
/// refused redirect, a request that could not be built).
fn failure_of(e: &reqwest::Error) -> Option<Failure> {
    if e.is_connect() && !e.is_timeout() {
        Some(Failure::Unsent)
    } else if e.is_timeout() || e.is_body() || e.is_decode() {
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
fn synthetic(
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

impl Transport for Call {
    fn execute<'a>(
        &'a self,
        client: &'a reqwest::Client,
        request: reqwest::Request,
        _operation_id: &'static str,
    ) -> ResponseFuture<'a> {
        Box::pin(self.run(client, request))
    }
}

/// What a provider client shares between calls.
pub(crate) struct Core {
    pub config: Config,
    /// The retry policy in force: the configuration's, else the provider's default.
    pub policy: RetryPolicy,
    pub hook: Option<Arc<dyn AttemptHook>>,
}

impl std::fmt::Debug for Core {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Core").field("config", &self.config).finish_non_exhaustive()
    }
}

impl Core {
    /// A core for `config`; `default_policy` applies when the configuration sets none.
    pub fn new(config: Config, default_policy: RetryPolicy) -> Self {
        let policy = config.retry.clone().unwrap_or(default_policy);
        Self { config, policy, hook: None }
    }

    /// Runs one generated operation through a fresh [`Call`]. `body_secrets` are the
    /// credentials in the request body (a password, a refresh token, bunq's `secret`): with
    /// the values of the sensitive headers the call sends, they are scrubbed from its error.
    /// `send` gets the hooks to build a generated client with (plus the shared
    /// `reqwest::Client` and base URL); `api_error` turns a typed error body into the
    /// provider's [`ApiError`]; `open` turns the typed success into the caller's value (a Vlens
    /// envelope's `data`, a bunq `Response` array), and its errors are finished like the
    /// others: provider, operation, attempts, retry safety, and credentials scrubbed.
    pub async fn call<T, E, U, Fut>(
        &self,
        op: Op,
        body_secrets: &[&Secret],
        send: impl FnOnce(Hooks, reqwest::Client, String) -> Fut,
        api_error: impl FnOnce(u16, &HeaderMap, E) -> ApiError,
        open: impl FnOnce(ResponseValue<T>) -> Result<U, Error>,
    ) -> Result<U, Error>
    where
        Fut: std::future::Future<Output = Result<ResponseValue<T>, progenitor_client::Error<E>>>,
    {
        let call = Arc::new(Call {
            provider: self.config.provider,
            op,
            policy: self.policy.clone(),
            max_body_bytes: self.config.max_body_bytes,
            hook: self.hook.clone(),
            seen: Mutex::new(Seen::default()),
        });
        let hooks = Hooks::new(call.clone());
        let result = send(hooks, self.config.http.clone(), self.config.base_url.clone()).await;
        let mut seen = std::mem::take(&mut *call.seen());
        let mut scrubber = std::mem::take(&mut seen.sent);
        for secret in body_secrets {
            scrubber.add(secret.expose());
        }
        if let Some(key) = &self.config.api_key {
            scrubber.add(key.expose());
        }
        let provider = self.config.provider;
        let attempts = seen.attempts;
        let finish = |e: Error| {
            e.at(provider, op.name)
                .with_attempts(attempts)
                .with_retry_safety(op.retry_safe)
                .scrubbed(&scrubber)
        };
        if let Some(failure) = seen.failure.take() {
            return Err(finish(failure));
        }
        match result {
            Ok(v) => open(v).map_err(finish),
            Err(e) => Err(finish(convert(e, &mut seen, api_error))),
        }
    }
}

/// A generated client's error as the facade's, with what the transport saw.
fn convert<E>(
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
            .with_excerpt(&body, seen.content_type.as_deref()),
        P::UnexpectedResponse(resp) => {
            let status = resp.status().as_u16();
            let body = seen.body.take().unwrap_or_default();
            Error::new(ErrorKind::UnexpectedResponse)
                .with_status(Some(status))
                .with_message(if (300..400).contains(&status) {
                    "a redirect, not followed (credentials stay with the configured host)"
                } else {
                    "undocumented status"
                })
                .with_excerpt(&body, seen.content_type.as_deref())
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

    /// Issue 13, finding 7: a body that cannot be cloned was sent as it was, skipping the
    /// signing hook, the size cap and the response check. It is refused, and nothing is sent.
    #[tokio::test]
    async fn streamed_request_bodies_are_refused_and_never_sent() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let config = Config::builder(Provider::Bunq).base_url(&base).build().unwrap();
        let core = Core::new(config, RetryPolicy::default());
        let op = Op::idempotent("upload");
        let result: Result<(), Error> = core
            .call(
                op,
                &[],
                |hooks, http, base| async move {
                    let chunks = vec![Ok::<_, std::io::Error>(bytes::Bytes::from_static(b"x"))];
                    let body = reqwest::Body::wrap_stream(futures::stream::iter(chunks));
                    let request = http.post(format!("{base}/upload")).body(body).build().unwrap();
                    let resp = hooks
                        .exec(&http, request, "upload")
                        .await
                        .map_err(progenitor_client::Error::<()>::CommunicationError)?;
                    Ok(ResponseValue::new((), resp.status(), resp.headers().clone()))
                },
                |_, _, ()| ApiError::new(crate::Reason::Other, None, None),
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
                        Answer::Refused => unreachable!(),
                    };
                    let _ = socket.write_all(reply.as_bytes()).await;
                });
            }
        });
        base
    }

    async fn fail_once(base: &str, op: Op, attempts: u32) -> Error {
        let policy = RetryPolicy::none()
            .max_attempts(attempts)
            .initial_backoff(Duration::ZERO)
            .jitter(false);
        let config = Config::builder(Provider::Vlens)
            .base_url(base)
            .timeout(Duration::from_millis(300))
            .retry(policy)
            .build()
            .unwrap();
        let core = Core::new(config, RetryPolicy::default());
        let result: Result<(), Error> = core
            .call(
                op,
                &[],
                |hooks, http, base| async move {
                    let request = http.get(format!("{base}/x")).build().unwrap();
                    let resp = hooks
                        .exec(&http, request, op.name)
                        .await
                        .map_err(progenitor_client::Error::<()>::CommunicationError)?;
                    if resp.status().is_success() {
                        resp.bytes().await.map_err(progenitor_client::Error::ResponseBodyError)?;
                        return Ok(ResponseValue::new((), http::StatusCode::OK, HeaderMap::new()));
                    }
                    Err(progenitor_client::Error::UnexpectedResponse(resp))
                },
                |_, _, ()| ApiError::new(crate::Reason::Other, None, None),
                |_| Ok(()),
            )
            .await;
        result.unwrap_err()
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
            Answer::Status(429),
            Answer::Status(500),
            Answer::Status(502),
            Answer::Status(503),
            Answer::Status(504),
            Answer::Status(400),
            Answer::Status(401),
        ];
        for op in [Op::idempotent("safe_op"), Op::once("create_op")] {
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
                    Answer::Silent | Answer::BodyCut | Answer::Status(502..=504) => op.retry_safe,
                    _ => false,
                };
                assert_eq!(repeated, expected, "{op:?} {answer:?}: {twice:?}");
            }
        }
    }
}
