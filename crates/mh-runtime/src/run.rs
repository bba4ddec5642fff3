//! The run: options → run directory → each step in order, recorded in `state.json`.

pub mod remote;

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use mh_dataset::template::{ChatTemplate, TemplateChoice};
use mh_dataset::tokenize::{self, ModelTokenizer, TokenizeOptions};
use mh_dataset::{Format, Mode};
use mh_gguf::{ExportOptions, FileType};
use mh_lineage::{
    Artifact, ArtifactKind, BaseModelRef, DatasetFingerprint, Lineage, Location, Method, Metrics,
    NewVersion, Parent, Place,
};
use mh_model::device::DeviceChoice;
use mh_model::{MergeBase, Model};
use mh_ollama::{
    ClientOptions, ModelBase, ModelName, ModelSpec, OllamaClient, OllamaTemplate, TemplateOptions,
};
use mh_profile::audit::{Category, Level};
use mh_profile::{AuditEvent, Profile, ProfileLock};
use mh_runpod::PodApi;
use mh_trainer::{EvalResult, Hooks, Status, TokenDataset, TrainConfig, TrainSpec};
use serde::Serialize;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::error::{fail, RuntimeError, StepResult};
use crate::state::{
    fresh_steps, BaseInfo, ContinuousLearning, RunSettings, RunState, Step, StepState, StepStatus,
    SCHEMA_VERSION, SUMMARY_FILE,
};
use crate::{now, RunHooks, RunOptions, RUNS_DIR};

/// The training settings as the run uses them (written once; `resume` reads this copy).
const TRAIN_CONFIG: &str = "train-config.json";
/// Who activations by this pipeline are attributed to (the seed's `activatedBy` value).
const ACTIVATED_BY: &str = "full-cycle-local";

/// What a step ended with.
struct Outcome {
    skipped: Option<String>,
    outputs: Map<String, Value>,
}

impl Outcome {
    fn done(outputs: Map<String, Value>) -> Self {
        Outcome {
            skipped: None,
            outputs,
        }
    }
}

struct Ctx<'a> {
    profile: &'a Profile,
    /// The RunPod client, for runs whose train step is remote.
    pods: Option<&'a dyn PodApi>,
    lock: &'a ProfileLock,
    lineage: Lineage,
    run_dir: PathBuf,
    hooks: &'a RunHooks<'a>,
}

impl Ctx<'_> {
    fn audit(&self, ev: AuditEvent) {
        // The audit log is a record, not part of the result: a failed append is reported, not fatal.
        if let Err(e) = self.profile.audit().append(ev) {
            (self.hooks.on_event)(&format!("warning: could not write the audit log: {e}"));
        }
    }

    fn say(&self, msg: &str) {
        (self.hooks.on_event)(msg);
    }
}

/// Start a new run on `profile` and drive it to the end.
pub fn run_local(
    profile: &Profile,
    options: RunOptions,
    hooks: &RunHooks<'_>,
) -> Result<RunSummary, RuntimeError> {
    if options.remote.is_some() {
        return Err(RuntimeError::Options(
            "these options train on RunPod: use run_remote with a RunPod client".into(),
        ));
    }
    start(profile, options, hooks, None)
}

/// [`run_local`] with the train step on a RunPod pod (`options.remote`) rented through `pods`.
pub fn run_remote(
    profile: &Profile,
    options: RunOptions,
    hooks: &RunHooks<'_>,
    pods: &dyn PodApi,
) -> Result<RunSummary, RuntimeError> {
    if options.remote.is_none() {
        return Err(RuntimeError::Options(
            "run_remote needs options.remote (the pod settings)".into(),
        ));
    }
    start(profile, options, hooks, Some(pods))
}

fn start(
    profile: &Profile,
    options: RunOptions,
    hooks: &RunHooks<'_>,
    pods: Option<&dyn PodApi>,
) -> Result<RunSummary, RuntimeError> {
    let method = if options.remote.is_some() {
        "remote"
    } else {
        "local"
    };
    let lock = profile.lock(&format!("mh-train {method}"))?;
    let lineage = Lineage::new(profile);
    let mut options = options;
    // `resume` may run from another directory: the dataset settings file by absolute path
    // (the training settings are copied into the run directory).
    if let Some(p) = &options.dataset_config {
        options.dataset_config =
            Some(std::fs::canonicalize(p).map_err(|e| RuntimeError::io(p, e))?);
    }
    let (train_cfg, settings, ignored) = load_configs(&options)?;
    let base = resolve_base(&lineage, &options, &settings, hooks.progress)?;

    let run_id = format!("{:016x}", rand::random::<u64>());
    let started = chrono::Utc::now();
    let run_label = format!("{}-{}", started.format("%Y-%m-%d-%H%M%S"), &run_id[..6]);
    let run_dir = profile.root().join(RUNS_DIR).join(&run_label);
    if run_dir.exists() {
        return Err(RuntimeError::Options(format!(
            "{} already exists; start again",
            run_dir.display()
        )));
    }
    std::fs::create_dir_all(&run_dir).map_err(|e| RuntimeError::io(&run_dir, e))?;
    let cfg_path = run_dir.join(TRAIN_CONFIG);
    mh_profile::atomic_write_json(&cfg_path, &train_cfg)
        .map_err(|e| RuntimeError::io(&cfg_path, e))?;
    let mut state = RunState {
        schema_version: SCHEMA_VERSION,
        run_id,
        run_label,
        created_at: now(),
        updated_at: now(),
        options,
        settings,
        base,
        version: None,
        steps: fresh_steps(),
        ignored_config_keys: ignored,
    };
    state.save(&run_dir)?;
    let ctx = Ctx {
        profile,
        pods,
        lock: &lock,
        lineage,
        run_dir,
        hooks,
    };
    ctx.audit(
        AuditEvent::new(Category::Action, "full_cycle_started")
            .detail("runLabel", state.run_label.clone())
            .detail("runId", state.run_id.clone())
            .detail("baseModel", state.base.spec.clone())
            .detail("trainingMethod", method),
    );
    ctx.say(&format!(
        "run {} in {}",
        state.run_label,
        ctx.run_dir.display()
    ));
    for key in &state.ignored_config_keys {
        ctx.say(&format!("note: ignoring {key} (not a setting)"));
    }
    drive(&ctx, &mut state)
}

