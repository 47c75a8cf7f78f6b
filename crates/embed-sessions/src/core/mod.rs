//! The provider-free core: configuration, errors, retries, the transport, secrets and
//! redaction. Nothing here names a provider; each provider module plugs in through one
//! [`Provider`] implementation (its [`Descriptor`] and typed reason) and runs its operations
//! through a [`Core`].
//!
//! A provider outside this crate uses the same pieces: see "Adding a provider" in
//! `ARCHITECTURE.md`, and `tests/fourth_provider.rs`, which adds one without touching this
//! module.

/// Builder setters that store their argument as it is (`self.field = value; self`), each with
/// its doc comment: `setters! { /// Doc. connect_timeout: Duration, ... }`. A setter that
/// converts or checks its argument is written out.
macro_rules! setters {
    ($($(#[$doc:meta])* $field:ident: $ty:ty),* $(,)?) => {
        $(
            $(#[$doc])*
            pub fn $field(mut self, $field: $ty) -> Self {
                self.$field = $field;
                self
            }
        )*
    };
}

pub mod budget;
pub(crate) mod config;
#[cfg(feature = "digest")]
pub(crate) mod digest;
pub(crate) mod error;
pub mod inbound;
mod provider;
pub(crate) mod redact;
pub(crate) mod retry;
pub(crate) mod secret;
pub(crate) mod transport;
pub mod validate;

pub use config::{
    Config, ConfigBuilder, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_BODY_BYTES, DEFAULT_TIMEOUT,
    USER_AGENT, validate_base_url,
};
pub use error::{ApiError, Error, ErrorKind};
pub use provider::{Descriptor, Provider, ProviderReason, Reason};
pub use retry::RetryPolicy;
pub use secret::Secret;
pub use transport::{AttemptHook, Call, Core, renew_once_on_401};

/// The generated clients' transport seam, re-exported for providers outside this crate.
pub use embed_sessions_hooks::Hooks;
