//! Redis for the fleet tests: the shared test server at `EMBED_SESSIONS_TEST_REDIS` (default
//! `redis://127.0.0.1:6379`; `.ci/run` makes sure one runs, and a test fails, never skips,
//! when it does not), a unique key prefix per test, and a `redis-server` of a test's own for
//! tests that stop and restart it (never the shared one).

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;

/// The variable naming the test Redis.
pub const TEST_REDIS_VAR: &str = "EMBED_SESSIONS_TEST_REDIS";

/// The shared test Redis URL, checked with a `PING` (a panic naming the URL and the variable
/// when it does not answer: in CI a missing Redis is a failure).
pub fn test_url() -> String {
    let url = std::env::var(TEST_REDIS_VAR).unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let mut conn = connect(&url).unwrap_or_else(|e| {
        panic!("no Redis at {url} ({TEST_REDIS_VAR}): {e}; start redis-server")
    });
    let pong: String = redis::cmd("PING").query(&mut conn).unwrap();
    assert_eq!(pong, "PONG");
    url
}

/// A key prefix no other test (or run) uses.
pub fn unique_prefix(test: &str) -> String {
    format!("es-test:{test}:{}:{:x}:", std::process::id(), uuid::Uuid::new_v4().as_u128() as u64)
}

/// A fresh store key, as `EMBED_SESSIONS_STORE_KEY` holds it (base64 of 32 bytes).
pub fn random_store_key() -> String {
    let bytes: Vec<u8> = uuid::Uuid::new_v4()
        .as_bytes()
        .iter()
        .chain(uuid::Uuid::new_v4().as_bytes())
        .copied()
        .collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn connect(url: &str) -> redis::RedisResult<redis::Connection> {
    redis::Client::open(url)?.get_connection_with_timeout(Duration::from_secs(2))
}

/// Every key under `prefix` with every value it holds (strings, each field of hashes, each
/// member and score of sorted sets), as text.
pub fn scan(url: &str, prefix: &str) -> Vec<(String, Vec<String>)> {
    let mut conn = connect(url).unwrap();
    let keys: Vec<String> = redis::cmd("KEYS").arg(format!("{prefix}*")).query(&mut conn).unwrap();
    let mut out = Vec::new();
    for key in keys {
        let kind: String = redis::cmd("TYPE").arg(&key).query(&mut conn).unwrap();
        let values: Vec<String> = match kind.as_str() {
            "hash" => redis::cmd("HGETALL").arg(&key).query(&mut conn).unwrap(),
            "string" => vec![redis::cmd("GET").arg(&key).query(&mut conn).unwrap()],
            "zset" => redis::cmd("ZRANGE")
                .arg(&key)
                .arg(0)
                .arg(-1)
                .arg("WITHSCORES")
                .query(&mut conn)
                .unwrap(),
            other => vec![format!("(a {other})")],
        };
        out.push((key, values));
    }
    out.sort();
    out
}

/// Whether `key` exists.
pub fn exists(url: &str, key: &str) -> bool {
    let mut conn = connect(url).unwrap();
    redis::cmd("EXISTS").arg(key).query::<i64>(&mut conn).unwrap() == 1
}

/// Deletes every key under `prefix` (a test's cleanup).
pub fn clear(url: &str, prefix: &str) {
    let mut conn = connect(url).unwrap();
    let keys: Vec<String> = redis::cmd("KEYS").arg(format!("{prefix}*")).query(&mut conn).unwrap();
    if !keys.is_empty() {
        let _: i64 = redis::cmd("DEL").arg(keys).query(&mut conn).unwrap();
    }
}

/// A `redis-server` of the test's own on a free loopback port, nothing kept on disk; killed
/// when dropped.
pub struct OwnRedis {
    port: u16,
    child: Option<Child>,
}

impl OwnRedis {
    /// Starts one on a free port.
    pub fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut server = Self { port, child: None };
        server.restart();
        server
    }

    /// Its URL.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills it (SIGKILL: no goodbye to its clients) and waits for it to exit.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port, empty, and waits until it answers.
    pub fn restart(&mut self) {
        self.stop();
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server (Debian's redis-server package) on PATH");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while connect(&self.url()).is_err() {
            assert!(Instant::now() < deadline, "redis-server on port {} did not start", self.port);
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.stop();
    }
}
