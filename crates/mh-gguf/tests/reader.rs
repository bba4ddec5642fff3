//! The reader against hostile files: every truncation, absurd counts and lengths, misaligned and
//! overlapping data, bad types — each an error with an offset, never a panic or a huge
//! allocation — and a seeded random-mutation run (the CI counterpart of the cargo-fuzz target in
//! crates/mh-gguf/fuzz).

use mh_gguf::quant::dequantize;
use mh_gguf::writer::{layout, StreamWriter};
use mh_gguf::{parse, GgmlType, MetaValue, TensorSpec, ValueType};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn kv(k: &str, v: MetaValue) -> (String, MetaValue) {
    (k.to_string(), v)
}

fn sample_metadata() -> Vec<(String, MetaValue)> {
    vec![
        kv("general.architecture", MetaValue::string("llama")),
        kv("general.alignment", MetaValue::U32(32)),
        kv("t.u8", MetaValue::U8(200)),
        kv("t.i8", MetaValue::I8(-5)),
        kv("t.u16", MetaValue::U16(65000)),
        kv("t.i16", MetaValue::I16(-30000)),
        kv("t.u32", MetaValue::U32(4_000_000_000)),
        kv("t.i32", MetaValue::I32(-2_000_000_000)),
        kv("t.f32", MetaValue::F32(1e-6)),
        kv("t.bool", MetaValue::Bool(true)),
        kv("t.u64", MetaValue::U64(u64::MAX)),
        kv("t.i64", MetaValue::I64(i64::MIN)),
        kv("t.f64", MetaValue::F64(-0.125)),
        kv("t.str", MetaValue::string("ünïcode ✓")),
        kv("t.strs", MetaValue::strings(["a", "", "b c"])),
        kv(
            "t.empty",
            MetaValue::Array {
                elem: ValueType::U32,
                items: vec![],
            },
        ),
        kv(
            "t.nested",
            MetaValue::Array {
                elem: ValueType::Array,
                items: vec![MetaValue::i32s([1, 2]), MetaValue::i32s([3])],
            },
        ),
    ]
}

fn sample_tensors() -> Vec<TensorSpec> {
    vec![
        TensorSpec::new("a", vec![3], GgmlType::F32),
        TensorSpec::new("b", vec![32, 2], GgmlType::Q8_0),
        TensorSpec::new("c", vec![256, 1], GgmlType::Q4_K),
        TensorSpec::new("d", vec![5, 1, 2], GgmlType::F16),
    ]
}

/// A valid file holding every value type and a few tensors with deterministic data.
fn sample_file() -> Vec<u8> {
    let meta = sample_metadata();
    let tensors = sample_tensors();
    let mut w = StreamWriter::new(Vec::new(), &meta, &tensors).unwrap();
    for t in &tensors {
        let n = t.n_bytes().unwrap() as usize;
        let bytes: Vec<u8> = (0..n).map(|i| (i * 7 % 251) as u8).collect();
        w.write(&bytes).unwrap();
    }
    w.finish().unwrap()
}

#[test]
fn round_trip_keeps_every_value_and_tensor() {
    let file = sample_file();
    let h = parse(&file).unwrap();
    assert_eq!(h.version, 3);
    assert_eq!(h.metadata, sample_metadata());
    assert_eq!(h.alignment, 32);
    assert_eq!(h.trailing_bytes, 0);
    let specs = sample_tensors();
    assert_eq!(h.tensors.len(), specs.len());
    for (t, s) in h.tensors.iter().zip(&specs) {
        assert_eq!(
            (t.name.as_str(), &t.ne, t.ty),
            (s.name.as_str(), &s.ne, s.ty)
        );
        assert_eq!(t.offset % 32, 0);
        assert_eq!((h.data_start + t.offset) % 32, 0);
    }
}

#[test]
fn every_truncation_is_an_error() {
    let file = sample_file();
    for len in 0..file.len() {
        let err = parse(&file[..len]).expect_err(&format!("prefix of {len} bytes parsed"));
        assert!(err.offset <= len as u64 + 64, "{len}: {err}");
    }
    parse(&file).unwrap();
}

#[test]
fn trailing_bytes_are_reported_not_fatal() {
    let mut file = sample_file();
    file.extend_from_slice(&[0xAB; 100]);
    assert_eq!(parse(&file).unwrap().trailing_bytes, 100);
}

/// Header bytes for hand-made cases.
struct Raw(Vec<u8>);

