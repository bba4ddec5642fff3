//! A streaming GGUF v3 writer.
//!
//! The header (metadata and tensor infos) is computed up front from the tensors' names, shapes and
//! types; tensor data is then streamed in the declared order, in pieces of any size, and padded to
//! the alignment. [`write_file`] writes through a temp file beside the target, fsyncs and renames
//! it (mh-profile's atomic write), so a reader never sees a half-written model.
//!
//! Layout (ggml `docs/gguf.md`): magic `GGUF`, version 3, tensor count and KV count (u64), the KV
//! pairs, the tensor infos (name, n_dims, dims innermost first, type, offset), zero padding to the
//! alignment, then the tensor data, every tensor starting at a multiple of the alignment.

use std::collections::HashSet;
use std::io::Write;
use std::path::Path;

use crate::error::GgufError;
use crate::types::{GgmlType, MetaValue};

pub const MAGIC: [u8; 4] = *b"GGUF";
pub const VERSION: u32 = 3;
/// `GGUF_DEFAULT_ALIGNMENT`; what we write as `general.alignment`.
pub const ALIGNMENT: u64 = 32;
/// llama.cpp refuses tensor names of `GGML_MAX_NAME` (64) bytes or more.
pub const MAX_TENSOR_NAME: usize = 63;
/// `GGML_MAX_DIMS`.
pub const MAX_DIMS: usize = 4;

/// One tensor as declared in the header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorSpec {
    pub name: String,
    /// Dimensions in ggml order (innermost first): a PyTorch `[out, in]` weight is `[in, out]`.
    pub ne: Vec<u64>,
    pub ty: GgmlType,
}

impl TensorSpec {
    pub fn new(name: impl Into<String>, ne: Vec<u64>, ty: GgmlType) -> TensorSpec {
        TensorSpec {
            name: name.into(),
            ne,
            ty,
        }
    }

    /// Bytes of the tensor's data.
    pub fn n_bytes(&self) -> Result<u64, GgufError> {
        self.ty.tensor_bytes(&self.ne).ok_or_else(|| {
            GgufError::tensor(
                &self.name,
                format!(
                    "shape {:?} does not fit type {} (row length must be a multiple of {}) or is too large",
                    self.ne,
                    self.ty,
                    self.ty.block_size()
                ),
            )
        })
    }
}

/// The serialized header and where each tensor's data goes.
#[derive(Debug, Clone)]
pub struct Layout {
    pub header: Vec<u8>,
    pub alignment: u64,
    /// Start of the data section (the header padded to the alignment).
    pub data_start: u64,
    /// Offset of each tensor's data relative to `data_start`.
    pub offsets: Vec<u64>,
    pub sizes: Vec<u64>,
    /// Size of the whole file.
    pub file_size: u64,
}

pub fn align_up(x: u64, alignment: u64) -> Option<u64> {
    let rem = x % alignment;
    if rem == 0 {
        Some(x)
    } else {
        x.checked_add(alignment - rem)
    }
}

fn bad(reason: impl Into<String>) -> GgufError {
    GgufError::Input(reason.into())
}

