//! Catalogue details (track, album with its tracks, artist with albums, show with episodes,
//! episode) and a search over every item type. One Spotify call each, except get_artist:
//! two (the artist, then their albums: no single endpoint gives both).

use crate::core::platform::Platform;
use crate::mcp::model::ToolResult;
use crate::tools::library::{compact_album, compact_artist};
use crate::tools::search::{compact_track, parse_query, SearchQuery, MAX_LIMIT};
use crate::tools::{check_known, errors, ids, object_schema, Toolbox};
use serde_json::{json, Value};

const TYPES: &[&str] = &["track", "album", "artist", "playlist", "show", "episode"];

fn item_tool(name: &str, title: &str, kind: &str, description: &str) -> Value {
    json!({"name": name, "title": title, "description": description,
           "inputSchema": object_schema(json!({kind: {"type": "string", "description": format!("{kind} URI, open.spotify.com link or id")}}), &[kind]),
           "outputSchema": {"type": "object", "properties": {"id": {"type": "string"}, "uri": {"type": "string"}, "name": {"type": "string"}}, "required": ["id", "uri", "name"]},
           "annotations": {"title": title, "readOnlyHint": true, "destructiveHint": false, "idempotentHint": true, "openWorldHint": true}})
}

pub fn definitions() -> Vec<Value> {
    vec![
        json!({
            "name": "search",
            "title": "Search Spotify",
            "description": "Search Spotify for tracks, albums, artists, playlists, shows or episodes (several types at once). At most 10 results per type; page with offset. For tracks only, search_tracks gives the same with fewer arguments.",
            "inputSchema": object_schema(json!({
                "query": {"type": "string", "minLength": 1, "maxLength": 500},
                "types": {"type": "array", "items": {"type": "string", "enum": TYPES}, "minItems": 1, "uniqueItems": true, "default": ["track"]},
                "limit": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 5},
                "offset": {"type": "integer", "minimum": 0, "maximum": 1000, "default": 0},
                "market": {"type": "string", "pattern": "^[A-Z]{2}$"}
            }), &["query"]),
            "outputSchema": {"type": "object", "properties": {"query": {"type": "string"}, "results": {"type": "object"}, "note": {"type": "string"}}, "required": ["query", "results"]},
            "annotations": {"title": "Search Spotify", "readOnlyHint": true, "destructiveHint": false, "idempotentHint": true, "openWorldHint": true}
        }),
        item_tool("get_track", "Track details", "track", "A track's details: name, artists, album, duration, explicit flag."),
        item_tool("get_album", "Album details", "album", "An album's details with its track list (zero-based positions, for play with offset)."),
        item_tool("get_artist", "Artist details", "artist", "An artist's details, genres and albums. (Spotify no longer offers related artists or artist top tracks to apps like this one.)"),
        item_tool("get_show", "Podcast details", "show", "A podcast show's details and its latest episodes."),
        item_tool("get_episode", "Episode details", "episode", "A podcast episode's details."),
    ]
}

fn compact_episode(e: &Value) -> Value {
    json!({"id": e["id"], "uri": e["uri"], "name": e["name"], "duration_ms": e["duration_ms"], "release_date": e["release_date"], "show": e["show"]["name"]})
}

fn compact_show(s: &Value) -> Value {
    json!({"id": s["id"], "uri": s["uri"], "name": s["name"], "total_episodes": s["total_episodes"]})
}

fn compact_playlist(p: &Value) -> Value {
    json!({"id": p["id"], "uri": p["uri"], "name": p["name"], "owner": p["owner"]["display_name"]})
}

/// The compact form of any catalogue item (what tools and resources return).
pub fn compact_item(kind: &str, v: &Value) -> Value {
    match kind {
        "track" => compact_track(v),
        "album" => compact_album(v),
        "artist" => compact_artist(v),
        "show" => compact_show(v),
        "episode" => compact_episode(v),
        _ => compact_playlist(v),
    }
}

pub async fn call<P: Platform>(tb: &Toolbox<'_, P>, name: &str, args: &Value) -> Option<ToolResult> {
    let kind = match name {
        "search" => "",
        "get_track" => "track",
        "get_album" => "album",
        "get_artist" => "artist",
        "get_show" => "show",
        "get_episode" => "episode",
        _ => return None,
    };
    Some(match if kind.is_empty() { search(tb, args).await } else { details(tb, kind, args).await } {
        Ok(r) | Err(r) => r,
    })
}

