//! One type per sensitive value, as oauth2-rs does: the compiler keeps an access token from
//! being passed where a client id is expected, and `Debug` never prints a secret, so a
//! stray `{:?}` in a log line cannot leak one.

use crate::core::record::Json;

macro_rules! secret_string {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }
            /// The raw value, for the one place that must send it on the wire.
            pub fn expose(&self) -> &str {
                &self.0
            }
        }

        impl $crate::core::record::Json for $name {
            fn to_json(&self) -> serde_json::Value {
                self.0.to_json()
            }
            fn from_json(v: &serde_json::Value) -> Option<Self> {
                String::from_json(v).map(Self)
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, concat!(stringify!($name), "(<redacted>)"))
            }
        }
    };
}

secret_string!(
    /// Our opaque bearer token for `/mcp`; KV only ever sees its hash.
    AccessToken
);
secret_string!(
    /// Our opaque refresh token; rotated on every use.
    RefreshToken
);
secret_string!(
    /// Spotify's access token for one user; never leaves the Worker unencrypted.
    SpotifyAccessToken
);
secret_string!(
    /// Spotify's refresh token for one user.
    SpotifyRefreshToken
);
secret_string!(
    /// The Spotify app's client secret.
    SpotifyClientSecret
);
secret_string!(
    /// A PKCE code verifier (ours towards Spotify).
    PkceVerifier
);
secret_string!(
    /// A Spotify user id: personal data, so it is not printed either.
    SpotifyUserId
);

/// The KV prefix component for one user: a keyed hash of the Spotify user id, so ids with
/// any characters map to fixed-length, collision-free, non-reversible keys.
/// Decoding goes through [`UserKey::parse`]: a decoded key is as safe to slice and to put
/// in a KV key as one parsed from a token.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct UserKey(String);

impl UserKey {
    pub fn from_hashed(value: String) -> Self {
        UserKey(value)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// A short form for logs: enough to correlate lines, not to identify anyone.
    pub fn log_id(&self) -> &str {
        &self.0[..self.0.len().min(8)]
    }
    /// Only the characters our own keys use, so a value from a token cannot escape its prefix.
    pub fn parse(text: &str) -> Option<Self> {
        (text.len() == 43 && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
            .then(|| UserKey(text.to_string()))
    }
}

/// Read through [`UserKey::parse`], like a key from a token.
impl Json for UserKey {
    fn to_json(&self) -> serde_json::Value {
        self.0.to_json()
    }
    fn from_json(v: &serde_json::Value) -> Option<Self> {
        UserKey::parse(v.as_str()?)
    }
}

impl std::fmt::Debug for UserKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "UserKey({}…)", self.log_id())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_prints_secrets() {
        let t = AccessToken::new("very-secret-value");
        assert_eq!(format!("{t:?}"), "AccessToken(<redacted>)");
        let s = SpotifyRefreshToken::new("abc");
        assert!(!format!("{s:?}").contains("abc"));
        assert_eq!(t.to_json(), serde_json::json!("very-secret-value"));
    }

    #[test]
    fn decoding_refuses_what_parse_refuses() {
        let good = "a".repeat(43);
        let uk = UserKey::from_json(&serde_json::json!(good)).unwrap();
        assert_eq!(uk.to_json(), serde_json::json!(good));
        assert_eq!(UserKey::from_json(&serde_json::json!("ééééé")), None, "log_id would slice inside a character");
        assert_eq!(UserKey::from_json(&serde_json::json!(format!("{}:x", "a".repeat(41)))), None);
    }

    #[test]
    fn user_key_parse_rejects_anything_but_our_alphabet() {
        assert!(UserKey::parse(&"a".repeat(43)).is_some());
        assert!(UserKey::parse(&"a".repeat(42)).is_none());
        assert!(UserKey::parse(&format!("{}:", "a".repeat(42))).is_none());
    }
}
