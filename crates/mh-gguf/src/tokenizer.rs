//! `tokenizer.ggml.*` metadata from a Hugging Face `tokenizer.json` (+ `tokenizer_config.json`,
//! `config.json`), as llama.cpp's `convert_hf_to_gguf.py` writes it for byte-level BPE
//! tokenizers (`_set_vocab_gpt2` + gguf-py's `SpecialVocab`):
//!
//! * `tokenizer.ggml.model = "gpt2"`; `tokens` indexed by id and padded to the model's
//!   `vocab_size` with `[PAD{id}]` (type UNUSED); `token_type` (INT32): added tokens that are
//!   special (or look special, `<|…|>`) are CONTROL, other added tokens USER_DEFINED, the rest
//!   NORMAL; `merges` as `"a b"` strings (the newer pair form is joined, spaces encoded as `Ġ`);
//! * `tokenizer.ggml.pre`: the name llama.cpp knows for the tokenizer's pre-tokenizer, recognised
//!   from its regexes (the fingerprints Ollama's converter uses) — an unrecognised one is an
//!   error unless the caller names it;
//! * special token ids (UINT32) from `tokenizer_config.json`'s `*_token` entries matched against
//!   the added tokens, then `config.json`'s `*_token_id`; `add_bos_token` / `add_eos_token` from
//!   the post-processor, then `tokenizer_config.json`;
//! * `tokenizer.chat_template` when the caller gives one.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::GgufError;
use crate::types::{MetaValue, ValueType};

pub const TOKEN_NORMAL: i32 = 1;
pub const TOKEN_UNKNOWN: i32 = 2;
pub const TOKEN_CONTROL: i32 = 3;
pub const TOKEN_USER_DEFINED: i32 = 4;
pub const TOKEN_UNUSED: i32 = 5;

/// Pre-tokenizer names llama.cpp accepts that this module can recognise or be told.
pub const KNOWN_PRE: &[&str] = &[
    "default",
    "llama-bpe",
    "qwen2",
    "gpt-2",
    "smollm",
    "deepseek-llm",
    "deepseek-coder",
];

/// SHA-256 of the concatenated `Split` regexes → llama.cpp's name (Ollama's fingerprints,
/// `convert/tokenizer.go`).
const SPLIT_DIGESTS: &[(&str, &str)] = &[
    (
        "d98f9631be1e9607a9848c26c1f9eac1aa9fc21ac6ba82a2fc0741af9780a48f",
        "llama-bpe",
    ),
    (
        "1ff7f41064896984db5d1bb6ff64fa4bc29007d08c1b439e505b7392777a319e",
        "qwen2",
    ),
    (
        "03df5c5863ad70781dcfdef491ead25140f895fe8010964be0daefe27be32b02",
        "deepseek-llm",
    ),
    (
        "21cde974d587f0d54dc8d56b183cc1e6239600172035c68fbd6d4b9f8da0576e",
        "deepseek-coder",
    ),
];

/// The tokenizer part of a model's metadata.
#[derive(Debug, Clone)]
pub struct TokenizerMeta {
    /// `tokenizer.*` key/value pairs in the order they are written.
    pub entries: Vec<(String, MetaValue)>,
    pub pre: String,
    /// Tokens in the tokenizer (before padding to the model's vocabulary size).
    pub tokenizer_tokens: usize,
    /// `[PAD{id}]` entries added to reach the model's vocabulary size.
    pub padded: usize,
    pub merges: usize,
}

/// What the caller decides about the tokenizer metadata.
#[derive(Debug, Clone, Default)]
pub struct TokenizerOptions {
    /// The model's vocabulary size (embedding rows), from `config.json`.
    pub vocab_size: usize,
    /// `tokenizer.chat_template`, when there is one to write.
    pub chat_template: Option<String>,
    /// Use this `tokenizer.ggml.pre` instead of recognising it.
    pub pre: Option<String>,
    /// Write `tokenizer.ggml.add_space_prefix` from `tokenizer_config.json` (llama.cpp's
    /// converter does for the `llama` architecture).
    pub add_space_prefix_key: bool,
}

fn read_json(path: &Path) -> Result<Value, GgufError> {
    let text = std::fs::read_to_string(path).map_err(|e| GgufError::io(path, e))?;
    serde_json::from_str(&text).map_err(|e| GgufError::field(path, "$", e.to_string()))
}

fn has_type(v: &Value, ty: &str) -> bool {
    match v.get("type").and_then(Value::as_str) {
        Some("Sequence") => ["pretokenizers", "decoders", "processors"]
            .iter()
            .filter_map(|k| v.get(*k).and_then(Value::as_array))
            .flatten()
            .any(|x| has_type(x, ty)),
        Some(t) => t == ty,
        None => false,
    }
}

