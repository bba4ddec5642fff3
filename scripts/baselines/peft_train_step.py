#!/usr/bin/env python3
"""Baseline for benches/benches/train_step.rs: the same LoRA training step and greedy generation
with PyTorch + transformers + peft, f32 on the CPU.

Model: Qwen2ForCausalLM, 4 layers, hidden 512, 8 heads over 2 KV heads, intermediate 1408,
vocab 16384, tied embeddings (q/k/v biases, as every Qwen2). With --model DIR it loads the
random weights the Rust benchmark generated (it prints the directory; the config must have
these sizes), so the first step's loss and the greedy tokens can be compared with mh-train's;
without it the weights are transformers' own random init (seed 0).
LoRA: peft LoraConfig(r=16, lora_alpha=32, lora_dropout=0, all seven projections).
Attention: --attn sdpa (transformers' default, torch's fused scaled_dot_product_attention)
or --attn eager (explicit matmul + softmax, as mh-model computes it).

A step, timed in three parts like the Rust benchmark:
    forward   loss = model(input_ids=ids, labels=ids, use_cache=False).loss; loss.item()
    backward  loss.backward()
    optimizer clip_grad_norm_(lora params, 1.0); AdamW.step(); zero_grad(set_to_none=True)
on a micro-batch of 4 x 256 token ids (splitmix64, seed 0, as the Rust benchmark draws them)
with every position labelled (labels = input_ids; transformers shifts them). Two warm-up steps,
then the median of the timed ones; tokens/s = 4*256 / median step time. Peak RSS is
getrusage(RUSAGE_SELF).ru_maxrss after training (it includes the torch import).

Generation: model.generate(prompt, max_new_tokens=128, do_sample=False, use_cache=True) on the
same PeftModel (LoRA unmerged) after a 32-token prompt (splitmix64, seed 1), batch 1, EOS
stopping off; the median of three runs after an 8-token warm-up.

Threads: torch.set_num_threads(N), N defaulting to the CPUs this process may run on, which is
what candle's CPU backend uses (physical cores in the affinity mask; RAYON_NUM_THREADS overrides).

Usage:
    ~/.venvs/mhfix/bin/python scripts/baselines/peft_train_step.py [--model DIR] [--attn sdpa|eager]
        [--steps 5] [--warmup 2] [--threads N]
"""
import argparse
import hashlib
import os
import resource
import statistics
import time

