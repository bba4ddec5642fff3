#!/usr/bin/env bash
# The main job on the embedded default (README "Quick start"): the demo profile, on CPU.
# Works on a copy of datasets/demo-profile in out/demo/ (made once, kept across runs).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

demo_dir="${MH_DEMO_DIR:-out/demo}"
profile="$demo_dir/profile"
if [ ! -d "$profile" ]; then
  mkdir -p "$demo_dir"
  cp -r datasets/demo-profile "$profile"
fi

cargo build --locked -q -p mh-cli
mh_train="$CARGO_TARGET_DIR/debug/mh-train"

"$mh_train" --profile "$profile" profile check
"$mh_train" --profile "$profile" -q dev tokenizer --out "$demo_dir/model"
"$mh_train" --profile "$profile" dataset build --seed 7 --out "$demo_dir/dataset" \
  --model "$demo_dir/model" --max-seq-length 512
"$mh_train" dataset validate "$demo_dir/dataset/train.jsonl"
