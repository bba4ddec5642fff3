//! PEFT LoRA adapters on disk: `adapter_model.safetensors` + `adapter_config.json`, the layout
//! `peft`'s `save_pretrained` writes and `PeftModel.from_pretrained`, llama.cpp's
//! `convert_lora_to_gguf.py`, vLLM and mistral.rs read.
//!
//! Keys are `base_model.model.model.layers.N.<self_attn|mlp>.<proj>.lora_{A,B}.weight`, A
//! `(r, in)`, B `(out, r)`, header metadata `{"format":"pt"}`.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::error::{read_json, ModelError};
use crate::lora::{lora_scale, LoraConfig, TargetModule};
use crate::model::Model;

pub const ADAPTER_WEIGHTS: &str = "adapter_model.safetensors";
pub const ADAPTER_CONFIG: &str = "adapter_config.json";
/// `PeftModel` → `LoraModel` → the HF model: the prefix PEFT puts before HF module names.
const KEY_PREFIX: &str = "base_model.model.";

/// The `adapter_config.json` fields that decide the adapter's math.
#[derive(Debug, Clone, PartialEq)]
pub struct AdapterConfig {
    pub r: usize,
    pub lora_alpha: f64,
    pub lora_dropout: f64,
    pub use_rslora: bool,
    pub target_modules: Vec<TargetModule>,
    pub base_model_name_or_path: Option<String>,
}

impl AdapterConfig {
    pub fn from_lora(cfg: &LoraConfig, base_model_name_or_path: Option<&str>) -> AdapterConfig {
        let mut targets = cfg.targets.clone();
        targets.sort();
        targets.dedup();
        AdapterConfig {
            r: cfg.r,
            lora_alpha: cfg.alpha,
            lora_dropout: f64::from(cfg.dropout),
            use_rslora: cfg.use_rslora,
            target_modules: targets,
            base_model_name_or_path: base_model_name_or_path.map(str::to_string),
        }
    }

    /// The factor on `B·A`.
    pub fn scale(&self) -> f64 {
        lora_scale(self.lora_alpha, self.r, self.use_rslora)
    }

    /// The JSON PEFT would write. Only fields PEFT has had since 0.10 are emitted (newer PEFT
    /// fills later ones with defaults; older PEFT refuses keys it does not know), sorted as
    /// `json.dumps(sort_keys=True)` sorts them. `lora_alpha` is an integer when integral
    /// because Ollama's converter reads it into a `uint32`.
    pub fn to_json(&self) -> Value {
        let alpha = if self.lora_alpha.fract() == 0.0 && self.lora_alpha.abs() < 1e15 {
            json!(self.lora_alpha as i64)
        } else {
            json!(self.lora_alpha)
        };
        let targets: Vec<&str> = self.target_modules.iter().map(|t| t.name()).collect();
        let fields: BTreeMap<&str, Value> = BTreeMap::from([
            ("alpha_pattern", json!({})),
            ("auto_mapping", Value::Null),
            (
                "base_model_name_or_path",
                json!(self.base_model_name_or_path),
            ),
            ("bias", json!("none")),
            ("fan_in_fan_out", json!(false)),
            ("inference_mode", json!(true)),
            ("init_lora_weights", json!(true)),
            ("layer_replication", Value::Null),
            ("layers_pattern", Value::Null),
            ("layers_to_transform", Value::Null),
            ("loftq_config", json!({})),
            ("lora_alpha", alpha),
            ("lora_dropout", json!(self.lora_dropout)),
            ("megatron_config", Value::Null),
            ("megatron_core", json!("megatron.core")),
            ("modules_to_save", Value::Null),
            ("peft_type", json!("LORA")),
            ("r", json!(self.r)),
            ("rank_pattern", json!({})),
            ("revision", Value::Null),
            ("target_modules", json!(targets)),
            ("task_type", json!("CAUSAL_LM")),
            ("use_dora", json!(false)),
            ("use_rslora", json!(self.use_rslora)),
        ]);
        Value::Object(
            fields
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        )
    }

