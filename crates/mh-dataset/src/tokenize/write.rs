//! Writing the tokenized export beside the chat export: `train.tokens.jsonl`,
//! `eval.tokens.jsonl` (one [`Sequence`] per line) and the `tokenized.json` [`Manifest`].
//!
//! All or nothing: every tokenized file is first written (and fsynced) into a staging directory
//! inside the output directory, then the chat export is written, and only when both succeeded
//! are the staged files renamed into place. A failure removes the staging directory, so the
//! output directory never holds a manifest describing token files that are not there.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::dataset::{SplitStats, TokenStats, Tokenized};
use super::labels::IGNORE;
use super::pack::Sequence;
use super::{LabelTurns, ModelTokenizer, TokenizeError, TokenizeOptions, Truncation};
use crate::build::Built;
use crate::config::DatasetConfig;
use crate::export::{self, Format, Written};
use crate::template::ChatTemplate;
use crate::DatasetError;

pub const TRAIN_TOKENS: &str = "train.tokens.jsonl";
pub const EVAL_TOKENS: &str = "eval.tokens.jsonl";
pub const MANIFEST: &str = "tokenized.json";

/// `tokenized.json`: everything the trainer needs to trust and read the token files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub schema_version: u32,
    pub files: BTreeMap<String, String>,
    pub tokenizer: TokenizerInfo,
    pub chat_template: TemplateInfo,
    /// The token that ends an assistant turn (and generation), with its id; `null` when the
    /// template has none.
    pub end_of_turn: Option<EndOfTurn>,
    /// The system prompt of each mode, as rendered into the samples.
    pub system_prompts: BTreeMap<String, String>,
    pub max_seq_length: usize,
    pub truncation: Truncation,
    pub labels: LabelInfo,
    pub packing: Packing,
    pub train: SplitStats,
    pub eval: SplitStats,
    /// SHA-256 of the chat export these tokens were made from (`train.jsonl`, `eval.jsonl`),
    /// so a reader can tell when the two no longer belong together.
    pub source_sha256: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenizerInfo {
    /// SHA-256 of the `tokenizer.json` bytes.
    pub sha256: String,
    pub vocab_size: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemplateInfo {
    pub name: String,
    pub sha256: String,
    pub source: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EndOfTurn {
    pub token: String,
    pub id: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelInfo {
    pub ignore_index: i32,
    /// `all` assistant turns or only the `last`.
    pub turns: LabelTurns,
    /// Labels are the token ids themselves; the trainer shifts them by one.
    pub shifted: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Packing {
    pub enabled: bool,
    /// `first_fit_decreasing` when enabled, else `none` (one sample per line).
    pub method: String,
    /// How to read `lengths`: position ids restart at 0 at every sample and attention is
    /// block-diagonal (causal within a sample, none across samples).
    pub position_ids: String,
    pub attention: String,
}

impl Manifest {
    pub fn new(
        tokenizer: &ModelTokenizer,
        template: &ChatTemplate,
        end_of_turn: Option<(String, u32)>,
        system_prompts: BTreeMap<String, String>,
        opts: &TokenizeOptions,
        stats: &TokenStats,
    ) -> Self {
        let files = [("train", TRAIN_TOKENS), ("eval", EVAL_TOKENS)]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Self {
            schema_version: 1,
            files,
            tokenizer: TokenizerInfo {
                sha256: tokenizer.sha256.clone(),
                vocab_size: tokenizer.tokenizer.get_vocab_size(true),
            },
            chat_template: TemplateInfo {
                name: template.name.clone(),
                sha256: template.sha256(),
                source: template.source.clone(),
            },
            end_of_turn: end_of_turn.map(|(token, id)| EndOfTurn { token, id }),
            system_prompts,
            max_seq_length: opts.max_seq_length,
            truncation: opts.truncation,
            labels: LabelInfo {
                ignore_index: IGNORE,
                turns: opts.label_turns,
                shifted: false,
            },
            packing: Packing {
                enabled: opts.pack,
                method: if opts.pack {
                    "first_fit_decreasing"
                } else {
                    "none"
                }
                .into(),
                position_ids: "restart_per_sample".into(),
                attention: "block_diagonal_causal".into(),
            },
            train: stats.train.clone(),
            eval: stats.eval.clone(),
            source_sha256: BTreeMap::new(),
        }
    }
}

/// The files [`write_with_tokens`] produced.
#[derive(Debug, Clone)]
pub struct WrittenTokens {
    pub export: Written,
    pub train_tokens: PathBuf,
    pub eval_tokens: PathBuf,
    pub manifest: PathBuf,
}

/// Write the chat export of `built` (as [`export::write`] does; its report should carry the
/// token counts, which [`super::tokenize_built`] puts there) and the tokenized export, all or
/// nothing as the module docs describe.
pub fn write_with_tokens(
    out_dir: &Path,
    built: &Built,
    config: &DatasetConfig,
    format: Format,
    parquet: bool,
    tokenized: &Tokenized,
) -> Result<WrittenTokens, TokenizeError> {
    std::fs::create_dir_all(out_dir).map_err(|e| TokenizeError::io(out_dir, e))?;
    let staging = out_dir.join(format!(".tokenized-staging-{}", std::process::id()));
    // A crashed earlier run with our pid may have left one behind.
    let _ = std::fs::remove_dir_all(&staging);
    let result = stage_and_commit(out_dir, &staging, built, config, format, parquet, tokenized);
    let _ = std::fs::remove_dir_all(&staging);
    result
}

fn stage_and_commit(
    out_dir: &Path,
    staging: &Path,
    built: &Built,
    config: &DatasetConfig,
    format: Format,
    parquet: bool,
    tokenized: &Tokenized,
) -> Result<WrittenTokens, TokenizeError> {
    write_sequences(&staging.join(TRAIN_TOKENS), &tokenized.train.sequences)?;
    write_sequences(&staging.join(EVAL_TOKENS), &tokenized.eval.sequences)?;
    let written = export::write(out_dir, built, config, format, parquet)?;

    let mut manifest = tokenized.manifest.clone();
    for path in [&written.train, &written.eval] {
        let bytes = std::fs::read(path).map_err(|e| TokenizeError::io(path, e))?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        manifest
            .source_sha256
            .insert(name, hex::encode(Sha256::digest(&bytes)));
    }
    let staged_manifest = staging.join(MANIFEST);
    mh_profile::atomic_write_json(&staged_manifest, &manifest)
        .map_err(|e| TokenizeError::io(&staged_manifest, e))?;

    // Everything is on disk: move the token files first and the manifest last, so a manifest
    // in place always has its files beside it.
    for name in [TRAIN_TOKENS, EVAL_TOKENS, MANIFEST] {
        let (from, to) = (staging.join(name), out_dir.join(name));
        std::fs::rename(&from, &to).map_err(|e| TokenizeError::io(&to, e))?;
    }
    std::fs::File::open(out_dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| TokenizeError::io(out_dir, e))?;
    Ok(WrittenTokens {
        export: written,
        train_tokens: out_dir.join(TRAIN_TOKENS),
        eval_tokens: out_dir.join(EVAL_TOKENS),
        manifest: out_dir.join(MANIFEST),
    })
}

/// Write `sequences` as JSONL, atomically, checking each row's shape first.
fn write_sequences(path: &Path, sequences: &[Sequence]) -> Result<(), TokenizeError> {
    for (i, s) in sequences.iter().enumerate() {
        if let Err(reason) = check_sequence(s) {
            return Err(DatasetError::InvalidLine {
                path: path.to_path_buf(),
                line: i + 1,
                reason,
            }
            .into());
        }
    }
    mh_profile::atomic_write_with(path, |w| {
        for s in sequences {
            serde_json::to_writer(&mut *w, s).map_err(std::io::Error::other)?;
            w.write_all(b"\n")?;
        }
        Ok(())
    })
    .map_err(|e| TokenizeError::io(path, e))
}

/// What a reader of a `*.tokens.jsonl` line may rely on.
pub fn check_sequence(s: &Sequence) -> Result<(), String> {
    if s.input_ids.is_empty() {
        return Err("no tokens".into());
    }
    if s.labels.len() != s.input_ids.len() {
        return Err(format!(
            "{} labels for {} input_ids",
            s.labels.len(),
            s.input_ids.len()
        ));
    }
    if s.lengths.contains(&0) || s.lengths.iter().sum::<usize>() != s.input_ids.len() {
        return Err(format!(
            "lengths {:?} do not add up to {} tokens",
            s.lengths,
            s.input_ids.len()
        ));
    }
    let mut start = 0;
    for &n in &s.lengths {
        if s.labels[start] != IGNORE {
            return Err(format!(
                "the first token of the sample at {start} is labelled"
            ));
        }
        start += n;
    }
    if let Some((i, l)) = s
        .labels
        .iter()
        .zip(&s.input_ids)
        .enumerate()
        .find_map(|(i, (&l, &id))| (l != IGNORE && i64::from(l) != i64::from(id)).then_some((i, l)))
    {
        return Err(format!("label {l} at {i} is neither -100 nor the token id"));
    }
    Ok(())
}
