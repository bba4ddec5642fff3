//! The train step on a RunPod pod: plan → pod (ledger first) → SSH → upload → the trainer,
//! detached → follow its metrics → download → clean the pod → terminate (always, verified).
//! Every other step of the chain stays local.
//!
//! Job contract on the pod, under `<remote_dir>/<RUN_LABEL>/`: `dataset/` (the tokenized dataset
//! directory), `train-config.json`, `base/` (a local base model; a hub model is fetched on the
//! pod), and the trainer writes `train/` (`adapter/`, `metrics.jsonl`, `train-report.json`).
//! `job.log` and `exit-status` are written by the job wrapper.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use mh_profile::audit::{Category, Level};
use mh_profile::AuditEvent;
use mh_runpod::api::{ApiKind, CloudType, CreatePod, PodApi};
use mh_runpod::plan::{Method, TrainShape, DEFAULT_MARGIN};
use mh_runpod::ssh::{sh_quote, ConnectOptions, RemoteJob, SshError, SshSession, SshTarget};
use mh_runpod::{GuardOptions, Ledger, Offer, PodGuard};
use mh_trainer::{TokenDataset, TrainConfig, TrainReport};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::{path_value, Ctx, Outcome, TRAIN_CONFIG};
use crate::error::{fail, StepResult};
use crate::state::RunState;

/// The image built from `docker/` (CUDA, `mh-train --features cuda`, sshd from `PUBLIC_KEY`).
pub const DEFAULT_IMAGE: &str = "ghcr.io/mh-train/mh-train:cuda";
/// What runs on the pod unless `--trainer-command` says otherwise.
pub const DEFAULT_TRAINER_COMMAND: &str =
    "mh-train train --base-model {base} --dataset {dataset} --config {config} --out {out} --device auto {resume}";
/// The pod file recording what this run rented (read by the summary even when the step failed).
const POD_FILE: &str = "pod.json";

/// How `mh-train remote` rents and uses a pod; stored in `state.json` (no secrets: the API key
/// is never part of the options).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RemoteOptions {
    pub api: ApiKind,
    /// GPU type id; `None`: the cheapest that fits (`mh-train plan`).
    pub gpu: Option<String>,
    /// Only this cloud; `None`: COMMUNITY, then SECURE.
    pub cloud: Option<CloudType>,
    /// Spot bid per GPU-hour (GraphQL only); `None`: on demand.
    pub spot_bid: Option<f64>,
    pub image: String,
    pub template_id: Option<String>,
    /// Private key for the pod; `None`: `RUNPOD_SSH_KEY_PATH`, then `~/.ssh/id_ed25519`.
    pub ssh_key: Option<PathBuf>,
    pub ssh_user: String,
    /// With `{base}`, `{dataset}`, `{config}`, `{out}`, `{job}` placeholders (shell-quoted paths)
    /// and `{resume}` (`--resume` when a checkpoint from a stopped attempt was uploaded).
    pub trainer_command: Option<String>,
    /// Parent of the job directory on the pod.
    pub remote_dir: String,
    pub container_disk_gb: u32,
    /// How long a pod may take to expose 22/tcp before it is terminated.
    pub start_timeout_s: u64,
    /// How long sshd may take to answer (first contact and each reconnect).
    pub ssh_timeout_s: u64,
    /// Between status polls and between reads of the job's files.
    pub poll_s: f64,
}

impl Default for RemoteOptions {
    fn default() -> Self {
        RemoteOptions {
            api: ApiKind::Graphql,
            gpu: None,
            cloud: None,
            spot_bid: None,
            image: DEFAULT_IMAGE.into(),
            template_id: None,
            ssh_key: None,
            ssh_user: "root".into(),
            trainer_command: None,
            remote_dir: "/workspace/mh-train".into(),
            container_disk_gb: 40,
            start_timeout_s: 600,
            ssh_timeout_s: 300,
            poll_s: 5.0,
        }
    }
}

impl RemoteOptions {
    /// The private key path: the option, `RUNPOD_SSH_KEY_PATH`, then `~/.ssh/id_ed25519`.
    pub fn key_path(&self) -> Result<PathBuf, String> {
        let path = self
            .ssh_key
            .clone()
            .or_else(|| std::env::var_os("RUNPOD_SSH_KEY_PATH").map(PathBuf::from))
            .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".ssh/id_ed25519")))
            .ok_or("no SSH key: pass --ssh-key or set RUNPOD_SSH_KEY_PATH")?;
        let path = match path.strip_prefix("~") {
            Ok(rest) => std::env::var_os("HOME")
                .map(|h| Path::new(&h).join(rest))
                .unwrap_or(path),
            Err(_) => path,
        };
        if !path.is_file() {
            return Err(format!(
                "SSH key {} does not exist (pass --ssh-key or set RUNPOD_SSH_KEY_PATH)",
                path.display()
            ));
        }
        Ok(path)
    }
}

