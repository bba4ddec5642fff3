//! # The nightly sleep service
//!
//! Trains the person's model at night by itself — only when it is worth it, activates only
//! what measurably improved, and stops the moment a switch says so (facts §10: the seed's
//! nightly pipeline never worked end to end).
//!
//! **In:** an opened profile; the seed's configs as they are (`sleep.json`, `agents.json`,
//! `auto-approval.json`, see [`config`]) plus ours (`<profile>/etc/sleep-service.json`:
//! [`SleepSettings`]); a [`Clock`] ([`SystemClock`], or [`FakeClock`] for simulated nights);
//! [`crate::RunHooks`] (progress, messages, the stop flag).
//!
//! **Out:** one [`Decision`] per tick — every gate in order with its reason ([`decide`]) —
//! persisted in `<profile>/out/sleep/` (`last-decision.json`, `decisions.jsonl`, `state.json`,
//! see [`record`]); audit lines `sleep_workflow_started|skipped|completed|failed` and
//! `lora_dataset_auto_approve|auto_reject`; when every gate passes, a run of
//! [`crate::run_local`] (or [`crate::run_remote`] with `"place": "remote"`) through
//! [`train_cycle`] (eval gate, registration, activation unless
//! `dryRun` / `autoEval: false` / `autoActivate: false`). A failed night leaves the active
//! version untouched and is retried the next night, never in a loop.
//!
//! Entry points: [`SleepService::tick`] (`sleep-service once`), [`SleepService::run`]
//! (`sleep-service run`, with [`ServiceLock`] = `<profile>/logs/run/sleep-service.pid`),
//! [`stop_service`], [`install::units`], [`status()`] (for `mh-train status`).
//!
//! The service never holds the profile lock itself: the run takes it, and between ticks the
//! profile is free for `mh-train local`, `activate`, `deactivate`.

pub mod activity;
pub mod approve;
pub mod clock;
pub mod config;
pub mod decide;
pub mod install;
pub mod record;
pub mod service;

use std::path::PathBuf;

pub use approve::ApprovalScore;
pub use clock::{Clock, FakeClock, SystemClock};
pub use config::{system_root_of, SleepConfigs, SleepSettings, TrainingPlace};
pub use decide::{train_cycle, Check, CycleResult, Decision, Outcome, SleepService};
pub use service::{
    running_pid, status, stop_service, ServiceLock, SleepStatus, StopOutcome, PID_FILE,
};

use crate::RuntimeError;

/// Why the sleep service could not decide or act.
#[derive(Debug, thiserror::Error)]
pub enum SleepError {
    #[error("{path}: {reason}")]
    Config { path: PathBuf, reason: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the sleep service already runs on this profile (pid {}, {path})", pid.map_or("unknown".to_string(), |p| p.to_string()))]
    AlreadyRunning { pid: Option<u32>, path: PathBuf },
    #[error("cannot signal pid {pid}: {reason}")]
    Signal { pid: u32, reason: String },
    #[error("the sleep service (pid {pid}) is still running {secs} s after SIGTERM (a step may still be finishing; run `stop` again or wait)")]
    StopTimeout { pid: u32, secs: u64 },
    #[error("{0}")]
    Remote(String),
    #[error("install: {0}")]
    Install(String),
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
}
