//! Which Spotify app a person's link belongs to: the operator's (a confidential client,
//! configured by `SPOTIFY_CLIENT_ID`/`SPOTIFY_CLIENT_SECRET`) or their own (a public client
//! that signs in with PKCE only, so nothing secret of theirs ever reaches this server).
//! A link remembers its app because Spotify binds refresh tokens to the client that got them.

use crate::core::record::{tagged, untag, Json};
use serde_json::Value;

/// A Spotify app's Client ID: 32 hexadecimal characters, kept in lowercase. Decoding
/// checks it too, so a stored or sealed value cannot bring in one `parse` would refuse.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct SpotifyClientId(String);

impl Json for SpotifyClientId {
    fn to_json(&self) -> Value {
        self.0.to_json()
    }
    fn from_json(v: &Value) -> Option<Self> {
        SpotifyClientId::parse(v.as_str()?).ok()
    }
}

impl SpotifyClientId {
    /// Accepts what a person pastes from the dashboard: surrounding spaces and either case.
    pub fn parse(text: &str) -> Result<SpotifyClientId, ClientIdError> {
        let t = text.trim();
        if t.is_empty() {
            return Err(ClientIdError::Empty);
        }
        if t.len() != 32 {
            return Err(ClientIdError::Length(t.chars().count()));
        }
        if !t.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ClientIdError::NotHex);
        }
        Ok(SpotifyClientId(t.to_ascii_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The last four characters: enough for a person to recognise their app.
    pub fn last4(&self) -> &str {
        &self.0[self.0.len() - 4..]
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientIdError {
    Empty,
    Length(usize),
    NotHex,
}

impl std::fmt::Display for ClientIdError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientIdError::Empty => f.write_str("Paste the Client ID of your Spotify app."),
            ClientIdError::Length(n) => write!(
                f,
                "A Spotify Client ID has 32 characters; this one has {n}. Copy it again from your app's Settings page (not the Client secret)."
            ),
            ClientIdError::NotHex => f.write_str(
                "A Spotify Client ID has only the digits 0-9 and the letters a-f. Copy it again from your app's Settings page.",
            ),
        }
    }
}

/// The app a link (and every refresh of it) uses.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub enum SpotifyApp {
    /// The operator's confidential app.
    #[default]
    Operator,
    /// The person's own app, a public PKCE client.
    Own(SpotifyClientId),
}

/// `"Operator"` or `{"Own": "<client id>"}`.
impl Json for SpotifyApp {
    fn to_json(&self) -> Value {
        match self {
            SpotifyApp::Operator => Value::from("Operator"),
            SpotifyApp::Own(id) => tagged("Own", id.to_json()),
        }
    }
    fn from_json(v: &Value) -> Option<Self> {
        if v.as_str() == Some("Operator") {
            return Some(SpotifyApp::Operator);
        }
        match untag(v)? {
            ("Own", id) => SpotifyClientId::from_json(id).map(SpotifyApp::Own),
            _ => None,
        }
    }
}

impl SpotifyApp {
    pub fn is_operator(&self) -> bool {
        matches!(self, SpotifyApp::Operator)
    }

    /// In words, for `/account` and `get_auth_status`.
    pub fn describe(&self) -> String {
        match self {
            SpotifyApp::Operator => "this server's Spotify app".to_string(),
            SpotifyApp::Own(id) => format!("your own app …{}", id.last4()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_ids_are_32_hex_characters_normalised() {
        let id = SpotifyClientId::parse("  0123456789ABCDEF0123456789abcdef \n").unwrap();
        assert_eq!(id.as_str(), "0123456789abcdef0123456789abcdef");
        assert_eq!(SpotifyApp::Own(id).describe(), "your own app …cdef");
        assert_eq!(SpotifyClientId::parse(""), Err(ClientIdError::Empty));
        assert_eq!(SpotifyClientId::parse("abc"), Err(ClientIdError::Length(3)));
        assert_eq!(SpotifyClientId::parse(&"g".repeat(32)), Err(ClientIdError::NotHex));
        assert!(ClientIdError::Length(31).to_string().contains("31"));
    }

    /// The forms serde's derive wrote before `Json`: stored links carry them.
    #[test]
    fn apps_read_and_write_the_stored_forms() {
        let own = SpotifyApp::Own(SpotifyClientId::parse(&"a".repeat(32)).unwrap());
        let text = format!("{{\"Own\":\"{}\"}}", "a".repeat(32));
        assert_eq!(crate::core::record::to_vec(&own), text.as_bytes());
        assert_eq!(
            crate::core::record::from_slice::<SpotifyApp>(text.as_bytes()).unwrap().describe(),
            "your own app …aaaa"
        );
        assert_eq!(crate::core::record::to_vec(&SpotifyApp::Operator), b"\"Operator\"");
        assert_eq!(crate::core::record::from_slice(b"\"Operator\""), Some(SpotifyApp::Operator));
        for bad in [r#""Own""#, r#"{"Operator":null}"#, r#"{"Own":"x","Operator":1}"#, "null"] {
            assert_eq!(crate::core::record::from_slice::<SpotifyApp>(bad.as_bytes()), None, "{bad}");
        }
    }

    /// Found by the `store` fuzz target: a decoded id shorter than 4 bytes (or with multi-byte
    /// characters) made `last4` panic when `/account` or `get_auth_status` described the app.
    #[test]
    fn decoding_refuses_client_ids_parse_would_refuse() {
        for bad in ["01f", "", "é", &"é".repeat(16), &"g".repeat(32)] {
            assert_eq!(SpotifyApp::from_json(&serde_json::json!({ "Own": bad })), None, "{bad:?} decoded");
        }
    }
}
