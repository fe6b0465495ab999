//! Playback: state, play/pause/skip/seek/volume/shuffle/repeat, devices, transfer, queue.
//! One Spotify call each, except: naming a device by name (+1: the device list) and a
//! "no active device" failure (+1: the device list, so the message can name them).

use crate::core::platform::Platform;
use crate::mcp::model::ToolResult;
use crate::spotify::session::{SessionError, SpotifySession};
use crate::spotify::SpotifyError;
use crate::tools::search::compact_track;
use crate::tools::{check_known, errors, ids, object_schema, Toolbox};
use serde_json::{json, Value};

const CONTROL_SCOPE: &str =
    "Needs Spotify Premium and an active device (open Spotify on a phone, computer or speaker).";

fn device_prop() -> Value {
    json!({"type": "string", "maxLength": 200, "description": "Device id or device name (see get_devices); default: the active device."})
}

fn command_output() -> Value {
    json!({"type": "object", "properties": {"ok": {"type": "boolean"}, "action": {"type": "string"}}, "required": ["ok", "action"]})
}

fn annotations(title: &str, read_only: bool, idempotent: bool) -> Value {
    json!({"title": title, "readOnlyHint": read_only, "destructiveHint": false, "idempotentHint": idempotent, "openWorldHint": true})
}

fn tool(
    name: &str,
    title: &str,
    description: &str,
    input: Value,
    output: Value,
    read_only: bool,
    idempotent: bool,
) -> Value {
    json!({"name": name, "title": title, "description": description, "inputSchema": input, "outputSchema": output,
           "annotations": annotations(title, read_only, idempotent)})
}

