//! Serving everyone who signs in, through the real Worker in `wrangler dev`: people's own
//! Spotify apps (public PKCE clients with single-use refresh tokens) beside the operator's,
//! the capabilities a person grants, and a deployment with no operator app at all.
#![cfg(not(target_arch = "wasm32"))]

mod support;

use serde_json::{json, Value};
use spotify_emulator::{Config as EmulatorConfig, OAuthLogEntry};
use std::sync::OnceLock;
use support::*;

/// A Spotify Client ID as the dashboard shows one: 32 hex characters.
fn new_client_id() -> String {
    rand_hex(32)
}

fn tool_names(s: &Stack, token: &str) -> Vec<String> {
    let r = mcp_legacy(s, token, "tools/list", json!({}));
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["result"]["tools"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap().to_string()).collect()
}

fn token_requests(s: &Stack, user: &str) -> Vec<OAuthLogEntry> {
    s.emulator.oauth_log().into_iter().filter(|e| e.endpoint == "token" && e.user.as_deref() == Some(user)).collect()
}

fn refresh_attempts(s: &Stack, client_id: &str) -> usize {
    s.emulator
        .oauth_log()
        .iter()
        .filter(|e| e.client_id == client_id && e.grant_type.as_deref() == Some("refresh_token"))
        .count()
}

