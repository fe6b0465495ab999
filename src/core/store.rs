//! Per-user state in Workers KV. Every key a user owns starts with `u:<user key>:`, every
//! value is AES-256-GCM under a key derived for that user, with the KV key itself as
//! associated data: a value copied to another key (another user's, or another slot of the
//! same user) fails to decrypt instead of being trusted. Design notes: docs/state.md.

use crate::core::crypto::{b64url, sha256, CryptoError, Key};
use crate::core::platform::{Kv, PortError};
use crate::core::secret::{SpotifyAccessToken, SpotifyRefreshToken, SpotifyUserId, UserKey};
use crate::core::spotify_app::SpotifyApp;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    Kv(PortError),
    /// A stored value failed authentication (moved, tampered, or the master key changed).
    Undecryptable,
    Crypto(CryptoError),
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Kv(e) => write!(f, "KV error: {e}"),
            StoreError::Undecryptable => f.write_str("a stored value could not be decrypted"),
            StoreError::Crypto(e) => write!(f, "{e}"),
        }
    }
}

impl From<PortError> for StoreError {
    fn from(e: PortError) -> Self {
        StoreError::Kv(e)
    }
}

/// One user's link to Spotify: the only place Spotify tokens live.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpotifyLink {
    pub spotify_id: SpotifyUserId,
    pub display_name: Option<String>,
    pub access_token: SpotifyAccessToken,
    pub refresh_token: SpotifyRefreshToken,
    /// Seconds since the epoch.
    pub expires_at: u64,
    pub scope: String,
    pub linked_at: u64,
    /// The app Spotify issued these tokens to; refreshes must use the same one.
    #[serde(default, skip_serializing_if = "SpotifyApp::is_operator")]
    pub app: SpotifyApp,
    /// Counts refreshes of this sign-in: of two copies, the higher one holds the newer
    /// refresh token (expiry times can tie within a second).
    #[serde(default)]
    pub generation: u64,
}

/// What one of our access tokens grants. Stored under the token's hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessRecord {
    pub grant_id: String,
    pub client_id: String,
    pub scope: String,
    pub resource: String,
    pub expires_at: u64,
}

/// One refresh token, stored under its hash. Rotation writes a new key and deletes the
/// old one rather than updating a record in place: a new key is visible at every edge
/// location at once, while an overwritten one can be read stale for up to a minute.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshRecord {
    /// Stable across rotations: identifies one authorization of one client.
    pub grant_id: String,
    pub client_id: String,
    pub client_name: String,
    pub redirect_uri: String,
    pub scope: String,
    pub resource: String,
    /// Hash of the access token issued with this refresh token, ended with it.
    pub access_hash: String,
    pub granted_at: u64,
    pub expires_at: u64,
    /// Fair use: refreshes of this grant in the hour that began at `window_start`
    /// (carried from token to token; 0 in records from before it was counted).
    #[serde(default)]
    pub window_start: u64,
    #[serde(default)]
    pub window_refreshes: u32,
}

/// Written when an authorization code is redeemed: the code is sealed (stateless), so
/// this marker is what makes it single-use, and lets a replay revoke what it issued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeUse {
    pub refresh_hash: String,
    pub access_hash: String,
}

pub fn token_hash(token: &str) -> String {
    b64url(&sha256(token.as_bytes()))
}

pub struct Store<'a, K: Kv> {
    kv: &'a K,
    master: &'a Key,
}

impl<'a, K: Kv> Store<'a, K> {
    pub fn new(kv: &'a K, master: &'a Key) -> Self {
        Store { kv, master }
    }

    /// The stable, collision-free key for a Spotify user id (HMAC, so it reveals nothing).
    pub fn user_key(&self, id: &SpotifyUserId) -> UserKey {
        let k = self.master.derive(b"user-id");
        UserKey::from_hashed(b64url(&k.hmac(id.expose().as_bytes())))
    }

