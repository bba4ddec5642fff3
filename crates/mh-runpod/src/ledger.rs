//! The pod ledger, `<profile>/out/pods.json`: every pod mh-train rents, written down *before* it
//! exists, so a crash at any moment leaves enough to find and terminate it (`remote reap`).
//!
//! An entry goes `intent` (about to ask for a pod; its name is unique) → `created` (the API
//! returned an id) → `terminated` (termination verified by querying the pod), or `not_created`
//! (the API refused). A pod created while the process died before recording the id is found
//! again by its name in the account's pod list.
//!
//! Writes are atomic (temp file + fsync + rename) and made under the profile lock, which every
//! command that changes the ledger holds.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::api::{ApiKind, CloudType};

/// Where the ledger lives inside a profile.
pub const LEDGER_FILE: &str = "out/pods.json";

/// Where a ledger entry stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryState {
    /// About to create; the pod may exist if the process died mid-request.
    Intent,
    /// The API returned the pod's id; it bills until terminated.
    Created,
    /// Termination verified.
    Terminated,
    /// The API refused to create it; nothing bills.
    NotCreated,
}

impl EntryState {
    /// May have a pod behind it that still bills.
    pub fn may_be_alive(self) -> bool {
        matches!(self, EntryState::Intent | EntryState::Created)
    }
}

/// One pod (or attempt at one).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LedgerEntry {
    /// The pod's name as sent to the API: `mh-train-<run label>-<nonce>`, unique per attempt.
    pub name: String,
    pub state: EntryState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_label: Option<String>,
    pub api: ApiKind,
    pub gpu_type: String,
    pub cloud: CloudType,
    /// USD per hour as quoted when the pod was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_per_hr: Option<f64>,
    pub intent_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terminated_at: Option<String>,
    /// The last thing that went wrong with this pod (API errors never contain the key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// Fields written by newer versions, kept on rewrite.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl LedgerEntry {
    /// Hours billed so far (creation to termination or `now`), when the creation time is known.
    pub fn hours(&self, now: chrono::DateTime<chrono::Utc>) -> Option<f64> {
        let start = parse_time(self.created_at.as_deref()?)?;
        let end = self
            .terminated_at
            .as_deref()
            .and_then(parse_time)
            .unwrap_or(now);
        Some(((end - start).num_milliseconds().max(0) as f64) / 3_600_000.0)
    }

    /// `hours × cost_per_hr`.
    pub fn cost(&self, now: chrono::DateTime<chrono::Utc>) -> Option<f64> {
        Some(self.hours(now)? * self.cost_per_hr?)
    }
}

fn parse_time(s: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&chrono::Utc))
}

/// The ledger file's content.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LedgerFile {
    #[serde(default)]
    pub pods: Vec<LedgerEntry>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("reading the pod ledger {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the pod ledger {path} is not valid JSON ({source}); it is left as it is — fix or move it, then `mh-train remote reap`")]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("writing the pod ledger {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the pod ledger has no entry named {0}")]
    NoEntry(String),
}

/// A profile's pod ledger.
#[derive(Debug, Clone)]
pub struct Ledger {
    path: PathBuf,
}

impl Ledger {
    /// The ledger of the profile at `profile_root`.
    pub fn new(profile_root: &Path) -> Ledger {
        Ledger {
            path: profile_root.join(LEDGER_FILE),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every entry, oldest first (a missing file is an empty ledger).
    pub fn load(&self) -> Result<LedgerFile, LedgerError> {
        let bytes = match std::fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(LedgerFile::default()),
            Err(source) => {
                return Err(LedgerError::Read {
                    path: self.path.clone(),
                    source,
                })
            }
        };
        serde_json::from_slice(&bytes).map_err(|source| LedgerError::Parse {
            path: self.path.clone(),
            source,
        })
    }

    /// Entries that may still bill.
    pub fn open_entries(&self) -> Result<Vec<LedgerEntry>, LedgerError> {
        Ok(self
            .load()?
            .pods
            .into_iter()
            .filter(|e| e.state.may_be_alive())
            .collect())
    }

    fn save(&self, file: &LedgerFile) -> Result<(), LedgerError> {
        mh_profile::atomic_write_json(&self.path, file).map_err(|source| LedgerError::Write {
            path: self.path.clone(),
            source,
        })
    }

    /// Append a new entry (the intent, before the create request).
    pub fn record(&self, entry: LedgerEntry) -> Result<(), LedgerError> {
        let mut file = self.load()?;
        file.pods.push(entry);
        self.save(&file)
    }

    /// Change the entry named `name` and write the ledger.
    pub fn update(
        &self,
        name: &str,
        change: impl FnOnce(&mut LedgerEntry),
    ) -> Result<LedgerEntry, LedgerError> {
        let mut file = self.load()?;
        let entry = file
            .pods
            .iter_mut()
            .rfind(|e| e.name == name)
            .ok_or_else(|| LedgerError::NoEntry(name.to_string()))?;
        change(entry);
        let updated = entry.clone();
        self.save(&file)?;
        Ok(updated)
    }
}

/// Now as the ledger writes times.
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
