//! `mh-train eval`: loss and perplexity of a base model, with or without an adapter.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;

use super::base::{apply_adapter, BaseModelArgs};
use super::print_json;
use crate::progress::Bars;
use crate::Global;

#[derive(Args)]
pub struct EvalArgs {
    #[command(flatten)]
    base: BaseModelArgs,
    /// PEFT adapter directory to apply
    #[arg(long)]
    adapter: Option<PathBuf>,
    /// A tokenized dataset directory, a *.tokens.jsonl file, or a chat JSONL file
    #[arg(long)]
    dataset: PathBuf,
    /// Which split of a dataset directory
    #[arg(long, default_value = "eval")]
    split: String,
    /// Rows per forward pass
    #[arg(long, default_value_t = 4)]
    batch_size: usize,
}

pub fn run(args: EvalArgs, g: &Global) -> Result<ExitCode> {
    let mut base = args.base.load(g)?;
    if let Some(dir) = &args.adapter {
        apply_adapter(&mut base.model, dir)?;
    }
    let vocab = base.model.config.vocab_size;
    let rows = mh_trainer::data::load_rows(&args.dataset, &args.split, &base.dir, vocab)?;
    let bars = Bars::new(g.quiet || g.json);
    let Some(result) = mh_trainer::evaluate(&base.model, &rows, args.batch_size, &bars)? else {
        anyhow::bail!(
            "{}: no labelled tokens to score ({} rows)",
            args.dataset.display(),
            rows.len()
        );
    };
    if g.json {
        print_json(&serde_json::json!({
            "loss": result.loss,
            "ppl": result.ppl,
            "tokens": result.tokens,
            "rows": rows.len(),
        }))?;
    } else {
        println!("loss {:.4}", result.loss);
        println!("ppl {:.3}", result.ppl);
        println!("tokens {}", result.tokens);
    }
    Ok(ExitCode::SUCCESS)
}
