//! Model export end to end: the per-tensor type mixes and quantized bytes against llama.cpp's
//! `llama-quantize` (fixture), and every file read back by llama.cpp's Python reader (gguf-py)
//! with the metadata keys, value types, tensor names, shapes and types llama.cpp expects.

mod common;

use std::collections::BTreeMap;

use mh_gguf::{export_model, ExportOptions, FileType, GgufFile, MetaValue};
use mh_model::Arch;
use mh_profile::NoProgress;
use serde_json::Value;
use sha2::{Digest, Sha256};

fn export(dir: &std::path::Path, out: &std::path::Path, ft: FileType) -> mh_gguf::ExportReport {
    let mut opts = ExportOptions::new(ft);
    opts.chat_template = Some("{{ messages[0]['content'] }}".into());
    export_model(dir, out, &opts, &NoProgress).expect("export")
}

#[test]
fn quantized_files_match_llama_quantize_tensor_for_tensor() {
    let fixture: Value = serde_json::from_slice(
        &std::fs::read(common::fixtures().join("quant-mix-reference.json")).unwrap(),
    )
    .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for arch in [Arch::Qwen2, Arch::Llama] {
        let dir = common::model_dir(&tmp.path().join(arch.model_type()), &common::mix_spec(arch));
        let expected_all = &fixture["models"][arch.model_type()];
        for ft in [
            FileType::Q4_K_M,
            FileType::Q5_K_M,
            FileType::Q6_K,
            FileType::Q8_0,
            FileType::Q4_0,
        ] {
            let expected = expected_all[ft.name()].as_object().unwrap();
            let out = tmp
                .path()
                .join(format!("{}-{}.gguf", arch.model_type(), ft.name()));
            export(&dir, &out, ft);
            let f = GgufFile::open(&out).unwrap();
            let h = f.header();
            assert_eq!(
                h.get("general.file_type").and_then(MetaValue::as_u64),
                expected["general.file_type"].as_u64(),
                "{arch} {ft}"
            );
            let mut ours: BTreeMap<&str, (String, String)> = BTreeMap::new();
            for t in &h.tensors {
                let sha = hex::encode(Sha256::digest(f.tensor_data(t)));
                ours.insert(&t.name, (t.ty.name().to_string(), sha));
            }
            for (name, exp) in expected {
                if name == "general.file_type" {
                    continue;
                }
                let exp_ty = exp[0].as_str().unwrap();
                match ours.remove(name.as_str()) {
                    None => failures.push(format!("{arch} {ft}: {name} missing")),
                    Some((ty, _)) if ty != exp_ty => failures.push(format!(
                        "{arch} {ft}: {name} is {ty}, llama.cpp chose {exp_ty}"
                    )),
                    Some((_, sha)) if sha != exp[1].as_str().unwrap() => {
                        failures.push(format!("{arch} {ft}: {name} ({exp_ty}) bytes differ"))
                    }
                    Some(_) => {}
                }
            }
            for extra in ours.keys() {
                failures.push(format!("{arch} {ft}: {extra} not in llama.cpp's file"));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// Our reader's value as gguf_read.py prints it.
fn as_py_json(v: &MetaValue) -> Value {
    match v {
        MetaValue::F32(x) => Value::String(py_float_repr(f64::from(*x))),
        MetaValue::F64(x) => Value::String(py_float_repr(*x)),
        MetaValue::Array { items, .. } => Value::Array(items.iter().map(as_py_json).collect()),
        MetaValue::String(s) => Value::String(s.clone()),
        MetaValue::Bool(b) => Value::Bool(*b),
        other => {
            serde_json::json!(other
                .as_u64()
                .map(|u| u as i128)
                .unwrap_or_else(|| match other {
                    MetaValue::I8(x) => i128::from(*x),
                    MetaValue::I16(x) => i128::from(*x),
                    MetaValue::I32(x) => i128::from(*x),
                    MetaValue::I64(x) => i128::from(*x),
                    _ => 0,
                }) as i64)
        }
    }
}

/// Python's `repr(float)`: the shortest round-trip form, with `.0` for integral values and
/// exponents as `e-07`.
fn py_float_repr(x: f64) -> String {
    let s = format!("{x:?}");
    if let Some((m, e)) = s.split_once('e') {
        let (sign, digits) = match e.strip_prefix('-') {
            Some(d) => ("-", d),
            None => ("+", e),
        };
        format!("{m}e{sign}{digits:0>2}")
    } else {
        s
    }
}

fn type_names(v: &MetaValue) -> Vec<String> {
    match v {
        MetaValue::Array { elem, items } => {
            let mut t = vec!["ARRAY".to_string()];
            match items.first() {
                Some(first) if *elem == mh_gguf::ValueType::Array => t.extend(type_names(first)),
                _ => t.push(elem.name().to_string()),
            }
            t
        }
        other => vec![other.value_type().name().to_string()],
    }
}

/// The keys llama.cpp and Ollama read with a fixed type.
fn expected_types(arch: &str) -> Vec<(String, &'static str)> {
    let mut v: Vec<(String, &'static str)> = [
        ("general.architecture", "STRING"),
        ("general.type", "STRING"),
        ("general.name", "STRING"),
        ("general.file_type", "UINT32"),
        ("general.quantization_version", "UINT32"),
        ("general.alignment", "UINT32"),
        ("tokenizer.ggml.model", "STRING"),
        ("tokenizer.ggml.pre", "STRING"),
        ("tokenizer.ggml.tokens", "ARRAY,STRING"),
        ("tokenizer.ggml.token_type", "ARRAY,INT32"),
        ("tokenizer.ggml.merges", "ARRAY,STRING"),
        ("tokenizer.ggml.bos_token_id", "UINT32"),
        ("tokenizer.ggml.eos_token_id", "UINT32"),
        ("tokenizer.ggml.padding_token_id", "UINT32"),
        ("tokenizer.ggml.add_bos_token", "BOOL"),
        ("tokenizer.ggml.add_eos_token", "BOOL"),
        ("tokenizer.chat_template", "STRING"),
    ]
    .into_iter()
    .map(|(k, t)| (k.to_string(), t))
    .collect();
    for (k, t) in [
        ("block_count", "UINT32"),
        ("context_length", "UINT32"),
        ("embedding_length", "UINT32"),
        ("feed_forward_length", "UINT32"),
        ("attention.head_count", "UINT32"),
        ("attention.head_count_kv", "UINT32"),
        ("attention.key_length", "UINT32"),
        ("attention.value_length", "UINT32"),
        ("rope.freq_base", "FLOAT32"),
        ("attention.layer_norm_rms_epsilon", "FLOAT32"),
    ] {
        v.push((format!("{arch}.{k}"), t));
    }
    if arch == "llama" {
        v.push(("llama.vocab_size".into(), "UINT32"));
        v.push(("llama.rope.dimension_count".into(), "UINT32"));
    }
    v
}

#[test]
fn every_file_reads_back_in_gguf_py_as_written() {
    let tmp = tempfile::tempdir().unwrap();
    let tokenizer: Value = serde_json::from_slice(
        &std::fs::read(common::fixtures().join("tokenizer/tokenizer.json")).unwrap(),
    )
    .unwrap();
    for arch in [Arch::Qwen2, Arch::Llama, Arch::Qwen3] {
        let spec = common::small_spec(arch);
        let dir = common::model_dir(&tmp.path().join(arch.model_type()), &spec);
        for ft in FileType::ALL {
            let out = tmp
                .path()
                .join(format!("{}-{}.gguf", arch.model_type(), ft.name()));
            let report = export(&dir, &out, ft);
            let ours = GgufFile::open(&out).unwrap();
            let h = ours.header();
            let py = common::read_with_gguf_py(&out);
            let ctx = format!("{arch} {ft}");
            assert_eq!(py["alignment"], 32, "{ctx}");

            // Every key: same type and value as our reader sees, and nothing else.
            let fields = py["fields"].as_object().unwrap();
            assert_eq!(fields.len(), h.metadata.len(), "{ctx}: key count");
            for (k, v) in &h.metadata {
                let f = &fields[k.as_str()];
                assert_eq!(
                    f["types"],
                    serde_json::json!(type_names(v)),
                    "{ctx}: {k} type"
                );
                assert_eq!(f["value"], as_py_json(v), "{ctx}: {k} value");
            }
            // The types llama.cpp and Ollama insist on.
            let arch_name = report.architecture.clone();
            for (k, t) in expected_types(&arch_name) {
                let f = fields
                    .get(&k)
                    .unwrap_or_else(|| panic!("{ctx}: {k} missing"));
                assert_eq!(
                    f["types"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|x| x.as_str().unwrap())
                        .collect::<Vec<_>>()
                        .join(","),
                    t,
                    "{ctx}: {k}"
                );
            }
            assert_eq!(fields["general.architecture"]["value"], arch_name.as_str());
            assert_eq!(fields["general.file_type"]["value"], ft.id());
            assert_eq!(fields["general.alignment"]["value"], 32);
            assert_eq!(fields[&format!("{arch_name}.block_count")]["value"], 2);
            assert_eq!(
                fields[&format!("{arch_name}.embedding_length")]["value"],
                64
            );
            assert_eq!(
                fields[&format!("{arch_name}.attention.head_count_kv")]["value"],
                2
            );
            assert_eq!(fields["tokenizer.ggml.pre"]["value"], "qwen2");

            // Tokens: the tokenizer's 321, padded to the model's 384 with [PAD{id}] (UNUSED).
            let tokens = fields["tokenizer.ggml.tokens"]["value"].as_array().unwrap();
            let types = fields["tokenizer.ggml.token_type"]["value"]
                .as_array()
                .unwrap();
            assert_eq!(tokens.len(), common::VOCAB, "{ctx}");
            assert_eq!(types.len(), common::VOCAB, "{ctx}");
            let vocab = tokenizer["model"]["vocab"].as_object().unwrap();
            for (tok, id) in vocab {
                assert_eq!(tokens[id.as_u64().unwrap() as usize], tok.as_str(), "{ctx}");
            }
            assert_eq!(tokens[0], "<|endoftext|>");
            assert_eq!(types[0], 3, "special added token → CONTROL");
            assert_eq!(types[2], 3);
            assert_eq!(tokens[320], "<think>");
            assert_eq!(types[320], 4, "non-special added token → USER_DEFINED");
            assert_eq!(tokens[321], "[PAD321]");
            assert_eq!(types[321], 5, "padding → UNUSED");
            assert_eq!(types[100], 1);
            let merges = fields["tokenizer.ggml.merges"]["value"].as_array().unwrap();
            let src_merges = tokenizer["model"]["merges"].as_array().unwrap();
            assert_eq!(merges.len(), src_merges.len());
            assert_eq!(
                merges[0],
                format!(
                    "{} {}",
                    src_merges[0][0].as_str().unwrap(),
                    src_merges[0][1].as_str().unwrap()
                )
            );
            assert_eq!(
                fields["tokenizer.ggml.eos_token_id"]["value"], 2,
                "<|im_end|>"
            );
            assert_eq!(
                fields["tokenizer.ggml.padding_token_id"]["value"], 0,
                "<|endoftext|>"
            );
            assert_eq!(fields["tokenizer.ggml.add_bos_token"]["value"], false);

            // Tensors: the same names, shapes, types, offsets and bytes through both readers.
            let tensors = py["tensors"].as_array().unwrap();
            assert_eq!(tensors.len(), h.tensors.len(), "{ctx}");
            for (t, p) in h.tensors.iter().zip(tensors) {
                assert_eq!(p["name"], t.name.as_str(), "{ctx}");
                assert_eq!(p["type"], t.ty.name(), "{ctx}: {}", t.name);
                assert_eq!(p["ne"], serde_json::json!(t.ne), "{ctx}: {}", t.name);
                assert_eq!(p["n_bytes"], t.n_bytes, "{ctx}: {}", t.name);
                assert_eq!(
                    p["data_offset"],
                    h.data_start + t.offset,
                    "{ctx}: {}",
                    t.name
                );
                assert_eq!(
                    p["sha256"],
                    hex::encode(Sha256::digest(ours.tensor_data(t))),
                    "{ctx}"
                );
            }
            let names: Vec<&str> = h.tensors.iter().map(|t| t.name.as_str()).collect();
            let tied = matches!(arch, Arch::Qwen2 | Arch::Qwen3);
            assert_eq!(
                names.contains(&"output.weight"),
                !tied,
                "{ctx}: output omitted exactly when tied"
            );
            assert_eq!(
                names.contains(&"blk.0.attn_q.bias"),
                arch == Arch::Qwen2,
                "{ctx}"
            );
            assert_eq!(
                names.contains(&"blk.1.attn_k_norm.weight"),
                arch == Arch::Qwen3,
                "{ctx}"
            );
            for t in &h.tensors {
                if t.ne.len() == 1 || t.name.ends_with("_norm.weight") {
                    assert_eq!(
                        t.ty,
                        mh_gguf::GgmlType::F32,
                        "{ctx}: {} must stay F32",
                        t.name
                    );
                }
            }
            assert_eq!(report.tensors.len(), h.tensors.len());
        }
    }
}

#[test]
fn unrecognised_pre_tokenizer_is_an_error_unless_named() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = common::model_dir(&tmp.path().join("m"), &common::small_spec(Arch::Qwen2));
    let tok_path = dir.join("tokenizer.json");
    let mut tok: Value = serde_json::from_slice(&std::fs::read(&tok_path).unwrap()).unwrap();
    tok["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = Value::String(r"\s+|\w+".into());
    std::fs::write(&tok_path, serde_json::to_vec(&tok).unwrap()).unwrap();
    let out = tmp.path().join("x.gguf");
    let err =
        export_model(&dir, &out, &ExportOptions::new(FileType::F16), &NoProgress).unwrap_err();
    assert!(err.to_string().contains("pre-tokenizer"), "{err}");
    assert!(!out.exists(), "nothing written on error");
    let mut opts = ExportOptions::new(FileType::F16);
    opts.tokenizer_pre = Some("qwen2".into());
    export_model(&dir, &out, &opts, &NoProgress).unwrap();
    let f = GgufFile::open(&out).unwrap();
    assert_eq!(f.header().get_str("tokenizer.ggml.pre"), Some("qwen2"));
}

#[test]
fn output_path_carries_the_quant() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = common::model_dir(&tmp.path().join("m"), &common::small_spec(Arch::Qwen2));
    let outdir = tmp.path().join("out");
    let r = export_model(
        &dir,
        &outdir,
        &ExportOptions::new(FileType::Q4_K_M),
        &NoProgress,
    )
    .unwrap();
    assert_eq!(r.path, outdir.join("model-Q4_K_M.gguf"));
    assert!(r.path.is_file());
    // Rows of 64 values cannot hold 256-blocks: the K-quant choices fell back as llama.cpp's
    // do (the tied embeddings take Q8_0 directly, by the output-tensor rule).
    for t in r.tensors.iter().filter(|t| t.ne.len() == 2) {
        assert!(!t.ty.name().ends_with("_K"), "{} is {}", t.name, t.ty);
        assert_eq!(t.fell_back, t.name != "token_embd.weight", "{}", t.name);
    }
    let leftovers: Vec<_> = std::fs::read_dir(&outdir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "no temp files left: {leftovers:?}");
}

/// Our value in the converter fixture's form: arrays longer than 16 as count + SHA-256 of their
/// items (strings as u64 LE length + bytes, integers as i64 LE).
fn as_fixture_json(v: &MetaValue) -> Value {
    match v {
        MetaValue::Array { items, .. } if items.len() > 16 => {
            let mut h = Sha256::new();
            for item in items {
                match item {
                    MetaValue::String(s) => {
                        h.update((s.len() as u64).to_le_bytes());
                        h.update(s.as_bytes());
                    }
                    MetaValue::I32(x) => h.update(i64::from(*x).to_le_bytes()),
                    other => panic!("unexpected array item {other:?}"),
                }
            }
            serde_json::json!({"count": items.len(), "sha256": hex::encode(h.finalize())})
        }
        other => as_py_json(other),
    }
}

/// llama.cpp's own `convert_hf_to_gguf.py` on the same models (fixture): the same metadata keys,
/// types and values, and byte-identical tensors, for F32, F16, BF16 and Q8_0 — so the llama Q/K
/// permutation, the F32 norms and biases, the padded vocabulary, token types, merges and special
/// ids all agree with the reference converter.
#[test]
fn plain_files_match_llama_cpp_convert_hf_to_gguf() {
    let fixture: Value = serde_json::from_slice(
        &std::fs::read(common::fixtures().join("convert-reference.json")).unwrap(),
    )
    .unwrap();
    // Keys the converter takes from sources we do not read, and the display name.
    let ignored = |k: &str| {
        k.starts_with("general.sampling.") || k == "general.size_label" || k == "general.name"
    };
    let tmp = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for arch in [Arch::Qwen2, Arch::Llama, Arch::Qwen3] {
        let dir = common::model_dir(&tmp.path().join(arch.model_type()), &common::mix_spec(arch));
        let template = std::fs::read_to_string(dir.join("tokenizer_config.json")).unwrap();
        let template: Value = serde_json::from_str(&template).unwrap();
        for (ft, key) in [
            (FileType::F32, "f32"),
            (FileType::F16, "f16"),
            (FileType::BF16, "bf16"),
            (FileType::Q8_0, "q8_0"),
        ] {
            let ctx = format!("{arch} {ft}");
            let expected = &fixture["models"][arch.model_type()][key];
            let out = tmp.path().join(format!("{}-{key}.gguf", arch.model_type()));
            let mut opts = ExportOptions::new(ft);
            opts.chat_template = template["chat_template"].as_str().map(str::to_string);
            export_model(&dir, &out, &opts, &NoProgress).unwrap();
            let f = GgufFile::open(&out).unwrap();
            let h = f.header();
            let theirs = expected["fields"].as_object().unwrap();
            for (k, v) in theirs {
                if ignored(k) {
                    continue;
                }
                match h.get(k) {
                    None => failures.push(format!("{ctx}: we do not write {k}")),
                    Some(ours) => {
                        let types = serde_json::json!(type_names(ours));
                        if types != v["types"] || as_fixture_json(ours) != v["value"] {
                            failures.push(format!(
                                "{ctx}: {k}: ours {types} {} vs converter {} {}",
                                as_fixture_json(ours),
                                v["types"],
                                v["value"]
                            ));
                        }
                    }
                }
            }
            for (k, _) in &h.metadata {
                if !theirs.contains_key(k) && k != "general.alignment" && !ignored(k) {
                    failures.push(format!("{ctx}: we write {k}, the converter does not"));
                }
            }
            let tensors = expected["tensors"].as_object().unwrap();
            if tensors.len() != h.tensors.len() {
                failures.push(format!(
                    "{ctx}: {} tensors vs {}",
                    h.tensors.len(),
                    tensors.len()
                ));
            }
            for t in &h.tensors {
                let sha = hex::encode(Sha256::digest(f.tensor_data(t)));
                let ours = serde_json::json!([t.ty.name(), t.ne, sha]);
                match tensors.get(&t.name) {
                    None => failures.push(format!("{ctx}: {} not in the converter's file", t.name)),
                    Some(e) if *e != ours => {
                        failures.push(format!("{ctx}: {}: ours {ours} vs {e}", t.name))
                    }
                    Some(_) => {}
                }
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// A llama q/k large enough to be read in several chunks (whole heads each): every row lands
/// where llama.cpp's `permute` puts it, in F32 (copied) and F16 (converted) files.
#[test]
fn llama_permutation_holds_across_chunks() {
    let tmp = tempfile::tempdir().unwrap();
    let dims = mh_model::TinyDims {
        layers: 1,
        hidden: 1024,
        heads: 16,
        kv_heads: 4,
        intermediate: 256,
        vocab: common::VOCAB,
    };
    let spec = mh_model::TinySpec::new(Arch::Llama, dims, 5);
    let dir = common::model_dir(&tmp.path().join("m"), &spec);
    let st = std::fs::read(dir.join("model.safetensors")).unwrap();
    let st = safetensors::SafeTensors::deserialize(&st).unwrap();
    for ft in [FileType::F32, FileType::F16] {
        let out = tmp.path().join(format!("{}.gguf", ft.name()));
        export_model(&dir, &out, &ExportOptions::new(ft), &NoProgress).unwrap();
        let f = GgufFile::open(&out).unwrap();
        for (hf, gg, n_head) in [
            (
                "model.layers.0.self_attn.q_proj.weight",
                "blk.0.attn_q.weight",
                16,
            ),
            (
                "model.layers.0.self_attn.k_proj.weight",
                "blk.0.attn_k.weight",
                4,
            ),
        ] {
            let view = st.tensor(hf).unwrap();
            let (rows, cols) = (view.shape()[0], view.shape()[1]);
            let src: Vec<f32> = view
                .data()
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            let got = f.tensor_f32(gg).unwrap();
            for r in 0..rows {
                let s = mh_gguf::arch::permuted_source_row(r, rows, n_head);
                for c in 0..cols {
                    let want = match ft {
                        FileType::F16 => half::f16::from_f32(src[s * cols + c]).to_f32(),
                        _ => src[s * cols + c],
                    };
                    assert_eq!(got[r * cols + c], want, "{ft} {gg} row {r} col {c}");
                }
            }
        }
    }
}

/// A sharded checkpoint (`model.safetensors.index.json` + two shards, bf16) exports to the same
/// file as the single-file checkpoint holding the same values.
#[test]
fn sharded_bf16_checkpoint_exports_like_a_single_file() {
    use mh_model::candle_core::{safetensors as cst, DType, Device};
    let tmp = tempfile::tempdir().unwrap();
    let single = common::model_dir(&tmp.path().join("single"), &common::small_spec(Arch::Llama));
    let tensors = cst::load(single.join("model.safetensors"), &Device::Cpu).unwrap();
    let mut names: Vec<&String> = tensors.keys().collect();
    names.sort();
    let sharded = tmp.path().join("sharded");
    std::fs::create_dir_all(&sharded).unwrap();
    let mut weight_map = serde_json::Map::new();
    let mut shards: [Vec<(String, _)>; 2] = [Vec::new(), Vec::new()];
    for (i, name) in names.iter().enumerate() {
        let t = tensors[*name].to_dtype(DType::BF16).unwrap();
        let file = format!("model-0000{}-of-00002.safetensors", i % 2 + 1);
        weight_map.insert((*name).clone(), Value::String(file));
        shards[i % 2].push(((*name).clone(), t));
    }
    for (i, shard) in shards.iter().enumerate() {
        let path = sharded.join(format!("model-0000{}-of-00002.safetensors", i + 1));
        cst::save(&shard.iter().cloned().collect(), &path).unwrap();
    }
    let index = serde_json::json!({"metadata": {}, "weight_map": weight_map});
    std::fs::write(
        sharded.join("model.safetensors.index.json"),
        index.to_string(),
    )
    .unwrap();
    for f in ["config.json", "tokenizer.json", "tokenizer_config.json"] {
        std::fs::copy(single.join(f), sharded.join(f)).unwrap();
    }
    // The single-file reference in bf16 too.
    let bf16_single = tmp.path().join("bf16-single");
    std::fs::create_dir_all(&bf16_single).unwrap();
    let all: std::collections::HashMap<String, _> = tensors
        .iter()
        .map(|(k, t)| (k.clone(), t.to_dtype(DType::BF16).unwrap()))
        .collect();
    cst::save(&all, bf16_single.join("model.safetensors")).unwrap();
    for f in ["config.json", "tokenizer.json", "tokenizer_config.json"] {
        std::fs::copy(single.join(f), bf16_single.join(f)).unwrap();
    }
    for ft in [FileType::BF16, FileType::F16, FileType::Q8_0] {
        let a = tmp.path().join(format!("a-{ft}.gguf"));
        let b = tmp.path().join(format!("b-{ft}.gguf"));
        let mut opts = ExportOptions::new(ft);
        opts.name = Some("same".into());
        export_model(&sharded, &a, &opts, &NoProgress).unwrap();
        export_model(&bf16_single, &b, &opts, &NoProgress).unwrap();
        assert_eq!(
            std::fs::read(&a).unwrap(),
            std::fs::read(&b).unwrap(),
            "{ft}"
        );
    }
}
