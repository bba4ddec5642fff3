//! Training settings: `configs/lora.json` under clear names, with the seed's `etc/training.json`
//! keys (`lora_rank`, `num_train_epochs`, `per_device_train_batch_size`, …) accepted as aliases.
//!
//! Layering: built-in defaults (the seed's LoRA defaults: rank 8, alpha 16, dropout 0, lr 2e-4,
//! 2 epochs, batch 1, grad-acc 16, seq 2048) ← each file given, in order. Keys this trainer does
//! not use (a seed file's `base_model`, `quantization`, …) are reported, never an error, so a
//! profile's `training.json` can be passed as it is.

use std::path::Path;

use mh_model::{LoraConfig, TargetModule};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::TrainError;

/// How the learning rate moves after warm-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scheduler {
    Cosine,
    Linear,
    Constant,
}

/// Everything a run needs besides the model and the data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrainConfig {
    #[serde(alias = "lora_rank", alias = "r")]
    pub rank: usize,
    #[serde(alias = "lora_alpha")]
    pub alpha: f64,
    #[serde(alias = "lora_dropout")]
    pub dropout: f32,
    /// PEFT module names (`q_proj`, …) or short names (`q`, …).
    pub target_modules: Vec<String>,
    /// rsLoRA scaling `alpha / √rank` instead of `alpha / rank`.
    pub use_rslora: bool,

    #[serde(alias = "num_train_epochs")]
    pub epochs: f64,
    /// Stop after this many optimizer steps even if epochs remain.
    pub max_steps: Option<usize>,
    #[serde(alias = "per_device_train_batch_size", alias = "batch_size")]
    pub micro_batch_size: usize,
    pub gradient_accumulation_steps: usize,
    /// Longest row the trainer accepts; the dataset's own limit is applied when it was built.
    pub max_seq_length: usize,

    pub learning_rate: f64,
    pub lr_scheduler: Scheduler,
    /// Warm-up as a share of all steps; `warmup_steps`, when set, wins.
    pub warmup_ratio: f64,
    pub warmup_steps: Option<usize>,
    pub weight_decay: f64,
    pub adam_beta1: f64,
    pub adam_beta2: f64,
    pub adam_epsilon: f64,
    /// Global gradient-norm clip; 0 disables clipping.
    pub max_grad_norm: f64,

    /// Evaluate every N optimizer steps (and always at the end); 0 = only at the end.
    #[serde(alias = "eval_steps")]
    pub eval_every: usize,
    /// Checkpoint every N optimizer steps; 0 = never (the final adapter is always written).
    #[serde(alias = "save_steps")]
    pub save_every: usize,
    /// Checkpoints kept on disk (oldest removed first; the best one is always kept).
    pub save_total_limit: usize,
    /// Stop after this many evaluations without an eval-loss improvement of `min_delta`.
    pub early_stopping_patience: Option<usize>,
    pub early_stopping_min_delta: f64,
    /// Rows per forward pass during evaluation.
    pub eval_batch_size: usize,
    pub seed: u64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            rank: 8,
            alpha: 16.0,
            dropout: 0.0,
            target_modules: TargetModule::ALL
                .iter()
                .map(|t| t.name().to_string())
                .collect(),
            use_rslora: false,
            epochs: 2.0,
            max_steps: None,
            micro_batch_size: 1,
            gradient_accumulation_steps: 16,
            max_seq_length: 2048,
            learning_rate: 2e-4,
            lr_scheduler: Scheduler::Cosine,
            warmup_ratio: 0.03,
            warmup_steps: None,
            weight_decay: 0.0,
            adam_beta1: 0.9,
            adam_beta2: 0.999,
            adam_epsilon: 1e-8,
            max_grad_norm: 1.0,
            eval_every: 50,
            save_every: 50,
            save_total_limit: 2,
            early_stopping_patience: None,
            early_stopping_min_delta: 0.0,
            eval_batch_size: 4,
            seed: 42,
        }
    }
}

/// A config and the keys of its files that nothing reads.
#[derive(Debug, Clone)]
pub struct LoadedConfig {
    pub config: TrainConfig,
    /// `file: key` for every ignored key.
    pub ignored: Vec<String>,
}

impl TrainConfig {
    /// Defaults, then each file's keys on top.
    pub fn load(files: &[&Path]) -> Result<LoadedConfig, TrainError> {
        let mut merged = serde_json::to_value(TrainConfig::default())
            .map_err(|e| TrainError::Config(format!("defaults: {e}")))?;
        let mut ignored = Vec::new();
        for path in files {
            let text = std::fs::read_to_string(path).map_err(|e| TrainError::io(path, e))?;
            let value: Value = serde_json::from_str(&text)
                .map_err(|e| TrainError::Config(format!("{}: {e}", path.display())))?;
            let Value::Object(map) = value else {
                return Err(TrainError::Config(format!(
                    "{}: expected a JSON object",
                    path.display()
                )));
            };
            for key in overlay(&mut merged, map) {
                ignored.push(format!("{}: {key}", path.display()));
            }
        }
        let config: TrainConfig = serde_path_to_error::deserialize(merged)
            .map_err(|e| TrainError::Config(format!("{} ({})", e.inner(), e.path())))?;
        config.validate()?;
        Ok(LoadedConfig { config, ignored })
    }

