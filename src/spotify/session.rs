//! One user's Spotify session for the length of a request: refreshes the access token
//! when it expires (one KV write), retries once after a 401, waits out a short 429, and
//! retries reads on 5xx. Tools call [`SpotifySession::call`] and never see a token.

use crate::core::config::Config;
use crate::core::platform::Platform;
use crate::core::secret::UserKey;
use crate::core::store::{SpotifyLink, Store, StoreError};
use crate::spotify::api::SpotifyApi;
use crate::spotify::error::SpotifyError;
use serde_json::Value;

/// Refresh this long before Spotify's expiry, so a token does not die mid-request.
const EXPIRY_MARGIN_SECS: u64 = 60;
/// The longest `Retry-After` we wait out inside a request.
const MAX_INLINE_WAIT_SECS: u64 = 3;
const MAX_SERVER_RETRIES: u32 = 2;

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

pub struct SpotifySession<'a, P: Platform> {
    platform: &'a P,
    config: &'a Config,
    uk: UserKey,
    link: SpotifyLink,
    /// Web API and accounts calls made, for the request log.
    pub calls: u32,
}

impl<'a, P: Platform> SpotifySession<'a, P> {
    pub fn new(platform: &'a P, config: &'a Config, uk: UserKey, link: SpotifyLink) -> Self {
        SpotifySession { platform, config, uk, link, calls: 0 }
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

    async fn refresh(&mut self) -> Result<(), SessionError> {
        self.calls += 1;
        match self.api().refresh(&self.link.refresh_token).await {
            Ok(grant) => {
                let now = self.platform.now_secs();
                self.link.access_token = grant.access_token;
                // Spotify often omits the refresh token: the old one stays valid then.
                if let Some(rt) = grant.refresh_token {
                    self.link.refresh_token = rt;
                }
                self.link.expires_at = now + grant.expires_in.unwrap_or(3600);
                if let Some(scope) = grant.scope {
                    self.link.scope = scope;
                }
                self.store().put_link(&self.uk, &self.link).await?;
                Ok(())
            }
            Err(SpotifyError::InvalidGrant(msg)) => {
                // A concurrent request may have rotated the refresh token before us: KV
                // has no compare-and-swap, so adopt what it stored if that is newer.
                if let Some(stored) = self.store().get_link(&self.uk).await? {
                    if stored.refresh_token != self.link.refresh_token
                        && stored.expires_at > self.platform.now_secs() + EXPIRY_MARGIN_SECS
                    {
                        self.link = stored;
                        return Ok(());
                    }
                }
                Err(SessionError::Relink(msg))
            }
            Err(e) => Err(SessionError::Spotify(e)),
        }
    }

    /// A Web API call with the retry policy above.
    pub async fn call(
        &mut self,
        method: &str,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<Value, SessionError> {
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
                Err(e) => return Err(SessionError::Spotify(e)),
                Ok(v) => return Ok(v),
            }
        }
    }
}
