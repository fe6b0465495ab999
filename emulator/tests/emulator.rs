//! The emulator's own contract: the Spotify behaviours the Worker's tests rely on.

use serde_json::Value;
use spotify_emulator::{Config, Emulator};

fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new().redirects(0).build()
}

fn status_and_json(r: Result<ureq::Response, ureq::Error>) -> (u16, Value) {
    let r = match r {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{e}"),
    };
    (r.status(), r.into_json().unwrap_or(Value::Null))
}

fn code(e: &Emulator, challenge: Option<&str>) -> String {
    let mut req = agent()
        .get(&format!("{}/authorize", e.base_url()))
        .query("client_id", "emulator-client-id")
        .query("response_type", "code")
        .query("redirect_uri", "http://127.0.0.1:9/cb")
        .query("state", "s");
    if let Some(c) = challenge {
        req = req.query("code_challenge", c).query("code_challenge_method", "S256");
    }
    let loc = req.call().unwrap().header("location").unwrap().to_string();
    url::Url::parse(&loc).unwrap().query_pairs().find(|(k, _)| k == "code").unwrap().1.into_owned()
}

fn redeem(e: &Emulator, code: &str, verifier: Option<&str>) -> (u16, Value) {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", "http://127.0.0.1:9/cb"),
        ("client_id", "emulator-client-id"),
        ("client_secret", "emulator-client-secret"),
    ];
    if let Some(v) = verifier {
        form.push(("code_verifier", v));
    }
    status_and_json(agent().post(&format!("{}/api/token", e.base_url())).send_form(&form))
}

