#!/usr/bin/env python3
"""Reference outputs of transformers' logits processors for mh-model's sampling tests.

Writes crates/mh-model/tests/fixtures/sampling-reference.json with:

1. `cases`: fixed logit vectors run through one of transformers' own processors
   (RepetitionPenaltyLogitsProcessor, TemperatureLogitsWarper, TopKLogitsWarper,
   TopPLogitsWarper) with the given parameters and context ids, and the processed vector.
2. `pipelines`: the processor list transformers' `_get_logits_processor` builds for a sampling
   GenerationConfig (repetition penalty, temperature, top-k, top-p set together), its class
   names in order, and what the whole list makes of fixed logit vectors.
3. `greedy`: `model.generate(do_sample=False, repetition_penalty=...)` on the committed tiny
   qwen2 / llama / qwen3 models (tests/fixtures/tiny-*), the tokens produced and the smallest top-1/top-2
   margin of the processed scores (so a tolerance-level logit difference cannot flip a step).

-inf is written as null. The values come from transformers, never from our code. Needs torch and
transformers (CPU is fine); CI does not run this, it runs the Rust tests against the fixture.
Usage: ~/.venvs/mhfix/bin/python scripts/gen_sampling_reference.py
"""

import json
import math
import os

import torch
import transformers
from transformers import AutoModelForCausalLM, GenerationConfig
from transformers.generation.logits_process import (
    RepetitionPenaltyLogitsProcessor,
    TemperatureLogitsWarper,
    TopKLogitsWarper,
    TopPLogitsWarper,
)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "crates", "mh-model", "tests", "fixtures")
OUT = os.path.join(FIXTURES, "sampling-reference.json")


def encode(v):
    return [None if math.isinf(x) and x < 0 else float(f"{x:.9g}") for x in v]


def vectors():
    g = torch.Generator().manual_seed(1234)
    # Rounded to 4 decimals so the fixture stores them exactly as they are used.
    wide = [round(float(x), 4) for x in (torch.randn(24, generator=g) * 3.0)]
    flat = [round(float(x), 4) for x in (torch.randn(16, generator=g) * 0.5)]
    return {
        "mixed": [2.5, -1.0, 0.0, 3.75, -4.5, 1.25, 0.5, -0.25, 6.0, -2.0],
        # Ties (two 3.0, two -1.5) and an -inf that is already filtered.
        "ties": [3.0, 1.0, 3.0, -1.5, float("-inf"), -1.5, 0.75, 2.0],
        "wide": wide,
        "flat": flat,
    }


def one(proc, logits, context):
    ids = torch.tensor([context], dtype=torch.long)
    scores = torch.tensor([logits], dtype=torch.float32)
    return proc(ids, scores)[0].tolist()


def cases(vecs):
    out = []

    def add(name, params, vec, context, proc):
        out.append(dict(processor=name, params=params, vector=vec, context=context,
                        logits=encode(vecs[vec]), expected=encode(one(proc, vecs[vec], context))))

    for vec in vecs:
        n = len(vecs[vec])
        ctx = [0, 3, 3, 1, n - 1, 4, 0]
        for penalty in [1.3, 0.8, 2.0]:
            add("repetition_penalty", {"penalty": penalty}, vec, ctx,
                RepetitionPenaltyLogitsProcessor(penalty))
        for t in [0.5, 0.7, 1.7]:
            add("temperature", {"temperature": t}, vec, [], TemperatureLogitsWarper(t))
        for k in [1, 2, 3, 5, n + 3]:
            add("top_k", {"top_k": k}, vec, [], TopKLogitsWarper(k))
        for p in [0.0, 0.1, 0.35, 0.6, 0.8, 0.9, 0.95, 0.999, 1.0]:
            add("top_p", {"top_p": p}, vec, [], TopPLogitsWarper(p))
    return out


def pipelines(vecs, model):
    settings = [
        dict(repetition_penalty=1.2, temperature=0.7, top_k=5, top_p=0.9),
        dict(repetition_penalty=0.9, temperature=1.5, top_k=8, top_p=0.6),
        dict(repetition_penalty=1.1, temperature=0.4, top_k=3, top_p=0.95),
    ]
    out = []
    for s in settings:
        gc = GenerationConfig(do_sample=True, **s)
        procs = model._get_logits_processor(generation_config=gc, input_ids_seq_length=4,
                                            device="cpu", model_kwargs={})
        names = [type(p).__name__ for p in procs]
        for vec in ["mixed", "wide", "flat"]:
            n = len(vecs[vec])
            ctx = [1, 2, 2, n - 2, 7]
            ids = torch.tensor([ctx], dtype=torch.long)
            got = procs(ids, torch.tensor([vecs[vec]], dtype=torch.float32))[0].tolist()
            out.append(dict(settings=s, processors=names, vector=vec, context=ctx,
                            logits=encode(vecs[vec]), expected=encode(got)))
    return out


def greedy(model_dir, prompt, penalty, max_new):
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32,
                                                 attn_implementation="eager")
    model.eval()
    eos = model.config.eos_token_id
    with torch.no_grad():
        out = model.generate(torch.tensor([prompt]), do_sample=False, max_new_tokens=max_new,
                             repetition_penalty=penalty, eos_token_id=eos, pad_token_id=eos,
                             output_scores=True, return_dict_in_generate=True)
    tokens = out.sequences[0, len(prompt):].tolist()
    margin = min(float(torch.topk(s[0], 2).values[0] - torch.topk(s[0], 2).values[1])
                 for s in out.scores)
    return dict(model_dir=os.path.basename(model_dir), prompt=prompt, repetition_penalty=penalty,
                max_new_tokens=max_new, stop_ids=[eos], tokens=tokens, min_margin=margin)


def main():
    torch.set_num_threads(1)
    vecs = vectors()
    qwen2 = AutoModelForCausalLM.from_pretrained(os.path.join(FIXTURES, "tiny-qwen2"),
                                                 dtype=torch.float32)
    # Penalties that change the output: the tied-embedding models repeat the last prompt token
    # forever without one; qwen3 falls into a loop at 3.0 that 20.0 breaks.
    runs = [("qwen2", 1.0), ("qwen2", 3.0), ("llama", 1.0), ("qwen3", 1.0), ("qwen3", 3.0),
            ("qwen3", 20.0)]
    g = [greedy(os.path.join(FIXTURES, f"tiny-{arch}"), [5, 17, 300, 42, 9, 17], penalty, 24)
         for arch, penalty in runs]
    for case in g:
        if case["min_margin"] < 1e-3:
            raise SystemExit(f"greedy case {case['model_dir']} has a top-2 margin of "
                             f"{case['min_margin']}: pick another prompt")
    doc = {
        "transformers": transformers.__version__,
        "torch": torch.__version__,
        "cases": cases(vecs),
        "pipelines": pipelines(vecs, qwen2),
        "greedy": g,
    }
    with open(OUT, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    print(f"wrote {OUT}: {len(doc['cases'])} cases, {len(doc['pipelines'])} pipelines, "
          f"{len(g)} greedy runs")


if __name__ == "__main__":
    main()
