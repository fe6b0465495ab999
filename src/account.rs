//! "Your connection": a signed-in page (reached through the same Spotify sign-in) listing
//! the MCP clients a person authorized, revoking any of them, and deleting all of their data.
//! The session is a sealed cookie (no KV write); every form carries a token derived from it.

use crate::context::Ctx;
use crate::core::http::{HttpRequest, HttpResponse};
use crate::core::platform::Platform;
use crate::core::record::json_record;
use crate::core::sealed::{self, Purpose};
use crate::core::secret::UserKey;
use crate::oauth::flow::cookie;
use crate::pages::{self, escape};

const SESSION_COOKIE: &str = "__Host-mcp_session";
const SESSION_TTL: u64 = 3600;

struct Session {
    uk: UserKey,
}

json_record!(Session { uk });

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
    ctx.config.master_key.mac(b"account-form", cookie_value.as_bytes())
}

/// The sign-in form; without an operator app it asks for the person's own app.
pub(crate) fn sign_in_page<P: Platform>(ctx: &Ctx<'_, P>, error: Option<&str>) -> HttpResponse {
    let error = error
        .map(|e| {
            format!("<div class=\"card error\" role=\"alert\"><p><strong>Please fix:</strong> {}</p></div>", escape(e))
        })
        .unwrap_or_default();
    let own = match (ctx.config.user_apps, ctx.config.operator_app.is_some()) {
        (false, _) => String::new(),
        (true, true) => "<p><label class=\"opt\" for=\"spotify_client_id\">If you signed in with your own Spotify app, its Client ID (otherwise leave empty)</label>\
<input type=\"text\" id=\"spotify_client_id\" name=\"spotify_client_id\" maxlength=\"64\" autocomplete=\"off\" spellcheck=\"false\"></p>".to_string(),
        (true, false) => "<p><label class=\"opt\" for=\"spotify_client_id\">Client ID of your Spotify app</label>\
<input type=\"text\" id=\"spotify_client_id\" name=\"spotify_client_id\" maxlength=\"64\" autocomplete=\"off\" spellcheck=\"false\" required></p>".to_string(),
    };
    let body = format!(
        "<h1>Your connection</h1>{error}<form method=\"get\" action=\"/account/login\" class=\"card\">\
<p>Sign in with Spotify to see which apps can use your Spotify through this server, \
revoke any of them, or delete everything this server stores about you.</p>{own}\
<p><button class=\"primary\" type=\"submit\">Sign in with Spotify</button></p></form><p><a href=\"/\">Back</a></p>"
    );
    // The form's answer redirects to Spotify: form-action must allow that origin too.
    let spotify =
        url::Url::parse(&ctx.config.accounts_base).map(|u| u.origin().ascii_serialization()).unwrap_or_default();
    pages::page(if error.is_empty() { 200 } else { 400 }, "Your connection", &body, &[spotify])
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

/// A grant's capabilities in words: "search only" when none.
fn capability_words(scope: &str) -> String {
    let caps = crate::core::capability::Capabilities::from_granted(scope);
    let names: Vec<&str> = caps.iter().map(|c| c.name()).collect();
    if names.is_empty() {
        "search only".into()
    } else {
        format!("search, {}", names.join(", "))
    }
}

/// `GET /account`.
pub async fn page<P: Platform>(ctx: &Ctx<'_, P>, req: &HttpRequest) -> HttpResponse {
    let Some((uk, raw)) = session(ctx, req) else { return sign_in_page(ctx, None) };
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
            "<li><strong><bdi>{}</bdi></strong> <span class=\"muted\">(returns to {}; may use {}; authorized {})</span>\
<form method=\"post\" action=\"/account/revoke\" class=\"inline\"><input type=\"hidden\" name=\"grant\" value=\"{}\">\
<input type=\"hidden\" name=\"csrf\" value=\"{}\"><button type=\"submit\">Revoke</button></form></li>",
            escape(&crate::pages::plain_name(&rec.client_name).unwrap_or_default()),
            escape(&host),
            escape(&capability_words(&rec.scope)),
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
    let app = match &link {
        Some(l) => format!(
            "<p>Spotify is linked through <strong>{}</strong>; Spotify will ask you to sign in again by {}.</p>",
            escape(&l.app.describe()),
            day(l.linked_at + crate::spotify::SIGN_IN_LIFETIME_SECS)
        ),
        None => "<p>No Spotify link is stored.</p>".to_string(),
    };
    let body = format!(
        "<h1>Your connection</h1><p>Signed in as <strong>{}</strong>.</p>{app}\
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
    // A page shown before a key rollover still submits while the previous key is set.
    if !ctx.config.master_key.verify_mac(b"account-form", raw.as_bytes(), &sent) {
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
        if store.end_grant(&uk, &rec.grant_id, crate::oauth::REFRESH_TOKEN_TTL).await.is_err() {
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
    match ctx.store().delete_user(&uk, ctx.now()).await {
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
