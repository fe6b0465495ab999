//! Who an MCP client is. Three ways, in the 2026-07-28 spec's order of preference:
//! a Client ID Metadata Document (the client_id is an https URL we fetch), Dynamic Client
//! Registration (the client_id we hand out *is* the sealed registration, so it needs no
//! KV write and works at every edge location at once), or nothing for clients that
//! already hold such an id.

use crate::app::Ctx;
use crate::core::crypto::{b64url, ct_eq};
use crate::core::http::{HttpRequest, HttpResponse};
use crate::core::platform::Platform;
use crate::core::sealed::{self, Purpose};
use crate::oauth::error;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::net::IpAddr;

const DCR_PREFIX: &str = "mcp_";
const MAX_METADATA_BYTES: usize = 5 * 1024;
const METADATA_TIMEOUT_MS: u64 = 5_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AuthMethod {
    #[serde(rename = "none")]
    None,
    #[serde(rename = "client_secret_post")]
    SecretPost,
    #[serde(rename = "client_secret_basic")]
    SecretBasic,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    pub id: String,
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub auth_method: AuthMethod,
    /// The host that published a metadata document; `None` for registered clients.
    pub metadata_domain: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientError(pub String);

/// What a registered client_id carries inside its seal.
#[derive(Serialize, Deserialize)]
struct Registration {
    n: String,
    r: Vec<String>,
    a: AuthMethod,
}

/// Redirect URIs a client may register: https anywhere, http only to loopback (RFC 8252),
/// or a private-use scheme of a native app. Never script-capable or local-file schemes.
pub fn check_redirect_uri(uri: &str) -> Result<(), String> {
    let u = url::Url::parse(uri).map_err(|_| format!("redirect_uri {uri:?} is not an absolute URI"))?;
    if u.fragment().is_some() {
        return Err("redirect_uri must not contain a fragment".into());
    }
    match u.scheme() {
        "https" => Ok(()),
        "http" if is_loopback_host(&u) => Ok(()),
        "http" => {
            Err("http redirect URIs are allowed only for loopback addresses (127.0.0.1, [::1], localhost)".into())
        }
        "javascript" | "data" | "file" | "vbscript" | "blob" | "about" | "ftp" | "ws" | "wss" => {
            Err(format!("redirect_uri scheme {:?} is not allowed", u.scheme()))
        }
        scheme if scheme.contains('.') || KNOWN_APP_SCHEMES.contains(&scheme) => Ok(()),
        scheme => Err(format!(
            "redirect_uri scheme {scheme:?} is not allowed: a private-use scheme must be a reversed domain name the app controls, like com.example.app (RFC 8252 §7.1)"
        )),
    }
}

/// Private-use schemes of widely used MCP clients that predate the reverse-domain rule.
/// Refusing them would lock those clients out; each is specific to one vendor's app.
const KNOWN_APP_SCHEMES: &[&str] = &["cursor", "vscode", "vscode-insiders", "windsurf", "claude", "zed"];

pub fn is_loopback_host(u: &url::Url) -> bool {
    match u.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Exact match, except that a loopback http redirect may use any port (RFC 8252 §7.3).
pub fn redirect_matches(registered: &[String], given: &str) -> bool {
    if registered.iter().any(|r| r == given) {
        return true;
    }
    let Ok(g) = url::Url::parse(given) else { return false };
    if g.scheme() != "http" || !is_loopback_host(&g) {
        return false;
    }
    registered.iter().filter_map(|r| url::Url::parse(r).ok()).any(|mut r| {
        let mut g = g.clone();
        let _ = r.set_port(None);
        let _ = g.set_port(None);
        r == g && is_loopback_host(&r)
    })
}

/// The secret of a confidential registered client: derived, so it is never stored. `master`
/// is the key its registration was sealed under (the identity key, which outlives rollovers).
fn client_secret(master: &crate::core::crypto::Key, client_id: &str) -> String {
    b64url(&master.derive(b"client-secret").hmac(client_id.as_bytes()))
}

/// `POST /register` (RFC 7591).
pub fn register<P: Platform>(ctx: &Ctx<'_, P>, req: &HttpRequest) -> HttpResponse {
    let bad = |d: &str| error(400, "invalid_client_metadata", d);
    let Ok(meta) = serde_json::from_slice::<Value>(&req.body) else {
        return bad("the body must be a JSON object of client metadata");
    };
    let Some(uris) = meta.get("redirect_uris").and_then(Value::as_array) else {
        return error(400, "invalid_redirect_uri", "redirect_uris is required");
    };
    let uris: Vec<String> = uris.iter().filter_map(Value::as_str).map(str::to_string).collect();
    if uris.is_empty() || uris.len() > 10 {
        return error(400, "invalid_redirect_uri", "give between 1 and 10 redirect_uris");
    }
    for u in &uris {
        if let Err(why) = check_redirect_uri(u) {
            return error(400, "invalid_redirect_uri", &why);
        }
    }
    let method = match meta.get("token_endpoint_auth_method").and_then(Value::as_str).unwrap_or("client_secret_basic") {
        "none" => AuthMethod::None,
        "client_secret_post" => AuthMethod::SecretPost,
        "client_secret_basic" => AuthMethod::SecretBasic,
        other => return bad(&format!("token_endpoint_auth_method {other:?} is not supported")),
    };
    if let Some(types) = meta.get("grant_types").and_then(Value::as_array) {
        if types.iter().any(|t| !matches!(t.as_str(), Some("authorization_code" | "refresh_token"))) {
            return bad("only the authorization_code and refresh_token grant types are supported");
        }
    }
    if let Some(types) = meta.get("response_types").and_then(Value::as_array) {
        if types.iter().any(|t| t.as_str() != Some("code")) {
            return bad("only the code response type is supported");
        }
    }
    let name: String = meta
        .get("client_name")
        .and_then(Value::as_str)
        .and_then(crate::pages::plain_name)
        .unwrap_or_else(|| "Unnamed MCP client".to_string());
    let reg = Registration { n: name.clone(), r: uris.clone(), a: method };
    let Ok(sealed) = sealed::seal(&ctx.config.master_key, Purpose::Client, &reg, 0) else {
        return error(500, "server_error", "could not register the client");
    };
    let client_id = format!("{DCR_PREFIX}{sealed}");
    let mut out = json!({
        "client_id": client_id,
        "client_id_issued_at": ctx.now(),
        "client_name": name,
        "redirect_uris": uris,
        "token_endpoint_auth_method": method,
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
    });
    if method != AuthMethod::None {
        out["client_secret"] = json!(client_secret(ctx.config.master_key.identity(), &client_id));
        out["client_secret_expires_at"] = json!(0);
    }
    if let Some(t) = meta.get("application_type").and_then(Value::as_str) {
        out["application_type"] = json!(t);
    }
    HttpResponse::json(201, &out).with_header("cache-control", "no-store")
}

/// Finds a client by id. Fetches the metadata document for URL-shaped ids, so it is only
/// called where the client must be shown or its redirect URI checked (`/authorize`).
pub async fn resolve<P: Platform>(ctx: &Ctx<'_, P>, client_id: &str) -> Result<Client, ClientError> {
    if let Some(sealed) = client_id.strip_prefix(DCR_PREFIX) {
        let reg: Registration =
            sealed::open(&ctx.config.master_key, Purpose::Client, sealed, ctx.now()).map_err(|_| {
                ClientError("this client_id was not issued by this server; register the client again".into())
            })?;
        return Ok(Client {
            id: client_id.to_string(),
            name: reg.n,
            redirect_uris: reg.r,
            auth_method: reg.a,
            metadata_domain: None,
        });
    }
    if client_id.starts_with("https://") || client_id.starts_with("http://") {
        return fetch_metadata(ctx, client_id).await;
    }
    Err(ClientError(
        "unknown client_id: register the client (POST /register) or use a client metadata document URL".into(),
    ))
}

/// Checks a client's credentials at the token and revocation endpoints. A metadata
/// document client is public (PKCE protects its codes), so it needs no fetch here.
pub fn authenticate<P: Platform>(
    ctx: &Ctx<'_, P>,
    req: &HttpRequest,
    form: &std::collections::HashMap<String, String>,
) -> Result<String, HttpResponse> {
    let invalid =
        |d: &str| Err(error(401, "invalid_client", d).with_header("www-authenticate", "Basic realm=\"spotify-mcp\""));
    let (id, secret) = match req.header("authorization").and_then(|h| h.strip_prefix("Basic ")) {
        Some(b) => {
            let decoded = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, b.trim()).ok();
            let text = decoded.and_then(|d| String::from_utf8(d).ok());
            let Some((i, s)) = text.as_deref().and_then(|t| t.split_once(':')) else {
                return invalid("malformed Basic credentials");
            };
            let dec =
                |v: &str| url::form_urlencoded::parse(format!("x={v}").as_bytes()).next().map(|(_, v)| v.into_owned());
            (dec(i).unwrap_or_default(), dec(s))
        }
        None => (form.get("client_id").cloned().unwrap_or_default(), form.get("client_secret").cloned()),
    };
    if id.is_empty() {
        return invalid("client_id is required");
    }
    if let Some(sealed) = id.strip_prefix(DCR_PREFIX) {
        let Ok((reg, master)) =
            sealed::open_with::<Registration>(&ctx.config.master_key, Purpose::Client, sealed, ctx.now())
        else {
            return invalid("unknown client_id");
        };
        if reg.a != AuthMethod::None {
            let expected = client_secret(master, &id);
            match secret {
                Some(s) if ct_eq(s.as_bytes(), expected.as_bytes()) => {}
                _ => return invalid("client authentication failed"),
            }
        }
        return Ok(id);
    }
    if (id.starts_with("https://") || id.starts_with("http://")) && secret.is_none() {
        return Ok(id);
    }
    invalid("unknown client_id")
}

/// Rules for fetching a metadata document: https with a real path, no credentials, no
/// private or loopback address (plain http to loopback only when this Worker itself runs
/// on loopback, i.e. `wrangler dev`). The Workers runtime adds its own egress filtering.
pub fn check_metadata_url(client_id: &str, local_run: bool) -> Result<url::Url, ClientError> {
    let err = |m: &str| Err(ClientError(format!("client metadata URL {client_id:?}: {m}")));
    let Ok(u) = url::Url::parse(client_id) else { return err("not a URL") };
    if u.as_str() != client_id && format!("{}", u).trim_end_matches('/') != client_id {
        return err("must be in normalized form");
    }
    if u.fragment().is_some() || !u.username().is_empty() || u.password().is_some() {
        return err("must not contain a fragment or credentials");
    }
    if u.path() == "/" || u.path().is_empty() || u.path().split('/').any(|s| s == "." || s == "..") {
        return err("must have a path");
    }
    let loopback = is_loopback_host(&u);
    match (u.scheme(), loopback) {
        ("https", false) => {}
        ("https" | "http", true) if local_run => return Ok(u),
        ("http", _) => return err("must use https"),
        (_, true) => return err("must not point at a loopback address"),
        _ => return err("must use https"),
    }
    match u.host() {
        Some(url::Host::Ipv4(ip)) if !is_public(IpAddr::V4(ip)) => err("must not point at a private address"),
        Some(url::Host::Ipv6(ip)) if !is_public(IpAddr::V6(ip)) => err("must not point at a private address"),
        Some(url::Host::Domain(d))
            if d.ends_with(".local") || d.ends_with(".internal") || d.ends_with(".localhost") || !d.contains('.') =>
        {
            err("must name a public host")
        }
        _ => Ok(u),
    }
}

fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (64..128).contains(&o[1]))
                || o[0] >= 224)
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            !(v6.is_loopback()
                || v6.is_unspecified()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || v6.to_ipv4_mapped().is_some())
        }
    }
}

