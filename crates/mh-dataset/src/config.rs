//! Settings of the dataset stage. Defaults reproduce the seed's curation (facts §2), layered:
//! built-in defaults ← the profile's `etc/training.json` sampling keys ← a `--config` JSON file
//! (any subset of [`DatasetConfig`]'s fields) ← command-line flags.

use std::collections::BTreeMap;

use mh_profile::config::TrainingConfig;
use serde::{Deserialize, Serialize};

/// Everything that decides which samples are exported and how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatasetConfig {
    /// The one seed behind every random choice.
    pub seed: u64,
    /// Share of samples held out for evaluation, chosen by a hash of the sample id.
    pub eval_fraction: f64,
    /// Minimum characters of assistant text after cleaning.
    pub min_chars: usize,
    /// Assistant replies are cut to this many words (`...` appended)…
    pub word_cap: usize,
    /// …except this share of samples, which may run to `long_word_cap` words.
    pub long_form_share: f64,
    pub long_word_cap: usize,
    /// Strip leading filler ("Okay, so", "As an AI, …") from assistant replies.
    pub strip_fillers: bool,
    /// Estimated Jaccard similarity of word shingles at or above which a later sample is dropped
    /// as a near-duplicate of an earlier one. `1.0` keeps near-duplicates.
    pub near_duplicate_threshold: f64,
    /// Words per shingle for near-duplicate detection.
    pub shingle_words: usize,
    /// Episodic memory types that may become samples (others are dropped as `type_not_allowed`).
    pub allowed_types: Vec<String>,
    pub sources: Sources,
    /// The seed's "monthly" strategy: keep all memories of the last `days_recent` days plus
    /// `old_samples` random older ones.
    pub monthly: Option<Monthly>,
    /// The seed's type-ratio "pie chart" (percent per memory type).
    pub type_percentages: BTreeMap<String, f64>,
    pub max_samples: Option<usize>,
    /// Per-mode system prompt; `{name}` is replaced by the person's name from `persona/core.json`.
    pub system_prompts: SystemPrompts,
    /// "Now" for the monthly cut-off (RFC 3339). Default: the newest memory's timestamp, so a
    /// build is reproducible on any day.
    pub now: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Sources {
    pub episodic: bool,
    pub curated: bool,
    pub therapy: bool,
    pub legacy: bool,
}

