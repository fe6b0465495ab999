//! A local stand-in for Spotify's accounts service and Web API, so the Worker's whole flow
//! (sign-in, token refresh, Web API calls, error paths) runs offline in tests and in
//! `make dev`. Shapes follow Spotify's; behaviour is driven by per-user state that tests can
//! change (expire or revoke a user's tokens) in-process or over `/__emulator/*`.
#![forbid(unsafe_code)]

mod catalog;
mod library;
mod player;
mod playlists;

use base64::Engine;
use serde_json::{json, Value};
use sha2::Digest;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct Config {
    pub client_id: String,
    pub client_secret: String,
    /// `None`: any http(s) redirect URI is accepted.
    pub redirect_uris: Option<Vec<String>>,
    pub access_token_ttl_secs: u64,
    /// Spotify usually answers a refresh without a new refresh token; `true` rotates it.
    /// Governs the operator's (confidential) app only: public apps always rotate.
    pub rotate_refresh_tokens: bool,
    /// `true`: any client id of exactly 32 hex characters other than `client_id` is taken
    /// for a public app with any http(s) redirect URI, as though registered (for `make dev`,
    /// where a person pastes an invented id). Apps registered explicitly keep their own list.
    pub open_public_apps: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            client_id: "emulator-client-id".into(),
            client_secret: "emulator-client-secret".into(),
            redirect_uris: None,
            access_token_ttl_secs: 3600,
            rotate_refresh_tokens: false,
            open_public_apps: false,
        }
    }
}

/// An injected Web API failure: a status, with `Retry-After` and a `reason` when given.
#[derive(Debug, Clone)]
pub struct Fault {
    pub status: u16,
    pub retry_after: Option<u64>,
    pub reason: Option<String>,
}

/// One `/authorize` or `/api/token` request, as the emulator saw it. Never holds a secret,
/// code, verifier or token: only whether a client secret was presented.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OAuthLogEntry {
    /// `"authorize"` or `"token"`.
    pub endpoint: String,
    /// The client id the request named (from the Basic header at the token endpoint when one
    /// was sent); empty when it named none.
    pub client_id: String,
    /// The token request's `grant_type`; `None` at `/authorize`.
    pub grant_type: Option<String>,
    /// A Basic header or a `client_secret` parameter was present (at either endpoint).
    pub secret_presented: bool,
    /// The `scope` parameter as sent: the requested scopes at `/authorize`, normally `None`
    /// at the token endpoint.
    pub scope: Option<String>,
    /// The user a token grant was issued for; set only for successful token grants.
    pub user: Option<String>,
    /// The `redirect_uri` parameter as sent.
    pub redirect_uri: Option<String>,
}

/// Which redirect URIs a public app may use.
enum Redirects {
    Listed(Vec<String>),
    AnyHttp,
}

struct Code {
    user: String,
    client_id: String,
    redirect_uri: String,
    scope: String,
    challenge: Option<String>,
    expires: Instant,
}

struct Access {
    user: String,
    expires: Instant,
}

struct Refresh {
    user: String,
    scope: String,
    /// The app it was issued to: only that app may use it.
    client_id: String,
    /// Issued to a public app: single use, every refresh rotates it.
    public: bool,
    /// Kept rather than removed so a revoked token gets Spotify's own message for that case.
    revoked: bool,
}

#[derive(Default)]
struct State {
    codes: HashMap<String, Code>,
    access: HashMap<String, Access>,
    refresh: HashMap<String, Refresh>,
    counts: HashMap<String, usize>,
    /// Successful `refresh_token` grants per user.
    refreshes: HashMap<String, usize>,
    /// Public apps registered explicitly: client id → redirect URIs.
    apps: HashMap<String, Vec<String>>,
    oauth_log: Vec<OAuthLogEntry>,
    players: HashMap<String, player::Player>,
    libraries: HashMap<String, library::Library>,
    /// Failures to answer the next Web API calls of a user with, oldest first.
    faults: HashMap<String, std::collections::VecDeque<Fault>>,
    playlists: Option<HashMap<String, playlists::Playlist>>,
    seq: u64,
}

