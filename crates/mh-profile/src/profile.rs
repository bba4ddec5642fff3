//! [`Profile`]: an opened profile directory and its readers.

use std::fs;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::de::DeserializeOwned;

use crate::audit::AuditLog;
use crate::crypto::{self, EncryptionMeta, ProfileKey};
use crate::lock::ProfileLock;
use crate::memory::*;
use crate::progress::Progress;
use crate::resolve::ResolvedProfile;
use crate::ProfileError;

/// Files larger than this are reported, not read: the seed caps an event at 200 000 characters,
/// so anything this big is not a memory and would only cost memory.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 8 * 1024 * 1024;

/// What a scan of one kind of record found.
#[derive(Debug)]
pub struct Scan<T> {
    pub records: Vec<Loaded<T>>,
    /// Files or lines that could not be read, with the reason.
    pub errors: Vec<ReadError>,
    /// Encrypted files left unread because no passphrase was given.
    pub locked: Vec<PathBuf>,
    /// Readable records that are not of this kind (e.g. `{role, content}` lines in a legacy
    /// export), with the reason.
    pub skipped: Vec<ReadError>,
}

impl<T> Default for Scan<T> {
    fn default() -> Self {
        Self {
            records: Vec::new(),
            errors: Vec::new(),
            locked: Vec::new(),
            skipped: Vec::new(),
        }
    }
}

/// The outcome of reading one JSON file.
enum FileRead<T> {
    Record(Loaded<T>),
    /// Encrypted and no key was given.
    Locked,
    Failed(String),
}

impl<T> Scan<T> {
    fn push(&mut self, path: PathBuf, read: FileRead<T>) {
        match read {
            FileRead::Record(r) => self.records.push(r),
            FileRead::Locked => self.locked.push(path),
            FileRead::Failed(reason) => self.errors.push(ReadError {
                path,
                line: None,
                reason,
            }),
        }
    }
}

/// An opened profile.
#[derive(Debug)]
pub struct Profile {
    root: PathBuf,
    user: Option<String>,
    readonly: bool,
    key: Option<ProfileKey>,
    max_file_bytes: u64,
}

impl Profile {
    pub fn open(resolved: ResolvedProfile) -> Self {
        Self {
            root: resolved.root,
            user: resolved.user,
            readonly: resolved.readonly,
            key: None,
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
        }
    }

