use std::path::{Path, PathBuf};

use mh_profile::{LockError, ProfileError};

/// Errors of the registry and of activation. Every variant names the file or version it is about.
#[derive(Debug, thiserror::Error)]
pub enum LineageError {
    #[error(
        "{path}: invalid JSON at line {line} column {column}: {message} \
         (the file was left untouched; fix it or move it away)"
    )]
    InvalidJson {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path}: field `{field}`: {reason} (the file was left untouched)")]
    Field {
        path: PathBuf,
        field: String,
        reason: String,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error("the lock held ({held}) is not the lock of profile {profile}")]
    WrongLock { held: PathBuf, profile: PathBuf },
    #[error("{path}: no version {version} in the registry (versions: {known})")]
    NoSuchVersion {
        path: PathBuf,
        version: u32,
        known: String,
    },
    #[error("version {version} cannot be activated: {reason}")]
    NotActivatable { version: u32, reason: String },
    #[error("nothing to roll back to: {0}")]
    NothingToRollBack(String),
    #[error("version {version}: {reason}")]
    BadStatusChange { version: u32, reason: String },
    #[error("{0}")]
    Profile(#[from] ProfileError),
}

impl LineageError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        LineageError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// A `serde_json` parse error of `path`, with its position.
    pub(crate) fn json(path: &Path, e: &serde_json::Error) -> Self {
        LineageError::InvalidJson {
            path: path.to_path_buf(),
            line: e.line(),
            column: e.column(),
            message: strip_position(&e.to_string()),
        }
    }

    /// Map an mh-profile config error, keeping the JSON position of a parse error.
    pub(crate) fn from_profile(e: ProfileError) -> Self {
        match e {
            ProfileError::Json { path, source } => Self::json(&path, &source),
            ProfileError::Field {
                path,
                field,
                reason,
            } => LineageError::Field {
                path,
                field,
                reason,
            },
            ProfileError::Io { path, source } => LineageError::Io { path, source },
            ProfileError::Lock(l) => LineageError::Lock(l),
            other => LineageError::Profile(other),
        }
    }
}

/// serde_json appends " at line L column C"; the error says it already.
fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}
