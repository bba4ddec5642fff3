//! Generation: the logits processors against transformers' own on fixed vectors, greedy
//! decoding with a repetition penalty against transformers' `generate`, the sampler's draws
//! against the softmax, seeds, stop ids, the callback and `generation_config.json`.
//! Fixture: `scripts/gen_sampling_reference.py`.

mod common;

use std::path::Path;

use common::{fixtures_dir, tiny_model};
use mh_model::candle_core::DType;
use mh_model::generate::{
    apply_repetition_penalty, apply_temperature, apply_top_k, apply_top_p, HF_DEFAULT_TOP_K,
};
use mh_model::{Arch, GenerationConfig, LoadOptions, Model, Sampler, StopReason};
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize)]
struct Reference {
    cases: Vec<Case>,
    pipelines: Vec<Pipeline>,
    greedy: Vec<GreedyRun>,
}

#[derive(Deserialize)]
struct Case {
    processor: String,
    params: Value,
    vector: String,
    context: Vec<u32>,
    logits: Vec<Option<f32>>,
    expected: Vec<Option<f32>>,
}

#[derive(Deserialize)]
struct Pipeline {
    settings: Settings,
    processors: Vec<String>,
    vector: String,
    context: Vec<u32>,
    logits: Vec<Option<f32>>,
    expected: Vec<Option<f32>>,
}

#[derive(Deserialize)]
struct Settings {
    repetition_penalty: f32,
    temperature: f32,
    top_k: usize,
    top_p: f32,
}

#[derive(Deserialize)]
struct GreedyRun {
    model_dir: String,
    prompt: Vec<u32>,
    repetition_penalty: f32,
    max_new_tokens: usize,
    stop_ids: Vec<u32>,
    tokens: Vec<u32>,
}

