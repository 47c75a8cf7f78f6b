//! `embed-sessions`: mint Vlens, VRPlatform and bunq sessions from a terminal or a script.
//!
//! A thin layer over the `embed-sessions` facade: arguments become builder calls, the result is
//! one JSON object on stdout, a failure is one line on stderr and an exit code:
//! `0` success, `2` usage, configuration or invalid input (nothing was sent), or a body that is
//! not a valid event (`events parse`), `3` the provider
//! rejected the request (a 4xx, or a Vlens envelope error), `4` transport or provider failure
//! (timeout, connection, 5xx, malformed or unsigned response), `5` the request succeeded but
//! its result could not be rendered as JSON. Secrets come only from the environment and never
//! appear in the output, except the session token a command prints.

mod commands;

use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use embed_sessions::{Config, Error, ErrorKind, Provider, RetryPolicy};

const EXAMPLES: &str = "\
Examples:
  VLENS_API_KEY=... embed-sessions vlens auth-session --phone +201234567890 --contract-type 414
  VRPLATFORM_API_KEY=... embed-sessions vrplatform session --sub user-123 --tenant 4f8f94de-2cc0-4ec7-a7f8-f0c7f560e59a
  BUNQ_API_KEY=... embed-sessions bunq session --context ./bunq-context.json --sandbox
  embed-sessions events parse --bunq < callback.json

Exit codes: 0 success, 2 usage/configuration/invalid input (nothing sent) or a body that
is not a valid event (events parse),
3 rejected by the provider (4xx, Vlens envelope error), 4 transport or provider failure,
5 the request succeeded but its result could not be rendered as JSON.";

/// Mint embedded-UI sessions for Vlens, VRPlatform and bunq.
#[derive(Debug, Parser)]
#[command(name = "embed-sessions", version, after_help = EXAMPLES)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub provider: ProviderCmd,
}

/// Options every subcommand accepts.
#[derive(Debug, Args)]
pub struct Global {
    /// Base URL (else <PROVIDER>_BASE_URL, else the provider's production URL); https, or
    /// http on a loopback host.
    #[arg(long, global = true, value_name = "URL")]
    pub base_url: Option<String>,
    /// Timeout of each attempt, in seconds.
    #[arg(long, global = true, value_name = "SECONDS", value_parser = parse_seconds)]
    pub timeout: Option<Duration>,
    /// Retries after the first attempt (0 disables retries).
    #[arg(long, global = true, value_name = "N")]
    pub retries: Option<u32>,
    /// More logging on stderr (-v debug, -vv trace); secrets are never logged.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// No logging on stderr except the error line.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Share state with the other instances through Redis at URL (else
    /// EMBED_SESSIONS_REDIS_URL): bunq's --context is then a context name in Redis. Keys are
    /// prefixed with EMBED_SESSIONS_REDIS_PREFIX (default `embed-sessions:`); values are
    /// sealed with EMBED_SESSIONS_STORE_KEY (base64 of 32 bytes, required with Redis).
    #[arg(long, global = true, value_name = "URL")]
    pub redis: Option<String>,
}

impl Global {
    /// The Redis URL from `--redis` or EMBED_SESSIONS_REDIS_URL, if any.
    pub fn redis_url(&self) -> Option<String> {
        self.redis.clone().filter(|u| !u.trim().is_empty()).or_else(|| {
            std::env::var(embed_sessions::fleet::REDIS_URL_VAR)
                .ok()
                .filter(|u| !u.trim().is_empty())
        })
    }
}

fn parse_seconds(s: &str) -> Result<Duration, String> {
    let secs: f64 = s.parse().map_err(|_| format!("`{s}` is not a number of seconds"))?;
    if secs.is_finite() && secs > 0.0 && secs <= 3600.0 {
        Ok(Duration::from_secs_f64(secs))
    } else {
        Err("the timeout must be between 0 and 3600 seconds".into())
    }
}

/// The provider to talk to.
#[derive(Debug, Subcommand)]
pub enum ProviderCmd {
    /// Vlens: identity verification and e-contracting sessions (VLENS_API_KEY).
    #[command(subcommand)]
    Vlens(commands::vlens::Cmd),
    /// VRPlatform: embed sessions for the accounting iframe (VRPLATFORM_API_KEY).
    #[command(subcommand)]
    Vrplatform(commands::vrplatform::Cmd),
    /// bunq: API sessions and partner user provisioning (BUNQ_API_KEY).
    #[command(subcommand)]
    Bunq(commands::bunq::Cmd),
    /// Inbound Vlens webhooks and bunq callbacks: parse a body from stdin, make a URL token.
    #[command(subcommand)]
    Events(commands::events::Cmd),
    /// An offline stand-in of all three providers on one loopback port (prints its URLs).
    Sandbox(commands::sandbox::SandboxArgs),
}

