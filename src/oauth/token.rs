//! `POST /token`: authorization_code (PKCE S256) and refresh_token (rotating) grants.

use crate::context::Ctx;
use crate::core::capability::Capabilities;
use crate::core::crypto::{ct_eq, pkce_s256, random_token};
use crate::core::http::{HttpRequest, HttpResponse};
use crate::core::platform::{Limiter, Platform};
use crate::core::sealed::{self, Purpose};
use crate::core::secret::UserKey;
use crate::core::store::{token_hash, AccessRecord, CodeUse, DayCount, GrantRecord, RefreshRecord};
use crate::fair_use;
use crate::oauth::clients;
use crate::oauth::flow::{resource_matches, CodePayload};
use crate::oauth::{error, token_user, ACCESS_TOKEN_TTL, CODE_TTL, REFRESH_TOKEN_TTL};
use serde_json::json;
use std::collections::HashMap;

pub async fn token<P: Platform>(ctx: &Ctx<'_, P>, req: &HttpRequest) -> HttpResponse {
    if !req.header("content-type").unwrap_or("").starts_with("application/x-www-form-urlencoded") {
        return error(400, "invalid_request", "send the token request as application/x-www-form-urlencoded");
    }
    if let Some(p) = req.repeated_form_param() {
        return error(400, "invalid_request", &format!("parameter {p} is repeated"));
    }
    let form = req.form();
    let client_id = match clients::authenticate(ctx, req, &form) {
        Ok(id) => id,
        Err(resp) => return resp,
    };
    if let Some(r) = form.get("resource") {
        if !resource_matches(ctx, r) {
            return error(400, "invalid_target", "resource must be this server's MCP URL");
        }
    }
    match form.get("grant_type").map(String::as_str) {
        Some("authorization_code") => code_grant(ctx, &client_id, &form).await,
        Some("refresh_token") => refresh_grant(ctx, &client_id, &form).await,
        Some(other) => error(400, "unsupported_grant_type", &format!("grant_type {other:?} is not supported")),
        None => error(400, "invalid_request", "grant_type is required"),
    }
}

fn server_error() -> HttpResponse {
    error(500, "server_error", "the token could not be stored; try again")
}

async fn code_grant<P: Platform>(ctx: &Ctx<'_, P>, client_id: &str, form: &HashMap<String, String>) -> HttpResponse {
    let invalid = |d: &str| error(400, "invalid_grant", d);
    let Some(code) = form.get("code") else { return error(400, "invalid_request", "code is required") };
    let payload: CodePayload = match sealed::open(&ctx.config.master_key, Purpose::Code, code, ctx.now()) {
        Ok(p) => p,
        Err(_) => return invalid("the authorization code is invalid or expired"),
    };
    if payload.client_id != client_id {
        return invalid("the authorization code was issued to another client");
    }
    if form.get("redirect_uri").map(String::as_str) != Some(payload.redirect_uri.as_str()) {
        return invalid("redirect_uri does not match the authorization request");
    }
    let Some(verifier) = form.get("code_verifier") else {
        return error(400, "invalid_request", "code_verifier is required (PKCE)");
    };
    if !ct_eq(pkce_s256(verifier).as_bytes(), payload.code_challenge.as_bytes()) {
        return invalid("code_verifier does not match the code_challenge");
    }
    let uk = &payload.uk;
    // Each redemption costs KV writes: a person never signs in 10 times a minute.
    if let Some(wait) = fair_use::limited(ctx, Limiter::Tokens, &format!("s:{}", uk.as_str())).await {
        return fair_use::token_throttled(wait, "too many sign-ins for this Spotify account in the last minute");
    }
    let store = ctx.store();
    // A second redemption of one code, even a concurrent one, ends the whole grant it started
    // (RFC 6749 §4.1.2): in this isolate a redemption in flight is seen at once; across
    // isolates the marker is read back after writing, and the loser of a race finds the
    // winner's marker there.
    let Some(_redeeming) = Redeeming::start(&payload.jti) else {
        let _ = store.end_grant(uk, &payload.jti, REFRESH_TOKEN_TTL).await;
        return invalid("the authorization code was already used");
    };
    match store.get_code_use(uk, &payload.jti).await {
        Ok(Some(_)) => {
            let _ = store.end_grant(uk, &payload.jti, REFRESH_TOKEN_TTL).await;
            return invalid("the authorization code was already used");
        }
        Ok(None) => {}
        Err(_) => return server_error(),
    }
    let grant = Minted::new(uk);
    let Some(grant) = grant else { return server_error() };
    let rec = RefreshRecord {
        grant_id: payload.jti.clone(),
        client_id: client_id.to_string(),
        client_name: payload.client_name.clone(),
        redirect_uri: payload.redirect_uri.clone(),
        scope: payload.scope.clone(),
        resource: payload.resource.clone(),
        access_hash: token_hash(&grant.access),
        granted_at: ctx.now(),
        expires_at: ctx.now() + REFRESH_TOKEN_TTL,
        epoch: payload.epoch,
        spent: false,
        window_start: ctx.now(),
        window_refreshes: 0,
    };
    let used = CodeUse { refresh_hash: token_hash(&grant.refresh), access_hash: rec.access_hash.clone() };
    if store.put_code_use(uk, &payload.jti, &used, CODE_TTL * 2).await.is_err() {
        return server_error();
    }
    match store.get_code_use(uk, &payload.jti).await {
        Ok(Some(seen)) if seen == used => {}
        Ok(_) => {
            let _ = store.end_grant(uk, &payload.jti, REFRESH_TOKEN_TTL).await;
            return invalid("the authorization code was already used");
        }
        Err(_) => return server_error(),
    }
    issue(ctx, uk, &grant, &rec).await
}

