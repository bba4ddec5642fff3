//! The training loop: micro-batches → masked loss → accumulated gradients → clip → AdamW, with
//! evaluation, early stopping, checkpoints, metrics and the final report.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use mh_model::candle_core::{Tensor, Var};
use mh_model::{write_peft_adapter, AdapterConfig, Model, PeftAdapter};
use mh_profile::{NoProgress, Progress};
use serde::{Deserialize, Serialize};

use crate::checkpoint::{self, TrainerState};
use crate::config::TrainConfig;
use crate::data::{Batch, Plan, TokenDataset};
use crate::eval::{evaluate, EvalResult};
use crate::loss::nll_sum;
use crate::metrics::{EvalRow, MetricsLog, Row, StepRow};
use crate::optim::{clip_grad_norm, AdamW, AdamWParams};
use crate::schedule::Schedule;
use crate::TrainError;

pub const ADAPTER_DIR: &str = "adapter";
pub const REPORT: &str = "train-report.json";
pub const LOSS_PLOT: &str = "loss.svg";

/// What to train.
pub struct TrainSpec<'a> {
    /// The base model, without LoRA branches (the trainer adds them from `config`).
    pub model: Model,
    /// Recorded as `base_model_name_or_path` in the adapter and in the report.
    pub base_model: String,
    pub dataset: &'a TokenDataset,
    pub config: TrainConfig,
    pub run_dir: &'a Path,
    /// Continue from the newest checkpoint in `run_dir`.
    pub resume: bool,
}

/// How the caller watches and stops a run.
pub struct Hooks<'a> {
    pub progress: &'a dyn Progress,
    /// Set (e.g. by a Ctrl-C handler) to stop: the run checkpoints and returns `Interrupted`.
    pub stop: &'a AtomicBool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Finished,
    EarlyStopped,
    Interrupted,
}

/// `train-report.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainReport {
    pub schema_version: u32,
    pub status: Status,
    pub base_model: String,
    pub dataset: DatasetInfo,
    pub config: TrainConfig,
    pub device: String,
    pub trainable_parameters: usize,
    pub total_steps: usize,
    pub steps_completed: usize,
    pub epochs_completed: f64,
    pub tokens_seen: u64,
    pub elapsed_s: f64,
    pub tokens_per_s: f64,
    pub initial_loss: Option<f64>,
    pub final_loss: Option<f64>,
    pub initial_eval: Option<EvalResult>,
    pub final_eval: Option<EvalResult>,
    pub best_eval_loss: Option<f64>,
    /// The step the written adapter comes from (the best eval, or the last step).
    pub adapter_step: usize,
    pub adapter_dir: Option<PathBuf>,
    /// Newest checkpoint on disk (what `--resume` continues from).
    pub last_checkpoint: Option<PathBuf>,
    pub metrics: PathBuf,
    pub loss_plot: Option<PathBuf>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DatasetInfo {
    pub dir: PathBuf,
    pub fingerprint: String,
    pub train_rows: usize,
    pub eval_rows: usize,
}

