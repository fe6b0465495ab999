//! In-memory and loopback implementations of the platform ports, for host tests.

use crate::core::http::{HttpRequest, HttpResponse};
use crate::core::platform::{Assets, Clock, Http, Kv, Limiter, PortError, RateLimit, Sleep};
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};

/// The environment of a Worker pointed at an in-process Spotify emulator.
pub fn emulator_env(emulator: &spotify_emulator::Emulator) -> std::collections::HashMap<String, String> {
    let defaults = spotify_emulator::Config::default();
    [
        ("SPOTIFY_CLIENT_ID", defaults.client_id),
        ("SPOTIFY_CLIENT_SECRET", defaults.client_secret),
        ("TOKEN_ENCRYPTION_KEY", crate::core::crypto::b64url(&[42u8; 32])),
        ("SPOTIFY_ACCOUNTS_BASE_URL", emulator.base_url()),
        ("SPOTIFY_API_BASE_URL", emulator.base_url()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// KV in a map, counting operations so tests can hold the KV budget.
#[derive(Default)]
pub struct MemKv {
    map: RefCell<BTreeMap<String, String>>,
    pub reads: Cell<usize>,
    pub writes: Cell<usize>,
    pub deletes: Cell<usize>,
    /// Keys containing any of these are missing from `list` (KV lists are eventually consistent).
    pub hidden_from_list: RefCell<Vec<String>>,
    /// When set, every `get` yields once to the executor, as a network round trip would, and
    /// `round_trips` counts the waits: reads made together share one.
    pub yield_on_get: Cell<bool>,
    pub round_trips: Cell<usize>,
    in_flight: Cell<usize>,
}

impl MemKv {
    pub fn raw(&self, key: &str) -> Option<String> {
        self.map.borrow().get(key).cloned()
    }
    pub fn set_raw(&self, key: &str, value: &str) {
        self.map.borrow_mut().insert(key.to_string(), value.to_string());
    }
    pub fn keys(&self) -> Vec<String> {
        self.map.borrow().keys().cloned().collect()
    }
    pub fn reset_counts(&self) {
        self.reads.set(0);
        self.writes.set(0);
        self.deletes.set(0);
        self.round_trips.set(0);
    }
}

impl Kv for MemKv {
    async fn get(&self, key: &str) -> Result<Option<String>, PortError> {
        self.reads.set(self.reads.get() + 1);
        if self.yield_on_get.get() {
            if self.in_flight.get() == 0 {
                self.round_trips.set(self.round_trips.get() + 1);
            }
            self.in_flight.set(self.in_flight.get() + 1);
            YieldOnce(false).await;
            self.in_flight.set(self.in_flight.get() - 1);
        }
        Ok(self.map.borrow().get(key).cloned())
    }
    async fn put(&self, key: &str, value: &str, _ttl: Option<u64>) -> Result<(), PortError> {
        self.writes.set(self.writes.get() + 1);
        self.map.borrow_mut().insert(key.to_string(), value.to_string());
        Ok(())
    }
    async fn delete(&self, key: &str) -> Result<(), PortError> {
        self.deletes.set(self.deletes.get() + 1);
        self.map.borrow_mut().remove(key);
        Ok(())
    }
    async fn list(&self, prefix: &str) -> Result<Vec<String>, PortError> {
        let hidden = self.hidden_from_list.borrow();
        Ok(self
            .map
            .borrow()
            .keys()
            .filter(|k| k.starts_with(prefix) && !hidden.iter().any(|h| k.contains(h.as_str())))
            .cloned()
            .collect())
    }
}

/// The Rate Limiting binding in memory: fixed 60 s windows of the test clock, like
/// miniflare's local implementation. `limits` starts at the wrangler.toml values; a
/// limiter missing from it is unbound (allows everything).
pub struct MemLimiter {
    pub limits: RefCell<HashMap<Limiter, u32>>,
    counts: RefCell<HashMap<(Limiter, String, u64), u32>>,
    /// Every call of `allow`, allowed or not.
    pub checks: Cell<usize>,
}

impl Default for MemLimiter {
    fn default() -> Self {
        let limits = [(Limiter::McpCalls, 300), (Limiter::Tokens, 10)].into_iter().collect();
        MemLimiter { limits: RefCell::new(limits), counts: RefCell::default(), checks: Cell::new(0) }
    }
}

impl MemLimiter {
    pub fn set_limit(&self, limiter: Limiter, limit: Option<u32>) {
        match limit {
            Some(n) => self.limits.borrow_mut().insert(limiter, n),
            None => self.limits.borrow_mut().remove(&limiter),
        };
    }
    fn allow(&self, limiter: Limiter, key: &str, now_ms: u64) -> bool {
        self.checks.set(self.checks.get() + 1);
        let Some(limit) = self.limits.borrow().get(&limiter).copied() else { return true };
        let window = now_ms / (Limiter::PERIOD_SECS * 1000);
        let mut counts = self.counts.borrow_mut();
        let n = counts.entry((limiter, key.to_string(), window)).or_insert(0);
        if *n >= limit {
            return false;
        }
        *n += 1;
        true
    }
}

/// A platform for host tests: memory KV, a settable clock, and real HTTP over loopback
/// (to the Spotify emulator), with redirects not followed, like `fetch(..., {redirect: "manual"})`.
pub struct TestPlatform {
    pub kv: MemKv,
    pub now_ms: Cell<u64>,
    pub http_calls: Cell<usize>,
    pub slept_ms: Cell<u64>,
    /// Every HTTP call first yields to the executor once, so `join_all` interleaves
    /// requests the way concurrent requests interleave in one Worker isolate.
    pub yield_on_http: Cell<bool>,
    /// The next this-many KV writes fail.
    pub failing_kv_writes: Cell<usize>,
    pub limiter: MemLimiter,
    /// The MCP Apps views, by file name.
    pub assets: std::cell::RefCell<std::collections::HashMap<String, String>>,
}

/// Pending once, then ready: hands control to the other futures of a `join_all`.
struct YieldOnce(bool);

impl std::future::Future for YieldOnce {
    type Output = ();
    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        if self.0 {
            std::task::Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    }
}

impl Default for TestPlatform {
    fn default() -> Self {
        TestPlatform {
            kv: MemKv::default(),
            now_ms: Cell::new(1_800_000_000_000),
            http_calls: Cell::new(0),
            slept_ms: Cell::new(0),
            yield_on_http: Cell::new(false),
            failing_kv_writes: Cell::new(0),
            limiter: MemLimiter::default(),
            assets: Default::default(),
        }
    }
}

impl Kv for TestPlatform {
    async fn get(&self, key: &str) -> Result<Option<String>, PortError> {
        self.kv.get(key).await
    }
    async fn put(&self, key: &str, value: &str, ttl: Option<u64>) -> Result<(), PortError> {
        if self.failing_kv_writes.get() > 0 {
            self.failing_kv_writes.set(self.failing_kv_writes.get() - 1);
            return Err(PortError("KV write failed (injected)".into()));
        }
        self.kv.put(key, value, ttl).await
    }
    async fn delete(&self, key: &str) -> Result<(), PortError> {
        self.kv.delete(key).await
    }
    async fn list(&self, prefix: &str) -> Result<Vec<String>, PortError> {
        self.kv.list(prefix).await
    }
}

impl Assets for TestPlatform {
    async fn asset(&self, path: &str) -> Result<Option<String>, PortError> {
        Ok(self.assets.borrow().get(path).cloned())
    }
}

impl RateLimit for TestPlatform {
    async fn allow(&self, limiter: Limiter, key: &str) -> Result<bool, PortError> {
        Ok(self.limiter.allow(limiter, key, self.now_ms.get()))
    }
    fn is_bound(&self, limiter: Limiter) -> bool {
        self.limiter.limits.borrow().contains_key(&limiter)
    }
}

impl Clock for TestPlatform {
    fn now_ms(&self) -> u64 {
        self.now_ms.get()
    }
}

impl Sleep for TestPlatform {
    async fn sleep_ms(&self, ms: u64) {
        self.slept_ms.set(self.slept_ms.get() + ms);
        // Time does not pass here, but other futures of a `join_all` get their turn.
        YieldOnce(false).await;
    }
}

impl Http for TestPlatform {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, PortError> {
        self.http_calls.set(self.http_calls.get() + 1);
        if self.yield_on_http.get() {
            YieldOnce(false).await;
        }
        // Like the Worker: the whole exchange within `timeout_ms`, at most `max_response_bytes` read.
        let timeout = std::time::Duration::from_millis(request.timeout_ms);
        let agent = ureq::AgentBuilder::new().redirects(0).timeout(timeout).build();
        let mut req = agent.request(&request.method, request.url.as_str());
        for (k, v) in &request.headers {
            req = req.set(k, v);
        }
        let result =
            if request.body.is_empty() && request.method == "GET" { req.call() } else { req.send_bytes(&request.body) };
        let resp = match result {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => return Err(PortError(timeout_or(e.to_string(), request.timeout_ms))),
        };
        let status = resp.status();
        let headers: Vec<(String, String)> = resp
            .headers_names()
            .into_iter()
            .filter_map(|n| resp.header(&n).map(|v| (n.clone(), v.to_string())))
            .collect();
        let limit = request.max_response_bytes;
        let too_large = || PortError(format!("the response is larger than {limit} bytes"));
        if crate::core::http::declared_length(&headers).is_some_and(|n| n > limit as u64) {
            return Err(too_large());
        }
        let mut body = Vec::new();
        let reader = std::io::Read::take(resp.into_reader(), limit as u64 + 1);
        std::io::Read::read_to_end(&mut { reader }, &mut body)
            .map_err(|e| PortError(timeout_or(e.to_string(), request.timeout_ms)))?;
        if body.len() > limit {
            return Err(too_large());
        }
        Ok(HttpResponse { status, headers, body })
    }
}

/// The Worker's wording for a timeout, so tests read the same error on both platforms.
fn timeout_or(error: String, timeout_ms: u64) -> String {
    let e = error.to_ascii_lowercase();
    if e.contains("timed out") || e.contains("timeout") || e.contains("would block") {
        format!("no complete answer within {timeout_ms} ms")
    } else {
        format!("network: {error}")
    }
}

/// How [`serve_misbehaving`] answers every request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Misbehaviour {
    /// 200 with no `Content-Length`, then body chunks for as long as anyone reads.
    Endless,
    /// 200 declaring 100 MB, then body chunks for as long as anyone reads.
    Declared100Mb,
    /// 200 declaring a small body, then nothing more.
    StallAfterHeaders,
    /// Reads the request, then never answers.
    Silent,
}

/// A loopback server that misbehaves in one way, for the limits of the `Http` port.
/// Returns its base URL; its threads end when the test process does.
pub fn serve_misbehaving(how: Misbehaviour) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    std::thread::spawn(move || {
        for mut stream in listener.incoming().map_while(Result::ok) {
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf);
                let head = match how {
                    Misbehaviour::Endless => {
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n"
                    }
                    Misbehaviour::Declared100Mb => {
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000000\r\n\r\n"
                    }
                    Misbehaviour::StallAfterHeaders => {
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
                    }
                    Misbehaviour::Silent => "",
                };
                if stream.write_all(head.as_bytes()).is_err() {
                    return;
                }
                match how {
                    Misbehaviour::Endless | Misbehaviour::Declared100Mb => {
                        let chunk = vec![b' '; 64 * 1024];
                        while stream.write_all(&chunk).is_ok() {}
                    }
                    Misbehaviour::StallAfterHeaders | Misbehaviour::Silent => {
                        std::thread::sleep(std::time::Duration::from_secs(60))
                    }
                }
            });
        }
    });
    base
}

