//! A loopback Ollama server ([`FakeOllama`]) implementing the model-management endpoints the way
//! the real server (ollama `server/routes.go`, `server/create.go`) answers them:
//!
//! * `GET /api/version` → `{"version": "…"}` ([`FakeOllamaOptions::version`]).
//! * `HEAD /api/blobs/sha256:<hex>` → 200 / 404; 400 `invalid digest format` for a malformed
//!   digest.
//! * `POST /api/blobs/sha256:<hex>` → 201 Created after checking the body's sha256 (400
//!   `digest mismatch, expected "…", got "…"` otherwise); 200 without reading when the blob is
//!   already there.
//! * `POST /api/create` (the files-based API): `files` paths must be relative, digests present,
//!   the name valid; then an NDJSON stream (`application/x-ndjson`, HTTP 200): `parsing GGUF` per
//!   file (a missing blob is an `{"error": "open …/blobs/sha256-…: no such file or directory"}`
//!   line, a file without the GGUF magic `supplied file was not in GGUF format`), one adapter at
//!   most, `from` must name a stored model, the template must parse (block structure), then
//!   `using existing layer …` / `creating new layer …`, `writing manifest`, `success`. Errors
//!   before any line are an HTTP error with `{"error": …}`, as the server does; `"stream": false`
//!   gives one JSON object.
//! * `POST /api/show`, `GET /api/tags`, `DELETE /api/delete` over the models created (names
//!   compared case-insensitively with the default `:latest` tag), in the server's shapes
//!   (`parameters` as `name  value` lines in Go syntax, `modelfile` as `ollama show` prints it,
//!   `details` and `model_info` read from the GGUF's metadata).
//!
//! * `POST /api/chat` with a stored model: a deterministic echo. The reply is
//!   `"echo: <content of the last user message>"`, streamed (the default, `"stream": true`) as
//!   NDJSON (`application/x-ndjson`, HTTP 200) one word per line with its following space:
//!   `{"model", "created_at", "message": {"role": "assistant", "content": "<word> "}, "done":
//!   false}`, then `{"model", "created_at", "message": {"role": "assistant", "content": ""},
//!   "done": true, "done_reason": "stop", "total_duration", "load_duration",
//!   "prompt_eval_count", "prompt_eval_duration", "eval_count", "eval_duration"}` as the server
//!   ends a stream. Counts are words: `prompt_eval_count` over every message's content (plus
//!   the model's system prompt when the request has no system message, which the server would
//!   prepend), `eval_count` over the reply. `options.num_predict` N stops after N words with
//!   `done_reason` `length`. `"stream": false` gives one object with the whole message. Errors
//!   as the server gives them: 400 `model is required`, 400 for `messages` that are not a list
//!   of `{role, content}` objects, 404 `model '<name>' not found`. Every request body that
//!   parsed is kept ([`FakeOllama::chat_requests`]).
//!
//! Faults on demand: an HTTP status or an error line in the middle of the create stream
//! ([`FakeOllama::fail_next`]); at the connection level, through a small TCP front the clients
//! talk to, dropping the next connections without an answer
//! ([`FakeOllama::drop_next_connections`]), holding them open without answering until the fake
//! is dropped ([`FakeOllama::hang_next_connections`], for timeouts), or closing the listening
//! socket so connections are refused ([`FakeOllama::refuse_connections`]). Every request is
//! recorded ([`FakeOllama::requests`]), and so are upload digests and create bodies.
//!
//! Also here: [`tiny_gguf`] (a GGUF header with a few metadata keys and no tensors, enough for the
//! server's checks), [`parse_modelfile`] (Ollama's Modelfile parser rules, to check a written
//! Modelfile means what the REST request says) and [`unreachable_url`].

use std::collections::{BTreeMap, VecDeque};
use std::io::{self, Read};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::http::{HttpRequest, HttpResponse, Params, RecordedRequest, Router, TestServer};

/// Where the fake pretends to keep blobs (appears in error messages and `modelfile`).
pub const BLOBS_DIR: &str = "/root/.ollama/models/blobs";

/// An endpoint a fault is aimed at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Version,
    HeadBlob,
    UploadBlob,
    Create,
    Show,
    Tags,
    Delete,
    Chat,
    /// Whichever request comes next.
    Any,
}

/// An HTTP-level fault for the next matching request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this status and `{"error": message}`.
    Status(u16, String),
    /// `/api/create`: stream `parsing GGUF`, then an `{"error": message}` line (HTTP 200);
    /// `/api/chat`: stream the reply's first word, then the error line.
    ErrorMidStream(String),
    /// `/api/create` only: stream the status lines but end without `success` (nothing stored).
    EndWithoutSuccess,
}

/// Options for [`FakeOllama::start_with`].
#[derive(Debug, Clone)]
pub struct FakeOllamaOptions {
    /// What `/api/version` reports.
    pub version: String,
}

impl Default for FakeOllamaOptions {
    fn default() -> Self {
        FakeOllamaOptions {
            version: "0.13.5".into(),
        }
    }
}

#[derive(Debug, Clone)]
struct StoredModel {
    display: String,
    template: String,
    system: String,
    params: Map<String, Value>,
    model_blob: Option<String>,
    adapters: Vec<String>,
    details: Value,
    model_info: Map<String, Value>,
    size: u64,
    digest: String,
    modified_at: String,
}

#[derive(Default)]
struct State {
    version: String,
    blobs: BTreeMap<String, Vec<u8>>,
    models: BTreeMap<String, StoredModel>,
    faults: VecDeque<(Endpoint, Fault)>,
    uploads: Vec<String>,
    creates: Vec<Value>,
    chats: Vec<Value>,
}

/// Connection-level behaviour of the TCP front.
#[derive(Default)]
struct Gate {
    drop_next: AtomicUsize,
    hang_next: AtomicUsize,
    dropped: AtomicUsize,
    hung: AtomicUsize,
    stop: AtomicBool,
    released: Mutex<bool>,
    release: Condvar,
}

