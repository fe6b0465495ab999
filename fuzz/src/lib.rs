//! What the fuzz targets share: an in-memory platform (KV in a map, a fixed clock, a fake
//! Spotify on the HTTP port), a fixture that signs one user in through the real flow, and
//! the text format the `http` and `mcp` targets read.
//!
//! Input format (`http`; `mcp` reads the same without the `@` lines and placeholders):
//!
//! ```text
//! @seal <purpose> <plaintext>     authentic sealed value of that plaintext: $S0, $S1, ...
//! @kv <link|access|refresh> <plaintext>   that slot of the signed-in user, authentically encrypted
//! @spotify <status> <body>        the next answer of the HTTP port (queued, in order)
//! <METHOD> <path or absolute URL>
//! <header>: <value>
//!
//! <body>
//! ```
//!
//! `$CLIENT`, `$TOKEN`, `$CODE`, `$STATE`, ... stand for the valid values the fixture
//! obtained (see [`Fixture::placeholders`]), so mutations start from requests that pass
//! authentication and reach the code behind it.

use spotify_mcp_edge::app;
use spotify_mcp_edge::context::Ctx;
use spotify_mcp_edge::core::config::Config;
use spotify_mcp_edge::core::crypto::{b64url, pkce_s256, Key};
use spotify_mcp_edge::core::http::{HttpRequest, HttpResponse};
use spotify_mcp_edge::core::platform::{Assets, Clock, Http, Kv, Limiter, PortError, RateLimit, Sleep};
use spotify_mcp_edge::core::sealed::{self, Purpose};
use spotify_mcp_edge::core::secret::{SpotifyUserId, UserKey};
use spotify_mcp_edge::core::store::{token_hash, Store};
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::OnceLock;

pub const ORIGIN: &str = "https://mcp.example";
pub const REDIRECT: &str = "http://127.0.0.1:9/cb";
pub const VERIFIER: &str = "fuzz-verifier-fuzz-verifier-fuzz-verifier-fuzz-verifier";
/// 2027-01-15: the fixture's sealed values and tokens are valid at this instant.
pub const NOW_MS: u64 = 1_800_000_000_000;
pub const MASTER: [u8; 32] = [42; 32];
pub const USER: &str = "alice";

pub const PURPOSES: [Purpose; 7] = Purpose::ALL;

/// The label `sealed` derives its key and associated data from (its wire format).
pub fn label(p: Purpose) -> &'static str {
    p.label()
}

pub fn purpose(name: &str) -> Option<Purpose> {
    PURPOSES.into_iter().find(|p| label(*p) == name)
}

/// What `sealed::seal` would produce for this exact plaintext (which need not be an
/// envelope, or JSON at all): the authentic inputs that reach the decoding behind the AEAD.
pub fn seal_raw(master: &Key, p: Purpose, plaintext: &[u8]) -> String {
    let key = master.derive(format!("seal:{}", label(p)).as_bytes());
    b64url(&key.seal(label(p).as_bytes(), plaintext).expect("seal"))
}

/// What `Store` would write under `kv_key` for this plaintext.
pub fn store_raw(master: &Key, uk: &UserKey, kv_key: &str, plaintext: &[u8]) -> String {
    let key = master.derive(format!("user-data:{}", uk.as_str()).as_bytes());
    b64url(&key.seal(kv_key.as_bytes(), plaintext).expect("seal"))
}

/// KV in a map, a fixed clock, no sleeping, and a scripted Spotify: answers queued by the
/// input first, then a token grant for `/api/token`, a profile for `/v1/me`, and 503 for
/// anything else (no network, ever).
pub struct FuzzPlatform {
    pub kv: RefCell<BTreeMap<String, String>>,
    pub now_ms: Cell<u64>,
    pub queued: RefCell<VecDeque<HttpResponse>>,
    pub http_calls: Cell<usize>,
}

