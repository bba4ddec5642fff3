//! The registry and activation as a pipeline uses them: files on disk, the seed's shapes.

use std::fs;
use std::path::{Path, PathBuf};

use mh_lineage::hash::sha256_hex;
use mh_lineage::*;
use mh_profile::{LockError, ProfileLock};
use serde_json::{json, Value};

fn profile() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("etc")).unwrap();
    dir
}

fn lineage(root: &Path) -> Lineage {
    Lineage::at(root, Some("nell".into()))
}

fn lock(root: &Path) -> ProfileLock {
    ProfileLock::acquire(root, "test").unwrap()
}

fn label(n: u32) -> String {
    format!("2026-03-{n:02}-120000-00000{}", n % 10)
}

/// A run directory with an adapter dir, a GGUF and a Modelfile; returns their artifacts.
fn make_run(root: &Path, n: u32) -> Vec<Artifact> {
    let run = root.join("out/runs").join(label(n));
    let adapter = run.join("adapter");
    fs::create_dir_all(&adapter).unwrap();
    fs::write(
        adapter.join("adapter_model.safetensors"),
        vec![n as u8; 1000 + n as usize],
    )
    .unwrap();
    fs::write(adapter.join("adapter_config.json"), br#"{"r": 8}"#).unwrap();
    let gguf = run.join("model-Q4_K_M.gguf");
    fs::write(&gguf, vec![(n as u8).wrapping_mul(7); 2048]).unwrap();
    let modelfile = run.join("Modelfile");
    fs::write(&modelfile, format!("FROM {}\n", gguf.display())).unwrap();
    vec![
        Artifact::record(ArtifactKind::Adapter, &adapter, true).unwrap(),
        Artifact::record(ArtifactKind::Gguf, &gguf, true)
            .unwrap()
            .with_quant("Q4_K_M"),
        Artifact::record(ArtifactKind::Modelfile, &modelfile, true).unwrap(),
    ]
}

fn new_version(root: &Path, n: u32) -> NewVersion {
    NewVersion {
        run_id: format!("{n:016x}"),
        run_label: label(n),
        samples_trained: 100 + n as u64,
        training_success: true,
        method: Some(Method::Lora),
        location: Some(Location {
            kind: Place::Local,
            ..Location::default()
        }),
        base_model: Some(BaseModelRef {
            id: "Qwen/Qwen2.5-0.5B-Instruct".into(),
            revision: Some("7ae557604adf67be50417f59c2c2f167def9a775".into()),
            weights_sha256: Some(sha256_hex(b"weights")),
            ..BaseModelRef::default()
        }),
        dataset: Some(DatasetFingerprint {
            sha256: sha256_hex(format!("dataset {n}").as_bytes()),
            samples: 100 + n as u64,
            memories_from: Some("2025-11-02".into()),
            memories_to: Some("2026-03-01".into()),
            ..DatasetFingerprint::default()
        }),
        config_sha256: Some(sha256_hex(b"config")),
        metrics: Metrics {
            final_eval_loss: Some(2.5 - n as f64 / 10.0),
            best_eval_loss: Some(2.4 - n as f64 / 10.0),
            best_eval_ppl: Some((2.4 - n as f64 / 10.0).exp()),
            ..Metrics::default()
        },
        artifacts: make_run(root, n),
        ..NewVersion::default()
    }
}

fn read_json(p: &Path) -> Value {
    serde_json::from_slice(&fs::read(p).unwrap()).unwrap()
}

fn audit_events(root: &Path) -> Vec<Value> {
    let mut out = Vec::new();
    let Ok(rd) = fs::read_dir(root.join("logs/audit")) else {
        return out;
    };
    for e in rd {
        let text = fs::read_to_string(e.unwrap().path()).unwrap();
        out.extend(
            text.lines()
                .map(|l| serde_json::from_str::<Value>(l).unwrap()),
        );
    }
    out
}

#[test]
fn round_trip_keeps_unknown_keys_in_registry_and_models_json() {
    let dir = profile();
    let root = dir.path();
    fs::write(
        root.join(REGISTRY_FILE),
        r#"{
  "comment": "hand-made",
  "notes": ["keep me"],
  "original_base_model": "Qwen/Qwen2.5-0.5B-Instruct",
  "current_base_model": "Qwen/Qwen2.5-0.5B-Instruct",
  "model_type": "huggingface",
  "training_history": [
    {"version": 1, "run_id": "x", "run_label": "old", "timestamp": "2026-01-01T00:00:00.000Z",
     "base_model_used": "Qwen/Qwen2.5-0.5B-Instruct", "output_model_path": "", "gguf_path": "",
     "samples_trained": 3, "training_success": true, "my_note": {"a": [1, 2]}}
  ],
  "output_formats": {"quantized": {"format": "gguf"}},
  "versioning": {"enabled": true, "auto_update_base": false, "keep_all_versions": true, "extra_flag": 7},
  "custom_top": "stays"
}"#,
    )
    .unwrap();
    fs::write(
        root.join(MODELS_FILE),
        r#"{"defaults": {"persona": "default.coder"},
  "globalSettings": {"includePersonaSummary": false, "useAdapter": false, "activeAdapter": null, "theme": "dark"},
  "vllmLora": {"enabledAdapters": [], "maxLoraRank": 64},
  "roles": {"orchestrator": {"model": "qwen3:14b"}}}"#,
    )
    .unwrap();
    let l = lineage(root);
    let lk = lock(root);
    let v = l.add_version(&lk, new_version(root, 2)).unwrap();
    assert_eq!(v, 2);
    l.activate(&lk, 2, "test").unwrap();

    let reg = read_json(&root.join(REGISTRY_FILE));
    assert_eq!(reg["comment"], "hand-made");
    assert_eq!(reg["notes"][0], "keep me");
    assert_eq!(reg["custom_top"], "stays");
    assert_eq!(reg["output_formats"]["quantized"]["format"], "gguf");
    assert_eq!(reg["versioning"]["extra_flag"], 7);
    assert_eq!(reg["training_history"][0]["my_note"]["a"][1], 2);
    assert_eq!(reg["training_history"][1]["version"], 2);
    // Key order of the top level is kept (new keys go last).
    let keys: Vec<&String> = reg.as_object().unwrap().keys().collect();
    assert_eq!(keys[..3], ["comment", "notes", "original_base_model"]);

    let models = read_json(&root.join(MODELS_FILE));
    assert_eq!(models["defaults"]["persona"], "default.coder");
    assert_eq!(models["roles"]["orchestrator"]["model"], "qwen3:14b");
    assert_eq!(models["vllmLora"]["maxLoraRank"], 64);
    assert_eq!(models["globalSettings"]["theme"], "dark");
    assert_eq!(models["globalSettings"]["includePersonaSummary"], false);
    assert_eq!(
        models["globalSettings"]["activeAdapter"]["lineageVersion"],
        2
    );

    // A second load + save changes nothing.
    let before = fs::read(root.join(REGISTRY_FILE)).unwrap();
    l.mark_status(&lk, 1, Status::Candidate).unwrap();
    assert_eq!(fs::read(root.join(REGISTRY_FILE)).unwrap(), before);
}

