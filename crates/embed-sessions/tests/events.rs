//! Inbound events: the documented payloads parse, hostile bodies never panic, oversized ones
//! are refused before parsing; confirmation against the sandbox (a claim the API does not
//! confirm is reported unconfirmed); duplicates in one process and, with Redis, across two;
//! and the example receiver (`examples/events_receiver.rs`) end to end over HTTP.
#![cfg(all(feature = "vlens", feature = "bunq"))]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use embed_sessions::bunq::events::{self as bunq_events, CallbackObject, Category};
use embed_sessions::bunq::{Bunq, BunqClient, BunqContext};
use embed_sessions::core::inbound::{
    self, Claim, DedupeStore, MemoryDedupe, SourceAllowlist, UrlToken,
};
use embed_sessions::vlens::events::{self as vlens_events, RequestStatus, VlensEventKind};
use embed_sessions::vlens::{Vlens, VlensClient};
use embed_sessions::{Config, ErrorKind};
use embed_sessions_testkit::docs::{doc_text, json_objects};
use proptest::prelude::*;
use serde_json::{Value, json};

#[allow(dead_code)]
#[path = "../examples/events_receiver.rs"]
mod receiver;

const REQUEST_ID: &str = "c2f27bd2-bb49-4dde-bb5f-22a6b8e0d20d";
const USER_KEY: &str = "events-user-api-key-0001";

fn no_headers() -> http::HeaderMap {
    http::HeaderMap::new()
}

fn webhook(id: &str, request: &str, status: &str) -> Vec<u8> {
    json!({"Id": id, "WebhookEvent": "App.BusinessRequestStatusChange", "Attempt": 1,
           "Data": {"Id": request, "NewStatus": status},
           "CreationTimeUtc": "2025-12-11T11:27:18.6197007Z"})
    .to_string()
    .into_bytes()
}

fn callback(category: &str, event_type: &str, kind: &str, object: Value) -> Vec<u8> {
    json!({"NotificationUrl": {"target_url": "https://example.com/callbacks/bunq",
        "category": category, "event_type": event_type, "object": {kind: object}}})
    .to_string()
    .into_bytes()
}

fn vlens_client(sandbox: &embed_sessions_sandbox::Sandbox) -> VlensClient {
    let config = Config::builder(Vlens)
        .api_key("events-vlens-key")
        .base_url(sandbox.urls().vlens.clone())
        .rate_identity(embed_sessions_testkit::fresh_rate_identity())
        .build()
        .unwrap();
    VlensClient::new(config).unwrap()
}

async fn bunq_context(sandbox: &embed_sessions_sandbox::Sandbox) -> (BunqContext, i64) {
    let config = Config::builder(Bunq)
        .base_url(sandbox.urls().bunq.clone())
        .api_key(USER_KEY)
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let client = BunqClient::new(config).unwrap().with_session_interval(Duration::from_millis(10));
    let ctx = client.create_context(USER_KEY).await.unwrap();
    let user = ctx.user_id().await.unwrap();
    (ctx, user)
}

#[test]
fn the_documented_vlens_payloads_parse() {
    let page = doc_text("vlens/webhooks.md");
    let blocks = json_objects(&page);
    assert_eq!(blocks.len(), 1, "the page's one payload example");
    let event = vlens_events::parse(&no_headers(), blocks[0].to_string().as_bytes()).unwrap();
    assert_eq!(event.id(), "2b020a26-ec12-4f59-8e6a-7d4bf941372b");
    assert_eq!(event.event_name(), vlens_events::BUSINESS_REQUEST_STATUS_CHANGE);
    assert_eq!(event.attempt(), Some(1));
    assert_eq!(event.created_at(), Some("2025-12-11T11:27:18.6197007Z"));
    let VlensEventKind::BusinessRequestStatusChange(change) = event.kind() else { panic!() };
    assert_eq!(change.request_id, REQUEST_ID);
    assert_eq!(change.new_status, RequestStatus::PendingApproval);
    // The provider notes' schematic copy, placeholders filled.
    let notes = doc_text("vlens/examples.md");
    let schematic = notes
        .lines()
        .find(|l| l.contains("\"WebhookEvent\""))
        .unwrap()
        .replace("<uuid>", REQUEST_ID);
    assert!(vlens_events::parse(&no_headers(), schematic.as_bytes()).is_ok());
}

