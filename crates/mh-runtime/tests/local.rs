//! `run_local` / `resume` end to end on the demo profile with a tiny model, against the loopback
//! Ollama peer.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::OnceLock;

use mh_lineage::{Lineage, Status};
use mh_profile::NoProgress;
use mh_runtime::{resume, run_local, RunHooks, RunOptions, RuntimeError, Step, StepStatus};
use mh_testkit::ollama::{unreachable_url, Endpoint, Fault};
use mh_testkit::FakeOllama;

mod common;

use common::profile_copy;

struct Fixture {
    _dir: tempfile::TempDir,
    model: PathBuf,
    config: PathBuf,
    worse_config: PathBuf,
}

/// The tiny model and two training configs.
fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let model = common::tiny_model(dir.path());
        let config = common::train_config(
            dir.path(),
            "short.json",
            r#"{"learning_rate": 5e-3, "max_steps": 6, "micro_batch_size": 2,
                "gradient_accumulation_steps": 2, "warmup_ratio": 0, "eval_every": 0,
                "save_every": 3, "seed": 11, "gguf_quant": "Q8_0"}"#,
        );
        let worse_config = common::train_config(dir.path(), "worse.json", common::LEARNS_NOTHING);
        Fixture {
            _dir: dir,
            model,
            config,
            worse_config,
        }
    })
}

fn options(ollama: &str) -> RunOptions {
    let f = fixture();
    RunOptions {
        base_model: Some(f.model.display().to_string()),
        config_files: vec![f.config.clone()],
        max_seq_length: Some(256),
        device: Some("cpu".into()),
        ollama_host: Some(ollama.to_string()),
        ..RunOptions::default()
    }
}

static STOP: AtomicBool = AtomicBool::new(false);

fn hooks(stop_before: Option<Step>) -> RunHooks<'static> {
    RunHooks {
        progress: &NoProgress,
        on_event: &|_| {},
        stop: &STOP,
        stop_before,
    }
}

fn audit_events(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in walk(&root.join("logs/audit")) {
        for line in std::fs::read_to_string(e).unwrap().lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            out.push(v["event"].as_str().unwrap_or("").to_string());
        }
    }
    out
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

fn active_adapter(root: &Path) -> serde_json::Value {
    let p = root.join("etc/models.json");
    match std::fs::read(&p) {
        Ok(b) => serde_json::from_slice::<serde_json::Value>(&b).unwrap()["globalSettings"]
            ["activeAdapter"]
            .clone(),
        Err(_) => serde_json::Value::Null,
    }
}

#[test]
fn two_runs_register_and_activate_versions_1_and_2() {
    let ollama = FakeOllama::start().unwrap();
    let (_d, profile) = profile_copy();
    let s1 = run_local(&profile, options(&ollama.url()), &hooks(None)).unwrap();
    assert_eq!(s1.version, Some(1));
    assert_eq!(s1.parent_version, None);
    assert!(s1.activated, "{:?}", s1.gate_reason);
    assert!(s1.training_success);
    let name1 = s1.ollama_model.clone().unwrap();
    assert!(ollama.model_names().iter().any(|m| m.starts_with(&name1)));
    let gguf = PathBuf::from(s1.gguf_path.as_ref().unwrap());
    assert!(gguf.ends_with("model-Q8_0.gguf"), "{}", gguf.display());
    assert!(gguf.with_file_name("Modelfile").is_file());

    // run-summary.json and state.json are on disk with every step completed.
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(s1.run_dir.join("run-summary.json")).unwrap())
            .unwrap();
    assert_eq!(summary["run_label"], s1.run_label.as_str());
    assert_eq!(summary["training_success"], true);
    assert_eq!(summary["connection_mode"], "local");
    let state = mh_runtime::RunState::load(&s1.run_dir).unwrap();
    assert!(state
        .steps
        .iter()
        .all(|s| s.status == StepStatus::Completed));

    let lineage = Lineage::new(&profile);
    let v1 = lineage.load().unwrap().get(1).unwrap().clone();
    assert_eq!(v1.status, Status::Active);
    assert_eq!(v1.ollama_model.as_deref(), Some(name1.as_str()));
    let ds = v1.dataset.as_ref().unwrap();
    assert!(ds.samples > 0);
    let (from, to) = (
        ds.memories_from.clone().unwrap(),
        ds.memories_to.clone().unwrap(),
    );
    assert!(from.len() == 10 && from <= to, "{from} {to}");
    assert_eq!(v1.base_model.as_ref().unwrap().id, s1.base_model);
    assert!(v1.base_model.as_ref().unwrap().weights_sha256.is_some());
    assert!(v1.config_sha256.is_some());
    assert_eq!(active_adapter(profile.root())["modelName"], name1.as_str());

    let s2 = run_local(&profile, options(&ollama.url()), &hooks(None)).unwrap();
    assert_eq!(s2.version, Some(2));
    assert_eq!(s2.parent_version, Some(1));
    // Same data, seed and settings: the same loss, which is "not worse".
    assert!(s2.activated, "{:?}", s2.gate_reason);
    let reg = lineage.load().unwrap();
    assert_eq!(reg.get(2).unwrap().parent_version, Some(1));
    assert_eq!(reg.get(2).unwrap().status, Status::Active);
    assert_eq!(reg.get(1).unwrap().status, Status::Retired);
    let report = lineage.verify().unwrap();
    assert!(report.ok(), "{report:?}");

    let events = audit_events(profile.root());
    for e in [
        "full_cycle_started",
        "training_export_completed",
        "gguf_conversion_started",
        "gguf_conversion_completed",
        "ollama_lora_model_created",
        "adapter_activated",
        "full_cycle_completed",
    ] {
        assert!(events.iter().any(|x| x == e), "no {e} in {events:?}");
    }
}

