//! Text generation: greedy or sampled decoding of one prompt through the KV cache.
//!
//! The logits of each step go through `transformers`' logits processors, in `transformers`'
//! order and with their exact rules: repetition penalty ([`apply_repetition_penalty`], also in
//! greedy mode), then — only when sampling — temperature ([`apply_temperature`]), top-k
//! ([`apply_top_k`]) and top-p ([`apply_top_p`]); then either the argmax (greedy) or a draw from
//! the softmax with a seeded ChaCha8 generator ([`Sampler`]). Temperature `None` or `0` means
//! greedy. `tests/sampling.rs` checks each processor against `transformers`' own on fixed logit
//! vectors (fixture from `scripts/gen_sampling_reference.py`).
//!
//! Arithmetic is on the f32 logits as in `transformers`; top-p's softmax and cumulative sum are
//! in f64, so the two can only disagree when the cumulative mass lies within f32 rounding of
//! `top_p`.

use std::path::Path;

use candle_core::{DType, IndexOp, Tensor};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::config::TokenIds;
use crate::error::{read_json, ModelError};
use crate::lora::seeded_rng;
use crate::model::{KvCache, Model};

/// How to decode. `Default` is greedy, 256 new tokens, no stop ids.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerationConfig {
    /// At most this many generated tokens (a stop id included).
    pub max_new_tokens: usize,
    /// `None` or `0` decodes greedily (argmax) and ignores `top_k` / `top_p`; a positive value
    /// samples from `softmax(logits / temperature)`.
    pub temperature: Option<f32>,
    /// Keep only the `k` most likely tokens (ties with the k-th kept too); `None` or `0` is off.
    pub top_k: Option<usize>,
    /// Keep the smallest set of most likely tokens whose probability reaches `top_p` (at least
    /// one); `None` or `1` is off.
    pub top_p: Option<f32>,
    /// Divide positive (multiply negative) logits of every token already in the prompt or the
    /// output by this; `None` or `1` is off. Applies to greedy decoding too.
    pub repetition_penalty: Option<f32>,
    /// Seed of the sampling generator; the same seed, config, model and prompt give the same
    /// tokens.
    pub seed: u64,
    /// Generation stops right after any of these (it is kept in the output).
    pub stop_ids: Vec<u32>,
}

impl Default for GenerationConfig {
    fn default() -> Self {
        GenerationConfig {
            max_new_tokens: 256,
            temperature: None,
            top_k: None,
            top_p: None,
            repetition_penalty: None,
            seed: 0,
            stop_ids: Vec::new(),
        }
    }
}

/// `transformers`' `top_k` when a `generation_config.json` samples without naming one.
pub const HF_DEFAULT_TOP_K: usize = 50;

/// The fields of `generation_config.json` we read; `null` counts as absent.
#[derive(Deserialize)]
struct RawGenerationConfig {
    do_sample: Option<bool>,
    temperature: Option<f64>,
    top_k: Option<i64>,
    top_p: Option<f64>,
    repetition_penalty: Option<f64>,
    max_new_tokens: Option<usize>,
    eos_token_id: Option<TokenIds>,
}

impl GenerationConfig {
    /// Greedy decoding of up to `max_new_tokens`, stopping after any of `stop_ids`.
    pub fn greedy(max_new_tokens: usize, stop_ids: &[u32]) -> GenerationConfig {
        GenerationConfig {
            max_new_tokens,
            stop_ids: stop_ids.to_vec(),
            ..GenerationConfig::default()
        }
    }

    /// Whether tokens are drawn (a positive temperature) rather than taken by argmax.
    pub fn is_sampling(&self) -> bool {
        self.temperature.is_some_and(|t| t > 0.0)
    }

