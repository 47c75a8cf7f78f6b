//! The bunq facade against the offline sandbox's bunq (`embed-sessions-sandbox`), which checks
//! headers, request ids, every client signature and the spec's schemas, and signs its answers:
//! signed context creation, server signatures, session lifecycle and rate limit, persistence,
//! the partner flow, typed errors, retries and redaction.
#![cfg(feature = "bunq")]

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use embed_sessions::bunq::{
    self, BunqClient, BunqReason, BunqSession, BunqUser, ContextStore, FileStore, ProvisionPoll,
    SessionRateLimit, StoreFuture, StoredContext, raw::types,
};
use embed_sessions::{Config, ErrorKind, RetryPolicy};
use embed_sessions_sandbox::{Action, Fault, Sandbox, Target};
use embed_sessions_testkit::bunq::other_private_key_pem;
use embed_sessions_testkit::sandbox::{
    bunq_error, bunq_hit_times, bunq_hits, bunq_raw, bunq_refusals, bunq_respond, hits_of,
};
use embed_sessions_testkit::{TempDir, global_logs};
use serde_json::{Value, json};

const LIST_URL: &str = "GET /user/{id}/notification-filter-url";
/// The path prefix (after `/bunq/v1`) of every user-scoped call.
const USER_PATHS: &str = "/user/";

/// A partner company's API key (the sandbox makes any key without `person` a company).
const PARTNER_KEY: &str = "partner-api-key-0001-secret";
/// A person's own API key.
const PERSON_KEY: &str = "person-api-key-0002-secret";

/// The sandbox, with the trace capture installed first.
async fn start() -> Arc<Sandbox> {
    global_logs();
    Arc::new(embed_sessions_testkit::sandbox::start().await)
}

/// The bunq user id the sandbox gave a key (or provisioned token value) on first use.
fn user_id(server: &Sandbox, key: &str) -> i64 {
    server.bunq_user_id(key).expect("the sandbox has seen this key")
}

/// Every later 2xx bunq answer gets no server signature (`Unsigned`) or a wrong one.
fn sign_mode(server: &Sandbox, action: Action) {
    server.clear_faults();
    server.add_fault(Target::Bunq, Fault::action(action), None);
}

/// A client for the sandbox: signature checks on, a short session interval.
fn client(server: &Sandbox) -> BunqClient {
    client_with(server, RetryPolicy::default())
}

fn client_with(server: &Sandbox, retry: RetryPolicy) -> BunqClient {
    let config = Config::builder(embed_sessions::bunq::Bunq)
        .base_url(server.urls().bunq.clone())
        .rate_identity(embed_sessions_testkit::fresh_rate_identity())
        .retry(retry)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    BunqClient::without_key(config).unwrap().with_session_interval(Duration::from_millis(20))
}

fn stored_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn api_reason(e: &embed_sessions::Error) -> Option<BunqReason> {
    e.reason_as::<BunqReason>().copied()
}

fn url_rule(category: &str, target: &str) -> types::NotificationFilterUrlRule {
    types::NotificationFilterUrlRule {
        category: category.into(),
        notification_target: target.into(),
    }
}

#[tokio::test]
async fn installation_device_session_then_signed_calls_pass_the_strict_server() {
    let server = start().await;
    let ctx = client(&server).create_context(PERSON_KEY).await.unwrap();

    assert_eq!(bunq_hits(&server, "POST /installation"), 1);
    assert_eq!(bunq_hits(&server, "POST /device-server"), 1);
    assert_eq!(bunq_hits(&server, "POST /session-server"), 1);
    assert_eq!(server.bunq_installed_keys(), vec![ctx.public_key_pem().to_string()]);
    assert!(ctx.public_key_pem().starts_with("-----BEGIN PUBLIC KEY-----"));

    let session = ctx.session().await.unwrap();
    assert_eq!(session.user_id(), user_id(&server, PERSON_KEY));
    assert!(matches!(session.user(), BunqUser::Person(_)));
    let ttl = session.expires_at() - session.created_at();
    assert_eq!(ttl.num_seconds(), 604_800, "expiry = creation + session_timeout");

    // Signed GET (empty body) and POST (JSON body), session token, on the right user id.
    assert!(ctx.notification_filters_url().await.unwrap().is_empty());
    let rules = vec![url_rule("PAYMENT", "https://example.com/cb")];
    let set = ctx.set_notification_filters_url(rules).await.unwrap();
    assert_eq!(set.len(), 1);
    assert_eq!(set[0].category.as_deref(), Some("PAYMENT"));
    let listed = ctx.notification_filters_url().await.unwrap();
    assert_eq!(listed[0].notification_target.as_deref(), Some("https://example.com/cb"));
    assert_eq!(server.bunq_notification_filters(session.user_id(), false).len(), 1);

    // device, session, list, set, list: all verified; nothing refused anywhere.
    assert_eq!(server.bunq_verified_signatures(), 5);
    assert_eq!(bunq_refusals(&server), Vec::<String>::new());
    assert_eq!(bunq_hits(&server, "POST /session-server"), 1, "the session is reused");
}

