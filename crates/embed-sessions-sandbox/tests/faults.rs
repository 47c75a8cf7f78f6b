//! Each fault kind, from the library, the `X-Sandbox-Fault` header and `POST /_sandbox/faults`.

use std::time::{Duration, Instant};

use embed_sessions_sandbox::{Action, Canned, Fault, Sandbox, Target};
use serde_json::{Value, json};

const TENANT: &str = "4f8f94de-2cc0-4ec7-a7f8-f0c7f560e59a";

fn session_request(sb: &Sandbox, http: &reqwest::Client) -> reqwest::RequestBuilder {
    http.post(format!("{}/auth/embed/session", sb.urls().vrplatform))
        .header("x-api-key", "any-provider-key")
        .json(&json!({"sub": "user-1", "tenantId": TENANT}))
}

#[tokio::test]
async fn every_kind_from_the_library() {
    let sb = Sandbox::start().await.unwrap();
    let http = reqwest::Client::builder().timeout(Duration::from_millis(800)).build().unwrap();

    // Latency, then the normal answer.
    sb.add_fault(Target::Vrplatform, Fault::latency(Duration::from_millis(300)), Some(1));
    let t = Instant::now();
    let r = session_request(&sb, &http).send().await.unwrap();
    assert!(t.elapsed() >= Duration::from_millis(300), "{:?}", t.elapsed());
    assert_eq!(r.status(), 200);

    // A 5xx in the provider's error shape.
    sb.add_fault(Target::Vrplatform, Fault::action(Action::Status { status: 503 }), Some(1));
    let r = session_request(&sb, &http).send().await.unwrap();
    assert_eq!(r.status(), 503);
    let body: Value = r.json().await.unwrap();
    assert!(body["message"].is_string() && body["code"].is_string(), "{body}");

    // A proxy's HTML 502.
    sb.add_fault(Target::Vrplatform, Fault::action(Action::Html502), Some(1));
    let r = session_request(&sb, &http).send().await.unwrap();
    assert_eq!(r.status(), 502);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(r.text().await.unwrap().contains("502 Bad Gateway"));

    // 429 with and without Retry-After.
    sb.add_fault(Target::Vrplatform, Fault::parse("429;retry-after=7").unwrap(), Some(1));
    let r = session_request(&sb, &http).send().await.unwrap();
    assert_eq!(
        (
            r.status().as_u16(),
            r.headers().get("retry-after").map(|v| v.to_str().unwrap().to_string())
        ),
        (429, Some("7".into()))
    );
    sb.add_fault(Target::Vrplatform, Fault::parse("429").unwrap(), Some(1));
    let r = session_request(&sb, &http).send().await.unwrap();
    assert_eq!(r.status(), 429);
    assert!(r.headers().get("retry-after").is_none());

    // A reset after part of the body.
    sb.add_fault(Target::Vrplatform, Fault::action(Action::Reset), Some(1));
    let outcome = match session_request(&sb, &http).send().await {
        Err(e) => Err(e),
        Ok(r) => r.bytes().await.map(|_| ()),
    };
    let e = outcome.expect_err("a reset body must fail");
    assert!(!e.is_timeout(), "a reset, not a timeout: {e:?}");

    // A body that never ends: the client times out while reading it.
    sb.add_fault(Target::Vrplatform, Fault::action(Action::NeverEndingBody), Some(1));
    let t = Instant::now();
    let r = session_request(&sb, &http).send().await.unwrap();
    assert_eq!(r.status(), 200, "headers arrive");
    let e = r.bytes().await.expect_err("never ends");
    assert!(e.is_timeout() || e.is_body(), "{e:?}");
    assert!(t.elapsed() >= Duration::from_millis(700));

    // Used up: the next request is normal; the recorded requests show the faults.
    assert_eq!(session_request(&sb, &http).send().await.unwrap().status(), 200);
    let faults: Vec<Option<String>> = sb.requests().into_iter().map(|r| r.fault).collect();
    assert!(
        faults.contains(&Some("reset".into())) && faults.contains(&Some("html-502".into())),
        "{faults:?}"
    );
    assert!(sb.requests().iter().any(|r| r.status == 0), "a reset is recorded with status 0");
}

