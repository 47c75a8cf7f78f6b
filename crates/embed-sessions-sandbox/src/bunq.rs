//! bunq: installation with the client's public key; every later request's
//! `X-Bunq-Client-Signature` verified over the exact body bytes (missing: 466, wrong: 400);
//! 2xx answers signed with the sandbox's own RSA-2048 key (PKCS#1 v1.5, SHA-256, over the
//! body); `/session-server` limited per client address; partner user provisioning with a
//! status progression and a one-time `token_value`; notification filters replaced on POST.
//!
//! Also checked on every request: `User-Agent` and `Cache-Control` present (bunq documents
//! both as required), `X-Bunq-Client-Request-Id` never reused, the authentication token of
//! the right kind (installation token for device-server/session-server, a live session token
//! otherwise).
//!
//! Sources (<https://doc.bunq.com>): /basics/signing (body-only signatures, 466 when missing,
//! 400 "The request signature is invalid."), /basics/headers, /basics/errors (error shape,
//! "Insufficient authorisation.", "User credentials are incorrect. Incorrect API key or IP
//! address."), /basics/rate-limits (one `/session-server` call per 30 s per IP, no
//! `Retry-After` documented), /user-provisioning/chapter-2-creating-a-user-provision (status
//! progression, one-time `token_value`, 1 h to first use in sandbox). The wording of the 429
//! and of header/validation errors is the sandbox's own.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::time::Duration;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{self, KeyPair as _, ParsedPublicKey};
use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::Shared;
use crate::server::{Reply, Req};

const B64: base64::engine::general_purpose::GeneralPurpose =
    base64::engine::general_purpose::STANDARD;

/// Session lifetime (`session_timeout`, bunq's default of one week).
/// bunq's default `session_timeout` (one week), in seconds.
pub(crate) const SESSION_TIMEOUT: i64 = 604_800;
/// A provisioned credential must be used within 1 h (sandbox).
const CREDENTIAL_HOURS: i64 = 1;
const CREDENTIALS_INCORRECT: &str =
    "User credentials are incorrect. Incorrect API key or IP address.";

/// The sandbox's bunq server key: signs 2xx answers (`X-Bunq-Server-Signature`).
pub struct ServerKey {
    key: KeyPair,
    public_pem: String,
}

impl std::fmt::Debug for ServerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerKey").finish_non_exhaustive()
    }
}

impl ServerKey {
    /// A fresh RSA-2048 key.
    pub fn generate() -> Result<Self, String> {
        let key = KeyPair::generate(KeySize::Rsa2048).map_err(|e| e.to_string())?;
        let der: aws_lc_rs::encoding::PublicKeyX509Der<'static> =
            key.public_key().as_der().map_err(|e| e.to_string())?;
        let public_pem = pem("PUBLIC KEY", der.as_ref());
        Ok(Self { key, public_pem })
    }

    /// The public key, PEM SubjectPublicKeyInfo (what installation returns).
    pub fn public_pem(&self) -> &str {
        &self.public_pem
    }

    /// The base64 PKCS#1 v1.5 SHA-256 signature of `body`.
    pub fn sign(&self, body: &[u8]) -> Option<String> {
        let mut sig = vec![0; self.key.public_modulus_len()];
        self.key
            .sign(
                &signature::RSA_PKCS1_SHA256,
                &aws_lc_rs::rand::SystemRandom::new(),
                body,
                &mut sig,
            )
            .ok()?;
        Some(B64.encode(sig))
    }
}

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = B64.encode(der);
    let lines: Vec<&str> =
        b64.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).unwrap_or_default()).collect();
    format!("-----BEGIN {label}-----\n{}\n-----END {label}-----\n", lines.join("\n"))
}

fn pem_der(pem: &str) -> Option<Vec<u8>> {
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    B64.decode(body.trim()).ok()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A partner company (any API key without `person`).
    Company,
    /// A person's own key.
    Person,
    /// A provisioned user's key (its provision id).
    ApiKey(i64),
}

