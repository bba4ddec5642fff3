//! `mh-train dev …`: helpers for developing mh-train itself (small stand-ins for real models).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Subcommand, ValueEnum};
use mh_dataset::template::{ChatTemplate, TemplateChoice};
use mh_dataset::tokenize::tiny::TINY_MODEL_MAX_LENGTH;
use mh_dataset::tokenize::{self, ModelTokenizer, DEFAULT_TINY_VOCAB_SIZE};
use mh_model::{generate_tiny_model, Arch, GenerationConfig, TinyDims, TinySpec};

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
    /// Write a complete tiny model directory in the Hugging Face layout: the tiny tokenizer
    /// trained on the profile's dataset text, random weights, config.json and
    /// generation_config.json (loads in transformers and in mh-train)
    TinyModel(TinyModelArgs),
}

#[derive(clap::Args)]
pub struct TinyModelArgs {
    /// Output directory
    #[arg(long)]
    out: PathBuf,
    /// Architecture family
    #[arg(long, value_enum, default_value_t = TinyArch::Qwen2)]
    arch: TinyArch,
    /// Decoder layers
    #[arg(long, default_value_t = TinyDims::small(0).layers)]
    layers: usize,
    /// Hidden size
    #[arg(long, default_value_t = TinyDims::small(0).hidden)]
    hidden: usize,
    /// Attention heads
    #[arg(long, default_value_t = TinyDims::small(0).heads)]
    heads: usize,
    /// Key/value heads (must divide --heads)
    #[arg(long, default_value_t = TinyDims::small(0).kv_heads)]
    kv_heads: usize,
    /// MLP intermediate size
    #[arg(long, default_value_t = TinyDims::small(0).intermediate)]
    intermediate: usize,
    /// Seed of the random weights (same profile, sizes and seed: the same files)
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Largest tokenizer vocabulary (the model's vocabulary is what the tokenizer learns)
    #[arg(long, default_value_t = DEFAULT_TINY_VOCAB_SIZE)]
    vocab_size: usize,
}

#[derive(Clone, Copy, ValueEnum)]
enum TinyArch {
    Qwen2,
    Llama,
    Qwen3,
}

impl From<TinyArch> for Arch {
    fn from(a: TinyArch) -> Arch {
        match a {
            TinyArch::Qwen2 => Arch::Qwen2,
            TinyArch::Llama => Arch::Llama,
            TinyArch::Qwen3 => Arch::Qwen3,
        }
    }
}

pub fn run(cmd: DevCommand, g: &Global) -> Result<ExitCode> {
    match cmd {
        DevCommand::Tokenizer { out, vocab_size } => tokenizer(g, out, vocab_size),
        DevCommand::TinyModel(args) => tiny_model(g, args),
    }
}

/// The text a tiny tokenizer learns from: the profile's dataset, built with its own settings.
struct Corpus {
    texts: Vec<String>,
    samples: usize,
}

fn profile_corpus(g: &Global) -> Result<Corpus> {
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
    Ok(Corpus {
        texts: tokenize::tiny::corpus(&built, &config),
        samples: built.report.samples,
    })
}

fn train_tokenizer(
    corpus: &Corpus,
    vocab_size: usize,
    out: &Path,
) -> Result<tokenize::TinyTokenizer> {
    tokenize::train_tiny_tokenizer(&corpus.texts, vocab_size, out)
        .with_context(|| format!("training a tokenizer into {}", out.display()))
}

fn tokenizer(g: &Global, out: PathBuf, vocab_size: usize) -> Result<ExitCode> {
    let corpus = profile_corpus(g)?;
    let tiny = train_tokenizer(&corpus, vocab_size, &out)?;
    if g.json {
        print_json(&serde_json::json!({
            "dir": tiny.dir,
            "tokenizer": tiny.tokenizer_json,
            "tokenizer_config": tiny.config_json,
            "vocab_size": tiny.vocab_size,
            "sha256": tiny.sha256,
            "samples": corpus.samples,
        }))?;
    } else {
        println!(
            "trained a {}-token vocabulary on {} samples (tokenizer.json sha256 {})",
            tiny.vocab_size, corpus.samples, tiny.sha256
        );
        println!("wrote {}", out.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// The ids a model directory's tokenizer gives its special tokens.
struct SpecialIds {
    /// The chat template's end-of-turn token (`<|im_end|>`): the model's eos.
    end_of_turn: (String, u32),
    /// The tokenizer's `eos_token` when it is another token.
    eos: Option<u32>,
    pad: Option<u32>,
    /// The tokenizer's `bos_token`, else its pad token (Qwen2's convention for tokenizers that
    /// add no BOS, as the tiny one).
    bos: Option<u32>,
}

fn special_ids(dir: &Path) -> Result<SpecialIds> {
    let template = ChatTemplate::load(dir, &TemplateChoice::Auto)
        .with_context(|| format!("reading the chat template in {}", dir.display()))?;
    let tokenizer = ModelTokenizer::from_model_dir(dir)?;
    let id = |token: &str| {
        tokenizer
            .single_token_id(token)
            .with_context(|| format!("special token {token:?} of {}", dir.display()))
    };
    let eot = template.end_of_turn().with_context(|| {
        format!(
            "the chat template of {} writes nothing after an assistant turn, so there is no end-of-turn token to stop on",
            dir.display()
        )
    })?;
    let end_of_turn = (eot.to_string(), id(eot)?);
    let special = &template.special;
    let eos = match &special.eos {
        Some(t) if t != eot => Some(id(t)?),
        _ => None,
    };
    let pad = special.pad.as_deref().map(id).transpose()?;
    let bos = match &special.bos {
        Some(t) => Some(id(t)?),
        None => pad,
    };
    Ok(SpecialIds {
        end_of_turn,
        eos,
        pad,
        bos,
    })
}

/// What the tiny model's `generation_config.json` asks for: sampling as the families' small
/// chat checkpoints ship it (Qwen2.5-Instruct's values), stopping at the end of a turn.
fn tiny_generation_config(ids: &SpecialIds) -> GenerationConfig {
    let mut stop_ids = vec![ids.end_of_turn.1];
    stop_ids.extend(ids.eos.filter(|e| *e != ids.end_of_turn.1));
    GenerationConfig {
        max_new_tokens: 256,
        temperature: Some(0.7),
        top_k: Some(20),
        top_p: Some(0.8),
        repetition_penalty: Some(1.05),
        seed: 0,
        stop_ids,
    }
}

fn tiny_model(g: &Global, a: TinyModelArgs) -> Result<ExitCode> {
    let arch = Arch::from(a.arch);
    let mut dims = TinyDims {
        layers: a.layers,
        hidden: a.hidden,
        heads: a.heads,
        kv_heads: a.kv_heads,
        intermediate: a.intermediate,
        vocab: a.vocab_size,
    };
    // Refuse impossible sizes before spending time on the tokenizer.
    TinySpec::new(arch, dims, a.seed).validate()?;
    let corpus = profile_corpus(g)?;
    let out = &a.out;
    let tiny = train_tokenizer(&corpus, a.vocab_size, out)?;
    let ids = special_ids(out)?;
    dims.vocab = tiny.vocab_size;
    let mut spec = TinySpec::new(arch, dims, a.seed);
    spec.bos_token_id = ids.bos;
    spec.eos_token_id = ids.end_of_turn.1;
    spec.max_position_embeddings = TINY_MODEL_MAX_LENGTH;
    let model = generate_tiny_model(out, &spec)
        .with_context(|| format!("writing a tiny {arch} model into {}", out.display()))?;
    let generation = tiny_generation_config(&ids);
    let generation_path = out.join("generation_config.json");
    generation
        .write_generation_config_json(&generation_path, ids.bos, ids.pad)
        .with_context(|| format!("writing {}", generation_path.display()))?;
    let weights_bytes = std::fs::metadata(&model.weights)
        .with_context(|| format!("reading {}", model.weights.display()))?
        .len();

    if g.json {
        print_json(&serde_json::json!({
            "dir": out,
            "arch": arch.model_type(),
            "layers": dims.layers,
            "hidden": dims.hidden,
            "heads": dims.heads,
            "kv_heads": dims.kv_heads,
            "intermediate": dims.intermediate,
            "vocab_size": dims.vocab,
            "seed": a.seed,
            "bos_token_id": ids.bos,
            "eos_token_id": ids.end_of_turn.1,
            "eos_token": ids.end_of_turn.0,
            "pad_token_id": ids.pad,
            "stop_ids": generation.stop_ids,
            "config": model.config,
            "weights": model.weights,
            "weights_sha256": model.sha256,
            "weights_bytes": weights_bytes,
            "tokenizer": tiny.tokenizer_json,
            "tokenizer_config": tiny.config_json,
            "tokenizer_sha256": tiny.sha256,
            "generation_config": generation_path,
            "samples": corpus.samples,
        }))?;
    } else {
        println!(
            "tiny {arch} model: {} layers, hidden {}, {} heads ({} kv), intermediate {}, vocabulary {} ({} KiB of weights)",
            dims.layers,
            dims.hidden,
            dims.heads,
            dims.kv_heads,
            dims.intermediate,
            dims.vocab,
            weights_bytes / 1024
        );
        println!(
            "tokenizer trained on {} samples; eos {} = {}",
            corpus.samples, ids.end_of_turn.0, ids.end_of_turn.1
        );
        println!("wrote {}", out.display());
    }
    Ok(ExitCode::SUCCESS)
}
