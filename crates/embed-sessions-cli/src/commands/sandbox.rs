//! `embed-sessions sandbox`: serve the offline stand-in of all three providers
//! (crate `embed-sessions-sandbox`) until SIGINT or SIGTERM.

use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use embed_sessions_sandbox::{Sandbox, SandboxError};

const AFTER_HELP: &str = "\
Prints one JSON line once it accepts connections:
  {\"url\": ..., \"vlens\": ..., \"vlensApp\": ..., \"vrplatform\": ..., \"bunq\": ...}
Point the clients at it with VLENS_BASE_URL=<vlens> VLENS_IFRAME_ORIGIN=<vlensApp>
VRPLATFORM_BASE_URL=<vrplatform> BUNQ_BASE_URL=<bunq>; open <url> in a browser for the
sandbox inputs and the last requests. Every request is logged on stderr (one JSON line,
secrets redacted) unless -q. Runs until SIGINT/SIGTERM, then exits 0.

Example:
  embed-sessions sandbox --port 8089
  VLENS_API_KEY=any VLENS_BASE_URL=http://127.0.0.1:8089/vlens embed-sessions vlens auth-session --phone +201234567890";

/// `sandbox` arguments.
#[derive(Debug, Args)]
#[command(after_help = AFTER_HELP)]
pub struct SandboxArgs {
    /// Address to listen on (an IP, or IP:PORT); loopback unless --allow-non-loopback.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1", value_parser = parse_bind)]
    bind: SocketAddr,
    /// Port (default: a free one, or the port given in --bind).
    #[arg(long, value_name = "N")]
    port: Option<u16>,
    /// Allow a non-loopback --bind: anyone who reaches it can use it (any credential works).
    #[arg(long)]
    allow_non_loopback: bool,
    /// bunq's /session-server limit per client address, in seconds (bunq: 30).
    #[arg(long, value_name = "SECONDS", default_value_t = 30.0, value_parser = parse_interval)]
    bunq_session_interval: f64,
    /// Reads of a bunq partner user provision until it is ready.
    #[arg(long, value_name = "N", default_value_t = embed_sessions_sandbox::BUNQ_PROVISION_READS)]
    bunq_provision_reads: u32,
}

fn parse_bind(s: &str) -> Result<SocketAddr, String> {
    if s.eq_ignore_ascii_case("localhost") {
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0));
    }
    if let Ok(addr) = s.parse::<SocketAddr>() {
        return Ok(addr);
    }
    s.parse::<IpAddr>()
        .map(|ip| SocketAddr::new(ip, 0))
        .map_err(|_| format!("`{s}` is not an IP address or IP:PORT (e.g. 127.0.0.1)"))
}

fn parse_interval(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && (0.0..=86_400.0).contains(&v) => Ok(v),
        _ => Err(format!("`{s}` is not a number of seconds between 0 and 86400")),
    }
}

/// Runs the sandbox until SIGINT/SIGTERM: exit 0 then; 2 for a refused address, 4 when it
/// cannot listen.
pub fn main(args: &SandboxArgs, quiet: bool) -> ExitCode {
    let runtime =
        match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
            Ok(rt) => rt,
            Err(e) => {
                eprintln!("sandbox: cannot start the runtime: {e}");
                return ExitCode::from(4);
            }
        };
    runtime.block_on(serve(args, quiet))
}

async fn serve(args: &SandboxArgs, quiet: bool) -> ExitCode {
    let mut addr = args.bind;
    if let Some(port) = args.port {
        addr.set_port(port);
    }
    let mut builder = Sandbox::builder()
        .bind(addr)
        .allow_non_loopback(args.allow_non_loopback)
        .bunq_session_interval(Duration::from_secs_f64(args.bunq_session_interval))
        .bunq_provision_reads(args.bunq_provision_reads);
    if !quiet {
        builder = builder.on_request(|record| {
            if let Ok(line) = serde_json::to_string(record) {
                eprintln!("sandbox: {line}");
            }
        });
    }
    if !addr.ip().is_loopback() && args.allow_non_loopback {
        eprintln!(
            "sandbox: WARNING: listening on {addr}, not a loopback address: anyone who can reach \
             it can use it, and it accepts any credential"
        );
    }
    let sandbox = match builder.start().await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("sandbox: {e}");
            return ExitCode::from(match e {
                SandboxError::NonLoopback(_) => 2,
                _ => 4,
            });
        }
    };
    // Listen for signals before the line announces the sandbox: a script that stops it as
    // soon as it has read the line must get the clean exit, not the default signal death.
    let stopped = match shutdown_signal() {
        Ok(stopped) => stopped,
        Err(e) => {
            eprintln!("sandbox: cannot wait for signals: {e}");
            return ExitCode::from(4);
        }
    };
    let line = serde_json::to_string(sandbox.urls()).unwrap_or_default();
    let mut stdout = std::io::stdout();
    if writeln!(stdout, "{line}").and_then(|()| stdout.flush()).is_err() {
        eprintln!("sandbox: cannot write to stdout");
        return ExitCode::from(4);
    }
    stopped.await;
    sandbox.shutdown().await;
    if !quiet {
        eprintln!("sandbox: stopped");
    }
    ExitCode::SUCCESS
}

/// Installs the SIGTERM and SIGINT handlers now; the future ends at the first signal.
#[cfg(unix)]
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    })
}

/// Ctrl-C (installed when first polled: there is no SIGTERM to race with here).
#[cfg(not(unix))]
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}
