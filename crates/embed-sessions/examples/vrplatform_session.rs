//! Issues a VRPlatform embed session and prints the frontend payload as JSON.
//!
//! ```text
//! VRPLATFORM_API_KEY=... [VRPLATFORM_BASE_URL=http://127.0.0.1:8080] \
//!     cargo run -p embed-sessions --features vrplatform --example vrplatform_session -- \
//!     <SUB> <TENANT_ID> [--auto-provision] [--verify]
//! ```
//!
//! `SUB` and `TENANT_ID` may also come from the `SUB` and `TENANT` environment variables.
//! `--verify` then reads the team with the session's bearer token, as the iframe will.
//! Errors print as `vrplatform: <reason> (<status>): <hint>` when the failure is documented.

use std::process::ExitCode;

use embed_sessions::Error;
use embed_sessions::vrplatform::VrPlatformClient;

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            match (e.reason(), e.status(), e.hint()) {
                (Some(reason), Some(status), Some(hint)) => {
                    eprintln!("vrplatform: {reason} ({status}): {hint}")
                }
                _ => eprintln!("{e}"),
            }
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Error> {
    let mut positional = Vec::new();
    let (mut auto_provision, mut verify) = (false, false);
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--auto-provision" => auto_provision = true,
            "--verify" => verify = true,
            _ => positional.push(arg),
        }
    }
    let mut positional = positional.into_iter();
    let sub = positional.next().or_else(|| std::env::var("SUB").ok()).unwrap_or_default();
    let tenant = positional.next().or_else(|| std::env::var("TENANT").ok()).unwrap_or_default();

    let vrp = VrPlatformClient::from_env()?;
    let session = vrp
        .embed_session()
        .sub(sub)
        .tenant_id(tenant)
        .auto_provision(auto_provision)
        .send()
        .await?;
    if verify {
        let team = vrp.verify_session(&session).await?;
        eprintln!("verified: the token opens team {}", team.name.as_deref().unwrap_or("(unnamed)"));
    }
    let json = serde_json::to_string_pretty(&session.frontend_payload())
        .map_err(|e| Error::config(format!("cannot encode the payload: {e}")))?;
    println!("{json}");
    Ok(())
}
