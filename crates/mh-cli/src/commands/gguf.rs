//! `mh-train gguf export|adapter|inspect`: GGUF files for llama.cpp and Ollama (mh-gguf).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Subcommand;
use mh_dataset::template::{ChatTemplate, TemplateChoice};
use mh_gguf::{inspect, AdapterOptions, ExportOptions, FileType, GgmlType, GgufFile};

use super::{note, print_json};
use crate::progress::Bars;
use crate::Global;

#[derive(Subcommand)]
pub enum GgufCommand {
    /// Write a Hugging Face model directory (e.g. a merged model) as one GGUF file
    Export {
        /// Model directory: config.json, safetensors weights, tokenizer.json
        #[arg(long, value_name = "DIR")]
        model: PathBuf,
        /// A .gguf file, or a directory that receives model-<QUANT>.gguf
        #[arg(long, value_name = "FILE|DIR")]
        out: PathBuf,
        /// f16, bf16, f32, q8_0, q4_0, q4_k_m, q5_k_m or q6_k (llama.cpp's per-tensor mixes)
        #[arg(long, default_value = "q4_k_m", value_parser = parse_quant)]
        quant: FileType,
        /// The chat template to embed: auto (the model's own), auto:NAME, a built-in name, or a
        /// .jinja file — use the one the dataset was built with
        #[arg(long, value_name = "auto|NAME|PATH", default_value = "auto")]
        chat_template: String,
        /// general.name [default: the model directory's name]
        #[arg(long)]
        name: Option<String>,
        /// tokenizer.ggml.pre to write instead of recognising it from tokenizer.json
        #[arg(long, value_name = "NAME")]
        tokenizer_pre: Option<String>,
    },
    /// Write a PEFT LoRA adapter as a GGUF adapter (llama.cpp --lora, Ollama ADAPTER)
    Adapter {
        /// PEFT adapter directory (adapter_config.json + adapter_model.safetensors)
        #[arg(long, value_name = "DIR")]
        adapter: PathBuf,
        /// The base model the adapter was trained on: a directory or a hub id
        #[arg(long, value_name = "DIR|HF_ID")]
        base_model: String,
        /// Output .gguf file
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Tensor type: f32 (llama.cpp's default), f16, bf16 or q8_0
        #[arg(long, default_value = "f32", value_parser = parse_outtype)]
        outtype: GgmlType,
        /// general.name [default: the adapter directory's name]
        #[arg(long)]
        name: Option<String>,
    },
    /// Print a GGUF file's metadata and (with --tensors) its tensor table
    Inspect {
        file: PathBuf,
        /// List the tensors
        #[arg(long)]
        tensors: bool,
        /// Show whole arrays (token lists, merges) instead of their first items
        #[arg(long)]
        full: bool,
    },
}

fn parse_quant(s: &str) -> Result<FileType, String> {
    FileType::parse(s).ok_or_else(|| {
        let names: Vec<String> = FileType::ALL
            .iter()
            .map(|f| f.name().to_ascii_lowercase())
            .collect();
        format!("expected one of {}", names.join(", "))
    })
}

fn parse_outtype(s: &str) -> Result<GgmlType, String> {
    mh_gguf::adapter::ADAPTER_TYPES
        .into_iter()
        .find(|t| t.name().eq_ignore_ascii_case(s))
        .ok_or_else(|| "expected f32, f16, bf16 or q8_0".to_string())
}

pub fn run(cmd: GgufCommand, g: &Global) -> Result<ExitCode> {
    match cmd {
        GgufCommand::Export {
            model,
            out,
            quant,
            chat_template,
            name,
            tokenizer_pre,
        } => {
            let choice: TemplateChoice = chat_template
                .parse()
                .map_err(|e| anyhow::anyhow!("--chat-template: {e}"))?;
            let template = ChatTemplate::load(&model, &choice)
                .with_context(|| format!("loading the chat template of {}", model.display()))?;
            let opts = ExportOptions {
                file_type: quant,
                name,
                chat_template: Some(template.source.clone()),
                tokenizer_pre,
            };
            let report = mh_gguf::export_model(&model, &out, &opts, &Bars::new(g.quiet || g.json))
                .with_context(|| format!("exporting {} to GGUF", model.display()))?;
            if g.json {
                print_json(&report)?;
            } else {
                let fell_back: Vec<&str> = report
                    .tensors
                    .iter()
                    .filter(|t| t.fell_back)
                    .map(|t| t.name.as_str())
                    .collect();
                if !fell_back.is_empty() {
                    note(
                        g,
                        &format!(
                            "note: {} tensors have rows that are not whole 256-value blocks and use llama.cpp's fallback types (e.g. {})",
                            fell_back.len(),
                            fell_back[0]
                        ),
                    );
                }
                println!(
                    "{} {} ({} tensors, {} MiB; tokenizer pre {}, {} tokens{}; chat template from {})",
                    report.architecture,
                    report.file_type,
                    report.tensors.len(),
                    report.file_size / (1 << 20),
                    report.tokenizer_pre,
                    report.vocab_size,
                    if report.padded_tokens > 0 {
                        format!(" incl. {} padding", report.padded_tokens)
                    } else {
                        String::new()
                    },
                    template.origin
                );
                println!("wrote {}", report.path.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        GgufCommand::Adapter {
            adapter,
            base_model,
            out,
            outtype,
            name,
        } => {
            let bars = Bars::new(g.quiet || g.json);
            let resolved =
                mh_hub::resolve_model(&base_model, &mh_hub::HubOptions::from_env(), &bars)
                    .with_context(|| format!("--base-model {base_model}"))?;
            if let Some(notice) = resolved.notice() {
                note(g, &format!("note: {notice}"));
            }
            let opts = AdapterOptions { outtype, name };
            let report = mh_gguf::export_adapter(&adapter, &resolved.dir, &out, &opts, &bars)
                .with_context(|| format!("converting the adapter in {}", adapter.display()))?;
            if g.json {
                print_json(&report)?;
            } else {
                println!(
                    "{} LoRA adapter: rank {}, alpha {}{} -> adapter.lora.alpha {}, {} tensors ({})",
                    report.architecture,
                    report.rank,
                    report.lora_alpha,
                    if report.use_rslora { " (rsLoRA)" } else { "" },
                    report.gguf_alpha,
                    report.tensors.len(),
                    outtype
                );
                println!("wrote {}", report.path.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        GgufCommand::Inspect {
            file,
            tensors,
            full,
        } => {
            let f = GgufFile::open(&file).with_context(|| format!("reading {}", file.display()))?;
            let d = inspect::dump(&f, full, tensors || g.json);
            if g.json {
                print_json(&d)?;
            } else {
                print!("{}", inspect::render(&d));
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
