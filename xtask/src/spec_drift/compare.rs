//! The comparison of one published fragment with our spec, both down-converted to 3.0.3,
//! operation by operation, with `$ref`s resolved on both sides.
//!
//! What is compared: `info.title`/`info.version` (the generated client's `api_version()`), and for each
//! operation of the fragment its parameters (by location and name: `required`, schema), request
//! body (`required`, media types, schemas), responses (by status: media types, schemas) and
//! security requirements. Schemas are compared by `type`, `format`, `enum`, `nullable`,
//! `required`, `properties`, `items`, `additionalProperties`, `not` and `allOf`/`oneOf`/`anyOf`
//! (descriptions, examples and validation bounds are not).

use std::collections::BTreeSet;

use serde_json::Value;

use crate::deviation::{self, DEVIATION};
use crate::walk::{HTTP_METHODS, ptr, resolve};

/// How a difference came about (before the deviation notes are taken into account).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// The published fragment says something ours does not say, or says it differently.
    Changed,
    /// Ours has something the published fragment, which covers it, no longer has.
    Removed,
    /// Ours adds something published pages leave out: other response statuses, security.
    Added,
}

/// One difference, located in the published fragment (or in ours, when published lacks it).
#[derive(Debug, Clone)]
pub(super) struct Found {
    pub(super) pointer: String,
    pub(super) kind: Kind,
    pub(super) published: Option<Value>,
    pub(super) ours: Option<Value>,
    /// The `x-deviation` note in our spec that covers this place, if any.
    pub(super) deviation: Option<String>,
}

/// Where a comparison stands in each document, and the deviation note in force there.
#[derive(Debug, Clone)]
pub(super) struct At {
    published: String,
    ours: String,
    deviation: Option<String>,
}

impl At {
    /// The same pointer in both documents, entering our node `ours`.
    pub(super) fn both(pointer: &str, ours: Option<&Value>) -> At {
        let at = At { published: pointer.into(), ours: pointer.into(), deviation: None };
        at.entering(ours)
    }

    fn child(&self, token: &str) -> At {
        At {
            published: ptr(&self.published, token),
            ours: ptr(&self.ours, token),
            deviation: self.deviation.clone(),
        }
    }

    /// Moves onto our node `ours`: its own note, if it has one, applies from here down.
    fn entering(mut self, ours: Option<&Value>) -> At {
        if let Some(note) = ours.and_then(note_of) {
            self.deviation = Some(note);
        }
        self
    }
}

/// The `x-deviation` note of a node.
pub(super) fn note_of(v: &Value) -> Option<String> {
    v.get(DEVIATION).and_then(Value::as_str).map(str::to_string)
}

/// A value as shown in a report: without deviation notes.
pub(super) fn shown(v: &Value) -> Value {
    let mut v = v.clone();
    deviation::strip(&mut v);
    v
}

/// Resolves `v` against `#/components/<section>/…`; an unresolvable reference stays as it is.
fn resolved<'v>(doc: &'v Value, v: &'v Value, at: &str, section: &str) -> (&'v Value, String) {
    resolve(doc, v, at.to_string(), section).unwrap_or((v, at.to_string()))
}

/// `nullable`, absent meaning `false`.
fn nullable(v: &Value) -> Value {
    Value::Bool(v.get("nullable").and_then(Value::as_bool) == Some(true))
}

/// `required` of a schema as a sorted list, absent meaning empty.
fn required_names(v: &Value) -> Value {
    let names: BTreeSet<&str> = v
        .get("required")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    names.into_iter().map(Value::from).collect()
}

/// `required` of a parameter or request body, absent meaning `false`.
fn required_flag(v: &Value) -> Value {
    Value::Bool(v.get("required").and_then(Value::as_bool) == Some(true))
}

/// `additionalProperties`, absent or `true` (open) meaning `None`.
fn additional(v: &Value) -> Option<&Value> {
    v.get("additionalProperties").filter(|a| **a != Value::Bool(true))
}

/// The members of an object (empty when absent).
fn members(v: Option<&Value>) -> Vec<(&String, &Value)> {
    v.and_then(Value::as_object).map(|m| m.iter().collect()).unwrap_or_default()
}

