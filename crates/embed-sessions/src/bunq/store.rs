//! Persistence of bunq contexts: the [`StoredContext`] snapshot, the [`ContextStore`] trait and
//! its file implementation, [`FileStore`].

use std::fmt;
use std::future::Future;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::pin::Pin;

use chrono::{DateTime, Utc};
use secrecy::zeroize::Zeroize as _;
use serde::{Deserialize, Serialize};

use super::Environment;
use super::session::BunqUser;
use crate::core::error::{Error, ErrorKind};
use crate::core::secret::Secret;

/// The format tag written into every stored context.
pub const CONTEXT_FORMAT: &str = "embed-sessions/bunq-context/v1";

/// A boxed future returned by [`ContextStore`] methods.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, Error>> + Send + 'a>>;

/// Where one bunq context is kept between runs (a file, a database row, a secret manager
/// entry). One store holds one context; keep one store per API key (per provisioned user).
///
/// A context is saved as soon as its API key is known (before the key's first use: a
/// provisioned user's token value is shown once), after each step of its creation, and
/// after each session renewal.
///
/// ```
/// use std::sync::Mutex;
/// use embed_sessions::bunq::{ContextStore, StoreFuture, StoredContext};
///
/// /// A store in memory (tests, or a cache in front of a database).
/// #[derive(Default)]
/// struct Memory(Mutex<Option<StoredContext>>);
///
/// impl ContextStore for Memory {
///     fn load(&self) -> StoreFuture<'_, Option<StoredContext>> {
///         let value = self.0.lock().unwrap().clone();
///         Box::pin(async move { Ok(value) })
///     }
///     fn save<'a>(&'a self, context: &'a StoredContext) -> StoreFuture<'a, ()> {
///         *self.0.lock().unwrap() = Some(context.clone());
///         Box::pin(async { Ok(()) })
///     }
///     fn describe(&self) -> String {
///         "in-memory bunq context".into()
///     }
/// }
/// ```
pub trait ContextStore: Send + Sync + 'static {
    /// The stored context, `None` when there is none yet. A context that exists but cannot be
    /// read is an error (never `None`: it would be replaced).
    fn load(&self) -> StoreFuture<'_, Option<StoredContext>>;
    /// Replaces the stored context, atomically: a reader sees the old or the new one whole.
    fn save<'a>(&'a self, context: &'a StoredContext) -> StoreFuture<'a, ()>;
    /// Names the store in error messages (a file path, a key).
    fn describe(&self) -> String;

    /// For a store several instances share: a lease held while installation, device
    /// registration or a session renewal runs, so that one instance at a time does them; the
    /// context is read again once it is held, and what another instance made is used. The
    /// default (files, a store of one process): `None`, no coordination.
    fn lock(&self) -> StoreFuture<'_, Option<StoreLock>> {
        Box::pin(async { Ok(None) })
    }
}

/// A boxed store (chosen at run time: a file or Redis) is a store.
impl<S: ContextStore + ?Sized> ContextStore for Box<S> {
    fn load(&self) -> StoreFuture<'_, Option<StoredContext>> {
        (**self).load()
    }
    fn save<'a>(&'a self, context: &'a StoredContext) -> StoreFuture<'a, ()> {
        (**self).save(context)
    }
    fn describe(&self) -> String {
        (**self).describe()
    }
    fn lock(&self) -> StoreFuture<'_, Option<StoreLock>> {
        (**self).lock()
    }
}

/// What [`ContextStore::lock`] hands out: the lease is held until [`StoreLock::release`]
/// runs its release step (dropped without it, the step's captured state is dropped: a store
/// should then let the lease expire or release it from its own `Drop`).
pub struct StoreLock {
    release: Option<Release>,
}

type Release = Box<dyn FnOnce() -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

impl StoreLock {
    /// A lock released by an async step (a round trip to the shared store): `release` runs
    /// in [`StoreLock::release`]; dropped without it, the lease is left to expire.
    pub fn with_release<F, Fut>(release: F) -> Self
    where
        F: FnOnce() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        Self { release: Some(Box::new(move || Box::pin(release()))) }
    }

    /// Releases the lease now.
    pub async fn release(mut self) {
        if let Some(release) = self.release.take() {
            release().await;
        }
    }
}

impl fmt::Debug for StoreLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StoreLock")
    }
}

