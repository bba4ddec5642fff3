//! Held-out loss and perplexity: the token-weighted mean next-token loss over every labelled
//! target of a split, with no dropout.

use mh_dataset::tokenize::Sequence;
use mh_model::Model;
use mh_profile::Progress;
use serde::{Deserialize, Serialize};

use crate::data::Batch;
use crate::loss::nll_sum;
use crate::TrainError;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EvalResult {
    pub loss: f64,
    /// `exp(loss)`.
    pub ppl: f64,
    /// Targets scored.
    pub tokens: usize,
}

/// Evaluate `rows` in batches of `batch_size` rows; `None` when they hold no target.
pub fn evaluate(
    model: &Model,
    rows: &[Sequence],
    batch_size: usize,
    progress: &dyn Progress,
) -> Result<Option<EvalResult>, TrainError> {
    // Similar lengths side by side: less padding, same sum.
    let mut order: Vec<&Sequence> = rows.iter().collect();
    order.sort_by_key(|s| s.len());
    progress.start("eval", Some(rows.len() as u64));
    let mut sum = 0f64;
    let mut tokens = 0usize;
    for chunk in order.chunks(batch_size.max(1)) {
        let batch = Batch::new(chunk, model.device())?;
        if let Some(nll) = nll_sum(model, &batch, None)? {
            sum += nll.to_scalar::<f32>()? as f64;
            tokens += batch.targets.len();
        }
        progress.advance(chunk.len() as u64);
    }
    progress.finish();
    if tokens == 0 {
        return Ok(None);
    }
    let loss = sum / tokens as f64;
    Ok(Some(EvalResult {
        loss,
        ppl: loss.exp(),
        tokens,
    }))
}