/// Serialize the header for `metadata` and `tensors`, checking them as llama.cpp's loader would.
pub fn layout(
    metadata: &[(String, MetaValue)],
    tensors: &[TensorSpec],
) -> Result<Layout, GgufError> {
    let mut alignment = ALIGNMENT;
    let mut keys = HashSet::new();
    for (key, value) in metadata {
        if key.is_empty() || key.len() > u16::MAX as usize || !key.is_ascii() {
            return Err(bad(format!(
                "metadata key {key:?} must be 1..=65535 ASCII bytes"
            )));
        }
        if !keys.insert(key.as_str()) {
            return Err(bad(format!("metadata key {key} is given twice")));
        }
        check_value(key, value, 0)?;
        if key == "general.alignment" {
            match value {
                MetaValue::U32(a) if a.is_power_of_two() => alignment = u64::from(*a),
                other => {
                    return Err(bad(format!(
                        "general.alignment must be a UINT32 power of two, not {other:?}"
                    )))
                }
            }
        }
    }

    let mut names = HashSet::new();
    let mut sizes = Vec::with_capacity(tensors.len());
    for t in tensors {
        if t.name.is_empty() || t.name.len() > MAX_TENSOR_NAME {
            return Err(GgufError::tensor(
                &t.name,
                format!("name must be 1..={MAX_TENSOR_NAME} bytes"),
            ));
        }
        if !names.insert(t.name.as_str()) {
            return Err(GgufError::tensor(&t.name, "declared twice"));
        }
        if t.ne.is_empty() || t.ne.len() > MAX_DIMS {
            return Err(GgufError::tensor(
                &t.name,
                format!("{} dimensions (1..={MAX_DIMS} allowed)", t.ne.len()),
            ));
        }
        if t.ne.contains(&0) {
            return Err(GgufError::tensor(
                &t.name,
                format!("empty dimension in {:?}", t.ne),
            ));
        }
        sizes.push(t.n_bytes()?);
    }

    let mut h = Vec::with_capacity(1 << 16);
    h.extend_from_slice(&MAGIC);
    h.extend_from_slice(&VERSION.to_le_bytes());
    h.extend_from_slice(&(tensors.len() as u64).to_le_bytes());
    h.extend_from_slice(&(metadata.len() as u64).to_le_bytes());
    for (key, value) in metadata {
        put_string(&mut h, key);
        h.extend_from_slice(&value.value_type().id().to_le_bytes());
        put_value(&mut h, value);
    }
    let mut offsets = Vec::with_capacity(tensors.len());
    let mut offset = 0u64;
    for (t, &size) in tensors.iter().zip(&sizes) {
        put_string(&mut h, &t.name);
        h.extend_from_slice(&(t.ne.len() as u32).to_le_bytes());
        for d in &t.ne {
            h.extend_from_slice(&d.to_le_bytes());
        }
        h.extend_from_slice(&t.ty.id().to_le_bytes());
        h.extend_from_slice(&offset.to_le_bytes());
        offsets.push(offset);
        offset = offset
            .checked_add(size)
            .and_then(|o| align_up(o, alignment))
            .ok_or_else(|| bad("tensor data larger than 2^64 bytes"))?;
    }
    let data_start = align_up(h.len() as u64, alignment).ok_or_else(|| bad("header too large"))?;
    let file_size = match (offsets.last(), sizes.last()) {
        (Some(&o), Some(&s)) => data_start + o + s,
        _ => data_start,
    };
    Ok(Layout {
        header: h,
        alignment,
        data_start,
        offsets,
        sizes,
        file_size,
    })
}

fn check_value(key: &str, value: &MetaValue, depth: usize) -> Result<(), GgufError> {
    if let MetaValue::Array { elem, items } = value {
        if depth >= crate::reader::MAX_ARRAY_DEPTH {
            return Err(bad(format!("{key}: arrays nested too deeply")));
        }
        for item in items {
            if item.value_type() != *elem {
                return Err(bad(format!(
                    "{key}: array of {} holds a {}",
                    elem.name(),
                    item.value_type().name()
                )));
            }
            check_value(key, item, depth + 1)?;
        }
    }
    Ok(())
}

fn put_string(h: &mut Vec<u8>, s: &str) {
    h.extend_from_slice(&(s.len() as u64).to_le_bytes());
    h.extend_from_slice(s.as_bytes());
}

fn put_value(h: &mut Vec<u8>, v: &MetaValue) {
    match v {
        MetaValue::U8(x) => h.push(*x),
        MetaValue::I8(x) => h.extend_from_slice(&x.to_le_bytes()),
        MetaValue::U16(x) => h.extend_from_slice(&x.to_le_bytes()),
        MetaValue::I16(x) => h.extend_from_slice(&x.to_le_bytes()),
        MetaValue::U32(x) => h.extend_from_slice(&x.to_le_bytes()),
        MetaValue::I32(x) => h.extend_from_slice(&x.to_le_bytes()),
        MetaValue::F32(x) => h.extend_from_slice(&x.to_le_bytes()),
        MetaValue::Bool(x) => h.push(u8::from(*x)),
        MetaValue::String(s) => put_string(h, s),
        MetaValue::Array { elem, items } => {
            h.extend_from_slice(&elem.id().to_le_bytes());
            h.extend_from_slice(&(items.len() as u64).to_le_bytes());
            // A nested array item writes its own element type and count.
            for item in items {
                put_value(h, item);
            }
        }
        MetaValue::U64(x) => h.extend_from_slice(&x.to_le_bytes()),
        MetaValue::I64(x) => h.extend_from_slice(&x.to_le_bytes()),
        MetaValue::F64(x) => h.extend_from_slice(&x.to_le_bytes()),
    }
}

/// Writes the header, then accepts tensor data in declaration order.
pub struct StreamWriter<W: Write> {
    w: W,
    layout: Layout,
    names: Vec<String>,
    /// Index of the tensor being written.
    current: usize,
    /// Bytes of the current tensor written so far.
    filled: u64,
}

