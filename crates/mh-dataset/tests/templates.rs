//! Chat templates against `transformers`' own output (the goldens made by
//! `scripts/gen_template_goldens.py`), loading from model directories, errors, and the
//! assistant spans the trainer labels.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use chrono::NaiveDateTime;
use mh_dataset::template::{
    ChatTemplate, RenderOptions, SpanPolicy, SpecialTokens, TemplateChoice, TemplateError,
    TemplateOrigin, BUILTINS,
};
use mh_dataset::{Message, Role};
use serde_json::{json, Value};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/templates")
}

fn read_json(name: &str) -> Value {
    let text = fs::read_to_string(fixtures().join(name)).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The manifest's pinned `strftime_now` time.
fn fixed_now() -> NaiveDateTime {
    let manifest = read_json("manifest.json");
    let s = manifest["strftime_now"]["fixed_now"].as_str().unwrap();
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S").unwrap()
}

fn token(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_string)
}

fn special_from(vars: &Value) -> SpecialTokens {
    SpecialTokens {
        bos: token(vars, "bos_token"),
        eos: token(vars, "eos_token"),
        pad: token(vars, "pad_token"),
        unk: token(vars, "unk_token"),
    }
}

/// Every fixture template, compiled with the special tokens transformers rendered it with.
fn fixture_templates() -> BTreeMap<String, ChatTemplate> {
    let manifest = read_json("manifest.json");
    let mut out = BTreeMap::new();
    for t in manifest["templates"].as_array().unwrap() {
        let name = t["name"].as_str().unwrap();
        let path = fixtures().join(t["file"].as_str().unwrap());
        let source = fs::read_to_string(&path).unwrap();
        let template = ChatTemplate::from_source(
            name,
            source,
            special_from(&t["template_vars"]),
            TemplateOrigin::File(path),
        )
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(template.sha256(), t["sha256"].as_str().unwrap(), "{name}");
        out.insert(name.to_string(), template);
    }
    assert_eq!(out.len(), 9);
    out
}

fn golden_opts(g: &Value) -> RenderOptions {
    RenderOptions {
        add_generation_prompt: g["add_generation_prompt"].as_bool().unwrap(),
        tools: g.get("tools").cloned(),
        documents: None,
        extra: g["extra_vars"].as_object().unwrap().clone(),
        now: Some(fixed_now()),
    }
}

fn goldens() -> Vec<Value> {
    read_json("goldens.json").as_array().unwrap().clone()
}

// ---------------------------------------------------------------------------------------------
// Goldens
// ---------------------------------------------------------------------------------------------

