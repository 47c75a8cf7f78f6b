//! Spec fidelity for Vlens: every JSON request and response example in the Vlens doc pages
//! (`tests/fixtures/docs/vlens/`: the two forms of the CreateAuthSession page, the iframe guide,
//! and the JSON blocks of `examples.md`; addresses in `tests/fixtures/docs/SOURCES.md`)
//! (1) validates against `specs/vlens.yaml`'s own schema with a JSON Schema validator, and
//! (2) deserializes into the generated types and serializes back to the same JSON value.
//! The spec's own `examples` (what a spec-driven mock answers) pass the same two checks.

use embed_sessions_testkit::{
    doc_text, load_yaml, operation_body_schemas, strip_nulls, workspace_root,
};
use serde_json::Value;
use vlens_client::types;

/// Which schema an example belongs to.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    CreateAuthSessionInput,
    CreateInvitationInput,
    ApiOutputString,
    /// The webhook payload: not an operation of the API, so not in the spec.
    Webhook,
}

fn classify(v: &Value) -> Kind {
    if v.get("SessionInput").is_some() {
        Kind::CreateInvitationInput
    } else if v.get("WebhookEvent").is_some() {
        Kind::Webhook
    } else if v.get("error_code").is_some() || v.get("data").is_some() {
        Kind::ApiOutputString
    } else {
        Kind::CreateAuthSessionInput
    }
}

/// Every balanced `{...}` that parses as JSON, starting at each of `starts` in `text`.
fn json_at(text: &str, start: usize) -> Option<Value> {
    let bytes = text.as_bytes();
    let (mut depth, mut in_str, mut esc) = (0i32, false, false);
    for (i, &b) in bytes.iter().enumerate().skip(start) {
        match (in_str, esc, b) {
            (true, true, _) => esc = false,
            (true, false, b'\\') => esc = true,
            (true, false, b'"') => in_str = false,
            (false, _, b'"') => in_str = true,
            (false, _, b'{') => depth += 1,
            (false, _, b'}') => {
                depth -= 1;
                if depth == 0 {
                    return serde_json::from_str(&text[start..=i]).ok();
                }
            }
            _ => {}
        }
    }
    None
}

/// The examples of one page: every `-d '{`, `body: '{`, and fenced ```json block.
fn examples_in(text: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for marker in ["-d '{", "body: '{", "```json\n{"] {
        let mut from = 0;
        while let Some(pos) = text[from..].find(marker) {
            let start = from + pos + marker.len() - 1;
            if let Some(v) = json_at(text, start) {
                out.push(v);
            }
            from = start + 1;
        }
    }
    out
}

/// The HTML page (`create-auth-session.html.txt`) prints its response example with line numbers: `1{ 2 "data": ...`.
fn numbered_response_example(text: &str) -> Value {
    let start = text.find("1{\n").expect("the HTML page has a numbered response example");
    let end = text[start..].find("\n6}").expect("it ends at line 6") + start + 3;
    let unnumbered: String = text[start..end]
        .lines()
        .map(|l| l.trim_start_matches(|c: char| c.is_ascii_digit()))
        .collect::<Vec<_>>()
        .join("\n");
    serde_json::from_str(&unnumbered).expect("the numbered example is JSON")
}

fn all_examples() -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for name in [
        "vlens/create-auth-session.html.txt",
        "vlens/iframe-session.md",
        "vlens/create-auth-session.md",
        "vlens/examples.md",
    ] {
        let text = doc_text(name);
        for v in examples_in(&text) {
            out.push((name.to_string(), v));
        }
        if name.ends_with(".html.txt") {
            out.push((name.to_string(), numbered_response_example(&text)));
            // Its curl prints `> ` before each line of the body.
            let body = text.find("-d '{").map(|p| {
                let rest = &text[p + 4..];
                let end = rest.find("}'").unwrap() + 1;
                rest[..end].lines().map(|l| l.trim_start_matches('>')).collect::<String>()
            });
            out.push((name.to_string(), serde_json::from_str(&body.unwrap()).unwrap()));
        }
    }
    out
}

fn validator(spec: &Value, schema: &str) -> jsonschema::Validator {
    let root = serde_json::json!({
        "$ref": format!("#/components/schemas/{schema}"),
        "components": spec["components"],
    });
    jsonschema::validator_for(&root).unwrap_or_else(|e| panic!("{schema}: {e}"))
}

fn roundtrip<T: serde::de::DeserializeOwned + serde::Serialize>(example: &Value) -> Value {
    let typed: T = serde_json::from_value(example.clone())
        .unwrap_or_else(|e| panic!("does not decode: {e}: {example}"));
    serde_json::to_value(typed).unwrap()
}

