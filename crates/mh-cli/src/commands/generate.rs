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
    /// Base model: a directory in Hugging Face layout, or a hub id (owner/name[@revision]),
    /// fetched into the Hugging Face cache (HF_HOME / HF_HUB_CACHE; HF_ENDPOINT, HF_TOKEN and
    /// HF_HUB_OFFLINE are honoured)
    #[arg(long, value_name = "DIR|HF_ID", required_unless_present = "active")]
    base_model: Option<String>,
    /// cpu, cuda, cuda:N or auto (a usable GPU, else the CPU)
    #[arg(long, default_value = "auto")]
    device: String,
    /// PEFT adapter directory to apply
    #[arg(long, conflicts_with = "active")]
    adapter: Option<PathBuf>,
    /// Use the profile's active version: its base model and adapter from the model registry
    #[arg(long, conflicts_with = "base_model")]
    active: bool,
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
    let (base_model, adapter) = if args.active {
        active_version(g)?
    } else {
        let base = args
            .base_model
            .clone()
            .context("--base-model or --active is required")?;
        (base, args.adapter.clone())
    };
    let base_args = BaseModelArgs {
        base_model,
        device: args.device.clone(),
    };
    let mut base = base_args.load(g)?;
    if let Some(dir) = &adapter {
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

/// The base model and adapter of the profile's active version (from its model registry).
fn active_version(g: &Global) -> Result<(String, Option<PathBuf>)> {
    let (profile, lineage) = super::activate::open_lineage(g)?;
    let reg = lineage
        .load()
        .with_context(|| format!("reading {}", lineage.registry_path().display()))?;
    let v = reg.active().with_context(|| {
        format!(
            "no active version in {} (run `mh-train local`, or `mh-train activate V`)",
            lineage.registry_path().display()
        )
    })?;
    let base = v
        .base_model
        .as_ref()
        .map(|b| b.id.clone())
        .filter(|id| !id.is_empty())
        .unwrap_or_else(|| v.base_model_used.clone());
    if base.is_empty() {
        anyhow::bail!(
            "{}: version {} names no base model",
            lineage.registry_path().display(),
            v.version
        );
    }
    let adapter = v
        .artifact(mh_lineage::ArtifactKind::Adapter)
        .map(|a| a.resolve(profile.root()))
        .with_context(|| {
            format!(
                "{}: version {} has no adapter artifact",
                lineage.registry_path().display(),
                v.version
            )
        })?;
    note(
        g,
        &format!(
            "active version {} ({}): base {base}, adapter {}",
            v.version,
            v.run_label,
            adapter.display()
        ),
    );
    Ok((base, Some(adapter)))
}
