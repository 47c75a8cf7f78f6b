//! bunq contexts shared through a real Redis (`EMBED_SESSIONS_TEST_REDIS`, default
//! `redis://127.0.0.1:6379`, a unique key prefix per test; or a `redis-server` of the test's
//! own where it is stopped): versioned writes, one renewal across instances, Redis lost and
//! restarted. The processes-level tests (8 CLI processes, a killed lease holder) are in
//! `crates/embed-sessions-cli/tests/fleet.rs`.
#![cfg(all(feature = "bunq", feature = "redis"))]

use std::time::{Duration, Instant};

use embed_sessions::bunq::{BunqClient, ContextStore, RedisContextStore};
use embed_sessions::fleet::{Fleet, StoreKey};
use embed_sessions::{Config, ErrorKind, Secret};
use embed_sessions_testkit::redis::{OwnRedis, clear, random_store_key, test_url, unique_prefix};
use embed_sessions_testkit::sandbox::bunq_hits;

const PARTNER_KEY: &str = "partner-api-key-0003-fleet";

fn client(sandbox: &embed_sessions_sandbox::Sandbox) -> BunqClient {
    let config = Config::builder(embed_sessions::bunq::Bunq)
        .base_url(sandbox.urls().bunq.clone())
        .api_key(PARTNER_KEY)
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    BunqClient::new(config).unwrap().with_session_interval(Duration::from_millis(10))
}

async fn fleet(url: &str, prefix: &str, key: &str) -> Fleet {
    let key = StoreKey::from_base64(&Secret::new(key.to_string())).unwrap();
    Fleet::connect(url, prefix, key).await.unwrap()
}

#[tokio::test]
async fn of_two_writers_of_one_version_the_older_is_refused_and_the_newer_remains() {
    let (url, prefix, key) = (test_url(), unique_prefix("race"), random_store_key());
    let sandbox = embed_sessions_testkit::sandbox::start().await;
    let fleet = fleet(&url, &prefix, &key).await;
    let client_a = client(&sandbox);
    let a = client_a.context().store(RedisContextStore::new(&fleet, "ctx").unwrap());
    let a = a.send().await.unwrap();

    // Instance B reads the same version A holds.
    let b = RedisContextStore::new(&fleet, "ctx").unwrap();
    let b_copy = b.load().await.unwrap().unwrap();
    let read = b.version();
    // A renews its session: a newer version.
    let renewed = a.renew_session().await.unwrap();
    // B writes its older copy: refused, nothing written.
    let e = b.save(&b_copy).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Store);
    let text = e.to_string();
    assert!(text.contains(&format!("after this one read version {read}")), "{text}");
    assert!(text.contains("was not written"), "{text}");
    // What remains is A's.
    let fresh = RedisContextStore::new(&fleet, "ctx").unwrap();
    let stored = fresh.load().await.unwrap().unwrap();
    assert_eq!(fresh.version(), read + 1);
    let restored = client(&sandbox).restore(stored).unwrap();
    assert_eq!(restored.session().await.unwrap().id(), renewed.id());
    clear(&url, &prefix);
}

