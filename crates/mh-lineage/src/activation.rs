//! Which version the runtime uses: `etc/models.json` `globalSettings.activeAdapter` and
//! `useAdapter` in the seed's shape (facts §1.11), kept in step with the registry's statuses and
//! its activation log.
//!
//! Seed rules kept: `useAdapter` is true only when the status is `loaded` or `active`; a bare
//! string `activeAdapter` means `{modelName, status: "loaded"}`; deactivation writes
//! `useAdapter: false, activeAdapter: null`; every change removes the legacy
//! `persona/overrides/active-adapter.json`, and reading migrates it into models.json when
//! models.json has no active adapter.
//!
//! The status we write: `loaded` when the version is registered in Ollama (`ollama_model`),
//! else `ready_for_ollama_load` (so the seed's chat keeps the base model until the model exists
//! in Ollama, while mh-train's own runtime already uses the version through the registry).

use std::path::Path;

use mh_profile::audit::{AuditEvent, Category};
use mh_profile::config::{ConfigDoc, ModelsConfig};
use mh_profile::ProfileLock;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::model::*;
use crate::registry::now;
use crate::verify::quick_problems;
use crate::{Lineage, LineageError};

/// The legacy active-adapter record, relative to the profile root.
pub const LEGACY_ACTIVE_ADAPTER: &str = "persona/overrides/active-adapter.json";

/// The seed's `ActiveAdapterInfo` (facts §1.11), plus `lineageVersion` (ours; the seed's
/// readers ignore it). Unknown keys are kept.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ActiveAdapterInfo {
    pub model_name: String,
    pub activated_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adapter_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eval_score: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dataset: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub modelfile_path: Option<String>,
    /// `ready_for_ollama_load` | `loaded` | `active`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// `remote` | `remote-dual` | `local` | `manual` | `unsloth-remote`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub training_method: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_label: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gguf_adapter_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub activated_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_dual_adapter: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dual: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merged_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adapters: Option<Value>,
    /// The registry version this activation came from (ours).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lineage_version: Option<u32>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ActiveAdapterInfo {
    /// Read the seed's value: an object, or a bare model name.
    pub fn from_value(value: &Value) -> Result<Option<Self>, String> {
        match value {
            Value::Null => Ok(None),
            Value::String(name) => Ok(Some(Self {
                model_name: name.clone(),
                status: Some("loaded".into()),
                ..Self::default()
            })),
            Value::Object(_) => serde_path_to(value).map(Some),
            other => Err(format!(
                "expected an object or a model name, found {}",
                kind_of(other)
            )),
        }
    }

    /// Whether the seed would use the adapter with this status.
    pub fn enables_adapter(&self) -> bool {
        matches!(
            self.status.as_deref(),
            Some("loaded") | Some("active") | None
        )
    }
}