    /// Read a Hugging Face `generation_config.json` as `transformers` applies it: `eos_token_id`
    /// (one id or a list) gives the stop ids, `repetition_penalty` always applies, and
    /// `temperature` / `top_k` / `top_p` only when `do_sample` is true (it defaults to false, which
    /// is greedy); sampling without a `top_k` uses transformers' default of 50, without a
    /// `temperature` 1. `max_new_tokens` is taken when present; the seed is 0.
    pub fn from_generation_config_json(path: &Path) -> Result<GenerationConfig, ModelError> {
        let raw: RawGenerationConfig = read_json(path)?;
        let field = |f: &str, reason: String| ModelError::field(path, f, reason);
        let mut cfg = GenerationConfig {
            stop_ids: raw.eos_token_id.map(TokenIds::into_vec).unwrap_or_default(),
            ..GenerationConfig::default()
        };
        if let Some(n) = raw.max_new_tokens {
            cfg.max_new_tokens = n;
        }
        if let Some(p) = raw.repetition_penalty {
            if !(p.is_finite() && p > 0.0) {
                return Err(field(
                    "repetition_penalty",
                    format!("must be a positive number, got {p}"),
                ));
            }
            cfg.repetition_penalty = Some(p as f32);
        }
        if raw.do_sample.unwrap_or(false) {
            let t = raw.temperature.unwrap_or(1.0);
            if !(t.is_finite() && t > 0.0) {
                return Err(field(
                    "temperature",
                    format!("must be positive when do_sample is true, got {t}"),
                ));
            }
            cfg.temperature = Some(t as f32);
            cfg.top_k = match raw.top_k {
                None => Some(HF_DEFAULT_TOP_K),
                Some(k) if k < 0 => {
                    return Err(field("top_k", format!("must not be negative, got {k}")))
                }
                Some(0) => None,
                Some(k) => Some(usize::try_from(k).map_err(|e| field("top_k", e.to_string()))?),
            };
            cfg.top_p = match raw.top_p {
                Some(p) if !(0.0..=1.0).contains(&p) => {
                    return Err(field("top_p", format!("must be in [0, 1], got {p}")))
                }
                Some(p) if p < 1.0 => Some(p as f32),
                _ => None,
            };
        }
        cfg.validate()?;
        Ok(cfg)
    }

    /// The `generation_config.json` value `transformers` reads back as this config (plus the
    /// given bos / pad ids): `do_sample` with the warpers when sampling, greedy otherwise.
    pub fn to_generation_config_json(
        &self,
        bos_token_id: Option<u32>,
        pad_token_id: Option<u32>,
    ) -> Value {
        let mut m = Map::new();
        if let Some(bos) = bos_token_id {
            m.insert("bos_token_id".into(), json!(bos));
        }
        match self.stop_ids.as_slice() {
            [] => {}
            [one] => {
                m.insert("eos_token_id".into(), json!(one));
            }
            many => {
                m.insert("eos_token_id".into(), json!(many));
            }
        }
        if let Some(pad) = pad_token_id {
            m.insert("pad_token_id".into(), json!(pad));
        }
        m.insert("max_new_tokens".into(), json!(self.max_new_tokens));
        m.insert("do_sample".into(), json!(self.is_sampling()));
        if self.is_sampling() {
            // f32 → f64 through the decimal text, so 0.7 is written as 0.7.
            let num = |x: f32| json!(x.to_string().parse::<f64>().unwrap_or(x as f64));
            m.insert("temperature".into(), num(self.temperature.unwrap_or(1.0)));
            m.insert("top_k".into(), json!(self.top_k.unwrap_or(0)));
            m.insert("top_p".into(), num(self.top_p.unwrap_or(1.0)));
        }
        if let Some(p) = self.repetition_penalty {
            m.insert(
                "repetition_penalty".into(),
                json!(p.to_string().parse::<f64>().unwrap_or(p as f64)),
            );
        }
        Value::Object(m)
    }

    /// Write [`GenerationConfig::to_generation_config_json`] to `path` atomically.
    pub fn write_generation_config_json(
        &self,
        path: &Path,
        bos_token_id: Option<u32>,
        pad_token_id: Option<u32>,
    ) -> Result<(), ModelError> {
        let value = self.to_generation_config_json(bos_token_id, pad_token_id);
        let mut text = serde_json::to_string_pretty(&value)
            .map_err(|e| ModelError::field(path, "$", e.to_string()))?;
        text.push('\n');
        mh_profile::atomic_write(path, text.as_bytes()).map_err(|e| ModelError::io(path, e))
    }

