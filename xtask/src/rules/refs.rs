//! References (rule 9): every `$ref` is local and names an existing component of the kind its
//! place expects (progenitor resolves nothing else).

use serde_json::Value;

use super::Violation;
use crate::walk::{Node, ptr, unescape_pointer_token};

/// Checks the `$ref` of an object the walker visited as `node` at `p`.
pub(super) fn check_ref(
    doc: &Value,
    node: Node,
    p: &str,
    reference: &Value,
    out: &mut Vec<Violation>,
) {
    let at = ptr(p, "$ref");
    let Some(section) = node.component_section() else {
        return;
    };
    let Some(r) = reference.as_str() else {
        out.push(Violation::new(at, "`$ref` must be a string"));
        return;
    };
    let Some(local) = r.strip_prefix("#/") else {
        out.push(Violation::new(
            at,
            format!(
                "external reference `{r}` is not supported; bundle the spec into one file \
                 (e.g. `redocly bundle`) and use `#/components/{section}/...`"
            ),
        ));
        return;
    };
    let tokens: Vec<String> = local.split('/').map(unescape_pointer_token).collect();
    match tokens.as_slice() {
        [c, s, name] if c == "components" && s == section => {
            let exists = doc
                .get("components")
                .and_then(|c| c.get(section))
                .and_then(|s| s.get(name))
                .is_some();
            if !exists {
                out.push(Violation::new(
                    at,
                    format!("`{r}` points to a missing component; define `components.{section}.{name}` or fix the reference"),
                ));
            }
        }
        _ => out.push(Violation::new(
            at,
            format!(
                "`{r}` must point to a whole component `#/components/{section}/NAME` \
                 (progenitor resolves only those); move the target to components.{section}"
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::single;

    #[test]
    fn ref_missing() {
        single(
            "ref-missing",
            "/paths/~1teams/get/responses/200/content/application~1json/schema/$ref",
        );
    }

    #[test]
    fn ref_external() {
        single("ref-external", "/components/schemas/Team/properties/owner/$ref");
    }
}
