//! Regressions of the security review (issue 13): each test pins one finding against a
//! loopback server (httpmock, or the sandbox's strict bunq) or a local file.
#![cfg(all(feature = "vlens", feature = "vrplatform", feature = "bunq"))]

use std::error::Error as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use embed_sessions::bunq::{BunqClient, FileStore, ProvisionPoll, raw::types as bunq_types};
use embed_sessions::vlens::{AdminCredentials, VlensClient};
use embed_sessions::{Config, Error, ErrorKind, RetryPolicy};
use embed_sessions_sandbox::Sandbox;
use httpmock::MockServer;
use serde_json::json;

const VLENS_KEY: &str = "vlens-api-key-SECRET-4711";
const PASSWORD: &str = "admin-password-SECRET-9";
/// The sandbox's bunq: a key containing `person` is a `UserPerson`, any other a partner
/// `UserCompany`.
const PARTNER_KEY: &str = "partner-api-key-0001-secret";
const PERSON_KEY: &str = "person-api-key-0002-secret";

/// Everything an error can print: Display, Debug, and the whole `source()` chain.
fn everything(e: &Error) -> String {
    let mut out = format!("{e}\n{e:?}");
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(&format!("\n{s}\n{s:?}"));
        source = s.source();
    }
    out
}

fn vlens(server: &MockServer) -> VlensClient {
    embed_sessions_testkit::global_logs();
    let config = Config::builder(embed_sessions::vlens::Vlens)
        .api_key(VLENS_KEY)
        .base_url(server.base_url())
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    VlensClient::new(config).unwrap()
}

const AUTH_SESSION: &str = "/api/IdentityUserSession/CreateAuthSession";

/// Finding 1: an unexpected 2xx shape kept the serde error as the source, whose text quotes
/// the offending value (here a token where a code was expected).
#[tokio::test]
async fn serde_quoted_values_reach_neither_debug_nor_the_source_chain() {
    let server = MockServer::start_async().await;
    let token = "vl_tok_SERDE_QUOTED_123";
    server.mock(|when, then| {
        when.path(AUTH_SESSION);
        then.status(200).json_body(json!({"data": token, "error_code": token}));
    });
    let e = vlens(&server).auth_session().email("a@b.co").send().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UnexpectedResponse, "{e:?}");
    let text = everything(&e);
    assert!(!text.contains(token), "{text}");
    assert!(text.contains("wrong shape or field types"), "{text}");
}

/// Finding 2: a success body that is not JSON was shown verbatim.
#[tokio::test]
async fn non_json_success_bodies_are_described_not_shown() {
    let server = MockServer::start_async().await;
    let secret = "tok_PLAIN_TEXT_SECRET_77";
    server.mock(|when, then| {
        when.path(AUTH_SESSION);
        then.status(200).header("content-type", "text/plain").body(format!("accessToken={secret}"));
    });
    let e = vlens(&server).auth_session().email("a@b.co").send().await.unwrap_err();
    let text = everything(&e);
    assert!(!text.contains(secret), "{text}");
    assert_eq!(e.body_excerpt(), Some("(36 bytes, text/plain, not shown)"), "{text}");
}

/// Finding 3 (Vlens): a huge `expireInSeconds` overflowed `Instant + Duration` (exit 101).
#[tokio::test]
async fn huge_vlens_lifetimes_are_a_typed_error() {
    let server = MockServer::start_async().await;
    for (field, value) in [
        ("expireInSeconds", json!(i64::MAX)),
        ("expireInSeconds", json!(-5)),
        ("refreshTokenExpireInSeconds", json!(i64::MAX)),
    ] {
        let mut data = json!({
            "accessToken": "admin-access-1", "expireInSeconds": 3600,
            "refreshToken": "admin-refresh-1", "refreshTokenExpireInSeconds": 3600,
        });
        data[field] = value;
        let mut login = server.mock(|when, then| {
            when.path("/api/credentials/Login");
            then.status(200).json_body(json!({"data": data}));
        });
        let client =
            vlens(&server).with_admin(AdminCredentials::new("acme", "admin@acme.test", PASSWORD));
        let e = client.admin_token().await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UnexpectedResponse, "{field}: {e:?}");
        assert!(e.to_string().contains(field), "{e}");
        assert_eq!(e.operation(), Some("login"));
        login.delete();
    }
}