    /// Refuse values `transformers` refuses (negative or non-finite temperature, top_p outside
    /// [0, 1], a non-positive repetition penalty).
    pub fn validate(&self) -> Result<(), ModelError> {
        let bad = |what: String| Err(ModelError::Input(format!("generation config: {what}")));
        if let Some(t) = self.temperature {
            if !(t.is_finite() && t >= 0.0) {
                return bad(format!(
                    "temperature must be 0 (greedy) or positive, got {t}"
                ));
            }
        }
        if let Some(p) = self.top_p {
            if !(0.0..=1.0).contains(&p) {
                return bad(format!("top_p must be in [0, 1], got {p}"));
            }
        }
        if let Some(p) = self.repetition_penalty {
            if !(p.is_finite() && p > 0.0) {
                return bad(format!("repetition_penalty must be positive, got {p}"));
            }
        }
        Ok(())
    }
}

/// Why generation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// The last token is one of the stop ids.
    Stop,
    /// `max_new_tokens` were generated.
    MaxTokens,
    /// The callback returned false.
    Callback,
}

/// What [`Model::generate`] produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generated {
    /// The new tokens, a final stop id included.
    pub tokens: Vec<u32>,
    pub stop_reason: StopReason,
    /// Length of the prompt.
    pub prompt_tokens: usize,
}

impl Generated {
    /// The new tokens without a final stop id.
    pub fn content_tokens(&self) -> &[u32] {
        match self.stop_reason {
            StopReason::Stop => &self.tokens[..self.tokens.len().saturating_sub(1)],
            _ => &self.tokens,
        }
    }
}

/// `transformers`' `RepetitionPenaltyLogitsProcessor`: each distinct id in `context` has its
/// logit divided by `penalty` when positive (or zero), multiplied when negative. Ids outside the
/// vocabulary are ignored.
pub fn apply_repetition_penalty(logits: &mut [f32], context: &[u32], penalty: f32) {
    let mut seen = vec![false; logits.len()];
    for &id in context {
        let i = id as usize;
        if i < logits.len() && !seen[i] {
            seen[i] = true;
            let x = logits[i];
            logits[i] = if x < 0.0 { x * penalty } else { x / penalty };
        }
    }
}

/// `transformers`' `TemperatureLogitsWarper`: every logit divided by `temperature`.
pub fn apply_temperature(logits: &mut [f32], temperature: f32) {
    logits.iter_mut().for_each(|x| *x /= temperature);
}

/// `transformers`' `TopKLogitsWarper`: logits below the k-th largest become `-inf` (ties with it
/// stay). `k` of 0 or at least the vocabulary changes nothing.
pub fn apply_top_k(logits: &mut [f32], k: usize) {
    if k == 0 || k >= logits.len() {
        return;
    }
    let mut sorted = logits.to_vec();
    sorted.sort_by(|a, b| b.total_cmp(a));
    let kth = sorted[k - 1];
    logits
        .iter_mut()
        .filter(|x| **x < kth)
        .for_each(|x| *x = f32::NEG_INFINITY);
}

/// `transformers`' `TopPLogitsWarper` (min_tokens_to_keep 1): keep the most likely tokens while
/// the mass of the more likely ones is below `top_p` — the smallest set reaching `top_p`, and
/// always the most likely token — and set the rest to `-inf`.
pub fn apply_top_p(logits: &mut [f32], top_p: f32) {
    if logits.is_empty() {
        return;
    }
    let probs = softmax(logits);
    let mut order: Vec<usize> = (0..logits.len()).collect();
    // Least likely first, as transformers sorts; among equal logits the lower index first.
    order.sort_by(|&a, &b| logits[a].total_cmp(&logits[b]).then(a.cmp(&b)));
    // A token goes when the ascending cumulative mass up to it is at most 1 - top_p, i.e. when
    // the more likely tokens alone reach top_p; the most likely token always stays.
    let threshold = 1.0 - f64::from(top_p);
    let last = order.len() - 1;
    let mut cumulative = 0.0f64;
    for (pos, &i) in order.iter().enumerate() {
        cumulative += probs[i];
        if pos < last && cumulative <= threshold {
            logits[i] = f32::NEG_INFINITY;
        }
    }
}

