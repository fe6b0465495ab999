//! Per-user state in Workers KV. Every key a user owns starts with `u:<user key>:`, every
//! value is AES-256-GCM under a key derived for that user, with the KV key itself as
//! associated data: a value copied to another key (another user's, or another slot of the
//! same user) fails to decrypt instead of being trusted. Design notes: docs/state.md.
//!
//! During a key rollover a value opens under the current or the previous key and every write
//! encrypts under the current one, so stored values move to the new key as they are written
//! again (no extra KV operation). The user key itself comes from the identity key, which a
//! rollover does not change: prefixes, and the tokens that name them, stay where they are.

use crate::core::crypto::{b64url, sha256, CryptoError, Key, Sealer};
use crate::core::keyring::Keyring;
use crate::core::platform::{Kv, PortError};
use crate::core::record::{json_record, Json};
use crate::core::secret::{SpotifyAccessToken, SpotifyRefreshToken, SpotifyUserId, UserKey};
use crate::core::spotify_app::SpotifyApp;

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
#[derive(Debug, Clone, PartialEq, Eq)]
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
    pub app: SpotifyApp,
    /// Counts refreshes of this sign-in: of two copies, the higher one holds the newer
    /// refresh token (expiry times can tie within a second).
    pub generation: u64,
    /// The user's epoch when this link was made (see [`Epoch`]).
    pub epoch: u64,
    /// Fair use: sign-ins of this user today. Carried in the link, which every sign-in
    /// writes anyway, so counting costs no KV write.
    pub sign_ins: DayCount,
}

json_record!(SpotifyLink {
    spotify_id,
    display_name,
    access_token,
    refresh_token,
    expires_at,
    scope,
    linked_at,
    app: lean,
    generation: default,
    epoch: default,
    sign_ins: default,
});

/// A count of something that happened on one UTC day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DayCount {
    /// Days since the Unix epoch.
    pub day: u64,
    pub count: u32,
}

json_record!(DayCount { day, count });

impl DayCount {
    pub const SECS: u64 = 86_400;

    /// The count on the day of `now`: 0 once the day has changed.
    pub fn on(&self, now: u64) -> u32 {
        if self.day == now / Self::SECS {
            self.count
        } else {
            0
        }
    }

    /// One more on the day of `now`.
    pub fn plus_one(&self, now: u64) -> DayCount {
        DayCount { day: now / Self::SECS, count: self.on(now).saturating_add(1) }
    }

    /// Seconds until the day of `now` ends (UTC midnight), at least 1.
    pub fn secs_left(now: u64) -> u64 {
        (Self::SECS - now % Self::SECS).max(1)
    }
}

/// What one of our access tokens grants. Stored under the token's hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessRecord {
    pub grant_id: String,
    pub client_id: String,
    pub scope: String,
    pub resource: String,
    pub expires_at: u64,
    /// The user's epoch at sign-in: a token from before "delete all my data" is refused.
    pub epoch: u64,
}

json_record!(AccessRecord { grant_id, client_id, scope, resource, expires_at, epoch: default });

/// One refresh token, stored under its hash. Rotation writes a new key and deletes the
/// old one rather than updating a record in place: a new key is visible at every edge
/// location at once, while an overwritten one can be read stale for up to a minute.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    pub epoch: u64,
    /// Rotated out or revoked: the record stays as a tombstone, so presenting this token
    /// again is recognised as reuse (RFC 9700 §4.14.2) rather than as an unknown token.
    pub spent: bool,
    /// Fair use: refreshes of this grant in the hour that began at `window_start`
    /// (carried from token to token; 0 in records from before it was counted).
    pub window_start: u64,
    pub window_refreshes: u32,
}

json_record!(RefreshRecord {
    grant_id,
    client_id,
    client_name,
    redirect_uri,
    scope,
    resource,
    access_hash,
    granted_at,
    expires_at,
    epoch: default,
    spent: default,
    window_start: default,
    window_refreshes: default,
});