fn pre_tokenizer_parts(v: &Value) -> Vec<&Value> {
    match v.get("type").and_then(Value::as_str) {
        Some("Sequence") => v
            .get("pretokenizers")
            .and_then(Value::as_array)
            .map(|a| a.iter().collect())
            .unwrap_or_default(),
        Some(_) => vec![v],
        None => vec![],
    }
}

/// Recognise the pre-tokenizer of `tokenizer.json` as a name llama.cpp knows.
pub fn detect_pre(tokenizer: &Value) -> Result<&'static str, String> {
    let pre = tokenizer.get("pre_tokenizer").unwrap_or(&Value::Null);
    let parts = pre_tokenizer_parts(pre);
    let mut h = Sha256::new();
    let mut splits = 0;
    for p in &parts {
        if p.get("type").and_then(Value::as_str) == Some("Split") {
            if let Some(re) = p.pointer("/pattern/Regex").and_then(Value::as_str) {
                h.update(re.as_bytes());
                splits += 1;
            }
        }
    }
    if splits > 0 {
        let digest = hex::encode(h.finalize());
        return SPLIT_DIGESTS
            .iter()
            .find(|(d, _)| *d == digest)
            .map(|(_, name)| *name)
            .ok_or_else(|| format!("its Split regexes (sha256 {digest}) are not a pre-tokenizer llama.cpp is known to implement"));
    }
    // No Split: GPT-2's own regex inside ByteLevel, optionally after single-digit splitting.
    let kinds: Vec<(&str, &Value)> = parts
        .iter()
        .filter_map(|p| p.get("type").and_then(Value::as_str).map(|t| (t, *p)))
        .collect();
    let byte_level_regex = |p: &Value| p.get("use_regex").and_then(Value::as_bool).unwrap_or(true);
    match kinds.as_slice() {
        [("ByteLevel", b)] if byte_level_regex(b) => Ok("gpt-2"),
        [("Digits", d), ("ByteLevel", b)]
            if byte_level_regex(b)
                && d.get("individual_digits").and_then(Value::as_bool) == Some(true) =>
        {
            Ok("smollm")
        }
        _ => Err(format!(
            "its pre_tokenizer {} is not one llama.cpp is known to implement",
            serde_json::to_string(pre).unwrap_or_default()
        )),
    }
}

/// llama.cpp's `does_token_look_special`.
fn looks_special(t: &str) -> bool {
    matches!(t, "<pad>" | "<mask>" | "<2mass>" | "[@BOS@]")
        || (t.starts_with("<|") && t.ends_with("|>"))
        || (t.starts_with("<\u{ff5c}") && t.ends_with("\u{ff5c}>"))
        || (t.starts_with("<unused") && t.ends_with('>'))
}

#[derive(Debug)]
struct Added {
    id: usize,
    content: String,
    special: bool,
}

fn token_content(v: &Value) -> Option<&str> {
    match v {
        Value::String(s) => Some(s),
        Value::Object(o) => o.get("content").and_then(Value::as_str),
        _ => None,
    }
}

