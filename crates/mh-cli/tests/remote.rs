//! `mh-train remote` end to end against real peers on loopback: the RunPod peer (GraphQL and
//! REST v2) from mh-testkit, a real `sshd` as the pod, and our own `mh-train train` as the pod's
//! trainer. Every test ends with zero live pods in the peer.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{local_setup, mh_train, mh_train_env, s, stderr};
use mh_testkit::runpod::{CloudType, FakeRunPod, FakeRunPodOptions};
use mh_testkit::sshd::Sshd;
use mh_testkit::FakeOllama;

const BIN: &str = env!("CARGO_BIN_EXE_mh-train");

struct Rig {
    profile: tempfile::TempDir,
    work: tempfile::TempDir,
    model: PathBuf,
    sshd: Sshd,
    runpod: FakeRunPod,
    ollama: FakeOllama,
}

fn rig(opts: FakeRunPodOptions) -> Rig {
    let (profile, work, model) = local_setup();
    std::fs::create_dir_all(work.path().join("pod")).unwrap();
    let sshd = Sshd::start().expect("start sshd (Debian openssh-server)");
    let runpod = FakeRunPod::start_with(FakeRunPodOptions {
        ssh_endpoint: Some(("127.0.0.1".into(), sshd.port())),
        ..opts
    })
    .unwrap();
    Rig {
        profile,
        work,
        model,
        sshd,
        runpod,
        ollama: FakeOllama::start().unwrap(),
    }
}

impl Rig {
    /// Where the "pod" keeps job directories (the sshd runs on this machine).
    fn pod_dir(&self) -> PathBuf {
        self.work.path().join("pod")
    }