/// One grant (one sign-in of one client), under `u:<uk>:g:<grant_id>`: which refresh and
/// access token are current, and whether it was revoked. A refresh token that is not the
/// current one of its grant is a replay, and ends the grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantRecord {
    pub refresh_hash: String,
    pub access_hash: String,
    pub revoked: bool,
}

json_record!(GrantRecord { refresh_hash, access_hash, revoked });

/// The user's epoch, under `u:<uk>:epoch`: the time of their last "delete all my data".
/// Every link and token records the epoch it was made in; one from an older epoch is
/// refused, even when a KV listing missed it during the deletion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Epoch(pub u64);

/// A bare number, as serde writes a newtype struct.
impl Json for Epoch {
    fn to_json(&self) -> serde_json::Value {
        self.0.to_json()
    }
    fn from_json(v: &serde_json::Value) -> Option<Self> {
        u64::from_json(v).map(Epoch)
    }
}

/// Written when an authorization code is redeemed: the code is sealed (stateless), so
/// this marker is what makes it single-use, and lets a replay revoke what it issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeUse {
    pub refresh_hash: String,
    pub access_hash: String,
}

json_record!(CodeUse { refresh_hash, access_hash });

/// Values this isolate has opened, by KV key: a read that returns the very text opened
/// before (the steady state: a token and a link read on every call, changing hourly) reuses
/// its plaintext instead of decrypting again. The KV read still happens, so a deletion or a
/// new value is seen exactly as before; only identical sealed text, under the same key and
/// the same keyring, is trusted to hold the same authenticated plaintext.
mod opened {
    use crate::core::crypto::Key;
    use crate::core::keyring::Keyring;
    use crate::core::memo::Bounded;
    use std::cell::RefCell;
    use std::rc::Rc;

    type Keys = (Key, Option<Key>);
    /// What was opened under one KV key: with which keys, from which text, to what.
    type Opened = (Keys, String, Rc<Vec<u8>>);

    thread_local! {
        /// Enough for the users an isolate serves at once.
        static OPENED: RefCell<Bounded<String, Opened>> = RefCell::new(Bounded::new(512));
    }

    fn keys_of(ring: &Keyring) -> Keys {
        (ring.current().clone(), ring.previous().cloned())
    }

    pub fn recall(ring: &Keyring, key: &str, text: &str) -> Option<Rc<Vec<u8>>> {
        OPENED.with(|m| {
            let m = m.borrow();
            let (keys, seen, plain) = m.get(key)?;
            (seen == text && *keys == keys_of(ring)).then(|| plain.clone())
        })
    }

    pub fn remember(ring: &Keyring, key: &str, text: String, plain: Vec<u8>) -> Rc<Vec<u8>> {
        let plain = Rc::new(plain);
        OPENED.with(|m| m.borrow_mut().insert(key.to_string(), (keys_of(ring), text, plain.clone())));
        plain
    }
}

pub fn token_hash(token: &str) -> String {
    b64url(&sha256(token.as_bytes()))
}

pub struct Store<'a, K: Kv> {
    kv: &'a K,
    keys: &'a Keyring,
}

impl<'a, K: Kv> Store<'a, K> {
    pub fn new(kv: &'a K, keys: &'a Keyring) -> Self {
        Store { kv, keys }
    }

