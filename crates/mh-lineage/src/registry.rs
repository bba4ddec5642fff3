//! Reading and writing `etc/model-registry.json`; adding versions and changing their status.

use std::collections::BTreeSet;
use std::path::Path;

use chrono::{SecondsFormat, Utc};
use mh_profile::config::ConfigDoc;
use mh_profile::ProfileLock;
use serde_json::Value;

use crate::model::*;
use crate::{Lineage, LineageError};

/// The header the seed's writer puts on top of the file (its loader strips it).
pub(crate) const COMMENT: &str =
    "Model lineage of this profile: every trained version, its parent, data, artifacts and status";
pub(crate) const NOTES: [&str; 4] = [
    "Written by mh-train; MetaHuman OS reads original_base_model, current_base_model, model_type and training_history.",
    "current_base_model is the base for the next training run when versioning.auto_update_base is true.",
    "The original base model is always kept for reference.",
    "Artifact paths, sizes and sha256 are checked by `mh-train lineage verify`.",
];

pub(crate) fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Which version a new one descends from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Parent {
    /// The active version, else the latest one that did not fail.
    #[default]
    Auto,
    /// A root (trained from the original base).
    None,
    Version(u32),
}

/// A version to register. The registry assigns the number, status and timestamps.
#[derive(Debug, Clone, Default)]
pub struct NewVersion {
    pub run_id: String,
    pub run_label: String,
    /// End of the run (ISO); now when `None`.
    pub timestamp: Option<String>,
    /// Defaults to `base_model.id`.
    pub base_model_used: String,
    /// Defaults to the merged model's path, else the adapter's.
    pub output_model_path: String,
    /// Defaults to the first GGUF's path.
    pub gguf_path: String,
    pub samples_trained: u64,
    pub mode_filter: Option<String>,
    pub training_success: bool,
    pub parent: Parent,
    pub method: Option<Method>,
    pub location: Option<Location>,
    pub base_model: Option<BaseModelRef>,
    pub dataset: Option<DatasetFingerprint>,
    pub config_sha256: Option<String>,
    pub metrics: Metrics,
    pub artifacts: Vec<Artifact>,
    pub ollama_model: Option<String>,
}

impl Lineage {
    /// Read the registry (a missing file is an empty registry). An invalid file is an error
    /// naming the file and the JSON position or field.
    pub fn load(&self) -> Result<Registry, LineageError> {
        Ok(self.load_doc()?.value)
    }

    /// Every version, oldest first.
    pub fn history(&self) -> Result<Vec<Version>, LineageError> {
        let mut h = self.load()?.training_history;
        h.sort_by_key(|v| v.version);
        Ok(h)
    }

    pub(crate) fn load_doc(&self) -> Result<ConfigDoc<Registry>, LineageError> {
        let path = self.registry_path();
        let mut doc = ConfigDoc::<Registry>::load(&path).map_err(LineageError::from_profile)?;
        normalize(&mut doc, &path)?;
        Ok(doc)
    }

    /// Check that `lock` is this profile's lock (the proof that we are the only writer).
    pub(crate) fn check_lock(&self, lock: &ProfileLock) -> Result<(), LineageError> {
        let want = self.root.join(mh_profile::lock::LOCK_FILE);
        if lock.path() == want {
            return Ok(());
        }
        match (
            std::fs::canonicalize(lock.path()),
            std::fs::canonicalize(&want),
        ) {
            (Ok(a), Ok(b)) if a == b => Ok(()),
            _ => Err(LineageError::WrongLock {
                held: lock.path().to_path_buf(),
                profile: self.root.clone(),
            }),
        }
    }

    /// Write the registry atomically (under the lock the caller holds).
    pub(crate) fn save_doc(
        &self,
        lock: &ProfileLock,
        doc: &mut ConfigDoc<Registry>,
    ) -> Result<(), LineageError> {
        self.check_lock(lock)?;
        if !doc.existed() && doc.value.comment.is_none() {
            doc.value.comment = Some(COMMENT.into());
            doc.value.notes = Some(Value::from(NOTES.to_vec()));
        }
        doc.save().map_err(LineageError::from_profile)
    }

