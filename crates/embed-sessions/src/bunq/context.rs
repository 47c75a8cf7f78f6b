//! A bunq API context: creation (installation, device, session), restoration, the session
//! lifecycle and signed calls.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use chrono::Utc;
use progenitor_client::ResponseValue;
use reqwest::header::HeaderValue;

use super::crypto::{KeyPair, ServerKey};
use super::hook::BunqHook;
use super::raw::{self, types};
use super::reason::api_error;
use super::session::BunqSession;
use super::store::{
    CONTEXT_FORMAT, ContextStore, StoredContext, StoredInstallation, StoredSession,
};
use super::{
    BunqClient, CREATE_DEVICE_SERVER, CREATE_INSTALLATION, CREATE_SESSION_SERVER, Environment,
    RENEW_MARGIN, check_key_environment,
};
use crate::core::budget::identity_of;
use crate::core::error::ErrorKind;
use crate::core::{AttemptHook, Call, Error, Secret, renew_once_on_401, validate};

// Safe to repeat: deleting twice, reading, and the replace-all POSTs of the notification
// filters (their operation ids are the generated method names, see `notification_filters!`).
const DELETE_SESSION: &str = "delete_session";

/// The result of `POST /installation`, with the key pair it registered.
struct Installation {
    id: Option<i64>,
    key: Arc<KeyPair>,
    private_pem: Secret,
    token: Secret,
    server_key: Arc<ServerKey>,
}

fn unexpected(message: &str) -> Error {
    Error::new(ErrorKind::UnexpectedResponse).with_message(message)
}

/// The installation's `Id`, `Token` and `ServerPublicKey` elements, in any order.
fn parse_installation(
    out: types::InstallationResponse,
) -> Result<(Option<i64>, Secret, ServerKey), Error> {
    let (mut id, mut token, mut server_key) = (None, None, None);
    for item in out.response {
        match item {
            types::InstallationItem::Id(i) => id = Some(i.id),
            types::InstallationItem::Token(t) => token = Some(Secret::new(t.token)),
            types::InstallationItem::ServerPublicKey(k) => server_key = Some(k.server_public_key),
        }
    }
    let token = token
        .filter(|t| !t.is_empty())
        .ok_or_else(|| unexpected("the response has no `Token` element"))?;
    let server_key =
        server_key.ok_or_else(|| unexpected("the response has no `ServerPublicKey` element"))?;
    Ok((id, token, ServerKey::from_pem(&server_key)?))
}

impl BunqClient {
    /// The hook of one call: this call's authentication, signing key and server key.
    fn hook(
        &self,
        auth: Option<Secret>,
        signer: Option<Arc<KeyPair>>,
        server_key: Option<&Arc<ServerKey>>,
    ) -> Result<Arc<dyn AttemptHook>, Error> {
        let i = &self.inner;
        let user_agent = HeaderValue::from_str(i.core.user_agent())
            .map_err(|_| Error::config("bunq: the user agent is not a valid header value"))?;
        let verifier = if i.check_server_signatures { server_key.cloned() } else { None };
        Ok(Arc::new(BunqHook { user_agent, auth, signer, verifier }))
    }

    /// The hook of a call made with an installation (and a session token, or the
    /// installation token).
    fn installed_hook(
        &self,
        auth: &Secret,
        inst: &Installation,
    ) -> Result<Arc<dyn AttemptHook>, Error> {
        self.hook(Some(auth.clone()), Some(inst.key.clone()), Some(&inst.server_key))
    }

    /// Runs one operation through the core, with bunq's error bodies mapped to its reasons.
    pub(super) async fn run<'a, T, U, Fut>(
        &'a self,
        call: Call<'_>,
        send: impl Fn(&'a raw::Client) -> Fut,
        open: impl FnOnce(ResponseValue<T>) -> Result<U, Error>,
    ) -> Result<U, Error>
    where
        Fut: Future<Output = Result<ResponseValue<T>, raw::Error<types::BunqError>>>,
    {
        self.inner.core.call(call, send, api_error, open).await
    }

