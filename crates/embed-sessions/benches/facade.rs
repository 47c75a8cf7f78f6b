//! The facade's cost against its floor, in one run each (see BENCHMARKS.md):
//!
//! - `vrplatform_embed_session/{facade,reqwest}`: an embed session through the facade vs a
//!   hand-written reqwest POST sending the same bytes and decoding the same response;
//! - `vlens_auth_session/{facade,raw,reqwest}`: the facade vs the generated client vs reqwest;
//! - `vrplatform_cache/hit`: a session-cache hit; `vrplatform_cache/cold_1000` vs
//!   `vrplatform_cache/single`: 1,000 concurrent callers on one cold key vs one request;
//! - `bunq_*`: see `benches/bunq.rs`.
//!
//! All against an in-process loopback server (keep-alive) started by the bench.
//! Run: `cargo bench -p embed-sessions --bench facade`.

mod support;

use std::collections::HashMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use embed_sessions::vlens::VlensClient;
use embed_sessions::vrplatform::{SessionCache, VrPlatformClient};
use embed_sessions::{Config, Provider, RetryPolicy};
use serde_json::json;
use support::Canned;

const TENANT: &str = "4f8f94de-2cc0-4ec7-a7f8-f0c7f560e59a";

fn routes() -> HashMap<String, Canned> {
    let mut r = HashMap::new();
    r.insert(
        "/auth/embed/session".to_string(),
        Canned::json(&json!({
            "accessToken": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJob3N0YXdheS11c2VyLTEyMyJ9.c2lnbmF0dXJl",
            "expiresAt": "2099-04-01T12:00:00.000Z",
            "tenantId": TENANT,
            "userId": "11111111-1111-4111-8111-111111111111"
        })),
    );
    r.insert(
        "/api/IdentityUserSession/CreateAuthSession".to_string(),
        Canned::json(&json!({
            "data": "c2Vzc2lvbi10b2tlbi0xMjM0NTY3ODkw", "error_code": null,
            "error_message": null, "error_descriptions": null
        })),
    );
    r
}

fn config(provider: Provider, base: &str) -> Config {
    Config::builder(provider)
        .api_key("bench-key")
        .base_url(base)
        .retry(RetryPolicy::none())
        .build()
        .unwrap()
}

/// The floor's view of VRPlatform's answer: the same fields the facade decodes.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct EmbedSessionFloor {
    access_token: String,
    expires_at: String,
    tenant_id: uuid::Uuid,
    user_id: uuid::Uuid,
}

#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct VlensFloor {
    data: Option<String>,
    error_code: Option<i64>,
    error_message: Option<String>,
    error_descriptions: Option<serde_json::Value>,
}

fn plain_reqwest() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(30))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn vrplatform(c: &mut Criterion) {
    let server = support::start(routes());
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let facade = VrPlatformClient::new(config(Provider::VrPlatform, &server.base_url)).unwrap();
    let http = plain_reqwest();
    let url = format!("{}/auth/embed/session", server.base_url);
    let mut g = c.benchmark_group("vrplatform_embed_session");
    g.bench_function("facade", |b| {
        b.to_async(&rt).iter(|| async {
            let s = facade.embed_session().sub("hostaway-user-123").tenant_id(TENANT).send().await;
            black_box(s.unwrap());
        })
    });
    g.bench_function("reqwest", |b| {
        b.to_async(&rt).iter(|| async {
            let body = serde_json::to_vec(&json!({"sub": "hostaway-user-123", "tenantId": TENANT})).unwrap();
            let resp = http
                .post(&url)
                .header("x-api-key", "bench-key")
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            assert!(resp.status().is_success());
            let bytes = resp.bytes().await.unwrap();
            let s: EmbedSessionFloor = serde_json::from_slice(&bytes).unwrap();
            let expires = chrono::DateTime::parse_from_rfc3339(&s.expires_at).unwrap();
            black_box((s, expires));
        })
    });
    g.finish();
}

fn vlens(c: &mut Criterion) {
    let server = support::start(routes());
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let facade = VlensClient::new(config(Provider::Vlens, &server.base_url)).unwrap();
    let raw = embed_sessions::vlens::raw::Client::new_with_client(
        &server.base_url,
        plain_reqwest(),
        Default::default(),
    );
    let http = plain_reqwest();
    let url = format!("{}/api/IdentityUserSession/CreateAuthSession", server.base_url);
    let mut g = c.benchmark_group("vlens_auth_session");
    g.bench_function("facade", |b| {
        b.to_async(&rt).iter(|| async {
            let s = facade.auth_session().phone("+201234567890").contract_type(414).send().await;
            black_box(s.unwrap());
        })
    });
    g.bench_function("raw", |b| {
        use embed_sessions::vlens::raw::types;
        b.to_async(&rt).iter(|| async {
            let body = types::CreateAuthSessionInput {
                phone_number: Some("+201234567890".into()),
                session_permissions: Some(types::SessionPermissions {
                    allowed_contract_type_ids: vec![414],
                    ..Default::default()
                }),
                ..Default::default()
            };
            let out = raw.create_auth_session().api_key("bench-key").body(body).send().await;
            black_box(out.unwrap());
        })
    });
    g.bench_function("reqwest", |b| {
        b.to_async(&rt).iter(|| async {
            let body = serde_json::to_vec(&json!({
                "phoneNumber": "+201234567890",
                "sessionPermissions": {"allowedContractTypeIds": [414]}
            }))
            .unwrap();
            let resp = http
                .post(&url)
                .header("ApiKey", "bench-key")
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            let bytes = resp.bytes().await.unwrap();
            let out: VlensFloor = serde_json::from_slice(&bytes).unwrap();
            assert!(out.error_code.is_none() && out.data.is_some());
            black_box(out);
        })
    });
    g.finish();
}

fn cache(c: &mut Criterion) {
    let server = support::start(routes());
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let client = VrPlatformClient::new(config(Provider::VrPlatform, &server.base_url)).unwrap();
    let cache = SessionCache::new(client.clone());
    rt.block_on(cache.get("hostaway-user-123", TENANT, false)).unwrap();
    let mut g = c.benchmark_group("vrplatform_cache");
    g.bench_function("hit", |b| {
        b.to_async(&rt).iter(|| async {
            black_box(cache.get("hostaway-user-123", TENANT, false).await.unwrap());
        })
    });
    // 1,000 concurrent callers for one cold key (a new cache each time) vs one request.
    let mt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    g.sample_size(20);
    g.bench_function("cold_1000", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let cache = SessionCache::new(client.clone());
                let before = server.hits.load(std::sync::atomic::Ordering::Relaxed);
                let started = Instant::now();
                mt.block_on(async {
                    let tasks: Vec<_> = (0..1000)
                        .map(|_| {
                            let cache = cache.clone();
                            tokio::spawn(async move { cache.get("cold-user", TENANT, false).await })
                        })
                        .collect();
                    for t in tasks {
                        t.await.unwrap().unwrap();
                    }
                });
                total += started.elapsed();
                let upstream = server.hits.load(std::sync::atomic::Ordering::Relaxed) - before;
                assert_eq!(upstream, 1, "1,000 callers on one cold key must make one request");
            }
            total
        })
    });
    g.bench_function("single", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let cache = SessionCache::new(client.clone());
                let started = Instant::now();
                mt.block_on(async {
                    tokio::spawn(async move { cache.get("cold-user", TENANT, false).await })
                        .await
                        .unwrap()
                        .unwrap();
                });
                total += started.elapsed();
            }
            total
        })
    });
    g.finish();
}

criterion_group!(benches, vrplatform, vlens, cache);
criterion_main!(benches);
