//! The decoder-only transformer shared by llama, mistral, qwen2 and qwen3: token embedding,
//! pre-norm blocks (RMSNorm → GQA attention with RoPE → residual, RMSNorm → SwiGLU MLP →
//! residual), final RMSNorm and the LM head (the embedding when tied). Every projection is a
//! [`LoraLinear`]; every base weight is frozen.
//!
//! Numerics follow transformers' eager implementation: RMSNorm and softmax in f32 for half
//! dtypes, `(q·kᵀ)·head_dim^-½`, rotate-half RoPE with `cos/sin` of `position · inv_freq`.

use std::path::Path;

use candle_core::{DType, Device, Tensor, Var, D};

use crate::config::{ModelConfig, RopeScaling};
use crate::error::ModelError;
use crate::frozen::{frozen_add, frozen_linear, frozen_mul};
use crate::generate::GenerationConfig;
use crate::lora::{LoraBranch, LoraConfig, LoraLinear, TargetModule};
use crate::weights::Weights;

/// How to load a model.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    pub device: Device,
    /// The compute dtype every base weight is converted to. On CPU use F32 (or F64): candle's
    /// CPU matmul has no BF16 kernel.
    pub dtype: DType,
    /// Fresh LoRA branches to add (A random, B zero); `None` for the base model alone.
    pub lora: Option<LoraConfig>,
}

impl LoadOptions {
    pub fn cpu_f32() -> LoadOptions {
        LoadOptions {
            device: Device::Cpu,
            dtype: DType::F32,
            lora: None,
        }
    }
}

/// One decoder block.
#[derive(Debug, Clone)]
pub struct DecoderLayer {
    pub input_layernorm: Tensor,
    pub post_attention_layernorm: Tensor,
    pub q_proj: LoraLinear,
    pub k_proj: LoraLinear,
    pub v_proj: LoraLinear,
    pub o_proj: LoraLinear,
    /// qwen3's per-head norms, `(head_dim)`.
    pub q_norm: Option<Tensor>,
    pub k_norm: Option<Tensor>,
    pub gate_proj: LoraLinear,
    pub up_proj: LoraLinear,
    pub down_proj: LoraLinear,
}

impl DecoderLayer {
    pub fn proj(&self, t: TargetModule) -> &LoraLinear {
        match t {
            TargetModule::Q => &self.q_proj,
            TargetModule::K => &self.k_proj,
            TargetModule::V => &self.v_proj,
            TargetModule::O => &self.o_proj,
            TargetModule::Gate => &self.gate_proj,
            TargetModule::Up => &self.up_proj,
            TargetModule::Down => &self.down_proj,
        }
    }

    pub fn proj_mut(&mut self, t: TargetModule) -> &mut LoraLinear {
        match t {
            TargetModule::Q => &mut self.q_proj,
            TargetModule::K => &mut self.k_proj,
            TargetModule::V => &mut self.v_proj,
            TargetModule::O => &mut self.o_proj,
            TargetModule::Gate => &mut self.gate_proj,
            TargetModule::Up => &mut self.up_proj,
            TargetModule::Down => &mut self.down_proj,
        }
    }
}

/// The whole model. Cloning is cheap and shares every tensor, LoRA `Var`s included.
#[derive(Debug, Clone)]
pub struct Model {
    pub config: ModelConfig,
    pub embed_tokens: Tensor,
    pub layers: Vec<DecoderLayer>,
    pub norm: Tensor,
    /// `(vocab, hidden)`; the same tensor as `embed_tokens` when embeddings are tied.
    pub lm_head: Tensor,
    /// RoPE inverse frequencies (`head_dim / 2`), scaling applied, in f64.
    inv_freq: Vec<f64>,
    device: Device,
    dtype: DType,
}

/// Keys and values of the positions seen so far, per layer, for incremental decoding.
#[derive(Debug, Clone)]
pub struct KvCache {
    layers: Vec<Option<(Tensor, Tensor)>>,
    len: usize,
}

