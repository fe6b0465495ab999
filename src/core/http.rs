//! HTTP values independent of any runtime, so handlers can be tested without workerd.

use std::collections::HashMap;

/// What an outbound request may read by default: more than any Spotify answer we ask for.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;
/// How long an outbound request may take by default, headers and body together.
pub const DEFAULT_TIMEOUT_MS: u64 = 15_000;

#[derive(Clone, PartialEq, Eq)]
pub struct HttpRequest {
    pub method: String,
    pub url: url::Url,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Outbound only: the most response body the [`Http`](crate::core::platform::Http) port
    /// reads. A longer body (declared or streamed) is not read on: the fetch is aborted and
    /// the call fails.
    pub max_response_bytes: usize,
    /// Outbound only: the whole exchange, response body included, must be over by then;
    /// otherwise the fetch is aborted and the call fails.
    pub timeout_ms: u64,
}

/// Headers whose values are credentials (ours, Spotify's or a person's): never printed.
const SECRET_HEADERS: &[&str] =
    &["authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "x-auth-token"];

fn redacted_headers(headers: &[(String, String)]) -> Vec<(&str, &str)> {
    headers
        .iter()
        .map(|(k, v)| {
            let secret = SECRET_HEADERS.iter().any(|s| k.eq_ignore_ascii_case(s))
                || k.to_ascii_lowercase().contains("token")
                || k.to_ascii_lowercase().contains("secret");
            (k.as_str(), if secret { "<redacted>" } else { v.as_str() })
        })
        .collect()
}

impl std::fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Headers carry Basic credentials and bearer tokens, queries carry codes and state,
        // bodies carry tokens: show names and sizes only.
        let mut url = self.url.clone();
        url.set_query(self.url.query().map(|_| "<redacted>"));
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("url", &url.as_str())
            .field("headers", &redacted_headers(&self.headers))
            .field("body_len", &self.body.len())
            .field("max_response_bytes", &self.max_response_bytes)
            .field("timeout_ms", &self.timeout_ms)
            .finish()
    }
}

#[derive(Clone, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl std::fmt::Debug for HttpResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Bodies may carry tokens: show their size only.
        f.debug_struct("HttpResponse")
            .field("status", &self.status)
            .field("headers", &redacted_headers(&self.headers))
            .field("body_len", &self.body.len())
            .finish()
    }
}

fn find<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

impl HttpRequest {
    pub fn new(method: &str, url: url::Url) -> Self {
        Self {
            method: method.to_string(),
            url,
            headers: Vec::new(),
            body: Vec::new(),
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            timeout_ms: DEFAULT_TIMEOUT_MS,
        }
    }

    /// Outbound: read at most `max_response_bytes` of the answer, and give up after `timeout_ms`.
    pub fn with_limits(mut self, max_response_bytes: usize, timeout_ms: u64) -> Self {
        self.max_response_bytes = max_response_bytes;
        self.timeout_ms = timeout_ms;
        self
    }

    /// The `Content-Length` this request declares, when it declares a valid one.
    pub fn content_length(&self) -> Option<u64> {
        declared_length(&self.headers)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        find(&self.headers, name)
    }

    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    pub fn with_form(mut self, pairs: &[(&str, &str)]) -> Self {
        let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
        self.body = body.into_bytes();
        self.with_header("content-type", "application/x-www-form-urlencoded")
    }

    /// Query parameters; a repeated parameter keeps its first value and is reported by
    /// [`HttpRequest::repeated_query_param`] (OAuth forbids repeats).
    pub fn query(&self) -> HashMap<String, String> {
        first_values(self.url.query_pairs())
    }

    pub fn repeated_query_param(&self) -> Option<String> {
        repeated(self.url.query_pairs())
    }

    /// `application/x-www-form-urlencoded` body fields.
    pub fn form(&self) -> HashMap<String, String> {
        first_values(url::form_urlencoded::parse(&self.body))
    }

    /// Every value of a form field that may repeat (checkboxes).
    pub fn form_all(&self, name: &str) -> Vec<String> {
        url::form_urlencoded::parse(&self.body).filter(|(k, _)| k == name).map(|(_, v)| v.into_owned()).collect()
    }

    pub fn repeated_form_param(&self) -> Option<String> {
        repeated(url::form_urlencoded::parse(&self.body))
    }

    /// `scheme://host[:port]` of this request, the base of every URL we publish. For an
    /// http(s) URL without credentials (every request a runtime hands us) that is the URL's
    /// text before its path, sliced rather than built by `Url::origin` (a host copy and a
    /// `format!`), as it is asked several times a request.
    pub fn origin(&self) -> String {
        let u = &self.url;
        if matches!(u.scheme(), "http" | "https") && u.username().is_empty() && u.password().is_none() {
            u[..url::Position::BeforePath].to_string()
        } else {
            u.origin().ascii_serialization()
        }
    }

