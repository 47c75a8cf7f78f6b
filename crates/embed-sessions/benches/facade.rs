//! The facade's cost against its floor, each pair in one run (see BENCHMARKS.md):
//!
//! - `vrplatform_embed_session/{facade,raw,reqwest}`: an embed session through the facade vs
//!   the generated client vs a hand-written reqwest POST sending the same bytes and decoding
//!   the same response (the floor);
//! - `vlens_auth_session/{facade,raw,reqwest}`: the facade vs the generated client vs reqwest;
//! - `vrplatform_cache/hit`: a session-cache hit; `vrplatform_cache/{cold_1000,single}`:
//!   1,000 concurrent callers (tasks) on one cold key (one upstream request) vs one caller;
//!   `{cold_1000,single}_joined`: the same with the callers as futures joined in one task;
//!   `spawn_1000_noop`: 1,000 tasks doing nothing; `vrplatform_cache_5ms/*`: the fan-out
//!   against an upstream answering in 5 ms;
//! - bunq: see `benches/bunq.rs`.
//!
//! All against an in-process loopback server (keep-alive) started by the bench: for the pairs,
//! as tasks on the bench's own current-thread runtime (see `support::start_on`); for the
//! cache fan-out, on its own thread. The contenders of a pair are checked to send the same
//! body bytes, then timed interleaved (see `support::interleaved`).
//!
//! Run: `cargo bench -p embed-sessions --bench facade`; ratios: `scripts/bench-ratios.py`.

mod support;

use std::collections::HashMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use embed_sessions::Config;
use embed_sessions::vlens::VlensClient;
use embed_sessions::vrplatform::{SessionCache, UserProvisioning, VrPlatformClient};
use serde_json::json;
use support::{BenchServer, Canned, Contender};

const TENANT: &str = "4f8f94de-2cc0-4ec7-a7f8-f0c7f560e59a";
const SUB: &str = "hostaway-user-123";
const PHONE: &str = "+201234567890";
const API_KEY: &str = "bench-key";
/// The upstream latency of the `vrplatform_cache_5ms` group: a same-region HTTPS API answers
/// in a few milliseconds at best.
const UPSTREAM_DELAY: Duration = Duration::from_millis(5);

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

/// The facade as a user gets it: default retry policy (3 attempts), timeouts, body limit.
fn config<P: embed_sessions::Provider>(provider: P, base: &str) -> Config<P> {
    // Thousands of calls a second against one key: Vlens's published 10/s budget would time
    // the wait, not the facade (`core::budget` has its own tests).
    Config::builder(provider).api_key(API_KEY).base_url(base).rate_limits(&[]).build().unwrap()
}

/// The reqwest client a careful hand-written integration would build: the facade's timeouts,
/// no redirects.
fn plain_reqwest() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(embed_sessions::DEFAULT_CONNECT_TIMEOUT)
        .timeout(embed_sessions::DEFAULT_TIMEOUT)
        .user_agent(embed_sessions::USER_AGENT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

/// The floor's request body: the same fields, in the same order, as the spec's type.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct EmbedSessionRequestFloor<'a> {
    sub: &'a str,
    tenant_id: &'a str,
}

/// The floor's view of VRPlatform's answer: the same fields the facade decodes and checks.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct EmbedSessionFloor {
    access_token: String,
    expires_at: String,
    tenant_id: uuid::Uuid,
    user_id: uuid::Uuid,
}

async fn vrplatform_floor(http: &reqwest::Client, url: &str) {
    let body =
        serde_json::to_vec(&EmbedSessionRequestFloor { sub: SUB, tenant_id: TENANT }).unwrap();
    let resp = http
        .post(url)
        .header("x-api-key", API_KEY)
        .header("accept", "application/json")
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
    let bytes = resp.bytes().await.unwrap();
    let s: EmbedSessionFloor = serde_json::from_slice(&bytes).unwrap();
    assert!(!s.access_token.is_empty());
    let expires = chrono::DateTime::parse_from_rfc3339(&s.expires_at).unwrap();
    black_box((s.access_token, expires, s.tenant_id, s.user_id));
}

/// The generated client alone (no facade): same body, same decoding of the answer.
async fn vrplatform_raw(raw: &embed_sessions::vrplatform::raw::Client) {
    use embed_sessions::vrplatform::raw::types;
    let body = types::EmbedSessionRequest {
        sub: SUB.parse().unwrap(),
        tenant_id: TENANT.parse().unwrap(),
    };
    let out = raw.create_embed_session().x_api_key(API_KEY).body(body).send().await.unwrap();
    let s = out.into_inner();
    assert!(!s.access_token.is_empty());
    let expires = chrono::DateTime::parse_from_rfc3339(&s.expires_at).unwrap();
    black_box((s, expires));
}

