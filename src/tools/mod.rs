//! The MCP tools: definitions (schemas, annotations) and their handlers. A tool sees the
//! caller only through a [`Toolbox`] and Spotify only through a `SpotifySession`.
pub mod auth;
pub mod catalog;
pub mod errors;
pub mod ids;
pub mod library;
pub mod playback;
pub mod playlists;
pub mod profile;
pub mod resources;
pub mod search;

use crate::app::Ctx;
use crate::core::capability::{Capabilities, Capability};
use crate::core::platform::Platform;
use crate::mcp::model::{RpcError, ToolResult, INVALID_PARAMS};
use crate::mcp::server::{ResourceError, ToolHost};
use crate::oauth::bearer::Principal;
use crate::spotify::session::SpotifySession;
use serde_json::{json, Value};
use std::cell::Cell;

/// The tools of one request for one caller.
pub struct Toolbox<'a, P: Platform> {
    pub ctx: &'a Ctx<'a, P>,
    pub principal: &'a Principal,
    /// Spotify calls made, for the request log.
    pub spotify_calls: Cell<u32>,
    /// The Spotify scopes the tool being called needs (checked when the session opens).
    needs: Cell<&'static [&'static str]>,
    /// Warnings of the Spotify sessions, for the request log.
    pub warnings: std::cell::RefCell<Vec<&'static str>>,
}

/// The Spotify scopes each tool needs; sign-in asks for all of them (spotify::scopes).
pub fn scopes_for(tool: &str) -> &'static [&'static str] {
    match tool {
        "get_playback_state" | "get_devices" | "get_queue" => &["user-read-playback-state"],
        "play" | "pause" | "skip_next" | "skip_previous" | "seek" | "set_volume" | "set_shuffle" | "set_repeat"
        | "transfer_playback" | "add_to_queue" => &["user-modify-playback-state"],
        "get_saved_tracks" | "get_saved_albums" | "check_saved" => &["user-library-read"],
        "save_to_library" | "remove_from_library" => &["user-library-modify"],
        "get_recently_played" => &["user-read-recently-played"],
        "get_top_items" => &["user-top-read"],
        "get_followed_artists" => &["user-follow-read"],
        "get_my_playlists" | "get_playlist" => &["playlist-read-private"],
        "create_playlist"
        | "update_playlist"
        | "add_to_playlist"
        | "remove_from_playlist"
        | "reorder_playlist"
        | "replace_playlist_items" => &["playlist-modify-private", "playlist-modify-public"],
        _ => &[],
    }
}

impl<'a, P: Platform> Toolbox<'a, P> {
    pub fn new(ctx: &'a Ctx<'a, P>, principal: &'a Principal) -> Self {
        Toolbox {
            ctx,
            principal,
            spotify_calls: Cell::new(0),
            needs: Cell::new(&[]),
            warnings: std::cell::RefCell::new(Vec::new()),
        }
    }

    /// The caller's Spotify session (one KV read), or the result telling them to link.
    pub async fn session(&self) -> Result<SpotifySession<'a, P>, ToolResult> {
        match self.ctx.store().get_link(&self.principal.uk).await {
            Ok(Some(link)) => {
                let missing = crate::spotify::scopes::missing(&link.scope, self.needs.get());
                if !link.scope.is_empty() && !missing.is_empty() {
                    return Err(errors::relink_adding(
                        self.ctx,
                        &self.principal.uk,
                        &missing,
                        &format!(
                            "This needs the Spotify permission {}, which was not granted at sign-in.",
                            missing.join(" and ")
                        ),
                    ));
                }
                Ok(SpotifySession::new(self.ctx.platform, self.ctx.config, self.principal.uk.clone(), link))
            }
            Ok(None) | Err(crate::core::store::StoreError::Undecryptable) => {
                Err(errors::relink(self.ctx, &self.principal.uk, "No usable Spotify link is stored for you."))
            }
            Err(e) => Err(ToolResult::error(format!("The token store is unavailable ({e}); try again in a moment."))),
        }
    }

    /// What this connection's grant lets it do.
    pub fn capabilities(&self) -> crate::core::capability::Capabilities {
        crate::core::capability::Capabilities::from_granted(&self.principal.access.scope)
    }

    pub fn count(&self, session: &SpotifySession<'a, P>) {
        self.spotify_calls.set(self.spotify_calls.get() + session.calls);
        self.warnings.borrow_mut().extend(session.warnings.iter().copied());
    }
}

/// The capability a tool belongs to: `None` for an unknown tool, `Some(None)` for the
/// tools every connection has (search, catalogue, profile, auth).
pub fn capability_of(name: &str) -> Option<Option<Capability>> {
    if !definitions().iter().any(|d| d["name"] == name) {
        return None;
    }
    let scopes = scopes_for(name);
    Some(Capability::ALL.into_iter().find(|c| scopes.iter().any(|s| c.spotify_scopes().contains(s))))
}

