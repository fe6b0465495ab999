//! `get_my_profile`: who the caller is on Spotify. One Spotify call (`GET /v1/me`).

use crate::core::platform::Platform;
use crate::mcp::model::ToolResult;
use crate::tools::{errors, Toolbox};
use serde_json::json;

pub async fn get_my_profile<P: Platform>(tb: &Toolbox<'_, P>) -> ToolResult {
    let mut session = match tb.session().await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let result = session.call("GET", "/v1/me", &[], None).await;
    tb.count(&session);
    match result {
        Ok(me) => {
            let out = json!({
                "id": me["id"].as_str().unwrap_or(""),
                "display_name": me["display_name"],
                "uri": me["uri"].as_str().unwrap_or(""),
                "url": me["external_urls"]["spotify"].as_str().unwrap_or(""),
            });
            let name = me["display_name"].as_str().unwrap_or("(no display name)");
            ToolResult::ok(
                format!("Signed in to Spotify as {name} (user id {}).", out["id"].as_str().unwrap_or("")),
                out,
            )
        }
        Err(e) => errors::describe(tb, e),
    }
}