#[test]
fn every_golden_renders_byte_identically_to_transformers() {
    let templates = fixture_templates();
    let goldens = goldens();
    assert_eq!(goldens.len(), 97);
    let (mut passed, mut errors_matched, mut failures) = (0, 0, Vec::new());
    for g in &goldens {
        let id = format!("{}/{}", g["template"].as_str().unwrap(), g["case"]);
        let t = &templates[g["template"].as_str().unwrap()];
        let got = t.render(&g["messages"], &golden_opts(g));
        match (g.get("expected"), g.get("expected_error"), got) {
            (Some(want), _, Ok(text)) if want.as_str() == Some(text.as_str()) => passed += 1,
            (Some(want), _, Ok(text)) => failures.push(format!(
                "{id}: rendered differently\n--- want\n{}\n--- got\n{text}",
                want.as_str().unwrap()
            )),
            (Some(_), _, Err(e)) => failures.push(format!("{id}: unexpected error: {e}")),
            (None, Some(want), Err(e)) => {
                let message = want["message"].as_str().unwrap();
                // The template's own message, verbatim, both as data and in the error text.
                if e.raised_message() == Some(message) && e.to_string().contains(message) {
                    errors_matched += 1;
                } else {
                    failures.push(format!("{id}: wrong error {e:?}, want {message:?}"));
                }
            }
            (None, Some(_), Ok(text)) => {
                failures.push(format!("{id}: expected an error, rendered {text:?}"))
            }
            (None, None, _) => failures.push(format!("{id}: golden has no expectation")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} goldens failed:\n\n{}",
        failures.len(),
        goldens.len(),
        failures.join("\n\n")
    );
    assert_eq!(passed + errors_matched, 97);
    assert!(errors_matched >= 5, "error goldens: {errors_matched}");
}

#[test]
fn the_goldens_depend_on_the_pinned_time_and_on_message_normalisation() {
    // Guards against a golden passing for the wrong reason.
    let templates = fixture_templates();
    let g = goldens()
        .into_iter()
        .find(|g| g["template"] == "llama-3.2-instruct" && g["case"] == "user_generation_prompt")
        .unwrap();
    let mut opts = golden_opts(&g);
    let t = &templates["llama-3.2-instruct"];
    assert!(t
        .render(&g["messages"], &opts)
        .unwrap()
        .contains("Today Date: 14 Mar 2025"));
    opts.now = Some(fixed_now() + chrono::Duration::days(1));
    assert!(t
        .render(&g["messages"], &opts)
        .unwrap()
        .contains("Today Date: 15 Mar 2025"));

    // {"content": null} must be dropped, so Qwen2.5 takes its tool-call branch without content.
    let g = goldens()
        .into_iter()
        .find(|g| g["template"] == "qwen2.5-instruct" && g["case"] == "tools_round_trip")
        .unwrap();
    let text = templates["qwen2.5-instruct"]
        .render(&g["messages"], &golden_opts(&g))
        .unwrap();
    assert!(text.contains("<|im_start|>assistant\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"unit\": \"celsius\"}}"));
}

#[test]
fn builtins_are_the_fixture_texts_with_their_models_tokens() {
    let manifest = read_json("manifest.json");
    let by_name: BTreeMap<&str, &Value> = manifest["templates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["name"].as_str().unwrap(), t))
        .collect();
    let pairs = [
        ("chatml", "chatml"),
        ("llama3", "llama-3.1-instruct"),
        ("mistral", "mistral-7b-instruct-v0.3"),
        ("gemma", "gemma-2-it"),
        ("phi3", "phi-3.5-mini-instruct"),
        ("qwen3", "qwen3"),
    ];
    assert_eq!(BUILTINS.len(), pairs.len());
    for (builtin, fixture) in pairs {
        let b = BUILTINS.iter().find(|b| b.name == builtin).unwrap();
        let m = by_name[fixture];
        let text = fs::read_to_string(fixtures().join(m["file"].as_str().unwrap())).unwrap();
        assert_eq!(b.source, text, "{builtin}");
        assert_eq!(
            b.default_special(),
            special_from(&m["special_tokens"]),
            "{builtin}"
        );
        let t = ChatTemplate::builtin(builtin, b.default_special()).unwrap();
        assert_eq!(t.name, builtin);
        assert_eq!(t.sha256(), m["sha256"].as_str().unwrap());
    }
}

// ---------------------------------------------------------------------------------------------
// Loading from model directories
// ---------------------------------------------------------------------------------------------

const CHATML: &str = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

fn model_dir(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let path = dir.path().join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }
    dir
}

fn hello() -> Value {
    json!([{"role": "user", "content": "Hi"}])
}

fn opts() -> RenderOptions {
    RenderOptions {
        now: Some(fixed_now()),
        ..RenderOptions::default()
    }
}

#[test]
fn loads_a_string_template_with_added_token_objects() {
    let config = json!({
        "chat_template": "{{ bos_token }}{% for m in messages %}{{ m.content }}{{ eos_token }}{% endfor %}",
        "bos_token": {"__type": "AddedToken", "content": "<s>", "lstrip": false, "special": true},
        "eos_token": "</s>",
        "pad_token": null,
        "unk_token": {"content": "<unk>"},
    });
    let dir = model_dir(&[("tokenizer_config.json", &config.to_string())]);
    let t = ChatTemplate::load(dir.path(), &TemplateChoice::Auto).unwrap();
    assert_eq!(t.name, "default");
    assert_eq!(
        t.origin,
        TemplateOrigin::TokenizerConfig(dir.path().join("tokenizer_config.json"))
    );
    assert_eq!(
        t.special,
        SpecialTokens {
            bos: Some("<s>".into()),
            eos: Some("</s>".into()),
            pad: None,
            unk: Some("<unk>".into()),
        }
    );
    assert_eq!(t.render(&hello(), &opts()).unwrap(), "<s>Hi</s>");
}

#[test]
fn special_tokens_map_fills_tokens_the_config_leaves_out() {
    let dir = model_dir(&[
        (
            "tokenizer_config.json",
            &json!({"chat_template": "{{ bos_token }}|{{ eos_token }}", "eos_token": "E"})
                .to_string(),
        ),
        (
            "special_tokens_map.json",
            &json!({"bos_token": {"content": "B"}, "eos_token": "ignored"}).to_string(),
        ),
    ]);
    let t = ChatTemplate::load(dir.path(), &TemplateChoice::Auto).unwrap();
    assert_eq!(t.render(&hello(), &opts()).unwrap(), "B|E");
}

#[test]
fn picks_named_templates_from_a_list() {
    let config = json!({
        "chat_template": [
            {"name": "default", "template": "default:{{ messages[0].content }}"},
            {"name": "tool_use", "template": "tools:{{ tools | length }}"},
        ],
    });
    let dir = model_dir(&[("tokenizer_config.json", &config.to_string())]);
    let auto = ChatTemplate::load(dir.path(), &TemplateChoice::Auto).unwrap();
    assert_eq!(auto.render(&hello(), &opts()).unwrap(), "default:Hi");

    let choice: TemplateChoice = "auto:tool_use".parse().unwrap();
    assert_eq!(choice, TemplateChoice::Named("tool_use".into()));
    let tool_use = ChatTemplate::load(dir.path(), &choice).unwrap();
    assert_eq!(tool_use.name, "tool_use");
    let with_tools = RenderOptions {
        tools: Some(json!([{"type": "function"}, {"type": "function"}])),
        ..opts()
    };
    assert_eq!(tool_use.render(&hello(), &with_tools).unwrap(), "tools:2");

    let err = ChatTemplate::load(dir.path(), &"auto:rag".parse().unwrap()).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, TemplateError::UnknownNamed { .. }), "{err:?}");
    assert!(
        msg.contains("\"rag\"") && msg.contains("default, tool_use"),
        "{msg}"
    );

    // A list without a default entry: auto has nothing to pick.
    let config = json!({"chat_template": [{"name": "tool_use", "template": "x"}]});
    let dir = model_dir(&[("tokenizer_config.json", &config.to_string())]);
    let err = ChatTemplate::load(dir.path(), &TemplateChoice::Auto).unwrap_err();
    assert!(matches!(err, TemplateError::NoTemplate { .. }), "{err:?}");
}

