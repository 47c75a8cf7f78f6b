//! VRPlatform: `POST /auth/embed/session` with its nine documented failures (reachable by the
//! sandbox inputs of [`crate::INPUTS`]), 15-minute bearer tokens on the sandbox clock, and
//! `GET /teams/{id}` that accepts the provider key or a token issued for that very tenant.
//!
//! Sources: the failure table (status and `message`, verbatim) and the 15-minute lifetime are
//! from <https://docs.vrplatform.app/providers/session-backend> (also on
//! <https://docs.vrplatform.app/providers/troubleshooting>), as recorded in
//! `specs/vrplatform.yaml`; the `{code, message}` / `{code, message, issues, context}` error
//! shapes from <https://docs.vrplatform.app/providers/product/auth/post-auth-embed-session>.
//! The `code` values and the messages of `GET /teams/{id}` failures are not documented: they
//! are the sandbox's own.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::Shared;
use crate::server::{Reply, Req};

/// A `tenantId` that does not exist (404 "Tenant not found").
pub const TENANT_NOT_FOUND: &str = "00000000-0000-4000-8000-000000000404";
/// A `tenantId` the provider key may not access (401 "Provider API key is not allowed for
/// tenant").
pub const TENANT_FORBIDDEN: &str = "00000000-0000-4000-8000-000000000403";

/// Token lifetime (the documented 15 minutes).
const LIFETIME_MINUTES: i64 = 15;

#[derive(Debug, Clone)]
struct Token {
    tenant: Uuid,
    expires: DateTime<Utc>,
}

/// VRPlatform state.
#[derive(Debug, Default)]
pub(crate) struct State {
    /// `sub` -> VRPlatform user id (users created so far).
    users: HashMap<String, Uuid>,
    tokens: HashMap<String, Token>,
}

/// VRPlatform's error code for a status (codes are undocumented; these are the sandbox's).
pub(crate) fn code_for(status: u16) -> &'static str {
    match status {
        400 => "BAD_REQUEST",
        401 => "UNAUTHORIZED",
        403 => "FORBIDDEN",
        404 => "NOT_FOUND",
        405 => "METHOD_NOT_SUPPORTED",
        429 => "TOO_MANY_REQUESTS",
        _ => "INTERNAL_SERVER_ERROR",
    }
}

/// `{code, message}`, the shape of `/auth/embed/session` errors.
pub(crate) fn error(status: u16, code: &str, message: &str) -> Reply {
    Reply::json(status, &json!({"code": code, "message": message}))
}

/// `{code, message, issues, context}`, the shape of the other routes.
fn long_error(status: u16, message: &str, issues: Vec<String>) -> Reply {
    let issues: Vec<Value> = issues.into_iter().map(|m| json!({"message": m})).collect();
    Reply::json(
        status,
        &json!({"code": code_for(status), "message": message, "issues": issues, "context": null}),
    )
}

fn unauthorized(message: &str) -> Reply {
    error(401, "UNAUTHORIZED", message)
}

/// The four key checks, in the documented order.
fn check_key(key: Option<&str>) -> Result<(), &'static str> {
    match key.map(str::trim) {
        None | Some("") => Err("Missing provider api key"),
        Some(k) if k.starts_with("invalid_") => Err("Invalid provider API key, not found"),
        Some(k) if k.starts_with("inactive_") => Err("Provider API key is inactive"),
        Some(k) if k.starts_with("expired_") => Err("Provider API key expired"),
        Some(_) => Ok(()),
    }
}

/// Handles `/vrplatform/...`.
pub(crate) fn handle(shared: &Shared, req: &Req) -> Reply {
    let mut state = shared.lock();
    for name in ["x-api-key", "authorization"] {
        if let Some(v) = req.header(name) {
            state.recorder.secret(v);
            state.recorder.secret(v.trim_start_matches("Bearer ").trim());
        }
    }
    if req.path == "/auth/embed/session" {
        if req.method != "POST" {
            return error(405, "METHOD_NOT_SUPPORTED", "Use POST /auth/embed/session");
        }
        return embed_session(shared, &mut state, req);
    }
    if let Some(id) = req.path.strip_prefix("/teams/")
        && !id.contains('/')
    {
        if req.method != "GET" {
            return long_error(405, "Use GET /teams/{id}", vec![]);
        }
        return team(&mut state, req, id);
    }
    long_error(404, &format!("No route for {} {}", req.method, req.path), vec![])
}

