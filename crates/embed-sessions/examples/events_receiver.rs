//! Receive Vlens webhooks and bunq callbacks: guard, parse, answer 200 at once, then (once per
//! event across every replica) confirm through the API and act on what the API says.
//!
//! ```sh
//! EVENTS_LISTEN=0.0.0.0:8080 \
//! VLENS_API_KEY=... EVENTS_VLENS_TOKEN=<43 chars; printed at start when unset> \
//! BUNQ_CONTEXT_FILE=bunq-context.json [EVENTS_BUNQ_SANDBOX=1] \
//! [EMBED_SESSIONS_REDIS_URL=redis://127.0.0.1:6379 EMBED_SESSIONS_STORE_KEY=...] \
//!   cargo run -p embed-sessions --features redis --example events_receiver
//! ```
//!
//! Subscribe `https://<you>/webhooks/vlens/<EVENTS_VLENS_TOKEN>` in the Vlens portal and
//! `https://<you>/callbacks/bunq` as the user's URL notification filter. bunq's production
//! callbacks come from 185.40.108.0/22 only; its sandbox's from anywhere
//! (`EVENTS_BUNQ_SANDBOX=1` switches the address check off). With `EMBED_SESSIONS_REDIS_URL`
//! the replicas share the dedupe store; otherwise each remembers its own. Behind a proxy,
//! take the client address from your proxy's header instead of the socket's.
//!
//! Answers: 200 for an event taken (or a duplicate), 400 for a body that is not an event,
//! 403 for a bunq callback from elsewhere, 404 for a wrong Vlens URL token (nothing said),
//! 503 when the dedupe store is down (the provider redelivers). `GET /outcomes` lists what
//! was done (this example's own diagnostics; put your handler where `act` is).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use embed_sessions::Error;
use embed_sessions::bunq::{BunqContext, events as bunq_events};
use embed_sessions::core::inbound::{self, DedupeStore, SourceAllowlist, UrlToken};
use embed_sessions::vlens::{VlensClient, events as vlens_events};
use serde_json::{Value, json};

/// What the receiver needs: the clients that confirm, the guards, the dedupe store.
pub struct App {
    /// Confirms Vlens webhooks (`VLENS_API_KEY`).
    pub vlens: Option<VlensClient>,
    /// The token in the subscribed Vlens URL.
    pub vlens_token: UrlToken,
    /// Confirms bunq callbacks: the user's signed context.
    pub bunq: Option<BunqContext>,
    /// Where bunq callbacks may come from.
    pub bunq_sources: SourceAllowlist,
    /// Shared by the replicas (Redis) or this process's own.
    pub dedupe: Arc<dyn DedupeStore>,
    /// What was done, newest last.
    pub outcomes: Mutex<Vec<Value>>,
}

/// The routes.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/webhooks/vlens/{token}", post(vlens_webhook))
        .route("/callbacks/bunq", post(bunq_callback))
        .route("/outcomes", get(outcomes))
        .with_state(app)
}

type Answer = (StatusCode, axum::Json<Value>);

fn answer(status: StatusCode, body: Value) -> Answer {
    (status, axum::Json(body))
}

/// A guard or parse failure: its status and our message (which quotes no secret).
fn refused(status: StatusCode, e: &Error) -> Answer {
    answer(status, json!({"error": e.to_string()}))
}

async fn vlens_webhook(
    State(app): State<Arc<App>>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    if !app.vlens_token.matches(&token) {
        return answer(StatusCode::NOT_FOUND, json!({}));
    }
    let event = match vlens_events::parse(&headers, &body) {
        Ok(e) => e,
        Err(e) => return refused(StatusCode::BAD_REQUEST, &e),
    };
    let key = event.dedupe_key();
    accept(app.clone(), key, async move {
        let Some(vlens) = &app.vlens else { return Ok(json!({"unconfirmed": "no VLENS_API_KEY"})) };
        Ok(summary(&vlens.confirm_event(&event).await?))
    })
    .await
}

async fn bunq_callback(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    if let Err(e) = app.bunq_sources.check("bunq", peer.ip()) {
        return refused(StatusCode::FORBIDDEN, &e);
    }
    let callback = match bunq_events::parse(&headers, &body) {
        Ok(c) => c,
        Err(e) => return refused(StatusCode::BAD_REQUEST, &e),
    };
    let key = callback.dedupe_key();
    accept(app.clone(), key, async move {
        let Some(ctx) = &app.bunq else { return Ok(json!({"unconfirmed": "no bunq context"})) };
        Ok(summary(&ctx.confirm_callback(&callback).await?))
    })
    .await
}

