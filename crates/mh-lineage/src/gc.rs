//! `gc --keep N`: delete the artifact files of old versions.
//!
//! Kept: the N newest versions, the active version and all its ancestors. Of every other version,
//! the files of artifacts it owns are deleted (only the files recorded for the artifact; a
//! directory is removed once it is empty) — never a file that a kept version also records.
//! The registry entries stay (the seed's history keeps its versions); they get `pruned_at`,
//! each deleted artifact `deleted_at`, and a `candidate` becomes `retired`. The registry is
//! written before anything is deleted, so a crash leaves files behind, never an entry pointing
//! at deleted files; the next gc removes the leftovers.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use mh_profile::ProfileLock;
use serde::Serialize;

use crate::model::*;
use crate::registry::now;
use crate::{Lineage, LineageError};

/// What gc did (or would do) to one version.
#[derive(Debug, Clone, Serialize)]
pub struct GcVersion {
    pub version: u32,
    pub freed_bytes: u64,
    pub files_deleted: usize,
    /// Files left because a kept version records them too.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub shared: Vec<String>,
    /// Files that could not be deleted.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

/// The outcome of [`Lineage::gc`].
#[derive(Debug, Clone, Serialize)]
pub struct GcReport {
    pub keep: usize,
    pub dry_run: bool,
    /// Versions left untouched.
    pub kept: Vec<u32>,
    /// The active version and its ancestors (kept whatever N is).
    pub protected: Vec<u32>,
    pub pruned: Vec<GcVersion>,
    pub freed_bytes: u64,
}

/// A file gc will delete.
struct Doomed {
    path: PathBuf,
    /// The artifact's directory, for removing emptied directories (None for file artifacts).
    dir: Option<PathBuf>,
}

impl Lineage {
    /// Delete the owned artifacts of every version except the `keep` newest, the active one
    /// and its ancestors. `dry_run` reports without changing anything.
    pub fn gc(
        &self,
        lock: &ProfileLock,
        keep: usize,
        dry_run: bool,
    ) -> Result<GcReport, LineageError> {
        self.check_lock(lock)?;
        let mut doc = self.load_doc()?;
        let reg = &doc.value;
        let mut protected: Vec<u32> = Vec::new();
        if let Some(a) = reg.active() {
            protected.push(a.version);
            protected.extend(reg.ancestors(a.version));
        }
        let mut by_age: Vec<u32> = reg.training_history.iter().map(|v| v.version).collect();
        by_age.sort_unstable_by(|a, b| b.cmp(a));
        let kept: BTreeSet<u32> = by_age
            .iter()
            .take(keep)
            .copied()
            .chain(protected.iter().copied())
            .collect();

        // Every path a kept version records: files, and directory roots.
        let mut kept_files = BTreeSet::new();
        let mut kept_dirs = Vec::new();
        for v in reg
            .training_history
            .iter()
            .filter(|v| kept.contains(&v.version))
        {
            for a in v.artifacts.iter().filter(|a| a.deleted_at.is_none()) {
                let base = a.resolve(&self.root);
                if a.is_dir() {
                    for f in &a.files {
                        kept_files.insert(canon(&base.join(&f.path)));
                    }
                    kept_dirs.push(canon(&base));
                } else {
                    kept_files.insert(canon(&base));
                }
            }
        }
        let is_kept = |p: &Path| {
            let c = canon(p);
            kept_files.contains(&c) || kept_dirs.iter().any(|d| c.starts_with(d))
        };

        let mut plan: Vec<(u32, Vec<Doomed>, Vec<String>)> = Vec::new();
        for v in reg
            .training_history
            .iter()
            .filter(|v| !kept.contains(&v.version))
        {
            let mut doomed = Vec::new();
            let mut shared = Vec::new();
            for a in v.artifacts.iter().filter(|a| a.owned) {
                let base = a.resolve(&self.root);
                let (files, dir) = if a.is_dir() {
                    (
                        a.files
                            .iter()
                            .map(|f| base.join(&f.path))
                            .collect::<Vec<_>>(),
                        Some(base.clone()),
                    )
                } else {
                    (vec![base.clone()], None)
                };
                for f in files {
                    if is_kept(&f) {
                        shared.push(f.display().to_string());
                    } else if fs::symlink_metadata(&f).is_ok() {
                        doomed.push(Doomed {
                            path: f,
                            dir: dir.clone(),
                        });
                    }
                }
            }
            let live = v
                .artifacts
                .iter()
                .any(|a| a.owned && a.deleted_at.is_none());
            if live || !doomed.is_empty() {
                plan.push((v.version, doomed, shared));
            }
        }

        let mut report = GcReport {
            keep,
            dry_run,
            kept: kept.iter().copied().collect(),
            protected,
            pruned: Vec::new(),
            freed_bytes: 0,
        };
        if dry_run {
            for (version, doomed, shared) in plan {
                let bytes = doomed
                    .iter()
                    .filter_map(|d| fs::symlink_metadata(&d.path).ok())
                    .map(|m| m.len())
                    .sum();
                report.freed_bytes += bytes;
                report.pruned.push(GcVersion {
                    version,
                    freed_bytes: bytes,
                    files_deleted: doomed.len(),
                    shared,
                    errors: Vec::new(),
                });
            }
            return Ok(report);
        }

        // Record first, then delete.
        let stamp = now();
        for (version, _, _) in &plan {
            if let Some(v) = doc.value.get_mut(*version) {
                for a in v.artifacts.iter_mut().filter(|a| a.owned) {
                    if a.deleted_at.is_none() {
                        a.deleted_at = Some(stamp.clone());
                    }
                }
                if v.pruned_at.is_none() {
                    v.pruned_at = Some(stamp.clone());
                }
                if v.status == Status::Candidate {
                    v.status = Status::Retired;
                }
            }
        }
        if !plan.is_empty() {
            self.save_doc(lock, &mut doc)?;
        }
        for (version, doomed, shared) in plan {
            let mut gv = GcVersion {
                version,
                freed_bytes: 0,
                files_deleted: 0,
                shared,
                errors: Vec::new(),
            };
            let mut dirs = BTreeSet::new();
            for d in &doomed {
                let len = fs::symlink_metadata(&d.path).map(|m| m.len()).unwrap_or(0);
                match fs::remove_file(&d.path) {
                    Ok(()) => {
                        gv.freed_bytes += len;
                        gv.files_deleted += 1;
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => gv.errors.push(format!("{}: {e}", d.path.display())),
                }
                if let Some(root) = &d.dir {
                    let mut p = d.path.parent();
                    while let Some(dir) = p {
                        if !dir.starts_with(root) {
                            break;
                        }
                        dirs.insert(dir.to_path_buf());
                        p = dir.parent();
                    }
                }
            }
            // Deepest first; a directory that still holds other files stays.
            let mut dirs: Vec<PathBuf> = dirs.into_iter().collect();
            dirs.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
            for d in dirs {
                let _ = fs::remove_dir(&d);
            }
            report.freed_bytes += gv.freed_bytes;
            report.pruned.push(gv);
        }
        Ok(report)
    }
}

fn canon(p: &Path) -> PathBuf {
    fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}