struct Shared {
    config: Config,
    state: Mutex<State>,
}

pub struct Emulator {
    shared: Arc<Shared>,
    server: Arc<tiny_http::Server>,
    threads: Vec<JoinHandle<()>>,
    port: u16,
}

impl Emulator {
    pub fn start(port: u16, config: Config) -> std::io::Result<Emulator> {
        let server = tiny_http::Server::http(("127.0.0.1", port)).map_err(std::io::Error::other)?;
        let port = server.server_addr().to_ip().map(|a| a.port()).unwrap_or(port);
        let server = Arc::new(server);
        let shared = Arc::new(Shared { config, state: Mutex::new(State::default()) });
        let threads = (0..4)
            .map(|_| {
                let (server, shared) = (server.clone(), shared.clone());
                std::thread::spawn(move || {
                    while let Ok(mut req) = server.recv() {
                        let mut body = String::new();
                        let _ = std::io::Read::read_to_string(req.as_reader(), &mut body);
                        let (status, headers, text) = shared.handle(&req, &body);
                        let mut resp = tiny_http::Response::from_string(text).with_status_code(status);
                        // One request per connection: an idle keep-alive connection (browsers
                        // keep several) would otherwise hold one of the few server threads.
                        resp.add_header(tiny_http::Header::from_bytes(&b"Connection"[..], &b"close"[..]).unwrap());
                        for (k, v) in headers {
                            if let Ok(h) = tiny_http::Header::from_bytes(k.as_bytes(), v.as_bytes()) {
                                resp.add_header(h);
                            }
                        }
                        let _ = req.respond(resp);
                    }
                })
            })
            .collect();
        Ok(Emulator { shared, server, threads, port })
    }

    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Every access token of this user answers 401 "The access token expired" from now on.
    pub fn expire_access_tokens(&self, user: &str) {
        self.shared.expire(user);
    }

    /// Refreshing with this user's refresh tokens fails with `invalid_grant` from now on.
    pub fn revoke_refresh_tokens(&self, user: &str) {
        self.shared.revoke(user);
    }

    pub fn request_count(&self, method_and_path: &str) -> usize {
        self.shared.state.lock().unwrap().counts.get(method_and_path).copied().unwrap_or(0)
    }

    /// Requests made on behalf of one user (token grants and Web API calls), so parallel
    /// tests with different users do not see each other's traffic.
    pub fn user_request_count(&self, user: &str, method_and_path: &str) -> usize {
        let key = format!("{user} {method_and_path}");
        self.shared.state.lock().unwrap().counts.get(&key).copied().unwrap_or(0)
    }

    /// The user's next `count` Web API calls fail with `fault` (429s, 5xx, ...).
    pub fn inject_fault(&self, user: &str, fault: Fault, count: usize) {
        let mut st = self.shared.state.lock().unwrap();
        let queue = st.faults.entry(user.to_string()).or_default();
        for _ in 0..count {
            queue.push_back(fault.clone());
        }
    }

    /// Successful `refresh_token` grants for this user, by any app (public or confidential).
    pub fn user_refresh_count(&self, user: &str) -> usize {
        self.shared.state.lock().unwrap().refreshes.get(user).copied().unwrap_or(0)
    }

    /// Clears the request counts, including the per-user refresh counts.
    pub fn reset_counts(&self) {
        let mut st = self.shared.state.lock().unwrap();
        st.counts.clear();
        st.refreshes.clear();
    }

    /// Registers a public app (no secret, PKCE S256, single-use refresh tokens) that may sign
    /// in with these redirect URIs. Registering an id again adds to its redirect URIs.
    pub fn register_app(&self, client_id: &str, redirect_uris: &[&str]) {
        let uris: Vec<String> = redirect_uris.iter().map(|u| u.to_string()).collect();
        self.shared.register_app(client_id, uris);
    }

