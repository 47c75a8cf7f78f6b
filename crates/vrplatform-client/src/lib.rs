//! Generated client for the VRPlatform Product API ("edge", `specs/vrplatform.yaml`, OpenAPI
//! 3.0.3, hand-maintained from the VRPlatform provider docs).
//!
//! VRPlatform is vacation-rental accounting software. An embedding provider uses two calls:
//! `create_embed_session` (`POST /auth/embed/session`, authenticated with the provider API key
//! in `x-api-key`) issues a short-lived bearer token for one of its users inside a managed team,
//! and `get_team` (`GET /teams/{id}`) reads that team, with either credential.
//!
//! Everything here is produced by `cargo xtask codegen` except this file. Most users want the
//! `embed-sessions` facade, which wraps this crate.
//!
//! ```no_run
//! # async fn demo() -> Result<(), vrplatform_client::Error<vrplatform_client::types::ErrorBody>> {
//! use vrplatform_client::{Client, types};
//! let client = Client::new("https://api.edge.vrplatform.app", Default::default());
//! let tenant = uuid::Uuid::parse_str("4f8f94de-2cc0-4ec7-a7f8-f0c7f560e59a").unwrap();
//! let body = types::EmbedSessionRequest::builder().sub("hostaway-user-123").tenant_id(tenant);
//! let session = client.create_embed_session().x_api_key("PROVIDER_KEY").body(body).send().await?;
//! println!("expires at {}", session.expires_at);
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
