//! The weights of a Hugging Face model directory: one `model.safetensors` or the shards
//! `model.safetensors.index.json` lists. Only the headers are parsed up front; tensor bytes are
//! read with positioned reads (`pread`) a chunk of rows at a time, so export holds a bounded
//! window of the model in memory — never the whole file, not even as mapped pages.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use half::slice::HalfFloatSliceExt;
use half::{bf16, f16};
use serde_json::Value;

use crate::error::GgufError;

const SINGLE_FILE: &str = "model.safetensors";
const INDEX_FILE: &str = "model.safetensors.index.json";
/// safetensors' own limit on the JSON header.
const MAX_HEADER: u64 = 100_000_000;

/// Element types we can read as floats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceDtype {
    F32,
    F16,
    BF16,
    F64,
}

impl SourceDtype {
    pub fn size(self) -> usize {
        match self {
            SourceDtype::F16 | SourceDtype::BF16 => 2,
            SourceDtype::F32 => 4,
            SourceDtype::F64 => 8,
        }
    }

    fn parse(s: &str) -> Option<SourceDtype> {
        Some(match s {
            "F32" => SourceDtype::F32,
            "F16" => SourceDtype::F16,
            "BF16" => SourceDtype::BF16,
            "F64" => SourceDtype::F64,
            _ => return None,
        })
    }

    /// Decode little-endian elements of this dtype from `bytes` into `out` as f32.
    pub fn decode_into(self, bytes: &[u8], out: &mut [f32]) {
        match self {
            SourceDtype::F32 => {
                for (o, c) in out.iter_mut().zip(bytes.chunks_exact(4)) {
                    *o = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
                }
            }
            SourceDtype::F16 => {
                let halves: Vec<f16> = bytes
                    .chunks_exact(2)
                    .map(|c| f16::from_bits(u16::from_le_bytes([c[0], c[1]])))
                    .collect();
                halves.convert_to_f32_slice(&mut out[..halves.len()]);
            }
            SourceDtype::BF16 => {
                for (o, c) in out.iter_mut().zip(bytes.chunks_exact(2)) {
                    *o = bf16::from_bits(u16::from_le_bytes([c[0], c[1]])).to_f32();
                }
            }
            SourceDtype::F64 => {
                for (o, c) in out.iter_mut().zip(bytes.chunks_exact(8)) {
                    let mut a = [0u8; 8];
                    a.copy_from_slice(c);
                    *o = f64::from_le_bytes(a) as f32;
                }
            }
        }
    }
}

/// Where a tensor's bytes are.
#[derive(Debug, Clone, Copy)]
pub struct SourceTensor<'a> {
    pub dtype: SourceDtype,
    pub shape: &'a [usize],
    file: &'a File,
    path: &'a Path,
    /// Absolute offset of the data in the file.
    offset: u64,
    pub n_bytes: u64,
}

impl SourceTensor<'_> {
    /// Fill `buf` with the tensor's bytes starting `at` bytes into its data.
    pub fn read_at(&self, at: u64, buf: &mut [u8]) -> Result<(), String> {
        if at + buf.len() as u64 > self.n_bytes {
            return Err(format!(
                "read of {} bytes at {at} runs past the tensor's {} bytes",
                buf.len(),
                self.n_bytes
            ));
        }
        read_exact_at(self.file, buf, self.offset + at)
            .map_err(|e| format!("{}: {e}", self.path.display()))
    }
}

#[cfg(unix)]
fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

#[cfg(windows)]
fn read_exact_at(file: &File, mut buf: &mut [u8], mut offset: u64) -> std::io::Result<()> {
    use std::os::windows::fs::FileExt;
    while !buf.is_empty() {
        match file.seek_read(buf, offset)? {
            0 => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            n => {
                buf = &mut buf[n..];
                offset += n as u64;
            }
        }
    }
    Ok(())
}

struct Entry {
    file: usize,
    dtype: Result<SourceDtype, String>,
    shape: Vec<usize>,
    offset: u64,
    n_bytes: u64,
}

/// The safetensors files of one model directory, headers parsed.
pub struct SourceWeights {
    files: Vec<(PathBuf, File)>,
    entries: BTreeMap<String, Entry>,
}

