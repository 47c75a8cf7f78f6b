//! `cargo xtask spec-drift <PROVIDER> <FILE>...`: what a provider publishes, compared with our
//! spec.
//!
//! Each FILE is a published page (markdown embedding `openapi:` blocks, the page's `.md` form)
//! or a bare OpenAPI document. Each fragment is down-converted like codegen does, then compared
//! operation by operation with `specs/<PROVIDER>.yaml` (down-converted too; see `compare.rs` for
//! what is compared). A fragment says nothing about the operations it does not contain, except
//! that an operation of ours is *covered* when the page's prose names it (`POST https://…`) or
//! the fragment holds its `operationId` elsewhere: a covered operation missing from the
//! fragment was removed (or moved) upstream.
//!
//! Every difference is one [`Difference`], classified as [`Class::NewUpstream`] (the published
//! side added, changed or removed something), [`Class::KnownDeviation`] (our spec explains it in
//! an `x-deviation` note at that place or above it) or [`Class::OursOnly`] (response statuses
//! and security requirements we add from other pages).

mod compare;
mod source;

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;

use serde_json::{Value, json};

use crate::codegen::{Provider, load_spec};
use crate::downconvert::downconvert;
use crate::walk::ptr;
use compare::{At, Comparison, Found, Kind, note_of, operations};

/// How a difference is classified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Class {
    /// Added or changed in the published fragment (or removed from it), and not in ours.
    NewUpstream,
    /// Explained by an `x-deviation` note in our spec.
    KnownDeviation,
    /// Something our spec adds from other pages (response statuses, security requirements).
    OursOnly,
}

impl Class {
    /// The label used in reports: `new upstream`, `known deviation`, `ours only`.
    pub fn label(self) -> &'static str {
        match self {
            Class::NewUpstream => "new upstream",
            Class::KnownDeviation => "known deviation",
            Class::OursOnly => "ours only",
        }
    }
}

/// One difference between a published file and our spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// The published file, as given on the command line.
    pub file: String,
    /// JSON pointer into the published fragment, or into our spec when only ours has the value.
    pub pointer: String,
    /// The classification.
    pub class: Class,
    /// What the published fragment says (after down-conversion); `None` when it says nothing.
    pub published: Option<Value>,
    /// What our spec says (after down-conversion); `None` when it says nothing.
    pub ours: Option<Value>,
    /// The reason given by the `x-deviation` note, for a known deviation.
    pub deviation: Option<String>,
}

/// Loads and down-converts a document, rendering violations with `name`.
fn converted(mut doc: Value, name: &str) -> Result<Value, String> {
    downconvert(&mut doc).map_err(|v| {
        let lines: Vec<String> = v.iter().map(|v| v.render(name)).collect();
        format!("{name}: cannot be down-converted:\n{}", lines.join("\n"))
    })?;
    Ok(doc)
}

/// Compares each file with the provider's spec under `root`. Errors (unreadable or unusable
/// files, a spec that does not convert) are rendered messages.
pub fn drift(
    root: &Path,
    provider: &Provider,
    files: &[String],
) -> Result<Vec<Difference>, String> {
    let ours = load_spec(root, provider.spec).map_err(|e| e.to_string())?;
    let ours = converted(ours, provider.spec)?;
    let mut out = Vec::new();
    for file in files {
        let published = source::read(Path::new(file))?;
        let mut fragments = Vec::new();
        for (i, fragment) in published.fragments.into_iter().enumerate() {
            fragments.push(converted(fragment, &format!("{file} (fragment {})", i + 1))?);
        }
        let found = compare_file(&fragments, &published.documented, &ours);
        out.extend(found.into_iter().map(|f| classify(file, f)));
    }
    out.sort_by(|a, b| {
        let key = |d: &Difference| (d.class, d.pointer.clone(), render_line(d));
        files
            .iter()
            .position(|f| *f == a.file)
            .cmp(&files.iter().position(|f| *f == b.file))
            .then_with(|| key(a).cmp(&key(b)))
    });
    out.dedup();
    Ok(out)
}

