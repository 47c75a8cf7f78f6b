//! The sandbox as tests use it: started with a short bunq session interval, and questions about
//! what it received ("how many `POST /device-server`?") answered from its request record.

use std::time::Duration;

use chrono::{DateTime, Utc};
use embed_sessions_sandbox::{BUNQ_PREFIX, Canned, RecordedRequest, Sandbox, Target};

/// A sandbox on a free loopback port whose bunq allows a `/session-server` call every 10 ms per
/// address (bunq's 30 s would make every test that opens two contexts wait), with room for
/// 5,000 recorded requests.
pub async fn start() -> Sandbox {
    Sandbox::builder()
        .bunq_session_interval(Duration::from_millis(10))
        .capacity(5_000)
        .start()
        .await
        .expect("the sandbox starts on a free loopback port")
}

/// A bunq path as a route: `/bunq/v1/user/1364/notification-filter-url?x` ->
/// `/user/{id}/notification-filter-url`.
pub fn bunq_route(path: &str) -> String {
    let path = path.split('?').next().unwrap_or_default();
    embed_sessions_sandbox::bunq_route(path.strip_prefix(BUNQ_PREFIX).unwrap_or(path))
}

/// The bunq requests it recorded for `"METHOD /route"` (routes as [`bunq_route`] writes them,
/// e.g. `"GET /user/{id}/notification-filter-url"`), oldest first.
pub fn bunq_requests(sb: &Sandbox, route: &str) -> Vec<RecordedRequest> {
    sb.requests()
        .into_iter()
        .filter(|r| {
            r.provider == "bunq" && format!("{} {}", r.method, bunq_route(&r.path)) == route
        })
        .collect()
}

/// How many bunq requests for `"METHOD /route"` it received.
pub fn bunq_hits(sb: &Sandbox, route: &str) -> usize {
    bunq_requests(sb, route).len()
}

/// When each bunq request for `"METHOD /route"` arrived (sandbox clock, millisecond precision).
pub fn bunq_hit_times(sb: &Sandbox, route: &str) -> Vec<DateTime<Utc>> {
    bunq_requests(sb, route)
        .iter()
        .map(|r| DateTime::parse_from_rfc3339(&r.at).expect("RFC 3339 times").with_timezone(&Utc))
        .collect()
}

/// How many requests a provider (`vlens`, `vlens-app`, `vrplatform`, `bunq`) received.
pub fn hits_of(sb: &Sandbox, provider: &str) -> usize {
    sb.requests().iter().filter(|r| r.provider == provider).count()
}

/// The bunq requests that were not answered 2xx, as `"METHOD /route: status"`: empty when
/// every request passed the sandbox's checks (headers, request id, signature, schema).
pub fn bunq_refusals(sb: &Sandbox) -> Vec<String> {
    sb.requests()
        .iter()
        .filter(|r| r.provider == "bunq" && !(200..300).contains(&r.status))
        .map(|r| format!("{} {}: {}", r.method, bunq_route(&r.path), r.status))
        .collect()
}

/// A bunq error answer (`{"Error": [...]}`, with an `X-Bunq-Client-Response-Id` starting
/// `resp-`) for [`Sandbox::respond`].
pub fn bunq_error(status: u16, description: &str) -> Canned {
    bunq_raw(status, "application/json", crate::bunq::error_body(description).to_string())
}

/// Any bunq answer (with an `X-Bunq-Client-Response-Id` starting `resp-`) for
/// [`Sandbox::respond`].
pub fn bunq_raw(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Canned {
    let mut canned = Canned::raw(status, content_type, body);
    canned
        .headers
        .push(("x-bunq-client-response-id".into(), format!("resp-{}", uuid::Uuid::new_v4())));
    canned
}

/// Answers the next `times` bunq requests whose path (after `/bunq/v1`) starts with
/// `path_prefix` with `canned`.
pub fn bunq_respond(sb: &Sandbox, path_prefix: &str, canned: Canned, times: u32) {
    sb.respond(Target::Bunq, Some(path_prefix), canned, Some(times));
}
