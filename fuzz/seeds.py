#!/usr/bin/env python3
"""Writes the seed corpora (fuzz/corpus/<target>/seed-*): real MCP and OAuth requests in the
harness's input format (see fuzz/src/lib.rs). Re-run after changing it; libFuzzer-found
inputs are not kept in the repo, except `regress-*`: inputs that once crashed a target."""
import json, os, struct
from urllib.parse import urlencode

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
MODERN = "2026-07-28"
META = {"io.modelcontextprotocol/protocolVersion": MODERN, "io.modelcontextprotocol/clientCapabilities": {}}


def write(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def req(method, target, headers=(), body="", directives=()):
    lines = list(directives) + [f"{method} {target}"] + [f"{k}: {v}" for k, v in headers]
    return "\n".join(lines) + "\n\n" + body


FORM = ("content-type", "application/x-www-form-urlencoded")
JSON = ("content-type", "application/json")
ACCEPT = ("accept", "application/json, text/event-stream")

# --- MCP messages (both eras) --------------------------------------------------------
rpc = [
    ("initialize", {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "claude-ai", "version": "0.1.0"}}, None),
    ("tools/list", {}, None),
    ("tools/call", {"name": "search", "arguments": {"query": "daft punk", "types": ["track", "artist"], "limit": 5}}, "search"),
    ("tools/call", {"name": "search_tracks", "arguments": {"query": "love"}}, "search_tracks"),
    ("tools/call", {"name": "get_item", "arguments": {"uri": "spotify:track:4uLU6hMCjMI75M1A2tKUQC"}}, "get_item"),
    ("tools/call", {"name": "control_playback", "arguments": {"command": "volume", "volume_percent": 40, "device": "Kitchen"}}, "control_playback"),
    ("tools/call", {"name": "play", "arguments": {"uris": ["https://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC"], "offset": 0}}, "play"),
    ("tools/call", {"name": "get_library", "arguments": {"kind": "top_tracks", "time_range": "short_term", "limit": 10}}, "get_library"),
    ("tools/call", {"name": "edit_playlist_items", "arguments": {"playlist": "spotify:playlist:37i9dQZF1DXcBWIGoYBM5M", "action": "remove", "uris": ["spotify:track:1"]}}, "edit_playlist_items"),
    ("tools/call", {"name": "create_playlist", "arguments": {"name": "Rainy jazz", "public": False}}, "create_playlist"),
    ("tools/call", {"name": "get_auth_url", "arguments": {}}, "get_auth_url"),
    ("tools/call", {"name": "get_auth_status", "arguments": {}}, "get_auth_status"),
    ("tools/call", {"name": "forget_me", "arguments": {"confirm": True}}, "forget_me"),
    ("tools/call", {"name": "get_devices", "arguments": {}}, "get_devices"),
    ("resources/list", {"cursor": "next"}, None),
    ("resources/templates/list", {}, None),
    ("resources/read", {"uri": "playlists://37i9dQZF1DXcBWIGoYBM5M"}, "playlists://37i9dQZF1DXcBWIGoYBM5M"),
    ("prompts/list", {}, None),
    ("prompts/get", {"name": "build_playlist", "arguments": {"vibe": "rainy Sunday jazz", "size": "20"}}, "build_playlist"),
    ("completion/complete", {"ref": {"type": "ref/prompt", "name": "taste_profile"}, "argument": {"name": "time_range", "value": "s"}}, None),
    ("ping", {}, None),
]
for i, (method, params, name) in enumerate(rpc):
    slug = f"{i:02}-" + method.replace("/", "_") + ("-" + params.get("name", "") if method == "tools/call" else "")
    legacy = json.dumps({"jsonrpc": "2.0", "id": i + 1, "method": method, "params": params})
    modern_params = dict(params, _meta=META)
    modern = json.dumps({"jsonrpc": "2.0", "id": f"req-{i}", "method": "server/discover" if method == "initialize" else method, "params": modern_params})
    mhead = [JSON, ACCEPT, ("mcp-protocol-version", MODERN), ("mcp-method", "server/discover" if method == "initialize" else method)]
    if name:
        mhead.append(("mcp-name", name))
    lhead = [JSON, ACCEPT] + ([] if method == "initialize" else [("mcp-protocol-version", "2025-06-18")])
    write("mcp", slug + "-legacy", req("POST", "/mcp", lhead, legacy))
    write("mcp", slug + "-modern", req("POST", "/mcp", mhead, modern))
    auth = [("authorization", "Bearer $TOKEN")]
    write("http", "mcp-" + slug + "-legacy", req("POST", "/mcp", auth + lhead, legacy))
    write("http", "mcp-" + slug + "-modern", req("POST", "/mcp", auth + mhead, modern))
