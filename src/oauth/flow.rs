//! The browser part of the flow: `/authorize` (validate, then our consent page), the
//! consent decision, and `/callback` (Spotify's redirect back to us). Also the re-link
//! flow behind the `get_auth_url` and `authenticate` tools.
//!
//! Confused-deputy defence: one Spotify client id serves every MCP client, so Spotify's
//! own "you already approved this app" would silently hand a new MCP client a person's
//! account. Our consent page runs first, its form is CSRF-bound (double submit), and the
//! approval is bound to the browser by a cookie the callback must present.
//!
//! On the consent page a person also picks what the client may do (capabilities, our
//! scopes) and which Spotify app signs them in: the operator's, or their own public PKCE
//! app. Spotify is asked only for the scopes the chosen capabilities need, plus those the
//! person's existing link holds, so a narrower second client never takes scopes away.

use crate::context::Ctx;
use crate::core::capability::Capabilities;
use crate::core::crypto::{b64url, ct_eq, pkce_s256, random_token, sha256};
use crate::core::http::{HttpRequest, HttpResponse};
use crate::core::platform::Platform;
use crate::core::record::{self, json_record, Json};
use crate::core::sealed::{self, Purpose, SealError};
use crate::core::secret::{PkceVerifier, SpotifyUserId, UserKey};
use crate::core::spotify_app::{SpotifyApp, SpotifyClientId};
use crate::core::store::{DayCount, SpotifyLink};
use crate::oauth::clients::{self, is_loopback_host};
use crate::oauth::{with_params, CODE_TTL, FLOW_TTL};
use crate::pages::{self, AppChoice};
use crate::spotify::api::AppProblem;
use crate::spotify::SpotifyError;
use serde_json::Value;

const CSRF_COOKIE: &str = "__Host-mcp_csrf";
pub(crate) const BIND_COOKIE: &str = "__Host-mcp_bind";

/// A validated authorization request, carried sealed through the consent form.
#[derive(Debug, Clone)]
pub struct AuthzRequest {
    pub client_id: String,
    pub client_name: String,
    pub redirect_uri: String,
    pub state: Option<String>,
    pub code_challenge: String,
    /// The capabilities the client asked for: preselected on the consent page.
    pub scope: String,
    pub resource: String,
    /// The double-submit token this request's form was rendered with.
    pub csrf: String,
    /// The domain of a client metadata document, shown as the client's publisher.
    pub cimd_domain: Option<String>,
    /// When the consent page with this request was shown (ms): see [`CONSENT_MIN_DWELL_MS`].
    pub shown_at_ms: u64,
}

json_record!(AuthzRequest {
    client_id,
    client_name,
    redirect_uri,
    state,
    code_challenge,
    scope,
    resource,
    csrf,
    cimd_domain,
    shown_at_ms: default,
});

pub use crate::core::config::CONSENT_MIN_DWELL_MS;

#[derive(Clone)]
enum Flow {
    /// An MCP client's authorization; `bind` is the hash of the browser-binding cookie,
    /// `caps` the capabilities the person granted (a scope string).
    Mcp { req: Box<AuthzRequest>, bind: String, caps: String },
    /// Re-linking Spotify for an already signed-in user.
    Relink { uk: UserKey },
    /// Signing in to the "your connection" pages (identification only); `bind` as for `Mcp`.
    Account { bind: String },
}

/// Externally tagged, as serde wrote it: `{"Mcp": {"req": …, "bind": …, "caps": …}}`,
/// `{"Relink": {"uk": …}}`, `{"Account": {"bind": …}}`.
impl Json for Flow {
    fn to_json(&self) -> Value {
        let mut o = serde_json::Map::new();
        let tag = match self {
            Flow::Mcp { req, bind, caps } => {
                record::put(&mut o, "req", req);
                record::put(&mut o, "bind", bind);
                record::put(&mut o, "caps", caps);
                "Mcp"
            }
            Flow::Relink { uk } => {
                record::put(&mut o, "uk", uk);
                "Relink"
            }
            Flow::Account { bind } => {
                record::put(&mut o, "bind", bind);
                "Account"
            }
        };
        record::tagged(tag, Value::Object(o))
    }
    fn from_json(v: &Value) -> Option<Self> {
        let (tag, content) = record::untag(v)?;
        let o = content.as_object()?;
        match tag {
            "Mcp" => Some(Flow::Mcp {
                req: record::field(o, "req")?,
                bind: record::field(o, "bind")?,
                caps: record::field(o, "caps")?,
            }),
            "Relink" => Some(Flow::Relink { uk: record::field(o, "uk")? }),
            "Account" => Some(Flow::Account { bind: record::field(o, "bind")? }),
            _ => None,
        }
    }
}

/// Our `state` towards Spotify, sealed: the PKCE verifier, the app and the scopes asked for.
struct SpotifyState {
    verifier: String,
    flow: Flow,
    app: SpotifyApp,
    /// The Spotify scopes this sign-in asks for.
    scope: String,
    /// Set on the second round that widened the scopes to the existing link's.
    widened: bool,
}

json_record!(SpotifyState { verifier, flow, app, scope, widened });

/// A re-link link's payload: whom it re-links, and Spotify scopes to add to theirs.
struct RelinkToken {
    uk: UserKey,
    add: Vec<String>,
}

