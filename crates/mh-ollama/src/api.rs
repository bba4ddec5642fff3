//! Request and response shapes of the Ollama REST API (`api/types.go`), the parts used here.

use std::collections::BTreeMap;
use std::fmt;
use std::fs::File;
use std::io::Read;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest as _, Sha256};

use crate::error::{OllamaError, Result};

/// A blob digest as Ollama writes it: `sha256:<64 lower-case hex>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Digest(String);

impl Digest {
    /// Hashes a file in 1 MiB reads (never the whole file in memory).
    pub fn of_file(path: &Path) -> Result<Digest> {
        let io = |source| OllamaError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut file = File::open(path).map_err(io)?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = file.read(&mut buf).map_err(io)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
        Ok(Digest(format!("sha256:{}", hex::encode(hasher.finalize()))))
    }

    pub fn of_bytes(bytes: &[u8]) -> Digest {
        Digest(format!("sha256:{}", hex::encode(Sha256::digest(bytes))))
    }

    /// Accepts `sha256:<hex>` or `sha256-<hex>` (the server's two spellings) or a bare 64-digit
    /// hex string; returns the `sha256:` form in lower case.
    pub fn parse(s: &str) -> Result<Digest> {
        let hex_part = s
            .strip_prefix("sha256:")
            .or_else(|| s.strip_prefix("sha256-"))
            .unwrap_or(s);
        if hex_part.len() != 64 || !hex_part.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(OllamaError::Protocol {
                url: String::new(),
                op: "reading a digest".into(),
                reason: format!("{s:?} is not a sha256 digest"),
            });
        }
        Ok(Digest(format!("sha256:{}", hex_part.to_ascii_lowercase())))
    }

    /// `sha256:<hex>`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The 64 hex digits.
    pub fn hex(&self) -> &str {
        self.0.trim_start_matches("sha256:")
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `POST /api/create` (the files-based API of Ollama 0.5.5+).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CreateRequest {
    pub model: String,
    /// An existing model to build on (instead of `files`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// File name (relative, as in the Modelfile's directory) → blob digest.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub files: BTreeMap<String, Digest>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub adapters: BTreeMap<String, Digest>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    /// `stop` is a list of strings, `num_ctx` a number.
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub parameters: Map<String, Value>,
    pub stream: bool,
}

/// One message of a conversation (`api.Message`: `role` is `system`, `user` or `assistant`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub role: String,
    pub content: String,
}

impl ChatMessage {
    pub fn new(role: impl Into<String>, content: impl Into<String>) -> ChatMessage {
        ChatMessage {
            role: role.into(),
            content: content.into(),
        }
    }
}

/// `POST /api/chat`. [`crate::OllamaClient::chat`] always streams.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ChatRequest {
    pub model: String,
    pub messages: Vec<ChatMessage>,
    /// Runtime options (`temperature`, `seed`, `num_predict`, `top_k`, `top_p`, …).
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub options: Map<String, Value>,
}

/// What a finished `/api/chat` stream said: the whole reply and the final line's counters.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChatResponse {
    pub model: String,
    /// The assistant message, its content the concatenation of every streamed piece.
    pub message: ChatMessage,
    /// `stop`, `length`, … from the final line; `None` when the callback stopped the stream.
    pub done_reason: Option<String>,
    /// Tokens of the prompt the server evaluated.
    pub prompt_eval_count: Option<u64>,
    /// Tokens generated.
    pub eval_count: Option<u64>,
    /// Nanoseconds spent generating.
    pub eval_duration: Option<u64>,
    /// True when the callback asked to stop before the server was done.
    pub stopped: bool,
}

/// One NDJSON line of a `/api/chat` stream (`api.ChatResponse`).
#[derive(Debug, Deserialize)]
pub(crate) struct ChatLine {
    #[serde(default)]
    pub model: String,
    #[serde(default)]
    pub message: Option<ChatLineMessage>,
    #[serde(default)]
    pub done: bool,
    #[serde(default)]
    pub done_reason: Option<String>,
    #[serde(default)]
    pub prompt_eval_count: Option<u64>,
    #[serde(default)]
    pub eval_count: Option<u64>,
    #[serde(default)]
    pub eval_duration: Option<u64>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ChatLineMessage {
    #[serde(default)]
    pub content: String,
}

/// One status line of a streamed operation (`ProgressResponse`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Progress {
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub digest: Option<String>,
    #[serde(default)]
    pub total: Option<u64>,
    #[serde(default)]
    pub completed: Option<u64>,
}

/// `details` of `/api/show` and `/api/tags`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct ModelDetails {
    #[serde(default)]
    pub parent_model: String,
    #[serde(default)]
    pub format: String,
    #[serde(default)]
    pub family: String,
    #[serde(default)]
    pub families: Option<Vec<String>>,
    #[serde(default)]
    pub parameter_size: String,
    #[serde(default)]
    pub quantization_level: String,
}

