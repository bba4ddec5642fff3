//! `mh-train template render` reproduces transformers' goldens byte for byte.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::{json, Value};

mod common;
use common::mh_train;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../mh-dataset/tests/fixtures/templates")
}

fn read_json(name: &str) -> Value {
    serde_json::from_str(&fs::read_to_string(fixtures().join(name)).unwrap()).unwrap()
}

/// A model directory whose tokenizer_config.json carries the fixture template and the special
/// tokens transformers rendered the goldens with.
fn model_dir(template: &str) -> tempfile::TempDir {
    let manifest = read_json("manifest.json");
    let t = manifest["templates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == template)
        .unwrap()
        .clone();
    let source = fs::read_to_string(fixtures().join(t["file"].as_str().unwrap())).unwrap();
    let mut config = t["template_vars"].as_object().unwrap().clone();
    config.insert("chat_template".into(), Value::String(source));
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("tokenizer_config.json"),
        serde_json::to_string_pretty(&config).unwrap(),
    )
    .unwrap();
    dir
}

fn golden(template: &str, case: &str) -> Value {
    read_json("goldens.json")
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["template"] == template && g["case"] == case)
        .unwrap_or_else(|| panic!("no golden {template}/{case}"))
        .clone()
}

/// Run `template render` for a golden, passing its messages (and tools) in a file and its extra
/// variables as --var; returns the process output.
fn render_golden(g: &Value, as_object: bool) -> Output {
    let model = model_dir(g["template"].as_str().unwrap());
    let file = model.path().join("messages.json");
    let doc = if as_object {
        json!({"messages": g["messages"], "tools": g.get("tools")})
    } else {
        g["messages"].clone()
    };
    fs::write(&file, doc.to_string()).unwrap();
    let mut args: Vec<String> = vec![
        "template".into(),
        "render".into(),
        "--model".into(),
        model.path().to_str().unwrap().into(),
        "--messages".into(),
        file.to_str().unwrap().into(),
        "--now".into(),
        "2025-03-14T09:26:53".into(),
    ];
    if g["add_generation_prompt"].as_bool().unwrap() {
        args.push("--add-generation-prompt".into());
    }
    for (k, v) in g["extra_vars"].as_object().unwrap() {
        let v = match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        args.push("--var".into());
        args.push(format!("{k}={v}"));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    mh_train(&args)
}

#[test]
fn render_reproduces_goldens_byte_for_byte() {
    for (template, case, as_object) in [
        ("chatml", "multi_turn", false),
        ("llama-3.2-instruct", "user_generation_prompt", false), // strftime_now → --now
        ("llama-3.2-instruct", "date_string_override", false),   // --var date_string=01 Jan 2030
        ("llama-3.1-instruct", "tools_in_system_message", true), // --var …=false, tools
        ("qwen3", "thinking_disabled_generation_prompt", false), // --var enable_thinking=false
        ("qwen3", "think_blocks_in_content", false),
        ("mistral-7b-instruct-v0.3", "tools_round_trip", true),
        ("gemma-2-it", "unicode_and_jinja_syntax", false),
        ("phi-3.5-mini-instruct", "whitespace_edges", false),
    ] {
        let g = golden(template, case);
        let out = render_golden(&g, as_object);
        assert!(
            out.status.success(),
            "{template}/{case}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            String::from_utf8(out.stdout).unwrap(),
            g["expected"].as_str().unwrap(),
            "{template}/{case}"
        );
    }
}

#[test]
fn a_raising_template_exits_1_with_its_message_on_one_line() {
    let g = golden("gemma-2-it", "system_user_assistant");
    let out = render_golden(&g, false);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("mh-train: rendering "), "{err}");
    assert!(err.contains("messages.json"), "{err}");
    assert!(
        err.trim_end().ends_with("System role not supported"),
        "{err}"
    );
}

#[test]
fn bad_inputs_exit_1_naming_the_file_and_bad_usage_exits_2() {
    let model = model_dir("chatml");
    let file = model.path().join("messages.json");
    fs::write(&file, "{\"messages\": 3}").unwrap();
    let args = [
        "template",
        "render",
        "--model",
        model.path().to_str().unwrap(),
        "--messages",
        file.to_str().unwrap(),
    ];
    let out = mh_train(&args);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("messages.json") && err.contains("messages"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");

    let empty = tempfile::tempdir().unwrap();
    fs::write(&file, "[]").unwrap();
    let out = mh_train(&[
        "template",
        "render",
        "--model",
        empty.path().to_str().unwrap(),
        "--messages",
        file.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains(empty.path().to_str().unwrap()) && err.contains("no chat template"),
        "{err}"
    );

    let out = mh_train(&[&args[..], &["--var", "novalue"]].concat());
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_builtin_can_be_chosen_and_vars_are_json_when_they_parse() {
    let model = model_dir("chatml");
    let file = model.path().join("messages.json");
    fs::write(&file, r#"[{"role": "user", "content": "Q"}]"#).unwrap();
    let tmpl = model.path().join("vars.jinja");
    fs::write(
        &tmpl,
        "{{ a is false }} {{ b + 1 }} {{ c | length }} {{ d }}",
    )
    .unwrap();
    let out = mh_train(&[
        "template",
        "render",
        "--model",
        model.path().to_str().unwrap(),
        "--messages",
        file.to_str().unwrap(),
        "--chat-template",
        tmpl.to_str().unwrap(),
        "--var",
        "a=false",
        "--var",
        "b=3",
        "--var",
        r#"c=["x","y"]"#,
        "--var",
        "d=plain text",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "True 4 2 plain text"
    );

    let out = mh_train(&[
        "template",
        "render",
        "--model",
        model.path().to_str().unwrap(),
        "--messages",
        file.to_str().unwrap(),
        "--chat-template",
        "qwen3",
        "--add-generation-prompt",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n"
    );
}
