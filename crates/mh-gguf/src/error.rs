use std::path::{Path, PathBuf};

#[cfg(feature = "export")]
use mh_model::ModelError;

/// Everything that can go wrong reading, writing or exporting GGUF.
#[derive(Debug, thiserror::Error)]
pub enum GgufError {
    /// The I/O error is part of the message (not a separate `source`), so a chain of contexts
    /// prints it once.
    #[error("{}: {error}", path.display())]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    /// A GGUF file that does not follow the format (or exceeds what llama.cpp accepts).
    #[error("{}: not a valid GGUF file at byte {offset}: {reason}", path.display())]
    Format {
        path: PathBuf,
        offset: u64,
        reason: String,
    },
    /// A problem with a model directory file (config, weights, tokenizer), naming the field.
    #[error("{}: {field}: {reason}", path.display())]
    Field {
        path: PathBuf,
        field: String,
        reason: String,
    },
    /// Something we deliberately do not convert.
    #[error("{}: {what} {value:?} is not supported (supported: {supported})", path.display())]
    Unsupported {
        path: PathBuf,
        what: String,
        value: String,
        supported: String,
    },
    /// A tensor whose name, shape or values cannot go into the requested file.
    #[error("tensor {name}: {reason}")]
    Tensor { name: String, reason: String },
    /// Bad arguments to a library call.
    #[error("{0}")]
    Input(String),
    #[cfg(feature = "export")]
    #[error(transparent)]
    Model(#[from] ModelError),
}

impl GgufError {
    pub(crate) fn io(path: &Path, error: std::io::Error) -> GgufError {
        GgufError::Io {
            path: path.to_path_buf(),
            error,
        }
    }

    #[cfg(feature = "export")]
    pub(crate) fn field(
        path: &Path,
        field: impl Into<String>,
        reason: impl Into<String>,
    ) -> GgufError {
        GgufError::Field {
            path: path.to_path_buf(),
            field: field.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn tensor(name: impl Into<String>, reason: impl Into<String>) -> GgufError {
        GgufError::Tensor {
            name: name.into(),
            reason: reason.into(),
        }
    }
}