/// `POST /api/show`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct ShowResponse {
    #[serde(default)]
    pub license: String,
    #[serde(default)]
    pub modelfile: String,
    /// One `name value` line per parameter value, values in Go syntax (`"<|im_end|>"`, `4096`).
    #[serde(default)]
    pub parameters: String,
    #[serde(default)]
    pub template: String,
    #[serde(default)]
    pub system: String,
    #[serde(default)]
    pub details: ModelDetails,
    #[serde(default)]
    pub model_info: Map<String, Value>,
    #[serde(default)]
    pub capabilities: Vec<String>,
    #[serde(default)]
    pub modified_at: Option<String>,
}

impl ShowResponse {
    /// The `parameters` text as name → values (in the order listed; strings unquoted).
    pub fn parameter_map(&self) -> BTreeMap<String, Vec<String>> {
        let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for line in self.parameters.lines() {
            let line = line.trim();
            let Some((name, value)) = line.split_once(char::is_whitespace) else {
                continue;
            };
            let value = value.trim();
            let value = unquote_go(value).unwrap_or_else(|| value.to_string());
            map.entry(name.to_string()).or_default().push(value);
        }
        map
    }
}

/// One entry of `GET /api/tags`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct ListedModel {
    pub name: String,
    #[serde(default)]
    pub model: String,
    #[serde(default)]
    pub modified_at: String,
    #[serde(default)]
    pub size: u64,
    #[serde(default)]
    pub digest: String,
    #[serde(default)]
    pub details: ModelDetails,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ListResponse {
    #[serde(default)]
    pub models: Vec<ListedModel>,
}

/// A server version from `/api/version` (`0.12.3`, `0.5.5-rc1`; `0.0.0` is a source build).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    pub raw: String,
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
}

impl Version {
    /// Parses `[v]MAJOR.MINOR.PATCH[-pre][+build]`; `None` for anything else.
    pub fn parse(s: &str) -> Option<Version> {
        let core = s.trim().trim_start_matches('v');
        let core = core.split(['-', '+']).next()?;
        let mut it = core.split('.').map(|p| p.parse::<u64>());
        let (major, minor, patch) = (it.next()?.ok()?, it.next()?.ok()?, it.next()?.ok()?);
        if it.next().is_some() {
            return None;
        }
        Some(Version {
            raw: s.trim().to_string(),
            major,
            minor,
            patch,
        })
    }

    /// `(major, minor, patch)`; a pre-release counts as its release (`0.5.5-rc1` ≥ `0.5.5`).
    pub fn triple(&self) -> (u64, u64, u64) {
        (self.major, self.minor, self.patch)
    }

    /// Source builds report `0.0.0`: their features are unknown, taken as current.
    pub fn is_dev_build(&self) -> bool {
        self.triple() == (0, 0, 0)
    }

    /// At least `min` (a dev build always is).
    pub fn at_least(&self, min: (u64, u64, u64)) -> bool {
        self.is_dev_build() || self.triple() >= min
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

/// Go's `strconv.Unquote` for a double-quoted string (what `%#v` of a string prints).
pub(crate) fn unquote_go(s: &str) -> Option<String> {
    let inner = s.strip_prefix('"')?.strip_suffix('"')?;
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let esc = chars.next()?;
        let hex = |chars: &mut std::str::Chars<'_>, n: usize| -> Option<u32> {
            let s: String = chars.by_ref().take(n).collect();
            (s.len() == n).then_some(())?;
            u32::from_str_radix(&s, 16).ok()
        };
        match esc {
            'n' => out.push('\n'),
            't' => out.push('\t'),
            'r' => out.push('\r'),
            'a' => out.push('\u{7}'),
            'b' => out.push('\u{8}'),
            'f' => out.push('\u{c}'),
            'v' => out.push('\u{b}'),
            '\\' => out.push('\\'),
            '"' => out.push('"'),
            '\'' => out.push('\''),
            'x' => out.push(char::from_u32(hex(&mut chars, 2)?)?),
            'u' => out.push(char::from_u32(hex(&mut chars, 4)?)?),
            'U' => out.push(char::from_u32(hex(&mut chars, 8)?)?),
            _ => return None,
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests() {
        let d = Digest::of_bytes(b"abc");
        assert_eq!(
            d.as_str(),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(Digest::parse(&d.as_str().replace(':', "-")).unwrap(), d);
        assert_eq!(Digest::parse(&d.hex().to_uppercase()).unwrap(), d);
        assert!(Digest::parse("sha256:abc").is_err());
    }

    #[test]
    fn versions() {
        let v = Version::parse("0.5.5-rc1").unwrap();
        assert!(v.at_least((0, 5, 5)));
        assert!(!Version::parse("0.5.4").unwrap().at_least((0, 5, 5)));
        assert!(Version::parse("v0.12.10").unwrap().at_least((0, 5, 5)));
        assert!(Version::parse("0.0.0").unwrap().at_least((9, 9, 9)));
        assert!(Version::parse("garbage").is_none());
    }

    #[test]
    fn show_parameters() {
        let show = ShowResponse {
            parameters: "num_ctx                        4096\nstop                           \"<|im_start|>\"\nstop                           \"a\\\"b\\n\"".into(),
            ..Default::default()
        };
        let map = show.parameter_map();
        assert_eq!(map["num_ctx"], vec!["4096"]);
        assert_eq!(map["stop"], vec!["<|im_start|>", "a\"b\n"]);
    }
}
