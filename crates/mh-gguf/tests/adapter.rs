//! PEFT adapter → GGUF LoRA adapter, on adapters written by Python `peft` itself (mh-model's
//! fixtures: qwen2 r=4 alpha=8; llama r=4 alpha=6 with rsLoRA; qwen3 r=2 on q/v/down only).
//! The file must hold what llama.cpp's `llama_adapter_lora_init_impl` checks and computes with:
//! the keys, `lora_a` `[in, r]` / `lora_b` `[r, out]`, and a delta `alpha/r · B·A` equal to
//! PEFT's `scale · B·A` (rows permuted for llama q/k like the base weights).

mod common;

use std::path::{Path, PathBuf};

use mh_gguf::{export_adapter, AdapterOptions, GgmlType, GgufFile, MetaValue};
use mh_model::candle_core::{DType, Device};
use mh_model::{read_peft_adapter, ModelConfig};
use mh_profile::NoProgress;
use sha2::{Digest, Sha256};

fn model_fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../mh-model/tests/fixtures")
}

fn gguf_base(module: &str) -> &'static str {
    match module {
        "q_proj" => "attn_q",
        "k_proj" => "attn_k",
        "v_proj" => "attn_v",
        "o_proj" => "attn_output",
        "gate_proj" => "ffn_gate",
        "up_proj" => "ffn_up",
        _ => "ffn_down",
    }
}

/// `out × in` delta `scale · B·A` from row-major B `(out, r)` and A `(r, in)`.
fn delta(scale: f64, b: &[f32], a: &[f32], out: usize, r: usize, inp: usize) -> Vec<f64> {
    let mut d = vec![0.0; out * inp];
    for o in 0..out {
        for k in 0..r {
            let bv = f64::from(b[o * r + k]);
            for i in 0..inp {
                d[o * inp + i] += scale * bv * f64::from(a[k * inp + i]);
            }
        }
    }
    d
}

