//! The tiny tokenizer: a byte-level BPE trained on a profile's own text, with the ChatML special
//! tokens, written in the Hugging Face layout (`tokenizer.json` + `tokenizer_config.json`) so
//! `transformers`' `AutoTokenizer.from_pretrained(dir)` loads it. Tests, benchmarks and the
//! development model use it where a real model's tokenizer would be too big to ship.
//!
//! It is built like Qwen2's: a regex split (contractions, letter runs, single digits,
//! punctuation runs, newlines, spaces) then GPT-2's byte-to-unicode mapping, a byte-level
//! decoder, no normalizer (so decoding gives back the exact bytes), and the 256 byte symbols in
//! the initial alphabet (so no text is ever unknown). Special tokens take ids 0–2 in
//! SmolLM2's order. Training is deterministic: the same texts and size give the same bytes.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use tokenizers::models::bpe::{BpeTrainer, BPE};
use tokenizers::models::TrainerWrapper;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::{AddedToken, SplitDelimiterBehavior, Tokenizer};

use super::TokenizeError;
use crate::build::{with_system_prompt, Built};
use crate::config::DatasetConfig;

/// Plain ChatML: `<|im_start|>{role}\n{content}<|im_end|>\n` per message, then
/// `<|im_start|>assistant\n` for a generation prompt. Byte-identical to SmolLM2-Instruct's
/// first-revision template (the `chatml` golden), with raw newlines inside the string literals.
pub const CHATML_TEMPLATE: &str = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

/// The special tokens, in id order.
pub const SPECIAL_TOKENS: [&str; 3] = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"];

/// The vocabulary size `mh-train dev tokenizer` asks for unless told otherwise.
pub const DEFAULT_TINY_VOCAB_SIZE: usize = 8192;

/// `model_max_length` written to `tokenizer_config.json`.
pub const TINY_MODEL_MAX_LENGTH: usize = 2048;

/// Qwen2's pre-tokenizer split (the public pattern of its `tokenizer.json`).
const SPLIT_PATTERN: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// A pair must occur this often to become a merge: one-off words stay split instead of filling
/// the vocabulary with a small corpus's accidents.
const MIN_PAIR_FREQUENCY: u64 = 2;

/// A trained tiny tokenizer and where it was written.
pub struct TinyTokenizer {
    pub dir: PathBuf,
    pub tokenizer_json: PathBuf,
    pub config_json: PathBuf,
    /// The vocabulary actually learned (special tokens included); at most the size asked for,
    /// fewer when the corpus runs out of pairs seen twice.
    pub vocab_size: usize,
    /// SHA-256 of `tokenizer.json`'s bytes.
    pub sha256: String,
    pub tokenizer: Tokenizer,
}

/// Train a byte-level BPE of at most `vocab_size` tokens on `texts` and write it into `out_dir`.
pub fn train_tiny_tokenizer(
    texts: &[String],
    vocab_size: usize,
    out_dir: &Path,
) -> Result<TinyTokenizer, TokenizeError> {
    let min = 256 + SPECIAL_TOKENS.len();
    if vocab_size < min {
        return Err(TokenizeError::Config {
            field: "vocab_size".into(),
            reason: format!(
                "{vocab_size} is below {min} (256 byte symbols and {} special tokens)",
                SPECIAL_TOKENS.len()
            ),
        });
    }
    if texts.iter().all(|t| t.is_empty()) {
        return Err(TokenizeError::Train {
            reason: "no text to train on".into(),
        });
    }
    let tokenizer = train(texts, vocab_size)?;
    let json = tokenizer
        .to_string(true)
        .map_err(|e| TokenizeError::Train {
            reason: format!("cannot serialize the tokenizer: {e}"),
        })?;
    let config = tokenizer_config(TINY_MODEL_MAX_LENGTH);

    std::fs::create_dir_all(out_dir).map_err(|e| TokenizeError::io(out_dir, e))?;
    let tokenizer_json = out_dir.join("tokenizer.json");
    let config_json = out_dir.join("tokenizer_config.json");
    mh_profile::atomic_write(&tokenizer_json, json.as_bytes())
        .map_err(|e| TokenizeError::io(&tokenizer_json, e))?;
    mh_profile::atomic_write_json(&config_json, &config)
        .map_err(|e| TokenizeError::io(&config_json, e))?;
    Ok(TinyTokenizer {
        dir: out_dir.to_path_buf(),
        tokenizer_json,
        config_json,
        vocab_size: tokenizer.get_vocab_size(true),
        sha256: hex::encode(Sha256::digest(json.as_bytes())),
        tokenizer,
    })
}

