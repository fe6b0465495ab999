//! JSON for the records we keep: what KV stores, what a sealed token carries, and the few
//! answers of Spotify's we read into types. A record names its fields once
//! ([`json_record!`]); each field's type knows how it is written and read ([`Json`]).
//!
//! Why not `#[derive(Serialize, Deserialize)]`: serde compiles a visitor, a field
//! identifier and a deserializer instantiation for every record type, about 45 KB of the
//! `.wasm` for our 20-odd records, while these are small, flat and read from a `Value` tree
//! that every request parses anyway. Here a field costs a call to a function shared by
//! every field of its type. The JSON is what serde's derive wrote (same keys, same shapes:
//! `Option` as `null`, enums externally tagged), so records stored or sealed before still
//! read, and the tests below hold both sides to serde's own output.

use serde_json::{Map, Value};

/// A value that is written as one JSON value and read back from one.
pub trait Json: Sized {
    fn to_json(&self) -> Value;
    /// `None` when `v` is not a value of this type.
    fn from_json(v: &Value) -> Option<Self>;
    /// What an absent key reads as: absent is an error, except for an `Option` (as with
    /// serde's derive, which reads a missing `Option` field as `None`).
    fn absent() -> Option<Self> {
        None
    }
}

/// Reads `T` from JSON bytes: `None` for anything that is not JSON or not a `T`.
pub fn from_slice<T: Json>(bytes: &[u8]) -> Option<T> {
    T::from_json(&serde_json::from_slice::<Value>(bytes).ok()?)
}

/// `value` as compact JSON bytes.
pub fn to_vec<T: Json>(value: &T) -> Vec<u8> {
    serde_json::to_vec(&value.to_json()).unwrap_or_default()
}

/// A required field (an absent `Option` reads as `None`).
pub fn field<T: Json>(o: &Map<String, Value>, key: &str) -> Option<T> {
    match o.get(key) {
        Some(v) => T::from_json(v),
        None => T::absent(),
    }
}

/// A field added after records were first stored: absent reads as the default.
pub fn or_default<T: Json + Default>(o: &Map<String, Value>, key: &str) -> Option<T> {
    match o.get(key) {
        Some(v) => T::from_json(v),
        None => Some(T::default()),
    }
}

pub fn put<T: Json>(o: &mut Map<String, Value>, key: &str, value: &T) {
    o.insert(key.to_string(), value.to_json());
}

/// Writes nothing for the default, which [`or_default`] reads back.
pub fn put_unless_default<T: Json + Default + PartialEq>(o: &mut Map<String, Value>, key: &str, value: &T) {
    if *value != T::default() {
        put(o, key, value);
    }
}

/// A record: a struct whose listed fields are the keys of a JSON object. A field is
/// `name` (required; an `Option` may be absent), `name: default` (absent reads as the
/// default: fields added after records were first stored) or `name: lean` (as `default`, and
/// not written when it is the default).
macro_rules! json_record {
    ($ty:ident { $($field:ident $(: $mode:ident)?),* $(,)? }) => {
        impl $crate::core::record::Json for $ty {
            fn to_json(&self) -> serde_json::Value {
                let mut o = serde_json::Map::new();
                $( $crate::core::record::json_record!(@put o, self, $field $($mode)?); )*
                serde_json::Value::Object(o)
            }
            fn from_json(v: &serde_json::Value) -> Option<Self> {
                let o = v.as_object()?;
                Some($ty { $( $field: $crate::core::record::json_record!(@get o, $field $($mode)?)?, )* })
            }
        }
    };
    (@put $o:ident, $s:ident, $field:ident lean) => {
        $crate::core::record::put_unless_default(&mut $o, stringify!($field), &$s.$field)
    };
    (@put $o:ident, $s:ident, $field:ident $($mode:ident)?) => {
        $crate::core::record::put(&mut $o, stringify!($field), &$s.$field)
    };
    (@get $o:ident, $field:ident) => {
        $crate::core::record::field($o, stringify!($field))
    };
    (@get $o:ident, $field:ident $mode:ident) => {
        $crate::core::record::or_default($o, stringify!($field))
    };
}
pub(crate) use json_record;

