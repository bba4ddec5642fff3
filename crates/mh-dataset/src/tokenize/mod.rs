//! Tokenization with assistant-only labels, truncation, packing and the tokenized export.
//!
//! **In:** a [`Built`](crate::Built) dataset, the model's `tokenizer.json` ([`ModelTokenizer`]),
//! its chat template ([`ChatTemplate`](crate::template::ChatTemplate)) and [`TokenizeOptions`].
//! **Out:** [`Tokenized`] — per split, the sequences the trainer consumes (`input_ids`, `labels`,
//! `lengths`), their counts and a token-length histogram ([`TokenStats`], also in
//! `report.json`); [`write_with_tokens`] puts them on disk as `train.tokens.jsonl`,
//! `eval.tokens.jsonl` and the `tokenized.json` manifest beside the chat export.
//!
//! Each sample is rendered with the template and the whole text encoded with
//! `add_special_tokens = false`, exactly as `transformers`' `apply_chat_template(tokenize=True)`
//! does: the template already writes the BOS where the model wants one, so the tokenizer's
//! post-processor must not add a second. Labels follow the rule in [`labels`].
//!
//! [`train_tiny_tokenizer`] trains the small byte-level BPE used by tests, benchmarks and the
//! development model (`mh-train dev tokenizer`).

pub mod dataset;
pub mod fast;
pub mod labels;
pub mod pack;
pub mod tiny;
pub mod write;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use dataset::{tokenize_built, SplitStats, TokenStats, Tokenized, TokenizedSplit};
pub use labels::{encode_rendered, label_tokens, truncate, Encoded, Truncated, IGNORE};
pub use pack::{pack_first_fit_decreasing, unpacked, Sequence};
pub use tiny::{
    train_tiny_tokenizer, TinyTokenizer, CHATML_TEMPLATE, DEFAULT_TINY_VOCAB_SIZE, SPECIAL_TOKENS,
};
pub use write::{write_with_tokens, Manifest, WrittenTokens};

/// Errors of tokenization and the tokenized export; each names the file, sample or setting.
#[derive(Debug, thiserror::Error)]
pub enum TokenizeError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not a usable tokenizer.json: {reason}")]
    Load { path: PathBuf, reason: String },
    #[error(
        "{path}: the chat template ends turns with {token:?}, which this tokenizer splits into \
         {pieces} tokens (a template and tokenizer of different models?)"
    )]
    EndOfTurnNotOneToken {
        path: PathBuf,
        token: String,
        pieces: usize,
    },
    #[error("sample {id}: cannot render the chat template: {reason}")]
    Render { id: String, reason: String },
    #[error("sample {id}: cannot tokenize: {reason}")]
    Encode { id: String, reason: String },
    #[error("cannot train the tokenizer: {reason}")]
    Train { reason: String },
    #[error("setting `{field}`: {reason}")]
    Config { field: String, reason: String },
    #[error(transparent)]
    Dataset(#[from] crate::DatasetError),
}

impl TokenizeError {
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        TokenizeError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// What to do with a sample longer than `max_seq_length` tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Truncation {
    /// Leave the sample out (counted as `too_long`).
    #[default]
    Drop,
    /// Keep its last `max_seq_length` tokens: the final answer survives, the oldest context goes.
    KeepEnd,
}

impl Truncation {
    /// `drop` or `keep-end` (the command-line spelling; `keep_end` is accepted too).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "drop" => Some(Truncation::Drop),
            "keep-end" | "keep_end" => Some(Truncation::KeepEnd),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Truncation::Drop => "drop",
            Truncation::KeepEnd => "keep_end",
        }
    }
}

/// Which assistant turns are training targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LabelTurns {
    /// Every assistant turn of a conversation.
    #[default]
    All,
    /// Only the final assistant turn (earlier ones are context).
    Last,
}

/// Settings of the tokenized export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenizeOptions {
    pub max_seq_length: usize,
    pub truncation: Truncation,
    /// Pack samples into sequences of up to `max_seq_length` tokens.
    pub pack: bool,
    pub label_turns: LabelTurns,
}