    /// `POST /installation` with a fresh RSA-2048 key pair.
    async fn install(&self) -> Result<Installation, Error> {
        let key = tokio::task::spawn_blocking(KeyPair::generate).await.map_err(|e| {
            Error::new(ErrorKind::Signature).with_message("key generation failed").with_source(e)
        })??;
        let key = Arc::new(key);
        let private_pem = key.to_pkcs8_pem()?;
        let body =
            types::InstallationCreate { client_public_key: key.public_key_pem().to_string() };
        let hook = self.hook(None, None, None)?;
        let (id, token, server_key) = self
            .run(
                Call::new(CREATE_INSTALLATION).hook(hook),
                |c| c.create_installation().body(body.clone()).send(),
                |out| parse_installation(out.into_inner()),
            )
            .await?;
        tracing::debug!(installation_id = ?id, "bunq: installation created");
        Ok(Installation { id, key, private_pem, token, server_key: Arc::new(server_key) })
    }

    /// `POST /device-server`: binds the API key to this installation (and IPs).
    async fn register_device(&self, api_key: &Secret, inst: &Installation) -> Result<i64, Error> {
        let body = types::DeviceServerCreate {
            description: self.inner.device_description.clone(),
            permitted_ips: self.inner.permitted_ips.clone(),
            secret: api_key.expose().to_string(),
        };
        let hook = self.installed_hook(&inst.token, inst)?;
        let secrets = [api_key];
        let call = keyed_call(CREATE_DEVICE_SERVER, hook, &secrets);
        let id = self
            .run(
                call,
                |c| c.create_device_server().body(body.clone()).send(),
                |out| {
                    let first = out.into_inner().response.into_iter().next();
                    first.map(|types::DeviceServerItem::Id(i)| i.id).ok_or_else(|| {
                        Error::new(ErrorKind::UnexpectedResponse)
                            .with_message("the response has no `Id` element")
                    })
                },
            )
            .await?;
        tracing::debug!(device_id = id, "bunq: device registered");
        Ok(id)
    }

    /// `POST /session-server`, within the shared rate limit.
    async fn open_session(
        &self,
        api_key: &Secret,
        inst: &Installation,
    ) -> Result<BunqSession, Error> {
        self.inner.limiter.acquire(self.inner.rate_limit).await?;
        let core = &self.inner.core;
        // Across a fleet (budgets in Redis): bunq's one `/session-server` call per interval per
        // IP, for every instance behind it; waiting as the limiter does, or failing at once.
        let interval = self.inner.limiter.interval();
        let deadline = match self.inner.rate_limit {
            super::SessionRateLimit::Wait { max_wait } => max_wait,
            super::SessionRateLimit::Fail => std::time::Duration::ZERO,
        };
        let limit = crate::core::budget::Limit::new(1, interval);
        core.take_shared_budget("session-server", Some(api_key), limit, deadline).await?;
        let hook = self.installed_hook(&inst.token, inst)?;
        // A 429 here means the 30-second session window, not the 3-second one.
        let policy =
            core.policy().clone().default_retry_after_429(Some(self.inner.limiter.interval()));
        let body = types::SessionServerCreate { secret: api_key.expose().to_string() };
        let created_at = Utc::now();
        let secrets = [api_key];
        let call = keyed_call(CREATE_SESSION_SERVER, hook, &secrets).policy(policy);
        let session = self
            .run(
                call,
                |c| c.create_session_server().body(body.clone()).send(),
                |out| BunqSession::from_response(out.into_inner(), created_at),
            )
            .await?;
        tracing::debug!(
            session_id = session.id(),
            user_id = session.user_id(),
            user_kind = session.user().kind(),
            expires_at = %session.expires_at(),
            "bunq: session opened"
        );
        Ok(session)
    }

    /// Refuses a snapshot from another environment, base URL or format.
    fn check_stored(&self, stored: &StoredContext, origin: &str) -> Result<(), Error> {
        if stored.format != CONTEXT_FORMAT {
            return Err(Error::new(ErrorKind::Store).with_message(format!(
                "{origin}: format `{}` is not `{CONTEXT_FORMAT}`",
                crate::core::redact::one_line(&stored.format, 80)
            )));
        }
        let (env, base) = (self.inner.environment, self.base_url());
        if stored.environment != env {
            return Err(Error::config(format!(
                "{origin} holds a bunq {} context (made with {}), but this client is configured \
                 for {env} ({base}); refusing to mix environments: keep one store per environment",
                stored.environment, stored.base_url
            )));
        }
        if env == Environment::Other && stored.base_url.trim_end_matches('/') != base {
            return Err(Error::config(format!(
                "{origin} holds a bunq context made with {}, but this client uses {base}; a \
                 context only works with the server that issued it",
                stored.base_url
            )));
        }
        Ok(())
    }
}