/// Continue the run `run_label` of `profile`: steps that completed (or were skipped) are not
/// run again; a failed or interrupted step starts over (training from its last checkpoint).
pub fn resume(
    profile: &Profile,
    run_label: &str,
    hooks: &RunHooks<'_>,
) -> Result<RunSummary, RuntimeError> {
    resume_with(profile, run_label, hooks, None)
}

/// [`resume`] with a RunPod client, for a run whose train step is remote (a remote train step
/// that did not finish starts over on a new pod).
pub fn resume_with(
    profile: &Profile,
    run_label: &str,
    hooks: &RunHooks<'_>,
    pods: Option<&dyn PodApi>,
) -> Result<RunSummary, RuntimeError> {
    if !mh_profile::is_run_label(run_label) {
        return Err(RuntimeError::Options(format!(
            "{run_label:?} is not a run label (YYYY-MM-DD-HHMMSS-xxxxxx)"
        )));
    }
    let lock = profile.lock("mh-train resume")?;
    let run_dir = profile.root().join(RUNS_DIR).join(run_label);
    let mut state = RunState::load(&run_dir)?;
    let ctx = Ctx {
        profile,
        pods,
        lock: &lock,
        lineage: Lineage::new(profile),
        run_dir,
        hooks,
    };
    let todo: Vec<&str> = state
        .steps
        .iter()
        .filter(|s| !s.status.is_done())
        .map(|s| s.name.as_str())
        .collect();
    if todo.is_empty() {
        ctx.say(&format!("run {run_label} is already complete"));
    } else {
        ctx.say(&format!("resuming run {run_label}: {}", todo.join(", ")));
        ctx.audit(
            AuditEvent::new(Category::Action, "full_cycle_started")
                .detail("runLabel", state.run_label.clone())
                .detail("runId", state.run_id.clone())
                .detail("resumed", true)
                .detail("steps", todo.join(",")),
        );
    }
    drive(&ctx, &mut state)
}

fn drive(c: &Ctx<'_>, state: &mut RunState) -> Result<RunSummary, RuntimeError> {
    for step in Step::ALL {
        if state.step(step).status.is_done() {
            continue;
        }
        if c.hooks.stop_before == Some(step) || c.hooks.stop.load(Ordering::SeqCst) {
            return Err(RuntimeError::Stopped {
                run_label: state.run_label.clone(),
                step,
            });
        }
        {
            let s = state.step_mut(step);
            s.status = StepStatus::InProgress;
            s.started_at = Some(now());
            s.ended_at = None;
            s.message = None;
            s.attempts += 1;
        }
        state.save(&c.run_dir)?;
        c.say(&format!("[{step}] started"));
        let result = run_step(c, state, step);
        match result {
            Ok(outcome) => {
                let s = state.step_mut(step);
                s.ended_at = Some(now());
                s.outputs = outcome.outputs;
                match outcome.skipped {
                    Some(why) => {
                        c.say(&format!("[{step}] skipped: {why}"));
                        s.status = StepStatus::Skipped;
                        s.message = Some(why);
                    }
                    None => {
                        s.status = StepStatus::Completed;
                        c.say(&format!("[{step}] done"));
                    }
                }
                state.save(&c.run_dir)?;
            }
            Err(source) => {
                let msg = chain(&*source);
                {
                    let s = state.step_mut(step);
                    s.status = StepStatus::Failed;
                    s.ended_at = Some(now());
                    s.message = Some(msg.clone());
                }
                state.save(&c.run_dir)?;
                c.say(&format!("[{step}] failed: {msg}"));
                c.audit(
                    AuditEvent::new(Category::Action, "full_cycle_failed")
                        .level(Level::Error)
                        .detail("runLabel", state.run_label.clone())
                        .detail("step", step.as_str())
                        .detail("error", msg.clone()),
                );
                let summary = summarize(c, state, Some(&msg));
                write_summary(c, &summary)?;
                return Err(RuntimeError::Step {
                    run_label: state.run_label.clone(),
                    step,
                    source,
                });
            }
        }
    }
    let summary = summarize(c, state, None);
    write_summary(c, &summary)?;
    c.audit(
        AuditEvent::new(Category::Action, "full_cycle_completed")
            .detail("runLabel", state.run_label.clone())
            .detail("version", summary.version)
            .detail("activated", summary.activated),
    );
    Ok(summary)
}

fn run_step(c: &Ctx<'_>, st: &mut RunState, step: Step) -> StepResult<Outcome> {
    match step {
        Step::Dataset => step_dataset(c, st),
        Step::Train => step_train(c, st),
        Step::Eval => step_eval(c, st),
        Step::Merge => step_merge(c, st),
        Step::Gguf => step_gguf(c, st),
        Step::Ollama => step_ollama(c, st),
        Step::Register => step_register(c, st),
        Step::Activate => step_activate(c, st),
    }
}

/// `Display` of an error and each of its causes.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(s) = cur {
        let t = s.to_string();
        if !parts.last().is_some_and(|p| p.contains(&t)) {
            parts.push(t);
        }
        cur = s.source();
    }
    parts.join(": ")
}

// ---------------------------------------------------------------------------------------------
// Options

fn load_configs(o: &RunOptions) -> Result<(TrainConfig, RunSettings, Vec<String>), RuntimeError> {
    // Run settings read here, and the seed's descriptive keys.
    const OURS: [&str; 6] = [
        "gguf_quant",
        "quantization_type",
        "keep_f16",
        "continuous_learning",
        "comment",
        "notes",
    ];
    let files: Vec<&Path> = o.config_files.iter().map(PathBuf::as_path).collect();
    let loaded =
        TrainConfig::load(&files).map_err(|e| RuntimeError::Options(format!("--config: {e}")))?;
    loaded
        .config
        .validate()
        .map_err(|e| RuntimeError::Options(format!("--config: {e}")))?;
    let mut settings = RunSettings::default();
    for path in &files {
        let text = std::fs::read_to_string(path).map_err(|e| RuntimeError::io(path, e))?;
        let value: Value = serde_json::from_str(&text)
            .map_err(|e| RuntimeError::Options(format!("{}: {e}", path.display())))?;
        let bad = |key: &str, want: &str| {
            RuntimeError::Options(format!("{}: {key}: expected {want}", path.display()))
        };
        for key in ["gguf_quant", "quantization_type"] {
            if let Some(v) = value.get(key) {
                settings.gguf_quant = v
                    .as_str()
                    .ok_or_else(|| bad(key, "a quantization name such as \"Q4_K_M\""))?
                    .to_string();
            }
        }
        if let Some(v) = value.get("keep_f16") {
            settings.keep_f16 = v
                .as_bool()
                .ok_or_else(|| bad("keep_f16", "true or false"))?;
        }
        if let Some(v) = value.get("continuous_learning") {
            settings.continuous_learning = serde_json::from_value(v.clone()).map_err(|_| {
                bad(
                    "continuous_learning",
                    "\"original_base\" or \"current_merged\"",
                )
            })?;
        }
    }
    let ft = FileType::parse(&settings.gguf_quant).ok_or_else(|| {
        let names: Vec<&str> = FileType::ALL.iter().map(|f| f.name()).collect();
        RuntimeError::Options(format!(
            "gguf_quant {:?}: expected one of {}",
            settings.gguf_quant,
            names.join(", ")
        ))
    })?;
    settings.gguf_quant = ft.name().to_string();
    let ignored = loaded
        .ignored
        .into_iter()
        .filter(|k| !OURS.iter().any(|o| k.ends_with(&format!(": {o}"))))
        .collect();
    Ok((loaded.config, settings, ignored))
}

