//! Several `embed-sessions` processes sharing bunq contexts through a real Redis
//! (`EMBED_SESSIONS_TEST_REDIS`, default `redis://127.0.0.1:6379`; a unique key prefix per
//! test), against the sandbox's bunq embedded in the test.

use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use embed_sessions_sandbox::{Fault, Sandbox, Target};
use embed_sessions_testkit::redis::{
    clear, exists, random_store_key, scan, test_url, unique_prefix,
};
use embed_sessions_testkit::sandbox::{bunq_hits, hits_of};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_embed-sessions");
/// A partner company's API key at the sandbox's bunq.
const PARTNER_KEY: &str = "partner-api-key-0001-fleet";

/// The sandbox (on its own runtime) and the fleet's environment: Redis URL, prefix, store key.
struct Fleet {
    _rt: tokio::runtime::Runtime,
    sandbox: Sandbox,
    redis: String,
    prefix: String,
    store_key: String,
}

impl Fleet {
    fn new(test: &str) -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let sandbox = rt.block_on(embed_sessions_testkit::sandbox::start());
        let redis = test_url();
        Self { _rt: rt, sandbox, redis, prefix: unique_prefix(test), store_key: random_store_key() }
    }

    /// The fleet's Redis environment on `cmd`: URL, prefix, store key.
    fn redis_env<'c>(&self, cmd: &'c mut Command) -> &'c mut Command {
        cmd.env("EMBED_SESSIONS_REDIS_URL", &self.redis)
            .env("EMBED_SESSIONS_REDIS_PREFIX", &self.prefix)
            .env("EMBED_SESSIONS_STORE_KEY", &self.store_key)
    }

    /// `embed-sessions bunq session --context NAME` with the fleet's environment.
    fn session(&self, name: &str) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.args(["bunq", "session", "--context", name])
            .env("BUNQ_API_KEY", PARTNER_KEY)
            .env("BUNQ_BASE_URL", &self.sandbox.urls().bunq)
            .env("EMBED_SESSIONS_REDIS_URL", &self.redis)
            .env("EMBED_SESSIONS_REDIS_PREFIX", &self.prefix)
            .env("EMBED_SESSIONS_STORE_KEY", &self.store_key)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        clear(&self.redis, &self.prefix);
    }
}

fn finish(child: Child) -> (i32, Value, String) {
    let Output { status, stdout, stderr } = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&stderr).into_owned();
    let out = serde_json::from_slice(&stdout).unwrap_or(Value::Null);
    (status.code().unwrap_or(-1), out, stderr)
}

#[test]
fn eight_processes_open_one_context_with_one_installation_device_and_session() {
    let fleet = Fleet::new("eight");
    let children: Vec<Child> = (0..8).map(|_| fleet.session("partner").spawn().unwrap()).collect();
    let results: Vec<_> = children.into_iter().map(finish).collect();
    for (code, _, stderr) in &results {
        assert_eq!(*code, 0, "{stderr}");
    }
    let ids: Vec<&Value> = results.iter().map(|(_, out, _)| &out["sessionId"]).collect();
    assert!(ids[0].is_i64(), "{:?}", results[0]);
    assert!(ids.iter().all(|id| *id == ids[0]), "one session for all: {ids:?}");
    let sb = &fleet.sandbox;
    assert_eq!(bunq_hits(sb, "POST /installation"), 1);
    assert_eq!(bunq_hits(sb, "POST /device-server"), 1);
    assert_eq!(bunq_hits(sb, "POST /session-server"), 1);

    // Nothing secret is in Redis in the clear: the key, the tokens, the private key.
    let stored = scan(&fleet.redis, &fleet.prefix);
    // The context, and bunq's rate budgets (named by a digest of the key, never the key); no
    // lease is left behind.
    let (budgets, records): (Vec<_>, Vec<_>) = stored
        .iter()
        .partition(|(k, _)| k.starts_with(&format!("{}budget:bunq:key-", fleet.prefix)));
    assert_eq!(records.len(), 1, "the context only (leases are released): {records:?}");
    assert!(!budgets.is_empty(), "bunq's budgets are the fleet's");
    let mut secrets = sb.secrets();
    secrets.push(PARTNER_KEY.to_string());
    assert!(secrets.len() >= 3, "key, installation token, session token: {secrets:?}");
    for (key, values) in &stored {
        for value in values {
            for secret in &secrets {
                assert!(!value.contains(secret.as_str()), "{key} holds a secret in the clear");
            }
            assert!(!value.contains("PRIVATE KEY") && !value.contains("api_key"), "{key}");
        }
        let budget = budgets.iter().any(|(k, _)| k == key);
        assert!(budget || values.iter().any(|v| v.starts_with("es1.")), "{key}: a sealed value");
    }
    // Another process with another store key cannot read it, and says which variable.
    let mut cmd = fleet.session("partner");
    cmd.env("EMBED_SESSIONS_STORE_KEY", random_store_key());
    let (code, _, stderr) = finish(cmd.spawn().unwrap());
    assert_eq!(code, 4, "{stderr}");
    assert!(stderr.contains("EMBED_SESSIONS_STORE_KEY"), "{stderr}");
    assert_eq!(bunq_hits(sb, "POST /installation"), 1, "nothing stale or unreadable is replaced");
}

