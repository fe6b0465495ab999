//! Starts the real Worker under `wrangler dev` (workerd, local KV) next to the Spotify
//! emulator, on free ports, and drives both over HTTP like a client and a browser would.
#![allow(dead_code)]

use base64::Engine;
use serde_json::{json, Value};
use sha2::Digest;
use spotify_emulator::{Config as EmulatorConfig, Emulator};
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub struct Stack {
    pub emulator: Emulator,
    pub base: String,
    pub persist_dir: PathBuf,
    child: Child,
}

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// One Worker and one emulator for the whole test binary (starting workerd takes seconds).
pub fn stack() -> &'static Stack {
    static STACK: OnceLock<Stack> = OnceLock::new();
    STACK.get_or_init(Stack::start)
}

pub const TEST_KEY: &str = "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=";

/// A second Worker that only lets `allowed-user` sign in (ALLOWED_SPOTIFY_USERS).
pub fn restricted_stack() -> &'static Stack {
    static STACK: OnceLock<Stack> = OnceLock::new();
    STACK.get_or_init(|| Stack::start_with(&["ALLOWED_SPOTIFY_USERS: allowed-user , other-allowed"]))
}

impl Stack {
    pub fn start() -> Stack {
        Stack::start_with(&[])
    }

    pub fn start_with(extra_vars: &[&str]) -> Stack {
        Stack::start_custom(true, extra_vars)
    }

    /// `operator_app: false`: no SPOTIFY_CLIENT_ID/SECRET, everyone brings their own app.
    /// `extra_vars` (`NAME:value`) add variables or replace the defaults of the same name.
    pub fn start_custom(operator_app: bool, extra_vars: &[&str]) -> Stack {
        Stack::start_full(None, operator_app, extra_vars)
    }

    /// `config`: a wrangler configuration other than the project's (relative to the root),
    /// for bindings `--var` cannot change (the fair-use limits).
    pub fn start_full(config: Option<&str>, operator_app: bool, extra_vars: &[&str]) -> Stack {
        let emulator = Emulator::start(0, EmulatorConfig::default()).expect("emulator starts");
        let port = free_port();
        let persist_dir = std::env::temp_dir().join(format!("spotify-mcp-e2e-{}-{port}", std::process::id()));
        Stack::launch(config, emulator, persist_dir, port, operator_app, extra_vars)
    }

    /// A redeploy with other variables: stops this Worker and starts another at the same
    /// address (our tokens are bound to the MCP URL), on the same local KV (`--persist-to`)
    /// and the same emulator, with the operator app. `extra_vars` as in `start_custom`.
    pub fn restart_with(mut self, extra_vars: &[&str]) -> Stack {
        self.stop();
        let port = self.base.rsplit(':').next().and_then(|p| p.parse().ok()).expect("a port in the base URL");
        let Stack { emulator, persist_dir, .. } = self;
        Stack::launch(None, emulator, persist_dir, port, true, extra_vars)
    }

    /// Ends wrangler and workerd (their own process group), and waits for them.
    pub fn stop(&mut self) {
        // `--`: procps' kill takes a bare `-<pgid>` for an option and signals nothing.
        let _ = Command::new("kill").args(["-TERM", "--", &format!("-{}", self.child.id())]).status();
        let _ = self.child.wait();
    }

