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