#[derive(Debug, Clone)]
struct User {
    id: i64,
    kind: Kind,
    /// For `ApiKey`: the real (granted-by) person id.
    person_id: i64,
}

struct Installation {
    key: ParsedPublicKey,
}

struct Session {
    id: i64,
    installation: String,
    user: i64,
    expires: DateTime<Utc>,
}

struct Provision {
    id: i64,
    partner: i64,
    reads: u32,
    reads_until_ready: u32,
    created: DateTime<Utc>,
    body: Value,
    token: Option<String>,
    /// Set when the token was first used (device-server).
    used: bool,
    ready_at: Option<DateTime<Utc>>,
    status: &'static str,
    user_id: i64,
    person_id: i64,
}

/// bunq state.
pub(crate) struct State {
    pub session_interval: Duration,
    pub provision_reads: u32,
    /// The `session_timeout` (seconds) reported by `/session-server` and used for expiry.
    pub session_timeout: i64,
    counter: i64,
    installations: HashMap<String, Installation>,
    /// (installation token, secret).
    devices: HashSet<(String, String)>,
    sessions: HashMap<String, Session>,
    /// API key or token value -> user.
    users: HashMap<String, User>,
    provisions: HashMap<i64, Provision>,
    request_ids: HashSet<String>,
    last_session: HashMap<IpAddr, DateTime<Utc>>,
    url_filters: HashMap<i64, Vec<Value>>,
    push_filters: HashMap<i64, Vec<Value>>,
    /// Objects a callback can name, readable by id: (user, account, kind, id) -> object.
    objects: HashMap<(i64, i64, &'static str, i64), Value>,
    /// Installed public keys, in order of installation.
    installed: Vec<String>,
    /// Client signatures that verified.
    pub verified: usize,
    /// `/session-server` answers list their items in reverse (`[User, Token, Id]`).
    pub reversed_session_items: bool,
}

impl State {
    pub fn new(session_interval: Duration, provision_reads: u32) -> Self {
        Self {
            session_interval,
            provision_reads,
            session_timeout: SESSION_TIMEOUT,
            counter: 1000,
            installations: HashMap::new(),
            devices: HashSet::new(),
            sessions: HashMap::new(),
            users: HashMap::new(),
            provisions: HashMap::new(),
            request_ids: HashSet::new(),
            last_session: HashMap::new(),
            url_filters: HashMap::new(),
            push_filters: HashMap::new(),
            objects: HashMap::new(),
            installed: Vec::new(),
            verified: 0,
            reversed_session_items: false,
        }
    }

    /// Ends every session: the next call with one gets 401 "Insufficient authorisation.".
    pub fn expire_sessions(&mut self) {
        self.sessions.clear();
    }

    /// Stores (or replaces) an object of `kind` (`Payment`, `MasterCardAction`,
    /// `RequestInquiry`) that `user_id` reads at its monetary account, by its `id` member;
    /// `monetary_account_id` is set to `account_id`. Returns the id, or why not.
    pub fn put_object(
        &mut self,
        user_id: i64,
        account_id: i64,
        kind: &str,
        mut object: Value,
    ) -> Result<i64, String> {
        let kind =
            OBJECT_KINDS.iter().find(|(k, _)| *k == kind).map(|(k, _)| *k).ok_or_else(|| {
                format!("kind `{kind}`: one of Payment, MasterCardAction, RequestInquiry")
            })?;
        let id = object["id"].as_i64().ok_or("the object needs an integer `id`")?;
        object["monetary_account_id"] = json!(account_id);
        self.objects.insert((user_id, account_id, kind, id), object);
        Ok(id)
    }

    /// The user id of an API key or provisioned token value, if the sandbox knows it.
    pub fn user_id(&self, secret: &str) -> Option<i64> {
        self.users.get(secret).map(|u| u.id)
    }

