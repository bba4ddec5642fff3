//! The crate's one error type.

use std::path::PathBuf;
use std::time::Duration;

/// Everything that can go wrong talking to Ollama or preparing what is sent to it. Every variant
/// that comes from the server names the URL; those about one model name the model.
#[derive(Debug, thiserror::Error)]
pub enum OllamaError {
    /// Nothing answered at the address (connection refused, unknown host, connect timeout). The
    /// caller can fall back to the written Modelfile: see [`OllamaError::is_unreachable`].
    #[error("no Ollama server is reachable at {url} ({op}): {reason}")]
    Unreachable {
        url: String,
        op: String,
        reason: String,
    },
    /// The connection broke after it was made (reset, closed before an answer), on every try.
    #[error("the connection to Ollama at {url} failed during {op}: {reason}")]
    Connection {
        url: String,
        op: String,
        reason: String,
    },
    /// No answer (or no next status line) within the read/write timeout.
    #[error("Ollama at {url} did not answer {op} within {}s", after.as_secs_f64())]
    Timeout {
        url: String,
        op: String,
        after: Duration,
    },
    /// An HTTP error status, with the server's `{"error": …}` message when it sent one.
    #[error("Ollama at {url} answered {op} with HTTP {status}: {message}")]
    Status {
        url: String,
        op: String,
        status: u16,
        message: String,
    },
    /// `/api/create` reported an error (an HTTP error before the stream, or an `{"error": …}`
    /// line in it).
    #[error("creating Ollama model {model} at {url} failed: {message}")]
    CreateFailed {
        url: String,
        model: String,
        message: String,
    },
    /// The `/api/create` status stream ended without a `success` line.
    #[error("creating Ollama model {model} at {url}: the status stream ended without \"success\" (last status: {last:?})")]
    StreamEnded {
        url: String,
        model: String,
        last: Option<String>,
    },
    /// `/api/chat` reported an error in its stream, or the stream ended before `done`.
    #[error("chatting with Ollama model {model} at {url} failed: {message}")]
    ChatFailed {
        url: String,
        model: String,
        message: String,
    },
    #[error("Ollama at {url} has no model {model}")]
    ModelNotFound { url: String, model: String },
    /// The server is older than a feature needs (or its version could not be read).
    #[error("Ollama {found} at {url} is too old for {feature}: it needs {required} or newer (upgrade Ollama, or register with the written Modelfile)")]
    VersionTooOld {
        url: String,
        found: String,
        required: String,
        feature: String,
    },
    /// What `/api/show` reports differs from what was sent to `/api/create`.
    #[error("Ollama model {model} at {url} does not match what was registered: {field} is {found:?}, expected {expected:?}")]
    Mismatch {
        url: String,
        model: String,
        field: String,
        expected: String,
        found: String,
    },
    /// An answer that is not what the API documents (bad JSON, missing fields).
    #[error("Ollama at {url} answered {op} with something unexpected: {reason}")]
    Protocol {
        url: String,
        op: String,
        reason: String,
    },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// `OLLAMA_HOST` (or a host given in code) cannot be used.
    #[error("invalid Ollama host {value:?}: {reason}")]
    Host { value: String, reason: String },
    #[error("invalid Ollama model name {name:?}: {reason}")]
    InvalidName { name: String, reason: String },
    /// The chat template cannot be turned into an Ollama Go template.
    #[error("chat template: {0}")]
    Template(String),
    /// Something that cannot be written into a Modelfile as it is.
    #[error("Modelfile {field}: {reason}")]
    Modelfile { field: String, reason: String },
}

impl OllamaError {
    /// True when no Ollama server could be reached at all: the caller should keep the written
    /// Modelfile and tell the user to run the `ollama create` command once Ollama runs.
    pub fn is_unreachable(&self) -> bool {
        matches!(self, OllamaError::Unreachable { .. })
    }
}

pub type Result<T, E = OllamaError> = std::result::Result<T, E>;
