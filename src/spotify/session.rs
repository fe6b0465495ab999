//! One user's Spotify session for the length of a request: refreshes the access token
//! when it expires, retries once after a 401, waits out a short 429 (a longer one, or a
//! used-up quota, holds back every call of that Spotify app: [`backoff`]), and retries reads on
//! 5xx. Tools call [`SpotifySession::call`] and never see a token.
//!
//! Refresh tokens of public (PKCE) clients are single-use at Spotify, so a refresh must
//! never lose the newest one and parallel requests must not burn it: one refresh per user
//! is in flight per isolate ([`flight`]), the others wait for its result; the new token is
//! stored before anyone uses it; and an `invalid_grant` first adopts a newer token another
//! request (or isolate) stored before concluding that the person must sign in again.

use crate::core::config::Config;
use crate::core::platform::Platform;
use crate::core::secret::UserKey;
use crate::core::store::{SpotifyLink, Store, StoreError};
use crate::spotify::api::SpotifyApi;
use crate::spotify::backoff;
use crate::spotify::error::SpotifyError;
use serde_json::Value;

/// Refresh this long before Spotify's expiry, so a token does not die mid-request.
const EXPIRY_MARGIN_SECS: u64 = 60;
/// The longest `Retry-After` we wait out inside a request.
const MAX_INLINE_WAIT_SECS: u64 = 3;
const MAX_SERVER_RETRIES: u32 = 2;
/// Attempts at storing a rotated Spotify token before keeping it in memory only.
const STORE_ATTEMPTS: u32 = 3;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionError {
    Spotify(SpotifyError),
    /// Spotify no longer accepts the stored sign-in: the user must re-link.
    Relink(String),
    Store(StoreError),
}

impl From<StoreError> for SessionError {
    fn from(e: StoreError) -> Self {
        SessionError::Store(e)
    }
}

/// The refreshes in flight in this isolate, and the newest link each produced. Workers
/// run one request at a time per thread but interleave them at every `await`, so plain
/// thread-local state is the isolate's shared memory.
///
/// Waiters poll on a timer rather than await a channel the leader completes: workerd
/// cancels a request as hung when all it waits on is a promise another request resolves,
/// while a timer is the waiting request's own I/O.
pub(crate) mod flight {
    use super::{SessionError, SpotifyLink};
    use crate::core::secret::UserKey;
    use std::cell::{Cell, RefCell};
    use std::collections::HashMap;

    pub type Outcome = Result<SpotifyLink, SessionError>;

    thread_local! {
        static IN_FLIGHT: RefCell<HashMap<UserKey, u64>> = RefCell::new(HashMap::new());
        static OUTCOMES: RefCell<HashMap<UserKey, (u64, Outcome)>> = RefCell::new(HashMap::new());
        static LATEST: RefCell<HashMap<UserKey, SpotifyLink>> = RefCell::new(HashMap::new());
        static NEXT: Cell<u64> = const { Cell::new(1) };
    }

    /// The ticket of this user's refresh in flight, if any.
    pub fn in_flight(uk: &UserKey) -> Option<u64> {
        IN_FLIGHT.with(|f| f.borrow().get(uk).copied())
    }

    /// What became of refresh `ticket`: `Some` once it finished; `Err(())` if its request
    /// went away without finishing.
    pub fn outcome(uk: &UserKey, ticket: u64) -> Result<Option<Outcome>, ()> {
        if let Some(o) = OUTCOMES.with(|o| o.borrow().get(uk).filter(|(t, _)| *t == ticket).map(|(_, o)| o.clone())) {
            return Ok(Some(o));
        }
        match in_flight(uk) {
            Some(t) if t == ticket => Ok(None),
            _ => Err(()),
        }
    }

    /// Marks this user's refresh as in flight. Dropping the guard without `finish` (the
    /// request was cancelled) releases the waiters, who then refresh themselves.
    pub fn lead(uk: &UserKey) -> Leader {
        let ticket = NEXT.with(|n| {
            let t = n.get();
            n.set(t + 1);
            t
        });
        IN_FLIGHT.with(|f| f.borrow_mut().insert(uk.clone(), ticket));
        Leader(uk.clone(), ticket)
    }

    pub struct Leader(UserKey, u64);

