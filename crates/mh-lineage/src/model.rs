//! The registry document: the seed's `etc/model-registry.json` shape (facts §9.1) plus our
//! per-version fields. Every struct keeps keys it does not know (`extra`), so a file written by
//! the seed or edited by hand loses nothing when we rewrite it.

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::hash::{hash_path, FileDigest};

/// A version's place in the lifecycle.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Registered; not (or not yet) activated.
    #[default]
    Candidate,
    /// The version the runtime uses (at most one).
    Active,
    /// Was active once, or was pruned by gc.
    Retired,
    /// Training or a later step failed; never activated.
    Failed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Candidate => "candidate",
            Status::Active => "active",
            Status::Retired => "retired",
            Status::Failed => "failed",
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Status {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "candidate" => Ok(Status::Candidate),
            "active" => Ok(Status::Active),
            "retired" => Ok(Status::Retired),
            "failed" => Ok(Status::Failed),
            other => Err(format!(
                "unknown status {other:?} (candidate, active, retired, failed)"
            )),
        }
    }
}

/// How the version was trained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    Lora,
    Full,
}

/// Where training ran.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Place {
    #[default]
    Local,
    Remote,
}

/// `where`: local or remote, with the pod and GPU when known.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Location {
    pub kind: Place,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpu: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The base model a version was trained from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BaseModelRef {
    /// Hub id (`Qwen/Qwen2.5-0.5B-Instruct`) or a directory.
    pub id: String,
    /// Hub commit, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// SHA-256 of the weights (a file's digest, or a directory digest of the weight files).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weights_sha256: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// What the version was trained on.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DatasetFingerprint {
    /// SHA-256 of the tokenized export (see [`crate::hash`] for directories).
    pub sha256: String,
    pub samples: u64,
    /// Date range of the memories the samples came from (ISO dates).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memories_from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memories_to: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Evaluation numbers of the version.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Metrics {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub final_eval_loss: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub best_eval_loss: Option<f64>,
    /// Perplexity at the best eval loss.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub best_eval_ppl: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub final_train_loss: Option<f64>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Metrics {
    pub fn is_empty(&self) -> bool {
        self.final_eval_loss.is_none()
            && self.best_eval_loss.is_none()
            && self.best_eval_ppl.is_none()
            && self.final_train_loss.is_none()
            && self.extra.is_empty()
    }
}

/// What an artifact is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArtifactKind {
    /// PEFT adapter directory (`adapter_model.safetensors` + `adapter_config.json`).
    Adapter,
    /// Merged (or fully fine-tuned) Hugging Face model directory.
    Merged,
    /// A full-model GGUF (one per quantization).
    Gguf,
    /// A LoRA adapter in GGUF form.
    GgufAdapter,
    /// The Ollama Modelfile.
    Modelfile,
}

impl ArtifactKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ArtifactKind::Adapter => "adapter",
            ArtifactKind::Merged => "merged",
            ArtifactKind::Gguf => "gguf",
            ArtifactKind::GgufAdapter => "gguf_adapter",
            ArtifactKind::Modelfile => "modelfile",
        }
    }
}

impl std::fmt::Display for ArtifactKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One artifact: a file or a directory, with its size and SHA-256 (and each file's, for a
/// directory) as recorded when the version was registered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Artifact {
    pub kind: ArtifactKind,
    /// As recorded; a relative path is relative to the profile root.
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
    /// The files of a directory artifact.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<FileDigest>,
    /// GGUF quantization (`Q4_K_M`, `F16`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quant: Option<String>,
    /// Whether gc may delete it (false for files that belong to someone else, e.g. an
    /// imported seed model).
    #[serde(default = "yes")]
    pub owned: bool,
    /// Set when gc deleted it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn yes() -> bool {
    true
}

impl Artifact {
    /// Record `path` as it is now: size and SHA-256 (every file of a directory). `path` is
    /// stored as given (it must be UTF-8).
    pub fn record(kind: ArtifactKind, path: &Path, owned: bool) -> std::io::Result<Self> {
        let text = path.to_str().ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("{}: path is not UTF-8", path.display()),
            )
        })?;
        let d = hash_path(path)?;
        Ok(Self {
            kind,
            path: text.to_string(),
            bytes: d.bytes,
            sha256: d.sha256,
            files: d.files,
            quant: None,
            owned,
            deleted_at: None,
            extra: Map::new(),
        })
    }

    pub fn with_quant(mut self, quant: impl Into<String>) -> Self {
        self.quant = Some(quant.into());
        self
    }

    /// Whether the artifact is a directory (it was recorded with its files).
    pub fn is_dir(&self) -> bool {
        !self.files.is_empty()
    }

    /// The path on disk: relative paths are relative to `profile_root`.
    pub fn resolve(&self, profile_root: &Path) -> std::path::PathBuf {
        let p = Path::new(&self.path);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            profile_root.join(p)
        }
    }
}

/// Where an imported version came from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ImportedFrom {
    pub path: String,
    pub version: u32,
    pub at: String,
}

