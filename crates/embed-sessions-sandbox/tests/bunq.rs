//! The sandbox's bunq: signatures both ways, the session limit, provisioning, filters.

use std::time::Duration;

use embed_sessions_sandbox::Sandbox;
use embed_sessions_testkit::bunq::RawBunq;
use serde_json::json;

async fn sandbox(interval: Duration) -> Sandbox {
    Sandbox::builder().bunq_session_interval(interval).start().await.unwrap()
}

#[tokio::test]
async fn signatures_are_required_and_verified() {
    let sb = sandbox(Duration::ZERO).await;
    let mut c = RawBunq::new(&sb.urls().bunq);
    let install = c.install().await;
    assert!(c.server_signed(&install), "installation answer is signed");
    let body =
        json!({"description": "tests", "secret": "sandbox_partner_key_1", "permitted_ips": ["*"]});
    let inst = c.installation.clone();
    // Missing signature: 466.
    let a = c.send("POST", "/device-server", Some(&body), inst.as_deref(), None).await;
    assert_eq!(a.status, 466, "{}", a.error());
    assert_eq!(a.error(), "Request signature is required for this operation.");
    // A signature of other bytes: 400.
    let wrong = c.sign(b"other bytes");
    let a =
        c.send("POST", "/device-server", Some(&body), inst.as_deref(), Some(Some(&wrong))).await;
    assert_eq!(a.status, 400);
    assert_eq!(a.error(), "The request signature is invalid.");
    // Not base64 at all: 400 too, no panic.
    let a = c.send("POST", "/device-server", Some(&body), inst.as_deref(), Some(Some("%%%"))).await;
    assert_eq!(a.status, 400);
    // Signed by another installation's key: 400.
    let other = RawBunq::new(&sb.urls().bunq);
    let foreign = other.sign(body.to_string().as_bytes());
    let a =
        c.send("POST", "/device-server", Some(&body), inst.as_deref(), Some(Some(&foreign))).await;
    assert_eq!(a.status, 400);
    // Errors are not signed; the right signature passes and the answer is signed.
    assert!(a.headers.get("x-bunq-server-signature").is_none());
    let a = c.device("sandbox_partner_key_1").await;
    assert_eq!(a.status, 200, "{}", a.error());
    assert!(c.server_signed(&a));
    assert!(a.headers.get("x-bunq-client-response-id").is_some());
    // A wrong or missing token: 401, before any signature check.
    let a = c.send("POST", "/device-server", Some(&body), Some("nope"), Some(None)).await;
    assert_eq!((a.status, a.error().as_str()), (401, "Insufficient authorisation."));
    let a = c.send("POST", "/device-server", Some(&body), None, Some(None)).await;
    assert_eq!(a.status, 401);
}

#[tokio::test]
async fn headers_bunq_requires_are_checked() {
    let sb = sandbox(Duration::ZERO).await;
    let http = reqwest::Client::new();
    let url = format!("{}/installation", sb.urls().bunq);
    let a = http.post(&url).header("Cache-Control", "no-cache").body("{}").send().await.unwrap();
    // reqwest sends no User-Agent by default.
    assert_eq!(a.status(), 400);
    assert!(a.text().await.unwrap().contains("User-Agent"));
    let mut c = RawBunq::new(&sb.urls().bunq);
    c.install().await;
    // A reused request id is refused.
    let req = |id: &str| {
        http.post(&url)
            .header("User-Agent", "t")
            .header("Cache-Control", "no-cache")
            .header("X-Bunq-Client-Request-Id", id)
            .body("{}")
    };
    assert_eq!(req("same-id").send().await.unwrap().status(), 400); // body invalid
    let again = req("same-id").send().await.unwrap();
    assert_eq!(again.status(), 400);
    assert!(again.text().await.unwrap().contains("request id was used before"));
}

#[tokio::test]
async fn session_server_is_limited_per_client_address() {
    let sb = sandbox(Duration::from_secs(5)).await;
    let mut c = RawBunq::new(&sb.urls().bunq);
    let mut other = RawBunq::new(&sb.urls().bunq);
    c.open("sandbox_partner_key_2").await;
    let a = c.session("sandbox_partner_key_2").await;
    assert_eq!(a.status, 429, "second call within the interval");
    assert!(a.error().contains("maximum of 1 call per 5 seconds"), "{}", a.error());
    // Another client on the same address shares the limit.
    other.install().await;
    assert_eq!(other.device("sandbox_partner_key_3").await.status, 200);
    assert_eq!(other.session("sandbox_partner_key_3").await.status, 429);
    // The interval runs on sandbox time.
    sb.advance_clock(Duration::from_secs(5));
    assert_eq!(c.session("sandbox_partner_key_2").await.status, 200);
    assert_eq!(other.session("sandbox_partner_key_3").await.status, 429);
    // It can be changed while running (tests shorten it).
    sb.set_bunq_session_interval(Duration::ZERO);
    assert_eq!(other.session("sandbox_partner_key_3").await.status, 200);
    assert_eq!(c.session("sandbox_partner_key_2").await.status, 200);
}

