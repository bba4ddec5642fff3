//! A Hugging Face `config.json` for the decoder-only families we run: `llama`, `mistral`,
//! `qwen2`, `qwen3`. Both the transformers-4 layout (`rope_theta` + `rope_scaling`) and the
//! transformers-5 one (`rope_parameters`, `layer_types`, `dtype`) are read.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use crate::error::{read_json, ModelError};

/// The architecture family, from `model_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Arch {
    Llama,
    Mistral,
    Qwen2,
    Qwen3,
}

impl Arch {
    pub const ALL: [Arch; 4] = [Arch::Llama, Arch::Mistral, Arch::Qwen2, Arch::Qwen3];

    /// The `model_type` string.
    pub fn model_type(self) -> &'static str {
        match self {
            Arch::Llama => "llama",
            Arch::Mistral => "mistral",
            Arch::Qwen2 => "qwen2",
            Arch::Qwen3 => "qwen3",
        }
    }

    /// The `*ForCausalLM` class name transformers instantiates.
    pub fn causal_lm_class(self) -> &'static str {
        match self {
            Arch::Llama => "LlamaForCausalLM",
            Arch::Mistral => "MistralForCausalLM",
            Arch::Qwen2 => "Qwen2ForCausalLM",
            Arch::Qwen3 => "Qwen3ForCausalLM",
        }
    }

    pub fn from_model_type(s: &str) -> Option<Arch> {
        Arch::ALL.into_iter().find(|a| a.model_type() == s)
    }
}

impl std::fmt::Display for Arch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.model_type())
    }
}

/// How rotary frequencies are rescaled for long contexts.
#[derive(Debug, Clone, PartialEq)]
pub enum RopeScaling {
    /// Plain RoPE (`rope_type` `"default"` or no scaling).
    None,
    /// Position interpolation: every frequency divided by `factor`.
    Linear { factor: f64 },
    /// Llama 3.1's band-wise rescaling.
    Llama3 {
        factor: f64,
        low_freq_factor: f64,
        high_freq_factor: f64,
        original_max_position_embeddings: usize,
    },
}

/// The parsed, validated configuration of one model.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelConfig {
    pub arch: Arch,
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub intermediate_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub num_key_value_heads: usize,
    pub head_dim: usize,
    pub rms_norm_eps: f64,
    pub rope_theta: f64,
    pub rope_scaling: RopeScaling,
    pub max_position_embeddings: usize,
    pub tie_word_embeddings: bool,
    /// q/k/v projections carry a bias (always for qwen2; `attention_bias` for llama/qwen3).
    pub qkv_bias: bool,
    /// o_proj carries a bias (`attention_bias` for llama/qwen3; never for qwen2/mistral).
    pub o_bias: bool,
    /// gate/up/down carry a bias (`mlp_bias`, llama only).
    pub mlp_bias: bool,
    /// Per-head RMSNorm on queries and keys before RoPE (qwen3).
    pub qk_norm: bool,
    /// The attention window when some layer uses sliding-window attention. We only run full
    /// attention, so sequences longer than this are refused instead of computed differently.
    pub sliding_window: Option<usize>,
    pub bos_token_id: Option<u32>,
    pub eos_token_ids: Vec<u32>,
    /// `torch_dtype` (transformers 4) or `dtype` (transformers 5), as written.
    pub torch_dtype: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
pub(crate) enum TokenIds {
    One(u32),
    Many(Vec<u32>),
}

impl TokenIds {
    pub(crate) fn into_vec(self) -> Vec<u32> {
        match self {
            TokenIds::One(id) => vec![id],
            TokenIds::Many(ids) => ids,
        }
    }
}

/// The fields we read; everything else in the file is ignored.
#[derive(Deserialize)]
struct RawConfig {
    model_type: Option<String>,
    architectures: Option<Vec<String>>,
    vocab_size: Option<usize>,
    hidden_size: Option<usize>,
    intermediate_size: Option<usize>,
    num_hidden_layers: Option<usize>,
    num_attention_heads: Option<usize>,
    num_key_value_heads: Option<usize>,
    head_dim: Option<usize>,
    hidden_act: Option<String>,
    rms_norm_eps: Option<f64>,
    rope_theta: Option<f64>,
    rope_scaling: Option<Value>,
    rope_parameters: Option<Value>,
    partial_rotary_factor: Option<f64>,
    max_position_embeddings: Option<usize>,
    tie_word_embeddings: Option<bool>,
    attention_bias: Option<bool>,
    mlp_bias: Option<bool>,
    sliding_window: Option<usize>,
    use_sliding_window: Option<bool>,
    layer_types: Option<Vec<String>>,
    bos_token_id: Option<TokenIds>,
    eos_token_id: Option<TokenIds>,
    torch_dtype: Option<String>,
    dtype: Option<String>,
}

