//! `mh-train chat`: a conversation with one registered version of the personal model.
//!
//! **In:** an opened [`Profile`], a version (the active one by default) and [`ChatOptions`].
//! **Out:** a [`Conversation`] that answers user messages, streaming the reply's text as it is
//! produced, and keeps the history of the session:
//!
//! * [`ChatSession`] runs the version locally with candle: the base model (as the registry names
//!   it, pinned to the recorded hub commit) plus the version's PEFT adapter.
//! * [`OllamaChat`] talks to the Ollama model the version was registered as (`POST /api/chat`,
//!   streamed).
//!
//! Both use what the version was trained with ([`TrainedWith`]): the system prompt recorded by
//! the run's dataset step (`out/runs/<RUN_LABEL>/state.json`), and the chat template and
//! tokenizer pinned by the tokenized dataset's `tokenized.json`. When those records are gone
//! (an imported or pruned version), the base model's own template is used with no system prompt,
//! and [`SessionInfo::notes`] says so.
//!
//! **History.** Each reply is generated from the system prompt, the earlier user/assistant turns
//! and the new message. [`ChatSession`] keeps prompt + `max_new_tokens` within the context window
//! — the smaller of the model's `max_position_embeddings` and the training `max_seq_length` (the
//! longest sequence the adapter saw, and the `num_ctx` the Ollama model was registered with) —
//! by dropping the oldest whole turns, never the system prompt; when even the new message alone
//! leaves less room than `max_new_tokens`, the reply gets the room there is. [`OllamaChat`] sends
//! the whole history: Ollama itself drops the oldest messages beyond the model's `num_ctx`,
//! keeping the system prompt.
//!
//! **Streaming.** Text is decoded from all the reply's tokens so far and only the new suffix is
//! passed on, never text ending in half a character, so multi-byte characters and merged pieces
//! print whole; the pieces concatenate to exactly [`ChatReply::text`]. Generation stops at the
//! model's `eos_token_id`s and at the template's end-of-turn token.

use std::path::{Path, PathBuf};
use std::time::Instant;

use mh_dataset::template::{ChatTemplate, SpecialTokens, TemplateChoice, TemplateOrigin};
use mh_dataset::tokenize::{write::MANIFEST, Manifest, ModelTokenizer};
use mh_lineage::{ArtifactKind, Lineage, LineageError, Version};
use mh_model::device::{self, DeviceChoice};
use mh_model::generate::{GenerationConfig, StopReason, HF_DEFAULT_TOP_K};
use mh_model::Model;
use mh_ollama::{ChatMessage, ChatRequest, ClientOptions, OllamaClient, OllamaError};
use mh_profile::{Profile, Progress};
use mh_trainer::chat::ChatFormat;
use mh_trainer::TrainError;
use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::state::{RunState, Step};
use crate::RUNS_DIR;

/// What can go wrong opening or holding a conversation.
#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    #[error(
        "no active version in {}: train one with `mh-train local`, make one active with \
         `mh-train activate V`, or name one with --version N",
        registry.display()
    )]
    NoActiveVersion { registry: PathBuf },
    #[error("{}: no version {version} (known: {known})", registry.display())]
    UnknownVersion {
        registry: PathBuf,
        version: u32,
        known: String,
    },
    /// The registry entry lacks something chat needs (base model, adapter).
    #[error("{}: version {version} {reason}", registry.display())]
    Version {
        registry: PathBuf,
        version: u32,
        reason: String,
    },
    #[error(transparent)]
    Lineage(#[from] LineageError),
    /// A record of the run (state.json, tokenized.json) that exists but cannot be used.
    #[error("{}: {reason}", path.display())]
    Record { path: PathBuf, reason: String },
    #[error("base model {spec}: {reason}")]
    Base { spec: String, reason: String },
    #[error("device: {0}")]
    Device(String),
    #[error("adapter {}: {reason}", path.display())]
    Adapter { path: PathBuf, reason: String },
    #[error("chat template: {0}")]
    Template(String),
    #[error(
        "the message needs {prompt_tokens} tokens with the system prompt, which leaves no room \
         for a reply in the context window of {context_window} tokens"
    )]
    ContextFull {
        prompt_tokens: usize,
        context_window: usize,
    },
    #[error("generating: {0}")]
    Generate(#[from] TrainError),
    #[error("generation settings: {0}")]
    Settings(String),
    #[error(
        "version {version} is not registered in Ollama{}",
        match command {
            Some(c) => format!(" (register it with: {c}), or chat without --ollama"),
            None => " (no Modelfile was recorded for it); chat without --ollama".into(),
        }
    )]
    NoOllamaModel {
        version: u32,
        command: Option<String>,
    },
    #[error("no Ollama is reachable at {url} ({reason}); start it (`ollama serve`, or set OLLAMA_HOST), or chat without --ollama")]
    OllamaUnreachable { url: String, reason: String },
    #[error(
        "Ollama at {url} has no model {model}{}",
        match command {
            Some(c) => format!(" (register it with: {c})"),
            None => String::new(),
        }
    )]
    OllamaModelMissing {
        url: String,
        model: String,
        command: Option<String>,
    },
    #[error(transparent)]
    Ollama(#[from] OllamaError),
}

