#!/usr/bin/env python3
"""Golden outputs of real models' chat templates, rendered by Hugging Face `transformers`.

The Rust side (mh-dataset) renders a base model's own Jinja chat template with minijinja and
must produce exactly what `transformers`' `apply_chat_template(..., tokenize=False)` produces.
This script is the reference: for every template in TEMPLATES it renders a fixed set of
conversations through `transformers` itself (not a re-implementation of its Jinja environment)
and writes

    crates/mh-dataset/tests/fixtures/templates/manifest.json   templates, sources, tokens, cases
    crates/mh-dataset/tests/fixtures/templates/goldens.json    one entry per (template, case)

The `<name>.jinja` files next to them are the templates' exact text (obtained once from the
sources cited in TEMPLATES; this script never touches the network) and are read, not written,
here: their sha256 is checked against the value recorded below so an editor that adds a final
newline or converts line endings is caught.

Determinism: `strftime_now` is pinned to FIXED_NOW (by replacing the `datetime` class that
transformers' `strftime_now` global calls), LC_TIME is "C", every input is a literal below, and
the JSON is written with a fixed key order. Re-running gives identical bytes; `--check` renders
in memory and exits 1 if the files on disk differ.

Usage:
    pip install jinja2 transformers        # torch is not needed
    python3 scripts/gen_template_goldens.py            # (re)write manifest.json + goldens.json
    python3 scripts/gen_template_goldens.py --check    # verify, write nothing
"""
import argparse
import copy
import datetime as _dt
import hashlib
import json
import locale
import logging
import os
import platform
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "crates" / "mh-dataset" / "tests" / "fixtures" / "templates"

# What `strftime_now(fmt)` returns `FIXED_NOW.strftime(fmt)` for. Deliberately NOT 26 Jul 2024:
# that is the Llama templates' hard-coded fallback date, so a renderer that lacks strftime_now
# would still match; with this date it cannot.
FIXED_NOW = _dt.datetime(2025, 3, 14, 9, 26, 53)

LLAMA_CPP = "ye-NX/llama.cpp"  # a fork of ggml-org/llama.cpp that the search tool could mirror
LLAMA_CPP_COMMIT = "1eeb523c3e0c7ffbd59469f5463dcbdecba3535e"  # 2025-09-21, = upstream master then
LLAMA_CPP_NOTE = (
    "llama.cpp's models/templates/*.jinja are written by its scripts/get_chat_template.py, which "
    "downloads the model's tokenizer_config.json from the Hugging Face hub and writes "
    "config['chat_template'] with sys.stdout.write (byte-exact, no added newline). The file was "
    "added upstream in ggml-org/llama.cpp commit 8b576b6c55bc4e6be898b47522f0ef402b93ef62 "
    "(2025-01-30, PR #9639) and is unchanged at the cited commit."
)
DRIFT = "s1mar/chat-template-drift"  # per-model history of tokenizer_config.json chat_template
DRIFT_COMMIT = "6dee80f6ffd401d97cb431f12d03940139c76de1"
XINF = "xorbitsai/inference"
XINF_COMMIT = "7ecec16b63383e18e4af790c4b522fb7d79f7e77"
XINF_PATH = "xinference/model/llm/llm_family.json"