fn embed_session(shared: &Shared, state: &mut crate::State, req: &Req) -> Reply {
    if let Err(message) = check_key(req.header("x-api-key")) {
        return unauthorized(message);
    }
    let auto_provision = match req.query("autoProvision") {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => {
            return long_error(
                400,
                "Invalid query",
                vec!["query `autoProvision`: must be true or false".into()],
            );
        }
    };
    if let Some(ct) = req.header("content-type")
        && !ct.to_ascii_lowercase().starts_with("application/json")
    {
        return long_error(
            400,
            "Invalid body",
            vec!["Content-Type must be application/json".into()],
        );
    }
    let body = match shared.specs.vrplatform.body("POST", "/auth/embed/session", req.body) {
        Ok(Some(b)) => b,
        Ok(None) => return long_error(400, "Invalid body", vec!["request body: required".into()]),
        Err(p) => return long_error(400, "Invalid body", vec![p.describe()]),
    };
    let sub = body["sub"].as_str().unwrap_or_default().to_string();
    let tenant_text = body["tenantId"].as_str().unwrap_or_default();
    let Ok(tenant) = Uuid::parse_str(tenant_text) else {
        return long_error(400, "Invalid body", vec!["field `tenantId`: not a UUID".into()]);
    };
    if tenant_text == TENANT_NOT_FOUND {
        return error(404, "NOT_FOUND", "Tenant not found");
    }
    if tenant_text == TENANT_FORBIDDEN {
        return unauthorized("Provider API key is not allowed for tenant");
    }
    let known = state.vrplatform.users.get(&sub).copied();
    let user_id = match known {
        Some(id) => id,
        None if sub.starts_with("unknown_") && !auto_provision => {
            return unauthorized("Unknown embedded user");
        }
        None => {
            let id = Uuid::new_v4();
            state.vrplatform.users.insert(sub.clone(), id);
            id
        }
    };
    if sub.starts_with("inactive_") {
        return unauthorized("Embedded user is not active");
    }
    if sub.starts_with("outsider_") {
        return unauthorized("Embedded user is not allowed to access tenant");
    }
    let now = state.now();
    let expires = now + Duration::minutes(LIFETIME_MINUTES);
    let token = format!("vrp_embed_{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..));
    state.recorder.secret(&token);
    state.vrplatform.tokens.insert(token.clone(), Token { tenant, expires });
    Reply::json(
        200,
        &json!({
            "accessToken": token,
            "expiresAt": expires.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "tenantId": tenant_text,
            "userId": user_id.to_string(),
        }),
    )
}

fn team(state: &mut crate::State, req: &Req, id: &str) -> Reply {
    let Ok(tenant) = Uuid::parse_str(id) else {
        return long_error(400, "Invalid path", vec![format!("path `id`: `{id}` is not a UUID")]);
    };
    let key = req.header("x-api-key");
    let auth = req.header("authorization");
    match (key, auth) {
        (Some(_), Some(_)) => {
            return long_error(400, "Send either x-api-key or Authorization, not both", vec![]);
        }
        (None, None) => return long_error(401, "Missing credentials", vec![]),
        (Some(k), None) => {
            if let Err(message) = check_key(Some(k)) {
                return long_error(401, message, vec![]);
            }
            if id == TENANT_NOT_FOUND || id == TENANT_FORBIDDEN {
                return long_error(404, "Team not found", vec![]);
            }
        }
        (None, Some(a)) => {
            let Some(token) = a.strip_prefix("Bearer ").map(str::trim) else {
                return long_error(401, "Authorization must be `Bearer <accessToken>`", vec![]);
            };
            let now = state.now();
            match state.vrplatform.tokens.get(token) {
                None => return long_error(401, "Invalid access token", vec![]),
                Some(t) if t.expires <= now => {
                    return long_error(401, "Access token expired", vec![]);
                }
                // A token opens its own tenant only.
                Some(t) if t.tenant != tenant => {
                    return long_error(404, "Team not found", vec![]);
                }
                Some(_) => {}
            }
        }
    }
    Reply::json(200, &team_json(id))
}

fn team_json(id: &str) -> Value {
    let address = json!({"full": "1 Beach Road, Miami, FL 33139, US", "line1": "1 Beach Road",
                         "line2": null, "city": "Miami", "state": "Florida",
                         "postalCode": "33139", "stateCode": "FL", "countryCode": "US"});
    json!({
        "id": id, "name": "Sandbox Property Management", "companyName": "Sandbox PM LLC",
        "phone": "+13055550100", "email": "owner@sandbox.example", "taxId": null, "logo": null,
        "defaultCurrency": "USD", "longTermStayNights": 28, "defaultRevenueRecognition": "checkIn",
        "statementAddress": address.clone(), "billingAddress": address,
        "partner": {"id": "11111111-1111-4111-8111-111111111111", "name": "Sandbox Partner"},
        "billingPartner": null, "type": "propertyManager", "status": "active",
        "billingSubscriptionStatus": "active", "billingPlan": "sandbox",
        "createdAt": "2026-01-01T00:00:00.000Z", "updatedAt": "2026-01-01T00:00:00.000Z",
        "trialUntil": null, "cancelledAt": null, "isOnboarding": false, "isGeneralLedger": true,
        "booksClosedAt": null, "extractableConnections": [],
        "issues": [{"code": "unassignedAccount", "severity": "error",
                    "context": {"accountIds": ["22222222-2222-4222-8222-222222222222"]}}]
    })
}
