//! Per-user playback state behind `/v1/me/player/*`, with Spotify's error cases: players of
//! users whose id starts with `free` are not Premium (403 PREMIUM_REQUIRED on control);
//! control without an active device and without `device_id` is 404 NO_ACTIVE_DEVICE.

use crate::catalog;
use crate::{api_error, json_reply, reason_error, Reply};
use serde_json::{json, Value};
use std::collections::HashMap;

pub struct Device {
    pub id: &'static str,
    pub name: &'static str,
    pub kind: &'static str,
}

pub const DEVICES: &[Device] = &[
    Device { id: "d0c0ffee00000000000000000000000000000001", name: "Kitchen speaker", kind: "Speaker" },
    Device { id: "d0c0ffee00000000000000000000000000000002", name: "Laptop", kind: "Computer" },
];

#[derive(Default)]
pub struct Player {
    pub active: Option<usize>,
    pub playing: bool,
    /// Catalogue index of the current track.
    pub item: Option<usize>,
    pub context: Option<String>,
    pub progress_ms: u64,
    pub volume: u64,
    pub shuffle: bool,
    pub repeat: String,
    pub queue: Vec<usize>,
    /// Tracks played, oldest first (for recently-played).
    pub history: Vec<usize>,
}

fn device_json(p: &Player, i: usize) -> Value {
    let d = &DEVICES[i];
    json!({"id": d.id, "name": d.name, "type": d.kind, "is_active": p.active == Some(i), "is_private_session": false,
           "is_restricted": false, "volume_percent": if p.active == Some(i) { p.volume } else { 50 }, "supports_volume": true})
}

fn state_json(p: &Player) -> Value {
    json!({
        "device": p.active.map(|i| device_json(p, i)),
        "shuffle_state": p.shuffle, "repeat_state": if p.repeat.is_empty() { "off" } else { &p.repeat },
        "timestamp": 0, "progress_ms": p.progress_ms, "is_playing": p.playing,
        "context": p.context.as_ref().map(|uri| json!({"uri": uri, "type": uri.split(':').nth(1).unwrap_or("")})),
        "item": p.item.map(catalog::track), "currently_playing_type": "track",
        "actions": {"disallows": {}},
    })
}

pub fn handle(
    players: &mut HashMap<String, Player>,
    user: &str,
    method: &str,
    path: &str,
    q: &HashMap<String, String>,
    body: &str,
) -> Reply {
    let p = players.entry(user.to_string()).or_insert_with(|| Player { volume: 60, ..Player::default() });
    let premium = !user.starts_with("free");
    let is_control = method != "GET";
    if is_control && !premium {
        return reason_error(403, "Player command failed: Premium required", "PREMIUM_REQUIRED");
    }
    let device = match q.get("device_id") {
        Some(id) => match DEVICES.iter().position(|d| d.id == id) {
            Some(i) => Some(i),
            None => return api_error(404, "Device not found"),
        },
        None => None,
    };
    let needs_device = is_control && !matches!(path, "/v1/me/player");
    if needs_device && device.is_none() && p.active.is_none() {
        return reason_error(404, "Player command failed: No active device found", "NO_ACTIVE_DEVICE");
    }
    if let Some(i) = device {
        p.active = Some(i);
    }
    let body: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let before = p.item;
    let reply = route(p, method, path, q, &body);
    if p.item != before {
        if let Some(i) = p.item {
            p.history.push(i);
        }
    }
    reply
}

