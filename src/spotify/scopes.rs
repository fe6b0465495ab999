//! The Spotify scopes we ask for at sign-in. Spotify only ever refreshes into the scopes
//! granted at sign-in, so we ask once for everything the toolset uses rather than making
//! people re-link each time a tool needs a new one.

pub const REQUESTED: &[&str] = &[
    "user-read-private",
    "user-read-playback-state",
    "user-read-currently-playing",
    "user-modify-playback-state",
    "user-read-recently-played",
    "user-top-read",
    "user-library-read",
    "user-library-modify",
    "user-follow-read",
    "user-follow-modify",
    "playlist-read-private",
    "playlist-read-collaborative",
    "playlist-modify-public",
    "playlist-modify-private",
];

pub fn requested() -> String {
    REQUESTED.join(" ")
}

/// The scopes of `needed` that `granted` (space-separated) lacks.
pub fn missing<'a>(granted: &str, needed: &[&'a str]) -> Vec<&'a str> {
    needed.iter().copied().filter(|s| !granted.split_whitespace().any(|g| g == *s)).collect()
}