write("mcp", "bare-notification", '{"jsonrpc":"2.0","method":"notifications/initialized"}')
write("mcp", "bare-response", '{"jsonrpc":"2.0","id":"s1","result":{}}')
write("mcp", "bare-batch", '[{"jsonrpc":"2.0","id":1,"method":"tools/list"}]')
write("mcp", "base64-name", req("POST", "/mcp", [JSON, ("mcp-protocol-version", MODERN), ("mcp-method", "tools/call"), ("mcp-name", "=?base64?c2VhcmNo?=")],
      json.dumps({"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": {"name": "search", "arguments": {"query": "é"}, "_meta": META}})))
write("mcp", "origin", req("POST", "/mcp", [JSON, ("origin", "http://localhost:6274")], '{"jsonrpc":"2.0","id":1,"method":"ping"}'))

# A tool call meeting Spotify's answers and odd stored links.
search = json.dumps({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "search", "arguments": {"query": "love", "types": ["track"]}}})
auth = [("authorization", "Bearer $TOKEN"), JSON]
tracks = json.dumps({"tracks": {"items": [{"name": "Song", "uri": "spotify:track:1", "id": "1", "duration_ms": 1000,
                                            "artists": [{"name": "A", "uri": "spotify:artist:1"}], "album": {"name": "Al", "uri": "spotify:album:1"}}], "total": 1}})
write("http", "spotify-answers", req("POST", "/mcp", auth, search, ["@spotify 200 " + tracks]))
write("http", "spotify-429", req("POST", "/mcp", auth, search, ["@spotify 429 {\"error\":{\"status\":429}}"]))
write("http", "spotify-401", req("POST", "/mcp", auth, search, ["@spotify 401 {\"error\":{\"status\":401,\"message\":\"The access token expired\"}}", "@spotify 400 {\"error\":\"invalid_grant\"}"]))
link = {"spotify_id": "alice", "display_name": "Alice", "access_token": "a", "refresh_token": "r", "expires_at": 1, "scope": "user-read-private", "linked_at": 1700000000,
        "app": {"Own": "0123456789abcdef0123456789abcdef"}, "generation": 3}
write("http", "kv-expired-link", req("POST", "/mcp", auth, search, ["@kv link " + json.dumps(link)]))
access = {"grant_id": "g", "client_id": "$CLIENT", "scope": "playback", "resource": "https://mcp.example/mcp", "expires_at": 1900000000}
write("http", "kv-narrow-access", req("POST", "/mcp", auth, search, ["@kv access " + json.dumps(access)]))

# --- OAuth endpoints -----------------------------------------------------------------
def reg(name, meta):
    write("http", "register-" + name, req("POST", "/register", [JSON], json.dumps(meta)))
reg("public", {"redirect_uris": ["http://127.0.0.1:33418/callback"], "token_endpoint_auth_method": "none", "grant_types": ["authorization_code", "refresh_token"],
               "response_types": ["code"], "client_name": "Claude Code (spotify)"})
reg("confidential", {"redirect_uris": ["https://claude.ai/api/mcp/auth_callback"], "client_name": "claude.ai", "application_type": "web"})
reg("native", {"redirect_uris": ["cursor://anysphere.cursor-retrieval/oauth/callback", "http://localhost:8080/cb"], "token_endpoint_auth_method": "client_secret_post"})
reg("bad", {"redirect_uris": ["javascript:alert(1)"]})
q = {"response_type": "code", "client_id": "$CLIENT", "redirect_uri": "http://127.0.0.1:9/cb", "code_challenge": "$CHALLENGE",
     "code_challenge_method": "S256", "state": "xyz", "scope": "playback library", "resource": "https://mcp.example/mcp"}
