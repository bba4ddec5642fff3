//! What the runtime's integration tests share: the tiny model and scratch profiles.
#![allow(dead_code)] // each test crate uses a different subset

use std::path::{Path, PathBuf};

use mh_dataset::tokenize::{self, ModelTokenizer};
use mh_model::{generate_tiny_model, Arch, TinyDims, TinySpec};
use mh_profile::{NoProgress, Profile};

/// A tiny Qwen2 model in `<dir>/model` whose BPE tokenizer is trained on the demo profile.
pub fn tiny_model(dir: &Path) -> PathBuf {
    let profile = dir.join("demo-for-tokenizer");
    mh_testkit::copy_dir(&mh_testkit::demo_profile(), &profile).unwrap();
    let (config, req) = mh_dataset::config::load(&profile, None).unwrap();
    let built = mh_dataset::build(&Profile::at(&profile), &config, &req, &NoProgress).unwrap();
    let model = dir.join("model");
    let texts = tokenize::tiny::corpus(&built, &config);
    let tiny = tokenize::train_tiny_tokenizer(&texts, 1024, &model).unwrap();
    let tokenizer = ModelTokenizer::from_model_dir(&model).unwrap();
    let mut spec = TinySpec::new(Arch::Qwen2, TinyDims::small(tiny.vocab_size), 3);
    spec.eos_token_id = tokenizer.single_token_id("<|im_end|>").unwrap();
    spec.bos_token_id = None;
    generate_tiny_model(&model, &spec).unwrap();
    model
}

/// Write a training settings file `<dir>/<name>` and return its path.
pub fn train_config(dir: &Path, name: &str, json: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, json).unwrap();
    path
}

/// Learns nothing: its adapter scores as the base model does, worse than a trained one.
pub const LEARNS_NOTHING: &str = r#"{"learning_rate": 1e-12, "max_steps": 1, "micro_batch_size": 2,
    "gradient_accumulation_steps": 1, "warmup_ratio": 0, "eval_every": 0, "save_every": 0,
    "gguf_quant": "Q8_0"}"#;

/// A scratch copy of the demo profile.
pub fn profile_copy() -> (tempfile::TempDir, Profile) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("profile");
    mh_testkit::copy_dir(&mh_testkit::demo_profile(), &root).unwrap();
    (dir, Profile::at(&root))
}