fn reference() -> Reference {
    let path = fixtures_dir().join("sampling-reference.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// JSON null is -inf.
fn decode(v: &[Option<f32>]) -> Vec<f32> {
    v.iter().map(|x| x.unwrap_or(f32::NEG_INFINITY)).collect()
}

/// Same filtered positions exactly, finite values to f32 rounding.
fn assert_close(what: &str, got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        if w == f32::NEG_INFINITY || g == f32::NEG_INFINITY {
            assert_eq!(g, w, "{what}: position {i} filtered differently");
        } else {
            let tol = 2e-6 * w.abs().max(1.0);
            assert!((g - w).abs() <= tol, "{what}: position {i}: {g} vs {w}");
        }
    }
}

#[test]
fn each_processor_matches_transformers() {
    let r = reference();
    let mut kinds = std::collections::BTreeSet::new();
    for c in &r.cases {
        let mut l = decode(&c.logits);
        let p = &c.params;
        match c.processor.as_str() {
            "repetition_penalty" => {
                apply_repetition_penalty(&mut l, &c.context, p["penalty"].as_f64().unwrap() as f32)
            }
            "temperature" => apply_temperature(&mut l, p["temperature"].as_f64().unwrap() as f32),
            "top_k" => apply_top_k(&mut l, p["top_k"].as_u64().unwrap() as usize),
            "top_p" => apply_top_p(&mut l, p["top_p"].as_f64().unwrap() as f32),
            other => panic!("unknown processor {other}"),
        }
        kinds.insert(c.processor.clone());
        let what = format!("{} {} on {}", c.processor, p, c.vector);
        assert_close(&what, &l, &decode(&c.expected));
    }
    assert_eq!(kinds.len(), 4);
    // The fixture filters something somewhere, or matching -inf positions would prove little.
    let filtered = r
        .cases
        .iter()
        .filter(|c| c.expected.iter().filter(|x| x.is_none()).count() > 1)
        .count();
    assert!(filtered > 20, "{filtered}");
}

#[test]
fn the_processor_chain_matches_transformers_generate() {
    let r = reference();
    assert!(!r.pipelines.is_empty());
    for p in &r.pipelines {
        // transformers' own `_get_logits_processor` built this list; ours runs in this order.
        assert_eq!(
            p.processors,
            [
                "RepetitionPenaltyLogitsProcessor",
                "TemperatureLogitsWarper",
                "TopKLogitsWarper",
                "TopPLogitsWarper"
            ]
        );
        let s = &p.settings;
        let cfg = GenerationConfig {
            temperature: Some(s.temperature),
            top_k: Some(s.top_k),
            top_p: Some(s.top_p),
            repetition_penalty: Some(s.repetition_penalty),
            ..GenerationConfig::default()
        };
        let sampler = Sampler::new(&cfg).unwrap();
        let mut l = decode(&p.logits);
        sampler.process(&mut l, &p.context);
        let what = format!("{:?} on {}", cfg, p.vector);
        assert_close(&what, &l, &decode(&p.expected));
    }
}

#[test]
fn greedy_with_repetition_penalty_matches_transformers_generate() {
    let r = reference();
    for g in &r.greedy {
        let model =
            Model::load(&fixtures_dir().join(&g.model_dir), &LoadOptions::cpu_f32()).unwrap();
        let cfg = GenerationConfig {
            max_new_tokens: g.max_new_tokens,
            repetition_penalty: Some(g.repetition_penalty),
            stop_ids: g.stop_ids.clone(),
            ..GenerationConfig::default()
        };
        let out = model.generate(&g.prompt, &cfg, |_| true).unwrap();
        assert_eq!(
            out.tokens, g.tokens,
            "{} penalty {}",
            g.model_dir, g.repetition_penalty
        );
        assert_eq!(out.prompt_tokens, g.prompt.len());
        let expected_reason = if g.tokens.len() < g.max_new_tokens {
            StopReason::Stop
        } else {
            StopReason::MaxTokens
        };
        assert_eq!(out.stop_reason, expected_reason);
    }
    // The penalty changes what transformers generates in at least one run, so the match above
    // covers it.
    let by_model = |dir: &str, pen: f32| {
        r.greedy
            .iter()
            .find(|g| g.model_dir == dir && g.repetition_penalty == pen)
            .map(|g| g.tokens.clone())
    };
    assert_ne!(by_model("tiny-qwen2", 1.0), by_model("tiny-qwen2", 3.0));
}

#[test]
fn top_k_one_is_greedy_and_seeds_decide_the_samples() {
    let dir = tempfile::tempdir().unwrap();
    // Untied LM head: the tied-embedding tiny models mostly repeat their last token.
    let model = tiny_model(dir.path(), Arch::Llama, DType::F32, None);
    let prompt = [3u32, 14, 15, 92, 65];
    let greedy = model
        .generate(&prompt, &GenerationConfig::greedy(16, &[]), |_| true)
        .unwrap();
    assert_eq!(greedy.tokens.len(), 16);
    let sampled = |seed: u64, top_k: Option<usize>| {
        let cfg = GenerationConfig {
            max_new_tokens: 16,
            temperature: Some(1.5),
            top_k,
            seed,
            ..GenerationConfig::default()
        };
        model.generate(&prompt, &cfg, |_| true).unwrap().tokens
    };
    for seed in [0, 1, 99] {
        assert_eq!(sampled(seed, Some(1)), greedy.tokens, "seed {seed}");
    }
    let a = sampled(7, None);
    assert_eq!(a, sampled(7, None));
    let b = sampled(8, None);
    assert_ne!(a, b);
    assert_ne!(a, greedy.tokens);
}

#[test]
fn draws_follow_the_processed_softmax() {
    let logits = [1.0f32, 2.5, 0.2, 3.0, -1.0, 2.0, 0.0];
    let temperature = 0.8f32;
    let cfg = GenerationConfig {
        temperature: Some(temperature),
        top_k: Some(5),
        seed: 42,
        ..GenerationConfig::default()
    };
    // Expected: softmax(logits / T) over the five largest.
    let mut keep: Vec<usize> = (0..logits.len()).collect();
    keep.sort_by(|&a, &b| logits[b].total_cmp(&logits[a]));
    keep.truncate(5);
    let weight = |i: usize| {
        if keep.contains(&i) {
            (f64::from(logits[i]) / f64::from(temperature)).exp()
        } else {
            0.0
        }
    };
    let total: f64 = (0..logits.len()).map(weight).sum();
    let expected: Vec<f64> = (0..logits.len()).map(|i| weight(i) / total).collect();

    let mut sampler = Sampler::new(&cfg).unwrap();
    let n = 200_000;
    let mut counts = vec![0usize; logits.len()];
    for _ in 0..n {
        let mut l = logits.to_vec();
        counts[sampler.next_token(&mut l, &[]).unwrap() as usize] += 1;
    }
    let freq: Vec<f64> = counts.iter().map(|&c| c as f64 / n as f64).collect();
    let worst = freq
        .iter()
        .zip(&expected)
        .map(|(f, e)| (f - e).abs())
        .fold(0.0, f64::max);
    // 200k draws: the standard error of any frequency is below 0.0012.
    let tolerance = 0.005;
    assert!(
        worst < tolerance,
        "frequencies {freq:?} vs softmax {expected:?}"
    );
    assert_eq!(counts[4] + counts[6], 0, "top-k filtered tokens were drawn");
    // A sampler that ignored the temperature, or drew from the untruncated softmax, would miss
    // by more than the tolerance.
    let plain: Vec<f64> = {
        let e: Vec<f64> = logits.iter().map(|&x| f64::from(x).exp()).collect();
        let s: f64 = e.iter().sum();
        e.into_iter().map(|x| x / s).collect()
    };
    let off = plain
        .iter()
        .zip(&expected)
        .map(|(p, e)| (p - e).abs())
        .fold(0.0, f64::max);
    assert!(off > 4.0 * tolerance, "{off}");
}

#[test]
fn stop_ids_and_the_callback_end_generation() {
    let dir = tempfile::tempdir().unwrap();
    let model = tiny_model(dir.path(), Arch::Llama, DType::F32, None);
    let prompt = [10u32, 20, 30];
    let free = model
        .generate(&prompt, &GenerationConfig::greedy(8, &[]), |_| true)
        .unwrap();
    assert_eq!(free.stop_reason, StopReason::MaxTokens);
    assert_eq!(free.content_tokens(), free.tokens.as_slice());

    // The stop id is emitted, seen by the callback, and flagged.
    let stop = free.tokens[2];
    let first = free.tokens.iter().position(|&t| t == stop).unwrap();
    let mut seen = Vec::new();
    let stopped = model
        .generate(&prompt, &GenerationConfig::greedy(8, &[stop]), |t| {
            seen.push(t);
            true
        })
        .unwrap();
    assert_eq!(stopped.tokens, free.tokens[..=first]);
    assert_eq!(stopped.stop_reason, StopReason::Stop);
    assert_eq!(stopped.content_tokens(), &free.tokens[..first]);
    assert_eq!(seen, stopped.tokens);

    let mut calls = 0;
    let cut = model
        .generate(&prompt, &GenerationConfig::greedy(8, &[]), |_| {
            calls += 1;
            calls < 3
        })
        .unwrap();
    assert_eq!(cut.tokens, free.tokens[..3]);
    assert_eq!(cut.stop_reason, StopReason::Callback);

    let none = model
        .generate(&prompt, &GenerationConfig::greedy(0, &[]), |_| true)
        .unwrap();
    assert!(none.tokens.is_empty());
    assert!(model
        .generate(&[], &GenerationConfig::default(), |_| true)
        .is_err());
    assert!(model
        .generate(&[10, 96], &GenerationConfig::default(), |_| true)
        .is_err());
}

fn write(dir: &Path, name: &str, v: &Value) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, serde_json::to_vec_pretty(v).unwrap()).unwrap();
    p
}

