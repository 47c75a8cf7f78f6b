//! Vlens: `ApiKey` on every call, admin login/refresh with expiring tokens, auth sessions and
//! invitations (remembered for the iframe page), template fields with nested questions; every
//! answer in the `{data, error_code, error_message, error_descriptions}` envelope.
//!
//! Routes are matched case-insensitively (Vlens runs on ASP.NET, whose routing is; the older
//! docs write `/api/Credentials/Login`); JSON field names are not (see `spec`).
//!
//! Sources (<https://docs.vlenseg.com>): /authentication and the login/refresh-token reference
//! pages (headers, body limits, 86400 s / 604800 s lifetimes), /iframe-session (the iframe
//! URL), /errors (the envelope; an `error_code` on a 200 is an error). Vlens publishes no
//! codes or messages for these endpoints' failures: the 401/400 messages here are the
//! sandbox's own (the tenant and login messages follow the ASP.NET Boilerplate defaults that
//! Vlens' `tenancyName`/`userNameOrEmailAddress` fields come from).

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use crate::Shared;
use crate::server::{Reply, Req};

/// Admin access token lifetime (`expireInSeconds`, as documented).
const ACCESS_SECONDS: i64 = 86_400;
/// Refresh token lifetime (`refreshTokenExpireInSeconds`, as documented).
const REFRESH_SECONDS: i64 = 604_800;

/// A session token the sandbox issued.
#[derive(Debug, Clone)]
pub(crate) struct IssuedSession {
    /// The phone number or email the session is for.
    pub user: String,
    /// `auth session` or `invitation`.
    pub kind: &'static str,
    pub issued_at: DateTime<Utc>,
    pub contract_types: Vec<i64>,
    /// Pre-filled values (invitations): (contract type, key, value).
    pub fields: Vec<(String, String, String)>,
    /// The admin who created an invitation (`user@tenant`).
    pub by: Option<String>,
}

#[derive(Debug, Clone)]
struct Admin {
    /// Who logged in (`tenancyName`, `userNameOrEmailAddress`), kept across refreshes.
    who: (String, String),
    expires: DateTime<Utc>,
}

/// Vlens state.
#[derive(Debug, Default)]
pub(crate) struct State {
    pub sessions: HashMap<String, IssuedSession>,
    access: HashMap<String, Admin>,
    refresh: HashMap<String, Admin>,
    /// Business requests readable by id (lower-case UUID): (requeststatus, requestStatusName).
    business_requests: HashMap<String, (i64, String)>,
}

impl State {
    /// Sets what `GetBusinessRequestById` answers for `id` (a UUID): `status` with `name`, or
    /// with its documented name (1-4). Returns the name, or why not.
    pub fn set_business_request(
        &mut self,
        id: &str,
        status: i64,
        name: Option<&str>,
    ) -> Result<String, String> {
        if uuid::Uuid::parse_str(id).is_err() {
            return Err("`id`: the business request's UUID".into());
        }
        let documented = match status {
            1 => Some("Pending Approval"),
            2 => Some("Approved"),
            3 => Some("Rejected"),
            4 => Some("Customer Signed"),
            _ => None,
        };
        let name = name.or(documented).ok_or("`name`: required for an undocumented status")?;
        self.business_requests.insert(id.to_ascii_lowercase(), (status, name.to_string()));
        Ok(name.to_string())
    }
}

/// The envelope with an error.
pub(crate) fn error(status: u16, code: i64, message: &str) -> Reply {
    Reply::json(
        status,
        &json!({"data": null, "error_code": code, "error_message": message, "error_descriptions": null}),
    )
}

fn ok(data: Value) -> Reply {
    Reply::json(
        200,
        &json!({"data": data, "error_code": null, "error_message": null, "error_descriptions": null}),
    )
}

