//! bunq's error bodies (`{"Error": [...]}`) as a typed reason with a hint.

use std::fmt;

use reqwest::header::HeaderMap;

use super::Bunq;
use super::raw::types;
use crate::core::{ApiError, ProviderReason};

/// The response header bunq support asks for.
pub(crate) const RESPONSE_ID: &str = "x-bunq-client-response-id";

/// Why bunq rejected a request: its non-standard statuses and known messages, then the HTTP
/// status.
///
/// ```
/// use embed_sessions::ProviderReason;
/// use embed_sessions::bunq::BunqReason;
/// assert_eq!(
///     BunqReason::from_response(400, None, Some("The request signature is invalid.")),
///     BunqReason::SignatureInvalid
/// );
/// assert_eq!(BunqReason::from_response(466, None, None), BunqReason::SignatureRequired);
/// assert!(BunqReason::InsufficientAuthorisation.hint().is_some());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BunqReason {
    /// HTTP 466: the request carried no `X-Bunq-Client-Signature`.
    SignatureRequired,
    /// "The request signature is invalid." (HTTP 400): the signature does not match the body
    /// and the installed public key.
    SignatureInvalid,
    /// "Insufficient authorisation." / "Insufficient authentication." (HTTP 401): the session
    /// expired or was closed.
    InsufficientAuthorisation,
    /// "User credentials are incorrect. Incorrect API key or IP address." (HTTP 400).
    CredentialsIncorrect,
    /// HTTP 490: bunq refused the request for this user.
    UserError,
    /// HTTP 491: bunq is in maintenance.
    Maintenance,
    /// HTTP 429: a rate limit was hit.
    RateLimited,
    /// Another HTTP 400.
    BadRequest,
    /// Another HTTP 401.
    Unauthorized,
    /// HTTP 403.
    Forbidden,
    /// HTTP 404.
    NotFound,
    /// HTTP 405.
    MethodNotAllowed,
    /// A user provision ended (cancelled, failed, closed) or its credential expired before it
    /// became ready.
    ProvisionEnded,
    /// Nothing documented matched.
    Other,
}

impl ProviderReason for BunqReason {
    /// The reason for a status and bunq's (joined) error descriptions (bunq sends no code).
    fn from_response(status: u16, _code: Option<&str>, message: Option<&str>) -> Self {
        let m = message.unwrap_or("").to_ascii_lowercase();
        if status == 466 {
            BunqReason::SignatureRequired
        } else if m.contains("request signature is invalid") {
            BunqReason::SignatureInvalid
        } else if m.contains("insufficient authori") || m.contains("insufficient authenti") {
            BunqReason::InsufficientAuthorisation
        } else if m.contains("user credentials are incorrect") {
            BunqReason::CredentialsIncorrect
        } else {
            match status {
                490 => BunqReason::UserError,
                491 => BunqReason::Maintenance,
                429 => BunqReason::RateLimited,
                400 => BunqReason::BadRequest,
                401 => BunqReason::Unauthorized,
                403 => BunqReason::Forbidden,
                404 => BunqReason::NotFound,
                405 => BunqReason::MethodNotAllowed,
                _ => BunqReason::Other,
            }
        }
    }

    fn hint(&self) -> Option<&'static str> {
        Some(match self {
            BunqReason::SignatureRequired => {
                "bunq wants X-Bunq-Client-Signature on this call; the client signs every call \
                 after installation, so check that no proxy strips request headers"
            }
            BunqReason::SignatureInvalid => {
                "the body changed after signing (a proxy re-encoding it?) or the context's key \
                 pair is not the installed one; create a new context"
            }
            BunqReason::InsufficientAuthorisation => {
                "the session expired or was closed; the client renews it once and repeats the \
                 call, so a repeat means the API key was revoked or the device removed"
            }
            BunqReason::CredentialsIncorrect => {
                "the API key is wrong or revoked, or this IP is not among the device's permitted \
                 IPs; check BUNQ_API_KEY and create a new context from an allowed IP"
            }
            BunqReason::UserError => "bunq refused the request for this user; see the message",
            BunqReason::Maintenance => "bunq is in maintenance; retry later",
            BunqReason::RateLimited => {
                "bunq allows, per IP, 3 GET, 5 POST and 2 PUT per 3 s and 1 session-server \
                 call per 30 s; slow down"
            }
            BunqReason::Unauthorized => "check the API key and the session",
            BunqReason::Forbidden => "the user or API key lacks permission for this call",
            BunqReason::NotFound => {
                "check the ids in the path (the user id of an API-key \
                                     session is the API key's id)"
            }
            BunqReason::ProvisionEnded => {
                "create a new provision, or request a new credential (PUT the provision with \
                 status TOKEN_RESET_REQUESTED) if it expired"
            }
            BunqReason::BadRequest | BunqReason::MethodNotAllowed | BunqReason::Other => {
                return None;
            }
        })
    }
}

