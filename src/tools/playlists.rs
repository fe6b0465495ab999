//! Playlists on the February 2026 endpoints: list mine, read one with its items (paged),
//! create, change details, and `edit_playlist_items` (add, remove, reorder, replace).
//! Positions are zero-based.
//! One Spotify call each.

use crate::core::platform::Platform;
use crate::mcp::model::ToolResult;
use crate::tools::search::compact_track;
use crate::tools::{check_applies, check_known, errors, ids, mode, object_schema, output, tool, Toolbox, READS};
use serde_json::{json, Value};

fn playlist_prop() -> Value {
    json!({"type": "string"})
}

/// What `edit_playlist_items` does: each action and the arguments it takes.
const ACTIONS: &[(&str, &[&str])] = &[
    ("add", &["playlist", "uris", "position"]),
    ("remove", &["playlist", "uris", "confirm"]),
    ("reorder", &["playlist", "range_start", "insert_before", "range_length"]),
    ("replace", &["playlist", "uris", "confirm"]),
];

pub fn definitions() -> Vec<Value> {
    let changed = output(
        json!({"ok": {"type": "boolean"}, "playlist_id": {"type": "string"}, "snapshot_id": {"type": ["string", "null"]}}),
        &["ok", "playlist_id"],
    );
    let paging = |mut props: Value| {
        props["limit"] = json!({"type": "integer", "minimum": 1, "maximum": 50, "default": 20});
        props["offset"] = json!({"type": "integer", "minimum": 0});
        props
    };
    let list = json!({"type": "array"});
    vec![
        tool(
            "get_my_playlists",
            "My playlists",
            "The playlists the user owns or follows, with ids and item counts.",
            object_schema(paging(json!({})), &[]),
            output(json!({"total": {"type": "integer"}, "playlists": list}), &["playlists"]),
            READS,
        ),
        tool(
            "get_playlist",
            "Open playlist",
            "A playlist's details and items (paged, zero-based); Spotify shows items only if the user owns or collaborates on it.",
            object_schema(paging(json!({"playlist": playlist_prop()})), &["playlist"]),
            output(
                json!({"id": {"type": "string"}, "name": {"type": ["string", "null"]}, "owner": {"type": ["string", "null"]},
                       "total": {"type": "integer"}, "offset": {"type": "integer"}, "items": list}),
                &["id", "items"],
            ),
            READS,
        ),
        tool(
            "create_playlist",
            "Create playlist",
            "Create a playlist (private unless public is true); fill it with edit_playlist_items.",
            object_schema(
                json!({"name": {"type": "string", "minLength": 1, "maxLength": 100}, "description": {"type": "string", "maxLength": 300}, "public": {"type": "boolean", "default": false}}),
                &["name"],
            ),
            output(json!({"id": {"type": "string"}, "uri": {"type": "string"}, "name": {"type": "string"}, "url": {"type": "string"}}), &["id", "uri"]),
            [false, false, false],
        ),
        tool(
            "update_playlist",
            "Edit playlist details",
            "Change a playlist's name, description, public or collaborative setting.",
            object_schema(
                json!({"playlist": playlist_prop(), "name": {"type": "string", "minLength": 1, "maxLength": 100}, "description": {"type": "string", "maxLength": 300}, "public": {"type": "boolean"}, "collaborative": {"type": "boolean"}}),
                &["playlist"],
            ),
            changed.clone(),
            [false, false, true],
        ),
        tool(
            "edit_playlist_items",
            "Edit playlist items",
            "add uris (at position, default the end); remove uris (all occurrences); reorder: move range_length items at range_start to before insert_before; replace all with uris ([] clears). Zero-based.",
            object_schema(
                json!({
                    "playlist": playlist_prop(),
                    "action": {"type": "string", "enum": ACTIONS.iter().map(|(a, _)| *a).collect::<Vec<_>>()},
                    "uris": {"type": "array", "items": {"type": "string"}, "maxItems": 100},
                    "position": {"type": "integer", "minimum": 0},
                    "range_start": {"type": "integer", "minimum": 0},
                    "insert_before": {"type": "integer", "minimum": 0},
                    "range_length": {"type": "integer", "minimum": 1, "default": 1},
                    "confirm": crate::tools::confirm::confirm_prop()
                }),
                &["playlist", "action"],
            ),
            changed,
            [false, true, false],
        ),
    ]
}

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

