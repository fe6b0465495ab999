//! The Worker adapter: binds the core's ports to workerd and converts requests and
//! responses. The only module that names `worker` types; kept thin on purpose.

use crate::app::RequestLog;
use crate::core::config::{Config, ConfigProblem, EnvSource};
use crate::core::http::{declared_length, read_limited, BodyError, HttpRequest, HttpResponse};
use crate::core::platform::{Assets, Clock, Http, Kv, Limiter, PortError, RateLimit, Sleep};
use worker::{
    event, Context, Date, Delay, Env, Fetch, Headers, Method, Request, RequestInit, RequestRedirect, Response,
};

struct Platform {
    kv: Option<worker::kv::KvStore>,
    /// The Rate Limiting bindings, by `Limiter::ALL` order; `None` when not bound.
    limiters: [Option<worker::RateLimiter>; 2],
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
    /// `fetch` with the request's limits: the answer's body is not read past
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
        // The runtime's own timer aborts the fetch, body included, after `timeout_ms`: no
        // timer of ours (a closure and a promise per call) racing the exchange.
        let signal = worker::AbortSignal::from(worker::web_sys::AbortSignal::timeout_with_u32(
            u32::try_from(request.timeout_ms).unwrap_or(u32::MAX),
        ));
        let limit = request.max_response_bytes;
        let timed_out = || PortError(format!("no complete answer within {} ms", request.timeout_ms));
        let mut resp = Fetch::Request(req).send_with_signal(&signal).await.map_err(|e| {
            if signal.aborted() {
                timed_out()
            } else {
                port_err("fetch", e)
            }
        })?;
        let headers: Vec<(String, String)> = resp.headers().entries().collect();
        let too_large = || PortError(format!("the response is larger than {limit} bytes"));
        if declared_length(&headers).is_some_and(|n| n > limit as u64) {
            // Dropping the response cancels its body.
            return Err(too_large());
        }
        // A declared length within the limit and no content coding: the runtime holds the
        // body to that length, so it is read in one piece (a stream reader costs a promise
        // and closures per chunk). A compressed body can decode to far more than its
        // declared length, so it is streamed and counted like one of unknown length.
        let identity = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-encoding"))
            .is_none_or(|(_, v)| v.eq_ignore_ascii_case("identity"));
        let read = if identity && declared_length(&headers).is_some() {
            resp.bytes().await.map_err(|e| port_err("body", e))
        } else {
            match resp.stream() {
                Ok(mut stream) => read_limited(&mut stream, limit).await.map_err(|e| match e {
                    BodyError::TooLarge { .. } => too_large(),
                    BodyError::Read(e) => port_err("body", e),
                }),
                // No body at all (204, or a body already buffered by the runtime).
                Err(_) => resp.bytes().await.map_err(|e| port_err("body", e)),
            }
        };
        // An aborted stream can end like a finished one: never take a cut-off body as whole.
        if signal.aborted() {
            return Err(timed_out());
        }
        let body = read?;
        if body.len() > limit {
            return Err(too_large());
        }
        Ok(HttpResponse { status: resp.status_code(), headers, body })
    }
}

/// The global the entry module (src/edge/entry.mjs) puts the views on, by file name.
const VIEWS_GLOBAL: &str = "__SPOTIFY_MCP_VIEWS__";