#[tokio::test]
async fn a_request_signed_with_another_key_gets_bunqs_400_with_a_hint() {
    let server = start().await;
    let client = client(&server);
    let ctx = client.create_context(PERSON_KEY).await.unwrap();
    let mut json: Value =
        serde_json::from_str(ctx.snapshot().await.to_json().unwrap().expose()).unwrap();
    json["installation"]["private_key"] = json!(other_private_key_pem());
    let wrong = client.restore(StoredContext::from_json(json.to_string().as_bytes()).unwrap());
    let e = wrong.unwrap().notification_filters_url().await.unwrap_err();

    assert_eq!(e.kind(), ErrorKind::Api);
    assert_eq!(e.status(), Some(400));
    assert_eq!(api_reason(&e), Some(BunqReason::SignatureInvalid));
    let api = e.api_error().unwrap();
    assert_eq!(api.message.as_deref(), Some("The request signature is invalid."));
    let response_id = api.response_id.clone().expect("bunq's X-Bunq-Client-Response-Id");
    let text = e.to_string();
    assert!(text.contains("request signature invalid (HTTP 400)"), "{text}");
    assert!(text.contains("key pair is not the installed one"), "{text}");
    assert!(text.contains(&format!("[response id {response_id}]")), "{text}");
    assert_eq!(bunq_refusals(&server), vec![format!("{LIST_URL}: 400")]);
}

#[tokio::test]
async fn tampered_or_missing_server_signatures_fail_closed_unless_turned_off() {
    let server = start().await;
    let client = client(&server);
    let ctx = client.create_context(PERSON_KEY).await.unwrap();

    sign_mode(&server, Action::BadSignature);
    let e = ctx.notification_filters_url().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Signature);
    assert_eq!(e.status(), Some(200));
    assert_eq!(e.operation(), Some("list_notification_filter_url"));
    assert!(e.to_string().contains("does not match the body"), "{e}");
    assert!(e.to_string().contains("[response id "), "{e}");

    sign_mode(&server, Action::Unsigned);
    let e = ctx.notification_filters_url().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Signature);
    assert!(e.to_string().contains("carries no X-Bunq-Server-Signature"), "{e}");

    // A session opened on a tampered response is refused too.
    sign_mode(&server, Action::BadSignature);
    let e = client.create_context(PARTNER_KEY).await.unwrap_err();
    assert_eq!((e.kind(), e.operation()), (ErrorKind::Signature, Some("create_device_server")));

    // With the check off (tests against mocks that cannot sign), the same responses pass.
    let unchecked = client.clone().with_server_signature_check(false).unwrap();
    let ctx = unchecked.restore(ctx.snapshot().await).unwrap();
    assert!(ctx.notification_filters_url().await.is_ok());
    sign_mode(&server, Action::Unsigned);
    assert!(ctx.notification_filters_url().await.is_ok());
}

/// The seed's session-server response (doc.bunq.com, "Creating a session on behalf of the
/// user"), with its elided `avatar` objects as `{}`.
const SEED_SESSION: &str = r#"{
    "Response": [
        {"Id": {"id": 2173}},
        {"Token": {
            "id": 2173,
            "created": "2025-08-13 15:53:11.594918",
            "updated": "2025-08-13 15:53:11.594918",
            "token": "f981bd6d26b8328b89e85a774c404bb02e72d18062dab92bb59c9e59a1c5958f"
        }},
        {"UserApiKey": {
            "id": 1364,
            "created": "2025-08-13 15:53:11.286445",
            "updated": "2025-08-13 15:53:11.286445",
            "requested_by_user": {"UserCompany": {
                "id": 1360,
                "display_name": "Surrey Coöperatie",
                "public_nick_name": "Surrey Coöperatie",
                "avatar": {},
                "session_timeout": 604800
            }},
            "granted_by_user": {"UserPerson": {
                "id": 1363,
                "display_name": "New bunqer",
                "public_nick_name": "New bunqer",
                "avatar": {},
                "session_timeout": 604800
            }}
        }}
    ]
}"#;

