//! Hugging Face model directory → GGUF file.
//!
//! Tensors are streamed: each is read from the safetensors files in chunks of rows (positioned
//! reads, whole heads at a time for the permuted llama q/k), permuted, converted or quantized on
//! the rayon pool, and written in order by the calling thread while the next chunks are
//! computed, so memory stays near a bounded window of chunks (`IN_FLIGHT` pieces of about
//! 1 MiB of input) whatever the model size. The writer starts the kernel's writeback as it goes
//! and fsyncs before the atomic rename.

use std::path::{Path, PathBuf};
use std::sync::mpsc;

use half::f16;
use half::slice::HalfFloatSliceExt;
use mh_model::{Arch, ModelConfig};
use mh_profile::Progress;
use rayon::prelude::*;
use serde::Serialize;

use crate::arch::{self, Mapped};
use crate::error::GgufError;
use crate::plan::{self, TensorRole};
use crate::quant;
use crate::source::{SourceDtype, SourceTensor, SourceWeights};
use crate::tokenizer::{self, TokenizerOptions};
use crate::types::{FileType, GgmlType, MetaValue};
use crate::writer::{self, TensorSpec, WriteError, ALIGNMENT};

/// `general.quantization_version` (`GGML_QNT_VERSION`).
pub const QUANTIZATION_VERSION: u32 = 2;

/// Rows of f32 input per work item (about 1 MiB).
const CHUNK_BYTES: usize = 1 << 20;
/// Chunks computed ahead of the writer.
const IN_FLIGHT: usize = 32;

/// Choices for [`export_model`].
#[derive(Debug, Clone)]
pub struct ExportOptions {
    pub file_type: FileType,
    /// `general.name`; defaults to the model directory's name.
    pub name: Option<String>,
    /// `tokenizer.chat_template` (the template the model was trained with).
    pub chat_template: Option<String>,
    /// `tokenizer.ggml.pre` to write instead of recognising it from `tokenizer.json`.
    pub tokenizer_pre: Option<String>,
}

impl ExportOptions {
    pub fn new(file_type: FileType) -> ExportOptions {
        ExportOptions {
            file_type,
            name: None,
            chat_template: None,
            tokenizer_pre: None,
        }
    }
}

/// One tensor as written.
#[derive(Debug, Clone, Serialize)]
pub struct ExportedTensor {
    pub name: String,
    /// The Hugging Face tensor it came from (`None` for generated ones such as `rope_freqs`).
    pub source: Option<String>,
    #[serde(rename = "type")]
    pub ty: GgmlType,
    pub ne: Vec<u64>,
    pub bytes: u64,
    /// The file type's choice did not fit the row length and llama.cpp's fallback was used.
    pub fell_back: bool,
}

/// What [`export_model`] wrote.
#[derive(Debug, Clone, Serialize)]
pub struct ExportReport {
    pub path: PathBuf,
    pub file_type: FileType,
    pub architecture: String,
    pub name: String,
    pub file_size: u64,
    pub tensors: Vec<ExportedTensor>,
    pub tokenizer_pre: String,
    pub vocab_size: usize,
    /// `[PAD{id}]` tokens added to reach `vocab_size`.
    pub padded_tokens: usize,
    pub merges: usize,
    pub chat_template: bool,
}

/// `model-<QUANT>.gguf`.
pub fn default_file_name(ft: FileType) -> String {
    format!("model-{}.gguf", ft.name())
}

/// `out` itself when it names a `.gguf` file, else `out/model-<QUANT>.gguf`.
pub fn resolve_output(out: &Path, ft: FileType) -> PathBuf {
    let is_file = out
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("gguf"))
        && !out.is_dir();
    if is_file {
        out.to_path_buf()
    } else {
        out.join(default_file_name(ft))
    }
}

enum Source {
    Weight(String),
    Values(Vec<f32>),
}

struct Planned {
    spec: TensorSpec,
    source: Source,
    /// Rows and row length of the source (2-D view; 1-D tensors are one row).
    rows: usize,
    cols: usize,
    permute_heads: Option<usize>,
    fell_back: bool,
}