/// One published fragment compared with our spec.
pub(super) struct Comparison<'a> {
    published: &'a Value,
    ours: &'a Value,
    found: Vec<Found>,
    /// Schema pairs already compared (recursive schemas, shared components).
    seen: BTreeSet<(String, String)>,
}

impl<'a> Comparison<'a> {
    /// Starts comparing the converted fragment `published` with our converted spec `ours`.
    pub(super) fn new(published: &'a Value, ours: &'a Value) -> Self {
        Comparison { published, ours, found: Vec::new(), seen: BTreeSet::new() }
    }

    /// The differences found.
    pub(super) fn finish(self) -> Vec<Found> {
        self.found
    }

    /// Records a difference at `at` (the published pointer when published has the value).
    pub(super) fn push(&mut self, at: &At, kind: Kind, p: Option<&Value>, o: Option<&Value>) {
        let pointer = if p.is_some() { &at.published } else { &at.ours };
        self.found.push(Found {
            pointer: pointer.clone(),
            kind,
            published: p.map(shown),
            ours: o.map(shown),
            deviation: o.and_then(note_of).or_else(|| at.deviation.clone()),
        });
    }

    /// Records `key` when the two sides differ (missing in ours: changed; only in ours: removed).
    fn differ(&mut self, at: &At, key: &str, p: Option<&Value>, o: Option<&Value>) {
        if p != o {
            let kind = if p.is_some() { Kind::Changed } else { Kind::Removed };
            self.push(&at.child(key), kind, p, o);
        }
    }

    /// Records the normalised value of `key` when the two sides differ.
    fn differ_normalised(&mut self, at: &At, key: &str, p: Value, o: Value) {
        if p != o {
            self.push(&at.child(key), Kind::Changed, Some(&p), Some(&o));
        }
    }

    /// `info.title` and `info.version`.
    pub(super) fn info(&mut self) {
        let (p, o) = (self.published.get("info"), self.ours.get("info"));
        let at = At::both("/info", o);
        for key in ["title", "version"] {
            self.differ(&at, key, p.and_then(|i| i.get(key)), o.and_then(|i| i.get(key)));
        }
    }

    /// Compares the operation at `path`/`method` of both documents (`p` and `o`: the
    /// operations, inside path items `p_item` and `o_item`).
    pub(super) fn operation(
        &mut self,
        path: &str,
        method: &str,
        p_item: &'a Value,
        o_item: &'a Value,
    ) {
        let (Some(p), Some(o)) = (p_item.get(method), o_item.get(method)) else {
            return;
        };
        let at = At::both(&ptr(&ptr("/paths", path), method), Some(o));
        self.parameters(p_item, p, o_item, o, &at);
        self.request_body(p.get("requestBody"), o.get("requestBody"), &at.child("requestBody"));
        self.responses(p, o, &at.child("responses"));
        self.security(p, o, &at.child("security"));
    }

    /// The parameters in effect (path-level ones overridden by the operation's), matched by
    /// location and name (header names case-insensitively).
    fn parameters(
        &mut self,
        p_item: &'a Value,
        p: &'a Value,
        o_item: &'a Value,
        o: &'a Value,
        at: &At,
    ) {
        let published = effective_parameters(self.published, p_item, p, &at.published);
        let ours = effective_parameters(self.ours, o_item, o, &at.ours);
        for (key, (pu, pv, pp)) in &published {
            let Some((_, ov, op)) = ours.iter().find(|(k, _)| k == key).map(|(_, v)| v) else {
                let at = At { published: pu.clone(), ..at.clone() };
                self.push(&at, Kind::Changed, Some(pv), None);
                continue;
            };
            let at =
                At { published: pp.clone(), ours: op.clone(), deviation: at.deviation.clone() }
                    .entering(Some(ov));
            self.differ_normalised(&at, "required", required_flag(pv), required_flag(ov));
            self.schema_pair(pv.get("schema"), ov.get("schema"), &at.child("schema"));
        }
        for (key, (ou, ov, _)) in &ours {
            if !published.iter().any(|(k, _)| k == key) {
                let at = At { ours: ou.clone(), ..at.clone() };
                self.push(&at, Kind::Removed, None, Some(ov));
            }
        }
    }

