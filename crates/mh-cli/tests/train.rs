//! `train`, `eval` and `generate` as a user runs them: a tiny model from the demo profile, its
//! tokenized dataset, a short run, the adapter scored and used; the base model also fetched by
//! hub id from a loopback hub.

use std::path::{Path, PathBuf};

mod common;
use common::{demo_copy, mh_train, mh_train_env, s, stderr};
use serde_json::Value;

struct Setup {
    _profile: tempfile::TempDir,
    dir: tempfile::TempDir,
    model: PathBuf,
    dataset: PathBuf,
}

fn ok(args: &[&str]) -> String {
    let o = mh_train(args);
    assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    String::from_utf8(o.stdout).unwrap()
}

fn setup() -> Setup {
    let profile = demo_copy();
    let dir = tempfile::tempdir().unwrap();
    let p = s(profile.path());
    let model = dir.path().join("model");
    let dataset = dir.path().join("dataset");
    ok(&[
        "--profile",
        p,
        "-q",
        "dev",
        "tiny-model",
        "--out",
        s(&model),
        "--vocab-size",
        "512",
    ]);
    ok(&[
        "--profile",
        p,
        "-q",
        "dataset",
        "build",
        "--seed",
        "7",
        "--out",
        s(&dataset),
        "--model",
        s(&model),
        "--max-seq-length",
        "1024",
    ]);
    Setup {
        _profile: profile,
        dir,
        model,
        dataset,
    }
}

fn json(out: &str) -> Value {
    serde_json::from_str(out).unwrap()
}

fn train_args<'a>(base: &'a str, dataset: &'a Path, out: &'a Path) -> Vec<&'a str> {
    vec![
        "--json",
        "-q",
        "train",
        "--base-model",
        base,
        "--dataset",
        s(dataset),
        "--out",
        s(out),
        "--device",
        "cpu",
        "--max-steps",
        "4",
        "--gradient-accumulation-steps",
        "2",
        "--learning-rate",
        "3e-3",
        "--eval-every",
        "2",
        "--save-every",
        "2",
    ]
}

#[test]
fn train_then_eval_and_generate_with_the_adapter() {
    let st = setup();
    let run = st.dir.path().join("run");
    let report = json(&ok(&train_args(s(&st.model), &st.dataset, &run)));
    assert_eq!(report["status"], "finished");
    assert_eq!(report["steps_completed"], 4);
    let (first, last) = (
        report["initial_eval"]["loss"].as_f64().unwrap(),
        report["final_eval"]["loss"].as_f64().unwrap(),
    );
    assert!(last < first, "eval loss {first} -> {last}");
    for f in [
        "adapter/adapter_model.safetensors",
        "adapter/adapter_config.json",
        "metrics.jsonl",
        "loss.svg",
        "train-report.json",
        "checkpoints/checkpoint-2/optimizer.safetensors",
    ] {
        assert!(run.join(f).is_file(), "{f}");
    }
    let metrics = std::fs::read_to_string(run.join("metrics.jsonl")).unwrap();
    let step: Value = serde_json::from_str(metrics.lines().nth(1).unwrap()).unwrap();
    for key in [
        "step",
        "epoch",
        "loss",
        "lr",
        "grad_norm",
        "tokens",
        "tokens_per_s",
        "elapsed_s",
    ] {
        assert!(step.get(key).is_some(), "{key} missing in {step}");
    }

    // The adapter's eval loss is the report's best; without it, the base model's.
    let base = s(&st.model);
    let adapter = run.join("adapter");
    let eval = |extra: &[&str]| {
        let head = ["--json", "eval", "--base-model", base, "--device", "cpu"];
        json(&ok(&[&head[..], extra].concat()))
    };
    let with = eval(&["--adapter", s(&adapter), "--dataset", s(&st.dataset)]);
    let without = eval(&["--dataset", s(&st.dataset)]);
    let best = report["best_eval_loss"].as_f64().unwrap();
    let loss = |v: &Value| v["loss"].as_f64().unwrap();
    assert!((loss(&with) - best).abs() < 1e-4, "{with} vs {best}");
    assert!(
        (loss(&without) - first).abs() < 1e-4,
        "{without} vs {first}"
    );
    assert!((with["ppl"].as_f64().unwrap() - best.exp()).abs() < 1e-3 * best.exp());
    // A chat JSONL file scores the same samples through the template (none was truncated).
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(st.dataset.join("tokenized.json")).unwrap()).unwrap();
    assert_eq!(manifest["eval"]["dropped"], serde_json::json!({}));
    let chat = eval(&["--dataset", s(&st.dataset.join("eval.jsonl"))]);
    assert_eq!(chat["tokens"], without["tokens"]);

    let generate = |seed: &str| {
        json(&ok(&[
            "--json",
            "generate",
            "--base-model",
            base,
            "--device",
            "cpu",
            "--adapter",
            s(&run.join("adapter")),
            "--prompt",
            "How was the piano?",
            "--system",
            "You are Nell.",
            "--max-tokens",
            "12",
            "--temperature",
            "0.9",
            "--seed",
            seed,
        ]))
    };
    let (a, b) = (generate("1"), generate("1"));
    assert_eq!(
        (&a["text"], &a["new_tokens"]),
        (&b["text"], &b["new_tokens"])
    );
    assert!(a["new_tokens"].as_u64().unwrap() >= 1 && a["new_tokens"].as_u64().unwrap() <= 12);
    assert!(a["prompt_tokens"].as_u64().unwrap() > 5);

    // --resume on the finished run redoes the steps after its last checkpoint (step 2) and
    // ends exactly where the first run did.
    let o = mh_train(&[train_args(base, &st.dataset, &run), vec!["--resume"]].concat());
    assert!(o.status.success(), "{}", stderr(&o));
    let again: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(again["final_loss"], report["final_loss"]);
}