fn train(texts: &[String], vocab_size: usize) -> Result<Tokenizer, TokenizeError> {
    let err = |what: &str, e: &dyn std::fmt::Display| TokenizeError::Train {
        reason: format!("{what}: {e}"),
    };
    let split = Split::new(
        SplitPattern::Regex(SPLIT_PATTERN.into()),
        SplitDelimiterBehavior::Isolated,
        false,
    )
    .map_err(|e| err("the split pattern", &e))?;
    let pre_tokenizer = Sequence::new(vec![
        split.into(),
        ByteLevel::new(false, false, false).into(),
    ]);

    let mut tokenizer = Tokenizer::new(BPE::default());
    tokenizer
        .with_pre_tokenizer(Some(pre_tokenizer))
        // One type serves as pre-tokenizer, decoder and post-processor (which only fixes offsets).
        .with_decoder(Some(ByteLevel::new(false, false, false)))
        .with_post_processor(Some(ByteLevel::new(false, false, false)));

    let alphabet: HashSet<char> = ByteLevel::alphabet().into_iter().collect();
    let trainer = BpeTrainer::builder()
        .vocab_size(vocab_size)
        .min_frequency(MIN_PAIR_FREQUENCY)
        .show_progress(false)
        .special_tokens(
            SPECIAL_TOKENS
                .iter()
                .map(|t| AddedToken::from(*t, true))
                .collect(),
        )
        .initial_alphabet(alphabet)
        .build();
    let mut trainer = TrainerWrapper::from(trainer);
    tokenizer
        .train(&mut trainer, texts.iter())
        .map_err(|e| err("training", &e))?;
    Ok(tokenizer)
}

/// `tokenizer_config.json` as `transformers` writes one for a fast-only tokenizer.
fn tokenizer_config(model_max_length: usize) -> Value {
    let mut added = Map::new();
    for (id, token) in SPECIAL_TOKENS.iter().enumerate() {
        added.insert(
            id.to_string(),
            json!({
                "content": token,
                "lstrip": false,
                "normalized": false,
                "rstrip": false,
                "single_word": false,
                "special": true
            }),
        );
    }
    json!({
        "add_prefix_space": false,
        "added_tokens_decoder": added,
        "additional_special_tokens": ["<|im_start|>", "<|im_end|>"],
        "bos_token": null,
        "chat_template": CHATML_TEMPLATE,
        "clean_up_tokenization_spaces": false,
        "eos_token": "<|im_end|>",
        "model_max_length": model_max_length,
        "pad_token": "<|endoftext|>",
        "split_special_tokens": false,
        "tokenizer_class": "PreTrainedTokenizerFast",
        "unk_token": null
    })
}

/// The training text of a built dataset: every exported message's content (system prompts
/// included, as the model will see them) and its role name (the word the chat template writes
/// before it), train and eval alike, in export order.
pub fn corpus(built: &Built, config: &DatasetConfig) -> Vec<String> {
    let mut texts = Vec::new();
    for s in built.train.iter().chain(&built.eval) {
        for m in with_system_prompt(s, config, &built.person) {
            let role = match m.role {
                crate::Role::System => "system",
                crate::Role::User => "user",
                crate::Role::Assistant => "assistant",
            };
            texts.push(role.to_string());
            texts.push(m.content);
        }
    }
    texts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts() -> Vec<String> {
        [
            "The piano in the church hall was a half-step flat again.",
            "I tuned it twice this winter; the radiators dry the soundboard out.",
            "Duluth in January: 28 below, and the lake steaming like a kettle.",
            "Naïve café owners still ask whether I can fix a harpsichord. 🎹",
        ]
        .iter()
        .map(|s| s.repeat(3))
        .collect()
    }

    #[test]
    fn trains_round_trips_and_is_deterministic() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let ta = train_tiny_tokenizer(&texts(), 400, a.path()).unwrap();
        let tb = train_tiny_tokenizer(&texts(), 400, b.path()).unwrap();
        assert_eq!(ta.sha256, tb.sha256);
        assert_eq!(
            std::fs::read(&ta.tokenizer_json).unwrap(),
            std::fs::read(&tb.tokenizer_json).unwrap()
        );
        assert!(ta.vocab_size > 259 && ta.vocab_size <= 400);

        let tok = Tokenizer::from_file(&ta.tokenizer_json).unwrap();
        for (id, t) in SPECIAL_TOKENS.iter().enumerate() {
            assert_eq!(tok.token_to_id(t), Some(id as u32));
        }
        // Unseen text, special tokens in place: exact round trip, specials one token each.
        let text = "<|im_start|>user\nŻółw 42 — ok?<|im_end|>\n";
        let enc = tok.encode(text, false).unwrap();
        assert_eq!(enc.get_ids()[0], 1);
        assert!(enc.get_ids().contains(&2));
        assert_eq!(tok.decode(enc.get_ids(), false).unwrap(), text);
        // Offsets are byte ranges of the input.
        for (id, &(s, e)) in enc.get_ids().iter().zip(enc.get_offsets()) {
            if *id == 2 {
                assert_eq!(&text[s..e], "<|im_end|>");
            }
        }
    }

    #[test]
    fn refuses_a_vocabulary_without_room_for_the_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let e = train_tiny_tokenizer(&texts(), 100, dir.path())
            .err()
            .unwrap();
        assert!(e.to_string().contains("vocab_size"), "{e}");
        assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none());
    }

    #[test]
    fn the_chatml_template_is_the_golden_one() {
        let golden = include_str!("../../tests/fixtures/templates/chatml.jinja");
        assert_eq!(CHATML_TEMPLATE, golden);
    }
}
