//! The Ollama Go template (and stop tokens) matching the chat template a model was trained with.
//!
//! Ollama renders prompts with a Go `text/template`; a GGUF's own Jinja `tokenizer.chat_template`
//! is only matched against Ollama's built-ins by edit distance, and a fine-tuned model served
//! with the wrong template (or the raw `{{ .Prompt }}` fallback) produces garbage. So the
//! template is always sent explicitly, chosen here from the markers of the training template:
//!
//! | markers in the Jinja template                     | family                 |
//! |---------------------------------------------------|------------------------|
//! | `<\|im_start\|>` and `<think>` / `enable_thinking` | [`ChatFamily::Qwen3`]  |
//! | `<\|im_start\|>`                                   | [`ChatFamily::ChatMl`] (Qwen2/2.5, SmolLM2, OpenHermes) |
//! | `<\|start_header_id\|>`                            | [`ChatFamily::Llama3`] |
//! | `<start_of_turn>`                                 | [`ChatFamily::Gemma`]  |
//! | `[INST]` (v3 spacing: `…[/INST]`, ` answer</s>`)  | [`ChatFamily::Mistral`]|
//! | `<\|user\|>` and `<\|end\|>`                        | [`ChatFamily::Phi3`]   |
//!
//! Each Go template renders Ollama's `.Messages` (system, user, assistant) and the generation
//! prompt to exactly what `transformers`' `apply_chat_template(messages,
//! add_generation_prompt=True)` gives for the same conversation, minus the BOS token (llama.cpp
//! adds it when tokenizing). `tests/fixtures/template-goldens.json` holds both renderings for nine
//! real templates, made by `scripts/gen_ollama_template_goldens.py` with Go's `text/template`
//! and `transformers`; the tests check they are equal and that the templates here are the ones
//! rendered. Known differences, none of which arise for the persona's messages:
//!
//! * Llama 3 and Gemma `trim` message contents in Jinja; Go templates cannot (content with
//!   leading/trailing whitespace renders with it).
//! * Gemma 2 refuses a system message; here, as in Gemma 3's template, it is put before the first
//!   user message followed by a blank line.
//! * Tools are not rendered.
//!
//! A model's default system prompt (Qwen2.5's "You are Qwen, …", SmolLM2's) is not part of the Go
//! template: [`OllamaTemplate::default_system`] returns it so it can be sent as `system`, which
//! Ollama injects exactly when a conversation has no system message — the same rule as the Jinja.

use crate::error::{OllamaError, Result};

/// A chat-template family with an Ollama Go template here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChatFamily {
    /// `<|im_start|>role\n…<|im_end|>\n` (Qwen2, Qwen2.5, SmolLM2, OpenHermes, mh-train's tiny
    /// models).
    ChatMl,
    /// ChatML with Qwen3's thinking convention (empty `<think>` block when thinking is off).
    Qwen3,
    /// `<|start_header_id|>role<|end_header_id|>\n\n…<|eot_id|>`; 3.1+ templates always open
    /// with a dated system header.
    Llama3,
    /// Mistral's v3 `[INST] …[/INST] answer</s>`, system prompt in the last user turn.
    Mistral,
    /// `<start_of_turn>user\n…<end_of_turn>\n`, assistant role `model`.
    Gemma,
    /// `<|user|>\n…<|end|>\n` (Phi-3, Phi-3.5).
    Phi3,
}

impl ChatFamily {
    pub const ALL: [ChatFamily; 6] = [
        ChatFamily::ChatMl,
        ChatFamily::Qwen3,
        ChatFamily::Llama3,
        ChatFamily::Mistral,
        ChatFamily::Gemma,
        ChatFamily::Phi3,
    ];