#[tokio::test]
async fn default_limit_is_bunqs_30_seconds() {
    let sb = Sandbox::start().await.unwrap();
    let mut c = RawBunq::new(&sb.urls().bunq);
    c.open("sandbox_key_30s").await;
    assert_eq!(c.session("sandbox_key_30s").await.status, 429);
    sb.advance_clock(Duration::from_secs(29));
    assert_eq!(c.session("sandbox_key_30s").await.status, 429);
    sb.advance_clock(Duration::from_secs(2));
    assert_eq!(c.session("sandbox_key_30s").await.status, 200);
}

#[tokio::test]
async fn provisioning_progresses_to_ready_and_the_token_is_one_time() {
    let sb = Sandbox::builder()
        .bunq_session_interval(Duration::ZERO)
        .bunq_provision_reads(3)
        .start()
        .await
        .unwrap();
    let mut partner = RawBunq::new(&sb.urls().bunq);
    let user = partner.open("sandbox_partner_key_4").await;
    let partner_id = user["UserCompany"]["id"].as_i64().unwrap();
    let create = json!({"external_uuid": "4f8f94de-2cc0-4ec7-a7f8-f0c7f560e59a",
        "user_verified_type": "PARTNER_USER_PERSON", "email": "new@example.com",
        "phone_number": "+31612345678", "products": ["USER_VERIFIED"]});
    let a = partner.call("POST", "/partner-user-provision", Some(&create)).await;
    assert_eq!(a.status, 200, "{}", a.error());
    assert!(partner.server_signed(&a));
    let id = a.item("Id")["id"].as_i64().unwrap();
    let mut seen = Vec::new();
    let mut token = None;
    for _ in 0..3 {
        let a = partner.call("GET", &format!("/partner-user-provision/{id}"), None).await;
        assert_eq!(a.status, 200);
        let p = a.item("PartnerUserProvision");
        seen.push(p["sub_status"].as_str().unwrap().to_string());
        if p["credential"]["status"] == "PENDING_FIRST_USE" {
            token = p["credential"]["token_value"].as_str().map(String::from);
        } else {
            assert!(p["credential"].is_null());
        }
    }
    assert_eq!(
        seen,
        [
            "PENDING_PROCESS_RELATION_USER",
            "PENDING_PROCESS_OAUTH_REQUEST",
            "PENDING_PROCESS_USER_ONBOARDING"
        ]
    );
    let token = token.expect("ready with a token value");
    // Still there on another read until its first use.
    let a = partner.call("GET", &format!("/partner-user-provision/{id}"), None).await;
    assert_eq!(a.item("PartnerUserProvision")["credential"]["token_value"], token.as_str());
    // First use: the user's own context.
    let mut userc = RawBunq::new(&sb.urls().bunq);
    let user = userc.open(&token).await;
    let api_key_user = &user["UserApiKey"];
    assert!(api_key_user["id"].as_i64().is_some(), "{user}");
    assert_eq!(api_key_user["requested_by_user"]["UserCompany"]["id"], partner_id);
    assert!(api_key_user["granted_by_user"]["UserPerson"]["id"].as_i64().is_some());
    // Now null, and ACTIVE.
    let a = partner.call("GET", &format!("/partner-user-provision/{id}"), None).await;
    let p = a.item("PartnerUserProvision");
    assert!(p["credential"]["token_value"].is_null(), "{p}");
    assert_eq!(p["credential"]["status"], "ACTIVE");
    // A person's key may not provision; another partner cannot read this provision.
    let mut person = RawBunq::new(&sb.urls().bunq);
    person.open("sandbox_person_key").await;
    assert_eq!(person.call("POST", "/partner-user-provision", Some(&create)).await.status, 403);
    let mut other = RawBunq::new(&sb.urls().bunq);
    other.open("sandbox_partner_key_5").await;
    assert_eq!(other.call("GET", &format!("/partner-user-provision/{id}"), None).await.status, 404);
}