json_record!(RelinkToken { uk, add });

/// Our authorization code, sealed: redeemable anywhere, single-use through a KV marker.
#[derive(Debug)]
pub struct CodePayload {
    pub uk: UserKey,
    pub client_id: String,
    pub redirect_uri: String,
    pub code_challenge: String,
    pub scope: String,
    pub resource: String,
    pub jti: String,
    pub client_name: String,
    /// The user's epoch when the link was made: the tokens carry it.
    pub epoch: u64,
}

json_record!(CodePayload {
    uk,
    client_id,
    redirect_uri,
    code_challenge,
    scope,
    resource,
    jti,
    client_name,
    epoch: default
});

pub(crate) fn cookie(name: &str, value: &str, max_age: u64, same_site: &str) -> String {
    format!("{name}={value}; Path=/; Secure; HttpOnly; SameSite={same_site}; Max-Age={max_age}")
}

fn server_problem() -> HttpResponse {
    pages::problem(500, "Something went wrong", "The server could not complete this step.", "Try again in a moment.")
}

/// Seals `state` and builds the Spotify authorize URL for it.
fn spotify_url<P: Platform>(ctx: &Ctx<'_, P>, state: &SpotifyState) -> Option<String> {
    let sealed = sealed::seal(&ctx.config.master_key, Purpose::SpotifyState, state, ctx.now() + FLOW_TTL).ok()?;
    ctx.spotify()
        .authorize_url(&state.app, &ctx.spotify_redirect_uri(), &sealed, &pkce_s256(&state.verifier), &state.scope)
        .ok()
}