/// How to open a conversation.
#[derive(Debug, Clone, Default)]
pub struct ChatOptions {
    /// The version to talk to; `None`: the active one.
    pub version: Option<u32>,
    /// `cpu`, `cuda`, `cuda:N` or `auto` (default `auto`); candle only.
    pub device: Option<String>,
    /// Most new tokens per reply [default: the base model's generation_config.json, else 256].
    pub max_new_tokens: Option<usize>,
    /// 0 is greedy [default: the base model's generation_config.json, else greedy].
    pub temperature: Option<f32>,
    /// Sampling seed (default 0 for candle; Ollama's own when `None`).
    pub seed: Option<u64>,
    /// Tokens of prompt + reply (default: see the module doc); candle only.
    pub context_window: Option<usize>,
    /// Ollama's URL; `None`: `OLLAMA_HOST`, else `http://127.0.0.1:11434`.
    pub ollama_host: Option<String>,
}

/// The chat template a version was trained with, from its `tokenized.json`.
#[derive(Debug, Clone, Serialize)]
pub struct RecordedTemplate {
    pub name: String,
    pub source: String,
    pub sha256: String,
    /// SHA-256 of the `tokenizer.json` the dataset was tokenized with.
    pub tokenizer_sha256: String,
    /// The `tokenized.json` it was read from.
    pub manifest: PathBuf,
}

/// What a version was trained with, as far as the run's records tell.
#[derive(Debug, Clone, Serialize)]
pub struct TrainedWith {
    pub version: u32,
    pub run_label: String,
    /// The base model to load: a directory, or a hub id pinned to the recorded commit.
    pub base_model: String,
    pub adapter: PathBuf,
    pub system_prompt: Option<String>,
    /// `None`: not recorded; the base model's own template is used.
    pub template: Option<RecordedTemplate>,
    /// The training `max_seq_length`.
    pub max_seq_length: Option<usize>,
    pub ollama_model: Option<String>,
    /// The `ollama create …` command of the version's Modelfile, when one was written.
    pub ollama_command: Option<String>,
    /// What could not be found and what is used instead.
    pub notes: Vec<String>,
}

