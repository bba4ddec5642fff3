//! The hub cache layout shared with Python's `huggingface_hub`:
//!
//! ```text
//! <cache>/models--owner--name/
//!   blobs/<etag>                  file contents, named by sha256 (LFS) or git blob sha1
//!   snapshots/<commit>/<file>     relative symlinks to ../../blobs/<etag>
//!   refs/<revision>               the commit the revision pointed to (no newline)
//! ```

use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sha1::Sha1;
use sha2::{Digest, Sha256};

use crate::error::HubError;
use crate::spec::{is_commit, is_safe_file_name};

/// Files a model directory must have.
pub const REQUIRED_FILES: [&str; 3] = ["config.json", "tokenizer.json", "tokenizer_config.json"];
/// Files fetched when the repository has them.
pub const OPTIONAL_FILES: [&str; 3] = [
    "generation_config.json",
    "special_tokens_map.json",
    "chat_template.jinja",
];
/// Single-file weights (preferred, as in `transformers`).
pub const WEIGHTS_FILE: &str = "model.safetensors";
/// Sharded weights: the index naming every shard.
pub const WEIGHTS_INDEX_FILE: &str = "model.safetensors.index.json";

/// One repository's folder in the cache.
pub(crate) struct RepoCache {
    pub root: PathBuf,
}

impl RepoCache {
    pub fn new(cache_dir: &Path, repo: &str) -> RepoCache {
        let folder = hf_hub::Repo::model(repo.to_string()).folder_name();
        RepoCache {
            root: cache_dir.join(folder),
        }
    }

    pub fn ref_path(&self, revision: &str) -> PathBuf {
        self.root.join("refs").join(revision)
    }

    pub fn snapshot(&self, commit: &str) -> PathBuf {
        self.root.join("snapshots").join(commit)
    }

    pub fn blob(&self, etag: &str) -> PathBuf {
        self.root.join("blobs").join(etag)
    }

    /// The commit `revision` names in the cache: itself when it is a full sha, else the content
    /// of `refs/<revision>` when that is a full sha.
    pub fn commit_for(&self, revision: &str) -> Option<String> {
        if is_commit(revision) {
            return Some(revision.to_string());
        }
        let text = fs::read_to_string(self.ref_path(revision)).ok()?;
        let commit = text.trim();
        is_commit(commit).then(|| commit.to_string())
    }

    /// Points `refs/<revision>` at `commit` (atomically; untouched when already so).
    pub fn write_ref(&self, revision: &str, commit: &str) -> Result<(), HubError> {
        let path = self.ref_path(revision);
        if fs::read_to_string(&path).is_ok_and(|t| t == commit) {
            return Ok(());
        }
        mh_profile::atomic_write(&path, commit.as_bytes()).map_err(|e| HubError::io(&path, e))
    }

    /// Makes `snapshots/<commit>/<file>` a relative symlink to `blobs/<etag>` (a copy where
    /// symlinks are unavailable), as `huggingface_hub` does.
    pub fn link(&self, commit: &str, file: &str, etag: &str) -> Result<(), HubError> {
        let pointer = self.snapshot(commit).join(file);
        let blob = self.blob(etag);
        if let Some(parent) = pointer.parent() {
            fs::create_dir_all(parent).map_err(|e| HubError::io(parent, e))?;
        }
        // snapshots/<commit>/<file>: one `..` per directory between the pointer and the root.
        let depth = 2 + file.matches('/').count();
        let mut target = PathBuf::new();
        for _ in 0..depth {
            target.push("..");
        }
        target.push("blobs");
        target.push(etag);
        let _ = fs::remove_file(&pointer);
        #[cfg(unix)]
        let made = std::os::unix::fs::symlink(&target, &pointer);
        #[cfg(not(unix))]
        let made = fs::copy(&blob, &pointer).map(|_| ());
        match made {
            Ok(()) => Ok(()),
            // Another process linked it in the meantime.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && pointer.is_file() => Ok(()),
            Err(e) => Err(HubError::io(&pointer, e)),
        }
        .and_then(|()| {
            if pointer.is_file() {
                Ok(())
            } else {
                Err(HubError::io(
                    &pointer,
                    io::Error::other(format!("does not lead to {}", blob.display())),
                ))
            }
        })
    }

