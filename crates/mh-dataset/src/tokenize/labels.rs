//! Encoding a rendered conversation into `input_ids` and assistant-only `labels`, and cutting it
//! to `max_seq_length`.
//!
//! **The label rule.** A token is a target (its label is its own id; every other label is
//! [`IGNORE`]) when its byte range in the rendered text overlaps an assistant span, i.e. the
//! assistant's content plus its end-of-turn token. A token that straddles a span edge (say
//! `" The"` when the template writes `"[/INST]"` + `" "` + content) is therefore a target:
//! the model has to emit that token to produce the span's first or last characters. This is
//! what `transformers`' `return_assistant_tokens_mask` computes (`char_to_token` over the
//! span's characters), so labels agree with it. Tokens without text (zero-width offsets) are
//! never targets.
//!
//! The first token of every sample is never a target either: nothing precedes it, so no
//! position predicts it. Labels are not shifted (the trainer shifts by one, as `transformers`'
//! causal-LM loss does), and because of this rule the shift never trains one packed sample on
//! the start of the next.

use std::ops::Range;

use super::{ModelTokenizer, Truncation};

/// The label of a token that is not a training target (PyTorch's `ignore_index`).
pub const IGNORE: i32 = -100;

/// One encoded sample.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Encoded {
    pub input_ids: Vec<u32>,
    pub labels: Vec<i32>,
}

impl Encoded {
    pub fn len(&self) -> usize {
        self.input_ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.input_ids.is_empty()
    }

    /// How many tokens are training targets.
    pub fn labelled(&self) -> usize {
        self.labels.iter().filter(|&&l| l != IGNORE).count()
    }
}

/// Encode `text` with `add_special_tokens = false` (the template wrote every special token the
/// model wants) and label the tokens that overlap `spans` (byte ranges into `text`).
pub fn encode_rendered(
    tokenizer: &ModelTokenizer,
    text: &str,
    spans: &[Range<usize>],
) -> Result<Encoded, String> {
    let (input_ids, offsets) = tokenizer.encode(text)?;
    let mut labels = label_tokens(&input_ids, &offsets, spans);
    if let Some(first) = labels.first_mut() {
        *first = IGNORE;
    }
    Ok(Encoded { input_ids, labels })
}

/// Labels for tokens `ids` with byte `offsets`: the id where the token overlaps one of `spans`,
/// [`IGNORE`] elsewhere (the rule in the module docs, without the first-token exception).
pub fn label_tokens(ids: &[u32], offsets: &[(usize, usize)], spans: &[Range<usize>]) -> Vec<i32> {
    let mut spans: Vec<&Range<usize>> = spans.iter().filter(|s| s.start < s.end).collect();
    spans.sort_by_key(|s| (s.start, s.end));
    ids.iter()
        .zip(offsets)
        .map(|(&id, &(start, end))| {
            if start >= end {
                return IGNORE;
            }
            // The first span that ends after the token starts is the only one it can overlap
            // first; spans do not overlap each other, so checking it suffices.
            let i = spans.partition_point(|s| s.end <= start);
            match spans.get(i) {
                Some(s) if s.start < end => label_of(id),
                _ => IGNORE,
            }
        })
        .collect()
}

fn label_of(id: u32) -> i32 {
    // Vocabularies are far below 2^31; saturate rather than wrap if one ever is not.
    i32::try_from(id).unwrap_or(i32::MAX)
}

/// A sample after the truncation policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Truncated {
    /// It fits as it is.
    Fits(Encoded),
    /// It was cut to its last `max_seq_length` tokens (`keep_end`).
    Cut(Encoded),
    /// It is left out, for this reason (`too_long`, `no_labels`, `no_labels_after_truncation`).
    Dropped(&'static str),
}

/// Apply `policy` to a sample longer than `max_len` tokens; drop a sample with no target left.
pub fn truncate(enc: Encoded, max_len: usize, policy: Truncation) -> Truncated {
    if enc.labelled() == 0 {
        return Truncated::Dropped("no_labels");
    }
    if enc.len() <= max_len {
        return Truncated::Fits(enc);
    }
    match policy {
        Truncation::Drop => Truncated::Dropped("too_long"),
        Truncation::KeepEnd => {
            let cut = enc.len() - max_len;
            let mut kept = Encoded {
                input_ids: enc.input_ids[cut..].to_vec(),
                labels: enc.labels[cut..].to_vec(),
            };
            // The new first token has nothing before it either.
            if let Some(first) = kept.labels.first_mut() {
                *first = IGNORE;
            }
            if kept.labelled() == 0 {
                Truncated::Dropped("no_labels_after_truncation")
            } else {
                Truncated::Cut(kept)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlapping_tokens_are_labelled_straddlers_included() {
        // text: "ab| cd|ef" with a span covering "cd" only; token " cd" straddles its start.
        let ids = [10, 11, 12];
        let offsets = [(0, 2), (2, 5), (5, 7)];
        assert_eq!(
            label_tokens(&ids, &offsets, std::slice::from_ref(&(3..5))),
            vec![IGNORE, 11, IGNORE]
        );
        // A span ending inside the last token labels it; one ending at its start does not.
        assert_eq!(
            label_tokens(&ids, &offsets, std::slice::from_ref(&(6..7))),
            vec![IGNORE, IGNORE, 12]
        );
        assert_eq!(
            label_tokens(&ids, &offsets, std::slice::from_ref(&(4..5))),
            vec![IGNORE, 11, IGNORE]
        );
        assert_eq!(
            label_tokens(&ids, &offsets, std::slice::from_ref(&(2..5))),
            vec![IGNORE, 11, IGNORE]
        );
        assert_eq!(
            label_tokens(&ids, &offsets, &[5..7, 0..1]),
            vec![10, IGNORE, 12]
        );
        // Zero-width tokens and empty spans label nothing.
        assert_eq!(
            label_tokens(&[1, 2], &[(3, 3), (0, 1)], &[0..0, 2..4]),
            vec![IGNORE, IGNORE]
        );
    }

    fn enc(labels: &[i32]) -> Encoded {
        Encoded {
            input_ids: (0..labels.len() as u32).collect(),
            labels: labels.to_vec(),
        }
    }

    #[test]
    fn truncation_policies() {
        let e = enc(&[IGNORE, IGNORE, 2, 3, IGNORE]);
        assert_eq!(
            truncate(e.clone(), 5, Truncation::Drop),
            Truncated::Fits(e.clone())
        );
        assert_eq!(
            truncate(e.clone(), 4, Truncation::Drop),
            Truncated::Dropped("too_long")
        );
        // keep_end keeps the last 3 tokens; the new first token loses its label.
        assert_eq!(
            truncate(e.clone(), 3, Truncation::KeepEnd),
            Truncated::Cut(Encoded {
                input_ids: vec![2, 3, 4],
                labels: vec![IGNORE, 3, IGNORE],
            })
        );
        assert_eq!(
            truncate(e, 2, Truncation::KeepEnd),
            Truncated::Dropped("no_labels_after_truncation")
        );
        assert_eq!(
            truncate(enc(&[IGNORE, IGNORE]), 9, Truncation::KeepEnd),
            Truncated::Dropped("no_labels")
        );
    }
}