#[test]
fn chat_template_jinja_wins_over_the_config_field_as_in_transformers() {
    let dir = model_dir(&[
        ("chat_template.jinja", "jinja:{{ messages[0].content }}"),
        (
            "tokenizer_config.json",
            &json!({"chat_template": "config"}).to_string(),
        ),
        ("additional_chat_templates/tool_use.jinja", "extra"),
    ]);
    let t = ChatTemplate::load(dir.path(), &TemplateChoice::Auto).unwrap();
    assert_eq!(
        t.origin,
        TemplateOrigin::JinjaFile(dir.path().join("chat_template.jinja"))
    );
    assert_eq!(t.render(&hello(), &opts()).unwrap(), "jinja:Hi");
    let named = ChatTemplate::load(dir.path(), &TemplateChoice::Named("tool_use".into())).unwrap();
    assert_eq!(named.render(&hello(), &opts()).unwrap(), "extra");
}

#[test]
fn loads_chat_template_jinja_and_chat_template_json() {
    let dir = model_dir(&[("chat_template.jinja", CHATML)]);
    let t = ChatTemplate::load(dir.path(), &TemplateChoice::Auto).unwrap();
    assert_eq!(
        t.render(&hello(), &opts()).unwrap(),
        "<|im_start|>user\nHi<|im_end|>\n"
    );

    let dir = model_dir(&[(
        "chat_template.json",
        &json!({"chat_template": CHATML}).to_string(),
    )]);
    let t = ChatTemplate::load(dir.path(), &TemplateChoice::Auto).unwrap();
    assert_eq!(
        t.origin,
        TemplateOrigin::ChatTemplateJson(dir.path().join("chat_template.json"))
    );
    assert_eq!(
        t.render(
            &hello(),
            &RenderOptions {
                add_generation_prompt: true,
                ..opts()
            }
        )
        .unwrap(),
        "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
    );
}

