//! A small fixed catalogue with Spotify's object shapes (2026 field set: no popularity,
//! no external_ids, no available_markets).

use serde_json::{json, Value};

/// (artist id, name)
const ARTISTS: &[(&str, &str)] = &[
    ("0OdUWJ0sBjDrqHygGUXeCF", "Band of Horses"),
    ("1dfeR4HaWDbWqFHLkxsg1d", "Queen"),
    ("3WrFJ7ztbogyGnTHbHJFl2", "The Beatles"),
    ("4Z8W4fKeB5YxbusRsdQVPb", "Radiohead"),
    ("6olE6TJLqED3rqDCT0FyPh", "Nirvana"),
    ("2ye2Wgw4gimLv2eAKyk1NB", "Metallica"),
    ("7dGJo4pcD2V6oG8kP0tJRR", "Eminem"),
    ("5K4W6rqBFWDnAN6FQUkS6x", "Café Tacvba"),
];

/// (album id, name, artist index, release date)
const ALBUMS: &[(&str, &str, usize, &str)] = &[
    ("4sb0eMpDn3upAFfyi4q2rw", "Everything All the Time", 0, "2006-03-21"),
    ("6i6folBtxKV28WX3msQ4FE", "A Night at the Opera", 1, "1975-11-21"),
    ("0ETFjACtuP2ADo6LFhL6HN", "Abbey Road", 2, "1969-09-26"),
    ("6dVIqQ8qmQ5GBnJ9shOYGE", "OK Computer", 3, "1997-05-21"),
    ("2guirTSEqLizK7j9i1MTTZ", "Nevermind", 4, "1991-09-24"),
    ("2Kh43m04B1UkVcpcRa1Zug", "Master of Puppets", 5, "1986-03-03"),
    ("6t7956yu5zYf5A829XRiHC", "The Eminem Show", 6, "2002-05-26"),
    ("1a2b3c4d5e6f7g8h9i0jKL", "Re", 7, "1994-07-26"),
];

/// (track id, name, album index, duration ms, explicit)
const TRACKS: &[(&str, &str, usize, u64, bool)] = &[
    ("4Kz4RdRCceaA9VgTqBhBfa", "The Funeral", 0, 322_000, false),
    ("0sXIj0Nz8Y5h1f1kNqfsjW", "Is There a Ghost", 0, 181_000, false),
    ("4u7EnebtmKWzUH433cf5Qv", "Bohemian Rhapsody", 1, 354_000, false),
    ("1lCRw5FEZ1gPDNPzy1K4zW", "Love of My Life", 1, 219_000, false),
    ("7tqhbajSfrz2F7E1Z75ASX", "You're My Best Friend", 1, 172_000, false),
    ("3BQHpFgAp4l80e1XslIjNI", "Come Together", 2, 259_000, false),
    ("0pNeVovbiZHkulpGeOx1Gj", "Something", 2, 182_000, false),
    ("6dGnYIeXmHdcikdzNNDMm2", "Here Comes the Sun", 2, 185_000, false),
    ("6LgJvl0Xdtc73RJ1mmpotq", "Paranoid Android", 3, 387_000, false),
    ("35YyxUh3YJgfEoWqqOzbYy", "Karma Police", 3, 264_000, false),
    ("2nTsKOXIVGDf2iPeVQO2Gm", "No Surprises", 3, 229_000, false),
    ("5ghIJDpPoe3CfHMGu71E6T", "Smells Like Teen Spirit", 4, 301_000, false),
    ("4CeeEOM32jQcH3eN9Q2dGj", "Come as You Are", 4, 219_000, false),
    ("2MuWTIM3b0YEAskbeeFE1i", "Master of Puppets", 5, 515_000, false),
    ("3wJ1bPoiZKi9fSe1bQdpbg", "Battery", 5, 312_000, false),
    ("7lQ8MOhq6IN2w8EYcFNSUk", "Without Me", 6, 290_000, true),
    ("3ZFTkvIE7kyPt6Nu3PEa7V", "Till I Collapse", 6, 297_000, true),
    ("1GlyIHHWxKTRvyXQrU0tsS", "Love the Way You Lie (Demo)", 6, 263_000, true),
    ("5Yq1nUcTzr4TqPIn6BHhyK", "Eres", 7, 268_000, false),
    ("0LoveCafeDelMar0000001", "Café del Mar", 7, 421_000, false),
    ("6Love00000000000000002", "Love Song for a Rainy Day", 0, 233_000, false),
    ("6Love00000000000000003", "Lovely Day Sunshine", 2, 205_000, false),
];