#[tokio::test]
async fn provisioning_inputs_never_ready_and_fail() {
    let sb = Sandbox::builder()
        .bunq_session_interval(Duration::ZERO)
        .bunq_provision_reads(1)
        .start()
        .await
        .unwrap();
    let mut partner = RawBunq::new(&sb.urls().bunq);
    partner.open("sandbox_partner_key_6").await;
    for (email, status, sub) in [
        ("never-ready@example.com", "CREATED", "PENDING_PROCESS_USER"),
        ("fail@example.com", "FAILED", "NONE"),
    ] {
        let create = json!({"external_uuid": "4f8f94de-2cc0-4ec7-a7f8-f0c7f560e59a",
            "user_verified_type": "PARTNER_USER_PERSON", "email": email,
            "phone_number": "+31612345678", "products": ["USER_VERIFIED"]});
        let id =
            partner.call("POST", "/partner-user-provision", Some(&create)).await.item("Id")["id"]
                .as_i64()
                .unwrap();
        for _ in 0..3 {
            let p = partner
                .call("GET", &format!("/partner-user-provision/{id}"), None)
                .await
                .item("PartnerUserProvision");
            assert_eq!(
                (p["status"].as_str(), p["sub_status"].as_str()),
                (Some(status), Some(sub)),
                "{p}"
            );
            assert!(p["credential"].is_null());
        }
    }
}

#[tokio::test]
async fn notification_filters_replace_on_post() {
    let sb = sandbox(Duration::ZERO).await;
    let mut c = RawBunq::new(&sb.urls().bunq);
    let user = c.open("sandbox_partner_key_7").await;
    let uid = user["UserCompany"]["id"].as_i64().unwrap();
    let path = format!("/user/{uid}/notification-filter-url");
    let two = json!({"notification_filters": [
        {"category": "PAYMENT", "notification_target": "https://example.com/a"},
        {"category": "MUTATION", "notification_target": "https://example.com/b"}]});
    let a = c.call("POST", &path, Some(&two)).await;
    assert_eq!(a.status, 200, "{}", a.error());
    assert_eq!(a.json()["Response"].as_array().unwrap().len(), 2);
    let one = json!({"notification_filters": [{"category": "CARD", "notification_target": "https://example.com/c"}]});
    c.call("POST", &path, Some(&one)).await;
    let a = c.call("GET", &path, None).await;
    let items = a.json()["Response"].as_array().unwrap().clone();
    assert_eq!(items.len(), 1, "replaced, not appended");
    assert_eq!(items[0]["NotificationFilterUrl"]["category"], "CARD");
    // Another user's filters: 403.
    assert_eq!(
        c.call("GET", &format!("/user/{}/notification-filter-url", uid + 999), None).await.status,
        403
    );
    // Push filters are separate.
    let a = c.call("GET", &format!("/user/{uid}/notification-filter-push"), None).await;
    assert_eq!(a.json()["Response"], json!([]));
}

#[tokio::test]
async fn the_facade_opens_a_context_and_provisions_a_user() {
    use embed_sessions::Config;
    use embed_sessions::bunq::{BunqClient, ProvisionPoll, raw};
    let sb = Sandbox::builder()
        .bunq_session_interval(Duration::ZERO)
        .bunq_provision_reads(2)
        .start()
        .await
        .unwrap();
    let config = Config::builder(embed_sessions::bunq::Bunq)
        .base_url(sb.urls().bunq.clone())
        .build()
        .unwrap();
    // The facade's own limiter would wait 30 s between the two session calls.
    let client =
        BunqClient::without_key(config).unwrap().with_session_interval(Duration::from_millis(1));
    let partner = client.create_context("sandbox_partner_facade").await.unwrap();
    let session = partner.session().await.unwrap();
    assert!(session.user_id() > 0);
    let request = raw::types::PartnerUserProvisionCreate {
        director_relation_provision_id: None,
        email: "facade@example.com".into(),
        external_uuid: uuid::Uuid::new_v4(),
        phone_number: "+31612345678".into(),
        products: vec!["USER_VERIFIED".into()],
        user_verified_type: raw::types::UserVerifiedType::PartnerUserPerson,
    };
    let provision = partner.create_user_provision(request).await.unwrap();
    let poll = ProvisionPoll::default().with_interval(Duration::from_millis(10));
    let ready = partner.wait_for_user_provision(provision.id(), poll).await.unwrap();
    let user = client
        .open_provisioned_user(
            &ready,
            embed_sessions::bunq::FileStore::new(
                std::env::temp_dir().join(format!("sandbox-facade-{}.json", std::process::id())),
            ),
        )
        .await
        .unwrap();
    let s = user.session().await.unwrap();
    assert_ne!(s.user_id(), session.user_id());
    let _ = std::fs::remove_file(
        std::env::temp_dir().join(format!("sandbox-facade-{}.json", std::process::id())),
    );
}

