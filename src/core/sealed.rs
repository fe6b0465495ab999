//! Sealed values: small JSON payloads encrypted and authenticated under a key derived from
//! the master secret for one purpose, with an expiry inside. They let `state`, our
//! authorization codes and registered client ids travel through the browser and come back
//! to any edge location, with no KV write and no wait for KV to replicate.
//!
//! Values are sealed under the current key and open under the current or the previous one
//! (a key rollover); registered client ids, which clients keep forever, under the identity
//! key (see [`Keyring`]).

use crate::core::crypto::{b64url, b64url_decode, Key};
use crate::core::keyring::Keyring;
use crate::core::record::Json;
use serde_json::Value;

/// Each purpose has its own key, so a value sealed as one thing never opens as another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// A dynamically registered client (its client_id is the sealed registration).
    Client,
    /// The authorization request carried through the consent form.
    Consent,
    /// Our `state` towards Spotify.
    SpotifyState,
    /// Our authorization code towards the MCP client.
    Code,
    /// The signed-in session of the "your connection" pages (a cookie).
    Session,
    /// A re-link link handed out by `get_auth_url` and relink messages.
    Relink,
    /// The `requestState` of an `input_required` result (a confirmation or a re-link asked
    /// of the person mid-call).
    RequestState,
}

impl Purpose {
    pub const ALL: [Purpose; 7] = [
        Purpose::Client,
        Purpose::Consent,
        Purpose::SpotifyState,
        Purpose::Code,
        Purpose::Session,
        Purpose::Relink,
        Purpose::RequestState,
    ];

