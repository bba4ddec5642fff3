//! The REST client: one method per endpoint, timeouts, retries on connection errors.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;
use std::thread;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use crate::api::{
    ChatLine, ChatMessage, ChatRequest, ChatResponse, CreateRequest, Digest, ListResponse,
    ListedModel, Progress, ShowResponse, Version,
};
use crate::error::{OllamaError, Result};
use crate::host::OllamaHost;

/// Timeouts and retries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientOptions {
    /// To open a connection.
    pub connect_timeout: Duration,
    /// Longest wait for any read or write of the small calls (version, show, tags, …).
    pub timeout: Duration,
    /// Longest wait for one read or write while uploading a blob or between two status lines of
    /// `/api/create` (the server may copy a multi-GB GGUF before its next line).
    pub transfer_timeout: Duration,
    /// Further attempts after a connection error (refused, reset, closed before an answer) or a
    /// 502/503/504. 4xx and other answers are never retried.
    pub retries: u32,
    /// Wait before the first retry; doubled for each next one.
    pub retry_delay: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(60),
            transfer_timeout: Duration::from_secs(30 * 60),
            retries: 2,
            retry_delay: Duration::from_millis(500),
        }
    }
}

/// Whether a blob had to be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlobStatus {
    /// The server already had it (`HEAD` answered 200); nothing was sent.
    Present,
    /// It was uploaded.
    Uploaded,
}

/// A client for one Ollama server.
#[derive(Clone)]
pub struct OllamaClient {
    base: String,
    opts: ClientOptions,
    agent: ureq::Agent,
    transfer_agent: ureq::Agent,
}

impl std::fmt::Debug for OllamaClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OllamaClient")
            .field("base", &self.base)
            .field("opts", &self.opts)
            .finish()
    }
}

/// What one attempt of a request gives (the error boxed: `ureq::Error` is large).
type Sent<T> = std::result::Result<T, Box<ureq::Error>>;

enum Failure {
    Retry(OllamaError),
    Fatal(OllamaError),
}

impl OllamaClient {
    /// A client for `OLLAMA_HOST` (default `127.0.0.1:11434`) with default options.
    pub fn from_env() -> Result<OllamaClient> {
        Ok(OllamaClient::new(
            &OllamaHost::from_env()?,
            ClientOptions::default(),
        ))
    }

    pub fn new(host: &OllamaHost, opts: ClientOptions) -> OllamaClient {
        OllamaClient::with_base_url(&host.connect_url(), opts)
    }