#[tokio::test]
async fn faults_apply_per_provider_and_until_cleared() {
    let sb = Sandbox::start().await.unwrap();
    let http = reqwest::Client::new();
    let id = sb.add_fault(Target::Vlens, Fault::parse("500").unwrap(), None);
    // VRPlatform is not affected.
    assert_eq!(session_request(&sb, &http).send().await.unwrap().status(), 200);
    let vlens = |http: &reqwest::Client| {
        http.post(format!("{}/api/IdentityUserSession/CreateAuthSession", sb.urls().vlens))
            .header("ApiKey", "k")
            .json(&json!({"phoneNumber": "+201234567890"}))
    };
    for _ in 0..2 {
        let r = vlens(&http).send().await.unwrap();
        assert_eq!(r.status(), 500);
        let body: Value = r.json().await.unwrap();
        assert!(body["error_code"].is_number(), "Vlens envelope: {body}");
    }
    assert_eq!(sb.faults().len(), 1);
    assert!(sb.remove_fault(id));
    assert_eq!(vlens(&http).send().await.unwrap().status(), 200);
    // A path prefix limits a fault to one route.
    sb.add_fault_on(Target::Vlens, "/api/credentials", Fault::parse("503").unwrap(), None);
    assert_eq!(vlens(&http).send().await.unwrap().status(), 200);
    sb.clear_faults();
    assert!(sb.faults().is_empty());
}