#[test]
fn pkce_codes_are_single_use_and_verified() {
    let e = Emulator::start(0, Config::default()).unwrap();
    // RFC 7636 appendix B.
    let c = code(&e, Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"));
    let (status, body) = redeem(&e, &c, Some("wrong"));
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")));
    let c = code(&e, Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"));
    let (status, body) = redeem(&e, &c, Some("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"));
    assert_eq!(status, 200, "{body}");
    assert!(body["refresh_token"].is_string() && body["expires_in"] == 3600);
    assert_eq!(redeem(&e, &c, Some("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")).0, 400, "single use");
}

#[test]
fn web_api_errors_have_spotify_shapes() {
    let e = Emulator::start(0, Config::default()).unwrap();
    let (_, tokens) = redeem(&e, &code(&e, None), None);
    let bearer = format!("Bearer {}", tokens["access_token"].as_str().unwrap());
    let search = |q: &[(&str, &str)]| {
        let mut r = agent().get(&format!("{}/v1/search", e.base_url())).set("authorization", &bearer);
        for (k, v) in q {
            r = r.query(k, v);
        }
        status_and_json(r.call())
    };
    let (status, body) = search(&[("q", "love"), ("type", "track"), ("limit", "11")]);
    assert_eq!((status, body["error"]["message"].as_str()), (400, Some("Invalid limit")));
    let (status, body) = search(&[("q", "love"), ("type", "track"), ("limit", "2")]);
    assert_eq!(status, 200);
    assert_eq!(body["tracks"]["items"].as_array().unwrap().len(), 2);
    assert!(body["tracks"]["total"].as_u64().unwrap() > 2 && body["tracks"]["next"].is_string());
    assert!(body["tracks"]["items"][0].get("popularity").is_none(), "removed in 2026");
    let (status, body) = search(&[("q", "cafe del mar"), ("type", "track")]);
    assert_eq!((status, body["tracks"]["items"][0]["name"].as_str()), (200, Some("Café del Mar")));
    e.expire_access_tokens("alice");
    let (status, body) = search(&[("q", "love"), ("type", "track")]);
    assert_eq!((status, body["error"]["message"].as_str()), (401, Some("The access token expired")));
    let (status, _) = status_and_json(agent().get(&format!("{}/v1/me", e.base_url())).call());
    assert_eq!(status, 401);
}

fn refresh(e: &Emulator, token: &str) -> (u16, Value) {
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", token),
        ("client_id", "emulator-client-id"),
        ("client_secret", "emulator-client-secret"),
    ];
    status_and_json(agent().post(&format!("{}/api/token", e.base_url())).send_form(&form))
}

fn get(e: &Emulator, path: &str, token: &str) -> (u16, Value) {
    status_and_json(
        agent().get(&format!("{}{path}", e.base_url())).set("authorization", &format!("Bearer {token}")).call(),
    )
}

fn post(e: &Emulator, path: &str) -> (u16, Value) {
    status_and_json(agent().post(&format!("{}{path}", e.base_url())).call())
}

#[test]
fn full_sign_in_flow_then_me_and_search() {
    let e = Emulator::start(0, Config::default()).unwrap();
    let loc = agent()
        .get(&format!("{}/authorize", e.base_url()))
        .query("client_id", "emulator-client-id")
        .query("response_type", "code")
        .query("redirect_uri", "http://127.0.0.1:9/cb?keep=1")
        .query("state", "xyz")
        .query("scope", "user-read-private user-read-playback-state")
        .query("emulator_user", "bob")
        .call()
        .unwrap()
        .header("location")
        .unwrap()
        .to_string();
    let loc = url::Url::parse(&loc).unwrap();
    let q: std::collections::HashMap<_, _> = loc.query_pairs().into_owned().collect();
    assert_eq!((q["keep"].as_str(), q["state"].as_str()), ("1", "xyz"));
    let basic = "Basic ZW11bGF0b3ItY2xpZW50LWlkOmVtdWxhdG9yLWNsaWVudC1zZWNyZXQ="; // id:secret
    let form =
        [("grant_type", "authorization_code"), ("code", &q["code"]), ("redirect_uri", "http://127.0.0.1:9/cb?keep=1")];
    let (status, tokens) = status_and_json(
        agent().post(&format!("{}/api/token", e.base_url())).set("authorization", basic).send_form(&form),
    );
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["scope"], "user-read-private user-read-playback-state");
    let at = tokens["access_token"].as_str().unwrap();

    let (status, me) = get(&e, "/v1/me", at);
    assert_eq!((status, me["id"].as_str(), me["display_name"].as_str()), (200, Some("bob"), Some("Bob")));
    assert_eq!(me["uri"], "spotify:user:bob");
    assert!(me.get("email").is_none() && me.get("product").is_none());

    let (status, body) = get(&e, "/v1/search?q=track:caf%C3%A9%20del%20artist:tacvba&type=track,album,artist", at);
    assert_eq!(status, 200, "{body}");
    let track = &body["tracks"]["items"][0];
    assert_eq!(track["name"], "Café del Mar");
    assert_eq!(track["id"].as_str().unwrap().len(), 22);
    assert_eq!(track["uri"], format!("spotify:track:{}", track["id"].as_str().unwrap()));
    assert!(track.get("external_ids").is_none() && track.get("available_markets").is_none());
    assert_eq!(body["tracks"]["limit"], 5);
    assert_eq!(body["albums"]["total"], 0, "no album matches \"del\"");

    let (status, body) = get(&e, "/v1/search?q=zzzznothing&type=track", at);
    assert_eq!((status, body["tracks"]["total"].as_u64(), body["tracks"]["next"].is_null()), (200, Some(0), true));
    for (query, message) in [
        ("type=track", "No search query"),
        ("q=a&type=song", "Bad search type field"),
        ("q=a&type=track&limit=0", "Invalid limit"),
        ("q=a&type=track&offset=1001", "Invalid offset"),
    ] {
        let (status, body) = get(&e, &format!("/v1/search?{query}"), at);
        assert_eq!((status, body["error"]["message"].as_str()), (400, Some(message)), "{query}");
    }
    let (status, body) = get(&e, "/v1/nope", at);
    assert_eq!((status, body["error"]["message"].as_str()), (404, Some("Service not found")));
    let (status, body) = get(&e, "/v1/me", "bogus");
    assert_eq!((status, body["error"]["message"].as_str()), (401, Some("Invalid access token")));

    assert_eq!(e.request_count("GET /v1/search"), 6);
    assert_eq!(e.request_count("POST /api/token"), 1);
    e.reset_counts();
    assert_eq!(e.request_count("GET /v1/search"), 0);
}

