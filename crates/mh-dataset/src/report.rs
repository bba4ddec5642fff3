//! `report.json`: what went in, what came out, what was dropped and why, the seed's quality
//! metrics (facts §2.4, same definitions and rounding) and the dataset gates of
//! `fine-tune-config.json`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use mh_profile::config::DatasetRequirements;
use serde::{Deserialize, Serialize};

use crate::clean::has_filler;
use crate::sample::{Mode, Sample};

/// How many examples of each drop reason the report lists.
pub const DROP_EXAMPLES: usize = 5;

/// Dropped samples by reason, with a few example paths each.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Dropped(pub BTreeMap<String, DropEntry>);

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DropEntry {
    pub count: usize,
    pub examples: Vec<String>,
}

impl Dropped {
    pub fn add(&mut self, reason: &str, path: &Path) {
        let e = self.0.entry(reason.to_string()).or_default();
        e.count += 1;
        if e.examples.len() < DROP_EXAMPLES {
            e.examples.push(path.display().to_string());
        }
    }

    pub fn count(&self, reason: &str) -> usize {
        self.0.get(reason).map_or(0, |e| e.count)
    }

    pub fn total(&self) -> usize {
        self.0.values().map(|e| e.count).sum()
    }
}

/// A file (or line) that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileError {
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    pub reason: String,
}

/// The seed's quality metrics (`mode-validator.ts:calculateQualityMetrics`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Quality {
    pub avg_assistant_words: f64,
    pub short_percent: f64,
    pub long_percent: f64,
    pub filler_percent: f64,
    pub mode_distribution: BTreeMap<String, f64>,
}

impl Quality {
    pub fn of(samples: &[Sample]) -> Self {
        let texts: Vec<(Mode, String)> = samples
            .iter()
            .map(|s| (s.mode, s.assistant_text()))
            .collect();
        Self::from_assistant_texts(&texts)
    }

    pub fn from_assistant_texts(texts: &[(Mode, String)]) -> Self {
        let n = texts.len().max(1) as f64;
        let words: Vec<usize> = texts
            .iter()
            .map(|(_, t)| t.split_whitespace().count())
            .collect();
        let pct = |k: usize| round1(k as f64 * 100.0 / n);
        let mode_distribution = Mode::ALL
            .iter()
            .map(|m| {
                let k = texts.iter().filter(|(mm, _)| mm == m).count();
                (m.as_str().to_string(), pct(k))
            })
            .collect();
        Self {
            avg_assistant_words: round1(words.iter().sum::<usize>() as f64 / n),
            short_percent: pct(words.iter().filter(|&&w| w <= 40).count()),
            long_percent: pct(words.iter().filter(|&&w| w > 100).count()),
            filler_percent: pct(texts.iter().filter(|(_, t)| has_filler(t)).count()),
            mode_distribution,
        }
    }
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// Pass/fail of `dataset_requirements`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Gates {
    pub passed: bool,
    pub checks: Vec<GateCheck>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateCheck {
    pub name: String,
    pub required: f64,
    pub actual: f64,
    pub passed: bool,
}

impl Gates {
    pub fn evaluate(req: &DatasetRequirements, samples: usize, quality: &Quality) -> Self {
        let mut checks = vec![GateCheck {
            name: "min_samples".into(),
            required: req.min_samples as f64,
            actual: samples as f64,
            passed: samples >= req.min_samples,
        }];
        let d = &req.mode_distribution;
        for (mode, min) in [
            ("dual", d.dual_min_percent),
            ("emulation", d.emulation_min_percent),
            ("agent", d.agent_min_percent),
        ] {
            let actual = quality.mode_distribution.get(mode).copied().unwrap_or(0.0);
            checks.push(GateCheck {
                name: format!("{mode}_min_percent"),
                required: min,
                actual,
                passed: actual >= min,
            });
        }
        Self {
            passed: checks.iter().all(|c| c.passed),
            checks,
        }
    }
}

/// Everything `dataset build` knows about what it did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub samples: usize,
    pub train: usize,
    pub eval: usize,
    pub seed: u64,
    pub by_source: BTreeMap<String, usize>,
    pub by_type: BTreeMap<String, usize>,
    pub by_mode: BTreeMap<String, usize>,
    /// Memory files found per source before any filtering.
    pub read: BTreeMap<String, usize>,
    /// Encrypted memories: decrypted, or left unread for want of a passphrase.
    pub encrypted: Encrypted,
    pub dropped: Dropped,
    pub errors: Vec<FileError>,
    pub quality: Quality,
    pub gates: Gates,
    /// The system prompt exported with each mode (one prompt shared by training and serving).
    pub system_prompts: BTreeMap<String, String>,
    /// Token counts and lengths of the tokenized export (`dataset build --model` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens: Option<crate::tokenize::TokenStats>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Encrypted {
    pub decrypted: usize,
    pub locked: usize,
    pub locked_examples: Vec<String>,
}

