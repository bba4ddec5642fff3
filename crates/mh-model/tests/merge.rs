//! `merge_adapter`: the merged model's forward equals the base model's with the adapter (plain
//! scaling, rsLoRA, partial targets), dtypes and the shard layout are kept, untouched tensors
//! stay byte-identical, the other files are copied, the record names the adapter, and adapters
//! that do not fit are refused before anything is written.
//! Fixtures: the tiny models and the adapters `peft` saved (`scripts/gen_reference_logits.py`).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use common::{fixtures_dir, ids, max_abs_diff};
use mh_model::candle_core::{DType, Device, Tensor};
use mh_model::{
    generate_tiny_model, merge_adapter, read_peft_adapter, Arch, LoadOptions, MergeBase,
    MergeReport, Model, ModelError, TargetModule, TinyDims, TinySpec, MERGE_RECORD,
};
use mh_profile::NoProgress;
use safetensors::SafeTensors;
use sha2::{Digest, Sha256};

/// Merged weights against the LoRA forward, computed in f64.
const TOLERANCE: f64 = 1e-5;

fn input() -> Tensor {
    ids(&[
        vec![1, 17, 300, 42, 5, 99, 511, 2, 64, 128],
        vec![3, 4, 250, 251, 7, 8, 400, 33, 1, 0],
    ])
}

fn sha256(path: &Path) -> String {
    hex::encode(Sha256::digest(std::fs::read(path).unwrap()))
}

/// Name → (dtype, shape, bytes) of every tensor in one safetensors file, plus its metadata.
type Tensors = BTreeMap<String, (safetensors::Dtype, Vec<usize>, Vec<u8>)>;

fn read_tensors(path: &Path) -> (Tensors, Option<std::collections::HashMap<String, String>>) {
    let bytes = std::fs::read(path).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let (_, meta) = SafeTensors::read_metadata(&bytes).unwrap();
    let tensors = st
        .tensors()
        .into_iter()
        .map(|(n, v)| (n, (v.dtype(), v.shape().to_vec(), v.data().to_vec())))
        .collect();
    (tensors, meta.metadata().clone())
}

fn load(dir: &Path, dtype: DType) -> Model {
    let opts = LoadOptions {
        device: Device::Cpu,
        dtype,
        lora: None,
    };
    Model::load(dir, &opts).unwrap()
}

/// Forward passes on the same input, computed in `dtype`.
struct Diffs {
    /// |merged − (base + adapter)|.
    merged_vs_lora: f64,
    /// |merged − the in-memory merge (`Model::merge_lora`)|.
    merged_vs_in_memory: f64,
    /// |base + adapter − base|: how much the adapter matters.
    effect: f64,
}

fn forward_diffs(base: &Path, adapter: &Path, merged: &Path, dtype: DType) -> Diffs {
    let x = input();
    let mut model = load(base, dtype);
    let plain = model.forward(&x, None, None).unwrap();
    let a = read_peft_adapter(adapter, &Device::Cpu).unwrap();
    model.apply_peft_adapter(&a).unwrap();
    let lora = model.forward(&x, None, None).unwrap();
    model.merge_lora().unwrap();
    let in_memory = model.forward(&x, None, None).unwrap();
    let merged_model = load(merged, dtype);
    assert!(merged_model.lora_branches().is_empty());
    let merged = merged_model.forward(&x, None, None).unwrap();
    Diffs {
        merged_vs_lora: max_abs_diff(&merged, &lora),
        merged_vs_in_memory: max_abs_diff(&merged, &in_memory),
        effect: max_abs_diff(&lora, &plain),
    }
}

