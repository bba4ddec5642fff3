//! The configs the sleep service obeys, read as the seed writes them (facts §1.10), plus ours.
//!
//! | file | where | missing |
//! |---|---|---|
//! | `sleep.json` | `<profile>/etc/`, else `ROOT/etc/` | the seed's template: enabled, window 23:00–06:30, `minIdleMins` 15, `adapters.lora` true |
//! | `agents.json` | `<profile>/etc/`, else `ROOT/etc/` | `pauseAll` false, quiet hours off |
//! | `auto-approval.json` | `<profile>/etc/`, else `ROOT/etc/` | **no nightly training** (see below) |
//! | `sleep-service.json` (ours) | `<profile>/etc/` | [`SleepSettings::default`] |
//!
//! The first file found supplies every value (legacy `sleepHour`/`wakeHour` become the window,
//! absent `autoTrain`/`autoEval`/`autoActivate` mean true). The *off* switches — `sleep.json`
//! `enabled: false` / `adapters.lora: false`, `agents.json` `pauseAll: true`,
//! `auto-approval.json` `enabled: false` — are also honoured from the other copy when both exist:
//! the seed's UI writes the system copy of `auto-approval.json` and `agents.json`, while profile
//! creation left a (for the seed, dead) copy in the profile, and a switch the person flipped must
//! never be shadowed by a stale copy. These files are only read, never rewritten.
//!
//! A missing `auto-approval.json`: the seed created one on first read with `dryRun: true`, so
//! nothing was ever trained (facts §10). We neither create it nor assume it: without the file
//! the service does not train, and every decision says how to turn training on
//! (`{"enabled": true, "dryRun": false}`). With the file, `dryRun` is read as written: `true`
//! trains, evaluates and registers but never activates, and says what it would have done.

use std::path::{Path, PathBuf};

use mh_profile::config::{
    etc_path, AgentsConfig, AgentsGlobalSettings, AutoApprovalConfig, ConfigDoc, QuietHours,
    SleepConfig,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::SleepError;
use crate::RunOptions;

pub const SLEEP_FILE: &str = "sleep.json";
pub const AGENTS_FILE: &str = "agents.json";
pub const APPROVAL_FILE: &str = "auto-approval.json";
/// Our own settings, beside the seed's files in `<profile>/etc/`.
pub const SETTINGS_FILE: &str = "sleep-service.json";

/// Default [`SleepSettings::min_new_samples`]: the seed's `minPairs`, i.e. about a day or two
/// of conversation; fewer new samples than this do not justify a night of training.
pub const DEFAULT_MIN_NEW_SAMPLES: usize = 30;
/// Default [`SleepSettings::tick_seconds`] of `sleep-service run`.
pub const DEFAULT_TICK_SECONDS: u64 = 300;

/// Where the nightly training runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TrainingPlace {
    #[default]
    Local,
    Remote,
}

impl TrainingPlace {
    pub fn as_str(self) -> &'static str {
        match self {
            TrainingPlace::Local => "local",
            TrainingPlace::Remote => "remote",
        }
    }
}

/// `<profile>/etc/sleep-service.json`: what only this service needs. Every key is optional;
/// unknown keys are refused (a misspelt setting must not silently fall back to its default).
///
/// ```json
/// { "min_new_samples": 30, "place": "local", "tick_seconds": 300,
///   "run": { "base_model": "Qwen/Qwen2.5-0.5B-Instruct", "config_files": ["lora-night.json"],
///            "device": "auto", "skip_ollama": false } }
/// ```
/// `run` holds the options of `mh-train local` ([`RunOptions`], snake_case keys); relative
/// paths in it are relative to `<profile>/etc/`. With `"place": "remote"`, `run.remote` holds
/// the pod settings of `mh-train remote` ([`crate::RemoteOptions`]; defaults when absent) and
/// the RunPod key comes from `RUNPOD_API_KEY` or the credentials file, never from this file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SleepSettings {
    /// New usable samples (since the newest registered version's data) needed to train.
    pub min_new_samples: usize,
    /// `local`, or `remote` (a RunPod pod for the train step).
    pub place: TrainingPlace,
    /// Seconds between two decisions of `sleep-service run`.
    pub tick_seconds: u64,
    /// The run's options, as `mh-train local` takes them.
    pub run: RunOptions,
}