/// Codes being redeemed in this isolate.
struct Redeeming(String);

thread_local! {
    static REDEEMING: std::cell::RefCell<std::collections::HashSet<String>> = Default::default();
}

impl Redeeming {
    fn start(jti: &str) -> Option<Redeeming> {
        REDEEMING.with(|r| r.borrow_mut().insert(jti.to_string())).then(|| Redeeming(jti.to_string()))
    }
}

impl Drop for Redeeming {
    fn drop(&mut self) {
        REDEEMING.with(|r| r.borrow_mut().remove(&self.0));
    }
}

/// A fresh access/refresh token pair for one user.
struct Minted {
    access: String,
    refresh: String,
}

impl Minted {
    fn new(uk: &UserKey) -> Option<Minted> {
        Some(Minted {
            access: format!("{}.{}", uk.as_str(), random_token().ok()?),
            refresh: format!("{}.{}", uk.as_str(), random_token().ok()?),
        })
    }
}

/// Stores a token pair and makes it its grant's current one (three KV writes), and answers
/// with it.
async fn issue<P: Platform>(ctx: &Ctx<'_, P>, uk: &UserKey, t: &Minted, rec: &RefreshRecord) -> HttpResponse {
    let store = ctx.store();
    let access = AccessRecord {
        grant_id: rec.grant_id.clone(),
        client_id: rec.client_id.clone(),
        scope: rec.scope.clone(),
        resource: rec.resource.clone(),
        expires_at: ctx.now() + ACCESS_TOKEN_TTL,
        epoch: rec.epoch,
    };
    let refresh_hash = token_hash(&t.refresh);
    let current =
        GrantRecord { refresh_hash: refresh_hash.clone(), access_hash: rec.access_hash.clone(), revoked: false };
    if store.put_access(uk, &rec.access_hash, &access, ACCESS_TOKEN_TTL).await.is_err()
        || store.put_refresh(uk, &refresh_hash, rec, REFRESH_TOKEN_TTL).await.is_err()
        || store.put_grant(uk, &rec.grant_id, &current, REFRESH_TOKEN_TTL).await.is_err()
    {
        return server_error();
    }
    HttpResponse::json(
        200,
        &json!({
            "access_token": t.access,
            "token_type": "Bearer",
            "expires_in": ACCESS_TOKEN_TTL,
            "refresh_token": t.refresh,
            "scope": rec.scope,
        }),
    )
    .with_header("cache-control", "no-store")
    .with_header("pragma", "no-cache")
}

