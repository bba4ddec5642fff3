//! The run directory's `state.json`: the options the run was started with and each step's
//! status and outputs, rewritten atomically after every change so `resume` knows what is done.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::RuntimeError;
use crate::RunOptions;

pub const STATE_FILE: &str = "state.json";
pub const SUMMARY_FILE: &str = "run-summary.json";
pub const SCHEMA_VERSION: u32 = 1;

/// The steps of a local run, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// Curate the memories and tokenize them with the base model's tokenizer and chat template
    /// (`train.jsonl`, `eval.jsonl`, `*.tokens.jsonl`, `tokenized.json`, `report.json`).
    Dataset,
    /// Fine-tune the LoRA adapter.
    Train,
    /// Held-out loss of the new adapter and of the active version on this run's eval set.
    Eval,
    /// Fold the adapter into the base weights.
    Merge,
    /// Export the merged model to GGUF.
    Gguf,
    /// Write the Modelfile and register the GGUF with Ollama.
    Ollama,
    /// Add the version to the profile's model registry.
    Register,
    /// Make the version the active one when the gate passes.
    Activate,
}

impl Step {
    pub const ALL: [Step; 8] = [
        Step::Dataset,
        Step::Train,
        Step::Eval,
        Step::Merge,
        Step::Gguf,
        Step::Ollama,
        Step::Register,
        Step::Activate,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Step::Dataset => "dataset",
            Step::Train => "train",
            Step::Eval => "eval",
            Step::Merge => "merge",
            Step::Gguf => "gguf",
            Step::Ollama => "ollama",
            Step::Register => "register",
            Step::Activate => "activate",
        }
    }
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The seed's progress-file stage statuses (facts §1.9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    Pending,
    InProgress,
    Completed,
    Failed,
    Skipped,
}

impl StepStatus {
    /// Completed or skipped: `resume` does not run it again.
    pub fn is_done(self) -> bool {
        matches!(self, StepStatus::Completed | StepStatus::Skipped)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepState {
    pub name: Step,
    pub status: StepStatus,
    #[serde(default)]
    pub started_at: Option<String>,
    #[serde(default)]
    pub ended_at: Option<String>,
    /// Why it failed, or why it was skipped.
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub outputs: Map<String, Value>,
    /// How many times the step was started.
    #[serde(default)]
    pub attempts: u32,
}

/// The base model as resolved when the run started.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BaseInfo {
    /// What was asked for (`--base-model`).
    pub spec: String,
    pub dir: PathBuf,
    pub repo: Option<String>,
    pub revision: Option<String>,
    pub commit: Option<String>,
}

/// Settings of the run that are not training settings (from the `--config` files).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunSettings {
    /// GGUF quantization (`gguf_quant`; the seed's `quantization_type` is accepted).
    pub gguf_quant: String,
    /// Also keep an F16 GGUF (`keep_f16`).
    pub keep_f16: bool,
    /// Train on the original base (default) or on the active version's merged model
    /// (`continuous_learning`: `original_base` | `current_merged`).
    pub continuous_learning: ContinuousLearning,
}

impl Default for RunSettings {
    fn default() -> Self {
        Self {
            gguf_quant: "Q4_K_M".into(),
            keep_f16: false,
            continuous_learning: ContinuousLearning::OriginalBase,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContinuousLearning {
    #[default]
    OriginalBase,
    CurrentMerged,
}

/// `state.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunState {
    pub schema_version: u32,
    pub run_id: String,
    pub run_label: String,
    pub created_at: String,
    pub updated_at: String,
    pub options: RunOptions,
    pub settings: RunSettings,
    pub base: BaseInfo,
    /// The registry version, once registered.
    #[serde(default)]
    pub version: Option<u32>,
    pub steps: Vec<StepState>,
    /// Keys of the `--config` files nothing reads.
    #[serde(default)]
    pub ignored_config_keys: Vec<String>,
}

impl RunState {
    pub fn step(&self, s: Step) -> &StepState {
        // Every state has all steps (checked on load).
        &self.steps[Step::ALL.iter().position(|x| *x == s).unwrap_or(0)]
    }

    pub fn step_mut(&mut self, s: Step) -> &mut StepState {
        let i = Step::ALL.iter().position(|x| *x == s).unwrap_or(0);
        &mut self.steps[i]
    }

    pub fn output(&self, s: Step, key: &str) -> Option<&Value> {
        self.step(s).outputs.get(key)
    }

    pub fn load(run_dir: &Path) -> Result<RunState, RuntimeError> {
        let path = run_dir.join(STATE_FILE);
        let bytes = std::fs::read(&path).map_err(|e| RuntimeError::State {
            path: path.clone(),
            reason: if e.kind() == std::io::ErrorKind::NotFound {
                "no such run (no state.json)".into()
            } else {
                e.to_string()
            },
        })?;
        let state: RunState = serde_json::from_slice(&bytes).map_err(|e| RuntimeError::State {
            path: path.clone(),
            reason: format!("not a run state: {e}"),
        })?;
        if state.schema_version != SCHEMA_VERSION {
            return Err(RuntimeError::State {
                path,
                reason: format!(
                    "schema_version {} (this mh-train reads {SCHEMA_VERSION})",
                    state.schema_version
                ),
            });
        }
        let names: Vec<Step> = state.steps.iter().map(|s| s.name).collect();
        if names != Step::ALL {
            return Err(RuntimeError::State {
                path,
                reason: "the steps list is not the one this mh-train runs".into(),
            });
        }
        Ok(state)
    }

    pub fn save(&mut self, run_dir: &Path) -> Result<(), RuntimeError> {
        self.updated_at = crate::now();
        let path = run_dir.join(STATE_FILE);
        mh_profile::atomic_write_json(&path, self).map_err(|e| RuntimeError::io(&path, e))
    }
}

pub(crate) fn fresh_steps() -> Vec<StepState> {
    Step::ALL
        .iter()
        .map(|&name| StepState {
            name,
            status: StepStatus::Pending,
            started_at: None,
            ended_at: None,
            message: None,
            outputs: Map::new(),
            attempts: 0,
        })
        .collect()
}
