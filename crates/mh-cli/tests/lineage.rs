//! `mh-train lineage …`, `activate`, `deactivate`, `status` as a user runs them.

use std::fs;
use std::path::PathBuf;
use std::process::Output;

use mh_lineage::{Artifact, ArtifactKind, Lineage, NewVersion, MODELS_FILE, REGISTRY_FILE};
use serde_json::Value;

mod common;
use common::{mh_train, s, stderr};

/// A MetaHuman root with `profiles/nell` and `n` registered versions (no activation).
struct Fx {
    root: tempfile::TempDir,
}

impl Fx {
    fn new(n: u32) -> Self {
        let root = tempfile::tempdir().unwrap();
        let fx = Self { root };
        fs::create_dir_all(fx.profile().join("etc")).unwrap();
        let lineage = Lineage::at(fx.profile(), Some("nell".into()));
        let lock = mh_profile::ProfileLock::acquire(&fx.profile(), "test setup").unwrap();
        for i in 1..=n {
            let v = lineage.add_version(&lock, fx.version(i)).unwrap();
            assert_eq!(v, i);
        }
        fx
    }

    fn profile(&self) -> PathBuf {
        self.root.path().join("profiles/nell")
    }

    fn run_dir(&self, i: u32) -> PathBuf {
        self.profile().join("out/runs").join(label(i))
    }

    fn version(&self, i: u32) -> NewVersion {
        let run = self.run_dir(i);
        let adapter = run.join("adapter");
        fs::create_dir_all(&adapter).unwrap();
        fs::write(
            adapter.join("adapter_model.safetensors"),
            vec![i as u8; 700],
        )
        .unwrap();
        fs::write(adapter.join("adapter_config.json"), b"{}").unwrap();
        let gguf = run.join("model-Q4_K_M.gguf");
        fs::write(&gguf, vec![3u8 + i as u8; 1500]).unwrap();
        NewVersion {
            run_id: format!("{i:016x}"),
            run_label: label(i),
            base_model_used: "Qwen/Qwen2.5-0.5B-Instruct".into(),
            samples_trained: 50,
            training_success: true,
            artifacts: vec![
                Artifact::record(ArtifactKind::Adapter, &adapter, true).unwrap(),
                Artifact::record(ArtifactKind::Gguf, &gguf, true).unwrap(),
            ],
            ..NewVersion::default()
        }
    }

    /// Run mh-train on this profile (by root and user).
    fn run(&self, args: &[&str]) -> Output {
        let mut all = vec!["--root", s(self.root.path()), "--user", "nell"];
        all.extend_from_slice(args);
        mh_train(&all)
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let o = self.run(&all);
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        serde_json::from_slice(&o.stdout).unwrap()
    }

    fn models(&self) -> Value {
        serde_json::from_slice(&fs::read(self.profile().join(MODELS_FILE)).unwrap()).unwrap()
    }
}

