//! Property tests (128 cases each unless `PROPTEST_CASES` says otherwise, so CI time is
//! bounded; `PROPTEST_CASES=100000` for a long run): hostile response bodies never
//! panic the facade, and arbitrary user input is either sent exactly or rejected before
//! anything is sent. The server is the sandbox (`embed-sessions-sandbox`) answering with canned
//! responses; its recorded request bodies are compared after parsing (the generated keys and
//! values never name a secret, so its redaction does not apply).

use std::time::Duration;

use embed_sessions::vlens::{AdminCredentials, VlensClient};
use embed_sessions::vrplatform::VrPlatformClient;
use embed_sessions::{Config, ErrorKind, RetryPolicy};
use embed_sessions_sandbox::{Canned, Sandbox, Target};
use proptest::prelude::*;
use serde_json::{Value, json};

/// Cases per property: `PROPTEST_CASES` when set, else 128, which keeps this file under half a
/// minute on two cores (each bunq case generates an RSA-2048 key).
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(128)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

fn config<P: embed_sessions::Provider>(provider: P, base: &str) -> Config<P> {
    Config::builder(provider)
        .api_key("prop-key")
        .base_url(base)
        .timeout(Duration::from_secs(5))
        .retry(RetryPolicy::none())
        // Hundreds of cases against one key: the providers' published rate limits (kept by
        // default; see `core::budget` and its tests) would make these decoder tests wait.
        .rate_limits(&[])
        .build()
        .unwrap()
}

/// Any JSON, often with the providers' response field names.
fn json_value() -> impl Strategy<Value = Value> {
    embed_sessions_testkit::strategy::json_value(&[
        "data",
        "error_code",
        "error_message",
        "accessToken",
        "expiresAt",
        "tenantId",
        "userId",
    ])
}

/// Forgets the requests and canned answers, then answers every request with `script` in order
/// (the last one repeating).
fn set_script(server: &Sandbox, script: Vec<Canned>) {
    server.clear_faults();
    server.clear_requests();
    let n = script.len();
    for (i, c) in script.into_iter().enumerate() {
        server.respond(Target::Any, None, c, if i + 1 == n { None } else { Some(1) });
    }
}

fn sandbox(rt: &tokio::runtime::Runtime) -> Sandbox {
    rt.block_on(Sandbox::start()).unwrap()
}

/// Runs the three providers' main calls against `body` served with `status`.
fn exchange(rt: &tokio::runtime::Runtime, server: &Sandbox, status: u16, body: Vec<u8>) {
    rt.block_on(async {
        set_script(server, vec![Canned::raw(status, "application/json", body)]);
        let urls = server.urls();
        let vlens = VlensClient::new(config(embed_sessions::vlens::Vlens, &urls.vlens)).unwrap();
        let r = vlens.auth_session().email("a@b.co").send().await;
        if let Err(e) = &r {
            // Typed, and the rendering never panics either.
            let _ = (e.to_string(), format!("{e:?}"), e.kind(), e.status());
            assert_ne!(e.kind(), ErrorKind::InvalidInput);
        }
        let vrp =
            VrPlatformClient::new(config(embed_sessions::vrplatform::VrPlatform, &urls.vrplatform))
                .unwrap();
        let r = vrp
            .embed_session()
            .sub("u")
            .tenant_id("4f8f94de-2cc0-4ec7-a7f8-f0c7f560e59a")
            .send()
            .await;
        if let Err(e) = &r {
            let _ = (e.to_string(), format!("{e:?}"));
            assert_ne!(e.kind(), ErrorKind::InvalidInput);
        }
        let bunq = embed_sessions::bunq::BunqClient::without_key(config(
            embed_sessions::bunq::Bunq,
            &urls.bunq,
        ))
        .unwrap();
        if let Err(e) = bunq.create_context("prop-key").await {
            let _ = (e.to_string(), format!("{e:?}"));
            assert_ne!(e.kind(), ErrorKind::InvalidInput);
        }
        assert!(server.requests().len() >= 3);
    });
}

#[test]
fn arbitrary_bytes_as_response_bodies_never_panic() {
    let rt = runtime();
    let server = sandbox(&rt);
    let statuses = prop_oneof![Just(200u16), Just(401), Just(404), Just(422), Just(500), Just(503)];
    proptest!(ProptestConfig::with_cases(cases()), |(status in statuses, body in prop::collection::vec(any::<u8>(), 0..512))| {
        exchange(&rt, &server, status, body);
    });
}

#[test]
fn arbitrary_json_as_response_bodies_never_panic() {
    let rt = runtime();
    let server = sandbox(&rt);
    proptest!(ProptestConfig::with_cases(cases()), |(status in prop_oneof![Just(200u16), Just(401), Just(404)], v in json_value())| {
        exchange(&rt, &server, status, v.to_string().into_bytes());
    });
}

