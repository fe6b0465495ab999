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
