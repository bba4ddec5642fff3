//! The dataset stage end to end: read → extract → filter → modes → clean → dedupe → sample →
//! split. Pure with respect to its inputs: the same profile, config and seed give the same
//! samples in the same order.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use mh_profile::config::DatasetRequirements;
use mh_profile::{Loaded, Profile, Progress, ReadError, Scan};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use sha2::{Digest, Sha256};

use crate::clean::{cap_words, dedupe_key, normalize_whitespace, strip_fillers};
use crate::config::DatasetConfig;
use crate::dedupe::{exact_duplicates, near_duplicates, Signature};
use crate::extract::{self, EventView};
use crate::modes;
use crate::report::{relative, Dropped, FileError, Gates, Report};
use crate::sample::{parse_time, Message, Mode, Role, Sample, Source};
use crate::DatasetError;

/// The result of a build: the split samples and the report.
#[derive(Debug, Clone)]
pub struct Built {
    pub train: Vec<Sample>,
    pub eval: Vec<Sample>,
    pub report: Report,
    /// The person the system prompts name.
    pub person: String,
}

/// What curation needs of one episodic memory, computed while the file is read.
struct EpisodicItem {
    id: String,
    kind: String,
    path: PathBuf,
    feedback_tag: bool,
    /// Its own `reinforcementSignal` is -1.
    negative: bool,
    target_id: Option<String>,
    mode: Mode,
    timestamp: Option<DateTime<Utc>>,
    turns: Result<extract::EpisodicTurns, extract::NoConversation>,
}

impl EpisodicItem {
    fn new(root: &Path, path: &Path, ev: &EventView) -> Self {
        let path = relative(root, path);
        let kind = ev.kind.clone().unwrap_or_else(|| "observation".into());
        Self {
            id: ev.id.clone().unwrap_or_else(|| path.display().to_string()),
            feedback_tag: ev.has_tag("feedback"),
            negative: ev.reinforcement_signal() == Some(-1.0),
            target_id: ev.target_id().map(str::to_string),
            mode: modes::assign(ev.cognitive_mode(), &kind).0,
            timestamp: ev.timestamp.as_deref().and_then(parse_time),
            turns: extract::from_episodic(ev),
            kind,
            path,
        }
    }
}

/// A sample before cleaning, with the facts that decide how it is formatted.
struct Draft {
    sample: Sample,
    /// The user turn was made up from the memory's type (content-only memory): never inverted.
    synthetic: bool,
}

