//! Generated client for the Vlens API (`specs/vlens.yaml`, OpenAPI 3.1 converted in memory).
//!
//! Everything here is produced by `cargo xtask codegen` except this file. Most users want the
//! `embed-sessions` facade, which re-exports this crate as `embed_sessions::vlens::raw`.
//!
//! ```no_run
//! # async fn demo() -> Result<(), vlens_client::Error<vlens_client::types::ApiOutput>> {
//! use vlens_client::{Client, types};
//! let client = Client::new("https://api.vlenseg.com", Default::default());
//! let body = types::CreateAuthSessionInput {
//!     phone_number: Some("+201234567890".into()),
//!     ..Default::default()
//! };
//! let out = client.create_auth_session().api_key("KEY").body(body).send().await?;
//! println!("token: {:?}", out.data);
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
