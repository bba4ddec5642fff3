//! The VRAM planner: parameter counts against transformers/peft (fixture from
//! scripts/gen_runpod_plan_reference.py), the estimate's behaviour, and the GPU choice.

use std::path::{Path, PathBuf};

use mh_model::{ModelConfig, TargetModule};
use mh_runpod::plan::{
    activation_bytes, choose_gpu, estimate, estimate_from_file, lora_parameter_count,
    parameter_count, Estimate, Method, PlanError, TrainShape, DEFAULT_MARGIN, OVERHEAD_GB,
};
use mh_runpod::{CloudType, GpuType, StockStatus};
use serde_json::Value;

const PREFER: [CloudType; 2] = [CloudType::Community, CloudType::Secure];

fn fixture() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/plan-reference.json");
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn config_of(model: &Value) -> ModelConfig {
    ModelConfig::from_json_str(
        &model["config"].to_string(),
        &PathBuf::from(model["name"].as_str().unwrap()),
    )
    .unwrap()
}

fn model(name: &str) -> ModelConfig {
    let fx = fixture();
    let m = fx["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == name)
        .unwrap();
    config_of(m)
}

fn shape(batch: usize, seq_len: usize) -> TrainShape {
    TrainShape { batch, seq_len }
}

#[test]
fn parameter_counts_match_transformers_and_peft() {
    let fx = fixture();
    let models = fx["models"].as_array().unwrap();
    assert!(models.len() >= 4);
    for m in models {
        let cfg = config_of(m);
        let name = m["name"].as_str().unwrap();
        assert_eq!(
            parameter_count(&cfg),
            m["parameters"].as_u64().unwrap(),
            "{name}"
        );
        for (rank, want) in m["lora_all_linear"].as_object().unwrap() {
            let rank: usize = rank.parse().unwrap();
            assert_eq!(
                lora_parameter_count(&cfg, rank, &TargetModule::ALL),
                want.as_u64().unwrap(),
                "{name} r={rank}"
            );
        }
    }
    // The published count of Qwen2.5-0.5B (tied embeddings).
    assert_eq!(parameter_count(&model("Qwen2.5-0.5B")), 494_032_768);
}

#[test]
fn qwen_half_billion_lora_estimate() {
    let cfg = model("Qwen2.5-0.5B");
    let e = estimate(&cfg, &Method::lora(16), shape(1, 1024)).unwrap();
    let gib = (1u64 << 30) as f64;
    assert_eq!(e.parameters, 494_032_768);
    assert_eq!(e.trainable_parameters, 8_798_208);
    assert!((e.weights_gb - 494_032_768.0 * 2.0 / gib).abs() < 1e-9);
    assert!((e.adapter_gb - 8_798_208.0 * 4.0 / gib).abs() < 1e-9);
    assert!((e.optimizer_gb - 8_798_208.0 * 8.0 / gib).abs() < 1e-9);
    assert_eq!(e.overhead_gb, OVERHEAD_GB);
    let sum = e.weights_gb
        + e.adapter_gb
        + e.gradients_gb
        + e.optimizer_gb
        + e.activations_gb
        + e.overhead_gb;
    assert!((e.total_gb - sum).abs() < 1e-9);
    // Small model, one 1k sequence: a few GiB, far under a 24 GiB card.
    assert!(e.total_gb > 2.0 && e.total_gb < 12.0, "{e}");
    let table = e.to_string();
    for row in ["weights", "optimizer", "activations", "total"] {
        assert!(table.contains(row), "{table}");
    }
}

#[test]
fn full_fine_tune_needs_sixteen_bytes_per_parameter() {
    let cfg = model("Mistral-7B-v0.1");
    let e = estimate(&cfg, &Method::Full, shape(1, 512)).unwrap();
    let p = e.parameters as f64;
    let state = (e.weights_gb + e.gradients_gb + e.optimizer_gb) * (1u64 << 30) as f64;
    assert!((state - 16.0 * p).abs() < 1.0, "{state} vs {}", 16.0 * p);
    assert_eq!(e.trainable_parameters, e.parameters);
    assert_eq!(e.adapter_gb, 0.0);
    // ~108 GiB of state alone: no single 80 GiB card holds it.
    let gpus = catalogue();
    let err = choose_gpu(&e, &gpus, DEFAULT_MARGIN, &PREFER).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, PlanError::NoFit { .. }), "{msg}");
    assert!(msg.contains("80 GiB") && msg.contains("--gpu"), "{msg}");
}

