//! `mh-train local` and `mh-train resume RUN_LABEL`: the whole chain (mh-runtime).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;
use mh_runtime::{RunHooks, RunOptions, RunSummary};

use super::{note, open_profile, print_json, stop_on_signal, STOP};
use crate::progress::Bars;
use crate::Global;

#[derive(Args)]
pub struct LocalArgs {
    /// Base model: a directory in Hugging Face layout, or a hub id (owner/name[@revision])
    /// [default: the registry's original_base_model]
    #[arg(long, value_name = "DIR|HF_ID")]
    base_model: Option<String>,
    /// Training settings file(s) over configs/lora.json's defaults, in order; also
    /// `gguf_quant` (default Q4_K_M), `keep_f16`, `continuous_learning`
    /// (original_base | current_merged)
    #[arg(long = "config", value_name = "FILE")]
    configs: Vec<PathBuf>,
    /// Dataset settings (JSON; any subset of the fields in configs/dataset.json)
    #[arg(long, value_name = "FILE")]
    dataset_config: Option<PathBuf>,
    /// Dataset seed
    #[arg(long)]
    seed: Option<u64>,
    /// Token limit of a sample [default: etc/training.json max_seq_length, 2048]
    #[arg(long)]
    max_seq_length: Option<usize>,
    /// cpu, cuda, cuda:N or auto
    #[arg(long, default_value = "auto")]
    device: String,
    /// Print the plan and stop
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Write the Modelfile but do not register with Ollama
    #[arg(long)]
    skip_ollama: bool,
    /// Register the version but leave the active one as it is
    #[arg(long)]
    no_activate: bool,
    /// Ollama model name [default: <user>-<RUN_LABEL>]
    #[arg(long)]
    model_name: Option<String>,
}

#[derive(Args)]
pub struct ResumeArgs {
    /// The run to continue (a directory name under <profile>/out/runs/)
    run_label: String,
}

pub(crate) fn install_ctrlc() -> Result<()> {
    stop_on_signal("stopping at the next checkpoint or step boundary (Ctrl-C again to quit now)")
}

impl LocalArgs {
    pub(crate) fn options(&self) -> RunOptions {
        RunOptions {
            base_model: self.base_model.clone(),
            config_files: self.configs.clone(),
            dataset_config: self.dataset_config.clone(),
            seed: self.seed,
            max_seq_length: self.max_seq_length,
            device: Some(self.device.clone()),
            skip_ollama: self.skip_ollama,
            no_activate: self.no_activate,
            ollama_host: None,
            model_name: self.model_name.clone(),
            ..RunOptions::default()
        }
    }
}

pub fn local(a: LocalArgs, g: &Global) -> Result<ExitCode> {
    let profile = open_profile(g)?;
    let options = a.options();
    if a.dry_run {
        let plan = mh_runtime::plan(&profile, &options, &Bars::new(g.quiet || g.json))?;
        if g.json {
            print_json(&plan)?;
        } else {
            print!("{}", plan.render());
        }
        return Ok(ExitCode::SUCCESS);
    }
    install_ctrlc()?;
    let bars = Bars::new(g.quiet || g.json);
    let say = |m: &str| note(g, m);
    let hooks = RunHooks::new(&bars, &say, &STOP);
    let summary = mh_runtime::run_local(&profile, options, &hooks)?;
    report(&summary, g)
}

pub fn resume(a: ResumeArgs, g: &Global) -> Result<ExitCode> {
    let profile = open_profile(g)?;
    install_ctrlc()?;
    let bars = Bars::new(g.quiet || g.json);
    let say = |m: &str| note(g, m);
    let hooks = RunHooks::new(&bars, &say, &STOP);
    // A run that trains on RunPod needs a client again (its options say which API).
    let state =
        mh_runtime::RunState::load(&profile.root().join(mh_runtime::RUNS_DIR).join(&a.run_label));
    let api = match state.ok().and_then(|s| s.options.remote) {
        Some(remote) => Some(mh_runpod::api::connect_with_saved_key(remote.api, None)?),
        None => None,
    };
    let summary = mh_runtime::resume_with(&profile, &a.run_label, &hooks, api.as_deref())?;
    report(&summary, g)
}

pub(crate) fn report(s: &RunSummary, g: &Global) -> Result<ExitCode> {
    if g.json {
        print_json(s)?;
        return Ok(ExitCode::SUCCESS);
    }
    println!("run {} ({})", s.run_label, s.run_dir.display());
    if let Some(v) = s.version {
        println!(
            "version {v}{}: {}",
            s.parent_version
                .map_or(String::new(), |p| format!(" (parent {p})")),
            if s.activated {
                "active".to_string()
            } else {
                format!(
                    "candidate ({})",
                    s.steps
                        .iter()
                        .find(|st| st.name == mh_runtime::Step::Activate)
                        .and_then(|st| st.message.clone())
                        .unwrap_or_default()
                )
            }
        );
    }
    if let Some(l) = s.eval_loss {
        println!(
            "held-out loss {l:.4}{}",
            s.active_eval_loss
                .map_or(String::new(), |o| format!(" (previously active: {o:.4})"))
        );
    }
    if let Some(p) = &s.gguf_path {
        println!("gguf: {p}");
    }
    match (&s.ollama_model, &s.ollama_command) {
        (Some(m), _) => println!("ollama model: {m}"),
        (None, Some(cmd)) => println!("not registered with Ollama; to register: {cmd}"),
        _ => {}
    }
    println!(
        "summary: {}",
        s.run_dir.join(mh_runtime::state::SUMMARY_FILE).display()
    );
    Ok(ExitCode::SUCCESS)
}
