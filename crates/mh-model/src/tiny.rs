//! Tiny random models in the Hugging Face layout (`config.json` + `model.safetensors` with HF
//! tensor names), loadable as-is by `transformers`' `AutoModelForCausalLM.from_pretrained`.
//! Tests, benchmarks and the development pipeline use them where a real model is too big.
//! Same spec and seed → byte-identical files. The tokenizer files come from mh-dataset's tiny
//! tokenizer; only its vocabulary size and special ids are needed here.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};
use rand::Rng;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::config::{Arch, RopeScaling};
use crate::error::ModelError;
use crate::lora::seeded_rng;
use crate::weights::SINGLE_FILE;

/// The sizes of a tiny model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TinyDims {
    pub layers: usize,
    pub hidden: usize,
    pub heads: usize,
    pub kv_heads: usize,
    pub intermediate: usize,
    pub vocab: usize,
}

impl TinyDims {
    /// 2 layers, hidden 64, 4 heads over 2 kv heads (GQA), intermediate 128, vocab 512:
    /// about 0.4-0.6 MB of f32 weights.
    pub fn small(vocab: usize) -> TinyDims {
        TinyDims {
            layers: 2,
            hidden: 64,
            heads: 4,
            kv_heads: 2,
            intermediate: 128,
            vocab,
        }
    }
}

/// Everything that decides a tiny model's files.
#[derive(Debug, Clone, PartialEq)]
pub struct TinySpec {
    pub arch: Arch,
    pub dims: TinyDims,
    pub seed: u64,
    /// Defaults to `hidden / heads`; qwen3 models usually set it explicitly.
    pub head_dim: Option<usize>,
    pub bos_token_id: Option<u32>,
    pub eos_token_id: u32,
    pub tie_word_embeddings: bool,
    pub rope_theta: f64,
    pub rope_scaling: RopeScaling,
    pub max_position_embeddings: usize,
    pub rms_norm_eps: f64,
}

impl TinySpec {
    /// Defaults as in the family's small checkpoints: tied embeddings for qwen2/qwen3, untied for
    /// llama/mistral; bos 1 / eos 2 (`<|im_start|>` / `<|im_end|>` in the tiny tokenizer).
    pub fn new(arch: Arch, dims: TinyDims, seed: u64) -> TinySpec {
        TinySpec {
            arch,
            dims,
            seed,
            head_dim: None,
            bos_token_id: Some(1),
            eos_token_id: 2,
            tie_word_embeddings: matches!(arch, Arch::Qwen2 | Arch::Qwen3),
            rope_theta: 10000.0,
            rope_scaling: RopeScaling::None,
            max_position_embeddings: 2048,
            rms_norm_eps: 1e-6,
        }
    }

    fn head_dim(&self) -> usize {
        self.head_dim
            .unwrap_or(self.dims.hidden / self.dims.heads.max(1))
    }

    /// Refuse sizes and ids that cannot make a model (zero sizes, kv heads not dividing heads,
    /// odd head_dim, special ids outside the vocabulary, …); [`generate_tiny_model`] checks this
    /// first.
    pub fn validate(&self) -> Result<(), ModelError> {
        let d = &self.dims;
        let bad = |what: String| Err(ModelError::Input(format!("tiny model: {what}")));
        if [
            d.layers,
            d.hidden,
            d.heads,
            d.kv_heads,
            d.intermediate,
            d.vocab,
        ]
        .contains(&0)
        {
            return bad(format!("every dimension must be positive: {d:?}"));
        }
        if !d.heads.is_multiple_of(d.kv_heads) {
            return bad(format!(
                "kv heads {} must divide heads {}",
                d.kv_heads, d.heads
            ));
        }
        if self.head_dim.is_none() && !d.hidden.is_multiple_of(d.heads) {
            return bad(format!(
                "hidden {} is not a multiple of heads {}",
                d.hidden, d.heads
            ));
        }
        if self.arch == Arch::Qwen2 && self.head_dim() * d.heads != d.hidden {
            // transformers 4's Qwen2 ignores `head_dim`, so the files would mean two things.
            return bad("qwen2 needs head_dim == hidden / heads".into());
        }
        if !self.head_dim().is_multiple_of(2) {
            return bad(format!(
                "head_dim {} must be even for RoPE",
                self.head_dim()
            ));
        }
        let max_id = self.eos_token_id.max(self.bos_token_id.unwrap_or(0));
        if max_id as usize >= d.vocab {
            return bad(format!(
                "special token id {max_id} is outside vocab {}",
                d.vocab
            ));
        }
        Ok(())
    }

