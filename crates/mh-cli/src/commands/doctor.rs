//! `mh-train doctor`: what this binary and this machine can do — version, build features, CPU
//! threads, the GPUs the CUDA driver reports (or why none is usable) and the device a
//! `--device` choice (by default `auto`) resolves to.

use std::process::ExitCode;

use anyhow::Result;
use clap::Args;
use mh_model::candle_core::utils as candle_utils;
use mh_model::device::{self, DeviceChoice, GpuProbe};
use serde_json::{json, Value};

use super::print_json;
use crate::Global;

#[derive(Args)]
pub struct DoctorArgs {
    /// The device to resolve, as training would: cpu, cuda, cuda:N or auto. Exit status 1 when
    /// it cannot be had
    #[arg(long, value_name = "cpu|cuda|cuda:N|auto", default_value = "auto")]
    device: DeviceChoice,
}

pub fn run(args: DoctorArgs, g: &Global) -> Result<ExitCode> {
    let gpus = device::probe();
    let selection = device::select_with(args.device, &gpus);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let cpu_features: Vec<&str> = [
        ("avx", candle_utils::with_avx()),
        ("f16c", candle_utils::with_f16c()),
        ("neon", candle_utils::with_neon()),
    ]
    .into_iter()
    .filter_map(|(name, on)| on.then_some(name))
    .collect();
    let features = [
        ("cuda", device::CUDA_BUILT),
        ("parquet", cfg!(feature = "parquet")),
    ];

    let device_json = match &selection {
        Ok(sel) => json!({
            "requested": args.device.to_string(),
            "selected": if sel.device.is_cuda() { "cuda" } else { "cpu" },
            "gpu": sel.gpu,
            "compute_dtype": sel.compute_dtype.as_str(),
            "lora_dtype": sel.lora_dtype().as_str(),
            "summary": sel.summary(),
            "cpu_because": sel.cpu_because,
        }),
        Err(e) => json!({
            "requested": args.device.to_string(),
            "error": e.to_string(),
        }),
    };

    if g.json {
        let features: serde_json::Map<String, Value> = features
            .iter()
            .map(|(name, on)| (name.to_string(), Value::Bool(*on)))
            .collect();
        print_json(&json!({
            "version": env!("CARGO_PKG_VERSION"),
            "features": features,
            "cpu": { "threads": threads, "features": cpu_features },
            "gpu": gpus,
            "device": device_json,
        }))?;
    } else {
        println!("mh-train {}", env!("CARGO_PKG_VERSION"));
        let listed: Vec<String> = features
            .iter()
            .map(|(name, on)| format!("{name} {}", if *on { "on" } else { "off" }))
            .collect();
        println!("build features: {}", listed.join(", "));
        if cpu_features.is_empty() {
            println!("cpu: {threads} threads");
        } else {
            println!("cpu: {threads} threads ({})", cpu_features.join(", "));
        }
        print_gpus(&gpus);
        match &selection {
            Ok(sel) => {
                println!("device {}: {}", args.device, sel.summary());
                // Said already unless a GPU was found but could not be opened.
                if let Some(why) = sel
                    .cpu_because
                    .as_ref()
                    .filter(|why| gpus.unusable_reason().as_ref() != Some(*why))
                {
                    println!("  (on the cpu because {why})");
                }
            }
            Err(e) => println!("device: {e}"),
        }
    }
    Ok(match selection {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mh-train: {e}");
            ExitCode::FAILURE
        }
    })
}

fn print_gpus(gpus: &GpuProbe) {
    let driver = gpus
        .driver_version
        .as_deref()
        .map(|v| format!(" (driver supports CUDA {v})"))
        .unwrap_or_default();
    if gpus.gpus.is_empty() {
        println!("gpus: none{driver}");
    } else {
        println!("gpus{driver}:");
        for gpu in &gpus.gpus {
            println!("  {gpu}");
        }
    }
    match gpus.unusable_reason() {
        Some(reason) => println!("gpu usable: no: {reason}"),
        None => println!("gpu usable: yes"),
    }
}
