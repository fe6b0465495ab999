//! Streamable HTTP, stateless: one POST carries one JSON-RPC message and gets one JSON
//! answer. Nothing is kept between requests; the one session id ever minted only carries a
//! 2025 client's MCP Apps support (`server::APPS_SESSION`). `GET` (server streams) is not offered.

use crate::core::http::{HttpRequest, HttpResponse};
use crate::mcp::model::{self, RpcError};
use crate::mcp::server::{Class, Envelope, Reply};
use serde_json::Value;

/// Bodies above this are refused before parsing (tool arguments are small).
pub const MAX_BODY_BYTES: usize = 256 * 1024;

fn rpc_error(status: u16, e: RpcError) -> HttpResponse {
    HttpResponse::json(status, &model::failure(&Value::Null, &e))
}

/// `Origin`, when a browser sends one: our own, an https page (browser-based MCP clients
/// hold a bearer token, which no other page can borrow: tokens are never ambient), or a
/// loopback page (local tools such as the MCP Inspector). Refused: plain-http pages on other
/// hosts, the shape of a DNS-rebinding attack against a local server.
pub fn check_origin(req: &HttpRequest, own_origin: &str) -> Result<(), HttpResponse> {
    let Some(origin) = req.header("origin") else { return Ok(()) };
    let allowed = origin == own_origin
        || url::Url::parse(origin).is_ok_and(|u| {
            u.scheme() == "https" || (u.scheme() == "http" && crate::oauth::clients::is_loopback_host(&u))
        });
    if allowed {
        Ok(())
    } else {
        Err(rpc_error(403, RpcError::new(model::INVALID_REQUEST, "Forbidden: Origin not allowed")))
    }
}

/// Everything checked before the body is parsed (after authentication).
pub fn check_post(req: &HttpRequest) -> Result<(), HttpResponse> {
    let ctype = req.header("content-type").unwrap_or("");
    if !ctype.to_ascii_lowercase().starts_with("application/json") {
        return Err(rpc_error(
            415,
            RpcError::new(model::INVALID_REQUEST, "Unsupported Media Type: send application/json"),
        ));
    }
    let accept = req.header("accept").unwrap_or("*/*").to_ascii_lowercase();
    if !(accept.contains("application/json") || accept.contains("*/*") || accept.contains("application/*")) {
        return Err(rpc_error(
            406,
            RpcError::new(model::INVALID_REQUEST, "Not Acceptable: this server answers application/json"),
        ));
    }
    if req.body.len() > MAX_BODY_BYTES {
        return Err(too_large(MAX_BODY_BYTES));
    }
    Ok(())
}

/// 413 for a message over `limit` bytes, as a JSON-RPC error with a null id (the message
/// was never read, so its id is unknown).
pub fn too_large(limit: usize) -> HttpResponse {
    rpc_error(413, RpcError::new(model::INVALID_REQUEST, format!("Payload Too Large: at most {} KiB", limit / 1024)))
}

pub fn envelope(req: &HttpRequest) -> Envelope {
    Envelope {
        protocol_version: req.header("mcp-protocol-version").map(|s| s.trim().to_string()),
        method: req.header("mcp-method").map(|s| s.trim().to_string()),
        name: req.header("mcp-name").map(|s| s.trim().to_string()),
        origin: Some(req.origin()),
        session: req.header("mcp-session-id").map(|s| s.trim().to_string()),
    }
}

/// The message, or the HTTP answer for one we do not process (202 for notifications and
/// responses, 400 for unparseable input).
pub fn parse(req: &HttpRequest) -> Result<(Value, String, Value), HttpResponse> {
    match model::parse(&req.body) {
        Ok(model::Message::Request { id, method, params }) => Ok((id, method, params)),
        Ok(model::Message::Notification { .. } | model::Message::Response) => Err(HttpResponse::new(202)),
        Err(e) => Err(rpc_error(400, e)),
    }
}

pub fn to_http(reply: Reply) -> HttpResponse {
    let status = match reply.class {
        Class::Ok => 200,
        Class::Rejected => 400,
        Class::NotFound => 404,
    };
    let resp = HttpResponse::json_bytes(status, reply.to_vec());
    match reply.session {
        Some(id) => resp.with_header("mcp-session-id", id),
        None => resp,
    }
}

pub fn method_not_allowed() -> HttpResponse {
    rpc_error(405, RpcError::new(model::INVALID_REQUEST, "Method Not Allowed: this stateless server accepts POST only"))
        .with_header("allow", "POST")
}