/// The base model spec: `--base-model`, else the registry's; with continuous learning on the
/// merged model, the active version's merged directory when there is one.
fn base_spec(
    lineage: &Lineage,
    o: &RunOptions,
    settings: &RunSettings,
) -> Result<String, RuntimeError> {
    let reg = lineage
        .load()
        .map_err(|e| RuntimeError::Options(format!("reading the model registry: {e}")))?;
    if settings.continuous_learning == ContinuousLearning::CurrentMerged {
        if let Some(a) = reg.active().and_then(|v| v.artifact(ArtifactKind::Merged)) {
            let dir = a.resolve(lineage.root());
            if dir.is_dir() {
                return Ok(dir.display().to_string());
            }
        }
    }
    let spec =
        match &o.base_model {
            Some(s) => s.clone(),
            None if !reg.original_base_model.is_empty() => reg.original_base_model.clone(),
            None => return Err(RuntimeError::Options(
                "no base model: pass --base-model DIR|HF_ID (the model registry names none yet)"
                    .into(),
            )),
        };
    // A directory is recorded by its absolute path, so `resume` and the registry do not depend
    // on the working directory.
    Ok(match std::fs::canonicalize(&spec) {
        Ok(p) if p.is_dir() => p.display().to_string(),
        _ => spec,
    })
}

fn resolve_base(
    lineage: &Lineage,
    o: &RunOptions,
    settings: &RunSettings,
    progress: &dyn mh_profile::Progress,
) -> Result<BaseInfo, RuntimeError> {
    let spec = base_spec(lineage, o, settings)?;
    let r = mh_hub::resolve_model(&spec, &mh_hub::HubOptions::from_env(), progress)
        .map_err(|e| RuntimeError::Options(format!("--base-model {spec}: {e}")))?;
    Ok(BaseInfo {
        spec,
        dir: r.dir,
        repo: r.repo,
        revision: r.revision,
        commit: r.commit,
    })
}

fn device(st: &RunState) -> StepResult<mh_model::device::Selected> {
    let choice: DeviceChoice = st.options.device.as_deref().unwrap_or("auto").parse()?;
    Ok(mh_model::device::select(choice)?)
}

fn load_base(st: &RunState, selected: &mh_model::device::Selected) -> StepResult<Model> {
    Ok(Model::load(&st.base.dir, &selected.load_options())?)
}

fn train_config(c: &Ctx<'_>) -> StepResult<TrainConfig> {
    Ok(TrainConfig::load(&[&c.run_dir.join(TRAIN_CONFIG)])?.config)
}

fn out_str(st: &RunState, step: Step, key: &str) -> StepResult<String> {
    st.output(step, key)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| fail(format!("state.json: the {step} step recorded no {key}")))
}

fn out_f64(st: &RunState, step: Step, key: &str) -> Option<f64> {
    st.output(step, key).and_then(Value::as_f64)
}

fn reset_dir(dir: &Path) -> StepResult<()> {
    if dir.exists() {
        std::fs::remove_dir_all(dir)
            .map_err(|e| fail(format!("removing the partial {}: {e}", dir.display())))?;
    }
    Ok(())
}

fn path_value(p: &Path) -> Value {
    Value::String(p.display().to_string())
}

// ---------------------------------------------------------------------------------------------
// Steps

fn step_dataset(c: &Ctx<'_>, st: &RunState) -> StepResult<Outcome> {
    let root = c.profile.root();
    let (mut dcfg, req) = mh_dataset::config::load(root, st.options.dataset_config.as_deref())?;
    if let Some(s) = st.options.seed {
        dcfg.seed = s;
    }
    let template = ChatTemplate::load(&st.base.dir, &TemplateChoice::Auto)?;
    let tokenizer = ModelTokenizer::from_model_dir(&st.base.dir)?;
    let max_seq_length = match st.options.max_seq_length {
        Some(n) => n,
        None => tokenize::default_max_seq_length(root)?,
    };
    let mut built = mh_dataset::build(c.profile, &dcfg, &req, c.hooks.progress)?;
    if built.report.samples == 0 {
        return Err(fail(format!(
            "no usable samples in {} ({} memories dropped, {} unreadable)",
            root.display(),
            built.report.dropped.total(),
            built.report.errors.len()
        )));
    }
    let opts = TokenizeOptions {
        max_seq_length,
        ..TokenizeOptions::default()
    };
    let tokenized = tokenize::tokenize_built(&mut built, &dcfg, &tokenizer, &template, &opts)?;
    let dir = c.run_dir.join("dataset");
    reset_dir(&dir)?;
    tokenize::write_with_tokens(&dir, &built, &dcfg, Format::Chat, false, &tokenized)?;
    let ds = TokenDataset::open(&dir)?;
    if ds.train.is_empty() {
        return Err(fail(format!(
            "{}: no training rows after tokenization (max_seq_length {max_seq_length})",
            dir.display()
        )));
    }
    c.audit(
        AuditEvent::new(Category::Data, "training_export_completed")
            .detail("outputPath", dir.display().to_string())
            .detail("totalSamples", built.report.samples)
            .detail("seed", dcfg.seed)
            .detail("runLabel", st.run_label.clone()),
    );
    // The date range of the memories the samples came from.
    let dates: Vec<String> = built
        .train
        .iter()
        .chain(&built.eval)
        .filter_map(|s| s.timestamp)
        .map(|t| t.format("%Y-%m-%d").to_string())
        .collect();
    let mut o = Map::new();
    o.insert("dir".into(), path_value(&dir));
    o.insert("samples".into(), json!(built.report.samples));
    o.insert("memories_from".into(), json!(dates.iter().min()));
    o.insert("memories_to".into(), json!(dates.iter().max()));
    o.insert("train_rows".into(), json!(ds.train.len()));
    o.insert("eval_rows".into(), json!(ds.eval.len()));
    o.insert("fingerprint".into(), json!(ds.fingerprint));
    o.insert("max_seq_length".into(), json!(max_seq_length));
    o.insert("seed".into(), json!(dcfg.seed));
    o.insert("chat_template".into(), json!(template.name));
    o.insert(
        "system_prompt".into(),
        json!(dcfg.system_prompt(Mode::Emulation, &built.person)),
    );
    Ok(Outcome::done(o))
}

