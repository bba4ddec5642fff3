//! `mh_runtime::chat` against a real `run_local` version (tiny model + trained adapter) and the
//! loopback Ollama peer.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::OnceLock;

use mh_dataset::tokenize::ModelTokenizer;
use mh_model::generate::GenerationConfig;
use mh_model::{LoadOptions, Model};
use mh_profile::{NoProgress, Profile};
use mh_runtime::chat::{
    trained_with, ChatError, ChatOptions, ChatSession, Conversation, OllamaChat, TextStream,
};
use mh_runtime::{run_local, RunHooks, RunOptions, RunState, Step};
use mh_testkit::ollama::unreachable_url;
use mh_testkit::FakeOllama;
use mh_trainer::chat::ChatFormat;

mod common;

struct Fixture {
    dir: tempfile::TempDir,
    model: PathBuf,
    profile: PathBuf,
    run_dir: PathBuf,
    ollama: FakeOllama,
}

static STOP: AtomicBool = AtomicBool::new(false);

/// One `run_local` of a tiny Qwen2 model (tokenizer trained on the demo profile) on a copy of
/// the demo profile, registered in a loopback Ollama; version 1, active.
fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let model = common::tiny_model(dir.path());
        let profile = dir.path().join("profile");
        mh_testkit::copy_dir(&mh_testkit::demo_profile(), &profile).unwrap();
        let train = dir.path().join("short.json");
        std::fs::write(
            &train,
            r#"{"learning_rate": 2e-2, "max_steps": 3, "micro_batch_size": 2,
                "gradient_accumulation_steps": 1, "warmup_ratio": 0, "eval_every": 0,
                "save_every": 0, "seed": 5, "gguf_quant": "Q8_0"}"#,
        )
        .unwrap();
        let ollama = FakeOllama::start().unwrap();
        let options = RunOptions {
            base_model: Some(model.display().to_string()),
            config_files: vec![train],
            max_seq_length: Some(256),
            device: Some("cpu".into()),
            ollama_host: Some(ollama.url()),
            ..RunOptions::default()
        };
        let hooks = RunHooks {
            progress: &NoProgress,
            on_event: &|_| {},
            stop: &STOP,
            stop_before: None,
        };
        let summary = run_local(&Profile::at(&profile), options, &hooks).unwrap();
        assert_eq!(summary.version, Some(1));
        assert!(summary.activated);
        Fixture {
            dir,
            model,
            profile,
            run_dir: summary.run_dir,
            ollama,
        }
    })
}

fn greedy(max: usize) -> ChatOptions {
    ChatOptions {
        device: Some("cpu".into()),
        max_new_tokens: Some(max),
        temperature: Some(0.0),
        ..ChatOptions::default()
    }
}

fn system_prompt(run_dir: &Path) -> String {
    RunState::load(run_dir)
        .unwrap()
        .output(Step::Dataset, "system_prompt")
        .and_then(|v| v.as_str())
        .unwrap()
        .to_string()
}

#[test]
fn uses_the_system_prompt_and_template_the_version_was_trained_with() {
    let f = fixture();
    let tw = trained_with(&Profile::at(&f.profile), None).unwrap();
    assert_eq!(tw.version, 1);
    assert_eq!(
        tw.system_prompt.as_deref(),
        Some(system_prompt(&f.run_dir).as_str())
    );
    assert!(tw.system_prompt.as_deref().unwrap().contains("Nell"));
    let t = tw.template.as_ref().unwrap();
    assert!(t.source.contains("<|im_start|>"), "{}", t.source);
    assert!(t.manifest.ends_with("dataset/tokenized.json"));
    assert_eq!(tw.max_seq_length, Some(256));
    assert!(tw.adapter.join("adapter_model.safetensors").is_file());
    assert!(tw.notes.is_empty(), "{:?}", tw.notes);
    assert!(tw.ollama_model.is_some());

    let session = ChatSession::open(&Profile::at(&f.profile), &greedy(4), &NoProgress).unwrap();
    // min(max_position_embeddings, training max_seq_length)
    assert_eq!(session.context_window(), 256);
    assert!(session.info().template.contains("as trained"));
}

