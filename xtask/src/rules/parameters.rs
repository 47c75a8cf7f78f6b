//! Parameters (rules 6 and 10): path templates match the `in: path` parameters, which are
//! required; no cookie parameters; `schema` rather than `content`; default styles; names unique
//! once they are Rust arguments.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::Violation;
use super::names::operation_method_name;
use super::operations::Op;
use crate::walk::{ptr, resolve};

/// A parameter in effect for an operation (path-level ones overridden by the operation's).
struct Param<'a> {
    name: &'a str,
    location: &'a str,
    /// Where the parameter is used (the array entry).
    use_ptr: String,
    /// Where the parameter is defined (the entry, or the component it references).
    def_ptr: String,
    def: &'a Value,
}

/// Parses a path template into its parameter names, or says what is wrong with it.
fn template_names(path: &str) -> Result<Vec<&str>, String> {
    if !path.starts_with('/') {
        return Err("path must start with `/`".into());
    }
    let mut names = Vec::new();
    let mut rest = path;
    while let Some(open) = rest.find(['{', '}']) {
        if rest.as_bytes()[open] == b'}' {
            return Err("unexpected `}`".into());
        }
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            return Err("unterminated `{`".into());
        };
        let name = &after[..close];
        if name.is_empty() || name.contains(['/', '{']) {
            return Err(format!("invalid parameter name `{name}`"));
        }
        names.push(name);
        rest = &after[close + 1..];
    }
    Ok(names)
}

fn collect_params<'a>(
    doc: &'a Value,
    list: Option<&'a Value>,
    base: &str,
    params: &mut Vec<Param<'a>>,
    out: &mut Vec<Violation>,
) {
    let Some(list) = list.and_then(Value::as_array) else {
        return;
    };
    for (i, entry) in list.iter().enumerate() {
        let use_ptr = ptr(&ptr(base, "parameters"), &i.to_string());
        let Some((def, def_ptr)) = resolve(doc, entry, use_ptr.clone(), "parameters") else {
            continue;
        };
        let (Some(name), Some(location)) =
            (def.get("name").and_then(Value::as_str), def.get("in").and_then(Value::as_str))
        else {
            out.push(Violation::new(
                def_ptr,
                "parameter needs string `name` and `in` members; add them",
            ));
            continue;
        };
        // Operation parameters override path-level ones with the same name and location.
        params.retain(|p| !(p.name == name && p.location == location));
        params.push(Param { name, location, use_ptr, def_ptr, def });
    }
}

pub(super) fn check_parameters(doc: &Value, op: &Op<'_>, out: &mut Vec<Violation>) {
    let mut params = Vec::new();
    collect_params(doc, op.path_item.get("parameters"), &op.path_ptr, &mut params, out);
    collect_params(doc, op.op.get("parameters"), &op.ptr, &mut params, out);

    let names = template_params(op, out);
    for n in &names {
        if !params.iter().any(|p| p.location == "path" && p.name == *n) {
            out.push(Violation::new(
                op.ptr.clone(),
                format!(
                    "path template parameter `{{{n}}}` has no `in: path` parameter; declare \
                     `{{name: {n}, in: path, required: true, schema: ...}}`"
                ),
            ));
        }
    }

    let mut rust_names: BTreeMap<String, &Param<'_>> = BTreeMap::new();
    for p in &params {
        check_location(p, op.path, &names, out);
        check_style(p, out);
        check_schema_member(p, out);
        if p.location == "cookie" {
            continue;
        }
        let rust = operation_method_name(p.name);
        if let Some(other) = rust_names.get(&rust) {
            out.push(Violation::new(
                p.use_ptr.clone(),
                format!(
                    "parameter `{}` collides with `{}` at {}: both become the Rust argument \
                     `{rust}`; rename one",
                    p.name, other.name, other.use_ptr
                ),
            ));
        } else {
            rust_names.insert(rust, p);
        }
    }
}

