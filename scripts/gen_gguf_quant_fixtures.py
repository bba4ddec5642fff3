#!/usr/bin/env python3
"""Reference blocks for mh-gguf's quantizers, produced by ggml itself.

For a fixed set of input rows (random weights of several scales plus the edge cases that steer
ggml's code paths: zeros, constants, outliers, ties, values below GROUP_MAX_EPS, the edges of the
f16 range), this records:

* the bytes ggml's `ggml_quantize_chunk` writes for F16, BF16, Q8_0, Q4_0, Q5_0, Q5_1, Q4_K,
  Q5_K and Q6_K without an importance matrix (the reference quantizers `quantize_row_*_ref`,
  which is what `llama-quantize` uses) — called through ctypes from the `libggml-base.so` of a
  llama.cpp build;
* the bytes PyPI `gguf` (gguf-py, llama.cpp's Python package) writes for the types it can
  quantize, which must equal ggml's (the script stops if they do not);
* SHA-256 of the f32 values gguf-py's `dequantize` decodes from ggml's bytes, per row.

Writes crates/mh-gguf/tests/fixtures/quant-reference.json. The values come from ggml and
gguf-py, never from our code. CI does not run this; it runs the Rust tests against the
committed fixture.

Usage:
    LLAMA_CPP_LIB_DIR=/path/to/llama.cpp/build/bin  python scripts/gen_gguf_quant_fixtures.py
(a llama.cpp checkout built with cmake, e.g. the one vendored in the llama-cpp-python sdist;
`pip install gguf numpy`.)
"""

import ctypes
import hashlib
import json
import os
import sys

import numpy as np
import gguf
from gguf.quants import quantize, dequantize
from gguf.constants import GGMLQuantizationType as T

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "crates", "mh-gguf", "tests", "fixtures", "quant-reference.json")
N = 256  # one K-quant super-block, eight 32-blocks per row

TYPES = ["F16", "BF16", "Q8_0", "Q4_0", "Q5_0", "Q5_1", "Q4_K", "Q5_K", "Q6_K"]
GGUF_PY_QUANTIZES = {"F16", "BF16", "Q8_0", "Q4_0", "Q5_0", "Q5_1"}


def rows():
    rng = np.random.default_rng(20261122)
    out = []

    def add(name, values):
        v = np.asarray(values, dtype=np.float32).reshape(N)
        out.append((name, v))

    add("normal", rng.standard_normal(N))
    add("weights_0.02", rng.normal(0, 0.02, N))
    add("uniform_small", rng.uniform(-0.05, 0.05, N))
    add("zeros", np.zeros(N))
    add("constant", np.full(N, 0.3))
    spikes = rng.normal(0, 0.01, N)
    spikes[[3, 77, 200]] = [4.0, -6.5, 2.25]
    add("outliers", spikes)
    ranges = rng.normal(0, 1e-4, N)
    ranges[32:64] = rng.normal(0, 3.0, 32)
    add("one_loud_subblock", ranges)
    add("positive_only", rng.uniform(0.1, 2.0, N))
    add("grid_ties", (rng.integers(-16, 17, N) / 8.0))
    add("below_group_eps", rng.normal(0, 1e-17, N))
    edge = rng.uniform(-1, 1, N) * 60000.0
    edge[:32] = rng.uniform(-1, 1, 32) * 1e-6
    add("f16_edges", edge)
    add("heavy_tail", np.clip(rng.standard_cauchy(N), -50, 50))
    return out


def ggml_lib():
    lib_dir = os.environ.get("LLAMA_CPP_LIB_DIR")
    if not lib_dir:
        sys.exit("set LLAMA_CPP_LIB_DIR to the directory holding libggml-base.so of a llama.cpp build")
    lib = ctypes.CDLL(os.path.join(lib_dir, "libggml-base.so"))
    lib.ggml_quantize_chunk.restype = ctypes.c_size_t
    lib.ggml_quantize_chunk.argtypes = [
        ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64,
        ctypes.c_int64, ctypes.c_int64, ctypes.c_void_p,
    ]
    lib.ggml_row_size.restype = ctypes.c_size_t
    lib.ggml_row_size.argtypes = [ctypes.c_int, ctypes.c_int64]
    return lib


def ggml_quantize(lib, qtype, row):
    src = np.ascontiguousarray(row, dtype=np.float32)
    size = lib.ggml_row_size(int(qtype), N)
    dst = (ctypes.c_uint8 * size)()
    written = lib.ggml_quantize_chunk(int(qtype), src.ctypes.data, ctypes.addressof(dst), 0, 1, N, None)
    assert written == size, (qtype, written, size)
    return bytes(dst)


def main():
    lib = ggml_lib()
    data = rows()
    fixture = {
        "generator": "scripts/gen_gguf_quant_fixtures.py",
        "reference": "ggml_quantize_chunk (no imatrix) from libggml-base.so; gguf-py quantize/dequantize",
        "gguf_py_version": getattr(gguf, "__version__", None) or __import__("importlib.metadata").metadata.version("gguf"),
        "n_per_row": N,
        "rows": [{"name": name, "f32_le_hex": row.tobytes().hex()} for name, row in data],
        "types": {},
    }
    for tname in TYPES:
        qtype = getattr(T, tname)
        entries = []
        for name, row in data:
            ref = ggml_quantize(lib, qtype, row)
            if tname in GGUF_PY_QUANTIZES:
                py = quantize(row.reshape(1, N), qtype).tobytes()
                if py != ref:
                    first = next(i for i, (a, b) in enumerate(zip(py, ref)) if a != b)
                    sys.exit(f"gguf-py and ggml disagree on {tname} row {name} at byte {first}")
            deq = dequantize(np.frombuffer(ref, dtype=np.uint8).reshape(1, -1), qtype).astype(np.float32)
            entries.append({
                "row": name,
                "bytes_hex": ref.hex(),
                "dequant_f32_sha256": hashlib.sha256(deq.reshape(N).tobytes()).hexdigest(),
            })
        fixture["types"][tname] = {
            "gguf_py_quantizes": tname in GGUF_PY_QUANTIZES,
            "blocks": entries,
        }
    with open(OUT, "w") as f:
        json.dump(fixture, f, indent=1)
        f.write("\n")
    print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes)")


if __name__ == "__main__":
    main()
