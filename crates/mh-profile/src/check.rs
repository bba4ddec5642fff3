//! `profile check`: what a profile holds, what could not be read and why.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::config::{
    etc_path, AgentsConfig, AutoApprovalConfig, ConfigDoc, FineTuneConfig, ModelsConfig,
    SleepConfig, TrainingConfig,
};
use crate::{Profile, Progress, ReadError};

/// Summary of a profile.
#[derive(Debug, Clone, Serialize)]
pub struct ProfileCheck {
    pub root: String,
    pub person: Option<String>,
    pub readonly: bool,
    /// Records read per kind.
    pub records: BTreeMap<String, usize>,
    /// Episodic memories per `type`.
    pub episodic_types: BTreeMap<String, usize>,
    /// Oldest and newest episodic timestamps.
    pub date_range: Option<(String, String)>,
    pub encrypted: EncryptedSummary,
    /// Config file → "ok", "missing (defaults)" or the error.
    pub configs: BTreeMap<String, String>,
    pub errors: Vec<ReadError>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct EncryptedSummary {
    pub has_meta: bool,
    pub decrypted: usize,
    pub locked: usize,
}

impl ProfileCheck {
    pub fn ok(&self) -> bool {
        self.errors.is_empty() && self.configs.values().all(|v| !v.starts_with("error"))
    }
}

impl Profile {
    /// Read everything once and summarise.
    pub fn check(&self, progress: &dyn Progress) -> ProfileCheck {
        let mut records = BTreeMap::new();
        let mut errors = Vec::new();
        let mut encrypted = EncryptedSummary::default();
        let episodic = self.episodic(progress);
        let mut episodic_types = BTreeMap::new();
        let mut times: Vec<&str> = Vec::new();
        for r in &episodic.records {
            let kind = r.value.kind.clone().unwrap_or_else(|| "(none)".into());
            *episodic_types.entry(kind).or_insert(0) += 1;
            if let Some(t) = r.value.timestamp.as_deref() {
                times.push(t);
            }
        }
        times.sort_unstable();
        let date_range = match (times.first(), times.last()) {
            (Some(a), Some(b)) => Some((a.to_string(), b.to_string())),
            _ => None,
        };
        let mut tally = |name: &str, n: usize, errs: Vec<ReadError>, locked: usize, dec: usize| {
            records.insert(name.to_string(), n);
            errors.extend(errs);
            encrypted.locked += locked;
            encrypted.decrypted += dec;
        };
        let dec = episodic.records.iter().filter(|r| r.encrypted).count();
        tally(
            "episodic",
            episodic.records.len(),
            episodic.errors,
            episodic.locked.len(),
            dec,
        );
        let s = self.curated_conversations(progress);
        tally(
            "curated_conversations",
            s.records.len(),
            s.errors,
            s.locked.len(),
            0,
        );
        let s = self.therapy_sessions(progress);
        tally(
            "therapy_sessions",
            s.records.len(),
            s.errors,
            s.locked.len(),
            0,
        );
        let s = self.legacy_pairs();
        tally("legacy_pairs", s.records.len(), s.errors, 0, 0);
        let s = self.chat_buffers();
        tally("chat_buffers", s.records.len(), s.errors, s.locked.len(), 0);
        encrypted.has_meta = self.root().join(".encryption-meta.json").exists();

        let person = match self.persona() {
            Ok(p) => p.and_then(|p| p.name().map(String::from)),
            Err(e) => {
                errors.push(ReadError {
                    path: self.root().join("persona/core.json"),
                    line: None,
                    reason: e.to_string(),
                });
                None
            }
        };

        let mut configs = BTreeMap::new();
        let root = self.root();
        let mut cfg = |name: &str, status: Result<bool, crate::ProfileError>| {
            let text = match status {
                Ok(true) => "ok".to_string(),
                Ok(false) => "missing (seed defaults)".to_string(),
                Err(e) => format!("error: {e}"),
            };
            configs.insert(name.to_string(), text);
        };
        let p = |n: &str| etc_path(root, n);
        cfg(
            "training.json",
            ConfigDoc::<TrainingConfig>::load(&p("training.json")).map(|d| d.existed()),
        );
        cfg(
            "training-local.json",
            ConfigDoc::<TrainingConfig>::load(&p("training-local.json")).map(|d| d.existed()),
        );
        cfg(
            "fine-tune-config.json",
            ConfigDoc::<FineTuneConfig>::load(&p("fine-tune-config.json")).map(|d| d.existed()),
        );
        for mode in ["dual", "emulation", "agent"] {
            let name = format!("modes/{mode}-config.json");
            cfg(
                &name,
                ConfigDoc::<FineTuneConfig>::load(&p(&name)).map(|d| d.existed()),
            );
        }
        cfg(
            "sleep.json",
            ConfigDoc::<SleepConfig>::load(&p("sleep.json")).map(|d| d.existed()),
        );
        cfg(
            "auto-approval.json",
            ConfigDoc::<AutoApprovalConfig>::load(&p("auto-approval.json")).map(|d| d.existed()),
        );
        cfg(
            "models.json",
            ConfigDoc::<ModelsConfig>::load(&p("models.json")).map(|d| d.existed()),
        );
        cfg(
            "agents.json",
            ConfigDoc::<AgentsConfig>::load(&p("agents.json")).map(|d| d.existed()),
        );

        ProfileCheck {
            root: root.display().to_string(),
            person,
            readonly: self.readonly(),
            records,
            episodic_types,
            date_range,
            encrypted,
            configs,
            errors,
        }
    }
}