    /// The public keys installed so far (PEM, as sent), oldest first.
    pub fn installed_keys(&self) -> Vec<String> {
        self.installed.clone()
    }

    /// The notification filters stored for a user (`push`: push filters, else URL filters).
    pub fn notification_filters(&self, user_id: i64, push: bool) -> Vec<Value> {
        let store = if push { &self.push_filters } else { &self.url_filters };
        store.get(&user_id).cloned().unwrap_or_default()
    }

    /// The token value of a provision, once it became ready (also after its first use).
    pub fn provision_token(&self, id: i64) -> Option<String> {
        self.provisions.get(&id).and_then(|p| p.token.clone())
    }

    fn next(&mut self) -> i64 {
        self.counter += 1;
        self.counter
    }

    /// The user of an API key (created on first use), or `None` for a rejected key.
    fn user_for(&mut self, secret: &str) -> Option<User> {
        if let Some(u) = self.users.get(secret) {
            return Some(u.clone());
        }
        // Provisioned token values are known by their provision (used up or cancelled ones are
        // not API keys of their own).
        if secret.trim().is_empty()
            || secret.starts_with("invalid_")
            || secret.starts_with("provisioned_")
        {
            return None;
        }
        let kind = if secret.to_ascii_lowercase().contains("person") {
            Kind::Person
        } else {
            Kind::Company
        };
        let id = self.next();
        let user = User { id, kind, person_id: id };
        self.users.insert(secret.to_string(), user.clone());
        Some(user)
    }
}

/// bunq's error body.
pub(crate) fn error(status: u16, description: &str) -> Reply {
    Reply::json(
        status,
        &json!({"Error": [{"error_description": description,
                           "error_description_translated": description}]}),
    )
}

fn timestamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S%.6f").to_string()
}

/// The objects callbacks name and the API path segment each is read at.
const OBJECT_KINDS: &[(&str, &str)] = &[
    ("Payment", "payment"),
    ("MasterCardAction", "mastercard-action"),
    ("RequestInquiry", "request-inquiry"),
];

/// `GET /user/{u}/monetary-account/{m}/<kind>/{id}`: the stored object, for its user only.
fn read_object(state: &crate::State, user_id: Option<i64>, path: &str) -> Reply {
    let (uid, account, id) = (path_id(path, 2), path_id(path, 4), path_id(path, 6));
    if uid.is_none() || uid != user_id {
        return error(403, "Insufficient authorisation.");
    }
    let segment = path.split('/').nth(5).unwrap_or_default();
    let Some((kind, _)) = OBJECT_KINDS.iter().find(|(_, s)| *s == segment) else {
        return error(404, "Route not found.");
    };
    let key = (uid.unwrap_or_default(), account.unwrap_or_default(), *kind, id.unwrap_or_default());
    match state.bunq.objects.get(&key) {
        Some(o) => Reply::json(200, &json!({"Response": [{ *kind: o }]})),
        None => error(404, &format!("{kind} not found.")),
    }
}

/// A path with numeric segments as `{id}`: `/user/1364/notification-filter-url` ->
/// `/user/{id}/notification-filter-url`.
pub fn route(path: &str) -> String {
    path.split('/')
        .map(|s| if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) { "{id}" } else { s })
        .collect::<Vec<_>>()
        .join("/")
}

fn path_id(path: &str, index: usize) -> Option<i64> {
    path.split('/').nth(index)?.parse().ok()
}

/// Handles `/bunq/v1/...`; 2xx answers are signed.
pub(crate) fn handle(shared: &Shared, req: &Req) -> Reply {
    let reply = handle_unsigned(shared, req);
    if (200..300).contains(&reply.status) {
        match shared.server_key.sign(&reply.body) {
            Some(sig) => reply.with_header("x-bunq-server-signature", sig),
            None => error(500, "The response could not be signed."),
        }
    } else {
        reply
    }
    .with_header("x-bunq-client-response-id", uuid::Uuid::new_v4().to_string())
}