/// One entry of `training_history`: the seed's fields first, then ours.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Version {
    // --- the seed's fields (facts §9.1), typed as the seed writes them ---
    pub version: u32,
    pub run_id: String,
    pub run_label: String,
    /// ISO timestamp of the run's end.
    pub timestamp: String,
    pub base_model_used: String,
    /// The unquantized model (merged/full model dir), or the adapter dir of a LoRA run that was
    /// not merged.
    pub output_model_path: String,
    /// The GGUF the runtime serves ("" when there is none).
    pub gguf_path: String,
    pub samples_trained: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode_filter: Option<String>,
    pub training_success: bool,
    // --- ours ---
    pub parent_version: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<Method>,
    #[serde(rename = "where", skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_model: Option<BaseModelRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dataset: Option<DatasetFingerprint>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config_sha256: Option<String>,
    #[serde(skip_serializing_if = "Metrics::is_empty")]
    pub metrics: Metrics,
    pub artifacts: Vec<Artifact>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ollama_model: Option<String>,
    pub status: Status,
    pub created_at: String,
    pub activated_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pruned_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub imported_from: Option<ImportedFrom>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Version {
    /// The first live (not deleted) artifact of `kind`.
    pub fn artifact(&self, kind: ArtifactKind) -> Option<&Artifact> {
        self.artifacts
            .iter()
            .find(|a| a.kind == kind && a.deleted_at.is_none())
    }

    /// The run's UTC date (`YYYY-MM-DD`), from the run label or the timestamp.
    pub fn date(&self) -> Option<&str> {
        [self.run_label.as_str(), self.timestamp.as_str()]
            .into_iter()
            .filter_map(|s| s.get(..10))
            .find(|d| {
                let b = d.as_bytes();
                b[4] == b'-'
                    && b[7] == b'-'
                    && d.chars().filter(|c| c.is_ascii_digit()).count() == 8
            })
    }
}

/// `model_type`: where `current_base_model` lives.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelType {
    #[default]
    Huggingface,
    Local,
}

/// `versioning`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Versioning {
    pub enabled: bool,
    /// When true, a successful version with a merged model becomes `current_base_model` (the
    /// seed's continuous learning). New registries start with false: each adapter is trained
    /// on the original base.
    pub auto_update_base: bool,
    pub keep_all_versions: bool,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Default for Versioning {
    fn default() -> Self {
        Self {
            enabled: true,
            auto_update_base: false,
            keep_all_versions: true,
            extra: Map::new(),
        }
    }
}

/// What an entry of the activation log did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ActivationAction {
    Activate,
    Deactivate,
    Rollback,
}

impl ActivationAction {
    pub fn as_str(self) -> &'static str {
        match self {
            ActivationAction::Activate => "activate",
            ActivationAction::Deactivate => "deactivate",
            ActivationAction::Rollback => "rollback",
        }
    }
}

/// One line of the activation log (top-level `activations`). Rollback without a target undoes
/// entries: `undone` is how many it popped off the history of activations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActivationRecord {
    pub at: String,
    pub action: ActivationAction,
    /// What became active (`null` = the base model).
    pub version: Option<u32>,
    /// What was active before.
    pub previous: Option<u32>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub undone: u32,
    pub by: String,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// `etc/model-registry.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Registry {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<Value>,
    pub original_base_model: String,
    pub current_base_model: String,
    pub model_type: ModelType,
    pub training_history: Vec<Version>,
    pub versioning: Versioning,
    pub activations: Vec<ActivationRecord>,
    /// Keys we do not model (the seed's `output_formats`, anything added by hand).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Registry {
    pub fn get(&self, version: u32) -> Option<&Version> {
        self.training_history.iter().find(|v| v.version == version)
    }

    pub fn get_mut(&mut self, version: u32) -> Option<&mut Version> {
        self.training_history
            .iter_mut()
            .find(|v| v.version == version)
    }

    /// The active version (the highest-numbered one if a hand edit left several).
    pub fn active(&self) -> Option<&Version> {
        self.training_history
            .iter()
            .filter(|v| v.status == Status::Active)
            .max_by_key(|v| v.version)
    }

    /// The highest version number.
    pub fn latest(&self) -> Option<&Version> {
        self.training_history.iter().max_by_key(|v| v.version)
    }

    pub fn next_version(&self) -> u32 {
        self.latest().map_or(1, |v| v.version + 1)
    }

    /// `version`'s ancestors, nearest first (stops at a missing parent or a cycle).
    pub fn ancestors(&self, version: u32) -> Vec<u32> {
        let mut out = Vec::new();
        let mut cur = self.get(version).and_then(|v| v.parent_version);
        while let Some(p) = cur {
            if p == version || out.contains(&p) {
                break;
            }
            out.push(p);
            cur = self.get(p).and_then(|v| v.parent_version);
        }
        out
    }

    /// The history of activations as an undo stack: what rollback (without a target) returns
    /// to is the entry below the top. `None` entries are the base model.
    pub fn activation_stack(&self) -> Vec<Option<u32>> {
        let mut stack: Vec<Option<u32>> = Vec::new();
        for rec in &self.activations {
            if rec.undone > 0 {
                for _ in 0..rec.undone {
                    stack.pop();
                }
                if stack.last() != Some(&rec.version) {
                    stack.push(rec.version);
                }
            } else {
                if stack.is_empty() {
                    stack.push(rec.previous);
                }
                stack.push(rec.version);
            }
        }
        stack
    }

    /// Known version numbers, for messages.
    pub fn known_versions(&self) -> String {
        let mut v: Vec<u32> = self.training_history.iter().map(|v| v.version).collect();
        v.sort_unstable();
        if v.is_empty() {
            "none".into()
        } else {
            v.iter()
                .map(|n| n.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        }
    }
}
