//! `search_tracks`: one Spotify call (`GET /v1/search`).

use crate::core::platform::Platform;
use crate::mcp::model::ToolResult;
use crate::tools::{check_known, errors, object_schema, output, tool, Toolbox, READS};
use serde_json::{json, Value};

/// Spotify's cap since February 2026; more gives a 400, so we clamp and say so.
pub const MAX_LIMIT: u64 = 10;
const DEFAULT_LIMIT: u64 = 5;
const MAX_OFFSET: u64 = 1000;

pub fn definition() -> Value {
    tool(
        "search_tracks",
        "Search tracks",
        "Search tracks by title, artist or album words (filters like artist:queen work). At most 10 per call; page with offset.",
        object_schema(
            json!({
                "query": {"type": "string", "minLength": 1, "maxLength": 500},
                "limit": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
                "offset": {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET},
                "market": {"type": "string", "pattern": "^[A-Z]{2}$", "description": "Country code: only tracks playable there"}
            }),
            &["query"],
        ),
        output(
            json!({
                "query": {"type": "string"}, "total": {"type": "integer"}, "offset": {"type": "integer"}, "limit": {"type": "integer"},
                "tracks": {"type": "array", "items": {"type": "object", "required": ["id", "uri", "name", "artists"]}},
                "note": {"type": "string"}
            }),
            &["query", "total", "offset", "limit", "tracks"],
        ),
        READS,
    )
}

fn duration(ms: u64) -> String {
    let s = ms / 1000;
    format!("{}:{:02}", s / 60, s % 60)
}

pub fn compact_track(t: &Value) -> Value {
    let artists: Vec<&str> =
        t["artists"].as_array().map(|a| a.iter().filter_map(|x| x["name"].as_str()).collect()).unwrap_or_default();
    crate::tools::with_cover(
        json!({
            "id": t["id"], "uri": t["uri"], "name": t["name"], "artists": artists,
            "album": t["album"]["name"].as_str().unwrap_or(""),
            "duration_ms": t["duration_ms"].as_u64().unwrap_or(0),
            "explicit": t["explicit"].as_bool().unwrap_or(false),
            "url": t["external_urls"]["spotify"].as_str().unwrap_or(""),
        }),
        &t["album"]["images"],
    )
}

/// Validated arguments of a search, shared by `search_tracks` and `search`.
pub struct SearchQuery {
    pub query: String,
    pub limit: u64,
    pub offset: u64,
    /// The `/v1/search` query parameters, `type` included.
    pub params: Vec<(&'static str, String)>,
    /// Set when `limit` was clamped to Spotify's maximum.
    pub note: Option<String>,
}

/// `query`, `limit` (clamped to 10, with a note), `offset` (≤ 1000) and `market`, checked
/// before any KV or Spotify call; `types` is Spotify's comma-separated `type` value.
pub fn parse_query(args: &Value, types: &str) -> Result<SearchQuery, ToolResult> {
    let Some(query) =
        args.get("query").and_then(Value::as_str).map(str::trim).filter(|q| !q.is_empty() && q.len() <= 500)
    else {
        return Err(ToolResult::error(
            "query is required: a non-empty string of search words (at most 500 characters).",
        ));
    };
    let mut note = None;
    let limit = match args.get("limit") {
        None | Some(Value::Null) => DEFAULT_LIMIT,
        Some(v) => match v.as_u64() {
            Some(0) | None => return Err(ToolResult::error("limit must be an integer from 1 to 10.")),
            Some(n) if n > MAX_LIMIT => {
                note = Some(format!("limit {n} was reduced to {MAX_LIMIT}, Spotify's maximum; use offset to page."));
                MAX_LIMIT
            }
            Some(n) => n,
        },
    };
    let offset = match args.get("offset") {
        None | Some(Value::Null) => 0,
        Some(v) => match v.as_u64() {
            Some(n) if n <= MAX_OFFSET => n,
            _ => return Err(ToolResult::error("offset must be an integer from 0 to 1000.")),
        },
    };
    let mut params = vec![
        ("q", query.to_string()),
        ("type", types.to_string()),
        ("limit", limit.to_string()),
        ("offset", offset.to_string()),
    ];
    if let Some(m) = args.get("market") {
        match m.as_str() {
            Some(m) if m.len() == 2 && m.bytes().all(|b| b.is_ascii_uppercase()) => {
                params.push(("market", m.to_string()))
            }
            _ => return Err(ToolResult::error("market must be a two-letter country code such as \"US\" or \"DE\".")),
        }
    }
    Ok(SearchQuery { query: query.to_string(), limit, offset, params, note })
}

pub async fn search_tracks<P: Platform>(tb: &Toolbox<'_, P>, args: &Value) -> ToolResult {
    if let Err(e) = check_known(args, &["query", "limit", "offset", "market"]) {
        return e;
    }
    let SearchQuery { query, limit, offset, params: query_params, note } = match parse_query(args, "track") {
        Ok(q) => q,
        Err(e) => return e,
    };
    let mut session = match tb.session().await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let result = session.call("GET", "/v1/search", &query_params, None).await;
    tb.count(&session);
    let body = match result {
        Ok(b) => b,
        Err(e) => return errors::describe(tb, e),
    };
    let tracks: Vec<Value> = body["tracks"]["items"]
        .as_array()
        .map(|a| a.iter().filter(|t| t.is_object()).map(compact_track).collect())
        .unwrap_or_default();
    let total = body["tracks"]["total"].as_u64().unwrap_or(tracks.len() as u64);
    let mut text = if tracks.is_empty() {
        format!("No tracks found for \"{query}\".")
    } else {
        let mut s = format!("{} of {total} tracks for \"{query}\":", tracks.len());
        for (i, t) in tracks.iter().enumerate() {
            let artists: Vec<&str> =
                t["artists"].as_array().map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
            s.push_str(&format!(
                "\n{}. {} — {} ({}, {}) {}",
                offset + i as u64 + 1,
                t["name"].as_str().unwrap_or("?"),
                artists.join(", "),
                t["album"].as_str().unwrap_or(""),
                duration(t["duration_ms"].as_u64().unwrap_or(0)),
                t["uri"].as_str().unwrap_or("")
            ));
        }
        s
    };
    let mut out = json!({"query": query, "total": total, "offset": offset, "limit": limit, "tracks": tracks});
    if let Some(note) = note {
        text.push_str(&format!("\nNote: {note}"));
        out["note"] = json!(note);
    }
    ToolResult::ok(text, out)
}