impl Default for SleepSettings {
    fn default() -> Self {
        SleepSettings {
            min_new_samples: DEFAULT_MIN_NEW_SAMPLES,
            place: TrainingPlace::Local,
            tick_seconds: DEFAULT_TICK_SECONDS,
            run: RunOptions::default(),
        }
    }
}

/// A time of day as `HH:MM`, in minutes after midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct TimeOfDay(pub u32);

impl TimeOfDay {
    pub fn parse(s: &str) -> Option<TimeOfDay> {
        let (h, m) = s.trim().split_once(':')?;
        if h.is_empty() || h.len() > 2 || m.len() != 2 {
            return None;
        }
        let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
        (h < 24 && m < 60).then_some(TimeOfDay(h * 60 + m))
    }

    pub fn hour(self) -> u32 {
        self.0 / 60
    }

    pub fn minute(self) -> u32 {
        self.0 % 60
    }
}

impl std::fmt::Display for TimeOfDay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:02}:{:02}", self.hour(), self.minute())
    }
}

/// A daily time range `[start, end)`; `start > end` wraps midnight; `start == end` is the
/// whole day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DailyRange {
    pub start: TimeOfDay,
    pub end: TimeOfDay,
}

impl DailyRange {
    pub fn parse(start: &str, end: &str) -> Result<DailyRange, String> {
        let p = |s: &str| {
            TimeOfDay::parse(s).ok_or_else(|| format!("{s:?} is not a time of day (HH:MM)"))
        };
        Ok(DailyRange {
            start: p(start)?,
            end: p(end)?,
        })
    }

    /// Whether the minute-of-day `t` is inside the range.
    pub fn contains(&self, t: TimeOfDay) -> bool {
        let (s, e) = (self.start, self.end);
        match s.cmp(&e) {
            std::cmp::Ordering::Equal => true,
            std::cmp::Ordering::Less => s <= t && t < e,
            std::cmp::Ordering::Greater => t >= s || t < e,
        }
    }

    /// Whether every minute of `other` is inside this range.
    pub fn covers(&self, other: &DailyRange) -> bool {
        (0..24 * 60)
            .map(TimeOfDay)
            .filter(|&t| other.contains(t))
            .all(|t| self.contains(t))
    }
}

impl std::fmt::Display for DailyRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}–{}", self.start, self.end)
    }
}

/// A value and the file it came from (`None`: the documented default).
#[derive(Debug, Clone, Serialize)]
pub struct FromFile<T> {
    pub value: T,
    pub path: Option<PathBuf>,
}

impl<T> FromFile<T> {
    /// `path` for messages, or `default` when no file supplied the value.
    pub fn source(&self) -> String {
        self.path
            .as_ref()
            .map_or_else(|| "default".to_string(), |p| p.display().to_string())
    }
}

/// Every setting one decision uses, re-read at each tick.
#[derive(Debug, Clone, Serialize)]
pub struct SleepConfigs {
    pub sleep: FromFile<SleepConfig>,
    pub window: DailyRange,
    pub agents: FromFile<AgentsGlobalSettings>,
    /// `None` in `value`: no auto-approval.json anywhere.
    pub approval: FromFile<Option<AutoApprovalConfig>>,
    pub settings: FromFile<SleepSettings>,
    /// Off switches taken from the other copy of a file (`path: key`).
    pub switches_from_other_copy: Vec<String>,
}