/// A snapshot of a bunq context: environment, API key, installation (key pair, installation
/// token, server public key), device id and current session, as far as they exist.
///
/// It holds secrets: the API key, the private key and the tokens. `Debug` shows none of them;
/// its JSON form ([`StoredContext::to_json`], or `serde`) holds them all: store it like a
/// password.
#[derive(Clone, Serialize, Deserialize)]
pub struct StoredContext {
    pub(crate) format: String,
    pub(crate) environment: Environment,
    pub(crate) base_url: String,
    #[serde(with = "secret_serde")]
    pub(crate) api_key: Secret,
    #[serde(default)]
    pub(crate) installation: Option<StoredInstallation>,
    #[serde(default)]
    pub(crate) device_id: Option<i64>,
    #[serde(default)]
    pub(crate) session: Option<StoredSession>,
    pub(crate) saved_at: DateTime<Utc>,
}

#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct StoredInstallation {
    #[serde(default)]
    pub id: Option<i64>,
    /// PKCS#8 PEM (`BEGIN PRIVATE KEY`).
    #[serde(with = "secret_serde")]
    pub private_key: Secret,
    #[serde(with = "secret_serde")]
    pub token: Secret,
    pub server_public_key: String,
}

#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct StoredSession {
    pub id: i64,
    #[serde(with = "secret_serde")]
    pub token: Secret,
    pub user: BunqUser,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

mod secret_serde {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::core::secret::Secret;

    pub fn serialize<S: Serializer>(secret: &Secret, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(secret.expose())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Secret, D::Error> {
        String::deserialize(d).map(Secret::new)
    }
}

impl fmt::Debug for StoredContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredContext")
            .field("format", &self.format)
            .field("environment", &self.environment)
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key)
            .field("installation", &self.installation.as_ref().map(|i| i.id))
            .field("device_id", &self.device_id)
            .field("session", &self.session.as_ref().map(|s| (s.id, s.user.id(), s.expires_at)))
            .field("saved_at", &self.saved_at)
            .finish()
    }
}

impl StoredContext {
    /// The environment the context was made for.
    pub fn environment(&self) -> Environment {
        self.environment
    }

    /// The base URL the context was made with.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Whether the installation step is done.
    pub fn is_installed(&self) -> bool {
        self.installation.is_some()
    }

    /// The device id, once the device is registered.
    pub fn device_id(&self) -> Option<i64> {
        self.device_id
    }

    /// The stored session's user id and expiry, if a session is stored.
    pub fn session(&self) -> Option<(i64, DateTime<Utc>)> {
        self.session.as_ref().map(|s| (s.user.id(), s.expires_at))
    }

    /// When the snapshot was taken.
    pub fn saved_at(&self) -> DateTime<Utc> {
        self.saved_at
    }

    /// The JSON form (pretty-printed). It contains secrets.
    pub fn to_json(&self) -> Result<Secret, Error> {
        let bytes = self.to_json_bytes()?;
        String::from_utf8(bytes)
            .map(Secret::new)
            .map_err(|_| Error::new(ErrorKind::Store).with_message("the JSON is not UTF-8"))
    }

    fn to_json_bytes(&self) -> Result<Vec<u8>, Error> {
        serde_json::to_vec_pretty(self).map_err(|e| {
            Error::new(ErrorKind::Store)
                .with_message(format!("cannot encode the bunq context: {e}"))
        })
    }

    /// Reads the JSON form, checking the format tag. Errors never quote the content.
    pub fn from_json(json: &[u8]) -> Result<Self, Error> {
        Self::parse(json).map_err(|why| {
            Error::new(ErrorKind::Store).with_message(format!("not a usable bunq context: {why}"))
        })
    }

    /// Parses, or says why not (category and position only: the content is secret).
    pub(crate) fn parse(json: &[u8]) -> Result<Self, String> {
        if json.iter().all(u8::is_ascii_whitespace) {
            return Err("it is empty".into());
        }
        let value: serde_json::Value =
            serde_json::from_slice(json).map_err(|e| crate::core::transport::serde_kind(&e))?;
        let format = value.get("format").and_then(|f| f.as_str()).unwrap_or("(none)");
        if format != CONTEXT_FORMAT {
            return Err(format!(
                "its format is `{}`, this version reads `{CONTEXT_FORMAT}`",
                crate::core::redact::one_line(format, 80)
            ));
        }
        serde_json::from_value(value).map_err(|e| {
            // A data error's text may quote a value: keep only which field is wrong.
            let msg = e.to_string();
            let field = msg
                .split('`')
                .nth(1)
                .filter(|_| msg.starts_with("missing field") || msg.starts_with("unknown variant"));
            match field {
                Some(f) if msg.starts_with("missing field") => format!("field `{f}` is missing"),
                _ => "a field has the wrong type or value".to_string(),
            }
        })
    }
}