    /// Every `/authorize` and `/api/token` request so far, oldest first, successful or not.
    pub fn oauth_log(&self) -> Vec<OAuthLogEntry> {
        self.shared.state.lock().unwrap().oauth_log.clone()
    }

    pub fn clear_oauth_log(&self) {
        self.shared.state.lock().unwrap().oauth_log.clear();
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.server.unblock();
        for _ in &self.threads {
            self.server.unblock();
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

pub(crate) type Reply = (u16, Vec<(String, String)>, String);

pub(crate) fn json_reply(status: u16, v: Value) -> Reply {
    (status, vec![("Content-Type".into(), "application/json".into())], v.to_string())
}

pub(crate) fn api_error(status: u16, message: &str) -> Reply {
    json_reply(status, json!({"error": {"status": status, "message": message}}))
}

/// The player's error shape: a `reason` names the case (PREMIUM_REQUIRED, NO_ACTIVE_DEVICE, ...).
pub(crate) fn reason_error(status: u16, message: &str, reason: &str) -> Reply {
    json_reply(status, json!({"error": {"status": status, "message": message, "reason": reason}}))
}

fn oauth_error(status: u16, code: &str, description: &str) -> Reply {
    json_reply(status, json!({"error": code, "error_description": description}))
}

fn html(status: u16, text: &str) -> Reply {
    (status, vec![("Content-Type".into(), "text/html; charset=utf-8".into())], format!("<!doctype html><p>{text}</p>"))
}

fn redirect(location: String) -> Reply {
    (302, vec![("Location".into(), location)], String::new())
}

fn form(text: &str) -> HashMap<String, String> {
    url::form_urlencoded::parse(text.as_bytes()).into_owned().collect()
}

fn is_hex32(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

fn is_http(uri: &str) -> bool {
    uri.starts_with("http://") || uri.starts_with("https://")
}

fn with_params(base: &str, params: &[(&str, &str)]) -> String {
    match url::Url::parse(base) {
        Ok(mut u) => {
            u.query_pairs_mut().extend_pairs(params);
            u.to_string()
        }
        Err(_) => base.to_string(),
    }
}

impl Shared {
    fn token(&self, st: &mut State, prefix: &str) -> String {
        st.seq += 1;
        let nanos =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        let digest = sha2::Sha256::digest(format!("{prefix}{}{nanos}{:p}", st.seq, &st.seq).as_bytes());
        format!("{prefix}{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..24]))
    }

    fn expire(&self, user: &str) {
        let mut st = self.state.lock().unwrap();
        let past = Instant::now().checked_sub(Duration::from_secs(1)).unwrap_or_else(Instant::now);
        st.access.values_mut().filter(|a| a.user == user).for_each(|a| a.expires = past);
    }

    fn register_app(&self, client_id: &str, uris: Vec<String>) {
        let mut st = self.state.lock().unwrap();
        let listed = st.apps.entry(client_id.to_string()).or_default();
        for uri in uris {
            if !listed.contains(&uri) {
                listed.push(uri);
            }
        }
    }

    /// The redirect rule of a public app with this id; `None` when there is no such app (the
    /// operator's confidential app is never a public one).
    fn public_app(&self, id: &str) -> Option<Redirects> {
        if id == self.config.client_id {
            return None;
        }
        match self.state.lock().unwrap().apps.get(id) {
            Some(uris) => Some(Redirects::Listed(uris.clone())),
            None if self.config.open_public_apps && is_hex32(id) => Some(Redirects::AnyHttp),
            None => None,
        }
    }

    fn log(&self, entry: OAuthLogEntry) {
        self.state.lock().unwrap().oauth_log.push(entry);
    }

    fn revoke(&self, user: &str) {
        self.state.lock().unwrap().refresh.values_mut().filter(|r| r.user == user).for_each(|r| r.revoked = true);
    }

    fn handle(&self, req: &tiny_http::Request, body: &str) -> Reply {
        let url = url::Url::parse(&format!("http://emulator{}", req.url()))
            .unwrap_or_else(|_| url::Url::parse("http://emulator/").unwrap());
        let method = req.method().as_str().to_string();
        let path = url.path().to_string();
        *self.state.lock().unwrap().counts.entry(format!("{method} {path}")).or_insert(0) += 1;
        let query: HashMap<String, String> = url.query_pairs().into_owned().collect();
        let header = |name: &str| {
            req.headers()
                .iter()
                .find(|h| h.field.as_str().as_str().eq_ignore_ascii_case(name))
                .map(|h| h.value.as_str().to_string())
        };
        match (method.as_str(), path.as_str()) {
            ("GET", "/authorize") => {
                let reply = self.authorize(&query);
                self.log(OAuthLogEntry {
                    endpoint: "authorize".into(),
                    client_id: query.get("client_id").cloned().unwrap_or_default(),
                    grant_type: None,
                    secret_presented: query.contains_key("client_secret"),
                    scope: query.get("scope").cloned(),
                    user: None,
                    redirect_uri: query.get("redirect_uri").cloned(),
                });
                reply
            }
            ("POST", "/api/token") => self.token_endpoint(&form(body), header("authorization")),
            ("POST", "/__emulator/apps") => {
                let Some(id) = query.get("client_id").filter(|i| !i.is_empty()) else {
                    return api_error(400, "client_id must be supplied");
                };
                let uris: Vec<String> =
                    url.query_pairs().filter(|(k, _)| k == "redirect_uri").map(|(_, v)| v.into_owned()).collect();
                self.register_app(id, uris);
                let listed = self.state.lock().unwrap().apps.get(id).cloned().unwrap_or_default();
                json_reply(200, json!({"ok": true, "client_id": id, "redirect_uris": listed}))
            }
            ("GET", "/__emulator/apps") => json_reply(200, json!(self.state.lock().unwrap().apps)),
            ("GET", "/__emulator/oauth-log") => json_reply(200, json!(self.state.lock().unwrap().oauth_log)),
            ("POST", "/__emulator/clear-oauth-log") => {
                self.state.lock().unwrap().oauth_log.clear();
                json_reply(200, json!({"ok": true}))
            }
            ("POST", "/__emulator/expire") => {
                self.expire(query.get("user").map(String::as_str).unwrap_or(""));
                json_reply(200, json!({"ok": true}))
            }
            ("POST", "/__emulator/revoke") => {
                self.revoke(query.get("user").map(String::as_str).unwrap_or(""));
                json_reply(200, json!({"ok": true}))
            }
            ("POST", "/__emulator/fault") => {
                let fault = Fault {
                    status: query.get("status").and_then(|s| s.parse().ok()).unwrap_or(500),
                    retry_after: query.get("retry_after").and_then(|s| s.parse().ok()),
                    reason: query.get("reason").cloned(),
                };
                let count = query.get("count").and_then(|s| s.parse().ok()).unwrap_or(1);
                let user = query.get("user").cloned().unwrap_or_default();
                let mut st = self.state.lock().unwrap();
                let queue = st.faults.entry(user).or_default();
                for _ in 0..count {
                    queue.push_back(fault.clone());
                }
                json_reply(200, json!({"ok": true}))
            }
            ("GET", "/__emulator/counts") => json_reply(200, json!(self.state.lock().unwrap().counts)),
            ("POST", "/__emulator/reset-counts") => {
                let mut st = self.state.lock().unwrap();
                st.counts.clear();
                st.refreshes.clear();
                json_reply(200, json!({"ok": true}))
            }
            (_, p) if p.starts_with("/v1/") => {
                let token = header("authorization").and_then(|h| h.strip_prefix("Bearer ").map(str::to_string));
                let user = {
                    let st = self.state.lock().unwrap();
                    match token.as_deref().and_then(|t| st.access.get(t)) {
                        None => return api_error(401, "Invalid access token"),
                        Some(a) if a.expires <= Instant::now() => return api_error(401, "The access token expired"),
                        Some(a) => a.user.clone(),
                    }
                };
                let fault = {
                    let mut st = self.state.lock().unwrap();
                    *st.counts.entry(format!("{user} {method} {path}")).or_insert(0) += 1;
                    st.faults.get_mut(&user).and_then(|q| q.pop_front())
                };
                if let Some(f) = fault {
                    let mut error = json!({"status": f.status, "message": format!("injected failure {}", f.status)});
                    if let Some(r) = &f.reason {
                        error["reason"] = json!(r);
                    }
                    let (status, mut headers, body) = json_reply(f.status, json!({"error": error}));
                    if let Some(s) = f.retry_after {
                        headers.push(("Retry-After".into(), s.to_string()));
                    }
                    return (status, headers, body);
                }
                self.web_api(&method, p, &query, &user, body)
            }
            _ => api_error(404, "Service not found"),
        }
    }

    fn authorize(&self, q: &HashMap<String, String>) -> Reply {
        let client_id = q.get("client_id").map(String::as_str).unwrap_or("");
        let public = self.public_app(client_id);
        if public.is_none() && client_id != self.config.client_id {
            return html(400, "INVALID_CLIENT: Invalid client");
        }
        let Some(redirect_uri) = q.get("redirect_uri").filter(|r| is_http(r)) else {
            return html(400, "INVALID_CLIENT: Invalid redirect URI");
        };
        let allowed = match &public {
            Some(Redirects::Listed(uris)) => Some(uris),
            Some(Redirects::AnyHttp) => None,
            None => self.config.redirect_uris.as_ref(),
        };
        if allowed.is_some_and(|uris| !uris.contains(redirect_uri)) {
            return html(400, "INVALID_CLIENT: Invalid redirect URI");
        }
        let state = q.get("state").cloned().unwrap_or_default();
        if q.get("response_type").map(String::as_str) != Some("code") {
            return redirect(with_params(redirect_uri, &[("error", "unsupported_response_type"), ("state", &state)]));
        }
        if public.is_some() {
            let problem = match (q.get("code_challenge"), q.get("code_challenge_method").map(String::as_str)) {
                (None, _) => Some("code_challenge must be supplied"),
                (Some(c), _) if c.is_empty() => Some("code_challenge must be supplied"),
                (Some(_), Some("S256")) => None,
                (Some(_), _) => Some("code_challenge_method must be S256"),
            };
            if let Some(description) = problem {
                return redirect(with_params(
                    redirect_uri,
                    &[("error", "invalid_request"), ("error_description", description), ("state", &state)],
                ));
            }
        }
        if q.get("emulator_deny").map(String::as_str) == Some("1") {
            return redirect(with_params(redirect_uri, &[("error", "access_denied"), ("state", &state)]));
        }
        let user = q.get("emulator_user").cloned().unwrap_or_else(|| "alice".into());
        let mut st = self.state.lock().unwrap();
        let code = self.token(&mut st, "code-");
        st.codes.insert(
            code.clone(),
            Code {
                user,
                client_id: client_id.to_string(),
                redirect_uri: redirect_uri.clone(),
                // `emulator_scope` grants less than asked, as a user unticking scopes would.
                scope: q.get("emulator_scope").or(q.get("scope")).cloned().unwrap_or_default(),
                challenge: q.get("code_challenge").cloned(),
                expires: Instant::now() + Duration::from_secs(600),
            },
        );
        redirect(with_params(redirect_uri, &[("code", &code), ("state", &state)]))
    }

    /// `/api/token`, logged whatever the outcome.
    fn token_endpoint(&self, f: &HashMap<String, String>, auth: Option<String>) -> Reply {
        let basic = auth.as_deref().and_then(|a| a.strip_prefix("Basic ")).map(|b| {
            base64::engine::general_purpose::STANDARD
                .decode(b.trim())
                .ok()
                .and_then(|d| String::from_utf8(d).ok())
                .and_then(|d| d.split_once(':').map(|(i, s)| (i.to_string(), s.to_string())))
        });
        let mut entry = OAuthLogEntry {
            endpoint: "token".into(),
            client_id: match &basic {
                Some(Some((id, _))) => id.clone(),
                _ => f.get("client_id").cloned().unwrap_or_default(),
            },
            grant_type: f.get("grant_type").cloned(),
            secret_presented: basic.is_some() || f.contains_key("client_secret"),
            scope: f.get("scope").cloned(),
            user: None,
            redirect_uri: f.get("redirect_uri").cloned(),
        };
        let (reply, user) = self.grant(f, basic);
        entry.user = user;
        self.log(entry);
        reply
    }

    /// Checks the client and answers the grant: the reply, and the user when tokens were issued.
    fn grant(&self, f: &HashMap<String, String>, basic: Option<Option<(String, String)>>) -> (Reply, Option<String>) {
        let fail = |code: &str, description: &str| (oauth_error(400, code, description), None);
        // A secret (in a Basic header or the form) means the operator's confidential app;
        // a bare client id means a public app.
        let (id, public) = match basic {
            Some(None) => return fail("invalid_client", "Invalid client"),
            Some(Some((id, secret))) => {
                if id != self.config.client_id || secret != self.config.client_secret {
                    return fail("invalid_client", "Invalid client");
                }
                (id, false)
            }
            None => match (f.get("client_id"), f.get("client_secret")) {
                (Some(id), Some(secret)) if *id == self.config.client_id && *secret == self.config.client_secret => {
                    (id.clone(), false)
                }
                (Some(id), None) if self.public_app(id).is_some() => (id.clone(), true),
                _ => return fail("invalid_client", "Invalid client"),
            },
        };
        // One lock for the whole grant: a refresh token is checked and spent atomically, so of
        // concurrent refreshes with one single-use token exactly one succeeds.
        let mut st = self.state.lock().unwrap();
        let (user, scope, new_refresh) = match f.get("grant_type").map(String::as_str) {
            Some("authorization_code") => {
                let Some(code) = f.get("code").and_then(|c| st.codes.remove(c)) else {
                    return fail("invalid_grant", "Invalid authorization code");
                };
                if code.expires <= Instant::now() || code.client_id != id {
                    return fail("invalid_grant", "Invalid authorization code");
                }
                if f.get("redirect_uri") != Some(&code.redirect_uri) {
                    return fail("invalid_grant", "Invalid redirect URI");
                }
                if public || code.challenge.is_some() {
                    let verifier = f.get("code_verifier").map(String::as_str).unwrap_or("");
                    let computed = base64::engine::general_purpose::URL_SAFE_NO_PAD
                        .encode(sha2::Sha256::digest(verifier.as_bytes()));
                    if code.challenge.as_deref() != Some(computed.as_str()) {
                        return fail("invalid_grant", "code_verifier was incorrect");
                    }
                }
                (code.user, code.scope, true)
            }
            Some("refresh_token") => {
                let Some(rt) = f.get("refresh_token") else {
                    return fail("invalid_request", "refresh_token must be supplied");
                };
                let Some(r) = st.refresh.get(rt).filter(|r| r.client_id == id) else {
                    return fail("invalid_grant", "Invalid refresh token");
                };
                if r.revoked {
                    return fail("invalid_grant", "Refresh token revoked");
                }
                let (user, scope) = (r.user.clone(), r.scope.clone());
                let rotate = r.public || self.config.rotate_refresh_tokens;
                if rotate {
                    st.refresh.remove(rt);
                }
                *st.refreshes.entry(user.clone()).or_insert(0) += 1;
                (user, scope, rotate)
            }
            _ => return fail("unsupported_grant_type", "grant_type must be authorization_code or refresh_token"),
        };
        *st.counts.entry(format!("{user} POST /api/token")).or_insert(0) += 1;
        let access = self.token(&mut st, "emu-at-");
        let ttl = self.config.access_token_ttl_secs;
        st.access
            .insert(access.clone(), Access { user: user.clone(), expires: Instant::now() + Duration::from_secs(ttl) });
        let mut out = json!({"access_token": access, "token_type": "Bearer", "scope": scope, "expires_in": ttl});
        if new_refresh {
            let refresh = self.token(&mut st, "emu-rt-");
            st.refresh
                .insert(refresh.clone(), Refresh { user: user.clone(), scope, client_id: id, public, revoked: false });
            out["refresh_token"] = json!(refresh);
        }
        (json_reply(200, out), Some(user))
    }

    fn web_api(&self, method: &str, path: &str, q: &HashMap<String, String>, user: &str, body: &str) -> Reply {
        if library::withheld(method, path) {
            return api_error(403, "This endpoint is not available to apps in Development Mode");
        }
        let mut guard = self.state.lock().unwrap();
        let st = &mut *guard;
        let history = st.players.get(user).map(|p| p.history.clone()).unwrap_or_default();
        if let Some(reply) =
            library::handle(st.libraries.entry(user.to_string()).or_default(), &history, method, path, q)
        {
            return reply;
        }
        if path.starts_with("/v1/me/player") {
            return player::handle(&mut st.players, user, method, path, q, body);
        }
        st.seq += 1;
        let seq = st.seq;
        let all = st.playlists.get_or_insert_with(playlists::seed);
        if let Some(reply) = playlists::handle(all, seq, user, method, path, q, body) {
            return reply;
        }
        drop(guard);
        if method == "GET" {
            if let Some(item) = catalog::get(path) {
                return json_reply(200, item);
            }
            if ["/v1/tracks/", "/v1/albums/", "/v1/artists/", "/v1/shows/", "/v1/episodes/"]
                .iter()
                .any(|p| path.starts_with(p))
            {
                return api_error(404, "Resource not found");
            }
        }
        match (method, path) {
            ("GET", "/v1/me") => {
                let mut chars = user.chars();
                let display =
                    chars.next().map(|c| c.to_uppercase().collect::<String>() + chars.as_str()).unwrap_or_default();
                json_reply(
                    200,
                    json!({
                        "id": user, "display_name": display, "type": "user", "uri": format!("spotify:user:{user}"),
                        "href": format!("https://api.spotify.com/v1/users/{user}"),
                        "external_urls": {"spotify": format!("https://open.spotify.com/user/{user}")}, "images": [],
                    }),
                )
            }
            ("GET", "/v1/search") => search(q),
            _ => api_error(404, "Service not found"),
        }
    }
}

fn search(q: &HashMap<String, String>) -> Reply {
    let Some(query) = q.get("q").filter(|s| !s.trim().is_empty()) else { return api_error(400, "No search query") };
    let limit = match q.get("limit").map(|l| l.parse::<usize>()) {
        None => 5,
        Some(Ok(l)) if (1..=10).contains(&l) => l,
        _ => return api_error(400, "Invalid limit"),
    };
    let offset = match q.get("offset").map(|o| o.parse::<usize>()) {
        None => 0,
        Some(Ok(o)) if o <= 1000 => o,
        _ => return api_error(400, "Invalid offset"),
    };
    let types: Vec<&str> = q.get("type").map(|t| t.split(',').collect()).unwrap_or_default();
    let known = ["track", "album", "artist", "playlist", "show", "episode"];
    if types.is_empty() || types.iter().any(|t| !known.contains(t)) {
        return api_error(400, "Bad search type field");
    }
    let mut out = json!({});
    for t in types {
        let items: Vec<Value> = match t {
            "track" => catalog::search_tracks(query).into_iter().map(catalog::track).collect(),
            "playlist" => Vec::new(),
            other => catalog::search_other(other, query),
        };
        let total = items.len();
        let page: Vec<Value> = items.into_iter().skip(offset).take(limit).collect();
        let href = format!(
            "https://api.spotify.com/v1/search?query={}&type={t}&offset={offset}&limit={limit}",
            url::form_urlencoded::byte_serialize(query.as_bytes()).collect::<String>()
        );
        let next = (offset + limit < total)
            .then(|| href.replace(&format!("offset={offset}"), &format!("offset={}", offset + limit)));
        out[format!("{t}s")] = json!({"href": href, "items": page, "limit": limit, "next": next, "offset": offset, "previous": Value::Null, "total": total});
    }
    json_reply(200, out)
}
