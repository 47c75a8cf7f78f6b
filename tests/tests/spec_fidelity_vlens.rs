//! Spec fidelity for Vlens: every JSON request and response example in the Vlens doc pages
//! (`shared/seeds/001_*`, `002_*`, `004_*`) and in `shared/providers/vlens.md`
//! (1) validates against `specs/vlens.yaml`'s own schema with a JSON Schema validator, and
//! (2) deserializes into the generated types and serializes back to the same JSON value.

use integration_tests::{load_yaml, shared_dir, strip_nulls, workspace_root};
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

/// The HTML page (seed 001) prints its response example with line numbers: `1{ 2 "data": ...`.
fn numbered_response_example(text: &str) -> Value {
    let start = text.find("1{\n").expect("seed 001 has a numbered response example");
    let end = text[start..].find("\n6}").expect("it ends at line 6") + start + 3;
    let unnumbered: String = text[start..end]
        .lines()
        .map(|l| l.trim_start_matches(|c: char| c.is_ascii_digit()))
        .collect::<Vec<_>>()
        .join("\n");
    serde_json::from_str(&unnumbered).expect("the numbered example is JSON")
}

fn all_examples() -> Vec<(String, Value)> {
    let seeds = shared_dir().join("seeds");
    let mut out = Vec::new();
    for name in ["001_7783d030e2e3fc9e.txt", "002_035f3f6f613fc033.txt", "004_e3edfbcd9b433f4f.txt"]
    {
        let text = std::fs::read_to_string(seeds.join(name)).unwrap();
        for v in examples_in(&text) {
            out.push((name.to_string(), v));
        }
        if name.starts_with("001") {
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
    let md = std::fs::read_to_string(shared_dir().join("providers/vlens.md")).unwrap();
    for v in examples_in(&md) {
        out.push(("providers/vlens.md".to_string(), v));
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
    // 001 curl, 002 curl, 004 JS body, vlens.md; 002 curl and vlens.md; 001 and vlens.md.
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
    // The fragment exactly as seed 004 publishes it.
    let seed =
        std::fs::read_to_string(shared_dir().join("seeds/004_e3edfbcd9b433f4f.txt")).unwrap();
    let start = seed.find("```yaml\n").unwrap() + 8;
    let end = seed[start..].find("```").unwrap() + start;
    let published: Value = serde_norway::from_str(&seed[start..end]).unwrap();
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
