//! The MCP Apps views (src/ui) in headless Chromium, hosted by the SDK's AppBridge and fed
//! by the real Worker in `wrangler dev` against the Spotify emulator: tests/browser/apps.mjs
//! does the looking and clicking; this sets up a signed-in user with something playing.
//! Needs the build, the npm tools and Debian's chromium: `make test` provides them.
#![cfg(not(target_arch = "wasm32"))]

mod support;

use serde_json::json;
use support::*;

#[test]
fn player_and_list_views_in_headless_chromium() {
    let s = stack();
    let (_, t) = sign_in(s, "uma");
    // The player view needs a track playing; the list view then plays another one.
    let started =
        call_tool(s, &t.access, "play", json!({"uri": "spotify:track:4u7EnebtmKWzUH433cf5Qv", "device": "kitchen"}));
    assert_eq!(started["isError"], false, "{started}");
    // A minute in, so the progress bar of the screenshots (and docs/player.png) shows.
    let seek = call_tool(s, &t.access, "control_playback", json!({"command": "seek", "position_ms": 61000}));
    assert_eq!(seek["isError"], false, "{seek}");
    let state = call_tool(s, &t.access, "get_playback_state", json!({}));
    assert_eq!(state["structuredContent"]["is_playing"], true, "{state}");

    let artifacts = root().join("test-artifacts/screenshots");
    eprintln!("{}", run_browser_script("tests/browser/apps.mjs", &[&s.base, &t.access, artifacts.to_str().unwrap()]));
    for shot in ["ui-player-light.png", "ui-player-dark.png", "ui-list-light.png", "ui-list-dark.png"] {
        assert!(artifacts.join(shot).exists(), "{shot} missing");
    }
    // The README's screenshot (refreshed with UPDATE_DOCS_SCREENSHOT=1).
    assert!(root().join("docs/player.png").exists());
}