fn check_seed_session(s: &BunqSession, created: chrono::DateTime<chrono::Utc>) {
    assert_eq!(s.id(), 2173);
    assert_eq!(
        s.token().expose(),
        "f981bd6d26b8328b89e85a774c404bb02e72d18062dab92bb59c9e59a1c5958f"
    );
    assert_eq!(s.user_id(), 1364, "an API-key session's user id is the API key's id");
    assert_eq!(s.user().kind(), "UserApiKey");
    assert_eq!(s.user().granted_by_user_id(), Some(1363));
    assert!(
        matches!(s.user().requested_by(), Some(types::UserApiKeyUser::UserCompany(c)) if c.id == 1360)
    );
    assert_eq!(s.expires_at(), created + chrono::Duration::seconds(604_800));
}

#[test]
fn the_seed_session_and_a_reordered_copy_give_the_same_session() {
    let created = chrono::Utc::now();
    let seed: types::SessionServerResponse = serde_json::from_str(SEED_SESSION).unwrap();
    let mut reordered = seed.clone();
    reordered.response.reverse();
    reordered.response.swap(0, 1); // [Token, UserApiKey, Id]
    let a = BunqSession::from_response(seed, created).unwrap();
    let b = BunqSession::from_response(reordered, created).unwrap();
    check_seed_session(&a, created);
    check_seed_session(&b, created);
    assert!(!format!("{a:?}").contains("f981bd6d"), "{a:?}");

    // The requesting user's session_timeout sets the expiry of an API-key session.
    let mut short: Value = serde_json::from_str(SEED_SESSION).unwrap();
    short["Response"][2]["UserApiKey"]["requested_by_user"]["UserCompany"]["session_timeout"] =
        json!(3600);
    let s = BunqSession::from_response(serde_json::from_value(short).unwrap(), created).unwrap();
    assert_eq!(s.expires_at(), created + chrono::Duration::seconds(3600));

    // No user object, or two, is an error, not a guess.
    let mut none: types::SessionServerResponse = serde_json::from_str(SEED_SESSION).unwrap();
    none.response.pop();
    let e = BunqSession::from_response(none, created).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UnexpectedResponse);
    assert!(e.to_string().contains("0 user objects"), "{e}");
}

#[tokio::test]
async fn the_server_may_order_the_session_elements_any_way() {
    let server = start().await;
    server.set_bunq_session_items_reversed(true);
    server.set_bunq_session_timeout(7200);
    let ctx = client(&server).create_context(PARTNER_KEY).await.unwrap();
    let s = ctx.session().await.unwrap();
    assert_eq!(s.user_id(), user_id(&server, PARTNER_KEY));
    assert_eq!((s.expires_at() - s.created_at()).num_seconds(), 7200);
    assert!(ctx.notification_filters_url().await.is_ok());
}

#[tokio::test]
async fn a_stored_context_is_restored_without_installation_or_device_calls() {
    let server = start().await;
    let dir = TempDir::new("restore");
    let path = dir.file("ctx.json");
    let first = client(&server);
    let ctx = first.context().api_key(PERSON_KEY).store(FileStore::new(&path)).send().await;
    let ctx = ctx.unwrap();
    let session = ctx.session().await.unwrap();
    assert_eq!(bunq_hits(&server, "POST /installation"), 1);

    // Another process: a new client, the same file, no key given (it is in the file).
    let again = client(&server).context().store(FileStore::new(&path)).send().await.unwrap();
    assert_eq!(bunq_hits(&server, "POST /installation"), 1, "no new installation");
    assert_eq!(bunq_hits(&server, "POST /device-server"), 1, "no new device");
    assert_eq!(bunq_hits(&server, "POST /session-server"), 1, "the session is reused while valid");
    assert_eq!(again.session().await.unwrap().token(), session.token());
    assert_eq!(again.device_id(), ctx.device_id());
    assert!(again.notification_filters_url().await.is_ok());
    assert_eq!(bunq_refusals(&server), Vec::<String>::new());

    // A stored context for another key is refused, not overwritten.
    let before = std::fs::read(&path).unwrap();
    let e = client(&server)
        .context()
        .api_key(PARTNER_KEY)
        .store(FileStore::new(&path))
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config);
    assert!(e.to_string().contains("another API key"), "{e}");
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[tokio::test]
async fn an_expired_or_expiring_session_is_renewed_and_saved() {
    let server = start().await;
    let dir = TempDir::new("expired");
    let path = dir.file("ctx.json");
    let client = client(&server);
    client.context().api_key(PERSON_KEY).store(FileStore::new(&path)).send().await.unwrap();
    let old_session = stored_json(&path)["session"]["id"].clone();

    // The stored session expired while the process was down.
    let mut json = stored_json(&path);
    json["session"]["expires_at"] = json!("2020-01-01T00:00:00Z");
    std::fs::write(&path, json.to_string()).unwrap();
    let ctx = client.context().store(FileStore::new(&path)).send().await.unwrap();
    assert_eq!(bunq_hits(&server, "POST /installation"), 1);
    assert_eq!(bunq_hits(&server, "POST /device-server"), 1);
    assert_eq!(bunq_hits(&server, "POST /session-server"), 2, "renewed on open");
    let saved = stored_json(&path);
    assert_ne!(saved["session"]["id"], old_session, "the renewed session is saved");
    assert!(ctx.notification_filters_url().await.is_ok());

    // A session with less than 30 s left is renewed before the next call.
    server.set_bunq_session_timeout(20);
    ctx.renew_session().await.unwrap();
    assert_eq!(bunq_hits(&server, "POST /session-server"), 3);
    tokio::time::sleep(Duration::from_millis(30)).await; // the session interval
    assert!(ctx.notification_filters_url().await.is_ok());
    assert_eq!(bunq_hits(&server, "POST /session-server"), 4);
}