/// The merge against the LoRA forward: in f64, so the only difference left is the merged
/// weights' rounding to their stored f32 (below `TOLERANCE`); in f32, logits equal to the
/// in-memory merge's bit for bit and within f32 noise of the LoRA forward (logits reach ~30,
/// where one f32 step is 2e-6).
fn check_forward(label: &str, base: &Path, adapter: &Path, merged: &Path) {
    let d64 = forward_diffs(base, adapter, merged, DType::F64);
    let d32 = forward_diffs(base, adapter, merged, DType::F32);
    eprintln!(
        "{label}: |merged - (base + adapter)| = {:.2e} in f64, {:.2e} in f32; \
         |merged - in-memory merge| = {:.1e} in f32; adapter effect {:.3}",
        d64.merged_vs_lora, d32.merged_vs_lora, d32.merged_vs_in_memory, d64.effect
    );
    assert!(d64.effect > 0.05, "{label}: the adapter barely matters");
    assert!(
        d64.merged_vs_lora < TOLERANCE,
        "{label}: merged forward differs by {:e} in f64",
        d64.merged_vs_lora
    );
    assert_eq!(d32.merged_vs_in_memory, 0.0, "{label}");
    assert!(
        d32.merged_vs_lora < 3e-5,
        "{label}: merged forward differs by {:e} in f32",
        d32.merged_vs_lora
    );
}

fn merge(base: &Path, adapter: &Path, out: &Path) -> Result<MergeReport, ModelError> {
    merge_adapter(&MergeBase::dir(base), adapter, out, &NoProgress)
}

