//! Turning Spotify failures into messages a person can act on.

use crate::context::Ctx;
use crate::core::platform::Platform;
use crate::core::secret::UserKey;
use crate::mcp::model::ToolResult;
use crate::spotify::session::SessionError;
use crate::spotify::SpotifyError;
use crate::tools::Toolbox;

/// "Link Spotify again", with the link to do it.
pub fn relink<P: Platform>(ctx: &Ctx<'_, P>, uk: &UserKey, why: &str) -> ToolResult {
    relink_adding(ctx, uk, &[], why)
}

/// "Link Spotify again", asking Spotify for `add` on top of the scopes the link holds.
pub fn relink_adding<P: Platform>(ctx: &Ctx<'_, P>, uk: &UserKey, add: &[&str], why: &str) -> ToolResult {
    match crate::oauth::flow::relink_url(ctx, uk, add) {
        Some(url) => ToolResult::error(format!(
            "{why} Spotify needs to be linked again: open {url} (valid for 10 minutes), sign in, then retry. \
If the browser cannot reach the server afterwards, pass the final address to the authenticate tool."
        )),
        None => ToolResult::error(format!("{why} Call get_auth_url to link Spotify again.")),
    }
}

pub fn describe<P: Platform>(tb: &Toolbox<'_, P>, e: SessionError) -> ToolResult {
    let ctx = tb.ctx;
    match e {
        SessionError::Relink(_) => tb.relink(&[], "Spotify no longer accepts your sign-in (it was revoked or expired)."),
        SessionError::Store(e) => ToolResult::error(format!("The token store failed ({e}); try again in a moment.")),
        SessionError::Spotify(e) => ToolResult::error(match e {
            SpotifyError::Forbidden { reason: Some(r), .. } if r == "PREMIUM_REQUIRED" => {
                "Spotify says this needs Spotify Premium: playback control works only for Premium accounts.".to_string()
            }
            SpotifyError::Forbidden { message, .. } => format!(
                "Spotify refused this request ({message}). Apps in Development Mode cannot use some endpoints, and only users the app owner allow-listed may use the app."
            ),
            SpotifyError::RateLimited { quota_exceeded: true, retry_after_secs: Some(s) } => format!(
                "This Spotify app has used up its request quota; try again in {} (the operator can check the Spotify dashboard).",
                crate::fair_use::wait_words(s)
            ),
            SpotifyError::RateLimited { quota_exceeded: true, .. } => {
                "This Spotify app has used up its request quota; try again later (the operator can check the Spotify dashboard).".to_string()
            }
            SpotifyError::RateLimited { retry_after_secs: Some(s), .. } => {
                format!("Spotify is rate limiting requests; try again in {}.", crate::fair_use::wait_words(s))
            }
            SpotifyError::RateLimited { .. } => "Spotify is rate limiting requests; try again in a minute.".to_string(),
            SpotifyError::InvalidClient(_) if ctx.config.operator_app.is_some() => {
                "Spotify rejected this server's app credentials; the operator must check SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET.".to_string()
            }
            other => format!("{other}."),
        }),
    }
}
