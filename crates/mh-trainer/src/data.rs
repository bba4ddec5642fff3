//! The tokenized export (`tokenized.json` + `train.tokens.jsonl` / `eval.tokens.jsonl`) and the
//! micro-batches made from it.
//!
//! A batch keeps what the loss needs on the host: the flat positions whose *next* token is
//! labelled and those next tokens. The next token across a packed-sample boundary belongs to
//! another sample and is never a target, whatever its label says.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use mh_dataset::tokenize::{Manifest, Sequence, IGNORE};
use mh_model::candle_core::{Device, Tensor};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use sha2::{Digest, Sha256};

use crate::TrainError;

/// A tokenized dataset directory, read whole.
#[derive(Debug, Clone)]
pub struct TokenDataset {
    pub dir: PathBuf,
    pub manifest: Manifest,
    pub train: Vec<Sequence>,
    pub eval: Vec<Sequence>,
    /// SHA-256 over the two token files, so a resume can tell the data changed.
    pub fingerprint: String,
}

impl TokenDataset {
    /// Read `dir/tokenized.json` and the token files it names.
    pub fn open(dir: &Path) -> Result<TokenDataset, TrainError> {
        let manifest_path = dir.join(mh_dataset::tokenize::write::MANIFEST);
        let text = std::fs::read_to_string(&manifest_path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                TrainError::dataset(
                    dir,
                    "no tokenized.json: build the dataset with `mh-train dataset build --model MODEL`",
                )
            } else {
                TrainError::io(&manifest_path, e)
            }
        })?;
        let manifest: Manifest = serde_json::from_str(&text)
            .map_err(|e| TrainError::dataset(&manifest_path, e.to_string()))?;
        if manifest.labels.ignore_index != IGNORE || manifest.labels.shifted {
            return Err(TrainError::dataset(
                &manifest_path,
                format!(
                    "labels must be unshifted with ignore index {IGNORE} (found ignore {} shifted {})",
                    manifest.labels.ignore_index, manifest.labels.shifted
                ),
            ));
        }
        let mut hasher = Sha256::new();
        let mut read = |split: &str| -> Result<Vec<Sequence>, TrainError> {
            let name = manifest.files.get(split).ok_or_else(|| {
                TrainError::dataset(&manifest_path, format!("`files.{split}` is missing"))
            })?;
            let path = dir.join(name);
            // Read once: the same bytes are hashed and parsed.
            let bytes = std::fs::read(&path).map_err(|e| TrainError::io(&path, e))?;
            hasher.update(&bytes);
            parse_sequences(&path, bytes.as_slice(), manifest.tokenizer.vocab_size)
        };
        let train = read("train")?;
        let eval = read("eval")?;
        if train.is_empty() {
            return Err(TrainError::dataset(dir, "the train split is empty"));
        }
        Ok(TokenDataset {
            dir: dir.to_path_buf(),
            manifest,
            train,
            eval,
            fingerprint: hex::encode(hasher.finalize()),
        })
    }
}

impl TokenDataset {
    /// Refuse a model whose `tokenizer.json` is not the one the dataset was tokenized with:
    /// the ids would mean other tokens.
    pub fn check_tokenizer(&self, model_dir: &Path) -> Result<(), TrainError> {
        let path = model_dir.join("tokenizer.json");
        let bytes = std::fs::read(&path).map_err(|e| TrainError::io(&path, e))?;
        let sha = hex::encode(Sha256::digest(&bytes));
        if sha != self.manifest.tokenizer.sha256 {
            return Err(TrainError::dataset(
                &self.dir,
                format!(
                    "tokenized with another tokenizer (sha256 {}) than {} ({sha}); rebuild the dataset with --model {}",
                    self.manifest.tokenizer.sha256,
                    path.display(),
                    model_dir.display()
                ),
            ));
        }
        Ok(())
    }
}

fn read_sequences(path: &Path, vocab: usize) -> Result<Vec<Sequence>, TrainError> {
    let file = std::fs::File::open(path).map_err(|e| TrainError::io(path, e))?;
    parse_sequences(path, BufReader::new(file), vocab)
}

