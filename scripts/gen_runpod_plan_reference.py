#!/usr/bin/env python3
"""Reference parameter counts for mh-runpod's VRAM planner (crates/mh-runpod/src/plan.rs).

Writes crates/mh-runpod/tests/fixtures/plan-reference.json: for a few published model configs
(the config.json fields as on the Hugging Face Hub), the parameter count transformers gives the
model built from that config (shared tensors counted once, as `model.num_parameters()` does),
and the trainable parameter count peft gives a LoRA of rank r on all seven projections
(q/k/v/o/gate/up/down). The models are built on the `meta` device: no weights are allocated or
downloaded. The numbers come from transformers and peft, never from our code.

Needs torch, transformers and peft (CPU is fine); CI does not run this, it runs the Rust tests
against the fixture. Usage: ~/.venvs/mhfix/bin/python scripts/gen_runpod_plan_reference.py
"""

import json
import os

import peft
import torch
import transformers
from peft import LoraConfig, get_peft_model
from transformers import AutoConfig, AutoModelForCausalLM

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "crates", "mh-runpod", "tests", "fixtures", "plan-reference.json")

# Published config.json values (the fields that shape the parameters, plus what our parser
# requires). Qwen/Qwen2.5-0.5B, HuggingFaceTB/SmolLM2-135M, Qwen/Qwen3-0.6B,
# mistralai/Mistral-7B-v0.1.
CONFIGS = {
    "Qwen2.5-0.5B": {
        "architectures": ["Qwen2ForCausalLM"],
        "model_type": "qwen2",
        "hidden_act": "silu",
        "hidden_size": 896,
        "intermediate_size": 4864,
        "num_hidden_layers": 24,
        "num_attention_heads": 14,
        "num_key_value_heads": 2,
        "vocab_size": 151936,
        "max_position_embeddings": 32768,
        "rms_norm_eps": 1e-06,
        "rope_theta": 1000000.0,
        "sliding_window": 32768,
        "use_sliding_window": False,
        "tie_word_embeddings": True,
        "torch_dtype": "bfloat16",
        "bos_token_id": 151643,
        "eos_token_id": 151643,
    },
    "SmolLM2-135M": {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "hidden_act": "silu",
        "hidden_size": 576,
        "intermediate_size": 1536,
        "num_hidden_layers": 30,
        "num_attention_heads": 9,
        "num_key_value_heads": 3,
        "vocab_size": 49152,
        "max_position_embeddings": 8192,
        "rms_norm_eps": 1e-05,
        "rope_theta": 100000,
        "attention_bias": False,
        "mlp_bias": False,
        "tie_word_embeddings": True,
        "torch_dtype": "bfloat16",
        "bos_token_id": 0,
        "eos_token_id": 0,
    },
    "Qwen3-0.6B": {
        "architectures": ["Qwen3ForCausalLM"],
        "model_type": "qwen3",
        "hidden_act": "silu",
        "hidden_size": 1024,
        "intermediate_size": 3072,
        "num_hidden_layers": 28,
        "num_attention_heads": 16,
        "num_key_value_heads": 8,
        "head_dim": 128,
        "vocab_size": 151936,
        "max_position_embeddings": 40960,
        "rms_norm_eps": 1e-06,
        "rope_theta": 1000000,
        "attention_bias": False,
        "sliding_window": None,
        "use_sliding_window": False,
        "tie_word_embeddings": True,
        "torch_dtype": "bfloat16",
        "bos_token_id": 151643,
        "eos_token_id": 151645,
    },
    "Mistral-7B-v0.1": {
        "architectures": ["MistralForCausalLM"],
        "model_type": "mistral",
        "hidden_act": "silu",
        "hidden_size": 4096,
        "intermediate_size": 14336,
        "num_hidden_layers": 32,
        "num_attention_heads": 32,
        "num_key_value_heads": 8,
        "vocab_size": 32000,
        "max_position_embeddings": 32768,
        "rms_norm_eps": 1e-05,
        "rope_theta": 10000.0,
        "sliding_window": 4096,
        "tie_word_embeddings": False,
        "torch_dtype": "bfloat16",
        "bos_token_id": 1,
        "eos_token_id": 2,
    },
}

RANKS = [8, 16, 64]
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def build(config_dict):
    config = AutoConfig.for_model(**config_dict)
    with torch.device("meta"):
        return AutoModelForCausalLM.from_config(config)


def main():
    models = []
    for name, cfg in CONFIGS.items():
        model = build(cfg)
        params = sum(p.numel() for p in model.parameters())
        lora = {}
        for r in RANKS:
            peft_model = get_peft_model(
                build(cfg), LoraConfig(r=r, lora_alpha=2 * r, target_modules=TARGETS)
            )
            trainable, _total = peft_model.get_nb_trainable_parameters()
            lora[str(r)] = trainable
        models.append({"name": name, "config": cfg, "parameters": params, "lora_all_linear": lora})
        print(name, params, lora)
    out = {
        "generator": "scripts/gen_runpod_plan_reference.py",
        "transformers": transformers.__version__,
        "peft": peft.__version__,
        "torch": torch.__version__,
        "lora_targets": TARGETS,
        "models": models,
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