fn classify(file: &str, f: Found) -> Difference {
    let class = match (&f.deviation, f.kind) {
        (Some(_), _) => Class::KnownDeviation,
        (None, Kind::Added) => Class::OursOnly,
        (None, Kind::Changed | Kind::Removed) => Class::NewUpstream,
    };
    Difference {
        file: file.to_string(),
        pointer: f.pointer,
        class,
        published: f.published,
        ours: f.ours,
        deviation: f.deviation,
    }
}

/// The differences of one file's fragments (`documented`: the operations its prose names).
fn compare_file(fragments: &[Value], documented: &[(String, String)], ours: &Value) -> Vec<Found> {
    let mut found = Vec::new();
    let mut listed = BTreeSet::new();
    let mut ids = BTreeSet::new();
    for fragment in fragments {
        let mut cmp = Comparison::new(fragment, ours);
        cmp.info();
        for (path, method, item) in operations(fragment) {
            listed.insert((path.clone(), method.to_string()));
            let op = &item[method];
            if let Some(id) = op.get("operationId").and_then(Value::as_str) {
                ids.insert(id.to_string());
            }
            match ours.get("paths").and_then(|p| p.get(path)) {
                Some(ours_item) if ours_item.get(method).is_some() => {
                    cmp.operation(path, method, item, ours_item);
                }
                _ => {
                    let at = At::both(&ptr(&ptr("/paths", path), method), None);
                    cmp.push(&at, Kind::Changed, Some(op), None);
                }
            }
        }
        found.extend(cmp.finish());
    }
    let servers = server_urls(ours);
    let documented: BTreeSet<(String, String)> = documented
        .iter()
        .map(|(method, url)| (source::operation_path(url, &servers), method.clone()))
        .collect();
    for (path, method, item) in operations(ours) {
        let op = &item[method];
        let id = op.get("operationId").and_then(Value::as_str).unwrap_or_default();
        let key = (path.clone(), method.to_string());
        let covered = documented.contains(&key) || ids.contains(id);
        if covered && !listed.contains(&key) {
            let at = ptr(&ptr("/paths", path), method);
            found.push(Found {
                pointer: at,
                kind: Kind::Removed,
                published: None,
                ours: Some(compare::shown(op)),
                deviation: note_of(op),
            });
        }
    }
    found
}

/// The `servers[].url`s of a document.
fn server_urls(doc: &Value) -> Vec<&str> {
    doc.get("servers")
        .and_then(Value::as_array)
        .map(|s| s.iter().filter_map(|s| s.get("url").and_then(Value::as_str)).collect())
        .unwrap_or_default()
}

/// A value in a report line: compact JSON, shortened past 100 characters; `nothing` if absent.
fn render_value(v: Option<&Value>) -> String {
    let Some(v) = v else {
        return "nothing".into();
    };
    let s = v.to_string();
    match s.char_indices().nth(100) {
        Some((end, _)) => format!("{}…", &s[..end]),
        None => s,
    }
}

/// `<class>: <pointer>: published says X, ours says Y` (plus the deviation note).
pub fn render_line(d: &Difference) -> String {
    let mut line = format!(
        "{}: {}: published says {}, ours says {}",
        d.class.label(),
        d.pointer,
        render_value(d.published.as_ref()),
        render_value(d.ours.as_ref())
    );
    if let Some(reason) = &d.deviation {
        let _ = write!(line, " (x-deviation: {reason})");
    }
    line
}