#[tokio::test]
async fn an_expired_session_is_renewed_once_across_instances() {
    let (url, prefix, key) = (test_url(), unique_prefix("renew"), random_store_key());
    let sandbox = embed_sessions_testkit::sandbox::start().await;
    // Two instances: their own client, fleet connection and store value each.
    let (f1, f2) = (fleet(&url, &prefix, &key).await, fleet(&url, &prefix, &key).await);
    let (c1, c2) = (client(&sandbox), client(&sandbox));
    let one = c1.context().store(RedisContextStore::new(&f1, "p").unwrap()).send().await.unwrap();
    let two = c2.context().store(RedisContextStore::new(&f2, "p").unwrap()).send().await.unwrap();
    assert_eq!(bunq_hits(&sandbox, "POST /installation"), 1, "the second used the first's");
    assert_eq!(bunq_hits(&sandbox, "POST /session-server"), 1);

    // bunq ends the session; both instances call at once: one renewal reaches bunq.
    sandbox.expire_bunq_sessions();
    let (r1, r2) = tokio::join!(one.notification_filters_url(), two.notification_filters_url());
    r1.unwrap();
    r2.unwrap();
    let seen: Vec<_> =
        embed_sessions_testkit::sandbox::bunq_requests(&sandbox, "POST /session-server")
            .iter()
            .map(|r| r.status)
            .collect();
    assert_eq!(
        seen.len(),
        2,
        "one creation, one renewal: {seen:?} {:?}",
        sandbox
            .requests()
            .iter()
            .map(|r| (r.method.clone(), r.path.clone(), r.status))
            .collect::<Vec<_>>()
    );
    assert_eq!(one.session().await.unwrap().id(), two.session().await.unwrap().id());
    clear(&url, &prefix);
}

