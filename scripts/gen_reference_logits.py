#!/usr/bin/env python3
"""Reference logits for mh-model's tests, computed by Hugging Face transformers and peft.

1. Regenerates the tiny model directories with our own generator
   (`cargo run -p mh-model --example gen_tiny_fixtures`; skip with --skip-rust), so the
   directories under crates/mh-model/tests/fixtures/tiny-* are exactly what tiny.rs writes.
2. Loads each directory with `AutoModelForCausalLM.from_pretrained` (float32, eager attention)
   and checks that no tensor was missing, unexpected or mis-shaped.
3. Runs fixed input ids and records the logits of every position.
4. Wraps the model in a PEFT LoRA (init_lora_weights=False, so B is random and non-zero),
   records the logits again and saves the adapter with `save_pretrained` next to the model.
5. Writes crates/mh-model/tests/fixtures/reference-<arch>.json.

The values come from transformers and peft, never from our code. Needs torch, transformers,
peft and safetensors (pip install torch transformers peft safetensors; CPU is fine). CI does not
run this: it runs the Rust tests against the committed fixtures.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys

import peft
import torch
import transformers
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "crates", "mh-model", "tests", "fixtures")
ALL = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]

# One adapter shape per architecture, so plain scaling, rsLoRA, partial targets and ranks are
# all covered.
CASES = {
    "qwen2": dict(r=4, lora_alpha=8, target_modules=ALL, use_rslora=False),
    "llama": dict(r=4, lora_alpha=6, target_modules=ALL, use_rslora=True),
    "qwen3": dict(r=2, lora_alpha=5, target_modules=["q_proj", "v_proj", "down_proj"], use_rslora=False),
}

VOCAB = 512
SEQ = 12
INPUT_IDS = [
    [(7 * i + 3) % VOCAB for i in range(SEQ)],
    [(131 * i + 100) % VOCAB for i in range(SEQ)],
]


def rounded(t):
    # 8 significant digits: far below the 1e-4 tolerance, a third of the bytes of repr().
    return [rounded(x) for x in t] if isinstance(t, list) else float(f"{t:.8g}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--skip-rust", action="store_true", help="do not regenerate the tiny model dirs")
    args = ap.parse_args()

    if not args.skip_rust:
        subprocess.run(
            ["cargo", "run", "-q", "-p", "mh-model", "--example", "gen_tiny_fixtures", "--", FIXTURES],
            cwd=ROOT,
            check=True,
        )

    torch.manual_seed(0)
    torch.set_num_threads(1)
    # Relative names keep base_model_name_or_path free of this machine's paths.
    os.chdir(FIXTURES)
    for arch, lora in CASES.items():
        model_dir = f"tiny-{arch}"
        adapter_dir = f"tiny-{arch}-adapter"
        model, info = AutoModelForCausalLM.from_pretrained(
            model_dir, dtype=torch.float32, attn_implementation="eager", output_loading_info=True
        )
        problems = {k: v for k, v in info.items() if v}
        if problems:
            sys.exit(f"{model_dir}: transformers reports {problems}")
        model.eval()
        ids = torch.tensor(INPUT_IDS)
        with torch.no_grad():
            logits = model(input_ids=ids).logits

        torch.manual_seed(1234)
        cfg = LoraConfig(task_type="CAUSAL_LM", init_lora_weights=False, lora_dropout=0.0, **lora)
        wrapped = get_peft_model(model, cfg)
        wrapped.eval()
        with torch.no_grad():
            logits_adapter = wrapped(input_ids=ids).logits
        shutil.rmtree(adapter_dir, ignore_errors=True)
        wrapped.save_pretrained(adapter_dir)
        # The generated model card says nothing the test needs.
        readme = os.path.join(adapter_dir, "README.md")
        if os.path.exists(readme):
            os.remove(readme)

        out = {
            "generator": "scripts/gen_reference_logits.py",
            "versions": {
                "torch": torch.__version__,
                "transformers": transformers.__version__,
                "peft": peft.__version__,
            },
            "model_dir": model_dir,
            "adapter_dir": adapter_dir,
            "adapter": lora,
            "input_ids": INPUT_IDS,
            "logits": rounded(logits.tolist()),
            "logits_adapter": rounded(logits_adapter.tolist()),
        }
        path = f"reference-{arch}.json"
        with open(path, "w") as f:
            json.dump(out, f, separators=(",", ":"))
            f.write("\n")
        delta = (logits_adapter - logits).abs().max().item()
        print(f"{path}: logits {tuple(logits.shape)}, adapter changes them by up to {delta:.3f}")


if __name__ == "__main__":
    main()
