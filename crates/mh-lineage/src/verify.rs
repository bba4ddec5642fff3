//! `verify`: every live artifact exists with its recorded size and SHA-256, parents exist, at
//! most one version is active, and models.json agrees with the registry.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use serde::Serialize;

use crate::activation::{mismatch, ActiveAdapterInfo};
use crate::hash::sha256_file;
use crate::model::*;
use crate::{Lineage, LineageError};

/// What is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemCode {
    Missing,
    NotAFile,
    NotADirectory,
    SizeMismatch,
    HashMismatch,
    Unreadable,
    ParentMissing,
    SeveralActive,
    ActivationMismatch,
    ModelsJsonInvalid,
}

/// One problem found by [`Lineage::verify`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Problem {
    pub version: Option<u32>,
    pub artifact: Option<ArtifactKind>,
    /// The file the problem is about.
    pub path: Option<String>,
    pub code: ProblemCode,
    pub message: String,
}

/// The outcome of [`Lineage::verify`].
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    pub registry: String,
    pub versions: usize,
    /// Live artifacts checked.
    pub artifacts: usize,
    /// Files hashed (a directory artifact has several).
    pub files: usize,
    pub bytes: u64,
    pub problems: Vec<Problem>,
}

impl VerifyReport {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// A problem with one artifact, before it is tied to a version.
struct Found {
    path: String,
    code: ProblemCode,
    message: String,
}

/// Check one artifact. `deep` hashes the files; otherwise only presence and sizes are checked.
/// Returns the problems and the (files, bytes) looked at.
fn check_artifact(a: &Artifact, root: &Path, deep: bool) -> (Vec<Found>, usize, u64) {
    let base = a.resolve(root);
    let mut out = Vec::new();
    let shown = base.display().to_string();
    let meta = match fs::metadata(&base) {
        Ok(m) => m,
        Err(e) => {
            let code = if e.kind() == std::io::ErrorKind::NotFound {
                ProblemCode::Missing
            } else {
                ProblemCode::Unreadable
            };
            out.push(Found {
                path: shown.clone(),
                code,
                message: format!("{shown}: {e}"),
            });
            return (out, 0, 0);
        }
    };
    // (path on disk, shown path, recorded size, recorded sha256)
    let mut targets = Vec::new();
    if a.is_dir() {
        if !meta.is_dir() {
            out.push(Found {
                path: shown.clone(),
                code: ProblemCode::NotADirectory,
                message: format!("{shown}: recorded as a directory, found a file"),
            });
            return (out, 0, 0);
        }
        for f in &a.files {
            let p = base.join(&f.path);
            targets.push((
                p.clone(),
                p.display().to_string(),
                f.bytes,
                f.sha256.as_str(),
            ));
        }
    } else {
        if meta.is_dir() {
            out.push(Found {
                path: shown.clone(),
                code: ProblemCode::NotAFile,
                message: format!("{shown}: recorded as a file, found a directory"),
            });
            return (out, 0, 0);
        }
        targets.push((base.clone(), shown.clone(), a.bytes, a.sha256.as_str()));
    }
    let (mut files, mut bytes) = (0usize, 0u64);
    for (p, shown, size, sha) in targets {
        let len = match fs::metadata(&p) {
            Ok(m) if m.is_file() => m.len(),
            Ok(_) => {
                out.push(Found {
                    path: shown.clone(),
                    code: ProblemCode::NotAFile,
                    message: format!("{shown}: not a regular file"),
                });
                continue;
            }
            Err(e) => {
                let code = if e.kind() == std::io::ErrorKind::NotFound {
                    ProblemCode::Missing
                } else {
                    ProblemCode::Unreadable
                };
                out.push(Found {
                    path: shown.clone(),
                    code,
                    message: format!("{shown}: {e}"),
                });
                continue;
            }
        };
        if len != size {
            out.push(Found {
                path: shown.clone(),
                code: ProblemCode::SizeMismatch,
                message: format!("{shown}: {len} bytes, recorded {size}"),
            });
            continue;
        }
        files += 1;
        bytes += len;
        if deep {
            match sha256_file(&p) {
                Ok((_, got)) if got == sha => {}
                Ok((_, got)) => out.push(Found {
                    path: shown.clone(),
                    code: ProblemCode::HashMismatch,
                    message: format!("{shown}: sha256 {got}, recorded {sha}"),
                }),
                Err(e) => out.push(Found {
                    path: shown.clone(),
                    code: ProblemCode::Unreadable,
                    message: format!("{shown}: {e}"),
                }),
            }
        }
    }
    (out, files, bytes)
}

/// Presence and size problems of one artifact, as sentences (used before activating).
pub(crate) fn quick_problems(a: &Artifact, root: &Path) -> Vec<String> {
    check_artifact(a, root, false)
        .0
        .into_iter()
        .map(|f| format!("{} {}", a.kind, f.message))
        .collect()
}

impl Lineage {
    /// Hash every live artifact and check the registry's consistency. Problems are reported,
    /// not raised; an unreadable registry is an error.
    pub fn verify(&self) -> Result<VerifyReport, LineageError> {
        let reg = self.load()?;
        let mut report = VerifyReport {
            registry: self.registry_path().display().to_string(),
            versions: reg.training_history.len(),
            artifacts: 0,
            files: 0,
            bytes: 0,
            problems: Vec::new(),
        };
        let known: BTreeSet<u32> = reg.training_history.iter().map(|v| v.version).collect();
        let mut versions: Vec<&Version> = reg.training_history.iter().collect();
        versions.sort_by_key(|v| v.version);
        for v in &versions {
            if let Some(p) = v.parent_version {
                if !known.contains(&p) || p == v.version {
                    report.problems.push(Problem {
                        version: Some(v.version),
                        artifact: None,
                        path: None,
                        code: ProblemCode::ParentMissing,
                        message: format!(
                            "version {}: parent_version {p} is not in the registry",
                            v.version
                        ),
                    });
                }
            }
            for a in v.artifacts.iter().filter(|a| a.deleted_at.is_none()) {
                report.artifacts += 1;
                let (found, files, bytes) = check_artifact(a, &self.root, true);
                report.files += files;
                report.bytes += bytes;
                report.problems.extend(found.into_iter().map(|f| Problem {
                    version: Some(v.version),
                    artifact: Some(a.kind),
                    path: Some(f.path),
                    code: f.code,
                    message: format!("version {} {}: {}", v.version, a.kind, f.message),
                }));
            }
        }
        let active: Vec<u32> = versions
            .iter()
            .filter(|v| v.status == Status::Active)
            .map(|v| v.version)
            .collect();
        if active.len() > 1 {
            report.problems.push(Problem {
                version: None,
                artifact: None,
                path: None,
                code: ProblemCode::SeveralActive,
                message: format!(
                    "versions {} are all marked active; activate the one you want",
                    active
                        .iter()
                        .map(|n| n.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        }
        match self.models_active_adapter() {
            Ok(info) => {
                if let Some(m) = mismatch(reg.active().map(|v| v.version), info.as_ref()) {
                    report.problems.push(Problem {
                        version: reg.active().map(|v| v.version),
                        artifact: None,
                        path: Some(self.models_path().display().to_string()),
                        code: ProblemCode::ActivationMismatch,
                        message: m,
                    });
                }
            }
            Err(e) => report.problems.push(Problem {
                version: None,
                artifact: None,
                path: Some(self.models_path().display().to_string()),
                code: ProblemCode::ModelsJsonInvalid,
                message: e.to_string(),
            }),
        }
        Ok(report)
    }

    /// `globalSettings.activeAdapter` of models.json (no migration).
    pub fn models_active_adapter(&self) -> Result<Option<ActiveAdapterInfo>, LineageError> {
        Ok(self.status_models()?.1)
    }
}
