//! The browser part of the flow: `/authorize` (validate, then our consent page), the
//! consent decision, and `/callback` (Spotify's redirect back to us). Also the re-link
//! flow behind the `get_auth_url` and `authenticate` tools.
//!
//! Confused-deputy defence: one Spotify client id serves every MCP client, so Spotify's
//! own "you already approved this app" would silently hand a new MCP client a person's
//! account. Our consent page runs first, its form is CSRF-bound (double submit), and the
//! approval is bound to the browser by a cookie the callback must present.

use crate::app::Ctx;
use crate::core::crypto::{b64url, ct_eq, pkce_s256, random_token, sha256};
use crate::core::http::{HttpRequest, HttpResponse};
use crate::core::platform::Platform;
use crate::core::sealed::{self, Purpose, SealError};
use crate::core::secret::{PkceVerifier, SpotifyUserId, UserKey};
use crate::core::store::SpotifyLink;
use crate::oauth::clients::{self, is_loopback_host};
use crate::oauth::{with_params, CODE_TTL, FLOW_TTL, MCP_SCOPE};
use crate::pages;
use crate::spotify::SpotifyError;
use serde::{Deserialize, Serialize};

const CSRF_COOKIE: &str = "__Host-mcp_csrf";
pub(crate) const BIND_COOKIE: &str = "__Host-mcp_bind";

/// A validated authorization request, carried sealed through the consent form.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuthzRequest {
    pub client_id: String,
    pub client_name: String,
    pub redirect_uri: String,
    pub state: Option<String>,
    pub code_challenge: String,
    pub scope: String,
    pub resource: String,
    /// The double-submit token this request's form was rendered with.
    pub csrf: String,
}

#[derive(Serialize, Deserialize)]
enum Flow {
    /// An MCP client's authorization; `bind` is the hash of the browser-binding cookie.
    Mcp { req: AuthzRequest, bind: String },
    /// Re-linking Spotify for an already signed-in user.
    Relink { uk: UserKey },
    /// Signing in to the "your connection" pages; `bind` as for `Mcp`.
    Account { bind: String },
}

/// Our `state` towards Spotify, sealed: it holds the PKCE verifier for Spotify.
#[derive(Serialize, Deserialize)]
struct SpotifyState {
    verifier: String,
    flow: Flow,
}

/// Our authorization code, sealed: redeemable anywhere, single-use through a KV marker.
#[derive(Debug, Serialize, Deserialize)]
pub struct CodePayload {
    pub uk: UserKey,
    pub client_id: String,
    pub redirect_uri: String,
    pub code_challenge: String,
    pub scope: String,
    pub resource: String,
    pub jti: String,
    pub client_name: String,
}

pub(crate) fn cookie(name: &str, value: &str, max_age: u64, same_site: &str) -> String {
    format!("{name}={value}; Path=/; Secure; HttpOnly; SameSite={same_site}; Max-Age={max_age}")
}

fn server_problem() -> HttpResponse {
    pages::problem(500, "Something went wrong", "The server could not complete this step.", "Try again in a moment.")
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
    // From here on, errors go back to the app (the redirect URI is trusted now).
    let state = q.get("state").cloned();
    let back = |code: &str, desc: &str| {
        let mut params = vec![("error", code), ("error_description", desc), ("iss", ctx.origin.as_str())];
        if let Some(s) = &state {
            params.push(("state", s.as_str()));
        }
        HttpResponse::redirect(&with_params(&redirect_uri, &params))
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
        None => MCP_SCOPE.to_string(),
        Some(s) if s.split_whitespace().all(|x| x == MCP_SCOPE) => MCP_SCOPE.to_string(),
        Some(_) => return back("invalid_scope", "the only scope is \"spotify\""),
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
    };
    let Ok(sealed) = sealed::seal(&ctx.config.master_key, Purpose::Consent, &request, ctx.now() + FLOW_TTL) else {
        return server_problem();
    };
    let ru = url::Url::parse(&redirect_uri).ok();
    let redirect_host =
        ru.as_ref().and_then(|u| u.host_str().map(str::to_string)).unwrap_or_else(|| redirect_uri.clone());
    let redirect_origin = match &ru {
        Some(u) if matches!(u.scheme(), "http" | "https") => u.origin().ascii_serialization(),
        Some(u) => format!("{}:", u.scheme()),
        None => String::new(),
    };
    pages::consent(&pages::ConsentView {
        client_name: &client.name,
        redirect_host: &redirect_host,
        redirect_is_loopback: ru.as_ref().map(is_loopback_host).unwrap_or(false),
        cimd_domain: client.metadata_domain.as_deref(),
        sealed_request: &sealed,
        csrf: &csrf,
        spotify_origin: origin_of(&ctx.config.accounts_base),
        redirect_origin,
    })
    .with_header("set-cookie", cookie(CSRF_COOKIE, &csrf, FLOW_TTL, "Strict"))
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
    let (Ok(verifier), Ok(bind)) = (random_token(), random_token()) else { return server_problem() };
    let state = SpotifyState {
        verifier: verifier.clone(),
        flow: Flow::Mcp { req: request, bind: b64url(&sha256(bind.as_bytes())) },
    };
    let Ok(sealed_state) = sealed::seal(&ctx.config.master_key, Purpose::SpotifyState, &state, ctx.now() + FLOW_TTL)
    else {
        return server_problem();
    };
    let url = ctx.spotify().authorize_url(&ctx.spotify_redirect_uri(), &sealed_state, &pkce_s256(&verifier));
    HttpResponse::redirect(&url)
        .with_header("set-cookie", clear_csrf)
        .with_header("set-cookie", cookie(BIND_COOKIE, &bind, FLOW_TTL, "Lax"))
}