/// Train a LoRA adapter; see the crate docs for what lands in the run directory.
pub fn train(spec: TrainSpec<'_>, hooks: &Hooks<'_>) -> Result<TrainReport, TrainError> {
    let TrainSpec {
        mut model,
        base_model,
        dataset,
        config,
        run_dir,
        resume,
    } = spec;
    config.validate()?;
    check_rows(dataset, &config)?;
    std::fs::create_dir_all(run_dir).map_err(|e| TrainError::io(run_dir, e))?;

    let lora = config.lora()?;
    let adapter_config = AdapterConfig::from_lora(&lora, Some(&base_model));
    model.init_lora(&lora)?;

    let resumed = if resume {
        let Some((_, dir)) = checkpoint::list(run_dir)?.pop() else {
            return Err(TrainError::checkpoint(
                &run_dir.join(checkpoint::CHECKPOINTS),
                "--resume: no checkpoint to resume from",
            ));
        };
        let state = checkpoint::load_into(&dir, &mut model)?;
        check_same_run(&state, &config, dataset, &dir)?;
        Some((dir, state))
    } else {
        None
    };

    let params: Vec<Var> = model.lora_vars();
    let trainable_parameters = params.iter().map(|v| v.elem_count()).sum();
    let mut optimizer = AdamW::new(
        params,
        AdamWParams {
            beta1: config.adam_beta1,
            beta2: config.adam_beta2,
            eps: config.adam_epsilon,
            weight_decay: config.weight_decay,
        },
    )?;
    let (mut state, mut metrics) = match resumed {
        Some((dir, state)) => {
            let (m, v) = checkpoint::load_moments(&dir, &model, model.device())?;
            optimizer.restore(m, v, state.optimizer_steps)?;
            (state.clone(), MetricsLog::resume(run_dir, state.step)?)
        }
        None => (
            TrainerState {
                step: 0,
                optimizer_steps: 0,
                best_eval_loss: None,
                best_step: None,
                evals_without_improvement: 0,
                initial_loss: None,
                initial_eval_loss: None,
                tokens_seen: 0,
                elapsed_s: 0.0,
                config: config.clone(),
                dataset_fingerprint: dataset.fingerprint.clone(),
            },
            MetricsLog::create(run_dir)?,
        ),
    };

    let plan = Plan::new(
        dataset.train.len(),
        config.micro_batch_size,
        config.gradient_accumulation_steps,
        config.epochs,
        config.max_steps,
        config.seed,
    );
    let schedule = Schedule::new(&config, plan.total_steps);
    let run = Run {
        model: &model,
        dataset,
        config: &config,
        run_dir,
        adapter_config: &adapter_config,
        plan: &plan,
        hooks,
        started: Instant::now(),
        elapsed_before: state.elapsed_s,
    };

    let mut initial_eval = None;
    if state.step == 0 && !dataset.eval.is_empty() {
        initial_eval = run.eval_and_track(&mut state, &mut metrics)?;
        state.initial_eval_loss = initial_eval.map(|e| e.loss);
    }

    let mut status = Status::Finished;
    let mut last_checkpoint = None;
    let mut order = (usize::MAX, Vec::new());
    hooks.progress.start(
        "train",
        Some((plan.total_steps - state.step.min(plan.total_steps)) as u64),
    );
    while state.step < plan.total_steps {
        let step = state.step;
        let epoch = plan.epoch_of(step);
        if order.0 != epoch {
            order = (epoch, plan.epoch_order(epoch));
        }
        let micro = plan.step_micro_batches(step, &order.1);
        let step_start = Instant::now();
        let Some(outcome) = run.step(&mut optimizer, &schedule, step, &micro)? else {
            status = Status::Interrupted;
            break;
        };
        state.step += 1;
        state.optimizer_steps = optimizer.t;
        state.tokens_seen += outcome.tokens as u64;
        state.initial_loss.get_or_insert(outcome.loss);
        let secs = step_start.elapsed().as_secs_f64();
        metrics.push(Row::Step(StepRow {
            step: state.step,
            epoch: state.step as f64 / plan.steps_per_epoch as f64,
            loss: outcome.loss,
            lr: outcome.lr,
            grad_norm: outcome.grad_norm,
            tokens: outcome.tokens,
            tokens_per_s: outcome.tokens as f64 / secs.max(1e-9),
            elapsed_s: run.elapsed(),
        }))?;
        hooks.progress.message(&format!(
            "loss {:.4}  lr {:.2e}  {:.0} tok/s",
            outcome.loss,
            outcome.lr,
            outcome.tokens as f64 / secs.max(1e-9)
        ));
        hooks.progress.advance(1);

        let last = state.step == plan.total_steps;
        if config.eval_every > 0 && state.step % config.eval_every == 0 && !last {
            run.eval_and_track(&mut state, &mut metrics)?;
            if let Some(patience) = config.early_stopping_patience {
                if state.evals_without_improvement >= patience {
                    status = Status::EarlyStopped;
                }
            }
        }
        if config.save_every > 0 && state.step % config.save_every == 0 && !last {
            last_checkpoint = Some(run.checkpoint(&optimizer, &mut state, &metrics)?);
        }
        if status == Status::EarlyStopped {
            break;
        }
        if hooks.stop.load(Ordering::SeqCst) {
            status = Status::Interrupted;
            break;
        }
    }
    hooks.progress.finish();

    if status == Status::Interrupted {
        last_checkpoint = Some(run.checkpoint(&optimizer, &mut state, &metrics)?);
    }
    let mut final_eval = None;
    if status != Status::Interrupted && !dataset.eval.is_empty() {
        let already = metrics
            .rows
            .iter()
            .any(|r| matches!(r, Row::Eval(e) if e.step == state.step));
        final_eval = if already {
            last_eval(&metrics.rows)
        } else {
            run.eval_and_track(&mut state, &mut metrics)?
        };
    }
    // Without an eval split the product is the last step's adapter.
    let adapter_dir = run_dir.join(ADAPTER_DIR);
    let mut adapter_step = state.best_step.unwrap_or(state.step);
    if state.best_step.is_none() && status != Status::Interrupted {
        write_adapter(&model, &adapter_config, &adapter_dir)?;
        adapter_step = state.step;
    }
    state.elapsed_s = run.elapsed();
    metrics.sync()?;

    let loss_plot = crate::plot::loss_svg(
        &metrics.rows,
        &format!("{base_model} · LoRA r{}", config.rank),
    )
    .map(|svg| {
        let path = run_dir.join(LOSS_PLOT);
        mh_profile::atomic_write(&path, svg.as_bytes())
            .map_err(|e| TrainError::io(&path, e))
            .map(|_| path)
    })
    .transpose()?;
    let final_loss = metrics.rows.iter().rev().find_map(|r| match r {
        Row::Step(s) => Some(s.loss),
        _ => None,
    });
    let report = TrainReport {
        schema_version: 1,
        status,
        base_model,
        dataset: DatasetInfo {
            dir: dataset.dir.clone(),
            fingerprint: dataset.fingerprint.clone(),
            train_rows: dataset.train.len(),
            eval_rows: dataset.eval.len(),
        },
        config: config.clone(),
        device: format!("{:?}", model.device()),
        trainable_parameters,
        total_steps: plan.total_steps,
        steps_completed: state.step,
        epochs_completed: state.step as f64 / plan.steps_per_epoch as f64,
        tokens_seen: state.tokens_seen,
        elapsed_s: state.elapsed_s,
        tokens_per_s: state.tokens_seen as f64 / state.elapsed_s.max(1e-9),
        initial_loss: state.initial_loss,
        final_loss,
        initial_eval: initial_eval.or_else(|| first_eval(&metrics.rows)),
        final_eval,
        best_eval_loss: state.best_eval_loss,
        adapter_step,
        adapter_dir: adapter_dir
            .join(mh_model::ADAPTER_WEIGHTS)
            .is_file()
            .then_some(adapter_dir),
        last_checkpoint: last_checkpoint
            .or_else(|| checkpoint::list(run_dir).ok()?.pop().map(|c| c.1)),
        metrics: metrics.path().to_path_buf(),
        loss_plot,
    };
    let path = run_dir.join(REPORT);
    mh_profile::atomic_write_json(&path, &report).map_err(|e| TrainError::io(&path, e))?;
    Ok(report)
}