#[test]
fn generation_config_json_reads_as_transformers_applies_it() {
    let dir = tempfile::tempdir().unwrap();
    // Qwen2.5-7B-Instruct's file.
    let qwen = write(
        dir.path(),
        "qwen.json",
        &json!({"bos_token_id": 151643, "pad_token_id": 151643, "do_sample": true,
                "eos_token_id": [151645, 151643], "repetition_penalty": 1.05, "temperature": 0.7,
                "top_p": 0.8, "top_k": 20, "transformers_version": "4.37.0"}),
    );
    let c = GenerationConfig::from_generation_config_json(&qwen).unwrap();
    assert_eq!(c.stop_ids, [151645, 151643]);
    assert_eq!(c.temperature, Some(0.7));
    assert_eq!(c.top_k, Some(20));
    assert_eq!(c.top_p, Some(0.8));
    assert_eq!(c.repetition_penalty, Some(1.05));
    assert!(c.is_sampling());

    // do_sample false (or absent): greedy whatever the warpers say; the penalty still applies.
    for do_sample in [json!(false), Value::Null] {
        let p = write(
            dir.path(),
            "greedy.json",
            &json!({"do_sample": do_sample, "eos_token_id": 2, "temperature": 0.6, "top_p": 0.9,
                    "repetition_penalty": 1.2, "max_new_tokens": 64}),
        );
        let c = GenerationConfig::from_generation_config_json(&p).unwrap();
        assert!(!c.is_sampling());
        assert_eq!((c.temperature, c.top_k, c.top_p), (None, None, None));
        assert_eq!(c.stop_ids, [2]);
        assert_eq!(c.repetition_penalty, Some(1.2));
        assert_eq!(c.max_new_tokens, 64);
    }

    // Sampling without top_k gets transformers' 50; top_k 0 and top_p 1 are off.
    let p = write(dir.path(), "s.json", &json!({"do_sample": true}));
    let c = GenerationConfig::from_generation_config_json(&p).unwrap();
    assert_eq!(
        (c.temperature, c.top_k, c.top_p),
        (Some(1.0), Some(HF_DEFAULT_TOP_K), None)
    );
    assert!(c.stop_ids.is_empty());
    let p = write(
        dir.path(),
        "s.json",
        &json!({"do_sample": true, "top_k": 0, "top_p": 1.0, "temperature": null}),
    );
    let c = GenerationConfig::from_generation_config_json(&p).unwrap();
    assert_eq!((c.top_k, c.top_p), (None, None));

    // Bad values name the file and the field.
    for (field, bad) in [
        ("top_p", json!({"do_sample": true, "top_p": 1.5})),
        (
            "temperature",
            json!({"do_sample": true, "temperature": 0.0}),
        ),
        ("top_k", json!({"do_sample": true, "top_k": -3})),
        ("repetition_penalty", json!({"repetition_penalty": -1})),
        ("eos_token_id", json!({"eos_token_id": "</s>"})),
    ] {
        let p = write(dir.path(), "bad.json", &bad);
        let e = GenerationConfig::from_generation_config_json(&p)
            .unwrap_err()
            .to_string();
        assert!(e.contains("bad.json") && e.contains(field), "{e}");
    }

    // What we write reads back as the same config.
    let ours = GenerationConfig {
        max_new_tokens: 100,
        temperature: Some(0.7),
        top_k: Some(20),
        top_p: Some(0.8),
        repetition_penalty: Some(1.05),
        seed: 0,
        stop_ids: vec![2, 0],
    };
    let p = dir.path().join("generation_config.json");
    ours.write_generation_config_json(&p, Some(1), Some(0))
        .unwrap();
    let written: Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
    assert_eq!(written["temperature"], json!(0.7));
    assert_eq!(written["bos_token_id"], json!(1));
    assert_eq!(
        GenerationConfig::from_generation_config_json(&p).unwrap(),
        ours
    );
    let greedy = GenerationConfig::greedy(10, &[2]);
    greedy.write_generation_config_json(&p, None, None).unwrap();
    assert_eq!(
        GenerationConfig::from_generation_config_json(&p).unwrap(),
        greedy
    );
}