/// A running fake Ollama; dropping it releases hung connections and stops it.
pub struct FakeOllama {
    state: Arc<Mutex<State>>,
    gate: Arc<Gate>,
    front_addr: SocketAddr,
    front: Mutex<Option<JoinHandle<()>>>,
    server: Option<TestServer>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl FakeOllama {
    pub fn start() -> io::Result<FakeOllama> {
        FakeOllama::start_with(FakeOllamaOptions::default())
    }

    pub fn start_with(opts: FakeOllamaOptions) -> io::Result<FakeOllama> {
        let state = Arc::new(Mutex::new(State {
            version: opts.version,
            ..State::default()
        }));
        let server = TestServer::start(router(&state))?;
        let gate = Arc::new(Gate::default());
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let front_addr = listener.local_addr()?;
        let backend = server.addr();
        let front = {
            let gate = Arc::clone(&gate);
            std::thread::Builder::new()
                .name(format!("fake-ollama-{}", front_addr.port()))
                .spawn(move || accept_loop(listener, backend, gate))?
        };
        Ok(FakeOllama {
            state,
            gate,
            front_addr,
            front: Mutex::new(Some(front)),
            server: Some(server),
        })
    }

    /// `http://127.0.0.1:PORT`, the address clients use (as `OLLAMA_HOST` or base URL).
    pub fn url(&self) -> String {
        format!("http://{}", self.front_addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.front_addr
    }

    /// The next request to `endpoint` (or to any, with [`Endpoint::Any`]) gets `fault`.
    pub fn fail_next(&self, endpoint: Endpoint, fault: Fault) {
        lock(&self.state).faults.push_back((endpoint, fault));
    }

    /// The next `n` connections are closed right after their request head arrives, unanswered.
    pub fn drop_next_connections(&self, n: usize) {
        self.gate.drop_next.fetch_add(n, Ordering::SeqCst);
    }

    /// The next `n` connections are accepted and read but never answered until the fake is
    /// dropped: a client's read timeout fires.
    pub fn hang_next_connections(&self, n: usize) {
        self.gate.hang_next.fetch_add(n, Ordering::SeqCst);
    }

    /// Closes the listening socket: from now on connections are refused (established keep-alive
    /// connections still work).
    pub fn refuse_connections(&self) {
        self.gate.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.front_addr);
        if let Some(handle) = lock(&self.front).take() {
            let _ = handle.join();
        }
    }

    /// Connections dropped so far by [`drop_next_connections`](Self::drop_next_connections).
    pub fn dropped_connections(&self) -> usize {
        self.gate.dropped.load(Ordering::SeqCst)
    }

    /// Connections held so far by [`hang_next_connections`](Self::hang_next_connections).
    pub fn hung_connections(&self) -> usize {
        self.gate.hung.load(Ordering::SeqCst)
    }

    /// Every request answered, in order (dropped and hung connections never reach the server).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.server
            .as_ref()
            .map(TestServer::requests)
            .unwrap_or_default()
    }

    /// The requests with `method` whose path starts with `prefix`.
    pub fn requests_to(&self, method: &str, prefix: &str) -> Vec<RecordedRequest> {
        self.requests()
            .into_iter()
            .filter(|r| r.method == method && r.path().starts_with(prefix))
            .collect()
    }

    pub fn clear_requests(&self) {
        if let Some(s) = &self.server {
            s.clear_requests();
        }
    }

    /// Digests of the blobs stored by an upload (201), in order.
    pub fn uploads(&self) -> Vec<String> {
        lock(&self.state).uploads.clone()
    }

    /// The JSON bodies of every `/api/create` request that parsed.
    pub fn create_requests(&self) -> Vec<Value> {
        lock(&self.state).creates.clone()
    }

    /// The JSON bodies of every `/api/chat` request that parsed, in order.
    pub fn chat_requests(&self) -> Vec<Value> {
        lock(&self.state).chats.clone()
    }

    pub fn has_blob(&self, digest: &str) -> bool {
        lock(&self.state).blobs.contains_key(&blob_key(digest))
    }

    /// Stores `bytes` as if uploaded earlier (not recorded as an upload); returns the digest.
    pub fn insert_blob(&self, bytes: &[u8]) -> String {
        let digest = format!("sha256:{}", hex::encode(Sha256::digest(bytes)));
        lock(&self.state)
            .blobs
            .insert(blob_key(&digest), bytes.to_vec());
        digest
    }

    /// Names of the stored models as `/api/tags` lists them.
    pub fn model_names(&self) -> Vec<String> {
        lock(&self.state)
            .models
            .values()
            .map(|m| m.display.clone())
            .collect()
    }
}

impl Drop for FakeOllama {
    fn drop(&mut self) {
        *lock(&self.gate.released) = true;
        self.gate.release.notify_all();
        self.refuse_connections();
        self.server.take();
    }
}

/// A URL on which nothing listens (a port bound and released again): connections are refused.
pub fn unreachable_url() -> String {
    match TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()) {
        Ok(addr) => format!("http://{addr}"),
        Err(_) => "http://127.0.0.1:9".into(),
    }
}

// ---------------------------------------------------------------------------------------------
// TCP front
// ---------------------------------------------------------------------------------------------

fn take_one(counter: &AtomicUsize) -> bool {
    counter
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
}

fn accept_loop(listener: TcpListener, backend: SocketAddr, gate: Arc<Gate>) {
    for conn in listener.incoming() {
        if gate.stop.load(Ordering::SeqCst) {
            break;
        }
        let Ok(client) = conn else { continue };
        if take_one(&gate.drop_next) {
            let gate = Arc::clone(&gate);
            std::thread::spawn(move || {
                read_request_head(&client);
                gate.dropped.fetch_add(1, Ordering::SeqCst);
                let _ = client.shutdown(Shutdown::Both);
            });
        } else if take_one(&gate.hang_next) {
            let gate = Arc::clone(&gate);
            std::thread::spawn(move || {
                read_request_head(&client);
                gate.hung.fetch_add(1, Ordering::SeqCst);
                let mut released = lock(&gate.released);
                while !*released {
                    released = gate
                        .release
                        .wait(released)
                        .unwrap_or_else(|p| p.into_inner());
                }
                drop(released);
                let _ = client.shutdown(Shutdown::Both);
            });
        } else {
            std::thread::spawn(move || forward(client, backend));
        }
    }
}

/// Reads until the end of the request head (or EOF / 10 s of silence).
fn read_request_head(mut client: &TcpStream) {
    let _ = client.set_read_timeout(Some(Duration::from_secs(10)));
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
        match client.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
    }
}