#[test]
fn seed_fields_are_present_and_typed_as_the_seed_writes_them() {
    let dir = profile();
    let root = dir.path();
    let l = lineage(root);
    let lk = lock(root);
    l.add_version(&lk, new_version(root, 1)).unwrap();
    let reg = read_json(&root.join(REGISTRY_FILE));
    // Top level (ModelRegistry in the seed's model-registry.ts).
    assert!(reg["comment"].is_string());
    assert!(reg["notes"]
        .as_array()
        .unwrap()
        .iter()
        .all(Value::is_string));
    assert_eq!(reg["original_base_model"], "Qwen/Qwen2.5-0.5B-Instruct");
    assert_eq!(reg["current_base_model"], "Qwen/Qwen2.5-0.5B-Instruct");
    assert_eq!(reg["model_type"], "huggingface");
    for k in ["enabled", "auto_update_base", "keep_all_versions"] {
        assert!(reg["versioning"][k].is_boolean(), "{k}");
    }
    // ModelRegistryEntry.
    let e = &reg["training_history"][0];
    assert_eq!(e["version"], 1);
    assert!(e["version"].is_u64());
    for k in [
        "run_id",
        "run_label",
        "timestamp",
        "base_model_used",
        "output_model_path",
        "gguf_path",
    ] {
        assert!(e[k].is_string(), "{k}: {}", e[k]);
    }
    assert!(e["samples_trained"].is_u64());
    assert_eq!(e["training_success"], true);
    assert!(chrono::DateTime::parse_from_rfc3339(e["timestamp"].as_str().unwrap()).is_ok());
    assert_eq!(e["run_label"], label(1));
    assert_eq!(e["base_model_used"], "Qwen/Qwen2.5-0.5B-Instruct");
    // Defaults filled from the artifacts: the adapter (no merged model) and the GGUF.
    assert!(e["output_model_path"]
        .as_str()
        .unwrap()
        .ends_with("/adapter"));
    assert!(e["gguf_path"]
        .as_str()
        .unwrap()
        .ends_with("model-Q4_K_M.gguf"));
    // Ours.
    assert_eq!(e["status"], "candidate");
    assert_eq!(e["method"], "lora");
    assert_eq!(e["where"]["kind"], "local");
    assert!(e["parent_version"].is_null());
    assert!(e["activated_at"].is_null());
    assert_eq!(e["dataset"]["samples"], 101);
    assert_eq!(e["dataset"]["memories_from"], "2025-11-02");
    assert_eq!(e["config_sha256"], sha256_hex(b"config"));
    assert_eq!(
        e["base_model"]["revision"],
        "7ae557604adf67be50417f59c2c2f167def9a775"
    );
    assert!(e["metrics"]["best_eval_loss"].is_f64());
    let arts = e["artifacts"].as_array().unwrap();
    assert_eq!(arts.len(), 3);
    assert_eq!(arts[0]["kind"], "adapter");
    assert_eq!(arts[0]["files"].as_array().unwrap().len(), 2);
    assert_eq!(arts[1]["kind"], "gguf");
    assert_eq!(arts[1]["quant"], "Q4_K_M");
    assert_eq!(arts[1]["bytes"], 2048);
    assert_eq!(arts[1]["sha256"], sha256_hex(&vec![7u8; 2048]));
    assert_eq!(arts[2]["kind"], "modelfile");
}