    pub fn prefix(uk: &UserKey) -> String {
        format!("u:{}:", uk.as_str())
    }
    pub fn link_key(uk: &UserKey) -> String {
        format!("u:{}:spotify", uk.as_str())
    }
    pub fn access_key(uk: &UserKey, hash: &str) -> String {
        format!("u:{}:at:{hash}", uk.as_str())
    }
    pub fn refresh_key(uk: &UserKey, hash: &str) -> String {
        format!("u:{}:rt:{hash}", uk.as_str())
    }
    pub fn code_key(uk: &UserKey, jti: &str) -> String {
        format!("u:{}:code:{jti}", uk.as_str())
    }

    fn user_data_key(&self, uk: &UserKey) -> Key {
        self.master.derive(format!("user-data:{}", uk.as_str()).as_bytes())
    }

    async fn get_json<T: DeserializeOwned>(&self, uk: &UserKey, key: &str) -> Result<Option<T>, StoreError> {
        let Some(text) = self.kv.get(key).await? else { return Ok(None) };
        let bytes = crate::core::crypto::b64url_decode(&text).ok_or(StoreError::Undecryptable)?;
        let plain = self.user_data_key(uk).open(key.as_bytes(), &bytes).map_err(|_| StoreError::Undecryptable)?;
        serde_json::from_slice(&plain).map(Some).map_err(|_| StoreError::Undecryptable)
    }

    async fn put_json<T: Serialize>(
        &self,
        uk: &UserKey,
        key: &str,
        value: &T,
        ttl: Option<u64>,
    ) -> Result<(), StoreError> {
        let plain = serde_json::to_vec(value).map_err(|_| StoreError::Undecryptable)?;
        let sealed = self.user_data_key(uk).seal(key.as_bytes(), &plain).map_err(StoreError::Crypto)?;
        Ok(self.kv.put(key, &b64url(&sealed), ttl.map(|t| t.max(60))).await?)
    }

    pub async fn get_link(&self, uk: &UserKey) -> Result<Option<SpotifyLink>, StoreError> {
        self.get_json(uk, &Self::link_key(uk)).await
    }

    pub async fn put_link(&self, uk: &UserKey, link: &SpotifyLink) -> Result<(), StoreError> {
        self.put_json(uk, &Self::link_key(uk), link, None).await
    }

    pub async fn get_access(&self, uk: &UserKey, token: &str) -> Result<Option<AccessRecord>, StoreError> {
        self.get_json(uk, &Self::access_key(uk, &token_hash(token))).await
    }

    pub async fn put_access(&self, uk: &UserKey, hash: &str, rec: &AccessRecord, ttl: u64) -> Result<(), StoreError> {
        self.put_json(uk, &Self::access_key(uk, hash), rec, Some(ttl)).await
    }

    pub async fn delete_access(&self, uk: &UserKey, hash: &str) -> Result<(), StoreError> {
        Ok(self.kv.delete(&Self::access_key(uk, hash)).await?)
    }

    pub async fn get_refresh(&self, uk: &UserKey, hash: &str) -> Result<Option<RefreshRecord>, StoreError> {
        self.get_json(uk, &Self::refresh_key(uk, hash)).await
    }

    pub async fn put_refresh(&self, uk: &UserKey, hash: &str, rec: &RefreshRecord, ttl: u64) -> Result<(), StoreError> {
        self.put_json(uk, &Self::refresh_key(uk, hash), rec, Some(ttl)).await
    }

    /// Ends the grant a refresh token belongs to: the token and its access token stop working.
    pub async fn end_refresh(&self, uk: &UserKey, hash: &str, rec: &RefreshRecord) -> Result<(), StoreError> {
        self.delete_access(uk, &rec.access_hash).await?;
        Ok(self.kv.delete(&Self::refresh_key(uk, hash)).await?)
    }

    /// Every live refresh token of a user with its record: one per authorized client.
    pub async fn list_refresh(&self, uk: &UserKey) -> Result<Vec<(String, RefreshRecord)>, StoreError> {
        let prefix = format!("u:{}:rt:", uk.as_str());
        let mut out = Vec::new();
        for key in self.kv.list(&prefix).await? {
            let hash = key[prefix.len()..].to_string();
            if let Some(rec) = self.get_json(uk, &key).await? {
                out.push((hash, rec));
            }
        }
        Ok(out)
    }

