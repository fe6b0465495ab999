//! The MCP tools: definitions (schemas, annotations) and their handlers. A tool sees the
//! caller only through a [`Toolbox`] and Spotify only through a `SpotifySession`.
//!
//! Families of near-identical tools are folded into one tool with a mode argument
//! (`control_playback` `command`, `get_library` `kind`, `edit_playlist_items` `action`,
//! `get_item` by URI), so the whole list stays small enough for clients that cap tools.
pub mod auth;
pub mod catalog;
pub mod catalogue;
pub mod confirm;
pub mod errors;
pub mod ids;
pub mod library;
pub mod playback;
pub mod playlists;
pub mod profile;
pub mod resources;
pub mod schema;
pub mod search;
pub mod ui;

use crate::context::Ctx;
use crate::core::capability::{Capabilities, Capability};
use crate::core::platform::Platform;
use crate::core::store::{SpotifyLink, StoreError};
use crate::mcp::model::{Client, Retry, RpcError, ToolResult, INVALID_PARAMS};
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
    /// What the client of the current call declared, and the answers its retry carries.
    client: Cell<Client>,
    retry: std::cell::RefCell<Retry>,
    /// The call being served (name, arguments), for answers that ask the person mid-call.
    current: std::cell::RefCell<Option<(String, Value)>>,
    /// The retry's `requestState`, verified.
    verified: std::cell::RefCell<Option<confirm::Pending>>,
    /// The caller's Spotify link, read by the router together with the access token (one KV
    /// round trip for both); taken by the first `stored_link`.
    prefetched: std::cell::RefCell<Option<Result<Option<SpotifyLink>, StoreError>>>,
}

/// Whether a tool reads the caller's Spotify link (every tool but the sign-in ones that do
/// not): the router then reads it together with the access token.
pub fn reads_link(tool: &str) -> bool {
    capability_of(tool).is_some() && !matches!(tool, "get_auth_url" | "authenticate" | "forget_me")
}