/// The `unsigned` and `bad-signature` faults: a signed 2xx answer loses its signature, or
/// gets one over other bytes (errors are never signed).
pub(crate) fn resign(shared: &Shared, mut reply: Reply, action: crate::fault::Action) -> Reply {
    let had = reply.headers.iter().any(|(n, _)| *n == "x-bunq-server-signature");
    reply.headers.retain(|(n, _)| *n != "x-bunq-server-signature");
    if had
        && action == crate::fault::Action::BadSignature
        && let Some(sig) = shared.server_key.sign(b"not the body that was sent")
    {
        reply.headers.push(("x-bunq-server-signature", sig));
    }
    reply
}

/// The spec's path template of a request, or the answer for a route bunq does not have.
fn template(method: &str, path: &str) -> Result<&'static str, Reply> {
    Ok(match (method, route(path).as_str()) {
        ("POST", "/installation") => "/installation",
        ("POST", "/device-server") => "/device-server",
        ("POST", "/session-server") => "/session-server",
        ("DELETE", "/session/{id}") => "/session/{itemId}",
        ("POST", "/partner-user-provision") => "/partner-user-provision",
        ("GET" | "PUT", "/partner-user-provision/{id}") => "/partner-user-provision/{id}",
        ("GET" | "POST", "/user/{id}/notification-filter-url") => {
            "/user/{userID}/notification-filter-url"
        }
        ("GET" | "POST", "/user/{id}/notification-filter-push") => {
            "/user/{userID}/notification-filter-push"
        }
        ("GET", "/user/{id}/monetary-account/{id}/payment/{id}") => {
            "/user/{userID}/monetary-account/{monetaryAccountID}/payment/{itemId}"
        }
        ("GET", "/user/{id}/monetary-account/{id}/mastercard-action/{id}") => {
            "/user/{userID}/monetary-account/{monetaryAccountID}/mastercard-action/{itemId}"
        }
        ("GET", "/user/{id}/monetary-account/{id}/request-inquiry/{id}") => {
            "/user/{userID}/monetary-account/{monetaryAccountID}/request-inquiry/{itemId}"
        }
        (_, "/installation" | "/device-server" | "/session-server" | "/partner-user-provision") => {
            return Err(error(405, "Method not allowed."));
        }
        _ => return Err(error(404, "Route not found.")),
    })
}

/// The headers every bunq request needs, and a request id never used before.
fn check_headers(state: &mut crate::State, req: &Req) -> Result<(), Reply> {
    if req.header("user-agent").is_none_or(|v| v.trim().is_empty()) {
        return Err(error(400, "The header User-Agent is required."));
    }
    if !req.header("cache-control").is_some_and(|v| v.trim().eq_ignore_ascii_case("no-cache")) {
        return Err(error(400, "The header Cache-Control: no-cache is required."));
    }
    if let Some(id) = req.header("x-bunq-client-request-id")
        && !state.bunq.request_ids.insert(id.to_string())
    {
        return Err(error(400, "The request id was used before."));
    }
    Ok(())
}

