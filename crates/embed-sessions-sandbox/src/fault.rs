//! Faults: what the sandbox does instead of (or before) answering, per provider.
//!
//! The same text syntax is used by the `X-Sandbox-Fault` request header (that request only),
//! `POST /_sandbox/faults` and [`Fault::parse`]: a comma-separated list of
//!
//! | item | effect |
//! |---|---|
//! | `latency=250ms`, `latency=2s` | wait that long, then go on (combines with one of the others) |
//! | `500` ... `599`, `status=503` | that 5xx with the provider's JSON error shape |
//! | `html-502` | a proxy's HTML 502 page (`text/html`) |
//! | `429`, `429;retry-after=3` | 429 in the provider's error shape, without / with `Retry-After` |
//! | `reset` | status line, headers and part of the body, then a TCP reset |
//! | `never-ending-body` | headers announcing a body, half of it, then silence (connection kept open) |
//! | `silence` | the request is read (and recorded), no status line ever follows (connection kept open) |
//! | `unsigned` | bunq only: the normal answer without `X-Bunq-Server-Signature` |
//! | `bad-signature` | bunq only: the normal answer signed over other bytes |

use std::fmt;
use std::time::Duration;

use serde::Serialize;

/// The provider a fault applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    /// `/vlens/...` (the API, not the iframe app).
    Vlens,
    /// `/vrplatform/...`.
    Vrplatform,
    /// `/bunq/v1/...`.
    Bunq,
    /// Every provider.
    Any,
}

impl Target {
    /// `vlens`, `vrplatform`, `bunq`, `any` (or `all`).
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "vlens" => Some(Self::Vlens),
            "vrplatform" => Some(Self::Vrplatform),
            "bunq" => Some(Self::Bunq),
            "any" | "all" | "*" => Some(Self::Any),
            _ => None,
        }
    }

    pub(crate) fn matches(self, provider: Target) -> bool {
        self == Self::Any || self == provider
    }
}

/// What replaces the normal answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Action {
    /// A 5xx (500..=599) with the provider's JSON error shape.
    Status {
        /// The status code.
        status: u16,
    },
    /// A proxy's HTML 502 page.
    Html502,
    /// 429 in the provider's error shape; `Retry-After: <seconds>` when set.
    TooManyRequests {
        /// The `Retry-After` value in seconds, if any.
        retry_after: Option<u32>,
    },
    /// Headers and part of a body, then a TCP reset.
    Reset,
    /// Headers announcing a body, half of it, then nothing (the connection stays open).
    NeverEndingBody,
    /// The request is read and recorded (status 0), then nothing is ever sent: no status line,
    /// no headers (the connection stays open until the client or the sandbox closes it).
    Silence,
    /// bunq only: the normal answer, without `X-Bunq-Server-Signature`.
    Unsigned,
    /// bunq only: the normal answer with a signature over other bytes.
    BadSignature,
}

/// A fault: optional added latency, then optionally an [`Action`] instead of the answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Fault {
    /// Waited before answering.
    #[serde(rename = "latencyMs", serialize_with = "as_millis")]
    pub latency: Duration,
    /// What replaces the answer (`None`: the normal answer, after the latency).
    pub action: Option<Action>,
}

fn as_millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The longest latency a fault may add.
pub const MAX_LATENCY: Duration = Duration::from_secs(600);

impl Fault {
    /// Added latency only.
    pub fn latency(latency: Duration) -> Self {
        Self { latency, action: None }
    }

    /// An action with no added latency.
    pub fn action(action: Action) -> Self {
        Self { latency: Duration::ZERO, action: Some(action) }
    }

    /// Parses the text syntax (see the module docs), e.g. `latency=200ms, 429;retry-after=2`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut fault = Fault::default();
        let mut any = false;
        for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            any = true;
            let lower = item.to_ascii_lowercase();
            if let Some(v) = lower.strip_prefix("latency=") {
                fault.latency = parse_duration(v)?;
                continue;
            }
            let action = match lower.as_str() {
                "html-502" | "html502" => Action::Html502,
                "reset" | "connection-reset" => Action::Reset,
                "never-ending-body" | "stall" => Action::NeverEndingBody,
                "silence" | "never-answer" => Action::Silence,
                "unsigned" => Action::Unsigned,
                "bad-signature" => Action::BadSignature,
                "429" => Action::TooManyRequests { retry_after: None },
                other => {
                    if let Some(v) = other.strip_prefix("429;retry-after=") {
                        let secs = v.trim().parse::<u32>().map_err(|_| {
                            format!("`{item}`: retry-after must be a whole number of seconds")
                        })?;
                        Action::TooManyRequests { retry_after: Some(secs) }
                    } else {
                        let code = other.strip_prefix("status=").unwrap_or(other);
                        match code.parse::<u16>() {
                            Ok(s) if (500..=599).contains(&s) => Action::Status { status: s },
                            _ => return Err(format!("`{item}` is not a fault ({})", SYNTAX)),
                        }
                    }
                }
            };
            if fault.action.is_some() {
                return Err(format!("`{text}`: at most one fault besides latency"));
            }
            fault.action = Some(action);
        }
        if !any {
            return Err(format!("empty fault ({SYNTAX})"));
        }
        Ok(fault)
    }
}