#[test]
fn parent_is_the_active_or_latest_version() {
    let dir = profile();
    let root = dir.path();
    let l = lineage(root);
    let lk = lock(root);
    assert_eq!(l.add_version(&lk, new_version(root, 1)).unwrap(), 1);
    assert_eq!(l.add_version(&lk, new_version(root, 2)).unwrap(), 2);
    let mut failed = new_version(root, 3);
    failed.training_success = false;
    assert_eq!(l.add_version(&lk, failed).unwrap(), 3);
    // Latest that did not fail: 2.
    assert_eq!(l.add_version(&lk, new_version(root, 4)).unwrap(), 4);
    l.activate(&lk, 1, "test").unwrap();
    // Active wins over latest.
    assert_eq!(l.add_version(&lk, new_version(root, 5)).unwrap(), 5);
    let mut explicit = new_version(root, 6);
    explicit.parent = Parent::Version(4);
    assert_eq!(l.add_version(&lk, explicit).unwrap(), 6);
    let mut bad = new_version(root, 7);
    bad.parent = Parent::Version(42);
    assert!(matches!(
        l.add_version(&lk, bad).unwrap_err(),
        LineageError::NoSuchVersion { version: 42, .. }
    ));

    let reg = l.load().unwrap();
    let parents: Vec<(u32, Option<u32>, Status)> = reg
        .training_history
        .iter()
        .map(|v| (v.version, v.parent_version, v.status))
        .collect();
    assert_eq!(
        parents,
        [
            (1, None, Status::Active),
            (2, Some(1), Status::Candidate),
            (3, Some(2), Status::Failed),
            (4, Some(2), Status::Candidate),
            (5, Some(1), Status::Candidate),
            (6, Some(4), Status::Candidate),
        ]
    );
    assert_eq!(reg.ancestors(6), [4, 2, 1]);
    // A failed version cannot be activated.
    let err = l.activate(&lk, 3, "test").unwrap_err();
    assert!(err.to_string().contains("failed"), "{err}");
    // Status changes: active only via activate; the active one only via deactivate/rollback.
    assert!(l.mark_status(&lk, 2, Status::Active).is_err());
    assert!(l.mark_status(&lk, 1, Status::Retired).is_err());
    l.mark_status(&lk, 2, Status::Failed).unwrap();
    assert_eq!(l.load().unwrap().get(2).unwrap().status, Status::Failed);
}

#[test]
fn verify_passes_then_reports_each_altered_artifact() {
    let dir = profile();
    let root = dir.path();
    let l = lineage(root);
    let lk = lock(root);
    l.add_version(&lk, new_version(root, 1)).unwrap();
    l.add_version(&lk, new_version(root, 2)).unwrap();
    l.activate(&lk, 2, "test").unwrap();
    let ok = l.verify().unwrap();
    assert!(ok.ok(), "{:?}", ok.problems);
    assert_eq!(ok.versions, 2);
    assert_eq!(ok.artifacts, 6);
    assert_eq!(ok.files, 8);

    // One byte of v1's GGUF changes (same size), v2's adapter weights lose a byte.
    let run1 = root.join("out/runs").join(label(1));
    let gguf = run1.join("model-Q4_K_M.gguf");
    let mut bytes = fs::read(&gguf).unwrap();
    bytes[100] ^= 0xff;
    fs::write(&gguf, &bytes).unwrap();
    let w2 = root
        .join("out/runs")
        .join(label(2))
        .join("adapter/adapter_model.safetensors");
    let mut b2 = fs::read(&w2).unwrap();
    b2.pop();
    fs::write(&w2, &b2).unwrap();
    fs::remove_file(run1.join("Modelfile")).unwrap();

    let bad = l.verify().unwrap();
    assert!(!bad.ok());
    let found: Vec<(Option<u32>, Option<ArtifactKind>, ProblemCode)> = bad
        .problems
        .iter()
        .map(|p| (p.version, p.artifact, p.code))
        .collect();
    assert_eq!(
        found,
        [
            (Some(1), Some(ArtifactKind::Gguf), ProblemCode::HashMismatch),
            (Some(1), Some(ArtifactKind::Modelfile), ProblemCode::Missing),
            (
                Some(2),
                Some(ArtifactKind::Adapter),
                ProblemCode::SizeMismatch
            ),
        ]
    );
    assert!(bad.problems[0].message.contains("model-Q4_K_M.gguf"));
    // Activation checks presence and sizes: v1 lost its Modelfile.
    let err = l.activate(&lk, 1, "test").unwrap_err();
    assert!(err.to_string().contains("Modelfile"), "{err}");
}

