//! Small JSON helpers that keep generic serde_json code out of the .wasm where a few call
//! sites would otherwise each compile a large piece of it.

use serde_json::{Map, Value};

/// Keeps the entries of `object` that `keep` accepts, in a map rebuilt by inserts:
/// `Map::remove` and `retain` would bring in the B-tree's removal and rebalancing code
/// (about 9 KB of .wasm, 3 KB gzip) for a few keys removed from small objects.
pub fn retain(object: &mut Map<String, Value>, keep: &mut dyn FnMut(&str, &Value) -> bool) {
    let mut kept = Map::new();
    for (k, v) in std::mem::take(object) {
        if keep(&k, &v) {
            kept.insert(k, v);
        }
    }
    *object = kept;
}

/// `value` as compact JSON text: the same text as `value.to_string()`, written by the
/// serializer `serde_json::to_vec` uses. Nothing here displays a `Value` with `{}`: its
/// `Display` would compile two more serializers (compact and pretty) for a few messages.
pub fn text(value: &Value) -> String {
    serde_json::to_string(value).unwrap_or_default()
}