/// The syntax, for error messages.
pub const SYNTAX: &str = "expected latency=<N>ms|<N>s, 500..599, html-502, 429, \
                          429;retry-after=<S>, reset, never-ending-body, silence, unsigned \
                          or bad-signature";

fn parse_duration(v: &str) -> Result<Duration, String> {
    let v = v.trim();
    let (num, scale) = if let Some(n) = v.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = v.strip_suffix('s') {
        (n, 1.0)
    } else {
        (v, 0.001)
    };
    let n: f64 = num.trim().parse().map_err(|_| format!("latency `{v}` is not a duration"))?;
    let secs = n * scale;
    if !secs.is_finite() || secs < 0.0 || secs > MAX_LATENCY.as_secs_f64() {
        return Err(format!("latency `{v}` must be between 0 and 600 s"));
    }
    Ok(Duration::from_secs_f64(secs))
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if !self.latency.is_zero() {
            parts.push(format!("latency={}ms", self.latency.as_millis()));
        }
        match self.action {
            Some(Action::Status { status }) => parts.push(status.to_string()),
            Some(Action::Html502) => parts.push("html-502".into()),
            Some(Action::TooManyRequests { retry_after: None }) => parts.push("429".into()),
            Some(Action::TooManyRequests { retry_after: Some(s) }) => {
                parts.push(format!("429;retry-after={s}"))
            }
            Some(Action::Reset) => parts.push("reset".into()),
            Some(Action::NeverEndingBody) => parts.push("never-ending-body".into()),
            Some(Action::Silence) => parts.push("silence".into()),
            Some(Action::Unsigned) => parts.push("unsigned".into()),
            Some(Action::BadSignature) => parts.push("bad-signature".into()),
            None => {}
        }
        if parts.is_empty() {
            parts.push("latency=0ms".into());
        }
        f.write_str(&parts.join(", "))
    }
}

/// A fault switched on for a provider, for `times` requests (`None`: until cleared).
#[derive(Debug, Clone, Serialize)]
pub struct ActiveFault {
    /// Its id (for `DELETE /_sandbox/faults/{id}`).
    pub id: u64,
    /// Which provider's requests it applies to.
    pub provider: Target,
    /// What it does.
    pub fault: Fault,
    /// Only requests whose path (after the provider prefix) starts with this.
    #[serde(rename = "pathPrefix")]
    pub path_prefix: Option<String>,
    /// Requests left (`None`: until cleared).
    pub remaining: Option<u32>,
}

/// The faults switched on, in order.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    next_id: u64,
    active: Vec<ActiveFault>,
}

impl Faults {
    pub fn add(
        &mut self,
        provider: Target,
        fault: Fault,
        path_prefix: Option<String>,
        times: Option<u32>,
    ) -> u64 {
        self.next_id += 1;
        self.active.push(ActiveFault {
            id: self.next_id,
            provider,
            fault,
            path_prefix,
            remaining: times,
        });
        self.next_id
    }

    pub fn clear(&mut self) {
        self.active.clear();
    }

    pub fn remove(&mut self, id: u64) -> bool {
        let before = self.active.len();
        self.active.retain(|f| f.id != id);
        before != self.active.len()
    }

    pub fn list(&self) -> Vec<ActiveFault> {
        self.active.clone()
    }

    /// The combined fault for one request (latencies add up, the first action wins), using up
    /// one of each matching fault's `times`.
    pub fn take(&mut self, provider: Target, path: &str) -> Option<Fault> {
        let mut out: Option<Fault> = None;
        for f in &mut self.active {
            let applies = f.provider.matches(provider)
                && f.path_prefix.as_deref().is_none_or(|p| path.starts_with(p))
                && f.remaining != Some(0);
            if !applies {
                continue;
            }
            if let Some(n) = f.remaining.as_mut() {
                *n -= 1;
            }
            let acc = out.get_or_insert_with(Fault::default);
            acc.latency = (acc.latency + f.fault.latency).min(MAX_LATENCY);
            if acc.action.is_none() {
                acc.action = f.fault.action;
            }
        }
        self.active.retain(|f| f.remaining != Some(0));
        out
    }
}

/// A whole answer chosen by a test instead of the provider's: any status, headers and body
/// bytes (a redirect, a 429 with an HTTP-date `Retry-After`, a malformed or huge body, an HTML
/// page). See [`crate::Sandbox::respond`]. It is sent as given: not signed, not validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Canned {
    /// The status code.
    pub status: u16,
    /// Headers, in order (`content-type` included when wanted).
    pub headers: Vec<(String, String)>,
    /// The body bytes.
    pub body: Vec<u8>,
}