fn forward(client: TcpStream, backend: SocketAddr) {
    let Ok(server) = TcpStream::connect(backend) else {
        let _ = client.shutdown(Shutdown::Both);
        return;
    };
    let (Ok(mut client_in), Ok(mut server_out)) = (client.try_clone(), server.try_clone()) else {
        return;
    };
    let upstream = std::thread::spawn(move || {
        let _ = io::copy(&mut client_in, &mut server_out);
        let _ = server_out.shutdown(Shutdown::Write);
    });
    let (mut server_in, mut client_out) = (server, client);
    let _ = io::copy(&mut server_in, &mut client_out);
    let _ = client_out.shutdown(Shutdown::Write);
    let _ = upstream.join();
}

// ---------------------------------------------------------------------------------------------
// HTTP endpoints
// ---------------------------------------------------------------------------------------------

fn error(status: u16, message: &str) -> HttpResponse {
    HttpResponse::json(status, &json!({ "error": message }))
}

fn take_fault(state: &Mutex<State>, endpoint: Endpoint) -> Option<Fault> {
    let mut st = lock(state);
    let i = st
        .faults
        .iter()
        .position(|(e, _)| *e == endpoint || *e == Endpoint::Any)?;
    st.faults.remove(i).map(|(_, f)| f)
}

/// A status fault answers any endpoint; stream faults only matter for create.
fn status_fault(fault: &Option<Fault>) -> Option<HttpResponse> {
    match fault {
        Some(Fault::Status(code, msg)) => Some(error(*code, msg)),
        _ => None,
    }
}

fn router(state: &Arc<Mutex<State>>) -> Router {
    let s = Arc::clone(state);
    let version = move |_: &HttpRequest, _: &Params| {
        let fault = take_fault(&s, Endpoint::Version);
        if let Some(r) = status_fault(&fault) {
            return r;
        }
        HttpResponse::json(200, &json!({ "version": lock(&s).version }))
    };
    let s = Arc::clone(state);
    let head_blob = move |_: &HttpRequest, p: &Params| {
        let fault = take_fault(&s, Endpoint::HeadBlob);
        if let Some(r) = status_fault(&fault) {
            return r;
        }
        let digest = p.get("digest");
        if !valid_digest(digest) {
            return error(400, "invalid digest format");
        }
        if lock(&s).blobs.contains_key(&blob_key(digest)) {
            HttpResponse::new(200)
        } else {
            error(404, &format!("blob {digest:?} not found"))
        }
    };
    let s = Arc::clone(state);
    let upload_blob = move |req: &HttpRequest, p: &Params| {
        let fault = take_fault(&s, Endpoint::UploadBlob);
        if let Some(r) = status_fault(&fault) {
            return r;
        }
        let digest = p.get("digest");
        if !valid_digest(digest) {
            return error(400, "invalid digest format");
        }
        let mut st = lock(&s);
        if st.blobs.contains_key(&blob_key(digest)) {
            return HttpResponse::new(200);
        }
        let got = format!("sha256:{}", hex::encode(Sha256::digest(&req.body)));
        if got != digest {
            return error(
                400,
                &format!("digest mismatch, expected {digest:?}, got {got:?}"),
            );
        }
        st.blobs.insert(blob_key(digest), req.body.clone());
        st.uploads.push(digest.to_string());
        HttpResponse::new(201)
    };
    let s = Arc::clone(state);
    let create = move |req: &HttpRequest, _: &Params| create_handler(&s, req);
    let s = Arc::clone(state);
    let show = move |req: &HttpRequest, _: &Params| {
        let fault = take_fault(&s, Endpoint::Show);
        if let Some(r) = status_fault(&fault) {
            return r;
        }
        let body = match parse_body(req) {
            Ok(b) => b,
            Err(r) => return r,
        };
        let Some(name) = str_field(&body, "model").or_else(|| str_field(&body, "name")) else {
            return error(400, "model is required");
        };
        if !valid_name(&name) {
            return error(400, "invalid model name");
        }
        let st = lock(&s);
        match st.models.get(&model_key(&name)) {
            Some(m) => HttpResponse::json(200, &show_json(m)),
            None => error(404, &format!("model '{}' not found", display_name(&name))),
        }
    };
    let s = Arc::clone(state);
    let tags = move |_: &HttpRequest, _: &Params| {
        let fault = take_fault(&s, Endpoint::Tags);
        if let Some(r) = status_fault(&fault) {
            return r;
        }
        let st = lock(&s);
        let models: Vec<Value> = st
            .models
            .values()
            .map(|m| {
                json!({
                    "name": m.display, "model": m.display, "modified_at": m.modified_at,
                    "size": m.size, "digest": m.digest, "details": m.details,
                })
            })
            .collect();
        HttpResponse::json(200, &json!({ "models": models }))
    };
    let s = Arc::clone(state);
    let delete = move |req: &HttpRequest, _: &Params| {
        let fault = take_fault(&s, Endpoint::Delete);
        if let Some(r) = status_fault(&fault) {
            return r;
        }
        let body = match parse_body(req) {
            Ok(b) => b,
            Err(r) => return r,
        };
        let Some(name) = str_field(&body, "model").or_else(|| str_field(&body, "name")) else {
            return error(400, "name \"\" is invalid");
        };
        if !valid_name(&name) {
            return error(400, &format!("name {name:?} is invalid"));
        }
        match lock(&s).models.remove(&model_key(&name)) {
            Some(_) => HttpResponse::new(200),
            None => error(404, &format!("model '{name}' not found")),
        }
    };
    let s = Arc::clone(state);
    let chat = move |req: &HttpRequest, _: &Params| chat_handler(&s, req);
    Router::new()
        .route("GET", "/api/version", version)
        .route("HEAD", "/api/blobs/{digest}", head_blob)
        .route("POST", "/api/blobs/{digest}", upload_blob)
        .route("POST", "/api/create", create)
        .route("POST", "/api/show", show)
        .route("GET", "/api/tags", tags)
        .route("DELETE", "/api/delete", delete)
        .route("POST", "/api/chat", chat)
}

fn parse_body(req: &HttpRequest) -> Result<Value, HttpResponse> {
    if req.body.is_empty() {
        return Err(error(400, "missing request body"));
    }
    serde_json::from_slice(&req.body).map_err(|e| error(400, &e.to_string()))
}

