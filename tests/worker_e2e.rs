//! The real Worker in `wrangler dev` against the Spotify emulator, over HTTP.
//! Needs the build and the npm tools: `make test` provides both.
#![cfg(not(target_arch = "wasm32"))]

mod support;

use serde_json::{json, Value};
use std::time::{Duration, Instant};
use support::*;

fn text(result: &Value) -> String {
    result["content"][0]["text"].as_str().unwrap_or_default().to_string()
}

#[test]
fn two_users_sign_in_and_each_sees_only_their_own_account() {
    let s = stack();
    let (_, alice) = sign_in(s, "alice");
    let (_, bob) = sign_in(s, "bob");
    let a = call_tool(s, &alice.access, "get_my_profile", json!({}));
    let b = call_tool(s, &bob.access, "get_my_profile", json!({}));
    assert_eq!(a["isError"], false, "{a}");
    assert_eq!(a["structuredContent"]["id"], "alice");
    assert_eq!(b["structuredContent"]["id"], "bob");
    // The two users' tokens live under different KV prefixes (the token names its prefix).
    assert_ne!(alice.access.split('.').next(), bob.access.split('.').next());
}

#[test]
fn search_tracks_through_both_protocol_eras() {
    let s = stack();
    let (_, t) = sign_in(s, "carol");
    let legacy = call_tool(s, &t.access, "search_tracks", json!({"query": "cafe", "limit": 3}));
    assert_eq!(legacy["isError"], false, "{legacy}");
    let tracks = legacy["structuredContent"]["tracks"].as_array().unwrap();
    assert!(!tracks.is_empty() && tracks.len() <= 3, "{legacy}");
    assert!(tracks[0]["uri"].as_str().unwrap().starts_with("spotify:track:"));
    assert!(text(&legacy).contains("spotify:track:"));

    let modern = mcp_modern(
        s,
        &t.access,
        "tools/call",
        json!({"name": "search_tracks", "arguments": {"query": "cafe", "limit": 25}}),
    );
    assert_eq!(modern.status, 200, "{}", modern.body);
    let r = &modern.json()["result"];
    assert_eq!(r["resultType"], "complete");
    assert_eq!(r["structuredContent"]["limit"], 10, "limit is clamped to Spotify's 10");
    assert!(r["structuredContent"]["note"].as_str().unwrap().contains("reduced to 10"));
}

#[test]
fn spotify_token_expiry_is_refreshed_transparently() {
    let s = stack();
    let (_, t) = sign_in(s, "dave");
    assert_eq!(call_tool(s, &t.access, "get_my_profile", json!({}))["isError"], false);
    let before = s.emulator.user_request_count("dave", "POST /api/token");
    s.emulator.expire_access_tokens("dave");
    let r = call_tool(s, &t.access, "get_my_profile", json!({}));
    assert_eq!(r["isError"], false, "{r}");
    assert_eq!(r["structuredContent"]["id"], "dave");
    assert_eq!(s.emulator.user_request_count("dave", "POST /api/token"), before + 1, "exactly one refresh");
    // The refreshed token was stored: the next call needs no refresh.
    call_tool(s, &t.access, "get_my_profile", json!({}));
    assert_eq!(s.emulator.user_request_count("dave", "POST /api/token"), before + 1);
}

#[test]
fn revoked_spotify_sign_in_asks_to_relink_with_a_link() {
    let s = stack();
    let (_, t) = sign_in(s, "erin");
    s.emulator.revoke_refresh_tokens("erin");
    s.emulator.expire_access_tokens("erin");
    let r = call_tool(s, &t.access, "search_tracks", json!({"query": "love"}));
    assert_eq!(r["isError"], true);
    let msg = text(&r);
    assert!(msg.contains("linked again") && msg.contains(&s.url("/relink?t=")), "{msg}");
    let link = call_tool(s, &t.access, "get_auth_url", json!({}));
    let url = link["structuredContent"]["url"].as_str().unwrap();
    assert!(url.starts_with(&s.url("/relink?t=")), "{url}");
    // Opening it goes on to Spotify with the stored link's app and scopes.
    let to_spotify = get(url, &[]);
    assert_eq!(to_spotify.status, 302, "{}", to_spotify.body);
    let spotify = to_spotify.header("location").unwrap();
    assert!(spotify.starts_with(&s.emulator.base_url()), "{spotify}");
    assert!(query_param(spotify, "scope").unwrap().contains("user-modify-playback-state"));
    let signed_in = get(&format!("{spotify}&emulator_user=erin"), &[]);
    let back = get(signed_in.header("location").unwrap(), &[]);
    assert_eq!(back.status, 200, "{}", back.body);
    assert!(back.body.contains("linked again"));
    assert_eq!(call_tool(s, &t.access, "search_tracks", json!({"query": "love"}))["isError"], false);
}

/// Where a `get_auth_url` link leads: our /relink, then Spotify's authorize URL.
fn relink_spotify_url(s: &Stack, link: &str) -> String {
    let r = get(link, &[]);
    assert_eq!(r.status, 302, "{}", r.body);
    let to = r.header("location").unwrap().to_string();
    assert!(to.starts_with(&s.emulator.base_url()), "{to}");
    to
}

#[test]
fn relink_by_pasted_callback_url_only_for_the_same_account() {
    let s = stack();
    let (_, t) = sign_in(s, "frank");
    let url =
        call_tool(s, &t.access, "get_auth_url", json!({}))["structuredContent"]["url"].as_str().unwrap().to_string();
    // Someone else signing in with frank's link is refused.
    let other = get(&format!("{}&emulator_user=mallory", relink_spotify_url(s, &url)), &[]);
    let cb = other.header("location").unwrap().to_string();
    let r = call_tool(s, &t.access, "authenticate", json!({"callback_url": cb}));
    assert_eq!(r["isError"], true);
    assert!(text(&r).contains("different account"), "{r}");
    // Frank himself succeeds.
    let url =
        call_tool(s, &t.access, "get_auth_url", json!({}))["structuredContent"]["url"].as_str().unwrap().to_string();
    let mine = get(&format!("{}&emulator_user=frank", relink_spotify_url(s, &url)), &[]);
    let r = call_tool(s, &t.access, "authenticate", json!({"callback_url": mine.header("location").unwrap()}));
    assert_eq!(r["isError"], false, "{r}");
}

#[test]
fn revoked_and_tampered_tokens_are_refused() {
    let s = stack();
    let (client, t) = sign_in(s, "gina");
    assert_eq!(mcp_legacy(s, &t.access, "tools/list", json!({})).status, 200);
    let mut tampered = t.access.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    let r = mcp_legacy(s, &tampered, "tools/list", json!({}));
    assert_eq!(r.status, 401);
    assert!(r.header("www-authenticate").unwrap().contains("invalid_token"));
    let rv = post_form(&s.url("/revoke"), &[], &[("token", &t.access), ("client_id", &client.client_id)]);
    assert_eq!(rv.status, 200);
    assert_eq!(mcp_legacy(s, &t.access, "tools/list", json!({})).status, 401);
    // Revoking the access token leaves the refresh token working.
    let r = post_form(
        &s.url("/token"),
        &[],
        &[("grant_type", "refresh_token"), ("refresh_token", &t.refresh), ("client_id", &client.client_id)],
    );
    assert_eq!(r.status, 200, "{}", r.body);
}

