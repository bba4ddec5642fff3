//! # mh-lineage
//!
//! The model registry of one profile and which version the runtime uses.
//!
//! **In:** a profile root (an opened [`mh_profile::Profile`]); for writes, the profile's
//! [`mh_profile::ProfileLock`] held by the caller (so a pipeline that holds the lock for a whole
//! run can register and activate inside it); versions to register ([`NewVersion`]) with their
//! artifacts recorded by [`Artifact::record`] (size + SHA-256, per file for directories).
//!
//! **Out:**
//! * `<profile>/etc/model-registry.json` ([`Registry`]): the seed's shape (facts §9.1 —
//!   `original_base_model`, `current_base_model`, `model_type`, `training_history[]` with
//!   `version, run_id, run_label, timestamp, base_model_used, output_model_path, gguf_path,
//!   samples_trained, training_success`, `versioning`) so MetaHuman OS still reads it, plus per
//!   version `parent_version`, `method`, `where`, `base_model`, `dataset`, `config_sha256`,
//!   `metrics`, `artifacts`, `ollama_model`, `status`, `created_at`, `activated_at`, and a
//!   top-level `activations` log. Unknown keys anywhere are kept; every write is atomic and
//!   needs the lock; a file that does not parse is an error (path, line, column) and is never
//!   overwritten.
//! * Activation ([`Lineage::activate`], [`Lineage::deactivate`], [`Lineage::rollback`]):
//!   `<profile>/etc/models.json` `globalSettings.activeAdapter` (the seed's `ActiveAdapterInfo`,
//!   facts §1.11) and `useAdapter`, every other key kept; a legacy
//!   `persona/overrides/active-adapter.json` is migrated into it and removed, as the seed does;
//!   one audit line per change (`adapter_activated`, `adapter_deactivated`, `adapter_rollback`).
//! * [`Lineage::verify`] (a [`VerifyReport`] of every problem), [`Lineage::gc`] (deletes owned
//!   artifacts of old versions, never the active version or its ancestors),
//!   [`Lineage::import`] (a seed registry into this profile's).
//!
//! Depends on mh-profile only.

mod activation;
mod error;
mod gc;
pub mod hash;
mod import;
mod model;
mod registry;
mod verify;

use std::path::{Path, PathBuf};

pub use activation::{
    default_model_name, ActivationChange, ActivationState, ActiveAdapterInfo, LEGACY_ACTIVE_ADAPTER,
};
pub use error::LineageError;
pub use gc::{GcReport, GcVersion};
pub use import::{ImportReport, ImportedVersion};
pub use model::*;
pub use registry::{NewVersion, Parent};
pub use verify::{Problem, ProblemCode, VerifyReport};

/// The registry file, relative to the profile root.
pub const REGISTRY_FILE: &str = "etc/model-registry.json";
/// The role/model file holding the active adapter, relative to the profile root.
pub const MODELS_FILE: &str = "etc/models.json";

/// The lineage of one profile.
#[derive(Debug, Clone)]
pub struct Lineage {
    root: PathBuf,
    user: Option<String>,
}

impl Lineage {
    /// The lineage of an opened profile.
    pub fn new(profile: &mh_profile::Profile) -> Self {
        Self {
            root: profile.root().to_path_buf(),
            user: profile.user().map(str::to_string),
        }
    }

    /// The lineage of the profile at `root` (`user` names the person in audit lines and default
    /// Ollama model names; the directory name is used when `None`).
    pub fn at(root: impl Into<PathBuf>, user: Option<String>) -> Self {
        Self {
            root: root.into(),
            user,
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn registry_path(&self) -> PathBuf {
        self.root.join(REGISTRY_FILE)
    }

    pub fn models_path(&self) -> PathBuf {
        self.root.join(MODELS_FILE)
    }

    pub fn legacy_active_adapter_path(&self) -> PathBuf {
        self.root.join(LEGACY_ACTIVE_ADAPTER)
    }

    /// The person's name for audit lines and model names.
    pub fn user_name(&self) -> String {
        self.user.clone().unwrap_or_else(|| {
            self.root
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "user".into())
        })
    }

    fn audit(&self) -> mh_profile::AuditLog {
        mh_profile::AuditLog::new(&self.root, self.user.clone())
    }
}
