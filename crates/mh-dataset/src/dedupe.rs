//! Duplicate removal: exact (on the capture-time normalised text) and near (MinHash over word
//! shingles with LSH banding, so 100k samples cost one pass, not n² comparisons).

use std::collections::{HashMap, HashSet};

const HASHES: usize = 64;
const BANDS: usize = 16;
const ROWS: usize = HASHES / BANDS;

/// Keeps the first of every group of exact duplicates. Returns the indices to drop.
pub fn exact_duplicates(keys: &[String]) -> Vec<usize> {
    let mut seen = HashSet::with_capacity(keys.len());
    keys.iter()
        .enumerate()
        .filter(|(_, k)| !seen.insert(k.as_str()))
        .map(|(i, _)| i)
        .collect()
}

/// A MinHash signature of a text's word shingles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature([u64; HASHES]);

impl Signature {
    /// `text` should already be normalised (see [`crate::clean::dedupe_key`]).
    pub fn of(text: &str, shingle_words: usize) -> Self {
        let words: Vec<&str> = text.split_whitespace().collect();
        let k = shingle_words.max(1);
        let mut sig = [u64::MAX; HASHES];
        let mut add = |shingle: &[&str]| {
            let base = fnv1a(shingle);
            for (i, slot) in sig.iter_mut().enumerate() {
                let h = splitmix64(base ^ SALTS[i]);
                if h < *slot {
                    *slot = h;
                }
            }
        };
        if words.len() <= k {
            add(&words);
        } else {
            words.windows(k).for_each(&mut add);
        }
        Signature(sig)
    }

    /// Estimated Jaccard similarity of the two shingle sets.
    pub fn similarity(&self, other: &Signature) -> f64 {
        let same = self.0.iter().zip(&other.0).filter(|(a, b)| a == b).count();
        same as f64 / HASHES as f64
    }

    fn band_keys(&self) -> impl Iterator<Item = (usize, u64)> + '_ {
        self.0.chunks(ROWS).enumerate().map(|(b, rows)| {
            (
                b,
                rows.iter()
                    .fold(0xcbf2_9ce4_8422_2325, |h, &r| splitmix64(h ^ r)),
            )
        })
    }
}

/// Keeps the first of every group of near-duplicates (estimated similarity ≥ `threshold`).
/// Returns `(dropped index, index of the kept sample it resembles)`.
pub fn near_duplicates(signatures: &[Signature], threshold: f64) -> Vec<(usize, usize)> {
    let mut buckets: HashMap<(usize, u64), Vec<usize>> = HashMap::new();
    let mut dropped = Vec::new();
    for (i, sig) in signatures.iter().enumerate() {
        let twin = sig.band_keys().find_map(|key| {
            buckets
                .get(&key)?
                .iter()
                .copied()
                .find(|&j| sig.similarity(&signatures[j]) >= threshold)
        });
        match twin {
            Some(j) => dropped.push((i, j)),
            None => {
                for key in sig.band_keys() {
                    buckets.entry(key).or_default().push(i);
                }
            }
        }
    }
    dropped
}

fn fnv1a(words: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for w in words {
        for b in w.bytes().chain(std::iter::once(b' ')) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

/// SplitMix64 finaliser: a cheap, well-mixed bijection on u64.
const fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// Fixed per-hash salts (the MinHash permutations); fixed so results never depend on a run.
const SALTS: [u64; HASHES] = {
    let mut s = [0u64; HASHES];
    let mut i = 0;
    while i < HASHES {
        s[i] = splitmix64(0x005e_ed0f_d47a + i as u64);
        i += 1;
    }
    s
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_keeps_first() {
        let keys = ["a", "b", "a", "c", "b"].map(String::from);
        assert_eq!(exact_duplicates(&keys), vec![2, 4]);
    }

    #[test]
    fn near_duplicates_are_found_and_different_texts_kept() {
        let base = "we walked the dog along the canal this morning and the heron was back on its post again";
        let texts = [
            base.to_string(),
            base.replace("morning", "evening"),
            "the quarterly report is due on friday and nobody has started the spreadsheet yet"
                .to_string(),
            base.replace("heron", "cormorant").replace("dog", "puppy"),
        ];
        let sigs: Vec<_> = texts.iter().map(|t| Signature::of(t, 3)).collect();
        assert!(sigs[0].similarity(&sigs[1]) > 0.6);
        assert!(sigs[0].similarity(&sigs[2]) < 0.1);
        let dropped = near_duplicates(&sigs, 0.6);
        assert!(dropped.contains(&(1, 0)), "{dropped:?}");
        assert!(!dropped.iter().any(|(i, _)| *i == 2));
        // With a threshold of 1.0 only identical shingle sets would go.
        assert!(near_duplicates(&sigs, 1.0).is_empty());
    }

    #[test]
    fn short_texts_still_get_a_signature() {
        assert_eq!(Signature::of("hi", 3), Signature::of("hi", 3));
        assert_ne!(Signature::of("hi", 3), Signature::of("yo", 3));
    }
}