    /// The name used in configs and in mh-dataset's built-in templates.
    pub fn name(self) -> &'static str {
        match self {
            ChatFamily::ChatMl => "chatml",
            ChatFamily::Qwen3 => "qwen3",
            ChatFamily::Llama3 => "llama3",
            ChatFamily::Mistral => "mistral",
            ChatFamily::Gemma => "gemma",
            ChatFamily::Phi3 => "phi3",
        }
    }

    /// By [`name`](Self::name) (`qwen2` is accepted for ChatML, `phi-3` for Phi-3).
    pub fn from_name(name: &str) -> Result<ChatFamily> {
        let n = name.trim().to_ascii_lowercase();
        let found = match n.as_str() {
            "chatml" | "qwen2" | "qwen2.5" => Some(ChatFamily::ChatMl),
            "phi-3" | "phi3.5" | "phi-3.5" => Some(ChatFamily::Phi3),
            _ => ChatFamily::ALL.into_iter().find(|f| f.name() == n),
        };
        found.ok_or_else(|| {
            OllamaError::Template(format!(
                "unknown template family {name:?} (known: {})",
                ChatFamily::ALL.map(ChatFamily::name).join(", ")
            ))
        })
    }

    /// The family of a Jinja chat template, from its markers (see the module doc).
    pub fn detect(chat_template: &str) -> Result<ChatFamily> {
        let t = chat_template;
        if t.contains("<|im_start|>") {
            if t.contains("<think>") || t.contains("enable_thinking") {
                return Ok(ChatFamily::Qwen3);
            }
            return Ok(ChatFamily::ChatMl);
        }
        if t.contains("<|start_header_id|>") {
            return Ok(ChatFamily::Llama3);
        }
        if t.contains("<start_of_turn>") {
            return Ok(ChatFamily::Gemma);
        }
        if t.contains("[INST]") {
            if t.contains("<<SYS>>") {
                return Err(unsupported("a Llama 2 template ([INST] with <<SYS>>)"));
            }
            if t.contains("[SYSTEM_PROMPT]") {
                return Err(unsupported(
                    "a Mistral template with [SYSTEM_PROMPT] (v7/Tekken)",
                ));
            }
            if t.contains("' [/INST]'") || t.contains("\" [/INST]\"") {
                return Err(unsupported(
                    "a Mistral v1/v2 template (`[INST] … [/INST]` with spaces)",
                ));
            }
            return Ok(ChatFamily::Mistral);
        }
        if t.contains("<|user|>") && t.contains("<|end|>") {
            return Ok(ChatFamily::Phi3);
        }
        Err(unsupported("a template with none of the known markers"))
    }

    /// The stop sequences sent as `PARAMETER stop`: the turn markers of the family.
    pub fn stop_tokens(self) -> &'static [&'static str] {
        match self {
            ChatFamily::ChatMl | ChatFamily::Qwen3 => &["<|im_start|>", "<|im_end|>"],
            ChatFamily::Llama3 => &["<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"],
            ChatFamily::Mistral => &["[INST]", "[/INST]", "</s>"],
            ChatFamily::Gemma => &["<start_of_turn>", "<end_of_turn>"],
            ChatFamily::Phi3 => &[
                "<|end|>",
                "<|system|>",
                "<|user|>",
                "<|assistant|>",
                "<|endoftext|>",
            ],
        }
    }
}

fn unsupported(what: &str) -> OllamaError {
    OllamaError::Template(format!(
        "{what} has no Ollama template here (families: {}); give the template family or an \
         Ollama template file explicitly",
        ChatFamily::ALL.map(ChatFamily::name).join(", ")
    ))
}

/// What a template needs that is not in its text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TemplateOptions {
    /// Llama 3.1+ puts "Today Date: <date>" in every prompt. Templates that take it from the clock
    /// (`strftime_now`, Llama 3.2/3.3) need the date the training set was rendered with
    /// (`26 Jul 2024` format); 3.1's fixed default is read from the template when this is unset.
    pub date_string: Option<String>,
}

/// An Ollama template: the Go template text, its stop tokens and the model's default system
/// prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OllamaTemplate {
    /// `None` for a [`custom`](Self::custom) template.
    pub family: Option<ChatFamily>,
    pub text: String,
    pub stop: Vec<String>,
    /// The system prompt the chat template inserts when a conversation has none.
    pub default_system: Option<String>,
}

const CHATML: &str = r#"{{- range .Messages }}<|im_start|>{{ .Role }}
{{ .Content }}<|im_end|>
{{ end }}<|im_start|>assistant
"#;

const QWEN3: &str = r#"{{- range .Messages }}
{{- if or (eq .Role "system") (eq .Role "user") (eq .Role "assistant") }}<|im_start|>{{ .Role }}
{{ .Content }}<|im_end|>
{{ end }}
{{- end }}<|im_start|>assistant
{{ if and .IsThinkSet (not .Think) }}<think>

</think>

{{ end }}"#;

const LLAMA3: &str = r#"{{- range .Messages }}<|start_header_id|>{{ .Role }}<|end_header_id|>

{{ .Content }}<|eot_id|>
{{- end }}<|start_header_id|>assistant<|end_header_id|>

"#;

/// Llama 3.1+: the system header is always there, with the knowledge/today dates.
const LLAMA3_DATED: &str = r#"<|start_header_id|>system<|end_header_id|>

@@KNOWLEDGE@@
Today Date: @@TODAY@@

