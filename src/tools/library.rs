//! Library and history: `get_library` lists saved tracks or albums, recently played, top
//! tracks or artists, followed artists; save/remove/check any item by URI (the February
//! 2026 `/me/library` endpoints). One Spotify call each.

use crate::core::platform::Platform;
use crate::mcp::model::ToolResult;
use crate::tools::search::compact_track;
use crate::tools::{arg_str, errors, ids, Toolbox};
use serde_json::{json, Value};

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

    fn parse(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }
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

/// `uris` (checked by the catalogue: 1 to 40 strings) as Spotify URIs.
fn uris(args: &Value) -> Result<Vec<String>, ToolResult> {
    let list = args["uris"].as_array().map(Vec::as_slice).unwrap_or_default();
    list.iter().map(|u| ids::uri(u.as_str().unwrap_or_default(), None, ids::KINDS).map_err(ToolResult::error)).collect()
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

/// The request of a `get_library` call (its arguments checked: the kind takes them all,
/// `limit` and `time_range` filled in when it takes them).
fn listing(args: &Value) -> Result<Listing, ToolResult> {
    let kind = Kind::parse(arg_str(args, "kind")).unwrap_or(Kind::SavedTracks);
    let mut query = vec![("limit", args["limit"].as_u64().unwrap_or(20).to_string())];
    if crate::tools::catalogue::find("get_library").is_some_and(|t| t.takes(kind.name(), "offset")) {
        query.push(("offset", args["offset"].as_u64().unwrap_or(0).to_string()));
    }
    let path = match kind {
        Kind::SavedTracks => "/v1/me/tracks",
        Kind::SavedAlbums => "/v1/me/albums",
        Kind::RecentlyPlayed => "/v1/me/player/recently-played",
        Kind::TopTracks | Kind::TopArtists => {
            query.push(("time_range", arg_str(args, "time_range").to_string()));
            if kind == Kind::TopTracks {
                "/v1/me/top/tracks"
            } else {
                "/v1/me/top/artists"
            }
        }
        Kind::FollowedArtists => {
            query.push(("type", "artist".into()));
            if let Some(after) = args["after"].as_str() {
                query.push(("after", ids::parse(after, Some("artist"), &["artist"]).map_err(ToolResult::error)?.1));
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

    fn listed(args: Value) -> Result<Listing, String> {
        let args = crate::tools::catalogue::find("get_library").unwrap().check(&args)?;
        listing(&args).map_err(|e| e.into_json()["content"][0]["text"].as_str().unwrap().to_string())
    }

    #[test]
    fn each_kind_lists_one_endpoint_with_its_arguments() {
        let top = listed(json!({"kind": "top_artists", "limit": 3})).unwrap();
        assert_eq!(top.path, "/v1/me/top/artists");
        assert_eq!(param(&top.query, "time_range"), Some("medium_term"));
        assert_eq!(param(&top.query, "limit"), Some("3"));
        let followed =
            listed(json!({"kind": "followed_artists", "after": "spotify:artist:1dfeR4HaWDbWqFHLkxsg1d"})).unwrap();
        assert_eq!(param(&followed.query, "after"), Some("1dfeR4HaWDbWqFHLkxsg1d"));
        assert_eq!(param(&followed.query, "type"), Some("artist"));
        let recent = listed(json!({"kind": "recently_played"})).unwrap();
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
            let msg = listed(args.clone()).err().unwrap_or_default();
            assert!(msg.contains(needle), "{args}: {msg}");
        }
    }

    #[test]
    fn every_kind_is_a_case_of_the_catalogue() {
        let modes = crate::tools::catalogue::find("get_library").unwrap().modes().unwrap();
        let names: Vec<&str> = modes.cases.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, Kind::ALL.map(Kind::name));
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
