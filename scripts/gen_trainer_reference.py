#!/usr/bin/env python3
"""Reference values for mh-trainer's tests, computed by PyTorch, transformers and peft.

1. A training step on the committed tiny qwen2 model + PEFT adapter
   (crates/mh-model/tests/fixtures/tiny-qwen2{,-adapter}): transformers' masked causal-LM loss
   (labels -100 ignored, shifted inside the model), the LoRA parameter gradients, their global
   norm, then `clip_grad_norm_(max_norm)` + one `torch.optim.AdamW` step and the loss after it.
2. `torch.optim.AdamW` alone on a small parameter over three steps with weight decay and
   changing learning rates.

Writes crates/mh-trainer/tests/fixtures/trainer-reference.json. Needs torch, transformers, peft
(CPU is fine); CI does not run this, the Rust tests read the committed file.
"""

import json
import os

import torch
from peft import PeftModel
from transformers import AutoModelForCausalLM

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODEL_FIXTURES = os.path.join(ROOT, "crates", "mh-model", "tests", "fixtures")
OUT = os.path.join(ROOT, "crates", "mh-trainer", "tests", "fixtures", "trainer-reference.json")

VOCAB = 512
SEQ = 14
INPUT_IDS = [(11 * i + 5) % VOCAB for i in range(SEQ)]
# Prompt tokens unlabelled, the rest labelled (labels are the ids themselves, unshifted).
LABELS = [-100] * 5 + INPUT_IDS[5:11] + [-100] * 1 + INPUT_IDS[12:]
LR = 1e-2
MAX_GRAD_NORM = 0.5
BETAS = (0.9, 0.999)
EPS = 1e-8
WEIGHT_DECAY = 0.01


def g(x):
    return float(f"{x:.9g}")


def train_step():
    base = AutoModelForCausalLM.from_pretrained(
        os.path.join(MODEL_FIXTURES, "tiny-qwen2"), torch_dtype=torch.float32, attn_implementation="eager"
    )
    model = PeftModel.from_pretrained(base, os.path.join(MODEL_FIXTURES, "tiny-qwen2-adapter"), is_trainable=True)
    model.train()  # lora_dropout is 0, so train mode changes nothing numerically
    ids = torch.tensor([INPUT_IDS])
    labels = torch.tensor([LABELS])
    loss = model(input_ids=ids, labels=labels).loss
    loss.backward()
    params = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    grad_norm = torch.sqrt(sum((p.grad.double() ** 2).sum() for _, p in params)).item()
    # A few gradients in full, by PEFT key (without the adapter name).
    def key(n):
        return n.replace(".default", "")
    picked = {key(n): p.grad.tolist() for n, p in params if "layers.0.self_attn.q_proj" in n}
    torch.nn.utils.clip_grad_norm_([p for _, p in params], MAX_GRAD_NORM)
    opt = torch.optim.AdamW([p for _, p in params], lr=LR, betas=BETAS, eps=EPS, weight_decay=WEIGHT_DECAY)
    opt.step()
    with torch.no_grad():
        after = model(input_ids=ids, labels=labels).loss.item()
    return {
        "input_ids": INPUT_IDS,
        "labels": LABELS,
        "lr": LR,
        "max_grad_norm": MAX_GRAD_NORM,
        "betas": BETAS,
        "eps": EPS,
        "weight_decay": WEIGHT_DECAY,
        "loss": g(loss.item()),
        "grad_norm": g(grad_norm),
        "grads": {k: [[g(x) for x in row] for row in v] for k, v in picked.items()},
        "loss_after_step": g(after),
    }


def adamw():
    p0 = torch.tensor([[0.5, -1.0, 2.0], [0.0, 0.25, -0.75]])
    grads = [
        torch.tensor([[0.1, -0.2, 0.3], [0.0, 1.0, -1.0]]),
        torch.tensor([[-0.5, 0.2, 0.0], [2.0, -0.1, 0.05]]),
        torch.tensor([[0.01, 0.02, -0.03], [0.3, 0.3, 0.3]]),
    ]
    lrs = [0.1, 0.05, 0.01]
    p = torch.nn.Parameter(p0.clone())
    opt = torch.optim.AdamW([p], lr=lrs[0], betas=(0.9, 0.95), eps=1e-6, weight_decay=0.1)
    steps = []
    for grad, lr in zip(grads, lrs):
        for group in opt.param_groups:
            group["lr"] = lr
        p.grad = grad.clone()
        opt.step()
        steps.append([[g(x) for x in row] for row in p.detach().tolist()])
    return {
        "param": p0.tolist(),
        "grads": [t.tolist() for t in grads],
        "lrs": lrs,
        "betas": [0.9, 0.95],
        "eps": 1e-6,
        "weight_decay": 0.1,
        "params_after_each_step": steps,
    }


def main():
    torch.manual_seed(0)
    out = {"torch": torch.__version__, "train_step": train_step(), "adamw": adamw()}
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
