//! Vlens webhooks: `App.BusinessRequestStatusChange`, parsed strictly and confirmed through
//! the API.
//!
//! Vlens documents no signature on webhook requests (<https://docs.vlenseg.com/webhooks>) and no
//! redelivery schedule (handled ids are kept 24 hours by default), so:
//! subscribe a URL that holds an unguessable [`UrlToken`](crate::core::inbound::UrlToken) and
//! check it, [`parse`] the body, drop redeliveries by [`VlensEvent::dedupe_key`], and act on
//! [`VlensClient::confirm_event`](super::VlensClient::confirm_event) (the business request
//! re-read with your API key), not on the body.
//!
//! ```
//! use embed_sessions::vlens::events::{self, RequestStatus, VlensEventKind};
//! let body = br#"{"Id":"2b020a26-ec12-4f59-8e6a-7d4bf941372b","WebhookEvent":"App.BusinessRequestStatusChange","Attempt":1,"Data":{"Id":"c2f27bd2-bb49-4dde-bb5f-22a6b8e0d20d","NewStatus":"PendingApproval"},"CreationTimeUtc":"2025-12-11T11:27:18.6197007Z"}"#;
//! let event = events::parse(&http::HeaderMap::new(), body)?;
//! let VlensEventKind::BusinessRequestStatusChange(change) = event.kind() else { panic!() };
//! assert_eq!(change.new_status, RequestStatus::PendingApproval);
//! assert_eq!(event.dedupe_key(), "vlens:2b020a26-ec12-4f59-8e6a-7d4bf941372b");
//! # Ok::<(), embed_sessions::Error>(())
//! ```
//!
//! A receiver (the README's, compiled here):
//!
//! ```no_run
//! use embed_sessions::core::inbound::{self, MemoryDedupe, UrlToken};
//! use embed_sessions::vlens::VlensClient;
//! # fn act_on(_: &embed_sessions::vlens::raw::types::BusinessRequest) {}
//! # async fn receive(vlens: VlensClient, token: UrlToken, dedupe: MemoryDedupe,
//! #     path_token: String, headers: http::HeaderMap, body: Vec<u8>) -> Result<(), embed_sessions::Error> {
//! token.check("vlens", &path_token)?; // constant time
//! let event = embed_sessions::vlens::events::parse(&headers, &body)?;
//! inbound::once(&dedupe, &event.dedupe_key(), || async {
//!     let c = vlens.confirm_event(&event).await?; // GetBusinessRequestById
//!     if c.is_confirmed() {
//!         act_on(c.current()) // the API's status, not the body's
//!     }
//!     Ok(())
//! })
//! .await?;
//! # Ok(()) }
//! ```

use serde::Serialize;
use serde_json::Value;

use crate::core::inbound::{
    self, DEFAULT_MAX_EVENT_BYTES, json_type, optional_str, required_object, required_str,
};
use crate::core::{Error, Provider};

use super::Vlens;

/// The one event Vlens documents.
pub const BUSINESS_REQUEST_STATUS_CHANGE: &str = "App.BusinessRequestStatusChange";

const NAME: &str = Vlens::DESCRIPTOR.name();

/// The status a business request moved to (`Data.NewStatus`). Vlens sends names here and
/// numbers in the API (`requeststatus`); [`code`](Self::code) maps the documented ones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(into = "String")]
pub enum RequestStatus {
    /// `PendingApproval` (API status 1).
    PendingApproval,
    /// `Approved` (2).
    Approved,
    /// `Rejected` (3).
    Rejected,
    /// `CustomerSigned` (4).
    CustomerSigned,
    /// A status the docs do not name, kept as sent.
    Other(String),
}

impl RequestStatus {
    /// The status for a `NewStatus` text (exact documented spelling; anything else is
    /// [`RequestStatus::Other`]).
    pub fn from_name(name: &str) -> Self {
        match name {
            "PendingApproval" => Self::PendingApproval,
            "Approved" => Self::Approved,
            "Rejected" => Self::Rejected,
            "CustomerSigned" => Self::CustomerSigned,
            other => Self::Other(other.to_string()),
        }
    }

