//! Operations (rule 2): every path item's operations, each with an `operationId` that stays
//! unique once progenitor turns it into a Rust method name.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::Violation;
use super::names::operation_method_name;
use crate::walk::{HTTP_METHODS, ptr};

/// One operation of the document, with where it sits.
pub(super) struct Op<'a> {
    pub(super) path: &'a str,
    pub(super) path_ptr: String,
    pub(super) path_item: &'a Map<String, Value>,
    pub(super) ptr: String,
    pub(super) op: &'a Value,
}

/// The operations of the document in path and method order; a path item that is not an
/// object or is a `$ref` is reported instead.
pub(super) fn operations<'a>(doc: &'a Value, out: &mut Vec<Violation>) -> Vec<Op<'a>> {
    let mut ops = Vec::new();
    let Some(paths) = doc.get("paths").and_then(Value::as_object) else {
        return ops;
    };
    for (path, item) in paths {
        if path.starts_with("x-") {
            continue;
        }
        let path_ptr = ptr("/paths", path);
        let Some(item_map) = item.as_object() else {
            out.push(Violation::new(path_ptr, "path item must be an object"));
            continue;
        };
        if item_map.contains_key("$ref") {
            out.push(Violation::new(
                ptr(&path_ptr, "$ref"),
                "progenitor does not support `$ref` path items; inline the path item here",
            ));
            continue;
        }
        for method in HTTP_METHODS {
            if let Some(op) = item.get(method) {
                ops.push(Op {
                    path,
                    path_ptr: path_ptr.clone(),
                    path_item: item_map,
                    ptr: ptr(&path_ptr, method),
                    op,
                });
            }
        }
    }
    ops
}

/// Whether a media type is JSON (what progenitor (de)serialises).
pub(super) fn is_json(content_type: &str) -> bool {
    content_type == "application/json" || content_type.starts_with("application/json;")
}

/// Rule 2: `operationId` present and unique after snake_case.
pub(super) fn check_operation_ids(ops: &[Op<'_>], out: &mut Vec<Violation>) {
    let mut seen: BTreeMap<String, (String, String)> = BTreeMap::new();
    for op in ops {
        match op.op.get("operationId") {
            Some(Value::String(id)) if !id.is_empty() => {
                let method = operation_method_name(id);
                let here = ptr(&op.ptr, "operationId");
                if let Some((other, other_ptr)) = seen.get(&method) {
                    let how = if other == id {
                        "is also used".to_string()
                    } else {
                        format!("collides with `{other}`")
                    };
                    out.push(Violation::new(
                        here,
                        format!(
                            "operationId `{id}` {how} at {other_ptr}: both become the Rust method \
                             `{method}`; rename one of them"
                        ),
                    ));
                } else {
                    seen.insert(method, (id.clone(), here));
                }
            }
            Some(Value::String(_)) | None => out.push(Violation::new(
                op.ptr.clone(),
                "operation has no operationId; add a unique one (it becomes the Rust method name)",
            )),
            Some(_) => out
                .push(Violation::new(ptr(&op.ptr, "operationId"), "operationId must be a string")),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::check;
    use crate::rules::testing::{fixture, single};

    #[test]
    fn operation_id_missing() {
        single("operation-id-missing", "/paths/~1teams/post");
    }

    #[test]
    fn operation_id_duplicate() {
        single("operation-id-duplicate", "/paths/~1teams~1{id}/get/operationId");
        let v = check(&fixture("operation-id-duplicate"));
        assert!(v[0].message.contains("/paths/~1teams/get/operationId"));
        assert!(v[0].message.contains("get_team"));
    }

    #[test]
    fn path_item_ref() {
        single("path-item-ref", "/paths/~1teams/$ref");
    }
}