/// The sandbox without bunq's server-side session limit (the client's own limiter is what the
/// tests set).
async fn fake_bunq() -> Sandbox {
    embed_sessions_testkit::global_logs();
    Sandbox::builder().bunq_session_interval(Duration::ZERO).start().await.unwrap()
}

/// Requests the sandbox received (bunq's and every other).
fn total_hits(server: &Sandbox) -> usize {
    server.requests().len()
}

fn bunq_client(server: &Sandbox, key: Option<&str>) -> BunqClient {
    let mut builder = Config::builder(embed_sessions::bunq::Bunq)
        .base_url(&server.urls().bunq)
        .timeout(Duration::from_secs(1))
        .retry(RetryPolicy::none());
    if let Some(key) = key {
        builder = builder.api_key(key);
    }
    BunqClient::without_key(builder.build().unwrap()).unwrap()
}

/// Finding 3 (bunq): a correctly signed session with a huge `session_timeout` panicked in
/// chrono's addition.
#[tokio::test]
async fn huge_signed_bunq_session_timeouts_are_a_typed_error() {
    let server = fake_bunq().await;
    server.set_bunq_session_timeout(i64::MAX);
    let client =
        bunq_client(&server, Some(PERSON_KEY)).with_session_interval(Duration::from_millis(1));
    let e = client.create_context(PERSON_KEY).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UnexpectedResponse, "{e:?}");
    assert!(e.to_string().contains("session_timeout"), "{e}");
    assert_eq!(e.operation(), Some("create_session_server"));
    // Every request was well-formed and correctly signed (the sandbox refuses anything else).
    let refused: Vec<_> = server.requests().into_iter().filter(|r| r.status != 200).collect();
    assert!(refused.is_empty(), "{refused:?}");
}