#[test]
fn a_single_prompt_replies_as_generate_does_with_base_and_adapter() {
    let f = fixture();
    let mut session =
        ChatSession::open(&Profile::at(&f.profile), &greedy(12), &NoProgress).unwrap();
    let mut pieces = String::new();
    let reply = session
        .send("What did you tune today?", &mut |p| {
            pieces.push_str(p);
            true
        })
        .unwrap();
    assert_eq!(pieces, reply.text);
    assert_eq!(session.turns().len(), 1);

    // The same prompt the way `generate` runs it: base + adapter loaded independently, the
    // model's own template, the system prompt, greedy, stopping at the end of turn.
    let mut model = Model::load(&f.model, &LoadOptions::cpu_f32()).unwrap();
    let adapter_dir = f.run_dir.join("train/adapter");
    let adapter = mh_model::read_peft_adapter(&adapter_dir, model.device()).unwrap();
    model.apply_peft_adapter(&adapter).unwrap();
    let format = ChatFormat::load(&f.model).unwrap();
    let messages = serde_json::json!([
        {"role": "system", "content": system_prompt(&f.run_dir)},
        {"role": "user", "content": "What did you tune today?"},
    ]);
    let ids = format.prompt_ids(&messages).unwrap();
    let cfg = GenerationConfig::greedy(12, &[format.end_of_turn.unwrap()]);
    let generated = model.generate(&ids, &cfg, |_| true).unwrap();
    let expected = format
        .tokenizer
        .tokenizer
        .decode(generated.content_tokens(), true)
        .unwrap();
    assert_eq!(reply.text, expected);
    assert_eq!(reply.prompt_tokens, Some(ids.len()));
    assert_eq!(reply.new_tokens, Some(generated.tokens.len()));
    assert!(reply.new_tokens.unwrap() > 0);
}

#[test]
fn streamed_pieces_concatenate_to_the_reply() {
    let f = fixture();
    for seed in 0..3 {
        let opts = ChatOptions {
            device: Some("cpu".into()),
            max_new_tokens: Some(40),
            temperature: Some(1.5),
            seed: Some(seed),
            ..ChatOptions::default()
        };
        let mut session = ChatSession::open(&Profile::at(&f.profile), &opts, &NoProgress).unwrap();
        let mut pieces: Vec<String> = Vec::new();
        let reply = session
            .send("Tell me about the piano at 91 °F", &mut |p| {
                pieces.push(p.to_string());
                true
            })
            .unwrap();
        assert_eq!(pieces.concat(), reply.text, "seed {seed}");
        assert!(pieces.len() > 1 && pieces.iter().all(|p| !p.is_empty()));
        assert_eq!(session.turns()[0].assistant, reply.text);
    }
}

#[test]
fn characters_split_across_tokens_stream_whole() {
    let f = fixture();
    let tokenizer = ModelTokenizer::from_model_dir(&f.model).unwrap();
    // Characters the tiny tokenizer never saw merged: each is several byte tokens.
    let text = "91 °F — café, 🎹 tuned. ありがとう";
    let (ids, _) = tokenizer.encode(text).unwrap();
    assert!(ids.len() > text.chars().count() / 2);
    let mut stream = TextStream::new(&tokenizer);
    let mut pieces = Vec::new();
    let mut held = 0;
    for &id in &ids {
        match stream.push(id).unwrap() {
            Some(p) => pieces.push(p),
            None => held += 1,
        }
    }
    let (rest, full) = stream.finish().unwrap();
    assert!(rest.is_empty(), "{rest:?}");
    assert_eq!(full, text);
    assert_eq!(pieces.concat(), text);
    assert!(held > 0, "no character spanned tokens");
    assert!(pieces.iter().all(|p| !p.contains('\u{FFFD}')), "{pieces:?}");

    // A reply cut inside a character still ends with all its text (the broken character as
    // U+FFFD, as the full decode has it).
    let cut = ids.len() - 1;
    let mut stream = TextStream::new(&tokenizer);
    let mut pieces = Vec::new();
    for &id in &ids[..cut] {
        pieces.extend(stream.push(id).unwrap());
    }
    let (rest, full) = stream.finish().unwrap();
    pieces.push(rest);
    assert_eq!(pieces.concat(), full);
    assert!(full.ends_with('\u{FFFD}'), "{full:?}");
}