    /// Open a profile directory directly.
    pub fn at(root: impl Into<PathBuf>) -> Self {
        Self::open(ResolvedProfile {
            root: root.into(),
            user: None,
            readonly: false,
            warning: None,
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// The user name if known, else the profile directory's name.
    pub fn display_name(&self) -> String {
        self.user.clone().unwrap_or_else(|| {
            self.root
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "profile".into())
        })
    }

    pub fn readonly(&self) -> bool {
        self.readonly
    }

    pub fn set_max_file_bytes(&mut self, bytes: u64) {
        self.max_file_bytes = bytes;
    }

    /// The profile's encryption parameters, if it has any.
    pub fn encryption_meta(&self) -> Result<Option<EncryptionMeta>, ProfileError> {
        Ok(EncryptionMeta::load(&self.root)?)
    }

    /// Derive the key for `*.json.enc` memories. Errors if the profile has no
    /// `.encryption-meta.json`. A wrong passphrase is only detectable per file (GCM tag).
    pub fn unlock(&mut self, passphrase: &str) -> Result<(), ProfileError> {
        let meta = self.encryption_meta()?.ok_or_else(|| ProfileError::Field {
            path: self.root.join(".encryption-meta.json"),
            field: "salt".into(),
            reason: "missing: the profile has no encryption parameters".into(),
        })?;
        self.key = Some(ProfileKey::derive(passphrase, &meta)?);
        Ok(())
    }

    pub fn is_unlocked(&self) -> bool {
        self.key.is_some()
    }

    /// Take the profile's writer lock. Refused for read-only profiles.
    pub fn lock(&self, what: &str) -> Result<ProfileLock, ProfileError> {
        if self.readonly {
            return Err(ProfileError::ReadOnly(self.root.clone()));
        }
        Ok(ProfileLock::acquire(&self.root, what)?)
    }

    pub fn audit(&self) -> AuditLog {
        AuditLog::new(&self.root, self.user.clone())
    }

    /// Episodic memories at any depth under `memory/episodic/` (`*.json`, `*.json.enc`).
    pub fn episodic(&self, progress: &dyn Progress) -> Scan<EpisodicEvent> {
        self.episodic_with(progress, |_, r| r)
    }

    /// Episodic memories parsed as `R` (a lighter view than [`EpisodicEvent`] when only some
    /// fields matter) and turned into `T` (given the file's path) as they are read, in
    /// parallel: a large profile is never held in memory as full records.
    pub fn episodic_with<R, T, F>(&self, progress: &dyn Progress, map: F) -> Scan<T>
    where
        R: DeserializeOwned,
        T: Send,
        F: Fn(&Path, R) -> T + Sync,
    {
        self.scan_json_files(
            &self.root.join("memory/episodic"),
            "episodic",
            progress,
            map,
        )
    }

    /// Curated conversations (`memory/curated/conversations/*.json`).
    pub fn curated_conversations(&self, progress: &dyn Progress) -> Scan<CuratedConversation> {
        self.scan_json_files(
            &self.root.join("memory/curated/conversations"),
            "curated",
            progress,
            |_, r| r,
        )
    }

    /// Therapy sessions (`persona/therapy/session-*.json`).
    pub fn therapy_sessions(&self, progress: &dyn Progress) -> Scan<TherapySession> {
        let mut scan = self.scan_json_files::<TherapySession, _, _>(
            &self.root.join("persona/therapy"),
            "therapy",
            progress,
            |_, r| r,
        );
        let is_session = |p: &Path| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("session-"))
        };
        scan.records.retain(|r| is_session(&r.path));
        scan.errors.retain(|e| is_session(&e.path));
        scan
    }