struct StepOutcome {
    loss: f64,
    lr: f64,
    grad_norm: f64,
    tokens: usize,
}

/// The fixed parts of a run that the loop's helpers share.
struct Run<'a> {
    model: &'a Model,
    dataset: &'a TokenDataset,
    config: &'a TrainConfig,
    run_dir: &'a Path,
    adapter_config: &'a AdapterConfig,
    plan: &'a Plan,
    hooks: &'a Hooks<'a>,
    started: Instant,
    elapsed_before: f64,
}

impl Run<'_> {
    fn elapsed(&self) -> f64 {
        self.elapsed_before + self.started.elapsed().as_secs_f64()
    }

    /// One optimizer step over `micro` batches; `None` when a stop was requested before it
    /// finished (the step is then not taken at all).
    fn step(
        &self,
        optimizer: &mut AdamW,
        schedule: &Schedule,
        step: usize,
        micro: &[Vec<usize>],
    ) -> Result<Option<StepOutcome>, TrainError> {
        let device = self.model.device();
        let batches = micro
            .iter()
            .map(|rows| {
                let rows: Vec<_> = rows.iter().map(|&i| &self.dataset.train[i]).collect();
                Batch::new(&rows, device)
            })
            .collect::<Result<Vec<_>, _>>()?;
        // The loss is the mean over every target of the whole step, so the accumulated
        // gradient equals one big batch's regardless of how targets fall into micro-batches.
        let targets: usize = batches.iter().map(|b| b.targets.len()).sum();
        let tokens = batches.iter().map(|b| b.tokens).sum();
        let lr = schedule.lr(step);
        let params = optimizer.params().to_vec();
        let mut grads: Vec<Option<Tensor>> = vec![None; params.len()];
        let mut loss_sum = 0f64;
        for (i, batch) in batches.iter().enumerate() {
            if self.hooks.stop.load(Ordering::SeqCst) {
                return Ok(None);
            }
            let seed = dropout_seed(self.config.seed, step, i);
            let Some(nll) = nll_sum(self.model, batch, Some(seed))? else {
                continue;
            };
            loss_sum += nll.to_scalar::<f32>()? as f64;
            let store = (nll / targets as f64)?.backward()?;
            for (slot, var) in grads.iter_mut().zip(&params) {
                if let Some(g) = store.get(var.as_tensor()) {
                    *slot = Some(match slot.take() {
                        Some(acc) => (acc + g)?,
                        None => g.clone(),
                    });
                }
            }
        }
        if targets == 0 {
            // Nothing to learn from in this window; the step still counts, as in transformers.
            return Ok(Some(StepOutcome {
                loss: f64::NAN,
                lr,
                grad_norm: 0.0,
                tokens,
            }));
        }
        let loss = loss_sum / targets as f64;
        if !loss.is_finite() {
            return Err(TrainError::Diverged {
                step: step + 1,
                loss,
            });
        }
        let mut grads: Vec<Tensor> = grads
            .into_iter()
            .zip(&params)
            .map(|(g, p)| g.map_or_else(|| p.as_tensor().zeros_like(), Ok))
            .collect::<Result<_, _>>()?;
        let grad_norm = clip_grad_norm(&mut grads, self.config.max_grad_norm)?;
        optimizer.step(&grads, lr)?;
        Ok(Some(StepOutcome {
            loss,
            lr,
            grad_norm,
            tokens,
        }))
    }

    /// Evaluate, log, and keep the adapter when it is the best so far.
    fn eval_and_track(
        &self,
        state: &mut TrainerState,
        metrics: &mut MetricsLog,
    ) -> Result<Option<EvalResult>, TrainError> {
        // The training bar stays up during evaluation; its message says what is going on.
        self.hooks.progress.message("evaluating");
        let Some(result) = evaluate(
            self.model,
            &self.dataset.eval,
            self.config.eval_batch_size,
            &NoProgress,
        )?
        else {
            return Ok(None);
        };
        self.hooks.progress.message(&format!(
            "eval loss {:.4} (ppl {:.2})",
            result.loss, result.ppl
        ));
        metrics.push(Row::Eval(EvalRow {
            step: state.step,
            epoch: state.step as f64 / self.plan.steps_per_epoch as f64,
            eval_loss: result.loss,
            eval_ppl: result.ppl,
            eval_tokens: result.tokens,
            elapsed_s: self.elapsed(),
        }))?;
        // Patience counts evaluations that miss the best by `min_delta`; the adapter kept is
        // simply the lowest eval loss, as transformers' early stopping + best-model tracking.
        let best = state.best_eval_loss.unwrap_or(f64::INFINITY);
        if result.loss < best - self.config.early_stopping_min_delta {
            state.evals_without_improvement = 0;
        } else {
            state.evals_without_improvement += 1;
        }
        if result.loss < best {
            state.best_eval_loss = Some(result.loss);
            state.best_step = Some(state.step);
            write_adapter(
                self.model,
                self.adapter_config,
                &self.run_dir.join(ADAPTER_DIR),
            )?;
        }
        Ok(Some(result))
    }

    fn checkpoint(
        &self,
        optimizer: &AdamW,
        state: &mut TrainerState,
        metrics: &MetricsLog,
    ) -> Result<PathBuf, TrainError> {
        state.elapsed_s = self.elapsed();
        metrics.sync()?;
        let dir = checkpoint::save(
            self.run_dir,
            self.model,
            self.adapter_config,
            optimizer,
            state,
        )?;
        checkpoint::prune(self.run_dir, self.config.save_total_limit, state.best_step)?;
        Ok(dir)
    }
}

