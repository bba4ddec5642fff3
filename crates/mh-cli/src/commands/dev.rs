//! `mh-train dev …`: helpers for developing mh-train itself (small stand-ins for real models).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Subcommand;
use mh_dataset::tokenize::{self, DEFAULT_TINY_VOCAB_SIZE};

use super::{open_profile, print_json};
use crate::progress::Bars;
use crate::Global;

#[derive(Subcommand)]
pub enum DevCommand {
    /// Train a tiny byte-level BPE tokenizer (ChatML special tokens) on the profile's dataset
    /// text and write tokenizer.json + tokenizer_config.json
    Tokenizer {
        /// Output directory
        #[arg(long)]
        out: PathBuf,
        /// Largest vocabulary to learn, special tokens included (fewer when the text runs out)
        #[arg(long, default_value_t = DEFAULT_TINY_VOCAB_SIZE)]
        vocab_size: usize,
    },
}

pub fn run(cmd: DevCommand, g: &Global) -> Result<ExitCode> {
    match cmd {
        DevCommand::Tokenizer { out, vocab_size } => tokenizer(g, out, vocab_size),
    }
}

fn tokenizer(g: &Global, out: PathBuf, vocab_size: usize) -> Result<ExitCode> {
    let profile = open_profile(g)?;
    let (config, requirements) = mh_dataset::config::load(profile.root(), None)?;
    let built = mh_dataset::build(
        &profile,
        &config,
        &requirements,
        &Bars::new(g.quiet || g.json),
    )?;
    if built.report.samples == 0 {
        anyhow::bail!(
            "no usable samples in {} to train a tokenizer on",
            profile.root().display()
        );
    }
    let texts = tokenize::tiny::corpus(&built, &config);
    let tiny = tokenize::train_tiny_tokenizer(&texts, vocab_size, &out)
        .with_context(|| format!("training a tokenizer into {}", out.display()))?;
    if g.json {
        print_json(&serde_json::json!({
            "dir": tiny.dir,
            "tokenizer": tiny.tokenizer_json,
            "tokenizer_config": tiny.config_json,
            "vocab_size": tiny.vocab_size,
            "sha256": tiny.sha256,
            "samples": built.report.samples,
        }))?;
    } else {
        println!(
            "trained a {}-token vocabulary on {} samples (tokenizer.json sha256 {})",
            tiny.vocab_size, built.report.samples, tiny.sha256
        );
        println!("wrote {}", out.display());
    }
    Ok(ExitCode::SUCCESS)
}
