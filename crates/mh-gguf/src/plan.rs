//! Which ggml type each tensor gets, for each file type — llama.cpp's rules.
//!
//! * F32 / F16 / BF16 files (`convert_hf_to_gguf.py --outtype`): 2-D weights in that type; 1-D
//!   tensors, `*_norm.weight` and anything not ending in `.weight` in F32.
//! * Quantized files (`llama-quantize`, `llama_tensor_get_type`): 1-D tensors and norms stay
//!   F32; `output.weight` — or `token_embd.weight` when there is no `output.weight` (tied
//!   embeddings) — becomes Q6_K (Q8_0 when its rows are not whole blocks of the file's type, and
//!   kept Q8_0 in a Q8_0 file); for Q4_K_M and Q5_K_M, `attn_v` and `ffn_down` become Q6_K in the
//!   layers `use_more_bits` picks (the first and last eighth, and every third layer between);
//!   everything else takes the file's type. A type whose block does not divide the row length
//!   falls back (`tensor_type_fallback`): Q4_K→Q5_0, Q5_K→Q5_1, Q6_K→Q8_0, and to F16 when even
//!   that does not divide it.

use crate::types::{FileType, GgmlType};

/// What the type choice needs to know about one tensor.
#[derive(Debug, Clone, Copy)]
pub struct TensorRole<'a> {
    /// GGUF name (`blk.3.attn_v.weight`).
    pub name: &'a str,
    /// ggml dimensions (innermost first).
    pub ne: &'a [u64],
    /// Block index for `blk.N.*` tensors.
    pub layer: Option<usize>,
    /// Number of blocks in the model.
    pub n_layers: usize,
    /// The model has its own `output.weight` (untied embeddings).
    pub has_output: bool,
}

/// llama.cpp's `use_more_bits`.
pub fn use_more_bits(i_layer: usize, n_layers: usize) -> bool {
    let (i, n) = (i_layer as i64, n_layers as i64);
    i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2
}

/// The type llama.cpp gives this tensor in a file of type `ftype`.
pub fn tensor_type(ftype: FileType, t: TensorRole<'_>) -> GgmlType {
    let ty = tensor_type_before_fallback(ftype, t);
    if ftype.is_quantized() && ty != GgmlType::F32 {
        fallback(ty, t.ne[0])
    } else {
        ty
    }
}

/// The mix's choice before `tensor_type_fallback` adapts it to the row length.
pub fn tensor_type_before_fallback(ftype: FileType, t: TensorRole<'_>) -> GgmlType {
    let keep_f32 =
        t.ne.len() < 2 || t.name.ends_with("_norm.weight") || !t.name.ends_with(".weight");
    if keep_f32 {
        return GgmlType::F32;
    }
    let default = ftype.default_type();
    if !ftype.is_quantized() {
        return default;
    }
    let nx = t.ne[0];
    let is_output = t.name == "output.weight" || (!t.has_output && t.name == "token_embd.weight");
    let mut ty = default;
    if is_output {
        if !nx.is_multiple_of(default.block_size()) {
            ty = GgmlType::Q8_0;
        } else if default != GgmlType::Q8_0 {
            ty = GgmlType::Q6_K;
        }
    } else if t.name.contains("attn_v.weight") || t.name.contains("ffn_down") {
        let more = matches!(ftype, FileType::Q4_K_M | FileType::Q5_K_M)
            && t.layer.is_some_and(|i| use_more_bits(i, t.n_layers));
        if more {
            ty = GgmlType::Q6_K;
        }
    }
    ty
}