/// A [`ContextStore`] in one JSON file.
///
/// - Writes are atomic: a temporary file in the same directory, `fsync`, then a rename over
///   the old file (and an `fsync` of the directory), so a crash or a concurrent save never
///   leaves a torn file; concurrent saves in one process are serialised, across processes the
///   last rename wins.
/// - The file is created with mode 0600 on Unix (a missing directory with 0700).
/// - On Unix a file is read only when it is a regular file (a symbolic link is not
///   followed), owned by this process's user, not accessible by group or others, and at most
///   [`MAX_CONTEXT_FILE_BYTES`]: a context planted in a shared directory is refused.
/// - A file that exists but cannot be read as a context is an error naming the file, and is
///   never overwritten.
///
/// ```
/// use embed_sessions::bunq::FileStore;
/// let store = FileStore::new("/var/lib/my-app/bunq/user-42.json");
/// assert!(format!("{store:?}").contains("user-42.json"));
/// ```
pub struct FileStore {
    path: PathBuf,
    write: tokio::sync::Mutex<()>,
}

impl fmt::Debug for FileStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileStore").field("path", &self.path).finish()
    }
}

impl FileStore {
    /// A store in the file at `path` (created on first save).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into(), write: tokio::sync::Mutex::new(()) }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn store_error(path: &Path, message: impl fmt::Display) -> Error {
    Error::new(ErrorKind::Store)
        .with_message(format!("bunq context file `{}`: {message}", path.display()))
}

fn io_error(path: &Path, doing: &str, e: std::io::Error) -> Error {
    store_error(path, format!("cannot {doing}: {}", e.kind())).with_source(e)
}

fn corrupt(path: &Path, why: &str) -> Error {
    store_error(
        path,
        format!(
            "cannot be used ({why}); it was left untouched: restore it from a backup, or move \
             it away to create a new context (a new installation and device)"
        ),
    )
}

/// Largest context file read (a context is a few kilobytes): anything larger is refused
/// before it is read, so a planted link to `/dev/zero` or a huge file cannot exhaust memory.
pub const MAX_CONTEXT_FILE_BYTES: u64 = 256 * 1024;

/// The file's bytes, `None` when it does not exist. On Unix the file is opened without
/// following a symbolic link, and refused unless the opened handle is a regular file owned by
/// this process's user and accessible by nobody else (mode 0600 or stricter): a context
/// holds a private key and tokens, and one planted in a shared directory must not be trusted.
fn read_private(path: &Path) -> Result<Option<Vec<u8>>, Error> {
    use std::io::Read as _;
    let file = match open_no_follow(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) if is_symlink_error(&e) => {
            return Err(store_error(
                path,
                "is a symbolic link; refusing to follow it (point the store at the real file)",
            ));
        }
        Err(e) => return Err(io_error(path, "open it", e)),
    };
    let meta = file.metadata().map_err(|e| io_error(path, "inspect it", e))?;
    check_private(path, &meta)?;
    if meta.len() > MAX_CONTEXT_FILE_BYTES {
        return Err(store_error(
            path,
            format!(
                "is {} bytes, more than a context can be ({MAX_CONTEXT_FILE_BYTES}); refused",
                meta.len()
            ),
        ));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(MAX_CONTEXT_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| io_error(path, "read it", e))?;
    if bytes.len() as u64 > MAX_CONTEXT_FILE_BYTES {
        bytes.zeroize();
        return Err(store_error(path, "grew past the size a context can be while being read"));
    }
    Ok(Some(bytes))
}

#[cfg(unix)]
fn open_no_follow(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt as _;
    // O_NONBLOCK: a FIFO planted at the path must not hang the open (no effect on files).
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
}

#[cfg(not(unix))]
fn open_no_follow(path: &Path) -> std::io::Result<std::fs::File> {
    if std::fs::symlink_metadata(path)?.file_type().is_symlink() {
        return Err(std::io::Error::other("symbolic link"));
    }
    std::fs::File::open(path)
}

#[cfg(unix)]
fn is_symlink_error(e: &std::io::Error) -> bool {
    e.raw_os_error() == Some(libc::ELOOP) || e.raw_os_error() == Some(libc::EMLINK)
}

#[cfg(not(unix))]
fn is_symlink_error(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::Other && e.to_string() == "symbolic link"
}