/// Hugging Face shape a mapped tensor must have.
fn expected_shape(m: &Mapped, cfg: &ModelConfig) -> Option<Vec<usize>> {
    let (h, hd) = (cfg.hidden_size, cfg.head_dim);
    let (q, kv) = (cfg.num_attention_heads * hd, cfg.num_key_value_heads * hd);
    let name = m.gguf.as_str();
    Some(match name {
        "token_embd.weight" | "output.weight" => vec![cfg.vocab_size, h],
        "output_norm.weight" => vec![h],
        _ => {
            let rest = name.splitn(3, '.').nth(2)?;
            match rest {
                "attn_norm.weight" | "ffn_norm.weight" => vec![h],
                "attn_q.weight" => vec![q, h],
                "attn_k.weight" | "attn_v.weight" => vec![kv, h],
                "attn_q.bias" => vec![q],
                "attn_k.bias" | "attn_v.bias" => vec![kv],
                "attn_output.weight" => vec![h, q],
                "attn_output.bias" => vec![h],
                "attn_q_norm.weight" | "attn_k_norm.weight" => vec![hd],
                "ffn_gate.weight" | "ffn_up.weight" => vec![cfg.intermediate_size, h],
                "ffn_down.weight" => vec![h, cfg.intermediate_size],
                "ffn_gate.bias" | "ffn_up.bias" => vec![cfg.intermediate_size],
                "ffn_down.bias" => vec![h],
                _ => return None,
            }
        }
    })
}

/// The tensors llama.cpp requires for this configuration.
fn required_tensors(cfg: &ModelConfig) -> Vec<String> {
    let mut names = vec![
        "token_embd.weight".to_string(),
        "output_norm.weight".to_string(),
    ];
    if !cfg.tie_word_embeddings {
        names.push("output.weight".into());
    }
    for i in 0..cfg.num_hidden_layers {
        for base in [
            "attn_norm",
            "ffn_norm",
            "attn_q",
            "attn_k",
            "attn_v",
            "attn_output",
            "ffn_gate",
            "ffn_up",
            "ffn_down",
        ] {
            names.push(format!("blk.{i}.{base}.weight"));
        }
        if cfg.qkv_bias {
            for base in ["attn_q", "attn_k", "attn_v"] {
                names.push(format!("blk.{i}.{base}.bias"));
            }
        }
        if cfg.qk_norm {
            names.push(format!("blk.{i}.attn_q_norm.weight"));
            names.push(format!("blk.{i}.attn_k_norm.weight"));
        }
    }
    names
}

fn order_key(name: &str) -> (u8, usize, String) {
    if let Some(rest) = name.strip_prefix("blk.") {
        let layer = rest
            .split('.')
            .next()
            .and_then(|l| l.parse().ok())
            .unwrap_or(0);
        return (2, layer, name.to_string());
    }
    let group = match name {
        "token_embd.weight" => 0,
        "rope_freqs.weight" => 1,
        "output_norm.weight" => 3,
        _ => 4,
    };
    (group, 0, name.to_string())
}

