//! Library and history: `get_library` lists saved tracks or albums, recently played, top
//! tracks or artists, followed artists; save/remove/check any item by URI (the February
//! 2026 `/me/library` endpoints). One Spotify call each.

use crate::core::platform::Platform;
use crate::mcp::model::ToolResult;
use crate::tools::search::compact_track;
use crate::tools::{check_applies, check_known, errors, ids, mode, object_schema, output, tool, Toolbox, READS};
use serde_json::{json, Value};

fn uris_prop() -> Value {
    json!({"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 40})
}

/// What `get_library` lists: one Spotify endpoint and scope each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    SavedTracks,
    SavedAlbums,
    RecentlyPlayed,
    TopTracks,
    TopArtists,
    FollowedArtists,
}

/// Every scope `get_library` may need (one per kind).
pub const READ_SCOPES: &[&str] =
    &["user-library-read", "user-read-recently-played", "user-top-read", "user-follow-read"];

impl Kind {
    pub const ALL: [Kind; 6] = [
        Kind::SavedTracks,
        Kind::SavedAlbums,
        Kind::RecentlyPlayed,
        Kind::TopTracks,
        Kind::TopArtists,
        Kind::FollowedArtists,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::SavedTracks => "saved_tracks",
            Kind::SavedAlbums => "saved_albums",
            Kind::RecentlyPlayed => "recently_played",
            Kind::TopTracks => "top_tracks",
            Kind::TopArtists => "top_artists",
            Kind::FollowedArtists => "followed_artists",
        }
    }

    /// The Spotify scope listing this kind needs.
    pub fn scope(self) -> &'static [&'static str] {
        match self {
            Kind::SavedTracks | Kind::SavedAlbums => &READ_SCOPES[0..1],
            Kind::RecentlyPlayed => &READ_SCOPES[1..2],
            Kind::TopTracks | Kind::TopArtists => &READ_SCOPES[2..3],
            Kind::FollowedArtists => &READ_SCOPES[3..4],
        }
    }

    /// The arguments this kind takes besides `kind`.
    fn takes(self) -> &'static [&'static str] {
        match self {
            Kind::SavedTracks | Kind::SavedAlbums => &["limit", "offset"],
            Kind::RecentlyPlayed => &["limit"],
            Kind::TopTracks | Kind::TopArtists => &["limit", "offset", "time_range"],
            Kind::FollowedArtists => &["limit", "after"],
        }
    }

    fn names() -> Vec<&'static str> {
        Kind::ALL.iter().map(|k| k.name()).collect()
    }
}

const TIME_RANGES: &[&str] = &["short_term", "medium_term", "long_term"];

pub fn definitions() -> Vec<Value> {
    let done = output(json!({"ok": {"type": "boolean"}, "uris": {"type": "array"}}), &["ok", "uris"]);
    let uris_only = object_schema(json!({"uris": uris_prop()}), &["uris"]);
    vec![
        tool(
            "get_library",
            "My library",
            "saved_tracks (liked), saved_albums, recently_played, top_tracks, top_artists (time_range: short_term ~4 weeks, medium_term 6 months, long_term years), followed_artists (page with after).",
            object_schema(
                json!({
                    "kind": {"type": "string", "enum": Kind::names()},
                    "limit": {"type": "integer", "minimum": 1, "maximum": 50, "default": 20},
                    "offset": {"type": "integer", "minimum": 0},
                    "time_range": {"type": "string", "enum": TIME_RANGES, "default": "medium_term"},
                    "after": {"type": "string"}
                }),
                &["kind"],
            ),
            output(
                json!({"kind": {"type": "string"}, "total": {"type": ["integer", "null"]}, "items": {"type": "array"}}),
                &["kind", "items"],
            ),
            READS,
        ),
        tool(
            "check_saved",
            "Is it saved?",
            "Whether items are in the user's library (liked, saved or followed).",
            uris_only.clone(),
            output(
                json!({"items": {"type": "array", "items": {"type": "object", "properties": {"uri": {"type": "string"}, "saved": {"type": "boolean"}}}}}),
                &["items"],
            ),
            READS,
        ),
        tool(
            "save_to_library",
            "Save / follow",
            "Save tracks (like), albums, shows, episodes; follow artists and playlists. Up to 40.",
            uris_only.clone(),
            done.clone(),
            [false, false, true],
        ),
        tool(
            "remove_from_library",
            "Remove / unfollow",
            "Unlike tracks, unsave albums, shows, episodes; unfollow artists and playlists. Up to 40.",
            object_schema(json!({"uris": uris_prop(), "confirm": crate::tools::confirm::confirm_prop()}), &["uris"]),
            done,
            [false, true, true],
        ),
    ]
}

