#!/usr/bin/env bash
# The main job on the embedded default (README "Quick start"): `mh-train local` on the demo
# profile with a tiny model made on the fly, on CPU. Works on a copy of datasets/demo-profile in
# out/demo/ (made once, kept across runs): each run adds a version to its model registry
# (1, then 2 with parent 1, …) and activates it when its held-out loss is not worse.
# The Ollama step registers the model when an Ollama server runs (OLLAMA_HOST), else it is
# skipped and the Modelfile plus its `ollama create` command are printed.
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
# The base model stays the same across runs, so versions compare on the same base.
if [ ! -f "$demo_dir/model/config.json" ]; then
  "$mh_train" --profile "$profile" -q dev tiny-model --out "$demo_dir/model"
fi
"$mh_train" --profile "$profile" local --base-model "$demo_dir/model" --config configs/demo.json \
  --device cpu --seed 7 --max-seq-length 512
"$mh_train" --profile "$profile" lineage history
"$mh_train" --profile "$profile" lineage verify
"$mh_train" --profile "$profile" generate --active --device cpu \
  --prompt "What did you tune today?" --max-tokens 40 --temperature 0