/// An enum of unit variants, written as their names (serde's externally tagged form).
macro_rules! json_names {
    ($ty:ident { $($variant:ident = $name:literal),* $(,)? }) => {
        impl $crate::core::record::Json for $ty {
            fn to_json(&self) -> serde_json::Value {
                serde_json::Value::from(match self { $($ty::$variant => $name,)* })
            }
            fn from_json(v: &serde_json::Value) -> Option<Self> {
                match v.as_str()? { $($name => Some($ty::$variant),)* _ => None }
            }
        }
    };
}
pub(crate) use json_names;

/// An externally tagged variant with content: `{"<tag>": <content>}`, the object's only key.
pub fn tagged(tag: &str, content: Value) -> Value {
    let mut o = Map::new();
    o.insert(tag.to_string(), content);
    Value::Object(o)
}

/// The tag and content of an externally tagged variant with content.
pub fn untag(v: &Value) -> Option<(&str, &Value)> {
    let o = v.as_object()?;
    if o.len() != 1 {
        return None;
    }
    o.iter().next().map(|(k, v)| (k.as_str(), v))
}

impl Json for String {
    fn to_json(&self) -> Value {
        Value::from(self.as_str())
    }
    fn from_json(v: &Value) -> Option<Self> {
        v.as_str().map(str::to_string)
    }
}

/// Numbers and booleans, written as themselves.
macro_rules! scalar {
    ($($ty:ty => $read:expr),* $(,)?) => {$(
        impl Json for $ty {
            fn to_json(&self) -> Value {
                Value::from(*self)
            }
            fn from_json(v: &Value) -> Option<Self> {
                $read(v)
            }
        }
    )*};
}

scalar!(
    u64 => Value::as_u64,
    u32 => |v: &Value| v.as_u64()?.try_into().ok(),
    bool => Value::as_bool,
);

impl Json for Value {
    fn to_json(&self) -> Value {
        self.clone()
    }
    fn from_json(v: &Value) -> Option<Self> {
        Some(v.clone())
    }
}

impl Json for Map<String, Value> {
    fn to_json(&self) -> Value {
        Value::Object(self.clone())
    }
    fn from_json(v: &Value) -> Option<Self> {
        v.as_object().cloned()
    }
}

impl<T: Json> Json for Option<T> {
    fn to_json(&self) -> Value {
        self.as_ref().map_or(Value::Null, T::to_json)
    }
    fn from_json(v: &Value) -> Option<Self> {
        if v.is_null() {
            Some(None)
        } else {
            T::from_json(v).map(Some)
        }
    }
    fn absent() -> Option<Self> {
        Some(None)
    }
}

impl<T: Json> Json for Vec<T> {
    fn to_json(&self) -> Value {
        Value::Array(self.iter().map(T::to_json).collect())
    }
    fn from_json(v: &Value) -> Option<Self> {
        v.as_array()?.iter().map(T::from_json).collect()
    }
}

impl<T: Json> Json for Box<T> {
    fn to_json(&self) -> Value {
        (**self).to_json()
    }
    fn from_json(v: &Value) -> Option<Self> {
        T::from_json(v).map(Box::new)
    }
}