#[test]
fn rollback_restores_the_previous_activation_in_models_json() {
    let dir = profile();
    let root = dir.path();
    fs::write(
        root.join(MODELS_FILE),
        r#"{"globalSettings": {"includePersonaSummary": true, "useAdapter": false}, "roles": {"chat": "x"}}"#,
    )
    .unwrap();
    let l = lineage(root);
    let lk = lock(root);
    for n in 1..=3 {
        l.add_version(&lk, new_version(root, n)).unwrap();
    }
    l.set_ollama_model(&lk, 1, "nell-one").unwrap();
    let c = l.activate(&lk, 1, "test").unwrap();
    assert_eq!(c.model_name.as_deref(), Some("nell-one"));
    assert_eq!(c.adapter_status.as_deref(), Some("loaded"));
    assert!(c.use_adapter);
    let after_1 = read_json(&root.join(MODELS_FILE));
    l.activate(&lk, 2, "test").unwrap();
    let after_2 = read_json(&root.join(MODELS_FILE));
    assert_eq!(
        after_2["globalSettings"]["activeAdapter"]["lineageVersion"],
        2
    );
    // v2 is not in Ollama: the seed's status for that, and no adapter for the seed's chat.
    assert_eq!(
        after_2["globalSettings"]["activeAdapter"]["status"],
        "ready_for_ollama_load"
    );
    assert_eq!(after_2["globalSettings"]["useAdapter"], false);
    assert_eq!(
        after_2["globalSettings"]["activeAdapter"]["modelName"],
        format!("nell-{}", label(2))
    );
    l.activate(&lk, 3, "test").unwrap();

    let strip = |mut v: Value| {
        if let Some(a) = v["globalSettings"]["activeAdapter"].as_object_mut() {
            assert!(a.remove("activatedAt").is_some());
        }
        v
    };
    let r = l.rollback(&lk, None, "test").unwrap();
    assert_eq!((r.version, r.previous), (Some(2), Some(3)));
    assert_eq!(
        strip(read_json(&root.join(MODELS_FILE))),
        strip(after_2.clone())
    );
    let r = l.rollback(&lk, None, "test").unwrap();
    assert_eq!(r.version, Some(1));
    assert_eq!(
        strip(read_json(&root.join(MODELS_FILE))),
        strip(after_1.clone())
    );
    let reg = l.load().unwrap();
    let st: Vec<Status> = reg.training_history.iter().map(|v| v.status).collect();
    assert_eq!(st, [Status::Active, Status::Retired, Status::Retired]);
    // Before the first activation the base model was in use.
    let r = l.rollback(&lk, None, "test").unwrap();
    assert_eq!(r.version, None);
    let m = read_json(&root.join(MODELS_FILE));
    assert_eq!(m["globalSettings"]["useAdapter"], false);
    assert!(m["globalSettings"]["activeAdapter"].is_null());
    assert_eq!(m["roles"]["chat"], "x");
    assert!(matches!(
        l.rollback(&lk, None, "test").unwrap_err(),
        LineageError::NothingToRollBack(_)
    ));
    // --to: any usable version; undo then returns to the base model again.
    let r = l.rollback(&lk, Some(3), "test").unwrap();
    assert_eq!((r.version, r.previous), (Some(3), None));
    assert!(l.rollback(&lk, Some(3), "test").is_err());
    let r = l.rollback(&lk, None, "test").unwrap();
    assert_eq!(r.version, None);

    let events: Vec<String> = audit_events(root)
        .iter()
        .map(|e| e["event"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        events,
        [
            "adapter_activated",
            "adapter_activated",
            "adapter_activated",
            "adapter_rollback",
            "adapter_rollback",
            "adapter_rollback",
            "adapter_rollback",
            "adapter_rollback",
        ]
    );
    let first = &audit_events(root)[0];
    assert_eq!(first["category"], "action");
    assert_eq!(first["details"]["modelName"], "nell-one");
    assert_eq!(first["userId"], "nell");
}

#[test]
fn deactivate_falls_back_at_once_and_refresh_keeps_the_activation_time() {
    let dir = profile();
    let root = dir.path();
    let l = lineage(root);
    let lk = lock(root);
    l.add_version(&lk, new_version(root, 1)).unwrap();
    // Deactivating with nothing active changes nothing and writes nothing.
    let c = l.deactivate(&lk, "test").unwrap();
    assert!(!c.changed);
    assert!(!root.join(MODELS_FILE).exists());
    l.activate(&lk, 1, "cli").unwrap();
    let at = read_json(&root.join(MODELS_FILE))["globalSettings"]["activeAdapter"]["activatedAt"]
        .clone();
    // Registering in Ollama afterwards refreshes models.json: loaded, useAdapter, same time.
    l.set_ollama_model(&lk, 1, "nell-v1").unwrap();
    let m = read_json(&root.join(MODELS_FILE));
    let a = &m["globalSettings"]["activeAdapter"];
    assert_eq!(a["status"], "loaded");
    assert_eq!(a["modelName"], "nell-v1");
    assert_eq!(a["activatedAt"], at);
    assert_eq!(a["activatedBy"], "cli");
    assert_eq!(a["runLabel"], label(1));
    assert_eq!(a["trainingMethod"], "local");
    assert_eq!(a["baseModel"], "Qwen/Qwen2.5-0.5B-Instruct");
    assert_eq!(a["date"], "2026-03-01");
    assert!(a["adapterPath"].as_str().unwrap().ends_with("/adapter"));
    assert!(a["modelfilePath"].as_str().unwrap().ends_with("/Modelfile"));
    assert_eq!(m["globalSettings"]["useAdapter"], true);
    let st = l.status().unwrap();
    assert_eq!(st.serving, "nell-v1");
    assert_eq!(st.mismatch, None);

    let c = l.deactivate(&lk, "test").unwrap();
    assert!(c.changed);
    assert_eq!(c.replaced_model.as_deref(), Some("nell-v1"));
    let m = read_json(&root.join(MODELS_FILE));
    assert_eq!(m["globalSettings"]["useAdapter"], false);
    assert!(m["globalSettings"]["activeAdapter"].is_null());
    assert_eq!(l.load().unwrap().get(1).unwrap().status, Status::Retired);
    assert_eq!(l.status().unwrap().serving, "base model");
    // Rollback undoes the deactivation.
    assert_eq!(l.rollback(&lk, None, "test").unwrap().version, Some(1));
    let ev = audit_events(root);
    assert!(ev.iter().any(|e| e["event"] == "adapter_deactivated"));

    // A hand-broken activeAdapter does not block the emergency switch.
    fs::write(
        root.join(MODELS_FILE),
        r#"{"globalSettings": {"useAdapter": true, "activeAdapter": 42}, "roles": {}}"#,
    )
    .unwrap();
    let c = l.deactivate(&lk, "test").unwrap();
    assert!(c.changed);
    assert!(
        c.warnings[0].contains("globalSettings.activeAdapter"),
        "{:?}",
        c.warnings
    );
    let m = read_json(&root.join(MODELS_FILE));
    assert_eq!(m["globalSettings"]["useAdapter"], false);
    assert!(m["globalSettings"]["activeAdapter"].is_null());
    assert!(m["roles"].is_object());
}

#[test]
fn gc_never_touches_the_active_version_or_its_ancestors() {
    let dir = profile();
    let root = dir.path();
    let l = lineage(root);
    let lk = lock(root);
    l.add_version(&lk, new_version(root, 1)).unwrap();
    l.activate(&lk, 1, "test").unwrap();
    l.add_version(&lk, new_version(root, 2)).unwrap(); // parent 1
    l.activate(&lk, 2, "test").unwrap();
    l.add_version(&lk, new_version(root, 3)).unwrap(); // parent 2
    let mut v4 = new_version(root, 4);
    // v4 also records v2's GGUF (shared) and a file it does not own.
    let foreign = root.join("foreign.gguf");
    fs::write(&foreign, b"not ours").unwrap();
    v4.artifacts.push(
        Artifact::record(
            ArtifactKind::Gguf,
            &root
                .join("out/runs")
                .join(label(2))
                .join("model-Q4_K_M.gguf"),
            true,
        )
        .unwrap(),
    );
    v4.artifacts
        .push(Artifact::record(ArtifactKind::GgufAdapter, &foreign, false).unwrap());
    l.add_version(&lk, v4).unwrap();
    l.add_version(&lk, new_version(root, 5)).unwrap();
    let run = |n: u32| root.join("out/runs").join(label(n));
    let size_of = |n: u32| -> u64 {
        [
            "adapter/adapter_model.safetensors",
            "adapter/adapter_config.json",
            "model-Q4_K_M.gguf",
            "Modelfile",
        ]
        .iter()
        .map(|f| fs::metadata(run(n).join(f)).unwrap().len())
        .sum()
    };
    let expected = size_of(3) + size_of(4);

    let registry_before = fs::read(root.join(REGISTRY_FILE)).unwrap();
    let dry = l.gc(&lk, 1, true).unwrap();
    assert_eq!(dry.freed_bytes, expected);
    assert_eq!(fs::read(root.join(REGISTRY_FILE)).unwrap(), registry_before);
    assert!(run(3).join("model-Q4_K_M.gguf").exists());

    let report = l.gc(&lk, 1, false).unwrap();
    assert_eq!(report.kept, [1, 2, 5]);
    assert_eq!(report.protected, [2, 1]);
    let pruned: Vec<u32> = report.pruned.iter().map(|p| p.version).collect();
    assert_eq!(pruned, [3, 4]);
    assert_eq!(report.freed_bytes, expected);
    assert_eq!(report.pruned[1].shared.len(), 1);
    for n in [1, 2, 5] {
        assert!(size_of(n) > 0, "v{n} untouched");
    }
    for n in [3, 4] {
        assert!(!run(n).join("adapter").exists(), "emptied artifact dirs go");
        assert!(!run(n).join("model-Q4_K_M.gguf").exists());
        assert!(!run(n).join("Modelfile").exists());
    }
    assert!(foreign.exists());
    let reg = l.load().unwrap();
    assert_eq!(reg.get(3).unwrap().status, Status::Retired);
    assert!(reg.get(4).unwrap().pruned_at.is_some());
    assert!(
        l.verify().unwrap().ok(),
        "{:?}",
        l.verify().unwrap().problems
    );
    assert!(matches!(
        l.activate(&lk, 3, "test").unwrap_err(),
        LineageError::NotActivatable { version: 3, .. }
    ));
    // keep 0: still the active one and its parent.
    let r0 = l.gc(&lk, 0, false).unwrap();
    assert_eq!(r0.kept, [1, 2]);
    assert!(run(1).join("model-Q4_K_M.gguf").exists());
    assert!(run(2).join("model-Q4_K_M.gguf").exists());
    assert!(!run(5).join("model-Q4_K_M.gguf").exists());
}

#[test]
fn invalid_registry_is_an_error_naming_the_position_and_is_never_overwritten() {
    let dir = profile();
    let root = dir.path();
    let l = lineage(root);
    let lk = lock(root);
    let text = "{\n  \"training_history\": [\n    {\"version\": 1,,}\n  ]\n}\n";
    fs::write(root.join(REGISTRY_FILE), text).unwrap();
    fs::write(root.join(MODELS_FILE), "{\"roles\": {}}").unwrap();
    let err = l.load().unwrap_err();
    match &err {
        LineageError::InvalidJson { line, column, .. } => {
            assert_eq!((*line, *column), (3, 19));
        }
        other => panic!("{other:?}"),
    }
    let msg = err.to_string();
    assert!(msg.contains("model-registry.json"), "{msg}");
    assert!(msg.contains("line 3 column 19"), "{msg}");
    assert!(l.add_version(&lk, new_version(root, 1)).is_err());
    assert!(l.activate(&lk, 1, "t").is_err());
    assert!(l.deactivate(&lk, "t").is_err());
    assert!(l.gc(&lk, 0, false).is_err());
    assert!(l.verify().is_err());
    assert_eq!(fs::read_to_string(root.join(REGISTRY_FILE)).unwrap(), text);
    assert_eq!(
        fs::read_to_string(root.join(MODELS_FILE)).unwrap(),
        "{\"roles\": {}}"
    );

    // A wrongly typed field names the field; duplicate versions are refused.
    fs::write(
        root.join(REGISTRY_FILE),
        r#"{"training_history": [{"version": "two"}]}"#,
    )
    .unwrap();
    let msg = l.load().unwrap_err().to_string();
    assert!(msg.contains("training_history[0]"), "{msg}");
    fs::write(
        root.join(REGISTRY_FILE),
        r#"{"training_history": [{"version": 1}, {"version": 1}]}"#,
    )
    .unwrap();
    let msg = l.load().unwrap_err().to_string();
    assert!(msg.contains("training_history[1].version"), "{msg}");

    // An invalid models.json stops activation before the registry changes.
    let reg_text = "{}";
    fs::write(root.join(REGISTRY_FILE), reg_text).unwrap();
    l.add_version(&lk, new_version(root, 1)).unwrap();
    let good = fs::read(root.join(REGISTRY_FILE)).unwrap();
    fs::write(root.join(MODELS_FILE), "{\"globalSettings\": [}").unwrap();
    let msg = l.activate(&lk, 1, "t").unwrap_err().to_string();
    assert!(
        msg.contains("models.json") && msg.contains("line 1"),
        "{msg}"
    );
    assert_eq!(fs::read(root.join(REGISTRY_FILE)).unwrap(), good);
}

#[test]
fn legacy_active_adapter_json_is_migrated_as_the_seed_does() {
    let dir = profile();
    let root = dir.path();
    let l = lineage(root);
    let legacy = root.join(LEGACY_ACTIVE_ADAPTER);
    fs::create_dir_all(legacy.parent().unwrap()).unwrap();
    let record = json!({
        "modelName": "greg-2025-10-01",
        "activatedAt": "2025-10-02T06:00:00.000Z",
        "dataset": "2025-10-01",
        "status": "loaded",
        "evalScore": 0.82,
        "activatedBy": "morning-loader",
        "customField": [1]
    });
    fs::write(&legacy, serde_json::to_vec(&record).unwrap()).unwrap();
    fs::write(
        root.join(MODELS_FILE),
        r#"{"globalSettings": {"includePersonaSummary": true, "useAdapter": false}, "roles": {"a": 1}}"#,
    )
    .unwrap();
    assert!(l.legacy_pending().unwrap());
    let st = l.status().unwrap();
    assert!(st.legacy_file.is_some());
    let lk = lock(root);
    let info = l.migrate_legacy(&lk).unwrap().unwrap();
    assert_eq!(info.model_name, "greg-2025-10-01");
    assert!(!legacy.exists());
    let m = read_json(&root.join(MODELS_FILE));
    assert_eq!(m["globalSettings"]["useAdapter"], true);
    assert_eq!(m["globalSettings"]["activeAdapter"], record);
    assert_eq!(m["roles"]["a"], 1);
    assert_eq!(l.status().unwrap().serving, "greg-2025-10-01");
    // The seed-activated adapter is not from this lineage: no mismatch with an empty registry.
    assert_eq!(l.status().unwrap().mismatch, None);
    assert!(l.migrate_legacy(&lk).unwrap().is_none());

    // A bare string is a model name with status loaded; an adapter already in use wins and
    // the legacy file stays until an activation removes it.
    fs::write(&legacy, "\"greg-2025-09-01\"").unwrap();
    assert!(!l.legacy_pending().unwrap());
    assert!(l.migrate_legacy(&lk).unwrap().is_none());
    assert!(legacy.exists());
    l.add_version(&lk, new_version(root, 1)).unwrap();
    let c = l.activate(&lk, 1, "test").unwrap();
    assert_eq!(c.replaced_model.as_deref(), Some("greg-2025-10-01"));
    assert!(!legacy.exists());

    // With no adapter in use, the bare string migrates.
    l.deactivate(&lk, "test").unwrap();
    fs::write(&legacy, "\"greg-2025-09-01\"").unwrap();
    let info = l.migrate_legacy(&lk).unwrap().unwrap();
    assert_eq!(info.status.as_deref(), Some("loaded"));
    let m = read_json(&root.join(MODELS_FILE));
    assert_eq!(
        m["globalSettings"]["activeAdapter"]["modelName"],
        "greg-2025-09-01"
    );
    assert!(audit_events(root)
        .iter()
        .any(|e| e["event"] == "adapter_legacy_migrated"));

    // An unreadable legacy file is an error and stays.
    l.deactivate(&lk, "test").unwrap();
    fs::write(&legacy, "{oops").unwrap();
    let msg = l.migrate_legacy(&lk).unwrap_err().to_string();
    assert!(msg.contains("active-adapter.json"), "{msg}");
    assert!(legacy.exists());
}

#[test]
fn a_second_writer_is_blocked_and_a_foreign_lock_is_refused() {
    let dir = profile();
    let root = dir.path();
    let l = lineage(root);
    let held = lock(root);
    match ProfileLock::acquire(root, "lineage gc").unwrap_err() {
        LockError::Held { what, .. } => assert_eq!(what, "test"),
        other => panic!("{other:?}"),
    }
    let other = tempfile::tempdir().unwrap();
    let foreign = lock(other.path());
    let err = l.add_version(&foreign, new_version(root, 1)).unwrap_err();
    assert!(matches!(err, LineageError::WrongLock { .. }), "{err}");
    assert!(!root.join(REGISTRY_FILE).exists());
    l.add_version(&held, new_version(root, 1)).unwrap();
}

fn seed_fixture(root: &Path) -> PathBuf {
    let text = fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/seed-model-registry.json"),
    )
    .unwrap()
    .replace("@ROOT@", root.to_str().unwrap());
    let p = root.join("seed-registry.json");
    fs::write(&p, text).unwrap();
    p
}

