//! Raw calls to Spotify: one HTTP request each, no retries (those live in `session`).

use crate::core::config::Config;
use crate::core::http::{HttpRequest, HttpResponse};
use crate::core::platform::Http;
use crate::core::secret::{PkceVerifier, SpotifyAccessToken, SpotifyRefreshToken};
use crate::spotify::error::SpotifyError;
use base64::Engine;
use serde::Deserialize;
use serde_json::Value;

/// A token response from `/api/token`.
#[derive(Debug, Clone, Deserialize)]
pub struct TokenGrant {
    pub access_token: SpotifyAccessToken,
    #[serde(default)]
    pub refresh_token: Option<SpotifyRefreshToken>,
    #[serde(default)]
    pub expires_in: Option<u64>,
    #[serde(default)]
    pub scope: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Me {
    pub id: String,
    #[serde(default)]
    pub display_name: Option<String>,
}

pub struct SpotifyApi<'a, H: Http> {
    http: &'a H,
    config: &'a Config,
}

impl<'a, H: Http> SpotifyApi<'a, H> {
    pub fn new(http: &'a H, config: &'a Config) -> Self {
        SpotifyApi { http, config }
    }

    /// Where we send the browser to sign in. PKCE is sent to Spotify as well, so an
    /// intercepted Spotify code is useless without the verifier sealed in our `state`.
    pub fn authorize_url(&self, redirect_uri: &str, state: &str, challenge: &str) -> String {
        let mut url = format!("{}/authorize?", self.config.accounts_base);
        url.push_str(
            &url::form_urlencoded::Serializer::new(String::new())
                .append_pair("client_id", &self.config.spotify_client_id)
                .append_pair("response_type", "code")
                .append_pair("redirect_uri", redirect_uri)
                .append_pair("state", state)
                .append_pair("scope", &crate::spotify::scopes::requested())
                .append_pair("code_challenge_method", "S256")
                .append_pair("code_challenge", challenge)
                .finish(),
        );
        url
    }

    pub async fn exchange_code(
        &self,
        code: &str,
        redirect_uri: &str,
        verifier: &PkceVerifier,
    ) -> Result<TokenGrant, SpotifyError> {
        self.token_request(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", verifier.expose()),
        ])
        .await
    }

    pub async fn refresh(&self, refresh_token: &SpotifyRefreshToken) -> Result<TokenGrant, SpotifyError> {
        self.token_request(&[("grant_type", "refresh_token"), ("refresh_token", refresh_token.expose())]).await
    }

    async fn token_request(&self, form: &[(&str, &str)]) -> Result<TokenGrant, SpotifyError> {
        let url = url::Url::parse(&format!("{}/api/token", self.config.accounts_base))
            .map_err(|_| SpotifyError::Unexpected("bad accounts URL".into()))?;
        let basic = base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            self.config.spotify_client_id,
            self.config.spotify_client_secret.expose()
        ));
        let req = HttpRequest::new("POST", url).with_form(form).with_header("authorization", format!("Basic {basic}"));
        let resp = self.http.send(req).await.map_err(|e| SpotifyError::Network(e.0))?;
        if resp.status == 200 {
            return serde_json::from_slice(&resp.body).map_err(|_| SpotifyError::Unexpected("token response".into()));
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
