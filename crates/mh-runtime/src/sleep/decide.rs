//! One decision: every gate in order, each with its reason, then (maybe) the night's training.
//!
//! Gates, in order (the first that fails ends the decision as `skipped`):
//! 1. `sleep_enabled` — `sleep.json` `enabled`;
//! 2. `adapters_lora` — `sleep.json` `adapters.lora` (the UI's LoRA switch);
//! 3. `pause_all` — `agents.json` `globalSettings.pauseAll`;
//! 4. `quiet_hours` — `agents.json` `globalSettings.quietHours` (when enabled, nothing runs
//!    inside them);
//! 5. `window` — `sleep.json` `window` (wraps midnight; `--force` bypasses);
//! 6. `idle` — at least `minIdleMins` since the person's latest activity ([`super::activity`];
//!    `--force` bypasses);
//! 7. `tonight` — no attempt was made yet this night (`--force` bypasses);
//! 8. `auto_approval` — `auto-approval.json` exists and is `enabled`;
//! 9. `auto_train` — `autoTrain` is not false;
//! 10. `profile_lock` — no other mh-train process holds the profile.
//!
//! From here the night counts as attempted (recorded before anything runs):
//! 11. `new_samples` — the dataset as the run would build it has at least `min_new_samples`
//!     samples newer than the newest registered version's data: dated after its dataset's
//!     `memories_to` day, or on that day but after the version was registered (without
//!     `memories_to`: after the registration); all samples count when no version exists;
//! 12. `dataset_quality` — the auto-approver's score ([`super::approve`]), audited as
//!     `lora_dataset_auto_approve|auto_reject`;
//! 13. the run ([`train_cycle`]): train, eval gate, activation — unless `dryRun`,
//!     `autoEval: false` or `autoActivate: false`, which leave the new version a candidate and
//!     say what would have happened.
//!
//! Audit lines: `sleep_workflow_skipped` (once per gate and night, not every tick),
//! `sleep_workflow_started`, `sleep_workflow_completed`, `sleep_workflow_failed`.

use std::sync::atomic::Ordering;

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, Timelike, Utc};
use mh_lineage::{Lineage, Registry, Version};
use mh_profile::audit::{Category, Level};
use mh_profile::{AuditEvent, LockError, Profile, ProfileError};
use serde::{Deserialize, Serialize};

use super::activity::{last_activity, Activity};
use super::approve::{self, ApprovalScore};
use super::clock::Clock;
use super::config::{DailyRange, SleepConfigs, SleepSettings, TimeOfDay, TrainingPlace};
use super::record::{self, Attempt};
use super::SleepError;
use crate::{RunHooks, RunSummary, RuntimeError, Step};

/// How a decision ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// A gate said no.
    Skipped,
    /// The auto-approver rejected the dataset.
    Rejected,
    /// A version was trained and registered (activated or not: see `run`).
    Trained,
    /// Trained and registered as a candidate only, as `dryRun` asks.
    DryRun,
    /// The run failed; the active version is untouched; retried next night.
    Failed,
    /// Stopped on request (SIGTERM / `sleep-service stop`); the checkpoint is kept.
    Stopped,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Skipped => "skipped",
            Outcome::Rejected => "rejected",
            Outcome::Trained => "trained",
            Outcome::DryRun => "dry_run",
            Outcome::Failed => "failed",
            Outcome::Stopped => "stopped",
        }
    }
}

/// One gate's verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    pub gate: String,
    pub passed: bool,
    pub reason: String,
}

/// What the night's run produced.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CycleResult {
    pub place: String,
    pub run_label: Option<String>,
    pub version: Option<u32>,
    pub activated: bool,
    /// The eval gate's verdict on the new version.
    pub gate_passed: Option<bool>,
    pub gate_reason: Option<String>,
    pub eval_loss: Option<f64>,
    pub active_eval_loss: Option<f64>,
    /// The version active after the night.
    pub active_version: Option<u32>,
    pub error: Option<String>,
}