{{ .System }}<|eot_id|>
{{- range .Messages }}
{{- if ne .Role "system" }}<|start_header_id|>{{ .Role }}<|end_header_id|>

{{ .Content }}<|eot_id|>
{{- end }}
{{- end }}<|start_header_id|>assistant<|end_header_id|>

"#;

const MISTRAL: &str = r#"{{- range $i, $_ := .Messages }}
{{- $last := eq (len (slice $.Messages $i)) 1 }}
{{- if eq .Role "user" }}[INST] {{ if and $last $.System }}{{ $.System }}

{{ end }}{{ .Content }}[/INST]
{{- else if eq .Role "assistant" }} {{ .Content }}</s>
{{- end }}
{{- end }}"#;

const GEMMA: &str = r#"{{- $system := .System }}
{{- range .Messages }}
{{- if eq .Role "user" }}<start_of_turn>user
{{ if $system }}{{ $system }}

{{ $system = "" }}{{ end }}{{ .Content }}<end_of_turn>
{{ else if eq .Role "assistant" }}<start_of_turn>model
{{ .Content }}<end_of_turn>
{{ end }}
{{- end }}<start_of_turn>model
"#;

const PHI3: &str = r#"{{- range .Messages }}
{{- if and (eq .Role "system") .Content }}<|system|>
{{ .Content }}<|end|>
{{ else if eq .Role "user" }}<|user|>
{{ .Content }}<|end|>
{{ else if eq .Role "assistant" }}<|assistant|>
{{ .Content }}<|end|>
{{ end }}
{{- end }}<|assistant|>
"#;

impl OllamaTemplate {
    /// The Ollama template matching a Jinja chat template (the one training rendered with).
    pub fn from_chat_template(chat_template: &str, opts: &TemplateOptions) -> Result<Self> {
        let family = ChatFamily::detect(chat_template)?;
        let text = match family {
            ChatFamily::Llama3 if chat_template.contains("Cutting Knowledge Date") => {
                llama3_dated(chat_template, opts)?
            }
            _ => base_text(family).to_string(),
        };
        let default_system = match family {
            ChatFamily::ChatMl | ChatFamily::Qwen3 => chatml_default_system(chat_template),
            _ => None,
        };
        Ok(OllamaTemplate {
            family: Some(family),
            text,
            stop: family.stop_tokens().iter().map(|s| s.to_string()).collect(),
            default_system,
        })
    }

    /// A family's template without a Jinja source. Llama 3 is the plain (3.0) form.
    pub fn for_family(family: ChatFamily) -> Self {
        OllamaTemplate {
            family: Some(family),
            text: base_text(family).to_string(),
            stop: family.stop_tokens().iter().map(|s| s.to_string()).collect(),
            default_system: None,
        }
    }

    /// A template given as Go template text with its stop tokens (an escape hatch for families
    /// not covered here).
    pub fn custom(text: impl Into<String>, stop: Vec<String>) -> Self {
        OllamaTemplate {
            family: None,
            text: text.into(),
            stop,
            default_system: None,
        }
    }
}

fn base_text(family: ChatFamily) -> &'static str {
    match family {
        ChatFamily::ChatMl => CHATML,
        ChatFamily::Qwen3 => QWEN3,
        ChatFamily::Llama3 => LLAMA3,
        ChatFamily::Mistral => MISTRAL,
        ChatFamily::Gemma => GEMMA,
        ChatFamily::Phi3 => PHI3,
    }
}

/// Llama 3.1+'s dated system header, with the knowledge line and the date read from the template
/// (or given).
fn llama3_dated(jinja: &str, opts: &TemplateOptions) -> Result<String> {
    let knowledge = literal_line_at(jinja, "Cutting Knowledge Date:").ok_or_else(|| {
        OllamaError::Template(
            "Llama 3 template: cannot read its Cutting Knowledge Date line".into(),
        )
    })?;
    let date =
        match &opts.date_string {
            Some(d) => d.clone(),
            None if jinja.contains("strftime_now") => return Err(OllamaError::Template(
                "this Llama 3 template puts today's date in every prompt (strftime_now): give the \
                 date the training set was rendered with (TemplateOptions::date_string, e.g. \
                 \"14 Mar 2025\")"
                    .into(),
            )),
            None => quoted_after(jinja, "set date_string = ").ok_or_else(|| {
                OllamaError::Template(
                    "Llama 3 template: no default date_string; give TemplateOptions::date_string"
                        .into(),
                )
            })?,
        };
    for (what, v) in [
        ("date", date.as_str()),
        ("knowledge line", knowledge.as_str()),
    ] {
        if v.contains("{{") || v.contains("}}") || v.contains('\n') || v.contains('@') {
            return Err(OllamaError::Template(format!(
                "Llama 3 {what} {v:?} cannot go into a Go template"
            )));
        }
    }
    Ok(LLAMA3_DATED
        .replace("@@KNOWLEDGE@@", &knowledge)
        .replace("@@TODAY@@", &date))
}

