//! Disk used by a profile's runs (`mh-train status`).

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::RuntimeError;
use crate::RUNS_DIR;

/// The size of `<profile>/out/runs`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunsDisk {
    pub path: PathBuf,
    /// Bytes of every file below it (symbolic links counted as themselves, not followed).
    pub bytes: u64,
    /// Run directories in it.
    pub runs: usize,
}

/// What `<profile_root>/out/runs` holds; no directory is 0 bytes and 0 runs.
pub fn runs_disk_usage(profile_root: &Path) -> Result<RunsDisk, RuntimeError> {
    let path = profile_root.join(RUNS_DIR);
    let mut out = RunsDisk {
        path: path.clone(),
        bytes: 0,
        runs: 0,
    };
    let entries = match std::fs::read_dir(&path) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(RuntimeError::io(&path, e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| RuntimeError::io(&path, e))?;
        if entry
            .file_type()
            .map_err(|e| RuntimeError::io(&entry.path(), e))?
            .is_dir()
        {
            out.runs += 1;
        }
        out.bytes += tree_bytes(&entry.path())?;
    }
    Ok(out)
}

fn tree_bytes(path: &Path) -> Result<u64, RuntimeError> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        // Removed while we looked (a run being cleaned up).
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(RuntimeError::io(path, e)),
    };
    if !meta.is_dir() {
        return Ok(meta.len());
    }
    let mut total = 0;
    let entries = match std::fs::read_dir(path) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(RuntimeError::io(path, e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| RuntimeError::io(path, e))?;
        total += tree_bytes(&entry.path())?;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_every_file_below_the_runs_directory() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(runs_disk_usage(dir.path()).unwrap().bytes, 0);
        let run = dir.path().join(RUNS_DIR).join("2026-01-01-000000-abcdef");
        std::fs::create_dir_all(run.join("train/adapter")).unwrap();
        std::fs::write(run.join("state.json"), vec![0u8; 100]).unwrap();
        std::fs::write(run.join("train/adapter/a.safetensors"), vec![0u8; 4000]).unwrap();
        std::fs::write(dir.path().join(RUNS_DIR).join("stray.txt"), b"12345").unwrap();
        let d = runs_disk_usage(dir.path()).unwrap();
        assert_eq!(d.bytes, 4105);
        assert_eq!(d.runs, 1);
    }
}
