#!/usr/bin/env python3
"""Check the tiny tokenizer and the tokenized export against Hugging Face `transformers`.

1. `AutoTokenizer.from_pretrained(TOKENIZER_DIR)` loads what `mh-train dev tokenizer` wrote:
   the special tokens sit at ids 0-2, eos/pad/bos are as configured, the chat template renders
   ChatML, and encoding round-trips.
2. With `--dataset DIR` (a `dataset build --model TOKENIZER_DIR` output, built without
   `--pack`): every line of train.tokens.jsonl / eval.tokens.jsonl equals what transformers
   computes from the same line of train.jsonl / eval.jsonl:
     input_ids == apply_chat_template(messages, tokenize=True)
     labels    == input_ids where return_assistant_tokens_mask is 1, else -100, with the
                  first token always -100 (mh-train's rule: nothing precedes it).
   return_assistant_tokens_mask needs {% generation %} tags, which the plain ChatML template
   lacks, so the labels are computed with CHATML_GENERATION below: the same template with the
   assistant content and its <|im_end|> wrapped in a generation block. The script first checks
   that it renders byte-identical text to the tokenizer's own template.

Not part of CI (it needs transformers). Usage:
    pip install transformers          # torch is not needed
    cp -r datasets/demo-profile /tmp/demo     # dataset build appends to the profile's audit log
    cargo run -p mh-cli -- --profile /tmp/demo dev tokenizer --out /tmp/tiny
    cargo run -p mh-cli -- --profile /tmp/demo dataset build --out /tmp/ds --model /tmp/tiny
    python3 scripts/check_tiny_tokenizer.py /tmp/tiny --dataset /tmp/ds
Exit status 0 when everything agrees, 1 with the first disagreement otherwise.
"""
import argparse
import json
import sys
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


def fail(msg):
    print(f"check_tiny_tokenizer: FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def check_tokenizer(tok_dir):
    import transformers
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(tok_dir))
    print(f"transformers {transformers.__version__}: loaded {type(tok).__name__}, "
          f"vocab {len(tok)}")
    for i, t in enumerate(["<|endoftext|>", "<|im_start|>", "<|im_end|>"]):
        if tok.convert_tokens_to_ids(t) != i:
            fail(f"{t} is id {tok.convert_tokens_to_ids(t)}, expected {i}")
    if tok.eos_token != "<|im_end|>" or tok.pad_token != "<|endoftext|>" or tok.bos_token:
        fail(f"eos {tok.eos_token!r} pad {tok.pad_token!r} bos {tok.bos_token!r}")
    messages = [
        {"role": "system", "content": "You are Nell."},
        {"role": "user", "content": "How's the piano?"},
        {"role": "assistant", "content": "Flat again — 28 below does that. Ça va."},
    ]
    text = tok.apply_chat_template(messages, tokenize=False)
    want = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
    if text != want:
        fail(f"chat template rendered {text!r}")
    ids = tok(text, add_special_tokens=False)["input_ids"]
    if tok.decode(ids) != text:
        fail("decode(encode(text)) != text")
    if ids.count(1) != 3 or ids.count(2) != 3:
        fail("special tokens are not single tokens")
    print("tokenizer: ok")
    return tok


def check_dataset(tok, ds_dir):
    manifest = json.loads((ds_dir / "tokenized.json").read_text())
    if manifest["packing"]["enabled"]:
        fail("build the dataset without --pack for this check")
    gen_text_checked = False
    total = 0
    for split in ["train", "eval"]:
        chats = [json.loads(l) for l in (ds_dir / f"{split}.jsonl").read_text().splitlines() if l]
        rows = [json.loads(l) for l in (ds_dir / f"{split}.tokens.jsonl").read_text().splitlines()
                if l]
        if sum(manifest[split]["dropped"].values()) or len(chats) != len(rows):
            fail(f"{split}: {len(chats)} samples but {len(rows)} token rows (samples were "
                 "dropped; rebuild with a larger --max-seq-length)")
        for n, (chat, row) in enumerate(zip(chats, rows), 1):
            messages = chat["messages"]
            if not gen_text_checked:
                a = tok.apply_chat_template(messages, tokenize=False)
                b = tok.apply_chat_template(messages, tokenize=False,
                                            chat_template=CHATML_GENERATION)
                if a != b:
                    fail("the generation-tagged ChatML renders differently")
                gen_text_checked = True
            out = tok.apply_chat_template(messages, tokenize=True, return_dict=True,
                                          return_assistant_tokens_mask=True,
                                          chat_template=CHATML_GENERATION)
            ids = list(out["input_ids"])
            if ids != row["input_ids"]:
                fail(f"{split}.tokens.jsonl:{n}: input_ids differ from apply_chat_template")
            labels = [i if m else -100 for i, m in zip(ids, out["assistant_masks"])]
            labels[0] = -100
            if labels != row["labels"]:
                diff = [k for k, (x, y) in enumerate(zip(labels, row["labels"])) if x != y]
                fail(f"{split}.tokens.jsonl:{n}: labels differ at positions {diff[:10]}")
            if row["lengths"] != [len(ids)]:
                fail(f"{split}.tokens.jsonl:{n}: lengths {row['lengths']}")
            total += 1
    print(f"dataset: {total} samples, input_ids and labels identical to transformers")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("tokenizer_dir", type=Path)
    ap.add_argument("--dataset", type=Path, help="a `dataset build --model` output directory")
    args = ap.parse_args()
    tok = check_tokenizer(args.tokenizer_dir)
    if args.dataset:
        check_dataset(tok, args.dataset)


if __name__ == "__main__":
    main()