    /// A cookie value by name (first match).
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("cookie"))
            .flat_map(|(_, v)| v.split(';'))
            .filter_map(|part| part.trim().split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    }
}

/// Headers as one text, `name\nvalue\n` per header: how they cross between the Worker's
/// .wasm and JS in one call (src/edge/glue.js) rather than one call per name and value.
/// The Fetch API refuses CR, LF and NUL in names and values, so the runtime's headers never
/// carry them; in ours they become spaces (a `Headers` object would refuse them and fail the
/// whole answer).
pub fn header_lines(headers: &[(String, String)]) -> String {
    let mut text = String::new();
    for (name, value) in headers {
        for part in [name, value] {
            if part.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0)) {
                text.extend(part.chars().map(|c| if matches!(c, '\r' | '\n' | '\0') { ' ' } else { c }));
            } else {
                text.push_str(part);
            }
            text.push('\n');
        }
    }
    text
}

/// The headers of a [`header_lines`] text.
pub fn headers_from_lines(text: &str) -> Vec<(String, String)> {
    let mut lines = text.split('\n');
    let mut out = Vec::new();
    while let (Some(name), Some(value)) = (lines.next(), lines.next()) {
        out.push((name.to_string(), value.to_string()));
    }
    out
}

/// `Content-Length` as a number; `None` when absent or not one plain decimal (then only the
/// bytes actually read count).
pub fn declared_length(headers: &[(String, String)]) -> Option<u64> {
    let v = find(headers, "content-length")?.trim();
    (!v.is_empty() && v.bytes().all(|b| b.is_ascii_digit())).then(|| v.parse().unwrap_or(u64::MAX))
}

/// Why a body was not read whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyError {
    /// More than the limit arrived (or was declared); reading stopped there.
    TooLarge { limit: usize },
    /// The stream failed.
    Read(String),
}

impl std::fmt::Display for BodyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BodyError::TooLarge { limit } => write!(f, "the body is larger than {limit} bytes"),
            BodyError::Read(e) => write!(f, "the body could not be read: {e}"),
        }
    }
}

/// Reads a body stream, holding at most `limit` bytes: the first chunk past the limit ends
/// the read (the caller then decides what becomes of the rest), so a lying or missing
/// `Content-Length` costs at most one chunk more than the limit.
pub async fn read_limited<S, E>(stream: &mut S, limit: usize) -> Result<Vec<u8>, BodyError>
where
    S: futures::Stream<Item = Result<Vec<u8>, E>> + Unpin,
    E: std::fmt::Display,
{
    use futures::StreamExt;
    let mut body = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| BodyError::Read(e.to_string()))?;
        if body.len().saturating_add(chunk.len()) > limit {
            return Err(BodyError::TooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn first_values<'a>(
    pairs: impl Iterator<Item = (std::borrow::Cow<'a, str>, std::borrow::Cow<'a, str>)>,
) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for (k, v) in pairs {
        out.entry(k.into_owned()).or_insert_with(|| v.into_owned());
    }
    out
}

fn repeated<'a>(pairs: impl Iterator<Item = (std::borrow::Cow<'a, str>, std::borrow::Cow<'a, str>)>) -> Option<String> {
    let mut seen = std::collections::HashSet::new();
    pairs.map(|(k, _)| k.into_owned()).find(|k| !seen.insert(k.clone()))
}

impl HttpResponse {
    pub fn new(status: u16) -> Self {
        Self { status, headers: Vec::new(), body: Vec::new() }
    }

    pub fn json(status: u16, value: &serde_json::Value) -> Self {
        Self::json_bytes(status, serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec()))
    }

    /// A JSON answer already serialized (see `mcp::server::Reply::to_vec`).
    pub fn json_bytes(status: u16, body: Vec<u8>) -> Self {
        Self::new(status).with_header("content-type", "application/json").with_body(body)
    }

    pub fn html(status: u16, html: String) -> Self {
        Self::new(status).with_header("content-type", "text/html; charset=utf-8").with_body(html.into_bytes())
    }

    pub fn redirect(location: &str) -> Self {
        Self::new(302).with_header("location", location).with_header("cache-control", "no-store")
    }

    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    pub fn with_body(mut self, body: Vec<u8>) -> Self {
        self.body = body;
        self
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        find(&self.headers, name)
    }

    pub fn body_json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

