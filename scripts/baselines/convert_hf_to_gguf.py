#!/usr/bin/env python3
"""Run llama.cpp's convert_hf_to_gguf.py (the Python converter `mh-train gguf export` replaces)
on a model directory — the baseline of benches/benches/gguf_export.rs.

The benchmark's generated model has a tiny tokenizer whose pre-tokenizer fingerprint the
converter's table does not list (it would stop with "BPE pre-tokenizer was not recognized"), so
the fingerprint lookup is answered with "qwen2" (the tokenizer's real regex family); everything
else — reading safetensors with torch, converting, writing with gguf-py — runs unchanged.

Usage: LLAMA_CPP_DIR=<llama.cpp source dir> python convert_hf_to_gguf.py MODEL_DIR --outfile F --outtype f16
(LLAMA_CPP_DIR from scripts/baselines/get-llama-cpp.sh; needs torch, transformers, numpy.)
"""

import os
import sys

llama_cpp = os.environ.get("LLAMA_CPP_DIR") or sys.exit("set LLAMA_CPP_DIR")
sys.path.insert(0, llama_cpp)
sys.path.insert(1, os.path.join(llama_cpp, "gguf-py"))
sys.argv[0] = os.path.join(llama_cpp, "convert_hf_to_gguf.py")

import convert_hf_to_gguf as conv  # noqa: E402
from conversion import base  # noqa: E402

base.TextModel.get_vocab_base_pre = lambda self, tokenizer: "qwen2"
conv.main()