/// Build the dataset of one profile.
pub fn build(
    profile: &Profile,
    config: &DatasetConfig,
    requirements: &DatasetRequirements,
    progress: &dyn Progress,
) -> Result<Built, DatasetError> {
    validate(config)?;
    let root = profile.root();
    let mut report = Report {
        seed: config.seed,
        ..Report::default()
    };
    let mut dropped = Dropped::default();

    let person = match profile.persona() {
        Ok(Some(p)) => p.name().map(str::to_string),
        Ok(None) => None,
        Err(e) => {
            report.errors.push(FileError {
                path: "persona/core.json".into(),
                line: None,
                reason: e.to_string(),
            });
            None
        }
    }
    .unwrap_or_else(|| profile.display_name());

    let mut drafts = Vec::new();
    let episodic = if config.sources.episodic {
        profile.episodic_with(progress, |path, ev: EventView| {
            EpisodicItem::new(root, path, &ev)
        })
    } else {
        Scan::default()
    };
    let curated = if config.sources.curated {
        profile.curated_conversations(progress)
    } else {
        Scan::default()
    };
    note_scan(&mut report, &mut dropped, root, "episodic", &episodic);
    note_scan(&mut report, &mut dropped, root, "curated", &curated);

    // Negative feedback excludes the memory it is about, not just itself (the seed never did).
    let feedback_targets: HashSet<String> = episodic
        .records
        .iter()
        .filter(|r| r.value.negative)
        .filter_map(|r| r.value.target_id.clone())
        .collect();

    // Curated conversations: the curator's verdict on a memory overrides the raw memory.
    let mut superseded = HashSet::new();
    let mut rejected = HashSet::new();
    for r in &curated.records {
        let c = &r.value;
        let path = relative(root, &r.path);
        let id = c.id.clone().unwrap_or_else(|| path.display().to_string());
        if c.is_curator_error() {
            // A failed curation says nothing about the memory: keep the raw one.
            dropped.add("curator_error", &path);
            continue;
        }
        if !c.suitable_for_training {
            dropped.add("curator_rejected", &path);
            rejected.insert(id);
            continue;
        }
        if feedback_targets.contains(&id) {
            dropped.add("feedback_target", &path);
            rejected.insert(id);
            continue;
        }
        match extract::from_curated(c) {
            Ok(messages) => {
                let kind = c
                    .memory_type
                    .clone()
                    .unwrap_or_else(|| "conversation".into());
                // Files from before 2025-11-24 carry no mode; the seed treats them as dual.
                let mode = match c.cognitive_mode.as_deref() {
                    None => Mode::Dual,
                    Some(m) => modes::assign(Some(m), &kind).0,
                };
                superseded.insert(id.clone());
                drafts.push(Draft {
                    sample: Sample {
                        id,
                        source: Source::Curated,
                        kind,
                        mode,
                        timestamp: c.original_timestamp.as_deref().and_then(parse_time),
                        messages,
                        path,
                    },
                    synthetic: false,
                });
            }
            Err(reason) => dropped.add(reason, &path),
        }
    }

    let allowed: HashSet<&str> = config.allowed_types.iter().map(String::as_str).collect();
    for r in episodic.records {
        let item = r.value;
        let reason = if item.feedback_tag {
            Some("feedback")
        } else if item.negative {
            Some("negative_feedback")
        } else if feedback_targets.contains(&item.id) {
            Some("feedback_target")
        } else if rejected.contains(&item.id) {
            Some("curator_rejected_source")
        } else if superseded.contains(&item.id) {
            Some("superseded_by_curated")
        } else if !allowed.contains(item.kind.as_str()) {
            Some("type_not_allowed")
        } else {
            None
        };
        let turns = match (reason, item.turns) {
            (Some(reason), _) | (None, Err(reason)) => {
                dropped.add(reason, &item.path);
                continue;
            }
            (None, Ok(t)) => t,
        };
        drafts.push(Draft {
            sample: Sample {
                id: item.id,
                source: Source::Episodic,
                mode: item.mode,
                kind: item.kind,
                timestamp: item.timestamp,
                messages: turns.messages,
                path: item.path,
            },
            synthetic: turns.synthetic,
        });
    }

    if config.sources.therapy {
        let therapy = profile.therapy_sessions(progress);
        note_scan(&mut report, &mut dropped, root, "therapy", &therapy);
        for r in &therapy.records {
            let s = &r.value;
            let path = relative(root, &r.path);
            let session = s
                .session_id
                .clone()
                .unwrap_or_else(|| path.display().to_string());
            for (qid, turns) in extract::from_therapy(s) {
                match turns {
                    Ok(messages) => {
                        let when = s
                            .answers
                            .iter()
                            .find(|a| a.question_id == qid)
                            .and_then(|a| a.captured_at.as_deref())
                            .or(s.created_at.as_deref())
                            .and_then(parse_time);
                        drafts.push(Draft {
                            sample: Sample {
                                id: format!("{session}:{qid}"),
                                source: Source::Therapy,
                                kind: "therapy_session".into(),
                                mode: Mode::Emulation,
                                timestamp: when,
                                messages,
                                path: path.clone(),
                            },
                            synthetic: true,
                        });
                    }
                    Err(reason) => dropped.add(reason, &path),
                }
            }
        }
    }

    if config.sources.legacy {
        let legacy = profile.legacy_pairs();
        note_scan(&mut report, &mut dropped, root, "legacy", &legacy);
        for r in &legacy.records {
            let path = relative(root, &r.path);
            match extract::from_legacy(&r.value) {
                Ok(messages) => drafts.push(Draft {
                    sample: Sample {
                        id: format!("legacy:{}:{}", path.display(), r.line.unwrap_or(0)),
                        source: Source::Legacy,
                        kind: "legacy_instruction".into(),
                        mode: Mode::Emulation,
                        timestamp: None,
                        messages,
                        path,
                    },
                    synthetic: true,
                }),
                Err(reason) => dropped.add(reason, &path),
            }
        }
    }

    // One canonical order before anything random happens.
    drafts.sort_by(|a, b| {
        (
            a.sample.timestamp,
            a.sample.source,
            &a.sample.id,
            &a.sample.path,
        )
            .cmp(&(
                b.sample.timestamp,
                b.sample.source,
                &b.sample.id,
                &b.sample.path,
            ))
    });
    make_ids_unique(&mut drafts);

    let samples = format_and_clean(drafts, config, &mut dropped);
    let samples = remove_duplicates(samples, config, &mut dropped);

    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let mut samples = samples;
    if let Some(m) = &config.monthly {
        let now = match &config.now {
            Some(s) => parse_time(s).ok_or_else(|| DatasetError::Config {
                field: "now".into(),
                reason: format!("{s:?} is not an RFC 3339 timestamp"),
            })?,
            None => samples
                .iter()
                .filter_map(|s| s.timestamp)
                .max()
                .unwrap_or_default(),
        };
        samples = crate::sampling::monthly(
            samples,
            now,
            m.days_recent,
            m.old_samples,
            &mut rng,
            &mut dropped,
        );
    }
    samples =
        crate::sampling::type_ratio(samples, &config.type_percentages, &mut rng, &mut dropped);
    if let Some(max) = config.max_samples {
        samples = crate::sampling::cap(samples, max, &mut rng, &mut dropped);
    }
    samples.shuffle(&mut rng);

    let (eval, train): (Vec<Sample>, Vec<Sample>) = samples
        .iter()
        .cloned()
        .partition(|s| unit_hash(&[b"eval-split", s.id.as_bytes()]) < config.eval_fraction);

    report.tally(&samples);
    report.train = train.len();
    report.eval = eval.len();
    report.dropped = dropped;
    report.gates = Gates::evaluate(requirements, samples.len(), &report.quality);
    report.system_prompts = Mode::ALL
        .iter()
        .map(|m| (m.as_str().to_string(), config.system_prompt(*m, &person)))
        .collect();
    Ok(Built {
        train,
        eval,
        report,
        person,
    })
}