/// One decision, as persisted in `out/sleep/last-decision.json` and `decisions.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// Local time with offset.
    pub checked_at: String,
    /// When this decision was first made (differs from `checked_at` for folded repeats).
    pub first_checked_at: String,
    /// Repeats of the same skip folded into this record.
    #[serde(default)]
    pub repeats: u32,
    /// The night (`YYYY-MM-DD` of the most recent window start).
    pub night: String,
    pub forced: bool,
    pub outcome: Outcome,
    /// The gate that ended the decision, for `skipped` / `rejected`.
    pub gate: Option<String>,
    /// Why, in one sentence.
    pub reason: String,
    pub checks: Vec<Check>,
    /// Whether this decision counts as the night's attempt.
    pub attempted: bool,
    pub new_samples: Option<usize>,
    pub samples: Option<usize>,
    pub approval: Option<ApprovalScore>,
    pub run: Option<CycleResult>,
    /// The next time the service would consider training, local time.
    pub next_run: Option<String>,
}

/// The night a local time belongs to: the date of the most recent start of `window`.
pub fn night_of(now: &DateTime<FixedOffset>, window: &DailyRange) -> NaiveDate {
    let t = minute_of_day(now);
    let today = now.date_naive();
    if t >= window.start {
        today
    } else {
        today.pred_opt().unwrap_or(today)
    }
}

pub fn minute_of_day(now: &DateTime<FixedOffset>) -> TimeOfDay {
    TimeOfDay(now.hour() * 60 + now.minute())
}

/// The next start of `window` strictly after `now` (same offset).
pub fn next_window_start(
    now: &DateTime<FixedOffset>,
    window: &DailyRange,
) -> DateTime<FixedOffset> {
    let t = minute_of_day(now);
    let day = if t < window.start {
        now.date_naive()
    } else {
        now.date_naive().succ_opt().unwrap_or(now.date_naive())
    };
    let naive = day
        .and_hms_opt(window.start.hour(), window.start.minute(), 0)
        .unwrap_or_else(|| now.naive_local());
    naive
        .and_local_timezone(*now.offset())
        .single()
        .unwrap_or(*now)
}

/// When the service would next consider training, and why then (`None`: a switch is off).
pub fn next_run(
    configs: &SleepConfigs,
    last_attempt: Option<&Attempt>,
    now: &DateTime<FixedOffset>,
) -> (Option<DateTime<FixedOffset>>, String) {
    if !configs.sleep.value.enabled {
        return (None, "not scheduled: sleep.json enabled is false".into());
    }
    if !configs.sleep.value.adapters.lora {
        return (
            None,
            "not scheduled: sleep.json adapters.lora is false".into(),
        );
    }
    if configs.agents.value.pause_all {
        return (None, "not scheduled: agents.json pauseAll is true".into());
    }
    match &configs.approval.value {
        None => {
            return (
                None,
                "not scheduled: no auto-approval.json (create one with {\"enabled\": true, \"dryRun\": false})".into(),
            )
        }
        Some(a) if !a.enabled => {
            return (None, "not scheduled: auto-approval.json enabled is false".into())
        }
        Some(a) if a.auto_train == Some(false) => {
            return (None, "not scheduled: auto-approval.json autoTrain is false".into())
        }
        _ => {}
    }
    let night = night_of(now, &configs.window).to_string();
    let tried = last_attempt.is_some_and(|a| a.night == night);
    let mut note = format!(
        "when idle for {} min and {} new samples are there",
        configs.sleep.value.min_idle_mins, configs.settings.value.min_new_samples
    );
    if let Some(q) = configs.quiet_hours() {
        if q.covers(&configs.window) {
            note = format!(
                "never in practice: agents.json quietHours {q} cover the whole window {}",
                configs.window
            );
        }
    }
    if configs.window.contains(minute_of_day(now)) && !tried {
        (
            Some(*now),
            format!("now (inside the window {}), {note}", configs.window),
        )
    } else {
        (
            Some(next_window_start(now, &configs.window)),
            format!("at the start of the window {}, {note}", configs.window),
        )
    }
}

