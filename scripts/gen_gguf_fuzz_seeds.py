#!/usr/bin/env python3
"""Seed inputs for mh-gguf's fuzz target: small valid GGUF files written by gguf-py's own
writer (every metadata value type, nested and empty arrays, tensors of F32/F16/BF16/Q8_0/Q4_0/
Q5_0/Q5_1/Q4_K/Q6_K, v2 and v3 headers, a non-default alignment), so mutations start from
real structure.

Usage: python scripts/gen_gguf_fuzz_seeds.py OUT_DIR   (pip install gguf numpy)
Then:  cd crates/mh-gguf/fuzz && cargo +nightly fuzz run parse OUT_DIR
"""

import os
import sys

import numpy as np
from gguf import GGUFWriter, GGMLQuantizationType as T
from gguf.quants import quantize


def write(path, alignment=None, types=(T.F32,), version3=True):
    w = GGUFWriter(path, "llama")
    if alignment:
        w.data_alignment = alignment
        w.add_uint32("general.alignment", alignment)
    w.add_uint8("t.u8", 7)
    w.add_int8("t.i8", -7)
    w.add_uint16("t.u16", 700)
    w.add_int16("t.i16", -700)
    w.add_uint32("t.u32", 70000)
    w.add_int32("t.i32", -70000)
    w.add_float32("t.f32", 0.5)
    w.add_uint64("t.u64", 1 << 40)
    w.add_int64("t.i64", -(1 << 40))
    w.add_float64("t.f64", 0.25)
    w.add_bool("t.bool", True)
    w.add_string("t.str", "héllo")
    w.add_array("t.strs", ["a", "bb", ""])
    w.add_array("t.ints", [1, 2, 3])
    w.add_array("t.nested", [[1, 2], [3]])
    w.add_array("t.empty", [])
    rng = np.random.default_rng(len(types))
    for i, t in enumerate(types):
        x = rng.standard_normal((2, 256)).astype(np.float32)
        if t == T.F32:
            w.add_tensor(f"t{i}", x)
        elif t == T.F16:
            w.add_tensor(f"t{i}", x.astype(np.float16))
        else:
            q = quantize(x, t) if t in (T.Q8_0, T.Q4_0, T.Q5_0, T.Q5_1, T.BF16) else np.zeros((2, 256 // 256 * {T.Q4_K: 144, T.Q6_K: 210}[t]), dtype=np.uint8)
            w.add_tensor(f"t{i}", q, raw_shape=q.shape, raw_dtype=t)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    if not version3:
        with open(path, "r+b") as f:
            f.seek(4)
            f.write((2).to_bytes(4, "little"))


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    write(os.path.join(out, "f32.gguf"))
    write(os.path.join(out, "mixed.gguf"), types=(T.F16, T.BF16, T.Q8_0, T.Q4_0, T.Q5_0, T.Q5_1, T.Q4_K, T.Q6_K))
    write(os.path.join(out, "align64.gguf"), alignment=64, types=(T.F16, T.Q8_0))
    write(os.path.join(out, "v2.gguf"), version3=False)
    print("\n".join(sorted(os.listdir(out))))


if __name__ == "__main__":
    main()
