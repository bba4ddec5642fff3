//! The tiny models committed under `tests/fixtures/` (regenerate with
//! `cargo run -p mh-model --example gen_tiny_fixtures`, then `scripts/gen_reference_logits.py`).

use mh_model::{Arch, RopeScaling, TinyDims, TinySpec};

/// Directory name under `tests/fixtures/` → spec.
pub fn fixture_specs() -> Vec<(&'static str, TinySpec)> {
    let dims = TinyDims::small(512);
    // qwen2: tied embeddings, q/k/v biases.
    let qwen2 = TinySpec::new(Arch::Qwen2, dims, 1);
    // llama: untied lm_head, llama3 RoPE scaling with a short original context so all three
    // frequency bands (kept, interpolated, divided) occur at head_dim 16.
    let mut llama = TinySpec::new(Arch::Llama, dims, 2);
    llama.rope_theta = 10000.0;
    llama.rope_scaling = RopeScaling::Llama3 {
        factor: 8.0,
        low_freq_factor: 1.0,
        high_freq_factor: 4.0,
        original_max_position_embeddings: 32,
    };
    // qwen3: q/k norms and an explicit head_dim (32) different from hidden / heads (16).
    let mut qwen3 = TinySpec::new(Arch::Qwen3, dims, 3);
    qwen3.head_dim = Some(32);
    qwen3.rope_theta = 1_000_000.0;
    vec![
        ("tiny-qwen2", qwen2),
        ("tiny-llama", llama),
        ("tiny-qwen3", qwen3),
    ]
}