    pub fn validate(&self) -> Result<(), TrainError> {
        let bad = |what: String| Err(TrainError::Config(what));
        if self.rank == 0 {
            return bad("rank must be at least 1".into());
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return bad(format!("dropout must be in [0, 1), got {}", self.dropout));
        }
        if self.micro_batch_size == 0 || self.gradient_accumulation_steps == 0 {
            return bad(
                "micro_batch_size and gradient_accumulation_steps must be at least 1".into(),
            );
        }
        if self.eval_batch_size == 0 {
            return bad("eval_batch_size must be at least 1".into());
        }
        if (self.epochs.is_nan() || self.epochs <= 0.0) && self.max_steps.is_none() {
            return bad(format!("epochs must be positive, got {}", self.epochs));
        }
        if !(self.learning_rate > 0.0 && self.learning_rate.is_finite()) {
            return bad(format!(
                "learning_rate must be positive, got {}",
                self.learning_rate
            ));
        }
        if !(0.0..1.0).contains(&self.adam_beta1) || !(0.0..1.0).contains(&self.adam_beta2) {
            return bad("adam betas must be in [0, 1)".into());
        }
        if !(0.0..=1.0).contains(&self.warmup_ratio) {
            return bad(format!(
                "warmup_ratio must be in [0, 1], got {}",
                self.warmup_ratio
            ));
        }
        self.targets()?;
        Ok(())
    }

    /// The target modules, parsed.
    pub fn targets(&self) -> Result<Vec<TargetModule>, TrainError> {
        let mut out = Vec::new();
        for name in &self.target_modules {
            let t = TargetModule::parse(name).ok_or_else(|| {
                TrainError::Config(format!(
                    "unknown target module {name:?} (expected q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj)"
                ))
            })?;
            if !out.contains(&t) {
                out.push(t);
            }
        }
        if out.is_empty() {
            return Err(TrainError::Config("target_modules is empty".into()));
        }
        Ok(out)
    }

    pub fn lora(&self) -> Result<LoraConfig, TrainError> {
        let mut lora = LoraConfig::new(self.rank, self.alpha);
        lora.dropout = self.dropout;
        lora.use_rslora = self.use_rslora;
        lora.targets = self.targets()?;
        lora.seed = self.seed;
        Ok(lora)
    }
}

/// Copy `map`'s keys known to [`TrainConfig`] (by name or alias) onto `merged`, by canonical
/// name; return the keys it does not know.
fn overlay(merged: &mut Value, map: Map<String, Value>) -> Vec<String> {
    let mut ignored = Vec::new();
    let Value::Object(target) = merged else {
        return ignored;
    };
    for (key, value) in map {
        match canonical(&key) {
            // `null` means "use the default" in the seed's files.
            Some(name) if !value.is_null() || name == "max_steps" || name == "warmup_steps" => {
                target.insert(name.to_string(), value);
            }
            Some(_) => {}
            None => ignored.push(key),
        }
    }
    ignored
}

fn canonical(key: &str) -> Option<&'static str> {
    const ALIASES: &[(&str, &str)] = &[
        ("lora_rank", "rank"),
        ("r", "rank"),
        ("lora_alpha", "alpha"),
        ("lora_dropout", "dropout"),
        ("num_train_epochs", "epochs"),
        ("per_device_train_batch_size", "micro_batch_size"),
        ("batch_size", "micro_batch_size"),
        ("eval_steps", "eval_every"),
        ("save_steps", "save_every"),
    ];
    const NAMES: &[&str] = &[
        "rank",
        "alpha",
        "dropout",
        "target_modules",
        "use_rslora",
        "epochs",
        "max_steps",
        "micro_batch_size",
        "gradient_accumulation_steps",
        "max_seq_length",
        "learning_rate",
        "lr_scheduler",
        "warmup_ratio",
        "warmup_steps",
        "weight_decay",
        "adam_beta1",
        "adam_beta2",
        "adam_epsilon",
        "max_grad_norm",
        "eval_every",
        "save_every",
        "save_total_limit",
        "early_stopping_patience",
        "early_stopping_min_delta",
        "eval_batch_size",
        "seed",
    ];
    NAMES
        .iter()
        .find(|n| **n == key)
        .copied()
        .or_else(|| ALIASES.iter().find(|(a, _)| *a == key).map(|(_, n)| *n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_keys_map_to_clear_names_and_unknown_keys_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("training.json");
        std::fs::write(
            &path,
            r#"{"base_model": "Qwen/Qwen3.5-9B", "lora_rank": 16, "lora_alpha": 32,
                "learning_rate": 3e-4, "num_train_epochs": 5, "per_device_train_batch_size": 1,
                "gradient_accumulation_steps": 16, "max_seq_length": 2048, "lora_dropout": 0,
                "quantization": "Q4_K_M", "max_samples": null}"#,
        )
        .unwrap();
        let loaded = TrainConfig::load(&[&path]).unwrap();
        let c = &loaded.config;
        assert_eq!((c.rank, c.alpha, c.epochs), (16, 32.0, 5.0));
        assert_eq!(c.learning_rate, 3e-4);
        assert_eq!(loaded.ignored.len(), 3, "{:?}", loaded.ignored);
        assert!(loaded.ignored.iter().any(|k| k.ends_with("base_model")));
    }

    #[test]
    fn committed_defaults_file_equals_built_in_defaults() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/lora.json");
        let loaded = TrainConfig::load(&[&path]).unwrap();
        assert!(loaded.ignored.is_empty(), "{:?}", loaded.ignored);
        assert_eq!(loaded.config, TrainConfig::default());
    }

    #[test]
    fn bad_values_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.json");
        std::fs::write(&path, r#"{"target_modules": ["q_proj", "qkv"]}"#).unwrap();
        let err = TrainConfig::load(&[&path]).unwrap_err().to_string();
        assert!(err.contains("qkv"), "{err}");
        std::fs::write(&path, r#"{"rank": "eight"}"#).unwrap();
        let err = TrainConfig::load(&[&path]).unwrap_err().to_string();
        assert!(err.contains("rank"), "{err}");
    }
}