#[test]
fn import_reads_the_seed_registry_once() {
    let dir = profile();
    let root = dir.path();
    // v1's model dir and the GGUF under the name the seed's converter really wrote.
    let run1 = root.join("out/fine-tuned-models/2026-01-05/2026-01-05-080102-a1b2c3");
    fs::create_dir_all(run1.join("model")).unwrap();
    fs::write(run1.join("model/model.safetensors"), vec![1u8; 300]).unwrap();
    fs::write(run1.join("model/config.json"), b"{}").unwrap();
    fs::write(run1.join("model-Q6_K.gguf"), vec![2u8; 500]).unwrap();
    let file = seed_fixture(root);
    let l = lineage(root);
    let lk = lock(root);
    let r = l.import(&lk, &file).unwrap();
    assert!(r.took_header);
    assert_eq!(r.imported.len(), 2);
    assert_eq!(r.imported[0].artifacts, 2);
    assert_eq!(r.imported[1].artifacts, 0);
    assert_eq!(r.imported[1].missing.len(), 2);
    let reg = l.load().unwrap();
    assert_eq!(reg.original_base_model, "Qwen/Qwen3.5-9B");
    assert_eq!(reg.model_type, ModelType::Local);
    assert!(reg.versioning.auto_update_base);
    let v1 = reg.get(1).unwrap();
    let v2 = reg.get(2).unwrap();
    assert_eq!(v2.parent_version, Some(1));
    assert_eq!(v1.method, Some(Method::Full));
    assert_eq!(v1.location.as_ref().unwrap().kind, Place::Remote);
    assert_eq!(v2.mode_filter.as_deref(), Some("dual"));
    assert_eq!(
        v2.extra["pod_note"],
        "a key the seed never wrote, kept on import"
    );
    assert_eq!(v1.artifacts[1].quant.as_deref(), Some("Q6_K"));
    assert!(v1.artifacts.iter().all(|a| !a.owned));
    assert_eq!(v1.imported_from.as_ref().unwrap().version, 1);
    let raw = read_json(&root.join(REGISTRY_FILE));
    assert_eq!(raw["output_formats"]["quantized"]["quantization"], "Q8_0");
    // Importing again adds nothing.
    let again = l.import(&lk, &file).unwrap();
    assert!(again.imported.is_empty());
    assert_eq!(again.already_present, [(1, 1), (2, 2)]);
    // v1 can be activated (its files are here); v2 cannot.
    l.activate(&lk, 1, "test").unwrap();
    let err = l.activate(&lk, 2, "test").unwrap_err().to_string();
    assert!(err.contains("no artifacts"), "{err}");
    // gc never deletes files it does not own.
    l.deactivate(&lk, "test").unwrap();
    l.gc(&lk, 0, false).unwrap();
    assert!(run1.join("model-Q6_K.gguf").exists());
    assert!(run1.join("model/model.safetensors").exists());
    // A bad file is an error with its position.
    fs::write(&file, "[1, 2").unwrap();
    let msg = l.import(&lk, &file).unwrap_err().to_string();
    assert!(
        msg.contains("seed-registry.json") && msg.contains("line 1"),
        "{msg}"
    );
}

