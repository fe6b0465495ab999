//! Playlists on the February 2026 endpoints: list mine, read one with its items (paged),
//! create, change details, and `edit_playlist_items` (add, remove, reorder, replace).
//! Positions are zero-based.
//! One Spotify call each.

use crate::core::platform::Platform;
use crate::mcp::model::ToolResult;
use crate::tools::search::compact_track;
use crate::tools::{arg_str, errors, ids, Toolbox};
use serde_json::{json, Value};

pub fn compact_playlist(p: &Value) -> Value {
    crate::tools::with_cover(
        json!({"id": p["id"], "uri": p["uri"], "name": p["name"], "owner": p["owner"]["display_name"].as_str().or(p["owner"]["id"].as_str()),
           "public": p["public"], "collaborative": p["collaborative"], "items": p["items"]["total"].as_u64().or(p["tracks"]["total"].as_u64())}),
        &p["images"],
    )
}

pub fn compact_item(entry: &Value) -> Value {
    let item = if entry["item"].is_object() { &entry["item"] } else { &entry["track"] };
    if item["type"] == "episode" {
        json!({"id": item["id"], "uri": item["uri"], "name": item["name"], "show": item["show"]["name"], "duration_ms": item["duration_ms"]})
    } else {
        compact_track(item)
    }
}

/// `uris` (checked by the catalogue: a list of strings, as many as the action allows) as
/// track or episode URIs.
fn item_uris(args: &Value) -> Result<Vec<String>, ToolResult> {
    let list = args["uris"].as_array().map(Vec::as_slice).unwrap_or_default();
    list.iter()
        .map(|u| {
            ids::uri(u.as_str().unwrap_or_default(), Some("track"), &["track", "episode"]).map_err(ToolResult::error)
        })
        .collect()
}

/// The request body of `edit_playlist_items` (its arguments checked: the action takes them
/// and has what it needs): the method on `/v1/playlists/{id}/items` and its body.
fn edit(args: &Value) -> Result<(&'static str, Value), ToolResult> {
    Ok(match arg_str(args, "action") {
        "add" => {
            let mut b = json!({"uris": item_uris(args)?});
            if let Some(p) = args["position"].as_u64() {
                b["position"] = json!(p);
            }
            ("POST", b)
        }
        "remove" => {
            let items: Vec<Value> = item_uris(args)?.into_iter().map(|u| json!({"uri": u})).collect();
            ("DELETE", json!({"items": items}))
        }
        "replace" => ("PUT", json!({"uris": item_uris(args)?})),
        _ => (
            "PUT",
            json!({"range_start": args["range_start"], "insert_before": args["insert_before"], "range_length": args["range_length"]}),
        ),
    })
}

pub async fn call<P: Platform>(tb: &Toolbox<'_, P>, name: &str, args: &Value) -> Option<ToolResult> {
    if !matches!(
        name,
        "get_my_playlists" | "get_playlist" | "create_playlist" | "update_playlist" | "edit_playlist_items"
    ) {
        return None;
    }
    Some(match run(tb, name, args).await {
        Ok(r) | Err(r) => r,
    })
}

