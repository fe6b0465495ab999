//! The keys the server holds, and which one does what during a key rollover.
//!
//! - `current` (`TOKEN_ENCRYPTION_KEY`) seals and encrypts everything written.
//! - `previous` (`TOKEN_ENCRYPTION_KEY_PREVIOUS`, only during a rollover) still opens what it
//!   sealed, so nobody is signed out while values are written again under `current`.
//! - `identity` names things that cannot be renamed: the per-user KV prefix (`uk`, which is
//!   also inside every token of ours) and registered client ids (which clients keep forever).
//!   It is `TOKEN_IDENTITY_KEY`, else the previous key, else the current one, so it stays the
//!   key a deployment started with across any number of rollovers. It never encrypts data.
//!
//! Design and operator steps: docs/oauth.md ("Key rollover") and the README ("Key rotation").

use crate::core::crypto::{b64url, ct_eq, Key};

#[derive(Debug, Clone)]
pub struct Keyring {
    current: Key,
    previous: Option<Key>,
    identity: Key,
    /// Whether `TOKEN_IDENTITY_KEY` named the identity key (it survives removing `previous`).
    identity_pinned: bool,
}

impl Keyring {
    /// `identity`, when absent, is the previous key during a rollover, else the current one.
    pub fn new(current: Key, previous: Option<Key>, identity: Option<Key>) -> Self {
        let previous = previous.filter(|p| *p != current);
        let identity_pinned = identity.is_some();
        let identity = identity.or_else(|| previous.clone()).unwrap_or_else(|| current.clone());
        Keyring { current, previous, identity, identity_pinned }
    }

    /// One key for everything: a deployment that never rotated.
    pub fn single(key: Key) -> Self {
        Keyring::new(key, None, None)
    }

    /// Seals and encrypts everything written.
    pub fn current(&self) -> &Key {
        &self.current
    }

    pub fn previous(&self) -> Option<&Key> {
        self.previous.as_ref()
    }

    /// Names users (`uk`) and registered clients.
    pub fn identity(&self) -> &Key {
        &self.identity
    }

    /// During a rollover whose identity key is borrowed from `previous`: removing it
    /// without setting `TOKEN_IDENTITY_KEY` would rename every user and client.
    pub fn identity_at_risk(&self) -> bool {
        self.previous.is_some() && !self.identity_pinned
    }

    /// The keys that may open a stored or sealed value, the current one first.
    pub fn openers(&self) -> impl Iterator<Item = &Key> {
        std::iter::once(&self.current).chain(self.previous.as_ref())
    }

    /// The keys that may open an identifier: the identity key first, then the openers
    /// (a registration made by a deployment whose identity key was set later still opens).
    pub fn identity_openers(&self) -> impl Iterator<Item = &Key> {
        let identity = &self.identity;
        std::iter::once(identity).chain(self.openers().filter(move |k| *k != identity))
    }

    /// A MAC of `data` under `HKDF(current, label)`, base64url: what we hand out.
    pub fn mac(&self, label: &[u8], data: &[u8]) -> String {
        b64url(&self.current.derive(label).hmac(data))
    }

    /// Whether `given` is the MAC of `data` under any opener: one handed out before the
    /// rollover still verifies while the previous key is set.
    pub fn verify_mac(&self, label: &[u8], data: &[u8], given: &str) -> bool {
        // Every candidate is compared (no early exit), in constant time each.
        self.openers().fold(false, |ok, k| ct_eq(given.as_bytes(), b64url(&k.derive(label).hmac(data)).as_bytes()) | ok)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(b: u8) -> Key {
        Key::from_bytes([b; 32])
    }

    #[test]
    fn identity_is_the_oldest_key_known() {
        assert_eq!(Keyring::single(k(1)).identity(), &k(1));
        // A rollover from A to B: identities stay A's.
        let rolling = Keyring::new(k(2), Some(k(1)), None);
        assert_eq!(rolling.identity(), &k(1));
        assert_eq!(rolling.openers().cloned().collect::<Vec<_>>(), [k(2), k(1)]);
        // After it, with TOKEN_IDENTITY_KEY kept: still A's; A no longer opens data.
        let after = Keyring::new(k(2), None, Some(k(1)));
        assert_eq!(after.identity(), &k(1));
        assert_eq!(after.openers().cloned().collect::<Vec<_>>(), [k(2)]);
        assert_eq!(after.identity_openers().cloned().collect::<Vec<_>>(), [k(1), k(2)]);
        // A second rollover, B to C.
        let second = Keyring::new(k(3), Some(k(2)), Some(k(1)));
        assert_eq!(second.identity_openers().cloned().collect::<Vec<_>>(), [k(1), k(3), k(2)]);
        // The same key twice is no rollover.
        assert!(Keyring::new(k(4), Some(k(4)), None).previous().is_none());
    }

    #[test]
    fn a_mac_from_the_previous_key_verifies_only_while_it_is_set() {
        let old = Keyring::single(k(1));
        let given = old.mac(b"account-form", b"cookie");
        assert!(old.verify_mac(b"account-form", b"cookie", &given));
        assert!(Keyring::new(k(2), Some(k(1)), None).verify_mac(b"account-form", b"cookie", &given));
        assert!(!Keyring::new(k(2), None, Some(k(1))).verify_mac(b"account-form", b"cookie", &given));
        assert!(!old.verify_mac(b"other", b"cookie", &given));
    }
}