/// Softmax in f64 (`-inf` → 0).
fn softmax(logits: &[f32]) -> Vec<f64> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let e: Vec<f64> = logits
        .iter()
        .map(|&x| (f64::from(x) - f64::from(max)).exp())
        .collect();
    let sum: f64 = e.iter().sum();
    e.into_iter().map(|x| x / sum).collect()
}

/// Index of the largest logit, the first one on ties (torch's argmax).
fn argmax(logits: &[f32]) -> usize {
    let mut best = 0;
    for (i, &x) in logits.iter().enumerate() {
        if x > logits[best] {
            best = i;
        }
    }
    best
}

/// Picks each next token from a logit vector: the processors, then argmax or a seeded draw.
#[derive(Debug, Clone)]
pub struct Sampler {
    cfg: GenerationConfig,
    rng: ChaCha8Rng,
}

impl Sampler {
    pub fn new(cfg: &GenerationConfig) -> Result<Sampler, ModelError> {
        cfg.validate()?;
        Ok(Sampler {
            cfg: cfg.clone(),
            rng: seeded_rng(cfg.seed, "generate"),
        })
    }

    /// Apply the processors to `logits` in `transformers`' order (the repetition penalty over
    /// `context`, then temperature, top-k and top-p when sampling).
    pub fn process(&self, logits: &mut [f32], context: &[u32]) {
        let c = &self.cfg;
        if let Some(p) = c.repetition_penalty.filter(|&p| p != 1.0) {
            apply_repetition_penalty(logits, context, p);
        }
        if !c.is_sampling() {
            return;
        }
        if let Some(t) = c.temperature.filter(|&t| t != 1.0) {
            apply_temperature(logits, t);
        }
        if let Some(k) = c.top_k.filter(|&k| k > 0) {
            apply_top_k(logits, k);
        }
        if let Some(p) = c.top_p.filter(|&p| p < 1.0) {
            apply_top_p(logits, p);
        }
    }

    /// The next token for these logits (processed in place) after `context` (prompt and output
    /// so far). Fails on an empty vector or NaN logits.
    pub fn next_token(&mut self, logits: &mut [f32], context: &[u32]) -> Result<u32, ModelError> {
        if logits.is_empty() {
            return Err(ModelError::Input("no logits to pick a token from".into()));
        }
        if logits.iter().any(|x| x.is_nan()) {
            return Err(ModelError::Input(
                "the model produced NaN logits (overflow in this dtype?)".into(),
            ));
        }
        self.process(logits, context);
        if !self.cfg.is_sampling() {
            return Ok(argmax(logits) as u32);
        }
        Ok(self.draw(logits) as u32)
    }

    /// One draw from `softmax(logits)`.
    fn draw(&mut self, logits: &[f32]) -> usize {
        let probs = softmax(logits);
        let u: f64 = self.rng.random();
        let mut acc = 0.0;
        let mut last_possible = argmax(logits);
        for (i, &p) in probs.iter().enumerate() {
            if p > 0.0 {
                acc += p;
                last_possible = i;
                if u < acc {
                    return i;
                }
            }
        }
        // Rounding left the total a hair under u.
        last_possible
    }
}

