//! Fault injection: each provider's main call against the offline sandbox
//! (`embed-sessions-sandbox`), switched to misbehave in one way per test (its faults and canned
//! answers); after a fault that is switched on for one request, the sandbox answers as the
//! provider would. Every fault ends in the documented typed error (or success after bounded
//! retries) with the attempt count asserted; none hangs or panics.
//!
//! Memory bound: response bodies are capped at `max_body_bytes` (2 MiB by default, 64 KiB in
//! these tests); a 10 MiB body is rejected with `ErrorKind::BodyTooLarge` while streaming,
//! never buffered whole.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use embed_sessions::{Config, Error, ErrorKind, RetryPolicy};
use embed_sessions_sandbox::{Action, Canned, Fault, Sandbox, Target as Provider};
use embed_sessions_testkit::sandbox::hits_of;

const TIMEOUT: Duration = Duration::from_millis(400);

type Call = fn(String, RetryPolicy) -> Pin<Box<dyn Future<Output = Result<(), Error>>>>;

fn config<P: embed_sessions::Provider>(provider: P, base: &str, retry: RetryPolicy) -> Config<P> {
    Config::builder(provider)
        .api_key("fault-test-key")
        .base_url(base)
        .timeout(TIMEOUT)
        .connect_timeout(TIMEOUT)
        .max_body_bytes(64 * 1024)
        .retry(retry)
        // The timings asserted here are the transport's alone, not a rate budget's waits.
        .rate_limits(&[])
        .build()
        .unwrap()
}

fn vlens(base: String, retry: RetryPolicy) -> Pin<Box<dyn Future<Output = Result<(), Error>>>> {
    Box::pin(async move {
        let client = embed_sessions::vlens::VlensClient::new(config(
            embed_sessions::vlens::Vlens,
            &base,
            retry,
        ))?;
        client.auth_session().email("user@example.com").send().await.map(|_| ())
    })
}

fn vrplatform(
    base: String,
    retry: RetryPolicy,
) -> Pin<Box<dyn Future<Output = Result<(), Error>>>> {
    Box::pin(async move {
        let client = embed_sessions::vrplatform::VrPlatformClient::new(config(
            embed_sessions::vrplatform::VrPlatform,
            &base,
            retry,
        ))?;
        client
            .embed_session()
            .sub("user-1")
            .tenant_id("4f8f94de-2cc0-4ec7-a7f8-f0c7f560e59a")
            .send()
            .await
            .map(|_| ())
    })
}

fn bunq(base: String, retry: RetryPolicy) -> Pin<Box<dyn Future<Output = Result<(), Error>>>> {
    Box::pin(async move {
        // The main call: a new API context (installation, device, session). Server signatures
        // are checked only on 2xx answers after installation; the faults here never get that far.
        let client = embed_sessions::bunq::BunqClient::without_key(config(
            embed_sessions::bunq::Bunq,
            &base,
            retry,
        ))?;
        client.create_context("fault-test-key").await.map(|_| ())
    })
}

/// A provider's main call. After a one-off fault the sandbox answers as the provider, so every
/// call can recover (bunq's is a signed three-step exchange: installation, device, session).
struct Target {
    name: &'static str,
    provider: Provider,
    call: Call,
    /// Whether the call is repeated after an uncertain failure (timeout, 502-504).
    retry_safe: bool,
}

/// Each provider's main call.
const CALLS: &[Target] = &[
    Target { name: "vlens", provider: Provider::Vlens, call: vlens, retry_safe: true },
    Target {
        name: "vrplatform",
        provider: Provider::Vrplatform,
        call: vrplatform,
        retry_safe: true,
    },
    Target { name: "bunq", provider: Provider::Bunq, call: bunq, retry_safe: false },
];

/// What the sandbox does instead of answering.
enum Step {
    /// This answer, as given.
    Answer(Canned),
    /// A misbehaving connection (reset, silence, a body that never ends).
    Fault(Action),
}

/// How long a faulty step lasts.
#[derive(Clone, Copy)]
enum Then {
    /// Every request gets it.
    Always,
    /// The first request gets it, the next ones the sandbox's normal answer.
    Recover,
}

/// The sandbox with `step` switched on for the target's provider; its base URL for the target.
async fn sandbox(target: &Target, step: Step, then: Then) -> (Sandbox, String) {
    let sb = embed_sessions_testkit::sandbox::start().await;
    let times = match then {
        Then::Always => None,
        Then::Recover => Some(1),
    };
    match step {
        Step::Answer(canned) => sb.respond(target.provider, None, canned, times),
        Step::Fault(action) => {
            sb.add_fault(target.provider, Fault::action(action), times);
        }
    }
    let urls = sb.urls();
    let base = match target.provider {
        Provider::Vlens => urls.vlens.clone(),
        Provider::Vrplatform => urls.vrplatform.clone(),
        _ => urls.bunq.clone(),
    };
    (sb, base)
}