async fn run<P: Platform>(tb: &Toolbox<'_, P>, name: &str, args: &Value) -> Result<ToolResult, ToolResult> {
    let id = match args["playlist"].as_str() {
        None => String::new(),
        Some(raw) => ids::parse(raw, Some("playlist"), &["playlist"]).map_err(ToolResult::error)?.1,
    };
    let limit = args["limit"].as_u64().unwrap_or(20);
    let offset = args["offset"].as_u64().unwrap_or(0);
    let mut query: Vec<(&str, String)> = Vec::new();
    let (method, path, body): (&str, String, Option<Value>) = match name {
        "get_my_playlists" => {
            query.push(("limit", limit.to_string()));
            query.push(("offset", offset.to_string()));
            ("GET", "/v1/me/playlists".into(), None)
        }
        "get_playlist" => {
            query.push(("limit", limit.to_string()));
            query.push(("offset", offset.to_string()));
            // The first page comes with the playlist's details; later pages from /items.
            if offset == 0 {
                query.clear();
                ("GET", format!("/v1/playlists/{id}"), None)
            } else {
                ("GET", format!("/v1/playlists/{id}/items"), None)
            }
        }
        "create_playlist" => {
            let n = arg_str(args, "name").trim();
            if n.is_empty() {
                return Err(ToolResult::error("name is required (1 to 100 characters)."));
            }
            let mut b = json!({"name": n, "public": args["public"]});
            if let Some(d) = args["description"].as_str() {
                b["description"] = json!(d);
            }
            ("POST", "/v1/me/playlists".into(), Some(b))
        }
        "update_playlist" => {
            let mut b = args.clone();
            if let Some(o) = b.as_object_mut() {
                crate::json::retain(o, &mut |k, _| k != "playlist");
            }
            if b.as_object().is_none_or(|o| o.is_empty()) {
                return Err(ToolResult::error("give at least one of name, description, public, collaborative."));
            }
            ("PUT", format!("/v1/playlists/{id}"), Some(b))
        }
        "edit_playlist_items" => {
            let (method, body) = edit(args)?;
            (method, format!("/v1/playlists/{id}/items"), Some(body))
        }
        _ => return Err(ToolResult::error("unknown tool")),
    };
    let mut session = tb.session().await?;
    let action = args.get("action").and_then(Value::as_str).unwrap_or("");
    if name == "edit_playlist_items" && matches!(action, "replace" | "remove") {
        let n = args["uris"].as_array().map_or(0, Vec::len);
        let question = if crate::tools::confirm::needs_question(tb, args) {
            // Name the playlist and its size, so the person knows what they agree to.
            let about = session.call("GET", &format!("/v1/playlists/{id}"), &[], None).await;
            let p = about.as_ref().map(compact_playlist).unwrap_or(Value::Null);
            let title = p["name"].as_str().map_or_else(|| format!("playlist {id}"), |n| format!("'{n}'"));
            let total = p["items"].as_u64().map_or_else(|| "the".to_string(), |t| t.to_string());
            if action == "replace" {
                format!("Replace all {total} items of {title} with {n} item(s)?")
            } else {
                format!("Remove {n} item(s) (every occurrence) from {title} ({total} items)?")
            }
        } else {
            String::new()
        };
        if let Err(answer) = crate::tools::confirm::gate(tb, name, args, &question).await {
            tb.count(&session);
            return Err(answer);
        }
    }
    let result = session.call(method, &path, &query, body.as_ref()).await;
    tb.count(&session);
    let v = result.map_err(|e| match e {
        crate::spotify::session::SessionError::Spotify(crate::spotify::SpotifyError::Forbidden { .. }) if name != "get_my_playlists" => ToolResult::error(
            "Spotify refused: apps in Development Mode can read and change only playlists the user owns or collaborates on.",
        ),
        crate::spotify::session::SessionError::Spotify(crate::spotify::SpotifyError::NotFound { .. }) => {
            ToolResult::error(format!("No playlist with id {id}: check it with get_my_playlists."))
        }
        other => errors::describe(tb, other),
    })?;
    Ok(match name {
        "get_my_playlists" => {
            let lists: Vec<Value> =
                v["items"].as_array().map(|a| a.iter().map(compact_playlist).collect()).unwrap_or_default();
            let text = lists
                .iter()
                .map(|p| {
                    format!(
                        "{} ({} items) {}",
                        p["name"].as_str().unwrap_or("?"),
                        crate::json::text(&p["items"]),
                        p["uri"].as_str().unwrap_or("")
                    )
                })
                .collect::<Vec<_>>()
                .join("\n");
            ToolResult::ok(
                if text.is_empty() { "No playlists yet.".to_string() } else { text },
                json!({"total": v["total"], "playlists": lists}),
            )
        }
        "get_playlist" => {
            let (details, page) = if path.ends_with("/items") { (None, &v) } else { (Some(&v), &v["items"]) };
            if page.is_null() {
                return Err(ToolResult::error(format!(
                    "Spotify shows the items of \"{}\" only to its owner: apps in Development Mode can read items only of playlists the user owns or collaborates on.",
                    v["name"].as_str().unwrap_or("this playlist")
                )));
            }
            let items: Vec<Value> = page["items"]
                .as_array()
                .map(|a| a.iter().take(limit as usize).map(compact_item).collect())
                .unwrap_or_default();
            let offset = page["offset"].as_u64().unwrap_or(0);
            let name = details.and_then(|d| d["name"].as_str()).map(str::to_string);
            let mut text =
                format!("{} — {} items", name.clone().unwrap_or_else(|| id.clone()), crate::json::text(&page["total"]));
            for (i, it) in items.iter().enumerate() {
                text.push_str(&format!(
                    "\n{}. {} {}",
                    offset as usize + i,
                    it["name"].as_str().unwrap_or("?"),
                    it["uri"].as_str().unwrap_or("")
                ));
            }
            ToolResult::ok(
                text,
                json!({"id": id, "name": name, "owner": details.and_then(|d| d["owner"]["id"].as_str()), "total": page["total"], "offset": offset, "items": items}),
            )
        }
        "create_playlist" => ToolResult::ok(
            format!("Created playlist \"{}\": {}", v["name"].as_str().unwrap_or(""), v["uri"].as_str().unwrap_or("")),
            json!({"id": v["id"], "uri": v["uri"], "name": v["name"], "url": v["external_urls"]["spotify"]}),
        ),
        "update_playlist" => ToolResult::ok(
            "Playlist details changed.",
            json!({"ok": true, "playlist_id": id, "snapshot_id": v["snapshot_id"]}),
        ),
        _ => ToolResult::ok(
            format!("Done: {} items of the playlist.", args["action"].as_str().unwrap_or("edit")),
            json!({"ok": true, "playlist_id": id, "snapshot_id": v["snapshot_id"]}),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edited(args: Value) -> Result<(&'static str, Value), String> {
        let args = crate::tools::catalogue::find("edit_playlist_items").unwrap().check(&args)?;
        edit(&args).map_err(|e| e.into_json()["content"][0]["text"].as_str().unwrap().to_string())
    }

    #[test]
    fn each_action_takes_its_arguments() {
        let p = "37i9dQZF1DXcBWIGoYBM5M";
        let add = edited(json!({"playlist": p, "action": "add", "uris": ["4u7EnebtmKWzUH433cf5Qv"], "position": 0}));
        assert_eq!(add.unwrap(), ("POST", json!({"uris": ["spotify:track:4u7EnebtmKWzUH433cf5Qv"], "position": 0})));
        let clear = edited(json!({"playlist": p, "action": "replace", "uris": []})).unwrap();
        assert_eq!(clear, ("PUT", json!({"uris": []})));
        let moved = edited(json!({"playlist": p, "action": "reorder", "range_start": 3, "insert_before": 0})).unwrap();
        assert_eq!(moved, ("PUT", json!({"range_start": 3, "insert_before": 0, "range_length": 1})));
        let removed =
            edited(json!({"playlist": p, "action": "remove", "uris": ["spotify:episode:512ojhOuo1ktJprKbVcKyQ"]}));
        assert_eq!(removed.unwrap(), ("DELETE", json!({"items": [{"uri": "spotify:episode:512ojhOuo1ktJprKbVcKyQ"}]})));
        for (args, needle) in [
            (json!({"playlist": p}), "action is required"),
            (json!({"playlist": p, "action": "clear"}), "one of: add, remove"),
            (json!({"playlist": p, "action": "add"}), "action add needs uris"),
            (json!({"playlist": p, "action": "add", "uris": []}), "1 to 100"),
            (json!({"playlist": p, "action": "replace"}), "action replace needs uris"),
            (json!({"playlist": p, "action": "reorder", "range_start": 0}), "action reorder needs insert_before"),
            (json!({"playlist": p, "action": "remove", "uris": ["x"], "position": 1}), "position does not apply"),
            (json!({"playlist": p, "action": "add", "uris": ["x"]}), "expected a Spotify track"),
        ] {
            let msg = edited(args.clone()).err().unwrap_or_default();
            assert!(msg.contains(needle), "{args}: {msg}");
        }
    }
}