impl Model {
    /// Decode after `prompt` with `cfg`, through the KV cache. `on_token` sees every new token
    /// as it is chosen (a stop id too) and returns false to stop there. Generation ends after a
    /// stop id, after `max_new_tokens`, or when the callback says so, whichever comes first (in
    /// that order of precedence for [`Generated::stop_reason`]).
    pub fn generate(
        &self,
        prompt: &[u32],
        cfg: &GenerationConfig,
        mut on_token: impl FnMut(u32) -> bool,
    ) -> Result<Generated, ModelError> {
        if prompt.is_empty() {
            return Err(ModelError::Input("empty prompt".into()));
        }
        let mut sampler = Sampler::new(cfg)?;
        let mut cache = KvCache::new(self);
        let mut context = prompt.to_vec();
        let mut tokens = Vec::new();
        let mut stop_reason = StopReason::MaxTokens;
        let mut next_input = prompt.to_vec();
        while tokens.len() < cfg.max_new_tokens {
            let ids = Tensor::new(next_input.as_slice(), self.device())?.unsqueeze(0)?;
            let logits = self.forward_cached_last(&ids, &mut cache)?;
            let mut logits = logits.i(0)?.to_dtype(DType::F32)?.to_vec1::<f32>()?;
            let next = sampler.next_token(&mut logits, &context)?;
            tokens.push(next);
            context.push(next);
            let go_on = on_token(next);
            if cfg.stop_ids.contains(&next) {
                stop_reason = StopReason::Stop;
                break;
            }
            if !go_on {
                stop_reason = StopReason::Callback;
                break;
            }
            next_input = vec![next];
        }
        Ok(Generated {
            tokens,
            stop_reason,
            prompt_tokens: prompt.len(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_p_keeps_the_smallest_set_reaching_p() {
        // probs ∝ e^x: 0.6439, 0.2369, 0.0871, 0.0321
        let base = [3.0f32, 2.0, 1.0, 0.0];
        let kept = |p: f32| {
            let mut l = base;
            apply_top_p(&mut l, p);
            l.iter().filter(|x| x.is_finite()).count()
        };
        assert_eq!(kept(0.0), 1);
        assert_eq!(kept(0.5), 1);
        assert_eq!(kept(0.65), 2);
        assert_eq!(kept(0.95), 3);
        assert_eq!(kept(0.99), 4);
        assert_eq!(kept(1.0), 4);
    }

    #[test]
    fn top_k_keeps_ties_with_the_kth() {
        let mut l = [1.0f32, 5.0, 3.0, 3.0, -2.0];
        apply_top_k(&mut l, 2);
        assert_eq!(l[1], 5.0);
        assert_eq!((l[2], l[3]), (3.0, 3.0));
        assert!(l[0] == f32::NEG_INFINITY && l[4] == f32::NEG_INFINITY);
    }

    #[test]
    fn repetition_penalty_counts_each_id_once() {
        let mut l = [2.0f32, -2.0, 0.0, 4.0];
        apply_repetition_penalty(&mut l, &[0, 0, 1, 2, 1, 99], 2.0);
        assert_eq!(l, [1.0, -4.0, 0.0, 4.0]);
    }

    #[test]
    fn greedy_ignores_the_warpers_but_not_the_penalty() {
        let cfg = GenerationConfig {
            top_k: Some(1),
            repetition_penalty: Some(10.0),
            ..GenerationConfig::default()
        };
        let mut s = Sampler::new(&cfg).unwrap();
        let mut l = vec![5.0f32, 4.0, 1.0];
        assert_eq!(s.next_token(&mut l, &[0]).unwrap(), 1);
        assert_eq!(l, [0.5, 4.0, 1.0]);
    }

    #[test]
    fn nan_logits_and_bad_settings_are_refused() {
        let mut s = Sampler::new(&GenerationConfig::default()).unwrap();
        assert!(s.next_token(&mut [1.0, f32::NAN], &[]).is_err());
        for cfg in [
            GenerationConfig {
                temperature: Some(-1.0),
                ..Default::default()
            },
            GenerationConfig {
                top_p: Some(1.5),
                ..Default::default()
            },
            GenerationConfig {
                repetition_penalty: Some(0.0),
                ..Default::default()
            },
        ] {
            assert!(Sampler::new(&cfg).is_err(), "{cfg:?}");
        }
    }
}
