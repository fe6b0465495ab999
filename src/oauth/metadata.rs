//! Discovery documents: RFC 9728 (protected resource) and RFC 8414 (authorization server).

use crate::context::Ctx;
use crate::core::capability::Capabilities;
use crate::core::http::HttpResponse;
use crate::core::platform::Platform;
use serde_json::json;

pub fn protected_resource<P: Platform>(ctx: &Ctx<'_, P>) -> HttpResponse {
    HttpResponse::json(
        200,
        &json!({
            "resource": ctx.mcp_url(),
            "authorization_servers": [ctx.origin],
            "scopes_supported": Capabilities::supported(),
            "bearer_methods_supported": ["header"],
            "resource_name": "Spotify MCP",
        }),
    )
    .with_header("cache-control", "public, max-age=3600")
}

pub fn authorization_server<P: Platform>(ctx: &Ctx<'_, P>) -> HttpResponse {
    let o = &ctx.origin;
    HttpResponse::json(
        200,
        &json!({
            "issuer": o,
            "authorization_endpoint": format!("{o}/authorize"),
            "token_endpoint": format!("{o}/token"),
            "registration_endpoint": format!("{o}/register"),
            "revocation_endpoint": format!("{o}/revoke"),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["none", "client_secret_post", "client_secret_basic"],
            "revocation_endpoint_auth_methods_supported": ["none", "client_secret_post", "client_secret_basic"],
            "scopes_supported": Capabilities::supported(),
            "authorization_response_iss_parameter_supported": true,
            "client_id_metadata_document_supported": true,
        }),
    )
    .with_header("cache-control", "public, max-age=3600")
}
