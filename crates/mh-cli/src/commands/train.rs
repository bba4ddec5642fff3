//! `mh-train train`: fine-tune a LoRA adapter on a tokenized dataset.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;
use mh_trainer::{Hooks, Status, TokenDataset, TrainConfig, TrainSpec};

use super::base::BaseModelArgs;
use super::{note, print_json, stop_on_signal, STOP};
use crate::progress::Bars;
use crate::Global;

#[derive(Args)]
pub struct TrainArgs {
    #[command(flatten)]
    base: BaseModelArgs,
    /// Tokenized dataset directory (from `dataset build --model`)
    #[arg(long)]
    dataset: PathBuf,
    /// Run directory: adapter/, checkpoints/, metrics.jsonl, loss.svg, train-report.json
    #[arg(long)]
    out: PathBuf,
    /// Settings file(s) over the defaults of configs/lora.json, in order; the seed's
    /// etc/training.json keys are accepted
    #[arg(long = "config", value_name = "FILE")]
    configs: Vec<PathBuf>,
    /// Continue from the newest checkpoint in --out
    #[arg(long)]
    resume: bool,
    /// Override: epochs
    #[arg(long)]
    epochs: Option<f64>,
    /// Override: stop after this many optimizer steps
    #[arg(long)]
    max_steps: Option<usize>,
    /// Override: peak learning rate
    #[arg(long)]
    learning_rate: Option<f64>,
    /// Override: LoRA rank
    #[arg(long)]
    rank: Option<usize>,
    /// Override: LoRA alpha
    #[arg(long)]
    alpha: Option<f64>,
    /// Override: rows per forward pass
    #[arg(long)]
    micro_batch_size: Option<usize>,
    /// Override: micro-batches per optimizer step
    #[arg(long)]
    gradient_accumulation_steps: Option<usize>,
    /// Override: evaluate every N steps (0: only at the end)
    #[arg(long)]
    eval_every: Option<usize>,
    /// Override: checkpoint every N steps (0: never)
    #[arg(long)]
    save_every: Option<usize>,
    /// Override: seed
    #[arg(long)]
    seed: Option<u64>,
}

fn set<T>(slot: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *slot = v;
    }
}

pub fn run(args: TrainArgs, g: &Global) -> Result<ExitCode> {
    let files: Vec<&std::path::Path> = args.configs.iter().map(PathBuf::as_path).collect();
    let loaded = TrainConfig::load(&files)?;
    for key in &loaded.ignored {
        note(g, &format!("note: ignoring {key} (not a training setting)"));
    }
    let mut config = loaded.config;
    set(&mut config.epochs, args.epochs);
    set(&mut config.learning_rate, args.learning_rate);
    set(&mut config.rank, args.rank);
    set(&mut config.alpha, args.alpha);
    set(&mut config.micro_batch_size, args.micro_batch_size);
    set(
        &mut config.gradient_accumulation_steps,
        args.gradient_accumulation_steps,
    );
    set(&mut config.eval_every, args.eval_every);
    set(&mut config.save_every, args.save_every);
    set(&mut config.seed, args.seed);
    if args.max_steps.is_some() {
        config.max_steps = args.max_steps;
    }
    config.validate()?;

    let dataset = TokenDataset::open(&args.dataset)?;
    let base = args.base.load(g)?;
    dataset.check_tokenizer(&base.dir)?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let _lock = mh_profile::ProfileLock::acquire(&args.out, "train")
        .with_context(|| format!("locking run directory {}", args.out.display()))?;
    stop_on_signal("stopping: writing a checkpoint (Ctrl-C again to quit now)")?;

    note(
        g,
        &format!(
            "training {} on {} ({} train / {} eval rows) on {}",
            args.base.base_model,
            args.dataset.display(),
            dataset.train.len(),
            dataset.eval.len(),
            base.selected.summary()
        ),
    );
    let bars = Bars::new(g.quiet || g.json);
    let report = mh_trainer::train(
        TrainSpec {
            model: base.model,
            base_model: args.base.base_model.clone(),
            dataset: &dataset,
            config,
            run_dir: &args.out,
            resume: args.resume,
        },
        &Hooks {
            progress: &bars,
            stop: &STOP,
        },
    )?;

    if g.json {
        print_json(&report)?;
    } else {
        let fmt = |x: Option<f64>| x.map_or("-".to_string(), |v| format!("{v:.4}"));
        println!(
            "{}: {} of {} steps, {:.2} epochs, {} tokens in {:.1} s ({:.0} tokens/s)",
            match report.status {
                Status::Finished => "finished",
                Status::EarlyStopped => "stopped early",
                Status::Interrupted => "interrupted",
            },
            report.steps_completed,
            report.total_steps,
            report.epochs_completed,
            report.tokens_seen,
            report.elapsed_s,
            report.tokens_per_s
        );
        println!(
            "train loss {} -> {}; eval loss {} -> {} (best {})",
            fmt(report.initial_loss),
            fmt(report.final_loss),
            fmt(report.initial_eval.map(|e| e.loss)),
            fmt(report.final_eval.map(|e| e.loss)),
            fmt(report.best_eval_loss)
        );
        if let Some(dir) = &report.adapter_dir {
            println!("adapter (step {}): {}", report.adapter_step, dir.display());
        }
        if let Some(dir) = &report.last_checkpoint {
            println!("checkpoint: {}", dir.display());
        }
        println!(
            "report: {}",
            args.out.join(mh_trainer::run::REPORT).display()
        );
    }
    Ok(if report.status == Status::Interrupted {
        ExitCode::from(130)
    } else {
        ExitCode::SUCCESS
    })
}