/// Read what version `version` (the active one when `None`) of `profile` was
/// trained with, from the registry, the run's `state.json` and the dataset's `tokenized.json`.
pub fn trained_with(profile: &Profile, version: Option<u32>) -> Result<TrainedWith, ChatError> {
    let lineage = Lineage::new(profile);
    let registry = lineage.registry_path();
    let reg = lineage.load()?;
    let v: &Version = match version {
        None => reg.active().ok_or_else(|| ChatError::NoActiveVersion {
            registry: registry.clone(),
        })?,
        Some(n) => reg.get(n).ok_or_else(|| ChatError::UnknownVersion {
            registry: registry.clone(),
            version: n,
            known: reg.known_versions(),
        })?,
    };
    let bad = |reason: &str| ChatError::Version {
        registry: registry.clone(),
        version: v.version,
        reason: reason.to_string(),
    };
    let root = profile.root();
    let base_model = base_spec(v).ok_or_else(|| bad("names no base model"))?;
    let adapter = v
        .artifact(ArtifactKind::Adapter)
        .map(|a| a.resolve(root))
        .ok_or_else(|| bad("has no adapter artifact"))?;
    if !adapter.is_dir() {
        return Err(bad(&format!(
            "has no adapter on disk (missing {})",
            adapter.display()
        )));
    }
    let mut notes = Vec::new();

    // The run's state: system prompt, max_seq_length, dataset directory, Ollama command.
    let run_dir = root.join(RUNS_DIR).join(&v.run_label);
    let state = if v.run_label.is_empty() || !run_dir.join(crate::state::STATE_FILE).is_file() {
        notes.push(format!(
            "no run record for version {} ({}/state.json)",
            v.version,
            run_dir.display()
        ));
        None
    } else {
        Some(RunState::load(&run_dir).map_err(|e| ChatError::Record {
            path: run_dir.join(crate::state::STATE_FILE),
            reason: e.to_string(),
        })?)
    };
    let out_str = |step: Step, key: &str| {
        state
            .as_ref()
            .and_then(|s| s.output(step, key))
            .and_then(Value::as_str)
            .map(str::to_string)
    };

    // The dataset the version was trained on: where the run recorded it, where the registry
    // says (relative to this profile, so a moved profile still works), or the run's default.
    let mut dataset_dirs: Vec<PathBuf> = Vec::new();
    dataset_dirs.extend(out_str(Step::Dataset, "dir").map(PathBuf::from));
    dataset_dirs.extend(
        v.dataset
            .as_ref()
            .and_then(|d| d.path.as_ref())
            .map(|p| root.join(p)),
    );
    dataset_dirs.push(run_dir.join("dataset"));
    let manifest_path = dataset_dirs
        .iter()
        .map(|d| d.join(MANIFEST))
        .find(|p| p.is_file());
    let manifest: Option<Manifest> = match &manifest_path {
        None => None,
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| ChatError::Record {
                path: p.clone(),
                reason: e.to_string(),
            })?;
            Some(serde_json::from_str(&text).map_err(|e| ChatError::Record {
                path: p.clone(),
                reason: format!("not a tokenized-dataset manifest: {e}"),
            })?)
        }
    };
    let template = match (&manifest, &manifest_path) {
        (Some(m), Some(p)) => Some(RecordedTemplate {
            name: m.chat_template.name.clone(),
            source: m.chat_template.source.clone(),
            sha256: m.chat_template.sha256.clone(),
            tokenizer_sha256: m.tokenizer.sha256.clone(),
            manifest: p.clone(),
        }),
        _ => None,
    };
    let system_prompt = out_str(Step::Dataset, "system_prompt").or_else(|| {
        // The run's system prompt is the emulation mode's; the manifest keeps every mode's.
        manifest
            .as_ref()
            .and_then(|m| m.system_prompts.get(mh_dataset::Mode::Emulation.as_str()))
            .cloned()
    });
    if system_prompt.is_none() {
        notes.push(format!(
            "the system prompt version {} was trained with is not recorded; chatting without one",
            v.version
        ));
    }
    let max_seq_length = state
        .as_ref()
        .and_then(|s| s.output(Step::Dataset, "max_seq_length"))
        .and_then(Value::as_u64)
        .map(|n| n as usize)
        .or(manifest.as_ref().map(|m| m.max_seq_length));
    let ollama_command = out_str(Step::Ollama, "command").or_else(|| {
        let mf = v.artifact(ArtifactKind::Modelfile)?.resolve(root);
        let name = mh_ollama::ModelName::sanitized(v.ollama_model.as_deref()?).ok()?;
        Some(mh_ollama::create_command(&name, &mf))
    });
    Ok(TrainedWith {
        version: v.version,
        run_label: v.run_label.clone(),
        base_model,
        adapter,
        system_prompt,
        template,
        max_seq_length,
        ollama_model: v.ollama_model.clone().filter(|m| !m.is_empty()),
        ollama_command,
        notes,
    })
}

