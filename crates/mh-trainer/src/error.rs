use std::path::{Path, PathBuf};

use mh_model::ModelError;

/// Why a run could not start, continue or finish.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config: {0}")]
    Config(String),
    #[error("dataset {path}: {reason}")]
    Dataset { path: PathBuf, reason: String },
    #[error("checkpoint {path}: {reason}")]
    Checkpoint { path: PathBuf, reason: String },
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("tensor computation failed: {0}")]
    Candle(#[from] mh_model::candle_core::Error),
    #[error("training diverged at step {step}: loss is {loss}")]
    Diverged { step: usize, loss: f64 },
}

impl TrainError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        TrainError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    pub(crate) fn dataset(path: &Path, reason: impl Into<String>) -> Self {
        TrainError::Dataset {
            path: path.to_path_buf(),
            reason: reason.into(),
        }
    }

    pub(crate) fn checkpoint(path: &Path, reason: impl Into<String>) -> Self {
        TrainError::Checkpoint {
            path: path.to_path_buf(),
            reason: reason.into(),
        }
    }
}
