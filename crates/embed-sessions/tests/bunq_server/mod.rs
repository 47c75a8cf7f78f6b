//! A fake bunq on loopback, strict where bunq is strict:
//!
//! - every request after installation must carry `X-Bunq-Client-Signature`, which is verified
//!   over the exact body bytes with the public key the client installed (missing: 466; wrong:
//!   400 "The request signature is invalid.");
//! - `X-Bunq-Client-Authentication` must be the installation token (device-server,
//!   session-server) or a live session token (everything else; otherwise 401 "Insufficient
//!   authorisation.");
//! - `User-Agent`, `Cache-Control: no-cache` and a never-reused `X-Bunq-Client-Request-Id` are
//!   checked on every request (violations are recorded as problems);
//! - session-server needs a device registered for the same installation and API key;
//! - 2xx responses are signed with the server's own RSA key (`X-Bunq-Server-Signature`), or
//!   deliberately not / wrongly, and carry `X-Bunq-Client-Response-Id`.
//!
//! It also plays the partner API: a provision that becomes ready after N reads (or never), whose
//! token value turns null after its first use, and per-user notification filters.
#![allow(dead_code)]

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{self, KeyPair as _, ParsedPublicKey};
use base64::Engine as _;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The partner's API key: its sessions are a `UserCompany`.
pub const PARTNER_KEY: &str = "partner-api-key-0001-secret";
/// A person's own API key: its sessions are a `UserPerson`.
pub const PERSON_KEY: &str = "person-api-key-0002-secret";
pub const PARTNER_COMPANY_ID: i64 = 1360;
pub const PERSON_ID: i64 = 2001;
/// The provisioned user's API-key user id (the `{userID}` of its calls) and real id.
pub const API_KEY_USER_ID: i64 = 1364;
pub const GRANTED_PERSON_ID: i64 = 1363;
pub const PROVISION_ID: i64 = 42;

const B64: base64::engine::general_purpose::GeneralPurpose =
    base64::engine::general_purpose::STANDARD;

/// How the server signs its 2xx responses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignMode {
    Valid,
    /// A signature of other bytes.
    Tampered,
    Missing,
}

fn server_key() -> &'static KeyPair {
    static KEY: OnceLock<KeyPair> = OnceLock::new();
    KEY.get_or_init(|| KeyPair::generate(KeySize::Rsa2048).unwrap())
}

pub fn pem(label: &str, der: &[u8]) -> String {
    let b64 = B64.encode(der);
    let lines: Vec<&str> =
        b64.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).unwrap()).collect();
    format!("-----BEGIN {label}-----\n{}\n-----END {label}-----\n", lines.join("\n"))
}

fn pem_der(pem: &str) -> Option<Vec<u8>> {
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    B64.decode(body.trim()).ok()
}

/// A fresh RSA-2048 private key as PKCS#8 PEM (not the installed one).
pub fn other_private_key_pem() -> String {
    let key = KeyPair::generate(KeySize::Rsa2048).unwrap();
    let der: aws_lc_rs::encoding::Pkcs8V1Der<'static> = key.as_der().unwrap();
    pem("PRIVATE KEY", der.as_ref())
}

struct Session {
    id: i64,
    installation: String,
    user_id: i64,
}

struct Provision {
    polls: u32,
    ready_after: Option<u32>,
    token: String,
    used: bool,
    status: &'static str,
}

