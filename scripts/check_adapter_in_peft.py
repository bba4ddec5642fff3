#!/usr/bin/env python3
"""Cross-check an mh-train adapter in Python: the held-out loss transformers + peft compute with it
must equal what `mh-train eval` prints, within --tolerance (default 1e-4).

    ~/.venvs/mhfix/bin/python scripts/check_adapter_in_peft.py MODEL_DIR ADAPTER_DIR DATASET_DIR

MODEL_DIR is a Hugging Face model directory (config.json + safetensors), ADAPTER_DIR a PEFT
adapter written by `mh-train train` (RUN/adapter), DATASET_DIR a tokenized dataset directory
(`tokenized.json` + `eval.tokens.jsonl`, from `mh-train dataset build --model MODEL_DIR`).

Python side: AutoModelForCausalLM.from_pretrained(MODEL_DIR, f32, eager attention), then
PeftModel.from_pretrained(model, ADAPTER_DIR), eval mode. Each row of the split is
{input_ids, labels, lengths}; labels are unshifted with -100 ignored. A row packing several
samples (lengths with more than one entry) is scored sample by sample — each on its own is what
mh-train's block-diagonal attention with positions restarting per sample computes — so the next
token across a sample boundary is never a target. The loss is the token-weighted mean of
-log softmax(logits)[next label] over every target of the split (log-softmax in f32, sums in
f64).

Rust side: `$MH_TRAIN eval --base-model MODEL_DIR --adapter ADAPTER_DIR --dataset DATASET_DIR
--split SPLIT --device cpu --json`, with MH_TRAIN defaulting to $CARGO_TARGET_DIR/debug/mh-train
(`source scripts/env.sh; cargo build -p mh-cli` builds it). Exits 1 when the losses differ by more
than the tolerance or the target counts differ. Needs torch, transformers and peft, so CI does not
run it.
"""
import argparse
import json
import math
import os
import subprocess
import sys
from pathlib import Path

IGNORE = -100


def default_mh_train():
    target = os.environ.get("CARGO_TARGET_DIR")
    if not target:
        cache = os.environ.get("MH_CACHE_DIR") or os.path.join(
            os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "mh-train"
        )
        target = os.path.join(cache, "target")
    return os.path.join(target, "debug", "mh-train")


def read_rows(dataset_dir, split):
    manifest_path = dataset_dir / "tokenized.json"
    manifest = json.loads(manifest_path.read_text())
    labels = manifest.get("labels", {})
    if labels.get("ignore_index", IGNORE) != IGNORE or labels.get("shifted", False):
        sys.exit(f"{manifest_path}: labels must be unshifted with ignore index {IGNORE}")
    name = manifest.get("files", {}).get(split)
    if not name:
        sys.exit(f"{manifest_path}: no `files.{split}`")
    path = dataset_dir / name
    rows = []
    for i, line in enumerate(path.read_text().splitlines()):
        if not line.strip():
            continue
        row = json.loads(line)
        ids, lab, lengths = row["input_ids"], row["labels"], row["lengths"]
        if len(ids) != len(lab) or sum(lengths) != len(ids):
            sys.exit(f"{path}: line {i + 1}: {len(ids)} ids, {len(lab)} labels, lengths {lengths}")
        rows.append((ids, lab, lengths))
    return path, rows


def python_loss(model_dir, adapter_dir, rows):
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32, attn_implementation="eager")
    model = PeftModel.from_pretrained(base, adapter_dir)
    model.eval()
    total, targets, packed = 0.0, 0, 0
    with torch.no_grad():
        for ids, labels, lengths in rows:
            packed += len(lengths) > 1
            start = 0
            for n in lengths:
                seg_ids = ids[start : start + n]
                # Unshifted labels: position i predicts labels[i + 1].
                nxt = torch.tensor(labels[start + 1 : start + n])
                start += n
                keep = nxt != IGNORE
                if n < 2 or not bool(keep.any()):
                    continue
                logits = model(input_ids=torch.tensor([seg_ids]), use_cache=False).logits[0, :-1].float()
                logp = torch.log_softmax(logits, dim=-1)
                picked = logp[keep].gather(1, nxt[keep].unsqueeze(1)).squeeze(1)
                total += -picked.double().sum().item()
                targets += int(keep.sum())
    return total, targets, packed


def rust_loss(mh_train, model_dir, adapter_dir, dataset_dir, split):
    cmd = [
        mh_train, "--json", "-q", "eval",
        "--base-model", str(model_dir),
        "--adapter", str(adapter_dir),
        "--dataset", str(dataset_dir),
        "--split", split,
        "--device", "cpu",
    ]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr}")
    try:
        return json.loads(done.stdout), cmd
    except json.JSONDecodeError as e:
        sys.exit(f"{' '.join(cmd)} printed no JSON ({e}):\n{done.stdout}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model_dir", type=Path)
    ap.add_argument("adapter_dir", type=Path)
    ap.add_argument("dataset_dir", type=Path)
    ap.add_argument("--split", default="eval")
    ap.add_argument("--tolerance", type=float, default=1e-4)
    ap.add_argument("--mh-train", default=os.environ.get("MH_TRAIN") or default_mh_train())
    args = ap.parse_args()
    if not os.access(args.mh_train, os.X_OK):
        sys.exit(f"{args.mh_train} is not an executable; build it with `source scripts/env.sh; cargo build -p mh-cli`")

    path, rows = read_rows(args.dataset_dir, args.split)
    if not rows:
        sys.exit(f"{path}: no rows")
    total, targets, packed = python_loss(args.model_dir, args.adapter_dir, rows)
    if targets == 0:
        sys.exit(f"{path}: no labelled targets")
    py = total / targets
    rs, cmd = rust_loss(args.mh_train, args.model_dir, args.adapter_dir, args.dataset_dir, args.split)

    diff = abs(py - rs["loss"])
    print(f"rows {len(rows)} ({packed} packed) from {path}")
    print(f"transformers+peft loss {py:.8f} over {targets} targets (ppl {math.exp(py):.4f})")
    print(f"mh-train eval     loss {rs['loss']:.8f} over {rs['tokens']} targets (ppl {rs['ppl']:.4f})")
    print(f"|difference| {diff:.3e} (tolerance {args.tolerance:g}); mh-train command: {' '.join(cmd)}")
    if rs["tokens"] != targets:
        print(f"FAIL: target counts differ ({targets} vs {rs['tokens']})")
        return 1
    if not diff <= args.tolerance:
        print("FAIL: the losses differ by more than the tolerance")
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