/// The parameter names of the operation's path template, each reported once if used twice.
fn template_params<'a>(op: &Op<'a>, out: &mut Vec<Violation>) -> Vec<&'a str> {
    match template_names(op.path) {
        Ok(names) => {
            let mut seen = BTreeSet::new();
            for n in &names {
                if !seen.insert(*n) {
                    out.push(Violation::new(
                        op.path_ptr.clone(),
                        format!(
                            "path template uses `{{{n}}}` twice; give each segment its own name"
                        ),
                    ));
                }
            }
            names
        }
        Err(e) => {
            out.push(Violation::new(
                op.path_ptr.clone(),
                format!("invalid path template `{}`: {e}; fix the path", op.path),
            ));
            Vec::new()
        }
    }
}

/// Cookie parameters are unsupported; path parameters must be in the template and required.
fn check_location(p: &Param<'_>, path: &str, template: &[&str], out: &mut Vec<Violation>) {
    let name = p.name;
    match p.location {
        "cookie" => out.push(Violation::new(
            p.use_ptr.clone(),
            format!(
                "cookie parameter `{name}`: progenitor does not support cookie parameters; \
                 remove it and send the cookie via a reqwest default header or \
                 ClientHooks::pre"
            ),
        )),
        "path" => {
            if !template.contains(&name) {
                out.push(Violation::new(
                    p.use_ptr.clone(),
                    format!(
                        "path parameter `{name}` does not appear in the path template `{path}`; \
                         rename it to match a `{{...}}` segment or remove it"
                    ),
                ));
            }
            if p.def.get("required").and_then(Value::as_bool) != Some(true) {
                out.push(Violation::new(
                    p.def_ptr.clone(),
                    format!(
                        "path parameter `{name}` must be `required: true` (progenitor \
                         asserts it); add `required: true`"
                    ),
                ));
            }
        }
        "query" | "header" => {}
        other => out.push(Violation::new(
            ptr(&p.def_ptr, "in"),
            format!("unknown parameter location `{other}`; use path, query or header"),
        )),
    }
}

/// progenitor serialises path and header parameters `simple`, query parameters `form`.
fn check_style(p: &Param<'_>, out: &mut Vec<Violation>) {
    let allowed = match p.location {
        "path" | "header" => "simple",
        "query" => "form",
        _ => return,
    };
    if let Some(style) = p.def.get("style").and_then(Value::as_str)
        && style != allowed
    {
        out.push(Violation::new(
            ptr(&p.def_ptr, "style"),
            format!(
                "progenitor supports only `style: {allowed}` for {} parameters; \
                 remove `style: {style}`",
                p.location
            ),
        ));
    }
}

/// A parameter is described by `schema`, never by `content`.
fn check_schema_member(p: &Param<'_>, out: &mut Vec<Violation>) {
    let name = p.name;
    if p.def.get("content").is_some() {
        out.push(Violation::new(
            ptr(&p.def_ptr, "content"),
            format!(
                "parameter `{name}` uses `content`, which progenitor does not support; \
                 describe it with `schema` instead"
            ),
        ));
    } else if p.def.get("schema").is_none() {
        out.push(Violation::new(
            p.def_ptr.clone(),
            format!("parameter `{name}` has no `schema`; add one"),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::template_names;
    use crate::rules::testing::single;

    #[test]
    fn path_templates() {
        assert_eq!(template_names("/teams/{id}/members/{member}"), Ok(vec!["id", "member"]));
        assert!(template_names("teams").is_err());
        assert!(template_names("/teams/{id").is_err());
        assert!(template_names("/teams/id}").is_err());
    }

    #[test]
    fn cookie_parameter() {
        single("cookie-parameter", "/paths/~1teams/get/parameters/1");
    }

    #[test]
    fn parameter_style() {
        single("parameter-style", "/paths/~1teams/get/parameters/0/style");
    }

    #[test]
    fn parameter_content() {
        single("parameter-content", "/paths/~1teams/get/parameters/0/content");
    }

    #[test]
    fn parameter_name_collision() {
        single("parameter-name-collision", "/paths/~1teams/get/parameters/1");
    }

    #[test]
    fn path_params_missing() {
        single("path-params-missing", "/paths/~1teams~1{id}/get");
    }

    #[test]
    fn path_params_extra() {
        single("path-params-extra", "/paths/~1teams/get/parameters/0");
    }

    #[test]
    fn path_params_required() {
        single("path-params-required", "/components/parameters/TeamId");
    }
}
