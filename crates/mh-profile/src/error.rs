use std::path::{Path, PathBuf};

/// Errors from reading or writing a profile. Every variant names the file it is about.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("{path}: not a usable profile directory: {reason}")]
    NotAProfile { path: PathBuf, reason: String },
    #[error("invalid user name {0:?}: use 1-50 letters, digits, '_' or '-'")]
    BadUser(String),
    #[error("{root}: several or no profiles under profiles/ ({}); pass --user", found.join(", "))]
    UserRequired { root: PathBuf, found: Vec<String> },
    #[error("{users_json}: custom profile storage is unavailable: {reason} (fallbackBehavior \"error\")")]
    StorageUnavailable { users_json: PathBuf, reason: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: invalid JSON: {source}")]
    Json {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{path}: field `{field}`: {reason}")]
    Field {
        path: PathBuf,
        field: String,
        reason: String,
    },
    #[error(
        "profile {0} is read-only (custom storage unavailable, fallbackBehavior \"readonly\")"
    )]
    ReadOnly(PathBuf),
    #[error(transparent)]
    Crypto(#[from] crate::crypto::CryptoError),
    #[error(transparent)]
    Lock(#[from] crate::lock::LockError),
}

impl ProfileError {
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        ProfileError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
