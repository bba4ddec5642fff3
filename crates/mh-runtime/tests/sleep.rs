//! The nightly sleep service on simulated nights (a fake clock), against copies of the demo
//! profile with the tiny model: skips and their reasons, switches flipped between ticks, the
//! new-data gate, a worse adapter refused, a better one activated, a failed night not retried
//! in a loop, dry run, stop. Each checks the decision, the audit trail and the registry.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::OnceLock;
use std::time::Duration;

use chrono::{DateTime, FixedOffset, Utc};
use mh_lineage::{Lineage, Status};
use mh_profile::{NoProgress, Profile};
use mh_runtime::sleep::{self, Clock, Decision, FakeClock, Outcome, SleepService, TrainingPlace};
use mh_runtime::RunHooks;
use serde_json::{json, Value};

mod common;

struct Fixture {
    _dir: tempfile::TempDir,
    model: PathBuf,
    good: PathBuf,
    worse: PathBuf,
}

/// The tiny model and two training configs: one that learns, one that learns nothing.
fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let model = common::tiny_model(dir.path());
        let good = common::train_config(
            dir.path(),
            "good.json",
            r#"{"learning_rate": 5e-3, "max_steps": 6, "micro_batch_size": 2,
                "gradient_accumulation_steps": 2, "warmup_ratio": 0, "eval_every": 0,
                "save_every": 0, "seed": 11, "gguf_quant": "Q8_0"}"#,
        );
        let worse = common::train_config(dir.path(), "worse.json", common::LEARNS_NOTHING);
        Fixture {
            _dir: dir,
            model,
            good,
            worse,
        }
    })
}

fn profile_copy() -> (tempfile::TempDir, Profile) {
    let (dir, profile) = common::profile_copy();
    // The demo keeps the seed's dryRun default; these nights are live unless a test says not.
    set_json(
        &profile.root().join("etc/auto-approval.json"),
        "/dryRun",
        json!(false),
    );
    (dir, profile)
}

/// Write `<profile>/etc/sleep-service.json` for the tiny model with `config`.
fn settings(root: &Path, config: &Path, min_new: usize, base: Option<&Path>) {
    let f = fixture();
    let s = json!({
        "min_new_samples": min_new,
        "place": "local",
        "tick_seconds": 900,
        "run": {
            "base_model": base.unwrap_or(&f.model).display().to_string(),
            "config_files": [config.display().to_string()],
            "max_seq_length": 256,
            "device": "cpu",
            "skip_ollama": true
        }
    });
    std::fs::write(
        root.join("etc/sleep-service.json"),
        serde_json::to_vec_pretty(&s).unwrap(),
    )
    .unwrap();
}

/// Set the JSON pointer `ptr` in the file to `v`, keeping every other key.
fn set_json(path: &Path, ptr: &str, v: Value) {
    let mut doc: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    *doc.pointer_mut(ptr).unwrap() = v;
    std::fs::write(path, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
}

/// `n` new conversation memories on `day` (UTC), from 12:00, a second apart.
fn add_memories(root: &Path, day: &str, n: usize, tag: &str) {
    let start: DateTime<Utc> = format!("{day}T12:00:00.000Z").parse().unwrap();
    mh_testkit::add_conversations(root, start, chrono::Duration::seconds(1), n, tag).unwrap();
}

fn t(s: &str) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(s).unwrap()
}

struct Bed {
    clock: FakeClock,
    stop: AtomicBool,
    messages: std::sync::Mutex<Vec<String>>,
}

impl Bed {
    fn new(at: &str) -> Self {
        Bed {
            clock: FakeClock::new(t(at)),
            stop: AtomicBool::new(false),
            messages: std::sync::Mutex::new(Vec::new()),
        }
    }

    fn tick(&self, profile: &Profile, force: bool) -> Decision {
        let on_event = |m: &str| self.messages.lock().unwrap().push(m.to_string());
        let hooks = RunHooks {
            progress: &NoProgress,
            on_event: &on_event,
            stop: &self.stop,
            stop_before: None,
        };
        let service = SleepService {
            profile,
            system_root: None,
            clock: &self.clock,
            hooks: &hooks,
        };
        service.tick(force).unwrap()
    }
}