fn str_field(v: &Value, key: &str) -> Option<String> {
    v.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// One step of a create: a status object or an error (with the HTTP status the server would
/// use if nothing was streamed yet).
enum Event {
    Status(Value),
    Error(String, u16),
}

fn status(s: impl Into<String>) -> Event {
    Event::Status(json!({ "status": s.into() }))
}

fn create_handler(state: &Mutex<State>, req: &HttpRequest) -> HttpResponse {
    let fault = take_fault(state, Endpoint::Create);
    if let Some(r) = status_fault(&fault) {
        return r;
    }
    let body = match parse_body(req) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let stream = body.get("stream").and_then(Value::as_bool).unwrap_or(true);
    lock(state).creates.push(body.clone());
    let events = create_events(state, &body, fault);
    respond(events, stream)
}

fn respond(events: Vec<Event>, stream: bool) -> HttpResponse {
    if !stream {
        let mut last = json!({});
        for e in events {
            match e {
                Event::Status(v) => last = v,
                Event::Error(msg, code) => return error(code, &msg),
            }
        }
        return HttpResponse::json(200, &last);
    }
    if let Some(Event::Error(msg, code)) = events.first() {
        return error(*code, msg);
    }
    let mut out = String::new();
    for e in events {
        match e {
            Event::Status(v) => out.push_str(&format!("{v}\n")),
            Event::Error(msg, _) => {
                out.push_str(&format!("{}\n", json!({ "error": msg })));
                break;
            }
        }
    }
    HttpResponse::new(200)
        .header("content-type", "application/x-ndjson")
        .body(out)
}

/// Words of `text` (whitespace-separated), the fake's notion of tokens.
fn word_count(text: &str) -> usize {
    text.split_whitespace().count()
}

fn chat_handler(state: &Mutex<State>, req: &HttpRequest) -> HttpResponse {
    let fault = take_fault(state, Endpoint::Chat);
    if let Some(r) = status_fault(&fault) {
        return r;
    }
    let body = match parse_body(req) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let Some(name) = str_field(&body, "model") else {
        return error(400, "model is required");
    };
    let messages: Vec<(String, String)> = match body.get("messages") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(list)) => {
            let mut out = Vec::new();
            for m in list {
                let Some(role) = m.get("role").and_then(Value::as_str) else {
                    return error(
                        400,
                        "json: cannot unmarshal message without a string role into api.Message",
                    );
                };
                let content = m.get("content").and_then(Value::as_str).unwrap_or("");
                out.push((role.to_string(), content.to_string()));
            }
            out
        }
        Some(other) => {
            return error(
                400,
                &format!("json: cannot unmarshal {other} into Go struct field ChatRequest.messages of type []api.Message"),
            )
        }
    };
    let stream = body.get("stream").and_then(Value::as_bool).unwrap_or(true);
    let num_predict = body
        .get("options")
        .and_then(|o| o.get("num_predict"))
        .and_then(Value::as_i64)
        .filter(|n| *n >= 0)
        .map(|n| n as usize);
    let mut st = lock(state);
    if !valid_name(&name) {
        return error(400, "invalid model name");
    }
    let Some(model) = st.models.get(&model_key(&name)) else {
        return error(404, &format!("model '{name}' not found"));
    };
    let display = model.display.clone();
    let mut prompt_words: usize = messages.iter().map(|(_, c)| word_count(c)).sum();
    if messages.first().is_none_or(|(r, _)| r != "system") {
        prompt_words += word_count(&model.system);
    }
    st.chats.push(body.clone());
    drop(st);

    let last_user = messages
        .iter()
        .rev()
        .find(|(r, _)| r == "user")
        .map(|(_, c)| c.as_str())
        .unwrap_or("");
    let reply = format!("echo: {last_user}");
    let mut pieces: Vec<String> = reply.split_inclusive(' ').map(str::to_string).collect();
    let mut done_reason = "stop";
    if let Some(n) = num_predict {
        if pieces.len() > n {
            pieces.truncate(n);
            done_reason = "length";
        }
    }
    let created = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
    let message = |content: &str| json!({ "role": "assistant", "content": content });
    let last = |content: &str| {
        json!({
            "model": display, "created_at": created, "message": message(content),
            "done_reason": done_reason, "done": true,
            "total_duration": 1_000_000u64, "load_duration": 100_000u64,
            "prompt_eval_count": prompt_words, "prompt_eval_duration": 200_000u64,
            "eval_count": pieces.len(), "eval_duration": 700_000u64,
        })
    };
    if !stream {
        return HttpResponse::json(200, &last(&pieces.concat()));
    }
    let mut out = String::new();
    for (i, piece) in pieces.iter().enumerate() {
        let line = json!({
            "model": display, "created_at": created, "message": message(piece), "done": false,
        });
        out.push_str(&format!("{line}\n"));
        if i == 0 {
            if let Some(Fault::ErrorMidStream(msg)) = &fault {
                out.push_str(&format!("{}\n", json!({ "error": msg })));
                return ndjson(out);
            }
        }
    }
    out.push_str(&format!("{}\n", last("")));
    ndjson(out)
}

fn ndjson(body: String) -> HttpResponse {
    HttpResponse::new(200)
        .header("content-type", "application/x-ndjson")
        .body(body)
}

fn digest_map(body: &Value, key: &str) -> Result<Vec<(String, String)>, String> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| match v.as_str() {
                Some(d) => Ok((k.clone(), d.to_string())),
                None => Err(format!("json: cannot unmarshal {v} into a digest string")),
            })
            .collect(),
        Some(other) => Err(format!(
            "json: cannot unmarshal {other} into Go struct field CreateRequest.{key}"
        )),
    }
}

