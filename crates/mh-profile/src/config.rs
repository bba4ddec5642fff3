//! Typed views of the seed's `etc/*.json` configs, with the seed's defaults (facts §1.10).
//!
//! A [`ConfigDoc`] keeps the file's raw JSON beside the typed value. Saving merges the typed
//! value back into the raw document, so unknown keys, `comment`/`notes` and key order survive a
//! rewrite (the seed's wizard dropped whole sections; we do not).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::ProfileError;

/// A config file: its typed value and the raw document it came from.
#[derive(Debug, Clone)]
pub struct ConfigDoc<T> {
    pub path: PathBuf,
    pub value: T,
    raw: Map<String, Value>,
    existed: bool,
}

impl<T: Serialize + DeserializeOwned + Default> ConfigDoc<T> {
    /// Read `path`; a missing file gives the defaults. Malformed JSON or a wrong-typed field is an
    /// error naming the file and the field.
    pub fn load(path: &Path) -> Result<Self, ProfileError> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Self {
                    path: path.to_path_buf(),
                    value: T::default(),
                    raw: Map::new(),
                    existed: false,
                })
            }
            Err(e) => return Err(ProfileError::io(path, e)),
        };
        let raw: Value = serde_json::from_slice(&bytes).map_err(|e| ProfileError::Json {
            path: path.to_path_buf(),
            source: e,
        })?;
        let Value::Object(raw) = raw else {
            return Err(ProfileError::Field {
                path: path.to_path_buf(),
                field: "(root)".into(),
                reason: "expected a JSON object".into(),
            });
        };
        let value = serde_path_to_error::deserialize(Value::Object(raw.clone())).map_err(|e| {
            ProfileError::Field {
                path: path.to_path_buf(),
                field: e.path().to_string(),
                reason: e.inner().to_string(),
            }
        })?;
        Ok(Self {
            path: path.to_path_buf(),
            value,
            raw,
            existed: true,
        })
    }

    pub fn existed(&self) -> bool {
        self.existed
    }

    /// The raw document (with keys the typed view does not know).
    pub fn raw(&self) -> &Map<String, Value> {
        &self.raw
    }

    /// The document as it would be saved.
    pub fn to_json(&self) -> Result<Map<String, Value>, ProfileError> {
        let typed = serde_json::to_value(&self.value).map_err(|e| ProfileError::Field {
            path: self.path.clone(),
            field: "(value)".into(),
            reason: e.to_string(),
        })?;
        let mut doc = self.raw.clone();
        if let Value::Object(typed) = typed {
            merge_into(&mut doc, typed);
        }
        Ok(doc)
    }

    /// Write the document back atomically.
    pub fn save(&self) -> Result<(), ProfileError> {
        let doc = self.to_json()?;
        crate::atomic_write_json(&self.path, &doc).map_err(|e| ProfileError::io(&self.path, e))
    }
}

/// Deep-merge `typed` into `doc`: objects merge key by key (existing keys keep their place),
/// everything else is replaced.
fn merge_into(doc: &mut Map<String, Value>, typed: Map<String, Value>) {
    for (k, v) in typed {
        match (doc.get_mut(&k), v) {
            (Some(Value::Object(dst)), Value::Object(src)) => merge_into(dst, src),
            (Some(slot), v) => *slot = v,
            (None, v) => {
                doc.insert(k, v);
            }
        }
    }
}

/// `etc/training.json` (and `training-local.json`): LoRA settings and dataset sampling. Defaults
/// are the seed orchestrators' (merged under the file): rank 8, alpha 16, lr 2e-4, …
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrainingConfig {
    pub base_model: String,
    pub num_train_epochs: f64,
    /// `null` in the seed's wizard meant "no cap".
    pub max_samples: Option<usize>,
    pub monthly_training: bool,
    pub days_recent: u32,
    pub old_samples: usize,
    pub lora_rank: u32,
    pub lora_alpha: f64,
    pub lora_dropout: f64,
    pub learning_rate: f64,
    pub per_device_train_batch_size: u32,
    pub gradient_accumulation_steps: u32,
    pub max_seq_length: u32,
    pub load_in_4bit: bool,
    pub load_in_16bit: bool,
    pub quantization: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chat_template: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system_prompt: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub training_mode: Option<String>,
    /// `memoryTypes.percentages` (also read from `data.memoryTypes.percentages`).
    #[serde(rename = "memoryTypes", skip_serializing_if = "Option::is_none")]
    pub memory_types: Option<MemoryTypes>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<DataSection>,
}

