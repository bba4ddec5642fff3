#!/usr/bin/env bash
# Type-checks the binary with candle's CUDA backend (`--features cuda`) on a machine without a GPU
# or a CUDA installation. scripts/test.sh (and so CI) runs it; it can be run on its own.
#
# 1. Once: a venv under the build cache ($MH_CACHE_DIR, see scripts/env.sh) with NVIDIA's CUDA 13
#    compiler wheels from PyPI (nvcc, NVVM, runtime headers, CRT, CCCL; the cu12 wheels have no nvcc).
# 2. Once: a CUDA_HOME made of symlinks into those wheels, laid out as the toolkit is
#    (bin/ include/ lib64/ nvvm/), checked by compiling a small kernel to PTX.
# 3. Every run: `cargo check --locked -p mh-cli --no-default-features --features cuda` with CUDA_COMPUTE_CAP set (there is
#    no nvidia-smi to ask) into its own target directory, so it never invalidates the main one.
#    The first check compiles candle's kernels with nvcc (~15 min on 2 busy cores); later runs
#    reuse the cache and take seconds.
#
# Environment: CUDA_COMPUTE_CAP (default 90), MH_CUDA_TARGET_DIR (default $MH_CACHE_DIR/target-cuda).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

# Pinned wheel versions (../shared/reference/TOOLCHAIN.md). Changing them makes a new cache dir.
CUDA_VERSION=13.4.92
PINS=(
    "nvidia-cuda-nvcc==${CUDA_VERSION}"
    "nvidia-nvvm==${CUDA_VERSION}"
    "nvidia-cuda-runtime==${CUDA_VERSION}"
    "nvidia-cuda-crt==${CUDA_VERSION}"
    "nvidia-cuda-cccl==13.3.5.0.6"
)

cuda_dir="$MH_CACHE_DIR/cuda-${CUDA_VERSION}"
venv="$cuda_dir/venv"
root="$cuda_dir/root"
stamp="$cuda_dir/ready"
export CUDA_COMPUTE_CAP="${CUDA_COMPUTE_CAP:-90}"
# This is a compile check: the kernels built here never run, so ptxas need not optimise the
# statically compiled ones (candle's mmq_instance_q4_k.cu: 44 s -> 34 s of CPU). The front end
# must keep optimising: quantized.cu's dp4a intrinsics do not compile at -Xcicc -O0.
# nvcc reads NVCC_APPEND_FLAGS itself.
export NVCC_APPEND_FLAGS="${NVCC_APPEND_FLAGS:--Xptxas -O0}"
export CARGO_TARGET_DIR="${MH_CUDA_TARGET_DIR:-$MH_CACHE_DIR/target-cuda}"

say() { printf 'cuda-check: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

mkdir -p "$cuda_dir"
# Two runs at once (a developer and scripts/test.sh) must not install into the same venv together.
if command -v flock >/dev/null; then
    exec 9>"$cuda_dir/.lock"
    flock 9
fi

python_for_venv() {
    local py
    py="$(command -v python3 || true)"
    if [[ -n "$py" ]] && "$py" -c 'import venv, ensurepip' 2>/dev/null; then
        echo "$py"
        return
    fi
    # Debian ships venv/ensurepip separately; CI may install Debian packages.
    if command -v apt-get >/dev/null && [[ "$(id -u)" == 0 ]]; then
        say "installing python3-venv (Debian) to create the wheel venv"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv >&2 \
            || { apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv >&2; } \
            || die "could not install python3-venv with apt-get"
        command -v python3
        return
    fi
    die "python3 with the venv module is needed to install the CUDA wheels (Debian: apt-get install python3-venv)"
}

install_toolkit() {
    local py site src
    py="$(python_for_venv)"
    say "creating $venv and installing ${PINS[*]} from PyPI (once)"
    rm -rf "$venv" "$root" "$stamp"
    "$py" -m venv "$venv" || die "python3 -m venv $venv failed"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
        --only-binary=:all: "${PINS[@]}" \
        || die "pip install of the CUDA wheels failed (needs network access to PyPI)"
    site="$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
    src="$site/nvidia/cu13"
    [[ -x "$src/bin/nvcc" ]] || die "the wheels did not provide $src/bin/nvcc"
    for d in bin include nvvm lib; do
        [[ -d "$src/$d" ]] || die "the wheels did not provide $src/$d"
    done

    # The toolkit layout nvcc expects: nvcc.profile resolves include/, nvvm/ and lib/ from bin/..
    mkdir -p "$root"
    ln -sfn "$src/bin" "$root/bin"
    ln -sfn "$src/include" "$root/include"
    ln -sfn "$src/nvvm" "$root/nvvm"
    ln -sfn "$src/lib" "$root/lib"
    ln -sfn "$src/lib" "$root/lib64"

    # Prove the layout works before spending minutes in cargo: one kernel to PTX, bf16 header included.
    local probe="$cuda_dir/probe"
    mkdir -p "$probe"
    cat >"$probe/k.cu" <<'CU'
#include <cuda_bf16.h>
extern "C" __global__ void scale(__nv_bfloat16 *x, float s) {
    x[threadIdx.x] = __float2bfloat16(__bfloat162float(x[threadIdx.x]) * s);
}
CU
    "$root/bin/nvcc" --ptx -arch="sm_${CUDA_COMPUTE_CAP}" -o "$probe/k.ptx" "$probe/k.cu" \
        || die "nvcc from $root could not compile a test kernel to PTX"
    grep -q '\.entry scale' "$probe/k.ptx" || die "nvcc produced no kernel in $probe/k.ptx"

    printf '%s\n' "${PINS[@]}" >"$stamp.tmp"
    mv "$stamp.tmp" "$stamp"
}

if [[ ! -f "$stamp" ]] || [[ "$(cat "$stamp")" != "$(printf '%s\n' "${PINS[@]}")" ]] \
    || ! "$root/bin/nvcc" --version >/dev/null 2>&1; then
    install_toolkit
fi

export CUDA_HOME="$root"
export PATH="$CUDA_HOME/bin:$PATH"
say "CUDA_HOME=$CUDA_HOME ($("$CUDA_HOME/bin/nvcc" --version | grep -o 'release [0-9.]*'))," \
    "CUDA_COMPUTE_CAP=$CUDA_COMPUTE_CAP, CARGO_TARGET_DIR=$CARGO_TARGET_DIR"

start=$SECONDS
# Without the default `parquet` feature: polars has nothing to do with CUDA and would add minutes
# to a cold check.
cargo check --locked -p mh-cli --no-default-features --features cuda
say "cargo check --features cuda passed in $((SECONDS - start)) s"
