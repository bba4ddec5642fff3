//! What the service remembers between ticks, under `<profile>/out/sleep/`:
//! * `last-decision.json` — the latest decision (rewritten atomically every tick; a repeat of
//!   the same skip only bumps `repeats` and `checked_at`);
//! * `decisions.jsonl` — one line per new decision (repeats folded), appended with one write;
//! * `state.json` — the last night an attempt was made, written *before* the attempt starts so
//!   a crash or a failure is never retried in a loop the same night.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::decide::{Decision, Outcome};
use super::SleepError;

pub const SLEEP_DIR: &str = "out/sleep";
pub const LAST_DECISION_FILE: &str = "last-decision.json";
pub const DECISIONS_FILE: &str = "decisions.jsonl";
pub const STATE_FILE: &str = "state.json";

/// The night an attempt was last made.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Attempt {
    /// `YYYY-MM-DD` of the window's start.
    pub night: String,
    pub started_at: String,
    /// `started` while it runs (and forever if the process died during it).
    pub outcome: String,
    pub reason: String,
    pub run_label: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ServiceState {
    pub last_attempt: Option<Attempt>,
}

pub fn dir(profile_root: &Path) -> PathBuf {
    profile_root.join(SLEEP_DIR)
}

fn io(path: &Path, e: std::io::Error) -> SleepError {
    SleepError::Io {
        path: path.to_path_buf(),
        source: e,
    }
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Option<T>, SleepError> {
    match std::fs::read(path) {
        Ok(b) => serde_json::from_slice(&b)
            .map(Some)
            .map_err(|e| SleepError::Config {
                path: path.to_path_buf(),
                reason: format!("unreadable ({e}); delete it to start afresh"),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io(path, e)),
    }
}

pub fn load_state(profile_root: &Path) -> Result<ServiceState, SleepError> {
    Ok(read_json(&dir(profile_root).join(STATE_FILE))?.unwrap_or_default())
}

pub fn save_state(profile_root: &Path, state: &ServiceState) -> Result<(), SleepError> {
    let path = dir(profile_root).join(STATE_FILE);
    mh_profile::atomic_write_json(&path, state).map_err(|e| io(&path, e))
}

pub fn last_decision(profile_root: &Path) -> Result<Option<Decision>, SleepError> {
    read_json(&dir(profile_root).join(LAST_DECISION_FILE))
}

/// Whether `new` only repeats `last`: the same skip by the same gate for the same reason
/// (numbers and sources aside: minutes idle, the time of day, which file showed activity) the
/// same night.
pub fn is_repeat(last: &Decision, new: &Decision) -> bool {
    // The part before any parenthesis (sources, paths), without digits.
    let shape = |r: &str| {
        let head = r.split(" (").next().unwrap_or(r);
        head.replace(|c: char| c.is_ascii_digit(), "")
    };
    new.outcome == Outcome::Skipped
        && last.outcome == Outcome::Skipped
        && last.gate == new.gate
        && last.night == new.night
        && last.forced == new.forced
        && shape(&last.reason) == shape(&new.reason)
}

/// Persist `d`: `last-decision.json` always; `decisions.jsonl` unless it is a repeat (then
/// `d.repeats` and `d.first_checked_at` carry over). Returns whether it was a repeat.
pub fn save_decision(profile_root: &Path, d: &mut Decision) -> Result<bool, SleepError> {
    let dir = dir(profile_root);
    let last = last_decision(profile_root).unwrap_or(None);
    let repeat = last.as_ref().is_some_and(|l| is_repeat(l, d));
    if let (true, Some(l)) = (repeat, &last) {
        d.repeats = l.repeats + 1;
        d.first_checked_at = l.first_checked_at.clone();
    }
    if !repeat {
        let path = dir.join(DECISIONS_FILE);
        std::fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
        let mut line = serde_json::to_vec(d).map_err(|e| io(&path, std::io::Error::other(e)))?;
        line.push(b'\n');
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut f| f.write_all(&line))
            .map_err(|e| io(&path, e))?;
    }
    let path = dir.join(LAST_DECISION_FILE);
    mh_profile::atomic_write_json(&path, d).map_err(|e| io(&path, e))?;
    Ok(repeat)
}