impl fmt::Display for BunqReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BunqReason::SignatureRequired => "request signature required",
            BunqReason::SignatureInvalid => "request signature invalid",
            BunqReason::InsufficientAuthorisation => "session not valid",
            BunqReason::CredentialsIncorrect => "API key or IP refused",
            BunqReason::UserError => "refused for this user",
            BunqReason::Maintenance => "maintenance",
            BunqReason::RateLimited => "rate limited",
            BunqReason::BadRequest => "bad request",
            BunqReason::Unauthorized => "unauthorized",
            BunqReason::Forbidden => "forbidden",
            BunqReason::NotFound => "not found",
            BunqReason::MethodNotAllowed => "method not allowed",
            BunqReason::ProvisionEnded => "user provision ended",
            BunqReason::Other => "request rejected",
        })
    }
}

/// Turns an `{"Error": [...]}` body into the facade's [`ApiError`]: descriptions joined with
/// `; `, the typed reason, translated texts and extra parameters as details, and bunq's
/// response id.
pub(crate) fn api_error(status: u16, headers: &HeaderMap, body: types::BunqError) -> ApiError {
    let entries = body.error.unwrap_or_default();
    let message = entries
        .iter()
        .map(|e| e.error_description.trim())
        .filter(|d| !d.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    let has_details = entries.iter().any(|e| {
        e.error_additional_parameter.as_ref().is_some_and(|p| !p.is_empty())
            || e.error_description_translated.as_deref().is_some_and(|t| !t.is_empty())
    });
    let message = (!message.is_empty()).then_some(message);
    let mut api = ApiError::from_response::<Bunq>(status, None, message)
        .with_details(if has_details { serde_json::to_value(&entries).ok() } else { None });
    api.response_id = response_id(headers);
    api
}

/// `X-Bunq-Client-Response-Id`, when present.
pub(crate) fn response_id(headers: &HeaderMap) -> Option<String> {
    headers.get(RESPONSE_ID).and_then(|v| v.to_str().ok()).map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(descriptions: &[&str]) -> types::BunqError {
        serde_json::from_value(serde_json::json!({
            "Error": descriptions
                .iter()
                .map(|d| serde_json::json!({"error_description": d, "error_description_translated": d}))
                .collect::<Vec<_>>()
        }))
        .unwrap()
    }

    #[test]
    fn documented_reasons_are_recognised() {
        use BunqReason::*;
        let cases = [
            (SignatureRequired, 466, "Request signature is required."),
            (SignatureInvalid, 400, "The request signature is invalid."),
            (InsufficientAuthorisation, 401, "Insufficient authorisation."),
            (InsufficientAuthorisation, 401, "Insufficient authentication."),
            (
                CredentialsIncorrect,
                400,
                "User credentials are incorrect. Incorrect API key or IP address.",
            ),
            (UserError, 490, "Something about the user."),
            (Maintenance, 491, "Maintenance."),
            (RateLimited, 429, "Too many requests."),
            (BadRequest, 400, "Field x is required."),
            (NotFound, 404, "Not found."),
            (Other, 418, "?"),
        ];
        for (want, status, text) in cases {
            let api = api_error(status, &HeaderMap::new(), body(&[text]));
            assert_eq!(api.reason.get::<BunqReason>(), Some(&want), "{status} {text}");
            assert_eq!(api.message.as_deref(), Some(text));
        }
    }

    #[test]
    fn several_entries_are_joined_and_the_response_id_kept() {
        let mut headers = HeaderMap::new();
        headers.insert(RESPONSE_ID, "resp-123".parse().unwrap());
        let api = api_error(400, &headers, body(&["First.", " ", "Second."]));
        assert_eq!(api.message.as_deref(), Some("First.; Second."));
        assert_eq!(api.response_id.as_deref(), Some("resp-123"));
        assert!(api.details.is_some(), "translated texts are kept as details");
        let empty = api_error(500, &HeaderMap::new(), types::BunqError { error: None });
        assert_eq!(empty.message, None);
        assert_eq!(empty.reason.get::<BunqReason>(), Some(&BunqReason::Other));
    }
}