fn file_names(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn merged_forward_equals_base_plus_adapter_on_every_fixture() {
    // (arch, scale, targets): plain alpha/r, rsLoRA alpha/√r, and three of seven projections.
    let cases: [(&str, f64, &[&str]); 3] = [
        (
            "qwen2",
            8.0 / 4.0,
            &[
                "q_proj",
                "k_proj",
                "v_proj",
                "o_proj",
                "gate_proj",
                "up_proj",
                "down_proj",
            ],
        ),
        (
            "llama",
            6.0 / 2.0,
            &[
                "q_proj",
                "k_proj",
                "v_proj",
                "o_proj",
                "gate_proj",
                "up_proj",
                "down_proj",
            ],
        ),
        ("qwen3", 5.0 / 2.0, &["q_proj", "v_proj", "down_proj"]),
    ];
    for (arch, scale, targets) in cases {
        let base = fixtures_dir().join(format!("tiny-{arch}"));
        let adapter = fixtures_dir().join(format!("tiny-{arch}-adapter"));
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("merged");
        let report = merge(&base, &adapter, &out).unwrap();

        check_forward(arch, &base, &adapter, &out);

        // Exactly the adapted projections changed; everything else is byte-identical.
        let (ours, meta) = read_tensors(&out.join("model.safetensors"));
        let (theirs, _) = read_tensors(&base.join("model.safetensors"));
        assert_eq!(meta.unwrap().get("format").map(String::as_str), Some("pt"));
        assert_eq!(
            ours.keys().collect::<Vec<_>>(),
            theirs.keys().collect::<Vec<_>>()
        );
        let expected: BTreeSet<String> = (0..2)
            .flat_map(|l| {
                targets.iter().map(move |t| {
                    let path = TargetModule::parse(t).unwrap().path();
                    format!("model.layers.{l}.{path}.weight")
                })
            })
            .collect();
        let changed: BTreeSet<String> = ours
            .iter()
            .filter(|(n, t)| theirs[*n].2 != t.2)
            .map(|(n, _)| n.clone())
            .collect();
        assert_eq!(changed, expected, "{arch}");
        for (name, (dtype, shape, _)) in &ours {
            assert_eq!((dtype, shape), (&theirs[name].0, &theirs[name].1), "{name}");
        }
        assert_eq!(
            report.tensors_merged,
            expected.iter().cloned().collect::<Vec<_>>()
        );
        assert_eq!(report.tensors_total, theirs.len());

        // The record identifies the adapter and the output.
        let record: MergeReport =
            serde_json::from_slice(&std::fs::read(out.join(MERGE_RECORD)).unwrap()).unwrap();
        assert_eq!(record.adapter, report.adapter);
        assert_eq!(record.weights, report.weights);
        assert_eq!(
            record.adapter.adapter_model_sha256,
            sha256(&adapter.join("adapter_model.safetensors"))
        );
        assert_eq!(
            record.adapter.adapter_config_sha256,
            sha256(&adapter.join("adapter_config.json"))
        );
        assert!((record.adapter.scale - scale).abs() < 1e-12, "{arch}");
        let mut want_targets: Vec<&str> = targets.to_vec();
        want_targets.sort_by_key(|t| TargetModule::parse(t));
        assert_eq!(record.adapter.target_modules, want_targets);
        assert_eq!(record.weights.len(), 1);
        assert_eq!(
            record.weights[0].sha256,
            sha256(&out.join("model.safetensors"))
        );
        assert_eq!(record.base.dir, std::fs::canonicalize(&base).unwrap());
        assert_eq!(record.copied_files, vec!["config.json".to_string()]);
        assert_eq!(
            std::fs::read(out.join("config.json")).unwrap(),
            std::fs::read(base.join("config.json")).unwrap()
        );
        // Nothing but the output is left in its parent.
        assert_eq!(
            file_names(tmp.path()),
            BTreeSet::from(["merged".to_string()])
        );
    }
}

/// `dir` with the tensors of the qwen2 fixture in `dtype`.
fn qwen2_in(dir: &Path, dtype: DType) {
    let src = fixtures_dir().join("tiny-qwen2");
    std::fs::create_dir_all(dir).unwrap();
    std::fs::copy(src.join("config.json"), dir.join("config.json")).unwrap();
    let tensors =
        mh_model::candle_core::safetensors::load(src.join("model.safetensors"), &Device::Cpu)
            .unwrap();
    let converted: BTreeMap<String, Tensor> = tensors
        .into_iter()
        .map(|(n, t)| (n, t.to_dtype(dtype).unwrap()))
        .collect();
    let converted: std::collections::HashMap<String, Tensor> = converted.into_iter().collect();
    mh_model::candle_core::safetensors::save(&converted, dir.join("model.safetensors")).unwrap();
}

#[test]
fn bf16_base_stays_bf16_and_rounds_once_from_f32() {
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().join("base");
    qwen2_in(&base, DType::BF16);
    let adapter_dir = fixtures_dir().join("tiny-qwen2-adapter");
    let out = tmp.path().join("merged");
    let report = merge(&base, &adapter_dir, &out).unwrap();
    assert_eq!(report.tensors_merged.len(), 14);

    let (ours, _) = read_tensors(&out.join("model.safetensors"));
    let (theirs, _) = read_tensors(&base.join("model.safetensors"));
    assert!(ours
        .values()
        .all(|(d, _, _)| *d == safetensors::Dtype::BF16));

    // Each merged element is bf16(f32(W) + s·B·A), checked against the exact sum in f64:
    // within half a bf16 step of it (one rounding), plus f32's error.
    let adapter = read_peft_adapter(&adapter_dir, &Device::Cpu).unwrap();
    let bf16_to_f64 = |b: &[u8]| -> Vec<f64> {
        b.chunks_exact(2)
            .map(|c| {
                f64::from(f32::from_bits(
                    u32::from(u16::from_le_bytes([c[0], c[1]])) << 16,
                ))
            })
            .collect()
    };
    let mut worst = 0.0f64;
    let mut changed = 0usize;
    for (&(layer, module), (a, b)) in &adapter.tensors {
        let name = format!("model.layers.{layer}.{}.weight", module.path());
        let w = bf16_to_f64(&theirs[&name].2);
        let merged = bf16_to_f64(&ours[&name].2);
        let a: Vec<Vec<f32>> = a.to_vec2().unwrap();
        let b: Vec<Vec<f32>> = b.to_vec2().unwrap();
        let cols = a[0].len();
        for (i, row) in b.iter().enumerate() {
            for j in 0..cols {
                let delta: f64 = row
                    .iter()
                    .zip(&a)
                    .map(|(bk, ak)| f64::from(*bk) * f64::from(ak[j]))
                    .sum();
                let exact = w[i * cols + j] + 2.0 * delta;
                let got = merged[i * cols + j];
                if exact == 0.0 {
                    continue;
                }
                let step = 2f64.powi(exact.abs().log2().floor() as i32 - 7);
                let err = (got - exact).abs() / step;
                worst = worst.max(err);
                changed += usize::from(got != w[i * cols + j]);
            }
        }
    }
    eprintln!("bf16: worst |merged - exact| = {worst:.3} bf16 steps; {changed} elements changed");
    assert!(worst <= 0.5 + 1e-3, "{worst}");
    assert!(changed > 1000, "{changed}");
    for (name, t) in &theirs {
        if !report.tensors_merged.contains(name) {
            assert_eq!(&ours[name], t, "{name}");
        }
    }
    // The merged bf16 model is close to base + adapter (the merged weights are rounded to bf16).
    let d = forward_diffs(&base, &adapter_dir, &out, DType::F32);
    eprintln!(
        "bf16: |merged - (base + adapter)| = {:.2e}, adapter effect {:.3}",
        d.merged_vs_lora, d.effect
    );
    assert!(
        d.merged_vs_lora < 0.05 * d.effect,
        "{} vs {}",
        d.merged_vs_lora,
        d.effect
    );
}

#[test]
fn sharded_base_stays_sharded_with_the_same_index_and_other_files_copied() {
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().join("base");
    std::fs::create_dir_all(&base).unwrap();
    let src = fixtures_dir().join("tiny-llama");
    std::fs::copy(src.join("config.json"), base.join("config.json")).unwrap();
    let tensors =
        mh_model::candle_core::safetensors::load(src.join("model.safetensors"), &Device::Cpu)
            .unwrap();
    let names: Vec<String> = tensors
        .keys()
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let shard_names = [
        "model-00001-of-00002.safetensors",
        "model-00002-of-00002.safetensors",
    ];
    let mut weight_map = serde_json::Map::new();
    let mut total = 0usize;
    for (i, part) in names.chunks(names.len().div_ceil(2)).enumerate() {
        let subset: std::collections::HashMap<String, Tensor> = part
            .iter()
            .map(|n| (n.clone(), tensors[n].clone()))
            .collect();
        for (n, t) in &subset {
            weight_map.insert(n.clone(), shard_names[i].into());
            total += t.elem_count() * 4;
        }
        mh_model::candle_core::safetensors::save(&subset, base.join(shard_names[i])).unwrap();
    }
    let index = serde_json::json!({"metadata": {"total_size": total}, "weight_map": weight_map});
    std::fs::write(
        base.join("model.safetensors.index.json"),
        serde_json::to_string_pretty(&index).unwrap(),
    )
    .unwrap();
    let extra = [
        ("tokenizer.json", "{\"model\": {}}"),
        ("tokenizer_config.json", "{\"chat_template\": null}"),
        ("special_tokens_map.json", "{}"),
        ("generation_config.json", "{\"eos_token_id\": 2}"),
        ("chat_template.jinja", "{{ messages }}"),
        ("README.md", "# tiny\n"),
    ];
    for (name, text) in extra {
        std::fs::write(base.join(name), text).unwrap();
    }
    // Weights in other formats and directories are not copied.
    for name in [
        "pytorch_model.bin",
        "pytorch_model.bin.index.json",
        ".gitattributes",
        "merge.json",
    ] {
        std::fs::write(base.join(name), "x").unwrap();
    }
    std::fs::create_dir(base.join("original")).unwrap();
    std::fs::write(base.join("original/consolidated.00.pth"), "x").unwrap();

    let adapter = fixtures_dir().join("tiny-llama-adapter");
    let out = tmp.path().join("merged");
    let report = merge(&base, &adapter, &out).unwrap();

    let mut want: BTreeSet<String> = extra.iter().map(|(n, _)| n.to_string()).collect();
    want.insert("config.json".into());
    want.insert("model.safetensors.index.json".into());
    assert_eq!(
        report.copied_files,
        want.iter().cloned().collect::<Vec<_>>()
    );
    assert_eq!(
        report.skipped_files,
        vec![
            ".gitattributes",
            "merge.json",
            "original/",
            "pytorch_model.bin",
            "pytorch_model.bin.index.json"
        ]
    );
    want.extend(shard_names.iter().map(|s| s.to_string()));
    want.insert(MERGE_RECORD.into());
    assert_eq!(file_names(&out), want);
    for name in report.copied_files.iter() {
        assert_eq!(
            std::fs::read(out.join(name)).unwrap(),
            std::fs::read(base.join(name)).unwrap(),
            "{name}"
        );
    }
    assert_eq!(
        report
            .weights
            .iter()
            .map(|w| w.file.as_str())
            .collect::<Vec<_>>(),
        shard_names
    );
    for shard in shard_names {
        let (ours, _) = read_tensors(&out.join(shard));
        let (theirs, _) = read_tensors(&base.join(shard));
        assert_eq!(
            ours.keys().collect::<Vec<_>>(),
            theirs.keys().collect::<Vec<_>>()
        );
        for (name, t) in &theirs {
            let merged = report.tensors_merged.contains(name);
            assert_eq!(ours[name].2 != t.2, merged, "{name}");
        }
    }
    assert_eq!(report.tensors_merged.len(), 14);

    check_forward("sharded llama", &base, &adapter, &out);
}

#[test]
fn an_adapter_that_does_not_fit_the_base_is_refused_naming_the_tensor() {
    let adapter = fixtures_dir().join("tiny-qwen2-adapter");
    let tmp = tempfile::tempdir().unwrap();

    // Another hidden size: the shapes differ.
    let narrow = tmp.path().join("narrow");
    let mut dims = TinyDims::small(512);
    dims.hidden = 32;
    generate_tiny_model(&narrow, &TinySpec::new(Arch::Qwen2, dims, 1)).unwrap();
    let out = tmp.path().join("out");
    let err = merge(&narrow, &adapter, &out).unwrap_err().to_string();
    assert!(
        err.contains("model.layers.0.self_attn.q_proj.weight") && err.contains("wrong base model"),
        "{err}"
    );
    assert!(err.contains("adapter_model.safetensors"), "{err}");

    // Fewer layers: the adapter's layer 1 has nothing to merge into.
    let shallow = tmp.path().join("shallow");
    let mut dims = TinyDims::small(512);
    dims.layers = 1;
    generate_tiny_model(&shallow, &TinySpec::new(Arch::Qwen2, dims, 1)).unwrap();
    let err = merge(&shallow, &adapter, &out).unwrap_err().to_string();
    assert!(
        err.contains("no tensor `model.layers.1.self_attn.q_proj.weight`"),
        "{err}"
    );

    // Nothing was written.
    assert_eq!(
        file_names(tmp.path()),
        BTreeSet::from(["narrow".to_string(), "shallow".to_string()])
    );
}

#[test]
fn an_existing_output_is_refused_unless_empty() {
    let base = fixtures_dir().join("tiny-qwen3");
    let adapter = fixtures_dir().join("tiny-qwen3-adapter");
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("keep.txt"), "mine").unwrap();
    let err = merge(&base, &adapter, &out).unwrap_err().to_string();
    assert!(err.contains("already exists"), "{err}");
    assert_eq!(file_names(&out), BTreeSet::from(["keep.txt".to_string()]));
    assert_eq!(file_names(tmp.path()), BTreeSet::from(["out".to_string()]));

    // The base directory itself is never overwritten.
    let err = merge(&base, &adapter, &base).unwrap_err().to_string();
    assert!(err.contains("already exists"), "{err}");

    // An empty directory is filled.
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    merge(&base, &adapter, &empty).unwrap();
    assert!(empty.join("model.safetensors").is_file());
    assert!(empty.join(MERGE_RECORD).is_file());
}

#[test]
fn merging_is_deterministic() {
    let base = fixtures_dir().join("tiny-llama");
    let adapter = fixtures_dir().join("tiny-llama-adapter");
    let tmp = tempfile::tempdir().unwrap();
    let one = merge(&base, &adapter, &tmp.path().join("one")).unwrap();
    let two = merge(&base, &adapter, &tmp.path().join("two")).unwrap();
    assert_eq!(one.weights, two.weights);
    assert_eq!(one.adapter, two.adapter);
}