/// (event, details) of every audit line, in order.
fn audit(root: &Path) -> Vec<(String, Value)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root.join("logs/audit"))
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        for line in std::fs::read_to_string(f).unwrap().lines() {
            let v: Value = serde_json::from_str(line).unwrap();
            out.push((
                v["event"].as_str().unwrap_or("").to_string(),
                v["details"].clone(),
            ));
        }
    }
    out
}

fn sleep_events(root: &Path) -> Vec<String> {
    audit(root)
        .into_iter()
        .filter(|(e, _)| e.starts_with("sleep_workflow_") || e.starts_with("lora_dataset_auto_"))
        .map(|(e, d)| match d["gate"].as_str() {
            Some(g) => format!("{e}:{g}"),
            None => e,
        })
        .collect()
}

fn active(profile: &Profile) -> Option<u32> {
    Lineage::new(profile)
        .load()
        .unwrap()
        .active()
        .map(|v| v.version)
}

fn decisions_lines(root: &Path) -> usize {
    std::fs::read_to_string(root.join("out/sleep/decisions.jsonl"))
        .map(|s| s.lines().count())
        .unwrap_or(0)
}

fn runs(root: &Path) -> usize {
    std::fs::read_dir(root.join("out/runs"))
        .map(|d| d.count())
        .unwrap_or(0)
}

#[test]
fn outside_the_window_and_busy_are_skipped_with_reasons_and_repeats_fold() {
    let (_d, profile) = profile_copy();
    let root = profile.root().to_path_buf();
    settings(&root, &fixture().good, 1, None);
    // 14:00 in Chicago: outside the demo's 23:00–06:30 window.
    let bed = Bed::new("2027-01-10T14:00:00-06:00");
    let d = bed.tick(&profile, false);
    assert_eq!(d.outcome, Outcome::Skipped);
    assert_eq!(d.gate.as_deref(), Some("window"));
    assert!(
        d.reason
            .contains("14:00 is outside the sleep window 23:00–06:30"),
        "{}",
        d.reason
    );
    assert!(!d.attempted);
    // The gates before it passed, each with its reason.
    let passed: Vec<&str> = d
        .checks
        .iter()
        .filter(|c| c.passed)
        .map(|c| c.gate.as_str())
        .collect();
    assert_eq!(
        passed,
        ["sleep_enabled", "adapters_lora", "pause_all", "quiet_hours"]
    );
    assert_eq!(d.next_run.as_deref(), Some("2027-01-10T23:00:00-06:00"));
    let saved: Decision =
        serde_json::from_slice(&std::fs::read(root.join("out/sleep/last-decision.json")).unwrap())
            .unwrap();
    assert_eq!(saved, d);

    // The same skip a tick later: folded, not audited again.
    bed.clock.advance(Duration::from_secs(900));
    let d2 = bed.tick(&profile, false);
    assert_eq!(d2.gate.as_deref(), Some("window"));
    assert_eq!(d2.repeats, 1);
    assert_eq!(d2.first_checked_at, d.checked_at);
    assert_eq!(decisions_lines(&root), 1);
    assert_eq!(sleep_events(&root), ["sleep_workflow_skipped:window"]);

    // Inside the window, but the person wrote a memory 5 minutes ago.
    bed.clock.set(t("2027-01-10T23:30:00-06:00"));
    add_recent_memory(&root, t("2027-01-10T23:25:00-06:00"));
    let d = bed.tick(&profile, false);
    assert_eq!(d.gate.as_deref(), Some("idle"));
    assert!(d.reason.contains("last activity 5 min ago"), "{}", d.reason);
    assert!(d.reason.contains("minIdleMins is 15"), "{}", d.reason);
    // A foreign audit line (MetaHuman OS's own) is activity too; ours are not.
    bed.clock.set(t("2027-01-11T00:30:00-06:00"));
    let line = json!({"timestamp": "2027-01-11T06:20:00.000Z", "level": "info",
        "category": "action", "event": "chat_message", "actor": "nell"});
    std::fs::write(
        root.join("logs/audit/2027-01-11.ndjson"),
        format!("{line}\n"),
    )
    .unwrap();
    let d = bed.tick(&profile, false);
    assert_eq!(d.gate.as_deref(), Some("idle"));
    assert!(d.reason.contains("10 min ago"), "{}", d.reason);
    assert!(d.reason.contains("2027-01-11.ndjson"), "{}", d.reason);
    assert_eq!(
        sleep_events(&root),
        [
            "sleep_workflow_skipped:window",
            "sleep_workflow_skipped:idle"
        ]
    );
    assert!(Lineage::new(&profile)
        .load()
        .unwrap()
        .training_history
        .is_empty());
    assert_eq!(runs(&root), 0);
}