impl Global {
    /// The facade configuration for `provider`: the API key from the environment (when
    /// `needs_key`), then base URL, timeout and retries from the flags.
    pub fn config<P: Provider>(&self, provider: P, needs_key: bool) -> Result<Config<P>, Error> {
        self.config_in(provider, needs_key, None)
    }

    /// [`Global::config`], with the rate budgets kept in the fleet's Redis when there is one.
    pub fn config_in<P: Provider>(
        &self,
        provider: P,
        needs_key: bool,
        fleet: Option<&embed_sessions::fleet::Fleet>,
    ) -> Result<Config<P>, Error> {
        let mut builder = Config::builder(provider);
        if let Some(fleet) = fleet {
            builder = builder.rate_budgets(fleet.budgets());
        }
        builder = if needs_key { builder.from_env()? } else { builder.base_url_from_env()? };
        if let Some(url) = &self.base_url {
            builder = builder.base_url(url.clone());
        }
        if let Some(timeout) = self.timeout {
            builder = builder.timeout(timeout);
        }
        if let Some(retries) = self.retries {
            builder = builder.retry(RetryPolicy::default().max_attempts(retries.saturating_add(1)));
        }
        builder.build()
    }
}

/// Why a command failed: the facade's error, or (after a successful request) the result could
/// not be rendered.
#[derive(Debug)]
pub enum Failure {
    /// The facade's error.
    Facade(Error),
    /// The request succeeded, but its result could not be rendered as JSON.
    Render(String),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Facade(e)
    }
}

impl Failure {
    /// The exit code (see the crate docs).
    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::Facade(e) => exit_code(e),
            Failure::Render(_) => 5,
        }
    }

    /// The stderr line.
    pub fn line(&self, provider: &str) -> String {
        match self {
            Failure::Facade(e) => error_line(provider, e),
            Failure::Render(why) => format!(
                "{provider}: the request succeeded, but its result could not be rendered as \
                 JSON ({why}); it was not printed"
            ),
        }
    }
}

/// The exit code for an error (see the crate docs).
pub fn exit_code(e: &Error) -> u8 {
    let status = e.status();
    match e.kind() {
        ErrorKind::InvalidInput | ErrorKind::Config => 2,
        ErrorKind::InvalidEvent | ErrorKind::EventRefused => 2,
        ErrorKind::Api if status.is_some_and(|s| s >= 500) => 4,
        ErrorKind::Api => 3,
        ErrorKind::UnexpectedResponse if status.is_some_and(|s| (400..500).contains(&s)) => 3,
        _ => 4,
    }
}

/// One human line: provider, typed reason, status, what to do, and the provider's own
/// message as sent (operators grep for it).
pub fn error_line(provider: &str, e: &Error) -> String {
    if e.kind() != ErrorKind::Api {
        // The error's own Display already names provider and operation when it has them.
        return match e.provider() {
            Some(_) => e.to_string(),
            None => format!("{provider}: {e}"),
        };
    }
    let reason = e.reason().map(ToString::to_string).unwrap_or_else(|| "rejected".into());
    let api = e.api_error();
    let mut status = e.status().map(|s| s.to_string()).unwrap_or_default();
    if let Some(code) = api.and_then(|a| a.code.as_deref()) {
        if !status.is_empty() {
            status.push_str(", ");
        }
        status.push_str("code ");
        status.push_str(code);
    }
    let mut line = format!("{provider}: {reason}");
    if !status.is_empty() {
        line.push_str(&format!(" ({status})"));
    }
    let mut parts = Vec::new();
    if let Some(hint) = e.hint() {
        // Library hints name builder options; on the command line they are flags.
        parts.push(hint.replace("autoProvision", "--auto-provision"));
    }
    if let Some(message) = e.provider_message() {
        parts.push(format!("provider said: \"{message}\""));
    }
    if !parts.is_empty() {
        line.push_str(": ");
        line.push_str(&parts.join("; "));
    }
    line
}

fn init_logging(global: &Global) {
    let level = match (global.quiet, global.verbose) {
        (true, _) | (false, 0) => return,
        (false, 1) => tracing::Level::DEBUG,
        (false, _) => tracing::Level::TRACE,
    };
    tracing_subscriber::fmt()
        .with_max_level(level)
        .with_ansi(false)
        .with_writer(std::io::stderr)
        .init();
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    init_logging(&cli.global);
    if let ProviderCmd::Sandbox(args) = &cli.provider {
        return commands::sandbox::main(args, cli.global.quiet);
    }
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("embed-sessions: cannot start the runtime: {e}");
            return ExitCode::from(4);
        }
    };
    let (provider, result) = runtime.block_on(commands::run(&cli));
    match result {
        Ok(value) => {
            println!("{value}");
            ExitCode::SUCCESS
        }
        Err(failure) => {
            eprintln!("{}", failure.line(provider));
            ExitCode::from(failure.exit_code())
        }
    }
}
