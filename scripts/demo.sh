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
"$mh_train" --profile "$profile" -q dev tiny-model --out "$demo_dir/model"
"$mh_train" --profile "$profile" dataset build --seed 7 --out "$demo_dir/dataset" \
  --model "$demo_dir/model" --max-seq-length 512
"$mh_train" dataset validate "$demo_dir/dataset/train.jsonl"
# A random tiny model learns fast at 10x the default learning rate; a fresh run each time.
rm -rf "$demo_dir/run"
"$mh_train" train --base-model "$demo_dir/model" --dataset "$demo_dir/dataset" --out "$demo_dir/run" \
  --device cpu --learning-rate 2e-3 --eval-every 10 --save-every 20
"$mh_train" eval --base-model "$demo_dir/model" --adapter "$demo_dir/run/adapter" \
  --dataset "$demo_dir/dataset" --device cpu
"$mh_train" generate --base-model "$demo_dir/model" --adapter "$demo_dir/run/adapter" --device cpu \
  --prompt "What did you tune today?" --max-tokens 40 --temperature 0