# ---------------------------------------------------------------------------------------------
# Templates. `special_tokens` are the named special tokens of the model's tokenizer_config.json
# (None = absent/null there); transformers passes the non-null ones to the template as variables.
# ---------------------------------------------------------------------------------------------
TEMPLATES = [
    {
        "name": "chatml",
        "model": "HuggingFaceTB/SmolLM2-135M-Instruct (first revision)",
        "description": "Plain ChatML, no default system prompt: the standard template of "
        "SmolLM2-*-Instruct's first revision and of teknium/OpenHermes-2.5-Mistral-7B.",
        "sha256": "153280e3ff55d19da1398bdb3914ee2a51b80429bfaedde11d7d216c39db80f3",
        "source": {
            "hf_repo": "HuggingFaceTB/SmolLM2-135M-Instruct",
            "hf_file": "tokenizer_config.json",
            "hf_revision": "e682e54cd28bfbd993ed4549dbab7aafbd3e44b7",
            "obtained_from": {"repo": DRIFT, "commit": DRIFT_COMMIT,
                              "path": "data/history/HuggingFaceTB__SmolLM2-135M-Instruct.json",
                              "field": "_templates[0].template"},
            "corroboration": [
                f"{DRIFT}@{DRIFT_COMMIT}:data/history/HuggingFaceTB__SmolLM2-1.7B-Instruct.json "
                "(revision a587c08a0ba91482b3ac0b00c8b50aad514380b8, identical, len 196)",
                f"{LLAMA_CPP}@{LLAMA_CPP_COMMIT}:tests/test-chat-template.cpp entry "
                "'teknium/OpenHermes-2.5-Mistral-7B' (same template, written there with Jinja "
                "'\\n' escapes instead of raw newlines inside the string literals; renders identically)",
            ],
            "notes": "The string literals contain raw newline characters (the JSON had \\n), "
            "not Jinja escape sequences.",
        },
        "special_tokens": {"bos_token": "<|im_start|>", "eos_token": "<|im_end|>",
                           "unk_token": "<|endoftext|>", "pad_token": "<|im_end|>"},
        "special_tokens_provenance": "bos/eos as recorded by the drift dataset for this revision; "
        "unk/pad from the model's tokenizer_config.json as remembered, not re-checked here "
        "(the template uses neither).",
        "supports_tools": False,
    },
    {
        "name": "smollm2-instruct",
        "model": "HuggingFaceTB/SmolLM2-135M-Instruct",
        "description": "ChatML with a default system prompt inserted when the first message is "
        "not a system message (current SmolLM2-135M/360M/1.7B-Instruct template).",
        "sha256": "872be49dbb638044ad01b60388f48d469ff2980e5f0dccdc22ec907db54d0788",
        "source": {
            "hf_repo": "HuggingFaceTB/SmolLM2-135M-Instruct",
            "hf_file": "tokenizer_config.json",
            "hf_revision": "eba0825ddc7730d24a88685a6c0a078cf919b383",
            "obtained_from": {"repo": DRIFT, "commit": DRIFT_COMMIT,
                              "path": "data/history/HuggingFaceTB__SmolLM2-135M-Instruct.json",
                              "field": "_templates[1].template"},
            "corroboration": [
                f"{DRIFT}@{DRIFT_COMMIT}:data/history/HuggingFaceTB__SmolLM2-1.7B-Instruct.json "
                "(revision e4f7834c8f5129fc1c8008284905e431cb1bfc40, identical, len 368); the drift "
                "data lists no later template change up to the repo's last commit (2025-09-22)",
            ],
        },
        "special_tokens": {"bos_token": "<|im_start|>", "eos_token": "<|im_end|>",
                           "unk_token": "<|endoftext|>", "pad_token": "<|im_end|>"},
        "special_tokens_provenance": "bos/eos as recorded by the drift dataset; unk/pad from the "
        "model's tokenizer_config.json as remembered, not re-checked here (the template uses neither).",
        "supports_tools": False,
    },
    {
        "name": "qwen2.5-instruct",
        "model": "Qwen/Qwen2.5-7B-Instruct (same template in every Qwen2.5-*-Instruct size)",
        "sha256": "cd8e9439f0570856fd70470bf8889ebd8b5d1107207f67a5efb46e342330527f",
        "source": {
            "hf_repo": "Qwen/Qwen2.5-7B-Instruct",
            "hf_file": "tokenizer_config.json",
            "obtained_from": {"repo": LLAMA_CPP, "commit": LLAMA_CPP_COMMIT,
                              "path": "models/templates/Qwen-Qwen2.5-7B-Instruct.jinja"},
            "notes": LLAMA_CPP_NOTE,
            "corroboration": [
                f"{DRIFT}@{DRIFT_COMMIT}:data/history/Qwen__Qwen2.5-0.5B-Instruct.json: latest "
                "revision a8b602d9dafd3a75d382e62757d83d89fca3be54 (2024-09-19) has a template of the "
                "same length (2507)",
                f"{XINF}@{XINF_COMMIT}:{XINF_PATH} 'qwen2.5-instruct'.chat_template: byte-identical",
            ],
        },
        "special_tokens": {"bos_token": None, "eos_token": "<|im_end|>", "unk_token": None,
                           "pad_token": "<|endoftext|>"},
        "special_tokens_provenance": "bos null / eos as recorded by the drift dataset; pad/unk "
        "from the model's tokenizer_config.json as remembered (the template uses none of them).",
        "supports_tools": True,
    },
    {
        "name": "qwen3",
        "model": "Qwen/Qwen3-0.6B (same template in the Qwen3 hybrid-thinking models)",
        "sha256": "a55ee1b1660128b7098723e0abcd92caa0788061051c62d51cbe87d9cf1974d8",
        "source": {
            "hf_repo": "Qwen/Qwen3-0.6B",
            "hf_file": "tokenizer_config.json",
            "hf_revision": "7e4ae267688d671ddfca3122e4528ee980cf3234",
            "hf_revision_date": "2025-05-19",
            "obtained_from": {"repo": DRIFT, "commit": DRIFT_COMMIT,
                              "path": "data/history/Qwen__Qwen3-0.6B.json",
                              "field": "_templates[1].template"},
            "corroboration": [
                "Cross-checked by rebuilding it from the previous revision (167b8104f889, "
                f"len 4116; = {LLAMA_CPP}@{LLAMA_CPP_COMMIT}:models/templates/Qwen-Qwen3-0.6B.jinja "
                f"and = {XINF}@{XINF_COMMIT}:{XINF_PATH} 'qwen3') with the seven edits of the "
                "2025-05-19 'update tokenizer_config.json' commit: identical, len 4168",
            ],
            "notes": "llama.cpp and Xinference still carry the older (2025-04-28) revision; this "
            "is the current one, which guards `message.content is string`.",
        },
        "special_tokens": {"bos_token": None, "eos_token": "<|im_end|>", "unk_token": None,
                           "pad_token": "<|endoftext|>"},
        "special_tokens_provenance": "bos null / eos as recorded by the drift dataset; pad/unk "
        "from the model's tokenizer_config.json (as also printed in akougkas/warpio-cli "
        "warpio-docs/ai-docs/model_cards/qwen3:4b.md for Qwen3-4B).",
        "supports_tools": True,
    },
    {
        "name": "llama-3.1-instruct",
        "model": "meta-llama/Llama-3.1-8B-Instruct",
        "sha256": "e10ca381b1ccc5cf9db52e371f3b6651576caee0a630b452e2816b2d404d4b65",
        "source": {
            "hf_repo": "meta-llama/Llama-3.1-8B-Instruct",
            "hf_file": "tokenizer_config.json",
            "obtained_from": {"repo": LLAMA_CPP, "commit": LLAMA_CPP_COMMIT,
                              "path": "models/templates/meta-llama-Llama-3.1-8B-Instruct.jinja"},
            "notes": LLAMA_CPP_NOTE + " The repo is gated, so the drift dataset has no copy.",
            "corroboration": [
                f"{XINF}@{XINF_COMMIT}:{XINF_PATH} 'llama-3.1-instruct'.chat_template: byte-identical",
            ],
        },
        "special_tokens": {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>",
                           "unk_token": None, "pad_token": None},
        "special_tokens_provenance": "from the model's tokenizer_config.json as remembered "
        "(bos <|begin_of_text|>, eos <|eot_id|>, no unk/pad); not re-checked here (gated repo).",
        "supports_tools": True,
    },
    {
        "name": "llama-3.2-instruct",
        "model": "meta-llama/Llama-3.2-3B-Instruct",
        "description": "Added beyond the required set: the one template here that calls strftime_now.",
        "sha256": "5816fce10444e03c2e9ee1ef8a4a1ea61ae7e69e438613f3b17b69d0426223a4",
        "source": {
            "hf_repo": "meta-llama/Llama-3.2-3B-Instruct",
            "hf_file": "tokenizer_config.json",
            "obtained_from": {"repo": LLAMA_CPP, "commit": LLAMA_CPP_COMMIT,
                              "path": "models/templates/meta-llama-Llama-3.2-3B-Instruct.jinja"},
            "notes": LLAMA_CPP_NOTE,
        },
        "special_tokens": {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>",
                           "unk_token": None, "pad_token": None},
        "special_tokens_provenance": "from the model's tokenizer_config.json as remembered; "
        "not re-checked here (gated repo).",
        "supports_tools": True,
    },
    {
        "name": "mistral-7b-instruct-v0.3",
        "model": "mistralai/Mistral-7B-Instruct-v0.3",
        "sha256": "e16746b40344d6c5b5265988e0328a0bf7277be86f1c335156eae07e29c82826",
        "source": {
            "hf_repo": "mistralai/Mistral-7B-Instruct-v0.3",
            "hf_file": "tokenizer_config.json",
            "obtained_from": {"repo": LLAMA_CPP, "commit": LLAMA_CPP_COMMIT,
                              "path": "tests/test-chat-template.cpp",
                              "field": "test case \"Mistral-Large-Instruct-2407 (mistralai 'v3' "
                                       "template; ...)\" .template_str (C string literal, decoded)"},
            "corroboration": [
                f"{XINF}@{XINF_COMMIT}:{XINF_PATH} 'mistral-instruct-v0.3'.chat_template (model_id "
                "mistralai/Mistral-7B-Instruct-v0.3): identical after undoing Xinference's edits "
                "(bos_token -> '<s>', eos_token -> '</s>', and its '\\n\\n' escape decoded to raw newlines)",
                "The template string embedded in an lmstudio-community/Mistral-7B-Instruct-v0.3-GGUF "
                "preset found by the code search (GGUF tokenizer.chat_template copied from the HF "
                "config) reads the same (compared by eye, not byte for byte).",
            ],
            "notes": "No byte-exact copy of the v0.3 tokenizer_config.json itself was reachable "
            "(the HF repo is gated). The v3 template is shared by Mistral-7B-Instruct-v0.3 and "
            "Mistral-Large-Instruct-2407; the two independent copies above agree with it.",
        },
        "special_tokens": {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>",
                           "pad_token": None},
        "special_tokens_provenance": "from the model's tokenizer_config.json as remembered "
        "(pad_token null); Xinference lists </s> (id 2) as its stop token.",
        "supports_tools": True,
    },
    {
        "name": "gemma-2-it",
        "model": "google/gemma-2-2b-it (same template in gemma-2-9b-it / 27b-it)",
        "sha256": "ecd6ae513fe103f0eb62e8ab5bfa8d0fe45c1074fa398b089c93a7e70c15cfd6",
        "source": {
            "hf_repo": "google/gemma-2-2b-it",
            "hf_file": "tokenizer_config.json",
            "obtained_from": {"repo": LLAMA_CPP, "commit": LLAMA_CPP_COMMIT,
                              "path": "models/templates/google-gemma-2-2b-it.jinja"},
            "notes": LLAMA_CPP_NOTE + " The repo is gated, so the drift dataset has no copy. "
            "Its string literals contain raw newlines.",
        },
        "special_tokens": {"bos_token": "<bos>", "eos_token": "<eos>", "unk_token": "<unk>",
                           "pad_token": "<pad>"},
        "special_tokens_provenance": "from the model's tokenizer_config.json as remembered; "
        "not re-checked here (gated repo). Only bos_token is used by the template.",
        "supports_tools": False,
    },
    {
        "name": "phi-3.5-mini-instruct",
        "model": "microsoft/Phi-3.5-mini-instruct",
        "sha256": "78d976a442bcde2f0be15aafbb8e3050e1104f86732266f68403251b89982a90",
        "source": {
            "hf_repo": "microsoft/Phi-3.5-mini-instruct",
            "hf_file": "tokenizer_config.json",
            "hf_revision": "7a1ac0d6c45f7d48cada870b932a5749d587a7ea",
            "obtained_from": {"repo": LLAMA_CPP, "commit": LLAMA_CPP_COMMIT,
                              "path": "models/templates/microsoft-Phi-3.5-mini-instruct.jinja"},
            "notes": LLAMA_CPP_NOTE + " Its string literals contain raw newlines.",
            "corroboration": [
                f"{DRIFT}@{DRIFT_COMMIT}:data/history/microsoft__Phi-3.5-mini-instruct.json: the "
                "only template revision (7a1ac0d6c45f, unchanged to 2025-12-10) is byte-identical",
            ],
        },
        "special_tokens": {"bos_token": "<s>", "eos_token": "<|endoftext|>", "unk_token": "<unk>",
                           "pad_token": "<|endoftext|>"},
        "special_tokens_provenance": "bos/eos as recorded by the drift dataset; unk/pad from the "
        "model's tokenizer_config.json as remembered (the template uses only eos_token).",
        "supports_tools": False,
    },
]