#[tokio::test]
async fn concurrent_callers_share_one_renewal() {
    let server = start().await;
    let ctx = client(&server).create_context(PERSON_KEY).await.unwrap();
    server.expire_bunq_sessions();
    let mut json: Value =
        serde_json::from_str(ctx.snapshot().await.to_json().unwrap().expose()).unwrap();
    json["session"]["expires_at"] = json!("2020-01-01T00:00:00Z");
    let ctx = ctx.client().restore(StoredContext::from_json(json.to_string().as_bytes()).unwrap());
    let ctx = ctx.unwrap();
    let calls: Vec<_> = (0..8)
        .map(|_| {
            let ctx = ctx.clone();
            tokio::spawn(async move { ctx.notification_filters_url().await.map(|v| v.len()) })
        })
        .collect();
    for call in calls {
        assert_eq!(call.await.unwrap().unwrap(), 0);
    }
    assert_eq!(bunq_hits(&server, "POST /session-server"), 2, "one creation, one shared renewal");
    assert_eq!(bunq_hits(&server, LIST_URL), 8);
    // bunq's published GET limit, 3 per 3 s per endpoint: 8 calls are spread over > 6 s, and
    // no 3-second window holds more than 3 (less 30 ms for the way from budget to sandbox).
    let times: Vec<_> = bunq_hit_times(&server, LIST_URL);
    assert!((times[7] - times[0]).num_milliseconds() >= 5_900, "{times:?}");
    for (i, t) in times.iter().enumerate() {
        let window = chrono::Duration::milliseconds(3_000 - 30);
        let within = times[i..].iter().filter(|u| **u - *t < window).count();
        assert!(within <= 3, "{within} GETs within 3 s of {t}");
    }
}

#[tokio::test]
async fn a_401_renews_the_session_once_and_repeats_the_call_once() {
    let server = start().await;
    let ctx = client(&server).create_context(PERSON_KEY).await.unwrap();

    // bunq ended the session: renewed once, the call repeated once, success.
    server.expire_bunq_sessions();
    assert!(ctx.notification_filters_url().await.is_ok());
    assert_eq!(bunq_hits(&server, "POST /session-server"), 2);
    assert_eq!(bunq_hits(&server, LIST_URL), 2);

    // A second 401 in a row is the caller's error, typed.
    bunq_respond(&server, USER_PATHS, bunq_error(401, "Insufficient authorisation."), 2);
    let e = ctx.notification_filters_url().await.unwrap_err();
    assert_eq!(e.status(), Some(401));
    assert_eq!(api_reason(&e), Some(BunqReason::InsufficientAuthorisation));
    assert!(e.hint().unwrap().contains("renews it once"), "{e}");
    assert_eq!(bunq_hits(&server, "POST /session-server"), 3, "one renewal only");
    assert_eq!(bunq_hits(&server, LIST_URL), 4, "one repeat only");
}

#[tokio::test]
async fn session_calls_are_spaced_by_the_clients_shared_limiter() {
    let server = start().await;
    let config = Config::builder(embed_sessions::bunq::Bunq)
        .base_url(server.urls().bunq.clone())
        .build()
        .unwrap();
    let interval = Duration::from_millis(400);
    let waiting = BunqClient::without_key(config.clone()).unwrap().with_session_interval(interval);

    // Two contexts (two API keys) from one client: the second session call waits its turn.
    let started = Instant::now();
    let a = waiting.create_context(PERSON_KEY).await.unwrap();
    let b = waiting.clone().create_context(PARTNER_KEY).await.unwrap();
    let times = bunq_hit_times(&server, "POST /session-server");
    assert_eq!(times.len(), 2);
    let gap = (times[1] - times[0]).to_std().unwrap();
    assert!(gap >= interval - Duration::from_millis(20), "gap {gap:?}");
    assert!(started.elapsed() >= interval);
    assert_ne!(a.session().await.unwrap().user_id(), b.session().await.unwrap().user_id());

    // Set to fail instead: a clear error, nothing sent to /session-server.
    let failing = BunqClient::without_key(config.clone())
        .unwrap()
        .with_session_interval(Duration::from_secs(30))
        .with_session_rate_limit(SessionRateLimit::Fail);
    failing.create_context(PERSON_KEY).await.unwrap();
    let e = failing.create_context(PARTNER_KEY).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Session);
    let text = e.to_string();
    assert!(text.contains("one /session-server call per 30 s per IP"), "{text}");
    assert!(text.contains("fail rather than wait"), "{text}");
    assert_eq!(bunq_hits(&server, "POST /session-server"), 3);

    // The limiter belongs to a client, not to the process: another client is not held up.
    let other =
        BunqClient::without_key(config).unwrap().with_session_rate_limit(SessionRateLimit::Fail);
    other.create_context(PARTNER_KEY).await.unwrap();
}