#[test]
fn gate_keeps_a_worse_version_as_candidate() {
    let ollama = FakeOllama::start().unwrap();
    let (_d, profile) = profile_copy();
    let s1 = run_local(&profile, options(&ollama.url()), &hooks(None)).unwrap();
    assert!(s1.activated);
    let mut worse = options(&ollama.url());
    worse.config_files = vec![fixture().worse_config.clone()];
    let s2 = run_local(&profile, worse, &hooks(None)).unwrap();
    assert_eq!(s2.version, Some(2));
    assert!(!s2.activated);
    let (new, old) = (s2.eval_loss.unwrap(), s2.active_eval_loss.unwrap());
    assert!(new > old, "{new} vs {old}");
    assert!(s2.gate_reason.as_deref().unwrap().contains("worse"));
    let reg = Lineage::new(&profile).load().unwrap();
    assert_eq!(reg.get(2).unwrap().status, Status::Candidate);
    assert_eq!(reg.active().unwrap().version, 1);
    let state = mh_runtime::RunState::load(&s2.run_dir).unwrap();
    assert_eq!(state.step(Step::Activate).status, StepStatus::Skipped);
    assert!(audit_events(profile.root())
        .iter()
        .any(|e| e == "adapter_activation_skipped"));
}

#[test]
fn ollama_error_mid_stream_fails_the_run_and_resume_finishes() {
    let ollama = FakeOllama::start().unwrap();
    ollama.fail_next(
        Endpoint::Create,
        Fault::ErrorMidStream("simulated disk full".into()),
    );
    let (_d, profile) = profile_copy();
    let err = run_local(&profile, options(&ollama.url()), &hooks(None)).unwrap_err();
    let RuntimeError::Step {
        run_label, step, ..
    } = &err
    else {
        panic!("{err}");
    };
    assert_eq!(*step, Step::Ollama);
    let chain = format!("{err}: {}", std::error::Error::source(&err).unwrap());
    assert!(chain.contains("simulated disk full"), "{chain}");
    // Registry and activation untouched.
    let lineage = Lineage::new(&profile);
    assert!(lineage.load().unwrap().training_history.is_empty());
    assert!(active_adapter(profile.root()).is_null());
    let run_dir = profile.root().join("out/runs").join(run_label);
    let state = mh_runtime::RunState::load(&run_dir).unwrap();
    assert_eq!(state.step(Step::Ollama).status, StepStatus::Failed);
    assert_eq!(state.step(Step::Gguf).status, StepStatus::Completed);
    assert!(audit_events(profile.root())
        .iter()
        .any(|e| e == "full_cycle_failed"));

    // The fault was for one request only; resume redoes the ollama step and what follows.
    let s = resume(&profile, run_label, &hooks(None)).unwrap();
    assert_eq!(s.version, Some(1));
    assert!(s.activated);
    assert!(s.ollama_model.is_some());
    let state = mh_runtime::RunState::load(&run_dir).unwrap();
    assert_eq!(state.step(Step::Train).attempts, 1, "training was redone");
    assert_eq!(state.step(Step::Ollama).attempts, 2);
    assert!(lineage.verify().unwrap().ok());
}

#[test]
fn no_ollama_skips_registration_and_still_registers_the_version() {
    let (_d, profile) = profile_copy();
    let s = run_local(&profile, options(&unreachable_url()), &hooks(None)).unwrap();
    assert_eq!(s.version, Some(1));
    assert!(s.activated);
    assert_eq!(s.ollama_model, None);
    let state = mh_runtime::RunState::load(&s.run_dir).unwrap();
    let step = state.step(Step::Ollama);
    assert_eq!(step.status, StepStatus::Skipped);
    let msg = step.message.as_deref().unwrap();
    assert!(msg.contains("ollama create"), "{msg}");
    assert!(Path::new(s.modelfile.as_deref().unwrap()).is_file());
    let v = Lineage::new(&profile)
        .load()
        .unwrap()
        .get(1)
        .unwrap()
        .clone();
    assert_eq!(v.ollama_model, None);
    assert!(v.artifact(mh_lineage::ArtifactKind::Modelfile).is_some());
}