/// Space-separated union of Spotify scope strings, first-seen order, no duplicates.
fn scope_union(parts: &[&str]) -> String {
    let mut out: Vec<&str> = Vec::new();
    for s in parts.iter().flat_map(|p| p.split_whitespace()) {
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out.join(" ")
}

/// `GET /authorize`.
pub async fn authorize<P: Platform>(ctx: &Ctx<'_, P>, req: &HttpRequest) -> HttpResponse {
    let q = req.query();
    let Some(client_id) = q.get("client_id").filter(|c| !c.is_empty()) else {
        return pages::problem(
            400,
            "Missing client",
            "The app did not say who it is (no client_id).",
            "Start the connection again from your app.",
        );
    };
    let client = match clients::resolve(ctx, client_id).await {
        Ok(c) => c,
        Err(e) => {
            return pages::problem(400, "Unknown app", &e.0, "Remove this server from your app and add it again.")
        }
    };
    let redirect_uri = match q.get("redirect_uri") {
        Some(r) => r.clone(),
        None if client.redirect_uris.len() == 1 => client.redirect_uris[0].clone(),
        None => {
            return pages::problem(
                400,
                "Missing redirect URI",
                "The app did not say where to return (no redirect_uri).",
                "Start the connection again from your app.",
            )
        }
    };
    if !clients::redirect_matches(&client.redirect_uris, &redirect_uri) {
        return pages::problem(
            400,
            "Redirect URI not registered",
            "The app asked to be sent back to an address it did not register, so this request was stopped.",
            "Remove this server from your app and add it again.",
        );
    }
    // Errors before the person has approved are shown here, never redirected: a registered
    // redirect URI proves nothing about the client, and redirecting a browser there without
    // any interaction would make this server an open redirector.
    let state = q.get("state").cloned();
    let back = |code: &str, desc: &str| {
        pages::problem(
            400,
            "The app's request is not valid",
            &format!("The app sent a request this server cannot accept ({code}: {desc})."),
            "Tell the app's developer, or remove this server from your app and add it again.",
        )
    };
    if let Some(p) = req.repeated_query_param() {
        return back("invalid_request", &format!("parameter {p} is repeated"));
    }
    if q.get("response_type").map(String::as_str) != Some("code") {
        return back("unsupported_response_type", "only response_type=code is supported");
    }
    let Some(challenge) = q.get("code_challenge").filter(|c| (43..=128).contains(&c.len())) else {
        return back("invalid_request", "PKCE is required: send code_challenge with code_challenge_method=S256");
    };
    if q.get("code_challenge_method").map(String::as_str) != Some("S256") {
        return back("invalid_request", "code_challenge_method must be S256");
    }
    let resource = match q.get("resource") {
        None => ctx.mcp_url(),
        Some(r) if resource_matches(ctx, r) => ctx.mcp_url(),
        Some(_) => return back("invalid_target", "resource must be this server's MCP URL"),
    };
    let scope = match q.get("scope").map(|s| s.trim()).filter(|s| !s.is_empty()) {
        None => Capabilities::ALL.scope(),
        Some(s) => match Capabilities::parse_scope(s) {
            Ok(c) => c.scope(),
            Err(word) => {
                return back(
                    "invalid_scope",
                    &format!("unknown scope {word:?}: the scopes are playback, library and playlists"),
                )
            }
        },
    };
    let Ok(csrf) = random_token() else { return server_problem() };
    let request = AuthzRequest {
        client_id: client.id.clone(),
        client_name: client.name.clone(),
        redirect_uri: redirect_uri.clone(),
        state,
        code_challenge: challenge.clone(),
        scope,
        resource,
        csrf: csrf.clone(),
        cimd_domain: client.metadata_domain.clone(),
        shown_at_ms: ctx.platform.now_ms(),
    };
    let Ok(sealed) = sealed::seal(&ctx.config.master_key, Purpose::Consent, &request, ctx.now() + FLOW_TTL) else {
        return server_problem();
    };
    render_consent(ctx, &request, &sealed, &csrf, None, None)
        .with_header("set-cookie", cookie(CSRF_COOKIE, &csrf, FLOW_TTL, "Strict"))
}

/// What the person entered, shown again with `error` when it needs fixing.
struct Entered {
    caps: Capabilities,
    own_app: bool,
    client_id: String,
}

fn render_consent<P: Platform>(
    ctx: &Ctx<'_, P>,
    request: &AuthzRequest,
    sealed: &str,
    csrf: &str,
    entered: Option<&Entered>,
    error: Option<&str>,
) -> HttpResponse {
    let ru = url::Url::parse(&request.redirect_uri).ok();
    let redirect_host =
        ru.as_ref().and_then(|u| u.host_str().map(str::to_string)).unwrap_or_else(|| request.redirect_uri.clone());
    let redirect_origin = match &ru {
        Some(u) if matches!(u.scheme(), "http" | "https") => u.origin().ascii_serialization(),
        Some(u) => format!("{}:", u.scheme()),
        None => String::new(),
    };
    let app_choice = match (ctx.config.operator_app.is_some(), ctx.config.user_apps) {
        (true, false) => AppChoice::OperatorOnly,
        (false, _) => AppChoice::OwnRequired,
        (true, true) => AppChoice::Either,
    };
    let preselected = Capabilities::from_granted(&request.scope);
    pages::consent(&pages::ConsentView {
        client_name: &request.client_name,
        redirect_host: &redirect_host,
        redirect_is_loopback: ru.as_ref().map(is_loopback_host).unwrap_or(false),
        cimd_domain: request.cimd_domain.as_deref(),
        sealed_request: sealed,
        csrf,
        spotify_origin: origin_of(&ctx.config.accounts_base),
        redirect_origin,
        capabilities: entered.map(|e| e.caps).unwrap_or(preselected),
        app_choice,
        own_app_chosen: entered.is_some_and(|e| e.own_app),
        client_id: entered.map(|e| e.client_id.as_str()).unwrap_or(""),
        spotify_redirect_uri: &ctx.spotify_redirect_uri(),
        error,
    })
}

fn origin_of(url: &str) -> String {
    url::Url::parse(url).map(|u| u.origin().ascii_serialization()).unwrap_or_default()
}

/// RFC 8707: the resource must be this server's MCP endpoint (a trailing slash tolerated).
pub fn resource_matches<P: Platform>(ctx: &Ctx<'_, P>, resource: &str) -> bool {
    let mcp = ctx.mcp_url();
    !resource.contains('#') && (resource == mcp || resource.trim_end_matches('/') == mcp)
}

/// `POST /authorize`: the consent decision.
pub async fn decide<P: Platform>(ctx: &Ctx<'_, P>, req: &HttpRequest) -> HttpResponse {
    let form = req.form();
    let expired = || {
        pages::problem(
            400,
            "This page expired",
            "The approval page is older than 10 minutes or was already used.",
            "Start the connection again from your app.",
        )
    };
    let request: AuthzRequest =
        match form.get("request").map(|s| sealed::open(&ctx.config.master_key, Purpose::Consent, s, ctx.now())) {
            Some(Ok(r)) => r,
            Some(Err(SealError::Expired)) => return expired(),
            _ => {
                return pages::problem(
                    400,
                    "Invalid approval",
                    "This approval form was not issued by this server.",
                    "Start the connection again from your app.",
                )
            }
        };
    let form_token = form.get("csrf").map(String::as_str).unwrap_or("");
    let cookie_token = req.cookie(CSRF_COOKIE).unwrap_or_default();
    if !(ct_eq(form_token.as_bytes(), cookie_token.as_bytes()) && ct_eq(form_token.as_bytes(), request.csrf.as_bytes()))
    {
        return pages::problem(
            403,
            "Approval not accepted",
            "This approval did not come from the page this browser was shown (the security cookie is missing or different).",
            "Start the connection again from your app, in this browser, with cookies enabled.",
        );
    }
    let clear_csrf = cookie(CSRF_COOKIE, "", 0, "Strict");
    if form.get("decision").map(String::as_str) != Some("approve") {
        let mut params = vec![
            ("error", "access_denied"),
            ("error_description", "the user denied access"),
            ("iss", ctx.origin.as_str()),
        ];
        if let Some(s) = &request.state {
            params.push(("state", s.as_str()));
        }
        return HttpResponse::redirect(&with_params(&request.redirect_uri, &params))
            .with_header("set-cookie", clear_csrf);
    }
    let mut entered = Entered {
        caps: form_caps(req),
        own_app: false,
        client_id: form.get("spotify_client_id").map(|c| c.trim().to_string()).unwrap_or_default(),
    };
    if ctx.platform.now_ms() < request.shown_at_ms.saturating_add(ctx.consent_dwell_ms()) {
        entered.own_app = form.get("spotify_app").map(String::as_str) == Some("own");
        return consent_again(
            ctx,
            &request,
            &entered,
            "This approval came less than a second after the page appeared, which is how clickjacking tricks work. Check what you are approving, then choose Approve again.",
        );
    }
    let app = match choose_app(ctx, &form, &mut entered) {
        Ok(app) => app,
        Err(problem) => return consent_again(ctx, &request, &entered, &problem),
    };
    if let SpotifyApp::Own(_) = &app {
        // Spotify strands a person on its own error page for an unknown client id or a
        // missing redirect URI: ask first, and say here what to fix.
        if let Err(problem) = ctx.spotify().check_app(&app, &ctx.spotify_redirect_uri()).await {
            return consent_again(ctx, &request, &entered, &app_problem_text(ctx, problem));
        }
    }
    let (Ok(verifier), Ok(bind)) = (random_token(), random_token()) else { return server_problem() };
    let state = SpotifyState {
        verifier,
        scope: entered.caps.spotify_scopes().join(" "),
        flow: Flow::Mcp { req: Box::new(request), bind: b64url(&sha256(bind.as_bytes())), caps: entered.caps.scope() },
        app,
        widened: false,
    };
    let Some(url) = spotify_url(ctx, &state) else { return server_problem() };
    HttpResponse::redirect(&url)
        .with_header("set-cookie", clear_csrf)
        .with_header("set-cookie", cookie(BIND_COOKIE, &bind, FLOW_TTL, "Lax"))
}

/// The `capability` checkboxes; unknown values are ignored (the form only offers ours).
fn form_caps(req: &HttpRequest) -> Capabilities {
    req.form_all("capability")
        .iter()
        .filter_map(|v| crate::core::capability::Capability::parse(v))
        .fold(Capabilities::NONE, Capabilities::with)
}

/// The Spotify app the person chose, as this deployment allows.
fn choose_app<P: Platform>(
    ctx: &Ctx<'_, P>,
    form: &std::collections::HashMap<String, String>,
    entered: &mut Entered,
) -> Result<SpotifyApp, String> {
    let wants_own = match form.get("spotify_app").map(String::as_str) {
        Some("own") => true,
        Some(_) => false,
        None => !entered.client_id.is_empty(),
    };
    entered.own_app = wants_own || ctx.config.own_app_required();
    if !ctx.config.user_apps || !entered.own_app {
        return match ctx.config.operator_app {
            Some(_) => Ok(SpotifyApp::Operator),
            None => Err("This server has no Spotify app of its own: use your own app below.".into()),
        };
    }
    SpotifyClientId::parse(&entered.client_id).map(SpotifyApp::Own).map_err(|e| e.to_string())
}

/// The consent page again, with the person's choices and what to fix; nothing is stored.
fn consent_again<P: Platform>(
    ctx: &Ctx<'_, P>,
    request: &AuthzRequest,
    entered: &Entered,
    problem: &str,
) -> HttpResponse {
    // A new page: its own time of appearing.
    let shown = AuthzRequest { shown_at_ms: ctx.platform.now_ms(), ..request.clone() };
    let Ok(sealed) = sealed::seal(&ctx.config.master_key, Purpose::Consent, &shown, ctx.now() + FLOW_TTL) else {
        return server_problem();
    };
    let mut page = render_consent(ctx, &shown, &sealed, &request.csrf, Some(entered), Some(problem));
    page.status = 400;
    page
}

/// Starts the Spotify sign-in of the "your connection" pages: the redirect, with the
/// browser-binding cookie the callback will require. Without an operator app the person
/// names their own (`spotify_client_id`). It only identifies the person: no scope beyond
/// the base one is asked for and no link is stored.
pub async fn account_login<P: Platform>(ctx: &Ctx<'_, P>, req: &HttpRequest) -> HttpResponse {
    let typed = req.query().get("spotify_client_id").map(|c| c.trim().to_string()).unwrap_or_default();
    let app = if typed.is_empty() && ctx.config.operator_app.is_some() || !ctx.config.user_apps {
        SpotifyApp::Operator
    } else {
        match SpotifyClientId::parse(&typed) {
            Ok(id) => SpotifyApp::Own(id),
            Err(e) => return crate::account::sign_in_page(ctx, Some(&e.to_string())),
        }
    };
    if !app.is_operator() {
        if let Err(p) = ctx.spotify().check_app(&app, &ctx.spotify_redirect_uri()).await {
            return crate::account::sign_in_page(ctx, Some(&app_problem_text(ctx, p)));
        }
    }
    let (Ok(verifier), Ok(bind)) = (random_token(), random_token()) else { return server_problem() };
    let state = SpotifyState {
        verifier,
        flow: Flow::Account { bind: b64url(&sha256(bind.as_bytes())) },
        app,
        scope: crate::core::capability::BASE_SPOTIFY_SCOPES.join(" "),
        widened: false,
    };
    let Some(url) = spotify_url(ctx, &state) else { return server_problem() };
    HttpResponse::redirect(&url).with_header("set-cookie", cookie(BIND_COOKIE, &bind, FLOW_TTL, "Lax"))
}

/// What to fix when Spotify will not sign in with a person's app.
pub(crate) fn app_problem_text<P: Platform>(ctx: &Ctx<'_, P>, p: AppProblem) -> String {
    match p {
        AppProblem::UnknownClient => "Spotify does not know this Client ID. Copy it again from your app's page in the Spotify developer dashboard (Settings → Client ID).".to_string(),
        AppProblem::RedirectUriMissing => format!(
            "Your Spotify app does not list this server's Redirect URI. In the Spotify developer dashboard open your app → Settings → Edit, add exactly {} under Redirect URIs, save, then try again.",
            ctx.spotify_redirect_uri()
        ),
    }
}

fn bound(req: &HttpRequest, bind: &str) -> bool {
    let cookie_bind = req.cookie(BIND_COOKIE).unwrap_or_default();
    ct_eq(b64url(&sha256(cookie_bind.as_bytes())).as_bytes(), bind.as_bytes())
}

fn different_browser() -> HttpResponse {
    pages::problem(
        400,
        "Different browser",
        "This sign-in was approved in another browser (or its cookie was lost), so it was stopped: someone may have sent you their link.",
        "Start again in this browser, with cookies enabled.",
    )
}

/// A link to this server that signs the given user in to Spotify again (the
/// `get_auth_url` tool and every "link again" message). It points here rather than at
/// Spotify because the app and scopes are decided when it is opened, from the stored link:
/// no KV read while a tool answers. `add`: Spotify scopes to ask for beyond the link's.
pub fn relink_url<P: Platform>(ctx: &Ctx<'_, P>, uk: &UserKey, add: &[&str]) -> Option<String> {
    let token = RelinkToken { uk: uk.clone(), add: add.iter().map(|s| s.to_string()).collect() };
    let sealed = sealed::seal(&ctx.config.master_key, Purpose::Relink, &token, ctx.now() + FLOW_TTL).ok()?;
    Some(with_params(&format!("{}/relink", ctx.origin), &[("t", &sealed)]))
}

/// `GET /relink`: on to Spotify with the person's app and scopes. Without a stored link
/// and without an operator app, it first asks for the person's own app.
pub async fn relink_start<P: Platform>(ctx: &Ctx<'_, P>, req: &HttpRequest) -> HttpResponse {
    let q = req.query();
    let token: RelinkToken =
        match q.get("t").map(|t| sealed::open(&ctx.config.master_key, Purpose::Relink, t, ctx.now())) {
            Some(Ok(t)) => t,
            Some(Err(SealError::Expired)) => {
                return pages::problem(
                    400,
                    "This link expired",
                    "Sign-in links last 10 minutes.",
                    "Ask your assistant for a new one (get_auth_url).",
                )
            }
            _ => {
                return pages::problem(
                    400,
                    "Unknown link",
                    "This sign-in link was not issued by this server.",
                    "Ask your assistant for a new one (get_auth_url).",
                )
            }
        };
    let link = match ctx.store().get_link(&token.uk).await {
        Ok(l) => l,
        Err(crate::core::store::StoreError::Undecryptable) => None,
        Err(_) => {
            return pages::problem(
                503,
                "Temporarily unavailable",
                "Your data could not be read.",
                "Reload in a moment.",
            )
        }
    };
    let typed = q.get("spotify_client_id").map(|c| c.trim().to_string()).unwrap_or_default();
    let app = match (&link, typed.is_empty()) {
        (_, false) if ctx.config.user_apps => match SpotifyClientId::parse(&typed) {
            Ok(id) => SpotifyApp::Own(id),
            Err(e) => {
                return pages::relink_app(
                    &q["t"],
                    &ctx.spotify_redirect_uri(),
                    &origin_of(&ctx.config.accounts_base),
                    Some(&e.to_string()),
                )
            }
        },
        (Some(l), _)
            if (l.app.is_operator() && ctx.config.operator_app.is_some())
                || (!l.app.is_operator() && ctx.config.user_apps) =>
        {
            l.app.clone()
        }
        _ if ctx.config.operator_app.is_some() => SpotifyApp::Operator,
        _ => {
            return pages::relink_app(&q["t"], &ctx.spotify_redirect_uri(), &origin_of(&ctx.config.accounts_base), None)
        }
    };
    if !app.is_operator() {
        if let Err(p) = ctx.spotify().check_app(&app, &ctx.spotify_redirect_uri()).await {
            return pages::relink_app(
                &q["t"],
                &ctx.spotify_redirect_uri(),
                &origin_of(&ctx.config.accounts_base),
                Some(&app_problem_text(ctx, p)),
            );
        }
    }
    let base = crate::core::capability::BASE_SPOTIFY_SCOPES.join(" ");
    let all = Capabilities::ALL.spotify_scopes().join(" ");
    let held = link.as_ref().map(|l| l.scope.as_str()).filter(|s| !s.trim().is_empty()).unwrap_or(&all);
    let Ok(verifier) = random_token() else { return server_problem() };
    let state = SpotifyState {
        verifier,
        scope: scope_union(&[&base, held, &token.add.join(" ")]),
        flow: Flow::Relink { uk: token.uk },
        app,
        widened: false,
    };
    match spotify_url(ctx, &state) {
        Some(url) => HttpResponse::redirect(&url),
        None => server_problem(),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkError {
    StateInvalid,
    StateExpired,
    NotRelink,
    WrongUser,
    /// Not on this server's `ALLOWED_SPOTIFY_USERS`.
    NotAllowed,
    Denied(String),
    Spotify(SpotifyError),
    Store,
    /// Signed in `SIGN_INS_PER_DAY` times today; seconds until the day ends.
    TooManySignIns(u64),
}

impl std::fmt::Display for LinkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LinkError::StateInvalid => f.write_str("that sign-in link was not issued by this server"),
            LinkError::StateExpired => {
                f.write_str("that sign-in link expired (links last 10 minutes); ask for a new one with get_auth_url")
            }
            LinkError::NotRelink => {
                f.write_str("that callback URL belongs to a client sign-in, not to a get_auth_url link")
            }
            LinkError::WrongUser => {
                f.write_str("you signed in to Spotify as a different account than the one linked to this connection")
            }
            LinkError::NotAllowed => f.write_str("this Spotify account is not allowed to use this server"),
            LinkError::Denied(e) => write!(f, "Spotify sign-in was not completed ({e})"),
            LinkError::Spotify(e) => write!(f, "{e}"),
            LinkError::Store => f.write_str("could not save the Spotify link"),
            LinkError::TooManySignIns(secs) => write!(
                f,
                "this Spotify account signed in here as often today as this server allows one person; try again in {} (nothing was changed)",
                crate::fair_use::wait_words(*secs)
            ),
        }
    }
}