/// At one save: device-server and session-server hits so far, installation and session saved.
type Save = (usize, usize, bool, bool);

/// A store that records, at each save, what the server had seen and what was saved.
struct Recording {
    file: FileStore,
    server: Arc<Sandbox>,
    saves: Arc<Mutex<Vec<Save>>>,
}

impl ContextStore for Recording {
    fn load(&self) -> StoreFuture<'_, Option<StoredContext>> {
        self.file.load()
    }

    fn save<'a>(&'a self, context: &'a StoredContext) -> StoreFuture<'a, ()> {
        self.saves.lock().unwrap().push((
            bunq_hits(&self.server, "POST /device-server"),
            bunq_hits(&self.server, "POST /session-server"),
            context.is_installed(),
            context.session().is_some(),
        ));
        self.file.save(context)
    }

    fn describe(&self) -> String {
        self.file.describe()
    }
}

fn provision_request() -> types::PartnerUserProvisionCreate {
    types::PartnerUserProvisionCreate {
        director_relation_provision_id: None,
        email: "user@example.com".into(),
        external_uuid: "4f8f94de-2cc0-4ec7-a7f8-f0c7f560e59a".parse().unwrap(),
        phone_number: "+31612345678".into(),
        products: vec!["USER_VERIFIED".into()],
        user_verified_type: types::UserVerifiedType::PartnerUserPerson,
    }
}

#[tokio::test]
async fn partner_flow_provision_poll_onboard_and_notification_filters() {
    let server = start().await;
    server.set_bunq_provision_reads(3);
    let client = client(&server);
    let partner = client.create_context(PARTNER_KEY).await.unwrap();

    // Invalid input is refused before anything is sent.
    let mut bad = provision_request();
    bad.phone_number = "0612345678".into();
    let e = partner.create_user_provision(bad).await.unwrap_err();
    assert_eq!(e.field(), Some("phone_number"));
    assert_eq!(bunq_hits(&server, "POST /partner-user-provision"), 0);

    let provision = partner.create_user_provision(provision_request()).await.unwrap();
    assert!(provision.id() > 0);
    let poll = ProvisionPoll::default()
        .with_interval(Duration::from_millis(10))
        .with_deadline(Duration::from_secs(5));
    let ready = partner.wait_for_user_provision(provision.id(), poll).await.unwrap();
    assert_eq!(bunq_hits(&server, "GET /partner-user-provision/{id}"), 3);
    let token = server.bunq_provision_token(provision.id());
    assert_eq!(Some(ready.token_value().expose().to_string()), token);
    assert_eq!(ready.provision().sub_status(), Some("PENDING_PROCESS_USER_ONBOARDING"));
    assert!(
        ready.provision().details().unwrap().credential.as_ref().unwrap().token_value.is_none()
    );

    // The user's context: its token value is stored before its first use.
    let dir = TempDir::new("partner");
    let saves = Arc::new(Mutex::new(Vec::new()));
    let store = Recording {
        file: FileStore::new(dir.file("user-1.json")),
        server: server.clone(),
        saves: saves.clone(),
    };
    let user = client.open_provisioned_user(&ready, store).await.unwrap();
    let saves = saves.lock().unwrap().clone();
    assert_eq!(
        saves,
        vec![
            (1, 1, false, false), // the token value, before the user's device-server call
            (1, 1, true, false),  // installation
            (2, 1, true, false),  // device
            (2, 2, true, true),   // session
        ]
    );
    let stored = stored_json(&dir.file("user-1.json"));
    assert_eq!(stored["api_key"].as_str(), Some(ready.token_value().expose()));

    // The provisioned user's session: a UserApiKey, acting on its own id.
    let session = user.session().await.unwrap();
    assert_eq!(session.user_id(), user_id(&server, ready.token_value().expose()));
    let granted_by = session.user().granted_by_user_id().expect("a UserApiKey's granting person");
    assert_ne!(granted_by, session.user_id());
    // Used once: the provision no longer shows the token.
    let after = partner.user_provision(provision.id()).await.unwrap();
    assert!(after.token_value().is_none() && !after.is_ready());

    user.set_notification_filters_url(vec![url_rule("PAYMENT", "https://example.com/pay")])
        .await
        .unwrap();
    let push = vec![types::NotificationFilterPushRule { category: "SCHEDULE_RESULT".into() }];
    user.set_notification_filters_push(push).await.unwrap();
    assert_eq!(user.notification_filters_url().await.unwrap().len(), 1);
    let pushes = user.notification_filters_push().await.unwrap();
    assert_eq!(pushes[0].category.as_deref(), Some("SCHEDULE_RESULT"));
    assert_eq!(
        server.bunq_notification_filters(session.user_id(), false)[0]["category"],
        "PAYMENT"
    );
    assert_eq!(server.bunq_notification_filters(session.user_id(), true).len(), 1);

    // The partner's own callbacks go on the partner company's id.
    let rule = url_rule("PARTNER_USER_PROVISION", "https://example.com/provision");
    partner.set_notification_filters_url(vec![rule]).await.unwrap();
    assert_eq!(server.bunq_notification_filters(user_id(&server, PARTNER_KEY), false).len(), 1);
    // A non-https callback is refused before sending.
    let e = user
        .set_notification_filters_url(vec![url_rule("PAYMENT", "http://example.com")])
        .await
        .unwrap_err();
    assert_eq!(e.field(), Some("notification_target"));
    assert_eq!(bunq_refusals(&server), Vec::<String>::new());
}