impl ModelConfig {
    /// Read and validate `config.json`.
    pub fn from_file(path: &Path) -> Result<ModelConfig, ModelError> {
        let raw: RawConfig = read_json(path)?;
        Self::from_raw(raw, path)
    }

    /// Parse config text; `path` only names the source in errors.
    pub fn from_json_str(text: &str, path: &Path) -> Result<ModelConfig, ModelError> {
        let de = &mut serde_json::Deserializer::from_str(text);
        let raw: RawConfig =
            serde_path_to_error::deserialize(de).map_err(|e| ModelError::Json {
                path: path.to_path_buf(),
                field: e.path().to_string(),
                reason: e.inner().to_string(),
            })?;
        Self::from_raw(raw, path)
    }

    fn from_raw(raw: RawConfig, path: &Path) -> Result<ModelConfig, ModelError> {
        let supported_types = Arch::ALL.map(Arch::model_type).join(", ");
        let model_type = raw
            .model_type
            .clone()
            .ok_or_else(|| ModelError::field(path, "model_type", "missing"))?;
        let arch = Arch::from_model_type(&model_type).ok_or_else(|| ModelError::Unsupported {
            path: path.to_path_buf(),
            what: "model_type".into(),
            value: model_type.clone(),
            supported: supported_types.clone(),
        })?;
        if let Some(archs) = &raw.architectures {
            // A sequence-classification or vision head would load and then compute the wrong thing.
            if let Some(bad) = archs.iter().find(|a| *a != arch.causal_lm_class()) {
                return Err(ModelError::Unsupported {
                    path: path.to_path_buf(),
                    what: "architectures entry".into(),
                    value: bad.clone(),
                    supported: format!("{} for model_type {model_type}", arch.causal_lm_class()),
                });
            }
        }
        let need = |v: Option<usize>, field: &str| match v {
            Some(0) => Err(ModelError::field(path, field, "must be positive")),
            Some(v) => Ok(v),
            None => Err(ModelError::field(path, field, "missing")),
        };
        let vocab_size = need(raw.vocab_size, "vocab_size")?;
        let hidden_size = need(raw.hidden_size, "hidden_size")?;
        let intermediate_size = need(raw.intermediate_size, "intermediate_size")?;
        let num_hidden_layers = need(raw.num_hidden_layers, "num_hidden_layers")?;
        let num_attention_heads = need(raw.num_attention_heads, "num_attention_heads")?;
        let num_key_value_heads = need(
            raw.num_key_value_heads.or(Some(num_attention_heads)),
            "num_key_value_heads",
        )?;
        if !num_attention_heads.is_multiple_of(num_key_value_heads) {
            return Err(ModelError::field(
                path,
                "num_key_value_heads",
                format!("{num_key_value_heads} does not divide num_attention_heads {num_attention_heads}"),
            ));
        }
        let head_dim = match raw.head_dim {
            Some(d) => need(Some(d), "head_dim")?,
            None => {
                if !hidden_size.is_multiple_of(num_attention_heads) {
                    return Err(ModelError::field(
                        path,
                        "hidden_size",
                        format!("{hidden_size} is not a multiple of num_attention_heads {num_attention_heads} and no head_dim is given"),
                    ));
                }
                hidden_size / num_attention_heads
            }
        };
        if !head_dim.is_multiple_of(2) {
            return Err(ModelError::field(
                path,
                "head_dim",
                format!("{head_dim} is odd; rotary embeddings need an even head size"),
            ));
        }
        if let Some(act) = &raw.hidden_act {
            if act != "silu" {
                return Err(ModelError::Unsupported {
                    path: path.to_path_buf(),
                    what: "hidden_act".into(),
                    value: act.clone(),
                    supported: "silu".into(),
                });
            }
        }

        let (rope_theta, rope_scaling) = parse_rope(&raw, path)?;
        let torch_dtype = raw.torch_dtype.clone().or(raw.dtype.clone());

        // Which layers attend through a window: transformers 5 lists them in `layer_types`;
        // before that qwen2/qwen3 gated it with `use_sliding_window` and mistral always used it.
        let window_used = match (&raw.layer_types, arch) {
            (Some(types), _) => types.iter().any(|t| t == "sliding_attention"),
            (None, Arch::Mistral) => true,
            (None, Arch::Qwen2 | Arch::Qwen3) => raw.use_sliding_window.unwrap_or(false),
            (None, Arch::Llama) => false,
        };
        let sliding_window = if window_used {
            raw.sliding_window
        } else {
            None
        };

        let attention_bias = raw.attention_bias.unwrap_or(false);
        let (qkv_bias, o_bias) = match arch {
            Arch::Qwen2 => (true, false),
            Arch::Mistral => (false, false),
            Arch::Llama | Arch::Qwen3 => (attention_bias, attention_bias),
        };
        let mlp_bias = match arch {
            Arch::Llama => raw.mlp_bias.unwrap_or(false),
            _ => false,
        };

        Ok(ModelConfig {
            arch,
            vocab_size,
            hidden_size,
            intermediate_size,
            num_hidden_layers,
            num_attention_heads,
            num_key_value_heads,
            head_dim,
            rms_norm_eps: raw.rms_norm_eps.unwrap_or(1e-6),
            rope_theta,
            rope_scaling,
            max_position_embeddings: raw.max_position_embeddings.unwrap_or(match arch {
                Arch::Llama => 2048,
                Arch::Mistral => 32768,
                Arch::Qwen2 | Arch::Qwen3 => 32768,
            }),
            tie_word_embeddings: raw.tie_word_embeddings.unwrap_or(false),
            qkv_bias,
            o_bias,
            mlp_bias,
            qk_norm: arch == Arch::Qwen3,
            sliding_window,
            bos_token_id: raw.bos_token_id.and_then(|t| t.into_vec().first().copied()),
            eos_token_ids: raw.eos_token_id.map(TokenIds::into_vec).unwrap_or_default(),
            torch_dtype,
        })
    }