    /// Parse and check an `adapter_config.json` value; anything that would change the math in a
    /// way we do not implement is refused, naming the field.
    pub fn from_json(v: &Value, path: &Path) -> Result<AdapterConfig, ModelError> {
        let Some(obj) = v.as_object() else {
            return Err(ModelError::field(path, "$", "expected a JSON object"));
        };
        let field = |k: &str| obj.get(k).filter(|v| !v.is_null());
        let unsupported = |what: &str, value: &Value, supported: &str| ModelError::Unsupported {
            path: path.to_path_buf(),
            what: what.into(),
            value: value.to_string(),
            supported: supported.into(),
        };
        match field("peft_type") {
            Some(Value::String(s)) if s == "LORA" => {}
            Some(other) => return Err(unsupported("peft_type", other, "LORA")),
            None => return Err(ModelError::field(path, "peft_type", "missing")),
        }
        let r = field("r")
            .and_then(Value::as_u64)
            .filter(|&r| r > 0)
            .ok_or_else(|| ModelError::field(path, "r", "missing or not a positive integer"))?
            as usize;
        let lora_alpha = match field("lora_alpha") {
            None => 8.0, // PEFT's default
            Some(v) => v
                .as_f64()
                .filter(|a| a.is_finite() && *a > 0.0)
                .ok_or_else(|| ModelError::field(path, "lora_alpha", "not a positive number"))?,
        };
        let lora_dropout = match field("lora_dropout") {
            None => 0.0,
            Some(v) => v
                .as_f64()
                .filter(|p| (0.0..1.0).contains(p))
                .ok_or_else(|| ModelError::field(path, "lora_dropout", "not a number in [0, 1)"))?,
        };
        let flag = |k: &str| -> Result<bool, ModelError> {
            match field(k) {
                None => Ok(false),
                Some(v) => v
                    .as_bool()
                    .ok_or_else(|| ModelError::field(path, k, "not a boolean")),
            }
        };
        let use_rslora = flag("use_rslora")?;
        for k in ["use_dora", "fan_in_fan_out", "lora_bias", "use_qalora"] {
            if flag(k)? {
                return Err(unsupported(k, &json!(true), "false"));
            }
        }
        if let Some(b) = field("bias") {
            if b != "none" {
                return Err(unsupported("bias", b, "\"none\""));
            }
        }
        for k in ["rank_pattern", "alpha_pattern"] {
            if let Some(p) = field(k) {
                if p.as_object().map(|m| !m.is_empty()).unwrap_or(true) {
                    return Err(unsupported(
                        k,
                        p,
                        "{} (one rank and alpha for every module)",
                    ));
                }
            }
        }
        for k in [
            "modules_to_save",
            "trainable_token_indices",
            "layer_replication",
        ] {
            if let Some(m) = field(k) {
                if m.as_array().map(|a| !a.is_empty()).unwrap_or(true) {
                    return Err(unsupported(k, m, "null"));
                }
            }
        }
        // A regex string or "all-linear" cannot be listed here; the weights decide what is adapted.
        let mut target_modules: Vec<TargetModule> = match field("target_modules") {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(Value::as_str)
                .filter_map(TargetModule::parse)
                .collect(),
            _ => Vec::new(),
        };
        target_modules.sort();
        target_modules.dedup();
        Ok(AdapterConfig {
            r,
            lora_alpha,
            lora_dropout,
            use_rslora,
            target_modules,
            base_model_name_or_path: field("base_model_name_or_path")
                .and_then(Value::as_str)
                .map(str::to_string),
        })
    }
}

/// An adapter in memory: config plus A/B per (layer, module).
#[derive(Debug, Clone)]
pub struct PeftAdapter {
    pub config: AdapterConfig,
    /// (layer, module) → (A `(r, in)`, B `(out, r)`).
    pub tensors: BTreeMap<(usize, TargetModule), (Tensor, Tensor)>,
}

/// What [`write_peft_adapter`] wrote.
#[derive(Debug, Clone)]
pub struct SavedAdapter {
    pub weights: PathBuf,
    pub config: PathBuf,
    /// SHA-256 of `adapter_model.safetensors`.
    pub sha256: String,
    pub tensor_count: usize,
}