    /// A request body: presence, `required`, media types and their schemas.
    fn request_body(&mut self, p: Option<&'a Value>, o: Option<&'a Value>, at: &At) {
        let Some((p, o)) = self.both_present(p, o, at) else {
            return;
        };
        let (p, pp) = resolved(self.published, p, &at.published, "requestBodies");
        let (o, op) = resolved(self.ours, o, &at.ours, "requestBodies");
        let at = At { published: pp, ours: op, deviation: at.deviation.clone() }.entering(Some(o));
        self.differ_normalised(&at, "required", required_flag(p), required_flag(o));
        self.content(p, o, &at);
    }

    /// Responses by status; statuses only ours lists are our additions.
    fn responses(&mut self, p: &'a Value, o: &'a Value, at: &At) {
        let (p, o) = (members(p.get("responses")), members(o.get("responses")));
        for (status, pr) in p.iter().filter(|(s, _)| !s.starts_with("x-")) {
            let at = at.child(status);
            let Some((_, or)) = o.iter().find(|(s, _)| s == status) else {
                self.push(&at, Kind::Changed, Some(pr), None);
                continue;
            };
            let (pr, pp) = resolved(self.published, pr, &at.published, "responses");
            let (or, op) = resolved(self.ours, or, &at.ours, "responses");
            let at =
                At { published: pp, ours: op, deviation: at.deviation.clone() }.entering(Some(or));
            self.content(pr, or, &at);
        }
        for (status, or) in o.iter().filter(|(s, _)| !s.starts_with("x-")) {
            if !p.iter().any(|(s, _)| s == status) {
                self.push(&at.child(status), Kind::Added, None, Some(or));
            }
        }
    }

    /// The security requirements in effect (the operation's, else the document's). Ours
    /// listing more than published is our addition.
    fn security(&mut self, p: &Value, o: &Value, at: &At) {
        let p = p.get("security").or_else(|| self.published.get("security"));
        let o = o.get("security").or_else(|| self.ours.get("security"));
        let set = |v: Option<&Value>| -> BTreeSet<String> {
            v.and_then(Value::as_array)
                .map(|a| a.iter().map(Value::to_string).collect())
                .unwrap_or_default()
        };
        let (ps, os) = (set(p), set(o));
        if ps == os {
            return;
        }
        let kind = if ps.is_subset(&os) { Kind::Added } else { Kind::Changed };
        let empty = Value::Array(Vec::new());
        self.push(at, kind, Some(p.unwrap_or(&empty)), Some(o.unwrap_or(&empty)));
    }

    /// Media types of a request body or response, and their schemas.
    fn content(&mut self, p: &'a Value, o: &'a Value, at: &At) {
        let at = at.child("content");
        let (p, o) = (members(p.get("content")), members(o.get("content")));
        for (media, pm) in &p {
            let at = at.child(media);
            match o.iter().find(|(m, _)| m == media) {
                Some((_, om)) => {
                    let at = at.entering(Some(om));
                    self.schema_pair(pm.get("schema"), om.get("schema"), &at.child("schema"));
                }
                None => self.push(&at, Kind::Changed, Some(pm), None),
            }
        }
        for (media, om) in &o {
            if !p.iter().any(|(m, _)| m == media) {
                self.push(&at.child(media), Kind::Removed, None, Some(om));
            }
        }
    }

    /// Both values, or the difference when only one side has it.
    fn both_present(
        &mut self,
        p: Option<&'a Value>,
        o: Option<&'a Value>,
        at: &At,
    ) -> Option<(&'a Value, &'a Value)> {
        match (p, o) {
            (Some(p), Some(o)) => return Some((p, o)),
            (Some(_), None) => self.push(at, Kind::Changed, p, None),
            (None, Some(_)) => self.push(&at.clone().entering(o), Kind::Removed, None, o),
            (None, None) => {}
        }
        None
    }

    /// Two optional schemas.
    fn schema_pair(&mut self, p: Option<&'a Value>, o: Option<&'a Value>, at: &At) {
        if let Some((p, o)) = self.both_present(p, o, at) {
            self.schema(p, o, at);
        }
    }

