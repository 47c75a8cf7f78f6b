//! The per-attempt hook: bunq headers and the request signature on every attempt, the server
//! signature check on the final response.

use std::sync::Arc;

use reqwest::header::{CACHE_CONTROL, HeaderMap, HeaderName, HeaderValue, USER_AGENT};

use super::crypto::{KeyPair, ServerKey};
use super::reason::response_id;
use crate::core::error::{Error, ErrorKind};
use crate::core::secret::Secret;
use crate::core::transport::AttemptHook;

const AUTHENTICATION: HeaderName = HeaderName::from_static("x-bunq-client-authentication");
const SIGNATURE: HeaderName = HeaderName::from_static("x-bunq-client-signature");
const REQUEST_ID: HeaderName = HeaderName::from_static("x-bunq-client-request-id");
const GEOLOCATION: HeaderName = HeaderName::from_static("x-bunq-geolocation");
const LANGUAGE: HeaderName = HeaderName::from_static("x-bunq-language");
const REGION: HeaderName = HeaderName::from_static("x-bunq-region");
const SERVER_SIGNATURE: &str = "x-bunq-server-signature";

/// What one call sends and checks.
pub(crate) struct BunqHook {
    /// `User-Agent` (bunq requires one; set here so a caller's own `reqwest::Client` without a
    /// default user agent works too).
    pub user_agent: HeaderValue,
    /// `X-Bunq-Client-Authentication`: the installation token (device, session) or the
    /// session token; none for installation.
    pub auth: Option<Secret>,
    /// Signs the body; none for installation.
    pub signer: Option<Arc<KeyPair>>,
    /// Checks 2xx responses; none for installation or when the check is turned off.
    pub verifier: Option<Arc<ServerKey>>,
}

/// A fresh random id (UUID v4 form) per attempt: bunq rejects a reused request id.
fn request_id() -> HeaderValue {
    let mut bytes = [0u8; 16];
    if aws_lc_rs::rand::fill(&mut bytes).is_err() {
        // Uniqueness, not secrecy, is what matters here.
        bytes = fastrand::u128(..).to_le_bytes();
    }
    let id = uuid::Builder::from_random_bytes(bytes).into_uuid();
    HeaderValue::from_str(&id.to_string()).unwrap_or(HeaderValue::from_static("request"))
}

fn sensitive(value: &str, what: &str) -> Result<HeaderValue, Error> {
    let mut v = HeaderValue::from_str(value).map_err(|_| {
        Error::new(ErrorKind::Signature).with_message(format!("the {what} is not a valid header"))
    })?;
    v.set_sensitive(true);
    Ok(v)
}

impl AttemptHook for BunqHook {
    fn prepare(&self, request: &mut reqwest::Request) -> Result<(), Error> {
        let signature = match &self.signer {
            Some(key) => {
                // Exactly the bytes that will be sent; GET and DELETE sign the empty body.
                let body: &[u8] = match request.body() {
                    None => &[],
                    Some(b) => b.as_bytes().ok_or_else(|| {
                        Error::new(ErrorKind::Signature)
                            .with_message("a streamed request body cannot be signed")
                    })?,
                };
                Some(sensitive(&key.sign(body)?, "signature")?)
            }
            None => None,
        };
        let headers = request.headers_mut();
        headers.insert(USER_AGENT, self.user_agent.clone());
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        headers.insert(REQUEST_ID, request_id());
        headers.insert(GEOLOCATION, HeaderValue::from_static("0 0 0 0 000"));
        headers.insert(LANGUAGE, HeaderValue::from_static("en_US"));
        headers.insert(REGION, HeaderValue::from_static("nl_NL"));
        if let Some(token) = &self.auth {
            headers.insert(AUTHENTICATION, sensitive(token.expose(), "authentication token")?);
        }
        if let Some(signature) = signature {
            headers.insert(SIGNATURE, signature);
        }
        Ok(())
    }

    fn verify(&self, status: u16, headers: &HeaderMap, body: &[u8]) -> Result<(), Error> {
        let Some(key) = &self.verifier else { return Ok(()) };
        // Error bodies (429s included) are not reliably signed: only 2xx are checked.
        if !(200..300).contains(&status) {
            return Ok(());
        }
        let support =
            response_id(headers).map(|id| format!(" [response id {id}]")).unwrap_or_default();
        let fail = |why: &str| {
            Err(Error::new(ErrorKind::Signature)
                .with_message(format!("{why}; the response was refused{support}")))
        };
        match headers.get(SERVER_SIGNATURE).and_then(|v| v.to_str().ok()) {
            None => fail("the response carries no X-Bunq-Server-Signature"),
            Some(sig) if !key.verify(body, sig) => fail(
                "X-Bunq-Server-Signature does not match the body and the server public key \
                 from the installation (altered, or not from bunq)",
            ),
            Some(_) => Ok(()),
        }
    }
}
