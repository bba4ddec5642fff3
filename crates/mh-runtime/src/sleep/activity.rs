//! The person's latest activity, for the idle gate: the newest episodic memory file or chat
//! buffer (modification time), or the newest audit line not written by mh-train itself — our
//! own lines (every `sleep_workflow_skipped`, every run) would otherwise keep the profile
//! "busy" forever. Audit lines are read from `<profile>/logs/audit/` and, when the MetaHuman
//! root is known, from `ROOT/logs/audit/` (where the seed writes them).

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

/// The actor of audit lines mh-train writes.
const OUR_ACTOR: &str = "mh-train";

/// When and where the person was last seen.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Activity {
    pub at: DateTime<Utc>,
    /// The file (memory, chat buffer or audit log) it was seen in.
    pub source: PathBuf,
}

/// The newest of the memory files, chat buffers and foreign audit lines.
pub fn last_activity(profile_root: &Path, system_root: Option<&Path>) -> Option<Activity> {
    let mut best: Option<Activity> = None;
    let mut offer = |a: Option<Activity>| {
        if let Some(a) = a {
            if best.as_ref().is_none_or(|b| a.at > b.at) {
                best = Some(a);
            }
        }
    };
    offer(newest_file(&profile_root.join("memory/episodic"), &|_| {
        true
    }));
    offer(newest_file(&profile_root.join("state"), &|n| {
        n.starts_with("conversation-buffer-")
    }));
    offer(newest_audit_line(&profile_root.join("logs/audit")));
    if let Some(root) = system_root {
        offer(newest_audit_line(&root.join("logs/audit")));
    }
    best
}

fn newest_file(dir: &Path, keep: &dyn Fn(&str) -> bool) -> Option<Activity> {
    let mut best: Option<(SystemTime, PathBuf)> = None;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let Ok(ft) = e.file_type() else { continue };
            let path = e.path();
            if ft.is_dir() {
                stack.push(path);
                continue;
            }
            if !e.file_name().to_str().is_some_and(keep) {
                continue;
            }
            // Symlinked memories: the target's time.
            let Ok(m) = std::fs::metadata(&path).and_then(|m| m.modified()) else {
                continue;
            };
            if best.as_ref().is_none_or(|(t, _)| m > *t) {
                best = Some((m, path));
            }
        }
    }
    best.map(|(t, source)| Activity {
        at: DateTime::<Utc>::from(t),
        source,
    })
}

/// The newest line of another actor, in the newest day file that has one.
fn newest_audit_line(dir: &Path) -> Option<Activity> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "ndjson"))
        .collect();
    files.sort();
    for file in files.iter().rev() {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        let newest = text
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|v| v.get("actor").and_then(Value::as_str) != Some(OUR_ACTOR))
            .filter_map(|v| {
                let t = v.get("timestamp")?.as_str()?;
                DateTime::parse_from_rfc3339(t).ok()
            })
            .map(|t| t.with_timezone(&Utc))
            .max();
        if let Some(at) = newest {
            return Some(Activity {
                at,
                source: file.clone(),
            });
        }
    }
    None
}