    /// The stable, collision-free key for a Spotify user id (HMAC, so it reveals nothing),
    /// under the identity key: the same before, during and after a key rollover.
    pub fn user_key(&self, id: &SpotifyUserId) -> UserKey {
        let k = self.keys.identity().derive(b"user-id");
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
    /// Marks a confirmed destructive action as done: a `requestState` acts once.
    pub fn confirmed_key(uk: &UserKey, jti: &str) -> String {
        format!("u:{}:confirmed:{jti}", uk.as_str())
    }
    pub fn grant_key(uk: &UserKey, grant_id: &str) -> String {
        format!("u:{}:g:{grant_id}", uk.as_str())
    }
    pub fn epoch_key(uk: &UserKey) -> String {
        format!("u:{}:epoch", uk.as_str())
    }
    /// Fair use: refreshes of this user's grants today (see `REFRESHES_PER_DAY`).
    pub fn refreshes_key(uk: &UserKey) -> String {
        format!("u:{}:refreshes", uk.as_str())
    }

    /// The key a user's values are sealed with under `master`, kept per isolate: deriving it
    /// (HKDF) and its AES key schedule were a measurable share of every request's CPU.
    fn user_data_key(master: &Key, uk: &UserKey) -> Sealer {
        thread_local! {
            /// Enough for every user an isolate serves at once.
            static SEALERS: std::cell::RefCell<crate::core::memo::Bounded<(Key, String), Sealer>> =
                std::cell::RefCell::new(crate::core::memo::Bounded::new(256));
        }
        SEALERS.with(|cache| {
            let id = (master.clone(), uk.as_str().to_string());
            if let Some(sealer) = cache.borrow().get(&id) {
                return sealer.clone();
            }
            let sealer = master.derive(format!("user-data:{}", uk.as_str()).as_bytes()).sealer();
            cache.borrow_mut().insert(id, sealer.clone());
            sealer
        })
    }

    // The generic readers and writers are thin: the KV call and the cryptography live in
    // `get_plain` and `put_plain`, compiled once rather than once per record type.
    async fn get_json<T: Json>(&self, uk: &UserKey, key: &str) -> Result<Option<T>, StoreError> {
        match self.get_plain(uk, key).await? {
            Some(plain) => crate::core::record::from_slice(&plain).map(Some).ok_or(StoreError::Undecryptable),
            None => Ok(None),
        }
    }

    async fn get_plain(&self, uk: &UserKey, key: &str) -> Result<Option<std::rc::Rc<Vec<u8>>>, StoreError> {
        let Some(text) = self.kv.get(key).await? else { return Ok(None) };
        if let Some(plain) = opened::recall(self.keys, key, &text) {
            return Ok(Some(plain));
        }
        let bytes = crate::core::crypto::b64url_decode(&text).ok_or(StoreError::Undecryptable)?;
        let plain = self
            .keys
            .openers()
            .find_map(|master| Self::user_data_key(master, uk).open(key.as_bytes(), &bytes).ok())
            .ok_or(StoreError::Undecryptable)?;
        Ok(Some(opened::remember(self.keys, key, text, plain)))
    }

    async fn put_json<T: Json>(&self, uk: &UserKey, key: &str, value: &T, ttl: Option<u64>) -> Result<(), StoreError> {
        self.put_plain(uk, key, &crate::core::record::to_vec(value), ttl).await
    }

    async fn put_plain(&self, uk: &UserKey, key: &str, plain: &[u8], ttl: Option<u64>) -> Result<(), StoreError> {
        let sealed =
            Self::user_data_key(self.keys.current(), uk).seal(key.as_bytes(), plain).map_err(StoreError::Crypto)?;
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

    /// Ends a grant: the grant is marked revoked (so any of its refresh tokens is refused,
    /// even one read from a stale cache), its current access token is deleted and its
    /// current refresh token becomes a tombstone.
    /// `ttl`: how long the tombstones live (the refresh token's lifetime).
    pub async fn end_grant(&self, uk: &UserKey, grant_id: &str, ttl: u64) -> Result<(), StoreError> {
        let current = self.get_grant(uk, grant_id).await?;
        let revoked = GrantRecord {
            refresh_hash: current.as_ref().map(|g| g.refresh_hash.clone()).unwrap_or_default(),
            access_hash: current.as_ref().map(|g| g.access_hash.clone()).unwrap_or_default(),
            revoked: true,
        };
        self.put_grant(uk, grant_id, &revoked, ttl).await?;
        if let Some(g) = current {
            self.delete_access(uk, &g.access_hash).await?;
            if let Some(mut rec) = self.get_refresh(uk, &g.refresh_hash).await? {
                rec.spent = true;
                self.put_refresh(uk, &g.refresh_hash, &rec, ttl).await?;
            }
        }
        Ok(())
    }

    pub async fn get_grant(&self, uk: &UserKey, grant_id: &str) -> Result<Option<GrantRecord>, StoreError> {
        self.get_json(uk, &Self::grant_key(uk, grant_id)).await
    }

    pub async fn put_grant(&self, uk: &UserKey, grant_id: &str, rec: &GrantRecord, ttl: u64) -> Result<(), StoreError> {
        self.put_json(uk, &Self::grant_key(uk, grant_id), rec, Some(ttl)).await
    }

    pub async fn get_epoch(&self, uk: &UserKey) -> Result<Epoch, StoreError> {
        Ok(self.get_json(uk, &Self::epoch_key(uk)).await?.unwrap_or_default())
    }

    pub async fn get_refreshes_today(&self, uk: &UserKey) -> Result<DayCount, StoreError> {
        Ok(self.get_json(uk, &Self::refreshes_key(uk)).await?.unwrap_or_default())
    }

    /// Lives two days: a count only matters on its own day.
    pub async fn put_refreshes_today(&self, uk: &UserKey, count: &DayCount) -> Result<(), StoreError> {
        self.put_json(uk, &Self::refreshes_key(uk), count, Some(2 * DayCount::SECS)).await
    }

    /// Every live refresh token of a user with its record: one per authorized client.
    pub async fn list_refresh(&self, uk: &UserKey) -> Result<Vec<(String, RefreshRecord)>, StoreError> {
        let prefix = format!("u:{}:rt:", uk.as_str());
        let mut out = Vec::new();
        for key in self.kv.list(&prefix).await? {
            let hash = key[prefix.len()..].to_string();
            if let Some(rec) = self.get_json::<RefreshRecord>(uk, &key).await? {
                if !rec.spent {
                    out.push((hash, rec));
                }
            }
        }
        Ok(out)
    }

    /// Records that the confirmed action `jti` ran; `false` when it already had.
    pub async fn first_confirmed_use(&self, uk: &UserKey, jti: &str, ttl: u64) -> Result<bool, StoreError> {
        let key = Self::confirmed_key(uk, jti);
        if self.get_json::<u64>(uk, &key).await?.is_some() {
            return Ok(false);
        }
        self.put_json(uk, &key, &1u64, Some(ttl)).await?;
        Ok(true)
    }

    pub async fn get_code_use(&self, uk: &UserKey, jti: &str) -> Result<Option<CodeUse>, StoreError> {
        self.get_json(uk, &Self::code_key(uk, jti)).await
    }

    pub async fn put_code_use(&self, uk: &UserKey, jti: &str, rec: &CodeUse, ttl: u64) -> Result<(), StoreError> {
        self.put_json(uk, &Self::code_key(uk, jti), rec, Some(ttl)).await
    }

    /// Deletes every key under the user's prefix, then starts a new epoch: a key the
    /// listing missed (KV lists are eventually consistent) holds a token of the old epoch,
    /// which every check refuses. Returns how many keys were deleted.
    pub async fn delete_user(&self, uk: &UserKey, now: u64) -> Result<usize, StoreError> {
        let previous = self.get_epoch(uk).await?;
        let keys = self.kv.list(&Self::prefix(uk)).await?;
        let epoch_key = Self::epoch_key(uk);
        let mut deleted = 0;
        for k in keys.iter().filter(|k| **k != epoch_key) {
            self.kv.delete(k).await?;
            deleted += 1;
        }
        self.put_json(uk, &epoch_key, &Epoch(now.max(previous.0 + 1)), None).await?;
        Ok(deleted)
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::core::testing::MemKv;
    use futures::executor::block_on;

    /// Records as the previous release wrote them (serde's derive: declaration order, the
    /// operator's app left out, fields added later absent) read as they did then.
    #[test]
    fn records_written_by_serde_still_read() {
        use crate::core::record::{from_slice, to_vec};
        let old = br#"{"spotify_id":"alice","display_name":null,"access_token":"at","refresh_token":"rt","expires_at":5,"scope":"s","linked_at":4}"#;
        let read: SpotifyLink = from_slice(old).unwrap();
        assert_eq!((read.spotify_id.expose(), read.display_name.as_deref()), ("alice", None));
        assert_eq!((read.access_token.expose(), read.refresh_token.expose()), ("at", "rt"));
        assert_eq!((read.expires_at, read.linked_at, read.scope.as_str()), (5, 4, "s"));
        assert_eq!(
            (read.app.clone(), read.generation, read.epoch, read.sign_ins),
            (SpotifyApp::Operator, 0, 0, DayCount::default())
        );
        let own = br#"{"spotify_id":"b","display_name":"B","access_token":"at","refresh_token":"rt","expires_at":5,"scope":"s","linked_at":4,"app":{"Own":"0123456789abcdef0123456789abcdef"},"generation":3,"epoch":2,"sign_ins":{"day":7,"count":1}}"#;
        let read: SpotifyLink = from_slice(own).unwrap();
        assert_eq!(read.app.describe(), "your own app …cdef");
        assert_eq!((read.generation, read.epoch, read.sign_ins), (3, 2, DayCount { day: 7, count: 1 }));
        // Written back, the same JSON object (keys in another order).
        let again: serde_json::Value = serde_json::from_slice(&to_vec(&read)).unwrap();
        assert_eq!(again, serde_json::from_slice::<serde_json::Value>(own).unwrap());

        let refresh = br#"{"grant_id":"g","client_id":"c","client_name":"n","redirect_uri":"r","scope":"s","resource":"x","access_hash":"h","granted_at":1,"expires_at":2}"#;
        let read: RefreshRecord = from_slice(refresh).unwrap();
        assert_eq!((read.grant_id.as_str(), read.access_hash.as_str(), read.expires_at), ("g", "h", 2));
        assert_eq!((read.epoch, read.spent, read.window_start, read.window_refreshes), (0, false, 0, 0));
        let access: AccessRecord =
            from_slice(br#"{"grant_id":"g","client_id":"c","scope":"s","resource":"x","expires_at":9}"#).unwrap();
        assert_eq!((access.expires_at, access.epoch), (9, 0));
        assert_eq!(from_slice::<Epoch>(b"12"), Some(Epoch(12)));
        // A record missing a field that was never optional is unreadable, not defaulted.
        assert_eq!(from_slice::<AccessRecord>(br#"{"grant_id":"g","client_id":"c","scope":"s","resource":"x"}"#), None);
    }

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
            epoch: 0,
            sign_ins: Default::default(),
        }
    }

    #[test]
    fn a_value_opened_before_is_reused_only_while_text_and_keyring_are_the_same() {
        let kv = MemKv::default();
        let (a, b) = (Key::from_bytes([1; 32]), Key::from_bytes([2; 32]));
        let old = Keyring::single(a.clone());
        let store = Store::new(&kv, &old);
        let uk = store.user_key(&SpotifyUserId::new("memo"));
        block_on(store.put_link(&uk, &link("memo"))).unwrap();
        assert_eq!(block_on(store.get_link(&uk)).unwrap().unwrap().spotify_id.expose(), "memo");
        assert!(block_on(store.get_link(&uk)).unwrap().is_some(), "again, from the same text");
        // A new value under the same key is read, not the remembered one.
        block_on(store.put_link(&uk, &SpotifyLink { display_name: Some("NEW".into()), ..link("memo") })).unwrap();
        assert_eq!(block_on(store.get_link(&uk)).unwrap().unwrap().display_name.as_deref(), Some("NEW"));
        // Rolled over: still opens with the previous key; once it is gone, it does not.
        let rolling = Keyring::new(b.clone(), Some(a.clone()), Some(a.clone()));
        assert!(block_on(Store::new(&kv, &rolling).get_link(&uk)).unwrap().is_some());
        let after = Keyring::new(b, None, Some(a));
        assert_eq!(block_on(Store::new(&kv, &after).get_link(&uk)), Err(StoreError::Undecryptable));
        // Tampered text is never taken for the remembered one.
        let raw = kv.raw(&Store::<MemKv>::link_key(&uk)).unwrap();
        let swap = if raw.ends_with('A') { 'B' } else { 'A' };
        kv.set_raw(&Store::<MemKv>::link_key(&uk), &format!("{}{swap}", &raw[..raw.len() - 1]));
        assert_eq!(block_on(store.get_link(&uk)), Err(StoreError::Undecryptable));
        // Deleted: gone, whatever was remembered.
        block_on(kv.delete(&Store::<MemKv>::link_key(&uk))).unwrap();
        assert_eq!(block_on(store.get_link(&uk)), Ok(None));
    }

    #[test]
    fn values_are_encrypted_and_bound_to_their_key() {
        let kv = MemKv::default();
        let master = Keyring::single(Key::from_bytes([5; 32]));
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
        let master = Keyring::single(Key::from_bytes([5; 32]));
        let store = Store::new(&kv, &master);
        let ids = ["alice", "alice:", "a:lice", "ålice 🎵", "", "u:x:spotify"];
        let keys: std::collections::HashSet<_> = ids.iter().map(|i| store.user_key(&SpotifyUserId::new(*i))).collect();
        assert_eq!(keys.len(), ids.len());
        assert!(keys.iter().all(|k| UserKey::parse(k.as_str()).is_some()));
    }

    #[test]
    fn delete_user_removes_only_that_prefix() {
        let kv = MemKv::default();
        let master = Keyring::single(Key::from_bytes([5; 32]));
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
            epoch: 0,
        };
        block_on(store.put_access(&alice, "h", &rec, 60)).unwrap();
        assert_eq!(block_on(store.delete_user(&alice, 100)).unwrap(), 2);
        assert_eq!(block_on(store.get_epoch(&alice)).unwrap(), Epoch(100), "a new epoch starts");
        assert_eq!(block_on(store.delete_user(&alice, 100)).unwrap(), 0);
        assert_eq!(block_on(store.get_epoch(&alice)).unwrap(), Epoch(101), "epochs only grow");
        assert!(block_on(store.get_link(&alice)).unwrap().is_none());
        assert!(block_on(store.get_link(&bob)).unwrap().is_some());
    }

    #[test]
    fn a_value_from_the_previous_key_opens_and_is_re_encrypted_on_the_next_write() {
        let kv = MemKv::default();
        let (a, b) = (Key::from_bytes([1; 32]), Key::from_bytes([2; 32]));
        let before = Keyring::single(a.clone());
        let uk = Store::new(&kv, &before).user_key(&SpotifyUserId::new("carol"));
        block_on(Store::new(&kv, &before).put_link(&uk, &link("carol"))).unwrap();

        let rolling = Keyring::new(b.clone(), Some(a.clone()), None);
        let store = Store::new(&kv, &rolling);
        assert_eq!(store.user_key(&SpotifyUserId::new("carol")), uk, "the prefix does not move");
        let only_b = Keyring::single(b.clone());
        assert_eq!(block_on(Store::new(&kv, &only_b).get_link(&uk)), Err(StoreError::Undecryptable));
        let mut read = block_on(store.get_link(&uk)).unwrap().unwrap();
        assert_eq!(read, link("carol"));
        kv.reset_counts();
        block_on(store.get_link(&uk)).unwrap();
        assert_eq!((kv.reads.get(), kv.writes.get()), (1, 0), "an old value costs no extra KV operation");

        read.generation = 1;
        block_on(store.put_link(&uk, &read)).unwrap();
        assert_eq!(block_on(Store::new(&kv, &only_b).get_link(&uk)).unwrap().unwrap(), read);
        // After the rollover (TOKEN_IDENTITY_KEY kept): same prefix, new key only.
        let after = Keyring::new(b, None, Some(a.clone()));
        let store = Store::new(&kv, &after);
        assert_eq!(store.user_key(&SpotifyUserId::new("carol")), uk);
        assert_eq!(block_on(store.get_link(&uk)).unwrap().unwrap(), read);
        let stale = Store::new(&kv, &before);
        assert_eq!(block_on(stale.get_link(&uk)), Err(StoreError::Undecryptable), "the old key no longer opens it");
    }
}
