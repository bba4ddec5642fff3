#!/usr/bin/env bash
# Fetch llama.cpp's sources from PyPI (the llama-cpp-python sdist vendors them; the `gguf` wheel
# does not ship convert_hf_to_gguf.py) into $MH_CACHE_DIR and print the llama.cpp directory.
# Used by benches/benches/gguf_export.rs (the Python converter baseline) and by the GGUF fixture
# scripts (which also need `cmake -B build && cmake --build build --target llama-quantize`).
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/env.sh
version="${LLAMA_CPP_PYTHON_VERSION:-0.3.36}"
dest="$MH_CACHE_DIR/llamacpp-src"
dir="$dest/llama_cpp_python-$version/vendor/llama.cpp"
if [[ ! -f "$dir/convert_hf_to_gguf.py" ]]; then
    mkdir -p "$dest"
    python3 -m pip download --quiet --no-deps --no-binary llama-cpp-python \
        "llama-cpp-python==$version" -d "$dest" >&2
    tar -xzf "$dest/llama_cpp_python-$version.tar.gz" -C "$dest"
fi
echo "$dir"
