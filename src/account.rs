//! "Your connection": a signed-in page (reached through the same Spotify sign-in) listing
//! the MCP clients a person authorized, revoking any of them, and deleting all of their data.
//! The session is a sealed cookie (no KV write); every form carries a token derived from it.

use crate::app::Ctx;
use crate::core::crypto::{b64url, ct_eq};
use crate::core::http::{HttpRequest, HttpResponse};
use crate::core::platform::Platform;
use crate::core::sealed::{self, Purpose};
use crate::core::secret::UserKey;
use crate::oauth::flow::cookie;
use crate::pages::{self, escape};
use serde::{Deserialize, Serialize};

const SESSION_COOKIE: &str = "__Host-mcp_session";
const SESSION_TTL: u64 = 3600;

#[derive(Serialize, Deserialize)]
struct Session {
    uk: UserKey,
}

/// After the Spotify sign-in: the session cookie, then the page.
pub fn signed_in<P: Platform>(ctx: &Ctx<'_, P>, uk: &UserKey) -> HttpResponse {
    match sealed::seal(&ctx.config.master_key, Purpose::Session, &Session { uk: uk.clone() }, ctx.now() + SESSION_TTL) {
        Ok(value) => HttpResponse::redirect("/account")
            .with_header("set-cookie", cookie(SESSION_COOKIE, &value, SESSION_TTL, "Lax")),
        Err(_) => pages::problem(500, "Sign-in failed", "The session could not be created.", "Try again."),
    }
}

fn session<P: Platform>(ctx: &Ctx<'_, P>, req: &HttpRequest) -> Option<(UserKey, String)> {
    let raw = req.cookie(SESSION_COOKIE)?;
    let s: Session = sealed::open(&ctx.config.master_key, Purpose::Session, &raw, ctx.now()).ok()?;
    Some((s.uk, raw))
}

/// The form token: bound to this session cookie, so a page elsewhere cannot forge a form.
fn form_token<P: Platform>(ctx: &Ctx<'_, P>, cookie_value: &str) -> String {
    b64url(&ctx.config.master_key.derive(b"account-form").hmac(cookie_value.as_bytes()))
}

fn sign_in_page() -> HttpResponse {
    pages::page(
        200,
        "Your connection",
        "<h1>Your connection</h1><div class=\"card\"><p>Sign in with Spotify to see which apps can use your Spotify through this server, \
revoke any of them, or delete everything this server stores about you.</p>\
<p><a class=\"button primary\" href=\"/account/login\">Sign in with Spotify</a></p></div><p><a href=\"/\">Back</a></p>",
        &[],
    )
}

