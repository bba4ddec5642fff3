//! # mh-gguf
//!
//! GGUF files for llama.cpp and Ollama, written natively.
//!
//! **In:** a Hugging Face model directory (`config.json` of a `llama`, `mistral`, `qwen2` or
//! `qwen3` model, safetensors weights, `tokenizer.json` + `tokenizer_config.json`), or a PEFT
//! LoRA adapter directory and its base model's directory.
//! **Out:** a GGUF v3 file ([`export_model`], [`export_adapter`]) written atomically, and a
//! checked, never-panicking reader and inspector for any GGUF file ([`GgufFile`], [`inspect`]).
//!
//! Pieces: [`writer`] (streaming v3 writer, alignment 32), [`reader`] (bounds- and
//! overflow-checked parser), [`quant`] (ggml's reference quantizers, byte for byte), [`plan`]
//! (llama.cpp's per-tensor type choice for each file type, K-quant mixes included), [`arch`]
//! (metadata and tensor names per architecture, the llama Q/K permutation), [`tokenizer`]
//! (`tokenizer.ggml.*` from `tokenizer.json`), [`source`] (positioned reads of safetensors),
//! [`adapter`] (PEFT → LoRA GGUF), [`inspect`] (gguf-dump-like views).
//! Depends on mh-model (config parsing, PEFT adapters; the default `export` feature) and
//! mh-profile (atomic writes). Without `export` the crate is the format alone.

#[cfg(feature = "export")]
pub mod adapter;
#[cfg(feature = "export")]
pub mod arch;
pub mod error;
#[cfg(feature = "export")]
pub mod export;
pub mod inspect;
pub mod plan;
pub mod quant;
pub mod reader;
#[cfg(feature = "export")]
pub mod source;
#[cfg(feature = "export")]
pub mod tokenizer;
pub mod types;
pub mod writer;

#[cfg(feature = "export")]
pub use adapter::{export_adapter, AdapterOptions, AdapterReport};
pub use error::GgufError;
#[cfg(feature = "export")]
pub use export::{
    default_file_name, export_model, resolve_output, ExportOptions, ExportReport, ExportedTensor,
};
pub use reader::{parse, GgufFile, Header, ParseError, TensorInfo};
pub use types::{FileType, GgmlType, MetaValue, ValueType};
pub use writer::{write_file, Layout, StreamWriter, TensorSpec, WriteError, ALIGNMENT};