impl Report {
    /// Count the final samples.
    pub fn tally(&mut self, samples: &[Sample]) {
        for s in samples {
            *self.by_source.entry(s.source.as_str().into()).or_default() += 1;
            *self.by_type.entry(s.kind.clone()).or_default() += 1;
            *self.by_mode.entry(s.mode.as_str().into()).or_default() += 1;
        }
        self.samples = samples.len();
        self.quality = Quality::of(samples);
    }

    /// A human-readable summary for the terminal.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "samples {:>7}   train {:>7}   eval {:>6}   seed {}",
            self.samples, self.train, self.eval, self.seed
        );
        let section = |out: &mut String, title: &str, map: &BTreeMap<String, usize>| {
            let _ = writeln!(out, "{title}:");
            for (k, v) in map {
                let _ = writeln!(out, "  {k:<24} {v:>7}");
            }
        };
        section(&mut out, "read", &self.read);
        section(&mut out, "by source", &self.by_source);
        section(&mut out, "by mode", &self.by_mode);
        section(&mut out, "by type", &self.by_type);
        let _ = writeln!(out, "dropped ({}):", self.dropped.total());
        for (k, v) in &self.dropped.0 {
            let _ = writeln!(out, "  {k:<24} {:>7}", v.count);
        }
        if self.encrypted.decrypted + self.encrypted.locked > 0 {
            let _ = writeln!(
                out,
                "encrypted: {} decrypted, {} locked (set MH_PROFILE_PASSPHRASE to read them)",
                self.encrypted.decrypted, self.encrypted.locked
            );
        }
        let _ = writeln!(out, "errors: {}", self.errors.len());
        for e in self.errors.iter().take(10) {
            let line = e.line.map(|l| format!(":{l}")).unwrap_or_default();
            let _ = writeln!(out, "  {}{line}: {}", e.path, e.reason);
        }
        if self.errors.len() > 10 {
            let _ = writeln!(out, "  … {} more in report.json", self.errors.len() - 10);
        }
        let q = &self.quality;
        let _ = writeln!(
            out,
            "quality: avg {:.1} words, short {:.1}%, long {:.1}%, filler {:.1}%",
            q.avg_assistant_words, q.short_percent, q.long_percent, q.filler_percent
        );
        if let Some(t) = &self.tokens {
            for (name, s) in [("train", &t.train), ("eval", &t.eval)] {
                let dropped: usize = s.dropped.values().sum();
                let _ = writeln!(
                    out,
                    "tokens {name:<5} {:>7} samples in {:>7} sequences, {} tokens ({} labelled), \
                     {} truncated, {dropped} dropped",
                    s.samples, s.sequences, s.tokens, s.labelled_tokens, s.truncated
                );
            }
        }
        let _ = writeln!(
            out,
            "gates: {}",
            if self.gates.passed { "pass" } else { "FAIL" }
        );
        for c in &self.gates.checks {
            let _ = writeln!(
                out,
                "  {:<24} {:>9} (need {}) {}",
                c.name,
                c.actual,
                c.required,
                if c.passed { "ok" } else { "FAIL" }
            );
        }
        out
    }
}

/// A path relative to the profile root, for reports that do not depend on where the profile is.
pub fn relative(root: &Path, path: &Path) -> PathBuf {
    path.strip_prefix(root).unwrap_or(path).to_path_buf()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quality_matches_the_seed_definitions() {
        let long = "w ".repeat(101);
        let texts = vec![
            (Mode::Dual, "Okay, so this is fine".to_string()),
            (Mode::Emulation, long.clone()),
            (Mode::Emulation, "w ".repeat(41)),
        ];
        let q = Quality::from_assistant_texts(&texts);
        assert_eq!(q.avg_assistant_words, 49.0); // (5 + 101 + 41) / 3
        assert_eq!(q.short_percent, 33.3);
        assert_eq!(q.long_percent, 33.3);
        assert_eq!(q.filler_percent, 33.3);
        assert_eq!(q.mode_distribution["emulation"], 66.7);
        assert_eq!(q.mode_distribution["agent"], 0.0);
        // Empty input: denominator max(1, n).
        assert_eq!(Quality::from_assistant_texts(&[]).short_percent, 0.0);
    }

    #[test]
    fn gates_check_count_and_mode_shares() {
        let mut q = Quality::default();
        q.mode_distribution.insert("dual".into(), 30.0);
        q.mode_distribution.insert("emulation".into(), 60.0);
        q.mode_distribution.insert("agent".into(), 10.0);
        let req = DatasetRequirements {
            min_samples: 100,
            ..Default::default()
        };
        assert!(Gates::evaluate(&req, 100, &q).passed);
        let g = Gates::evaluate(&req, 99, &q);
        assert!(!g.passed && !g.checks[0].passed && g.checks[1].passed);
        q.mode_distribution.insert("agent".into(), 9.9);
        assert!(!Gates::evaluate(&req, 100, &q).passed);
    }

    #[test]
    fn dropped_keeps_five_examples() {
        let mut d = Dropped::default();
        for i in 0..8 {
            d.add("too_short", Path::new(&format!("f{i}")));
        }
        assert_eq!(d.count("too_short"), 8);
        assert_eq!(d.0["too_short"].examples.len(), DROP_EXAMPLES);
    }
}
