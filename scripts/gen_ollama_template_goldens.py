#!/usr/bin/env python3
"""Golden prompts for mh-ollama's Go templates: Ollama's rendering vs. the training template's.

mh-ollama registers a fine-tuned model with an explicit Ollama (Go `text/template`) template
chosen from the Jinja chat template it was trained with. The prompt Ollama builds for a chat must
be the prompt training rendered. This script checks that with the two reference implementations:

  * the Jinja side: `transformers`' `apply_chat_template(..., add_generation_prompt=True,
    tokenize=False)` on the real templates kept in crates/mh-dataset/tests/fixtures/templates/
    (their sha256 is checked against that directory's manifest.json), set up exactly as
    scripts/gen_template_goldens.py does (pinned strftime_now, special tokens); plus Meta's
    Llama-3-8B-Instruct template (3.0, no dated system header), given literally below;
  * the Ollama side: Go's own `text/template`, run by scripts/ollama-template-render/main.go
    with the semantics of Ollama's chat handler (model SYSTEM injected when the conversation has
    no system message, messages collated, `.System`/`.Messages`/`.Think`/`.IsThinkSet`).

The Go templates are read from crates/mh-ollama/src/template.rs (the `const NAME: &str = r#"…"#`
items), with the same substitutions the Rust code makes for Llama 3.1+ (knowledge line, date).
For each template and conversation it writes both prompts (BOS removed from the Jinja one:
llama.cpp adds it when tokenizing) to

    crates/mh-ollama/tests/fixtures/template-goldens.json

and exits 1 if any pair differs. The Rust tests then check that mh-ollama picks, for each Jinja
template, exactly the Go template recorded here, and that the recorded prompts are equal.

Conversations are inference prompts (they end with a user turn) with contents that have no
leading/trailing whitespace (Llama 3 and Gemma trim contents in Jinja; Go templates cannot).
Gemma 2's template refuses a system message; there the Jinja reference is the conversation with
the system prompt put before the first user message plus a blank line (Gemma 3's convention,
which the Go template follows).

Usage:
    apt-get install golang-go                            # Go >= 1.18 (text/template break/continue)
    ~/.venvs/mhfix/bin/python scripts/gen_ollama_template_goldens.py          # (re)write
    ~/.venvs/mhfix/bin/python scripts/gen_ollama_template_goldens.py --check  # verify only
"""
import argparse
import copy
import json
import re
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gen_template_goldens as g  # noqa: E402  (same directory)

REPO = g.REPO
OUT = REPO / "crates" / "mh-ollama" / "tests" / "fixtures" / "template-goldens.json"
TEMPLATE_RS = REPO / "crates" / "mh-ollama" / "src" / "template.rs"
RENDERER = REPO / "scripts" / "ollama-template-render" / "main.go"

# meta-llama/Meta-Llama-3-8B-Instruct tokenizer_config.json chat_template (Llama 3.0). The repo
# is gated; this is the text as reproduced verbatim in many public training scripts (e.g. the
# `tokenizer.chat_template = "{% set loop_messages = messages %}…"` lines found by the code
# search), with Jinja's "\n" escapes inside the string literals.
LLAMA3_0 = (
    "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = "
    "'<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | "
    "trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}"
    "{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ "
    "'<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}"
)

# Jinja template -> (Go template const in template.rs, family name, date_string option, default
# system prompt the Rust side must find, whether the template refuses system messages).
PLAN = {
    "chatml": ("CHATML", "chatml", None, None, False),
    "smollm2-instruct": ("CHATML", "chatml", None,
                         "You are a helpful AI assistant named SmolLM, trained by Hugging Face",
                         False),
    "qwen2.5-instruct": ("CHATML", "chatml", None,
                         "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.",
                         False),
    "qwen3": ("QWEN3", "qwen3", None, None, False),
    "llama-3.0-instruct": ("LLAMA3", "llama3", None, None, False),
    "llama-3.1-instruct": ("LLAMA3_DATED", "llama3", None, None, False),
    # 3.2 takes today's date from the clock: the date the training set was rendered with is
    # passed (here the pinned strftime_now date of the reference rendering).
    "llama-3.2-instruct": ("LLAMA3_DATED", "llama3", g.FIXED_NOW.strftime("%d %b %Y"), None,
                           False),
    "mistral-7b-instruct-v0.3": ("MISTRAL", "mistral", None, None, False),
    "gemma-2-it": ("GEMMA", "gemma", None, None, True),
    "phi-3.5-mini-instruct": ("PHI3", "phi3", None, None, False),
}