#[test]
fn a_killed_lease_holder_is_taken_over_within_the_lease_time_plus_one_attempt() {
    let fleet = Fleet::new("killed");
    let sb = &fleet.sandbox;
    // The first device registration hangs: its process holds the lease mid-creation.
    sb.add_fault_on(
        Target::Bunq,
        "/device-server",
        Fault::latency(Duration::from_secs(60)),
        Some(1),
    );
    let mut holder = fleet.session("partner").spawn().unwrap();
    let lease = format!("{}bunq:lease:partner", fleet.prefix);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !(exists(&fleet.redis, &lease) && bunq_hits(sb, "POST /installation") == 1) {
        assert!(Instant::now() < deadline, "the first process never took the lease");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200)); // into its device-server call
    holder.kill().unwrap();
    holder.wait().unwrap();

    let started = Instant::now();
    let (code, out, stderr) = finish(fleet.session("partner").spawn().unwrap());
    let took = started.elapsed();
    assert_eq!(code, 0, "{stderr}");
    assert!(out["sessionId"].is_i64(), "{out}");
    // The lease lives 10 s without its holder's extensions; then one attempt (30 s at most).
    assert!(took < Duration::from_secs(10 + 30), "{took:?}");
    assert_eq!(bunq_hits(sb, "POST /installation"), 1, "the holder's installation is reused");
    assert_eq!(bunq_hits(sb, "POST /session-server"), 1);
}

#[test]
fn redis_unreachable_or_no_store_key_is_a_clear_error_and_nothing_is_sent() {
    let fleet = Fleet::new("unreachable");
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut cmd = fleet.session("partner");
    cmd.env("EMBED_SESSIONS_REDIS_URL", format!("redis://:hunter2-redis-pass@127.0.0.1:{closed}"));
    let (code, _, stderr) = finish(cmd.spawn().unwrap());
    assert_eq!(code, 4, "{stderr}");
    assert!(stderr.contains(&format!("127.0.0.1:{closed}")), "{stderr}");
    assert!(stderr.contains("[REDACTED]") && !stderr.contains("hunter2"), "{stderr}");

    let mut cmd = fleet.session("partner");
    cmd.env_remove("EMBED_SESSIONS_STORE_KEY");
    let (code, _, stderr) = finish(cmd.spawn().unwrap());
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("EMBED_SESSIONS_STORE_KEY is not set"), "{stderr}");

    let mut cmd = fleet.session("partner");
    cmd.env("EMBED_SESSIONS_STORE_KEY", "dG9vIHNob3J0");
    let (code, _, stderr) = finish(cmd.spawn().unwrap());
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("must be 32"), "{stderr}");
    assert_eq!(hits_of(&fleet.sandbox, "bunq"), 0, "nothing was sent to bunq");

    let (code, _, stderr) = finish(fleet.session("bad/name").spawn().unwrap());
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("context"), "{stderr}");
}

#[test]
fn a_second_process_gets_the_vrplatform_session_from_redis_without_an_upstream_call() {
    let fleet = Fleet::new("vrp");
    let run = || {
        let mut cmd = Command::new(BIN);
        cmd.args(["vrplatform", "session", "--sub", "fleet-user", "--tenant"])
            .arg("4f8f94de-2cc0-4ec7-a7f8-f0c7f560e59a")
            .arg("--auto-provision")
            .env("VRPLATFORM_API_KEY", "fleet-provider-key")
            .env("VRPLATFORM_BASE_URL", &fleet.sandbox.urls().vrplatform)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        finish(fleet.redis_env(&mut cmd).spawn().unwrap())
    };
    let (code, first, stderr) = run();
    assert_eq!(code, 0, "{stderr}");
    let (code, second, stderr) = run();
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(first["accessToken"], second["accessToken"], "the same session");
    let upstream = fleet.sandbox.requests().iter().filter(|r| r.provider == "vrplatform").count();
    assert_eq!(upstream, 1, "the second process made no upstream call");
    let token = first["accessToken"].as_str().unwrap();
    for (key, values) in scan(&fleet.redis, &fleet.prefix) {
        assert!(values.iter().all(|v| !v.contains(token)), "{key} holds the token in the clear");
    }
}

