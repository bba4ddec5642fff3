//! `mh-train gguf export|adapter|inspect` as a user runs them: on a `dev tiny-model` directory
//! and on a PEFT adapter written by Python peft (mh-model's fixture), with `--json` reports, the
//! quant in the file name, and one-line errors for bad input.

use std::path::{Path, PathBuf};

mod common;
use common::{demo_copy, mh_train, s, stderr};
use serde_json::Value;

fn json_out(o: &std::process::Output) -> Value {
    assert!(o.status.success(), "{}", stderr(o));
    serde_json::from_slice(&o.stdout).expect("stdout is JSON")
}

fn model_fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../mh-model/tests/fixtures")
}

#[test]
fn export_then_inspect_a_tiny_model() {
    let profile = demo_copy();
    let tmp = tempfile::tempdir().unwrap();
    let model = tmp.path().join("model");
    let o = mh_train(&[
        "--profile",
        s(profile.path()),
        "-q",
        "dev",
        "tiny-model",
        "--out",
        s(&model),
        "--vocab-size",
        "400",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));

    let out = tmp.path().join("gguf");
    let report = json_out(&mh_train(&[
        "--json",
        "gguf",
        "export",
        "--model",
        s(&model),
        "--out",
        s(&out),
        "--quant",
        "q8_0",
    ]));
    let path = PathBuf::from(report["path"].as_str().unwrap());
    assert_eq!(path, out.join("model-Q8_0.gguf"));
    assert!(path.is_file());
    assert_eq!(report["file_type"], "Q8_0");
    assert_eq!(report["architecture"], "qwen2");
    assert_eq!(report["tokenizer_pre"], "qwen2");
    assert_eq!(report["chat_template"], true);

    let dump = json_out(&mh_train(&["--json", "gguf", "inspect", s(&path)]));
    let meta = dump["metadata"].as_array().unwrap();
    let get = |k: &str| {
        meta.iter()
            .find(|m| m["key"] == k)
            .unwrap_or_else(|| panic!("{k}"))
    };
    assert_eq!(get("general.file_type")["value"], 7);
    assert_eq!(get("general.file_type")["type"], "UINT32");
    assert_eq!(
        get("qwen2.attention.layer_norm_rms_epsilon")["type"],
        "FLOAT32"
    );
    assert_eq!(get("tokenizer.ggml.tokens")["type"], "ARRAY[STRING]");
    assert_eq!(get("tokenizer.ggml.tokens")["truncated"], true);
    // The template the model directory carries.
    let tcfg: Value =
        serde_json::from_slice(&std::fs::read(model.join("tokenizer_config.json")).unwrap())
            .unwrap();
    assert_eq!(
        get("tokenizer.chat_template")["value"],
        tcfg["chat_template"]
    );
    let tensors = dump["tensors"].as_array().unwrap();
    assert_eq!(tensors.len(), report["tensors"].as_array().unwrap().len());
    assert!(tensors
        .iter()
        .any(|t| t["name"] == "token_embd.weight" && t["type"] == "Q8_0"));

    let text = mh_train(&["gguf", "inspect", s(&path), "--tensors"]);
    assert!(text.status.success());
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("general.architecture = \"qwen2\""), "{text}");
    assert!(text.contains("| Q8_0    | blk.0.attn_q.weight"), "{text}");

    // An explicit file name is used as given.
    let f16 = tmp.path().join("named.gguf");
    let o = mh_train(&[
        "gguf",
        "export",
        "--model",
        s(&model),
        "--out",
        s(&f16),
        "--quant",
        "f16",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(f16.is_file());
}

#[test]
fn adapter_from_peft_becomes_a_lora_gguf() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("lora.gguf");
    let report = json_out(&mh_train(&[
        "--json",
        "gguf",
        "adapter",
        "--adapter",
        s(&model_fixtures().join("tiny-llama-adapter")),
        "--base-model",
        s(&model_fixtures().join("tiny-llama")),
        "--out",
        s(&out),
    ]));
    assert_eq!(report["architecture"], "llama");
    assert_eq!(report["use_rslora"], true);
    assert_eq!(report["rank"], 4);
    // rsLoRA: alpha·√r so that llama.cpp's alpha/r equals PEFT's alpha/√r.
    assert!((report["gguf_alpha"].as_f64().unwrap() - 12.0).abs() < 1e-5);
    let dump = json_out(&mh_train(&["--json", "gguf", "inspect", s(&out)]));
    let meta = dump["metadata"].as_array().unwrap();
    let get = |k: &str| {
        meta.iter()
            .find(|m| m["key"] == k)
            .unwrap_or_else(|| panic!("{k}"))
    };
    assert_eq!(get("general.type")["value"], "adapter");
    assert_eq!(get("adapter.type")["value"], "lora");
    assert_eq!(get("adapter.lora.alpha")["type"], "FLOAT32");
    assert!(dump["tensors"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["name"] == "blk.0.attn_q.weight.lora_b"));
}

#[test]
fn bad_input_is_a_one_line_error() {
    let tmp = tempfile::tempdir().unwrap();
    let junk = tmp.path().join("junk.gguf");
    std::fs::write(&junk, b"GGUF\x03\0\0\0\xff\xff\xff\xff\xff\xff\xff\xff").unwrap();
    let o = mh_train(&["gguf", "inspect", s(&junk)]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("not a valid GGUF file") && err.contains("tensor count"),
        "{err}"
    );

    let o = mh_train(&[
        "gguf", "export", "--model", "x", "--out", "y", "--quant", "q3_k",
    ]);
    assert_eq!(o.status.code(), Some(2), "bad usage");
    assert!(stderr(&o).contains("q4_k_m"));

    let o = mh_train(&[
        "gguf",
        "export",
        "--model",
        s(tmp.path()),
        "--out",
        s(tmp.path()),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("config.json"), "{}", stderr(&o));
}