/// The version's base model spec: its directory, or its hub id at the recorded commit.
fn base_spec(v: &Version) -> Option<String> {
    let (id, revision) = match &v.base_model {
        Some(b) if !b.id.is_empty() => (b.id.clone(), b.revision.clone()),
        _ => (v.base_model_used.clone(), None),
    };
    if id.is_empty() {
        return None;
    }
    Some(match revision {
        Some(rev) if !rev.is_empty() && !id.contains('@') && !Path::new(&id).exists() => {
            format!("{id}@{rev}")
        }
        _ => id,
    })
}

/// One exchange of the history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Turn {
    pub user: String,
    pub assistant: String,
}

/// What a conversation runs on and was set up with.
#[derive(Debug, Clone, Serialize)]
pub struct SessionInfo {
    pub version: u32,
    pub run_label: String,
    /// `candle (cpu)`, `ollama`, …
    pub backend: String,
    pub base_model: String,
    pub adapter: PathBuf,
    pub ollama_model: Option<String>,
    pub system_prompt: Option<String>,
    /// Which chat template and where it came from.
    pub template: String,
    /// Tokens of prompt + reply (candle).
    pub context_window: Option<usize>,
    /// Fallbacks and other things the user should know.
    pub notes: Vec<String>,
}

/// One reply.
#[derive(Debug, Clone, Serialize)]
pub struct ChatReply {
    pub text: String,
    pub prompt_tokens: Option<usize>,
    pub new_tokens: Option<usize>,
    /// `stop` (an end token), `max_tokens` / `length`, or `callback`.
    pub stop_reason: String,
    /// The reply's token budget (lower than asked when the context window left less room).
    pub max_new_tokens: Option<usize>,
    /// Oldest turns dropped from the history to make room for this one.
    pub dropped_turns: usize,
    pub tokens_per_s: Option<f64>,
}

/// A conversation, local or through Ollama.
pub trait Conversation {
    fn info(&self) -> &SessionInfo;
    /// Answer `user`, passing each new piece of the reply to `on_text` (which returns false to
    /// stop); the exchange joins the history.
    fn send(
        &mut self,
        user: &str,
        on_text: &mut dyn FnMut(&str) -> bool,
    ) -> Result<ChatReply, ChatError>;
    /// Forget the history (the system prompt stays).
    fn reset(&mut self);
    /// The history, oldest first.
    fn turns(&self) -> &[Turn];
}

/// The messages of a prompt: the system prompt, `turns` and the new user message.
fn messages(system: Option<&str>, turns: &[Turn], user: &str) -> Vec<ChatMessage> {
    let mut out = Vec::with_capacity(turns.len() * 2 + 2);
    if let Some(s) = system.filter(|s| !s.is_empty()) {
        out.push(ChatMessage::new("system", s));
    }
    for t in turns {
        out.push(ChatMessage::new("user", t.user.as_str()));
        out.push(ChatMessage::new("assistant", t.assistant.as_str()));
    }
    out.push(ChatMessage::new("user", user));
    out
}

fn as_json(messages: &[ChatMessage]) -> Value {
    Value::Array(
        messages
            .iter()
            .map(|m| json!({"role": m.role, "content": m.content}))
            .collect(),
    )
}

/// A conversation with a version run locally by candle (base model + adapter).
pub struct ChatSession {
    info: SessionInfo,
    model: Model,
    format: ChatFormat,
    cfg: GenerationConfig,
    context_window: usize,
    turns: Vec<Turn>,
}

/// A prompt that fits: its ids, the turns dropped for it and the reply's token budget.
#[derive(Debug, Clone)]
pub struct Fitted {
    pub prompt_ids: Vec<u32>,
    pub messages: Vec<ChatMessage>,
    pub dropped_turns: usize,
    pub max_new_tokens: usize,
}

