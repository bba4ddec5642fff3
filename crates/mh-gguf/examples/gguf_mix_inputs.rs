//! Writes the inputs of scripts/gen_gguf_mix_fixtures.py and gen_gguf_convert_fixtures.py: the
//! deterministic tiny models the reference tests use (tests/common) and their F32 GGUF exports,
//! which llama.cpp's `llama-quantize` quantizes into the reference files.
//!
//! Usage: cargo run --release -p mh-gguf --example gguf_mix_inputs -- OUT_DIR

#[path = "../tests/common/mod.rs"]
mod common;

use std::path::PathBuf;

use mh_gguf::{export_model, ExportOptions, FileType};
use mh_model::Arch;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = PathBuf::from(
        std::env::args()
            .nth(1)
            .ok_or("usage: gguf_mix_inputs OUT_DIR")?,
    );
    for arch in [Arch::Qwen2, Arch::Llama, Arch::Qwen3] {
        let dir = common::model_dir(&out.join(arch.model_type()), &common::mix_spec(arch));
        let file = out.join(format!("{}-F32.gguf", arch.model_type()));
        let report = export_model(
            &dir,
            &file,
            &ExportOptions::new(FileType::F32),
            &mh_profile::NoProgress,
        )?;
        println!("{}", report.path.display());
    }
    Ok(())
}
