//! Fault injection: each provider's main call against a loopback server that misbehaves in one
//! way per test. Every fault ends in the documented typed error (or success after bounded
//! retries) with the attempt count asserted; none hangs or panics.
//!
//! Memory bound: response bodies are capped at `max_body_bytes` (2 MiB by default, 64 KiB in
//! these tests); a 10 MiB body is rejected with `ErrorKind::BodyTooLarge` while streaming,
//! never buffered whole.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use embed_sessions::{Config, Error, ErrorKind, RetryPolicy};
use integration_tests::fault::{Fault, FaultServer, refused_url};
use serde_json::json;

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

fn vlens_ok() -> Fault {
    Fault::json(200, &json!({"data": "session-token", "error_code": null}))
}

fn vrplatform_ok() -> Fault {
    Fault::json(
        200,
        &json!({
            "accessToken": "vrp-token", "expiresAt": "2099-04-01T12:00:00.000Z",
            "tenantId": "4f8f94de-2cc0-4ec7-a7f8-f0c7f560e59a",
            "userId": "11111111-1111-4111-8111-111111111111"
        }),
    )
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

/// A provider's main call, with a valid success answer for it where a single canned answer
/// can be one (bunq's needs a signed three-step exchange: its recovery cases live in
/// `crates/embed-sessions/tests/bunq.rs`).
struct Target {
    name: &'static str,
    call: Call,
    ok: Option<fn() -> Fault>,
    /// Whether the call is repeated after an uncertain failure (timeout, 502-504).
    retry_safe: bool,
}

/// Each provider's main call, with a valid success answer for it.
const CALLS: &[Target] = &[
    Target { name: "vlens", call: vlens, ok: Some(vlens_ok), retry_safe: true },
    Target { name: "vrplatform", call: vrplatform, ok: Some(vrplatform_ok), retry_safe: true },
    Target { name: "bunq", call: bunq, ok: None, retry_safe: false },
];

fn fast() -> RetryPolicy {
    RetryPolicy::default()
        .initial_backoff(Duration::from_millis(5))
        .max_backoff(Duration::from_millis(20))
}

async fn run(
    call: Call,
    script: Vec<Fault>,
    retry: RetryPolicy,
) -> (Result<(), Error>, usize, Duration) {
    let server = FaultServer::start(script).await;
    let started = Instant::now();
    let result = call(server.base_url(), retry).await;
    (result, server.hits(), started.elapsed())
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
    for Target { name, call, retry_safe, .. } in CALLS {
        let fault = Fault::ResetMidBody { announced: 400, sent: br#"{"data":"sess"#.to_vec() };
        let (r, hits, _) = run(*call, vec![fault], fast()).await;
        let e = r.unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::Transport | ErrorKind::Connect), "{name}: {e:?}");
        // The request may have been processed: only operations safe to repeat are.
        let attempts = if *retry_safe { 3 } else { 1 };
        assert_eq!((hits, e.attempts() as usize), (attempts, attempts), "{name}");
    }
}

#[tokio::test]
async fn silence_times_out_within_one_and_a_half_times_the_timeout() {
    for Target { name, call, retry_safe, .. } in CALLS {
        let server = FaultServer::start(vec![Fault::NeverAnswer]).await;
        let result = call(server.base_url(), RetryPolicy::none()).await;
        // Timed from the request's arrival: bunq generates its RSA key before sending.
        let elapsed = server.requests()[0].at.elapsed();
        let e = result.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Timeout, "{name}: {e}");
        assert!(e.is_timeout());
        // A timeout may have been processed: retryable only for operations safe to repeat.
        assert_eq!(e.is_retryable(), *retry_safe, "{name}");
        assert_eq!(server.hits(), 1);
        let at_least = TIMEOUT - Duration::from_millis(50);
        assert!(elapsed >= at_least && elapsed < TIMEOUT.mul_f64(1.5), "{name}: {elapsed:?}");
    }
}

#[tokio::test]
async fn a_stalled_body_times_out() {
    for Target { name, call, retry_safe, .. } in CALLS {
        let server = FaultServer::start(vec![Fault::StallBody { body: vec![b' '; 1000] }]).await;
        let r = call(server.base_url(), fast().max_attempts(2)).await;
        // From the first request's arrival (bunq generates its RSA key before sending).
        let elapsed = server.requests()[0].at.elapsed();
        let hits = server.hits();
        let e = r.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Timeout, "{name}: {e}");
        let attempts = if *retry_safe { 2 } else { 1 };
        assert_eq!((hits, e.attempts() as usize), (attempts, attempts), "{name}");
        assert!(elapsed < TIMEOUT.mul_f64(2.0 * 1.5), "{name}: {elapsed:?}");
    }
}