/// One memory written by the person at `at` (its file's modification time).
fn add_recent_memory(root: &Path, at: DateTime<FixedOffset>) {
    let day = at.with_timezone(&Utc).format("%Y-%m-%d").to_string();
    let before = walk(&root.join("memory/episodic"));
    add_memories(root, &day, 1, &format!("recent{}", at.timestamp()));
    for e in walk(&root.join("memory/episodic")) {
        if !before.contains(&e) {
            std::fs::File::options()
                .write(true)
                .open(&e)
                .unwrap()
                .set_modified(std::time::SystemTime::from(at))
                .unwrap();
        }
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// A clock whose every sleep also flips a switch, as a person would between two ticks.
struct FlipClock {
    inner: FakeClock,
    flips: std::sync::Mutex<Vec<Box<dyn FnOnce() + Send>>>,
}

impl Clock for FlipClock {
    fn now(&self) -> DateTime<FixedOffset> {
        self.inner.now()
    }

    fn sleep(&self, d: Duration, stop: &AtomicBool) {
        self.inner.sleep(d, stop);
        let mut flips = self.flips.lock().unwrap();
        if !flips.is_empty() {
            (flips.remove(0))();
        }
    }
}

#[test]
fn switches_flipped_between_ticks_stop_the_next_tick_without_a_restart() {
    let (_d, profile) = profile_copy();
    let root = profile.root().to_path_buf();
    // Too many new samples wanted: a tick that passes every switch trains nothing.
    settings(&root, &fixture().good, 100_000, None);
    // Busy at the first tick (23:30); idle from the second on (ticks are 20 min apart).
    add_recent_memory(&root, t("2027-01-10T23:25:00-06:00"));
    let etc = root.join("etc");
    let (e1, e2, e3, e4, e5, e6) = (
        etc.clone(),
        etc.clone(),
        etc.clone(),
        etc.clone(),
        etc.clone(),
        etc.clone(),
    );
    let flips: Vec<Box<dyn FnOnce() + Send>> = vec![
        Box::new(move || set_json(&e1.join("sleep.json"), "/adapters/lora", json!(false))),
        Box::new(move || {
            set_json(&e2.join("sleep.json"), "/adapters/lora", json!(true));
            set_json(
                &e2.join("agents.json"),
                "/globalSettings/pauseAll",
                json!(true),
            );
        }),
        Box::new(move || {
            set_json(
                &e3.join("agents.json"),
                "/globalSettings/pauseAll",
                json!(false),
            );
            set_json(&e3.join("auto-approval.json"), "/enabled", json!(false));
        }),
        Box::new(move || std::fs::remove_file(e4.join("auto-approval.json")).unwrap()),
        Box::new(move || {
            std::fs::write(
                e5.join("auto-approval.json"),
                r#"{"enabled": true, "dryRun": false, "futureKey": 1}"#,
            )
            .unwrap();
            set_json(
                &e5.join("agents.json"),
                "/globalSettings/quietHours/enabled",
                json!(true),
            );
        }),
        Box::new(move || {
            set_json(
                &e6.join("agents.json"),
                "/globalSettings/quietHours/enabled",
                json!(false),
            )
        }),
    ];
    let clock = FlipClock {
        inner: FakeClock::new(t("2027-01-10T23:30:00-06:00")),
        flips: std::sync::Mutex::new(flips),
    };
    let stop = AtomicBool::new(false);
    let hooks = RunHooks {
        progress: &NoProgress,
        on_event: &|_| {},
        stop: &stop,
        stop_before: None,
    };
    let service = SleepService {
        profile: &profile,
        system_root: None,
        clock: &clock,
        hooks: &hooks,
    };
    // tick 1: busy; ticks 2–6: one switch off each; tick 7: all on again → the data gate.
    let ticks = service.run(Some(7), Some(Duration::from_secs(1200)));
    assert_eq!(ticks, 7);
    let lines: Vec<Decision> = std::fs::read_to_string(root.join("out/sleep/decisions.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let gates: Vec<&str> = lines.iter().map(|d| d.gate.as_deref().unwrap()).collect();
    assert_eq!(
        gates,
        [
            "idle",
            "adapters_lora",
            "pause_all",
            "auto_approval",
            "auto_approval",
            "quiet_hours",
            "new_samples"
        ]
    );
    assert!(lines[6].attempted && !lines[0].attempted);
    assert!(
        lines[1].reason.contains("adapters.lora: false"),
        "{}",
        lines[1].reason
    );
    assert!(
        lines[2].reason.contains("pauseAll: true"),
        "{}",
        lines[2].reason
    );
    assert!(
        lines[3].reason.contains("enabled: false"),
        "{}",
        lines[3].reason
    );
    assert!(
        lines[4].reason.contains("no auto-approval.json")
            && lines[4].reason.contains("\"dryRun\": false"),
        "{}",
        lines[4].reason
    );
    // The demo's quiet hours 22:00–07:00 cover its whole sleep window: said so.
    assert!(
        lines[5].reason.contains("cover the whole sleep window"),
        "{}",
        lines[5].reason
    );
    // The clock moved 20 minutes per tick.
    assert_eq!(lines[6].checked_at, "2027-01-11T01:30:00-06:00");
    assert_eq!(
        sleep_events(&root),
        [
            "sleep_workflow_skipped:idle",
            "sleep_workflow_skipped:adapters_lora",
            "sleep_workflow_skipped:pause_all",
            "sleep_workflow_skipped:auto_approval",
            "sleep_workflow_skipped:auto_approval",
            "sleep_workflow_skipped:quiet_hours",
            "sleep_workflow_skipped:new_samples"
        ]
    );
    // The file we were given back keeps its unknown key: the service never rewrites configs.
    let a = std::fs::read_to_string(etc.join("auto-approval.json")).unwrap();
    assert!(a.contains("futureKey"));
    assert_eq!(runs(&root), 0);
    // Tonight was attempted: the next run is tomorrow's window.
    let st = sleep::status(&root, None, &clock);
    assert_eq!(st.next_run.as_deref(), Some("2027-01-11T23:00:00-06:00"));
    assert!(
        st.lines()[0].contains("last decision skipped"),
        "{:?}",
        st.lines()
    );
}

#[test]
fn system_copy_switches_and_settings_errors_are_honoured() {
    // ROOT/profiles/nell with ROOT/etc/auto-approval.json switched off by the seed's UI.
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("profiles/nell");
    mh_testkit::copy_dir(&mh_testkit::demo_profile(), &root).unwrap();
    std::fs::create_dir_all(dir.path().join("etc")).unwrap();
    std::fs::write(
        dir.path().join("etc/auto-approval.json"),
        r#"{"enabled": false, "dryRun": false}"#,
    )
    .unwrap();
    let profile = Profile::at(&root);
    let system_root = sleep::system_root_of(&root).unwrap();
    assert_eq!(
        std::fs::canonicalize(&system_root).unwrap(),
        std::fs::canonicalize(dir.path()).unwrap()
    );
    let clock = FakeClock::new(t("2027-01-10T23:30:00-06:00"));
    let stop = AtomicBool::new(false);
    let hooks = RunHooks {
        progress: &NoProgress,
        on_event: &|_| {},
        stop: &stop,
        stop_before: None,
    };
    let service = SleepService {
        profile: &profile,
        system_root: Some(system_root.clone()),
        clock: &clock,
        hooks: &hooks,
    };
    let d = service.tick(false).unwrap();
    assert_eq!(d.gate.as_deref(), Some("auto_approval"));
    assert!(
        d.reason
            .contains(&*system_root.join("etc/auto-approval.json").to_string_lossy()),
        "{}",
        d.reason
    );
    // A misspelt setting of ours is a config error, not a silent default.
    std::fs::remove_file(dir.path().join("etc/auto-approval.json")).unwrap();
    std::fs::write(
        root.join("etc/sleep-service.json"),
        r#"{"min_new_sampels": 3}"#,
    )
    .unwrap();
    let d = service.tick(false).unwrap();
    assert_eq!(d.gate.as_deref(), Some("config"));
    assert!(d.reason.contains("min_new_sampels"), "{}", d.reason);
    std::fs::write(
        root.join("etc/sleep-service.json"),
        r#"{"run": {"basemodel": "x"}}"#,
    )
    .unwrap();
    let d = service.tick(false).unwrap();
    assert!(d.reason.contains("run.basemodel"), "{}", d.reason);
    // Legacy sleepHour/wakeHour make the window.
    std::fs::remove_file(root.join("etc/sleep-service.json")).unwrap();
    std::fs::write(
        root.join("etc/sleep.json"),
        r#"{"sleepHour": 1, "wakeHour": 5}"#,
    )
    .unwrap();
    let d = service.tick(false).unwrap();
    assert!(
        d.reason.contains("outside the sleep window 01:00–05:00"),
        "{}",
        d.reason
    );
    assert_eq!(d.night, "2027-01-10");
}

#[test]
fn not_enough_new_samples_is_audited_once_and_the_night_is_not_retried() {
    let (_d, profile) = profile_copy();
    let root = profile.root().to_path_buf();
    settings(&root, &fixture().good, 1000, None);
    let bed = Bed::new("2027-01-10T23:30:00-06:00");
    // Another mh-train process holds the profile: not an attempt, the next tick decides again.
    let held = profile.lock("mh-train local").unwrap();
    let d = bed.tick(&profile, false);
    assert_eq!(d.gate.as_deref(), Some("profile_lock"));
    assert!(d.reason.contains("mh-train local"), "{}", d.reason);
    assert!(!d.attempted);
    drop(held);
    let d = bed.tick(&profile, false);
    assert_eq!(d.outcome, Outcome::Skipped);
    assert_eq!(d.gate.as_deref(), Some("new_samples"));
    assert!(d.attempted);
    let total = d.samples.unwrap();
    assert_eq!(d.new_samples, Some(total));
    assert!(total > 200, "{total}");
    assert!(
        d.reason.contains("no version registered yet") && d.reason.contains("min_new_samples 1000"),
        "{}",
        d.reason
    );
    // 02:00 the same night: not measured again.
    bed.clock.set(t("2027-01-11T02:00:00-06:00"));
    let d = bed.tick(&profile, false);
    assert_eq!(d.gate.as_deref(), Some("tonight"));
    assert!(d.reason.contains("night of 2027-01-10"), "{}", d.reason);
    assert!(d.reason.contains("skipped: "), "{}", d.reason);
    // The next night measures again.
    bed.clock.set(t("2027-01-11T23:10:00-06:00"));
    let d = bed.tick(&profile, false);
    assert_eq!(d.gate.as_deref(), Some("new_samples"));
    assert_eq!(d.night, "2027-01-11");
    assert_eq!(
        sleep_events(&root),
        [
            "sleep_workflow_skipped:profile_lock",
            "sleep_workflow_skipped:new_samples",
            "sleep_workflow_skipped:tonight",
            "sleep_workflow_skipped:new_samples"
        ]
    );
    assert_eq!(runs(&root), 0);
}

#[test]
fn nights_activate_a_better_version_and_refuse_a_worse_one() {
    let f = fixture();
    let (_d, profile) = profile_copy();
    let root = profile.root().to_path_buf();

    // Night 1: nothing registered, every sample is new; a version that learned nothing is
    // still better than no version at all.
    settings(&root, &f.worse, 20, None);
    let bed = Bed::new("2027-01-10T23:30:00-06:00");
    let d = bed.tick(&profile, false);
    assert_eq!(d.outcome, Outcome::Trained, "{}", d.reason);
    let run = d.run.clone().unwrap();
    assert_eq!(
        (run.version, run.activated, run.active_version),
        (Some(1), true, Some(1))
    );
    assert!(
        d.reason.contains("no version is active yet"),
        "{}",
        d.reason
    );
    let approval = d.approval.clone().unwrap();
    assert!(approval.approved && approval.score >= 70, "{approval:?}");
    assert_eq!(active(&profile), Some(1));
    assert_eq!(d.next_run.as_deref(), Some("2027-01-11T23:00:00-06:00"));
    // The same night again: nothing runs.
    bed.clock.set(t("2027-01-11T01:00:00-06:00"));
    assert_eq!(bed.tick(&profile, false).gate.as_deref(), Some("tonight"));

    // Night 2: no new memories since version 1.
    bed.clock.set(t("2027-01-11T23:30:00-06:00"));
    let d = bed.tick(&profile, false);
    assert_eq!(d.gate.as_deref(), Some("new_samples"));
    assert_eq!(d.new_samples, Some(0));
    assert!(d.reason.contains("since version 1"), "{}", d.reason);

    // Night 3: 25 new conversations and settings that learn → better than version 1.
    add_memories(&root, "2027-01-11", 25, "wed");
    settings(&root, &f.good, 20, None);
    bed.clock.set(t("2027-01-12T23:30:00-06:00"));
    let d = bed.tick(&profile, false);
    assert_eq!(d.new_samples, Some(25), "{}", d.reason);
    assert_eq!(d.outcome, Outcome::Trained, "{}", d.reason);
    let run = d.run.clone().unwrap();
    assert_eq!(
        (run.version, run.activated),
        (Some(2), true),
        "{}",
        d.reason
    );
    assert!(run.eval_loss.unwrap() <= run.active_eval_loss.unwrap());
    assert_eq!(active(&profile), Some(2));

    // Night 4: new data again, settings that learn nothing → refused; version 2 stays.
    add_memories(&root, "2027-01-12", 25, "thu");
    settings(&root, &f.worse, 20, None);
    bed.clock.set(t("2027-01-13T23:30:00-06:00"));
    let d = bed.tick(&profile, false);
    assert_eq!(d.outcome, Outcome::Trained, "{}", d.reason);
    let run = d.run.clone().unwrap();
    assert_eq!((run.version, run.activated), (Some(3), false));
    assert_eq!(run.gate_passed, Some(false));
    assert!(
        d.reason.contains("not activated") && d.reason.contains("worse"),
        "{}",
        d.reason
    );
    assert!(d.reason.contains("version 2 stays active"), "{}", d.reason);
    let reg = Lineage::new(&profile).load().unwrap();
    assert_eq!(reg.active().unwrap().version, 2);
    assert_eq!(reg.get(3).unwrap().status, Status::Candidate);
    assert_eq!(reg.get(1).unwrap().status, Status::Retired);

    // Night 5: the refused version's data is not new any more.
    bed.clock.set(t("2027-01-14T23:30:00-06:00"));
    let d = bed.tick(&profile, false);
    assert_eq!(d.gate.as_deref(), Some("new_samples"), "{}", d.reason);
    assert!(d.reason.contains("since version 3"), "{}", d.reason);

    assert_eq!(
        sleep_events(&root),
        [
            "lora_dataset_auto_approve",
            "sleep_workflow_started",
            "sleep_workflow_completed",
            "sleep_workflow_skipped:tonight",
            "sleep_workflow_skipped:new_samples",
            "lora_dataset_auto_approve",
            "sleep_workflow_started",
            "sleep_workflow_completed",
            "lora_dataset_auto_approve",
            "sleep_workflow_started",
            "sleep_workflow_completed",
            "sleep_workflow_skipped:new_samples",
        ]
    );
    let all: Vec<String> = audit(&root).into_iter().map(|(e, _)| e).collect();
    for e in [
        "full_cycle_started",
        "adapter_activated",
        "adapter_activation_skipped",
    ] {
        assert!(all.iter().any(|x| x == e), "no {e} in {all:?}");
    }
    let st = sleep::status(&root, None, &bed.clock);
    let lines = st.lines().join("\n");
    assert!(lines.contains("last decision skipped"), "{lines}");
    assert!(lines.contains("since version 3"), "{lines}");
    // That decision was the night's attempt: not listed twice.
    assert!(!lines.contains("last attempt"), "{lines}");
    assert!(
        lines.contains("next run 2027-01-15T23:00:00-06:00"),
        "{lines}"
    );
}

#[test]
fn a_failed_night_is_not_retried_in_a_loop_and_dry_run_only_says_what_it_would_do() {
    let f = fixture();
    let (dir, profile) = profile_copy();
    let root = profile.root().to_path_buf();
    let missing = dir.path().join("no-such-model");
    settings(&root, &f.good, 20, Some(&missing));
    let bed = Bed::new("2027-01-10T23:30:00-06:00");
    let d = bed.tick(&profile, false);
    assert_eq!(d.outcome, Outcome::Failed, "{}", d.reason);
    assert!(d.reason.contains("no-such-model"), "{}", d.reason);
    assert!(
        d.reason.contains("next attempt is next night"),
        "{}",
        d.reason
    );
    assert_eq!(active(&profile), None);
    // Every tick after it the same night: skipped, no second run.
    for at in ["2027-01-11T00:00:00-06:00", "2027-01-11T03:00:00-06:00"] {
        bed.clock.set(t(at));
        let d = bed.tick(&profile, false);
        assert_eq!(d.gate.as_deref(), Some("tonight"));
        assert!(d.reason.contains("failed: "), "{}", d.reason);
    }
    assert_eq!(
        sleep_events(&root),
        [
            "lora_dataset_auto_approve",
            "sleep_workflow_started",
            "sleep_workflow_failed",
            "sleep_workflow_skipped:tonight"
        ]
    );

    // Next night, fixed, in dry run: trains and registers, activates nothing, says why.
    settings(&root, &f.good, 20, None);
    set_json(&root.join("etc/auto-approval.json"), "/dryRun", json!(true));
    bed.clock.set(t("2027-01-11T23:30:00-06:00"));
    let d = bed.tick(&profile, false);
    assert_eq!(d.outcome, Outcome::DryRun, "{}", d.reason);
    assert!(
        d.reason.contains("dryRun is true")
            && d.reason
                .contains("it would have been activated: no version is active yet"),
        "{}",
        d.reason
    );
    let reg = Lineage::new(&profile).load().unwrap();
    assert_eq!(reg.get(1).unwrap().status, Status::Candidate);
    assert!(reg.active().is_none());
    let last = audit(&root).pop().unwrap();
    assert_eq!(last.0, "sleep_workflow_completed");
    assert_eq!(last.1["outcome"], "dry_run");
    assert_eq!(last.1["activated"], false);
}

#[test]
fn a_step_failing_mid_run_keeps_the_active_version_and_is_retried_the_next_night() {
    use mh_testkit::ollama::{Endpoint, Fault};
    let f = fixture();
    let (_d, profile) = profile_copy();
    let root = profile.root().to_path_buf();
    let ollama = mh_testkit::FakeOllama::start().unwrap();
    settings(&root, &f.good, 20, None);
    let path = root.join("etc/sleep-service.json");
    let mut doc: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    doc["run"]["skip_ollama"] = json!(false);
    doc["run"]["ollama_host"] = json!(ollama.url());
    std::fs::write(&path, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
    let bed = Bed::new("2027-01-10T23:30:00-06:00");
    let d = bed.tick(&profile, false);
    assert_eq!(d.outcome, Outcome::Trained, "{}", d.reason);
    assert_eq!(active(&profile), Some(1));

    // Night 2: new data; Ollama fails while the model is registered with it (after training).
    add_memories(&root, "2027-01-11", 25, "fri");
    ollama.fail_next(
        Endpoint::Create,
        Fault::ErrorMidStream("simulated disk full".into()),
    );
    bed.clock.set(t("2027-01-11T23:30:00-06:00"));
    let d = bed.tick(&profile, false);
    assert_eq!(d.outcome, Outcome::Failed, "{}", d.reason);
    assert!(d.reason.contains("simulated disk full"), "{}", d.reason);
    let run = d.run.clone().unwrap();
    let label = run.run_label.clone().unwrap();
    assert!(run.error.unwrap().starts_with("ollama: "));
    assert_eq!(run.active_version, Some(1));
    let reg = Lineage::new(&profile).load().unwrap();
    assert_eq!(reg.training_history.len(), 1);
    assert_eq!(reg.active().unwrap().version, 1);
    let state: Value =
        serde_json::from_slice(&std::fs::read(root.join("out/sleep/state.json")).unwrap()).unwrap();
    assert_eq!(state["last_attempt"]["outcome"], "failed");
    assert_eq!(state["last_attempt"]["run_label"], label.as_str());
    // The rest of that night: no second attempt.
    let runs_after_failure = runs(&root);
    for at in ["2027-01-12T00:15:00-06:00", "2027-01-12T04:00:00-06:00"] {
        bed.clock.set(t(at));
        assert_eq!(bed.tick(&profile, false).gate.as_deref(), Some("tonight"));
    }
    assert_eq!(runs(&root), runs_after_failure);

    // Night 3: retried from scratch, and this time it gets through.
    bed.clock.set(t("2027-01-12T23:30:00-06:00"));
    let d = bed.tick(&profile, false);
    assert_eq!(d.outcome, Outcome::Trained, "{}", d.reason);
    assert_eq!(d.run.unwrap().version, Some(2));
    assert_eq!(runs(&root), runs_after_failure + 1);
    let events = sleep_events(&root);
    assert_eq!(
        events[3..],
        [
            "lora_dataset_auto_approve",
            "sleep_workflow_started",
            "sleep_workflow_failed",
            "sleep_workflow_skipped:tonight",
            "lora_dataset_auto_approve",
            "sleep_workflow_started",
            "sleep_workflow_completed"
        ]
    );
}

#[test]
fn a_stop_request_ends_the_run_and_keeps_the_active_version() {
    let (_d, profile) = profile_copy();
    let root = profile.root().to_path_buf();
    settings(&root, &fixture().good, 20, None);
    let bed = Bed::new("2027-01-10T23:30:00-06:00");
    bed.stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let d = bed.tick(&profile, true);
    assert_eq!(d.outcome, Outcome::Stopped, "{}", d.reason);
    assert!(d.reason.contains("mh-train resume"), "{}", d.reason);
    assert_eq!(active(&profile), None);
    assert!(d
        .checks
        .iter()
        .any(|c| c.gate == "window" && c.reason.contains("--force")));
    // --force also bypasses the once-a-night rule; the stop flag ends the loop at once.
    let service_ticks = {
        let hooks = RunHooks {
            progress: &NoProgress,
            on_event: &|_| {},
            stop: &bed.stop,
            stop_before: None,
        };
        SleepService {
            profile: &profile,
            system_root: None,
            clock: &bed.clock,
            hooks: &hooks,
        }
        .run(None, None)
    };
    assert_eq!(service_ticks, 0);
    // Pod settings with place "local" are refused, not silently ignored (no pod is rented).
    let s = mh_runtime::sleep::SleepSettings {
        place: TrainingPlace::Local,
        run: mh_runtime::RunOptions {
            remote: Some(mh_runtime::RemoteOptions::default()),
            ..Default::default()
        },
        ..Default::default()
    };
    let hooks = RunHooks {
        progress: &NoProgress,
        on_event: &|_| {},
        stop: &bed.stop,
        stop_before: None,
    };
    let err = mh_runtime::sleep::train_cycle(&profile, &s, true, &hooks).unwrap_err();
    assert!(
        err.to_string()
            .contains("run.remote is set but place is \"local\""),
        "{err}"
    );
    assert_eq!(runs(&root), 1);
}