pub(crate) fn day(secs: u64) -> String {
    // Civil date from days since the epoch (Howard Hinnant's algorithm).
    let z = (secs / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// `GET /account`.
pub async fn page<P: Platform>(ctx: &Ctx<'_, P>, req: &HttpRequest) -> HttpResponse {
    let Some((uk, raw)) = session(ctx, req) else { return sign_in_page() };
    let store = ctx.store();
    let (link, grants) = match (store.get_link(&uk).await, store.list_refresh(&uk).await) {
        (Ok(l), Ok(g)) => (l, g),
        _ => {
            return pages::problem(
                503,
                "Temporarily unavailable",
                "Your data could not be read right now.",
                "Reload in a moment.",
            )
        }
    };
    let token = form_token(ctx, &raw);
    let who = link.as_ref().and_then(|l| l.display_name.clone()).unwrap_or_else(|| "your Spotify account".into());
    let mut rows = String::new();
    for (hash, rec) in &grants {
        let host =
            url::Url::parse(&rec.redirect_uri).ok().and_then(|u| u.host_str().map(str::to_string)).unwrap_or_default();
        rows.push_str(&format!(
            "<li><strong>{}</strong> <span class=\"muted\">(returns to {}; authorized {})</span>\
<form method=\"post\" action=\"/account/revoke\" class=\"inline\"><input type=\"hidden\" name=\"grant\" value=\"{}\">\
<input type=\"hidden\" name=\"csrf\" value=\"{}\"><button type=\"submit\">Revoke</button></form></li>",
            escape(&rec.client_name),
            escape(&host),
            day(rec.granted_at),
            escape(hash),
            escape(&token)
        ));
    }
    let list = if rows.is_empty() {
        "<p>No apps are connected.</p>".to_string()
    } else {
        format!("<ul class=\"apps\">{rows}</ul>")
    };
    let body = format!(
        "<h1>Your connection</h1><p>Signed in as <strong>{}</strong>.</p>\
<div class=\"card\"><h2>Connected apps</h2>{list}</div>\
<div class=\"card warn\"><h2>Delete all my data</h2><p>Removes your Spotify sign-in and every app's access from this server. \
Apps will ask you to sign in again.</p><form method=\"post\" action=\"/account/delete\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
<button type=\"submit\">Delete all my data</button></form></div>\
<form method=\"post\" action=\"/account/logout\"><input type=\"hidden\" name=\"csrf\" value=\"{}\"><button type=\"submit\">Sign out</button></form>",
        escape(&who),
        escape(&token),
        escape(&token)
    );
    pages::page(200, "Your connection", &body, &[])
}

/// The session of a POST, with its form token checked.
fn authorized<P: Platform>(ctx: &Ctx<'_, P>, req: &HttpRequest) -> Result<UserKey, HttpResponse> {
    let expired = || {
        pages::problem(
            403,
            "Signed out",
            "Your session ended or this form is not from this server.",
            "Open your connection page again.",
        )
    };
    let Some((uk, raw)) = session(ctx, req) else { return Err(expired()) };
    let sent = req.form().get("csrf").cloned().unwrap_or_default();
    if !ct_eq(sent.as_bytes(), form_token(ctx, &raw).as_bytes()) {
        return Err(expired());
    }
    Ok(uk)
}

/// `POST /account/revoke`: ends one app's access (its refresh and access tokens).
pub async fn revoke<P: Platform>(ctx: &Ctx<'_, P>, req: &HttpRequest) -> HttpResponse {
    let uk = match authorized(ctx, req) {
        Ok(uk) => uk,
        Err(r) => return r,
    };
    let hash = req.form().get("grant").cloned().unwrap_or_default();
    let store = ctx.store();
    if let Ok(Some(rec)) = store.get_refresh(&uk, &hash).await {
        if store.end_refresh(&uk, &hash, &rec).await.is_err() {
            return pages::problem(
                503,
                "Not revoked",
                "The app's access could not be removed right now.",
                "Try again in a moment.",
            );
        }
    }
    HttpResponse::new(303).with_header("location", "/account").with_header("cache-control", "no-store")
}

/// `POST /account/delete`: every KV key under the person's prefix.
pub async fn delete<P: Platform>(ctx: &Ctx<'_, P>, req: &HttpRequest) -> HttpResponse {
    let uk = match authorized(ctx, req) {
        Ok(uk) => uk,
        Err(r) => return r,
    };
    match ctx.store().delete_user(&uk).await {
        Ok(n) => pages::success(
            "All your data was deleted",
            &format!("{n} stored item(s) removed. Apps you connected will ask you to sign in again."),
        )
        .with_header("set-cookie", cookie(SESSION_COOKIE, "", 0, "Lax")),
        Err(_) => {
            pages::problem(503, "Not deleted", "Your data could not be deleted right now.", "Try again in a moment.")
        }
    }
}

/// `POST /account/logout`.
pub fn logout<P: Platform>(ctx: &Ctx<'_, P>, req: &HttpRequest) -> HttpResponse {
    if let Err(r) = authorized(ctx, req) {
        return r;
    }
    HttpResponse::new(303).with_header("location", "/").with_header("set-cookie", cookie(SESSION_COOKIE, "", 0, "Lax"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn civil_dates() {
        assert_eq!(super::day(0), "1970-01-01");
        assert_eq!(super::day(1_800_000_000), "2027-01-15");
        assert_eq!(super::day(951_782_400), "2000-02-29");
    }
}