#[test]
fn refresh_tokens_rotate_and_bind_to_their_client() {
    let s = stack();
    let (client, t) = sign_in(s, "hank");
    let other = register(s, "another client");
    let r = post_form(
        &s.url("/token"),
        &[],
        &[("grant_type", "refresh_token"), ("refresh_token", &t.refresh), ("client_id", &other.client_id)],
    );
    assert_eq!((r.status, r.json()["error"].as_str()), (400, Some("invalid_grant")));
    let r = post_form(
        &s.url("/token"),
        &[],
        &[("grant_type", "refresh_token"), ("refresh_token", &t.refresh), ("client_id", &client.client_id)],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let new = r.json();
    assert_ne!(new["refresh_token"].as_str().unwrap(), t.refresh);
    assert_eq!(mcp_legacy(s, new["access_token"].as_str().unwrap(), "tools/list", json!({})).status, 200);
    let again = post_form(
        &s.url("/token"),
        &[],
        &[("grant_type", "refresh_token"), ("refresh_token", &t.refresh), ("client_id", &client.client_id)],
    );
    assert_eq!(again.status, 400, "a rotated refresh token is dead");
    assert_eq!(mcp_legacy(s, &t.access, "tools/list", json!({})).status, 401, "its access token too");
}

#[test]
fn codes_are_single_use_and_pkce_bound() {
    let s = stack();
    let client = register(s, "pkce client");
    let (verifier, challenge) = pkce();
    let code = query_param(&browser_flow(s, &client, "ivy", "x", &challenge).location, "code").unwrap();
    let wrong = exchange(s, &client, &code, "wrong-verifier-wrong-verifier-wrong-verifier");
    assert_eq!((wrong.status, wrong.json()["error"].as_str()), (400, Some("invalid_grant")));
    let ok = exchange(s, &client, &code, &verifier);
    assert_eq!(ok.status, 200);
    let first = ok.json()["access_token"].as_str().unwrap().to_string();
    let replay = exchange(s, &client, &code, &verifier);
    assert_eq!((replay.status, replay.json()["error"].as_str()), (400, Some("invalid_grant")));
    assert_eq!(mcp_legacy(s, &first, "tools/list", json!({})).status, 401, "a replayed code revokes what it issued");
}

#[test]
fn consent_is_csrf_protected_and_bound_to_the_browser() {
    let s = stack();
    let client = register(s, "<b>Evil & Co</b>");
    let (_, challenge) = pkce();
    let page = get(&authorize_url(s, &client.client_id, &client.redirect_uri, None, &challenge), &[]);
    assert_eq!(page.status, 200);
    assert!(page.body.contains("&lt;b&gt;Evil &amp; Co&lt;/b&gt;") && !page.body.contains("<b>Evil"));
    assert!(page.header("content-security-policy").unwrap().contains("frame-ancestors 'none'"));
    let cookie = page.cookie("__Host-mcp_csrf").unwrap();
    let set_cookie = page.headers_all("set-cookie").join("\n");
    assert!(set_cookie.contains("Secure") && set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Strict"));
    let form = [
        ("request", form_field(&page.body, "request")),
        ("csrf", form_field(&page.body, "csrf")),
        ("decision", "approve".into()),
    ];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    // No cookie: refused.
    assert_eq!(post_form(&s.url("/authorize"), &[], &form).status, 403);
    consent_dwell();
    // With the cookie: on to Spotify; but the callback without the binding cookie is refused.
    let ok = post_form(&s.url("/authorize"), &[("cookie", &cookie)], &form);
    assert_eq!(ok.status, 302);
    let signed_in = get(&format!("{}&emulator_user=jack", ok.header("location").unwrap()), &[]);
    let cb = get(signed_in.header("location").unwrap(), &[]);
    assert_eq!(cb.status, 400);
    assert!(cb.body.contains("Different browser"));
}

#[test]
fn deny_returns_access_denied_to_the_client() {
    let s = stack();
    let client = register(s, "denied client");
    let (_, challenge) = pkce();
    let page = get(&authorize_url(s, &client.client_id, &client.redirect_uri, Some("s1"), &challenge), &[]);
    let r = decide(s, &page, "deny");
    let loc = r.header("location").unwrap();
    assert_eq!(query_param(loc, "error").as_deref(), Some("access_denied"));
    assert_eq!(query_param(loc, "state").as_deref(), Some("s1"));
    assert_eq!(query_param(loc, "iss").as_deref(), Some(s.base.as_str()));
}

#[test]
fn authorize_refuses_unregistered_redirects_and_missing_pkce() {
    let s = stack();
    let client = register(s, "strict client");
    let base = |extra: &[(&str, &str)]| {
        let mut url = url::Url::parse(&s.url("/authorize")).unwrap();
        url.query_pairs_mut().append_pair("response_type", "code").append_pair("client_id", &client.client_id);
        for (k, v) in extra {
            url.query_pairs_mut().append_pair(k, v);
        }
        get(url.as_str(), &[])
    };
    let r = base(&[
        ("redirect_uri", "https://attacker.example/cb"),
        ("code_challenge", &"a".repeat(43)),
        ("code_challenge_method", "S256"),
    ]);
    assert_eq!(r.status, 400, "an unregistered redirect is an error page, never a redirect");
    assert!(r.header("location").is_none());
    // Before the person approved, errors are our page: never a redirect to the client, which
    // would make this server an open redirector for anyone who registers a redirect URI.
    let refused = |r: &Resp, code: &str| {
        assert_eq!(r.status, 400, "{}", r.body);
        assert!(r.header("location").is_none(), "no redirect before consent");
        assert!(r.body.contains(code), "{}", r.body);
    };
    refused(&base(&[("redirect_uri", &client.redirect_uri)]), "invalid_request");
    let r = base(&[
        ("redirect_uri", &client.redirect_uri),
        ("code_challenge", &"a".repeat(43)),
        ("code_challenge_method", "plain"),
    ]);
    refused(&r, "invalid_request");
    let r = base(&[
        ("redirect_uri", &client.redirect_uri),
        ("code_challenge", &"a".repeat(43)),
        ("code_challenge_method", "S256"),
        ("resource", "https://elsewhere.example/mcp"),
    ]);
    refused(&r, "invalid_target");
}

#[test]
fn no_open_redirect_before_consent_or_from_the_callback() {
    let s = stack();
    // Anyone can register a redirect URI; a bad request must not bounce a browser there.
    let r = post(
        &s.url("/register"),
        &[("content-type", "application/json")],
        &json!({"redirect_uris": ["https://phish.example/landing"], "token_endpoint_auth_method": "none"}).to_string(),
    );
    let client_id = r.json()["client_id"].as_str().unwrap().to_string();
    let mut url = url::Url::parse(&s.url("/authorize")).unwrap();
    url.query_pairs_mut()
        .append_pair("client_id", &client_id)
        .append_pair("redirect_uri", "https://phish.example/landing")
        .append_pair("response_type", "x");
    let r = get(url.as_str(), &[]);
    assert_eq!(r.status, 400);
    assert!(r.header("location").is_none(), "{:?}", r.header("location"));
    // A private-use scheme must be a reversed domain name (RFC 8252 §7.1).
    let r = post(
        &s.url("/register"),
        &[("content-type", "application/json")],
        &json!({"redirect_uris": ["evil:landing"], "token_endpoint_auth_method": "none"}).to_string(),
    );
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.json()["error"], "invalid_redirect_uri");
    // Spotify's error answer is sent on to the app only for the browser that approved.
    let client = register(s, "callback errors");
    let (_, challenge) = pkce();
    let consent = get(&authorize_url(s, &client.client_id, &client.redirect_uri, Some("st"), &challenge), &[]);
    let approve = decide(s, &consent, "approve");
    let state = query_param(approve.header("location").unwrap(), "state").unwrap();
    let mut cb = url::Url::parse(&s.url("/callback")).unwrap();
    cb.query_pairs_mut().append_pair("state", &state).append_pair("error", "access_denied");
    let r = get(cb.as_str(), &[]);
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.header("location").is_none(), "no redirect without the binding cookie");
    let bind = approve.cookie("__Host-mcp_bind").unwrap();
    let r = get(cb.as_str(), &[("cookie", &bind)]);
    assert_eq!(r.status, 302);
    assert!(r.header("location").unwrap().starts_with(&client.redirect_uri));
}

#[test]
fn kv_value_moved_between_users_fails_to_decrypt() {
    let s = stack();
    let (_, kim) = sign_in(s, "kim");
    let (_, leo) = sign_in(s, "leo");
    let kim_key = format!("u:{}:spotify", kim.access.split('.').next().unwrap());
    let leo_key = format!("u:{}:spotify", leo.access.split('.').next().unwrap());
    // `wrangler kv --local` opens the same local store the running workerd uses; a busy
    // store fails the command now and then, so it is retried.
    let kv = |args: &[&str]| {
        let mut last = String::new();
        for _ in 0..5 {
            let out = std::process::Command::new(root().join("node_modules/.bin/wrangler"))
                .args(["kv", "key"])
                .args(args)
                .args(["--binding", "TOKENS", "--local", "--persist-to"])
                .arg(&s.persist_dir)
                .current_dir(root())
                .env("WRANGLER_SEND_METRICS", "false")
                .output()
                .unwrap();
            if out.status.success() {
                return String::from_utf8(out.stdout).unwrap();
            }
            last = String::from_utf8_lossy(&out.stderr).into_owned();
            std::thread::sleep(std::time::Duration::from_millis(500));
        }
        panic!("wrangler kv {args:?} failed 5 times: {last}");
    };
    let value = kv(&["get", &kim_key]);
    assert!(!value.contains("sp-") && !value.is_empty(), "stored value is opaque");
    kv(&["put", &leo_key, value.trim()]);
    let r = call_tool(s, &leo.access, "get_my_profile", json!({}));
    assert_eq!(r["isError"], true, "kim's value must not decrypt as leo's: {r}");
    assert!(text(&r).contains("linked again"));
}

#[test]
fn transport_rules() {
    let s = stack();
    let (_, t) = sign_in(s, "mia");
    let auth = format!("Bearer {}", t.access);
    let r = get(&s.url("/mcp"), &[("authorization", &auth)]);
    assert_eq!((r.status, r.header("allow")), (405, Some("POST")));
    let r = post(
        &s.url("/mcp"),
        &[
            ("authorization", &auth),
            ("content-type", "application/json"),
            ("accept", "application/json, text/event-stream"),
        ],
        r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
    );
    assert_eq!((r.status, r.body.as_str()), (202, ""));
    let r = post(
        &s.url("/mcp"),
        &[("authorization", &auth), ("content-type", "application/json"), ("origin", "http://evil.example")],
        r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#,
    );
    assert_eq!(r.status, 403, "a plain-http page elsewhere is refused");
    let r = post(
        &s.url("/mcp"),
        &[("authorization", &auth), ("content-type", "application/json"), ("origin", "https://inspector.example")],
        r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#,
    );
    assert_eq!(r.status, 200, "a browser-based client on https holds its own token");
    let r = post(
        &s.url("/mcp"),
        &[("authorization", &auth), ("content-type", "application/json")],
        r#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#,
    );
    assert_eq!(r.status, 400);
    let r = post(&s.url("/mcp"), &[("authorization", &auth), ("content-type", "application/json")], "{not json");
    assert_eq!((r.status, r.json()["error"]["code"].as_i64()), (400, Some(-32700)));
    let big = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"ping","params":{{"x":"{}"}}}}"#, "a".repeat(300 * 1024));
    assert_eq!(
        post(&s.url("/mcp"), &[("authorization", &auth), ("content-type", "application/json")], &big).status,
        413
    );
    let r = mcp_modern(s, &t.access, "server/discover", json!({}));
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.json()["result"]["supportedVersions"].as_array().unwrap().contains(&json!("2025-06-18")));
    let r = mcp_modern(s, &t.access, "no/such", json!({}));
    assert_eq!((r.status, r.json()["error"]["code"].as_i64()), (404, Some(-32601)));
    let r = mcp_legacy(
        s,
        &t.access,
        "initialize",
        json!({"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}),
    );
    assert_eq!(r.json()["result"]["protocolVersion"], "2025-06-18");
    assert!(r.header("mcp-session-id").is_none(), "stateless: no session id");
    let list = mcp_legacy(s, &t.access, "tools/list", json!({})).json();
    for tool in list["result"]["tools"].as_array().unwrap() {
        assert!(tool["inputSchema"]["type"] == "object" && tool["outputSchema"]["type"] == "object", "{tool}");
        assert!(tool["annotations"]["readOnlyHint"].is_boolean());
    }
}

#[test]
fn discovery_and_unauthenticated_answers() {
    let s = stack();
    let r = post(
        &s.url("/mcp"),
        &[("content-type", "application/json")],
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#,
    );
    assert_eq!(r.status, 401);
    let www = r.header("www-authenticate").unwrap();
    assert!(
        www.contains(&format!("resource_metadata=\"{}/.well-known/oauth-protected-resource/mcp\"", s.base)),
        "{www}"
    );
    let prm = get(&s.url("/.well-known/oauth-protected-resource/mcp"), &[]).json();
    assert_eq!(prm["resource"], s.url("/mcp"));
    assert_eq!(prm["authorization_servers"][0], s.base);
    let asm = get(&s.url("/.well-known/oauth-authorization-server"), &[]).json();
    assert_eq!(asm["issuer"], s.base);
    assert_eq!(asm["code_challenge_methods_supported"], json!(["S256"]));
    let oidc = get(&s.url("/.well-known/openid-configuration"), &[]);
    assert_eq!(oidc.status, 404);
    assert!(oidc.json()["error"].is_string());
    let health = get(&s.url("/health"), &[]).json();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["warnings"], json!([]), "wrangler.toml binds the fair-use limiters: {health}");
    let bad = post(
        &s.url("/register"),
        &[("content-type", "application/json")],
        r#"{"redirect_uris":["javascript:alert(1)"]}"#,
    );
    assert_eq!(bad.status, 400);
}