fn int(args: &Value, key: &str, default: Option<u64>, max: u64) -> Result<u64, ToolResult> {
    match args.get(key) {
        None | Some(Value::Null) => default.ok_or_else(|| ToolResult::error(format!("{key} is required."))),
        Some(v) => v
            .as_u64()
            .filter(|n| *n <= max)
            .ok_or_else(|| ToolResult::error(format!("{key} must be an integer from 0 to {max}."))),
    }
}

fn item_uris(args: &Value, min: usize) -> Result<Vec<String>, ToolResult> {
    let Some(list) = args.get("uris").and_then(Value::as_array).filter(|l| l.len() >= min && l.len() <= 100) else {
        return Err(ToolResult::error(format!("uris must be a list of {min} to 100 track or episode URIs.")));
    };
    list.iter()
        .map(|u| {
            u.as_str()
                .ok_or_else(|| ToolResult::error("uris must contain strings."))
                .and_then(|s| ids::uri(s, Some("track"), &["track", "episode"]).map_err(ToolResult::error))
        })
        .collect()
}

/// The request body of `edit_playlist_items` (after `check_known`): the method on
/// `/v1/playlists/{id}/items` and its body.
fn edit(args: &Value) -> Result<(&'static str, Value), ToolResult> {
    let actions: Vec<&str> = ACTIONS.iter().map(|(a, _)| *a).collect();
    let action = mode(args, "action", &actions)?;
    let takes = ACTIONS.iter().find(|(a, _)| *a == action).map_or(&[][..], |(_, t)| *t);
    check_applies(args, "action", action, takes)?;
    let needs = |key: &str, what: &str| {
        if args.get(key).is_none_or(Value::is_null) {
            Err(ToolResult::error(format!("action {action} needs {key}: {what}.")))
        } else {
            Ok(())
        }
    };
    Ok(match action {
        "add" => {
            needs("uris", "1 to 100 track or episode URIs")?;
            let mut b = json!({"uris": item_uris(args, 1)?});
            if args.get("position").is_some() {
                b["position"] = json!(int(args, "position", None, 100_000)?);
            }
            ("POST", b)
        }
        "remove" => {
            needs("uris", "1 to 100 track or episode URIs")?;
            let items: Vec<Value> = item_uris(args, 1)?.into_iter().map(|u| json!({"uri": u})).collect();
            ("DELETE", json!({"items": items}))
        }
        "replace" => {
            needs("uris", "the new items, 0 to 100 track or episode URIs")?;
            ("PUT", json!({"uris": item_uris(args, 0)?}))
        }
        _ => {
            needs("range_start", "the zero-based position of the first item to move")?;
            needs("insert_before", "the zero-based position to move the items before")?;
            (
                "PUT",
                json!({"range_start": int(args, "range_start", None, 100_000)?, "insert_before": int(args, "insert_before", None, 100_000)?,
                       "range_length": int(args, "range_length", Some(1), 100_000)?.max(1)}),
            )
        }
    })
}

