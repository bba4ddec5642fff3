//! LoRA with PEFT's semantics: `y = W x (+ b) + s · B(A(dropout(x)))`, `s = alpha / r`
//! (`alpha / √r` with rsLoRA), A `(r, in)` drawn from U(±1/√in) — PyTorch's kaiming-uniform with
//! a = √5, what PEFT uses — and B `(out, r)` zero, so training starts from the base model.
//! The base projection is frozen and goes through [`frozen_linear`], so no gradient is ever
//! materialised for `W`.

use candle_core::{DType, Tensor, Var};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sha2::{Digest, Sha256};

use crate::frozen::{frozen_add, frozen_linear};

/// A projection LoRA can adapt, named as in PEFT's `target_modules`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TargetModule {
    Q,
    K,
    V,
    O,
    Gate,
    Up,
    Down,
}

impl TargetModule {
    pub const ALL: [TargetModule; 7] = [
        TargetModule::Q,
        TargetModule::K,
        TargetModule::V,
        TargetModule::O,
        TargetModule::Gate,
        TargetModule::Up,
        TargetModule::Down,
    ];

    /// The module name (`q_proj`, …, `down_proj`).
    pub fn name(self) -> &'static str {
        match self {
            TargetModule::Q => "q_proj",
            TargetModule::K => "k_proj",
            TargetModule::V => "v_proj",
            TargetModule::O => "o_proj",
            TargetModule::Gate => "gate_proj",
            TargetModule::Up => "up_proj",
            TargetModule::Down => "down_proj",
        }
    }

    /// The module path inside a decoder layer (`self_attn.q_proj`, `mlp.down_proj`, …).
    pub fn path(self) -> &'static str {
        match self {
            TargetModule::Q => "self_attn.q_proj",
            TargetModule::K => "self_attn.k_proj",
            TargetModule::V => "self_attn.v_proj",
            TargetModule::O => "self_attn.o_proj",
            TargetModule::Gate => "mlp.gate_proj",
            TargetModule::Up => "mlp.up_proj",
            TargetModule::Down => "mlp.down_proj",
        }
    }

    /// Parse `q_proj` (or the short `q`).
    pub fn parse(s: &str) -> Option<TargetModule> {
        TargetModule::ALL
            .into_iter()
            .find(|t| t.name() == s || t.name().strip_suffix("_proj") == Some(s))
    }
}

/// LoRA hyper-parameters for a model.
#[derive(Debug, Clone, PartialEq)]
pub struct LoraConfig {
    pub r: usize,
    pub alpha: f64,
    pub dropout: f32,
    pub use_rslora: bool,
    pub targets: Vec<TargetModule>,
    /// Seeds A's initialisation; the same seed gives the same adapter.
    pub seed: u64,
}

impl LoraConfig {
    /// Rank `r` and `alpha`; no dropout, no rsLoRA, all seven projections, seed 0.
    pub fn new(r: usize, alpha: f64) -> LoraConfig {
        LoraConfig {
            r,
            alpha,
            dropout: 0.0,
            use_rslora: false,
            targets: TargetModule::ALL.to_vec(),
            seed: 0,
        }
    }

    /// `alpha / r`, or `alpha / √r` with rsLoRA.
    pub fn scale(&self) -> f64 {
        lora_scale(self.alpha, self.r, self.use_rslora)
    }
}

pub(crate) fn lora_scale(alpha: f64, r: usize, use_rslora: bool) -> f64 {
    if use_rslora {
        alpha / (r as f64).sqrt()
    } else {
        alpha / r as f64
    }
}

/// The trainable low-rank branch of one projection.
#[derive(Debug, Clone)]
pub struct LoraBranch {
    /// `(r, in)`.
    pub a: Var,
    /// `(out, r)`.
    pub b: Var,
    pub scale: f64,
    pub dropout: f32,
}

impl LoraBranch {
    pub fn rank(&self) -> usize {
        self.a.dims().first().copied().unwrap_or(0)
    }

    /// `s · B · A` as a `(out, in)` tensor in the branch's dtype.
    pub fn delta_weight(&self) -> candle_core::Result<Tensor> {
        self.b
            .as_tensor()
            .matmul(self.a.as_tensor())?
            .affine(self.scale, 0.0)
    }
}

/// The dtype LoRA parameters live in: f32, or f64 when the model computes in f64 (used by the
/// finite-difference tests). bf16/f16 parameters would round away small updates.
pub fn lora_dtype(compute: DType) -> DType {
    if compute == DType::F64 {
        DType::F64
    } else {
        DType::F32
    }
}

/// A linear layer with a frozen base weight and an optional LoRA branch.
#[derive(Debug, Clone)]
pub struct LoraLinear {
    /// `(out, in)`, in the compute dtype.
    pub weight: Tensor,
    /// `(out)`.
    pub bias: Option<Tensor>,
    pub lora: Option<LoraBranch>,
}

impl LoraLinear {
    pub fn new(weight: Tensor, bias: Option<Tensor>) -> LoraLinear {
        LoraLinear {
            weight,
            bias,
            lora: None,
        }
    }

    pub fn in_features(&self) -> usize {
        self.weight.dims().get(1).copied().unwrap_or(0)
    }

    pub fn out_features(&self) -> usize {
        self.weight.dims().first().copied().unwrap_or(0)
    }

