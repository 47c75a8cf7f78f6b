//! `embed-sessions bunq ...`

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Subcommand;
use embed_sessions::bunq::Bunq;
use embed_sessions::bunq::{
    BunqClient, BunqContext, ContextStore, FileStore, ProvisionPoll, RedisContextStore,
    SANDBOX_URL, raw,
};
use embed_sessions::fleet::Fleet;
use embed_sessions::{Config, Error, Provider, RetryPolicy};
use serde_json::{Value, json};

use crate::{Failure, Global};

/// bunq subcommands.
#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Open (or resume) an API context stored in FILE and print
    /// `{"sessionId", "userId", "expiresAt"}`; the session token stays in the file.
    /// BUNQ_API_KEY is needed only when FILE does not exist yet.
    #[command(
        after_help = "Example:\n  BUNQ_API_KEY=sandbox_... embed-sessions bunq session --context ./bunq.json --sandbox"
    )]
    Session {
        /// The context file (JSON, mode 0600; created when missing); with --redis, the
        /// context's name in Redis.
        #[arg(long, value_name = "FILE")]
        context: PathBuf,
        /// Device description registered with bunq.
        #[arg(long, value_name = "TEXT")]
        description: Option<String>,
        /// Use bunq's sandbox (unless --base-url or BUNQ_BASE_URL say otherwise).
        #[arg(long)]
        sandbox: bool,
    },
    /// Create a partner user provision with the partner's context (FILE) and print it; with
    /// --wait, poll until it is ready and store the new user's context beside FILE
    /// (its one-time token value is used at once and never printed).
    #[command(
        after_help = "Example:\n  embed-sessions bunq provision --context ./partner.json --email new@example.com --phone +31612345678 \\\n    --external-id 4f8f94de-2cc0-4ec7-a7f8-f0c7f560e59a --wait 300"
    )]
    Provision {
        /// The partner's context file; with --redis, the partner context's name in Redis
        /// (the user's is stored as `<NAME>.user-<UUID>`).
        #[arg(long, value_name = "FILE")]
        context: PathBuf,
        /// The user's email address.
        #[arg(long, value_name = "ADDR")]
        email: String,
        /// The user's phone number, E.164.
        #[arg(long, value_name = "E164")]
        phone: String,
        /// Your id for this user (a UUID).
        #[arg(long, value_name = "UUID")]
        external_id: String,
        /// Poll until the provision is ready, for at most this many seconds.
        #[arg(long, value_name = "SECONDS")]
        wait: Option<u64>,
        /// Use bunq's sandbox (unless --base-url or BUNQ_BASE_URL say otherwise).
        #[arg(long, hide = true)]
        sandbox: bool,
    },
}

fn client(
    global: &Global,
    stores: &Stores,
    sandbox: bool,
    description: Option<&str>,
) -> Result<BunqClient, Error> {
    let mut builder = Config::builder(Bunq);
    // With Redis, bunq's budgets (per endpoint, and one /session-server call per 30 s) are the
    // fleet's: replicas behind one address share them.
    if let Stores::Redis(fleet) = stores {
        builder = builder.rate_budgets(fleet.budgets());
    }
    if let Ok(key) = std::env::var(Bunq::DESCRIPTOR.api_key_var())
        && !key.is_empty()
    {
        builder = builder.api_key(key);
    }
    if sandbox {
        builder = builder.base_url(SANDBOX_URL);
    }
    builder = builder.base_url_from_env()?;
    if let Some(url) = &global.base_url {
        builder = builder.base_url(url.clone());
    }
    if let Some(timeout) = global.timeout {
        builder = builder.timeout(timeout);
    }
    if let Some(retries) = global.retries {
        let policy = embed_sessions::bunq::default_retry_policy();
        builder = builder.retry(if retries == 0 {
            RetryPolicy::none()
        } else {
            policy.max_attempts(retries.saturating_add(1))
        });
    }
    // Without BUNQ_API_KEY, a stored context brings its own key (and a new one is refused,
    // naming the variable).
    let client = BunqClient::without_key(builder.build()?)?;
    Ok(match description {
        Some(d) => client.with_device_description(d),
        None => client,
    })
}

