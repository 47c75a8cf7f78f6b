//! Hostile input never takes the sandbox down: each answer is an error in the provider's
//! shape (or the connection is closed), and the next normal request still works.

use std::time::Duration;

use embed_sessions_sandbox::Sandbox;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn raw(addr: std::net::SocketAddr, bytes: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let _ = s.write_all(bytes).await;
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn garbage_oversized_and_odd_requests_get_errors() {
    let sb = Sandbox::start().await.unwrap();
    let addr = sb.addr();
    // Not HTTP at all; a header line without a colon; a bad Content-Length.
    raw(addr, b"\x00\x01\x02 hello\r\n\r\n").await;
    let r = raw(addr, b"GET / HTTP/1.1\r\nbroken header\r\n\r\n").await;
    assert!(r.is_empty() || r.starts_with("HTTP/1.1 4"), "{r}");
    let r = raw(addr, b"POST /vlens/x HTTP/1.1\r\nHost: a\r\nContent-Length: nope\r\n\r\n").await;
    assert!(r.is_empty() || r.starts_with("HTTP/1.1 4"), "{r}");
    let http = reqwest::Client::new();
    // Over 1 MiB: 413.
    let big = "x".repeat((1 << 20) + 10);
    let r = http
        .post(format!("{}/auth/embed/session", sb.urls().vrplatform))
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    // Unknown routes and methods, per provider shape.
    let r = http.get(format!("{}/nope", sb.urls().vrplatform)).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.json::<Value>().await.unwrap()["message"].is_string());
    let r = http
        .get(format!("{}/api/credentials/Login", sb.urls().vlens))
        .header("ApiKey", "k")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    assert!(r.json::<Value>().await.unwrap()["error_code"].is_number());
    let r = http
        .get(format!("{}/partner-user-provision/99999999999999999999999", sb.urls().bunq))
        .send()
        .await
        .unwrap();
    assert!(r.json::<Value>().await.unwrap()["Error"][0]["error_description"].is_string());
    let r = http
        .get(format!("{}/teams/%zz%", sb.urls().vrplatform))
        .header("x-api-key", "k")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    // Deeply nested JSON, non-UTF-8 bytes, a query that is all percent signs.
    let deep = format!("{}{}", "{\"a\":".repeat(5000), "}".repeat(5000));
    for body in [deep.into_bytes(), vec![0xff, 0xfe, 0xfd]] {
        let r = http
            .post(format!("{}/auth/embed/session", sb.urls().vrplatform))
            .header("x-api-key", "k")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
    }
    let r = http
        .get(format!("{}/api/BusinessRequest/GetBusinessRequestTypeTemplateFields?requestTypeId=%%%&isLocalized=%", sb.urls().vlens))
        .header("ApiKey", "k")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = http.get(format!("{}/session?token=%ff%fe", sb.urls().vlens_app)).send().await.unwrap();
    assert_eq!(r.status(), 404);
    // Still serving.
    let r = http
        .post(format!("{}/auth/embed/session", sb.urls().vrplatform))
        .header("x-api-key", "k")
        .json(&json!({"sub": "after", "tenantId": "4f8f94de-2cc0-4ec7-a7f8-f0c7f560e59a"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn refuses_a_non_loopback_address_unless_allowed() {
    let e = Sandbox::builder().bind("0.0.0.0:0".parse().unwrap()).start().await.unwrap_err();
    assert!(e.to_string().contains("--allow-non-loopback"), "{e}");
    let sb = Sandbox::builder()
        .bind("0.0.0.0:0".parse().unwrap())
        .allow_non_loopback(true)
        .start()
        .await
        .unwrap();
    assert!(!sb.addr().ip().is_loopback());
}
