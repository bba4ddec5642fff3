//! What can stop a run.

use std::path::PathBuf;

use crate::state::Step;

type Source = Box<dyn std::error::Error + Send + Sync + 'static>;

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// Opening or locking the profile (a second run on the same profile lands here).
    #[error(transparent)]
    Profile(#[from] mh_profile::ProfileError),
    /// A step failed; the run directory's `state.json` records it and `resume` retries it.
    #[error(
        "run {run_label}: the {step} step failed (continue with `mh-train resume {run_label}`)"
    )]
    Step {
        run_label: String,
        step: Step,
        #[source]
        source: Source,
    },
    /// Stopped on request (Ctrl-C, or a test's stop hook) before `step`; nothing of it was done.
    #[error("run {run_label}: stopped before the {step} step (continue with `mh-train resume {run_label}`)")]
    Stopped { run_label: String, step: Step },
    /// The run's options or settings are unusable (caught before any step runs).
    #[error("{0}")]
    Options(String),
    /// `resume` of a run that does not exist or whose state file cannot be read.
    #[error("{path}: {reason}")]
    State { path: PathBuf, reason: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl RuntimeError {
    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        RuntimeError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// The step that failed, for a step failure.
    pub fn step(&self) -> Option<Step> {
        match self {
            RuntimeError::Step { step, .. } | RuntimeError::Stopped { step, .. } => Some(*step),
            _ => None,
        }
    }
}

/// A step's own failure, before it is tagged with the step and run.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct StepFailure(pub String);

pub(crate) type StepResult<T> = Result<T, Source>;

pub(crate) fn fail(msg: impl Into<String>) -> Source {
    Box::new(StepFailure(msg.into()))
}