impl FuzzPlatform {
    pub fn new(kv: BTreeMap<String, String>) -> Self {
        FuzzPlatform {
            kv: RefCell::new(kv),
            now_ms: Cell::new(NOW_MS),
            queued: RefCell::new(VecDeque::new()),
            http_calls: Cell::new(0),
        }
    }
}

impl Kv for FuzzPlatform {
    async fn get(&self, key: &str) -> Result<Option<String>, PortError> {
        Ok(self.kv.borrow().get(key).cloned())
    }
    async fn put(&self, key: &str, value: &str, _ttl: Option<u64>) -> Result<(), PortError> {
        self.kv.borrow_mut().insert(key.to_string(), value.to_string());
        Ok(())
    }
    async fn delete(&self, key: &str) -> Result<(), PortError> {
        self.kv.borrow_mut().remove(key);
        Ok(())
    }
    async fn list(&self, prefix: &str) -> Result<Vec<String>, PortError> {
        Ok(self.kv.borrow().keys().filter(|k| k.starts_with(prefix)).cloned().collect())
    }
}

impl Clock for FuzzPlatform {
    fn now_ms(&self) -> u64 {
        self.now_ms.get()
    }
}

impl Assets for FuzzPlatform {
    async fn asset(&self, path: &str) -> Result<Option<String>, PortError> {
        Ok(Some(format!("<!doctype html><title>{path}</title>")))
    }
}

impl RateLimit for FuzzPlatform {
    async fn allow(&self, _limiter: Limiter, _key: &str) -> Result<bool, PortError> {
        Ok(true)
    }
    fn is_bound(&self, _limiter: Limiter) -> bool {
        true
    }
}

/// The keyring of a deployment with one key, as the library takes it.
fn ring(master: &Key) -> spotify_mcp_edge::core::keyring::Keyring {
    spotify_mcp_edge::core::keyring::Keyring::new(master.clone(), None, None)
}

impl Sleep for FuzzPlatform {
    async fn sleep_ms(&self, ms: u64) {
        self.now_ms.set(self.now_ms.get().saturating_add(ms));
    }
}

const SPOTIFY_SCOPES: &str = "user-read-private user-read-email user-read-playback-state user-modify-playback-state \
user-read-currently-playing user-read-recently-played user-top-read user-library-read user-library-modify \
user-follow-read playlist-read-private playlist-read-collaborative playlist-modify-private playlist-modify-public";

impl Http for FuzzPlatform {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, PortError> {
        self.http_calls.set(self.http_calls.get() + 1);
        if self.http_calls.get() > 64 {
            return Err(PortError("fuzz: too many HTTP calls".into()));
        }
        if let Some(r) = self.queued.borrow_mut().pop_front() {
            return Ok(r);
        }
        let json = |status: u16, v: serde_json::Value| Ok(HttpResponse::json(status, &v));
        match request.url.path() {
            "/api/token" => json(
                200,
                serde_json::json!({"access_token": "sp-at", "token_type": "Bearer", "expires_in": 3600,
                    "refresh_token": "sp-rt", "scope": SPOTIFY_SCOPES}),
            ),
            "/v1/me" => json(200, serde_json::json!({"id": USER, "display_name": "Alice", "product": "premium"})),
            _ => json(503, serde_json::json!({"error": {"status": 503, "message": "fuzz: Spotify is away"}})),
        }
    }
}

