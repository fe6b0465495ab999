//! Dispatches one JSON-RPC request in whichever era it speaks. Stateless: nothing is kept
//! between requests, so any isolate at any location can answer any request.
//!
//! - 2026-07-28 ("modern"): no handshake; `_meta` carries the protocol version and client
//!   capabilities on every request; `server/discover` replaces `initialize`.
//! - 2025-11-25, 2025-06-18, 2025-03-26 ("legacy"): `initialize` negotiates, later requests
//!   carry the version in the `MCP-Protocol-Version` header.
#![allow(async_fn_in_trait)]

use crate::mcp::model::*;
use crate::mcp::prompts;
use serde_json::{json, Value};

/// The tools behind the protocol (implemented by `crate::tools`).
pub trait ToolHost {
    /// The `tools` array as JSON text: the list changes only on deploy, so a host keeps it
    /// serialized per isolate and every `tools/list` writes it out as it is (no copy of the
    /// list, no serialization per request).
    fn list(&self, client: Client) -> &'static str;
    /// `Err` only for protocol errors (unknown tool, a `requestState` that fails its
    /// checks); tool failures are `is_error` results.
    async fn call(&self, name: &str, arguments: &Value, client: Client, retry: &Retry) -> Result<ToolResult, RpcError>;
    fn resource_templates(&self) -> Vec<Value>;
    /// One page of resources and the cursor of the next.
    async fn list_resources(
        &self,
        cursor: Option<&str>,
        client: Client,
    ) -> Result<(Vec<Value>, Option<String>), ResourceError>;
    /// The `contents` of a resource.
    async fn read_resource(&self, uri: &str) -> Result<Value, ResourceError>;
}