#[test]
fn a_model_without_a_template_gets_the_builtin_for_its_architecture() {
    let tokens = json!({"bos_token": "<bos>", "eos_token": "<eos>", "unk_token": "<unk>", "pad_token": "<pad>"});
    for (model_type, builtin) in [
        ("qwen2", "chatml"),
        ("qwen3", "qwen3"),
        ("llama", "llama3"),
        ("mistral", "mistral"),
        ("gemma", "gemma"),
        ("gemma2", "gemma"),
        ("phi3", "phi3"),
    ] {
        let dir = model_dir(&[
            ("tokenizer_config.json", &tokens.to_string()),
            (
                "config.json",
                &json!({"model_type": model_type, "vocab_size": 10}).to_string(),
            ),
        ]);
        let t = ChatTemplate::load(dir.path(), &TemplateChoice::Auto).unwrap();
        assert_eq!(t.name, builtin, "{model_type}");
        assert_eq!(
            t.origin,
            TemplateOrigin::Builtin {
                model_type: Some(model_type.into())
            }
        );
        assert_eq!(t.special.bos.as_deref(), Some("<bos>"));
        assert!(!t.render(&hello(), &opts()).unwrap().is_empty());
    }

    let dir = model_dir(&[("config.json", r#"{"model_type": "bert"}"#)]);
    let err = ChatTemplate::load(dir.path(), &TemplateChoice::Auto).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, TemplateError::NoTemplate { .. }));
    assert!(msg.contains("\"bert\"") && msg.contains("chatml"), "{msg}");

    let dir = model_dir(&[]);
    let err = ChatTemplate::load(dir.path(), &TemplateChoice::Auto).unwrap_err();
    assert!(
        err.to_string().contains("no config.json model_type"),
        "{err}"
    );
}

#[test]
fn builtin_and_path_choices_use_the_models_tokens() {
    let dir = model_dir(&[(
        "tokenizer_config.json",
        &json!({"chat_template": "own", "eos_token": "<|im_end|>"}).to_string(),
    )]);
    let t = ChatTemplate::load(dir.path(), &"chatml".parse().unwrap()).unwrap();
    assert_eq!(t.name, "chatml");
    assert_eq!(t.special.eos.as_deref(), Some("<|im_end|>"));
    assert_eq!(
        t.render(&hello(), &opts()).unwrap(),
        "<|im_start|>user\nHi<|im_end|>\n"
    );

    let file = dir.path().join("mine.jinja");
    fs::write(&file, "[{{ eos_token }}]").unwrap();
    let choice: TemplateChoice = file.to_str().unwrap().parse().unwrap();
    assert_eq!(choice, TemplateChoice::Path(file.clone()));
    let t = ChatTemplate::load(dir.path(), &choice).unwrap();
    assert_eq!(t.name, "mine.jinja");
    assert_eq!(t.origin, TemplateOrigin::File(file));
    assert_eq!(t.render(&hello(), &opts()).unwrap(), "[<|im_end|>]");

    let missing = dir.path().join("nope.jinja");
    let err = ChatTemplate::load(dir.path(), &TemplateChoice::Path(missing.clone())).unwrap_err();
    assert!(err.to_string().contains(missing.to_str().unwrap()), "{err}");
}

#[test]
fn template_choice_parses_auto_names_and_paths() {
    assert_eq!(
        "auto".parse::<TemplateChoice>().unwrap(),
        TemplateChoice::Auto
    );
    for b in BUILTINS {
        assert_eq!(
            b.name.parse::<TemplateChoice>().unwrap(),
            TemplateChoice::Builtin(b.name.into())
        );
    }
    assert_eq!(
        "./t.jinja".parse::<TemplateChoice>().unwrap(),
        TemplateChoice::Path("./t.jinja".into())
    );
    assert!("".parse::<TemplateChoice>().is_err());
    assert!("auto:".parse::<TemplateChoice>().is_err());
    let err = ChatTemplate::builtin("vicuna", SpecialTokens::default()).unwrap_err();
    assert!(err.to_string().contains("chatml, llama3"), "{err}");
}

#[test]
fn broken_config_files_are_named_in_the_error() {
    let dir = model_dir(&[("tokenizer_config.json", "{\"chat_template\": ")]);
    let err = ChatTemplate::load(dir.path(), &TemplateChoice::Auto).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("tokenizer_config.json") && msg.contains("not valid JSON"),
        "{msg}"
    );

    let dir = model_dir(&[(
        "tokenizer_config.json",
        &json!({"chat_template": CHATML, "eos_token": 7}).to_string(),
    )]);
    let msg = ChatTemplate::load(dir.path(), &TemplateChoice::Auto)
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("tokenizer_config.json") && msg.contains("eos_token"),
        "{msg}"
    );

    let dir = model_dir(&[(
        "tokenizer_config.json",
        &json!({"chat_template": [{"name": "default"}]}).to_string(),
    )]);
    let msg = ChatTemplate::load(dir.path(), &TemplateChoice::Auto)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("chat_template[0].template"), "{msg}");

    let err =
        ChatTemplate::load(Path::new("/nonexistent/model"), &TemplateChoice::Auto).unwrap_err();
    assert!(err.to_string().contains("/nonexistent/model"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// Bad templates
// ---------------------------------------------------------------------------------------------

fn source(text: &str) -> Result<ChatTemplate, TemplateError> {
    ChatTemplate::from_source(
        "test",
        text,
        SpecialTokens::default(),
        TemplateOrigin::File("test.jinja".into()),
    )
}

#[test]
fn a_syntax_error_names_the_template_and_the_problem() {
    let err = source("{% for m in messages %}{{ m.content }}").unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, TemplateError::Syntax { .. }), "{err:?}");
    assert_eq!(
        msg,
        "chat template test.jinja: syntax error: unexpected end of input, \
         expected end of block (line 1)"
    );
}