    /// A client for a base URL such as `http://127.0.0.1:11434` (no trailing `/api`).
    pub fn with_base_url(base: &str, opts: ClientOptions) -> OllamaClient {
        let agent = |io: Duration| {
            ureq::AgentBuilder::new()
                .timeout_connect(opts.connect_timeout)
                .timeout_read(io)
                .timeout_write(io)
                .build()
        };
        OllamaClient {
            base: base.trim_end_matches('/').to_string(),
            agent: agent(opts.timeout),
            transfer_agent: agent(opts.transfer_timeout),
            opts,
        }
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// `GET /api/version`.
    pub fn version(&self) -> Result<Version> {
        let url = self.url("/api/version");
        let op = "GET /api/version";
        let body: Value = self.json(op, &url, || Ok(self.agent.get(&url).call()?))?;
        let raw = body
            .get("version")
            .and_then(Value::as_str)
            .ok_or_else(|| protocol(&url, op, "no \"version\" string in the answer"))?;
        Version::parse(raw)
            .ok_or_else(|| protocol(&url, op, &format!("version {raw:?} is not x.y.z")))
    }

    /// Refuses a server older than `min` for `feature`.
    pub fn require_version(&self, min: (u64, u64, u64), feature: &str) -> Result<Version> {
        let v = self.version()?;
        if !v.at_least(min) {
            return Err(OllamaError::VersionTooOld {
                url: self.base.clone(),
                found: v.raw.clone(),
                required: format!("{}.{}.{}", min.0, min.1, min.2),
                feature: feature.to_string(),
            });
        }
        Ok(v)
    }

    /// `HEAD /api/blobs/<digest>`: whether the server has the blob.
    pub fn blob_exists(&self, digest: &Digest) -> Result<bool> {
        let url = self.url(&format!("/api/blobs/{digest}"));
        let op = format!("HEAD /api/blobs/{digest}");
        let found = self.retrying(&op, &url, self.opts.timeout, || {
            match self.agent.head(&url).call() {
                Ok(_) => Ok(true),
                Err(ureq::Error::Status(404, _)) => Ok(false),
                Err(e) => Err(Box::new(e)),
            }
        })?;
        Ok(found)
    }

    /// `POST /api/blobs/<digest>` with the file's bytes streamed from disk (201 Created, or 200
    /// when the server already had it). `on_progress` sees `uploading <file>` with bytes sent.
    pub fn upload_blob(
        &self,
        path: &Path,
        digest: &Digest,
        on_progress: &mut dyn FnMut(&Progress),
    ) -> Result<()> {
        let url = self.url(&format!("/api/blobs/{digest}"));
        let op = format!("POST /api/blobs/{digest} ({})", path.display());
        let io_err = |source| OllamaError::Io {
            path: path.to_path_buf(),
            source,
        };
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut attempt_error = None;
        let result = self.retrying(&op, &url, self.opts.transfer_timeout, || {
            let file = match File::open(path) {
                Ok(f) => f,
                Err(e) => {
                    attempt_error = Some(e);
                    return Ok(());
                }
            };
            let total = match file.metadata() {
                Ok(m) => m.len(),
                Err(e) => {
                    attempt_error = Some(e);
                    return Ok(());
                }
            };
            let reader = CountingReader {
                inner: file,
                sent: 0,
                total,
                status: format!("uploading {name}"),
                digest: digest.to_string(),
                on_progress: &mut *on_progress,
                reported: 0,
            };
            self.transfer_agent
                .post(&url)
                .set("Content-Type", "application/octet-stream")
                .set("Content-Length", &total.to_string())
                .send(reader)
                .map(|_| ())
                .map_err(Box::new)
        });
        if let Some(e) = attempt_error {
            return Err(io_err(e));
        }
        result
    }

    /// Uploads the blob unless the server has it already.
    pub fn ensure_blob(
        &self,
        path: &Path,
        digest: &Digest,
        on_progress: &mut dyn FnMut(&Progress),
    ) -> Result<BlobStatus> {
        if self.blob_exists(digest)? {
            return Ok(BlobStatus::Present);
        }
        self.upload_blob(path, digest, on_progress)?;
        Ok(BlobStatus::Uploaded)
    }

    /// `POST /api/create`, reading the NDJSON status stream to its `success` line. Any
    /// `{"error": …}` (as an HTTP error or as a line of the stream) is a failure, and so is a
    /// stream that ends without `success`. Returns the status lines seen.
    pub fn create(
        &self,
        request: &CreateRequest,
        on_progress: &mut dyn FnMut(&Progress),
    ) -> Result<Vec<Progress>> {
        let url = self.url("/api/create");
        let op = format!("POST /api/create ({})", request.model);
        let body =
            serde_json::to_value(request).map_err(|e| protocol(&url, &op, &e.to_string()))?;
        let create_failed = |message: String| OllamaError::CreateFailed {
            url: url.clone(),
            model: request.model.clone(),
            message,
        };
        let response = self
            .retrying(&op, &url, self.opts.transfer_timeout, || {
                Ok(self.transfer_agent.post(&url).send_json(body.clone())?)
            })
            .map_err(|e| match e {
                OllamaError::Status {
                    status, message, ..
                } => create_failed(format!("HTTP {status}: {message}")),
                other => other,
            })?;
        let mut reader = BufReader::new(response.into_reader());
        let mut seen = Vec::new();
        loop {
            let Some(progress) =
                self.next_line::<Progress>(&mut reader, &op, &url, "status line", &create_failed)?
            else {
                return Err(OllamaError::StreamEnded {
                    url: url.clone(),
                    model: request.model.clone(),
                    last: seen.last().map(|p: &Progress| p.status.clone()),
                });
            };
            on_progress(&progress);
            let done = progress.status == "success";
            seen.push(progress);
            if done {
                return Ok(seen);
            }
        }
    }

    /// The next line of an NDJSON reply stream as `T` (blank lines skipped); `None` at the end
    /// of the stream. A line carrying Ollama's `{"error": …}` becomes `failed(message)`.
    fn next_line<T: DeserializeOwned>(
        &self,
        reader: &mut impl BufRead,
        op: &str,
        url: &str,
        what: &str,
        failed: &dyn Fn(String) -> OllamaError,
    ) -> Result<Option<T>> {
        let mut line = String::new();
        loop {
            line.clear();
            let n = reader
                .read_line(&mut line)
                .map_err(|e| self.read_error(op, url, e, self.opts.transfer_timeout))?;
            if n == 0 {
                return Ok(None);
            }
            let text = line.trim();
            if text.is_empty() {
                continue;
            }
            let value: Value = serde_json::from_str(text)
                .map_err(|e| protocol(url, op, &format!("{what} {text:?}: {e}")))?;
            if let Some(err) = value.get("error") {
                let message = err
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| err.to_string());
                return Err(failed(message));
            }
            return serde_json::from_value(value)
                .map(Some)
                .map_err(|e| protocol(url, op, &format!("{what} {text:?}: {e}")));
        }
    }

