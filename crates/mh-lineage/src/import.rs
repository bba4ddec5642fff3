//! `import FILE`: bring an existing registry — the seed's system-wide `etc/model-registry.json`
//! (facts §9.1) or another profile's — into this profile's.
//!
//! Each entry keeps every field it has and gets the next free version number here, with
//! `imported_from` naming the file and its old number. Entries already imported (same `run_id`,
//! else same `run_label`) are skipped, so importing twice changes nothing. For the seed's
//! entries (which only its full fine-tune flow wrote): `method: full`, `where: remote`, the
//! parent is the entry whose `output_model_path` is this entry's `base_model_used`, and the
//! artifacts are the files found at `output_model_path` and `gguf_path` (or, because the seed
//! recorded `model.gguf` but wrote `model-<QUANT>.gguf`, the `model-*.gguf` beside it), hashed
//! now and marked not owned (gc never deletes them). Paths that do not exist are listed in the
//! report; such a version has no artifacts and cannot be activated. Nothing becomes active.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use mh_profile::audit::{AuditEvent, Category};
use mh_profile::config::ConfigDoc;
use mh_profile::ProfileLock;
use serde::Serialize;

use crate::model::*;
use crate::registry::now;
use crate::{Lineage, LineageError};

/// One imported entry.
#[derive(Debug, Clone, Serialize)]
pub struct ImportedVersion {
    /// Its number in the imported file.
    pub from_version: u32,
    /// Its number here.
    pub version: u32,
    pub run_label: String,
    pub parent_version: Option<u32>,
    pub status: Status,
    pub artifacts: usize,
    /// Paths the entry names that do not exist (or could not be read) here.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
}

/// The outcome of [`Lineage::import`].
#[derive(Debug, Clone, Serialize)]
pub struct ImportReport {
    pub from: String,
    pub registry: String,
    pub imported: Vec<ImportedVersion>,
    /// Entries already present (by run id / run label): (their number there, number here).
    pub already_present: Vec<(u32, u32)>,
    /// Whether the top-level fields (bases, versioning, …) were taken from the file because
    /// this profile's registry was empty.
    pub took_header: bool,
}

