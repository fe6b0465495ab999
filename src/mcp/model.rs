//! JSON-RPC 2.0 and MCP protocol values, independent of transport.

use serde_json::{json, Value};

/// The stateless revision: no handshake, version and capabilities in every request's `_meta`.
pub const MODERN_VERSION: &str = "2026-07-28";
/// The initialize-based revisions, newest first.
pub const LEGACY_VERSIONS: &[&str] = &["2025-11-25", "2025-06-18", "2025-03-26"];
/// What a 2025 request without `MCP-Protocol-Version` is assumed to speak (the spec's rule).
pub const LEGACY_DEFAULT: &str = "2025-03-26";

pub const META_PROTOCOL_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
pub const META_CLIENT_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";
pub const META_SERVER_INFO: &str = "io.modelcontextprotocol/serverInfo";

pub const PARSE_ERROR: i64 = -32700;
pub const INVALID_REQUEST: i64 = -32600;
pub const METHOD_NOT_FOUND: i64 = -32601;
pub const INVALID_PARAMS: i64 = -32602;
pub const INTERNAL_ERROR: i64 = -32603;
/// 2025 revisions: resource not found.
pub const RESOURCE_NOT_FOUND: i64 = -32002;
/// 2026-07-28: an HTTP header disagrees with the body.
pub const HEADER_MISMATCH: i64 = -32020;
/// 2026-07-28: the request needs a client capability it did not declare.
pub const MISSING_CAPABILITY: i64 = -32021;
/// 2026-07-28: unsupported protocol version.
pub const UNSUPPORTED_VERSION: i64 = -32022;

pub fn all_versions() -> Vec<&'static str> {
    std::iter::once(MODERN_VERSION).chain(LEGACY_VERSIONS.iter().copied()).collect()
}

/// One parsed JSON-RPC message.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    Request {
        id: Value,
        method: String,
        params: Value,
    },
    Notification {
        method: String,
    },
    /// A response (to a request we never send in this stateless server): acknowledged.
    Response,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RpcError {
    pub code: i64,
    pub message: String,
    pub data: Option<Value>,
}

impl RpcError {
    pub fn new(code: i64, message: impl Into<String>) -> Self {
        RpcError { code, message: message.into(), data: None }
    }
    pub fn with_data(mut self, data: Value) -> Self {
        self.data = Some(data);
        self
    }
}

/// Parses one message; `Err` carries the JSON-RPC error to answer with (id unknown: null).
pub fn parse(body: &[u8]) -> Result<Message, RpcError> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|_| RpcError::new(PARSE_ERROR, "Parse error: the body is not valid JSON"))?;
    if v.is_array() {
        return Err(RpcError::new(INVALID_REQUEST, "Invalid Request: JSON-RPC batches are not supported"));
    }
    let Some(obj) = v.as_object() else {
        return Err(RpcError::new(INVALID_REQUEST, "Invalid Request: expected a JSON object"));
    };
    if obj.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Err(RpcError::new(INVALID_REQUEST, "Invalid Request: jsonrpc must be \"2.0\""));
    }
    match (obj.get("method"), obj.get("id")) {
        (Some(Value::String(m)), Some(id)) if id.is_string() || id.is_number() => {
            let params = obj.get("params").cloned().unwrap_or_else(|| json!({}));
            if !params.is_object() {
                return Err(RpcError::new(INVALID_REQUEST, "Invalid Request: params must be an object"));
            }
            Ok(Message::Request { id: id.clone(), method: m.clone(), params })
        }
        (Some(Value::String(m)), None) => Ok(Message::Notification { method: m.clone() }),
        (None, Some(_)) if obj.contains_key("result") || obj.contains_key("error") => Ok(Message::Response),
        _ => Err(RpcError::new(INVALID_REQUEST, "Invalid Request: needs a string method and a string or number id")),
    }
}

pub fn success(id: &Value, result: Value) -> Value {
    response(id, "result", result)
}

pub fn failure(id: &Value, e: &RpcError) -> Value {
    let mut err = json!({"code": e.code, "message": e.message});
    if let Some(d) = &e.data {
        err["data"] = d.clone();
    }
    response(id, "error", err)
}

/// A JSON-RPC response whose `result` or `error` is moved in: `json!` copies an
/// interpolated `Value` through `to_value`, a second deep copy of every answer (the whole
/// tool list, every tool result) on the way out.
fn response(id: &Value, key: &str, value: Value) -> Value {
    let mut map = serde_json::Map::new();
    map.insert("jsonrpc".into(), "2.0".into());
    map.insert("id".into(), id.clone());
    map.insert(key.into(), value);
    Value::Object(map)
}

