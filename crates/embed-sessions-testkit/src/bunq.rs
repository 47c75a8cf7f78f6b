//! A bunq client that does everything by hand (its own RSA key, signatures computed here),
//! for tests of the sandbox itself, and keys for tests that need a second one.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{self, UnparsedPublicKey};
use base64::Engine as _;
use embed_sessions_sandbox::ServerKey;
use serde_json::{Value, json};

/// Standard base64, as bunq uses for signatures.
pub const B64: base64::engine::general_purpose::GeneralPurpose =
    base64::engine::general_purpose::STANDARD;

/// DER bytes as PEM with this label (`PUBLIC KEY`, `PRIVATE KEY`), 64 columns.
pub fn pem(label: &str, der: &[u8]) -> String {
    let b64 = B64.encode(der);
    let lines: Vec<&str> =
        b64.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).unwrap()).collect();
    format!("-----BEGIN {label}-----\n{}\n-----END {label}-----\n", lines.join("\n"))
}

/// A bunq client that does everything by hand.
pub struct RawBunq {
    /// The bunq base URL (`.../bunq/v1`).
    pub base: String,
    /// The HTTP client.
    pub http: reqwest::Client,
    /// The client's RSA-2048 key pair (the sandbox's signing key type serves both sides).
    pub key: ServerKey,
    /// The installation token, once installed.
    pub installation: Option<String>,
    /// The server's public key from the installation answer.
    pub server_pem: Option<String>,
    /// The session token, once a session was created.
    pub session: Option<String>,
}

/// An answer as received.
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// The headers.
    pub headers: reqwest::header::HeaderMap,
    /// The body bytes.
    pub body: Vec<u8>,
}

impl Answer {
    /// The body as JSON (`null` when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
    /// The first `Response` element with this key.
    pub fn item(&self, key: &str) -> Value {
        self.json()["Response"]
            .as_array()
            .and_then(|a| a.iter().find_map(|i| i.get(key).cloned()))
            .unwrap_or(Value::Null)
    }
    /// bunq's first `error_description`, or empty.
    pub fn error(&self) -> String {
        self.json()["Error"][0]["error_description"].as_str().unwrap_or_default().to_string()
    }
}

impl RawBunq {
    /// A client with a fresh key, nothing installed yet.
    pub fn new(base: &str) -> Self {
        Self {
            base: base.to_string(),
            http: reqwest::Client::new(),
            key: ServerKey::generate().unwrap(),
            installation: None,
            server_pem: None,
            session: None,
        }
    }

    /// The base64 signature of `body` with the client's key.
    pub fn sign(&self, body: &[u8]) -> String {
        self.key.sign(body).unwrap()
    }

    /// Sends a request; `signature`: `Some(None)` signs correctly, `Some(Some(s))` sends `s`,
    /// `None` sends none. `auth` overrides the token sent.
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        auth: Option<&str>,
        signature: Option<Option<&str>>,
    ) -> Answer {
        let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
        let mut req = self
            .http
            .request(method.parse().unwrap(), format!("{}{path}", self.base))
            .header("User-Agent", "sandbox-tests/1")
            .header("Cache-Control", "no-cache")
            .header("X-Bunq-Client-Request-Id", uuid::Uuid::new_v4().to_string());
        if let Some(a) = auth {
            req = req.header("X-Bunq-Client-Authentication", a);
        }
        match signature {
            Some(None) => req = req.header("X-Bunq-Client-Signature", self.sign(&bytes)),
            Some(Some(s)) => req = req.header("X-Bunq-Client-Signature", s),
            None => {}
        }
        if body.is_some() {
            req = req.header("Content-Type", "application/json").body(bytes);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.bytes().await.unwrap().to_vec();
        Answer { status, headers, body }
    }

    /// Checks `X-Bunq-Server-Signature` of a 2xx answer against the installed server key.
    pub fn server_signed(&self, a: &Answer) -> bool {
        let Some(pem) = &self.server_pem else { return false };
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        let der = B64.decode(body).unwrap();
        let Some(sig) = a.headers.get("x-bunq-server-signature") else { return false };
        let sig = B64.decode(sig.to_str().unwrap()).unwrap();
        UnparsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, der)
            .verify(&a.body, &sig)
            .is_ok()
    }

    /// `POST /installation` with the client's public key; keeps the token and server key.
    pub async fn install(&mut self) -> Answer {
        let body = json!({"client_public_key": self.key.public_pem()});
        let a = self.send("POST", "/installation", Some(&body), None, None).await;
        assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
        self.installation = a.item("Token")["token"].as_str().map(String::from);
        self.server_pem = a.item("ServerPublicKey")["server_public_key"].as_str().map(String::from);
        a
    }

    /// `POST /device-server` for an API key, signed, with the installation token.
    pub async fn device(&self, secret: &str) -> Answer {
        let body = json!({"description": "tests", "secret": secret, "permitted_ips": ["*"]});
        self.send("POST", "/device-server", Some(&body), self.installation.as_deref(), Some(None))
            .await
    }

    /// `POST /session-server`, signed; keeps the session token on success.
    pub async fn session(&mut self, secret: &str) -> Answer {
        let body = json!({"secret": secret});
        let a = self
            .send("POST", "/session-server", Some(&body), self.installation.as_deref(), Some(None))
            .await;
        if a.status == 200 {
            self.session = a.item("Token")["token"].as_str().map(String::from);
        }
        a
    }

    /// installation, device, session: the user object of the session.
    pub async fn open(&mut self, secret: &str) -> Value {
        self.install().await;
        let d = self.device(secret).await;
        assert_eq!(d.status, 200, "{}", String::from_utf8_lossy(&d.body));
        let s = self.session(secret).await;
        assert_eq!(s.status, 200, "{}", String::from_utf8_lossy(&s.body));
        assert!(self.server_signed(&s));
        s.json()["Response"][2].clone()
    }

    /// A signed call with the session token.
    pub async fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Answer {
        self.send(method, path, body, self.session.as_deref(), Some(None)).await
    }
}

/// A fresh RSA-2048 private key as PKCS#8 PEM: a key bunq never saw installed, for tests of a
/// request signed with the wrong key.
pub fn other_private_key_pem() -> String {
    let key = KeyPair::generate(KeySize::Rsa2048).unwrap();
    let der: aws_lc_rs::encoding::Pkcs8V1Der<'static> = key.as_der().unwrap();
    pem("PRIVATE KEY", der.as_ref())
}

/// bunq's error body with one entry.
pub fn error_body(description: &str) -> Value {
    json!({"Error": [{"error_description": description,
                      "error_description_translated": description}]})
}