fn route(p: &mut Player, method: &str, path: &str, q: &HashMap<String, String>, body: &Value) -> Reply {
    let no_content = || (204, Vec::new(), String::new());
    match (method, path) {
        ("GET", "/v1/me/player") | ("GET", "/v1/me/player/currently-playing") => {
            if p.active.is_none() {
                return no_content();
            }
            json_reply(200, state_json(p))
        }
        ("GET", "/v1/me/player/devices") => {
            json_reply(200, json!({"devices": (0..DEVICES.len()).map(|i| device_json(p, i)).collect::<Vec<_>>()}))
        }
        ("GET", "/v1/me/player/queue") => json_reply(
            200,
            json!({"currently_playing": p.item.map(catalog::track), "queue": p.queue.iter().map(|&i| catalog::track(i)).collect::<Vec<_>>()}),
        ),
        ("PUT", "/v1/me/player") => {
            let Some(id) = body["device_ids"].as_array().and_then(|a| a.first()).and_then(Value::as_str) else {
                return api_error(400, "Missing device_ids");
            };
            let Some(i) = DEVICES.iter().position(|d| d.id == id) else { return api_error(404, "Device not found") };
            p.active = Some(i);
            if body["play"].as_bool() == Some(true) {
                p.playing = true;
            }
            no_content()
        }
        ("PUT", "/v1/me/player/play") => {
            if let Some(ctx) = body["context_uri"].as_str() {
                p.context = Some(ctx.to_string());
                let offset = body["offset"]["position"].as_u64().unwrap_or(0) as usize;
                p.item = catalog::tracks_of_context(ctx).get(offset).copied().or(Some(0));
            } else if let Some(uris) = body["uris"].as_array() {
                let first = uris.first().and_then(Value::as_str).unwrap_or("");
                match catalog::track_index_by_uri(first) {
                    Some(i) => p.item = Some(i),
                    None => return api_error(400, "Invalid track uri"),
                }
                p.context = None;
            } else if p.item.is_none() {
                p.item = Some(0);
            }
            p.progress_ms = body["position_ms"].as_u64().unwrap_or(if body.is_null() { p.progress_ms } else { 0 });
            p.playing = true;
            no_content()
        }
        ("PUT", "/v1/me/player/pause") => {
            if !p.playing {
                return reason_error(403, "Player command failed: Restriction violated", "ALREADY_PAUSED");
            }
            p.playing = false;
            no_content()
        }
        ("POST", "/v1/me/player/next") | ("POST", "/v1/me/player/previous") => {
            if path.ends_with("next") {
                p.item = Some(match p.queue.first() {
                    Some(_) => p.queue.remove(0),
                    None => (p.item.unwrap_or(0) + 1) % catalog::track_count(),
                });
            } else {
                p.item = Some(p.item.unwrap_or(0).saturating_sub(1));
            }
            p.progress_ms = 0;
            p.playing = true;
            no_content()
        }
        ("PUT", "/v1/me/player/seek") => match q.get("position_ms").and_then(|v| v.parse().ok()) {
            Some(ms) => {
                p.progress_ms = ms;
                no_content()
            }
            None => api_error(400, "Missing position_ms"),
        },
        ("PUT", "/v1/me/player/volume") => match q.get("volume_percent").and_then(|v| v.parse::<u64>().ok()) {
            Some(v) if v <= 100 => {
                p.volume = v;
                no_content()
            }
            _ => api_error(400, "Invalid volume_percent"),
        },
        ("PUT", "/v1/me/player/shuffle") => match q.get("state").map(String::as_str) {
            Some("true") | Some("false") => {
                p.shuffle = q["state"] == "true";
                no_content()
            }
            _ => api_error(400, "Invalid state"),
        },
        ("PUT", "/v1/me/player/repeat") => match q.get("state").map(String::as_str) {
            Some(s @ ("track" | "context" | "off")) => {
                p.repeat = s.to_string();
                no_content()
            }
            _ => api_error(400, "Invalid state"),
        },
        ("POST", "/v1/me/player/queue") => match q.get("uri").and_then(|u| catalog::track_index_by_uri(u)) {
            Some(i) => {
                p.queue.push(i);
                no_content()
            }
            None => api_error(400, "Invalid track uri"),
        },
        _ => api_error(404, "Service not found"),
    }
}
