//! A built dataset through the chat template and the tokenizer: every sample rendered, encoded,
//! labelled, truncated and (optionally) packed, with the counts and length histogram the report
//! and the manifest carry.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDateTime, Utc};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::labels::{encode_rendered, truncate, Encoded, Truncated};
use super::pack::{pack_first_fit_decreasing, unpacked, Sequence};
use super::write::Manifest;
use super::{LabelTurns, ModelTokenizer, TokenizeError, TokenizeOptions, Truncation};
use crate::build::{with_system_prompt, Built};
use crate::config::DatasetConfig;
use crate::sample::{Message, Sample};
use crate::template::{ChatTemplate, RenderOptions, SpanPolicy};

/// Upper edges (exclusive) of the token-length histogram's buckets; the last bucket is open.
/// Fixed powers of two, so histograms of different builds line up.
pub const LENGTH_BUCKET_EDGES: [usize; 12] = [
    16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768,
];

/// The tokenized export of one build.
#[derive(Debug, Clone)]
pub struct Tokenized {
    pub train: TokenizedSplit,
    pub eval: TokenizedSplit,
    pub stats: TokenStats,
    pub manifest: Manifest,
}

/// The sequences of one split and what became of its samples.
#[derive(Debug, Clone, Default)]
pub struct TokenizedSplit {
    pub sequences: Vec<Sequence>,
    pub stats: SplitStats,
}

/// `report.json` `tokens`: how the samples fared against the tokenizer and the length limit.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TokenStats {
    pub tokenizer_sha256: String,
    pub chat_template: String,
    pub max_seq_length: usize,
    pub truncation: Truncation,
    pub packing: bool,
    pub train: SplitStats,
    pub eval: SplitStats,
    /// Samples (train and eval) by rendered length in tokens, before truncation.
    pub length_histogram: Vec<LengthBucket>,
}

/// Counts of one split's tokenized export.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SplitStats {
    /// Samples in the export.
    pub samples: usize,
    /// Lines of the export: one per sample, or one per packed row.
    pub sequences: usize,
    pub tokens: usize,
    pub labelled_tokens: usize,
    /// Samples cut to their last `max_seq_length` tokens (`keep_end`).
    pub truncated: usize,
    /// Samples left out, by reason: `too_long` (`drop`), `no_labels`,
    /// `no_labels_after_truncation`.
    pub dropped: BTreeMap<String, usize>,
    /// The longest sample before truncation, in tokens.
    pub max_sample_tokens: usize,
}

/// `[from, to)` tokens; `to` is absent for the last, open bucket.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LengthBucket {
    pub from: usize,
    pub to: Option<usize>,
    pub count: usize,
}

/// A histogram over [`LENGTH_BUCKET_EDGES`], every bucket present (zeros included).
pub fn length_histogram(lengths: impl IntoIterator<Item = usize>) -> Vec<LengthBucket> {
    let mut buckets: Vec<LengthBucket> = std::iter::once(0)
        .chain(LENGTH_BUCKET_EDGES)
        .zip(LENGTH_BUCKET_EDGES.map(Some).into_iter().chain([None]))
        .map(|(from, to)| LengthBucket { from, to, count: 0 })
        .collect();
    for len in lengths {
        let i = LENGTH_BUCKET_EDGES.partition_point(|&edge| edge <= len);
        buckets[i].count += 1;
    }
    buckets
}

/// The span policy and render settings every sample of a build shares.
pub struct Encoder<'a> {
    pub template: &'a ChatTemplate,
    pub tokenizer: &'a ModelTokenizer,
    pub label_turns: LabelTurns,
}

impl Encoder<'_> {
    /// Render `messages` (system prompt first) and encode them with assistant-only labels.
    /// `now` is the date a template may print (`strftime_now`); it is fixed per sample so a
    /// build does not depend on the day it runs.
    pub fn encode(
        &self,
        id: &str,
        messages: &[Message],
        now: NaiveDateTime,
    ) -> Result<Encoded, TokenizeError> {
        let opts = RenderOptions {
            now: Some(now),
            ..RenderOptions::default()
        };
        let policy = match self.label_turns {
            LabelTurns::All => SpanPolicy::AllAssistantTurns,
            LabelTurns::Last => SpanPolicy::LastOnly,
        };
        let rendered = self
            .template
            .render_conversation(messages, &opts, policy)
            .map_err(|e| TokenizeError::Render {
                id: id.to_string(),
                reason: e.to_string(),
            })?;
        encode_rendered(self.tokenizer, &rendered.text, &rendered.assistant_spans).map_err(
            |reason| TokenizeError::Encode {
                id: id.to_string(),
                reason,
            },
        )
    }
}

