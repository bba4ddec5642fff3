use std::fmt;
use std::path::{Path, PathBuf};

/// `https://huggingface.co`, used unless `HF_ENDPOINT` says otherwise.
pub const DEFAULT_ENDPOINT: &str = "https://huggingface.co";

/// A Hugging Face access token. Its `Debug` output is redacted and nothing in this crate puts
/// it in a message; it only travels in the `Authorization` header.
#[derive(Clone, PartialEq, Eq)]
pub struct HubToken(String);

impl HubToken {
    /// Cleans the token like `huggingface_hub` (line breaks removed, trimmed); `None` when empty.
    pub fn new(token: &str) -> Option<HubToken> {
        let cleaned = token.replace(['\r', '\n'], "");
        let cleaned = cleaned.trim();
        (!cleaned.is_empty()).then(|| HubToken(cleaned.to_string()))
    }

    pub(crate) fn secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for HubToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HubToken(<redacted>)")
    }
}

/// Where and how to reach the hub; [`HubOptions::from_env`] reads what Python's
/// `huggingface_hub` reads, so both share one cache and one configuration.
#[derive(Debug, Clone)]
pub struct HubOptions {
    /// Base URL of the hub or a mirror, without a trailing slash (`HF_ENDPOINT`).
    pub endpoint: String,
    /// The hub cache directory holding `models--owner--name/` (`HF_HUB_CACHE`, default
    /// `$HF_HOME/hub`). A relative path is taken from the current directory.
    pub cache_dir: PathBuf,
    /// Sent as `Authorization: Bearer …` (`HF_TOKEN`, else the token file `huggingface-cli
    /// login` writes).
    pub token: Option<HubToken>,
    /// Never touch the network; resolve from the cache only (`HF_HUB_OFFLINE`).
    pub offline: bool,
}

impl HubOptions {
    /// The default endpoint, no token, online, with the cache at `cache_dir`.
    pub fn new(cache_dir: impl Into<PathBuf>) -> HubOptions {
        HubOptions {
            endpoint: DEFAULT_ENDPOINT.to_string(),
            cache_dir: cache_dir.into(),
            token: None,
            offline: false,
        }
    }

    /// Reads the process environment; see [`HubOptions::from_vars`].
    pub fn from_env() -> HubOptions {
        HubOptions::from_vars(|name| std::env::var(name).ok())
    }

    /// Builds options from the variables `var` returns, as `huggingface_hub` does:
    ///
    /// * `HF_ENDPOINT` (trailing `/` dropped), default [`DEFAULT_ENDPOINT`];
    /// * `HF_HUB_CACHE` (legacy `HUGGINGFACE_HUB_CACHE`), default `$HF_HOME/hub`, where
    ///   `HF_HOME` defaults to `$XDG_CACHE_HOME/huggingface`, then `~/.cache/huggingface`;
    /// * `HF_HUB_OFFLINE` (or `TRANSFORMERS_OFFLINE`) set to `1`, `ON`, `YES` or `TRUE`;
    /// * `HF_TOKEN` (legacy `HUGGING_FACE_HUB_TOKEN`), else the file `HF_TOKEN_PATH`, default
    ///   `$HF_HOME/token`.
    ///
    /// A leading `~` is expanded with `HOME`; empty variables count as unset (`$VAR` inside a
    /// value is not expanded).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> HubOptions {
        let get = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        let home = get("HOME");
        let expand = |value: String| -> PathBuf {
            match (value.strip_prefix('~'), &home) {
                (Some(rest), Some(home)) if rest.is_empty() || rest.starts_with('/') => {
                    PathBuf::from(format!("{home}{rest}"))
                }
                _ => PathBuf::from(value),
            }
        };
        let hf_home = match get("HF_HOME") {
            Some(dir) => expand(dir),
            None => {
                let cache_home = match get("XDG_CACHE_HOME") {
                    Some(dir) => expand(dir),
                    None => match &home {
                        Some(home) => Path::new(home).join(".cache"),
                        // No HOME at all: a relative `.cache`, resolved against the cwd.
                        None => PathBuf::from(".cache"),
                    },
                };
                cache_home.join("huggingface")
            }
        };
        let cache_dir = match get("HF_HUB_CACHE").or_else(|| get("HUGGINGFACE_HUB_CACHE")) {
            Some(dir) => expand(dir),
            None => hf_home.join("hub"),
        };
        let endpoint = get("HF_ENDPOINT")
            .map(|e| e.trim().trim_end_matches('/').to_string())
            .filter(|e| !e.is_empty())
            .unwrap_or_else(|| DEFAULT_ENDPOINT.to_string());
        let offline = get("HF_HUB_OFFLINE")
            .or_else(|| get("TRANSFORMERS_OFFLINE"))
            .is_some_and(|v| {
                matches!(
                    v.trim().to_ascii_uppercase().as_str(),
                    "1" | "ON" | "YES" | "TRUE"
                )
            });
        let token = get("HF_TOKEN")
            .or_else(|| get("HUGGING_FACE_HUB_TOKEN"))
            .and_then(|t| HubToken::new(&t))
            .or_else(|| {
                let path = get("HF_TOKEN_PATH")
                    .map(expand)
                    .unwrap_or_else(|| hf_home.join("token"));
                std::fs::read_to_string(path)
                    .ok()
                    .and_then(|t| HubToken::new(&t))
            });
        HubOptions {
            endpoint,
            cache_dir,
            token,
            offline,
        }
    }
}
