#!/usr/bin/env python3
"""Cross-check `mh-train merge` against PEFT's own `merge_and_unload()`: the merged weights must
be the same tensors (names, dtypes, shapes) with values within --tolerance (default 1e-6).

    ~/.venvs/mhfix/bin/python scripts/check_merge_against_peft.py [--base DIR] [--adapter DIR]
        [--ours DIR] [--dtype float32|bfloat16]

Defaults: the committed tiny-qwen2 model and the adapter peft saved for it
(crates/mh-model/tests/fixtures/tiny-qwen2{,-adapter}).

Python side: AutoModelForCausalLM.from_pretrained(BASE, dtype), PeftModel.from_pretrained(model,
ADAPTER), merge_and_unload(), save_pretrained(safe_serialization=True) into a scratch directory
(which drops tied aliases as our files do), read back with safetensors.

Rust side: --ours DIR, a merged model directory; without it, `$MH_TRAIN merge --base-model BASE
--adapter ADAPTER --out SCRATCH` (MH_TRAIN defaults to $CARGO_TARGET_DIR/debug/mh-train; `source
scripts/env.sh; cargo build -p mh-cli` builds it). With --dtype bfloat16 the base is first
converted to bf16 and both sides merge that copy. PEFT keeps the adapter in f32
(`autocast_adapter_dtype`) and its in-place `weight += scale · B @ A` computes in f32 and rounds
to bf16 once, as we do; with peft 0.21.2 both dtypes agree bit for bit on the tiny fixtures.

Prints the largest difference over all tensors and over the merged ones; exits 1 when names,
dtypes or shapes differ, an untouched tensor differs at all, or a value differs by more than the
tolerance. Needs torch, transformers and peft, so CI does not run it.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "crates" / "mh-model" / "tests" / "fixtures"


def default_mh_train():
    target = os.environ.get("CARGO_TARGET_DIR")
    if not target:
        cache = os.environ.get("MH_CACHE_DIR") or os.path.join(
            os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "mh-train"
        )
        target = os.path.join(cache, "target")
    return os.path.join(target, "debug", "mh-train")


def fail(msg):
    print(f"check_merge_against_peft: FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def read_dir(d):
    """Every tensor of the safetensors files in `d` (single file or shards)."""
    from safetensors.torch import load_file

    out = {}
    for f in sorted(d.glob("*.safetensors")):
        out.update(load_file(str(f)))
    if not out:
        fail(f"{d}: no safetensors files")
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--base", type=Path, default=FIXTURES / "tiny-qwen2")
    ap.add_argument("--adapter", type=Path, default=FIXTURES / "tiny-qwen2-adapter")
    ap.add_argument("--ours", type=Path)
    ap.add_argument("--dtype", choices=["float32", "bfloat16"], default="float32")
    ap.add_argument("--tolerance", type=float, default=1e-6)
    args = ap.parse_args()

    import torch
    import peft
    import transformers
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    dtype = getattr(torch, args.dtype)
    scratch = Path(tempfile.mkdtemp(prefix="check-merge-"))
    try:
        base = args.base
        if args.dtype != "float32":
            # Both sides merge the same converted copy of the base.
            base = scratch / "base"
            m = AutoModelForCausalLM.from_pretrained(str(args.base), dtype=dtype)
            m.save_pretrained(str(base), safe_serialization=True)
            for f in args.base.iterdir():
                if f.suffix == ".json" and f.name != "config.json" and "index" not in f.name:
                    shutil.copy(f, base / f.name)

        ours = args.ours
        if ours is None:
            ours = scratch / "ours"
            cmd = [os.environ.get("MH_TRAIN") or default_mh_train(), "-q", "merge",
                   "--base-model", str(base), "--adapter", str(args.adapter), "--out", str(ours)]
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode != 0:
                fail(f"{' '.join(cmd)}: {r.stderr.strip()}")

        model = AutoModelForCausalLM.from_pretrained(str(base), dtype=dtype)
        model = PeftModel.from_pretrained(model, str(args.adapter))
        merged = model.merge_and_unload()
        theirs_dir = scratch / "peft"
        merged.save_pretrained(str(theirs_dir), safe_serialization=True)
        print(f"torch {torch.__version__}, transformers {transformers.__version__}, "
              f"peft {peft.__version__}; base {base}, adapter {args.adapter}, dtype {args.dtype}")

        theirs, mine, original = read_dir(theirs_dir), read_dir(ours), read_dir(base)
        if set(theirs) != set(mine):
            fail(f"tensor names differ: only peft {sorted(set(theirs) - set(mine))}, "
                 f"only ours {sorted(set(mine) - set(theirs))}")
        worst_all, worst_merged, merged_names, differing = 0.0, 0.0, 0, 0
        for name in sorted(theirs):
            t, o = theirs[name], mine[name]
            if t.dtype != o.dtype or t.shape != o.shape:
                fail(f"{name}: peft {t.dtype} {tuple(t.shape)}, ours {o.dtype} {tuple(o.shape)}")
            diff = (t.double() - o.double()).abs().max().item() if t.numel() else 0.0
            changed = not torch.equal(original[name], t)
            if not changed and not torch.equal(o, original[name]):
                fail(f"{name}: untouched by peft but changed by us")
            worst_all = max(worst_all, diff)
            if changed:
                merged_names += 1
                worst_merged = max(worst_merged, diff)
                differing += int((t != o).sum().item())
        print(f"{len(theirs)} tensors, {merged_names} merged by peft; max |peft - ours| = "
              f"{worst_all:.3e} overall, {worst_merged:.3e} on merged tensors; "
              f"{differing} elements not bit-identical")
        if merged_names == 0:
            fail("peft changed no tensor: the adapter does nothing")
        if worst_all > args.tolerance:
            fail(f"difference {worst_all:e} exceeds the tolerance {args.tolerance:e}")
        print("check_merge_against_peft: OK")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
