//! Mint embedded-UI sessions for **Vlens**, **VRPlatform** and **bunq** from a backend.
//!
//! Each provider lives behind a cargo feature (all on by default) and re-exports its generated
//! client as `<provider>::raw`, so nothing the generator offers is hidden. What this crate adds:
//!
//! - configuration from arguments or the environment ([`Config`]), with finite timeouts and
//!   https-only base URLs (plain http only for loopback hosts);
//! - secrets that never print ([`Secret`]);
//! - one error type ([`Error`]) with the provider, operation, HTTP status, the provider's code,
//!   message and a typed [`Reason`] with a hint, and a bounded body excerpt;
//! - a bounded [`RetryPolicy`] (3 attempts, jittered exponential backoff, `Retry-After`);
//! - `tracing` spans per request attempt (`embed_sessions.request`: provider, operation,
//!   attempt, status, latency), with no secret in any field.
//!
//! ```no_run
//! # #[cfg(feature = "vlens")]
//! # async fn demo() -> Result<(), embed_sessions::Error> {
//! use embed_sessions::vlens::VlensClient;
//! let session = VlensClient::from_env()?.auth_session().email("user@example.com").send().await?;
//! println!("{}", session.iframe_url());
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

mod config;
mod error;
mod redact;
mod retry;
mod secret;
mod transport;
mod validate;

#[cfg(feature = "bunq")]
pub mod bunq;
#[cfg(feature = "vlens")]
pub mod vlens;
#[cfg(feature = "vrplatform")]
pub mod vrplatform;

pub use config::{
    Config, ConfigBuilder, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_BODY_BYTES, DEFAULT_TIMEOUT,
    Provider, USER_AGENT,
};
pub use error::{ApiError, Error, ErrorKind, Reason};
pub use retry::RetryPolicy;
pub use secret::Secret;
