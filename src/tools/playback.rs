//! Playback: state, devices, queue, `play`, `control_playback` (pause, resume, next,
//! previous, seek, volume, shuffle, repeat, transfer) and `add_to_queue`.
//! One Spotify call each, except: naming a device by name (+1: the device list) and a
//! "no active device" failure (+1: the device list, so the message can name them).

use crate::core::platform::Platform;
use crate::mcp::model::ToolResult;
use crate::spotify::session::{SessionError, SpotifySession};
use crate::spotify::SpotifyError;
use crate::tools::search::compact_track;
use crate::tools::{check_applies, check_known, errors, ids, mode, object_schema, output, tool, Toolbox, READS};
use serde_json::{json, Value};

const CONTROL_SCOPE: &str = "Needs Premium and an active device.";

fn device_prop() -> Value {
    json!({"type": "string", "description": "Id or name (get_devices); default: active one"})
}

fn command_output() -> Value {
    output(json!({"ok": {"type": "boolean"}, "action": {"type": "string"}}), &["ok", "action"])
}

/// One `control_playback` command: its name and the arguments it takes besides `device`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Command {
    Pause,
    Resume,
    Next,
    Previous,
    Seek,
    Volume,
    Shuffle,
    Repeat,
    Transfer,
}

impl Command {
    const ALL: [Command; 9] = [
        Command::Pause,
        Command::Resume,
        Command::Next,
        Command::Previous,
        Command::Seek,
        Command::Volume,
        Command::Shuffle,
        Command::Repeat,
        Command::Transfer,
    ];