pub fn env() -> HashMap<String, String> {
    [
        ("SPOTIFY_CLIENT_ID", "fuzz-spotify-client".to_string()),
        ("SPOTIFY_CLIENT_SECRET", "fuzz-spotify-secret".to_string()),
        ("TOKEN_ENCRYPTION_KEY", b64url(&MASTER)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    futures::executor::block_on(f)
}

/// KV after one complete sign-in, and the valid values it produced.
pub struct Fixture {
    pub env: HashMap<String, String>,
    pub master: Key,
    pub uk: UserKey,
    pub kv: BTreeMap<String, String>,
    pub placeholders: BTreeMap<&'static str, String>,
}

fn send(p: &FuzzPlatform, env: &HashMap<String, String>, req: HttpRequest) -> HttpResponse {
    block_on(app::handle(p, env, req)).0
}

fn url(path: &str) -> url::Url {
    url::Url::parse(&format!("{ORIGIN}{path}")).expect("url")
}

fn set_cookie(resp: &HttpResponse, name: &str) -> String {
    resp.headers
        .iter()
        .filter(|(k, _)| k == "set-cookie")
        .filter_map(|(_, v)| v.split(';').next()?.strip_prefix(&format!("{name}=")).map(str::to_string))
        .next()
        .unwrap_or_else(|| panic!("fixture: no {name} cookie in {resp:?}"))
}

fn field(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap_or_else(|| panic!("fixture: no {name} field")) + marker.len();
    html[start..start + html[start..].find('"').expect("quote")].to_string()
}

fn query_param(location: &str, name: &str) -> String {
    let u = url::Url::parse(location).or_else(|_| url::Url::parse(ORIGIN).and_then(|o| o.join(location)));
    u.expect("location").query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned()).expect("param")
}

impl Fixture {
    pub fn get() -> &'static Fixture {
        static F: OnceLock<Fixture> = OnceLock::new();
        F.get_or_init(Fixture::build)
    }

    /// Registers two clients, consents, signs in at the (fake) Spotify, redeems the code,
    /// and signs in to the account pages: every step through `app::handle`.
    fn build() -> Fixture {
        let env = env();
        let master = Key::from_bytes(MASTER);
        let p = FuzzPlatform::new(BTreeMap::new());
        let mut ph: BTreeMap<&'static str, String> = BTreeMap::new();

        let register = |method: &str| {
            let mut req = HttpRequest::new("POST", url("/register")).with_header("content-type", "application/json");
            req.body = serde_json::to_vec(&serde_json::json!({"redirect_uris": [REDIRECT],
                "token_endpoint_auth_method": method, "client_name": "Fuzz client"}))
            .unwrap();
            let resp = send(&p, &env, req);
            assert_eq!(resp.status, 201, "fixture: register");
            resp.body_json().unwrap()
        };
        let public = register("none");
        let client = public["client_id"].as_str().unwrap().to_string();
        let confidential = register("client_secret_basic");
        ph.insert("CCLIENT", confidential["client_id"].as_str().unwrap().to_string());
        ph.insert("CSECRET", confidential["client_secret"].as_str().unwrap().to_string());
        ph.insert("BASIC", {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", ph["CCLIENT"], ph["CSECRET"]))
        });

        let mut authz = url("/authorize");
        authz
            .query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &client)
            .append_pair("redirect_uri", REDIRECT)
            .append_pair("code_challenge", &pkce_s256(VERIFIER))
            .append_pair("code_challenge_method", "S256")
            .append_pair("state", "client-state")
            .append_pair("resource", &format!("{ORIGIN}/mcp"));
        let page = send(&p, &env, HttpRequest::new("GET", authz));
        assert_eq!(page.status, 200, "fixture: consent page");
        let html = String::from_utf8(page.body.clone()).unwrap();
        let csrf_cookie = set_cookie(&page, "__Host-mcp_csrf");
        let (consent, csrf) = (field(&html, "request"), field(&html, "csrf"));

        let decide = HttpRequest::new("POST", url("/authorize"))
            .with_form(&[
                ("request", &consent),
                ("csrf", &csrf),
                ("decision", "approve"),
                ("capability", "playback"),
                ("capability", "library"),
                ("capability", "playlists"),
            ])
            .with_header("cookie", format!("__Host-mcp_csrf={csrf_cookie}"));
        // A person reads the consent page before approving (the server refuses sooner).
        p.now_ms.set(p.now_ms.get() + spotify_mcp_edge::oauth::flow::CONSENT_MIN_DWELL_MS);
        let approved = send(&p, &env, decide);
        assert_eq!(approved.status, 302, "fixture: approve");
        let bind = set_cookie(&approved, "__Host-mcp_bind");
        let state = query_param(approved.header("location").unwrap(), "state");

        let mut cb = url("/callback");
        cb.query_pairs_mut().append_pair("code", "spotify-code").append_pair("state", &state);
        let back = send(&p, &env, HttpRequest::new("GET", cb).with_header("cookie", format!("__Host-mcp_bind={bind}")));
        assert_eq!(back.status, 302, "fixture: callback");
        let code = query_param(back.header("location").unwrap(), "code");

        let token = HttpRequest::new("POST", url("/token")).with_form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
            ("client_id", &client),
        ]);
        let tokens = send(&p, &env, token);
        assert_eq!(tokens.status, 200, "fixture: token");
        let tokens = tokens.body_json().unwrap();

        let login = send(&p, &env, HttpRequest::new("GET", url("/account/login")));
        assert_eq!(login.status, 302, "fixture: account login");
        let abind = set_cookie(&login, "__Host-mcp_bind");
        let astate = query_param(login.header("location").unwrap(), "state");
        let mut cb = url("/callback");
        cb.query_pairs_mut().append_pair("code", "spotify-code-2").append_pair("state", &astate);
        let signed_in =
            send(&p, &env, HttpRequest::new("GET", cb).with_header("cookie", format!("__Host-mcp_bind={abind}")));
        let session = set_cookie(&signed_in, "__Host-mcp_session");
        let account = send(
            &p,
            &env,
            HttpRequest::new("GET", url("/account")).with_header("cookie", format!("__Host-mcp_session={session}")),
        );
        let account_html = String::from_utf8(account.body.clone()).unwrap();

        let config = Config::from_env(&env).expect("config");
        let uk = Store::new(&p, &ring(&master)).user_key(&SpotifyUserId::new(USER));
        let ctx = Ctx { platform: &p, config: &config, origin: ORIGIN.to_string() };
        let relink = spotify_mcp_edge::oauth::flow::relink_url(&ctx, &uk, &["user-read-email"]).expect("relink");

        // The code stays redeemable: forget that it was used.
        let mut kv = p.kv.borrow().clone();
        kv.retain(|k, _| !k.contains(":code:"));

        ph.insert("CLIENT", client);
        ph.insert("CONSENT", consent);
        ph.insert("CSRF", csrf);
        ph.insert("CSRFCOOKIE", csrf_cookie);
        ph.insert("STATE", state);
        ph.insert("BIND", bind);
        ph.insert("CODE", code);
        ph.insert("VERIFIER", VERIFIER.to_string());
        ph.insert("CHALLENGE", pkce_s256(VERIFIER));
        ph.insert("TOKEN", tokens["access_token"].as_str().unwrap().to_string());
        ph.insert("REFRESH", tokens["refresh_token"].as_str().unwrap().to_string());
        ph.insert("ASTATE", astate);
        ph.insert("ABIND", abind);
        ph.insert("SESSION", session);
        ph.insert("FORM", field(&account_html, "csrf"));
        ph.insert("GRANT", field(&account_html, "grant"));
        ph.insert("RELINK", query_param(&relink, "t"));
        ph.insert("UK", uk.as_str().to_string());
        let fixture = Fixture { env, master, uk, kv, placeholders: ph };
        fixture.check_formats();
        fixture
    }

    /// The harness re-implements two wire formats; fail loudly if they drift.
    fn check_formats(&self) {
        for p in PURPOSES {
            let sealed = seal_raw(&self.master, p, br#"{"exp":0,"v":"x"}"#);
            assert_eq!(sealed::open::<String>(&ring(&self.master), p, &sealed, 1).as_deref(), Ok("x"), "seal format");
        }
        let kv = FuzzPlatform::new(self.kv.clone());
        let keys = ring(&self.master);
        let store = Store::new(&kv, &keys);
        let link = block_on(store.get_link(&self.uk)).unwrap().expect("link");
        let key = Store::<FuzzPlatform>::link_key(&self.uk);
        kv.kv.borrow_mut().insert(key.clone(), store_raw(&self.master, &self.uk, &key, br#"{}"#));
        assert!(block_on(store.get_link(&self.uk)).is_err(), "store format (malformed record)");
        let json = format!(
            r#"{{"spotify_id":"alice","display_name":null,"access_token":"a","refresh_token":"r","expires_at":{},"scope":"","linked_at":1}}"#,
            link.expires_at
        );
        kv.kv.borrow_mut().insert(key.clone(), store_raw(&self.master, &self.uk, &key, json.as_bytes()));
        assert!(block_on(store.get_link(&self.uk)).unwrap().is_some(), "store format");
    }

    pub fn kv_key(&self, slot: &str) -> Option<String> {
        let ph = &self.placeholders;
        Some(match slot {
            "link" => Store::<FuzzPlatform>::link_key(&self.uk),
            "access" => Store::<FuzzPlatform>::access_key(&self.uk, &token_hash(&ph["TOKEN"])),
            "refresh" => Store::<FuzzPlatform>::refresh_key(&self.uk, &token_hash(&ph["REFRESH"])),
            _ => return None,
        })
    }
}

/// Replaces `$NAME` where NAME is known; everything else is kept as it is.
pub fn expand(input: &[u8], lookup: impl Fn(&str) -> Option<String>) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        if input[i] == b'$' {
            let end = input[i + 1..]
                .iter()
                .position(|b| !(b.is_ascii_uppercase() || b.is_ascii_digit()))
                .map_or(input.len(), |n| i + 1 + n);
            let name = std::str::from_utf8(&input[i + 1..end]).unwrap_or("");
            if let Some(v) = (!name.is_empty()).then(|| lookup(name)).flatten() {
                out.extend_from_slice(v.as_bytes());
                i = end;
                continue;
            }
        }
        out.push(input[i]);
        i += 1;
    }
    out
}

