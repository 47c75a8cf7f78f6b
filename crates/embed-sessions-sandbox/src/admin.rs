//! `/_sandbox/...`: what a test or a script uses to steer the sandbox over HTTP.
//!
//! | Call | What |
//! |---|---|
//! | `GET /_sandbox/info` | the URLs, the sandbox inputs, the fault syntax |
//! | `GET /_sandbox/requests[?after=ID]` | the last requests (redacted), oldest first |
//! | `DELETE /_sandbox/requests` | forget them |
//! | `GET /_sandbox/faults` | the faults switched on |
//! | `POST /_sandbox/faults` | `{"provider": "bunq", "fault": "429;retry-after=2", "times": 1, "pathPrefix": "/session-server"}` (`times`, `pathPrefix` optional) |
//! | `DELETE /_sandbox/faults[/ID]` | switch all (or one) off |
//! | `POST /_sandbox/clock` | `{"advanceSeconds": 900}`: move sandbox time forward |
//! | `POST /_sandbox/bunq` | `{"sessionIntervalSeconds": 0, "provisionReads": 1}` |
//! | `POST /_sandbox/vlens/business-requests` | `{"id": "<uuid>", "status": 2, "name": "Approved"}` (`name` optional for 1-4): what `GetBusinessRequestById` answers |
//! | `POST /_sandbox/bunq/objects` | `{"userId": 1001, "monetaryAccountId": 7, "kind": "Payment", "object": {"id": 42, ...}}`: what the object reads answer |

use std::time::Duration;

use serde_json::{Value, json};

use crate::fault::{Fault, SYNTAX, Target};
use crate::server::{Reply, decode};
use crate::{INPUTS, Shared};

fn bad(message: &str) -> Reply {
    Reply::json(400, &json!({"error": message}))
}

fn body(raw: &[u8]) -> Result<Value, Reply> {
    serde_json::from_slice(raw).map_err(|e| bad(&format!("the body is not JSON: {e}")))
}

/// Handles `/_sandbox/...` (`rest` is the path after `/_sandbox`).
pub(crate) fn handle(
    shared: &Shared,
    method: &str,
    rest: &str,
    query: Option<&str>,
    raw: &[u8],
) -> Reply {
    match (method, rest) {
        ("GET", "/info" | "" | "/") => {
            Reply::json(200, &json!({"urls": shared.urls, "inputs": INPUTS, "faultSyntax": SYNTAX}))
        }
        ("GET", "/requests") => {
            let after = query
                .unwrap_or_default()
                .split('&')
                .find_map(|p| p.strip_prefix("after="))
                .map(decode)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0);
            let requests = shared.lock().recorder.list(after);
            Reply::json(200, &json!({"requests": requests}))
        }
        ("DELETE", "/requests") => {
            shared.lock().recorder.clear();
            Reply::json(200, &json!({"cleared": true}))
        }
        ("GET", "/faults") => Reply::json(200, &json!({"faults": shared.lock().faults.list()})),
        ("POST", "/faults") => add_fault(shared, raw).unwrap_or_else(|r| r),
        ("DELETE", "/faults") => {
            shared.lock().faults.clear();
            Reply::json(200, &json!({"cleared": true}))
        }
        ("DELETE", r) if r.starts_with("/faults/") => match r["/faults/".len()..].parse::<u64>() {
            Ok(id) if shared.lock().faults.remove(id) => Reply::json(200, &json!({"removed": id})),
            _ => {
                Reply::json(404, &json!({"error": format!("no fault {}", &r["/faults/".len()..])}))
            }
        },
        ("POST", "/clock") => advance_clock(shared, raw).unwrap_or_else(|r| r),
        ("POST", "/bunq") => set_bunq(shared, raw).unwrap_or_else(|r| r),
        ("POST", "/vlens/business-requests") => set_request(shared, raw).unwrap_or_else(|r| r),
        ("POST", "/bunq/objects") => put_object(shared, raw).unwrap_or_else(|r| r),
        _ => Reply::json(404, &json!({"error": format!("no admin call {method} /_sandbox{rest}")})),
    }
}