fn shard_paths(dir: &Path) -> Result<Vec<PathBuf>, GgufError> {
    let single = dir.join(SINGLE_FILE);
    let index = dir.join(INDEX_FILE);
    if single.is_file() {
        return Ok(vec![single]);
    }
    if !index.is_file() {
        return Err(GgufError::io(
            &single,
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("no {SINGLE_FILE} or {INDEX_FILE} in {}", dir.display()),
            ),
        ));
    }
    let text = std::fs::read_to_string(&index).map_err(|e| GgufError::io(&index, e))?;
    let v: Value =
        serde_json::from_str(&text).map_err(|e| GgufError::field(&index, "$", e.to_string()))?;
    let map = v
        .get("weight_map")
        .and_then(Value::as_object)
        .ok_or_else(|| GgufError::field(&index, "weight_map", "missing or not an object"))?;
    let mut names: Vec<&str> = Vec::new();
    for (tensor, file) in map {
        let field = format!("weight_map[{tensor:?}]");
        let file = file
            .as_str()
            .ok_or_else(|| GgufError::field(&index, &field, "not a file name"))?;
        if file.contains('/') || file.contains('\\') || file == ".." || file.is_empty() {
            return Err(GgufError::field(
                &index,
                field,
                format!("shard {file:?} is not a plain file name"),
            ));
        }
        names.push(file);
    }
    names.sort_unstable();
    names.dedup();
    Ok(names.into_iter().map(|n| dir.join(n)).collect())
}

impl SourceWeights {
    pub fn open(dir: &Path) -> Result<SourceWeights, GgufError> {
        let mut files = Vec::new();
        let mut entries = BTreeMap::new();
        for (i, path) in shard_paths(dir)?.into_iter().enumerate() {
            let mut file = File::open(&path).map_err(|e| GgufError::io(&path, e))?;
            let len = file.metadata().map_err(|e| GgufError::io(&path, e))?.len();
            let bad = |reason: String| GgufError::field(&path, "header", reason);
            let mut n = [0u8; 8];
            file.read_exact(&mut n)
                .map_err(|e| GgufError::io(&path, e))?;
            let n = u64::from_le_bytes(n);
            if n > MAX_HEADER || 8 + n > len {
                return Err(bad(format!(
                    "header length {n} does not fit the {len}-byte file"
                )));
            }
            let mut header = vec![0u8; n as usize];
            file.read_exact(&mut header)
                .map_err(|e| GgufError::io(&path, e))?;
            let header: serde_json::Map<String, Value> = serde_json::from_slice(&header)
                .map_err(|e| bad(format!("not a JSON object: {e}")))?;
            let base = 8 + n;
            for (name, info) in header {
                if name == "__metadata__" {
                    continue;
                }
                let dtype_name = info.get("dtype").and_then(Value::as_str).unwrap_or("");
                let shape: Vec<usize> = info
                    .get("shape")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(|d| d.as_u64().map(|d| d as usize))
                            .collect()
                    })
                    .ok_or_else(|| bad(format!("{name}: no shape")))?;
                let offsets: Vec<u64> = info
                    .get("data_offsets")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(Value::as_u64).collect())
                    .unwrap_or_default();
                let [start, end] = offsets[..] else {
                    return Err(bad(format!("{name}: data_offsets is not [start, end]")));
                };
                if start > end || base.checked_add(end).is_none_or(|e| e > len) {
                    return Err(bad(format!(
                        "{name}: data {start}..{end} lies outside the {len}-byte file"
                    )));
                }
                let dtype = SourceDtype::parse(dtype_name).ok_or_else(|| dtype_name.to_string());
                if let Ok(dt) = dtype {
                    let want = shape
                        .iter()
                        .try_fold(dt.size() as u64, |a, &d| a.checked_mul(d as u64));
                    if want != Some(end - start) {
                        return Err(bad(format!(
                            "{name}: {} bytes of data for shape {shape:?} {dtype_name}",
                            end - start
                        )));
                    }
                }
                entries.entry(name).or_insert(Entry {
                    file: i,
                    dtype,
                    shape,
                    offset: base + start,
                    n_bytes: end - start,
                });
            }
            files.push((path, file));
        }
        Ok(SourceWeights { files, entries })
    }

    /// Tensor names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(String::as_str)
    }

    pub fn file_of(&self, name: &str) -> Option<&Path> {
        self.entries
            .get(name)
            .map(|e| self.files[e.file].0.as_path())
    }

    pub fn shape(&self, name: &str) -> Option<&[usize]> {
        self.entries.get(name).map(|e| e.shape.as_slice())
    }

    /// A float tensor; an integer or quantized one is an error naming its dtype.
    pub fn get(&self, name: &str) -> Result<SourceTensor<'_>, GgufError> {
        let e = self
            .entries
            .get(name)
            .ok_or_else(|| GgufError::tensor(name, "not in the model's safetensors files"))?;
        let (path, file) = &self.files[e.file];
        let dtype = e.dtype.clone().map_err(|d| {
            GgufError::tensor(
                name,
                format!(
                    "dtype {d} in {} is not a float type (F32, F16, BF16, F64)",
                    path.display()
                ),
            )
        })?;
        Ok(SourceTensor {
            dtype,
            shape: &e.shape,
            file,
            path,
            offset: e.offset,
            n_bytes: e.n_bytes,
        })
    }
}