#[test]
fn continuous_learning_moves_current_base_model_when_enabled() {
    let dir = profile();
    let root = dir.path();
    fs::write(
        root.join(REGISTRY_FILE),
        r#"{"original_base_model": "Qwen/Qwen2.5-0.5B-Instruct", "current_base_model": "Qwen/Qwen2.5-0.5B-Instruct",
            "model_type": "huggingface", "training_history": [],
            "versioning": {"enabled": true, "auto_update_base": true, "keep_all_versions": true}}"#,
    )
    .unwrap();
    let l = lineage(root);
    let lk = lock(root);
    let mut v = new_version(root, 1);
    let merged = root.join("out/runs").join(label(1)).join("merged");
    fs::create_dir_all(&merged).unwrap();
    fs::write(merged.join("model.safetensors"), b"weights").unwrap();
    v.artifacts
        .push(Artifact::record(ArtifactKind::Merged, &merged, true).unwrap());
    l.add_version(&lk, v).unwrap();
    let reg = l.load().unwrap();
    assert_eq!(reg.current_base_model, merged.to_str().unwrap());
    assert_eq!(reg.model_type, ModelType::Local);
    assert_eq!(
        reg.get(1).unwrap().output_model_path,
        merged.to_str().unwrap()
    );
    assert_eq!(reg.original_base_model, "Qwen/Qwen2.5-0.5B-Instruct");
}
