//! `mh-train chat` (and the runs disk line of `status`) through the real binary, on a copy of the
//! demo profile after one real tiny `local` run registered in the loopback Ollama.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use common::{demo_copy, local_setup, mh_train, mh_train_env, s, stderr};
use mh_testkit::FakeOllama;
use serde_json::Value;

struct Fixture {
    profile: tempfile::TempDir,
    _work: tempfile::TempDir,
    run_dir: PathBuf,
    ollama: FakeOllama,
}

/// Version 1, active, registered in the fake Ollama.
fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let (profile, work, model) = local_setup();
        let config = work.path().join("short.json");
        let ollama = FakeOllama::start().unwrap();
        let out = mh_train_env(
            &[
                "--profile",
                s(profile.path()),
                "--json",
                "local",
                "--base-model",
                s(&model),
                "--config",
                s(&config),
                "--device",
                "cpu",
                "--max-seq-length",
                "256",
            ],
            &[("OLLAMA_HOST", &ollama.url())],
        );
        assert!(out.status.success(), "{}", stderr(&out));
        let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(summary["activated"], true);
        assert!(summary["ollama_model"].is_string(), "{summary}");
        Fixture {
            run_dir: PathBuf::from(summary["run_dir"].as_str().unwrap()),
            profile,
            _work: work,
            ollama,
        }
    })
}