fn create_events(state: &Mutex<State>, body: &Value, fault: Option<Fault>) -> Vec<Event> {
    let bad = |msg: &str| vec![Event::Error(msg.to_string(), 400)];
    if body
        .get("quantize")
        .and_then(Value::as_str)
        .is_some_and(|q| !q.is_empty())
    {
        return bad("mh-testkit FakeOllama: quantize is not implemented");
    }
    let (mut files, adapters) = match (digest_map(body, "files"), digest_map(body, "adapters")) {
        (Ok(f), Ok(a)) => (f, a),
        (Err(e), _) | (_, Err(e)) => return bad(&e),
    };
    files.sort();
    for (path, digest) in &files {
        if !valid_fs_path(path) {
            return bad("file path must be relative");
        }
        if digest.is_empty() {
            return bad("invalid digest format");
        }
    }
    if adapters.iter().any(|(_, d)| d.is_empty()) {
        return bad("invalid digest format");
    }
    let name = str_field(body, "model")
        .or_else(|| str_field(body, "name"))
        .unwrap_or_default();
    if !valid_name(&name) {
        return bad("invalid model name");
    }

    let mut events = Vec::new();
    let st = lock(state);
    let mut model = StoredModel {
        display: display_name(&name),
        template: String::new(),
        system: String::new(),
        params: Map::new(),
        model_blob: None,
        adapters: Vec::new(),
        details: Value::Null,
        model_info: Map::new(),
        size: 0,
        digest: String::new(),
        modified_at: String::new(),
    };
    let mut layers: Vec<String> = Vec::new();
    if let Some(from) = str_field(body, "from") {
        if !valid_name(&from) {
            return vec![Event::Error("invalid model name".into(), 400)];
        }
        match st.models.get(&model_key(&from)) {
            Some(base) => {
                let parent = base.display.clone();
                model = StoredModel {
                    display: display_name(&name),
                    ..base.clone()
                };
                if let Some(d) = model.details.as_object_mut() {
                    d.insert("parent_model".into(), Value::String(parent));
                }
                layers.extend(model.model_blob.iter().cloned());
            }
            None => {
                events.push(status("pulling manifest"));
                events.push(Event::Error(
                    "pull model manifest: file does not exist".into(),
                    500,
                ));
                return events;
            }
        }
    } else if !files.is_empty() {
        if !files.iter().any(|(p, _)| p.ends_with(".gguf")) {
            // Without a .gguf name the server sniffs the blob; ours are named, others unknown.
            let sniffed = files.iter().any(|(_, d)| {
                st.blobs
                    .get(&blob_key(d))
                    .is_some_and(|b| b.starts_with(b"GGUF"))
            });
            if !sniffed {
                return bad("unknown type");
            }
        }
        for (_, digest) in &files {
            events.push(status("parsing GGUF"));
            let Some(bytes) = st.blobs.get(&blob_key(digest)) else {
                events.push(Event::Error(missing_blob(digest), 500));
                return events;
            };
            let kv = match read_gguf_kv(bytes) {
                Ok(kv) => kv,
                Err(e) => {
                    events.push(Event::Error(e, 400));
                    return events;
                }
            };
            if kv.get("general.type").and_then(Value::as_str) == Some("adapter") {
                model.adapters.push(digest.clone());
            } else if model.model_blob.is_none() {
                let arch = kv
                    .get("general.architecture")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                model.details = json!({
                    "parent_model": "",
                    "format": "gguf",
                    "family": arch,
                    "families": [arch],
                    "parameter_size": kv.get("general.parameter_count").map(|v| v.to_string()).unwrap_or_else(|| "0".into()),
                    "quantization_level": file_type_name(kv.get("general.file_type").and_then(Value::as_u64)),
                });
                model.model_info = kv;
                model.model_blob = Some(digest.clone());
            }
            layers.push(digest.clone());
        }
    } else {
        return bad("neither 'from' or 'files' was specified");
    }

    if adapters.len() > 1 {
        events.push(Event::Error(
            "only one adapter is currently supported".into(),
            400,
        ));
        return events;
    }
    for (path, digest) in &adapters {
        if !valid_fs_path(path) {
            events.push(Event::Error("file path must be relative".into(), 400));
            return events;
        }
        events.push(status("parsing GGUF"));
        let Some(bytes) = st.blobs.get(&blob_key(digest)) else {
            events.push(Event::Error(missing_blob(digest), 400));
            return events;
        };
        match read_gguf_kv(bytes) {
            Ok(kv) => {
                if kv.get("general.type").and_then(Value::as_str) == Some("adapter") {
                    model.adapters = vec![digest.clone()];
                }
            }
            Err(e) => {
                events.push(Event::Error(e, 400));
                return events;
            }
        }
        layers.push(digest.clone());
    }

    if let Some(t) = body
        .get("template")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
    {
        if let Err(e) = check_go_template(t) {
            events.push(Event::Error(format!("template error: {e}"), 400));
            return events;
        }
        model.template = t.to_string();
    }
    if let Some(s) = body
        .get("system")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
    {
        model.system = s.to_string();
    }
    if let Some(p) = body.get("parameters").and_then(Value::as_object) {
        for (k, v) in p {
            model.params.insert(k.clone(), v.clone());
        }
    }
    if let Some(Fault::ErrorMidStream(msg)) = &fault {
        events.push(Event::Error(msg.clone(), 500));
        return events;
    }

    for digest in &layers {
        events.push(status(format!("using existing layer {digest}")));
    }
    let mut size: u64 = layers
        .iter()
        .filter_map(|d| st.blobs.get(&blob_key(d)))
        .map(|b| b.len() as u64)
        .sum();
    for (what, text) in [
        ("template", model.template.clone()),
        ("system", model.system.clone()),
        ("params", Value::Object(model.params.clone()).to_string()),
    ] {
        if text.is_empty() || (what == "params" && model.params.is_empty()) {
            continue;
        }
        let d = format!("sha256:{}", hex::encode(Sha256::digest(text.as_bytes())));
        size += text.len() as u64;
        events.push(status(format!("creating new layer {d}")));
    }
    events.push(status("writing manifest"));
    if matches!(fault, Some(Fault::EndWithoutSuccess)) {
        return events;
    }
    model.size = size;
    model.modified_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
    model.digest = hex::encode(Sha256::digest(
        format!(
            "{}{:?}{:?}{}",
            model.display, model.model_blob, model.adapters, model.template
        )
        .as_bytes(),
    ));
    drop(st);
    lock(state).models.insert(model_key(&name), model);
    events.push(status("success"));
    events
}

fn missing_blob(digest: &str) -> String {
    format!(
        "open {BLOBS_DIR}/{}: no such file or directory",
        digest.replace(':', "-")
    )
}