/// Serves `make_body(url)` as JSON at every path of a loopback port; returns the base URL.
pub fn serve_json(make_body: impl Fn(&str) -> String + Send + Sync + 'static) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let own = base.clone();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().map_while(Result::ok) {
            let mut buf = [0u8; 4096];
            let n = stream.read(&mut buf).unwrap_or(0);
            let path = String::from_utf8_lossy(&buf[..n]).split_whitespace().nth(1).unwrap_or("/").to_string();
            let body = make_body(&format!("{own}{path}"));
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    base
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::executor::block_on;
    use std::time::{Duration, Instant};

    fn send(base: &str, max: usize, timeout_ms: u64) -> (Result<HttpResponse, PortError>, Duration) {
        let platform = TestPlatform::default();
        let req =
            HttpRequest::new("GET", url::Url::parse(&format!("{base}/doc.json")).unwrap()).with_limits(max, timeout_ms);
        let started = Instant::now();
        (block_on(platform.send(req)), started.elapsed())
    }

    #[test]
    fn endless_or_oversized_answers_are_cut_off_at_the_limit() {
        for how in [Misbehaviour::Endless, Misbehaviour::Declared100Mb] {
            let (r, took) = send(&serve_misbehaving(how), 5 * 1024, 10_000);
            assert_eq!(r.unwrap_err().0, "the response is larger than 5120 bytes", "{how:?}");
            assert!(took < Duration::from_secs(2), "{how:?} took {took:?}");
        }
    }

    #[test]
    fn stalled_answers_time_out() {
        for how in [Misbehaviour::StallAfterHeaders, Misbehaviour::Silent] {
            let (r, took) = send(&serve_misbehaving(how), 5 * 1024, 300);
            assert_eq!(r.unwrap_err().0, "no complete answer within 300 ms", "{how:?}");
            assert!(took < Duration::from_secs(2), "{how:?} took {took:?}");
        }
    }
}
