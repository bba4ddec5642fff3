//! config.json parsing: real configs of the supported families, both transformers layouts, and
//! the errors for what we do not run.

use std::path::Path;

use mh_model::{Arch, ModelConfig, ModelError, RopeScaling};

fn parse(text: &str) -> Result<ModelConfig, ModelError> {
    ModelConfig::from_json_str(text, Path::new("config.json"))
}

// Qwen/Qwen2.5-0.5B-Instruct config.json (published values).
const QWEN25_05B: &str = r#"{
  "architectures": ["Qwen2ForCausalLM"], "attention_dropout": 0.0, "bos_token_id": 151643,
  "eos_token_id": 151645, "hidden_act": "silu", "hidden_size": 896, "initializer_range": 0.02,
  "intermediate_size": 4864, "max_position_embeddings": 32768, "max_window_layers": 21,
  "model_type": "qwen2", "num_attention_heads": 14, "num_hidden_layers": 24,
  "num_key_value_heads": 2, "rms_norm_eps": 1e-06, "rope_theta": 1000000.0,
  "sliding_window": 32768, "tie_word_embeddings": true, "torch_dtype": "bfloat16",
  "transformers_version": "4.43.1", "use_cache": true, "use_sliding_window": false,
  "vocab_size": 151936
}"#;

// meta-llama/Llama-3.2-1B-Instruct config.json (published values).
const LLAMA32_1B: &str = r#"{
  "architectures": ["LlamaForCausalLM"], "attention_bias": false, "attention_dropout": 0.0,
  "bos_token_id": 128000, "eos_token_id": [128001, 128008, 128009], "head_dim": 64,
  "hidden_act": "silu", "hidden_size": 2048, "initializer_range": 0.02,
  "intermediate_size": 8192, "max_position_embeddings": 131072, "mlp_bias": false,
  "model_type": "llama", "num_attention_heads": 32, "num_hidden_layers": 16,
  "num_key_value_heads": 8, "pretraining_tp": 1, "rms_norm_eps": 1e-05,
  "rope_scaling": {"factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
    "original_max_position_embeddings": 8192, "rope_type": "llama3"},
  "rope_theta": 500000.0, "tie_word_embeddings": true, "torch_dtype": "bfloat16",
  "transformers_version": "4.45.0.dev0", "use_cache": true, "vocab_size": 128256
}"#;

// Qwen/Qwen3-0.6B config.json (published values).
const QWEN3_06B: &str = r#"{
  "architectures": ["Qwen3ForCausalLM"], "attention_bias": false, "attention_dropout": 0.0,
  "bos_token_id": 151643, "eos_token_id": 151645, "head_dim": 128, "hidden_act": "silu",
  "hidden_size": 1024, "initializer_range": 0.02, "intermediate_size": 3072,
  "max_position_embeddings": 40960, "max_window_layers": 28, "model_type": "qwen3",
  "num_attention_heads": 16, "num_hidden_layers": 28, "num_key_value_heads": 8,
  "rms_norm_eps": 1e-06, "rope_scaling": null, "rope_theta": 1000000,
  "sliding_window": null, "tie_word_embeddings": true, "torch_dtype": "bfloat16",
  "transformers_version": "4.51.0", "use_cache": true, "use_sliding_window": false,
  "vocab_size": 151936
}"#;

// mistralai/Mistral-7B-Instruct-v0.3 config.json (published values).
const MISTRAL_7B_V03: &str = r#"{
  "architectures": ["MistralForCausalLM"], "attention_dropout": 0.0, "bos_token_id": 1,
  "eos_token_id": 2, "hidden_act": "silu", "hidden_size": 4096, "initializer_range": 0.02,
  "intermediate_size": 14336, "max_position_embeddings": 32768, "model_type": "mistral",
  "num_attention_heads": 32, "num_hidden_layers": 32, "num_key_value_heads": 8,
  "rms_norm_eps": 1e-05, "rope_theta": 1000000.0, "sliding_window": null,
  "tie_word_embeddings": false, "torch_dtype": "bfloat16", "transformers_version": "4.42.0.dev0",
  "use_cache": true, "vocab_size": 32768
}"#;

#[test]
fn qwen2_has_qkv_bias_tied_embeddings_and_no_window() {
    let c = parse(QWEN25_05B).unwrap();
    assert_eq!(c.arch, Arch::Qwen2);
    assert_eq!(
        (c.hidden_size, c.num_attention_heads, c.num_key_value_heads),
        (896, 14, 2)
    );
    assert_eq!(c.head_dim, 64);
    assert!(c.qkv_bias && !c.o_bias && !c.mlp_bias && !c.qk_norm);
    assert!(c.tie_word_embeddings);
    // use_sliding_window is false: the 32768 window is not in effect.
    assert_eq!(c.sliding_window, None);
    assert_eq!(c.rope_theta, 1_000_000.0);
    assert_eq!(c.rope_scaling, RopeScaling::None);
    assert_eq!(c.eos_token_ids, vec![151645]);
    assert_eq!(c.torch_dtype.as_deref(), Some("bfloat16"));
}