/// The entry module replays the Rust router's answer to the unauthenticated probe (by URL
/// origin and Origin header): the replay must be the very answer Rust gives, and a probe
/// from another origin, or with a token, must not get it.
#[test]
fn the_remembered_probe_answer_is_the_routers_own() {
    let s = stack();
    let probe = |origin: Option<&str>| {
        let mut headers = vec![("content-type", "application/json")];
        if let Some(o) = origin {
            headers.push(("origin", o));
        }
        post(&s.url("/mcp"), &headers, r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#)
    };
    let strip = |r: &Resp| {
        let mut h: Vec<_> = r
            .headers
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "date" | "cf-ray" | "connection"))
            .cloned()
            .collect();
        h.sort();
        (r.status, h, r.body.clone())
    };
    let first = probe(None);
    assert_eq!(first.status, 401);
    for _ in 0..3 {
        assert_eq!(strip(&probe(None)), strip(&first), "replayed as first answered");
    }
    let foreign = probe(Some("http://evil.example"));
    assert_eq!(foreign.status, 403, "{}", foreign.body);
    assert_eq!(strip(&probe(Some("http://evil.example"))), strip(&foreign));
    assert_eq!(probe(None).status, 401, "another Origin has its own answer");
    let bad_token = post(
        &s.url("/mcp"),
        &[("content-type", "application/json"), ("authorization", "Bearer nope.nope")],
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#,
    );
    assert_eq!(bad_token.status, 401);
    assert!(bad_token.header("www-authenticate").unwrap().contains("invalid_token"), "a token always reaches Rust");
}

/// Runs an official SDK client script and returns the JSON line it printed.
fn run_client(program: &str, args: &[&str]) -> Value {
    let s = stack();
    let out = std::process::Command::new(program)
        .args(args)
        .arg(&s.base)
        .arg(format!("sdk-{}", rand_hex(6)))
        .current_dir(root())
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e} (run `make setup`)"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{program} failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_str(stdout.lines().last().unwrap_or(""))
        .unwrap_or_else(|_| panic!("no JSON from {program}: {stdout}"))
}

#[test]
fn official_typescript_sdk_client_signs_in_and_searches() {
    let r = run_client("node", &["tests/clients/ts_sdk_client.mjs"]);
    assert_eq!(r["protocolVersion"], "2025-11-25", "{r}");
    assert!(r["tools"].as_array().unwrap().contains(&json!("search_tracks")));
    assert_eq!(r["searchIsError"], false, "{r}");
    assert_eq!(r["trackCount"], 2, "{r}");
    assert!(r["user"].as_str().unwrap().starts_with("sdk-"));
}

#[test]
fn official_python_sdk_client_signs_in_and_searches_over_2026_07_28() {
    let python = std::env::var("SPOTIFY_MCP_PYTHON").unwrap_or_else(|_| {
        format!("{}/.cache/spotify-mcp-edge/tools/py/bin/python", std::env::var("HOME").unwrap_or_default())
    });
    let r = run_client(&python, &["tests/clients/py_sdk_client.py"]);
    assert_eq!(r["protocolVersion"], "2026-07-28", "auto mode must discover and pick the modern era: {r}");
    assert!(r["tools"].as_array().unwrap().contains(&json!("search_tracks")), "{r}");
    assert_eq!(r["searchIsError"], false, "{r}");
    assert_eq!(r["trackCount"], 2, "{r}");
}

/// The official conformance CLI, through a proxy that adds a real token (see the script).
fn conformance(spec: &str, scenarios: &[&str], expected_failures: &[&str]) -> Value {
    let s = stack();
    let (_, t) = sign_in(s, &format!("conformance-{spec}"));
    let out = std::process::Command::new("node")
        .args([
            "tests/clients/conformance.mjs",
            &s.base,
            &t.access,
            spec,
            &scenarios.join(","),
            &expected_failures.join(","),
        ])
        .current_dir(root())
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "conformance {spec} failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_str(stdout.lines().last().unwrap_or("")).unwrap()
}

#[test]
fn conformance_2025_11_25_server_scenarios() {
    let r = conformance("2025-11-25", &["server-initialize", "ping", "tools-list", "dns-rebinding-protection"], &[]);
    eprintln!("conformance 2025-11-25: {r}");
}

#[test]
fn conformance_2026_07_28_server_scenarios() {
    let r = conformance(
        "2026-07-28",
        &[
            "server-stateless",
            "tools-list",
            "caching",
            "http-header-validation",
            "http-custom-header-server-validation",
            "dns-rebinding-protection",
            "sep-2164-resource-not-found",
            // The one input-required-result scenario that needs none of the CLI's fixture
            // tools: no InputRequiredResult on tools/list or prompts/list.
            "input-required-result-unsupported-methods",
        ],
        &[],
    );
    eprintln!("conformance 2026-07-28: {r}");
}

#[test]
fn client_id_metadata_document_clients_sign_in_without_registering() {
    let s = stack();
    let docs = serve_json(|url| {
        let client_id = if url.ends_with("/liar.json") { "https://someone-else.example/client.json" } else { url };
        json!({"client_id": client_id, "client_name": "CIMD Test Client", "redirect_uris": ["http://127.0.0.1:9/cimd-cb"],
               "token_endpoint_auth_method": "none"})
        .to_string()
    });
    let client =
        Client { client_id: format!("{docs}/oauth/client.json"), redirect_uri: "http://127.0.0.1:9/cimd-cb".into() };
    let (verifier, challenge) = pkce();
    let page = get(&authorize_url(s, &client.client_id, &client.redirect_uri, None, &challenge), &[]);
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("CIMD Test Client")
            && page.body.contains("published by the domain <strong>127.0.0.1</strong>")
    );
    let back = browser_flow(s, &client, "nora", "cimd", &challenge);
    let code = query_param(&back.location, "code").unwrap();
    let t = exchange(s, &client, &code, &verifier);
    assert_eq!(t.status, 200, "{}", t.body);
    let token = t.json()["access_token"].as_str().unwrap().to_string();
    assert_eq!(call_tool(s, &token, "get_my_profile", json!({}))["structuredContent"]["id"], "nora");
    // A document whose client_id is not its own URL is refused, on a page (no redirect).
    let liar = format!("{docs}/liar.json");
    let r = get(&authorize_url(s, &liar, &client.redirect_uri, None, &challenge), &[]);
    assert_eq!(r.status, 400);
    assert!(r.header("location").is_none() && r.body.contains("does not equal its URL"), "{}", r.body);
}

#[test]
fn playback_tools_drive_the_users_player() {
    let s = stack();
    let (_, t) = sign_in(s, "pia");
    let call = |name: &str, args: Value| call_tool(s, &t.access, name, args);
    let idle = call("get_playback_state", json!({}));
    assert_eq!(
        (idle["isError"].as_bool(), idle["structuredContent"]["is_playing"].as_bool()),
        (Some(false), Some(false))
    );
    let devices = call("get_devices", json!({}));
    assert_eq!(devices["structuredContent"]["devices"].as_array().unwrap().len(), 2);
    // No active device: the error names the devices.
    let r = call("play", json!({"uri": "spotify:album:6i6folBtxKV28WX3msQ4FE"}));
    assert_eq!(r["isError"], true);
    assert!(text(&r).contains("No device is active") && text(&r).contains("Kitchen speaker"), "{r}");
    // A device by name, an album context with a zero-based offset.
    let r = call(
        "play",
        json!({"uri": "https://open.spotify.com/album/6i6folBtxKV28WX3msQ4FE?si=x", "offset": 1, "device": "kitchen"}),
    );
    assert_eq!(r["isError"], false, "{r}");
    let state = call("get_playback_state", json!({}));
    assert_eq!(state["structuredContent"]["track"]["name"], "Love of My Life", "{state}");
    assert_eq!(state["structuredContent"]["device"]["name"], "Kitchen speaker");
    assert!(text(&state).starts_with("Playing Love of My Life"));
    for (name, args) in [
        ("control_playback", json!({"command": "volume", "volume_percent": 30})),
        ("control_playback", json!({"command": "seek", "position_ms": 61000})),
        ("control_playback", json!({"command": "shuffle", "state": true})),
        ("control_playback", json!({"command": "repeat", "state": "context"})),
        ("add_to_queue", json!({"uri": "3BQHpFgAp4l80e1XslIjNI"})),
    ] {
        let r = call(name, args.clone());
        assert_eq!(r["isError"], false, "{name} {args}: {r}");
    }
    let state = call("get_playback_state", json!({}))["structuredContent"].clone();
    assert_eq!(
        (state["progress_ms"].as_u64(), state["shuffle"].as_bool(), state["repeat"].as_str()),
        (Some(61000), Some(true), Some("context"))
    );
    assert_eq!(state["device"]["volume_percent"], 30);
    let queue = call("get_queue", json!({}));
    assert_eq!(queue["structuredContent"]["queue"][0]["name"], "Come Together");
    let control = |args: Value| call("control_playback", args);
    let next = control(json!({"command": "next"}));
    assert_eq!((next["isError"].as_bool(), next["structuredContent"]["action"].as_str()), (Some(false), Some("next")));
    assert_eq!(call("get_playback_state", json!({}))["structuredContent"]["track"]["name"], "Come Together");
    assert_eq!(control(json!({"command": "previous"}))["isError"], false);
    assert_ne!(call("get_playback_state", json!({}))["structuredContent"]["track"]["name"], "Come Together");
    assert_eq!(control(json!({"command": "pause"}))["isError"], false);
    let again = control(json!({"command": "pause"}));
    assert_eq!(again["isError"], true, "Spotify refuses to pause a paused player: {again}");
    let resumed = control(json!({"command": "resume"}));
    assert_eq!(resumed["isError"], false, "{resumed}");
    assert_eq!(call("get_playback_state", json!({}))["structuredContent"]["is_playing"], true);
    let moved = call("control_playback", json!({"command": "transfer", "device": "Laptop", "play": true}));
    assert_eq!(moved["isError"], false, "{moved}");
    assert_eq!(call("get_playback_state", json!({}))["structuredContent"]["device"]["name"], "Laptop");
    // Bad input never reaches Spotify.
    let before = s.emulator.user_request_count("pia", "PUT /v1/me/player/volume");
    for (name, args, needle) in [
        ("control_playback", json!({"command": "volume", "volume_percent": 101}), "0 to 100"),
        ("control_playback", json!({"command": "repeat", "state": "forever"}), "track"),
        ("control_playback", json!({"command": "seek"}), "seek needs position_ms"),
        ("control_playback", json!({"command": "volume"}), "volume needs volume_percent"),
        ("control_playback", json!({"command": "shuffle"}), "shuffle needs state"),
        ("control_playback", json!({"command": "transfer"}), "transfer needs device"),
        ("control_playback", json!({"command": "pause", "volume_percent": 10}), "volume_percent does not apply"),
        ("control_playback", json!({"command": "rewind"}), "one of: pause, resume"),
        ("control_playback", json!({}), "command is required"),
        ("play", json!({"uri": "Bohemian Rhapsody"}), "expected a Spotify"),
        ("play", json!({"device": "Fridge"}), "No device called"),
    ] {
        let r = call(name, args.clone());
        assert!(r["isError"] == true && text(&r).contains(needle), "{name} {args}: {r}");
    }
    assert_eq!(s.emulator.user_request_count("pia", "PUT /v1/me/player/volume"), before);
}