/// Finishes a re-link from a pasted callback URL (the `authenticate` tool).
pub async fn finish_relink<P: Platform>(ctx: &Ctx<'_, P>, uk: &UserKey, callback_url: &str) -> Result<(), LinkError> {
    let u = url::Url::parse(callback_url).map_err(|_| LinkError::StateInvalid)?;
    let q: std::collections::HashMap<String, String> = u.query_pairs().into_owned().collect();
    if let Some(e) = q.get("error") {
        return Err(LinkError::Denied(e.clone()));
    }
    let (Some(code), Some(state)) = (q.get("code"), q.get("state")) else { return Err(LinkError::StateInvalid) };
    let st: SpotifyState =
        sealed::open(&ctx.config.master_key, Purpose::SpotifyState, state, ctx.now()).map_err(|e| match e {
            SealError::Expired => LinkError::StateExpired,
            _ => LinkError::StateInvalid,
        })?;
    let Flow::Relink { uk: expected } = &st.flow else { return Err(LinkError::NotRelink) };
    if expected != uk {
        return Err(LinkError::WrongUser);
    }
    link_spotify(ctx, code, &st, Some(expected)).await.map(|_| ())
}

/// What the Spotify sign-in came to.
enum Linked {
    /// The link is stored (or, for the account pages, the person identified), in this epoch.
    Done(UserKey, u64),
    /// The person's existing link holds scopes this sign-in did not ask for: go round once
    /// more, asking for both, rather than narrow the link their other clients rely on.
    Widen(String),
}

