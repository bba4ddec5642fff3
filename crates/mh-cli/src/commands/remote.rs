//! `mh-train remote` (the local chain with the train step on a RunPod pod), `remote list`,
//! `remote reap`, and `mh-train plan` (VRAM estimate and the cheapest GPU that fits).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::Ordering;

use anyhow::{Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use mh_runpod::api::{ApiKind, CloudType, PodApi};
use mh_runpod::plan::{Method, TrainShape, DEFAULT_MARGIN};
use mh_runpod::{GuardOptions, Ledger};
use mh_runtime::{RemoteOptions, RunHooks};

use super::local::{report, LocalArgs};
use super::{note, open_profile, print_json, stop_on_signal, STOP};
use crate::progress::Bars;
use crate::Global;

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct RemoteArgs {
    #[command(subcommand)]
    command: Option<RemoteCommand>,
    #[command(flatten)]
    run: LocalArgs,
    #[command(flatten)]
    pod: PodArgs,
}

#[derive(Subcommand)]
enum RemoteCommand {
    /// Pods in the profile's ledger, with live status and cost so far
    List(ApiArgs),
    /// Terminate every ledger pod that may still be alive (after kill -9 or a power loss)
    Reap(ApiArgs),
}

#[derive(Clone, Copy, ValueEnum)]
enum Api {
    Graphql,
    Rest,
}

#[derive(Clone, Copy, ValueEnum)]
enum Cloud {
    Community,
    Secure,
}

#[derive(Args, Clone)]
struct ApiArgs {
    /// RunPod API: GraphQL (RUNPOD_API_URL) or REST v2 (RUNPOD_REST_URL)
    #[arg(long, value_enum, default_value = "graphql")]
    api: Api,
    /// Credentials file (mode 0600) with the API key [default: RUNPOD_API_KEY, then
    /// ~/.config/mh-train/runpod.json]
    #[arg(long, value_name = "FILE")]
    credentials: Option<PathBuf>,
}

#[derive(Args)]
struct PodArgs {
    #[command(flatten)]
    api: ApiArgs,
    /// GPU type id (e.g. "NVIDIA GeForce RTX 4090") [default: the cheapest that fits, see `plan`]
    #[arg(long)]
    gpu: Option<String>,
    /// Only this cloud [default: COMMUNITY, then SECURE]
    #[arg(long, value_enum)]
    cloud: Option<Cloud>,
    /// Rent a spot (interruptible) pod at this bid per GPU-hour (GraphQL only)
    #[arg(long, value_name = "USD")]
    spot_bid: Option<f64>,
    /// Pod image (built from docker/Dockerfile)
    #[arg(long, default_value = mh_runtime::remote::DEFAULT_IMAGE)]
    image: String,
    /// RunPod template instead of an image's defaults
    #[arg(long)]
    template_id: Option<String>,
    /// Private SSH key for the pod [default: RUNPOD_SSH_KEY_PATH, then ~/.ssh/id_ed25519]
    #[arg(long, value_name = "PATH")]
    ssh_key: Option<PathBuf>,
    /// User on the pod
    #[arg(long, default_value = "root")]
    ssh_user: String,
    /// Command that trains on the pod; {base} {dataset} {config} {out} {job} are replaced by
    /// shell-quoted paths, {resume} by --resume after a stop (see runpod/README.md)
    /// [default: mh-train train …]
    #[arg(long, value_name = "CMD")]
    trainer_command: Option<String>,
    /// Where job directories go on the pod
    #[arg(long, value_name = "DIR", default_value = "/workspace/mh-train")]
    remote_dir: String,
    /// Seconds a pod may take to expose SSH before it is terminated
    #[arg(long, value_name = "SECONDS", default_value_t = 600)]
    start_timeout: u64,
    /// Seconds between pod status polls and metric reads
    #[arg(long, value_name = "SECONDS", default_value_t = 5.0)]
    poll: f64,
}

impl PodArgs {
    fn options(&self) -> RemoteOptions {
        RemoteOptions {
            api: self.api.kind(),
            gpu: self.gpu.clone(),
            cloud: self.cloud.map(|c| match c {
                Cloud::Community => CloudType::Community,
                Cloud::Secure => CloudType::Secure,
            }),
            spot_bid: self.spot_bid,
            image: self.image.clone(),
            template_id: self.template_id.clone(),
            ssh_key: self.ssh_key.clone(),
            ssh_user: self.ssh_user.clone(),
            trainer_command: self.trainer_command.clone(),
            remote_dir: self.remote_dir.clone(),
            start_timeout_s: self.start_timeout,
            poll_s: self.poll,
            ..RemoteOptions::default()
        }
    }
}

impl ApiArgs {
    fn kind(&self) -> ApiKind {
        match self.api {
            Api::Graphql => ApiKind::Graphql,
            Api::Rest => ApiKind::Rest,
        }
    }

    fn client(&self) -> Result<Box<dyn PodApi>> {
        Ok(mh_runpod::api::connect_with_saved_key(
            self.kind(),
            self.credentials.as_deref(),
        )?)
    }
}

pub fn run(a: RemoteArgs, g: &Global) -> Result<ExitCode> {
    match a.command {
        Some(RemoteCommand::List(api)) => list(&api, g),
        Some(RemoteCommand::Reap(api)) => reap(&api, g),
        None => train(a.run, a.pod, g),
    }
}

fn train(run: LocalArgs, pod: PodArgs, g: &Global) -> Result<ExitCode> {
    let profile = open_profile(g)?;
    let mut options = run.options();
    options.remote = Some(pod.options());
    if run.dry_run {
        let plan = mh_runtime::plan(&profile, &options, &Bars::new(g.quiet || g.json))?;
        if g.json {
            print_json(&plan)?;
        } else {
            print!("{}", plan.render());
        }
        return Ok(ExitCode::SUCCESS);
    }
    let api = pod.api.client()?;
    stop_on_signal(
        "stopping: the pod is cleaned and terminated before exit (Ctrl-C again to quit at once, \
         then `mh-train remote reap`)",
    )?;
    let bars = Bars::new(g.quiet || g.json);
    let say = |m: &str| note(g, m);
    let hooks = RunHooks::new(&bars, &say, &STOP);
    match mh_runtime::run_remote(&profile, options, &hooks, api.as_ref()) {
        Ok(summary) => report(&summary, g),
        Err(e) if STOP.load(Ordering::SeqCst) => {
            note(g, &format!("mh-train: {e}"));
            Ok(ExitCode::from(130))
        }
        Err(e) => Err(e.into()),
    }
}

fn list(a: &ApiArgs, g: &Global) -> Result<ExitCode> {
    let profile = open_profile(g)?;
    let ledger = Ledger::new(profile.root());
    let entries = ledger.load()?.pods;
    if entries.is_empty() {
        if g.json {
            print_json(&serde_json::json!({"pods": []}))?;
        } else {
            println!("no pods in {}", ledger.path().display());
        }
        return Ok(ExitCode::SUCCESS);
    }
    // Live status only for pods that may still bill; a failed query is shown, not fatal.
    let api = if entries.iter().any(|e| e.state.may_be_alive()) {
        Some(a.client()?)
    } else {
        None
    };
    let now = chrono::Utc::now();
    let mut rows = Vec::new();
    for e in &entries {
        let live = match (&api, &e.pod_id, e.state.may_be_alive()) {
            (Some(api), Some(id), true) => match api.pod(id) {
                Ok(p) => format!("{:?}", p.status).to_lowercase(),
                Err(mh_runpod::ApiError::NotFound(_)) => "gone".into(),
                Err(err) => format!("unknown ({err})"),
            },
            _ => "-".into(),
        };
        rows.push(serde_json::json!({
            "name": e.name,
            "pod_id": e.pod_id,
            "run_label": e.run_label,
            "state": e.state,
            "live": live,
            "gpu_type": e.gpu_type,
            "cloud": e.cloud,
            "cost_per_hr": e.cost_per_hr,
            "hours": e.hours(now),
            "cost_usd": e.cost(now),
        }));
    }
    if g.json {
        print_json(&serde_json::json!({ "pods": rows }))?;
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<16} {:<11} {:<10} {:<28} {:>9} {:>8}  run",
        "pod", "ledger", "live", "gpu", "minutes", "cost"
    );
    for (e, r) in entries.iter().zip(&rows) {
        println!(
            "{:<16} {:<11} {:<10} {:<28} {:>9} {:>8}  {}",
            e.pod_id.as_deref().unwrap_or("-"),
            serde_json::to_value(e.state)?.as_str().unwrap_or_default(),
            r["live"].as_str().unwrap_or_default(),
            format!("{} ({:?})", e.gpu_type, e.cloud),
            e.hours(now)
                .map_or("-".into(), |h| format!("{:.1}", h * 60.0)),
            e.cost(now).map_or("-".into(), |c| format!("${c:.2}")),
            e.run_label.as_deref().unwrap_or("-"),
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn reap(a: &ApiArgs, g: &Global) -> Result<ExitCode> {
    let profile = open_profile(g)?;
    // A live run guards its own pod; reaping under it would pull the pod from under the job.
    let _lock = profile.lock("mh-train remote reap")?;
    let ledger = Ledger::new(profile.root());
    if ledger.open_entries()?.is_empty() {
        note(g, "no ledger pods may be alive");
        if g.json {
            print_json(&serde_json::json!({"reaped": []}))?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let api = a.client()?;
    let reaped = mh_runpod::reap(api.as_ref(), &ledger, &GuardOptions::default())
        .context("reaping ledger pods")?;
    let failed = reaped.iter().filter(|r| !r.ok).count();
    if g.json {
        let rows: Vec<_> = reaped
            .iter()
            .map(|r| serde_json::json!({"name": r.name, "pod_id": r.pod_id, "outcome": r.outcome, "ok": r.ok}))
            .collect();
        print_json(&serde_json::json!({ "reaped": rows }))?;
    } else {
        for r in &reaped {
            println!(
                "{} {}: {}",
                r.pod_id.as_deref().unwrap_or("-"),
                r.name,
                r.outcome
            );
        }
    }
    if failed > 0 {
        anyhow::bail!("{failed} pod(s) could not be terminated; run `mh-train remote reap` again");
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Args)]
pub struct PlanArgs {
    /// Base model: a directory in Hugging Face layout, its config.json, or a hub id (only its
    /// config.json is fetched, into the Hugging Face cache)
    #[arg(long, value_name = "DIR|FILE|HF_ID")]
    base_model: String,
    /// What is trained
    #[arg(long, value_enum, default_value = "lora")]
    method: PlanMethod,
    /// Tokens per sequence
    #[arg(long, default_value_t = 2048)]
    seq: usize,
    /// Sequences per micro-batch
    #[arg(long, default_value_t = 1)]
    batch: usize,
    /// LoRA rank (all seven projections)
    #[arg(long, default_value_t = 16)]
    rank: usize,
    /// Estimate only: do not ask RunPod for GPU types and prices
    #[arg(long)]
    offline: bool,
    /// Expected training hours, for the cost column
    #[arg(long, default_value_t = 1.0)]
    hours: f64,
    #[command(flatten)]
    api: ApiArgs,
}

#[derive(Clone, Copy, ValueEnum)]
enum PlanMethod {
    Lora,
    Full,
}

pub fn plan(a: PlanArgs, g: &Global) -> Result<ExitCode> {
    let config = if std::path::Path::new(&a.base_model).is_file() {
        PathBuf::from(&a.base_model)
    } else {
        mh_hub::resolve_config(
            &a.base_model,
            &mh_hub::HubOptions::from_env(),
            &Bars::new(g.quiet || g.json),
        )
        .with_context(|| format!("--base-model {}", a.base_model))?
    };
    let method = match a.method {
        PlanMethod::Lora => Method::lora(a.rank),
        PlanMethod::Full => Method::Full,
    };
    let estimate = mh_runpod::plan::estimate_from_file(
        &config,
        &method,
        TrainShape {
            batch: a.batch,
            seq_len: a.seq,
        },
    )
    .with_context(|| config.display().to_string())?;
    let choices = if a.offline {
        Vec::new()
    } else {
        let api = a.api.client()?;
        let types = api.gpu_types().context("listing RunPod GPU types")?;
        mh_runpod::plan::choose_gpu(
            &estimate,
            &types,
            DEFAULT_MARGIN,
            &[CloudType::Community, CloudType::Secure],
        )?
    };
    if g.json {
        let rows: Vec<_> = choices
            .iter()
            .map(|c| {
                serde_json::json!({
                    "gpu_type": c.gpu_type_id,
                    "cloud": c.cloud,
                    "memory_gb": c.memory_gb,
                    "price_per_hr": c.price_per_hr,
                    "cost_estimate": c.cost_estimate(a.hours),
                })
            })
            .collect();
        print_json(&serde_json::json!({
            "estimate": {
                "parameters": estimate.parameters,
                "trainable_parameters": estimate.trainable_parameters,
                "weights_gb": estimate.weights_gb,
                "adapter_gb": estimate.adapter_gb,
                "gradients_gb": estimate.gradients_gb,
                "optimizer_gb": estimate.optimizer_gb,
                "activations_gb": estimate.activations_gb,
                "overhead_gb": estimate.overhead_gb,
                "total_gb": estimate.total_gb,
            },
            "margin": DEFAULT_MARGIN,
            "gpus": rows,
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    print!("{estimate}");
    if !a.offline {
        println!();
        for (i, c) in choices.iter().enumerate().take(8) {
            println!(
                "{} {c}  ~${:.2} for {} h",
                if i == 0 { "*" } else { " " },
                c.cost_estimate(a.hours),
                a.hours
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
