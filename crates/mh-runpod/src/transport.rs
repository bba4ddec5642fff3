//! HTTP plumbing shared by the GraphQL and REST clients: one blocking agent, the bearer header,
//! bounded bodies, and retries of transient failures that are safe to repeat.

use std::io::Read;
use std::time::Duration;

use serde_json::Value;

use crate::api::{ApiError, ClientOptions};
use crate::credentials::ApiKey;

/// Largest answer read (RunPod's answers are a few kB; `myself { pods }` of a big account less
/// than a MB).
const MAX_BODY: u64 = 16 << 20;

/// One HTTP answer, whatever its status.
pub(crate) struct Reply {
    pub status: u16,
    pub body: String,
    /// `Retry-After` in seconds, when sent as a number.
    pub retry_after: Option<u64>,
}

impl Reply {
    pub fn json(&self) -> Option<Value> {
        serde_json::from_str(&self.body).ok()
    }

    /// The start of the body, for messages.
    pub fn snippet(&self) -> String {
        let body = self.body.trim();
        if body.is_empty() {
            format!("HTTP {} with an empty body", self.status)
        } else {
            body.chars().take(300).collect()
        }
    }
}

/// Whether repeating a request could do something twice (create a second pod).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Repeat {
    /// Reads, stop, terminate: repeat on any transient failure.
    Safe,
    /// Create: repeat only when the request cannot have been acted on (connection refused,
    /// HTTP 429). A 5xx or a lost answer is returned: the pod may exist (find it by name).
    OnlyIfUnsent,
}

/// A failed attempt: the error, and whether RunPod may have acted on the request.
pub(crate) struct Failure {
    pub error: ApiError,
    pub may_have_acted: bool,
}

impl From<ApiError> for Failure {
    fn from(error: ApiError) -> Self {
        let may_have_acted = !matches!(error, ApiError::RateLimited { .. });
        Failure {
            error,
            may_have_acted,
        }
    }
}

pub(crate) struct Http {
    agent: ureq::Agent,
    key: ApiKey,
    opts: ClientOptions,
}

impl Http {
    pub fn new(key: ApiKey, opts: ClientOptions) -> Http {
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(opts.timeout)
            .timeout_read(opts.timeout)
            .timeout_write(opts.timeout)
            // A redirect would be a misconfigured URL; never follow one with the key.
            .redirects(0)
            .user_agent(concat!("mh-train/", env!("CARGO_PKG_VERSION")))
            .build();
        Http { agent, key, opts }
    }

    /// Removes the key from text that came back from the network (defence in depth: RunPod
    /// does not echo it, but a proxy might).
    pub fn redact(&self, text: &str) -> String {
        let key = self.key.expose();
        if key.is_empty() {
            text.to_string()
        } else {
            text.replace(key, "***")
        }
    }

    /// Sends once; any HTTP status is a [`Reply`], a transport failure an error.
    fn send_once(
        &self,
        op: &str,
        method: &str,
        url: &str,
        body: Option<&Value>,
    ) -> Result<Reply, Failure> {
        let request = self
            .agent
            .request(method, url)
            .set("Authorization", &format!("Bearer {}", self.key.expose()))
            .set("Accept", "application/json");
        let result = match body {
            Some(b) => request
                .set("Content-Type", "application/json")
                .send_string(&b.to_string()),
            None => request.call(),
        };
        let response = match result {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(ureq::Error::Transport(t)) => {
                let unsent = matches!(
                    t.kind(),
                    ureq::ErrorKind::ConnectionFailed
                        | ureq::ErrorKind::Dns
                        | ureq::ErrorKind::InvalidUrl
                        | ureq::ErrorKind::UnknownScheme
                );
                let mut message = t
                    .message()
                    .map(str::to_string)
                    .unwrap_or_else(|| t.kind().to_string());
                if let Some(src) = std::error::Error::source(&t) {
                    message = format!("{message}: {src}");
                }
                return Err(Failure {
                    error: ApiError::Transport {
                        op: op.to_string(),
                        url: url.to_string(),
                        message: self.redact(&message),
                    },
                    may_have_acted: !unsent,
                });
            }
        };
        let status = response.status();
        let retry_after = response
            .header("retry-after")
            .and_then(|v| v.trim().parse::<u64>().ok());
        let mut text = String::new();
        response
            .into_reader()
            .take(MAX_BODY)
            .read_to_string(&mut text)
            .map_err(|e| Failure {
                error: ApiError::Transport {
                    op: op.to_string(),
                    url: url.to_string(),
                    message: format!("reading the answer: {e}"),
                },
                may_have_acted: true,
            })?;
        Ok(Reply {
            status,
            body: self.redact(&text),
            retry_after,
        })
    }

    /// Sends and interprets the answer with `interpret`, retrying transient failures as
    /// [`ClientOptions`] and `repeat` allow.
    pub fn request<T>(
        &self,
        op: &str,
        method: &str,
        url: &str,
        body: Option<&Value>,
        repeat: Repeat,
        interpret: impl Fn(Reply) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let mut delay = self.opts.retry_delay;
        let mut attempt = 0u32;
        loop {
            let failure = match self.send_once(op, method, url, body) {
                Ok(reply) => match interpret(reply) {
                    Ok(v) => return Ok(v),
                    Err(e) => Failure::from(e),
                },
                Err(f) => f,
            };
            let repeatable =
                failure.error.is_transient() && (repeat == Repeat::Safe || !failure.may_have_acted);
            if !repeatable || attempt >= self.opts.retries {
                return Err(failure.error);
            }
            attempt += 1;
            let wait = match &failure.error {
                ApiError::RateLimited {
                    retry_after: Some(s),
                } => Duration::from_secs(*s),
                _ => delay,
            }
            .min(self.opts.max_retry_wait);
            if !wait.is_zero() {
                std::thread::sleep(wait);
            }
            delay = delay.saturating_mul(2);
        }
    }
}