fn handle_unsigned(shared: &Shared, req: &Req) -> Reply {
    let mut state = shared.lock();
    if let Some(v) = req.header("x-bunq-client-authentication") {
        state.recorder.secret(v);
    }
    let template = match template(req.method, req.path) {
        Ok(t) => t,
        Err(reply) => return reply,
    };
    if let Err(reply) = check_headers(&mut state, req) {
        return reply;
    }
    let now = state.now();
    if template == "/installation" {
        return install(shared, &mut state, req);
    }
    let Some(auth) = req.header("x-bunq-client-authentication").map(str::to_string) else {
        return error(401, "Insufficient authentication.");
    };
    let context_call = matches!(template, "/device-server" | "/session-server");
    let (installation, user_id) = if context_call {
        if !state.bunq.installations.contains_key(&auth) {
            return error(401, "Insufficient authorisation.");
        }
        (auth.clone(), None)
    } else {
        match state.bunq.sessions.get(&auth) {
            Some(s) if s.expires > now => (s.installation.clone(), Some(s.user)),
            _ => return error(401, "Insufficient authorisation."),
        }
    };
    let Some(signature) = req.header("x-bunq-client-signature") else {
        return error(466, "Request signature is required for this operation.");
    };
    let valid = match state.bunq.installations.get(&installation) {
        Some(inst) => {
            B64.decode(signature).is_ok_and(|sig| inst.key.verify_sig(req.body, &sig).is_ok())
        }
        None => false,
    };
    if !valid {
        return error(400, "The request signature is invalid.");
    }
    state.bunq.verified += 1;
    let body = match shared.specs.bunq.body(req.method, template, req.body) {
        Ok(b) => b.unwrap_or(Value::Null),
        Err(p) => return error(400, &format!("Validation error: {}", p.describe())),
    };
    if let Some(secret) = body["secret"].as_str() {
        state.recorder.secret(secret);
    }
    match template {
        "/device-server" => device(&mut state, installation, &body, now),
        "/session-server" => session(&mut state, req, installation, &body, now),
        "/session/{itemId}" => {
            let id = path_id(req.path, 2);
            let before = state.bunq.sessions.len();
            state.bunq.sessions.retain(|_, s| Some(s.id) != id);
            if before == state.bunq.sessions.len() {
                return error(404, "Session not found.");
            }
            Reply::json(200, &json!({"Response": []}))
        }
        "/partner-user-provision" => create_provision(&mut state, user_id, &body, now),
        "/partner-user-provision/{id}" => {
            let id = path_id(req.path, 2).unwrap_or_default();
            provision(&mut state, user_id, id, req.method, &body, now)
        }
        t if t.contains("/monetary-account/") => read_object(&state, user_id, req.path),
        _ => {
            let uid = path_id(req.path, 2);
            if uid != user_id {
                return error(403, "Insufficient authorisation.");
            }
            filters(&mut state, uid.unwrap_or_default(), req, &body, now)
        }
    }
}

fn install(shared: &Shared, state: &mut crate::State, req: &Req) -> Reply {
    if req.header("x-bunq-client-authentication").is_some() {
        return error(400, "Installation takes no X-Bunq-Client-Authentication.");
    }
    let body = match shared.specs.bunq.body("POST", "/installation", req.body) {
        Ok(b) => b.unwrap_or(Value::Null),
        Err(p) => return error(400, &format!("Validation error: {}", p.describe())),
    };
    let pem_text = body["client_public_key"].as_str().unwrap_or_default();
    if !pem_text.trim_start().starts_with("-----BEGIN PUBLIC KEY-----") {
        return error(400, "Validation error: field `client_public_key`: not a PEM public key.");
    }
    let Some(key) = pem_der(pem_text)
        .and_then(|der| ParsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, der).ok())
    else {
        return error(400, "Validation error: field `client_public_key`: not an RSA-2048 key.");
    };
    let now = state.now();
    let token = format!("installation_{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..));
    state.recorder.secret(&token);
    state.bunq.installations.insert(token.clone(), Installation { key });
    state.bunq.installed.push(pem_text.to_string());
    let id = state.bunq.next();
    let ts = timestamp(now);
    Reply::json(
        200,
        &json!({"Response": [
            {"Id": {"id": id}},
            {"Token": {"id": id, "created": ts, "updated": ts, "token": token}},
            {"ServerPublicKey": {"server_public_key": shared.server_key.public_pem()}}
        ]}),
    )
}