PERSONA = ("You are Nell Ashcombe's digital personality extension. Speak naturally in first "
           "person as Nell.\nKeep answers short; say \"I don't know\" when unsure.")
CONVERSATIONS = [
    # (case id, messages, model SYSTEM sent to Ollama (None = the template's default), think)
    ("system-user", [
        {"role": "system", "content": PERSONA},
        {"role": "user", "content": "What did you tune today? Était-ce le Steinway?"},
    ], None, None),
    ("persona-from-modelfile", [
        {"role": "user", "content": "Tell me about the lake in winter."},
    ], PERSONA, None),
    ("user-only", [
        {"role": "user", "content": "Hi!"},
    ], None, None),
    ("multi-turn", [
        {"role": "system", "content": PERSONA},
        {"role": "user", "content": "Where do you work?"},
        {"role": "assistant", "content": "Mostly in Duluth churches,\nsome schools."},
        {"role": "user", "content": "And on weekends? Use \"quotes\" <b>here</b> & {{ braces }}."},
    ], None, None),
    ("multi-turn-no-system", [
        {"role": "user", "content": "First question."},
        {"role": "assistant", "content": "First answer."},
        {"role": "user", "content": "Second question."},
    ], None, None),
]
THINK_OFF = ("thinking-off", [
    {"role": "system", "content": PERSONA},
    {"role": "user", "content": "Quick one: coffee or tea?"},
], None, False)


def go_consts():
    src = TEMPLATE_RS.read_text(encoding="utf-8")
    consts = dict(re.findall(r'const ([A-Z0-9_]+): &str = r#"(.*?)"#;', src, flags=re.S))
    if not consts:
        raise SystemExit(f"{TEMPLATE_RS}: no Go template consts found")
    return consts


def knowledge_line(jinja):
    m = re.search(r"Cutting Knowledge Date:[^\\\n\"']*", jinja)
    if not m:
        raise SystemExit("no Cutting Knowledge Date line")
    return m.group(0)


def default_date(jinja):
    m = re.search(r"set date_string = \"([^\"]*)\"", jinja)
    return m.group(1) if m else None