impl Lineage {
    /// Import the registry at `file` (see the module docs).
    pub fn import(&self, lock: &ProfileLock, file: &Path) -> Result<ImportReport, LineageError> {
        self.check_lock(lock)?;
        if !file.is_file() {
            return Err(LineageError::io(
                file,
                std::io::Error::new(std::io::ErrorKind::NotFound, "no such registry file"),
            ));
        }
        let seed = ConfigDoc::<Registry>::load(file).map_err(LineageError::from_profile)?;
        let seed = seed.value;
        let mut doc = self.load_doc()?;
        let reg = &mut doc.value;
        let stamp = now();
        let from = file.display().to_string();

        let mut report = ImportReport {
            from: from.clone(),
            registry: self.registry_path().display().to_string(),
            imported: Vec::new(),
            already_present: Vec::new(),
            took_header: false,
        };
        if reg.training_history.is_empty() && reg.original_base_model.is_empty() {
            report.took_header = true;
            reg.original_base_model = seed.original_base_model.clone();
            reg.current_base_model = seed.current_base_model.clone();
            reg.model_type = seed.model_type;
            reg.versioning = seed.versioning.clone();
            if reg.comment.is_none() {
                reg.comment = seed.comment.clone();
                reg.notes = seed.notes.clone();
            }
            for (k, v) in &seed.extra {
                reg.extra.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        if reg.current_base_model.is_empty() {
            reg.current_base_model = reg.original_base_model.clone();
        }

        let mut entries: Vec<&Version> = seed.training_history.iter().collect();
        entries.sort_by_key(|v| v.version);
        // seed number -> number here
        let mut mapping: BTreeMap<u32, u32> = BTreeMap::new();
        // output path -> number here, for parents of seed entries
        let mut outputs: BTreeMap<String, u32> = reg
            .training_history
            .iter()
            .filter(|v| !v.output_model_path.is_empty())
            .map(|v| (v.output_model_path.clone(), v.version))
            .collect();
        for e in entries {
            let present = reg.training_history.iter().find(|v| {
                (!e.run_id.is_empty() && v.run_id == e.run_id)
                    || (e.run_id.is_empty()
                        && !e.run_label.is_empty()
                        && v.run_label == e.run_label)
            });
            if let Some(p) = present {
                mapping.insert(e.version, p.version);
                report.already_present.push((e.version, p.version));
                continue;
            }
            let number = reg.next_version();
            let mut v = e.clone();
            v.version = number;
            let seed_entry = v.method.is_none() && v.artifacts.is_empty();
            let mut missing = Vec::new();
            if seed_entry {
                v.method = Some(Method::Full);
                if v.location.is_none() {
                    v.location = Some(Location {
                        kind: Place::Remote,
                        ..Location::default()
                    });
                }
                v.artifacts = seed_artifacts(&v, &self.root, &mut missing);
            } else {
                for a in v.artifacts.iter_mut() {
                    a.owned = false;
                }
            }
            v.parent_version = match e.parent_version {
                Some(p) => mapping.get(&p).copied(),
                None if seed_entry => outputs.get(&e.base_model_used).copied(),
                None => None,
            };
            v.status = match e.status {
                _ if !e.training_success => Status::Failed,
                Status::Active => Status::Candidate,
                s => s,
            };
            v.activated_at = None;
            v.imported_from = Some(ImportedFrom {
                path: from.clone(),
                version: e.version,
                at: stamp.clone(),
            });
            mapping.insert(e.version, number);
            if !v.output_model_path.is_empty() {
                outputs.insert(v.output_model_path.clone(), number);
            }
            report.imported.push(ImportedVersion {
                from_version: e.version,
                version: number,
                run_label: v.run_label.clone(),
                parent_version: v.parent_version,
                status: v.status,
                artifacts: v.artifacts.len(),
                missing,
            });
            reg.training_history.push(v);
        }
        if !report.imported.is_empty() || report.took_header || !doc.existed() {
            self.save_doc(lock, &mut doc)?;
            let ev = AuditEvent::new(Category::DataChange, "model_registry_imported")
                .detail("from", from)
                .detail("imported", report.imported.len())
                .detail("already_present", report.already_present.len());
            let _ = self.audit().append(ev);
        }
        Ok(report)
    }
}

/// Artifacts of a seed entry found on disk now (not owned).
fn seed_artifacts(v: &Version, root: &Path, missing: &mut Vec<String>) -> Vec<Artifact> {
    let mut out = Vec::new();
    let record = |kind: ArtifactKind,
                  path: &Path,
                  quant: Option<String>,
                  out: &mut Vec<Artifact>,
                  missing: &mut Vec<String>| {
        match Artifact::record(kind, path, false) {
            Ok(mut a) => {
                a.quant = quant;
                out.push(a);
            }
            Err(e) => missing.push(format!("{}: {e}", path.display())),
        }
    };
    let resolve = |p: &str| {
        let p = Path::new(p);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            root.join(p)
        }
    };
    if !v.output_model_path.is_empty() {
        let p = resolve(&v.output_model_path);
        if p.exists() {
            let kind = if p.join("adapter_config.json").is_file() {
                ArtifactKind::Adapter
            } else {
                ArtifactKind::Merged
            };
            record(kind, &p, None, &mut out, missing);
        } else {
            missing.push(p.display().to_string());
        }
    }
    if !v.gguf_path.is_empty() {
        let p = resolve(&v.gguf_path);
        if p.is_file() {
            record(ArtifactKind::Gguf, &p, None, &mut out, missing);
        } else {
            // The seed's registry says model.gguf; its converter wrote model-<QUANT>.gguf.
            let siblings: Vec<_> = p
                .parent()
                .and_then(|d| fs::read_dir(d).ok())
                .into_iter()
                .flatten()
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|s| {
                    s.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with("model-") && n.ends_with(".gguf"))
                })
                .collect();
            if siblings.is_empty() {
                missing.push(p.display().to_string());
            }
            let mut siblings = siblings;
            siblings.sort();
            for s in siblings {
                let quant = s
                    .file_name()
                    .and_then(|n| n.to_str())
                    .and_then(|n| n.strip_prefix("model-"))
                    .and_then(|n| n.strip_suffix(".gguf"))
                    .map(str::to_string);
                record(ArtifactKind::Gguf, &s, quant, &mut out, missing);
            }
        }
    }
    out
}
