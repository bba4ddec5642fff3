//! PEFT LoRA adapter → GGUF LoRA adapter, the file `llama.cpp --lora` and Ollama's `ADAPTER`
//! load (the layout of llama.cpp's `convert_lora_to_gguf.py`, checked by
//! `llama_adapter_lora_init_impl`):
//!
//! * `general.type = "adapter"`, `adapter.type = "lora"`, `general.architecture` = the base's;
//! * `adapter.lora.alpha` (FLOAT32): llama.cpp scales by `alpha / rank`, so an rsLoRA adapter
//!   (scale `alpha / sqrt(r)`) is written with `alpha · sqrt(r)`;
//! * per adapted projection `<base tensor>.lora_a` with ggml dimensions `[in, r]` (PEFT's
//!   `lora_A` `(r, in)` as stored) and `.lora_b` `[r, out]` (`lora_B` `(out, r)`);
//! * for the `llama` architecture the rows of `lora_b` of q/k get the same RoPE permutation as
//!   the base weights (`lora_a` is untouched — the permutation acts on output rows).

use std::path::{Path, PathBuf};

use mh_model::candle_core::{DType, Device};
use mh_model::{read_peft_adapter, ModelConfig};
use mh_profile::Progress;
use serde::Serialize;

use crate::arch;
use crate::error::GgufError;
use crate::export::{ExportedTensor, QUANTIZATION_VERSION};
use crate::quant;
use crate::types::{GgmlType, MetaValue};
use crate::writer::{self, TensorSpec, ALIGNMENT};

/// Tensor types an adapter file can use (`convert_lora_to_gguf.py --outtype`).
pub const ADAPTER_TYPES: [GgmlType; 4] =
    [GgmlType::F32, GgmlType::F16, GgmlType::BF16, GgmlType::Q8_0];

#[derive(Debug, Clone)]
pub struct AdapterOptions {
    /// F32 (llama.cpp's default), F16, BF16 or Q8_0 (rows that are not whole Q8_0 blocks — the
    /// rank side of `lora_b` — fall back to F16 as in llama.cpp's converter).
    pub outtype: GgmlType,
    /// `general.name`; defaults to the adapter directory's name.
    pub name: Option<String>,
}