async fn search<P: Platform>(tb: &Toolbox<'_, P>, args: &Value) -> Result<ToolResult, ToolResult> {
    check_known(args, &["query", "types", "limit", "offset", "market"])?;
    let types: Vec<String> = match args.get("types") {
        None | Some(Value::Null) => vec!["track".into()],
        Some(Value::Array(list)) if !list.is_empty() => {
            let mut out = Vec::new();
            for t in list {
                match t.as_str() {
                    Some(t) if TYPES.contains(&t) && !out.iter().any(|o: &String| o == t) => out.push(t.to_string()),
                    _ => return Err(ToolResult::error(format!("types must list some of: {}.", TYPES.join(", ")))),
                }
            }
            out
        }
        _ => return Err(ToolResult::error(format!("types must list some of: {}.", TYPES.join(", ")))),
    };
    let SearchQuery { query, limit, offset, params: query_params, note } = parse_query(args, &types.join(","))?;
    let mut session = tb.session().await?;
    let result = session.call("GET", "/v1/search", &query_params, None).await;
    tb.count(&session);
    let v = result.map_err(|e| errors::describe(tb.ctx, &tb.principal.uk, e))?;
    let mut results = json!({});
    let mut text = String::new();
    for t in &types {
        let page = &v[format!("{t}s")];
        let items: Vec<Value> = page["items"]
            .as_array()
            .map(|a| a.iter().filter(|x| x.is_object()).map(|x| compact_item(t, x)).collect())
            .unwrap_or_default();
        text.push_str(&format!("{}s ({} total):", t, page["total"].as_u64().unwrap_or(0)));
        for it in &items {
            text.push_str(&format!("\n- {} {}", it["name"].as_str().unwrap_or("?"), it["uri"].as_str().unwrap_or("")));
        }
        text.push('\n');
        results[format!("{t}s")] = json!({"total": page["total"], "items": items});
    }
    let mut out = json!({"query": query, "offset": offset, "limit": limit, "results": results});
    if let Some(n) = note {
        text.push_str(&format!("Note: {n}"));
        out["note"] = json!(n);
    }
    Ok(ToolResult::ok(text.trim_end().to_string(), out))
}

async fn details<P: Platform>(tb: &Toolbox<'_, P>, kind: &str, args: &Value) -> Result<ToolResult, ToolResult> {
    check_known(args, &[kind])?;
    let raw = args
        .get(kind)
        .and_then(Value::as_str)
        .ok_or_else(|| ToolResult::error(format!("{kind} is required: a URI, link or id.")))?;
    let (_, id) = ids::parse(raw, Some(kind), &[kind]).map_err(ToolResult::error)?;
    let mut session = tb.session().await?;
    let not_found = |e| match e {
        crate::spotify::session::SessionError::Spotify(crate::spotify::SpotifyError::NotFound { .. }) => {
            ToolResult::error(format!("Spotify has no {kind} with id {id}."))
        }
        other => errors::describe(tb.ctx, &tb.principal.uk, other),
    };
    let result = session.call("GET", &format!("/v1/{kind}s/{id}"), &[], None).await;
    let v = match result {
        Ok(v) => v,
        Err(e) => {
            tb.count(&session);
            return Err(not_found(e));
        }
    };
    let mut out = compact_item(kind, &v);
    let mut text = format!("{} {}", out["name"].as_str().unwrap_or("?"), out["uri"].as_str().unwrap_or(""));
    match kind {
        "album" => {
            let tracks: Vec<Value> = v["tracks"]["items"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|t| json!({"uri": t["uri"], "name": t["name"], "duration_ms": t["duration_ms"]}))
                        .collect()
                })
                .unwrap_or_default();
            for (i, t) in tracks.iter().enumerate() {
                text.push_str(&format!("\n{i}. {}", t["name"].as_str().unwrap_or("?")));
            }
            out["tracks"] = json!(tracks);
        }
        "artist" => {
            let albums =
                session.call("GET", &format!("/v1/artists/{id}/albums"), &[("limit", "10".to_string())], None).await;
            if let Ok(a) = albums {
                let list: Vec<Value> =
                    a["items"].as_array().map(|x| x.iter().map(compact_album).collect()).unwrap_or_default();
                for al in &list {
                    text.push_str(&format!(
                        "\n- {} ({})",
                        al["name"].as_str().unwrap_or("?"),
                        al["release_date"].as_str().unwrap_or("")
                    ));
                }
                out["albums"] = json!(list);
            }
        }
        "show" => {
            let eps: Vec<Value> = v["episodes"]["items"]
                .as_array()
                .map(|a| a.iter().take(10).map(compact_episode).collect())
                .unwrap_or_default();
            for e in &eps {
                text.push_str(&format!(
                    "\n- {} {}",
                    e["name"].as_str().unwrap_or("?"),
                    e["uri"].as_str().unwrap_or("")
                ));
            }
            out["episodes"] = json!(eps);
        }
        _ => {}
    }
    tb.count(&session);
    Ok(ToolResult::ok(text, out))
}
