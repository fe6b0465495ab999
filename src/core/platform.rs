//! The ports the core needs from its runtime. The Worker adapter implements them over
//! workerd; tests implement them in memory. They are deliberately tiny so that a fake is
//! a few lines and cannot drift from the real thing in behaviour that matters.
#![allow(async_fn_in_trait)] // single-threaded runtime: futures need not be `Send`

use crate::core::http::{HttpRequest, HttpResponse};

/// Why a port call failed, as text fit for logs (never contains values or secrets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortError(pub String);

impl std::fmt::Display for PortError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Workers KV, reduced to what we use. Values are opaque strings (already encrypted).
pub trait Kv {
    async fn get(&self, key: &str) -> Result<Option<String>, PortError>;
    /// `ttl_secs`: KV refuses TTLs under 60 s, so callers pass at least that.
    async fn put(&self, key: &str, value: &str, ttl_secs: Option<u64>) -> Result<(), PortError>;
    async fn delete(&self, key: &str) -> Result<(), PortError>;
    /// Every key starting with `prefix` (all pages).
    async fn list(&self, prefix: &str) -> Result<Vec<String>, PortError>;
}

/// Outbound HTTP (Spotify, client metadata documents). Redirects are not followed.
pub trait Http {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, PortError>;
}

/// Wall-clock time. `std::time::SystemTime::now()` panics on wasm32, hence a port.
pub trait Clock {
    fn now_ms(&self) -> u64;
    fn now_secs(&self) -> u64 {
        self.now_ms() / 1000
    }
}

/// Suspends the current request (for honouring a short `Retry-After`).
pub trait Sleep {
    async fn sleep_ms(&self, ms: u64);
}

/// The fair-use counters (Cloudflare's Rate Limiting binding). Each limiter has a fixed
/// limit and a 60 s period set where it is bound (`[[ratelimits]]` in wrangler.toml).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Limiter {
    /// MCP requests, keyed by user.
    McpCalls,
    /// Token issuance at `/token`: refreshes keyed by grant, code redemptions by user.
    Tokens,
}

impl Limiter {
    pub const ALL: [Limiter; 2] = [Limiter::McpCalls, Limiter::Tokens];

    /// The binding's name in wrangler.toml.
    pub fn binding(self) -> &'static str {
        match self {
            Limiter::McpCalls => "MCP_LIMITER",
            Limiter::Tokens => "TOKEN_LIMITER",
        }
    }

    /// The binding's period: wrangler.toml must say `period = 60` for both.
    pub const PERIOD_SECS: u64 = 60;
}

/// Counts one event under `key` and says whether it is within the limit. A limiter that
/// is not bound allows everything (`is_bound` says so, for `/health`).
pub trait RateLimit {
    async fn allow(&self, limiter: Limiter, key: &str) -> Result<bool, PortError>;
    fn is_bound(&self, limiter: Limiter) -> bool;
}

/// Files shipped with the Worker outside the `.wasm` (the MCP Apps views, built from
/// `src/ui/`, in the Worker's JS module).
pub trait Assets {
    /// The text of `path` (relative to the assets directory), `None` when absent.
    async fn asset(&self, path: &str) -> Result<Option<String>, PortError>;
}

/// Everything a request handler may touch outside itself.
pub trait Platform: Kv + Http + Clock + Sleep + RateLimit + Assets {}
impl<T: Kv + Http + Clock + Sleep + RateLimit + Assets> Platform for T {}
