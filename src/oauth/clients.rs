//! Who an MCP client is. Three ways, in the 2026-07-28 spec's order of preference:
//! a Client ID Metadata Document (the client_id is an https URL we fetch), Dynamic Client
//! Registration (the client_id we hand out *is* the sealed registration, so it needs no
//! KV write and works at every edge location at once), or nothing for clients that
//! already hold such an id.

use crate::context::Ctx;
use crate::core::crypto::{b64url, ct_eq};
use crate::core::http::{HttpRequest, HttpResponse};
use crate::core::platform::Platform;
use crate::core::record::{json_names, json_record, Json};
use crate::core::sealed::{self, Purpose};
use crate::oauth::error;
use serde_json::{json, Value};
use std::net::IpAddr;

const DCR_PREFIX: &str = "mcp_";
/// A client metadata document is read no further than this; the fetch is then aborted.
pub const MAX_METADATA_BYTES: usize = 5 * 1024;
/// A client metadata document must have arrived whole by then.
pub const METADATA_TIMEOUT_MS: u64 = 5_000;
/// The longest client_id accepted anywhere (a metadata URL or a registration).
pub const MAX_CLIENT_ID_BYTES: usize = 4 * 1024;
/// The longest redirect URI a registration or a metadata document may list.
pub const MAX_REDIRECT_URI_BYTES: usize = 2 * 1024;

/// Why a client_id is refused before anything else is done with it.
fn check_client_id_length(client_id: &str) -> Result<(), ClientError> {
    if client_id.len() > MAX_CLIENT_ID_BYTES {
        return Err(ClientError(format!(
            "invalid_client: the client_id is longer than {MAX_CLIENT_ID_BYTES} bytes; register the client again"
        )));
    }
    Ok(())
}

/// Why a metadata document cannot be used here, for a `token_endpoint_auth_method` other than `none`.
const CONFIDENTIAL_DOCUMENT: &str = "invalid_client: this server accepts client metadata documents only from \
     public clients (token_endpoint_auth_method \"none\", protected by PKCE); it does not verify private_key_jwt \
     client assertions. Publish a document with \"none\", or register the client (POST /register).";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    None,
    SecretPost,
    SecretBasic,
}

json_names!(AuthMethod { None = "none", SecretPost = "client_secret_post", SecretBasic = "client_secret_basic" });

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
struct Registration {
    n: String,
    r: Vec<String>,
    a: AuthMethod,
}

json_record!(Registration { n, r, a });

/// Redirect URIs a client may register: https anywhere, http only to loopback (RFC 8252),
/// or a private-use scheme of a native app. Never script-capable or local-file schemes.
pub fn check_redirect_uri(uri: &str) -> Result<(), String> {
    if uri.len() > MAX_REDIRECT_URI_BYTES {
        return Err(format!("a redirect_uri may be at most {MAX_REDIRECT_URI_BYTES} bytes long"));
    }
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

pub use crate::core::http::is_loopback_host;

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
    if client_id.len() > MAX_CLIENT_ID_BYTES {
        return bad(&format!(
            "this registration makes a client_id longer than {MAX_CLIENT_ID_BYTES} bytes: use fewer or shorter redirect_uris"
        ));
    }
    let mut out = json!({
        "client_id": client_id,
        "client_id_issued_at": ctx.now(),
        "client_name": name,
        "redirect_uris": uris,
        "token_endpoint_auth_method": method.to_json(),
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
    check_client_id_length(client_id)?;
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
    if let Err(e) = check_client_id_length(&id) {
        return invalid(e.0.trim_start_matches("invalid_client: "));
    }
    if form.contains_key("client_assertion") || form.contains_key("client_assertion_type") {
        // RFC 7523 private_key_jwt: not verified here, so never taken as authentication.
        return invalid(CONFIDENTIAL_DOCUMENT.trim_start_matches("invalid_client: "));
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
        Some(url::Host::Domain(d)) if !is_public_name(d) => err("must name a public host"),
        Some(_) => Ok(u),
        None => err("must name a host"),
    }
}

/// A DNS name that may be public: at least two labels, none empty, and not a name kept
/// for local networks. A trailing dot (the fully qualified form) names the same host.
fn is_public_name(name: &str) -> bool {
    let name = name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase();
    const LOCAL: &[&str] = &["localhost", "local", "internal", "lan", "home", "corp", "intranet", "home.arpa"];
    name.contains('.')
        && !name.split('.').any(str::is_empty)
        && !LOCAL.iter().any(|l| name == *l || name.ends_with(&format!(".{l}")))
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
                || (o[0] == 192 && o[1] == 0 && o[2] == 0)
                || (o[0] == 198 && (o[1] == 18 || o[1] == 19))
                || o[0] >= 224)
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            // Global unicast (2000::/3) only. That leaves out ::1, ::, IPv4-mapped and
            // -compatible forms (::ffff:127.0.0.1), NAT64 (64:ff9b::/96), unique-local
            // (fc00::/7), link-local (fe80::/10), site-local and multicast.
            (s[0] & 0xe000) == 0x2000
                && !(s[0] == 0x2001 && s[1] == 0x0db8) // documentation
                && !(s[0] == 0x2001 && s[1] < 0x0200) // protocol assignments, Teredo
                && s[0] != 0x2002 // 6to4: embeds an IPv4 address
        }
    }
}