impl SleepConfigs {
    /// Read everything. `system_root` is the MetaHuman root whose `etc/` holds the system
    /// copies (see [`system_root_of`]).
    pub fn load(profile_root: &Path, system_root: Option<&Path>) -> Result<Self, SleepError> {
        let profile_etc = |n: &str| etc_path(profile_root, n);
        let system_etc = |n: &str| system_root.map(|r| r.join("etc").join(n));

        let (sleep, other_sleep) =
            pair::<SleepConfig>(&profile_etc(SLEEP_FILE), system_etc(SLEEP_FILE))?;
        let (agents, other_agents) =
            pair::<AgentsConfig>(&profile_etc(AGENTS_FILE), system_etc(AGENTS_FILE))?;
        let (approval, other_approval) =
            pair::<AutoApprovalConfig>(&profile_etc(APPROVAL_FILE), system_etc(APPROVAL_FILE))?;

        let mut switches = Vec::new();
        let mut sleep = split(sleep, SleepConfig::default());
        if let Some(o) = other_sleep {
            if !o.value.enabled && sleep.value.enabled {
                sleep.value.enabled = false;
                switches.push(format!("{}: enabled false", o.path.display()));
            }
            if !o.value.adapters.lora && sleep.value.adapters.lora {
                sleep.value.adapters.lora = false;
                switches.push(format!("{}: adapters.lora false", o.path.display()));
            }
        }
        let window = DailyRange::parse(&sleep.value.window.start, &sleep.value.window.end)
            .map_err(|reason| SleepError::Config {
                path: sleep.path.clone().unwrap_or_default(),
                reason: format!("window: {reason}"),
            })?;
        let mut agents = split(agents, AgentsConfig::default());
        if let Some(o) = other_agents {
            if o.value.global_settings.pause_all && !agents.value.global_settings.pause_all {
                agents.value.global_settings.pause_all = true;
                switches.push(format!(
                    "{}: globalSettings.pauseAll true",
                    o.path.display()
                ));
            }
        }
        let agents = FromFile {
            value: agents.value.global_settings,
            path: agents.path,
        };
        let quiet = &agents.value.quiet_hours;
        if quiet.enabled {
            DailyRange::parse(&quiet.start, &quiet.end).map_err(|reason| SleepError::Config {
                path: agents.path.clone().unwrap_or_default(),
                reason: format!("globalSettings.quietHours: {reason}"),
            })?;
        }
        let mut approval = match approval {
            Some(doc) => FromFile {
                path: Some(doc.path),
                value: Some(doc.value),
            },
            None => FromFile {
                path: None,
                value: None,
            },
        };
        if let (Some(o), Some(a)) = (other_approval, approval.value.as_mut()) {
            if !o.value.enabled && a.enabled {
                a.enabled = false;
                switches.push(format!("{}: enabled false", o.path.display()));
            }
        }
        let settings = load_settings(&profile_etc(SETTINGS_FILE))?;
        Ok(SleepConfigs {
            sleep,
            window,
            agents,
            approval,
            settings,
            switches_from_other_copy: switches,
        })
    }

    pub fn quiet_hours(&self) -> Option<DailyRange> {
        let q: &QuietHours = &self.agents.value.quiet_hours;
        if !q.enabled {
            return None;
        }
        DailyRange::parse(&q.start, &q.end).ok()
    }

    /// Where `auto-approval.json` would be looked for, for messages.
    pub fn approval_hint(profile_root: &Path) -> String {
        etc_path(profile_root, APPROVAL_FILE).display().to_string()
    }
}

/// The MetaHuman root of a profile in the default layout `ROOT/profiles/<user>`, when
/// `ROOT/etc` exists; `None` for a profile elsewhere (pass the root explicitly then).
pub fn system_root_of(profile_root: &Path) -> Option<PathBuf> {
    let abs = std::fs::canonicalize(profile_root).ok()?;
    let parent = abs.parent()?;
    if parent.file_name()? != "profiles" {
        return None;
    }
    let root = parent.parent()?;
    root.join("etc").is_dir().then(|| root.to_path_buf())
}

struct Found<T> {
    path: PathBuf,
    value: T,
}

