//! `json!`, as serde_json writes it (same syntax, same value), compiled smaller: each key of
//! an object literal is added by one call of [`put`] (not a `String` made, an insert and the
//! replaced value dropped, inline, at every key of every literal) and each interpolated
//! expression converted by one call of [`to`] (not `to_value` and its `unwrap` inline). The
//! crate has a few hundred keys; this saves about 17 KB of .wasm (3.6 KB gzip).
//!
//! The macros are serde_json 1.0.154's (`src/macros.rs`, MIT or Apache-2.0), comments
//! removed; only the insert, the conversion and the paths differ.

use serde_json::{Map, Value};

/// Adds `key` to an object being built by [`json!`]; a key given twice keeps its last value.
#[inline(never)]
pub fn put(object: &mut Map<String, Value>, key: &str, value: Value) {
    object.insert(key.to_string(), value);
}

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

/// `serde_json::to_value(value).unwrap()`, as `json!` converts an expression, in one place.
#[inline(never)]
pub fn to<T: serde::Serialize + ?Sized>(value: &T) -> Value {
    serde_json::to_value(value).unwrap()
}

macro_rules! json {
    ($($json:tt)+) => {
        $crate::json::json_internal!($($json)+)
    };
}

macro_rules! json_internal {

    (@array [$($elems:expr,)*]) => {
        ::std::vec![$($elems,)*]
    };

    (@array [$($elems:expr),*]) => {
        ::std::vec![$($elems),*]
    };

    (@array [$($elems:expr,)*] null $($rest:tt)*) => {
        $crate::json::json_internal!(@array [$($elems,)* $crate::json::json_internal!(null)] $($rest)*)
    };

    (@array [$($elems:expr,)*] true $($rest:tt)*) => {
        $crate::json::json_internal!(@array [$($elems,)* $crate::json::json_internal!(true)] $($rest)*)
    };

    (@array [$($elems:expr,)*] false $($rest:tt)*) => {
        $crate::json::json_internal!(@array [$($elems,)* $crate::json::json_internal!(false)] $($rest)*)
    };

    (@array [$($elems:expr,)*] [$($array:tt)*] $($rest:tt)*) => {
        $crate::json::json_internal!(@array [$($elems,)* $crate::json::json_internal!([$($array)*])] $($rest)*)
    };

    (@array [$($elems:expr,)*] {$($map:tt)*} $($rest:tt)*) => {
        $crate::json::json_internal!(@array [$($elems,)* $crate::json::json_internal!({$($map)*})] $($rest)*)
    };

    (@array [$($elems:expr,)*] $next:expr, $($rest:tt)*) => {
        $crate::json::json_internal!(@array [$($elems,)* $crate::json::json_internal!($next),] $($rest)*)
    };

    (@array [$($elems:expr,)*] $last:expr) => {
        $crate::json::json_internal!(@array [$($elems,)* $crate::json::json_internal!($last)])
    };

    (@array [$($elems:expr),*] , $($rest:tt)*) => {
        $crate::json::json_internal!(@array [$($elems,)*] $($rest)*)
    };

    (@array [$($elems:expr),*] $unexpected:tt $($rest:tt)*) => {
        $crate::json::json_unexpected!($unexpected)
    };

    (@object $object:ident () () ()) => {};

    (@object $object:ident [$($key:tt)+] ($value:expr) , $($rest:tt)*) => {
        $crate::json::put(&mut $object, ::core::convert::AsRef::<str>::as_ref(&($($key)+)), $value);
        $crate::json::json_internal!(@object $object () ($($rest)*) ($($rest)*));
    };

    (@object $object:ident [$($key:tt)+] ($value:expr) $unexpected:tt $($rest:tt)*) => {
        $crate::json::json_unexpected!($unexpected);
    };

    (@object $object:ident [$($key:tt)+] ($value:expr)) => {
        $crate::json::put(&mut $object, ::core::convert::AsRef::<str>::as_ref(&($($key)+)), $value);
    };

    (@object $object:ident ($($key:tt)+) (: null $($rest:tt)*) $copy:tt) => {
        $crate::json::json_internal!(@object $object [$($key)+] ($crate::json::json_internal!(null)) $($rest)*);
    };

    (@object $object:ident ($($key:tt)+) (: true $($rest:tt)*) $copy:tt) => {
        $crate::json::json_internal!(@object $object [$($key)+] ($crate::json::json_internal!(true)) $($rest)*);
    };

    (@object $object:ident ($($key:tt)+) (: false $($rest:tt)*) $copy:tt) => {
        $crate::json::json_internal!(@object $object [$($key)+] ($crate::json::json_internal!(false)) $($rest)*);
    };

    (@object $object:ident ($($key:tt)+) (: [$($array:tt)*] $($rest:tt)*) $copy:tt) => {
        $crate::json::json_internal!(@object $object [$($key)+] ($crate::json::json_internal!([$($array)*])) $($rest)*);
    };

    (@object $object:ident ($($key:tt)+) (: {$($map:tt)*} $($rest:tt)*) $copy:tt) => {
        $crate::json::json_internal!(@object $object [$($key)+] ($crate::json::json_internal!({$($map)*})) $($rest)*);
    };

    (@object $object:ident ($($key:tt)+) (: $value:expr , $($rest:tt)*) $copy:tt) => {
        $crate::json::json_internal!(@object $object [$($key)+] ($crate::json::json_internal!($value)) , $($rest)*);
    };

    (@object $object:ident ($($key:tt)+) (: $value:expr) $copy:tt) => {
        $crate::json::json_internal!(@object $object [$($key)+] ($crate::json::json_internal!($value)));
    };

    (@object $object:ident ($($key:tt)+) (:) $copy:tt) => {
        $crate::json::json_internal!();
    };

    (@object $object:ident ($($key:tt)+) () $copy:tt) => {
        $crate::json::json_internal!();
    };

    (@object $object:ident () (: $($rest:tt)*) ($colon:tt $($copy:tt)*)) => {
        $crate::json::json_unexpected!($colon);
    };

    (@object $object:ident ($($key:tt)*) (, $($rest:tt)*) ($comma:tt $($copy:tt)*)) => {
        $crate::json::json_unexpected!($comma);
    };

    (@object $object:ident () (($key:expr) : $($rest:tt)*) $copy:tt) => {
        $crate::json::json_internal!(@object $object ($key) (: $($rest)*) (: $($rest)*));
    };

    (@object $object:ident ($($key:tt)*) (: $($unexpected:tt)+) $copy:tt) => {
        $crate::json::json_expect_expr_comma!($($unexpected)+);
    };

    (@object $object:ident ($($key:tt)*) ($tt:tt $($rest:tt)*) $copy:tt) => {
        $crate::json::json_internal!(@object $object ($($key)* $tt) ($($rest)*) ($($rest)*));
    };

    (null) => {
        ::serde_json::Value::Null
    };

    (true) => {
        ::serde_json::Value::Bool(true)
    };

    (false) => {
        ::serde_json::Value::Bool(false)
    };

    ([]) => {
        ::serde_json::Value::Array(::std::vec![])
    };

    ([ $($tt:tt)+ ]) => {
        ::serde_json::Value::Array($crate::json::json_internal!(@array [] $($tt)+))
    };

    ({}) => {
        ::serde_json::Value::Object(::serde_json::Map::new())
    };

    ({ $($tt:tt)+ }) => {
        ::serde_json::Value::Object({
            let mut object = ::serde_json::Map::new();
            $crate::json::json_internal!(@object object () ($($tt)+) ($($tt)+));
            object
        })
    };

    ($other:expr) => {
        $crate::json::to(&$other)
    };
}

// Used only to report a malformed literal.
#[allow(unused_macros)]
macro_rules! json_unexpected {
    () => {};
}

#[allow(unused_macros)]
macro_rules! json_expect_expr_comma {
    ($e:expr , $($tt:tt)*) => {};
}

pub(crate) use {json, json_internal};
#[allow(unused_imports)]
pub(crate) use {json_expect_expr_comma, json_unexpected};
