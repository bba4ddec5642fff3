//! A real HTTP/1.1 server on `127.0.0.1:0` for tests: a small [`Router`] over method + path
//! pattern, every request recorded, stopped when the [`TestServer`] is dropped.
//!
//! The protocol fakes ([`crate::hf_hub`], and later Ollama and RunPod) are routers over this
//! server. Patterns are `/`-separated: a literal segment matches itself, `{name}` matches one
//! segment and `{*name}` (last only) the rest of the path; captures are percent-decoded. A `GET`
//! route also answers `HEAD` (the server sends the headers, including `Content-Length`, without
//! the body). Unmatched requests get `404` with `x-error-code: RouteNotFound`.

use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;

use serde_json::Value;

/// A request as the handler sees it.
#[derive(Debug, Clone)]
pub struct HttpRequest {
    /// Upper-case method: `GET`, `HEAD`, `POST`, …
    pub method: String,
    /// The raw path, without the query string (still percent-encoded).
    pub path: String,
    /// The raw query string after `?`, if any.
    pub query: Option<String>,
    /// Header names and values in the order received.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpRequest {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The first query parameter named `name`, percent-decoded.
    pub fn query_param(&self, name: &str) -> Option<String> {
        let query = self.query.as_deref()?;
        query.split('&').find_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k) == name).then(|| percent_decode(v))
        })
    }

    /// `Authorization: Bearer TOKEN` → `TOKEN`.
    pub fn bearer_token(&self) -> Option<&str> {
        let value = self.header("authorization")?;
        let (scheme, token) = value.split_once(' ')?;
        scheme
            .eq_ignore_ascii_case("bearer")
            .then_some(token.trim())
    }
}

/// A response built by a handler.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// An empty response with `status`.
    pub fn new(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// `status` with a JSON body.
    pub fn json(status: u16, value: &Value) -> Self {
        Self::new(status)
            .header("content-type", "application/json; charset=utf-8")
            .body(value.to_string())
    }

    /// `status` with a plain-text body.
    pub fn text(status: u16, text: &str) -> Self {
        Self::new(status)
            .header("content-type", "text/plain; charset=utf-8")
            .body(text)
    }

    /// Adds a header (`Content-Length` is always computed from the body).
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }
}

/// Captured path segments of a matched route.
#[derive(Debug, Clone, Default)]
pub struct Params(BTreeMap<String, String>);

impl Params {
    /// The decoded capture `name`, or `""` when the pattern has none by that name.
    pub fn get(&self, name: &str) -> &str {
        self.0.get(name).map(String::as_str).unwrap_or("")
    }
}

type Handler = Arc<dyn Fn(&HttpRequest, &Params) -> HttpResponse + Send + Sync>;

struct Route {
    method: String,
    segments: Vec<String>,
    handler: Handler,
}

/// Method + path-pattern routes, tried in the order they were added.
#[derive(Default)]
pub struct Router {
    routes: Vec<Route>,
}

impl Router {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a route. `pattern` starts with `/`; see the module doc for its syntax.
    pub fn route<F>(mut self, method: &str, pattern: &str, handler: F) -> Self
    where
        F: Fn(&HttpRequest, &Params) -> HttpResponse + Send + Sync + 'static,
    {
        self.routes.push(Route {
            method: method.to_ascii_uppercase(),
            segments: split_path(pattern).map(str::to_string).collect(),
            handler: Arc::new(handler),
        });
        self
    }

    /// Routes `request` to its handler (404 `RouteNotFound` when none matches).
    pub fn handle(&self, request: &HttpRequest) -> HttpResponse {
        for route in &self.routes {
            let method_ok = route.method == request.method
                || (route.method == "GET" && request.method == "HEAD");
            if !method_ok {
                continue;
            }
            if let Some(params) = match_path(&route.segments, &request.path) {
                return (route.handler)(request, &params);
            }
        }
        HttpResponse::text(404, "no such route")
            .header("x-error-code", "RouteNotFound")
            .header("x-error-message", "no such route")
    }
}

fn split_path(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter(|s| !s.is_empty())
}

fn match_path(pattern: &[String], path: &str) -> Option<Params> {
    let segments: Vec<&str> = split_path(path).collect();
    let mut params = BTreeMap::new();
    for (i, pat) in pattern.iter().enumerate() {
        if let Some(name) = pat.strip_prefix("{*").and_then(|p| p.strip_suffix('}')) {
            if i >= segments.len() {
                return None;
            }
            let rest: Vec<String> = segments[i..].iter().map(|s| percent_decode(s)).collect();
            params.insert(name.to_string(), rest.join("/"));
            return Some(Params(params));
        }
        let segment = segments.get(i)?;
        if let Some(name) = pat.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
            params.insert(name.to_string(), percent_decode(segment));
        } else if pat != segment {
            return None;
        }
    }
    (segments.len() == pattern.len()).then_some(Params(params))
}