/// A snapshot of whatever exists of a context.
fn snapshot(
    client: &BunqClient,
    api_key: &Secret,
    installation: Option<&Installation>,
    device_id: Option<i64>,
    session: Option<&BunqSession>,
) -> StoredContext {
    StoredContext {
        format: CONTEXT_FORMAT.to_string(),
        environment: client.inner.environment,
        base_url: client.base_url().to_string(),
        api_key: api_key.clone(),
        installation: installation.map(|i| StoredInstallation {
            id: i.id,
            private_key: i.private_pem.clone(),
            token: i.token.clone(),
            server_public_key: i.server_key.pem().to_string(),
        }),
        device_id,
        session: session.map(|s| StoredSession {
            id: s.id(),
            token: s.token().clone(),
            user: s.user().clone(),
            created_at: s.created_at(),
            expires_at: s.expires_at(),
        }),
        saved_at: Utc::now(),
    }
}

async fn save_to(
    store: Option<&Arc<dyn ContextStore>>,
    context: StoredContext,
) -> Result<(), Error> {
    match store {
        Some(store) => store.save(&context).await,
        None => Ok(()),
    }
}

/// What a snapshot holds, with its keys parsed.
struct Parsed {
    api_key: Secret,
    installation: Option<Installation>,
    device_id: Option<i64>,
    session: Option<BunqSession>,
}

fn parse_stored(client: &BunqClient, stored: StoredContext, origin: &str) -> Result<Parsed, Error> {
    client.check_stored(&stored, origin)?;
    let unusable = |what: &str, e: Error| {
        Error::new(ErrorKind::Store)
            .with_message(format!("{origin}: the installation's {what} cannot be used: {e}"))
    };
    let installation = match stored.installation {
        Some(i) => {
            let key = KeyPair::from_pkcs8_pem(i.private_key.expose())
                .map_err(|e| unusable("private key", e))?;
            let server_key = ServerKey::from_pem(&i.server_public_key)
                .map_err(|e| unusable("server public key", e))?;
            Some(Installation {
                id: i.id,
                key: Arc::new(key),
                private_pem: i.private_key,
                token: i.token,
                server_key: Arc::new(server_key),
            })
        }
        None => None,
    };
    if installation.is_none() && (stored.device_id.is_some() || stored.session.is_some()) {
        return Err(Error::new(ErrorKind::Store).with_message(format!(
            "{origin}: a device or session without an installation; the context is inconsistent"
        )));
    }
    let session = stored
        .session
        .map(|s| BunqSession::restored(s.id, s.token, s.user, s.created_at, s.expires_at));
    Ok(Parsed { api_key: stored.api_key, installation, device_id: stored.device_id, session })
}

/// A complete context from a snapshot, without requests.
pub(super) fn restore(
    client: &BunqClient,
    stored: StoredContext,
    store: Option<Arc<dyn ContextStore>>,
    origin: &str,
) -> Result<BunqContext, Error> {
    let p = parse_stored(client, stored, origin)?;
    match (p.installation, p.device_id) {
        (Some(installation), Some(device_id)) => Ok(BunqContext::new(
            client.clone(),
            p.api_key,
            installation,
            device_id,
            p.session,
            store,
        )),
        _ => Err(Error::config(format!(
            "{origin} is incomplete (installation or device missing); open it with \
             `BunqClient::context().store(...).send()` to finish it"
        ))),
    }
}

/// Opens a context: restores it from its store, finishing whatever step is missing, or
/// creates it. See [`BunqClient::context`].
///
/// ```no_run
/// use embed_sessions::bunq::{BunqClient, FileStore};
/// # async fn demo(bunq: BunqClient) -> Result<(), embed_sessions::Error> {
/// let ctx = bunq
///     .context()
///     .api_key("sandbox_...") // default: the configured key
///     .store(FileStore::new("contexts/main.json"))
///     .send()
///     .await?;
/// # Ok(()) }
/// ```
#[must_use = "call `send` to open the context"]
pub struct ContextBuilder<'a> {
    client: &'a BunqClient,
    api_key: Option<Secret>,
    store: Option<Arc<dyn ContextStore>>,
}