/// The run of one night: `mh_runtime::run_local` with the configured options, or remote.
/// `activate: false` leaves the new version a candidate. The one place another way of
/// training plugs in.
///
/// `remote`: [`crate::run_remote`] with `run.remote` (the pod settings of `mh-train remote`,
/// defaults when absent) and the RunPod key from `RUNPOD_API_KEY` or the credentials file; a
/// stop request terminates the pod (the remote step's own guard).
pub fn train_cycle(
    profile: &Profile,
    settings: &SleepSettings,
    activate: bool,
    hooks: &RunHooks<'_>,
) -> Result<RunSummary, SleepError> {
    let mut options = settings.run.clone();
    if !activate {
        options.no_activate = true;
    }
    match settings.place {
        TrainingPlace::Local => {
            if options.remote.is_some() {
                return Err(SleepError::Remote(
                    "sleep-service.json: run.remote is set but place is \"local\"; set \"place\": \"remote\" or remove run.remote".into(),
                ));
            }
            Ok(crate::run_local(profile, options, hooks)?)
        }
        TrainingPlace::Remote => {
            let remote = options.remote.take().unwrap_or_default();
            let api = mh_runpod::api::connect_with_saved_key(remote.api, None).map_err(|e| {
                SleepError::Remote(format!("remote training needs a RunPod API key: {e}"))
            })?;
            options.remote = Some(remote);
            Ok(crate::run_remote(profile, options, hooks, api.as_ref())?)
        }
    }
}

/// Decides and acts for one profile; `tick` is one decision.
pub struct SleepService<'a> {
    pub profile: &'a Profile,
    /// The MetaHuman root whose `etc/` and `logs/audit/` also count (see
    /// [`super::config::system_root_of`]).
    pub system_root: Option<std::path::PathBuf>,
    pub clock: &'a dyn Clock,
    /// Progress, messages and the stop flag, passed on to the run.
    pub hooks: &'a RunHooks<'a>,
}

/// The decision being built.
struct Draft {
    d: Decision,
}

impl Draft {
    fn pass(&mut self, gate: &str, reason: impl Into<String>) {
        self.d.checks.push(Check {
            gate: gate.into(),
            passed: true,
            reason: reason.into(),
        });
    }

    fn fail(mut self, gate: &str, reason: impl Into<String>) -> Decision {
        let reason = reason.into();
        self.d.checks.push(Check {
            gate: gate.into(),
            passed: false,
            reason: reason.clone(),
        });
        self.d.outcome = Outcome::Skipped;
        self.d.gate = Some(gate.into());
        self.d.reason = reason;
        self.d
    }
}