/// Decodes `%XX` escapes (invalid escapes and non-UTF-8 results are kept as they are).
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| s.to_string())
}

/// One request the server answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    pub method: String,
    /// Path and query as sent (percent-encoded).
    pub url: String,
    /// Whether an `Authorization` header came with it.
    pub authorization: bool,
    /// The `Range` header, if any.
    pub range: Option<String>,
    /// The status the server answered.
    pub status: u16,
}

impl RecordedRequest {
    /// The path part of [`url`](Self::url).
    pub fn path(&self) -> &str {
        self.url.split('?').next().unwrap_or(&self.url)
    }
}

/// A running server; dropping it stops the server and joins its thread.
pub struct TestServer {
    addr: SocketAddr,
    server: Arc<tiny_http::Server>,
    log: Arc<Mutex<Vec<RecordedRequest>>>,
    thread: Option<JoinHandle<()>>,
}

impl TestServer {
    /// Binds `127.0.0.1:0` and serves `router` on a background thread.
    pub fn start(router: Router) -> io::Result<TestServer> {
        let server = tiny_http::Server::http("127.0.0.1:0").map_err(io::Error::other)?;
        let addr = server
            .server_addr()
            .to_ip()
            .ok_or_else(|| io::Error::other("tiny_http bound a non-IP address"))?;
        let server = Arc::new(server);
        let log = Arc::new(Mutex::new(Vec::new()));
        let thread = {
            let server = Arc::clone(&server);
            let log = Arc::clone(&log);
            std::thread::Builder::new()
                .name(format!("test-http-{}", addr.port()))
                .spawn(move || serve(&server, &router, &log))?
        };
        Ok(TestServer {
            addr,
            server,
            log,
            thread: Some(thread),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request answered so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.log).clone()
    }

    /// Forgets the requests recorded so far.
    pub fn clear_requests(&self) {
        lock(&self.log).clear();
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn serve(server: &tiny_http::Server, router: &Router, log: &Mutex<Vec<RecordedRequest>>) {
    // `recv` returns an error once `unblock` was called (or the listener died).
    while let Ok(mut request) = server.recv() {
        let url = request.url().to_string();
        let (path, query) = match url.split_once('?') {
            Some((p, q)) => (p.to_string(), Some(q.to_string())),
            None => (url.clone(), None),
        };
        let headers: Vec<(String, String)> = request
            .headers()
            .iter()
            .map(|h| (h.field.as_str().to_string(), h.value.as_str().to_string()))
            .collect();
        let mut body = Vec::new();
        let _ = request.as_reader().read_to_end(&mut body);
        let req = HttpRequest {
            method: request.method().as_str().to_ascii_uppercase(),
            path,
            query,
            headers,
            body,
        };
        let response = router.handle(&req);
        lock(log).push(RecordedRequest {
            method: req.method.clone(),
            url,
            authorization: req.header("authorization").is_some(),
            range: req.header("range").map(str::to_string),
            status: response.status,
        });
        let mut out = tiny_http::Response::from_data(response.body)
            .with_status_code(response.status)
            .with_chunked_threshold(usize::MAX);
        for (name, value) in &response.headers {
            if let Ok(h) = tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes()) {
                out.add_header(h);
            }
        }
        // A client that hung up is its own problem; keep serving the others.
        let _ = request.respond(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_capture_and_decode() {
        let pat: Vec<String> = split_path("/{owner}/{name}/resolve/{rev}/{*path}")
            .map(str::to_string)
            .collect();
        let p = match_path(&pat, "/o/n/resolve/refs%2Fpr%2F1/sub/dir/a%20b.json").unwrap();
        assert_eq!(p.get("owner"), "o");
        assert_eq!(p.get("rev"), "refs/pr/1");
        assert_eq!(p.get("path"), "sub/dir/a b.json");
        assert!(match_path(&pat, "/o/n/resolve/main").is_none());
        assert!(match_path(&pat, "/o/n/blob/main/x").is_none());
        let exact: Vec<String> = split_path("/api/models/{o}/{n}")
            .map(str::to_string)
            .collect();
        assert!(match_path(&exact, "/api/models/a/b/extra").is_none());
        assert!(match_path(&exact, "/api/models/a/b").is_some());
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%2Fb%20c"), "a/b c");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
        assert_eq!(percent_decode("%E2%9C%93"), "✓");
    }
}
