//! Chat templates: the model's own Jinja `chat_template`, rendered as `transformers` does.
//!
//! **In:** a model directory (or a built-in name, or a `.jinja` file) and a conversation.
//! **Out:** the exact string `transformers`' `apply_chat_template(..., tokenize=False)` produces
//! ([`ChatTemplate::render`]), and for training the same string with the byte range of every
//! assistant turn the model must learn to produce ([`ChatTemplate::render_conversation`]).
//!
//! Entry point: [`ChatTemplate::load`] (or [`ChatTemplate::builtin`]), which compiles the template
//! once; rendering is then a call on the compiled template, safe to share across threads.
//!
//! **Fidelity.** The environment mirrors transformers' Jinja2 set-up (see `env.rs`): trim_blocks,
//! lstrip_blocks, no trailing newline, loop controls, Jinja2's default undefined, the
//! `raise_exception` / `strftime_now` globals, its `tojson` (`json.dumps` with `ensure_ascii=False`)
//! and Python's string methods and whitespace. The context is built like transformers builds it:
//! null-valued message keys dropped, `reasoning_content`/`thinking`/`reasoning` mirrored into
//! `thinking` and `reasoning_content`, `tools`/`documents` always present (none when absent), the
//! tokenizer's named special tokens, then the caller's extra variables (which win over the tokens).
//!
//! Checked against transformers 5.23 on the 97 goldens in `tests/fixtures/templates/` and on
//! thousands of random conversations (whitespace, control characters, markup-like text, tools,
//! floats; see `differential_cases_from_transformers` in `tests/templates.rs`).
//!
//! **Not replicated** (no template we know relies on them): Python tuples print as lists
//! (`(1, 2)` → `[1, 2]`, `dict.items()` pairs likewise); `%` string formatting is not
//! supported; Python methods beyond minijinja-contrib's `pycompat` set are missing, and those
//! other than `strip`/`lstrip`/`rstrip`/`split()`/`isspace` follow Rust's Unicode rules;
//! `repr()` of text escapes control and separator characters only (Python also escapes other
//! non-printable code points). transformers picks a model's `tool_use` template by itself when
//! tools are passed; here that is an explicit choice (`auto:tool_use`).
//!
//! **Assistant spans** are found by rendering, never by guessing token ids: see `spans.rs`.

mod env;
mod load;
mod map;
mod py;
mod spans;

use std::collections::BTreeSet;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use minijinja::{Environment, Value};
use sha2::{Digest, Sha256};

use crate::Message;

pub use load::{architecture_builtin, Builtin, BUILTINS};

/// The tokenizer's named special tokens, as `transformers` passes them to a template
/// (`bos_token`, `eos_token`, `pad_token`, `unk_token`; absent ones are not defined at all).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpecialTokens {
    pub bos: Option<String>,
    pub eos: Option<String>,
    pub pad: Option<String>,
    pub unk: Option<String>,
}

impl SpecialTokens {
    /// `(variable name, token)` for each token that is set.
    pub fn vars(&self) -> impl Iterator<Item = (&'static str, &str)> {
        [
            ("bos_token", &self.bos),
            ("eos_token", &self.eos),
            ("unk_token", &self.unk),
            ("pad_token", &self.pad),
        ]
        .into_iter()
        .filter_map(|(name, tok)| tok.as_deref().map(|t| (name, t)))
    }
}

/// Which template to use: `auto` (the model's own, else a built-in by architecture), a built-in
/// by name, or a `.jinja` file. `auto:NAME` picks one of the model's named templates (a
/// `tokenizer_config.json` list entry such as `tool_use`, or `additional_chat_templates/NAME.jinja`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateChoice {
    Auto,
    Builtin(String),
    Path(PathBuf),
    /// One of the model's own named templates.
    Named(String),
}

impl FromStr for TemplateChoice {
    type Err = TemplateError;

