//! `x-deviation`: a note in our spec, at the place it applies, explaining why we deliberately
//! differ from what the provider publishes (read by `cargo xtask spec-drift`). Codegen strips
//! every note before down-conversion, so they never reach progenitor.

use serde_json::Value;

/// The extension key of a deviation note.
pub const DEVIATION: &str = "x-deviation";

/// Removes every `x-deviation` member from the document. Names under `properties` and example
/// values are data, not notes: a property called `x-deviation` is kept (its schema is still
/// stripped), and examples are left untouched.
pub fn strip(doc: &mut Value) {
    match doc {
        Value::Object(map) => {
            map.shift_remove(DEVIATION);
            for (key, value) in map.iter_mut() {
                match key.as_str() {
                    "example" | "examples" => {}
                    "properties" => {
                        if let Value::Object(props) = value {
                            props.values_mut().for_each(strip);
                        }
                    }
                    _ => strip(value),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(strip),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn strips_notes_everywhere_but_in_data() {
        let mut doc = json!({
            "info": {"title": "t", "x-deviation": "renamed"},
            "paths": {"/a": {"get": {"parameters": [{"name": "p", "x-deviation": "why"}]}}},
            "components": {"schemas": {"S": {
                "x-deviation": "s",
                "properties": {"x-deviation": {"type": "string", "x-deviation": "inner"}},
                "example": {"x-deviation": "data"}
            }}}
        });
        strip(&mut doc);
        assert_eq!(
            doc,
            json!({
                "info": {"title": "t"},
                "paths": {"/a": {"get": {"parameters": [{"name": "p"}]}}},
                "components": {"schemas": {"S": {
                    "properties": {"x-deviation": {"type": "string"}},
                    "example": {"x-deviation": "data"}
                }}}
            })
        );
    }
}
