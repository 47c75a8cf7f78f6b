//! The fuzz harness (feature `fuzzing`; `fuzz/` runs it under libFuzzer, the regression tests
//! replay its inputs). Each function takes arbitrary bytes, runs one decoder of this crate
//! the way a real call runs it (the request answered in process with those bytes, through the
//! same transport, bounds, hooks, generated decoding and error mapping) and renders what
//! comes out. None may panic, hang or allocate without bound; that is the whole contract.
//! Each returns whether the input decoded into a value (for the tests that check the harness
//! reaches the success paths).
//!
//! Inputs that drive a provider call start with selector bytes (status, content type, which
//! operation or step), then the body.

use std::cell::RefCell;
use std::sync::Arc;

use crate::core::config::Responder;
use crate::core::inbound::{Confirmation, DEFAULT_MAX_EVENT_BYTES, parse_event};
use crate::{Config, Error, RetryPolicy};

/// Statuses a selector byte picks from: the documented ones and some that are not.
const STATUSES: &[u16] =
    &[200, 200, 200, 201, 204, 302, 400, 401, 403, 404, 422, 429, 466, 490, 491, 500, 502, 503];
/// Content types a selector byte picks from (`None`: no header).
const CONTENT_TYPES: &[Option<&str>] = &[
    Some("application/json"),
    Some("application/json; charset=utf-8"),
    Some("text/html"),
    Some("text/plain"),
    None,
];

const TENANT: &str = "4f8f94de-2cc0-4ec7-a7f8-f0c7f560e59a";
/// The id of the spec's business request example (the harness asks for it).
const REQUEST_ID: &str = "3fa85f64-5717-4562-b3fc-2c963f66afa6";

/// Reads selector bytes off the front of an input.
struct Input<'a>(&'a [u8]);

impl<'a> Input<'a> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((b, rest)) => {
                self.0 = rest;
                *b
            }
            None => 0,
        }
    }

    fn pick<T: Copy>(&mut self, from: &[T]) -> T {
        from[usize::from(self.byte()) % from.len()]
    }

    fn rest(self) -> &'a [u8] {
        self.0
    }
}

/// One in-process answer: status, headers, body.
#[derive(Clone, Default)]
struct Answer {
    status: u16,
    headers: Vec<(&'static str, Vec<u8>)>,
    body: Vec<u8>,
}

impl Answer {
    fn new(status: u16, content_type: Option<&str>, body: &[u8]) -> Self {
        let mut headers = Vec::new();
        if let Some(ct) = content_type {
            headers.push(("content-type", ct.as_bytes().to_vec()));
        }
        Self { status, headers, body: body.to_vec() }
    }

    fn json(body: &str) -> Self {
        Self::new(200, Some("application/json"), body.as_bytes())
    }