    /// The `config.json` value, keys sorted as transformers writes them.
    pub fn config_json(&self) -> Value {
        let d = &self.dims;
        let mut c: BTreeMap<&str, Value> = BTreeMap::from([
            ("architectures", json!([self.arch.causal_lm_class()])),
            ("model_type", json!(self.arch.model_type())),
            ("vocab_size", json!(d.vocab)),
            ("hidden_size", json!(d.hidden)),
            ("intermediate_size", json!(d.intermediate)),
            ("num_hidden_layers", json!(d.layers)),
            ("num_attention_heads", json!(d.heads)),
            ("num_key_value_heads", json!(d.kv_heads)),
            ("head_dim", json!(self.head_dim())),
            ("hidden_act", json!("silu")),
            (
                "max_position_embeddings",
                json!(self.max_position_embeddings),
            ),
            ("rms_norm_eps", json!(self.rms_norm_eps)),
            ("rope_theta", json!(self.rope_theta)),
            ("rope_scaling", rope_scaling_json(&self.rope_scaling)),
            ("tie_word_embeddings", json!(self.tie_word_embeddings)),
            ("torch_dtype", json!("float32")),
            ("bos_token_id", json!(self.bos_token_id)),
            ("eos_token_id", json!(self.eos_token_id)),
            ("attention_dropout", json!(0.0)),
            ("initializer_range", json!(0.02)),
            ("use_cache", json!(true)),
        ]);
        match self.arch {
            Arch::Llama => {
                c.insert("attention_bias", json!(false));
                c.insert("mlp_bias", json!(false));
                c.insert("pretraining_tp", json!(1));
            }
            Arch::Mistral => {
                c.insert("sliding_window", Value::Null);
            }
            Arch::Qwen2 | Arch::Qwen3 => {
                c.insert("use_sliding_window", json!(false));
                c.insert("sliding_window", Value::Null);
                c.insert("max_window_layers", json!(d.layers));
                if self.arch == Arch::Qwen3 {
                    c.insert("attention_bias", json!(false));
                }
            }
        }
        Value::Object(c.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
    }

    /// The tensors, HF names → f32 values with their shapes.
    fn tensors(&self) -> Vec<(String, Vec<usize>, Vec<f32>)> {
        let d = &self.dims;
        let hd = self.head_dim();
        let (qd, kvd) = (d.heads * hd, d.kv_heads * hd);
        let mut out = Vec::new();
        // Linear weights U(±1/√in) keep activations O(1), so logits differ visibly between
        // implementations that disagree; norm weights near 1 and small biases exercise those paths.
        let mut push = |name: String, shape: Vec<usize>, lo: f32, hi: f32| {
            let n: usize = shape.iter().product();
            let mut rng = seeded_rng(self.seed, &name);
            let values = (0..n).map(|_| rng.random_range(lo..hi)).collect();
            out.push((name, shape, values));
        };
        let lin = |inp: usize| 1.0 / (inp as f32).sqrt();
        push(
            "model.embed_tokens.weight".into(),
            vec![d.vocab, d.hidden],
            -1.0,
            1.0,
        );
        for i in 0..d.layers {
            let p = format!("model.layers.{i}");
            push(
                format!("{p}.input_layernorm.weight"),
                vec![d.hidden],
                0.75,
                1.25,
            );
            push(
                format!("{p}.post_attention_layernorm.weight"),
                vec![d.hidden],
                0.75,
                1.25,
            );
            for (m, rows) in [("q_proj", qd), ("k_proj", kvd), ("v_proj", kvd)] {
                let l = lin(d.hidden);
                push(
                    format!("{p}.self_attn.{m}.weight"),
                    vec![rows, d.hidden],
                    -l,
                    l,
                );
                if self.arch == Arch::Qwen2 {
                    push(format!("{p}.self_attn.{m}.bias"), vec![rows], -0.5, 0.5);
                }
            }
            let l = lin(qd);
            push(
                format!("{p}.self_attn.o_proj.weight"),
                vec![d.hidden, qd],
                -l,
                l,
            );
            if self.arch == Arch::Qwen3 {
                push(format!("{p}.self_attn.q_norm.weight"), vec![hd], 0.75, 1.25);
                push(format!("{p}.self_attn.k_norm.weight"), vec![hd], 0.75, 1.25);
            }
            let l = lin(d.hidden);
            push(
                format!("{p}.mlp.gate_proj.weight"),
                vec![d.intermediate, d.hidden],
                -l,
                l,
            );
            push(
                format!("{p}.mlp.up_proj.weight"),
                vec![d.intermediate, d.hidden],
                -l,
                l,
            );
            let l = lin(d.intermediate);
            push(
                format!("{p}.mlp.down_proj.weight"),
                vec![d.hidden, d.intermediate],
                -l,
                l,
            );
        }
        push("model.norm.weight".into(), vec![d.hidden], 0.75, 1.25);
        if !self.tie_word_embeddings {
            let l = lin(d.hidden);
            push("lm_head.weight".into(), vec![d.vocab, d.hidden], -l, l);
        }
        out
    }
}

fn rope_scaling_json(s: &RopeScaling) -> Value {
    match s {
        RopeScaling::None => Value::Null,
        RopeScaling::Linear { factor } => json!({"rope_type": "linear", "factor": factor}),
        RopeScaling::Llama3 {
            factor,
            low_freq_factor,
            high_freq_factor,
            original_max_position_embeddings,
        } => json!({
            "rope_type": "llama3",
            "factor": factor,
            "low_freq_factor": low_freq_factor,
            "high_freq_factor": high_freq_factor,
            "original_max_position_embeddings": original_max_position_embeddings,
        }),
    }
}

/// What [`generate_tiny_model`] wrote.
#[derive(Debug, Clone)]
pub struct TinyModel {
    pub dir: PathBuf,
    pub config: PathBuf,
    pub weights: PathBuf,
    /// SHA-256 of `model.safetensors`.
    pub sha256: String,
}

/// Write `config.json` and `model.safetensors` for `spec` into `out_dir` (created if needed).
pub fn generate_tiny_model(out_dir: &Path, spec: &TinySpec) -> Result<TinyModel, ModelError> {
    spec.validate()?;
    std::fs::create_dir_all(out_dir).map_err(|e| ModelError::io(out_dir, e))?;
    let config = out_dir.join("config.json");
    let weights = out_dir.join(SINGLE_FILE);

    let mut tensors = Vec::new();
    for (name, shape, values) in spec.tensors() {
        tensors.push((name, Tensor::from_vec(values, shape, &Device::Cpu)?));
    }
    let metadata = HashMap::from([("format".to_string(), "pt".to_string())]);
    let bytes =
        safetensors::serialize(tensors.iter().map(|(k, t)| (k.as_str(), t)), Some(metadata))
            .map_err(|e| ModelError::Safetensors {
                path: weights.clone(),
                reason: e.to_string(),
            })?;
    mh_profile::atomic_write(&weights, &bytes).map_err(|e| ModelError::io(&weights, e))?;

    let mut text = serde_json::to_string_pretty(&spec.config_json())
        .map_err(|e| ModelError::field(&config, "$", e.to_string()))?;
    text.push('\n');
    mh_profile::atomic_write(&config, text.as_bytes()).map_err(|e| ModelError::io(&config, e))?;

    Ok(TinyModel {
        dir: out_dir.to_path_buf(),
        config,
        weights,
        sha256: hex::encode(Sha256::digest(&bytes)),
    })
}
