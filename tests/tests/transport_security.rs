//! TLS and transport defaults: rustls verifies certificates (an untrusted one fails before any
//! request is sent), plain http only for loopback, credentials only to the configured host.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use embed_sessions::bunq::{Bunq, BunqClient};
use embed_sessions::vlens::{Vlens, VlensClient};
use embed_sessions::vrplatform::{VrPlatform, VrPlatformClient};
use embed_sessions::{Config, ErrorKind, RetryPolicy};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A TLS server on loopback with a self-signed certificate for `localhost`. It records whether
/// any HTTP request bytes ever arrived after a handshake.
async fn untrusted_tls_server() -> (String, Arc<AtomicBool>) {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let der = cert.cert.der().clone();
    let key = rustls_key(cert.signing_key.serialize_der());
    let config = tokio_rustls::rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![der], key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let got_request = Arc::new(AtomicBool::new(false));
    let flag = got_request.clone();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else { return };
            let acceptor = acceptor.clone();
            let flag = flag.clone();
            tokio::spawn(async move {
                if let Ok(mut tls) = acceptor.accept(tcp).await {
                    let mut buf = [0u8; 1024];
                    if let Ok(n) = tls.read(&mut buf).await
                        && n > 0
                    {
                        flag.store(true, Ordering::SeqCst);
                        let _ = tls.write_all(b"HTTP/1.1 500 X\r\ncontent-length: 0\r\n\r\n").await;
                    }
                }
            });
        }
    });
    (format!("https://localhost:{port}"), got_request)
}

fn rustls_key(der: Vec<u8>) -> tokio_rustls::rustls::pki_types::PrivateKeyDer<'static> {
    tokio_rustls::rustls::pki_types::PrivateKeyDer::Pkcs8(der.into())
}

/// A configuration for `provider` against `base`, no retries.
fn config<P: embed_sessions::Provider>(provider: P, base: &str) -> Config<P> {
    Config::builder(provider)
        .api_key("tls-test-key")
        .base_url(base)
        .retry(RetryPolicy::none())
        .build()
        .unwrap()
}

fn assert_tls_refusal(provider: &str, e: &embed_sessions::Error) {
    assert!(matches!(e.kind(), ErrorKind::Connect | ErrorKind::Transport), "{provider}: {e:?}");
    assert_eq!(e.status(), None);
    let chain = std::iter::successors(Some(e as &dyn std::error::Error), |e| e.source())
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join(" | ");
    assert!(chain.to_lowercase().contains("certificate"), "{provider}: {chain}");
}

#[tokio::test]
async fn an_untrusted_certificate_fails_before_credentials_are_sent() {
    let (base, got_request) = untrusted_tls_server().await;
    let e = VlensClient::new(config(Vlens, &base))
        .unwrap()
        .auth_session()
        .email("a@b.co")
        .send()
        .await
        .unwrap_err();
    assert_tls_refusal("vlens", &e);
    let e = VrPlatformClient::new(config(VrPlatform, &base))
        .unwrap()
        .embed_session()
        .sub("u")
        .tenant_id("4f8f94de-2cc0-4ec7-a7f8-f0c7f560e59a")
        .send()
        .await
        .unwrap_err();
    assert_tls_refusal("vrplatform", &e);
    let e = BunqClient::without_key(config(Bunq, &base))
        .unwrap()
        .create_context("tls-test-key")
        .await
        .unwrap_err();
    assert_tls_refusal("bunq", &e);
    assert!(!got_request.load(Ordering::SeqCst), "a request went over an untrusted connection");
}

/// Plain http is refused for `provider` except on loopback; the default is https.
fn check_plain_http<P: embed_sessions::Provider + Copy>(provider: P) {
    let name = P::DESCRIPTOR.name();
    for url in ["http://api.example.com", "http://10.0.0.1:8080", "http://127.0.0.1.nip.io"] {
        let e = Config::builder(provider).base_url(url).build().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config, "{name} {url}");
        assert!(e.to_string().contains("https"), "{e}");
    }
    for url in ["http://127.0.0.1:1", "http://127.8.9.10:1", "http://localhost:1", "http://[::1]:1"]
    {
        Config::builder(provider).base_url(url).build().unwrap();
    }
    // The default is the provider's production https URL.
    let c = Config::builder(provider).build().unwrap();
    assert!(c.base_url().starts_with("https://"), "{name}");
}

#[test]
fn plain_http_is_refused_except_on_loopback_for_every_provider() {
    check_plain_http(Vlens);
    check_plain_http(VrPlatform);
    check_plain_http(Bunq);
}

#[test]
fn the_tls_stack_is_rustls_with_the_platform_verifier() {
    // The lock file is the truth about what is compiled in: rustls with the platform verifier
    // (reqwest's `rustls` feature), and no OpenSSL/native-tls anywhere.
    let lock = std::fs::read_to_string(embed_sessions_testkit::workspace_root().join("Cargo.lock"))
        .unwrap();
    let has = |name: &str| lock.contains(&format!("name = \"{name}\"\n"));
    assert!(has("rustls") && has("rustls-platform-verifier") && has("hyper-rustls"));
    assert!(!has("native-tls") && !has("openssl-sys") && !has("openssl"));
}