/// The provider's name in the sandbox's request record.
fn recorded_name(target: &Target) -> &'static str {
    match target.provider {
        Provider::Vlens => "vlens",
        Provider::Vrplatform => "vrplatform",
        _ => "bunq",
    }
}

/// How long ago the sandbox recorded its first request (timed from the request's arrival:
/// bunq generates its RSA key before sending).
fn since_first_request(sb: &Sandbox) -> Duration {
    let first = sb.requests().first().map(|r| r.at.clone()).expect("a request arrived");
    let at = chrono::DateTime::parse_from_rfc3339(&first).unwrap();
    (chrono::Utc::now() - at.with_timezone(&chrono::Utc)).to_std().unwrap_or_default()
}

/// An HTML error page, as proxies send.
fn html(status: u16) -> Canned {
    let page =
        format!("<html><body><h1>{status} Bad Gateway</h1><p>upstream down</p></body></html>");
    Canned::raw(status, "text/html", page)
}

/// A canned answer with one more header.
fn with_header(mut canned: Canned, name: &str, value: &str) -> Canned {
    canned.headers.push((name.into(), value.into()));
    canned
}

/// A loopback URL where nothing listens.
async fn refused_url() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}")
}

fn fast() -> RetryPolicy {
    RetryPolicy::default()
        .initial_backoff(Duration::from_millis(5))
        .max_backoff(Duration::from_millis(20))
}

/// Runs the target's call against the sandbox with `step` on: result, requests the provider
/// received, time taken.
async fn run(
    target: &Target,
    step: Step,
    then: Then,
    retry: RetryPolicy,
) -> (Result<(), Error>, usize, Duration) {
    let (sb, base) = sandbox(target, step, then).await;
    let started = Instant::now();
    let result = (target.call)(base, retry).await;
    (result, hits_of(&sb, recorded_name(target)), started.elapsed())
}

#[tokio::test]
async fn connection_refused_is_retried_then_a_connect_error() {
    // Nothing was sent: every operation may be repeated.
    for Target { name, call, .. } in CALLS {
        let e = call(refused_url().await, fast()).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Connect, "{name}: {e}");
        assert_eq!(e.attempts(), 3, "{name}");
        assert!(e.is_retryable());
    }
}

#[tokio::test]
async fn a_reset_mid_body_is_a_transport_error_after_bounded_retries() {
    for target @ Target { name, retry_safe, .. } in CALLS {
        let (r, hits, _) = run(target, Step::Fault(Action::Reset), Then::Always, fast()).await;
        let e = r.unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::Transport | ErrorKind::Connect), "{name}: {e:?}");
        // The request may have been processed: only operations safe to repeat are.
        let attempts = if *retry_safe { 3 } else { 1 };
        assert_eq!((hits, e.attempts() as usize), (attempts, attempts), "{name}");
    }
}

#[tokio::test]
async fn silence_times_out_within_one_and_a_half_times_the_timeout() {
    for target @ Target { name, call, retry_safe, .. } in CALLS {
        let (sb, base) = sandbox(target, Step::Fault(Action::Silence), Then::Always).await;
        let result = call(base, RetryPolicy::none()).await;
        let elapsed = since_first_request(&sb);
        let e = result.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Timeout, "{name}: {e}");
        assert!(e.is_timeout());
        // A timeout may have been processed: retryable only for operations safe to repeat.
        assert_eq!(e.is_retryable(), *retry_safe, "{name}");
        assert_eq!(hits_of(&sb, recorded_name(target)), 1);
        let at_least = TIMEOUT - Duration::from_millis(50);
        assert!(elapsed >= at_least && elapsed < TIMEOUT.mul_f64(1.5), "{name}: {elapsed:?}");
    }
}

#[tokio::test]
async fn a_stalled_body_times_out() {
    for target @ Target { name, call, retry_safe, .. } in CALLS {
        let (sb, base) = sandbox(target, Step::Fault(Action::NeverEndingBody), Then::Always).await;
        let r = call(base, fast().max_attempts(2)).await;
        let elapsed = since_first_request(&sb);
        let hits = hits_of(&sb, recorded_name(target));
        let e = r.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Timeout, "{name}: {e}");
        let attempts = if *retry_safe { 2 } else { 1 };
        assert_eq!((hits, e.attempts() as usize), (attempts, attempts), "{name}");
        assert!(elapsed < TIMEOUT.mul_f64(2.0 * 1.5), "{name}: {elapsed:?}");
    }
}

