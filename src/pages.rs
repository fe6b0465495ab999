//! The few HTML pages a person sees in a browser: consent and results. Everything
//! attacker-chosen (client names, hosts) is escaped; every page forbids framing and runs
//! under a strict Content-Security-Policy (no scripts at all; the one stylesheet by hash).

use crate::core::crypto::sha256;
use crate::core::http::HttpResponse;
use base64::Engine;

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;line-height:1.5;color:#191414}\
h1{font-size:1.4rem}.card{border:1px solid #ddd;border-radius:.6rem;padding:1rem 1.2rem;margin:1rem 0}\
.warn{background:#fff4e5;border-color:#f0b429}.muted{color:#666;font-size:.9rem}code{background:#f4f4f4;padding:0 .2rem}\
button{font-size:1rem;padding:.5rem 1.2rem;border-radius:2rem;border:1px solid #191414;background:#fff;cursor:pointer;margin-right:.5rem}\
button.primary,a.button.primary{background:#1db954;border-color:#1db954;color:#fff}ul{padding-left:1.2rem}\
a.button{display:inline-block;text-decoration:none;padding:.5rem 1.2rem;border-radius:2rem}form.inline{display:inline;margin-left:.5rem}\
pre{background:#f4f4f4;padding:.6rem;border-radius:.4rem;overflow-x:auto;white-space:pre-wrap;word-break:break-all}\
ul.apps li{margin:.4rem 0}h2{font-size:1.1rem}";

pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A page with the security headers every HTML response of ours carries.
/// `form_targets`: origins a form on this page may post to or be redirected to.
pub fn page(status: u16, title: &str, body_html: &str, form_targets: &[String]) -> HttpResponse {
    let style_hash = base64::engine::general_purpose::STANDARD.encode(sha256(STYLE.as_bytes()));
    let mut form_action = String::from("'self'");
    for t in form_targets {
        form_action.push(' ');
        form_action.push_str(t);
    }
    let csp = format!(
        "default-src 'none'; style-src 'sha256-{style_hash}'; img-src 'self' data:; form-action {form_action}; frame-ancestors 'none'; base-uri 'none'"
    );
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
<title>{}</title><link rel=\"icon\" href=\"/icon.svg\" type=\"image/svg+xml\"><style>{STYLE}</style></head><body>{body_html}</body></html>",
        escape(title)
    );
    HttpResponse::html(status, html)
        .with_header("content-security-policy", csp)
        .with_header("x-frame-options", "DENY")
        .with_header("x-content-type-options", "nosniff")
        .with_header("referrer-policy", "no-referrer")
        .with_header("cache-control", "no-store")
}

/// A failure a person can act on: what happened, then what to do.
pub fn problem(status: u16, title: &str, what: &str, todo: &str) -> HttpResponse {
    let body = format!(
        "<h1>{}</h1><div class=\"card\"><p>{}</p><p><strong>What to do:</strong> {}</p></div>",
        escape(title),
        escape(what),
        escape(todo)
    );
    page(status, title, &body, &[])
}

pub fn success(title: &str, message: &str) -> HttpResponse {
    let body = format!("<h1>{}</h1><div class=\"card\"><p>{}</p></div>", escape(title), escape(message));
    page(200, title, &body, &[])
}

pub struct ConsentView<'a> {
    pub client_name: &'a str,
    pub redirect_host: &'a str,
    pub redirect_is_loopback: bool,
    pub cimd_domain: Option<&'a str>,
    pub sealed_request: &'a str,
    pub csrf: &'a str,
    pub spotify_origin: String,
    pub redirect_origin: String,
}

/// What an approved client may do, in plain words, grouped like the Spotify scopes we request.
pub const CAPABILITIES: &[&str] = &[
    "Search Spotify's catalogue and read your profile name",
    "See what is playing and control playback on your devices",
    "Read your library, followed artists, top items and recently played",
    "Read and edit your playlists and saved items",
];

pub fn consent(v: &ConsentView) -> HttpResponse {
    let loopback = if v.redirect_is_loopback {
        "<p class=\"card warn\">This client receives the result on <strong>this computer</strong> (a loopback address). \
Approve only if you just started the connection from an app on this machine.</p>"
    } else {
        ""
    };
    let origin = match v.cimd_domain {
        Some(d) => format!("<p class=\"muted\">Client published by the domain <strong>{}</strong>.</p>", escape(d)),
        None => "<p class=\"muted\">This client registered itself; its name is unverified.</p>".to_string(),
    };
    let caps: String = CAPABILITIES.iter().map(|c| format!("<li>{}</li>", escape(c))).collect();
    let body = format!(
        "<h1>Connect an app to your Spotify</h1><div class=\"card\"><p><strong>{name}</strong> (unverified) wants to use Spotify on your behalf \
through this server. It will be sent back to <strong>{host}</strong>.</p>{origin}</div>{loopback}\
<div class=\"card\"><p>If you approve and sign in to Spotify, it will be able to:</p><ul>{caps}</ul></div>\
<form method=\"post\" action=\"/authorize\"><input type=\"hidden\" name=\"request\" value=\"{req}\">\
<input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
<button class=\"primary\" type=\"submit\" name=\"decision\" value=\"approve\">Approve and sign in to Spotify</button>\
<button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button></form>\
<p class=\"muted\">Only approve apps you recognise. You can revoke access at any time.</p>",
        name = escape(v.client_name),
        host = escape(v.redirect_host),
        req = escape(v.sealed_request),
        csrf = escape(v.csrf),
    );
    page(200, "Connect an app to your Spotify", &body, &[v.spotify_origin.clone(), v.redirect_origin.clone()])
}

/// `GET /`: what this is, the URL to copy, and how to connect the common clients.
pub fn landing(origin: &str) -> HttpResponse {
    let mcp = format!("{origin}/mcp");
    let e = escape(&mcp);
    let body = format!(
        "<h1>Spotify for your AI assistant</h1>\
<p>This is a <a href=\"https://modelcontextprotocol.io\">Model Context Protocol</a> server: connect an assistant (Claude, Cursor, VS Code, ChatGPT…) \
and it can search Spotify, control playback and manage your playlists. Everyone signs in with their own Spotify account.</p>\
<div class=\"card\"><p><strong>Server URL</strong></p><pre id=\"url\">{e}</pre></div>\
<div class=\"card\"><h2>Connect your client</h2>\
<p><strong>Claude Code</strong></p><pre>claude mcp add --transport http spotify {e}</pre>\
<p><strong>Cursor</strong> (<code>~/.cursor/mcp.json</code>)</p><pre>{{\"mcpServers\": {{\"spotify\": {{\"url\": \"{e}\"}}}}}}</pre>\
<p><strong>VS Code</strong> (<code>.vscode/mcp.json</code>)</p><pre>{{\"servers\": {{\"spotify\": {{\"type\": \"http\", \"url\": \"{e}\"}}}}}}</pre>\
<p><strong>Claude Desktop / claude.ai</strong>: Settings → Connectors → Add custom connector → paste the server URL.</p>\
<p><strong>Clients that only speak stdio</strong></p><pre>npx mcp-remote {e}</pre>\
<p class=\"muted\">Your client opens a browser: approve it on this server's page, sign in to Spotify, done.</p></div>\
<div class=\"card warn\"><h2>Spotify's Development Mode</h2><p>Spotify apps in Development Mode work only for up to 5 people \
the app owner added (Spotify dashboard → your app → User Management), and the owner needs Spotify Premium. \
Playback control needs Premium for every user.</p></div>\
<p><a href=\"/account\">Your connection</a>: see and revoke connected apps, or delete your data.</p>"
    );
    page(200, "Spotify MCP server", &body, &[])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consent_escapes_client_name_and_forbids_framing() {
        let r = consent(&ConsentView {
            client_name: "<script>alert(1)</script>",
            redirect_host: "evil\"host",
            redirect_is_loopback: true,
            cimd_domain: None,
            sealed_request: "abc",
            csrf: "tok",
            spotify_origin: "https://accounts.spotify.com".into(),
            redirect_origin: "http://127.0.0.1:3000".into(),
        });
        let html = String::from_utf8(r.body.clone()).unwrap();
        assert!(!html.contains("<script>"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(html.contains("evil&quot;host"));
        assert!(html.contains("loopback"));
        let csp = r.header("content-security-policy").unwrap();
        assert!(csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'none'"));
        assert!(csp.contains("form-action 'self' https://accounts.spotify.com http://127.0.0.1:3000"));
        assert_eq!(r.header("x-frame-options"), Some("DENY"));
    }
}
