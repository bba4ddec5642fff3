//! Checkpoints: `checkpoints/checkpoint-N/` holds the adapter (PEFT files), the optimizer
//! moments (`optimizer.safetensors`, keyed like the adapter) and `trainer_state.json` (step,
//! optimizer step count, best eval so far, elapsed time, config, dataset fingerprint).
//!
//! The data cursor and every random stream are functions of the run seed and the step number
//! (epoch permutations, dropout masks), so the step *is* the RNG state: a resumed run draws
//! exactly what the uninterrupted run would have.
//!
//! A checkpoint directory is written under a temporary name and renamed into place, so one that
//! exists is complete.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use mh_model::candle_core::{Device, Tensor};
use mh_model::peft::peft_key;
use mh_model::{read_peft_adapter, write_peft_adapter, AdapterConfig, Model, PeftAdapter};
use serde::{Deserialize, Serialize};

use crate::config::TrainConfig;
use crate::optim::AdamW;
use crate::TrainError;

pub const CHECKPOINTS: &str = "checkpoints";
const OPTIMIZER: &str = "optimizer.safetensors";
const STATE: &str = "trainer_state.json";
const PREFIX: &str = "checkpoint-";

/// Everything besides tensors that a resume needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainerState {
    /// Optimizer steps completed.
    pub step: usize,
    pub optimizer_steps: usize,
    pub best_eval_loss: Option<f64>,
    pub best_step: Option<usize>,
    pub evals_without_improvement: usize,
    pub initial_loss: Option<f64>,
    pub initial_eval_loss: Option<f64>,
    pub tokens_seen: u64,
    pub elapsed_s: f64,
    pub config: TrainConfig,
    pub dataset_fingerprint: String,
}

/// The names of the LoRA variables in [`Model::lora_vars`] order.
pub fn var_names(model: &Model) -> Vec<String> {
    model
        .lora_branches()
        .into_iter()
        .flat_map(|(layer, module, _)| {
            [
                peft_key(layer, module, false),
                peft_key(layer, module, true),
            ]
        })
        .collect()
}

pub fn checkpoint_dir(run_dir: &Path, step: usize) -> PathBuf {
    run_dir.join(CHECKPOINTS).join(format!("{PREFIX}{step}"))
}

/// Write checkpoint `state.step`; returns its directory.
pub fn save(
    run_dir: &Path,
    model: &Model,
    adapter_config: &AdapterConfig,
    optimizer: &AdamW,
    state: &TrainerState,
) -> Result<PathBuf, TrainError> {
    let final_dir = checkpoint_dir(run_dir, state.step);
    let parent = run_dir.join(CHECKPOINTS);
    let tmp = parent.join(format!(".{PREFIX}{}.tmp", state.step));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(|e| TrainError::io(&tmp, e))?;
    }
    std::fs::create_dir_all(&tmp).map_err(|e| TrainError::io(&tmp, e))?;

    let adapter = PeftAdapter::from_model(model, adapter_config.clone())?;
    write_peft_adapter(&tmp, &adapter)?;

    let names = var_names(model);
    let mut tensors: Vec<(String, Tensor)> = Vec::with_capacity(names.len() * 2);
    for (i, name) in names.iter().enumerate() {
        tensors.push((format!("m.{name}"), optimizer.m[i].contiguous()?));
        tensors.push((format!("v.{name}"), optimizer.v[i].contiguous()?));
    }
    let opt_path = tmp.join(OPTIMIZER);
    let bytes = safetensors::serialize(tensors.iter().map(|(k, t)| (k.as_str(), t)), None)
        .map_err(|e| TrainError::checkpoint(&opt_path, e.to_string()))?;
    mh_profile::atomic_write(&opt_path, &bytes).map_err(|e| TrainError::io(&opt_path, e))?;
    let state_path = tmp.join(STATE);
    mh_profile::atomic_write_json(&state_path, state)
        .map_err(|e| TrainError::io(&state_path, e))?;

    if final_dir.exists() {
        std::fs::remove_dir_all(&final_dir).map_err(|e| TrainError::io(&final_dir, e))?;
    }
    std::fs::rename(&tmp, &final_dir).map_err(|e| TrainError::io(&final_dir, e))?;
    mh_profile::atomic::sync_dir(&parent).map_err(|e| TrainError::io(&parent, e))?;
    Ok(final_dir)
}

/// Completed checkpoints of a run, oldest first, as (step, dir).
pub fn list(run_dir: &Path) -> Result<Vec<(usize, PathBuf)>, TrainError> {
    let parent = run_dir.join(CHECKPOINTS);
    let entries = match std::fs::read_dir(&parent) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(TrainError::io(&parent, e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| TrainError::io(&parent, e))?;
        let name = entry.file_name();
        let Some(step) = name
            .to_str()
            .and_then(|n| n.strip_prefix(PREFIX))
            .and_then(|n| n.parse::<usize>().ok())
        else {
            continue;
        };
        if entry.path().join(STATE).is_file() {
            out.push((step, entry.path()));
        }
    }
    out.sort();
    Ok(out)
}

/// Keep the newest `limit` checkpoints plus `protect` (the best one); remove the rest.
pub fn prune(run_dir: &Path, limit: usize, protect: Option<usize>) -> Result<(), TrainError> {
    let all = list(run_dir)?;
    let keep_from = all.len().saturating_sub(limit.max(1));
    for (i, (step, dir)) in all.iter().enumerate() {
        if i < keep_from && Some(*step) != protect {
            std::fs::remove_dir_all(dir).map_err(|e| TrainError::io(dir, e))?;
        }
    }
    Ok(())
}

/// Read a checkpoint's state and put its adapter onto `model` (new LoRA variables: build the
/// optimizer afterwards and restore its moments with [`load_moments`]).
pub fn load_into(dir: &Path, model: &mut Model) -> Result<TrainerState, TrainError> {
    let state_path = dir.join(STATE);
    let text = std::fs::read_to_string(&state_path).map_err(|e| TrainError::io(&state_path, e))?;
    let state: TrainerState = serde_json::from_str(&text)
        .map_err(|e| TrainError::checkpoint(&state_path, e.to_string()))?;
    let adapter = read_peft_adapter(dir, model.device())?;
    model.apply_peft_adapter(&adapter)?;
    Ok(state)
}

/// The moments saved beside a checkpoint, in `optimizer`'s parameter order.
pub fn load_moments(
    dir: &Path,
    model: &Model,
    device: &Device,
) -> Result<(Vec<Tensor>, Vec<Tensor>), TrainError> {
    let path = dir.join(OPTIMIZER);
    let mut tensors: HashMap<String, Tensor> =
        mh_model::candle_core::safetensors::load(&path, device)
            .map_err(|e| TrainError::checkpoint(&path, e.to_string()))?;
    let mut take = |key: String| {
        tensors
            .remove(&key)
            .ok_or_else(|| TrainError::checkpoint(&path, format!("tensor `{key}` is missing")))
    };
    let mut m = Vec::new();
    let mut v = Vec::new();
    for name in var_names(model) {
        m.push(take(format!("m.{name}"))?);
        v.push(take(format!("v.{name}"))?);
    }
    Ok((m, v))
}
