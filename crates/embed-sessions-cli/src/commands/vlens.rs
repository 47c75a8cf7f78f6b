//! `embed-sessions vlens ...`

use clap::{Args, Subcommand};
use embed_sessions::Error;
use embed_sessions::vlens::{AdminCredentials, Vlens, VlensClient, VlensSession};
use serde_json::{Value, json};

use crate::{Failure, Global};

/// Vlens subcommands.
#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Create an embedded auth session (API key only) and print `{"token", "iframeUrl"}`.
    #[command(
        after_help = "Example:\n  VLENS_API_KEY=... embed-sessions vlens auth-session --phone +201234567890 --contract-type 414 --minimal-signature-flow"
    )]
    AuthSession(AuthSession),
    /// Create an invitation with pre-filled fields (needs VLENS_TENANCY_NAME, VLENS_USERNAME,
    /// VLENS_PASSWORD) and print `{"token", "iframeUrl"}`.
    #[command(
        after_help = "Example:\n  embed-sessions vlens invitation --phone +201234567890 --contract-type 414 --field 414.fullName='Ahmed Mohamed'"
    )]
    Invitation(Invitation),
    /// Print the template fields of a contract (business request) type.
    #[command(
        after_help = "Example:\n  VLENS_API_KEY=... embed-sessions vlens template-fields --request-type 414"
    )]
    TemplateFields {
        /// The contract (business request) type id.
        #[arg(long, value_name = "ID")]
        request_type: i32,
    },
}

/// Who the session is for: exactly one of phone or email.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct User {
    /// The user's phone number, E.164 (e.g. +201234567890).
    #[arg(long, value_name = "E164")]
    phone: Option<String>,
    /// The user's email address.
    #[arg(long, value_name = "ADDR")]
    email: Option<String>,
}

/// `vlens auth-session` arguments.
#[derive(Debug, Args)]
pub struct AuthSession {
    #[command(flatten)]
    user: User,
    /// Allowed contract type id (repeatable).
    #[arg(long = "contract-type", value_name = "ID")]
    contract_types: Vec<i64>,
    /// Skip optional steps and use the streamlined signing flow.
    #[arg(long)]
    minimal_signature_flow: bool,
    /// KYC only, no contract creation.
    #[arg(long)]
    digital_identity_only: bool,
    /// A file with an RSA public key (PEM) with which Vlens encrypts the token.
    #[arg(long, value_name = "PEM-FILE")]
    user_public_key: Option<std::path::PathBuf>,
}

/// `vlens invitation` arguments.
#[derive(Debug, Args)]
pub struct Invitation {
    #[command(flatten)]
    user: User,
    /// Allowed contract type id (repeatable).
    #[arg(long = "contract-type", value_name = "ID")]
    contract_types: Vec<i64>,
    /// A pre-filled value: contract type id, field key, value (repeatable).
    #[arg(long = "field", value_name = "TYPEID.KEY=VALUE", value_parser = parse_field)]
    fields: Vec<(i64, String, String)>,
}

fn parse_field(s: &str) -> Result<(i64, String, String), String> {
    let bad = || format!("`{s}` is not TYPEID.KEY=VALUE (e.g. 414.fullName=Ahmed)");
    let (type_id, rest) = s.split_once('.').ok_or_else(bad)?;
    let (key, value) = rest.split_once('=').ok_or_else(bad)?;
    let type_id = type_id.parse().map_err(|_| bad())?;
    Ok((type_id, key.to_string(), value.to_string()))
}

fn output(session: &VlensSession) -> Value {
    json!({"token": session.token().expose(), "iframeUrl": session.iframe_url()})
}

/// Runs a Vlens subcommand.
pub async fn run(global: &Global, cmd: &Cmd) -> Result<Value, Failure> {
    // With Redis: Vlens's rate budget (10/s, 60/min per key) is the fleet's, and invitations
    // share the admin token.
    let fleet = super::fleet(global).await?;
    let mut client = VlensClient::new(global.config_in(Vlens, true, fleet.as_ref())?)?;
    if let Ok(origin) = std::env::var(embed_sessions::vlens::IFRAME_ORIGIN_VAR)
        && !origin.is_empty()
    {
        client = client.with_iframe_origin(&origin)?;
    }
    match cmd {
        Cmd::AuthSession(a) => {
            let mut b = client.auth_session().contract_types(a.contract_types.iter().copied());
            if let Some(p) = &a.user.phone {
                b = b.phone(p.clone());
            }
            if let Some(e) = &a.user.email {
                b = b.email(e.clone());
            }
            if a.minimal_signature_flow {
                b = b.minimal_signature_flow(true);
            }
            if a.digital_identity_only {
                b = b.digital_identity_only(true);
            }
            if let Some(path) = &a.user_public_key {
                let pem = std::fs::read_to_string(path).map_err(|e| {
                    Error::invalid_input(
                        "user_public_key",
                        format!("cannot read {}: {e}", path.display()),
                    )
                })?;
                b = b.user_public_key(pem);
            }
            Ok(output(&b.send().await?))
        }
        Cmd::Invitation(i) => {
            let mut client = client.with_admin(AdminCredentials::from_env()?);
            // With Redis: the admin token another process obtained within its lifetime is used.
            if let Some(fleet) = &fleet {
                client = client.with_shared_admin_token(fleet);
            }
            let mut b = client.invitation().contract_types(i.contract_types.iter().copied());
            if let Some(p) = &i.user.phone {
                b = b.phone(p.clone());
            }
            if let Some(e) = &i.user.email {
                b = b.email(e.clone());
            }
            for (type_id, key, value) in &i.fields {
                b = b.field(*type_id, key.clone(), value.clone());
            }
            Ok(output(&b.send().await?))
        }
        Cmd::TemplateFields { request_type } => {
            // Admin credentials are used when present (the e-contracting guide sends a token).
            let client = match AdminCredentials::from_env() {
                Ok(creds) => client.with_admin(creds),
                Err(_) => client,
            };
            super::to_json(&client.template_fields(*request_type).await?)
        }
    }
}