fn step_train(c: &Ctx<'_>, st: &RunState) -> StepResult<Outcome> {
    let ds_dir = PathBuf::from(out_str(st, Step::Dataset, "dir")?);
    let dataset = TokenDataset::open(&ds_dir)?;
    dataset.check_tokenizer(&st.base.dir)?;
    let config = train_config(c)?;
    if let Some(remote) = &st.options.remote {
        return remote::step_train_remote(c, st, remote, &ds_dir, &dataset, &config);
    }
    let selected = device(st)?;
    let model = load_base(st, &selected)?;
    let train_dir = c.run_dir.join("train");
    std::fs::create_dir_all(&train_dir)
        .map_err(|e| fail(format!("creating {}: {e}", train_dir.display())))?;
    // A previous attempt that checkpointed continues from its newest checkpoint.
    let resume = std::fs::read_dir(train_dir.join("checkpoints"))
        .map(|mut d| d.next().is_some())
        .unwrap_or(false);
    c.say(&format!(
        "[train] {} train / {} eval rows on {}{}",
        dataset.train.len(),
        dataset.eval.len(),
        selected.summary(),
        if resume {
            ", from the last checkpoint"
        } else {
            ""
        }
    ));
    let report = mh_trainer::train(
        TrainSpec {
            model,
            base_model: st.base.spec.clone(),
            dataset: &dataset,
            config,
            run_dir: &train_dir,
            resume,
        },
        &Hooks {
            progress: c.hooks.progress,
            stop: c.hooks.stop,
        },
    )?;
    if report.status == Status::Interrupted {
        return Err(fail(format!(
            "training interrupted at step {} of {} (checkpoint kept)",
            report.steps_completed, report.total_steps
        )));
    }
    let adapter = report
        .adapter_dir
        .clone()
        .ok_or_else(|| fail("training wrote no adapter"))?;
    let mut o = Map::new();
    o.insert("adapter_dir".into(), path_value(&adapter));
    o.insert("steps".into(), json!(report.steps_completed));
    o.insert("final_loss".into(), json!(report.final_loss));
    o.insert(
        "final_eval_loss".into(),
        json!(report.final_eval.map(|e| e.loss)),
    );
    o.insert("best_eval_loss".into(), json!(report.best_eval_loss));
    o.insert("device".into(), json!(report.device));
    o.insert("elapsed_s".into(), json!(report.elapsed_s));
    Ok(Outcome::done(o))
}

/// Loss of the base model with `adapter` (or alone) on `rows`.
fn score(
    c: &Ctx<'_>,
    st: &RunState,
    adapter: Option<&Path>,
    rows: &[mh_dataset::tokenize::Sequence],
    batch: usize,
) -> StepResult<Option<EvalResult>> {
    let selected = device(st)?;
    let mut model = load_base(st, &selected)?;
    if let Some(dir) = adapter {
        let a = mh_model::read_peft_adapter(dir, model.device())?;
        model.apply_peft_adapter(&a)?;
    }
    Ok(mh_trainer::evaluate(&model, rows, batch, c.hooks.progress)?)
}

fn step_eval(c: &Ctx<'_>, st: &RunState) -> StepResult<Outcome> {
    let ds_dir = PathBuf::from(out_str(st, Step::Dataset, "dir")?);
    let adapter = PathBuf::from(out_str(st, Step::Train, "adapter_dir")?);
    let rows = TokenDataset::open(&ds_dir)?.eval;
    let batch = train_config(c)?.eval_batch_size.max(1);
    let new = score(c, st, Some(&adapter), &rows, batch)?;
    let reg = c.lineage.load()?;
    let active = reg.active();
    let mut active_loss = None;
    let (passed, reason) = match (active, new) {
        (None, _) => (true, "no version is active yet".to_string()),
        (Some(v), None) => (
            false,
            format!(
                "this run has no eval split to compare with the active version {}",
                v.version
            ),
        ),
        (Some(v), Some(new)) => {
            let merged_is_base = v
                .artifact(ArtifactKind::Merged)
                .and_then(|a| std::fs::canonicalize(a.resolve(c.profile.root())).ok())
                .is_some_and(|p| std::fs::canonicalize(&st.base.dir).ok() == Some(p));
            let same_base = v
                .base_model
                .as_ref()
                .map(|b| b.id.as_str())
                .unwrap_or(v.base_model_used.as_str())
                == st.base.spec;
            let old = if merged_is_base {
                // Continuous learning: the active version is this run's base itself.
                Ok(score(c, st, None, &rows, batch)?)
            } else if !same_base {
                Err(format!(
                    "the active version {} was trained on another base model ({}); compare them \
                     by hand and use `mh-train activate`",
                    v.version, v.base_model_used
                ))
            } else {
                match v.artifact(ArtifactKind::Adapter) {
                    None => Err(format!(
                        "the active version {} has no adapter to score",
                        v.version
                    )),
                    Some(a) => {
                        let dir = a.resolve(c.profile.root());
                        if dir.is_dir() {
                            Ok(score(c, st, Some(&dir), &rows, batch)?)
                        } else {
                            Err(format!(
                                "the active version {}'s adapter {} is missing",
                                v.version,
                                dir.display()
                            ))
                        }
                    }
                }
            };
            match old {
                Err(why) => (false, why),
                Ok(None) => (true, "the eval split has no labelled tokens".into()),
                Ok(Some(old)) => {
                    active_loss = Some(old.loss);
                    if new.loss <= old.loss {
                        (
                            true,
                            format!(
                                "held-out loss {:.4} is not worse than the active version {}'s {:.4}",
                                new.loss, v.version, old.loss
                            ),
                        )
                    } else {
                        (
                            false,
                            format!(
                                "held-out loss {:.4} is worse than the active version {}'s {:.4} on this run's eval set",
                                new.loss, v.version, old.loss
                            ),
                        )
                    }
                }
            }
        }
    };
    c.say(&format!(
        "[eval] gate {}: {reason}",
        if passed { "passed" } else { "not passed" }
    ));
    c.audit(
        AuditEvent::new(Category::Decision, "adapter_evaluation_completed")
            .detail("runLabel", st.run_label.clone())
            .detail("evalLoss", new.map(|e| e.loss))
            .detail("activeVersion", active.map(|v| v.version))
            .detail("activeEvalLoss", active_loss)
            .detail("gatePassed", passed)
            .detail("reason", reason.clone()),
    );
    let mut o = Map::new();
    o.insert("eval_loss".into(), json!(new.map(|e| e.loss)));
    o.insert("eval_ppl".into(), json!(new.map(|e| e.ppl)));
    o.insert("eval_tokens".into(), json!(new.map(|e| e.tokens)));
    o.insert("active_version".into(), json!(active.map(|v| v.version)));
    o.insert("active_eval_loss".into(), json!(active_loss));
    o.insert("gate_passed".into(), json!(passed));
    o.insert("gate_reason".into(), json!(reason));
    Ok(Outcome::done(o))
}