#[test]
fn peft_adapters_become_llama_cpp_lora_files() {
    let tmp = tempfile::tempdir().unwrap();
    for arch in ["qwen2", "llama", "qwen3"] {
        let base = model_fixtures().join(format!("tiny-{arch}"));
        let adapter_dir = model_fixtures().join(format!("tiny-{arch}-adapter"));
        let out = tmp.path().join(format!("{arch}-lora.gguf"));
        let report = export_adapter(
            &adapter_dir,
            &base,
            &out,
            &AdapterOptions::default(),
            &NoProgress,
        )
        .unwrap();
        let cfg = ModelConfig::from_file(&base.join("config.json")).unwrap();
        let peft = read_peft_adapter(&adapter_dir, &Device::Cpu).unwrap();
        let r = peft.config.r;

        let f = GgufFile::open(&out).unwrap();
        let h = f.header();
        let gguf_arch = if arch == "llama" { "llama" } else { arch };
        assert_eq!(h.get_str("general.architecture"), Some(gguf_arch));
        assert_eq!(h.get_str("general.type"), Some("adapter"));
        assert_eq!(h.get_str("adapter.type"), Some("lora"));
        let alpha = match h.get("adapter.lora.alpha") {
            Some(MetaValue::F32(a)) => f64::from(*a),
            other => panic!("{arch}: adapter.lora.alpha must be FLOAT32, found {other:?}"),
        };
        let peft_scale = peft.config.scale();
        // llama.cpp: scale = alpha / rank, rank = lora_b.ne[0].
        let llama_scale = alpha / r as f64;
        assert!(
            (llama_scale - peft_scale).abs() < 1e-6 * peft_scale,
            "{arch}: {llama_scale} vs {peft_scale}"
        );
        if peft.config.use_rslora {
            assert!((alpha - peft.config.lora_alpha * (r as f64).sqrt()).abs() < 1e-5);
        }
        assert_eq!(h.tensors.len(), peft.tensors.len() * 2);
        assert_eq!(report.tensors.len(), h.tensors.len());

        for (&(layer, module), (a, b)) in &peft.tensors {
            let name = format!("blk.{layer}.{}.weight", gguf_base(module.name()));
            let ta = h
                .tensor(&format!("{name}.lora_a"))
                .unwrap_or_else(|| panic!("{arch}: {name}.lora_a"));
            let tb = h.tensor(&format!("{name}.lora_b")).unwrap();
            let (out_f, in_f) = (b.dims()[0], a.dims()[1]);
            // What llama.cpp validates: a.ne[0] == in, b.ne[1] == out, a.ne[1] == b.ne[0] == r.
            assert_eq!(ta.ne, vec![in_f as u64, r as u64], "{arch} {name}");
            assert_eq!(tb.ne, vec![r as u64, out_f as u64], "{arch} {name}");
            assert_eq!((ta.ty, tb.ty), (GgmlType::F32, GgmlType::F32));
            let ga = f.tensor_f32(&ta.name).unwrap();
            let gb = f.tensor_f32(&tb.name).unwrap();
            let pa: Vec<f32> = a
                .to_dtype(DType::F32)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1()
                .unwrap();
            let pb: Vec<f32> = b
                .to_dtype(DType::F32)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1()
                .unwrap();
            assert_eq!(ga, pa, "{arch} {name}: lora_a is PEFT's A as stored");
            let ours = delta(llama_scale, &gb, &ga, out_f, r, in_f);
            let theirs = delta(peft_scale, &pb, &pa, out_f, r, in_f);
            let permute = match (arch, module.name()) {
                ("llama", "q_proj") => Some(cfg.num_attention_heads),
                ("llama", "k_proj") => Some(cfg.num_key_value_heads),
                _ => None,
            };
            for row in 0..out_f {
                let src = match permute {
                    Some(n_head) => mh_gguf::arch::permuted_source_row(row, out_f, n_head),
                    None => row,
                };
                for i in 0..in_f {
                    let (x, y) = (ours[row * in_f + i], theirs[src * in_f + i]);
                    assert!(
                        (x - y).abs() <= 1e-6 * (1.0 + y.abs()),
                        "{arch} {name}[{row},{i}]: {x} vs {y}"
                    );
                }
            }
            if permute.is_some() {
                assert_ne!(gb, pb, "{arch} {name}: lora_b rows must be permuted");
            }
        }

        // llama.cpp's Python reader agrees.
        let py = common::read_with_gguf_py(&out);
        assert_eq!(
            py["fields"]["adapter.lora.alpha"]["types"],
            serde_json::json!(["FLOAT32"])
        );
        assert_eq!(py["fields"]["general.type"]["value"], "adapter");
        assert_eq!(py["fields"]["adapter.type"]["value"], "lora");
        let tensors = py["tensors"].as_array().unwrap();
        assert_eq!(tensors.len(), h.tensors.len());
        for (t, p) in h.tensors.iter().zip(tensors) {
            assert_eq!(p["name"], t.name.as_str());
            assert_eq!(p["ne"], serde_json::json!(t.ne));
            assert_eq!(p["type"], t.ty.name());
            assert_eq!(p["sha256"], hex::encode(Sha256::digest(f.tensor_data(t))));
        }
    }
}

#[test]
fn q8_0_adapters_keep_rank_rows_in_f16() {
    let tmp = tempfile::tempdir().unwrap();
    let base = model_fixtures().join("tiny-qwen2");
    let out = tmp.path().join("a.gguf");
    let opts = AdapterOptions {
        outtype: GgmlType::Q8_0,
        name: Some("tiny".into()),
    };
    export_adapter(
        &model_fixtures().join("tiny-qwen2-adapter"),
        &base,
        &out,
        &opts,
        &NoProgress,
    )
    .unwrap();
    let f = GgufFile::open(&out).unwrap();
    assert_eq!(
        f.header().get("general.file_type"),
        Some(&MetaValue::U32(7))
    );
    assert_eq!(f.header().get_str("general.name"), Some("tiny"));
    for t in &f.header().tensors {
        // lora_a rows are the input width (64: whole Q8_0 blocks); lora_b rows are r = 4.
        let want = if t.name.ends_with("lora_a") {
            GgmlType::Q8_0
        } else {
            GgmlType::F16
        };
        assert_eq!(t.ty, want, "{}", t.name);
    }
}

#[test]
fn adapter_for_another_base_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let other = common::model_dir(
        &tmp.path().join("other"),
        &common::mix_spec(mh_model::Arch::Qwen2),
    );
    let out = tmp.path().join("a.gguf");
    let err = export_adapter(
        &model_fixtures().join("tiny-qwen2-adapter"),
        &other,
        &out,
        &AdapterOptions::default(),
        &NoProgress,
    )
    .unwrap_err();
    assert!(err.to_string().contains("wrong base model"), "{err}");
    assert!(!out.exists());
}
