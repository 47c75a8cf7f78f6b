//! `events`: inbound webhook and callback bodies, offline (nothing is sent).

use std::io::Read as _;

use clap::{ArgGroup, Args, Subcommand};
use embed_sessions::Error;
use embed_sessions::core::inbound::{DEFAULT_MAX_EVENT_BYTES, UrlToken};
use serde_json::{Value, json};

use crate::Failure;

/// Inbound events: parse a body, make a webhook URL token.
#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Parse a webhook (Vlens) or callback (bunq) body read on stdin and print the typed event
    /// as JSON, with its dedupe key. Exit 2, the reason on stderr, for a body that is not a
    /// valid event. Nothing is sent: confirm the event through the API before acting on it.
    #[command(
        after_help = "Examples:\n  embed-sessions events parse --vlens < webhook.json\n  embed-sessions events parse --bunq --content-type application/json < callback.json"
    )]
    Parse(ParseArgs),
    /// Print a new unguessable token for a subscribed webhook URL
    /// (`https://you/webhooks/vlens/<token>`).
    #[command(after_help = "Example:\n  embed-sessions events token   # {\"token\": \"...\"}")]
    Token,
}

/// Which provider's body it is.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("provider").required(true).args(["vlens", "bunq"])))]
pub struct ParseArgs {
    /// A Vlens webhook (`App.BusinessRequestStatusChange`).
    #[arg(long)]
    pub vlens: bool,
    /// A bunq callback (`{"NotificationUrl": ...}`).
    #[arg(long)]
    pub bunq: bool,
    /// The request's Content-Type, checked as the receiver would (must be JSON).
    #[arg(long, value_name = "TYPE")]
    pub content_type: Option<String>,
}

/// The provider name for the error line.
pub fn provider(cmd: &Cmd) -> &'static str {
    match cmd {
        Cmd::Parse(a) if a.bunq => "bunq",
        Cmd::Parse(_) => "vlens",
        Cmd::Token => "events",
    }
}

/// Runs the command.
pub fn run(cmd: &Cmd) -> Result<Value, Failure> {
    match cmd {
        Cmd::Token => Ok(json!({"token": UrlToken::generate()?.expose()})),
        Cmd::Parse(args) => parse(args),
    }
}

fn parse(args: &ParseArgs) -> Result<Value, Failure> {
    // At most one byte over the limit is read: the parser refuses the rest unread.
    let mut body = Vec::new();
    std::io::stdin()
        .lock()
        .take(DEFAULT_MAX_EVENT_BYTES as u64 + 1)
        .read_to_end(&mut body)
        .map_err(|e| Error::config(format!("cannot read stdin: {e}")))?;
    let mut headers = http::HeaderMap::new();
    if let Some(ct) = &args.content_type {
        let value = ct
            .parse()
            .map_err(|_| Error::invalid_input("content_type", "not a valid header value"))?;
        headers.insert(http::header::CONTENT_TYPE, value);
    }
    if args.bunq {
        let c = embed_sessions::bunq::events::parse(&headers, &body)?;
        Ok(json!({"provider": "bunq", "dedupe_key": c.dedupe_key(), "event": super::to_json(&c)?}))
    } else {
        let e = embed_sessions::vlens::events::parse(&headers, &body)?;
        Ok(json!({"provider": "vlens", "dedupe_key": e.dedupe_key(), "event": super::to_json(&e)?}))
    }
}