write("http", "authorize", req("GET", "/authorize?" + urlencode(q, safe="$")))
write("http", "authorize-cimd", req("GET", "/authorize?" + urlencode(dict(q, client_id="https://claude.ai/oauth/client.json"), safe="$")))
write("http", "authorize-repeated", req("GET", "/authorize?" + urlencode(q, safe="$") + "&state=again"))
write("http", "authorize-plain", req("GET", "/authorize?" + urlencode(dict(q, code_challenge_method="plain"), safe="$")))
decide = [("request", "$CONSENT"), ("csrf", "$CSRF"), ("decision", "approve"), ("capability", "playback"), ("capability", "playlists")]
cookie = ("cookie", "__Host-mcp_csrf=$CSRFCOOKIE")
write("http", "decide-approve", req("POST", "/authorize", [FORM, cookie], urlencode(decide, safe="$")))
write("http", "decide-deny", req("POST", "/authorize", [FORM, cookie], urlencode([("request", "$CONSENT"), ("csrf", "$CSRF"), ("decision", "deny")], safe="$")))
write("http", "decide-own-app", req("POST", "/authorize", [FORM, cookie],
      urlencode(decide + [("spotify_app", "own"), ("spotify_client_id", "0123456789abcdef0123456789abcdef")], safe="$")))
write("http", "callback", req("GET", "/callback?code=AQB-spotify&state=$STATE", [("cookie", "__Host-mcp_bind=$BIND")]))
write("http", "callback-denied", req("GET", "/callback?error=access_denied&state=$STATE", [("cookie", "__Host-mcp_bind=$BIND")]))
write("http", "callback-account", req("GET", "/callback?code=AQB-spotify&state=$ASTATE", [("cookie", "__Host-mcp_bind=$ABIND")]))
write("http", "callback-bad-token", req("GET", "/callback?code=AQB&state=$STATE", [("cookie", "__Host-mcp_bind=$BIND")],
      directives=["@spotify 200 {\"access_token\":\"x\",\"token_type\":\"Bearer\",\"expires_in\":-1,\"scope\":\"\"}", "@spotify 200 {\"id\":\"\"}"]))
code = [("grant_type", "authorization_code"), ("code", "$CODE"), ("redirect_uri", "http://127.0.0.1:9/cb"), ("code_verifier", "$VERIFIER"),
        ("client_id", "$CLIENT"), ("resource", "https://mcp.example/mcp")]
write("http", "token-code", req("POST", "/token", [FORM], urlencode(code, safe="$")))
write("http", "token-refresh", req("POST", "/token", [FORM], urlencode([("grant_type", "refresh_token"), ("refresh_token", "$REFRESH"), ("client_id", "$CLIENT"), ("scope", "playback")], safe="$")))
write("http", "token-basic", req("POST", "/token", [FORM, ("authorization", "Basic $BASIC")], urlencode([("grant_type", "refresh_token"), ("refresh_token", "$REFRESH")], safe="$")))
write("http", "token-post-secret", req("POST", "/token", [FORM], urlencode([("grant_type", "client_credentials"), ("client_id", "$CCLIENT"), ("client_secret", "$CSECRET")], safe="$")))
payload = {"uk": "$UK", "client_id": "$CLIENT", "redirect_uri": "http://127.0.0.1:9/cb", "code_challenge": "$CHALLENGE", "scope": "playback",
           "resource": "https://mcp.example/mcp", "jti": "j1", "client_name": "Fuzz"}
write("http", "token-sealed-code", req("POST", "/token", [FORM], urlencode(dict(code)| {"code": "$S0"}, safe="$"),
      ["@seal code " + json.dumps({"exp": 0, "v": payload})]))
write("http", "revoke-refresh", req("POST", "/revoke", [FORM], urlencode([("token", "$REFRESH"), ("token_type_hint", "refresh_token"), ("client_id", "$CLIENT")], safe="$")))
write("http", "revoke-access", req("POST", "/revoke", [FORM], urlencode([("token", "$TOKEN"), ("client_id", "$CLIENT")], safe="$")))
write("http", "relink", req("GET", "/relink?t=$RELINK"))
write("http", "relink-sealed", req("GET", "/relink?t=$S0", directives=["@seal relink " + json.dumps({"exp": 0, "v": {"uk": "$UK", "add": ["user-top-read", "x y"]}})]))
state = {"verifier": "v" * 43, "flow": {"Mcp": {"req": {"client_id": "$CLIENT", "client_name": "C", "redirect_uri": "http://127.0.0.1:9/cb", "state": None,
         "code_challenge": "$CHALLENGE", "scope": "", "resource": "https://mcp.example/mcp", "csrf": "c", "cimd_domain": None}, "bind": "b", "caps": "playback"}},
         "app": "Operator", "scope": "user-read-private", "widened": False}