/// The Spotify scopes each tool needs; sign-in asks for those of the granted capabilities
/// (`Capability::spotify_scopes`). `get_library` needs only its kind's scope
/// (`library::Kind::scope`); this is every scope it may need.
pub fn scopes_for(tool: &str) -> &'static [&'static str] {
    match tool {
        "get_playback_state" | "get_devices" | "get_queue" => &["user-read-playback-state"],
        "play" | "control_playback" | "add_to_queue" => &["user-modify-playback-state"],
        "get_library" => library::READ_SCOPES,
        "check_saved" => &["user-library-read"],
        "save_to_library" | "remove_from_library" => &["user-library-modify"],
        "get_my_playlists" | "get_playlist" => &["playlist-read-private"],
        "create_playlist" | "update_playlist" | "edit_playlist_items" => {
            &["playlist-modify-private", "playlist-modify-public"]
        }
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
            client: Cell::new(Client::default()),
            retry: Default::default(),
            current: Default::default(),
            verified: Default::default(),
            prefetched: Default::default(),
        }
    }

    /// With the caller's link as the router already read it.
    pub fn with_link(self, link: Option<Result<Option<SpotifyLink>, StoreError>>) -> Self {
        *self.prefetched.borrow_mut() = link;
        self
    }

    /// The caller's stored Spotify link: the one read with the access token, or one KV read.
    pub async fn stored_link(&self) -> Result<Option<SpotifyLink>, StoreError> {
        let prefetched = self.prefetched.borrow_mut().take();
        match prefetched {
            Some(link) => link,
            None => self.ctx.store().get_link(&self.principal.uk).await,
        }
    }

    /// The verified `requestState` of the retry being served.
    pub fn verified(&self) -> Option<confirm::Pending> {
        self.verified.borrow().clone()
    }

    /// "Link Spotify again" (asking Spotify for `add` too): for a client that can open a
    /// URL mid-call, an elicitation of the re-link page whose retry proceeds; otherwise the
    /// error with the link.
    pub fn relink(&self, add: &[&str], why: &str) -> ToolResult {
        if let Some((name, args)) = self.current.borrow().as_ref() {
            if let Some(url) = crate::oauth::flow::relink_url(self.ctx, &self.principal.uk, add) {
                if let Some(ask) = confirm::relink(self, name, args, &url, why) {
                    return ask;
                }
            }
        }
        errors::relink_adding(self.ctx, &self.principal.uk, add, why)
    }

    pub fn client(&self) -> Client {
        self.client.get()
    }

    /// The answers of the retry being served (2026-07-28), if it is one.
    pub fn retry(&self) -> std::cell::Ref<'_, Retry> {
        self.retry.borrow()
    }

    /// Narrows the scopes the current call needs (a tool whose need depends on its arguments).
    fn require(&self, scopes: &'static [&'static str]) {
        self.needs.set(scopes);
    }

    /// The caller's Spotify session (one KV read, usually made already), or the result
    /// telling them to link.
    pub async fn session(&self) -> Result<SpotifySession<'a, P>, ToolResult> {
        match self.stored_link().await {
            // A token from before "delete all my data" must not use a link made after it.
            Ok(Some(link)) if link.epoch != self.principal.access.epoch => Err(ToolResult::error(
                "This connection ended when all data of this Spotify account was deleted from this server. Sign in again: remove this server from your app and add it again.",
            )),
            Ok(Some(link)) => {
                let missing = crate::spotify::scopes::missing(&link.scope, self.needs.get());
                if !link.scope.is_empty() && !missing.is_empty() {
                    return Err(self.relink(
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
                Err(self.relink(&[], "No usable Spotify link is stored for you."))
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

/// `None`: no such tool. `Some(None)`: every grant has it. `Some(Some(c))`: needs `c`.
pub fn capability_of(name: &str) -> Option<Option<Capability>> {
    catalogue::find(name).map(|t| t.capability)
}

/// The tools a grant of `granted` may see ([`catalogue::list`]).
pub fn definitions_for(granted: Capabilities, client: Client) -> Vec<Value> {
    match catalogue::list(granted, client) {
        Value::Array(tools) => tools,
        _ => Vec::new(),
    }
}

/// Every tool, as a client without MCP Apps sees it.
pub fn definitions() -> Vec<Value> {
    definitions_for(Capabilities::ALL, Client::default())
}

impl<P: Platform> ToolHost for Toolbox<'_, P> {
    fn list(&self, client: Client) -> &'static str {
        catalogue::list_json(self.capabilities(), client)
    }

    fn resource_templates(&self) -> Vec<Value> {
        resources::templates()
    }

    async fn list_resources(
        &self,
        cursor: Option<&str>,
        client: Client,
    ) -> Result<(Vec<Value>, Option<String>), ResourceError> {
        // The views come first, on the first page only.
        let views = if cursor.is_none() { ui::resources(client) } else { Vec::new() };
        if !self.capabilities().contains(Capability::Playlists) {
            // The other resources are the caller's playlists: none without that capability.
            return Ok((views, None));
        }
        self.needs.set(&["playlist-read-private"]);
        let (playlists, next) = resources::list(self, cursor).await?;
        Ok((views.into_iter().chain(playlists).collect(), next))
    }

    async fn read_resource(&self, uri: &str) -> Result<Value, ResourceError> {
        if let Some(view) = ui::read(self.ctx.platform, uri).await {
            return view;
        }
        resources::read(self, uri).await
    }

    async fn call(&self, name: &str, args: &Value, client: Client, retry: &Retry) -> Result<ToolResult, RpcError> {
        let Some(tool) = catalogue::find(name) else {
            return Err(RpcError::new(INVALID_PARAMS, format!("Unknown tool: {name}")));
        };
        // Every handler reads arguments checked against the tool's schema, defaults filled in.
        let args = match tool.check(args) {
            Ok(a) => a,
            Err(message) => return Ok(ToolResult::error(message)),
        };
        let args = &args;
        self.client.set(client);
        *self.retry.borrow_mut() = retry.clone();
        *self.current.borrow_mut() = Some((name.to_string(), args.clone()));
        if let Some(state) = &retry.request_state {
            *self.verified.borrow_mut() = Some(confirm::verify(self, name, args, state)?);
        }
        self.needs.set(scopes_for(name));
        let result = match tool.capability {
            Some(Capability::Playback) => playback::call(self, name, args).await,
            Some(Capability::Library) => library::call(self, name, args).await,
            Some(Capability::Playlists) => playlists::call(self, name, args).await,
            None => match name {
                "search_tracks" => Some(search::search_tracks(self, args).await),
                "get_my_profile" => Some(profile::get_my_profile(self).await),
                "get_auth_url" => Some(auth::get_auth_url(self)),
                "authenticate" => Some(auth::authenticate(self, args).await),
                "forget_me" => Some(auth::forget_me(self, args).await),
                "get_auth_status" => Some(auth::get_auth_status(self).await),
                _ => catalog::call(self, name, args).await,
            },
        };
        result.ok_or_else(|| RpcError::new(INVALID_PARAMS, format!("Unknown tool: {name}")))
    }
}

/// The cover to show for an item: the smallest of Spotify's images at least 64 px wide
/// (lists are largest first), for the MCP Apps views. `None` without images.
pub fn cover(images: &Value) -> Option<&str> {
    let all = images.as_array()?;
    all.iter()
        .rev()
        .find(|i| i["width"].as_u64().is_none_or(|w| w >= 64))
        .or(all.first())
        .and_then(|i| i["url"].as_str())
}

/// `item` with its cover as `image`, when it has one.
pub fn with_cover(mut item: Value, images: &Value) -> Value {
    if let Some(url) = cover(images) {
        item["image"] = json!(url);
    }
    item
}

/// A string argument the schema has checked (`""` when absent).
pub fn arg_str<'v>(args: &'v Value, key: &str) -> &'v str {
    args[key].as_str().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cover_is_the_smallest_image_still_64_px_wide() {
        let images = json!([
            {"url": "https://i.scdn.co/image/640", "width": 640},
            {"url": "https://i.scdn.co/image/300", "width": 300},
            {"url": "https://i.scdn.co/image/64", "width": 64},
            {"url": "https://i.scdn.co/image/32", "width": 32}
        ]);
        assert_eq!(cover(&images), Some("https://i.scdn.co/image/64"));
        assert_eq!(cover(&json!([{"url": "https://mosaic.scdn.co/x"}])), Some("https://mosaic.scdn.co/x"), "no width");
        assert_eq!(cover(&json!([{"url": "https://i.scdn.co/s", "width": 16}])), Some("https://i.scdn.co/s"));
        assert_eq!(cover(&json!([])), None);
        assert_eq!(with_cover(json!({"name": "x"}), &Value::Null), json!({"name": "x"}));
    }

    fn compact_size(defs: &[Value]) -> usize {
        serde_json::to_string(defs).unwrap().len()
    }

    /// The README's tool table is what users read: it must list every tool we serve.
    #[test]
    fn readme_lists_every_tool() {
        let readme = include_str!("../../README.md");
        for tool in definitions() {
            let name = tool["name"].as_str().unwrap();
            assert!(readme.contains(&format!("| `{name}` |")), "README's tool table lacks {name}");
        }
    }

    /// Clients pay for the list in context, and some cap tools across all servers: the whole
    /// list stays at most 24 tools and 16,000 bytes of compact JSON.
    #[test]
    fn the_tool_list_fits_its_budget() {
        let all = definitions();
        let bytes = compact_size(&all);
        eprintln!("tools/list, everything granted: {} tools, {bytes} bytes", all.len());
        for tool in &all {
            eprintln!("  {:<22} {:>5} bytes", tool["name"].as_str().unwrap(), tool.to_string().len());
        }
        eprintln!(
            "  always on: {} tools, {} bytes",
            definitions_for(Capabilities::NONE, Client::default()).len(),
            compact_size(&definitions_for(Capabilities::NONE, Client::default()))
        );
        for c in Capability::ALL {
            let only = definitions_for(Capabilities::NONE.with(c), Client::default());
            eprintln!("  only {:<9}: {} tools, {} bytes", c.name(), only.len(), compact_size(&only));
        }
        assert!(all.len() <= 24, "{} tools", all.len());
        assert!(bytes <= 16_000, "{bytes} bytes");
    }

    #[test]
    fn every_tool_is_complete_and_named_once() {
        let all = definitions();
        let mut names = std::collections::HashSet::new();
        for tool in &all {
            let name = tool["name"].as_str().unwrap();
            assert!(names.insert(name), "duplicate {name}");
            assert!(tool["title"].is_string() && tool["description"].as_str().unwrap().len() > 20, "{name}");
            assert_eq!(tool["inputSchema"]["type"], "object", "{name}");
            assert_eq!(tool["inputSchema"]["additionalProperties"], false, "{name}");
            assert_eq!(tool["outputSchema"]["type"], "object", "{name}");
            for hint in ["readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint"] {
                assert!(tool["annotations"][hint].is_boolean(), "{name} lacks {hint}");
            }
            assert!(capability_of(name).is_some(), "{name}");
        }
        for kept in ["search_tracks", "get_auth_url", "authenticate", "get_auth_status"] {
            assert!(names.contains(kept), "{kept}");
        }
        assert_eq!(capability_of("get_track"), None, "old names are gone");
        // Destructive tools say so.
        for name in ["edit_playlist_items", "remove_from_library", "forget_me"] {
            let tool = all.iter().find(|t| t["name"] == name).unwrap();
            assert_eq!(tool["annotations"]["destructiveHint"], true, "{name}");
        }
    }

    #[test]
    fn lists_follow_the_granted_capabilities() {
        let none = definitions_for(Capabilities::NONE, Client::default());
        let names = |defs: &[Value]| defs.iter().map(|d| d["name"].as_str().unwrap().to_string()).collect::<Vec<_>>();
        assert_eq!(
            names(&none),
            [
                "search_tracks",
                "search",
                "get_item",
                "get_my_profile",
                "get_auth_status",
                "get_auth_url",
                "authenticate",
                "forget_me"
            ]
        );
        let mut total = none.len();
        for c in Capability::ALL {
            let only = definitions_for(Capabilities::NONE.with(c), Client::default());
            for d in &only {
                let name = d["name"].as_str().unwrap();
                let cap = capability_of(name).unwrap();
                assert!(cap.is_none() || cap == Some(c), "{name} in the list of {}", c.name());
            }
            total += only.len() - none.len();
        }
        assert_eq!(total, definitions().len(), "every tool belongs to one capability or none");
        // Same order whatever the set, and the same answer twice (cached).
        let pl = Capabilities::NONE.with(Capability::Playback).with(Capability::Playlists);
        let sub = names(&definitions_for(pl, Client::default()));
        let all = names(&definitions());
        assert_eq!(sub, all.iter().filter(|n| sub.contains(n)).cloned().collect::<Vec<_>>());
        assert_eq!(definitions_for(pl, Client::default()), definitions_for(pl, Client::default()));
        assert_eq!(capability_of("control_playback"), Some(Some(Capability::Playback)));
        assert_eq!(capability_of("get_library"), Some(Some(Capability::Library)));
        assert_eq!(capability_of("edit_playlist_items"), Some(Some(Capability::Playlists)));
        assert_eq!(capability_of("get_item"), Some(None));
        assert_eq!(capability_of("nope"), None);
    }

    /// A tool's Spotify scopes are among those its capability asks for at sign-in.
    #[test]
    fn scopes_are_those_of_the_capability() {
        for tool in definitions() {
            let name = tool["name"].as_str().unwrap();
            let asked: Vec<&str> = match capability_of(name).unwrap() {
                Some(c) => c.spotify_scopes().to_vec(),
                None => crate::core::capability::BASE_SPOTIFY_SCOPES.to_vec(),
            };
            for scope in scopes_for(name) {
                assert!(asked.contains(scope), "{name} needs {scope}, outside its capability");
            }
            assert_eq!(scopes_for(name).is_empty(), capability_of(name).unwrap().is_none(), "{name}");
        }
        for kind in library::Kind::ALL {
            assert!(scopes_for("get_library").contains(&kind.scope()[0]), "{}", kind.name());
        }
    }

    /// The tools folded into today's, by their old names.
    const OLD_NAMES: &[&str] = &[
        "get_track",
        "get_album",
        "get_artist",
        "get_show",
        "get_episode",
        "pause",
        "skip_next",
        "skip_previous",
        "seek",
        "set_volume",
        "set_shuffle",
        "set_repeat",
        "transfer_playback",
        "get_saved_tracks",
        "get_saved_albums",
        "get_recently_played",
        "get_top_items",
        "get_followed_artists",
        "add_to_playlist",
        "remove_from_playlist",
        "reorder_playlist",
        "replace_playlist_items",
    ];

    /// The server instructions and the prompts name only tools that exist.
    #[test]
    fn instructions_and_prompts_name_todays_tools() {
        use crate::mcp::prompts;
        let mut texts = vec![crate::mcp::server::INFO.instructions.to_string(), prompts::list().to_string()];
        for (name, args) in [
            ("discover_similar", json!({"artist": "Queen"})),
            ("taste_profile", json!({"time_range": "short_term"})),
            ("build_playlist", json!({"vibe": "jazz", "size": "10"})),
        ] {
            texts.push(prompts::get(name, &args).unwrap().to_string());
        }
        let tool_words = |text: &str| {
            text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .filter(|w| w.contains('_'))
                .map(str::to_string)
                .collect::<Vec<_>>()
        };
        for text in &texts {
            for word in tool_words(text) {
                assert!(!OLD_NAMES.contains(&word.as_str()), "{word} is an old tool name: {text}");
            }
        }
        let all = texts.join(" ");
        for name in ["get_item", "get_library", "control_playback", "edit_playlist_items", "get_devices"] {
            assert!(all.contains(name), "{name} is never mentioned");
        }
        for old in OLD_NAMES {
            assert_eq!(capability_of(old), None, "{old}");
        }
    }
}
