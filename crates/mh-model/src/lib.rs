//! # mh-model
//!
//! Model directories and the transformer the trainer fine-tunes.
//!
//! **In:** a Hugging Face model directory — `config.json` (`llama`, `mistral`, `qwen2`, `qwen3`)
//! and `model.safetensors` or sharded `model.safetensors.index.json` — plus optional LoRA
//! settings ([`LoraConfig`]) or a PEFT adapter directory.
//! **Out:** a [`Model`] on a candle `Device` whose projections carry trainable LoRA branches
//! (`candle_core::Var`s, PEFT's math and init), with logits for every position (training,
//! packed samples via per-row `lengths`) or incremental decoding with a [`KvCache`]; greedy or
//! sampled generation with `transformers`' logits processors ([`Model::generate`],
//! [`GenerationConfig`], read from `generation_config.json`); PEFT adapter
//! files ([`write_peft_adapter`] / [`read_peft_adapter`]); merged weights ([`Model::merge_lora`]
//! in memory, [`merge_adapter`] streaming a base directory and an adapter into a merged model
//! directory with `merge.json`);
//! and tiny random models in the HF layout for tests ([`generate_tiny_model`]).
//!
//! Frozen base weights go through [`frozen`]'s custom ops, so backward never materialises a
//! gradient for them (candle's own matmul would).
//! [`device`] picks the device (`--device cpu|cuda|cuda:N|auto`; bf16 base weights on CUDA with
//! the `cuda` feature) and probes the GPUs.
//! Depends on mh-profile (atomic writes) only.

pub mod config;
pub mod device;
mod error;
pub mod frozen;
pub mod generate;
pub mod lora;
pub mod merge;
pub mod model;
pub mod peft;
pub mod tiny;
pub mod weights;

pub use config::{Arch, ModelConfig, RopeScaling};
pub use device::{
    probe as probe_gpus, select as select_device, DeviceChoice, DeviceError, GpuInfo, GpuProbe,
    Selected,
};
pub use error::ModelError;
pub use generate::{Generated, GenerationConfig, Sampler, StopReason};
pub use lora::{LoraBranch, LoraConfig, LoraLinear, TargetModule};
pub use merge::{merge_adapter, MergeBase, MergeReport, MergedAdapter, WrittenShard, MERGE_RECORD};
pub use model::{DecoderLayer, KvCache, LoadOptions, Model};
pub use peft::{
    read_peft_adapter, write_peft_adapter, AdapterConfig, PeftAdapter, SavedAdapter,
    ADAPTER_CONFIG, ADAPTER_WEIGHTS,
};
pub use tiny::{generate_tiny_model, TinyDims, TinyModel, TinySpec};
pub use weights::Weights;

/// candle, re-exported so dependants use the exact version this crate was built with.
pub use candle_core;