fn system_prompt(run_dir: &Path) -> String {
    let state: Value =
        serde_json::from_slice(&std::fs::read(run_dir.join("state.json")).unwrap()).unwrap();
    let dataset = state["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "dataset")
        .unwrap();
    dataset["outputs"]["system_prompt"]
        .as_str()
        .unwrap()
        .to_string()
}

/// `mh-train ARGS` with `input` on its stdin.
fn with_stdin(args: &[&str], env: &[(&str, &str)], input: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mh-train"))
        .args(args)
        .env_remove("METAHUMAN_ROOT")
        .env_remove("MH_PROFILE_PASSPHRASE")
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn json_lines(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

const GREEDY: [&str; 6] = ["--device", "cpu", "--max-tokens", "8", "--temperature", "0"];

#[test]
fn chat_prompt_answers_as_generate_active_does() {
    let f = fixture();
    let p = s(f.profile.path());
    let mut args = vec!["--profile", p, "--json", "chat", "--prompt", "hi"];
    args.extend(GREEDY);
    let out = mh_train(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    let chat: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(chat["version"], 1);
    let reply = chat["reply"].as_str().unwrap();
    assert!(chat["new_tokens"].as_u64().unwrap() > 0, "{chat}");

    // generate --active with the system prompt the version was trained with.
    let system = system_prompt(&f.run_dir);
    let mut args = vec![
        "--profile",
        p,
        "--json",
        "generate",
        "--active",
        "--prompt",
        "hi",
        "--system",
        &system,
    ];
    args.extend(GREEDY);
    let out = mh_train(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    let generated: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(generated["text"].as_str().unwrap(), reply);
    assert_eq!(generated["prompt_tokens"], chat["prompt_tokens"]);

    // Without --json the streamed text is the reply, then a newline.
    let mut args = vec!["--profile", p, "chat", "--prompt", "hi"];
    args.extend(GREEDY);
    let out = mh_train(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), format!("{reply}\n"));
    assert!(stderr(&out).contains("version 1"), "{}", stderr(&out));
}

#[test]
fn piped_conversation_keeps_history_and_reset_clears_it() {
    let f = fixture();
    let p = s(f.profile.path());
    let mut args = vec!["--profile", p, "--json", "chat"];
    args.extend(GREEDY);
    let out = with_stdin(
        &args,
        &[],
        "hi\nhow was the piano?\n\n/reset\nhi\n/exit\nnot read\n",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 3, "{lines:?}");
    let tokens = |i: usize| lines[i]["prompt_tokens"].as_u64().unwrap();
    assert_eq!(lines[0]["turns"], 1);
    assert_eq!(lines[1]["turns"], 2);
    // The second prompt carries the first exchange.
    assert!(tokens(1) > tokens(0) + lines[0]["new_tokens"].as_u64().unwrap());
    // After /reset the same message gives the same prompt and (greedy) the same reply.
    assert_eq!(lines[2]["turns"], 1);
    assert_eq!(tokens(2), tokens(0));
    assert_eq!(lines[2]["reply"], lines[0]["reply"]);

    // Plain text: each reply streamed, then a newline; end of input ends the session.
    let mut args = vec!["--profile", p, "chat"];
    args.extend(GREEDY);
    let out = with_stdin(&args, &[], "hi\nhow was the piano?\n");
    assert!(out.status.success(), "{}", stderr(&out));
    let reply = |i: usize| lines[i]["reply"].as_str().unwrap().to_string();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("{}\n{}\n", reply(0), reply(1))
    );
}

#[test]
fn ollama_chat_sends_the_system_prompt_and_history() {
    let f = fixture();
    let p = s(f.profile.path());
    let url = f.ollama.url();
    let out = with_stdin(
        &[
            "--profile",
            p,
            "--json",
            "chat",
            "--ollama",
            "--max-tokens",
            "20",
        ],
        &[("OLLAMA_HOST", &url)],
        "good morning\nwhat next?\n/reset\nagain\n",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let lines = json_lines(&out);
    let replies: Vec<&str> = lines.iter().map(|l| l["reply"].as_str().unwrap()).collect();
    assert_eq!(
        replies,
        ["echo: good morning", "echo: what next?", "echo: again"]
    );

    let system = system_prompt(&f.run_dir);
    let requests: Vec<Value> = f
        .ollama
        .chat_requests()
        .into_iter()
        .filter(|r| {
            r["messages"].to_string().contains("good morning")
                || r["messages"].to_string().contains("\"again\"")
        })
        .collect();
    assert_eq!(requests.len(), 3);
    let messages = |r: &Value| -> Vec<(String, String)> {
        r["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    m["role"].as_str().unwrap().into(),
                    m["content"].as_str().unwrap().into(),
                )
            })
            .collect()
    };
    let m = |a: &str, b: &str| (a.to_string(), b.to_string());
    assert_eq!(
        messages(&requests[1]),
        [
            m("system", &system),
            m("user", "good morning"),
            m("assistant", "echo: good morning"),
            m("user", "what next?"),
        ]
    );
    assert_eq!(
        messages(&requests[2]),
        [m("system", &system), m("user", "again")]
    );
    assert_eq!(requests[0]["stream"], true);
    assert_eq!(requests[0]["options"]["num_predict"], 20);

    // Without --json the reply streams as text.
    let out = mh_train_env(
        &["--profile", p, "chat", "--ollama", "--prompt", "hello"],
        &[("OLLAMA_HOST", &url)],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "echo: hello\n");

    // Nothing listening: a clear error.
    let out = mh_train_env(
        &["--profile", p, "chat", "--ollama", "--prompt", "hello"],
        &[("OLLAMA_HOST", &mh_testkit::ollama::unreachable_url())],
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("no Ollama is reachable"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn chat_without_an_active_version_names_the_way_out() {
    let profile = demo_copy();
    let out = mh_train(&["--profile", s(profile.path()), "chat", "--prompt", "hi"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("no active version"), "{err}");
    assert!(
        err.contains("mh-train local") && err.contains("mh-train activate"),
        "{err}"
    );
}

#[test]
fn status_reports_the_disk_used_by_runs() {
    let f = fixture();
    let p = s(f.profile.path());
    let out = mh_train(&["--profile", p, "--json", "status"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    let bytes = status["runs_disk"]["bytes"].as_u64().unwrap();
    assert_eq!(status["runs_disk"]["runs"], 1);
    // At least the adapter, merged model and GGUF of the run.
    assert!(bytes > 100_000, "{bytes}");
    let out = mh_train(&["--profile", p, "status"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().find(|l| l.starts_with("runs ")).unwrap();
    assert!(line.contains("MB") || line.contains("kB"), "{line}");
    assert!(line.contains("1 run(s)"), "{line}");
}