impl Assets for Platform {
    async fn asset(&self, path: &str) -> Result<Option<String>, PortError> {
        use worker::js_sys::{global, Reflect};
        let views = Reflect::get(&global(), &VIEWS_GLOBAL.into()).map_err(|_| PortError("views unreadable".into()))?;
        if views.is_undefined() {
            return Ok(None);
        }
        Ok(Reflect::get(&views, &path.into()).ok().and_then(|v| v.as_string()))
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

/// The request line and headers as the core sees them; the body comes later (`read_body`),
/// when the router needs it. Also the most body the route takes.
fn head(req: &Request, early: Result<HttpRequest, HttpResponse>) -> Result<(HttpRequest, usize), HttpResponse> {
    let mut request = early?;
    request.headers = req.headers().entries().collect();
    let limit = crate::app::admit_body(&request)?;
    Ok((request, limit))
}

/// The request line and only the headers [`crate::app::answer_before_body`] reads: copying
/// every header across the JS boundary is wasted on the requests it answers.
fn early_head(req: &Request) -> Result<HttpRequest, HttpResponse> {
    let url = req.url().map_err(|_| unreadable("URL"))?;
    let mut request = HttpRequest::new(req.method().as_ref(), url);
    let headers = req.headers();
    for name in crate::app::EARLY_HEADERS {
        if let Ok(Some(value)) = headers.get(name) {
            request.headers.push((name.to_string(), value));
        }
    }
    Ok(request)
}

fn unreadable(what: &str) -> HttpResponse {
    crate::oauth::error(400, "invalid_request", &format!("unreadable request: {what}"))
}

/// The body, read up to the route's limit (see [`crate::app::body_limit`], checked against
/// a declared length by `head`).
async fn read_body(mut req: Request, mut request: HttpRequest, limit: usize) -> Result<HttpRequest, HttpResponse> {
    if matches!(req.method(), Method::Get | Method::Head) {
        return Ok(request);
    }
    let too_large = || crate::app::too_large(&request);
    let body = if request.content_length().is_some() {
        // A declared length within the limit: the runtime holds the body to it, so one read
        // of the whole (a stream reader costs a promise and closures per chunk).
        req.bytes().await.map_err(|_| unreadable("body"))?
    } else {
        match req.stream() {
            Ok(mut stream) => read_limited(&mut stream, limit).await.map_err(|e| match e {
                // Dropping the stream cancels it: the rest of the upload is never read.
                BodyError::TooLarge { .. } => too_large(),
                BodyError::Read(_) => unreadable("body"),
            })?,
            Err(_) => Vec::new(), // no body
        }
    };
    if body.len() > limit {
        return Err(too_large());
    }
    request.body = body;
    Ok(request)
}

thread_local! {
    /// The configuration, parsed once per isolate: an isolate serves one deployment, whose
    /// variables and secrets cannot change under it (a change is a new deployment).
    static CONFIG: std::cell::OnceCell<std::rc::Rc<Result<Config, Vec<ConfigProblem>>>> =
        const { std::cell::OnceCell::new() };
}

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> worker::Result<Response> {
    let config = CONFIG.with(|c| c.get_or_init(|| std::rc::Rc::new(Config::from_env(&WorkerEnv(&env)))).clone());
    let configured = config.as_ref().as_ref().map_err(Vec::as_slice);
    let early = early_head(&req);
    let answered = early.as_ref().ok().and_then(|r| crate::app::answer_before_body(configured, r));
    let (resp, log) = match answered {
        Some(resp) => (resp, RequestLog::default()),
        None => match head(&req, early) {
            Err(resp) => (resp, RequestLog::default()),
            Ok((request, limit)) => match read_body(req, request, limit).await {
                Ok(request) => {
                    let platform =
                        Platform { kv: env.kv("TOKENS").ok(), limiters: Limiter::ALL.map(|l| rate_limiter(&env, l)) };
                    crate::app::handle_configured(&platform, configured, request).await
                }
                Err(resp) => (resp, RequestLog::default()),
            },
        },
    };
    // Workers observability (wrangler.toml) records every request's method, path, status and
    // time; our line adds only what it cannot know, when there is something to say.
    if let Some(line) = log.line(resp.status) {
        worker::console_log!("{line}");
    }
    let headers = Headers::new();
    for (k, v) in &resp.headers {
        headers.append(k, v)?;
    }
    Ok(Response::from_bytes(resp.body)?.with_status(resp.status).with_headers(headers))
}
