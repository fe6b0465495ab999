//! A validator for the subset of JSON Schema the tools use: `type` (one or a list, such as
//! `["string", "null"]`), `properties`, `required`, `additionalProperties: false`, `enum`,
//! `const`, `minimum`/`maximum`, `minLength`/`maxLength`, `minItems`/`maxItems` and `items`.
//! Other keywords (`description`, `default`, `pattern`) are not checked here
//! ([`KNOWN_KEYWORDS`]). Its messages are written for a model to correct its call from.

use serde_json::{Map, Value};

/// Every keyword the tools' schemas may use: the checked ones, and those only described.
pub const KNOWN_KEYWORDS: &[&str] = &[
    "type",
    "properties",
    "required",
    "additionalProperties",
    "enum",
    "const",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "items",
    // Not checked: `default` is filled in by `catalogue`, `pattern` (the market code) by its tool.
    "default",
    "description",
    "pattern",
];

/// Whether `value` is of JSON Schema type `name`.
fn is_type(name: &str, value: &Value) -> bool {
    match name {
        "string" => value.is_string(),
        "boolean" => value.is_boolean(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        "null" => value.is_null(),
        _ => false,
    }
}

/// The schema's types (none: any).
fn types_of(schema: &Value) -> Vec<&str> {
    match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// Whether the schema lets `null` through.
pub fn allows_null(schema: &Value) -> bool {
    let t = types_of(schema);
    t.is_empty() || t.contains(&"null")
}

/// An enum value as a model would type it: strings bare, the rest as JSON.
fn shown(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => crate::json::text(other),
    }
}

fn list(values: &[Value]) -> String {
    values.iter().map(shown).collect::<Vec<_>>().join(", ")
}

fn num(schema: &Value, key: &str) -> Option<f64> {
    schema.get(key).and_then(Value::as_f64)
}

fn count(schema: &Value, key: &str) -> Option<u64> {
    schema.get(key).and_then(Value::as_u64)
}

/// "1 to 40", "at least 1", "at most 100", or nothing.
fn span(min: Option<String>, max: Option<String>) -> Option<String> {
    match (min, max) {
        (Some(a), Some(b)) => Some(format!("{a} to {b}")),
        (Some(a), None) => Some(format!("at least {a}")),
        (None, Some(b)) => Some(format!("at most {b}")),
        (None, None) => None,
    }
}

fn noun(t: &str) -> &'static str {
    match t {
        "string" => "a string",
        "boolean" => "true or false",
        "integer" => "an integer",
        "number" => "a number",
        "array" => "a list",
        "object" => "an object",
        "null" => "null",
        _ => "a value",
    }
}

fn plural(t: &str) -> &'static str {
    match t {
        "string" => "strings",
        "boolean" => "booleans",
        "integer" => "integers",
        "number" => "numbers",
        "array" => "lists",
        "object" => "objects",
        _ => "items",
    }
}

/// What a value of `schema` must be, as the end of "`path` must be …".
fn expected(schema: &Value) -> String {
    let types = types_of(schema);
    let one = types.first().copied().filter(|_| types.len() == 1);
    let show = |key: &str| schema.get(key).map(crate::json::text);
    match one {
        Some(t @ ("integer" | "number")) => {
            let (min, max) = (show("minimum"), show("maximum"));
            match (min.as_deref(), max.is_some()) {
                (Some("0"), false) => format!("a non-negative {t}"),
                (Some(_), true) => format!("{} from {}", noun(t), span(min, max).unwrap_or_default()),
                (None, false) => noun(t).to_string(),
                _ => format!("{} of {}", noun(t), span(min, max).unwrap_or_default()),
            }
        }
        Some("string") => {
            let len = span(
                count(schema, "minLength").map(|n| n.to_string()),
                count(schema, "maxLength").map(|n| n.to_string()),
            );
            match len {
                Some(s) => format!("a string of {s} characters"),
                None => "a string".to_string(),
            }
        }
        Some("array") => {
            let n = span(
                count(schema, "minItems").map(|n| n.to_string()),
                count(schema, "maxItems").map(|n| n.to_string()),
            );
            let items = schema.get("items").map(types_of).unwrap_or_default();
            let what = items.first().map_or("items", |t| plural(t));
            match n {
                Some(n) => format!("a list of {n} {what}"),
                None => format!("a list of {what}"),
            }
        }
        _ if types.is_empty() => "a value".to_string(),
        _ => types.iter().map(|t| noun(t)).collect::<Vec<_>>().join(" or "),
    }
}