fn fmt_local(t: &DateTime<FixedOffset>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn src(path: &Option<std::path::PathBuf>, name: &str) -> String {
    match path {
        Some(p) => p.display().to_string(),
        None => format!("{name} (absent: default)"),
    }
}

impl SleepService<'_> {
    fn say(&self, msg: &str) {
        (self.hooks.on_event)(msg);
    }

    fn audit(&self, ev: AuditEvent) {
        if let Err(e) = self.profile.audit().append(ev) {
            self.say(&format!("warning: could not write the audit log: {e}"));
        }
    }

    /// Decide now and act on it; the decision is persisted and audited before it is returned.
    /// `force` bypasses the window, idle and once-a-night gates (the switches still apply).
    pub fn tick(&self, force: bool) -> Result<Decision, SleepError> {
        let now = self.clock.now();
        let root = self.profile.root();
        let state = record::load_state(root)?;
        let mut draft = Draft {
            d: Decision {
                checked_at: fmt_local(&now),
                first_checked_at: fmt_local(&now),
                repeats: 0,
                night: now.date_naive().to_string(),
                forced: force,
                outcome: Outcome::Skipped,
                gate: None,
                reason: String::new(),
                checks: Vec::new(),
                attempted: false,
                new_samples: None,
                samples: None,
                approval: None,
                run: None,
                next_run: None,
            },
        };
        let configs = match SleepConfigs::load(root, self.system_root.as_deref()) {
            Ok(c) => c,
            Err(e) => {
                let d = draft.fail("config", format!("cannot read the configs: {e}"));
                return self.finish(d);
            }
        };
        draft.d.night = night_of(&now, &configs.window).to_string();
        let (next, _) = next_run(&configs, state.last_attempt.as_ref(), &now);
        draft.d.next_run = next.as_ref().map(fmt_local);
        let d = self.gates(draft, &configs, &state, &now, force);
        let d = match d {
            Gated::Stop(d) => d,
            Gated::Go(draft) => self.attempt(draft, &configs, &now)?,
        };
        // The next run as seen after this decision (an attempt moves it to the next night).
        let state = record::load_state(root)?;
        let mut d = d;
        let (next, _) = next_run(&configs, state.last_attempt.as_ref(), &self.clock.now());
        d.next_run = next.as_ref().map(fmt_local);
        self.finish(d)
    }

    fn gates(
        &self,
        mut g: Draft,
        c: &SleepConfigs,
        state: &record::ServiceState,
        now: &DateTime<FixedOffset>,
        force: bool,
    ) -> Gated {
        let sleep = &c.sleep.value;
        let sleep_src = src(&c.sleep.path, "sleep.json");
        let other = |what: &str| {
            c.switches_from_other_copy
                .iter()
                .find(|s| s.ends_with(what))
                .cloned()
        };
        if !sleep.enabled {
            let from = other(": enabled false")
                .filter(|s| s.contains("sleep.json"))
                .unwrap_or(sleep_src.clone());
            return Gated::Stop(g.fail(
                "sleep_enabled",
                format!("sleep is disabled (enabled: false in {from})"),
            ));
        }
        g.pass("sleep_enabled", format!("enabled ({sleep_src})"));
        if !sleep.adapters.lora {
            let from = other(": adapters.lora false").unwrap_or(sleep_src.clone());
            return Gated::Stop(g.fail(
                "adapters_lora",
                format!("LoRA training is switched off (adapters.lora: false in {from})"),
            ));
        }
        g.pass("adapters_lora", "adapters.lora is true");
        let agents_src = src(&c.agents.path, "agents.json");
        if c.agents.value.pause_all {
            let from = other(": globalSettings.pauseAll true").unwrap_or(agents_src.clone());
            return Gated::Stop(g.fail(
                "pause_all",
                format!("all agents are paused (globalSettings.pauseAll: true in {from})"),
            ));
        }
        g.pass("pause_all", format!("not paused ({agents_src})"));
        let t = minute_of_day(now);
        match c.quiet_hours() {
            Some(q) if q.contains(t) => {
                let mut why = format!(
                    "inside the quiet hours {q} (agents.json globalSettings.quietHours, {agents_src})"
                );
                if q.covers(&c.window) {
                    why.push_str(&format!(
                        "; they cover the whole sleep window {}, so nightly training never runs \
                         until one of them changes",
                        c.window
                    ));
                }
                return Gated::Stop(g.fail("quiet_hours", why));
            }
            Some(q) => g.pass("quiet_hours", format!("outside the quiet hours {q}")),
            None => g.pass("quiet_hours", "quiet hours are off"),
        }
        if force {
            g.pass("window", "bypassed (--force)");
        } else if c.window.contains(t) {
            g.pass("window", format!("{} is inside the window {}", t, c.window));
        } else {
            return Gated::Stop(g.fail(
                "window",
                format!(
                    "{} is outside the sleep window {} ({sleep_src})",
                    t, c.window
                ),
            ));
        }
        if force {
            g.pass("idle", "bypassed (--force)");
        } else {
            let min = i64::from(sleep.min_idle_mins);
            match last_activity(self.profile.root(), self.system_root.as_deref()) {
                None => g.pass("idle", "no activity recorded"),
                Some(Activity { at, source }) => {
                    let idle = now.with_timezone(&Utc) - at;
                    let idle_min = idle.num_minutes().max(0);
                    if idle < Duration::minutes(min) {
                        return Gated::Stop(g.fail(
                            "idle",
                            format!(
                                "the person is active: last activity {idle_min} min ago ({}), \
                                 minIdleMins is {min}",
                                source.display()
                            ),
                        ));
                    }
                    g.pass(
                        "idle",
                        format!("idle for {idle_min} min (minIdleMins {min})"),
                    );
                }
            }
        }
        let night = g.d.night.clone();
        match &state.last_attempt {
            Some(a) if a.night == night && !force => {
                let what = if a.outcome == "started" {
                    "started and never finished (the process ended during it)".to_string()
                } else {
                    format!("{}: {}", a.outcome, a.reason)
                };
                return Gated::Stop(g.fail(
                    "tonight",
                    format!("already attempted tonight (night of {night}, {}): {what}; the next attempt is next night", a.started_at),
                ));
            }
            _ if force => g.pass("tonight", "bypassed (--force)"),
            _ => g.pass(
                "tonight",
                format!("no attempt yet for the night of {night}"),
            ),
        }
        let approval_src = src(&c.approval.path, "auto-approval.json");
        let Some(a) = &c.approval.value else {
            return Gated::Stop(g.fail(
                "auto_approval",
                format!(
                    "no auto-approval.json: nightly training is off until you create {} with \
                     {{\"enabled\": true, \"dryRun\": false}} (dryRun true trains without \
                     activating)",
                    SleepConfigs::approval_hint(self.profile.root())
                ),
            ));
        };
        if !a.enabled {
            let from = other(": enabled false")
                .filter(|s| s.contains("auto-approval.json"))
                .unwrap_or(approval_src.clone());
            return Gated::Stop(g.fail(
                "auto_approval",
                format!("auto-approval is disabled (enabled: false in {from})"),
            ));
        }
        g.pass(
            "auto_approval",
            format!("enabled, dryRun {} ({approval_src})", a.dry_run),
        );
        if a.auto_train == Some(false) {
            return Gated::Stop(
                g.fail("auto_train", format!("autoTrain is false ({approval_src})")),
            );
        }
        g.pass("auto_train", "autoTrain is not false");
        if self.profile.readonly() {
            return Gated::Stop(g.fail(
                "profile_lock",
                "the profile is read-only (custom storage unavailable)",
            ));
        }
        match self.profile.lock("sleep-service check") {
            Ok(lock) => drop(lock),
            Err(ProfileError::Lock(e @ LockError::Held { .. })) => {
                return Gated::Stop(g.fail("profile_lock", format!("busy: {e}")))
            }
            Err(e) => return Gated::Stop(g.fail("profile_lock", e.to_string())),
        }
        g.pass(
            "profile_lock",
            "no other mh-train process holds the profile",
        );
        Gated::Go(g)
    }

    /// Gates 11–13. The night is recorded as attempted before anything runs.
    fn attempt(
        &self,
        mut g: Draft,
        c: &SleepConfigs,
        now: &DateTime<FixedOffset>,
    ) -> Result<Decision, SleepError> {
        let root = self.profile.root();
        let settings = &c.settings.value;
        let mut state = record::load_state(root)?;
        let previous = state.clone();
        state.last_attempt = Some(Attempt {
            night: g.d.night.clone(),
            started_at: fmt_local(now),
            outcome: "started".into(),
            reason: String::new(),
            run_label: None,
        });
        record::save_state(root, &state)?;
        g.d.attempted = true;

        // 11. New samples since the newest registered version.
        let lineage = Lineage::new(self.profile);
        let reg = match lineage.load() {
            Ok(r) => r,
            Err(e) => return Ok(self.failed(g, format!("reading the model registry: {e}"), None)),
        };
        let built = match build_dataset(self.profile, settings, self.hooks) {
            Ok(b) => b,
            Err(e) => return Ok(self.failed(g, format!("building the dataset: {e}"), None)),
        };
        let total = built.train.len() + built.eval.len();
        let (new, since) = count_new(&built, &reg);
        g.d.samples = Some(total);
        g.d.new_samples = Some(new);
        let min = settings.min_new_samples;
        let settings_src = src(&c.settings.path, "sleep-service.json");
        if new < min {
            let d = g.fail(
                "new_samples",
                format!(
                    "{new} new usable samples {since}, fewer than min_new_samples {min} ({settings_src})"
                ),
            );
            return Ok(d);
        }
        g.pass(
            "new_samples",
            format!("{new} new usable samples {since} (of {total}; min_new_samples {min})"),
        );

        // 12. The auto-approver.
        let Some(a) = &c.approval.value else {
            return Err(SleepError::Config {
                path: root.join("etc/auto-approval.json"),
                reason: "disappeared during the decision".into(),
            });
        };
        let score = approve::score(&built, &a.thresholds);
        let dataset = format!("night {} ({} samples)", g.d.night, total);
        self.audit(
            AuditEvent::new(
                Category::Decision,
                format!("lora_dataset_auto_{}", score.decision()),
            )
            .level(if score.approved {
                Level::Info
            } else {
                Level::Warn
            })
            .detail("dataset", dataset)
            .detail("decision", score.decision())
            .detail("score", score.score)
            .detail("reasons", score.reasons.clone())
            .detail("dryRun", a.dry_run)
            .detail("pairCount", score.pairs)
            .detail("newSamples", new),
        );
        g.d.approval = Some(score.clone());
        if !score.approved {
            let mut d = g.fail(
                "dataset_quality",
                format!(
                    "the auto-approver rejected the dataset: score {} < {} ({})",
                    score.score,
                    approve::APPROVE_SCORE,
                    score.reasons.join("; ")
                ),
            );
            d.outcome = Outcome::Rejected;
            return Ok(d);
        }
        g.pass(
            "dataset_quality",
            format!(
                "the auto-approver approved the dataset: score {} >= {}",
                score.score,
                approve::APPROVE_SCORE
            ),
        );

        // 13. The run.
        let hold = if a.dry_run {
            Some("dryRun is true")
        } else if a.auto_eval == Some(false) {
            Some("autoEval is false (no activation without the eval gate)")
        } else if a.auto_activate == Some(false) {
            Some("autoActivate is false")
        } else {
            None
        };
        let active_before = reg.active().map(|v| v.version);
        self.audit(
            AuditEvent::new(Category::Agent, "sleep_workflow_started")
                .detail("night", g.d.night.clone())
                .detail("forced", g.d.forced)
                .detail("place", settings.place.as_str())
                .detail("newSamples", new)
                .detail("dryRun", a.dry_run)
                .detail("activate", hold.is_none())
                .detail("activeVersion", active_before),
        );
        self.say(&format!(
            "sleep: training tonight ({new} new samples, {}{})",
            settings.place.as_str(),
            hold.map_or(String::new(), |h| format!("; {h}: no activation"))
        ));
        let result = train_cycle(self.profile, settings, hold.is_none(), self.hooks);
        let active_after = Lineage::new(self.profile)
            .load()
            .ok()
            .and_then(|r| r.active().map(|v| v.version));
        match result {
            Ok(s) => {
                let mut cr = cycle_result(&s, settings.place);
                cr.active_version = active_after;
                let v = s.version.map_or("?".into(), |v| v.to_string());
                let gate = s.gate_reason.clone().unwrap_or_default();
                let (outcome, reason) = match hold {
                    None if s.activated => (
                        Outcome::Trained,
                        format!(
                            "trained version {v} (run {}) and activated it: {gate}",
                            s.run_label
                        ),
                    ),
                    None => (
                        Outcome::Trained,
                        format!(
                            "trained version {v} (run {}); not activated: {gate}; {} stays active",
                            s.run_label,
                            active_after
                                .map_or("the base model".into(), |a| format!("version {a}"))
                        ),
                    ),
                    Some(h) => {
                        let would = match cr.gate_passed {
                            Some(true) => format!("it would have been activated: {gate}"),
                            Some(false) => format!("it would not have been activated: {gate}"),
                            None => "the eval gate gave no verdict".to_string(),
                        };
                        (
                            if a.dry_run { Outcome::DryRun } else { Outcome::Trained },
                            format!(
                                "{h}: trained version {v} (run {}) and left it a candidate; {would}",
                                s.run_label
                            ),
                        )
                    }
                };
                g.d.outcome = outcome;
                g.d.reason = reason.clone();
                g.d.run = Some(cr.clone());
                self.audit(
                    AuditEvent::new(Category::Agent, "sleep_workflow_completed")
                        .message(reason)
                        .detail("night", g.d.night.clone())
                        .detail("outcome", outcome.as_str())
                        .detail("runLabel", s.run_label.clone())
                        .detail("version", s.version)
                        .detail("activated", s.activated)
                        .detail("gatePassed", cr.gate_passed)
                        .detail("activeVersion", active_after),
                );
                self.note_attempt(&g.d, Some(s.run_label))?;
                Ok(g.d)
            }
            Err(SleepError::Runtime(RuntimeError::Profile(ProfileError::Lock(
                e @ LockError::Held { .. },
            )))) => {
                // Another mh-train process took the profile since the lock gate: not an
                // attempt; the next tick decides again.
                record::save_state(root, &previous)?;
                let mut d = g.fail("profile_lock", format!("busy: {e}"));
                d.attempted = false;
                Ok(d)
            }
            Err(e) => {
                let run_label = match &e {
                    SleepError::Runtime(RuntimeError::Step { run_label, .. })
                    | SleepError::Runtime(RuntimeError::Stopped { run_label, .. }) => {
                        Some(run_label.clone())
                    }
                    _ => None,
                };
                let stopped = self.hooks.stop.load(Ordering::SeqCst)
                    || matches!(e, SleepError::Runtime(RuntimeError::Stopped { .. }));
                let msg = error_chain(&e);
                let mut cr = CycleResult {
                    place: settings.place.as_str().into(),
                    run_label: run_label.clone(),
                    error: Some(msg.clone()),
                    active_version: active_after,
                    ..CycleResult::default()
                };
                // The step that failed leads the error.
                if let Some(step) = match &e {
                    SleepError::Runtime(e) => e.step(),
                    _ => None,
                } {
                    cr.error = Some(format!("{step}: {msg}"));
                }
                g.d.run = Some(cr);
                if stopped {
                    g.d.outcome = Outcome::Stopped;
                    g.d.reason = format!(
                        "stopped on request: {msg}; the active version is unchanged{}",
                        run_label.as_ref().map_or(String::new(), |l| format!(
                            " (continue by hand with `mh-train resume {l}`)"
                        ))
                    );
                    self.audit(
                        AuditEvent::new(Category::Agent, "sleep_workflow_failed")
                            .level(Level::Warn)
                            .message(g.d.reason.clone())
                            .detail("night", g.d.night.clone())
                            .detail("stopped", true)
                            .detail("runLabel", run_label.clone()),
                    );
                    self.note_attempt(&g.d, run_label)?;
                    Ok(g.d)
                } else {
                    Ok(self.failed(g, msg, run_label))
                }
            }
        }
    }

    /// A failed attempt: audited, recorded; the next attempt is next night.
    fn failed(&self, mut g: Draft, msg: String, run_label: Option<String>) -> Decision {
        g.d.outcome = Outcome::Failed;
        g.d.reason = format!(
            "failed: {msg}; the active version is unchanged, the next attempt is next night"
        );
        self.audit(
            AuditEvent::new(Category::Agent, "sleep_workflow_failed")
                .level(Level::Error)
                .message(g.d.reason.clone())
                .detail("night", g.d.night.clone())
                .detail("error", msg)
                .detail("runLabel", run_label.clone()),
        );
        if let Err(e) = self.note_attempt(&g.d, run_label) {
            self.say(&format!("warning: {e}"));
        }
        g.d
    }

    fn note_attempt(&self, d: &Decision, run_label: Option<String>) -> Result<(), SleepError> {
        let root = self.profile.root();
        let mut state = record::load_state(root)?;
        let started_at = state
            .last_attempt
            .as_ref()
            .filter(|a| a.night == d.night)
            .map(|a| a.started_at.clone())
            .unwrap_or_else(|| d.checked_at.clone());
        state.last_attempt = Some(Attempt {
            night: d.night.clone(),
            started_at,
            outcome: d.outcome.as_str().into(),
            reason: d.reason.clone(),
            run_label,
        });
        record::save_state(root, &state)
    }

    /// Persist, audit (skips once per gate and night) and report the decision.
    fn finish(&self, mut d: Decision) -> Result<Decision, SleepError> {
        if d.attempted && matches!(d.outcome, Outcome::Skipped | Outcome::Rejected) {
            self.note_attempt(&d, None)?;
        }
        let repeat = record::save_decision(self.profile.root(), &mut d)?;
        if matches!(d.outcome, Outcome::Skipped | Outcome::Rejected) && !repeat {
            self.audit(
                AuditEvent::new(Category::Agent, "sleep_workflow_skipped")
                    .message(d.reason.clone())
                    .detail("night", d.night.clone())
                    .detail("gate", d.gate.clone())
                    .detail("reason", d.reason.clone())
                    .detail("forced", d.forced),
            );
        }
        if !repeat {
            self.say(&format!("sleep: {}: {}", d.outcome.as_str(), d.reason));
        }
        Ok(d)
    }
}

