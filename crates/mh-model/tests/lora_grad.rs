//! LoRA gradients against central finite differences (f64), LoRA init and scaling, and the
//! frozen-weight op's memory behaviour against candle's plain matmul.

mod common;

use common::{ids, tiny_model};
use mh_model::candle_core::{DType, Device, Tensor, Var, D};
use mh_model::frozen::{frozen_linear, grad_store_bytes};
use mh_model::{Arch, LoraConfig, Model, TargetModule};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Mean next-token cross-entropy over every position but the last.
fn loss(model: &Model, input: &Tensor, lengths: Option<&[Vec<usize>]>) -> Tensor {
    let logits = model.forward(input, lengths, None).unwrap();
    let (b, s, v) = logits.dims3().unwrap();
    let logits = logits
        .narrow(1, 0, s - 1)
        .unwrap()
        .reshape((b * (s - 1), v))
        .unwrap();
    let targets = input.narrow(1, 1, s - 1).unwrap().flatten_all().unwrap();
    let logp = candle_nn::ops::log_softmax(&logits, D::Minus1).unwrap();
    let picked = logp.gather(&targets.unsqueeze(1).unwrap(), 1).unwrap();
    picked.mean_all().unwrap().neg().unwrap()
}

fn scalar(t: &Tensor) -> f64 {
    t.to_dtype(DType::F64).unwrap().to_scalar::<f64>().unwrap()
}

fn set_entry(var: &Var, index: usize, value: f64) {
    let shape = var.shape().clone();
    let mut v = var
        .as_tensor()
        .flatten_all()
        .unwrap()
        .to_vec1::<f64>()
        .unwrap();
    v[index] = value;
    var.set(&Tensor::from_vec(v, shape, &Device::Cpu).unwrap())
        .unwrap();
}

/// Give every B random values: with B = 0 the gradient of A is exactly zero and would test little.
fn randomize_b(model: &Model, seed: u64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    for (_, _, branch) in model.lora_branches() {
        let n = branch.b.elem_count();
        let v: Vec<f64> = (0..n).map(|_| rng.random_range(-0.3..0.3)).collect();
        let t = Tensor::from_vec(v, branch.b.shape().clone(), &Device::Cpu).unwrap();
        branch.b.set(&t).unwrap();
    }
}

/// Compare autograd with central differences on a few entries of every A and B. Returns the
/// worst relative error.
fn check_gradients(model: &Model, input: &Tensor, lengths: Option<&[Vec<usize>]>) -> f64 {
    let grads = loss(model, input, lengths).backward().unwrap();
    let eps = 1e-5;
    let mut rng = ChaCha8Rng::seed_from_u64(99);
    let mut worst: f64 = 0.0;
    let mut nonzero = 0;
    let mut checked = 0;
    for (layer, module, branch) in model.lora_branches() {
        for (factor, var) in [("A", &branch.a), ("B", &branch.b)] {
            let grad = grads
                .get(var.as_tensor())
                .unwrap_or_else(|| panic!("no gradient for layer {layer} {module:?} {factor}"));
            let grad = grad.flatten_all().unwrap().to_vec1::<f64>().unwrap();
            let values = var
                .as_tensor()
                .flatten_all()
                .unwrap()
                .to_vec1::<f64>()
                .unwrap();
            for _ in 0..3 {
                let i = rng.random_range(0..values.len());
                set_entry(var, i, values[i] + eps);
                let up = scalar(&loss(model, input, lengths));
                set_entry(var, i, values[i] - eps);
                let down = scalar(&loss(model, input, lengths));
                set_entry(var, i, values[i]);
                let fd = (up - down) / (2.0 * eps);
                let err = (grad[i] - fd).abs() / fd.abs().max(grad[i].abs()).max(1e-3);
                assert!(
                    err < 1e-6,
                    "layer {layer} {} {factor}[{i}]: autograd {} vs finite difference {fd} (rel err {err:e})",
                    module.name(),
                    grad[i]
                );
                worst = worst.max(err);
                nonzero += usize::from(grad[i].abs() > 1e-8);
                checked += 1;
            }
        }
    }
    assert!(
        nonzero * 2 > checked,
        "only {nonzero} of {checked} gradients are non-zero"
    );
    worst
}