fn validate(c: &DatasetConfig) -> Result<(), DatasetError> {
    let bad = |field: &str, reason: &str| {
        Err(DatasetError::Config {
            field: field.into(),
            reason: reason.into(),
        })
    };
    if !(0.0..1.0).contains(&c.eval_fraction) {
        return bad("eval_fraction", "must be in [0, 1)");
    }
    if !(0.0..=1.0).contains(&c.long_form_share) {
        return bad("long_form_share", "must be in [0, 1]");
    }
    if !(0.0..=1.0).contains(&c.near_duplicate_threshold) {
        return bad("near_duplicate_threshold", "must be in [0, 1]");
    }
    if c.word_cap == 0 || c.long_word_cap == 0 {
        return bad("word_cap", "word caps must be at least 1");
    }
    Ok(())
}

fn note_scan<T>(
    report: &mut Report,
    dropped: &mut Dropped,
    root: &Path,
    source: &str,
    scan: &Scan<T>,
) {
    report.read.insert(
        source.into(),
        scan.records.len() + scan.errors.len() + scan.locked.len(),
    );
    let file_error = |e: &ReadError| FileError {
        path: relative(root, &e.path).display().to_string(),
        line: e.line,
        reason: e.reason.clone(),
    };
    report.errors.extend(scan.errors.iter().map(file_error));
    for s in &scan.skipped {
        dropped.add("not_a_pair", &relative(root, &s.path));
    }
    report.encrypted.decrypted += scan
        .records
        .iter()
        .filter(|r: &&Loaded<T>| r.encrypted)
        .count();
    report.encrypted.locked += scan.locked.len();
    for p in scan
        .locked
        .iter()
        .take(5usize.saturating_sub(report.encrypted.locked_examples.len()))
    {
        report
            .encrypted
            .locked_examples
            .push(relative(root, p).display().to_string());
    }
}