fn device(
    state: &mut crate::State,
    installation: String,
    body: &Value,
    now: DateTime<Utc>,
) -> Reply {
    let secret = body["secret"].as_str().unwrap_or_default().to_string();
    if body["description"].as_str().is_none_or(|d| d.trim().is_empty()) {
        return error(400, "Validation error: field `description`: must not be empty.");
    }
    let provisioned =
        state.bunq.provisions.values_mut().find(|p| p.token.as_deref() == Some(&secret));
    if let Some(p) = provisioned {
        let expired =
            p.ready_at.is_some_and(|t| now > t + chrono::Duration::hours(CREDENTIAL_HOURS));
        if p.ready_at.is_none() || expired || p.status != "CREATED" {
            return error(400, CREDENTIALS_INCORRECT);
        }
        if !p.used {
            // First use: the token value turns null in the provision.
            p.used = true;
            let user = User { id: p.user_id, kind: Kind::ApiKey(p.id), person_id: p.person_id };
            state.bunq.users.insert(secret.clone(), user);
        }
    }
    if state.bunq.user_for(&secret).is_none() {
        return error(400, CREDENTIALS_INCORRECT);
    }
    state.bunq.devices.insert((installation, secret));
    let id = state.bunq.next();
    Reply::json(200, &json!({"Response": [{"Id": {"id": id}}]}))
}

fn user_json(user: &User, partner_id: i64, now: DateTime<Utc>, session_timeout: i64) -> Value {
    let ts = timestamp(now);
    let company = |id: i64| {
        json!({"UserCompany": {"id": id, "created": ts, "updated": ts,
               "display_name": "Sandbox Partner B.V.", "name": "Sandbox Partner B.V.",
               "status": "ACTIVE", "sub_status": "NONE", "language": "en_US",
               "region": "nl_NL", "session_timeout": session_timeout}})
    };
    let person = |id: i64, name: &str| {
        json!({"UserPerson": {"id": id, "created": ts, "updated": ts, "display_name": name,
               "first_name": "Sandbox", "last_name": "User", "status": "ACTIVE",
               "sub_status": "NONE", "language": "en_US", "region": "nl_NL",
               "session_timeout": session_timeout}})
    };
    match user.kind {
        Kind::Company => company(user.id),
        Kind::Person => person(user.id, "Sandbox Person"),
        Kind::ApiKey(_) => json!({"UserApiKey": {
            "id": user.id, "created": ts, "updated": ts,
            "requested_by_user": company(partner_id),
            "granted_by_user": person(user.person_id, "New bunqer"),
        }}),
    }
}