    /// `auto` | `auto:NAME` | a built-in name ([`BUILTINS`]) | anything else is a path.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.is_empty() {
            return Err(TemplateError::Choice {
                value: s.to_string(),
                reason: format!(
                    "expected auto, auto:NAME, one of {}, or a path",
                    builtin_list()
                ),
            });
        }
        if s == "auto" {
            return Ok(TemplateChoice::Auto);
        }
        if let Some(name) = s.strip_prefix("auto:") {
            return match name.trim() {
                "" => Err(TemplateError::Choice {
                    value: s.to_string(),
                    reason: "auto: needs a template name after the colon".into(),
                }),
                name => Ok(TemplateChoice::Named(name.to_string())),
            };
        }
        if BUILTINS.iter().any(|b| b.name == s) {
            return Ok(TemplateChoice::Builtin(s.to_string()));
        }
        Ok(TemplateChoice::Path(PathBuf::from(s)))
    }
}

impl fmt::Display for TemplateChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TemplateChoice::Auto => f.write_str("auto"),
            TemplateChoice::Builtin(n) => f.write_str(n),
            TemplateChoice::Path(p) => write!(f, "{}", p.display()),
            TemplateChoice::Named(n) => write!(f, "auto:{n}"),
        }
    }
}

/// Where a template's text came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateOrigin {
    /// `chat_template.jinja`, or `additional_chat_templates/NAME.jinja`, in the model directory.
    JinjaFile(PathBuf),
    /// The `chat_template` field of a `tokenizer_config.json`.
    TokenizerConfig(PathBuf),
    /// The `chat_template` field of a `chat_template.json`.
    ChatTemplateJson(PathBuf),
    /// A built-in; `model_type` is set when it was chosen from the model's `config.json`.
    Builtin { model_type: Option<String> },
    /// A template file named by the caller.
    File(PathBuf),
}

impl fmt::Display for TemplateOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TemplateOrigin::JinjaFile(p) | TemplateOrigin::File(p) => write!(f, "{}", p.display()),
            TemplateOrigin::TokenizerConfig(p) | TemplateOrigin::ChatTemplateJson(p) => {
                write!(f, "{} chat_template", p.display())
            }
            TemplateOrigin::Builtin { model_type: None } => f.write_str("built-in"),
            TemplateOrigin::Builtin {
                model_type: Some(t),
            } => write!(f, "built-in for model_type {t:?}"),
        }
    }
}

/// How [`ChatTemplate::render`] and [`ChatTemplate::render_conversation`] render.
#[derive(Debug, Clone, Default)]
pub struct RenderOptions {
    pub add_generation_prompt: bool,
    /// Tool schemas (a JSON array); the template sees `none` when absent, as with transformers.
    pub tools: Option<serde_json::Value>,
    pub documents: Option<serde_json::Value>,
    /// Further template variables (`enable_thinking`, `date_string`, …); they override the
    /// special tokens of the same name.
    pub extra: serde_json::Map<String, serde_json::Value>,
    /// What `strftime_now` sees; `None` = the local clock (as transformers). Set it for
    /// reproducible renders.
    pub now: Option<chrono::NaiveDateTime>,
}

/// Which assistant turns [`ChatTemplate::render_conversation`] reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SpanPolicy {
    #[default]
    AllAssistantTurns,
    /// Only the last assistant message.
    LastOnly,
}

/// A rendered conversation and the byte ranges (into `text`) of its assistant turns, in order.
/// A span is what the model generates after the prompt of that turn: the assistant content as
/// the template writes it (with any think block the template adds there) and the end-of-turn
/// token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub text: String,
    pub assistant_spans: Vec<Range<usize>>,
}