fn token(kind: &str) -> String {
    format!("vlens_{kind}_{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..))
}

/// The business request re-read route (lower case), before its `{id}`.
const BY_ID: &str = "/api/businessrequest/getbusinessrequestbyid/";

/// Handles `/vlens/...`.
pub(crate) fn handle(shared: &Shared, req: &Req) -> Reply {
    let route = req.path.to_ascii_lowercase();
    let (template, method) = match route.as_str() {
        "/api/identityusersession/createauthsession" => {
            ("/api/IdentityUserSession/CreateAuthSession", "POST")
        }
        "/api/identityusersession/createinvitation" => {
            ("/api/IdentityUserSession/CreateInvitation", "POST")
        }
        "/api/credentials/login" => ("/api/credentials/Login", "POST"),
        "/api/credentials/refreshtoken" => ("/api/credentials/RefreshToken", "POST"),
        "/api/businessrequest/getbusinessrequesttypetemplatefields" => {
            ("/api/BusinessRequest/GetBusinessRequestTypeTemplateFields", "GET")
        }
        r if r.starts_with(BY_ID) && r.len() > BY_ID.len() => {
            ("/api/BusinessRequest/GetBusinessRequestById/{id}", "GET")
        }
        _ => return error(404, 404, &format!("No route for {} {}", req.method, req.path)),
    };
    if req.method != method {
        return error(405, 405, &format!("{template} accepts {method} only"));
    }
    let mut state = shared.lock();
    // Secrets first, so the recorder hides them even when the request fails.
    for name in ["apikey", "authorization"] {
        if let Some(v) = req.header(name) {
            state.recorder.secret(v);
            state.recorder.secret(v.trim_start_matches("Bearer ").trim());
        }
    }
    match req.header("apikey").map(str::trim) {
        None | Some("") => return error(401, 401, "ApiKey header is required"),
        Some(k) if k.starts_with("invalid_") => return error(401, 401, "Invalid ApiKey"),
        Some(_) => {}
    }
    let body = match shared.specs.vlens.body(method, template, req.body) {
        Ok(b) => b.unwrap_or(Value::Null),
        Err(p) => {
            return Reply::json(
                400,
                &json!({"data": null, "error_code": 400,
                        "error_message": format!("Your request is not valid: {}", p.describe()),
                        "error_descriptions": [{"field": p.field, "message": p.message}]}),
            );
        }
    };
    for key in ["password", "refreshToken"] {
        if let Some(s) = body[key].as_str() {
            state.recorder.secret(s);
        }
    }
    let now = state.now();
    match template {
        "/api/credentials/Login" => login(&mut state, req, &body, now),
        "/api/credentials/RefreshToken" => refresh(&mut state, &body, now),
        "/api/IdentityUserSession/CreateAuthSession" => {
            create_session(&mut state, &body, now, "auth session", None)
        }
        "/api/IdentityUserSession/CreateInvitation" => match admin(&state, req, now, true) {
            Err(reply) => reply,
            Ok(by) => create_session(&mut state, &body["SessionInput"], now, "invitation", by),
        },
        _ => {
            if let Err(reply) = admin(&state, req, now, false) {
                return reply;
            }
            if template.ends_with("{id}") {
                return business_request(&state, &route[BY_ID.len()..]);
            }
            template_fields(req)
        }
    }
}

/// Checks the admin bearer token (`required`: invitations; optional for template fields, but
/// a token that is sent must be valid).
/// Returns who the token belongs to (`user@tenant`), `None` without a token.
fn admin(
    state: &crate::State,
    req: &Req,
    now: DateTime<Utc>,
    required: bool,
) -> Result<Option<String>, Reply> {
    let unauthorized = || error(401, 401, "Current user did not login to the application!");
    let Some(auth) = req.header("authorization") else {
        return if required { Err(unauthorized()) } else { Ok(None) };
    };
    let Some(token) = auth.strip_prefix("Bearer ").map(str::trim) else {
        return Err(error(401, 401, "Authorization must be `Bearer <access token>`"));
    };
    match state.vlens.access.get(token) {
        Some(a) if a.expires > now => Ok(Some(format!("{}@{}", a.who.1, a.who.0))),
        Some(_) => Err(error(401, 401, "The access token has expired; refresh it or log in again")),
        None => Err(unauthorized()),
    }
}

fn tokens(state: &mut crate::State, who: Admin, now: DateTime<Utc>) -> (String, String) {
    let access = token("admin");
    let refresh = token("refresh");
    state.recorder.secret(&access);
    state.recorder.secret(&refresh);
    state.vlens.access.insert(
        access.clone(),
        Admin { expires: now + Duration::seconds(ACCESS_SECONDS), ..who.clone() },
    );
    state.vlens.refresh.insert(
        refresh.clone(),
        Admin { expires: now + Duration::seconds(REFRESH_SECONDS), ..who },
    );
    (access, refresh)
}

fn login(state: &mut crate::State, req: &Req, body: &Value, now: DateTime<Utc>) -> Reply {
    let tenancy = body["tenancyName"].as_str().unwrap_or_default();
    let user = body["userNameOrEmailAddress"].as_str().unwrap_or_default();
    let password = body["password"].as_str().unwrap_or_default();
    match req.header("tenancyname") {
        None => return error(400, 400, "The TenancyName header is required"),
        Some(h) if h != tenancy => {
            return error(
                400,
                400,
                "The TenancyName header and the tenancyName field must be the same tenant",
            );
        }
        Some(_) => {}
    }
    if tenancy.is_empty() || user.is_empty() || password.is_empty() {
        return error(
            400,
            400,
            "tenancyName, userNameOrEmailAddress and password must not be empty",
        );
    }
    if tenancy.starts_with("unknown_") {
        return error(401, 401, &format!("There is no tenant defined with name {tenancy}!"));
    }
    if password.starts_with("wrong") {
        return error(401, 401, "Invalid user name or password");
    }
    let who = Admin { who: (tenancy.into(), user.into()), expires: now };
    let (access, refresh) = tokens(state, who, now);
    ok(json!({"accessToken": access, "expireInSeconds": ACCESS_SECONDS,
              "refreshToken": refresh, "refreshTokenExpireInSeconds": REFRESH_SECONDS}))
}

fn refresh(state: &mut crate::State, body: &Value, now: DateTime<Utc>) -> Reply {
    let Some(given) = body["refreshToken"].as_str() else {
        return error(400, 400, "field `refreshToken`: a refresh token is required");
    };
    let who = match state.vlens.refresh.get(given) {
        Some(a) if a.expires > now => a.clone(),
        Some(_) => return error(401, 401, "The refresh token has expired; log in again"),
        None => return error(401, 401, "Invalid refresh token"),
    };
    // Rotation: the old refresh token is used up, a new one is returned in `newRefreshToken`.
    state.vlens.refresh.remove(given);
    let (access, new_refresh) = tokens(state, who, now);
    ok(json!({"accessToken": access, "encryptedAccessToken": format!("enc:{access}"),
              "expireInSeconds": ACCESS_SECONDS, "refreshToken": given,
              "newRefreshToken": new_refresh}))
}

fn create_session(
    state: &mut crate::State,
    input: &Value,
    now: DateTime<Utc>,
    kind: &'static str,
    by: Option<String>,
) -> Reply {
    let phone = input["phoneNumber"].as_str().filter(|s| !s.is_empty());
    let email = input["email"].as_str().filter(|s| !s.is_empty());
    let user = match (phone, email) {
        (Some(p), None) => p,
        (None, Some(e)) => e,
        (None, None) => {
            return error(
                400,
                400,
                "field `phoneNumber` or `email`: the user is identified by one of them",
            );
        }
        (Some(_), Some(_)) => {
            return error(400, 400, "field `phoneNumber`/`email`: send one of them, not both");
        }
    };
    if let Some(p) = phone
        && !(p.starts_with('+')
            && p.len() >= 8
            && p.len() <= 16
            && p[1..].bytes().all(|b| b.is_ascii_digit()))
    {
        return error(400, 400, "field `phoneNumber`: must be E.164, e.g. +201234567890");
    }
    if phone == Some("+200000000000") {
        return Reply::json(
            200,
            &json!({"data": null, "error_code": 5000, "error_message": "Generic failure",
                    "error_descriptions": null}),
        );
    }
    let contract_types: Vec<i64> = input["sessionPermissions"]["allowedContractTypeIds"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_i64).collect())
        .unwrap_or_default();
    let fields = match prefilled_fields(input) {
        Ok(f) => f,
        Err(reply) => return reply,
    };
    let token = token("session");
    state.recorder.secret(&token);
    state.vlens.sessions.insert(
        token.clone(),
        IssuedSession { user: user.to_string(), kind, issued_at: now, contract_types, fields, by },
    );
    ok(json!(token))
}