fn step_merge(c: &Ctx<'_>, st: &RunState) -> StepResult<Outcome> {
    let adapter = PathBuf::from(out_str(st, Step::Train, "adapter_dir")?);
    let dir = c.run_dir.join("merged");
    reset_dir(&dir)?;
    let base = MergeBase {
        dir: st.base.dir.clone(),
        repo: st.base.repo.clone(),
        revision: st.base.revision.clone(),
        commit: st.base.commit.clone(),
    };
    let report = mh_model::merge_adapter(&base, &adapter, &dir, c.hooks.progress)?;
    let mut o = Map::new();
    o.insert("dir".into(), path_value(&dir));
    o.insert("tensors_merged".into(), json!(report.tensors_merged.len()));
    Ok(Outcome::done(o))
}

fn model_name(c: &Ctx<'_>, st: &RunState) -> StepResult<ModelName> {
    Ok(match &st.options.model_name {
        Some(n) => ModelName::sanitized(n)?,
        None => ModelName::for_run(&c.lineage.user_name(), &st.run_label)?,
    })
}

fn step_gguf(c: &Ctx<'_>, st: &RunState) -> StepResult<Outcome> {
    let merged = PathBuf::from(out_str(st, Step::Merge, "dir")?);
    let quant = FileType::parse(&st.settings.gguf_quant)
        .ok_or_else(|| fail(format!("unknown gguf_quant {:?}", st.settings.gguf_quant)))?;
    let mut types = vec![quant];
    if st.settings.keep_f16 && quant != FileType::F16 {
        types.push(FileType::F16);
    }
    let template = ChatTemplate::load(&st.base.dir, &TemplateChoice::Auto)?;
    let name = model_name(c, st)?;
    let dir = c.run_dir.join("gguf");
    std::fs::create_dir_all(&dir).map_err(|e| fail(format!("creating {}: {e}", dir.display())))?;
    c.audit(
        AuditEvent::new(Category::Action, "gguf_conversion_started")
            .detail("runLabel", st.run_label.clone())
            .detail("quantization", st.settings.gguf_quant.clone()),
    );
    let mut files = Vec::new();
    for ft in types {
        let opts = ExportOptions {
            file_type: ft,
            name: Some(name.to_string()),
            chat_template: Some(template.source.clone()),
            tokenizer_pre: None,
        };
        match mh_gguf::export_model(&merged, &dir, &opts, c.hooks.progress) {
            Ok(r) => files.push(json!({
                "path": r.path.display().to_string(),
                "quant": ft.name(),
                "bytes": r.file_size,
            })),
            Err(e) => {
                c.audit(
                    AuditEvent::new(Category::Action, "gguf_conversion_failed")
                        .level(Level::Error)
                        .detail("runLabel", st.run_label.clone())
                        .detail("quantization", ft.name())
                        .detail("error", e.to_string()),
                );
                return Err(e.into());
            }
        }
    }
    let primary = files[0]["path"].clone();
    c.audit(
        AuditEvent::new(Category::Action, "gguf_conversion_completed")
            .detail("runLabel", st.run_label.clone())
            .detail("ggufPath", primary.clone()),
    );
    let mut o = Map::new();
    o.insert("path".into(), primary);
    o.insert("files".into(), Value::Array(files));
    Ok(Outcome::done(o))
}

fn step_ollama(c: &Ctx<'_>, st: &RunState) -> StepResult<Outcome> {
    let gguf = PathBuf::from(out_str(st, Step::Gguf, "path")?);
    let template = ChatTemplate::load(&st.base.dir, &TemplateChoice::Auto)?;
    let otemplate =
        OllamaTemplate::from_chat_template(&template.source, &TemplateOptions::default())?;
    let num_ctx = st
        .output(Step::Dataset, "max_seq_length")
        .and_then(Value::as_u64)
        .and_then(|n| u32::try_from(n).ok());
    let spec = ModelSpec {
        name: model_name(c, st)?,
        base: ModelBase::Gguf(gguf),
        adapter: None,
        template: otemplate,
        system: st
            .output(Step::Dataset, "system_prompt")
            .and_then(Value::as_str)
            .map(str::to_string),
        num_ctx,
    };
    let written = spec.write_modelfile()?;
    let mut o = Map::new();
    o.insert("model_name".into(), json!(spec.name.to_string()));
    o.insert("modelfile".into(), path_value(&written.path));
    o.insert("command".into(), json!(written.command));
    if st.options.skip_ollama {
        return Ok(Outcome {
            skipped: Some(format!(
                "--skip-ollama; the Modelfile is ready, register it with: {}",
                written.command
            )),
            outputs: o,
        });
    }
    let client = match &st.options.ollama_host {
        Some(url) => OllamaClient::with_base_url(url, ClientOptions::default()),
        None => OllamaClient::from_env()?,
    };
    match client.register(&spec, &mut |_| {}) {
        Ok(r) => {
            o.insert("registered".into(), json!(true));
            o.insert("server_version".into(), json!(r.server_version.raw));
            o.insert("host".into(), json!(client.base_url()));
            c.audit(
                AuditEvent::new(Category::Action, "ollama_lora_model_created")
                    .detail("runLabel", st.run_label.clone())
                    .detail("modelName", spec.name.to_string())
                    .detail("modelfilePath", written.path.display().to_string()),
            );
            Ok(Outcome::done(o))
        }
        Err(e) if e.is_unreachable() => {
            o.insert("registered".into(), json!(false));
            Ok(Outcome {
                skipped: Some(format!(
                    "no Ollama is reachable at {} ({e}); the Modelfile is ready, register it \
                     with: {}",
                    client.base_url(),
                    written.command
                )),
                outputs: o,
            })
        }
        Err(e) => Err(e.into()),
    }
}

