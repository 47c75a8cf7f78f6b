//! Generated client for the bunq public API v1 (`specs/bunq.yaml`, OpenAPI 3.0.3,
//! hand-maintained from bunq's docs, swagger and SDKs).
//!
//! bunq is a bank; this subset covers what a partner needs to act for a provisioned user:
//! the API context (`create_installation`, `create_device_server`, `create_session_server`,
//! `delete_session`), partner user provisioning (`create`/`get`/`update_partner_user_provision`)
//! and the user's notification filters (`create`/`list_notification_filter_url`|`push`).
//! Success bodies are bunq's `{"Response": [...]}` envelope, whose elements are enums keyed by
//! type (`types::SessionServerItem::Token`, ...): find them by variant, not by position.
//!
//! Signing: bunq wants `X-Bunq-Client-Signature` (RSA over the exact body bytes) on
//! session-server and on most calls after it, plus `X-Bunq-Client-Authentication`,
//! `User-Agent` and `Cache-Control`. All of them are optional builder arguments here: the
//! `embed-sessions` facade sets them and signs every request through the transport hooks
//! (`embed_sessions_hooks::Hooks`), and verifies bunq's response signatures. A raw client built
//! with `Default::default()` hooks signs nothing; set the headers yourself.
//!
//! Everything here is produced by `cargo xtask codegen` except this file.
//!
//! ```no_run
//! # async fn demo() -> Result<(), bunq_client::Error<bunq_client::types::BunqError>> {
//! use bunq_client::{Client, types};
//! let client = Client::new("https://public-api.sandbox.bunq.com/v1", Default::default());
//! let body = types::InstallationCreate {
//!     client_public_key: "-----BEGIN PUBLIC KEY-----\n...\n-----END PUBLIC KEY-----\n".into(),
//! };
//! let out = client
//!     .create_installation()
//!     .user_agent("my-app/1.0")
//!     .cache_control("no-cache")
//!     .body(body)
//!     .send()
//!     .await?;
//! let token = out.response.iter().find_map(|item| match item {
//!     types::InstallationItem::Token(t) => Some(t.token.clone()),
//!     _ => None,
//! });
//! println!("installation token present: {}", token.is_some());
//! # Ok(()) }
//! ```
//!
//! With the `mock` feature, `mock` holds typed httpmock helpers (`MockServerExt`).

#[rustfmt::skip]
#[allow(clippy::all, clippy::pedantic, missing_docs, rustdoc::all, unused)]
mod generated;
pub use generated::*;

/// Typed httpmock helpers generated from the spec (feature `mock`).
#[cfg(feature = "mock")]
#[rustfmt::skip]
#[allow(clippy::all, clippy::pedantic, missing_docs, rustdoc::all, unused)]
pub mod mock;