impl Default for TrainingConfig {
    fn default() -> Self {
        Self {
            base_model: "unsloth/Qwen3.5-9B".into(),
            num_train_epochs: 2.0,
            max_samples: Some(3000),
            monthly_training: false,
            days_recent: 30,
            old_samples: 3000,
            lora_rank: 8,
            lora_alpha: 16.0,
            lora_dropout: 0.0,
            learning_rate: 2e-4,
            per_device_train_batch_size: 1,
            gradient_accumulation_steps: 16,
            max_seq_length: 2048,
            load_in_4bit: false,
            load_in_16bit: true,
            quantization: "Q4_K_M".into(),
            chat_template: None,
            system_prompt: None,
            training_mode: None,
            memory_types: None,
            data: None,
        }
    }
}

impl TrainingConfig {
    /// The type-ratio percentages, from `data.memoryTypes` first, then `memoryTypes`; values
    /// that are not numbers are ignored, as the seed does.
    pub fn type_percentages(&self) -> Option<BTreeMap<String, f64>> {
        let from = |m: &MemoryTypes| {
            let p: BTreeMap<String, f64> = m
                .percentages
                .iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_f64()?)))
                .collect();
            (!p.is_empty()).then_some(p)
        };
        self.data
            .as_ref()
            .and_then(|d| d.memory_types.as_ref())
            .and_then(from)
            .or_else(|| self.memory_types.as_ref().and_then(from))
    }

    /// `training-local.json` defaults (facts §1.10).
    pub fn local_defaults() -> Self {
        Self {
            learning_rate: 1.2e-4,
            ..Self::default()
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MemoryTypes {
    pub percentages: Map<String, Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DataSection {
    #[serde(rename = "memoryTypes", skip_serializing_if = "Option::is_none")]
    pub memory_types: Option<MemoryTypes>,
}

/// `etc/fine-tune-config.json` and `etc/modes/<mode>-config.json` (full fine-tune).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FineTuneConfig {
    pub base_model: String,
    pub training_mode: String,
    pub learning_rate: f64,
    pub num_train_epochs: f64,
    pub per_device_train_batch_size: u32,
    pub gradient_accumulation_steps: u32,
    pub max_seq_length: u32,
    pub warmup_steps: u32,
    pub logging_steps: u32,
    pub save_steps: u32,
    pub bf16: bool,
    pub fp16: bool,
    pub optim: String,
    pub weight_decay: f64,
    pub max_grad_norm: f64,
    pub save_total_limit: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cognitive_mode: Option<String>,
    pub dataset_requirements: DatasetRequirements,
    pub gguf_conversion: GgufConversion,
}

impl Default for FineTuneConfig {
    fn default() -> Self {
        Self {
            base_model: "Qwen/Qwen3.5-9B".into(),
            training_mode: "full_finetune".into(),
            learning_rate: 5e-6,
            num_train_epochs: 3.0,
            per_device_train_batch_size: 1,
            gradient_accumulation_steps: 32,
            max_seq_length: 2048,
            warmup_steps: 100,
            logging_steps: 10,
            save_steps: 500,
            bf16: true,
            fp16: false,
            optim: "adafactor".into(),
            weight_decay: 0.01,
            max_grad_norm: 1.0,
            save_total_limit: 2,
            cognitive_mode: None,
            dataset_requirements: DatasetRequirements::default(),
            gguf_conversion: GgufConversion {
                enabled: true,
                quantization_type: "Q6_K".into(),
                intermediate_type: Some("f16".into()),
            },
        }
    }
}

impl FineTuneConfig {
    /// `modes/<mode>-config.json` defaults (facts §1.10 table), or `None` for an unknown mode.
    pub fn mode_defaults(mode: &str) -> Option<Self> {
        let (lr, warmup, wd, clip, keep, min, rec) = match mode {
            "dual" => (6e-6, 150, 0.01, 1.0, 3, 3000, 8000),
            "emulation" => (5e-6, 100, 0.01, 1.0, 2, 5000, 12000),
            "agent" => (4e-6, 120, 0.015, 0.8, 2, 2000, 6000),
            _ => return None,
        };
        let base = Self::default();
        Some(Self {
            learning_rate: lr,
            warmup_steps: warmup,
            weight_decay: wd,
            max_grad_norm: clip,
            save_total_limit: keep,
            cognitive_mode: Some(mode.into()),
            dataset_requirements: DatasetRequirements {
                min_samples: min,
                recommended_samples: rec,
                mode_filter: Some(mode.into()),
                ..base.dataset_requirements.clone()
            },
            ..base
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DatasetRequirements {
    pub min_samples: usize,
    pub recommended_samples: usize,
    pub mode_distribution: ModeDistribution,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode_filter: Option<String>,
}

impl Default for DatasetRequirements {
    fn default() -> Self {
        Self {
            min_samples: 5000,
            recommended_samples: 10000,
            mode_distribution: ModeDistribution::default(),
            mode_filter: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ModeDistribution {
    pub dual_min_percent: f64,
    pub emulation_min_percent: f64,
    pub agent_min_percent: f64,
}

impl Default for ModeDistribution {
    fn default() -> Self {
        Self {
            dual_min_percent: 20.0,
            emulation_min_percent: 20.0,
            agent_min_percent: 10.0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GgufConversion {
    pub enabled: bool,
    pub quantization_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub intermediate_type: Option<String>,
}

impl Default for GgufConversion {
    fn default() -> Self {
        Self {
            enabled: false,
            quantization_type: "Q4_K_M".into(),
            intermediate_type: None,
        }
    }
}

/// `etc/sleep.json`. Legacy `sleepHour`/`wakeHour` integers become the window (`"HH:00"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase", from = "SleepConfigFile")]
pub struct SleepConfig {
    pub enabled: bool,
    pub window: SleepWindow,
    pub min_idle_mins: u32,
    pub max_dreams_per_night: u32,
    #[serde(rename = "showInUI")]
    pub show_in_ui: bool,
    pub evaluate: bool,
    pub adapters: SleepAdapters,
}

impl Default for SleepConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            window: SleepWindow {
                start: "23:00".into(),
                end: "06:30".into(),
            },
            min_idle_mins: 15,
            max_dreams_per_night: 3,
            show_in_ui: true,
            evaluate: true,
            adapters: SleepAdapters {
                prompt: true,
                rag: true,
                lora: true,
            },
        }
    }
}

/// The on-disk shape, including the legacy hour fields.
#[derive(Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct SleepConfigFile {
    enabled: bool,
    window: Option<SleepWindow>,
    sleep_hour: Option<u32>,
    wake_hour: Option<u32>,
    min_idle_mins: u32,
    max_dreams_per_night: u32,
    #[serde(rename = "showInUI")]
    show_in_ui: bool,
    evaluate: bool,
    adapters: SleepAdapters,
}

impl Default for SleepConfigFile {
    fn default() -> Self {
        let d = SleepConfig::default();
        Self {
            enabled: d.enabled,
            window: None,
            sleep_hour: None,
            wake_hour: None,
            min_idle_mins: d.min_idle_mins,
            max_dreams_per_night: d.max_dreams_per_night,
            show_in_ui: d.show_in_ui,
            evaluate: d.evaluate,
            adapters: d.adapters,
        }
    }
}

impl From<SleepConfigFile> for SleepConfig {
    fn from(f: SleepConfigFile) -> Self {
        let d = SleepConfig::default();
        let window = f.window.unwrap_or_else(|| SleepWindow {
            start: f
                .sleep_hour
                .map(|h| format!("{:02}:00", h % 24))
                .unwrap_or(d.window.start),
            end: f
                .wake_hour
                .map(|h| format!("{:02}:00", h % 24))
                .unwrap_or(d.window.end),
        });
        Self {
            enabled: f.enabled,
            window,
            min_idle_mins: f.min_idle_mins,
            max_dreams_per_night: f.max_dreams_per_night,
            show_in_ui: f.show_in_ui,
            evaluate: f.evaluate,
            adapters: f.adapters,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SleepWindow {
    pub start: String,
    pub end: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SleepAdapters {
    pub prompt: bool,
    pub rag: bool,
    pub lora: bool,
}

impl Default for SleepAdapters {
    fn default() -> Self {
        Self {
            prompt: true,
            rag: true,
            lora: true,
        }
    }
}

/// `etc/auto-approval.json`. Absent `autoTrain/autoEval/autoActivate` mean true.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct AutoApprovalConfig {
    pub enabled: bool,
    pub dry_run: bool,
    pub thresholds: ApprovalThresholds,
    pub alert_email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_train: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_eval: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_activate: Option<bool>,
}

impl Default for AutoApprovalConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            dry_run: true,
            thresholds: ApprovalThresholds::default(),
            alert_email: None,
            auto_train: None,
            auto_eval: None,
            auto_activate: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ApprovalThresholds {
    pub min_pairs: usize,
    pub min_high_confidence: f64,
    pub min_reflection_pct: f64,
    pub max_low_confidence: f64,
}

impl Default for ApprovalThresholds {
    fn default() -> Self {
        Self {
            min_pairs: 30,
            min_high_confidence: 0.6,
            min_reflection_pct: 0.2,
            max_low_confidence: 0.2,
        }
    }
}

/// `etc/models.json`: only `globalSettings` is typed; roles and `vllmLora` are kept raw.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ModelsConfig {
    pub global_settings: ModelsGlobalSettings,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ModelsGlobalSettings {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub include_persona_summary: Option<bool>,
    pub use_adapter: bool,
    /// `ActiveAdapterInfo`, or a bare model-name string (the seed accepts both).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active_adapter: Option<Value>,
}

/// `etc/agents.json` globals the sleep service honours.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct AgentsConfig {
    pub global_settings: AgentsGlobalSettings,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct AgentsGlobalSettings {
    pub pause_all: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    pub quiet_hours: QuietHours,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct QuietHours {
    pub enabled: bool,
    pub start: String,
    pub end: String,
}

impl Default for QuietHours {
    fn default() -> Self {
        Self {
            enabled: false,
            start: "22:00".into(),
            end: "07:00".into(),
        }
    }
}

/// The profile's configs, each from `<profile>/etc/<name>`.
pub fn etc_path(profile_root: &Path, name: &str) -> PathBuf {
    profile_root.join("etc").join(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn missing_file_gives_seed_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let t = ConfigDoc::<TrainingConfig>::load(&dir.path().join("training.json")).unwrap();
        assert!(!t.existed());
        assert_eq!(t.value.lora_rank, 8);
        assert_eq!(t.value.lora_alpha, 16.0);
        assert_eq!(t.value.learning_rate, 2e-4);
        assert_eq!(t.value.gradient_accumulation_steps, 16);
        let s = ConfigDoc::<SleepConfig>::load(&dir.path().join("sleep.json")).unwrap();
        assert_eq!(s.value.window.start, "23:00");
        assert_eq!(s.value.min_idle_mins, 15);
        let a = ConfigDoc::<AutoApprovalConfig>::load(&dir.path().join("a.json")).unwrap();
        assert!(a.value.dry_run && a.value.enabled);
        assert_eq!(a.value.thresholds.min_pairs, 30);
        let f = FineTuneConfig::mode_defaults("agent").unwrap();
        assert_eq!(f.learning_rate, 4e-6);
        assert_eq!(f.dataset_requirements.min_samples, 2000);
        assert!(FineTuneConfig::mode_defaults("chaos").is_none());
    }

    #[test]
    fn round_trip_keeps_unknown_keys_comments_and_order() {
        let dir = tempfile::tempdir().unwrap();
        let text = r#"{
  "comment": "keep me",
  "lora_rank": 16,
  "wizardExtra": {"a": [1, 2]},
  "data": {"memoryTypes": {"percentages": {"conversation": 60, "dream": "n/a"}}, "maxDays": 9},
  "notes": "and me"
}"#;
        let path = write(dir.path(), "training.json", text);
        let mut doc = ConfigDoc::<TrainingConfig>::load(&path).unwrap();
        assert_eq!(doc.value.lora_rank, 16);
        let p = doc.value.type_percentages().unwrap();
        assert_eq!(p.get("conversation"), Some(&60.0));
        assert!(!p.contains_key("dream"));
        doc.value.lora_rank = 32;
        doc.save().unwrap();
        let back: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(back["comment"], "keep me");
        assert_eq!(back["notes"], "and me");
        assert_eq!(back["wizardExtra"]["a"][1], 2);
        assert_eq!(back["data"]["maxDays"], 9);
        assert_eq!(back["data"]["memoryTypes"]["percentages"]["dream"], "n/a");
        assert_eq!(back["lora_rank"], 32);
        let keys: Vec<_> = back.as_object().unwrap().keys().take(4).cloned().collect();
        assert_eq!(keys, ["comment", "lora_rank", "wizardExtra", "data"]);
    }

    #[test]
    fn legacy_sleep_hours_become_a_window() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            "sleep.json",
            r#"{"sleepHour": 22, "wakeHour": 7}"#,
        );
        let s = ConfigDoc::<SleepConfig>::load(&path).unwrap();
        assert_eq!(s.value.window.start, "22:00");
        assert_eq!(s.value.window.end, "07:00");
        assert!(s.value.adapters.lora);
    }

    #[test]
    fn wrong_types_name_file_and_field() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "training.json", r#"{"lora_rank": "sixteen"}"#);
        let err = ConfigDoc::<TrainingConfig>::load(&path)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("training.json") && err.contains("lora_rank"),
            "{err}"
        );
        let path = write(dir.path(), "bad.json", "{not json");
        let err = ConfigDoc::<TrainingConfig>::load(&path)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("bad.json") && err.contains("invalid JSON"),
            "{err}"
        );
    }
}