#[test]
fn playback_control_without_premium_says_so() {
    let s = stack();
    let (_, t) = sign_in(s, "free-quinn");
    let r = call_tool(s, &t.access, "play", json!({"device": "Laptop"}));
    assert_eq!(r["isError"], true);
    assert!(text(&r).contains("Premium"), "{r}");
    // Reading works without Premium.
    assert_eq!(call_tool(s, &t.access, "get_devices", json!({}))["isError"], false);
}

#[test]
fn library_and_history_tools() {
    let s = stack();
    let (_, t) = sign_in(s, "rae");
    let call = |name: &str, args: Value| call_tool(s, &t.access, name, args);
    let bohemian = "spotify:track:4u7EnebtmKWzUH433cf5Qv";
    let opera = "https://open.spotify.com/album/6i6folBtxKV28WX3msQ4FE";
    let queen = "spotify:artist:1dfeR4HaWDbWqFHLkxsg1d";
    let r = call("save_to_library", json!({"uris": [bohemian, opera, queen]}));
    assert_eq!(r["isError"], false, "{r}");
    assert_eq!(r["structuredContent"]["uris"][1], "spotify:album:6i6folBtxKV28WX3msQ4FE");
    let checked = call("check_saved", json!({"uris": [bohemian, "spotify:track:3BQHpFgAp4l80e1XslIjNI"]}));
    assert_eq!(checked["structuredContent"]["items"][0]["saved"], true);
    assert_eq!(checked["structuredContent"]["items"][1]["saved"], false);
    let library = |kind: &str, mut args: Value| {
        args["kind"] = json!(kind);
        let r = call("get_library", args);
        assert_eq!((r["isError"].as_bool(), r["structuredContent"]["kind"].as_str()), (Some(false), Some(kind)), "{r}");
        r["structuredContent"].clone()
    };
    let saved = library("saved_tracks", json!({}));
    assert_eq!((saved["items"][0]["name"].as_str(), saved["offset"].as_u64()), (Some("Bohemian Rhapsody"), Some(0)));
    assert_eq!(library("saved_albums", json!({"limit": 5}))["items"][0]["name"], "A Night at the Opera");
    let followed = library("followed_artists", json!({}));
    assert_eq!((followed["items"][0]["name"].as_str(), followed["total"].as_u64()), (Some("Queen"), Some(1)));
    let after = library("followed_artists", json!({"limit": 1, "after": "spotify:artist:1dfeR4HaWDbWqFHLkxsg1d"}));
    assert!(after["items"].is_array(), "{after}");
    // A client without elicitation: nothing happens until the model confirms.
    let unconfirmed = call("remove_from_library", json!({"uris": [bohemian]}));
    assert!(unconfirmed["isError"] == true && text(&unconfirmed).contains("confirm: true"), "{unconfirmed}");
    assert_eq!(call("check_saved", json!({"uris": [bohemian]}))["structuredContent"]["items"][0]["saved"], true);
    assert_eq!(call("remove_from_library", json!({"uris": [bohemian], "confirm": true}))["isError"], false);
    assert_eq!(call("check_saved", json!({"uris": [bohemian]}))["structuredContent"]["items"][0]["saved"], false);
    // Another user's library is untouched by rae's saves.
    let (_, other) = sign_in(s, "sam");
    let theirs = call_tool(s, &other.access, "check_saved", json!({"uris": [opera]}));
    assert_eq!(theirs["structuredContent"]["items"][0]["saved"], false);

    let short = library("top_tracks", json!({"time_range": "short_term", "limit": 3}));
    let long = library("top_tracks", json!({"time_range": "long_term", "limit": 3}));
    assert_eq!(short["items"].as_array().unwrap().len(), 3);
    assert_eq!((short["time_range"].as_str(), long["time_range"].as_str()), (Some("short_term"), Some("long_term")));
    assert_ne!(short["items"][0], long["items"][0]);
    let artists = library("top_artists", json!({}));
    assert!(artists["items"][0]["uri"].as_str().unwrap().starts_with("spotify:artist:"), "{artists}");
    // Plays show up in recently played.
    assert_eq!(call("play", json!({"uri": bohemian, "device": "Laptop"}))["isError"], false);
    let recent = library("recently_played", json!({"limit": 5}));
    assert_eq!(recent["items"][0]["name"], "Bohemian Rhapsody", "{recent}");
    // Bad input is refused before Spotify.
    for (name, args, needle) in [
        ("save_to_library", json!({"uris": []}), "1 to 40"),
        ("save_to_library", json!({"uris": ["4u7EnebtmKWzUH433cf5Qv"]}), "expected a Spotify"),
        ("get_library", json!({"kind": "genres"}), "one of: saved_tracks"),
        ("get_library", json!({}), "kind is required"),
        ("get_library", json!({"kind": "saved_tracks", "limit": 500}), "1 to 50"),
        ("get_library", json!({"kind": "recently_played", "offset": 5}), "offset does not apply"),
        ("get_library", json!({"kind": "top_tracks", "time_range": "forever"}), "short_term"),
    ] {
        let r = call(name, args.clone());
        assert!(r["isError"] == true && text(&r).contains(needle), "{name} {args}: {r}");
    }
}