#[test]
fn refresh_keeps_the_refresh_token_unless_rotating() {
    let e = Emulator::start(0, Config::default()).unwrap();
    let (_, tokens) = redeem(&e, &code(&e, None), None);
    let rt = tokens["refresh_token"].as_str().unwrap();
    let (status, body) = refresh(&e, rt);
    assert_eq!(status, 200, "{body}");
    assert!(body.get("refresh_token").is_none());
    assert_eq!(get(&e, "/v1/me", body["access_token"].as_str().unwrap()).0, 200);
    assert_eq!(refresh(&e, rt).0, 200, "still valid without rotation");

    let e = Emulator::start(0, Config { rotate_refresh_tokens: true, ..Config::default() }).unwrap();
    let (_, tokens) = redeem(&e, &code(&e, None), None);
    let rt = tokens["refresh_token"].as_str().unwrap();
    let (status, body) = refresh(&e, rt);
    let rotated = body["refresh_token"].as_str().unwrap();
    assert!(status == 200 && rotated != rt);
    let (status, body) = refresh(&e, rt);
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")));
    assert_eq!(refresh(&e, rotated).0, 200);
}

#[test]
fn expire_and_revoke_controls_in_process_and_over_http() {
    let e = Emulator::start(0, Config::default()).unwrap();
    let (_, tokens) = redeem(&e, &code(&e, None), None);
    let (at, rt) = (tokens["access_token"].as_str().unwrap(), tokens["refresh_token"].as_str().unwrap());
    assert_eq!(post(&e, "/__emulator/expire?user=alice").0, 200);
    let (status, body) = get(&e, "/v1/me", at);
    assert_eq!((status, body["error"]["message"].as_str()), (401, Some("The access token expired")));
    let (status, body) = refresh(&e, rt);
    assert_eq!(status, 200, "refresh still works after expiry");
    assert_eq!(get(&e, "/v1/me", body["access_token"].as_str().unwrap()).0, 200);

    e.revoke_refresh_tokens("alice");
    let (status, body) = refresh(&e, rt);
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")));
    assert_eq!(body["error_description"], "Refresh token revoked");
    let (_, body) = refresh(&e, "never-issued");
    assert_eq!(body["error_description"], "Invalid refresh token");

    let (_, tokens) = redeem(&e, &code(&e, None), None);
    assert_eq!(post(&e, "/__emulator/revoke?user=alice").0, 200);
    assert_eq!(refresh(&e, tokens["refresh_token"].as_str().unwrap()).1["error_description"], "Refresh token revoked");

    let (status, counts) = status_and_json(agent().get(&format!("{}/__emulator/counts", e.base_url())).call());
    assert_eq!((status, counts["POST /api/token"].as_u64()), (200, Some(6)));
    post(&e, "/__emulator/reset-counts");
    assert_eq!(e.request_count("POST /api/token"), 0);

    let e = Emulator::start(0, Config { access_token_ttl_secs: 0, ..Config::default() }).unwrap();
    let (_, tokens) = redeem(&e, &code(&e, None), None);
    assert_eq!(
        get(&e, "/v1/me", tokens["access_token"].as_str().unwrap()).1["error"]["message"],
        "The access token expired"
    );
}