    fn launch(
        config: Option<&str>,
        emulator: Emulator,
        persist_dir: PathBuf,
        port: u16,
        operator_app: bool,
        extra_vars: &[&str],
    ) -> Stack {
        use std::os::unix::process::CommandExt;
        let root = root();
        let wrangler = root.join("node_modules/.bin/wrangler");
        assert!(wrangler.exists(), "wrangler is not installed: run `make setup` (or `make test`) first");
        assert!(
            root.join("build/worker/shim.mjs").exists(),
            "the Worker is not built: run `make test`, which builds it before the tests"
        );
        let inspector = free_port();
        let emu = emulator.base_url();
        let operator = [
            format!("SPOTIFY_CLIENT_ID:{}", EmulatorConfig::default().client_id),
            format!("SPOTIFY_CLIENT_SECRET:{}", EmulatorConfig::default().client_secret),
        ];
        let name = |v: &str| v.split(':').next().unwrap_or_default().trim().to_string();
        let replaced: Vec<String> = extra_vars.iter().map(|v| name(v)).collect();
        let vars = operator
            .into_iter()
            .filter(|_| operator_app)
            .chain([format!("TOKEN_ENCRYPTION_KEY:{TEST_KEY}")])
            .chain([format!("SPOTIFY_ACCOUNTS_BASE_URL:{emu}"), format!("SPOTIFY_API_BASE_URL:{emu}")])
            .filter(|v| !replaced.contains(&name(v)))
            .chain(extra_vars.iter().map(|v| v.to_string()))
            .collect::<Vec<_>>();
        // A watcher shell ends wrangler when this test process ends (statics are never dropped).
        // `--env-file /dev/null`: every variable comes from here; a developer's .dev.vars
        // (`make dev`'s, or LOCAL_BENCHMARK for ../shared/perf) must not leak into a test.
        let mut cmd = format!(
            "'{}' dev --ip 127.0.0.1 --port {port} --inspector-port {inspector} --persist-to '{}' --log-level warn --env-file /dev/null",
            wrangler.display(),
            persist_dir.display()
        );
        if let Some(c) = config {
            cmd.push_str(&format!(" --config '{}'", root.join(c).display()));
        }
        for v in &vars {
            cmd.push_str(&format!(" --var '{v}'"));
        }
        let script = format!(
            "{cmd} & w=$!; while kill -0 {parent} 2>/dev/null && kill -0 $w 2>/dev/null; do sleep 0.5; done; kill $w 2>/dev/null; wait $w",
            parent = std::process::id()
        );
        let mut child = Command::new("bash")
            .arg("-c")
            .arg(script)
            .current_dir(&root)
            .env("SPOTIFY_MCP_SKIP_BUILD", "1")
            .env("WRANGLER_SEND_METRICS", "false")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .expect("wrangler dev starts");
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if !line.contains("ENOTFOUND") {
                    eprintln!("[wrangler] {line}");
                }
            }
        });
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || for _ in BufReader::new(stdout).lines().map_while(Result::ok) {});
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            if let Ok(r) = agent().get(&format!("{base}/health")).call() {
                if r.status() == 200 {
                    break;
                }
            }
            assert!(Instant::now() < deadline, "wrangler dev did not answer /health within 90 s");
            std::thread::sleep(Duration::from_millis(300));
        }
        Stack { emulator, base, persist_dir, child }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

pub fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new().redirects(0).timeout(Duration::from_secs(30)).build()
}

/// A response of any status, as (status, headers, body).
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
    pub fn headers_all(&self, name: &str) -> Vec<&str> {
        self.headers.iter().filter(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str()).collect()
    }
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|_| panic!("not JSON (HTTP {}): {}", self.status, self.body))
    }
    /// `name=value` of a Set-Cookie header.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.headers_all("set-cookie")
            .into_iter()
            .filter_map(|c| c.split(';').next())
            .find(|kv| kv.starts_with(&format!("{name}=")))
            .map(str::to_string)
    }
}

fn finish(result: Result<ureq::Response, ureq::Error>) -> Resp {
    let r = match result {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("transport error: {e}"),
    };
    let status = r.status();
    let mut headers = Vec::new();
    for n in r.headers_names() {
        for v in r.all(&n) {
            headers.push((n.clone(), v.to_string()));
        }
    }
    Resp { status, headers, body: r.into_string().unwrap_or_default() }
}

pub fn get(url: &str, headers: &[(&str, &str)]) -> Resp {
    let mut req = agent().get(url);
    for (k, v) in headers {
        req = req.set(k, v);
    }
    finish(req.call())
}

/// wrangler dev's local proxy answers this (not the Worker) when it reloaded the Worker
/// while a request was in flight; it never retries a POST itself.
const PROXY_RESTARTED: &str = "Your worker restarted mid-request";

pub fn post(url: &str, headers: &[(&str, &str)], body: &str) -> Resp {
    let send = || {
        let mut req = agent().post(url);
        for (k, v) in headers {
            req = req.set(k, v);
        }
        finish(req.send_string(body))
    };
    let first = send();
    if first.status == 503 && first.body.contains(PROXY_RESTARTED) {
        // Said out loud: a retry here must stay visible in the test output.
        eprintln!("support: wrangler's proxy restarted the Worker mid-request; POST {url} sent once more");
        return send();
    }
    first
}

