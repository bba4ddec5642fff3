//! candle-transformers' own GGUF models (`quantized_qwen2`, `quantized_llama`,
//! `quantized_qwen3` — code we did not write, which follows llama.cpp's conventions including
//! the interleaved RoPE of the `llama` architecture) load our exports of a tiny model and give the
//! logits our safetensors forward (mh-model, itself checked against transformers) gives.
//!
//! Bounds, as the largest |difference| of last-position logits relative to the largest |logit|
//! (about 2 for the untied llama head, about 120 for the tied qwen ones): F16 ≤ 0.2 %, Q8_0 ≤ 3 %
//! (candle also quantizes the activations to Q8 for its Q8_0 matmuls), Q4_K_M ≤ 15 % (4-bit
//! weights); every file must also give the same top-1 token. Measured (printed with
//! --nocapture): F16 0.01–0.03 %, Q8_0 0.3–1.3 %, Q4_K_M 1.2–7.4 %.

mod common;

use std::fs::File;

use candle_core::quantized::gguf_file;
use candle_core::{DType, Device, Tensor};
use candle_transformers::models::{quantized_llama, quantized_qwen2, quantized_qwen3};
use mh_gguf::{export_model, ExportOptions, FileType};
use mh_model::{Arch, LoadOptions, Model};
use mh_profile::NoProgress;

const IDS: [u32; 9] = [1, 5, 77, 300, 12, 42, 250, 9, 2];

fn candle_logits(arch: Arch, path: &std::path::Path) -> Vec<f32> {
    let mut f = File::open(path).unwrap();
    let content = gguf_file::Content::read(&mut f).unwrap();
    let dev = Device::Cpu;
    let ids = Tensor::new(&IDS, &dev).unwrap().unsqueeze(0).unwrap();
    let out = match arch {
        Arch::Qwen2 => quantized_qwen2::ModelWeights::from_gguf(content, &mut f, &dev)
            .unwrap()
            .forward(&ids, 0)
            .unwrap(),
        Arch::Llama => quantized_llama::ModelWeights::from_gguf(content, &mut f, &dev)
            .unwrap()
            .forward(&ids, 0)
            .unwrap(),
        Arch::Qwen3 => quantized_qwen3::ModelWeights::from_gguf(content, &mut f, &dev)
            .unwrap()
            .forward(&ids, 0)
            .unwrap(),
        Arch::Mistral => unreachable!(),
    };
    out.to_dtype(DType::F32)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap()
}

fn our_logits(dir: &std::path::Path) -> Vec<f32> {
    let opts = LoadOptions {
        device: Device::Cpu,
        dtype: DType::F32,
        lora: None,
    };
    let model = Model::load(dir, &opts).unwrap();
    let ids = Tensor::new(&IDS, &Device::Cpu)
        .unwrap()
        .unsqueeze(0)
        .unwrap();
    let logits = model.forward(&ids, None, None).unwrap();
    let last = logits.narrow(1, IDS.len() - 1, 1).unwrap();
    last.flatten_all().unwrap().to_vec1().unwrap()
}

fn argmax(v: &[f32]) -> usize {
    v.iter()
        .enumerate()
        .fold((0, f32::MIN), |b, (i, &x)| if x > b.1 { (i, x) } else { b })
        .0
}

#[test]
fn candle_gguf_models_reproduce_our_logits() {
    let tmp = tempfile::tempdir().unwrap();
    let mut report = Vec::new();
    let mut failures = Vec::new();
    for arch in [Arch::Qwen2, Arch::Llama, Arch::Qwen3] {
        let mut spec = common::mix_spec(arch);
        // qwen3's candle model reads head_dim from key_length; keep it distinct from hidden/heads.
        if arch == Arch::Qwen3 {
            spec.head_dim = Some(32);
        }
        let dir = common::model_dir(&tmp.path().join(arch.model_type()), &spec);
        let reference = our_logits(&dir);
        let scale = reference.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        for (ft, bound) in [
            (FileType::F16, 0.002),
            (FileType::Q8_0, 0.03),
            (FileType::Q4_K_M, 0.15),
        ] {
            let out = tmp
                .path()
                .join(format!("{}-{}.gguf", arch.model_type(), ft.name()));
            export_model(&dir, &out, &ExportOptions::new(ft), &NoProgress).unwrap();
            let got = candle_logits(arch, &out);
            assert_eq!(got.len(), reference.len(), "{arch} {ft}");
            let diff = got
                .iter()
                .zip(&reference)
                .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
            let rel = diff / scale;
            report.push(format!(
                "{arch} {ft}: max |Δlogit| {diff:.4} ({:.2} % of max |logit| {scale:.2})",
                rel * 100.0
            ));
            if rel > bound {
                failures.push(format!(
                    "{arch} {ft}: relative difference {rel:.4} > {bound}"
                ));
            }
            if argmax(&got) != argmax(&reference) {
                failures.push(format!(
                    "{arch} {ft}: top token {} vs ours {}",
                    argmax(&got),
                    argmax(&reference)
                ));
            }
        }
    }
    println!("{}", report.join("\n"));
    assert!(failures.is_empty(), "{failures:#?}\n{}", report.join("\n"));
}
