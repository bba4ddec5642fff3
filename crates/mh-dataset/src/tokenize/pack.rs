//! Sequences the trainer reads: one sample each, or several packed into one row.
//!
//! A packed row is its samples concatenated, with `lengths` recording where each ends; the
//! trainer restarts position ids at 0 at every sample ([`Sequence::position_ids`]) and builds
//! a block-diagonal causal mask from `lengths`, so no token attends across samples.
//!
//! Packing is first-fit decreasing: samples by length, longest first (ties in dataset order),
//! each into the first row with room, rows in the order they were opened; inside a row the
//! samples keep their dataset order. A sample is never split: the truncation policy leaves
//! none longer than the limit, and one that is longer anyway gets a row of its own.

use super::labels::Encoded;

/// One line of `*.tokens.jsonl`.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Sequence {
    pub input_ids: Vec<u32>,
    pub labels: Vec<i32>,
    /// Token count of each sample in this row, in order; they sum to `input_ids.len()`.
    pub lengths: Vec<usize>,
}

impl Sequence {
    pub fn len(&self) -> usize {
        self.input_ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.input_ids.is_empty()
    }

    /// Position ids restarting at 0 at the start of every sample.
    pub fn position_ids(&self) -> Vec<u32> {
        self.lengths.iter().flat_map(|&n| 0..n as u32).collect()
    }

    fn push(&mut self, e: Encoded) {
        self.lengths.push(e.len());
        self.input_ids.extend(e.input_ids);
        self.labels.extend(e.labels);
    }
}

/// One sequence per sample, in order.
pub fn unpacked(samples: Vec<Encoded>) -> Vec<Sequence> {
    samples
        .into_iter()
        .map(|e| {
            let mut s = Sequence::default();
            s.push(e);
            s
        })
        .collect()
}

/// Pack `samples` into rows of at most `max_len` tokens, first-fit decreasing (see the module
/// docs). Deterministic: the same samples in the same order give the same rows.
pub fn pack_first_fit_decreasing(samples: Vec<Encoded>, max_len: usize) -> Vec<Sequence> {
    let n = samples.len();
    let mut order: Vec<usize> = (0..n).collect();
    // Stable: equal lengths stay in dataset order.
    order.sort_by_key(|&i| std::cmp::Reverse(samples[i].len()));

    let mut free = FirstFit::new(n, max_len);
    let mut rows: Vec<Vec<usize>> = Vec::new();
    for i in order {
        let len = samples[i].len();
        let row = match free.first_with(len) {
            Some(row) => row,
            // Longer than a row: alone in the next new one.
            None => rows.len(),
        };
        if row == rows.len() {
            rows.push(Vec::new());
        }
        rows[row].push(i);
        free.take(row, len);
    }

    let mut slots: Vec<Option<Encoded>> = samples.into_iter().map(Some).collect();
    rows.into_iter()
        .map(|mut members| {
            members.sort_unstable();
            let mut seq = Sequence::default();
            for i in members {
                if let Some(e) = slots[i].take() {
                    seq.push(e);
                }
            }
            seq
        })
        .collect()
}

/// Free room per row in a max segment tree, so "the first row with at least `len` free" is a
/// walk down the tree rather than a scan of every row. Rows not yet opened have `max_len` free
/// and lie after the opened ones, so the leftmost fit is an opened row when one has room.
struct FirstFit {
    size: usize,
    tree: Vec<usize>,
}

impl FirstFit {
    fn new(rows: usize, max_len: usize) -> Self {
        let size = rows.max(1).next_power_of_two();
        let mut tree = vec![0; 2 * size];
        for leaf in &mut tree[size..size + rows] {
            *leaf = max_len;
        }
        for i in (1..size).rev() {
            tree[i] = tree[2 * i].max(tree[2 * i + 1]);
        }
        Self { size, tree }
    }

    fn first_with(&self, len: usize) -> Option<usize> {
        if self.tree[1] < len {
            return None;
        }
        let mut i = 1;
        while i < self.size {
            i = if self.tree[2 * i] >= len {
                2 * i
            } else {
                2 * i + 1
            };
        }
        Some(i - self.size)
    }

    fn take(&mut self, row: usize, len: usize) {
        let mut i = row + self.size;
        if i >= self.tree.len() {
            return;
        }
        self.tree[i] = self.tree[i].saturating_sub(len);
        while i > 1 {
            i /= 2;
            self.tree[i] = self.tree[2 * i].max(self.tree[2 * i + 1]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokenize::IGNORE;

    fn sample(tag: u32, len: usize) -> Encoded {
        Encoded {
            input_ids: vec![tag; len],
            labels: vec![IGNORE; len],
        }
    }

    #[test]
    fn first_fit_decreasing_fills_rows_and_never_splits() {
        // Lengths 6 5 4 3 2 2 into rows of 8: {6 2} {5 3} {4 2}.
        let lens = [2, 6, 3, 5, 2, 4];
        let samples: Vec<Encoded> = lens
            .iter()
            .enumerate()
            .map(|(i, &l)| sample(i as u32, l))
            .collect();
        let rows = pack_first_fit_decreasing(samples, 8);
        let got: Vec<Vec<usize>> = rows.iter().map(|r| r.lengths.clone()).collect();
        // Rows in opening order; inside a row, samples in dataset order.
        assert_eq!(got, vec![vec![2, 6], vec![3, 5], vec![2, 4]]);
        for r in &rows {
            assert_eq!(r.lengths.iter().sum::<usize>(), r.len());
            assert!(r.len() <= 8);
        }
        assert_eq!(rows[0].input_ids, vec![0, 0, 1, 1, 1, 1, 1, 1]);
        assert_eq!(rows[0].position_ids(), vec![0, 1, 0, 1, 2, 3, 4, 5]);
    }

    #[test]
    fn an_oversized_sample_gets_a_row_of_its_own() {
        let rows = pack_first_fit_decreasing(vec![sample(0, 3), sample(1, 12), sample(2, 4)], 8);
        let got: Vec<Vec<usize>> = rows.iter().map(|r| r.lengths.clone()).collect();
        assert_eq!(got, vec![vec![12], vec![3, 4]]);
        assert!(pack_first_fit_decreasing(Vec::new(), 8).is_empty());
    }
}
