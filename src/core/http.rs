//! HTTP values independent of any runtime, so handlers can be tested without workerd.

use serde::Serialize;
use std::collections::HashMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    pub method: String,
    pub url: url::Url,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
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
            .field("headers", &self.headers)
            .field("body_len", &self.body.len())
            .finish()
    }
}

fn find<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

impl HttpRequest {
    pub fn new(method: &str, url: url::Url) -> Self {
        Self { method: method.to_string(), url, headers: Vec::new(), body: Vec::new() }
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

    /// `scheme://host[:port]` of this request, the base of every URL we publish.
    pub fn origin(&self) -> String {
        self.url.origin().ascii_serialization()
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

    pub fn json(status: u16, value: &impl Serialize) -> Self {
        let body = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
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