pub fn artist(i: usize) -> Value {
    let (id, name) = ARTISTS[i];
    json!({
        "id": id, "name": name, "type": "artist", "uri": format!("spotify:artist:{id}"),
        "href": format!("https://api.spotify.com/v1/artists/{id}"),
        "external_urls": {"spotify": format!("https://open.spotify.com/artist/{id}")},
    })
}

pub fn album(i: usize) -> Value {
    let (id, name, a, date) = ALBUMS[i];
    let total = TRACKS.iter().filter(|t| t.2 == i).count();
    json!({
        "id": id, "name": name, "type": "album", "album_type": "album", "uri": format!("spotify:album:{id}"),
        "href": format!("https://api.spotify.com/v1/albums/{id}"),
        "external_urls": {"spotify": format!("https://open.spotify.com/album/{id}")},
        "release_date": date, "release_date_precision": "day", "total_tracks": total,
        "images": [{"url": format!("https://i.scdn.co/image/{id}"), "height": 640, "width": 640}],
        "artists": [artist(a)],
    })
}

pub fn track(i: usize) -> Value {
    let (id, name, al, duration_ms, explicit) = TRACKS[i];
    let number = TRACKS[..i].iter().filter(|t| t.2 == al).count() + 1;
    json!({
        "id": id, "name": name, "type": "track", "uri": format!("spotify:track:{id}"),
        "href": format!("https://api.spotify.com/v1/tracks/{id}"),
        "external_urls": {"spotify": format!("https://open.spotify.com/track/{id}")},
        "duration_ms": duration_ms, "explicit": explicit, "track_number": number, "disc_number": 1, "is_local": false,
        "artists": [artist(ALBUMS[al].2)], "album": album(al),
    })
}

fn fold(s: &str) -> String {
    s.to_lowercase().replace(['é', 'è'], "e").replace('á', "a")
}

/// Query words, folded; `artist:`/`track:`/... filters loosely match anywhere, which is
/// enough for the Worker's queries without modelling Spotify's field semantics.
fn query_words(query: &str) -> Vec<String> {
    query
        .split_whitespace()
        .map(|w| fold(w.split_once(':').map(|(_, v)| v).unwrap_or(w)))
        .filter(|w| !w.is_empty())
        .collect()
}

/// Indices of tracks whose name, album or artist contains every query word.
pub fn search_tracks(query: &str) -> Vec<usize> {
    let words = query_words(query);
    (0..TRACKS.len())
        .filter(|&i| {
            let (_, name, al, _, _) = TRACKS[i];
            let hay = fold(&format!("{name} {} {}", ALBUMS[al].1, ARTISTS[ALBUMS[al].2].1));
            words.iter().all(|w| hay.contains(w.as_str()))
        })
        .collect()
}

pub fn track_count() -> usize {
    TRACKS.len()
}

pub fn track_index_by_uri(uri: &str) -> Option<usize> {
    let id = uri.strip_prefix("spotify:track:")?;
    TRACKS.iter().position(|t| t.0 == id)
}

/// Track indices of an album, artist or playlist context (playlists: the whole catalogue).
pub fn tracks_of_context(uri: &str) -> Vec<usize> {
    let mut parts = uri.split(':').skip(1);
    let (kind, id) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    match kind {
        "album" => ALBUMS
            .iter()
            .position(|a| a.0 == id)
            .map(|al| (0..TRACKS.len()).filter(|&i| TRACKS[i].2 == al).collect())
            .unwrap_or_default(),
        "artist" => ARTISTS
            .iter()
            .position(|a| a.0 == id)
            .map(|ar| (0..TRACKS.len()).filter(|&i| ALBUMS[TRACKS[i].2].2 == ar).collect())
            .unwrap_or_default(),
        _ => (0..TRACKS.len()).collect(),
    }
}

/// The full object a URI names, for any kind in the catalogue.
pub fn lookup(uri: &str) -> Option<Value> {
    let mut parts = uri.split(':');
    if parts.next() != Some("spotify") {
        return None;
    }
    let (kind, id) = (parts.next()?, parts.next()?);
    match kind {
        "track" => TRACKS.iter().position(|t| t.0 == id).map(track),
        "album" => ALBUMS.iter().position(|a| a.0 == id).map(album),
        "artist" => ARTISTS.iter().position(|a| a.0 == id).map(artist),
        "show" => (id == SHOW.0).then(show),
        "episode" => EPISODES.iter().position(|e| e.0 == id).map(episode),
        _ => None,
    }
}