    /// `POST /api/chat` with `"stream": true`, reading the NDJSON lines (`{"message": {"role",
    /// "content"}, "done": false}` …, then a `"done": true` line with `done_reason` and the
    /// counters). `on_content` sees each non-empty piece of the reply as it arrives and returns
    /// false to stop: the connection is then closed, which makes Ollama stop generating. An
    /// `{"error": …}` line or a stream that ends before `done` is [`OllamaError::ChatFailed`]; a
    /// model the server does not have is [`OllamaError::ModelNotFound`].
    pub fn chat(
        &self,
        request: &ChatRequest,
        on_content: &mut dyn FnMut(&str) -> bool,
    ) -> Result<ChatResponse> {
        let url = self.url("/api/chat");
        let op = format!("POST /api/chat ({})", request.model);
        let mut body =
            serde_json::to_value(request).map_err(|e| protocol(&url, &op, &e.to_string()))?;
        if let Some(m) = body.as_object_mut() {
            m.insert("stream".into(), Value::Bool(true));
        }
        // Between two lines the server may be loading the model or evaluating a long prompt.
        let result = self.retrying(&op, &url, self.opts.transfer_timeout, || {
            Ok(self.transfer_agent.post(&url).send_json(body.clone())?)
        });
        let response = not_found_as(result, &self.base, &request.model)?;
        let failed = |message: String| OllamaError::ChatFailed {
            url: url.clone(),
            model: request.model.clone(),
            message,
        };
        let mut reader = BufReader::new(response.into_reader());
        let mut out = ChatResponse {
            model: request.model.clone(),
            message: ChatMessage::new("assistant", ""),
            ..ChatResponse::default()
        };
        loop {
            let Some(parsed) =
                self.next_line::<ChatLine>(&mut reader, &op, &url, "reply line", &failed)?
            else {
                return Err(failed(
                    "the reply stream ended before its \"done\" line".into(),
                ));
            };
            if !parsed.model.is_empty() {
                out.model = parsed.model;
            }
            if let Some(piece) = parsed.message.map(|m| m.content) {
                if !piece.is_empty() {
                    out.message.content.push_str(&piece);
                    if !on_content(&piece) {
                        out.stopped = true;
                        return Ok(out);
                    }
                }
            }
            if parsed.done {
                out.done_reason = parsed.done_reason;
                out.prompt_eval_count = parsed.prompt_eval_count;
                out.eval_count = parsed.eval_count;
                out.eval_duration = parsed.eval_duration;
                return Ok(out);
            }
        }
    }