/// Exchanges Spotify's code, identifies the user and stores their link: two Spotify calls
/// (token, `/v1/me`), a KV read of the existing link and a write. With `expected`, refuses
/// another account before anything is stored.
async fn link_spotify<P: Platform>(
    ctx: &Ctx<'_, P>,
    code: &str,
    st: &SpotifyState,
    expected: Option<&UserKey>,
) -> Result<Linked, LinkError> {
    let api = ctx.spotify();
    let grant = api
        .exchange_code(&st.app, code, &ctx.spotify_redirect_uri(), &PkceVerifier::new(st.verifier.clone()))
        .await
        .map_err(LinkError::Spotify)?;
    let me = api.call(&grant.access_token, "GET", "/v1/me", &[], None).await.map_err(LinkError::Spotify)?;
    let Some(id) = me.get("id").and_then(|v| v.as_str()) else {
        return Err(LinkError::Spotify(SpotifyError::Unexpected("/v1/me without id".into())));
    };
    if !ctx.config.allows(id) {
        // Refused before anything is stored: no link, no code, no token.
        return Err(LinkError::NotAllowed);
    }
    let spotify_id = SpotifyUserId::new(id);
    let store = ctx.store();
    let uk = store.user_key(&spotify_id);
    if expected.is_some_and(|want| want != &uk) {
        return Err(LinkError::WrongUser);
    }
    if matches!(st.flow, Flow::Account { .. }) {
        return Ok(Linked::Done(uk, 0));
    }
    let Some(refresh_token) = grant.refresh_token else {
        return Err(LinkError::Spotify(SpotifyError::Unexpected("no refresh token in Spotify's answer".into())));
    };
    let granted = grant.scope.unwrap_or_else(|| st.scope.clone());
    let now = ctx.now();
    // The existing link and the epoch are independent reads: one KV round trip.
    let (existing, epoch) = futures::future::join(store.get_link(&uk), store.get_epoch(&uk)).await;
    let existing = match existing {
        Ok(l) => l,
        Err(crate::core::store::StoreError::Undecryptable) => None,
        Err(_) => return Err(LinkError::Store),
    };
    let epoch = epoch.map_err(|_| LinkError::Store)?.0;
    // Fair use of the KV write budget: every sign-in writes the link and, redeemed, 4 more
    // records. The count lives in the link itself (an older epoch's link counts nothing).
    let sign_ins = existing.as_ref().filter(|l| l.epoch == epoch).map(|l| l.sign_ins).unwrap_or_default();
    if sign_ins.on(now) >= ctx.config.sign_ins_per_day {
        return Err(LinkError::TooManySignIns(DayCount::secs_left(now)));
    }
    if matches!(st.flow, Flow::Mcp { .. }) && !st.widened {
        if let Some(old) = &existing {
            if !crate::spotify::scopes::missing(&granted, &old.scope.split_whitespace().collect::<Vec<_>>()).is_empty()
            {
                let again = SpotifyState {
                    verifier: random_token().map_err(|_| LinkError::Store)?,
                    flow: st.flow.clone(),
                    app: st.app.clone(),
                    scope: scope_union(&[&st.scope, &old.scope]),
                    widened: true,
                };
                return spotify_url(ctx, &again).map(Linked::Widen).ok_or(LinkError::Store);
            }
        }
    }
    let link = SpotifyLink {
        spotify_id,
        display_name: me.get("display_name").and_then(|v| v.as_str()).map(str::to_string),
        access_token: grant.access_token,
        refresh_token,
        expires_at: now + grant.expires_in.unwrap_or(3600),
        scope: granted,
        linked_at: now,
        app: st.app.clone(),
        generation: 0,
        epoch,
        sign_ins: sign_ins.plus_one(now),
    };
    store.put_link(&uk, &link).await.map_err(|_| LinkError::Store)?;
    Ok(Linked::Done(uk, epoch))
}