impl ChatSession {
    /// Load the version's base model and adapter, its template and system prompt.
    pub fn open(
        profile: &Profile,
        opts: &ChatOptions,
        progress: &dyn Progress,
    ) -> Result<ChatSession, ChatError> {
        let tw = trained_with(profile, opts.version)?;
        let choice: DeviceChoice = opts
            .device
            .as_deref()
            .unwrap_or("auto")
            .parse()
            .map_err(|e: device::DeviceError| ChatError::Device(e.to_string()))?;
        let selected = device::select(choice).map_err(|e| ChatError::Device(e.to_string()))?;
        let base_err = |reason: String| ChatError::Base {
            spec: tw.base_model.clone(),
            reason,
        };
        let resolved =
            mh_hub::resolve_model(&tw.base_model, &mh_hub::HubOptions::from_env(), progress)
                .map_err(|e| base_err(e.to_string()))?;
        let mut notes = tw.notes.clone();
        notes.extend(resolved.notice());
        let dir = resolved.dir;
        let mut model =
            Model::load(&dir, &selected.load_options()).map_err(|e| base_err(e.to_string()))?;
        let adapter_err = |e: mh_model::ModelError| ChatError::Adapter {
            path: tw.adapter.clone(),
            reason: e.to_string(),
        };
        let adapter =
            mh_model::read_peft_adapter(&tw.adapter, model.device()).map_err(adapter_err)?;
        model.apply_peft_adapter(&adapter).map_err(adapter_err)?;

        let (format, template_label) = chat_format(&dir, tw.template.as_ref(), &mut notes)?;
        let cfg = generation_config(&dir, opts)?;
        let model_ctx = model.config.max_position_embeddings;
        let context_window = opts.context_window.unwrap_or(match tw.max_seq_length {
            Some(n) if n > 0 => n.min(model_ctx),
            _ => model_ctx,
        });
        let info = SessionInfo {
            version: tw.version,
            run_label: tw.run_label,
            backend: format!("candle ({})", selected.summary()),
            base_model: tw.base_model,
            adapter: tw.adapter,
            ollama_model: tw.ollama_model,
            system_prompt: tw.system_prompt,
            template: template_label,
            context_window: Some(context_window),
            notes,
        };
        Ok(ChatSession {
            info,
            model,
            format,
            cfg,
            context_window,
            turns: Vec::new(),
        })
    }

    /// The decoding settings replies use.
    pub fn generation_config(&self) -> &GenerationConfig {
        &self.cfg
    }

    /// The template and tokenizer replies go through.
    pub fn format(&self) -> &ChatFormat {
        &self.format
    }

    /// The loaded model (base + adapter).
    pub fn model(&self) -> &Model {
        &self.model
    }

    pub fn context_window(&self) -> usize {
        self.context_window
    }

    /// Add an exchange to the history as if it had happened (to continue a conversation).
    pub fn push_turn(&mut self, user: impl Into<String>, assistant: impl Into<String>) {
        self.turns.push(Turn {
            user: user.into(),
            assistant: assistant.into(),
        });
    }

    /// The prompt for `user` after dropping the fewest oldest turns that makes prompt +
    /// `max_new_tokens` fit the context window (the turns are dropped from the history). When
    /// no history is left and it still does not fit, the reply gets the room there is; with no
    /// room at all it is [`ChatError::ContextFull`].
    pub fn fit(&mut self, user: &str) -> Result<Fitted, ChatError> {
        let want = self.cfg.max_new_tokens;
        let system = self.info.system_prompt.as_deref();
        let mut dropped = 0;
        let (msgs, ids) = loop {
            let msgs = messages(system, &self.turns[dropped..], user);
            let ids = self.format.prompt_ids(&as_json(&msgs))?;
            if ids.len() + want <= self.context_window || dropped == self.turns.len() {
                break (msgs, ids);
            }
            dropped += 1;
        };
        if ids.len() >= self.context_window {
            return Err(ChatError::ContextFull {
                prompt_tokens: ids.len(),
                context_window: self.context_window,
            });
        }
        self.turns.drain(..dropped);
        Ok(Fitted {
            max_new_tokens: want.min(self.context_window - ids.len()),
            prompt_ids: ids,
            messages: msgs,
            dropped_turns: dropped,
        })
    }
}

