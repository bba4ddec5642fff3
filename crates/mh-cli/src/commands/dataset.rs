//! `mh-train dataset …`

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Subcommand, ValueEnum};
use mh_dataset::export::{self, Format};
use mh_dataset::report::Quality;
use mh_dataset::template::{ChatTemplate, TemplateChoice};
use mh_dataset::tokenize::{self, ModelTokenizer, TokenizeOptions, Truncation};
use mh_dataset::{Mode, Report};
use mh_profile::audit::Category;
use mh_profile::AuditEvent;

use super::{note, open_profile, print_json};
use crate::progress::Bars;
use crate::Global;

#[derive(Subcommand)]
pub enum DatasetCommand {
    /// Curate the profile's memories into train/eval JSONL and report.json
    Build {
        /// Output directory (default: <profile>/out/datasets/<RUN_LABEL>)
        #[arg(long)]
        out: Option<PathBuf>,
        /// Seed for every random choice (default: the config's, 42)
        #[arg(long)]
        seed: Option<u64>,
        /// Line shape of the JSONL files
        #[arg(long, value_enum, default_value_t = FormatArg::Chat)]
        format: FormatArg,
        /// Also write train.parquet / eval.parquet
        #[arg(long)]
        parquet: bool,
        /// Dataset settings (JSON; any subset of the fields in configs/dataset.json)
        #[arg(long)]
        config: Option<PathBuf>,
        /// Model directory (tokenizer.json, tokenizer_config.json): also write
        /// train.tokens.jsonl, eval.tokens.jsonl and tokenized.json
        #[arg(long)]
        model: Option<PathBuf>,
        /// Token limit of a sample (and of a packed sequence) [default: etc/training.json
        /// max_seq_length, 2048]
        #[arg(long, requires = "model")]
        max_seq_length: Option<usize>,
        /// Pack samples into sequences of up to --max-seq-length tokens
        #[arg(long, requires = "model")]
        pack: bool,
        /// Chat template: auto (the model's own), a built-in name, or a .jinja file [default: auto]
        #[arg(long, value_name = "auto|NAME|PATH", requires = "model")]
        chat_template: Option<String>,
        /// Samples longer than --max-seq-length: leave them out, or keep their last tokens
        /// [default: drop]
        #[arg(long, value_enum, requires = "model")]
        truncation: Option<TruncationArg>,
    },
    /// Summarise a built dataset directory
    Stats { dir: PathBuf },
    /// Check a JSONL dataset file line by line
    Validate { file: PathBuf },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum FormatArg {
    Chat,
    Alpaca,
    InputOutput,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum TruncationArg {
    Drop,
    KeepEnd,
}

impl From<TruncationArg> for Truncation {
    fn from(t: TruncationArg) -> Self {
        match t {
            TruncationArg::Drop => Truncation::Drop,
            TruncationArg::KeepEnd => Truncation::KeepEnd,
        }
    }
}

/// The `--model` options of `dataset build`.
pub struct ModelArgs {
    pub dir: PathBuf,
    pub max_seq_length: Option<usize>,
    pub pack: bool,
    pub chat_template: Option<String>,
    pub truncation: Truncation,
}

impl From<FormatArg> for Format {
    fn from(f: FormatArg) -> Self {
        match f {
            FormatArg::Chat => Format::Chat,
            FormatArg::Alpaca => Format::Alpaca,
            FormatArg::InputOutput => Format::InputOutput,
        }
    }
}

pub fn run(cmd: DatasetCommand, g: &Global) -> Result<ExitCode> {
    match cmd {
        DatasetCommand::Build {
            out,
            seed,
            format,
            parquet,
            config,
            model,
            max_seq_length,
            pack,
            chat_template,
            truncation,
        } => {
            let model = model.map(|dir| ModelArgs {
                dir,
                max_seq_length,
                pack,
                chat_template,
                truncation: truncation.map(Into::into).unwrap_or_default(),
            });
            build(g, out, seed, format.into(), parquet, config, model)
        }
        DatasetCommand::Stats { dir } => stats(g, dir),
        DatasetCommand::Validate { file } => validate(g, file),
    }
}

fn build(
    g: &Global,
    out: Option<PathBuf>,
    seed: Option<u64>,
    format: Format,
    parquet: bool,
    config_file: Option<PathBuf>,
    model: Option<ModelArgs>,
) -> Result<ExitCode> {
    let profile = open_profile(g)?;
    let (mut config, requirements) =
        mh_dataset::config::load(profile.root(), config_file.as_deref())?;
    if let Some(s) = seed {
        config.seed = s;
    }
    // Template and tokenizer first: a wrong --model or --chat-template fails before the build.
    let model = match model {
        Some(m) => Some(load_model(&m, profile.root())?),
        None => None,
    };
    let out = out.unwrap_or_else(|| {
        profile
            .root()
            .join("out/datasets")
            .join(mh_profile::run_label(chrono::Utc::now()))
    });
    // The lock keeps a nightly job and a manual build from writing the profile at once; a
    // read-only profile is never written (the output must then lie outside it).
    let lock = if profile.readonly() {
        if out.starts_with(profile.root()) {
            anyhow::bail!(
                "profile {} is read-only; pass --out outside it",
                profile.root().display()
            );
        }
        None
    } else {
        Some(profile.lock("dataset build")?)
    };
    let mut built = mh_dataset::build(
        &profile,
        &config,
        &requirements,
        &Bars::new(g.quiet || g.json),
    )?;
    if built.report.samples == 0 {
        anyhow::bail!(
            "no usable samples in {} ({} memories dropped, {} unreadable); nothing written",
            profile.root().display(),
            built.report.dropped.total(),
            built.report.errors.len()
        );
    }
    let written = match &model {
        Some((template, tokenizer, opts)) => {
            let tokenized =
                tokenize::tokenize_built(&mut built, &config, tokenizer, template, opts)?;
            tokenize::write_with_tokens(&out, &built, &config, format, parquet, &tokenized)?.export
        }
        None => export::write(&out, &built, &config, format, parquet)?,
    };
    if lock.is_some() {
        let size = std::fs::metadata(&written.train)
            .map(|m| m.len())
            .unwrap_or(0);
        profile
            .audit()
            .append(
                AuditEvent::new(Category::Data, "training_export_completed")
                    .detail("outputPath", out.display().to_string())
                    .detail("totalSamples", built.report.samples)
                    .detail("datasetSizeKB", size / 1024)
                    .detail("seed", config.seed),
            )
            .with_context(|| format!("writing the audit log of {}", profile.root().display()))?;
    }
    if g.json {
        print_json(&built.report)?;
    } else {
        print!("{}", built.report.table());
        println!("wrote {}", out.display());
    }
    if !built.report.gates.passed {
        note(g, "note: the dataset does not meet fine-tune-config.json dataset_requirements (see gates)");
    }
    Ok(ExitCode::SUCCESS)
}

/// The chat template, tokenizer and settings `--model` asks for.
fn load_model(
    m: &ModelArgs,
    profile_root: &std::path::Path,
) -> Result<(ChatTemplate, ModelTokenizer, TokenizeOptions)> {
    let choice: TemplateChoice = m
        .chat_template
        .as_deref()
        .unwrap_or("auto")
        .parse()
        .map_err(|e| anyhow::anyhow!("--chat-template: {e}"))?;
    let template = ChatTemplate::load(&m.dir, &choice)
        .with_context(|| format!("loading the chat template for {}", m.dir.display()))?;
    let tokenizer = ModelTokenizer::from_model_dir(&m.dir)?;
    let max_seq_length = match m.max_seq_length {
        Some(n) => n,
        None => tokenize::default_max_seq_length(profile_root)?,
    };
    let opts = TokenizeOptions {
        max_seq_length,
        truncation: m.truncation,
        pack: m.pack,
        ..TokenizeOptions::default()
    };
    Ok((template, tokenizer, opts))
}

fn stats(g: &Global, dir: PathBuf) -> Result<ExitCode> {
    let report_path = dir.join("report.json");
    let mut report: Report = match std::fs::read(&report_path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .with_context(|| format!("{}: not a dataset report", report_path.display()))?,
        Err(_) => Report::default(),
    };
    // Recount from the files themselves: they are the truth if someone edited them.
    let mut texts = Vec::new();
    let mut by_mode = std::collections::BTreeMap::new();
    let mut by_source = std::collections::BTreeMap::new();
    for (name, count) in [
        ("train.jsonl", &mut report.train),
        ("eval.jsonl", &mut report.eval),
    ] {
        let path = dir.join(name);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        *count = 0;
        for (i, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let v: serde_json::Value = serde_json::from_str(line)
                .with_context(|| format!("{}:{}: invalid JSON", path.display(), i + 1))?;
            *count += 1;
            let mode = v["mode"]
                .as_str()
                .and_then(Mode::parse)
                .unwrap_or(Mode::Emulation);
            *by_mode.entry(mode.as_str().to_string()).or_insert(0) += 1;
            if let Some(s) = v["source"].as_str() {
                *by_source.entry(s.to_string()).or_insert(0) += 1;
            }
            let answer = v["messages"]
                .as_array()
                .map(|m| {
                    m.iter()
                        .filter(|m| m["role"] == "assistant")
                        .filter_map(|m| m["content"].as_str())
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .or_else(|| v["output"].as_str().map(String::from))
                .unwrap_or_default();
            texts.push((mode, answer));
        }
    }
    report.samples = report.train + report.eval;
    report.by_mode = by_mode;
    if !by_source.is_empty() {
        report.by_source = by_source;
    }
    report.quality = Quality::from_assistant_texts(&texts);
    if g.json {
        print_json(&report)?;
    } else {
        print!("{}", report.table());
    }
    Ok(ExitCode::SUCCESS)
}

fn validate(g: &Global, file: PathBuf) -> Result<ExitCode> {
    let v = export::validate_file(&file)?;
    if g.json {
        print_json(&v)?;
    } else {
        for (line, reason) in &v.problems {
            println!("{}:{line}: {reason}", file.display());
        }
        println!(
            "{}: {} lines, {} problems",
            file.display(),
            v.lines,
            v.problems.len()
        );
    }
    Ok(if v.problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