impl Default for AdapterOptions {
    fn default() -> Self {
        AdapterOptions {
            outtype: GgmlType::F32,
            name: None,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct AdapterReport {
    pub path: PathBuf,
    pub architecture: String,
    pub name: String,
    pub rank: usize,
    pub lora_alpha: f64,
    pub use_rslora: bool,
    /// The `adapter.lora.alpha` written (alpha·√r for rsLoRA).
    pub gguf_alpha: f32,
    pub file_size: u64,
    pub tensors: Vec<ExportedTensor>,
}

fn file_type_id(t: GgmlType) -> u32 {
    match t {
        GgmlType::F16 => 1,
        GgmlType::Q8_0 => 7,
        GgmlType::BF16 => 32,
        _ => 0,
    }
}

struct Item {
    spec: TensorSpec,
    source: String,
    values: Vec<f32>,
    fell_back: bool,
}

/// Write the PEFT adapter in `adapter_dir` (for the base model in `base_dir`) as a GGUF LoRA
/// adapter at `out`, atomically.
pub fn export_adapter(
    adapter_dir: &Path,
    base_dir: &Path,
    out: &Path,
    opts: &AdapterOptions,
    progress: &dyn Progress,
) -> Result<AdapterReport, GgufError> {
    if !ADAPTER_TYPES.contains(&opts.outtype) {
        return Err(GgufError::Input(format!(
            "adapter tensors can be F32, F16, BF16 or Q8_0, not {}",
            opts.outtype
        )));
    }
    let cfg = ModelConfig::from_file(&base_dir.join("config.json"))?;
    let adapter = read_peft_adapter(adapter_dir, &Device::Cpu)?;
    let r = adapter.config.r;
    let mut items = Vec::new();
    for (&(layer, module), (a, b)) in &adapter.tensors {
        let hf = format!("model.layers.{layer}.{}.weight", module.path());
        let mapped = arch::map_tensor(&hf, &cfg)?.ok_or_else(|| {
            GgufError::tensor(&hf, "the base model has no GGUF tensor for this projection")
        })?;
        let (q, kv) = (
            cfg.num_attention_heads * cfg.head_dim,
            cfg.num_key_value_heads * cfg.head_dim,
        );
        let (out_f, in_f) = match module.name() {
            "q_proj" => (q, cfg.hidden_size),
            "k_proj" | "v_proj" => (kv, cfg.hidden_size),
            "o_proj" => (cfg.hidden_size, q),
            "gate_proj" | "up_proj" => (cfg.intermediate_size, cfg.hidden_size),
            _ => (cfg.hidden_size, cfg.intermediate_size),
        };
        let (a_dims, b_dims) = (a.dims().to_vec(), b.dims().to_vec());
        if a_dims != [r, in_f] || b_dims != [out_f, r] {
            return Err(GgufError::tensor(
                &hf,
                format!(
                    "adapter factors A {a_dims:?} / B {b_dims:?} do not fit the base projection ({out_f} x {in_f}) with r = {r} (wrong base model?)"
                ),
            ));
        }
        let flat = |t: &mh_model::candle_core::Tensor, which: &str| {
            t.to_dtype(DType::F32)
                .and_then(|t| t.flatten_all())
                .and_then(|t| t.to_vec1::<f32>())
                .map_err(|e| GgufError::tensor(format!("{hf} lora_{which}"), e.to_string()))
        };
        let a_vals = flat(a, "A")?;
        let mut b_vals = flat(b, "B")?;
        if let Some(n_head) = mapped.permute_heads {
            arch::check_permutable(&hf, out_f, n_head)?;
            let src = b_vals.clone();
            for row in 0..out_f {
                let s = arch::permuted_source_row(row, out_f, n_head);
                b_vals[row * r..(row + 1) * r].copy_from_slice(&src[s * r..(s + 1) * r]);
            }
        }
        for (suffix, values, ne) in [
            ("lora_a", a_vals, vec![in_f as u64, r as u64]),
            ("lora_b", b_vals, vec![r as u64, out_f as u64]),
        ] {
            let ty = if opts.outtype.is_quantized()
                && !ne[0].is_multiple_of(opts.outtype.block_size())
            {
                GgmlType::F16
            } else {
                opts.outtype
            };
            items.push(Item {
                spec: TensorSpec::new(format!("{}.{suffix}", mapped.gguf), ne, ty),
                source: format!(
                    "{hf} {}",
                    if suffix == "lora_a" {
                        "lora_A"
                    } else {
                        "lora_B"
                    }
                ),
                values,
                fell_back: ty != opts.outtype,
            });
        }
    }
    if items.is_empty() {
        return Err(GgufError::Input(format!(
            "{}: the adapter has no LoRA tensors",
            adapter_dir.display()
        )));
    }
    let name = opts.name.clone().unwrap_or_else(|| {
        adapter_dir
            .canonicalize()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "adapter".into())
    });
    let gguf_alpha = if adapter.config.use_rslora {
        (adapter.config.lora_alpha * (r as f64).sqrt()) as f32
    } else {
        adapter.config.lora_alpha as f32
    };
    let arch_name = arch::gguf_arch(cfg.arch);
    let metadata = vec![
        (
            "general.architecture".to_string(),
            MetaValue::string(arch_name),
        ),
        ("general.type".into(), MetaValue::string("adapter")),
        ("general.name".into(), MetaValue::string(name.clone())),
        (
            "general.file_type".into(),
            MetaValue::U32(file_type_id(opts.outtype)),
        ),
        (
            "general.quantization_version".into(),
            MetaValue::U32(QUANTIZATION_VERSION),
        ),
        ("general.alignment".into(), MetaValue::U32(ALIGNMENT as u32)),
        ("adapter.type".into(), MetaValue::string("lora")),
        ("adapter.lora.alpha".into(), MetaValue::F32(gguf_alpha)),
    ];
    let specs: Vec<TensorSpec> = items.iter().map(|i| i.spec.clone()).collect();
    progress.start("gguf adapter", Some(items.len() as u64));
    let layout = writer::write_file(out, &metadata, &specs, |w| {
        for item in &items {
            let mut bytes = Vec::new();
            quant::quantize(item.spec.ty, &item.values, &mut bytes)
                .map_err(|reason| GgufError::tensor(&item.spec.name, reason))?;
            w.write(&bytes)?;
            progress.advance(1);
        }
        Ok(())
    });
    progress.finish();
    let layout = layout?;
    Ok(AdapterReport {
        path: out.to_path_buf(),
        architecture: arch_name.to_string(),
        name,
        rank: r,
        lora_alpha: adapter.config.lora_alpha,
        use_rslora: adapter.config.use_rslora,
        gguf_alpha,
        file_size: layout.file_size,
        tensors: items
            .iter()
            .zip(&layout.sizes)
            .map(|(i, &bytes)| ExportedTensor {
                name: i.spec.name.clone(),
                source: Some(i.source.clone()),
                ty: i.spec.ty,
                ne: i.spec.ne.clone(),
                bytes,
                fell_back: i.fell_back,
            })
            .collect(),
    })
}
