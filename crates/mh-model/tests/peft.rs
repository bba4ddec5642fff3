//! PEFT adapter files: what we write matches what peft writes, round trips are exact, and
//! adapters we cannot apply faithfully are refused with the file and tensor named.

mod common;

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use common::{fixtures_dir, ids, max_abs_diff, tiny_model};
use mh_model::candle_core::{DType, Device, Tensor};
use mh_model::{
    read_peft_adapter, write_peft_adapter, AdapterConfig, Arch, LoadOptions, LoraConfig, Model,
    PeftAdapter, TargetModule, ADAPTER_CONFIG, ADAPTER_WEIGHTS,
};
use serde_json::Value;

fn header(path: &Path) -> (Option<HashMap<String, String>>, BTreeSet<String>) {
    let bytes = std::fs::read(path).unwrap();
    let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let names = meta.tensors().keys().cloned().collect();
    (meta.metadata().clone(), names)
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn rewriting_a_peft_adapter_keeps_keys_metadata_values_and_config() {
    let py = fixtures_dir().join("tiny-qwen2-adapter");
    let adapter = read_peft_adapter(&py, &Device::Cpu).unwrap();
    let out = tempfile::tempdir().unwrap();
    let saved = write_peft_adapter(out.path(), &adapter).unwrap();
    assert_eq!(saved.tensor_count, 2 * 2 * 7);
    assert_eq!(saved.sha256.len(), 64);

    let (py_meta, py_names) = header(&py.join(ADAPTER_WEIGHTS));
    let (our_meta, our_names) = header(&saved.weights);
    assert_eq!(our_names, py_names);
    assert_eq!(our_meta, py_meta);
    assert_eq!(
        our_meta.unwrap().get("format").map(String::as_str),
        Some("pt")
    );

    let again = read_peft_adapter(out.path(), &Device::Cpu).unwrap();
    for (key, (a, b)) in &adapter.tensors {
        let (a2, b2) = &again.tensors[key];
        assert_eq!(max_abs_diff(a, a2), 0.0);
        assert_eq!(max_abs_diff(b, b2), 0.0);
        assert_eq!(a2.dtype(), DType::F32);
    }

    let py_cfg = json(&py.join(ADAPTER_CONFIG));
    let our_cfg = json(&saved.config);
    for (k, v) in our_cfg.as_object().unwrap() {
        match k.as_str() {
            "target_modules" => {
                let set = |v: &Value| -> BTreeSet<String> {
                    v.as_array()
                        .unwrap()
                        .iter()
                        .map(|s| s.as_str().unwrap().to_string())
                        .collect()
                };
                assert_eq!(set(v), set(&py_cfg[k]));
            }
            // peft leaves training-time flags as they were when saving.
            "inference_mode" | "init_lora_weights" => {}
            _ => assert_eq!(v, &py_cfg[k], "adapter_config.json field {k}"),
        }
    }
    // Integral alpha stays an integer (Ollama reads it into a uint32).
    assert!(our_cfg["lora_alpha"].is_u64());
    let text = std::fs::read_to_string(&saved.config).unwrap();
    assert!(text.contains("\"lora_alpha\": 8,"), "{text}");
}

#[test]
fn fractional_alpha_is_written_as_a_float() {
    let mut cfg = LoraConfig::new(4, 2.5);
    cfg.targets = vec![TargetModule::Q];
    let v = AdapterConfig::from_lora(&cfg, Some("Qwen/Qwen2.5-0.5B-Instruct")).to_json();
    assert_eq!(v["lora_alpha"].as_f64(), Some(2.5));
    assert_eq!(v["base_model_name_or_path"], "Qwen/Qwen2.5-0.5B-Instruct");
    assert_eq!(v["target_modules"], serde_json::json!(["q_proj"]));
    assert_eq!(v["peft_type"], "LORA");
    assert_eq!(v["task_type"], "CAUSAL_LM");
}

#[test]
fn trained_adapter_round_trips_through_files() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = LoraConfig::new(3, 6.0);
    cfg.use_rslora = true;
    cfg.targets = vec![TargetModule::Q, TargetModule::O, TargetModule::Up];
    let model = tiny_model(dir.path(), Arch::Qwen3, DType::F32, Some(cfg.clone()));
    // Stand-in for training: give B values so the adapter changes the output.
    for (i, (_, _, branch)) in model.lora_branches().into_iter().enumerate() {
        let b = Tensor::ones(branch.b.shape(), DType::F32, &Device::Cpu)
            .unwrap()
            .affine(0.01 * (i as f64 + 1.0), 0.0)
            .unwrap();
        branch.b.set(&b).unwrap();
    }
    let input = ids(&[vec![4, 8, 15, 16, 23, 42]]);
    let trained = model.forward(&input, None, None).unwrap();

    let adapter = PeftAdapter::from_model(&model, AdapterConfig::from_lora(&cfg, None)).unwrap();
    let out = tempfile::tempdir().unwrap();
    write_peft_adapter(out.path(), &adapter).unwrap();

    let mut fresh = Model::load(dir.path(), &LoadOptions::cpu_f32()).unwrap();
    let base = fresh.forward(&input, None, None).unwrap();
    assert!(max_abs_diff(&base, &trained) > 1e-3);
    fresh
        .apply_peft_adapter(&read_peft_adapter(out.path(), &Device::Cpu).unwrap())
        .unwrap();
    let reloaded = fresh.forward(&input, None, None).unwrap();
    assert!(max_abs_diff(&reloaded, &trained) < 1e-6);

    // A config whose scale disagrees with the branches is refused, not silently written.
    let wrong = AdapterConfig::from_lora(
        &LoraConfig {
            use_rslora: false,
            ..cfg
        },
        None,
    );
    let e = PeftAdapter::from_model(&model, wrong)
        .unwrap_err()
        .to_string();
    assert!(e.contains("scale"), "{e}");
}