impl KvCache {
    pub fn new(model: &Model) -> KvCache {
        KvCache {
            layers: vec![None; model.layers.len()],
            len: 0,
        }
    }

    /// Positions cached so far.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn clear(&mut self) {
        self.layers.iter_mut().for_each(|l| *l = None);
        self.len = 0;
    }
}

/// Where each token sits: its rotary position and what it may attend to.
struct Positions {
    /// cos and sin, `(b or 1, 1, s, head_dim)` in the compute dtype.
    cos: Tensor,
    sin: Tensor,
    /// Additive mask `(b or 1, 1, s, kv_len)` of 0 / -inf; `None` when nothing is masked.
    mask: Option<Tensor>,
}

impl Model {
    /// Load `dir/config.json` and the weights beside it.
    pub fn load(dir: &Path, opts: &LoadOptions) -> Result<Model, ModelError> {
        let config = ModelConfig::from_file(&dir.join("config.json"))?;
        let weights = Weights::open(dir, &opts.device, opts.dtype)?;
        Model::from_weights(config, &weights, opts.lora.as_ref())
    }

    /// Build from parsed config and opened weights (their device and dtype are used).
    pub fn from_weights(
        config: ModelConfig,
        w: &Weights,
        lora: Option<&LoraConfig>,
    ) -> Result<Model, ModelError> {
        let c = &config;
        let (h, v) = (c.hidden_size, c.vocab_size);
        let embed_tokens = w.get("model.embed_tokens.weight", &[v, h])?;
        let linear = |name: &str, out: usize, inp: usize, bias: bool| {
            let weight = w.get(&format!("{name}.weight"), &[out, inp])?;
            let bias = if bias {
                Some(w.get(&format!("{name}.bias"), &[out])?)
            } else {
                None
            };
            Ok::<_, ModelError>(LoraLinear::new(weight, bias))
        };
        let mut layers = Vec::with_capacity(c.num_hidden_layers);
        for i in 0..c.num_hidden_layers {
            let p = format!("model.layers.{i}");
            let (qd, kvd, inter) = (c.q_dim(), c.kv_dim(), c.intermediate_size);
            let (q_norm, k_norm) = if c.qk_norm {
                (
                    Some(w.get(&format!("{p}.self_attn.q_norm.weight"), &[c.head_dim])?),
                    Some(w.get(&format!("{p}.self_attn.k_norm.weight"), &[c.head_dim])?),
                )
            } else {
                (None, None)
            };
            layers.push(DecoderLayer {
                input_layernorm: w.get(&format!("{p}.input_layernorm.weight"), &[h])?,
                post_attention_layernorm: w
                    .get(&format!("{p}.post_attention_layernorm.weight"), &[h])?,
                q_proj: linear(&format!("{p}.self_attn.q_proj"), qd, h, c.qkv_bias)?,
                k_proj: linear(&format!("{p}.self_attn.k_proj"), kvd, h, c.qkv_bias)?,
                v_proj: linear(&format!("{p}.self_attn.v_proj"), kvd, h, c.qkv_bias)?,
                o_proj: linear(&format!("{p}.self_attn.o_proj"), h, qd, c.o_bias)?,
                q_norm,
                k_norm,
                gate_proj: linear(&format!("{p}.mlp.gate_proj"), inter, h, c.mlp_bias)?,
                up_proj: linear(&format!("{p}.mlp.up_proj"), inter, h, c.mlp_bias)?,
                down_proj: linear(&format!("{p}.mlp.down_proj"), h, inter, c.mlp_bias)?,
            });
        }
        let norm = w.get("model.norm.weight", &[h])?;
        let lm_head = if c.tie_word_embeddings {
            embed_tokens.clone()
        } else {
            w.get("lm_head.weight", &[v, h])?
        };
        let mut model = Model {
            inv_freq: inv_freq(c),
            config,
            embed_tokens,
            layers,
            norm,
            lm_head,
            device: w.device().clone(),
            dtype: w.dtype(),
        };
        if let Some(cfg) = lora {
            model.init_lora(cfg)?;
        }
        Ok(model)
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// Add fresh LoRA branches (A random, B zero) to the configured projections of every layer,
    /// replacing any existing ones.
    pub fn init_lora(&mut self, cfg: &LoraConfig) -> Result<(), ModelError> {
        if cfg.r == 0 {
            return Err(ModelError::Input("LoRA rank r must be at least 1".into()));
        }
        if !(cfg.alpha.is_finite() && cfg.alpha > 0.0) {
            return Err(ModelError::Input(format!(
                "LoRA alpha must be a positive number, got {}",
                cfg.alpha
            )));
        }
        if !(0.0..1.0).contains(&cfg.dropout) {
            return Err(ModelError::Input(format!(
                "LoRA dropout must be in [0, 1), got {}",
                cfg.dropout
            )));
        }
        for (i, layer) in self.layers.iter_mut().enumerate() {
            for &t in &cfg.targets {
                layer
                    .proj_mut(t)
                    .init_lora(cfg, &format!("model.layers.{i}.{}", t.path()))?;
            }
        }
        Ok(())
    }

    /// Every LoRA branch with its layer index and module, in layer then module order.
    pub fn lora_branches(&self) -> Vec<(usize, TargetModule, &LoraBranch)> {
        let mut out = Vec::new();
        for (i, layer) in self.layers.iter().enumerate() {
            for t in TargetModule::ALL {
                if let Some(b) = &layer.proj(t).lora {
                    out.push((i, t, b));
                }
            }
        }
        out
    }

    /// The trainable variables (A then B of each branch) for an optimiser.
    pub fn lora_vars(&self) -> Vec<Var> {
        self.lora_branches()
            .into_iter()
            .flat_map(|(_, _, b)| [b.a.clone(), b.b.clone()])
            .collect()
    }

    /// Fold every LoRA branch into its base weight (`W += s·B·A`) and drop the branches.
    pub fn merge_lora(&mut self) -> Result<(), ModelError> {
        for layer in &mut self.layers {
            for t in TargetModule::ALL {
                layer.proj_mut(t).merge()?;
            }
        }
        Ok(())
    }

    /// Logits for every position, `(b, s, vocab)`, in f32 (f64 when computing in f64).
    ///
    /// `input_ids` is `(b, s)` u32. `lengths`, when given, holds for each row the lengths of the
    /// samples packed into it (summing to at most `s`; a remainder is one more segment, e.g.
    /// padding): attention is causal within a sample and blocked across samples, and positions
    /// restart at 0 for each sample. `dropout_seed` turns LoRA dropout on (training), with
    /// masks drawn from that seed so a step is reproducible; `None` for eval.
    pub fn forward(
        &self,
        input_ids: &Tensor,
        lengths: Option<&[Vec<usize>]>,
        dropout_seed: Option<u64>,
    ) -> Result<Tensor, ModelError> {
        let hidden = self.hidden_states(input_ids, lengths, dropout_seed)?;
        self.lm_logits(&hidden)
    }

    /// The final-norm hidden states `(b, s, hidden)` that [`Model::forward`] feeds to the LM
    /// head. The trainer projects only the labelled positions through [`Model::lm_logits`],
    /// which saves the vocabulary-sized work for prompt tokens.
    pub fn hidden_states(
        &self,
        input_ids: &Tensor,
        lengths: Option<&[Vec<usize>]>,
        dropout_seed: Option<u64>,
    ) -> Result<Tensor, ModelError> {
        let (b, s) = self.check_ids(input_ids)?;
        let positions = match lengths {
            None => self.positions_causal(s, 0)?,
            Some(lengths) => self.positions_packed(b, s, lengths)?,
        };
        self.check_window(s)?;
        self.run(input_ids, &positions, None, dropout_seed)
    }

    /// Run `input_ids` `(b, s)` after the positions already in `cache`, append their keys and
    /// values to it, and return their logits `(b, s, vocab)`. On error the cache is cleared.
    pub fn forward_cached(
        &self,
        input_ids: &Tensor,
        cache: &mut KvCache,
    ) -> Result<Tensor, ModelError> {
        let hidden = self.hidden_cached(input_ids, cache)?;
        self.lm_logits(&hidden)
    }

    /// [`Model::forward_cached`] returning only the last position's logits `(b, vocab)`: what
    /// decoding needs, without the vocabulary-sized work for the rest of a prompt.
    pub fn forward_cached_last(
        &self,
        input_ids: &Tensor,
        cache: &mut KvCache,
    ) -> Result<Tensor, ModelError> {
        let hidden = self.hidden_cached(input_ids, cache)?;
        let s = hidden.dim(1)?;
        self.lm_logits(&hidden.narrow(1, s - 1, 1)?.squeeze(1)?)
    }

    fn hidden_cached(&self, input_ids: &Tensor, cache: &mut KvCache) -> Result<Tensor, ModelError> {
        let (_, s) = self.check_ids(input_ids)?;
        if cache.layers.len() != self.layers.len() {
            return Err(ModelError::Input(format!(
                "KV cache has {} layers, the model {}",
                cache.layers.len(),
                self.layers.len()
            )));
        }
        self.check_window(cache.len + s)?;
        let positions = self.positions_causal(s, cache.len)?;
        match self.run(input_ids, &positions, Some(cache), None) {
            Ok(hidden) => {
                cache.len += s;
                Ok(hidden)
            }
            Err(e) => {
                // Some layers may have appended and others not; a half-updated cache would
                // silently misalign positions, so start over instead.
                cache.clear();
                Err(e)
            }
        }
    }

    /// Greedy decoding of one prompt: up to `max_new` tokens, stopping after any id in `stop`
    /// ([`Model::generate`] with [`GenerationConfig::greedy`]).
    pub fn generate_greedy(
        &self,
        prompt: &[u32],
        max_new: usize,
        stop: &[u32],
    ) -> Result<Vec<u32>, ModelError> {
        let cfg = GenerationConfig::greedy(max_new, stop);
        Ok(self.generate(prompt, &cfg, |_| true)?.tokens)
    }

    fn check_ids(&self, ids: &Tensor) -> Result<(usize, usize), ModelError> {
        if ids.dtype() != DType::U32 {
            return Err(ModelError::Input(format!(
                "input ids must be u32, got {:?}",
                ids.dtype()
            )));
        }
        let (b, s) = ids.dims2().map_err(|_| {
            ModelError::Input(format!(
                "input ids must be (batch, seq), got {:?}",
                ids.dims()
            ))
        })?;
        if b == 0 || s == 0 {
            return Err(ModelError::Input(format!(
                "empty input ids {:?}",
                ids.dims()
            )));
        }
        let max = ids.max_all()?.to_scalar::<u32>()?;
        if max as usize >= self.config.vocab_size {
            return Err(ModelError::Input(format!(
                "token id {max} is outside the vocabulary ({} tokens)",
                self.config.vocab_size
            )));
        }
        Ok((b, s))
    }

    fn check_window(&self, kv_len: usize) -> Result<(), ModelError> {
        match self.config.sliding_window {
            Some(w) if kv_len > w => Err(ModelError::Input(format!(
                "{kv_len} positions exceed the model's sliding window of {w}; sliding-window attention is not implemented"
            ))),
            _ => Ok(()),
        }
    }

    /// Plain causal attention for `s` new positions after `offset` cached ones.
    fn positions_causal(&self, s: usize, offset: usize) -> Result<Positions, ModelError> {
        let pos: Vec<usize> = (offset..offset + s).collect();
        let (cos, sin) = self.rope_tables(&pos, 1, s)?;
        let kv = offset + s;
        let mask = if s == 1 {
            None
        } else {
            let mut m = vec![0f32; s * kv];
            for i in 0..s {
                for j in offset + i + 1..kv {
                    m[i * kv + j] = f32::NEG_INFINITY;
                }
            }
            Some(self.mask_tensor(m, 1, s, kv)?)
        };
        Ok(Positions { cos, sin, mask })
    }

    fn positions_packed(
        &self,
        b: usize,
        s: usize,
        lengths: &[Vec<usize>],
    ) -> Result<Positions, ModelError> {
        if lengths.len() != b {
            return Err(ModelError::Input(format!(
                "lengths has {} rows for a batch of {b}",
                lengths.len()
            )));
        }
        let mut pos = Vec::with_capacity(b * s);
        let mut mask = vec![f32::NEG_INFINITY; b * s * s];
        for (row, lens) in lengths.iter().enumerate() {
            let total: usize = lens.iter().sum();
            if total > s || lens.contains(&0) {
                return Err(ModelError::Input(format!(
                    "row {row}: sample lengths {lens:?} must be positive and sum to at most {s}"
                )));
            }
            let mut segments = lens.clone();
            if total < s {
                segments.push(s - total);
            }
            let mut start = 0;
            for len in segments {
                for i in 0..len {
                    pos.push(i);
                    let q = start + i;
                    for k in start..=q {
                        mask[(row * s + q) * s + k] = 0.0;
                    }
                }
                start += len;
            }
        }
        let (cos, sin) = self.rope_tables(&pos, b, s)?;
        Ok(Positions {
            cos,
            sin,
            mask: Some(self.mask_tensor(mask, b, s, s)?),
        })
    }

    fn mask_tensor(
        &self,
        m: Vec<f32>,
        b: usize,
        s: usize,
        kv: usize,
    ) -> Result<Tensor, ModelError> {
        Ok(Tensor::from_vec(m, (b, 1, s, kv), &self.device)?.to_dtype(self.dtype)?)
    }

    /// cos/sin `(b, 1, s, head_dim)` for `b * s` positions (row-major); the half-width angle
    /// table is repeated, as in rotate-half RoPE.
    fn rope_tables(
        &self,
        pos: &[usize],
        b: usize,
        s: usize,
    ) -> Result<(Tensor, Tensor), ModelError> {
        let d = self.config.head_dim;
        let half = d / 2;
        let mut cos = Vec::with_capacity(pos.len() * d);
        let mut sin = Vec::with_capacity(pos.len() * d);
        for &p in pos {
            for j in 0..d {
                let angle = p as f64 * self.inv_freq[j % half];
                cos.push(angle.cos());
                sin.push(angle.sin());
            }
        }
        let shape = (b, 1, s, d);
        let cos = Tensor::from_vec(cos, shape, &self.device)?.to_dtype(self.dtype)?;
        let sin = Tensor::from_vec(sin, shape, &self.device)?.to_dtype(self.dtype)?;
        Ok((cos, sin))
    }

    fn run(
        &self,
        input_ids: &Tensor,
        positions: &Positions,
        mut cache: Option<&mut KvCache>,
        dropout_seed: Option<u64>,
    ) -> Result<Tensor, ModelError> {
        let (b, s) = input_ids.dims2()?;
        let mut h = self
            .embed_tokens
            .index_select(&input_ids.flatten_all()?, 0)?
            .reshape((b, s, self.config.hidden_size))?;
        for (i, layer) in self.layers.iter().enumerate() {
            let layer_cache = cache.as_deref_mut().map(|c| &mut c.layers[i]);
            let seed = dropout_seed.map(|seed| part_seed(seed, i));
            h = self.block(layer, &h, positions, layer_cache, seed)?;
        }
        Ok(rms_norm(&h, &self.norm, self.config.rms_norm_eps)?)
    }

    /// The LM head over hidden states of any leading shape `(…, hidden)`, in f32 (f64 when
    /// computing in f64).
    pub fn lm_logits(&self, hidden: &Tensor) -> Result<Tensor, ModelError> {
        let logits = frozen_linear(hidden, &self.lm_head)?;
        let out = if self.dtype == DType::F64 {
            DType::F64
        } else {
            DType::F32
        };
        Ok(logits.to_dtype(out)?)
    }

    fn block(
        &self,
        layer: &DecoderLayer,
        h: &Tensor,
        positions: &Positions,
        cache: Option<&mut Option<(Tensor, Tensor)>>,
        dropout_seed: Option<u64>,
    ) -> Result<Tensor, ModelError> {
        let drop = |t: TargetModule| dropout_seed.map(|seed| part_seed(seed, t as usize));
        let c = &self.config;
        let (b, s, _) = h.dims3()?;
        let (nh, nkv, hd) = (c.num_attention_heads, c.num_key_value_heads, c.head_dim);
        let eps = c.rms_norm_eps;

        let x = rms_norm(h, &layer.input_layernorm, eps)?;
        let q = layer
            .q_proj
            .forward(&x, drop(TargetModule::Q))?
            .reshape((b, s, nh, hd))?;
        let k = layer
            .k_proj
            .forward(&x, drop(TargetModule::K))?
            .reshape((b, s, nkv, hd))?;
        let v = layer
            .v_proj
            .forward(&x, drop(TargetModule::V))?
            .reshape((b, s, nkv, hd))?;
        let (q, k) = match (&layer.q_norm, &layer.k_norm) {
            (Some(qn), Some(kn)) => (rms_norm(&q, qn, eps)?, rms_norm(&k, kn, eps)?),
            _ => (q, k),
        };
        let q = rope(&q.transpose(1, 2)?.contiguous()?, positions)?;
        let k = rope(&k.transpose(1, 2)?.contiguous()?, positions)?;
        let v = v.transpose(1, 2)?.contiguous()?;
        let (k, v) = match cache {
            Some(slot) => {
                let (k, v) = match slot.take() {
                    Some((pk, pv)) => (Tensor::cat(&[&pk, &k], 2)?, Tensor::cat(&[&pv, &v], 2)?),
                    None => (k, v),
                };
                // Detached: cached keys/values computed through LoRA variables would otherwise
                // keep every earlier step's autograd graph alive (memory quadratic in length).
                *slot = Some((k.detach(), v.detach()));
                (k, v)
            }
            None => (k, v),
        };
        let k = repeat_kv(&k, nh / nkv)?;
        let v = repeat_kv(&v, nh / nkv)?;

        let scores = q.matmul(&k.t()?)?.affine(1.0 / (hd as f64).sqrt(), 0.0)?;
        let scores = match &positions.mask {
            Some(m) => frozen_add(&scores, m)?,
            None => scores,
        };
        let probs = softmax_last(&scores)?;
        let attn = probs
            .matmul(&v)?
            .transpose(1, 2)?
            .reshape((b, s, nh * hd))?;
        let h = (h + layer.o_proj.forward(&attn, drop(TargetModule::O))?)?;

        let x = rms_norm(&h, &layer.post_attention_layernorm, eps)?;
        let gate = layer
            .gate_proj
            .forward(&x, drop(TargetModule::Gate))?
            .silu()?;
        let up = layer.up_proj.forward(&x, drop(TargetModule::Up))?;
        let mlp = layer
            .down_proj
            .forward(&(gate * up)?, drop(TargetModule::Down))?;
        Ok((h + mlp)?)
    }
}

/// An independent dropout seed for a part (a layer, then a projection) of one pass.
fn part_seed(seed: u64, part: usize) -> u64 {
    // splitmix64 of the pair: cheap, and neighbouring parts get unrelated streams.
    let mut z = seed ^ (part as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// RMSNorm over the last dimension, in f32 for half dtypes, times the frozen weight.
fn rms_norm(x: &Tensor, weight: &Tensor, eps: f64) -> candle_core::Result<Tensor> {
    let dtype = x.dtype();
    let xf = match dtype {
        DType::F16 | DType::BF16 => x.to_dtype(DType::F32)?,
        _ => x.clone(),
    };
    let inv_rms = (xf.sqr()?.mean_keepdim(D::Minus1)? + eps)?
        .sqrt()?
        .recip()?;
    let normed = xf.broadcast_mul(&inv_rms)?.to_dtype(dtype)?;
    frozen_mul(&normed, weight)
}

/// Softmax over the last dimension, in f32 for half dtypes. The max is detached: softmax does
/// not depend on the shift, so no gradient needs to flow through it.
fn softmax_last(x: &Tensor) -> candle_core::Result<Tensor> {
    let dtype = x.dtype();
    let xf = match dtype {
        DType::F16 | DType::BF16 => x.to_dtype(DType::F32)?,
        _ => x.clone(),
    };
    let max = xf.max_keepdim(D::Minus1)?.detach();
    let e = xf.broadcast_sub(&max)?.exp()?;
    e.broadcast_div(&e.sum_keepdim(D::Minus1)?)?.to_dtype(dtype)
}

/// Rotate-half RoPE on `(b, heads, s, head_dim)`.
fn rope(x: &Tensor, p: &Positions) -> candle_core::Result<Tensor> {
    let d = x.dim(D::Minus1)?;
    let x1 = x.narrow(D::Minus1, 0, d / 2)?;
    let x2 = x.narrow(D::Minus1, d / 2, d / 2)?;
    let rotated = Tensor::cat(&[&x2.neg()?, &x1], D::Minus1)?;
    frozen_mul(x, &p.cos)? + frozen_mul(&rotated, &p.sin)?
}

/// `(b, kv_heads, s, d)` → `(b, kv_heads * rep, s, d)`, each kv head repeated `rep` times in a row.
fn repeat_kv(x: &Tensor, rep: usize) -> candle_core::Result<Tensor> {
    if rep == 1 {
        return Ok(x.clone());
    }
    let (b, kv, s, d) = x.dims4()?;
    x.unsqueeze(2)?
        .expand((b, kv, rep, s, d))?
        .reshape((b, kv * rep, s, d))
}

/// RoPE inverse frequencies with the configured scaling.
fn inv_freq(c: &ModelConfig) -> Vec<f64> {
    let d = c.head_dim;
    let base: Vec<f64> = (0..d / 2)
        .map(|i| 1.0 / c.rope_theta.powf((2 * i) as f64 / d as f64))
        .collect();
    match c.rope_scaling {
        RopeScaling::None => base,
        RopeScaling::Linear { factor } => base.into_iter().map(|f| f / factor).collect(),
        RopeScaling::Llama3 {
            factor,
            low_freq_factor,
            high_freq_factor,
            original_max_position_embeddings,
        } => {
            let old = original_max_position_embeddings as f64;
            let low_wavelen = old / low_freq_factor;
            let high_wavelen = old / high_freq_factor;
            base.into_iter()
                .map(|f| {
                    let wavelen = 2.0 * std::f64::consts::PI / f;
                    if wavelen < high_wavelen {
                        f
                    } else if wavelen > low_wavelen {
                        f / factor
                    } else {
                        // Between the bands: interpolate between scaled and unscaled.
                        let smooth = (old / wavelen - low_freq_factor)
                            / (high_freq_factor - low_freq_factor);
                        (1.0 - smooth) * f / factor + smooth * f
                    }
                })
                .collect()
        }
    }
}
