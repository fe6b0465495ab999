//! Backing off a Spotify app that Spotify told to wait.
//!
//! Spotify rate-limits per app (client id), not per person: every link of the operator's
//! shared app spends one budget, while a person's own app has its own. When Spotify answers
//! a call with a 429 whose `Retry-After` is longer than we wait inline, or says the app's
//! quota is used up, every further call of that app in this isolate answers at once with
//! the remaining wait instead of calling Spotify again (which would only prolong the
//! penalty), until the wait has passed.
//!
//! Memory only, on purpose: reading a shared flag from KV would add a read to every tool
//! call (the steady-state budget is two). Another isolate learns of the episode from its
//! own first 429, so Spotify sees at most one call per live isolate during the wait.

use crate::core::spotify_app::SpotifyApp;
use crate::spotify::error::SpotifyError;
use std::cell::RefCell;
use std::collections::HashMap;

/// The wait assumed when Spotify gives none (a quota answer usually has none).
pub const DEFAULT_WAIT_SECS: u64 = 60;
/// A `Retry-After` beyond this is held only this long: afterwards one call probes again.
pub const MAX_HELD_SECS: u64 = 3600;

thread_local! {
    /// Per app: until when (seconds) and whether Spotify said the quota is used up.
    static UNTIL: RefCell<HashMap<String, (u64, bool)>> = RefCell::new(HashMap::new());
}

fn key(app: &SpotifyApp) -> String {
    match app {
        SpotifyApp::Operator => "operator".to_string(),
        SpotifyApp::Own(id) => format!("own:{}", id.as_str()),
    }
}

/// Remembers Spotify's answer `error` for `app` when it is a rate limit; other errors are ignored.
pub fn note(app: &SpotifyApp, now: u64, error: &SpotifyError) {
    let SpotifyError::RateLimited { retry_after_secs, quota_exceeded } = error else { return };
    let wait = retry_after_secs.unwrap_or(DEFAULT_WAIT_SECS).clamp(1, MAX_HELD_SECS);
    UNTIL.with(|u| {
        let mut u = u.borrow_mut();
        let entry = u.entry(key(app)).or_insert((0, false));
        if now + wait > entry.0 {
            *entry = (now + wait, *quota_exceeded);
        }
    });
}

/// The answer to give instead of calling Spotify for `app`, while a wait is running.
pub fn active(app: &SpotifyApp, now: u64) -> Option<SpotifyError> {
    UNTIL.with(|u| {
        let mut u = u.borrow_mut();
        let k = key(app);
        match u.get(&k).copied() {
            Some((until, quota_exceeded)) if until > now => {
                Some(SpotifyError::RateLimited { retry_after_secs: Some(until - now), quota_exceeded })
            }
            Some(_) => {
                u.remove(&k);
                None
            }
            None => None,
        }
    })
}

/// Forgets every wait (tests share one thread between cases).
#[cfg(test)]
pub fn clear() {
    UNTIL.with(|u| u.borrow_mut().clear());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::spotify_app::SpotifyClientId;

    #[test]
    fn a_wait_holds_for_its_app_only_and_passes() {
        clear();
        let own = SpotifyApp::Own(SpotifyClientId::parse(&"c".repeat(32)).unwrap());
        note(
            &SpotifyApp::Operator,
            100,
            &SpotifyError::RateLimited { retry_after_secs: Some(30), quota_exceeded: false },
        );
        assert_eq!(
            active(&SpotifyApp::Operator, 110),
            Some(SpotifyError::RateLimited { retry_after_secs: Some(20), quota_exceeded: false })
        );
        assert_eq!(active(&own, 110), None, "a person's own app has its own quota");
        assert_eq!(active(&SpotifyApp::Operator, 130), None, "passed");
        note(&own, 100, &SpotifyError::RateLimited { retry_after_secs: None, quota_exceeded: true });
        assert_eq!(
            active(&own, 100),
            Some(SpotifyError::RateLimited { retry_after_secs: Some(DEFAULT_WAIT_SECS), quota_exceeded: true })
        );
        note(
            &own,
            100,
            &SpotifyError::RateLimited { retry_after_secs: Some(10 * MAX_HELD_SECS), quota_exceeded: false },
        );
        assert!(
            matches!(active(&own, 100), Some(SpotifyError::RateLimited { retry_after_secs: Some(s), .. }) if s == MAX_HELD_SECS)
        );
        note(&own, 100, &SpotifyError::Server(503));
        assert_eq!(active(&SpotifyApp::Operator, 100), None, "only rate limits are remembered");
        clear();
    }
}
