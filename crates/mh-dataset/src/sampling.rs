//! Which samples make the cut (facts §2.1 step 4, §2.2): the monthly recent/old strategy, the
//! type-ratio "pie chart", `max_samples`. Every choice uses the caller's seeded RNG and unbiased
//! Fisher–Yates shuffles (the seed used `sort(() => Math.random() - 0.5)`); kept samples keep
//! their relative order so results do not depend on how the RNG was consumed elsewhere.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::report::Dropped;
use crate::sample::Sample;

/// Types always kept whole by the pie chart.
pub const PRIMARY_TYPES: [&str; 4] = ["conversation", "observation", "therapy_session", "journal"];
/// Types sampled relative to the primary count.
pub const SECONDARY_TYPES: [&str; 7] = [
    "reflection",
    "reflection_summary",
    "inner_dialogue",
    "dream",
    "curiosity_question",
    "decision",
    "summary",
];

/// Keep every sample newer than `now - days_recent` and `old_samples` random older ones
/// (samples without a timestamp count as old).
pub fn monthly(
    samples: Vec<Sample>,
    now: DateTime<Utc>,
    days_recent: u32,
    old_samples: usize,
    rng: &mut ChaCha8Rng,
    dropped: &mut Dropped,
) -> Vec<Sample> {
    let cutoff = now - Duration::days(i64::from(days_recent));
    let is_recent = |s: &Sample| s.timestamp.is_some_and(|t| t >= cutoff);
    let old: Vec<usize> = (0..samples.len())
        .filter(|&i| !is_recent(&samples[i]))
        .collect();
    let keep_old = choose(&old, old_samples, rng);
    keep_where(samples, dropped, "monthly_old_not_sampled", |i, s| {
        is_recent(s) || keep_old.contains(&i)
    })
}

/// The seed's type-ratio sampling: primary types kept whole; each secondary type gets
/// `round(primary_count × pct / 100)` random rows (none when the percentage is 0 or missing,
/// or when there are no primary rows); any other type is kept whole.
pub fn type_ratio(
    samples: Vec<Sample>,
    percentages: &BTreeMap<String, f64>,
    rng: &mut ChaCha8Rng,
    dropped: &mut Dropped,
) -> Vec<Sample> {
    let primary = samples
        .iter()
        .filter(|s| PRIMARY_TYPES.contains(&s.kind.as_str()))
        .count();
    let mut keep = std::collections::HashSet::new();
    for kind in SECONDARY_TYPES {
        let pct = percentages.get(kind).copied().unwrap_or(0.0).max(0.0);
        let quota = (primary as f64 * pct / 100.0).round() as usize;
        let rows: Vec<usize> = (0..samples.len())
            .filter(|&i| samples[i].kind == kind)
            .collect();
        keep.extend(choose(&rows, quota, rng));
    }
    keep_where(samples, dropped, "type_ratio", |i, s| {
        !SECONDARY_TYPES.contains(&s.kind.as_str()) || keep.contains(&i)
    })
}

/// A random subset of `max` samples when there are more.
pub fn cap(
    samples: Vec<Sample>,
    max: usize,
    rng: &mut ChaCha8Rng,
    dropped: &mut Dropped,
) -> Vec<Sample> {
    if samples.len() <= max {
        return samples;
    }
    let all: Vec<usize> = (0..samples.len()).collect();
    let keep = choose(&all, max, rng);
    keep_where(samples, dropped, "max_samples", |i, _| keep.contains(&i))
}

/// `k` distinct items of `from`, uniformly (all of them when `k >= len`).
fn choose(from: &[usize], k: usize, rng: &mut ChaCha8Rng) -> std::collections::HashSet<usize> {
    let mut v = from.to_vec();
    if k < v.len() {
        v.shuffle(rng);
        v.truncate(k);
    }
    v.into_iter().collect()
}

fn keep_where(
    samples: Vec<Sample>,
    dropped: &mut Dropped,
    reason: &str,
    keep: impl Fn(usize, &Sample) -> bool,
) -> Vec<Sample> {
    samples
        .into_iter()
        .enumerate()
        .filter_map(|(i, s)| {
            if keep(i, &s) {
                Some(s)
            } else {
                dropped.add(reason, &s.path);
                None
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::{Mode, Source};
    use rand::SeedableRng;

    fn sample(i: usize, kind: &str, day: Option<u32>) -> Sample {
        Sample {
            id: format!("s{i}"),
            source: Source::Episodic,
            kind: kind.into(),
            mode: Mode::Emulation,
            timestamp: day
                .map(|d| crate::sample::parse_time(&format!("2026-05-{d:02}T00:00:00Z")).unwrap()),
            messages: vec![],
            path: format!("f{i}").into(),
        }
    }

    #[test]
    fn monthly_keeps_recent_and_samples_old() {
        let samples: Vec<_> = (1..=20)
            .map(|d| sample(d as usize, "conversation", Some(d)))
            .collect();
        let now = crate::sample::parse_time("2026-05-20T00:00:00Z").unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut dropped = Dropped::default();
        let kept = monthly(samples, now, 5, 3, &mut rng, &mut dropped);
        // Days 15..=20 are within 5 days of the 20th; 3 of the 14 older ones survive.
        let recent = kept
            .iter()
            .filter(|s| s.timestamp.unwrap() >= now - Duration::days(5))
            .count();
        assert_eq!(recent, 6);
        assert_eq!(kept.len(), 9);
        assert_eq!(dropped.count("monthly_old_not_sampled"), 11);
        // Kept samples keep their order.
        let ids: Vec<_> = kept.iter().map(|s| s.timestamp).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, sorted);
    }

    #[test]
    fn pie_chart_keeps_primaries_and_samples_secondaries() {
        let mut samples: Vec<_> = (0..100).map(|i| sample(i, "conversation", None)).collect();
        samples.extend((100..150).map(|i| sample(i, "reflection", None)));
        samples.extend((150..160).map(|i| sample(i, "dream", None)));
        samples.extend((160..165).map(|i| sample(i, "legacy_instruction", None)));
        let pct = crate::config::default_type_percentages();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut dropped = Dropped::default();
        let kept = type_ratio(samples, &pct, &mut rng, &mut dropped);
        let count = |k: &str| kept.iter().filter(|s| s.kind == k).count();
        assert_eq!(count("conversation"), 100);
        assert_eq!(count("reflection"), 2); // round(100 × 2 %)
        assert_eq!(count("dream"), 0); // 0 %
        assert_eq!(count("legacy_instruction"), 5); // unmapped: kept
        assert_eq!(dropped.count("type_ratio"), 58);
    }

    #[test]
    fn no_primary_rows_means_no_secondary_rows() {
        let samples: Vec<_> = (0..10).map(|i| sample(i, "reflection", None)).collect();
        let mut dropped = Dropped::default();
        let kept = type_ratio(
            samples,
            &crate::config::default_type_percentages(),
            &mut ChaCha8Rng::seed_from_u64(3),
            &mut dropped,
        );
        assert!(kept.is_empty());
    }

    #[test]
    fn cap_is_uniform_and_seeded() {
        let samples: Vec<_> = (0..50).map(|i| sample(i, "conversation", None)).collect();
        let run = |seed| {
            let kept = cap(
                samples.clone(),
                10,
                &mut ChaCha8Rng::seed_from_u64(seed),
                &mut Dropped::default(),
            );
            kept.iter().map(|s| s.id.clone()).collect::<Vec<_>>()
        };
        assert_eq!(run(5).len(), 10);
        assert_eq!(run(5), run(5));
        assert_ne!(run(5), run(6));
    }
}