#[tokio::test]
async fn html_5xx_keep_their_status_and_only_502_503_504_are_retried() {
    for target @ Target { name, retry_safe, .. } in CALLS {
        let gateway = if *retry_safe { 3 } else { 1 };
        for (status, attempts) in [(500, 1), (502, gateway), (503, gateway), (504, gateway)] {
            let (r, hits, _) = run(target, Step::Answer(html(status)), Then::Always, fast()).await;
            let e = r.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::UnexpectedResponse, "{name} {status}: {e}");
            assert_eq!(e.status(), Some(status), "{name}");
            assert_eq!((hits, e.attempts() as usize), (attempts, attempts), "{name} {status}");
            assert!(e.body_excerpt().unwrap().contains("Bad Gateway"), "{name}");
        }
        // Recovery after one 503 (a 503 was not processed: every operation is repeated).
        let (r, hits, _) = run(target, Step::Answer(html(503)), Then::Recover, fast()).await;
        if *retry_safe {
            r.unwrap();
            assert_eq!(hits, 2, "{name}");
        } else {
            // bunq's installation is not repeated after a 503: the one attempt is the error.
            assert_eq!((r.unwrap_err().status(), hits), (Some(503), 1), "{name}");
        }
    }
}

#[tokio::test]
async fn too_many_requests_honours_retry_after_in_both_forms() {
    // A 429 was not processed: every operation is retried.
    for target @ Target { name, .. } in CALLS {
        // bunq's call is three requests: installation, device, session.
        let requests = if target.provider == Provider::Bunq { 3 } else { 1 };
        // Still 429 after the last attempt: a typed, retryable error.
        let limited = Canned::raw(429, "text/plain", "");
        let (r, hits, _) = run(target, Step::Answer(limited), Then::Always, fast()).await;
        let e = r.unwrap_err();
        assert_eq!((e.status(), hits), (Some(429), 3), "{name}");
        assert!(e.is_retryable());
        // Without Retry-After: the normal backoff.
        let limited = Canned::raw(429, "text/plain", "slow down");
        let (r, hits, _) = run(target, Step::Answer(limited), Then::Recover, fast()).await;
        r.unwrap();
        assert_eq!(hits, 1 + requests, "{name}");
        // Seconds.
        let limited = with_header(Canned::raw(429, "text/plain", ""), "Retry-After", "1");
        let (r, hits, elapsed) = run(target, Step::Answer(limited), Then::Recover, fast()).await;
        r.unwrap();
        assert_eq!(hits, 1 + requests);
        assert!(elapsed >= Duration::from_secs(1), "{name}: {elapsed:?}");
        // An HTTP date three seconds ahead: whole seconds leave at least two, less the time the
        // sandbox takes to start before the clock below starts: at least 0.9 s of wait.
        let when = httpdate(std::time::SystemTime::now() + Duration::from_secs(3));
        let limited = with_header(Canned::raw(429, "text/plain", ""), "Retry-After", &when);
        let (r, hits, elapsed) = run(target, Step::Answer(limited), Then::Recover, fast()).await;
        r.unwrap();
        assert_eq!(hits, 1 + requests);
        assert!(elapsed >= Duration::from_millis(900), "{name}: {elapsed:?}");
    }
}

fn httpdate(t: std::time::SystemTime) -> String {
    // RFC 7231 IMF-fixdate, computed by hand to keep the test crate's dependencies small.
    let secs = t.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let dt = chrono::DateTime::<chrono::Utc>::from_timestamp(secs as i64, 0).unwrap();
    dt.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

#[tokio::test]
async fn a_redirect_to_another_host_is_not_followed() {
    for target @ Target { name, .. } in CALLS {
        let other = embed_sessions_testkit::sandbox::start().await;
        let location = format!("{}/steal", other.urls().url);
        let redirect = with_header(Canned::raw(302, "text/plain", ""), "Location", &location);
        let (r, hits, _) = run(target, Step::Answer(redirect), Then::Always, fast()).await;
        let e = r.unwrap_err();
        assert_eq!(
            (e.kind(), e.status(), hits),
            (ErrorKind::UnexpectedResponse, Some(302), 1),
            "{name}"
        );
        assert!(e.to_string().contains("redirect"), "{e}");
        assert_eq!(other.requests().len(), 0, "{name}: credentials went to another host");
    }
}

#[tokio::test]
async fn malformed_success_bodies_are_typed_errors() {
    let ten_mib = {
        let mut v = b"{\"data\":\"".to_vec();
        v.extend(std::iter::repeat_n(b'a', 10 * 1024 * 1024));
        v.extend_from_slice(b"\"}");
        v
    };
    for target @ Target { name, .. } in CALLS {
        for (label, body) in [
            ("empty", Vec::new()),
            ("null", b"null".to_vec()),
            ("array", b"[1,2,3]".to_vec()),
            (
                "wrong types",
                br#"{"data": 5, "error_code": "x", "accessToken": 1, "expiresAt": false}"#.to_vec(),
            ),
        ] {
            let answer = Step::Answer(Canned::raw(200, "application/json", body));
            let (r, hits, _) = run(target, answer, Then::Always, fast()).await;
            let e = r.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::UnexpectedResponse, "{name} {label}: {e}");
            assert_eq!((e.status(), hits), (Some(200), 1), "{name} {label}");
        }
        let answer = Step::Answer(Canned::raw(200, "application/json", ten_mib.clone()));
        let (r, hits, _) = run(target, answer, Then::Always, fast()).await;
        let e = r.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::BodyTooLarge, "{name}: {e}");
        assert_eq!(hits, 1);
    }
}
