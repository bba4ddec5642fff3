//! `OllamaClient::chat` against the loopback Ollama peer: the streamed reply, what is sent,
//! early stop and errors.

use std::time::Duration;

use mh_ollama::{
    ChatMessage, ChatRequest, ClientOptions, ModelBase, ModelName, ModelSpec, OllamaClient,
    OllamaError, OllamaTemplate, TemplateOptions,
};
use mh_testkit::ollama::{tiny_gguf, unreachable_url, Endpoint, Fault};
use mh_testkit::FakeOllama;

const CHATML_JINJA: &str = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

fn client(url: &str) -> OllamaClient {
    OllamaClient::with_base_url(
        url,
        ClientOptions {
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(20),
            transfer_timeout: Duration::from_secs(20),
            retries: 1,
            retry_delay: Duration::ZERO,
        },
    )
}

/// A fake with the model `nell-chat` registered; returns the fake and the model name.
fn registered() -> (FakeOllama, String, tempfile::TempDir) {
    let fake = FakeOllama::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let gguf = dir.path().join("model.gguf");
    std::fs::write(&gguf, tiny_gguf("qwen2", "model", 15, 1024)).unwrap();
    let spec = ModelSpec {
        name: ModelName::sanitized("nell-chat").unwrap(),
        base: ModelBase::Gguf(gguf),
        adapter: None,
        template: OllamaTemplate::from_chat_template(CHATML_JINJA, &TemplateOptions::default())
            .unwrap(),
        system: Some("You are Nell.".into()),
        num_ctx: Some(256),
    };
    client(&fake.url()).register(&spec, &mut |_| {}).unwrap();
    (fake, "nell-chat".into(), dir)
}

fn request(model: &str, messages: &[(&str, &str)]) -> ChatRequest {
    ChatRequest {
        model: model.into(),
        messages: messages
            .iter()
            .map(|(r, c)| ChatMessage::new(*r, *c))
            .collect(),
        options: serde_json::json!({"temperature": 0.0, "num_predict": 10})
            .as_object()
            .unwrap()
            .clone(),
    }
}

#[test]
fn streams_the_reply_and_sends_the_conversation() {
    let (fake, model, _dir) = registered();
    let req = request(
        &model,
        &[
            ("system", "You are Nell."),
            ("user", "hi"),
            ("assistant", "echo: hi"),
            ("user", "tune the piano"),
        ],
    );
    let mut pieces = Vec::new();
    let r = client(&fake.url())
        .chat(&req, &mut |p| {
            pieces.push(p.to_string());
            true
        })
        .unwrap();
    assert_eq!(pieces, ["echo: ", "tune ", "the ", "piano"]);
    assert_eq!(r.message.content, "echo: tune the piano");
    assert_eq!(r.message.role, "assistant");
    assert_eq!(r.done_reason.as_deref(), Some("stop"));
    assert_eq!(r.eval_count, Some(4));
    // Words of every message: 3 + 1 + 2 + 3.
    assert_eq!(r.prompt_eval_count, Some(9));
    assert!(!r.stopped);

    let sent = fake.chat_requests();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["stream"], true);
    assert_eq!(sent[0]["model"], "nell-chat");
    assert_eq!(sent[0]["options"]["num_predict"], 10);
    assert_eq!(sent[0]["messages"][0]["role"], "system");
    assert_eq!(sent[0]["messages"][3]["content"], "tune the piano");

    // num_predict ends the reply early, as the server does ("length").
    let mut short = req.clone();
    short.options.insert("num_predict".into(), 2.into());
    let r = client(&fake.url()).chat(&short, &mut |_| true).unwrap();
    assert_eq!(r.message.content, "echo: tune ");
    assert_eq!(r.done_reason.as_deref(), Some("length"));
}

#[test]
fn the_callback_stops_the_stream() {
    let (fake, model, _dir) = registered();
    let req = request(&model, &[("user", "one two three")]);
    let mut calls = 0;
    let r = client(&fake.url())
        .chat(&req, &mut |_| {
            calls += 1;
            calls < 2
        })
        .unwrap();
    assert!(r.stopped);
    assert_eq!(r.message.content, "echo: one ");
    assert_eq!(r.done_reason, None);
}

#[test]
fn errors_name_the_model_and_the_server() {
    let (fake, model, _dir) = registered();
    let c = client(&fake.url());

    let err = c
        .chat(&request("nobody", &[("user", "hi")]), &mut |_| true)
        .unwrap_err();
    assert!(matches!(err, OllamaError::ModelNotFound { .. }), "{err}");

    fake.fail_next(
        Endpoint::Chat,
        Fault::ErrorMidStream("out of memory".into()),
    );
    let mut got = String::new();
    let err = c
        .chat(&request(&model, &[("user", "a b c")]), &mut |p| {
            got.push_str(p);
            true
        })
        .unwrap_err();
    assert!(matches!(err, OllamaError::ChatFailed { .. }), "{err}");
    assert!(err.to_string().contains("out of memory"), "{err}");
    assert_eq!(got, "echo: ");

    fake.fail_next(
        Endpoint::Chat,
        Fault::Status(500, "llama runner crashed".into()),
    );
    let err = c
        .chat(&request(&model, &[("user", "hi")]), &mut |_| true)
        .unwrap_err();
    assert!(err.to_string().contains("llama runner crashed"), "{err}");

    let err = client(&unreachable_url())
        .chat(&request(&model, &[("user", "hi")]), &mut |_| true)
        .unwrap_err();
    assert!(err.is_unreachable(), "{err}");
}