impl Default for Sources {
    fn default() -> Self {
        Self {
            episodic: true,
            curated: true,
            therapy: true,
            legacy: true,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Monthly {
    pub days_recent: u32,
    pub old_samples: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SystemPrompts {
    pub dual: String,
    pub emulation: String,
    pub agent: String,
}

impl Default for SystemPrompts {
    fn default() -> Self {
        Self {
            dual: "You are {name}. Reply to what your AI companion says the way {name} would, \
                   in {name}'s own words."
                .into(),
            emulation: "You are {name}. Speak as {name} does: same voice, same memories, same \
                        opinions."
                .into(),
            agent: "You are {name}'s agent. Carry out {name}'s instructions briefly and precisely."
                .into(),
        }
    }
}

impl Default for DatasetConfig {
    fn default() -> Self {
        Self {
            seed: 42,
            eval_fraction: 0.05,
            min_chars: 20,
            word_cap: 40,
            long_form_share: 0.075,
            long_word_cap: 300,
            strip_fillers: true,
            near_duplicate_threshold: 0.7,
            shingle_words: 2,
            allowed_types: [
                "conversation",
                "chat",
                "observation",
                "reflection",
                "reflection_summary",
                "inner_dialogue",
                "decision",
                "dream",
                "daydream",
                "journal",
                "curiosity_question",
                "summary",
            ]
            .map(String::from)
            .to_vec(),
            sources: Sources::default(),
            monthly: None,
            type_percentages: default_type_percentages(),
            max_samples: None,
            system_prompts: SystemPrompts::default(),
            now: None,
        }
    }
}

/// The seed aggregator's defaults (facts §2.1 step 4).
pub fn default_type_percentages() -> BTreeMap<String, f64> {
    [
        ("conversation", 50.0),
        ("observation", 30.0),
        ("therapy_session", 15.0),
        ("reflection", 2.0),
        ("reflection_summary", 1.0),
        ("inner_dialogue", 1.0),
        ("dream", 0.0),
        ("curiosity_question", 1.0),
        ("decision", 0.0),
        ("journal", 0.0),
        ("summary", 0.0),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

impl DatasetConfig {
    /// Take the sampling keys the seed kept in `etc/training.json`.
    pub fn apply_training_json(&mut self, t: &TrainingConfig) {
        self.max_samples = t.max_samples;
        if t.monthly_training {
            self.monthly = Some(Monthly {
                days_recent: t.days_recent,
                old_samples: t.old_samples,
            });
        }
        if let Some(p) = t.type_percentages() {
            self.type_percentages = p;
        }
    }

    /// Overlay a partial JSON object (a `--config` file) on this config.
    pub fn overlay(&mut self, patch: serde_json::Value) -> Result<(), serde_json::Error> {
        let mut base = serde_json::to_value(&*self)?;
        merge(&mut base, patch);
        *self = serde_json::from_value(base)?;
        Ok(())
    }

    /// The system prompt for `mode`, naming `person`.
    pub fn system_prompt(&self, mode: crate::Mode, person: &str) -> String {
        let template = match mode {
            crate::Mode::Dual => &self.system_prompts.dual,
            crate::Mode::Emulation => &self.system_prompts.emulation,
            crate::Mode::Agent => &self.system_prompts.agent,
        };
        template.replace("{name}", person)
    }
}

fn merge(base: &mut serde_json::Value, patch: serde_json::Value) {
    match (base, patch) {
        (serde_json::Value::Object(b), serde_json::Value::Object(p)) => {
            for (k, v) in p {
                match b.get_mut(&k) {
                    Some(slot) if slot.is_object() && v.is_object() => merge(slot, v),
                    _ => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (b, p) => *b = p,
    }
}

/// The settings a build of `profile_root` uses: defaults ← `etc/training.json` ← `file`; and
/// the `dataset_requirements` of `etc/fine-tune-config.json` for the gates.
pub fn load(
    profile_root: &std::path::Path,
    file: Option<&std::path::Path>,
) -> Result<(DatasetConfig, mh_profile::config::DatasetRequirements), crate::DatasetError> {
    use mh_profile::config::{etc_path, ConfigDoc, FineTuneConfig};
    let mut config = DatasetConfig::default();
    let training = ConfigDoc::<TrainingConfig>::load(&etc_path(profile_root, "training.json"))?;
    config.apply_training_json(&training.value);
    if let Some(path) = file {
        let bytes = std::fs::read(path).map_err(|e| crate::DatasetError::io(path, e))?;
        let patch: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| crate::DatasetError::Config {
                field: path.display().to_string(),
                reason: format!("invalid JSON: {e}"),
            })?;
        config
            .overlay(patch)
            .map_err(|e| crate::DatasetError::Config {
                field: path.display().to_string(),
                reason: e.to_string(),
            })?;
    }
    let fine_tune =
        ConfigDoc::<FineTuneConfig>::load(&etc_path(profile_root, "fine-tune-config.json"))?;
    Ok((config, fine_tune.value.dataset_requirements))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlay_changes_only_named_fields_and_rejects_typos() {
        let mut c = DatasetConfig::default();
        c.overlay(serde_json::json!({"word_cap": 60, "sources": {"legacy": false}}))
            .unwrap();
        assert_eq!(c.word_cap, 60);
        assert!(!c.sources.legacy && c.sources.episodic);
        assert_eq!(c.eval_fraction, 0.05);
        assert!(c
            .overlay(serde_json::json!({"wordcap": 1}))
            .unwrap_err()
            .to_string()
            .contains("wordcap"));
    }

    #[test]
    fn training_json_keys_feed_sampling() {
        let mut c = DatasetConfig::default();
        let t = TrainingConfig {
            monthly_training: true,
            days_recent: 10,
            old_samples: 7,
            max_samples: Some(99),
            ..TrainingConfig::default()
        };
        c.apply_training_json(&t);
        assert_eq!(
            c.monthly,
            Some(Monthly {
                days_recent: 10,
                old_samples: 7
            })
        );
        assert_eq!(c.max_samples, Some(99));
    }

    #[test]
    fn prompts_name_the_person() {
        let c = DatasetConfig::default();
        let p = c.system_prompt(crate::Mode::Emulation, "Ada Quill");
        assert!(p.contains("Ada Quill") && !p.contains("{name}") && !p.contains("Greg"));
    }
}