pub fn definitions() -> Vec<Value> {
    let device_only = object_schema(json!({"device": device_prop()}), &[]);
    let track_out = json!({"type": ["object", "null"]});
    vec![
        tool(
            "get_playback_state",
            "What's playing",
            "What is playing right now and where: the current track, whether it is playing, progress, the active device, shuffle and repeat.",
            json!({"type": "object", "properties": {}, "additionalProperties": false}),
            json!({"type": "object", "properties": {
                "is_playing": {"type": "boolean"}, "track": track_out, "progress_ms": {"type": "integer"},
                "device": {"type": ["object", "null"]}, "shuffle": {"type": "boolean"}, "repeat": {"type": "string"},
                "context_uri": {"type": ["string", "null"]}}, "required": ["is_playing"]}),
            true,
            true,
        ),
        tool(
            "play",
            "Play",
            &format!("Start or resume playback. Give `uri` for an album, playlist, artist or show (a context; `offset` picks the zero-based track in it) or a single track; or `uris` for a list of tracks. With neither, resumes. {CONTROL_SCOPE}"),
            object_schema(json!({
                "uri": {"type": "string", "description": "spotify: URI, open.spotify.com link or id of a track, album, playlist, artist, show or episode."},
                "uris": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 100, "description": "Tracks or episodes to play in order."},
                "offset": {"type": "integer", "minimum": 0, "description": "Zero-based position in the context to start at."},
                "position_ms": {"type": "integer", "minimum": 0},
                "device": device_prop()
            }), &[]),
            command_output(),
            false,
            true,
        ),
        tool("pause", "Pause", &format!("Pause playback. {CONTROL_SCOPE}"), device_only.clone(), command_output(), false, true),
        tool("skip_next", "Next track", &format!("Skip to the next track. {CONTROL_SCOPE}"), device_only.clone(), command_output(), false, false),
        tool("skip_previous", "Previous track", &format!("Go back to the previous track. {CONTROL_SCOPE}"), device_only.clone(), command_output(), false, false),
        tool(
            "seek",
            "Seek",
            &format!("Jump to a position in the current track. {CONTROL_SCOPE}"),
            object_schema(json!({"position_ms": {"type": "integer", "minimum": 0, "maximum": 86_400_000}, "device": device_prop()}), &["position_ms"]),
            command_output(),
            false,
            true,
        ),
        tool(
            "set_volume",
            "Set volume",
            &format!("Set the volume of the playing device, 0-100. {CONTROL_SCOPE}"),
            object_schema(json!({"volume_percent": {"type": "integer", "minimum": 0, "maximum": 100}, "device": device_prop()}), &["volume_percent"]),
            command_output(),
            false,
            true,
        ),
        tool(
            "set_shuffle",
            "Shuffle",
            &format!("Turn shuffle on or off. {CONTROL_SCOPE}"),
            object_schema(json!({"state": {"type": "boolean"}, "device": device_prop()}), &["state"]),
            command_output(),
            false,
            true,
        ),
        tool(
            "set_repeat",
            "Repeat",
            &format!("Set repeat: `track` repeats the current track, `context` the album or playlist, `off` stops repeating. {CONTROL_SCOPE}"),
            object_schema(json!({"state": {"type": "string", "enum": ["track", "context", "off"]}, "device": device_prop()}), &["state"]),
            command_output(),
            false,
            true,
        ),
        tool(
            "get_devices",
            "Devices",
            "List the user's Spotify Connect devices (phones, computers, speakers) with their ids and which one is active.",
            json!({"type": "object", "properties": {}, "additionalProperties": false}),
            json!({"type": "object", "properties": {"devices": {"type": "array", "items": {"type": "object"}}}, "required": ["devices"]}),
            true,
            true,
        ),
        tool(
            "transfer_playback",
            "Move playback",
            "Move playback to another device, by id or name (see get_devices). Needs Spotify Premium.",
            object_schema(json!({"device": device_prop(), "play": {"type": "boolean", "description": "Start playing on the new device (default: keep the current state)."}}), &["device"]),
            command_output(),
            false,
            true,
        ),
        tool(
            "get_queue",
            "Queue",
            "Show the current track and the tracks queued after it.",
            json!({"type": "object", "properties": {}, "additionalProperties": false}),
            json!({"type": "object", "properties": {"current": {"type": ["object", "null"]}, "queue": {"type": "array", "items": {"type": "object"}}}, "required": ["queue"]}),
            true,
            true,
        ),
        tool(
            "add_to_queue",
            "Add to queue",
            &format!("Add a track or episode to the end of the queue. {CONTROL_SCOPE}"),
            object_schema(json!({"uri": {"type": "string", "description": "Track or episode URI, link or track id."}, "device": device_prop()}), &["uri"]),
            command_output(),
            false,
            false,
        ),
    ]
}

fn compact_device(d: &Value) -> Value {
    json!({"id": d["id"], "name": d["name"], "type": d["type"], "is_active": d["is_active"], "volume_percent": d["volume_percent"]})
}

/// The error result of a failed call; "no active device" names the user's devices.
async fn failure<P: Platform>(tb: &Toolbox<'_, P>, session: &mut SpotifySession<'_, P>, e: SessionError) -> ToolResult {
    if let SessionError::Spotify(SpotifyError::NotFound { reason: Some(r), .. }) = &e {
        if r == "NO_ACTIVE_DEVICE" {
            let names = match session.call("GET", "/v1/me/player/devices", &[], None).await {
                Ok(v) => v["devices"]
                    .as_array()
                    .map(|d| d.iter().filter_map(|x| x["name"].as_str()).map(str::to_string).collect::<Vec<_>>())
                    .unwrap_or_default(),
                Err(_) => Vec::new(),
            };
            let list = if names.is_empty() {
                "No Spotify devices are online: open Spotify on a phone, computer or speaker, then try again."
                    .to_string()
            } else {
                format!(
                    "Your devices: {}. Pass one as `device`, or start playing on one in the Spotify app.",
                    names.join(", ")
                )
            };
            return ToolResult::error(format!("No device is active, so Spotify has nowhere to play. {list}"));
        }
    }
    errors::describe(tb.ctx, &tb.principal.uk, e)
}

