//! The Worker adapter: binds the core's ports to workerd and converts requests and
//! responses. The only module that names `worker` types; kept thin on purpose.

use crate::app::RequestLog;
use crate::core::config::{Config, ConfigProblem, EnvSource};
use crate::core::http::{declared_length, read_limited, BodyError, HttpRequest, HttpResponse};
use crate::core::platform::{Assets, Clock, Http, Kv, Limiter, PortError, RateLimit, Sleep};
use worker::web_sys;
use worker::{event, ByteStream, Context, Delay, Env};

use worker::js_sys::{futures::JsFuture, Array, Object, Promise, Reflect, Uint8Array};
use worker::wasm_bindgen::{JsCast, JsValue};

/// The KV namespace and the Rate Limiting bindings are called as the JS objects they are
/// (typed imports below: one call, one promise) rather than through `worker::kv` and
/// `worker::RateLimiter`, which convert every option and answer with `serde_wasm_bindgen`:
/// the same calls, about 20 KB less .wasm (9 KB gzip).
struct Platform {
    /// The `TOKENS` KV namespace; `None` when not bound.
    kv: Option<KvNamespace>,
    /// The Rate Limiting bindings, by `Limiter::ALL` order; `None` when not bound.
    limiters: [Option<RateLimitBinding>; 2],
}

/// `env[name]` when it is an object with a `method` function, else `None`.
fn binding<T: JsCast>(env: &Env, name: &str, method: &str) -> Option<T> {
    let value = js_binding(env, name, method);
    (!value.is_undefined()).then(|| value.unchecked_into())
}

/// A `[[ratelimits]]` binding, or `None` when wrangler.toml does not declare it. Read by
/// property rather than `Env::rate_limiter`, whose check of the binding's JS class name is
/// the only thing that could differ between workerd versions.
fn rate_limiter(env: &Env, limiter: Limiter) -> Option<RateLimitBinding> {
    binding(env, limiter.binding(), "limit")
}

// Every call from the .wasm into JS pays for its arguments, and every string it returns is
// copied in with a call back into the .wasm; on a tool call these added up. So the adapter
// reaches the runtime through typed imports (one call per binding method, where `Reflect`
// took five: get the method, build the argument array, apply, resolve) and through the
// helpers in glue.js (headers as one text, where the `Headers` iterator took seven calls
// and two string copies per header; an outbound request and our answer built in one call).
#[wasm_bindgen::prelude::wasm_bindgen(module = "/src/edge/glue.js")]
extern "C" {
    #[wasm_bindgen::prelude::wasm_bindgen(js_name = headerLines)]
    fn header_lines(headers: &web_sys::Headers) -> String;
    #[wasm_bindgen::prelude::wasm_bindgen(js_name = binding)]
    fn js_binding(env: &Env, name: &str, method: &str) -> JsValue;
    #[wasm_bindgen::prelude::wasm_bindgen(catch)]
    fn send(
        url: &str,
        method: &str,
        lines: &str,
        body: &[u8],
        signal: &web_sys::AbortSignal,
    ) -> Result<Promise, JsValue>;
    #[wasm_bindgen::prelude::wasm_bindgen(catch)]
    fn respond(status: u16, lines: &str, body: &[u8]) -> Result<web_sys::Response, JsValue>;
}

#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    /// A KV namespace binding (`env.TOKENS`).
    type KvNamespace;
    #[wasm_bindgen::prelude::wasm_bindgen(method, catch, js_name = get)]
    fn kv_get(this: &KvNamespace, key: &str) -> Result<Promise, JsValue>;
    #[wasm_bindgen::prelude::wasm_bindgen(method, catch, js_name = put)]
    fn kv_put(this: &KvNamespace, key: &str, value: &str, options: &JsValue) -> Result<Promise, JsValue>;
    #[wasm_bindgen::prelude::wasm_bindgen(method, catch, js_name = delete)]
    fn kv_delete(this: &KvNamespace, key: &str) -> Result<Promise, JsValue>;
    #[wasm_bindgen::prelude::wasm_bindgen(method, catch, js_name = list)]
    fn kv_list(this: &KvNamespace, options: &JsValue) -> Result<Promise, JsValue>;

    /// A Rate Limiting binding (`[[ratelimits]]`).
    type RateLimitBinding;
    #[wasm_bindgen::prelude::wasm_bindgen(method, catch, js_name = limit)]
    fn limit(this: &RateLimitBinding, options: &JsValue) -> Result<Promise, JsValue>;
}

/// Headers as the core holds them, from [`header_lines`]' text.
fn headers_of(headers: &web_sys::Headers) -> Vec<(String, String)> {
    crate::core::http::headers_from_lines(&header_lines(headers))
}

/// The promise of a JS call that may have thrown (a binding method, `arrayBuffer()`), awaited.
async fn settle(promise: Result<Promise, JsValue>) -> Result<JsValue, JsValue> {
    JsFuture::from(promise?).await
}