pub fn compact_album(a: &Value) -> Value {
    crate::tools::with_cover(
        json!({"id": a["id"], "uri": a["uri"], "name": a["name"],
           "artists": a["artists"].as_array().map(|x| x.iter().filter_map(|y| y["name"].as_str()).collect::<Vec<_>>()).unwrap_or_default(),
           "release_date": a["release_date"], "total_tracks": a["total_tracks"]}),
        &a["images"],
    )
}

pub fn compact_artist(a: &Value) -> Value {
    let mut out = crate::tools::with_cover(json!({"id": a["id"], "uri": a["uri"], "name": a["name"]}), &a["images"]);
    if let Some(g) = a["genres"].as_array().filter(|g| !g.is_empty()) {
        out["genres"] = json!(g.iter().take(5).collect::<Vec<_>>());
    }
    out
}

fn limit(args: &Value, default: u64) -> Result<u64, ToolResult> {
    match args.get("limit") {
        None | Some(Value::Null) => Ok(default),
        Some(v) => match v.as_u64() {
            Some(n) if (1..=50).contains(&n) => Ok(n),
            _ => Err(ToolResult::error("limit must be an integer from 1 to 50.")),
        },
    }
}

fn offset(args: &Value) -> Result<u64, ToolResult> {
    match args.get("offset") {
        None | Some(Value::Null) => Ok(0),
        Some(v) => v.as_u64().ok_or_else(|| ToolResult::error("offset must be a non-negative integer.")),
    }
}

fn uris(args: &Value) -> Result<Vec<String>, ToolResult> {
    let Some(list) = args.get("uris").and_then(Value::as_array).filter(|l| !l.is_empty() && l.len() <= 40) else {
        return Err(ToolResult::error("uris must be a list of 1 to 40 Spotify URIs or links."));
    };
    list.iter()
        .map(|u| match u.as_str() {
            Some(s) => ids::uri(s, None, ids::KINDS).map_err(ToolResult::error),
            None => Err(ToolResult::error("uris must contain strings.")),
        })
        .collect()
}

/// Every element of a JSON array mapped through `f` (none when it is not an array).
fn each(list: &Value, f: impl Fn(&Value) -> Value) -> Vec<Value> {
    list.as_array().map(|a| a.iter().map(f).collect()).unwrap_or_default()
}

fn names(items: &[Value]) -> String {
    items
        .iter()
        .enumerate()
        .map(|(i, t)| format!("\n{}. {} {}", i + 1, t["name"].as_str().unwrap_or("?"), t["uri"].as_str().unwrap_or("")))
        .collect()
}