#[tokio::test]
async fn the_header_and_the_admin_endpoint() {
    let sb = Sandbox::start().await.unwrap();
    let http = reqwest::Client::builder().timeout(Duration::from_millis(600)).build().unwrap();
    let with = |f: &str| session_request(&sb, &http).header("X-Sandbox-Fault", f);
    assert_eq!(with("503").send().await.unwrap().status(), 503);
    assert_eq!(with("html-502").send().await.unwrap().status(), 502);
    let r = with("429;retry-after=2").send().await.unwrap();
    assert_eq!(r.headers()["retry-after"], "2");
    let t = Instant::now();
    assert_eq!(with("latency=200ms").send().await.unwrap().status(), 200);
    assert!(t.elapsed() >= Duration::from_millis(200));
    let r = with("never-ending-body").send().await.unwrap();
    assert!(r.bytes().await.is_err());
    let r = with("teapot").send().await.unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert!(body["message"].as_str().unwrap().contains("X-Sandbox-Fault"), "{body}");
    // Only that request: the next one is normal.
    assert_eq!(session_request(&sb, &http).send().await.unwrap().status(), 200);

    // Admin endpoint: bunq, once, then gone.
    let admin = format!("{}/_sandbox/faults", sb.urls().url);
    let r = http
        .post(&admin)
        .json(&json!({"provider": "bunq", "fault": "503", "times": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let listed: Value = http.get(&admin).send().await.unwrap().json().await.unwrap();
    assert_eq!(listed["faults"][0]["provider"], "bunq");
    let bunq = format!("{}/installation", sb.urls().bunq);
    assert_eq!(http.post(&bunq).send().await.unwrap().status(), 503);
    assert_ne!(http.post(&bunq).send().await.unwrap().status(), 503);
    for bad in [
        json!({"provider": "nope", "fault": "503"}),
        json!({"provider": "bunq", "fault": "404"}),
        json!({"provider": "bunq", "fault": "503", "times": 0}),
    ] {
        let r = http.post(&admin).json(&bad).send().await.unwrap();
        assert_eq!(r.status(), 400, "{bad}");
    }
    assert_eq!(http.delete(&admin).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn a_reset_is_a_reset_from_the_header_too() {
    let sb = Sandbox::start().await.unwrap();
    let http = reqwest::Client::new();
    let outcome = match session_request(&sb, &http).header("X-Sandbox-Fault", "reset").send().await
    {
        Err(e) => Err(e),
        Ok(r) => r.bytes().await.map(|_| ()),
    };
    assert!(outcome.is_err());
}

#[tokio::test]
async fn the_facade_retries_through_a_503_and_reports_an_html_502() {
    use embed_sessions::vrplatform::VrPlatformClient;
    use embed_sessions::{Config, ErrorKind, RetryPolicy};
    let sb = Sandbox::start().await.unwrap();
    let config = Config::builder(embed_sessions::vrplatform::VrPlatform)
        .api_key("provider-key")
        .base_url(sb.urls().vrplatform.clone())
        .retry(RetryPolicy::default().max_attempts(2))
        .build()
        .unwrap();
    let client = VrPlatformClient::new(config).unwrap();
    sb.add_fault(Target::Vrplatform, Fault::parse("503").unwrap(), Some(1));
    client.embed_session().sub("retry-user").tenant_id(TENANT).send().await.unwrap();
    sb.add_fault(Target::Vrplatform, Fault::parse("html-502").unwrap(), Some(2));
    let e = client.embed_session().sub("other-user").tenant_id(TENANT).send().await.unwrap_err();
    assert_eq!(e.status(), Some(502), "{e}");
    assert_ne!(e.kind(), ErrorKind::InvalidInput);
}

#[tokio::test]
async fn silence_reads_the_request_and_never_sends_a_status_line() {
    let sb = Sandbox::start().await.unwrap();
    let http = reqwest::Client::builder().timeout(Duration::from_millis(300)).build().unwrap();
    sb.add_fault(Target::Vrplatform, Fault::parse("silence").unwrap(), Some(1));
    let t = Instant::now();
    let e = session_request(&sb, &http).send().await.unwrap_err();
    assert!(e.is_timeout(), "{e:?}");
    assert!(t.elapsed() >= Duration::from_millis(300));
    // Recorded on arrival, with no status; the next request gets the normal answer.
    let recorded = sb.requests();
    assert_eq!((recorded.len(), recorded[0].status), (1, 0));
    assert_eq!(recorded[0].fault.as_deref(), Some("silence"));
    assert_eq!(session_request(&sb, &http).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn canned_responses_are_sent_as_given_per_path_and_used_up() {
    let sb = Sandbox::start().await.unwrap();
    let http =
        reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let redirect =
        Canned::raw(302, "text/plain", "").with_header("Location", "http://127.0.0.1:9/steal");
    sb.respond(Target::Vrplatform, Some("/auth/embed"), redirect, Some(1));
    sb.respond(Target::Vrplatform, None, Canned::raw(200, "application/json", "[1,2"), Some(1));
    let r = session_request(&sb, &http).send().await.unwrap();
    assert_eq!(r.status(), 302);
    assert_eq!(r.headers()["location"], "http://127.0.0.1:9/steal");
    let r = session_request(&sb, &http).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "[1,2");
    // Used up: the provider answers again.
    let r = session_request(&sb, &http).send().await.unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["tenantId"], TENANT);
    let recorded = sb.requests();
    assert_eq!(recorded[0].fault.as_deref(), Some("canned 302"));
    assert_eq!((recorded[1].status, recorded[2].fault.as_deref()), (200, None));
    // Other paths are not affected; clear_faults removes them.
    sb.respond(Target::Vrplatform, Some("/teams"), Canned::html(500), None);
    assert_eq!(session_request(&sb, &http).send().await.unwrap().status(), 200);
    let teams = format!("{}/teams/{TENANT}", sb.urls().vrplatform);
    let r = http.get(&teams).header("x-api-key", "k").send().await.unwrap();
    assert_eq!(r.status(), 500);
    assert!(r.text().await.unwrap().contains("Bad Gateway"));
    sb.clear_faults();
    let r = http.get(&teams).header("x-api-key", "k").send().await.unwrap();
    assert_ne!(r.status(), 500);
}