fn vrplatform(c: &mut Criterion) {
    let rt = current_thread();
    let server = support::start_on(&rt, routes());
    let facade =
        &VrPlatformClient::new(config(embed_sessions::vrplatform::VrPlatform, &server.base_url))
            .unwrap();
    let raw = &embed_sessions::vrplatform::raw::Client::new_with_client(
        &server.base_url,
        plain_reqwest(),
        Default::default(),
    );
    let http = &plain_reqwest();
    let url = &format!("{}/auth/embed/session", server.base_url);
    let contenders: [Contender; 3] = [
        (
            "facade",
            Box::new(move || {
                Box::pin(async move {
                    let s = facade.embed_session().sub(SUB).tenant_id(TENANT).send().await;
                    black_box(s.unwrap());
                })
            }),
        ),
        ("raw", Box::new(move || Box::pin(vrplatform_raw(raw)))),
        ("reqwest", Box::new(move || Box::pin(vrplatform_floor(http, url)))),
    ];
    support::interleaved(c, &rt, &server, "vrplatform_embed_session", &contenders);
}

/// The floor's request body for Vlens, in the spec's field order.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct AuthSessionRequestFloor<'a> {
    phone_number: &'a str,
    session_permissions: PermissionsFloor,
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct PermissionsFloor {
    allowed_contract_type_ids: [i64; 1],
}

/// Vlens's envelope, as the facade decodes it.
#[derive(serde::Deserialize)]
struct VlensFloor {
    data: Option<String>,
    error_code: Option<i64>,
    error_message: Option<String>,
    error_descriptions: Option<serde_json::Value>,
}

async fn vlens_floor(http: &reqwest::Client, url: &str) {
    let body = serde_json::to_vec(&AuthSessionRequestFloor {
        phone_number: PHONE,
        session_permissions: PermissionsFloor { allowed_contract_type_ids: [414] },
    })
    .unwrap();
    let resp = http
        .post(url)
        .header("ApiKey", API_KEY)
        .header("accept", "application/json")
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
    let bytes = resp.bytes().await.unwrap();
    let out: VlensFloor = serde_json::from_slice(&bytes).unwrap();
    assert!(matches!(out.error_code, None | Some(0)));
    let token = out.data.filter(|t| !t.is_empty()).unwrap();
    black_box((token, out.error_message, out.error_descriptions));
}

/// The generated client alone (no facade): same body, same check of the envelope.
async fn vlens_raw(raw: &embed_sessions::vlens::raw::Client) {
    use embed_sessions::vlens::raw::types;
    let body = types::CreateAuthSessionInput {
        phone_number: Some(PHONE.into()),
        session_permissions: Some(types::SessionPermissions {
            allowed_contract_type_ids: vec![414],
            ..Default::default()
        }),
        ..Default::default()
    };
    let out = raw.create_auth_session().api_key(API_KEY).body(body).send().await.unwrap();
    let out = out.into_inner();
    assert!(matches!(out.error_code, None | Some(0)));
    black_box(out.data.filter(|t| !t.is_empty()).unwrap());
}

fn vlens(c: &mut Criterion) {
    let rt = current_thread();
    let server = support::start_on(&rt, routes());
    let facade = &VlensClient::new(config(embed_sessions::vlens::Vlens, &server.base_url)).unwrap();
    let raw = &embed_sessions::vlens::raw::Client::new_with_client(
        &server.base_url,
        plain_reqwest(),
        Default::default(),
    );
    let http = &plain_reqwest();
    let url = &format!("{}/api/IdentityUserSession/CreateAuthSession", server.base_url);
    let contenders: [Contender; 3] = [
        (
            "facade",
            Box::new(move || {
                Box::pin(async move {
                    let s = facade.auth_session().phone(PHONE).contract_type(414).send().await;
                    black_box(s.unwrap());
                })
            }),
        ),
        ("raw", Box::new(move || Box::pin(vlens_raw(raw)))),
        ("reqwest", Box::new(move || Box::pin(vlens_floor(http, url)))),
    ];
    support::interleaved(c, &rt, &server, "vlens_auth_session", &contenders);
}

/// How the concurrent callers of [`cold_fan_out`] run.
#[derive(Clone, Copy)]
enum Callers {
    /// One spawned task each (request handlers of a server).
    Tasks,
    /// Futures joined in one task (`join_all`): the cache's own cost, without task spawns.
    Joined,
}