    /// Add a freshly initialised branch: A ~ U(±1/√in) from a ChaCha8 stream seeded by
    /// `seed` and `name` (so each layer differs and the result is reproducible), B = 0.
    pub fn init_lora(&mut self, cfg: &LoraConfig, name: &str) -> candle_core::Result<()> {
        let (out, inp) = self.weight.dims2()?;
        let device = self.weight.device();
        let dtype = lora_dtype(self.weight.dtype());
        let bound = 1.0 / (inp as f64).sqrt();
        let mut rng = seeded_rng(cfg.seed, name);
        let a: Vec<f64> = (0..cfg.r * inp)
            .map(|_| rng.random_range(-bound..bound))
            .collect();
        let a = Tensor::from_vec(a, (cfg.r, inp), device)?.to_dtype(dtype)?;
        let b = Tensor::zeros((out, cfg.r), dtype, device)?;
        self.lora = Some(LoraBranch {
            a: Var::from_tensor(&a)?,
            b: Var::from_tensor(&b)?,
            scale: cfg.scale(),
            dropout: cfg.dropout,
        });
        Ok(())
    }

    /// Install given A `(r, in)` and B `(out, r)` (e.g. from a PEFT adapter) as trainable vars.
    pub fn set_lora(
        &mut self,
        a: &Tensor,
        b: &Tensor,
        scale: f64,
        dropout: f32,
    ) -> candle_core::Result<()> {
        let (out, inp) = self.weight.dims2()?;
        let (r, a_in) = a.dims2()?;
        let (b_out, b_r) = b.dims2()?;
        if a_in != inp || b_out != out || b_r != r {
            candle_core::bail!(
                "LoRA shapes A {:?} / B {:?} do not fit a ({out}, {inp}) weight",
                a.dims(),
                b.dims()
            );
        }
        let dtype = lora_dtype(self.weight.dtype());
        let device = self.weight.device();
        let a = a.to_device(device)?.to_dtype(dtype)?;
        let b = b.to_device(device)?.to_dtype(dtype)?;
        self.lora = Some(LoraBranch {
            a: Var::from_tensor(&a)?,
            b: Var::from_tensor(&b)?,
            scale,
            dropout,
        });
        Ok(())
    }

    /// `W x (+ b) + s · B(A(dropout(x)))`; dropout only when `dropout_seed` is given, with a
    /// mask drawn from it (candle's own dropout draws from an unseeded thread RNG, which would
    /// make runs and resumes irreproducible).
    pub fn forward(&self, x: &Tensor, dropout_seed: Option<u64>) -> candle_core::Result<Tensor> {
        let mut y = frozen_linear(x, &self.weight)?;
        if let Some(bias) = &self.bias {
            y = frozen_add(&y, bias)?;
        }
        let Some(lora) = &self.lora else {
            return Ok(y);
        };
        let lora_in = x.to_dtype(lora.a.dtype())?;
        let lora_in = match dropout_seed {
            Some(seed) if lora.dropout > 0.0 => seeded_dropout(&lora_in, lora.dropout, seed)?,
            _ => lora_in,
        };
        // As 2-D matmuls, so A and B are not broadcast over the batch (their gradients would
        // be materialised at batch size before being summed).
        let inp = self.in_features();
        let rows = lora_in.elem_count() / inp;
        let h = lora_in
            .reshape((rows, inp))?
            .matmul(&lora.a.as_tensor().t()?)?;
        let h = h.matmul(&lora.b.as_tensor().t()?)?;
        let h = h.affine(lora.scale, 0.0)?.to_dtype(y.dtype())?;
        let h = h.reshape(y.shape())?;
        y + h
    }

    /// Fold the branch into the base weight (`W + s·B·A`, computed in the LoRA dtype) and drop it.
    pub fn merge(&mut self) -> candle_core::Result<()> {
        if let Some(lora) = self.lora.take() {
            let w = self.weight.to_dtype(lora.a.dtype())?;
            let merged = (w + lora.delta_weight()?)?;
            self.weight = merged.to_dtype(self.weight.dtype())?;
        }
        Ok(())
    }
}

/// Inverted dropout with a mask from a ChaCha8 stream: each element is kept with probability
/// `1 - p` and scaled by `1 / (1 - p)`.
fn seeded_dropout(x: &Tensor, p: f32, seed: u64) -> candle_core::Result<Tensor> {
    if !(0.0..1.0).contains(&p) {
        candle_core::bail!("LoRA dropout must be in [0, 1), got {p}");
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let keep = 1.0 - p;
    let scale = 1.0 / keep;
    let mask: Vec<f32> = (0..x.elem_count())
        .map(|_| {
            if rng.random::<f32>() < keep {
                scale
            } else {
                0.0
            }
        })
        .collect();
    let mask = Tensor::from_vec(mask, x.shape(), x.device())?.to_dtype(x.dtype())?;
    x * mask
}

/// A ChaCha8 stream for one named tensor: the name is hashed into the seed so streams of
/// different tensors are independent and do not depend on the order they are drawn in.
pub(crate) fn seeded_rng(seed: u64, name: &str) -> ChaCha8Rng {
    let mut h = Sha256::new();
    h.update(seed.to_le_bytes());
    h.update(name.as_bytes());
    ChaCha8Rng::from_seed(h.finalize().into())
}