/// `GET /callback`: Spotify sends the browser back here.
pub async fn callback<P: Platform>(ctx: &Ctx<'_, P>, req: &HttpRequest) -> HttpResponse {
    let q = req.query();
    let st: SpotifyState =
        match q.get("state").map(|s| sealed::open(&ctx.config.master_key, Purpose::SpotifyState, s, ctx.now())) {
            Some(Ok(s)) => s,
            Some(Err(SealError::Expired)) => {
                return pages::problem(
                    400,
                    "Sign-in took too long",
                    "More than 10 minutes passed between the approval page and Spotify's answer.",
                    "Start the connection again from your app.",
                )
            }
            _ => {
                return pages::problem(
                    400,
                    "Unknown sign-in",
                    "This Spotify answer does not belong to a sign-in started here.",
                    "Start the connection again from your app.",
                )
            }
        };
    let clear_bind = cookie(BIND_COOKIE, "", 0, "Lax");
    if let Some(err) = q.get("error") {
        if let Flow::Mcp { req: r, bind, .. } = &st.flow {
            // Only the browser that approved is sent back to the app, errors included.
            if !bound(req, bind) {
                return different_browser();
            }
            let mut params = vec![
                ("error", "access_denied"),
                ("error_description", "Spotify sign-in was cancelled or refused"),
                ("iss", ctx.origin.as_str()),
            ];
            if let Some(s) = &r.state {
                params.push(("state", s.as_str()));
            }
            return HttpResponse::redirect(&with_params(&r.redirect_uri, &params))
                .with_header("set-cookie", clear_bind);
        }
        return pages::problem(
            400,
            "Spotify sign-in cancelled",
            &format!("Spotify answered: {err}."),
            "Ask your assistant for a new sign-in link.",
        );
    }
    let Some(code) = q.get("code") else {
        return pages::problem(
            400,
            "No sign-in code",
            "Spotify's answer had no code.",
            "Start the connection again from your app.",
        );
    };
    let bind = match &st.flow {
        Flow::Account { bind } | Flow::Mcp { bind, .. } => Some(bind),
        Flow::Relink { .. } => None,
    };
    if bind.is_some_and(|b| !bound(req, b)) {
        return different_browser();
    }
    let expected = match &st.flow {
        Flow::Relink { uk } => Some(uk),
        _ => None,
    };
    let (uk, epoch) = match link_spotify(ctx, code, &st, expected).await {
        Ok(Linked::Done(uk, epoch)) => (uk, epoch),
        Ok(Linked::Widen(url)) => return HttpResponse::redirect(&url),
        Err(e) => return link_problem(ctx, &st.app, &e),
    };
    match st.flow {
        Flow::Relink { .. } => pages::success(
            "Spotify linked again",
            "Your Spotify account is linked again. You can close this tab and go back to your assistant.",
        ),
        Flow::Account { .. } => crate::account::signed_in(ctx, &uk).with_header("set-cookie", clear_bind),
        Flow::Mcp { req: request, caps, .. } => {
            let Ok(jti) = random_token() else { return server_problem() };
            let payload = CodePayload {
                uk,
                client_id: request.client_id,
                redirect_uri: request.redirect_uri.clone(),
                code_challenge: request.code_challenge,
                scope: caps,
                resource: request.resource,
                jti,
                client_name: request.client_name,
                epoch,
            };
            let Ok(code) = sealed::seal(&ctx.config.master_key, Purpose::Code, &payload, ctx.now() + CODE_TTL) else {
                return server_problem();
            };
            let mut params = vec![("code", code.as_str()), ("iss", ctx.origin.as_str())];
            if let Some(s) = &request.state {
                params.push(("state", s.as_str()));
            }
            HttpResponse::redirect(&with_params(&request.redirect_uri, &params)).with_header("set-cookie", clear_bind)
        }
    }
}