/// A plain object of string keys, for a binding's options.
fn options(entries: &[(&str, JsValue)]) -> JsValue {
    let o = Object::new();
    for (k, v) in entries {
        // Setting a property of a fresh plain object cannot fail.
        let _ = Reflect::set(&o, &(*k).into(), v);
    }
    o.into()
}

/// The port's error for a failed JS call (a binding, `fetch`), worded by `worker::Error`.
fn js_err(what: &str, e: JsValue) -> PortError {
    port_err(what, worker::Error::from(e))
}

fn port_err(what: &str, e: impl std::fmt::Display) -> PortError {
    PortError(format!("{what}: {e}"))
}

impl Platform {
    fn kv(&self) -> Result<&KvNamespace, PortError> {
        self.kv.as_ref().ok_or_else(|| PortError("the TOKENS KV namespace is not bound (see wrangler.toml)".into()))
    }
}

impl Kv for Platform {
    async fn get(&self, key: &str) -> Result<Option<String>, PortError> {
        // `type` defaults to "text": a string, or null for a missing key.
        Ok(settle(self.kv()?.kv_get(key)).await.map_err(|e| js_err("KV get", e))?.as_string())
    }
    async fn put(&self, key: &str, value: &str, ttl: Option<u64>) -> Result<(), PortError> {
        let opts = options(ttl.map(|t| ("expirationTtl", JsValue::from_f64(t as f64))).as_slice());
        settle(self.kv()?.kv_put(key, value, &opts)).await.map_err(|e| js_err("KV put", e))?;
        Ok(())
    }
    async fn delete(&self, key: &str) -> Result<(), PortError> {
        settle(self.kv()?.kv_delete(key)).await.map_err(|e| js_err("KV delete", e))?;
        Ok(())
    }
    async fn list(&self, prefix: &str) -> Result<Vec<String>, PortError> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        let field = |o: &JsValue, k: &str| Reflect::get(o, &k.into()).unwrap_or(JsValue::UNDEFINED);
        loop {
            let mut entries = vec![("prefix", JsValue::from(prefix))];
            if let Some(c) = cursor.take() {
                entries.push(("cursor", c.into()));
            }
            let page = settle(self.kv()?.kv_list(&options(&entries))).await.map_err(|e| js_err("KV list", e))?;
            let keys = field(&page, "keys");
            if !Array::is_array(&keys) {
                return Err(PortError("KV list: no keys in the answer".into()));
            }
            for k in keys.unchecked_into::<Array>().iter() {
                let name = field(&k, "name").as_string();
                out.push(name.ok_or_else(|| PortError("KV list: a key without a name".into()))?);
            }
            let complete = field(&page, "list_complete").as_bool().unwrap_or(true);
            match field(&page, "cursor").as_string() {
                Some(c) if !complete && !c.is_empty() => cursor = Some(c),
                _ => return Ok(out),
            }
        }
    }
}

