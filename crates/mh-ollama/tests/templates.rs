//! The Go templates against the reference renderings in `fixtures/template-goldens.json`
//! (written by `scripts/gen_ollama_template_goldens.py`: Go's text/template with Ollama's chat
//! semantics on one side, transformers' apply_chat_template on the training template on the
//! other).

use mh_ollama::{ChatFamily, OllamaTemplate, TemplateOptions};
use serde_json::Value;

fn goldens() -> Value {
    let text = include_str!("fixtures/template-goldens.json");
    serde_json::from_str(text).expect("template-goldens.json")
}

#[test]
fn each_training_template_gets_the_go_template_that_was_rendered() {
    let doc = goldens();
    let templates = doc["templates"].as_array().unwrap();
    assert_eq!(templates.len(), 10);
    for t in templates {
        let name = t["name"].as_str().unwrap();
        let opts = TemplateOptions {
            date_string: t["date_string"].as_str().map(str::to_string),
        };
        let got = OllamaTemplate::from_chat_template(t["chat_template"].as_str().unwrap(), &opts)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            got.family.map(ChatFamily::name),
            t["family"].as_str(),
            "{name}"
        );
        assert_eq!(
            got.text,
            t["go_template"].as_str().unwrap(),
            "{name}: the Go template differs from the rendered one; rerun \
             scripts/gen_ollama_template_goldens.py"
        );
        assert_eq!(
            got.default_system.as_deref(),
            t["default_system"].as_str(),
            "{name}"
        );
    }
}

#[test]
fn ollama_prompts_equal_the_training_prompts() {
    let doc = goldens();
    let mut n = 0;
    for t in doc["templates"].as_array().unwrap() {
        for c in t["cases"].as_array().unwrap() {
            let (jinja, ollama) = (c["jinja"].as_str().unwrap(), c["ollama"].as_str().unwrap());
            assert!(!jinja.is_empty());
            assert_eq!(ollama, jinja, "{} / {}", t["name"], c["case"]);
            n += 1;
        }
    }
    assert_eq!(n, 51);
}

/// Ollama's own templates for these families (its `template/*.json`) stop on these tokens; ours
/// must stop on at least the same.
#[test]
fn stop_tokens_cover_ollamas_own() {
    let ollama: [(ChatFamily, &[&str]); 5] = [
        (ChatFamily::ChatMl, &["<|im_start|>", "<|im_end|>"]),
        (ChatFamily::Qwen3, &["<|im_start|>", "<|im_end|>"]),
        (
            ChatFamily::Llama3,
            &["<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"],
        ),
        (ChatFamily::Gemma, &["<start_of_turn>", "<end_of_turn>"]),
        (
            ChatFamily::Phi3,
            &["<|end|>", "<|system|>", "<|user|>", "<|assistant|>"],
        ),
    ];
    for (family, stops) in ollama {
        for s in stops {
            assert!(family.stop_tokens().contains(s), "{family:?} lacks {s}");
        }
    }
    // Mistral's turn markers (Ollama's mistral-instruct.json lists ChatML tokens instead).
    assert!(ChatFamily::Mistral.stop_tokens().contains(&"[INST]"));
}

/// Every template's block structure is what Go's parser accepts (the loopback server applies
/// the same check on create).
#[test]
fn templates_parse() {
    for family in ChatFamily::ALL {
        mh_testkit::ollama::check_go_template(&OllamaTemplate::for_family(family).text)
            .unwrap_or_else(|e| panic!("{family:?}: {e}"));
    }
}