# ---------------------------------------------------------------------------------------------
# Conversations
# ---------------------------------------------------------------------------------------------
SYSTEM = "You are a concise travel assistant. Answer in one or two sentences."

MULTI_TURN = [
    {"role": "user", "content": "Hi! Can you help me plan a short trip?"},
    {"role": "assistant", "content": "Of course. Where would you like to go?"},
    {"role": "user", "content": "Lisbon, for three days in May."},
    {"role": "assistant", "content": "Great choice: Alfama on day one, Belém on day two and Sintra on day three."},
    {"role": "user", "content": "What should I pack?"},
    {"role": "assistant", "content": "Light layers, comfortable shoes and a light rain jacket."},
]
FOLLOW_UP = {"role": "user", "content": "Which local dish should I try first?"}

UNICODE_USER = (
    "Héllo wörld — ça va? 😀👍🏽 你好，世界！ ½ ≠ ∞\n"
    "Literal Jinja must stay literal: {{ messages }} {% if x %} %} {# not a comment #} {%- raw -%}\n"
    "Quotes: 'single' \"double\" `back` and a backslash \\ plus \\n (two characters)."
)
UNICODE_ASSISTANT = (
    "Ça va très bien ! 日本語も大丈夫です 🎉 — the markers {{ \"x\" }}, {%, %} and #} are just text; "
    "\"quoted\" and 'quoted'."
)

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "City name, e.g. Paris"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"],
                         "description": "Temperature unit"},
            },
            "required": ["city"],
        },
    },
}
TOOLS = [WEATHER_TOOL]
TOOL_CALL_ID = "Ab3dE6gH9"  # Mistral's template insists on exactly 9 characters
TOOL_CONVERSATION = [
    {"role": "system", "content": "You are a helpful assistant with access to tools."},
    {"role": "user", "content": "What's the weather in Paris right now?"},
    {"role": "assistant", "content": None, "tool_calls": [
        {"id": TOOL_CALL_ID, "type": "function",
         "function": {"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}}},
    ]},
    {"role": "tool", "tool_call_id": TOOL_CALL_ID, "name": "get_weather",
     "content": "{\"temperature\": 18, \"condition\": \"cloudy\"}"},
    {"role": "assistant", "content": "It is 18 °C and cloudy in Paris."},
]

STRAWBERRY = "How many r's are in the word strawberry?"


def _case(case, description, messages, tools=None, add_generation_prompt=False, extra_vars=None,
          expect_error=False):
    return {"case": case, "description": description, "messages": messages, "tools": tools,
            "add_generation_prompt": add_generation_prompt, "extra_vars": extra_vars or {},
            "expect_error": expect_error}


def cases_for(t):
    name = t["name"]
    gemma = name == "gemma-2-it"
    mistral = name == "mistral-7b-instruct-v0.3"
    out = [
        _case("system_user_assistant", "(a) system + user + assistant",
              [{"role": "system", "content": SYSTEM},
               {"role": "user", "content": "What is the capital of Portugal?"},
               {"role": "assistant", "content": "The capital of Portugal is Lisbon."}],
              expect_error=gemma),
        _case("system_user_generation_prompt", "system + user, add_generation_prompt=true "
              "(the usual inference prompt)",
              [{"role": "system", "content": SYSTEM},
               {"role": "user", "content": "What is the capital of Portugal?"}],
              add_generation_prompt=True, expect_error=gemma),
        _case("user_generation_prompt", "a single user turn, add_generation_prompt=true",
              [{"role": "user", "content": "What is the capital of Portugal?"}],
              add_generation_prompt=True),
        _case("multi_turn", "(b) user/assistant x3 without a system message",
              MULTI_TURN),
        _case("multi_turn_generation_prompt", "(c) (b) plus a final user turn, "
              "add_generation_prompt=true", MULTI_TURN + [FOLLOW_UP], add_generation_prompt=True),
        _case("unicode_and_jinja_syntax", "(f) emoji, accents, CJK, literal {{ }} {% %} {# #}, "
              "quotes and backslashes in message content",
              [{"role": "user", "content": UNICODE_USER},
               {"role": "assistant", "content": UNICODE_ASSISTANT},
               {"role": "user", "content": "Merci ! 🙏 Und jetzt: „Anführungszeichen“ und ‚so‘."}],
              add_generation_prompt=True),
        _case("whitespace_edges", "content with leading/trailing spaces, tabs and newlines "
              "(shows which templates |trim / .strip() and which keep it)",
              [{"role": "user", "content": "  \n\tPadded question with inner  double  spaces?\t \n"},
               {"role": "assistant", "content": "\n\n  Padded answer.  \n"},
               {"role": "user", "content": "\u3000ideographic space and NBSP\u00a0"}],
              add_generation_prompt=True),
        _case("non_alternating_roles", "two user turns in a row (Gemma and Mistral raise)",
              [{"role": "user", "content": "First message."},
               {"role": "user", "content": "Second message in a row."},
               {"role": "assistant", "content": "Reply to both."}],
              expect_error=gemma or mistral),
    ]
    if t["supports_tools"]:
        out += [
            _case("tools_round_trip", "(d) tools=[get_weather]; system, user, assistant tool call "
                  "(content null, arguments as an object), tool result, final assistant",
                  TOOL_CONVERSATION, tools=TOOLS),
            _case("tools_generation_prompt", "tools=[get_weather]; one user turn, "
                  "add_generation_prompt=true",
                  [{"role": "user", "content": "What's the weather in Paris right now?"}],
                  tools=TOOLS, add_generation_prompt=True),
        ]
    if name == "qwen3":
        out += [
            _case("thinking_default_generation_prompt", "(e) enable_thinking not passed",
                  [{"role": "user", "content": STRAWBERRY}], add_generation_prompt=True),
            _case("thinking_enabled_generation_prompt", "(e) enable_thinking=true",
                  [{"role": "user", "content": STRAWBERRY}], add_generation_prompt=True,
                  extra_vars={"enable_thinking": True}),
            _case("thinking_disabled_generation_prompt", "(e) enable_thinking=false: an empty "
                  "<think></think> block is appended after the generation prompt",
                  [{"role": "user", "content": STRAWBERRY}], add_generation_prompt=True,
                  extra_vars={"enable_thinking": False}),
            _case("think_blocks_in_content", "(e) assistant contents carrying <think>...</think>: "
                  "the block is dropped from turns before the last user query and kept (normalised) "
                  "after it",
                  [{"role": "user", "content": STRAWBERRY},
                   {"role": "assistant", "content": "<think>\ns-t-r-a-w-b-e-r-r-y: r at 3, 8 and 9.\n</think>\n\nThere are three r's."},
                   {"role": "user", "content": "And in 'raspberry'?"},
                   {"role": "assistant", "content": "<think>\n\nr-a-s-p-b-e-r-r-y: r at 1, 7 and 8.\n\n</think>\n\n\nAlso three."}]),
            _case("think_history_thinking_disabled", "(e) history with a <think> block, new user "
                  "turn, add_generation_prompt=true, enable_thinking=false",
                  [{"role": "user", "content": STRAWBERRY},
                   {"role": "assistant", "content": "<think>\nCount them.\n</think>\n\nThere are three r's."},
                   {"role": "user", "content": "Thanks! And 'blueberry'?"}],
                  add_generation_prompt=True, extra_vars={"enable_thinking": False}),
            _case("reasoning_content_field", "(e) reasoning passed as message.reasoning_content "
                  "instead of inside content",
                  [{"role": "user", "content": STRAWBERRY},
                   {"role": "assistant", "content": "There are three r's.",
                    "reasoning_content": "s-t-r-a-w-b-e-r-r-y has an r at positions 3, 8 and 9."}]),
        ]
    if name in ("llama-3.1-instruct", "llama-3.2-instruct"):
        out += [
            _case("date_string_override", "date_string passed by the caller wins over "
                  "strftime_now / the built-in default",
                  [{"role": "user", "content": "What's the date today?"}], add_generation_prompt=True,
                  extra_vars={"date_string": "01 Jan 2030"}),
            _case("tools_in_system_message", "tools_in_user_message=false puts the tool list in "
                  "the system turn", [{"role": "user", "content": "What's the weather in Paris right now?"}],
                  tools=TOOLS, add_generation_prompt=True, extra_vars={"tools_in_user_message": False}),
            _case("multiple_tool_calls", "two tool calls in one assistant turn (template raises)",
                  [{"role": "user", "content": "Weather in Paris and in Rome?"},
                   {"role": "assistant", "tool_calls": [
                       {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris"}}},
                       {"id": "call_2", "type": "function", "function": {"name": "get_weather", "arguments": {"city": "Rome"}}}]}],
                  tools=TOOLS, expect_error=True),
        ]
    if name == "llama-3.1-instruct":
        out += [
            _case("builtin_tools_call", "builtin_tools=[brave_search, wolfram_alpha]: "
                  "<|python_tag|>name.call(...) and <|eom_id|>",
                  [{"role": "system", "content": SYSTEM},
                   {"role": "user", "content": "Search for the latest Rust release."},
                   {"role": "assistant", "tool_calls": [
                       {"type": "function", "function": {"name": "brave_search",
                                                         "arguments": {"query": "latest Rust release"}}}]},
                   {"role": "ipython", "content": "Rust 1.85.0 was released on 20 February 2025."},
                   {"role": "assistant", "content": "The latest stable release is Rust 1.85.0."}],
                  extra_vars={"builtin_tools": ["brave_search", "wolfram_alpha"]}),
        ]
    if mistral:
        out += [
            _case("tool_call_bad_id", "tool call id that is not 9 characters long (template raises)",
                  [{"role": "user", "content": "What's the weather in Paris right now?"},
                   {"role": "assistant", "tool_calls": [
                       {"id": "call_1", "type": "function",
                        "function": {"name": "get_weather", "arguments": {"city": "Paris"}}}]}],
                  tools=TOOLS, expect_error=True),
        ]
    if name == "phi-3.5-mini-instruct":
        out += [
            _case("empty_system_message", "an empty system message is skipped by the template",
                  [{"role": "system", "content": ""},
                   {"role": "user", "content": "What is the capital of Portugal?"}],
                  add_generation_prompt=True),
        ]
    return out


QUIRKS = [
    "Context: transformers renders `messages`, `tools`, `documents`, `add_generation_prompt`, "
    "the tokenizer's non-null named special tokens (bos_token, eos_token, unk_token, pad_token, ... "
    "as listed per template under template_vars) and then the caller's extra kwargs (extra_vars; "
    "they override special tokens of the same name). `tools` and `documents` are ALWAYS present, "
    "as none when not given: `tools is defined` is true and `tools is not none` is false. Pass "
    "them as none too: the templates here guard with `is defined` / `if tools`, but a template "
    "that tests `tools is not none` directly would take its tool branch on an undefined value "
    "(`undefined is not none` is true in Jinja2 and minijinja alike).",
    "Message normalisation before rendering: keys whose value is null are DROPPED from every "
    "message (so `message.content is defined` is false for {\"content\": null}); when a message "
    "has any of reasoning_content / thinking / reasoning, both `thinking` and `reasoning_content` "
    "are set to it. Goldens record the messages as given, before this normalisation.",
    "Environment: jinja2 ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, "
    "extensions=[loopcontrols, the {% generation %} tag]), default keep_trailing_newline=False. "
    "The qwen2.5 / llama / mistral files end in '%}' + newline; that newline never reaches the "
    "output (trim_blocks eats it, and keep_trailing_newline=False would drop a single final "
    "newline anyway). The .jinja files keep it: they are the exact config strings.",
    "Qwen3: when the conversation ENDS with an assistant turn after the last user query, that "
    "turn always gets a think block, an empty '<think>\\n\\n</think>\\n\\n' when it has no "
    "reasoning (see system_user_assistant, multi_turn, tools_round_trip); other assistant turns "
    "after the last query keep a block only if they have reasoning; turns before it lose theirs. "
    "enable_thinking only matters with add_generation_prompt. Mistral v0.3 puts the system message into the LAST user turn "
    "only if that turn is the last message, otherwise it is silently dropped "
    "(system_user_assistant, tools_round_trip).",
    "Operator precedence: a filter binds tighter than '+', so `'\\n\\n' + message['content'] | "
    "trim + '<|eot_id|>'` trims only the content (Llama, Gemma).",
    "Attribute lookups that fail are Undefined, not errors: `message.content.content is defined` "
    "on a string content is false (Mistral), `message.tool_calls` on a message without it is "
    "falsy (Qwen2.5). `'tool_calls' in message` tests dict keys (Llama).",
    "Globals: raise_exception(msg) raises jinja2 TemplateError(msg) (goldens record "
    "expected_error.message = that msg); strftime_now(fmt) = datetime.now().strftime(fmt) "
    "(goldens: FIXED_NOW, C locale); namespace(...) (rejects attribute names starting with '_'); "
    "dict(...).",
    "tojson is overridden: json.dumps(x, ensure_ascii=False, indent=None, separators=None, "
    "sort_keys=False) -> separators ', ' and ': ' (with spaces), non-ASCII kept as UTF-8, NO HTML "
    "escaping of < > & ' (Jinja's own tojson would escape them), keys in insertion order (Mistral "
    "slices `tool_call.function|tojson` with [:-1], so order and spacing are load-bearing). "
    "tojson(indent=4) (Llama 3.x tool lists) = json.dumps(indent=4): newline + 4-space indents, "
    "', ' becomes ',' at line ends, empty containers stay [] / {}.",
    "Python string methods called on values: .strip(chars) / .lstrip('\\n') / .rstrip('\\n') / "
    ".split('</think>') [-1] / [0] (Qwen3), .startswith() / .endswith() (Qwen3), .items() on a "
    "dict (Mistral), .strip() with no argument (SmolLM-style / old Llama-2 templates; not used by "
    "these nine). Python's whitespace set for strip() differs slightly from Rust's char::is_whitespace "
    "(U+001C..U+001F are whitespace in Python only).",
    "Filters/tests used: trim (Python str.strip(): Unicode whitespace, see whitespace_edges), "
    "length, list, selectattr('role', 'equalto', 'user'), reject('equalto', ...), join, items, "
    "string (Mistral `content|string`), tojson; tests string, mapping, iterable, defined, none, "
    "false (Qwen3 `enable_thinking is false`: only the boolean False, not a falsy value), "
    "equalto. Llama 3.1/3.2 render a tool message via `message.content is mapping or "
    "message.content is iterable` -> a STRING is iterable, so string tool results are emitted as "
    "a JSON string literal (quoted, escaped).",
    "Loop features: loop.first, loop.last, loop.index0, reversed slicing messages[::-1] (Qwen3), "
    "messages[1:] and `set messages = messages[1:]` rebinding a context variable inside the "
    "template (Llama), for-loop with an inline filter `for key, val in tool.items() if key != "
    "\"return\"` where loop.last refers to the FILTERED sequence (Mistral).",
    "Scoping: `set` inside a for loop does not leak out (Jinja semantics) - templates use "
    "namespace() objects (ns.index, ns.multi_step_tool, ns.last_query_index) for that. Qwen3 "
    "reassigns `content` and `tool_call` inside loops.",
    "Whitespace control is everywhere ({%- -%}, {{- -}}) on top of trim_blocks/lstrip_blocks; "
    "gemma-2, phi-3.5 and chatml/smollm2 have raw newline characters inside string literals while "
    "qwen/llama/mistral use '\\n' escape sequences.",
    "Comparison `message == user_messages[-1]` (Mistral) is dict equality, so two identical user "
    "messages both match.",
]


def _setup_transformers():
    logging.disable(logging.WARNING)
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    locale.setlocale(locale.LC_TIME, "C")
    import jinja2
    import tokenizers
    import transformers
    import transformers.utils.chat_template_utils as ctu
    transformers.logging.set_verbosity_error()

    class _FixedDatetime(_dt.datetime):
        @classmethod
        def now(cls, tz=None):
            return FIXED_NOW

    # strftime_now (defined inside transformers' template compiler) looks `datetime` up in this
    # module's globals at call time, so this pins it for every compiled template.
    assert ctu.datetime is _dt.datetime, "transformers changed how strftime_now gets the time"
    ctu.datetime = _FixedDatetime
    versions = {"transformers": transformers.__version__, "jinja2": jinja2.__version__,
                "tokenizers": tokenizers.__version__, "python": platform.python_version()}
    return versions


def _tokenizer(special_tokens):
    """A tokenizer carrying the model's named special tokens; its vocabulary is irrelevant because
    goldens are rendered with tokenize=False."""
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from transformers import PreTrainedTokenizerFast

    present = {k: v for k, v in special_tokens.items() if v is not None}
    vocab = {tok: i for i, tok in enumerate(dict.fromkeys(list(present.values()) + ["<fixture-unk>"]))}
    backend = Tokenizer(WordLevel(vocab, unk_token="<fixture-unk>"))
    tok = PreTrainedTokenizerFast(tokenizer_object=backend, **present)
    if tok.special_tokens_map != present:
        raise SystemExit(f"special tokens not passed through: {tok.special_tokens_map} != {present}")
    return tok


def render_all():
    import jinja2

    versions = _setup_transformers()
    manifest_templates, goldens = [], []
    for t in TEMPLATES:
        path = FIXTURES / f"{t['name']}.jinja"
        raw = path.read_bytes()
        digest = hashlib.sha256(raw).hexdigest()
        if digest != t["sha256"]:
            raise SystemExit(f"{path}: sha256 {digest} != recorded {t['sha256']} (file edited?)")
        template = raw.decode("utf-8")
        tok = _tokenizer(t["special_tokens"])
        case_ids = []
        for c in cases_for(t):
            case_ids.append(c["case"])
            entry = {"template": t["name"], "case": c["case"], "description": c["description"],
                     "messages": c["messages"]}
            if c["tools"] is not None:
                entry["tools"] = c["tools"]
            entry["add_generation_prompt"] = c["add_generation_prompt"]
            entry["extra_vars"] = c["extra_vars"]
            try:
                out = tok.apply_chat_template(
                    copy.deepcopy(c["messages"]), tools=copy.deepcopy(c["tools"]),
                    chat_template=template, add_generation_prompt=c["add_generation_prompt"],
                    tokenize=False, **copy.deepcopy(c["extra_vars"]))
            except jinja2.exceptions.TemplateError as e:
                if not c["expect_error"]:
                    raise SystemExit(f"{t['name']}/{c['case']}: unexpected {type(e).__name__}: {e}")
                entry["expected_error"] = {"type": type(e).__name__, "message": str(e)}
            else:
                if c["expect_error"]:
                    raise SystemExit(f"{t['name']}/{c['case']}: expected an error, got {out!r}")
                if not isinstance(out, str):
                    raise SystemExit(f"{t['name']}/{c['case']}: got {type(out)}")
                entry["expected"] = out
            goldens.append(entry)
        manifest_templates.append({
            "name": t["name"],
            "file": path.name,
            "sha256": digest,
            "bytes": len(raw),
            "ends_with_newline": raw.endswith(b"\n"),
            "model": t["model"],
            **({"description": t["description"]} if "description" in t else {}),
            "source": t["source"],
            "special_tokens": t["special_tokens"],
            "special_tokens_provenance": t["special_tokens_provenance"],
            "template_vars": tok.special_tokens_map,
            "supports_tools": t["supports_tools"],
            "cases": case_ids,
        })

    manifest = {
        "schema_version": 1,
        "generated_by": "scripts/gen_template_goldens.py",
        "reference": {
            "function": "transformers PreTrainedTokenizerBase.apply_chat_template(messages, "
                        "tools=tools, chat_template=<file text>, add_generation_prompt=..., "
                        "tokenize=False, **extra_vars) on a tokenizer carrying the template's "
                        "special_tokens",
            **versions,
        },
        "render_context": {
            "variables": "messages, tools (null when the golden has no tools), documents (null), "
                         "add_generation_prompt, then template_vars (the non-null special tokens), "
                         "then extra_vars (which win on a name clash)",
            "globals": ["raise_exception", "strftime_now", "namespace", "dict"],
            "message_normalisation": "drop null-valued keys from each message; if a message has "
                                     "reasoning_content/thinking/reasoning, set both `thinking` "
                                     "and `reasoning_content` to it",
            "environment": "jinja2 ImmutableSandboxedEnvironment(trim_blocks=True, "
                           "lstrip_blocks=True, keep_trailing_newline=False (default), "
                           "autoescape=False (default), extensions=[jinja2.ext.loopcontrols, "
                           "generation tag]); tojson overridden (see quirks)",
        },
        "strftime_now": {
            "fixed_now": FIXED_NOW.isoformat(),
            "locale": "C",
            "how": "transformers.utils.chat_template_utils.datetime is replaced by a datetime "
                   "subclass whose now() returns fixed_now, so strftime_now(fmt) == "
                   "fixed_now.strftime(fmt) (e.g. '%d %b %Y' -> '14 Mar 2025'). The Rust side "
                   "must register a strftime_now global returning the same for these goldens.",
            "used_by": ["llama-3.2-instruct"],
        },
        "expected_error": "Cases whose template calls raise_exception have `expected_error` "
                          "{type: 'TemplateError', message} instead of `expected`; message is "
                          "exactly the string given to raise_exception.",
        "quirks": QUIRKS,
        "templates": manifest_templates,
    }
    return manifest, goldens


def _dump(obj):
    return json.dumps(obj, ensure_ascii=False, indent=2) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true",
                    help="render and compare with the files on disk; write nothing")
    args = ap.parse_args()
    manifest, goldens = render_all()
    outputs = {FIXTURES / "manifest.json": _dump(manifest), FIXTURES / "goldens.json": _dump(goldens)}
    if args.check:
        stale = [p for p, text in outputs.items()
                 if not p.exists() or p.read_text(encoding="utf-8") != text]
        for p in stale:
            print(f"out of date: {p.relative_to(REPO)}", file=sys.stderr)
        sys.exit(1 if stale else 0)
    for p, text in outputs.items():
        p.write_text(text, encoding="utf-8", newline="\n")
    n_err = sum("expected_error" in g for g in goldens)
    print(f"{len(TEMPLATES)} templates, {len(goldens)} goldens ({n_err} expected errors) -> "
          f"{FIXTURES.relative_to(REPO)}")


if __name__ == "__main__":
    main()