#[test]
fn llama32_reads_llama3_rope_scaling_and_eos_list() {
    let c = parse(LLAMA32_1B).unwrap();
    assert_eq!(c.arch, Arch::Llama);
    assert_eq!(
        c.rope_scaling,
        RopeScaling::Llama3 {
            factor: 32.0,
            low_freq_factor: 1.0,
            high_freq_factor: 4.0,
            original_max_position_embeddings: 8192
        }
    );
    assert_eq!(c.rope_theta, 500000.0);
    assert_eq!(c.eos_token_ids, vec![128001, 128008, 128009]);
    assert_eq!(c.bos_token_id, Some(128000));
    assert!(!c.qkv_bias && !c.o_bias);
    assert!(c.tie_word_embeddings);
    assert_eq!(c.rms_norm_eps, 1e-5);
}

#[test]
fn qwen3_has_qk_norm_and_explicit_head_dim() {
    let c = parse(QWEN3_06B).unwrap();
    assert_eq!(c.arch, Arch::Qwen3);
    assert!(c.qk_norm);
    assert_eq!(c.head_dim, 128);
    assert_eq!(c.q_dim(), 2048); // not hidden_size
    assert_eq!(c.kv_dim(), 1024);
    assert!(!c.qkv_bias);
    assert_eq!(c.rope_theta, 1_000_000.0); // an integer in the file
}

#[test]
fn mistral_without_window_is_full_attention() {
    let c = parse(MISTRAL_7B_V03).unwrap();
    assert_eq!(c.arch, Arch::Mistral);
    assert_eq!(c.sliding_window, None);
    assert!(!c.tie_word_embeddings);
    let v01 = MISTRAL_7B_V03.replace(r#""sliding_window": null"#, r#""sliding_window": 4096"#);
    assert_eq!(parse(&v01).unwrap().sliding_window, Some(4096));
}

#[test]
fn transformers5_rope_parameters_layout() {
    let text = r#"{
      "model_type": "llama", "architectures": ["LlamaForCausalLM"], "vocab_size": 100,
      "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
      "num_attention_heads": 4, "num_key_value_heads": 2, "dtype": "float32",
      "rope_parameters": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
        "high_freq_factor": 4.0, "original_max_position_embeddings": 16, "rope_theta": 12345.0}
    }"#;
    let c = parse(text).unwrap();
    assert_eq!(c.rope_theta, 12345.0);
    assert!(matches!(
        c.rope_scaling,
        RopeScaling::Llama3 {
            original_max_position_embeddings: 16,
            ..
        }
    ));
    assert_eq!(c.torch_dtype.as_deref(), Some("float32"));
    assert_eq!(c.num_key_value_heads, 2);

    let default = text.replace(r#""rope_type": "llama3""#, r#""rope_type": "default""#);
    assert_eq!(parse(&default).unwrap().rope_scaling, RopeScaling::None);
}

#[test]
fn qwen2_layer_types_turn_the_window_on() {
    let text = QWEN25_05B.replace(
        r#""use_sliding_window": false"#,
        r#""use_sliding_window": true, "layer_types": ["sliding_attention", "full_attention"]"#,
    );
    assert_eq!(parse(&text).unwrap().sliding_window, Some(32768));
}

fn err(text: &str) -> String {
    parse(text).unwrap_err().to_string()
}

#[test]
fn unsupported_model_type_names_the_value_and_the_supported_ones() {
    let e = err(&QWEN25_05B.replace(r#""model_type": "qwen2""#, r#""model_type": "gemma2""#));
    assert!(e.contains("config.json"), "{e}");
    assert!(e.contains("model_type") && e.contains("gemma2"), "{e}");
    assert!(e.contains("llama, mistral, qwen2, qwen3"), "{e}");
}

#[test]
fn foreign_architecture_class_is_refused() {
    let e = err(&QWEN25_05B.replace("Qwen2ForCausalLM", "Qwen2ForSequenceClassification"));
    assert!(
        e.contains("Qwen2ForSequenceClassification") && e.contains("Qwen2ForCausalLM"),
        "{e}"
    );
}

#[test]
fn missing_and_mistyped_fields_are_named() {
    let e = err(&QWEN25_05B.replace(r#""hidden_size": 896,"#, ""));
    assert!(e.contains("hidden_size") && e.contains("missing"), "{e}");
    let e = err(&QWEN25_05B.replace(r#""hidden_size": 896"#, r#""hidden_size": "896""#));
    assert!(e.contains("hidden_size"), "{e}");
    let e = err(&QWEN25_05B.replace(r#""num_key_value_heads": 2"#, r#""num_key_value_heads": 3"#));
    assert!(e.contains("num_key_value_heads"), "{e}");
}

#[test]
fn unsupported_activation_and_rope_types_are_refused() {
    let e = err(&QWEN25_05B.replace(r#""hidden_act": "silu""#, r#""hidden_act": "gelu""#));
    assert!(e.contains("hidden_act") && e.contains("gelu"), "{e}");
    let e = err(&LLAMA32_1B.replace(r#""rope_type": "llama3""#, r#""rope_type": "yarn""#));
    assert!(e.contains("yarn") && e.contains("rope_scaling"), "{e}");
    let e = err(&LLAMA32_1B.replace(r#""low_freq_factor": 1.0,"#, ""));
    assert!(e.contains("rope_scaling.low_freq_factor"), "{e}");
}
