//! `search_tracks`: one Spotify call (`GET /v1/search`).

use crate::core::platform::Platform;
use crate::mcp::model::ToolResult;
use crate::tools::{arg_str, errors, Toolbox};
use serde_json::{json, Value};
use std::fmt::Write;

/// Spotify's cap since February 2026: `limit` is clamped to it (the catalogue's `clamp`),
/// with a note, since more gives a 400.
pub const MAX_LIMIT: u64 = 10;

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

/// The `/v1/search` call of `query`, `limit` (clamped to 10, with a note), `offset` and
/// `market` (checked by the catalogue, but for the market's pattern); `types` is Spotify's
/// comma-separated `type` value.
pub fn parse_query(args: &Value, types: &str) -> Result<SearchQuery, ToolResult> {
    let query = arg_str(args, "query").trim();
    if query.is_empty() {
        return Err(ToolResult::error(
            "query is required: a non-empty string of search words (at most 500 characters).",
        ));
    }
    let mut note = None;
    let mut limit = args["limit"].as_u64().unwrap_or(MAX_LIMIT);
    if limit > MAX_LIMIT {
        note = Some(format!("limit {limit} was reduced to {MAX_LIMIT}, Spotify's maximum; use offset to page."));
        limit = MAX_LIMIT;
    }
    let offset = args["offset"].as_u64().unwrap_or(0);
    let mut params = vec![
        ("q", query.to_string()),
        ("type", types.to_string()),
        ("limit", limit.to_string()),
        ("offset", offset.to_string()),
    ];
    if let Some(m) = args["market"].as_str() {
        if m.len() != 2 || !m.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(ToolResult::error("market must be a two-letter country code such as \"US\" or \"DE\"."));
        }
        params.push(("market", m.to_string()));
    }
    Ok(SearchQuery { query: query.to_string(), limit, offset, params, note })
}

pub async fn search_tracks<P: Platform>(tb: &Toolbox<'_, P>, args: &Value) -> ToolResult {
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
            // Written into the text, not formatted apart and copied in.
            let _ = write!(
                s,
                "\n{}. {} — {} ({}, {}) {}",
                offset + i as u64 + 1,
                t["name"].as_str().unwrap_or("?"),
                artists.join(", "),
                t["album"].as_str().unwrap_or(""),
                duration(t["duration_ms"].as_u64().unwrap_or(0)),
                t["uri"].as_str().unwrap_or("")
            );
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clamped_limit_is_the_schemas_maximum() {
        for name in ["search", "search_tracks"] {
            let tool = crate::tools::catalogue::find(name).unwrap();
            assert_eq!(tool.input()["properties"]["limit"]["maximum"], MAX_LIMIT, "{name}");
            let args = tool.check(&json!({"query": " love ", "limit": 50, "market": "DE"})).unwrap();
            let q = parse_query(&args, "track").unwrap();
            assert_eq!((q.query.as_str(), q.limit), ("love", MAX_LIMIT));
            assert!(q.note.unwrap().contains("reduced to 10"));
            let five = parse_query(&tool.check(&json!({"query": "x"})).unwrap(), "track").unwrap();
            assert_eq!(five.limit, 5, "the default");
            assert!(parse_query(&tool.check(&json!({"query": "x", "market": "de"})).unwrap(), "track").is_err());
        }
    }
}
