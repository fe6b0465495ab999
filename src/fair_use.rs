//! Fair use: limits no person using an assistant meets, which stop a client that loops.
//!
//! Counted by Cloudflare's Rate Limiting binding (`[[ratelimits]]` in wrangler.toml, the
//! [`RateLimit`](crate::core::platform::RateLimit) port), whose limits and 60 s periods are
//! set there, not here:
//!
//! | limiter | key | wrangler.toml default |
//! | --- | --- | --- |
//! | `MCP_LIMITER` | the user (every request to `/mcp`) | 300 a minute |
//! | `TOKEN_LIMITER` | the grant (refresh_token grant); the user (authorization_code grant) | 10 a minute |
//!
//! and, because a per-minute counter cannot protect a daily KV budget, by a count carried in
//! the refresh record itself: at most [`REFRESHES_PER_GRANT_PER_HOUR`] refreshes of one grant
//! an hour (no KV cost: the record is rewritten by every refresh anyway), and by daily counts
//! per user: sign-ins (carried in the Spotify link) and refreshes over all grants
//! (`u:<uk>:refreshes`), which bound what one person can cost of the KV write budget.
//!
//! A limiter that is not bound allows everything (`/health` says so); one that fails allows
//! the request too: fair use must never take the server down.

use crate::context::Ctx;
use crate::core::http::{HttpRequest, HttpResponse};
use crate::core::platform::{Limiter, Platform};
use crate::mcp::model::{self, Client, Retry, RpcError, ToolResult};
use crate::mcp::server::{self, ResourceError, ToolHost};
use crate::mcp::transport;
use serde_json::{json, Value};

/// Refreshes of one grant (a rotating chain of refresh tokens) in an hour. A client needs
/// one an hour (access tokens live an hour); the rest is room for restarts. Each refresh
/// costs 5 KV writes and a delete; what bounds a person's whole day is the per-user daily
/// count (`REFRESHES_PER_DAY`, [`crate::core::config::Config::refreshes_per_day`]).
pub const REFRESHES_PER_GRANT_PER_HOUR: u32 = 4;
pub const REFRESH_WINDOW_SECS: u64 = 3600;

/// The JSON-RPC error code of a throttled MCP request (implementation-defined server error).
pub const RATE_LIMITED: i64 = -32000;

/// `Some(seconds to wait)` when `key` is over `limiter`'s limit. The binding tells only
/// yes or no; waiting its whole period is always enough.
pub async fn limited<P: Platform>(ctx: &Ctx<'_, P>, limiter: Limiter, key: &str) -> Option<u64> {
    if ctx.benchmark() {
        return None;
    }
    match ctx.platform.allow(limiter, key).await {
        Ok(false) => Some(Limiter::PERIOD_SECS),
        Ok(true) | Err(_) => None,
    }
}

/// `/health`'s warnings: limiters this deployment did not bind.
pub fn unbound_warnings<P: Platform>(platform: &P) -> Vec<Value> {
    Limiter::ALL
        .iter()
        .filter(|l| !platform.is_bound(**l))
        .map(|l| {
            json!({"binding": l.binding(),
                "warning": "not bound in wrangler.toml ([[ratelimits]]): this limit is not enforced"})
        })
        .collect()
}

pub fn wait_words(secs: u64) -> String {
    if secs == 1 {
        "1 second".to_string()
    } else {
        format!("{secs} seconds")
    }
}

/// The message of a throttled MCP request.
pub fn mcp_message(secs: u64) -> String {
    format!(
        "Too many requests: this connection made more MCP calls in the last minute than this server allows \
one person. Wait {} and try again; nothing was done.",
        wait_words(secs)
    )
}

/// Answers a throttled `/mcp` request without any KV or Spotify work: a `tools/call` gets a
/// tool error result (the model reads it and can wait), anything else a JSON-RPC error with
/// HTTP 429. Both carry `Retry-After`. `H` is the host the caller serves `/mcp` with
/// otherwise: the dispatch is shared with it (see [`server::Either`]).
pub async fn mcp_throttled<H: ToolHost>(req: &HttpRequest, secs: u64) -> HttpResponse {
    let retry = secs.to_string();
    let (id, method, params) = match transport::parse(req) {
        Ok(m) => m,
        Err(_) => (Value::Null, String::new(), json!({})),
    };
    if method == "tools/call" {
        let host = server::Either::<H, Throttled>::Right(&Throttled(secs));
        let reply = server::handle(&host, &id, &method, &params, &transport::envelope(req)).await;
        return transport::to_http(reply).with_header("retry-after", retry);
    }
    let e = RpcError::new(RATE_LIMITED, mcp_message(secs)).with_data(json!({"retryAfterSeconds": secs}));
    HttpResponse::json(429, &model::failure(&id, &e)).with_header("retry-after", retry)
}

/// A tool host that answers every call with the throttle message.
pub struct Throttled(u64);

impl ToolHost for Throttled {
    /// Never asked: a throttled request reaches this host only for `tools/call`.
    fn list(&self, _client: Client) -> &'static str {
        "[]"
    }
    async fn call(&self, _name: &str, _arguments: &Value, _: Client, _: &Retry) -> Result<ToolResult, RpcError> {
        Ok(ToolResult::error(mcp_message(self.0)))
    }
    fn resource_templates(&self) -> Vec<Value> {
        Vec::new()
    }
    async fn list_resources(
        &self,
        _cursor: Option<&str>,
        _: Client,
    ) -> Result<(Vec<Value>, Option<String>), ResourceError> {
        Err(ResourceError::Failed(mcp_message(self.0)))
    }
    async fn read_resource(&self, _uri: &str) -> Result<Value, ResourceError> {
        Err(ResourceError::Failed(mcp_message(self.0)))
    }
}

/// A throttled `/token` request: `temporarily_unavailable` with HTTP 429 and `Retry-After`.
/// Not `slow_down` (RFC 8628, device flow only): OAuth clients such as the MCP SDK do not
/// know it, treat it as a server error and start a new browser sign-in, while they keep
/// their tokens and only report `temporarily_unavailable`.
pub fn token_throttled(secs: u64, what: &str) -> HttpResponse {
    crate::oauth::error(429, "temporarily_unavailable", &format!("{what}; try again in {}", wait_words(secs)))
        .with_header("retry-after", secs.to_string())
}
