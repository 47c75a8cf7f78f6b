//! Test support for the whole workspace, in one place: the facade's, the CLI's, the sandbox's
//! and the end-to-end tests (`tests/`) all use it (as a dev-dependency; never published).
//!
//! - [`sandbox`]: the offline sandbox as tests start it, and what it received, by route.
//! - [`bunq`]: a bunq client that signs by hand, a second RSA key, bunq's error body.
//! - [`process`]: `embed-sessions sandbox` as a child process, and the CLI pointed at it.
//! - [`docs`]: the provider doc fixtures under `tests/fixtures/docs/` and spec walkers.
//! - [`logs`]: one global `tracing` capture.
//! - [`redis`]: the test Redis (`EMBED_SESSIONS_TEST_REDIS`), unique prefixes, a Redis server of
//!   a test's own (to stop and restart), a scan of what a test wrote.
//! - [`TempDir`]: a directory removed when dropped.

#![warn(missing_docs)]

pub mod bunq;
pub mod docs;
pub mod logs;
pub mod process;
pub mod redis;
pub mod sandbox;
pub mod strategy;

pub use docs::{
    doc_text, docs_dir, json_objects, load_yaml, operation_body_schemas, strip_nulls,
    workspace_root,
};
pub use logs::{LogBuffer, global_logs};

use std::path::{Path, PathBuf};

/// A rate-budget identity no other client of this process uses (`ConfigBuilder::rate_identity`):
/// tests share API keys, and the providers' published limits are kept per identity.
pub fn fresh_rate_identity() -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    format!("test-{}", NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
}

/// A directory under the system temp dir, unique to this process and call, removed when dropped.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    /// Creates `embed-sessions-<name>-<pid>-<random>`.
    pub fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "embed-sessions-{name}-{}-{:016x}",
            std::process::id(),
            uuid::Uuid::new_v4().as_u128() as u64
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// A path inside it.
    pub fn file(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