#[test]
fn a_hub_id_resolves_through_the_hugging_face_cache() {
    let st = setup();
    let repo = mh_testkit::FakeRepo::from_dir("nell/tiny-demo", &st.model).unwrap();
    let hub = mh_testkit::FakeHub::start([repo]).unwrap();
    let home = tempfile::tempdir().unwrap();
    let run = st.dir.path().join("hub-run");
    let env = [
        ("HF_ENDPOINT", hub.endpoint()),
        ("HF_HOME", s(home.path()).to_string()),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let o = mh_train_env(&train_args("nell/tiny-demo", &st.dataset, &run), &env);
    assert!(o.status.success(), "{}", stderr(&o));
    let snapshots = home.path().join("hub/models--nell--tiny-demo/snapshots");
    assert_eq!(std::fs::read_dir(&snapshots).unwrap().count(), 1);
    let cfg: Value =
        serde_json::from_slice(&std::fs::read(run.join("adapter/adapter_config.json")).unwrap())
            .unwrap();
    assert_eq!(cfg["base_model_name_or_path"], "nell/tiny-demo");

    // Offline, the cached snapshot is enough.
    let offline: Vec<(&str, &str)> = [env.clone(), vec![("HF_HUB_OFFLINE", "1")]].concat();
    drop(hub);
    let o = mh_train_env(
        &[
            "--json",
            "eval",
            "--base-model",
            "nell/tiny-demo",
            "--device",
            "cpu",
            "--dataset",
            s(&st.dataset),
        ],
        &offline,
    );
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn bad_inputs_are_named() {
    let st = setup();
    let run = st.dir.path().join("bad");
    let base = s(&st.model);
    let fails = |args: &[&str], needle: &str| {
        let o = mh_train(args);
        assert!(!o.status.success(), "{args:?} succeeded");
        assert!(
            stderr(&o).contains(needle),
            "{needle:?} not in {}",
            stderr(&o)
        );
    };
    let args = train_args(base, &st.dataset, &run);
    // A dataset directory without tokens.
    fails(&train_args(base, st.dir.path(), &run), "tokenized.json");
    // An unknown device.
    let mut tpu = args.clone();
    let at = tpu.iter().position(|a| *a == "cpu").unwrap();
    tpu[at] = "tpu";
    fails(&tpu, "tpu");
    // --resume with nothing to resume.
    fails(&[&args[..], &["--resume"]].concat(), "no checkpoint");
    // A config file with a bad value.
    let cfg = st.dir.path().join("bad.json");
    std::fs::write(&cfg, r#"{"lora_rank": 0}"#).unwrap();
    fails(&[&args[..], &["--config", s(&cfg)]].concat(), "rank");
}