/// One request of the input format, with its directives.
pub struct Parsed {
    pub seals: Vec<(Purpose, Vec<u8>)>,
    pub kv: Vec<(String, Vec<u8>)>,
    pub spotify: Vec<HttpResponse>,
    pub request: HttpRequest,
}

fn split_line(input: &[u8]) -> (&[u8], &[u8]) {
    match input.iter().position(|&b| b == b'\n') {
        Some(n) => {
            let line = &input[..n];
            (line.strip_suffix(b"\r").unwrap_or(line), &input[n + 1..])
        }
        None => (input, &[]),
    }
}

/// Parses the input format; `None` for what no runtime could hand us (no request line,
/// a target that is no URL).
pub fn parse(input: &[u8]) -> Option<Parsed> {
    let mut rest = input;
    let mut seals = Vec::new();
    let mut kv = Vec::new();
    let mut spotify = Vec::new();
    let request_line = loop {
        let (line, next) = split_line(rest);
        rest = next;
        let Some(directive) = line.strip_prefix(b"@") else { break line };
        let text = String::from_utf8_lossy(directive);
        let mut parts = text.splitn(3, ' ');
        let (kind, arg, value) = (parts.next()?, parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        match kind {
            "seal" => seals.push((purpose(arg)?, value.as_bytes().to_vec())),
            "kv" => kv.push((arg.to_string(), value.as_bytes().to_vec())),
            "spotify" => spotify.push(HttpResponse::new(arg.parse().ok()?).with_body(value.as_bytes().to_vec())),
            _ => return None,
        }
        if rest.is_empty() {
            return None;
        }
    };
    let line = String::from_utf8_lossy(request_line);
    let (method, target) = line.split_once(' ')?;
    let url = if target.starts_with("http://") || target.starts_with("https://") {
        url::Url::parse(target).ok()?
    } else {
        url::Url::parse(&format!("{ORIGIN}{target}")).ok()?
    };
    let mut request = HttpRequest::new(method, url);
    loop {
        let (line, next) = split_line(rest);
        rest = next;
        if line.is_empty() {
            break;
        }
        let text = String::from_utf8_lossy(line);
        if let Some((name, value)) = text.split_once(':') {
            // Runtimes hand header names over lower-cased and values trimmed.
            request.headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
    }
    request.body = rest.to_vec();
    Some(Parsed { seals, kv, spotify, request })
}

/// The `http` target: one request through the whole router, from the signed-in state.
pub fn run_http(data: &[u8]) {
    let f = Fixture::get();
    let expanded = expand(data, |n| f.placeholders.get(n).cloned());
    let Some(mut parsed) = parse(&expanded) else { return };
    let sealed: Vec<String> = parsed.seals.iter().map(|(p, plain)| seal_raw(&f.master, *p, plain)).collect();
    if !sealed.is_empty() {
        let lookup =
            |n: &str| n.strip_prefix('S').and_then(|i| i.parse::<usize>().ok()).and_then(|i| sealed.get(i).cloned());
        let r = &mut parsed.request;
        let target = String::from_utf8_lossy(&expand(r.url.as_str().as_bytes(), lookup)).into_owned();
        if let Ok(u) = url::Url::parse(&target) {
            r.url = u;
        }
        for (_, v) in r.headers.iter_mut() {
            *v = String::from_utf8_lossy(&expand(v.as_bytes(), lookup)).into_owned();
        }
        r.body = expand(&r.body, lookup);
    }
    let platform = FuzzPlatform::new(f.kv.clone());
    for (slot, plain) in &parsed.kv {
        if let Some(key) = f.kv_key(slot) {
            let raw = store_raw(&f.master, &f.uk, &key, plain);
            platform.kv.borrow_mut().insert(key, raw);
        }
    }
    platform.queued.borrow_mut().extend(parsed.spotify);
    let (resp, _log) = block_on(app::handle(&platform, &f.env, parsed.request));
    assert!((100..600).contains(&resp.status), "status {}", resp.status);
    if resp.header("content-type") == Some("application/json") {
        assert!(resp.body_json().is_some(), "a JSON answer that is not JSON");
    }
}

/// A tool host with the real catalogue whose tools echo their arguments.
pub struct EchoHost;

impl spotify_mcp_edge::mcp::server::ToolHost for EchoHost {
    fn list(&self, client: spotify_mcp_edge::mcp::model::Client) -> &'static str {
        spotify_mcp_edge::tools::catalogue::list_json(spotify_mcp_edge::core::capability::Capabilities::ALL, client)
    }
    async fn call(
        &self,
        name: &str,
        arguments: &serde_json::Value,
        _client: spotify_mcp_edge::mcp::model::Client,
        _retry: &spotify_mcp_edge::mcp::model::Retry,
    ) -> Result<spotify_mcp_edge::mcp::model::ToolResult, spotify_mcp_edge::mcp::model::RpcError> {
        use spotify_mcp_edge::mcp::model::{RpcError, ToolResult, INVALID_PARAMS};
        match spotify_mcp_edge::tools::capability_of(name) {
            Some(_) => Ok(ToolResult::ok(format!("{name} called"), serde_json::json!({"arguments": arguments}))),
            None => Err(RpcError::new(INVALID_PARAMS, format!("Unknown tool: {name}"))),
        }
    }
    fn resource_templates(&self) -> Vec<serde_json::Value> {
        vec![serde_json::json!({"uriTemplate": "playlists://{id}", "name": "playlist"})]
    }
    async fn list_resources(
        &self,
        cursor: Option<&str>,
        _client: spotify_mcp_edge::mcp::model::Client,
    ) -> Result<(Vec<serde_json::Value>, Option<String>), spotify_mcp_edge::mcp::server::ResourceError> {
        use spotify_mcp_edge::mcp::server::ResourceError;
        match cursor {
            Some("fail") => Err(ResourceError::Failed("Spotify is away".into())),
            Some(c) if c.len() > 16 => Err(ResourceError::NotFound(format!("no page {c}"))),
            _ => Ok((vec![serde_json::json!({"uri": "playlists://p1", "name": "P1"})], Some("next".into()))),
        }
    }
    async fn read_resource(
        &self,
        uri: &str,
    ) -> Result<serde_json::Value, spotify_mcp_edge::mcp::server::ResourceError> {
        use spotify_mcp_edge::mcp::server::ResourceError;
        match uri.strip_prefix("playlists://") {
            Some(id) if !id.is_empty() => Ok(serde_json::json!([{"uri": uri, "text": id}])),
            _ => Err(ResourceError::NotFound(format!("no resource {uri}"))),
        }
    }
}

/// The `mcp` target: the transport checks, the JSON-RPC parser and the dispatch of both
/// protocol eras, over a host that echoes.
pub fn run_mcp(data: &[u8]) {
    use spotify_mcp_edge::mcp::{model, server, transport};
    // Bare JSON (the body alone) or the request format without directives.
    let request = if data.first() == Some(&b'{') || data.first() == Some(&b'[') {
        let mut r = HttpRequest::new("POST", url("/mcp")).with_header("content-type", "application/json");
        r.body = data.to_vec();
        r
    } else {
        match parse(data) {
            Some(p) if p.seals.is_empty() && p.kv.is_empty() && p.spotify.is_empty() => p.request,
            _ => return,
        }
    };
    // The parser alone, with its contract.
    match model::parse(&request.body) {
        Ok(model::Message::Request { id, params, .. }) => {
            assert!(id.is_string() || id.is_number());
            assert!(params.is_object());
        }
        Ok(_) => {}
        Err(e) => assert!(matches!(e.code, model::PARSE_ERROR | model::INVALID_REQUEST)),
    }
    if transport::check_origin(&request, ORIGIN).is_err() || transport::check_post(&request).is_err() {
        return;
    }
    let (id, method, params) = match transport::parse(&request) {
        Ok(m) => m,
        Err(resp) => {
            assert!(resp.status == 202 || resp.body_json().is_some());
            return;
        }
    };
    let reply = block_on(server::handle(&EchoHost, &id, &method, &params, &transport::envelope(&request)));
    // What goes on the wire, the shared tool list spliced in included.
    let wire = reply.json();
    assert_eq!(wire["jsonrpc"], "2.0");
    assert_eq!(wire["id"], id, "the reply answers another id");
    assert!(wire.get("result").is_some() != wire.get("error").is_some(), "result xor error");
    let resp = transport::to_http(reply);
    assert_eq!(resp.body_json().as_ref(), Some(&wire));
}

/// The `sealed` target. Byte 0 picks the purpose, byte 1 the mode and the clock; the rest
/// is either the text handed to `open` (an attacker's) or the plaintext of an authentic
/// sealed value (what a key compromise or a bug of ours could produce).
pub fn run_sealed(data: &[u8]) {
    use spotify_mcp_edge::oauth::flow::{AuthzRequest, CodePayload};
    if data.len() < 2 {
        return;
    }
    let master = Key::from_bytes(MASTER);
    let p = PURPOSES[data[0] as usize % PURPOSES.len()];
    let now = [0, 1, 1_800_000_000, u64::MAX][(data[1] >> 4) as usize % 4];
    let body = &data[2..];
    let text = match data[1] & 3 {
        0 => String::from_utf8_lossy(body).into_owned(),
        1 => seal_raw(&master, p, body),
        // Sealed for another purpose: must never open.
        2 => {
            let other = PURPOSES[(data[0] as usize + 1) % PURPOSES.len()];
            let text = seal_raw(&master, other, body);
            assert!(
                sealed::open::<serde_json::Value>(&ring(&master), p, &text, now).is_err(),
                "opened across purposes"
            );
            return;
        }
        // A round trip of whatever JSON the body is.
        _ => {
            let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else { return };
            let exp = u64::from(data[0]) * 1_000_000_000;
            let s = sealed::seal(&ring(&master), p, &v, exp).expect("seal");
            let back = sealed::open::<serde_json::Value>(&ring(&master), p, &s, now);
            if exp != 0 && now >= exp {
                assert_eq!(back, Err(sealed::SealError::Expired));
            } else if !has_float(&v) {
                assert_eq!(back.as_ref(), Ok(&v), "round trip");
            }
            return;
        }
    };
    let _ = sealed::open::<serde_json::Value>(&ring(&master), p, &text, now);
    let _ = sealed::open::<String>(&ring(&master), p, &text, now);
    let _ = sealed::open::<u64>(&ring(&master), p, &text, now);
    let _ = sealed::open::<CodePayload>(&ring(&master), p, &text, now);
    let _ = sealed::open::<AuthzRequest>(&ring(&master), p, &text, now);
    let _ = sealed::open::<UserKey>(&ring(&master), p, &text, now);
}

fn has_float(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::Number(n) => n.is_f64(),
        serde_json::Value::Array(a) => a.iter().any(has_float),
        serde_json::Value::Object(o) => o.values().any(has_float),
        _ => false,
    }
}