impl fmt::Debug for ContextBuilder<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ContextBuilder")
            .field("api_key", &self.api_key)
            .field("store", &self.store.as_ref().map(|s| s.describe()))
            .finish_non_exhaustive()
    }
}

impl<'a> ContextBuilder<'a> {
    pub(super) fn new(client: &'a BunqClient) -> Self {
        Self { client, api_key: None, store: None }
    }

    /// The API key (or a provisioned user's token value); default: the configured key. A
    /// stored context for another key is refused.
    pub fn api_key(mut self, key: impl Into<Secret>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// Where the context is loaded from and saved to.
    pub fn store(mut self, store: impl ContextStore) -> Self {
        self.store = Some(Arc::new(store));
        self
    }

    /// Like [`store`](Self::store), with a store shared elsewhere.
    pub fn shared_store(mut self, store: Arc<dyn ContextStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// Loads the stored context (if any) and finishes it, or creates a new one, saving after
    /// each step: the API key before its first use, then the installation, the device and the
    /// session. Returns a context with a valid session.
    ///
    /// A stored context is refused (nothing is sent, nothing is overwritten) when it cannot
    /// be read, is for another environment or base URL, or for another API key.
    pub async fn send(self) -> Result<BunqContext, Error> {
        let client = self.client;
        let origin =
            self.store.as_ref().map_or_else(|| "the bunq context".to_string(), |s| s.describe());
        let mut stored = match &self.store {
            Some(s) => s.load().await?,
            None => None,
        };
        // A shared store: what is missing is made under its lease, by one instance at a time;
        // once the lease is held the context is read again (another may have made it).
        let mut lock = None;
        if let Some(s) = &self.store
            && !stored.as_ref().is_some_and(is_complete)
        {
            lock = s.lock().await?;
            if lock.is_some() {
                stored = s.load().await?;
            }
        }
        let made = async {
            let parsed = match stored {
                Some(stored) => self.check_key(parse_stored(client, stored, &origin)?, &origin)?,
                None => self.start().await?,
            };
            finish(client, parsed, self.store.clone()).await
        }
        .await;
        if let Some(lock) = lock {
            lock.release().await;
        }
        made
    }

    /// A stored context, if it is for the key asked for, else the configured one
    /// (BUNQ_API_KEY): a stored context is used only with the key it was made for.
    fn check_key(&self, p: Parsed, origin: &str) -> Result<Parsed, Error> {
        let expected = self.api_key.as_ref().or(self.client.inner.core.configured_api_key());
        match expected {
            Some(key) if *key != p.api_key => Err(Error::config(format!(
                "{origin} holds a context for another API key than the one configured; nothing \
                 was sent: use one store per key, or move the file away to create a context for \
                 this key"
            ))),
            _ => Ok(p),
        }
    }

    /// A new context's key, checked and saved before its first use (a provisioned user's
    /// token value is shown once).
    async fn start(&self) -> Result<Parsed, Error> {
        let client = self.client;
        let api_key = match &self.api_key {
            Some(key) => key.clone(),
            None => client.inner.core.api_key()?.clone(),
        };
        if api_key.is_empty() || api_key.expose().trim() != api_key.expose() {
            return Err(Error::invalid_input(
                "api_key",
                "the API key is empty or has surrounding whitespace",
            ));
        }
        check_key_environment(&api_key, client.inner.environment)?;
        save_to(self.store.as_ref(), snapshot(client, &api_key, None, None, None)).await?;
        Ok(Parsed { api_key, installation: None, device_id: None, session: None })
    }
}

/// A call that sends `secrets[0]`, an API key, in its body: signed with `hook`, the key scrubbed
/// from errors, counted against that key's rate budget.
fn keyed_call<'s>(
    op: &'static str,
    hook: Arc<dyn AttemptHook>,
    secrets: &'s [&'s Secret],
) -> Call<'s> {
    let call = Call::new(op).hook(hook).body_secrets(secrets);
    match secrets.first() {
        Some(key) => call.rate_identity(identity_of(key)),
        None => call,
    }
}

/// Whether a stored context needs no request: installed, registered, and a session with more
/// than the renewal margin left.
fn is_complete(stored: &StoredContext) -> bool {
    stored.installation.is_some()
        && stored.device_id.is_some()
        && stored
            .session
            .as_ref()
            .is_some_and(|s| super::session::lives_beyond(s.expires_at, RENEW_MARGIN, Utc::now()))
}

