//! `embed-sessions vrplatform ...`

use clap::Subcommand;
use embed_sessions::vrplatform::{SessionCache, UserProvisioning, VrPlatform, VrPlatformClient};
use embed_sessions::{Error, Secret};
use serde_json::Value;

use crate::{Failure, Global};

/// VRPlatform subcommands.
#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Mint an embed session and print the frontend payload
    /// `{"accessToken", "expiresAt", "tenantId"}`.
    #[command(
        after_help = "Example:\n  VRPLATFORM_API_KEY=... embed-sessions vrplatform session --sub hostaway-user-123 --tenant 4f8f94de-2cc0-4ec7-a7f8-f0c7f560e59a --auto-provision"
    )]
    Session {
        /// Your stable external user id.
        #[arg(long, value_name = "SUB")]
        sub: String,
        /// The managed team (tenant) id the iframe opens into.
        #[arg(long = "tenant", value_name = "UUID")]
        tenant: String,
        /// Create the embedded user on first access.
        #[arg(long)]
        auto_provision: bool,
    },
    /// Print a team: with the provider key, or with an embed access token read from the
    /// environment variable named by --access-token-env (what the iframe does).
    #[command(
        after_help = "Example:\n  VRP_TOKEN=... embed-sessions vrplatform team --tenant 4f8f94de-2cc0-4ec7-a7f8-f0c7f560e59a --access-token-env VRP_TOKEN"
    )]
    Team {
        /// The team (tenant) id.
        #[arg(long = "tenant", value_name = "UUID")]
        tenant: String,
        /// Name of the environment variable holding an embed access token.
        #[arg(long, value_name = "VAR")]
        access_token_env: Option<String>,
    },
}

/// Runs a VRPlatform subcommand.
pub async fn run(global: &Global, cmd: &Cmd) -> Result<Value, Failure> {
    match cmd {
        Cmd::Session { sub, tenant, auto_provision } => {
            let client = VrPlatformClient::new(global.config(VrPlatform, true)?)?;
            // With Redis: through the fleet's shared cache (a session another process fetched
            // within its lifetime is used, with no upstream call).
            if let Some(fleet) = super::fleet(global).await? {
                let cache = SessionCache::builder(client).shared(&fleet).build();
                let session =
                    cache.get(sub, tenant, UserProvisioning::from(*auto_provision)).await?;
                return super::to_json(&session.frontend_payload());
            }
            let session = client
                .embed_session()
                .sub(sub.clone())
                .tenant_id(tenant.clone())
                .auto_provision(*auto_provision)
                .send()
                .await?;
            super::to_json(&session.frontend_payload())
        }
        Cmd::Team { tenant, access_token_env: Some(var) } => {
            let token = match std::env::var(var) {
                Ok(t) if !t.is_empty() => Secret::new(t),
                _ => {
                    return Err(
                        Error::config(format!("environment variable {var} is not set")).into()
                    );
                }
            };
            // The bearer call needs no provider key.
            let client = VrPlatformClient::without_key(global.config(VrPlatform, false)?)?;
            super::to_json(&client.team_with_token(tenant, &token).await?)
        }
        Cmd::Team { tenant, access_token_env: None } => {
            let client = VrPlatformClient::new(global.config(VrPlatform, true)?)?;
            super::to_json(&client.team(tenant).await?)
        }
    }
}