fn serde_path_to(value: &Value) -> Result<ActiveAdapterInfo, String> {
    ActiveAdapterInfo::deserialize(value).map_err(|e| e.to_string())
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// What `status` reports.
#[derive(Debug, Clone, Serialize)]
pub struct ActivationState {
    pub registry: String,
    pub models_json: String,
    /// The registry's active version.
    pub active_version: Option<u32>,
    pub active_run_label: Option<String>,
    /// `globalSettings.useAdapter`.
    pub use_adapter: bool,
    /// `globalSettings.activeAdapter`.
    pub active_adapter: Option<ActiveAdapterInfo>,
    /// What the seed's chat serves: the adapter's model name, or "base model".
    pub serving: String,
    /// A legacy `active-adapter.json` still on disk (not migrated).
    pub legacy_file: Option<String>,
    /// `None` when the registry and models.json agree.
    pub mismatch: Option<String>,
}

/// The result of activate / deactivate / rollback.
#[derive(Debug, Clone, Serialize)]
pub struct ActivationChange {
    pub action: ActivationAction,
    /// What is active now (`None` = the base model).
    pub version: Option<u32>,
    pub previous: Option<u32>,
    /// False when nothing had to change.
    pub changed: bool,
    /// The model the runtime now uses (`None` = base model).
    pub model_name: Option<String>,
    /// The `activeAdapter.status` written.
    pub adapter_status: Option<String>,
    pub use_adapter: bool,
    /// The model name models.json (or the legacy file) named before this change.
    pub replaced_model: Option<String>,
    /// Rollback: versions passed over because they can no longer be activated.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<u32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// models.json as loaded, with its bytes for restoring it if the registry write fails.
struct Models {
    doc: ConfigDoc<ModelsConfig>,
    before: Option<Vec<u8>>,
}

impl Lineage {
    fn load_models(&self) -> Result<Models, LineageError> {
        let path = self.models_path();
        let before = match std::fs::read(&path) {
            Ok(b) => Some(b),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(LineageError::io(&path, e)),
        };
        let doc = ConfigDoc::<ModelsConfig>::load(&path).map_err(LineageError::from_profile)?;
        Ok(Models { doc, before })
    }

    fn models_info(&self, m: &Models) -> Result<Option<ActiveAdapterInfo>, LineageError> {
        match &m.doc.value.global_settings.active_adapter {
            None => Ok(None),
            Some(v) => ActiveAdapterInfo::from_value(v).map_err(|reason| LineageError::Field {
                path: self.models_path(),
                field: "globalSettings.activeAdapter".into(),
                reason,
            }),
        }
    }

    /// `(useAdapter, activeAdapter)` of models.json.
    pub(crate) fn status_models(&self) -> Result<(bool, Option<ActiveAdapterInfo>), LineageError> {
        let m = self.load_models()?;
        let info = self.models_info(&m)?;
        Ok((m.doc.value.global_settings.use_adapter, info))
    }

    /// The legacy record if the file exists: `Ok(None)` when absent, an error when unreadable.
    fn read_legacy(&self) -> Result<Option<ActiveAdapterInfo>, LineageError> {
        let path = self.legacy_active_adapter_path();
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(LineageError::io(&path, e)),
        };
        let value: Value =
            serde_json::from_slice(&bytes).map_err(|e| LineageError::json(&path, &e))?;
        let mut info = ActiveAdapterInfo::from_value(&value)
            .map_err(|reason| LineageError::Field {
                path: path.clone(),
                field: "(root)".into(),
                reason,
            })?
            .ok_or_else(|| LineageError::Field {
                path: path.clone(),
                field: "(root)".into(),
                reason: "null".into(),
            })?;
        if info.activated_at.is_empty() {
            info.activated_at = now();
        }
        Ok(Some(info))
    }

    /// What is active, from the registry and models.json (reads only; see
    /// [`Lineage::migrate_legacy`]).
    pub fn status(&self) -> Result<ActivationState, LineageError> {
        let reg = self.load()?;
        let models = self.load_models()?;
        let info = self.models_info(&models)?;
        let use_adapter = models.doc.value.global_settings.use_adapter;
        let active = reg.active();
        let legacy = self.legacy_active_adapter_path();
        let serving = match &info {
            Some(i) if use_adapter => i.model_name.clone(),
            _ => "base model".to_string(),
        };
        Ok(ActivationState {
            registry: self.registry_path().display().to_string(),
            models_json: self.models_path().display().to_string(),
            active_version: active.map(|v| v.version),
            active_run_label: active.map(|v| v.run_label.clone()),
            use_adapter,
            mismatch: mismatch(active.map(|v| v.version), info.as_ref()),
            active_adapter: info,
            serving,
            legacy_file: legacy.exists().then(|| legacy.display().to_string()),
        })
    }

    /// Whether a legacy `active-adapter.json` waits to be migrated (the file exists and
    /// models.json has no active adapter in use).
    pub fn legacy_pending(&self) -> Result<bool, LineageError> {
        if !self.legacy_active_adapter_path().exists() {
            return Ok(false);
        }
        let models = self.load_models()?;
        let info = self.models_info(&models)?;
        Ok(!(models.doc.value.global_settings.use_adapter && info.is_some()))
    }

    /// Move a legacy `persona/overrides/active-adapter.json` into models.json and delete it, as
    /// the seed does on read: only when models.json has no adapter in use; `useAdapter` becomes
    /// true. An unreadable legacy file is an error and stays where it is.
    pub fn migrate_legacy(
        &self,
        lock: &ProfileLock,
    ) -> Result<Option<ActiveAdapterInfo>, LineageError> {
        self.check_lock(lock)?;
        if !self.legacy_pending()? {
            return Ok(None);
        }
        let Some(info) = self.read_legacy()? else {
            return Ok(None);
        };
        let mut models = self.load_models()?;
        let has_settings = models.doc.raw().contains_key("globalSettings");
        let gs = &mut models.doc.value.global_settings;
        if !has_settings {
            gs.include_persona_summary = Some(true);
        }
        gs.use_adapter = true;
        gs.active_adapter = Some(to_value(&info));
        models.doc.save().map_err(LineageError::from_profile)?;
        let legacy = self.legacy_active_adapter_path();
        std::fs::remove_file(&legacy).map_err(|e| LineageError::io(&legacy, e))?;
        let ev = AuditEvent::new(Category::Action, "adapter_legacy_migrated")
            .detail("modelName", info.model_name.clone())
            .detail("from", legacy.display().to_string())
            .detail("to", self.models_path().display().to_string());
        // The migration is done; a failed audit line is not worth undoing it.
        let _ = self.audit().append(ev);
        Ok(Some(info))
    }

    /// Make `version` the one the runtime uses. Its artifacts must exist with their recorded
    /// sizes (run `verify` for the hashes). Activating the active version again refreshes
    /// models.json (e.g. after it was registered in Ollama) without a new log entry.
    pub fn activate(
        &self,
        lock: &ProfileLock,
        version: u32,
        by: &str,
    ) -> Result<ActivationChange, LineageError> {
        self.switch(
            lock,
            Some(version),
            ActivationAction::Activate,
            0,
            by,
            Vec::new(),
        )
    }

    /// Fall back to the base model at once: `useAdapter: false`, `activeAdapter: null`; the
    /// active version becomes `retired`.
    pub fn deactivate(
        &self,
        lock: &ProfileLock,
        by: &str,
    ) -> Result<ActivationChange, LineageError> {
        self.switch(lock, None, ActivationAction::Deactivate, 0, by, Vec::new())
    }

    /// Return to the previous activation (the one before the current one in the activation
    /// log, skipping versions that can no longer be activated; the state before the first
    /// activation is the base model), or to version `to`.
    pub fn rollback(
        &self,
        lock: &ProfileLock,
        to: Option<u32>,
        by: &str,
    ) -> Result<ActivationChange, LineageError> {
        self.check_lock(lock)?;
        let reg = self.load()?;
        if let Some(t) = to {
            if reg.active().map(|v| v.version) == Some(t) {
                return Err(LineageError::NothingToRollBack(format!(
                    "version {t} is already active"
                )));
            }
            return self.switch(lock, Some(t), ActivationAction::Rollback, 0, by, Vec::new());
        }
        let mut stack = reg.activation_stack();
        if stack.len() < 2 {
            return Err(LineageError::NothingToRollBack(
                "no earlier activation is recorded (use `rollback --to V` or `deactivate`)".into(),
            ));
        }
        stack.pop();
        let mut undone = 1u32;
        let mut skipped = Vec::new();
        let target = loop {
            match stack.last() {
                None => {
                    return Err(LineageError::NothingToRollBack(format!(
                        "no earlier activation can still be used (skipped versions: {})",
                        join(&skipped)
                    )))
                }
                Some(None) => break None,
                Some(Some(v)) => {
                    let v = *v;
                    match reg.get(v) {
                        Some(ver) if not_activatable(ver, &self.root).is_none() => break Some(v),
                        _ => {
                            skipped.push(v);
                            stack.pop();
                            undone += 1;
                        }
                    }
                }
            }
        };
        self.switch(
            lock,
            target,
            ActivationAction::Rollback,
            undone,
            by,
            skipped,
        )
    }

    /// Record the Ollama model name of a version; if it is the active one, models.json is
    /// refreshed (its status becomes `loaded`).
    pub fn set_ollama_model(
        &self,
        lock: &ProfileLock,
        version: u32,
        name: &str,
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
        v.ollama_model = Some(name.to_string());
        let active = v.status == Status::Active;
        self.save_doc(lock, &mut doc)?;
        if active {
            self.activate(lock, version, "mh-train")?;
        }
        Ok(())
    }

    /// The one place activation state changes: registry statuses + activation log, models.json,
    /// the legacy file, the audit line.
    fn switch(
        &self,
        lock: &ProfileLock,
        target: Option<u32>,
        action: ActivationAction,
        undone: u32,
        by: &str,
        skipped: Vec<u32>,
    ) -> Result<ActivationChange, LineageError> {
        self.check_lock(lock)?;
        let mut doc = self.load_doc()?;
        let mut models = self.load_models()?;
        let mut warnings = Vec::new();
        // A malformed activeAdapter must not block the switch (deactivate is the emergency
        // brake); it is replaced and reported.
        let (current_info, malformed) = match self.models_info(&models) {
            Ok(i) => (i, false),
            Err(e) => {
                warnings.push(format!("{e}; replaced"));
                (None, true)
            }
        };
        let legacy_path = self.legacy_active_adapter_path();
        let legacy_info = match self.read_legacy() {
            Ok(i) => i,
            Err(e) => {
                warnings.push(format!("{e}; left in place"));
                None
            }
        };
        let replaced_model = current_info
            .as_ref()
            .filter(|_| models.doc.value.global_settings.use_adapter)
            .or(legacy_info.as_ref())
            .or(current_info.as_ref())
            .map(|i| i.model_name.clone());
        let registry_before = doc.value.clone();
        let models_before = Value::Object(models.doc.raw().clone());
        let reg = &mut doc.value;
        let previous = reg.active().map(|v| v.version);

        if let Some(t) = target {
            let ver = reg.get(t).ok_or_else(|| LineageError::NoSuchVersion {
                path: self.registry_path(),
                version: t,
                known: reg.known_versions(),
            })?;
            if let Some(reason) = not_activatable(ver, &self.root) {
                return Err(LineageError::NotActivatable { version: t, reason });
            }
        }
        // Nothing to change: the target is already what the registry and models.json say.
        let already = previous == target
            && match (target, &current_info) {
                (None, None) => true,
                (Some(t), Some(i)) => i.lineage_version == Some(t),
                _ => false,
            }
            && legacy_info.is_none()
            && !malformed;
        let changed = !already || action == ActivationAction::Rollback;
        let stamp = now();
        for v in reg.training_history.iter_mut() {
            if v.status == Status::Active && Some(v.version) != target {
                v.status = Status::Retired;
            }
        }
        let mut info = None;
        if let Some(t) = target {
            let auto_base = reg.versioning.auto_update_base;
            let user = self.user_name();
            let v = match reg.get_mut(t) {
                Some(v) => v,
                None => {
                    return Err(LineageError::BadStatusChange {
                        version: t,
                        reason: "disappeared from the registry while activating".into(),
                    })
                }
            };
            if v.status != Status::Active {
                v.status = Status::Active;
                v.activated_at = Some(stamp.clone());
            }
            let mut i = info_for(v, &user, by, &stamp);
            if already {
                // A refresh (e.g. after Ollama registration) keeps the activation time.
                if let Some(ci) = &current_info {
                    i.activated_at = ci.activated_at.clone();
                    i.activated_by = ci.activated_by.clone();
                }
            }
            let merged = v.artifact(ArtifactKind::Merged).map(|a| a.path.clone());
            if auto_base {
                if let Some(m) = merged {
                    reg.current_base_model = m;
                    reg.model_type = ModelType::Local;
                }
            }
            info = Some(i);
        }
        if previous != target || action == ActivationAction::Rollback {
            reg.activations.push(ActivationRecord {
                at: stamp.clone(),
                action,
                version: target,
                previous,
                undone,
                by: by.to_string(),
                extra: Map::new(),
            });
        }

        // models.json
        let has_settings = models.doc.raw().contains_key("globalSettings");
        let gs = &mut models.doc.value.global_settings;
        if !has_settings {
            gs.include_persona_summary = Some(true);
        }
        match &info {
            Some(i) => {
                gs.use_adapter = i.enables_adapter();
                gs.active_adapter = Some(to_value(i));
            }
            None => {
                gs.use_adapter = false;
                gs.active_adapter = Some(Value::Null);
            }
        }
        let use_adapter = gs.use_adapter;
        let models_after = Value::Object(models.doc.to_json().map_err(LineageError::from_profile)?);
        let write_models = models_after != models_before && !(already && target.is_none());
        if write_models {
            models.doc.save().map_err(LineageError::from_profile)?;
        }
        if doc.value != registry_before {
            if let Err(e) = self.save_doc(lock, &mut doc) {
                // Put models.json back so the two files keep agreeing.
                if write_models {
                    let mpath = self.models_path();
                    let _ = match &models.before {
                        Some(bytes) => mh_profile::atomic_write(&mpath, bytes),
                        None => std::fs::remove_file(&mpath),
                    };
                }
                return Err(e);
            }
        }
        if legacy_info.is_some() {
            if let Err(e) = std::fs::remove_file(&legacy_path) {
                warnings.push(format!("{}: could not remove: {e}", legacy_path.display()));
            }
        }

        let change = ActivationChange {
            action,
            version: target,
            previous,
            changed,
            model_name: info.as_ref().map(|i| i.model_name.clone()),
            adapter_status: info.as_ref().and_then(|i| i.status.clone()),
            use_adapter,
            replaced_model,
            skipped,
            warnings,
        };
        if change.changed {
            let event = match action {
                ActivationAction::Activate => "adapter_activated",
                ActivationAction::Deactivate => "adapter_deactivated",
                ActivationAction::Rollback => "adapter_rollback",
            };
            let mut ev = AuditEvent::new(Category::Action, event)
                .detail("version", target)
                .detail("previous", previous)
                .detail("useAdapter", use_adapter)
                .detail("by", by.to_string());
            if let Some(i) = &info {
                ev = ev
                    .detail("modelName", i.model_name.clone())
                    .detail("status", i.status.clone())
                    .detail("run_label", i.run_label.clone())
                    .detail("date", i.date.clone());
            }
            if let Some(m) = &change.replaced_model {
                ev = ev.detail("replaced", m.clone());
            }
            if !change.skipped.is_empty() {
                ev = ev.detail("skipped", change.skipped.clone());
            }
            if let Err(e) = self.audit().append(ev) {
                let mut change = change;
                change
                    .warnings
                    .push(format!("the audit line could not be written: {e}"));
                return Ok(change);
            }
        }
        Ok(change)
    }
}

fn to_value(info: &ActiveAdapterInfo) -> Value {
    // A struct of strings, numbers and maps always serializes.
    serde_json::to_value(info).unwrap_or(Value::Null)
}

fn join(v: &[u32]) -> String {
    if v.is_empty() {
        "none".into()
    } else {
        v.iter()
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Why `v` cannot be activated, if it cannot.
pub(crate) fn not_activatable(v: &Version, root: &Path) -> Option<String> {
    if v.status == Status::Failed || !v.training_success {
        return Some("its training failed (status failed)".into());
    }
    if let Some(at) = &v.pruned_at {
        return Some(format!("its artifacts were deleted by gc at {at}"));
    }
    let live: Vec<&Artifact> = v
        .artifacts
        .iter()
        .filter(|a| a.deleted_at.is_none())
        .collect();
    if live.is_empty() && v.ollama_model.is_none() {
        return Some("it has no artifacts and no Ollama model".into());
    }
    let problems: Vec<String> = live.iter().flat_map(|a| quick_problems(a, root)).collect();
    if problems.is_empty() {
        None
    } else {
        Some(problems.join("; "))
    }
}

/// Disagreement between the registry's active version and models.json, if any.
pub(crate) fn mismatch(active: Option<u32>, info: Option<&ActiveAdapterInfo>) -> Option<String> {
    match (active, info) {
        (Some(v), Some(i)) if i.lineage_version == Some(v) => None,
        (Some(v), Some(i)) => Some(format!(
            "the registry's active version is {v} but models.json activates {:?}{}",
            i.model_name,
            i.lineage_version
                .map(|l| format!(" (version {l})"))
                .unwrap_or_else(|| " (not from this lineage)".into())
        )),
        (Some(v), None) => Some(format!(
            "the registry's active version is {v} but models.json has no active adapter"
        )),
        (None, Some(i)) => i.lineage_version.map(|l| {
            format!(
                "models.json activates version {l} ({:?}) but the registry has no active version",
                i.model_name
            )
        }),
        (None, None) => None,
    }
}

/// The Ollama model name a version gets when none was recorded: `<user>-<RUN_LABEL>`, lower
/// case, with anything outside `[a-z0-9._-]` replaced by `-`.
pub fn default_model_name(user: &str, v: &Version) -> String {
    let tail = if v.run_label.is_empty() {
        format!("v{}", v.version)
    } else {
        v.run_label.clone()
    };
    format!("{user}-{tail}")
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect()
}

fn info_for(v: &Version, user: &str, by: &str, at: &str) -> ActiveAdapterInfo {
    let path = |k: ArtifactKind| v.artifact(k).map(|a| a.path.clone());
    let mut extra = Map::new();
    if let Some(l) = v.metrics.best_eval_loss.or(v.metrics.final_eval_loss) {
        extra.insert("evalLoss".into(), Value::from(l));
    }
    ActiveAdapterInfo {
        model_name: v
            .ollama_model
            .clone()
            .unwrap_or_else(|| default_model_name(user, v)),
        activated_at: at.to_string(),
        adapter_path: path(ArtifactKind::Adapter),
        eval_score: None,
        dataset: v.date().map(str::to_string),
        modelfile_path: path(ArtifactKind::Modelfile),
        status: Some(
            if v.ollama_model.is_some() {
                "loaded"
            } else {
                "ready_for_ollama_load"
            }
            .into(),
        ),
        date: v.date().map(str::to_string),
        training_method: v.location.as_ref().map(|l| {
            match l.kind {
                Place::Local => "local",
                Place::Remote => "remote",
            }
            .to_string()
        }),
        run_label: (!v.run_label.is_empty()).then(|| v.run_label.clone()),
        // The seed put the served GGUF here (its "adapter.gguf" was a merged model).
        gguf_adapter_path: path(ArtifactKind::GgufAdapter).or_else(|| path(ArtifactKind::Gguf)),
        base_model: v
            .base_model
            .as_ref()
            .map(|b| b.id.clone())
            .or_else(|| (!v.base_model_used.is_empty()).then(|| v.base_model_used.clone())),
        activated_by: Some(by.to_string()),
        is_dual_adapter: Some(false),
        dual: None,
        merged_path: path(ArtifactKind::Merged),
        adapters: None,
        lineage_version: Some(v.version),
        extra,
    }
}
