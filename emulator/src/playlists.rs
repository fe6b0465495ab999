//! Playlists on the February 2026 endpoints (`/me/playlists`, `/playlists/{id}/items`).
//! Items are readable only by the owner (or collaborators), as for Development Mode apps.

use crate::catalog;
use crate::{api_error, json_reply, Reply};
use serde_json::{json, Value};
use std::collections::HashMap;

pub struct Playlist {
    pub owner: String,
    pub name: String,
    pub description: String,
    pub public: bool,
    pub collaborative: bool,
    pub items: Vec<String>,
    pub snapshot: u64,
}

pub fn seed() -> HashMap<String, Playlist> {
    let mut m = HashMap::new();
    m.insert(
        "37i9dQZF1DXcBWIGoYBM5M".to_string(),
        Playlist {
            owner: "spotify".into(),
            name: "Today's Top Hits".into(),
            description: "Editorial".into(),
            public: true,
            collaborative: false,
            items: vec!["spotify:track:4u7EnebtmKWzUH433cf5Qv".into()],
            snapshot: 1,
        },
    );
    m
}

fn simplified(id: &str, p: &Playlist) -> Value {
    json!({"id": id, "name": p.name, "type": "playlist", "uri": format!("spotify:playlist:{id}"), "description": p.description,
           "public": p.public, "collaborative": p.collaborative, "snapshot_id": format!("snap{}", p.snapshot),
           "owner": {"id": p.owner, "display_name": p.owner, "type": "user", "uri": format!("spotify:user:{}", p.owner)},
           "external_urls": {"spotify": format!("https://open.spotify.com/playlist/{id}")},
           "items": {"href": "", "total": p.items.len()}, "tracks": Value::Null, "images": []})
}

fn item_page(p: &Playlist, limit: usize, offset: usize) -> Value {
    let items: Vec<Value> = p
        .items
        .iter()
        .skip(offset)
        .take(limit)
        .map(|u| json!({"added_at": "2026-11-01T12:00:00Z", "is_local": false, "item": catalog::lookup(u)}))
        .collect();
    json!({"items": items, "total": p.items.len(), "limit": limit, "offset": offset,
           "next": if offset + limit < p.items.len() { json!("next") } else { Value::Null }, "previous": Value::Null})
}

fn uris_of(body: &Value, key: &str) -> Option<Vec<String>> {
    let list = body[key].as_array()?;
    let uris: Vec<String> = list
        .iter()
        .filter_map(|v| v.as_str().map(str::to_string).or_else(|| v["uri"].as_str().map(str::to_string)))
        .collect();
    (uris.len() == list.len() && uris.len() <= 100 && uris.iter().all(|u| catalog::lookup(u).is_some())).then_some(uris)
}

