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

/// Everything a request handler may touch outside itself.
pub trait Platform: Kv + Http + Clock + Sleep {}
impl<T: Kv + Http + Clock + Sleep> Platform for T {}
