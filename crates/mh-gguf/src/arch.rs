//! Per-architecture GGUF knowledge: `general.architecture`, the hyper-parameter keys with the
//! types llama.cpp and Ollama read them as (counts UINT32, epsilon and RoPE base FLOAT32), the
//! Hugging Face → GGUF tensor names, the llama Q/K row permutation and Llama 3's `rope_freqs`.
//!
//! `llama` and `mistral` checkpoints become GGUF `llama` (llama.cpp's `LlamaModel` handles both)
//! and need their q/k projections permuted from Hugging Face's rotate-half RoPE layout to the
//! interleaved one llama.cpp's `llama` architecture uses; `qwen2` and `qwen3` keep theirs (their
//! architectures use NeoX RoPE).

use mh_model::{Arch, ModelConfig, RopeScaling};

use crate::error::GgufError;
use crate::types::MetaValue;

/// `general.architecture` for a model family.
pub fn gguf_arch(arch: Arch) -> &'static str {
    match arch {
        Arch::Llama | Arch::Mistral => "llama",
        Arch::Qwen2 => "qwen2",
        Arch::Qwen3 => "qwen3",
    }
}

/// Does this family need the Q/K permutation?
pub fn permutes_qk(arch: Arch) -> bool {
    matches!(arch, Arch::Llama | Arch::Mistral)
}

/// A Hugging Face tensor name mapped to GGUF.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapped {
    pub gguf: String,
    pub layer: Option<usize>,
    /// Permute rows over this many heads (llama q/k only).
    pub permute_heads: Option<usize>,
}

/// Map a Hugging Face tensor name. `Ok(None)`: a tensor llama.cpp's converter drops
/// (`rotary_emb.inv_freq`, and `lm_head.weight` when embeddings are tied); `Err`: a tensor this
/// export does not know, which would otherwise be lost silently.
pub fn map_tensor(hf: &str, cfg: &ModelConfig) -> Result<Option<Mapped>, GgufError> {
    let unknown = || {
        GgufError::tensor(
            hf,
            format!("no GGUF name for this {} tensor", cfg.arch.model_type()),
        )
    };
    if hf.ends_with(".rotary_emb.inv_freq")
        || hf.ends_with(".attention.masked_bias")
        || hf.ends_with(".attention.bias")
    {
        return Ok(None);
    }
    let plain = |g: &str| {
        Ok(Some(Mapped {
            gguf: g.to_string(),
            layer: None,
            permute_heads: None,
        }))
    };
    match hf {
        "model.embed_tokens.weight" => return plain("token_embd.weight"),
        "model.norm.weight" => return plain("output_norm.weight"),
        "lm_head.weight" if cfg.tie_word_embeddings => return Ok(None),
        "lm_head.weight" => return plain("output.weight"),
        _ => {}
    }
    let rest = hf.strip_prefix("model.layers.").ok_or_else(unknown)?;
    let (layer, rest) = rest.split_once('.').ok_or_else(unknown)?;
    let layer: usize = layer.parse().map_err(|_| unknown())?;
    if layer >= cfg.num_hidden_layers {
        return Err(GgufError::tensor(
            hf,
            format!(
                "layer {layer} is beyond num_hidden_layers = {}",
                cfg.num_hidden_layers
            ),
        ));
    }
    let (module, suffix) = rest.rsplit_once('.').ok_or_else(unknown)?;
    if suffix != "weight" && suffix != "bias" {
        return Err(unknown());
    }
    let base = match module {
        "input_layernorm" => "attn_norm",
        "post_attention_layernorm" => "ffn_norm",
        "self_attn.q_proj" => "attn_q",
        "self_attn.k_proj" => "attn_k",
        "self_attn.v_proj" => "attn_v",
        "self_attn.o_proj" => "attn_output",
        "self_attn.q_norm" if cfg.arch == Arch::Qwen3 => "attn_q_norm",
        "self_attn.k_norm" if cfg.arch == Arch::Qwen3 => "attn_k_norm",
        "mlp.gate_proj" => "ffn_gate",
        "mlp.up_proj" => "ffn_up",
        "mlp.down_proj" => "ffn_down",
        _ => return Err(unknown()),
    };
    let permute_heads = match (permutes_qk(cfg.arch), base) {
        (true, "attn_q") => Some(cfg.num_attention_heads),
        (true, "attn_k") => Some(cfg.num_key_value_heads),
        _ => None,
    };
    Ok(Some(Mapped {
        gguf: format!("blk.{layer}.{base}.{suffix}"),
        layer: Some(layer),
        permute_heads,
    }))
}

/// The source row of output row `row` after llama.cpp's `permute(w, n_head)`:
/// `w.reshape(n_head, 2, rows/n_head/2, …).swapaxes(1, 2)`, pairing rotate-half halves as
/// adjacent rows.
pub fn permuted_source_row(row: usize, n_rows: usize, n_head: usize) -> usize {
    let head_rows = n_rows / n_head;
    let half = head_rows / 2;
    let (h, rem) = (row / head_rows, row % head_rows);
    let (j, i) = (rem / 2, rem % 2);
    h * head_rows + i * half + j
}