def jinja_templates():
    manifest = json.loads((g.FIXTURES / "manifest.json").read_text(encoding="utf-8"))
    by_name = {t["name"]: t for t in manifest["templates"]}
    out = []
    for name in PLAN:
        if name == "llama-3.0-instruct":
            out.append((name, LLAMA3_0, {"bos_token": "<|begin_of_text|>",
                                         "eos_token": "<|eot_id|>"},
                        "meta-llama/Meta-Llama-3-8B-Instruct (literal in this script)"))
            continue
        t = by_name[name]
        raw = (g.FIXTURES / t["file"]).read_bytes()
        digest = g.hashlib.sha256(raw).hexdigest()
        if digest != t["sha256"]:
            raise SystemExit(f"{t['file']}: sha256 {digest} != manifest {t['sha256']}")
        out.append((name, raw.decode("utf-8"), t["template_vars"],
                    f"crates/mh-dataset/tests/fixtures/templates/{t['file']} ({t['model']})"))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true", help="compare with the file on disk")
    args = ap.parse_args()

    versions = g._setup_transformers()
    import jinja2

    consts = go_consts()
    templates, go_templates, cases = [], {}, []
    for name, jinja, special, source in jinja_templates():
        const, family, date, default_system, no_system = PLAN[name]
        text = consts[const]
        if const == "LLAMA3_DATED":
            date_used = date or default_date(jinja)
            text = text.replace("@@KNOWLEDGE@@", knowledge_line(jinja)).replace("@@TODAY@@",
                                                                               date_used)
        go_templates[name] = text
        tok = g._tokenizer({k: special.get(k) for k in
                            ("bos_token", "eos_token", "unk_token", "pad_token")})
        bos = special.get("bos_token")
        entry_cases = []
        convs = CONVERSATIONS + ([THINK_OFF] if family == "qwen3" else [])
        for case, messages, model_system, think in convs:
            model_system = model_system if model_system is not None else (default_system or "")
            # The conversation the model sees: Ollama injects the model's SYSTEM when the first
            # message is not a system message. When that SYSTEM is the template's own default,
            # the Jinja side is left to insert it by itself (which checks the extracted text).
            seen = copy.deepcopy(messages)
            if (model_system and seen[0]["role"] != "system"
                    and model_system != default_system):
                seen.insert(0, {"role": "system", "content": model_system})
            reference = seen
            note = None
            if no_system and seen[0]["role"] == "system":
                sys_msg, rest = seen[0], copy.deepcopy(seen[1:])
                rest[0]["content"] = sys_msg["content"] + "\n\n" + rest[0]["content"]
                reference = rest
                note = "system prompt put before the first user message (Gemma 3 convention)"
            extra = {} if think is None else {"enable_thinking": think}
            try:
                prompt = tok.apply_chat_template(copy.deepcopy(reference), chat_template=jinja,
                                                 add_generation_prompt=True, tokenize=False,
                                                 **extra)
            except jinja2.exceptions.TemplateError as e:
                raise SystemExit(f"{name}/{case}: {e}")
            if bos and "bos_token" in jinja and prompt.startswith(bos):
                prompt = prompt[len(bos):]
            entry = {"case": case, "messages": messages, "model_system": model_system,
                     "think": think, "jinja": prompt}
            if note:
                entry["note"] = note
            entry_cases.append(entry)
            cases.append({"template": name, "model_system": model_system, "messages": messages,
                          "think": think})
        templates.append({"name": name, "source": source, "chat_template": jinja,
                          "family": family, "date_string": date,
                          "default_system": default_system, "go_template": text,
                          "stop_note": "stop tokens are checked by family in the Rust tests",
                          "cases": entry_cases})

    go_version = subprocess.run(["go", "version"], capture_output=True, text=True,
                                check=True).stdout.strip()
    rendered = subprocess.run(["go", "run", str(RENDERER)],
                              input=json.dumps({"templates": go_templates, "cases": cases}),
                              capture_output=True, text=True, check=True)
    outputs = iter(json.loads(rendered.stdout))
    bad = []
    for t in templates:
        for c in t["cases"]:
            r = next(outputs)
            if "error" in r:
                raise SystemExit(f"{t['name']}/{c['case']}: Go template error: {r['error']}")
            c["ollama"] = r["output"]
            if c["ollama"] != c["jinja"]:
                bad.append(f"{t['name']}/{c['case']}:\n  jinja : {c['jinja']!r}\n"
                           f"  ollama: {c['ollama']!r}")

    doc = {
        "generated_by": "scripts/gen_ollama_template_goldens.py",
        "reference": {
            "jinja": "transformers apply_chat_template(messages, add_generation_prompt=True, "
                     "tokenize=False), BOS removed",
            "ollama": "Go text/template via scripts/ollama-template-render/main.go (Ollama's "
                      "chat handler semantics)",
            "versions": {**versions, "go": go_version},
        },
        "templates": templates,
    }
    text = json.dumps(doc, ensure_ascii=False, indent=2) + "\n"
    if bad:
        print("Ollama and Jinja prompts differ:\n" + "\n".join(bad), file=sys.stderr)
        sys.exit(1)
    if args.check:
        same = OUT.exists() and OUT.read_text(encoding="utf-8") == text
        if not same:
            print(f"out of date: {OUT.relative_to(REPO)}", file=sys.stderr)
        sys.exit(0 if same else 1)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text, encoding="utf-8", newline="\n")
    n = sum(len(t["cases"]) for t in templates)
    print(f"{len(templates)} templates, {n} prompts, all equal -> {OUT.relative_to(REPO)}")


if __name__ == "__main__":
    main()