LAYERS, HIDDEN, HEADS, KV_HEADS, INTERMEDIATE, VOCAB = 4, 512, 8, 2, 1408, 16384
BATCH, SEQ = 4, 256
RANK, ALPHA = 16, 32
LR, MAX_GRAD_NORM = 1e-4, 1.0
PROMPT, NEW_TOKENS = 32, 128
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def token_ids(seed, n, vocab):
    """splitmix64 from `seed`, each output modulo `vocab` (benches/benches/train_step.rs)."""
    mask = (1 << 64) - 1
    state = seed
    out = []
    for _ in range(n):
        state = (state + 0x9E3779B97F4A7C15) & mask
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
        z ^= z >> 31
        out.append(z % vocab)
    return out


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", help="the Rust benchmark's generated model directory")
    ap.add_argument("--attn", choices=["sdpa", "eager"], default="sdpa")
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    args = ap.parse_args()

    import torch
    import transformers
    import peft
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, Qwen2Config, Qwen2ForCausalLM

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    dims = dict(
        vocab_size=VOCAB,
        hidden_size=HIDDEN,
        intermediate_size=INTERMEDIATE,
        num_hidden_layers=LAYERS,
        num_attention_heads=HEADS,
        num_key_value_heads=KV_HEADS,
    )
    if args.model:
        model = AutoModelForCausalLM.from_pretrained(
            args.model, dtype=torch.float32, attn_implementation=args.attn
        )
        for k, v in dims.items():
            if getattr(model.config, k) != v:
                raise SystemExit(f"{args.model}: {k} is {getattr(model.config, k)}, expected {v}")
        source = args.model
    else:
        config = Qwen2Config(
            **dims,
            tie_word_embeddings=True,
            max_position_embeddings=2048,
            rms_norm_eps=1e-6,
            rope_parameters={"rope_type": "default", "rope_theta": 10000.0},
            bos_token_id=1,
            eos_token_id=2,
        )
        config._attn_implementation = args.attn
        model = Qwen2ForCausalLM(config).to(torch.float32)
        source = "random init (seed 0)"
    if not model.config.tie_word_embeddings:
        raise SystemExit("expected tied embeddings, as the Rust benchmark's model")
    model = get_peft_model(
        model,
        LoraConfig(r=RANK, lora_alpha=ALPHA, lora_dropout=0.0, target_modules=TARGETS, task_type="CAUSAL_LM"),
    )
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=LR, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    ids = torch.tensor(token_ids(0, BATCH * SEQ, VOCAB), dtype=torch.long).reshape(BATCH, SEQ)

    print(
        f"peft_train_step: torch {torch.__version__}, transformers {transformers.__version__}, "
        f"peft {peft.__version__}; attention {model.config._attn_implementation}; "
        f"{torch.get_num_threads()} threads; weights: {source}; "
        f"{sum(p.numel() for p in params)} trainable parameters"
    )
    fwd, bwd, optim, total, losses = [], [], [], [], []
    for step in range(args.warmup + args.steps):
        t0 = time.perf_counter()
        loss = model(input_ids=ids, labels=ids, use_cache=False).loss
        value = loss.item()
        t1 = time.perf_counter()
        loss.backward()
        t2 = time.perf_counter()
        torch.nn.utils.clip_grad_norm_(params, MAX_GRAD_NORM)
        opt.step()
        opt.zero_grad(set_to_none=True)
        t3 = time.perf_counter()
        losses.append(value)
        warm = " (warm-up)" if step < args.warmup else ""
        print(
            f"  step {step + 1}{warm}: {t3 - t0:.3f} s (forward {t1 - t0:.3f}, backward {t2 - t1:.3f}, "
            f"clip+AdamW {t3 - t2:.3f}), loss {value:.6f}"
        )
        if step >= args.warmup:
            fwd.append(t1 - t0)
            bwd.append(t2 - t1)
            optim.append(t3 - t2)
            total.append(t3 - t0)
    del loss
    step_s = statistics.median(total)
    train_rss = peak_rss_mb()
    print(
        f"peft_train_step/step: median {step_s:.3f} s over {args.steps} steps = {BATCH * SEQ / step_s:.0f} tokens/s "
        f"(forward {statistics.median(fwd):.3f} s, backward {statistics.median(bwd):.3f} s, "
        f"clip+AdamW {statistics.median(optim):.3f} s); loss {losses[0]:.6f} -> {losses[-1]:.6f}; "
        f"peak RSS {train_rss:.0f} MB"
    )
    print(f"peft_train_step/step times (s): {[round(t, 4) for t in total]}")

    model.eval()
    prompt = torch.tensor([token_ids(1, PROMPT, VOCAB)], dtype=torch.long)
    kwargs = dict(do_sample=False, use_cache=True, eos_token_id=None, pad_token_id=0)
    # No EOS: the run always makes NEW_TOKENS tokens, as the Rust benchmark's (no stop ids).
    model.generation_config.eos_token_id = None
    model.base_model.model.generation_config.eos_token_id = None
    with torch.no_grad():
        model.generate(input_ids=prompt, max_new_tokens=8, **kwargs)
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            out = model.generate(input_ids=prompt, max_new_tokens=NEW_TOKENS, **kwargs)
            times.append(time.perf_counter() - t0)
    new = out[0, PROMPT:].tolist()
    if len(new) != NEW_TOKENS:
        raise SystemExit(f"generated {len(new)} tokens, not {NEW_TOKENS}")
    gen_s = statistics.median(times)
    digest = hashlib.sha256(",".join(map(str, new)).encode()).hexdigest()
    print(
        f"peft_train_step/generate: {NEW_TOKENS} new tokens after {PROMPT}, greedy, batch 1, KV cache: "
        f"{NEW_TOKENS / gen_s:.1f} tokens/s with LoRA unmerged ({gen_s:.3f} s); tokens sha256 {digest}; "
        f"peak RSS {peak_rss_mb():.0f} MB"
    )


if __name__ == "__main__":
    main()