/// The safetensors key of a LoRA factor.
pub fn peft_key(layer: usize, module: TargetModule, factor_b: bool) -> String {
    format!(
        "{KEY_PREFIX}model.layers.{layer}.{}.lora_{}.weight",
        module.path(),
        if factor_b { "B" } else { "A" }
    )
}

/// Parse a key back into (layer, module, is B).
fn parse_key(key: &str) -> Option<(usize, TargetModule, bool)> {
    let rest = key
        .strip_prefix(KEY_PREFIX)?
        .strip_prefix("model.layers.")?;
    let (layer, rest) = rest.split_once('.')?;
    let layer: usize = layer.parse().ok()?;
    let (module_path, factor) = if let Some(m) = rest.strip_suffix(".lora_A.weight") {
        (m, false)
    } else {
        (rest.strip_suffix(".lora_B.weight")?, true)
    };
    let module = TargetModule::ALL
        .into_iter()
        .find(|t| t.path() == module_path)?;
    Some((layer, module, factor))
}

impl PeftAdapter {
    /// The model's current LoRA branches as an adapter described by `config`. Every branch must
    /// have rank `config.r` and the scale the config implies.
    pub fn from_model(model: &Model, config: AdapterConfig) -> Result<PeftAdapter, ModelError> {
        let scale = config.scale();
        let mut tensors = BTreeMap::new();
        for (layer, module, branch) in model.lora_branches() {
            let name = format!("model.layers.{layer}.{}", module.path());
            if branch.rank() != config.r {
                return Err(ModelError::Input(format!(
                    "{name}: LoRA rank {} differs from the adapter config's r = {}",
                    branch.rank(),
                    config.r
                )));
            }
            if (branch.scale - scale).abs() > 1e-12 * scale.abs().max(1.0) {
                return Err(ModelError::Input(format!(
                    "{name}: LoRA scale {} differs from the adapter config's {scale}",
                    branch.scale
                )));
            }
            tensors.insert(
                (layer, module),
                (branch.a.as_tensor().clone(), branch.b.as_tensor().clone()),
            );
        }
        Ok(PeftAdapter { config, tensors })
    }
}

/// Write `adapter_model.safetensors` and `adapter_config.json` into `dir` (each atomically).
pub fn write_peft_adapter(dir: &Path, adapter: &PeftAdapter) -> Result<SavedAdapter, ModelError> {
    let weights = dir.join(ADAPTER_WEIGHTS);
    let config = dir.join(ADAPTER_CONFIG);
    let mut named: Vec<(String, Tensor)> = Vec::with_capacity(adapter.tensors.len() * 2);
    for (&(layer, module), (a, b)) in &adapter.tensors {
        named.push((peft_key(layer, module, false), a.contiguous()?));
        named.push((peft_key(layer, module, true), b.contiguous()?));
    }
    let metadata = HashMap::from([("format".to_string(), "pt".to_string())]);
    let bytes = safetensors::serialize(named.iter().map(|(k, t)| (k.as_str(), t)), Some(metadata))
        .map_err(|e| ModelError::Safetensors {
            path: weights.clone(),
            reason: e.to_string(),
        })?;
    mh_profile::atomic_write(&weights, &bytes).map_err(|e| ModelError::io(&weights, e))?;
    let mut text = serde_json::to_string_pretty(&adapter.config.to_json())
        .map_err(|e| ModelError::field(&config, "$", e.to_string()))?;
    text.push('\n');
    mh_profile::atomic_write(&config, text.as_bytes()).map_err(|e| ModelError::io(&config, e))?;
    Ok(SavedAdapter {
        weights,
        config,
        sha256: hex::encode(Sha256::digest(&bytes)),
        tensor_count: named.len(),
    })
}