/// The JSON body of the only request the server received, if any.
fn sent_body(server: &Sandbox) -> Option<Value> {
    let requests = server.requests();
    assert!(requests.len() <= 1);
    requests.first().map(|r| serde_json::from_str(&r.body).unwrap())
}

#[test]
fn vlens_user_inputs_are_sent_exactly_or_rejected_before_sending() {
    let rt = runtime();
    let server = sandbox(&rt);
    let ok = Canned::json(200, &json!({"data": "t"}));
    proptest!(ProptestConfig::with_cases(cases()), |(input in prop_oneof![".{0,24}", "\\+[0-9]{1,16}", "[a-z]{1,5}@[a-z]{1,5}\\.[a-z]{2,3}"], as_phone in any::<bool>())| {
        rt.block_on(async {
            set_script(&server, vec![ok.clone()]);
            let vlens = VlensClient::new(config(embed_sessions::vlens::Vlens, &server.urls().vlens)).unwrap();
            let b = vlens.auth_session();
            let b = if as_phone { b.phone(input.clone()) } else { b.email(input.clone()) };
            match b.send().await {
                Ok(_) => {
                    let sent = sent_body(&server).expect("accepted input is sent");
                    let key = if as_phone { "phoneNumber" } else { "email" };
                    assert_eq!(sent[key], Value::String(input.clone()));
                }
                Err(e) => {
                    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
                    assert_eq!(e.field(), Some(if as_phone { "phone" } else { "email" }));
                    assert_eq!(server.requests().len(), 0, "rejected input was sent");
                }
            }
        });
    });
}

#[test]
fn vlens_field_keys_are_sent_exactly_or_rejected_before_sending() {
    let rt = runtime();
    let server = sandbox(&rt);
    let login = Canned::json(200, &json!({"data": {"accessToken": "a", "expireInSeconds": 86400}}));
    let ok = Canned::json(200, &json!({"data": "t"}));
    proptest!(ProptestConfig::with_cases(cases()), |(key in ".{0,16}", value in ".{0,16}", type_id in 1i64..100_000)| {
        rt.block_on(async {
            set_script(&server, vec![login.clone(), ok.clone()]);
            let vlens = VlensClient::new(config(embed_sessions::vlens::Vlens, &server.urls().vlens))
                .unwrap()
                .with_admin(AdminCredentials::new("t", "u", "p"));
            match vlens.invitation().email("a@b.co").field(type_id, key.clone(), value.clone()).send().await {
                Ok(_) => {
                    let requests = server.requests();
                    assert_eq!(requests.len(), 2);
                    let sent: Value = serde_json::from_str(&requests[1].body).unwrap();
                    assert_eq!(
                        sent["SessionInput"]["RequestFieldsValues"][type_id.to_string()][&key],
                        Value::String(value.clone())
                    );
                }
                Err(e) => {
                    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
                    assert_eq!(e.field(), Some("field"));
                    assert_eq!(server.requests().len(), 0);
                }
            }
        });
    });
}

#[test]
fn vrplatform_inputs_are_sent_exactly_or_rejected_before_sending() {
    let rt = runtime();
    let server = sandbox(&rt);
    let ok = Canned::json(
        200,
        &json!({
            "accessToken": "t", "expiresAt": "2099-01-01T00:00:00.000Z",
            "tenantId": "4f8f94de-2cc0-4ec7-a7f8-f0c7f560e59a", "userId": "11111111-1111-4111-8111-111111111111"
        }),
    );
    let tenants = prop_oneof![
        ".{0,40}",
        "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        Just("4f8f94de-2cc0-4ec7-a7f8-f0c7f560e59a".to_string()),
    ];
    proptest!(ProptestConfig::with_cases(cases()), |(sub in ".{0,24}", tenant in tenants)| {
        rt.block_on(async {
            set_script(&server, vec![ok.clone()]);
            let vrp = VrPlatformClient::new(config(embed_sessions::vrplatform::VrPlatform, &server.urls().vrplatform)).unwrap();
            match vrp.embed_session().sub(sub.clone()).tenant_id(tenant.clone()).send().await {
                Ok(_) => {
                    let sent = sent_body(&server).expect("accepted input is sent");
                    assert_eq!(sent["sub"], Value::String(sub.clone()));
                    assert_eq!(sent["tenantId"].as_str().unwrap(), tenant.to_ascii_lowercase());
                }
                Err(e) => {
                    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
                    assert!(matches!(e.field(), Some("sub" | "tenantId")), "{e}");
                    assert_eq!(server.requests().len(), 0, "rejected input was sent");
                }
            }
        });
    });
}