fn session(
    state: &mut crate::State,
    req: &Req,
    installation: String,
    body: &Value,
    now: DateTime<Utc>,
) -> Reply {
    let secret = body["secret"].as_str().unwrap_or_default().to_string();
    let ip = req.peer.ip();
    let interval = chrono::Duration::from_std(state.bunq.session_interval)
        .unwrap_or(chrono::Duration::seconds(30));
    if let Some(last) = state.bunq.last_session.get(&ip)
        && now < *last + interval
    {
        return error(
            429,
            &format!(
                "Too many requests. You can do a maximum of 1 call per {} seconds to this endpoint.",
                state.bunq.session_interval.as_secs()
            ),
        );
    }
    let user = match state.bunq.users.get(&secret) {
        Some(u) if state.bunq.devices.contains(&(installation.clone(), secret.clone())) => {
            u.clone()
        }
        _ => return error(400, CREDENTIALS_INCORRECT),
    };
    state.bunq.last_session.insert(ip, now);
    let partner_id = match user.kind {
        Kind::ApiKey(pid) => state.bunq.provisions.get(&pid).map(|p| p.partner).unwrap_or_default(),
        _ => user.id,
    };
    let token = format!("session_{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..));
    state.recorder.secret(&token);
    let id = state.bunq.next();
    state.bunq.sessions.insert(
        token.clone(),
        Session {
            id,
            installation,
            user: user.id,
            // A huge timeout (see `Sandbox::set_bunq_session_timeout`) never expires.
            expires: chrono::Duration::try_seconds(state.bunq.session_timeout)
                .and_then(|d| now.checked_add_signed(d))
                .unwrap_or(DateTime::<Utc>::MAX_UTC),
        },
    );
    let ts = timestamp(now);
    let mut items = vec![
        json!({"Id": {"id": id}}),
        json!({"Token": {"id": id, "created": ts, "updated": ts, "token": token}}),
        user_json(&user, partner_id, now, state.bunq.session_timeout),
    ];
    if state.bunq.reversed_session_items {
        items.reverse();
    }
    Reply::json(200, &json!({ "Response": items }))
}

fn partner_of(state: &crate::State, user_id: Option<i64>) -> Option<i64> {
    let uid = user_id?;
    state.bunq.users.values().find(|u| u.id == uid && u.kind == Kind::Company).map(|u| u.id)
}

fn create_provision(
    state: &mut crate::State,
    user_id: Option<i64>,
    body: &Value,
    now: DateTime<Utc>,
) -> Reply {
    let Some(partner) = partner_of(state, user_id) else {
        return error(403, "Only partners can provision users.");
    };
    let id = state.bunq.next();
    let user_id = state.bunq.next();
    let person_id = state.bunq.next();
    let reads = state.bunq.provision_reads;
    state.bunq.provisions.insert(
        id,
        Provision {
            id,
            partner,
            reads: 0,
            reads_until_ready: reads,
            created: now,
            body: body.clone(),
            token: None,
            used: false,
            ready_at: None,
            status: "CREATED",
            user_id,
            person_id,
        },
    );
    Reply::json(200, &json!({"Response": [{"Id": {"id": id}}]}))
}

const STAGES: [&str; 3] =
    ["PENDING_PROCESS_USER", "PENDING_PROCESS_RELATION_USER", "PENDING_PROCESS_OAUTH_REQUEST"];

fn provision(
    state: &mut crate::State,
    user_id: Option<i64>,
    id: i64,
    method: &str,
    body: &Value,
    now: DateTime<Utc>,
) -> Reply {
    let partner = partner_of(state, user_id);
    let Some(p) = state.bunq.provisions.get_mut(&id).filter(|p| Some(p.partner) == partner) else {
        return error(404, "Provision not found.");
    };
    if let Err(reply) = read_or_update(p, method, body) {
        return reply;
    }
    let email = p.body["email"].as_str().unwrap_or_default().to_ascii_lowercase();
    let mut new_token = None;
    let ready_now = p.status == "CREATED"
        && !email.starts_with("never-ready")
        && !email.starts_with("fail")
        && p.reads >= p.reads_until_ready.max(1);
    if email.starts_with("fail") && p.reads >= 1 && p.status == "CREATED" {
        p.status = "FAILED";
    }
    if ready_now && p.ready_at.is_none() {
        p.ready_at = Some(now);
        let t = format!("provisioned_{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..));
        p.token = Some(t.clone());
        new_token = Some(t);
    }
    let out = provision_json(p, &email, ready_now, now);
    if let Some(t) = new_token {
        state.recorder.secret(&t);
    }
    Reply::json(200, &out)
}

/// A GET counts a read; a PUT cancels or resets the token (the only changes bunq allows).
fn read_or_update(p: &mut Provision, method: &str, body: &Value) -> Result<(), Reply> {
    if method == "GET" {
        p.reads = p.reads.saturating_add(1);
        return Ok(());
    }
    match body["status"].as_str() {
        Some("CANCELLED") => {
            p.status = "CANCELLED";
            p.token = None;
        }
        Some("TOKEN_RESET_REQUESTED") if p.status == "CREATED" && p.ready_at.is_some() => {
            p.used = false;
            p.reads = 0;
            p.ready_at = None;
            p.token = None;
        }
        Some("TOKEN_RESET_REQUESTED") => {
            return Err(error(400, "The provision is not ready; its token cannot be reset."));
        }
        _ => {
            return Err(error(
                400,
                "Validation error: field `status`: must be CANCELLED or TOKEN_RESET_REQUESTED.",
            ));
        }
    }
    Ok(())
}

/// The provision as bunq shows it now: status, sub-status by progress, the credential.
fn provision_json(p: &Provision, email: &str, ready_now: bool, now: DateTime<Utc>) -> Value {
    let ts_created = timestamp(p.created);
    let ts = timestamp(now);
    let expired = p.ready_at.is_some_and(|t| now > t + chrono::Duration::hours(CREDENTIAL_HOURS));
    let stage = if p.reads_until_ready <= 1 {
        0
    } else {
        ((p.reads as usize) * STAGES.len() / p.reads_until_ready as usize).min(STAGES.len() - 1)
    };
    let (status, sub_status, credential) = if p.status != "CREATED" {
        (p.status, "NONE", Value::Null)
    } else if p.used {
        (
            "ACTIVE",
            "NONE",
            json!({"id": p.id + 1, "status": "ACTIVE", "expiry_time": null, "token_value": null}),
        )
    } else if let Some(ready_at) = p.ready_at {
        let expiry = timestamp(ready_at + chrono::Duration::hours(CREDENTIAL_HOURS));
        if expired {
            (
                "CREATED",
                "PENDING_PROCESS_USER_ONBOARDING",
                json!({"id": p.id + 1, "status": "EXPIRED", "expiry_time": expiry, "token_value": null}),
            )
        } else {
            (
                "CREATED",
                "PENDING_PROCESS_USER_ONBOARDING",
                json!({"id": p.id + 1, "status": "PENDING_FIRST_USE", "expiry_time": expiry,
                       "token_value": p.token}),
            )
        }
    } else if email.starts_with("never-ready") {
        ("CREATED", STAGES[0], Value::Null)
    } else {
        ("CREATED", STAGES[stage], Value::Null)
    };
    let user_exists = p.ready_at.is_some() || stage >= 1;
    let label_user = if user_exists {
        json!({"uuid": format!("00000000-0000-4000-8000-{:012}", p.person_id), "display_name": "New bunqer",
               "public_nick_name": "New", "country": "NL", "type": "PERSON", "avatar": null})
    } else {
        Value::Null
    };
    let oauth = if p.ready_at.is_some() || stage >= 2 {
        json!({"id": p.id + 2, "status": if p.ready_at.is_some() { "ACTIVE" } else { "PENDING" },
               "client_id": "sandbox-partner-client"})
    } else {
        Value::Null
    };
    json!({"Response": [{"PartnerUserProvision": {
        "id": p.id, "created": ts_created, "updated": ts,
        "external_uuid": p.body["external_uuid"], "user_verified_type": p.body["user_verified_type"],
        "email": p.body["email"], "phone_number": p.body["phone_number"],
        "products": p.body["products"], "director_relation_provision_id": null,
        "status": status, "sub_status": sub_status,
        "action_required": if sub_status == "NONE" || ready_now { "NONE" } else { "SYSTEM" },
        "label_user": label_user, "oauth_request": oauth, "credential": credential,
    }}]})
}

fn filters(
    state: &mut crate::State,
    uid: i64,
    req: &Req,
    body: &Value,
    now: DateTime<Utc>,
) -> Reply {
    let push = req.path.ends_with("push");
    let (name, store) = if push {
        ("NotificationFilterPush", &mut state.bunq.push_filters)
    } else {
        ("NotificationFilterUrl", &mut state.bunq.url_filters)
    };
    if req.method == "POST" {
        let list = body["notification_filters"].as_array().cloned().unwrap_or_default();
        store.insert(uid, list);
    }
    let ts = timestamp(now);
    let items: Vec<Value> = store
        .get(&uid)
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(i, mut f)| {
            f["id"] = json!(100 + i);
            f["created"] = json!(ts);
            f["updated"] = json!(ts);
            json!({ name: f })
        })
        .collect();
    Reply::json(
        200,
        &json!({"Response": items,
                "Pagination": {"future_url": null, "newer_url": null, "older_url": null}}),
    )
}
