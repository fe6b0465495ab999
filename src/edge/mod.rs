//! The Worker adapter: binds the core's ports to workerd and converts requests and
//! responses. The only module that names `worker` types; kept thin on purpose.

use crate::core::config::EnvSource;
use crate::core::http::{declared_length, read_limited, BodyError, HttpRequest, HttpResponse};
use crate::core::platform::{Assets, Clock, Http, Kv, Limiter, PortError, RateLimit, Sleep};
use futures::future::{select, Either};
use worker::{
    event, AbortController, Context, Date, Delay, Env, Fetch, Headers, Method, Request, RequestInit, RequestRedirect,
    Response,
};

struct Platform {
    kv: Option<worker::kv::KvStore>,
    /// The Rate Limiting bindings, by `Limiter::ALL` order; `None` when not bound.
    limiters: [Option<worker::RateLimiter>; 2],
    /// The static assets binding (`[assets]` in wrangler.toml).
    assets: Option<worker::Fetcher>,
}

/// A `[[ratelimits]]` binding, or `None` when wrangler.toml does not declare it. Read by
/// property rather than `Env::rate_limiter`, whose check of the binding's JS class name is
/// the only thing that could differ between workerd versions.
fn rate_limiter(env: &Env, limiter: Limiter) -> Option<worker::RateLimiter> {
    use wasm_bindgen::JsCast;
    let value = worker::js_sys::Reflect::get(env, &limiter.binding().into()).ok()?;
    let limit = worker::js_sys::Reflect::get(&value, &"limit".into()).ok()?;
    limit.is_function().then(|| worker::RateLimiter::unchecked_from_js(value))
}

fn port_err(what: &str, e: impl std::fmt::Display) -> PortError {
    PortError(format!("{what}: {e}"))
}

impl Platform {
    fn kv(&self) -> Result<&worker::kv::KvStore, PortError> {
        self.kv.as_ref().ok_or_else(|| PortError("the TOKENS KV namespace is not bound (see wrangler.toml)".into()))
    }
}

impl Kv for Platform {
    async fn get(&self, key: &str) -> Result<Option<String>, PortError> {
        self.kv()?.get(key).text().await.map_err(|e| port_err("KV get", e))
    }
    async fn put(&self, key: &str, value: &str, ttl: Option<u64>) -> Result<(), PortError> {
        let mut put = self.kv()?.put(key, value).map_err(|e| port_err("KV put", e))?;
        if let Some(t) = ttl {
            put = put.expiration_ttl(t);
        }
        put.execute().await.map_err(|e| port_err("KV put", e))
    }
    async fn delete(&self, key: &str) -> Result<(), PortError> {
        self.kv()?.delete(key).await.map_err(|e| port_err("KV delete", e))
    }
    async fn list(&self, prefix: &str) -> Result<Vec<String>, PortError> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut list = self.kv()?.list().prefix(prefix.to_string());
            if let Some(c) = cursor.take() {
                list = list.cursor(c);
            }
            let page = list.execute().await.map_err(|e| port_err("KV list", e))?;
            out.extend(page.keys.into_iter().map(|k| k.name));
            match page.cursor {
                Some(c) if !page.list_complete && !c.is_empty() => cursor = Some(c),
                _ => return Ok(out),
            }
        }
    }
}

impl Http for Platform {
    /// `fetch` with the request's limits: the answer's body is streamed and dropped past
    /// `max_response_bytes`, and the whole exchange is aborted after `timeout_ms`.
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, PortError> {
        let headers = Headers::new();
        for (k, v) in &request.headers {
            headers.append(k, v).map_err(|e| port_err("header", e))?;
        }
        let mut init = RequestInit::new();
        init.with_method(Method::from(request.method.clone()))
            .with_headers(headers)
            .with_redirect(RequestRedirect::Manual);
        if !request.body.is_empty() {
            init.with_body(Some(worker::js_sys::Uint8Array::from(request.body.as_slice()).into()));
        }
        let req = Request::new_with_init(request.url.as_str(), &init).map_err(|e| port_err("request", e))?;
        let controller = AbortController::default();
        let signal = controller.signal();
        let limit = request.max_response_bytes;
        let exchange = async move {
            let mut resp = Fetch::Request(req).send_with_signal(&signal).await.map_err(|e| port_err("fetch", e))?;
            let headers: Vec<(String, String)> = resp.headers().entries().collect();
            let too_large = || PortError(format!("the response is larger than {limit} bytes"));
            if declared_length(&headers).is_some_and(|n| n > limit as u64) {
                return Err(too_large());
            }
            let body = match resp.stream() {
                Ok(mut stream) => read_limited(&mut stream, limit).await.map_err(|e| match e {
                    BodyError::TooLarge { .. } => too_large(),
                    BodyError::Read(e) => port_err("body", e),
                })?,
                // No body at all (204, or a body already buffered by the runtime).
                Err(_) => resp.bytes().await.map_err(|e| port_err("body", e))?,
            };
            if body.len() > limit {
                return Err(too_large());
            }
            // An aborted stream ends like a finished one: never take a cut-off body as whole.
            if signal.aborted() {
                return Err(PortError("the fetch was aborted".into()));
            }
            Ok(HttpResponse { status: resp.status_code(), headers, body })
        };
        let timer = Delay::from(std::time::Duration::from_millis(request.timeout_ms));
        match select(std::pin::pin!(exchange), std::pin::pin!(timer)).await {
            Either::Left((Ok(resp), _)) => Ok(resp),
            Either::Left((Err(e), _)) => {
                // Too large or failed: stop the transfer now rather than when the isolate ends.
                controller.abort();
                Err(e)
            }
            Either::Right(_) => {
                controller.abort();
                Err(PortError(format!("no complete answer within {} ms", request.timeout_ms)))
            }
        }
    }
}

