//! The seam between the generated provider clients and the `embed-sessions` facade.
//!
//! progenitor lets a generated `Client` carry an *inner* value and calls
//! `ClientHooks::exec` for every request. The hook impl must sit in the crate that defines
//! `Client` (orphan rule), so `cargo xtask codegen` emits, into each client's `generated.rs`,
//! an `exec` that forwards to [`Hooks::exec`]. The facade plugs its [`Transport`] (retries,
//! timeouts, tracing, a provider's request signing and response checks) in here; a raw client
//! built with `Hooks::default()` sends requests with plain `reqwest`.
//!
//! ```
//! let hooks = embed_sessions_hooks::Hooks::default();
//! assert!(!hooks.has_transport());
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// A boxed, sendable future returning a `reqwest` response.
pub type ResponseFuture<'a> =
    Pin<Box<dyn Future<Output = reqwest::Result<reqwest::Response>> + Send + 'a>>;

/// Executes one generated operation's request. Implemented by the facade.
pub trait Transport: Send + Sync + 'static {
    /// Sends `request` (built by the generated client for `operation_id`, its snake_case
    /// operation id) with `client`, possibly several times, and returns the final response.
    fn execute<'a>(
        &'a self,
        client: &'a reqwest::Client,
        request: reqwest::Request,
        operation_id: &'static str,
    ) -> ResponseFuture<'a>;
}

/// The generated clients' inner value: an optional [`Transport`].
#[derive(Clone, Default)]
pub struct Hooks {
    transport: Option<Arc<dyn Transport>>,
}

impl Hooks {
    /// Hooks that route every request through `transport`.
    pub fn new(transport: Arc<dyn Transport>) -> Self {
        Self { transport: Some(transport) }
    }

    /// Whether a transport is plugged in (else requests go straight to `reqwest`).
    pub fn has_transport(&self) -> bool {
        self.transport.is_some()
    }

    /// Sends the request through the transport, or with `client` directly when there is none.
    pub async fn exec(
        &self,
        client: &reqwest::Client,
        request: reqwest::Request,
        operation_id: &'static str,
    ) -> reqwest::Result<reqwest::Response> {
        match &self.transport {
            Some(transport) => transport.execute(client, request, operation_id).await,
            None => client.execute(request).await,
        }
    }
}

impl fmt::Debug for Hooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hooks").field("transport", &self.transport.is_some()).finish()
    }
}
