//! # mh-trainer
//!
//! LoRA fine-tuning on candle, CPU or CUDA, no Python.
//!
//! **In:** a base [`mh_model::Model`] (loaded without LoRA), a tokenized dataset directory
//! ([`TokenDataset`]: `tokenized.json`, `train.tokens.jsonl`, `eval.tokens.jsonl` from
//! `mh-dataset`), a [`TrainConfig`] (`configs/lora.json`; the seed's `etc/training.json` keys
//! are accepted) and a run directory.
//! **Out:** in the run directory — `adapter/` (PEFT `adapter_model.safetensors` +
//! `adapter_config.json`, the adapter with the lowest eval loss, or the last one without an eval
//! split), `checkpoints/checkpoint-N/` (adapter, AdamW moments, trainer state; a retention
//! limit), `metrics.jsonl` (a row per step and per evaluation), `loss.svg`, and
//! `train-report.json` ([`TrainReport`]).
//!
//! The entry point is [`train`]; [`evaluate`] scores any split (the `eval` command), and
//! [`TrainConfig::load`] layers config files. Loss is next-token cross-entropy in f32 over
//! labelled targets only, token-weighted across the micro-batches of a step; the optimizer is
//! AdamW as PyTorch's with a warm-up + cosine/linear/constant schedule and global grad-norm
//! clipping. Everything random derives from the seed and the step, so a resumed run equals an
//! uninterrupted one.

pub mod chat;
pub mod checkpoint;
pub mod config;
pub mod data;
mod error;
pub mod eval;
pub mod loss;
pub mod metrics;
pub mod optim;
mod plot;
pub mod run;
pub mod schedule;

pub use config::{LoadedConfig, Scheduler, TrainConfig};
pub use data::TokenDataset;
pub use error::TrainError;
pub use eval::{evaluate, EvalResult};
pub use run::{train, Hooks, Status, TrainReport, TrainSpec};