/// Errors of loading or rendering a chat template; each names the file or template at fault.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {reason}")]
    Json { path: PathBuf, reason: String },
    #[error("chat template choice {value:?}: {reason}")]
    Choice { value: String, reason: String },
    #[error("{dir}: no chat template: {reason}")]
    NoTemplate { dir: PathBuf, reason: String },
    #[error("unknown built-in chat template {name:?} (built-ins: {available})")]
    UnknownBuiltin { name: String, available: String },
    #[error("{path}: no chat template named {name:?} (available: {available})")]
    UnknownNamed {
        path: PathBuf,
        name: String,
        available: String,
    },
    #[error("chat template {template}: {message}")]
    Syntax { template: String, message: String },
    #[error("chat template {template} uses {token}, which the tokenizer does not define (set it in tokenizer_config.json)")]
    MissingToken { template: String, token: String },
    /// The template called `raise_exception(message)`.
    #[error("chat template {template}: {message}")]
    Raised { template: String, message: String },
    #[error("chat template {template}: {message}")]
    Render { template: String, message: String },
    #[error("chat template {template}: {reason}")]
    Input { template: String, reason: String },
    #[error("chat template {template}: cannot find assistant turn {turn} (message {message}) in the rendered text: {reason}")]
    Span {
        template: String,
        turn: usize,
        message: usize,
        reason: String,
    },
}

impl TemplateError {
    /// The message a template raised with `raise_exception`, if that is what this error is.
    pub fn raised_message(&self) -> Option<&str> {
        match self {
            TemplateError::Raised { message, .. } => Some(message),
            _ => None,
        }
    }
}

/// A compiled chat template with the special tokens it renders with.
pub struct ChatTemplate {
    /// `default` / the named template's name for a model's own template, the built-in's name, or
    /// the file name of a template given by path.
    pub name: String,
    /// The template text exactly as read (what [`ChatTemplate::sha256`] hashes).
    pub source: String,
    pub special: SpecialTokens,
    pub origin: TemplateOrigin,
    env: Environment<'static>,
    end_of_turn: Option<String>,
    generation_prompts: spans::GenerationPrompts,
}

impl fmt::Debug for ChatTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChatTemplate")
            .field("name", &self.name)
            .field("origin", &self.origin)
            .field("special", &self.special)
            .field("end_of_turn", &self.end_of_turn)
            .finish_non_exhaustive()
    }
}

impl ChatTemplate {
    /// The template `choice` names for the model in `model_dir`, with the model's special tokens
    /// (`tokenizer_config.json`, then `special_tokens_map.json`).
    ///
    /// `auto` takes the model's own template the way transformers finds it: `chat_template.jinja`
    /// (which transformers prefers over the config field), else `tokenizer_config.json`
    /// `chat_template` (a string, or the `default` entry of a list of `{name, template}`), else
    /// `chat_template.json`; a model with none gets the built-in for its `config.json`
    /// `model_type` ([`architecture_builtin`]).
    pub fn load(model_dir: &Path, choice: &TemplateChoice) -> Result<Self, TemplateError> {
        let found = load::resolve(model_dir, choice)?;
        Self::compile(found.name, found.source, found.special, found.origin)
    }

    /// A built-in template ([`BUILTINS`]) with the given special tokens.
    pub fn builtin(name: &str, special: SpecialTokens) -> Result<Self, TemplateError> {
        let b = load::builtin_source(name)?;
        Self::compile(
            b.name.to_string(),
            b.source.to_string(),
            special,
            TemplateOrigin::Builtin { model_type: None },
        )
    }

    /// Compile `source` (e.g. a template string from elsewhere) with the given special tokens.
    pub fn from_source(
        name: impl Into<String>,
        source: impl Into<String>,
        special: SpecialTokens,
        origin: TemplateOrigin,
    ) -> Result<Self, TemplateError> {
        Self::compile(name.into(), source.into(), special, origin)
    }

    fn compile(
        name: String,
        source: String,
        special: SpecialTokens,
        origin: TemplateOrigin,
    ) -> Result<Self, TemplateError> {
        let label = label(&name, &origin);
        let env = env::compile(&source).map_err(|e| TemplateError::Syntax {
            template: label.clone(),
            message: minijinja_message(&e),
        })?;
        let mut t = ChatTemplate {
            name,
            source,
            special,
            origin,
            env,
            end_of_turn: None,
            generation_prompts: spans::GenerationPrompts::default(),
        };
        t.check_tokens()?;
        t.end_of_turn = spans::derive_end_of_turn(&t);
        Ok(t)
    }