    pub async fn get_code_use(&self, uk: &UserKey, jti: &str) -> Result<Option<CodeUse>, StoreError> {
        self.get_json(uk, &Self::code_key(uk, jti)).await
    }

    pub async fn put_code_use(&self, uk: &UserKey, jti: &str, rec: &CodeUse, ttl: u64) -> Result<(), StoreError> {
        self.put_json(uk, &Self::code_key(uk, jti), rec, Some(ttl)).await
    }

    /// Deletes every key under the user's prefix. Returns how many were deleted.
    pub async fn delete_user(&self, uk: &UserKey) -> Result<usize, StoreError> {
        let keys = self.kv.list(&Self::prefix(uk)).await?;
        for k in &keys {
            self.kv.delete(k).await?;
        }
        Ok(keys.len())
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::core::testing::MemKv;
    use futures::executor::block_on;

    fn link(id: &str) -> SpotifyLink {
        SpotifyLink {
            spotify_id: SpotifyUserId::new(id),
            display_name: Some(id.to_uppercase()),
            access_token: SpotifyAccessToken::new(format!("sp-at-{id}")),
            refresh_token: SpotifyRefreshToken::new(format!("sp-rt-{id}")),
            expires_at: 1000,
            scope: "user-read-private".into(),
            linked_at: 1,
            app: SpotifyApp::Operator,
            generation: 0,
        }
    }

    #[test]
    fn values_are_encrypted_and_bound_to_their_key() {
        let kv = MemKv::default();
        let master = Key::from_bytes([5; 32]);
        let store = Store::new(&kv, &master);
        let alice = store.user_key(&SpotifyUserId::new("alice"));
        let bob = store.user_key(&SpotifyUserId::new("bob"));
        block_on(store.put_link(&alice, &link("alice"))).unwrap();
        block_on(store.put_link(&bob, &link("bob"))).unwrap();

        let raw = kv.raw(&Store::<MemKv>::link_key(&alice)).unwrap();
        assert!(!raw.contains("sp-at-alice") && !raw.contains("sp-rt-alice"), "plaintext token in KV");

        assert_eq!(block_on(store.get_link(&alice)).unwrap().unwrap(), link("alice"));
        // Swap alice's value into bob's slot: it must not decrypt as bob's.
        kv.set_raw(&Store::<MemKv>::link_key(&bob), &raw);
        assert_eq!(block_on(store.get_link(&bob)), Err(StoreError::Undecryptable));
    }

    #[test]
    fn user_keys_are_fixed_length_and_distinct_for_any_id() {
        let kv = MemKv::default();
        let master = Key::from_bytes([5; 32]);
        let store = Store::new(&kv, &master);
        let ids = ["alice", "alice:", "a:lice", "ålice 🎵", "", "u:x:spotify"];
        let keys: std::collections::HashSet<_> = ids.iter().map(|i| store.user_key(&SpotifyUserId::new(*i))).collect();
        assert_eq!(keys.len(), ids.len());
        assert!(keys.iter().all(|k| UserKey::parse(k.as_str()).is_some()));
    }

    #[test]
    fn delete_user_removes_only_that_prefix() {
        let kv = MemKv::default();
        let master = Key::from_bytes([5; 32]);
        let store = Store::new(&kv, &master);
        let alice = store.user_key(&SpotifyUserId::new("alice"));
        let bob = store.user_key(&SpotifyUserId::new("bob"));
        block_on(store.put_link(&alice, &link("alice"))).unwrap();
        block_on(store.put_link(&bob, &link("bob"))).unwrap();
        let rec = AccessRecord {
            grant_id: "g".into(),
            client_id: "c".into(),
            scope: String::new(),
            resource: "r".into(),
            expires_at: 5,
        };
        block_on(store.put_access(&alice, "h", &rec, 60)).unwrap();
        assert_eq!(block_on(store.delete_user(&alice)).unwrap(), 2);
        assert!(block_on(store.get_link(&alice)).unwrap().is_none());
        assert!(block_on(store.get_link(&bob)).unwrap().is_some());
    }
}