enum Gated {
    Stop(Decision),
    Go(Draft),
}

fn build_dataset(
    profile: &Profile,
    settings: &SleepSettings,
    hooks: &RunHooks<'_>,
) -> Result<mh_dataset::Built, String> {
    let (mut cfg, req) =
        mh_dataset::config::load(profile.root(), settings.run.dataset_config.as_deref())
            .map_err(|e| e.to_string())?;
    if let Some(s) = settings.run.seed {
        cfg.seed = s;
    }
    mh_dataset::build(profile, &cfg, &req, hooks.progress).map_err(|e| e.to_string())
}

/// The version new data is measured against: the newest one registered (active, or a candidate
/// the gate refused — so a refused dataset is not trained again every night).
fn reference(reg: &Registry) -> Option<&Version> {
    reg.training_history
        .iter()
        .filter(|v| v.training_success)
        .max_by_key(|v| v.version)
}

/// Samples newer than the reference version's data, and a phrase saying since when.
fn count_new(built: &mh_dataset::Built, reg: &Registry) -> (usize, String) {
    let samples = built.train.iter().chain(&built.eval);
    let Some(v) = reference(reg) else {
        return (
            samples.count(),
            "(no version registered yet: every sample is new)".into(),
        );
    };
    let to = v
        .dataset
        .as_ref()
        .and_then(|d| d.memories_to.as_deref())
        .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok());
    let registered = [v.created_at.as_str(), v.timestamp.as_str()]
        .iter()
        .find_map(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc));
    if to.is_none() && registered.is_none() {
        return (
            samples.count(),
            format!(
                "(version {} records neither its data's dates nor its registration time: every sample counts)",
                v.version
            ),
        );
    }
    let n = samples
        .filter(|s| {
            s.timestamp.is_some_and(|t| match (to, registered) {
                // After the last day of its data, or on that day but after it was registered.
                // (Data dated after its registration — a clock ahead — is only new after
                // its last day.)
                (Some(d), r) => {
                    t.date_naive() > d
                        || (t.date_naive() == d && r.is_some_and(|r| r.date_naive() >= d && t > r))
                }
                (None, Some(r)) => t > r,
                (None, None) => true,
            })
        })
        .count();
    let mut since = format!("since version {}", v.version);
    if let Some(d) = to {
        since.push_str(&format!(" (its data ends {d}"));
        if let Some(r) = registered {
            since.push_str(&format!(", registered {}", r.format("%Y-%m-%d %H:%M UTC")));
        }
        since.push(')');
    } else if let Some(r) = registered {
        since.push_str(&format!(" (registered {})", r.format("%Y-%m-%d %H:%M UTC")));
    }
    (n, since)
}

fn cycle_result(s: &RunSummary, place: TrainingPlace) -> CycleResult {
    let gate_passed = s
        .steps
        .iter()
        .find(|st| st.name == Step::Eval)
        .and_then(|st| st.outputs.get("gate_passed"))
        .and_then(serde_json::Value::as_bool);
    CycleResult {
        place: place.as_str().into(),
        run_label: Some(s.run_label.clone()),
        version: s.version,
        activated: s.activated,
        gate_passed,
        gate_reason: s.gate_reason.clone(),
        eval_loss: s.eval_loss,
        active_eval_loss: s.active_eval_loss,
        active_version: None,
        error: s.error.clone(),
    }
}

/// `Display` of an error and its causes, each once.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(s) = cur {
        let t = s.to_string();
        if !parts.iter().any(|p| p.contains(&t)) {
            parts.push(t);
        }
        cur = s.source();
    }
    parts.join(": ")
}