/// Build the tokenizer metadata for the model in `dir`.
pub fn tokenizer_metadata(dir: &Path, opts: &TokenizerOptions) -> Result<TokenizerMeta, GgufError> {
    let tok_path = dir.join("tokenizer.json");
    if !tok_path.is_file() {
        return Err(GgufError::io(
            &tok_path,
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no tokenizer.json (GGUF export reads the fast tokenizer's file)",
            ),
        ));
    }
    let tok = read_json(&tok_path)?;
    let model = tok
        .get("model")
        .ok_or_else(|| GgufError::field(&tok_path, "model", "missing"))?;
    let model_type = model.get("type").and_then(Value::as_str).unwrap_or("BPE");
    let byte_level = tok
        .get("pre_tokenizer")
        .is_some_and(|p| has_type(p, "ByteLevel"))
        || tok.get("decoder").is_some_and(|d| has_type(d, "ByteLevel"));
    if model_type != "BPE" || !byte_level {
        return Err(GgufError::Unsupported {
            path: tok_path,
            what: "tokenizer".into(),
            value: format!(
                "{model_type}{}",
                if byte_level {
                    ""
                } else {
                    " without a ByteLevel pre-tokenizer/decoder"
                }
            ),
            supported: "byte-level BPE (GPT-2 style: Llama 3, Qwen2/2.5/3, SmolLM, …)".into(),
        });
    }

    let vocab = model
        .get("vocab")
        .and_then(Value::as_object)
        .ok_or_else(|| GgufError::field(&tok_path, "model.vocab", "missing or not an object"))?;
    let n_vocab = opts.vocab_size;
    let mut tokens: Vec<Option<String>> = vec![None; n_vocab];
    let out_of_range = |what: &str, id: u64| {
        GgufError::field(
            &tok_path,
            what,
            format!("token id {id} is outside the model's vocabulary of {n_vocab} (config.json vocab_size)"),
        )
    };
    for (token, id) in vocab {
        let id = id.as_u64().ok_or_else(|| {
            GgufError::field(
                &tok_path,
                format!("model.vocab[{token:?}]"),
                "not a token id",
            )
        })?;
        let slot = tokens
            .get_mut(id as usize)
            .ok_or_else(|| out_of_range("model.vocab", id))?;
        *slot = Some(token.clone());
    }
    let mut added = Vec::new();
    for (i, a) in tok
        .get("added_tokens")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let field = format!("added_tokens[{i}]");
        let id = a
            .get("id")
            .and_then(Value::as_u64)
            .ok_or_else(|| GgufError::field(&tok_path, format!("{field}.id"), "missing"))?;
        let content = a
            .get("content")
            .and_then(Value::as_str)
            .ok_or_else(|| GgufError::field(&tok_path, format!("{field}.content"), "missing"))?;
        let slot = tokens
            .get_mut(id as usize)
            .ok_or_else(|| out_of_range(&field, id))?;
        *slot = Some(content.to_string());
        added.push(Added {
            id: id as usize,
            content: content.to_string(),
            special: a.get("special").and_then(Value::as_bool).unwrap_or(false),
        });
    }
    let added_by_id: HashMap<usize, &Added> = added.iter().map(|a| (a.id, a)).collect();
    let tokenizer_tokens = tokens.iter().filter(|t| t.is_some()).count();
    let mut types = Vec::with_capacity(n_vocab);
    let mut list = Vec::with_capacity(n_vocab);
    let mut padded = 0;
    for (id, t) in tokens.into_iter().enumerate() {
        match t {
            None => {
                list.push(format!("[PAD{id}]"));
                types.push(TOKEN_UNUSED);
                padded += 1;
            }
            Some(t) => {
                types.push(match added_by_id.get(&id) {
                    Some(a) if a.special || looks_special(&t) => TOKEN_CONTROL,
                    Some(_) => TOKEN_USER_DEFINED,
                    None => TOKEN_NORMAL,
                });
                list.push(t);
            }
        }
    }

    let merges = match model.get("merges") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, m) in items.iter().enumerate() {
                match m {
                    Value::String(s) => out.push(s.clone()),
                    Value::Array(pair) if pair.len() == 2 => {
                        let enc = |v: &Value| {
                            v.as_str().map(|s| {
                                s.chars()
                                    .map(|c| if c == ' ' { '\u{120}' } else { c })
                                    .collect::<String>()
                            })
                        };
                        match (enc(&pair[0]), enc(&pair[1])) {
                            (Some(a), Some(b)) => out.push(format!("{a} {b}")),
                            _ => {
                                return Err(GgufError::field(
                                    &tok_path,
                                    format!("model.merges[{i}]"),
                                    "not a pair of strings",
                                ))
                            }
                        }
                    }
                    _ => {
                        return Err(GgufError::field(
                            &tok_path,
                            format!("model.merges[{i}]"),
                            "neither \"a b\" nor [\"a\", \"b\"]",
                        ))
                    }
                }
            }
            out
        }
        Some(_) => return Err(GgufError::field(&tok_path, "model.merges", "not a list")),
    };
    if merges.is_empty() {
        return Err(GgufError::field(
            &tok_path,
            "model.merges",
            "a BPE tokenizer without merges cannot tokenize in llama.cpp",
        ));
    }

    let pre = match &opts.pre {
        Some(p) => p.clone(),
        None => detect_pre(&tok)
            .map_err(|reason| GgufError::Unsupported {
                path: tok_path.clone(),
                what: "pre-tokenizer".into(),
                value: reason,
                supported: format!(
                    "recognised: {}; name another llama.cpp pre-tokenizer explicitly if you know it",
                    KNOWN_PRE.join(", ")
                ),
            })?
            .to_string(),
    };

    // Special tokens and add_*_token, as gguf-py's SpecialVocab reads them.
    let cfg_path = dir.join("tokenizer_config.json");
    let tcfg = if cfg_path.is_file() {
        read_json(&cfg_path)?
    } else {
        Value::Null
    };
    let mut add_special: BTreeMap<&str, bool> = BTreeMap::new();
    if let Some(pp) = tok.get("post_processor").filter(|v| !v.is_null()) {
        let procs: Vec<&Value> = match pp.get("processors").and_then(Value::as_array) {
            Some(list) => list.iter().collect(),
            None => vec![pp],
        };
        let bos_tok = tcfg.get("bos_token").and_then(token_content);
        let eos_tok = tcfg.get("eos_token").and_then(token_content);
        for p in procs {
            match p.get("type").and_then(Value::as_str) {
                Some("ByteLevel") => {
                    add_special.entry("bos").or_insert(false);
                    add_special.entry("eos").or_insert(false);
                }
                Some("TemplateProcessing") => {
                    let single = p.get("single").and_then(Value::as_array);
                    if let Some(single) = single.filter(|s| s.len() > 1) {
                        let special_id = |v: &Value| {
                            v.pointer("/SpecialToken/id")
                                .and_then(Value::as_str)
                                .map(str::to_string)
                        };
                        if let Some(first) = single.first().and_then(special_id) {
                            add_special.insert("bos", Some(first.as_str()) == bos_tok);
                        }
                        if let Some(last) = single.last().and_then(special_id) {
                            add_special.insert("eos", Some(last.as_str()) == eos_tok);
                        }
                    }
                }
                _ => {}
            }
        }
    }
    for typ in ["bos", "eos"] {
        if let Some(b) = tcfg
            .get(format!("add_{typ}_token"))
            .and_then(Value::as_bool)
        {
            add_special.entry(typ).or_insert(b);
        }
    }
    let model_cfg_path = dir.join("config.json");
    let model_cfg = if model_cfg_path.is_file() {
        read_json(&model_cfg_path)?
    } else {
        Value::Null
    };
    let mut ids: Vec<(&str, u32)> = Vec::new();
    for (typ, key) in [
        ("bos", "tokenizer.ggml.bos_token_id"),
        ("eos", "tokenizer.ggml.eos_token_id"),
        ("unk", "tokenizer.ggml.unknown_token_id"),
        ("sep", "tokenizer.ggml.seperator_token_id"),
        ("pad", "tokenizer.ggml.padding_token_id"),
    ] {
        let from_tokenizer = tcfg
            .get(format!("{typ}_token"))
            .and_then(token_content)
            .and_then(|c| added.iter().find(|a| a.content == c))
            .map(|a| a.id as u64);
        let id = from_tokenizer.or_else(|| {
            model_cfg
                .get(format!("{typ}_token_id"))
                .and_then(Value::as_u64)
        });
        if let Some(id) = id.filter(|&id| (id as usize) < n_vocab) {
            ids.push((key, id as u32));
        }
    }

    let mut entries = vec![
        (
            "tokenizer.ggml.model".to_string(),
            MetaValue::string("gpt2"),
        ),
        (
            "tokenizer.ggml.pre".to_string(),
            MetaValue::string(pre.clone()),
        ),
        (
            "tokenizer.ggml.tokens".to_string(),
            MetaValue::strings(list),
        ),
        (
            "tokenizer.ggml.token_type".to_string(),
            MetaValue::i32s(types),
        ),
        (
            "tokenizer.ggml.merges".to_string(),
            MetaValue::Array {
                elem: ValueType::String,
                items: merges.iter().cloned().map(MetaValue::String).collect(),
            },
        ),
    ];
    for (key, id) in ids {
        entries.push((key.to_string(), MetaValue::U32(id)));
    }
    for (typ, v) in &add_special {
        entries.push((
            format!("tokenizer.ggml.add_{typ}_token"),
            MetaValue::Bool(*v),
        ));
    }
    if opts.add_space_prefix_key {
        if let Some(b) = tcfg.get("add_prefix_space").and_then(Value::as_bool) {
            entries.push((
                "tokenizer.ggml.add_space_prefix".to_string(),
                MetaValue::Bool(b),
            ));
        }
    }
    if let Some(t) = &opts.chat_template {
        entries.push((
            "tokenizer.chat_template".to_string(),
            MetaValue::string(t.clone()),
        ));
    }
    Ok(TokenizerMeta {
        entries,
        pre,
        tokenizer_tokens,
        padded,
        merges: merges.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn recognises_pre_tokenizers() {
        let split = |re: &str| {
            json!({"pre_tokenizer": {"type": "Sequence", "pretokenizers": [
                {"type": "Split", "pattern": {"Regex": re}, "behavior": "Isolated", "invert": false},
                {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false}
            ]}})
        };
        let qwen2 = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
        let llama3 = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
        assert_eq!(detect_pre(&split(qwen2)), Ok("qwen2"));
        assert_eq!(detect_pre(&split(llama3)), Ok("llama-bpe"));
        assert!(detect_pre(&split(r"\s+")).is_err());
        let gpt2 = json!({"pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "use_regex": true}});
        assert_eq!(detect_pre(&gpt2), Ok("gpt-2"));
        let smollm = json!({"pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Digits", "individual_digits": true},
            {"type": "ByteLevel", "add_prefix_space": false, "use_regex": true}
        ]}});
        assert_eq!(detect_pre(&smollm), Ok("smollm"));
    }

    #[test]
    fn special_looking_tokens() {
        assert!(looks_special("<|im_end|>"));
        assert!(looks_special("<unused3>"));
        assert!(!looks_special("<think>"));
    }
}
