//! The few HTML pages a person sees in a browser: consent and results. Everything
//! attacker-chosen (client names, hosts) is escaped; every page forbids framing and runs
//! under a strict Content-Security-Policy (no scripts at all; the one stylesheet by hash).

use crate::core::capability::{Capabilities, Capability};
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
ul.apps li{margin:.4rem 0}h2{font-size:1.1rem}fieldset.card{display:block}legend{font-weight:600;padding:0 .3rem}\
label.opt{display:block;margin:.5rem 0}input[type=text]{font:inherit;width:100%;box-sizing:border-box;padding:.4rem;border:1px solid #767676;border-radius:.3rem}\
.error{background:#fdecea;border-color:#b3261e;color:#5f1410}input:focus,button:focus,a:focus,summary:focus{outline:3px solid #1a73e8;outline-offset:2px}\
.own{margin-left:1.6rem}@media (prefers-color-scheme:dark){body{background:#121212;color:#eee}.card{border-color:#444}.muted{color:#bbb}\
code,pre{background:#222}.warn{background:#3a2a00}.error{background:#3b1412;color:#fdd}button{background:#222;color:#eee;border-color:#eee}\
input[type=text]{background:#1e1e1e;color:#eee}a{color:#8ab4f8}}";

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

/// A name chosen by someone else (a client's `client_name`), made safe to show: no control
/// characters, no bidirectional overrides or isolates and no zero-width or other invisible
/// characters (they can reorder or hide the text around them, such as "(unverified)" and the
/// host), whitespace collapsed, at most 100 characters. Empty: `None`.
pub fn plain_name(raw: &str) -> Option<String> {
    let invisible = |c: char| {
        c.is_control()
            || matches!(c,
                '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}' | '\u{180B}'..='\u{180F}'
                | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{206F}' | '\u{3164}'
                | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}' | '\u{FFA0}' | '\u{FFF0}'..='\u{FFFB}' | '\u{E0000}'..='\u{E0FFF}')
    };
    let cleaned: String = raw.chars().filter(|c| !invisible(*c)).collect();
    let name = cleaned.split_whitespace().collect::<Vec<_>>().join(" ").chars().take(100).collect::<String>();
    (!name.is_empty()).then_some(name)
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
    /// Checked capability boxes.
    pub capabilities: Capabilities,
    pub app_choice: AppChoice,
    /// "My own Spotify app" is selected (the person chose it before an error).
    pub own_app_chosen: bool,
    /// The Client ID the person typed, shown again after an error.
    pub client_id: &'a str,
    /// The Redirect URI a person's own app must list.
    pub spotify_redirect_uri: &'a str,
    /// What to fix, when the form comes back.
    pub error: Option<&'a str>,
}

/// Which Spotify apps this deployment lets a person sign in with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppChoice {
    /// Only the operator's app (`USER_SPOTIFY_APPS=off`).
    OperatorOnly,
    /// No operator app: everyone brings their own.
    OwnRequired,
    /// Either, the operator's preselected.
    Either,
}

/// The steps to create a Spotify app, for a person who has never seen the dashboard.
/// `open`: shown unfolded (a person who must bring an app, or whose app needs fixing).
fn own_app_guide(redirect_uri: &str, open: bool) -> String {
    format!(
        "<details{o}><summary>How to create your Spotify app (about two minutes)</summary><ol>\
<li>Open the <a href=\"https://developer.spotify.com/dashboard\" target=\"_blank\" rel=\"noopener\">Spotify developer dashboard</a> and log in with your Spotify account.</li>\
<li>Choose <strong>Create app</strong>. Any name and description will do. Under <em>Which API/SDKs are you planning to use?</em> tick <strong>Web API</strong>.</li>\
<li>Under <strong>Redirect URIs</strong> add exactly this address, then save:<br>\
<label class=\"muted\" for=\"redirect_uri_copy\">Redirect URI (select and copy)</label>\
<input type=\"text\" id=\"redirect_uri_copy\" readonly value=\"{r}\"></li>\
<li>Open the app's <strong>Settings</strong>, copy the <strong>Client ID</strong> and paste it here. \
You do not need the Client secret: never paste it anywhere. This server signs in with PKCE, so nothing secret of yours reaches it.</li>\
</ol><p class=\"muted\">Your app is in Development Mode: it works for you (and up to 5 people you add under User Management).</p></details>",
        r = escape(redirect_uri),
        o = if open { " open" } else { "" }
    )
}

fn client_id_field(value: &str, required: bool) -> String {
    format!(
        "<label class=\"opt\" for=\"spotify_client_id\">Client ID of your Spotify app</label>\
<input type=\"text\" id=\"spotify_client_id\" name=\"spotify_client_id\" value=\"{v}\" maxlength=\"64\" \
autocomplete=\"off\" spellcheck=\"false\" autocapitalize=\"off\" \
placeholder=\"32 characters, 0-9 and a-f\" aria-describedby=\"client_id_help\"{req}>\
<p class=\"muted\" id=\"client_id_help\">From your app's Settings page in the Spotify developer dashboard.</p>",
        v = escape(value),
        req = if required { " required" } else { "" }
    )
}

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
    let error = v
        .error
        .map(|e| {
            format!("<div class=\"card error\" role=\"alert\"><p><strong>Please fix:</strong> {}</p></div>", escape(e))
        })
        .unwrap_or_default();
    let caps: String = Capability::ALL
        .iter()
        .map(|c| {
            format!(
                "<label class=\"opt\"><input type=\"checkbox\" name=\"capability\" value=\"{n}\"{checked}> <strong>{title}</strong>: {what}</label>",
                n = c.name(),
                checked = if v.capabilities.contains(*c) { " checked" } else { "" },
                title = match c {
                    Capability::Playback => "Playback",
                    Capability::Library => "Library",
                    Capability::Playlists => "Playlists",
                },
                what = escape(c.describe()),
            )
        })
        .collect();
    let app = match v.app_choice {
        AppChoice::OperatorOnly => String::new(),
        AppChoice::OwnRequired => format!(
            "<fieldset class=\"card\"><legend>Your Spotify app</legend>\
<p>This server has no shared Spotify app: you sign in with your own (Spotify allows each app only a few users).</p>\
<input type=\"hidden\" name=\"spotify_app\" value=\"own\">{}{}</fieldset>",
            client_id_field(v.client_id, true),
            own_app_guide(v.spotify_redirect_uri, true)
        ),
        AppChoice::Either => format!(
            "<fieldset class=\"card\"><legend>Which Spotify app signs you in</legend>\
<label class=\"opt\"><input type=\"radio\" name=\"spotify_app\" value=\"server\"{server}> Use this server's Spotify app</label>\
<label class=\"opt\"><input type=\"radio\" name=\"spotify_app\" value=\"own\"{own}> Use my own Spotify app \
<span class=\"muted\">(when this server's app is full: Spotify allows each app only 5 users)</span></label>\
<div class=\"own\">{field}{guide}</div></fieldset>",
            server = if v.own_app_chosen { "" } else { " checked" },
            own = if v.own_app_chosen { " checked" } else { "" },
            field = client_id_field(v.client_id, false),
            guide = own_app_guide(v.spotify_redirect_uri, v.own_app_chosen && v.error.is_some())
        ),
    };
    let body = format!(
        "<h1>Connect an app to your Spotify</h1><div class=\"card\"><p><strong><bdi>{name}</bdi></strong> (unverified) wants to use Spotify on your behalf \
through this server. It will be sent back to <strong>{host}</strong>.</p>{origin}</div>{loopback}\
<form method=\"post\" action=\"/authorize\"><input type=\"hidden\" name=\"request\" value=\"{req}\">\
<input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">{error}\
<fieldset class=\"card\"><legend>What it may do</legend>\
<p class=\"muted\">Always: search Spotify's catalogue and read your profile name.</p>{caps}\
<p class=\"muted\">Spotify will ask you for only the permissions these need (plus any you already gave this server).</p></fieldset>\
{app}\
<button class=\"primary\" type=\"submit\" name=\"decision\" value=\"approve\">Approve and sign in to Spotify</button>\
<button type=\"submit\" name=\"decision\" value=\"deny\" formnovalidate>Deny</button></form>\
<p class=\"muted\">Only approve apps you recognise. You can revoke access at any time on <a href=\"/account\">your connection</a> page.</p>",
        name = escape(&plain_name(v.client_name).unwrap_or_else(|| "Unnamed MCP client".into())),
        host = escape(v.redirect_host),
        req = escape(v.sealed_request),
        csrf = escape(v.csrf),
    );
    let status = if v.error.is_some() { 400 } else { 200 };
    page(status, "Connect an app to your Spotify", &body, &[v.spotify_origin.clone(), v.redirect_origin.clone()])
}

/// `GET /relink` when this server has no app to re-link with: ask for the person's own.
pub fn relink_app(token: &str, redirect_uri: &str, spotify_origin: &str, error: Option<&str>) -> HttpResponse {
    let error = error
        .map(|e| {
            format!("<div class=\"card error\" role=\"alert\"><p><strong>Please fix:</strong> {}</p></div>", escape(e))
        })
        .unwrap_or_default();
    let body = format!(
        "<h1>Link Spotify again</h1>{error}<form method=\"get\" action=\"/relink\" class=\"card\">\
<input type=\"hidden\" name=\"t\" value=\"{t}\"><p>Sign in with your own Spotify app.</p>{field}{guide}\
<p><button class=\"primary\" type=\"submit\">Continue to Spotify</button></p></form>",
        t = escape(token),
        field = client_id_field("", true),
        guide = own_app_guide(redirect_uri, true)
    );
    page(if error.is_empty() { 200 } else { 400 }, "Link Spotify again", &body, &[spotify_origin.to_string()])
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
Playback control needs Premium for every user. If this server's app is full, choose \
<em>use my own Spotify app</em> on the approval page: it guides you through creating one (free, about two minutes).</p></div>\
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
            capabilities: Capabilities::NONE.with(Capability::Playlists),
            app_choice: AppChoice::Either,
            own_app_chosen: false,
            client_id: "\"><b>",
            spotify_redirect_uri: "https://w.example/callback",
            error: Some("<i>fix</i>"),
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
        assert!(html.contains("&lt;i&gt;fix&lt;/i&gt;") && !html.contains("<b>"));
        assert_eq!(r.status, 400, "a form with an error comes back as 400");
    }

    #[test]
    fn client_names_cannot_reorder_or_hide_the_text_around_them() {
        // U+202E reverses what follows; U+2066..U+2069 isolate; U+200B is invisible.
        let name = "Claude\u{202E}deifirevnu\u{202C} \u{2066}x\u{2069}\u{200B}\u{FEFF}\n  tool";
        assert_eq!(plain_name(name).as_deref(), Some("Claudedeifirevnu x tool"));
        assert_eq!(plain_name("\u{200B}\u{202E} "), None);
        assert_eq!(plain_name(&"é".repeat(300)).unwrap().chars().count(), 100);
        let r = consent(&ConsentView {
            client_name: "Evil\u{202E}",
            redirect_host: "evil.example",
            redirect_is_loopback: false,
            cimd_domain: None,
            sealed_request: "abc",
            csrf: "tok",
            spotify_origin: "https://accounts.spotify.com".into(),
            redirect_origin: "https://evil.example".into(),
            capabilities: Capabilities::ALL,
            app_choice: AppChoice::Either,
            own_app_chosen: false,
            client_id: "",
            spotify_redirect_uri: "https://w.example/callback",
            error: None,
        });
        let html = String::from_utf8(r.body).unwrap();
        assert!(html.contains("<bdi>Evil</bdi></strong> (unverified)") && !html.contains('\u{202E}'));
    }

    #[test]
    fn consent_offers_capabilities_and_the_own_app_guide() {
        let view = |choice| ConsentView {
            client_name: "Claude",
            redirect_host: "claude.ai",
            redirect_is_loopback: false,
            cimd_domain: Some("claude.ai"),
            sealed_request: "abc",
            csrf: "tok",
            spotify_origin: "https://accounts.spotify.com".into(),
            redirect_origin: "https://claude.ai".into(),
            capabilities: Capabilities::NONE.with(Capability::Playlists),
            app_choice: choice,
            own_app_chosen: false,
            client_id: "",
            spotify_redirect_uri: "https://w.example/callback",
            error: None,
        };
        let html = String::from_utf8(consent(&view(AppChoice::Either)).body).unwrap();
        assert!(html.contains("name=\"capability\" value=\"playlists\" checked"));
        assert!(html.contains("name=\"capability\" value=\"playback\">"), "unchosen boxes are unchecked");
        assert!(html.contains("name=\"spotify_client_id\"") && html.contains("value=\"https://w.example/callback\""));
        assert!(html.contains("value=\"server\" checked"));
        let required = String::from_utf8(consent(&view(AppChoice::OwnRequired)).body).unwrap();
        assert!(required.contains("name=\"spotify_app\" value=\"own\"") && required.contains(" required>"));
        let off = String::from_utf8(consent(&view(AppChoice::OperatorOnly)).body).unwrap();
        assert!(!off.contains("spotify_client_id"));
    }
}