async fn fetch_metadata<P: Platform>(ctx: &Ctx<'_, P>, client_id: &str) -> Result<Client, ClientError> {
    let url = check_metadata_url(client_id, ctx.is_local_run())?;
    let request = HttpRequest::new("GET", url.clone()).with_header("accept", "application/json");
    let fetch = std::pin::pin!(ctx.platform.send(request));
    let timeout = std::pin::pin!(ctx.platform.sleep_ms(METADATA_TIMEOUT_MS));
    let resp = match futures::future::select(fetch, timeout).await {
        futures::future::Either::Left((r, _)) => {
            r.map_err(|e| ClientError(format!("could not fetch the client metadata document: {e}")))?
        }
        futures::future::Either::Right(_) => {
            return Err(ClientError("the client metadata document did not arrive in time".into()))
        }
    };
    if resp.status != 200 {
        return Err(ClientError(format!("the client metadata document answered HTTP {}", resp.status)));
    }
    if resp.body.len() > MAX_METADATA_BYTES {
        return Err(ClientError("the client metadata document is larger than 5 KB".into()));
    }
    let doc: Value = serde_json::from_slice(&resp.body)
        .map_err(|_| ClientError("the client metadata document is not JSON".into()))?;
    if doc.get("client_id").and_then(Value::as_str) != Some(client_id) {
        return Err(ClientError("the client metadata document's client_id does not equal its URL".into()));
    }
    let uris: Vec<String> = doc
        .get("redirect_uris")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default();
    if uris.is_empty() {
        return Err(ClientError("the client metadata document has no redirect_uris".into()));
    }
    for u in &uris {
        check_redirect_uri(u).map_err(ClientError)?;
    }
    match doc.get("token_endpoint_auth_method").and_then(Value::as_str) {
        None | Some("none") | Some("private_key_jwt") => {}
        Some(other) => {
            return Err(ClientError(format!(
                "token_endpoint_auth_method {other:?} is not supported for metadata documents"
            )))
        }
    }
    let domain = url.host_str().unwrap_or_default().to_string();
    let name =
        doc.get("client_name").and_then(Value::as_str).and_then(crate::pages::plain_name).unwrap_or(domain.clone());
    Ok(Client {
        id: client_id.to_string(),
        name,
        redirect_uris: uris,
        auth_method: AuthMethod::None,
        metadata_domain: Some(domain),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uri_rules() {
        assert!(check_redirect_uri("https://claude.ai/api/mcp/auth_callback").is_ok());
        assert!(check_redirect_uri("http://127.0.0.1:33418/callback").is_ok());
        assert!(check_redirect_uri("http://localhost:6274/oauth/callback").is_ok());
        assert!(check_redirect_uri("cursor://anysphere.cursor-retrieval/oauth/callback").is_ok());
        assert!(check_redirect_uri("http://evil.example/cb").is_err());
        assert!(check_redirect_uri("javascript:alert(1)").is_err());
        assert!(check_redirect_uri("data:text/html,hi").is_err());
        assert!(check_redirect_uri("https://a.example/cb#frag").is_err());
        assert!(check_redirect_uri("com.example.app:/oauth2redirect").is_ok());
        assert!(check_redirect_uri("myapp://callback").is_err(), "not a reversed domain");
        assert!(check_redirect_uri("evil:whatever").is_err());
    }

    #[test]
    fn redirect_matching_is_exact_but_loopback_port_may_vary() {
        let reg = vec!["http://127.0.0.1:3000/cb".to_string(), "https://app.example/cb".to_string()];
        assert!(redirect_matches(&reg, "http://127.0.0.1:3000/cb"));
        assert!(redirect_matches(&reg, "http://127.0.0.1:51234/cb"));
        assert!(!redirect_matches(&reg, "http://127.0.0.1:51234/other"));
        assert!(redirect_matches(&reg, "https://app.example/cb"));
        assert!(!redirect_matches(&reg, "https://app.example/cb/"));
        assert!(!redirect_matches(&reg, "https://app.example:444/cb"));
    }

    #[test]
    fn metadata_urls_never_reach_private_addresses() {
        assert!(check_metadata_url("https://claude.ai/oauth/mcp-oauth-client-metadata", false).is_ok());
        for bad in [
            "http://claude.ai/oauth/client.json",
            "https://claude.ai/",
            "https://10.0.0.1/client.json",
            "https://169.254.169.254/latest/meta-data",
            "https://[::1]/client.json",
            "https://127.0.0.1/client.json",
            "https://localhost/client.json",
            "https://printer.local/client.json",
            "https://user:pw@claude.ai/client.json",
            "https://claude.ai/client.json#x",
            "https://[::ffff:10.0.0.1]/c.json",
        ] {
            assert!(check_metadata_url(bad, false).is_err(), "{bad} accepted");
        }
        assert!(check_metadata_url("http://127.0.0.1:9000/client.json", true).is_ok());
        assert!(check_metadata_url("http://10.0.0.1/client.json", true).is_err());
    }
}
