//! Chat through a model's own template: messages → rendered prompt (with the generation prompt)
//! → token ids → [`mh_model::Model::generate`] → text, streamed as it decodes.
//!
//! Decoding stops at the generation config's `eos_token_id`s and at the template's end-of-turn
//! token, whichever the model emits first.

use std::path::Path;
use std::time::Instant;

use mh_dataset::template::{ChatTemplate, RenderOptions, TemplateChoice};
use mh_dataset::tokenize::ModelTokenizer;
use mh_model::generate::{GenerationConfig, StopReason};
use mh_model::Model;
use serde::Serialize;

use crate::TrainError;

/// A model's template and tokenizer, loaded from its directory.
pub struct ChatFormat {
    pub template: ChatTemplate,
    pub tokenizer: ModelTokenizer,
    /// The template's end-of-turn token id, when it has one.
    pub end_of_turn: Option<u32>,
}

/// A model directory's own chat template and its tokenizer.
pub(crate) fn template_and_tokenizer(
    model_dir: &Path,
) -> Result<(ChatTemplate, ModelTokenizer), TrainError> {
    let template = ChatTemplate::load(model_dir, &TemplateChoice::Auto)
        .map_err(|e| TrainError::dataset(model_dir, e.to_string()))?;
    let tokenizer = ModelTokenizer::from_model_dir(model_dir)
        .map_err(|e| TrainError::dataset(model_dir, e.to_string()))?;
    Ok((template, tokenizer))
}

/// One reply.
#[derive(Debug, Clone, Serialize)]
pub struct Reply {
    pub text: String,
    pub prompt_tokens: usize,
    pub new_tokens: usize,
    /// `stop` (an end token), `max_tokens`, or `callback`.
    pub stop_reason: &'static str,
    pub tokens_per_s: f64,
}

impl ChatFormat {
    pub fn load(model_dir: &Path) -> Result<ChatFormat, TrainError> {
        let (template, tokenizer) = template_and_tokenizer(model_dir)?;
        let end_of_turn = match template.end_of_turn() {
            Some(token) => Some(
                tokenizer
                    .single_token_id(token)
                    .map_err(|e| TrainError::dataset(model_dir, e.to_string()))?,
            ),
            None => None,
        };
        Ok(ChatFormat {
            template,
            tokenizer,
            end_of_turn,
        })
    }

    /// The prompt ids for `messages` (a JSON array of `{role, content}`), ending with the
    /// template's generation prompt.
    pub fn prompt_ids(&self, messages: &serde_json::Value) -> Result<Vec<u32>, TrainError> {
        let opts = RenderOptions {
            add_generation_prompt: true,
            ..RenderOptions::default()
        };
        let text = self
            .template
            .render(messages, &opts)
            .map_err(|e| TrainError::Config(format!("chat template: {e}")))?;
        let (ids, _) = self
            .tokenizer
            .encode(&text)
            .map_err(|e| TrainError::Config(format!("tokenizer: {e}")))?;
        Ok(ids)
    }

    /// Generate a reply to `messages`; `on_text` receives each new piece of text as it is
    /// decoded (and returns false to stop).
    pub fn reply(
        &self,
        model: &Model,
        messages: &serde_json::Value,
        cfg: &GenerationConfig,
        mut on_text: impl FnMut(&str) -> bool,
    ) -> Result<Reply, TrainError> {
        let prompt = self.prompt_ids(messages)?;
        let mut cfg = cfg.clone();
        if let Some(id) = self.end_of_turn {
            if !cfg.stop_ids.contains(&id) {
                cfg.stop_ids.push(id);
            }
        }
        let stops = cfg.stop_ids.clone();
        let mut content: Vec<u32> = Vec::new();
        let mut shown = String::new();
        let mut emit = |text: String, shown: &mut String| -> bool {
            // Only text that extends what was shown, and does not end in half a character
            // (a multi-byte character may span tokens), goes out.
            match text.strip_prefix(shown.as_str()) {
                Some(piece) if !piece.is_empty() && !text.ends_with('\u{FFFD}') => {
                    let go_on = on_text(piece);
                    *shown = text;
                    go_on
                }
                _ => true,
            }
        };
        let started = Instant::now();
        let generated = model.generate(&prompt, &cfg, |id| {
            if stops.contains(&id) {
                return true;
            }
            content.push(id);
            match self.tokenizer.tokenizer.decode(&content, true) {
                Ok(text) => emit(text, &mut shown),
                Err(_) => true,
            }
        })?;
        let secs = started.elapsed().as_secs_f64();
        let text = self
            .tokenizer
            .tokenizer
            .decode(generated.content_tokens(), true)
            .map_err(|e| TrainError::Config(format!("tokenizer: {e}")))?;
        emit(text.clone(), &mut shown);
        Ok(Reply {
            text,
            prompt_tokens: generated.prompt_tokens,
            new_tokens: generated.tokens.len(),
            stop_reason: match generated.stop_reason {
                StopReason::Stop => "stop",
                StopReason::MaxTokens => "max_tokens",
                StopReason::Callback => "callback",
            },
            tokens_per_s: generated.tokens.len() as f64 / secs.max(1e-9),
        })
    }
}