struct State {
    counter: i64,
    installations: HashMap<String, (Arc<ParsedPublicKey>, String)>,
    devices: HashSet<(String, String)>,
    sessions: HashMap<String, Session>,
    hits: Vec<(String, Instant)>,
    request_ids: HashSet<String>,
    problems: Vec<String>,
    verified: usize,
    injected: HashMap<String, VecDeque<(u16, String, &'static str)>>,
    sign_mode: SignMode,
    session_timeout: i64,
    reorder_session_items: bool,
    provision: Option<Provision>,
    provision_ready_after: Option<u32>,
    url_filters: HashMap<i64, Vec<Value>>,
    push_filters: HashMap<i64, Vec<Value>>,
    secrets: Vec<String>,
    installed_pems: Vec<String>,
}

struct Request {
    method: String,
    path: String,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

struct Reply {
    status: u16,
    body: Vec<u8>,
    content_type: &'static str,
}

fn reply(status: u16, value: Value) -> Reply {
    Reply { status, body: serde_json::to_vec(&value).unwrap(), content_type: "application/json" }
}

pub fn error_body(description: &str) -> String {
    json!({"Error": [{"error_description": description, "error_description_translated": description}]})
        .to_string()
}

fn bunq_error(status: u16, description: &str) -> Reply {
    Reply { status, body: error_body(description).into_bytes(), content_type: "application/json" }
}

/// `POST /v1/user/1364/notification-filter-url` -> `POST /user/{id}/notification-filter-url`.
fn route(method: &str, path: &str) -> String {
    let path = path.split('?').next().unwrap_or("");
    let path = path.strip_prefix("/v1").unwrap_or(path);
    let segments: Vec<&str> = path
        .split('/')
        .map(|s| if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) { "{id}" } else { s })
        .collect();
    format!("{method} {}", segments.join("/"))
}

fn path_id(path: &str, after: &str) -> Option<i64> {
    let path = path.split('?').next()?;
    let rest = path.split(after).nth(1)?;
    rest.trim_start_matches('/').split('/').next()?.parse().ok()
}

impl State {
    fn next(&mut self) -> i64 {
        self.counter += 1;
        self.counter
    }

    fn token(&mut self, kind: &str) -> String {
        let n = self.next();
        let t = format!("{kind}-{n}-{:016x}", fastrand::u64(..));
        self.secrets.push(t.clone());
        t
    }

    fn user_for(&self, api_key: &str) -> Option<Value> {
        let st = self.session_timeout;
        if api_key == PARTNER_KEY {
            return Some(json!({"UserCompany": {
                "id": PARTNER_COMPANY_ID, "display_name": "Surrey Coöperatie", "session_timeout": st
            }}));
        }
        if api_key == PERSON_KEY {
            return Some(json!({"UserPerson": {
                "id": PERSON_ID, "display_name": "Own Key", "session_timeout": st
            }}));
        }
        if self.provision.as_ref().is_some_and(|p| p.token == api_key) {
            return Some(json!({"UserApiKey": {
                "id": API_KEY_USER_ID,
                "created": "2025-08-13 15:53:11.286445",
                "updated": "2025-08-13 15:53:11.286445",
                "requested_by_user": {"UserCompany": {
                    "id": PARTNER_COMPANY_ID, "display_name": "Surrey Coöperatie", "session_timeout": st
                }},
                "granted_by_user": {"UserPerson": {
                    "id": GRANTED_PERSON_ID, "display_name": "New bunqer", "session_timeout": 604800
                }}
            }}));
        }
        None
    }

    fn provision_json(&self) -> Value {
        let Some(p) = &self.provision else { return json!({}) };
        let ready = !p.used && p.ready_after.is_some_and(|n| p.polls >= n);
        let (status, sub_status, credential) = if p.status != "CREATED" {
            (p.status, "NONE", Value::Null)
        } else if p.used {
            (
                "ACTIVE",
                "NONE",
                json!({"id": 7, "status": "ACTIVE", "expiry_time": null, "token_value": null}),
            )
        } else if ready {
            (
                "CREATED",
                "PENDING_PROCESS_USER_ONBOARDING",
                json!({"id": 7, "status": "PENDING_FIRST_USE",
                       "expiry_time": "2025-08-13 16:53:11.000000", "token_value": p.token}),
            )
        } else {
            ("CREATED", "PENDING_PROCESS_USER", Value::Null)
        };
        json!({"PartnerUserProvision": {
            "id": PROVISION_ID, "status": status, "sub_status": sub_status,
            "action_required": "NONE", "credential": credential,
            "label_user": null, "oauth_request": null,
            "email": "user@example.com", "phone_number": "+31612345678"
        }})
    }

