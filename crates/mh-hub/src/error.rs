use std::path::PathBuf;

/// Why a model could not be resolved. Messages name the repository, the file and the URL;
/// they never contain the token (server-supplied text is scrubbed of it too).
#[derive(Debug, thiserror::Error)]
pub enum HubError {
    /// The spec is neither an existing directory nor a valid `owner/name[@revision]`.
    #[error("{spec:?} is neither a model directory nor a Hugging Face model id (owner/name[@revision]): {reason}")]
    InvalidSpec { spec: String, reason: String },

    /// A local directory (or path) that is not a usable model directory.
    #[error("{path}: not a model directory: {reason}")]
    NotAModelDir { path: PathBuf, reason: String },

    /// The hub says the repository, revision or file does not exist (HTTP 404, or the hub's
    /// `RepoNotFound` which it also sends as 401 for private repositories).
    #[error("{repo}: {what} not found on the hub ({url}){detail}")]
    NotFound {
        repo: String,
        /// `repository`, `revision REV` or `file NAME`.
        what: String,
        url: String,
        /// The hub's `x-error-code`, when it sent one.
        code: Option<String>,
        /// Extra sentence (leading separator included), possibly empty.
        detail: String,
    },

    /// HTTP 401/403: a gated repository without (the right) token, or a token the hub refused.
    #[error("{repo}: access to {what} denied (HTTP {status}) at {url}: {reason}")]
    Denied {
        repo: String,
        what: String,
        url: String,
        status: u16,
        /// The hub marked the repository as gated (`x-error-code: GatedRepo`).
        gated: bool,
        reason: String,
    },

    /// Offline mode, and the cache has no complete snapshot for the revision.
    #[error("{repo}@{revision} is not in the cache {cache} and offline mode is on (HF_HUB_OFFLINE): {missing}")]
    OfflineNotCached {
        repo: String,
        revision: String,
        cache: PathBuf,
        missing: String,
    },

    /// The hub could not be reached (connection, DNS, TLS, reset, HTTP 5xx/429) and no complete
    /// cached snapshot could stand in.
    #[error("{repo}: cannot reach {url}: {reason}{cache_note}")]
    Network {
        repo: String,
        url: String,
        reason: String,
        /// Why the cache could not stand in (leading separator included), or empty.
        cache_note: String,
    },

    /// The hub (or a mirror) answered something this client cannot use.
    #[error("{repo}: unexpected answer from {url}: {reason}")]
    Protocol {
        repo: String,
        url: String,
        reason: String,
    },

    /// Downloaded bytes do not match the size or hash the hub advertised.
    #[error(
        "{repo}: {file} downloaded from {url} is corrupt ({reason}); the bad copy was removed"
    )]
    Corrupt {
        repo: String,
        file: String,
        url: String,
        reason: String,
    },

    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl HubError {
    /// The hub was unreachable (the cases where a complete cached snapshot may stand in).
    pub fn is_network(&self) -> bool {
        matches!(self, HubError::Network { .. })
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> HubError {
        HubError::Io {
            path: path.into(),
            source,
        }
    }
}
