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
pub mod search;

use crate::app::Ctx;
use crate::core::platform::Platform;
use crate::mcp::model::{RpcError, ToolResult, INVALID_PARAMS};
use crate::mcp::server::ToolHost;
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
}

impl<'a, P: Platform> Toolbox<'a, P> {
    pub fn new(ctx: &'a Ctx<'a, P>, principal: &'a Principal) -> Self {
        Toolbox { ctx, principal, spotify_calls: Cell::new(0) }
    }

    /// The caller's Spotify session (one KV read), or the result telling them to link.
    pub async fn session(&self) -> Result<SpotifySession<'a, P>, ToolResult> {
        match self.ctx.store().get_link(&self.principal.uk).await {
            Ok(Some(link)) => {
                Ok(SpotifySession::new(self.ctx.platform, self.ctx.config, self.principal.uk.clone(), link))
            }
            Ok(None) | Err(crate::core::store::StoreError::Undecryptable) => {
                Err(errors::relink(self.ctx, &self.principal.uk, "No usable Spotify link is stored for you."))
            }
            Err(e) => Err(ToolResult::error(format!("The token store is unavailable ({e}); try again in a moment."))),
        }
    }

    pub fn count(&self, session: &SpotifySession<'a, P>) {
        self.spotify_calls.set(self.spotify_calls.get() + session.calls);
    }
}

pub fn definitions() -> Vec<Value> {
    let mut all = vec![search::definition()];
    all.extend(catalog::definitions());
    all.push(profile::definition());
    all.extend(playback::definitions());
    all.extend(library::definitions());
    all.extend(playlists::definitions());
    all.extend([auth::get_auth_url_definition(), auth::authenticate_definition()]);
    all
}

impl<P: Platform> ToolHost for Toolbox<'_, P> {
    fn list(&self) -> Vec<Value> {
        definitions()
    }

    async fn call(&self, name: &str, args: &Value) -> Result<ToolResult, RpcError> {
        match name {
            "search_tracks" => Ok(search::search_tracks(self, args).await),
            "get_my_profile" => Ok(profile::get_my_profile(self, args).await),
            "get_auth_url" => Ok(auth::get_auth_url(self)),
            "authenticate" => Ok(auth::authenticate(self, args).await),
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
