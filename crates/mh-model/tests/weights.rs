//! Loading safetensors: single file and sharded index give the same model; missing, mis-shaped
//! and non-float tensors are reported by name with the file and the shapes.

mod common;

use std::path::Path;

use common::{ids, max_abs_diff};
use mh_model::candle_core::{DType, Device, Tensor};
use mh_model::{generate_tiny_model, Arch, LoadOptions, Model, ModelError, TinyDims, TinySpec};

fn tiny(dir: &Path, arch: Arch) {
    generate_tiny_model(dir, &TinySpec::new(arch, TinyDims::small(96), 4)).unwrap();
}

fn tensors(dir: &Path) -> Vec<(String, Tensor)> {
    let mut t: Vec<_> =
        mh_model::candle_core::safetensors::load(dir.join("model.safetensors"), &Device::Cpu)
            .unwrap()
            .into_iter()
            .collect();
    t.sort_by(|a, b| a.0.cmp(&b.0));
    t
}

fn write(path: &Path, tensors: &[(String, Tensor)]) {
    let bytes = safetensors::serialize(tensors.iter().map(|(k, t)| (k.as_str(), t)), None).unwrap();
    std::fs::write(path, bytes).unwrap();
}

fn load_err(dir: &Path) -> ModelError {
    Model::load(dir, &LoadOptions::cpu_f32()).unwrap_err()
}

#[test]
fn sharded_index_loads_the_same_model() {
    let single = tempfile::tempdir().unwrap();
    tiny(single.path(), Arch::Llama);
    let all = tensors(single.path());

    let sharded = tempfile::tempdir().unwrap();
    std::fs::copy(
        single.path().join("config.json"),
        sharded.path().join("config.json"),
    )
    .unwrap();
    let (first, second) = all.split_at(all.len() / 2);
    let names = [
        "model-00001-of-00002.safetensors",
        "model-00002-of-00002.safetensors",
    ];
    write(&sharded.path().join(names[0]), first);
    write(&sharded.path().join(names[1]), second);
    let mut map = serde_json::Map::new();
    for (part, file) in [(first, names[0]), (second, names[1])] {
        for (k, _) in part {
            map.insert(k.clone(), file.into());
        }
    }
    let index = serde_json::json!({"metadata": {"total_size": 0}, "weight_map": map});
    std::fs::write(
        sharded.path().join("model.safetensors.index.json"),
        index.to_string(),
    )
    .unwrap();

    let input = ids(&[vec![1, 5, 9, 13]]);
    let a = Model::load(single.path(), &LoadOptions::cpu_f32()).unwrap();
    let b = Model::load(sharded.path(), &LoadOptions::cpu_f32()).unwrap();
    let la = a.forward(&input, None, None).unwrap();
    let lb = b.forward(&input, None, None).unwrap();
    assert_eq!(max_abs_diff(&la, &lb), 0.0);

    // An index naming a shard that is not there.
    std::fs::remove_file(sharded.path().join(names[1])).unwrap();
    let e = load_err(sharded.path()).to_string();
    assert!(
        e.contains("model.safetensors.index.json") && e.contains(names[1]),
        "{e}"
    );
}

#[test]
fn misshaped_tensor_names_tensor_file_and_shapes() {
    let dir = tempfile::tempdir().unwrap();
    tiny(dir.path(), Arch::Qwen2);
    let mut t = tensors(dir.path());
    let name = "model.layers.1.self_attn.k_proj.weight";
    let slot = t.iter_mut().find(|(k, _)| k == name).unwrap();
    slot.1 = Tensor::zeros((16, 64), DType::F32, &Device::Cpu).unwrap();
    write(&dir.path().join("model.safetensors"), &t);
    let e = load_err(dir.path());
    assert!(matches!(e, ModelError::TensorShape { .. }), "{e:?}");
    let e = e.to_string();
    assert!(e.contains(name) && e.contains("model.safetensors"), "{e}");
    assert!(
        e.contains("expected shape [32, 64]") && e.contains("found [16, 64]"),
        "{e}"
    );
}

#[test]
fn missing_tensors_are_named() {
    let dir = tempfile::tempdir().unwrap();
    tiny(dir.path(), Arch::Qwen2);
    let mut t = tensors(dir.path());
    t.retain(|(k, _)| k != "model.layers.0.self_attn.v_proj.bias");
    write(&dir.path().join("model.safetensors"), &t);
    let e = load_err(dir.path()).to_string();
    assert!(
        e.contains("`model.layers.0.self_attn.v_proj.bias` is missing"),
        "{e}"
    );

    // Untied llama without its lm_head.
    let dir = tempfile::tempdir().unwrap();
    tiny(dir.path(), Arch::Llama);
    let mut t = tensors(dir.path());
    t.retain(|(k, _)| k != "lm_head.weight");
    write(&dir.path().join("model.safetensors"), &t);
    let e = load_err(dir.path()).to_string();
    assert!(e.contains("lm_head.weight"), "{e}");
}

#[test]
fn integer_weights_and_missing_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    tiny(dir.path(), Arch::Qwen2);
    let mut t = tensors(dir.path());
    let slot = t
        .iter_mut()
        .find(|(k, _)| k == "model.norm.weight")
        .unwrap();
    slot.1 = Tensor::zeros(64, DType::U8, &Device::Cpu).unwrap();
    write(&dir.path().join("model.safetensors"), &t);
    let e = load_err(dir.path()).to_string();
    assert!(
        e.contains("model.norm.weight") && e.contains("not a float"),
        "{e}"
    );

    std::fs::remove_file(dir.path().join("model.safetensors")).unwrap();
    assert!(matches!(load_err(dir.path()), ModelError::NoWeights { .. }));

    std::fs::write(dir.path().join("model.safetensors"), b"not safetensors").unwrap();
    let e = load_err(dir.path()).to_string();
    assert!(
        e.contains("model.safetensors") && e.contains("safetensors"),
        "{e}"
    );
}

#[test]
fn weights_are_converted_to_the_compute_dtype() {
    let dir = tempfile::tempdir().unwrap();
    tiny(dir.path(), Arch::Qwen3);
    let opts = LoadOptions {
        device: Device::Cpu,
        dtype: DType::F64,
        lora: None,
    };
    let m = Model::load(dir.path(), &opts).unwrap();
    assert_eq!(m.embed_tokens.dtype(), DType::F64);
    assert_eq!(m.layers[0].q_norm.as_ref().unwrap().dtype(), DType::F64);
    let f32_model = Model::load(dir.path(), &LoadOptions::cpu_f32()).unwrap();
    let input = ids(&[vec![7, 3, 1]]);
    let a = m.forward(&input, None, None).unwrap();
    let b = f32_model.forward(&input, None, None).unwrap();
    assert_eq!(a.dtype(), DType::F64);
    assert!(max_abs_diff(&a, &b) < 1e-4);
}
