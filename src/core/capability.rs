//! What a person lets one client do, chosen on the consent page: the OAuth scopes of our
//! grants. Each capability maps to the Spotify scopes its tools need, so a sign-in asks
//! Spotify only for what was chosen. Catalog, search, profile and the auth tools need no
//! capability: every grant has them.
//!
//! Lives in `core` because every layer needs it: the consent page (oauth), the grant
//! (store), the Spotify sign-in (spotify) and the tool list (tools).

/// One group of tools a person can grant or withhold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Capability {
    /// See and control playback, devices, the queue.
    Playback,
    /// Saved items, listening history, top items, follows.
    Library,
    /// Read and edit playlists.
    Playlists,
}

/// The scope value issued before capabilities existed: it means every capability, so
/// grants made then keep working.
pub const LEGACY_ALL: &str = "spotify";

/// Always requested: `/v1/me` (who signed in) needs it, whatever else was chosen.
pub const BASE_SPOTIFY_SCOPES: &[&str] = &["user-read-private"];

impl Capability {
    pub const ALL: [Capability; 3] = [Capability::Playback, Capability::Library, Capability::Playlists];

    /// The OAuth scope value (also the consent form's `capability` value).
    pub fn name(self) -> &'static str {
        match self {
            Capability::Playback => "playback",
            Capability::Library => "library",
            Capability::Playlists => "playlists",
        }
    }

    pub fn parse(text: &str) -> Option<Capability> {
        Capability::ALL.into_iter().find(|c| c.name() == text)
    }

    /// In words, for the consent page and `get_auth_status`.
    pub fn describe(self) -> &'static str {
        match self {
            Capability::Playback => "see and control playback, devices and the queue",
            Capability::Library => "see and change your saved items, listening history, top items and follows",
            Capability::Playlists => "read and edit your playlists",
        }
    }

    /// The Spotify scopes this capability's tools need.
    pub fn spotify_scopes(self) -> &'static [&'static str] {
        match self {
            Capability::Playback => {
                &["user-read-playback-state", "user-read-currently-playing", "user-modify-playback-state"]
            }
            Capability::Library => &[
                "user-library-read",
                "user-library-modify",
                "user-read-recently-played",
                "user-top-read",
                "user-follow-read",
                "user-follow-modify",
            ],
            Capability::Playlists => &[
                "playlist-read-private",
                "playlist-read-collaborative",
                "playlist-modify-public",
                "playlist-modify-private",
            ],
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// A set of capabilities; the scope string of a grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Capabilities(u8);

impl Capabilities {
    pub const NONE: Capabilities = Capabilities(0);
    pub const ALL: Capabilities = Capabilities(0b111);

    pub fn contains(self, c: Capability) -> bool {
        self.0 & c.bit() != 0
    }

    pub fn with(self, c: Capability) -> Capabilities {
        Capabilities(self.0 | c.bit())
    }

    pub fn union(self, other: Capabilities) -> Capabilities {
        Capabilities(self.0 | other.0)
    }

    pub fn is_subset_of(self, other: Capabilities) -> bool {
        self.0 & !other.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = Capability> {
        Capability::ALL.into_iter().filter(move |c| self.contains(*c))
    }

    /// A small dense index (0..8), for per-set caches.
    pub fn index(self) -> usize {
        self.0 as usize
    }

    /// Parses a space-separated scope string. `spotify` (the scope of grants made before
    /// capabilities existed) means all. Unknown words are an error naming the word.
    pub fn parse_scope(scope: &str) -> Result<Capabilities, String> {
        let mut set = Capabilities::NONE;
        for word in scope.split_whitespace() {
            if word == LEGACY_ALL {
                set = Capabilities::ALL;
            } else {
                match Capability::parse(word) {
                    Some(c) => set = set.with(c),
                    None => return Err(word.to_string()),
                }
            }
        }
        Ok(set)
    }

    /// Lenient reading of a stored grant's scope: unknown words are ignored.
    pub fn from_granted(scope: &str) -> Capabilities {
        scope.split_whitespace().fold(Capabilities::NONE, |set, w| match (w, Capability::parse(w)) {
            (LEGACY_ALL, _) => Capabilities::ALL,
            (_, Some(c)) => set.with(c),
            _ => set,
        })
    }

    /// The scope string of a grant, in a fixed order (empty for no capability).
    pub fn scope(self) -> String {
        self.iter().map(Capability::name).collect::<Vec<_>>().join(" ")
    }

    /// The Spotify scopes these capabilities need, the base scopes first, no duplicates.
    pub fn spotify_scopes(self) -> Vec<&'static str> {
        let mut out: Vec<&'static str> = BASE_SPOTIFY_SCOPES.to_vec();
        for c in self.iter() {
            out.extend(c.spotify_scopes().iter().copied().filter(|s| !BASE_SPOTIFY_SCOPES.contains(s)));
        }
        out
    }

    /// All scope values, for `scopes_supported` in both metadata documents.
    pub fn supported() -> Vec<&'static str> {
        Capability::ALL.iter().map(|c| c.name()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_strings_round_trip_in_a_fixed_order() {
        let set = Capabilities::parse_scope("playlists playback").unwrap();
        assert_eq!(set.scope(), "playback playlists");
        assert_eq!(Capabilities::parse_scope(&set.scope()).unwrap(), set);
        assert_eq!(Capabilities::parse_scope("").unwrap(), Capabilities::NONE);
        assert_eq!(Capabilities::parse_scope("spotify").unwrap(), Capabilities::ALL);
        assert_eq!(Capabilities::parse_scope("playback admin"), Err("admin".to_string()));
        assert_eq!(Capabilities::from_granted("library admin"), Capabilities::NONE.with(Capability::Library));
    }

    #[test]
    fn spotify_scopes_follow_the_capabilities() {
        let only_playlists = Capabilities::NONE.with(Capability::Playlists).spotify_scopes();
        assert_eq!(only_playlists[0], "user-read-private");
        assert!(only_playlists.contains(&"playlist-modify-private"));
        assert!(!only_playlists.iter().any(|s| s.contains("playback") || s.contains("library")));
        let all = Capabilities::ALL.spotify_scopes();
        assert_eq!(all.len(), 14, "every scope the toolset uses, once");
        let unique: std::collections::HashSet<_> = all.iter().collect();
        assert_eq!(unique.len(), all.len());
    }

    #[test]
    fn subsets_and_unions() {
        let p = Capabilities::NONE.with(Capability::Playback);
        let l = Capabilities::NONE.with(Capability::Library);
        assert!(p.is_subset_of(p.union(l)) && !p.union(l).is_subset_of(p));
        assert_eq!(p.union(l).iter().collect::<Vec<_>>(), [Capability::Playback, Capability::Library]);
        assert_eq!(Capabilities::ALL.index(), 7);
    }
}