#[test]
fn every_documented_bunq_category_is_typed_and_a_callback_of_each_parses() {
    let page = doc_text("bunq/callbacks.md");
    let names: Vec<String> = page
        .lines()
        .filter_map(|l| l.strip_prefix("| ")?.split(" |").next().map(|c| c.replace('\\', "")))
        .filter(|c| c.chars().all(|ch| ch.is_ascii_uppercase() || ch == '_') && !c.is_empty())
        .collect();
    assert_eq!(names.len(), 16, "{names:?}");
    for name in &names {
        assert!(!matches!(Category::from_name(name), Category::Other(_)), "{name} is untyped");
        let body = callback(name, &format!("{name}_CREATED"), "Payment", json!({"id": 1}));
        let c = bunq_events::parse(&no_headers(), &body).unwrap();
        assert_eq!(c.category().as_str(), name);
    }
    // The three object kinds typed, as the spec's examples show them.
    let spec = embed_sessions_testkit::docs::load_yaml(
        &embed_sessions_testkit::docs::workspace_root().join("specs/bunq.yaml"),
    );
    for kind in ["Payment", "MasterCardAction", "RequestInquiry"] {
        let example = &spec["components"]["schemas"][format!("{kind}Response")]["example"];
        let object = example["Response"][0][kind].clone();
        let c =
            bunq_events::parse(&no_headers(), &callback("MUTATION", "X", kind, object)).unwrap();
        assert_eq!(c.object().kind(), kind);
        assert!(!matches!(c.object(), CallbackObject::Other { .. }));
        assert!(c.object().id().is_some() && c.object().monetary_account_id() == Some(7));
    }
}

#[test]
fn oversized_bodies_are_refused_before_parsing() {
    let huge = vec![b'{'; inbound::DEFAULT_MAX_EVENT_BYTES + 1];
    for e in [
        vlens_events::parse(&no_headers(), &huge).unwrap_err(),
        bunq_events::parse(&no_headers(), &huge).unwrap_err(),
    ] {
        assert_eq!(e.kind(), ErrorKind::InvalidEvent);
        assert!(e.to_string().contains("over the limit of 65536; refused before parsing"), "{e}");
    }
    // A declared length over the limit is refused whatever the body.
    let mut h = http::HeaderMap::new();
    h.insert(http::header::CONTENT_LENGTH, "10000000".parse().unwrap());
    let e = vlens_events::parse(&h, &webhook("a", REQUEST_ID, "Approved")).unwrap_err();
    assert!(e.to_string().contains("10000000 bytes"), "{e}");
    let mut h = http::HeaderMap::new();
    h.insert(http::header::CONTENT_TYPE, "text/html".parse().unwrap());
    let e = bunq_events::parse(&h, b"{}").unwrap_err();
    assert!(e.to_string().contains("`text/html`, not JSON"), "{e}");
    h.insert(http::header::CONTENT_TYPE, "application/json; charset=utf-8".parse().unwrap());
    assert!(vlens_events::parse(&h, &webhook("a", REQUEST_ID, "Approved")).is_ok());
}

/// Any JSON, often with the events' field names.
fn json_value() -> impl Strategy<Value = Value> {
    embed_sessions_testkit::strategy::json_value(&[
        "Id",
        "WebhookEvent",
        "Attempt",
        "Data",
        "NewStatus",
        "NotificationUrl",
        "category",
        "event_type",
        "object",
        "Payment",
        "RequestInquiry",
        "id",
        "amount",
    ])
}