/// The message for a property `path` whose value breaks its schema.
fn wrong(schema: &Value, value: &Value, path: &str) -> String {
    if let Some(c) = schema.get("const") {
        return format!("{path} must be {}.", shown(c));
    }
    if let Some(Value::Array(options)) = schema.get("enum") {
        // The values the type allows too (a mode may narrow the type).
        let types = types_of(schema);
        let fit: Vec<Value> =
            options.iter().filter(|o| types.is_empty() || types.iter().any(|t| is_type(t, o))).cloned().collect();
        return format!("Unknown {path} {}; it must be one of: {}.", crate::json::text(value), list(&fit));
    }
    if value.as_str() == Some("") && count(schema, "minLength").is_some_and(|n| n > 0) {
        let len =
            span(count(schema, "minLength").map(|n| n.to_string()), count(schema, "maxLength").map(|n| n.to_string()));
        return format!("{path} is required ({} characters).", len.unwrap_or_default());
    }
    format!("{path} must be {}.", expected(schema))
}

/// The message for a missing required property.
pub fn missing(schema: &Value, path: &str) -> String {
    match (schema.get("enum").and_then(Value::as_array), schema.get("description").and_then(Value::as_str)) {
        (Some(options), _) => format!("{path} is required: one of {}.", list(options)),
        (None, Some(d)) => format!("{path} is required: {d}."),
        (None, None) => format!("{path} is required."),
    }
}

/// "Unknown argument …; this tool takes: …".
pub fn unknown(key: &str, properties: &Map<String, Value>) -> String {
    let known: Vec<&str> = properties.keys().map(String::as_str).collect();
    if known.is_empty() {
        return format!("Unknown argument {key:?}; this tool takes no arguments.");
    }
    format!("Unknown argument {key:?}; this tool takes: {}", known.join(", "))
}