/// Finishes a context: installation and device where missing (each saved), then a session.
async fn finish(
    client: &BunqClient,
    parsed: Parsed,
    store: Option<Arc<dyn ContextStore>>,
) -> Result<BunqContext, Error> {
    let Parsed { api_key, installation, device_id, session } = parsed;
    let installation = match installation {
        Some(i) => i,
        None => {
            let i = client.install().await?;
            save_to(store.as_ref(), snapshot(client, &api_key, Some(&i), None, None)).await?;
            i
        }
    };
    let device_id = match device_id {
        Some(d) => d,
        None => {
            let d = client.register_device(&api_key, &installation).await?;
            let s = snapshot(client, &api_key, Some(&installation), Some(d), None);
            save_to(store.as_ref(), s).await?;
            d
        }
    };
    let ctx = BunqContext::new(client.clone(), api_key, installation, device_id, session, store);
    ctx.session().await?;
    Ok(ctx)
}

/// One API key's bunq context: key pair, installation token, server public key, device and
/// the current session, renewed as needed. Cheap to clone; clones share the session.
///
/// Every call made through a context is signed, carries a fresh `X-Bunq-Client-Request-Id`,
/// and (unless turned off on the client) has its 2xx response's `X-Bunq-Server-Signature`
/// checked. A session with less than 30 s left is renewed first; a 401 renews it once and
/// repeats the call once. Renewed sessions are saved to the context's store.
///
/// `Debug` shows no key or token.
#[derive(Clone)]
pub struct BunqContext {
    inner: Arc<ContextInner>,
}

struct ContextInner {
    client: BunqClient,
    api_key: Secret,
    installation: Installation,
    device_id: i64,
    /// Held across a renewal, so concurrent callers share one `/session-server` call.
    session: tokio::sync::Mutex<Option<BunqSession>>,
    store: Option<Arc<dyn ContextStore>>,
    /// The last session token bunq refused (401): never taken back from a shared store.
    rejected: std::sync::Mutex<Option<Secret>>,
}

impl fmt::Debug for BunqContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        let session = match i.session.try_lock() {
            Ok(s) => format!("{:?}", s.as_ref()),
            Err(_) => "(being renewed)".to_string(),
        };
        f.debug_struct("BunqContext")
            .field("environment", &i.client.inner.environment)
            .field("base_url", &i.client.base_url())
            .field("api_key", &i.api_key)
            .field("installation_id", &i.installation.id)
            .field("device_id", &i.device_id)
            .field("session", &format_args!("{session}"))
            .field("store", &i.store.as_ref().map(|s| s.describe()))
            .finish()
    }
}

impl BunqContext {
    fn new(
        client: BunqClient,
        api_key: Secret,
        installation: Installation,
        device_id: i64,
        session: Option<BunqSession>,
        store: Option<Arc<dyn ContextStore>>,
    ) -> Self {
        Self {
            inner: Arc::new(ContextInner {
                client,
                api_key,
                installation,
                device_id,
                session: tokio::sync::Mutex::new(session),
                store,
                rejected: std::sync::Mutex::new(None),
            }),
        }
    }

    /// The client this context belongs to.
    pub fn client(&self) -> &BunqClient {
        &self.inner.client
    }

    /// The environment the context was made for.
    pub fn environment(&self) -> Environment {
        self.inner.client.inner.environment
    }

    /// The installation id, when bunq returned one.
    pub fn installation_id(&self) -> Option<i64> {
        self.inner.installation.id
    }

    /// The device id.
    pub fn device_id(&self) -> i64 {
        self.inner.device_id
    }

    /// The installed public key (PEM SubjectPublicKeyInfo).
    pub fn public_key_pem(&self) -> &str {
        self.inner.installation.key.public_key_pem()
    }

    /// bunq's public key from the installation (PEM), which checks response signatures.
    pub fn server_public_key_pem(&self) -> &str {
        self.inner.installation.server_key.pem()
    }

    /// A session with more than 30 s of life left: the current one, or a new one opened
    /// within the client's session rate limit and saved to the store. (If that save fails the
    /// error is returned, and the new session is kept in memory all the same.)
    pub async fn session(&self) -> Result<BunqSession, Error> {
        let mut current = self.inner.session.lock().await;
        if let Some(s) = current.as_ref()
            && s.is_valid_for(RENEW_MARGIN, Utc::now())
        {
            return Ok(s.clone());
        }
        let why = if current.is_some() { "expiring" } else { "none" };
        self.renew_locked(&mut current, why).await
    }