fn write_adapter(
    model: &Model,
    adapter_config: &AdapterConfig,
    dir: &Path,
) -> Result<(), TrainError> {
    std::fs::create_dir_all(dir).map_err(|e| TrainError::io(dir, e))?;
    let adapter = PeftAdapter::from_model(model, adapter_config.clone())?;
    write_peft_adapter(dir, &adapter)?;
    Ok(())
}

/// A seed for the dropout masks of micro-batch `micro` of step `step`.
fn dropout_seed(seed: u64, step: usize, micro: usize) -> u64 {
    seed.wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add((step as u64) << 20)
        .wrapping_add(micro as u64)
}

fn first_eval(rows: &[Row]) -> Option<EvalResult> {
    rows.iter().find_map(eval_result)
}

fn last_eval(rows: &[Row]) -> Option<EvalResult> {
    rows.iter().rev().find_map(eval_result)
}

fn eval_result(row: &Row) -> Option<EvalResult> {
    match row {
        Row::Eval(e) => Some(EvalResult {
            loss: e.eval_loss,
            ppl: e.eval_ppl,
            tokens: e.eval_tokens,
        }),
        Row::Step(_) => None,
    }
}

fn check_rows(dataset: &TokenDataset, config: &TrainConfig) -> Result<(), TrainError> {
    let longest = dataset
        .train
        .iter()
        .chain(&dataset.eval)
        .map(|s| s.len())
        .max()
        .unwrap_or(0);
    if longest > config.max_seq_length {
        return Err(TrainError::dataset(
            &dataset.dir,
            format!(
                "a row has {longest} tokens, more than max_seq_length {}; rebuild the dataset with --max-seq-length {} or raise max_seq_length",
                config.max_seq_length, config.max_seq_length
            ),
        ));
    }
    Ok(())
}

/// A resume must continue the same run: same settings, same data.
fn check_same_run(
    state: &TrainerState,
    config: &TrainConfig,
    dataset: &TokenDataset,
    dir: &Path,
) -> Result<(), TrainError> {
    if state.dataset_fingerprint != dataset.fingerprint {
        return Err(TrainError::checkpoint(
            dir,
            "the dataset changed since this checkpoint was written; start a new run",
        ));
    }
    if &state.config != config {
        let old = serde_json::to_value(&state.config).unwrap_or_default();
        let new = serde_json::to_value(config).unwrap_or_default();
        let changed: Vec<String> = match (old, new) {
            (serde_json::Value::Object(o), serde_json::Value::Object(n)) => n
                .iter()
                .filter(|(k, v)| o.get(*k) != Some(v))
                .map(|(k, _)| k.clone())
                .collect(),
            _ => Vec::new(),
        };
        return Err(TrainError::checkpoint(
            dir,
            format!(
                "settings differ from the checkpoint's ({}); resume with the same config",
                changed.join(", ")
            ),
        ));
    }
    Ok(())
}
