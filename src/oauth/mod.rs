//! The OAuth 2.1 authorization server MCP clients talk to, federating sign-in to Spotify.
//! Stateless where it can be (sealed `state`, codes and client ids), KV where single use
//! or revocation must be enforced. See docs/oauth.md for the whole design.
pub mod bearer;
pub mod clients;
pub mod flow;
pub mod metadata;
pub mod revoke;
pub mod token;

use crate::core::http::HttpResponse;
use serde_json::json;

pub const ACCESS_TOKEN_TTL: u64 = 3600;
pub const REFRESH_TOKEN_TTL: u64 = 30 * 24 * 3600;
pub const CODE_TTL: u64 = 60;
/// How long a person has between opening the consent page and returning from Spotify.
pub const FLOW_TTL: u64 = 600;

/// An RFC 6749 §5.2 error body. Always `no-store`: these answer token requests.
pub fn error(status: u16, code: &str, description: &str) -> HttpResponse {
    HttpResponse::json(status, &json!({"error": code, "error_description": description}))
        .with_header("cache-control", "no-store")
}

/// `uri` with the query parameters added, keeping any query it already has.
pub fn with_params(uri: &str, params: &[(&str, &str)]) -> String {
    match url::Url::parse(uri) {
        Ok(mut u) => {
            u.query_pairs_mut().extend_pairs(params);
            u.to_string()
        }
        Err(_) => uri.to_string(),
    }
}

/// Splits one of our tokens, `<user key>.<random>`, into its user key; anything else is no token of ours.
pub fn token_user(token: &str) -> Option<crate::core::secret::UserKey> {
    let (uk, rest) = token.split_once('.')?;
    (rest.len() == 43).then_some(())?;
    crate::core::secret::UserKey::parse(uk)
}
