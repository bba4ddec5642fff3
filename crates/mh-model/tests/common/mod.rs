#![allow(dead_code)] // each test binary uses a different part

pub mod fixtures;

use std::path::{Path, PathBuf};

use mh_model::candle_core::{DType, Device, Tensor};
use mh_model::{generate_tiny_model, Arch, LoadOptions, LoraConfig, Model, TinyDims, TinySpec};

pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// A tiny model written to `dir` and loaded back with `dtype` and optional LoRA.
pub fn tiny_model(dir: &Path, arch: Arch, dtype: DType, lora: Option<LoraConfig>) -> Model {
    let spec = TinySpec::new(arch, TinyDims::small(96), 7);
    generate_tiny_model(dir, &spec).expect("generate tiny model");
    let opts = LoadOptions {
        device: Device::Cpu,
        dtype,
        lora,
    };
    Model::load(dir, &opts).expect("load tiny model")
}

pub fn ids(rows: &[Vec<u32>]) -> Tensor {
    Tensor::new(rows.to_vec(), &Device::Cpu).expect("ids tensor")
}

/// Largest absolute difference between two tensors of the same shape.
pub fn max_abs_diff(a: &Tensor, b: &Tensor) -> f64 {
    assert_eq!(a.dims(), b.dims(), "shapes differ");
    let a = a.to_dtype(DType::F64).unwrap().flatten_all().unwrap();
    let b = b.to_dtype(DType::F64).unwrap().flatten_all().unwrap();
    (a - b)
        .unwrap()
        .abs()
        .unwrap()
        .max(0)
        .unwrap()
        .to_scalar::<f64>()
        .unwrap()
}
