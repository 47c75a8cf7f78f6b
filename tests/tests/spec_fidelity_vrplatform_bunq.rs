//! Every JSON example of the VRPlatform and bunq pages (copies in `tests/fixtures/docs/`: the
//! VRPlatform session-backend page, the bunq session-on-behalf page, and the JSON blocks of each
//! provider's `examples.md`; addresses in `tests/fixtures/docs/SOURCES.md`) decodes into the
//! generated types and, where the example is complete, re-encodes to the same JSON value. The
//! pages are read from the repository; placeholders that are not JSON (`{...}`, `{…}`,
//! `string`, `<uuid>`) are replaced in code, each replacement asserted to match the page text,
//! so a changed page fails here instead of being skipped. The specs' own `example`s (what a
//! spec-driven mock answers) decode into the generated types too.

use bunq_client::types as bunq;
use embed_sessions_testkit::{
    doc_text, json_objects, load_yaml, operation_body_schemas, strip_nulls, workspace_root,
};
use serde::{Serialize, de::DeserializeOwned};
use serde_json::{Value, json};
use vrplatform_client::types as vrp;

/// Replaces `from` (which must occur in the page) by `to`.
fn fix(text: String, from: &str, to: &str) -> String {
    assert!(text.contains(from), "the page no longer contains {from:?}");
    text.replace(from, to)
}

fn decode<T: DeserializeOwned>(v: &Value) -> T {
    serde_json::from_value(v.clone())
        .unwrap_or_else(|e| panic!("{} does not decode: {e}\n{v:#}", std::any::type_name::<T>()))
}

fn encode<T: Serialize>(t: &T) -> Value {
    serde_json::to_value(t).unwrap()
}

/// Decodes and re-encodes `v`, which must come back unchanged.
fn roundtrip<T: DeserializeOwned + Serialize>(v: &Value) -> T {
    let t: T = decode(v);
    assert_eq!(encode(&t), *v, "{} does not re-encode to the example", std::any::type_name::<T>());
    t
}

fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v.as_object().expect("an object").keys().map(String::as_str).collect();
    k.sort_unstable();
    k
}

/// Dispatches one VRPlatform example to its type by its field names; returns the type's name.
fn check_vrplatform(v: &Value) -> &'static str {
    match keys(v).as_slice() {
        ["sub", "tenantId"] => {
            let r: vrp::EmbedSessionRequest = roundtrip(v);
            assert_eq!(r.sub.as_str(), "hostaway-user-123");
            assert_eq!(r.tenant_id.to_string(), "4f8f94de-2cc0-4ec7-a7f8-f0c7f560e59a");
            "EmbedSessionRequest"
        }
        ["accessToken", "expiresAt", "tenantId", "userId"] => {
            let s: vrp::EmbedSession = roundtrip(v);
            assert_eq!(s.access_token, v["accessToken"].as_str().unwrap());
            assert_eq!(s.expires_at, "2026-04-01T12:00:00.000Z");
            let expiry =
                chrono::DateTime::parse_from_rfc3339(&s.expires_at).expect("RFC 3339 expiry");
            assert_eq!(expiry.timestamp_subsec_millis(), 0);
            assert_eq!(s.user_id.to_string(), "11111111-1111-4111-8111-111111111111");
            "EmbedSession"
        }
        ["code", "message"] => {
            let e: vrp::ErrorBody = roundtrip(v);
            assert_eq!(e.message, v["message"].as_str().unwrap());
            "ErrorBody"
        }
        ["code", "context", "issues", "message"] => {
            // `context: null` decodes to None and is omitted on re-encode (same meaning).
            let e: vrp::ErrorBody = decode(v);
            assert_eq!(e.issues.as_ref().map(Vec::len), Some(1));
            assert!(e.context.is_none());
            let mut expected = v.clone();
            strip_nulls(&mut expected);
            assert_eq!(encode(&e), expected);
            "ErrorBody"
        }
        ["code", "context", "severity"] => {
            let i: vrp::TeamIssue = roundtrip(v);
            assert_eq!(i.code.as_deref(), Some("unassignedAccount"));
            "TeamIssue"
        }
        other => panic!("unclassified VRPlatform example with keys {other:?}: {v}"),
    }
}