#[test]
fn accounts_errors_have_spotify_shapes() {
    let config = Config { redirect_uris: Some(vec!["http://127.0.0.1:9/cb".into()]), ..Config::default() };
    let e = Emulator::start(0, config).unwrap();
    let authorize = |params: &[(&str, &str)]| {
        let mut r = agent().get(&format!("{}/authorize", e.base_url()));
        for (k, v) in params {
            r = r.query(k, v);
        }
        match r.call() {
            Ok(r) | Err(ureq::Error::Status(_, r)) => {
                (r.status(), r.header("location").unwrap_or("").to_string(), r.into_string().unwrap())
            }
            Err(err) => panic!("{err}"),
        }
    };
    let ok = [("client_id", "emulator-client-id"), ("redirect_uri", "http://127.0.0.1:9/cb"), ("state", "s")];
    let (status, _, page) = authorize(&[("client_id", "other"), ok[1], ("response_type", "code")]);
    assert!(status == 400 && page.contains("INVALID_CLIENT: Invalid client"));
    let (status, _, page) = authorize(&[ok[0], ("redirect_uri", "http://evil.test/cb"), ("response_type", "code")]);
    assert!(status == 400 && page.contains("INVALID_CLIENT: Invalid redirect URI"));
    let (status, loc, _) = authorize(&[ok[0], ok[1], ok[2], ("response_type", "token")]);
    assert!(status == 302 && loc.contains("error=unsupported_response_type") && loc.contains("state=s"));
    let (status, loc, _) = authorize(&[ok[0], ok[1], ok[2], ("response_type", "code"), ("emulator_deny", "1")]);
    assert_eq!((status, loc.as_str()), (302, "http://127.0.0.1:9/cb?error=access_denied&state=s"));

    let form = [("grant_type", "client_credentials"), ("client_id", "emulator-client-id"), ("client_secret", "x")];
    let (status, body) = status_and_json(agent().post(&format!("{}/api/token", e.base_url())).send_form(&form));
    assert_eq!(
        (status, body["error"].as_str(), body["error_description"].as_str()),
        (400, Some("invalid_client"), Some("Invalid client"))
    );
    let form =
        [("grant_type", "password"), ("client_id", "emulator-client-id"), ("client_secret", "emulator-client-secret")];
    let (status, body) = status_and_json(agent().post(&format!("{}/api/token", e.base_url())).send_form(&form));
    assert_eq!((status, body["error"].as_str()), (400, Some("unsupported_grant_type")));

    let c = code(&e, None);
    let form = [
        ("grant_type", "authorization_code"),
        ("code", c.as_str()),
        ("redirect_uri", "http://127.0.0.1:9/other"),
        ("client_id", "emulator-client-id"),
        ("client_secret", "emulator-client-secret"),
    ];
    let (status, body) = status_and_json(agent().post(&format!("{}/api/token", e.base_url())).send_form(&form));
    assert_eq!((status, body["error_description"].as_str()), (400, Some("Invalid redirect URI")));
    let (_, body) = redeem(&e, "no-such-code", None);
    assert_eq!(body["error_description"], "Invalid authorization code");
    let (_, body) = redeem(&e, &code(&e, Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")), None);
    assert_eq!(body["error_description"], "code_verifier was incorrect", "a challenge demands a verifier");
}

// Public apps: each user's own Spotify app, no secret, PKCE S256, single-use refresh tokens.

const APP: &str = "0123456789abcdef0123456789abcdef";
const OTHER_APP: &str = "fedcba9876543210fedcba9876543210";
const CB: &str = "http://127.0.0.1:9/cb";
// RFC 7636 appendix B.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// `/authorize` with these parameters: the status, the `Location` and the page.
fn authorize(e: &Emulator, params: &[(&str, &str)]) -> (u16, String, String) {
    let mut r = agent().get(&format!("{}/authorize", e.base_url()));
    for (k, v) in params {
        r = r.query(k, v);
    }
    match r.call() {
        Ok(r) | Err(ureq::Error::Status(_, r)) => {
            (r.status(), r.header("location").unwrap_or("").to_string(), r.into_string().unwrap())
        }
        Err(err) => panic!("{err}"),
    }
}

fn location_param(loc: &str, name: &str) -> Option<String> {
    url::Url::parse(loc).unwrap().query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

/// A public app's sign-in of `user` as far as the code.
fn public_code(e: &Emulator, client_id: &str, user: &str, scope: &str) -> String {
    let (status, loc, page) = authorize(
        e,
        &[
            ("client_id", client_id),
            ("response_type", "code"),
            ("redirect_uri", CB),
            ("state", "s"),
            ("scope", scope),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
            ("emulator_user", user),
        ],
    );
    assert_eq!(status, 302, "{page}");
    location_param(&loc, "code").unwrap_or_else(|| panic!("no code in {loc}"))
}

fn token_form(e: &Emulator, form: &[(&str, &str)]) -> (u16, Value) {
    status_and_json(agent().post(&format!("{}/api/token", e.base_url())).send_form(form))
}

fn public_redeem(e: &Emulator, client_id: &str, code: &str, verifier: Option<&str>) -> (u16, Value) {
    let mut form =
        vec![("grant_type", "authorization_code"), ("code", code), ("redirect_uri", CB), ("client_id", client_id)];
    if let Some(v) = verifier {
        form.push(("code_verifier", v));
    }
    token_form(e, &form)
}

fn public_refresh(e: &Emulator, client_id: &str, token: &str) -> (u16, Value) {
    token_form(e, &[("grant_type", "refresh_token"), ("refresh_token", token), ("client_id", client_id)])
}

fn public_sign_in(e: &Emulator, client_id: &str, user: &str) -> Value {
    let c = public_code(e, client_id, user, "user-read-private");
    let (status, tokens) = public_redeem(e, client_id, &c, Some(VERIFIER));
    assert_eq!(status, 200, "{tokens}");
    tokens
}

fn error_of(reply: &(u16, Value)) -> (u16, Option<&str>, Option<&str>) {
    (reply.0, reply.1["error"].as_str(), reply.1["error_description"].as_str())
}

#[test]
fn public_app_signs_in_with_pkce_and_rotates_refresh_tokens_strictly() {
    let e = Emulator::start(0, Config::default()).unwrap();
    e.register_app(APP, &[CB]);
    let c = public_code(&e, APP, "carol", "user-read-private user-modify-playback-state");
    assert_eq!(
        error_of(&public_redeem(&e, APP, &c, None)),
        (400, Some("invalid_grant"), Some("code_verifier was incorrect"))
    );
    let c = public_code(&e, APP, "carol", "user-read-private user-modify-playback-state");
    assert_eq!(error_of(&public_redeem(&e, APP, &c, Some("wrong"))).1, Some("invalid_grant"));
    let c = public_code(&e, APP, "carol", "user-read-private user-modify-playback-state");
    let (status, tokens) = public_redeem(&e, APP, &c, Some(VERIFIER));
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["scope"], "user-read-private user-modify-playback-state");
    assert_eq!(get(&e, "/v1/me", tokens["access_token"].as_str().unwrap()).1["id"], "carol");

    // Every refresh rotates, though `rotate_refresh_tokens` is off; the old token dies at once.
    let first = tokens["refresh_token"].as_str().unwrap();
    let (status, body) = public_refresh(&e, APP, first);
    assert_eq!(status, 200, "{body}");
    let second = body["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(second, first);
    assert_eq!(body["scope"], "user-read-private user-modify-playback-state");
    assert_eq!(get(&e, "/v1/me", body["access_token"].as_str().unwrap()).0, 200);
    assert_eq!(error_of(&public_refresh(&e, APP, first)), (400, Some("invalid_grant"), Some("Invalid refresh token")));
    let (status, body) = public_refresh(&e, APP, &second);
    assert_eq!(status, 200, "{body}");
    let third = body["refresh_token"].as_str().unwrap().to_string();
    assert_eq!(public_refresh(&e, APP, &second).0, 400);

    assert_eq!(e.user_refresh_count("carol"), 2, "failed refreshes do not count");
    assert_eq!(e.user_request_count("carol", "POST /api/token"), 3, "one code grant, two refreshes");

    e.revoke_refresh_tokens("carol");
    assert_eq!(error_of(&public_refresh(&e, APP, &third)), (400, Some("invalid_grant"), Some("Refresh token revoked")));
    e.reset_counts();
    assert_eq!(e.user_refresh_count("carol"), 0);
}

#[test]
fn codes_and_refresh_tokens_are_bound_to_their_app() {
    let e = Emulator::start(0, Config::default()).unwrap();
    e.register_app(APP, &[CB]);
    e.register_app(OTHER_APP, &[CB]);

    let c = public_code(&e, APP, "dave", "");
    assert_eq!(error_of(&public_redeem(&e, OTHER_APP, &c, Some(VERIFIER))).1, Some("invalid_grant"));
    let c = public_code(&e, APP, "dave", "");
    assert_eq!(redeem(&e, &c, Some(VERIFIER)).1["error"], "invalid_grant", "the operator's app cannot redeem it");
    let c = code(&e, Some(CHALLENGE));
    assert_eq!(public_redeem(&e, APP, &c, Some(VERIFIER)).1["error"], "invalid_grant", "nor the reverse");

    let rt = public_sign_in(&e, APP, "dave")["refresh_token"].as_str().unwrap().to_string();
    assert_eq!(
        error_of(&public_refresh(&e, OTHER_APP, &rt)),
        (400, Some("invalid_grant"), Some("Invalid refresh token"))
    );
    assert_eq!(refresh(&e, &rt).1["error"], "invalid_grant", "the operator's app cannot use it");
    assert_eq!(public_refresh(&e, APP, &rt).0, 200, "a refused attempt by another app does not spend it");

    let (_, tokens) = redeem(&e, &code(&e, None), None);
    let operator_rt = tokens["refresh_token"].as_str().unwrap();
    assert_eq!(public_refresh(&e, APP, operator_rt).1["error"], "invalid_grant");
    assert_eq!(refresh(&e, operator_rt).0, 200);
    assert!(refresh(&e, operator_rt).1.get("refresh_token").is_none(), "the operator's app does not rotate");
}

#[test]
fn unknown_apps_redirects_and_missing_pkce_are_refused() {
    let e = Emulator::start(0, Config::default()).unwrap();
    let ok = |id| {
        [
            ("client_id", id),
            ("response_type", "code"),
            ("redirect_uri", CB),
            ("state", "s"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ]
    };
    let (status, _, page) = authorize(&e, &ok(APP));
    assert!(status == 400 && page.contains("INVALID_CLIENT: Invalid client"), "a 32-hex id is not enough: {page}");

    e.register_app(APP, &[CB]);
    assert_eq!(authorize(&e, &ok(APP)).0, 302);
    let mut params = ok(APP);
    params[2].1 = "http://127.0.0.1:9/elsewhere";
    let (status, _, page) = authorize(&e, &params);
    assert!(status == 400 && page.contains("INVALID_CLIENT: Invalid redirect URI"), "{page}");

    let (status, loc, _) = authorize(&e, &ok(APP)[..4]);
    assert_eq!(status, 302);
    assert_eq!(location_param(&loc, "error").as_deref(), Some("invalid_request"), "{loc}");
    assert_eq!(location_param(&loc, "state").as_deref(), Some("s"));
    assert!(location_param(&loc, "code").is_none());
    let mut params = ok(APP);
    params[5].1 = "plain";
    let (_, loc, _) = authorize(&e, &params);
    assert_eq!(location_param(&loc, "error").as_deref(), Some("invalid_request"), "only S256: {loc}");
    let (_, loc, _) = authorize(&e, &ok(APP)[..5]);
    assert_eq!(location_param(&loc, "error").as_deref(), Some("invalid_request"), "a method is required: {loc}");

    let invalid_client = (400, Some("invalid_client"), Some("Invalid client"));
    let form = |id| [("grant_type", "refresh_token"), ("refresh_token", "x"), ("client_id", id)];
    assert_eq!(error_of(&token_form(&e, &form(OTHER_APP))), invalid_client, "unregistered public app");
    assert_eq!(error_of(&token_form(&e, &form("emulator-client-id"))), invalid_client, "operator without secret");
    let with_secret =
        [("grant_type", "refresh_token"), ("refresh_token", "x"), ("client_id", APP), ("client_secret", "s")];
    assert_eq!(error_of(&token_form(&e, &with_secret)), invalid_client, "a secret means the operator's app");
    assert_eq!(error_of(&token_form(&e, &[("grant_type", "refresh_token"), ("refresh_token", "x")])), invalid_client);

    // The admin endpoint registers apps too, with repeated redirect URIs.
    let (status, body) = post(
        &e,
        &format!("/__emulator/apps?client_id={OTHER_APP}&redirect_uri=http%3A%2F%2Fa.test%2Fcb&redirect_uri={CB}"),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["redirect_uris"], serde_json::json!(["http://a.test/cb", CB]));
    assert_eq!(authorize(&e, &ok(OTHER_APP)).0, 302);
    let mut params = ok(OTHER_APP);
    params[2].1 = "http://a.test/cb";
    assert_eq!(authorize(&e, &params).0, 302);
    assert_eq!(post(&e, "/__emulator/apps").0, 400, "client_id is required");
}

#[test]
fn open_public_apps_accepts_any_32_hex_id() {
    let e = Emulator::start(0, Config { open_public_apps: true, ..Config::default() }).unwrap();
    let tokens = public_sign_in(&e, APP, "erin");
    let (status, body) = public_refresh(&e, APP, tokens["refresh_token"].as_str().unwrap());
    assert_eq!(status, 200, "{body}");
    assert_eq!(public_refresh(&e, APP, tokens["refresh_token"].as_str().unwrap()).0, 400, "still single use");

    let params = |id, redirect| {
        [
            ("client_id", id),
            ("response_type", "code"),
            ("redirect_uri", redirect),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ]
    };
    assert_eq!(authorize(&e, &params(OTHER_APP, "https://anywhere.test/x")).0, 302);
    let (status, _, page) = authorize(&e, &params(&APP[1..], CB));
    assert!(status == 400 && page.contains("INVALID_CLIENT: Invalid client"), "31 characters");
    let (status, _, page) = authorize(&e, &params("0123456789abcdef0123456789abcdeg", CB));
    assert!(status == 400 && page.contains("INVALID_CLIENT: Invalid client"), "not hex");
    let (status, _, page) = authorize(&e, &params(APP, "myapp://cb"));
    assert!(status == 400 && page.contains("INVALID_CLIENT: Invalid redirect URI"));
    let form = [("grant_type", "refresh_token"), ("refresh_token", "x"), ("client_id", "emulator-client-id")];
    assert_eq!(token_form(&e, &form).1["error"], "invalid_client", "the operator's app stays confidential");

    // An app registered explicitly keeps its own list.
    e.register_app(OTHER_APP, &[CB]);
    let (status, _, page) = authorize(&e, &params(OTHER_APP, "https://anywhere.test/x"));
    assert!(status == 400 && page.contains("INVALID_CLIENT: Invalid redirect URI"));
    // The operator's app works as before.
    assert_eq!(redeem(&e, &code(&e, None), None).0, 200);
}

#[test]
fn oauth_log_records_every_request_without_secrets() {
    let e = Emulator::start(0, Config::default()).unwrap();
    e.register_app(APP, &[CB]);
    let c = public_code(&e, APP, "frank", "user-read-private playlist-read-private");
    let (_, tokens) = public_redeem(&e, APP, &c, Some(VERIFIER));
    let rt = tokens["refresh_token"].as_str().unwrap();
    assert_eq!(public_refresh(&e, APP, rt).0, 200);
    assert_eq!(public_refresh(&e, APP, rt).0, 400);
    let (_, operator) = redeem(&e, &code(&e, None), None);
    authorize(&e, &[("client_id", "nobody"), ("redirect_uri", CB), ("response_type", "code")]);

    let log = e.oauth_log();
    let summary: Vec<_> = log
        .iter()
        .map(|l| {
            (l.endpoint.as_str(), l.client_id.as_str(), l.grant_type.as_deref(), l.secret_presented, l.user.as_deref())
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("authorize", APP, None, false, None),
            ("token", APP, Some("authorization_code"), false, Some("frank")),
            ("token", APP, Some("refresh_token"), false, Some("frank")),
            ("token", APP, Some("refresh_token"), false, None),
            ("authorize", "emulator-client-id", None, false, None),
            ("token", "emulator-client-id", Some("authorization_code"), true, Some("alice")),
            ("authorize", "nobody", None, false, None),
        ]
    );
    assert_eq!(log[0].scope.as_deref(), Some("user-read-private playlist-read-private"));
    assert_eq!(log[0].redirect_uri.as_deref(), Some(CB));
    assert_eq!(log[1].redirect_uri.as_deref(), Some(CB));
    assert_eq!(log[4].scope, None);
    assert!(log
        .iter()
        .filter(|l| l.user.as_deref() == Some("frank"))
        .all(|l| l.client_id == APP && !l.secret_presented));

    let (status, over_http) = status_and_json(agent().get(&format!("{}/__emulator/oauth-log", e.base_url())).call());
    assert_eq!(status, 200);
    assert_eq!(over_http.as_array().unwrap().len(), log.len());
    assert_eq!(over_http[1]["client_id"], APP);
    assert_eq!(over_http[1]["secret_presented"], false);
    let text = over_http.to_string();
    for secret in [rt, tokens["access_token"].as_str().unwrap(), operator["refresh_token"].as_str().unwrap(), &c] {
        assert!(!text.contains(secret), "the log holds no tokens or codes");
    }
    assert!(!text.contains("emulator-client-secret") && !text.contains(VERIFIER));

    e.clear_oauth_log();
    assert!(e.oauth_log().is_empty());
}

#[test]
fn concurrent_refreshes_with_one_public_token_succeed_once() {
    let e = Emulator::start(0, Config::default()).unwrap();
    e.register_app(APP, &[CB]);
    let rt = public_sign_in(&e, APP, "gina")["refresh_token"].as_str().unwrap().to_string();
    let barrier = std::sync::Barrier::new(8);
    let replies: Vec<(u16, Value)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                s.spawn(|| {
                    barrier.wait();
                    public_refresh(&e, APP, &rt)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let ok = replies.iter().filter(|r| r.0 == 200).count();
    assert_eq!(ok, 1, "{replies:?}");
    assert!(replies
        .iter()
        .filter(|r| r.0 != 200)
        .all(|r| error_of(r) == (400, Some("invalid_grant"), Some("Invalid refresh token"))));
    assert_eq!(e.user_refresh_count("gina"), 1);
}