impl<W: Write> StreamWriter<W> {
    /// Write the header of a file holding `tensors` and `metadata` to `w`.
    pub fn new(
        mut w: W,
        metadata: &[(String, MetaValue)],
        tensors: &[TensorSpec],
    ) -> Result<StreamWriter<W>, WriteError> {
        let layout = layout(metadata, tensors).map_err(WriteError::Gguf)?;
        w.write_all(&layout.header)?;
        let pad = layout.data_start - layout.header.len() as u64;
        write_zeros(&mut w, pad)?;
        let mut s = StreamWriter {
            w,
            layout,
            names: tensors.iter().map(|t| t.name.clone()).collect(),
            current: 0,
            filled: 0,
        };
        s.skip_empty()?;
        Ok(s)
    }

    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The tensor the next bytes belong to, if any is still open.
    pub fn current_tensor(&self) -> Option<&str> {
        self.names.get(self.current).map(String::as_str)
    }

    /// Append data of the current tensor; a piece may end a tensor but not run past it.
    pub fn write(&mut self, mut bytes: &[u8]) -> Result<(), WriteError> {
        while !bytes.is_empty() {
            let Some(&size) = self.layout.sizes.get(self.current) else {
                return Err(WriteError::Gguf(bad(format!(
                    "{} bytes of tensor data after the last tensor",
                    bytes.len()
                ))));
            };
            let room = size - self.filled;
            let take = room.min(bytes.len() as u64) as usize;
            self.w.write_all(&bytes[..take])?;
            self.filled += take as u64;
            bytes = &bytes[take..];
            if self.filled == size {
                self.close_current()?;
            }
        }
        Ok(())
    }

    fn close_current(&mut self) -> Result<(), WriteError> {
        let end = self.layout.offsets[self.current] + self.layout.sizes[self.current];
        if self.current + 1 < self.layout.offsets.len() {
            let next = self.layout.offsets[self.current + 1];
            write_zeros(&mut self.w, next - end)?;
        }
        self.current += 1;
        self.filled = 0;
        self.skip_empty()
    }

    fn skip_empty(&mut self) -> Result<(), WriteError> {
        // Zero-sized tensors cannot exist (dimensions are positive), kept for robustness.
        while self.layout.sizes.get(self.current) == Some(&0) {
            self.current += 1;
        }
        Ok(())
    }

    /// Check every tensor was written in full and return the inner writer.
    pub fn finish(self) -> Result<W, WriteError> {
        if let Some(name) = self.names.get(self.current) {
            return Err(WriteError::Gguf(GgufError::tensor(
                name,
                format!(
                    "only {} of {} bytes were written",
                    self.filled, self.layout.sizes[self.current]
                ),
            )));
        }
        Ok(self.w)
    }
}

fn write_zeros<W: Write>(w: &mut W, n: u64) -> std::io::Result<()> {
    const ZEROS: [u8; 64] = [0; 64];
    let mut left = n;
    while left > 0 {
        let k = left.min(ZEROS.len() as u64) as usize;
        w.write_all(&ZEROS[..k])?;
        left -= k as u64;
    }
    Ok(())
}

/// An error while streaming: the format's or the sink's.
#[derive(Debug)]
pub enum WriteError {
    Gguf(GgufError),
    Io(std::io::Error),
}

impl From<std::io::Error> for WriteError {
    fn from(e: std::io::Error) -> Self {
        WriteError::Io(e)
    }
}

impl From<GgufError> for WriteError {
    fn from(e: GgufError) -> Self {
        WriteError::Gguf(e)
    }
}

impl WriteError {
    pub(crate) fn at(self, path: &Path) -> GgufError {
        match self {
            WriteError::Gguf(e) => e,
            WriteError::Io(e) => GgufError::io(path, e),
        }
    }
}

/// Write a GGUF file atomically: `fill` streams the tensor data into the writer in declaration
/// order. On any error the target is left as it was and the temp file is removed.
pub fn write_file<F>(
    path: &Path,
    metadata: &[(String, MetaValue)],
    tensors: &[TensorSpec],
    fill: F,
) -> Result<Layout, GgufError>
where
    F: FnOnce(&mut StreamWriter<&mut dyn Write>) -> Result<(), WriteError>,
{
    // Check the header before creating anything.
    let layout = layout(metadata, tensors)?;
    let mut failure: Option<WriteError> = None;
    let result = mh_profile::atomic_write_with(path, |w| {
        let file: &std::fs::File = w.get_ref();
        let mut sink = Writeback::new(w, file);
        let run = (|| {
            let mut sw = StreamWriter::new(&mut sink as &mut dyn Write, metadata, tensors)?;
            fill(&mut sw)?;
            sw.finish()?;
            Ok::<(), WriteError>(())
        })();
        match run {
            Ok(()) => Ok(()),
            Err(WriteError::Io(e)) => Err(e),
            Err(other) => {
                failure = Some(other);
                Err(std::io::Error::other("GGUF write aborted"))
            }
        }
    });
    match (result, failure) {
        (_, Some(e)) => Err(e.at(path)),
        (Err(e), None) => Err(GgufError::io(path, e)),
        (Ok(()), None) => Ok(layout),
    }
}