/// Parse and check `*.tokens.jsonl` lines read from `path`.
fn parse_sequences(
    path: &Path,
    reader: impl BufRead,
    vocab: usize,
) -> Result<Vec<Sequence>, TrainError> {
    let mut out = Vec::new();
    for (i, line) in reader.lines().enumerate() {
        let line = line.map_err(|e| TrainError::io(path, e))?;
        if line.trim().is_empty() {
            continue;
        }
        let at = |reason: String| TrainError::dataset(path, format!("line {}: {reason}", i + 1));
        let seq: Sequence = serde_json::from_str(&line).map_err(|e| at(e.to_string()))?;
        if seq.is_empty() || seq.labels.len() != seq.len() {
            return Err(at(format!(
                "{} input ids and {} labels",
                seq.len(),
                seq.labels.len()
            )));
        }
        if seq.lengths.iter().sum::<usize>() != seq.len() || seq.lengths.contains(&0) {
            return Err(at(format!(
                "sample lengths {:?} do not add up to {}",
                seq.lengths,
                seq.len()
            )));
        }
        if let Some(&id) = seq.input_ids.iter().find(|&&id| id as usize >= vocab) {
            return Err(at(format!(
                "token id {id} is outside the {vocab}-token vocabulary"
            )));
        }
        if let Some(&l) = seq
            .labels
            .iter()
            .find(|&&l| l != IGNORE && (l < 0 || l as usize >= vocab))
        {
            return Err(at(format!("label {l} is neither {IGNORE} nor a token id")));
        }
        out.push(seq);
    }
    Ok(out)
}

/// Rows to score from `path`: a tokenized dataset directory (its `split`), a
/// `*.tokens.jsonl` file, or a chat JSONL file (`{"messages": [...]}` per line, as the dataset
/// export writes), which is rendered with the model's chat template and tokenized with
/// assistant-only labels.
pub fn load_rows(
    path: &Path,
    split: &str,
    model_dir: &Path,
    vocab: usize,
) -> Result<Vec<Sequence>, TrainError> {
    if path.is_dir() {
        let mut d = TokenDataset::open(path)?;
        return match split {
            "train" => Ok(d.train),
            "eval" => Ok(std::mem::take(&mut d.eval)),
            other => Err(TrainError::dataset(
                path,
                format!("unknown split {other:?} (train or eval)"),
            )),
        };
    }
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if name.ends_with(".tokens.jsonl") {
        return read_sequences(path, vocab);
    }
    chat_rows(path, model_dir)
}

fn chat_rows(path: &Path, model_dir: &Path) -> Result<Vec<Sequence>, TrainError> {
    use mh_dataset::tokenize::dataset::Encoder;
    use mh_dataset::tokenize::{unpacked, LabelTurns};

    let (template, tokenizer) = crate::chat::template_and_tokenizer(model_dir)?;
    let encoder = Encoder {
        template: &template,
        tokenizer: &tokenizer,
        label_turns: LabelTurns::All,
    };
    // Fixed so a file scores the same whatever the day (templates may print the date).
    let now = chrono::NaiveDateTime::default();
    let text = std::fs::read_to_string(path).map_err(|e| TrainError::io(path, e))?;
    let mut encoded = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        #[derive(serde::Deserialize)]
        struct Line {
            messages: Vec<mh_dataset::Message>,
        }
        let at = |reason: String| TrainError::dataset(path, format!("line {}: {reason}", i + 1));
        let parsed: Line = serde_json::from_str(line).map_err(|e| at(e.to_string()))?;
        let id = format!("line {}", i + 1);
        let enc = encoder
            .encode(&id, &parsed.messages, now)
            .map_err(|e| at(e.to_string()))?;
        encoded.push(enc);
    }
    Ok(unpacked(encoded))
}

/// One forward pass worth of rows, padded to the longest.
#[derive(Debug)]
pub struct Batch {
    /// `(rows, seq)` u32.
    pub input_ids: Tensor,
    /// Per row, its samples' lengths (padding is the remainder).
    pub lengths: Vec<Vec<usize>>,
    /// Flat `row * seq + i` positions whose next token is a target.
    pub positions: Vec<u32>,
    /// The target token of each position.
    pub targets: Vec<u32>,
    /// Real (non-padding) tokens in the batch.
    pub tokens: usize,
}

impl Batch {
    pub fn new(rows: &[&Sequence], device: &Device) -> Result<Batch, TrainError> {
        let seq = rows.iter().map(|r| r.len()).max().unwrap_or(0);
        let mut ids = Vec::with_capacity(rows.len() * seq);
        let mut positions = Vec::new();
        let mut targets = Vec::new();
        for (r, row) in rows.iter().enumerate() {
            ids.extend_from_slice(&row.input_ids);
            // Padding repeats a real id: any id works, it is masked out of attention and loss.
            ids.extend(std::iter::repeat_n(0u32, seq - row.len()));
            let mut starts = vec![false; row.len() + 1];
            let mut at = 0;
            for &n in &row.lengths {
                starts[at] = true;
                at += n;
            }
            for i in 0..row.len().saturating_sub(1) {
                let label = row.labels[i + 1];
                if label != IGNORE && !starts[i + 1] {
                    positions.push((r * seq + i) as u32);
                    targets.push(label as u32);
                }
            }
        }
        let input_ids = Tensor::from_vec(ids, (rows.len(), seq), device)?;
        Ok(Batch {
            input_ids,
            lengths: rows.iter().map(|r| r.lengths.clone()).collect(),
            positions,
            targets,
            tokens: rows.iter().map(|r| r.len()).sum(),
        })
    }
}