#[tokio::test]
async fn a_provision_that_never_becomes_ready_gives_up_at_the_deadline() {
    let server = start().await;
    let partner = client(&server).create_context(PARTNER_KEY).await.unwrap();
    // The documented sandbox input: an e-mail starting `never-ready` is never ready.
    let mut request = provision_request();
    request.email = "never-ready@example.com".into();
    let provision = partner.create_user_provision(request).await.unwrap();
    let poll = ProvisionPoll::default()
        .with_interval(Duration::from_millis(20))
        .with_deadline(Duration::from_millis(200));
    let started = Instant::now();
    let e = partner.wait_for_user_provision(provision.id(), poll).await.unwrap_err();
    let elapsed = started.elapsed();
    assert_eq!(e.kind(), ErrorKind::Timeout);
    let text = e.to_string();
    let expected =
        format!("provision {} was not ready for onboarding within 0.2 s", provision.id());
    assert!(text.contains(&expected), "{text}");
    assert!(text.contains("last seen: status CREATED, sub_status PENDING_PROCESS_USER"), "{text}");
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
    let reads = bunq_hits(&server, "GET /partner-user-provision/{id}");
    assert!((1..=11).contains(&reads), "{reads} reads, one per 20 ms for 200 ms");

    // A cancelled provision ends the wait at once, with a typed reason.
    partner.cancel_user_provision(provision.id()).await.unwrap();
    let e = partner.wait_for_user_provision(provision.id(), poll).await.unwrap_err();
    assert_eq!(api_reason(&e), Some(BunqReason::ProvisionEnded));
    assert!(e.to_string().contains("status CANCELLED"), "{e}");
}

#[tokio::test]
async fn a_429_is_retried_after_the_rate_window() {
    // The default policy of a bunq client waits bunq's documented 3 s window.
    let server = start().await;
    let default =
        BunqClient::without_key(Config::builder(embed_sessions::bunq::Bunq).build().unwrap())
            .unwrap();
    assert_eq!(default.retry_policy(), bunq::default_retry_policy());
    // A policy chosen on purpose is kept, even when it equals the generic default.
    let chosen =
        Config::builder(embed_sessions::bunq::Bunq).retry(RetryPolicy::default()).build().unwrap();
    assert_eq!(BunqClient::without_key(chosen).unwrap().retry_policy(), RetryPolicy::default());
    assert_eq!(
        bunq::default_retry_policy(),
        RetryPolicy::default().default_retry_after_429(Some(Duration::from_secs(3)))
    );

    // Here the window is shortened to keep the test fast.
    let window = Duration::from_millis(300);
    let client = client_with(&server, RetryPolicy::default().default_retry_after_429(Some(window)));
    let ctx = client.create_context(PERSON_KEY).await.unwrap();
    let limited = bunq_error(429, "Too many requests. You have hit the rate limit.");
    bunq_respond(&server, USER_PATHS, limited, 1);
    let started = Instant::now();
    assert!(ctx.notification_filters_url().await.is_ok());
    assert!(started.elapsed() >= window, "{:?}", started.elapsed());
    assert_eq!(bunq_hits(&server, LIST_URL), 2);
    // The retry was re-signed with a fresh request id (a reused one is refused with 400): the
    // only refusal is the 429 itself.
    assert_eq!(bunq_refusals(&server), vec![format!("{LIST_URL}: 429")]);
}