/// `path` as recorded in the registry: relative to the profile root when inside it.
fn artifact(c: &Ctx<'_>, kind: ArtifactKind, path: &Path) -> StepResult<Artifact> {
    let mut a = Artifact::record(kind, path, true)
        .map_err(|e| fail(format!("hashing {}: {e}", path.display())))?;
    if let Ok(rel) = path.strip_prefix(c.profile.root()) {
        a.path = rel.display().to_string();
    }
    Ok(a)
}

fn step_register(c: &Ctx<'_>, st: &mut RunState) -> StepResult<Outcome> {
    // A run killed after the registry write and before state.json recorded it registered
    // already: find that version instead of adding a second one.
    let reg = c.lineage.load()?;
    if let Some(v) = reg
        .training_history
        .iter()
        .find(|v| v.run_label == st.run_label)
    {
        st.version = Some(v.version);
        let mut o = Map::new();
        o.insert("version".into(), json!(v.version));
        o.insert("parent_version".into(), json!(v.parent_version));
        return Ok(Outcome::done(o));
    }
    let adapter = PathBuf::from(out_str(st, Step::Train, "adapter_dir")?);
    let merged = PathBuf::from(out_str(st, Step::Merge, "dir")?);
    let mut artifacts = vec![
        artifact(c, ArtifactKind::Adapter, &adapter)?,
        artifact(c, ArtifactKind::Merged, &merged)?,
    ];
    if let Some(files) = st.output(Step::Gguf, "files").and_then(Value::as_array) {
        for f in files {
            let path = f["path"]
                .as_str()
                .ok_or_else(|| fail("state.json: a GGUF without a path"))?;
            let a = artifact(c, ArtifactKind::Gguf, Path::new(path))?;
            artifacts.push(match f["quant"].as_str() {
                Some(q) => a.with_quant(q),
                None => a,
            });
        }
    }
    if let Some(mf) = st.output(Step::Ollama, "modelfile").and_then(Value::as_str) {
        artifacts.push(artifact(c, ArtifactKind::Modelfile, Path::new(mf))?);
    }
    let ollama_model = (st.step(Step::Ollama).status == StepStatus::Completed)
        .then(|| out_str(st, Step::Ollama, "model_name").ok())
        .flatten();
    let weights = st.base.dir.join(mh_hub::WEIGHTS_FILE);
    let weights_sha256 = if weights.is_file() {
        Some(
            mh_lineage::hash::hash_path(&weights)
                .map_err(|e| fail(format!("hashing {}: {e}", weights.display())))?
                .sha256,
        )
    } else {
        None
    };
    let cfg_path = c.run_dir.join(TRAIN_CONFIG);
    let cfg_bytes = std::fs::read(&cfg_path)
        .map_err(|e| fail(format!("reading {}: {e}", cfg_path.display())))?;
    let metrics = Metrics {
        final_eval_loss: out_f64(st, Step::Eval, "eval_loss"),
        best_eval_loss: out_f64(st, Step::Train, "best_eval_loss"),
        best_eval_ppl: out_f64(st, Step::Train, "best_eval_loss").map(f64::exp),
        final_train_loss: out_f64(st, Step::Train, "final_loss"),
        extra: Map::new(),
    };
    let ds_dir = out_str(st, Step::Dataset, "dir")?;
    let samples = st
        .output(Step::Dataset, "samples")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    let new = NewVersion {
        run_id: st.run_id.clone(),
        run_label: st.run_label.clone(),
        timestamp: None,
        base_model_used: st.base.spec.clone(),
        output_model_path: artifacts[1].path.clone(),
        gguf_path: artifacts
            .iter()
            .find(|a| a.kind == ArtifactKind::Gguf)
            .map(|a| a.path.clone())
            .unwrap_or_default(),
        samples_trained: samples,
        mode_filter: None,
        training_success: true,
        parent: Parent::Auto,
        method: Some(Method::Lora),
        location: Some(location(st)),
        base_model: Some(BaseModelRef {
            id: st.base.spec.clone(),
            revision: st.base.commit.clone(),
            weights_sha256,
            extra: Map::new(),
        }),
        dataset: Some(DatasetFingerprint {
            sha256: out_str(st, Step::Dataset, "fingerprint")?,
            samples,
            memories_from: out_str(st, Step::Dataset, "memories_from").ok(),
            memories_to: out_str(st, Step::Dataset, "memories_to").ok(),
            path: Some(
                Path::new(&ds_dir)
                    .strip_prefix(c.profile.root())
                    .map(|p| p.display().to_string())
                    .unwrap_or(ds_dir.clone()),
            ),
            extra: Map::new(),
        }),
        config_sha256: Some(hex::encode(Sha256::digest(&cfg_bytes))),
        metrics,
        artifacts,
        ollama_model,
    };
    let version = c.lineage.add_version(c.lock, new)?;
    st.version = Some(version);
    let parent = c
        .lineage
        .load()?
        .get(version)
        .and_then(|v| v.parent_version);
    c.say(&format!(
        "[register] version {version}{}",
        parent.map_or(String::new(), |p| format!(" (parent {p})"))
    ));
    let mut o = Map::new();
    o.insert("version".into(), json!(version));
    o.insert("parent_version".into(), json!(parent));
    Ok(Outcome::done(o))
}

