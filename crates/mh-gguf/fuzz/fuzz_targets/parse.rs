//! Any bytes: the GGUF parser returns a header or an error and never panics, aborts or
//! allocates beyond the input's size; what parses is then dumped and every tensor decoded.
//!
//! cd crates/mh-gguf/fuzz && cargo +nightly fuzz run parse

#![no_main]

use libfuzzer_sys::fuzz_target;
use mh_gguf::{parse, quant};

fuzz_target!(|data: &[u8]| {
    if let Ok(h) = parse(data) {
        for (k, v) in &h.metadata {
            let _ = (k.len(), v.value_type());
        }
        for t in &h.tensors {
            let start = (h.data_start + t.offset) as usize;
            let bytes = &data[start..start + t.n_bytes as usize];
            let _ = quant::dequantize(t.ty, bytes, t.n_elements() as usize);
        }
    }
});