/// The element keys of a bunq `Response` envelope, in order.
fn element_keys(v: &Value) -> Vec<&str> {
    v["Response"].as_array().expect("Response array").iter().flat_map(keys).collect()
}

/// Dispatches one bunq example to its type by its field names; returns the type's name.
fn check_bunq(v: &Value) -> &'static str {
    match keys(v).as_slice() {
        ["Response"] if element_keys(v).contains(&"UserApiKey") => {
            roundtrip::<bunq::SessionServerResponse>(v);
            "SessionServerResponse"
        }
        ["Pagination", "Response"] => {
            // The notes' schematic envelope: `Id` + `Token` (+ `Pagination`).
            assert_eq!(element_keys(v), ["Id", "Token"]);
            let s: bunq::SessionServerResponse = decode(v);
            assert!(matches!(s.response[0], bunq::SessionServerItem::Id(bunq::Id { id: 1 })));
            let i: bunq::InstallationResponse = decode(v);
            assert!(matches!(i.response[1], bunq::InstallationItem::Token(_)));
            let mut without_paging = v.clone();
            without_paging.as_object_mut().unwrap().remove("Pagination");
            assert_eq!(encode(&s), without_paging);
            assert_eq!(encode(&i), without_paging);
            roundtrip::<bunq::Pagination>(&v["Pagination"]);
            "SessionServerResponse+InstallationResponse+Pagination"
        }
        ["Error"] => {
            let e: bunq::BunqError = roundtrip(v);
            assert!(!e.error.unwrap().is_empty());
            "BunqError"
        }
        ["client_public_key"] => {
            roundtrip::<bunq::InstallationCreate>(v);
            "InstallationCreate"
        }
        ["description", "permitted_ips", "secret"] | ["description", "secret"] => {
            roundtrip::<bunq::DeviceServerCreate>(v);
            "DeviceServerCreate"
        }
        ["secret"] => {
            let s: bunq::SessionServerCreate = roundtrip(v);
            assert!(s.secret.starts_with('<'), "a placeholder secret: {}", s.secret);
            "SessionServerCreate"
        }
        ["email", "external_uuid", "phone_number", "products", "user_verified_type"] => {
            let p: bunq::PartnerUserProvisionCreate = roundtrip(v);
            assert!(matches!(p.user_verified_type, bunq::UserVerifiedType::PartnerUserPerson));
            assert_eq!(p.products, ["USER_VERIFIED"]);
            "PartnerUserProvisionCreate"
        }
        ["status"] => {
            roundtrip::<bunq::PartnerUserProvisionUpdate>(v);
            "PartnerUserProvisionUpdate"
        }
        ["notification_filters"] => {
            let f: bunq::NotificationFilterUrlCreate = roundtrip(v);
            assert_eq!(f.notification_filters[0].category, "PAYMENT");
            "NotificationFilterUrlCreate"
        }
        ["category"] => {
            roundtrip::<bunq::NotificationFilterPushRule>(v);
            "NotificationFilterPushRule"
        }
        ["UserCompany"] | ["UserPerson"] | ["UserPaymentServiceProvider"] => {
            roundtrip::<bunq::UserApiKeyUser>(v);
            "UserApiKeyUser"
        }
        other => panic!("unclassified bunq example with keys {other:?}: {v}"),
    }
}

#[tokio::test]
async fn vrplatform_session_backend_page() {
    let page = doc_text("vrplatform/session-backend.txt");
    assert!(page.contains("autoProvision=true"));
    let examples = json_objects(&page);
    let kinds: Vec<_> = examples.iter().map(check_vrplatform).collect();
    // Example request, response, and the cURL example's body.
    assert_eq!(kinds, ["EmbedSessionRequest", "EmbedSession", "EmbedSessionRequest"]);
    let session: vrp::EmbedSession = decode(&examples[1]);
    assert_eq!(session.access_token, "<vrplatform-bearer-token>");
    assert_eq!(session.tenant_id.to_string(), "4f8f94de-2cc0-4ec7-a7f8-f0c7f560e59a");
}

