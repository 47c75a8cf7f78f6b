//! Runs `embed-sessions sandbox` for a test: spawned, its JSON line read, stopped by signal;
//! and the CLI pointed at it. The binary is the caller's: a CLI test passes
//! `env!("CARGO_BIN_EXE_embed-sessions")`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

/// A running sandbox process.
pub struct Running {
    child: Option<Child>,
    bin: PathBuf,
    /// Its JSON line: `url`, `vlens`, `vlensApp`, `vrplatform`, `bunq`.
    pub urls: Value,
    stderr: Option<std::thread::JoinHandle<String>>,
}

impl Running {
    /// Starts `BIN sandbox ARGS` and waits (60 s at most) for its JSON line.
    pub fn start(bin: impl AsRef<Path>, args: &[&str]) -> Self {
        let bin = bin.as_ref().to_path_buf();
        let mut child = Command::new(&bin)
            .arg("sandbox")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn embed-sessions sandbox");
        let stdout = child.stdout.take().unwrap();
        let mut stderr = child.stderr.take().unwrap();
        let stderr = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = stderr.read_to_string(&mut s);
            s
        });
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let mut reader = BufReader::new(stdout);
            let _ = reader.read_line(&mut line);
            let _ = tx.send(line);
            // Keep reading so the process never blocks on a full pipe.
            let mut rest = String::new();
            let _ = reader.read_to_string(&mut rest);
        });
        let line = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(l) => l,
            Err(_) => {
                let _ = child.kill();
                panic!("the sandbox printed no line within 60 s");
            }
        };
        let urls: Value = serde_json::from_str(line.trim())
            .unwrap_or_else(|e| panic!("first line is not JSON ({e}): {line:?}"));
        for key in ["url", "vlens", "vlensApp", "vrplatform", "bunq"] {
            assert!(urls[key].as_str().is_some_and(|u| u.starts_with("http://")), "{key}: {urls}");
        }
        Self { child: Some(child), bin, urls, stderr: Some(stderr) }
    }

    /// One of its URLs (`url`, `vlens`, `vlensApp`, `vrplatform`, `bunq`), on 127.0.0.1.
    pub fn url(&self, key: &str) -> String {
        self.urls[key].as_str().unwrap().replace("0.0.0.0", "127.0.0.1")
    }

    /// `GET <url><path>`: the body.
    pub fn get(&self, path: &str) -> String {
        let (status, body) = http_get(&format!("{}{path}", self.url("url")));
        assert!(status < 500, "{path}: {status}");
        body
    }

    /// `POST <url><path>` with a JSON body: the answer's body.
    pub fn post(&self, path: &str, body: &str) -> String {
        let (status, body) = http_request("POST", &format!("{}{path}", self.url("url")), body);
        assert!((200..300).contains(&status), "{path}: {status} {body}");
        body
    }

    /// The requests it saw (redacted), oldest first.
    pub fn requests(&self) -> Vec<Value> {
        let v: Value = serde_json::from_str(&self.get("/_sandbox/requests")).unwrap();
        v["requests"].as_array().cloned().unwrap_or_default()
    }

    /// SIGTERM; asserts exit 0; returns everything it wrote on stderr.
    pub fn stop(self) -> String {
        self.stop_with("TERM")
    }

    /// Sends `kill -SIGNAL`; asserts exit 0 within 30 s; returns its stderr.
    pub fn stop_with(mut self, signal: &str) -> String {
        let mut child = self.child.take().unwrap();
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        let code = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s.code();
            }
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                panic!("the sandbox did not stop on SIG{signal}");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let stderr = self.stderr.take().unwrap().join().unwrap();
        assert_eq!(code, Some(0), "exit code after SIG{signal}; stderr: {stderr}");
        stderr
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The CLI (the binary that runs the sandbox) with every provider's environment pointed at
/// the sandbox (and no credentials).
pub fn cli(sb: &Running) -> Command {
    let mut cmd = Command::new(&sb.bin);
    for var in [
        "VLENS_API_KEY",
        "VLENS_TENANCY_NAME",
        "VLENS_USERNAME",
        "VLENS_PASSWORD",
        "VRPLATFORM_API_KEY",
        "BUNQ_API_KEY",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("VLENS_BASE_URL", sb.url("vlens"))
        .env("VLENS_IFRAME_ORIGIN", sb.url("vlensApp"))
        .env("VRPLATFORM_BASE_URL", sb.url("vrplatform"))
        .env("BUNQ_BASE_URL", sb.url("bunq"))
        .stdin(Stdio::null());
    cmd
}

/// Runs it: exit code, stdout, stderr.
pub fn output(cmd: &mut Command) -> (i32, String, String) {
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A plain HTTP/1.1 GET on loopback: status and body.
pub fn http_get(url: &str) -> (u16, String) {
    http_request("GET", url, "")
}

/// A plain HTTP/1.1 request (`Connection: close`): status and body.
pub fn http_request(method: &str, url: &str, body: &str) -> (u16, String) {
    let rest = url.strip_prefix("http://").expect("http URL");
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let mut stream = TcpStream::connect(host).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    // Chunked bodies: good enough for assertions on content (chunk sizes stay in the text).
    (status, body)
}