    /// `POST /api/show`.
    pub fn show(&self, model: &str) -> Result<ShowResponse> {
        let url = self.url("/api/show");
        let op = format!("POST /api/show ({model})");
        let result = self.json(&op, &url, || {
            Ok(self.agent.post(&url).send_json(json!({ "model": model }))?)
        });
        not_found_as(result, &self.base, model)
    }

    /// `GET /api/tags`: the local models.
    pub fn tags(&self) -> Result<Vec<ListedModel>> {
        let url = self.url("/api/tags");
        let list: ListResponse =
            self.json("GET /api/tags", &url, || Ok(self.agent.get(&url).call()?))?;
        Ok(list.models)
    }

    /// `DELETE /api/delete`. A model that does not exist is [`OllamaError::ModelNotFound`].
    pub fn delete(&self, model: &str) -> Result<()> {
        let url = self.url("/api/delete");
        let op = format!("DELETE /api/delete ({model})");
        let result = self.retrying(&op, &url, self.opts.timeout, || {
            self.agent
                .delete(&url)
                .send_json(json!({ "model": model }))
                .map(|_| ())
                .map_err(Box::new)
        });
        not_found_as(result, &self.base, model)
    }

    /// Sends with retries and parses a JSON answer.
    fn json<T: DeserializeOwned>(
        &self,
        op: &str,
        url: &str,
        send: impl FnMut() -> Sent<ureq::Response>,
    ) -> Result<T> {
        let response = self.retrying(op, url, self.opts.timeout, send)?;
        let mut text = String::new();
        response
            .into_reader()
            .take(64 << 20)
            .read_to_string(&mut text)
            .map_err(|e| self.read_error(op, url, e, self.opts.timeout))?;
        serde_json::from_str(&text).map_err(|e| protocol(url, op, &format!("invalid JSON: {e}")))
    }

