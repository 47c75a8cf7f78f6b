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

//! Every provider has the same shape: `<P>Client::new(Config::builder(<P>)...build()?)` or
//! `<P>Client::from_env()`, builders that end in `.send()`, sessions named `<P>Session` with
//! `token()` (and `expires_at()`, `iframe_url()` where the provider has them), and typed
//! reasons read with [`Error::reason_as`]. A configuration is typed by its provider, so one
//! made for another provider does not compile:
//!
//! ```compile_fail,E0308
//! # #[cfg(all(feature = "vlens", feature = "vrplatform"))] {
//! use embed_sessions::Config;
//! use embed_sessions::{vlens::VlensClient, vrplatform::VrPlatform};
//! let config = Config::builder(VrPlatform).api_key("K").build().unwrap();
//! let client = VlensClient::new(config); // expected `Config<Vlens>`, found `Config<VrPlatform>`
//! # }
//! ```

#![warn(missing_docs)]

#[macro_use]
pub mod core;

#[cfg(feature = "bunq")]
pub mod bunq;
#[cfg(feature = "redis")]
pub mod fleet;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
#[cfg(feature = "vlens")]
pub mod vlens;
#[cfg(feature = "vrplatform")]
pub mod vrplatform;

pub use crate::core::{
    ApiError, Config, ConfigBuilder, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_BODY_BYTES,
    DEFAULT_TIMEOUT, Descriptor, Error, ErrorKind, Provider, ProviderReason, Reason, RetryPolicy,
    Secret, USER_AGENT,
};
