//! Prompts: reusable requests that carry the workarounds for what Spotify removed
//! (recommendations, related artists, audio features), built on the tools that remain.

use crate::mcp::model::{RpcError, INVALID_PARAMS};
use serde_json::{json, Value};

pub const TIME_RANGES: &[&str] = &["short_term", "medium_term", "long_term"];
const SIZES: &[&str] = &["10", "20", "30", "50"];

/// The prompts as JSON text, parsed when asked for: a literal this size built with `json!`
/// is several KB of .wasm (a string and an insert per key), the text a few hundred bytes.
const LIST: &str = r#"[
    {"name": "discover_similar", "title": "Discover similar artists",
     "description": "Find artists like a given one, rebuilt from search, genres and the user's own top artists (Spotify removed 'related artists').",
     "arguments": [{"name": "artist", "description": "The artist to start from (a name or a Spotify artist URI).", "required": true}]},
    {"name": "taste_profile", "title": "My taste profile",
     "description": "Summarise the user's listening habits from their top tracks, top artists and recent plays.",
     "arguments": [{"name": "time_range", "description": "short_term (about 4 weeks), medium_term (6 months) or long_term (years).", "required": true}]},
    {"name": "build_playlist", "title": "Build a playlist",
     "description": "Draft a playlist for a mood or occasion from the user's history and search, confirm it with the user, then create it.",
     "arguments": [
        {"name": "vibe", "description": "The mood, genre or occasion, e.g. 'rainy Sunday jazz'.", "required": true},
        {"name": "size", "description": "How many tracks (1-100).", "required": true}
     ]}
]"#;

pub fn list() -> Value {
    serde_json::from_slice(LIST.as_bytes()).expect("the prompt list is valid JSON")
}

fn arg<'a>(args: &'a Value, name: &str) -> Result<&'a str, RpcError> {
    args.get(name)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| RpcError::new(INVALID_PARAMS, format!("missing required argument: {name}")))
}

fn message(description: &str, text: String) -> Value {
    json!({"description": description, "messages": [{"role": "user", "content": {"type": "text", "text": text}}]})
}

pub fn get(name: &str, args: &Value) -> Result<Value, RpcError> {
    match name {
        "discover_similar" => {
            let artist = arg(args, "artist")?;
            Ok(message(
                "Similar artists, rebuilt without Spotify's removed related-artists endpoint",
                format!(
                    "Find artists similar to {artist}. Spotify no longer offers related artists or recommendations, so: \
1) use search (types: artist) to find {artist} and get_item on its URI for its genres and albums; \
2) search for artists in the same genres (e.g. query `genre:\"<genre>\"`, types: artist), and for the artist's name with words like 'similar' or 'for fans of' in playlists; \
3) call get_library (kind: top_artists) and prefer candidates that share genres with what the user already likes; \
4) present 5-8 artists with one line each on why they fit, and offer to play a track of each (play needs Premium and an active device)."
                ),
            ))
        }
        "taste_profile" => {
            let range = arg(args, "time_range")?;
            if !TIME_RANGES.contains(&range) {
                return Err(RpcError::new(
                    INVALID_PARAMS,
                    format!("time_range must be one of {}", TIME_RANGES.join(", ")),
                ));
            }
            Ok(message(
                "A summary of the user's listening habits",
                format!(
                    "Describe my taste in music over {range}. Call get_library three times: kind top_artists and kind top_tracks (time_range: {range}, limit: 20), \
and kind recently_played (limit: 50). Summarise in a few short paragraphs: the genres that dominate (from the artists' genres), \
favourite artists and tracks, how recent plays differ from the longer-term picture, and one or two suggestions to explore. \
Audio features (energy, danceability) are no longer available from Spotify: do not guess them."
                ),
            ))
        }
        "build_playlist" => {
            let vibe = arg(args, "vibe")?;
            let size: u32 = arg(args, "size")?
                .parse()
                .ok()
                .filter(|n| (1..=100).contains(n))
                .ok_or_else(|| RpcError::new(INVALID_PARAMS, "size must be a whole number from 1 to 100"))?;
            Ok(message(
                "Draft, confirm, then create a playlist",
                format!(
                    "Build a playlist of {size} tracks for: {vibe}. \
1) Gather candidates from my history (get_library with kind top_tracks, recently_played, saved_tracks) and from search (at most 10 results per call; use offset to page). \
2) Show me the draft as a numbered list (title, artist) and wait for my confirmation or changes. \
3) Only after I confirm: create_playlist (private unless I say otherwise), then edit_playlist_items (action: add) with the track URIs in batches of at most 100. \
Spotify has no recommendations endpoint any more: choose by genre, artist and title cues."
                ),
            ))
        }
        _ => Err(RpcError::new(INVALID_PARAMS, format!("Unknown prompt: {name}"))),
    }
}

/// `completion/complete` for prompt arguments with known values.
pub fn complete(params: &Value) -> Result<Value, RpcError> {
    let reference = params.get("ref").ok_or_else(|| RpcError::new(INVALID_PARAMS, "ref is required"))?;
    let argument = params.get("argument").and_then(|a| a.get("name")).and_then(Value::as_str).unwrap_or("");
    let typed = params.get("argument").and_then(|a| a.get("value")).and_then(Value::as_str).unwrap_or("");
    let values: &[&str] = match (
        reference.get("type").and_then(Value::as_str),
        reference.get("name").and_then(Value::as_str),
        argument,
    ) {
        (Some("ref/prompt"), Some("taste_profile"), "time_range") => TIME_RANGES,
        (Some("ref/prompt"), Some("build_playlist"), "size") => SIZES,
        (Some("ref/prompt"), Some(p), _) if !["discover_similar", "taste_profile", "build_playlist"].contains(&p) => {
            return Err(RpcError::new(INVALID_PARAMS, format!("Unknown prompt: {p}")))
        }
        _ => &[],
    };
    let matching: Vec<&str> = values.iter().copied().filter(|v| v.starts_with(typed)).collect();
    Ok(json!({"completion": {"values": matching, "total": matching.len(), "hasMore": false}}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompts_render_and_refuse_missing_arguments() {
        let p = get("build_playlist", &json!({"vibe": "rainy jazz", "size": "20"})).unwrap();
        assert!(p["messages"][0]["content"]["text"].as_str().unwrap().contains("20 tracks for: rainy jazz"));
        assert_eq!(get("build_playlist", &json!({"vibe": "x"})).unwrap_err().code, INVALID_PARAMS);
        assert_eq!(get("build_playlist", &json!({"vibe": "x", "size": "500"})).unwrap_err().code, INVALID_PARAMS);
        assert_eq!(get("taste_profile", &json!({"time_range": "forever"})).unwrap_err().code, INVALID_PARAMS);
        assert!(get("discover_similar", &json!({"artist": "Queen"})).is_ok());
        assert_eq!(get("nope", &json!({})).unwrap_err().code, INVALID_PARAMS);
    }

    #[test]
    fn completions_filter_known_values() {
        let c = complete(&json!({"ref": {"type": "ref/prompt", "name": "taste_profile"}, "argument": {"name": "time_range", "value": "s"}})).unwrap();
        assert_eq!(c["completion"]["values"], json!(["short_term"]));
        let c = complete(&json!({"ref": {"type": "ref/prompt", "name": "discover_similar"}, "argument": {"name": "artist", "value": "Q"}})).unwrap();
        assert_eq!(c["completion"]["values"], json!([]));
    }
}
