//! # mh-dataset
//!
//! Turns a person's memories into training conversations.
//!
//! **In:** an opened [`mh_profile::Profile`], a [`DatasetConfig`] (seed, filters, sampling,
//! per-mode system prompts) and the profile's `dataset_requirements`.
//! **Out:** [`Built`] — train and eval [`Sample`]s (alternating user/assistant turns with source,
//! memory type and cognitive mode) and a [`Report`] (counts, drop reasons with examples, every
//! unreadable file, the seed's quality metrics, gate results); [`export::write`] puts them on
//! disk as `train.jsonl`, `eval.jsonl`, `report.json` (+ Parquet).
//!
//! Stages, in order: extract ([`extract`]) → feedback and curator verdicts → modes ([`modes`])
//! → clean ([`clean`]) → de-duplicate ([`dedupe`]) → sample ([`sampling`]) → split by a hash
//! of the sample id. All randomness comes from the one seed.

mod build;
pub mod clean;
pub mod config;
pub mod dedupe;
pub mod export;
pub mod extract;
pub mod modes;
mod parquet;
pub mod report;
pub mod sample;
pub mod sampling;
pub mod template;
pub mod tokenize;

use std::path::{Path, PathBuf};

pub use build::{build, unit_hash, with_system_prompt, Built};
pub use config::DatasetConfig;
pub use export::Format;
pub use report::Report;
pub use sample::{Message, Mode, Role, Sample, Source};

/// Errors of the dataset stage; each names the file or setting at fault.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config field `{field}`: {reason}")]
    Config { field: String, reason: String },
    #[error("{path}:{line}: refusing to write an invalid line: {reason}")]
    InvalidLine {
        path: PathBuf,
        line: usize,
        reason: String,
    },
    #[error("{path}: cannot write Parquet: {reason}")]
    Parquet { path: PathBuf, reason: String },
    #[error(transparent)]
    Profile(#[from] mh_profile::ProfileError),
}

impl DatasetError {
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        DatasetError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