impl Raw {
    fn new(version: u32, n_tensors: u64, n_kv: u64) -> Raw {
        let mut b = b"GGUF".to_vec();
        b.extend_from_slice(&version.to_le_bytes());
        b.extend_from_slice(&n_tensors.to_le_bytes());
        b.extend_from_slice(&n_kv.to_le_bytes());
        Raw(b)
    }
    fn u32(mut self, v: u32) -> Raw {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn u64(mut self, v: u64) -> Raw {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn bytes(mut self, b: &[u8]) -> Raw {
        self.0.extend_from_slice(b);
        self
    }
    fn str(self, s: &str) -> Raw {
        self.u64(s.len() as u64).bytes(s.as_bytes())
    }
    /// One tensor info.
    fn tensor(self, name: &str, ne: &[u64], ty: u32, offset: u64) -> Raw {
        let mut r = self.str(name).u32(ne.len() as u32);
        for &d in ne {
            r = r.u64(d);
        }
        r.u32(ty).u64(offset)
    }
    fn pad_to(mut self, align: usize, extra: usize) -> Raw {
        while !self.0.len().is_multiple_of(align) {
            self.0.push(0);
        }
        self.0.extend(std::iter::repeat_n(0u8, extra));
        self
    }
}

fn expect_err(bytes: &[u8], needle: &str) {
    match parse(bytes) {
        Ok(h) => panic!("parsed, expected an error about {needle:?}: {h:?}"),
        Err(e) => assert!(
            e.reason.contains(needle),
            "error {e} does not mention {needle:?}"
        ),
    }
}

#[test]
fn absurd_counts_and_lengths_fail_before_allocating() {
    expect_err(&Raw::new(3, u64::MAX, 0).0, "tensor count");
    expect_err(&Raw::new(3, 0, u64::MAX).0, "metadata count");
    expect_err(
        &Raw::new(3, 0, 1).u64(u64::MAX).bytes(&[0; 8]).0,
        "metadata key",
    );
    expect_err(
        &Raw::new(3, 0, 1).u64(1 << 62).bytes(b"k1234567").0,
        "metadata key",
    );
    // An array claiming 2^60 u64 values.
    expect_err(
        &Raw::new(3, 0, 1).str("k").u32(9).u32(10).u64(1 << 60).0,
        "array length",
    );
    // An array of 2^40 strings (each needs at least 8 bytes).
    expect_err(
        &Raw::new(3, 0, 1)
            .str("k")
            .u32(9)
            .u32(8)
            .u64(1 << 40)
            .u64(0)
            .0,
        "array length",
    );
    // Arrays nested deeper than the limit.
    let mut r = Raw::new(3, 0, 1).str("k").u32(9);
    for _ in 0..40 {
        r = r.u32(9).u64(1);
    }
    expect_err(&r.u32(4).u64(1).u32(7).0, "nested");
    // A string value of 2^63 bytes.
    expect_err(
        &Raw::new(3, 0, 1).str("k").u32(8).u64(1 << 63).0,
        "cannot fit",
    );
    // A tensor whose element count overflows.
    let r = Raw::new(3, 1, 0)
        .tensor("t", &[1 << 40, 1 << 40], 0, 0)
        .pad_to(32, 0);
    expect_err(&r.0, "2^63");
    // A tensor whose data lies far past the end of the file.
    let r = Raw::new(3, 1, 0)
        .tensor("t", &[1 << 30], 0, 0)
        .pad_to(32, 64);
    expect_err(&r.0, "past the end");
}

#[test]
fn misaligned_and_overlapping_data_is_refused() {
    // Offset not a multiple of 32.
    let r = Raw::new(3, 1, 0).tensor("t", &[4], 0, 4).pad_to(32, 64);
    expect_err(&r.0, "multiple of the alignment");
    // Second tensor overlapping the first.
    let r = Raw::new(3, 2, 0)
        .tensor("a", &[16], 0, 0)
        .tensor("b", &[16], 0, 32)
        .pad_to(32, 256);
    expect_err(&r.0, "expected");
    // general.alignment not a power of two, zero, or not UINT32.
    for v in [3u32, 0] {
        let r = Raw::new(3, 0, 1).str("general.alignment").u32(4).u32(v);
        expect_err(&r.0, "power of two");
    }
    let r = Raw::new(3, 0, 1).str("general.alignment").u32(10).u64(32);
    expect_err(&r.0, "UINT32");
    // With alignment 64 declared, offset 32 is misaligned.
    let r = Raw::new(3, 2, 1)
        .str("general.alignment")
        .u32(4)
        .u32(64)
        .tensor("a", &[4], 0, 0)
        .tensor("b", &[4], 0, 32)
        .pad_to(64, 256);
    expect_err(&r.0, "alignment 64");
}

#[test]
fn malformed_fields_are_refused() {
    expect_err(b"GGUX\x03\0\0\0", "magic");
    expect_err(&Raw::new(1, 0, 0).0, "version 1");
    expect_err(&Raw::new(4, 0, 0).0, "unknown GGUF version");
    assert!(
        parse(&Raw::new(2, 0, 0).0).is_ok(),
        "v2 files are still read, as llama.cpp reads them"
    );
    expect_err(&Raw::new(3, 0, 1).str("k").u32(13).0, "unknown value type");
    expect_err(&Raw::new(3, 0, 1).str("k").u32(7).bytes(&[2]).0, "BOOL");
    expect_err(
        &Raw::new(3, 0, 1)
            .str("k")
            .u32(8)
            .u64(2)
            .bytes(&[0xC3, 0x28])
            .0,
        "UTF-8",
    );
    expect_err(
        &Raw::new(3, 0, 2)
            .str("k")
            .u32(0)
            .bytes(&[1])
            .str("k")
            .u32(0)
            .bytes(&[1])
            .0,
        "duplicate",
    );
    expect_err(&Raw::new(3, 0, 1).str("").u32(0).bytes(&[1]).0, "empty");
    let r = |ne: &[u64], ty: u32| Raw::new(3, 1, 0).tensor("t", ne, ty, 0).pad_to(32, 4096).0;
    expect_err(&r(&[], 0), "dimensions");
    expect_err(&r(&[1, 1, 1, 1, 1], 0), "dimensions");
    expect_err(&r(&[8], 4), "unknown ggml type");
    expect_err(&r(&[33], 8), "block size");
    expect_err(&r(&[u64::MAX], 0), "negative");
    let long = "x".repeat(64);
    expect_err(
        &Raw::new(3, 1, 0).tensor(&long, &[1], 0, 0).pad_to(32, 32).0,
        "bytes",
    );
    let dup = Raw::new(3, 2, 0)
        .tensor("t", &[8], 0, 0)
        .tensor("t", &[8], 0, 32)
        .pad_to(32, 64);
    expect_err(&dup.0, "duplicate tensor");
}

/// Random damage to a valid file: parsing (and decoding what parses) returns, never panics.
#[test]
fn random_mutations_never_panic() {
    let file = sample_file();
    let mut rng = ChaCha8Rng::seed_from_u64(0x6767_7566);
    let mut parsed = 0;
    for _ in 0..20_000 {
        let mut b = file.clone();
        for _ in 0..rng.random_range(1..6) {
            let i = rng.random_range(0..b.len());
            match rng.random_range(0..5) {
                0 => b[i] ^= 1 << rng.random_range(0..8),
                1 => b[i] = rng.random(),
                2 => {
                    let v: u64 =
                        [0, 1, 31, 32, u32::MAX as u64, u64::MAX, 1 << 63][rng.random_range(0..7)];
                    let end = (i + 8).min(b.len());
                    let n = end - i;
                    b[i..end].copy_from_slice(&v.to_le_bytes()[..n]);
                }
                3 => b.truncate(i),
                _ => b.insert(i, rng.random()),
            }
            if b.is_empty() {
                break;
            }
        }
        if let Ok(h) = parse(&b) {
            parsed += 1;
            for t in &h.tensors {
                let start = (h.data_start + t.offset) as usize;
                let data = &b[start..start + t.n_bytes as usize];
                let _ = dequantize(t.ty, data, t.n_elements() as usize);
            }
        }
    }
    assert!(
        parsed > 100,
        "the mutations should leave some files valid ({parsed})"
    );
}

#[test]
fn layout_and_parse_agree_on_offsets() {
    let meta = sample_metadata();
    let specs = sample_tensors();
    let l = layout(&meta, &specs).unwrap();
    let h = parse(&sample_file()).unwrap();
    assert_eq!(h.data_start, l.data_start);
    assert_eq!(
        h.tensors.iter().map(|t| t.offset).collect::<Vec<_>>(),
        l.offsets
    );
}