#[tokio::test]
async fn unsigned_and_badly_signed_answers_on_request() {
    use embed_sessions::bunq::BunqClient;
    use embed_sessions::{Config, RetryPolicy};
    use embed_sessions_sandbox::{Fault, Target};
    let sb = sandbox(Duration::ZERO).await;
    let mut c = RawBunq::new(&sb.urls().bunq);
    c.install().await;
    sb.add_fault_on(Target::Bunq, "/device-server", Fault::parse("unsigned").unwrap(), Some(1));
    let a = c.device("sandbox_key_sign_1").await;
    assert_eq!(a.status, 200);
    assert!(a.headers.get("x-bunq-server-signature").is_none());
    sb.add_fault(Target::Bunq, Fault::parse("bad-signature").unwrap(), Some(1));
    let a = c.device("sandbox_key_sign_1").await;
    assert!(a.headers.get("x-bunq-server-signature").is_some() && !c.server_signed(&a));
    assert!(c.server_signed(&c.device("sandbox_key_sign_1").await), "used up: signed again");
    // The facade refuses both.
    for fault in ["unsigned", "bad-signature"] {
        let config = Config::builder(embed_sessions::bunq::Bunq)
            .base_url(sb.urls().bunq.clone())
            .retry(RetryPolicy::none())
            .build()
            .unwrap();
        let client = BunqClient::without_key(config)
            .unwrap()
            .with_session_interval(Duration::from_millis(1));
        sb.add_fault_on(Target::Bunq, "/session-server", Fault::parse(fault).unwrap(), Some(1));
        let e = client.create_context("sandbox_key_sign_2").await.unwrap_err();
        assert!(e.to_string().to_lowercase().contains("signature"), "{fault}: {e}");
    }
}

#[tokio::test]
async fn the_session_timeout_is_configurable_and_sessions_can_be_expired() {
    let sb = sandbox(Duration::ZERO).await;
    sb.set_bunq_session_timeout(i64::MAX);
    let mut c = RawBunq::new(&sb.urls().bunq);
    let session = c.open("sandbox_person_timeout").await;
    // Answered as given (no overflow in the sandbox), and such a session does not expire.
    assert_eq!(session["UserPerson"]["session_timeout"], json!(i64::MAX), "{session}");
    sb.advance_clock(Duration::from_secs(10 * 365 * 86_400));
    let a = c.call("GET", "/user/1/notification-filter-url", None).await;
    assert_ne!(a.status, 401, "{}", a.error());
    // Expired on request: every session token is refused from now on.
    sb.expire_bunq_sessions();
    let a = c.call("GET", "/user/1/notification-filter-url", None).await;
    assert_eq!((a.status, a.error().as_str()), (401, "Insufficient authorisation."));
    // A short timeout expires in sandbox time.
    sb.set_bunq_session_timeout(60);
    let session = c.open("sandbox_person_timeout_2").await;
    assert_eq!(session["UserPerson"]["session_timeout"], json!(60));
    sb.advance_clock(Duration::from_secs(61));
    let a = c.call("GET", "/user/1/notification-filter-url", None).await;
    assert_eq!(a.status, 401);
}

#[tokio::test]
async fn user_ids_and_secrets_are_there_for_tests() {
    let sb = sandbox(Duration::ZERO).await;
    let mut c = RawBunq::new(&sb.urls().bunq);
    assert_eq!(sb.bunq_user_id("sandbox_partner_ids"), None);
    let user = c.open("sandbox_partner_ids").await;
    assert_eq!(sb.bunq_user_id("sandbox_partner_ids"), user["UserCompany"]["id"].as_i64());
    let secrets = sb.secrets();
    assert!(secrets.contains(&"sandbox_partner_ids".to_string()), "{secrets:?}");
    assert!(secrets.iter().any(|s| s.starts_with("installation_")), "{secrets:?}");
    assert!(secrets.iter().any(|s| s.starts_with("session_")), "{secrets:?}");
}