async fn fetch_metadata<P: Platform>(ctx: &Ctx<'_, P>, client_id: &str) -> Result<Client, ClientError> {
    let url = check_metadata_url(client_id, ctx.is_local_run())?;
    // The port stops reading past the cap and aborts at the deadline: a document that
    // streams forever or stalls costs at most 5 KB and 5 s.
    let request = HttpRequest::new("GET", url.clone())
        .with_header("accept", "application/json")
        .with_limits(MAX_METADATA_BYTES, METADATA_TIMEOUT_MS);
    let resp = ctx
        .platform
        .send(request)
        .await
        .map_err(|e| ClientError(format!("could not fetch the client metadata document: {e}")))?;
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
    // The document's own method (singular, RFC 7591 §2), not any list of supported ones.
    // Absent: taken as public, the only kind a document can describe here.
    match doc.get("token_endpoint_auth_method") {
        None => {}
        Some(Value::String(m)) if m == "none" => {}
        Some(Value::String(m)) if m == "private_key_jwt" => return Err(ClientError(CONFIDENTIAL_DOCUMENT.into())),
        Some(other) => {
            return Err(ClientError(format!(
                "invalid_client: token_endpoint_auth_method {} cannot be used with a client metadata document; \
                 only \"none\" (a public client with PKCE) is accepted here",
                crate::json::text(other)
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

    /// A registered client_id carries its registration sealed forever (no expiry): the form
    /// serde's derive wrote must keep opening, or every registered client is lost.
    #[test]
    fn registrations_sealed_by_the_previous_release_still_read() {
        use crate::core::record::{from_slice, to_vec};
        let old = br#"{"n":"Claude","r":["https://claude.ai/api/mcp/auth_callback","http://127.0.0.1/cb"],"a":"client_secret_basic"}"#;
        let reg: Registration = from_slice(old).unwrap();
        assert_eq!((reg.n.as_str(), reg.r.len(), reg.a), ("Claude", 2, AuthMethod::SecretBasic));
        let again: Value = serde_json::from_slice(&to_vec(&reg)).unwrap();
        assert_eq!(again, serde_json::from_slice::<Value>(old).unwrap());
        for (text, method) in [("none", AuthMethod::None), ("client_secret_post", AuthMethod::SecretPost)] {
            let v = json!({"n": "x", "r": [], "a": text});
            assert_eq!(Registration::from_json(&v).map(|r| r.a), Some(method));
        }
        assert!(Registration::from_json(&json!({"n": "x", "r": [], "a": "None"})).is_none());
    }

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

    #[test]
    fn metadata_urls_refuse_fully_qualified_local_names_and_non_global_ipv6() {
        for bad in [
            "https://localhost./client.json",
            "https://LOCALHOST./client.json",
            "https://app.localhost./client.json",
            "https://printer.local./client.json",
            "https://metadata.google.internal./computeMetadata",
            "https://router.home.arpa/client.json",
            "https://intranet./client.json",
            "https://127.0.0.1./client.json",
            "https://10.0.0.1./client.json",
            "https://[::1]/client.json",
            "https://[::]/client.json",
            "https://[::ffff:127.0.0.1]/client.json",
            "https://[::ffff:7f00:1]/client.json",
            "https://[::127.0.0.1]/client.json",
            "https://[fc00::1]/client.json",
            "https://[fd12:3456::1]/client.json",
            "https://[fe80::1]/client.json",
            "https://[febf::1]/client.json",
            "https://[fec0::1]/client.json",
            "https://[ff02::1]/client.json",
            "https://[64:ff9b::7f00:1]/client.json",
            "https://[2002:7f00:1::1]/client.json",
            "https://[2001:db8::1]/client.json",
            "https://[2001::1]/client.json",
        ] {
            assert!(check_metadata_url(bad, false).is_err(), "{bad} accepted");
        }
        assert!(check_metadata_url("https://[2606:4700::1111]/client.json", false).is_ok());
        assert!(check_metadata_url("https://app.example./client.json", false).is_ok(), "a public FQDN is fine");
    }

    #[cfg(not(target_arch = "wasm32"))]
    mod fetched {
        use super::super::*;
        use crate::core::config::Config;
        use crate::core::testing::{serve_json, serve_misbehaving, Misbehaviour, TestPlatform};
        use futures::executor::block_on;
        use std::time::{Duration, Instant};

        fn config() -> Config {
            let key = crate::core::crypto::b64url(&[42u8; 32]);
            let env: std::collections::HashMap<String, String> =
                [("TOKEN_ENCRYPTION_KEY".to_string(), key)].into_iter().collect();
            Config::from_env(&env).unwrap()
        }

        /// Resolves `client_id` as a Worker under `wrangler dev` would (loopback documents allowed).
        fn resolve_local(client_id: &str) -> (Result<Client, ClientError>, Duration) {
            let (platform, config) = (TestPlatform::default(), config());
            let ctx = Ctx { platform: &platform, config: &config, origin: "http://127.0.0.1:8787".into() };
            let started = Instant::now();
            (block_on(resolve(&ctx, client_id)), started.elapsed())
        }

        fn document(method: Option<&'static str>) -> String {
            serve_json(move |url| {
                let mut doc =
                    json!({"client_id": url, "client_name": "Doc", "redirect_uris": ["https://app.example/cb"]});
                if let Some(m) = method {
                    doc["token_endpoint_auth_method"] = json!(m);
                    doc["jwks_uri"] = json!("https://app.example/jwks.json");
                }
                doc.to_string()
            })
        }

        #[test]
        fn a_document_that_streams_forever_is_cut_off_at_5_kb() {
            for how in [Misbehaviour::Endless, Misbehaviour::Declared100Mb] {
                let base = serve_misbehaving(how);
                let (r, took) = resolve_local(&format!("{base}/client.json"));
                let e = r.unwrap_err().0;
                assert!(e.contains("could not fetch") && e.contains("larger than 5120 bytes"), "{how:?}: {e}");
                assert!(took < Duration::from_secs(2), "{how:?} took {took:?}");
            }
        }

        #[test]
        fn a_document_that_stalls_is_given_up_after_5_s() {
            let base = serve_misbehaving(Misbehaviour::StallAfterHeaders);
            let (r, took) = resolve_local(&format!("{base}/client.json"));
            let e = r.unwrap_err().0;
            assert!(e.contains("no complete answer within 5000 ms"), "{e}");
            assert!((Duration::from_millis(4500)..Duration::from_secs(8)).contains(&took), "took {took:?}");
        }

        #[test]
        fn only_public_client_documents_are_accepted() {
            for ok in [None, Some("none")] {
                let (r, _) = resolve_local(&format!("{}/client.json", document(ok)));
                let client = r.unwrap_or_else(|e| panic!("{ok:?}: {e:?}"));
                assert_eq!((client.auth_method, client.name.as_str()), (AuthMethod::None, "Doc"));
            }
            let (r, _) = resolve_local(&format!("{}/client.json", document(Some("private_key_jwt"))));
            let e = r.unwrap_err().0;
            assert!(e.starts_with("invalid_client:") && e.contains("only from public clients"), "{e}");
            for other in ["client_secret_basic", "tls_client_auth"] {
                let (r, _) = resolve_local(&format!("{}/client.json", document(Some(other))));
                assert!(r.unwrap_err().0.starts_with("invalid_client:"), "{other}");
            }
        }

        #[test]
        fn client_ids_are_bounded() {
            let long = format!("https://app.example/{}", "a".repeat(MAX_CLIENT_ID_BYTES));
            let (r, _) = resolve_local(&long);
            assert!(r.unwrap_err().0.contains("longer than 4096 bytes"));
            let (r, _) = resolve_local(&format!("mcp_{}", "A".repeat(100_000)));
            assert!(r.unwrap_err().0.contains("longer than 4096 bytes"));
        }
    }
}