#[tokio::test]
async fn redis_lost_mid_call_is_a_typed_error_and_after_a_restart_calls_succeed() {
    let mut redis = OwnRedis::start();
    let sandbox = embed_sessions_testkit::sandbox::start().await;
    let fleet = fleet(&redis.url(), "lost:", &random_store_key()).await;
    let c = client(&sandbox);
    let ctx = c.context().store(RedisContextStore::new(&fleet, "c").unwrap()).send().await.unwrap();
    let before = bunq_hits(&sandbox, "POST /session-server");

    redis.stop();
    let started = Instant::now();
    let e = ctx.renew_session().await.unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Store | ErrorKind::Timeout), "{e:?}");
    assert!(e.to_string().contains("Redis at redis://127.0.0.1"), "{e}");
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    assert_eq!(bunq_hits(&sandbox, "POST /session-server"), before, "no renewal without the lease");

    // Restarted empty: the context is written again from this instance, nothing stale trusted.
    redis.restart();
    let deadline = Instant::now() + Duration::from_secs(20);
    let renewed = loop {
        match ctx.renew_session().await {
            Ok(s) => break s,
            Err(e) if Instant::now() < deadline => {
                tracing::debug!("reconnecting: {e}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("no recovery after the restart: {e}"),
        }
    };
    let stored = RedisContextStore::new(&fleet, "c").unwrap().load().await.unwrap().unwrap();
    let restored = client(&sandbox).restore(stored).unwrap();
    assert_eq!(restored.session().await.unwrap().id(), renewed.id());
    assert!(ctx.notification_filters_url().await.is_ok());
}

#[cfg(feature = "vrplatform")]
/// What a worker process of [`twenty_tasks_in_four_processes_make_one_upstream_call`] reads.
const WORKER: &str = "ES_FLEET_TEST_WORKER";
#[cfg(feature = "vrplatform")]
const TENANT: &str = "4f8f94de-2cc0-4ec7-a7f8-f0c7f560e59a";

#[cfg(feature = "vrplatform")]
/// 5 tasks asking the shared VRPlatform cache for one session at once; prints a digest of each
/// token (never the token).
async fn vrplatform_worker(base: String, redis: String, prefix: String, key: String) {
    use embed_sessions::vrplatform::{
        SessionCache, UserProvisioning, VrPlatform, VrPlatformClient,
    };
    let config =
        Config::builder(VrPlatform).api_key("fleet-provider-key").base_url(base).build().unwrap();
    let client = VrPlatformClient::new(config).unwrap();
    let cache = SessionCache::builder(client).shared(&fleet(&redis, &prefix, &key).await).build();
    let tasks: Vec<_> = (0..5)
        .map(|_| {
            let cache = cache.clone();
            tokio::spawn(async move {
                let s = cache.get("fleet-user", TENANT, UserProvisioning::AutoProvision).await;
                Fleet::digest(&[s.unwrap().token().expose()])
            })
        })
        .collect();
    for t in tasks {
        println!("token-digest {}", t.await.unwrap());
    }
}

#[cfg(feature = "vrplatform")]
#[test]
fn twenty_tasks_in_four_processes_make_one_upstream_call() {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    if let Ok(args) = std::env::var(WORKER) {
        // A worker: this same test binary, started by the test below.
        let mut parts = args.split('\n').map(str::to_string);
        let mut next = || parts.next().unwrap();
        rt.block_on(vrplatform_worker(next(), next(), next(), next()));
        return;
    }
    let (url, prefix, key) = (test_url(), unique_prefix("vrp"), random_store_key());
    let sandbox = rt.block_on(embed_sessions_testkit::sandbox::start());
    let exe = std::env::current_exe().unwrap();
    let args = [sandbox.urls().vrplatform.clone(), url.clone(), prefix.clone(), key].join("\n");
    let workers: Vec<_> = (0..4)
        .map(|_| {
            std::process::Command::new(&exe)
                .args(["twenty_tasks_in_four_processes_make_one_upstream_call", "--exact"])
                .args(["--nocapture", "--test-threads", "1"])
                .env(WORKER, &args)
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut digests = Vec::new();
    for w in workers {
        let out = w.wait_with_output().unwrap();
        assert!(out.status.success());
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        // libtest prints `test <name> ... ` before the first line: split on the tag.
        let found = text.split("token-digest ").skip(1);
        digests.extend(found.filter_map(|rest| rest.split_whitespace().next()).map(String::from));
    }
    assert_eq!(digests.len(), 20, "{digests:?}");
    assert!(digests.iter().all(|d| *d == digests[0]), "one session for all 20: {digests:?}");
    let upstream = sandbox
        .requests()
        .iter()
        .filter(|r| r.provider == "vrplatform" && r.method == "POST")
        .count();
    assert_eq!(upstream, 1, "one upstream call for 20 tasks in 4 processes");
    // Nothing of the session is in Redis in the clear.
    let secrets = sandbox.secrets();
    for (k, values) in embed_sessions_testkit::redis::scan(&url, &prefix) {
        assert!(!k.contains("fleet-user") && !k.contains(TENANT), "{k} names the user or team");
        for v in values {
            assert!(secrets.iter().all(|s| !v.contains(s.as_str())), "{k} holds a secret");
        }
    }
    clear(&url, &prefix);
}

#[tokio::test]
async fn the_session_server_limit_is_kept_across_instances_with_fleet_budgets() {
    let (url, prefix, key) = (test_url(), unique_prefix("sessions"), random_store_key());
    let sandbox = embed_sessions_testkit::sandbox::start().await;
    let interval = Duration::from_millis(600);
    // Two instances behind one address, one API key, two contexts: each has its own client
    // limiter; only the fleet's budget spaces their /session-server calls.
    let instance = |fleet: Fleet| {
        let config = Config::builder(embed_sessions::bunq::Bunq)
            .base_url(sandbox.urls().bunq.clone())
            .api_key(PARTNER_KEY)
            .rate_budgets(fleet.budgets())
            .build()
            .unwrap();
        (BunqClient::new(config).unwrap().with_session_interval(interval), fleet)
    };
    let (c1, f1) = instance(fleet(&url, &prefix, &key).await);
    let (c2, f2) = instance(fleet(&url, &prefix, &key).await);
    let (a, b) = tokio::join!(
        c1.context().store(RedisContextStore::new(&f1, "one").unwrap()).send(),
        c2.context().store(RedisContextStore::new(&f2, "two").unwrap()).send(),
    );
    a.unwrap();
    b.unwrap();
    let times = embed_sessions_testkit::sandbox::bunq_hit_times(&sandbox, "POST /session-server");
    assert_eq!(times.len(), 2);
    let gap = (times[1] - times[0]).num_milliseconds().abs();
    assert!(gap >= 580, "the second instance waited for the interval: {gap} ms");
    clear(&url, &prefix);
}