    fn handle(&mut self, req: &Request) -> Reply {
        let route = route(&req.method, &req.path);
        self.hits.push((route.clone(), Instant::now()));
        let h = |name: &str| req.headers.get(name).map(String::as_str);
        if h("user-agent").is_none_or(str::is_empty) {
            self.problems.push(format!("{route}: no User-Agent"));
        }
        if h("cache-control") != Some("no-cache") {
            self.problems.push(format!("{route}: Cache-Control is not no-cache"));
        }
        match h("x-bunq-client-request-id") {
            None => self.problems.push(format!("{route}: no X-Bunq-Client-Request-Id")),
            Some(id) if !self.request_ids.insert(id.to_string()) => {
                self.problems.push(format!("{route}: request id {id} reused"));
                return bunq_error(400, "The request id was used before.");
            }
            Some(_) => {}
        }
        if let Some((status, body, content_type)) =
            self.injected.get_mut(&route).and_then(VecDeque::pop_front)
        {
            return Reply { status, body: body.into_bytes(), content_type };
        }
        if route == "POST /installation" {
            if h("x-bunq-client-authentication").is_some() || h("x-bunq-client-signature").is_some()
            {
                self.problems.push("installation: sent authentication or a signature".into());
            }
            return self.install(req);
        }
        let Some(auth) = h("x-bunq-client-authentication").map(str::to_string) else {
            return bunq_error(401, "Insufficient authentication.");
        };
        let context_call = matches!(route.as_str(), "POST /device-server" | "POST /session-server");
        let installation = if context_call {
            self.installations.contains_key(&auth).then(|| auth.clone())
        } else {
            self.sessions.get(&auth).map(|s| s.installation.clone())
        };
        let Some(installation) = installation else {
            return bunq_error(401, "Insufficient authorisation.");
        };
        let Some(signature) = h("x-bunq-client-signature") else {
            self.problems.push(format!("{route}: no signature"));
            return bunq_error(466, "Request signature is required for this operation.");
        };
        let key = self.installations[&installation].0.clone();
        let valid = B64.decode(signature).is_ok_and(|sig| key.verify_sig(&req.body, &sig).is_ok());
        if !valid {
            self.problems.push(format!("{route}: signature invalid"));
            return bunq_error(400, "The request signature is invalid.");
        }
        self.verified += 1;
        let body: Value = if req.body.is_empty() {
            Value::Null
        } else {
            match serde_json::from_slice(&req.body) {
                Ok(v) => v,
                Err(_) => return bunq_error(400, "The request body is not JSON."),
            }
        };
        let user_id = self.sessions.get(&auth).map(|s| s.user_id);
        match route.as_str() {
            "POST /device-server" => {
                let secret = body["secret"].as_str().unwrap_or_default().to_string();
                if body["description"].as_str().is_none_or(str::is_empty) {
                    return bunq_error(400, "Field description is required.");
                }
                if self.user_for(&secret).is_none() {
                    return bunq_error(
                        400,
                        "User credentials are incorrect. Incorrect API key or IP address.",
                    );
                }
                if let Some(p) = self.provision.as_mut()
                    && p.token == secret
                {
                    p.used = true;
                }
                self.devices.insert((installation, secret));
                let id = self.next();
                reply(200, json!({"Response": [{"Id": {"id": id}}]}))
            }
            "POST /session-server" => {
                let secret = body["secret"].as_str().unwrap_or_default().to_string();
                let user = match self.user_for(&secret) {
                    Some(u) if self.devices.contains(&(installation.clone(), secret)) => u,
                    _ => {
                        return bunq_error(
                            400,
                            "User credentials are incorrect. Incorrect API key or IP address.",
                        );
                    }
                };
                let user_id = user.as_object().unwrap().values().next().unwrap()["id"].as_i64();
                let token = self.token("session");
                let id = self.next();
                self.sessions
                    .insert(token.clone(), Session { id, installation, user_id: user_id.unwrap() });
                let mut items = vec![
                    json!({"Id": {"id": id}}),
                    json!({"Token": {"id": id, "created": "2025-08-13 15:53:11.594918",
                                     "updated": "2025-08-13 15:53:11.594918", "token": token}}),
                    user,
                ];
                if self.reorder_session_items {
                    items.reverse();
                }
                reply(200, json!({"Response": items}))
            }
            "DELETE /session/{id}" => {
                let id = path_id(&req.path, "/session/");
                self.sessions.retain(|_, s| Some(s.id) != id);
                reply(200, json!({"Response": []}))
            }
            "POST /partner-user-provision" => {
                if user_id != Some(PARTNER_COMPANY_ID) {
                    return bunq_error(403, "Only partners can provision users.");
                }
                let token = format!("provisioned-token-value-{:016x}", fastrand::u64(..));
                self.secrets.push(token.clone());
                self.provision = Some(Provision {
                    polls: 0,
                    ready_after: self.provision_ready_after,
                    token,
                    used: false,
                    status: "CREATED",
                });
                reply(200, json!({"Response": [{"Id": {"id": PROVISION_ID}}]}))
            }
            "GET /partner-user-provision/{id}" | "PUT /partner-user-provision/{id}" => {
                if path_id(&req.path, "/partner-user-provision/") != Some(PROVISION_ID)
                    || self.provision.is_none()
                {
                    return bunq_error(404, "Provision not found.");
                }
                let p = self.provision.as_mut().unwrap();
                if req.method == "GET" {
                    p.polls += 1;
                } else if body["status"] == "CANCELLED" {
                    p.status = "CANCELLED";
                } else if body["status"] == "TOKEN_RESET_REQUESTED" {
                    p.used = false;
                    p.polls = 0;
                    p.token = format!("provisioned-token-value-{:016x}", fastrand::u64(..));
                    let t = p.token.clone();
                    self.secrets.push(t);
                }
                reply(200, json!({"Response": [self.provision_json()]}))
            }
            r if r.starts_with("POST /user/{id}/notification-filter-")
                || r.starts_with("GET /user/{id}/notification-filter-") =>
            {
                let uid = path_id(&req.path, "/user/");
                if uid != user_id {
                    self.problems
                        .push(format!("{route}: user {uid:?} with a session of {user_id:?}"));
                    return bunq_error(403, "Insufficient authorisation.");
                }
                let uid = uid.unwrap_or_default();
                let push = r.ends_with("push");
                let (name, store) = if push {
                    ("NotificationFilterPush", &mut self.push_filters)
                } else {
                    ("NotificationFilterUrl", &mut self.url_filters)
                };
                if req.method == "POST" {
                    let filters =
                        body["notification_filters"].as_array().cloned().unwrap_or_default();
                    store.insert(uid, filters);
                }
                let items: Vec<Value> = store
                    .get(&uid)
                    .cloned()
                    .unwrap_or_default()
                    .into_iter()
                    .enumerate()
                    .map(|(i, mut f)| {
                        f["id"] = json!(100 + i);
                        f["created"] = json!("2025-08-13 15:53:11.594918");
                        json!({ name: f })
                    })
                    .collect();
                reply(
                    200,
                    json!({"Response": items, "Pagination": {
                    "future_url": null, "newer_url": null, "older_url": null}}),
                )
            }
            _ => bunq_error(404, "Route not found."),
        }
    }

