//! Library and history: saved tracks and albums, save/remove/check any item by URI (the
//! February 2026 `/me/library` endpoints), recently played, top items, followed artists.
//! One Spotify call each.

use crate::core::platform::Platform;
use crate::mcp::model::ToolResult;
use crate::tools::search::compact_track;
use crate::tools::{check_known, errors, ids, object_schema, Toolbox};
use serde_json::{json, Value};

fn tool(name: &str, title: &str, description: &str, input: Value, read_only: bool, destructive: bool) -> Value {
    json!({"name": name, "title": title, "description": description, "inputSchema": input,
           "outputSchema": {"type": "object"},
           "annotations": {"title": title, "readOnlyHint": read_only, "destructiveHint": destructive, "idempotentHint": true, "openWorldHint": true}})
}

fn paging() -> Value {
    json!({"limit": {"type": "integer", "minimum": 1, "maximum": 50, "default": 20}, "offset": {"type": "integer", "minimum": 0, "default": 0}})
}

fn with(mut base: Value, extra: Value) -> Value {
    if let (Some(b), Some(e)) = (base.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    base
}

fn uris_prop() -> Value {
    json!({"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 40,
           "description": "Spotify URIs or open.spotify.com links of tracks, albums, artists, playlists, shows or episodes."})
}

pub fn definitions() -> Vec<Value> {
    let output = |props: Value, required: &[&str]| json!({"type": "object", "properties": props, "required": required});
    let mut defs = vec![
        tool("get_saved_tracks", "Liked songs", "List the user's saved (liked) tracks, newest first.", object_schema(paging(), &[]), true, false),
        tool("get_saved_albums", "Saved albums", "List the albums the user saved, newest first.", object_schema(paging(), &[]), true, false),
        tool(
            "save_to_library",
            "Save / follow",
            "Save items to the user's library: tracks (like), albums, shows, episodes; artists and playlists are followed. Up to 40 at once.",
            object_schema(json!({"uris": uris_prop()}), &["uris"]),
            false,
            false,
        ),
        tool(
            "remove_from_library",
            "Remove / unfollow",
            "Remove items from the user's library (unlike tracks, unsave albums, unfollow artists or playlists). Up to 40 at once.",
            object_schema(json!({"uris": uris_prop()}), &["uris"]),
            false,
            true,
        ),
        tool("check_saved", "Is it saved?", "Check whether items are in the user's library (liked, saved or followed).", object_schema(json!({"uris": uris_prop()}), &["uris"]), true, false),
        tool(
            "get_recently_played",
            "Recently played",
            "The tracks the user played most recently, newest first.",
            object_schema(json!({"limit": {"type": "integer", "minimum": 1, "maximum": 50, "default": 20}}), &[]),
            true,
            false,
        ),
        tool(
            "get_top_items",
            "Top tracks / artists",
            "The user's most played tracks or artists over a time range: short_term (about 4 weeks), medium_term (6 months, default), long_term (years).",
            object_schema(
                with(
                    paging(),
                    json!({"type": {"type": "string", "enum": ["tracks", "artists"]}, "time_range": {"type": "string", "enum": ["short_term", "medium_term", "long_term"], "default": "medium_term"}}),
                ),
                &["type"],
            ),
            true,
            false,
        ),
        tool(
            "get_followed_artists",
            "Followed artists",
            "List the artists the user follows.",
            object_schema(json!({"limit": {"type": "integer", "minimum": 1, "maximum": 50, "default": 20}}), &[]),
            true,
            false,
        ),
    ];
    let track_list = output(
        json!({"total": {"type": "integer"}, "tracks": {"type": "array", "items": {"type": "object"}}}),
        &["tracks"],
    );
    let album_list = output(
        json!({"total": {"type": "integer"}, "albums": {"type": "array", "items": {"type": "object"}}}),
        &["albums"],
    );
    let done = output(
        json!({"ok": {"type": "boolean"}, "uris": {"type": "array", "items": {"type": "string"}}}),
        &["ok", "uris"],
    );
    let checked = output(
        json!({"items": {"type": "array", "items": {"type": "object", "properties": {"uri": {"type": "string"}, "saved": {"type": "boolean"}}}}}),
        &["items"],
    );
    let top = output(
        json!({"type": {"type": "string"}, "time_range": {"type": "string"}, "total": {"type": "integer"}, "items": {"type": "array", "items": {"type": "object"}}}),
        &["items"],
    );
    let artists = output(
        json!({"total": {"type": "integer"}, "artists": {"type": "array", "items": {"type": "object"}}}),
        &["artists"],
    );
    for (d, o) in
        defs.iter_mut().zip([track_list.clone(), album_list, done.clone(), done, checked, track_list, top, artists])
    {
        d["outputSchema"] = o;
    }
    defs
}

pub fn compact_album(a: &Value) -> Value {
    json!({"id": a["id"], "uri": a["uri"], "name": a["name"],
           "artists": a["artists"].as_array().map(|x| x.iter().filter_map(|y| y["name"].as_str()).collect::<Vec<_>>()).unwrap_or_default(),
           "release_date": a["release_date"], "total_tracks": a["total_tracks"]})
}

pub fn compact_artist(a: &Value) -> Value {
    let mut out = json!({"id": a["id"], "uri": a["uri"], "name": a["name"]});
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

pub async fn call<P: Platform>(tb: &Toolbox<'_, P>, name: &str, args: &Value) -> Option<ToolResult> {
    let known: &[&str] = match name {
        "get_saved_tracks" | "get_saved_albums" => &["limit", "offset"],
        "save_to_library" | "remove_from_library" | "check_saved" => &["uris"],
        "get_recently_played" | "get_followed_artists" => &["limit"],
        "get_top_items" => &["type", "time_range", "limit", "offset"],
        _ => return None,
    };
    Some(match run(tb, name, args, known).await {
        Ok(r) | Err(r) => r,
    })
}

async fn run<P: Platform>(
    tb: &Toolbox<'_, P>,
    name: &str,
    args: &Value,
    known: &[&str],
) -> Result<ToolResult, ToolResult> {
    check_known(args, known)?;
    let (method, path, query): (&str, String, Vec<(&str, String)>) = match name {
        "get_saved_tracks" => (
            "GET",
            "/v1/me/tracks".into(),
            vec![("limit", limit(args, 20)?.to_string()), ("offset", offset(args)?.to_string())],
        ),
        "get_saved_albums" => (
            "GET",
            "/v1/me/albums".into(),
            vec![("limit", limit(args, 20)?.to_string()), ("offset", offset(args)?.to_string())],
        ),
        "save_to_library" => ("PUT", "/v1/me/library".into(), vec![("uris", uris(args)?.join(","))]),
        "remove_from_library" => ("DELETE", "/v1/me/library".into(), vec![("uris", uris(args)?.join(","))]),
        "check_saved" => ("GET", "/v1/me/library/contains".into(), vec![("uris", uris(args)?.join(","))]),
        "get_recently_played" => {
            ("GET", "/v1/me/player/recently-played".into(), vec![("limit", limit(args, 20)?.to_string())])
        }
        "get_followed_artists" => {
            ("GET", "/v1/me/following".into(), vec![("type", "artist".into()), ("limit", limit(args, 20)?.to_string())])
        }
        "get_top_items" => {
            let kind = match args.get("type").and_then(Value::as_str) {
                Some(k @ ("tracks" | "artists")) => k,
                _ => return Err(ToolResult::error("type must be \"tracks\" or \"artists\".")),
            };
            let range = match args.get("time_range").and_then(Value::as_str) {
                None => "medium_term",
                Some(r @ ("short_term" | "medium_term" | "long_term")) => r,
                Some(_) => return Err(ToolResult::error("time_range must be short_term, medium_term or long_term.")),
            };
            (
                "GET",
                format!("/v1/me/top/{kind}"),
                vec![
                    ("time_range", range.into()),
                    ("limit", limit(args, 10)?.to_string()),
                    ("offset", offset(args)?.to_string()),
                ],
            )
        }
        _ => return Err(ToolResult::error("unknown tool")),
    };
    let mut session = tb.session().await?;
    let result = session.call(method, &path, &query, None).await;
    tb.count(&session);
    let v = result.map_err(|e| errors::describe(tb.ctx, &tb.principal.uk, e))?;
    let total = v["total"].as_u64();
    Ok(match name {
        "get_saved_tracks" => {
            let tracks: Vec<Value> = each(&v["items"], |i| compact_track(&i["track"]));
            ToolResult::ok(
                format!("{} of {} liked songs:{}", tracks.len(), total.unwrap_or(0), names(&tracks)),
                json!({"total": total, "tracks": tracks}),
            )
        }
        "get_saved_albums" => {
            let albums: Vec<Value> = each(&v["items"], |i| compact_album(&i["album"]));
            ToolResult::ok(
                format!("{} of {} saved albums:{}", albums.len(), total.unwrap_or(0), names(&albums)),
                json!({"total": total, "albums": albums}),
            )
        }
        "save_to_library" | "remove_from_library" => {
            let list: Vec<String> = query[0].1.split(',').map(str::to_string).collect();
            let verb = if name == "save_to_library" { "Saved" } else { "Removed" };
            ToolResult::ok(format!("{verb} {} item(s).", list.len()), json!({"ok": true, "uris": list}))
        }
        "check_saved" => {
            let list: Vec<&str> = query[0].1.split(',').collect();
            let flags = v.as_array().cloned().unwrap_or_default();
            let items: Vec<Value> = list
                .iter()
                .zip(flags.iter())
                .map(|(u, f)| json!({"uri": u, "saved": f.as_bool().unwrap_or(false)}))
                .collect();
            let text = items
                .iter()
                .map(|i| {
                    format!(
                        "{}: {}",
                        i["uri"].as_str().unwrap_or(""),
                        if i["saved"] == true { "saved" } else { "not saved" }
                    )
                })
                .collect::<Vec<_>>()
                .join("\n");
            ToolResult::ok(text, json!({"items": items}))
        }
        "get_recently_played" => {
            let tracks: Vec<Value> = each(&v["items"], |i| compact_track(&i["track"]));
            ToolResult::ok(format!("Recently played:{}", names(&tracks)), json!({"tracks": tracks}))
        }
        "get_followed_artists" => {
            let artists: Vec<Value> = each(&v["artists"]["items"], compact_artist);
            ToolResult::ok(
                format!("Following {} artists:{}", artists.len(), names(&artists)),
                json!({"total": v["artists"]["total"], "artists": artists}),
            )
        }
        _ => {
            let kind = if path.ends_with("tracks") { "tracks" } else { "artists" };
            let items: Vec<Value> = v["items"]
                .as_array()
                .map(|a| {
                    a.iter().map(|i| if kind == "tracks" { compact_track(i) } else { compact_artist(i) }).collect()
                })
                .unwrap_or_default();
            ToolResult::ok(
                format!("Top {kind} ({}):{}", query[0].1, names(&items)),
                json!({"type": kind, "time_range": query[0].1, "total": total, "items": items}),
            )
        }
    })
}