/// A directory removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir()
            .join(format!("embed-sessions-security-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Finding 4: a stored context was used with another configured API key.
#[tokio::test]
async fn a_stored_context_is_refused_for_another_configured_key() {
    let server = fake_bunq().await;
    let dir = TempDir::new("other-key");
    let path = dir.0.join("ctx.json");
    let made = bunq_client(&server, Some(PERSON_KEY)).with_session_interval(Duration::ZERO);
    made.context().store(FileStore::new(&path)).send().await.unwrap();
    let before = total_hits(&server);
    // BUNQ_API_KEY=other: the configured key differs, no key given to the builder.
    let other = bunq_client(&server, Some("other_key_0123456789"));
    let e = other.context().store(FileStore::new(&path)).send().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config, "{e:?}");
    assert!(e.to_string().contains("another API key"), "{e}");
    assert_eq!(total_hits(&server), before, "nothing was sent");
    // With no key configured at all, the stored one is the context's key.
    let keyless = bunq_client(&server, None).with_session_interval(Duration::ZERO);
    keyless.context().store(FileStore::new(&path)).send().await.unwrap();
}

#[cfg(unix)]
mod planted_files {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    /// A valid context file at `dir/real.json`, made by a real flow.
    async fn real_context(server: &Sandbox, dir: &TempDir) -> PathBuf {
        let path = dir.0.join("real.json");
        let client = bunq_client(server, Some(PERSON_KEY)).with_session_interval(Duration::ZERO);
        client.context().store(FileStore::new(&path)).send().await.unwrap();
        path
    }

    async fn open_err(server: &Sandbox, path: &std::path::Path) -> Error {
        let before = total_hits(server);
        let client = bunq_client(server, Some(PERSON_KEY));
        let e = client.context().store(FileStore::new(path)).send().await.unwrap_err();
        assert_eq!(total_hits(server), before, "nothing was sent for {}", path.display());
        assert_eq!(e.kind(), ErrorKind::Store, "{e:?}");
        assert!(e.to_string().contains(&path.display().to_string()), "{e}");
        e
    }

    /// Finding 4: the file store followed symbolic links.
    #[tokio::test]
    async fn a_symlinked_context_is_refused() {
        let server = fake_bunq().await;
        let dir = TempDir::new("symlink");
        let real = real_context(&server, &dir).await;
        let link = dir.0.join("link.json");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let e = open_err(&server, &link).await;
        assert!(e.to_string().contains("symbolic link"), "{e}");
        // Saving through the link is refused too, and the real file is untouched.
        let before = std::fs::read(&real).unwrap();
        let store = FileStore::new(&link);
        let snapshot = embed_sessions::bunq::ContextStore::load(&FileStore::new(&real))
            .await
            .unwrap()
            .unwrap();
        assert!(embed_sessions::bunq::ContextStore::save(&store, &snapshot).await.is_err());
        assert_eq!(std::fs::read(&real).unwrap(), before);
    }

    /// Finding 4: a group/world-readable context only warned.
    #[tokio::test]
    async fn a_context_readable_by_others_is_refused() {
        let server = fake_bunq().await;
        let dir = TempDir::new("mode");
        let real = real_context(&server, &dir).await;
        for mode in [0o644, 0o640, 0o604, 0o660] {
            std::fs::set_permissions(&real, std::fs::Permissions::from_mode(mode)).unwrap();
            let e = open_err(&server, &real).await;
            assert!(e.to_string().contains(&format!("mode {mode:o}")), "{e}");
        }
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o600)).unwrap();
        bunq_client(&server, Some(PERSON_KEY))
            .with_session_interval(Duration::ZERO)
            .context()
            .store(FileStore::new(&real))
            .send()
            .await
            .unwrap();
    }

    /// Finding 4: reads were unbounded (a link to /dev/zero exhausted memory); a FIFO or a
    /// huge file are refused before they are read whole.
    #[tokio::test]
    async fn dev_zero_fifos_and_huge_files_are_refused() {
        let server = fake_bunq().await;
        let dir = TempDir::new("zero");
        let link = dir.0.join("zero.json");
        std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
        open_err(&server, &link).await;
        let huge = dir.0.join("huge.json");
        std::fs::write(&huge, vec![b' '; 4 * 1024 * 1024]).unwrap();
        std::fs::set_permissions(&huge, std::fs::Permissions::from_mode(0o600)).unwrap();
        let e = open_err(&server, &huge).await;
        assert!(e.to_string().contains("more than a context can be"), "{e}");
        let fifo = dir.0.join("fifo.json");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
        assert!(made.success());
        std::fs::set_permissions(&fifo, std::fs::Permissions::from_mode(0o600)).unwrap();
        let e = open_err(&server, &fifo).await;
        assert!(e.to_string().contains("not a regular file"), "{e}");
    }
}

/// Finding 5: a provider message echoing the ApiKey was printed as received, and `Debug`
/// printed `details` as received.
#[tokio::test]
async fn echoed_credentials_are_scrubbed_from_messages_and_details() {
    let server = MockServer::start_async().await;
    let echo = format!("ApiKey {VLENS_KEY} is not valid for this tenant");
    server.mock(|when, then| {
        when.path(AUTH_SESSION);
        then.status(400).json_body(json!({
            "error_code": 5001,
            "error_message": echo,
            "error_descriptions": {"ApiKey": [VLENS_KEY], "hint": format!("got {VLENS_KEY}")},
        }));
    });
    let e = vlens(&server).auth_session().email("a@b.co").send().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Api, "{e:?}");
    let text = everything(&e);
    assert!(!text.contains(VLENS_KEY), "{text}");
    assert!(e.to_string().contains("provider said: \"ApiKey [REDACTED] is not valid"), "{e}");
    // The same for an envelope error in a 200 (opened after the call) and for the admin
    // password echoed by a login failure.
    server.mock(|when, then| {
        when.path("/api/credentials/Login");
        then.status(200).json_body(json!({
            "error_code": 5003,
            "error_message": format!("user admin@acme.test with password {PASSWORD} refused"),
        }));
    });
    let admin =
        vlens(&server).with_admin(AdminCredentials::new("acme", "admin@acme.test", PASSWORD));
    let e = admin.admin_token().await.unwrap_err();
    let text = everything(&e);
    assert!(!text.contains(PASSWORD), "{text}");
    assert!(text.contains("[REDACTED]"), "{text}");
}

