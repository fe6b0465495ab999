//! `POST /revoke` (RFC 7009): an access token alone, or a refresh token with its grant.

use crate::context::Ctx;
use crate::core::http::{HttpRequest, HttpResponse};
use crate::core::platform::Platform;
use crate::core::store::{token_hash, StoreError};
use crate::oauth::{clients, error, token_user, REFRESH_TOKEN_TTL};

pub async fn revoke<P: Platform>(ctx: &Ctx<'_, P>, req: &HttpRequest) -> HttpResponse {
    let form = req.form();
    let client_id = match clients::authenticate(ctx, req, &form) {
        Ok(id) => id,
        Err(resp) => return resp,
    };
    let Some(token) = form.get("token") else { return error(400, "invalid_request", "token is required") };
    let ok = HttpResponse::new(200).with_header("cache-control", "no-store");
    // RFC 7009 §2.2: unknown tokens are answered 200 too.
    let Some(uk) = token_user(token) else { return ok };
    let store = ctx.store();
    let hash = token_hash(token);
    let unavailable = || error(503, "temporarily_unavailable", "the token could not be revoked right now; try again");
    // RFC 7009 §2.1: a token issued to another client is refused, not silently kept.
    let not_yours = || error(400, "unauthorized_client", "this token was not issued to this client");
    match store.get_access(&uk, token).await {
        Ok(Some(rec)) if rec.client_id != client_id => return not_yours(),
        Ok(Some(_)) => {
            return match store.delete_access(&uk, &hash).await {
                Ok(()) => ok,
                Err(_) => unavailable(),
            }
        }
        Ok(None) | Err(StoreError::Undecryptable) => {}
        Err(_) => return unavailable(),
    }
    match store.get_refresh(&uk, &hash).await {
        Ok(Some(rec)) if rec.client_id != client_id => not_yours(),
        Ok(Some(rec)) => match store.end_grant(&uk, &rec.grant_id, REFRESH_TOKEN_TTL).await {
            Ok(()) => ok,
            Err(_) => unavailable(),
        },
        Ok(None) | Err(StoreError::Undecryptable) => ok,
        Err(_) => unavailable(),
    }
}
