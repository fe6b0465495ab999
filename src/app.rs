//! The router: one function from an [`HttpRequest`] to an [`HttpResponse`], the same on
//! the host (tests) and in the Worker. Every path answers with a well-formed body.

use crate::context::Ctx;
use crate::core::config::{Config, ConfigProblem, EnvSource};
use crate::core::http::{HttpRequest, HttpResponse};
use crate::core::platform::{Limiter, Platform};
use crate::mcp::{server, transport};
use crate::oauth::{bearer, clients, flow, metadata, revoke, token};
use crate::tools::Toolbox;
use serde_json::json;

/// What a request's log line would say: no tokens, no ids, only a hash prefix of the user.
#[derive(Debug, Default, Clone)]
pub struct RequestLog {
    pub user: Option<String>,
    pub spotify_calls: u32,
    pub rpc_method: Option<String>,
    /// Things an operator should know that did not fail the request (never a value).
    pub warnings: Vec<&'static str>,
}

impl RequestLog {
    /// The line worth writing for a request answered with `status`, if any: when something
    /// went wrong or was held back (warnings, a server error, a throttle). Method, path,
    /// status and timing of every request come from Workers observability, which an
    /// operator gets without a line of ours and without its cost on every request.
    pub fn line(&self, status: u16) -> Option<serde_json::Value> {
        if self.warnings.is_empty() && status < 500 && status != 429 {
            return None;
        }
        let mut line =
            json!({"status": status, "user": self.user, "rpc": self.rpc_method, "spotify_calls": self.spotify_calls});
        if !self.warnings.is_empty() {
            line["warnings"] = json!(self.warnings);
        }
        Some(line)
    }
}

const CORS_PATHS: &[&str] = &["/mcp", "/token", "/register", "/revoke"];

/// Request bodies above these are refused with 413 before they are read whole (see the
/// README's Routes table). `/token` and `/revoke` fit a 4 KiB client_id (form-encoded) with
/// an authorization code that carries it; the consent form carries the sealed request,
/// whose `state` is the app's and may be long.
pub const MCP_BODY_LIMIT: usize = transport::MAX_BODY_BYTES;
pub const REGISTER_BODY_LIMIT: usize = 16 * 1024;
pub const TOKEN_BODY_LIMIT: usize = 32 * 1024;
pub const CONSENT_BODY_LIMIT: usize = 64 * 1024;
/// Every other route: none of them reads more than a few fields.
pub const OTHER_BODY_LIMIT: usize = 16 * 1024;

/// The most body `method` on `path` may carry. Runtime adapters ask this before reading a
/// body, and read no further than it.
pub fn body_limit(method: &str, path: &str) -> usize {
    match (method, path) {
        (_, "/mcp") => MCP_BODY_LIMIT,
        (_, "/register") => REGISTER_BODY_LIMIT,
        (_, "/token" | "/revoke") => TOKEN_BODY_LIMIT,
        ("POST", "/authorize") => CONSENT_BODY_LIMIT,
        _ => OTHER_BODY_LIMIT,
    }
}

fn kib(bytes: usize) -> String {
    format!("{} KiB", bytes / 1024)
}

/// The 413 for a body over [`body_limit`]: JSON-RPC shaped on `/mcp`, an OAuth error elsewhere.
pub fn too_large(req: &HttpRequest) -> HttpResponse {
    let path = req.url.path();
    let limit = body_limit(&req.method, path);
    let resp = if path == "/mcp" {
        transport::too_large(limit)
    } else {
        crate::oauth::error(
            413,
            "invalid_request",
            &format!("the request body is larger than {} allowed on {path}", kib(limit)),
        )
    };
    cors(req, resp)
}

/// Before reading a body: a declared `Content-Length` over the route's limit is refused
/// at once. `Ok` is the limit to read up to (the length may be absent or lie).
pub fn admit_body(req: &HttpRequest) -> Result<usize, HttpResponse> {
    let limit = body_limit(&req.method, req.url.path());
    match req.content_length() {
        Some(n) if n > limit as u64 => Err(too_large(req)),
        _ => Ok(limit),
    }
}

/// CORS headers answer browsers only: a browser's cross-origin request always carries
/// `Origin`, and on a response to a request without one (every native client, every
/// scanner) nobody reads them. Locally each header costs a measurable share of the
/// unauthenticated probe's CPU (README "Performance"). The early-answer memo of the entry
/// module keys on `Origin` as well, so a replayed answer matches its request.
fn cors(req: &HttpRequest, mut resp: HttpResponse) -> HttpResponse {
    let path = req.url.path();
    if req.header("origin").is_some() && (CORS_PATHS.contains(&path) || path.starts_with("/.well-known/")) {
        resp = resp
            .with_header("access-control-allow-origin", "*")
            .with_header("access-control-expose-headers", "WWW-Authenticate, Mcp-Session-Id, MCP-Protocol-Version");
    }
    resp
}

fn preflight() -> HttpResponse {
    HttpResponse::new(204)
        .with_header("access-control-allow-methods", "GET, POST, OPTIONS")
        .with_header(
            "access-control-allow-headers",
            "Authorization, Content-Type, Accept, MCP-Protocol-Version, Mcp-Method, Mcp-Name, Last-Event-ID",
        )
        .with_header("access-control-max-age", "86400")
}

/// `notes`: things to know about a working configuration (a key rollover in progress);
/// `warnings`: what works but should be fixed (a fair-use limiter that is not bound).
pub fn health(problems: &[ConfigProblem], notes: &[ConfigProblem], warnings: Vec<serde_json::Value>) -> HttpResponse {
    let list = |l: &[ConfigProblem]| -> Vec<_> {
        l.iter().map(|p| json!({"variable": p.variable, "problem": p.problem})).collect()
    };
    let status = if problems.is_empty() { 200 } else { 503 };
    let mut body = json!({"status": if problems.is_empty() { "ok" } else { "misconfigured" },
        "problems": list(problems), "warnings": warnings});
    if !notes.is_empty() {
        body["notes"] = json!(list(notes));
    }
    HttpResponse::json(status, &body).with_header("cache-control", "no-store")
}

fn insecure(req: &HttpRequest) -> HttpResponse {
    if req.method == "GET" && !req.url.path().starts_with("/mcp") {
        let mut https = req.url.clone();
        if https.set_scheme("https").is_ok() {
            return HttpResponse::new(301).with_header("location", https.as_str());
        }
    }
    HttpResponse::json(
        403,
        &json!({"error": "https_required", "error_description": "this server answers plain http only on loopback addresses; use https"}),
    )
}

fn not_found() -> HttpResponse {
    HttpResponse::json(
        404,
        &json!({"error": "not_found", "error_description": "no such endpoint; the MCP endpoint is /mcp"}),
    )
}

/// The configuration of a deployment, or what is wrong with it. A runtime adapter parses it
/// once per isolate (an isolate serves one deployment, whose variables do not change).
pub type Configured<'a> = Result<&'a Config, &'a [ConfigProblem]>;

/// Entry point, configuration read from `env` (tests and any adapter that does not keep it).
pub async fn handle<P: Platform>(platform: &P, env: &dyn EnvSource, req: HttpRequest) -> (HttpResponse, RequestLog) {
    let parsed = Config::from_env(env);
    handle_configured(platform, parsed.as_ref().map_err(Vec::as_slice), req).await
}

/// The headers [`answer_before_body`] reads: an adapter may hand over only these.
pub const EARLY_HEADERS: [&str; 2] = ["authorization", "origin"];

/// What needs neither the body, nor the platform, nor any I/O, answered before an adapter
/// reads the body or binds anything: the unauthenticated `/mcp` probe every client starts
/// with (and every scanner sends), which must cost next to nothing. The same checks and
/// answer as the full path; `None` for anything else, and for a broken configuration
/// (which the full path explains).
pub fn answer_before_body(config: Configured<'_>, req: &HttpRequest) -> Option<HttpResponse> {
    config.ok()?;
    if req.method != "POST" || req.url.path() != "/mcp" || bearer::has_bearer(req) {
        return None;
    }
    let origin = req.origin();
    let resp = insecure_unless_local(req)
        .or_else(|| mcp_precheck(&origin, req))
        .unwrap_or_else(|| bearer::challenge(&origin, None));
    Some(cors(req, resp))
}

/// Plain http is served only on loopback (`wrangler dev`). Anything else is either an
/// insecure request or a DNS-rebinding attempt on a local server (a foreign Host resolved to
/// 127.0.0.1): OAuth needs TLS, and a rebound page must get nothing.
fn insecure_unless_local(req: &HttpRequest) -> Option<HttpResponse> {
    (req.url.scheme() == "http" && !crate::core::http::is_loopback_host(&req.url)).then(|| insecure(req))
}

/// Entry point: configuration first (a broken one answers clearly on every route).
pub async fn handle_configured<P: Platform>(
    platform: &P,
    config: Configured<'_>,
    req: HttpRequest,
) -> (HttpResponse, RequestLog) {
    let mut log = RequestLog::default();
    if req.method == "OPTIONS" {
        return (cors(&req, preflight()), log);
    }
    if req.body.len() > body_limit(&req.method, req.url.path()) {
        // Adapters stop reading at the limit; this holds for any that hand over more.
        return (too_large(&req), log);
    }
    let config = match config {
        Ok(c) => c,
        Err(problems) => {
            let resp = if req.url.path() == "/health" {
                health(problems, &[], crate::fair_use::unbound_warnings(platform))
            } else {
                let names: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
                HttpResponse::json(
                    503,
                    &json!({"error": "server_misconfigured", "error_description": names.join("; ")}),
                )
            };
            return (resp, log);
        }
    };
    let ctx = Ctx { platform, config, origin: req.origin() };
    if let Some(refused) = insecure_unless_local(&req) {
        return (refused, log);
    }
    let resp = route(&ctx, &req, &mut log).await;
    (cors(&req, resp), log)
}

async fn route<P: Platform>(ctx: &Ctx<'_, P>, req: &HttpRequest, log: &mut RequestLog) -> HttpResponse {
    let path = req.url.path();
    match (req.method.as_str(), path) {
        (_, "/mcp") => mcp(ctx, req, log).await,
        ("GET", "/.well-known/oauth-protected-resource" | "/.well-known/oauth-protected-resource/mcp") => {
            metadata::protected_resource(ctx)
        }
        ("GET", "/.well-known/oauth-authorization-server" | "/.well-known/oauth-authorization-server/mcp") => {
            metadata::authorization_server(ctx)
        }
        ("POST", "/register") => clients::register(ctx, req),
        ("GET", "/authorize") => flow::authorize(ctx, req).await,
        ("POST", "/authorize") => flow::decide(ctx, req).await,
        ("GET", "/callback") => flow::callback(ctx, req).await,
        ("POST", "/token") => token::token(ctx, req).await,
        ("POST", "/revoke") => revoke::revoke(ctx, req).await,
        ("GET", "/health") => health(&[], &ctx.config.notes(), crate::fair_use::unbound_warnings(ctx.platform)),
        ("GET", "/account") => crate::account::page(ctx, req).await,
        ("GET", "/account/login") => flow::account_login(ctx, req).await,
        ("GET", "/relink") => flow::relink_start(ctx, req).await,
        ("POST", "/account/revoke") => crate::account::revoke(ctx, req).await,
        ("POST", "/account/delete") => crate::account::delete(ctx, req).await,
        ("POST", "/account/logout") => crate::account::logout(ctx, req),
        ("GET", "/") => crate::pages::landing(&ctx.origin),
        ("GET", "/icon.svg") => HttpResponse::new(200)
            .with_header("content-type", "image/svg+xml")
            .with_header("cache-control", "public, max-age=86400")
            .with_body(crate::mcp::server::ICON_SVG.as_bytes().to_vec()),
        ("GET", "/icon.png" | "/favicon.ico") => HttpResponse::new(200)
            .with_header("content-type", "image/png")
            .with_header("cache-control", "public, max-age=86400")
            .with_body(crate::mcp::server::icon_png().to_vec()),
        (_, "/register" | "/token" | "/revoke" | "/authorize" | "/callback" | "/health") => HttpResponse::json(
            405,
            &json!({"error": "method_not_allowed", "error_description": format!("{} is not allowed on {path}", req.method)}),
        ),
        _ => not_found(),
    }
}