impl Conversation for ChatSession {
    fn info(&self) -> &SessionInfo {
        &self.info
    }

    fn send(
        &mut self,
        user: &str,
        on_text: &mut dyn FnMut(&str) -> bool,
    ) -> Result<ChatReply, ChatError> {
        let fitted = self.fit(user)?;
        let mut cfg = self.cfg.clone();
        cfg.max_new_tokens = fitted.max_new_tokens;
        if let Some(id) = self.format.end_of_turn {
            if !cfg.stop_ids.contains(&id) {
                cfg.stop_ids.push(id);
            }
        }
        let stops = cfg.stop_ids.clone();
        let mut stream = TextStream::new(&self.format.tokenizer);
        let mut failed = None;
        let started = Instant::now();
        let generated = self
            .model
            .generate(&fitted.prompt_ids, &cfg, |id| {
                if stops.contains(&id) {
                    return true;
                }
                match stream.push(id) {
                    Ok(Some(piece)) => on_text(&piece),
                    Ok(None) => true,
                    Err(e) => {
                        failed = Some(e);
                        false
                    }
                }
            })
            .map_err(TrainError::from)?;
        if let Some(e) = failed {
            return Err(e);
        }
        let secs = started.elapsed().as_secs_f64();
        let (rest, text) = stream.finish()?;
        if !rest.is_empty() {
            on_text(&rest);
        }
        self.turns.push(Turn {
            user: user.to_string(),
            assistant: text.clone(),
        });
        Ok(ChatReply {
            text,
            prompt_tokens: Some(generated.prompt_tokens),
            new_tokens: Some(generated.tokens.len()),
            stop_reason: match generated.stop_reason {
                StopReason::Stop => "stop",
                StopReason::MaxTokens => "max_tokens",
                StopReason::Callback => "callback",
            }
            .to_string(),
            max_new_tokens: Some(fitted.max_new_tokens),
            dropped_turns: fitted.dropped_turns,
            tokens_per_s: Some(generated.tokens.len() as f64 / secs.max(1e-9)),
        })
    }

    fn reset(&mut self) {
        self.turns.clear();
    }

    fn turns(&self) -> &[Turn] {
        &self.turns
    }
}

/// Incremental decoding of a reply: each token's text is what decoding all the reply's tokens
/// adds to what was already shown. Text that ends in half a character (U+FFFD from a multi-byte
/// character whose remaining bytes are in later tokens) is held back until the character is
/// complete, so the pieces concatenate to the decoded reply. (A decoder that rewrote text it had
/// already produced would have its pieces held back until its text extends what was shown
/// again; the byte-level and metaspace decoders of chat models never do.)
pub struct TextStream<'a> {
    tokenizer: &'a ModelTokenizer,
    ids: Vec<u32>,
    shown: String,
}