    impl Leader {
        pub fn finish(self, outcome: &Outcome) {
            if let Ok(link) = outcome {
                LATEST.with(|l| l.borrow_mut().insert(self.0.clone(), link.clone()));
            }
            OUTCOMES.with(|o| o.borrow_mut().insert(self.0.clone(), (self.1, outcome.clone())));
        }
    }

    impl Drop for Leader {
        fn drop(&mut self) {
            IN_FLIGHT.with(|f| {
                let mut f = f.borrow_mut();
                if f.get(&self.0) == Some(&self.1) {
                    f.remove(&self.0);
                }
            });
        }
    }

    /// The newest link this isolate refreshed for the same sign-in as `link`, if newer.
    pub fn newer_than(uk: &UserKey, link: &SpotifyLink) -> Option<SpotifyLink> {
        LATEST.with(|l| {
            l.borrow()
                .get(uk)
                .filter(|n| n.linked_at == link.linked_at && n.app == link.app && n.generation > link.generation)
                .cloned()
        })
    }
}

/// Writes of one user's unrotated link per isolate and hour. Spotify's access tokens live an
/// hour, so a person needs one; this is a guard against an account service answering with
/// short-lived tokens, which would otherwise cost a KV write on nearly every call.
pub const UNROTATED_LINK_WRITES_PER_HOUR: u32 = 6;

/// The writes of unrotated links this isolate made, per user, in the current hour.
mod link_writes {
    use crate::core::secret::UserKey;
    use std::cell::RefCell;
    use std::collections::HashMap;

    thread_local! {
        static WRITES: RefCell<HashMap<UserKey, (u64, u32)>> = RefCell::new(HashMap::new());
    }

    /// Counts one write for `uk`; `false` (and nothing counted) when the hour's are spent.
    pub fn count(uk: &UserKey, now: u64) -> bool {
        WRITES.with(|w| {
            let mut w = w.borrow_mut();
            w.retain(|_, (start, _)| now < *start + 3600);
            let (_, n) = w.entry(uk.clone()).or_insert((now, 0));
            if *n >= super::UNROTATED_LINK_WRITES_PER_HOUR {
                return false;
            }
            *n += 1;
            true
        })
    }
}

/// How often, and how long at most, a request waits for another one's refresh.
const WAIT_STEP_MS: u64 = 25;
const WAIT_STEPS: u32 = 400;

pub struct SpotifySession<'a, P: Platform> {
    platform: &'a P,
    config: &'a Config,
    uk: UserKey,
    link: SpotifyLink,
    /// Web API and accounts calls made, for the request log.
    pub calls: u32,
    /// What the request log should say that is not an error of the call (never a value).
    pub warnings: Vec<&'static str>,
}

impl<'a, P: Platform> SpotifySession<'a, P> {
    pub fn new(platform: &'a P, config: &'a Config, uk: UserKey, link: SpotifyLink) -> Self {
        SpotifySession { platform, config, uk, link, calls: 0, warnings: Vec::new() }
    }

    pub fn link(&self) -> &SpotifyLink {
        &self.link
    }

