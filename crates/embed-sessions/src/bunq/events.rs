//! bunq callbacks (`NotificationUrl`), parsed strictly and confirmed through a signed call.
//!
//! bunq signs its API responses but not its callbacks (<https://doc.bunq.com/basics/callbacks>
//! documents HTTPS targets, production senders in 185.40.108.0/22, certificate pinning, and
//! redelivery 5 times a minute apart). So: check the sender's address
//! ([`production_sources`]), [`parse`] the body, drop redeliveries by
//! [`BunqCallback::dedupe_key`], and act on
//! [`BunqContext::confirm_callback`](super::BunqContext::confirm_callback) (the object re-read
//! through the user's signed context), not on the body.
//!
//! ```
//! use embed_sessions::bunq::events::{self, CallbackObject, Category};
//! let body = br#"{"NotificationUrl":{"target_url":"https://example.com/bunq","category":"PAYMENT","event_type":"PAYMENT_CREATED","object":{"Payment":{"id":42,"monetary_account_id":7,"amount":{"value":"-12.50","currency":"EUR"}}}}}"#;
//! let callback = events::parse(&http::HeaderMap::new(), body)?;
//! assert_eq!(callback.category(), &Category::Payment);
//! assert!(matches!(callback.object(), CallbackObject::Payment(p) if p.id == Some(42)));
//! assert_eq!(callback.dedupe_key(), "bunq:PAYMENT:Payment:42:PAYMENT_CREATED");
//! # Ok::<(), embed_sessions::Error>(())
//! ```
//!
//! A receiver (the README's, compiled here):
//!
//! ```no_run
//! use embed_sessions::bunq::{BunqContext, events::CallbackObject};
//! use embed_sessions::core::inbound::{self, MemoryDedupe};
//! # fn act_on(_: &CallbackObject) {}
//! # async fn receive(user_context: BunqContext, dedupe: MemoryDedupe, peer_ip: std::net::IpAddr,
//! #     headers: http::HeaderMap, body: Vec<u8>) -> Result<(), embed_sessions::Error> {
//! embed_sessions::bunq::events::production_sources().check("bunq", peer_ip)?;
//! let callback = embed_sessions::bunq::events::parse(&headers, &body)?;
//! inbound::once(&dedupe, &callback.dedupe_key(), || async {
//!     let c = user_context.confirm_callback(&callback).await?; // signed read of the object
//!     if c.is_confirmed() {
//!         act_on(c.current())
//!     }
//!     Ok(())
//! })
//! .await?;
//! # Ok(()) }
//! ```

use serde::Serialize;
use serde_json::{Map, Value};

use crate::core::inbound::{
    self, DEFAULT_MAX_EVENT_BYTES, SourceAllowlist, json_type, optional_str, required_object,
    required_str,
};
use crate::core::{Error, Provider};

use super::Bunq;
use super::raw::types;

const NAME: &str = Bunq::DESCRIPTOR.name();
/// The path of the callback's members, for messages.
const AT: &str = "NotificationUrl.";

/// Where bunq's production callbacks come from (<https://doc.bunq.com/basics/callbacks>:
/// "185.40.108.0/22"; "the IP addresses might change", with notice).
pub const PRODUCTION_CALLBACK_SOURCES: &[&str] = &["185.40.108.0/22"];

/// The allowlist of bunq's production callback senders. bunq's sandbox sends from varying
/// cloud addresses with no published range: for the sandbox use
/// [`SourceAllowlist::any`] and rely on the confirmation.
pub fn production_sources() -> SourceAllowlist {
    SourceAllowlist::parse(PRODUCTION_CALLBACK_SOURCES)
        .unwrap_or_else(|_| unreachable!("the published range parses"))
}

