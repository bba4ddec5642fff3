//! One LoRA training step (forward + backward + grad-norm clip + AdamW) and greedy generation
//! on a Qwen2-shaped model, f32 on the CPU: tokens/s and peak RSS.
//!
//! Model: 4 layers, hidden 512, 8 heads over 2 KV heads, intermediate 1408, vocab 16384 (tied
//! embeddings, q/k/v biases), random weights from `generate_tiny_model` (cached under the
//! target directory). LoRA r 16, alpha 32, no dropout, on all seven projections. A step is a
//! micro-batch of 4 rows × 256 random token ids with every position labelled, run as
//! `mh-trainer` runs it: `Batch::new` → `nll_sum` → mean → `backward` → `clip_grad_norm` (1.0)
//! → `AdamW::step`. Two warm-up steps, then the median of the timed steps; tokens/s is
//! 4·256 / median step time. The forward (loss synced with `to_scalar`), backward and
//! clip + AdamW parts are timed separately too.
//!
//! Generation: greedy, 128 new tokens after a 32-token prompt, batch 1, KV cache, no stop ids,
//! through `Model::generate` on the same model (LoRA branches unmerged, as PEFT's); the median of
//! three runs after a warm-up. Also with the branches merged, for comparison.
//!
//! Each part runs in a child process (this binary re-run) so its peak RSS, from `wait4`, is its
//! own. The token ids come from splitmix64 with seed 0, which
//! `scripts/baselines/peft_train_step.py` reproduces: with B = 0 the first step's loss must equal
//! transformers' on the same weights, and the greedy tokens should too.
//! `MH_BENCH_STEPS` (default 5) and `MH_BENCH_WARMUP` (default 2) change the step counts.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use mh_dataset::tokenize::Sequence;
use mh_model::candle_core::{Tensor, Var};
use mh_model::{
    generate_tiny_model, Arch, GenerationConfig, LoadOptions, LoraConfig, Model, TinyDims, TinySpec,
};
use mh_trainer::data::Batch;
use mh_trainer::loss::nll_sum;
use mh_trainer::optim::{clip_grad_norm, AdamW, AdamWParams};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const CHILD: &str = "MH_BENCH_TRAIN_CHILD";
const MODEL: &str = "MH_BENCH_TRAIN_MODEL";
const RESULT: &str = "MH_BENCH_TRAIN_RESULT";