/// What the run rented, kept in `train/remote/pod.json` as it happens.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PodRecord {
    pub pod_id: Option<String>,
    pub gpu_type: Option<String>,
    pub cloud: Option<CloudType>,
    pub cost_per_hr: Option<f64>,
    pub ssh_user: Option<String>,
    pub ssh_host: Option<String>,
    pub ssh_port: Option<u16>,
    pub ssh_key_path: Option<PathBuf>,
    pub upload_verification: Option<String>,
    pub minutes: Option<f64>,
    pub cost_usd: Option<f64>,
    pub terminated: bool,
}

impl PodRecord {
    pub fn load(run_dir: &Path) -> Option<PodRecord> {
        let bytes = std::fs::read(remote_dir(run_dir).join(POD_FILE)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    fn save(&self, run_dir: &Path) -> StepResult<()> {
        let path = remote_dir(run_dir).join(POD_FILE);
        mh_profile::atomic_write_json(&path, self)
            .map_err(|e| fail(format!("writing {}: {e}", path.display())))
    }
}

fn remote_dir(run_dir: &Path) -> PathBuf {
    run_dir.join("train").join("remote")
}

/// GPU types and clouds to try, cheapest fitting first.
fn offers(
    api: &dyn PodApi,
    ro: &RemoteOptions,
    st: &RunState,
    config: &TrainConfig,
    c: &Ctx<'_>,
) -> StepResult<Vec<Offer>> {
    let clouds = match ro.cloud {
        Some(cloud) => vec![cloud],
        None => vec![CloudType::Community, CloudType::Secure],
    };
    if let Some(gpu) = &ro.gpu {
        // Prices are informative here; a failed price lookup does not stop a run with --gpu.
        let types = api.gpu_types().unwrap_or_default();
        let gpu_type = types.iter().find(|t| &t.id == gpu);
        return Ok(clouds
            .iter()
            .map(|&cloud| Offer {
                gpu_type_id: gpu.clone(),
                cloud,
                price_per_hr: ro.spot_bid.or_else(|| {
                    gpu_type.and_then(|t| match cloud {
                        CloudType::Community => t.community_price,
                        CloudType::Secure => t.secure_price,
                    })
                }),
            })
            .collect());
    }
    let estimate = mh_runpod::plan::estimate_from_file(
        &st.base.dir.join("config.json"),
        &Method::Lora {
            rank: config.rank,
            targets: config.targets()?,
        },
        TrainShape {
            batch: config.micro_batch_size,
            seq_len: config.max_seq_length,
        },
    )?;
    let types = api.gpu_types()?;
    let choices = mh_runpod::plan::choose_gpu(&estimate, &types, DEFAULT_MARGIN, &clouds)?;
    if let Some(best) = choices.first() {
        c.say(&format!(
            "[train] needs ~{:.1} GiB of GPU memory; cheapest fit: {best}",
            estimate.total_gb
        ));
    }
    let choices = choices
        .into_iter()
        .map(|ch| Offer {
            gpu_type_id: ch.gpu_type_id,
            cloud: ch.cloud,
            price_per_hr: ro.spot_bid.or(Some(ch.price_per_hr)),
        })
        .collect();
    Ok(choices)
}

/// The train step on a pod.
pub(super) fn step_train_remote(
    c: &Ctx<'_>,
    st: &RunState,
    ro: &RemoteOptions,
    ds_dir: &Path,
    dataset: &TokenDataset,
    config: &TrainConfig,
) -> StepResult<Outcome> {
    let api = c.pods.ok_or_else(|| {
        fail("this run trains on RunPod: give it an API key (RUNPOD_API_KEY or a credentials file)")
    })?;
    let key_path = ro.key_path().map_err(fail)?;
    let local_remote = remote_dir(&c.run_dir);
    std::fs::create_dir_all(&local_remote)
        .map_err(|e| fail(format!("creating {}: {e}", local_remote.display())))?;

    let offers = offers(api, ro, st, config, c)?;
    // RunPod's images add PUBLIC_KEY / SSH_PUBLIC_KEY to authorized_keys (the account's keys
    // are injected as well).
    let mut env = Vec::new();
    if let Ok(public) = std::fs::read_to_string(key_path.with_extension("pub")) {
        env.push(("SSH_PUBLIC_KEY".to_string(), public.trim().to_string()));
    }
    let request = CreatePod {
        name: format!("mh-train-{}", st.run_label),
        image_name: ro.image.clone(),
        gpu_type_id: String::new(),
        cloud_type: CloudType::Community,
        gpu_count: 1,
        container_disk_gb: ro.container_disk_gb,
        volume_gb: 0,
        min_vcpu: 4,
        min_memory_gb: 16,
        ports: "22/tcp".into(),
        env,
        template_id: ro.template_id.clone(),
        bid_per_gpu: ro.spot_bid,
    };
    let ledger = Ledger::new(c.profile.root());
    // This run holds the profile lock, so a pod still open in the ledger belongs to a process
    // that died (kill -9, power loss): it bills for nothing.
    if !ledger.open_entries()?.is_empty() {
        match mh_runpod::reap(api, &ledger, &GuardOptions::default()) {
            Ok(reaped) => {
                for r in reaped {
                    c.say(&format!(
                        "[train] left over from an earlier run: {} {}: {}",
                        r.pod_id.as_deref().unwrap_or("-"),
                        r.name,
                        r.outcome
                    ));
                }
            }
            Err(e) => c.say(&format!(
                "[train] could not reap earlier pods ({e}); `mh-train remote reap` later"
            )),
        }
    }
    let mut guard = PodGuard::launch(
        api,
        &ledger,
        &request,
        &offers,
        Some(&st.run_label),
        GuardOptions::default(),
        &|offer, err| match err {
            None => c.say(&format!(
                "[train] asking for a {} pod ({:?})",
                offer.gpu_type_id, offer.cloud
            )),
            Some(e) => c.say(&format!("[train] {}: {e}", offer.gpu_type_id)),
        },
    )?;
    let mut record = PodRecord {
        pod_id: Some(guard.id().to_string()),
        gpu_type: Some(guard.entry().gpu_type.clone()),
        cloud: Some(guard.entry().cloud),
        cost_per_hr: guard.entry().cost_per_hr,
        ssh_user: Some(ro.ssh_user.clone()),
        ssh_key_path: Some(key_path.clone()),
        ..PodRecord::default()
    };
    record.save(&c.run_dir)?;
    c.audit(
        AuditEvent::new(Category::Action, "runpod_pod_created")
            .detail("runLabel", st.run_label.clone())
            .detail("podId", guard.id().to_string())
            .detail("gpuType", guard.entry().gpu_type.clone())
            .detail("cloud", format!("{:?}", guard.entry().cloud).to_uppercase()),
    );
    c.say(&format!("[train] pod {} created", guard.id()));

    let result = train_on_pod(
        c,
        st,
        ro,
        &mut guard,
        &mut record,
        &key_path,
        ds_dir,
        dataset,
        config,
    );
    let terminated = guard.terminate();
    let now = chrono::Utc::now();
    record.terminated = terminated.is_ok();
    record.minutes = guard.entry().hours(now).map(|h| h * 60.0);
    record.cost_usd = guard.entry().cost(now);
    record.save(&c.run_dir)?;
    match &terminated {
        Ok(()) => c.audit(
            AuditEvent::new(Category::Action, "runpod_pod_terminated")
                .detail("runLabel", st.run_label.clone())
                .detail("podId", guard.id().to_string())
                .detail("minutes", record.minutes)
                .detail("costUsd", record.cost_usd),
        ),
        Err(e) => c.audit(
            AuditEvent::new(Category::Action, "runpod_pod_terminate_failed")
                .level(Level::Error)
                .detail("runLabel", st.run_label.clone())
                .detail("podId", guard.id().to_string())
                .detail("error", e.to_string()),
        ),
    }
    c.say(&format!(
        "[train] pod {} {}{}",
        guard.id(),
        if record.terminated {
            "terminated"
        } else {
            "NOT terminated"
        },
        record
            .cost_usd
            .map(|c| format!(" (${c:.2}, {:.1} min)", record.minutes.unwrap_or(0.0)))
            .unwrap_or_default()
    ));
    let mut outputs = result?;
    terminated?;
    outputs.insert("pod_id".into(), json!(record.pod_id));
    outputs.insert("gpu_type".into(), json!(record.gpu_type));
    outputs.insert("cloud".into(), json!(record.cloud));
    outputs.insert("pod_minutes".into(), json!(record.minutes));
    outputs.insert("pod_cost_usd".into(), json!(record.cost_usd));
    Ok(Outcome::done(outputs))
}

/// SSH connection factory for one pod (first contact records the host key).
struct Link<'a> {
    target: SshTarget,
    opts: ConnectOptions,
    stop: &'a std::sync::atomic::AtomicBool,
}

impl Link<'_> {
    fn connect(&self) -> Result<SshSession, SshError> {
        SshSession::connect(&self.target, &self.opts, self.stop)
    }