fn show_json(m: &StoredModel) -> Value {
    let mut params = Vec::new();
    let mut lines = Vec::new();
    for (k, v) in &m.params {
        let values: Vec<&Value> = match v {
            Value::Array(a) => a.iter().collect(),
            other => vec![other],
        };
        for v in values {
            params.push(format!("{k:<30} {}", go_value(v)));
            lines.push(format!(
                "PARAMETER {k} {}",
                modelfile_quote(&plain_value(v))
            ));
        }
    }
    let mut modelfile = format!(
        "# Modelfile generated by \"ollama show\"\n# To build a new Modelfile based on this, replace FROM with:\n# FROM {}\n\n",
        m.display
    );
    if let Some(b) = &m.model_blob {
        modelfile.push_str(&format!("FROM {BLOBS_DIR}/{}\n", b.replace(':', "-")));
    }
    for a in &m.adapters {
        modelfile.push_str(&format!("ADAPTER {BLOBS_DIR}/{}\n", a.replace(':', "-")));
    }
    if !m.template.is_empty() {
        modelfile.push_str(&format!("TEMPLATE {}\n", modelfile_quote(&m.template)));
    }
    if !m.system.is_empty() {
        modelfile.push_str(&format!("SYSTEM {}\n", modelfile_quote(&m.system)));
    }
    for l in lines {
        modelfile.push_str(&l);
        modelfile.push('\n');
    }
    let mut out = json!({
        "modelfile": modelfile,
        "parameters": params.join("\n"),
        "template": m.template,
        "details": m.details,
        "model_info": m.model_info,
        "capabilities": ["completion"],
        "modified_at": m.modified_at,
    });
    if !m.system.is_empty() {
        out["system"] = Value::String(m.system.clone());
    }
    out
}

/// `%#v` of a JSON value as Go prints it.
fn go_value(v: &Value) -> String {
    match v {
        Value::String(s) => go_quote(s),
        Value::Number(n) => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 1e21 => format!("{}", f as i64),
            Some(f) => format!("{f}"),
            None => n.to_string(),
        },
        other => other.to_string(),
    }
}

fn plain_value(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => go_value(other),
    }
}

/// Go's `strconv.Quote` for the characters that matter here.
fn go_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// ollama's `parser.quote`.
fn modelfile_quote(s: &str) -> String {
    if s.contains('\n') || s.starts_with(' ') || s.ends_with(' ') {
        if s.contains('"') {
            return format!("\"\"\"{s}\"\"\"");
        }
        return format!("\"{s}\"");
    }
    s.to_string()
}

fn file_type_name(t: Option<u64>) -> &'static str {
    match t {
        Some(0) => "F32",
        Some(1) => "F16",
        Some(2) => "Q4_0",
        Some(3) => "Q4_1",
        Some(7) => "Q8_0",
        Some(8) => "Q5_0",
        Some(9) => "Q5_1",
        Some(10) => "Q2_K",
        Some(11) => "Q3_K_S",
        Some(12) => "Q3_K_M",
        Some(13) => "Q3_K_L",
        Some(14) => "Q4_K_S",
        Some(15) => "Q4_K_M",
        Some(16) => "Q5_K_S",
        Some(17) => "Q5_K_M",
        Some(18) => "Q6_K",
        Some(32) => "BF16",
        _ => "unknown",
    }
}

// ---------------------------------------------------------------------------------------------
// Names, digests, paths
// ---------------------------------------------------------------------------------------------