#[tokio::test]
async fn bunq_errors_are_typed_with_reasons_hints_and_response_ids() {
    let server = start().await;
    let ctx = client_with(&server, RetryPolicy::none()).create_context(PERSON_KEY).await.unwrap();
    let cases = [
        (466, "Request signature is required.", BunqReason::SignatureRequired),
        (490, "The user is not allowed to do this.", BunqReason::UserError),
        (491, "Maintenance.", BunqReason::Maintenance),
        (
            400,
            "User credentials are incorrect. Incorrect API key or IP address.",
            BunqReason::CredentialsIncorrect,
        ),
    ];
    for (status, text, reason) in cases {
        bunq_respond(&server, USER_PATHS, bunq_error(status, text), 1);
        let e = ctx.notification_filters_url().await.unwrap_err();
        assert_eq!((e.kind(), e.status()), (ErrorKind::Api, Some(status)), "{e}");
        assert_eq!(api_reason(&e), Some(reason), "{e}");
        assert!(e.hint().is_some(), "{reason:?} has a hint");
        assert_eq!(e.api_error().unwrap().message.as_deref(), Some(text));
        assert!(e.api_error().unwrap().response_id.is_some());
    }

    // Several entries are joined.
    let two = json!({"Error": [
        {"error_description": "First problem."},
        {"error_description": "Second problem.", "error_description_translated": "Tweede."}
    ]});
    bunq_respond(&server, USER_PATHS, bunq_raw(400, "application/json", two.to_string()), 1);
    let e = ctx.notification_filters_url().await.unwrap_err();
    assert_eq!(e.api_error().unwrap().message.as_deref(), Some("First problem.; Second problem."));

    // An HTML 502 from a proxy: unexpected response, with its status and an excerpt.
    let html = "<html><body>502 Bad Gateway</body></html>";
    bunq_respond(&server, USER_PATHS, bunq_raw(502, "text/html", html), 1);
    let e = ctx.notification_filters_url().await.unwrap_err();
    assert_eq!((e.kind(), e.status()), (ErrorKind::UnexpectedResponse, Some(502)));
    assert!(e.body_excerpt().unwrap().contains("502 Bad Gateway"));
    assert!(e.is_retryable());
}

