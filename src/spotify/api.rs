//! Raw calls to Spotify: one HTTP request each, no retries (those live in `session`).

use crate::core::config::Config;
use crate::core::http::{HttpRequest, HttpResponse};
use crate::core::platform::Http;
use crate::core::record::json_record;
use crate::core::secret::{PkceVerifier, SpotifyAccessToken, SpotifyRefreshToken};
use crate::core::spotify_app::SpotifyApp;
use crate::spotify::error::SpotifyError;
use base64::Engine;
use serde_json::Value;

/// A token response from `/api/token`.
#[derive(Debug, Clone)]
pub struct TokenGrant {
    pub access_token: SpotifyAccessToken,
    pub refresh_token: Option<SpotifyRefreshToken>,
    pub expires_in: Option<u64>,
    pub scope: Option<String>,
}

json_record!(TokenGrant { access_token, refresh_token, expires_in, scope });

pub struct SpotifyApi<'a, H: Http> {
    http: &'a H,
    config: &'a Config,
}

impl<'a, H: Http> SpotifyApi<'a, H> {
    pub fn new(http: &'a H, config: &'a Config) -> Self {
        SpotifyApi { http, config }
    }

    /// The client id Spotify knows `app` by.
    fn client_id<'b>(&'b self, app: &'b SpotifyApp) -> Result<&'b str, SpotifyError> {
        match app {
            SpotifyApp::Own(id) => Ok(id.as_str()),
            SpotifyApp::Operator => match &self.config.operator_app {
                Some(op) => Ok(op.client_id.as_str()),
                None => Err(SpotifyError::InvalidClient("this server has no Spotify app of its own".into())),
            },
        }
    }

    /// Where we send the browser to sign in. PKCE is sent to Spotify as well, so an
    /// intercepted Spotify code is useless without the verifier sealed in our `state`
    /// (and for a person's own app, PKCE is what authenticates us: there is no secret).
    pub fn authorize_url(
        &self,
        app: &SpotifyApp,
        redirect_uri: &str,
        state: &str,
        challenge: &str,
        scope: &str,
    ) -> Result<String, SpotifyError> {
        let mut url = format!("{}/authorize?", self.config.accounts_base);
        url.push_str(
            &url::form_urlencoded::Serializer::new(String::new())
                .append_pair("client_id", self.client_id(app)?)
                .append_pair("response_type", "code")
                .append_pair("redirect_uri", redirect_uri)
                .append_pair("state", state)
                .append_pair("scope", scope)
                .append_pair("code_challenge_method", "S256")
                .append_pair("code_challenge", challenge)
                .finish(),
        );
        Ok(url)
    }

    /// Asks Spotify's authorize page, without following it, whether it accepts this client
    /// id and redirect URI. Spotify answers an unknown client or an unregistered redirect URI
    /// with an error page instead of a redirect, and the person would be stranded there: this
    /// lets our own page say what to fix. `Ok(())` also when Spotify cannot be asked.
    pub async fn check_app(&self, app: &SpotifyApp, redirect_uri: &str) -> Result<(), AppProblem> {
        let Ok(probe) = self.authorize_url(app, redirect_uri, "probe", &"p".repeat(43), "user-read-private") else {
            return Err(AppProblem::UnknownClient);
        };
        let Ok(url) = url::Url::parse(&probe) else { return Ok(()) };
        // A page, not data: a small read and a short wait (a failed probe lets the sign-in go on).
        let probe = HttpRequest::new("GET", url).with_limits(1024 * 1024, 5_000);
        let Ok(resp) = self.http.send(probe).await else { return Ok(()) };
        let body = String::from_utf8_lossy(&resp.body);
        if !(300..400).contains(&resp.status) && body.contains("INVALID_CLIENT") {
            return Err(classify_app_problem(&body));
        }
        Ok(())
    }

