//! The resource-server check on `/mcp`: our own opaque token, audience-bound to this
//! server's MCP URL. One KV read.

use crate::context::Ctx;
use crate::core::capability::Capabilities;
use crate::core::http::{HttpRequest, HttpResponse};
use crate::core::platform::Platform;
use crate::core::secret::UserKey;
use crate::core::store::AccessRecord;
use crate::oauth::token_user;
use serde_json::json;

#[derive(Debug, Clone)]
pub struct Principal {
    pub uk: UserKey,
    pub access: AccessRecord,
}

fn bearer_token(req: &HttpRequest) -> Option<&str> {
    req.header("authorization")
        .and_then(|h| h.split_once(' ').filter(|(s, _)| s.eq_ignore_ascii_case("bearer")).map(|(_, t)| t.trim()))
        .filter(|t| !t.is_empty())
}

/// Whether the request carries a bearer token at all (valid or not).
pub fn has_bearer(req: &HttpRequest) -> bool {
    bearer_token(req).is_some()
}

/// The user a bearer token names, read from the token itself (no KV): what fair use
/// counts against before the token is looked up. Not proof of anything.
pub fn claimed_user(req: &HttpRequest) -> Option<UserKey> {
    bearer_token(req).and_then(token_user)
}

/// `Ok` with the caller, or the 401 to send (with the RFC 9728 pointer to our metadata).
pub async fn authenticate<P: Platform>(ctx: &Ctx<'_, P>, req: &HttpRequest) -> Result<Principal, HttpResponse> {
    let Some(token) = bearer_token(req) else { return Err(unauthorized(ctx, None)) };
    let invalid = || Err(unauthorized(ctx, Some("the access token is invalid, expired or revoked")));
    let Some(uk) = token_user(token) else { return invalid() };
    match ctx.store().get_access(&uk, token).await {
        Ok(Some(rec)) if rec.expires_at > ctx.now() && rec.resource == ctx.mcp_url() => {
            Ok(Principal { uk, access: rec })
        }
        Ok(_) | Err(crate::core::store::StoreError::Undecryptable) => invalid(),
        Err(_) => Err(HttpResponse::json(
            503,
            &json!({"error": "temporarily_unavailable", "error_description": "token store unavailable; try again"}),
        )),
    }
}

pub fn unauthorized<P: Platform>(ctx: &Ctx<'_, P>, error: Option<&str>) -> HttpResponse {
    challenge(&ctx.origin, error)
}

/// The 401 of the MCP authorization spec for a server at `origin`: where to find the
/// protected resource metadata, which scopes exist, and what was wrong with a token.
/// A request with no credentials at all gets the challenge alone: RFC 6750 §3.1 says such
/// an answer SHOULD NOT carry an error code, and it is what every client sends first and
/// every scanner sends forever, so it stays as small as the answer can be. A token that
/// failed gets `invalid_token`, in the challenge and as a JSON body.
pub fn challenge(origin: &str, error: Option<&str>) -> HttpResponse {
    let mut challenge = format!(
        "Bearer resource_metadata=\"{origin}/.well-known/oauth-protected-resource/mcp\", scope=\"{}\"",
        Capabilities::ALL.scope()
    );
    // No `Cache-Control`: a 401 is not cacheable unless it says so (RFC 9111 §4.2.2).
    let resp = match error {
        None => HttpResponse::new(401),
        Some(desc) => {
            challenge.push_str(&format!(", error=\"invalid_token\", error_description=\"{desc}\""));
            HttpResponse::json(401, &json!({"error": "invalid_token", "error_description": desc}))
        }
    };
    resp.with_header("www-authenticate", challenge)
}

/// The MCP authorization spec's scope challenge: 403 naming every scope the call needs
/// (what the connection holds plus what it lacks), so a client can step up by asking the
/// person again.
pub fn insufficient_scope<P: Platform>(
    ctx: &Ctx<'_, P>,
    held: Capabilities,
    needed: Capabilities,
    what: &str,
) -> HttpResponse {
    let scope = held.union(needed).scope();
    let desc = format!("{what} needs the {} capability, which this connection was not granted", needed.scope());
    let challenge = format!(
        "Bearer error=\"insufficient_scope\", scope=\"{scope}\", resource_metadata=\"{}/.well-known/oauth-protected-resource/mcp\", error_description=\"{desc}\"",
        ctx.origin
    );
    HttpResponse::json(403, &json!({"error": "insufficient_scope", "error_description": desc, "scope": scope}))
        .with_header("www-authenticate", challenge)
        .with_header("cache-control", "no-store")
}

/// `ALLOWED_SPOTIFY_USERS` at every use, not only at sign-in: someone removed from the list
/// loses access at once. The user key is an HMAC of the Spotify id, so comparing keys
/// needs no KV read.
pub fn allowed<P: Platform>(ctx: &Ctx<'_, P>, uk: &crate::core::secret::UserKey) -> bool {
    let Some(list) = &ctx.config.allowed_users else { return true };
    let store = ctx.store();
    list.iter().any(|id| &store.user_key(&crate::core::secret::SpotifyUserId::new(id.as_str())) == uk)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_challenge_carries_an_error_only_for_a_token_that_failed() {
        let probe = challenge("https://mcp.example", None);
        let www = probe.header("www-authenticate").unwrap();
        assert!(
            www.starts_with(
                r#"Bearer resource_metadata="https://mcp.example/.well-known/oauth-protected-resource/mcp", scope=""#
            ),
            "{www}"
        );
        assert!(!www.contains("error"), "{www}");
        assert_eq!((probe.status, probe.body.len(), probe.headers.len()), (401, 0, 1));

        let failed = challenge("https://mcp.example", Some("the access token expired"));
        let www = failed.header("www-authenticate").unwrap();
        assert!(www.ends_with(r#", error="invalid_token", error_description="the access token expired""#), "{www}");
        let body: serde_json::Value = serde_json::from_slice(&failed.body).unwrap();
        assert_eq!(body, json!({"error": "invalid_token", "error_description": "the access token expired"}));
        assert_eq!(failed.header("content-type"), Some("application/json"));
    }
}