    /// A template that prints `bos_token` for a tokenizer without one would silently drop it
    /// from every training sample; refuse instead.
    fn check_tokens(&self) -> Result<(), TemplateError> {
        let tmpl = self.compiled()?;
        let used: BTreeSet<String> = tmpl.undeclared_variables(false).into_iter().collect();
        let defined: BTreeSet<&str> = self.special.vars().map(|(n, _)| n).collect();
        for token in ["bos_token", "eos_token", "unk_token", "pad_token"] {
            if used.contains(token) && !defined.contains(token) {
                return Err(TemplateError::MissingToken {
                    template: self.label(),
                    token: token.to_string(),
                });
            }
        }
        Ok(())
    }

    /// How errors name the template: `name (origin)`, or just the path of a template file.
    pub fn label(&self) -> String {
        label(&self.name, &self.origin)
    }

    /// sha256 of [`ChatTemplate::source`], lower-case hex.
    pub fn sha256(&self) -> String {
        hex::encode(Sha256::digest(self.source.as_bytes()))
    }

    /// The token that closes an assistant turn (`<|im_end|>`, `<|eot_id|>`, `</s>`,
    /// `<end_of_turn>`, `<|end|>`, …), derived by rendering probe conversations: the text every
    /// assistant turn is followed by, whatever comes next, up to its first whitespace.
    /// `None` when the template writes nothing after an assistant turn.
    pub fn end_of_turn(&self) -> Option<&str> {
        self.end_of_turn.as_deref()
    }

    /// Render `messages` (a JSON array of message objects) exactly as
    /// `apply_chat_template(messages, tokenize=False, ...)` does.
    pub fn render(
        &self,
        messages: &serde_json::Value,
        opts: &RenderOptions,
    ) -> Result<String, TemplateError> {
        let list = messages.as_array().ok_or_else(|| TemplateError::Input {
            template: self.label(),
            reason: "messages must be a JSON array".into(),
        })?;
        let mut normalised = Vec::with_capacity(list.len());
        for (i, m) in list.iter().enumerate() {
            normalised.push(normalise_message(m).map_err(|reason| TemplateError::Input {
                template: self.label(),
                reason: format!("message {i}: {reason}"),
            })?);
        }
        let _now = env::NowGuard::set(Some(opts.now.unwrap_or_else(local_now)));
        self.render_values(Value::from(normalised), opts, opts.add_generation_prompt)
    }

    /// Render a training conversation and locate its assistant turns (see [`Rendered`]).
    pub fn render_conversation(
        &self,
        messages: &[Message],
        opts: &RenderOptions,
        policy: SpanPolicy,
    ) -> Result<Rendered, TemplateError> {
        // One "now" for all the renders below, so they agree with each other.
        let _now = env::NowGuard::set(Some(opts.now.unwrap_or_else(local_now)));
        spans::render_conversation(self, messages, opts, policy)
    }

    /// What `add_generation_prompt` appends after `history`, cached by the options.
    fn generation_prompt(&self, history: &[Value], opts: &RenderOptions) -> String {
        self.generation_prompts
            .get_or_insert(spans::options_key(opts), || {
                spans::generation_prompt(self, history, opts)
            })
    }

    fn compiled(&self) -> Result<minijinja::Template<'_, '_>, TemplateError> {
        self.env
            .get_template(env::TEMPLATE)
            .map_err(|e| TemplateError::Render {
                template: self.label(),
                message: minijinja_message(&e),
            })
    }

