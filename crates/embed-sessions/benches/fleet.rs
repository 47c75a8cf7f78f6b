//! What sharing state through Redis costs, on loopback Redis (see BENCHMARKS.md), in one run:
//!
//! - `fleet/ping`: a `PING` on redis-rs's `ConnectionManager`: the floor of any Redis round trip;
//! - `fleet/lease_round_trip`: `Fleet::lease` taken and released (`SET NX PX`, then the
//!   compare-and-delete script, and the extender task spawned and stopped);
//! - `fleet/l2_hit`: `Fleet::get_or_fetch` of a stored, fresh value (`HMGET`, AES-256-GCM open,
//!   decode): the cost of a second-level hit;
//! - `fleet/l1_hit`: `SessionCache::get` of a session held in process (the first level in
//!   front of Redis: no round trip);
//! - `fleet/budget_local`, `fleet/budget_redis`: one rate-budget decision, in process (what
//!   every Vlens and bunq request now pays) and in Redis (one script).
//!
//! Needs a Redis at `EMBED_SESSIONS_TEST_REDIS` (default `redis://127.0.0.1:6379`); keys under
//! a prefix of their own, removed at the end.
//! Run: `cargo bench -p embed-sessions --bench fleet`.

use std::hint::black_box;
use std::time::Duration;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use embed_sessions::Secret;
use embed_sessions::core::budget::{Limit, LocalBudgets};
use embed_sessions::fleet::{Codec, Fleet, StoreKey};

fn redis_url() -> String {
    std::env::var("EMBED_SESSIONS_TEST_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// A value that never expires within the bench.
const VALUE: Codec<Vec<u8>> = Codec {
    encode: |v| Some((v.clone(), Utc::now() + chrono::Duration::hours(1))),
    decode: |b| Some((b.to_vec(), DateTime::<Utc>::MAX_UTC)),
};

fn fleet_benches(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let prefix = format!("es-bench:{}:", std::process::id());
    let key = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
    let key = StoreKey::from_base64(&Secret::new(key)).unwrap();
    let fleet = rt.block_on(Fleet::connect(&redis_url(), &prefix, key)).expect("a Redis");
    let mut conn = rt
        .block_on(redis::aio::ConnectionManager::new(redis::Client::open(redis_url()).unwrap()))
        .unwrap();

    let mut g = c.benchmark_group("fleet");
    g.bench_function("ping", |b| {
        b.iter(|| {
            rt.block_on(async {
                let pong: String = redis::cmd("PING").query_async(&mut conn).await.unwrap();
                black_box(pong)
            })
        })
    });
    g.bench_function("lease_round_trip", |b| {
        b.iter(|| {
            rt.block_on(async {
                let lease = fleet
                    .lease("bench:lease", Duration::from_secs(10), Duration::from_secs(1))
                    .await
                    .unwrap();
                lease.release().await;
            })
        })
    });
    // A 300-byte value (about a session as stored), fetched once, then read back.
    let value = vec![b'x'; 300];
    rt.block_on(
        fleet.get_or_fetch("bench:value", Duration::ZERO, VALUE, || async { Ok(value.clone()) }),
    )
    .unwrap();
    g.bench_function("l2_hit", |b| {
        b.iter(|| {
            rt.block_on(async {
                let v = fleet
                    .get_or_fetch("bench:value", Duration::ZERO, VALUE, || async {
                        unreachable!("a stored value is read, not fetched")
                    })
                    .await
                    .unwrap();
                black_box(v)
            })
        })
    });
    g.bench_function("l1_hit", |b| {
        use embed_sessions::Config;
        use embed_sessions::vrplatform::{
            SessionCache, UserProvisioning, VrPlatform, VrPlatformClient,
        };
        let server = rt.block_on(embed_sessions_sandbox::Sandbox::start()).unwrap();
        let config = Config::builder(VrPlatform)
            .api_key("bench-key")
            .base_url(server.urls().vrplatform.clone())
            .build()
            .unwrap();
        let cache =
            SessionCache::builder(VrPlatformClient::new(config).unwrap()).shared(&fleet).build();
        let tenant = "4f8f94de-2cc0-4ec7-a7f8-f0c7f560e59a";
        let get = || cache.get("bench-user", tenant, UserProvisioning::AutoProvision);
        rt.block_on(get()).unwrap();
        b.iter(|| black_box(rt.block_on(get()).unwrap()))
    });
    // What a rate budget costs per request, against limits never reached.
    const WIDE: &[Limit] = &[Limit::new(u32::MAX, Duration::from_millis(1))];
    let local = LocalBudgets::default();
    g.bench_function("budget_local", |b| b.iter(|| black_box(local.take_now("bench", WIDE))));
    let shared = fleet.budgets();
    g.bench_function("budget_redis", |b| {
        b.iter(|| black_box(rt.block_on(shared.take("bench", WIDE)).unwrap()))
    });
    g.finish();
    let keys: Vec<String> =
        rt.block_on(redis::cmd("KEYS").arg(format!("{prefix}*")).query_async(&mut conn)).unwrap();
    if !keys.is_empty() {
        let _: i64 = rt.block_on(redis::cmd("DEL").arg(keys).query_async(&mut conn)).unwrap();
    }
}

criterion_group!(benches, fleet_benches);
criterion_main!(benches);
