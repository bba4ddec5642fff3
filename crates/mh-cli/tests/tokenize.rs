//! `dev tokenizer` and `dataset build --model` as a user runs them.

use std::fs;
use std::path::Path;

mod common;
use common::{mh_train, s, stderr};

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&fs::read(path).unwrap()).unwrap()
}

/// A demo profile copy and a tiny tokenizer trained on it through the CLI.
fn setup() -> (tempfile::TempDir, tempfile::TempDir) {
    let profile = tempfile::tempdir().unwrap();
    mh_testkit::copy_dir(&mh_testkit::demo_profile(), profile.path()).unwrap();
    let model = tempfile::tempdir().unwrap();
    let o = mh_train(&[
        "--profile",
        s(profile.path()),
        "--json",
        "dev",
        "tokenizer",
        "--out",
        s(model.path()),
        "--vocab-size",
        "2048",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["vocab_size"].as_u64().unwrap() > 259);
    assert_eq!(
        names(model.path()),
        ["tokenizer.json", "tokenizer_config.json"]
    );
    let config = json(&model.path().join("tokenizer_config.json"));
    assert_eq!(config["eos_token"], "<|im_end|>");
    assert_eq!(config["tokenizer_class"], "PreTrainedTokenizerFast");
    (profile, model)
}

#[test]
fn dataset_build_with_a_model_writes_the_tokenized_export() {
    let (profile, model) = setup();
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("ds");
    let o = mh_train(&[
        "--profile",
        s(profile.path()),
        "-q",
        "dataset",
        "build",
        "--out",
        s(&dir),
        "--model",
        s(model.path()),
        "--pack",
        "--max-seq-length",
        "1024",
        "--truncation",
        "keep-end",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        names(&dir),
        [
            "eval.jsonl",
            "eval.tokens.jsonl",
            "report.json",
            "tokenized.json",
            "train.jsonl",
            "train.tokens.jsonl"
        ]
    );
    let m = json(&dir.join("tokenized.json"));
    assert_eq!(m["max_seq_length"], 1024);
    assert_eq!(m["packing"]["enabled"], true);
    assert_eq!(m["truncation"], "keep_end");
    assert_eq!(m["chat_template"]["name"], "default");
    assert_eq!(m["end_of_turn"]["token"], "<|im_end|>");
    let report = json(&dir.join("report.json"));
    assert_eq!(report["tokens"]["train"], m["train"]);
    let lines = fs::read_to_string(dir.join("train.tokens.jsonl")).unwrap();
    let mut samples = 0;
    for l in lines.lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        let n = v["input_ids"].as_array().unwrap().len();
        assert!(n <= 1024);
        assert_eq!(v["labels"].as_array().unwrap().len(), n);
        let lengths: Vec<u64> = serde_json::from_value(v["lengths"].clone()).unwrap();
        assert_eq!(lengths.iter().sum::<u64>() as usize, n);
        samples += lengths.len();
    }
    assert_eq!(samples as u64, m["train"]["samples"].as_u64().unwrap());
    assert!(samples > 0);

    // Without --model nothing changes: no token files, no `tokens` in the report.
    let plain = out.path().join("plain");
    let o = mh_train(&[
        "--profile",
        s(profile.path()),
        "-q",
        "dataset",
        "build",
        "--out",
        s(&plain),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(names(&plain), ["eval.jsonl", "report.json", "train.jsonl"]);
    assert!(json(&plain.join("report.json")).get("tokens").is_none());
    assert_eq!(
        fs::read(plain.join("train.jsonl")).unwrap(),
        fs::read(dir.join("train.jsonl")).unwrap()
    );
}

#[test]
fn a_bad_template_leaves_no_files() {
    let (profile, model) = setup();
    let out = tempfile::tempdir().unwrap();
    let broken = out.path().join("broken.jinja");
    fs::write(&broken, "{% for m in messages %}{{ m.content }").unwrap();
    let raising = out.path().join("raising.jinja");
    fs::write(
        &raising,
        "{% for m in messages %}{% if m.role == 'assistant' %}{{ raise_exception('assistant turns are not supported') }}{% endif %}{{ m.content }}{% endfor %}",
    )
    .unwrap();
    for (template, says) in [
        (&broken, "syntax"),
        (&raising, "assistant turns are not supported"),
    ] {
        let dir = out.path().join("ds");
        let o = mh_train(&[
            "--profile",
            s(profile.path()),
            "-q",
            "dataset",
            "build",
            "--out",
            s(&dir),
            "--model",
            s(model.path()),
            "--chat-template",
            s(template),
        ]);
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        let err = stderr(&o);
        assert!(err.contains(says), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(!dir.exists(), "{:?}", names(&dir));
    }
    // Options that only make sense with a model are refused without one.
    let o = mh_train(&["--profile", s(profile.path()), "dataset", "build", "--pack"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}