/// Starts the kernel's writeback of every finished 64 MiB while the rest is still being
/// produced (`sync_file_range(SYNC_FILE_RANGE_WRITE)`, Linux), so the final fsync of the
/// atomic write finds little left to do. A hint only: failures are ignored, durability still
/// comes from that fsync.
struct Writeback<'a, W: Write> {
    inner: &'a mut W,
    #[cfg(target_os = "linux")]
    fd: std::os::fd::RawFd,
    written: u64,
    started: u64,
}

const WRITEBACK_STEP: u64 = 64 << 20;

impl<'a, W: Write> Writeback<'a, W> {
    fn new(inner: &'a mut W, file: &std::fs::File) -> Self {
        #[cfg(not(target_os = "linux"))]
        let _ = file;
        Writeback {
            inner,
            #[cfg(target_os = "linux")]
            fd: std::os::fd::AsRawFd::as_raw_fd(file),
            written: 0,
            started: 0,
        }
    }

    fn start_writeback(&mut self) -> std::io::Result<()> {
        self.inner.flush()?;
        #[cfg(target_os = "linux")]
        // SAFETY: `fd` belongs to the file `inner` writes to, open for the whole write; the
        // call only asks the kernel to begin writing back that byte range.
        unsafe {
            libc::sync_file_range(
                self.fd,
                self.started as libc::off64_t,
                (self.written - self.started) as libc::off64_t,
                libc::SYNC_FILE_RANGE_WRITE,
            );
        }
        self.started = self.written;
        Ok(())
    }
}

impl<W: Write> Write for Writeback<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.written += n as u64;
        if self.written - self.started >= WRITEBACK_STEP {
            self.start_writeback()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::ValueType;

    fn spec(name: &str, ne: &[u64], ty: GgmlType) -> TensorSpec {
        TensorSpec::new(name, ne.to_vec(), ty)
    }

    #[test]
    fn offsets_are_aligned_and_header_is_padded() {
        let meta = vec![(
            "general.architecture".to_string(),
            MetaValue::string("llama"),
        )];
        let tensors = vec![
            spec("a", &[3], GgmlType::F32),
            spec("b", &[32, 2], GgmlType::Q8_0),
        ];
        let l = layout(&meta, &tensors).unwrap();
        assert_eq!(l.offsets, vec![0, 32]);
        assert_eq!(l.sizes, vec![12, 68]);
        assert_eq!(l.data_start % 32, 0);
        assert_eq!(l.file_size, l.data_start + 32 + 68);
        let mut sw = StreamWriter::new(Vec::new(), &meta, &tensors).unwrap();
        sw.write(&[1; 12]).unwrap();
        sw.write(&[2; 60]).unwrap();
        assert!(sw.write(&[3; 9]).is_err(), "runs past the last tensor");
    }

    #[test]
    fn refuses_what_llama_cpp_refuses() {
        let long = "x".repeat(64);
        assert!(layout(&[], &[spec(&long, &[1], GgmlType::F32)]).is_err());
        assert!(layout(&[], &[spec("a", &[1, 1, 1, 1, 1], GgmlType::F32)]).is_err());
        assert!(layout(&[], &[spec("a", &[33], GgmlType::Q8_0)]).is_err());
        assert!(layout(
            &[],
            &[
                spec("a", &[1], GgmlType::F32),
                spec("a", &[1], GgmlType::F32)
            ]
        )
        .is_err());
        let dup = vec![
            ("k".to_string(), MetaValue::U32(1)),
            ("k".to_string(), MetaValue::U32(2)),
        ];
        assert!(layout(&dup, &[]).is_err());
        let mixed = vec![(
            "k".to_string(),
            MetaValue::Array {
                elem: ValueType::U32,
                items: vec![MetaValue::I32(1)],
            },
        )];
        assert!(layout(&mixed, &[]).is_err());
        let align = vec![("general.alignment".to_string(), MetaValue::U64(32))];
        assert!(layout(&align, &[]).is_err());
    }

    #[test]
    fn unfinished_tensor_is_an_error() {
        let tensors = vec![spec("a", &[4], GgmlType::F32)];
        let mut sw = StreamWriter::new(Vec::new(), &[], &tensors).unwrap();
        sw.write(&[0; 8]).unwrap();
        assert!(sw.finish().is_err());
    }
}
