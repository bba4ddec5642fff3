#!/usr/bin/env python3
"""Reference GGUF files from llama.cpp's own converter, `convert_hf_to_gguf.py`.

For the deterministic tiny models of crates/mh-gguf/tests/common (qwen2 with tied embeddings
and biases, llama with the Q/K permutation, qwen3 with q/k norms; written by
`cargo run --release -p mh-gguf --example gguf_mix_inputs`), runs the converter with
`--outtype f32, f16, bf16, q8_0` and records what it wrote: every metadata key with its value
type and value (long arrays as count + SHA-256 of their items) and every tensor's type, ggml
dimensions and data SHA-256. The Rust test exports the same models and must match all of it
except the keys the converter adds from sources we do not read (general.sampling.* from
generation_config.json, general.size_label) and general.name.

The converter's pre-tokenizer fingerprint lookup is answered with "qwen2" (see
scripts/baselines/convert_hf_to_gguf.py); the tiny tokenizer uses Qwen2's regex.

Writes crates/mh-gguf/tests/fixtures/convert-reference.json. Needs torch, transformers,
sentencepiece, numpy and gguf (e.g. ~/.venvs/mhfix) and the llama.cpp sources
(scripts/baselines/get-llama-cpp.sh). CI does not run this.
"""

import hashlib
import json
import os
import subprocess
import sys
import tempfile

from gguf import GGUFReader
from gguf.constants import GGUFValueType

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "crates", "mh-gguf", "tests", "fixtures", "convert-reference.json")
OUTTYPES = ["f32", "f16", "bf16", "q8_0"]


def field_value(field):
    if field.types[0] == GGUFValueType.ARRAY:
        items = [field.contents(i) for i in range(len(field.data))]
        if len(items) > 16:
            # Each string as u64 LE length + UTF-8 bytes, each integer as i64 LE.
            h = hashlib.sha256()
            for x in items:
                if isinstance(x, str):
                    b = x.encode()
                    h.update(len(b).to_bytes(8, "little") + b)
                else:
                    h.update(int(x).to_bytes(8, "little", signed=True))
            return {"count": len(items), "sha256": h.hexdigest()}
        return items
    v = field.contents()
    return repr(v) if isinstance(v, float) else v


def main():
    llama_cpp = subprocess.run([os.path.join(ROOT, "scripts", "baselines", "get-llama-cpp.sh")],
                               check=True, capture_output=True, text=True).stdout.strip()
    wrapper = os.path.join(ROOT, "scripts", "baselines", "convert_hf_to_gguf.py")
    fixture = {"generator": "scripts/gen_gguf_convert_fixtures.py",
               "reference": "llama.cpp convert_hf_to_gguf.py (llama-cpp-python 0.3.36 sdist)", "models": {}}
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["cargo", "run", "--release", "-q", "-p", "mh-gguf", "--example", "gguf_mix_inputs", "--", tmp],
                       cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        for arch in ["qwen2", "llama", "qwen3"]:
            per = {}
            for outtype in OUTTYPES:
                dst = os.path.join(tmp, f"{arch}-conv-{outtype}.gguf")
                subprocess.run([sys.executable, wrapper, os.path.join(tmp, arch), "--outfile", dst, "--outtype", outtype],
                               check=True, capture_output=True, env={**os.environ, "LLAMA_CPP_DIR": llama_cpp})
                r = GGUFReader(dst)
                fields = {k: {"types": [t.name for t in f.types], "value": field_value(f)}
                          for k, f in r.fields.items() if not k.startswith("GGUF.")}
                tensors = {t.name: [t.tensor_type.name, [int(d) for d in t.shape], hashlib.sha256(t.data.tobytes()).hexdigest()]
                           for t in r.tensors}
                per[outtype] = {"fields": fields, "tensors": tensors}
            fixture["models"][arch] = per
    with open(OUT, "w") as f:
        json.dump(fixture, f, indent=1, sort_keys=True, ensure_ascii=False)
        f.write("\n")
    print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes)")


if __name__ == "__main__":
    main()