    /// The `{userID}` of this context's calls (for an API-key session, the API key's id).
    pub async fn user_id(&self) -> Result<i64, Error> {
        Ok(self.session().await?.user_id())
    }

    /// Opens a new session now, whatever the current one's state.
    pub async fn renew_session(&self) -> Result<BunqSession, Error> {
        let mut current = self.inner.session.lock().await;
        self.renew_locked(&mut current, "requested").await
    }

    async fn renew_locked(
        &self,
        current: &mut Option<BunqSession>,
        why: &'static str,
    ) -> Result<BunqSession, Error> {
        tracing::debug!(why, "bunq: renewing the session");
        let i = &self.inner;
        // A shared store: one renewal across the instances, under its lease; a session another
        // instance opened meanwhile (for this installation, not the one being replaced) is used.
        let lock = match &i.store {
            Some(store) => store.lock().await?,
            None => None,
        };
        let renewed = self.renew_under(current, why, lock.is_some()).await;
        if let Some(lock) = lock {
            lock.release().await;
        }
        renewed
    }

    /// The renewal itself; `shared`: the store's lease is held.
    async fn renew_under(
        &self,
        current: &mut Option<BunqSession>,
        why: &'static str,
        shared: bool,
    ) -> Result<BunqSession, Error> {
        let i = &self.inner;
        // Read again under the lease in any case: it also brings the store's version up to
        // date (after a Redis restart, none), so the save below is not refused as stale.
        let stored = match (&i.store, shared) {
            (Some(store), true) => store.load().await?,
            _ => None,
        };
        if why != "requested"
            && let Some(stored) = stored
            && let Some(fresh) = self.adoptable(stored, current.as_ref())
        {
            tracing::debug!(
                session_id = fresh.id(),
                "bunq: using the session another instance opened"
            );
            *current = Some(fresh.clone());
            return Ok(fresh);
        }
        let session = i.client.open_session(&i.api_key, &i.installation).await?;
        *current = Some(session.clone());
        self.save_with(current.as_ref()).await?;
        Ok(session)
    }

    /// The stored session, when it belongs to this context's key and installation, has more
    /// than the renewal margin left, and is neither the current one nor one that got a 401.
    fn adoptable(
        &self,
        stored: StoredContext,
        current: Option<&BunqSession>,
    ) -> Option<BunqSession> {
        let i = &self.inner;
        let same_installation =
            stored.installation.as_ref().is_some_and(|s| s.token == i.installation.token);
        let s = stored.session?;
        let rejected = i.rejected.lock().unwrap_or_else(|p| p.into_inner());
        if stored.api_key != i.api_key
            || !same_installation
            || current.is_some_and(|c| *c.token() == s.token)
            || rejected.as_ref() == Some(&s.token)
        {
            return None;
        }
        drop(rejected);
        let session = BunqSession::restored(s.id, s.token, s.user, s.created_at, s.expires_at);
        session.is_valid_for(RENEW_MARGIN, Utc::now()).then_some(session)
    }

    /// Forgets the session that got a 401, unless another caller already replaced it.
    async fn invalidate(&self, failed: &Secret) {
        let mut current = self.inner.session.lock().await;
        if current.as_ref().is_some_and(|s| s.token() == failed) {
            *current = None;
            *self.inner.rejected.lock().unwrap_or_else(|p| p.into_inner()) = Some(failed.clone());
        }
    }

    /// Closes the current session (`DELETE /session/{id}`) and forgets it; the next call
    /// opens a new one.
    pub async fn close_session(&self) -> Result<(), Error> {
        let mut current = self.inner.session.lock().await;
        let Some(session) = current.clone() else { return Ok(()) };
        let client = &self.inner.client;
        let hook = client.installed_hook(session.token(), &self.inner.installation)?;
        let id = session.id();
        let call = Call::new(DELETE_SESSION).hook(hook);
        client.run(call, |c| c.delete_session().item_id(id).send(), |_| Ok(())).await?;
        *current = None;
        self.save_with(None).await
    }

    /// A snapshot of the context (for a store of your own).
    pub async fn snapshot(&self) -> StoredContext {
        let current = self.inner.session.lock().await;
        self.snapshot_with(current.as_ref())
    }

