//! Asking before destroying, through the real Worker in `wrangler dev` and the emulator: each
//! destructive tool asked, accepted, declined; tampered, expired, mismatched and another user's
//! `requestState`; a client without elicitation with and without `confirm`; a lost Spotify
//! link mended through URL elicitation. The emulator's state is read back through the tools.
#![cfg(not(target_arch = "wasm32"))]

mod support;

use serde_json::{json, Value};
use support::*;

const ELICIT: &str = r#"{"elicitation": {"form": {}, "url": {}}}"#;

fn caps() -> Value {
    serde_json::from_str(ELICIT).unwrap()
}

/// A 2026-07-28 `tools/call` by a client that can elicit; with `retry`, the answers and state.
fn call(s: &Stack, token: &str, name: &str, args: Value, retry: Option<(Value, &str)>) -> Value {
    let mut params = json!({"name": name, "arguments": args});
    if let Some((responses, state)) = retry {
        params["inputResponses"] = responses;
        params["requestState"] = json!(state);
    }
    let r = mcp_modern_with(s, token, "tools/call", params, caps());
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

fn accept() -> Value {
    json!({"confirm": {"action": "accept", "content": {}}})
}

fn asked(r: &Value) -> (String, String) {
    let result = &r["result"];
    assert_eq!(result["resultType"], "input_required", "{r}");
    (
        result["inputRequests"]["confirm"]["params"]["message"].as_str().unwrap().to_string(),
        result["requestState"].as_str().unwrap().to_string(),
    )
}

fn items(s: &Stack, token: &str, id: &str) -> Vec<String> {
    let pl = call_tool(s, token, "get_playlist", json!({"playlist": id}));
    pl["structuredContent"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["uri"].as_str().unwrap().to_string())
        .collect()
}

const A: &str = "spotify:track:4u7EnebtmKWzUH433cf5Qv";
const B: &str = "spotify:track:3BQHpFgAp4l80e1XslIjNI";
const C: &str = "spotify:track:2MuWTIM3b0YEAskbeeFE1i";

fn road_trip(s: &Stack, token: &str) -> String {
    let id = call_tool(s, token, "create_playlist", json!({"name": "Road trip"}))["structuredContent"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let added = call_tool(s, token, "edit_playlist_items", json!({"playlist": id, "action": "add", "uris": [A, B]}));
    assert_eq!(added["isError"], false, "{added}");
    id
}

#[test]
fn each_destructive_tool_asks_and_acts_once_on_acceptance() {
    let s = stack();
    let (_, t) = sign_in(s, "cora");
    let id = road_trip(s, &t.access);

    let replace = json!({"playlist": id, "action": "replace", "uris": [C]});
    let (message, state) = asked(&call(s, &t.access, "edit_playlist_items", replace.clone(), None));
    assert_eq!(message, "Replace all 2 items of 'Road trip' with 1 item(s)?");
    assert_eq!(items(s, &t.access, &id), [A, B], "nothing changed while the person decides");
    let done = call(s, &t.access, "edit_playlist_items", replace.clone(), Some((accept(), &state)));
    assert_eq!(
        (done["result"]["resultType"].as_str(), done["result"]["isError"].as_bool()),
        (Some("complete"), Some(false)),
        "{done}"
    );
    assert_eq!(items(s, &t.access, &id), [C]);
    call_tool(s, &t.access, "edit_playlist_items", json!({"playlist": id, "action": "add", "uris": [A]}));
    let replay = call(s, &t.access, "edit_playlist_items", replace, Some((accept(), &state)));
    assert!(replay["result"]["content"][0]["text"].as_str().unwrap().contains("Already done"), "{replay}");
    assert_eq!(items(s, &t.access, &id), [C, A], "a replayed acceptance acts no more");

    let remove = json!({"playlist": id, "action": "remove", "uris": [A]});
    let (message, state) = asked(&call(s, &t.access, "edit_playlist_items", remove.clone(), None));
    assert_eq!(message, "Remove 1 item(s) (every occurrence) from 'Road trip' (2 items)?");
    assert_eq!(call(s, &t.access, "edit_playlist_items", remove, Some((accept(), &state)))["result"]["isError"], false);
    assert_eq!(items(s, &t.access, &id), [C]);

    assert_eq!(call_tool(s, &t.access, "save_to_library", json!({"uris": [B]}))["isError"], false);
    let saved = || {
        call_tool(s, &t.access, "check_saved", json!({"uris": [B]}))["structuredContent"]["items"][0]["saved"].clone()
    };
    let unsave = json!({"uris": [B]});
    let (message, state) = asked(&call(s, &t.access, "remove_from_library", unsave.clone(), None));
    assert_eq!(message, format!("Remove 1 item(s) from your Spotify library: {B}?"));
    assert_eq!(saved(), true);
    assert_eq!(call(s, &t.access, "remove_from_library", unsave, Some((accept(), &state)))["result"]["isError"], false);
    assert_eq!(saved(), false);

    let (message, state) = asked(&call(s, &t.access, "forget_me", json!({"confirm": true}), None));
    assert!(message.starts_with("Delete everything this server stores"), "{message}");
    assert_eq!(call_tool(s, &t.access, "get_my_profile", json!({}))["isError"], false, "still there while asked");
    let gone = call(s, &t.access, "forget_me", json!({"confirm": true}), Some((accept(), &state)));
    assert!(gone["result"]["structuredContent"]["deleted_items"].as_u64().unwrap() > 0, "{gone}");
    let after = mcp_legacy(s, &t.access, "tools/list", json!({}));
    assert_eq!(after.status, 401, "the token ended with the data");
}

#[test]
fn declined_tampered_expired_mismatched_and_foreign_states_change_nothing() {
    let s = stack();
    let (_, t) = sign_in(s, "dora");
    let id = road_trip(s, &t.access);
    let remove = json!({"playlist": id, "action": "remove", "uris": [A]});
    for action in ["decline", "cancel"] {
        let (_, state) = asked(&call(s, &t.access, "edit_playlist_items", remove.clone(), None));
        let answer = json!({"confirm": {"action": action}});
        let r = call(s, &t.access, "edit_playlist_items", remove.clone(), Some((answer, &state)));
        assert!(
            r["result"]["isError"] == true && r["result"]["content"][0]["text"].as_str().unwrap().contains("declined"),
            "{r}"
        );
    }
    let refused = |r: Value, why: &str| {
        assert_eq!(r["error"]["code"], -32602, "{why}: {r}");
        assert!(r["error"]["message"].as_str().unwrap().contains(why), "{why}: {r}");
    };
    let (_, state) = asked(&call(s, &t.access, "edit_playlist_items", remove.clone(), None));
    let tampered = format!("{}{}", &state[..state.len() - 2], if state.ends_with("AA") { "BB" } else { "AA" });
    refused(call(s, &t.access, "edit_playlist_items", remove.clone(), Some((accept(), &tampered))), "altered");
    let other = json!({"playlist": id, "action": "remove", "uris": [B]});
    refused(call(s, &t.access, "edit_playlist_items", other, Some((accept(), &state))), "another call");
    let (_, mallory) = sign_in(s, "mallory-e2e");
    refused(call(s, &mallory.access, "edit_playlist_items", remove.clone(), Some((accept(), &state))), "another user");
    // An expired state, sealed as the Worker would have sealed it six minutes ago.
    let keys = spotify_mcp_edge::core::keyring::Keyring::single(
        spotify_mcp_edge::core::crypto::Key::from_base64(TEST_KEY).unwrap(),
    );
    let uk = t.access.split('.').next().unwrap();
    let digest = spotify_mcp_edge::tools::confirm::digest("edit_playlist_items", &remove);
    let pending = json!({"uk": uk, "tool": "edit_playlist_items", "digest": digest, "jti": "old", "asked": "Confirm"});
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let expired = spotify_mcp_edge::core::sealed::seal(
        &keys,
        spotify_mcp_edge::core::sealed::Purpose::RequestState,
        &pending,
        now - 60,
    )
    .unwrap();
    refused(call(s, &t.access, "edit_playlist_items", remove.clone(), Some((accept(), &expired))), "expired");
    // The same state a minute fresher is accepted: the test sealed it the way the Worker does.
    let fresh = spotify_mcp_edge::core::sealed::seal(
        &keys,
        spotify_mcp_edge::core::sealed::Purpose::RequestState,
        &pending,
        now + 60,
    )
    .unwrap();
    let ok = call(s, &t.access, "edit_playlist_items", remove, Some((accept(), &fresh)));
    assert_eq!(ok["result"]["isError"], false, "{ok}");
    assert_eq!(items(s, &t.access, &id), [B], "only the accepted, valid state acted");
}

#[test]
fn a_client_without_elicitation_needs_confirm_true() {
    let s = stack();
    let (_, t) = sign_in(s, "edna");
    let id = road_trip(s, &t.access);
    let replace = json!({"playlist": id, "action": "replace", "uris": []});
    let first = call_tool(s, &t.access, "edit_playlist_items", replace.clone());
    let text = first["content"][0]["text"].as_str().unwrap();
    assert!(
        first["isError"] == true
            && text.contains("Replace all 2 items of 'Road trip' with 0 item(s)?")
            && text.contains("confirm: true"),
        "{first}"
    );
    assert_eq!(items(s, &t.access, &id), [A, B]);
    let mut confirmed = replace;
    confirmed["confirm"] = json!(true);
    assert_eq!(call_tool(s, &t.access, "edit_playlist_items", confirmed)["isError"], false);
    assert!(items(s, &t.access, &id).is_empty());
}

#[test]
fn a_revoked_spotify_link_is_mended_through_url_elicitation() {
    let s = stack();
    let (_, t) = sign_in(s, "fern");
    s.emulator.revoke_refresh_tokens("fern");
    s.emulator.expire_access_tokens("fern");
    let r = call(s, &t.access, "get_my_profile", json!({}), None);
    let result = &r["result"];
    assert_eq!(result["resultType"], "input_required", "{r}");
    let params = &result["inputRequests"]["confirm"]["params"];
    assert_eq!(params["mode"], "url", "{params}");
    let url = params["url"].as_str().unwrap();
    assert!(url.starts_with(&s.url("/relink?t=")), "{url}");
    let state = result["requestState"].as_str().unwrap().to_string();
    // The person opens the URL: on to Spotify (the emulator), back to our callback.
    let to_spotify = get(url, &[]);
    let spotify = format!("{}&emulator_user=fern", to_spotify.header("location").expect("redirect to Spotify"));
    let back = get(&spotify, &[]);
    let done = get(back.header("location").expect("back to our callback"), &[]);
    assert_eq!(done.status, 200, "{}", done.body);
    let retried = call(s, &t.access, "get_my_profile", json!({}), Some((accept(), &state)));
    assert_eq!(retried["result"]["isError"], false, "{retried}");
    assert_eq!(retried["result"]["structuredContent"]["id"], "fern");
}
