//! A training step and AdamW against PyTorch + transformers + peft
//! (`scripts/gen_trainer_reference.py`, fixture committed).

use std::path::{Path, PathBuf};

use mh_dataset::tokenize::Sequence;
use mh_model::candle_core::{Device, Tensor, Var};
use mh_model::peft::peft_key;
use mh_model::{read_peft_adapter, LoadOptions, Model, TargetModule};
use mh_trainer::data::Batch;
use mh_trainer::loss::nll_sum;
use mh_trainer::optim::{clip_grad_norm, AdamW, AdamWParams};
use serde_json::Value;

fn reference() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/trainer-reference.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn model_fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../mh-model/tests/fixtures")
        .join(name)
}

fn f64s(v: &Value) -> Vec<f64> {
    match v {
        Value::Array(a) => a.iter().flat_map(f64s).collect(),
        v => vec![v.as_f64().unwrap()],
    }
}

fn close(got: f64, want: f64, tol: f64, what: &str) {
    assert!(
        (got - want).abs() <= tol * want.abs().max(1.0),
        "{what}: got {got}, want {want}"
    );
}

/// AdamW with the hyper-parameters a fixture section recorded.
fn adamw(params: Vec<Var>, r: &Value) -> AdamW {
    let betas = f64s(&r["betas"]);
    let hp = AdamWParams {
        beta1: betas[0],
        beta2: betas[1],
        eps: r["eps"].as_f64().unwrap(),
        weight_decay: r["weight_decay"].as_f64().unwrap(),
    };
    AdamW::new(params, hp).unwrap()
}

fn loss_of(model: &Model, batch: &Batch) -> (Tensor, f64) {
    let n = batch.targets.len() as f64;
    let sum = nll_sum(model, batch, None).unwrap().unwrap();
    let mean = (sum / n).unwrap();
    let value = mean.to_scalar::<f32>().unwrap() as f64;
    (mean, value)
}

#[test]
fn loss_gradients_clip_and_adamw_step_match_transformers_and_peft() {
    let r = &reference()["train_step"];
    let mut model = Model::load(&model_fixture("tiny-qwen2"), &LoadOptions::cpu_f32()).unwrap();
    let adapter = read_peft_adapter(&model_fixture("tiny-qwen2-adapter"), &Device::Cpu).unwrap();
    model.apply_peft_adapter(&adapter).unwrap();

    let ids: Vec<u32> = f64s(&r["input_ids"]).iter().map(|&x| x as u32).collect();
    let labels: Vec<i32> = f64s(&r["labels"]).iter().map(|&x| x as i32).collect();
    let row = Sequence {
        lengths: vec![ids.len()],
        input_ids: ids,
        labels,
    };
    let batch = Batch::new(&[&row], &Device::Cpu).unwrap();
    let (loss, value) = loss_of(&model, &batch);
    close(value, r["loss"].as_f64().unwrap(), 1e-5, "loss");

    let vars: Vec<Var> = model.lora_vars();
    let names = mh_trainer::checkpoint::var_names(&model);
    let store = loss.backward().unwrap();
    let mut grads: Vec<Tensor> = vars
        .iter()
        .map(|v| store.get(v.as_tensor()).unwrap().clone())
        .collect();
    for (key, want) in r["grads"].as_object().unwrap() {
        let i = names.iter().position(|n| n == key).unwrap();
        let got: Vec<f64> =
            f64s(&serde_json::to_value(grads[i].to_vec2::<f32>().unwrap()).unwrap());
        let want = f64s(want);
        assert_eq!(got.len(), want.len(), "{key}");
        let scale = want.iter().fold(0f64, |m, x| m.max(x.abs()));
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() <= 1e-4 * scale, "{key}: {g} vs {w}");
        }
    }
    assert!(names.contains(&peft_key(0, TargetModule::Q, true)));

    let norm = clip_grad_norm(&mut grads, r["max_grad_norm"].as_f64().unwrap()).unwrap();
    close(norm, r["grad_norm"].as_f64().unwrap(), 1e-5, "grad norm");
    let mut opt = adamw(vars, r);
    opt.step(&grads, r["lr"].as_f64().unwrap()).unwrap();
    let (_, after) = loss_of(&model, &batch);
    close(
        after,
        r["loss_after_step"].as_f64().unwrap(),
        1e-5,
        "loss after the step",
    );
}

#[test]
fn adamw_matches_torch_over_three_steps() {
    let r = &reference()["adamw"];
    let to_tensor = |v: &Value| {
        let flat: Vec<f32> = f64s(v).iter().map(|&x| x as f32).collect();
        Tensor::from_vec(flat, (2, 3), &Device::Cpu).unwrap()
    };
    let param = Var::from_tensor(&to_tensor(&r["param"])).unwrap();
    let mut opt = adamw(vec![param.clone()], r);
    let lrs = f64s(&r["lrs"]);
    let grads = r["grads"].as_array().unwrap();
    let expected = r["params_after_each_step"].as_array().unwrap();
    for ((grad, lr), want) in grads.iter().zip(lrs).zip(expected) {
        opt.step(&[to_tensor(grad)], lr).unwrap();
        let got = f64s(&serde_json::to_value(param.as_tensor().to_vec2::<f32>().unwrap()).unwrap());
        for (g, w) in got.iter().zip(f64s(want)) {
            assert!((g - w).abs() < 1e-6, "{g} vs {w}");
        }
    }
    assert_eq!(opt.t, 3);
}