impl<'a> TextStream<'a> {
    pub fn new(tokenizer: &'a ModelTokenizer) -> TextStream<'a> {
        TextStream {
            tokenizer,
            ids: Vec::new(),
            shown: String::new(),
        }
    }

    fn decode(&self) -> Result<String, ChatError> {
        self.tokenizer
            .tokenizer
            .decode(&self.ids, true)
            .map_err(|e| ChatError::Generate(TrainError::Config(format!("tokenizer: {e}"))))
    }

    /// Add a token; the new text to show, if any.
    pub fn push(&mut self, id: u32) -> Result<Option<String>, ChatError> {
        self.ids.push(id);
        let text = self.decode()?;
        if text.ends_with('\u{FFFD}') {
            return Ok(None);
        }
        Ok(match text.strip_prefix(self.shown.as_str()) {
            Some(piece) if !piece.is_empty() => {
                let piece = piece.to_string();
                self.shown = text;
                Some(piece)
            }
            _ => None,
        })
    }

    /// The end of the reply: the text not shown yet (a trailing incomplete character
    /// included), and the whole decoded reply.
    pub fn finish(self) -> Result<(String, String), ChatError> {
        let text = self.decode()?;
        let rest = text
            .strip_prefix(self.shown.as_str())
            .unwrap_or_default()
            .to_string();
        Ok((rest, text))
    }
}

/// The template the version was trained with (checked against its recorded hash, with the base
/// model's tokenizer checked against the one the dataset was tokenized with), else the base
/// model's own; and how to describe it.
fn chat_format(
    base_dir: &Path,
    recorded: Option<&RecordedTemplate>,
    notes: &mut Vec<String>,
) -> Result<(ChatFormat, String), ChatError> {
    let tokenizer =
        ModelTokenizer::from_model_dir(base_dir).map_err(|e| ChatError::Template(e.to_string()))?;
    let base = ChatTemplate::load(base_dir, &TemplateChoice::Auto);
    let (template, label) = match recorded {
        None => {
            notes.push(format!(
                "the chat template this version was trained with is not recorded (no {MANIFEST}); \
                 using the base model's own template"
            ));
            let t = base.map_err(|e| ChatError::Template(e.to_string()))?;
            let label = format!("{} (the base model's)", t.label());
            (t, label)
        }
        Some(r) => {
            if tokenizer.sha256 != r.tokenizer_sha256 {
                return Err(ChatError::Record {
                    path: r.manifest.clone(),
                    reason: format!(
                        "the version was trained with another tokenizer (sha256 {}) than {}'s \
                         ({}); the adapter would read other tokens",
                        r.tokenizer_sha256,
                        tokenizer.path.display(),
                        tokenizer.sha256
                    ),
                });
            }
            let label = format!("{} (as trained, from {})", r.name, r.manifest.display());
            match base {
                Ok(t) if t.sha256() == r.sha256 => (t, label),
                other => {
                    if other.is_ok() {
                        notes.push(
                            "the base model's chat template changed since training; using the \
                             one the version was trained with"
                                .into(),
                        );
                    }
                    let special = other
                        .map(|t| t.special)
                        .unwrap_or_else(|_| SpecialTokens::default());
                    let t = ChatTemplate::from_source(
                        r.name.clone(),
                        r.source.clone(),
                        special,
                        TemplateOrigin::File(r.manifest.clone()),
                    )
                    .map_err(|e| ChatError::Template(e.to_string()))?;
                    if t.sha256() != r.sha256 {
                        return Err(ChatError::Record {
                            path: r.manifest.clone(),
                            reason: "chat_template.source does not match its sha256".into(),
                        });
                    }
                    (t, label)
                }
            }
        }
    };
    let end_of_turn = match template.end_of_turn() {
        Some(token) => Some(
            tokenizer
                .single_token_id(token)
                .map_err(|e| ChatError::Template(e.to_string()))?,
        ),
        None => None,
    };
    Ok((
        ChatFormat {
            template,
            tokenizer,
            end_of_turn,
        },
        label,
    ))
}

/// The base model's `generation_config.json` (else greedy, 256 tokens) with the options over it.
fn generation_config(base_dir: &Path, opts: &ChatOptions) -> Result<GenerationConfig, ChatError> {
    let path = base_dir.join("generation_config.json");
    let mut cfg = if path.is_file() {
        GenerationConfig::from_generation_config_json(&path)
            .map_err(|e| ChatError::Settings(e.to_string()))?
    } else {
        GenerationConfig::default()
    };
    if let Some(n) = opts.max_new_tokens {
        cfg.max_new_tokens = n;
    }
    if let Some(t) = opts.temperature {
        cfg.temperature = Some(t);
        // Asking for a temperature means sampling, even if the model's file said greedy.
        if t > 0.0 && cfg.top_k.is_none() && cfg.top_p.is_none() {
            cfg.top_k = Some(HF_DEFAULT_TOP_K);
        }
    }
    cfg.seed = opts.seed.unwrap_or(0);
    if cfg.max_new_tokens == 0 {
        return Err(ChatError::Settings(
            "max new tokens must be at least 1".into(),
        ));
    }
    cfg.validate()
        .map_err(|e| ChatError::Settings(e.to_string()))?;
    Ok(cfg)
}

/// A conversation with the Ollama model a version was registered as.
pub struct OllamaChat {
    info: SessionInfo,
    client: OllamaClient,
    model: String,
    options: Map<String, Value>,
    turns: Vec<Turn>,
}

impl OllamaChat {
    /// Check that Ollama answers and has the version's model.
    pub fn open(profile: &Profile, opts: &ChatOptions) -> Result<OllamaChat, ChatError> {
        let tw = trained_with(profile, opts.version)?;
        let model = tw
            .ollama_model
            .clone()
            .ok_or_else(|| ChatError::NoOllamaModel {
                version: tw.version,
                command: tw.ollama_command.clone(),
            })?;
        let client = match &opts.ollama_host {
            Some(url) => OllamaClient::with_base_url(url, ClientOptions::default()),
            None => OllamaClient::from_env()?,
        };
        let url = client.base_url().to_string();
        match client.show(&model) {
            Ok(_) => {}
            Err(e) if e.is_unreachable() => {
                return Err(ChatError::OllamaUnreachable {
                    url,
                    reason: e.to_string(),
                })
            }
            Err(OllamaError::ModelNotFound { .. }) => {
                return Err(ChatError::OllamaModelMissing {
                    url,
                    model,
                    command: tw.ollama_command.clone(),
                })
            }
            Err(e) => return Err(e.into()),
        }
        let mut options = Map::new();
        if let Some(t) = opts.temperature {
            options.insert("temperature".into(), json!(t));
        }
        if let Some(s) = opts.seed {
            options.insert("seed".into(), json!(s));
        }
        if let Some(n) = opts.max_new_tokens {
            options.insert("num_predict".into(), json!(n));
        }
        let notes = tw.notes.clone();
        let info = SessionInfo {
            version: tw.version,
            run_label: tw.run_label,
            backend: format!("ollama at {url}"),
            base_model: tw.base_model,
            adapter: tw.adapter,
            ollama_model: Some(model.clone()),
            system_prompt: tw.system_prompt,
            template: format!("the Ollama model's ({model})"),
            context_window: tw.max_seq_length,
            notes,
        };
        Ok(OllamaChat {
            info,
            client,
            model,
            options,
            turns: Vec::new(),
        })
    }
}

impl Conversation for OllamaChat {
    fn info(&self) -> &SessionInfo {
        &self.info
    }

