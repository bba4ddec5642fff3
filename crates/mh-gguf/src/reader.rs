//! Reading GGUF files, safely: every count, length and offset is checked against the bytes that
//! are actually there before anything is allocated or indexed, arithmetic is checked for
//! overflow, and every problem is a [`ParseError`] naming the byte offset — never a panic, an
//! abort or an allocation larger than the file.
//!
//! The checks follow ggml's loader (`src/gguf.cpp`): versions 2 and 3 (version 1 is refused as
//! llama.cpp refuses it), unique keys and tensor names, names under 64 bytes, at most 4
//! dimensions, rows that are whole blocks, `general.alignment` a UINT32 power of two, and tensor
//! data packed in declaration order at aligned offsets inside the file.

use std::collections::HashSet;
use std::fs::File;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::GgufError;
use crate::types::{GgmlType, MetaValue, ValueType};
use crate::writer::{align_up, ALIGNMENT, MAGIC, MAX_DIMS, MAX_TENSOR_NAME};

/// Deepest nesting of arrays accepted (ggml's writer never nests; this only bounds recursion).
pub const MAX_ARRAY_DEPTH: usize = 8;
/// Most metadata values (array items included) one file may hold: 16 Mi, far above real
/// vocabularies (≈ 0.3 M tokens + merges), so memory stays bounded for hostile files of
/// one-byte items.
pub const MAX_METADATA_VALUES: usize = 1 << 24;

/// A malformed file: where and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub offset: u64,
    pub reason: String,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "at byte {}: {}", self.offset, self.reason)
    }
}

impl std::error::Error for ParseError {}

/// One tensor's header entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TensorInfo {
    pub name: String,
    /// ggml order (innermost first).
    pub ne: Vec<u64>,
    #[serde(rename = "type")]
    pub ty: GgmlType,
    /// Offset of the data relative to the data section.
    pub offset: u64,
    pub n_bytes: u64,
}

impl TensorInfo {
    pub fn n_elements(&self) -> u64 {
        self.ne.iter().product()
    }
}

/// The parsed header of a GGUF file.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    pub version: u32,
    /// Key/value pairs in file order.
    pub metadata: Vec<(String, MetaValue)>,
    pub tensors: Vec<TensorInfo>,
    pub alignment: u64,
    /// Absolute offset of the data section.
    pub data_start: u64,
    /// Bytes after the last tensor's data (the file is larger than its contents).
    pub trailing_bytes: u64,
}

impl Header {
    pub fn get(&self, key: &str) -> Option<&MetaValue> {
        self.metadata.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub fn tensor(&self, name: &str) -> Option<&TensorInfo> {
        self.tensors.iter().find(|t| t.name == name)
    }

    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(MetaValue::as_str)
    }
}

struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
    values: usize,
}

impl<'a> Cursor<'a> {
    fn err<T>(&self, reason: impl Into<String>) -> Result<T, ParseError> {
        Err(ParseError {
            offset: self.pos as u64,
            reason: reason.into(),
        })
    }

    fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], ParseError> {
        if n > self.remaining() {
            return self.err(format!(
                "{what} needs {n} bytes, only {} left (truncated file?)",
                self.remaining()
            ));
        }
        let s = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], ParseError> {
        let s = self.take(N, what)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    fn u32(&mut self, what: &str) -> Result<u32, ParseError> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    fn u64(&mut self, what: &str) -> Result<u64, ParseError> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    /// A count of items each at least `min_item` bytes long, bounded by what is left.
    fn count(&mut self, what: &str, min_item: u64) -> Result<usize, ParseError> {
        let at = self.pos;
        let n = self.u64(what)?;
        let fits = n
            .checked_mul(min_item)
            .map(|b| b <= self.remaining() as u64)
            .unwrap_or(false);
        if !fits {
            return Err(ParseError {
                offset: at as u64,
                reason: format!(
                    "{what} {n} cannot fit in the {} bytes left",
                    self.remaining()
                ),
            });
        }
        Ok(n as usize)
    }

    fn string(&mut self, what: &str) -> Result<String, ParseError> {
        let at = self.pos;
        let len = self.count(what, 1)?;
        let raw = self.take(len, what)?;
        String::from_utf8(raw.to_vec()).map_err(|_| ParseError {
            offset: at as u64,
            reason: format!("{what} is not UTF-8"),
        })
    }

    fn value(&mut self, ty: ValueType, depth: usize, key: &str) -> Result<MetaValue, ParseError> {
        self.values += 1;
        if self.values > MAX_METADATA_VALUES {
            return self.err(format!(
                "{key}: more than {MAX_METADATA_VALUES} metadata values in one file"
            ));
        }
        Ok(match ty {
            ValueType::U8 => MetaValue::U8(self.array::<1>(key)?[0]),
            ValueType::I8 => MetaValue::I8(i8::from_le_bytes(self.array(key)?)),
            ValueType::U16 => MetaValue::U16(u16::from_le_bytes(self.array(key)?)),
            ValueType::I16 => MetaValue::I16(i16::from_le_bytes(self.array(key)?)),
            ValueType::U32 => MetaValue::U32(self.u32(key)?),
            ValueType::I32 => MetaValue::I32(i32::from_le_bytes(self.array(key)?)),
            ValueType::F32 => MetaValue::F32(f32::from_le_bytes(self.array(key)?)),
            ValueType::U64 => MetaValue::U64(self.u64(key)?),
            ValueType::I64 => MetaValue::I64(i64::from_le_bytes(self.array(key)?)),
            ValueType::F64 => MetaValue::F64(f64::from_le_bytes(self.array(key)?)),
            ValueType::Bool => {
                let b = self.array::<1>(key)?[0];
                if b > 1 {
                    return self.err(format!("{key}: BOOL byte {b} is neither 0 nor 1"));
                }
                MetaValue::Bool(b == 1)
            }
            ValueType::String => MetaValue::String(self.string(key)?),
            ValueType::Array => {
                if depth >= MAX_ARRAY_DEPTH {
                    return self.err(format!(
                        "{key}: arrays nested deeper than {MAX_ARRAY_DEPTH}"
                    ));
                }
                let elem = self.value_type(key)?;
                // Strings take at least their 8-byte length, arrays their type and count.
                let min =
                    elem.fixed_size()
                        .unwrap_or(if elem == ValueType::String { 8 } else { 12 });
                let n = self.count(&format!("{key}: array length"), min)?;
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    items.push(self.value(elem, depth + 1, key)?);
                }
                MetaValue::Array { elem, items }
            }
        })
    }

    fn value_type(&mut self, key: &str) -> Result<ValueType, ParseError> {
        let at = self.pos;
        let id = self.u32(key)?;
        ValueType::from_id(id).ok_or_else(|| ParseError {
            offset: at as u64,
            reason: format!("{key}: unknown value type {id}"),
        })
    }
}

