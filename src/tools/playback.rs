//! Playback: state, devices, queue, `play`, `control_playback` (pause, resume, next,
//! previous, seek, volume, shuffle, repeat, transfer) and `add_to_queue`.
//! One Spotify call each, except: naming a device by name (+1: the device list) and a
//! "no active device" failure (+1: the device list, so the message can name them).

use crate::core::platform::Platform;
use crate::mcp::model::ToolResult;
use crate::spotify::session::{SessionError, SpotifySession};
use crate::spotify::SpotifyError;
use crate::tools::search::compact_track;
use crate::tools::{arg_str, errors, ids, Toolbox};
use serde_json::{json, Value};

/// A validated call: the Spotify request and how its answer is shown.
struct Request {
    method: &'static str,
    path: &'static str,
    query: Vec<(&'static str, String)>,
    body: Option<Value>,
    reply: Reply,
}

enum Reply {
    State,
    Devices,
    Queue,
    /// A command that worked: its name (the `action` of the output) and what to say.
    Done(String, String),
    /// Playback moved; `play` starts it on the new device.
    Transfer {
        play: bool,
    },
}

impl Request {
    fn get(path: &'static str, reply: Reply) -> Request {
        Request { method: "GET", path, query: Vec::new(), body: None, reply }
    }
}

/// A `control_playback` call (its arguments checked against the catalogue: the command
/// takes and has what it needs).
fn control(args: &Value) -> Request {
    let mut query = Vec::new();
    let command = arg_str(args, "command");
    let (method, path, done) = match command {
        "pause" => ("PUT", "/v1/me/player/pause", "Paused.".to_string()),
        "resume" => ("PUT", "/v1/me/player/play", "Resumed playback.".to_string()),
        "next" => ("POST", "/v1/me/player/next", "Skipped to the next track.".to_string()),
        "previous" => ("POST", "/v1/me/player/previous", "Went back to the previous track.".to_string()),
        "seek" => {
            let ms = args["position_ms"].as_u64().unwrap_or_default();
            query.push(("position_ms", ms.to_string()));
            ("PUT", "/v1/me/player/seek", format!("Jumped to {}:{:02}.", ms / 60_000, ms / 1000 % 60))
        }
        "volume" => {
            let v = args["volume_percent"].as_u64().unwrap_or_default();
            query.push(("volume_percent", v.to_string()));
            ("PUT", "/v1/me/player/volume", format!("Volume set to {v}%."))
        }
        "shuffle" => {
            let on = args["state"].as_bool().unwrap_or_default();
            query.push(("state", on.to_string()));
            ("PUT", "/v1/me/player/shuffle", format!("Shuffle {}.", if on { "on" } else { "off" }))
        }
        "repeat" => {
            let s = arg_str(args, "state");
            query.push(("state", s.to_string()));
            ("PUT", "/v1/me/player/repeat", format!("Repeat set to {s}."))
        }
        _ => {
            let play = args["play"].as_bool().unwrap_or(false);
            return Request {
                method: "PUT",
                path: "/v1/me/player",
                query,
                body: None,
                reply: Reply::Transfer { play },
            };
        }
    };
    Request { method, path, query, body: None, reply: Reply::Done(command.to_string(), done) }
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
    errors::describe(tb, e)
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

fn play(args: &Value) -> Result<Request, ToolResult> {
    let mut b = json!({});
    match (args["uri"].as_str(), args["uris"].as_array()) {
        (Some(_), Some(_)) => return Err(ToolResult::error("give either uri or uris, not both.")),
        (Some(u), None) => match ids::parse(u, Some("track"), ids::KINDS).map_err(ToolResult::error)? {
            (kind, id) if kind == "track" || kind == "episode" => b["uris"] = json!([format!("spotify:{kind}:{id}")]),
            (kind, id) => b["context_uri"] = json!(format!("spotify:{kind}:{id}")),
        },
        (None, Some(items)) => {
            let uris =
                items.iter().map(|u| ids::uri(u.as_str().unwrap_or_default(), Some("track"), &["track", "episode"]));
            b["uris"] = json!(uris.collect::<Result<Vec<_>, _>>().map_err(ToolResult::error)?);
        }
        (None, None) => {}
    }
    if let Some(n) = args["offset"].as_u64() {
        if b.get("context_uri").is_none() {
            return Err(ToolResult::error("offset applies to an album, playlist, artist or show uri."));
        }
        b["offset"] = json!({"position": n});
    }
    if let Some(ms) = args["position_ms"].as_u64() {
        b["position_ms"] = json!(ms);
    }
    let resume = b.as_object().is_some_and(|o| o.is_empty());
    let done = if resume { "Resumed playback." } else { "Playing." };
    Ok(Request {
        method: "PUT",
        path: "/v1/me/player/play",
        query: Vec::new(),
        body: (!resume).then_some(b),
        reply: Reply::Done("play".to_string(), done.to_string()),
    })
}

fn add_to_queue(args: &Value) -> Result<Request, ToolResult> {
    let uri = ids::uri(arg_str(args, "uri"), Some("track"), &["track", "episode"]).map_err(ToolResult::error)?;
    Ok(Request {
        method: "POST",
        path: "/v1/me/player/queue",
        query: vec![("uri", uri.clone())],
        body: None,
        reply: Reply::Done("add_to_queue".to_string(), format!("Queued {uri}.")),
    })
}

/// The request a call makes, checked before touching Spotify or KV; `None`: not ours.
fn request(name: &str, args: &Value) -> Option<Result<Request, ToolResult>> {
    let read = |path, reply| Ok(Request::get(path, reply));
    Some(match name {
        "get_playback_state" => read("/v1/me/player", Reply::State),
        "get_devices" => read("/v1/me/player/devices", Reply::Devices),
        "get_queue" => read("/v1/me/player/queue", Reply::Queue),
        "play" => play(args),
        "control_playback" => Ok(control(args)),
        "add_to_queue" => add_to_queue(args),
        _ => return None,
    })
}

pub async fn call<P: Platform>(tb: &Toolbox<'_, P>, name: &str, args: &Value) -> Option<ToolResult> {
    let request = match request(name, args)? {
        Ok(r) => r,
        Err(e) => return Some(e),
    };
    let mut session = match tb.session().await {
        Ok(s) => s,
        Err(r) => return Some(r),
    };
    let result = run(tb, &mut session, args["device"].as_str(), request).await;
    tb.count(&session);
    Some(result)
}

async fn run<P: Platform>(
    tb: &Toolbox<'_, P>,
    session: &mut SpotifySession<'_, P>,
    device: Option<&str>,
    request: Request,
) -> ToolResult {
    let Request { method, path, mut query, mut body, reply } = request;
    if let Some(raw) = device {
        match resolve_device(session, raw).await {
            Ok(id) => match reply {
                Reply::Transfer { play } => body = Some(json!({"device_ids": [id], "play": play})),
                _ => query.push(("device_id", id)),
            },
            Err(Ok(msg)) => return ToolResult::error(msg),
            Err(Err(e)) => return failure(tb, session, e).await,
        }
    }
    let value = match session.call(method, path, &query, body.as_ref()).await {
        Ok(v) => v,
        Err(e) => return failure(tb, session, e).await,
    };
    match reply {
        Reply::State => {
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
        Reply::Devices => {
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
        Reply::Queue => {
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
        Reply::Transfer { .. } => ToolResult::ok("Playback moved.", json!({"ok": true, "action": "transfer"})),
        Reply::Done(action, text) => ToolResult::ok(text, json!({"ok": true, "action": action})),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checked(args: Value) -> Value {
        crate::tools::catalogue::find("control_playback").unwrap().check(&args).unwrap()
    }

    #[test]
    fn each_command_makes_its_request() {
        let seek = control(&checked(json!({"command": "seek", "position_ms": 61000, "device": "Kitchen"})));
        assert_eq!((seek.method, seek.path), ("PUT", "/v1/me/player/seek"));
        assert_eq!(seek.query, [("position_ms", "61000".to_string())]);
        let repeat = control(&checked(json!({"command": "repeat", "state": "context"})));
        assert_eq!(repeat.query, [("state", "context".to_string())]);
        let shuffle = control(&checked(json!({"command": "shuffle", "state": false})));
        assert_eq!(shuffle.query, [("state", "false".to_string())]);
        let moved = control(&checked(json!({"command": "transfer", "device": "Laptop", "play": true})));
        assert!(matches!(moved.reply, Reply::Transfer { play: true }));
        let resume = control(&checked(json!({"command": "resume"})));
        assert_eq!((resume.method, resume.path), ("PUT", "/v1/me/player/play"));
        assert!(resume.body.is_none());
        let modes = crate::tools::catalogue::find("control_playback").unwrap().modes().unwrap();
        for case in &modes.cases {
            let mut args =
                json!({"command": case.name, "position_ms": 0, "volume_percent": 0, "state": "off", "device": "x"});
            if case.name == "shuffle" {
                args["state"] = json!(true);
            }
            args.as_object_mut().unwrap().retain(|k, _| k == "command" || case.takes.contains(k));
            let r = control(&checked(args));
            assert!(r.path.starts_with("/v1/me/player"), "{}", case.name);
        }
    }
}
