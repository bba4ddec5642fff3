//! Our forward against transformers' (and peft's) logits on the committed tiny models, our PEFT
//! reader on adapters peft saved, and merged weights against the LoRA forward.
//! Fixtures: `scripts/gen_reference_logits.py`.

mod common;

use common::{fixtures_dir, ids, max_abs_diff};
use mh_model::candle_core::{DType, Device, Tensor};
use mh_model::{read_peft_adapter, LoadOptions, Model, TargetModule};
use serde::Deserialize;

/// The tolerance asked of our f32 forward against transformers' f32 eager forward.
const TOLERANCE: f64 = 1e-4;

#[derive(Deserialize)]
struct Reference {
    model_dir: String,
    adapter_dir: String,
    adapter: AdapterCase,
    input_ids: Vec<Vec<u32>>,
    logits: Vec<Vec<Vec<f32>>>,
    logits_adapter: Vec<Vec<Vec<f32>>>,
}

#[derive(Deserialize)]
struct AdapterCase {
    r: usize,
    lora_alpha: f64,
    target_modules: Vec<String>,
    use_rslora: bool,
}

fn reference(arch: &str) -> Reference {
    let path = fixtures_dir().join(format!("reference-{arch}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn tensor3(v: &[Vec<Vec<f32>>]) -> Tensor {
    Tensor::new(v.to_vec(), &Device::Cpu).unwrap()
}

fn check_arch(arch: &str) {
    let r = reference(arch);
    let dir = fixtures_dir();
    let mut model = Model::load(&dir.join(&r.model_dir), &LoadOptions::cpu_f32()).unwrap();
    let input = ids(&r.input_ids);

    let logits = model.forward(&input, None, None).unwrap();
    let expected = tensor3(&r.logits);
    let base_diff = max_abs_diff(&logits, &expected);
    assert!(
        base_diff < TOLERANCE,
        "{arch}: base logits differ from transformers by {base_diff:e}"
    );

    let adapter = read_peft_adapter(&dir.join(&r.adapter_dir), &Device::Cpu).unwrap();
    assert_eq!(adapter.config.r, r.adapter.r);
    assert_eq!(adapter.config.lora_alpha, r.adapter.lora_alpha);
    assert_eq!(adapter.config.use_rslora, r.adapter.use_rslora);
    let mut targets: Vec<TargetModule> = r
        .adapter
        .target_modules
        .iter()
        .map(|t| TargetModule::parse(t).unwrap())
        .collect();
    targets.sort();
    assert_eq!(adapter.config.target_modules, targets);
    assert_eq!(adapter.tensors.len(), model.layers.len() * targets.len());

    model.apply_peft_adapter(&adapter).unwrap();
    let with_adapter = model.forward(&input, None, None).unwrap();
    let expected_adapter = tensor3(&r.logits_adapter);
    let adapter_diff = max_abs_diff(&with_adapter, &expected_adapter);
    // The adapter must matter, or matching would prove nothing about the LoRA path.
    let effect = max_abs_diff(&expected_adapter, &expected);
    assert!(
        effect > 0.05,
        "{arch}: the reference adapter barely changes the logits ({effect})"
    );
    assert!(
        adapter_diff < TOLERANCE,
        "{arch}: logits with the peft adapter differ from peft's by {adapter_diff:e}"
    );

    // (c) W + s·B·A gives the LoRA forward's logits.
    model.merge_lora().unwrap();
    assert!(model.lora_branches().is_empty());
    let merged = model.forward(&input, None, None).unwrap();
    let merge_diff = max_abs_diff(&merged, &with_adapter);
    assert!(
        merge_diff < 1e-4,
        "{arch}: merged logits differ from LoRA logits by {merge_diff:e}"
    );
    eprintln!(
        "{arch}: |ours - transformers| = {base_diff:.2e}, with adapter {adapter_diff:.2e} \
         (adapter effect {effect:.3}); |merged - lora| = {merge_diff:.2e}"
    );
}

#[test]
fn qwen2_matches_transformers_and_peft() {
    check_arch("qwen2");
}

#[test]
fn llama_with_llama3_rope_matches_transformers_and_peft() {
    check_arch("llama");
}

#[test]
fn qwen3_matches_transformers_and_peft() {
    check_arch("qwen3");
}

#[test]
fn merged_equals_lora_forward_in_f64() {
    let r = reference("llama");
    let dir = fixtures_dir();
    let opts = LoadOptions {
        device: Device::Cpu,
        dtype: DType::F64,
        lora: None,
    };
    let mut model = Model::load(&dir.join(&r.model_dir), &opts).unwrap();
    let adapter = read_peft_adapter(&dir.join(&r.adapter_dir), &Device::Cpu).unwrap();
    model.apply_peft_adapter(&adapter).unwrap();
    let input = ids(&r.input_ids);
    let lora = model.forward(&input, None, None).unwrap();
    model.merge_lora().unwrap();
    let merged = model.forward(&input, None, None).unwrap();
    let diff = max_abs_diff(&lora, &merged);
    eprintln!("f64 |merged - lora| = {diff:e}");
    assert!(diff < 1e-10, "{diff:e}");
}