/// A device id, or the id of the device whose name matches (one extra Spotify call).
async fn resolve_device<P: Platform>(
    session: &mut SpotifySession<'_, P>,
    raw: &str,
) -> Result<String, Result<String, SessionError>> {
    let raw = raw.trim();
    if raw.len() >= 32 && raw.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Ok(raw.to_string());
    }
    let devices = session.call("GET", "/v1/me/player/devices", &[], None).await.map_err(Err)?;
    let list = devices["devices"].as_array().cloned().unwrap_or_default();
    let name_of = |d: &Value| d["name"].as_str().unwrap_or("").to_lowercase();
    let wanted = raw.to_lowercase();
    let found =
        list.iter().find(|d| name_of(d) == wanted).or_else(|| list.iter().find(|d| name_of(d).contains(&wanted)));
    match found.and_then(|d| d["id"].as_str()) {
        Some(id) => Ok(id.to_string()),
        None => {
            let names: Vec<&str> = list.iter().filter_map(|d| d["name"].as_str()).collect();
            Err(Ok(format!(
                "No device called {raw:?}. Your devices: {}.",
                if names.is_empty() { "none online".to_string() } else { names.join(", ") }
            )))
        }
    }
}

fn arg_str<'a>(args: &'a Value, key: &str) -> Option<&'a str> {
    args.get(key).and_then(Value::as_str)
}