/// A validated `get_library` call.
struct Listing {
    kind: Kind,
    path: &'static str,
    query: Vec<(&'static str, String)>,
}

fn listing(args: &Value) -> Result<Listing, ToolResult> {
    check_known(args, &["kind", "limit", "offset", "time_range", "after"])?;
    let names = Kind::names();
    let name = mode(args, "kind", &names)?;
    let kind = Kind::ALL.into_iter().find(|k| k.name() == name).unwrap_or(Kind::SavedTracks);
    check_applies(args, "kind", name, kind.takes())?;
    let mut query = vec![("limit", limit(args, 20)?.to_string())];
    if kind.takes().contains(&"offset") {
        query.push(("offset", offset(args)?.to_string()));
    }
    let path = match kind {
        Kind::SavedTracks => "/v1/me/tracks",
        Kind::SavedAlbums => "/v1/me/albums",
        Kind::RecentlyPlayed => "/v1/me/player/recently-played",
        Kind::TopTracks | Kind::TopArtists => {
            let range = match args.get("time_range") {
                None | Some(Value::Null) => "medium_term",
                Some(r) => r
                    .as_str()
                    .filter(|r| TIME_RANGES.contains(r))
                    .ok_or_else(|| ToolResult::error("time_range must be short_term, medium_term or long_term."))?,
            };
            query.push(("time_range", range.to_string()));
            if kind == Kind::TopTracks {
                "/v1/me/top/tracks"
            } else {
                "/v1/me/top/artists"
            }
        }
        Kind::FollowedArtists => {
            query.push(("type", "artist".into()));
            if let Some(after) = args.get("after") {
                let raw = after.as_str().ok_or_else(|| ToolResult::error("after must be an artist id."))?;
                query.push(("after", ids::parse(raw, Some("artist"), &["artist"]).map_err(ToolResult::error)?.1));
            }
            "/v1/me/following"
        }
    };
    Ok(Listing { kind, path, query })
}

fn param<'q>(query: &'q [(&str, String)], key: &str) -> Option<&'q str> {
    query.iter().find(|(k, _)| *k == key).map(|(_, v)| v.as_str())
}

pub async fn call<P: Platform>(tb: &Toolbox<'_, P>, name: &str, args: &Value) -> Option<ToolResult> {
    let result = match name {
        "get_library" => get_library(tb, args).await,
        "save_to_library" | "remove_from_library" | "check_saved" => edit(tb, name, args).await,
        _ => return None,
    };
    Some(match result {
        Ok(r) | Err(r) => r,
    })
}

async fn get_library<P: Platform>(tb: &Toolbox<'_, P>, args: &Value) -> Result<ToolResult, ToolResult> {
    let Listing { kind, path, query } = listing(args)?;
    tb.require(kind.scope());
    let mut session = tb.session().await?;
    let result = session.call("GET", path, &query, None).await;
    tb.count(&session);
    let v = result.map_err(|e| errors::describe(tb, e))?;
    let (items, total, text): (Vec<Value>, Value, String) = match kind {
        Kind::SavedTracks => {
            let tracks = each(&v["items"], |i| compact_track(&i["track"]));
            let text =
                format!("{} of {} liked songs:{}", tracks.len(), v["total"].as_u64().unwrap_or(0), names(&tracks));
            (tracks, v["total"].clone(), text)
        }
        Kind::SavedAlbums => {
            let albums = each(&v["items"], |i| compact_album(&i["album"]));
            let text =
                format!("{} of {} saved albums:{}", albums.len(), v["total"].as_u64().unwrap_or(0), names(&albums));
            (albums, v["total"].clone(), text)
        }
        Kind::RecentlyPlayed => {
            let tracks = each(&v["items"], |i| compact_track(&i["track"]));
            let text = format!("Recently played:{}", names(&tracks));
            (tracks, Value::Null, text)
        }
        Kind::TopTracks | Kind::TopArtists => {
            let items =
                each(&v["items"], |i| if kind == Kind::TopTracks { compact_track(i) } else { compact_artist(i) });
            let what = if kind == Kind::TopTracks { "tracks" } else { "artists" };
            let text = format!("Top {what} ({}):{}", param(&query, "time_range").unwrap_or(""), names(&items));
            (items, v["total"].clone(), text)
        }
        Kind::FollowedArtists => {
            let artists = each(&v["artists"]["items"], compact_artist);
            let text = format!("Following {} artists:{}", v["artists"]["total"].as_u64().unwrap_or(0), names(&artists));
            (artists, v["artists"]["total"].clone(), text)
        }
    };
    let mut out = json!({"kind": kind.name(), "total": total, "items": items});
    if let Some(o) = param(&query, "offset") {
        out["offset"] = json!(o.parse::<u64>().unwrap_or(0));
    }
    if let Some(r) = param(&query, "time_range") {
        out["time_range"] = json!(r);
    }
    if let Some(next) = v["artists"]["cursors"]["after"].as_str() {
        out["after"] = json!(next);
    }
    Ok(ToolResult::ok(text, out))
}