/// An invitation's pre-filled values (`RequestFieldsValues`: contract type id -> field key ->
/// value), checked against the known templates.
fn prefilled_fields(input: &Value) -> Result<Vec<(String, String, String)>, Reply> {
    let mut fields = Vec::new();
    for (type_id, map) in input["RequestFieldsValues"].as_object().into_iter().flatten() {
        if type_id.parse::<i64>().is_err() {
            return Err(error(
                400,
                400,
                &format!(
                    "field `SessionInput.RequestFieldsValues.{type_id}`: keys are contract type ids such as \"414\""
                ),
            ));
        }
        for (key, value) in map.as_object().into_iter().flatten() {
            if type_id == "414" && !TEMPLATE_414_KEYS.contains(&key.as_str()) {
                return Err(error(
                    400,
                    400,
                    &format!(
                        "field `SessionInput.RequestFieldsValues.414.{key}`: not a field of \
                         request type 414 (see GetBusinessRequestTypeTemplateFields)"
                    ),
                ));
            }
            fields.push((type_id.clone(), key.clone(), value.as_str().unwrap_or_default().into()));
        }
    }
    Ok(fields)
}

/// The keys of request type 414's template (what invitations may pre-fill).
const TEMPLATE_414_KEYS: &[&str] = &[
    "fullName",
    "nationalId",
    "monthlyIncome",
    "employmentType",
    "employerName",
    "selfEmployedSince",
    "loanAmount",
];

