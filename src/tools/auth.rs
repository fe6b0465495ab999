//! Re-linking Spotify for the calling user: `get_auth_url` hands out a sign-in link bound
//! to them; `authenticate` finishes it from a pasted callback URL when the browser could
//! not reach our `/callback` (the link is refused for any other Spotify account).

use crate::core::platform::Platform;
use crate::mcp::model::ToolResult;
use crate::oauth::flow;
use crate::oauth::FLOW_TTL;
use crate::tools::{arg_str, Toolbox};
use serde_json::{json, Value};

pub fn get_auth_url<P: Platform>(tb: &Toolbox<'_, P>) -> ToolResult {
    match flow::relink_url(tb.ctx, &tb.principal.uk, &[]) {
        Some(url) => ToolResult::ok(
            format!("Open this link to sign in to Spotify again (valid for 10 minutes): {url}"),
            json!({"url": url, "expires_in_seconds": FLOW_TTL}),
        ),
        None => ToolResult::error("Could not create a sign-in link; try again."),
    }
}

pub async fn authenticate<P: Platform>(tb: &Toolbox<'_, P>, args: &Value) -> ToolResult {
    let url = arg_str(args, "callback_url");
    match flow::finish_relink(tb.ctx, &tb.principal.uk, url).await {
        Ok(()) => ToolResult::ok("Spotify is linked again. You can retry what failed.", json!({"linked": true})),
        Err(e) => ToolResult::error(format!("Could not finish the sign-in: {e}.")),
    }
}

/// Deletes every KV key under the caller's prefix (their link, every grant, every token).
pub async fn forget_me<P: Platform>(tb: &Toolbox<'_, P>, args: &Value) -> ToolResult {
    let question = "Delete everything this server stores for your Spotify account: your Spotify sign-in and every app's access to it, this one included?";
    if let Err(answer) = crate::tools::confirm::gate(tb, "forget_me", args, question).await {
        return answer;
    }
    match tb.ctx.store().delete_user(&tb.principal.uk, tb.ctx.now()).await {
        Ok(n) => ToolResult::ok(
            format!("Deleted {n} stored item(s). This connection no longer works; signing in again starts afresh."),
            json!({"deleted_items": n}),
        ),
        Err(e) => ToolResult::error(format!("Could not delete your data ({e}); try again.")),
    }
}

use crate::spotify::SIGN_IN_LIFETIME_SECS as SPOTIFY_SIGN_IN_LIFETIME_SECS;

/// One KV read, no Spotify call; never a token.
pub async fn get_auth_status<P: Platform>(tb: &Toolbox<'_, P>) -> ToolResult {
    let link = match tb.stored_link().await {
        Ok(l) => l,
        Err(crate::core::store::StoreError::Undecryptable) => None,
        Err(e) => return ToolResult::error(format!("The token store is unavailable ({e}); try again.")),
    };
    let caps = tb.capabilities();
    let cap_names: Vec<&str> = caps.iter().map(|c| c.name()).collect();
    let needed = caps.spotify_scopes();
    let Some(link) = link else {
        let url = flow::relink_url(tb.ctx, &tb.principal.uk, &needed);
        return ToolResult::ok(
            format!("Not linked to Spotify. Sign in: {}", url.clone().unwrap_or_default()),
            json!({"linked": false, "spotify_user": null, "app": null, "capabilities": cap_names, "scopes": [],
                   "missing_scopes": needed, "linked_at": null, "sign_in_again_by": null, "auth_url": url}),
        );
    };
    let scopes: Vec<&str> = link.scope.split_whitespace().collect();
    let missing = crate::spotify::scopes::missing(&link.scope, &needed);
    let url = flow::relink_url(tb.ctx, &tb.principal.uk, &missing);
    let renew = link.linked_at + SPOTIFY_SIGN_IN_LIFETIME_SECS;
    let expiring = renew <= tb.ctx.now() + 14 * 24 * 3600;
    let name = link.display_name.clone().unwrap_or_else(|| link.spotify_id.expose().to_string());
    let app = link.app.describe();
    let mut text = format!(
        "Linked to Spotify as {name} (user id {}) through {app} since {}. Spotify will ask for a new sign-in around {}. \
This connection may use: search{}.",
        link.spotify_id.expose(),
        crate::account::day(link.linked_at),
        crate::account::day(renew),
        cap_names.iter().map(|c| format!(", {c}")).collect::<String>()
    );
    if !missing.is_empty() {
        text.push_str(&format!(" Permissions not granted: {}.", missing.join(", ")));
    }
    let needs_link = !missing.is_empty() || expiring;
    if needs_link {
        text.push_str(&format!(" Sign in again to fix this: {}", url.clone().unwrap_or_default()));
    }
    ToolResult::ok(
        text,
        json!({"linked": true, "spotify_user": {"id": link.spotify_id.expose(), "display_name": link.display_name},
               "app": app, "capabilities": cap_names,
               "scopes": scopes, "missing_scopes": missing, "linked_at": crate::account::day(link.linked_at),
               "sign_in_again_by": crate::account::day(renew), "auth_url": if needs_link { url } else { None }}),
    )
}