    /// Run `op`, reconnecting and repeating it (it must be resumable) when the link drops.
    fn retry<T>(
        &self,
        session: &mut SshSession,
        c: &Ctx<'_>,
        what: &str,
        mut op: impl FnMut(&SshSession) -> Result<T, SshError>,
    ) -> Result<T, SshError> {
        const ATTEMPTS: u32 = 5;
        let mut attempt = 1;
        loop {
            match op(session) {
                Ok(v) => return Ok(v),
                Err(e) if e.is_retryable() && attempt < ATTEMPTS => {
                    c.say(&format!("[train] {what}: {e}; reconnecting"));
                    *session = self.connect()?;
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn train_on_pod(
    c: &Ctx<'_>,
    st: &RunState,
    ro: &RemoteOptions,
    guard: &mut PodGuard<'_>,
    record: &mut PodRecord,
    key_path: &Path,
    ds_dir: &Path,
    dataset: &TokenDataset,
    config: &TrainConfig,
) -> StepResult<Map<String, Value>> {
    let stop = c.hooks.stop;
    let poll = Duration::from_secs_f64(ro.poll_s.max(0.05));
    let pod = guard.wait_for_ssh(Duration::from_secs(ro.start_timeout_s), poll, stop, &|_| {})?;
    let (host, port) = pod
        .ssh_endpoint()
        .ok_or_else(|| fail(format!("pod {} exposes no public 22/tcp", pod.id)))?;
    record.ssh_host = Some(host.clone());
    record.ssh_port = Some(port);
    record.save(&c.run_dir)?;
    c.say(&format!("[train] pod {} answers on {host}:{port}", pod.id));
    let link = Link {
        target: SshTarget {
            host,
            port,
            user: ro.ssh_user.clone(),
            key_path: key_path.to_path_buf(),
        },
        opts: ConnectOptions {
            deadline: Duration::from_secs(ro.ssh_timeout_s),
            retry_every: poll.min(Duration::from_secs(2)),
            known_hosts: remote_dir(&c.run_dir).join(format!("known_hosts-{}", pod.id)),
            io_timeout: Duration::from_secs(120),
        },
        stop,
    };
    let mut session = link.connect()?;
    let job_dir = format!("{}/{}", ro.remote_dir.trim_end_matches('/'), st.run_label);
    let job = RemoteJob {
        job_dir: job_dir.clone(),
    };
    let result = run_job(
        c,
        st,
        ro,
        &link,
        &mut session,
        &job,
        ds_dir,
        dataset,
        config,
        record,
    );
    // Whatever happened, nothing of the person's data stays on the pod; after a stop request
    // this still reconnects if it must (a second Ctrl-C quits at once).
    let unstoppable = AtomicBool::new(false);
    let cleanup_link = Link {
        target: link.target.clone(),
        opts: ConnectOptions {
            deadline: link.opts.deadline.min(Duration::from_secs(60)),
            ..link.opts.clone()
        },
        stop: &unstoppable,
    };
    let cleanup = cleanup_link.retry(&mut session, c, "cleaning the pod", |s| {
        if result.is_err() {
            // Our trainer checkpoints on SIGTERM; a stop request keeps that checkpoint.
            job.kill(s)?;
            if c.hooks.stop.load(Ordering::SeqCst) {
                keep_checkpoints(c, s, &job)?;
            }
        }
        s.remove_dir_all(&job_dir)
    });
    if let Err(e) = &cleanup {
        c.say(&format!(
            "[train] could not remove {job_dir} from the pod: {e} (the pod is terminated anyway)"
        ));
    }
    result
}

/// Where a stopped attempt's checkpoints are kept locally, for the next attempt's `--resume`.
fn kept_checkpoints(run_dir: &Path) -> PathBuf {
    run_dir.join("train").join("checkpoints")
}

/// Download the job's checkpoints and metrics (if it wrote any) so `resume` continues from them
/// on a new pod. Runs after a stop request, so it cannot itself be stopped (a second Ctrl-C
/// still quits at once).
fn keep_checkpoints(c: &Ctx<'_>, s: &SshSession, job: &RemoteJob) -> Result<(), SshError> {
    let remote = |name: &str| format!("{}/train/{name}", job.job_dir);
    let there = s.exec(&format!("test -d {}", sh_quote(&remote("checkpoints"))))?;
    if there.status != 0 {
        return Ok(());
    }
    let unstoppable = AtomicBool::new(false);
    let local = kept_checkpoints(&c.run_dir);
    s.download_dir(
        &remote("checkpoints"),
        &local,
        c.hooks.progress,
        &unstoppable,
    )?;
    s.download_file(
        &remote("metrics.jsonl"),
        &c.run_dir.join("train").join("metrics.jsonl"),
        c.hooks.progress,
        &unstoppable,
    )?;
    c.say(&format!(
        "[train] checkpoint kept in {}: resuming the run continues from it on a new pod",
        local.display()
    ));
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn run_job(
    c: &Ctx<'_>,
    st: &RunState,
    ro: &RemoteOptions,
    link: &Link<'_>,
    session: &mut SshSession,
    job: &RemoteJob,
    ds_dir: &Path,
    dataset: &TokenDataset,
    config: &TrainConfig,
    record: &mut PodRecord,
) -> StepResult<Map<String, Value>> {
    let progress = c.hooks.progress;
    let job_dir = &job.job_dir;
    let remote = |name: &str| format!("{job_dir}/{name}");
    // Upload: dataset, settings, and a local base model (a hub model is fetched on the pod).
    c.say("[train] uploading the run directory");
    link.retry(session, c, "upload", |s| {
        s.upload_dir(ds_dir, &remote("dataset"), progress, c.hooks.stop)
    })?;
    let config_path = c.run_dir.join(TRAIN_CONFIG);
    link.retry(session, c, "upload", |s| {
        s.upload_file(
            &config_path,
            &remote("train-config.json"),
            progress,
            c.hooks.stop,
        )
    })?;
    let base = match &st.base.repo {
        Some(repo) => match &st.base.commit {
            Some(commit) => format!("{repo}@{commit}"),
            None => repo.clone(),
        },
        None => {
            link.retry(session, c, "upload", |s| {
                s.upload_dir(&st.base.dir, &remote("base"), progress, c.hooks.stop)
            })?;
            remote("base")
        }
    };
    let verification = link.retry(session, c, "verify", |s| {
        s.exec_ok(&format!(
            "sha256sum {}",
            sh_quote(&remote("train-config.json"))
        ))
    })?;
    record.upload_verification = Some(verification.trim().to_string());
    record.save(&c.run_dir)?;

    let resume = std::fs::read_dir(kept_checkpoints(&c.run_dir))
        .map(|mut d| d.next().is_some())
        .unwrap_or(false)
        && c.run_dir.join("train").join("metrics.jsonl").is_file();
    let template = ro
        .trainer_command
        .as_deref()
        .unwrap_or(DEFAULT_TRAINER_COMMAND);
    let command = template
        .replace("{base}", &sh_quote(&base))
        .replace("{dataset}", &sh_quote(&remote("dataset")))
        .replace("{config}", &sh_quote(&remote("train-config.json")))
        .replace("{out}", &sh_quote(&remote("train")))
        .replace("{job}", &sh_quote(job_dir))
        .replace("{resume}", if resume { "--resume" } else { "" });
    // A pod (or job directory) reused from an earlier attempt must not count as this job.
    link.retry(session, c, "start", |s| {
        job.forget(s)?;
        s.exec_ok(&format!("rm -rf -- {}", sh_quote(&remote("train"))))
    })?;
    if resume {
        c.say("[train] uploading the checkpoint of the stopped attempt");
        let local_train = c.run_dir.join("train");
        link.retry(session, c, "upload", |s| {
            s.upload_dir(
                &kept_checkpoints(&c.run_dir),
                &remote("train/checkpoints"),
                progress,
                c.hooks.stop,
            )?;
            s.upload_file(
                &local_train.join("metrics.jsonl"),
                &remote("train/metrics.jsonl"),
                progress,
                c.hooks.stop,
            )
        })?;
    }
    link.retry(session, c, "start", |s| job.start(s, &command, &[]))?;
    c.say("[train] trainer started on the pod (detached)");

    let total = mh_trainer::data::Plan::new(
        dataset.train.len(),
        config.micro_batch_size,
        config.gradient_accumulation_steps,
        config.epochs,
        config.max_steps,
        config.seed,
    )
    .total_steps;
    progress.start("train (pod)", Some(total as u64));
    let mut done_steps = 0usize;
    let mut on_line = |file: usize, line: &str| {
        if file != 0 {
            return;
        }
        let Ok(row) = serde_json::from_str::<Value>(line) else {
            return;
        };
        if let (Some(step), Some(loss)) = (
            row.get("step").and_then(Value::as_u64),
            row.get("loss").and_then(Value::as_f64),
        ) {
            let step = step as usize;
            if step > done_steps {
                progress.advance((step - done_steps) as u64);
                done_steps = step;
            }
            progress.message(&format!("loss {loss:.4}"));
        }
    };
    let followed = [remote("train/metrics.jsonl"), remote("job.log")];
    let fresh = link.connect()?;
    let exit = job.follow(
        fresh,
        &mut || link.connect(),
        &followed,
        &mut on_line,
        Duration::from_secs_f64(ro.poll_s.max(0.05)),
        c.hooks.stop,
    );
    progress.finish();
    let exit = exit?;
    *session = exit.session;

    let local_train = c.run_dir.join("train");
    let fetch = |session: &mut SshSession, name: &str, to: &Path| {
        link.retry(session, c, "download", |s| {
            s.download_file(&remote(name), to, progress, c.hooks.stop)
        })
    };
    if exit.status != 0 {
        let log = remote_dir(&c.run_dir).join("job.log");
        let fetched = fetch(session, "job.log", &log);
        let _ = fetch(
            session,
            "train/metrics.jsonl",
            &remote_dir(&c.run_dir).join("metrics.jsonl"),
        );
        let tail = std::fs::read_to_string(&log)
            .map(|t| {
                let lines: Vec<&str> = t.lines().collect();
                lines[lines.len().saturating_sub(15)..].join("\n")
            })
            .unwrap_or_else(|_| {
                format!(
                    "(log not downloaded: {})",
                    fetched.err().map(|e| e.to_string()).unwrap_or_default()
                )
            });
        return Err(fail(format!(
            "the trainer on the pod exited with status {}; its log is in {}:\n{tail}",
            exit.status,
            log.display()
        )));
    }
    c.say("[train] downloading the adapter");
    let adapter = local_train.join("adapter");
    link.retry(session, c, "download", |s| {
        s.download_dir(&remote("train/adapter"), &adapter, progress, c.hooks.stop)
    })?;
    fetch(session, "job.log", &remote_dir(&c.run_dir).join("job.log"))?;
    // Our trainer writes both; another trainer command may write neither.
    for name in ["metrics.jsonl", mh_trainer::run::REPORT] {
        let there = link.retry(session, c, "download", |s| {
            s.exec(&format!(
                "test -f {}",
                sh_quote(&remote(&format!("train/{name}")))
            ))
        })?;
        if there.status == 0 {
            fetch(session, &format!("train/{name}"), &local_train.join(name))?;
        }
    }
    let mut o = Map::new();
    o.insert("adapter_dir".into(), path_value(&adapter));
    // A stopped attempt's checkpoint has served its purpose.
    let kept = kept_checkpoints(&c.run_dir);
    if kept.exists() {
        std::fs::remove_dir_all(&kept)
            .map_err(|e| fail(format!("removing {}: {e}", kept.display())))?;
    }
    let report_path = local_train.join(mh_trainer::run::REPORT);
    if report_path.exists() {
        let report: TrainReport = std::fs::read(&report_path)
            .map_err(|e| fail(format!("reading {}: {e}", report_path.display())))
            .and_then(|b| {
                serde_json::from_slice(&b)
                    .map_err(|e| fail(format!("{}: {e}", report_path.display())))
            })?;
        o.insert("steps".into(), json!(report.steps_completed));
        o.insert("final_loss".into(), json!(report.final_loss));
        o.insert(
            "final_eval_loss".into(),
            json!(report.final_eval.map(|e| e.loss)),
        );
        o.insert("best_eval_loss".into(), json!(report.best_eval_loss));
        o.insert("device".into(), json!(report.device));
        o.insert("elapsed_s".into(), json!(report.elapsed_s));
    } else {
        c.say("[train] the trainer wrote no train-report.json: no training metrics recorded");
        o.insert("steps".into(), json!(done_steps));
    }
    Ok(o)
}