/// Tokenize the train and eval samples of `built` and record the counts in its report
/// (`built.report.tokens`). Fails, with nothing written, on the first sample the template
/// cannot render or the tokenizer cannot encode, when the template's end-of-turn token is
/// not a single token of this tokenizer, or when no training sample survives the length limit.
pub fn tokenize_built(
    built: &mut Built,
    config: &DatasetConfig,
    tokenizer: &ModelTokenizer,
    template: &ChatTemplate,
    opts: &TokenizeOptions,
) -> Result<Tokenized, TokenizeError> {
    if opts.max_seq_length == 0 {
        return Err(TokenizeError::Config {
            field: "max_seq_length".into(),
            reason: "must be at least 1".into(),
        });
    }
    let end_of_turn = match template.end_of_turn() {
        Some(t) => Some((t.to_string(), tokenizer.single_token_id(t)?)),
        None => None,
    };
    let encoder = Encoder {
        template,
        tokenizer,
        label_turns: opts.label_turns,
    };
    // A sample without a date gets the newest one, like the monthly cut-off's "now".
    let newest = built
        .train
        .iter()
        .chain(&built.eval)
        .filter_map(|s| s.timestamp)
        .max()
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH);

    let mut lengths = Vec::new();
    let mut split = |samples: &[Sample]| -> Result<TokenizedSplit, TokenizeError> {
        let encoded: Vec<Encoded> = samples
            .par_iter()
            .map(|s| {
                let messages = with_system_prompt(s, config, &built.person);
                let now = s.timestamp.unwrap_or(newest).naive_utc();
                encoder.encode(&s.id, &messages, now)
            })
            .collect::<Result<_, _>>()?;
        let mut stats = SplitStats::default();
        let mut kept = Vec::with_capacity(encoded.len());
        for e in encoded {
            lengths.push(e.len());
            stats.max_sample_tokens = stats.max_sample_tokens.max(e.len());
            match truncate(e, opts.max_seq_length, opts.truncation) {
                Truncated::Fits(e) => kept.push(e),
                Truncated::Cut(e) => {
                    stats.truncated += 1;
                    kept.push(e);
                }
                Truncated::Dropped(reason) => {
                    *stats.dropped.entry(reason.to_string()).or_default() += 1;
                }
            }
        }
        stats.samples = kept.len();
        stats.tokens = kept.iter().map(Encoded::len).sum();
        stats.labelled_tokens = kept.iter().map(Encoded::labelled).sum();
        let sequences = if opts.pack {
            pack_first_fit_decreasing(kept, opts.max_seq_length)
        } else {
            unpacked(kept)
        };
        stats.sequences = sequences.len();
        Ok(TokenizedSplit { sequences, stats })
    };
    let train = split(&built.train)?;
    let eval = split(&built.eval)?;
    if train.stats.samples == 0 && !built.train.is_empty() {
        // An export the trainer cannot learn anything from is a setting to fix, not a result.
        return Err(TokenizeError::Config {
            field: "max_seq_length".into(),
            reason: format!(
                "no training sample is left at {} tokens with truncation {} (dropped: {:?})",
                opts.max_seq_length,
                opts.truncation.as_str(),
                train.stats.dropped
            ),
        });
    }

    let stats = TokenStats {
        tokenizer_sha256: tokenizer.sha256.clone(),
        chat_template: template.name.clone(),
        max_seq_length: opts.max_seq_length,
        truncation: opts.truncation,
        packing: opts.pack,
        train: train.stats.clone(),
        eval: eval.stats.clone(),
        length_histogram: length_histogram(lengths),
    };
    let manifest = Manifest::new(
        tokenizer,
        template,
        end_of_turn,
        built.report.system_prompts.clone(),
        opts,
        &stats,
    );
    built.report.tokens = Some(stats.clone());
    Ok(Tokenized {
        train,
        eval,
        stats,
        manifest,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_has_fixed_buckets() {
        let h = length_histogram([0, 15, 16, 2047, 2048, 40_000]);
        assert_eq!(h.len(), LENGTH_BUCKET_EDGES.len() + 1);
        assert_eq!(
            h[0],
            LengthBucket {
                from: 0,
                to: Some(16),
                count: 2
            }
        );
        assert_eq!(h[1].count, 1);
        assert_eq!((h[7].from, h[7].to, h[7].count), (1024, Some(2048), 1));
        assert_eq!((h[8].from, h[8].count), (2048, 1));
        assert_eq!(
            h.last(),
            Some(&LengthBucket {
                from: 32768,
                to: None,
                count: 1
            })
        );
        assert_eq!(h.iter().map(|b| b.count).sum::<usize>(), 6);
    }
}
