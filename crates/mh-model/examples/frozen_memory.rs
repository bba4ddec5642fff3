//! Peak memory of a backward pass through frozen projections, candle's plain matmul against
//! [`mh_model::frozen::frozen_linear`]:
//! `cargo run --release -p mh-model --example frozen_memory [LAYERS DIM BATCH SEQ]`
//! (default 8 layers of 1024×1024, input 8×256). Each variant runs in its own child process so
//! the peak resident set (Linux `VmHWM`) belongs to it alone.

use std::process::Command;

use mh_model::candle_core::{Device, Tensor, Var};
use mh_model::frozen::{frozen_linear, grad_store_bytes};

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn run(
    frozen: bool,
    layers: usize,
    d: usize,
    b: usize,
    s: usize,
) -> mh_model::candle_core::Result<()> {
    let dev = Device::Cpu;
    let x = Var::from_tensor(&Tensor::randn(0f32, 1.0, (b, s, d), &dev)?)?;
    let ws = (0..layers)
        .map(|_| Tensor::randn(0f32, 1.0 / (d as f32).sqrt(), (d, d), &dev))
        .collect::<mh_model::candle_core::Result<Vec<_>>>()?;
    let before = peak_rss_kib().unwrap_or(0);
    let mut h = x.as_tensor().clone();
    for w in &ws {
        h = if frozen {
            frozen_linear(&h, w)?
        } else {
            h.broadcast_matmul(&w.t()?)?
        };
    }
    let grads = h.sqr()?.sum_all()?.backward()?;
    let after = peak_rss_kib().unwrap_or(0);
    println!(
        "{:<13} grad store {:>8.1} MiB   peak RSS {:>8.1} MiB (+{:.1} MiB over weights and input)",
        if frozen { "frozen op" } else { "plain matmul" },
        grad_store_bytes(&grads) as f64 / 1048576.0,
        after as f64 / 1024.0,
        (after - before) as f64 / 1024.0,
    );
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--child") {
        let n = |i: usize| args[i].parse::<usize>();
        return Ok(run(args[1] == "frozen", n(2)?, n(3)?, n(4)?, n(5)?)?);
    }
    let dims: Vec<String> = if args.len() == 4 {
        args
    } else {
        ["8", "1024", "8", "256"].map(String::from).to_vec()
    };
    println!(
        "backward through {} frozen {}x{} projections, input ({}, {}, {}), f32",
        dims[0], dims[1], dims[1], dims[2], dims[3], dims[1]
    );
    let me = std::env::current_exe()?;
    for mode in ["plain", "frozen"] {
        let status = Command::new(&me)
            .arg("--child")
            .arg(mode)
            .args(&dims)
            .status()?;
        if !status.success() {
            return Err(format!("{mode} run failed: {status}").into());
        }
    }
    Ok(())
}