#[test]
fn estimate_grows_with_sequence_batch_and_rank() {
    let cfg = model("Qwen3-0.6B");
    let base = estimate(&cfg, &Method::lora(8), shape(2, 512)).unwrap();
    let longer = estimate(&cfg, &Method::lora(8), shape(2, 1024)).unwrap();
    let wider = estimate(&cfg, &Method::lora(8), shape(4, 512)).unwrap();
    let ranker = estimate(&cfg, &Method::lora(64), shape(2, 512)).unwrap();
    assert!(longer.activations_gb > base.activations_gb);
    assert!(longer.total_gb > base.total_gb);
    assert!(wider.total_gb > base.total_gb);
    assert!(ranker.adapter_gb > base.adapter_gb && ranker.total_gb > base.total_gb);
    // Activations are linear in the batch; super-linear in the sequence (attention scores).
    let b2 = activation_bytes(&cfg, &Method::lora(8), shape(2, 512));
    let b4 = activation_bytes(&cfg, &Method::lora(8), shape(4, 512));
    assert_eq!(b4, 2 * b2);
    let s2 = activation_bytes(&cfg, &Method::lora(8), shape(2, 1024));
    assert!(s2 > 2 * b2);
    // The same model fully trained needs more than with LoRA.
    let full = estimate(&cfg, &Method::Full, shape(2, 512)).unwrap();
    assert!(full.total_gb > base.total_gb);
}

#[test]
fn bad_shapes_are_refused() {
    let cfg = model("SmolLM2-135M");
    for (m, s) in [
        (Method::lora(8), shape(0, 512)),
        (Method::lora(8), shape(1, 0)),
        (Method::lora(0), shape(1, 512)),
        (
            Method::Lora {
                rank: 8,
                targets: vec![],
            },
            shape(1, 512),
        ),
    ] {
        assert!(matches!(estimate(&cfg, &m, s), Err(PlanError::Shape(_))));
    }
}

#[test]
fn estimate_from_a_config_file() {
    let fx = fixture();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.json");
    std::fs::write(&path, fx["models"][0]["config"].to_string()).unwrap();
    let e = estimate_from_file(&path, &Method::lora(8), shape(1, 256)).unwrap();
    assert_eq!(
        e.parameters,
        fx["models"][0]["parameters"].as_u64().unwrap()
    );
    let missing = estimate_from_file(&dir.path().join("nope.json"), &Method::Full, shape(1, 8));
    assert!(matches!(missing, Err(PlanError::Config(_))));
}

fn gpu(
    id: &str,
    mem: u32,
    community: Option<f64>,
    secure: Option<f64>,
    stock: Option<StockStatus>,
) -> GpuType {
    GpuType {
        id: id.into(),
        display_name: id.into(),
        memory_gb: mem,
        secure_price: secure,
        community_price: community,
        community_spot_price: None,
        secure_spot_price: None,
        stock,
    }
}

/// The same shape as mh-testkit's default FakeRunPod catalogue.
fn catalogue() -> Vec<GpuType> {
    vec![
        gpu(
            "NVIDIA GeForce RTX 4090",
            24,
            Some(0.34),
            Some(0.69),
            Some(StockStatus::High),
        ),
        gpu(
            "NVIDIA RTX A5000",
            24,
            Some(0.16),
            Some(0.26),
            Some(StockStatus::Low),
        ),
        gpu(
            "NVIDIA A100 80GB PCIe",
            80,
            Some(1.19),
            Some(1.64),
            Some(StockStatus::Medium),
        ),
        gpu(
            "NVIDIA H100 80GB HBM3",
            80,
            Some(2.69),
            Some(2.99),
            Some(StockStatus::None),
        ),
    ]
}

fn fake_estimate(total_gb: f64) -> Estimate {
    Estimate {
        parameters: 0,
        trainable_parameters: 0,
        weights_gb: 0.0,
        adapter_gb: 0.0,
        gradients_gb: 0.0,
        optimizer_gb: 0.0,
        activations_gb: 0.0,
        overhead_gb: 0.0,
        total_gb,
    }
}

