//! The router: one function from an [`HttpRequest`] to an [`HttpResponse`], the same on
//! the host (tests) and in the Worker. Every path answers with a well-formed body.

use crate::core::config::{Config, ConfigProblem, EnvSource};
use crate::core::http::{HttpRequest, HttpResponse};
use crate::core::platform::Platform;
use crate::core::store::Store;
use crate::mcp::{server, transport};
use crate::oauth::{bearer, clients, flow, metadata, revoke, token};
use crate::spotify::SpotifyApi;
use crate::tools::Toolbox;
use serde_json::json;

/// What one request may use: the platform, the configuration and our public origin.
pub struct Ctx<'a, P: Platform> {
    pub platform: &'a P,
    pub config: &'a Config,
    /// `scheme://host[:port]` the client used: issuer, resource and callback derive from it.
    pub origin: String,
}

impl<'a, P: Platform> Ctx<'a, P> {
    pub fn now(&self) -> u64 {
        self.platform.now_secs()
    }
    pub fn mcp_url(&self) -> String {
        format!("{}/mcp", self.origin)
    }
    pub fn store(&self) -> Store<'a, P> {
        Store::new(self.platform, &self.config.master_key)
    }
    pub fn spotify(&self) -> SpotifyApi<'a, P> {
        SpotifyApi::new(self.platform, self.config)
    }
    pub fn spotify_redirect_uri(&self) -> String {
        self.config.spotify_redirect_uri(&self.origin)
    }
    /// A Worker served on loopback is `wrangler dev`: only then may client metadata
    /// documents be fetched over plain http from loopback.
    pub fn is_local_run(&self) -> bool {
        url::Url::parse(&self.origin).map(|u| clients::is_loopback_host(&u)).unwrap_or(false)
    }
}

/// One line per request for `wrangler tail`: no tokens, no ids, only a hash prefix of the user.
#[derive(Debug, Default, Clone)]
pub struct RequestLog {
    pub user: Option<String>,
    pub spotify_calls: u32,
    pub rpc_method: Option<String>,
}

const CORS_PATHS: &[&str] = &["/mcp", "/token", "/register", "/revoke"];

fn cors(req: &HttpRequest, mut resp: HttpResponse) -> HttpResponse {
    let path = req.url.path();
    if CORS_PATHS.contains(&path) || path.starts_with("/.well-known/") {
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

pub fn health(problems: &[ConfigProblem]) -> HttpResponse {
    let list: Vec<_> = problems.iter().map(|p| json!({"variable": p.variable, "problem": p.problem})).collect();
    let status = if problems.is_empty() { 200 } else { 503 };
    HttpResponse::json(
        status,
        &json!({"status": if problems.is_empty() { "ok" } else { "misconfigured" }, "problems": list}),
    )
    .with_header("cache-control", "no-store")
}

fn not_found() -> HttpResponse {
    HttpResponse::json(
        404,
        &json!({"error": "not_found", "error_description": "no such endpoint; the MCP endpoint is /mcp"}),
    )
}

/// Entry point: configuration first (a broken one answers clearly on every route).
pub async fn handle<P: Platform>(platform: &P, env: &dyn EnvSource, req: HttpRequest) -> (HttpResponse, RequestLog) {
    let mut log = RequestLog::default();
    if req.method == "OPTIONS" {
        return (cors(&req, preflight()), log);
    }
    let config = match Config::from_env(env) {
        Ok(c) => c,
        Err(problems) => {
            let resp = if req.url.path() == "/health" {
                health(&problems)
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
    let ctx = Ctx { platform, config: &config, origin: req.origin() };
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
        ("GET", "/health") => health(&[]),
        ("GET", "/") => crate::pages::success(
            "Spotify MCP server",
            &format!(
                "This is a Model Context Protocol server for Spotify. Point your MCP client at {}.",
                ctx.mcp_url()
            ),
        ),
        (_, "/register" | "/token" | "/revoke" | "/authorize" | "/callback" | "/health") => HttpResponse::json(
            405,
            &json!({"error": "method_not_allowed", "error_description": format!("{} is not allowed on {path}", req.method)}),
        ),
        _ => not_found(),
    }
}

async fn mcp<P: Platform>(ctx: &Ctx<'_, P>, req: &HttpRequest, log: &mut RequestLog) -> HttpResponse {
    if let Err(r) = transport::check_origin(req, &ctx.origin) {
        return r;
    }
    if req.method != "POST" {
        return transport::method_not_allowed();
    }
    let principal = match bearer::authenticate(ctx, req).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    log.user = Some(principal.uk.log_id().to_string());
    if let Err(r) = transport::check_post(req) {
        return r;
    }
    let (id, method, params) = match transport::parse(req) {
        Ok(m) => m,
        Err(r) => return r,
    };
    log.rpc_method = Some(method.clone());
    let toolbox = Toolbox::new(ctx, &principal);
    let reply = server::handle(&toolbox, &id, &method, &params, &transport::envelope(req)).await;
    log.spotify_calls = toolbox.spotify_calls.get();
    transport::to_http(reply)
}