/// Where the version was trained: this machine (its GPU, if any), or a pod with its GPU type,
/// minutes and cost.
fn location(st: &RunState) -> Location {
    let s = |key| st.output(Step::Train, key).and_then(Value::as_str);
    match s("pod_id") {
        Some(pod) => {
            let mut extra = Map::new();
            for (from, to) in [
                ("cloud", "cloud"),
                ("pod_minutes", "minutes"),
                ("pod_cost_usd", "cost_usd"),
            ] {
                if let Some(v) = st.output(Step::Train, from).filter(|v| !v.is_null()) {
                    extra.insert(to.into(), v.clone());
                }
            }
            Location {
                kind: Place::Remote,
                pod_id: Some(pod.to_string()),
                gpu: s("gpu_type").map(str::to_string),
                extra,
            }
        }
        None => Location {
            kind: Place::Local,
            pod_id: None,
            gpu: s("device")
                .filter(|d| !d.starts_with("cpu"))
                .map(str::to_string),
            extra: Map::new(),
        },
    }
}

fn step_activate(c: &Ctx<'_>, st: &RunState) -> StepResult<Outcome> {
    let version = st
        .version
        .ok_or_else(|| fail("no version was registered"))?;
    let mut o = Map::new();
    o.insert("version".into(), json!(version));
    if st.options.no_activate {
        return Ok(Outcome {
            skipped: Some(format!("--no-activate: version {version} stays candidate")),
            outputs: o,
        });
    }
    let mut passed = st
        .output(Step::Eval, "gate_passed")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let mut reason = out_str(st, Step::Eval, "gate_reason")?;
    let compared = st
        .output(Step::Eval, "active_version")
        .and_then(Value::as_u64);
    let active_now = c.lineage.load()?.active().map(|v| u64::from(v.version));
    if passed && active_now != compared {
        passed = false;
        reason = format!(
            "the active version changed since the eval step ({} then, {} now)",
            compared.map_or("none".into(), |v| v.to_string()),
            active_now.map_or("none".into(), |v| v.to_string())
        );
    }
    o.insert("gate_reason".into(), json!(reason));
    if !passed {
        c.audit(
            AuditEvent::new(Category::Decision, "adapter_activation_skipped")
                .level(Level::Warn)
                .detail("runLabel", st.run_label.clone())
                .detail("version", version)
                .detail("reason", reason.clone()),
        );
        return Ok(Outcome {
            skipped: Some(format!("version {version} stays candidate: {reason}")),
            outputs: o,
        });
    }
    let change = c.lineage.activate(c.lock, version, ACTIVATED_BY)?;
    o.insert("activated".into(), json!(true));
    o.insert("model_name".into(), json!(change.model_name));
    o.insert("previous".into(), json!(change.previous));
    Ok(Outcome::done(o))
}

// ---------------------------------------------------------------------------------------------
// Summary and plan

/// `run-summary.json`: the seed's runner fields (facts §7.5, §6.1 step 10), then ours.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    pub run_id: String,
    pub run_label: String,
    pub date: String,
    pub training_success: bool,
    pub terminated: bool,
    pub error: Option<String>,
    pub pod_id: Option<String>,
    pub ssh_user: Option<String>,
    pub ssh_host: Option<String>,
    pub ssh_key_path: Option<PathBuf>,
    pub connection_mode: String,
    /// `<sha256>  <remote path of train-config.json>` as the pod computed it.
    pub upload_verification: Option<String>,
    // --- ours ---
    pub run_dir: PathBuf,
    /// The pod's GPU type, minutes billed and cost (remote runs).
    pub gpu_type: Option<String>,
    pub pod_minutes: Option<f64>,
    pub pod_cost_usd: Option<f64>,
    pub base_model: String,
    pub version: Option<u32>,
    pub parent_version: Option<u32>,
    pub activated: bool,
    pub gate_reason: Option<String>,
    pub eval_loss: Option<f64>,
    pub active_eval_loss: Option<f64>,
    pub gguf_path: Option<String>,
    pub modelfile: Option<String>,
    pub ollama_model: Option<String>,
    pub ollama_command: Option<String>,
    pub failed_step: Option<Step>,
    pub steps: Vec<StepState>,
}

fn summarize(c: &Ctx<'_>, st: &RunState, error: Option<&str>) -> RunSummary {
    let s = |step, key| {
        st.output(step, key)
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let registered_in_ollama = st.step(Step::Ollama).status == StepStatus::Completed;
    // Written as the pod step goes, so a failed remote run still names its pod.
    let pod = remote::PodRecord::load(&c.run_dir).unwrap_or_default();
    RunSummary {
        run_id: st.run_id.clone(),
        run_label: st.run_label.clone(),
        date: st.run_label.get(..10).unwrap_or_default().to_string(),
        training_success: st.step(Step::Train).status == StepStatus::Completed,
        terminated: pod.terminated,
        error: error.map(str::to_string),
        connection_mode: if st.options.remote.is_some() {
            "direct-ssh-sftp".into()
        } else {
            "local".into()
        },
        pod_id: pod.pod_id,
        ssh_user: pod.ssh_user,
        ssh_host: pod.ssh_host,
        ssh_key_path: pod.ssh_key_path,
        upload_verification: pod.upload_verification,
        gpu_type: pod.gpu_type,
        pod_minutes: pod.minutes,
        pod_cost_usd: pod.cost_usd,
        run_dir: c.run_dir.clone(),
        base_model: st.base.spec.clone(),
        version: st.version,
        parent_version: st
            .output(Step::Register, "parent_version")
            .and_then(Value::as_u64)
            .and_then(|v| u32::try_from(v).ok()),
        activated: st.step(Step::Activate).status == StepStatus::Completed,
        gate_reason: s(Step::Eval, "gate_reason"),
        eval_loss: out_f64(st, Step::Eval, "eval_loss"),
        active_eval_loss: out_f64(st, Step::Eval, "active_eval_loss"),
        gguf_path: s(Step::Gguf, "path"),
        modelfile: s(Step::Ollama, "modelfile"),
        ollama_model: registered_in_ollama
            .then(|| s(Step::Ollama, "model_name"))
            .flatten(),
        ollama_command: s(Step::Ollama, "command"),
        failed_step: st
            .steps
            .iter()
            .find(|s| s.status == StepStatus::Failed)
            .map(|s| s.name),
        steps: st.steps.clone(),
    }
}

fn write_summary(c: &Ctx<'_>, summary: &RunSummary) -> Result<(), RuntimeError> {
    let path = c.run_dir.join(SUMMARY_FILE);
    mh_profile::atomic_write_json(&path, summary).map_err(|e| RuntimeError::io(&path, e))
}

/// What `--dry-run` prints: nothing is written, locked or downloaded.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub profile: PathBuf,
    pub runs_dir: PathBuf,
    pub base_model: String,
    /// Size of the base model's weights when it is a local directory.
    pub base_weights_bytes: Option<u64>,
    pub train: TrainConfig,
    pub settings: RunSettings,
    pub ignored_config_keys: Vec<String>,
    pub active_version: Option<u32>,
    pub next_version: u32,
    /// Samples the curation keeps now (train / eval), before tokenization drops over-long ones.
    pub train_samples: usize,
    pub eval_samples: usize,
    /// Optimizer steps those train samples give with the training settings.
    pub optimizer_steps: usize,
    pub steps: Vec<(Step, String)>,
}

