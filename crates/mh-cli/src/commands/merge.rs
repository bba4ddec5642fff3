//! `mh-train merge`: fold a PEFT adapter into its base model's weights (mh-model's merge).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;
use mh_model::MergeBase;

use super::{note, print_json};
use crate::progress::Bars;
use crate::Global;

#[derive(Args)]
pub struct MergeArgs {
    /// Base model: a directory in Hugging Face layout, or a hub id (owner/name[@revision]),
    /// fetched into the Hugging Face cache (HF_HOME / HF_HUB_CACHE; HF_ENDPOINT, HF_TOKEN and
    /// HF_HUB_OFFLINE are honoured)
    #[arg(long, value_name = "DIR|HF_ID")]
    base_model: String,
    /// PEFT adapter directory (adapter_model.safetensors + adapter_config.json), e.g. RUN_DIR/adapter
    #[arg(long)]
    adapter: PathBuf,
    /// Directory for the merged model (must not exist, or be empty)
    #[arg(long)]
    out: PathBuf,
}

pub fn run(args: MergeArgs, g: &Global) -> Result<ExitCode> {
    let bars = Bars::new(g.quiet || g.json);
    let resolved = mh_hub::resolve_model(&args.base_model, &mh_hub::HubOptions::from_env(), &bars)
        .with_context(|| format!("--base-model {}", args.base_model))?;
    if let Some(notice) = resolved.notice() {
        note(g, &format!("note: {notice}"));
    }
    let base = MergeBase {
        dir: resolved.dir,
        repo: resolved.repo,
        revision: resolved.revision,
        commit: resolved.commit,
    };
    let report =
        mh_model::merge_adapter(&base, &args.adapter, &args.out, &bars).with_context(|| {
            format!(
                "merging {} into {}",
                args.adapter.display(),
                base.dir.display()
            )
        })?;
    if g.json {
        let mut value = serde_json::to_value(&report)?;
        if let Some(obj) = value.as_object_mut() {
            obj.insert("out_dir".into(), serde_json::json!(args.out));
        }
        print_json(&value)?;
    } else {
        let bytes: u64 = report.weights.iter().map(|w| w.bytes).sum();
        println!(
            "merged {} of {} tensors (scale {}) into {}",
            report.tensors_merged.len(),
            report.tensors_total,
            report.adapter.scale,
            args.out.display()
        );
        println!(
            "weights: {} ({:.1} MB); copied: {}",
            report
                .weights
                .iter()
                .map(|w| w.file.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            bytes as f64 / 1e6,
            report.copied_files.join(", ")
        );
        if !report.skipped_files.is_empty() {
            println!("not copied: {}", report.skipped_files.join(", "));
        }
        println!(
            "adapter sha256 {} (recorded in {})",
            report.adapter.adapter_model_sha256,
            mh_model::MERGE_RECORD
        );
    }
    Ok(ExitCode::SUCCESS)
}