    /// The label a purpose's key is derived from and its values are bound to (wire format).
    pub fn label(self) -> &'static str {
        match self {
            Purpose::Client => "client",
            Purpose::Consent => "consent",
            Purpose::SpotifyState => "spotify-state",
            Purpose::Code => "code",
            Purpose::Session => "session",
            Purpose::Relink => "relink",
            Purpose::RequestState => "request-state",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SealError {
    /// Not ours, tampered with, or sealed for another purpose.
    Invalid,
    Expired,
    Crypto,
}

/// What is sealed: `{"exp": <expiry, seconds since the epoch; 0 = never>, "v": <value>}`.
fn envelope(value: Value, exp: u64) -> Value {
    let mut o = serde_json::Map::new();
    o.insert("exp".into(), Value::from(exp));
    o.insert("v".into(), value);
    Value::Object(o)
}

fn purpose_key(master: &Key, purpose: Purpose) -> Key {
    master.derive(format!("seal:{}", purpose.label()).as_bytes())
}

// The generic functions are thin: the cryptography lives in `seal_json` and `open_json`,
// compiled once rather than once per sealed type.
pub fn seal<T: Json>(keys: &Keyring, purpose: Purpose, value: &T, expires_at: u64) -> Result<String, SealError> {
    let json = serde_json::to_vec(&envelope(value.to_json(), expires_at)).map_err(|_| SealError::Crypto)?;
    seal_json(keys, purpose, &json)
}

fn seal_json(keys: &Keyring, purpose: Purpose, json: &[u8]) -> Result<String, SealError> {
    let master = if purpose == Purpose::Client { keys.identity() } else { keys.current() };
    let sealed = purpose_key(master, purpose).seal(purpose.label().as_bytes(), json).map_err(|_| SealError::Crypto)?;
    Ok(b64url(&sealed))
}

pub fn open<T: Json>(keys: &Keyring, purpose: Purpose, text: &str, now: u64) -> Result<T, SealError> {
    open_with(keys, purpose, text, now).map(|(v, _)| v)
}

/// Opens a value and tells which master key sealed it (what a client secret derives from).
pub fn open_with<'k, T: Json>(
    keys: &'k Keyring,
    purpose: Purpose,
    text: &str,
    now: u64,
) -> Result<(T, &'k Key), SealError> {
    let (json, master) = open_json(keys, purpose, text)?;
    let env: Value = serde_json::from_slice(&json).map_err(|_| SealError::Invalid)?;
    let exp = env.get("exp").and_then(Value::as_u64).ok_or(SealError::Invalid)?;
    let value = env.get("v").and_then(T::from_json).ok_or(SealError::Invalid)?;
    if exp != 0 && now >= exp {
        return Err(SealError::Expired);
    }
    Ok((value, master))
}

/// The envelope's JSON and the master key it opened under.
fn open_json<'k>(keys: &'k Keyring, purpose: Purpose, text: &str) -> Result<(Vec<u8>, &'k Key), SealError> {
    if text.len() > 8192 {
        return Err(SealError::Invalid);
    }
    let bytes = b64url_decode(text).ok_or(SealError::Invalid)?;
    let candidates: Vec<&Key> =
        if purpose == Purpose::Client { keys.identity_openers().collect() } else { keys.openers().collect() };
    candidates
        .into_iter()
        .find_map(|master| Some((purpose_key(master, purpose).open(purpose.label().as_bytes(), &bytes).ok()?, master)))
        .ok_or(SealError::Invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(b: u8) -> Keyring {
        Keyring::single(Key::from_bytes([b; 32]))
    }

    #[test]
    fn round_trip_expiry_and_purpose_separation() {
        let k = ring(9);
        let s = seal(&k, Purpose::Code, &"hello".to_string(), 100).unwrap();
        assert_eq!(open::<String>(&k, Purpose::Code, &s, 99).unwrap(), "hello");
        assert_eq!(open::<String>(&k, Purpose::Code, &s, 100), Err(SealError::Expired));
        assert_eq!(open::<String>(&k, Purpose::SpotifyState, &s, 99), Err(SealError::Invalid));
        assert_eq!(open::<String>(&ring(1), Purpose::Code, &s, 99), Err(SealError::Invalid));
        let mut chars: Vec<char> = s.chars().collect();
        chars[20] = if chars[20] == 'A' { 'B' } else { 'A' };
        let tampered: String = chars.into_iter().collect();
        assert_eq!(open::<String>(&k, Purpose::Code, &tampered, 99), Err(SealError::Invalid));
        assert_eq!(open::<String>(&k, Purpose::Code, "!!", 99), Err(SealError::Invalid));
    }

    #[test]
    fn a_value_sealed_under_the_previous_key_opens_during_a_rollover_only() {
        let (a, b) = (Key::from_bytes([1; 32]), Key::from_bytes([2; 32]));
        let before = Keyring::single(a.clone());
        let session = seal(&before, Purpose::Session, &"uk".to_string(), 100).unwrap();
        let rolling = Keyring::new(b.clone(), Some(a.clone()), None);
        assert_eq!(open::<String>(&rolling, Purpose::Session, &session, 99).unwrap(), "uk");
        assert_eq!(open::<String>(&rolling, Purpose::Session, &session, 100), Err(SealError::Expired));
        // What is sealed now opens under the new key alone.
        let resealed = seal(&rolling, Purpose::Session, &"uk".to_string(), 100).unwrap();
        assert_eq!(open::<String>(&Keyring::single(b.clone()), Purpose::Session, &resealed, 99).unwrap(), "uk");
        let after = Keyring::new(b.clone(), None, Some(a.clone()));
        assert_eq!(open::<String>(&after, Purpose::Session, &session, 99), Err(SealError::Invalid));
    }

    #[test]
    fn registered_client_ids_outlive_the_rollover_under_the_identity_key() {
        let (a, b, c) = (Key::from_bytes([1; 32]), Key::from_bytes([2; 32]), Key::from_bytes([3; 32]));
        let client = seal(&Keyring::single(a.clone()), Purpose::Client, &"reg".to_string(), 0).unwrap();
        for keys in [
            Keyring::new(b.clone(), Some(a.clone()), None),
            Keyring::new(b.clone(), None, Some(a.clone())),
            Keyring::new(c.clone(), Some(b.clone()), Some(a.clone())),
        ] {
            let (v, sealed_by) = open_with::<String>(&keys, Purpose::Client, &client, 5).unwrap();
            assert_eq!((v.as_str(), sealed_by), ("reg", &a));
            // New registrations are sealed under the identity key too.
            let new = seal(&keys, Purpose::Client, &"reg2".to_string(), 0).unwrap();
            assert_eq!(open_with::<String>(&Keyring::single(a.clone()), Purpose::Client, &new, 5).unwrap().1, &a);
        }
        // Without the identity key, an old registration is unknown.
        assert_eq!(open::<String>(&Keyring::single(b), Purpose::Client, &client, 5), Err(SealError::Invalid));
    }
}