fn all_targets(r: usize, alpha: f64, rslora: bool) -> LoraConfig {
    let mut cfg = LoraConfig::new(r, alpha);
    cfg.use_rslora = rslora;
    cfg.seed = 11;
    cfg
}

#[test]
fn lora_gradients_match_finite_differences_qwen2() {
    let dir = tempfile::tempdir().unwrap();
    let model = tiny_model(
        dir.path(),
        Arch::Qwen2,
        DType::F64,
        Some(all_targets(2, 4.0, false)),
    );
    randomize_b(&model, 1);
    let input = ids(&[
        vec![3, 17, 42, 5, 88, 61, 9],
        vec![70, 2, 2, 33, 14, 50, 91],
    ]);
    let worst = check_gradients(&model, &input, None);
    eprintln!("qwen2 f64: worst relative error autograd vs central difference: {worst:e}");
}

#[test]
fn lora_gradients_match_finite_differences_qwen3_packed() {
    let dir = tempfile::tempdir().unwrap();
    let model = tiny_model(
        dir.path(),
        Arch::Qwen3,
        DType::F64,
        Some(all_targets(3, 5.0, true)),
    );
    randomize_b(&model, 2);
    let input = ids(&[
        vec![3, 17, 42, 5, 88, 61, 9],
        vec![70, 2, 2, 33, 14, 50, 91],
    ]);
    let lengths = vec![vec![3, 4], vec![2, 2]]; // row 1: two samples and a 3-token remainder
    let worst = check_gradients(&model, &input, Some(&lengths));
    eprintln!("qwen3 packed f64: worst relative error autograd vs central difference: {worst:e}");
}

#[test]
fn lora_gradients_match_finite_differences_llama_partial_targets() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = all_targets(2, 3.0, false);
    cfg.targets = vec![TargetModule::V, TargetModule::Down];
    let model = tiny_model(dir.path(), Arch::Llama, DType::F64, Some(cfg));
    assert_eq!(model.lora_branches().len(), 2 * 2);
    randomize_b(&model, 3);
    let input = ids(&[vec![1, 2, 3, 4, 5, 6]]);
    check_gradients(&model, &input, None);
}

#[test]
fn fresh_lora_is_a_no_op_with_peft_init_and_scale() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = all_targets(4, 16.0, false);
    let base = tiny_model(dir.path(), Arch::Qwen2, DType::F32, None);
    let lora = tiny_model(dir.path(), Arch::Qwen2, DType::F32, Some(cfg.clone()));
    let input = ids(&[vec![5, 6, 7, 8, 9]]);
    let a = base.forward(&input, None, None).unwrap();
    let b = lora.forward(&input, None, Some(0)).unwrap();
    assert_eq!(
        common::max_abs_diff(&a, &b),
        0.0,
        "B = 0 must leave the model unchanged"
    );

    assert_eq!(lora.lora_branches().len(), 2 * 7);
    for (layer, module, branch) in lora.lora_branches() {
        assert_eq!(branch.scale, 4.0); // alpha / r
        assert_eq!(branch.a.dtype(), DType::F32);
        let inp = lora.layers[layer].proj(module).in_features();
        let bound = 1.0 / (inp as f64).sqrt();
        let a = branch
            .a
            .as_tensor()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        assert_eq!(a.len(), 4 * inp);
        assert!(a.iter().all(|&x| (x as f64).abs() <= bound));
        // Uniform on ±bound: the spread must actually reach towards the bound.
        let max = a.iter().fold(0f32, |m, &x| m.max(x.abs())) as f64;
        assert!(
            max > 0.8 * bound,
            "A's largest entry {max} is far below the bound {bound}"
        );
        let b = branch
            .b
            .as_tensor()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        assert!(b.iter().all(|&x| x == 0.0));
    }
    // Different layers draw different A; the same seed draws the same A again.
    let l0 = lora.layers[0]
        .q_proj
        .lora
        .as_ref()
        .unwrap()
        .a
        .as_tensor()
        .clone();
    let l1 = lora.layers[1]
        .q_proj
        .lora
        .as_ref()
        .unwrap()
        .a
        .as_tensor()
        .clone();
    assert!(common::max_abs_diff(&l0, &l1) > 0.0);
    let again = tiny_model(dir.path(), Arch::Qwen2, DType::F32, Some(cfg));
    let l0_again = again.layers[0]
        .q_proj
        .lora
        .as_ref()
        .unwrap()
        .a
        .as_tensor()
        .clone();
    assert_eq!(common::max_abs_diff(&l0, &l0_again), 0.0);

    let mut rs = all_targets(4, 16.0, true);
    rs.targets = vec![TargetModule::Q];
    assert_eq!(rs.scale(), 8.0); // alpha / sqrt(r)
}

