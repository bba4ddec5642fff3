//! The auto-approver (facts §10.3) on our dataset: the seed's scoring and thresholds, computed
//! from what the dataset build knows instead of metadata fields nobody wrote.
//!
//! The seed's `metadata.json` needed `byConfidence{high,medium,low}`, `byType` and average
//! lengths. Here, per sample of the built dataset (train + eval):
//! * **low confidence**: the reply contains one of the seed's filler phrases (`as an AI`,
//!   `certainly`, … — the quality report's filler detector): assistant-speak, not the person;
//! * **high confidence**: not low, and a real exchange — the user turn is what was said, not a
//!   prompt made up from a content-only memory's type;
//! * **medium**: the rest (content-only memories with a made-up prompt);
//! * **reflection share**: samples from `reflection` / `reflection_summary` memories;
//! * average input / output length: characters of the user / assistant turns.
//!
//! Score: start at 100; −30 if samples < `minPairs`; −25 if the high share < `minHighConfidence`;
//! −20 if the reflection share < `minReflectionPct`; −25 if the low share > `maxLowConfidence`;
//! +5 if both average lengths exceed 50 characters. Approve iff the score is at least 70.

use mh_dataset::sample::Role;
use mh_dataset::{Built, Sample};
use mh_profile::config::ApprovalThresholds;
use serde::{Deserialize, Serialize};

/// The seed's pass mark.
pub const APPROVE_SCORE: i32 = 70;

/// What the auto-approver measured and decided.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApprovalScore {
    pub approved: bool,
    pub score: i32,
    /// One line per deduction or bonus.
    pub reasons: Vec<String>,
    pub pairs: usize,
    pub high_confidence: f64,
    pub medium_confidence: f64,
    pub low_confidence: f64,
    pub reflection_pct: f64,
    pub avg_input_length: f64,
    pub avg_output_length: f64,
    pub thresholds: ApprovalThresholds,
}

impl ApprovalScore {
    pub fn decision(&self) -> &'static str {
        if self.approved {
            "approve"
        } else {
            "reject"
        }
    }
}

fn synthetic(s: &Sample) -> bool {
    let prompt = mh_dataset::extract::synthetic_prompt(&s.kind);
    s.messages
        .iter()
        .find(|m| m.role == Role::User)
        .is_some_and(|m| m.content == prompt)
}

/// Score the built dataset against `t`.
pub fn score(built: &Built, t: &ApprovalThresholds) -> ApprovalScore {
    let samples: Vec<&Sample> = built.train.iter().chain(&built.eval).collect();
    let n = samples.len();
    let share = |k: usize| if n == 0 { 0.0 } else { k as f64 / n as f64 };
    let (mut high, mut low, mut reflections) = (0, 0, 0);
    let (mut input_chars, mut output_chars) = (0usize, 0usize);
    for s in &samples {
        let reply = s.assistant_text();
        if mh_dataset::clean::has_filler(&reply) {
            low += 1;
        } else if !synthetic(s) {
            high += 1;
        }
        if s.kind == "reflection" || s.kind == "reflection_summary" {
            reflections += 1;
        }
        output_chars += reply.chars().count();
        input_chars += s
            .messages
            .iter()
            .filter(|m| m.role == Role::User)
            .map(|m| m.content.chars().count())
            .sum::<usize>();
    }
    let avg = |c: usize| if n == 0 { 0.0 } else { c as f64 / n as f64 };
    let mut out = ApprovalScore {
        approved: false,
        score: 100,
        reasons: Vec::new(),
        pairs: n,
        high_confidence: share(high),
        medium_confidence: share(n - high - low),
        low_confidence: share(low),
        reflection_pct: share(reflections),
        avg_input_length: avg(input_chars),
        avg_output_length: avg(output_chars),
        thresholds: t.clone(),
    };
    if n < t.min_pairs {
        out.score -= 30;
        out.reasons.push(format!(
            "{n} samples, fewer than minPairs {} (-30)",
            t.min_pairs
        ));
    }
    if out.high_confidence < t.min_high_confidence {
        out.score -= 25;
        out.reasons.push(format!(
            "high-confidence share {:.2} below minHighConfidence {} (-25)",
            out.high_confidence, t.min_high_confidence
        ));
    }
    if out.reflection_pct < t.min_reflection_pct {
        out.score -= 20;
        out.reasons.push(format!(
            "reflection share {:.2} below minReflectionPct {} (-20)",
            out.reflection_pct, t.min_reflection_pct
        ));
    }
    if out.low_confidence > t.max_low_confidence {
        out.score -= 25;
        out.reasons.push(format!(
            "low-confidence (filler) share {:.2} above maxLowConfidence {} (-25)",
            out.low_confidence, t.max_low_confidence
        ));
    }
    if out.avg_input_length > 50.0 && out.avg_output_length > 50.0 {
        out.score += 5;
        out.reasons.push(format!(
            "average lengths {:.0} / {:.0} characters above 50 (+5)",
            out.avg_input_length, out.avg_output_length
        ));
    }
    out.approved = out.score >= APPROVE_SCORE;
    out
}
