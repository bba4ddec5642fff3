#!/usr/bin/env python3
"""Check a `mh-train dev tiny-model` directory against Hugging Face `transformers`.

1. `AutoTokenizer.from_pretrained(DIR)` loads it; `apply_chat_template` renders ChatML and, with
   `add_generation_prompt=True, tokenize=True`, gives ids that decode back to the text.
2. `AutoModelForCausalLM.from_pretrained(DIR)` loads it as the class `config.json` names, with no
   tensor missing, unexpected or mis-shaped, the vocabulary equal to the tokenizer's, and eos /
   bos / pad ids equal to the tokenizer's ids of the chat template's end-of-turn token
   (`<|im_end|>`) and `<|endoftext|>`.
3. `GenerationConfig.from_pretrained(DIR)` reads generation_config.json, and `model.generate`
   on the chat prompt runs with it (sampling, seeded) and greedily; generated ids stay in the
   vocabulary and a stop, if any, is at the end-of-turn id.

Not part of CI (it needs torch and transformers). Usage:
    cp -r datasets/demo-profile /tmp/demo
    cargo run -p mh-cli -- --profile /tmp/demo dev tiny-model --out /tmp/tiny-model [--arch llama]
    ~/.venvs/mhfix/bin/python scripts/check_tiny_model.py /tmp/tiny-model
Exit status 0 when everything agrees, 1 with the first disagreement otherwise.
"""
import argparse
import json
import sys
from pathlib import Path


def fail(msg):
    print(f"check_tiny_model: FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model_dir", type=Path)
    args = ap.parse_args()
    d = args.model_dir

    import torch
    import transformers
    from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig

    config = json.loads((d / "config.json").read_text())
    tok = AutoTokenizer.from_pretrained(str(d))
    print(f"transformers {transformers.__version__}: tokenizer {type(tok).__name__}, "
          f"vocab {len(tok)}")
    messages = [
        {"role": "system", "content": "You are Nell."},
        {"role": "user", "content": "How's the piano?"},
    ]
    text = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    want = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
    want += "<|im_start|>assistant\n"
    if text != want:
        fail(f"chat template rendered {text!r}")
    ids = tok.apply_chat_template(messages, tokenize=True, add_generation_prompt=True,
                                  return_dict=True)["input_ids"]
    ids = list(ids)
    if tok.decode(ids) != text:
        fail("decode(apply_chat_template(tokenize=True)) != the rendered text")
    print(f"tokenizer: chat template ok ({len(ids)} prompt tokens)")

    model, info = AutoModelForCausalLM.from_pretrained(
        str(d), dtype=torch.float32, output_loading_info=True)
    problems = {k: v for k, v in info.items() if v}
    if problems:
        fail(f"loading info: {problems}")
    if type(model).__name__ != config["architectures"][0]:
        fail(f"loaded {type(model).__name__}, config names {config['architectures']}")
    if model.config.vocab_size != len(tok):
        fail(f"model vocab {model.config.vocab_size} != tokenizer {len(tok)}")
    im_end = tok.convert_tokens_to_ids("<|im_end|>")
    endoftext = tok.convert_tokens_to_ids("<|endoftext|>")
    if model.config.eos_token_id != im_end or tok.eos_token_id != im_end:
        fail(f"eos: config {model.config.eos_token_id}, tokenizer {tok.eos_token_id}, "
             f"<|im_end|> {im_end}")
    if model.config.bos_token_id != endoftext or tok.pad_token_id != endoftext:
        fail(f"bos {model.config.bos_token_id} / pad {tok.pad_token_id} != <|endoftext|> "
             f"{endoftext}")
    n_params = sum(p.numel() for p in model.parameters())
    print(f"model: {type(model).__name__}, {n_params} parameters, loaded with nothing missing")

    gc = GenerationConfig.from_pretrained(str(d))
    eos = gc.eos_token_id if isinstance(gc.eos_token_id, list) else [gc.eos_token_id]
    if eos != [im_end] or gc.pad_token_id != endoftext or not gc.do_sample:
        fail(f"generation config: {gc}")
    if model.generation_config.eos_token_id != gc.eos_token_id:
        fail("the model did not pick up generation_config.json")
    prompt = torch.tensor([ids])
    torch.manual_seed(0)
    with torch.no_grad():
        sampled = model.generate(prompt, max_new_tokens=16)[0, len(ids):].tolist()
        greedy = model.generate(prompt, max_new_tokens=16, do_sample=False)[0, len(ids):].tolist()
    for name, out in [("sampled", sampled), ("greedy", greedy)]:
        if not out or any(t >= len(tok) for t in out):
            fail(f"{name} generation gave {out}")
        if im_end in out and out.index(im_end) != len(out) - 1:
            fail(f"{name} generation went on after <|im_end|>: {out}")
        print(f"generate ({name}): {out} -> {tok.decode(out)!r}")
    print("tiny model: ok")


if __name__ == "__main__":
    main()
