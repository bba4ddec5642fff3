#!/usr/bin/env python3
"""Baseline for benches/benches/template_tokenize.rs: the same render + tokenize + assistant
mask with Hugging Face `transformers`.

Input: the tiny tokenizer directory and the conversations JSONL that the Rust benchmark writes
(`cargo bench -p mh-bench --bench template_tokenize` prints both paths; they live under
<target>/bench-inputs/template-tokenize/).

What is timed, per conversation, single-threaded (apply_chat_template takes one conversation
at a time and its assistant mask is computed in Python):

    tok.apply_chat_template(messages, tokenize=True, return_dict=True,
                            return_assistant_tokens_mask=True, chat_template=CHATML_GENERATION)

with `tok = PreTrainedTokenizerFast(tokenizer_file=".../tokenizer.json")` (the same Rust
`tokenizers` library underneath). return_assistant_tokens_mask needs `{% generation %}` tags,
which plain ChatML lacks, so CHATML_GENERATION is ChatML with each assistant content and its
<|im_end|> in a generation block: it renders the same text (checked below), and the mask marks
the same span mh-train labels. Labels are then `id if mask else -100`, first token -100
(mh-train's rule), and the digest over `ids;labels\\n` per conversation must equal the one the
Rust benchmark prints.

Usage:
    pip install transformers        # torch is not needed
    python3 scripts/baselines/hf_apply_chat_template.py TOKENIZER_DIR CONVERSATIONS.jsonl [--limit N]
"""
import argparse
import hashlib
import json
import time
from pathlib import Path

CHATML_GENERATION = (
    "{% for message in messages %}"
    "{{'<|im_start|>' + message['role'] + '\n'}}"
    "{% if message['role'] == 'assistant' %}"
    "{% generation %}{{ message['content'] + '<|im_end|>' }}{% endgeneration %}{{ '\n' }}"
    "{% else %}{{ message['content'] + '<|im_end|>' + '\n' }}{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("tokenizer_dir", type=Path)
    ap.add_argument("conversations", type=Path)
    ap.add_argument("--limit", type=int, default=None)
    args = ap.parse_args()

    import transformers
    from transformers import PreTrainedTokenizerFast

    tok = PreTrainedTokenizerFast(tokenizer_file=str(args.tokenizer_dir / "tokenizer.json"),
                                  eos_token="<|im_end|>", pad_token="<|endoftext|>")
    plain = json.loads((args.tokenizer_dir / "tokenizer_config.json").read_text())["chat_template"]
    convs = [json.loads(l) for l in args.conversations.read_text().splitlines() if l]
    if args.limit:
        convs = convs[: args.limit]
    a = tok.apply_chat_template(convs[0], tokenize=False, chat_template=plain)
    b = tok.apply_chat_template(convs[0], tokenize=False, chat_template=CHATML_GENERATION)
    assert a == b, "the generation-tagged template renders differently"

    # Warm-up (template compilation is cached by transformers).
    for c in convs[:100]:
        tok.apply_chat_template(c, tokenize=True, return_dict=True,
                                return_assistant_tokens_mask=True,
                                chat_template=CHATML_GENERATION)
    start = time.perf_counter()
    outs = []
    for c in convs:
        outs.append(tok.apply_chat_template(c, tokenize=True, return_dict=True,
                                            return_assistant_tokens_mask=True,
                                            chat_template=CHATML_GENERATION))
    elapsed = time.perf_counter() - start

    tokens = sum(len(o["input_ids"]) for o in outs)
    h = hashlib.sha256()
    for o in outs:
        ids = list(o["input_ids"])
        labels = [i if m else -100 for i, m in zip(ids, o["assistant_masks"])]
        labels[0] = -100
        h.update(f"{','.join(map(str, ids))};{','.join(map(str, labels))}\n".encode())
    print(f"hf_apply_chat_template (transformers {transformers.__version__}, 1 thread): "
          f"{len(convs)} conversations in {elapsed:.2f} s, {len(convs) / elapsed:.0f} "
          f"conversations/s, {tokens / elapsed:.0f} tokens/s")
    print(f"digest of input_ids+labels: {h.hexdigest()}")


if __name__ == "__main__":
    main()