#[tokio::test]
async fn vrplatform_provider_notes() {
    let mut page = doc_text("vrplatform/examples.md");
    page = fix(page, r#"{"code": string, "message": string}"#, r#"{"code": "…", "message": "…"}"#);
    page = fix(
        page,
        r#"{"code": string, "message": string, "issues": [{"message": string}], "context": null}"#,
        r#"{"code": "…", "message": "…", "issues": [{"message": "…"}], "context": null}"#,
    );
    page = fix(
        page,
        r#"{code:"unassignedAccount", severity:"error", context:{accountIds:[…]}}"#,
        r#"{"code":"unassignedAccount", "severity":"error", "context":{"accountIds":["…"]}}"#,
    );
    let kinds: Vec<_> = json_objects(&page).iter().map(check_vrplatform).collect();
    assert_eq!(
        kinds,
        ["EmbedSessionRequest", "EmbedSession", "ErrorBody", "ErrorBody", "TeamIssue"]
    );
}

/// The bunq page's session-server response, its non-JSON `{...}` avatars replaced by `{}`.
fn page_session_response() -> Value {
    let page = fix(doc_text("bunq/creating-a-session-on-behalf-of-the-user.txt"), "{...}", "{}");
    let examples = json_objects(&page);
    let kinds: Vec<_> = examples.iter().map(check_bunq).collect();
    assert_eq!(kinds, ["SessionServerCreate", "SessionServerResponse"]);
    examples[1].clone()
}

/// Id, Token and the user ids of a session-server response, found by enum variant.
fn session_parts(r: &bunq::SessionServerResponse) -> (i64, String, i64, i64, i64, Option<i64>) {
    let id = r.response.iter().find_map(|i| match i {
        bunq::SessionServerItem::Id(id) => Some(id.id),
        _ => None,
    });
    let token = r.response.iter().find_map(|i| match i {
        bunq::SessionServerItem::Token(t) => Some(t.token.clone()),
        _ => None,
    });
    let key = r.response.iter().find_map(|i| match i {
        bunq::SessionServerItem::UserApiKey(k) => Some(k),
        _ => None,
    });
    let key = key.expect("a UserApiKey element");
    let (company, timeout) = match &key.requested_by_user {
        Some(bunq::UserApiKeyUser::UserCompany(c)) => (c.id, c.session_timeout),
        other => panic!("requested_by_user should be a UserCompany: {other:?}"),
    };
    let person = match &key.granted_by_user {
        Some(bunq::UserApiKeyUser::UserPerson(p)) => p.id,
        other => panic!("granted_by_user should be a UserPerson: {other:?}"),
    };
    (id.expect("an Id element"), token.expect("a Token element"), key.id, company, person, timeout)
}

#[tokio::test]
async fn bunq_session_on_behalf_page() {
    let v = page_session_response();
    let r: bunq::SessionServerResponse = roundtrip(&v);
    assert_eq!(r.response.len(), 3);
    let expected = (
        2173,
        "f981bd6d26b8328b89e85a774c404bb02e72d18062dab92bb59c9e59a1c5958f".to_string(),
        1364,
        1360,
        1363,
        Some(604800),
    );
    assert_eq!(session_parts(&r), expected);
    let key = match &r.response[2] {
        bunq::SessionServerItem::UserApiKey(k) => k,
        other => panic!("{other:?}"),
    };
    assert_eq!(key.created.as_deref(), Some("2025-08-13 15:53:11.286445"));
    match &key.requested_by_user {
        Some(bunq::UserApiKeyUser::UserCompany(c)) => {
            assert_eq!(c.display_name.as_deref(), Some("Surrey Coöperatie"));
            assert_eq!(c.avatar, Some(json!({})));
        }
        other => panic!("{other:?}"),
    }
    match &key.granted_by_user {
        Some(bunq::UserApiKeyUser::UserPerson(p)) => {
            assert_eq!(p.public_nick_name.as_deref(), Some("New bunqer"));
            assert_eq!(p.session_timeout, Some(604800));
        }
        other => panic!("{other:?}"),
    }
    // bunq's timestamps are not RFC 3339; they parse with the documented format.
    let token_created = r.response.iter().find_map(|i| match i {
        bunq::SessionServerItem::Token(t) => t.created.clone(),
        _ => None,
    });
    let created = token_created.expect("Token.created");
    assert!(chrono::DateTime::parse_from_rfc3339(&created).is_err());
    let parsed = chrono::NaiveDateTime::parse_from_str(&created, "%Y-%m-%d %H:%M:%S%.f").unwrap();
    assert_eq!(parsed.and_utc().timestamp_subsec_micros(), 594918);
}

#[tokio::test]
async fn bunq_session_elements_in_any_order() {
    let v = page_session_response();
    let page: bunq::SessionServerResponse = decode(&v);
    let expected = session_parts(&page);
    let elements = v["Response"].as_array().unwrap().clone();
    let orders = [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]];
    for order in orders {
        let shuffled =
            json!({"Response": order.iter().map(|&i| elements[i].clone()).collect::<Vec<_>>()});
        let r: bunq::SessionServerResponse = roundtrip(&shuffled);
        assert_eq!(session_parts(&r), expected, "order {order:?}");
        // The order is kept as sent: the first element is the one put first.
        let first_key = keys(&elements[order[0]])[0];
        let first_variant = match &r.response[0] {
            bunq::SessionServerItem::Id(_) => "Id",
            bunq::SessionServerItem::Token(_) => "Token",
            bunq::SessionServerItem::UserApiKey(_) => "UserApiKey",
            other => panic!("{other:?}"),
        };
        assert_eq!(first_variant, first_key, "order {order:?}");
    }
    // Another user object in place of UserApiKey works the same way.
    let mut with_person = v.clone();
    with_person["Response"][2] = json!({"UserPerson": {"id": 1363, "session_timeout": 3600}});
    let r: bunq::SessionServerResponse = roundtrip(&with_person);
    assert!(
        r.response
            .iter()
            .any(|i| matches!(i, bunq::SessionServerItem::UserPerson(p) if p.id == 1363))
    );
}