    fn snapshot_with(&self, session: Option<&BunqSession>) -> StoredContext {
        let i = &self.inner;
        snapshot(&i.client, &i.api_key, Some(&i.installation), Some(i.device_id), session)
    }

    /// Saves the context to its store (a no-op without one).
    pub async fn save(&self) -> Result<(), Error> {
        let current = self.inner.session.lock().await;
        self.save_with(current.as_ref()).await
    }

    async fn save_with(&self, session: Option<&BunqSession>) -> Result<(), Error> {
        save_to(self.inner.store.as_ref(), self.snapshot_with(session)).await
    }

    /// Runs a generated operation in this context: `send` gets a generated client whose
    /// requests are signed and authenticated with the session, and the session's user id.
    /// An operation given by its id alone is retried on connection failures and 429 only;
    /// [`Operation::idempotent`] marks one safe to repeat (also retried after timeouts and
    /// 502-504). Each retry, and the repeat after a 401 (which renews the session once), calls
    /// `send` again, so it should only build and send the request. Send the request in the
    /// future `send` returns: the signing and the session travel with that future, so a
    /// request sent from a task spawned inside it is not sent at all (the generated client
    /// sees an undocumented status 599).
    ///
    /// ```no_run
    /// # async fn demo(ctx: embed_sessions::bunq::BunqContext) -> Result<(), embed_sessions::Error> {
    /// use embed_sessions::bunq::Operation;
    /// let out = ctx
    ///     .call(Operation::idempotent("list_notification_filter_push"), |c, user_id| async move {
    ///         c.list_notification_filter_push().user_id(user_id).count(200u64).send().await
    ///     })
    ///     .await?;
    /// println!("{} push filters", out.into_inner().response.len());
    /// # Ok(()) }
    /// ```
    pub async fn call<T, F, Fut>(
        &self,
        operation: impl Into<Operation>,
        send: F,
    ) -> Result<ResponseValue<T>, Error>
    where
        F: Fn(raw::Client, i64) -> Fut,
        Fut: Future<Output = Result<ResponseValue<T>, raw::Error<types::BunqError>>>,
    {
        let op = operation.into();
        self.session_call(op.id, Some(op.retry_safe), send).await
    }

    /// Runs `send` with a generated client (a copy of the client's, with the core's
    /// transport) and the session's user id, signed and authenticated with the session; a 401
    /// renews the session once and repeats. `retry_safe` overrides the descriptor's rule.
    pub(super) async fn session_call<T, F, Fut>(
        &self,
        op: &'static str,
        retry_safe: Option<bool>,
        send: F,
    ) -> Result<ResponseValue<T>, Error>
    where
        F: Fn(raw::Client, i64) -> Fut,
        Fut: Future<Output = Result<ResponseValue<T>, raw::Error<types::BunqError>>>,
    {
        let client = &self.inner.client;
        let failed = std::sync::Mutex::new(None::<Secret>);
        let attempt = || async {
            let session = self.session().await?;
            let hook = client.installed_hook(session.token(), &self.inner.installation)?;
            *failed.lock().unwrap_or_else(|p| p.into_inner()) = Some(session.token().clone());
            let call = Call::new(op).hook(hook).rate_identity(identity_of(&self.inner.api_key));
            let call = match retry_safe {
                Some(safe) => call.retry_safe(safe),
                None => call,
            };
            let user_id = session.user_id();
            client.run(call, |c| send(c.clone(), user_id), Ok).await
        };
        let renew = |_| async {
            tracing::debug!(operation = op, "bunq: 401; renewing the session once");
            let token = failed.lock().unwrap_or_else(|p| p.into_inner()).take();
            if let Some(token) = token {
                self.invalidate(&token).await;
            }
            Ok(())
        };
        renew_once_on_401(attempt, renew).await
    }
}

/// An operation run by [`BunqContext::call`]: its id (the generated method's name, for
/// errors and traces) and whether it may be repeated after a failure that leaves its effect
/// uncertain (a timeout, a cut body, 502-504). A bare `&'static str` converts to
/// [`Operation::new`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operation {
    id: &'static str,
    retry_safe: bool,
}

impl Operation {
    /// An operation not repeated after an uncertain failure (only after connection failures
    /// and 429, when nothing was processed).
    pub const fn new(id: &'static str) -> Self {
        Self { id, retry_safe: false }
    }

