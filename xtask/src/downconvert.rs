//! In-memory OpenAPI 3.1 → 3.0.3 down-conversion for progenitor (which reads 3.0.x only).
//!
//! openapiv3 2.2 rejects 3.1 documents (version string, `type` arrays, numeric
//! `exclusiveMinimum`, missing `paths`, …) and progenitor panics on `type: 'null'` even in a
//! 3.0.3 document (`shared/notes/progenitor.md` §4). [`downconvert`] rewrites what has a faithful
//! 3.0 form and reports everything else as a [`Violation`] instead of dropping it silently.

use serde_json::{Map, Value, json};

use crate::rules::{KEYWORDS_31, Violation, ignored_ref_siblings, sort_violations};
use crate::walk::{Node, ptr, walk};

/// Converts an OpenAPI 3.1 document in memory to OpenAPI 3.0.3, so openapiv3 2.2 can parse it
/// and progenitor can generate from it.
///
/// - A 3.0.x document is returned unchanged (not touched at all).
/// - Any other version (2.0, 3.2, missing) is a violation at `/openapi`; nothing is changed.
/// - A 3.1.x document gets `openapi: 3.0.3` and every schema object, wherever it occurs, is
///   rewritten: `type` arrays → one type + `nullable: true` (several types → `oneOf`);
///   `type: 'null'` → `enum: [null]` + `nullable: true`; `null` branches of `oneOf`/`anyOf`
///   dropped and the schema marked nullable, a sole remaining branch hoisted (a `$ref` as
///   `allOf: [{$ref}]`, an inline schema merged); `const: X` → `enum: [X]`; numeric
///   `exclusiveMinimum`/`exclusiveMaximum` → `minimum`/`maximum` + boolean flag; a schema's
///   `examples: [a, ..]` → `example: a`; `$ref` with non-annotation siblings → `allOf: [{$ref}]`
///   plus the siblings; `true` schemas → `{}`; `contentEncoding: base64` → `format: byte`;
///   `$comment`/`contentMediaType` dropped. At document level `jsonSchemaDialect`, an empty
///   `webhooks`, empty `components.pathItems`, `info.summary` and `info.license.identifier` are
///   dropped and a missing `paths` becomes `paths: {}`.
/// - Constructs without a 3.0 form (`prefixItems`, `$defs`, `unevaluatedProperties`,
///   `if`/`then`/`else`, `dependentSchemas`, `$schema`, non-empty `webhooks`, `false` schemas,
///   operations without `responses`, `mutualTLS` security schemes, …) are returned as
///   violations (sorted by pointer); the document is then partially converted and must not be
///   used.
///
/// Key order is preserved (replacements take the replaced key's place) and the result is
/// deterministic.
pub fn downconvert(doc: &mut Value) -> Result<(), Vec<Violation>> {
    let version = match doc.get("openapi") {
        Some(Value::String(v)) => v.trim().to_string(),
        Some(_) => {
            return Err(vec![Violation::new(
                "/openapi",
                "`openapi` must be a version string; write `openapi: 3.0.3`",
            )]);
        }
        None => {
            return Err(vec![Violation::new(
                "/openapi",
                "missing `openapi` version (Swagger 2.0 is not supported); convert the spec \
                 to OpenAPI 3.0.3",
            )]);
        }
    };
    if version.starts_with("3.0.") {
        return Ok(());
    }
    if !version.starts_with("3.1.") {
        return Err(vec![Violation::new(
            "/openapi",
            format!(
                "OpenAPI version `{version}` is not supported: only 3.0.x (used as is) and 3.1.x \
                 (down-converted) are; convert the spec to 3.0.3"
            ),
        )]);
    }

    let mut errs = Vec::new();
    convert_document(doc, &mut errs);

    let mut schemas = Vec::new();
    let mut operations = Vec::new();
    walk(doc, &mut |node, p, _| match node {
        Node::Schema => schemas.push(p.to_string()),
        Node::Operation => operations.push(p.to_string()),
        _ => {}
    });
    // Reverse document order visits every subschema before its parent, and converting a schema
    // only changes that schema's own members, so the remaining pointers stay valid.
    for p in schemas.iter().rev() {
        if let Some(schema) = doc.pointer_mut(p) {
            convert_schema(schema, p, &mut errs);
        }
    }
    for p in operations {
        if doc.pointer(&p).is_some_and(|op| op.get("responses").is_none()) {
            errs.push(Violation::new(
                p,
                "operation has no `responses` (optional in 3.1, required in 3.0); declare at \
                 least its success response",
            ));
        }
    }
    if let Some(root) = doc.as_object_mut() {
        root.insert("openapi".into(), Value::String("3.0.3".into()));
    }

    if errs.is_empty() {
        Ok(())
    } else {
        sort_violations(&mut errs);
        Err(errs)
    }
}