async fn edit<P: Platform>(tb: &Toolbox<'_, P>, name: &str, args: &Value) -> Result<ToolResult, ToolResult> {
    check_known(args, if name == "remove_from_library" { &["uris", "confirm"] } else { &["uris"] })?;
    let list = uris(args)?;
    let (method, path) = match name {
        "save_to_library" => ("PUT", "/v1/me/library"),
        "remove_from_library" => ("DELETE", "/v1/me/library"),
        _ => ("GET", "/v1/me/library/contains"),
    };
    if name == "remove_from_library" {
        let question = format!("Remove {} item(s) from your Spotify library: {}?", list.len(), list.join(", "));
        crate::tools::confirm::gate(tb, name, args, &question).await?;
    }
    let mut session = tb.session().await?;
    let result = session.call(method, path, &[("uris", list.join(","))], None).await;
    tb.count(&session);
    let v = result.map_err(|e| errors::describe(tb, e))?;
    if name != "check_saved" {
        let verb = if name == "save_to_library" { "Saved" } else { "Removed" };
        return Ok(ToolResult::ok(format!("{verb} {} item(s).", list.len()), json!({"ok": true, "uris": list})));
    }
    let flags = v.as_array().cloned().unwrap_or_default();
    let items: Vec<Value> =
        list.iter().zip(flags.iter()).map(|(u, f)| json!({"uri": u, "saved": f.as_bool().unwrap_or(false)})).collect();
    let text = items
        .iter()
        .map(|i| {
            format!("{}: {}", i["uri"].as_str().unwrap_or(""), if i["saved"] == true { "saved" } else { "not saved" })
        })
        .collect::<Vec<_>>()
        .join("\n");
    Ok(ToolResult::ok(text, json!({"items": items})))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(r: Result<Listing, ToolResult>) -> String {
        match r {
            Err(e) => e.to_json()["content"][0]["text"].as_str().unwrap().to_string(),
            Ok(_) => panic!("accepted"),
        }
    }

    #[test]
    fn each_kind_lists_one_endpoint_with_its_arguments() {
        let top = listing(&json!({"kind": "top_artists", "limit": 3})).unwrap();
        assert_eq!(top.path, "/v1/me/top/artists");
        assert_eq!(param(&top.query, "time_range"), Some("medium_term"));
        assert_eq!(param(&top.query, "limit"), Some("3"));
        let followed =
            listing(&json!({"kind": "followed_artists", "after": "spotify:artist:1dfeR4HaWDbWqFHLkxsg1d"})).unwrap();
        assert_eq!(param(&followed.query, "after"), Some("1dfeR4HaWDbWqFHLkxsg1d"));
        assert_eq!(param(&followed.query, "type"), Some("artist"));
        let recent = listing(&json!({"kind": "recently_played"})).unwrap();
        assert_eq!((recent.path, param(&recent.query, "offset")), ("/v1/me/player/recently-played", None));
        for (args, needle) in [
            (json!({}), "kind is required"),
            (json!({"kind": "genres"}), "one of: saved_tracks"),
            (json!({"kind": "saved_tracks", "limit": 500}), "1 to 50"),
            (json!({"kind": "recently_played", "offset": 5}), "offset does not apply to kind recently_played"),
            (json!({"kind": "saved_albums", "time_range": "long_term"}), "time_range does not apply"),
            (json!({"kind": "top_tracks", "time_range": "forever"}), "short_term"),
            (json!({"kind": "followed_artists", "after": "not an id"}), "expected a Spotify artist"),
            (json!({"kind": "saved_tracks", "type": "tracks"}), "Unknown argument \"type\""),
        ] {
            let msg = refused(listing(&args));
            assert!(msg.contains(needle), "{args}: {msg}");
        }
    }

    #[test]
    fn each_kind_needs_only_its_scope() {
        for kind in Kind::ALL {
            assert_eq!(kind.scope().len(), 1, "{}", kind.name());
        }
        assert_eq!(Kind::TopTracks.scope(), ["user-top-read"]);
        assert_eq!(Kind::FollowedArtists.scope(), ["user-follow-read"]);
    }
}
