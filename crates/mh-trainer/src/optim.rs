//! AdamW with decoupled weight decay, exactly as `torch.optim.AdamW`, and global grad-norm
//! clipping as `torch.nn.utils.clip_grad_norm_`.
//!
//! Written here rather than taken from candle-nn because a run must checkpoint and restore the
//! moments, and candle's `AdamW` keeps them private (and in the parameters' dtype).

use mh_model::candle_core::{DType, Tensor, Var};

use crate::TrainError;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamWParams {
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
}

/// Optimizer state for a fixed list of parameters; moments are f32.
#[derive(Debug)]
pub struct AdamW {
    params: Vec<Var>,
    /// First and second moments, one per parameter.
    pub m: Vec<Tensor>,
    pub v: Vec<Tensor>,
    /// Optimizer steps taken so far.
    pub t: usize,
    pub hp: AdamWParams,
}

impl AdamW {
    pub fn new(params: Vec<Var>, hp: AdamWParams) -> Result<AdamW, TrainError> {
        let zeros = |p: &Var| p.as_tensor().zeros_like()?.to_dtype(DType::F32);
        let m = params.iter().map(zeros).collect::<Result<Vec<_>, _>>()?;
        let v = params.iter().map(zeros).collect::<Result<Vec<_>, _>>()?;
        Ok(AdamW {
            params,
            m,
            v,
            t: 0,
            hp,
        })
    }

    pub fn params(&self) -> &[Var] {
        &self.params
    }

    /// Replace the moments and step count (from a checkpoint); shapes must match.
    pub fn restore(&mut self, m: Vec<Tensor>, v: Vec<Tensor>, t: usize) -> Result<(), TrainError> {
        if m.len() != self.params.len() || v.len() != self.params.len() {
            return Err(TrainError::Config(format!(
                "optimizer state has {} / {} moments for {} parameters",
                m.len(),
                v.len(),
                self.params.len()
            )));
        }
        for ((p, m), v) in self.params.iter().zip(&m).zip(&v) {
            if m.dims() != p.dims() || v.dims() != p.dims() {
                return Err(TrainError::Config(format!(
                    "optimizer moment shapes {:?} / {:?} do not match parameter {:?}",
                    m.dims(),
                    v.dims(),
                    p.dims()
                )));
            }
        }
        self.m = m;
        self.v = v;
        self.t = t;
        Ok(())
    }

    /// One update with `grads[i]` for `params[i]` at learning rate `lr`.
    pub fn step(&mut self, grads: &[Tensor], lr: f64) -> Result<(), TrainError> {
        let AdamWParams {
            beta1,
            beta2,
            eps,
            weight_decay,
        } = self.hp;
        self.t += 1;
        let bias1 = 1.0 - beta1.powi(self.t as i32);
        let bias2_sqrt = (1.0 - beta2.powi(self.t as i32)).sqrt();
        let step_size = lr / bias1;
        if grads.len() != self.params.len() {
            return Err(TrainError::Config(format!(
                "{} gradients for {} parameters",
                grads.len(),
                self.params.len()
            )));
        }
        let slots = self.params.iter().zip(&mut self.m).zip(&mut self.v);
        for (((param, m), v), grad) in slots.zip(grads) {
            let g = grad.to_dtype(DType::F32)?;
            let new_m = ((&*m * beta1)? + (&g * (1.0 - beta1))?)?;
            let new_v = ((&*v * beta2)? + (g.sqr()? * (1.0 - beta2))?)?;
            let denom = ((new_v.sqrt()? / bias2_sqrt)? + eps)?;
            let p = param.as_tensor().to_dtype(DType::F32)?;
            let p = (p * (1.0 - lr * weight_decay))?;
            let p = (p - ((&new_m / &denom)? * step_size)?)?;
            param.set(&p.to_dtype(param.dtype())?)?;
            *m = new_m;
            *v = new_v;
        }
        Ok(())
    }
}

/// The global L2 norm of `grads`; when it exceeds `max_norm > 0`, scale them by
/// `max_norm / (norm + 1e-6)` in place. Returns the norm before clipping.
pub fn clip_grad_norm(grads: &mut [Tensor], max_norm: f64) -> Result<f64, TrainError> {
    let mut sum = 0f64;
    for g in grads.iter() {
        sum += g
            .to_dtype(DType::F64)?
            .sqr()?
            .sum_all()?
            .to_scalar::<f64>()?;
    }
    let norm = sum.sqrt();
    if max_norm > 0.0 {
        let coef = max_norm / (norm + 1e-6);
        if coef < 1.0 {
            for g in grads.iter_mut() {
                *g = (&*g * coef)?;
            }
        }
    }
    Ok(norm)
}