/// Where contexts are kept: files, or Redis (`--redis` / EMBED_SESSIONS_REDIS_URL).
enum Stores {
    Files,
    Redis(Fleet),
}

impl Stores {
    async fn new(global: &Global) -> Result<Self, Error> {
        Ok(super::fleet(global).await?.map_or(Self::Files, Self::Redis))
    }

    /// The store of the context `context` (a file path, or a name in Redis).
    fn store(&self, context: &Path) -> Result<Box<dyn ContextStore>, Error> {
        Ok(match self {
            Self::Files => Box::new(FileStore::new(context)),
            Self::Redis(fleet) => {
                let name = context.to_str().ok_or_else(|| {
                    Error::invalid_input("context", "a context name in Redis is plain text")
                })?;
                Box::new(RedisContextStore::new(fleet, name)?)
            }
        })
    }

    /// Where a provisioned user's context goes: beside the partner's file, or under the
    /// partner's name in Redis.
    fn user_context(&self, partner: &Path, external_uuid: uuid::Uuid) -> PathBuf {
        match self {
            Self::Files => user_context_path(partner, external_uuid),
            Self::Redis(_) => PathBuf::from(format!("{}.user-{external_uuid}", partner.display())),
        }
    }
}

async fn open(client: &BunqClient, stores: &Stores, context: &Path) -> Result<BunqContext, Error> {
    client.context().store(stores.store(context)?).send().await
}

/// Runs a bunq subcommand.
pub async fn run(global: &Global, cmd: &Cmd) -> Result<Value, Failure> {
    match cmd {
        Cmd::Session { context, description, sandbox } => {
            let stores = Stores::new(global).await?;
            let client = client(global, &stores, *sandbox, description.as_deref())?;
            let ctx = open(&client, &stores, context).await?;
            let session = ctx.session().await?;
            Ok(json!({
                "sessionId": session.id(),
                "userId": session.user_id(),
                "expiresAt": session.expires_at().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            }))
        }
        Cmd::Provision { context, email, phone, external_id, wait, sandbox } => {
            let external_uuid = uuid::Uuid::try_parse(external_id).map_err(|_| {
                Error::invalid_input(
                    "external_id",
                    "must be a UUID like 4f8f94de-2cc0-4ec7-a7f8-f0c7f560e59a",
                )
            })?;
            let stores = Stores::new(global).await?;
            let client = client(global, &stores, *sandbox, None)?;
            let partner = open(&client, &stores, context).await?;
            let request = raw::types::PartnerUserProvisionCreate {
                director_relation_provision_id: None,
                email: email.clone(),
                external_uuid,
                phone_number: phone.clone(),
                products: vec!["USER_VERIFIED".into()],
                user_verified_type: raw::types::UserVerifiedType::PartnerUserPerson,
            };
            let provision = partner.create_user_provision(request).await?;
            let Some(seconds) = wait else {
                return provision_json(&provision, None);
            };
            let poll = ProvisionPoll::default().with_deadline(Duration::from_secs(*seconds));
            let ready = partner.wait_for_user_provision(provision.id(), poll).await?;
            let user_path = stores.user_context(context, external_uuid);
            let user = client.open_provisioned_user(&ready, stores.store(&user_path)?).await?;
            let session = user.session().await?;
            let mut out = provision_json(ready.provision(), Some(&user_path))?;
            out["userId"] = json!(session.user_id());
            Ok(out)
        }
    }
}

/// Where `provision --wait` stores the provisioned user's context: beside the partner's.
fn user_context_path(partner: &Path, external_uuid: uuid::Uuid) -> PathBuf {
    let stem = partner.file_stem().and_then(|s| s.to_str()).unwrap_or("bunq");
    partner.with_file_name(format!("{stem}.user-{external_uuid}.json"))
}

/// The decoded provision (its token value is never part of it), plus where the user's
/// context was stored.
fn provision_json(
    provision: &embed_sessions::bunq::Provision,
    user_context: Option<&Path>,
) -> Result<Value, Failure> {
    let mut out = match provision.details() {
        Some(details) => super::to_json(details)?,
        None => json!({}),
    };
    out["id"] = json!(provision.id());
    if let Some(path) = user_context {
        out["userContext"] = json!(path.display().to_string());
    }
    Ok(out)
}