/// What the API confirmed, for `act` and the outcomes list.
fn summary<T>(c: &inbound::Confirmation<T>) -> Value {
    json!({"confirmed": c.is_confirmed(), "claimed": c.claimed(), "actual": c.actual()})
}

/// Claims the event, answers at once, and confirms and acts in the background; the claim is
/// completed when that succeeds and released when it fails (a redelivery then retries).
async fn accept<F>(app: Arc<App>, key: String, confirm: F) -> Answer
where
    F: std::future::Future<Output = Result<Value, Error>> + Send + 'static,
{
    match app.dedupe.claim(&key).await {
        Ok(inbound::Claim::First) => {}
        Ok(seen) => {
            record(&app, json!({"key": key, "duplicate": format!("{seen:?}")}));
            return answer(StatusCode::OK, json!({"duplicate": true}));
        }
        Err(e) => return refused(StatusCode::SERVICE_UNAVAILABLE, &e),
    }
    tokio::spawn(async move {
        let outcome = confirm.await;
        let stored = match &outcome {
            Ok(_) => app.dedupe.complete(&key).await,
            Err(_) => app.dedupe.release(&key).await,
        };
        let mut line = match outcome {
            Ok(confirmation) => act(&key, confirmation),
            Err(e) => json!({"key": key, "error": e.to_string()}),
        };
        if let Err(e) = stored {
            line["store_error"] = json!(e.to_string());
        }
        record(&app, line);
    });
    answer(StatusCode::OK, json!({"accepted": true}))
}

/// Your handler: here only what the API confirmed is acted on.
fn act(key: &str, confirmation: Value) -> Value {
    json!({"key": key, "handled": confirmation})
}

fn record(app: &App, outcome: Value) {
    app.outcomes.lock().unwrap_or_else(|p| p.into_inner()).push(outcome);
}

async fn outcomes(State(app): State<Arc<App>>) -> axum::Json<Value> {
    axum::Json(Value::Array(app.outcomes.lock().unwrap_or_else(|p| p.into_inner()).clone()))
}

/// Serves `app` on `listener` until the process ends.
pub async fn serve(listener: tokio::net::TcpListener, app: Arc<App>) -> std::io::Result<()> {
    let service = router(app).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, service).await
}

/// The dedupe store: Redis when `EMBED_SESSIONS_REDIS_URL` is set (feature `redis`), else
/// this process's memory.
async fn dedupe_from_env() -> Result<Arc<dyn DedupeStore>, Error> {
    #[cfg(feature = "redis")]
    if let Some(fleet) = embed_sessions::fleet::Fleet::from_env().await? {
        return Ok(Arc::new(embed_sessions::fleet::RedisDedupe::with_defaults(&fleet)));
    }
    Ok(Arc::new(inbound::MemoryDedupe::default()))
}

#[allow(dead_code)] // The tests include this file for `App` and `serve`.
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let vlens_token = match std::env::var("EVENTS_VLENS_TOKEN") {
        Ok(t) => UrlToken::new(t)?,
        Err(_) => {
            let t = UrlToken::generate()?;
            eprintln!("EVENTS_VLENS_TOKEN unset; this run's token: {}", t.expose());
            t
        }
    };
    let bunq = match std::env::var("BUNQ_CONTEXT_FILE") {
        Ok(path) => {
            let client = embed_sessions::bunq::BunqClient::from_env()?;
            Some(client.context().store(embed_sessions::bunq::FileStore::new(path)).send().await?)
        }
        Err(_) => None,
    };
    let sandbox = std::env::var("EVENTS_BUNQ_SANDBOX").is_ok_and(|v| v == "1");
    let app = Arc::new(App {
        vlens: VlensClient::from_env().ok(),
        vlens_token,
        bunq,
        bunq_sources: if sandbox {
            SourceAllowlist::any()
        } else {
            bunq_events::production_sources()
        },
        dedupe: dedupe_from_env().await?,
        outcomes: Mutex::new(Vec::new()),
    });
    let addr = std::env::var("EVENTS_LISTEN").unwrap_or_else(|_| "127.0.0.1:8080".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    eprintln!("listening on {}", listener.local_addr()?);
    serve(listener, app).await?;
    Ok(())
}
