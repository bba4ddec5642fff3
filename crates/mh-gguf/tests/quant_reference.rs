//! Our quantizers against ggml's reference quantizers, byte for byte, and our dequantizers
//! against gguf-py's decoding of ggml's blocks. The fixture comes from ggml itself
//! (scripts/gen_gguf_quant_fixtures.py).

use std::path::Path;

use mh_gguf::quant::{dequantize, quantize};
use mh_gguf::GgmlType;
use sha2::{Digest, Sha256};

fn fixture() -> serde_json::Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/quant-reference.json");
    serde_json::from_slice(&std::fs::read(&path).expect("read fixture")).expect("parse fixture")
}

fn ty(name: &str) -> GgmlType {
    GgmlType::all()
        .find(|t| t.name() == name)
        .unwrap_or_else(|| panic!("unknown type {name}"))
}

#[test]
fn blocks_are_byte_identical_to_ggml_and_decode_like_gguf_py() {
    let f = fixture();
    let n = f["n_per_row"].as_u64().unwrap() as usize;
    let rows: Vec<(String, Vec<f32>)> = f["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let bytes = hex::decode(r["f32_le_hex"].as_str().unwrap()).unwrap();
            let vals = bytes
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect::<Vec<_>>();
            assert_eq!(vals.len(), n);
            (r["name"].as_str().unwrap().to_string(), vals)
        })
        .collect();
    let types = f["types"].as_object().unwrap();
    assert_eq!(
        types.len(),
        9,
        "F16, BF16, Q8_0, Q4_0, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K"
    );
    let mut failures = Vec::new();
    for (tname, entry) in types {
        let t = ty(tname);
        for (block, (row_name, values)) in entry["blocks"].as_array().unwrap().iter().zip(&rows) {
            assert_eq!(block["row"].as_str().unwrap(), row_name);
            let expected = hex::decode(block["bytes_hex"].as_str().unwrap()).unwrap();
            let mut ours = Vec::new();
            quantize(t, values, &mut ours).unwrap();
            if ours != expected {
                let at = ours.iter().zip(&expected).position(|(a, b)| a != b);
                failures.push(format!("{tname} {row_name}: first differing byte {at:?}"));
            }
            let decoded = dequantize(t, &expected, n).unwrap();
            let bytes: Vec<u8> = decoded.iter().flat_map(|v| v.to_le_bytes()).collect();
            let sha = hex::encode(Sha256::digest(&bytes));
            if sha != block["dequant_f32_sha256"].as_str().unwrap() {
                failures.push(format!(
                    "{tname} {row_name}: dequantized values differ from gguf-py"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// candle's quantizers on the same rows: its F16/BF16/Q8_0/Q4_0/Q5_0/Q5_1 blocks are ggml's
/// (and ours) byte for byte; its K-quants follow an older ggml (`make_qkx1_quants`, half-away
/// rounding), which is why mh-gguf carries its own — how many rows candle's K-quants get right
/// is printed, not asserted.
#[test]
fn candle_agrees_on_the_32_blocks() {
    use candle_core::quantized::{GgmlDType, QTensor};
    use candle_core::{Device, Tensor};
    let f = fixture();
    for (name, dt) in [
        ("F16", GgmlDType::F16),
        ("BF16", GgmlDType::BF16),
        ("Q8_0", GgmlDType::Q8_0),
        ("Q4_0", GgmlDType::Q4_0),
        ("Q5_0", GgmlDType::Q5_0),
        ("Q5_1", GgmlDType::Q5_1),
        ("Q4_K", GgmlDType::Q4K),
        ("Q5_K", GgmlDType::Q5K),
        ("Q6_K", GgmlDType::Q6K),
    ] {
        let mut same = 0;
        let rows = f["rows"].as_array().unwrap();
        for (i, r) in rows.iter().enumerate() {
            let bytes = hex::decode(r["f32_le_hex"].as_str().unwrap()).unwrap();
            let vals: Vec<f32> = bytes
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            let n = vals.len();
            let t = Tensor::from_vec(vals, (1, n), &Device::Cpu).unwrap();
            let q = QTensor::quantize(&t, dt).unwrap();
            let ours = q.data().unwrap();
            let ggml =
                hex::decode(f["types"][name]["blocks"][i]["bytes_hex"].as_str().unwrap()).unwrap();
            same += usize::from(ours.as_ref() == ggml.as_slice());
        }
        println!(
            "candle {name}: {same}/{} rows identical to ggml",
            rows.len()
        );
        if !name.ends_with("_K") {
            assert_eq!(same, rows.len(), "candle {name} differs from ggml");
        }
    }
}