pub async fn call<P: Platform>(tb: &Toolbox<'_, P>, name: &str, args: &Value) -> Option<ToolResult> {
    let known: &[&str] = match name {
        "get_playback_state" | "get_devices" | "get_queue" => &[],
        "play" => &["uri", "uris", "offset", "position_ms", "device"],
        "pause" | "skip_next" | "skip_previous" => &["device"],
        "seek" => &["position_ms", "device"],
        "set_volume" => &["volume_percent", "device"],
        "set_shuffle" | "set_repeat" => &["state", "device"],
        "transfer_playback" => &["device", "play"],
        "add_to_queue" => &["uri", "device"],
        _ => return None,
    };
    if let Err(e) = check_known(args, known) {
        return Some(e);
    }
    // Validate arguments before touching Spotify or KV.
    let mut query: Vec<(&str, String)> = Vec::new();
    let mut body: Option<Value> = None;
    let (method, path, action): (&str, &str, String) = match name {
        "get_playback_state" => ("GET", "/v1/me/player", String::new()),
        "get_devices" => ("GET", "/v1/me/player/devices", String::new()),
        "get_queue" => ("GET", "/v1/me/player/queue", String::new()),
        "pause" => ("PUT", "/v1/me/player/pause", "Paused.".into()),
        "skip_next" => ("POST", "/v1/me/player/next", "Skipped to the next track.".into()),
        "skip_previous" => ("POST", "/v1/me/player/previous", "Went back to the previous track.".into()),
        "seek" => match args.get("position_ms").and_then(Value::as_u64) {
            Some(ms) => {
                query.push(("position_ms", ms.to_string()));
                ("PUT", "/v1/me/player/seek", format!("Jumped to {}:{:02}.", ms / 60_000, ms / 1000 % 60))
            }
            None => {
                return Some(ToolResult::error("position_ms is required: milliseconds from the start of the track."))
            }
        },
        "set_volume" => match args.get("volume_percent").and_then(Value::as_u64) {
            Some(v) if v <= 100 => {
                query.push(("volume_percent", v.to_string()));
                ("PUT", "/v1/me/player/volume", format!("Volume set to {v}%."))
            }
            _ => return Some(ToolResult::error("volume_percent must be an integer from 0 to 100.")),
        },
        "set_shuffle" => match args.get("state").and_then(Value::as_bool) {
            Some(s) => {
                query.push(("state", s.to_string()));
                ("PUT", "/v1/me/player/shuffle", format!("Shuffle {}.", if s { "on" } else { "off" }))
            }
            None => return Some(ToolResult::error("state must be true or false.")),
        },
        "set_repeat" => match arg_str(args, "state") {
            Some(s @ ("track" | "context" | "off")) => {
                query.push(("state", s.to_string()));
                ("PUT", "/v1/me/player/repeat", format!("Repeat set to {s}."))
            }
            _ => return Some(ToolResult::error("state must be \"track\", \"context\" or \"off\".")),
        },
        "add_to_queue" => match arg_str(args, "uri").map(|u| ids::uri(u, Some("track"), &["track", "episode"])) {
            Some(Ok(uri)) => {
                query.push(("uri", uri.clone()));
                ("POST", "/v1/me/player/queue", format!("Queued {uri}."))
            }
            Some(Err(e)) => return Some(ToolResult::error(e)),
            None => return Some(ToolResult::error("uri is required: the track to queue.")),
        },
        "transfer_playback" => {
            if arg_str(args, "device").is_none() {
                return Some(ToolResult::error("device is required: a device id or name from get_devices."));
            }
            ("PUT", "/v1/me/player", String::new())
        }
        "play" => {
            let mut b = json!({});
            match (arg_str(args, "uri"), args.get("uris")) {
                (Some(_), Some(_)) => return Some(ToolResult::error("give either uri or uris, not both.")),
                (Some(u), None) => match ids::parse(u, Some("track"), ids::KINDS) {
                    Ok((kind, id)) if kind == "track" || kind == "episode" => {
                        b["uris"] = json!([format!("spotify:{kind}:{id}")])
                    }
                    Ok((kind, id)) => b["context_uri"] = json!(format!("spotify:{kind}:{id}")),
                    Err(e) => return Some(ToolResult::error(e)),
                },
                (None, Some(list)) => {
                    let Some(items) = list.as_array().filter(|a| !a.is_empty() && a.len() <= 100) else {
                        return Some(ToolResult::error("uris must be a list of 1 to 100 track URIs."));
                    };
                    let mut uris = Vec::new();
                    for item in items {
                        match item.as_str().map(|u| ids::uri(u, Some("track"), &["track", "episode"])) {
                            Some(Ok(u)) => uris.push(u),
                            Some(Err(e)) => return Some(ToolResult::error(e)),
                            None => return Some(ToolResult::error("uris must contain strings.")),
                        }
                    }
                    b["uris"] = json!(uris);
                }
                (None, None) => {}
            }
            if let Some(o) = args.get("offset") {
                match o.as_u64() {
                    Some(n) if b.get("context_uri").is_some() => b["offset"] = json!({"position": n}),
                    Some(_) => {
                        return Some(ToolResult::error("offset applies to an album, playlist, artist or show uri."))
                    }
                    None => return Some(ToolResult::error("offset must be a zero-based integer.")),
                }
            }
            if let Some(p) = args.get("position_ms") {
                match p.as_u64() {
                    Some(ms) => b["position_ms"] = json!(ms),
                    None => return Some(ToolResult::error("position_ms must be a non-negative integer.")),
                }
            }
            let action = if b.as_object().is_some_and(|o| o.is_empty()) {
                "Resumed playback.".to_string()
            } else {
                "Playing.".to_string()
            };
            body = (!b.as_object().is_some_and(|o| o.is_empty())).then_some(b);
            ("PUT", "/v1/me/player/play", action)
        }
        _ => return None,
    };
    let mut session = match tb.session().await {
        Ok(s) => s,
        Err(r) => return Some(r),
    };
    let result = run(tb, &mut session, name, args, method, path, query, body, action).await;
    tb.count(&session);
    Some(result)
}

