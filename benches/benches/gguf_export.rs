//! `gguf export` of a ~600 MB model (qwen2 layout, f32 safetensors: 12 layers, hidden 1024,
//! intermediate 2816, vocab 8192) to F16 and to Q4_K_M: wall time and peak RSS, against a plain
//! `cp` of the safetensors file (the physical limit of reading and writing those bytes) and,
//! when it can run, llama.cpp's `convert_hf_to_gguf.py --outtype f16` (the Python converter the
//! seed shelled out to) — with `llama-quantize` from that F16 file to Q4_K_M when a llama.cpp
//! build is at hand.
//!
//! Baselines: `scripts/baselines/get-llama-cpp.sh` fetches llama.cpp's sources from PyPI;
//! `MH_BENCH_PYTHON` is a Python with torch, transformers, sentencepiece and numpy (default
//! ~/.venvs/mhfix/bin/python); `LLAMA_CPP_BIN` a directory with `llama-quantize`. Missing
//! baselines are reported as such, not guessed.
//!
//! This binary re-runs itself as children: one generates (once, cached) the model, one runs each
//! export, so each child's peak RSS is its own. Every case runs once to warm the page cache, then
//! the best of three is reported.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use mh_bench::ChildRun;
use mh_gguf::{export_model, ExportOptions, FileType};
use mh_model::{generate_tiny_model, Arch, TinyDims, TinySpec};
use mh_profile::NoProgress;

const CHILD_EXPORT: &str = "MH_BENCH_GGUF_EXPORT";
const CHILD_OUT: &str = "MH_BENCH_GGUF_OUT";
const CHILD_PREPARE: &str = "MH_BENCH_GGUF_PREPARE";

const DIMS: TinyDims = TinyDims {
    layers: 12,
    hidden: 1024,
    heads: 16,
    kv_heads: 8,
    intermediate: 2816,
    vocab: 8192,
};

fn root() -> PathBuf {
    mh_bench::cache_dir("gguf-export")
}

fn fail(msg: impl std::fmt::Display) -> ! {
    eprintln!("{msg}");
    std::process::exit(1);
}

fn main() {
    if let (Some(ft), Some(out)) = (std::env::var_os(CHILD_EXPORT), std::env::var_os(CHILD_OUT)) {
        let ft = FileType::parse(&ft.to_string_lossy()).unwrap_or_else(|| fail("bad file type"));
        if let Err(e) = export_model(
            &root().join("model"),
            Path::new(&out),
            &ExportOptions::new(ft),
            &NoProgress,
        ) {
            fail(e);
        }
        return;
    }
    if std::env::var_os(CHILD_PREPARE).is_some() {
        prepare(&root().join("model"));
        return;
    }
    let exe = std::env::current_exe().unwrap_or_else(|e| fail(format!("current exe: {e}")));
    let model = root().join("model");
    if !model.join("model.safetensors").is_file() || !model.join("tokenizer.json").is_file() {
        eprintln!("generating the benchmark model in {} …", model.display());
        run(Command::new(&exe).env(CHILD_PREPARE, "1"));
    }
    let weights = model.join("model.safetensors");
    let size = std::fs::metadata(&weights).map(|m| m.len()).unwrap_or(0);
    let out_dir = root().join("out");
    std::fs::create_dir_all(&out_dir).unwrap_or_else(|e| fail(e));
    println!(
        "gguf_export: model {:.0} MB f32 safetensors ({} layers, hidden {}, vocab {}), {} threads",
        size as f64 / 1e6,
        DIMS.layers,
        DIMS.hidden,
        DIMS.vocab,
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );

    let cp_out = out_dir.join("copy.safetensors");
    let cp = best(
        || {
            let mut c = Command::new("cp");
            c.arg(&weights).arg(&cp_out);
            c
        },
        &cp_out,
    );
    report("cp of the safetensors", cp, None);

    let mut results = Vec::new();
    for ft in [FileType::F16, FileType::Q4_K_M] {
        let out = out_dir.join(format!("ours-{}.gguf", ft.name()));
        let r = best(
            || {
                let mut c = Command::new(&exe);
                c.env(CHILD_EXPORT, ft.name()).env(CHILD_OUT, &out);
                c
            },
            &out,
        );
        report(&format!("mh-gguf export {}", ft.name()), r, Some(cp));
        results.push((ft, r));
    }

    // The Python converter, when it can run here.
    let python = std::env::var_os("MH_BENCH_PYTHON")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".venvs/mhfix/bin/python"))
        })
        .filter(|p| p.is_file());
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let llama_dir = Command::new(repo.join("scripts/baselines/get-llama-cpp.sh"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    match (&python, &llama_dir) {
        (Some(py), Some(dir)) => {
            let out = out_dir.join("convert-f16.gguf");
            let wrapper = repo.join("scripts/baselines/convert_hf_to_gguf.py");
            let conv = try_best(
                || {
                    let mut c = Command::new(py);
                    c.arg(&wrapper)
                        .arg(&model)
                        .arg("--outfile")
                        .arg(&out)
                        .arg("--outtype")
                        .arg("f16")
                        .env("LLAMA_CPP_DIR", dir)
                        .stdout(std::process::Stdio::null())
                        .stderr(std::process::Stdio::null());
                    c
                },
                &out,
                false,
            );
            match conv {
                Some(conv) => {
                    report("llama.cpp convert_hf_to_gguf.py f16", conv, Some(cp));
                    if let Some((_, ours)) = results.iter().find(|(ft, _)| *ft == FileType::F16) {
                        println!(
                            "  mh-gguf f16 is {:.1}x faster than the Python converter",
                            conv.wall.as_secs_f64() / ours.wall.as_secs_f64()
                        );
                    }
                    quantize_baseline(&out_dir, &out, &results, cp, conv);
                }
                None => println!("  convert_hf_to_gguf.py: failed to run (see scripts/baselines/convert_hf_to_gguf.py)"),
            }
        }
        _ => println!(
            "  convert_hf_to_gguf.py: not available (needs MH_BENCH_PYTHON with torch+transformers and scripts/baselines/get-llama-cpp.sh)"
        ),
    }
    let _ = std::fs::remove_dir_all(&out_dir);
}

/// llama.cpp's C++ `llama-quantize` from the converter's F16 file to Q4_K_M (the two-step path
/// the Python route takes to a Q4_K_M file).
fn quantize_baseline(
    out_dir: &Path,
    f16: &Path,
    results: &[(FileType, ChildRun)],
    cp: ChildRun,
    conv: ChildRun,
) {
    let Some(bin) = std::env::var_os("LLAMA_CPP_BIN").map(PathBuf::from) else {
        println!("  llama-quantize: not available (set LLAMA_CPP_BIN)");
        return;
    };
    let out = out_dir.join("llama-q4km.gguf");
    let r = try_best(
        || {
            let mut c = Command::new(bin.join("llama-quantize"));
            c.arg(f16)
                .arg(&out)
                .arg("Q4_K_M")
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null());
            c
        },
        &out,
        false,
    );
    if let Some(r) = r {
        report("llama-quantize F16 -> Q4_K_M", r, Some(cp));
        if let Some((_, ours)) = results.iter().find(|(ft, _)| *ft == FileType::Q4_K_M) {
            let python_path = conv.wall + r.wall;
            println!(
                "  safetensors -> Q4_K_M: mh-gguf {:.2} s vs converter + llama-quantize {:.2} s ({:.1}x)",
                ours.wall.as_secs_f64(),
                python_path.as_secs_f64(),
                python_path.as_secs_f64() / ours.wall.as_secs_f64()
            );
        }
    }
}