/// One of two tool hosts. The Worker answers `/mcp` with its tools and, when fair use
/// throttles, with a host that refuses every call: both go through
/// `Either<Toolbox, Throttled>`, so [`handle`] and all it inlines is compiled once, not once
/// per host.
pub enum Either<'a, L, R> {
    Left(&'a L),
    Right(&'a R),
}

impl<L: ToolHost, R: ToolHost> ToolHost for Either<'_, L, R> {
    fn list(&self, client: Client) -> &'static str {
        match self {
            Either::Left(h) => h.list(client),
            Either::Right(h) => h.list(client),
        }
    }
    async fn call(&self, name: &str, arguments: &Value, client: Client, retry: &Retry) -> Result<ToolResult, RpcError> {
        match self {
            Either::Left(h) => h.call(name, arguments, client, retry).await,
            Either::Right(h) => h.call(name, arguments, client, retry).await,
        }
    }
    fn resource_templates(&self) -> Vec<Value> {
        match self {
            Either::Left(h) => h.resource_templates(),
            Either::Right(h) => h.resource_templates(),
        }
    }
    async fn list_resources(
        &self,
        cursor: Option<&str>,
        client: Client,
    ) -> Result<(Vec<Value>, Option<String>), ResourceError> {
        match self {
            Either::Left(h) => h.list_resources(cursor, client).await,
            Either::Right(h) => h.list_resources(cursor, client).await,
        }
    }
    async fn read_resource(&self, uri: &str) -> Result<Value, ResourceError> {
        match self {
            Either::Left(h) => h.read_resource(uri).await,
            Either::Right(h) => h.read_resource(uri).await,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResourceError {
    NotFound(String),
    /// Malformed parameters, such as a cursor this server never handed out: -32602 in every era.
    InvalidParams(String),
    /// Anything else (Spotify unreachable, re-link needed), said in words.
    Failed(String),
}

/// The resource-not-found error of the era: -32602 in 2026-07-28 (SEP-2164), -32002 before.
fn resource_error(e: ResourceError, uri: Option<&str>, modern: bool) -> RpcError {
    match e {
        ResourceError::NotFound(m) => {
            RpcError::new(if modern { INVALID_PARAMS } else { RESOURCE_NOT_FOUND }, m).with_data(json!({"uri": uri}))
        }
        ResourceError::InvalidParams(m) => RpcError::new(INVALID_PARAMS, m),
        ResourceError::Failed(m) => RpcError::new(INTERNAL_ERROR, m),
    }
}

/// The transport-level facts the protocol rules need, lifted out of HTTP by `transport`.
#[derive(Debug, Clone, Default)]
pub struct Envelope {
    pub protocol_version: Option<String>,
    pub method: Option<String>,
    pub name: Option<String>,
    /// This server's public origin, for `websiteUrl`.
    pub origin: Option<String>,
    /// `Mcp-Session-Id` (2025 eras): see [`APPS_SESSION`].
    pub session: Option<String>,
}

/// The prefix of the session id handed to a 2025 client that declared MCP Apps support at
/// `initialize`: the id is all the server remembers of it, so it carries that fact. Other
/// clients get no session id.
pub const APPS_SESSION: &str = "apps.";

/// How a reply should be carried: `transport` maps these to HTTP statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Ok,
    /// A request the spec says to reject at the transport (HTTP 400).
    Rejected,
    /// Unknown method in the modern era (HTTP 404).
    NotFound,
}

pub struct Reply {
    pub class: Class,
    /// The answer, but for its [`Shared`] member, which [`Reply::to_vec`] writes in.
    pub body: Value,
    /// A session id to hand back (`initialize` of an Apps-capable 2025 client).
    pub session: Option<String>,
    pub shared: Option<Shared>,
}

/// A member of the result kept as JSON text per isolate (the tool list), written into
/// `result` after the members of `body["result"]`.
#[derive(Clone, Copy)]
pub struct Shared {
    pub key: &'static str,
    /// Valid JSON: made by serializing a `Value`.
    pub json: &'static str,
}

impl Reply {
    fn new(class: Class, body: Value) -> Reply {
        Reply { class, body, session: None, shared: None }
    }

    fn sharing(mut self, shared: Option<Shared>) -> Reply {
        self.shared = shared;
        self
    }

    /// The answer as JSON bytes. The shared member is spliced in as text: serde_json can
    /// embed text only with its `raw_value` feature, which gives every `to_value` in the
    /// .wasm a JSON parser of its own (5 KB gzip more, measured).
    pub fn to_vec(&self) -> Vec<u8> {
        let text = |v: &Value| serde_json::to_vec(v).unwrap_or_default();
        let (Some(shared), Value::Object(body)) = (self.shared, &self.body) else {
            return text(&self.body);
        };
        let mut out = Vec::with_capacity(shared.json.len() + 256);
        out.push(b'{');
        for (i, (k, v)) in body.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend(text(&Value::from(k.as_str())));
            out.push(b':');
            if k != "result" {
                out.extend(text(v));
                continue;
            }
            // The result's own members, then the shared one.
            out.push(b'{');
            for (k, v) in v.as_object().into_iter().flatten().filter(|(k, _)| *k != shared.key) {
                out.extend(text(&Value::from(k.as_str())));
                out.push(b':');
                out.extend(text(v));
                out.push(b',');
            }
            out.extend(text(&Value::from(shared.key)));
            out.push(b':');
            out.extend_from_slice(shared.json.as_bytes());
            out.push(b'}');
        }
        out.push(b'}');
        out
    }

    /// The whole answer as a `Value`, the shared member included (for tests).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.to_vec()).unwrap_or(Value::Null)
    }
}

pub struct ServerInfo {
    pub name: &'static str,
    pub title: &'static str,
    pub version: &'static str,
    pub instructions: &'static str,
}

pub const INFO: ServerInfo = ServerInfo {
    name: "spotify-mcp-edge",
    title: "Spotify",
    version: env!("CARGO_PKG_VERSION"),
    instructions: "Spotify for the signed-in user. Find things with search (or search_tracks); every result carries a spotify: URI that the other tools accept \
(open.spotify.com links work too). Search returns at most 10 results per type: page with offset. Positions (playlist items, album tracks, play offset) are zero-based.\n\
get_item opens any track, album, artist, show or episode by URI; get_library lists saved tracks and albums, recently played, top tracks and artists, and followed artists.\n\
Playback (play; control_playback: pause, resume, next, previous, seek, volume, shuffle, repeat, transfer; add_to_queue) needs Spotify Premium and an active \
device: if none is active, call get_devices and pass device (a name works), or ask the user to open Spotify somewhere.\n\
Spotify removed recommendations, related artists, audio features, artist top tracks, new releases and browse categories, and hides the items of playlists \
the user neither owns nor collaborates on. Do not promise these; use the prompts discover_similar, taste_profile and build_playlist, which rebuild them from \
search, genres, top items and history.\n\
Destructive actions (edit_playlist_items remove or replace, remove_from_library, forget_me) ask the user through the client when it can; otherwise \
they do nothing until called again with confirm: true, which you pass only after the user agreed. If a tool says Spotify must be \
linked again or a permission is missing, give the user the link it returns (or call get_auth_url).",
};