/// A per-range ordering of the catalogue, so different time ranges give different answers.
pub fn top_tracks(shift: usize) -> Vec<Value> {
    (0..TRACKS.len()).map(|i| track((i + shift) % TRACKS.len())).collect()
}

pub fn top_artists(shift: usize) -> Vec<Value> {
    (0..ARTISTS.len())
        .map(|i| {
            let mut a = artist((i + shift) % ARTISTS.len());
            a["genres"] = json!(["rock"]);
            a
        })
        .collect()
}

/// One podcast with three episodes, for the show/episode endpoints and search.
const SHOW: (&str, &str, &str) = ("5CfCWKI5pZ28U0uOzXkDHe", "Sound Check Weekly", "A weekly talk show about records.");
const EPISODES: &[(&str, &str, u64)] = &[
    ("512ojhOuo1ktJprKbVcKyQ", "Episode 1: Opera and rock", 1_800_000),
    ("4rOoJ6Egrf8K2IrywzwOMk", "Episode 2: Grunge at thirty", 2_100_000),
    ("0Q86acNRm6V9GYx55SXKwf", "Episode 3: Café culture", 1_950_000),
];

pub fn show() -> Value {
    let (id, name, description) = SHOW;
    json!({"id": id, "name": name, "type": "show", "uri": format!("spotify:show:{id}"), "description": description,
           "media_type": "audio", "total_episodes": EPISODES.len(), "explicit": false,
           "external_urls": {"spotify": format!("https://open.spotify.com/show/{id}")}, "images": []})
}

pub fn episode(i: usize) -> Value {
    let (id, name, duration_ms) = EPISODES[i];
    json!({"id": id, "name": name, "type": "episode", "uri": format!("spotify:episode:{id}"), "duration_ms": duration_ms,
           "release_date": format!("2026-10-0{}", i + 1), "description": "", "explicit": false,
           "external_urls": {"spotify": format!("https://open.spotify.com/episode/{id}")}, "show": show()})
}

pub fn search_other(kind: &str, query: &str) -> Vec<Value> {
    let words = query_words(query);
    let matches = |name: &str| {
        let hay = fold(name);
        words.iter().all(|w| hay.contains(w.as_str()))
    };
    match kind {
        "album" => (0..ALBUMS.len())
            .filter(|&i| matches(&format!("{} {}", ALBUMS[i].1, ARTISTS[ALBUMS[i].2].1)))
            .map(album)
            .collect(),
        "artist" => (0..ARTISTS.len()).filter(|&i| matches(ARTISTS[i].1)).map(artist).collect(),
        "show" => {
            if matches(SHOW.1) {
                vec![show()]
            } else {
                vec![]
            }
        }
        "episode" => {
            (0..EPISODES.len()).filter(|&i| matches(&format!("{} {}", EPISODES[i].1, SHOW.1))).map(episode).collect()
        }
        _ => vec![],
    }
}

/// `GET /v1/{tracks,albums,artists,shows,episodes}/{id}[/albums|/tracks|/episodes]`.
pub fn get(path: &str) -> Option<Value> {
    let p: Vec<&str> = path.trim_start_matches("/v1/").split('/').collect();
    match p.as_slice() {
        ["tracks", id] => TRACKS.iter().position(|t| t.0 == *id).map(track),
        ["albums", id] => ALBUMS.iter().position(|a| a.0 == *id).map(|i| {
            let mut a = album(i);
            let items: Vec<Value> = (0..TRACKS.len()).filter(|&t| TRACKS[t].2 == i).map(track).collect();
            a["tracks"] = json!({"items": items, "total": items.len(), "limit": 50, "offset": 0});
            a
        }),
        ["artists", id] => ARTISTS.iter().position(|a| a.0 == *id).map(|i| {
            let mut a = artist(i);
            a["genres"] = json!(["rock"]);
            a
        }),
        ["artists", id, "albums"] => ARTISTS.iter().position(|a| a.0 == *id).map(|i| {
            let items: Vec<Value> = (0..ALBUMS.len()).filter(|&al| ALBUMS[al].2 == i).map(album).collect();
            json!({"items": items, "total": items.len(), "limit": 20, "offset": 0})
        }),
        ["shows", id] if *id == SHOW.0 => {
            let mut s = show();
            s["episodes"] =
                json!({"items": (0..EPISODES.len()).map(episode).collect::<Vec<_>>(), "total": EPISODES.len()});
            Some(s)
        }
        ["episodes", id] => EPISODES.iter().position(|e| e.0 == *id).map(episode),
        _ => None,
    }
}