proptest! {
    // Cases: PROPTEST_CASES when set (proptest's default config reads it), else 256.
    #[test]
    fn arbitrary_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = vlens_events::parse(&no_headers(), &body);
        let _ = bunq_events::parse(&no_headers(), &body);
    }

    #[test]
    fn arbitrary_json_never_panics_and_errors_stay_bounded(v in json_value()) {
        let body = v.to_string();
        for e in [
            vlens_events::parse(&no_headers(), body.as_bytes()).err(),
            bunq_events::parse(&no_headers(), body.as_bytes()).err(),
            bunq_events::parse(&no_headers(), format!(r#"{{"NotificationUrl":{body}}}"#).as_bytes()).err(),
            vlens_events::parse(&no_headers(), format!(r#"{{"Id":"a","WebhookEvent":"App.BusinessRequestStatusChange","Data":{body}}}"#).as_bytes()).err(),
        ].into_iter().flatten() {
            prop_assert_eq!(e.kind(), ErrorKind::InvalidEvent);
            prop_assert!(e.to_string().len() < 1200, "{}", e);
        }
    }

    #[test]
    fn a_parsed_callback_always_has_a_dedupe_key(kind in "[A-Za-z]{1,12}", id in any::<i64>(), event in "[A-Z_]{1,20}") {
        let body = callback("PAYMENT", &event, &kind, json!({"id": id}));
        if let Ok(c) = bunq_events::parse(&no_headers(), &body) {
            prop_assert!(c.dedupe_key().starts_with("bunq:PAYMENT:"));
            prop_assert!(c.dedupe_key().ends_with(&event));
        }
    }
}

#[tokio::test]
async fn a_vlens_webhook_is_confirmed_only_when_the_api_says_the_same() {
    let sandbox = embed_sessions_testkit::sandbox::start().await;
    let vlens = vlens_client(&sandbox);
    sandbox.set_vlens_business_request(REQUEST_ID, 2, None).unwrap();

    let claimed_approved =
        vlens_events::parse(&no_headers(), &webhook("e1", REQUEST_ID, "Approved")).unwrap();
    let c = vlens.confirm_event(&claimed_approved).await.unwrap();
    assert!(c.is_confirmed(), "{c:?}");
    assert_eq!(c.current().request_status_name.as_deref(), Some("Approved"));

    // A stale or forged claim: the API says Approved.
    let claimed_signed =
        vlens_events::parse(&no_headers(), &webhook("e2", REQUEST_ID, "CustomerSigned")).unwrap();
    let c = vlens.confirm_event(&claimed_signed).await.unwrap();
    assert!(!c.is_confirmed());
    assert_eq!((c.claimed(), c.actual()), ("CustomerSigned", "Approved"));

    // Undocumented statuses need a name (the sandbox refuses to make one up).
    assert!(sandbox.set_vlens_business_request(REQUEST_ID, 7, None).is_err());
    // The request moves on; the same webhook now confirms.
    sandbox.set_vlens_business_request(REQUEST_ID, 4, None).unwrap();
    assert!(vlens.confirm_event(&claimed_signed).await.unwrap().is_confirmed());

    // A request the API does not know is the provider's error, with its words.
    let unknown = "00000000-0000-4000-8000-000000000001";
    let e = vlens
        .confirm_event(
            &vlens_events::parse(&no_headers(), &webhook("e3", unknown, "Approved")).unwrap(),
        )
        .await
        .unwrap_err();
    assert_eq!((e.kind(), e.status()), (ErrorKind::Api, Some(404)));
    assert!(e.provider_message().unwrap().contains("no business request"), "{e}");
    // Not a UUID: refused before any request.
    let before = sandbox.requests().len();
    let e = vlens
        .confirm_event(
            &vlens_events::parse(&no_headers(), &webhook("e4", "not-a-uuid", "Approved")).unwrap(),
        )
        .await
        .unwrap_err();
    assert_eq!((e.kind(), e.field()), (ErrorKind::InvalidInput, Some("request_id")));
    assert_eq!(sandbox.requests().len(), before);
}

#[tokio::test]
async fn a_bunq_callback_is_confirmed_only_when_the_signed_read_says_the_same() {
    let sandbox = embed_sessions_testkit::sandbox::start().await;
    let (ctx, user) = bunq_context(&sandbox).await;
    let payment = json!({"id": 42, "amount": {"value": "-12.50", "currency": "EUR"}, "description": "Invoice 1"});
    sandbox.put_bunq_object(user, 7, "Payment", payment.clone()).unwrap();
    let mut claimed = payment.clone();
    claimed["monetary_account_id"] = json!(7);

    let c = bunq_events::parse(
        &no_headers(),
        &callback("PAYMENT", "PAYMENT_CREATED", "Payment", claimed.clone()),
    )
    .unwrap();
    let confirmation = ctx.confirm_callback(&c).await.unwrap();
    assert!(confirmation.is_confirmed(), "{confirmation:?}");
    assert_eq!(confirmation.actual(), "amount -12.50 EUR, account 7");

    // The body claims another amount than the bank has.
    claimed["amount"]["value"] = json!("-1250.00");
    let forged = bunq_events::parse(
        &no_headers(),
        &callback("MUTATION", "MUTATION_CREATED", "Payment", claimed),
    )
    .unwrap();
    let confirmation = ctx.confirm_callback(&forged).await.unwrap();
    assert!(!confirmation.is_confirmed());
    assert_eq!(confirmation.claimed(), "amount -1250.00 EUR, account 7");

    // A request whose status moved on.
    sandbox
        .put_bunq_object(
            user,
            7,
            "RequestInquiry",
            json!({"id": 44, "status": "ACCEPTED",
        "amount_inquired": {"value": "10.00", "currency": "EUR"}}),
        )
        .unwrap();
    let pending = bunq_events::parse(&no_headers(), &callback("REQUEST", "REQUEST_INQUIRY_CREATED", "RequestInquiry",
        json!({"id": 44, "monetary_account_id": 7, "status": "PENDING", "amount_inquired": {"value": "10.00", "currency": "EUR"}}))).unwrap();
    let confirmation = ctx.confirm_callback(&pending).await.unwrap();
    assert_eq!(
        (confirmation.claimed(), confirmation.actual()),
        (
            "status PENDING, amount 10.00 EUR, account 7",
            "status ACCEPTED, amount 10.00 EUR, account 7"
        )
    );

    // An object the bank does not have for this user: bunq's 404, with its words.
    let missing = bunq_events::parse(
        &no_headers(),
        &callback(
            "CARD_TRANSACTION_SUCCESSFUL",
            "CARD_TRANSACTION_SUCCESSFUL",
            "MasterCardAction",
            json!({"id": 99, "monetary_account_id": 7}),
        ),
    )
    .unwrap();
    let e = ctx.confirm_callback(&missing).await.unwrap_err();
    assert_eq!((e.kind(), e.status()), (ErrorKind::Api, Some(404)));
    assert!(e.provider_message().unwrap().contains("MasterCardAction not found"), "{e}");
    // Kinds this library does not read, or objects without an account: nothing is sent.
    let before = sandbox.requests().len();
    for body in [
        callback(
            "DRAFT_PAYMENT",
            "DRAFT_PAYMENT_CREATED",
            "DraftPayment",
            json!({"id": 5, "monetary_account_id": 7}),
        ),
        callback("PAYMENT", "PAYMENT_CREATED", "Payment", json!({"id": 5})),
    ] {
        let e = ctx
            .confirm_callback(&bunq_events::parse(&no_headers(), &body).unwrap())
            .await
            .unwrap_err();
        assert_eq!((e.kind(), e.field()), (ErrorKind::InvalidInput, Some("object")), "{e}");
    }
    assert_eq!(sandbox.requests().len(), before);
}

#[tokio::test]
async fn a_redelivered_event_is_handled_once_in_one_process() {
    let store = MemoryDedupe::new(Duration::from_secs(3600));
    let runs = Arc::new(Mutex::new(0));
    let body = callback(
        "PAYMENT",
        "PAYMENT_CREATED",
        "Payment",
        json!({"id": 42, "monetary_account_id": 7}),
    );
    let mut outcomes = Vec::new();
    // bunq's first delivery and its 5 retries.
    for _ in 0..6 {
        let key = bunq_events::parse(&no_headers(), &body).unwrap().dedupe_key();
        let runs = runs.clone();
        let out = inbound::once(&store, &key, || async move {
            *runs.lock().unwrap() += 1;
            Ok::<_, embed_sessions::Error>(())
        })
        .await
        .unwrap();
        outcomes.push(out.err());
    }
    assert_eq!(*runs.lock().unwrap(), 1);
    assert_eq!(
        outcomes,
        [
            None,
            Some(Claim::Done),
            Some(Claim::Done),
            Some(Claim::Done),
            Some(Claim::Done),
            Some(Claim::Done)
        ]
    );
    // A failed handling is released: the redelivery is handled.
    let key = "vlens:failing";
    let failed = inbound::once(&store, key, || async {
        Err::<(), _>(embed_sessions::Error::config("the handler failed"))
    })
    .await;
    assert!(failed.is_err());
    assert_eq!(store.claim(key).await.unwrap(), Claim::First);
}

/// Serves the example receiver on a free loopback port.
async fn serve(app: receiver::App) -> (String, Arc<receiver::App>) {
    let app = Arc::new(app);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(receiver::serve(listener, app.clone()));
    (base, app)
}

/// Polls `/outcomes` until `n` events were handled (the work runs after the answer).
async fn outcomes(http: &reqwest::Client, bases: &[&str], n: usize) -> Vec<Value> {
    for _ in 0..400 {
        let mut all = Vec::new();
        for base in bases {
            let v: Vec<Value> =
                http.get(format!("{base}/outcomes")).send().await.unwrap().json().await.unwrap();
            all.extend(v);
        }
        if all.iter().filter(|o| o.get("handled").is_some()).count() >= n {
            return all;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("fewer than {n} events handled at {bases:?}");
}

#[tokio::test]
async fn the_example_receiver_guards_parses_dedupes_and_confirms_over_http() {
    let sandbox = embed_sessions_testkit::sandbox::start().await;
    let (ctx, user) = bunq_context(&sandbox).await;
    sandbox.set_vlens_business_request(REQUEST_ID, 2, None).unwrap();
    sandbox
        .put_bunq_object(
            user,
            7,
            "Payment",
            json!({"id": 42, "amount": {"value": "5.00", "currency": "EUR"}}),
        )
        .unwrap();
    let token = UrlToken::generate().unwrap();
    let (base, _app) = serve(receiver::App {
        vlens: Some(vlens_client(&sandbox)),
        vlens_token: token.clone(),
        bunq: Some(ctx),
        bunq_sources: bunq_events::production_sources(),
        dedupe: Arc::new(MemoryDedupe::default()),
        outcomes: Mutex::new(Vec::new()),
    })
    .await;
    let http = reqwest::Client::new();
    let post = |path: String, body: Vec<u8>| {
        let http = http.clone();
        async move {
            let r = http
                .post(path)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let vlens_url = format!("{base}/webhooks/vlens/{}", token.expose());
    let body = webhook("delivery-1", REQUEST_ID, "Approved");

    assert_eq!(
        post(format!("{base}/webhooks/vlens/{}", "x".repeat(43)), body.clone()).await.0,
        404
    );
    assert_eq!(post(vlens_url.clone(), body.clone()).await, (200, json!({"accepted": true})));
    assert_eq!(post(vlens_url.clone(), body.clone()).await, (200, json!({"duplicate": true})));
    let (status, err) = post(vlens_url.clone(), br#"{"Id":"x"}"#.to_vec()).await;
    assert_eq!(status, 400);
    assert!(err["error"].as_str().unwrap().contains("`WebhookEvent` is missing"), "{err}");
    // A claim the API does not confirm is handled as unconfirmed.
    assert_eq!(post(vlens_url.clone(), webhook("delivery-2", REQUEST_ID, "Rejected")).await.0, 200);

    // bunq: 127.0.0.1 is not bunq's production range.
    let bunq_body = callback(
        "PAYMENT",
        "PAYMENT_CREATED",
        "Payment",
        json!({"id": 42, "monetary_account_id": 7, "amount": {"value": "5.00", "currency": "EUR"}}),
    );
    let (status, err) = post(format!("{base}/callbacks/bunq"), bunq_body.clone()).await;
    assert_eq!(status, 403);
    assert!(
        err["error"].as_str().unwrap().contains("127.0.0.1 is not in the allowed source addresses"),
        "{err}"
    );

    let all = outcomes(&http, &[&base], 2).await;
    let handled: Vec<&Value> = all.iter().filter(|o| o.get("handled").is_some()).collect();
    assert_eq!(handled.len(), 2, "{all:?}");
    let by_key =
        |k: &str| handled.iter().find(|o| o["key"] == k).map(|o| o["handled"].clone()).unwrap();
    assert_eq!(
        by_key("vlens:delivery-1"),
        json!({"confirmed": true, "claimed": "Approved", "actual": "Approved"})
    );
    assert_eq!(
        by_key("vlens:delivery-2"),
        json!({"confirmed": false, "claimed": "Rejected", "actual": "Approved"})
    );
    let duplicate = |o: &Value| o["duplicate"] == "Done" || o["duplicate"] == "InProgress";
    assert!(all.iter().any(|o| o["key"] == "vlens:delivery-1" && duplicate(o)), "{all:?}");

    // The same receiver with bunq's sandbox switch (no address check).
    let (ctx, _) = bunq_context(&sandbox).await;
    let (base, _app) = serve(receiver::App {
        vlens: None,
        vlens_token: token.clone(),
        bunq: Some(ctx),
        bunq_sources: SourceAllowlist::any(),
        dedupe: Arc::new(MemoryDedupe::default()),
        outcomes: Mutex::new(Vec::new()),
    })
    .await;
    assert_eq!(
        post(format!("{base}/callbacks/bunq"), bunq_body.clone()).await,
        (200, json!({"accepted": true}))
    );
    let all = outcomes(&http, &[&base], 1).await;
    assert_eq!(
        all[0]["handled"],
        json!({"confirmed": true, "claimed": "amount 5.00 EUR, account 7", "actual": "amount 5.00 EUR, account 7"})
    );
}

#[cfg(feature = "redis")]
mod across_processes {
    use std::io::BufRead as _;

    use super::*;
    use embed_sessions::fleet::{Fleet, RedisDedupe, StoreKey};
    use embed_sessions_testkit::redis::{clear, random_store_key, test_url, unique_prefix};

    const WORKER: &str = "EMBED_SESSIONS_EVENTS_WORKER";

    /// Replica processes, killed when the test ends (also when it fails).
    struct Replicas(Vec<std::process::Child>);

    impl Drop for Replicas {
        fn drop(&mut self) {
            for r in &mut self.0 {
                let _ = r.kill();
                let _ = r.wait();
            }
        }
    }

    /// A replica: the example receiver with the Redis dedupe store, until killed.
    async fn replica(
        vlens_base: String,
        redis: String,
        prefix: String,
        key: String,
        token: String,
    ) {
        let key = StoreKey::from_base64(&embed_sessions::Secret::new(key)).unwrap();
        let fleet = Fleet::connect(&redis, &prefix, key).await.unwrap();
        let config = Config::builder(Vlens)
            .api_key("events-vlens-key")
            .base_url(vlens_base)
            .build()
            .unwrap();
        let (base, _app) = serve(receiver::App {
            vlens: Some(VlensClient::new(config).unwrap()),
            vlens_token: UrlToken::new(token).unwrap(),
            bunq: None,
            bunq_sources: SourceAllowlist::any(),
            dedupe: Arc::new(RedisDedupe::with_defaults(&fleet)),
            outcomes: Mutex::new(Vec::new()),
        })
        .await;
        println!("listening {base}");
        std::future::pending::<()>().await;
    }

    #[test]
    fn a_redelivery_reaching_another_replica_is_a_duplicate() {
        let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
        if let Ok(args) = std::env::var(WORKER) {
            let mut parts = args.split('\n').map(str::to_string);
            let mut next = || parts.next().unwrap();
            rt.block_on(replica(next(), next(), next(), next(), next()));
            return;
        }
        let (url, prefix) = (test_url(), unique_prefix("events"));
        let token = UrlToken::generate().unwrap();
        let sandbox = rt.block_on(embed_sessions_testkit::sandbox::start());
        sandbox.set_vlens_business_request(REQUEST_ID, 2, None).unwrap();
        let args = [
            sandbox.urls().vlens.clone(),
            url.clone(),
            prefix.clone(),
            random_store_key(),
            token.expose().to_string(),
        ]
        .join("\n");
        let exe = std::env::current_exe().unwrap();
        let mut replicas = Replicas((0..2)
            .map(|_| {
                std::process::Command::new(&exe)
                    .args(["across_processes::a_redelivery_reaching_another_replica_is_a_duplicate", "--exact", "--nocapture"])
                    .env(WORKER, &args)
                    .stdout(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect());
        let bases: Vec<String> = replicas
            .0
            .iter_mut()
            .map(|r| {
                let out = std::io::BufReader::new(r.stdout.take().unwrap());
                let line =
                    out.lines().map(Result::unwrap).find(|l| l.contains("listening ")).unwrap();
                line.split("listening ").nth(1).unwrap().trim().to_string()
            })
            .collect();
        rt.block_on(async {
            let http = reqwest::Client::new();
            // Vlens delivers, then redelivers: once to each replica, then both at once.
            for (id, both_at_once) in [("delivery-a", false), ("delivery-b", true)] {
                let body = webhook(id, REQUEST_ID, "Approved");
                let send = |base: &String| {
                    http.post(format!("{base}/webhooks/vlens/{}", token.expose()))
                        .header("content-type", "application/json")
                        .body(body.clone())
                        .send()
                };
                if both_at_once {
                    let (a, b) = tokio::join!(send(&bases[0]), send(&bases[1]));
                    assert_eq!(
                        (a.unwrap().status().as_u16(), b.unwrap().status().as_u16()),
                        (200, 200)
                    );
                } else {
                    assert_eq!(send(&bases[0]).await.unwrap().status(), 200);
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    assert_eq!(send(&bases[1]).await.unwrap().status(), 200);
                }
            }
            // Duplicates are recorded before the answer; the handling runs after it.
            let bases: Vec<&str> = bases.iter().map(String::as_str).collect();
            let all = outcomes(&http, &bases, 2).await;
            for id in ["vlens:delivery-a", "vlens:delivery-b"] {
                let handled =
                    all.iter().filter(|o| o["key"] == id && o.get("handled").is_some()).count();
                let dup =
                    all.iter().filter(|o| o["key"] == id && o.get("duplicate").is_some()).count();
                assert_eq!((handled, dup), (1, 1), "{id}: {all:?}");
            }
        });
        let lookups = sandbox.requests().iter().filter(|r| r.provider == "vlens").count();
        assert_eq!(lookups, 2, "one confirmation per event across both replicas");
        drop(replicas);
        // The store holds digests, not the event ids.
        for (k, _) in embed_sessions_testkit::redis::scan(&url, &prefix) {
            assert!(!k.contains("delivery-"), "{k}");
        }
        clear(&url, &prefix);
    }
}
