//! MCP resources: the caller's playlists, tracks, albums and artists as compact JSON that a
//! client can attach to a conversation without a tool call. One Spotify call per list page or
//! read. A playlist is only readable by its owner or collaborators (as Spotify now enforces
//! for items), so nobody reads another user's playlist through this server.

use crate::core::platform::Platform;
use crate::mcp::server::ResourceError;
use crate::spotify::session::SessionError;
use crate::spotify::SpotifyError;
use crate::tools::catalog::compact_item;
use crate::tools::playlists::{compact_item as compact_playlist_item, compact_playlist};
use crate::tools::Toolbox;
use serde_json::{json, Value};

const SCHEMES: &[(&str, &str)] =
    &[("playlists", "playlist"), ("tracks", "track"), ("albums", "album"), ("artists", "artist")];
const PAGE: u64 = 20;
/// Spotify pages a person's playlists up to this offset; no cursor we hand out goes further.
const MAX_OFFSET: u64 = 100_000;

/// The offset a `resources/list` cursor stands for: a decimal we handed out, a multiple of
/// the page size within [`MAX_OFFSET`]. Anything else is invalid params (spec: "Invalid cursor").
fn parse_cursor(cursor: Option<&str>) -> Result<u64, ResourceError> {
    let Some(c) = cursor else { return Ok(0) };
    let shown: String = c.chars().take(40).collect();
    match c.parse::<u64>() {
        Ok(offset) if offset <= MAX_OFFSET && offset % PAGE == 0 && offset.to_string() == c => Ok(offset),
        _ => Err(ResourceError::InvalidParams(format!("invalid cursor {shown:?}: pass back a nextCursor as given"))),
    }
}

/// The cursor of the page after `offset`, when there is one.
fn next_cursor(offset: u64, total: u64) -> Option<String> {
    offset.checked_add(PAGE).filter(|next| *next < total && *next <= MAX_OFFSET).map(|next| next.to_string())
}

pub fn templates() -> Vec<Value> {
    SCHEMES
        .iter()
        .map(|(scheme, kind)| {
            json!({"uriTemplate": format!("{scheme}://{{id}}"), "name": format!("spotify-{kind}"), "title": format!("Spotify {kind}"),
                   "description": format!("A Spotify {kind} by id, as compact JSON."), "mimeType": "application/json"})
        })
        .collect()
}

fn failed(e: SessionError) -> ResourceError {
    match e {
        SessionError::Relink(_) => {
            ResourceError::Failed("Spotify needs to be linked again: call the get_auth_url tool".into())
        }
        SessionError::Spotify(e) => ResourceError::Failed(e.to_string()),
        SessionError::Store(e) => ResourceError::Failed(e.to_string()),
    }
}

fn unlinked() -> ResourceError {
    ResourceError::Failed("no Spotify link is stored for you: call the get_auth_url tool".into())
}

pub async fn list<P: Platform>(
    tb: &Toolbox<'_, P>,
    cursor: Option<&str>,
) -> Result<(Vec<Value>, Option<String>), ResourceError> {
    let offset = parse_cursor(cursor)?;
    let mut session = tb.session().await.map_err(|_| unlinked())?;
    let result = session
        .call("GET", "/v1/me/playlists", &[("limit", PAGE.to_string()), ("offset", offset.to_string())], None)
        .await;
    tb.count(&session);
    let v = result.map_err(failed)?;
    let resources: Vec<Value> = v["items"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|p| {
                    let c = compact_playlist(p);
                    json!({"uri": format!("playlists://{}", p["id"].as_str().unwrap_or("")), "name": c["name"], "title": c["name"],
                           "description": format!("Playlist by {}, {} items", c["owner"].as_str().unwrap_or("?"), crate::json::text(&c["items"])),
                           "mimeType": "application/json"})
                })
                .collect()
        })
        .unwrap_or_default();
    let total = v["total"].as_u64().unwrap_or(0);
    let next = next_cursor(offset, total);
    Ok((resources, next))
}

pub async fn read<P: Platform>(tb: &Toolbox<'_, P>, uri: &str) -> Result<Value, ResourceError> {
    let not_found = || ResourceError::NotFound(format!("no resource {uri:?}"));
    let (scheme, id) = uri.split_once("://").ok_or_else(not_found)?;
    let kind = SCHEMES.iter().find(|(s, _)| *s == scheme).map(|(_, k)| *k).ok_or_else(not_found)?;
    if !(15..=40).contains(&id.len()) || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(not_found());
    }
    let mut session = tb.session().await.map_err(|_| unlinked())?;
    let result = session.call("GET", &format!("/v1/{kind}s/{id}"), &[], None).await;
    tb.count(&session);
    let v = match result {
        Ok(v) => v,
        Err(SessionError::Spotify(SpotifyError::NotFound { .. } | SpotifyError::BadRequest(_))) => {
            return Err(not_found())
        }
        Err(e) => return Err(failed(e)),
    };
    let body = if kind == "playlist" {
        let me = session.link().spotify_id.expose().to_string();
        if v["owner"]["id"].as_str() != Some(me.as_str()) && v["collaborative"] != true {
            // Not the caller's: answered exactly like a missing one.
            return Err(not_found());
        }
        let items: Vec<Value> = v["items"]["items"]
            .as_array()
            .map(|a| a.iter().take(50).map(compact_playlist_item).collect())
            .unwrap_or_default();
        let mut c = compact_playlist(&v);
        c["description"] = v["description"].clone();
        c["tracks"] = json!(items);
        c
    } else {
        compact_item(kind, &v)
    };
    Ok(json!([{"uri": uri, "mimeType": "application/json", "text": crate::json::text(&body)}]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_are_our_own_offsets_or_invalid_params() {
        assert_eq!(parse_cursor(None), Ok(0));
        assert_eq!(parse_cursor(Some("40")), Ok(40));
        for bad in ["18446744073709551615", "18446744073709551600", "-20", "1e3", "7", "100020", "", "0040"] {
            assert!(matches!(parse_cursor(Some(bad)), Err(ResourceError::InvalidParams(_))), "{bad} accepted");
        }
        assert_eq!(next_cursor(0, 45), Some("20".into()));
        assert_eq!(next_cursor(40, 45), None);
        assert_eq!(next_cursor(u64::MAX - 5, u64::MAX), None, "no overflow");
        assert_eq!(next_cursor(MAX_OFFSET, u64::MAX), None);
    }
}
