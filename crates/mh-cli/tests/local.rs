//! `mh-train local`, `resume` and `generate --active` through the real binary, against the
//! loopback Ollama peer (OLLAMA_HOST).

mod common;

use common::{demo_copy, local_setup, mh_train, mh_train_env, s, stderr};
use mh_testkit::FakeOllama;

#[test]
fn local_registers_activates_and_generate_active_answers() {
    let (profile, work, model) = local_setup();
    let config = work.path().join("short.json");
    let ollama = FakeOllama::start().unwrap();
    let url = ollama.url();
    let args = [
        "--profile",
        s(profile.path()),
        "local",
        "--base-model",
        s(&model),
        "--config",
        s(&config),
        "--device",
        "cpu",
        "--max-seq-length",
        "256",
    ];

    // --dry-run: the plan, nothing written.
    let mut dry = args.to_vec();
    dry.push("--dry-run");
    let out = mh_train_env(&dry, &[("OLLAMA_HOST", &url)]);
    assert!(out.status.success(), "{}", stderr(&out));
    let plan = String::from_utf8_lossy(&out.stdout);
    assert!(plan.contains("model-Q8_0.gguf"), "{plan}");
    assert!(plan.contains("registers version 1"), "{plan}");
    // 4 steps at most (max_steps), from the demo's samples.
    assert!(plan.contains("about 4 optimizer steps"), "{plan}");
    assert!(!profile.path().join("out/runs").exists());
    assert!(ollama.requests().is_empty());

    // A second `local` while another process holds the profile is refused.
    let held = mh_profile::ProfileLock::acquire(profile.path(), "mh-train local").unwrap();
    let out = mh_train_env(&args, &[("OLLAMA_HOST", &url)]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("locked"), "{}", stderr(&out));
    drop(held);

    let mut json = args.to_vec();
    json.insert(2, "--json");
    let out = mh_train_env(&json, &[("OLLAMA_HOST", &url)]);
    assert!(out.status.success(), "{}", stderr(&out));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["version"], 1);
    assert_eq!(summary["activated"], true);
    let name = summary["ollama_model"].as_str().unwrap().to_string();
    assert!(ollama.model_names().iter().any(|m| m.starts_with(&name)));
    let label = summary["run_label"].as_str().unwrap().to_string();

    // The seed's models.json names the registered model.
    let models: serde_json::Value =
        serde_json::from_slice(&std::fs::read(profile.path().join("etc/models.json")).unwrap())
            .unwrap();
    assert_eq!(models["globalSettings"]["activeAdapter"]["modelName"], name);
    assert_eq!(models["globalSettings"]["useAdapter"], true);

    // Resuming a finished run changes nothing; an unknown run is an error.
    let out = mh_train(&["--profile", s(profile.path()), "resume", &label]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = mh_train(&[
        "--profile",
        s(profile.path()),
        "resume",
        "2020-01-01-000000-abcdef",
    ]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("no such run"), "{}", stderr(&out));

    let out = mh_train(&["--profile", s(profile.path()), "lineage", "verify"]);
    assert!(out.status.success(), "{}", stderr(&out));

    let out = mh_train(&[
        "--profile",
        s(profile.path()),
        "--json",
        "generate",
        "--active",
        "--device",
        "cpu",
        "--prompt",
        "What did you tune today?",
        "--max-tokens",
        "5",
        "--temperature",
        "0",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let reply: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(reply["new_tokens"].as_u64().unwrap() > 0, "{reply}");
}

#[test]
fn local_without_ollama_skips_the_step_and_prints_the_command() {
    let (profile, work, model) = local_setup();
    let config = work.path().join("short.json");
    let out = mh_train_env(
        &[
            "--profile",
            s(profile.path()),
            "local",
            "--base-model",
            s(&model),
            "--config",
            s(&config),
            "--device",
            "cpu",
            "--max-seq-length",
            "256",
        ],
        &[("OLLAMA_HOST", &mh_testkit::ollama::unreachable_url())],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("version 1: active"), "{stdout}");
    assert!(stdout.contains("ollama create "), "{stdout}");
    assert!(
        stderr(&out).contains("[ollama] skipped"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn generate_active_without_a_version_says_so() {
    let profile = demo_copy();
    let out = mh_train(&[
        "--profile",
        s(profile.path()),
        "generate",
        "--active",
        "--prompt",
        "hi",
    ]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("no active version"),
        "{}",
        stderr(&out)
    );
}

/// The run directory not in `seen` (the one being written) and its state, once it has one.
/// Labels of runs started in the same second do not sort by time, hence `seen`.
fn new_run(
    profile: &std::path::Path,
    seen: &std::collections::BTreeSet<String>,
) -> Option<(String, serde_json::Value)> {
    let runs = profile.join("out/runs");
    let dir = std::fs::read_dir(&runs)
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .find(|p| {
            p.join("state.json").is_file()
                && !seen.contains(&*p.file_name().unwrap_or_default().to_string_lossy())
        })?;
    let state = serde_json::from_slice(&std::fs::read(dir.join("state.json")).ok()?).ok()?;
    Some((dir.file_name()?.to_string_lossy().into_owned(), state))
}

fn step_done(state: &serde_json::Value, step: &str) -> bool {
    state["steps"].as_array().is_some_and(|steps| {
        steps
            .iter()
            .any(|s| s["name"] == step && (s["status"] == "completed" || s["status"] == "skipped"))
    })
}

#[test]
fn a_run_killed_after_any_step_resumes_to_a_verified_lineage() {
    let (profile, work, model) = local_setup();
    let config = work.path().join("short.json");
    let ollama = FakeOllama::start().unwrap();
    let url = ollama.url();
    let steps = [
        "dataset", "train", "eval", "merge", "gguf", "ollama", "register",
    ];
    let mut seen = std::collections::BTreeSet::new();
    for (i, step) in steps.iter().enumerate() {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_mh-train"))
            .args([
                "-q",
                "--profile",
                s(profile.path()),
                "local",
                "--base-model",
                s(&model),
            ])
            .args([
                "--config",
                s(&config),
                "--device",
                "cpu",
                "--max-seq-length",
                "256",
            ])
            .env("OLLAMA_HOST", &url)
            .env_remove("METAHUMAN_ROOT")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // SIGKILL as soon as the step is recorded done (or during the next one): no handler
        // runs, the lock and any half-written temp files are left to the next process.
        let label = loop {
            if let Some((label, state)) = new_run(profile.path(), &seen) {
                if step_done(&state, step) {
                    let _ = child.kill();
                    break label;
                }
            }
            if let Some(status) = child.try_wait().unwrap() {
                panic!("run {i} ended ({status}) before {step} was seen done");
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        };
        child.wait().unwrap();
        seen.insert(label.clone());
        let out = mh_train_env(
            &["--profile", s(profile.path()), "resume", &label],
            &[("OLLAMA_HOST", &url)],
        );
        assert!(
            out.status.success(),
            "resume after {step}: {}",
            stderr(&out)
        );
        let out = mh_train(&["--profile", s(profile.path()), "lineage", "verify"]);
        assert!(
            out.status.success(),
            "verify after {step}: {}",
            stderr(&out)
        );
    }
    let out = mh_train(&[
        "--json",
        "--profile",
        s(profile.path()),
        "lineage",
        "history",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let history = String::from_utf8_lossy(&out.stdout);
    // One version per run, none registered twice by a resume.
    assert!(history.contains("\"version\": 7"), "{history}");
    assert!(!history.contains("\"version\": 8"), "{history}");
}