/// A chain of frozen (d × d) projections fed by a trainable input, differentiated both ways.
fn chain_grads(frozen: bool, layers: usize, b: usize, s: usize, d: usize) -> (usize, Tensor) {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let mut rand = |n: usize, scale: f32| -> Vec<f32> {
        (0..n).map(|_| rng.random_range(-scale..scale)).collect()
    };
    let x = Var::from_vec(rand(b * s * d, 1.0), (b, s, d), &Device::Cpu).unwrap();
    let ws: Vec<Tensor> = (0..layers)
        .map(|_| Tensor::from_vec(rand(d * d, 0.05), (d, d), &Device::Cpu).unwrap())
        .collect();
    let mut h = x.as_tensor().clone();
    for w in &ws {
        h = if frozen {
            frozen_linear(&h, w).unwrap()
        } else {
            h.broadcast_matmul(&w.t().unwrap()).unwrap()
        };
    }
    let grads = h.sqr().unwrap().sum_all().unwrap().backward().unwrap();
    let gx = grads.get(x.as_tensor()).unwrap().clone();
    (grad_store_bytes(&grads), gx)
}

#[test]
fn frozen_linear_keeps_weight_gradients_out_of_the_grad_store() {
    let (layers, b, s, d) = (4, 4, 16, 256);
    let (plain_bytes, plain_gx) = chain_grads(false, layers, b, s, d);
    let (frozen_bytes, frozen_gx) = chain_grads(true, layers, b, s, d);
    let x_bytes = b * s * d * 4;
    eprintln!(
        "GradStore after backward through {layers} frozen {d}x{d} projections, input ({b},{s},{d}): \
         plain matmul {plain_bytes} bytes, frozen op {frozen_bytes} bytes (the input's own gradient is {x_bytes})"
    );
    // Same gradient for the input…
    assert!(common::max_abs_diff(&plain_gx, &frozen_gx) < 1e-4);
    // …but only the input's gradient is kept, while candle's matmul keeps a (d, d) gradient
    // per frozen weight.
    assert_eq!(frozen_bytes, x_bytes);
    assert_eq!(plain_bytes, x_bytes + layers * d * d * 4);
}

#[test]
fn lora_backward_stores_no_base_weight_gradient() {
    let dir = tempfile::tempdir().unwrap();
    let model = tiny_model(
        dir.path(),
        Arch::Llama,
        DType::F32,
        Some(all_targets(2, 4.0, false)),
    );
    let input = ids(&[vec![3, 17, 42, 5, 88], vec![1, 2, 3, 4, 5]]);
    let (b, s) = (2, 5);
    let grads = loss(&model, &input, None).backward().unwrap();
    let var_shapes: Vec<Vec<usize>> = model
        .lora_vars()
        .iter()
        .map(|v| v.dims().to_vec())
        .collect();
    let var_bytes: usize = model.lora_vars().iter().map(|v| v.elem_count() * 4).sum();
    let total = grad_store_bytes(&grads);
    for id in grads.get_ids() {
        let dims = grads.get_id(*id).unwrap().dims().to_vec();
        let activation = dims.first() == Some(&b) || dims.first() == Some(&(b * s));
        assert!(
            activation || var_shapes.contains(&dims),
            "GradStore holds a {dims:?} gradient that is neither a LoRA factor nor an activation"
        );
    }
    eprintln!(
        "tiny llama LoRA backward: GradStore {total} bytes, LoRA parameters {var_bytes} bytes"
    );
}