    /// The response, as the transport builds the one it hands the generated client.
    fn response(&self) -> reqwest::Response {
        let mut headers = http::HeaderMap::new();
        for (name, value) in &self.headers {
            // A header value the fuzzer made invalid is left out, as a server could not send it.
            if let Ok(v) = http::HeaderValue::from_bytes(value) {
                headers.insert(*name, v);
            }
        }
        crate::core::transport::synthetic(self.status, self.body.clone().into(), headers, None)
    }
}

type Router = Box<dyn Fn(&reqwest::Request) -> Answer>;

thread_local! {
    /// What this thread's requests are answered with (set before each call).
    static ROUTER: RefCell<Router> = RefCell::new(Box::new(|_| Answer::default()));
    static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap_or_else(|e| panic!("the fuzz harness needs a runtime: {e}"));
    static HTTP: reqwest::Client = reqwest::Client::new();
}

fn answer_with(router: impl Fn(&reqwest::Request) -> Answer + 'static) {
    ROUTER.with(|r| *r.borrow_mut() = Box::new(router));
}

/// `[status][content type][operation]body`: every request of the call is answered with that
/// status, content type and body; returns the operation selector (`0..operations`).
fn answer_every_request(data: &[u8], operations: u8) -> u8 {
    let mut input = Input(data);
    let (status, ct, op) =
        (input.pick(STATUSES), input.pick(CONTENT_TYPES), input.byte() % operations);
    let answer = Answer::new(status, ct, input.rest());
    answer_with(move |_| answer.clone());
    op
}

fn responder() -> Responder {
    Arc::new(|req| ROUTER.with(|r| (r.borrow())(req)).response())
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    RUNTIME.with(|rt| rt.block_on(f))
}

/// A configuration whose requests this thread answers: no retries, no rate limits.
fn config<P: crate::Provider>(provider: P, key: &str) -> Config<P> {
    Config::builder(provider)
        .api_key(key)
        .base_url("http://127.0.0.1:9")
        .retry(RetryPolicy::none())
        .rate_limits(&[])
        .max_body_bytes(64 * 1024)
        .http_client(HTTP.with(Clone::clone))
        .respond_with(responder())
        .build()
        .unwrap_or_else(|e| panic!("the fuzz configuration is valid: {e}"))
}

/// Renders an error every way a caller can.
fn render(e: &Error) {
    let _ = (e.to_string(), format!("{e:?}"), e.hint(), e.provider_message(), e.body_excerpt());
    let _ = (e.kind(), e.status(), e.reason(), e.is_retryable(), e.api_error());
}

fn render_result<T>(r: Result<T, Error>) -> bool {
    match r {
        Ok(_) => true,
        Err(e) => {
            render(&e);
            false
        }
    }
}

/// Vlens: `[status][content type][operation]body` answers an auth session, the template
/// fields or a business request read (envelope opening, error-code mapping).
pub fn vlens_response(data: &[u8]) -> bool {
    use crate::vlens::{Vlens, VlensClient};
    thread_local! {
        static CLIENT: VlensClient = VlensClient::new(config(Vlens, "fuzz-vlens-key"))
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let op = answer_every_request(data, 3);
    let client = CLIENT.with(Clone::clone);
    block_on(async {
        match op {
            0 => render_result(client.auth_session().email("a@b.co").send().await),
            1 => render_result(client.template_fields(414).await),
            _ => render_result(client.business_request(REQUEST_ID).await),
        }
    })
}

/// VRPlatform: `[status][content type][operation]body` answers an embed session or a team
/// read (error bodies in both documented forms, reason matching on the message).
pub fn vrplatform_response(data: &[u8]) -> bool {
    use crate::vrplatform::{VrPlatform, VrPlatformClient};
    thread_local! {
        static CLIENT: VrPlatformClient =
            VrPlatformClient::new(config(VrPlatform, "fuzz-vrp-key")).unwrap_or_else(|e| panic!("{e}"));
    }
    let op = answer_every_request(data, 2);
    let client = CLIENT.with(Clone::clone);
    block_on(async {
        match op {
            0 => render_result(client.embed_session().sub("u").tenant_id(TENANT).send().await),
            _ => render_result(client.team(TENANT).await),
        }
    })
}

const INSTALLATION: &str = include_str!("fuzzing/installation.json");
const DEVICE: &str = r#"{"Response":[{"Id":{"id":1}}]}"#;
const SESSION: &str = include_str!("fuzzing/session.json");

/// A stored bunq context (installed, with a device), made once per thread through the
/// in-process answers; and two clients: signature check off, and on.
struct BunqFixture {
    unchecked: crate::bunq::BunqClient,
    checked: crate::bunq::BunqClient,
    stored: crate::bunq::StoredContext,
}

fn bunq_fixture() -> BunqFixture {
    use crate::bunq::{Bunq, BunqClient};
    let checked = BunqClient::new(config(Bunq, "fuzz-bunq-key"))
        .unwrap_or_else(|e| panic!("{e}"))
        .with_session_interval(std::time::Duration::ZERO);
    let unchecked =
        checked.clone().with_server_signature_check(false).unwrap_or_else(|e| panic!("{e}"));
    answer_with(|req| match req.url().path() {
        p if p.ends_with("/installation") => Answer::json(INSTALLATION),
        p if p.ends_with("/device-server") => Answer::json(DEVICE),
        _ => Answer::json(SESSION),
    });
    let stored = block_on(async {
        let ctx = unchecked.create_context("fuzz-bunq-key").await?;
        Ok::<_, Error>(ctx.snapshot().await)
    })
    .unwrap_or_else(|e| panic!("the bunq fixture context: {e}"));
    BunqFixture { unchecked, checked, stored }
}

/// bunq: `[status][content type][step]body`. Steps: 0 the session-server answer (the
/// `Response` array matched by key, the user kinds), 1 the URL notification filters, 2 a
/// payment read confirming a callback, 3 the session-server answer with the server signature
/// checked and `body` as the `X-Bunq-Server-Signature` value over the documented answer.
pub fn bunq_response(data: &[u8]) -> bool {
    thread_local! {
        static FIXTURE: BunqFixture = bunq_fixture();
    }
    let mut input = Input(data);
    let (status, ct, step) = (input.pick(STATUSES), input.pick(CONTENT_TYPES), input.byte() % 4);
    let body = input.rest().to_vec();
    let (client, stored) = FIXTURE.with(|f| {
        (if step == 3 { f.checked.clone() } else { f.unchecked.clone() }, f.stored.clone())
    });
    let answer = match step {
        3 => {
            let mut a = Answer::json(SESSION);
            a.headers.push(("x-bunq-server-signature", body));
            a
        }
        _ => Answer::new(status, ct, &body),
    };
    answer_with(move |req| {
        let fuzzed = match step {
            0 | 3 => req.url().path().ends_with("/session-server"),
            _ => !req.url().path().ends_with("/session-server"),
        };
        if fuzzed { answer.clone() } else { Answer::json(SESSION) }
    });
    block_on(async {
        let ctx = match client.restore(stored) {
            Ok(c) => c,
            Err(e) => {
                render(&e);
                return false;
            }
        };
        match step {
            0 | 3 => render_result(ctx.renew_session().await),
            1 => render_result(ctx.notification_filters_url().await),
            _ => {
                let callback = crate::bunq::events::parse(
                    &http::HeaderMap::new(),
                    br#"{"NotificationUrl":{"category":"PAYMENT","event_type":"PAYMENT_CREATED","object":{"Payment":{"id":42,"monetary_account_id":7}}}}"#,
                );
                match callback {
                    Ok(c) => render_result(
                        ctx.confirm_callback(&c).await.map(|c: Confirmation<_>| c.is_confirmed()),
                    ),
                    Err(e) => {
                        render(&e);
                        false
                    }
                }
            }
        }
    })
}

/// `Retry-After` values: seconds or an HTTP date, as text.
pub fn retry_after(data: &[u8]) -> bool {
    let text = String::from_utf8_lossy(data);
    crate::core::retry::parse_retry_after(&text, std::time::SystemTime::now()).is_some()
}

/// The body excerpt and redaction: `[mode]body` (success or error body, content type), then
/// the scrubber with a secret taken from the body.
pub fn excerpt(data: &[u8]) -> bool {
    let mut input = Input(data);
    let mode = input.byte();
    let body = input.rest();
    let ct = CONTENT_TYPES[usize::from(mode >> 1) % CONTENT_TYPES.len()];
    let mut text = crate::core::redact::excerpt(body, mode & 1 == 0, ct);
    let mut scrubber = crate::core::redact::Scrubber::default();
    let secret = String::from_utf8_lossy(&body[..body.len().min(usize::from(mode % 24))]);
    scrubber.add(&secret);
    scrubber.scrub_in_place(&mut text);
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(mut v) => {
            crate::core::redact::redact_json(&mut v);
            scrubber.scrub_json(&mut v);
            true
        }
        Err(_) => false,
    }
}

/// Inbound events: `[provider]body` through the Vlens or bunq parser (with a content type
/// and a declared length taken from the body's own size), then the dedupe key and the JSON.
pub fn event(data: &[u8]) -> bool {
    let mut input = Input(data);
    let which = input.byte();
    let body = input.rest();
    let mut headers = http::HeaderMap::new();
    headers.insert(http::header::CONTENT_LENGTH, http::HeaderValue::from(body.len()));
    if which & 2 == 0 {
        headers
            .insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
    }
    let limit = if which & 4 == 0 { DEFAULT_MAX_EVENT_BYTES } else { 64 };
    if which & 1 == 0 {
        match parse_event::<crate::vlens::events::VlensEvent>(&headers, body, limit) {
            Ok(e) => {
                let _ = (e.dedupe_key(), serde_json::to_string(&e), format!("{e:?}"));
                true
            }
            Err(e) => {
                render(&e);
                false
            }
        }
    } else {
        match parse_event::<crate::bunq::events::BunqCallback>(&headers, body, limit) {
            Ok(c) => {
                let _ = (c.dedupe_key(), serde_json::to_string(&c), c.object().summary());
                true
            }
            Err(e) => {
                render(&e);
                false
            }
        }
    }
}

/// A bunq context file's bytes: parsed, then restored into a context (keys checked).
pub fn bunq_context_file(data: &[u8]) -> bool {
    thread_local! {
        static CLIENT: crate::bunq::BunqClient =
            crate::bunq::BunqClient::without_key(config(crate::bunq::Bunq, "fuzz-bunq-key"))
                .unwrap_or_else(|e| panic!("{e}"));
    }
    match crate::bunq::StoredContext::from_json(data) {
        Ok(stored) => {
            let _ =
                (stored.environment(), stored.session(), stored.device_id(), format!("{stored:?}"));
            render_result(CLIENT.with(|c| c.restore(stored)))
        }
        Err(e) => {
            render(&e);
            false
        }
    }
}
