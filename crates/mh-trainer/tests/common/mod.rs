//! A tiny model and the demo profile's tokenized dataset, built once per test binary.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::OnceLock;

use mh_dataset::template::{ChatTemplate, TemplateChoice};
use mh_dataset::tokenize::{self, ModelTokenizer, TokenizeOptions};
use mh_dataset::{config, Format};
use mh_model::{generate_tiny_model, Arch, LoadOptions, Model, TinyDims, TinySpec};
use mh_profile::{NoProgress, Profile};
use mh_trainer::{Hooks, TokenDataset, TrainConfig, TrainReport, TrainSpec};

pub struct Fixture {
    _dir: tempfile::TempDir,
    pub model: PathBuf,
    pub dataset: PathBuf,
    pub packed: PathBuf,
}

pub fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let profile = dir.path().join("profile");
        mh_testkit::copy_dir(&mh_testkit::demo_profile(), &profile).unwrap();
        let (config, req) = config::load(&profile, None).unwrap();
        let built = mh_dataset::build(&Profile::at(&profile), &config, &req, &NoProgress).unwrap();

        let model = dir.path().join("model");
        let texts = tokenize::tiny::corpus(&built, &config);
        let tiny = tokenize::train_tiny_tokenizer(&texts, 1024, &model).unwrap();
        let tokenizer = ModelTokenizer::from_model_dir(&model).unwrap();
        let mut spec = TinySpec::new(Arch::Qwen2, TinyDims::small(tiny.vocab_size), 3);
        spec.eos_token_id = tokenizer.single_token_id("<|im_end|>").unwrap();
        spec.bos_token_id = None;
        generate_tiny_model(&model, &spec).unwrap();

        let template = ChatTemplate::load(&model, &TemplateChoice::Auto).unwrap();
        let write = |out: &Path, pack: bool| {
            let opts = TokenizeOptions {
                max_seq_length: 256,
                pack,
                ..TokenizeOptions::default()
            };
            let mut built = built.clone();
            let t = tokenize::tokenize_built(&mut built, &config, &tokenizer, &template, &opts)
                .unwrap();
            tokenize::write_with_tokens(out, &built, &config, Format::Chat, false, &t).unwrap();
        };
        let dataset = dir.path().join("dataset");
        let packed = dir.path().join("packed");
        write(&dataset, false);
        write(&packed, true);
        Fixture {
            _dir: dir,
            model,
            dataset,
            packed,
        }
    })
}

pub fn model() -> Model {
    Model::load(&fixture().model, &LoadOptions::cpu_f32()).unwrap()
}

/// The demo dataset cut to `train` / `eval` rows.
pub fn dataset(train: usize, eval: usize) -> TokenDataset {
    let mut d = TokenDataset::open(&fixture().dataset).unwrap();
    d.train.truncate(train);
    d.eval.truncate(eval);
    d.fingerprint = format!("{}-{train}-{eval}", d.fingerprint);
    d
}

/// Settings small enough for a test: no warm-up, no periodic eval or checkpoint.
pub fn config() -> TrainConfig {
    TrainConfig {
        rank: 8,
        alpha: 16.0,
        epochs: 1.0,
        micro_batch_size: 2,
        gradient_accumulation_steps: 2,
        max_seq_length: 256,
        learning_rate: 5e-3,
        warmup_ratio: 0.0,
        eval_every: 0,
        save_every: 0,
        seed: 11,
        ..TrainConfig::default()
    }
}

pub fn run(
    dataset: &TokenDataset,
    config: TrainConfig,
    run_dir: &Path,
    resume: bool,
    progress: &dyn mh_profile::Progress,
    stop: &AtomicBool,
) -> Result<TrainReport, mh_trainer::TrainError> {
    mh_trainer::train(
        TrainSpec {
            model: model(),
            base_model: "tiny-demo".into(),
            dataset,
            config,
            run_dir,
            resume,
        },
        &Hooks { progress, stop },
    )
}