/// Starts the Spotify sign-in of the "your connection" pages: the redirect, with the
/// browser-binding cookie the callback will require.
pub fn account_login<P: Platform>(ctx: &Ctx<'_, P>) -> HttpResponse {
    let (Ok(verifier), Ok(bind)) = (random_token(), random_token()) else { return server_problem() };
    let state =
        SpotifyState { verifier: verifier.clone(), flow: Flow::Account { bind: b64url(&sha256(bind.as_bytes())) } };
    let Ok(sealed_state) = sealed::seal(&ctx.config.master_key, Purpose::SpotifyState, &state, ctx.now() + FLOW_TTL)
    else {
        return server_problem();
    };
    let url = ctx.spotify().authorize_url(&ctx.spotify_redirect_uri(), &sealed_state, &pkce_s256(&verifier));
    HttpResponse::redirect(&url).with_header("set-cookie", cookie(BIND_COOKIE, &bind, FLOW_TTL, "Lax"))
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

/// A link that signs the given user in to Spotify again (the `get_auth_url` tool).
pub fn relink_url<P: Platform>(ctx: &Ctx<'_, P>, uk: &UserKey) -> Option<String> {
    let verifier = random_token().ok()?;
    let state = SpotifyState { verifier: verifier.clone(), flow: Flow::Relink { uk: uk.clone() } };
    let sealed_state =
        sealed::seal(&ctx.config.master_key, Purpose::SpotifyState, &state, ctx.now() + FLOW_TTL).ok()?;
    Some(ctx.spotify().authorize_url(&ctx.spotify_redirect_uri(), &sealed_state, &pkce_s256(&verifier)))
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
    let Flow::Relink { uk: expected } = st.flow else { return Err(LinkError::NotRelink) };
    if &expected != uk {
        return Err(LinkError::WrongUser);
    }
    link_spotify(ctx, code, &st.verifier, Some(&expected)).await.map(|_| ())
}

/// Exchanges Spotify's code, identifies the user and stores their link: two Spotify calls
/// (token, `/v1/me`) and one KV write. With `expected`, refuses another account before
/// anything is stored.
async fn link_spotify<P: Platform>(
    ctx: &Ctx<'_, P>,
    code: &str,
    verifier: &str,
    expected: Option<&UserKey>,
) -> Result<UserKey, LinkError> {
    let api = ctx.spotify();
    let grant = api
        .exchange_code(code, &ctx.spotify_redirect_uri(), &PkceVerifier::new(verifier))
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
    let Some(refresh_token) = grant.refresh_token else {
        return Err(LinkError::Spotify(SpotifyError::Unexpected("no refresh token in Spotify's answer".into())));
    };
    let now = ctx.now();
    let link = SpotifyLink {
        spotify_id,
        display_name: me.get("display_name").and_then(|v| v.as_str()).map(str::to_string),
        access_token: grant.access_token,
        refresh_token,
        expires_at: now + grant.expires_in.unwrap_or(3600),
        scope: grant.scope.unwrap_or_default(),
        linked_at: now,
    };
    store.put_link(&uk, &link).await.map_err(|_| LinkError::Store)?;
    Ok(uk)
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
        if let Flow::Mcp { req: r, .. } = &st.flow {
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
    match st.flow {
        Flow::Relink { uk } => match link_spotify(ctx, code, &st.verifier, Some(&uk)).await {
            Ok(_) => pages::success(
                "Spotify linked again",
                "Your Spotify account is linked again. You can close this tab and go back to your assistant.",
            ),
            Err(e) => link_problem(&e),
        },
        Flow::Account { bind } => {
            if !bound(req, &bind) {
                return different_browser();
            }
            match link_spotify(ctx, code, &st.verifier, None).await {
                Ok(uk) => crate::account::signed_in(ctx, &uk).with_header("set-cookie", clear_bind),
                Err(e) => link_problem(&e),
            }
        }
        Flow::Mcp { req: request, bind } => {
            if !bound(req, &bind) {
                return different_browser();
            }
            let uk = match link_spotify(ctx, code, &st.verifier, None).await {
                Ok(v) => v,
                Err(e) => return link_problem(&e),
            };
            let Ok(jti) = random_token() else { return server_problem() };
            let payload = CodePayload {
                uk,
                client_id: request.client_id,
                redirect_uri: request.redirect_uri.clone(),
                code_challenge: request.code_challenge,
                scope: request.scope,
                resource: request.resource,
                jti,
                client_name: request.client_name,
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

fn link_problem(e: &LinkError) -> HttpResponse {
    match e {
        LinkError::NotAllowed => pages::problem(
            403,
            "Not allowed on this server",
            "This server's operator allows only some Spotify accounts, and yours is not one of them. Nothing about you was stored.",
            "Ask the operator to add your Spotify user id to ALLOWED_SPOTIFY_USERS, or use another server.",
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