#[cfg(unix)]
fn check_private(path: &Path, meta: &std::fs::Metadata) -> Result<(), Error> {
    use std::os::unix::fs::MetadataExt as _;
    if !meta.is_file() {
        return Err(store_error(path, "is not a regular file; refused"));
    }
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    if meta.uid() != me {
        return Err(store_error(
            path,
            format!(
                "is owned by uid {}, not by this process's user (uid {me}); a context someone \
                 else wrote is not trusted",
                meta.uid()
            ),
        ));
    }
    let mode = meta.mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(store_error(
            path,
            format!(
                "has mode {mode:o}: readable or writable by other users, and it holds a \
                 private key and tokens; refused: `chmod 600` it if it is yours, or move it away"
            ),
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(path: &Path, meta: &std::fs::Metadata) -> Result<(), Error> {
    if meta.is_file() { Ok(()) } else { Err(store_error(path, "is not a regular file; refused")) }
}

fn load_file(path: &Path) -> Result<Option<StoredContext>, Error> {
    let Some(mut bytes) = read_private(path)? else { return Ok(None) };
    let parsed = StoredContext::parse(&bytes);
    bytes.zeroize();
    parsed.map(Some).map_err(|why| corrupt(path, &why))
}

fn save_file(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let name = path
        .file_name()
        .ok_or_else(|| store_error(path, "the path does not name a file"))?
        .to_string_lossy()
        .into_owned();
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    create_dir(&dir).map_err(|e| io_error(path, "create its directory", e))?;
    // Never replace what cannot be read back (it may be the only copy of a key), nor a file
    // this store would refuse to load (a link, someone else's, readable by others).
    if let Some(mut existing) = read_private(path)? {
        let check = StoredContext::parse(&existing);
        existing.zeroize();
        if let Err(why) = check {
            return Err(store_error(
                path,
                format!(
                    "the existing file cannot be read as a context ({why}); refusing to \
                     overwrite it: move it away first"
                ),
            ));
        }
    }
    let tmp = dir.join(format!(".{name}.{}.{:016x}.tmp", std::process::id(), fastrand::u64(..)));
    let written = (|| {
        let mut file = open_private(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp, path)?;
        sync_dir(&dir);
        Ok(())
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written.map_err(|e| io_error(path, "write it", e))
}

#[cfg(unix)]
fn open_private(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt as _;
    std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)
}

#[cfg(not(unix))]
fn open_private(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new().write(true).create_new(true).open(path)
}

#[cfg(unix)]
fn create_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt as _;
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

#[cfg(not(unix))]
fn create_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

/// Makes the rename durable (best effort: not every platform can sync a directory).
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

fn join_error(path: &Path, e: tokio::task::JoinError) -> Error {
    store_error(path, "the file task failed").with_source(e)
}

impl ContextStore for FileStore {
    fn load(&self) -> StoreFuture<'_, Option<StoredContext>> {
        Box::pin(async move {
            let path = self.path.clone();
            tokio::task::spawn_blocking(move || load_file(&path))
                .await
                .map_err(|e| join_error(&self.path, e))?
        })
    }

    fn save<'a>(&'a self, context: &'a StoredContext) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let mut bytes = context.to_json_bytes()?;
            let _one_writer = self.write.lock().await;
            let path = self.path.clone();
            tokio::task::spawn_blocking(move || {
                let r = save_file(&path, &bytes);
                bytes.zeroize();
                r
            })
            .await
            .map_err(|e| join_error(&self.path, e))?
        })
    }

    fn describe(&self) -> String {
        format!("bunq context file `{}`", self.path.display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_errors_never_quote_the_content() {
        let secret = r#"{"format":"embed-sessions/bunq-context/v1","environment":"sandbox","base_url":"x","api_key":42,"saved_at":"2025-01-01T00:00:00Z"}"#;
        let why = StoredContext::parse(secret.as_bytes()).unwrap_err();
        assert_eq!(why, "a field has the wrong type or value");
        let truncated = &br#"{"format":"embed-sessions/bunq-context/v1","api_key":"sk_live_"#[..];
        let why = StoredContext::parse(truncated).unwrap_err();
        assert!(why.starts_with("truncated JSON"), "{why}");
        assert!(!why.contains("sk_live"));
        assert_eq!(StoredContext::parse(b"  \n").unwrap_err(), "it is empty");
        let other = br#"{"format":"something/else"}"#;
        assert!(StoredContext::parse(other).unwrap_err().contains("something/else"));
        let missing = br#"{"format":"embed-sessions/bunq-context/v1","environment":"sandbox"}"#;
        assert!(StoredContext::parse(missing).unwrap_err().contains("is missing"));
    }
}