    /// The model files of `snapshots/<commit>` when every one needed is there, else a sentence
    /// saying what is missing.
    pub fn complete_snapshot(&self, commit: &str) -> Result<Vec<String>, String> {
        let dir = self.snapshot(commit);
        if !dir.is_dir() {
            return Err(format!("no snapshot {commit}"));
        }
        let mut files = Vec::new();
        let mut missing = Vec::new();
        for name in REQUIRED_FILES {
            if dir.join(name).is_file() {
                files.push(name.to_string());
            } else {
                missing.push(name.to_string());
            }
        }
        for name in OPTIONAL_FILES {
            if dir.join(name).is_file() {
                files.push(name.to_string());
            }
        }
        if dir.join(WEIGHTS_FILE).is_file() {
            files.push(WEIGHTS_FILE.to_string());
        } else if dir.join(WEIGHTS_INDEX_FILE).is_file() {
            files.push(WEIGHTS_INDEX_FILE.to_string());
            match index_shards(&dir.join(WEIGHTS_INDEX_FILE)) {
                Ok(shards) => {
                    for shard in shards {
                        if dir.join(&shard).is_file() {
                            files.push(shard);
                        } else {
                            missing.push(shard);
                        }
                    }
                }
                Err(reason) => missing.push(format!("a readable {WEIGHTS_INDEX_FILE} ({reason})")),
            }
        } else {
            missing.push(format!("{WEIGHTS_FILE} (or {WEIGHTS_INDEX_FILE})"));
        }
        if missing.is_empty() {
            Ok(files)
        } else {
            Err(format!("snapshot {commit} lacks {}", missing.join(", ")))
        }
    }
}

#[derive(Deserialize)]
struct Index {
    weight_map: std::collections::BTreeMap<String, String>,
}

/// The distinct shard files a safetensors index names, sorted; every name must stay inside
/// the snapshot directory.
pub(crate) fn index_shards(path: &Path) -> Result<Vec<String>, String> {
    let text = fs::read_to_string(path).map_err(|e| e.to_string())?;
    let index: Index =
        serde_json::from_str(&text).map_err(|e| format!("invalid index JSON: {e}"))?;
    let mut shards: Vec<String> = index.weight_map.into_values().collect();
    shards.sort();
    shards.dedup();
    if shards.is_empty() {
        return Err("its weight_map is empty".into());
    }
    if let Some(bad) = shards.iter().find(|s| !is_safe_file_name(s)) {
        return Err(format!("it names the unsafe shard path {bad:?}"));
    }
    Ok(shards)
}

/// What the hub says a file must be.
#[derive(Debug, Clone, Default)]
pub(crate) struct Expected {
    pub size: Option<u64>,
    /// For LFS files.
    pub sha256: Option<String>,
    /// For regular (git) files.
    pub git_sha1: Option<String>,
}

impl Expected {
    /// The cache's name for the blob: sha256 for LFS files, the git blob id otherwise.
    pub fn etag(&self) -> Option<&str> {
        self.sha256.as_deref().or(self.git_sha1.as_deref())
    }
}

/// `None` when `path` has the expected size (cheap check).
pub(crate) fn size_mismatch(path: &Path, expected: &Expected) -> io::Result<Option<String>> {
    let len = fs::metadata(path)?.len();
    Ok(match expected.size {
        Some(size) if size != len => Some(format!("{len} bytes, the hub says {size}")),
        _ => None,
    })
}

/// `None` when `path` matches everything known about it (size, then sha256 or git blob sha1).
pub(crate) fn content_mismatch(path: &Path, expected: &Expected) -> io::Result<Option<String>> {
    if let Some(reason) = size_mismatch(path, expected)? {
        return Ok(Some(reason));
    }
    if let Some(want) = &expected.sha256 {
        let got = hash_file(path, Sha256::new(), None)?;
        if &got != want {
            return Ok(Some(format!("sha256 {got}, the hub says {want}")));
        }
    } else if let Some(want) = &expected.git_sha1 {
        let len = fs::metadata(path)?.len();
        let got = hash_file(path, Sha1::new(), Some(format!("blob {len}\0")))?;
        if &got != want {
            return Ok(Some(format!("git blob id {got}, the hub says {want}")));
        }
    }
    Ok(None)
}

fn hash_file<D: Digest>(path: &Path, mut hasher: D, prefix: Option<String>) -> io::Result<String> {
    if let Some(prefix) = prefix {
        hasher.update(prefix.as_bytes());
    }
    let mut file = fs::File::open(path)?;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}