/// Checks `value` against `schema`; `path` names it in the message.
pub fn validate(schema: &Value, value: &Value, path: &str) -> Result<(), String> {
    let types = types_of(schema);
    let fits = (types.is_empty() || types.iter().any(|t| is_type(t, value)))
        && schema.get("const").is_none_or(|c| c == value)
        && schema.get("enum").and_then(Value::as_array).is_none_or(|e| e.contains(value));
    let in_range = match value {
        Value::Number(n) => {
            let n = n.as_f64().unwrap_or(f64::NAN);
            num(schema, "minimum").is_none_or(|m| n >= m) && num(schema, "maximum").is_none_or(|m| n <= m)
        }
        Value::String(s) => {
            let len = s.chars().count() as u64;
            count(schema, "minLength").is_none_or(|m| len >= m) && count(schema, "maxLength").is_none_or(|m| len <= m)
        }
        Value::Array(a) => {
            let len = a.len() as u64;
            count(schema, "minItems").is_none_or(|m| len >= m) && count(schema, "maxItems").is_none_or(|m| len <= m)
        }
        _ => true,
    };
    if !fits || !in_range {
        return Err(wrong(schema, value, path));
    }
    match value {
        Value::Array(items) => {
            let Some(item_schema) = schema.get("items") else { return Ok(()) };
            for (i, item) in items.iter().enumerate() {
                if validate(item_schema, item, &format!("{path}[{i}]")).is_err() && !item.is_object() {
                    // A list of scalars is described whole.
                    return Err(match item_schema.get("enum").and_then(Value::as_array) {
                        Some(options) => format!("{path} must list some of: {}.", list(options)),
                        None => format!("{path} must be {}.", expected(schema)),
                    });
                }
                validate(item_schema, item, &format!("{path}[{i}]"))?;
            }
            Ok(())
        }
        Value::Object(o) => {
            let empty = Map::new();
            let properties = schema.get("properties").and_then(Value::as_object).unwrap_or(&empty);
            let at = |k: &str| if path.is_empty() { k.to_string() } else { format!("{path}.{k}") };
            for key in schema.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str)
            {
                if !o.contains_key(key) {
                    return Err(missing(properties.get(key).unwrap_or(&Value::Null), &at(key)));
                }
            }
            if schema.get("additionalProperties") == Some(&Value::Bool(false)) {
                if let Some(extra) = o.keys().find(|k| !properties.contains_key(*k)) {
                    return Err(unknown(&at(extra), properties));
                }
            }
            for (key, v) in o {
                if let Some(s) = properties.get(key) {
                    validate(s, v, &at(key))?;
                }
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Every keyword `schema` uses that this validator does not know, with where.
pub fn unknown_keywords(schema: &Value, path: &str) -> Vec<String> {
    let Some(o) = schema.as_object() else { return vec![format!("{path} is not a schema")] };
    let mut out = Vec::new();
    for (k, v) in o {
        if !KNOWN_KEYWORDS.contains(&k.as_str()) {
            out.push(format!("{path}.{k}"));
        }
        match k.as_str() {
            "items" => out.extend(unknown_keywords(v, &format!("{path}.items"))),
            "properties" => {
                for (name, s) in v.as_object().into_iter().flatten() {
                    out.extend(unknown_keywords(s, &format!("{path}.{name}")));
                }
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn err(schema: Value, value: Value) -> String {
        validate(&schema, &value, "x").unwrap_err()
    }

    #[test]
    fn each_keyword_is_checked_and_explained() {
        let int = json!({"type": "integer", "minimum": 1, "maximum": 50});
        assert!(validate(&int, &json!(50), "x").is_ok());
        assert_eq!(err(int.clone(), json!(51)), "x must be an integer from 1 to 50.");
        assert_eq!(err(int, json!("5")), "x must be an integer from 1 to 50.");
        assert_eq!(err(json!({"type": "integer", "minimum": 0}), json!(-1)), "x must be a non-negative integer.");
        assert_eq!(err(json!({"type": "integer", "minimum": 1}), json!(0)), "x must be an integer of at least 1.");
        assert_eq!(err(json!({"type": "integer"}), json!(1.5)), "x must be an integer.");
        assert_eq!(err(json!({"type": "boolean"}), json!("on")), "x must be true or false.");
        assert_eq!(err(json!({"type": ["string", "null"]}), json!(3)), "x must be a string or null.");
        assert!(validate(&json!({"type": ["string", "null"]}), &Value::Null, "x").is_ok());
        let e = json!({"type": "string", "enum": ["a", "b"]});
        assert_eq!(err(e, json!("c")), "Unknown x \"c\"; it must be one of: a, b.");
        assert_eq!(err(json!({"type": "boolean", "const": true}), json!(false)), "x must be true.");
        let name = json!({"type": "string", "minLength": 1, "maxLength": 3});
        assert_eq!(err(name.clone(), json!("")), "x is required (1 to 3 characters).");
        assert_eq!(err(name, json!("abcd")), "x must be a string of 1 to 3 characters.");
        let uris = json!({"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 2});
        assert_eq!(err(uris.clone(), json!([])), "x must be a list of 1 to 2 strings.");
        assert_eq!(err(uris, json!(["a", 1])), "x must be a list of 1 to 2 strings.");
        let types = json!({"type": "array", "items": {"type": "string", "enum": ["track", "album"]}});
        assert_eq!(err(types, json!(["genre"])), "x must list some of: track, album.");
    }

    #[test]
    fn objects_are_checked_through() {
        let s = json!({"type": "object", "properties": {"a": {"type": "object", "properties": {"b": {"type": "integer"}},
            "required": ["b"]}, "c": {"type": "array", "items": {"type": "object", "properties": {"d": {"type": "string"}}}}},
            "additionalProperties": false});
        assert!(validate(&s, &json!({"a": {"b": 1, "z": 0}, "c": [{"d": "x"}]}), "").is_ok());
        assert_eq!(validate(&s, &json!({"a": {}}), "").unwrap_err(), "a.b is required.");
        assert_eq!(validate(&s, &json!({"c": [{"d": 1}]}), "").unwrap_err(), "c[0].d must be a string.");
        assert_eq!(validate(&s, &json!({"e": 1}), "").unwrap_err(), "Unknown argument \"e\"; this tool takes: a, c");
    }
}