impl Default for TokenizeOptions {
    fn default() -> Self {
        Self {
            max_seq_length: DEFAULT_MAX_SEQ_LENGTH,
            truncation: Truncation::Drop,
            pack: false,
            label_turns: LabelTurns::All,
        }
    }
}

/// `etc/training.json`'s default `max_seq_length`.
pub const DEFAULT_MAX_SEQ_LENGTH: usize = 2048;

/// The profile's `etc/training.json` `max_seq_length` (2048 when the file or key is absent).
pub fn default_max_seq_length(profile_root: &Path) -> Result<usize, TokenizeError> {
    use mh_profile::config::{etc_path, ConfigDoc, TrainingConfig};
    let doc = ConfigDoc::<TrainingConfig>::load(&etc_path(profile_root, "training.json"))
        .map_err(crate::DatasetError::from)?;
    Ok(doc.value.max_seq_length as usize)
}

/// A model's `tokenizer.json`, loaded, with the SHA-256 of its bytes (what the manifest pins).
pub struct ModelTokenizer {
    pub path: PathBuf,
    pub sha256: String,
    /// Truncation and padding switched off: `apply_chat_template(tokenize=True)` uses neither,
    /// and lengths are this stage's business.
    pub tokenizer: tokenizers::Tokenizer,
    /// The plain-string encoder when this tokenizer's layout allows it ([`fast`]).
    fast: Option<fast::FastEncoder>,
}

impl ModelTokenizer {
    /// Load `path` (a `tokenizer.json`).
    pub fn load(path: &Path) -> Result<Self, TokenizeError> {
        let bytes = std::fs::read(path).map_err(|e| TokenizeError::io(path, e))?;
        Self::from_bytes(path, &bytes)
    }

    /// `<model_dir>/tokenizer.json`.
    pub fn from_model_dir(model_dir: &Path) -> Result<Self, TokenizeError> {
        Self::load(&model_dir.join("tokenizer.json"))
    }

    /// Parse `bytes` as the tokenizer at `path` (the path is only for messages).
    pub fn from_bytes(path: &Path, bytes: &[u8]) -> Result<Self, TokenizeError> {
        let load = |reason: String| TokenizeError::Load {
            path: path.to_path_buf(),
            reason,
        };
        let mut tokenizer =
            tokenizers::Tokenizer::from_bytes(bytes).map_err(|e| load(e.to_string()))?;
        tokenizer
            .with_truncation(None)
            .map_err(|e| load(e.to_string()))?
            .with_padding(None);
        let json: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| load(e.to_string()))?;
        let fast = fast::FastEncoder::new(&json, &tokenizer);
        Ok(Self {
            path: path.to_path_buf(),
            sha256: hex::encode(Sha256::digest(bytes)),
            tokenizer,
            fast,
        })
    }

    /// Whether [`ModelTokenizer::encode`] takes the fast path.
    pub fn is_fast(&self) -> bool {
        self.fast.is_some()
    }

    /// Token ids and byte offsets of `text` without added special tokens: what
    /// `tokenizer.encode(text, false)` gives, by the fast path when there is one.
    pub fn encode(&self, text: &str) -> Result<fast::IdsAndOffsets, String> {
        match &self.fast {
            Some(f) => f.encode(text),
            None => self.encode_reference(text),
        }
    }

    /// [`ModelTokenizer::encode`] by `tokenizers` itself, always.
    pub fn encode_reference(&self, text: &str) -> Result<fast::IdsAndOffsets, String> {
        let enc = self
            .tokenizer
            .encode(text, false)
            .map_err(|e| e.to_string())?;
        Ok((enc.get_ids().to_vec(), enc.get_offsets().to_vec()))
    }

    /// The id of `token` when the tokenizer reads it as exactly one token.
    pub fn single_token_id(&self, token: &str) -> Result<u32, TokenizeError> {
        let enc = self
            .tokenizer
            .encode(token, false)
            .map_err(|e| TokenizeError::Load {
                path: self.path.clone(),
                reason: format!("cannot encode {token:?}: {e}"),
            })?;
        match enc.get_ids() {
            [id] => Ok(*id),
            ids => Err(TokenizeError::EndOfTurnNotOneToken {
                path: self.path.clone(),
                token: token.to_string(),
                pieces: ids.len(),
            }),
        }
    }
}
