//! The audit log: one JSON object per line in `logs/audit/YYYY-MM-DD.ndjson` (UTC date), in the
//! seed's line shape so MetaHuman OS's history views keep working. Every stage writes through
//! [`AuditLog`]; lines are appended with a single `write` on an `O_APPEND` file, so concurrent
//! writers never interleave inside a line.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{SecondsFormat, Utc};
use serde::Serialize;
use serde_json::{Map, Value};

/// Severity, as the seed spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Debug,
    Info,
    Warn,
    Error,
    Critical,
}

/// Category, as the seed spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    System,
    Decision,
    Action,
    Security,
    Data,
    Agent,
    DataChange,
}

/// One audit line. `event` uses the seed's names where one exists (`full_cycle_started`, …).
#[derive(Debug, Clone, Serialize)]
pub struct AuditEvent {
    pub timestamp: String,
    pub level: Level,
    pub category: Category,
    pub event: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub details: Map<String, Value>,
    pub actor: String,
    #[serde(rename = "userId", skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
}

impl AuditEvent {
    /// An `info` line from actor `mh-train`, stamped now.
    pub fn new(category: Category, event: impl Into<String>) -> Self {
        Self {
            timestamp: Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
            level: Level::Info,
            category,
            event: event.into(),
            message: None,
            details: Map::new(),
            actor: "mh-train".into(),
            user_id: None,
        }
    }

    pub fn level(mut self, level: Level) -> Self {
        self.level = level;
        self
    }

    pub fn message(mut self, message: impl Into<String>) -> Self {
        self.message = Some(message.into());
        self
    }

    pub fn detail(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.details.insert(key.into(), value.into());
        self
    }
}

/// Appends audit lines under one profile.
#[derive(Debug, Clone)]
pub struct AuditLog {
    dir: PathBuf,
    user_id: Option<String>,
}

impl AuditLog {
    pub fn new(profile_root: &Path, user_id: Option<String>) -> Self {
        Self {
            dir: profile_root.join("logs").join("audit"),
            user_id,
        }
    }

    /// The file a line stamped with `timestamp` goes to.
    pub fn file_for(&self, timestamp: &str) -> PathBuf {
        let day = timestamp.get(..10).unwrap_or("unknown-date");
        self.dir.join(format!("{day}.ndjson"))
    }

    /// Append one line. The line is built in memory first and written with one call.
    pub fn append(&self, mut event: AuditEvent) -> std::io::Result<()> {
        if event.user_id.is_none() {
            event.user_id = self.user_id.clone();
        }
        let mut line = serde_json::to_vec(&event).map_err(std::io::Error::other)?;
        line.push(b'\n');
        fs::create_dir_all(&self.dir)?;
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.file_for(&event.timestamp))?;
        file.write_all(&line)
    }

    /// The newest line's timestamp across all audit files (for idle detection).
    pub fn latest_timestamp(&self) -> Option<String> {
        let mut files: Vec<_> = fs::read_dir(&self.dir)
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "ndjson"))
            .collect();
        files.sort();
        let text = fs::read_to_string(files.last()?).ok()?;
        text.lines().rev().find_map(|line| {
            let v: Value = serde_json::from_str(line).ok()?;
            Some(v.get("timestamp")?.as_str()?.to_string())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_have_the_seed_shape_and_go_to_the_utc_day_file() {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::new(dir.path(), Some("ada".into()));
        let mut ev =
            AuditEvent::new(Category::Action, "full_cycle_started").detail("runLabel", "x");
        ev.timestamp = "2026-05-01T23:59:59.999Z".into();
        log.append(ev).unwrap();
        log.append(AuditEvent::new(Category::Data, "dataset_built").level(Level::Warn))
            .unwrap();
        let text = fs::read_to_string(dir.path().join("logs/audit/2026-05-01.ndjson")).unwrap();
        let v: Value = serde_json::from_str(text.trim_end()).unwrap();
        assert_eq!(v["event"], "full_cycle_started");
        assert_eq!(v["level"], "info");
        assert_eq!(v["category"], "action");
        assert_eq!(v["userId"], "ada");
        assert_eq!(v["details"]["runLabel"], "x");
        assert!(text.ends_with('\n'));
        assert!(log.latest_timestamp().is_some());
    }
}