#[test]
fn playlist_tools() {
    let s = stack();
    let (_, t) = sign_in(s, "uma");
    let call = |name: &str, args: Value| call_tool(s, &t.access, name, args);
    assert_eq!(call("get_my_playlists", json!({}))["structuredContent"]["playlists"], json!([]));
    let created = call("create_playlist", json!({"name": "Road trip", "description": "for the car"}));
    assert_eq!(created["isError"], false, "{created}");
    let id = created["structuredContent"]["id"].as_str().unwrap().to_string();
    let uri = created["structuredContent"]["uri"].as_str().unwrap().to_string();
    let tracks = [
        "spotify:track:4u7EnebtmKWzUH433cf5Qv",
        "spotify:track:3BQHpFgAp4l80e1XslIjNI",
        "https://open.spotify.com/track/5ghIJDpPoe3CfHMGu71E6T",
    ];
    let edit = |args: Value| {
        let r = call("edit_playlist_items", args.clone());
        assert_eq!(r["isError"], false, "{args}: {r}");
        assert_eq!(r["structuredContent"]["playlist_id"], id.as_str());
    };
    edit(json!({"playlist": uri, "action": "add", "uris": tracks}));
    edit(json!({"playlist": id, "action": "add", "uris": ["6LgJvl0Xdtc73RJ1mmpotq"], "position": 0}));
    let names = |v: &Value| {
        v["structuredContent"]["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["name"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let pl = call("get_playlist", json!({"playlist": id}));
    assert_eq!(pl["structuredContent"]["name"], "Road trip");
    assert_eq!(names(&pl), ["Paranoid Android", "Bohemian Rhapsody", "Come Together", "Smells Like Teen Spirit"]);
    // Zero-based: move the item at 3 before the item at 0.
    edit(json!({"playlist": id, "action": "reorder", "range_start": 3, "insert_before": 0}));
    let page2 = call("get_playlist", json!({"playlist": id, "offset": 2, "limit": 2}));
    assert_eq!(names(&page2), ["Bohemian Rhapsody", "Come Together"], "{page2}");
    let unconfirmed = call("edit_playlist_items", json!({"playlist": id, "action": "remove", "uris": [tracks[1]]}));
    assert!(
        text(&unconfirmed).contains("Remove 1 item(s) (every occurrence) from 'Road trip' (4 items)?"),
        "{unconfirmed}"
    );
    assert_eq!(call("get_playlist", json!({"playlist": id}))["structuredContent"]["total"], 4, "nothing removed yet");
    edit(
        json!({"playlist": id, "action": "remove", "uris": ["spotify:track:3BQHpFgAp4l80e1XslIjNI"], "confirm": true}),
    );
    assert_eq!(call("get_playlist", json!({"playlist": id}))["structuredContent"]["total"], 3);
    edit(
        json!({"playlist": id, "action": "replace", "uris": ["spotify:track:2MuWTIM3b0YEAskbeeFE1i"], "confirm": true}),
    );
    assert_eq!(names(&call("get_playlist", json!({"playlist": id}))), ["Master of Puppets"]);
    assert_eq!(
        call("update_playlist", json!({"playlist": id, "name": "Road trip 2026", "public": true}))["isError"],
        false
    );
    let mine = call("get_my_playlists", json!({}));
    assert_eq!(mine["structuredContent"]["playlists"][0]["name"], "Road trip 2026");
    // Someone else's playlist: details yes, items no (Development Mode), and no changes.
    let editorial = call("get_playlist", json!({"playlist": "spotify:playlist:37i9dQZF1DXcBWIGoYBM5M"}));
    assert!(editorial["isError"] == true && text(&editorial).contains("owns or collaborates"), "{editorial}");
    let r = call(
        "edit_playlist_items",
        json!({"playlist": "37i9dQZF1DXcBWIGoYBM5M", "action": "add", "uris": [tracks[0]]}),
    );
    assert!(r["isError"] == true && text(&r).contains("Development Mode"), "{r}");
    let r = call("get_playlist", json!({"playlist": "spotify:playlist:0000000000000000000000"}));
    assert!(r["isError"] == true && text(&r).contains("No playlist"), "{r}");
    // Another user cannot read uma's items either.
    let (_, vic) = sign_in(s, "vic");
    let r = call_tool(s, &vic.access, "get_playlist", json!({"playlist": id}));
    assert_eq!(r["isError"], true, "{r}");
    // A replace that clears the playlist.
    edit(json!({"playlist": id, "action": "replace", "uris": [], "confirm": true}));
    assert_eq!(call("get_playlist", json!({"playlist": id}))["structuredContent"]["total"], 0);
    for (name, args, needle) in [
        ("create_playlist", json!({"name": ""}), "name is required"),
        ("edit_playlist_items", json!({"playlist": id, "action": "add", "uris": []}), "1 to 100"),
        ("edit_playlist_items", json!({"playlist": id, "action": "add"}), "add needs uris"),
        (
            "edit_playlist_items",
            json!({"playlist": id, "action": "reorder", "range_start": 0}),
            "reorder needs insert_before",
        ),
        (
            "edit_playlist_items",
            json!({"playlist": id, "action": "remove", "uris": [tracks[0]], "position": 2}),
            "position does not apply",
        ),
        ("edit_playlist_items", json!({"playlist": id, "action": "shuffle"}), "one of: add, remove"),
        ("update_playlist", json!({"playlist": id}), "at least one"),
        ("get_playlist", json!({"playlist": "spotify:album:6i6folBtxKV28WX3msQ4FE"}), "expected a Spotify playlist"),
    ] {
        let r = call(name, args.clone());
        assert!(r["isError"] == true && text(&r).contains(needle), "{name} {args}: {r}");
    }
}

#[test]
fn catalog_and_search_tools() {
    let s = stack();
    let (_, t) = sign_in(s, "wes");
    let call = |name: &str, args: Value| call_tool(s, &t.access, name, args);
    let r = call("search", json!({"query": "queen", "types": ["album", "artist", "track"], "limit": 2}));
    assert_eq!(r["isError"], false, "{r}");
    let res = &r["structuredContent"]["results"];
    assert_eq!(res["artists"]["items"][0]["name"], "Queen");
    assert_eq!(res["albums"]["items"][0]["name"], "A Night at the Opera");
    assert_eq!(res["tracks"]["items"].as_array().unwrap().len(), 2);
    let pods = call("search", json!({"query": "grunge", "types": ["episode", "show"]}));
    assert_eq!(pods["structuredContent"]["results"]["episodes"]["items"][0]["name"], "Episode 2: Grunge at thirty");
    let clamped = call("search", json!({"query": "love", "limit": 50}));
    assert!(clamped["structuredContent"]["note"].as_str().unwrap().contains("reduced to 10"));

    let item = |args: Value| call("get_item", args);
    let track = item(json!({"uri": "https://open.spotify.com/track/4u7EnebtmKWzUH433cf5Qv"}));
    let sc = &track["structuredContent"];
    assert_eq!(
        (sc["type"].as_str(), sc["name"].as_str(), sc["duration_ms"].as_u64()),
        (Some("track"), Some("Bohemian Rhapsody"), Some(354000)),
        "{track}"
    );
    let album = item(json!({"uri": "spotify:album:6i6folBtxKV28WX3msQ4FE"}));
    assert_eq!(album["structuredContent"]["tracks"].as_array().unwrap().len(), 3);
    assert!(text(&album).contains("\n1. Love of My Life"), "zero-based positions: {album}");
    let artist = item(json!({"uri": "1dfeR4HaWDbWqFHLkxsg1d", "type": "artist"}));
    assert_eq!(artist["structuredContent"]["albums"][0]["name"], "A Night at the Opera", "{artist}");
    assert_eq!(artist["structuredContent"]["genres"][0], "rock");
    let show = item(json!({"uri": "spotify:show:5CfCWKI5pZ28U0uOzXkDHe"}));
    assert_eq!(show["structuredContent"]["episodes"].as_array().unwrap().len(), 3);
    let ep = item(json!({"uri": "https://open.spotify.com/episode/512ojhOuo1ktJprKbVcKyQ", "type": "episode"}));
    assert_eq!(ep["structuredContent"]["show"], "Sound Check Weekly");
    let missing = item(json!({"uri": "spotify:track:0000000000000000000000"}));
    assert!(missing["isError"] == true && text(&missing).contains("no track with id"), "{missing}");
    for (args, needle) in [
        (json!({"uri": "1dfeR4HaWDbWqFHLkxsg1d"}), "bare id"),
        (json!({"uri": "spotify:track:4u7EnebtmKWzUH433cf5Qv", "type": "album"}), "type says album"),
        (json!({"uri": "spotify:playlist:37i9dQZF1DXcBWIGoYBM5M"}), "get_playlist"),
        (json!({"uri": "Bohemian Rhapsody", "type": "track"}), "expected a Spotify"),
        (json!({"track": "4u7EnebtmKWzUH433cf5Qv"}), "Unknown argument"),
    ] {
        let r = item(args.clone());
        assert!(r["isError"] == true && text(&r).contains(needle), "{args}: {r}");
    }
    let bad = call("search", json!({"query": "x", "types": ["genre"]}));
    assert!(bad["isError"] == true && text(&bad).contains("types must list"), "{bad}");
}

#[test]
fn a_missing_scope_is_named_with_a_link_to_grant_it() {
    let s = stack();
    let (_, t) = sign_in_with(s, "xena", "&emulator_scope=user-read-private%20user-read-playback-state");
    assert_eq!(call_tool(s, &t.access, "get_devices", json!({}))["isError"], false, "granted scope works");
    let r = call_tool(s, &t.access, "control_playback", json!({"command": "pause"}));
    assert_eq!(r["isError"], true);
    let msg = text(&r);
    assert!(msg.contains("user-modify-playback-state") && msg.contains(&s.url("/relink?t=")), "{msg}");
    assert_eq!(s.emulator.user_request_count("xena", "PUT /v1/me/player/pause"), 0, "refused before calling Spotify");
    // The link asks Spotify for the missing scope on top of what the link holds.
    let link = msg.split_whitespace().find(|w| w.contains("/relink?t=")).unwrap();
    let spotify = relink_spotify_url(s, link);
    let scope = query_param(&spotify, "scope").unwrap();
    assert!(scope.contains("user-modify-playback-state") && scope.contains("user-read-playback-state"), "{scope}");
    // get_library names the one scope its kind needs.
    let r = call_tool(s, &t.access, "get_library", json!({"kind": "top_tracks"}));
    let msg = text(&r);
    assert!(r["isError"] == true && msg.starts_with("This needs the Spotify permission user-top-read,"), "{msg}");
    let (_, u) = sign_in_with(s, "yves", "&emulator_scope=user-read-private%20user-library-read");
    let r = call_tool(s, &u.access, "get_library", json!({"kind": "saved_tracks"}));
    assert_eq!(r["isError"], false, "saved tracks need only user-library-read: {r}");
}

#[test]
fn rate_limits_and_server_errors() {
    use spotify_emulator::Fault;
    let s = stack();
    // Long 429s and quota answers hold back the whole Spotify app in the Worker (see
    // tests/fair_use_e2e.rs): here each case has a person's own app, so the operator's app,
    // which the other tests share, is never held back.
    let own_app_user = |user: &str, app: &str| {
        s.emulator.register_app(app, &[&s.url("/callback")]);
        let (_, t) = sign_in_choosing(s, user, &["playback", "library", "playlists"], Some(app));
        Tokens { access: t["access_token"].as_str().unwrap().into(), refresh: String::new() }
    };
    let t = own_app_user("yuri", "0000000000000000000000000000a429");
    let searches = || s.emulator.user_request_count("yuri", "GET /v1/search");
    // A short Retry-After is waited out and retried once, invisibly.
    s.emulator.inject_fault("yuri", Fault { status: 429, retry_after: Some(1), reason: None }, 1);
    let before = searches();
    let r = call_tool(s, &t.access, "search_tracks", json!({"query": "love"}));
    assert_eq!(r["isError"], false, "{r}");
    assert_eq!(searches(), before + 2);
    // A long one is reported with when to try again.
    let long = own_app_user("yuri-long", "0000000000000000000000000000b429");
    s.emulator.inject_fault("yuri-long", Fault { status: 429, retry_after: Some(120), reason: None }, 1);
    let r = call_tool(s, &long.access, "search_tracks", json!({"query": "love"}));
    assert!(r["isError"] == true && text(&r).contains("120 seconds"), "{r}");
    // The app's quota is not retried.
    let quota = own_app_user("yuri-quota", "0000000000000000000000000000c429");
    s.emulator.inject_fault(
        "yuri-quota",
        Fault { status: 429, retry_after: Some(1), reason: Some("QUOTA_EXCEEDED".into()) },
        1,
    );
    let r = call_tool(s, &quota.access, "search_tracks", json!({"query": "love"}));
    assert!(r["isError"] == true && text(&r).contains("quota"), "{r}");
    assert_eq!(s.emulator.user_request_count("yuri-quota", "GET /v1/search"), 1);
    // Reads retry on 5xx; writes do not.
    s.emulator.inject_fault("yuri", Fault { status: 503, retry_after: None, reason: None }, 2);
    let r = call_tool(s, &t.access, "search_tracks", json!({"query": "love"}));
    assert_eq!(r["isError"], false, "two 503s then success: {r}");
    s.emulator.inject_fault("yuri", Fault { status: 502, retry_after: None, reason: None }, 1);
    let r = call_tool(s, &t.access, "save_to_library", json!({"uris": ["spotify:track:4u7EnebtmKWzUH433cf5Qv"]}));
    assert!(r["isError"] == true && text(&r).contains("HTTP 502"), "{r}");
    assert_eq!(s.emulator.user_request_count("yuri", "PUT /v1/me/library"), 1, "a write is not retried");
    // A Development Mode 403 is explained.
    s.emulator.inject_fault("yuri", Fault { status: 403, retry_after: None, reason: None }, 1);
    let r = call_tool(s, &t.access, "get_library", json!({"kind": "top_artists"}));
    assert!(r["isError"] == true && text(&r).contains("Development Mode"), "{r}");
}

/// The toolset's size budget: every tool's `structuredContent` at its default page size stays
/// under 8 KB. Prints the largest, for the record.
#[test]
fn largest_structured_content_stays_under_8_kb() {
    let s = stack();
    let (_, t) = sign_in(s, "zed");
    let call = |name: &str, args: Value| call_tool(s, &t.access, name, args);
    // Fill what the lists show: every track and album saved, a full playlist, a queue, history.
    let all = call("search", json!({"query": "", "types": ["track"]}));
    assert_eq!(all["isError"], true, "an empty query is refused");
    let mut tracks = Vec::new();
    for q in ["the", "a", "e", "o", "i", "love"] {
        for offset in [0, 10] {
            let r = call("search_tracks", json!({"query": q, "limit": 10, "offset": offset}));
            for tr in r["structuredContent"]["tracks"].as_array().unwrap() {
                let uri = tr["uri"].as_str().unwrap().to_string();
                if !tracks.contains(&uri) {
                    tracks.push(uri);
                }
            }
        }
    }
    assert!(tracks.len() >= 20, "{}", tracks.len());
    for chunk in tracks.chunks(40) {
        assert_eq!(call("save_to_library", json!({"uris": chunk}))["isError"], false);
    }
    let pl =
        call("create_playlist", json!({"name": "Everything"}))["structuredContent"]["id"].as_str().unwrap().to_string();
    call("edit_playlist_items", json!({"playlist": pl, "action": "add", "uris": tracks}));
    call("play", json!({"uri": "spotify:album:6i6folBtxKV28WX3msQ4FE", "device": "Laptop"}));
    for tr in tracks.iter().take(20) {
        call("add_to_queue", json!({"uri": tr}));
    }
    for _ in 0..10 {
        call("control_playback", json!({"command": "next"}));
    }
    let cases = [
        ("search", json!({"query": "e", "types": ["track", "album", "artist", "playlist", "show", "episode"]})),
        ("search_tracks", json!({"query": "e"})),
        ("get_library", json!({"kind": "saved_tracks"})),
        ("get_library", json!({"kind": "saved_albums"})),
        ("get_library", json!({"kind": "recently_played"})),
        ("get_library", json!({"kind": "top_tracks"})),
        ("get_library", json!({"kind": "top_artists"})),
        ("get_library", json!({"kind": "followed_artists"})),
        ("get_my_playlists", json!({})),
        ("get_playlist", json!({"playlist": pl})),
        ("get_item", json!({"uri": "spotify:album:6i6folBtxKV28WX3msQ4FE"})),
        ("get_item", json!({"uri": "spotify:artist:1dfeR4HaWDbWqFHLkxsg1d"})),
        ("get_item", json!({"uri": "spotify:show:5CfCWKI5pZ28U0uOzXkDHe"})),
        ("get_queue", json!({})),
        ("get_playback_state", json!({})),
        ("get_devices", json!({})),
    ];
    let mut largest = (0, String::new());
    for (name, args) in &cases {
        let r = call(name, args.clone());
        assert_eq!(r["isError"], false, "{name}: {r}");
        let size = r["structuredContent"].to_string().len();
        if size > largest.0 {
            largest = (size, format!("{name} {args}"));
        }
    }
    eprintln!("largest structuredContent: {} bytes ({})", largest.0, largest.1);
    assert!(largest.0 < 8 * 1024, "{} is {} bytes", largest.1, largest.0);
}

#[test]
fn every_listed_tool_is_exercised_by_this_suite() {
    let s = stack();
    let (_, t) = sign_in(s, "meta");
    let list = mcp_legacy(s, &t.access, "tools/list", json!({})).json();
    let tools = list["result"]["tools"].as_array().unwrap();
    let source = include_str!("worker_e2e.rs");
    let mut names = std::collections::HashSet::new();
    for tool in tools {
        let name = tool["name"].as_str().unwrap();
        assert!(names.insert(name), "duplicate tool {name}");
        assert!(name.len() <= 64 && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'), "{name}");
        assert!(tool["title"].is_string() && tool["description"].as_str().unwrap().len() > 20, "{name}");
        let a = &tool["annotations"];
        for hint in ["readOnlyHint", "destructiveHint", "idempotentHint"] {
            assert!(a[hint].is_boolean(), "{name} lacks {hint}");
        }
        assert!(source.contains(&format!("\"{name}\"")), "{name} has no integration test");
        // A folded tool: every value of its mode argument is exercised too.
        for key in ["command", "kind", "action"] {
            let Some(values) = tool["inputSchema"]["properties"][key]["enum"].as_array() else { continue };
            for value in values {
                let value = value.as_str().unwrap();
                let exercised = format!("\"{key}\": \"{value}\"");
                assert!(source.contains(&exercised), "{name} {key} {value} has no integration test");
            }
        }
    }
    eprintln!("tools/list: {} tools", tools.len());
    assert_eq!(tools.len(), 23, "{}", tools.len());
}

/// The list every client holds in its context: at most 24 tools and 16,000 bytes of compact
/// JSON, as served by the running Worker in both protocol eras.
#[test]
fn the_tool_list_fits_every_client() {
    let s = stack();
    let (_, t) = sign_in(s, "budget");
    let legacy = mcp_legacy(s, &t.access, "tools/list", json!({})).json();
    let modern = mcp_modern(s, &t.access, "tools/list", json!({})).json();
    for (era, r) in [("2025-11-25", &legacy), ("2026-07-28", &modern)] {
        let tools = r["result"]["tools"].as_array().unwrap_or_else(|| panic!("{era}: {r}"));
        let bytes = serde_json::to_string(tools).unwrap().len();
        eprintln!("tools/list ({era}): {} tools, {bytes} bytes", tools.len());
        assert!(tools.len() <= 24, "{era}: {} tools", tools.len());
        assert!(bytes <= 16_000, "{era}: {bytes} bytes");
    }
    assert_eq!(legacy["result"]["tools"], modern["result"]["tools"], "the same list in both eras");
}

/// Signs in to the "your connection" pages through the emulator; returns the session cookie.
fn account_session(s: &Stack, user: &str) -> String {
    let start = get(&s.url("/account/login"), &[]);
    assert_eq!(start.status, 302);
    let bind = start.cookie("__Host-mcp_bind").unwrap();
    let spotify = get(&format!("{}&emulator_user={user}", start.header("location").unwrap()), &[]);
    let back = get(spotify.header("location").unwrap(), &[("cookie", &bind)]);
    assert_eq!((back.status, back.header("location")), (302, Some("/account")), "{}", back.body);
    let session = back.cookie("__Host-mcp_session").unwrap();
    assert!(back
        .headers_all("set-cookie")
        .iter()
        .any(|c| c.starts_with("__Host-mcp_session") && c.contains("HttpOnly") && c.contains("Secure")));
    session
}

#[test]
fn your_connection_lists_revokes_and_deletes() {
    let s = stack();
    let (_, app) = sign_in(s, "amy");
    let anon = get(&s.url("/account"), &[]);
    assert!(anon.status == 200 && anon.body.contains("/account/login"));
    let session = account_session(s, "amy");
    let page = get(&s.url("/account"), &[("cookie", &session)]);
    assert!(
        page.body.contains("e2e client for amy") && page.body.contains("Signed in as <strong>Amy</strong>"),
        "{}",
        page.body
    );
    let csrf = form_field(&page.body, "csrf");
    let grant = form_field(&page.body, "grant");
    // A forged form (no token) is refused; the real one revokes the app.
    let forged = post_form(&s.url("/account/revoke"), &[("cookie", &session)], &[("grant", &grant)]);
    assert_eq!(forged.status, 403);
    assert_eq!(mcp_legacy(s, &app.access, "tools/list", json!({})).status, 200);
    let r = post_form(&s.url("/account/revoke"), &[("cookie", &session)], &[("grant", &grant), ("csrf", &csrf)]);
    assert_eq!(r.status, 303);
    assert_eq!(mcp_legacy(s, &app.access, "tools/list", json!({})).status, 401, "revoked app is locked out");
    assert!(!get(&s.url("/account"), &[("cookie", &session)]).body.contains("e2e client for amy"));
    // Delete everything: another app's token dies too, and the Spotify link is gone.
    let (_, other) = sign_in(s, "amy");
    let r = post_form(&s.url("/account/delete"), &[("cookie", &session)], &[("csrf", &csrf)]);
    assert!(r.status == 200 && r.body.contains("deleted"), "{}", r.body);
    assert_eq!(mcp_legacy(s, &other.access, "tools/list", json!({})).status, 401);
}

#[test]
fn forget_me_tool_deletes_everything_for_the_caller_only() {
    let s = stack();
    let (_, t) = sign_in(s, "ben");
    let (_, bystander) = sign_in(s, "cal");
    let r = call_tool(s, &t.access, "forget_me", json!({}));
    assert!(r["isError"] == true && text(&r).contains("confirm"), "{r}");
    let r = call_tool(s, &t.access, "forget_me", json!({"confirm": true}));
    assert_eq!(r["isError"], false, "{r}");
    assert!(r["structuredContent"]["deleted_items"].as_u64().unwrap() >= 3, "{r}");
    assert_eq!(mcp_legacy(s, &t.access, "tools/list", json!({})).status, 401);
    assert_eq!(call_tool(s, &bystander.access, "get_my_profile", json!({}))["structuredContent"]["id"], "cal");
}

#[test]
fn landing_page_tells_how_to_connect() {
    let s = stack();
    let r = get(&s.url("/"), &[]);
    assert_eq!(r.status, 200);
    assert!(r.body.contains(&format!("claude mcp add --transport http spotify {}", s.url("/mcp"))));
    assert!(r.body.contains("mcp-remote") && r.body.contains("User Management"));
    let csp = r.header("content-security-policy").unwrap();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert_eq!(r.header("x-frame-options"), Some("DENY"));
}

#[test]
fn browser_suite_in_headless_chromium() {
    let s = stack();
    let artifacts = root().join("test-artifacts/screenshots");
    let own_app = "b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0";
    s.emulator.register_app(own_app, &[&s.url("/callback")]);
    let summary = run_browser_script("tests/browser/flow.mjs", &[&s.base, artifacts.to_str().unwrap(), own_app]);
    eprintln!("browser suite: {summary}");
    assert!(artifacts.join("2-consent.png").exists() && artifacts.join("2c-consent-own-app.png").exists());
}

#[test]
fn instructions_icons_and_prompts_in_both_eras() {
    let s = stack();
    let (_, t) = sign_in(s, "ivo");
    let init = mcp_legacy(
        s,
        &t.access,
        "initialize",
        json!({"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}),
    )
    .json();
    let discover = mcp_modern(s, &t.access, "server/discover", json!({})).json();
    for (era, r) in [("2025", &init["result"]), ("2026", &discover["result"])] {
        assert!(r["instructions"].as_str().unwrap().contains("Premium"), "{era}");
        let info = &r["serverInfo"];
        assert_eq!(info["title"], "Spotify", "{era}");
        assert_eq!(info["websiteUrl"], s.base, "{era}");
        let mimes: Vec<&str> =
            info["icons"].as_array().unwrap().iter().map(|i| i["mimeType"].as_str().unwrap()).collect();
        assert_eq!(mimes, ["image/png", "image/svg+xml"], "{era}");
        assert!(r["capabilities"]["prompts"].is_object() && r["capabilities"]["completions"].is_object(), "{era}");
    }
    let png = get(&s.url("/icon.png"), &[]);
    assert_eq!((png.status, png.header("content-type")), (200, Some("image/png")));
    assert!(get(&s.url("/icon.svg"), &[]).body.starts_with("<svg"));

    let legacy = mcp_legacy(s, &t.access, "prompts/list", json!({})).json();
    let names: Vec<&str> =
        legacy["result"]["prompts"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["discover_similar", "taste_profile", "build_playlist"]);
    let modern = mcp_modern(s, &t.access, "prompts/list", json!({})).json();
    assert!(modern["result"]["ttlMs"].as_u64().unwrap() > 0 && modern["result"]["cacheScope"] == "public");
    for (name, args, needle) in [
        ("discover_similar", json!({"artist": "Queen"}), "similar to Queen"),
        ("taste_profile", json!({"time_range": "short_term"}), "over short_term"),
        ("build_playlist", json!({"vibe": "rainy jazz", "size": "12"}), "12 tracks for: rainy jazz"),
    ] {
        let r = mcp_modern(s, &t.access, "prompts/get", json!({"name": name, "arguments": args})).json();
        assert!(r["result"]["messages"][0]["content"]["text"].as_str().unwrap().contains(needle), "{name}: {r}");
        let r = mcp_legacy(s, &t.access, "prompts/get", json!({"name": name, "arguments": {}})).json();
        assert_eq!(r["error"]["code"], -32602, "{name} without arguments: {r}");
    }
    let c = mcp_legacy(s, &t.access, "completion/complete", json!({"ref": {"type": "ref/prompt", "name": "taste_profile"}, "argument": {"name": "time_range", "value": "l"}})).json();
    assert_eq!(c["result"]["completion"]["values"], json!(["long_term"]));
    let c = mcp_modern(
        s,
        &t.access,
        "completion/complete",
        json!({"ref": {"type": "ref/prompt", "name": "build_playlist"}, "argument": {"name": "size", "value": ""}}),
    )
    .json();
    assert_eq!(c["result"]["completion"]["values"].as_array().unwrap().len(), 4);
}

#[test]
fn allow_list_refuses_strangers_and_stores_nothing_for_them() {
    let s = restricted_stack();
    let (_, allowed) = sign_in(s, "allowed-user");
    assert_eq!(call_tool(s, &allowed.access, "get_my_profile", json!({}))["structuredContent"]["id"], "allowed-user");
    let client = register(s, "stranger's client");
    let (_, challenge) = pkce();
    let page = get(&authorize_url(s, &client.client_id, &client.redirect_uri, None, &challenge), &[]);
    let ok = decide(s, &page, "approve");
    let bind = ok.cookie("__Host-mcp_bind").unwrap();
    let signed_in = get(&format!("{}&emulator_user=stranger", ok.header("location").unwrap()), &[]);
    let refused = get(signed_in.header("location").unwrap(), &[("cookie", &bind)]);
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(refused.body.contains("Not allowed on this server") && refused.header("location").is_none());
    // KV holds only the allowed user's keys.
    let out = std::process::Command::new(root().join("node_modules/.bin/wrangler"))
        .args(["kv", "key", "list", "--binding", "TOKENS", "--local", "--persist-to"])
        .arg(&s.persist_dir)
        .current_dir(root())
        .env("WRANGLER_SEND_METRICS", "false")
        .output()
        .unwrap();
    let keys: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
    let prefix = format!("u:{}:", allowed.access.split('.').next().unwrap());
    let keys = keys.as_array().unwrap();
    assert!(!keys.is_empty());
    for k in keys {
        assert!(k["name"].as_str().unwrap().starts_with(&prefix), "a key for someone else: {k}");
    }
}

#[test]
fn auth_status_before_and_after_linking() {
    let s = stack();
    let (_, t) = sign_in(s, "kai");
    let st = call_tool(s, &t.access, "get_auth_status", json!({}));
    let sc = &st["structuredContent"];
    assert_eq!((sc["linked"].as_bool(), sc["spotify_user"]["id"].as_str()), (Some(true), Some("kai")), "{st}");
    assert!(sc["scopes"].as_array().unwrap().contains(&json!("user-modify-playback-state")));
    assert_eq!(sc["missing_scopes"], json!([]));
    assert!(sc["sign_in_again_by"].as_str().unwrap() > sc["linked_at"].as_str().unwrap());
    assert!(sc["auth_url"].is_null() && !st.to_string().contains("emu-at-") && !st.to_string().contains("emu-rt-"));
    // The Spotify link disappears (as after a key rotation): not linked, with a link to fix it.
    let key = format!("u:{}:spotify", t.access.split('.').next().unwrap());
    let out = std::process::Command::new(root().join("node_modules/.bin/wrangler"))
        .args(["kv", "key", "delete", &key, "--binding", "TOKENS", "--local", "--persist-to"])
        .arg(&s.persist_dir)
        .current_dir(root())
        .env("WRANGLER_SEND_METRICS", "false")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let st = call_tool(s, &t.access, "get_auth_status", json!({}));
    assert_eq!(st["structuredContent"]["linked"], false, "{st}");
    let url = st["structuredContent"]["auth_url"].as_str().unwrap().to_string();
    let back = get(&format!("{}&emulator_user=kai", relink_spotify_url(s, &url)), &[]);
    let done = call_tool(s, &t.access, "authenticate", json!({"callback_url": back.header("location").unwrap()}));
    assert_eq!(done["isError"], false, "{done}");
    assert_eq!(call_tool(s, &t.access, "get_auth_status", json!({}))["structuredContent"]["linked"], true);
    // A sign-in that granted less lists what is missing.
    let (_, narrow) = sign_in_with(s, "lou", "&emulator_scope=user-read-private");
    let st = call_tool(s, &narrow.access, "get_auth_status", json!({}));
    assert!(st["structuredContent"]["missing_scopes"].as_array().unwrap().contains(&json!("user-top-read")));
    assert!(st["structuredContent"]["auth_url"].is_string());
}

#[test]
fn resources_in_both_eras() {
    let s = stack();
    let (_, t) = sign_in(s, "moe");
    for i in 0..21 {
        let r = call_tool(s, &t.access, "create_playlist", json!({"name": format!("List {i:02}")}));
        assert_eq!(r["isError"], false);
    }
    let first = call_tool(s, &t.access, "get_my_playlists", json!({"limit": 1}))["structuredContent"]["playlists"][0]
        ["id"]
        .as_str()
        .unwrap()
        .to_string();
    call_tool(
        s,
        &t.access,
        "edit_playlist_items",
        json!({"playlist": first, "action": "add", "uris": ["spotify:track:4u7EnebtmKWzUH433cf5Qv"]}),
    );

    let templates = mcp_legacy(s, &t.access, "resources/templates/list", json!({})).json();
    let uris: Vec<&str> = templates["result"]["resourceTemplates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["uriTemplate"].as_str().unwrap())
        .collect();
    assert_eq!(uris, ["playlists://{id}", "tracks://{id}", "albums://{id}", "artists://{id}"]);

    let page1 = mcp_modern(s, &t.access, "resources/list", json!({})).json();
    assert_eq!(page1["result"]["resources"].as_array().unwrap().len(), 20);
    assert_eq!((page1["result"]["cacheScope"].as_str(), page1["result"]["ttlMs"].is_u64()), (Some("private"), true));
    let cursor = page1["result"]["nextCursor"].as_str().unwrap().to_string();
    let page2 = mcp_legacy(s, &t.access, "resources/list", json!({"cursor": cursor})).json();
    assert_eq!(page2["result"]["resources"].as_array().unwrap().len(), 1);
    assert!(
        page2["result"].get("nextCursor").is_none() && page2["result"].get("ttlMs").is_none(),
        "no 2026 fields for 2025 clients"
    );

    let read = |uri: &str, modern: bool| {
        let r = if modern {
            mcp_modern(s, &t.access, "resources/read", json!({"uri": uri}))
        } else {
            mcp_legacy(s, &t.access, "resources/read", json!({"uri": uri}))
        };
        r.json()
    };
    let pl = read(&format!("playlists://{first}"), true);
    let c = &pl["result"]["contents"][0];
    assert!(pl["error"].is_null(), "{pl}");
    assert_eq!(c["mimeType"], "application/json");
    let body: Value = serde_json::from_str(c["text"].as_str().unwrap()).unwrap();
    assert_eq!(body["tracks"][0]["name"], "Bohemian Rhapsody", "{body}");
    assert_eq!(pl["result"]["cacheScope"], "private");
    for (uri, name) in [
        ("tracks://4u7EnebtmKWzUH433cf5Qv", "Bohemian Rhapsody"),
        ("albums://6i6folBtxKV28WX3msQ4FE", "A Night at the Opera"),
        ("artists://1dfeR4HaWDbWqFHLkxsg1d", "Queen"),
    ] {
        let r = read(uri, false);
        let body: Value = serde_json::from_str(r["result"]["contents"][0]["text"].as_str().unwrap()).unwrap();
        assert_eq!(body["name"], name, "{uri}");
    }
    assert_eq!(read("tracks://0000000000000000000000", true)["error"]["code"], -32602);
    assert_eq!(read("tracks://0000000000000000000000", false)["error"]["code"], -32002);
    assert_eq!(read("nonsense://x", true)["error"]["code"], -32602);
    // Another user never reads moe's playlist, nor moe someone else's.
    let (_, other) = sign_in(s, "nia");
    let r = mcp_legacy(s, &other.access, "resources/read", json!({"uri": format!("playlists://{first}")})).json();
    assert_eq!(r["error"]["code"], -32002, "{r}");
    assert_eq!(read("playlists://37i9dQZF1DXcBWIGoYBM5M", false)["error"]["code"], -32002);
}

fn refresh(s: &Stack, client: &Client, token: &str) -> Value {
    let r = post_form(
        &s.url("/token"),
        &[],
        &[("grant_type", "refresh_token"), ("refresh_token", token), ("client_id", &client.client_id)],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

/// A key rollover as an operator does it, through redeployed Workers on the same KV: nobody
/// is signed out, during the rollover or after it.
#[test]
fn a_key_rollover_signs_nobody_out() {
    const NEW_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    let s = Stack::start();
    let (client, t) = sign_in(&s, "rollie");
    let uk = t.access.split_once('.').unwrap().0.to_string();
    let session = account_session(&s, "rollie");
    let page = get(&s.url("/account"), &[("cookie", &session)]);
    let csrf = form_field(&page.body, "csrf");

    // TOKEN_ENCRYPTION_KEY_PREVIOUS = the old key, TOKEN_ENCRYPTION_KEY = a new one.
    let s = s.restart_with(&[
        &format!("TOKEN_ENCRYPTION_KEY:{NEW_KEY}"),
        &format!("TOKEN_ENCRYPTION_KEY_PREVIOUS:{TEST_KEY}"),
    ]);
    let health = get(&s.url("/health"), &[]).json();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["notes"][0]["variable"], "TOKEN_IDENTITY_KEY", "{health}");
    assert!(!health.to_string().contains(TEST_KEY) && !health.to_string().contains(NEW_KEY));
    let r = call_tool(&s, &t.access, "search_tracks", json!({"query": "love"}));
    assert_eq!(r["isError"], false, "the access token from before works: {r}");
    // The session cookie and a form shown before the rollover still work.
    let page = get(&s.url("/account"), &[("cookie", &session)]);
    assert!(page.body.contains("e2e client for rollie"), "{}", page.body);
    let out = post_form(&s.url("/account/logout"), &[("cookie", &session)], &[("csrf", &csrf)]);
    assert_eq!(out.status, 303, "{}", out.body);
    // The refresh token from before works (its client id was sealed under the old key).
    let fresh = refresh(&s, &client, &t.refresh);
    let access = fresh["access_token"].as_str().unwrap().to_string();
    assert!(access.starts_with(&format!("{uk}.")), "the user keeps their KV prefix");
    // A Spotify refresh stores the link again, under the new key.
    s.emulator.expire_access_tokens("rollie");
    assert_eq!(call_tool(&s, &access, "get_my_profile", json!({}))["isError"], false);
    let (_, again) = sign_in(&s, "rollie");
    assert!(again.access.starts_with(&format!("{uk}.")), "a new sign-in finds the same user");

    // The rollover ends: PREVIOUS removed, the old key kept as TOKEN_IDENTITY_KEY only.
    let s = s.restart_with(&[&format!("TOKEN_ENCRYPTION_KEY:{NEW_KEY}"), &format!("TOKEN_IDENTITY_KEY:{TEST_KEY}")]);
    assert!(get(&s.url("/health"), &[]).json().get("notes").is_none());
    for token in [&access, &again.access] {
        assert_eq!(call_tool(&s, token, "get_my_profile", json!({}))["isError"], false);
    }
    let fresh = refresh(&s, &client, fresh["refresh_token"].as_str().unwrap());
    assert!(fresh["access_token"].as_str().unwrap().starts_with(&format!("{uk}.")));
    // The old key opens nothing any more: its session cookie is gone with it.
    assert!(get(&s.url("/account"), &[("cookie", &session)]).body.contains("/account/login"));
}

/// How a raw upload frames its body.
#[derive(Clone, Copy, Debug)]
enum Upload {
    /// Declares 100 MB and sends it (or as much as the Worker takes).
    Declared100Mb,
    /// Chunked, no Content-Length, never ends.
    EndlessChunked,
}

/// Posts a huge body over a raw socket, writing on another thread, and returns the answer
/// (status, body) and how long it took; the Worker may answer before the upload is over.
fn raw_upload(s: &Stack, path: &str, ctype: &str, auth: Option<&str>, how: Upload) -> (u16, String, Duration) {
    use std::io::{Read, Write};
    let addr = s.base.trim_start_matches("http://").to_string();
    let mut stream = std::net::TcpStream::connect(&addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut head =
        format!("POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {ctype}\r\nAccept: application/json\r\n");
    if let Some(a) = auth {
        head.push_str(&format!("Authorization: {a}\r\n"));
    }
    head.push_str(match how {
        Upload::Declared100Mb => "Content-Length: 100000000\r\n\r\n",
        Upload::EndlessChunked => "Transfer-Encoding: chunked\r\n\r\n",
    });
    let started = Instant::now();
    let mut writer = stream.try_clone().unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stopped = stop.clone();
    let uploader = std::thread::spawn(move || {
        if writer.write_all(head.as_bytes()).is_err() {
            return;
        }
        let chunk = vec![b' '; 64 * 1024];
        let mut sent = 0usize;
        while !stopped.load(std::sync::atomic::Ordering::Relaxed) {
            let ok = match how {
                Upload::Declared100Mb if sent >= 100_000_000 => break,
                Upload::Declared100Mb => writer.write_all(&chunk).is_ok(),
                Upload::EndlessChunked => {
                    writer.write_all(format!("{:x}\r\n", chunk.len()).as_bytes()).is_ok()
                        && writer.write_all(&chunk).is_ok()
                        && writer.write_all(b"\r\n").is_ok()
                }
            };
            if !ok {
                break;
            }
            sent += chunk.len();
        }
    });
    // Read one response: headers, then Content-Length bytes (the Worker's answers are small).
    let mut buf = Vec::new();
    let mut byte = [0u8; 4096];
    let (status, body) = loop {
        let n = match stream.read(&mut byte) {
            Ok(n) => n,
            Err(e) => return (0, format!("read error {e}"), started.elapsed()),
        };
        if n == 0 {
            return (0, "eof".into(), started.elapsed());
        }
        buf.extend_from_slice(&byte[..n]);
        let text = String::from_utf8_lossy(&buf).to_string();
        let Some(end) = text.find("\r\n\r\n") else { continue };
        let status: u16 = text[9..12].parse().unwrap();
        let length: usize = text[..end]
            .lines()
            .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().unwrap()))
            .unwrap_or(0);
        if buf.len() >= end + 4 + length {
            break (status, String::from_utf8_lossy(&buf[end + 4..end + 4 + length]).to_string());
        }
    };
    let took = started.elapsed();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = stream.shutdown(std::net::Shutdown::Both);
    let _ = uploader.join();
    (status, body, took)
}

/// Under `wrangler dev`, requests pass through wrangler's ProxyWorker, which reports an
/// upstream that answers before an upload is over as "Your worker restarted mid-request"
/// (503) or drops the connection; Cloudflare's edge delivers such early answers. These are
/// the dev proxy's, not the Worker's.
fn dev_proxy_failure(status: u16, body: &str) -> bool {
    (status == 503 && body.contains("restarted mid-request"))
        || (status == 0 && (body == "eof" || body.starts_with("read error")))
}

#[test]
fn huge_or_endless_bodies_get_413_quickly_and_the_worker_stays_healthy() {
    // A Worker of its own: under wrangler dev an endless upload can make the local proxy
    // restart the Worker, which would fail other tests' requests in flight.
    static OWN: std::sync::OnceLock<Stack> = std::sync::OnceLock::new();
    let s = OWN.get_or_init(Stack::start);
    let (_, t) = sign_in(s, "hugo");
    let auth = format!("Bearer {}", t.access);
    let routes =
        [("/mcp", "application/json", Some(auth.as_str())), ("/token", "application/x-www-form-urlencoded", None)];
    let shaped = |path: &str, body: &str| {
        let j: Value = serde_json::from_str(body).unwrap_or_else(|_| panic!("{path}: not JSON: {body}"));
        if path == "/mcp" {
            assert_eq!(
                (j["jsonrpc"].as_str(), j["error"]["code"].as_i64(), &j["id"]),
                (Some("2.0"), Some(-32600), &Value::Null)
            );
        } else {
            assert_eq!(j["error"], "invalid_request", "{j}");
        }
        assert!(body.contains("KiB"), "{body}");
    };
    // A declared 100 MB: refused from the headers, before any of it is read.
    for (path, ctype, auth) in routes {
        let mut answered = None;
        for _ in 0..3 {
            let (status, body, took) = raw_upload(s, path, ctype, auth, Upload::Declared100Mb);
            assert!(took < Duration::from_secs(5), "{path} took {took:?}");
            if !dev_proxy_failure(status, &body) {
                answered = Some((status, body));
                break;
            }
        }
        let (status, body) = answered.unwrap_or_else(|| panic!("{path}: no answer in three tries"));
        assert_eq!(status, 413, "{path}: {body}");
        shaped(path, &body);
    }
    // No Content-Length and no end: reading stops at the limit (before the fix it never ended).
    for (path, ctype, auth) in routes {
        for _ in 0..3 {
            let (status, body, took) = raw_upload(s, path, ctype, auth, Upload::EndlessChunked);
            assert!(took < Duration::from_secs(5), "{path} took {took:?}");
            if !dev_proxy_failure(status, &body) {
                assert_eq!(status, 413, "{path}: {body}");
                shaped(path, &body);
            }
        }
    }
    assert_eq!(get(&s.url("/health"), &[]).status, 200);
    assert_eq!(call_tool(s, &t.access, "get_my_profile", json!({}))["structuredContent"]["id"], "hugo");
}

/// A client metadata document server that misbehaves: `endless` streams spaces forever
/// after a 200, otherwise it sends the headers and then nothing.
fn serve_misbehaving(endless: bool) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    std::thread::spawn(move || {
        for mut stream in listener.incoming().map_while(Result::ok) {
            std::thread::spawn(move || {
                let _ = stream.read(&mut [0u8; 4096]);
                if endless {
                    let _ = stream
                        .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n");
                    let chunk = vec![b' '; 64 * 1024];
                    while stream.write_all(&chunk).is_ok() {}
                } else {
                    let _ = stream.write_all(
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{",
                    );
                    std::thread::sleep(Duration::from_secs(60));
                }
            });
        }
    });
    base
}

#[test]
fn metadata_documents_that_stream_forever_stall_or_are_confidential_are_refused() {
    let s = stack();
    let (_, challenge) = pkce();
    let authorize = |client_id: &str| {
        let started = Instant::now();
        let r = get(&authorize_url(s, client_id, "https://app.example/cb", None, &challenge), &[]);
        (r, started.elapsed())
    };
    let (r, took) = authorize(&format!("{}/client.json", serve_misbehaving(true)));
    assert_eq!(r.status, 400);
    assert!(r.body.contains("larger than 5120 bytes"), "{}", r.body);
    assert!(took < Duration::from_secs(5), "took {took:?}");
    let (r, took) = authorize(&format!("{}/client.json", serve_misbehaving(false)));
    assert_eq!(r.status, 400);
    assert!(r.body.contains("no complete answer within 5000 ms"), "{}", r.body);
    assert!((Duration::from_millis(4500)..Duration::from_secs(12)).contains(&took), "took {took:?}");
    let docs = serve_json(|url| {
        let method = if url.ends_with("/jwt.json") { "private_key_jwt" } else { "none" };
        json!({"client_id": url, "client_name": "Doc", "redirect_uris": ["https://app.example/cb"],
               "token_endpoint_auth_method": method, "jwks_uri": "https://app.example/jwks.json"})
        .to_string()
    });
    let (r, _) = authorize(&format!("{docs}/jwt.json"));
    assert_eq!(r.status, 400);
    assert!(r.body.contains("invalid_client") && r.body.contains("only from public clients"), "{}", r.body);
    let (r, _) = authorize(&format!("{docs}/none.json"));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(get(&s.url("/health"), &[]).status, 200);
}
