//! Open (or restore) a bunq API context kept in a file, and show its session and the user's
//! notification filters.
//!
//! ```sh
//! BUNQ_API_KEY=sandbox_... [BUNQ_BASE_URL=https://public-api.sandbox.bunq.com/v1] \
//!   cargo run -p embed-sessions --features bunq --example bunq_session -- bunq-context.json
//! ```
//!
//! The first run registers a new RSA key pair (installation), binds the API key to this IP
//! (device) and opens a session, saving the context to the file (mode 0600: it holds the
//! private key and tokens). Later runs reuse it: no installation, no device, and no new session
//! while the stored one is valid. Without `BUNQ_BASE_URL` the sandbox is used.

use embed_sessions::Config;
use embed_sessions::bunq::Bunq;
use embed_sessions::bunq::{self, BunqClient, FileStore};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or(
        "usage: bunq_session <CONTEXT_FILE> (BUNQ_API_KEY to create it; optional BUNQ_BASE_URL)",
    )?;
    // The sandbox unless BUNQ_BASE_URL says otherwise. BUNQ_API_KEY is needed only to create
    // the context: once stored, the file holds the key.
    let mut config = Config::builder(Bunq).base_url(bunq::SANDBOX_URL).base_url_from_env()?;
    if let Ok(key) = std::env::var("BUNQ_API_KEY")
        && !key.is_empty()
    {
        config = config.api_key(key);
    }
    let config = config.build()?;
    // Without a key of its own, the client opens the stored context with the file's key.
    let client = BunqClient::without_key(config)?.with_device_description("embed-sessions example");
    let run = async {
        let ctx = client.context().store(FileStore::new(&path)).send().await?;
        let session = ctx.session().await?;
        println!(
            "{} context in {path}: device {}, session {} for {} {} (user id {}), expires {}",
            ctx.environment(),
            ctx.device_id(),
            session.id(),
            session.user().kind(),
            session.user().granted_by_user_id().map_or(String::new(), |id| format!("of user {id}")),
            session.user_id(),
            session.expires_at()
        );
        for f in ctx.notification_filters_url().await? {
            println!(
                "url filter: {} -> {}",
                f.category.unwrap_or_default(),
                f.notification_target.unwrap_or_default()
            );
        }
        for f in ctx.notification_filters_push().await? {
            println!("push filter: {}", f.category.unwrap_or_default());
        }
        Ok::<_, embed_sessions::Error>(())
    };
    if let Err(e) = run.await {
        eprintln!("{e}");
        std::process::exit(1);
    }
    Ok(())
}