#[test]
fn choice_is_the_cheapest_fitting_gpu_in_stock() {
    let gpus = catalogue();
    // 10 GiB × 1.15 fits every card: the A5000 on community is the cheapest.
    let choices = choose_gpu(&fake_estimate(10.0), &gpus, DEFAULT_MARGIN, &PREFER).unwrap();
    let order: Vec<(&str, CloudType, f64)> = choices
        .iter()
        .map(|c| (c.gpu_type_id.as_str(), c.cloud, c.price_per_hr))
        .collect();
    assert_eq!(
        order,
        vec![
            ("NVIDIA RTX A5000", CloudType::Community, 0.16),
            ("NVIDIA RTX A5000", CloudType::Secure, 0.26),
            ("NVIDIA GeForce RTX 4090", CloudType::Community, 0.34),
            ("NVIDIA GeForce RTX 4090", CloudType::Secure, 0.69),
            ("NVIDIA A100 80GB PCIe", CloudType::Community, 1.19),
            ("NVIDIA A100 80GB PCIe", CloudType::Secure, 1.64),
        ],
        "the out-of-stock H100 is skipped"
    );
    assert!((choices[0].cost_estimate(2.5) - 0.4).abs() < 1e-12);
    assert_eq!(choices[0].memory_gb, 24);

    // 22 GiB × 1.15 = 25.3 GiB: only the 80 GiB cards, and the H100 is out of stock.
    let big = choose_gpu(&fake_estimate(22.0), &gpus, DEFAULT_MARGIN, &PREFER).unwrap();
    assert!(big.iter().all(|c| c.gpu_type_id == "NVIDIA A100 80GB PCIe"));
    // The margin matters: 22 GiB with no margin fits 24 GiB cards.
    let tight = choose_gpu(&fake_estimate(22.0), &gpus, 1.0, &PREFER).unwrap();
    assert_eq!(tight[0].gpu_type_id, "NVIDIA RTX A5000");

    // Only SECURE allowed.
    let secure = choose_gpu(
        &fake_estimate(10.0),
        &gpus,
        DEFAULT_MARGIN,
        &[CloudType::Secure],
    )
    .unwrap();
    assert!(secure.iter().all(|c| c.cloud == CloudType::Secure));
    assert_eq!(secure[0].price_per_hr, 0.26);
}

#[test]
fn equal_prices_put_the_preferred_cloud_first_and_unknown_stock_is_kept() {
    let gpus = vec![
        gpu("B", 48, Some(0.5), Some(0.5), None),
        gpu("A", 48, None, Some(0.4), Some(StockStatus::High)),
    ];
    let c = choose_gpu(&fake_estimate(10.0), &gpus, DEFAULT_MARGIN, &PREFER).unwrap();
    let order: Vec<(&str, CloudType)> = c
        .iter()
        .map(|c| (c.gpu_type_id.as_str(), c.cloud))
        .collect();
    assert_eq!(
        order,
        vec![
            ("A", CloudType::Secure),
            ("B", CloudType::Community),
            ("B", CloudType::Secure)
        ]
    );
    let c = choose_gpu(
        &fake_estimate(10.0),
        &gpus,
        DEFAULT_MARGIN,
        &[CloudType::Secure, CloudType::Community],
    )
    .unwrap();
    assert_eq!(
        (c[1].gpu_type_id.as_str(), c[1].cloud),
        ("B", CloudType::Secure)
    );
}

#[test]
fn nothing_to_choose_from_is_a_clear_error() {
    let e = fake_estimate(10.0);
    let err = choose_gpu(&e, &[], DEFAULT_MARGIN, &PREFER).unwrap_err();
    assert!(matches!(err, PlanError::NoGpuTypes), "{err}");
    let all_out = vec![gpu("X", 80, Some(1.0), Some(2.0), Some(StockStatus::None))];
    let msg = choose_gpu(&e, &all_out, DEFAULT_MARGIN, &PREFER)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("out of stock"), "{msg}");
    let no_price = vec![gpu("Y", 80, None, Some(2.0), Some(StockStatus::High))];
    let msg = choose_gpu(&e, &no_price, DEFAULT_MARGIN, &[CloudType::Community])
        .unwrap_err()
        .to_string();
    assert!(msg.contains("no price on COMMUNITY"), "{msg}");
    let small = vec![gpu("Z", 8, Some(0.1), Some(0.2), Some(StockStatus::High))];
    let msg = choose_gpu(&e, &small, DEFAULT_MARGIN, &PREFER)
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("11.5 GiB") && msg.contains("Z with 8 GiB"),
        "{msg}"
    );
}