/// Replaces `key` by `entries`, at `key`'s position (keys already present elsewhere keep
/// their own position and get the new value).
fn replace_key(m: &mut Map<String, Value>, key: &str, entries: Vec<(&str, Value)>) {
    let old = std::mem::take(m);
    let mut entries = Some(entries);
    for (k, v) in old {
        if k == key {
            for (nk, nv) in entries.take().unwrap_or_default() {
                m.insert(nk.to_string(), nv);
            }
        } else if !m.contains_key(&k) {
            m.insert(k, v);
        }
    }
    for (nk, nv) in entries.unwrap_or_default() {
        m.insert(nk.to_string(), nv);
    }
}

/// Sets `nullable: true`, right after `type` if there is one, else at the end.
fn set_nullable(m: &mut Map<String, Value>) {
    if m.contains_key("nullable") || !m.contains_key("type") {
        m.insert("nullable".into(), Value::Bool(true));
    } else {
        let t = m.get("type").cloned().unwrap_or(Value::Null);
        replace_key(m, "type", vec![("type", t), ("nullable", Value::Bool(true))]);
    }
}

fn convert_document(doc: &mut Value, errs: &mut Vec<Violation>) {
    let Some(root) = doc.as_object_mut() else {
        return;
    };
    root.shift_remove("jsonSchemaDialect");
    match root.get("webhooks") {
        Some(Value::Object(w)) if w.is_empty() => {
            root.shift_remove("webhooks");
        }
        Some(_) => errs.push(Violation::new(
            "/webhooks",
            "`webhooks` are OpenAPI 3.1 only and progenitor would not generate them; remove them \
             from the spec",
        )),
        None => {}
    }
    if let Some(Value::Object(info)) = root.get_mut("info") {
        info.shift_remove("summary");
        if let Some(Value::Object(license)) = info.get_mut("license") {
            license.shift_remove("identifier");
        }
    }
    if !root.contains_key("paths") {
        let mut entries = vec![("paths", json!({}))];
        if let Some(info) = root.get("info").cloned() {
            entries.insert(0, ("info", info));
            replace_key(root, "info", entries);
        } else {
            root.insert("paths".into(), json!({}));
        }
    }
    let Some(Value::Object(components)) = root.get_mut("components") else {
        return;
    };
    match components.get("pathItems") {
        Some(Value::Object(items)) if items.is_empty() => {
            components.shift_remove("pathItems");
        }
        Some(_) => errs.push(Violation::new(
            "/components/pathItems",
            "`components.pathItems` is OpenAPI 3.1 only; inline the path items under `paths`",
        )),
        None => {}
    }
    if let Some(Value::Object(schemes)) = components.get("securitySchemes") {
        for (name, scheme) in schemes {
            if scheme.get("type").and_then(Value::as_str) == Some("mutualTLS") {
                errs.push(Violation::new(
                    ptr(&ptr("/components/securitySchemes", name), "type"),
                    "`mutualTLS` security schemes are OpenAPI 3.1 only (progenitor ignores \
                     security schemes anyway); remove it and configure the client certificate \
                     on the reqwest client",
                ));
            }
        }
    }
}

/// How to fix a JSON Schema 2020-12 keyword that has no OpenAPI 3.0 form.
fn unsupported_hint(keyword: &str) -> &'static str {
    match keyword {
        "prefixItems" => "model the array with a single `items` schema",
        "$defs" | "definitions" => "move the definitions to components/schemas and `$ref` them",
        "unevaluatedProperties" => "use `additionalProperties` instead",
        "patternProperties" => "use `additionalProperties` with the value schema",
        "if" | "then" | "else" => "rewrite the condition as `oneOf`",
        "dependentSchemas" | "dependentRequired" => "rewrite as `oneOf` or drop the dependency",
        "$schema" | "$id" | "$anchor" | "$dynamicRef" | "$dynamicAnchor" | "$vocabulary" => {
            "remove it; OpenAPI 3.0 schemas have no dialects or identifiers"
        }
        _ => "remove it",
    }
}

/// Keywords that only make sense for one JSON type (moved into the `oneOf` branch of that type
/// when a type array is split).
fn type_keywords(t: &str) -> &'static [&'static str] {
    match t {
        "string" => &["minLength", "maxLength", "pattern"],
        "number" | "integer" => {
            &["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"]
        }
        "array" => &["items", "minItems", "maxItems", "uniqueItems"],
        "object" => {
            &["properties", "required", "additionalProperties", "minProperties", "maxProperties"]
        }
        _ => &[],
    }
}