    /// Runs `send` until it succeeds, fails for good, or the retries are used up.
    fn retrying<T>(
        &self,
        op: &str,
        url: &str,
        io_timeout: Duration,
        mut send: impl FnMut() -> Sent<T>,
    ) -> Result<T> {
        let mut delay = self.opts.retry_delay;
        let mut attempt = 0;
        loop {
            let err = match send() {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            match self.classify(op, url, *err, io_timeout) {
                Failure::Fatal(e) => return Err(e),
                Failure::Retry(e) if attempt >= self.opts.retries => return Err(e),
                Failure::Retry(_) => {
                    attempt += 1;
                    if !delay.is_zero() {
                        thread::sleep(delay);
                    }
                    delay = delay.saturating_mul(2);
                }
            }
        }
    }

    fn classify(&self, op: &str, url: &str, err: ureq::Error, io_timeout: Duration) -> Failure {
        match err {
            ureq::Error::Status(status, response) => {
                let message = error_message(response);
                let e = OllamaError::Status {
                    url: url.to_string(),
                    op: op.to_string(),
                    status,
                    message,
                };
                if matches!(status, 502..=504) {
                    Failure::Retry(e)
                } else {
                    Failure::Fatal(e)
                }
            }
            ureq::Error::Transport(t) => {
                let reason = transport_reason(&t);
                let unreachable = || OllamaError::Unreachable {
                    url: url.to_string(),
                    op: op.to_string(),
                    reason: reason.clone(),
                };
                match t.kind() {
                    ureq::ErrorKind::ConnectionFailed => Failure::Retry(unreachable()),
                    ureq::ErrorKind::Dns => Failure::Fatal(unreachable()),
                    ureq::ErrorKind::InvalidUrl | ureq::ErrorKind::UnknownScheme => {
                        Failure::Fatal(OllamaError::Host {
                            value: self.base.clone(),
                            reason,
                        })
                    }
                    ureq::ErrorKind::Io if is_timeout(&t) => Failure::Fatal(OllamaError::Timeout {
                        url: url.to_string(),
                        op: op.to_string(),
                        after: io_timeout,
                    }),
                    ureq::ErrorKind::Io
                    | ureq::ErrorKind::BadStatus
                    | ureq::ErrorKind::BadHeader => Failure::Retry(OllamaError::Connection {
                        url: url.to_string(),
                        op: op.to_string(),
                        reason,
                    }),
                    _ => Failure::Fatal(OllamaError::Connection {
                        url: url.to_string(),
                        op: op.to_string(),
                        reason,
                    }),
                }
            }
        }
    }

    fn read_error(&self, op: &str, url: &str, e: io::Error, io_timeout: Duration) -> OllamaError {
        if matches!(
            e.kind(),
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
        ) {
            OllamaError::Timeout {
                url: url.to_string(),
                op: op.to_string(),
                after: io_timeout,
            }
        } else {
            OllamaError::Connection {
                url: url.to_string(),
                op: op.to_string(),
                reason: e.to_string(),
            }
        }
    }
}

fn protocol(url: &str, op: &str, reason: &str) -> OllamaError {
    OllamaError::Protocol {
        url: url.to_string(),
        op: op.to_string(),
        reason: reason.to_string(),
    }
}

/// A 404 from show/delete means the model does not exist.
fn not_found_as<T>(result: Result<T>, base: &str, model: &str) -> Result<T> {
    match result {
        Err(OllamaError::Status { status: 404, .. }) => Err(OllamaError::ModelNotFound {
            url: base.to_string(),
            model: model.to_string(),
        }),
        other => other,
    }
}

/// The server's `{"error": "…"}`, else the start of the body, else the reason phrase.
fn error_message(response: ureq::Response) -> String {
    let reason = response.status_text().to_string();
    let mut body = String::new();
    let _ = response
        .into_reader()
        .take(64 << 10)
        .read_to_string(&mut body);
    if let Ok(v) = serde_json::from_str::<Value>(&body) {
        if let Some(msg) = v.get("error").and_then(Value::as_str) {
            return msg.to_string();
        }
    }
    let body = body.trim();
    if body.is_empty() {
        reason
    } else {
        body.chars().take(500).collect()
    }
}

fn transport_reason(t: &ureq::Transport) -> String {
    let mut reason = t
        .message()
        .map(str::to_string)
        .unwrap_or_else(|| t.kind().to_string());
    if let Some(src) = std::error::Error::source(t) {
        reason = format!("{reason}: {src}");
    }
    reason
}

fn is_timeout(t: &ureq::Transport) -> bool {
    let mut source = std::error::Error::source(t);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<io::Error>() {
            return matches!(
                io.kind(),
                io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
            );
        }
        source = s.source();
    }
    false
}

/// Streams a file, reporting progress every 1% (and at the end).
struct CountingReader<'a> {
    inner: File,
    sent: u64,
    total: u64,
    status: String,
    digest: String,
    on_progress: &'a mut dyn FnMut(&Progress),
    reported: u64,
}

impl Read for CountingReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.sent += n as u64;
        let step = (self.total / 100).max(1);
        if self.sent - self.reported >= step
            || (n == 0 && self.reported != self.sent)
            || self.sent == self.total && self.reported != self.sent
        {
            self.reported = self.sent;
            (self.on_progress)(&Progress {
                status: self.status.clone(),
                digest: Some(self.digest.clone()),
                total: Some(self.total),
                completed: Some(self.sent),
            });
        }
        Ok(n)
    }
}