async fn refresh_grant<P: Platform>(ctx: &Ctx<'_, P>, client_id: &str, form: &HashMap<String, String>) -> HttpResponse {
    let invalid = |d: &str| error(400, "invalid_grant", d);
    let Some(token) = form.get("refresh_token") else {
        return error(400, "invalid_request", "refresh_token is required");
    };
    let Some(uk) = token_user(token) else { return invalid("unknown refresh token") };
    if !crate::oauth::bearer::allowed(ctx, &uk) {
        return invalid("this Spotify account is no longer allowed on this server");
    }
    let store = ctx.store();
    let hash = token_hash(token);
    let rec = match store.get_refresh(&uk, &hash).await {
        Ok(Some(r)) => r,
        Ok(None) | Err(crate::core::store::StoreError::Undecryptable) => {
            return invalid("the refresh token is invalid, expired or revoked")
        }
        Err(_) => return server_error(),
    };
    if rec.client_id != client_id {
        return invalid("the refresh token was issued to another client");
    }
    // Reuse detection (OAuth 2.1 §4.3.1, RFC 9700 §4.14.2): a rotated-out token presented
    // again means two parties hold this grant's tokens; end the grant for both.
    let replayed =
        || invalid("this refresh token was already used, so this sign-in was ended for safety; sign in again");
    if rec.spent {
        let _ = store.end_grant(&uk, &rec.grant_id, REFRESH_TOKEN_TTL).await;
        return replayed();
    }
    // The grant, the epoch and today's count are independent reads: one KV round trip.
    let (grant, epoch, today) = futures::future::join3(
        store.get_grant(&uk, &rec.grant_id),
        store.get_epoch(&uk),
        store.get_refreshes_today(&uk),
    )
    .await;
    match grant {
        Ok(Some(g)) if g.revoked => return invalid("the refresh token was revoked"),
        Ok(Some(g)) if g.refresh_hash != hash => {
            let _ = store.end_grant(&uk, &rec.grant_id, REFRESH_TOKEN_TTL).await;
            return replayed();
        }
        // Grants from before grant records existed have none: their first rotation writes one.
        Ok(_) | Err(crate::core::store::StoreError::Undecryptable) => {}
        Err(_) => return server_error(),
    }
    match epoch {
        Ok(epoch) if epoch.0 == rec.epoch => {}
        Ok(_) | Err(crate::core::store::StoreError::Undecryptable) => {
            return invalid("all data of this account was deleted; sign in again")
        }
        Err(_) => return server_error(),
    }
    if rec.expires_at <= ctx.now() {
        return invalid("the refresh token expired; sign in again");
    }
    // Fair use, per grant: a burst limit (the binding), then the hourly count the chain
    // of records carries. Each refresh costs 4 KV writes and a delete.
    if let Some(wait) = fair_use::limited(ctx, Limiter::Tokens, &format!("g:{}", rec.grant_id)).await {
        return fair_use::token_throttled(wait, "too many token refreshes for this sign-in in the last minute");
    }
    let now = ctx.now();
    let (window_start, refreshes) = if now >= rec.window_start + fair_use::REFRESH_WINDOW_SECS {
        (now, 0)
    } else {
        (rec.window_start, rec.window_refreshes)
    };
    if refreshes >= fair_use::REFRESHES_PER_GRANT_PER_HOUR {
        let wait = (window_start + fair_use::REFRESH_WINDOW_SECS).saturating_sub(now).max(1);
        return fair_use::token_throttled(
            wait,
            &format!(
                "this sign-in was refreshed {} times this hour, the most this server allows (an access token lasts an hour)",
                fair_use::REFRESHES_PER_GRANT_PER_HOUR
            ),
        );
    }
    // Fair use, per user and day: what one person's clients may cost of the KV write budget,
    // however many grants they hold. A count that cannot be read counts from zero.
    let today = today.unwrap_or_default();
    if today.on(now) >= ctx.config.refreshes_per_day {
        let wait = DayCount::secs_left(now);
        return fair_use::token_throttled(
            wait,
            &format!(
                "this Spotify account's sign-ins were refreshed {} times today, the most this server allows one person",
                ctx.config.refreshes_per_day
            ),
        );
    }
    let scope = match form.get("scope").map(|s| s.trim()).filter(|s| !s.is_empty()) {
        None => rec.scope.clone(),
        Some(s) => match Capabilities::parse_scope(s) {
            Ok(asked) if asked.is_subset_of(Capabilities::from_granted(&rec.scope)) => asked.scope(),
            Ok(_) => return error(400, "invalid_scope", "a refresh cannot widen the scope"),
            Err(word) => return error(400, "invalid_scope", &format!("unknown scope {word:?}")),
        },
    };
    let Some(minted) = Minted::new(&uk) else { return server_error() };
    let next = RefreshRecord {
        scope,
        access_hash: token_hash(&minted.access),
        expires_at: ctx.now() + REFRESH_TOKEN_TTL,
        window_start,
        window_refreshes: refreshes + 1,
        ..rec.clone()
    };
    let response = issue(ctx, &uk, &minted, &next).await;
    if response.status == 200 {
        // Rotation: the old access token ends; the old refresh token stays as a tombstone.
        let _ = store.delete_access(&uk, &rec.access_hash).await;
        let _ = store.put_refresh(&uk, &hash, &RefreshRecord { spent: true, ..rec }, REFRESH_TOKEN_TTL).await;
        let _ = store.put_refreshes_today(&uk, &today.plus_one(now)).await;
    }
    response
}

#[cfg(test)]
mod tests {
    use super::Redeeming;

    #[test]
    fn one_redemption_of_a_code_at_a_time_per_isolate() {
        let first = Redeeming::start("jti-1").expect("the first redemption proceeds");
        assert!(Redeeming::start("jti-1").is_none(), "a concurrent second one is a replay");
        assert!(Redeeming::start("jti-2").is_some(), "other codes are unaffected");
        drop(first);
        assert!(Redeeming::start("jti-1").is_some(), "released when the first one ends");
    }
}