/// Write `model_dir` as a GGUF file of `opts.file_type` to `out` (a `.gguf` path, or a
/// directory that receives `model-<QUANT>.gguf`), atomically.
pub fn export_model(
    model_dir: &Path,
    out: &Path,
    opts: &ExportOptions,
    progress: &dyn Progress,
) -> Result<ExportReport, GgufError> {
    let config_path = model_dir.join("config.json");
    let cfg = ModelConfig::from_file(&config_path)?;
    let raw_config: serde_json::Value = std::fs::read_to_string(&config_path)
        .map_err(|e| GgufError::io(&config_path, e))
        .and_then(|t| {
            serde_json::from_str(&t).map_err(|e| GgufError::field(&config_path, "$", e.to_string()))
        })?;
    let has_head_dim = raw_config.get("head_dim").is_some_and(|v| !v.is_null());
    let weights = SourceWeights::open(model_dir)?;
    let ft = opts.file_type;

    // Map and check every source tensor.
    let mut planned: Vec<Planned> = Vec::new();
    for hf in weights.names() {
        let Some(mapped) = arch::map_tensor(hf, &cfg)? else {
            continue;
        };
        let shape = weights.shape(hf).unwrap_or(&[]).to_vec();
        if let Some(exp) = expected_shape(&mapped, &cfg) {
            if exp != shape {
                return Err(GgufError::tensor(
                    hf,
                    format!(
                        "shape {shape:?} in {} does not match config.json (expected {exp:?})",
                        weights
                            .file_of(hf)
                            .map(|p| p.display().to_string())
                            .unwrap_or_default()
                    ),
                ));
            }
        }
        if shape.is_empty() || shape.len() > 2 || shape.contains(&0) {
            return Err(GgufError::tensor(
                hf,
                format!("unsupported shape {shape:?}"),
            ));
        }
        weights.get(hf)?; // dtype check
        let cols = *shape.last().unwrap_or(&1);
        let rows = shape.iter().rev().skip(1).product::<usize>();
        if let Some(n_head) = mapped.permute_heads {
            arch::check_permutable(hf, rows, n_head)?;
        }
        let ne: Vec<u64> = shape.iter().rev().map(|&d| d as u64).collect();
        planned.push(Planned {
            spec: TensorSpec::new(mapped.gguf.clone(), ne, GgmlType::F32),
            source: Source::Weight(hf.to_string()),
            rows,
            cols,
            permute_heads: mapped.permute_heads,
            fell_back: false,
        });
    }
    let present: std::collections::HashSet<String> =
        planned.iter().map(|p| p.spec.name.clone()).collect();
    if let Some(missing) = required_tensors(&cfg)
        .iter()
        .find(|n| !present.contains(*n))
    {
        return Err(GgufError::tensor(
            missing.as_str(),
            format!(
                "missing from the weights in {} (llama.cpp needs it for this {} configuration)",
                model_dir.display(),
                cfg.arch.model_type()
            ),
        ));
    }
    if let Some(freqs) = arch::rope_freqs(&cfg) {
        planned.push(Planned {
            spec: TensorSpec::new("rope_freqs.weight", vec![freqs.len() as u64], GgmlType::F32),
            rows: 1,
            cols: freqs.len(),
            source: Source::Values(freqs),
            permute_heads: None,
            fell_back: false,
        });
    }
    planned.sort_by_key(|p| order_key(&p.spec.name));
    let has_output = present.contains("output.weight");
    for p in &mut planned {
        let layer = p
            .spec
            .name
            .strip_prefix("blk.")
            .and_then(|r| r.split('.').next())
            .and_then(|l| l.parse().ok());
        let role = TensorRole {
            name: &p.spec.name,
            ne: &p.spec.ne,
            layer,
            n_layers: cfg.num_hidden_layers,
            has_output,
        };
        let ty = plan::tensor_type(ft, role);
        p.fell_back = ft.is_quantized()
            && ty != GgmlType::F32
            && ty != plan::tensor_type_before_fallback(ft, role);
        p.spec.ty = ty;
    }

    // Metadata: general.*, the architecture's hyper-parameters, the tokenizer.
    let arch_name = arch::gguf_arch(cfg.arch);
    let name = opts.name.clone().unwrap_or_else(|| {
        model_dir
            .canonicalize()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "model".into())
    });
    let mut metadata: Vec<(String, MetaValue)> = vec![
        ("general.architecture".into(), MetaValue::string(arch_name)),
        ("general.type".into(), MetaValue::string("model")),
        ("general.name".into(), MetaValue::string(name.clone())),
        ("general.file_type".into(), MetaValue::U32(ft.id())),
        (
            "general.quantization_version".into(),
            MetaValue::U32(QUANTIZATION_VERSION),
        ),
        ("general.alignment".into(), MetaValue::U32(ALIGNMENT as u32)),
    ];
    metadata.extend(arch::hparams(&cfg, has_head_dim)?);
    let tok = tokenizer::tokenizer_metadata(
        model_dir,
        &TokenizerOptions {
            vocab_size: cfg.vocab_size,
            chat_template: opts.chat_template.clone(),
            pre: opts.tokenizer_pre.clone(),
            add_space_prefix_key: matches!(cfg.arch, Arch::Llama | Arch::Mistral),
        },
    )?;
    metadata.extend(tok.entries.iter().cloned());

    let specs: Vec<TensorSpec> = planned.iter().map(|p| p.spec.clone()).collect();
    let path = resolve_output(out, ft);
    let total: u64 = specs.iter().map(|s| s.n_bytes().unwrap_or(0)).sum();
    progress.start("gguf", Some(total));
    let layout = writer::write_file(&path, &metadata, &specs, |w| {
        stream_tensors(&planned, &weights, w, progress)
    });
    progress.finish();
    let layout = layout?;

    Ok(ExportReport {
        path,
        file_type: ft,
        architecture: arch_name.to_string(),
        name,
        file_size: layout.file_size,
        tensors: planned
            .iter()
            .zip(&layout.sizes)
            .map(|(p, &bytes)| ExportedTensor {
                name: p.spec.name.clone(),
                source: match &p.source {
                    Source::Weight(n) => Some(n.clone()),
                    Source::Values(_) => None,
                },
                ty: p.spec.ty,
                ne: p.spec.ne.clone(),
                bytes,
                fell_back: p.fell_back,
            })
            .collect(),
        tokenizer_pre: tok.pre,
        vocab_size: cfg.vocab_size,
        padded_tokens: tok.padded,
        merges: tok.merges,
        chat_template: opts.chat_template.is_some(),
    })
}

