//! One module per provider; each turns its subcommand into facade calls.

pub mod bunq;
pub mod sandbox;
pub mod vlens;
pub mod vrplatform;

use embed_sessions::{Error, Provider};
use serde_json::Value;

use crate::{Cli, ProviderCmd};

/// Runs the command; returns the provider (for the error line) and the JSON to print.
pub async fn run(cli: &Cli) -> (Provider, Result<Value, Error>) {
    match &cli.provider {
        ProviderCmd::Vlens(cmd) => (Provider::Vlens, vlens::run(&cli.global, cmd).await),
        ProviderCmd::Vrplatform(cmd) => {
            (Provider::VrPlatform, vrplatform::run(&cli.global, cmd).await)
        }
        ProviderCmd::Bunq(cmd) => (Provider::Bunq, bunq::run(&cli.global, cmd).await),
        // A server, not a call: `main` runs it (sandbox::main) before it gets here.
        ProviderCmd::Sandbox(_) => (
            Provider::Vlens,
            Err(Error::config("`sandbox` is run by main, not as a provider call")),
        ),
    }
}

/// Serializes a facade value for stdout.
pub fn to_json(value: &impl serde::Serialize) -> Result<Value, Error> {
    serde_json::to_value(value)
        .map_err(|e| Error::config(format!("cannot render the result as JSON: {e}")))
}