/// A credential the call itself sent (here a bearer token, not the configured key) and the
/// provider echoes is scrubbed from the call's error too.
#[tokio::test]
async fn an_echoed_bearer_token_is_scrubbed_from_the_error() {
    const TOKEN: &str = "bearer-token-SECRET-1234";
    const TENANT: &str = "4f8f94de-2cc0-4ec7-a7f8-f0c7f560e59a";
    let server = MockServer::start_async().await;
    server.mock(|when, then| {
        when.path(format!("/teams/{TENANT}"));
        then.status(401).json_body(json!({
            "code": "UNAUTHORIZED",
            "message": format!("token {TOKEN} has expired"),
        }));
    });
    let config = Config::builder(embed_sessions::vrplatform::VrPlatform)
        .api_key("vrp-provider-key")
        .base_url(server.base_url())
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let vrp = embed_sessions::vrplatform::VrPlatformClient::new(config).unwrap();
    let e = vrp.team_with_token(TENANT, &TOKEN.into()).await.unwrap_err();
    assert_eq!(e.status(), Some(401), "{e:?}");
    let text = everything(&e);
    assert!(!text.contains(TOKEN), "{text}");
    assert!(text.contains("token [REDACTED] has expired"), "{text}");
}

/// Finding 6: a bad base URL echoed its password.
#[test]
fn a_bad_base_url_never_echoes_its_password() {
    let e = Config::builder(embed_sessions::vrplatform::VrPlatform)
        .api_key("K")
        .base_url("https://admin:S3CRET@host:99999")
        .build()
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config);
    assert!(!everything(&e).contains("S3CRET"), "{e:?}");
}

/// Finding 8: `--wait` ran for minutes: a poll that needs a session renewal waited for bunq's
/// 30-second session slot past the deadline. Now the deadline bounds the whole operation
/// (plus one attempt's timeout).
#[tokio::test]
async fn waiting_for_a_provision_is_bounded_by_its_deadline() {
    let server = fake_bunq().await;
    // bunq's real interval: the renewal below would wait ~30 s for its slot.
    let client =
        bunq_client(&server, Some(PARTNER_KEY)).with_session_interval(Duration::from_secs(30));
    let partner = client.create_context(PARTNER_KEY).await.unwrap();
    let provision = partner
        .create_user_provision(bunq_types::PartnerUserProvisionCreate {
            director_relation_provision_id: None,
            // The sandbox input for a provision that stays PENDING_PROCESS_USER.
            email: "never-ready@example.com".into(),
            external_uuid: "4f8f94de-2cc0-4ec7-a7f8-f0c7f560e59a".parse().unwrap(),
            phone_number: "+31612345678".into(),
            products: vec!["USER_VERIFIED".into()],
            user_verified_type: bunq_types::UserVerifiedType::PartnerUserPerson,
        })
        .await
        .unwrap();
    server.expire_bunq_sessions();
    let poll = ProvisionPoll::default()
        .with_interval(Duration::from_millis(50))
        .with_deadline(Duration::from_secs(1));
    let started = Instant::now();
    let e = partner.wait_for_user_provision(provision.id(), poll).await.unwrap_err();
    let took = started.elapsed();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e:?}");
    // Deadline 1 s + one attempt (1 s), with slack for a loaded machine.
    assert!(took < Duration::from_millis(2_800), "took {took:?}: {e}");
}