    /// Render with `messages` already in template form; "now" must be pinned by the caller.
    fn render_values(
        &self,
        messages: Value,
        opts: &RenderOptions,
        add_generation_prompt: bool,
    ) -> Result<String, TemplateError> {
        let mut ctx = map::SmallMap::with_capacity(8 + opts.extra.len());
        ctx.set("messages", messages);
        ctx.set("tools", json_or_none(opts.tools.as_ref()));
        ctx.set("documents", json_or_none(opts.documents.as_ref()));
        ctx.set("add_generation_prompt", Value::from(add_generation_prompt));
        for (name, token) in self.special.vars() {
            ctx.set(name, Value::from(token));
        }
        for (key, value) in &opts.extra {
            if matches!(
                key.as_str(),
                "messages" | "tools" | "documents" | "add_generation_prompt"
            ) {
                return Err(TemplateError::Input {
                    template: self.label(),
                    reason: format!("{key} cannot be passed as an extra variable"),
                });
            }
            ctx.set(key, json_value(value));
        }
        let ctx = ctx.into_value();
        self.compiled()?
            .render(ctx)
            .map_err(|e| self.render_error(&e))
    }

    fn render_error(&self, e: &minijinja::Error) -> TemplateError {
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            if let Some(raised) = s.downcast_ref::<env::Raised>() {
                return TemplateError::Raised {
                    template: self.label(),
                    message: raised.0.clone(),
                };
            }
            source = s.source();
        }
        TemplateError::Render {
            template: self.label(),
            message: minijinja_message(e),
        }
    }
}

fn label(name: &str, origin: &TemplateOrigin) -> String {
    match origin {
        TemplateOrigin::File(path) => path.display().to_string(),
        _ => format!("{name} ({origin})"),
    }
}

fn local_now() -> chrono::NaiveDateTime {
    chrono::Local::now().naive_local()
}

fn json_or_none(v: Option<&serde_json::Value>) -> Value {
    match v {
        Some(v) => json_value(v),
        None => Value::from(()),
    }
}

/// A JSON value as a template value (directly: this runs for every message of every render).
fn json_value(v: &serde_json::Value) -> Value {
    use serde_json::Value as Json;
    match v {
        Json::Null => Value::from(()),
        Json::Bool(b) => Value::from(*b),
        Json::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => Value::from(i),
            (None, Some(u)) => Value::from(u),
            _ => Value::from(n.as_f64().unwrap_or(f64::NAN)),
        },
        Json::String(s) => Value::from(s.as_str()),
        Json::Array(items) => Value::from(items.iter().map(json_value).collect::<Vec<_>>()),
        Json::Object(map) => {
            Value::from_pairs(map.iter().map(|(k, v)| (k.as_str(), json_value(v))))
        }
    }
}

/// transformers' clean-up of one message: keys whose value is null are dropped; a message with
/// any of `reasoning_content` / `thinking` / `reasoning` gets both `thinking` and
/// `reasoning_content` set to it (the first present, in that order).
fn normalise_message(m: &serde_json::Value) -> Result<Value, String> {
    let obj = m.as_object().ok_or("a message must be a JSON object")?;
    let mut out = map::SmallMap::with_capacity(obj.len() + 2);
    for (k, v) in obj.iter().filter(|(_, v)| !v.is_null()) {
        out.set(k, json_value(v));
    }
    let reasoning = ["reasoning_content", "thinking", "reasoning"]
        .iter()
        .find_map(|k| out.get(k).cloned());
    if let Some(r) = reasoning {
        out.set("thinking", r.clone());
        out.set("reasoning_content", r);
    }
    Ok(out.into_value())
}

/// A minijinja error on one line: its kind, detail and line (the template's own name inside
/// the environment is an internal detail, so it is left out), then any causes.
fn minijinja_message(e: &minijinja::Error) -> String {
    let mut msg = e.kind().to_string();
    if let Some(detail) = e.detail() {
        msg.push_str(": ");
        msg.push_str(detail);
    }
    if let Some(line) = e.line() {
        msg.push_str(&format!(" (line {line})"));
    }
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        source = s.source();
    }
    msg
}

fn builtin_list() -> String {
    BUILTINS
        .iter()
        .map(|b| b.name)
        .collect::<Vec<_>>()
        .join(", ")
}