/// Read a PEFT LoRA adapter directory onto `device` (factors keep their stored dtype).
pub fn read_peft_adapter(dir: &Path, device: &Device) -> Result<PeftAdapter, ModelError> {
    let config_path = dir.join(ADAPTER_CONFIG);
    let raw: Value = read_json(&config_path)?;
    let config = AdapterConfig::from_json(&raw, &config_path)?;
    let weights = dir.join(ADAPTER_WEIGHTS);
    if !weights.is_file() {
        let legacy = dir.join("adapter_model.bin");
        return Err(if legacy.is_file() {
            ModelError::Unsupported {
                path: legacy,
                what: "adapter weights format".into(),
                value: "pickle (adapter_model.bin)".into(),
                supported: ADAPTER_WEIGHTS.into(),
            }
        } else {
            ModelError::io(&weights, std::io::ErrorKind::NotFound.into())
        });
    }
    let loaded =
        candle_core::safetensors::load(&weights, device).map_err(|e| ModelError::Safetensors {
            path: weights.clone(),
            reason: e.to_string(),
        })?;
    let tensor_err = |name: &str, reason: String| ModelError::AdapterTensor {
        path: weights.clone(),
        name: name.into(),
        reason,
    };
    // In name order, so the first problem reported is the same on every run.
    let loaded: BTreeMap<String, Tensor> = loaded.into_iter().collect();
    let mut halves: BTreeMap<(usize, TargetModule), [Option<Tensor>; 2]> = BTreeMap::new();
    for (name, t) in loaded {
        let Some((layer, module, is_b)) = parse_key(&name) else {
            return Err(tensor_err(
                &name,
                "unexpected key: only lora_A/lora_B of the q/k/v/o/gate/up/down projections are supported".into(),
            ));
        };
        if !t.dtype().is_float() {
            return Err(tensor_err(
                &name,
                format!("dtype {:?} is not a float type", t.dtype()),
            ));
        }
        let dims = t.dims().to_vec();
        let rank_ok = match (dims.as_slice(), is_b) {
            ([r, _], false) | ([_, r], true) => *r == config.r,
            _ => false,
        };
        if !rank_ok {
            let expected = if is_b { "(out, r)" } else { "(r, in)" };
            return Err(tensor_err(
                &name,
                format!("shape {dims:?} is not {expected} with r = {}", config.r),
            ));
        }
        halves.entry((layer, module)).or_default()[usize::from(is_b)] = Some(t);
    }
    let mut tensors = BTreeMap::new();
    for ((layer, module), [a, b]) in halves {
        match (a, b) {
            (Some(a), Some(b)) => {
                tensors.insert((layer, module), (a, b));
            }
            (a, _) => {
                let missing = peft_key(layer, module, a.is_some());
                return Err(tensor_err(
                    &missing,
                    "missing (its partner factor is present)".into(),
                ));
            }
        }
    }
    Ok(PeftAdapter { config, tensors })
}

impl Model {
    /// Install an adapter's factors as this model's LoRA branches (trainable `Var`s in the LoRA
    /// dtype). Projections the adapter does not cover keep no branch.
    pub fn apply_peft_adapter(&mut self, adapter: &PeftAdapter) -> Result<(), ModelError> {
        let scale = adapter.config.scale();
        let dropout = adapter.config.lora_dropout as f32;
        let layers = self.layers.len();
        for (&(layer, module), (a, b)) in &adapter.tensors {
            let name = peft_key(layer, module, false);
            let Some(l) = self.layers.get_mut(layer) else {
                return Err(ModelError::Input(format!(
                    "adapter tensor `{name}`: layer {layer} does not exist (the model has {layers})"
                )));
            };
            let proj = l.proj_mut(module);
            let (out, inp) = (proj.out_features(), proj.in_features());
            let (_, a_in) = a.dims2()?;
            let (b_out, _) = b.dims2()?;
            if a_in != inp || b_out != out {
                return Err(ModelError::Input(format!(
                    "adapter for `model.layers.{layer}.{}`: A is {:?}, B is {:?}; the base weight is ({out}, {inp}) (wrong base model?)",
                    module.path(),
                    a.dims(),
                    b.dims()
                )));
            }
        }
        for layer in &mut self.layers {
            for t in TargetModule::ALL {
                layer.proj_mut(t).lora = None;
            }
        }
        for (&(layer, module), (a, b)) in &adapter.tensors {
            self.layers[layer]
                .proj_mut(module)
                .set_lora(a, b, scale, dropout)?;
        }
        Ok(())
    }
}