impl Assets for Platform {
    async fn asset(&self, path: &str) -> Result<Option<String>, PortError> {
        let Some(assets) = &self.assets else { return Ok(None) };
        // The host is ignored: the binding serves its own directory.
        let mut resp = assets
            .fetch(format!("https://assets.invalid/{path}"), None)
            .await
            .map_err(|e| port_err("assets fetch", e))?;
        match resp.status_code() {
            200 => resp.text().await.map(Some).map_err(|e| port_err("assets read", e)),
            404 => Ok(None),
            status => Err(PortError(format!("assets fetch: HTTP {status}"))),
        }
    }
}

impl RateLimit for Platform {
    async fn allow(&self, limiter: Limiter, key: &str) -> Result<bool, PortError> {
        let index = Limiter::ALL.iter().position(|l| *l == limiter).unwrap_or(0);
        match &self.limiters[index] {
            Some(binding) => {
                binding.limit(key.to_string()).await.map(|o| o.success).map_err(|e| port_err("ratelimit", e))
            }
            None => Ok(true),
        }
    }
    fn is_bound(&self, limiter: Limiter) -> bool {
        self.limiters[Limiter::ALL.iter().position(|l| *l == limiter).unwrap_or(0)].is_some()
    }
}

impl Clock for Platform {
    fn now_ms(&self) -> u64 {
        Date::now().as_millis()
    }
}

impl Sleep for Platform {
    async fn sleep_ms(&self, ms: u64) {
        Delay::from(std::time::Duration::from_millis(ms)).await
    }
}

struct WorkerEnv<'a>(&'a Env);

impl EnvSource for WorkerEnv<'_> {
    fn var(&self, name: &str) -> Option<String> {
        self.0.secret(name).map(|s| s.to_string()).or_else(|_| self.0.var(name).map(|v| v.to_string())).ok()
    }
}

/// The request as the core sees it, its body read up to the route's limit (see
/// [`crate::app::body_limit`]); `Err` is the answer to give without going further.
async fn convert(mut req: Request) -> Result<HttpRequest, HttpResponse> {
    let unreadable = |what: &str| crate::oauth::error(400, "invalid_request", &format!("unreadable request: {what}"));
    let url = req.url().map_err(|_| unreadable("URL"))?;
    let method = req.method().to_string();
    let mut request = HttpRequest::new(&method, url);
    request.headers = req.headers().entries().collect();
    if matches!(req.method(), Method::Get | Method::Head) {
        return Ok(request);
    }
    let path = request.url.path().to_string();
    let limit = crate::app::admit_body(&method, &path, request.content_length())?;
    request.body = match req.stream() {
        Ok(mut stream) => read_limited(&mut stream, limit).await.map_err(|e| match e {
            // Dropping the stream cancels it: the rest of the upload is never read.
            BodyError::TooLarge { .. } => crate::app::too_large(&method, &path),
            BodyError::Read(_) => unreadable("body"),
        })?,
        Err(_) => Vec::new(), // no body
    };
    Ok(request)
}

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> worker::Result<Response> {
    let started = Date::now().as_millis();
    let (method, path) = (req.method().to_string(), req.path());
    let (resp, log) = match convert(req).await {
        Ok(request) => {
            let platform = Platform {
                kv: env.kv("TOKENS").ok(),
                limiters: Limiter::ALL.map(|l| rate_limiter(&env, l)),
                assets: env.assets("ASSETS").ok(),
            };
            crate::app::handle(&platform, &WorkerEnv(&env), request).await
        }
        Err(resp) => (resp, crate::app::RequestLog::default()),
    };
    let mut line = serde_json::json!({
        "method": method, "route": path, "status": resp.status,
        "ms": Date::now().as_millis().saturating_sub(started),
        "user": log.user, "rpc": log.rpc_method, "spotify_calls": log.spotify_calls,
    });
    if !log.warnings.is_empty() {
        line["warnings"] = serde_json::json!(log.warnings);
    }
    worker::console_log!("{line}");
    let headers = Headers::new();
    for (k, v) in &resp.headers {
        headers.append(k, v)?;
    }
    Ok(Response::from_bytes(resp.body)?.with_status(resp.status).with_headers(headers))
}