    fn name(self) -> &'static str {
        match self {
            Command::Pause => "pause",
            Command::Resume => "resume",
            Command::Next => "next",
            Command::Previous => "previous",
            Command::Seek => "seek",
            Command::Volume => "volume",
            Command::Shuffle => "shuffle",
            Command::Repeat => "repeat",
            Command::Transfer => "transfer",
        }
    }

    fn takes(self) -> &'static [&'static str] {
        match self {
            Command::Seek => &["position_ms", "device"],
            Command::Volume => &["volume_percent", "device"],
            Command::Shuffle | Command::Repeat => &["state", "device"],
            Command::Transfer => &["device", "play"],
            _ => &["device"],
        }
    }

    fn names() -> Vec<&'static str> {
        Command::ALL.iter().map(|c| c.name()).collect()
    }
}

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
    Done(&'static str, String),
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

fn control(args: &Value) -> Result<Request, ToolResult> {
    const KNOWN: &[&str] = &["command", "position_ms", "volume_percent", "state", "device", "play"];
    check_known(args, KNOWN)?;
    let names = Command::names();
    let name = mode(args, "command", &names)?;
    let command = Command::ALL.into_iter().find(|c| c.name() == name).unwrap_or(Command::Pause);
    check_applies(args, "command", name, command.takes())?;
    let missing = |what: &str| ToolResult::error(format!("command {name} needs {what}."));
    let mut query = Vec::new();
    let (method, path, done) = match command {
        Command::Pause => ("PUT", "/v1/me/player/pause", "Paused.".to_string()),
        Command::Resume => ("PUT", "/v1/me/player/play", "Resumed playback.".to_string()),
        Command::Next => ("POST", "/v1/me/player/next", "Skipped to the next track.".to_string()),
        Command::Previous => ("POST", "/v1/me/player/previous", "Went back to the previous track.".to_string()),
        Command::Seek => match args.get("position_ms").map(Value::as_u64) {
            Some(Some(ms)) if ms <= 86_400_000 => {
                query.push(("position_ms", ms.to_string()));
                ("PUT", "/v1/me/player/seek", format!("Jumped to {}:{:02}.", ms / 60_000, ms / 1000 % 60))
            }
            Some(_) => return Err(ToolResult::error("position_ms must be a non-negative integer (milliseconds).")),
            None => return Err(missing("position_ms: milliseconds from the start of the track")),
        },
        Command::Volume => match args.get("volume_percent").map(Value::as_u64) {
            Some(Some(v)) if v <= 100 => {
                query.push(("volume_percent", v.to_string()));
                ("PUT", "/v1/me/player/volume", format!("Volume set to {v}%."))
            }
            Some(_) => return Err(ToolResult::error("volume_percent must be an integer from 0 to 100.")),
            None => return Err(missing("volume_percent: an integer from 0 to 100")),
        },
        Command::Shuffle => match args.get("state").map(Value::as_bool) {
            Some(Some(on)) => {
                query.push(("state", on.to_string()));
                ("PUT", "/v1/me/player/shuffle", format!("Shuffle {}.", if on { "on" } else { "off" }))
            }
            Some(None) => return Err(ToolResult::error("for shuffle, state must be true or false.")),
            None => return Err(missing("state: true or false")),
        },
        Command::Repeat => match args.get("state").map(Value::as_str) {
            Some(Some(s @ ("track" | "context" | "off"))) => {
                query.push(("state", s.to_string()));
                ("PUT", "/v1/me/player/repeat", format!("Repeat set to {s}."))
            }
            Some(_) => return Err(ToolResult::error("for repeat, state must be \"track\", \"context\" or \"off\".")),
            None => return Err(missing("state: \"track\", \"context\" or \"off\"")),
        },
        Command::Transfer => {
            if arg_str(args, "device").is_none() {
                return Err(missing("device: a device id or name from get_devices"));
            }
            if args.get("play").is_some_and(|p| !p.is_boolean()) {
                return Err(ToolResult::error("play must be true or false."));
            }
            let play = args.get("play").and_then(Value::as_bool).unwrap_or(false);
            return Ok(Request {
                method: "PUT",
                path: "/v1/me/player",
                query,
                body: None,
                reply: Reply::Transfer { play },
            });
        }
    };
    Ok(Request { method, path, query, body: None, reply: Reply::Done(command.name(), done) })
}

pub fn definitions() -> Vec<Value> {
    let no_args = object_schema(json!({}), &[]);
    vec![
        tool(
            "get_playback_state",
            "What's playing",
            "What is playing where: track, playing or paused, progress, device, shuffle, repeat.",
            no_args.clone(),
            output(
                json!({"is_playing": {"type": "boolean"}, "track": {"type": ["object", "null"]}, "progress_ms": {"type": "integer"},
                       "device": {"type": ["object", "null"]}, "shuffle": {"type": "boolean"}, "repeat": {"type": "string"},
                       "context_uri": {"type": ["string", "null"]}}),
                &["is_playing"],
            ),
            READS,
        ),
        tool(
            "get_devices",
            "Devices",
            "The user's Spotify Connect devices and which one is active.",
            no_args.clone(),
            output(json!({"devices": {"type": "array"}}), &["devices"]),
            READS,
        ),
        tool(
            "get_queue",
            "Queue",
            "The current track and the tracks queued after it.",
            no_args,
            output(json!({"current": {"type": ["object", "null"]}, "queue": {"type": "array"}}), &["queue"]),
            READS,
        ),
        tool(
            "play",
            "Play",
            &format!("Play a track, or an album/playlist/artist/show uri (offset: zero-based track in it), or uris in order; neither resumes. {CONTROL_SCOPE}"),
            object_schema(
                json!({
                    "uri": {"type": "string"},
                    "uris": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 100},
                    "offset": {"type": "integer", "minimum": 0},
                    "position_ms": {"type": "integer", "minimum": 0},
                    "device": device_prop()
                }),
                &[],
            ),
            command_output(),
            [false, false, true],
        ),
        tool(
            "control_playback",
            "Control playback",
            &format!("pause, resume, next, previous, seek (position_ms), volume (volume_percent), shuffle (state: true/false), repeat (state: track/context/off), transfer (to device; play: start). {CONTROL_SCOPE}"),
            object_schema(
                json!({
                    "command": {"type": "string", "enum": Command::names()},
                    "position_ms": {"type": "integer", "minimum": 0},
                    "volume_percent": {"type": "integer", "minimum": 0, "maximum": 100},
                    "state": {"type": ["boolean", "string"], "enum": [true, false, "track", "context", "off"]},
                    "device": device_prop(),
                    "play": {"type": "boolean"}
                }),
                &["command"],
            ),
            command_output(),
            [false, false, false],
        ),
        tool(
            "add_to_queue",
            "Add to queue",
            &format!("Queue a track or episode. {CONTROL_SCOPE}"),
            object_schema(json!({"uri": {"type": "string"}, "device": device_prop()}), &["uri"]),
            command_output(),
            [false, false, false],
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

fn arg_str<'a>(args: &'a Value, key: &str) -> Option<&'a str> {
    args.get(key).and_then(Value::as_str)
}

fn play(args: &Value) -> Result<Request, ToolResult> {
    check_known(args, &["uri", "uris", "offset", "position_ms", "device"])?;
    let mut b = json!({});
    match (arg_str(args, "uri"), args.get("uris")) {
        (Some(_), Some(_)) => return Err(ToolResult::error("give either uri or uris, not both.")),
        (Some(u), None) => match ids::parse(u, Some("track"), ids::KINDS).map_err(ToolResult::error)? {
            (kind, id) if kind == "track" || kind == "episode" => b["uris"] = json!([format!("spotify:{kind}:{id}")]),
            (kind, id) => b["context_uri"] = json!(format!("spotify:{kind}:{id}")),
        },
        (None, Some(list)) => {
            let Some(items) = list.as_array().filter(|a| !a.is_empty() && a.len() <= 100) else {
                return Err(ToolResult::error("uris must be a list of 1 to 100 track URIs."));
            };
            let mut uris = Vec::new();
            for item in items {
                let u = item.as_str().ok_or_else(|| ToolResult::error("uris must contain strings."))?;
                uris.push(ids::uri(u, Some("track"), &["track", "episode"]).map_err(ToolResult::error)?);
            }
            b["uris"] = json!(uris);
        }
        (None, None) => {}
    }
    if let Some(o) = args.get("offset") {
        match o.as_u64() {
            Some(n) if b.get("context_uri").is_some() => b["offset"] = json!({"position": n}),
            Some(_) => return Err(ToolResult::error("offset applies to an album, playlist, artist or show uri.")),
            None => return Err(ToolResult::error("offset must be a zero-based integer.")),
        }
    }
    if let Some(p) = args.get("position_ms") {
        let ms = p.as_u64().ok_or_else(|| ToolResult::error("position_ms must be a non-negative integer."))?;
        b["position_ms"] = json!(ms);
    }
    let resume = b.as_object().is_some_and(|o| o.is_empty());
    let done = if resume { "Resumed playback." } else { "Playing." };
    Ok(Request {
        method: "PUT",
        path: "/v1/me/player/play",
        query: Vec::new(),
        body: (!resume).then_some(b),
        reply: Reply::Done("play", done.to_string()),
    })
}

fn add_to_queue(args: &Value) -> Result<Request, ToolResult> {
    check_known(args, &["uri", "device"])?;
    let raw = arg_str(args, "uri").ok_or_else(|| ToolResult::error("uri is required: the track to queue."))?;
    let uri = ids::uri(raw, Some("track"), &["track", "episode"]).map_err(ToolResult::error)?;
    Ok(Request {
        method: "POST",
        path: "/v1/me/player/queue",
        query: vec![("uri", uri.clone())],
        body: None,
        reply: Reply::Done("add_to_queue", format!("Queued {uri}.")),
    })
}

/// The request a call makes, validated before touching Spotify or KV; `None`: not ours.
fn request(name: &str, args: &Value) -> Option<Result<Request, ToolResult>> {
    let read = |path, reply| check_known(args, &[]).map(|()| Request::get(path, reply));
    Some(match name {
        "get_playback_state" => read("/v1/me/player", Reply::State),
        "get_devices" => read("/v1/me/player/devices", Reply::Devices),
        "get_queue" => read("/v1/me/player/queue", Reply::Queue),
        "play" => play(args),
        "control_playback" => control(args),
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
    let result = run(tb, &mut session, arg_str(args, "device"), request).await;
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

    fn refused(r: Result<Request, ToolResult>) -> String {
        match r {
            Err(e) => e.to_json()["content"][0]["text"].as_str().unwrap().to_string(),
            Ok(_) => panic!("accepted"),
        }
    }

    #[test]
    fn each_command_takes_its_arguments() {
        for (args, needle) in [
            (json!({}), "command is required"),
            (json!({"command": "stop"}), "one of: pause, resume"),
            (json!({"command": "seek"}), "command seek needs position_ms"),
            (json!({"command": "seek", "position_ms": -1}), "non-negative"),
            (json!({"command": "volume"}), "command volume needs volume_percent"),
            (json!({"command": "volume", "volume_percent": 101}), "0 to 100"),
            (json!({"command": "shuffle"}), "command shuffle needs state"),
            (json!({"command": "shuffle", "state": "on"}), "true or false"),
            (json!({"command": "repeat", "state": true}), "\"track\""),
            (json!({"command": "transfer"}), "command transfer needs device"),
            (json!({"command": "transfer", "device": "Laptop", "play": "yes"}), "play must be"),
            (json!({"command": "pause", "volume_percent": 3}), "volume_percent does not apply to command pause"),
            (json!({"command": "next", "play": true}), "play does not apply"),
            (json!({"command": "pause", "volume": 3}), "Unknown argument \"volume\""),
        ] {
            let msg = refused(control(&args));
            assert!(msg.contains(needle), "{args}: {msg}");
        }
        let seek = control(&json!({"command": "seek", "position_ms": 61000, "device": "Kitchen"})).unwrap();
        assert_eq!((seek.method, seek.path), ("PUT", "/v1/me/player/seek"));
        assert_eq!(seek.query, [("position_ms", "61000".to_string())]);
        let repeat = control(&json!({"command": "repeat", "state": "context"})).unwrap();
        assert_eq!(repeat.query, [("state", "context".to_string())]);
        let moved = control(&json!({"command": "transfer", "device": "Laptop", "play": true})).unwrap();
        assert!(matches!(moved.reply, Reply::Transfer { play: true }));
        let resume = control(&json!({"command": "resume"})).unwrap();
        assert_eq!((resume.method, resume.path), ("PUT", "/v1/me/player/play"));
        assert!(resume.body.is_none());
    }

    #[test]
    fn the_command_enum_lists_every_command() {
        let def = definitions().into_iter().find(|d| d["name"] == "control_playback").unwrap();
        assert_eq!(def["inputSchema"]["properties"]["command"]["enum"], json!(Command::names()));
        for c in Command::ALL {
            for arg in c.takes() {
                assert!(def["inputSchema"]["properties"][*arg].is_object(), "{arg}");
            }
        }
    }
}
