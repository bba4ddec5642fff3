//! Duplicate removal: exact (on the capture-time normalised text) and near (MinHash over word
//! shingles with LSH banding, so 100k samples cost one pass, not n² comparisons).

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

const HASHES: usize = 64;
const BANDS: usize = 16;
const ROWS: usize = HASHES / BANDS;
/// A band value shared by this many kept samples says only that they use common phrases;
/// later samples are not compared through it (they still meet through their other bands).
/// Keeps the pass linear on corpora full of stock phrases.
const MAX_BUCKET: usize = 8;

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
        let k = shingle_words.clamp(1, MAX_SHINGLE);
        let mut sig = [u64::MAX; HASHES];
        let mut add = |shingle: u64| {
            // One well-mixed hash per shingle; the 64 "permutations" are cheap multiply-xor
            // variants of it (a universal family), not 64 full hashes.
            let base = splitmix64(shingle);
            for (slot, (salt, mul)) in sig.iter_mut().zip(SALTS.iter().zip(&MULTIPLIERS)) {
                let h = (base ^ salt).wrapping_mul(*mul);
                if h < *slot {
                    *slot = h;
                }
            }
        };
        // Each word is hashed once; a shingle's hash combines the last k word hashes.
        let mut window = [0u64; MAX_SHINGLE];
        let mut words = 0usize;
        for word in text.split_whitespace() {
            window[words % k] = fnv1a(word.as_bytes());
            words += 1;
            if words >= k {
                add(shingle_hash(&window[..k], words - k, k));
            }
        }
        if words < k {
            // Shorter than one shingle: the whole text is the only shingle.
            add(shingle_hash(&window[..k], 0, words));
        }
        Signature(sig)
    }

    /// Estimated Jaccard similarity of the two shingle sets.
    pub fn similarity(&self, other: &Signature) -> f64 {
        let same = self.0.iter().zip(&other.0).filter(|(a, b)| a == b).count();
        same as f64 / HASHES as f64
    }

    /// `similarity(other) >= threshold`, giving up as soon as too many rows differ.
    fn at_least(&self, other: &Signature, threshold: f64) -> bool {
        let allowed = ((1.0 - threshold) * HASHES as f64).floor() as usize;
        let mut differing = 0;
        for (a, b) in self.0.iter().zip(&other.0) {
            if a != b {
                differing += 1;
                if differing > allowed {
                    return false;
                }
            }
        }
        true
    }

    /// One key per band: a hash of the band's rows.
    fn band_keys(&self) -> impl Iterator<Item = u64> + '_ {
        self.0.chunks(ROWS).map(|rows| {
            rows.iter()
                .fold(0xcbf2_9ce4_8422_2325, |h, &r| splitmix64(h ^ r))
        })
    }
}

/// Keeps the first of every group of near-duplicates (estimated similarity ≥ `threshold`).
/// Returns `(dropped index, index of the kept sample it resembles)`.
pub fn near_duplicates(signatures: &[Signature], threshold: f64) -> Vec<(usize, usize)> {
    // One table per band, keyed by the band hash (already uniform, so no further hashing).
    let mut buckets: Vec<HashMap<u64, Vec<usize>, BuildHasherDefault<PassThrough>>> =
        (0..BANDS).map(|_| HashMap::default()).collect();
    let mut dropped = Vec::new();
    for (i, sig) in signatures.iter().enumerate() {
        let twin = sig.band_keys().zip(&buckets).find_map(|(key, table)| {
            table
                .get(&key)?
                .iter()
                .copied()
                .find(|&j| sig.at_least(&signatures[j], threshold))
        });
        match twin {
            Some(j) => dropped.push((i, j)),
            None => {
                for (key, table) in sig.band_keys().zip(&mut buckets) {
                    let bucket = table.entry(key).or_default();
                    if bucket.len() < MAX_BUCKET {
                        bucket.push(i);
                    }
                }
            }
        }
    }
    dropped
}

/// Hasher for keys that are already uniformly distributed u64s.
#[derive(Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// The longest shingle (in words) a signature supports.
const MAX_SHINGLE: usize = 8;

/// Order-sensitive hash of `n` consecutive words starting at word number `first`, whose hashes
/// sit in the ring buffer `ring` (word `i` at `ring[i % ring.len()]`).
fn shingle_hash(ring: &[u64], first: usize, n: usize) -> u64 {
    (first..first + n).fold(0x9e37_79b9_7f4a_7c15, |h, i| {
        splitmix64(h ^ ring[i % ring.len()])
    })
}

fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
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

/// Fixed salts and odd multipliers of the MinHash family; fixed so results never depend on a run.
const SALTS: [u64; HASHES] = family(0x005e_ed0f_d47a, 0);
const MULTIPLIERS: [u64; HASHES] = family(0x0bad_c0ff_ee00, 1);

const fn family(seed: u64, low_bit: u64) -> [u64; HASHES] {
    let mut s = [0u64; HASHES];
    let mut i = 0;
    while i < HASHES {
        s[i] = splitmix64(seed + i as u64) | low_bit;
        i += 1;
    }
    s
}

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