#[test]
fn a_second_process_reuses_the_vlens_admin_token_from_redis() {
    let fleet = Fleet::new("vlens");
    let run = || {
        let mut cmd = Command::new(BIN);
        cmd.args(["vlens", "invitation", "--phone", "+201234567890"])
            .env("VLENS_API_KEY", "fleet-vlens-key")
            .env("VLENS_BASE_URL", &fleet.sandbox.urls().vlens)
            .env("VLENS_IFRAME_ORIGIN", &fleet.sandbox.urls().vlens_app)
            .env("VLENS_TENANCY_NAME", "acme")
            .env("VLENS_USERNAME", "admin")
            .env("VLENS_PASSWORD", "fleet-admin-pass")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        finish(fleet.redis_env(&mut cmd).spawn().unwrap())
    };
    for _ in 0..2 {
        let (code, out, stderr) = run();
        assert_eq!(code, 0, "{stderr}");
        assert!(out["token"].is_string(), "{out}");
    }
    let logins = fleet
        .sandbox
        .requests()
        .iter()
        .filter(|r| r.provider == "vlens" && r.path.to_ascii_lowercase().contains("login"))
        .count();
    assert_eq!(logins, 1, "one admin login for two processes");
    let secrets = fleet.sandbox.secrets();
    for (key, values) in scan(&fleet.redis, &fleet.prefix) {
        for v in values {
            assert!(secrets.iter().all(|s| !v.contains(s.as_str())), "{key} holds a secret");
        }
    }
}

/// The times (ms since the first) at which the sandbox's Vlens received requests.
fn vlens_times(sb: &Sandbox) -> Vec<i64> {
    let times: Vec<i64> = sb
        .requests()
        .iter()
        .filter(|r| r.provider == "vlens")
        .map(|r| chrono::DateTime::parse_from_rfc3339(&r.at).unwrap().timestamp_millis())
        .collect();
    let first = times.iter().copied().min().unwrap_or_default();
    let mut times: Vec<i64> = times.iter().map(|t| t - first).collect();
    times.sort_unstable();
    times
}

/// The most requests in any window of `window_ms` (less `slack_ms`: a request granted at the
/// edge of a window reaches the sandbox a few ms later than its slot).
fn busiest(times: &[i64], window_ms: i64, slack_ms: i64) -> usize {
    (0..times.len())
        .map(|i| times[i..].iter().take_while(|t| **t < times[i] + window_ms - slack_ms).count())
        .max()
        .unwrap_or(0)
}

#[test]
fn a_hundred_vlens_calls_from_four_processes_keep_vlens_published_limits() {
    let fleet = Fleet::new("budget");
    let loops: Vec<_> = (0..4)
        .map(|p| {
            let env: Vec<(String, String)> = vec![
                ("VLENS_API_KEY".into(), "fleet-budget-key".into()),
                ("VLENS_BASE_URL".into(), fleet.sandbox.urls().vlens.clone()),
                ("EMBED_SESSIONS_REDIS_URL".into(), fleet.redis.clone()),
                ("EMBED_SESSIONS_REDIS_PREFIX".into(), fleet.prefix.clone()),
                ("EMBED_SESSIONS_STORE_KEY".into(), fleet.store_key.clone()),
            ];
            std::thread::spawn(move || {
                for i in 0..25 {
                    let out = Command::new(BIN)
                        .args(["--timeout", "120", "vlens", "auth-session", "--email"])
                        .arg(format!("user{p}-{i}@example.com"))
                        .envs(env.iter().map(|(k, v)| (k, v)))
                        .output()
                        .unwrap();
                    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
                }
            })
        })
        .collect();
    for l in loops {
        l.join().unwrap();
    }
    let times = vlens_times(&fleet.sandbox);
    assert_eq!(times.len(), 100);
    let per_second = busiest(&times, 1_000, 20);
    assert!(per_second <= 10, "{per_second} requests within a second: {times:?}");
    let per_minute = busiest(&times, 60_000, 20);
    assert!(per_minute <= 60, "{per_minute} requests within a minute");
    assert!(times[60] >= 59_900, "the 61st waited for the minute: {times:?}");
}

#[test]
fn provision_with_redis_stores_the_users_context_under_the_partners_name() {
    let fleet = Fleet::new("provision");
    fleet.sandbox.set_bunq_provision_reads(1);
    let (code, _, stderr) = finish(fleet.session("partner").spawn().unwrap());
    assert_eq!(code, 0, "{stderr}");
    let external = "4f8f94de-2cc0-4ec7-a7f8-f0c7f560e59a";
    let mut cmd = Command::new(BIN);
    cmd.args(["bunq", "provision", "--context", "partner", "--email", "new@example.com"])
        .args(["--phone", "+31612345678", "--external-id", external, "--wait", "20"])
        .env("BUNQ_BASE_URL", &fleet.sandbox.urls().bunq)
        .env_remove("BUNQ_API_KEY")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let (code, out, stderr) = finish(fleet.redis_env(&mut cmd).spawn().unwrap());
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(out["userContext"], format!("partner.user-{external}"));
    let names: Vec<String> =
        scan(&fleet.redis, &fleet.prefix).into_iter().map(|(k, _)| k).collect();
    let user_key = format!("{}bunq:context:partner.user-{external}", fleet.prefix);
    assert!(names.contains(&user_key), "{names:?}");
    // The one-time token value is in Redis only sealed.
    let id = out["id"].as_i64().unwrap();
    let token = fleet.sandbox.bunq_provision_token(id).unwrap();
    for (key, values) in scan(&fleet.redis, &fleet.prefix) {
        assert!(values.iter().all(|v| !v.contains(&token)), "{key} holds the token value");
    }
    assert!(!out.to_string().contains(&token) && !stderr.contains(&token));
}
