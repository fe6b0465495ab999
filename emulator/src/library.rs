//! Per-user library (`/me/library`, the February 2026 URI-based endpoints), saved tracks and
//! albums, followed artists, recently played, top items; and the endpoints Spotify withholds
//! from Development Mode apps, which answer 403 here as there.

use crate::catalog;
use crate::{api_error, json_reply, Reply};
use serde_json::{json, Value};
use std::collections::HashMap;

#[derive(Default)]
pub struct Library {
    /// Saved URIs in the order saved (newest last).
    pub saved: Vec<String>,
}

/// Endpoints removed for Development Mode apps (November 2024 and February 2026).
pub fn withheld(method: &str, path: &str) -> bool {
    let p: Vec<&str> = path.trim_start_matches("/v1/").split('/').collect();
    matches!(
        (method, p.as_slice()),
        (_, ["recommendations", ..])
            | (_, ["audio-features", ..])
            | (_, ["audio-analysis", ..])
            | (_, ["artists", _, "top-tracks"])
            | (_, ["artists", _, "related-artists"])
            | (_, ["browse", ..])
            | (_, ["users", ..])
            | ("GET", ["tracks"] | ["albums"] | ["artists"] | ["shows"] | ["episodes"])
            | ("PUT" | "DELETE", ["me", "tracks" | "albums" | "shows" | "episodes" | "following"])
            | (_, ["playlists", _, "tracks"])
            | (_, ["playlists", _, "followers"])
    )
}

fn page(items: Vec<Value>, q: &HashMap<String, String>, max: usize) -> Result<Value, Reply> {
    let limit = match q.get("limit").map(|l| l.parse::<usize>()) {
        None => 20.min(max),
        Some(Ok(l)) if (1..=max).contains(&l) => l,
        _ => return Err(api_error(400, "Invalid limit")),
    };
    let offset = match q.get("offset").map(|o| o.parse::<usize>()) {
        None => 0,
        Some(Ok(o)) => o,
        _ => return Err(api_error(400, "Invalid offset")),
    };
    let total = items.len();
    let items: Vec<Value> = items.into_iter().skip(offset).take(limit).collect();
    Ok(json!({"href": "", "items": items, "limit": limit, "offset": offset, "total": total,
              "next": if offset + limit < total { json!("next") } else { Value::Null }, "previous": Value::Null}))
}

fn uris_param(q: &HashMap<String, String>) -> Result<Vec<String>, Reply> {
    let uris: Vec<String> = q.get("uris").map(|u| u.split(',').map(str::to_string).collect()).unwrap_or_default();
    if uris.is_empty() || uris.len() > 40 {
        return Err(api_error(400, "uris must contain 1 to 40 Spotify URIs"));
    }
    if uris.iter().any(|u| catalog::lookup(u).is_none()) {
        return Err(api_error(400, "Invalid uri"));
    }
    Ok(uris)
}

pub fn handle(
    lib: &mut Library,
    history: &[usize],
    method: &str,
    path: &str,
    q: &HashMap<String, String>,
) -> Option<Reply> {
    let result = match (method, path) {
        ("PUT", "/v1/me/library") => uris_param(q).map(|uris| {
            for u in uris {
                if !lib.saved.contains(&u) {
                    lib.saved.push(u);
                }
            }
            json_reply(200, json!({}))
        }),
        ("DELETE", "/v1/me/library") => uris_param(q).map(|uris| {
            lib.saved.retain(|s| !uris.contains(s));
            json_reply(200, json!({}))
        }),
        ("GET", "/v1/me/library/contains") => uris_param(q)
            .map(|uris| json_reply(200, json!(uris.iter().map(|u| lib.saved.contains(u)).collect::<Vec<_>>()))),
        ("GET", "/v1/me/tracks") | ("GET", "/v1/me/albums") => {
            let kind = if path.ends_with("tracks") { "track" } else { "album" };
            let items: Vec<Value> = lib
                .saved
                .iter()
                .rev()
                .filter(|u| u.starts_with(&format!("spotify:{kind}:")))
                .filter_map(|u| catalog::lookup(u))
                .map(|item| json!({"added_at": "2026-11-01T12:00:00Z", kind: item}))
                .collect();
            page(items, q, 50).map(|p| json_reply(200, p))
        }
        ("GET", "/v1/me/following") => {
            if q.get("type").map(String::as_str) != Some("artist") {
                return Some(api_error(400, "type must be artist"));
            }
            let items: Vec<Value> = lib
                .saved
                .iter()
                .filter(|u| u.starts_with("spotify:artist:"))
                .filter_map(|u| catalog::lookup(u))
                .collect();
            let limit = q.get("limit").and_then(|l| l.parse::<usize>().ok()).unwrap_or(20);
            if !(1..=50).contains(&limit) {
                return Some(api_error(400, "Invalid limit"));
            }
            let total = items.len();
            Ok(json_reply(
                200,
                json!({"artists": {"items": items.into_iter().take(limit).collect::<Vec<_>>(), "limit": limit, "total": total, "cursors": {"after": Value::Null}, "next": Value::Null}}),
            ))
        }
        ("GET", "/v1/me/player/recently-played") => {
            let limit = q.get("limit").and_then(|l| l.parse::<usize>().ok()).unwrap_or(20);
            if !(1..=50).contains(&limit) {
                return Some(api_error(400, "Invalid limit"));
            }
            let items: Vec<Value> = history
                .iter()
                .rev()
                .take(limit)
                .map(|&i| json!({"track": catalog::track(i), "played_at": "2026-11-24T20:00:00Z", "context": Value::Null}))
                .collect();
            Ok(json_reply(
                200,
                json!({"items": items, "limit": limit, "cursors": {"after": Value::Null, "before": Value::Null}, "next": Value::Null}),
            ))
        }
        ("GET", "/v1/me/top/tracks") | ("GET", "/v1/me/top/artists") => {
            let range = q.get("time_range").map(String::as_str).unwrap_or("medium_term");
            let shift = match range {
                "short_term" => 0,
                "medium_term" => 3,
                "long_term" => 7,
                _ => return Some(api_error(400, "Invalid time range")),
            };
            let items = if path.ends_with("tracks") { catalog::top_tracks(shift) } else { catalog::top_artists(shift) };
            page(items, q, 50).map(|p| json_reply(200, p))
        }
        _ => return None,
    };
    Some(result.unwrap_or_else(|e| e))
}