fn run_ts_client(s: &Stack, user: &str, own_app: Option<&str>) -> Value {
    let mut cmd = std::process::Command::new("node");
    cmd.args(["tests/clients/ts_sdk_client.mjs", &s.base, user]).current_dir(root());
    if let Some(id) = own_app {
        cmd.arg(id);
    }
    let out = cmd.output().expect("node runs (make setup)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "TS SDK client failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_str(stdout.lines().last().unwrap_or("")).unwrap()
}

#[test]
fn own_app_and_operator_app_users_sign_in_side_by_side_with_the_sdk_client() {
    let s = stack();
    let own = new_client_id();
    s.emulator.register_app(&own, &[&s.url("/callback")]);
    let (ann, ben) = (format!("own-{}", rand_hex(6)), format!("op-{}", rand_hex(6)));
    let (a, b) = std::thread::scope(|scope| {
        let a = scope.spawn(|| run_ts_client(s, &ann, Some(&own)));
        let b = scope.spawn(|| run_ts_client(s, &ben, None));
        (a.join().unwrap(), b.join().unwrap())
    });
    for (r, user) in [(&a, &ann), (&b, &ben)] {
        assert_eq!(r["searchIsError"], false, "{r}");
        assert_eq!(r["profileIsError"], false, "{r}");
        assert_eq!(r["user"], json!(user), "{r}");
    }
    let mine = token_requests(s, &ann);
    assert!(!mine.is_empty());
    assert!(mine.iter().all(|e| e.client_id == own && !e.secret_presented), "{mine:?}");
    let theirs = token_requests(s, &ben);
    let operator = EmulatorConfig::default().client_id;
    assert!(!theirs.is_empty() && theirs.iter().all(|e| e.client_id == operator && e.secret_presented), "{theirs:?}");
    let asked: Vec<_> = s.emulator.oauth_log().into_iter().filter(|e| e.client_id == own).collect();
    assert!(asked.iter().all(|e| !e.secret_presented), "the own app's id never travels with a secret");
    // And get_auth_status names the app by its last four characters.
    let (_, t) = sign_in_choosing(s, &ann, &["playback", "library", "playlists"], Some(&own));
    let st = call_tool(s, t["access_token"].as_str().unwrap(), "get_auth_status", json!({}));
    assert_eq!(st["structuredContent"]["app"], format!("your own app …{}", &own[28..]), "{st}");
    assert_eq!(st["structuredContent"]["capabilities"], json!(["playback", "library", "playlists"]));
}

#[test]
fn strict_rotation_stampede_eight_parallel_calls_at_expiry_all_succeed() {
    let s = stack();
    let own = new_client_id();
    s.emulator.register_app(&own, &[&s.url("/callback")]);
    let user = format!("stampede-{}", rand_hex(6));
    let (_, t) = sign_in_choosing(s, &user, &["playback", "library", "playlists"], Some(&own));
    let token = t["access_token"].as_str().unwrap().to_string();
    let mut per_wave = Vec::new();
    for wave in 1..=3 {
        s.emulator.expire_access_tokens(&user);
        let before = refresh_attempts(s, &own);
        let results: Vec<Value> = std::thread::scope(|scope| {
            let calls: Vec<_> =
                (0..8).map(|_| scope.spawn(|| call_tool(s, &token, "get_my_profile", json!({})))).collect();
            calls.into_iter().map(|c| c.join().unwrap()).collect()
        });
        let errors: Vec<_> = results.iter().filter(|r| r["isError"] != false).collect();
        assert!(errors.is_empty(), "wave {wave}: {errors:?}");
        assert!(results.iter().all(|r| r["structuredContent"]["id"] == json!(user)));
        per_wave.push(refresh_attempts(s, &own) - before);
    }
    eprintln!("stampede: Spotify refresh calls per wave of 8 parallel calls: {per_wave:?}, errors: 0");
    assert_eq!(per_wave, [1, 1, 1], "one refresh in flight per user; the others waited for it");
    assert_eq!(s.emulator.user_refresh_count(&user), 3);
}

#[test]
fn a_narrow_grant_sees_only_its_tools_and_gets_the_scope_challenge() {
    let s = stack();
    let user = format!("narrow-{}", rand_hex(6));
    let (_, t) = sign_in_choosing(s, &user, &["playlists"], None);
    assert_eq!(t["scope"], "playlists");
    let token = t["access_token"].as_str().unwrap();
    let names = tool_names(s, token);
    assert!(names.iter().any(|n| n == "get_my_playlists") && names.iter().any(|n| n == "search_tracks"));
    assert!(!names.iter().any(|n| n == "get_playback_state" || n == "play"), "{names:?}");
    // Spotify was asked only for what playlists (and the profile) need: the emulator grants
    // exactly what is asked, and the link holds what was granted.
    let st = call_tool(s, token, "get_auth_status", json!({}));
    let mut scopes: Vec<&str> =
        st["structuredContent"]["scopes"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    scopes.sort();
    assert_eq!(
        scopes,
        [
            "playlist-modify-private",
            "playlist-modify-public",
            "playlist-read-collaborative",
            "playlist-read-private",
            "user-read-private"
        ]
    );
    assert_eq!(st["structuredContent"]["capabilities"], json!(["playlists"]));
    let denied = mcp_legacy(s, token, "tools/call", json!({"name": "get_playback_state", "arguments": {}}));
    assert_eq!(denied.status, 403, "{}", denied.body);
    let challenge = denied.header("www-authenticate").unwrap();
    assert!(challenge.contains("error=\"insufficient_scope\""), "{challenge}");
    assert!(challenge.contains("scope=\"playback playlists\""), "{challenge}");
    assert!(challenge.contains("resource_metadata="), "{challenge}");
    assert_eq!(call_tool(s, token, "get_my_playlists", json!({}))["isError"], false);
}

#[test]
fn a_second_narrower_client_leaves_the_first_ones_scopes_intact() {
    let s = stack();
    let user = format!("two-{}", rand_hex(6));
    let (_, first) = sign_in_choosing(s, &user, &["playback", "library", "playlists"], None);
    let (_, second) = sign_in_choosing(s, &user, &["playlists"], None);
    assert_eq!(second["scope"], "playlists");
    let first = first["access_token"].as_str().unwrap();
    let st = call_tool(s, first, "get_auth_status", json!({}));
    assert_eq!(st["structuredContent"]["missing_scopes"], json!([]), "{st}");
    assert_eq!(call_tool(s, first, "get_playback_state", json!({}))["isError"], false);
    assert_eq!(call_tool(s, second["access_token"].as_str().unwrap(), "get_my_playlists", json!({}))["isError"], false);
}

#[test]
fn metadata_advertises_the_capabilities() {
    let s = stack();
    for path in ["/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-authorization-server"] {
        let doc = get(&s.url(path), &[]).json();
        assert_eq!(doc["scopes_supported"], json!(["playback", "library", "playlists"]), "{path}");
    }
    let r = post(&s.url("/mcp"), &[("content-type", "application/json")], "{}");
    assert!(r.header("www-authenticate").unwrap().contains("scope=\"playback library playlists\""));
}

/// A deployment without an operator app: everyone brings their own.
fn own_apps_only() -> &'static Stack {
    static STACK: OnceLock<Stack> = OnceLock::new();
    STACK.get_or_init(|| Stack::start_custom(false, &[]))
}

#[test]
fn without_an_operator_app_everyone_brings_their_own() {
    let s = own_apps_only();
    assert_eq!(get(&s.url("/health"), &[]).status, 200);
    let client = register(s, "no operator");
    let (_, challenge) = pkce();
    let consent = get(&authorize_url(s, &client.client_id, &client.redirect_uri, None, &challenge), &[]);
    assert!(consent.body.contains("name=\"spotify_client_id\"") && consent.body.contains(" required>"));
    assert!(!consent.body.contains("value=\"server\""), "no choice of the server's app");
    assert!(consent.body.contains(&s.url("/callback")), "the guide shows the Redirect URI");
    // Without a Client ID: the form again, saying what to fix, and nothing stored.
    let again = decide_with(s, &consent, "approve", &[("capability", "playlists")]);
    assert_eq!(again.status, 400);
    assert!(again.body.contains("Paste the Client ID"), "{}", again.body);
    // An app that lacks our redirect URI: named, with the exact URI to add.
    let wrong = new_client_id();
    s.emulator.register_app(&wrong, &["https://elsewhere.example/callback"]);
    let again = decide_with(s, &consent, "approve", &[("spotify_client_id", &wrong)]);
    assert_eq!(again.status, 400);
    assert!(again.body.contains("Redirect URI") && again.body.contains(&s.url("/callback")), "{}", again.body);
    let unknown = decide_with(s, &consent, "approve", &[("spotify_client_id", &new_client_id())]);
    assert!(unknown.body.contains("does not know this Client ID"), "{}", unknown.body);
    // A proper app signs in; every token request used it, without a secret.
    let own = new_client_id();
    s.emulator.register_app(&own, &[&s.url("/callback")]);
    let user = format!("solo-{}", rand_hex(6));
    let (_, t) = sign_in_choosing(s, &user, &["playback", "library", "playlists"], Some(&own));
    let token = t["access_token"].as_str().unwrap();
    assert_eq!(call_tool(s, token, "search_tracks", json!({"query": "love"}))["isError"], false);
    s.emulator.expire_access_tokens(&user);
    assert_eq!(call_tool(s, token, "get_my_profile", json!({}))["isError"], false);
    let requests: Vec<_> = s
        .emulator
        .oauth_log()
        .into_iter()
        .filter(|e| e.endpoint == "token" && e.user.as_deref() == Some(&user))
        .collect();
    assert_eq!(requests.len(), 2, "code exchange and one refresh: {requests:?}");
    assert!(requests.iter().all(|e| e.client_id == own && !e.secret_presented));
    // A re-link link goes to Spotify with the person's own app.
    let url = call_tool(s, token, "get_auth_url", json!({}))["structuredContent"]["url"].as_str().unwrap().to_string();
    let to_spotify = get(&url, &[]);
    assert_eq!(query_param(to_spotify.header("location").unwrap(), "client_id").as_deref(), Some(own.as_str()));
}
