//! bunq's signing cost, in one run (see BENCHMARKS.md):
//!
//! - `bunq_call/signed`: `BunqContext::call` of `POST /user/{id}/notification-filter-url`
//!   through the facade: sign the body (RSA-2048 PKCS#1 v1.5 SHA-256), add bunq's headers, send,
//!   verify the response's `X-Bunq-Server-Signature`, decode;
//! - `bunq_call/unsigned`: the same request (same body bytes, same bunq headers but the
//!   signature) with the generated client (`bunq::raw`) and no hooks: no signing, no check;
//! - `rsa2048/sign`, `rsa2048/verify` (and `rsa2048/generate`, once per installation): the RSA
//!   operations alone, on `aws-lc-rs` with the calls `src/bunq/crypto.rs` makes (that module
//!   is crate-private, so the bench repeats them: `RsaKeyPair::sign` with `RSA_PKCS1_SHA256`
//!   plus base64, and `ParsedPublicKey::verify_sig` with `RSA_PKCS1_2048_8192_SHA256` after
//!   base64 decoding). Their reference is `openssl speed -seconds 3 rsa2048`, taken by
//!   `scripts/bench.sh` in the same session.
//!
//! The loopback server (keep-alive, tasks on the bench's runtime: see `support::start_on`)
//! plays bunq: it answers installation, device-server and session-server so a context can be
//! created, and signs every (fixed) response body once at start with its own RSA-2048 key, so
//! `X-Bunq-Server-Signature` is valid. It does not verify client signatures (that would charge
//! bunq's cost to the signed variant only).
//!
//! Run: `cargo bench -p embed-sessions --bench bunq`; ratios: `scripts/bench-ratios.py`.

mod support;

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use aws_lc_rs::encoding::{AsDer, PublicKeyX509Der};
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize};
use aws_lc_rs::signature::{self, KeyPair as _, ParsedPublicKey};
use base64::Engine as _;
use criterion::{Criterion, criterion_group, criterion_main};
use embed_sessions::Config;
use embed_sessions::bunq::raw::{self, types};
use embed_sessions::bunq::{BunqClient, BunqContext};
use serde_json::json;
use support::{Canned, Contender};

const B64: base64::engine::general_purpose::GeneralPurpose =
    base64::engine::general_purpose::STANDARD;
const API_KEY: &str = "bench-api-key-0001-secret";
const SESSION_TOKEN: &str = "session-token-0123456789abcdef";
const USER_ID: i64 = 1360;
const CREATED: &str = "2025-08-13 15:53:11.594918";

/// Standard base64 of the RSA PKCS#1 v1.5 SHA-256 signature of `message`: what
/// `crypto::KeyPair::sign` does.
fn sign_b64(key: &RsaKeyPair, message: &[u8]) -> String {
    let mut sig = vec![0u8; key.public_modulus_len()];
    key.sign(
        &signature::RSA_PKCS1_SHA256,
        &aws_lc_rs::rand::SystemRandom::new(),
        message,
        &mut sig,
    )
    .unwrap();
    B64.encode(sig)
}

/// What `crypto::ServerKey::verify` does.
fn verify_b64(key: &ParsedPublicKey, message: &[u8], signature_b64: &str) -> bool {
    match B64.decode(signature_b64.trim()) {
        Ok(sig) => key.verify_sig(message, &sig).is_ok(),
        Err(_) => false,
    }
}

fn public_pem(key: &RsaKeyPair) -> String {
    let der: PublicKeyX509Der<'static> = key.public_key().as_der().unwrap();
    let b64 = B64.encode(der.as_ref());
    let lines: Vec<&str> =
        b64.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).unwrap()).collect();
    format!("-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n", lines.join("\n"))
}

/// A 200 whose body is signed with the server key, like bunq's.
fn signed(server_key: &RsaKeyPair, body: serde_json::Value) -> Canned {
    let canned = Canned::json(&body);
    let sig = sign_b64(server_key, &canned.body);
    canned.header("x-bunq-client-response-id", "resp-0001").header("x-bunq-server-signature", &sig)
}

fn filters_path() -> String {
    format!("/v1/user/{USER_ID}/notification-filter-url")
}

fn routes(server_key: &RsaKeyPair) -> HashMap<String, Canned> {
    let token = |id: i64, token: &str| json!({"Token": {"id": id, "created": CREATED, "updated": CREATED, "token": token}});
    let mut r = HashMap::new();
    r.insert(
        "/v1/installation".to_string(),
        signed(
            server_key,
            json!({"Response": [
                {"Id": {"id": 1}},
                token(1, "installation-token-0123456789abcdef"),
                {"ServerPublicKey": {"server_public_key": public_pem(server_key)}}
            ]}),
        ),
    );
    r.insert(
        "/v1/device-server".to_string(),
        signed(server_key, json!({"Response": [{"Id": {"id": 2}}]})),
    );
    r.insert(
        "/v1/session-server".to_string(),
        signed(
            server_key,
            json!({"Response": [
                {"Id": {"id": 3}},
                token(3, SESSION_TOKEN),
                {"UserCompany": {"id": USER_ID, "display_name": "Bench BV", "session_timeout": 604800}}
            ]}),
        ),
    );
    r.insert(
        filters_path(),
        signed(
            server_key,
            json!({"Response": [
                {"NotificationFilterUrl": {
                    "id": 100, "created": CREATED, "updated": CREATED, "category": "PAYMENT",
                    "notification_target": "https://example.com/bunq/callback"
                }}
            ], "Pagination": {"future_url": null, "newer_url": null, "older_url": null}}),
        ),
    );
    r
}

