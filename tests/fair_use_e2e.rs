//! Fair use through the real Worker in `wrangler dev`: miniflare implements the Rate
//! Limiting binding locally, so these run against the same `[[ratelimits]]` bindings as
//! production, with limits low enough to meet (tests/wrangler.fair-use.toml). A Worker of
//! its own: the shared-app backoff and the low limits must not reach the other suites.
#![cfg(not(target_arch = "wasm32"))]

mod support;

use serde_json::{json, Value};
use spotify_emulator::Fault;
use std::sync::OnceLock;
use support::*;

/// The limits of tests/wrangler.fair-use.toml.
const MCP_LIMIT: usize = 5;
const TOKEN_LIMIT: usize = 3;

fn fair_stack() -> &'static Stack {
    static STACK: OnceLock<Stack> = OnceLock::new();
    STACK.get_or_init(|| Stack::start_full(Some("tests/wrangler.fair-use.toml"), true, &[]))
}

/// The local limiter counts in fixed 60 s windows: a run that straddles a window edge may
/// get up to twice the limit before the first refusal.
fn first_refusal(limit: usize, mut attempt: impl FnMut() -> Option<Resp>) -> (usize, Resp) {
    for i in 0..=2 * limit {
        if let Some(refused) = attempt() {
            return (i, refused);
        }
    }
    panic!("never throttled in {} attempts", 2 * limit + 1)
}

#[test]
fn the_test_config_keeps_in_step_with_wrangler_toml() {
    let read = |p: &str| std::fs::read_to_string(root().join(p)).unwrap();
    let (main, test) = (read("wrangler.toml"), read("tests/wrangler.fair-use.toml"));
    let lines = |s: &str, prefix: &str| -> Vec<String> {
        s.lines().filter(|l| l.starts_with(prefix)).map(str::to_string).collect()
    };
    for prefix in ["compatibility_date", "namespace_id", "binding = ", "name = \"MCP", "name = \"TOKEN"] {
        assert_eq!(lines(&main, prefix), lines(&test, prefix), "{prefix}");
    }
    assert!(main.contains("simple = { limit = 300, period = 60 }") && main.contains("limit = 10, period = 60"));
}

#[test]
fn health_sees_both_limiters_bound() {
    let s = fair_stack();
    let health = get(&s.url("/health"), &[]).json();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["warnings"], json!([]), "{health}");
}

#[test]
fn mcp_calls_are_throttled_per_user() {
    let s = fair_stack();
    let (_, t) = sign_in(s, "fair-ann");
    let (_, other) = sign_in(s, "fair-ben");
    let (allowed, refused) = first_refusal(MCP_LIMIT, || {
        let r = mcp_legacy(s, &t.access, "tools/list", json!({}));
        (r.status != 200).then_some(r)
    });
    assert!(allowed >= MCP_LIMIT, "refused after {allowed}");
    assert_eq!(refused.status, 429, "{}", refused.body);
    assert_eq!(refused.header("retry-after"), Some("60"));
    let body = refused.json();
    assert_eq!(body["jsonrpc"], "2.0");
    assert_eq!(body["id"], 1);
    assert_eq!(body["error"]["code"], -32000);
    assert_eq!(body["error"]["data"]["retryAfterSeconds"], 60);
    // A tool call gets a tool error the model can read (HTTP 200), in both eras.
    let (_, call) = first_refusal(MCP_LIMIT, || {
        let r = mcp_modern(s, &t.access, "tools/call", json!({"name": "get_my_profile", "arguments": {}}));
        (r.json()["result"]["isError"] == true).then_some(r)
    });
    assert_eq!(call.status, 200);
    assert_eq!(call.header("retry-after"), Some("60"));
    let result = &call.json()["result"];
    assert_eq!(result["resultType"], "complete");
    let text = result["content"][0]["text"].as_str().unwrap();
    assert!(text.contains("Too many requests") && text.contains("Wait 60 seconds"), "{text}");
    // Someone else is not affected.
    assert_eq!(mcp_legacy(s, &other.access, "tools/list", json!({})).status, 200);
}

#[test]
fn token_refreshes_are_throttled_per_grant() {
    let s = fair_stack();
    let (client, t) = sign_in(s, "fair-cid");
    let mut refresh = t.refresh.clone();
    let (allowed, refused) = first_refusal(TOKEN_LIMIT, || {
        let r = post_form(
            &s.url("/token"),
            &[],
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh), ("client_id", &client.client_id)],
        );
        if r.status == 200 {
            refresh = r.json()["refresh_token"].as_str().unwrap().to_string();
            None
        } else {
            Some(r)
        }
    });
    assert!(allowed >= TOKEN_LIMIT, "refused after {allowed}");
    assert_eq!(refused.status, 429, "{}", refused.body);
    assert_eq!(refused.json()["error"], "temporarily_unavailable");
    let wait: u64 = refused.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=3600).contains(&wait), "{wait}");
    assert_eq!(refused.header("cache-control"), Some("no-store"));
}

fn profile(s: &Stack, token: &str) -> Value {
    let r = mcp_legacy(s, token, "tools/call", json!({"name": "get_my_profile", "arguments": {}}));
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["result"].clone()
}

#[test]
fn a_long_429_of_the_shared_app_holds_back_its_other_users_until_it_passes() {
    let s = fair_stack();
    let (_, dee) = sign_in(s, "fair-dee");
    let (_, eve) = sign_in(s, "fair-eve");
    let own = "fa1f0e5e".repeat(4);
    s.emulator.register_app(&own, &[&s.url("/callback")]);
    let (_, fay) = sign_in_choosing(s, "fair-fay", &["playback", "library", "playlists"], Some(&own));
    let fay = fay["access_token"].as_str().unwrap().to_string();

    s.emulator.inject_fault("fair-dee", Fault { status: 429, retry_after: Some(5), reason: None }, 1);
    let first = profile(s, &dee.access);
    assert_eq!(first["isError"], true);
    assert!(first["content"][0]["text"].as_str().unwrap().contains("try again in"), "{first}");
    // Eve shares the app: answered at once, Spotify not called.
    let before = s.emulator.user_request_count("fair-eve", "GET /v1/me");
    let held = profile(s, &eve.access);
    assert_eq!(held["isError"], true, "{held}");
    assert!(held["content"][0]["text"].as_str().unwrap().contains("rate limiting"), "{held}");
    assert_eq!(s.emulator.user_request_count("fair-eve", "GET /v1/me"), before);
    // Fay's own app has its own quota.
    assert_eq!(profile(s, &fay)["isError"], false);
    std::thread::sleep(std::time::Duration::from_millis(5_500));
    assert_eq!(profile(s, &eve.access)["isError"], false, "the wait passed");
    assert_eq!(s.emulator.user_request_count("fair-eve", "GET /v1/me"), before + 1);
}