fn field(order: i64, key: &str, text: &str, ar: &str, kind: &str) -> Value {
    json!({"order": order, "key": key, "displayText": text, "displayArText": ar, "value": null,
           "multiValues": null, "tabularData": null, "type": kind, "visibleToUser": true,
           "defaultValue": null, "defaultArValue": null, "availableValues": null,
           "firstRowHeader": null, "convertNumbersToArabic": false, "availableValuesItems": null,
           "parentQuestionKey": null, "parentQuestionValue": null, "relatedQuestions": [],
           "groupTitle": "Applicant", "groupArTitle": "مقدم الطلب"})
}

/// A business request the sandbox was told about (`Sandbox::set_vlens_business_request`).
fn business_request(state: &crate::State, id: &str) -> Reply {
    if uuid::Uuid::parse_str(id).is_err() {
        return error(400, 400, &format!("The value '{id}' is not valid for id (a UUID)"));
    }
    match state.vlens.business_requests.get(id) {
        Some((status, name)) => ok(json!({
            "id": id, "typeName": "Personal loan", "type": 2, "contractTypeId": 414,
            "contractTypeName": "Personal loan", "requestNumber": format!("REQ-{}", &id[..8]),
            "requeststatus": status, "requestStatusName": name,
        })),
        None => error(404, 404, &format!("There is no business request with id {id}")),
    }
}

fn template_fields(req: &Req) -> Reply {
    let raw = req.query("requestTypeId");
    let Some(id) = raw.and_then(|v| v.parse::<i32>().ok()) else {
        return error(
            400,
            400,
            &format!(
                "query `requestTypeId`: {} (an int32 such as 414)",
                if raw.is_some() { "not an integer" } else { "required" }
            ),
        );
    };
    if let Some(v) = req.query("isLocalized")
        && v != "true"
        && v != "false"
    {
        return error(400, 400, "query `isLocalized`: must be true or false");
    }
    if id != 414 {
        return error(400, 400, &format!("Business request type {id} not found"));
    }
    let mut employer = field(5, "employerName", "Employer name", "جهة العمل", "text");
    employer["parentQuestionKey"] = json!("employmentType");
    employer["parentQuestionValue"] = json!("Employed");
    let mut employment = field(4, "employmentType", "Employment type", "نوع التوظيف", "dropdown");
    employment["availableValues"] = json!(["Employed", "Self-employed"]);
    let mut since = field(6, "selfEmployedSince", "Self-employed since", "يعمل لحسابه منذ", "date");
    since["parentQuestionKey"] = json!("employmentType");
    since["parentQuestionValue"] = json!("Self-employed");
    employment["availableValuesItems"] = json!([
        {"id": 1, "name": "Employed", "relatedQuestions": []},
        {"id": 2, "name": "Self-employed", "relatedQuestions": [since]}
    ]);
    employment["relatedQuestions"] = json!([employer]);
    let mut income = field(3, "monthlyIncome", "Monthly income", "الدخل الشهري", "text");
    income["convertNumbersToArabic"] = json!(true);
    ok(json!({"id": 414, "name": "Personal loan", "requestsFields": [
        field(1, "fullName", "Full name", "الاسم بالكامل", "text"),
        field(2, "nationalId", "National ID", "الرقم القومي", "text"),
        income,
        employment,
        field(7, "loanAmount", "Loan amount", "مبلغ القرض", "text"),
    ]}))
}