fn body() -> types::NotificationFilterUrlCreate {
    types::NotificationFilterUrlCreate {
        notification_filters: vec![types::NotificationFilterUrlRule {
            category: "PAYMENT".into(),
            notification_target: "https://example.com/bunq/callback".into(),
        }],
    }
}

async fn signed_call(ctx: &BunqContext) {
    let out = ctx
        .call("create_notification_filter_url", |c, user_id| async move {
            c.create_notification_filter_url().user_id(user_id).body(body()).send().await
        })
        .await
        .unwrap();
    assert_eq!(out.into_inner().response.len(), 1);
}

/// A per-call request id, as bunq wants (never reused).
static REQUEST_ID: AtomicU64 = AtomicU64::new(0);

async fn unsigned_call(raw: &raw::Client) {
    let id = REQUEST_ID.fetch_add(1, Ordering::Relaxed);
    let out = raw
        .create_notification_filter_url()
        .user_id(USER_ID)
        .cache_control("no-cache")
        .user_agent(embed_sessions::USER_AGENT)
        .x_bunq_client_authentication(SESSION_TOKEN)
        .x_bunq_client_request_id(format!("00000000-0000-4000-8000-{id:012x}"))
        .x_bunq_geolocation("0 0 0 0 000")
        .x_bunq_language("en_US")
        .x_bunq_region("nl_NL")
        .body(body())
        .send()
        .await
        .unwrap();
    assert_eq!(out.into_inner().response.len(), 1);
}

fn call(c: &mut Criterion) {
    let server_key = RsaKeyPair::generate(KeySize::Rsa2048).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let server = support::start_on(&rt, routes(&server_key));
    let base = format!("{}/v1", server.base_url);
    let config = Config::builder(embed_sessions::bunq::Bunq)
        .base_url(&base)
        .api_key(API_KEY)
        // bunq's published 5 POSTs per 3 s would time the waits, not the signing.
        .rate_limits(&[])
        .build()
        .unwrap();
    let client =
        BunqClient::without_key(config).unwrap().with_session_interval(Duration::from_millis(1));
    let ctx = rt.block_on(client.create_context(API_KEY)).unwrap();
    let http = reqwest::Client::builder()
        .connect_timeout(embed_sessions::DEFAULT_CONNECT_TIMEOUT)
        .timeout(embed_sessions::DEFAULT_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let raw = raw::Client::new_with_client(&base, http, Default::default());

    // Both send the same bunq headers but the signature (`interleaved` checks the bodies).
    let mut names = Vec::new();
    for name in ["signed", "unsigned"] {
        server.start_recording();
        match name {
            "signed" => rt.block_on(signed_call(&ctx)),
            _ => rt.block_on(unsigned_call(&raw)),
        }
        let mut n = server.take_recorded()[0].header_names();
        n.retain(|h| h != "x-bunq-client-signature");
        names.push(n);
    }
    assert_eq!(names[0], names[1], "the same headers but the signature");

    let (ctx, raw) = (&ctx, &raw);
    let contenders: [Contender; 2] = [
        ("signed", Box::new(move || Box::pin(signed_call(ctx)))),
        ("unsigned", Box::new(move || Box::pin(unsigned_call(raw)))),
    ];
    support::interleaved(c, &rt, &server, "bunq_call", &contenders);
}

fn rsa(c: &mut Criterion) {
    let key = RsaKeyPair::generate(KeySize::Rsa2048).unwrap();
    let public = ParsedPublicKey::new(
        &signature::RSA_PKCS1_2048_8192_SHA256,
        key.public_key().as_der().map(|d: PublicKeyX509Der<'static>| d.as_ref().to_vec()).unwrap(),
    )
    .unwrap();
    // The body the signed call sends.
    let message = serde_json::to_vec(&body()).unwrap();
    let sig = sign_b64(&key, &message);
    assert!(verify_b64(&public, &message, &sig));
    let mut g = c.benchmark_group("rsa2048");
    g.bench_function("sign", |b| b.iter(|| black_box(sign_b64(&key, black_box(&message)))));
    g.bench_function("verify", |b| {
        b.iter(|| assert!(verify_b64(&public, black_box(&message), black_box(&sig))))
    });
    // Once per installation (off the async threads: `spawn_blocking`); its time varies a lot
    // from key to key (prime search).
    g.sample_size(10);
    g.bench_function("generate", |b| {
        b.iter(|| black_box(RsaKeyPair::generate(KeySize::Rsa2048).unwrap()))
    });
    g.finish();
}

criterion_group!(benches, call, rsa);
criterion_main!(benches);