#[test]
fn history_drops_the_oldest_turns_and_keeps_the_system_prompt() {
    let f = fixture();
    let opts = ChatOptions {
        context_window: Some(200),
        ..greedy(20)
    };
    let mut session = ChatSession::open(&Profile::at(&f.profile), &opts, &NoProgress).unwrap();
    let system = session.info().system_prompt.clone().unwrap();
    for i in 0..12 {
        session.push_turn(
            format!("question number {i} about tuning pianos"),
            format!("answer number {i}: the piano was fine"),
        );
    }
    let fitted = session.fit("and today?").unwrap();
    assert!(fitted.dropped_turns > 0 && fitted.dropped_turns < 12);
    assert!(fitted.prompt_ids.len() + fitted.max_new_tokens <= 200);
    assert_eq!(fitted.max_new_tokens, 20);
    assert_eq!(fitted.messages[0].role, "system");
    assert_eq!(fitted.messages[0].content, system);
    // The newest turns stayed, in order, then the new message.
    let kept = session.turns();
    assert_eq!(kept.len(), 12 - fitted.dropped_turns);
    assert_eq!(
        kept.last().unwrap().user,
        "question number 11 about tuning pianos"
    );
    assert_eq!(
        kept[0].user,
        format!(
            "question number {} about tuning pianos",
            fitted.dropped_turns
        )
    );
    assert_eq!(fitted.messages.last().unwrap().content, "and today?");
    assert_eq!(fitted.messages.len(), 1 + 2 * kept.len() + 1);
    // As many turns as fit: one more (the newest dropped one) would not.
    let one_more = serde_json::json!(std::iter::once(serde_json::json!({"role": "system", "content": system}))
        .chain(
            (fitted.dropped_turns - 1..12)
                .flat_map(|i| {
                    [
                        serde_json::json!({"role": "user", "content": format!("question number {i} about tuning pianos")}),
                        serde_json::json!({"role": "assistant", "content": format!("answer number {i}: the piano was fine")}),
                    ]
                })
        )
        .chain(std::iter::once(serde_json::json!({"role": "user", "content": "and today?"})))
        .collect::<Vec<_>>());
    let ids = session.format().prompt_ids(&one_more).unwrap();
    assert!(ids.len() + 20 > 200, "{} tokens", ids.len());

    // A reply through the trimmed history stays within the window.
    let reply = session.send("and today?", &mut |_| true).unwrap();
    assert_eq!(reply.dropped_turns, 0);
    assert!(reply.prompt_tokens.unwrap() + reply.new_tokens.unwrap() <= 200);

    // A message longer than the window is refused, not silently cut.
    let long = "tuning ".repeat(400);
    assert!(matches!(
        session.fit(&long),
        Err(ChatError::ContextFull { .. })
    ));
    // When the message alone leaves less than max_new_tokens, the reply gets what is left.
    session.reset();
    let squeezed = (1..400)
        .map(|n| "tuning ".repeat(n))
        .find_map(|m| {
            let f = session.fit(&m).ok()?;
            (f.prompt_ids.len() + 20 > 200).then_some(f)
        })
        .unwrap();
    assert_eq!(squeezed.max_new_tokens, 200 - squeezed.prompt_ids.len());
    assert!(squeezed.max_new_tokens > 0 && squeezed.max_new_tokens < 20);
}

#[test]
fn without_run_records_the_base_template_is_used_and_said() {
    let f = fixture();
    let copy = tempfile::tempdir().unwrap();
    mh_testkit::copy_dir(&f.profile, copy.path()).unwrap();
    let label = f.run_dir.file_name().unwrap();
    let run = copy.path().join("out/runs").join(label);
    std::fs::remove_file(run.join("state.json")).unwrap();
    std::fs::remove_file(run.join("dataset/tokenized.json")).unwrap();
    let profile = Profile::at(copy.path());
    let tw = trained_with(&profile, Some(1)).unwrap();
    assert!(tw.template.is_none() && tw.system_prompt.is_none());
    assert!(
        tw.notes.iter().any(|n| n.contains("system prompt")),
        "{:?}",
        tw.notes
    );
    let mut session = ChatSession::open(&profile, &greedy(3), &NoProgress).unwrap();
    assert!(session.info().template.contains("base model"));
    assert!(session
        .info()
        .notes
        .iter()
        .any(|n| n.contains("chat template")));
    session.send("hi", &mut |_| true).unwrap();
}

#[test]
fn no_active_version_names_the_commands() {
    let copy = tempfile::tempdir().unwrap();
    mh_testkit::copy_dir(&mh_testkit::demo_profile(), copy.path()).unwrap();
    let err = trained_with(&Profile::at(copy.path()), None).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, ChatError::NoActiveVersion { .. }));
    assert!(
        msg.contains("mh-train local") && msg.contains("mh-train activate"),
        "{msg}"
    );
    let f = fixture();
    let err = trained_with(&Profile::at(&f.profile), Some(9)).unwrap_err();
    assert!(err.to_string().contains("no version 9"), "{err}");
}