/// The checks of `/mcp` before any token is looked at.
fn mcp_precheck(own_origin: &str, req: &HttpRequest) -> Option<HttpResponse> {
    if let Err(r) = transport::check_origin(req, own_origin) {
        return Some(r);
    }
    (req.method != "POST").then(transport::method_not_allowed)
}

async fn mcp<P: Platform>(ctx: &Ctx<'_, P>, req: &HttpRequest, log: &mut RequestLog) -> HttpResponse {
    if let Some(refused) = mcp_precheck(&ctx.origin, req) {
        return refused;
    }
    // Fair use is counted against the user the token names before the token is looked up,
    // so a throttled loop costs no KV read. Only a holder of one of that user's tokens
    // knows the user key (an HMAC), so nobody else can spend a person's allowance.
    if let Some(uk) = bearer::claimed_user(req) {
        let key = format!("u:{}", uk.as_str());
        if let Some(wait) = crate::fair_use::limited(ctx, Limiter::McpCalls, &key).await {
            log.user = Some(uk.log_id().to_string());
            log.warnings.push("throttled: MCP calls per user");
            return crate::fair_use::mcp_throttled::<Toolbox<P>>(req, wait).await;
        }
    }
    // A tool call reads the caller's Spotify link too: the user key is in the token, so both
    // reads go out together (one KV round trip). The link is used only once the token holds;
    // a message that does not parse is answered after authentication, as before.
    let parsed = transport::check_post(req).and_then(|()| transport::parse(req));
    let link_read = match (&parsed, bearer::claimed_user(req)) {
        (Ok((_, method, params)), Some(uk)) if method == "tools/call" => params
            .get("name")
            .and_then(serde_json::Value::as_str)
            .filter(|name| crate::tools::reads_link(name))
            .map(|_| uk),
        _ => None,
    };
    let store = ctx.store();
    let (principal, link) = futures::future::join(bearer::authenticate(ctx, req), async {
        match &link_read {
            Some(uk) => Some(store.get_link(uk).await),
            None => None,
        }
    })
    .await;
    let principal = match principal {
        Ok(p) => p,
        Err(r) => return r,
    };
    // The token's own user, not merely the one it claims (the same, for a valid token).
    let link = link.filter(|_| link_read.as_ref() == Some(&principal.uk));
    log.user = Some(principal.uk.log_id().to_string());
    if !bearer::allowed(ctx, &principal.uk) {
        return crate::oauth::error(
            403,
            "access_denied",
            "this Spotify account is no longer allowed on this server (ALLOWED_SPOTIFY_USERS)",
        );
    }
    let (id, method, params) = match parsed {
        Ok(m) => m,
        Err(r) => return r,
    };
    log.rpc_method = Some(method.clone());
    if let Some(resp) = scope_challenge(ctx, &principal, &method, &params) {
        return resp;
    }
    let toolbox = Toolbox::new(ctx, &principal).with_link(link);
    let host = server::Either::<_, crate::fair_use::Throttled>::Left(&toolbox);
    let reply = server::handle(&host, &id, &method, &params, &transport::envelope(req)).await;
    log.spotify_calls = toolbox.spotify_calls.get();
    log.warnings = toolbox.warnings.take();
    transport::to_http(reply)
}

/// A call outside the connection's capabilities is refused before any KV or Spotify work,
/// with the challenge a client can step up from.
fn scope_challenge<P: Platform>(
    ctx: &Ctx<'_, P>,
    principal: &bearer::Principal,
    method: &str,
    params: &serde_json::Value,
) -> Option<HttpResponse> {
    use crate::core::capability::{Capabilities, Capability};
    let held = Capabilities::from_granted(&principal.access.scope);
    let (needed, what) = match method {
        "tools/call" => {
            let name = params.get("name").and_then(|n| n.as_str())?;
            (crate::tools::capability_of(name)??, format!("the tool {name}"))
        }
        "resources/read" => {
            let uri = params.get("uri").and_then(|n| n.as_str())?;
            (uri.starts_with("playlists://").then_some(Capability::Playlists)?, "reading a playlist".to_string())
        }
        _ => return None,
    };
    (!held.contains(needed)).then(|| bearer::insufficient_scope(ctx, held, Capabilities::NONE.with(needed), &what))
}