fn link_problem<P: Platform>(ctx: &Ctx<'_, P>, app: &SpotifyApp, e: &LinkError) -> HttpResponse {
    match e {
        LinkError::NotAllowed => pages::problem(
            403,
            "Not allowed on this server",
            "This server's operator allows only some Spotify accounts, and yours is not one of them. Nothing about you was stored.",
            "Ask the operator to add your Spotify user id to ALLOWED_SPOTIFY_USERS, or use another server.",
        ),
        LinkError::TooManySignIns(secs) => pages::problem(
            429,
            "Too many sign-ins today",
            &format!("This Spotify account signed in here {} times today, the most this server allows one person (each sign-in costs the server storage writes). Your existing connections keep working; nothing was changed.", ctx.config.sign_ins_per_day),
            &format!("Try again in {} (after midnight UTC).", crate::fair_use::wait_words(*secs)),
        )
        .with_header("retry-after", secs.to_string()),
        LinkError::Spotify(SpotifyError::InvalidClient(_)) if !app.is_operator() => pages::problem(
            400,
            "Spotify refused your app",
            "Spotify did not accept your Spotify app for this sign-in. Nothing was stored.",
            &format!("Check the Client ID in the Spotify developer dashboard and that your app lists exactly {} under Redirect URIs, then start again from your assistant.", ctx.spotify_redirect_uri()),
        ),
        LinkError::Spotify(SpotifyError::InvalidClient(_)) => pages::problem(
            502,
            "Spotify refused this server",
            "Spotify did not accept this server's app credentials.",
            "The operator should check SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET.",
        ),
        LinkError::Spotify(SpotifyError::InvalidGrant(m)) | LinkError::Spotify(SpotifyError::BadRequest(m)) => pages::problem(
            400,
            "Spotify sign-in failed",
            &format!("Spotify did not accept the sign-in ({m})."),
            "Start again. If it keeps failing, the operator should check that the redirect URI in the Spotify dashboard equals this server's /callback URL.",
        ),
        LinkError::Spotify(SpotifyError::Forbidden { .. }) => pages::problem(
            403,
            "Not allowed by Spotify",
            "Spotify refused access for this account. Apps in Development Mode only work for users the app owner added in the Spotify dashboard.",
            "Ask the operator to add your Spotify account (User Management in the Spotify dashboard).",
        ),
        other => pages::problem(502, "Sign-in failed", &other.to_string(), "Try again in a moment."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::record::{from_slice, to_vec};
    use serde_json::json;

    /// Sign-in states and codes sealed by the previous release (serde's derive) open after an
    /// upgrade, and are written back as the same JSON.
    #[test]
    fn states_and_codes_sealed_by_the_previous_release_still_read() {
        let uk = "a".repeat(43);
        let state = r#"{"verifier":"v","flow":{"Mcp":{"req":{"client_id":"c","client_name":"n","redirect_uri":"https://x/cb","state":null,"code_challenge":"cc","scope":"playback","resource":"https://m/mcp","csrf":"t","cimd_domain":"x"},"bind":"b","caps":"playback"}},"app":"Operator","scope":"s","widened":false}"#;
        let read: SpotifyState = from_slice(state.as_bytes()).unwrap();
        let Flow::Mcp { req, bind, caps } = &read.flow else { panic!("not an MCP flow") };
        assert_eq!((req.client_id.as_str(), req.state.as_deref(), req.cimd_domain.as_deref()), ("c", None, Some("x")));
        assert_eq!((req.shown_at_ms, bind.as_str(), caps.as_str()), (0, "b", "playback"));
        assert!(read.app.is_operator() && !read.widened);
        let mut expected: Value = serde_json::from_str(state).unwrap();
        expected["flow"]["Mcp"]["req"]["shown_at_ms"] = 0.into();
        assert_eq!(serde_json::from_slice::<Value>(&to_vec(&read)).unwrap(), expected);

        for (flow, tag) in
            [(format!(r#"{{"Relink":{{"uk":"{uk}"}}}}"#), "Relink"), (r#"{"Account":{"bind":"b"}}"#.into(), "Account")]
        {
            let read = Flow::from_json(&serde_json::from_str(&flow).unwrap()).unwrap();
            assert_eq!(record::untag(&read.to_json()).map(|(t, _)| t), Some(tag));
        }
        assert!(Flow::from_json(&json!({"Relink": {"uk": "short"}})).is_none(), "user keys are checked");
        assert!(Flow::from_json(&json!({"Other": {}})).is_none());

        let code = format!(
            r#"{{"uk":"{uk}","client_id":"c","redirect_uri":"r","code_challenge":"cc","scope":"s","resource":"x","jti":"j","client_name":"n"}}"#
        );
        let read: CodePayload = from_slice(code.as_bytes()).unwrap();
        assert_eq!((read.uk.as_str(), read.jti.as_str(), read.epoch), (uk.as_str(), "j", 0));
        let relink: RelinkToken = from_slice(format!(r#"{{"uk":"{uk}","add":["user-top-read"]}}"#).as_bytes()).unwrap();
        assert_eq!(relink.add, ["user-top-read"]);
    }
}
