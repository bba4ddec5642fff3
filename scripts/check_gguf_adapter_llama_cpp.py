#!/usr/bin/env python3
"""End-to-end check of `mh-train gguf adapter` against llama.cpp itself (not run in CI).

For each of mh-model's peft-made tiny adapters (qwen2; llama with rsLoRA and the Q/K
permutation; qwen3 with partial targets):

1. export the base model to an F32 GGUF and the adapter to a GGUF LoRA with `mh-train`;
2. let llama.cpp's `llama-export-lora` merge the LoRA file into the base file (llama.cpp's own
   reading of our adapter: names, shapes, alpha, scale);
3. merge the PEFT adapter with `peft` (`merge_and_unload`), save it, export that with
   `mh-train gguf export --quant f32`;
4. compare the two merged GGUFs tensor by tensor (gguf-py) and print the largest difference.

Needs torch, transformers, peft and gguf (~/.venvs/mhfix) and a llama.cpp build with
`llama-export-lora` (LLAMA_CPP_BIN). Usage:
    LLAMA_CPP_BIN=.../build/bin python scripts/check_gguf_adapter_llama_cpp.py
"""

import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import torch
from gguf import GGUFReader
from gguf.quants import dequantize
from peft import PeftModel
from transformers import AutoModelForCausalLM

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIX = os.path.join(ROOT, "crates", "mh-model", "tests", "fixtures")
TOK = os.path.join(ROOT, "crates", "mh-gguf", "tests", "fixtures", "tokenizer")


def tensors(path):
    r = GGUFReader(path)
    return {t.name: dequantize(t.data, t.tensor_type).reshape(-1).astype(np.float64) for t in r.tensors}


def main():
    llama_bin = os.environ.get("LLAMA_CPP_BIN") or sys.exit("set LLAMA_CPP_BIN")
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(os.path.expanduser("~"), ".cache", "mh-train", "target"))
    mh = os.path.join(target, "debug", "mh-train")
    worst = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for arch in ["qwen2", "llama", "qwen3"]:
            base = os.path.join(tmp, arch)
            shutil.copytree(os.path.join(FIX, f"tiny-{arch}"), base)
            for f in ["tokenizer.json", "tokenizer_config.json"]:
                shutil.copy(os.path.join(TOK, f), base)
            adapter = os.path.join(FIX, f"tiny-{arch}-adapter")
            base_gguf = os.path.join(tmp, f"{arch}-base.gguf")
            lora_gguf = os.path.join(tmp, f"{arch}-lora.gguf")
            subprocess.run([mh, "-q", "gguf", "export", "--model", base, "--out", base_gguf, "--quant", "f32"], check=True)
            subprocess.run([mh, "-q", "gguf", "adapter", "--adapter", adapter, "--base-model", base, "--out", lora_gguf], check=True)
            by_llama = os.path.join(tmp, f"{arch}-llama-merged.gguf")
            subprocess.run([os.path.join(llama_bin, "llama-export-lora"), "-m", base_gguf, "--lora", lora_gguf, "-o", by_llama],
                           check=True, capture_output=True)

            merged = os.path.join(tmp, f"{arch}-peft-merged")
            model = AutoModelForCausalLM.from_pretrained(base, torch_dtype=torch.float32)
            model = PeftModel.from_pretrained(model, adapter).merge_and_unload()
            model.save_pretrained(merged, safe_serialization=True)
            for f in ["tokenizer.json", "tokenizer_config.json"]:
                shutil.copy(os.path.join(TOK, f), merged)
            by_peft = os.path.join(tmp, f"{arch}-peft-merged.gguf")
            subprocess.run([mh, "-q", "gguf", "export", "--model", merged, "--out", by_peft, "--quant", "f32"], check=True)

            a, b = tensors(by_llama), tensors(by_peft)
            assert a.keys() == b.keys(), (arch, sorted(a.keys() ^ b.keys()))
            diff = max(float(np.max(np.abs(a[k] - b[k]))) for k in a)
            changed = sum(1 for k in a if np.max(np.abs(a[k] - tensors(base_gguf)[k])) > 0)
            print(f"{arch}: llama-export-lora(base, our LoRA GGUF) vs our export of peft's merge: "
                  f"max |diff| {diff:.3e} over {len(a)} tensors ({changed} changed by the adapter)")
            worst = max(worst, diff)
    if worst > 1e-5:
        sys.exit(f"FAILED: difference {worst:e}")
    print("OK")


if __name__ == "__main__":
    main()
