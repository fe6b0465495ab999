//! Spotify failures, classified by what a person can do about them.

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpotifyError {
    /// 401 from the Web API: the access token is expired or was revoked.
    Unauthorized(String),
    /// The accounts service refused our refresh token: the user must sign in again.
    InvalidGrant(String),
    /// The accounts service refused our client credentials (misconfiguration).
    InvalidClient(String),
    Forbidden {
        reason: Option<String>,
        message: String,
    },
    NotFound {
        reason: Option<String>,
        message: String,
    },
    RateLimited {
        retry_after_secs: Option<u64>,
        quota_exceeded: bool,
    },
    BadRequest(String),
    Server(u16),
    Network(String),
    /// A response we could not understand.
    Unexpected(String),
}

impl std::fmt::Display for SpotifyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SpotifyError::Unauthorized(m) => write!(f, "Spotify refused the access token ({m})"),
            SpotifyError::InvalidGrant(m) => write!(f, "Spotify no longer accepts this sign-in ({m})"),
            SpotifyError::InvalidClient(m) => write!(f, "Spotify refused the app credentials ({m})"),
            SpotifyError::Forbidden { message, .. } => write!(f, "Spotify refused: {message}"),
            SpotifyError::NotFound { message, .. } => write!(f, "Spotify: not found ({message})"),
            SpotifyError::RateLimited { retry_after_secs: Some(s), .. } => {
                write!(f, "Spotify rate limit reached; try again in {s} s")
            }
            SpotifyError::RateLimited { .. } => write!(f, "Spotify rate limit reached; try again later"),
            SpotifyError::BadRequest(m) => write!(f, "Spotify rejected the request: {m}"),
            SpotifyError::Server(s) => write!(f, "Spotify is having trouble (HTTP {s}); try again shortly"),
            SpotifyError::Network(m) => write!(f, "could not reach Spotify ({m})"),
            SpotifyError::Unexpected(m) => write!(f, "unexpected answer from Spotify ({m})"),
        }
    }
}