#[tokio::test]
async fn context_files_refuse_corruption_other_environments_and_never_tear() {
    let server = start().await;
    let dir = TempDir::new("files");
    let path = dir.file("nested/ctx.json");
    let client = client(&server);
    let ctx =
        client.context().api_key(PERSON_KEY).store(FileStore::new(&path)).send().await.unwrap();
    let good = std::fs::read(&path).unwrap();
    let hits = hits_of(&server, "bunq");

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
        let dir_mode = std::fs::metadata(path.parent().unwrap()).unwrap().permissions().mode();
        assert_eq!(dir_mode & 0o777, 0o700, "{dir_mode:o}");
    }

    // Truncated: a clear error naming the file; the file is left as it is; nothing is sent.
    let truncated = &good[..good.len() / 2];
    std::fs::write(&path, truncated).unwrap();
    let e = client.context().store(FileStore::new(&path)).send().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Store);
    let text = e.to_string();
    assert!(text.contains(&path.display().to_string()), "{text}");
    assert!(text.contains("truncated JSON") && text.contains("left untouched"), "{text}");
    assert!(!text.contains(PERSON_KEY));
    assert_eq!(std::fs::read(&path).unwrap(), truncated);
    // A save over it is refused too.
    let e = FileStore::new(&path).save(&ctx.snapshot().await).await.unwrap_err();
    assert!(e.to_string().contains("refusing to overwrite"), "{e}");
    assert_eq!(std::fs::read(&path).unwrap(), truncated);
    assert_eq!(hits_of(&server, "bunq"), hits);

    // A context made for the sandbox is refused by a production client (and the other way).
    let mut sandbox: Value = serde_json::from_slice(&good).unwrap();
    sandbox["environment"] = json!("sandbox");
    sandbox["base_url"] = json!(bunq::SANDBOX_URL);
    std::fs::write(&path, sandbox.to_string()).unwrap();
    let production =
        BunqClient::without_key(Config::builder(embed_sessions::bunq::Bunq).build().unwrap())
            .unwrap();
    let e = production.context().store(FileStore::new(&path)).send().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config);
    let text = e.to_string();
    assert!(text.contains("holds a bunq sandbox context") && text.contains("production"), "{text}");
    let stored = StoredContext::from_json(sandbox.to_string().as_bytes()).unwrap();
    assert!(production.restore(stored.clone()).is_err());
    // ... and by a client for another server.
    assert!(client.restore(stored).unwrap_err().to_string().contains("sandbox"));

    // Concurrent saves (one store, and two stores on one path) never leave a torn file.
    std::fs::write(&path, &good).unwrap();
    let other = Arc::new(FileStore::new(&path));
    let mut tasks = Vec::new();
    for i in 0..24 {
        let ctx = ctx.clone();
        let other = other.clone();
        tasks.push(tokio::spawn(async move {
            if i % 2 == 0 { ctx.save().await } else { other.save(&ctx.snapshot().await).await }
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let last = std::fs::read(&path).unwrap();
    let reread = StoredContext::from_json(&last).unwrap();
    assert_eq!(reread.device_id(), Some(ctx.device_id()));
    let leftovers: Vec<_> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(leftovers, vec!["ctx.json".to_string()], "no temporary files left");
}

#[test]
fn configuration_mistakes_are_caught_before_sending() {
    let sandbox_key_in_production =
        Config::builder(embed_sessions::bunq::Bunq).api_key("sandbox_abc").build().unwrap();
    let e = BunqClient::without_key(sandbox_key_in_production).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config);
    assert!(e.to_string().contains("sandbox API key"), "{e}");
    assert!(!e.to_string().contains("sandbox_abc"));

    // A Vlens configuration for a bunq client does not compile (`Config<Vlens>`).

    let client =
        BunqClient::without_key(Config::builder(embed_sessions::bunq::Bunq).build().unwrap())
            .unwrap();
    let e = client.clone().with_permitted_ips(["10.0.0.1", "::1"]).unwrap_err();
    assert_eq!(e.field(), Some("permitted_ips"));
    assert!(client.with_permitted_ips(["10.0.0.1", "*"]).is_ok());
}

#[tokio::test]
async fn secrets_never_show_in_debug_errors_or_traces() {
    let dir = TempDir::new("redaction");
    let (server, debug_output, file, provision_id) = {
        let server = start().await;
        let client = client(&server);
        let partner = client.create_context(PARTNER_KEY).await.unwrap();
        let provision = partner.create_user_provision(provision_request()).await.unwrap();
        let poll = ProvisionPoll::default().with_interval(Duration::from_millis(5));
        let ready = partner.wait_for_user_provision(provision.id(), poll).await.unwrap();
        let path = dir.file("user.json");
        let user = client.open_provisioned_user(&ready, FileStore::new(&path)).await.unwrap();
        user.notification_filters_url().await.unwrap();
        // An error path: a wrong signature (the 400 body is logged nowhere with secrets).
        let mut json: Value =
            serde_json::from_str(user.snapshot().await.to_json().unwrap().expose()).unwrap();
        json["installation"]["private_key"] = json!(other_private_key_pem());
        let wrong =
            client.restore(StoredContext::from_json(json.to_string().as_bytes()).unwrap()).unwrap();
        let err = wrong.notification_filters_url().await.unwrap_err();
        let snapshot = user.snapshot().await;
        let debug_output = format!(
            "{client:?}\n{partner:?}\n{user:?}\n{:?}\n{provision:?}\n{ready:?}\n{snapshot:?}\n\
             {err:?}\n{err}\n{:?}",
            user.session().await.unwrap(),
            client.context().api_key(PERSON_KEY)
        );
        (server, debug_output, std::fs::read_to_string(&path).unwrap(), provision.id())
    };
    // The capture holds every test's traces so far: none may hold any key or token.
    let logs = global_logs().contents();
    assert!(logs.contains("embed_sessions.request"), "spans are captured");
    assert!(logs.contains("create_session_server") && logs.contains("attempt"));

    let file_json: Value = serde_json::from_str(&file).unwrap();
    let private_key = file_json["installation"]["private_key"].as_str().unwrap();
    let key_lines: Vec<&str> =
        private_key.lines().filter(|l| !l.starts_with("-----") && l.len() > 20).collect();
    assert!(!key_lines.is_empty());
    let mut secrets: Vec<String> = server.secrets();
    secrets.extend([PARTNER_KEY.to_string(), PERSON_KEY.to_string()]);
    secrets.extend(key_lines.iter().map(|l| l.to_string()));
    assert!(secrets.len() > 6, "tokens, token value, keys: {}", secrets.len());
    for secret in &secrets {
        assert!(!logs.contains(secret.as_str()), "a secret in the TRACE logs");
        assert!(!debug_output.contains(secret.as_str()), "a secret in Debug or errors");
    }
    // The file holds them (it is the store), with mode 0600.
    let token = server.bunq_provision_token(provision_id).expect("a ready provision's token");
    assert!(file.contains(&token));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(dir.file("user.json")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