fn label(i: u32) -> String {
    format!("2026-04-{i:02}-093000-abcde{}", i % 10)
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn activate_status_show_history_rollback_deactivate() {
    let fx = Fx::new(2);
    let st = fx.json(&["status"]);
    assert!(st["active_version"].is_null());
    assert_eq!(st["serving"], "base model");

    let o = fx.run(&["activate", "1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains(&format!("now active: version 1 (nell-{})", label(1))),
        "{text}"
    );
    assert!(text.contains("ready_for_ollama_load"), "{text}");
    let c = fx.json(&["activate", "2"]);
    assert_eq!(c["version"], 2);
    assert_eq!(c["previous"], 1);
    assert_eq!(c["action"], "activate");
    assert_eq!(
        fx.models()["globalSettings"]["activeAdapter"]["lineageVersion"],
        2
    );
    let st = fx.json(&["status"]);
    assert_eq!(st["active_version"], 2);
    assert_eq!(st["active_run_label"], label(2));
    assert!(st["mismatch"].is_null());

    let o = fx.run(&["lineage", "show"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("active       version 2"), "{text}");
    assert!(text.contains("└─ v2  active"), "{text}");
    assert!(text.contains("v1  retired"), "{text}");
    let show = fx.json(&["lineage", "show"]);
    assert_eq!(show["versions"], 2);
    assert_eq!(show["tree"][0]["version"], 1);
    assert_eq!(show["tree"][0]["children"][0]["version"], 2);
    assert_eq!(show["state"]["active_version"], 2);

    let h = fx.json(&["lineage", "history"]);
    assert_eq!(h.as_array().unwrap().len(), 2);
    assert_eq!(h[1]["parent_version"], 1);
    assert_eq!(h[1]["status"], "active");
    let o = fx.run(&["lineage", "history"]);
    assert!(stdout(&o).contains("v2   parent v1"), "{}", stdout(&o));

    let r = fx.json(&["lineage", "rollback"]);
    assert_eq!(
        (r["version"].clone(), r["previous"].clone()),
        (1.into(), 2.into())
    );
    assert_eq!(
        fx.models()["globalSettings"]["activeAdapter"]["lineageVersion"],
        1
    );
    let r = fx.json(&["lineage", "rollback", "--to", "2"]);
    assert_eq!(r["version"], 2);

    let o = fx.run(&["deactivate"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("now active: the base model"));
    let m = fx.models();
    assert_eq!(m["globalSettings"]["useAdapter"], false);
    assert!(m["globalSettings"]["activeAdapter"].is_null());
    assert_eq!(fx.json(&["status"])["serving"], "base model");

    let o = fx.run(&["activate", "9"]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("no version 9") && err.contains("versions: 1, 2"),
        "{err}"
    );

    let audit: Vec<String> = fs::read_dir(fx.profile().join("logs/audit"))
        .unwrap()
        .flat_map(|e| {
            fs::read_to_string(e.unwrap().path())
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str::<Value>(l).unwrap()["event"].to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(
        audit,
        [
            "\"adapter_activated\"",
            "\"adapter_activated\"",
            "\"adapter_rollback\"",
            "\"adapter_rollback\"",
            "\"adapter_deactivated\""
        ]
    );
}

#[test]
fn verify_exit_status_follows_the_artifacts() {
    let fx = Fx::new(2);
    let o = fx.run(&["lineage", "verify"]);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("checked 2 versions, 4 artifacts, 6 files"));
    let gguf = fx.run_dir(2).join("model-Q4_K_M.gguf");
    let mut b = fs::read(&gguf).unwrap();
    b[0] ^= 1;
    fs::write(&gguf, b).unwrap();
    let o = fx.run(&["lineage", "verify"]);
    assert_eq!(o.status.code(), Some(1));
    let text = stdout(&o);
    assert!(
        text.contains("problem: version 2 gguf") && text.contains("sha256"),
        "{text}"
    );
    let o = fx.run(&["--json", "lineage", "verify"]);
    assert_eq!(o.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["problems"][0]["code"], "hash_mismatch");
    assert_eq!(v["problems"][0]["version"], 2);
    assert_eq!(v["problems"].as_array().unwrap().len(), 1);
}

#[test]
fn gc_keeps_the_active_chain_and_reports_bytes() {
    let fx = Fx::new(1);
    assert!(fx.run(&["activate", "1"]).status.success());
    let lineage = Lineage::at(fx.profile(), Some("nell".into()));
    {
        let lock = mh_profile::ProfileLock::acquire(&fx.profile(), "test").unwrap();
        for i in 2..=4 {
            lineage.add_version(&lock, fx.version(i)).unwrap();
        }
    }
    let dry = fx.json(&["lineage", "gc", "--keep", "1", "--dry-run"]);
    // v2 and v3 go: 700 + 2 + 1500 bytes each.
    assert_eq!(dry["freed_bytes"], 2 * 2202);
    assert!(fx.run_dir(2).join("model-Q4_K_M.gguf").exists());
    let o = fx.run(&["lineage", "gc", "--keep", "1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("v2: freed 2202 bytes in 3 files"), "{text}");
    assert!(
        text.contains("kept v1, v4; freed 4404 bytes in total"),
        "{text}"
    );
    assert!(!fx.run_dir(2).join("model-Q4_K_M.gguf").exists());
    assert!(fx.run_dir(1).join("model-Q4_K_M.gguf").exists());
    assert!(fx.run(&["lineage", "verify"]).status.success());
}

#[test]
fn import_a_seed_registry_twice() {
    let fx = Fx::new(0);
    let model = fx
        .profile()
        .join("out/fine-tuned-models/2026-01-05/r1/model");
    fs::create_dir_all(&model).unwrap();
    fs::write(model.join("model.safetensors"), b"w").unwrap();
    let seed = serde_json::json!({
        "comment": "x", "notes": [],
        "original_base_model": "Qwen/Qwen3.5-9B",
        "current_base_model": "Qwen/Qwen3.5-9B",
        "model_type": "huggingface",
        "training_history": [
            {"version": 1, "run_id": "1111", "run_label": "2026-01-05-080102-a1b2c3",
             "timestamp": "2026-01-05T09:15:00.000Z", "base_model_used": "Qwen/Qwen3.5-9B",
             "output_model_path": model.to_str().unwrap(),
             "gguf_path": model.parent().unwrap().join("model.gguf").to_str().unwrap(),
             "samples_trained": 12, "training_success": true},
            {"version": 2, "run_id": "2222", "run_label": "2026-01-06-080102-a1b2c4",
             "timestamp": "2026-01-06T09:15:00.000Z", "base_model_used": model.to_str().unwrap(),
             "output_model_path": "/nowhere/model", "gguf_path": "/nowhere/model.gguf",
             "samples_trained": 13, "training_success": false}
        ],
        "versioning": {"enabled": true, "auto_update_base": true, "keep_all_versions": true}
    });
    let file = fx.root.path().join("model-registry.json");
    fs::write(&file, serde_json::to_vec_pretty(&seed).unwrap()).unwrap();
    let o = fx.run(&["lineage", "import", s(&file)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("imported 2 versions"), "{text}");
    assert!(text.contains("v2 <- ") && text.contains("failed"), "{text}");
    assert!(text.contains("parent v1"), "{text}");
    let again = fx.json(&["lineage", "import", s(&file)]);
    assert_eq!(again["imported"].as_array().unwrap().len(), 0);
    assert_eq!(again["already_present"].as_array().unwrap().len(), 2);
    let reg: Value =
        serde_json::from_slice(&fs::read(fx.profile().join(REGISTRY_FILE)).unwrap()).unwrap();
    assert_eq!(reg["original_base_model"], "Qwen/Qwen3.5-9B");
    assert_eq!(reg["training_history"][1]["status"], "failed");
    let o = fx.run(&["lineage", "import", "/nowhere/registry.json"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("/nowhere/registry.json"));
}

#[test]
fn invalid_registry_and_a_held_lock_are_clear_errors_that_change_nothing() {
    let fx = Fx::new(1);
    let reg_path = fx.profile().join(REGISTRY_FILE);
    let good = fs::read(&reg_path).unwrap();
    {
        let _held = mh_profile::ProfileLock::acquire(&fx.profile(), "local").unwrap();
        for args in [
            &["activate", "1"][..],
            &["deactivate"],
            &["lineage", "rollback"],
        ] {
            let o = fx.run(args);
            assert_eq!(o.status.code(), Some(1), "{args:?}");
            let err = stderr(&o);
            assert!(err.contains("locked by another mh-train process"), "{err}");
            assert!(err.contains("local"), "{err}");
        }
        assert!(!fx.profile().join(MODELS_FILE).exists());
        assert_eq!(fs::read(&reg_path).unwrap(), good);
        // Readers do not need the lock.
        assert!(fx.run(&["lineage", "verify"]).status.success());
    }
    let bad = b"{\"training_history\": [\n  {\"version\": 1}\n  {\"version\": 2}\n]}\n";
    fs::write(&reg_path, bad).unwrap();
    for args in [
        &["lineage", "show"][..],
        &["lineage", "history"],
        &["lineage", "verify"],
        &["activate", "1"],
        &["lineage", "gc", "--keep", "0"],
        &["status"],
    ] {
        let o = fx.run(args);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        let err = stderr(&o);
        assert!(
            err.contains("model-registry.json") && err.contains("line 3 column 3"),
            "{args:?}: {err}"
        );
        assert_eq!(err.lines().count(), 1, "{err}");
    }
    assert_eq!(fs::read(&reg_path).unwrap(), bad);
    let o = fx.run(&["lineage", "gc"]);
    assert_eq!(o.status.code(), Some(2), "--keep is required");
}

#[test]
fn status_migrates_a_legacy_active_adapter_file() {
    let fx = Fx::new(0);
    let legacy = fx.profile().join("persona/overrides/active-adapter.json");
    fs::create_dir_all(legacy.parent().unwrap()).unwrap();
    fs::write(
        &legacy,
        br#"{"modelName": "greg-2025-10-01", "activatedAt": "2025-10-02T06:00:00Z", "status": "loaded"}"#,
    )
    .unwrap();
    let o = fx.run(&["status"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("migrated"), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("serving      greg-2025-10-01"),
        "{}",
        stdout(&o)
    );
    assert!(!legacy.exists());
    let m = fx.models();
    assert_eq!(m["globalSettings"]["useAdapter"], true);
    assert_eq!(
        m["globalSettings"]["activeAdapter"]["modelName"],
        "greg-2025-10-01"
    );
    // Deactivate is the emergency switch: the seed-activated model is dropped too.
    assert!(fx.run(&["deactivate"]).status.success());
    assert_eq!(fx.models()["globalSettings"]["useAdapter"], false);
}
