//! `metrics.jsonl`: one line per optimizer step and one per evaluation, appended and flushed as
//! they happen so a crash loses at most the line being written.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::TrainError;

pub const METRICS: &str = "metrics.jsonl";

/// One optimizer step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRow {
    pub step: usize,
    pub epoch: f64,
    pub loss: f64,
    pub lr: f64,
    pub grad_norm: f64,
    /// Input tokens of the step (padding excluded).
    pub tokens: usize,
    pub tokens_per_s: f64,
    pub elapsed_s: f64,
}

/// One evaluation on the held-out split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalRow {
    pub step: usize,
    pub epoch: f64,
    pub eval_loss: f64,
    pub eval_ppl: f64,
    pub eval_tokens: usize,
    pub elapsed_s: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Row {
    Eval(EvalRow),
    Step(StepRow),
}

impl Row {
    fn step(&self) -> usize {
        match self {
            Row::Eval(r) => r.step,
            Row::Step(r) => r.step,
        }
    }
}

pub struct MetricsLog {
    path: PathBuf,
    file: File,
    pub rows: Vec<Row>,
}

impl MetricsLog {
    /// Start a fresh log (an existing one is replaced).
    pub fn create(run_dir: &Path) -> Result<MetricsLog, TrainError> {
        let path = run_dir.join(METRICS);
        let file = File::create(&path).map_err(|e| TrainError::io(&path, e))?;
        Ok(MetricsLog {
            path,
            file,
            rows: Vec::new(),
        })
    }

    /// Continue a log from a checkpoint at `step`: rows after it (written by the interrupted
    /// run past its last checkpoint) are dropped, so the log reads as one uninterrupted run.
    pub fn resume(run_dir: &Path, step: usize) -> Result<MetricsLog, TrainError> {
        let path = run_dir.join(METRICS);
        let mut rows = Vec::new();
        // The kept rows' text as it was: re-serializing would change float digits.
        let mut text = String::new();
        if let Ok(file) = File::open(&path) {
            for line in BufReader::new(file).lines() {
                let line = line.map_err(|e| TrainError::io(&path, e))?;
                // A torn last line from a crash is not an error: it is past the checkpoint.
                let Ok(row) = serde_json::from_str::<Row>(&line) else {
                    continue;
                };
                if row.step() <= step {
                    rows.push(row);
                    text.push_str(&line);
                    text.push('\n');
                }
            }
        }
        mh_profile::atomic_write(&path, text.as_bytes()).map_err(|e| TrainError::io(&path, e))?;
        let file = OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(|e| TrainError::io(&path, e))?;
        Ok(MetricsLog { path, file, rows })
    }

    pub fn push(&mut self, row: Row) -> Result<(), TrainError> {
        let line = to_line(&row, &self.path)?;
        self.file
            .write_all(line.as_bytes())
            .and_then(|_| self.file.flush())
            .map_err(|e| TrainError::io(&self.path, e))?;
        self.rows.push(row);
        Ok(())
    }

    /// Make everything written so far durable (called at checkpoints).
    pub fn sync(&self) -> Result<(), TrainError> {
        self.file
            .sync_data()
            .map_err(|e| TrainError::io(&self.path, e))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn to_line(row: &Row, path: &Path) -> Result<String, TrainError> {
    let mut line =
        serde_json::to_string(row).map_err(|e| TrainError::io(path, std::io::Error::other(e)))?;
    line.push('\n');
    Ok(line)
}
