//! Forward-pass consistency: packed samples equal separate runs, the KV cache equals the full
//! forward, greedy decoding follows the logits, bad inputs are refused, and the committed tiny
//! fixtures are exactly what the generator writes.

mod common;

use common::{fixtures_dir, ids, max_abs_diff, tiny_model};
use mh_model::candle_core::{DType, IndexOp, Tensor, D};
use mh_model::{generate_tiny_model, Arch, KvCache, Model};

fn forward(model: &Model, rows: &[Vec<u32>]) -> Tensor {
    model.forward(&ids(rows), None, None).unwrap()
}

#[test]
fn packed_samples_equal_separate_runs() {
    for arch in [Arch::Qwen2, Arch::Llama, Arch::Qwen3] {
        let dir = tempfile::tempdir().unwrap();
        let model = tiny_model(dir.path(), arch, DType::F32, None);
        let a = vec![5u32, 9, 13, 2, 40];
        let b = vec![7u32, 7, 31, 60, 1, 4, 90];
        let c = vec![11u32, 12, 13];
        // Row 0: a|b packed. Row 1: c then a 9-token remainder (padding-like).
        let row0: Vec<u32> = a.iter().chain(&b).copied().collect();
        let mut row1 = c.clone();
        row1.extend([3u32; 9]);
        let lengths = vec![vec![a.len(), b.len()], vec![c.len()]];
        let packed = model
            .forward(&ids(&[row0, row1]), Some(&lengths), None)
            .unwrap();

        let la = forward(&model, std::slice::from_ref(&a));
        let lb = forward(&model, std::slice::from_ref(&b));
        let lc = forward(&model, std::slice::from_ref(&c));
        let p0 = packed.i(0).unwrap();
        let d_a = max_abs_diff(&p0.narrow(0, 0, a.len()).unwrap(), &la.i(0).unwrap());
        let d_b = max_abs_diff(&p0.narrow(0, a.len(), b.len()).unwrap(), &lb.i(0).unwrap());
        let d_c = max_abs_diff(
            &packed.i(1).unwrap().narrow(0, 0, c.len()).unwrap(),
            &lc.i(0).unwrap(),
        );
        // The tiny models' logits reach ~30, so f32 rounding alone (which differs between the
        // GEMM kernels a CPU dispatches) moves them by a few 1e-6.
        assert!(
            d_a < 3e-5 && d_b < 3e-5 && d_c < 3e-5,
            "{arch}: {d_a:e} {d_b:e} {d_c:e}"
        );

        // Without the lengths, b attends to a and its logits change.
        let unpacked = forward(&model, &[a.iter().chain(&b).copied().collect()]);
        let d = max_abs_diff(
            &unpacked.i(0).unwrap().narrow(0, a.len(), b.len()).unwrap(),
            &lb.i(0).unwrap(),
        );
        assert!(d > 1e-3, "{arch}: packing made no difference ({d})");
    }
}

#[test]
fn kv_cache_matches_the_full_forward() {
    for arch in [Arch::Qwen2, Arch::Llama, Arch::Qwen3] {
        let dir = tempfile::tempdir().unwrap();
        let model = tiny_model(dir.path(), arch, DType::F32, None);
        let tokens = vec![
            vec![3u32, 1, 4, 1, 5, 9, 2, 6, 5, 3],
            vec![2u32, 7, 1, 8, 2, 8, 1, 8, 2, 8],
        ];
        let full = forward(&model, &tokens);

        let mut cache = KvCache::new(&model);
        let prefix: Vec<Vec<u32>> = tokens.iter().map(|r| r[..4].to_vec()).collect();
        let first = model.forward_cached(&ids(&prefix), &mut cache).unwrap();
        assert_eq!(cache.len(), 4);
        assert!(max_abs_diff(&first, &full.narrow(1, 0, 4).unwrap()) < 1e-4);
        for pos in 4..10 {
            let step: Vec<Vec<u32>> = tokens.iter().map(|r| vec![r[pos]]).collect();
            let logits = model.forward_cached(&ids(&step), &mut cache).unwrap();
            let d = max_abs_diff(&logits, &full.narrow(1, pos, 1).unwrap());
            assert!(d < 1e-4, "{arch} position {pos}: {d:e}");
        }
        // A chunk of several tokens after a cached prefix uses the offset causal mask.
        cache.clear();
        model.forward_cached(&ids(&prefix), &mut cache).unwrap();
        let rest: Vec<Vec<u32>> = tokens.iter().map(|r| r[4..].to_vec()).collect();
        let chunk = model.forward_cached(&ids(&rest), &mut cache).unwrap();
        let d = max_abs_diff(&chunk, &full.narrow(1, 4, 6).unwrap());
        assert!(d < 1e-4, "{arch} chunk after a cached prefix: {d:e}");
    }
}

#[test]
fn greedy_generation_follows_the_full_forward() {
    let dir = tempfile::tempdir().unwrap();
    let model = tiny_model(dir.path(), Arch::Llama, DType::F32, None);
    let prompt = vec![10u32, 20, 30];
    let out = model.generate_greedy(&prompt, 6, &[]).unwrap();
    assert_eq!(out.len(), 6);
    let mut seq = prompt.clone();
    for &tok in &out {
        let logits = forward(&model, &[seq.clone()]);
        let last = logits.i((0, seq.len() - 1)).unwrap();
        let expected = last.argmax(D::Minus1).unwrap().to_scalar::<u32>().unwrap();
        assert_eq!(tok, expected);
        seq.push(tok);
    }
    // Stops right after a stop token.
    let stop = out[1];
    let stopped = model.generate_greedy(&prompt, 6, &[stop]).unwrap();
    assert_eq!(stopped.last(), Some(&stop));
    assert!(stopped.len() <= 2);
}

#[test]
fn bad_inputs_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let model = tiny_model(dir.path(), Arch::Qwen2, DType::F32, None);
    let e = model
        .forward(&ids(&[vec![1, 96]]), None, None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("96") && e.contains("vocabulary"), "{e}");
    let e = model
        .forward(&ids(&[vec![1, 2, 3]]), Some(&[vec![2, 2]]), None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("sum to at most 3"), "{e}");
    let e = model
        .forward(&ids(&[vec![1, 2, 3]]), Some(&[vec![3], vec![3]]), None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("2 rows for a batch of 1"), "{e}");
    let f = Tensor::new(&[[1f32, 2.0]], model.device()).unwrap();
    assert!(model.forward(&f, None, None).is_err());
}

#[test]
fn committed_fixtures_are_what_the_generator_writes() {
    for (name, spec) in common::fixtures::fixture_specs() {
        let out = tempfile::tempdir().unwrap();
        generate_tiny_model(out.path(), &spec).unwrap();
        for file in ["config.json", "model.safetensors"] {
            let fresh = std::fs::read(out.path().join(file)).unwrap();
            let committed = std::fs::read(fixtures_dir().join(name).join(file)).unwrap();
            assert!(
                fresh == committed,
                "{name}/{file} differs from the generator's output: rerun scripts/gen_reference_logits.py"
            );
        }
        let size = std::fs::metadata(fixtures_dir().join(name).join("model.safetensors"))
            .unwrap()
            .len();
        assert!(
            size < 700_000,
            "{name} is {size} bytes; keep fixtures small"
        );
    }
}