    fn api(&self) -> SpotifyApi<'a, P> {
        SpotifyApi::new(self.platform, self.config)
    }

    fn store(&self) -> Store<'a, P> {
        Store::new(self.platform, &self.config.master_key)
    }

    fn fresh(&self, link: &SpotifyLink) -> bool {
        link.expires_at > self.platform.now_secs() + EXPIRY_MARGIN_SECS
    }

    /// A usable access token, by the cheapest way: a link this isolate already refreshed,
    /// the outcome of a refresh in flight, or a refresh of our own.
    async fn refresh(&mut self) -> Result<(), SessionError> {
        if let Some(newer) = flight::newer_than(&self.uk, &self.link) {
            let usable = self.fresh(&newer);
            self.link = newer;
            if usable {
                return Ok(());
            }
        }
        if let Some(ticket) = flight::in_flight(&self.uk) {
            for _ in 0..WAIT_STEPS {
                self.platform.sleep_ms(WAIT_STEP_MS).await;
                match flight::outcome(&self.uk, ticket) {
                    Ok(None) => continue,
                    Ok(Some(Ok(link))) => {
                        self.link = link;
                        return Ok(());
                    }
                    Ok(Some(Err(e))) => return Err(e),
                    // The leading request went away: refresh ourselves.
                    Err(()) => break,
                }
            }
        }
        let leader = flight::lead(&self.uk);
        let outcome = self.refresh_now().await;
        leader.finish(&outcome);
        self.link = outcome?;
        Ok(())
    }

    async fn refresh_now(&mut self) -> Result<SpotifyLink, SessionError> {
        let mut base = self.link.clone();
        for _ in 0..2 {
            self.calls += 1;
            match self.api().refresh(&base.app, &base.refresh_token).await {
                Ok(grant) => {
                    let now = self.platform.now_secs();
                    let mut next = base.clone();
                    next.generation = base.generation + 1;
                    next.access_token = grant.access_token;
                    // Spotify may omit the refresh token: the old one stays valid then.
                    if let Some(rt) = grant.refresh_token {
                        next.refresh_token = rt;
                    }
                    next.expires_at = now + grant.expires_in.unwrap_or(3600);
                    if let Some(scope) = grant.scope {
                        next.scope = scope;
                    }
                    let rotated = next.refresh_token != base.refresh_token;
                    self.persist(&next, rotated).await;
                    return Ok(next);
                }
                Err(SpotifyError::InvalidGrant(msg)) => {
                    // Another request or isolate may have rotated the token before us (KV
                    // has no compare-and-swap): adopt what it stored if that is newer.
                    match self.store().get_link(&self.uk).await? {
                        Some(stored) if stored.refresh_token != base.refresh_token => {
                            if self.fresh(&stored) {
                                return Ok(stored);
                            }
                            base = stored;
                        }
                        _ => return Err(SessionError::Relink(msg)),
                    }
                }
                // A person's own app was deleted or reset, or the operator removed theirs:
                // only a new sign-in helps.
                Err(SpotifyError::InvalidClient(msg))
                    if !base.app.is_operator() || self.config.operator_app.is_none() =>
                {
                    return Err(SessionError::Relink(msg))
                }
                Err(e) => return Err(SessionError::Spotify(e)),
            }
        }
        Err(SessionError::Relink("Spotify refused the stored sign-in".into()))
    }

    /// Stores a rotated link before anyone uses it. A refresh token that cannot be stored
    /// is still the only valid one, so it is kept in this isolate's memory and used.
    ///
    /// An unrotated link (only the access token is new) is written at most
    /// [`UNROTATED_LINK_WRITES_PER_HOUR`] times an hour per user and isolate; past that it
    /// lives in memory only, and the stored refresh token stays valid for everyone else.
    async fn persist(&mut self, link: &SpotifyLink, rotated: bool) {
        if !rotated && !link_writes::count(&self.uk, self.platform.now_secs()) {
            self.warnings.push("spotify_link_write_skipped: this user's link was written too often this hour");
            return;
        }
        for _ in 0..STORE_ATTEMPTS {
            if self.store().put_link(&self.uk, link).await.is_ok() {
                return;
            }
        }
        self.warnings.push("spotify_link_not_stored: KV write failed; the rotated token is kept in memory");
    }

    /// A Web API call with the retry policy above.
    pub async fn call(
        &mut self,
        method: &str,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<Value, SessionError> {
        // The app is backing off: answer with the remaining wait, without calling Spotify.
        if let Some(e) = backoff::active(&self.link.app, self.platform.now_secs()) {
            return Err(SessionError::Spotify(e));
        }
        if self.link.expires_at <= self.platform.now_secs() + EXPIRY_MARGIN_SECS {
            self.refresh().await?;
        }
        let (mut refreshed, mut waited, mut server_retries) = (false, false, 0);
        loop {
            self.calls += 1;
            let result = self.api().call(&self.link.access_token, method, path, query, body).await;
            match result {
                Err(SpotifyError::Unauthorized(_)) if !refreshed => {
                    refreshed = true;
                    self.refresh().await?;
                }
                Err(SpotifyError::Unauthorized(msg)) => return Err(SessionError::Relink(msg)),
                Err(SpotifyError::RateLimited { retry_after_secs: Some(s), quota_exceeded: false })
                    if s <= MAX_INLINE_WAIT_SECS && !waited =>
                {
                    waited = true;
                    self.platform.sleep_ms(s.max(1) * 1000).await;
                }
                Err(SpotifyError::Server(_) | SpotifyError::Network(_))
                    if method == "GET" && server_retries < MAX_SERVER_RETRIES =>
                {
                    server_retries += 1;
                }
                Err(e) => {
                    backoff::note(&self.link.app, self.platform.now_secs(), &e);
                    return Err(SessionError::Spotify(e));
                }
                Ok(v) => return Ok(v),
            }
        }
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::core::config::Config;
    use crate::core::platform::Clock;
    use crate::core::secret::{SpotifyAccessToken, SpotifyRefreshToken, SpotifyUserId};
    use crate::core::testing::{emulator_env, TestPlatform};
    use futures::executor::block_on;
    use spotify_emulator::{Config as EmuConfig, Emulator};

    fn config(emulator: &Emulator) -> Config {
        Config::from_env(&emulator_env(emulator)).unwrap()
    }

    /// Signs `user` in at the emulator directly, with the operator's app or (`own`) a
    /// person's public PKCE app, and returns a link whose access token is stale.
    fn signed_in_link(emulator: &Emulator, user: &str, own: bool) -> SpotifyLink {
        use crate::core::spotify_app::{SpotifyApp, SpotifyClientId};
        let (redirect, own_id) = ("http://127.0.0.1:9/cb", "00112233445566778899aabbccddeeff");
        let client_id = if own { own_id } else { "emulator-client-id" };
        if own {
            emulator.register_app(own_id, &[redirect]);
        }
        let agent = ureq::AgentBuilder::new().redirects(0).build();
        let verifier = "w".repeat(50);
        let auth = agent
            .get(&format!("{}/authorize", emulator.base_url()))
            .query("client_id", client_id)
            .query("response_type", "code")
            .query("redirect_uri", redirect)
            .query("code_challenge", &crate::core::crypto::pkce_s256(&verifier))
            .query("code_challenge_method", "S256")
            .query("emulator_user", user)
            .call()
            .unwrap();
        let code = url::Url::parse(auth.header("location").unwrap())
            .unwrap()
            .query_pairs()
            .find(|(k, _)| k == "code")
            .unwrap()
            .1
            .into_owned();
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", redirect),
            ("client_id", client_id),
            ("code_verifier", verifier.as_str()),
        ];
        if !own {
            form.push(("client_secret", "emulator-client-secret"));
        }
        let tokens: serde_json::Value =
            agent.post(&format!("{}/api/token", emulator.base_url())).send_form(&form).unwrap().into_json().unwrap();
        SpotifyLink {
            spotify_id: SpotifyUserId::new(user),
            display_name: None,
            access_token: SpotifyAccessToken::new(tokens["access_token"].as_str().unwrap()),
            refresh_token: SpotifyRefreshToken::new(tokens["refresh_token"].as_str().unwrap()),
            expires_at: 0,
            scope: String::new(),
            linked_at: if own { 7 } else { 0 },
            app: if own { SpotifyApp::Own(SpotifyClientId::parse(own_id).unwrap()) } else { SpotifyApp::Operator },
            generation: 0,
            epoch: 0,
            sign_ins: Default::default(),
        }
    }

    #[test]
    fn concurrent_refreshes_with_rotation_do_not_lose_the_refresh_token() {
        let emulator = Emulator::start(0, EmuConfig { rotate_refresh_tokens: true, ..EmuConfig::default() }).unwrap();
        let config = config(&emulator);
        let platform = TestPlatform::default();
        let link = signed_in_link(&emulator, "zoe", false);
        let store = Store::new(&platform, &config.master_key);
        let uk = store.user_key(&link.spotify_id);
        block_on(store.put_link(&uk, &link)).unwrap();
        // Two requests loaded the same stale link; the first refresh rotates the token.
        let mut first = SpotifySession::new(&platform, &config, uk.clone(), link.clone());
        let mut second = SpotifySession::new(&platform, &config, uk.clone(), link.clone());
        assert_eq!(block_on(first.call("GET", "/v1/me", &[], None)).unwrap()["id"], "zoe");
        let rotated = block_on(store.get_link(&uk)).unwrap().unwrap();
        assert_ne!(rotated.refresh_token, link.refresh_token, "the emulator rotated the refresh token");
        // The second one's refresh is refused (old token), so it adopts what the first stored.
        assert_eq!(block_on(second.call("GET", "/v1/me", &[], None)).unwrap()["id"], "zoe");
        assert_eq!(block_on(store.get_link(&uk)).unwrap().unwrap().refresh_token, rotated.refresh_token);
    }

    #[test]
    fn parallel_calls_at_expiry_share_one_refresh_under_strict_rotation() {
        let emulator = Emulator::start(0, EmuConfig::default()).unwrap();
        let config = config(&emulator);
        let platform = TestPlatform::default();
        platform.yield_on_http.set(true);
        let link = signed_in_link(&emulator, "wen", true);
        let store = Store::new(&platform, &config.master_key);
        let uk = store.user_key(&link.spotify_id);
        block_on(store.put_link(&uk, &link)).unwrap();
        for wave in 1..=3 {
            // Every request of the wave loaded the same stale link from KV.
            let stale = block_on(store.get_link(&uk)).unwrap().unwrap();
            let stale = SpotifyLink { expires_at: 0, ..stale };
            emulator.expire_access_tokens("wen");
            let mut sessions: Vec<_> =
                (0..8).map(|_| SpotifySession::new(&platform, &config, uk.clone(), stale.clone())).collect();
            let results =
                block_on(futures::future::join_all(sessions.iter_mut().map(|s| s.call("GET", "/v1/me", &[], None))));
            assert!(results.iter().all(|r| r.as_ref().is_ok_and(|v| v["id"] == "wen")), "wave {wave}: {results:?}");
            assert_eq!(emulator.user_refresh_count("wen"), wave, "one Spotify refresh per wave");
            let attempts = emulator
                .oauth_log()
                .iter()
                .filter(|e| e.endpoint == "token" && e.grant_type.as_deref() == Some("refresh_token"))
                .count();
            assert_eq!(attempts, wave, "the other seven waited for it instead of spending the token");
            let stored = block_on(store.get_link(&uk)).unwrap().unwrap();
            assert_ne!(stored.refresh_token, stale.refresh_token, "the rotated token was stored");
        }
    }

    #[test]
    fn a_rotated_token_that_cannot_be_stored_is_kept_in_memory() {
        let emulator = Emulator::start(0, EmuConfig::default()).unwrap();
        let config = config(&emulator);
        let platform = TestPlatform::default();
        let link = signed_in_link(&emulator, "xiu", true);
        let store = Store::new(&platform, &config.master_key);
        let uk = store.user_key(&link.spotify_id);
        block_on(store.put_link(&uk, &link)).unwrap();
        platform.failing_kv_writes.set(STORE_ATTEMPTS as usize);
        let mut first = SpotifySession::new(&platform, &config, uk.clone(), link.clone());
        assert!(block_on(first.call("GET", "/v1/me", &[], None)).is_ok());
        assert_eq!(first.warnings.len(), 1, "the log says the token lives in memory only");
        // KV still holds the spent token; a later request of this isolate uses the new one.
        assert_eq!(block_on(store.get_link(&uk)).unwrap().unwrap().refresh_token, link.refresh_token);
        emulator.expire_access_tokens("xiu");
        let mut second = SpotifySession::new(&platform, &config, uk.clone(), link.clone());
        assert!(block_on(second.call("GET", "/v1/me", &[], None)).is_ok(), "no spurious re-link");
        assert_eq!(emulator.user_refresh_count("xiu"), 2);
        assert_ne!(block_on(store.get_link(&uk)).unwrap().unwrap().refresh_token, link.refresh_token);
    }

    #[test]
    fn spotify_refresh_without_a_new_refresh_token_keeps_the_old_one() {
        let emulator = Emulator::start(0, EmuConfig::default()).unwrap();
        let config = config(&emulator);
        let platform = TestPlatform::default();
        let link = signed_in_link(&emulator, "yan", false);
        let store = Store::new(&platform, &config.master_key);
        let uk = store.user_key(&link.spotify_id);
        let mut session = SpotifySession::new(&platform, &config, uk.clone(), link.clone());
        block_on(session.call("GET", "/v1/me", &[], None)).unwrap();
        let stored = block_on(store.get_link(&uk)).unwrap().unwrap();
        assert_eq!(stored.refresh_token, link.refresh_token);
        assert_ne!(stored.access_token, link.access_token);
        assert!(stored.expires_at > platform.now_secs());
    }

    #[test]
    fn revoked_refresh_token_asks_for_relink() {
        let emulator = Emulator::start(0, EmuConfig::default()).unwrap();
        let config = config(&emulator);
        let platform = TestPlatform::default();
        let link = signed_in_link(&emulator, "xia", false);
        emulator.revoke_refresh_tokens("xia");
        let uk = Store::new(&platform, &config.master_key).user_key(&link.spotify_id);
        let mut session = SpotifySession::new(&platform, &config, uk, link);
        assert!(matches!(block_on(session.call("GET", "/v1/me", &[], None)), Err(SessionError::Relink(_))));
    }
}