const DESCRIPTION: &str = "Search Spotify, control playback and manage the signed-in user's library and playlists.";
const ICON_PNG: &[u8] = include_bytes!("../../assets/icon.png");
pub const ICON_SVG: &str = include_str!("../../assets/icon.svg");

pub fn icon_png() -> &'static [u8] {
    ICON_PNG
}

fn icons() -> Value {
    use base64::Engine;
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    json!([
        {"src": format!("data:image/png;base64,{}", b64(ICON_PNG)), "mimeType": "image/png", "sizes": ["64x64"]},
        {"src": format!("data:image/svg+xml;base64,{}", b64(ICON_SVG.as_bytes())), "mimeType": "image/svg+xml", "sizes": ["any"]}
    ])
}

/// `{key: value}`, moving `value` in: `json!` would copy an interpolated `Value` (a list of
/// prompts, resources or contents) through `to_value`.
fn object(key: &str, value: Value) -> Value {
    let mut map = serde_json::Map::new();
    map.insert(key.to_string(), value);
    Value::Object(map)
}

/// How long clients may reuse `tools/list` and `server/discover` (the set changes only on deploy).
const LIST_TTL_MS: u64 = 3_600_000;
/// A user's playlists and items change: clients may reuse them briefly, privately.
const RESOURCE_TTL_MS: u64 = 60_000;

fn server_info(env: &Envelope) -> Value {
    let mut info = json!({"name": INFO.name, "title": INFO.title, "version": INFO.version, "description": DESCRIPTION, "icons": icons()});
    if let Some(origin) = &env.origin {
        info["websiteUrl"] = json!(origin);
    }
    info
}

fn capabilities() -> Value {
    json!({"tools": {"listChanged": false}, "prompts": {"listChanged": false}, "resources": {"listChanged": false}, "completions": {},
           "extensions": {UI_EXTENSION: {"mimeTypes": [UI_MIME]}}})
}

pub async fn handle(host: &impl ToolHost, id: &Value, method: &str, params: &Value, env: &Envelope) -> Reply {
    let meta = params.get("_meta");
    let meta_version = meta.and_then(|m| m.get(META_PROTOCOL_VERSION)).and_then(Value::as_str);
    let header_modern = env.protocol_version.as_deref().is_some_and(|v| !LEGACY_VERSIONS.contains(&v));
    if meta_version.is_some() || (header_modern && method != "initialize") {
        modern(host, id, method, params, env).await
    } else {
        legacy(host, id, method, params, env).await
    }
}

fn reject(id: &Value, class: Class, e: RpcError) -> Reply {
    Reply::new(class, failure(id, &e))
}