    fn install(&mut self, req: &Request) -> Reply {
        let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
        let pem_text = body["client_public_key"].as_str().unwrap_or_default().to_string();
        if !pem_text.starts_with("-----BEGIN PUBLIC KEY-----") {
            return bunq_error(400, "Public key is not a PEM public key.");
        }
        let Some(key) = pem_der(&pem_text)
            .and_then(|der| ParsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, der).ok())
        else {
            return bunq_error(400, "Public key is invalid.");
        };
        let token = self.token("installation");
        self.installations.insert(token.clone(), (Arc::new(key), pem_text.clone()));
        self.installed_pems.push(pem_text);
        let id = self.next();
        let server_pem = {
            let der: aws_lc_rs::encoding::PublicKeyX509Der<'static> =
                server_key().public_key().as_der().unwrap();
            pem("PUBLIC KEY", der.as_ref())
        };
        reply(
            200,
            json!({"Response": [
                {"Id": {"id": id}},
                {"Token": {"id": id, "created": "2025-08-13 15:53:11.594918",
                           "updated": "2025-08-13 15:53:11.594918", "token": token}},
                {"ServerPublicKey": {"server_public_key": server_pem}}
            ]}),
        )
    }
}

/// The fake server; dropped with the test's runtime.
#[derive(Clone)]
pub struct FakeBunq {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
}

