//! Naming a Spotify item: a model may pass a URI (`spotify:track:…`), an open.spotify.com
//! link (with or without `intl-xx/` and `?si=`), or a bare id. All become a URI.

/// The item kinds a URI can name.
pub const KINDS: &[&str] = &["track", "album", "artist", "playlist", "show", "episode"];

fn is_id(s: &str) -> bool {
    (15..=40).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// `(kind, id)` of an item, or a message saying what was expected. `default_kind` applies to
/// bare ids; `allowed` restricts the kinds.
pub fn parse(input: &str, default_kind: Option<&str>, allowed: &[&str]) -> Result<(String, String), String> {
    let input = input.trim();
    let expected =
        || format!("expected a Spotify {} URI, open.spotify.com link or id; got {input:?}", allowed.join("/"));
    let (kind, id) = if let Some(rest) = input.strip_prefix("spotify:") {
        let mut parts = rest.split(':');
        (parts.next().unwrap_or("").to_string(), parts.next().unwrap_or("").to_string())
    } else if input.starts_with("http://") || input.starts_with("https://") {
        let url = url::Url::parse(input).map_err(|_| expected())?;
        if url.host_str() != Some("open.spotify.com") {
            return Err(expected());
        }
        let segments: Vec<&str> = url
            .path_segments()
            .map(|s| s.filter(|p| !p.is_empty() && !p.starts_with("intl-")).collect())
            .unwrap_or_default();
        match segments.as_slice() {
            [kind, id, ..] => (kind.to_string(), id.to_string()),
            _ => return Err(expected()),
        }
    } else {
        match default_kind {
            Some(k) => (k.to_string(), input.to_string()),
            None => return Err(expected()),
        }
    };
    if !allowed.contains(&kind.as_str()) || !is_id(&id) {
        return Err(expected());
    }
    Ok((kind, id))
}

pub fn uri(input: &str, default_kind: Option<&str>, allowed: &[&str]) -> Result<String, String> {
    parse(input, default_kind, allowed).map(|(k, id)| format!("spotify:{k}:{id}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_uris_links_and_ids() {
        let t = Some("track");
        let want = "spotify:track:4u7EnebtmKWzUH433cf5Qv";
        assert_eq!(uri("spotify:track:4u7EnebtmKWzUH433cf5Qv", t, KINDS).unwrap(), want);
        assert_eq!(uri("https://open.spotify.com/track/4u7EnebtmKWzUH433cf5Qv?si=abc", t, KINDS).unwrap(), want);
        assert_eq!(uri("https://open.spotify.com/intl-de/track/4u7EnebtmKWzUH433cf5Qv", t, KINDS).unwrap(), want);
        assert_eq!(uri(" 4u7EnebtmKWzUH433cf5Qv ", t, KINDS).unwrap(), want);
        assert!(uri("spotify:album:6i6folBtxKV28WX3msQ4FE", t, &["track"]).is_err());
        assert!(uri("https://evil.example/track/4u7EnebtmKWzUH433cf5Qv", t, KINDS).is_err());
        assert!(uri("Bohemian Rhapsody", t, KINDS).is_err());
        assert!(uri("spotify:track:../../x", t, KINDS).is_err());
    }
}