    /// The status for an API `requeststatus` number, when the docs name it.
    pub fn from_code(code: i64) -> Option<Self> {
        Some(match code {
            1 => Self::PendingApproval,
            2 => Self::Approved,
            3 => Self::Rejected,
            4 => Self::CustomerSigned,
            _ => return None,
        })
    }

    /// The API's `requeststatus` number for a documented status.
    pub fn code(&self) -> Option<i64> {
        Some(match self {
            Self::PendingApproval => 1,
            Self::Approved => 2,
            Self::Rejected => 3,
            Self::CustomerSigned => 4,
            Self::Other(_) => return None,
        })
    }

    /// The name as Vlens sends it in webhooks.
    pub fn as_str(&self) -> &str {
        match self {
            Self::PendingApproval => "PendingApproval",
            Self::Approved => "Approved",
            Self::Rejected => "Rejected",
            Self::CustomerSigned => "CustomerSigned",
            Self::Other(s) => s,
        }
    }
}

impl From<RequestStatus> for String {
    fn from(s: RequestStatus) -> Self {
        s.as_str().to_string()
    }
}

/// `App.BusinessRequestStatusChange`'s `Data`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusChange {
    /// The business request (`Data.Id`); read it with
    /// [`VlensClient::business_request`](super::VlensClient::business_request).
    pub request_id: String,
    /// What the body claims the request's status is now (`Data.NewStatus`).
    pub new_status: RequestStatus,
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum VlensEventKind {
    /// `App.BusinessRequestStatusChange`.
    BusinessRequestStatusChange(StatusChange),
    /// An event the docs do not list: its name and `Data` as sent.
    Other {
        /// `WebhookEvent`.
        event: String,
        /// `Data`, raw (null when absent).
        data: Value,
    },
}

/// A parsed Vlens webhook. Members not listed here stay in [`raw`](Self::raw).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VlensEvent {
    id: String,
    event: String,
    attempt: Option<u64>,
    created_at: Option<String>,
    kind: VlensEventKind,
    #[serde(skip)]
    raw: Value,
}

impl VlensEvent {
    /// The delivery's `Id` (the same on every attempt of one event).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// `WebhookEvent`, as sent.
    pub fn event_name(&self) -> &str {
        &self.event
    }

    /// `Attempt` (1 for the first delivery), when sent.
    pub fn attempt(&self) -> Option<u64> {
        self.attempt
    }

    /// `CreationTimeUtc`, as sent.
    pub fn created_at(&self) -> Option<&str> {
        self.created_at.as_deref()
    }

    /// The typed event.
    pub fn kind(&self) -> &VlensEventKind {
        &self.kind
    }

    /// The whole body, as sent.
    pub fn raw(&self) -> &Value {
        &self.raw
    }

    /// The idempotency key: `vlens:<Id>`.
    pub fn dedupe_key(&self) -> String {
        format!("{NAME}:{}", self.id)
    }
}

/// Parses a webhook body (at most [`DEFAULT_MAX_EVENT_BYTES`]); `headers` are the request's
/// (its `Content-Length` and `Content-Type` are checked before the body is parsed). For another
/// size limit: [`inbound::parse_event`].
pub fn parse(headers: &http::HeaderMap, body: &[u8]) -> Result<VlensEvent, Error> {
    inbound::parse_event(headers, body, DEFAULT_MAX_EVENT_BYTES)
}

impl inbound::InboundEvent for VlensEvent {
    const PROVIDER: &'static str = NAME;

    fn from_object(map: serde_json::Map<String, Value>) -> Result<Self, String> {
        let id = required_str(&map, "", "Id")?;
        let event = required_str(&map, "", "WebhookEvent")?;
        let attempt = match map.get("Attempt") {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) if n.as_u64().is_some() => n.as_u64(),
            Some(v) => return Err(format!("`Attempt` is a {}, not a count", json_type(v))),
        };
        let created_at = optional_str(&map, "", "CreationTimeUtc")?;
        let kind = match event.as_str() {
            BUSINESS_REQUEST_STATUS_CHANGE => {
                let data = required_object(&map, "", "Data")?;
                VlensEventKind::BusinessRequestStatusChange(StatusChange {
                    request_id: required_str(data, "Data.", "Id")?,
                    new_status: RequestStatus::from_name(&required_str(
                        data,
                        "Data.",
                        "NewStatus",
                    )?),
                })
            }
            _ => VlensEventKind::Other {
                event: event.clone(),
                data: map.get("Data").cloned().unwrap_or(Value::Null),
            },
        };
        Ok(VlensEvent { id, event, attempt, created_at, kind, raw: Value::Object(map) })
    }
}

