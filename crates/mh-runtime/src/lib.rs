//! # mh-runtime
//!
//! The personal runtime: `mh-train local` / `remote` take a person's profile to a registered,
//! versioned, activated personal model in one resumable run (facts §6.1, §7, §8, §9, §1.11);
//! [`sleep`] decides every night whether to run one; [`chat`] talks with the active version.
//!
//! **In:** an opened [`mh_profile::Profile`], [`RunOptions`] (base model `DIR|HF_ID`, training
//! settings files, device, `skip_ollama`, `no_activate`, Ollama host) and [`RunHooks`]
//! (progress, a stop flag, and a test hook that stops the run before a chosen step).
//!
//! **Out:** the run directory `<profile>/out/runs/<RUN_LABEL>/` with `dataset/`, `train/`
//! (adapter, checkpoints, metrics), `merged/`, `gguf/` (`model-<QUANT>.gguf` + `Modelfile`),
//! `state.json` (each step's status and outputs, rewritten atomically after every change) and
//! `run-summary.json` (the seed's snake_case fields plus ours); a new version in
//! `<profile>/etc/model-registry.json`, activated when the gate passes; audit lines with the
//! seed's event names (`full_cycle_started|completed|failed`, `training_export_completed`,
//! `gguf_conversion_started|completed|failed`, `adapter_activated` via mh-lineage, and
//! `adapter_activation_skipped` with the gate's reason).
//!
//! Steps ([`Step`]): dataset (curation and tokenization together: mh-dataset writes both in one
//! call) → train → eval → merge → gguf → ollama → register → activate. The profile lock is held
//! for the whole run. The gate: a new version is activated only if its held-out loss on *this
//! run's* eval set is not worse than the active version's adapter on the same set; otherwise it
//! stays `candidate` and the reason is printed and audited. No Ollama listening makes the ollama
//! step `skipped` (the Modelfile and the exact `ollama create` command are left ready); any
//! other Ollama error fails the run before the registry is touched.
//!
//! Entry points: [`run_local`], [`run_remote`] (the train step on a RunPod pod: [`remote`]),
//! [`resume`] / [`resume_with`], [`plan`] (the `--dry-run` view), [`sleep::SleepService`],
//! [`chat::ChatSession`] / [`chat::OllamaChat`], [`disk::runs_disk_usage`].
//! The most downstream library: depends on every pipeline crate, none depends on it.

pub mod chat;
pub mod disk;
mod error;
mod run;
pub mod sleep;
pub mod state;

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use serde::{Deserialize, Serialize};

pub use error::RuntimeError;
pub use run::remote::{self, RemoteOptions};
pub use run::{plan, resume, resume_with, run_local, run_remote, Plan, RunSummary};
pub use state::{RunSettings, RunState, Step, StepState, StepStatus};

/// Where runs live inside a profile.
pub const RUNS_DIR: &str = "out/runs";

/// What `mh-train local` was asked to do; stored in `state.json` so `resume` repeats it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunOptions {
    /// Base model directory or hub id; `None`: the registry's base (`current_base_model` with
    /// continuous learning on the merged model, else `original_base_model`).
    pub base_model: Option<String>,
    /// Training settings files (configs/lora.json keys, the seed's training.json keys, plus
    /// `gguf_quant`, `keep_f16`, `continuous_learning`), layered in order.
    pub config_files: Vec<PathBuf>,
    /// Dataset settings file (configs/dataset.json keys).
    pub dataset_config: Option<PathBuf>,
    /// Dataset seed (default: the dataset config's).
    pub seed: Option<u64>,
    /// Token limit of a sample (default: etc/training.json `max_seq_length`, 2048).
    pub max_seq_length: Option<usize>,
    /// `cpu`, `cuda`, `cuda:N` or `auto` (default `auto`).
    pub device: Option<String>,
    pub skip_ollama: bool,
    pub no_activate: bool,
    /// Ollama's URL; `None`: `OLLAMA_HOST`, else `http://127.0.0.1:11434`.
    pub ollama_host: Option<String>,
    /// Ollama model name (default `<user>-<RUN_LABEL>`).
    pub model_name: Option<String>,
    /// Train on a RunPod pod instead of this machine (`mh-train remote`).
    pub remote: Option<RemoteOptions>,
}

/// How a run reports and how it can be stopped.
pub struct RunHooks<'a> {
    pub progress: &'a dyn mh_profile::Progress,
    /// One line per step start/end, skip reasons, the gate's verdict.
    pub on_event: &'a (dyn Fn(&str) + Sync),
    /// Set (e.g. by Ctrl-C) to stop: training checkpoints and stops, other steps stop at the
    /// next step boundary.
    pub stop: &'a AtomicBool,
    /// Stop the run just before this step, as if the process had been killed there (the step's
    /// status is left as it was). For tests of `resume`.
    pub stop_before: Option<Step>,
}

impl<'a> RunHooks<'a> {
    /// Hooks that report to `progress` / `on_event` and stop when `stop` is set.
    pub fn new(
        progress: &'a dyn mh_profile::Progress,
        on_event: &'a (dyn Fn(&str) + Sync),
        stop: &'a AtomicBool,
    ) -> Self {
        RunHooks {
            progress,
            on_event,
            stop,
            stop_before: None,
        }
    }
}

pub(crate) fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
