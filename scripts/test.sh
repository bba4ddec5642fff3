#!/usr/bin/env bash
# The test command (README "Set up and test"): installs what the suite needs, then runs it.
# Safe to run repeatedly; CI runs exactly this via .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

step() { printf '\n== %s\n' "$*"; }

step "toolchain"
command -v cargo >/dev/null || { echo "cargo not found: install Rust (https://rustup.rs)"; exit 1; }
cargo --version
rustup component add rustfmt clippy >/dev/null 2>&1 || true

step "format"
cargo fmt --all -- --check

step "lint"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "system packages"
# A real sshd is the "pod" of the remote-training tests (Debian openssh-server; ssh-keygen comes
# with it); systemd-analyze checks the sleep service's units when present.
if ! command -v sshd >/dev/null && [[ ! -x /usr/sbin/sshd ]]; then
    sudo=""
    [[ "$(id -u)" == 0 ]] || sudo="sudo"
    $sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssh-server >/dev/null
fi
/usr/sbin/sshd -V 2>&1 | head -1 || true

step "python readers"
# llama.cpp's own GGUF reader (PyPI gguf) for mh-gguf's read-back tests (scripts/py-env.sh).
source scripts/py-env.sh
mh_py_env

step "tests"
# Library, binary and integration tests (benches are run by `cargo bench`, not here).
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
set +e # a failing suite must still reach the summary below
cargo test --workspace --locked --lib --bins --tests 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
passed=$(grep -Eo '^test result: .* ([0-9]+) passed' "$log" | grep -Eo '[0-9]+ passed' | awk '{s+=$1} END {print s+0}')
failed=$(grep -Eo '^test result: .* ([0-9]+) failed' "$log" | grep -Eo '[0-9]+ failed' | awk '{s+=$1} END {print s+0}')

step "cuda"
# `cargo check --features cuda` against NVIDIA's nvcc wheels (no GPU needed); the first run
# compiles candle's kernels (~15 min), later runs reuse ~/.cache/mh-train (scripts/cuda-check.sh).
if [[ "${MH_CUDA_CHECK:-1}" == 0 ]]; then
    cuda="skipped (MH_CUDA_CHECK=0)"
elif scripts/cuda-check.sh; then
    cuda="passed"
else
    cuda="FAILED (exit $?): see the \"== cuda\" step above"
    [[ "$status" != 0 ]] || status=1
fi

echo
echo "cuda check: ${cuda}"
echo "tests: ${passed} passed, ${failed} failed"
exit "$status"