pub async fn call<P: Platform>(tb: &Toolbox<'_, P>, name: &str, args: &Value) -> Option<ToolResult> {
    let known: &[&str] = match name {
        "get_my_playlists" => &["limit", "offset"],
        "get_playlist" => &["playlist", "limit", "offset"],
        "create_playlist" => &["name", "description", "public"],
        "update_playlist" => &["playlist", "name", "description", "public", "collaborative"],
        "edit_playlist_items" => {
            &["playlist", "action", "uris", "position", "range_start", "insert_before", "range_length", "confirm"]
        }
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
    let id = match name {
        "get_my_playlists" | "create_playlist" => String::new(),
        _ => {
            let raw = args
                .get("playlist")
                .and_then(Value::as_str)
                .ok_or_else(|| ToolResult::error("playlist is required: a playlist URI, link or id."))?;
            ids::parse(raw, Some("playlist"), &["playlist"]).map_err(ToolResult::error)?.1
        }
    };
    let mut query: Vec<(&str, String)> = Vec::new();
    let (method, path, body): (&str, String, Option<Value>) = match name {
        "get_my_playlists" => {
            query.push(("limit", int(args, "limit", Some(20), 50)?.max(1).to_string()));
            query.push(("offset", int(args, "offset", Some(0), 100_000)?.to_string()));
            ("GET", "/v1/me/playlists".into(), None)
        }
        "get_playlist" => {
            let offset = int(args, "offset", Some(0), 100_000)?;
            query.push(("limit", int(args, "limit", Some(20), 50)?.max(1).to_string()));
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
            let Some(n) =
                args.get("name").and_then(Value::as_str).map(str::trim).filter(|n| !n.is_empty() && n.len() <= 100)
            else {
                return Err(ToolResult::error("name is required (1 to 100 characters)."));
            };
            let mut b = json!({"name": n, "public": args.get("public").and_then(Value::as_bool).unwrap_or(false)});
            if let Some(d) = args.get("description").and_then(Value::as_str) {
                b["description"] = json!(d);
            }
            ("POST", "/v1/me/playlists".into(), Some(b))
        }
        "update_playlist" => {
            let mut b = json!({});
            for key in ["name", "description"] {
                if let Some(v) = args.get(key) {
                    b[key] = json!(v.as_str().ok_or_else(|| ToolResult::error(format!("{key} must be a string.")))?);
                }
            }
            for key in ["public", "collaborative"] {
                if let Some(v) = args.get(key) {
                    b[key] =
                        json!(v.as_bool().ok_or_else(|| ToolResult::error(format!("{key} must be true or false.")))?);
                }
            }
            if b.as_object().is_some_and(|o| o.is_empty()) {
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
                        p["items"],
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
            let limit = args.get("limit").and_then(Value::as_u64).unwrap_or(20) as usize;
            let (details, page) = if path.ends_with("/items") { (None, &v) } else { (Some(&v), &v["items"]) };
            if page.is_null() {
                return Err(ToolResult::error(format!(
                    "Spotify shows the items of \"{}\" only to its owner: apps in Development Mode can read items only of playlists the user owns or collaborates on.",
                    v["name"].as_str().unwrap_or("this playlist")
                )));
            }
            let items: Vec<Value> =
                page["items"].as_array().map(|a| a.iter().take(limit).map(compact_item).collect()).unwrap_or_default();
            let offset = page["offset"].as_u64().unwrap_or(0);
            let name = details.and_then(|d| d["name"].as_str()).map(str::to_string);
            let mut text = format!("{} — {} items", name.clone().unwrap_or_else(|| id.clone()), page["total"]);
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

    fn refused(r: Result<(&'static str, Value), ToolResult>) -> String {
        match r {
            Err(e) => e.to_json()["content"][0]["text"].as_str().unwrap().to_string(),
            Ok(_) => panic!("accepted"),
        }
    }

    #[test]
    fn each_action_takes_its_arguments() {
        let p = "37i9dQZF1DXcBWIGoYBM5M";
        let add =
            edit(&json!({"playlist": p, "action": "add", "uris": ["4u7EnebtmKWzUH433cf5Qv"], "position": 0})).unwrap();
        assert_eq!(add, ("POST", json!({"uris": ["spotify:track:4u7EnebtmKWzUH433cf5Qv"], "position": 0})));
        let clear = edit(&json!({"playlist": p, "action": "replace", "uris": []})).unwrap();
        assert_eq!(clear, ("PUT", json!({"uris": []})));
        let moved = edit(&json!({"playlist": p, "action": "reorder", "range_start": 3, "insert_before": 0})).unwrap();
        assert_eq!(moved, ("PUT", json!({"range_start": 3, "insert_before": 0, "range_length": 1})));
        let removed =
            edit(&json!({"playlist": p, "action": "remove", "uris": ["spotify:episode:512ojhOuo1ktJprKbVcKyQ"]}));
        assert_eq!(removed.unwrap(), ("DELETE", json!({"items": [{"uri": "spotify:episode:512ojhOuo1ktJprKbVcKyQ"}]})));
        for (args, needle) in [
            (json!({"playlist": p}), "action is required"),
            (json!({"playlist": p, "action": "clear"}), "one of: add, remove"),
            (json!({"playlist": p, "action": "add"}), "action add needs uris"),
            (json!({"playlist": p, "action": "add", "uris": []}), "1 to 100"),
            (json!({"playlist": p, "action": "replace"}), "action replace needs uris"),
            (json!({"playlist": p, "action": "reorder", "range_start": 0}), "action reorder needs insert_before"),
            (json!({"playlist": p, "action": "remove", "uris": ["x"], "position": 1}), "position does not apply"),
        ] {
            let msg = refused(edit(&args));
            assert!(msg.contains(needle), "{args}: {msg}");
        }
    }
}