/// Where the training data stands: which optimizer step of which epoch, over which rows.
#[derive(Debug, Clone)]
pub struct Plan {
    pub rows: usize,
    pub micro_batch_size: usize,
    pub grad_accum: usize,
    pub steps_per_epoch: usize,
    pub total_steps: usize,
    pub seed: u64,
}

impl Plan {
    pub fn new(
        rows: usize,
        micro_batch_size: usize,
        grad_accum: usize,
        epochs: f64,
        max_steps: Option<usize>,
        seed: u64,
    ) -> Plan {
        let micro_batches = rows.div_ceil(micro_batch_size);
        let steps_per_epoch = micro_batches.div_ceil(grad_accum).max(1);
        let by_epochs = (epochs * steps_per_epoch as f64).ceil() as usize;
        let total_steps = match max_steps {
            Some(m) if epochs <= 0.0 => m,
            Some(m) => m.min(by_epochs),
            None => by_epochs,
        };
        Plan {
            rows,
            micro_batch_size,
            grad_accum,
            steps_per_epoch,
            total_steps,
            seed,
        }
    }

    /// Row order of epoch `epoch`: a permutation seeded by the run seed and the epoch, so any
    /// step's data can be found again from the step number alone (this is the data cursor).
    pub fn epoch_order(&self, epoch: usize) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.rows).collect();
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed ^ (epoch as u64).wrapping_mul(0x9E37));
        order.shuffle(&mut rng);
        order
    }

    /// The micro-batches (as row indices into the epoch order) of optimizer step `step`.
    pub fn step_micro_batches(&self, step: usize, order: &[usize]) -> Vec<Vec<usize>> {
        let within = step % self.steps_per_epoch;
        let rows_per_step = self.micro_batch_size * self.grad_accum;
        let start = (within * rows_per_step).min(order.len());
        let end = ((within + 1) * rows_per_step).min(order.len());
        order[start..end]
            .chunks(self.micro_batch_size)
            .map(|c| c.to_vec())
            .collect()
    }

    pub fn epoch_of(&self, step: usize) -> usize {
        step / self.steps_per_epoch
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seq(ids: &[u32], labels: &[i32], lengths: &[usize]) -> Sequence {
        Sequence {
            input_ids: ids.to_vec(),
            labels: labels.to_vec(),
            lengths: lengths.to_vec(),
        }
    }

    #[test]
    fn targets_are_next_labelled_tokens_within_a_sample() {
        // Two packed samples: [5 6 7] labels [-, 6, 7] and [8 9] labels [-, 9].
        let a = seq(&[5, 6, 7, 8, 9], &[-100, 6, 7, -100, 9], &[3, 2]);
        let b = seq(&[1, 2], &[-100, 2], &[2]);
        let batch = Batch::new(&[&a, &b], &Device::Cpu).unwrap();
        // Row 0: pos 0 → 6, pos 1 → 7, pos 3 → 9 (pos 2 → 8 crosses the boundary).
        // Row 1 (seq 5): pos 5 → 2.
        assert_eq!(batch.positions, vec![0, 1, 3, 5]);
        assert_eq!(batch.targets, vec![6, 7, 9, 2]);
        assert_eq!(batch.tokens, 7);
        assert_eq!(batch.input_ids.dims(), &[2, 5]);
    }

    #[test]
    fn a_label_on_a_sample_start_is_not_a_target() {
        let a = seq(&[5, 6, 7, 8], &[5, 6, 7, 8], &[2, 2]);
        let batch = Batch::new(&[&a], &Device::Cpu).unwrap();
        assert_eq!(batch.positions, vec![0, 2]);
        assert_eq!(batch.targets, vec![6, 8]);
    }

    #[test]
    fn plan_covers_every_row_once_per_epoch() {
        let plan = Plan::new(37, 2, 4, 2.0, None, 9);
        assert_eq!(plan.steps_per_epoch, 5); // 19 micro-batches / 4
        assert_eq!(plan.total_steps, 10);
        let order = plan.epoch_order(0);
        let mut seen: Vec<usize> = (0..5)
            .flat_map(|s| plan.step_micro_batches(s, &order).concat())
            .collect();
        seen.sort();
        assert_eq!(seen, (0..37).collect::<Vec<_>>());
        assert_ne!(plan.epoch_order(0), plan.epoch_order(1));
        assert_eq!(Plan::new(37, 2, 4, 0.5, None, 9).total_steps, 3);
        assert_eq!(Plan::new(37, 2, 4, 2.0, Some(4), 9).total_steps, 4);
    }
}