/// The `store` target. Byte 0 picks the slot and whether the value is authentic (encrypted
/// under the right key, so decoding reaches serde) or raw; the rest is the value. Every
/// reader must answer `Ok` or `Err`, never panic.
pub fn run_store(data: &[u8]) {
    let Some((&sel, value)) = data.split_first() else { return };
    let f = Fixture::get();
    let platform = FuzzPlatform::new(BTreeMap::new());
    let keys = ring(&f.master);
    let store = Store::new(&platform, &keys);
    let uk = &f.uk;
    let (token, refresh_hash, jti) = (f.placeholders["TOKEN"].clone(), "rt-hash", "jti-1");
    let key = match sel % 5 {
        0 => Store::<FuzzPlatform>::link_key(uk),
        1 => Store::<FuzzPlatform>::access_key(uk, &token_hash(&token)),
        2 | 4 => Store::<FuzzPlatform>::refresh_key(uk, refresh_hash),
        _ => Store::<FuzzPlatform>::code_key(uk, jti),
    };
    let raw = if sel & 0x80 == 0 {
        store_raw(&f.master, uk, &key, value)
    } else {
        String::from_utf8_lossy(value).into_owned()
    };
    platform.kv.borrow_mut().insert(key, raw);
    match sel % 5 {
        0 => {
            if let Ok(Some(link)) = block_on(store.get_link(uk)) {
                // What the tools do with a link they read.
                let _ = spotify_mcp_edge::core::capability::Capabilities::from_granted(&link.scope);
                let _ = link.app.describe();
            }
        }
        1 => {
            if let Ok(Some(rec)) = block_on(store.get_access(uk, &token)) {
                let _ = spotify_mcp_edge::core::capability::Capabilities::from_granted(&rec.scope);
            }
        }
        2 => drop(block_on(store.get_refresh(uk, refresh_hash))),
        3 => drop(block_on(store.get_code_use(uk, jti))),
        _ => {
            // The listing also meets keys that are not ours.
            platform.kv.borrow_mut().insert(format!("{}x", Store::<FuzzPlatform>::refresh_key(uk, "")), "!".into());
            let _ = block_on(store.list_refresh(uk));
            let _ = block_on(store.delete_user(uk, 1));
            assert!(block_on(store.list_refresh(uk)).map(|l| l.is_empty()).unwrap_or(false));
        }
    }
}
