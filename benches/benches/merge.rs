//! `merge_adapter` on a ~620 MB model (llama layout, hidden 1024, 8 layers, vocab 32000, untied
//! embeddings) in f32 and in bf16, with a rank-16 adapter on all seven projections: wall time,
//! peak RSS against the largest tensor (the target is ≤ 3×), and a plain copy of the same bytes.
//!
//! This binary re-runs itself as children: one generates (once, cached) the models and the
//! adapter — in a child because the bf16 conversion holds the whole model, and Linux carries a
//! parent's RSS high-water mark into a child across exec — then one per measured merge, which
//! does only the merge, so its peak RSS is the merge's alone. The merge's time includes hashing
//! every byte written (SHA-256 for `merge.json`) and fsync; the plain copy does neither.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use mh_model::candle_core::{DType, Device, Tensor};
use mh_model::{
    generate_tiny_model, merge_adapter, write_peft_adapter, AdapterConfig, Arch, LoraConfig,
    MergeBase, PeftAdapter, TargetModule, TinyDims, TinySpec,
};
use mh_profile::NoProgress;

const CHILD_MODEL: &str = "MH_BENCH_MERGE_MODEL";
const CHILD_ADAPTER: &str = "MH_BENCH_MERGE_ADAPTER";
const CHILD_OUT: &str = "MH_BENCH_MERGE_OUT";
const CHILD_PREPARE: &str = "MH_BENCH_MERGE_PREPARE";

const DIMS: TinyDims = TinyDims {
    layers: 8,
    hidden: 1024,
    heads: 16,
    kv_heads: 4,
    intermediate: 2816,
    vocab: 32000,
};
const RANK: usize = 16;

fn main() {
    if let (Some(model), Some(adapter), Some(out)) = (
        std::env::var_os(CHILD_MODEL),
        std::env::var_os(CHILD_ADAPTER),
        std::env::var_os(CHILD_OUT),
    ) {
        let result = merge_adapter(
            &MergeBase::dir(PathBuf::from(model)),
            Path::new(&adapter),
            Path::new(&out),
            &NoProgress,
        );
        if let Err(e) = result {
            eprintln!("{e}");
            std::process::exit(1);
        }
        return;
    }
    if std::env::var_os(CHILD_PREPARE).is_some() {
        if let Err(e) = prepare(&root()) {
            eprintln!("{e}");
            std::process::exit(1);
        }
        return;
    }
    if let Err(e) = run() {
        eprintln!("{e}");
        std::process::exit(1);
    }
}

fn root() -> PathBuf {
    mh_bench::cache_dir("merge-llama-h1024-l8-v32000")
}

/// Generate the f32 model, its bf16 copy and the adapter under `root` (each once).
fn prepare(root: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let f32_dir = root.join("model-f32");
    if !f32_dir.join("config.json").is_file() {
        eprintln!("generating the f32 model in {} …", f32_dir.display());
        let _ = std::fs::remove_dir_all(&f32_dir);
        generate_tiny_model(&f32_dir, &TinySpec::new(Arch::Llama, DIMS, 1))?;
    }
    let bf16_dir = root.join("model-bf16");
    if !bf16_dir.join("config.json").is_file() {
        eprintln!("converting it to bf16 in {} …", bf16_dir.display());
        let _ = std::fs::remove_dir_all(&bf16_dir);
        std::fs::create_dir_all(&bf16_dir)?;
        let tensors = mh_model::candle_core::safetensors::load(
            f32_dir.join("model.safetensors"),
            &Device::Cpu,
        )?;
        let bf16 = tensors
            .into_iter()
            .map(|(n, t)| Ok((n, t.to_dtype(DType::BF16)?)))
            .collect::<Result<std::collections::HashMap<_, _>, mh_model::candle_core::Error>>()?;
        mh_model::candle_core::safetensors::save(&bf16, bf16_dir.join("model.safetensors"))?;
        // config.json last: its presence marks the directory complete.
        std::fs::copy(f32_dir.join("config.json"), bf16_dir.join("config.json"))?;
    }
    let adapter = root.join("adapter");
    if !adapter.join("adapter_config.json").is_file() {
        write_adapter(&adapter)?;
    }
    Ok(())
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let root = root();
    let exe = std::env::current_exe()?;
    mh_bench::measure(Command::new(&exe).env(CHILD_PREPARE, "1"))?;
    let (f32_dir, bf16_dir) = (root.join("model-f32"), root.join("model-bf16"));
    let adapter = root.join("adapter");
    let out = root.join("merged");
    for (label, dir, elem) in [("f32", &f32_dir, 4u64), ("bf16", &bf16_dir, 2)] {
        let weights = dir.join("model.safetensors");
        let bytes = std::fs::metadata(&weights)?.len();
        let largest = (DIMS.vocab * DIMS.hidden) as u64 * elem;
        // Warm the page cache once, then take the best of two runs.
        let mut runs = Vec::new();
        for i in 0..3 {
            let _ = std::fs::remove_dir_all(&out);
            let run = mh_bench::measure(
                Command::new(&exe)
                    .env(CHILD_MODEL, dir)
                    .env(CHILD_ADAPTER, &adapter)
                    .env(CHILD_OUT, &out),
            )?;
            if i > 0 {
                runs.push(run);
            }
        }
        let _ = std::fs::remove_dir_all(&out);
        std::fs::create_dir_all(&out)?;
        let start = Instant::now();
        std::fs::copy(&weights, out.join("model.safetensors"))?;
        let cp = start.elapsed();
        let _ = std::fs::remove_dir_all(&out);

        let best = runs.iter().map(|r| r.wall).min().unwrap_or_default();
        let peak = runs.iter().map(|r| r.peak_rss_bytes).max().unwrap_or(0);
        println!(
            "merge/{label} ({:.0} MB, r {RANK} on 7 projections × {} layers): {:.2} s \
             (copy of the same bytes {:.2} s), peak RSS {:.0} MB = {:.2} × the largest tensor \
             ({:.0} MB; target ≤ 3×)",
            bytes as f64 / 1e6,
            DIMS.layers,
            best.as_secs_f64(),
            cp.as_secs_f64(),
            peak as f64 / 1e6,
            peak as f64 / largest as f64,
            largest as f64 / 1e6,
        );
    }
    Ok(())
}

/// A rank-16 adapter on every projection with random A and B (B ≠ 0, so every merged tensor
/// really changes).
fn write_adapter(dir: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let mut lora = LoraConfig::new(RANK, 32.0);
    lora.targets = TargetModule::ALL.to_vec();
    let config = AdapterConfig::from_lora(&lora, None);
    let hd = DIMS.hidden / DIMS.heads;
    let mut tensors = std::collections::BTreeMap::new();
    for layer in 0..DIMS.layers {
        for t in TargetModule::ALL {
            let (out, inp) = match t {
                TargetModule::Q | TargetModule::O => (DIMS.hidden, DIMS.hidden),
                TargetModule::K | TargetModule::V => (DIMS.kv_heads * hd, DIMS.hidden),
                TargetModule::Gate | TargetModule::Up => (DIMS.intermediate, DIMS.hidden),
                TargetModule::Down => (DIMS.hidden, DIMS.intermediate),
            };
            let a = Tensor::randn(0f32, 0.02, (RANK, inp), &Device::Cpu)?;
            let b = Tensor::randn(0f32, 0.02, (out, RANK), &Device::Cpu)?;
            tensors.insert((layer, t), (a, b));
        }
    }
    std::fs::create_dir_all(dir)?;
    write_peft_adapter(dir, &PeftAdapter { config, tensors })?;
    Ok(())
}