#[allow(clippy::too_many_arguments)]
async fn run<P: Platform>(
    tb: &Toolbox<'_, P>,
    session: &mut SpotifySession<'_, P>,
    name: &str,
    args: &Value,
    method: &str,
    path: &str,
    mut query: Vec<(&str, String)>,
    mut body: Option<Value>,
    action: String,
) -> ToolResult {
    if let Some(raw) = arg_str(args, "device") {
        match resolve_device(session, raw).await {
            Ok(id) if name == "transfer_playback" => {
                body = Some(
                    json!({"device_ids": [id], "play": args.get("play").and_then(Value::as_bool).unwrap_or(false)}),
                );
            }
            Ok(id) => query.push(("device_id", id)),
            Err(Ok(msg)) => return ToolResult::error(msg),
            Err(Err(e)) => return failure(tb, session, e).await,
        }
    }
    let value = match session.call(method, path, &query, body.as_ref()).await {
        Ok(v) => v,
        Err(e) => return failure(tb, session, e).await,
    };
    match name {
        "get_playback_state" => {
            if value.is_null() {
                return ToolResult::ok(
                    "Nothing is playing and no device is active.",
                    json!({"is_playing": false, "track": null, "device": null, "progress_ms": 0, "shuffle": false, "repeat": "off", "context_uri": null}),
                );
            }
            let track = value["item"].is_object().then(|| compact_track(&value["item"]));
            let device = value["device"].is_object().then(|| compact_device(&value["device"]));
            let playing = value["is_playing"].as_bool().unwrap_or(false);
            let text = match &track {
                Some(t) => format!(
                    "{} {} — {} on {}.",
                    if playing { "Playing" } else { "Paused:" },
                    t["name"].as_str().unwrap_or("?"),
                    t["artists"]
                        .as_array()
                        .map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", "))
                        .unwrap_or_default(),
                    value["device"]["name"].as_str().unwrap_or("an unknown device")
                ),
                None => format!(
                    "Nothing is playing on {}.",
                    value["device"]["name"].as_str().unwrap_or("the active device")
                ),
            };
            ToolResult::ok(
                text,
                json!({"is_playing": playing, "track": track, "device": device, "progress_ms": value["progress_ms"].as_u64().unwrap_or(0),
                       "shuffle": value["shuffle_state"].as_bool().unwrap_or(false), "repeat": value["repeat_state"].as_str().unwrap_or("off"),
                       "context_uri": value["context"]["uri"]}),
            )
        }
        "get_devices" => {
            let devices: Vec<Value> =
                value["devices"].as_array().map(|a| a.iter().map(compact_device).collect()).unwrap_or_default();
            let text = if devices.is_empty() {
                "No Spotify devices are online. Open Spotify on a phone, computer or speaker.".to_string()
            } else {
                devices
                    .iter()
                    .map(|d| {
                        format!(
                            "{} ({}){} id {}",
                            d["name"].as_str().unwrap_or("?"),
                            d["type"].as_str().unwrap_or("?"),
                            if d["is_active"] == true { ", active," } else { "," },
                            d["id"].as_str().unwrap_or("")
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            ToolResult::ok(text, json!({"devices": devices}))
        }
        "get_queue" => {
            let current = value["currently_playing"].is_object().then(|| compact_track(&value["currently_playing"]));
            let queue: Vec<Value> =
                value["queue"].as_array().map(|a| a.iter().take(20).map(compact_track).collect()).unwrap_or_default();
            let mut text = match &current {
                Some(c) => format!("Now: {}", c["name"].as_str().unwrap_or("?")),
                None => "Nothing is playing.".to_string(),
            };
            for (i, t) in queue.iter().enumerate() {
                text.push_str(&format!(
                    "\n{}. {} {}",
                    i + 1,
                    t["name"].as_str().unwrap_or("?"),
                    t["uri"].as_str().unwrap_or("")
                ));
            }
            ToolResult::ok(text, json!({"current": current, "queue": queue}))
        }
        "transfer_playback" => ToolResult::ok("Playback moved.", json!({"ok": true, "action": "transfer_playback"})),
        _ => ToolResult::ok(action, json!({"ok": true, "action": name})),
    }
}