/// `tensor_type_fallback`: a type whose blocks fit rows of `nx` values.
pub fn fallback(ty: GgmlType, nx: u64) -> GgmlType {
    if nx.is_multiple_of(ty.block_size()) {
        return ty;
    }
    let smaller = match ty {
        GgmlType::Q4_K => GgmlType::Q5_0,
        GgmlType::Q5_K => GgmlType::Q5_1,
        GgmlType::Q6_K => GgmlType::Q8_0,
        other => other,
    };
    if nx.is_multiple_of(smaller.block_size()) {
        smaller
    } else {
        GgmlType::F16
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role<'a>(
        name: &'a str,
        ne: &'a [u64],
        layer: Option<usize>,
        has_output: bool,
    ) -> TensorRole<'a> {
        TensorRole {
            name,
            ne,
            layer,
            n_layers: 24,
            has_output,
        }
    }

    #[test]
    fn more_bits_layers_match_llama_cpp() {
        let picked: Vec<usize> = (0..24).filter(|&i| use_more_bits(i, 24)).collect();
        assert_eq!(picked, vec![0, 1, 2, 5, 8, 11, 14, 17, 20, 21, 22, 23]);
    }

    #[test]
    fn q4_k_m_mix() {
        let f = FileType::Q4_K_M;
        let w = [896u64, 896];
        let w256 = [1024u64, 1024];
        assert_eq!(
            tensor_type(f, role("blk.0.attn_norm.weight", &[1024], Some(0), true)),
            GgmlType::F32
        );
        assert_eq!(
            tensor_type(f, role("blk.0.attn_q.bias", &[1024], Some(0), true)),
            GgmlType::F32
        );
        assert_eq!(
            tensor_type(f, role("blk.3.attn_q.weight", &w256, Some(3), true)),
            GgmlType::Q4_K
        );
        assert_eq!(
            tensor_type(f, role("blk.2.attn_v.weight", &w256, Some(2), true)),
            GgmlType::Q6_K
        );
        assert_eq!(
            tensor_type(f, role("blk.3.attn_v.weight", &w256, Some(3), true)),
            GgmlType::Q4_K
        );
        assert_eq!(
            tensor_type(f, role("blk.5.ffn_down.weight", &w256, Some(5), true)),
            GgmlType::Q6_K
        );
        assert_eq!(
            tensor_type(f, role("output.weight", &w256, None, true)),
            GgmlType::Q6_K
        );
        assert_eq!(
            tensor_type(f, role("token_embd.weight", &w256, None, true)),
            GgmlType::Q4_K
        );
        assert_eq!(
            tensor_type(f, role("token_embd.weight", &w256, None, false)),
            GgmlType::Q6_K
        );
        // Rows of 896 (Qwen2.5-0.5B) are not whole 256-blocks.
        assert_eq!(
            tensor_type(f, role("blk.3.attn_q.weight", &w, Some(3), true)),
            GgmlType::Q5_0
        );
        assert_eq!(
            tensor_type(f, role("blk.2.attn_v.weight", &w, Some(2), true)),
            GgmlType::Q8_0
        );
        assert_eq!(
            tensor_type(f, role("token_embd.weight", &w, None, false)),
            GgmlType::Q8_0
        );
        assert_eq!(
            tensor_type(f, role("blk.3.attn_q.weight", &[48, 48], Some(3), true)),
            GgmlType::F16
        );
    }

    #[test]
    fn plain_and_q8_files() {
        let w = [64u64, 64];
        assert_eq!(
            tensor_type(FileType::F16, role("output.weight", &w, None, true)),
            GgmlType::F16
        );
        assert_eq!(
            tensor_type(
                FileType::BF16,
                role("blk.0.ffn_norm.weight", &[64], Some(0), true)
            ),
            GgmlType::F32
        );
        assert_eq!(
            tensor_type(FileType::Q8_0, role("output.weight", &w, None, true)),
            GgmlType::Q8_0
        );
        assert_eq!(
            tensor_type(FileType::Q4_0, role("output.weight", &w, None, true)),
            GgmlType::Q8_0
        );
        assert_eq!(
            tensor_type(FileType::Q4_0, role("output.weight", &[256, 8], None, true)),
            GgmlType::Q6_K
        );
        assert_eq!(
            tensor_type(
                FileType::Q5_K_M,
                role("blk.0.ffn_down.weight", &[256, 8], Some(0), true)
            ),
            GgmlType::Q6_K
        );
        assert_eq!(
            tensor_type(
                FileType::Q6_K,
                role("blk.9.ffn_up.weight", &[256, 8], Some(9), true)
            ),
            GgmlType::Q6_K
        );
    }
}