    /// Register a version; returns its number. Parent: see [`Parent`]. A version whose
    /// training failed is recorded with status `failed` (the seed's readers skip it, as they
    /// skip `training_success: false`).
    pub fn add_version(&self, lock: &ProfileLock, new: NewVersion) -> Result<u32, LineageError> {
        self.check_lock(lock)?;
        let mut doc = self.load_doc()?;
        let reg = &mut doc.value;
        let number = reg.next_version();
        let parent = match new.parent {
            Parent::None => None,
            Parent::Version(p) => {
                if reg.get(p).is_none() {
                    return Err(LineageError::NoSuchVersion {
                        path: self.registry_path(),
                        version: p,
                        known: reg.known_versions(),
                    });
                }
                Some(p)
            }
            Parent::Auto => reg.active().map(|v| v.version).or_else(|| {
                reg.training_history
                    .iter()
                    .filter(|v| v.status != Status::Failed)
                    .max_by_key(|v| v.version)
                    .map(|v| v.version)
            }),
        };
        let live_path = |kind: ArtifactKind| {
            new.artifacts
                .iter()
                .find(|a| a.kind == kind)
                .map(|a| a.path.clone())
        };
        let base_model_used = if new.base_model_used.is_empty() {
            new.base_model
                .as_ref()
                .map(|b| b.id.clone())
                .unwrap_or_default()
        } else {
            new.base_model_used.clone()
        };
        let output_model_path = if new.output_model_path.is_empty() {
            live_path(ArtifactKind::Merged)
                .or_else(|| live_path(ArtifactKind::Adapter))
                .unwrap_or_default()
        } else {
            new.output_model_path.clone()
        };
        let gguf_path = if new.gguf_path.is_empty() {
            live_path(ArtifactKind::Gguf)
                .or_else(|| live_path(ArtifactKind::GgufAdapter))
                .unwrap_or_default()
        } else {
            new.gguf_path.clone()
        };
        let created = now();
        let merged = live_path(ArtifactKind::Merged);
        let version = Version {
            version: number,
            run_id: new.run_id,
            run_label: new.run_label,
            timestamp: new.timestamp.unwrap_or_else(|| created.clone()),
            base_model_used: base_model_used.clone(),
            output_model_path,
            gguf_path,
            samples_trained: new.samples_trained,
            mode_filter: new.mode_filter,
            training_success: new.training_success,
            parent_version: parent,
            method: new.method,
            location: new.location,
            base_model: new.base_model,
            dataset: new.dataset,
            config_sha256: new.config_sha256,
            metrics: new.metrics,
            artifacts: new.artifacts,
            ollama_model: new.ollama_model,
            status: if new.training_success {
                Status::Candidate
            } else {
                Status::Failed
            },
            created_at: created,
            activated_at: None,
            pruned_at: None,
            imported_from: None,
            extra: Default::default(),
        };
        if reg.original_base_model.is_empty() && !base_model_used.is_empty() {
            reg.original_base_model = base_model_used.clone();
            reg.model_type = model_type_of(&base_model_used);
        }
        if reg.current_base_model.is_empty() {
            reg.current_base_model = reg.original_base_model.clone();
        }
        // The seed's continuous learning: a successful model becomes the next base.
        if version.training_success && reg.versioning.auto_update_base {
            if let Some(m) = merged {
                reg.current_base_model = m;
                reg.model_type = ModelType::Local;
            }
        }
        reg.training_history.push(version);
        self.save_doc(lock, &mut doc)?;
        Ok(number)
    }

    /// Set a version's status. `active` is reached only through activation, and the active
    /// version changes status only through deactivation or rollback.
    pub fn mark_status(
        &self,
        lock: &ProfileLock,
        version: u32,
        status: Status,
    ) -> Result<(), LineageError> {
        self.check_lock(lock)?;
        let mut doc = self.load_doc()?;
        let path = self.registry_path();
        let known = doc.value.known_versions();
        let v = doc
            .value
            .get_mut(version)
            .ok_or(LineageError::NoSuchVersion {
                path,
                version,
                known,
            })?;
        if status == Status::Active {
            return Err(LineageError::BadStatusChange {
                version,
                reason: "use activate to make a version active".into(),
            });
        }
        if v.status == Status::Active {
            return Err(LineageError::BadStatusChange {
                version,
                reason: "it is the active version; deactivate or roll back first".into(),
            });
        }
        v.status = status;
        self.save_doc(lock, &mut doc)
    }
}

/// Hub id or local directory.
pub(crate) fn model_type_of(base: &str) -> ModelType {
    let p = Path::new(base);
    if p.is_absolute() || base.starts_with("./") || base.starts_with("../") || p.is_dir() {
        ModelType::Local
    } else {
        ModelType::Huggingface
    }
}

/// Fill what entries written by the seed (or by hand) lack, and refuse what cannot be handled
/// safely (two entries with one version number).
fn normalize(doc: &mut ConfigDoc<Registry>, path: &Path) -> Result<(), LineageError> {
    let raw_entries: Vec<Option<serde_json::Map<String, Value>>> = doc
        .raw()
        .get("training_history")
        .and_then(Value::as_array)
        .map(|a| a.iter().map(|e| e.as_object().cloned()).collect())
        .unwrap_or_default();
    let mut seen = BTreeSet::new();
    for (i, v) in doc.value.training_history.iter_mut().enumerate() {
        if !seen.insert(v.version) {
            return Err(LineageError::Field {
                path: path.to_path_buf(),
                field: format!("training_history[{i}].version"),
                reason: format!("version {} appears twice", v.version),
            });
        }
        let raw = raw_entries.get(i).cloned().flatten().unwrap_or_default();
        if !raw.contains_key("status") && !v.training_success {
            v.status = Status::Failed;
        }
        if v.created_at.is_empty() {
            v.created_at = v.timestamp.clone();
        }
    }
    Ok(())
}