/// Check a permutation over `n_head` heads is possible for `n_rows` rows.
pub fn check_permutable(name: &str, n_rows: usize, n_head: usize) -> Result<(), GgufError> {
    if n_head == 0 || !n_rows.is_multiple_of(n_head) || !(n_rows / n_head).is_multiple_of(2) {
        return Err(GgufError::tensor(
            name,
            format!("{n_rows} rows cannot be split into {n_head} heads of even size for the RoPE permutation"),
        ));
    }
    Ok(())
}

fn u32_of(value: usize, what: &str) -> Result<MetaValue, GgufError> {
    u32::try_from(value).map(MetaValue::U32).map_err(|_| {
        GgufError::Input(format!(
            "{what} = {value} does not fit the UINT32 GGUF stores"
        ))
    })
}

/// The `{arch}.*` hyper-parameter keys, as `convert_hf_to_gguf.py` writes them.
/// `config_has_head_dim`: `config.json` names `head_dim` (the converter then writes
/// `attention.key_length`/`value_length`; we also write them whenever head_dim differs from
/// hidden/heads, which llama.cpp would otherwise compute wrongly).
pub fn hparams(
    cfg: &ModelConfig,
    config_has_head_dim: bool,
) -> Result<Vec<(String, MetaValue)>, GgufError> {
    let a = gguf_arch(cfg.arch);
    let k = |s: &str| format!("{a}.{s}");
    let mut out = vec![
        (
            k("block_count"),
            u32_of(cfg.num_hidden_layers, "num_hidden_layers")?,
        ),
        (
            k("context_length"),
            u32_of(cfg.max_position_embeddings, "max_position_embeddings")?,
        ),
        (
            k("embedding_length"),
            u32_of(cfg.hidden_size, "hidden_size")?,
        ),
        (
            k("feed_forward_length"),
            u32_of(cfg.intermediate_size, "intermediate_size")?,
        ),
        (
            k("attention.head_count"),
            u32_of(cfg.num_attention_heads, "num_attention_heads")?,
        ),
        (
            k("attention.head_count_kv"),
            u32_of(cfg.num_key_value_heads, "num_key_value_heads")?,
        ),
    ];
    if let RopeScaling::Linear { factor } = cfg.rope_scaling {
        out.push((k("rope.scaling.type"), MetaValue::string("linear")));
        out.push((k("rope.scaling.factor"), MetaValue::F32(factor as f32)));
    }
    out.push((k("rope.freq_base"), MetaValue::F32(cfg.rope_theta as f32)));
    out.push((
        k("attention.layer_norm_rms_epsilon"),
        MetaValue::F32(cfg.rms_norm_eps as f32),
    ));
    if config_has_head_dim || cfg.head_dim * cfg.num_attention_heads != cfg.hidden_size {
        out.push((k("attention.key_length"), u32_of(cfg.head_dim, "head_dim")?));
        out.push((
            k("attention.value_length"),
            u32_of(cfg.head_dim, "head_dim")?,
        ));
    }
    if a == "llama" {
        out.push((k("vocab_size"), u32_of(cfg.vocab_size, "vocab_size")?));
        out.push((k("rope.dimension_count"), u32_of(cfg.head_dim, "head_dim")?));
    }
    Ok(out)
}

/// Llama 3.1's RoPE rescaling as the `rope_freqs.weight` factors llama.cpp divides the
/// frequencies by (`LlamaModel.generate_extra_tensors`), or `None` without llama3 scaling.
pub fn rope_freqs(cfg: &ModelConfig) -> Option<Vec<f32>> {
    let RopeScaling::Llama3 {
        factor,
        low_freq_factor,
        high_freq_factor,
        original_max_position_embeddings,
    } = cfg.rope_scaling
    else {
        return None;
    };
    let dim = cfg.head_dim;
    let old = original_max_position_embeddings as f64;
    let low_wavelen = old / low_freq_factor;
    let high_wavelen = old / high_freq_factor;
    Some(
        (0..dim)
            .step_by(2)
            .map(|i| {
                // torch computes the frequencies in float32; follow it.
                let exponent = i as f32 / dim as f32;
                let freq = 1.0f32 / (cfg.rope_theta as f32).powf(exponent);
                let wavelen = 2.0 * std::f64::consts::PI / f64::from(freq);
                if wavelen < high_wavelen {
                    1.0
                } else if wavelen > low_wavelen {
                    factor as f32
                } else {
                    let smooth =
                        (old / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor);
                    (1.0 / ((1.0 - smooth) / factor + smooth)) as f32
                }
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permutation_matches_llama_cpp() {
        // 2 heads of 4 rows: [h0: a0 a1 b0 b1 | h1: c0 c1 d0 d1] → [a0 b0 a1 b1 | c0 d0 c1 d1]
        let src: Vec<usize> = (0..8).map(|r| permuted_source_row(r, 8, 2)).collect();
        assert_eq!(src, vec![0, 2, 1, 3, 4, 6, 5, 7]);
        // head size 6: halves of 3.
        let src: Vec<usize> = (0..6).map(|r| permuted_source_row(r, 6, 1)).collect();
        assert_eq!(src, vec![0, 3, 1, 4, 2, 5]);
        assert!(check_permutable("q", 6, 4).is_err());
    }
}