/// The profile copy and the system copy of one file, each if it exists: (first, other).
#[allow(clippy::type_complexity)]
fn pair<T>(
    profile: &Path,
    system: Option<PathBuf>,
) -> Result<(Option<ConfigDoc<T>>, Option<Found<T>>), SleepError>
where
    T: Serialize + serde::de::DeserializeOwned + Default,
{
    let load = |p: &Path| -> Result<Option<ConfigDoc<T>>, SleepError> {
        let doc = ConfigDoc::<T>::load(p).map_err(|e| SleepError::Config {
            path: p.to_path_buf(),
            reason: e.to_string(),
        })?;
        Ok(doc.existed().then_some(doc))
    };
    let first = load(profile)?;
    let second = match system {
        Some(p) if p != profile => load(&p)?,
        _ => None,
    };
    Ok(match (first, second) {
        (Some(a), Some(b)) => (
            Some(a),
            Some(Found {
                path: b.path,
                value: b.value,
            }),
        ),
        (Some(a), None) => (Some(a), None),
        (None, b) => (b, None),
    })
}

fn split<T>(doc: Option<ConfigDoc<T>>, default: T) -> FromFile<T> {
    match doc {
        Some(d) => FromFile {
            path: Some(d.path),
            value: d.value,
        },
        None => FromFile {
            path: None,
            value: default,
        },
    }
}

/// Read `sleep-service.json`; relative paths in `run` become relative to its directory.
pub fn load_settings(path: &Path) -> Result<FromFile<SleepSettings>, SleepError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(FromFile {
                value: SleepSettings::default(),
                path: None,
            })
        }
        Err(e) => {
            return Err(SleepError::Io {
                path: path.to_path_buf(),
                source: e,
            })
        }
    };
    let bad = |reason: String| SleepError::Config {
        path: path.to_path_buf(),
        reason,
    };
    let raw: Value =
        serde_json::from_slice(&bytes).map_err(|e| bad(format!("invalid JSON: {e}")))?;
    // `run` takes RunOptions' keys only (RunOptions itself tolerates unknown keys).
    if let Some(run) = raw.get("run").and_then(Value::as_object) {
        let known = serde_json::to_value(RunOptions::default()).unwrap_or(Value::Null);
        for k in run.keys() {
            if known.get(k).is_none() {
                return Err(bad(format!(
                    "run.{k}: not an option of mh-train local (known: {})",
                    known
                        .as_object()
                        .map(|m| m.keys().cloned().collect::<Vec<_>>().join(", "))
                        .unwrap_or_default()
                )));
            }
        }
    }
    let mut settings = SleepSettings::deserialize(raw).map_err(|e| bad(e.to_string()))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let rel = |p: &mut PathBuf| {
        if p.is_relative() {
            *p = dir.join(&*p);
        }
    };
    settings.run.config_files.iter_mut().for_each(rel);
    if let Some(p) = settings.run.dataset_config.as_mut() {
        rel(p);
    }
    if let Some(b) = settings.run.base_model.as_mut() {
        // A relative base model is a directory next to the file when one exists there; else
        // it is a hub id (`owner/name`).
        let candidate = dir.join(&*b);
        if Path::new(b.as_str()).is_relative() && candidate.is_dir() {
            *b = candidate.display().to_string();
        }
    }
    if settings.tick_seconds == 0 {
        return Err(bad("tick_seconds: must be at least 1".into()));
    }
    Ok(FromFile {
        value: settings,
        path: Some(path.to_path_buf()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_wrap_midnight() {
        let r = DailyRange::parse("23:00", "06:30").unwrap();
        let t = |s| TimeOfDay::parse(s).unwrap();
        assert!(r.contains(t("23:00")) && r.contains(t("02:00")) && r.contains(t("06:29")));
        assert!(!r.contains(t("06:30")) && !r.contains(t("12:00")) && !r.contains(t("22:59")));
        let day = DailyRange::parse("01:00", "05:00").unwrap();
        assert!(day.contains(t("01:00")) && !day.contains(t("05:00")) && !day.contains(t("23:30")));
        assert!(DailyRange::parse("04:00", "04:00")
            .unwrap()
            .contains(t("17:13")));
        assert!(DailyRange::parse("22:00", "07:00").unwrap().covers(&r));
        assert!(!day.covers(&r));
        assert!(DailyRange::parse("24:00", "01:00").is_err());
        assert!(DailyRange::parse("7", "01:00").is_err());
    }
}