    fn args(&self, trainer_prefix: &str, extra: &[&str]) -> Vec<String> {
        let login = self.sshd.target();
        let trainer = format!(
            "{trainer_prefix}{BIN} -q train --base-model {{base}} --dataset {{dataset}} \
             --config {{config}} --out {{out}} --device cpu {{resume}}"
        );
        let mut a: Vec<String> = [
            "--profile",
            s(self.profile.path()),
            "remote",
            "--base-model",
            s(&self.model),
            "--config",
            s(&self.work.path().join("short.json")),
            "--device",
            "cpu",
            "--max-seq-length",
            "256",
            "--ssh-key",
            s(&login.key_path),
            "--ssh-user",
            &login.user,
            "--remote-dir",
            s(&self.pod_dir()),
            "--trainer-command",
            &trainer,
            "--poll",
            "0.2",
        ]
        .iter()
        .map(|x| x.to_string())
        .collect();
        a.extend(extra.iter().map(|x| x.to_string()));
        a
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("RUNPOD_API_KEY", self.runpod.api_key()),
            ("RUNPOD_API_URL", self.runpod.graphql_url()),
            ("RUNPOD_REST_URL", self.runpod.rest_url()),
            ("OLLAMA_HOST", self.ollama.url()),
            (
                "XDG_CONFIG_HOME",
                s(&self.work.path().join("xdg")).to_string(),
            ),
        ]
    }

    fn run(&self, args: &[String]) -> Output {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        let env = self.env();
        let e: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        mh_train_env(&a, &e)
    }

    fn spawn(&self, args: &[String]) -> Child {
        Command::new(BIN)
            .args(args)
            .env_remove("METAHUMAN_ROOT")
            .envs(self.env())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// The job directory on the pod, once the run has created it.
    fn job_file(&self, name: &str) -> Option<PathBuf> {
        std::fs::read_dir(self.pod_dir())
            .ok()?
            .flatten()
            .map(|e| e.path().join(name))
            .find(|p| p.exists())
    }

    fn wait_for_job_file(&self, name: &str, child: &mut Child) -> PathBuf {
        let start = Instant::now();
        loop {
            if let Some(p) = self.job_file(name) {
                return p;
            }
            if let Ok(Some(status)) = child.try_wait() {
                let out = child.stderr.take().map(read_all).unwrap_or_default();
                panic!("mh-train remote ended ({status}) before {name} appeared: {out}");
            }
            assert!(
                start.elapsed() < Duration::from_secs(120),
                "no {name} on the pod"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// A copy of the tiny model with a 96 MiB file beside it, which keeps an upload busy long
    /// enough to interrupt; returns the directory and that file's size.
    fn padded_model(&self) -> (PathBuf, u64) {
        let padded = self.work.path().join("padded-model");
        mh_testkit::copy_dir(&self.model, &padded).unwrap();
        let big: Vec<u8> = (0..96u32 << 20)
            .map(|i| (i.wrapping_mul(2654435761) >> 24) as u8)
            .collect();
        std::fs::write(padded.join("notes.dat"), &big).unwrap();
        (padded, big.len() as u64)
    }

    /// Wait until the padded file is partly on the pod.
    fn wait_for_partial_upload(&self, size: u64, child: &mut Child) {
        let start = Instant::now();
        loop {
            if let Some(p) = self.job_file("base/notes.dat") {
                let len = std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
                if len > 0 && len < size {
                    return;
                }
            }
            assert!(
                child.try_wait().unwrap().is_none(),
                "run ended before the upload could be interrupted"
            );
            assert!(start.elapsed() < Duration::from_secs(120));
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// `mh-train resume` of the run, which must succeed on a second pod and say `expect`.
    fn resume_on_a_second_pod(&self, expect: &str) {
        let label = self
            .run_dir()
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        let args = ["--profile", s(self.profile.path()), "resume", &label];
        let out = self.run(&args.map(str::to_string));
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(stderr(&out).contains(expect), "{}", stderr(&out));
        self.assert_no_live_pods();
        assert_eq!(self.runpod.pods().len(), 2);
    }

    fn assert_no_live_pods(&self) {
        let live = self.runpod.live_pods();
        assert!(live.is_empty(), "live pods left: {live:?}");
        let ledger = read_json(&self.profile.path().join("out/pods.json"));
        for p in ledger["pods"].as_array().unwrap() {
            let state = p["state"].as_str().unwrap();
            assert!(
                state == "terminated" || state == "not_created",
                "ledger entry not closed: {p}"
            );
        }
    }

    fn run_dir(&self) -> PathBuf {
        let runs = self.profile.path().join("out/runs");
        std::fs::read_dir(&runs)
            .unwrap()
            .flatten()
            .next()
            .unwrap()
            .path()
    }

    /// No file the run wrote (profile, pod side, Ollama uploads) contains the API key.
    fn assert_key_nowhere(&self, outputs: &[&Output]) {
        let key = self.runpod.api_key();
        for root in [self.profile.path(), &self.pod_dir()] {
            for f in walk(root) {
                let bytes = std::fs::read(&f).unwrap_or_default();
                assert!(
                    !bytes.windows(key.len()).any(|w| w == key.as_bytes()),
                    "API key found in {}",
                    f.display()
                );
            }
        }
        for o in outputs {
            assert!(!String::from_utf8_lossy(&o.stdout).contains(&key));
            assert!(!String::from_utf8_lossy(&o.stderr).contains(&key));
        }
    }
}

/// Kill a job that outlived its orchestrator (the "pod" is this machine, so terminating the
/// fake pod does not stop it).
fn kill_job(pid_file: &Path) {
    if let Ok(pid) = std::fs::read_to_string(pid_file) {
        let _ = Command::new("kill").args(["-9", pid.trim()]).status();
    }
}

/// A process that exists and is not a zombie (an orphan's zombie may linger when PID 1 does
/// not reap).
fn alive(pid: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|stat| {
            stat.rsplit_once(')')
                .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z'))
        })
        .unwrap_or(false)
}

fn read_all(mut r: impl std::io::Read) -> String {
    let mut s = String::new();
    let _ = r.read_to_string(&mut s);
    s
}

fn read_json(p: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() && !p.is_symlink() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
}

#[test]
fn remote_trains_on_the_pod_and_registers_a_version() {
    // COMMUNITY has no capacity, the pod starts slowly, and the first terminate fails.
    let r = rig(FakeRunPodOptions {
        no_capacity: vec![("*".into(), CloudType::Community)],
        runtime_null_polls: 3,
        terminate_fail_times: 1,
        ..FakeRunPodOptions::default()
    });
    let out = r.run(&r.args("", &[]));
    assert!(out.status.success(), "{}", stderr(&out));
    r.assert_no_live_pods();

    // One pod, on SECURE after COMMUNITY refused; our key passed for sshd.
    let pods = r.runpod.pods();
    assert_eq!(pods.len(), 1, "{pods:?}");
    assert_eq!(pods[0].cloud_type, CloudType::Secure);
    assert!(pods[0].ports.iter().any(|p| p == "22/tcp"));
    assert!(pods[0].env.iter().any(|(k, _)| k == "SSH_PUBLIC_KEY"));
    let ledger = read_json(&r.profile.path().join("out/pods.json"));
    let states: Vec<&str> = ledger["pods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["state"].as_str().unwrap())
        .collect();
    assert!(
        states.contains(&"not_created") && states.contains(&"terminated"),
        "{states:?}"
    );

    // A lineage version like a local run's, recording the pod.
    let run_dir = r.run_dir();
    let summary = read_json(&run_dir.join("run-summary.json"));
    assert_eq!(summary["training_success"], true, "{summary}");
    assert_eq!(summary["terminated"], true, "{summary}");
    assert_eq!(summary["pod_id"].as_str(), Some(pods[0].id.as_str()));
    assert_eq!(summary["ssh_host"], "127.0.0.1");
    assert!(summary["upload_verification"]
        .as_str()
        .is_some_and(|v| v.contains("train-config.json")));
    let registry = read_json(&r.profile.path().join("etc/model-registry.json"));
    let v = &registry["training_history"][0];
    assert_eq!(v["where"]["kind"], "remote", "{v}");
    assert_eq!(v["where"]["pod_id"].as_str(), Some(pods[0].id.as_str()));
    assert!(v["where"]["cost_usd"].as_f64().is_some(), "{v}");
    assert!(run_dir
        .join("train/adapter/adapter_model.safetensors")
        .exists());
    let metrics = std::fs::read_to_string(run_dir.join("train/metrics.jsonl")).unwrap();
    assert_eq!(
        metrics.lines().filter(|l| l.contains("\"loss\"")).count(),
        4
    );

    // The same trainer on this machine gives the same adapter, bit for bit.
    let local = r.work.path().join("local-train");
    let dataset = read_json(&run_dir.join("state.json"))["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "dataset")
        .unwrap()["outputs"]["dir"]
        .as_str()
        .unwrap()
        .to_string();
    let out2 = mh_train(&[
        "-q",
        "train",
        "--base-model",
        s(&r.model),
        "--dataset",
        &dataset,
        "--config",
        s(&run_dir.join("train-config.json")),
        "--out",
        s(&local),
        "--device",
        "cpu",
    ]);
    assert!(out2.status.success(), "{}", stderr(&out2));
    assert_eq!(
        std::fs::read(local.join("adapter/adapter_model.safetensors")).unwrap(),
        std::fs::read(run_dir.join("train/adapter/adapter_model.safetensors")).unwrap()
    );

    // Nothing of the person's data stays on the pod; the key is nowhere.
    assert_eq!(walk(&r.pod_dir()), Vec::<PathBuf>::new());
    r.assert_key_nowhere(&[&out]);
    // Every GraphQL call used variables for its input.
    for call in r.runpod.graphql_calls() {
        assert!(!call.query.contains(&pods[0].id), "{}", call.query);
    }
}

#[test]
fn trainer_crash_downloads_the_log_and_records_the_failure() {
    let r = rig(FakeRunPodOptions::default());
    let mut args = r.args("", &[]);
    let at = args.iter().position(|a| a == "--trainer-command").unwrap();
    args[at + 1] = "echo 'RuntimeError: CUDA out of memory' >&2; exit 3".into();
    let out = r.run(&args);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("status 3") && err.contains("CUDA out of memory"),
        "{err}"
    );
    r.assert_no_live_pods();
    let run_dir = r.run_dir();
    let log = std::fs::read_to_string(run_dir.join("train/remote/job.log")).unwrap();
    assert!(log.contains("CUDA out of memory"), "{log}");
    let summary = read_json(&run_dir.join("run-summary.json"));
    assert_eq!(summary["training_success"], false);
    assert_eq!(summary["terminated"], true);
    assert!(summary["error"].as_str().unwrap().contains("status 3"));
    assert!(summary["pod_id"].is_string());
    assert_eq!(walk(&r.pod_dir()), Vec::<PathBuf>::new());
    r.assert_key_nowhere(&[&out]);
}

#[test]
fn dropped_ssh_mid_upload_and_mid_training_is_resumed() {
    let r = rig(FakeRunPodOptions::default());
    let (padded, size) = r.padded_model();
    let mut args = r.args("sleep 2; ", &[]);
    let at = args.iter().position(|a| a == "--base-model").unwrap();
    args[at + 1] = s(&padded).to_string();
    let mut child = r.spawn(&args);
    r.wait_for_partial_upload(size, &mut child);
    assert!(r.sshd.kill_connections().unwrap() > 0);
    // Mid-training: the job has started (it sleeps, then trains).
    r.wait_for_job_file("job.pid", &mut child);
    std::thread::sleep(Duration::from_millis(500));
    let cut_training = r.sshd.kill_connections().unwrap();
    assert!(cut_training > 0);

    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("reconnecting"), "{err}");
    r.assert_no_live_pods();
    let run_dir = r.run_dir();
    // Every step's metrics once, none lost.
    let metrics = std::fs::read_to_string(run_dir.join("train/metrics.jsonl")).unwrap();
    let steps: Vec<u64> = metrics
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v.get("loss").is_some())
        .filter_map(|v| v["step"].as_u64())
        .collect();
    assert_eq!(steps, vec![1, 2, 3, 4]);
    assert_eq!(
        read_json(&run_dir.join("run-summary.json"))["training_success"],
        true
    );
}

#[test]
fn ctrl_c_terminates_the_pod_and_exits_130() {
    let r = rig(FakeRunPodOptions::default());
    let mut child = r.spawn(&r.args("sleep 30; ", &[]));
    let pid_file = r.wait_for_job_file("job.pid", &mut child);
    let job_pid = std::fs::read_to_string(&pid_file).unwrap();
    signal(&child, "-INT");
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    r.assert_no_live_pods();
    // The job was killed and the pod cleaned before termination.
    assert!(!alive(job_pid.trim()), "the job still runs");
    assert_eq!(walk(&r.pod_dir()), Vec::<PathBuf>::new());
    r.assert_key_nowhere(&[&out]);
}

#[test]
fn ctrl_c_mid_upload_stops_promptly_and_terminates_the_pod() {
    let r = rig(FakeRunPodOptions::default());
    let (padded, size) = r.padded_model();
    let mut args = r.args("", &[]);
    let at = args.iter().position(|a| a == "--base-model").unwrap();
    args[at + 1] = s(&padded).to_string();
    let mut child = r.spawn(&args);
    r.wait_for_partial_upload(size, &mut child);
    signal(&child, "-INT");
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    r.assert_no_live_pods();
    assert_eq!(walk(&r.pod_dir()), Vec::<PathBuf>::new());
}

#[test]
fn ctrl_c_mid_training_keeps_the_checkpoint_and_resume_continues_on_a_new_pod() {
    let r = rig(FakeRunPodOptions::default());
    let long = r.work.path().join("long.json");
    std::fs::write(
        &long,
        r#"{"learning_rate": 5e-3, "max_steps": 120, "micro_batch_size": 2,
            "gradient_accumulation_steps": 1, "warmup_ratio": 0, "eval_every": 0,
            "save_every": 0, "gguf_quant": "Q8_0"}"#,
    )
    .unwrap();
    let mut args = r.args("", &["--skip-ollama"]);
    let at = args.iter().position(|a| a == "--config").unwrap();
    args[at + 1] = s(&long).to_string();
    let mut child = r.spawn(&args);
    let metrics = r.wait_for_job_file("train/metrics.jsonl", &mut child);
    while std::fs::read_to_string(&metrics)
        .unwrap_or_default()
        .lines()
        .count()
        < 3
    {
        assert!(
            child.try_wait().unwrap().is_none(),
            "training ended before Ctrl-C"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    signal(&child, "-INT");
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    r.assert_no_live_pods();
    let run_dir = r.run_dir();
    let kept: Vec<_> = std::fs::read_dir(run_dir.join("train/checkpoints"))
        .unwrap()
        .flatten()
        .collect();
    assert_eq!(kept.len(), 1, "{}", stderr(&out));
    let ckpt_step: u64 = kept[0]
        .file_name()
        .to_str()
        .unwrap()
        .trim_start_matches(|c: char| !c.is_ascii_digit())
        .parse()
        .unwrap();
    assert!((1..120).contains(&ckpt_step), "{ckpt_step}");
    // The rows up to the checkpoint, as the stopped attempt wrote them (with its timings).
    let before: Vec<String> = std::fs::read_to_string(run_dir.join("train/metrics.jsonl"))
        .unwrap()
        .lines()
        .filter(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["step"].as_u64()
                <= Some(ckpt_step)
        })
        .map(str::to_string)
        .collect();
    assert!(!before.is_empty());

    r.resume_on_a_second_pod("uploading the checkpoint");
    // One uninterrupted-looking run: every step once, in order, continuing the stopped
    // attempt's rows (not recomputing them).
    let after = std::fs::read_to_string(run_dir.join("train/metrics.jsonl")).unwrap();
    let after_lines: Vec<&str> = after.lines().collect();
    assert_eq!(after_lines[..before.len()], before[..]);
    let steps: Vec<u64> = after
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v.get("loss").is_some())
        .filter_map(|v| v["step"].as_u64())
        .collect();
    assert_eq!(steps, (1..=120).collect::<Vec<_>>());
    assert!(!run_dir.join("train/checkpoints").exists());
}

#[test]
fn kill_9_then_reap_terminates_the_pod() {
    let r = rig(FakeRunPodOptions::default());
    let mut child = r.spawn(&r.args("sleep 30; ", &[]));
    let pid_file = r.wait_for_job_file("job.pid", &mut child);
    signal(&child, "-KILL");
    let _ = child.wait();
    assert_eq!(r.runpod.live_pods().len(), 1, "the pod outlives a kill -9");
    kill_job(&pid_file);

    let env = r.env();
    let e: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let out = mh_train_env(&["--profile", s(r.profile.path()), "status"], &e);
    assert!(out.status.success(), "{}", stderr(&out));
    let status = String::from_utf8_lossy(&out.stdout);
    assert!(status.contains("1 may still bill"), "{status}");
    let out = mh_train_env(&["--profile", s(r.profile.path()), "remote", "list"], &e);
    assert!(out.status.success(), "{}", stderr(&out));
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(
        listed.contains("created") && listed.contains("running"),
        "{listed}"
    );
    let out = mh_train_env(&["--profile", s(r.profile.path()), "remote", "reap"], &e);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("terminated"));
    r.assert_no_live_pods();
    r.assert_key_nowhere(&[&out]);
}

#[test]
fn kill_9_then_resume_reaps_the_old_pod_and_finishes_on_a_new_one() {
    let r = rig(FakeRunPodOptions::default());
    let mut child = r.spawn(&r.args("sleep 3; ", &[]));
    let pid_file = r.wait_for_job_file("job.pid", &mut child);
    signal(&child, "-KILL");
    let _ = child.wait();
    kill_job(&pid_file);
    let old = r.runpod.live_pods();
    assert_eq!(old.len(), 1);

    r.resume_on_a_second_pod("left over from an earlier run");
    let summary = read_json(&r.run_dir().join("run-summary.json"));
    assert_eq!(summary["training_success"], true, "{summary}");
    assert_ne!(summary["pod_id"].as_str(), Some(old[0].as_str()));
}

#[test]
fn changed_host_key_is_refused_and_the_pod_terminated() {
    let mut r = rig(FakeRunPodOptions::default());
    let mut child = r.spawn(&r.args("sleep 5; ", &[]));
    let pid_file = r.wait_for_job_file("job.pid", &mut child);
    r.sshd.restart(true).unwrap();
    let out = child.wait_with_output().unwrap();
    kill_job(&pid_file);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.to_lowercase().contains("host key"), "{err}");
    r.assert_no_live_pods();
}