/// Parse the header of the GGUF file whose bytes are `bytes`, checking that every tensor's data
/// lies inside them.
pub fn parse(bytes: &[u8]) -> Result<Header, ParseError> {
    let mut c = Cursor {
        bytes,
        pos: 0,
        values: 0,
    };
    let magic = c.array::<4>("magic")?;
    if magic != MAGIC {
        return Err(ParseError {
            offset: 0,
            reason: format!("magic {magic:02x?} is not \"GGUF\""),
        });
    }
    let version = c.u32("version")?;
    match version {
        2 | 3 => {}
        1 => return c.err("GGUF version 1 is no longer supported by llama.cpp"),
        v => return c.err(format!("unknown GGUF version {v} (2 and 3 are read)")),
    }
    // A tensor info is at least name length 8 + n_dims 4 + one dim 8 + type 4 + offset 8; a KV
    // pair at least key length 8 + type 4 + one byte.
    let n_tensors = c.count("tensor count", 32)?;
    let n_kv = c.count("metadata count", 13)?;

    let mut metadata = Vec::with_capacity(n_kv);
    let mut keys = HashSet::with_capacity(n_kv);
    let mut alignment = ALIGNMENT;
    for _ in 0..n_kv {
        let at = c.pos;
        let key = c.string("metadata key")?;
        if key.is_empty() {
            return c.err("empty metadata key");
        }
        if !keys.insert(key.clone()) {
            return Err(ParseError {
                offset: at as u64,
                reason: format!("duplicate metadata key {key}"),
            });
        }
        let ty = c.value_type(&key)?;
        let value = c.value(ty, 0, &key)?;
        if key == "general.alignment" {
            match value {
                MetaValue::U32(a) if a.is_power_of_two() => alignment = u64::from(a),
                ref other => {
                    return Err(ParseError {
                        offset: at as u64,
                        reason: format!(
                            "general.alignment must be a UINT32 power of two, found {other:?}"
                        ),
                    })
                }
            }
        }
        metadata.push((key, value));
    }

    let mut tensors: Vec<TensorInfo> = Vec::with_capacity(n_tensors);
    let mut names = HashSet::with_capacity(n_tensors);
    for _ in 0..n_tensors {
        let at = c.pos as u64;
        let name = c.string("tensor name")?;
        let fail = |reason: String| ParseError {
            offset: at,
            reason: format!("tensor {name:?}: {reason}"),
        };
        if name.is_empty() || name.len() > MAX_TENSOR_NAME {
            return Err(fail(format!("name must be 1..={MAX_TENSOR_NAME} bytes")));
        }
        if !names.insert(name.clone()) {
            return Err(fail("duplicate tensor name".into()));
        }
        let n_dims = c.u32("n_dims")? as usize;
        if n_dims == 0 || n_dims > MAX_DIMS {
            return Err(fail(format!(
                "{n_dims} dimensions (1..={MAX_DIMS} allowed)"
            )));
        }
        let mut ne = Vec::with_capacity(n_dims);
        for _ in 0..n_dims {
            let d = c.u64("dimension")?;
            if d > i64::MAX as u64 {
                return Err(fail(format!("dimension {d} is negative as int64")));
            }
            ne.push(d);
        }
        let type_id = c.u32("tensor type")?;
        let ty = GgmlType::from_id(type_id)
            .ok_or_else(|| fail(format!("unknown ggml type {type_id}")))?;
        ne.iter()
            .try_fold(1u64, |acc, &d| acc.checked_mul(d))
            .filter(|&n| n <= i64::MAX as u64)
            .ok_or_else(|| fail(format!("{ne:?} has more than 2^63 elements")))?;
        let n_bytes = ty.tensor_bytes(&ne).ok_or_else(|| {
            fail(format!(
                "row length {} is not a multiple of {}'s block size {} (or the size overflows)",
                ne[0],
                ty,
                ty.block_size()
            ))
        })?;
        let offset = c.u64("tensor offset")?;
        tensors.push(TensorInfo {
            name,
            ne,
            ty,
            offset,
            n_bytes,
        });
    }

    let header_end = c.pos as u64;
    let data_start = align_up(header_end, alignment).ok_or(ParseError {
        offset: header_end,
        reason: "data section start overflows".into(),
    })?;
    let file_len = bytes.len() as u64;
    if !tensors.is_empty() && data_start > file_len {
        return Err(ParseError {
            offset: header_end,
            reason: format!(
                "padding to the {alignment}-byte data section runs past the end of the {file_len}-byte file"
            ),
        });
    }
    // Data is packed in declaration order: each tensor starts where the previous one's padded
    // data ends (what ggml's loader requires).
    let mut expected = 0u64;
    for t in &tensors {
        let bad = |reason: String| ParseError {
            offset: data_start.saturating_add(t.offset),
            reason: format!("tensor {:?}: {reason}", t.name),
        };
        if !t.offset.is_multiple_of(alignment) {
            return Err(bad(format!(
                "offset {} is not a multiple of the alignment {alignment}",
                t.offset
            )));
        }
        if t.offset != expected {
            return Err(bad(format!(
                "offset {} where {expected} was expected (tensors must be packed in order)",
                t.offset
            )));
        }
        let end = data_start
            .checked_add(t.offset)
            .and_then(|o| o.checked_add(t.n_bytes))
            .ok_or_else(|| bad("data end overflows".into()))?;
        if end > file_len {
            return Err(bad(format!(
                "data ends at byte {end}, past the end of the {file_len}-byte file (truncated?)"
            )));
        }
        expected = t
            .offset
            .checked_add(t.n_bytes)
            .and_then(|o| align_up(o, alignment))
            .ok_or_else(|| bad("data end overflows".into()))?;
    }
    let used = match tensors.last() {
        Some(t) => data_start + t.offset + t.n_bytes,
        None => header_end,
    };
    Ok(Header {
        version,
        metadata,
        tensors,
        alignment,
        data_start,
        trailing_bytes: file_len.saturating_sub(used),
    })
}

/// A GGUF file mapped into memory with its parsed header.
pub struct GgufFile {
    path: PathBuf,
    map: memmap2::Mmap,
    header: Header,
}

impl GgufFile {
    /// Open and parse `path`.
    pub fn open(path: &Path) -> Result<GgufFile, GgufError> {
        let file = File::open(path).map_err(|e| GgufError::io(path, e))?;
        // SAFETY: the mapping is read-only; as with every mmap-based model loader we rely on the
        // file not being truncated or rewritten while it is open. All reads go through `parse`'s
        // bounds-checked offsets.
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| GgufError::io(path, e))?;
        let header = parse(&map).map_err(|e| GgufError::Format {
            path: path.to_path_buf(),
            offset: e.offset,
            reason: e.reason,
        })?;
        Ok(GgufFile {
            path: path.to_path_buf(),
            map,
            header,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn header(&self) -> &Header {
        &self.header
    }

    pub fn file_size(&self) -> u64 {
        self.map.len() as u64
    }

    /// The raw bytes of a tensor's data (bounds were checked by the parser).
    pub fn tensor_data(&self, t: &TensorInfo) -> &[u8] {
        let start = (self.header.data_start + t.offset) as usize;
        self.map
            .get(start..start + t.n_bytes as usize)
            .unwrap_or(&[])
    }

    /// A tensor's values as f32 (dequantized), for the types [`crate::quant`] can decode.
    pub fn tensor_f32(&self, name: &str) -> Result<Vec<f32>, GgufError> {
        let t = self
            .header
            .tensor(name)
            .ok_or_else(|| GgufError::tensor(name, format!("not in {}", self.path.display())))?;
        crate::quant::dequantize(t.ty, self.tensor_data(t), t.n_elements() as usize)
            .map_err(|reason| GgufError::tensor(name, reason))
    }
}