pub fn is_loopback_host(u: &url::Url) -> bool {
    match u.host() {
        // `localhost.` is the same name, fully qualified.
        Some(url::Host::Domain(d)) => d.strip_suffix('.').unwrap_or(d).eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_text_round_trips_and_never_carries_a_line_break_inside_a_header() {
        let headers: Vec<(String, String)> = [("content-type", "application/json"), ("x-empty", ""), ("a", "b: c")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let text = header_lines(&headers);
        assert_eq!(text, "content-type\napplication/json\nx-empty\n\na\nb: c\n");
        assert_eq!(headers_from_lines(&text), headers);
        assert_eq!(headers_from_lines(""), vec![]);
        // A value with a line break would shift every header after it; it is sent with spaces.
        let bad = vec![("x-a".to_string(), "one\r\ntwo\0".to_string()), ("x-b".to_string(), "b".to_string())];
        let back = headers_from_lines(&header_lines(&bad));
        assert_eq!(back, vec![("x-a".to_string(), "one  two ".to_string()), ("x-b".to_string(), "b".to_string())]);
    }

    #[test]
    fn origin_is_the_urls_origin() {
        for u in [
            "https://mcp.example/mcp",
            "https://mcp.example:443/mcp?x=1",
            "http://127.0.0.1:8787/mcp",
            "http://[::1]:8787/",
            "https://MCP.Example.:8443/a/b#f",
            "https://user:pw@mcp.example/mcp",
            "http://xn--bcher-kva.example",
            "data:text/plain,x",
        ] {
            let url = url::Url::parse(u).unwrap();
            let expected = url.origin().ascii_serialization();
            assert_eq!(HttpRequest::new("GET", url).origin(), expected, "{u}");
        }
    }

    /// Size: `url` reaches Unicode host handling through `idna`, whose default back end
    /// (`idna_adapter` 1.2) brings ICU4X normalisation tables, about 50 KB of the gzipped
    /// .wasm. Cargo.lock holds the ASCII-only 1.0.0 instead (not a direct dependency: its
    /// debug assertion fires on some non-ASCII hosts in the fuzz builds, whose own lock
    /// keeps 1.2). Every host we parse is ASCII or Punycode; a raw non-ASCII host is an
    /// invalid URL. This keeps a `cargo update` from undoing it unnoticed.
    #[test]
    fn the_lock_keeps_the_ascii_only_idna_back_end() {
        let lock = include_str!("../../Cargo.lock");
        let entry = lock.split("[[package]]").find(|p| p.contains("name = \"idna_adapter\"")).expect("in the lock");
        assert!(entry.contains("version = \"1.0.0\""), "{entry}");
        assert!(url::Url::parse("https://\u{e9}xample.com/").is_err(), "a raw non-ASCII host is refused");
        assert_eq!(url::Url::parse("https://xn--xample-9ua.com/").unwrap().host_str(), Some("xn--xample-9ua.com"));
    }
    use futures::executor::block_on;

    #[test]
    fn debug_never_prints_credentials_queries_or_bodies() {
        let mut req =
            HttpRequest::new("POST", url::Url::parse("https://accounts.example/api/token?code=c0de").unwrap())
                .with_header("Authorization", "Basic c2VjcmV0OnNlY3JldA==")
                .with_header("cookie", "__Host-mcp_session=s3ss10n")
                .with_header("x-refresh-token", "rt-123")
                .with_header("accept", "application/json");
        req.body = b"refresh_token=rt-456".to_vec();
        let shown = format!("{req:?}");
        for secret in ["c2VjcmV0", "s3ss10n", "rt-123", "rt-456", "c0de"] {
            assert!(!shown.contains(secret), "{secret} printed: {shown}");
        }
        assert!(shown.contains("application/json") && shown.contains("body_len: 20"), "{shown}");
        let resp = HttpResponse::new(200).with_header("Set-Cookie", "__Host-mcp_session=abc123; Secure");
        assert!(!format!("{resp:?}").contains("abc123"));
    }

    #[test]
    fn bodies_are_read_up_to_the_limit_only() {
        let chunks = |n: usize| futures::stream::iter((0..n).map(|_| Ok::<_, String>(vec![7u8; 1000])));
        assert_eq!(block_on(read_limited(&mut chunks(3), 3000)).unwrap().len(), 3000);
        assert_eq!(block_on(read_limited(&mut chunks(4), 3000)), Err(BodyError::TooLarge { limit: 3000 }));
        // An endless stream ends at the limit, not at the end of memory.
        let mut endless = futures::stream::repeat_with(|| Ok::<_, String>(vec![0u8; 64 * 1024]));
        assert_eq!(block_on(read_limited(&mut endless, 256 * 1024)), Err(BodyError::TooLarge { limit: 256 * 1024 }));
        let mut failing = futures::stream::iter([Ok(vec![1u8]), Err("reset".to_string())]);
        assert!(matches!(block_on(read_limited(&mut failing, 10)), Err(BodyError::Read(e)) if e == "reset"));
    }

    #[test]
    fn content_length_is_a_plain_decimal_or_nothing() {
        let h = |v: &str| vec![("Content-Length".to_string(), v.to_string())];
        assert_eq!(declared_length(&h("104857600")), Some(104_857_600));
        assert_eq!(declared_length(&h("99999999999999999999999")), Some(u64::MAX));
        assert_eq!(declared_length(&h("-1")), None);
        assert_eq!(declared_length(&h("1, 2")), None);
        assert_eq!(declared_length(&[]), None);
    }
}