const DIMS: TinyDims = TinyDims {
    layers: 4,
    hidden: 512,
    heads: 8,
    kv_heads: 2,
    intermediate: 1408,
    vocab: 16384,
};
const BATCH: usize = 4;
const SEQ: usize = 256;
const RANK: usize = 16;
const ALPHA: f64 = 32.0;
const LR: f64 = 1e-4;
const MAX_GRAD_NORM: f64 = 1.0;
const PROMPT: usize = 32;
const NEW_TOKENS: usize = 128;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn main() {
    let outcome = match std::env::var(CHILD).ok().as_deref() {
        Some(mode) => child(mode),
        None => parent(),
    };
    if let Err(e) = outcome {
        eprintln!("train_step: {e}");
        std::process::exit(1);
    }
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn parent() -> Res<()> {
    let dir = mh_bench::cache_dir("train-step-qwen2-4x512");
    let model_dir = dir.join("model");
    if !model_dir.join("model.safetensors").is_file() || !model_dir.join("config.json").is_file() {
        eprintln!("generating the random model in {} …", model_dir.display());
        generate_tiny_model(&model_dir, &TinySpec::new(Arch::Qwen2, DIMS, 0))?;
    }
    let exe = std::env::current_exe()?;
    println!(
        "train_step: qwen2 {} layers, hidden {}, {}/{} heads, intermediate {}, vocab {}; LoRA r{RANK} alpha {ALPHA} x7; \
         batch {BATCH}x{SEQ}, f32, CPU, {} candle threads; model {}",
        DIMS.layers,
        DIMS.hidden,
        DIMS.heads,
        DIMS.kv_heads,
        DIMS.intermediate,
        DIMS.vocab,
        mh_model::candle_core::utils::get_num_threads(),
        model_dir.display()
    );
    let run = |mode: &str| -> Res<(Value, mh_bench::ChildRun)> {
        let result = dir.join(format!("{mode}-result.json"));
        let _ = std::fs::remove_file(&result);
        let r = mh_bench::measure(
            Command::new(&exe)
                .env(CHILD, mode)
                .env(MODEL, &model_dir)
                .env(RESULT, &result),
        )?;
        let v: Value = serde_json::from_slice(&std::fs::read(&result)?)?;
        Ok((v, r))
    };

    let (t, r) = run("train")?;
    let step = t["step_s"].as_f64().unwrap_or(f64::NAN);
    println!(
        "train_step/step: median {:.3} s over {} steps = {:.0} tokens/s (forward {:.3} s, backward {:.3} s, clip+AdamW {:.3} s); \
         loss {:.6} -> {:.6}; peak RSS {:.0} MB",
        step,
        t["steps"],
        (BATCH * SEQ) as f64 / step,
        t["forward_s"].as_f64().unwrap_or(f64::NAN),
        t["backward_s"].as_f64().unwrap_or(f64::NAN),
        t["optim_s"].as_f64().unwrap_or(f64::NAN),
        t["first_loss"].as_f64().unwrap_or(f64::NAN),
        t["last_loss"].as_f64().unwrap_or(f64::NAN),
        r.peak_rss_bytes as f64 / 1e6
    );
    println!("train_step/step times (s): {}", t["step_times_s"]);

    let (g, r) = run("generate")?;
    println!(
        "train_step/generate: {NEW_TOKENS} new tokens after {PROMPT}, greedy, batch 1, KV cache: \
         {:.1} tokens/s with LoRA unmerged ({:.3} s), {:.1} tokens/s merged; tokens sha256 {}; peak RSS {:.0} MB",
        NEW_TOKENS as f64 / g["lora_s"].as_f64().unwrap_or(f64::NAN),
        g["lora_s"].as_f64().unwrap_or(f64::NAN),
        NEW_TOKENS as f64 / g["merged_s"].as_f64().unwrap_or(f64::NAN),
        g["tokens_sha256"].as_str().unwrap_or("?"),
        r.peak_rss_bytes as f64 / 1e6
    );
    Ok(())
}

fn child(mode: &str) -> Res<()> {
    let model_dir = PathBuf::from(std::env::var_os(MODEL).ok_or("no model directory")?);
    let result_path = PathBuf::from(std::env::var_os(RESULT).ok_or("no result path")?);
    let mut model = Model::load(&model_dir, &LoadOptions::cpu_f32())?;
    model.init_lora(&LoraConfig::new(RANK, ALPHA))?;
    let result = match mode {
        "train" => train(&model)?,
        "generate" => generate(&mut model)?,
        other => return Err(format!("unknown child mode {other:?}").into()),
    };
    write_result(&result_path, &result)
}

fn write_result(path: &Path, v: &Value) -> Res<()> {
    mh_profile::atomic_write(path, serde_json::to_string(v)?.as_bytes())?;
    Ok(())
}

/// splitmix64 from `seed`: the ids the Python baseline draws too.
fn token_ids(seed: u64, n: usize, vocab: usize) -> Vec<u32> {
    let mut state = seed;
    (0..n)
        .map(|_| {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            (z % vocab as u64) as u32
        })
        .collect()
}

fn median(xs: &[f64]) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

fn train(model: &Model) -> Res<Value> {
    let warmup = env_usize("MH_BENCH_WARMUP", 2);
    let steps = env_usize("MH_BENCH_STEPS", 5).max(1);
    let ids = token_ids(0, BATCH * SEQ, DIMS.vocab);
    let rows: Vec<Sequence> = ids
        .chunks(SEQ)
        .map(|row| Sequence {
            input_ids: row.to_vec(),
            labels: row.iter().map(|&t| t as i32).collect(),
            lengths: vec![SEQ],
        })
        .collect();
    let rows: Vec<&Sequence> = rows.iter().collect();
    let params: Vec<Var> = model.lora_vars();
    let mut optimizer = AdamW::new(
        params.clone(),
        AdamWParams {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
        },
    )?;
    let (mut fwd, mut bwd, mut opt, mut total, mut losses) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for step in 0..warmup + steps {
        let t0 = Instant::now();
        let batch = Batch::new(&rows, model.device())?;
        let nll = nll_sum(model, &batch, Some(step as u64))?.ok_or("the batch has no target")?;
        let targets = batch.targets.len();
        let loss = nll.to_scalar::<f32>()? as f64 / targets as f64;
        let t1 = Instant::now();
        let store = (nll / targets as f64)?.backward()?;
        let mut grads: Vec<Tensor> = params
            .iter()
            .map(|p| match store.get(p.as_tensor()) {
                Some(g) => Ok(g.clone()),
                None => p.as_tensor().zeros_like(),
            })
            .collect::<Result<_, _>>()?;
        drop(store);
        let t2 = Instant::now();
        clip_grad_norm(&mut grads, MAX_GRAD_NORM)?;
        optimizer.step(&grads, LR)?;
        let t3 = Instant::now();
        losses.push(loss);
        let secs = |a: Instant, b: Instant| (b - a).as_secs_f64();
        eprintln!(
            "  step {}{}: {:.3} s (forward {:.3}, backward {:.3}, clip+AdamW {:.3}), loss {loss:.6}",
            step + 1,
            if step < warmup { " (warm-up)" } else { "" },
            secs(t0, t3),
            secs(t0, t1),
            secs(t1, t2),
            secs(t2, t3)
        );
        if step >= warmup {
            fwd.push(secs(t0, t1));
            bwd.push(secs(t1, t2));
            opt.push(secs(t2, t3));
            total.push(secs(t0, t3));
        }
    }
    Ok(json!({
        "steps": steps,
        "step_s": median(&total),
        "step_times_s": total,
        "forward_s": median(&fwd),
        "backward_s": median(&bwd),
        "optim_s": median(&opt),
        "first_loss": losses.first(),
        "last_loss": losses.last(),
    }))
}

fn generate(model: &mut Model) -> Res<Value> {
    let prompt = token_ids(1, PROMPT, DIMS.vocab);
    let cfg = GenerationConfig::greedy(NEW_TOKENS, &[]);
    let time = |model: &Model| -> Res<(f64, Vec<u32>)> {
        let warm = GenerationConfig::greedy(8, &[]);
        model.generate(&prompt, &warm, |_| true)?;
        let mut times = Vec::new();
        let mut tokens = Vec::new();
        for _ in 0..3 {
            let start = Instant::now();
            let out = model.generate(&prompt, &cfg, |_| true)?;
            times.push(start.elapsed().as_secs_f64());
            tokens = out.tokens;
        }
        if tokens.len() != NEW_TOKENS {
            return Err(format!("generated {} tokens, not {NEW_TOKENS}", tokens.len()).into());
        }
        Ok((median(&times), tokens))
    };
    let (lora_s, tokens) = time(model)?;
    model.merge_lora()?;
    let (merged_s, merged_tokens) = time(model)?;
    let text = tokens
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",");
    Ok(json!({
        "lora_s": lora_s,
        "merged_s": merged_s,
        "tokens_sha256": hex::encode(Sha256::digest(text.as_bytes())),
        "first_tokens": &tokens[..16.min(tokens.len())],
        "merged_same_tokens": merged_tokens == tokens,
    }))
}