    pub async fn exchange_code(
        &self,
        app: &SpotifyApp,
        code: &str,
        redirect_uri: &str,
        verifier: &PkceVerifier,
    ) -> Result<TokenGrant, SpotifyError> {
        self.token_request(
            app,
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", redirect_uri),
                ("code_verifier", verifier.expose()),
            ],
        )
        .await
    }

    pub async fn refresh(
        &self,
        app: &SpotifyApp,
        refresh_token: &SpotifyRefreshToken,
    ) -> Result<TokenGrant, SpotifyError> {
        self.token_request(app, &[("grant_type", "refresh_token"), ("refresh_token", refresh_token.expose())]).await
    }

    /// The operator's app authenticates with its secret (Basic); a person's own app is a
    /// public client and only names itself, as Spotify's PKCE flow specifies.
    async fn token_request(&self, app: &SpotifyApp, form: &[(&str, &str)]) -> Result<TokenGrant, SpotifyError> {
        let url = url::Url::parse(&format!("{}/api/token", self.config.accounts_base))
            .map_err(|_| SpotifyError::Unexpected("bad accounts URL".into()))?;
        let req = match (app, &self.config.operator_app) {
            (SpotifyApp::Own(id), _) => {
                let mut fields = form.to_vec();
                fields.push(("client_id", id.as_str()));
                HttpRequest::new("POST", url).with_form(&fields)
            }
            (SpotifyApp::Operator, Some(op)) => {
                let basic = base64::engine::general_purpose::STANDARD.encode(format!(
                    "{}:{}",
                    op.client_id,
                    op.client_secret.expose()
                ));
                HttpRequest::new("POST", url).with_form(form).with_header("authorization", format!("Basic {basic}"))
            }
            (SpotifyApp::Operator, None) => {
                return Err(SpotifyError::InvalidClient("this server has no Spotify app of its own".into()))
            }
        };
        let resp = self.http.send(req).await.map_err(|e| SpotifyError::Network(e.0))?;
        if resp.status == 200 {
            return crate::core::record::from_slice(&resp.body)
                .ok_or_else(|| SpotifyError::Unexpected("token response".into()));
        }
        let body: Value = serde_json::from_slice(&resp.body).unwrap_or(Value::Null);
        let code = body.get("error").and_then(Value::as_str).unwrap_or("");
        let description = body.get("error_description").and_then(Value::as_str).unwrap_or(code).to_string();
        Err(match (resp.status, code) {
            (_, "invalid_grant") => SpotifyError::InvalidGrant(description),
            (_, "invalid_client") | (401, _) => SpotifyError::InvalidClient(description),
            (429, _) => rate_limited(&resp),
            (s, _) if s >= 500 => SpotifyError::Server(s),
            _ => SpotifyError::BadRequest(description),
        })
    }

    /// One Web API call. `path` starts with `/v1/`. Returns the JSON body (`null` for 204).
    pub async fn call(
        &self,
        token: &SpotifyAccessToken,
        method: &str,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<Value, SpotifyError> {
        let mut url = url::Url::parse(&format!("{}{path}", self.config.api_base))
            .map_err(|_| SpotifyError::Unexpected("bad API URL".into()))?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query.iter().map(|(k, v)| (*k, v.as_str())));
        }
        let mut req = HttpRequest::new(method, url).with_header("authorization", format!("Bearer {}", token.expose()));
        if let Some(b) = body {
            req.body = serde_json::to_vec(b).unwrap_or_default();
            req = req.with_header("content-type", "application/json");
        }
        let resp = self.http.send(req).await.map_err(|e| SpotifyError::Network(e.0))?;
        classify(resp)
    }
}

/// Why Spotify will not start a sign-in with a person's app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppProblem {
    /// Spotify does not know the client id.
    UnknownClient,
    /// The app does not list our callback among its redirect URIs.
    RedirectUriMissing,
}

fn classify_app_problem(body: &str) -> AppProblem {
    if body.contains("redirect") || body.contains("Redirect") {
        AppProblem::RedirectUriMissing
    } else {
        AppProblem::UnknownClient
    }
}

fn rate_limited(resp: &HttpResponse) -> SpotifyError {
    let body: Value = serde_json::from_slice(&resp.body).unwrap_or(Value::Null);
    let quota_exceeded = body.pointer("/error/reason").and_then(Value::as_str) == Some("QUOTA_EXCEEDED");
    SpotifyError::RateLimited {
        retry_after_secs: resp.header("retry-after").and_then(|v| v.trim().parse().ok()),
        quota_exceeded,
    }
}

fn classify(resp: HttpResponse) -> Result<Value, SpotifyError> {
    if (200..300).contains(&resp.status) {
        if resp.body.is_empty() {
            return Ok(Value::Null);
        }
        return serde_json::from_slice(&resp.body)
            .map_err(|_| SpotifyError::Unexpected(format!("HTTP {} body", resp.status)));
    }
    if resp.status == 429 {
        return Err(rate_limited(&resp));
    }
    let body: Value = serde_json::from_slice(&resp.body).unwrap_or(Value::Null);
    let message = body
        .pointer("/error/message")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| format!("HTTP {}", resp.status));
    let reason = body.pointer("/error/reason").and_then(Value::as_str).map(str::to_string);
    Err(match resp.status {
        401 => SpotifyError::Unauthorized(message),
        403 => SpotifyError::Forbidden { reason, message },
        404 => SpotifyError::NotFound { reason, message },
        s if s >= 500 => SpotifyError::Server(s),
        _ => SpotifyError::BadRequest(message),
    })
}
