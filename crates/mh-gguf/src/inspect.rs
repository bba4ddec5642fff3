//! A readable and a machine-readable view of a GGUF file: its key/value metadata (with types)
//! and its tensor table, in the manner of gguf-py's `gguf-dump`.

use std::fmt::Write as _;
use std::path::PathBuf;

use serde::Serialize;
use serde_json::{json, Value};

use crate::reader::{GgufFile, TensorInfo};
use crate::types::MetaValue;

/// Array items shown unless the full view is asked for.
pub const ARRAY_PREVIEW: usize = 8;

#[derive(Debug, Clone, Serialize)]
pub struct KvDump {
    pub key: String,
    /// `UINT32`, `STRING`, `ARRAY[STRING]`, …
    #[serde(rename = "type")]
    pub ty: String,
    /// Number of items for arrays, 1 otherwise.
    pub count: usize,
    /// The value; arrays are cut to their first items unless the dump is full.
    pub value: Value,
    /// The array was cut.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Dump {
    pub path: PathBuf,
    pub file_size: u64,
    pub version: u32,
    pub alignment: u64,
    pub data_start: u64,
    pub trailing_bytes: u64,
    pub tensor_count: usize,
    pub tensor_bytes: u64,
    pub metadata: Vec<KvDump>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tensors: Option<Vec<TensorInfo>>,
}

fn type_name(v: &MetaValue) -> String {
    match v {
        MetaValue::Array { elem, items } => {
            let inner = match (elem, items.first()) {
                (crate::types::ValueType::Array, Some(first)) => type_name(first),
                _ => elem.name().to_string(),
            };
            format!("ARRAY[{inner}]")
        }
        other => other.value_type().name().to_string(),
    }
}

fn to_json(v: &MetaValue, limit: Option<usize>) -> (Value, bool) {
    match v {
        MetaValue::U8(x) => (json!(x), false),
        MetaValue::I8(x) => (json!(x), false),
        MetaValue::U16(x) => (json!(x), false),
        MetaValue::I16(x) => (json!(x), false),
        MetaValue::U32(x) => (json!(x), false),
        MetaValue::I32(x) => (json!(x), false),
        MetaValue::U64(x) => (json!(x), false),
        MetaValue::I64(x) => (json!(x), false),
        MetaValue::F32(x) => (json!(x), false),
        MetaValue::F64(x) => (json!(x), false),
        MetaValue::Bool(x) => (json!(x), false),
        MetaValue::String(s) => (json!(s), false),
        MetaValue::Array { items, .. } => {
            let n = limit.map_or(items.len(), |l| l.min(items.len()));
            let vals: Vec<Value> = items[..n].iter().map(|i| to_json(i, limit).0).collect();
            (Value::Array(vals), n < items.len())
        }
    }
}

/// The dump of an open file; `full` keeps whole arrays, `tensors` adds the tensor table.
pub fn dump(file: &GgufFile, full: bool, tensors: bool) -> Dump {
    let h = file.header();
    let limit = if full { None } else { Some(ARRAY_PREVIEW) };
    Dump {
        path: file.path().to_path_buf(),
        file_size: file.file_size(),
        version: h.version,
        alignment: h.alignment,
        data_start: h.data_start,
        trailing_bytes: h.trailing_bytes,
        tensor_count: h.tensors.len(),
        tensor_bytes: h.tensors.iter().map(|t| t.n_bytes).sum(),
        metadata: h
            .metadata
            .iter()
            .map(|(k, v)| {
                let (value, truncated) = to_json(v, limit);
                KvDump {
                    key: k.clone(),
                    ty: type_name(v),
                    count: v.as_array().map_or(1, <[MetaValue]>::len),
                    value,
                    truncated,
                }
            })
            .collect(),
        tensors: tensors.then(|| h.tensors.clone()),
    }
}

/// Text in the layout of `gguf-dump`.
pub fn render(d: &Dump) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "* {}: GGUF v{}, {} bytes, alignment {}, data at byte {}",
        d.path.display(),
        d.version,
        d.file_size,
        d.alignment,
        d.data_start
    );
    if d.trailing_bytes > 0 {
        let _ = writeln!(s, "* {} bytes after the last tensor", d.trailing_bytes);
    }
    let _ = writeln!(s, "* {} key/value pairs:", d.metadata.len());
    for (i, kv) in d.metadata.iter().enumerate() {
        let mut value = match &kv.value {
            Value::String(t) => format!("{t:?}"),
            other => other.to_string(),
        };
        if value.chars().count() > 120 {
            value = value.chars().take(117).collect::<String>() + "...";
        } else if kv.truncated {
            value.push_str(" ...");
        }
        let _ = writeln!(
            s,
            "  {:>5}: {:<16} | {:>8} | {} = {}",
            i + 1,
            kv.ty,
            kv.count,
            kv.key,
            value
        );
    }
    let _ = writeln!(
        s,
        "* {} tensors, {} bytes of tensor data",
        d.tensor_count, d.tensor_bytes
    );
    if let Some(tensors) = &d.tensors {
        for (i, t) in tensors.iter().enumerate() {
            let mut ne: Vec<String> = t.ne.iter().map(u64::to_string).collect();
            ne.resize(4, "1".into());
            let _ = writeln!(
                s,
                "  {:>5}: {:>10} | {:>6}, {:>6}, {:>6}, {:>6} | {:<7} | {}",
                i + 1,
                t.n_elements(),
                ne[0],
                ne[1],
                ne[2],
                ne[3],
                t.ty.name(),
                t.name
            );
        }
    }
    s
}