impl Plan {
    pub fn render(&self) -> String {
        let mut out = format!(
            "profile {}\nrun directory {}/<RUN_LABEL>\nbase model {}{}\n",
            self.profile.display(),
            self.runs_dir.display(),
            self.base_model,
            self.base_weights_bytes.map_or(String::new(), |b| format!(
                " ({:.1} MB of weights)",
                b as f64 / 1e6
            ))
        );
        out.push_str(&format!(
            "training: LoRA rank {}, alpha {}, {} epochs{}, learning rate {}, batch {}x{}\n",
            self.train.rank,
            self.train.alpha,
            self.train.epochs,
            self.train
                .max_steps
                .map_or(String::new(), |m| format!(" (at most {m} steps)")),
            self.train.learning_rate,
            self.train.micro_batch_size,
            self.train.gradient_accumulation_steps
        ));
        for k in &self.ignored_config_keys {
            out.push_str(&format!("note: ignoring {k} (not a setting)\n"));
        }
        out.push_str(&format!(
            "data: {} train / {} eval samples -> about {} optimizer steps\n",
            self.train_samples, self.eval_samples, self.optimizer_steps
        ));
        out.push_str(&format!(
            "registers version {}; active now: {}\n",
            self.next_version,
            self.active_version
                .map_or("none (base model)".to_string(), |v| v.to_string())
        ));
        for (i, (step, what)) in self.steps.iter().enumerate() {
            out.push_str(&format!("{:>2}. {:<9} {what}\n", i + 1, step.as_str()));
        }
        out
    }
}

/// The plan of `run_local(profile, options)`: the memories are curated (read only) to size the
/// run; nothing is written, locked or downloaded.
pub fn plan(
    profile: &Profile,
    options: &RunOptions,
    progress: &dyn mh_profile::Progress,
) -> Result<Plan, RuntimeError> {
    let lineage = Lineage::new(profile);
    let (train, settings, ignored) = load_configs(options)?;
    let (mut dcfg, req) =
        mh_dataset::config::load(profile.root(), options.dataset_config.as_deref())
            .map_err(|e| RuntimeError::Options(format!("dataset settings: {e}")))?;
    if let Some(s) = options.seed {
        dcfg.seed = s;
    }
    let built = mh_dataset::build(profile, &dcfg, &req, progress).map_err(|e| {
        RuntimeError::Options(format!("curating {}: {e}", profile.root().display()))
    })?;
    let optimizer_steps = mh_trainer::data::Plan::new(
        built.train.len(),
        train.micro_batch_size.max(1),
        train.gradient_accumulation_steps.max(1),
        train.epochs,
        train.max_steps,
        train.seed,
    )
    .total_steps;
    let base = base_spec(&lineage, options, &settings)?;
    let base_dir = Path::new(&base);
    let base_weights_bytes = base_dir.is_dir().then(|| {
        std::fs::read_dir(base_dir)
            .map(|d| {
                d.flatten()
                    .filter(|e| e.file_name().to_string_lossy().ends_with(".safetensors"))
                    .filter_map(|e| e.metadata().ok())
                    .map(|m| m.len())
                    .sum()
            })
            .unwrap_or(0)
    });
    let reg = lineage
        .load()
        .map_err(|e| RuntimeError::Options(format!("reading the model registry: {e}")))?;
    let ollama = if options.skip_ollama {
        "skipped (--skip-ollama); the Modelfile is written".to_string()
    } else {
        let host = options.ollama_host.clone().unwrap_or_else(|| {
            std::env::var(mh_ollama::OLLAMA_HOST_ENV).unwrap_or(mh_ollama::DEFAULT_HOST.into())
        });
        format!("write the Modelfile and register with Ollama at {host} (skipped if none runs)")
    };
    let steps = vec![
        (
            Step::Dataset,
            format!(
                "curate the memories, tokenize with {}'s tokenizer and chat template",
                if base_dir.is_dir() {
                    "the base model"
                } else {
                    "the hub model"
                }
            ),
        ),
        (
            Step::Train,
            format!(
                "LoRA fine-tune on {}",
                options.device.as_deref().unwrap_or("auto")
            ),
        ),
        (
            Step::Eval,
            "held-out loss of the new adapter and of the active version on this eval set".into(),
        ),
        (Step::Merge, "fold the adapter into the base weights".into()),
        (
            Step::Gguf,
            format!(
                "export model-{}.gguf{}",
                settings.gguf_quant,
                if settings.keep_f16 {
                    " and model-F16.gguf"
                } else {
                    ""
                }
            ),
        ),
        (Step::Ollama, ollama),
        (
            Step::Register,
            format!(
                "add version {} to etc/model-registry.json",
                reg.next_version()
            ),
        ),
        (
            Step::Activate,
            if options.no_activate {
                "skipped (--no-activate); the version stays candidate".into()
            } else {
                "activate if its held-out loss is not worse than the active version's".into()
            },
        ),
    ];
    Ok(Plan {
        profile: profile.root().to_path_buf(),
        runs_dir: profile.root().join(RUNS_DIR),
        base_model: base,
        base_weights_bytes,
        train,
        settings,
        ignored_config_keys: ignored,
        active_version: reg.active().map(|v| v.version),
        next_version: reg.next_version(),
        train_samples: built.train.len(),
        eval_samples: built.eval.len(),
        optimizer_steps,
        steps,
    })
}