    /// Chat buffers (`state/conversation-buffer-<mode>.json`).
    pub fn chat_buffers(&self) -> Scan<ChatBuffer> {
        let mut scan = Scan::default();
        let Ok(entries) = fs::read_dir(self.root.join("state")) else {
            return scan;
        };
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("conversation-buffer-") && n.ends_with(".json"))
            })
            .collect();
        paths.sort();
        for path in paths {
            let read = self.read_record::<ChatBuffer>(&path);
            scan.push(path, read);
        }
        scan
    }

    /// Pairs from legacy exports (`memory/training/**/*.jsonl`), one record per line.
    pub fn legacy_pairs(&self) -> Scan<LegacyPair> {
        let mut scan = Scan::default();
        let (files, errors) = walk(&self.root.join("memory/training"), |n| {
            n.ends_with(".jsonl")
        });
        scan.errors = errors;
        for path in files {
            let bytes = match self.read_capped(&path) {
                Ok(b) => b,
                Err(reason) => {
                    scan.errors.push(ReadError {
                        path,
                        line: None,
                        reason,
                    });
                    continue;
                }
            };
            for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                let err = |reason: String| ReadError {
                    path: path.clone(),
                    line: Some(i + 1),
                    reason,
                };
                let value: serde_json::Value = match serde_json::from_slice(line) {
                    Ok(v) => v,
                    Err(e) => {
                        scan.errors.push(err(format!("invalid JSON: {e}")));
                        continue;
                    }
                };
                if value.get("instruction").is_none() && value.get("role").is_some() {
                    scan.skipped
                        .push(err("a {role, content} line, not an instruction pair".into()));
                    continue;
                }
                match serde_json::from_value::<LegacyPair>(value) {
                    Ok(v) => scan.records.push(Loaded {
                        path: path.clone(),
                        line: Some(i + 1),
                        value: v,
                        encrypted: false,
                    }),
                    Err(e) => scan.errors.push(err(e.to_string())),
                }
            }
        }
        scan
    }

    /// `persona/core.json`, if present.
    pub fn persona(&self) -> Result<Option<Persona>, ProfileError> {
        let path = self.root.join("persona/core.json");
        match self.read_record::<Persona>(&path) {
            FileRead::Record(r) => Ok(Some(r.value)),
            FileRead::Locked => Ok(None),
            FileRead::Failed(_) if !path.exists() => Ok(None),
            FileRead::Failed(reason) => Err(ProfileError::Field {
                path,
                field: "(file)".into(),
                reason,
            }),
        }
    }

    fn scan_json_files<R, T, F>(
        &self,
        dir: &Path,
        stage: &str,
        progress: &dyn Progress,
        map: F,
    ) -> Scan<T>
    where
        R: DeserializeOwned,
        T: Send,
        F: Fn(&Path, R) -> T + Sync,
    {
        let (files, errors) = walk(dir, |n| n.ends_with(".json") || n.ends_with(".json.enc"));
        progress.start(stage, Some(files.len() as u64));
        let results: Vec<(PathBuf, FileRead<T>)> = files
            .into_par_iter()
            .map(|path| {
                let read = match self.read_record::<R>(&path) {
                    FileRead::Record(r) => FileRead::Record(Loaded {
                        value: map(&r.path, r.value),
                        path: r.path,
                        line: r.line,
                        encrypted: r.encrypted,
                    }),
                    FileRead::Locked => FileRead::Locked,
                    FileRead::Failed(reason) => FileRead::Failed(reason),
                };
                progress.advance(1);
                (path, read)
            })
            .collect();
        progress.finish();
        let mut scan = Scan {
            errors,
            ..Scan::default()
        };
        for (path, read) in results {
            scan.push(path, read);
        }
        scan
    }

    fn read_capped(&self, path: &Path) -> Result<Vec<u8>, String> {
        let meta = fs::metadata(path).map_err(|e| e.to_string())?;
        if meta.len() > self.max_file_bytes {
            return Err(format!(
                "file is {} bytes, over the {}-byte limit for a memory",
                meta.len(),
                self.max_file_bytes
            ));
        }
        fs::read(path).map_err(|e| e.to_string())
    }

    /// Read, decrypt if needed, and parse one JSON file.
    fn read_record<T: DeserializeOwned>(&self, path: &Path) -> FileRead<T> {
        let bytes = match self.read_capped(path) {
            Ok(b) => b,
            Err(reason) => return FileRead::Failed(reason),
        };
        let encrypted = path.extension().is_some_and(|e| e == "enc");
        let plain = if encrypted {
            let Some(key) = &self.key else {
                return FileRead::Locked;
            };
            match crypto::decrypt(key, &bytes) {
                Ok(p) => p,
                Err(e) => return FileRead::Failed(e.to_string()),
            }
        } else {
            bytes
        };
        match serde_json::from_slice(&plain) {
            Ok(value) => FileRead::Record(Loaded {
                path: path.to_path_buf(),
                line: None,
                value,
                encrypted,
            }),
            Err(e) => FileRead::Failed(format!("invalid record: {e}")),
        }
    }
}

/// Every file under `dir` whose name passes `keep`, sorted, following symlinks; loops and
/// broken links are reported, not fatal. A missing `dir` is simply empty.
fn walk(dir: &Path, keep: impl Fn(&str) -> bool) -> (Vec<PathBuf>, Vec<ReadError>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    if !dir.exists() {
        return (files, errors);
    }
    for entry in walkdir::WalkDir::new(dir)
        .follow_links(true)
        .sort_by_file_name()
    {
        match entry {
            Ok(e) if e.file_type().is_file() => {
                if e.file_name().to_str().is_some_and(&keep) {
                    files.push(e.into_path());
                }
            }
            Ok(_) => {}
            Err(e) => {
                let path = e
                    .path()
                    .map(Path::to_path_buf)
                    .unwrap_or_else(|| dir.to_path_buf());
                let reason = match e.loop_ancestor() {
                    Some(a) => format!("symlink loop back to {}", a.display()),
                    None => e
                        .io_error()
                        .map(|io| io.to_string())
                        .unwrap_or_else(|| e.to_string()),
                };
                errors.push(ReadError {
                    path,
                    line: None,
                    reason,
                });
            }
        }
    }
    (files, errors)
}
