//! `mh-train chat`: a conversation with the active version (or `--version N`), locally through
//! candle or through Ollama (`--ollama`); `--prompt TEXT` answers once (mh-runtime's chat).

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result};
use clap::Args;
use mh_runtime::chat::{ChatOptions, ChatReply, ChatSession, Conversation, OllamaChat};
use serde_json::json;

use super::activate::open_lineage;
use super::note;
use crate::progress::Bars;
use crate::Global;

#[derive(Args)]
pub struct ChatArgs {
    /// Answer this one message and exit (for scripts); without it, a conversation on stdin
    /// (one message per line; /reset starts over, /exit or end of input ends it)
    #[arg(long)]
    prompt: Option<String>,
    /// The version to talk to [default: the active one]
    #[arg(long)]
    version: Option<u32>,
    /// Talk to the version's registered Ollama model (OLLAMA_HOST) instead of running it here
    #[arg(long)]
    ollama: bool,
    /// Most new tokens per reply [default: the base model's generation_config.json, else 256]
    #[arg(long)]
    max_tokens: Option<usize>,
    /// 0 decodes greedily [default: the base model's generation_config.json, else greedy]
    #[arg(long)]
    temperature: Option<f32>,
    /// Sampling seed [default: 0; Ollama's own with --ollama]
    #[arg(long)]
    seed: Option<u64>,
    /// cpu, cuda, cuda:N or auto (a usable GPU, else the CPU); not with --ollama
    #[arg(long, default_value = "auto")]
    device: String,
}

/// A reply is being generated: Ctrl-C stops it instead of quitting.
static GENERATING: AtomicBool = AtomicBool::new(false);
/// Set by Ctrl-C during a reply.
static STOP: AtomicBool = AtomicBool::new(false);

pub fn run(a: ChatArgs, g: &Global) -> Result<ExitCode> {
    let (profile, _lineage) = open_lineage(g)?;
    let opts = ChatOptions {
        version: a.version,
        device: Some(a.device.clone()),
        max_new_tokens: a.max_tokens,
        temperature: a.temperature,
        seed: a.seed,
        context_window: None,
        ollama_host: None,
    };
    let mut chat: Box<dyn Conversation> = if a.ollama {
        Box::new(OllamaChat::open(&profile, &opts)?)
    } else {
        Box::new(ChatSession::open(
            &profile,
            &opts,
            &Bars::new(g.quiet || g.json),
        )?)
    };
    describe(chat.as_ref(), g);

    if let Some(prompt) = &a.prompt {
        let reply = answer(chat.as_mut(), prompt, g)?;
        if g.json {
            println!(
                "{}",
                serde_json::to_string_pretty(&reply_json(chat.as_ref(), &reply))?
            );
        }
        return Ok(ExitCode::SUCCESS);
    }

    let interactive = std::io::stdin().is_terminal();
    if interactive {
        ctrlc::set_handler(|| {
            if GENERATING.load(Ordering::SeqCst) {
                STOP.store(true, Ordering::SeqCst);
            } else {
                std::process::exit(130);
            }
        })
        .context("installing the Ctrl-C handler")?;
        note(
            g,
            "type a message; /reset starts over, /exit or Ctrl-D ends, Ctrl-C stops a reply",
        );
    }
    let stdin = std::io::stdin();
    let mut lines = stdin.lock();
    let mut line = String::new();
    loop {
        if interactive && !g.json {
            print!("you> ");
            std::io::stdout().flush().context("writing to stdout")?;
        }
        line.clear();
        if lines.read_line(&mut line).context("reading stdin")? == 0 {
            if interactive && !g.json {
                println!();
            }
            break;
        }
        let text = line.trim_end_matches(['\n', '\r']);
        match text.trim() {
            "" => continue,
            "/exit" | "/quit" => break,
            "/reset" => {
                chat.reset();
                note(g, "(history cleared)");
                continue;
            }
            _ => {}
        }
        match answer(chat.as_mut(), text, g) {
            Ok(reply) => {
                if g.json {
                    println!("{}", reply_json(chat.as_ref(), &reply));
                }
            }
            // At a terminal a failed reply is reported and the conversation goes on.
            Err(e) if interactive => eprintln!("mh-train: {e:#}"),
            Err(e) => return Err(e),
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Which version, on what, with which prompt and template; and any fallback taken.
fn describe(chat: &dyn Conversation, g: &Global) {
    let i = chat.info();
    note(
        g,
        &format!(
            "version {} (run {}) via {}{}",
            i.version,
            i.run_label,
            i.backend,
            i.ollama_model
                .as_ref()
                .filter(|_| i.backend.starts_with("ollama"))
                .map_or(String::new(), |m| format!(", model {m}"))
        ),
    );
    if g.verbose {
        note(g, &format!("template: {}", i.template));
        if let Some(n) = i.context_window {
            note(g, &format!("context window: {n} tokens"));
        }
        if let Some(s) = &i.system_prompt {
            note(g, &format!("system prompt: {s}"));
        }
    }
    for n in &i.notes {
        note(g, &format!("note: {n}"));
    }
}

/// Send one message, the reply streaming to stdout (unless --json).
fn answer(chat: &mut dyn Conversation, text: &str, g: &Global) -> Result<ChatReply> {
    let stream = !g.json;
    let mut stdout = std::io::stdout();
    STOP.store(false, Ordering::SeqCst);
    GENERATING.store(true, Ordering::SeqCst);
    let result = chat.send(text, &mut |piece| {
        if STOP.load(Ordering::SeqCst) {
            return false;
        }
        if stream {
            // A closed stdout (e.g. `| head`) ends the reply instead of failing it.
            return write!(stdout, "{piece}")
                .and_then(|_| stdout.flush())
                .is_ok();
        }
        true
    });
    GENERATING.store(false, Ordering::SeqCst);
    let reply = result?;
    if stream {
        writeln!(stdout).context("writing to stdout")?;
    }
    if g.verbose {
        note(
            g,
            &format!(
                "{} prompt + {} new tokens{}, stopped by {}{}",
                reply
                    .prompt_tokens
                    .map_or("?".to_string(), |n| n.to_string()),
                reply.new_tokens.map_or("?".to_string(), |n| n.to_string()),
                reply
                    .tokens_per_s
                    .map_or(String::new(), |t| format!(", {t:.1} tokens/s")),
                reply.stop_reason,
                if reply.dropped_turns > 0 {
                    format!(
                        "; {} oldest turn(s) dropped to fit the context",
                        reply.dropped_turns
                    )
                } else {
                    String::new()
                }
            ),
        );
    } else if reply.dropped_turns > 0 {
        note(
            g,
            &format!(
                "({} oldest turn(s) dropped to fit the context window)",
                reply.dropped_turns
            ),
        );
    }
    Ok(reply)
}

fn reply_json(chat: &dyn Conversation, reply: &ChatReply) -> serde_json::Value {
    let i = chat.info();
    json!({
        "version": i.version,
        "run_label": i.run_label,
        "reply": reply.text,
        "prompt_tokens": reply.prompt_tokens,
        "new_tokens": reply.new_tokens,
        "stop_reason": reply.stop_reason,
        "dropped_turns": reply.dropped_turns,
        "turns": chat.turns().len(),
    })
}