#[test]
fn ollama_chat_sends_the_system_prompt_and_history() {
    let f = fixture();
    let profile = Profile::at(&f.profile);
    let opts = ChatOptions {
        ollama_host: Some(f.ollama.url()),
        max_new_tokens: Some(50),
        temperature: Some(0.0),
        seed: Some(7),
        ..ChatOptions::default()
    };
    let mut chat = OllamaChat::open(&profile, &opts).unwrap();
    let system = system_prompt(&f.run_dir);
    let mut pieces = Vec::new();
    let r1 = chat
        .send("hello there", &mut |p| {
            pieces.push(p.to_string());
            true
        })
        .unwrap();
    assert_eq!(r1.text, "echo: hello there");
    assert_eq!(pieces, ["echo: ", "hello ", "there"]);
    assert_eq!(r1.stop_reason, "stop");
    let r2 = chat.send("and now?", &mut |_| true).unwrap();
    assert_eq!(r2.text, "echo: and now?");
    chat.reset();
    chat.send("fresh start", &mut |_| true).unwrap();

    let requests = f.ollama.chat_requests();
    let mine: Vec<&serde_json::Value> = requests
        .iter()
        .filter(|r| {
            r["messages"].as_array().is_some_and(|m| {
                m.iter()
                    .any(|x| x["content"] == "hello there" || x["content"] == "fresh start")
            })
        })
        .collect();
    assert_eq!(mine.len(), 3);
    let model = chat.info().ollama_model.clone().unwrap();
    for r in &mine {
        assert_eq!(r["model"], model.as_str());
        assert_eq!(r["stream"], true);
        assert_eq!(r["options"]["num_predict"], 50);
        assert_eq!(r["options"]["temperature"], 0.0);
        assert_eq!(r["options"]["seed"], 7);
    }
    let roles = |r: &serde_json::Value| -> Vec<(String, String)> {
        r["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    m["role"].as_str().unwrap().to_string(),
                    m["content"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let s = |a: &str, b: &str| (a.to_string(), b.to_string());
    assert_eq!(
        roles(mine[1]),
        [
            s("system", &system),
            s("user", "hello there"),
            s("assistant", "echo: hello there"),
            s("user", "and now?"),
        ]
    );
    assert_eq!(
        roles(mine[2]),
        [s("system", &system), s("user", "fresh start")]
    );

    // A stopped stream keeps what arrived.
    let mut n = 0;
    let r = chat
        .send("one two three", &mut |_| {
            n += 1;
            n < 2
        })
        .unwrap();
    assert_eq!(r.text, "echo: one ");
    assert_eq!(r.stop_reason, "callback");
}

#[test]
fn ollama_errors_are_clear() {
    let f = fixture();
    let profile = Profile::at(&f.profile);
    let opts = |url: String| ChatOptions {
        ollama_host: Some(url),
        ..ChatOptions::default()
    };
    let err = OllamaChat::open(&profile, &opts(unreachable_url()))
        .err()
        .unwrap();
    assert!(matches!(err, ChatError::OllamaUnreachable { .. }), "{err}");
    assert!(err.to_string().contains("without --ollama"), "{err}");

    // An Ollama that does not have the model.
    let empty = FakeOllama::start().unwrap();
    let err = OllamaChat::open(&profile, &opts(empty.url()))
        .err()
        .unwrap();
    assert!(matches!(err, ChatError::OllamaModelMissing { .. }), "{err}");
    assert!(err.to_string().contains("ollama create"), "{err}");

    // A version that was never registered in Ollama.
    let copy = tempfile::tempdir().unwrap();
    mh_testkit::copy_dir(&f.profile, copy.path()).unwrap();
    let reg_path = copy.path().join("etc/model-registry.json");
    let mut reg: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&reg_path).unwrap()).unwrap();
    reg["training_history"][0]["ollama_model"] = serde_json::Value::Null;
    std::fs::write(&reg_path, serde_json::to_vec_pretty(&reg).unwrap()).unwrap();
    let err = OllamaChat::open(&Profile::at(copy.path()), &opts(f.ollama.url()))
        .err()
        .unwrap();
    assert!(
        matches!(err, ChatError::NoOllamaModel { version: 1, .. }),
        "{err}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("ollama create") && msg.contains("Modelfile"),
        "{msg}"
    );
    let _ = &f.dir;
}
