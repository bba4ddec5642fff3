//! `mh-train`: parses the command line and dispatches to the pipeline crates. No pipeline logic
//! lives here.

mod commands;
mod progress;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "mh-train",
    version,
    about = "Turn a person's memories into a personal language model"
)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

/// Options every command understands.
#[derive(Args, Clone)]
pub struct Global {
    /// MetaHuman OS root (profiles live in ROOT/profiles/<user>)
    #[arg(long, global = true, env = "METAHUMAN_ROOT")]
    pub root: Option<PathBuf>,
    /// User whose profile to use (with --root)
    #[arg(long, global = true)]
    pub user: Option<String>,
    /// A profile directory given directly (overrides --root/--user)
    #[arg(long, global = true)]
    pub profile: Option<PathBuf>,
    /// Machine-readable output on stdout (progress stays on stderr)
    #[arg(long, global = true)]
    pub json: bool,
    /// More detail on stderr
    #[arg(short, long, global = true, conflicts_with = "quiet")]
    pub verbose: bool,
    /// No progress bars or notes on stderr
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Inspect a profile
    #[command(subcommand)]
    Profile(commands::profile::ProfileCommand),
    /// Build, inspect and validate training datasets
    #[command(subcommand)]
    Dataset(commands::dataset::DatasetCommand),
    /// Development helpers (tiny tokenizer, tiny model)
    #[command(subcommand)]
    Dev(commands::dev::DevCommand),
    /// Render chat templates as transformers does
    #[command(subcommand)]
    Template(commands::template::TemplateCommand),
    /// Fine-tune a LoRA adapter on a tokenized dataset
    Train(commands::train::TrainArgs),
    /// Loss and perplexity of a model (with or without an adapter) on a dataset
    Eval(commands::eval::EvalArgs),
    /// Reply to a prompt through the model's chat template
    Generate(commands::generate::GenerateArgs),
    /// Talk with the active version (or --version N): locally, or through Ollama with --ollama
    Chat(commands::chat::ChatArgs),
    /// Fold a PEFT adapter into its base model's weights (a standalone merged model directory)
    Merge(commands::merge::MergeArgs),
    /// GGUF files for llama.cpp / Ollama: export a model, convert an adapter, inspect a file
    #[command(subcommand)]
    Gguf(commands::gguf::GgufCommand),
    /// Report the version, build features, CPU and GPUs, and the device training would use
    Doctor(commands::doctor::DoctorArgs),
    /// The profile's model registry: versions, parents, artifacts, verify, rollback, gc, import
    #[command(subcommand)]
    Lineage(commands::lineage::LineageCommand),
    /// Make a registered version the model the runtime uses
    Activate(commands::activate::ActivateArgs),
    /// Fall back to the base model at once
    Deactivate,
    /// Which version is active, and what MetaHuman OS serves
    Status,
    /// The whole chain on this machine: dataset, train, eval, merge, GGUF, Ollama, registry,
    /// activation — resumable
    Local(commands::local::LocalArgs),
    /// Continue a `local` run that failed or was stopped, without redoing finished steps
    Resume(commands::local::ResumeArgs),
    /// The local chain with the train step on a RunPod pod (pods listed and reaped with
    /// `remote list` / `remote reap`)
    Remote(commands::remote::RemoteArgs),
    /// GPU memory a training run needs, and the cheapest RunPod GPU that fits
    Plan(commands::remote::PlanArgs),
    /// The nightly sleep service: decide (window, idle, switches, new data, dataset quality),
    /// train, gate, activate
    #[command(subcommand, name = "sleep-service")]
    SleepService(commands::sleep::SleepCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Profile(c) => commands::profile::run(c, &cli.global),
        Command::Dataset(c) => commands::dataset::run(c, &cli.global),
        Command::Dev(c) => commands::dev::run(c, &cli.global),
        Command::Template(c) => commands::template::run(c, &cli.global),
        Command::Train(a) => commands::train::run(a, &cli.global),
        Command::Eval(a) => commands::eval::run(a, &cli.global),
        Command::Generate(a) => commands::generate::run(a, &cli.global),
        Command::Chat(a) => commands::chat::run(a, &cli.global),
        Command::Merge(a) => commands::merge::run(a, &cli.global),
        Command::Gguf(c) => commands::gguf::run(c, &cli.global),
        Command::Doctor(a) => commands::doctor::run(a, &cli.global),
        Command::Lineage(c) => commands::lineage::run(c, &cli.global),
        Command::Activate(a) => commands::activate::activate(a, &cli.global),
        Command::Deactivate => commands::activate::deactivate(&cli.global),
        Command::Status => commands::activate::status(&cli.global),
        Command::Local(a) => commands::local::local(a, &cli.global),
        Command::Resume(a) => commands::local::resume(a, &cli.global),
        Command::Remote(a) => commands::remote::run(a, &cli.global),
        Command::Plan(a) => commands::remote::plan(a, &cli.global),
        Command::SleepService(c) => commands::sleep::run(c, &cli.global),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            // One line: the outermost context, then each cause.
            let chain: Vec<String> = e.chain().map(|c| c.to_string()).collect();
            eprintln!("mh-train: {}", chain.join(": "));
            ExitCode::FAILURE
        }
    }
}
