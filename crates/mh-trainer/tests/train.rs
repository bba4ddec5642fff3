//! Whole runs on the tiny model and the demo dataset.

mod common;

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use common::{config, dataset, fixture, run};
use mh_model::candle_core::Device;
use mh_profile::{NoProgress, Progress};
use mh_trainer::metrics::Row;
use mh_trainer::{evaluate, Status, TokenDataset, TrainConfig};

/// Sets the stop flag after `after` training steps, as a Ctrl-C handler would.
struct StopAfter<'a> {
    after: usize,
    steps: AtomicUsize,
    stage: Mutex<String>,
    stop: &'a AtomicBool,
}

impl Progress for StopAfter<'_> {
    fn start(&self, stage: &str, _: Option<u64>) {
        *self.stage.lock().unwrap() = stage.to_string();
    }
    fn advance(&self, n: u64) {
        if *self.stage.lock().unwrap() == "train"
            && self.steps.fetch_add(n as usize, Ordering::SeqCst) + n as usize >= self.after
        {
            self.stop.store(true, Ordering::SeqCst);
        }
    }
    fn finish(&self) {}
}

fn metrics(dir: &Path) -> Vec<Row> {
    std::fs::read_to_string(dir.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn step_losses(rows: &[Row]) -> Vec<f64> {
    rows.iter()
        .filter_map(|r| match r {
            Row::Step(s) => Some(s.loss),
            _ => None,
        })
        .collect()
}

fn adapter_bytes(dir: &Path) -> Vec<u8> {
    std::fs::read(dir.join("adapter/adapter_model.safetensors")).unwrap()
}

#[test]
fn overfits_16_demo_conversations_to_under_half_the_initial_loss() {
    let mut data = dataset(16, 0);
    data.eval = data.train.clone();
    let cfg = TrainConfig {
        rank: 16,
        alpha: 32.0,
        micro_batch_size: 4,
        gradient_accumulation_steps: 1,
        epochs: 15.0,
        learning_rate: 1e-2,
        lr_scheduler: mh_trainer::Scheduler::Constant,
        ..config()
    };
    let out = tempfile::tempdir().unwrap();
    let never = AtomicBool::new(false);
    let report = run(&data, cfg, out.path(), false, &NoProgress, &never).unwrap();
    let initial = report.initial_eval.unwrap().loss;
    let last = report.final_eval.unwrap().loss;
    assert_eq!(report.status, Status::Finished);
    assert_eq!(report.steps_completed, 60);
    assert!(last < 0.5 * initial, "eval loss {initial} -> {last}");
    // The adapter written is the best one, and it is a PEFT adapter of the trained rank.
    assert!(report.best_eval_loss.unwrap() <= last);
    let config: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.path().join("adapter/adapter_config.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(config["r"], 16);
    assert_eq!(config["base_model_name_or_path"], "tiny-demo");
    for file in ["metrics.jsonl", "train-report.json", "loss.svg"] {
        assert!(out.path().join(file).is_file(), "{file}");
    }
}

#[test]
fn an_interrupted_run_resumed_equals_an_uninterrupted_one() {
    let data = dataset(24, 8);
    let cfg = TrainConfig {
        dropout: 0.1,
        epochs: 2.0,
        eval_every: 4,
        save_every: 3,
        save_total_limit: 2,
        warmup_ratio: 0.2,
        ..config()
    };
    let never = AtomicBool::new(false);
    let whole = tempfile::tempdir().unwrap();
    let a = run(&data, cfg.clone(), whole.path(), false, &NoProgress, &never).unwrap();
    assert_eq!(a.status, Status::Finished);
    assert_eq!(a.steps_completed, 12);

    let split = tempfile::tempdir().unwrap();
    let stop = AtomicBool::new(false);
    let ctrl_c = StopAfter {
        after: 5,
        steps: AtomicUsize::new(0),
        stage: Mutex::new(String::new()),
        stop: &stop,
    };
    let b = run(&data, cfg.clone(), split.path(), false, &ctrl_c, &stop).unwrap();
    assert_eq!(b.status, Status::Interrupted);
    assert_eq!(b.steps_completed, 5);
    assert!(split.path().join("checkpoints/checkpoint-5").is_dir());

    // The interrupted run wrote no more than it had; resume must not care about extra rows.
    let never = AtomicBool::new(false);
    let c = run(&data, cfg.clone(), split.path(), true, &NoProgress, &never).unwrap();
    assert_eq!(c.status, Status::Finished);
    assert_eq!(c.steps_completed, 12);
    assert_eq!(c.final_loss, a.final_loss);
    assert_eq!(c.final_eval, a.final_eval);
    assert_eq!(
        step_losses(&metrics(split.path())),
        step_losses(&metrics(whole.path()))
    );
    assert_eq!(adapter_bytes(split.path()), adapter_bytes(whole.path()));

    // Retention: the newest `save_total_limit` checkpoints plus the best one.
    let kept = mh_trainer::checkpoint::list(split.path()).unwrap();
    assert!(kept.len() <= 3, "{kept:?}");
    assert!(kept.iter().any(|(s, _)| *s == 9), "{kept:?}");

    // A resume with other settings is refused, naming what changed.
    let other = TrainConfig {
        learning_rate: 1e-3,
        ..cfg
    };
    let err = run(&data, other, split.path(), true, &NoProgress, &never)
        .unwrap_err()
        .to_string();
    assert!(err.contains("learning_rate"), "{err}");
}

#[test]
fn gradient_accumulation_equals_one_big_batch() {
    let data = dataset(12, 0);
    let never = AtomicBool::new(false);
    let big = TrainConfig {
        micro_batch_size: 4,
        gradient_accumulation_steps: 1,
        max_steps: Some(3),
        ..config()
    };
    let small = TrainConfig {
        micro_batch_size: 1,
        gradient_accumulation_steps: 4,
        ..big.clone()
    };
    let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    run(&data, big, d1.path(), false, &NoProgress, &never).unwrap();
    run(&data, small, d2.path(), false, &NoProgress, &never).unwrap();
    let (a, b) = (
        step_losses(&metrics(d1.path())),
        step_losses(&metrics(d2.path())),
    );
    assert_eq!(a.len(), 3);
    for (x, y) in a.iter().zip(&b) {
        assert!((x - y).abs() < 1e-5 * x.abs(), "{a:?} vs {b:?}");
    }
    // A wrong normalisation (mean per micro-batch) would differ by far more than this.
    assert!(a[2] < a[0]);
}

#[test]
fn packed_rows_score_exactly_like_separate_samples() {
    let unpacked = TokenDataset::open(&fixture().dataset).unwrap();
    let packed = TokenDataset::open(&fixture().packed).unwrap();
    assert!(
        packed.eval.len() < unpacked.eval.len(),
        "nothing was packed"
    );
    let model = common::model();
    let a = evaluate(&model, &unpacked.eval, 3, &NoProgress)
        .unwrap()
        .unwrap();
    let b = evaluate(&model, &packed.eval, 2, &NoProgress)
        .unwrap()
        .unwrap();
    assert_eq!(a.tokens, b.tokens);
    assert!((a.loss - b.loss).abs() < 1e-5, "{} vs {}", a.loss, b.loss);
    assert!(matches!(model.device(), Device::Cpu));
}

#[test]
fn early_stopping_keeps_the_best_adapter() {
    let data = dataset(16, 8);
    // No later eval can beat the first by `min_delta`, so the run stops after `patience`.
    let cfg = TrainConfig {
        eval_every: 1,
        early_stopping_patience: Some(2),
        early_stopping_min_delta: 1e9,
        epochs: 3.0,
        ..config()
    };
    let out = tempfile::tempdir().unwrap();
    let never = AtomicBool::new(false);
    let report = run(&data, cfg, out.path(), false, &NoProgress, &never).unwrap();
    assert_eq!(report.status, Status::EarlyStopped, "{report:?}");
    let best = report.best_eval_loss.unwrap();
    let evals: Vec<(usize, f64)> = metrics(out.path())
        .iter()
        .filter_map(|r| match r {
            Row::Eval(e) => Some((e.step, e.eval_loss)),
            _ => None,
        })
        .collect();
    let (best_step, min) = evals
        .iter()
        .copied()
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .unwrap();
    assert_eq!(report.adapter_step, best_step);
    assert!((best - min).abs() < 1e-12, "{best} vs {min}");
    assert_eq!(report.steps_completed, 2);
    // The adapter on disk scores the best eval loss.
    let mut model = common::model();
    let adapter = mh_model::read_peft_adapter(&out.path().join("adapter"), &Device::Cpu).unwrap();
    model.apply_peft_adapter(&adapter).unwrap();
    let again = evaluate(&model, &data.eval, 4, &NoProgress)
        .unwrap()
        .unwrap();
    assert!((again.loss - best).abs() < 1e-5, "{} vs {best}", again.loss);
}