/// A pair, as serde writes a tuple: a two-element array.
impl<A: Json, B: Json> Json for (A, B) {
    fn to_json(&self) -> Value {
        Value::Array(vec![self.0.to_json(), self.1.to_json()])
    }
    fn from_json(v: &Value) -> Option<Self> {
        match v.as_array()?.as_slice() {
            [a, b] => Some((A::from_json(a)?, B::from_json(b)?)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::{Deserialize, Serialize};

    /// One record read and written both ways: by serde's derive and by [`json_record!`].
    #[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
    struct Rec {
        name: String,
        note: Option<String>,
        n: u64,
        small: u32,
        on: bool,
        list: Vec<String>,
        pairs: Vec<(String, String)>,
        #[serde(default)]
        added: u64,
        #[serde(default, skip_serializing_if = "is_zero")]
        lean: u64,
        kind: Kind,
    }
    json_record!(Rec { name, note, n, small, on, list, pairs, added: default, lean: lean, kind });

    fn is_zero(n: &u64) -> bool {
        *n == 0
    }

    #[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
    enum Kind {
        #[default]
        #[serde(rename = "first_kind")]
        First,
        Second,
    }
    json_names!(Kind { First = "first_kind", Second = "Second" });

    fn samples() -> Vec<Rec> {
        let full = Rec {
            name: "a \"quoted\" é".into(),
            note: Some("n".into()),
            n: u64::MAX,
            small: u32::MAX,
            on: true,
            list: vec!["x".into(), "".into()],
            pairs: vec![("k".into(), "v".into())],
            added: 7,
            lean: 3,
            kind: Kind::Second,
        };
        vec![Rec::default(), full]
    }

    #[test]
    fn writes_what_serde_wrote() {
        for s in samples() {
            assert_eq!(s.to_json(), serde_json::to_value(&s).unwrap(), "{s:?}");
        }
    }

    #[test]
    fn reads_what_serde_wrote_and_what_serde_reads() {
        for s in samples() {
            let bytes = serde_json::to_vec(&s).unwrap();
            assert_eq!(from_slice::<Rec>(&bytes), Some(s.clone()));
            assert_eq!(serde_json::from_slice::<Rec>(&to_vec(&s)).unwrap(), s);
        }
        // A record stored before `added` and `lean` existed, with `note` left out.
        let old = br#"{"name":"o","n":1,"small":2,"on":false,"list":[],"pairs":[],"kind":"Second"}"#;
        let theirs = serde_json::from_slice::<Rec>(old).unwrap();
        assert_eq!(from_slice::<Rec>(old), Some(theirs));
    }

    #[test]
    fn refuses_what_serde_refuses() {
        let good = serde_json::to_value(Rec::default()).unwrap();
        let mut bad = Vec::new();
        for (key, wrong) in [
            ("name", Value::Null),
            ("name", Value::from(1)),
            ("n", Value::from(-1)),
            ("n", Value::from(1.5)),
            ("n", Value::from("1")),
            ("small", Value::from(u64::from(u32::MAX) + 1)),
            ("on", Value::from(0)),
            ("list", Value::from("x")),
            ("list", serde_json::json!([1])),
            ("pairs", serde_json::json!([["a"]])),
            ("pairs", serde_json::json!([["a", "b", "c"]])),
            ("added", Value::Null),
            ("kind", Value::from("Third")),
            ("kind", Value::from("First")),
        ] {
            let mut v = good.clone();
            v[key] = wrong;
            bad.push(v);
        }
        for key in ["name", "n", "small", "on", "list", "pairs", "kind"] {
            let mut v = good.clone();
            v.as_object_mut().unwrap().retain(|k, _| k != key);
            bad.push(v);
        }
        bad.extend([Value::Null, Value::from("x"), serde_json::json!([])]);
        for v in bad {
            assert!(serde_json::from_value::<Rec>(v.clone()).is_err(), "serde reads {v}");
            assert_eq!(Rec::from_json(&v), None, "{v}");
        }
    }

    #[test]
    fn externally_tagged_variants_have_one_key() {
        let v = tagged("Own", Value::from("x"));
        assert_eq!(v, serde_json::json!({"Own": "x"}));
        assert_eq!(untag(&v), Some(("Own", &Value::from("x"))));
        assert_eq!(untag(&serde_json::json!({"Own": "x", "Other": 1})), None);
        assert_eq!(untag(&serde_json::json!({})), None);
        assert_eq!(untag(&Value::from("Own")), None);
    }

    #[test]
    fn bytes_that_are_not_json_read_as_nothing() {
        assert_eq!(from_slice::<Rec>(b"{"), None);
        assert_eq!(from_slice::<Rec>(b""), None);
        assert_eq!(from_slice::<String>(b"\"s\""), Some("s".to_string()));
    }
}