/// The human report: one line per difference (prefixed with the file when there are several
/// files), then a summary line.
pub fn render_text(provider: &Provider, files: &[String], diffs: &[Difference]) -> String {
    let mut out = String::new();
    for d in diffs {
        if files.len() > 1 {
            let _ = write!(out, "{}: ", d.file);
        }
        let _ = writeln!(out, "{}", render_line(d));
    }
    let count = |c: Class| diffs.iter().filter(|d| d.class == c).count();
    let _ = writeln!(
        out,
        "{} vs {}: {} new upstream, {} known deviation(s), {} ours only",
        provider.spec,
        files.join(", "),
        count(Class::NewUpstream),
        count(Class::KnownDeviation),
        count(Class::OursOnly)
    );
    out
}

/// The machine-readable report: a JSON array of `{file, pointer, class, published, ours,
/// deviation}` objects (`published`/`ours`/`deviation` left out when absent).
pub fn render_json(diffs: &[Difference]) -> String {
    let items: Vec<Value> = diffs
        .iter()
        .map(|d| {
            let mut item = json!({"file": d.file, "pointer": d.pointer, "class": d.class.label()});
            let fields = [("published", &d.published), ("ours", &d.ours)];
            for (key, value) in fields {
                if let Some(v) = value {
                    item[key] = v.clone();
                }
            }
            if let Some(reason) = &d.deviation {
                item["deviation"] = Value::String(reason.clone());
            }
            item
        })
        .collect();
    let mut text = serde_json::to_string_pretty(&Value::Array(items)).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// A 3.0.3 document with one operation whose 200 response is `schema`.
    fn doc(schema: Value, extra_status: bool) -> Value {
        let mut responses = json!({"200": {"description": "", "content": {"application/json": {"schema": schema}}}});
        if extra_status {
            responses["4XX"] = json!({"description": "error"});
        }
        json!({
            "openapi": "3.0.3",
            "info": {"title": "t", "version": "1"},
            "paths": {"/a": {"get": {"operationId": "a", "responses": responses}}}
        })
    }

    fn classified(published: &Value, ours: &Value) -> Vec<(Class, String)> {
        let mut found: Vec<(Class, String)> =
            compare_file(std::slice::from_ref(published), &[], ours)
                .into_iter()
                .map(|f| {
                    let d = classify("f", f);
                    (d.class, d.pointer)
                })
                .collect();
        found.sort();
        found
    }

    #[test]
    fn classes() {
        let schema = "/paths/~1a/get/responses/200/content/application~1json/schema";
        let published =
            doc(json!({"type": "object", "properties": {"n": {"type": "integer"}}}), false);
        let ours = doc(
            json!({"type": "object", "properties": {
                "n": {"type": "string", "x-deviation": "a string on the wire"},
                "extra": {"type": "string"}
            }}),
            true,
        );
        assert_eq!(
            classified(&published, &ours),
            vec![
                (Class::NewUpstream, format!("{schema}/properties/extra")),
                (Class::KnownDeviation, format!("{schema}/properties/n/type")),
                (Class::OursOnly, "/paths/~1a/get/responses/4XX".to_string()),
            ]
        );
        assert_eq!(classified(&ours, &ours), vec![]);
    }

    #[test]
    fn recursive_schemas_terminate() {
        let mut published = doc(json!({"$ref": "#/components/schemas/T"}), false);
        published["components"] = json!({"schemas": {"T": {
            "type": "object", "properties": {"children": {"type": "array", "items": {"$ref": "#/components/schemas/T"}}}
        }}});
        let mut ours = published.clone();
        ours["components"]["schemas"]["T"]["properties"]["children"]["nullable"] = json!(true);
        assert_eq!(
            classified(&published, &ours),
            vec![(
                Class::NewUpstream,
                "/components/schemas/T/properties/children/nullable".to_string()
            )]
        );
    }

    #[test]
    fn values_are_shortened_in_lines() {
        let long = Value::String("x".repeat(200));
        let rendered = render_value(Some(&long));
        assert_eq!(rendered.chars().count(), 101);
        assert!(rendered.ends_with('…'));
        assert_eq!(render_value(None), "nothing");
    }
}
