//! GPU planning: how much VRAM a training run needs ([`estimate`]), and the cheapest GPU type in
//! stock that holds it with a margin ([`choose_gpu`]).
//!
//! The estimate is an upper-bound style sum, in GiB (2^30 bytes — RunPod's `memoryInGb` is the
//! same unit: a "24 GB" card has 24 GiB):
//!
//! * **weights** — every base parameter in bf16 (2 B).
//! * **LoRA** (rank r on the chosen projections, `r·(in + out)` parameters each): adapter
//!   weights in f32 (4 B) → `adapter_gb`, their gradients in f32 (4 B) → `gradients_gb`, AdamW's
//!   two f32 moments (8 B) → `optimizer_gb`; 16 B per trainable parameter in all.
//! * **full fine-tune** — the usual mixed-precision recipe (Rajbhandari et al. 2020, "ZeRO",
//!   §3.1): bf16 weights (2 B) and gradients (2 B), plus an f32 master copy and two f32 AdamW
//!   moments (12 B) → `optimizer_gb`; 16 B per parameter in all.
//! * **activations** kept for the backward pass, no activation checkpointing, counted the way
//!   Korthikanti et al. 2022 ("Reducing Activation Recomputation in Large Transformer Models",
//!   §4.1) count them — every tensor a layer keeps for its backward, 16-bit — but over the
//!   widths of our Llama-style block instead of GPT's (their total, 34·s·b·h + 5·a·s²·b per
//!   layer, assumes a 4h GELU MLP, LayerNorm and dropout). Per token and layer, in bytes:
//!   the two RMSNorm inputs (2·2h), the q/k/v input (2h), Q and K after RoPE (2·q + 2·kv), V
//!   (2·kv), the o_proj input (2·q), the MLP input (2h), gate, up, silu(gate) and their product
//!   (4·2i), and for LoRA the rank-r intermediate of each adapted projection (2r each); plus
//!   the attention scores, 5·a·s bytes per token and layer as in the paper (softmax output and
//!   what surrounds it, materialised: no flash attention). Then the head: the final norm input
//!   (2h) and the logits over the vocabulary, 10 B per logit (bf16 logits, their f32 copy and
//!   the f32 log-softmax the loss keeps).
//! * **overhead** — 0.5 GiB for the CUDA context and allocator slack.
//!
//! [`choose_gpu`] then wants `memory_gb ≥ total_gb × margin` ([`DEFAULT_MARGIN`] = 1.15, for
//! fragmentation and the transient buffers of the backward pass).

use std::fmt;
use std::path::Path;

use mh_model::{ModelConfig, ModelError, TargetModule};

use crate::api::{CloudType, GpuType, StockStatus};

const GIB: f64 = (1u64 << 30) as f64;

/// Bytes per base weight (bf16).
pub const WEIGHT_BYTES: u64 = 2;
/// Bytes per stored activation element (bf16).
pub const ACTIVATION_BYTES: u64 = 2;
/// Bytes per logit kept by the loss: bf16 logits, an f32 copy, the f32 log-softmax.
pub const LOGIT_BYTES: u64 = 2 + 4 + 4;
/// Attention-score bytes per (head, query, key) per layer (Korthikanti et al. 2022: 5·a·s²·b).
pub const SCORE_BYTES: u64 = 5;
/// CUDA context and allocator slack.
pub const OVERHEAD_GB: f64 = 0.5;
/// Headroom [`choose_gpu`] asks for over the estimate.
pub const DEFAULT_MARGIN: f64 = 1.15;

/// What is trained.
#[derive(Debug, Clone, PartialEq)]
pub enum Method {
    /// LoRA of `rank` on `targets` (the base frozen).
    Lora {
        rank: usize,
        targets: Vec<TargetModule>,
    },
    /// Every parameter.
    Full,
}

impl Method {
    /// LoRA of `rank` on all seven projections (our trainer's default).
    pub fn lora(rank: usize) -> Method {
        Method::Lora {
            rank,
            targets: TargetModule::ALL.to_vec(),
        }
    }
}

/// The shape of one training step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrainShape {
    /// Sequences per step (per micro-batch, when accumulating gradients).
    pub batch: usize,
    /// Tokens per sequence.
    pub seq_len: usize,
}

/// Why a plan could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error(transparent)]
    Config(#[from] ModelError),
    #[error("invalid training shape: {0}")]
    Shape(String),
    #[error("RunPod listed no GPU types to choose from")]
    NoGpuTypes,
    #[error(
        "no GPU type fits: the run needs {needed_gb:.1} GiB ({total_gb:.1} GiB estimated × margin {margin}); {detail}"
    )]
    NoFit {
        needed_gb: f64,
        total_gb: f64,
        margin: f64,
        detail: String,
    },
}

/// VRAM needed by one training run, in GiB.
#[derive(Debug, Clone, PartialEq)]
pub struct Estimate {
    /// Parameters of the base model (shared embeddings counted once).
    pub parameters: u64,
    /// Parameters the optimizer updates (LoRA: the adapter's; full: all).
    pub trainable_parameters: u64,
    pub weights_gb: f64,
    pub adapter_gb: f64,
    pub gradients_gb: f64,
    pub optimizer_gb: f64,
    pub activations_gb: f64,
    pub overhead_gb: f64,
    pub total_gb: f64,
}

