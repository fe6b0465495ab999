//! `POST /revoke` (RFC 7009): an access token alone, or a refresh token with its grant.

use crate::app::Ctx;
use crate::core::http::{HttpRequest, HttpResponse};
use crate::core::platform::Platform;
use crate::core::store::token_hash;
use crate::oauth::{clients, error, token_user};

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
    if let Ok(Some(rec)) = store.get_access(&uk, token).await {
        if rec.client_id == client_id && store.delete_access(&uk, &hash).await.is_err() {
            return error(503, "temporarily_unavailable", "try again");
        }
        return ok;
    }
    if let Ok(Some(rec)) = store.get_refresh(&uk, &hash).await {
        if rec.client_id == client_id && store.end_refresh(&uk, &hash, &rec).await.is_err() {
            return error(503, "temporarily_unavailable", "try again");
        }
    }
    ok
}