/// A piece of tensor data on its way to the file.
enum Piece {
    Bytes(Vec<u8>),
    /// F16 values, written as their little-endian bytes without another copy.
    Halves(Vec<f16>),
}

impl Piece {
    fn bytes(&self) -> &[u8] {
        match self {
            Piece::Bytes(v) => v,
            Piece::Halves(h) => bytemuck::cast_slice(h),
        }
    }
}

fn same_encoding(src: SourceDtype, ty: GgmlType) -> bool {
    matches!(
        (src, ty),
        (SourceDtype::F32, GgmlType::F32)
            | (SourceDtype::F16, GgmlType::F16)
            | (SourceDtype::BF16, GgmlType::BF16)
    )
}

/// Produce every tensor's data on a scoped thread (chunks computed in parallel) and write the
/// pieces in order as they arrive.
fn stream_tensors(
    planned: &[Planned],
    weights: &SourceWeights,
    w: &mut writer::StreamWriter<&mut dyn std::io::Write>,
    progress: &dyn Progress,
) -> Result<(), WriteError> {
    std::thread::scope(|scope| {
        let (tx, rx) = mpsc::sync_channel::<Result<Piece, GgufError>>(IN_FLIGHT);
        let producer = scope.spawn(move || {
            for p in planned {
                if let Err(e) = produce(p, weights, &tx) {
                    let _ = tx.send(Err(e));
                    return;
                }
            }
        });
        let mut result = Ok(());
        for piece in rx {
            match piece {
                Ok(piece) => {
                    let bytes = piece.bytes();
                    if let Err(e) = w.write(bytes) {
                        result = Err(e);
                        break;
                    }
                    progress.advance(bytes.len() as u64);
                }
                Err(e) => {
                    result = Err(WriteError::Gguf(e));
                    break;
                }
            }
        }
        // Dropping the receiver (on error) makes the producer's next send fail and stop.
        let _ = producer.join();
        result
    })
}