#[test]
fn a_pod_that_never_exposes_ssh_is_terminated_rest_api() {
    let r = rig(FakeRunPodOptions {
        ports_never: true,
        ..FakeRunPodOptions::default()
    });
    let args = r.args(
        "",
        &[
            "--api",
            "rest",
            "--gpu",
            "NVIDIA GeForce RTX 4090",
            "--start-timeout",
            "2",
        ],
    );
    let out = r.run(&args);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("22/tcp"), "{err}");
    r.assert_no_live_pods();
    assert_eq!(r.runpod.pods().len(), 1);
}

#[test]
fn sleep_service_trains_on_a_pod_when_configured() {
    let r = rig(FakeRunPodOptions::default());
    let root = r.profile.path();
    let login = r.sshd.target();
    let args = r.args("", &[]);
    let trainer = &args[args.iter().position(|a| a == "--trainer-command").unwrap() + 1];
    std::fs::write(
        root.join("etc/sleep-service.json"),
        serde_json::to_vec_pretty(&serde_json::json!({
            "min_new_samples": 1,
            "place": "remote",
            "run": {
                "base_model": s(&r.model),
                "config_files": [s(&r.work.path().join("short.json"))],
                "max_seq_length": 256,
                "device": "cpu",
                "skip_ollama": true,
                "remote": {
                    "ssh_key": s(&login.key_path),
                    "ssh_user": login.user,
                    "remote_dir": s(&r.pod_dir()),
                    "trainer_command": trainer,
                    "poll_s": 0.2
                }
            }
        }))
        .unwrap(),
    )
    .unwrap();
    let approval = root.join("etc/auto-approval.json");
    let mut a = read_json(&approval);
    a["enabled"] = true.into();
    a["dryRun"] = false.into();
    std::fs::write(&approval, serde_json::to_vec_pretty(&a).unwrap()).unwrap();

    let out = r.run(
        &[
            "--profile",
            s(root),
            "--json",
            "sleep-service",
            "once",
            "--force",
        ]
        .iter()
        .map(|x| x.to_string())
        .collect::<Vec<_>>(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let d: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(d["outcome"], "trained", "{d:#}");
    assert_eq!(d["run"]["activated"], true, "{d:#}");
    let registry = read_json(&root.join("etc/model-registry.json"));
    assert_eq!(registry["training_history"][0]["where"]["kind"], "remote");
    assert_eq!(r.runpod.pods().len(), 1);
    r.assert_no_live_pods();
    r.assert_key_nowhere(&[&out]);
}

#[test]
fn plan_estimates_and_lists_fitting_gpus_cheapest_first() {
    let runpod = FakeRunPod::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    // Qwen2.5-0.5B's published config.
    let config = dir.path().join("config.json");
    std::fs::write(
        &config,
        r#"{"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "hidden_size": 896,
            "intermediate_size": 4864, "num_hidden_layers": 24, "num_attention_heads": 14,
            "num_key_value_heads": 2, "vocab_size": 151936, "max_position_embeddings": 32768,
            "rms_norm_eps": 1e-06, "rope_theta": 1000000.0, "tie_word_embeddings": true,
            "hidden_act": "silu", "torch_dtype": "bfloat16"}"#,
    )
    .unwrap();
    let env = [
        ("RUNPOD_API_KEY", runpod.api_key()),
        ("RUNPOD_API_URL", runpod.graphql_url()),
    ];
    let e: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let out = mh_train_env(
        &[
            "--json",
            "plan",
            "--base-model",
            s(&config),
            "--seq",
            "1024",
        ],
        &e,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let p: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(p["estimate"]["parameters"], 494_032_768);
    let total = p["estimate"]["total_gb"].as_f64().unwrap();
    let gpus = p["gpus"].as_array().unwrap();
    assert!(!gpus.is_empty());
    let prices: Vec<f64> = gpus
        .iter()
        .map(|g| g["price_per_hr"].as_f64().unwrap())
        .collect();
    assert!(prices.windows(2).all(|w| w[0] <= w[1]), "{prices:?}");
    for g in gpus {
        assert!(g["memory_gb"].as_f64().unwrap() >= total * 1.15, "{g}");
        assert_ne!(
            g["gpu_type"], "NVIDIA H100 80GB HBM3",
            "out of stock, yet offered"
        );
    }
    // A full fine-tune of the same model needs far more than LoRA does.
    let out = mh_train(&[
        "--json",
        "plan",
        "--base-model",
        s(&config),
        "--method",
        "full",
        "--seq",
        "1024",
        "--offline",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let full: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(full["estimate"]["total_gb"].as_f64().unwrap() > total);
}
