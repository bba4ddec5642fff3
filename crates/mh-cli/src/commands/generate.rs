//! `mh-train generate`: a reply from a base model (with or without an adapter), the prompt going
//! through the model's chat template.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;
use mh_model::generate::GenerationConfig;
use mh_trainer::chat::ChatFormat;

use super::base::{apply_adapter, BaseModelArgs};
use super::{note, print_json};
use crate::Global;

#[derive(Args)]
pub struct GenerateArgs {
    #[command(flatten)]
    base: BaseModelArgs,
    /// PEFT adapter directory to apply
    #[arg(long)]
    adapter: Option<PathBuf>,
    /// The user message
    #[arg(long)]
    prompt: String,
    /// A system message before it
    #[arg(long)]
    system: Option<String>,
    /// Most new tokens [default: the model's generation_config.json, else 256]
    #[arg(long)]
    max_tokens: Option<usize>,
    /// 0 decodes greedily [default: the model's generation_config.json, else greedy]
    #[arg(long)]
    temperature: Option<f32>,
    #[arg(long)]
    top_p: Option<f32>,
    #[arg(long)]
    top_k: Option<usize>,
    #[arg(long)]
    repetition_penalty: Option<f32>,
    /// Sampling seed
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

pub fn run(args: GenerateArgs, g: &Global) -> Result<ExitCode> {
    let mut base = args.base.load(g)?;
    if let Some(dir) = &args.adapter {
        apply_adapter(&mut base.model, dir)?;
    }
    let format = ChatFormat::load(&base.dir)?;
    let gen_path = base.dir.join("generation_config.json");
    let mut cfg = if gen_path.is_file() {
        GenerationConfig::from_generation_config_json(&gen_path)?
    } else {
        GenerationConfig::default()
    };
    if let Some(n) = args.max_tokens {
        cfg.max_new_tokens = n;
    }
    if let Some(t) = args.temperature {
        cfg.temperature = Some(t);
        // Asking for a temperature means sampling, even if the model's file said greedy.
        if t > 0.0 && cfg.top_k.is_none() && cfg.top_p.is_none() {
            cfg.top_k = Some(mh_model::generate::HF_DEFAULT_TOP_K);
        }
    }
    if args.top_p.is_some() {
        cfg.top_p = args.top_p;
    }
    if args.top_k.is_some() {
        cfg.top_k = args.top_k;
    }
    if args.repetition_penalty.is_some() {
        cfg.repetition_penalty = args.repetition_penalty;
    }
    cfg.seed = args.seed;
    cfg.validate()?;

    let mut messages = Vec::new();
    if let Some(system) = &args.system {
        messages.push(serde_json::json!({"role": "system", "content": system}));
    }
    messages.push(serde_json::json!({"role": "user", "content": args.prompt}));
    let messages = serde_json::Value::Array(messages);

    let stream = !g.json;
    let mut stdout = std::io::stdout();
    let reply = format.reply(&base.model, &messages, &cfg, |piece| {
        if stream {
            // A closed stdout (e.g. `| head`) ends generation instead of failing it.
            return write!(stdout, "{piece}")
                .and_then(|_| stdout.flush())
                .is_ok();
        }
        true
    })?;
    if g.json {
        print_json(&reply)?;
    } else {
        writeln!(stdout).context("writing to stdout")?;
        note(
            g,
            &format!(
                "{} prompt + {} new tokens, {:.1} tokens/s, stopped by {}",
                reply.prompt_tokens, reply.new_tokens, reply.tokens_per_s, reply.stop_reason
            ),
        );
    }
    Ok(ExitCode::SUCCESS)
}