/// The whole flow in-process on the host: memory KV (counting operations), the real
/// emulator over loopback. Fast, and the place where the KV budget is held.
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::core::capability::Capabilities;
    use crate::core::crypto::pkce_s256;
    use crate::core::store::Store;
    use crate::core::testing::{emulator_env, TestPlatform};
    use futures::executor::block_on;
    use serde_json::Value;
    use spotify_emulator::{Config as EmuConfig, Emulator};
    use std::collections::HashMap;

    const ORIGIN: &str = "https://mcp.example";

    struct Harness {
        platform: TestPlatform,
        env: HashMap<String, String>,
        emulator: Emulator,
        /// The client id of the last registration.
        last_client_id: std::cell::RefCell<String>,
    }

    impl Harness {
        fn new() -> Self {
            let emulator = Emulator::start(0, EmuConfig::default()).unwrap();
            let env = emulator_env(&emulator);
            Harness { platform: TestPlatform::default(), env, emulator, last_client_id: Default::default() }
        }

        fn send(&self, req: HttpRequest) -> HttpResponse {
            let call = serde_json::from_slice::<Value>(&req.body).ok().filter(|b| b["method"] == "tools/call");
            let resp = block_on(handle(&self.platform, &self.env, req)).0;
            // Every tool result a test sees matches the tool's outputSchema.
            if let (Some(call), Some(body)) = (call, resp.body_json()) {
                let name = call["params"]["name"].as_str().unwrap_or_default();
                crate::tools::catalogue::check_result(name, &body["result"]).unwrap();
            }
            resp
        }

        fn get(&self, url: &str, cookie: Option<&str>) -> HttpResponse {
            let mut req = HttpRequest::new("GET", url::Url::parse(url).unwrap());
            if let Some(c) = cookie {
                req = req.with_header("cookie", c);
            }
            self.send(req)
        }

        fn cookie(resp: &HttpResponse, name: &str) -> String {
            resp.headers
                .iter()
                .filter(|(k, _)| k == "set-cookie")
                .filter_map(|(_, v)| v.split(';').next())
                .find(|kv| kv.starts_with(name))
                .unwrap()
                .to_string()
        }

        fn field(html: &str, name: &str) -> String {
            let marker = format!("name=\"{name}\" value=\"");
            let start = html.find(&marker).unwrap() + marker.len();
            html[start..start + html[start..].find('"').unwrap()].to_string()
        }

        /// Register, consent, sign in at the emulator, redeem: returns the access token.
        fn sign_in(&self, user: &str) -> String {
            self.sign_in_with(user, &["playback", "library", "playlists"], None).unwrap()["access_token"]
                .as_str()
                .unwrap()
                .to_string()
        }

        /// A public client registered for the harness's redirect URI: its client_id.
        fn register(&self) -> String {
            let mut reg = HttpRequest::new("POST", url::Url::parse(&format!("{ORIGIN}/register")).unwrap());
            reg.body = serde_json::to_vec(
                &json!({"redirect_uris": ["http://127.0.0.1:9/cb"], "token_endpoint_auth_method": "none"}),
            )
            .unwrap();
            self.send(reg).body_json().unwrap()["client_id"].as_str().unwrap().to_string()
        }

        /// The consent page's answer for these choices (the page itself, when it comes back).
        fn decide(&self, caps: &[&str], own_app: Option<&str>) -> (HttpResponse, String) {
            let redirect = "http://127.0.0.1:9/cb";
            let client_id = self.register();
            self.last_client_id.replace(client_id.clone());
            let verifier = "v".repeat(50);
            let mut url = url::Url::parse(&format!("{ORIGIN}/authorize")).unwrap();
            url.query_pairs_mut()
                .append_pair("response_type", "code")
                .append_pair("client_id", &client_id)
                .append_pair("redirect_uri", redirect)
                .append_pair("code_challenge", &pkce_s256(&verifier))
                .append_pair("code_challenge_method", "S256");
            let page = self.get(url.as_str(), None);
            let html = String::from_utf8(page.body.clone()).unwrap();
            let csrf = Self::cookie(&page, "__Host-mcp_csrf");
            let (request, token) = (Self::field(&html, "request"), Self::field(&html, "csrf"));
            let mut fields: Vec<(&str, &str)> = vec![("request", &request), ("csrf", &token), ("decision", "approve")];
            fields.extend(caps.iter().map(|c| ("capability", *c)));
            if let Some(id) = own_app {
                fields.extend([("spotify_app", "own"), ("spotify_client_id", id)]);
            }
            let decide = HttpRequest::new("POST", url::Url::parse(&format!("{ORIGIN}/authorize")).unwrap())
                .with_form(&fields)
                .with_header("cookie", csrf);
            // A person reads the page first (approvals within a second are refused).
            self.platform.now_ms.set(self.platform.now_ms.get() + crate::oauth::flow::CONSENT_MIN_DWELL_MS);
            (self.send(decide), client_id)
        }

        /// The whole sign-in with these choices: the token response.
        fn sign_in_with(&self, user: &str, caps: &[&str], own_app: Option<&str>) -> Result<Value, HttpResponse> {
            let (code, client_id) = self.code_for(user, caps, own_app)?;
            let resp = self.exchange(&code, &client_id);
            assert_eq!(resp.status, 200, "{:?}", resp.body_json());
            Ok(resp.body_json().unwrap())
        }

        /// Consent and Spotify sign-in: our authorization code and the client it is for.
        fn code_for(&self, user: &str, caps: &[&str], own_app: Option<&str>) -> Result<(String, String), HttpResponse> {
            let (approved, client_id) = self.decide(caps, own_app);
            if approved.status != 302 {
                return Err(approved);
            }
            let bind = Self::cookie(&approved, "__Host-mcp_bind");
            let mut location = approved.header("location").unwrap().to_string();
            // Spotify, then our callback; a second round when the existing link holds more.
            let back = loop {
                let spotify = format!("{location}&emulator_user={user}");
                let signed_in = ureq::AgentBuilder::new().redirects(0).build().get(&spotify).call().unwrap();
                let back = self.get(signed_in.header("location").unwrap(), Some(&bind));
                match back.header("location") {
                    Some(l) if l.starts_with(&self.emulator.base_url()) => location = l.to_string(),
                    _ => break back,
                }
            };
            let Some(code) = back.header("location").and_then(|l| {
                url::Url::parse(l).unwrap().query_pairs().find(|(k, _)| k == "code").map(|c| c.1.into_owned())
            }) else {
                return Err(back);
            };
            Ok((code, client_id))
        }

        fn exchange(&self, code: &str, client_id: &str) -> HttpResponse {
            self.send(HttpRequest::new("POST", url::Url::parse(&format!("{ORIGIN}/token")).unwrap()).with_form(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", "http://127.0.0.1:9/cb"),
                ("code_verifier", &"v".repeat(50)),
                ("client_id", client_id),
            ]))
        }

        fn refresh(&self, refresh_token: &str, client_id: &str) -> HttpResponse {
            self.send(HttpRequest::new("POST", url::Url::parse(&format!("{ORIGIN}/token")).unwrap()).with_form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
                ("client_id", client_id),
            ]))
        }

        fn profile(&self, token: &str) -> HttpResponse {
            self.mcp(
                token,
                json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                "params": {"name": "get_my_profile", "arguments": {}}}),
            )
        }

        /// A 2026-07-28 request declaring `caps`.
        fn mcp_modern(&self, token: &str, method: &str, mut params: Value, caps: Value) -> HttpResponse {
            params["_meta"] = json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                "io.modelcontextprotocol/clientCapabilities": caps});
            let name = params.get("name").or(params.get("uri")).and_then(Value::as_str).map(str::to_string);
            let mut req = HttpRequest::new("POST", url::Url::parse(&format!("{ORIGIN}/mcp")).unwrap())
                .with_header("authorization", format!("Bearer {token}"))
                .with_header("content-type", "application/json")
                .with_header("mcp-protocol-version", "2026-07-28")
                .with_header("mcp-method", method);
            if let Some(n) = name {
                req = req.with_header("mcp-name", n);
            }
            req.body =
                serde_json::to_vec(&json!({"jsonrpc": "2.0", "id": 9, "method": method, "params": params})).unwrap();
            self.send(req)
        }

        fn mcp(&self, token: &str, body: Value) -> HttpResponse {
            let mut req = HttpRequest::new("POST", url::Url::parse(&format!("{ORIGIN}/mcp")).unwrap())
                .with_header("authorization", format!("Bearer {token}"))
                .with_header("content-type", "application/json");
            req.body = serde_json::to_vec(&body).unwrap();
            self.send(req)
        }
    }

    #[test]
    fn steady_state_tool_call_costs_two_kv_reads_and_no_writes() {
        let h = Harness::new();
        let token = h.sign_in("alice");
        let call = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": "search_tracks", "arguments": {"query": "love"}}});
        assert_eq!(h.mcp(&token, call.clone()).body_json().unwrap()["result"]["isError"], false);
        let kv = &h.platform.kv;
        kv.reset_counts();
        kv.yield_on_get.set(true);
        let resp = h.mcp(&token, call.clone());
        kv.yield_on_get.set(false);
        assert_eq!(resp.body_json().unwrap()["result"]["isError"], false);
        assert_eq!((kv.reads.get(), kv.writes.get(), kv.deletes.get()), (2, 0, 0), "tools/call budget");
        assert_eq!(kv.round_trips.get(), 1, "the access token and the link are read together");
        kv.reset_counts();
        h.mcp(&token, json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}));
        assert_eq!((kv.reads.get(), kv.writes.get()), (1, 0), "tools/list budget");
        // A Spotify refresh costs exactly one write.
        h.emulator.expire_access_tokens("alice");
        kv.reset_counts();
        assert_eq!(h.mcp(&token, call).body_json().unwrap()["result"]["isError"], false);
        assert_eq!((kv.reads.get(), kv.writes.get()), (2, 1), "refresh budget");
    }

    fn refresh(h: &Harness, refresh_token: &str) -> HttpResponse {
        let client_id = h.last_client_id.borrow().clone();
        h.send(HttpRequest::new("POST", url::Url::parse(&format!("{ORIGIN}/token")).unwrap()).with_form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", &client_id),
        ]))
    }

    fn tool_call(name: &str) -> Value {
        json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": name, "arguments": {}}})
    }

    #[test]
    fn a_looping_client_is_throttled_per_user_without_kv_reads() {
        let h = Harness::new();
        let token = h.sign_in("tia");
        let other = h.sign_in("uma");
        h.platform.limiter.set_limit(Limiter::McpCalls, Some(3));
        let list = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/list"});
        for _ in 0..3 {
            assert_eq!(h.mcp(&token, list.clone()).status, 200);
        }
        let kv = &h.platform.kv;
        kv.reset_counts();
        let refused = h.mcp(&token, list.clone());
        assert_eq!(refused.status, 429);
        assert_eq!(refused.header("retry-after"), Some("60"));
        let body = refused.body_json().unwrap();
        assert_eq!(body["id"], 3);
        assert_eq!(body["error"]["code"], crate::fair_use::RATE_LIMITED);
        assert_eq!(body["error"]["data"]["retryAfterSeconds"], 60);
        assert!(body["error"]["message"].as_str().unwrap().contains("Wait 60 seconds"), "{body}");
        let call = h.mcp(&token, tool_call("get_my_profile"));
        assert_eq!(call.status, 200, "a tool call gets a tool result the model can read");
        assert_eq!(call.header("retry-after"), Some("60"));
        let result = &call.body_json().unwrap()["result"];
        assert_eq!(result["isError"], true);
        assert!(result["content"][0]["text"].as_str().unwrap().contains("Wait 60 seconds"), "{result}");
        assert_eq!((kv.reads.get(), kv.writes.get()), (0, 0), "throttled before the token lookup");
        assert_eq!(h.mcp(&other, list.clone()).status, 200, "another user has their own allowance");
        h.platform.now_ms.set(h.platform.now_ms.get() + 60_000);
        assert_eq!(h.mcp(&token, list).status, 200, "the next minute is allowed again");
    }

    #[test]
    fn an_unbound_limiter_allows_everything_and_health_says_so() {
        let h = Harness::new();
        assert_eq!(h.get(&format!("{ORIGIN}/health"), None).body_json().unwrap()["warnings"], json!([]));
        h.platform.limiter.set_limit(Limiter::McpCalls, None);
        let health = h.get(&format!("{ORIGIN}/health"), None);
        assert_eq!(health.status, 200);
        let warnings = health.body_json().unwrap()["warnings"].clone();
        assert_eq!(warnings[0]["binding"], "MCP_LIMITER", "{warnings}");
        let token = h.sign_in("vic");
        for _ in 0..5 {
            assert_eq!(h.mcp(&token, json!({"jsonrpc": "2.0", "id": 1, "method": "ping"})).status, 200);
        }
    }

    #[test]
    fn refreshes_are_limited_per_grant_per_minute_and_per_hour() {
        let h = Harness::new();
        let grant = h.sign_in_with("wes", &["playback"], None).unwrap();
        let mut rt = grant["refresh_token"].as_str().unwrap().to_string();
        // The burst limit of the binding, counted per grant.
        h.platform.limiter.set_limit(Limiter::Tokens, Some(2));
        for _ in 0..2 {
            let r = refresh(&h, &rt);
            assert_eq!(r.status, 200, "{:?}", r.body_json());
            rt = r.body_json().unwrap()["refresh_token"].as_str().unwrap().to_string();
        }
        let kv = &h.platform.kv;
        kv.reset_counts();
        let refused = refresh(&h, &rt);
        assert_eq!(refused.status, 429);
        assert_eq!(refused.header("retry-after"), Some("60"));
        assert_eq!(refused.body_json().unwrap()["error"], "temporarily_unavailable");
        assert_eq!((kv.writes.get(), kv.deletes.get()), (0, 0));
        // The hourly count the records carry: two more this hour, then none until it ends.
        h.platform.limiter.set_limit(Limiter::Tokens, Some(100));
        for _ in 2..crate::fair_use::REFRESHES_PER_GRANT_PER_HOUR {
            let r = refresh(&h, &rt);
            assert_eq!(r.status, 200, "{:?}", r.body_json());
            rt = r.body_json().unwrap()["refresh_token"].as_str().unwrap().to_string();
        }
        h.platform.now_ms.set(h.platform.now_ms.get() + 600_000);
        let refused = refresh(&h, &rt);
        assert_eq!(refused.status, 429);
        assert_eq!(refused.header("retry-after"), Some("3000"), "until the hour of the first refresh ends");
        let body = refused.body_json().unwrap();
        assert!(body["error_description"].as_str().unwrap().contains("refreshed 4 times this hour"), "{body}");
        h.platform.now_ms.set(h.platform.now_ms.get() + 3_000_000);
        assert_eq!(refresh(&h, &rt).status, 200, "the token was kept and works after the wait");
    }

    #[test]
    fn sign_ins_are_limited_per_user() {
        let h = Harness::new();
        h.platform.limiter.set_limit(Limiter::Tokens, Some(2));
        h.sign_in("xan");
        h.sign_in("xan");
        let redirect = "http://127.0.0.1:9/cb";
        let (approved, client_id) = h.decide(&["playback", "library", "playlists"], None);
        let bind = Harness::cookie(&approved, "__Host-mcp_bind");
        let spotify = format!("{}&emulator_user=xan", approved.header("location").unwrap());
        let signed_in = ureq::AgentBuilder::new().redirects(0).build().get(&spotify).call().unwrap();
        let back = h.get(signed_in.header("location").unwrap(), Some(&bind));
        let location = url::Url::parse(back.header("location").unwrap()).unwrap();
        let code = location.query_pairs().find(|(k, _)| k == "code").unwrap().1.into_owned();
        let resp = h.send(HttpRequest::new("POST", url::Url::parse(&format!("{ORIGIN}/token")).unwrap()).with_form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", redirect),
            ("code_verifier", &"v".repeat(50)),
            ("client_id", &client_id),
        ]));
        assert_eq!(resp.status, 429);
        assert_eq!(resp.body_json().unwrap()["error"], "temporarily_unavailable");
        assert_eq!(h.sign_in_with("yul", &["playback"], None).unwrap()["scope"], "playback", "others sign in");
    }

    #[test]
    fn sign_ins_are_counted_per_user_and_day_in_the_link_at_no_write() {
        let mut h = Harness::new();
        h.env.insert("SIGN_INS_PER_DAY".into(), "2".into());
        let first = h.sign_in("zed");
        h.sign_in("zed");
        let kv = &h.platform.kv;
        kv.reset_counts();
        let refused = h.sign_in_with("zed", &["playback"], None).unwrap_err();
        assert_eq!(refused.status, 429);
        let now = h.platform.now_ms.get() / 1000;
        assert_eq!(
            refused.header("retry-after"),
            Some((86_400 - now % 86_400).to_string().as_str()),
            "until UTC midnight"
        );
        let page = String::from_utf8(refused.body.clone()).unwrap();
        assert!(page.contains("Too many sign-ins today") && page.contains("2 times today"), "{page}");
        assert_eq!((kv.writes.get(), kv.deletes.get()), (0, 0), "nothing stored, nothing counted");
        assert_eq!(h.profile(&first).body_json().unwrap()["result"]["isError"], false, "existing connections work");
        assert_eq!(h.sign_in_with("amy", &["playback"], None).unwrap()["scope"], "playback", "others sign in");
        h.platform.now_ms.set(h.platform.now_ms.get() + 86_400_000);
        h.sign_in("zed");
    }

    #[test]
    fn refreshes_are_limited_per_user_and_day_across_grants() {
        let mut h = Harness::new();
        h.env.insert("REFRESHES_PER_DAY".into(), "3".into());
        let a = h.sign_in_with("kit", &["playback"], None).unwrap();
        let a_client = h.last_client_id.borrow().clone();
        let b = h.sign_in_with("kit", &["library"], None).unwrap();
        let b_client = h.last_client_id.borrow().clone();
        let other = h.sign_in_with("lou", &["library"], None).unwrap();
        let other_client = h.last_client_id.borrow().clone();
        let rotate = |rt: &str, client: &str| -> HttpResponse { h.refresh(rt, client) };
        let next = |r: HttpResponse| -> String {
            assert_eq!(r.status, 200, "{:?}", r.body_json());
            r.body_json().unwrap()["refresh_token"].as_str().unwrap().to_string()
        };
        let mut a_rt = next(rotate(a["refresh_token"].as_str().unwrap(), &a_client));
        a_rt = next(rotate(&a_rt, &a_client));
        let b_rt = next(rotate(b["refresh_token"].as_str().unwrap(), &b_client));
        let kv = &h.platform.kv;
        kv.reset_counts();
        let refused = rotate(&b_rt, &b_client);
        assert_eq!(refused.status, 429, "the user's 4th refresh today, on another grant");
        let now = h.platform.now_ms.get() / 1000;
        assert_eq!(refused.header("retry-after"), Some((86_400 - now % 86_400).to_string().as_str()));
        let body = refused.body_json().unwrap();
        assert_eq!(body["error"], "temporarily_unavailable");
        assert!(body["error_description"].as_str().unwrap().contains("3 times today"), "{body}");
        assert_eq!((kv.writes.get(), kv.deletes.get()), (0, 0));
        assert_eq!(rotate(&a_rt, &a_client).status, 429, "every grant of the user");
        next(rotate(other["refresh_token"].as_str().unwrap(), &other_client));
        h.platform.now_ms.set(h.platform.now_ms.get() + 86_400_000);
        next(rotate(&b_rt, &b_client));
    }

    #[test]
    fn the_unauthenticated_probe_is_answered_before_the_body_exactly_as_the_full_path_would() {
        let h = Harness::new();
        let config = Config::from_env(&h.env).unwrap();
        let request = |origin: Option<&str>, token: Option<&str>| {
            let mut r = HttpRequest::new("POST", url::Url::parse(&format!("{ORIGIN}/mcp")).unwrap())
                .with_header("content-type", "application/json");
            if let Some(o) = origin {
                r = r.with_header("origin", o);
            }
            if let Some(t) = token {
                r = r.with_header("authorization", format!("Bearer {t}"));
            }
            r.body = br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#.to_vec();
            r
        };
        let kv = &h.platform.kv;
        for origin in [None, Some(ORIGIN), Some("https://evil.example")] {
            kv.reset_counts();
            let early = answer_before_body(Ok(&config), &request(origin, None)).expect("answered early");
            assert_eq!((kv.reads.get(), kv.writes.get()), (0, 0));
            let full = h.send(request(origin, None));
            assert_eq!(
                (early.status, &early.headers, &early.body),
                (full.status, &full.headers, &full.body),
                "{origin:?}"
            );
        }
        assert_eq!(answer_before_body(Ok(&config), &request(None, None)).unwrap().status, 401);
        assert!(answer_before_body(Ok(&config), &request(None, Some("x.y"))).is_none(), "a token is looked up");
        let mut get = request(None, None);
        get.method = "GET".into();
        assert!(answer_before_body(Ok(&config), &get).is_none());
        let problems = Config::from_env(&std::collections::HashMap::<String, String>::new()).unwrap_err();
        assert!(answer_before_body(Err(&problems), &request(None, None)).is_none(), "a broken config says so");
    }

    #[test]
    fn cors_headers_answer_browsers_only() {
        let h = Harness::new();
        let probe = |origin: Option<&str>| {
            let mut r = HttpRequest::new("POST", url::Url::parse(&format!("{ORIGIN}/mcp")).unwrap())
                .with_header("content-type", "application/json");
            if let Some(o) = origin {
                r = r.with_header("origin", o);
            }
            r.body = br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#.to_vec();
            h.send(r)
        };
        let browser = probe(Some(ORIGIN));
        assert_eq!(browser.status, 401);
        assert_eq!(browser.header("access-control-allow-origin"), Some("*"));
        assert!(browser.header("access-control-expose-headers").unwrap().contains("WWW-Authenticate"));
        let native = probe(None);
        let names: Vec<&str> = native.headers.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["www-authenticate"], "the 401 a native client gets: the challenge alone");
        assert!(native.body.is_empty() && browser.body.is_empty(), "no error code without credentials (RFC 6750 §3.1)");
        // A browser-based client on an https page reads the challenge; a plain-http page on
        // another host (DNS rebinding of a local server) is refused.
        assert_eq!(probe(Some("https://client.example")).header("access-control-allow-origin"), Some("*"));
        assert_eq!(probe(Some("http://rebind.example")).status, 403);
    }

    #[test]
    fn a_log_line_only_when_it_says_what_the_platform_cannot() {
        let quiet = RequestLog {
            user: Some("abcd1234".into()),
            rpc_method: Some("tools/call".into()),
            spotify_calls: 1,
            ..Default::default()
        };
        assert_eq!(quiet.line(200), None);
        assert_eq!(quiet.line(401), None);
        assert_eq!(quiet.line(503).unwrap()["status"], 503);
        assert_eq!(quiet.line(429).unwrap()["user"], "abcd1234");
        let warned = RequestLog { warnings: vec!["spotify_link_not_stored"], ..quiet };
        assert_eq!(warned.line(200).unwrap()["warnings"], json!(["spotify_link_not_stored"]));
    }

    const APPS: &str = "io.modelcontextprotocol/ui";

    fn apps_caps() -> Value {
        json!({"extensions": {APPS: {"mimeTypes": ["text/html;profile=mcp-app"]}}})
    }

    fn view_of(tools: &Value, name: &str) -> Value {
        tools.as_array().unwrap().iter().find(|t| t["name"] == name).unwrap()["_meta"]["ui"]["resourceUri"].clone()
    }

    #[test]
    fn apps_clients_of_2026_see_views_others_see_the_plain_list() {
        let h = Harness::new();
        let token = h.sign_in("vera");
        let list = |caps: Value| h.mcp_modern(&token, "tools/list", json!({}), caps).body_json().unwrap();
        let with = list(apps_caps())["result"]["tools"].clone();
        assert_eq!(view_of(&with, "get_playback_state"), "ui://spotify/player.html");
        assert_eq!(view_of(&with, "search"), "ui://spotify/list.html");
        assert_eq!(view_of(&with, "get_playlist"), "ui://spotify/list.html");
        assert_eq!(view_of(&with, "play"), Value::Null, "tools without a view carry no _meta");
        let without = list(json!({}))["result"]["tools"].clone();
        assert!(without.as_array().unwrap().iter().all(|t| t.get("_meta").is_none()), "{without}");
        let other_mime = list(json!({"extensions": {APPS: {"mimeTypes": ["text/plain"]}}}))["result"]["tools"].clone();
        assert_eq!(view_of(&other_mime, "get_playback_state"), Value::Null);
        let discover = h.mcp_modern(&token, "server/discover", json!({}), json!({})).body_json().unwrap();
        assert_eq!(
            discover["result"]["capabilities"]["extensions"][APPS]["mimeTypes"],
            json!(["text/html;profile=mcp-app"])
        );
        let resources = h.mcp_modern(&token, "resources/list", json!({}), apps_caps()).body_json().unwrap();
        let uris: Vec<_> =
            resources["result"]["resources"].as_array().unwrap().iter().map(|r| r["uri"].clone()).collect();
        assert_eq!(&uris[..2], &[json!("ui://spotify/player.html"), json!("ui://spotify/list.html")], "{uris:?}");
        let plain = h.mcp_modern(&token, "resources/list", json!({}), json!({})).body_json().unwrap();
        assert!(!plain.to_string().contains("ui://"), "{plain}");
    }

    #[test]
    fn a_2025_client_declares_apps_once_and_its_session_id_remembers() {
        let h = Harness::new();
        let token = h.sign_in("walt");
        let init = |caps: Value| {
            h.mcp(&token, json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                "params": {"protocolVersion": "2025-11-25", "capabilities": caps, "clientInfo": {"name": "t", "version": "1"}}}))
        };
        let plain = init(json!({}));
        assert_eq!(plain.header("mcp-session-id"), None, "no session for a client without Apps");
        assert_eq!(
            plain.body_json().unwrap()["result"]["capabilities"]["extensions"][APPS]["mimeTypes"][0],
            "text/html;profile=mcp-app"
        );
        let apps = init(apps_caps());
        let session = apps.header("mcp-session-id").expect("a session id carries the Apps flag").to_string();
        assert!(session.starts_with("apps.") && session.len() > 20, "{session}");
        let list = |session: Option<&str>| {
            let mut req = HttpRequest::new("POST", url::Url::parse(&format!("{ORIGIN}/mcp")).unwrap())
                .with_header("authorization", format!("Bearer {token}"))
                .with_header("content-type", "application/json")
                .with_header("mcp-protocol-version", "2025-11-25");
            if let Some(s) = session {
                req = req.with_header("mcp-session-id", s);
            }
            req.body = serde_json::to_vec(&json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"})).unwrap();
            h.send(req).body_json().unwrap()["result"]["tools"].clone()
        };
        assert_eq!(view_of(&list(Some(&session)), "get_playback_state"), "ui://spotify/player.html");
        assert_eq!(view_of(&list(None), "get_playback_state"), Value::Null);
    }

    #[test]
    fn the_views_are_read_from_the_static_assets_with_their_csp() {
        let h = Harness::new();
        let token = h.sign_in("xavi");
        let read =
            |uri: &str| h.mcp_modern(&token, "resources/read", json!({"uri": uri}), json!({})).body_json().unwrap();
        let missing = read("ui://spotify/player.html");
        assert_eq!(missing["error"]["code"], -32603, "{missing}");
        assert!(missing["error"]["message"].as_str().unwrap().contains("not deployed"), "{missing}");
        h.platform.assets.borrow_mut().insert("player.html".into(), "<!doctype html><p>card</p>".into());
        let player = read("ui://spotify/player.html");
        let content = &player["result"]["contents"][0];
        assert_eq!(content["mimeType"], "text/html;profile=mcp-app");
        assert_eq!(content["text"], "<!doctype html><p>card</p>");
        let domains = content["_meta"]["ui"]["csp"]["resourceDomains"].as_array().unwrap();
        assert!(domains.contains(&json!("https://i.scdn.co")), "{content}");
        assert!(domains
            .iter()
            .all(|d| d.as_str().unwrap().ends_with(".scdn.co") || d.as_str().unwrap().ends_with(".spotifycdn.com")));
        assert!(
            content["_meta"]["ui"].get("connectDomains").is_none()
                && content["_meta"]["ui"]["csp"].get("connectDomains").is_none()
        );
        assert_eq!(
            read("ui://spotify/nothing.html")["error"]["code"],
            -32602,
            "an unknown ui:// resource is not found"
        );
    }

    fn elicit_caps() -> Value {
        json!({"elicitation": {"form": {}, "url": {}}})
    }

    /// A 2026-07-28 `tools/call`, optionally a retry with answers and state.
    fn call_modern(h: &Harness, token: &str, name: &str, args: Value, retry: Option<(Value, &str)>) -> Value {
        let mut params = json!({"name": name, "arguments": args});
        if let Some((responses, state)) = retry {
            params["inputResponses"] = responses;
            params["requestState"] = json!(state);
        }
        h.mcp_modern(token, "tools/call", params, elicit_caps()).body_json().unwrap()
    }

    fn playlist_with_two(h: &Harness, token: &str) -> String {
        let call = |name: &str, args: Value| call_modern(h, token, name, args, None)["result"].clone();
        let id = call("create_playlist", json!({"name": "Road trip"}))["structuredContent"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let uris = ["spotify:track:4u7EnebtmKWzUH433cf5Qv", "spotify:track:3BQHpFgAp4l80e1XslIjNI"];
        assert_eq!(
            call("edit_playlist_items", json!({"playlist": id, "action": "add", "uris": uris}))["isError"],
            false
        );
        id
    }

    fn playlist_total(h: &Harness, token: &str, id: &str) -> Value {
        call_modern(h, token, "get_playlist", json!({"playlist": id}), None)["result"]["structuredContent"]["total"]
            .clone()
    }

    #[test]
    fn a_destructive_call_asks_the_person_and_acts_once_on_acceptance() {
        let h = Harness::new();
        let token = h.sign_in("yara");
        let id = playlist_with_two(&h, &token);
        let args = json!({"playlist": id, "action": "replace", "uris": ["spotify:track:2MuWTIM3b0YEAskbeeFE1i"]});
        let asked = call_modern(&h, &token, "edit_playlist_items", args.clone(), None)["result"].clone();
        assert_eq!(asked["resultType"], "input_required", "{asked}");
        let request = &asked["inputRequests"]["confirm"];
        assert_eq!(request["method"], "elicitation/create");
        assert_eq!(request["params"]["mode"], "form");
        assert_eq!(request["params"]["message"], "Replace all 2 items of 'Road trip' with 1 item(s)?");
        assert_eq!(playlist_total(&h, &token, &id), 2, "nothing changed before the answer");
        let state = asked["requestState"].as_str().unwrap().to_string();
        assert!(!state.contains(&id) && !state.contains("Road"), "the state is sealed");
        let accept = json!({"confirm": {"action": "accept", "content": {}}});
        let done = call_modern(&h, &token, "edit_playlist_items", args.clone(), Some((accept.clone(), &state)));
        assert_eq!(done["result"]["resultType"], "complete", "{done}");
        assert_eq!(done["result"]["isError"], false, "{done}");
        assert_eq!(playlist_total(&h, &token, &id), 1);
        // The same state again: not a second action.
        assert_eq!(
            call_modern(
                &h,
                &token,
                "edit_playlist_items",
                json!({"playlist": id, "action": "add", "uris": ["spotify:track:4u7EnebtmKWzUH433cf5Qv"]}),
                None
            )["result"]["isError"],
            false
        );
        let again = call_modern(&h, &token, "edit_playlist_items", args.clone(), Some((accept, &state)));
        assert!(again["result"]["content"][0]["text"].as_str().unwrap().contains("Already done"), "{again}");
        assert_eq!(playlist_total(&h, &token, &id), 2, "the replay changed nothing");
        // An answer that is not ours (or none) asks again, with a fresh state.
        let other = json!({"something_else": {"action": "accept"}});
        let reasked = call_modern(&h, &token, "edit_playlist_items", args, Some((other, &state)))["result"].clone();
        assert_eq!(reasked["resultType"], "input_required");
        assert_ne!(reasked["requestState"], json!(state));
    }

    #[test]
    fn declined_tampered_expired_foreign_and_mismatched_states_change_nothing() {
        let h = Harness::new();
        let token = h.sign_in("zoe");
        let id = playlist_with_two(&h, &token);
        let args = json!({"playlist": id, "action": "remove", "uris": ["spotify:track:4u7EnebtmKWzUH433cf5Qv"]});
        let ask = || {
            let r = call_modern(&h, &token, "edit_playlist_items", args.clone(), None)["result"].clone();
            assert_eq!(
                r["inputRequests"]["confirm"]["params"]["message"],
                "Remove 1 item(s) (every occurrence) from 'Road trip' (2 items)?"
            );
            r["requestState"].as_str().unwrap().to_string()
        };
        let accept = json!({"confirm": {"action": "accept", "content": {}}});
        for action in ["decline", "cancel"] {
            let state = ask();
            let r = call_modern(
                &h,
                &token,
                "edit_playlist_items",
                args.clone(),
                Some((json!({"confirm": {"action": action}}), &state)),
            );
            assert_eq!(r["result"]["isError"], true, "{r}");
            assert!(r["result"]["content"][0]["text"].as_str().unwrap().contains("declined"), "{r}");
        }
        let refused = |r: Value, why: &str| {
            assert_eq!(r["error"]["code"], -32602, "{r}");
            assert!(r["error"]["message"].as_str().unwrap().contains(why), "{why}: {r}");
        };
        let state = ask();
        let mut tampered = state.clone().into_bytes();
        tampered[10] = if tampered[10] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).unwrap();
        refused(
            call_modern(&h, &token, "edit_playlist_items", args.clone(), Some((accept.clone(), &tampered))),
            "altered",
        );
        refused(
            call_modern(
                &h,
                &token,
                "edit_playlist_items",
                args.clone(),
                Some((accept.clone(), &format!("{state}-TAMPERED"))),
            ),
            "altered",
        );
        let other_args = json!({"playlist": id, "action": "remove", "uris": ["spotify:track:3BQHpFgAp4l80e1XslIjNI"]});
        refused(
            call_modern(&h, &token, "edit_playlist_items", other_args, Some((accept.clone(), &state))),
            "another call",
        );
        refused(
            call_modern(
                &h,
                &token,
                "remove_from_library",
                json!({"uris": ["spotify:track:4u7EnebtmKWzUH433cf5Qv"]}),
                Some((accept.clone(), &state)),
            ),
            "another call",
        );
        let mallory = h.sign_in("mallory");
        refused(
            call_modern(&h, &mallory, "edit_playlist_items", args.clone(), Some((accept.clone(), &state))),
            "another user",
        );
        h.platform.now_ms.set(h.platform.now_ms.get() + 301_000);
        refused(call_modern(&h, &token, "edit_playlist_items", args.clone(), Some((accept, &state))), "expired");
        assert_eq!(playlist_total(&h, &token, &id), 2, "none of these removed anything");
    }

    #[test]
    fn without_elicitation_confirm_true_is_the_consent() {
        let h = Harness::new();
        let token = h.sign_in("abe");
        let uri = "spotify:track:4u7EnebtmKWzUH433cf5Qv";
        let call = |name: &str, args: Value| {
            h.mcp(
                &token,
                json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": name, "arguments": args}}),
            )
            .body_json()
            .unwrap()["result"]
                .clone()
        };
        assert_eq!(call("save_to_library", json!({"uris": [uri]}))["isError"], false);
        let saved = || call("check_saved", json!({"uris": [uri]}))["structuredContent"]["items"][0]["saved"].clone();
        let r = call("remove_from_library", json!({"uris": [uri]}));
        assert_eq!(r["isError"], true);
        let text = r["content"][0]["text"].as_str().unwrap();
        assert!(
            text.contains("Remove 1 item(s) from your Spotify library") && text.contains("confirm: true"),
            "{text}"
        );
        assert_eq!(saved(), true);
        assert_eq!(call("remove_from_library", json!({"uris": [uri], "confirm": false}))["isError"], true);
        assert_eq!(saved(), true);
        assert_eq!(call("remove_from_library", json!({"uris": [uri], "confirm": true}))["isError"], false);
        assert_eq!(saved(), false);
        // A 2026 client that did not declare elicitation is treated the same way.
        let modern = h
            .mcp_modern(&token, "tools/call", json!({"name": "forget_me", "arguments": {}}), json!({}))
            .body_json()
            .unwrap();
        assert!(modern["result"]["content"][0]["text"].as_str().unwrap().contains("confirm: true"), "{modern}");
        assert_eq!(h.profile(&token).body_json().unwrap()["result"]["isError"], false, "nothing deleted");
    }

    #[test]
    fn forget_me_asks_and_deletes_on_acceptance() {
        let h = Harness::new();
        let token = h.sign_in("bea");
        let asked = call_modern(&h, &token, "forget_me", json!({"confirm": true}), None)["result"].clone();
        assert_eq!(asked["resultType"], "input_required", "even with confirm: true, a client that can ask does");
        assert!(asked["inputRequests"]["confirm"]["params"]["message"]
            .as_str()
            .unwrap()
            .starts_with("Delete everything"));
        let state = asked["requestState"].as_str().unwrap().to_string();
        let done = call_modern(
            &h,
            &token,
            "forget_me",
            json!({"confirm": true}),
            Some((json!({"confirm": {"action": "accept"}}), &state)),
        );
        assert_eq!(done["result"]["isError"], false, "{done}");
        assert!(done["result"]["structuredContent"]["deleted_items"].as_u64().unwrap() > 0);
    }

    #[test]
    fn a_lost_link_is_mended_through_url_elicitation_and_the_retry_proceeds() {
        let h = Harness::new();
        let token = h.sign_in("cyd");
        let uk = crate::core::secret::UserKey::parse(token.split('.').next().unwrap()).unwrap();
        h.platform.kv.set_raw(&crate::core::store::Store::<TestPlatform>::link_key(&uk), "garbage");
        let asked = call_modern(&h, &token, "get_my_profile", json!({}), None)["result"].clone();
        assert_eq!(asked["resultType"], "input_required", "{asked}");
        let params = &asked["inputRequests"]["confirm"]["params"];
        assert_eq!(params["mode"], "url");
        let url = params["url"].as_str().unwrap();
        assert!(url.starts_with(&format!("{ORIGIN}/relink?t=")) && params["elicitationId"].is_string(), "{params}");
        // The person signs in again at that URL (the emulator as Spotify, then our callback).
        let to_spotify = h.get(url, None);
        let spotify = format!("{}&emulator_user=cyd", to_spotify.header("location").unwrap());
        let signed_in = ureq::AgentBuilder::new().redirects(0).build().get(&spotify).call().unwrap();
        let back = h.get(signed_in.header("location").unwrap(), None);
        assert_eq!(back.status, 200, "{}", String::from_utf8_lossy(&back.body));
        let state = asked["requestState"].as_str().unwrap().to_string();
        let done = call_modern(
            &h,
            &token,
            "get_my_profile",
            json!({}),
            Some((json!({"confirm": {"action": "accept"}}), &state)),
        );
        assert_eq!(done["result"]["isError"], false, "{done}");
        assert_eq!(done["result"]["structuredContent"]["id"], "cyd");
        // A client without URL elicitation gets the link in an error, as before.
        h.platform.kv.set_raw(&crate::core::store::Store::<TestPlatform>::link_key(&uk), "garbage");
        let plain = h
            .mcp_modern(
                &token,
                "tools/call",
                json!({"name": "get_my_profile", "arguments": {}}),
                json!({"elicitation": {}}),
            )
            .body_json()
            .unwrap();
        assert_eq!(plain["result"]["isError"], true);
        assert!(plain["result"]["content"][0]["text"].as_str().unwrap().contains("/relink?t="), "{plain}");
    }

    #[test]
    fn a_long_429_of_the_shared_app_holds_back_every_user_of_it_but_not_own_apps() {
        use spotify_emulator::Fault;
        crate::spotify::backoff::clear();
        let h = Harness::new();
        let ann = h.sign_in("ann");
        let ben = h.sign_in("ben");
        let own = "0123456789abcdef0123456789abcdef";
        h.emulator.register_app(own, &["https://mcp.example/callback"]);
        let own_token = h.sign_in_with("cid", &["playback", "library", "playlists"], Some(own)).unwrap();
        let own_token = own_token["access_token"].as_str().unwrap();
        let text = |r: HttpResponse| {
            let v = r.body_json().unwrap()["result"].clone();
            (v["isError"].as_bool().unwrap(), v["content"][0]["text"].as_str().unwrap().to_string())
        };
        h.emulator.inject_fault("ann", Fault { status: 429, retry_after: Some(30), reason: None }, 1);
        let (failed, msg) = text(h.mcp(&ann, tool_call("get_my_profile")));
        assert!(failed && msg.contains("try again in 30 seconds"), "{msg}");
        assert_eq!(h.platform.slept_ms.get(), 0, "30 s is not waited out inline");
        // Ben's call is answered at once, without reaching Spotify.
        h.platform.now_ms.set(h.platform.now_ms.get() + 10_000);
        let calls = h.emulator.user_request_count("ben", "GET /v1/me");
        let (failed, msg) = text(h.mcp(&ben, tool_call("get_my_profile")));
        assert!(failed && msg.contains("try again in 20 seconds"), "{msg}");
        assert_eq!(h.emulator.user_request_count("ben", "GET /v1/me"), calls);
        // A person's own app has its own quota.
        assert!(!text(h.mcp(own_token, tool_call("get_my_profile"))).0);
        h.platform.now_ms.set(h.platform.now_ms.get() + 20_000);
        assert!(!text(h.mcp(&ben, tool_call("get_my_profile"))).0, "the wait passed");
        // A used-up quota, even without Retry-After, holds the app back too (own app here).
        let fault = Fault { status: 429, retry_after: None, reason: Some("QUOTA_EXCEEDED".into()) };
        h.emulator.inject_fault("cid", fault, 1);
        let (failed, msg) = text(h.mcp(own_token, tool_call("get_my_profile")));
        assert!(failed && msg.contains("quota"), "{msg}");
        let (failed, msg) = text(h.mcp(own_token, tool_call("get_my_profile")));
        assert!(failed && msg.contains("quota"), "held back: {msg}");
        assert!(!text(h.mcp(&ann, tool_call("get_my_profile"))).0, "the shared app is not held back by it");
        crate::spotify::backoff::clear();
    }

    #[test]
    fn short_lived_spotify_tokens_cannot_make_every_call_a_kv_write() {
        let emulator = Emulator::start(0, EmuConfig { access_token_ttl_secs: 30, ..EmuConfig::default() }).unwrap();
        let env = emulator_env(&emulator);
        let h = Harness { platform: TestPlatform::default(), env, emulator, last_client_id: Default::default() };
        let token = h.sign_in("dee");
        let kv = &h.platform.kv;
        kv.reset_counts();
        for _ in 0..10 {
            assert_eq!(h.mcp(&token, tool_call("get_my_profile")).body_json().unwrap()["result"]["isError"], false);
        }
        assert_eq!(h.emulator.user_refresh_count("dee"), 10, "every call refreshed (30 s tokens)");
        assert_eq!(
            kv.writes.get(),
            crate::spotify::session::UNROTATED_LINK_WRITES_PER_HOUR as usize,
            "the rest lived in memory"
        );
    }

    fn tool_names(h: &Harness, token: &str) -> Vec<String> {
        let list = h.mcp(token, json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"})).body_json().unwrap();
        list["result"]["tools"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap().to_string()).collect()
    }

    #[test]
    fn a_narrow_grant_lists_only_its_tools_and_challenges_the_rest() {
        let h = Harness::new();
        let grant = h.sign_in_with("nina", &["playlists"], None).unwrap();
        assert_eq!(grant["scope"], "playlists");
        let token = grant["access_token"].as_str().unwrap();
        let names = tool_names(&h, token);
        assert!(names.contains(&"get_playlist".to_string()) && names.contains(&"search_tracks".to_string()));
        assert!(!names.contains(&"get_playback_state".to_string()), "{names:?}");
        let asked = h.emulator.oauth_log().into_iter().rev().find(|e| e.endpoint == "authorize").unwrap();
        let scopes = asked.scope.unwrap();
        assert!(
            scopes.contains("playlist-modify-private") && !scopes.contains("playback") && !scopes.contains("library")
        );
        let call = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
            "params": {"name": "get_playback_state", "arguments": {}}});
        let kv = &h.platform.kv;
        kv.reset_counts();
        let denied = h.mcp(token, call);
        assert_eq!(denied.status, 403);
        let challenge = denied.header("www-authenticate").unwrap();
        assert!(
            challenge.contains("error=\"insufficient_scope\"") && challenge.contains("scope=\"playback playlists\"")
        );
        // The link was read together with the token (the grant's scope is known only from
        // the token's record); nothing after the token check.
        assert_eq!((kv.reads.get(), kv.writes.get()), (2, 0), "refused after the token check, before anything else");
    }

    #[test]
    fn a_narrower_second_client_keeps_the_first_clients_spotify_scopes() {
        let h = Harness::new();
        h.sign_in_with("olga", &["playback", "library", "playlists"], None).unwrap();
        let narrow = h.sign_in_with("olga", &["playlists"], None).unwrap();
        assert_eq!(narrow["scope"], "playlists");
        let cfg = Config::from_env(&h.env).unwrap();
        let store = Store::new(&h.platform, &cfg.master_key);
        let uk = store.user_key(&crate::core::secret::SpotifyUserId::new("olga"));
        let link = block_on(store.get_link(&uk)).unwrap().unwrap();
        for s in Capabilities::ALL.spotify_scopes() {
            assert!(link.scope.split_whitespace().any(|g| g == s), "{s} lost: {}", link.scope);
        }
        // The second round asked Spotify for the union, not for less.
        let asks: Vec<_> = h.emulator.oauth_log().into_iter().filter(|e| e.endpoint == "authorize").collect();
        assert!(asks.last().unwrap().scope.as_ref().unwrap().contains("user-modify-playback-state"));
    }

    #[test]
    fn own_app_sign_in_uses_only_that_client_id_and_no_secret() {
        let h = Harness::new();
        let own = "0123456789abcdef0123456789abcdef";
        h.emulator.register_app(own, &["https://mcp.example/callback"]);
        let grant = h.sign_in_with("pia", &["playback", "library", "playlists"], Some(own)).unwrap();
        let token = grant["access_token"].as_str().unwrap();
        h.emulator.expire_access_tokens("pia");
        let r = h.mcp(
            token,
            json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": "get_auth_status", "arguments": {}}}),
        );
        let status = &r.body_json().unwrap()["result"]["structuredContent"];
        assert_eq!(status["app"], "your own app …cdef", "{status}");
        let r = h.mcp(
            token,
            json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
            "params": {"name": "get_my_profile", "arguments": {}}}),
        );
        assert_eq!(r.body_json().unwrap()["result"]["isError"], false);
        let tokens: Vec<_> = h
            .emulator
            .oauth_log()
            .into_iter()
            .filter(|e| e.endpoint == "token" && e.user.as_deref() == Some("pia"))
            .collect();
        assert!(tokens.len() >= 2, "code exchange and a refresh: {tokens:?}");
        assert!(tokens.iter().all(|e| e.client_id == own && !e.secret_presented), "{tokens:?}");
    }

    #[test]
    fn a_bad_own_app_comes_back_to_the_form_and_stores_nothing() {
        let h = Harness::new();
        let keys_before = h.platform.kv.keys().len();
        let (page, _) = h.decide(&["playback"], Some("not-a-client-id"));
        let html = String::from_utf8(page.body.clone()).unwrap();
        assert_eq!(page.status, 400);
        assert!(html.contains("32 characters") && html.contains("value=\"not-a-client-id\""), "{html}");
        let (page, _) = h.decide(&["playback"], Some("ffffffffffffffffffffffffffffffff"));
        assert!(String::from_utf8(page.body).unwrap().contains("does not know this Client ID"));
        h.emulator.register_app("eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee", &["https://elsewhere.example/cb"]);
        let (page, _) = h.decide(&["playback"], Some("eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"));
        let html = String::from_utf8(page.body).unwrap();
        assert!(html.contains("Redirect URI") && html.contains("https://mcp.example/callback"), "{html}");
        assert_eq!(h.platform.kv.keys().len(), keys_before, "nothing stored");
    }

    #[test]
    fn your_connection_sign_in_identifies_without_storing_a_link() {
        let h = Harness::new();
        h.sign_in("quin");
        let keys = h.platform.kv.keys();
        let login = h.get(&format!("{ORIGIN}/account/login?spotify_client_id="), None);
        assert_eq!(login.status, 302, "{:?}", String::from_utf8_lossy(&login.body));
        let bind = Harness::cookie(&login, "__Host-mcp_bind");
        let spotify = format!("{}&emulator_user=quin", login.header("location").unwrap());
        assert!(spotify.contains("scope=user-read-private&"), "{spotify}");
        let signed_in = ureq::AgentBuilder::new().redirects(0).build().get(&spotify).call().unwrap();
        let back = h.get(signed_in.header("location").unwrap(), Some(&bind));
        assert_eq!(back.header("location"), Some("/account"), "{:?}", String::from_utf8_lossy(&back.body));
        let session = Harness::cookie(&back, "__Host-mcp_session");
        let page = String::from_utf8(h.get(&format!("{ORIGIN}/account"), Some(&session)).body).unwrap();
        assert!(page.contains("Signed in as") && page.contains("this server&#39;s Spotify app"), "{page}");
        assert_eq!(h.platform.kv.keys(), keys, "identification only: nothing written");
    }

    #[test]
    fn a_refresh_may_narrow_the_capabilities_never_widen_them() {
        let h = Harness::new();
        let grant = h.sign_in_with("sam", &["playback", "playlists"], None).unwrap();
        assert_eq!(grant["scope"], "playback playlists");
        let refresh = |token: &str, scope: &str, client_id: &str| {
            h.send(HttpRequest::new("POST", url::Url::parse(&format!("{ORIGIN}/token")).unwrap()).with_form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", token),
                ("client_id", client_id),
                ("scope", scope),
            ]))
        };
        let client_id = h.last_client_id.borrow().clone();
        let narrowed = refresh(grant["refresh_token"].as_str().unwrap(), "playlists", &client_id);
        assert_eq!(narrowed.status, 200, "{:?}", narrowed.body_json());
        let narrowed = narrowed.body_json().unwrap();
        assert_eq!(narrowed["scope"], "playlists");
        assert!(!tool_names(&h, narrowed["access_token"].as_str().unwrap()).contains(&"play".to_string()));
        let widened = refresh(narrowed["refresh_token"].as_str().unwrap(), "playback playlists", &client_id);
        assert_eq!(widened.status, 400);
        assert_eq!(widened.body_json().unwrap()["error"], "invalid_scope");
    }

    #[test]
    fn authorize_preselects_the_requested_capabilities_and_refuses_unknown_ones() {
        let h = Harness::new();
        let client_id = h.register();
        let page = |scope: &str| {
            let mut url = url::Url::parse(&format!("{ORIGIN}/authorize")).unwrap();
            url.query_pairs_mut()
                .append_pair("response_type", "code")
                .append_pair("client_id", &client_id)
                .append_pair("redirect_uri", "http://127.0.0.1:9/cb")
                .append_pair("code_challenge", &pkce_s256(&"v".repeat(50)))
                .append_pair("code_challenge_method", "S256")
                .append_pair("scope", scope);
            h.get(url.as_str(), None)
        };
        let html = String::from_utf8(page("playback").body).unwrap();
        assert!(html.contains("value=\"playback\" checked") && html.contains("value=\"library\">"));
        let legacy = String::from_utf8(page("spotify").body).unwrap();
        assert!(["playback", "library", "playlists"]
            .iter()
            .all(|c| legacy.contains(&format!("value=\"{c}\" checked"))));
        let bad = page("playback admin");
        assert_eq!(bad.status, 400, "before consent, errors are our page, not a redirect");
        assert!(bad.header("location").is_none());
        assert!(String::from_utf8(bad.body).unwrap().contains("invalid_scope"));
    }

    #[test]
    fn a_user_removed_from_the_allow_list_loses_access_at_once() {
        let mut h = Harness::new();
        h.env.insert("ALLOWED_SPOTIFY_USERS".into(), "tess,uma".into());
        let grant = h.sign_in_with("tess", &["playback"], None).unwrap();
        let token = grant["access_token"].as_str().unwrap();
        let list = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"});
        assert_eq!(h.mcp(token, list.clone()).status, 200);
        h.env.insert("ALLOWED_SPOTIFY_USERS".into(), "uma".into());
        let kv = &h.platform.kv;
        kv.reset_counts();
        let refused = h.mcp(token, list);
        assert_eq!(refused.status, 403);
        assert_eq!(refused.body_json().unwrap()["error"], "access_denied");
        assert_eq!(kv.reads.get(), 1, "the token check only: the policy costs no KV read");
        let refresh =
            h.send(HttpRequest::new("POST", url::Url::parse(&format!("{ORIGIN}/token")).unwrap()).with_form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", grant["refresh_token"].as_str().unwrap()),
                ("client_id", &h.last_client_id.borrow()),
            ]));
        assert_eq!(refresh.status, 400);
        assert!(refresh.body_json().unwrap()["error_description"].as_str().unwrap().contains("no longer allowed"));
    }

    fn token_of(v: &Value, field: &str) -> String {
        v[field].as_str().unwrap().to_string()
    }

    #[test]
    fn a_replayed_refresh_token_ends_the_whole_grant() {
        let h = Harness::new();
        let first = h.sign_in_with("vic", &["playback"], None).unwrap();
        let client_id = h.last_client_id.borrow().clone();
        let second = h.refresh(&token_of(&first, "refresh_token"), &client_id).body_json().unwrap();
        let (a2, r2) = (token_of(&second, "access_token"), token_of(&second, "refresh_token"));
        assert_eq!(h.profile(&a2).status, 200);
        // A thief (or a confused client) presents the rotated-out token again.
        let replay = h.refresh(&token_of(&first, "refresh_token"), &client_id);
        assert_eq!(replay.status, 400);
        assert!(replay.body_json().unwrap()["error_description"].as_str().unwrap().contains("already used"));
        // The whole grant ended: the current pair stops working too.
        assert_eq!(h.refresh(&r2, &client_id).status, 400);
        assert_eq!(h.profile(&a2).status, 401);
    }

    #[test]
    fn a_replayed_code_ends_what_its_tokens_were_rotated_into() {
        let h = Harness::new();
        let (code, client_id) = h.code_for("wim", &["playback"], None).unwrap();
        let first = h.exchange(&code, &client_id).body_json().unwrap();
        let rotated = h.refresh(&token_of(&first, "refresh_token"), &client_id).body_json().unwrap();
        let a2 = token_of(&rotated, "access_token");
        assert_eq!(h.profile(&a2).status, 200);
        assert_eq!(h.exchange(&code, &client_id).status, 400, "a code is single-use");
        assert_eq!(h.profile(&a2).status, 401, "the replay ended the grant, rotated tokens included");
        assert_eq!(h.refresh(&token_of(&rotated, "refresh_token"), &client_id).status, 400);
    }

    #[test]
    fn delete_all_ends_every_grant_even_when_the_listing_misses_one() {
        let h = Harness::new();
        let a = h.sign_in_with("xav", &["playback"], None).unwrap();
        let a_client = h.last_client_id.borrow().clone();
        let b = h.sign_in_with("xav", &["playback"], None).unwrap();
        // KV's list is eventually consistent: make it miss client A's tokens.
        let uk_a = token_of(&a, "access_token").split('.').next().unwrap().to_string();
        let hide: Vec<String> = [token_of(&a, "access_token"), token_of(&a, "refresh_token")]
            .iter()
            .map(|t| crate::core::store::token_hash(t))
            .collect();
        h.platform.kv.hidden_from_list.replace(hide.clone());
        let forget = h.mcp(
            &token_of(&b, "access_token"),
            json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": "forget_me", "arguments": {"confirm": true}}}),
        );
        assert_eq!(forget.body_json().unwrap()["result"]["isError"], false);
        assert!(h.platform.kv.keys().iter().any(|k| k.starts_with(&format!("u:{uk_a}:at:"))), "the listing missed it");
        // The person signs in again (a new link, a new epoch)...
        h.sign_in_with("xav", &["playback"], None).unwrap();
        // ...and the missed tokens of before the deletion are refused.
        let old = h.profile(&token_of(&a, "access_token")).body_json().unwrap();
        assert_eq!(old["result"]["isError"], true, "{old}");
        assert!(old["result"]["content"][0]["text"].as_str().unwrap().contains("deleted"));
        let refreshed = h.refresh(&token_of(&a, "refresh_token"), &a_client);
        assert_eq!(refreshed.status, 400);
        assert!(refreshed.body_json().unwrap()["error_description"].as_str().unwrap().contains("deleted"));
    }

    #[test]
    fn revoke_refuses_another_clients_token_and_reports_a_store_failure() {
        let h = Harness::new();
        let mine = h.sign_in_with("yoko", &["playback"], None).unwrap();
        let my_client = h.last_client_id.borrow().clone();
        h.sign_in_with("zed", &["playback"], None).unwrap();
        let other_client = h.last_client_id.borrow().clone();
        let revoke = |token: &str, client: &str| {
            h.send(
                HttpRequest::new("POST", url::Url::parse(&format!("{ORIGIN}/revoke")).unwrap())
                    .with_form(&[("token", token), ("client_id", client)]),
            )
        };
        let refused = revoke(&token_of(&mine, "refresh_token"), &other_client);
        assert_eq!(refused.status, 400);
        assert_eq!(refused.body_json().unwrap()["error"], "unauthorized_client");
        assert_eq!(h.refresh(&token_of(&mine, "refresh_token"), &my_client).status, 200, "still valid");
        assert_eq!(revoke("garbage", &my_client).status, 200, "unknown tokens: 200 (RFC 7009)");
        let current = h.sign_in_with("yoko", &["playback"], None).unwrap();
        let client = h.last_client_id.borrow().clone();
        h.platform.failing_kv_writes.set(1);
        let failed = revoke(&token_of(&current, "refresh_token"), &client);
        assert_eq!(failed.status, 503, "a revocation that did not happen is not a 200");
        assert_eq!(revoke(&token_of(&current, "refresh_token"), &client).status, 200);
        assert_eq!(h.refresh(&token_of(&current, "refresh_token"), &client).status, 400);
    }

    #[test]
    fn an_approval_within_a_second_of_the_page_appearing_comes_back() {
        let h = Harness::new();
        let client_id = h.register();
        let mut url = url::Url::parse(&format!("{ORIGIN}/authorize")).unwrap();
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &client_id)
            .append_pair("redirect_uri", "http://127.0.0.1:9/cb")
            .append_pair("code_challenge", &pkce_s256(&"v".repeat(50)))
            .append_pair("code_challenge_method", "S256");
        let page = h.get(url.as_str(), None);
        let csrf = Harness::cookie(&page, "__Host-mcp_csrf");
        let approve = |html: &str| {
            let fields = [
                ("request", Harness::field(html, "request")),
                ("csrf", Harness::field(html, "csrf")),
                ("decision", "approve".to_string()),
                ("capability", "playback".to_string()),
            ];
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            h.send(
                HttpRequest::new("POST", url::Url::parse(&format!("{ORIGIN}/authorize")).unwrap())
                    .with_form(&fields)
                    .with_header("cookie", csrf.clone()),
            )
        };
        h.platform.now_ms.set(h.platform.now_ms.get() + 200);
        let hasty = approve(&String::from_utf8(page.body.clone()).unwrap());
        assert_eq!(hasty.status, 400, "a double-click's second click is not an approval");
        assert!(hasty.header("location").is_none());
        let again = String::from_utf8(hasty.body).unwrap();
        assert!(again.contains("clickjacking") && again.contains("value=\"playback\" checked"), "{again}");
        // The page came back: its own second starts now.
        h.platform.now_ms.set(h.platform.now_ms.get() + 500);
        assert_eq!(approve(&again).status, 400);
        h.platform.now_ms.set(h.platform.now_ms.get() + 1000);
        assert_eq!(approve(&again).status, 302);
    }

    #[test]
    fn the_allow_list_applies_to_own_app_sign_ins_too() {
        let mut h = Harness::new();
        h.env.insert("ALLOWED_SPOTIFY_USERS".into(), "someone-else".into());
        let own = "abcdefabcdefabcdefabcdefabcdef12";
        h.emulator.register_app(own, &["https://mcp.example/callback"]);
        let keys = h.platform.kv.keys();
        let refused = h.sign_in_with("rita", &["playback"], Some(own)).unwrap_err();
        assert_eq!(refused.status, 403);
        assert!(String::from_utf8(refused.body).unwrap().contains("Not allowed on this server"));
        assert_eq!(h.platform.kv.keys(), keys, "nothing stored for a stranger");
    }

    #[test]
    fn kv_never_holds_a_token_in_plaintext() {
        let h = Harness::new();
        let token = h.sign_in("bob");
        let (_, secret_part) = token.split_once('.').unwrap();
        for key in h.platform.kv.keys() {
            let value = h.platform.kv.raw(&key).unwrap();
            assert!(!value.contains(secret_part) && !key.contains(secret_part), "our token leaked into {key}");
            assert!(!value.contains("emu-at-") && !value.contains("emu-rt-"), "a Spotify token leaked into {key}");
            assert!(!key.contains("bob"), "the Spotify user id leaked into a key: {key}");
        }
    }

    fn post_form(h: &Harness, path: &str, fields: &[(&str, &str)]) -> HttpResponse {
        h.send(HttpRequest::new("POST", url::Url::parse(&format!("{ORIGIN}{path}")).unwrap()).with_form(fields))
    }

    /// Authenticates a confidential client at `/token` with a refresh token that is no token.
    fn probe(h: &Harness, client_id: &str, secret: &str) -> HttpResponse {
        post_form(
            h,
            "/token",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", "nope"),
                ("client_id", client_id),
                ("client_secret", secret),
            ],
        )
    }

    #[test]
    fn a_key_rollover_signs_nobody_out() {
        use crate::core::crypto::{b64url, Key};
        use crate::core::keyring::Keyring;
        let mut h = Harness::new();
        let (a, b) = ([42u8; 32], [43u8; 32]);
        assert_eq!(h.env["TOKEN_ENCRYPTION_KEY"], b64url(&a));
        // Under key A: a sign-in, and a confidential client registration.
        let grant = h.sign_in_with("tess", &["playback", "library", "playlists"], None).unwrap();
        let public_client = h.last_client_id.borrow().clone();
        let mut reg = HttpRequest::new("POST", url::Url::parse(&format!("{ORIGIN}/register")).unwrap());
        reg.body = serde_json::to_vec(
            &json!({"redirect_uris": ["https://app.example/cb"], "token_endpoint_auth_method": "client_secret_post"}),
        )
        .unwrap();
        let confidential = h.send(reg).body_json().unwrap();
        let (conf_id, conf_secret) =
            (confidential["client_id"].as_str().unwrap(), confidential["client_secret"].as_str().unwrap());
        let access = grant["access_token"].as_str().unwrap();
        let uk = access.split_once('.').unwrap().0.to_string();
        let call = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": "search_tracks", "arguments": {"query": "love"}}});
        assert_eq!(h.mcp(access, call.clone()).body_json().unwrap()["result"]["isError"], false);

        // The rollover: B is the key, A the previous one.
        h.env.insert("TOKEN_ENCRYPTION_KEY".into(), b64url(&b));
        h.env.insert("TOKEN_ENCRYPTION_KEY_PREVIOUS".into(), b64url(&a));
        let kv = &h.platform.kv;
        kv.reset_counts();
        let r = h.mcp(access, call.clone());
        assert_eq!(r.status, 200);
        assert_eq!(r.body_json().unwrap()["result"]["isError"], false, "the same access token works");
        assert_eq!(
            (kv.reads.get(), kv.writes.get(), kv.deletes.get()),
            (2, 0, 0),
            "the budget holds during a rollover"
        );
        // A confidential client registered under A still authenticates (an unknown grant, not
        // an unknown client); a wrong secret still fails.
        assert_eq!(probe(&h, conf_id, conf_secret).body_json().unwrap()["error"], "invalid_grant");
        assert_eq!(probe(&h, conf_id, "wrong").status, 401);
        // Our refresh token from before works, and so does what it returns.
        let refreshed = h.refresh(grant["refresh_token"].as_str().unwrap(), &public_client);
        assert_eq!(refreshed.status, 200, "{:?}", refreshed.body_json());
        let refreshed = refreshed.body_json().unwrap();
        let access = refreshed["access_token"].as_str().unwrap();
        assert!(access.starts_with(&format!("{uk}.")), "the user keeps their prefix");
        // A Spotify refresh writes the link again, under B.
        h.emulator.expire_access_tokens("tess");
        assert_eq!(h.mcp(access, call.clone()).body_json().unwrap()["result"]["isError"], false);
        // Signing in again finds the same user.
        let again = h.sign_in("tess");
        assert!(again.starts_with(&format!("{uk}.")), "a new sign-in lands on the same prefix");

        // Everything live was written again: it opens under B alone (code markers, sealed
        // under A, expire within 2 minutes and are not read again).
        let after = Keyring::new(Key::from_bytes(b), None, Some(Key::from_bytes(a)));
        let store = Store::new(kv, &after);
        let user = crate::core::secret::UserKey::parse(&uk).unwrap();
        assert!(block_on(store.get_link(&user)).unwrap().is_some());
        assert_eq!(block_on(store.list_refresh(&user)).unwrap().len(), 2, "both clients' grants");
        for token in [access, again.as_str()] {
            assert!(block_on(store.get_access(&user, token)).unwrap().is_some());
        }
        let live: Vec<_> =
            kv.keys().into_iter().filter(|k| k.starts_with(&format!("u:{uk}:")) && !k.contains(":code:")).collect();
        assert_eq!(
            live.len(),
            9,
            "the link, two grants, two refresh records and a rotated-out tombstone, two access records, today's refresh count: {live:?}"
        );
        let data_key = Key::from_bytes(b).derive(format!("user-data:{uk}").as_bytes());
        let stale: Vec<_> = live
            .iter()
            .filter(|k| {
                let bytes = crate::core::crypto::b64url_decode(&kv.raw(k).unwrap()).unwrap();
                data_key.open(k.as_bytes(), &bytes).is_err()
            })
            .collect();
        assert!(stale.is_empty(), "still under A: {stale:?}");

        // The rollover ends: PREVIOUS removed, A kept only as the identity key.
        h.env.remove("TOKEN_ENCRYPTION_KEY_PREVIOUS");
        let health = h.get(&format!("{ORIGIN}/health"), None).body_json().unwrap();
        assert!(health.get("notes").is_none(), "{health}");
        h.env.insert("TOKEN_IDENTITY_KEY".into(), b64url(&a));
        for token in [access, again.as_str()] {
            assert_eq!(h.mcp(token, call.clone()).body_json().unwrap()["result"]["isError"], false);
        }
        assert_eq!(
            probe(&h, conf_id, conf_secret).body_json().unwrap()["error"],
            "invalid_grant",
            "clients need not register again"
        );
        let refreshed = h.refresh(refreshed["refresh_token"].as_str().unwrap(), &public_client);
        assert_eq!(refreshed.status, 200, "{:?}", refreshed.body_json());
        assert!(h.sign_in("tess").starts_with(&format!("{uk}.")));
    }

    #[test]
    fn health_notes_a_rollover_whose_identity_key_is_not_pinned() {
        let mut h = Harness::new();
        let old = h.env["TOKEN_ENCRYPTION_KEY"].clone();
        h.env.insert("TOKEN_ENCRYPTION_KEY_PREVIOUS".into(), old.clone());
        h.env.insert("TOKEN_ENCRYPTION_KEY".into(), crate::core::crypto::b64url(&[7u8; 32]));
        let resp = h.get(&format!("{ORIGIN}/health"), None);
        assert_eq!(resp.status, 200);
        let body = resp.body_json().unwrap();
        assert_eq!(body["status"], "ok");
        assert_eq!(body["notes"][0]["variable"], "TOKEN_IDENTITY_KEY", "{body}");
        assert!(!body.to_string().contains(&old), "no key in the answer");
        h.env.insert("TOKEN_IDENTITY_KEY".into(), old);
        assert!(h.get(&format!("{ORIGIN}/health"), None).body_json().unwrap().get("notes").is_none());
    }

    fn post_raw(h: &Harness, path: &str, ctype: &str, body: Vec<u8>) -> HttpResponse {
        let mut req = HttpRequest::new("POST", url::Url::parse(&format!("{ORIGIN}{path}")).unwrap())
            .with_header("content-type", ctype);
        req.body = body;
        h.send(req)
    }

    #[test]
    fn bodies_over_the_route_limit_get_413_in_the_routes_own_shape() {
        let h = Harness::new();
        let token = h.sign_in("tess");
        let mut big = HttpRequest::new("POST", url::Url::parse(&format!("{ORIGIN}/mcp")).unwrap())
            .with_header("authorization", format!("Bearer {token}"))
            .with_header("content-type", "application/json");
        big.body = vec![b' '; MCP_BODY_LIMIT + 1];
        let r = h.send(big);
        let j = r.body_json().unwrap();
        assert_eq!((r.status, j["jsonrpc"].as_str(), j["error"]["code"].as_i64()), (413, Some("2.0"), Some(-32600)));
        for (path, limit) in [
            ("/token", TOKEN_BODY_LIMIT),
            ("/revoke", TOKEN_BODY_LIMIT),
            ("/register", REGISTER_BODY_LIMIT),
            ("/authorize", CONSENT_BODY_LIMIT),
        ] {
            let ok = post_raw(&h, path, "application/x-www-form-urlencoded", vec![b'a'; limit]);
            assert_ne!(ok.status, 413, "{path} at its limit");
            let r = post_raw(&h, path, "application/x-www-form-urlencoded", vec![b'a'; limit + 1]);
            let j = r.body_json().unwrap();
            assert_eq!((r.status, j["error"].as_str()), (413, Some("invalid_request")), "{path}");
            assert!(j["error_description"].as_str().unwrap().contains(&format!("{} KiB", limit / 1024)), "{j}");
        }
        // What an adapter asks before reading: a declared length over the limit is refused unread.
        let head = |path: &str, length: Option<u64>| {
            let mut req = HttpRequest::new("POST", url::Url::parse(&format!("https://mcp.example{path}")).unwrap());
            req.headers.extend(length.map(|n| ("content-length".to_string(), n.to_string())));
            req
        };
        assert_eq!(admit_body(&head("/token", Some(100 * 1024 * 1024))).unwrap_err().status, 413);
        assert_eq!(
            admit_body(&head("/mcp", Some(100 * 1024 * 1024))).unwrap_err().body_json().unwrap()["id"],
            Value::Null
        );
        assert_eq!(admit_body(&head("/mcp", None)), Ok(256 * 1024));
        assert_eq!(admit_body(&head("/token", Some(10))), Ok(TOKEN_BODY_LIMIT));
    }

    #[test]
    fn client_assertions_and_oversized_client_ids_are_invalid_client() {
        let h = Harness::new();
        let token = |fields: &[(&str, &str)]| {
            h.send(HttpRequest::new("POST", url::Url::parse(&format!("{ORIGIN}/token")).unwrap()).with_form(fields))
        };
        let r = token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", "x"),
            ("client_id", "https://app.example/client.json"),
            ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
            ("client_assertion", "eyJhbGciOiJFUzI1NiJ9.e30.sig"),
        ]);
        let j = r.body_json().unwrap();
        assert_eq!((r.status, j["error"].as_str()), (401, Some("invalid_client")));
        assert!(j["error_description"].as_str().unwrap().contains("only from public clients"), "{j}");
        let long = format!("https://app.example/{}", "a".repeat(5000));
        let r = token(&[("grant_type", "refresh_token"), ("refresh_token", "x"), ("client_id", &long)]);
        let j = r.body_json().unwrap();
        assert_eq!((r.status, j["error"].as_str()), (401, Some("invalid_client")));
        assert!(j["error_description"].as_str().unwrap().contains("longer than 4096 bytes"), "{j}");
        // A registration whose client_id would pass that bound is refused at /register.
        let uris: Vec<String> = (0..10).map(|i| format!("https://app.example/{i}/{}", "c".repeat(400))).collect();
        let r = post_raw(
            &h,
            "/register",
            "application/json",
            serde_json::to_vec(&json!({"redirect_uris": uris, "token_endpoint_auth_method": "none"})).unwrap(),
        );
        let j = r.body_json().unwrap();
        assert_eq!((r.status, j["error"].as_str()), (400, Some("invalid_client_metadata")), "{j}");
    }

    #[test]
    fn an_absurd_resources_cursor_is_invalid_params() {
        let h = Harness::new();
        let token = h.sign_in("uma");
        for cursor in ["18446744073709551615", "18446744073709551600", "abc"] {
            let r = h.mcp(
                &token,
                json!({"jsonrpc": "2.0", "id": 1, "method": "resources/list", "params": {"cursor": cursor}}),
            );
            assert_eq!(r.body_json().unwrap()["error"]["code"].as_i64(), Some(-32602), "{cursor}");
        }
    }

    #[test]
    fn misconfiguration_is_reported_by_variable_on_every_route() {
        let h = Harness::new();
        let mut env = h.env.clone();
        env.remove("SPOTIFY_CLIENT_SECRET");
        env.insert("TOKEN_ENCRYPTION_KEY".into(), "short".into());
        env.insert("USER_SPOTIFY_APPS".into(), "off".into());
        for path in ["/health", "/mcp", "/authorize"] {
            let req = HttpRequest::new("GET", url::Url::parse(&format!("{ORIGIN}{path}")).unwrap());
            let (resp, _) = block_on(handle(&h.platform, &env, req));
            assert_eq!(resp.status, 503, "{path}");
            let text = String::from_utf8(resp.body).unwrap();
            assert!(text.contains("SPOTIFY_CLIENT_SECRET") && text.contains("TOKEN_ENCRYPTION_KEY"), "{text}");
            assert!(!text.contains("short"), "a value leaked: {text}");
        }
    }
}