#[test]
fn a_second_run_while_one_holds_the_profile_is_refused() {
    let (_d, profile) = profile_copy();
    let _held = profile.lock("another mh-train local").unwrap();
    let err = run_local(&profile, options(&unreachable_url()), &hooks(None)).unwrap_err();
    assert!(matches!(err, RuntimeError::Profile(_)), "{err}");
    assert!(err.to_string().contains("locked"), "{err}");
    assert!(!profile.root().join("out/runs").exists());
}

#[test]
fn stopped_at_every_step_boundary_resume_finishes_and_verify_passes() {
    let ollama = FakeOllama::start().unwrap();
    let (_d, profile) = profile_copy();
    let err = run_local(
        &profile,
        options(&ollama.url()),
        &hooks(Some(Step::Dataset)),
    )
    .unwrap_err();
    let RuntimeError::Stopped { run_label, step } = err else {
        panic!("{err}");
    };
    assert_eq!(step, Step::Dataset);
    for next in &Step::ALL[1..] {
        let err = resume(&profile, &run_label, &hooks(Some(*next))).unwrap_err();
        assert_eq!(err.step(), Some(*next), "{err}");
        let state =
            mh_runtime::RunState::load(&profile.root().join("out/runs").join(&run_label)).unwrap();
        assert!(state
            .steps
            .iter()
            .take_while(|s| s.name != *next)
            .all(|s| s.status == StepStatus::Completed && s.attempts == 1));
    }
    let s = resume(&profile, &run_label, &hooks(None)).unwrap();
    assert_eq!(s.version, Some(1));
    assert!(s.activated);
    let lineage = Lineage::new(&profile);
    assert_eq!(lineage.load().unwrap().training_history.len(), 1);
    assert!(lineage.verify().unwrap().ok());
    // A finished run resumed again does nothing more.
    let again = resume(&profile, &run_label, &hooks(None)).unwrap();
    assert_eq!(again.version, Some(1));
}

#[test]
fn killed_after_the_registry_write_resume_does_not_register_twice() {
    let (_d, profile) = profile_copy();
    let mut opts = options(&unreachable_url());
    opts.skip_ollama = true;
    let err = run_local(&profile, opts, &hooks(Some(Step::Activate))).unwrap_err();
    let RuntimeError::Stopped { run_label, .. } = err else {
        panic!("{err}");
    };
    // As if the process died after the registry write and before state.json recorded it.
    let run_dir = profile.root().join("out/runs").join(&run_label);
    let mut state = mh_runtime::RunState::load(&run_dir).unwrap();
    assert_eq!(state.version, Some(1));
    assert_eq!(state.step(Step::Ollama).status, StepStatus::Skipped);
    state.version = None;
    let reg = state.step_mut(Step::Register);
    reg.status = StepStatus::InProgress;
    reg.outputs.clear();
    state.save(&run_dir).unwrap();

    let s = resume(&profile, &run_label, &hooks(None)).unwrap();
    assert_eq!(s.version, Some(1));
    assert!(s.activated);
    let lineage = Lineage::new(&profile);
    assert_eq!(lineage.load().unwrap().training_history.len(), 1);
    assert!(lineage.verify().unwrap().ok());
}

#[test]
fn no_activate_leaves_a_candidate_and_continuous_learning_trains_on_the_merged_model() {
    let (_d, profile) = profile_copy();
    let mut opts = options(&unreachable_url());
    opts.skip_ollama = true;
    opts.no_activate = true;
    let s1 = run_local(&profile, opts.clone(), &hooks(None)).unwrap();
    assert!(!s1.activated);
    let lineage = Lineage::new(&profile);
    assert_eq!(
        lineage.load().unwrap().get(1).unwrap().status,
        Status::Candidate
    );
    assert!(lineage.load().unwrap().active().is_none());
    {
        let lock = profile.lock("test").unwrap();
        lineage.activate(&lock, 1, "test").unwrap();
    }

    // Version 2 on version 1's merged model, with an F16 GGUF kept beside the Q8_0 one.
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("continuous.json");
    let mut base_cfg: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&fixture().config).unwrap()).unwrap();
    base_cfg["continuous_learning"] = "current_merged".into();
    base_cfg["keep_f16"] = true.into();
    std::fs::write(&cfg, base_cfg.to_string()).unwrap();
    opts.no_activate = false;
    opts.config_files = vec![cfg];
    let s2 = run_local(&profile, opts, &hooks(None)).unwrap();
    let merged1 = std::fs::canonicalize(s1.run_dir.join("merged")).unwrap();
    assert_eq!(s2.base_model, merged1.display().to_string());
    // The active version is the base itself here: it is scored as the base alone.
    assert!(s2.active_eval_loss.is_some(), "{:?}", s2.gate_reason);
    let reg = lineage.load().unwrap();
    let v2 = reg.get(2).unwrap();
    assert_eq!(v2.parent_version, Some(1));
    let quants: Vec<_> = v2
        .artifacts
        .iter()
        .filter(|a| a.kind == mh_lineage::ArtifactKind::Gguf)
        .map(|a| a.quant.clone().unwrap())
        .collect();
    assert_eq!(quants, ["Q8_0", "F16"]);
    assert!(lineage.verify().unwrap().ok());
}