/// The text starting at `marker` up to the end of the string literal's line (a `\n` escape, a
/// raw newline or the closing quote).
fn literal_line_at(s: &str, marker: &str) -> Option<String> {
    let start = s.find(marker)?;
    let rest = &s[start..];
    let end = rest.find(['\\', '\n', '"', '\''])?;
    Some(rest[..end].to_string())
}

/// The contents of the quoted literal right after `prefix` (`set date_string = "26 Jul 2024"`).
fn quoted_after(s: &str, prefix: &str) -> Option<String> {
    let rest = &s[s.find(prefix)? + prefix.len()..];
    let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let body = &rest[1..];
    Some(body[..body.find(quote)?].to_string())
}

/// The system prompt a ChatML Jinja template inserts when there is no system message: the text of
/// a `<|im_start|>system\n…<|im_end|>` literal that contains no template code.
fn chatml_default_system(jinja: &str) -> Option<String> {
    const OPEN: &str = "<|im_start|>system";
    let mut from = 0;
    while let Some(pos) = jinja[from..].find(OPEN) {
        let after = &jinja[from + pos + OPEN.len()..];
        from += pos + OPEN.len();
        let body = if let Some(b) = after.strip_prefix("\\n") {
            b
        } else if let Some(b) = after.strip_prefix('\n') {
            b
        } else {
            continue;
        };
        let Some(end) = body.find("<|im_end|>") else {
            continue;
        };
        let text = &body[..end];
        if text.is_empty() || text.contains(['\'', '"', '{', '}', '+']) {
            continue;
        }
        return Some(text.replace("\\n", "\n"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_families_by_markers() {
        let cases = [
            ("{{'<|im_start|>' + m }}", ChatFamily::ChatMl),
            ("<|im_start|>{% if enable_thinking %}", ChatFamily::Qwen3),
            ("<|start_header_id|>", ChatFamily::Llama3),
            ("<start_of_turn>user", ChatFamily::Gemma),
            ("{{ '[INST] ' + c + '[/INST]' }}", ChatFamily::Mistral),
            ("<|user|>\n{{c}}<|end|>", ChatFamily::Phi3),
        ];
        for (t, f) in cases {
            assert_eq!(ChatFamily::detect(t).unwrap(), f, "{t}");
        }
        for bad in [
            "{{ '[INST] ' + c + ' [/INST]' }}",
            "[INST] <<SYS>>",
            "### Instruction:",
        ] {
            let err = ChatFamily::detect(bad).unwrap_err().to_string();
            assert!(err.contains("chatml"), "{err}");
        }
    }

    #[test]
    fn family_names_round_trip() {
        for f in ChatFamily::ALL {
            assert_eq!(ChatFamily::from_name(f.name()).unwrap(), f);
        }
        assert_eq!(ChatFamily::from_name("Qwen2").unwrap(), ChatFamily::ChatMl);
        assert!(ChatFamily::from_name("llama2").is_err());
    }

    #[test]
    fn default_system_prompts() {
        let qwen = "{%- else %}\n        {{- '<|im_start|>system\\nYou are Qwen.<|im_end|>\\n' }}";
        assert_eq!(
            chatml_default_system(qwen).as_deref(),
            Some("You are Qwen.")
        );
        let code = "{{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}";
        assert_eq!(chatml_default_system(code), None);
    }

    #[test]
    fn llama3_dates() {
        let fixed = "{%- set date_string = \"26 Jul 2024\" %}{{- \"Cutting Knowledge Date: December 2023\\n\" }}<|start_header_id|>";
        let t = OllamaTemplate::from_chat_template(fixed, &TemplateOptions::default()).unwrap();
        assert!(t
            .text
            .contains("Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n"));
        let clock = format!("{fixed}{{{{ strftime_now(\"%d %b %Y\") }}}}");
        let err = OllamaTemplate::from_chat_template(&clock, &TemplateOptions::default());
        assert!(err.unwrap_err().to_string().contains("date_string"));
        let opts = TemplateOptions {
            date_string: Some("14 Mar 2025".into()),
        };
        let t = OllamaTemplate::from_chat_template(&clock, &opts).unwrap();
        assert!(t.text.contains("Today Date: 14 Mar 2025\n"));
    }
}
