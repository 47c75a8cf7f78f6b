//! proptest strategies shared by the property tests.

use proptest::prelude::*;
use serde_json::Value;

/// Any JSON value nested up to 4 levels, whose object keys and strings are often one of
/// `names` (the fields a decoder looks for), so that the values reach past the first check.
pub fn json_value(names: &'static [&'static str]) -> impl Strategy<Value = Value> {
    let name = move || proptest::sample::select(names).prop_map(str::to_string);
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
        ".{0,20}".prop_map(Value::String),
        name().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 6, move |inner| {
        let key = prop_oneof![name(), "[a-zA-Z]{1,8}"];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key, inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}
