//! `get_item`: catalogue details by URI (track, album with its tracks, artist with albums,
//! show with episodes, episode), and `search` over every item type. One Spotify call each,
//! except an artist: two (the artist, then their albums: no single endpoint gives both).

use crate::core::platform::Platform;
use crate::mcp::model::ToolResult;
use crate::tools::library::{compact_album, compact_artist};
use crate::tools::search::{compact_track, parse_query, SearchQuery};
use crate::tools::{arg_str, errors, ids, Toolbox};
use serde_json::{json, Value};

/// What `get_item` opens (playlists have their own tool, under the playlists capability).
const ITEM_KINDS: &[&str] = &["track", "album", "artist", "show", "episode"];

fn compact_episode(e: &Value) -> Value {
    crate::tools::with_cover(
        json!({"id": e["id"], "uri": e["uri"], "name": e["name"], "duration_ms": e["duration_ms"], "release_date": e["release_date"], "show": e["show"]["name"]}),
        &e["images"],
    )
}

fn compact_show(s: &Value) -> Value {
    crate::tools::with_cover(
        json!({"id": s["id"], "uri": s["uri"], "name": s["name"], "total_episodes": s["total_episodes"]}),
        &s["images"],
    )
}

fn compact_playlist(p: &Value) -> Value {
    crate::tools::with_cover(
        json!({"id": p["id"], "uri": p["uri"], "name": p["name"], "owner": p["owner"]["display_name"]}),
        &p["images"],
    )
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
    let result = match name {
        "search" => search(tb, args).await,
        "get_item" => get_item(tb, args).await,
        _ => return None,
    };
    Some(match result {
        Ok(r) | Err(r) => r,
    })
}

/// The `(kind, id)` that `get_item`'s `uri` and optional `type` name.
fn item_ref(args: &Value) -> Result<(String, String), ToolResult> {
    let raw = arg_str(args, "uri").trim();
    let hint = args["type"].as_str();
    let bare = !raw.starts_with("spotify:") && !raw.starts_with("http://") && !raw.starts_with("https://");
    if bare && hint.is_none() {
        return Err(ToolResult::error(format!(
            "{raw:?} is a bare id, which does not say what it is: add type ({}), or pass a spotify: URI or open.spotify.com link.",
            ITEM_KINDS.join(", ")
        )));
    }
    let (kind, id) = ids::parse(raw, hint, ids::KINDS).map_err(ToolResult::error)?;
    if kind == "playlist" {
        return Err(ToolResult::error("get_item does not open playlists: use get_playlist."));
    }
    if let Some(h) = hint.filter(|h| *h != kind) {
        return Err(ToolResult::error(format!("uri names a {kind}, but type says {h}.")));
    }
    Ok((kind, id))
}

async fn search<P: Platform>(tb: &Toolbox<'_, P>, args: &Value) -> Result<ToolResult, ToolResult> {
    let mut types: Vec<&str> = Vec::new();
    for t in args["types"].as_array().into_iter().flatten().filter_map(Value::as_str) {
        if !types.contains(&t) {
            types.push(t);
        }
    }
    if types.is_empty() {
        types.push("track");
    }
    let SearchQuery { query, limit, offset, params: query_params, note } = parse_query(args, &types.join(","))?;
    let mut session = tb.session().await?;
    let result = session.call("GET", "/v1/search", &query_params, None).await;
    tb.count(&session);
    let v = result.map_err(|e| errors::describe(tb, e))?;
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

async fn get_item<P: Platform>(tb: &Toolbox<'_, P>, args: &Value) -> Result<ToolResult, ToolResult> {
    let (kind, id) = item_ref(args)?;
    let kind = kind.as_str();
    let mut session = tb.session().await?;
    let not_found = |e| match e {
        crate::spotify::session::SessionError::Spotify(crate::spotify::SpotifyError::NotFound { .. }) => {
            ToolResult::error(format!("Spotify has no {kind} with id {id}."))
        }
        other => errors::describe(tb, other),
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
    out["type"] = json!(kind);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(args: Value) -> String {
        let checked = crate::tools::catalogue::find("get_item").unwrap().check(&args);
        match checked.map(|a| item_ref(&a)) {
            Err(e) => e,
            Ok(Err(e)) => e.into_json()["content"][0]["text"].as_str().unwrap().to_string(),
            Ok(Ok(r)) => panic!("accepted {r:?}"),
        }
    }

    #[test]
    fn the_kind_comes_from_the_uri_or_the_type_hint() {
        let want = |k: &str| Ok::<_, ()>((k.to_string(), "6i6folBtxKV28WX3msQ4FE".to_string()));
        let ok = |args: Value| item_ref(&args).map_err(|_| ());
        assert_eq!(ok(json!({"uri": "spotify:album:6i6folBtxKV28WX3msQ4FE"})), want("album"));
        assert_eq!(ok(json!({"uri": "https://open.spotify.com/show/6i6folBtxKV28WX3msQ4FE?si=x"})), want("show"));
        assert_eq!(ok(json!({"uri": "6i6folBtxKV28WX3msQ4FE", "type": "artist"})), want("artist"));
        assert_eq!(ok(json!({"uri": "spotify:episode:6i6folBtxKV28WX3msQ4FE", "type": "episode"})), want("episode"));
        assert!(refused(json!({"uri": "6i6folBtxKV28WX3msQ4FE"})).contains("bare id"));
        assert!(refused(json!({"uri": "spotify:track:6i6folBtxKV28WX3msQ4FE", "type": "album"}))
            .contains("type says album"));
        assert!(refused(json!({"uri": "spotify:playlist:6i6folBtxKV28WX3msQ4FE"})).contains("get_playlist"));
        assert!(refused(json!({"uri": "x", "type": "genre"})).contains("it must be one of: track, album"));
        assert!(refused(json!({"uri": " ", "type": "track"})).contains("expected a Spotify"));
        assert!(refused(json!({})).contains("uri is required"));
        assert!(
            refused(json!({"uri": "spotify:track:6i6folBtxKV28WX3msQ4FE", "album": "x"})).contains("Unknown argument")
        );
    }
}
