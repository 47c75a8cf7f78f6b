//! One module per provider; each turns its subcommand into facade calls.

pub mod bunq;
pub mod events;
pub mod sandbox;
pub mod vlens;
pub mod vrplatform;

use embed_sessions::bunq::Bunq;
use embed_sessions::vlens::Vlens;
use embed_sessions::vrplatform::VrPlatform;
use embed_sessions::{Error, Provider};
use serde_json::Value;

use crate::{Cli, Failure, ProviderCmd};

/// Runs the command; returns the provider (for the error line) and the JSON to print.
pub async fn run(cli: &Cli) -> (&'static str, Result<Value, Failure>) {
    match &cli.provider {
        ProviderCmd::Vlens(cmd) => (Vlens::DESCRIPTOR.name(), vlens::run(&cli.global, cmd).await),
        ProviderCmd::Vrplatform(cmd) => {
            (VrPlatform::DESCRIPTOR.name(), vrplatform::run(&cli.global, cmd).await)
        }
        ProviderCmd::Bunq(cmd) => (Bunq::DESCRIPTOR.name(), bunq::run(&cli.global, cmd).await),
        ProviderCmd::Events(cmd) => (events::provider(cmd), events::run(cmd)),
        // A server, not a call: `main` runs it (sandbox::main) before it gets here.
        ProviderCmd::Sandbox(_) => (
            "sandbox",
            Err(Error::config("`sandbox` is run by main, not as a provider call").into()),
        ),
    }
}

/// The fleet's Redis (`--redis` / EMBED_SESSIONS_REDIS_URL), or `None` to keep state in this
/// process.
pub async fn fleet(global: &crate::Global) -> Result<Option<embed_sessions::fleet::Fleet>, Error> {
    let Some(url) = global.redis_url() else { return Ok(None) };
    embed_sessions::fleet::Fleet::connect_url_env(&url).await.map(Some)
}

/// Serializes a facade value for stdout. A failure here comes after the request succeeded:
/// it is its own exit path (5), never "nothing was sent". The serializer's message is not
/// shown (it could quote a value of the result, such as a token).
pub fn to_json(value: &impl serde::Serialize) -> Result<Value, Failure> {
    serde_json::to_value(value).map_err(|e| {
        Failure::Render(match e.classify() {
            serde_json::error::Category::Io => "an I/O error".into(),
            _ => "a value cannot be encoded".into(),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A value whose serialization fails, with a secret in the serializer's message.
    struct Unrenderable;

    impl serde::Serialize for Unrenderable {
        fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
            Err(serde::ser::Error::custom("cannot encode tok_RENDER_SECRET"))
        }
    }

    #[test]
    fn a_rendering_failure_after_success_has_its_own_exit_code() {
        let failure = to_json(&Unrenderable).unwrap_err();
        assert!(matches!(failure, Failure::Render(_)), "{failure:?}");
        assert_eq!(failure.exit_code(), 5);
        let line = failure.line(VrPlatform::DESCRIPTOR.name());
        assert!(line.starts_with("vrplatform: the request succeeded"), "{line}");
        assert!(
            !line.contains("nothing was sent") && !line.contains("tok_RENDER_SECRET"),
            "{line}"
        );
    }
}
