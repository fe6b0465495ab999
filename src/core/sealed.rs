//! Sealed values: small JSON payloads encrypted and authenticated under a key derived from
//! the master secret for one purpose, with an expiry inside. They let `state`, our
//! authorization codes and registered client ids travel through the browser and come back
//! to any edge location, with no KV write and no wait for KV to replicate.

use crate::core::crypto::{b64url, b64url_decode, Key};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

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
}

impl Purpose {
    fn label(self) -> &'static str {
        match self {
            Purpose::Client => "client",
            Purpose::Consent => "consent",
            Purpose::SpotifyState => "spotify-state",
            Purpose::Code => "code",
            Purpose::Session => "session",
            Purpose::Relink => "relink",
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

#[derive(Serialize, Deserialize)]
struct Envelope<T> {
    /// Expiry, seconds since the epoch; 0 = never.
    exp: u64,
    v: T,
}

pub fn seal<T: Serialize>(master: &Key, purpose: Purpose, value: &T, expires_at: u64) -> Result<String, SealError> {
    let key = master.derive(format!("seal:{}", purpose.label()).as_bytes());
    let json = serde_json::to_vec(&Envelope { exp: expires_at, v: value }).map_err(|_| SealError::Crypto)?;
    let sealed = key.seal(purpose.label().as_bytes(), &json).map_err(|_| SealError::Crypto)?;
    Ok(b64url(&sealed))
}

pub fn open<T: DeserializeOwned>(master: &Key, purpose: Purpose, text: &str, now: u64) -> Result<T, SealError> {
    if text.len() > 8192 {
        return Err(SealError::Invalid);
    }
    let bytes = b64url_decode(text).ok_or(SealError::Invalid)?;
    let key = master.derive(format!("seal:{}", purpose.label()).as_bytes());
    let json = key.open(purpose.label().as_bytes(), &bytes).map_err(|_| SealError::Invalid)?;
    let env: Envelope<T> = serde_json::from_slice(&json).map_err(|_| SealError::Invalid)?;
    if env.exp != 0 && now >= env.exp {
        return Err(SealError::Expired);
    }
    Ok(env.v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_expiry_and_purpose_separation() {
        let k = Key::from_bytes([9; 32]);
        let s = seal(&k, Purpose::Code, &"hello", 100).unwrap();
        assert_eq!(open::<String>(&k, Purpose::Code, &s, 99).unwrap(), "hello");
        assert_eq!(open::<String>(&k, Purpose::Code, &s, 100), Err(SealError::Expired));
        assert_eq!(open::<String>(&k, Purpose::SpotifyState, &s, 99), Err(SealError::Invalid));
        assert_eq!(open::<String>(&Key::from_bytes([1; 32]), Purpose::Code, &s, 99), Err(SealError::Invalid));
        let mut chars: Vec<char> = s.chars().collect();
        chars[20] = if chars[20] == 'A' { 'B' } else { 'A' };
        let tampered: String = chars.into_iter().collect();
        assert_eq!(open::<String>(&k, Purpose::Code, &tampered, 99), Err(SealError::Invalid));
        assert_eq!(open::<String>(&k, Purpose::Code, "!!", 99), Err(SealError::Invalid));
    }
}