/// A tool's result: text for the model, `structuredContent` matching the output schema.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolResult {
    pub text: String,
    pub structured: Option<Value>,
    pub is_error: bool,
    /// 2026-07-28: instead of a result, what the client must ask first (`inputRequests`)
    /// and the sealed `requestState` its retry echoes.
    pub input_required: Option<(Value, String)>,
}

/// The MCP Apps extension (SEP-1865) and the MIME type of its HTML views.
pub const UI_EXTENSION: &str = "io.modelcontextprotocol/ui";
pub const UI_MIME: &str = "text/html;profile=mcp-app";

/// What the client declared it can do, where that changes our answers. Stateless: a
/// 2026-07-28 client declares it on every request; a 2025 client declares it once, at
/// `initialize`, and the session id we hand back carries the Apps flag from then on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Client {
    /// Renders MCP Apps views (`text/html;profile=mcp-app`).
    pub apps: bool,
    /// Can answer form and URL elicitations in an `input_required` result (2026-07-28 only:
    /// earlier eras elicit through server-to-client requests, which a stateless server
    /// cannot make).
    pub elicit_form: bool,
    pub elicit_url: bool,
}

impl Client {
    /// From a capabilities object; `modern` for 2026-07-28, whose results can ask for input.
    pub fn from_capabilities(caps: &Value, modern: bool) -> Client {
        let apps = caps
            .pointer("/extensions")
            .and_then(|e| e.get(UI_EXTENSION))
            .and_then(|u| u.get("mimeTypes"))
            .and_then(Value::as_array)
            .is_some_and(|m| m.iter().any(|t| t == UI_MIME));
        let elicitation = caps.get("elicitation").filter(|e| e.is_object());
        // An empty `elicitation` object means form mode (backwards compatibility).
        let (form, url) = match elicitation {
            None => (false, false),
            Some(e) if e.get("form").is_none() && e.get("url").is_none() => (true, false),
            Some(e) => (e.get("form").is_some(), e.get("url").is_some()),
        };
        Client { apps, elicit_form: modern && form, elicit_url: modern && url }
    }
}

/// The answers a 2026-07-28 retry carries (multi round-trip requests).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Retry {
    pub input_responses: Option<Value>,
    pub request_state: Option<String>,
}

impl ToolResult {
    pub fn ok(text: impl Into<String>, structured: Value) -> Self {
        ToolResult { text: text.into(), structured: Some(structured), is_error: false, input_required: None }
    }
    pub fn error(text: impl Into<String>) -> Self {
        ToolResult { text: text.into(), structured: None, is_error: true, input_required: None }
    }
    /// An `input_required` result: `requests` keyed by our names, and the sealed state.
    pub fn input_required(requests: Value, state: String) -> Self {
        ToolResult { input_required: Some((requests, state)), ..ToolResult::error("input required") }
    }
    /// The `result` of `tools/call`; `structuredContent` is moved, not copied.
    pub fn into_json(self) -> Value {
        if let Some((requests, state)) = self.input_required {
            return json!({"resultType": "input_required", "inputRequests": requests, "requestState": state});
        }
        let mut v = json!({"content": [{"type": "text", "text": self.text}], "isError": self.is_error});
        if let Some(s) = self.structured {
            v["structuredContent"] = s;
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_classifies_messages() {
        assert!(matches!(parse(br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#), Ok(Message::Request { .. })));
        assert_eq!(
            parse(br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#),
            Ok(Message::Notification { method: "notifications/initialized".into() })
        );
        assert_eq!(parse(br#"{"jsonrpc":"2.0","id":1,"result":{}}"#), Ok(Message::Response));
        assert_eq!(parse(b"{").unwrap_err().code, PARSE_ERROR);
        assert_eq!(parse(br#"[{"jsonrpc":"2.0","id":1,"method":"x"}]"#).unwrap_err().code, INVALID_REQUEST);
        assert_eq!(parse(br#"{"jsonrpc":"1.0","id":1,"method":"x"}"#).unwrap_err().code, INVALID_REQUEST);
        assert_eq!(parse(br#"{"jsonrpc":"2.0","id":{},"method":"x"}"#).unwrap_err().code, INVALID_REQUEST);
        assert_eq!(parse(br#"{"jsonrpc":"2.0","id":1,"method":"x","params":[1]}"#).unwrap_err().code, INVALID_REQUEST);
    }
}