impl FakeBunq {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State {
            counter: 0,
            installations: HashMap::new(),
            devices: HashSet::new(),
            sessions: HashMap::new(),
            hits: Vec::new(),
            request_ids: HashSet::new(),
            problems: Vec::new(),
            verified: 0,
            injected: HashMap::new(),
            sign_mode: SignMode::Valid,
            session_timeout: 604_800,
            reorder_session_items: false,
            provision: None,
            provision_ready_after: Some(1),
            url_filters: HashMap::new(),
            push_filters: HashMap::new(),
            secrets: Vec::new(),
            installed_pems: Vec::new(),
        }));
        let server = Self { addr, state };
        let accept = server.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let s = accept.clone();
                tokio::spawn(async move { s.serve(stream).await });
            }
        });
        server
    }

    async fn serve(&self, mut stream: TcpStream) {
        let Some(req) = read_request(&mut stream).await else { return };
        let (reply, mode) = {
            let mut state = self.state.lock().unwrap();
            (state.handle(&req), state.sign_mode)
        };
        let mut head = format!(
            "HTTP/1.1 {} X\r\ncontent-type: {}\r\ncontent-length: {}\r\nconnection: close\r\n\
             x-bunq-client-response-id: resp-{:08x}\r\n",
            reply.status,
            reply.content_type,
            reply.body.len(),
            fastrand::u32(..)
        );
        if (200..300).contains(&reply.status) {
            let signed: &[u8] =
                if mode == SignMode::Tampered { b"other bytes" } else { &reply.body };
            let mut sig = vec![0; server_key().public_modulus_len()];
            server_key()
                .sign(
                    &signature::RSA_PKCS1_SHA256,
                    &aws_lc_rs::rand::SystemRandom::new(),
                    signed,
                    &mut sig,
                )
                .unwrap();
            if mode != SignMode::Missing {
                head.push_str(&format!("x-bunq-server-signature: {}\r\n", B64.encode(sig)));
            }
        }
        head.push_str("\r\n");
        let _ = stream.write_all(head.as_bytes()).await;
        let _ = stream.write_all(&reply.body).await;
        let _ = stream.shutdown().await;
    }

    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.state.lock().unwrap())
    }

    /// Requests to a route like `POST /session-server` or `GET /user/{id}/notification-filter-url`.
    pub fn hits(&self, route: &str) -> usize {
        self.with(|s| s.hits.iter().filter(|(r, _)| r == route).count())
    }

    pub fn hit_times(&self, route: &str) -> Vec<Instant> {
        self.with(|s| s.hits.iter().filter(|(r, _)| r == route).map(|(_, t)| *t).collect())
    }

    pub fn total_hits(&self) -> usize {
        self.with(|s| s.hits.len())
    }

    /// Answers the next request to `route` with this status and body (unsigned, like bunq's
    /// error bodies).
    pub fn inject(&self, route: &str, status: u16, body: &str) {
        let content_type = if body.starts_with('<') { "text/html" } else { "application/json" };
        self.with(|s| {
            s.injected.entry(route.to_string()).or_default().push_back((
                status,
                body.to_string(),
                content_type,
            ))
        });
    }

    pub fn set_sign_mode(&self, mode: SignMode) {
        self.with(|s| s.sign_mode = mode);
    }

    pub fn set_session_timeout(&self, secs: i64) {
        self.with(|s| s.session_timeout = secs);
    }

    pub fn reorder_session_items(&self, on: bool) {
        self.with(|s| s.reorder_session_items = on);
    }

    /// Ends every session (the next call with one gets 401 "Insufficient authorisation.").
    pub fn expire_sessions(&self) {
        self.with(|s| s.sessions.clear());
    }

    /// Provisions created from now on are ready after this many reads (`None`: never).
    pub fn provision_ready_after(&self, reads: Option<u32>) {
        self.with(|s| s.provision_ready_after = reads);
    }

    pub fn provision_token(&self) -> Option<String> {
        self.with(|s| s.provision.as_ref().map(|p| p.token.clone()))
    }

    pub fn problems(&self) -> Vec<String> {
        self.with(|s| s.problems.clone())
    }

    /// Requests whose signature was verified.
    pub fn verified(&self) -> usize {
        self.with(|s| s.verified)
    }

    /// Every token and token value the server issued.
    pub fn secrets(&self) -> Vec<String> {
        self.with(|s| s.secrets.clone())
    }

    /// Public keys received by installation, in order.
    pub fn installed_keys(&self) -> Vec<String> {
        self.with(|s| s.installed_pems.clone())
    }

    pub fn url_filters(&self, user_id: i64) -> Vec<Value> {
        self.with(|s| s.url_filters.get(&user_id).cloned().unwrap_or_default())
    }

    pub fn push_filters(&self, user_id: i64) -> Vec<Value> {
        self.with(|s| s.push_filters.get(&user_id).cloned().unwrap_or_default())
    }
}

async fn read_request(stream: &mut TcpStream) -> Option<Request> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let (method, path) = (first.next()?.to_string(), first.next()?.to_string());
    let headers: HashMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let length: usize = headers.get("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some(Request { method, path, headers, body })
}