macro_rules! categories {
    ($($(#[$doc:meta])* $Variant:ident = $name:literal,)*) => {
        /// A notification filter category (the documented ones; others kept as sent).
        #[derive(Debug, Clone, PartialEq, Eq, Serialize)]
        #[serde(into = "String")]
        #[non_exhaustive]
        pub enum Category {
            $($(#[$doc])* $Variant,)*
            /// A category the docs do not list, as sent.
            Other(String),
        }

        impl Category {
            /// The category for its name as bunq sends it.
            pub fn from_name(name: &str) -> Self {
                match name {
                    $($name => Self::$Variant,)*
                    other => Self::Other(other.to_string()),
                }
            }

            /// The name as bunq sends it.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$Variant => $name,)*
                    Self::Other(s) => s,
                }
            }
        }
    };
}

categories! {
    /// Invoices.
    Billing = "BILLING",
    /// Successful card transactions.
    CardTransactionSuccessful = "CARD_TRANSACTION_SUCCESSFUL",
    /// Failed card transactions.
    CardTransactionFailed = "CARD_TRANSACTION_FAILED",
    /// Chat messages.
    Chat = "CHAT",
    /// Draft payments.
    DraftPayment = "DRAFT_PAYMENT",
    /// iDEAL deposits.
    Ideal = "IDEAL",
    /// SOFORT deposits.
    Sofort = "SOFORT",
    /// Anything that changes a monetary account's balance.
    Mutation = "MUTATION",
    /// Revoked OAuth connections.
    Oauth = "OAUTH",
    /// Payments made or received.
    Payment = "PAYMENT",
    /// Payment requests.
    Request = "REQUEST",
    /// Executed scheduled payments.
    ScheduleResult = "SCHEDULE_RESULT",
    /// Scheduled payment status changes.
    ScheduleStatus = "SCHEDULE_STATUS",
    /// Connects (ShareInviteBankInquiry).
    Share = "SHARE",
    /// Tab payments.
    TabResult = "TAB_RESULT",
    /// bunq.me Tab payments.
    BunqmeTab = "BUNQME_TAB",
    /// Support chat messages.
    Support = "SUPPORT",
    /// Partner user provisioning (partner API).
    PartnerUserProvision = "PARTNER_USER_PROVISION",
}

impl From<Category> for String {
    fn from(c: Category) -> Self {
        c.as_str().to_string()
    }
}

/// The object a callback carries (`NotificationUrl.object`, one member keyed by its type).
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", content = "value")]
#[non_exhaustive]
pub enum CallbackObject {
    /// A payment (PAYMENT, MUTATION).
    Payment(types::Payment),
    /// A card transaction (CARD_TRANSACTION_*, MUTATION).
    MasterCardAction(types::MasterCardAction),
    /// A payment request (REQUEST).
    RequestInquiry(types::RequestInquiry),
    /// Another kind, raw: its key and value as sent.
    Other {
        /// The member's key (`"DraftPayment"`, `"ScheduledInstance"`, ...).
        kind: String,
        /// The member's value.
        value: Value,
    },
}

impl CallbackObject {
    /// The kind, as bunq keys it (`"Payment"`).
    pub fn kind(&self) -> &str {
        match self {
            Self::Payment(_) => "Payment",
            Self::MasterCardAction(_) => "MasterCardAction",
            Self::RequestInquiry(_) => "RequestInquiry",
            Self::Other { kind, .. } => kind,
        }
    }

    /// The object's id, when it has one.
    pub fn id(&self) -> Option<i64> {
        match self {
            Self::Payment(p) => p.id,
            Self::MasterCardAction(m) => m.id,
            Self::RequestInquiry(r) => r.id,
            Self::Other { value, .. } => value.get("id").and_then(Value::as_i64),
        }
    }

    /// The monetary account it belongs to, when it says.
    pub fn monetary_account_id(&self) -> Option<i64> {
        match self {
            Self::Payment(p) => p.monetary_account_id,
            Self::MasterCardAction(m) => m.monetary_account_id,
            Self::RequestInquiry(r) => r.monetary_account_id,
            Self::Other { value, .. } => value.get("monetary_account_id").and_then(Value::as_i64),
        }
    }

    /// What a confirmation compares, as text: amount (and decision or status), account.
    pub(crate) fn summary(&self) -> String {
        fn amount(a: &Option<types::Amount>) -> String {
            match a {
                Some(types::Amount { value: Some(v), currency: Some(c) }) => format!("{v} {c}"),
                Some(types::Amount { value: Some(v), currency: None }) => v.clone(),
                _ => "none".into(),
            }
        }
        let account = self.monetary_account_id().map_or("none".into(), |a| a.to_string());
        match self {
            Self::Payment(p) => format!("amount {}, account {account}", amount(&p.amount)),
            Self::MasterCardAction(m) => format!(
                "amount {}, decision {}, account {account}",
                amount(&m.amount_billing),
                m.decision.as_deref().unwrap_or("none")
            ),
            Self::RequestInquiry(r) => format!(
                "status {}, amount {}, account {account}",
                r.status.as_deref().unwrap_or("none"),
                amount(&r.amount_inquired)
            ),
            Self::Other { value, .. } => value.to_string(),
        }
    }
}

/// A parsed bunq callback. The whole body stays in [`raw`](Self::raw).
#[derive(Debug, Clone, Serialize)]
pub struct BunqCallback {
    category: Category,
    event_type: String,
    target_url: Option<String>,
    object: CallbackObject,
    #[serde(skip)]
    raw: Value,
}

impl BunqCallback {
    /// The notification filter category.
    pub fn category(&self) -> &Category {
        &self.category
    }

    /// `event_type`, as sent (`"PAYMENT_CREATED"`, `"MUTATION_RECEIVED"`, ...).
    pub fn event_type(&self) -> &str {
        &self.event_type
    }

    /// The URL the callback was sent to, when sent.
    pub fn target_url(&self) -> Option<&str> {
        self.target_url.as_deref()
    }

    /// The object it carries (as the body claims it: confirm before acting).
    pub fn object(&self) -> &CallbackObject {
        &self.object
    }

    /// The whole body, as sent.
    pub fn raw(&self) -> &Value {
        &self.raw
    }

    /// The idempotency key: `bunq:<category>:<kind>:<object id>:<event type>` (the same on
    /// each of bunq's redeliveries). An object without an id is keyed by a SHA-256 of its
    /// JSON instead.
    pub fn dedupe_key(&self) -> String {
        let id = match (self.object.id(), &self.object) {
            (Some(id), _) => id.to_string(),
            (None, CallbackObject::Other { value, .. }) => {
                crate::core::digest::sha256_hex(&[&value.to_string()])
            }
            (None, other) => crate::core::digest::sha256_hex(&[&other.summary()]),
        };
        format!("{NAME}:{}:{}:{id}:{}", self.category.as_str(), self.object.kind(), self.event_type)
    }
}

/// Parses a callback body (at most [`DEFAULT_MAX_EVENT_BYTES`]); `headers` are the request's
/// (`Content-Length` and `Content-Type` are checked before the body is parsed). For another size
/// limit: [`inbound::parse_event`].
pub fn parse(headers: &http::HeaderMap, body: &[u8]) -> Result<BunqCallback, Error> {
    inbound::parse_event(headers, body, DEFAULT_MAX_EVENT_BYTES)
}

impl inbound::InboundEvent for BunqCallback {
    const PROVIDER: &'static str = NAME;

    fn from_object(map: Map<String, Value>) -> Result<Self, String> {
        let n = required_object(&map, "", "NotificationUrl")?;
        let category = Category::from_name(&required_str(n, AT, "category")?);
        let event_type = required_str(n, AT, "event_type")?;
        let target_url = optional_str(n, AT, "target_url")?;
        let object = object(n)?;
        Ok(BunqCallback { category, event_type, target_url, object, raw: Value::Object(map) })
    }
}

/// `NotificationUrl.object`: exactly one member, keyed by the object's type.
fn object(n: &Map<String, Value>) -> Result<CallbackObject, String> {
    let o = required_object(n, AT, "object")?;
    let mut members = o.iter();
    let (Some((kind, value)), None) = (members.next(), members.next()) else {
        return Err(format!(
            "`NotificationUrl.object` has {} members; bunq sends one, keyed by the object's type",
            o.len()
        ));
    };
    let at = format!("NotificationUrl.object.{}", crate::core::redact::one_line(kind, 60));
    if !value.is_object() {
        return Err(format!("`{at}` is a {}, not an object", json_type(value)));
    }
    for key in ["id", "monetary_account_id"] {
        match value.get(key) {
            None | Some(Value::Null) => {}
            Some(Value::Number(n)) if n.as_i64().is_some() => {}
            Some(v) => return Err(format!("`{at}.{key}` is a {}, not an integer", json_type(v))),
        }
    }
    fn typed<T: serde::de::DeserializeOwned>(at: &str, value: &Value) -> Result<T, String> {
        // serde's message would quote the offending value (personal data): not kept.
        serde_json::from_value(value.clone())
            .map_err(|_| format!("`{at}` has a member of the wrong type for its kind"))
    }
    Ok(match kind.as_str() {
        "Payment" => CallbackObject::Payment(typed(&at, value)?),
        "MasterCardAction" => CallbackObject::MasterCardAction(typed(&at, value)?),
        "RequestInquiry" => CallbackObject::RequestInquiry(typed(&at, value)?),
        _ => CallbackObject::Other { kind: kind.clone(), value: value.clone() },
    })
}

impl super::BunqContext {
    /// Confirms a callback through the API: reads the object it names (by its id and
    /// monetary account, as this context's user, signed) and compares what the callback
    /// claims (amount, and decision or status) with what the API says now. Act on
    /// [`Confirmation::current`](crate::core::inbound::Confirmation::current), not on the
    /// callback body. Objects other than payments, card transactions and requests cannot be
    /// confirmed here (an invalid input error, nothing sent): read them with
    /// [`call`](Self::call).
    pub async fn confirm_callback(
        &self,
        callback: &BunqCallback,
    ) -> Result<crate::core::inbound::Confirmation<CallbackObject>, Error> {
        let claimed = callback.object();
        let (Some(id), Some(account)) = (claimed.id(), claimed.monetary_account_id()) else {
            return Err(Error::invalid_input(
                "object",
                "the callback's object has no `id` or `monetary_account_id` to read it by",
            ));
        };
        // One signed, repeatable GET by id and account; the answer's one element, re-typed.
        macro_rules! read {
            ($op:ident, $Item:ident :: $Kind:ident) => {{
                let op = super::Operation::idempotent(stringify!($op));
                let out = self
                    .call(op, |c, user| async move {
                        let req = c.$op().user_id(user).monetary_account_id(account);
                        req.item_id(id).send().await
                    })
                    .await?;
                let found = out.into_inner().response.into_iter().next();
                found.map(|types::$Item::$Kind(o)| CallbackObject::$Kind(o))
            }};
        }
        let current = match claimed {
            CallbackObject::Payment(_) => read!(read_payment, PaymentItem::Payment),
            CallbackObject::MasterCardAction(_) => {
                read!(read_master_card_action, MasterCardActionItem::MasterCardAction)
            }
            CallbackObject::RequestInquiry(_) => {
                read!(read_request_inquiry, RequestInquiryItem::RequestInquiry)
            }
            CallbackObject::Other { kind, .. } => {
                return Err(Error::invalid_input(
                    "object",
                    format!(
                        "`{}` objects are not read by this library; read it with \
                         BunqContext::call",
                        crate::core::redact::one_line(kind, 60)
                    ),
                ));
            }
        };
        let current = current.ok_or_else(|| {
            Error::unexpected_response(Some(200), format!("the {} read is empty", claimed.kind()))
        })?;
        if current.id() != Some(id) {
            return Err(Error::unexpected_response(
                Some(200),
                format!("asked for {} {id}, the API answered with another", claimed.kind()),
            ));
        }
        let (claimed, actual) = (claimed.summary(), current.summary());
        Ok(crate::core::inbound::Confirmation::new(current, claimed, actual))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(body: &str) -> Result<BunqCallback, Error> {
        parse(&http::HeaderMap::new(), body.as_bytes())
    }

    #[test]
    fn missing_and_mistyped_members_are_named() {
        let n = |inner: &str| format!(r#"{{"NotificationUrl":{{{inner}}}}}"#);
        let cases = [
            ("{}".to_string(), "`NotificationUrl` is missing"),
            (r#"{"NotificationUrl":[]}"#.into(), "is a array, not an object"),
            (n(r#""event_type":"X","object":{}"#), "`NotificationUrl.category` is missing"),
            (n(r#""category":"PAYMENT","object":{}"#), "`NotificationUrl.event_type` is missing"),
            (n(r#""category":"PAYMENT","event_type":"X""#), "`NotificationUrl.object` is missing"),
            (n(r#""category":"PAYMENT","event_type":"X","object":{}"#), "has 0 members"),
            (
                n(r#""category":"PAYMENT","event_type":"X","object":{"Payment":{"id":"7"}}"#),
                "`NotificationUrl.object.Payment.id` is a string",
            ),
            (
                n(r#""category":"PAYMENT","event_type":"X","object":{"Payment":{"amount":5}}"#),
                "`NotificationUrl.object.Payment` has a member of the wrong type",
            ),
        ];
        for (body, want) in cases {
            let e = parse_str(&body).unwrap_err();
            assert_eq!(e.kind(), crate::ErrorKind::InvalidEvent);
            assert!(e.to_string().contains(want), "{body}: {e}");
        }
    }

    #[test]
    fn unknown_categories_and_kinds_are_kept_raw() {
        let c = parse_str(
            r#"{"NotificationUrl":{"category":"NEW_THING","event_type":"NEW_CREATED","object":{"ScheduledInstance":{"id":9,"x":[1]}}}}"#,
        )
        .unwrap();
        assert_eq!(c.category(), &Category::Other("NEW_THING".into()));
        assert!(
            matches!(c.object(), CallbackObject::Other { kind, .. } if kind == "ScheduledInstance")
        );
        assert_eq!(c.dedupe_key(), "bunq:NEW_THING:ScheduledInstance:9:NEW_CREATED");
        let no_id = parse_str(
            r#"{"NotificationUrl":{"category":"CHAT","event_type":"CHAT_RECEIVED","object":{"ChatMessage":{"text":"hi"}}}}"#,
        )
        .unwrap();
        assert!(no_id.dedupe_key().starts_with("bunq:CHAT:ChatMessage:"), "{}", no_id.dedupe_key());
    }

    #[test]
    fn the_published_range_is_the_default_guard() {
        let g = production_sources();
        assert!(g.allows("185.40.108.10".parse().unwrap()));
        assert!(!g.allows("127.0.0.1".parse().unwrap()));
    }
}
