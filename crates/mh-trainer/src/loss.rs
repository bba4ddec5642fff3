//! Masked next-token cross-entropy in f32.
//!
//! Only positions whose next token is labelled go through the LM head: the vocabulary-sized
//! logits are computed for targets alone, never for prompt or padding tokens.

use mh_model::candle_core::{DType, Tensor, D};
use mh_model::Model;

use crate::data::Batch;
use crate::TrainError;

/// `Σ -log p(target)` over the batch's targets as an f32 scalar tensor (still attached to the
/// graph), or `None` when the batch has no target.
pub fn nll_sum(
    model: &Model,
    batch: &Batch,
    dropout_seed: Option<u64>,
) -> Result<Option<Tensor>, TrainError> {
    if batch.targets.is_empty() {
        return Ok(None);
    }
    let device = model.device();
    let hidden = model.hidden_states(&batch.input_ids, Some(&batch.lengths), dropout_seed)?;
    let (b, s, h) = hidden.dims3()?;
    let positions = Tensor::new(batch.positions.as_slice(), device)?;
    let selected = hidden.reshape((b * s, h))?.index_select(&positions, 0)?;
    let logits = model.lm_logits(&selected)?.to_dtype(DType::F32)?;
    let targets = Tensor::new(batch.targets.as_slice(), device)?.unsqueeze(1)?;
    let picked = log_softmax(&logits)?.gather(&targets, 1)?;
    Ok(Some(picked.sum_all()?.neg()?))
}

/// `log_softmax` over the last dimension with a detached max: the result does not depend on the
/// shift, so no gradient needs to flow through it.
fn log_softmax(x: &Tensor) -> mh_model::candle_core::Result<Tensor> {
    let max = x.max_keepdim(D::Minus1)?.detach();
    let shifted = x.broadcast_sub(&max)?;
    let log_sum = shifted.exp()?.sum_keepdim(D::Minus1)?.log()?;
    shifted.broadcast_sub(&log_sum)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mh_model::candle_core::Device;

    #[test]
    fn log_softmax_matches_the_definition() {
        let x = Tensor::new(&[[1f32, 2.0, 3.0], [1000.0, 0.0, -1000.0]], &Device::Cpu).unwrap();
        let y: Vec<Vec<f32>> = log_softmax(&x).unwrap().to_vec2().unwrap();
        let z = (1f64.exp() + 2f64.exp() + 3f64.exp()).ln();
        for (got, want) in y[0].iter().zip([1.0 - z, 2.0 - z, 3.0 - z]) {
            assert!((*got as f64 - want).abs() < 1e-6, "{got} vs {want}");
        }
        assert_eq!(y[1][0], 0.0);
        assert!(y[1][1] < -999.0 && y[1][1].is_finite());
    }
}