fn make_ids_unique(drafts: &mut [Draft]) {
    let mut seen: HashMap<String, usize> = HashMap::new();
    for d in drafts {
        let n = seen.entry(d.sample.id.clone()).or_insert(0);
        *n += 1;
        if *n > 1 {
            // The seed's ids collide for captures within 100 ms of each other.
            d.sample.id = format!("{}~{}", d.sample.id, n);
        }
    }
}

/// Apply the mode's role layout, normalise, strip fillers, cap words; drop what is left empty
/// or too short.
fn format_and_clean(
    drafts: Vec<Draft>,
    config: &DatasetConfig,
    dropped: &mut Dropped,
) -> Vec<Sample> {
    // (why it is dropped, if it is; the sample)
    let cleaned: Vec<(Option<&'static str>, Sample)> = drafts
        .into_par_iter()
        .map(
            |Draft {
                 mut sample,
                 synthetic,
             }| {
                if sample.mode == Mode::Dual && !synthetic {
                    sample.messages = modes::invert(&sample.messages);
                }
                let long = unit_hash(&[
                    b"long-form",
                    &config.seed.to_le_bytes(),
                    sample.id.as_bytes(),
                ]) < config.long_form_share;
                let cap = if long {
                    config.long_word_cap
                } else {
                    config.word_cap
                };
                for m in &mut sample.messages {
                    m.content = if m.role == Role::Assistant {
                        let text = if config.strip_fillers {
                            strip_fillers(&m.content)
                        } else {
                            m.content.clone()
                        };
                        cap_words(&text, cap)
                    } else {
                        normalize_whitespace(&m.content)
                    };
                }
                if sample.messages.is_empty()
                    || sample.messages.iter().any(|m| m.content.is_empty())
                {
                    return (Some("empty_turn"), sample);
                }
                if sample.assistant_text().chars().count() < config.min_chars {
                    return (Some("too_short"), sample);
                }
                (None, sample)
            },
        )
        .collect();
    cleaned
        .into_iter()
        .filter_map(|(reason, s)| match reason {
            None => Some(s),
            Some(reason) => {
                dropped.add(reason, &s.path);
                None
            }
        })
        .collect()
}

fn remove_duplicates(
    samples: Vec<Sample>,
    config: &DatasetConfig,
    dropped: &mut Dropped,
) -> Vec<Sample> {
    let keys: Vec<String> = samples
        .par_iter()
        .map(|s| {
            let text: Vec<&str> = s.messages.iter().map(|m| m.content.as_str()).collect();
            dedupe_key(&text.join(" "))
        })
        .collect();
    let exact = exact_duplicates(&keys);
    for &i in &exact {
        dropped.add("exact_duplicate", &samples[i].path);
    }
    let mut drop: HashSet<usize> = exact.into_iter().collect();
    if config.near_duplicate_threshold < 1.0 {
        let live: Vec<usize> = (0..samples.len()).filter(|i| !drop.contains(i)).collect();
        let sigs: Vec<Signature> = live
            .par_iter()
            .map(|&i| Signature::of(&keys[i], config.shingle_words))
            .collect();
        for (k, _) in near_duplicates(&sigs, config.near_duplicate_threshold) {
            dropped.add("near_duplicate", &samples[live[k]].path);
            drop.insert(live[k]);
        }
    }
    samples
        .into_iter()
        .enumerate()
        .filter(|(i, _)| !drop.contains(i))
        .map(|(_, s)| s)
        .collect()
}

/// A uniform number in [0, 1) from a hash of `parts`: per-sample decisions that do not move
/// when other samples are added or removed.
pub fn unit_hash(parts: &[&[u8]]) -> f64 {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p);
    }
    let d = h.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&d[..8]);
    (u64::from_le_bytes(first) >> 11) as f64 / (1u64 << 53) as f64
}

/// The exported message list: the mode's system prompt, then the turns.
pub fn with_system_prompt(sample: &Sample, config: &DatasetConfig, person: &str) -> Vec<Message> {
    let mut v = Vec::with_capacity(sample.messages.len() + 1);
    v.push(Message::new(
        Role::System,
        config.system_prompt(sample.mode, person),
    ));
    v.extend(sample.messages.iter().cloned());
    v
}