    /// Width of the query projection output (`num_attention_heads * head_dim`).
    pub fn q_dim(&self) -> usize {
        self.num_attention_heads * self.head_dim
    }

    /// Width of the key/value projection outputs (`num_key_value_heads * head_dim`).
    pub fn kv_dim(&self) -> usize {
        self.num_key_value_heads * self.head_dim
    }
}

fn parse_rope(raw: &RawConfig, path: &Path) -> Result<(f64, RopeScaling), ModelError> {
    // transformers 5 folds the theta and the scaling into `rope_parameters`.
    let params = raw.rope_parameters.as_ref().filter(|v| !v.is_null());
    let (scaling, field) = match (params, &raw.rope_scaling) {
        (Some(p), _) => (Some(p), "rope_parameters"),
        (None, Some(s)) if !s.is_null() => (Some(s), "rope_scaling"),
        _ => (None, "rope_scaling"),
    };
    if let Some(s) = scaling {
        if !s.is_object() {
            return Err(ModelError::field(path, field, "expected an object"));
        }
    }
    let get_f64 = |key: &str| scaling.and_then(|s| s.get(key)).and_then(Value::as_f64);
    let theta = get_f64("rope_theta").or(raw.rope_theta).unwrap_or(10000.0);
    if !(theta.is_finite() && theta > 0.0) {
        return Err(ModelError::field(
            path,
            "rope_theta",
            format!("{theta} is not a positive number"),
        ));
    }
    let partial = get_f64("partial_rotary_factor").or(raw.partial_rotary_factor);
    if let Some(p) = partial {
        if p != 1.0 {
            return Err(ModelError::Unsupported {
                path: path.to_path_buf(),
                what: "partial_rotary_factor".into(),
                value: p.to_string(),
                supported: "1.0".into(),
            });
        }
    }
    let Some(s) = scaling else {
        return Ok((theta, RopeScaling::None));
    };
    let kind = s
        .get("rope_type")
        .or_else(|| s.get("type"))
        .and_then(Value::as_str)
        .unwrap_or("default");
    let need = |key: &str| {
        get_f64(key).ok_or_else(|| {
            ModelError::field(
                path,
                format!("{field}.{key}"),
                format!("missing for rope type {kind}"),
            )
        })
    };
    let scaling = match kind {
        "default" => RopeScaling::None,
        "linear" => RopeScaling::Linear {
            factor: need("factor")?,
        },
        "llama3" => {
            let original = need("original_max_position_embeddings")?;
            let low = need("low_freq_factor")?;
            let high = need("high_freq_factor")?;
            if high <= low {
                return Err(ModelError::field(
                    path,
                    format!("{field}.high_freq_factor"),
                    format!("{high} must be greater than low_freq_factor {low}"),
                ));
            }
            RopeScaling::Llama3 {
                factor: need("factor")?,
                low_freq_factor: low,
                high_freq_factor: high,
                original_max_position_embeddings: original as usize,
            }
        }
        other => {
            return Err(ModelError::Unsupported {
                path: PathBuf::from(path),
                what: format!("{field} type"),
                value: other.into(),
                supported: "default, linear, llama3".into(),
            })
        }
    };
    Ok((theta, scaling))
}