impl fmt::Display for Estimate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rows = [
            ("weights (bf16)", self.weights_gb),
            ("adapter (f32)", self.adapter_gb),
            ("gradients", self.gradients_gb),
            ("optimizer state", self.optimizer_gb),
            ("activations", self.activations_gb),
            ("CUDA overhead", self.overhead_gb),
        ];
        writeln!(
            f,
            "parameters: {} total, {} trainable",
            self.parameters, self.trainable_parameters
        )?;
        for (name, gb) in rows {
            writeln!(f, "  {name:<17} {gb:>8.2} GiB")?;
        }
        write!(f, "  {:<17} {:>8.2} GiB", "total", self.total_gb)
    }
}

fn linear(inp: usize, out: usize, bias: bool) -> u64 {
    (inp * out + if bias { out } else { 0 }) as u64
}

/// `(in, out)` features of projection `t`.
fn proj_dims(cfg: &ModelConfig, t: TargetModule) -> (usize, usize) {
    let h = cfg.hidden_size;
    match t {
        TargetModule::Q => (h, cfg.q_dim()),
        TargetModule::K | TargetModule::V => (h, cfg.kv_dim()),
        TargetModule::O => (cfg.q_dim(), h),
        TargetModule::Gate | TargetModule::Up => (h, cfg.intermediate_size),
        TargetModule::Down => (cfg.intermediate_size, h),
    }
}

/// Parameters of the model `cfg` describes (the output head counted once when tied).
pub fn parameter_count(cfg: &ModelConfig) -> u64 {
    let h = cfg.hidden_size;
    let (q, kv, i) = (cfg.q_dim(), cfg.kv_dim(), cfg.intermediate_size);
    let embed = (cfg.vocab_size * h) as u64;
    let attn = linear(h, q, cfg.qkv_bias)
        + 2 * linear(h, kv, cfg.qkv_bias)
        + linear(q, h, cfg.o_bias)
        + if cfg.qk_norm {
            2 * cfg.head_dim as u64
        } else {
            0
        };
    let mlp = 2 * linear(h, i, cfg.mlp_bias) + linear(i, h, cfg.mlp_bias);
    let norms = 2 * h as u64;
    let layers = cfg.num_hidden_layers as u64 * (attn + mlp + norms);
    let head = if cfg.tie_word_embeddings { 0 } else { embed };
    embed + layers + h as u64 + head
}

/// Trainable parameters of a LoRA of `rank` on `targets`: `rank·(in + out)` per projection
/// and layer.
pub fn lora_parameter_count(cfg: &ModelConfig, rank: usize, targets: &[TargetModule]) -> u64 {
    let mut unique: Vec<TargetModule> = Vec::new();
    for t in targets {
        if !unique.contains(t) {
            unique.push(*t);
        }
    }
    let per_layer: u64 = unique
        .iter()
        .map(|t| {
            let (i, o) = proj_dims(cfg, *t);
            (rank * (i + o)) as u64
        })
        .sum();
    per_layer * cfg.num_hidden_layers as u64
}

/// Activation bytes kept for the backward pass (see the module doc for the count).
pub fn activation_bytes(cfg: &ModelConfig, method: &Method, shape: TrainShape) -> u64 {
    let (b, s) = (shape.batch as u64, shape.seq_len as u64);
    let h = cfg.hidden_size as u64;
    let (q, kv, i) = (
        cfg.q_dim() as u64,
        cfg.kv_dim() as u64,
        cfg.intermediate_size as u64,
    );
    let lora = match method {
        Method::Lora { rank, targets } => *rank as u64 * targets.len() as u64,
        Method::Full => 0,
    };
    // Elements: norm inputs 2h, q/k/v input h, Q q, K and V 2·kv, o_proj input q, MLP input h,
    // gate/up/silu/product 4i, LoRA intermediates r per adapted projection.
    let per_token_layer = ACTIVATION_BYTES * (2 * h + h + q + 2 * kv + q + h + 4 * i + lora);
    let scores_per_token_layer = SCORE_BYTES * cfg.num_attention_heads as u64 * s;
    let layers = cfg.num_hidden_layers as u64;
    let body = b * s * layers * (per_token_layer + scores_per_token_layer);
    let head = b * s * (ACTIVATION_BYTES * h + LOGIT_BYTES * cfg.vocab_size as u64);
    body + head
}

