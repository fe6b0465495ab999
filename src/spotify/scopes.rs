//! Spotify scope strings. Which scopes a sign-in asks for follows from the capabilities a
//! person grants (`core::capability`); Spotify only ever refreshes into the scopes granted
//! at sign-in, so a missing one needs a new sign-in.

/// The scopes of `needed` that `granted` (space-separated) lacks.
pub fn missing<'a>(granted: &str, needed: &[&'a str]) -> Vec<&'a str> {
    needed.iter().copied().filter(|s| !granted.split_whitespace().any(|g| g == *s)).collect()
}