write("http", "callback-sealed-state", req("GET", "/callback?code=c&state=$S0", [("cookie", "__Host-mcp_bind=$BIND")], directives=["@seal spotify-state " + json.dumps({"exp": 0, "v": state})]))
write("http", "session-sealed", req("GET", "/account", [("cookie", "__Host-mcp_session=$S0")], directives=["@seal session " + json.dumps({"exp": 0, "v": {"uk": "$UK"}})]))
write("http", "client-sealed", req("GET", "/authorize?" + urlencode(dict(q, client_id="mcp_$S0"), safe="$"),
      directives=["@seal client " + json.dumps({"exp": 0, "v": {"n": "N", "r": ["http://127.0.0.1:9/cb"], "a": "none"}})]))
sess = ("cookie", "__Host-mcp_session=$SESSION")
write("http", "account", req("GET", "/account", [sess]))
write("http", "account-login", req("GET", "/account/login?spotify_client_id=0123456789abcdef0123456789abcdef"))
write("http", "account-revoke", req("POST", "/account/revoke", [FORM, sess], "grant=$GRANT&csrf=$FORM"))
write("http", "account-delete", req("POST", "/account/delete", [FORM, sess], "csrf=$FORM"))
write("http", "account-logout", req("POST", "/account/logout", [FORM, sess], "csrf=$FORM"))
for path in ["/.well-known/oauth-authorization-server", "/.well-known/oauth-protected-resource/mcp", "/", "/health", "/icon.svg"]:
    write("http", "get" + path.replace("/", "_"), req("GET", path))
write("http", "options", req("OPTIONS", "/mcp", [("origin", "https://claude.ai"), ("access-control-request-method", "POST")]))
write("http", "insecure", req("GET", "http://mcp.example/authorize?client_id=x"))
write("http", "loopback", req("POST", "http://127.0.0.1:8787/mcp", [("authorization", "Bearer $TOKEN"), JSON], '{"jsonrpc":"2.0","id":1,"method":"ping"}'))

# --- sealed: [purpose, mode|clock<<4, body] -------------------------------------------
purposes = ["client", "consent", "spotify-state", "code", "session", "relink"]
plains = {
    "client": {"n": "Claude", "r": ["https://claude.ai/api/mcp/auth_callback"], "a": "client_secret_basic"},
    "consent": state["flow"]["Mcp"]["req"],
    "spotify-state": state,
    "code": payload,
    "session": {"uk": "a" * 43},
    "relink": {"uk": "a" * 43, "add": ["user-top-read"]},
}
for i, p in enumerate(purposes):
    env = json.dumps({"exp": 1800000600, "v": plains[p]}).encode()
    write("sealed", f"{p}-authentic", bytes([i, 1 | (2 << 4)]) + env)
    write("sealed", f"{p}-never-expires", bytes([i, 1]) + json.dumps({"exp": 0, "v": plains[p]}).encode())
    write("sealed", f"{p}-other-purpose", bytes([i, 2]) + env)
    write("sealed", f"{p}-roundtrip", bytes([i, 3 | (1 << 4)]) + json.dumps(plains[p]).encode())
    write("sealed", f"{p}-text", bytes([i, 0]) + b"mcp_Zm9vYmFyYmF6cXV4LWZ1enotdGV4dC1ub3QtYS1yZWFsLXNlYWw")
write("sealed", "not-envelope", bytes([3, 1]) + b'"just a string"')

# --- store: [slot | raw<<7, value] ----------------------------------------------------
records = [
    link,
    {"grant_id": "g1", "client_id": "mcp_x", "scope": "playback library", "resource": "https://mcp.example/mcp", "expires_at": 1800003600},
    {"grant_id": "g1", "client_id": "mcp_x", "client_name": "Claude", "redirect_uri": "https://claude.ai/cb", "scope": "playback",
     "resource": "https://mcp.example/mcp", "access_hash": "h", "granted_at": 1, "expires_at": 1802592000},
    {"refresh_hash": "r", "access_hash": "a"},
]
for slot, name in enumerate(["link", "access", "refresh", "code-use"]):
    write("store", name, bytes([slot]) + json.dumps(records[slot]).encode())
    write("store", name + "-raw", bytes([slot | 0x80]) + b"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
write("store", "list", bytes([4]) + json.dumps(records[2]).encode())
write("store", "link-operator", bytes([0]) + json.dumps({k: v for k, v in link.items() if k not in ("app", "generation")}).encode())