impl Canned {
    /// A response with a content type and body.
    pub fn raw(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        Self {
            status,
            headers: vec![("content-type".into(), content_type.into())],
            body: body.into(),
        }
    }

    /// A JSON response.
    pub fn json(status: u16, body: &serde_json::Value) -> Self {
        Self::raw(status, "application/json", body.to_string().into_bytes())
    }

    /// An HTML error page as a proxy sends it, for any status.
    pub fn html(status: u16) -> Self {
        Self::raw(
            status,
            "text/html",
            format!("<html><body><h1>{status} Bad Gateway</h1><p>upstream down</p></body></html>"),
        )
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

struct CannedEntry {
    provider: Target,
    path_prefix: Option<String>,
    response: Canned,
    remaining: Option<u32>,
}

/// Canned responses, in order: the first that applies answers (and uses up one of its times).
#[derive(Default)]
pub(crate) struct CannedResponses {
    active: Vec<CannedEntry>,
}

impl fmt::Debug for CannedResponses {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CannedResponses").field("active", &self.active.len()).finish()
    }
}

impl CannedResponses {
    pub fn add(
        &mut self,
        provider: Target,
        path_prefix: Option<String>,
        response: Canned,
        times: Option<u32>,
    ) {
        self.active.push(CannedEntry { provider, path_prefix, response, remaining: times });
    }

    pub fn clear(&mut self) {
        self.active.clear();
    }

    pub fn take(&mut self, provider: Target, path: &str) -> Option<Canned> {
        let i = self.active.iter().position(|c| {
            c.provider.matches(provider)
                && c.path_prefix.as_deref().is_none_or(|p| path.starts_with(p))
                && c.remaining != Some(0)
        })?;
        let entry = &mut self.active[i];
        let response = entry.response.clone();
        if let Some(n) = entry.remaining.as_mut() {
            *n -= 1;
            if *n == 0 {
                self.active.remove(i);
            }
        }
        Some(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_kind() {
        assert_eq!(Fault::parse("latency=250ms").unwrap().latency, Duration::from_millis(250));
        assert_eq!(Fault::parse("latency=2s").unwrap().latency, Duration::from_secs(2));
        assert_eq!(Fault::parse("503").unwrap().action, Some(Action::Status { status: 503 }));
        assert_eq!(Fault::parse("html-502").unwrap().action, Some(Action::Html502));
        assert_eq!(
            Fault::parse("429;retry-after=3").unwrap().action,
            Some(Action::TooManyRequests { retry_after: Some(3) })
        );
        let f = Fault::parse("latency=10ms, reset").unwrap();
        assert_eq!((f.latency, f.action), (Duration::from_millis(10), Some(Action::Reset)));
        assert_eq!(
            Fault::parse("never-ending-body").unwrap().action,
            Some(Action::NeverEndingBody)
        );
        for bad in ["", "404", "teapot", "latency=-1s", "latency=1h", "503, 429"] {
            assert!(Fault::parse(bad).is_err(), "{bad}");
        }
        for text in [
            "latency=250ms",
            "503",
            "html-502",
            "429",
            "429;retry-after=3",
            "reset",
            "silence",
            "unsigned",
            "bad-signature",
        ] {
            assert_eq!(Fault::parse(text).unwrap().to_string(), text);
        }
    }

    #[test]
    fn canned_responses_are_taken_in_order_and_used_up() {
        let mut canned = CannedResponses::default();
        canned.add(Target::Vlens, None, Canned::html(503), Some(1));
        canned.add(Target::Vlens, Some("/api".into()), Canned::raw(429, "text/plain", ""), None);
        assert!(canned.take(Target::Bunq, "/api/x").is_none());
        assert_eq!(canned.take(Target::Vlens, "/api/x").unwrap().status, 503);
        assert!(canned.take(Target::Vlens, "/other").is_none());
        for _ in 0..3 {
            assert_eq!(canned.take(Target::Vlens, "/api/x").unwrap().status, 429);
        }
        canned.clear();
        assert!(canned.take(Target::Vlens, "/api/x").is_none());
    }

    #[test]
    fn times_are_used_up_and_latencies_add() {
        let mut faults = Faults::default();
        faults.add(Target::Bunq, Fault::parse("503").unwrap(), None, Some(1));
        faults.add(Target::Any, Fault::latency(Duration::from_millis(5)), None, None);
        let f = faults.take(Target::Bunq, "/installation").unwrap();
        assert_eq!(f.action, Some(Action::Status { status: 503 }));
        let f = faults.take(Target::Bunq, "/installation").unwrap();
        assert_eq!((f.action, f.latency), (None, Duration::from_millis(5)));
        faults.clear();
        assert!(faults.take(Target::Vlens, "/x").is_none());
    }
}