pub fn post_form(url: &str, headers: &[(&str, &str)], form: &[(&str, &str)]) -> Resp {
    let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish();
    let mut h = headers.to_vec();
    h.push(("content-type", "application/x-www-form-urlencoded"));
    post(url, &h, &body)
}

pub fn pkce() -> (String, String) {
    let verifier = format!("v{}", rand_hex(30));
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

pub fn rand_hex(n: usize) -> String {
    use std::collections::hash_map::RandomState;
    use std::hash::{BuildHasher, Hasher};
    let mut out = String::new();
    while out.len() < n {
        let mut h = RandomState::new().build_hasher();
        h.write_usize(out.len());
        out.push_str(&format!("{:016x}", h.finish()));
    }
    out.truncate(n);
    out
}

pub fn query_param(url: &str, name: &str) -> Option<String> {
    url::Url::parse(url).ok()?.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

/// The value of a hidden form field in our consent page.
pub fn form_field(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap_or_else(|| panic!("no field {name} in page")) + marker.len();
    let end = html[start..].find('"').unwrap() + start;
    html[start..end]
        .replace("&amp;", "&")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
}

pub struct Client {
    pub client_id: String,
    pub redirect_uri: String,
}

pub fn register(stack: &Stack, name: &str) -> Client {
    let redirect_uri = "http://127.0.0.1:9/callback".to_string();
    let r = post(
        &stack.url("/register"),
        &[("content-type", "application/json")],
        &json!({"client_name": name, "redirect_uris": [redirect_uri], "token_endpoint_auth_method": "none",
                "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"]})
        .to_string(),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    Client { client_id: r.json()["client_id"].as_str().unwrap().to_string(), redirect_uri }
}

pub struct Tokens {
    pub access: String,
    pub refresh: String,
}

/// What the browser part of the flow returns: the redirect to the client, and the cookies.
pub struct BrowserResult {
    pub location: String,
}

/// Walks the browser part: our consent page, approval, the emulator's sign-in as `user`,
/// our callback. Returns where the client's redirect URI was sent.
pub fn browser_flow(stack: &Stack, client: &Client, user: &str, state: &str, challenge: &str) -> BrowserResult {
    browser_flow_with(stack, client, user, state, challenge, "")
}

/// `emulator_extra`: more query for the emulator's sign-in, e.g. `&emulator_scope=...`.
pub fn browser_flow_with(
    stack: &Stack,
    client: &Client,
    user: &str,
    state: &str,
    challenge: &str,
    emulator_extra: &str,
) -> BrowserResult {
    let mut url =
        url::Url::parse(&authorize_url(stack, &client.client_id, &client.redirect_uri, Some(state), challenge))
            .unwrap();
    url.query_pairs_mut().append_pair("resource", &stack.url("/mcp"));
    let consent = get(url.as_str(), &[]);
    assert_eq!(consent.status, 200, "{}", consent.body);
    let approve = decide(stack, &consent, "approve");
    spotify_and_back(stack, &approve, user, emulator_extra)
}

/// From an approved consent: the emulator's sign-in as `user`, then our callback, as many
/// rounds as the callback asks for (a second one widens to the scopes of an existing link).
pub fn spotify_and_back(stack: &Stack, approve: &Resp, user: &str, emulator_extra: &str) -> BrowserResult {
    assert_eq!(approve.status, 302, "{}", approve.body);
    let bind_cookie = approve.cookie("__Host-mcp_bind").expect("bind cookie");
    let mut to_spotify = approve.header("location").unwrap().to_string();
    for _ in 0..2 {
        assert!(to_spotify.starts_with(&stack.emulator.base_url()), "{to_spotify}");
        let signed_in = get(&format!("{to_spotify}&emulator_user={user}{emulator_extra}"), &[]);
        assert_eq!(signed_in.status, 302, "{}", signed_in.body);
        let callback = signed_in.header("location").unwrap().to_string();
        let back = get(&callback, &[("cookie", &bind_cookie)]);
        assert_eq!(back.status, 302, "{}", back.body);
        let location = back.header("location").unwrap().to_string();
        if !location.starts_with(&stack.emulator.base_url()) {
            return BrowserResult { location };
        }
        to_spotify = location;
    }
    panic!("more than two rounds through Spotify")
}

/// Our `/authorize` URL for a client with a PKCE challenge (and `state` when given).
pub fn authorize_url(
    stack: &Stack,
    client_id: &str,
    redirect_uri: &str,
    state: Option<&str>,
    challenge: &str,
) -> String {
    let mut url = url::Url::parse(&stack.url("/authorize")).unwrap();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("code_challenge", challenge)
        .append_pair("code_challenge_method", "S256");
    if let Some(st) = state {
        url.query_pairs_mut().append_pair("state", st);
    }
    url.to_string()
}

/// Submits the consent form of `page` (approve or deny) as a browser would with the boxes
/// left as they are, with the page's CSRF cookie.
pub fn decide(stack: &Stack, page: &Resp, decision: &str) -> Resp {
    let checked: Vec<String> = ["playback", "library", "playlists"]
        .into_iter()
        .filter(|c| page.body.contains(&format!("name=\"capability\" value=\"{c}\" checked")))
        .map(str::to_string)
        .collect();
    let fields: Vec<(&str, &str)> = checked.iter().map(|c| ("capability", c.as_str())).collect();
    decide_with(stack, page, decision, &fields)
}

/// The consent page refuses an approval within a second of appearing (double-clickjacking):
/// wait as a person reading it would.
pub fn consent_dwell() {
    std::thread::sleep(Duration::from_millis(1050));
}

/// The consent form with exactly these extra fields (capabilities, the app choice).
pub fn decide_with(stack: &Stack, page: &Resp, decision: &str, extra: &[(&str, &str)]) -> Resp {
    if decision == "approve" {
        consent_dwell();
    }
    let cookie = page.cookie("__Host-mcp_csrf").expect("csrf cookie");
    let (request, csrf) = (form_field(&page.body, "request"), form_field(&page.body, "csrf"));
    let mut fields: Vec<(&str, &str)> = vec![("request", &request), ("csrf", &csrf), ("decision", decision)];
    fields.extend_from_slice(extra);
    post_form(&stack.url("/authorize"), &[("cookie", &cookie)], &fields)
}

pub fn exchange(stack: &Stack, client: &Client, code: &str, verifier: &str) -> Resp {
    post_form(
        &stack.url("/token"),
        &[],
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", &client.redirect_uri),
            ("code_verifier", verifier),
            ("client_id", &client.client_id),
            ("resource", &stack.url("/mcp")),
        ],
    )
}

/// The whole dance with choices on the consent page: `caps` checked, and the person's own
/// app when `own_app` is given. Returns the client and the token response.
pub fn sign_in_choosing(stack: &Stack, user: &str, caps: &[&str], own_app: Option<&str>) -> (Client, Value) {
    let client = register(stack, &format!("e2e client for {user}"));
    let (verifier, challenge) = pkce();
    let url = authorize_url(stack, &client.client_id, &client.redirect_uri, Some("st-9"), &challenge);
    let consent = get(&url, &[]);
    assert_eq!(consent.status, 200, "{}", consent.body);
    let mut fields: Vec<(&str, &str)> = caps.iter().map(|c| ("capability", *c)).collect();
    if let Some(id) = own_app {
        fields.extend([("spotify_app", "own"), ("spotify_client_id", id)]);
    }
    let approve = decide_with(stack, &consent, "approve", &fields);
    let result = spotify_and_back(stack, &approve, user, "");
    let code = query_param(&result.location, "code").unwrap_or_else(|| panic!("no code: {}", result.location));
    let t = exchange(stack, &client, &code, &verifier);
    assert_eq!(t.status, 200, "{}", t.body);
    (client, t.json())
}

/// The whole dance for one user: register, consent, Spotify sign-in, token.
pub fn sign_in(stack: &Stack, user: &str) -> (Client, Tokens) {
    sign_in_with(stack, user, "")
}

pub fn sign_in_with(stack: &Stack, user: &str, emulator_extra: &str) -> (Client, Tokens) {
    let client = register(stack, &format!("e2e client for {user}"));
    let (verifier, challenge) = pkce();
    let result = browser_flow_with(stack, &client, user, "st-123", &challenge, emulator_extra);
    assert!(result.location.starts_with(&client.redirect_uri), "{}", result.location);
    assert_eq!(query_param(&result.location, "state").as_deref(), Some("st-123"));
    assert_eq!(query_param(&result.location, "iss").as_deref(), Some(stack.base.as_str()));
    let code = query_param(&result.location, "code").expect("code");
    let t = exchange(stack, &client, &code, &verifier);
    assert_eq!(t.status, 200, "{}", t.body);
    let j = t.json();
    let tokens = Tokens {
        access: j["access_token"].as_str().unwrap().into(),
        refresh: j["refresh_token"].as_str().unwrap().into(),
    };
    (client, tokens)
}

/// One MCP request in the 2025 style (legacy header), returning (status, body).
pub fn mcp_legacy(stack: &Stack, token: &str, method: &str, params: Value) -> Resp {
    let auth = format!("Bearer {token}");
    post(
        &stack.url("/mcp"),
        &[
            ("authorization", &auth),
            ("content-type", "application/json"),
            ("accept", "application/json, text/event-stream"),
            ("mcp-protocol-version", "2025-11-25"),
        ],
        &json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).to_string(),
    )
}