/// The VRAM a run of `method` at `shape` needs on one GPU.
pub fn estimate(
    cfg: &ModelConfig,
    method: &Method,
    shape: TrainShape,
) -> Result<Estimate, PlanError> {
    if shape.batch == 0 || shape.seq_len == 0 {
        return Err(PlanError::Shape(format!(
            "batch ({}) and sequence length ({}) must be at least 1",
            shape.batch, shape.seq_len
        )));
    }
    if let Method::Lora { rank, targets } = method {
        if *rank == 0 || targets.is_empty() {
            return Err(PlanError::Shape(
                "LoRA needs a rank of at least 1 and at least one target module".to_string(),
            ));
        }
    }
    let parameters = parameter_count(cfg);
    let gb = |bytes: u64| bytes as f64 / GIB;
    let weights_gb = gb(parameters * WEIGHT_BYTES);
    let (trainable, adapter_gb, gradients_gb, optimizer_gb) = match method {
        Method::Lora { rank, targets } => {
            let n = lora_parameter_count(cfg, *rank, targets);
            (n, gb(n * 4), gb(n * 4), gb(n * 8))
        }
        Method::Full => (parameters, 0.0, gb(parameters * 2), gb(parameters * 12)),
    };
    let activations_gb = gb(activation_bytes(cfg, method, shape));
    let total_gb =
        weights_gb + adapter_gb + gradients_gb + optimizer_gb + activations_gb + OVERHEAD_GB;
    Ok(Estimate {
        parameters,
        trainable_parameters: trainable,
        weights_gb,
        adapter_gb,
        gradients_gb,
        optimizer_gb,
        activations_gb,
        overhead_gb: OVERHEAD_GB,
        total_gb,
    })
}

/// [`estimate`] for the model whose `config.json` is at `path`.
pub fn estimate_from_file(
    path: &Path,
    method: &Method,
    shape: TrainShape,
) -> Result<Estimate, PlanError> {
    let cfg = ModelConfig::from_file(path)?;
    estimate(&cfg, method, shape)
}

/// One GPU type on one cloud that fits the run.
#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    pub gpu_type_id: String,
    pub display_name: String,
    pub cloud: CloudType,
    /// USD per hour (one GPU).
    pub price_per_hr: f64,
    pub memory_gb: u32,
    /// `None` when the API did not say.
    pub stock: Option<StockStatus>,
}

impl Choice {
    /// USD for `hours` of this GPU.
    pub fn cost_estimate(&self, hours: f64) -> f64 {
        self.price_per_hr * hours.max(0.0)
    }
}

impl fmt::Display for Choice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({} GiB) on {} at ${:.2}/h",
            self.gpu_type_id, self.memory_gb, self.cloud, self.price_per_hr
        )
    }
}

/// The on-demand GPU types (one GPU) that hold `estimate × margin`, one entry per GPU type and
/// cloud in `prefer` that has a price, cheapest first; at equal price the cloud earlier in
/// `prefer` first, then the smaller card. GPU types out of stock (`stockStatus: None`) are
/// skipped; unknown stock is kept (the create call will tell).
pub fn choose_gpu(
    estimate: &Estimate,
    gpus: &[GpuType],
    margin: f64,
    prefer: &[CloudType],
) -> Result<Vec<Choice>, PlanError> {
    if gpus.is_empty() {
        return Err(PlanError::NoGpuTypes);
    }
    let margin = if margin.is_finite() && margin >= 1.0 {
        margin
    } else {
        DEFAULT_MARGIN
    };
    let needed = estimate.total_gb * margin;
    let rank = |c: CloudType| prefer.iter().position(|p| *p == c).unwrap_or(usize::MAX);
    let mut out = Vec::new();
    for gpu in gpus {
        if gpu.stock == Some(StockStatus::None) || (gpu.memory_gb as f64) < needed {
            continue;
        }
        for &cloud in prefer {
            let price = match cloud {
                CloudType::Community => gpu.community_price,
                CloudType::Secure => gpu.secure_price,
            };
            if let Some(price) = price.filter(|p| p.is_finite() && *p > 0.0) {
                if out
                    .iter()
                    .any(|c: &Choice| c.gpu_type_id == gpu.id && c.cloud == cloud)
                {
                    continue;
                }
                out.push(Choice {
                    gpu_type_id: gpu.id.clone(),
                    display_name: gpu.display_name.clone(),
                    cloud,
                    price_per_hr: price,
                    memory_gb: gpu.memory_gb,
                    stock: gpu.stock,
                });
            }
        }
    }
    out.sort_by(|a, b| {
        a.price_per_hr
            .total_cmp(&b.price_per_hr)
            .then(rank(a.cloud).cmp(&rank(b.cloud)))
            .then(a.memory_gb.cmp(&b.memory_gb))
            .then(a.gpu_type_id.cmp(&b.gpu_type_id))
    });
    if out.is_empty() {
        let largest = gpus
            .iter()
            .filter(|g| g.stock != Some(StockStatus::None))
            .max_by_key(|g| g.memory_gb);
        let detail = match largest {
            _ if prefer.is_empty() => "no cloud type was allowed".to_string(),
            Some(g) if (g.memory_gb as f64) >= needed => format!(
                "the GPU types large enough have no price on {}",
                prefer
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(" or ")
            ),
            Some(g) => format!(
                "the largest in stock is {} with {} GiB: lower --seq or --batch, use LoRA, or pass --gpu",
                g.id, g.memory_gb
            ),
            None => format!("all {} GPU types are out of stock", gpus.len()),
        };
        return Err(PlanError::NoFit {
            needed_gb: needed,
            total_gb: estimate.total_gb,
            margin,
            detail,
        });
    }
    Ok(out)
}
