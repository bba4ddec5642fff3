//! `merge` as a user runs it: a tiny model from the demo profile and a PEFT-saved adapter merged
//! into a standalone model directory that generates exactly what base + adapter generates; a
//! non-empty output and an adapter for another model are refused with one line naming the cause.

use std::path::{Path, PathBuf};

mod common;
use common::{demo_copy, mh_train, mh_train_env, s, stderr};
use serde_json::Value;

fn ok(args: &[&str]) -> String {
    let o = mh_train(args);
    assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    String::from_utf8(o.stdout).unwrap()
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// The adapter `peft` saved for a qwen2 model of `dev tiny-model`'s default sizes.
fn adapter() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../mh-model/tests/fixtures/tiny-qwen2-adapter")
}

fn tiny_model(profile: &Path, out: &Path, extra: &[&str]) {
    let mut args = vec![
        "--profile",
        s(profile),
        "-q",
        "dev",
        "tiny-model",
        "--out",
        s(out),
        "--vocab-size",
        "512",
    ];
    args.extend_from_slice(extra);
    ok(&args);
}

#[test]
fn merged_model_generates_what_base_plus_adapter_generates() {
    let profile = demo_copy();
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model");
    tiny_model(profile.path(), &model, &[]);
    let adapter = adapter();
    let merged = dir.path().join("merged");

    let report = json(&ok(&[
        "--json",
        "-q",
        "merge",
        "--base-model",
        s(&model),
        "--adapter",
        s(&adapter),
        "--out",
        s(&merged),
    ]));
    assert_eq!(report["tensors_merged"].as_array().unwrap().len(), 14);
    assert_eq!(report["adapter"]["scale"], 2.0);
    assert_eq!(report["out_dir"], s(&merged));
    assert_eq!(report["weights"][0]["file"], "model.safetensors");
    // The model directory's other files come along: tokenizer, template, configs.
    for f in [
        "config.json",
        "generation_config.json",
        "tokenizer.json",
        "tokenizer_config.json",
    ] {
        assert_eq!(
            std::fs::read(merged.join(f)).unwrap(),
            std::fs::read(model.join(f)).unwrap(),
            "{f}"
        );
        assert!(report["copied_files"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v == f));
    }
    let record: Value =
        serde_json::from_slice(&std::fs::read(merged.join("merge.json")).unwrap()).unwrap();
    assert_eq!(record["adapter"], report["adapter"]);
    assert_eq!(record["weights"], report["weights"]);

    let generate = |base: &Path, adapter: Option<&Path>| {
        let mut args = vec![
            "--json",
            "-q",
            "generate",
            "--base-model",
            s(base),
            "--device",
            "cpu",
            "--prompt",
            "How was the piano?",
            "--max-tokens",
            "16",
            "--temperature",
            "0",
        ];
        if let Some(a) = adapter {
            args.extend_from_slice(&["--adapter", s(a)]);
        }
        let v = json(&ok(&args));
        (v["text"].clone(), v["new_tokens"].clone())
    };
    let with_adapter = generate(&model, Some(&adapter));
    assert_eq!(generate(&merged, None), with_adapter);
    // The adapter changes what the model says, so the comparison means something.
    assert_ne!(generate(&model, None), with_adapter);

    // Plain output names the result.
    let again = dir.path().join("again");
    let text = ok(&[
        "merge",
        "--base-model",
        s(&model),
        "--adapter",
        s(&adapter),
        "--out",
        s(&again),
    ]);
    assert!(text.contains("merged 14 of "), "{text}");
    assert!(text.contains(s(&again)), "{text}");

    // A hub id: the base comes through the Hugging Face cache and the record names repo and commit.
    let repo = mh_testkit::FakeRepo::from_dir("nell/tiny-demo", &model).unwrap();
    let hub = mh_testkit::FakeHub::start([repo]).unwrap();
    let home = tempfile::tempdir().unwrap();
    let env = [
        ("HF_ENDPOINT", hub.endpoint()),
        ("HF_HOME", s(home.path()).to_string()),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let from_hub = dir.path().join("from-hub");
    let o = mh_train_env(
        &[
            "-q",
            "merge",
            "--base-model",
            "nell/tiny-demo",
            "--adapter",
            s(&adapter),
            "--out",
            s(&from_hub),
        ],
        &env,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    drop(hub);
    let record: Value =
        serde_json::from_slice(&std::fs::read(from_hub.join("merge.json")).unwrap()).unwrap();
    assert_eq!(record["base"]["repo"], "nell/tiny-demo");
    let commit = record["base"]["commit"].as_str().unwrap();
    assert!(
        commit.len() == 40 && commit.chars().all(|c| c.is_ascii_hexdigit()),
        "{commit}"
    );
    assert_eq!(
        std::fs::read(from_hub.join("model.safetensors")).unwrap(),
        std::fs::read(merged.join("model.safetensors")).unwrap()
    );
}

#[test]
fn merge_refuses_a_full_output_and_a_mismatched_adapter() {
    let profile = demo_copy();
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model");
    tiny_model(profile.path(), &model, &["--hidden", "32"]);
    let adapter = adapter();

    let out = dir.path().join("out");
    let o = mh_train(&[
        "merge",
        "--base-model",
        s(&model),
        "--adapter",
        s(&adapter),
        "--out",
        s(&out),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.contains("self_attn.q_proj") && err.contains("wrong base model"),
        "{err}"
    );
    assert!(!out.exists());

    let o = mh_train(&[
        "merge",
        "--base-model",
        s(&model),
        "--adapter",
        s(&adapter),
        "--out",
        s(&model),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("already exists"), "{err}");
}