/// One MCP request in the 2026-07-28 style (`_meta` and the matching headers).
pub fn mcp_modern(stack: &Stack, token: &str, method: &str, params: Value) -> Resp {
    mcp_modern_with(stack, token, method, params, json!({}))
}

/// A 2026-07-28 request whose client declares `caps`.
pub fn mcp_modern_with(stack: &Stack, token: &str, method: &str, mut params: Value, caps: Value) -> Resp {
    params["_meta"] = json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": caps});
    let auth = format!("Bearer {token}");
    // Mcp-Name carries params.name (tools/call, prompts/get) or params.uri (resources/read).
    let name = params.get("name").or_else(|| params.get("uri")).and_then(Value::as_str).map(str::to_string);
    let mut headers = vec![
        ("authorization", auth.as_str()),
        ("content-type", "application/json"),
        ("accept", "application/json, text/event-stream"),
        ("mcp-protocol-version", "2026-07-28"),
        ("mcp-method", method),
    ];
    if let Some(n) = &name {
        headers.push(("mcp-name", n.as_str()));
    }
    post(
        &stack.url("/mcp"),
        &headers,
        &json!({"jsonrpc": "2.0", "id": 2, "method": method, "params": params}).to_string(),
    )
}

/// Runs a headless-Chromium script of tests/browser with `args`; fails the test with its
/// output unless it succeeds, else returns its last line (the summary).
pub fn run_browser_script(script: &str, args: &[&str]) -> String {
    let out = Command::new("node").arg(script).args(args).current_dir(root()).output().expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{script} failed (is Debian's chromium installed? `make setup`):\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout.lines().last().unwrap_or("").to_string()
}

pub fn call_tool(stack: &Stack, token: &str, name: &str, args: Value) -> Value {
    let r = mcp_legacy(stack, token, "tools/call", json!({"name": name, "arguments": args}));
    assert_eq!(r.status, 200, "{}", r.body);
    let result = r.json()["result"].clone();
    // Every tool result the tests see matches the tool's outputSchema.
    spotify_mcp_edge::tools::catalogue::check_result(name, &result).unwrap();
    result
}

/// Serves `body` (JSON) at every path on a loopback port, for client metadata documents.
/// Returns the base URL. The thread lives as long as the test process.
pub fn serve_json(make_body: impl Fn(&str) -> String + Send + 'static) -> String {
    use std::io::{Read, Write};
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let own = base.clone();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().map_while(Result::ok) {
            let mut buf = [0u8; 4096];
            let n = stream.read(&mut buf).unwrap_or(0);
            let request = String::from_utf8_lossy(&buf[..n]);
            let path = request.split_whitespace().nth(1).unwrap_or("/").to_string();
            let body = make_body(&format!("{own}{path}"));
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    base
}
