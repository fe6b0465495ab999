//! MCP Apps views (the `io.modelcontextprotocol/ui` extension, SEP-1865): a now-playing card
//! and a list of tracks, albums or playlists, which hosts that render MCP Apps show in place
//! of the text result. The HTML is built from `src/ui/` into single self-contained files
//! (`scripts/build-ui.mjs`) and shipped in the Worker's JS module as text, outside the `.wasm`.

use crate::core::platform::Platform;
use crate::mcp::model::{Client, UI_MIME};
use crate::mcp::server::ResourceError;
use serde_json::{json, Value};

pub const PLAYER: &str = "ui://spotify/player.html";
pub const LIST: &str = "ui://spotify/list.html";

struct View {
    uri: &'static str,
    /// File name under build/ui/.
    file: &'static str,
    name: &'static str,
    title: &'static str,
    description: &'static str,
}

const VIEWS: [View; 2] = [
    View {
        uri: PLAYER,
        file: "player.html",
        name: "player",
        title: "Now playing",
        description: "The current track with play/pause, previous, next and volume.",
    },
    View {
        uri: LIST,
        file: "list.html",
        name: "list",
        title: "Tracks and albums",
        description: "Search results, an album, a playlist or library items, each playable or queueable.",
    },
];

/// Spotify's image hosts: covers come from `i.scdn.co`, playlist mosaics from
/// `mosaic.scdn.co` and user-uploaded playlist covers from the `spotifycdn.com` image CDNs.
/// Nothing else may load: no scripts, styles or connections from anywhere (the views are
/// self-contained and reach Spotify only through the host's tool calls).
pub const IMAGE_ORIGINS: [&str; 4] = [
    "https://i.scdn.co",
    "https://mosaic.scdn.co",
    "https://image-cdn-ak.spotifycdn.com",
    "https://image-cdn-fa.spotifycdn.com",
];

/// The view a tool's result is shown in, for clients that render MCP Apps.
pub fn view_of(tool: &str) -> Option<&'static str> {
    match tool {
        "get_playback_state" => Some(PLAYER),
        "search" | "get_item" | "get_playlist" | "get_library" => Some(LIST),
        _ => None,
    }
}

/// A tool definition as an Apps client sees it: with its view, if it has one.
pub fn with_view(mut definition: Value) -> Value {
    if let Some(uri) = definition["name"].as_str().and_then(view_of) {
        definition["_meta"] = json!({"ui": {"resourceUri": uri}});
    }
    definition
}

fn meta() -> Value {
    json!({"ui": {"csp": {"resourceDomains": IMAGE_ORIGINS}, "prefersBorder": true}})
}

/// The views as `resources/list` entries: listed only to clients that render them.
pub fn resources(client: Client) -> Vec<Value> {
    if !client.apps {
        return Vec::new();
    }
    VIEWS
        .iter()
        .map(|v| {
            json!({"uri": v.uri, "name": v.name, "title": v.title, "description": v.description,
                   "mimeType": UI_MIME, "_meta": meta()})
        })
        .collect()
}

/// `resources/read` of a view: `None` when `uri` is not one.
pub async fn read<P: Platform>(platform: &P, uri: &str) -> Option<Result<Value, ResourceError>> {
    let view = VIEWS.iter().find(|v| v.uri == uri)?;
    Some(match platform.asset(view.file).await {
        Ok(Some(html)) => Ok(json!([{"uri": view.uri, "mimeType": UI_MIME, "text": html, "_meta": meta()}])),
        Ok(None) => Err(ResourceError::Failed(format!(
            "the view {} is not deployed with this server (the views were not built: scripts/build.sh)",
            view.uri
        ))),
        Err(e) => Err(ResourceError::Failed(format!("the view {} could not be read ({e})", view.uri))),
    })
}
