//! `dev tiny-model` as a user runs it: a complete model directory that mh-model loads and runs,
//! whose special ids agree with its tokenizer and chat template.

use std::fs;
use std::path::Path;

mod common;
use common::{demo_copy, mh_train, s, stderr};
use mh_dataset::tokenize::ModelTokenizer;
use mh_model::candle_core::{Device, Tensor};
use mh_model::{GenerationConfig, LoadOptions, Model, StopReason};
use serde_json::Value;

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn json(path: &Path) -> Value {
    serde_json::from_slice(&fs::read(path).unwrap()).unwrap()
}

fn tiny_model(profile: &Path, out: &Path, extra: &[&str]) -> Value {
    let mut args = vec![
        "--profile",
        s(profile),
        "--json",
        "dev",
        "tiny-model",
        "--out",
        s(out),
        "--vocab-size",
        "1024",
    ];
    args.extend_from_slice(extra);
    let o = mh_train(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn a_tiny_model_directory_loads_runs_and_agrees_with_its_tokenizer() {
    let profile = demo_copy();
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("model");
    let v = tiny_model(profile.path(), &dir, &[]);
    assert_eq!(
        names(&dir),
        [
            "config.json",
            "generation_config.json",
            "model.safetensors",
            "tokenizer.json",
            "tokenizer_config.json"
        ]
    );
    // Defaults: qwen2, 2 layers, hidden 64.
    assert_eq!(v["arch"], "qwen2");
    assert_eq!(
        (v["layers"].as_u64(), v["hidden"].as_u64()),
        (Some(2), Some(64))
    );
    let vocab = v["vocab_size"].as_u64().unwrap() as usize;
    assert!(vocab > 259 && vocab <= 1024, "{vocab}");
    assert!(v["samples"].as_u64().unwrap() > 0);
    assert_eq!(v["weights_sha256"].as_str().unwrap().len(), 64);

    // config.json: what transformers needs to pick the class, and the tokenizer's ids.
    let config = json(&dir.join("config.json"));
    assert_eq!(
        config["architectures"],
        serde_json::json!(["Qwen2ForCausalLM"])
    );
    assert_eq!(config["model_type"], "qwen2");
    assert_eq!(config["torch_dtype"], "float32");
    assert_eq!(config["vocab_size"].as_u64(), Some(vocab as u64));
    let tok = ModelTokenizer::from_model_dir(&dir).unwrap();
    assert_eq!(tok.tokenizer.get_vocab_size(true), vocab);
    let im_end = tok.single_token_id("<|im_end|>").unwrap();
    let endoftext = tok.single_token_id("<|endoftext|>").unwrap();
    assert_eq!(v["eos_token"], "<|im_end|>");
    assert_eq!(config["eos_token_id"].as_u64(), Some(u64::from(im_end)));
    assert_eq!(v["eos_token_id"].as_u64(), Some(u64::from(im_end)));
    assert_eq!(config["bos_token_id"].as_u64(), Some(u64::from(endoftext)));
    let tok_config = json(&dir.join("tokenizer_config.json"));
    assert!(tok_config["chat_template"]
        .as_str()
        .unwrap()
        .contains("<|im_end|>"));

    // generation_config.json reads back with the end of turn as its stop id.
    let gen =
        GenerationConfig::from_generation_config_json(&dir.join("generation_config.json")).unwrap();
    assert_eq!(gen.stop_ids, [im_end]);
    assert!(gen.is_sampling());
    assert_eq!(
        json(&dir.join("generation_config.json"))["pad_token_id"],
        endoftext
    );

    // mh-model loads the directory as-is; a chat prompt runs forward and decodes.
    let model = Model::load(&dir, &LoadOptions::cpu_f32()).unwrap();
    assert_eq!(model.config.vocab_size, vocab);
    assert_eq!(model.config.eos_token_ids, [im_end]);
    let (prompt, _) = tok
        .encode("<|im_start|>user\nHow is the piano?<|im_end|>\n<|im_start|>assistant\n")
        .unwrap();
    let ids = Tensor::new(prompt.as_slice(), &Device::Cpu)
        .unwrap()
        .unsqueeze(0)
        .unwrap();
    let logits = model.forward(&ids, None, None).unwrap();
    assert_eq!(logits.dims(), [1, prompt.len(), vocab]);
    let values: Vec<f32> = logits.flatten_all().unwrap().to_vec1().unwrap();
    assert!(values.iter().all(|x| x.is_finite()));
    let cfg = GenerationConfig {
        max_new_tokens: 12,
        seed: 3,
        ..gen
    };
    let generated = model.generate(&prompt, &cfg, |_| true).unwrap();
    assert!(!generated.tokens.is_empty() && generated.tokens.len() <= 12);
    assert!(generated.tokens.iter().all(|&t| (t as usize) < vocab));
    if generated.stop_reason == StopReason::Stop {
        assert_eq!(generated.tokens.last(), Some(&im_end));
    }

    // The same profile, sizes and seed write the same files.
    let again = out.path().join("again");
    tiny_model(profile.path(), &again, &[]);
    for file in ["model.safetensors", "config.json", "tokenizer.json"] {
        assert_eq!(
            fs::read(dir.join(file)).unwrap(),
            fs::read(again.join(file)).unwrap(),
            "{file}"
        );
    }
}

#[test]
fn sizes_and_architectures_are_honoured_and_bad_ones_refused() {
    let profile = demo_copy();
    let out = tempfile::tempdir().unwrap();
    for (arch, class) in [("llama", "LlamaForCausalLM"), ("qwen3", "Qwen3ForCausalLM")] {
        let dir = out.path().join(arch);
        let v = tiny_model(
            profile.path(),
            &dir,
            &[
                "--arch",
                arch,
                "--layers",
                "3",
                "--hidden",
                "48",
                "--heads",
                "6",
                "--kv-heads",
                "3",
                "--intermediate",
                "96",
                "--seed",
                "5",
            ],
        );
        assert_eq!(v["arch"], arch);
        let config = json(&dir.join("config.json"));
        assert_eq!(config["architectures"], serde_json::json!([class]));
        assert_eq!(config["num_hidden_layers"], 3);
        assert_eq!(config["num_key_value_heads"], 3);
        let model = Model::load(&dir, &LoadOptions::cpu_f32()).unwrap();
        assert_eq!(model.layers.len(), 3);
        assert_eq!(model.config.hidden_size, 48);
        let ids = Tensor::new(&[[1u32, 40, 41, 2]], &Device::Cpu).unwrap();
        let logits = model.forward(&ids, None, None).unwrap();
        assert_eq!(logits.dims()[2], v["vocab_size"].as_u64().unwrap() as usize);
    }

    let dir = out.path().join("bad");
    let o = mh_train(&[
        "--profile",
        s(profile.path()),
        "dev",
        "tiny-model",
        "--out",
        s(&dir),
        "--heads",
        "4",
        "--kv-heads",
        "3",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(e.contains("kv heads 3 must divide heads 4"), "{e}");
    // Refused before anything was written.
    assert!(!dir.exists());

    let o = mh_train(&[
        "--profile",
        s(profile.path()),
        "dev",
        "tiny-model",
        "--out",
        s(&dir),
        "--arch",
        "gpt2",
    ]);
    assert_eq!(o.status.code(), Some(2));
}