fn value_has_type(v: &Value, t: &str) -> bool {
    match t {
        "string" => v.is_string(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        "boolean" => v.is_boolean(),
        "array" => v.is_array(),
        "object" => v.is_object(),
        _ => false,
    }
}

/// A converted `null` schema: `{enum: [null]}` with only annotations beside it.
fn is_null_schema(v: &Value) -> bool {
    let Some(m) = v.as_object() else {
        return false;
    };
    m.get("enum") == Some(&json!([null]))
        && m.keys().all(|k| {
            matches!(
                k.as_str(),
                "enum"
                    | "nullable"
                    | "description"
                    | "title"
                    | "example"
                    | "deprecated"
                    | "readOnly"
                    | "writeOnly"
            )
        })
}

/// Turns the schema into "only null": `enum: [null]` (in `at`'s place) + `nullable: true`.
fn make_null_only(m: &mut Map<String, Value>, at: &str) {
    if m.contains_key("enum") {
        m.shift_remove(at);
    } else {
        replace_key(m, at, vec![("enum", json!([null]))]);
    }
    set_nullable(m);
}

fn convert_schema(node: &mut Value, p: &str, errs: &mut Vec<Violation>) {
    match node {
        Value::Bool(true) => {
            *node = Value::Object(Map::new());
            return;
        }
        Value::Bool(false) => {
            errs.push(Violation::new(
                p,
                "a `false` schema (matches nothing) has no OpenAPI 3.0 form; remove the \
                 property or branch",
            ));
            return;
        }
        _ => {}
    }
    let Some(m) = node.as_object_mut() else {
        return;
    };
    report_unsupported(m, p, errs);
    convert_annotations(m, p, errs);
    convert_const(m, p, errs);
    convert_exclusive_bounds(m);
    convert_examples(m, p, errs);
    convert_ref_siblings(m);
    convert_type(m, p, errs);
    convert_null_branches(m);
}

/// JSON Schema 2020-12 keywords and tuple `items`, which have no OpenAPI 3.0 form.
fn report_unsupported(m: &Map<String, Value>, p: &str, errs: &mut Vec<Violation>) {
    for kw in KEYWORDS_31 {
        if matches!(*kw, "$comment" | "contentMediaType" | "contentEncoding") {
            continue;
        }
        if m.contains_key(*kw) {
            errs.push(Violation::new(
                ptr(p, kw),
                format!(
                    "`{kw}` (JSON Schema 2020-12) has no OpenAPI 3.0 equivalent; {}",
                    unsupported_hint(kw)
                ),
            ));
        }
    }
    if m.get("items").is_some_and(Value::is_array) {
        errs.push(Violation::new(
            ptr(p, "items"),
            "tuple `items` (an array of schemas) has no OpenAPI 3.0 form; use a single schema",
        ));
    }
}

/// Pure annotations: `$comment` and `contentMediaType` dropped, `contentEncoding: base64` →
/// `format: byte`.
fn convert_annotations(m: &mut Map<String, Value>, p: &str, errs: &mut Vec<Violation>) {
    m.shift_remove("$comment");
    m.shift_remove("contentMediaType");
    match m.get("contentEncoding").and_then(Value::as_str) {
        None if !m.contains_key("contentEncoding") => {}
        Some("base64") if !m.contains_key("format") => {
            replace_key(m, "contentEncoding", vec![("format", json!("byte"))]);
        }
        Some("base64") => {
            m.shift_remove("contentEncoding");
        }
        _ => errs.push(Violation::new(
            ptr(p, "contentEncoding"),
            "only `contentEncoding: base64` has an OpenAPI 3.0 form (`format: byte`); \
             describe the string without it",
        )),
    }
}

/// `const: X` → `enum: [X]` (and `nullable` for `const: null`).
fn convert_const(m: &mut Map<String, Value>, p: &str, errs: &mut Vec<Violation>) {
    let Some(c) = m.get("const").cloned() else {
        return;
    };
    match m.get("enum") {
        None => replace_key(m, "const", vec![("enum", json!([c.clone()]))]),
        Some(Value::Array(values)) if values.contains(&c) => {
            m.insert("enum".into(), json!([c.clone()]));
            m.shift_remove("const");
        }
        Some(_) => errs.push(Violation::new(
            ptr(p, "const"),
            "`const` contradicts `enum`; keep only one of them",
        )),
    }
    if c.is_null() {
        set_nullable(m);
    }
}

/// Numeric exclusive bounds → bound + boolean flag (the stricter bound wins).
fn convert_exclusive_bounds(m: &mut Map<String, Value>) {
    for (kw, bound, is_min) in
        [("exclusiveMinimum", "minimum", true), ("exclusiveMaximum", "maximum", false)]
    {
        let Some(Value::Number(n)) = m.get(kw).cloned() else {
            continue;
        };
        let limit = n.as_f64().unwrap_or(f64::NAN);
        match m.get(bound).and_then(Value::as_f64) {
            // The inclusive bound is stricter: the exclusive one is redundant.
            Some(b) if (is_min && b > limit) || (!is_min && b < limit) => {
                m.shift_remove(kw);
            }
            Some(_) => {
                m.insert(bound.into(), Value::Number(n));
                m.insert(kw.into(), Value::Bool(true));
            }
            None => replace_key(m, kw, vec![(bound, Value::Number(n)), (kw, Value::Bool(true))]),
        }
    }
}

/// A schema's `examples: [a, ..]` → `example: a`.
fn convert_examples(m: &mut Map<String, Value>, p: &str, errs: &mut Vec<Violation>) {
    match m.get("examples") {
        None => {}
        Some(Value::Array(list)) => match list.first().cloned() {
            Some(first) if !m.contains_key("example") => {
                replace_key(m, "examples", vec![("example", first)]);
            }
            _ => {
                m.shift_remove("examples");
            }
        },
        Some(_) => errs.push(Violation::new(
            ptr(p, "examples"),
            "a schema's `examples` must be an array; use a single `example`",
        )),
    }
}

/// `$ref` with siblings: 3.1 applies both, 3.0 ignores the siblings, so the reference moves
/// into `allOf`.
fn convert_ref_siblings(m: &mut Map<String, Value>) {
    let Some(reference) = m.get("$ref").cloned() else {
        return;
    };
    if ignored_ref_siblings(m).is_empty() {
        return;
    }
    let wrapped = json!({ "$ref": reference });
    if let Some(Value::Array(all)) = m.get_mut("allOf") {
        all.insert(0, wrapped);
        m.shift_remove("$ref");
    } else {
        replace_key(m, "$ref", vec![("allOf", json!([wrapped]))]);
    }
}

/// `null` branches of `oneOf` / `anyOf` dropped and the schema marked nullable; a sole
/// remaining branch is hoisted.
fn convert_null_branches(m: &mut Map<String, Value>) {
    for kw in ["oneOf", "anyOf"] {
        let Some(Value::Array(branches)) = m.get(kw) else {
            continue;
        };
        if !branches.iter().any(is_null_schema) {
            continue;
        }
        let mut rest: Vec<Value> =
            branches.iter().filter(|b| !is_null_schema(b)).cloned().collect();
        match rest.len() {
            0 => make_null_only(m, kw),
            1 => {
                hoist(m, kw, rest.remove(0));
                set_nullable(m);
            }
            _ => {
                m.insert(kw.into(), Value::Array(rest));
                set_nullable(m);
            }
        }
    }
}

/// Replaces `kw` (a `oneOf`/`anyOf` left with one branch) by that branch: a reference goes into
/// `allOf` (3.0 ignores `$ref` siblings such as `nullable`), an inline schema is merged into the
/// parent unless it conflicts with the parent's own members (then it goes into `allOf` too).
fn hoist(m: &mut Map<String, Value>, kw: &str, branch: Value) {
    let mergeable = match &branch {
        Value::Object(b) if !b.contains_key("$ref") => b.iter().all(|(k, v)| {
            k == "nullable"
                || k == kw
                || matches!(k.as_str(), "description" | "title" | "example")
                || m.get(k).is_none_or(|pv| pv == v)
        }),
        _ => false,
    };
    if mergeable {
        let Value::Object(b) = branch else {
            return;
        };
        let entries: Vec<(String, Value)> = b
            .into_iter()
            .filter(|(k, _)| k != "nullable" && (k == kw || !m.contains_key(k)))
            .collect();
        replace_key(m, kw, entries.iter().map(|(k, v)| (k.as_str(), v.clone())).collect());
    } else if let Some(Value::Array(all)) = m.get_mut("allOf") {
        all.push(branch);
        m.shift_remove(kw);
    } else {
        replace_key(m, kw, vec![("allOf", json!([branch]))]);
    }
}

/// `type: 'null'` and `type` arrays.
fn convert_type(m: &mut Map<String, Value>, p: &str, errs: &mut Vec<Violation>) {
    let types = match m.get("type") {
        Some(Value::String(t)) if t == "null" => {
            make_null_only(m, "type");
            return;
        }
        Some(Value::Array(types)) => types.clone(),
        _ => return,
    };
    let mut names: Vec<String> = Vec::new();
    let mut has_null = false;
    for t in &types {
        match t.as_str() {
            Some("null") => has_null = true,
            Some(s) if !names.iter().any(|n| n == s) => names.push(s.to_string()),
            Some(_) => {}
            None => {
                errs.push(Violation::new(
                    ptr(p, "type"),
                    "`type` array entries must be type names",
                ));
                return;
            }
        }
    }
    // Every integer is a number: `[integer, number]` is just `number`.
    if names.iter().any(|n| n == "number") {
        names.retain(|n| n != "integer");
    }
    // An enum restricts the types to those of its values.
    if let Some(values) = m.get("enum").and_then(Value::as_array) {
        names.retain(|t| values.iter().any(|v| value_has_type(v, t)));
    }

    match names.as_slice() {
        [] => make_null_only(m, "type"),
        [single] => {
            m.insert("type".into(), Value::String(single.clone()));
            if has_null {
                set_nullable(m);
            }
        }
        _ if m.contains_key("oneOf") || m.contains_key("anyOf") => errs.push(Violation::new(
            ptr(p, "type"),
            "a `type` array with several types next to `oneOf`/`anyOf` has no direct \
             OpenAPI 3.0 form; rewrite it as one `oneOf` of single-type schemas",
        )),
        _ => {
            split_types(m, &names);
            if has_null {
                set_nullable(m);
            }
        }
    }
}

/// Replaces a `type` array of several (non-null) types by a `oneOf` of single-type schemas,
/// moving the keywords that apply to one type only (and the enum values of that type) into
/// its branch.
fn split_types(m: &mut Map<String, Value>, names: &[String]) {
    let enum_values = m.get("enum").and_then(Value::as_array).cloned();
    let format = m.get("format").and_then(Value::as_str).map(str::to_string);
    let format_type = format.as_deref().map(|f| match f {
        "int32" | "int64" if names.iter().any(|n| n == "integer") => "integer",
        "int32" | "int64" | "float" | "double" => "number",
        _ => "string",
    });
    let mut moved: Vec<&str> = Vec::new();
    let mut branches = Vec::new();
    for t in names {
        let mut branch = Map::new();
        branch.insert("type".into(), Value::String(t.clone()));
        if format_type == Some(t.as_str()) {
            branch.insert("format".into(), json!(format));
            moved.push("format");
        }
        for kw in type_keywords(t) {
            if let Some(v) = m.get(*kw) {
                branch.insert((*kw).into(), v.clone());
                moved.push(kw);
            }
        }
        if let Some(values) = &enum_values {
            let mine: Vec<Value> =
                values.iter().filter(|v| value_has_type(v, t)).cloned().collect();
            branch.insert("enum".into(), Value::Array(mine));
            moved.push("enum");
        }
        branches.push(Value::Object(branch));
    }
    for kw in moved {
        m.shift_remove(kw);
    }
    replace_key(m, "type", vec![("oneOf", Value::Array(branches))]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules;

    /// The converted document parses with openapiv3 and progenitor generates from it.
    fn parses(doc: &Value) {
        rules::testing::assert_generates(doc);
    }

    /// A 3.1 document with `schema` as component schema `S` and a path using it.
    fn doc_with(schema: Value) -> Value {
        json!({
            "openapi": "3.1.0",
            "info": {"title": "t", "version": "1"},
            "paths": {"/s": {"get": {"operationId": "get-s", "responses": {"200": {
                "description": "ok",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/S"}}}
            }}}}},
            "components": {"schemas": {"S": schema}}
        })
    }

    /// Converts `schema` (as component `S`), checks the document parses with openapiv3 and
    /// passes the rules, and returns the converted schema.
    fn convert(schema: Value) -> Value {
        let mut doc = doc_with(schema);
        downconvert(&mut doc).expect("converts");
        assert_eq!(doc["openapi"], "3.0.3");
        parses(&doc);
        assert_eq!(rules::check(&doc), vec![], "{doc:#}");
        doc["components"]["schemas"]["S"].clone()
    }

    /// Asserts equality including key order.
    fn same(actual: Value, expected: Value) {
        assert_eq!(actual.to_string(), expected.to_string());
    }

    #[test]
    fn type_array_with_null() {
        same(
            convert(json!({"type": ["string", "null"], "format": "email"})),
            json!({"type": "string", "nullable": true, "format": "email"}),
        );
        same(convert(json!({"type": ["integer"]})), json!({"type": "integer"}));
    }

    #[test]
    fn type_array_with_several_types() {
        same(
            convert(json!({
                "description": "d",
                "type": ["string", "integer", "null"],
                "minLength": 1,
                "minimum": 0,
                "format": "int64"
            })),
            json!({
                "description": "d",
                "oneOf": [
                    {"type": "string", "minLength": 1},
                    {"type": "integer", "format": "int64", "minimum": 0}
                ],
                "nullable": true
            }),
        );
        same(convert(json!({"type": ["integer", "number"]})), json!({"type": "number"}));
        // The enum's values decide which types remain.
        same(
            convert(json!({"type": ["string", "integer", "null"], "enum": ["a", "b", null]})),
            json!({"type": "string", "nullable": true, "enum": ["a", "b", null]}),
        );
        same(
            convert(json!({"type": ["string", "boolean"], "enum": ["a", true]})),
            json!({"oneOf": [
                {"type": "string", "enum": ["a"]},
                {"type": "boolean", "enum": [true]}
            ]}),
        );
    }

    #[test]
    fn null_type_alone() {
        same(
            convert(json!({"type": "null", "description": "always null"})),
            json!({"enum": [null], "description": "always null", "nullable": true}),
        );
        same(convert(json!({"type": ["null"]})), json!({"enum": [null], "nullable": true}));
    }

    #[test]
    fn one_of_with_null_and_ref() {
        let mut doc = doc_with(json!({
            "type": "object",
            "properties": {
                "owner": {
                    "description": "may be null",
                    "oneOf": [{"$ref": "#/components/schemas/T"}, {"type": "null"}]
                },
                "either": {
                    "anyOf": [
                        {"$ref": "#/components/schemas/T"},
                        {"type": "string"},
                        {"type": "null"}
                    ]
                },
                "never": {"oneOf": [{"type": "null"}]}
            }
        }));
        doc["components"]["schemas"]["T"] = json!({"type": "string"});
        downconvert(&mut doc).unwrap();
        parses(&doc);
        assert_eq!(rules::check(&doc), vec![]);
        let props = &doc["components"]["schemas"]["S"]["properties"];
        same(
            props["owner"].clone(),
            json!({
                "description": "may be null",
                "allOf": [{"$ref": "#/components/schemas/T"}],
                "nullable": true
            }),
        );
        same(
            props["either"].clone(),
            json!({
                "anyOf": [{"$ref": "#/components/schemas/T"}, {"type": "string"}],
                "nullable": true
            }),
        );
        same(props["never"].clone(), json!({"enum": [null], "nullable": true}));
    }

    #[test]
    fn one_of_with_null_and_inline_schema() {
        same(
            convert(json!({
                "description": "outer",
                "oneOf": [
                    {"type": "object", "description": "inner", "properties": {"a": {"type": "string"}}},
                    {"type": "null"}
                ]
            })),
            json!({
                "description": "outer",
                "type": "object",
                "nullable": true,
                "properties": {"a": {"type": "string"}}
            }),
        );
        // A conflicting branch is kept whole, in allOf.
        same(
            convert(json!({
                "type": "object",
                "anyOf": [{"type": "string"}, {"const": null}]
            })),
            json!({"type": "object", "nullable": true, "allOf": [{"type": "string"}]}),
        );
    }

    #[test]
    fn any_or_null() {
        // Vlens `error_descriptions`: any JSON value, including null.
        same(
            convert(json!({"oneOf": [{"description": "Any type"}, {"type": "null"}]})),
            json!({"description": "Any type", "nullable": true}),
        );
    }

    #[test]
    fn const_to_enum() {
        same(
            convert(json!({"type": "string", "const": "team", "description": "d"})),
            json!({"type": "string", "enum": ["team"], "description": "d"}),
        );
        same(
            convert(json!({"type": "string", "enum": ["a", "b"], "const": "b"})),
            json!({"type": "string", "enum": ["b"]}),
        );
    }

    #[test]
    fn exclusive_bounds() {
        same(
            convert(json!({"type": "integer", "exclusiveMinimum": 0, "exclusiveMaximum": 10})),
            json!({
                "type": "integer",
                "minimum": 0,
                "exclusiveMinimum": true,
                "maximum": 10,
                "exclusiveMaximum": true
            }),
        );
        // The stricter bound wins.
        same(
            convert(json!({"type": "number", "minimum": 5, "exclusiveMinimum": 1.5})),
            json!({"type": "number", "minimum": 5}),
        );
        same(
            convert(json!({"type": "number", "maximum": 5, "exclusiveMaximum": 1.5})),
            json!({"type": "number", "maximum": 1.5, "exclusiveMaximum": true}),
        );
    }

    #[test]
    fn examples_in_schemas_only() {
        let mut doc = json!({
            "openapi": "3.1.0",
            "info": {"title": "t", "version": "1"},
            "paths": {"/s": {"get": {
                "operationId": "get-s",
                "parameters": [{
                    "name": "q", "in": "query",
                    "schema": {"type": "string", "examples": ["x", "y"]},
                    "examples": {"one": {"value": "x"}}
                }],
                "responses": {"200": {
                    "description": "ok",
                    "content": {"application/json": {
                        "schema": {"type": "object", "properties": {"examples": {"type": "string", "examples": ["e"]}}},
                        "examples": {"full": {"value": {"examples": "e"}}}
                    }}
                }}
            }}}
        });
        downconvert(&mut doc).unwrap();
        parses(&doc);
        let op = &doc["paths"]["/s"]["get"];
        same(
            op["parameters"][0].clone(),
            json!({
                "name": "q", "in": "query",
                "schema": {"type": "string", "example": "x"},
                "examples": {"one": {"value": "x"}}
            }),
        );
        let media = &op["responses"]["200"]["content"]["application/json"];
        same(
            media["schema"].clone(),
            json!({"type": "object", "properties": {"examples": {"type": "string", "example": "e"}}}),
        );
        same(media["examples"].clone(), json!({"full": {"value": {"examples": "e"}}}));
    }

    #[test]
    fn ref_siblings_and_annotations() {
        let mut doc = doc_with(json!({
            "type": "object",
            "properties": {
                "a": {"$ref": "#/components/schemas/T", "description": "kept as is"},
                "b": {"$ref": "#/components/schemas/T", "readOnly": true},
                "c": true,
                "d": {"type": "string", "contentEncoding": "base64", "contentMediaType": "image/png", "$comment": "x"}
            }
        }));
        doc["components"]["schemas"]["T"] = json!({"type": "string"});
        downconvert(&mut doc).unwrap();
        parses(&doc);
        assert_eq!(rules::check(&doc), vec![]);
        same(
            doc["components"]["schemas"]["S"]["properties"].clone(),
            json!({
                "a": {"$ref": "#/components/schemas/T", "description": "kept as is"},
                "b": {"allOf": [{"$ref": "#/components/schemas/T"}], "readOnly": true},
                "c": {},
                "d": {"type": "string", "format": "byte"}
            }),
        );
    }

    #[test]
    fn document_level() {
        let mut doc = json!({
            "openapi": "3.1.1",
            "info": {
                "title": "t",
                "summary": "3.1 only",
                "version": "1",
                "license": {"name": "MIT", "identifier": "MIT"}
            },
            "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
            "webhooks": {},
            "components": {"pathItems": {}}
        });
        downconvert(&mut doc).unwrap();
        parses(&doc);
        same(
            doc,
            json!({
                "openapi": "3.0.3",
                "info": {"title": "t", "version": "1", "license": {"name": "MIT"}},
                "paths": {},
                "components": {}
            }),
        );
    }

    #[test]
    fn schemas_everywhere() {
        let nullable = || json!({"type": ["string", "null"]});
        let converted = json!({"type": "string", "nullable": true});
        let mut doc = json!({
            "openapi": "3.1.0",
            "info": {"title": "t", "version": "1"},
            "paths": {"/s/{id}": {
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": ["string"]}}],
                "post": {
                    "operationId": "post-s",
                    "parameters": [{"name": "h", "in": "header", "schema": nullable()}],
                    "requestBody": {"content": {"application/json": {"schema": {
                        "type": "object",
                        "properties": {"p": {"type": "array", "items": nullable()}},
                        "additionalProperties": nullable()
                    }}}},
                    "responses": {"200": {
                        "description": "ok",
                        "headers": {"X-H": {"schema": nullable()}},
                        "content": {"application/json": {"schema": {
                            "allOf": [{"type": "object", "properties": {"n": nullable()}}]
                        }}}
                    }}
                }
            }},
            "components": {
                "parameters": {"P": {"name": "p", "in": "query", "schema": nullable()}},
                "headers": {"H": {"schema": nullable()}},
                "requestBodies": {"B": {"content": {"application/json": {"schema": nullable()}}}},
                "responses": {"R": {"description": "", "content": {"application/json": {"schema": nullable()}}}}
            }
        });
        downconvert(&mut doc).unwrap();
        parses(&doc);
        for p in [
            "/paths/~1s~1{id}/post/parameters/0/schema",
            "/paths/~1s~1{id}/post/requestBody/content/application~1json/schema/properties/p/items",
            "/paths/~1s~1{id}/post/requestBody/content/application~1json/schema/additionalProperties",
            "/paths/~1s~1{id}/post/responses/200/headers/X-H/schema",
            "/paths/~1s~1{id}/post/responses/200/content/application~1json/schema/allOf/0/properties/n",
            "/components/parameters/P/schema",
            "/components/headers/H/schema",
            "/components/requestBodies/B/content/application~1json/schema",
            "/components/responses/R/content/application~1json/schema",
        ] {
            assert_eq!(doc.pointer(p), Some(&converted), "{p}");
        }
        assert_eq!(
            doc.pointer("/paths/~1s~1{id}/parameters/0/schema"),
            Some(&json!({"type": "string"}))
        );
    }

    #[test]
    fn openapi_30_is_untouched() {
        let original = json!({
            "openapi": "3.0.3",
            "info": {"title": "t", "version": "1"},
            "paths": {},
            "components": {"schemas": {"S": {
                "type": ["string", "null"], "const": 1, "examples": [1], "exclusiveMinimum": 3
            }}}
        });
        let mut doc = original.clone();
        assert_eq!(downconvert(&mut doc), Ok(()));
        assert_eq!(doc, original);
        assert_eq!(doc.to_string(), original.to_string());
    }

    #[test]
    fn unsupported_versions() {
        for (doc, needle) in [
            (json!({"swagger": "2.0", "info": {}}), "missing"),
            (json!({"openapi": "3.2.0"}), "3.2.0"),
            (json!({"openapi": "2.0"}), "2.0"),
            (json!({"openapi": 3.1}), "string"),
        ] {
            let mut converted = doc.clone();
            let errs = downconvert(&mut converted).unwrap_err();
            assert_eq!(errs.len(), 1);
            assert_eq!(errs[0].pointer, "/openapi");
            assert!(errs[0].message.contains(needle), "{}", errs[0].message);
            assert_eq!(converted, doc);
        }
    }

    #[test]
    fn unsupported_constructs_are_reported() {
        let mut doc = json!({
            "openapi": "3.1.0",
            "info": {"title": "t", "version": "1"},
            "webhooks": {"ping": {"post": {"responses": {"200": {"description": ""}}}}},
            "paths": {"/s": {"get": {"operationId": "s"}}},
            "components": {
                "pathItems": {"P": {}},
                "securitySchemes": {"tls": {"type": "mutualTLS"}},
                "schemas": {
                    "Tuple": {"type": "array", "prefixItems": [{"type": "string"}]},
                    "Defs": {"$schema": "https://json-schema.org/draft/2020-12/schema", "$defs": {"x": {"type": "string"}}},
                    "Closed": {"type": "object", "unevaluatedProperties": false},
                    "Cond": {"if": {"type": "string"}, "then": {"minLength": 1}, "else": {"type": "integer"}},
                    "Dep": {"type": "object", "dependentSchemas": {"a": {"required": ["b"]}}},
                    "Never": {"type": "object", "properties": {"gone": false}},
                    "Enc": {"type": "string", "contentEncoding": "base32"}
                }
            }
        });
        let errs = downconvert(&mut doc).unwrap_err();
        let pointers: Vec<&str> = errs.iter().map(|e| e.pointer.as_str()).collect();
        assert_eq!(
            pointers,
            vec![
                "/components/pathItems",
                "/components/schemas/Closed/unevaluatedProperties",
                "/components/schemas/Cond/else",
                "/components/schemas/Cond/if",
                "/components/schemas/Cond/then",
                "/components/schemas/Defs/$defs",
                "/components/schemas/Defs/$schema",
                "/components/schemas/Dep/dependentSchemas",
                "/components/schemas/Enc/contentEncoding",
                "/components/schemas/Never/properties/gone",
                "/components/schemas/Tuple/prefixItems",
                "/components/securitySchemes/tls/type",
                "/paths/~1s/get",
                "/webhooks",
            ]
        );
        assert!(errs.iter().all(|e| !e.message.is_empty()));
    }

    fn vlens() -> Value {
        let path = format!("{}/tests/fixtures/vlens-fragment-3.1.yaml", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        serde_norway::from_str(&text).unwrap()
    }

    #[test]
    fn vlens_fragment() {
        let mut doc = vlens();
        assert!(serde_json::from_value::<openapiv3::OpenAPI>(doc.clone()).is_err());
        downconvert(&mut doc).expect("converts");
        parses(&doc);
        assert_eq!(rules::check(&doc), vec![]);
        let schemas = &doc["components"]["schemas"];
        same(
            schemas["CreateAuthSessionInput"]["properties"]["email"].clone(),
            json!({"type": "string", "nullable": true, "format": "email"}),
        );
        same(
            schemas["ApiOutputString"]["properties"]["error_code"].clone(),
            json!({"type": "integer", "nullable": true}),
        );
        same(
            schemas["ApiOutputString"]["properties"]["error_descriptions"].clone(),
            json!({"description": "Any type", "nullable": true}),
        );
        // Deterministic, and idempotent once converted (3.0.3 now).
        let mut again = vlens();
        downconvert(&mut again).unwrap();
        assert_eq!(again.to_string(), doc.to_string());
        let before = doc.clone();
        downconvert(&mut doc).unwrap();
        assert_eq!(doc, before);
    }
}