/// `POST /_sandbox/faults`.
fn add_fault(shared: &Shared, raw: &[u8]) -> Result<Reply, Reply> {
    let v = body(raw)?;
    let provider = match v["provider"].as_str().map(Target::parse) {
        Some(Some(t)) => t,
        _ => return Err(bad("field `provider`: one of vlens, vrplatform, bunq, any")),
    };
    let fault = match v["fault"].as_str().map(Fault::parse) {
        Some(Ok(f)) => f,
        Some(Err(e)) => return Err(bad(&format!("field `fault`: {e}"))),
        None => return Err(bad(&format!("field `fault`: required ({SYNTAX})"))),
    };
    let times = match &v["times"] {
        Value::Null => None,
        t => match t.as_u64().and_then(|n| u32::try_from(n).ok()) {
            Some(n) if n > 0 => Some(n),
            _ => return Err(bad("field `times`: a positive integer (omit it: until cleared)")),
        },
    };
    let prefix = match &v["pathPrefix"] {
        Value::Null => None,
        Value::String(s) if s.starts_with('/') => Some(s.clone()),
        _ => return Err(bad("field `pathPrefix`: a path starting with `/`")),
    };
    let id = shared.lock().faults.add(provider, fault, prefix, times);
    Ok(Reply::json(201, &json!({"id": id, "fault": fault.to_string()})))
}

/// `POST /_sandbox/clock`.
fn advance_clock(shared: &Shared, raw: &[u8]) -> Result<Reply, Reply> {
    let v = body(raw)?;
    let Some(secs) =
        v["advanceSeconds"].as_f64().filter(|s| s.is_finite() && *s >= 0.0 && *s <= 3.2e7)
    else {
        return Err(bad("field `advanceSeconds`: a number of seconds between 0 and one year"));
    };
    let mut state = shared.lock();
    state.advance(Duration::from_secs_f64(secs));
    Ok(Reply::json(200, &json!({"now": state.now().to_rfc3339()})))
}

/// `POST /_sandbox/bunq`.
fn set_bunq(shared: &Shared, raw: &[u8]) -> Result<Reply, Reply> {
    let v = body(raw)?;
    let mut state = shared.lock();
    if !v["sessionIntervalSeconds"].is_null() {
        match v["sessionIntervalSeconds"]
            .as_f64()
            .filter(|s| s.is_finite() && *s >= 0.0 && *s <= 86_400.0)
        {
            Some(s) => state.bunq.session_interval = Duration::from_secs_f64(s),
            None => return Err(bad("field `sessionIntervalSeconds`: 0 to 86400")),
        }
    }
    if !v["provisionReads"].is_null() {
        match v["provisionReads"].as_u64().and_then(|n| u32::try_from(n).ok()) {
            Some(n) => state.bunq.provision_reads = n,
            None => return Err(bad("field `provisionReads`: a whole number")),
        }
    }
    Ok(Reply::json(
        200,
        &json!({"sessionIntervalSeconds": state.bunq.session_interval.as_secs_f64(),
                "provisionReads": state.bunq.provision_reads}),
    ))
}

/// `POST /_sandbox/vlens/business-requests`.
fn set_request(shared: &Shared, raw: &[u8]) -> Result<Reply, Reply> {
    let v = body(raw)?;
    let (id, status) = (v["id"].as_str().unwrap_or_default(), v["status"].as_i64());
    let Some(status) = status else {
        return Err(bad("field `status`: the `requeststatus` number (1-4 documented)"));
    };
    let name = shared.lock().vlens.set_business_request(id, status, v["name"].as_str());
    match name {
        Ok(name) => Ok(Reply::json(200, &json!({"id": id, "status": status, "name": name}))),
        Err(why) => Err(bad(&format!("field {why}"))),
    }
}

/// `POST /_sandbox/bunq/objects`.
fn put_object(shared: &Shared, raw: &[u8]) -> Result<Reply, Reply> {
    let v = body(raw)?;
    let (Some(user), Some(account)) = (v["userId"].as_i64(), v["monetaryAccountId"].as_i64())
    else {
        return Err(bad("fields `userId` and `monetaryAccountId`: integers"));
    };
    let kind = v["kind"].as_str().unwrap_or_default();
    let id = shared.lock().bunq.put_object(user, account, kind, v["object"].clone());
    match id {
        Ok(id) => Ok(Reply::json(201, &json!({"kind": kind, "id": id}))),
        Err(why) => Err(bad(&why)),
    }
}