/// The tools a grant of `granted` lists: built once per isolate per capability set.
pub fn definitions_for(granted: Capabilities) -> Vec<Value> {
    static SETS: std::sync::OnceLock<Vec<Vec<Value>>> = std::sync::OnceLock::new();
    SETS.get_or_init(|| {
        (0..8u8)
            .map(|bits| {
                let set = Capability::ALL
                    .into_iter()
                    .filter(|c| bits & (1 << (*c as u8)) != 0)
                    .fold(Capabilities::NONE, Capabilities::with);
                definitions()
                    .into_iter()
                    .filter(|d| {
                        capability_of(d["name"].as_str().unwrap_or("")).flatten().is_none_or(|c| set.contains(c))
                    })
                    .collect()
            })
            .collect()
    })[granted.index()]
    .clone()
}

/// The tool list, built once per isolate: it is the same for every request and caller,
/// and building ~40 schemas on every `tools/list` was measurable CPU.
pub fn definitions() -> Vec<Value> {
    static DEFINITIONS: std::sync::OnceLock<Vec<Value>> = std::sync::OnceLock::new();
    DEFINITIONS.get_or_init(build_definitions).clone()
}

fn build_definitions() -> Vec<Value> {
    let mut all = vec![search::definition()];
    all.extend(catalog::definitions());
    all.push(profile::definition());
    all.extend(playback::definitions());
    all.extend(library::definitions());
    all.extend(playlists::definitions());
    all.extend([
        auth::get_auth_status_definition(),
        auth::get_auth_url_definition(),
        auth::authenticate_definition(),
        auth::forget_me_definition(),
    ]);
    all
}

impl<P: Platform> ToolHost for Toolbox<'_, P> {
    fn list(&self) -> Vec<Value> {
        definitions_for(self.capabilities())
    }

    fn resource_templates(&self) -> Vec<Value> {
        resources::templates()
    }

    async fn list_resources(&self, cursor: Option<&str>) -> Result<(Vec<Value>, Option<String>), ResourceError> {
        if !self.capabilities().contains(Capability::Playlists) {
            // The listed resources are the caller's playlists: none without that capability.
            return Ok((Vec::new(), None));
        }
        self.needs.set(&["playlist-read-private"]);
        resources::list(self, cursor).await
    }

    async fn read_resource(&self, uri: &str) -> Result<Value, ResourceError> {
        resources::read(self, uri).await
    }

    async fn call(&self, name: &str, args: &Value) -> Result<ToolResult, RpcError> {
        self.needs.set(scopes_for(name));
        match name {
            "search_tracks" => Ok(search::search_tracks(self, args).await),
            "get_my_profile" => Ok(profile::get_my_profile(self, args).await),
            "get_auth_url" => Ok(auth::get_auth_url(self)),
            "authenticate" => Ok(auth::authenticate(self, args).await),
            "forget_me" => Ok(auth::forget_me(self, args).await),
            "get_auth_status" => Ok(auth::get_auth_status(self, args).await),
            _ => {
                if let Some(result) = catalog::call(self, name, args).await {
                    return Ok(result);
                }
                if let Some(result) = playback::call(self, name, args).await {
                    return Ok(result);
                }
                if let Some(result) = library::call(self, name, args).await {
                    return Ok(result);
                }
                match playlists::call(self, name, args).await {
                    Some(result) => Ok(result),
                    None => Err(RpcError::new(INVALID_PARAMS, format!("Unknown tool: {name}"))),
                }
            }
        }
    }
}

/// An object schema that forbids unknown properties (models then learn from the error).
pub fn object_schema(properties: Value, required: &[&str]) -> Value {
    json!({"type": "object", "properties": properties, "required": required, "additionalProperties": false})
}

/// Rejects arguments the schema does not name, with a message a model can correct from.
pub fn check_known(args: &Value, known: &[&str]) -> Result<(), ToolResult> {
    if let Some(extra) = args.as_object().and_then(|o| o.keys().find(|k| !known.contains(&k.as_str()))) {
        return Err(ToolResult::error(format!("Unknown argument {extra:?}; this tool takes: {}", known.join(", "))));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    /// The README's tool table is what users read: it must list every tool we serve.
    #[test]
    fn readme_lists_every_tool() {
        let readme = include_str!("../../README.md");
        for tool in super::definitions() {
            let name = tool["name"].as_str().unwrap();
            assert!(readme.contains(&format!("| `{name}` |")), "README's tool table lacks {name}");
        }
    }
}
