//! A real browser embeds the sandbox's Vlens app, cross-origin, as a frontend would.
//!
//! The test serves its own "frontend" page on another origin (`http://localhost:<other port>`)
//! holding `<iframe src="<iframeUrl from the CLI>" allow="camera; microphone">` and a
//! `message` listener. The sandbox's `/vlens-app/session?token=...` page, once loaded and
//! run inside the frame, posts `{source: "vlens-sandbox", state, user}` to its parent; the
//! frontend page writes what it received (checking the sender's origin) into its own DOM.
//! Headless Chromium loads the frontend page and dumps its DOM after the frame has loaded
//! (`--virtual-time-budget`): the user's phone number can only be there if the iframe really
//! loaded the session page in a frame, recognised the token and rendered its user. A made-up
//! token gives `unknown` and no user (the control). Screenshots of the embedding page and of
//! the sandbox's `/` (after some requests) are written under `target/sandbox-screenshots/`.
//!
//! A missing browser fails the test (CI installs Debian's `chromium`).

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use embed_sessions_testkit::process::{Running, cli, output};
use serde_json::Value;

/// The CLI under test.
const BIN: &str = env!("CARGO_BIN_EXE_embed-sessions");

fn chromium() -> PathBuf {
    if let Ok(p) = std::env::var("CHROMIUM")
        && !p.is_empty()
    {
        return PathBuf::from(p);
    }
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        for dir in std::env::var("PATH").unwrap_or_default().split(':') {
            let p = Path::new(dir).join(name);
            if p.is_file() {
                return p;
            }
        }
    }
    panic!(
        "no chromium on PATH (set CHROMIUM, or `apt-get install -y chromium`): the browser test never skips"
    );
}

fn screenshots() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).parent().unwrap().join("sandbox-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs headless Chromium with a fresh profile; returns stdout (60 s at most).
fn browse(args: &[&str]) -> String {
    let profile = std::env::temp_dir().join(format!(
        "es-chromium-{}-{}",
        std::process::id(),
        fastrand::u64(..)
    ));
    let mut child = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-quic",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromium");
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("chromium did not finish within 90 s: {args:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = std::fs::remove_dir_all(&profile);
    reader.join().unwrap()
}

/// Serves `page` at `http://localhost:PORT/` on a thread (for `requests` requests).
fn frontend(page: String, requests: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(requests) {
            let Ok(mut s) = stream else { continue };
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let head = String::from_utf8_lossy(&buf);
            let (status, body) = if head.starts_with("GET / ") {
                ("200 OK", page.as_str())
            } else {
                ("404 Not Found", "")
            };
            let _ = write!(
                s,
                "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    format!("http://localhost:{port}/")
}

fn embedding_page(iframe_url: &str, sandbox_origin: &str) -> String {
    format!(
        r#"<!doctype html>
<html><head><meta charset="utf-8"><title>Frontend</title></head>
<body style="font-family:sans-serif">
<h1>Frontend embedding Vlens</h1>
<p>User shown by the iframe: <b id="embedded-user">waiting</b>; state: <b id="embedded-state">none</b></p>
<iframe id="vlens" src="{iframe_url}" width="900" height="420" allow="camera; microphone"></iframe>
<script>
window.addEventListener('message', (e) => {{
  if (e.origin !== '{sandbox_origin}' || !e.data || e.data.source !== 'vlens-sandbox') return;
  document.getElementById('embedded-user').textContent = e.data.user;
  document.getElementById('embedded-state').textContent = e.data.state;
}});
</script>
</body></html>"#
    )
}

#[test]
fn chromium_embeds_the_vlens_session_page_and_shows_the_user() {
    let sb = Running::start(BIN, &[]);
    let sandbox_origin = sb.urls["url"].as_str().unwrap().to_string();
    let (code, out, err) = output(cli(&sb).env("VLENS_API_KEY", "browser-test-vlens-key").args([
        "vlens",
        "auth-session",
        "--phone",
        "+201234567890",
        "--contract-type",
        "414",
    ]));
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(out.trim()).unwrap();
    let iframe_url = v["iframeUrl"].as_str().unwrap().to_string();
    let token = v["token"].as_str().unwrap().to_string();

    // The embed: the frame shows the session's user.
    let page = frontend(embedding_page(&iframe_url, &sandbox_origin), 2);
    let dom = browse(&["--virtual-time-budget=15000", "--dump-dom", &page]);
    assert!(
        dom.contains(r#"<b id="embedded-user">+201234567890</b>"#),
        "the iframe did not report the user:\n{dom}"
    );
    assert!(dom.contains(r#"<b id="embedded-state">issued</b>"#), "{dom}");
    let shot = screenshots().join("embed.png");
    let page = frontend(embedding_page(&iframe_url, &sandbox_origin), 2);
    browse(&[
        "--virtual-time-budget=15000",
        "--window-size=1000,600",
        &format!("--screenshot={}", shot.display()),
        &page,
    ]);
    assert!(
        std::fs::metadata(&shot).map(|m| m.len() > 1000).unwrap_or(false),
        "no screenshot at {}",
        shot.display()
    );

    // The control: a token the sandbox never issued.
    let fake = iframe_url.replace(&token, "not-a-sandbox-token");
    let page = frontend(embedding_page(&fake, &sandbox_origin), 2);
    let dom = browse(&["--virtual-time-budget=15000", "--dump-dom", &page]);
    assert!(dom.contains(r#"<b id="embedded-state">unknown</b>"#), "{dom}");
    assert!(dom.contains(r#"<b id="embedded-user"></b>"#), "{dom}");

    // Some more traffic, then `/` as a browser renders it (the table is filled by script).
    let (code, _, err) = output(cli(&sb).env("VRPLATFORM_API_KEY", "browser-test-vrp-key").args([
        "vrplatform",
        "session",
        "--sub",
        "browser-user",
        "--tenant",
        "4f8f94de-2cc0-4ec7-a7f8-f0c7f560e59a",
    ]));
    assert_eq!(code, 0, "{err}");
    let (code, _, _) = output(cli(&sb).env("VRPLATFORM_API_KEY", "expired_browser_key").args([
        "vrplatform",
        "session",
        "--sub",
        "browser-user",
        "--tenant",
        "4f8f94de-2cc0-4ec7-a7f8-f0c7f560e59a",
    ]));
    assert_eq!(code, 3);
    let home = format!("{sandbox_origin}/");
    let dom = browse(&["--virtual-time-budget=5000", "--dump-dom", &home]);
    assert!(dom.contains("POST /vrplatform/auth/embed/session"), "requests rendered: {dom:.2000}");
    assert!(dom.contains("[REDACTED]"));
    for secret in
        ["browser-test-vlens-key", "browser-test-vrp-key", "expired_browser_key", token.as_str()]
    {
        assert!(!dom.contains(secret), "{secret} on the page");
    }
    let shot = screenshots().join("home.png");
    browse(&[
        "--virtual-time-budget=5000",
        "--window-size=1400,1800",
        &format!("--screenshot={}", shot.display()),
        &home,
    ]);
    assert!(
        std::fs::metadata(&shot).map(|m| m.len() > 1000).unwrap_or(false),
        "no screenshot at {}",
        shot.display()
    );
    sb.stop();
}
