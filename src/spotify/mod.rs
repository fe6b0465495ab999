//! Spotify as seen from the Worker: the accounts service (OAuth client side), the Web API,
//! and a per-user session that refreshes and retries so tools never have to.
pub mod api;
pub mod backoff;
pub mod error;
pub mod scopes;
pub mod session;

pub use api::SpotifyApi;
pub use error::SpotifyError;

/// Spotify ends a sign-in's refresh token six months after it was granted.
pub const SIGN_IN_LIFETIME_SECS: u64 = 182 * 24 * 3600;
