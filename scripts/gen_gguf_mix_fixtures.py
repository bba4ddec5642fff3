#!/usr/bin/env python3
"""Reference quantized models for mh-gguf's per-tensor type mixes, produced by llama.cpp.

1. Writes two deterministic tiny models (qwen2 with tied embeddings and q/k/v biases; llama
   with an output matrix and the Q/K permutation; rows of 256 and ffn_down rows of 320 so the
   K-quant fallbacks happen) and their F32 GGUF exports
   (`cargo run --release -p mh-gguf --example gguf_mix_inputs`).
2. Quantizes each F32 file with llama.cpp's own `llama-quantize` to Q4_K_M, Q5_K_M, Q6_K, Q8_0
   and Q4_0 (no importance matrix).
3. Reads every result with gguf-py and records, per tensor, the type llama.cpp chose and the
   SHA-256 of its data.

Writes crates/mh-gguf/tests/fixtures/quant-mix-reference.json; the Rust test exports the same
models straight from safetensors and must match type and bytes of every tensor. The values come
from llama.cpp, never from our quantizers.

Usage:
    LLAMA_CPP_BIN=/path/to/llama.cpp/build/bin  python scripts/gen_gguf_mix_fixtures.py
(`pip install gguf`; a llama.cpp built with cmake, e.g. the one vendored in llama-cpp-python's
sdist: `cmake -B build && cmake --build build --target llama-quantize`.)
"""

import hashlib
import json
import os
import subprocess
import sys
import tempfile

from gguf import GGUFReader

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "crates", "mh-gguf", "tests", "fixtures", "quant-mix-reference.json")
FTYPES = ["Q4_K_M", "Q5_K_M", "Q6_K", "Q8_0", "Q4_0"]


def main():
    bin_dir = os.environ.get("LLAMA_CPP_BIN")
    if not bin_dir:
        sys.exit("set LLAMA_CPP_BIN to the directory holding llama-quantize")
    quantize = os.path.join(bin_dir, "llama-quantize")
    fixture = {
        "generator": "scripts/gen_gguf_mix_fixtures.py",
        "reference": "llama-quantize (no imatrix) on our F32 export of the same model",
        "models": {},
    }
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            ["cargo", "run", "--release", "-q", "-p", "mh-gguf", "--example", "gguf_mix_inputs", "--", tmp],
            cwd=ROOT, check=True,
        )
        for arch in ["qwen2", "llama"]:
            src = os.path.join(tmp, f"{arch}-F32.gguf")
            per_type = {}
            for ftype in FTYPES:
                dst = os.path.join(tmp, f"{arch}-{ftype}.gguf")
                subprocess.run([quantize, src, dst, ftype], check=True, capture_output=True)
                reader = GGUFReader(dst)
                per_type[ftype] = {
                    t.name: [t.tensor_type.name, hashlib.sha256(t.data.tobytes()).hexdigest()]
                    for t in reader.tensors
                }
                ft = reader.fields["general.file_type"].contents()
                per_type[ftype]["general.file_type"] = ft
            fixture["models"][arch] = per_type
    with open(OUT, "w") as f:
        json.dump(fixture, f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes)")


if __name__ == "__main__":
    main()