/// Copy the python-made qwen2 adapter into a temp dir, edited by `edit`.
fn edited_adapter(
    edit_cfg: impl FnOnce(&mut Value),
    edit_tensors: impl FnOnce(&mut Vec<(String, Tensor)>),
) -> tempfile::TempDir {
    let src = fixtures_dir().join("tiny-qwen2-adapter");
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = json(&src.join(ADAPTER_CONFIG));
    edit_cfg(&mut cfg);
    std::fs::write(dir.path().join(ADAPTER_CONFIG), cfg.to_string()).unwrap();
    let loaded =
        mh_model::candle_core::safetensors::load(src.join(ADAPTER_WEIGHTS), &Device::Cpu).unwrap();
    let mut tensors: Vec<(String, Tensor)> = loaded.into_iter().collect();
    tensors.sort_by(|a, b| a.0.cmp(&b.0));
    edit_tensors(&mut tensors);
    let bytes = safetensors::serialize(tensors.iter().map(|(k, t)| (k.as_str(), t)), None).unwrap();
    std::fs::write(dir.path().join(ADAPTER_WEIGHTS), bytes).unwrap();
    dir
}

fn read_err(dir: &Path) -> String {
    read_peft_adapter(dir, &Device::Cpu)
        .unwrap_err()
        .to_string()
}

#[test]
fn unsupported_adapter_configs_are_refused_by_field() {
    let d = edited_adapter(|c| c["use_dora"] = Value::Bool(true), |_| {});
    let e = read_err(d.path());
    assert!(e.contains("use_dora") && e.contains(ADAPTER_CONFIG), "{e}");

    let d = edited_adapter(|c| c["peft_type"] = "IA3".into(), |_| {});
    assert!(read_err(d.path()).contains("IA3"));

    let d = edited_adapter(
        |c| c["rank_pattern"] = serde_json::json!({"q_proj": 8}),
        |_| {},
    );
    assert!(read_err(d.path()).contains("rank_pattern"));

    let d = edited_adapter(
        |c| c["modules_to_save"] = serde_json::json!(["lm_head"]),
        |_| {},
    );
    assert!(read_err(d.path()).contains("modules_to_save"));
}

#[test]
fn bad_adapter_tensors_are_named() {
    // Unknown key (an embedding adapter).
    let d = edited_adapter(
        |_| {},
        |t| {
            let x = t[0].1.clone();
            t.push((
                "base_model.model.model.embed_tokens.lora_embedding_A".into(),
                x,
            ));
        },
    );
    let e = read_err(d.path());
    assert!(
        e.contains("base_model.model.model.embed_tokens.lora_embedding_A"),
        "{e}"
    );

    // A factor without its partner.
    let d = edited_adapter(
        |_| {},
        |t| t.retain(|(k, _)| k != "base_model.model.model.layers.1.mlp.up_proj.lora_B.weight"),
    );
    let e = read_err(d.path());
    assert!(
        e.contains("model.layers.1.mlp.up_proj.lora_B.weight") && e.contains("missing"),
        "{e}"
    );

    // Rank disagreeing with the config.
    let d = edited_adapter(|c| c["r"] = 3.into(), |_| {});
    let e = read_err(d.path());
    // Keys are read in name order: layer 0's mlp.down_proj A comes first.
    assert!(
        e.contains("base_model.model.model.layers.0.mlp.down_proj.lora_A.weight")
            && e.contains("r = 3"),
        "{e}"
    );
}

#[test]
fn adapter_for_another_base_model_is_refused() {
    // The qwen2 adapter (hidden 64, q_dim 64) on the qwen3 fixture (q_dim 128).
    let adapter =
        read_peft_adapter(&fixtures_dir().join("tiny-qwen2-adapter"), &Device::Cpu).unwrap();
    let mut model =
        Model::load(&fixtures_dir().join("tiny-qwen3"), &LoadOptions::cpu_f32()).unwrap();
    let e = model.apply_peft_adapter(&adapter).unwrap_err().to_string();
    assert!(e.contains("wrong base model"), "{e}");
    assert!(
        model.lora_branches().is_empty(),
        "a refused adapter must leave the model untouched"
    );
}