    /// Two lists of subschemas (`allOf`, `oneOf`, `anyOf`), position by position.
    fn schema_list(&mut self, p: Option<&'a Value>, o: Option<&'a Value>, at: &At) {
        let (p, o) = (p.and_then(Value::as_array), o.and_then(Value::as_array));
        let len = p.map_or(0, Vec::len).max(o.map_or(0, Vec::len));
        for i in 0..len {
            let (pi, oi) = (p.and_then(|a| a.get(i)), o.and_then(|a| a.get(i)));
            self.schema_pair(pi, oi, &at.child(&i.to_string()));
        }
    }

    /// Two schemas, references resolved; each pair of definitions is compared once.
    fn schema(&mut self, p: &'a Value, o: &'a Value, at: &At) {
        let (p, pp) = resolved(self.published, p, &at.published, "schemas");
        let (o, op) = resolved(self.ours, o, &at.ours, "schemas");
        let at = At { published: pp, ours: op, deviation: at.deviation.clone() }.entering(Some(o));
        if !self.seen.insert((at.published.clone(), at.ours.clone())) {
            return;
        }
        for key in ["type", "format", "enum"] {
            self.differ(&at, key, p.get(key), o.get(key));
        }
        self.differ_normalised(&at, "nullable", nullable(p), nullable(o));
        self.differ_normalised(&at, "required", required_names(p), required_names(o));
        self.properties(p, o, &at);
        match (additional(p), additional(o)) {
            (Some(pa), Some(oa)) if pa.is_object() && oa.is_object() => {
                self.schema(pa, oa, &at.child("additionalProperties"));
            }
            (pa, oa) => self.differ(&at, "additionalProperties", pa, oa),
        }
        for key in ["items", "not"] {
            self.schema_pair(p.get(key), o.get(key), &at.child(key));
        }
        for key in ["allOf", "oneOf", "anyOf"] {
            self.schema_list(p.get(key), o.get(key), &at.child(key));
        }
    }

    /// Properties by name.
    fn properties(&mut self, p: &'a Value, o: &'a Value, at: &At) {
        let at = at.child("properties");
        let (p, o) = (members(p.get("properties")), members(o.get("properties")));
        for (name, ps) in &p {
            let os = o.iter().find(|(n, _)| n == name).map(|(_, s)| *s);
            self.schema_pair(Some(ps), os, &at.child(name));
        }
        for (name, os) in &o {
            if !p.iter().any(|(n, _)| n == name) {
                self.schema_pair(None, Some(os), &at.child(name));
            }
        }
    }
}

/// A parameter in effect: (location, name) and (use pointer, definition, definition pointer).
type Parameter<'v> = ((String, String), (String, &'v Value, String));

/// The parameters in effect for an operation, keyed by `in` and name (header names lower
/// case), each with where it is used, its resolved definition and where that is.
fn effective_parameters<'v>(
    doc: &'v Value,
    item: &'v Value,
    op: &'v Value,
    op_ptr: &str,
) -> Vec<Parameter<'v>> {
    let item_ptr = op_ptr.rsplit_once('/').map_or("", |(base, _)| base);
    let mut params: Vec<Parameter<'v>> = Vec::new();
    for (list, base) in [(item.get("parameters"), item_ptr), (op.get("parameters"), op_ptr)] {
        let Some(list) = list.and_then(Value::as_array) else {
            continue;
        };
        for (i, entry) in list.iter().enumerate() {
            let at = ptr(&ptr(base, "parameters"), &i.to_string());
            let (def, def_ptr) = resolved(doc, entry, &at, "parameters");
            let location = def.get("in").and_then(Value::as_str).unwrap_or_default();
            let name = def.get("name").and_then(Value::as_str).unwrap_or_default();
            let name = if location == "header" { name.to_ascii_lowercase() } else { name.into() };
            let key = (location.to_string(), name);
            params.retain(|(k, _)| *k != key);
            params.push((key, (at, def, def_ptr)));
        }
    }
    params
}

/// The operations of a document as (path, method, path item).
pub(super) fn operations(doc: &Value) -> Vec<(&String, &'static str, &Value)> {
    let mut ops = Vec::new();
    for (path, item) in members(doc.get("paths")) {
        for method in HTTP_METHODS {
            if item.get(method).is_some_and(Value::is_object) {
                ops.push((path, method, item));
            }
        }
    }
    ops
}