/// `callers` concurrent callers asking a new cache for one cold key; returns the wall time and
/// checks that exactly one request went upstream.
fn cold_fan_out(
    mt: &tokio::runtime::Runtime,
    server: &BenchServer,
    client: &VrPlatformClient,
    callers: usize,
    how: Callers,
) -> Duration {
    let cache = SessionCache::new(client.clone());
    let before = server.hits();
    let started = Instant::now();
    mt.block_on(async {
        match how {
            Callers::Tasks => {
                let tasks: Vec<_> = (0..callers)
                    .map(|_| {
                        let cache = cache.clone();
                        tokio::spawn(async move {
                            cache.get("cold-user", TENANT, UserProvisioning::ExistingUser).await
                        })
                    })
                    .collect();
                for t in tasks {
                    black_box(t.await.unwrap().unwrap());
                }
            }
            Callers::Joined => {
                let gets = (0..callers)
                    .map(|_| cache.get("cold-user", TENANT, UserProvisioning::ExistingUser));
                for got in futures::future::join_all(gets).await {
                    black_box(got.unwrap());
                }
            }
        }
    });
    let elapsed = started.elapsed();
    assert_eq!(
        server.hits() - before,
        1,
        "{callers} callers on one cold key must make one request"
    );
    elapsed
}

fn cache(c: &mut Criterion) {
    let rt = current_thread();
    let local = support::start_on(&rt, routes());
    let client =
        VrPlatformClient::new(config(embed_sessions::vrplatform::VrPlatform, &local.base_url))
            .unwrap();
    let cache = SessionCache::new(client);
    rt.block_on(cache.get(SUB, TENANT, UserProvisioning::ExistingUser)).unwrap();
    let mut g = c.benchmark_group("vrplatform_cache");
    g.bench_function("hit", |b| {
        b.to_async(&rt).iter(|| async {
            black_box(cache.get(SUB, TENANT, UserProvisioning::ExistingUser).await.unwrap());
        })
    });

    // The fan-out runs on a multi-thread runtime, as in a server, against a server on its own
    // thread. Its client is made for it: a reqwest pool's connections are driven by the
    // runtime that opened them.
    let mt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let server = support::start(routes());
    let client =
        VrPlatformClient::new(config(embed_sessions::vrplatform::VrPlatform, &server.base_url))
            .unwrap();
    cold_fan_out(&mt, &server, &client, 1, Callers::Tasks); // opens the pooled connection
    g.sample_size(30);
    g.bench_function("cold_1000", |b| {
        b.iter_custom(|iters| {
            (0..iters).map(|_| cold_fan_out(&mt, &server, &client, 1000, Callers::Tasks)).sum()
        })
    });
    g.bench_function("single", |b| {
        b.iter_custom(|iters| {
            (0..iters).map(|_| cold_fan_out(&mt, &server, &client, 1, Callers::Tasks)).sum()
        })
    });
    g.bench_function("cold_1000_joined", |b| {
        b.iter_custom(|iters| {
            (0..iters).map(|_| cold_fan_out(&mt, &server, &client, 1000, Callers::Joined)).sum()
        })
    });
    g.bench_function("single_joined", |b| {
        b.iter_custom(|iters| {
            (0..iters).map(|_| cold_fan_out(&mt, &server, &client, 1, Callers::Joined)).sum()
        })
    });
    // The fan-out's own floor: 1,000 tasks that do nothing, spawned and joined the same way.
    g.bench_function("spawn_1000_noop", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| {
                    let started = Instant::now();
                    mt.block_on(async {
                        let tasks: Vec<_> = (0..1000).map(|_| tokio::spawn(async {})).collect();
                        for t in tasks {
                            t.await.unwrap();
                        }
                    });
                    started.elapsed()
                })
                .sum()
        })
    });
    g.finish();

    // The same with an upstream that takes UPSTREAM_DELAY to answer.
    let slow = support::start_with_delay(routes(), UPSTREAM_DELAY);
    let client =
        VrPlatformClient::new(config(embed_sessions::vrplatform::VrPlatform, &slow.base_url))
            .unwrap();
    cold_fan_out(&mt, &slow, &client, 1, Callers::Tasks);
    let mut g = c.benchmark_group("vrplatform_cache_5ms");
    g.sample_size(30);
    g.bench_function("cold_1000", |b| {
        b.iter_custom(|iters| {
            (0..iters).map(|_| cold_fan_out(&mt, &slow, &client, 1000, Callers::Tasks)).sum()
        })
    });
    g.bench_function("single", |b| {
        b.iter_custom(|iters| {
            (0..iters).map(|_| cold_fan_out(&mt, &slow, &client, 1, Callers::Tasks)).sum()
        })
    });
    g.finish();
}

criterion_group!(benches, vrplatform, vlens, cache);
criterion_main!(benches);