pub fn handle(
    all: &mut HashMap<String, Playlist>,
    seq: u64,
    user: &str,
    method: &str,
    path: &str,
    q: &HashMap<String, String>,
    body: &str,
) -> Option<Reply> {
    let body: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let p: Vec<&str> = path.trim_start_matches("/v1/").split('/').collect();
    let limit = |max: usize, default: usize| match q.get("limit").map(|l| l.parse::<usize>()) {
        None => Ok(default),
        Some(Ok(l)) if (1..=max).contains(&l) => Ok(l),
        _ => Err(api_error(400, "Invalid limit")),
    };
    let offset = q.get("offset").and_then(|o| o.parse::<usize>().ok()).unwrap_or(0);
    let reply = match (method, p.as_slice()) {
        ("GET", ["me", "playlists"]) => match limit(50, 20) {
            Ok(l) => {
                let mut mine: Vec<(&String, &Playlist)> = all.iter().filter(|(_, pl)| pl.owner == user).collect();
                mine.sort_by(|a, b| a.0.cmp(b.0));
                let total = mine.len();
                let items: Vec<Value> =
                    mine.into_iter().skip(offset).take(l).map(|(id, pl)| simplified(id, pl)).collect();
                json_reply(
                    200,
                    json!({"items": items, "total": total, "limit": l, "offset": offset, "next": Value::Null}),
                )
            }
            Err(e) => e,
        },
        ("POST", ["me", "playlists"]) => {
            let Some(name) = body["name"].as_str().filter(|n| !n.is_empty()) else {
                return Some(api_error(400, "Missing name"));
            };
            let id = format!("pl{:020}", seq);
            let pl = Playlist {
                owner: user.to_string(),
                name: name.to_string(),
                description: body["description"].as_str().unwrap_or("").to_string(),
                public: body["public"].as_bool().unwrap_or(true),
                collaborative: body["collaborative"].as_bool().unwrap_or(false),
                items: Vec::new(),
                snapshot: 1,
            };
            let out = simplified(&id, &pl);
            all.insert(id, pl);
            json_reply(201, out)
        }
        (_, ["playlists", id, ..]) => {
            let Some(pl) = all.get_mut(*id) else { return Some(api_error(404, "Resource not found")) };
            let can_read = pl.owner == user || pl.collaborative;
            let can_write = pl.owner == user || pl.collaborative;
            match (method, &p[2..]) {
                ("GET", []) => {
                    let mut out = simplified(id, pl);
                    out["items"] = if can_read { item_page(pl, 100, 0) } else { Value::Null };
                    json_reply(200, out)
                }
                ("PUT", []) => {
                    if !can_write {
                        return Some(api_error(403, "You cannot change a playlist you do not own"));
                    }
                    if let Some(n) = body["name"].as_str() {
                        pl.name = n.to_string();
                    }
                    if let Some(d) = body["description"].as_str() {
                        pl.description = d.to_string();
                    }
                    if let Some(b) = body["public"].as_bool() {
                        pl.public = b;
                    }
                    if let Some(b) = body["collaborative"].as_bool() {
                        pl.collaborative = b;
                    }
                    (200, Vec::new(), String::new())
                }
                ("GET", ["items"]) if !can_read => {
                    api_error(403, "Playlist items are only available for playlists you own or collaborate on")
                }
                ("GET", ["items"]) => match limit(50, 20) {
                    Ok(l) => json_reply(200, item_page(pl, l, offset)),
                    Err(e) => e,
                },
                (_, ["items"]) if !can_write => api_error(403, "You cannot change a playlist you do not own"),
                ("POST", ["items"]) => match uris_of(&body, "uris") {
                    Some(uris) => {
                        let at = body["position"].as_u64().map(|p| p as usize).unwrap_or(pl.items.len());
                        if at > pl.items.len() {
                            return Some(api_error(400, "Index out of bounds"));
                        }
                        pl.items.splice(at..at, uris);
                        pl.snapshot += 1;
                        json_reply(201, json!({"snapshot_id": format!("snap{}", pl.snapshot)}))
                    }
                    None => api_error(400, "Invalid uris"),
                },
                ("DELETE", ["items"]) => match uris_of(&body, "items") {
                    Some(uris) => {
                        pl.items.retain(|u| !uris.contains(u));
                        pl.snapshot += 1;
                        json_reply(200, json!({"snapshot_id": format!("snap{}", pl.snapshot)}))
                    }
                    None => api_error(400, "Invalid items"),
                },
                ("PUT", ["items"]) => {
                    if let Some(uris) = uris_of(&body, "uris") {
                        pl.items = uris;
                    } else if let (Some(start), Some(before)) =
                        (body["range_start"].as_u64(), body["insert_before"].as_u64())
                    {
                        let (start, before) = (start as usize, before as usize);
                        let len = body["range_length"].as_u64().unwrap_or(1) as usize;
                        if start + len > pl.items.len() || before > pl.items.len() {
                            return Some(api_error(400, "Index out of bounds"));
                        }
                        let moved: Vec<String> = pl.items.drain(start..start + len).collect();
                        let at = if before > start { before - len } else { before };
                        pl.items.splice(at..at, moved);
                    } else {
                        return Some(api_error(400, "Give uris, or range_start and insert_before"));
                    }
                    pl.snapshot += 1;
                    json_reply(200, json!({"snapshot_id": format!("snap{}", pl.snapshot)}))
                }
                _ => api_error(404, "Service not found"),
            }
        }
        _ => return None,
    };
    Some(reply)
}