/// Header values that are not ASCII arrive as `=?base64?<b64>?=` (2026-07-28).
fn decode_header(value: &str) -> String {
    value
        .strip_prefix("=?base64?")
        .and_then(|v| v.strip_suffix("?="))
        .and_then(|b| base64::Engine::decode(&base64::engine::general_purpose::STANDARD, b).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .unwrap_or_else(|| value.to_string())
}

async fn modern(host: &impl ToolHost, id: &Value, method: &str, params: &Value, env: &Envelope) -> Reply {
    let meta = params.get("_meta");
    let version = meta.and_then(|m| m.get(META_PROTOCOL_VERSION)).and_then(Value::as_str);
    let caps = meta.and_then(|m| m.get(META_CLIENT_CAPABILITIES));
    let Some(version) = version.filter(|_| caps.is_some_and(Value::is_object)) else {
        return reject(
            id,
            Class::Rejected,
            RpcError::new(
                INVALID_PARAMS,
                format!("_meta must carry {META_PROTOCOL_VERSION} and {META_CLIENT_CAPABILITIES}"),
            ),
        );
    };
    // 2026-07-28 requires the routing headers on every request and that they agree with the body.
    let mismatch = |what: &str| reject(id, Class::Rejected, RpcError::new(HEADER_MISMATCH, what.to_string()));
    match &env.protocol_version {
        None => return mismatch("the MCP-Protocol-Version header is required"),
        Some(h) if h != version => {
            return mismatch(&format!("MCP-Protocol-Version header {h:?} differs from _meta version {version:?}"))
        }
        Some(_) => {}
    }
    if version != MODERN_VERSION {
        return reject(
            id,
            Class::Rejected,
            RpcError::new(UNSUPPORTED_VERSION, format!("protocol version {version:?} is not supported"))
                .with_data(json!({"supported": all_versions(), "requested": version})),
        );
    }
    match &env.method {
        None => return mismatch("the Mcp-Method header is required"),
        Some(h) if decode_header(h) != method => return mismatch("Mcp-Method header differs from the request method"),
        Some(_) => {}
    }
    let name = match method {
        "tools/call" | "prompts/get" => params.get("name").and_then(Value::as_str),
        "resources/read" => params.get("uri").and_then(Value::as_str),
        _ => None,
    };
    if let Some(n) = name {
        match &env.name {
            None => return mismatch("the Mcp-Name header is required for this method"),
            Some(h) if decode_header(h) != n => return mismatch("Mcp-Name header differs from the request's name"),
            Some(_) => {}
        }
    }
    let complete = |mut result: Value| {
        if result.get("resultType").is_none() {
            result["resultType"] = json!("complete");
        }
        result["_meta"] = json!({ META_SERVER_INFO: server_info(env) });
        Reply::new(Class::Ok, success(id, result))
    };
    match method {
        "server/discover" => complete(json!({
            "supportedVersions": all_versions(),
            "capabilities": capabilities(),
            "serverInfo": server_info(env),
            "instructions": INFO.instructions,
            "ttlMs": LIST_TTL_MS,
            "cacheScope": "public",
        })),
        _ => match common(host, method, params, Client::from_capabilities(caps.unwrap_or(&Value::Null), true), true)
            .await
        {
            Some(Ok((v, shared))) => complete(v).sharing(shared),
            Some(Err(e)) => Reply::new(Class::Ok, failure(id, &e)),
            None => reject(id, Class::NotFound, RpcError::new(METHOD_NOT_FOUND, format!("Method not found: {method}"))),
        },
    }
}

async fn legacy(host: &impl ToolHost, id: &Value, method: &str, params: &Value, env: &Envelope) -> Reply {
    if method != "initialize" {
        if let Some(h) = &env.protocol_version {
            if !LEGACY_VERSIONS.contains(&h.as_str()) {
                return reject(
                    id,
                    Class::Rejected,
                    RpcError::new(INVALID_REQUEST, format!("Bad Request: unsupported MCP-Protocol-Version {h:?}"))
                        .with_data(json!({"supported": all_versions(), "requested": h})),
                );
            }
        }
    }
    let ok = |result: Value| Reply::new(Class::Ok, success(id, result));
    match method {
        "initialize" => {
            let requested = params.get("protocolVersion").and_then(Value::as_str).unwrap_or(LEGACY_DEFAULT);
            let version = if LEGACY_VERSIONS.contains(&requested) { requested } else { LEGACY_VERSIONS[0] };
            let mut reply = ok(json!({
                "protocolVersion": version,
                "capabilities": capabilities(),
                "serverInfo": server_info(env),
                "instructions": INFO.instructions,
            }));
            let client = Client::from_capabilities(params.get("capabilities").unwrap_or(&Value::Null), false);
            if client.apps {
                reply.session = crate::core::crypto::random_token().ok().map(|r| format!("{APPS_SESSION}{r}"));
            }
            reply
        }
        "ping" => ok(json!({})),
        _ => match common(host, method, params, legacy_client(env), false).await {
            Some(Ok((v, shared))) => ok(v).sharing(shared),
            Some(Err(e)) => Reply::new(Class::Ok, failure(id, &e)),
            None => Reply::new(
                Class::Ok,
                failure(id, &RpcError::new(METHOD_NOT_FOUND, format!("Method not found: {method}"))),
            ),
        },
    }
}

/// What a 2025 client declared at `initialize`, as its session id remembers it.
fn legacy_client(env: &Envelope) -> Client {
    Client { apps: env.session.as_deref().is_some_and(|s| s.starts_with(APPS_SESSION)), ..Client::default() }
}

/// The methods both eras share. `modern` adds the 2026-07-28 caching hints, picks the era's
/// resource-not-found code and reads retries. `None`: not a method of ours.
async fn common(
    host: &impl ToolHost,
    method: &str,
    params: &Value,
    client: Client,
    modern: bool,
) -> Option<Result<(Value, Option<Shared>), RpcError>> {
    let hints = |mut v: Value, ttl: u64, scope: &str| {
        if modern {
            v["ttlMs"] = json!(ttl);
            v["cacheScope"] = json!(scope);
        }
        v
    };
    if method == "tools/list" {
        let shared = Shared { key: "tools", json: host.list(client) };
        return Some(Ok((hints(json!({}), LIST_TTL_MS, "public"), Some(shared))));
    }
    let answer = match method {
        "tools/call" => call_tool(host, params, client, modern).await,
        "prompts/list" => Ok(hints(object("prompts", prompts::list()), LIST_TTL_MS, "public")),
        "prompts/get" => prompts::get(
            params.get("name").and_then(Value::as_str).unwrap_or(""),
            params.get("arguments").unwrap_or(&Value::Null),
        ),
        "completion/complete" => prompts::complete(params),
        "resources/templates/list" => {
            Ok(hints(object("resourceTemplates", Value::Array(host.resource_templates())), LIST_TTL_MS, "public"))
        }
        "resources/list" => match host.list_resources(params.get("cursor").and_then(Value::as_str), client).await {
            Ok((resources, next)) => {
                let mut r = object("resources", Value::Array(resources));
                if let Some(n) = next {
                    r["nextCursor"] = json!(n);
                }
                Ok(hints(r, RESOURCE_TTL_MS, "private"))
            }
            Err(e) => Err(resource_error(e, None, modern)),
        },
        "resources/read" => {
            let uri = params.get("uri").and_then(Value::as_str).unwrap_or("");
            match host.read_resource(uri).await {
                Ok(contents) => Ok(hints(object("contents", contents), RESOURCE_TTL_MS, "private")),
                Err(e) => Err(resource_error(e, Some(uri), modern)),
            }
        }
        _ => return None,
    };
    Some(answer.map(|v| (v, None)))
}

async fn call_tool(host: &impl ToolHost, params: &Value, client: Client, modern: bool) -> Result<Value, RpcError> {
    let Some(name) = params.get("name").and_then(Value::as_str) else {
        return Err(RpcError::new(INVALID_PARAMS, "tools/call needs a tool name"));
    };
    let empty = json!({});
    let args = params.get("arguments").unwrap_or(&empty);
    if !args.is_object() {
        return Err(RpcError::new(INVALID_PARAMS, "arguments must be an object"));
    }
    // Only a 2026-07-28 request can be the retry of an `input_required` result.
    let retry = if modern {
        Retry {
            input_responses: params.get("inputResponses").filter(|v| v.is_object()).cloned(),
            request_state: params.get("requestState").and_then(Value::as_str).map(str::to_string),
        }
    } else {
        Retry::default()
    };
    Ok(host.call(name, args, client, &retry).await?.into_json())
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::executor::block_on;

    struct Echo;
    impl ToolHost for Echo {
        fn list(&self, _: Client) -> &'static str {
            r#"[{"name":"echo","inputSchema":{"type":"object"}}]"#
        }
        async fn call(&self, name: &str, args: &Value, _: Client, _: &Retry) -> Result<ToolResult, RpcError> {
            match name {
                "echo" => Ok(ToolResult::ok("echoed", json!({"args": args}))),
                _ => Err(RpcError::new(INVALID_PARAMS, "Unknown tool")),
            }
        }
        fn resource_templates(&self) -> Vec<Value> {
            vec![]
        }
        async fn list_resources(
            &self,
            _: Option<&str>,
            _: Client,
        ) -> Result<(Vec<Value>, Option<String>), ResourceError> {
            Ok((vec![], None))
        }
        async fn read_resource(&self, uri: &str) -> Result<Value, ResourceError> {
            Err(ResourceError::NotFound(format!("no {uri}")))
        }
    }

    fn modern_params(extra: Value) -> Value {
        let mut p = json!({"_meta": {META_PROTOCOL_VERSION: MODERN_VERSION, META_CLIENT_CAPABILITIES: {}}});
        if let Value::Object(m) = extra {
            for (k, v) in m {
                p[k] = v;
            }
        }
        p
    }

    fn run(method: &str, params: Value, env: Envelope) -> Reply {
        let reply = block_on(handle(&Echo, &json!(7), method, &params, &env));
        Reply { body: reply.json(), shared: None, ..reply }
    }

    /// The headers a well-behaved 2026-07-28 client sends for this request.
    fn headers(method: &str, name: Option<&str>) -> Envelope {
        Envelope {
            protocol_version: Some(MODERN_VERSION.into()),
            method: Some(method.into()),
            name: name.map(str::to_string),
            origin: None,
            session: None,
        }
    }

    #[test]
    fn legacy_initialize_negotiates() {
        let r = run("initialize", json!({"protocolVersion": "2025-06-18"}), Envelope::default());
        assert_eq!(r.body["result"]["protocolVersion"], "2025-06-18");
        let r = run("initialize", json!({"protocolVersion": "2024-11-05"}), Envelope::default());
        assert_eq!(r.body["result"]["protocolVersion"], "2025-11-25");
        assert_eq!(r.body["id"], 7);
    }

    /// The tool list is written in as shared text: the answer on the wire is the same JSON
    /// a `Value` would give, in both eras, with the modern era's hints beside it.
    #[test]
    fn tools_list_writes_the_shared_list_into_the_result() {
        let legacy = block_on(handle(&Echo, &json!(7), "tools/list", &json!({}), &Envelope::default()));
        let wire: Value = serde_json::from_slice(&legacy.to_vec()).unwrap();
        assert_eq!(
            wire,
            json!({"jsonrpc": "2.0", "id": 7, "result": {"tools": [{"name": "echo", "inputSchema": {"type": "object"}}]}})
        );
        let env = headers("tools/list", None);
        let modern = block_on(handle(&Echo, &json!("a"), "tools/list", &modern_params(json!({})), &env));
        let wire: Value = serde_json::from_slice(&modern.to_vec()).unwrap();
        let result = wire["result"].as_object().unwrap();
        assert_eq!(result["tools"][0]["name"], "echo");
        assert_eq!((result["ttlMs"].as_u64(), result["cacheScope"].as_str()), (Some(LIST_TTL_MS), Some("public")));
        assert_eq!(result["resultType"], "complete");
        assert!(result["_meta"][META_SERVER_INFO].is_object());
        assert_eq!(result.keys().filter(|k| *k == "tools").count(), 1);
        // Any other answer serializes as its body.
        let ping = block_on(handle(&Echo, &json!(1), "ping", &json!({}), &Envelope::default()));
        assert_eq!(ping.to_vec(), serde_json::to_vec(&ping.body).unwrap());
    }

    #[test]
    fn legacy_rejects_unknown_header_version() {
        let env = Envelope { protocol_version: Some("2024-01-01".into()), ..Default::default() };
        let r = run("tools/list", json!({}), env);
        assert_eq!(r.class, Class::Rejected);
    }

    #[test]
    fn modern_discover_and_caching_hints() {
        let env = Envelope { origin: Some("https://mcp.example".into()), ..headers("server/discover", None) };
        let r = run("server/discover", modern_params(json!({})), env);
        assert_eq!(r.class, Class::Ok);
        let res = &r.body["result"];
        assert_eq!(res["resultType"], "complete");
        assert!(res["supportedVersions"].as_array().unwrap().contains(&json!("2026-07-28")));
        assert_eq!(res["_meta"][META_SERVER_INFO]["name"], "spotify-mcp-edge");
        assert_eq!(res["serverInfo"]["websiteUrl"], "https://mcp.example");
        assert!(res["serverInfo"]["icons"][0]["src"].as_str().unwrap().starts_with("data:image/png;base64,iVBOR"));
        assert!(res["instructions"].as_str().unwrap().contains("zero-based"));
        assert!(res["capabilities"]["prompts"].is_object() && res["capabilities"]["completions"].is_object());
        let r = run("tools/list", modern_params(json!({})), headers("tools/list", None));
        assert!(r.body["result"]["ttlMs"].as_u64().unwrap() > 0);
        // Routing headers are required in this era.
        let r = run("tools/list", modern_params(json!({})), Envelope::default());
        assert_eq!(r.body["error"]["code"], HEADER_MISMATCH);
        let env = Envelope { method: None, ..headers("tools/list", None) };
        assert_eq!(run("tools/list", modern_params(json!({})), env).body["error"]["code"], HEADER_MISMATCH);
        let r = run("tools/call", modern_params(json!({"name": "echo"})), headers("tools/call", None));
        assert_eq!(r.body["error"]["code"], HEADER_MISMATCH);
    }

    #[test]
    fn modern_error_order() {
        // Missing capabilities.
        let r = run("tools/list", json!({"_meta": {META_PROTOCOL_VERSION: MODERN_VERSION}}), Envelope::default());
        assert_eq!((r.class, r.body["error"]["code"].as_i64()), (Class::Rejected, Some(INVALID_PARAMS)));
        // Header mismatch wins over unsupported.
        let mut p = modern_params(json!({}));
        p["_meta"][META_PROTOCOL_VERSION] = json!("2099-01-01");
        let env = Envelope { protocol_version: Some(MODERN_VERSION.into()), ..Default::default() };
        assert_eq!(run("tools/list", p.clone(), env).body["error"]["code"], HEADER_MISMATCH);
        let env = Envelope { protocol_version: Some("2099-01-01".into()), ..headers("tools/list", None) };
        let r = run("tools/list", p, env);
        assert_eq!(r.body["error"]["code"], UNSUPPORTED_VERSION);
        assert_eq!(r.body["error"]["data"]["requested"], "2099-01-01");
        // Removed methods are unknown in the modern era.
        for m in ["initialize", "ping", "logging/setLevel"] {
            let r = run(m, modern_params(json!({})), headers(m, None));
            assert_eq!((r.class, r.body["error"]["code"].as_i64()), (Class::NotFound, Some(METHOD_NOT_FOUND)), "{m}");
        }
        // Mcp-Name must match, base64 form included.
        let env = headers("tools/call", Some("=?base64?ZWNobw==?="));
        assert_eq!(run("tools/call", modern_params(json!({"name": "echo"})), env).class, Class::Ok);
        let env = headers("tools/call", Some("other"));
        assert_eq!(
            run("tools/call", modern_params(json!({"name": "echo"})), env).body["error"]["code"],
            HEADER_MISMATCH
        );
    }

    #[test]
    fn resource_not_found_code_depends_on_the_era() {
        let env = headers("resources/read", Some("tracks://x"));
        let r = run("resources/read", modern_params(json!({"uri": "tracks://x"})), env);
        assert_eq!(
            (r.body["error"]["code"].as_i64(), r.body["error"]["data"]["uri"].as_str()),
            (Some(INVALID_PARAMS), Some("tracks://x"))
        );
        let r = run("resources/read", json!({"uri": "tracks://x"}), Envelope::default());
        assert_eq!(r.body["error"]["code"], RESOURCE_NOT_FOUND);
    }

    #[test]
    fn unknown_tool_is_invalid_params_in_band() {
        let r = run("tools/call", modern_params(json!({"name": "nope"})), headers("tools/call", Some("nope")));
        assert_eq!((r.class, r.body["error"]["code"].as_i64()), (Class::Ok, Some(INVALID_PARAMS)));
    }
}