#[test]
fn raise_exception_surfaces_the_templates_own_message() {
    let gemma = &fixture_templates()["gemma-2-it"];
    let err = gemma
        .render(
            &json!([{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]),
            &opts(),
        )
        .unwrap_err();
    assert_eq!(err.raised_message(), Some("System role not supported"));
    assert_eq!(
        err.to_string(),
        format!(
            "chat template {}: System role not supported",
            fixtures().join("gemma-2-it.jinja").display()
        )
    );
    // The same through render_conversation.
    let err = gemma
        .render_conversation(
            &[
                Message::new(Role::System, "s"),
                Message::new(Role::User, "u"),
            ],
            &opts(),
            SpanPolicy::AllAssistantTurns,
        )
        .unwrap_err();
    assert_eq!(err.raised_message(), Some("System role not supported"));
    // Other runtime errors are not mistaken for raised ones.
    let err = source("{{ messages[0].content.nope.deeper }}")
        .unwrap()
        .render(&hello(), &opts())
        .unwrap_err();
    assert!(matches!(err, TemplateError::Render { .. }), "{err:?}");
}

#[test]
fn a_template_needing_a_token_the_tokenizer_lacks_is_refused() {
    let err = ChatTemplate::builtin("llama3", SpecialTokens::default()).unwrap_err();
    assert!(
        matches!(err, TemplateError::MissingToken { ref token, .. } if token == "bos_token"),
        "{err:?}"
    );
    assert!(err.to_string().contains("bos_token"), "{err}");

    let dir = model_dir(&[("config.json", r#"{"model_type": "mistral"}"#)]);
    let err = ChatTemplate::load(dir.path(), &TemplateChoice::Auto).unwrap_err();
    assert!(err.to_string().contains("bos_token"), "{err}");
    // Qwen3 uses no bos: fine without one.
    let qwen3 = BUILTINS.iter().find(|b| b.name == "qwen3").unwrap();
    assert!(ChatTemplate::builtin("qwen3", qwen3.default_special()).is_ok());
}

#[test]
fn messages_must_be_a_list_of_objects_and_reserved_names_are_not_extras() {
    let t = source(CHATML).unwrap();
    assert!(t.render(&json!({"role": "user"}), &opts()).is_err());
    assert!(t
        .render(&json!(["hi"]), &opts())
        .unwrap_err()
        .to_string()
        .contains("message 0"));
    let mut o = opts();
    o.extra.insert("messages".into(), json!([]));
    assert!(t.render(&hello(), &o).is_err());
}

// ---------------------------------------------------------------------------------------------
// Python compatibility beyond the goldens
// ---------------------------------------------------------------------------------------------

fn render_str(text: &str, extra: Value) -> String {
    let t = source(text).unwrap();
    let mut o = opts();
    o.extra = extra.as_object().unwrap().clone();
    t.render(&hello(), &o)
        .unwrap_or_else(|e| panic!("{text}: {e}"))
}

#[test]
fn tojson_is_pythons_json_dumps() {
    let v = json!({"v": {"b": [1, 2.0, "é<&>'"], "a": {}, "e": [], "n": null, "t": true}});
    assert_eq!(
        render_str("{{ v | tojson }}", v.clone()),
        r#"{"b": [1, 2.0, "é<&>'"], "a": {}, "e": [], "n": null, "t": true}"#
    );
    assert_eq!(
        render_str("{{ v.b | tojson(indent=2) }}", v.clone()),
        "[\n  1,\n  2.0,\n  \"é<&>'\"\n]"
    );
    assert_eq!(
        render_str(
            "{{ v | tojson(sort_keys=true, separators=[',', ':']) }}",
            v.clone()
        ),
        r#"{"a":{},"b":[1,2.0,"é<&>'"],"e":[],"n":null,"t":true}"#
    );
    assert_eq!(
        render_str("{{ 'é\n' | tojson(ensure_ascii=true) }}", json!({})),
        r#""\u00e9\n""#
    );
}

#[test]
fn python_strings_whitespace_and_printing() {
    let extra = json!({"s": "\u{1f} x \u{3000}", "n": null, "b": false, "l": ["a", 1]});
    assert_eq!(
        render_str("[{{ s | trim }}][{{ s.strip() }}]", extra.clone()),
        "[x][x]"
    );
    assert_eq!(render_str("{{ s.split() | length }}", extra.clone()), "1");
    assert_eq!(
        render_str("{{ n }} {{ b }} {{ l }} {{ b | string }}", extra.clone()),
        "None False ['a', 1] False"
    );
    assert_eq!(
        render_str(
            "{{ 'a,b'.split(',')[-1] }}{{ 'xay'.startswith('x') }}",
            extra.clone()
        ),
        "bTrue"
    );
    assert_eq!(
        render_str("{{ b is false }}{{ n is false }}", extra),
        "TrueFalse"
    );
    assert_eq!(
        render_str("{% for k, v in {'a': 1, 'return': 2, 'c': 3}.items() if k != 'return' %}{{ k }}{% if not loop.last %},{% endif %}{% endfor %}", json!({})),
        "a,c"
    );
}

#[test]
fn strftime_now_uses_the_pinned_time_and_generation_tags_render_their_body() {
    assert_eq!(
        render_str("{{ strftime_now('%d %b %Y %H:%M:%S %A %-d') }}", json!({})),
        "14 Mar 2025 09:26:53 Friday 14"
    );
    assert_eq!(
        render_str("{%- for m in messages %}<{%- generation -%} {{ m.content }} {%- endgeneration %}>{% endfor %}", json!({})),
        "<Hi>"
    );
}

// ---------------------------------------------------------------------------------------------
// Assistant spans
// ---------------------------------------------------------------------------------------------

#[test]
fn end_of_turn_is_derived_for_every_fixture_template() {
    let want = [
        ("chatml", "<|im_end|>"),
        ("smollm2-instruct", "<|im_end|>"),
        ("qwen2.5-instruct", "<|im_end|>"),
        ("qwen3", "<|im_end|>"),
        ("llama-3.1-instruct", "<|eot_id|>"),
        ("llama-3.2-instruct", "<|eot_id|>"),
        ("mistral-7b-instruct-v0.3", "</s>"),
        ("gemma-2-it", "<end_of_turn>"),
        ("phi-3.5-mini-instruct", "<|end|>"),
    ];
    let templates = fixture_templates();
    for (name, eot) in want {
        assert_eq!(templates[name].end_of_turn(), Some(eot), "{name}");
    }
}

/// Messages a golden case has, if they are plain system/user/assistant text.
fn plain_messages(g: &Value) -> Option<Vec<Message>> {
    g["messages"]
        .as_array()?
        .iter()
        .map(|m| {
            let obj = m.as_object()?;
            if obj.len() != 2 {
                return None;
            }
            let role = match obj.get("role")?.as_str()? {
                "system" => Role::System,
                "user" => Role::User,
                "assistant" => Role::Assistant,
                _ => return None,
            };
            Some(Message::new(role, obj.get("content")?.as_str()?))
        })
        .collect()
}

/// Python's `str.strip()` (what `| trim` does).
fn py_trim(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c))
}

/// How `template` writes assistant message `i` of `messages`, worked out here from the
/// template texts (not from the renderer): ChatML-style and Phi-3 write the content as is,
/// Llama, Gemma and Mistral trim it, Qwen3 splits off a `<think>` block and gives the final
/// turn after the last user message an explicit (possibly empty) think block — part of the
/// span, unless `enable_thinking=false` put the empty block into the prompt already (then a
/// non-empty block, which contradicts that setting, is cut where it departs from the empty one).
fn expected_turn(template: &str, messages: &[Message], i: usize, opts: &RenderOptions) -> String {
    let content = messages[i].content.as_str();
    match template {
        "llama-3.1-instruct" | "llama-3.2-instruct" | "gemma-2-it" | "mistral-7b-instruct-v0.3" => {
            py_trim(content).to_string()
        }
        "qwen3" => {
            let (reasoning, answer) = match content.split_once("</think>") {
                Some(_) => {
                    let before = content.split("</think>").next().unwrap();
                    let r = before.trim_end_matches('\n');
                    let r = r.rsplit("<think>").next().unwrap().trim_start_matches('\n');
                    let a = content
                        .rsplit("</think>")
                        .next()
                        .unwrap()
                        .trim_start_matches('\n');
                    (r.to_string(), a.to_string())
                }
                None => (String::new(), content.to_string()),
            };
            let last_user = messages
                .iter()
                .rposition(|m| m.role == Role::User)
                .unwrap_or(0);
            let is_last = i == messages.len() - 1;
            let thinking_off = opts.extra.get("enable_thinking") == Some(&json!(false));
            let reasoning = reasoning.trim_matches('\n');
            if i > last_user && (is_last || !reasoning.is_empty()) {
                let answer = answer.trim_start_matches('\n');
                match (thinking_off, reasoning.is_empty()) {
                    (true, true) => answer.to_string(),
                    (true, false) => format!("{reasoning}\n</think>\n\n{answer}"),
                    (false, _) => format!("<think>\n{reasoning}\n</think>\n\n{answer}"),
                }
            } else {
                answer.to_string()
            }
        }
        _ => content.to_string(),
    }
}

/// Checks every span of a conversation: one per counted assistant turn, in order, each the
/// turn's text as the template writes it plus the end-of-turn token, and no assistant text
/// outside the spans.
fn check_spans(name: &str, t: &ChatTemplate, messages: &[Message], opts: &RenderOptions) -> String {
    let rendered = t
        .render_conversation(messages, opts, SpanPolicy::AllAssistantTurns)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let text = &rendered.text;
    let eot = t.end_of_turn().unwrap();
    let turns: Vec<usize> = (0..messages.len())
        .filter(|&i| messages[i].role == Role::Assistant)
        .collect();
    assert_eq!(rendered.assistant_spans.len(), turns.len(), "{name}");
    let mut outside = String::new();
    let mut prev = 0;
    for (span, &i) in rendered.assistant_spans.iter().zip(&turns) {
        assert!(
            span.start >= prev && span.start <= span.end,
            "{name}: {span:?}"
        );
        let want = format!("{}{eot}", expected_turn(name, messages, i, opts));
        assert_eq!(&text[span.clone()], want, "{name}: message {i}");
        outside.push_str(&text[prev..span.start]);
        outside.push('\u{0}');
        prev = span.end;
    }
    outside.push_str(&text[prev..]);
    for &i in &turns {
        let body = py_trim(&messages[i].content);
        let answer = body.rsplit("</think>").next().unwrap().trim();
        let elsewhere = messages
            .iter()
            .any(|m| m.role != Role::Assistant && m.content.contains(answer));
        if answer.len() >= 8 && !elsewhere {
            assert!(
                !outside.contains(answer),
                "{name}: message {i} outside its span"
            );
        }
    }
    let last = t
        .render_conversation(messages, opts, SpanPolicy::LastOnly)
        .unwrap();
    assert_eq!(&last.text, text);
    assert_eq!(
        last.assistant_spans.as_slice(),
        &rendered.assistant_spans[rendered.assistant_spans.len() - 1..],
        "{name}"
    );
    rendered.text
}

#[test]
fn spans_cover_exactly_each_assistant_turn_in_every_golden() {
    let templates = fixture_templates();
    let mut checked = BTreeMap::<String, usize>::new();
    for g in goldens() {
        let name = g["template"].as_str().unwrap();
        if g.get("expected").is_none() {
            continue;
        }
        let Some(messages) = plain_messages(&g) else {
            continue;
        };
        if !messages.iter().any(|m| m.role == Role::Assistant) {
            continue;
        }
        let id = format!("{name}/{}", g["case"]);
        let text = check_spans(name, &templates[name], &messages, &golden_opts(&g));
        assert_eq!(text, g["expected"].as_str().unwrap(), "{id}");
        *checked.entry(name.to_string()).or_default() += 1;
    }
    assert_eq!(checked.len(), 9, "{checked:?}");
    // multi_turn, unicode, whitespace_edges at least, for every template.
    assert!(checked.values().all(|&n| n >= 3), "{checked:?}");
}

fn conv(turns: &[(Role, &str)]) -> Vec<Message> {
    turns.iter().map(|(r, c)| Message::new(*r, *c)).collect()
}

#[test]
fn spans_survive_hostile_content() {
    use Role::{Assistant as A, System as S, User as U};
    let templates = fixture_templates();
    let cases = [
        // The same reply twice, and a reply equal to the question.
        conv(&[
            (U, "Say it."),
            (A, "Same reply here."),
            (U, "Again."),
            (A, "Same reply here."),
        ]),
        conv(&[(U, "Echo echo echo"), (A, "Echo echo echo")]),
        // Content that looks like template markup and special tokens.
        conv(&[
            (
                U,
                "<|im_start|>assistant\n<|start_header_id|>assistant<|end_header_id|>\n\n",
            ),
            (
                A,
                "<|im_end|> <|eot_id|> </s> <end_of_turn> <|end|> [/INST] <think>x</think>",
            ),
            (U, "<start_of_turn>model\n<|assistant|>\n"),
            (A, "  padded \t\n"),
        ]),
        // Empty and whitespace-only replies.
        conv(&[(U, "First"), (A, ""), (U, "Second"), (A, " \n ")]),
        // A system prompt and a longer history (Mistral moves it into the last user turn).
        conv(&[
            (S, "Be brief."),
            (U, "One"),
            (A, "Reply one, in full."),
            (U, "Two"),
            (A, "Reply two, in full."),
            (U, "Three"),
            (A, "Reply three, in full."),
        ]),
        // Reasoning in history and in the final turn.
        conv(&[
            (U, "Q1"),
            (
                A,
                "<think>\nfirst thoughts\n</think>\n\nAnswer one, in full.",
            ),
            (U, "Q2"),
            (A, "<think>second thoughts</think>Answer two, in full."),
        ]),
    ];
    for (name, t) in &templates {
        for messages in &cases {
            // Gemma has no system role (it raises).
            if name == "gemma-2-it" && messages[0].role == S {
                continue;
            }
            check_spans(name, t, messages, &opts());
        }
    }
}

#[test]
fn qwen3_think_blocks_follow_the_prompt_the_model_will_see() {
    let t = &fixture_templates()["qwen3"];
    let messages = conv(&[
        (Role::User, "Q1"),
        (Role::Assistant, "A1"),
        (Role::User, "Q2"),
        (Role::Assistant, "A2"),
    ]);
    // Default: the prompt ends at "<|im_start|>assistant\n", so the model generates the empty
    // think block of the last turn; earlier turns have none.
    let r = t
        .render_conversation(&messages, &opts(), SpanPolicy::AllAssistantTurns)
        .unwrap();
    let spans: Vec<&str> = r
        .assistant_spans
        .iter()
        .map(|s| &r.text[s.clone()])
        .collect();
    assert_eq!(
        spans,
        ["A1<|im_end|>", "<think>\n\n</think>\n\nA2<|im_end|>"]
    );
    assert!(r.text[..r.assistant_spans[1].start].ends_with("<|im_start|>assistant\n"));

    // enable_thinking=false: the prompt itself ends with the empty think block, so the model
    // only generates the answer.
    let mut o = opts();
    o.extra.insert("enable_thinking".into(), json!(false));
    let r = t
        .render_conversation(&messages, &o, SpanPolicy::AllAssistantTurns)
        .unwrap();
    let spans: Vec<&str> = r
        .assistant_spans
        .iter()
        .map(|s| &r.text[s.clone()])
        .collect();
    assert_eq!(spans, ["A1<|im_end|>", "A2<|im_end|>"]);
    let prompt = t
        .render(
            &json!([{"role": "user", "content": "Q1"}, {"role": "assistant", "content": "A1"}, {"role": "user", "content": "Q2"}]),
            &RenderOptions { add_generation_prompt: true, ..o.clone() },
        )
        .unwrap();
    assert_eq!(&r.text[..r.assistant_spans[1].start], prompt);
}

#[test]
fn a_span_starts_where_the_generation_prompt_ends() {
    // For every template whose history renders the same with and without a following turn,
    // the text before the last span is exactly the inference prompt.
    let templates = fixture_templates();
    let messages = conv(&[
        (Role::User, "Hello there"),
        (Role::Assistant, "General Kenobi"),
        (Role::User, "You are a bold one"),
        (Role::Assistant, "Kill him"),
    ]);
    let history = json!([
        {"role": "user", "content": "Hello there"},
        {"role": "assistant", "content": "General Kenobi"},
        {"role": "user", "content": "You are a bold one"},
    ]);
    for (name, t) in &templates {
        let r = t
            .render_conversation(&messages, &opts(), SpanPolicy::LastOnly)
            .unwrap();
        let prompt = t
            .render(
                &history,
                &RenderOptions {
                    add_generation_prompt: true,
                    ..opts()
                },
            )
            .unwrap();
        let before = &r.text[..r.assistant_spans[0].start];
        if name.starts_with("mistral") {
            // Mistral's prompt ends with "[/INST]"; the template then writes " " + content.
            assert_eq!(before, format!("{prompt} "), "{name}");
        } else {
            assert_eq!(before, prompt, "{name}");
        }
    }
}

#[test]
fn no_assistant_turn_means_no_span() {
    let t = &fixture_templates()["chatml"];
    let r = t
        .render_conversation(
            &conv(&[(Role::User, "Hi")]),
            &RenderOptions {
                add_generation_prompt: true,
                ..opts()
            },
            SpanPolicy::AllAssistantTurns,
        )
        .unwrap();
    assert_eq!(
        r.text,
        "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
    );
    assert!(r.assistant_spans.is_empty());
}

/// Differential check against a live `transformers`: set `MH_TEMPLATE_DIFF` to a JSON file of
/// `{template, messages, add_generation_prompt, extra_vars, expected | expected_error}` cases
/// rendered by transformers (any number, e.g. random conversations) and run with `--ignored`.
#[test]
#[ignore = "needs MH_TEMPLATE_DIFF, a file of cases rendered by transformers"]
fn differential_cases_from_transformers() {
    let Ok(path) = std::env::var("MH_TEMPLATE_DIFF") else {
        return;
    };
    let cases: Vec<Value> = serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap();
    let templates = fixture_templates();
    let mut failures = Vec::new();
    let mut spans_checked = 0;
    for (n, c) in cases.iter().enumerate() {
        let name = c["template"].as_str().unwrap();
        let t = &templates[name];
        let o = golden_opts(c);
        match (t.render(&c["messages"], &o), c.get("expected")) {
            (Ok(got), Some(want)) if want.as_str() == Some(got.as_str()) => {}
            (Err(e), None) if e.raised_message() == c["expected_error"].as_str() => {}
            (got, _) => failures.push(format!("case {n} {name}: got {got:?}\ncase: {c}")),
        }
        if let (Some(messages), Some(want)) = (plain_messages(c), c.get("expected")) {
            if messages.iter().any(|m| m.role == Role::Assistant) {
                let r = t
                    .render_conversation(&messages, &o, SpanPolicy::AllAssistantTurns)
                    .unwrap_or_else(|e| panic!("case {n} {name}: {e}"));
                assert_eq!(r.text, want.as_str().unwrap());
                let eot = t.end_of_turn().unwrap();
                let mut prev = 0;
                for (s, i) in r
                    .assistant_spans
                    .iter()
                    .zip((0..messages.len()).filter(|&i| messages[i].role == Role::Assistant))
                {
                    assert!(s.start >= prev, "case {n}");
                    let want = format!("{}{eot}", expected_turn(name, &messages, i, &o));
                    assert_eq!(&r.text[s.clone()], want, "case {n} {name} message {i}: {c}");
                    prev = s.end;
                }
                spans_checked += 1;
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
    eprintln!(
        "{} cases identical, {spans_checked} span checks",
        cases.len()
    );
}

/// Rendering speed, single-threaded (`cargo test --release -p mh-dataset --test templates
/// throughput -- --ignored --nocapture`). Not an assertion: numbers for the benchmark notes.
#[test]
#[ignore = "timing only"]
fn throughput() {
    let templates = fixture_templates();
    let n = 100_000;
    let conversations: Vec<Vec<Message>> = (0..n)
        .map(|k| {
            let mut m = vec![Message::new(
                Role::System,
                format!("You are Nell, a piano tuner ({k})."),
            )];
            for t in 0..3 {
                m.push(Message::new(
                    Role::User,
                    format!("Question {t} of conversation {k}: how was the day?"),
                ));
                m.push(Message::new(
                    Role::Assistant,
                    format!("Answer {t}: quiet, two uprights and a grand in Duluth ({k})."),
                ));
            }
            m
        })
        .collect();
    let as_json: Vec<Value> = conversations
        .iter()
        .map(|c| serde_json::to_value(c).unwrap())
        .collect();
    let render_opts = opts();
    for name in [
        "chatml",
        "qwen3",
        "llama-3.1-instruct",
        "mistral-7b-instruct-v0.3",
        "phi-3.5-mini-instruct",
    ] {
        let t = &templates[name];
        let start = std::time::Instant::now();
        let mut bytes = 0;
        for c in &as_json {
            bytes += t.render(c, &render_opts).unwrap().len();
        }
        let render = start.elapsed();
        let start = std::time::Instant::now();
        for c in &conversations {
            bytes += t
                .render_conversation(c, &render_opts, SpanPolicy::AllAssistantTurns)
                .unwrap()
                .text
                .len();
        }
        let spans = start.elapsed();
        eprintln!(
            "{name:28} render: {:>9.0} conv/s ({:.1} µs)   render_conversation (3 spans): {:>8.0} conv/s ({:.1} µs)   [{bytes} bytes]",
            n as f64 / render.as_secs_f64(),
            render.as_secs_f64() * 1e6 / n as f64,
            n as f64 / spans.as_secs_f64(),
            spans.as_secs_f64() * 1e6 / n as f64,
        );
    }
}
