//! Learning-rate schedules, as transformers' `get_{cosine,linear,constant}_schedule_with_warmup`:
//! the rate used by optimizer step `k` (0-based) is `lr · λ(k)`, rising linearly from 0 over the
//! warm-up, then cosine to 0, linear to 0, or constant.

use crate::config::{Scheduler, TrainConfig};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Schedule {
    pub base_lr: f64,
    pub kind: Scheduler,
    pub warmup_steps: usize,
    pub total_steps: usize,
}

impl Schedule {
    pub fn new(config: &TrainConfig, total_steps: usize) -> Schedule {
        let warmup_steps = config
            .warmup_steps
            .unwrap_or_else(|| (config.warmup_ratio * total_steps as f64).ceil() as usize);
        Schedule {
            base_lr: config.learning_rate,
            kind: config.lr_scheduler,
            warmup_steps,
            total_steps,
        }
    }

    /// The learning rate of optimizer step `k`.
    pub fn lr(&self, k: usize) -> f64 {
        self.base_lr * self.factor(k)
    }

    fn factor(&self, k: usize) -> f64 {
        let (k, w, t) = (k as f64, self.warmup_steps as f64, self.total_steps as f64);
        if k < w {
            return k / w.max(1.0);
        }
        match self.kind {
            Scheduler::Constant => 1.0,
            Scheduler::Linear => ((t - k) / (t - w).max(1.0)).max(0.0),
            Scheduler::Cosine => {
                let progress = (k - w) / (t - w).max(1.0);
                (0.5 * (1.0 + (std::f64::consts::PI * progress).cos())).max(0.0)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule(kind: Scheduler, warmup: usize, total: usize) -> Schedule {
        Schedule {
            base_lr: 1.0,
            kind,
            warmup_steps: warmup,
            total_steps: total,
        }
    }

    #[test]
    fn matches_transformers_lambdas() {
        // Values from transformers' schedule lambdas (warmup 2, total 10).
        let c = schedule(Scheduler::Cosine, 2, 10);
        let got: Vec<f64> = (0..10).map(|k| c.lr(k)).collect();
        let want = [
            0.0,
            0.5,
            1.0,
            0.9619397662556434,
            0.8535533905932737,
            0.6913417161825449,
            0.5,
            0.30865828381745514,
            0.14644660940672627,
            0.03806023374435663,
        ];
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-12, "{got:?}");
        }
        let l = schedule(Scheduler::Linear, 2, 10);
        assert_eq!(l.lr(2), 1.0);
        assert_eq!(l.lr(6), 0.5);
        assert_eq!(l.lr(10), 0.0);
        let k = schedule(Scheduler::Constant, 0, 10);
        assert_eq!(k.lr(0), 1.0);
    }

    #[test]
    fn warmup_ratio_rounds_up() {
        let mut cfg = TrainConfig {
            warmup_ratio: 0.03,
            ..TrainConfig::default()
        };
        assert_eq!(Schedule::new(&cfg, 100).warmup_steps, 3);
        assert_eq!(Schedule::new(&cfg, 10).warmup_steps, 1);
        cfg.warmup_steps = Some(0);
        assert_eq!(Schedule::new(&cfg, 10).warmup_steps, 0);
    }
}