fn valid_digest(d: &str) -> bool {
    let hex_part = d
        .strip_prefix("sha256:")
        .or_else(|| d.strip_prefix("sha256-"));
    hex_part.is_some_and(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn blob_key(d: &str) -> String {
    d.replacen("sha256-", "sha256:", 1)
}

/// Go's `io/fs.ValidPath`.
fn valid_fs_path(p: &str) -> bool {
    if p == "." {
        return true;
    }
    !p.is_empty() && p.split('/').all(|e| !e.is_empty() && e != "." && e != "..")
}

/// `(host, namespace, model, tag)` with ollama's defaults, or `None` when `ParseName` +
/// `IsValid` reject it.
fn name_parts(s: &str) -> Option<(String, String, String, String)> {
    let (rest, tag) = match (s.rfind(':'), s.rfind('/')) {
        (Some(c), slash) if slash.is_none_or(|sl| c > sl) => (&s[..c], Some(&s[c + 1..])),
        _ => (s, None),
    };
    let mut parts: Vec<&str> = rest.rsplitn(3, '/').collect();
    parts.reverse();
    let (host, ns, model) = match parts.as_slice() {
        [m] => ("registry.ollama.ai", "library", *m),
        [n, m] => ("registry.ollama.ai", *n, *m),
        [h, n, m] => (h.split_once("://").map(|x| x.1).unwrap_or(h), *n, *m),
        _ => return None,
    };
    let tag = tag.unwrap_or("latest");
    let ok = |s: &str, extra: &[u8], max: usize| {
        !s.is_empty()
            && s.len() <= max
            && s.bytes().enumerate().all(|(i, b)| {
                b.is_ascii_alphanumeric() || b == b'_' || (i > 0 && extra.contains(&b))
            })
    };
    (ok(host, b"-_.:", 350) && ok(ns, b"-_", 80) && ok(model, b"-_.", 80) && ok(tag, b"-_.", 80))
        .then(|| (host.into(), ns.into(), model.into(), tag.into()))
}

fn valid_name(s: &str) -> bool {
    name_parts(s).is_some()
}

fn model_key(s: &str) -> String {
    match name_parts(s) {
        Some((h, n, m, t)) => format!("{h}/{n}/{m}:{t}").to_ascii_lowercase(),
        None => s.to_ascii_lowercase(),
    }
}

/// ollama's `DisplayShortest`.
fn display_name(s: &str) -> String {
    match name_parts(s) {
        Some((h, n, m, t)) if !h.eq_ignore_ascii_case("registry.ollama.ai") => {
            format!("{h}/{n}/{m}:{t}")
        }
        Some((_, n, m, t)) if !n.eq_ignore_ascii_case("library") => format!("{n}/{m}:{t}"),
        Some((_, _, m, t)) => format!("{m}:{t}"),
        None => s.to_string(),
    }
}

// ---------------------------------------------------------------------------------------------
// Go template block check (what `template.Parse` would refuse structurally)
// ---------------------------------------------------------------------------------------------

/// Checks actions are closed and `if`/`range`/`with`/`block`/`define` blocks balanced by `end`,
/// with `else` only inside them. Errors read like Go's (`template: :LINE: …`).
pub fn check_go_template(t: &str) -> Result<(), String> {
    let mut stack: Vec<&str> = Vec::new();
    let mut rest = t;
    let mut line = 1;
    while let Some(open) = rest.find("{{") {
        line += rest[..open].matches('\n').count();
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else {
            return Err(format!("template: :{line}: unclosed action"));
        };
        let action = after[..close]
            .trim_start_matches('-')
            .trim_end_matches('-')
            .trim();
        line += after[..close].matches('\n').count();
        rest = &after[close + 2..];
        if action.starts_with("/*") {
            continue;
        }
        let word = action.split_whitespace().next().unwrap_or("");
        let in_block = matches!(stack.last(), Some(&"if") | Some(&"range") | Some(&"with"));
        match word {
            "if" | "range" | "with" | "block" | "define" => stack.push(word),
            "else" if !in_block => {
                return Err(format!("template: :{line}: unexpected {{{{else}}}}"));
            }
            "end" if stack.pop().is_none() => {
                return Err(format!("template: :{line}: unexpected {{{{end}}}}"));
            }
            "break" | "continue" if !stack.contains(&"range") => {
                return Err(format!(
                    "template: :{line}: {{{{{word}}}}} outside {{{{range}}}}"
                ));
            }
            "" => return Err(format!("template: :{line}: missing value for command")),
            _ => {}
        }
    }
    if !stack.is_empty() {
        return Err(format!("template: :{line}: unexpected EOF"));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// GGUF
// ---------------------------------------------------------------------------------------------

/// A GGUF v3 file with no tensors and these metadata keys: `general.architecture`,
/// `general.type` (`model` or `adapter`), `general.file_type` (llama.cpp's ftype number) and
/// `<arch>.context_length`, followed by `padding` zero bytes so it can be made any size.
pub fn tiny_gguf(arch: &str, kind: &str, file_type: u32, padding: usize) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(b"GGUF");
    out.extend_from_slice(&3u32.to_le_bytes());
    out.extend_from_slice(&0u64.to_le_bytes());
    out.extend_from_slice(&4u64.to_le_bytes());
    let key = |out: &mut Vec<u8>, k: &str| {
        out.extend_from_slice(&(k.len() as u64).to_le_bytes());
        out.extend_from_slice(k.as_bytes());
    };
    let string = |out: &mut Vec<u8>, k: &str, v: &str| {
        key(out, k);
        out.extend_from_slice(&8u32.to_le_bytes());
        out.extend_from_slice(&(v.len() as u64).to_le_bytes());
        out.extend_from_slice(v.as_bytes());
    };
    let u32v = |out: &mut Vec<u8>, k: &str, v: u32| {
        key(out, k);
        out.extend_from_slice(&4u32.to_le_bytes());
        out.extend_from_slice(&v.to_le_bytes());
    };
    string(&mut out, "general.architecture", arch);
    string(&mut out, "general.type", kind);
    u32v(&mut out, "general.file_type", file_type);
    u32v(&mut out, &format!("{arch}.context_length"), 2048);
    out.resize(out.len() + padding, 0);
    out
}

/// The metadata of a GGUF (arrays as `null`, as `/api/show` gives them when not verbose).
fn read_gguf_kv(bytes: &[u8]) -> Result<Map<String, Value>, String> {
    if !bytes.starts_with(b"GGUF") {
        return Err("supplied file was not in GGUF format".into());
    }
    let mut r = Cursor { b: bytes, pos: 4 };
    let version = r.u32()?;
    if !(2..=3).contains(&version) {
        return Err(format!("unsupported GGUF version {version}"));
    }
    let _tensors = r.u64()?;
    let count = r.u64()?;
    let mut kv = Map::new();
    for _ in 0..count {
        let k = r.string()?;
        let t = r.u32()?;
        let v = r.value(t)?;
        kv.insert(k, v);
    }
    Ok(kv)
}

struct Cursor<'a> {
    b: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], String> {
        let end = self.pos.checked_add(n).filter(|e| *e <= self.b.len());
        let end = end.ok_or_else(|| "gguf: unexpected end of metadata".to_string())?;
        let s = &self.b[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn u32(&mut self) -> Result<u32, String> {
        let s = self.take(4)?;
        Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }
    fn u64(&mut self) -> Result<u64, String> {
        let s = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(s);
        Ok(u64::from_le_bytes(a))
    }
    fn string(&mut self) -> Result<String, String> {
        let n = usize::try_from(self.u64()?).map_err(|e| e.to_string())?;
        Ok(String::from_utf8_lossy(self.take(n)?).into_owned())
    }
    fn value(&mut self, t: u32) -> Result<Value, String> {
        let v = match t {
            0 => json!(self.take(1)?[0]),
            1 => json!(self.take(1)?[0] as i8),
            2 => {
                let s = self.take(2)?;
                json!(u16::from_le_bytes([s[0], s[1]]))
            }
            3 => {
                let s = self.take(2)?;
                json!(i16::from_le_bytes([s[0], s[1]]))
            }
            4 => json!(self.u32()?),
            5 => json!(self.u32()? as i32),
            6 => json!(f32::from_bits(self.u32()?)),
            7 => json!(self.take(1)?[0] != 0),
            8 => Value::String(self.string()?),
            9 => {
                let et = self.u32()?;
                let n = self.u64()?;
                for _ in 0..n {
                    self.value(et)?;
                }
                Value::Null
            }
            10 => json!(self.u64()?),
            11 => json!(self.u64()? as i64),
            12 => json!(f64::from_bits(self.u64()?)),
            other => return Err(format!("gguf: unknown metadata type {other}")),
        };
        Ok(v)
    }
}

// ---------------------------------------------------------------------------------------------
// Modelfile parser (ollama `parser/parser.go` rules)
// ---------------------------------------------------------------------------------------------

/// One Modelfile command as ollama's parser reads it: `name` is `model` for FROM, the lower-case
/// command otherwise, or the parameter name for PARAMETER lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelfileCommand {
    pub name: String,
    pub args: String,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum PState {
    Nil,
    Name,
    Value,
    Parameter,
    Message,
    Comment,
}

/// Parses a Modelfile by ollama's rules (a port of its rune state machine: commands are
/// case-insensitive, values end at a newline unless inside `"""…"""`, one pair of surrounding
/// `"` or `"""` is removed, `#` lines are comments, non-printable characters other than line
/// breaks and tabs inside values are dropped). Errors when ollama's would.
pub fn parse_modelfile(text: &str) -> Result<Vec<ModelfileCommand>, String> {
    const COMMANDS: [&str; 11] = [
        "from",
        "license",
        "template",
        "system",
        "adapter",
        "draft",
        "renderer",
        "parser",
        "parameter",
        "message",
        "requires",
    ];
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut cmds = Vec::new();
    let mut cmd_name = String::new();
    let mut curr = PState::Nil;
    let mut b = String::new();
    let mut role = String::new();
    let mut line = 1;
    let is_space = |c: char| c == ' ' || c == '\t';
    let is_newline = |c: char| c == '\r' || c == '\n';
    for r in text.chars() {
        if is_newline(r) {
            line += 1;
        }
        let (next, r) = match curr {
            PState::Nil => match r {
                '#' => (PState::Comment, None),
                c if is_space(c) || is_newline(c) => (PState::Nil, None),
                c => (PState::Name, Some(c)),
            },
            PState::Name => match r {
                c if c.is_ascii_alphabetic() => (PState::Name, Some(c)),
                c if is_space(c) => (PState::Value, None),
                _ => return Err(format!("(line {line}): invalid command")),
            },
            PState::Value => match r {
                c if is_newline(c) || is_space(c) => (PState::Nil, Some(c)),
                c => (PState::Value, Some(c)),
            },
            PState::Parameter => match r {
                c if c.is_ascii_alphanumeric() || c == '_' => (PState::Parameter, Some(c)),
                c if is_space(c) => (PState::Value, None),
                _ => return Err("unexpected EOF".into()),
            },
            PState::Message => match r {
                c if c.is_ascii_alphabetic() => (PState::Message, Some(c)),
                c if is_space(c) => (PState::Value, None),
                _ => return Err("unexpected EOF".into()),
            },
            PState::Comment => match r {
                c if is_newline(c) => (PState::Nil, None),
                _ => (PState::Comment, None),
            },
        };
        let mut next = next;
        if next != curr {
            match curr {
                PState::Name => {
                    let lower = b.to_ascii_lowercase();
                    if !COMMANDS.contains(&lower.as_str()) {
                        return Err(format!("(line {line}): invalid command {b:?}"));
                    }
                    match lower.as_str() {
                        "from" => cmd_name = "model".into(),
                        "parameter" => next = PState::Parameter,
                        "message" => {
                            next = PState::Message;
                            cmd_name = lower;
                        }
                        _ => cmd_name = lower,
                    }
                }
                PState::Parameter => cmd_name = b.clone(),
                PState::Message => {
                    if !matches!(b.as_str(), "system" | "user" | "assistant") {
                        return Err(format!("(line {line}): invalid message role"));
                    }
                    role = b.clone();
                }
                PState::Comment | PState::Nil => {}
                PState::Value => {
                    let unquoted = unquote(b.trim());
                    match (unquoted, r) {
                        (Some(s), Some(c)) if !is_space(c) => {
                            let args = if role.is_empty() {
                                s
                            } else {
                                format!("{}: {s}", std::mem::take(&mut role))
                            };
                            cmds.push(ModelfileCommand {
                                name: cmd_name.clone(),
                                args,
                            });
                        }
                        _ => {
                            if let Some(c) = r {
                                b.push(c);
                            }
                            continue;
                        }
                    }
                }
            }
            b.clear();
            curr = next;
        }
        if let Some(c) = r {
            if !c.is_control() {
                b.push(c);
            }
        }
    }
    match curr {
        PState::Comment | PState::Nil => {}
        PState::Value => {
            let s = unquote(b.trim()).ok_or_else(|| "unexpected EOF".to_string())?;
            let args = if role.is_empty() {
                s
            } else {
                format!("{role}: {s}")
            };
            cmds.push(ModelfileCommand {
                name: cmd_name,
                args,
            });
        }
        _ => return Err("unexpected EOF".into()),
    }
    if !cmds.iter().any(|c| c.name == "model") {
        return Err("no FROM line".into());
    }
    Ok(cmds)
}

fn unquote(s: &str) -> Option<String> {
    if let Some(rest) = s.strip_prefix("\"\"\"") {
        if s.len() >= 6 && s.ends_with("\"\"\"") {
            return Some(rest[..rest.len() - 3].to_string());
        }
        return None;
    }
    if let Some(rest) = s.strip_prefix('"') {
        if s.len() >= 2 && s.ends_with('"') {
            return Some(rest[..rest.len() - 1].to_string());
        }
        return None;
    }
    Some(s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_like_the_server() {
        assert_eq!(display_name("Nell-Run"), "Nell-Run:latest");
        assert_eq!(model_key("nell-run"), model_key("NELL-RUN:latest"));
        assert_eq!(display_name("me/m:v2"), "me/m:v2");
        assert!(!valid_name("-x"));
        assert!(!valid_name("a:"));
        assert!(valid_name("host:5000/ns/m"));
    }

    #[test]
    fn go_template_structure() {
        assert!(check_go_template(
            "{{- range .Messages }}{{ if .X }}a{{ else }}b{{ end }}{{ end }}"
        )
        .is_ok());
        assert!(check_go_template("{{ if .X }}")
            .unwrap_err()
            .contains("unexpected EOF"));
        assert!(check_go_template("{{ end }}").is_err());
        assert!(check_go_template("{{ .X ").is_err());
    }

    #[test]
    fn gguf_metadata_round_trip() {
        let kv = read_gguf_kv(&tiny_gguf("qwen2", "model", 15, 3)).unwrap();
        assert_eq!(kv["general.architecture"], "qwen2");
        assert_eq!(kv["general.file_type"], 15);
        assert_eq!(kv["qwen2.context_length"], 2048);
        assert!(read_gguf_kv(b"GGML....").is_err());
    }

    #[test]
    fn modelfile_rules() {
        let mf = "# comment\nfrom ./m.gguf\nTEMPLATE \"\"\"a\n  b \"q\"\n\"\"\"\nPARAMETER stop \"<|x|>\"\nPARAMETER num_ctx 4096\nSYSTEM one line\nMESSAGE user hi there\n";
        let cmds = parse_modelfile(mf).unwrap();
        let got: Vec<(&str, &str)> = cmds
            .iter()
            .map(|c| (c.name.as_str(), c.args.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("model", "./m.gguf"),
                ("template", "a\n  b \"q\"\n"),
                ("stop", "<|x|>"),
                ("num_ctx", "4096"),
                ("system", "one line"),
                ("message", "user: hi there"),
            ]
        );
        assert!(parse_modelfile("TEMPLATE x\n").is_err());
        assert!(parse_modelfile("FROM x\nSYSTEM \"\"\"open\n").is_err());
        assert!(parse_modelfile("FROM x\nBOGUS y\n").is_err());
    }
}