fn prepare(dir: &Path) {
    let _ = std::fs::remove_dir_all(dir);
    let spec = TinySpec::new(Arch::Qwen2, DIMS, 3);
    generate_tiny_model(dir, &spec).unwrap_or_else(|e| fail(e));
    let tok =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates/mh-gguf/tests/fixtures/tokenizer");
    for f in ["tokenizer.json", "tokenizer_config.json"] {
        std::fs::copy(tok.join(f), dir.join(f)).unwrap_or_else(|e| fail(e));
    }
}

fn run(cmd: &mut Command) {
    let status = cmd.status().unwrap_or_else(|e| fail(e));
    if !status.success() {
        fail(format!("{cmd:?} failed"));
    }
}

fn best(make: impl Fn() -> Command, out: &Path) -> ChildRun {
    try_best(make, out, true).unwrap_or_else(|| fail("benchmark case failed"))
}

/// Warm-up run, then the fastest of three; the output is removed between runs (the last one is
/// kept when `must` is false: the converter's F16 file feeds llama-quantize).
fn try_best(make: impl Fn() -> Command, out: &Path, must: bool) -> Option<ChildRun> {
    let mut runs = Vec::new();
    for i in 0..4 {
        let _ = std::fs::remove_file(out);
        match mh_bench::measure(&mut make()) {
            Ok(r) if i > 0 => runs.push(r),
            Ok(_) => {}
            Err(e) if must => fail(e),
            Err(_) => return None,
        }
    }
    if must {
        let _ = std::fs::remove_file(out);
    }
    let peak = runs.iter().map(|r| r.peak_rss_bytes).max().unwrap_or(0);
    runs.into_iter().min_by_key(|r| r.wall).map(|r| ChildRun {
        wall: r.wall,
        peak_rss_bytes: peak,
    })
}

fn report(what: &str, r: ChildRun, cp: Option<ChildRun>) {
    let ratio = cp
        .filter(|c| c.wall > Duration::ZERO)
        .map(|c| format!(", {:.2}x cp", r.wall.as_secs_f64() / c.wall.as_secs_f64()))
        .unwrap_or_default();
    println!(
        "  {what}: {:.2} s, peak RSS {:.0} MB{ratio}",
        r.wall.as_secs_f64(),
        r.peak_rss_bytes as f64 / 1e6
    );
}