#[tokio::test]
async fn bunq_provider_notes() {
    let mut page = doc_text("bunq/examples.md");
    page = fix(
        page,
        r#"{"Response":[{"Id":{"id":1}},{"Token":{…}}],"Pagination":{…}}"#,
        r#"{"Response":[{"Id":{"id":1}},{"Token":{"token":"…"}}],"Pagination":{"future_url":null,"newer_url":null,"older_url":"/v1/user/1/payment?older_id=1"}}"#,
    );
    page = fix(page, r#"{"UserPerson":{…}}"#, r#"{"UserPerson":{"id":1}}"#);
    page = fix(page, r#"{"UserCompany":…}"#, r#"{"UserCompany":{"id":1360}}"#);
    page = fix(page, r#"{"UserPerson":…}"#, r#"{"UserPerson":{"id":1363}}"#);
    page = fix(
        page,
        r#""external_uuid":"<uuid>""#,
        r#""external_uuid":"550e8400-e29b-41d4-a716-446655440000""#,
    );
    let kinds: Vec<_> = json_objects(&page).iter().map(check_bunq).collect();
    assert_eq!(
        kinds,
        [
            "SessionServerResponse+InstallationResponse+Pagination",
            "UserApiKeyUser",
            "InstallationCreate",
            "DeviceServerCreate",
            "SessionServerCreate",
            "BunqError",
            "PartnerUserProvisionCreate",
            "PartnerUserProvisionUpdate",
            "PartnerUserProvisionUpdate",
            "SessionServerCreate",
            "UserApiKeyUser",
            "UserApiKeyUser",
            "NotificationFilterUrlCreate",
            "NotificationFilterPushRule",
        ]
    );
}

#[tokio::test]
async fn bunq_notes_values_decode_as_documented() {
    let page = doc_text("bunq/examples.md");
    let examples = json_objects(&page);
    // The error body of the notes, `…` texts included.
    let error = examples.iter().find(|v| v.get("Error").is_some()).expect("error example");
    let e: bunq::BunqError = roundtrip(error);
    let entry = &e.error.unwrap()[0];
    assert_eq!(entry.error_description, "…");
    assert_eq!(entry.error_description_translated.as_deref(), Some("…"));
    // The device-server body keeps `permitted_ips`.
    let device =
        examples.iter().find(|v| v.get("permitted_ips").is_some()).expect("device example");
    let d: bunq::DeviceServerCreate = roundtrip(device);
    assert_eq!(d.permitted_ips, ["1.2.3.4"]);
    // The two documented provision updates are the two enum values.
    let statuses: Vec<_> = examples
        .iter()
        .filter(|v| keys(v) == ["status"])
        .map(|v| decode::<bunq::PartnerUserProvisionUpdate>(v).status)
        .collect();
    assert!(matches!(
        statuses.as_slice(),
        [
            bunq::PartnerUserProvisionUpdateStatus::TokenResetRequested,
            bunq::PartnerUserProvisionUpdateStatus::Cancelled
        ]
    ));
    // The create body's `<uuid>` placeholder is not a UUID: the typed body rejects it.
    let create =
        examples.iter().find(|v| v.get("external_uuid").is_some()).expect("create example");
    assert_eq!(create["external_uuid"], "<uuid>");
    assert!(serde_json::from_value::<bunq::PartnerUserProvisionCreate>(create.clone()).is_err());
}

/// The example of every component schema of `spec` that has one (3.0: a single `example`):
/// its own, or else the object made of its properties' examples when every property has one.
fn schema_examples(spec: &Value) -> Vec<(String, Value)> {
    let schemas = spec["components"]["schemas"].as_object().expect("component schemas");
    let from_properties = |schema: &Value| -> Option<Value> {
        let properties = schema.get("properties")?.as_object()?;
        let members: Option<serde_json::Map<String, Value>> = properties
            .iter()
            .map(|(k, p)| p.get("example").map(|e| (k.clone(), e.clone())))
            .collect();
        members.map(Value::Object)
    };
    schemas
        .iter()
        .filter_map(|(name, schema)| {
            schema
                .get("example")
                .cloned()
                .or_else(|| from_properties(schema))
                .map(|e| (name.clone(), e))
        })
        .collect()
}

/// Every request and response body schema carries an example (what a spec-driven mock such as
/// Prism answers with), and every schema-level example decodes into its generated type and
/// re-encodes to the same value (explicit `null`s of optional members aside).
fn check_spec_examples(spec_file: &str, decode_named: fn(&str, &Value) -> Value) {
    let spec = load_yaml(&workspace_root().join("specs").join(spec_file));
    let examples = schema_examples(&spec);
    for (at, name) in operation_body_schemas(&spec) {
        assert!(
            examples.iter().any(|(n, _)| *n == name),
            "{spec_file}: {at}: schema {name} has no `example`"
        );
    }
    for (name, example) in &examples {
        let mut back = decode_named(name, example);
        let mut expected = example.clone();
        strip_nulls(&mut back);
        strip_nulls(&mut expected);
        assert_eq!(back, expected, "{spec_file}: the example of {name} does not round-trip");
    }
}

/// Decodes `v` as the generated type named like the schema, and encodes it again.
macro_rules! by_name {
    ($module:ident: $($ty:ident),* $(,)?) => {
        |name: &str, v: &Value| -> Value {
            match name {
                $(stringify!($ty) => encode(&decode::<$module::$ty>(v)),)*
                other => panic!("schema {other} has an example but no type is listed for it"),
            }
        }
    };
}

#[test]
fn vrplatform_spec_examples_decode() {
    check_spec_examples(
        "vrplatform.yaml",
        by_name!(vrp: EmbedSessionRequest, EmbedSession, ErrorBody, Team),
    );
}

#[test]
fn bunq_spec_examples_decode() {
    check_spec_examples(
        "bunq.yaml",
        by_name!(bunq:
            InstallationCreate, DeviceServerCreate, SessionServerCreate,
            PartnerUserProvisionCreate, PartnerUserProvisionUpdate, NotificationFilterUrlCreate,
            NotificationFilterUrlRule, NotificationFilterPushCreate, NotificationFilterPushRule,
            InstallationResponse, DeviceServerResponse, SessionServerResponse,
            DeleteSessionResponse, PartnerUserProvisionResponse, NotificationFilterUrlResponse,
            NotificationFilterPushResponse, Pagination, Id, Token, UserPerson, UserCompany,
            UserApiKey, UserApiKeyUser, PartnerUserProvision, PartnerUserProvisionCredential,
            BunqError, BunqErrorEntry, PaymentResponse, MasterCardActionResponse,
            RequestInquiryResponse, Payment, MasterCardAction, RequestInquiry, Amount,
        ),
    );
}