    fn send(
        &mut self,
        user: &str,
        on_text: &mut dyn FnMut(&str) -> bool,
    ) -> Result<ChatReply, ChatError> {
        let request = ChatRequest {
            model: self.model.clone(),
            messages: messages(self.info.system_prompt.as_deref(), &self.turns, user),
            options: self.options.clone(),
        };
        let response = self.client.chat(&request, on_text).map_err(|e| match e {
            e if e.is_unreachable() => ChatError::OllamaUnreachable {
                url: self.client.base_url().to_string(),
                reason: e.to_string(),
            },
            e => e.into(),
        })?;
        let text = response.message.content;
        self.turns.push(Turn {
            user: user.to_string(),
            assistant: text.clone(),
        });
        let tokens_per_s = match (response.eval_count, response.eval_duration) {
            (Some(n), Some(ns)) if ns > 0 => Some(n as f64 / (ns as f64 / 1e9)),
            _ => None,
        };
        Ok(ChatReply {
            text,
            prompt_tokens: response.prompt_eval_count.map(|n| n as usize),
            new_tokens: response.eval_count.map(|n| n as usize),
            stop_reason: if response.stopped {
                "callback".into()
            } else {
                response.done_reason.unwrap_or_else(|| "stop".into())
            },
            max_new_tokens: self
                .options
                .get("num_predict")
                .and_then(Value::as_u64)
                .map(|n| n as usize),
            dropped_turns: 0,
            tokens_per_s,
        })
    }

    fn reset(&mut self) {
        self.turns.clear();
    }

    fn turns(&self) -> &[Turn] {
        &self.turns
    }
}