/// The status a business request has now, read from the API, in the webhook's form: a
/// documented number as its webhook name, otherwise the API's `requestStatusName` without
/// spaces (`"Customer Signed"` → `CustomerSigned`), otherwise the number.
pub(super) fn current_status(request: &super::raw::types::BusinessRequest) -> String {
    let code = match &request.requeststatus {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.trim().parse::<i64>().ok(),
        _ => None,
    };
    if let Some(s) = code.and_then(RequestStatus::from_code) {
        return s.as_str().to_string();
    }
    match (&request.request_status_name, code) {
        (Some(name), _) if !name.trim().is_empty() => name.split_whitespace().collect(),
        (_, Some(c)) => c.to_string(),
        _ => "unknown".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_and_mistyped_members_are_named() {
        let h = http::HeaderMap::new();
        let cases: &[(&str, &str)] = &[
            (r#"{"WebhookEvent":"x"}"#, "`Id` is missing"),
            (r#"{"Id":7,"WebhookEvent":"x"}"#, "`Id` is a number"),
            (r#"{"Id":"a"}"#, "`WebhookEvent` is missing"),
            (r#"{"Id":"a","WebhookEvent":"App.BusinessRequestStatusChange"}"#, "`Data` is missing"),
            (
                r#"{"Id":"a","WebhookEvent":"App.BusinessRequestStatusChange","Data":{"Id":"r"}}"#,
                "`Data.NewStatus` is missing",
            ),
            (r#"{"Id":"a","WebhookEvent":"x","Attempt":-1}"#, "`Attempt` is a number"),
            (r#"[1]"#, "a JSON array, not an object"),
            (r#"{"Id":"#, "not JSON"),
        ];
        for (body, want) in cases {
            let e = parse(&h, body.as_bytes()).unwrap_err();
            assert_eq!(e.kind(), crate::ErrorKind::InvalidEvent);
            assert!(e.to_string().contains(want), "{body}: {e}");
            assert_eq!(e.provider(), Some("vlens"));
        }
    }

    #[test]
    fn unknown_events_and_statuses_are_kept_raw() {
        let h = http::HeaderMap::new();
        let e = parse(&h, br#"{"Id":"a","WebhookEvent":"App.New","Data":{"k":[1]},"Extra":true}"#)
            .unwrap();
        assert_eq!(
            e.kind(),
            &VlensEventKind::Other { event: "App.New".into(), data: serde_json::json!({"k": [1]}) }
        );
        assert_eq!(e.raw()["Extra"], true);
        let e = parse(
            &h,
            br#"{"Id":"a","WebhookEvent":"App.BusinessRequestStatusChange","Data":{"Id":"r","NewStatus":"Archived"}}"#,
        )
        .unwrap();
        let VlensEventKind::BusinessRequestStatusChange(c) = e.kind() else { panic!() };
        assert_eq!(c.new_status, RequestStatus::Other("Archived".into()));
    }

    #[test]
    fn the_api_status_reads_as_the_webhook_names_it() {
        let mut r = super::super::raw::types::BusinessRequest {
            requeststatus: Some(serde_json::json!(4)),
            ..Default::default()
        };
        assert_eq!(current_status(&r), "CustomerSigned");
        r.requeststatus = Some(serde_json::json!("2"));
        assert_eq!(current_status(&r), "Approved");
        r.requeststatus = Some(serde_json::json!(7));
        r.request_status_name = Some("Counter Signed".into());
        assert_eq!(current_status(&r), "CounterSigned");
        r.request_status_name = None;
        assert_eq!(current_status(&r), "7");
    }
}
