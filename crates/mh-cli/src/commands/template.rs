//! `mh-train template …`: render a model's chat template the way `transformers` does.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use chrono::NaiveDateTime;
use clap::Subcommand;
use mh_dataset::template::{ChatTemplate, RenderOptions, TemplateChoice};
use serde_json::Value;

use crate::Global;

#[derive(Subcommand)]
pub enum TemplateCommand {
    /// Print a conversation rendered with the model's chat template, exactly as
    /// transformers' apply_chat_template(..., tokenize=False) would (no newline added)
    Render {
        /// Model directory (tokenizer_config.json, chat_template.jinja, config.json)
        #[arg(long)]
        model: PathBuf,
        /// JSON file: an array of messages, or an object with "messages" (and optionally
        /// "tools", "documents")
        #[arg(long)]
        messages: PathBuf,
        /// Append the prompt for the assistant's next turn
        #[arg(long)]
        add_generation_prompt: bool,
        /// Chat template: auto (the model's own), auto:NAME (one of its named templates), a
        /// built-in name, or a .jinja file
        #[arg(long, value_name = "auto|NAME|PATH", default_value = "auto")]
        chat_template: String,
        /// Extra template variable; VALUE is JSON when it parses as JSON (false, 3, ["a"]),
        /// else a string
        #[arg(long = "var", value_name = "KEY=VALUE", value_parser = parse_var)]
        vars: Vec<(String, Value)>,
        /// The time strftime_now sees (YYYY-MM-DDTHH:MM:SS), for reproducible renders
        /// [default: the local clock, as transformers]
        #[arg(long, value_name = "DATETIME", value_parser = parse_now)]
        now: Option<NaiveDateTime>,
    },
}

pub fn run(cmd: TemplateCommand, _g: &Global) -> Result<ExitCode> {
    match cmd {
        TemplateCommand::Render {
            model,
            messages,
            add_generation_prompt,
            chat_template,
            vars,
            now,
        } => {
            let choice: TemplateChoice = chat_template
                .parse()
                .map_err(|e| anyhow::anyhow!("--chat-template: {e}"))?;
            let template = ChatTemplate::load(&model, &choice)
                .with_context(|| format!("loading the chat template of {}", model.display()))?;
            let (list, tools, documents) = read_messages(&messages)?;
            let opts = RenderOptions {
                add_generation_prompt,
                tools,
                documents,
                extra: vars.into_iter().collect(),
                now,
            };
            let text = template
                .render(&list, &opts)
                .with_context(|| format!("rendering {}", messages.display()))?;
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())
                .and_then(|()| out.flush())
                .context("writing to stdout")?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The messages file: `[...]` or `{"messages": [...], "tools": [...], "documents": [...]}`.
fn read_messages(path: &Path) -> Result<(Value, Option<Value>, Option<Value>)> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let doc: Value = serde_json::from_str(&text)
        .with_context(|| format!("{}: not valid JSON", path.display()))?;
    let present = |v: Option<&Value>| v.filter(|v| !v.is_null()).cloned();
    match doc {
        Value::Array(_) => Ok((doc, None, None)),
        Value::Object(ref o) => match o.get("messages") {
            Some(list @ Value::Array(_)) => Ok((
                list.clone(),
                present(o.get("tools")),
                present(o.get("documents")),
            )),
            _ => anyhow::bail!(
                "{}: `messages` must be an array of messages",
                path.display()
            ),
        },
        _ => anyhow::bail!(
            "{}: expected an array of messages or an object with `messages`",
            path.display()
        ),
    }
}

fn parse_var(s: &str) -> Result<(String, Value), String> {
    let (key, value) = s
        .split_once('=')
        .ok_or_else(|| format!("expected KEY=VALUE, got {s:?}"))?;
    if key.is_empty() {
        return Err(format!("empty variable name in {s:?}"));
    }
    let value = serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_string()));
    Ok((key.to_string(), value))
}

fn parse_now(s: &str) -> Result<NaiveDateTime, String> {
    s.parse::<NaiveDateTime>()
        .map_err(|e| format!("expected YYYY-MM-DDTHH:MM:SS: {e}"))
}