#[tokio::test]
async fn html_5xx_keep_their_status_and_only_502_503_504_are_retried() {
    for Target { name, call, ok, retry_safe } in CALLS {
        let gateway = if *retry_safe { 3 } else { 1 };
        for (status, attempts) in [(500, 1), (502, gateway), (503, gateway), (504, gateway)] {
            let (r, hits, _) = run(*call, vec![Fault::html(status)], fast()).await;
            let e = r.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::UnexpectedResponse, "{name} {status}: {e}");
            assert_eq!(e.status(), Some(status), "{name}");
            assert_eq!((hits, e.attempts() as usize), (attempts, attempts), "{name} {status}");
            assert!(e.body_excerpt().unwrap().contains("Bad Gateway"), "{name}");
        }
        // Recovery after one 503.
        let Some(ok) = ok else { continue };
        let (r, hits, _) = run(*call, vec![Fault::html(503), ok()], fast()).await;
        r.unwrap();
        assert_eq!(hits, 2, "{name}");
    }
}

#[tokio::test]
async fn too_many_requests_honours_retry_after_in_both_forms() {
    // A 429 was not processed: every operation is retried.
    for Target { name, call, ok, .. } in CALLS {
        // Still 429 after the last attempt: a typed, retryable error.
        let (r, hits, _) = run(*call, vec![Fault::raw(429, "text/plain", "")], fast()).await;
        let e = r.unwrap_err();
        assert_eq!((e.status(), hits), (Some(429), 3), "{name}");
        assert!(e.is_retryable());
        let Some(ok) = ok else { continue };
        // Without Retry-After: the normal backoff.
        let (r, hits, _) =
            run(*call, vec![Fault::raw(429, "text/plain", "slow down"), ok()], fast()).await;
        r.unwrap();
        assert_eq!(hits, 2, "{name}");
        // Seconds.
        let limited = Fault::raw(429, "text/plain", "").with_header("Retry-After", "1");
        let (r, hits, elapsed) = run(*call, vec![limited, ok()], fast()).await;
        r.unwrap();
        assert_eq!(hits, 2);
        assert!(elapsed >= Duration::from_secs(1), "{name}: {elapsed:?}");
        // An HTTP date two seconds ahead (whole seconds: at least one second of wait).
        let when = httpdate(std::time::SystemTime::now() + Duration::from_secs(2));
        let limited = Fault::raw(429, "text/plain", "").with_header("Retry-After", &when);
        let (r, hits, elapsed) = run(*call, vec![limited, ok()], fast()).await;
        r.unwrap();
        assert_eq!(hits, 2);
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
    for Target { name, call, .. } in CALLS {
        let other = FaultServer::start(vec![Fault::json(200, &json!({}))]).await;
        let redirect = Fault::raw(302, "text/plain", "")
            .with_header("Location", &format!("{}/steal", other.base_url()));
        let (r, hits, _) = run(*call, vec![redirect], fast()).await;
        let e = r.unwrap_err();
        assert_eq!(
            (e.kind(), e.status(), hits),
            (ErrorKind::UnexpectedResponse, Some(302), 1),
            "{name}"
        );
        assert!(e.to_string().contains("redirect"), "{e}");
        assert_eq!(other.hits(), 0, "{name}: credentials went to another host");
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
    for Target { name, call, .. } in CALLS {
        for (label, body) in [
            ("empty", Vec::new()),
            ("null", b"null".to_vec()),
            ("array", b"[1,2,3]".to_vec()),
            (
                "wrong types",
                br#"{"data": 5, "error_code": "x", "accessToken": 1, "expiresAt": false}"#.to_vec(),
            ),
        ] {
            let (r, hits, _) =
                run(*call, vec![Fault::raw(200, "application/json", body)], fast()).await;
            let e = r.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::UnexpectedResponse, "{name} {label}: {e}");
            assert_eq!((e.status(), hits), (Some(200), 1), "{name} {label}");
        }
        let (r, hits, _) =
            run(*call, vec![Fault::raw(200, "application/json", ten_mib.clone())], fast()).await;
        let e = r.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::BodyTooLarge, "{name}: {e}");
        assert_eq!(hits, 1);
    }
}