#[test]
fn every_documented_example_validates_and_roundtrips() {
    let spec = load_yaml(&workspace_root().join("specs/vlens.yaml"));
    assert_eq!(spec["openapi"], "3.1.0", "the spec stays in the dialect the docs publish");
    let examples = all_examples();
    let count = |k: Kind| examples.iter().filter(|(_, v)| classify(v) == k).count();
    // HTML page curl, iframe guide curl, markdown page JS body, examples.md; iframe guide curl and
    // examples.md; HTML page and examples.md.
    assert!(count(Kind::CreateAuthSessionInput) >= 4, "{examples:#?}");
    assert!(count(Kind::CreateInvitationInput) >= 2, "{examples:#?}");
    assert!(count(Kind::ApiOutputString) >= 2, "{examples:#?}");
    assert_eq!(count(Kind::Webhook), 1);

    for (page, example) in &examples {
        let kind = classify(example);
        let (schema, back) = match kind {
            Kind::CreateAuthSessionInput => {
                ("CreateAuthSessionInput", roundtrip::<types::CreateAuthSessionInput>(example))
            }
            Kind::CreateInvitationInput => {
                ("CreateInvitationInput", roundtrip::<types::CreateInvitationInput>(example))
            }
            Kind::ApiOutputString => {
                ("ApiOutputString", roundtrip::<types::ApiOutputString>(example))
            }
            Kind::Webhook => continue,
        };
        let v = validator(&spec, schema);
        let errors: Vec<String> = v.iter_errors(example).map(|e| e.to_string()).collect();
        assert!(
            errors.is_empty(),
            "{page}: {example} does not validate against {schema}: {errors:?}"
        );
        // The generated types omit `None`: an explicit `null` and an absent optional member are
        // the same value for these nullable, optional fields.
        let mut expected = example.clone();
        strip_nulls(&mut expected);
        assert_eq!(back, expected, "{page}: {schema} does not round-trip");
    }
}

#[test]
fn the_published_fragment_rejects_its_own_example_and_ours_does_not() {
    // The fragment exactly as the markdown page publishes it.
    let page = doc_text("vlens/create-auth-session.md");
    let start = page.find("```yaml\n").unwrap() + 8;
    let end = page[start..].find("```").unwrap() + start;
    let published: Value = serde_norway::from_str(&page[start..end]).unwrap();
    let example = serde_json::json!({
        "data": "string", "error_code": 1, "error_message": "string", "error_descriptions": null
    });
    let published_errors: Vec<String> = validator(&published, "ApiOutputString")
        .iter_errors(&example)
        .map(|e| e.to_string())
        .collect();
    assert!(
        !published_errors.is_empty(),
        "the published `oneOf: [any, null]` should reject `error_descriptions: null`"
    );
    let ours = load_yaml(&workspace_root().join("specs/vlens.yaml"));
    assert!(validator(&ours, "ApiOutputString").is_valid(&example));
    // Our spec keeps the published CreateAuthSessionInput unchanged.
    assert_eq!(
        ours["components"]["schemas"]["CreateAuthSessionInput"]["properties"],
        published["components"]["schemas"]["CreateAuthSessionInput"]["properties"]
    );
}

#[test]
fn schemas_reject_wrong_types() {
    let spec = load_yaml(&workspace_root().join("specs/vlens.yaml"));
    let v = validator(&spec, "CreateAuthSessionInput");
    assert!(!v.is_valid(&serde_json::json!({"phoneNumber": 201234567890u64})));
    assert!(
        !v.is_valid(
            &serde_json::json!({"sessionPermissions": {"allowedContractTypeIds": ["414"]}})
        )
    );
    let inv = validator(&spec, "CreateInvitationInput");
    assert!(!inv.is_valid(
        &serde_json::json!({"SessionInput": {"RequestFieldsValues": {"414": {"k": 5}}}})
    ));
    assert!(!inv.is_valid(&serde_json::json!({})), "SessionInput is required");
}

/// Decodes `v` as the generated type named like the schema, and encodes it again.
fn roundtrip_named(name: &str, v: &Value) -> Value {
    macro_rules! by_name {
        ($($ty:ident),* $(,)?) => {
            match name {
                $(stringify!($ty) => roundtrip::<types::$ty>(v),)*
                other => panic!("schema {other} has examples but no type is listed for it"),
            }
        };
    }
    by_name!(
        SessionPermissions,
        CreateAuthSessionInput,
        CreateInvitationInput,
        RequestFieldsValues,
        LoginInput,
        RefreshTokenInput,
        LoginOutput,
        RefreshTokenOutput,
        RequestTypeTemplate,
        TemplateField,
        ApiOutputString,
        ApiOutputLoginOutput,
        ApiOutputRefreshTokenOutput,
        ApiOutputRequestTypeTemplate,
        BusinessRequest,
        ApiOutputBusinessRequest,
        ApiOutput,
    )
}

#[test]
fn spec_examples_validate_and_roundtrip() {
    let spec = load_yaml(&workspace_root().join("specs/vlens.yaml"));
    let schemas = spec["components"]["schemas"].as_object().unwrap();
    let examples: Vec<(&String, &Value)> = schemas
        .iter()
        .filter_map(|(name, schema)| schema.get("examples").map(|e| (name, e)))
        .flat_map(|(name, e)| {
            e.as_array().expect("`examples` is an array").iter().map(move |x| (name, x))
        })
        .collect();
    for (at, name) in operation_body_schemas(&spec) {
        assert!(examples.iter().any(|(n, _)| **n == name), "{at}: schema {name} has no `examples`");
    }
    for (name, example) in examples {
        let errors: Vec<String> =
            validator(&spec, name).iter_errors(example).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "the example of {name} does not validate: {errors:?}");
        let mut back = roundtrip_named(name, example);
        let mut expected = example.clone();
        strip_nulls(&mut back);
        strip_nulls(&mut expected);
        assert_eq!(back, expected, "the example of {name} does not round-trip");
    }
}