    /// An operation safe to repeat (a GET, a PUT, a replace-all POST).
    pub const fn idempotent(id: &'static str) -> Self {
        Self { id, retry_safe: true }
    }

    /// The operation id.
    pub const fn id(&self) -> &'static str {
        self.id
    }

    /// Whether it is repeated after an uncertain failure.
    pub const fn is_idempotent(&self) -> bool {
        self.retry_safe
    }
}

impl From<&'static str> for Operation {
    fn from(id: &'static str) -> Self {
        Self::new(id)
    }
}

/// The read and replace-all methods of one kind of notification filter (URL and push have the
/// same endpoints and shapes), and the function that flattens its response.
macro_rules! notification_filters {
    (
        $kind:literal, $list:ident, $set:ident, $list_op:ident, $set_op:ident,
        $Rule:ident, $Filter:ident, $Item:ident, $Create:ident, $flatten:ident,
        |$rule:ident| $check:block,
        |$from:ident| $filter:expr $(,)?
    ) => {
        impl BunqContext {
            #[doc = concat!("The user's ", $kind, " notification filters (up to 200).")]
            pub async fn $list(&self) -> Result<Vec<types::$Filter>, Error> {
                let out = self
                    .session_call(stringify!($list_op), None, |c, user_id| async move {
                        c.$list_op().user_id(user_id).count(200u64).send().await
                    })
                    .await?;
                Ok($flatten(out.into_inner().response))
            }

            #[doc = concat!("REPLACES all the user's ", $kind, " notification filters with \
                `filters` (`[]` clears them) and returns the resulting list; to add one, read \
                the current list first. The user is this session's user id: for a \
                provisioned user's context, the API key's id; for the partner's own context \
                (`PARTNER_USER_PROVISION` callbacks), the partner company's id.")]
            pub async fn $set(&self, filters: Vec<types::$Rule>) -> Result<Vec<types::$Filter>, Error> {
                for $rule in &filters {
                    validate::non_empty("category", &$rule.category)?;
                    $check
                }
                let body = types::$Create { notification_filters: filters };
                let out = self
                    .session_call(stringify!($set_op), None, |c, user_id| {
                        let body = body.clone();
                        async move { c.$set_op().user_id(user_id).body(body).send().await }
                    })
                    .await?;
                Ok($flatten(out.into_inner().response))
            }
        }

        /// The filters of a response, in either shape bunq is documented to use (one element
        /// per filter, or one element carrying the whole list).
        fn $flatten(items: Vec<types::$Item>) -> Vec<types::$Filter> {
            let mut out = Vec::new();
            for types::$Item::$Filter(mut f) in items {
                match f.notification_filters.take() {
                    Some(rules) if f.category.is_none() => {
                        out.extend(rules.into_iter().map(|$from| $filter))
                    }
                    rules => {
                        f.notification_filters = rules;
                        out.push(f);
                    }
                }
            }
            out
        }
    };
}

notification_filters!(
    "URL (webhook)",
    notification_filters_url,
    set_notification_filters_url,
    list_notification_filter_url,
    create_notification_filter_url,
    NotificationFilterUrlRule,
    NotificationFilterUrl,
    NotificationFilterUrlItem,
    NotificationFilterUrlCreate,
    url_filters,
    |rule| {
        check_callback_url(&rule.notification_target)?;
    },
    |r| types::NotificationFilterUrl {
        category: Some(r.category),
        notification_target: Some(r.notification_target),
        ..Default::default()
    },
);

notification_filters!(
    "push",
    notification_filters_push,
    set_notification_filters_push,
    list_notification_filter_push,
    create_notification_filter_push,
    NotificationFilterPushRule,
    NotificationFilterPush,
    NotificationFilterPushItem,
    NotificationFilterPushCreate,
    push_filters,
    |_rule| {},
    |r| types::NotificationFilterPush { category: Some(r.category), ..Default::default() },
);

/// bunq posts callbacks to HTTPS URLs only.
fn check_callback_url(url: &str) -> Result<(), Error> {
    match reqwest::Url::parse(url) {
        Ok(u) if u.scheme() == "https" && u.host_str().is_some() => Ok(()),
        _ => Err(Error::invalid_input(
            "notification_target",
            format!("`{}` is not an https URL", crate::core::redact::one_line(url, 200)),
        )),
    }
}
