#![allow(dead_code)] // each test binary uses a different part

use std::path::{Path, PathBuf};
use std::process::Command;

use mh_model::{generate_tiny_model, Arch, TinyDims, TinySpec};

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// The vocabulary of the model configs: the fixture tokenizer has 321 tokens, so the rest are
/// `[PAD{id}]` entries in the GGUF (as for Qwen, whose embeddings are padded to 128).
pub const VOCAB: usize = 384;

/// A tiny model of `arch` whose sizes exercise the K-quants and their fallbacks: rows of 256
/// (whole super-blocks) and ffn_down rows of 320 (whole 32-blocks only; an even number of
/// them, which candle's Q5_0 kernel needs).
pub fn mix_spec(arch: Arch) -> TinySpec {
    let dims = TinyDims {
        layers: 4,
        hidden: 256,
        heads: 4,
        kv_heads: 2,
        intermediate: 320,
        vocab: VOCAB,
    };
    TinySpec::new(arch, dims, 11)
}

/// A small model (hidden 64) for the forward-pass comparisons.
pub fn small_spec(arch: Arch) -> TinySpec {
    TinySpec::new(arch, TinyDims::small(VOCAB), 7)
}

/// Write `spec`'s weights and config plus the fixture tokenizer into `dir`.
pub fn model_dir(dir: &Path, spec: &TinySpec) -> PathBuf {
    generate_tiny_model(dir, spec).expect("tiny model");
    for f in ["tokenizer.json", "tokenizer_config.json"] {
        std::fs::copy(fixtures().join("tokenizer").join(f), dir.join(f)).expect("copy tokenizer");
    }
    dir.to_path_buf()
}

/// The interpreter with PyPI `gguf` installed (scripts/py-env.sh exports it). Tests that read
/// our files back with llama.cpp's Python reader fail — they do not skip — without it.
pub fn gguf_python() -> PathBuf {
    let py = std::env::var_os("MH_GGUF_PYTHON").unwrap_or_else(|| {
        panic!(
            "MH_GGUF_PYTHON is not set: these tests read our GGUF files back with llama.cpp's gguf \
             package. Run `source scripts/env.sh && source scripts/py-env.sh && mh_py_env` first \
             (scripts/test.sh does)."
        )
    });
    PathBuf::from(py)
}

/// gguf-py's view of a file (scripts/gguf_read.py): metadata with types, tensors with shapes,
/// types and data hashes.
pub fn read_with_gguf_py(path: &Path) -> serde_json::Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/gguf_read.py");
    let out = Command::new(gguf_python())
        .arg(&script)
        .arg(path)
        .output()
        .expect("run scripts/gguf_read.py with MH_GGUF_PYTHON");
    assert!(
        out.status.success(),
        "gguf-py could not read {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("gguf_read.py output is JSON")
}