impl Http for Platform {
    /// `fetch` with the request's limits: the answer's body is not read past
    /// `max_response_bytes`, and the whole exchange is aborted after `timeout_ms`.
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, PortError> {
        // Built and sent by glue.js's `send` (one call) with the global `fetch`, not through
        // `worker::Fetch`: `worker::RequestInit` converts its `cf` properties (which we never
        // set) through serde_wasm_bindgen, about 19 KB of .wasm (7 KB gzip) for nothing.
        // The runtime's own timer aborts the fetch, body included, after `timeout_ms`: no
        // timer of ours (a closure and a promise per call) racing the exchange.
        let signal = web_sys::AbortSignal::timeout_with_u32(u32::try_from(request.timeout_ms).unwrap_or(u32::MAX));
        let limit = request.max_response_bytes;
        let timed_out = || PortError(format!("no complete answer within {} ms", request.timeout_ms));
        let sent = send(
            request.url.as_str(),
            &request.method,
            &crate::core::http::header_lines(&request.headers),
            &request.body,
            &signal,
        );
        let fetched = settle(sent).await;
        let resp: web_sys::Response = match fetched {
            Ok(r) => r.unchecked_into(),
            Err(_) if signal.aborted() => return Err(timed_out()),
            Err(e) => return Err(js_err("fetch", e)),
        };
        let headers = headers_of(&resp.headers());
        let too_large = || PortError(format!("the response is larger than {limit} bytes"));
        let declared = declared_length(&headers);
        if declared.is_some_and(|n| n > limit as u64) {
            // Dropping the response cancels its body.
            return Err(too_large());
        }
        // A declared length within the limit and no content coding: the runtime holds the
        // body to that length, so it is read in one piece with `arrayBuffer()`, one promise
        // (`worker::Response::bytes` reads a stream, a promise and closures per chunk). A
        // compressed body can decode to far more than its declared length, so it is
        // streamed and counted like one of unknown length.
        let identity = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-encoding"))
            .is_none_or(|(_, v)| v.eq_ignore_ascii_case("identity"));
        let read = if identity && declared.is_some() {
            whole_body(resp.array_buffer()).await.map_err(|e| js_err("body", e))
        } else {
            match resp.body() {
                Some(body) => read_limited(&mut ByteStream::from(body), limit).await.map_err(|e| match e {
                    BodyError::TooLarge { .. } => too_large(),
                    BodyError::Read(e) => port_err("body", e),
                }),
                // No body at all (204, or a body already buffered by the runtime).
                None => whole_body(resp.array_buffer()).await.map_err(|e| js_err("body", e)),
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
        Ok(HttpResponse { status: resp.status(), headers, body })
    }
}

/// A whole body, from the promise of its `arrayBuffer()` (of a request or a response).
async fn whole_body(buffer: Result<Promise, JsValue>) -> Result<Vec<u8>, JsValue> {
    Ok(Uint8Array::new(&settle(buffer).await?).to_vec())
}

/// The global the entry module (src/edge/entry.mjs) puts the views on, by file name.
const VIEWS_GLOBAL: &str = "__SPOTIFY_MCP_VIEWS__";

impl Assets for Platform {
    async fn asset(&self, path: &str) -> Result<Option<String>, PortError> {
        let views = Reflect::get(&worker::js_sys::global(), &VIEWS_GLOBAL.into())
            .map_err(|_| PortError("views unreadable".into()))?;
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
                let outcome = settle(binding.limit(&options(&[("key", key.into())])))
                    .await
                    .map_err(|e| js_err("ratelimit", e))?;
                Reflect::get(&outcome, &"success".into())
                    .ok()
                    .and_then(|v| v.as_bool())
                    .ok_or_else(|| PortError("ratelimit: the outcome has no success".into()))
            }
            None => Ok(true),
        }
    }
    fn is_bound(&self, limiter: Limiter) -> bool {
        self.limiters[Limiter::ALL.iter().position(|l| *l == limiter).unwrap_or(0)].is_some()
    }
}

impl Clock for Platform {
    /// `Date.now()` itself: `worker::Date::now` constructs a JS `Date` and reads it back,
    /// two calls across the boundary where one does.
    fn now_ms(&self) -> u64 {
        worker::js_sys::Date::now() as u64
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
fn head(
    req: &web_sys::Request,
    early: Result<HttpRequest, HttpResponse>,
) -> Result<(HttpRequest, usize), HttpResponse> {
    let mut request = early?;
    request.headers = headers_of(&req.headers());
    let limit = crate::app::admit_body(&request)?;
    Ok((request, limit))
}

/// The request line and only the headers [`crate::app::answer_before_body`] reads: copying
/// every header across the JS boundary is wasted on the requests it answers.
fn early_head(req: &web_sys::Request) -> Result<HttpRequest, HttpResponse> {
    let url = url::Url::parse(&req.url()).map_err(|_| unreadable("URL"))?;
    let mut request = HttpRequest::new(&req.method(), url);
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
async fn read_body(req: web_sys::Request, mut request: HttpRequest, limit: usize) -> Result<HttpRequest, HttpResponse> {
    if request.method == "GET" || request.method == "HEAD" {
        return Ok(request);
    }
    let too_large = || crate::app::too_large(&request);
    let body = if request.content_length().is_some() {
        // A declared length within the limit: the runtime holds the body to it, so one read
        // of the whole (a stream reader costs a promise and closures per chunk).
        whole_body(req.array_buffer()).await.map_err(|_| unreadable("body"))?
    } else {
        match req.body() {
            Some(body) => read_limited(&mut ByteStream::from(body), limit).await.map_err(|e| match e {
                // Dropping the stream cancels it: the rest of the upload is never read.
                BodyError::TooLarge { .. } => too_large(),
                BodyError::Read(_) => unreadable("body"),
            })?,
            None => Vec::new(), // no body
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

/// Takes and gives the runtime's own `Request` and `Response`: `worker::Request` reads the
/// method, the URL and the `cf` object on construction whether they are needed or not.
#[event(fetch)]
async fn fetch(req: web_sys::Request, env: Env, _ctx: Context) -> worker::Result<web_sys::Response> {
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
                    let platform = Platform {
                        kv: binding(&env, "TOKENS", "get"),
                        limiters: Limiter::ALL.map(|l| rate_limiter(&env, l)),
                    };
                    crate::app::handle_configured(&platform, configured, request).await
                }
                Err(resp) => (resp, RequestLog::default()),
            },
        },
    };
    // Workers observability (wrangler.toml) records every request's method, path, status and
    // time; our line adds only what it cannot know, when there is something to say.
    if let Some(line) = log.line(resp.status) {
        worker::console_log!("{}", crate::json::text(&line));
    }
    respond(resp.status, &crate::core::http::header_lines(&resp.headers), &resp.body).map_err(worker::Error::from)
}
