//! Re-linking Spotify for the calling user: `get_auth_url` hands out a sign-in link bound
//! to them; `authenticate` finishes it from a pasted callback URL when the browser could
//! not reach our `/callback` (the link is refused for any other Spotify account).

use crate::core::platform::Platform;
use crate::mcp::model::ToolResult;
use crate::oauth::flow;
use crate::oauth::FLOW_TTL;
use crate::tools::{check_known, object_schema, Toolbox};
use serde_json::{json, Value};

pub fn get_auth_url_definition() -> Value {
    json!({
        "name": "get_auth_url",
        "title": "Get Spotify sign-in link",
        "description": "A link to sign in to Spotify again, when a tool says to re-link. Give it to the user; valid 10 minutes.",
        "inputSchema": {"type": "object", "properties": {}, "additionalProperties": false},
        "outputSchema": {"type": "object", "properties": {"url": {"type": "string"}, "expires_in_seconds": {"type": "integer"}}, "required": ["url", "expires_in_seconds"]},
        "annotations": {"readOnlyHint": true, "destructiveHint": false, "idempotentHint": false, "openWorldHint": false}
    })
}

pub fn authenticate_definition() -> Value {
    json!({
        "name": "authenticate",
        "title": "Finish Spotify sign-in",
        "description": "Finish a get_auth_url sign-in whose browser could not load the final page: pass that page's full address (with code= and state=).",
        "inputSchema": object_schema(json!({
            "callback_url": {"type": "string", "minLength": 1, "maxLength": 8192, "description": "The browser's final address"}
        }), &["callback_url"]),
        "outputSchema": {"type": "object", "properties": {"linked": {"type": "boolean"}}, "required": ["linked"]},
        "annotations": {"readOnlyHint": false, "destructiveHint": false, "idempotentHint": false, "openWorldHint": true}
    })
}

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
    if let Err(e) = check_known(args, &["callback_url"]) {
        return e;
    }
    let Some(url) = args.get("callback_url").and_then(Value::as_str).filter(|u| !u.is_empty()) else {
        return ToolResult::error("callback_url is required: the full address the browser ended on after signing in.");
    };
    match flow::finish_relink(tb.ctx, &tb.principal.uk, url).await {
        Ok(()) => ToolResult::ok("Spotify is linked again. You can retry what failed.", json!({"linked": true})),
        Err(e) => ToolResult::error(format!("Could not finish the sign-in: {e}.")),
    }
}

pub fn forget_me_definition() -> Value {
    json!({
        "name": "forget_me",
        "title": "Delete all my data",
        "description": "Delete everything stored for the user: their Spotify sign-in and every app's access, this one included. Only on the user's explicit request.",
        "inputSchema": object_schema(json!({"confirm": {"type": "boolean", "const": true, "description": "Must be true: the user asked to delete their data."}}), &["confirm"]),
        "outputSchema": {"type": "object", "properties": {"deleted_items": {"type": "integer"}}, "required": ["deleted_items"]},
        "annotations": {"readOnlyHint": false, "destructiveHint": true, "idempotentHint": true, "openWorldHint": false}
    })
}

/// Deletes every KV key under the caller's prefix (their link, every grant, every token).
pub async fn forget_me<P: Platform>(tb: &Toolbox<'_, P>, args: &Value) -> ToolResult {
    if let Err(e) = check_known(args, &["confirm"]) {
        return e;
    }
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

pub fn get_auth_status_definition() -> Value {
    json!({
        "name": "get_auth_status",
        "title": "Spotify link status",
        "description": "Linked to Spotify or not: as whom, through which app, with which capabilities and permissions, since when, when a new sign-in is due; a sign-in link if something is missing.",
        "inputSchema": {"type": "object", "properties": {}, "additionalProperties": false},
        "outputSchema": {"type": "object", "properties": {
            "linked": {"type": "boolean"}, "spotify_user": {"type": ["object", "null"]},
            "app": {"type": ["string", "null"]}, "capabilities": {"type": "array"},
            "scopes": {"type": "array"}, "missing_scopes": {"type": "array"},
            "linked_at": {"type": ["string", "null"]}, "sign_in_again_by": {"type": ["string", "null"]}, "auth_url": {"type": ["string", "null"]}
        }, "required": ["linked", "scopes", "missing_scopes"]},
        "annotations": {"readOnlyHint": true, "destructiveHint": false, "idempotentHint": true, "openWorldHint": false}
    })
}

/// One KV read, no Spotify call; never a token.
pub async fn get_auth_status<P: Platform>(tb: &Toolbox<'_, P>, args: &Value) -> ToolResult {
    if let Err(e) = check_known(args, &[]) {
        return e;
    }
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