fn produce(
    p: &Planned,
    weights: &SourceWeights,
    tx: &mpsc::SyncSender<Result<Piece, GgufError>>,
) -> Result<(), GgufError> {
    let closed = || GgufError::Input("the GGUF writer stopped".into());
    let name = &p.spec.name;
    let (src, values) = match &p.source {
        Source::Weight(hf) => (Some(weights.get(hf)?), None),
        Source::Values(v) => (None, Some(v.as_slice())),
    };
    let mut rows_per_chunk = (CHUNK_BYTES / 4 / p.cols.max(1)).max(1);
    if let Some(n_head) = p.permute_heads {
        // Whole heads per chunk: the permutation then stays inside the rows read.
        let head_rows = p.rows / n_head;
        rows_per_chunk = rows_per_chunk.div_ceil(head_rows) * head_rows;
    }
    let n_chunks = p.rows.div_ceil(rows_per_chunk);
    let window = IN_FLIGHT.max(rayon::current_num_threads() * 4);
    let mut first = 0;
    while first < n_chunks {
        let last = (first + window).min(n_chunks);
        let pieces: Vec<Result<Piece, GgufError>> = (first..last)
            .into_par_iter()
            .map(|c| {
                let r0 = c * rows_per_chunk;
                let r1 = (r0 + rows_per_chunk).min(p.rows);
                chunk(p, src, values, r0, r1).map_err(|reason| GgufError::tensor(name, reason))
            })
            .collect();
        for piece in pieces {
            tx.send(piece).map_err(|_| closed())?;
        }
        first = last;
    }
    Ok(())
}

/// Output of rows `r0..r1`: the source rows read with one positioned read, permuted (llama
/// q/k, within the whole heads a chunk holds), converted or quantized.
fn chunk(
    p: &Planned,
    src: Option<SourceTensor<'_>>,
    values: Option<&[f32]>,
    r0: usize,
    r1: usize,
) -> Result<Piece, String> {
    let cols = p.cols;
    let ty = p.spec.ty;
    let n = (r1 - r0) * cols;
    // Local index of the source row for output row r0 + i.
    let local_source = |i: usize| match p.permute_heads {
        Some(n_head) => arch::permuted_source_row(r0 + i, p.rows, n_head) - r0,
        None => i,
    };
    let Some(src) = src else {
        let v = values.unwrap_or(&[]);
        return encode(ty, &v[r0 * cols..r1 * cols]);
    };
    let es = src.dtype.size();
    let row_bytes = cols * es;
    let at = (r0 * row_bytes) as u64;
    let gather = |raw: &[u8]| {
        let mut out = Vec::with_capacity(raw.len());
        for i in 0..r1 - r0 {
            let s = local_source(i) * row_bytes;
            out.extend_from_slice(&raw[s..s + row_bytes]);
        }
        out
    };
    if same_encoding(src.dtype, ty) {
        let mut raw = vec![0u8; n * es];
        src.read_at(at, &mut raw)?;
        return Ok(Piece::Bytes(match p.permute_heads {
            Some(_) => gather(&raw),
            None => raw,
        }));
    }
    if src.dtype == SourceDtype::F32 && cfg!(target_endian = "little") {
        // Read straight into the f32 buffer the encoder takes.
        let mut f = vec![0.0f32; n];
        src.read_at(at, bytemuck::cast_slice_mut(&mut f))?;
        if p.permute_heads.is_some() {
            let mut g = Vec::with_capacity(n);
            for i in 0..r1 - r0 {
                let s = local_source(i) * cols;
                g.extend_from_slice(&f[s..s + cols]);
            }
            f = g;
        }
        return encode(ty, &f);
    }
    let mut raw = vec![0u8; n * es];
    src.read_at(at, &mut raw)?;
    let mut f = vec![0.0f32; n];
    for i in 0..r1 - r0 {
        let s = local_source(i) * row_bytes;
        src.dtype
            .decode_into(&raw[s..s + row_bytes], &mut f[i * cols..(i + 1) * cols]);
    }
    encode(ty, &f)
}

fn encode(ty: GgmlType, f: &[f32]) -> Result<Piece, String> {
    if ty == GgmlType::F16 && cfg!(target_endian = "little") {
        // The hot path of an f16 export: one SIMD conversion into the buffer that is written.
        let mut h = vec![f16::ZERO; f.len()];
        h.convert_from_f32_slice(f);
        return Ok(Piece::Halves(h));
    }
    let mut out = Vec::new();
    quant::quantize(ty, f, &mut out)?;
    Ok(Piece::Bytes(out))
}
