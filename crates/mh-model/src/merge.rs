//! Merging a PEFT LoRA adapter into its base model: `W' = W + scale · B·A` for every adapted
//! projection, computed in f32 (f64 for f64 weights) and cast back to the tensor's stored dtype.
//!
//! **In:** a base model directory in Hugging Face layout (`model.safetensors`, or
//! `model.safetensors.index.json` and its shards) and a PEFT adapter directory.
//! **Out:** a model directory in the same layout — the same shard names, the same index, every
//! tensor under the same name, dtype, shape and offset — in which only the adapted projections
//! differ (every other tensor is byte-identical); every other file of the base directory copied
//! (`config.json`, `generation_config.json`, tokenizer files, chat template, …; weights in other
//! formats are not, since they would still be the unmerged model); and [`MERGE_RECORD`]
//! (`merge.json`): the base (directory, hub repo and commit when known), the adapter's SHA-256s
//! and settings, the tensors changed and each written shard's SHA-256 ([`MergeReport`]).
//!
//! One entry point: [`merge_adapter`]. Shards are memory-mapped and streamed in file order;
//! merged tensors go through in blocks of rows, and pages already consumed are released
//! (`MADV_DONTNEED` on Unix), so memory stays near one block, not one model. Everything is written
//! into a temporary directory beside the output and renamed into place at the end: a failure
//! leaves nothing behind. An adapter whose shapes do not fit the base is refused before anything
//! is written, naming the tensor.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use candle_core::{DType, Device, Tensor};
use memmap2::Mmap;
use mh_profile::Progress;
use safetensors::tensor::TensorInfo;
use safetensors::{Dtype as StDtype, SafeTensors};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::error::{read_json, ModelError};
use crate::peft::{peft_key, read_peft_adapter, ADAPTER_CONFIG, ADAPTER_WEIGHTS};
use crate::weights::{INDEX_FILE, SINGLE_FILE};

/// The record of a merge, written beside the merged weights.
pub const MERGE_RECORD: &str = "merge.json";

/// Elements of a merged tensor handled at once (4 MB of f32 per buffer).
const MERGE_BLOCK_ELEMS: usize = 1 << 20;
/// Bytes of an unchanged tensor copied before their pages are released.
const COPY_BLOCK_BYTES: usize = 16 << 20;
/// File extensions of weights in other formats: not copied, they would be the unmerged model.
const OTHER_WEIGHT_EXTENSIONS: [&str; 11] = [
    "safetensors",
    "bin",
    "pt",
    "pth",
    "ckpt",
    "h5",
    "msgpack",
    "gguf",
    "onnx",
    "ot",
    "npz",
];

/// The base model: its directory and, when it came from the hub, where from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MergeBase {
    pub dir: PathBuf,
    /// `owner/name` for hub models.
    pub repo: Option<String>,
    pub revision: Option<String>,
    /// The commit sha of the hub snapshot.
    pub commit: Option<String>,
}

impl MergeBase {
    /// A local directory with no hub identity.
    pub fn dir(dir: impl Into<PathBuf>) -> MergeBase {
        MergeBase {
            dir: dir.into(),
            ..MergeBase::default()
        }
    }
}

/// The adapter that was merged: its files' identity and the settings that decided the math.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MergedAdapter {
    pub dir: PathBuf,
    /// SHA-256 of `adapter_model.safetensors`.
    pub adapter_model_sha256: String,
    /// SHA-256 of `adapter_config.json`.
    pub adapter_config_sha256: String,
    pub r: usize,
    pub lora_alpha: f64,
    pub use_rslora: bool,
    /// The factor on `B·A`: `lora_alpha / r`, or `lora_alpha / √r` with rsLoRA.
    pub scale: f64,
    /// The target modules the adapter's config lists (`q_proj`, …).
    pub target_modules: Vec<String>,
    pub base_model_name_or_path: Option<String>,
}

/// One weights file written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WrittenShard {
    pub file: String,
    pub bytes: u64,
    pub sha256: String,
    pub tensors: usize,
}

/// What [`merge_adapter`] did; also the content of [`MERGE_RECORD`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MergeReport {
    /// `mh-model <version>`.
    pub merged_by: String,
    pub base: MergeBase,
    pub adapter: MergedAdapter,
    pub tensors_total: usize,
    /// The tensors that changed, sorted by name.
    pub tensors_merged: Vec<String>,
    /// The weights files in the output, in the base's order.
    pub weights: Vec<WrittenShard>,
    /// Other files of the base directory copied unchanged, sorted.
    pub copied_files: Vec<String>,
    /// Entries of the base directory not copied (weights in other formats, sub-directories,
    /// hidden files, an earlier merge record), sorted; sub-directories end in `/`.
    pub skipped_files: Vec<String>,
    /// The largest tensor's size in bytes (the yardstick for the merge's memory).
    pub largest_tensor_bytes: u64,
    /// Where the merged model is (not part of the record).
    #[serde(skip)]
    pub out_dir: PathBuf,
}

/// Merge the PEFT adapter in `adapter_dir` into the model in `base.dir`, writing the merged model
/// to `out_dir`, which must not exist or be an empty directory. `progress` counts tensors.
pub fn merge_adapter(
    base: &MergeBase,
    adapter_dir: &Path,
    out_dir: &Path,
    progress: &dyn Progress,
) -> Result<MergeReport, ModelError> {
    check_output(out_dir)?;
    let adapter = read_peft_adapter(adapter_dir, &Device::Cpu)?;
    let adapter_weights = adapter_dir.join(ADAPTER_WEIGHTS);
    let adapter_record = MergedAdapter {
        dir: absolute(adapter_dir),
        adapter_model_sha256: sha256_file(&adapter_weights)?,
        adapter_config_sha256: sha256_file(&adapter_dir.join(ADAPTER_CONFIG))?,
        r: adapter.config.r,
        lora_alpha: adapter.config.lora_alpha,
        use_rslora: adapter.config.use_rslora,
        scale: adapter.config.scale(),
        target_modules: adapter
            .config
            .target_modules
            .iter()
            .map(|t| t.name().to_string())
            .collect(),
        base_model_name_or_path: adapter.config.base_model_name_or_path.clone(),
    };

    let layout = Layout::read(&base.dir)?;
    let shards = layout
        .files
        .iter()
        .map(|f| Shard::open(&base.dir, f))
        .collect::<Result<Vec<_>, _>>()?;
    layout.check_index(&base.dir, &shards)?;

    // Every adapted projection must be a float (out, in) tensor of the base that fits A and B.
    let scale = adapter.config.scale();
    let mut plan: BTreeMap<String, Factors> = BTreeMap::new();
    for (&(layer, module), (a, b)) in &adapter.tensors {
        let name = format!("model.layers.{layer}.{}.weight", module.path());
        let a_key = peft_key(layer, module, false);
        let (_, a_in) = a.dims2()?;
        let (b_out, _) = b.dims2()?;
        let mut found = false;
        for shard in &shards {
            let Some(info) = shard.info(&name) else {
                continue;
            };
            found = true;
            if info.shape != [b_out, a_in] {
                return Err(ModelError::AdapterTensor {
                    path: adapter_weights.clone(),
                    name: a_key,
                    reason: format!(
                        "A is {:?} and B is {:?}, so the adapted weight is [{b_out}, {a_in}]; \
                         the base tensor `{name}` in {} is {:?} (wrong base model?)",
                        a.dims(),
                        b.dims(),
                        shard.path.display(),
                        info.shape
                    ),
                });
            }
            float_dtype(info.dtype).ok_or_else(|| ModelError::Tensor {
                name: name.clone(),
                file: shard.path.clone(),
                reason: format!(
                    "dtype {:?} cannot take a LoRA merge (F16, BF16, F32, F64 can)",
                    info.dtype
                ),
            })?;
        }
        if !found {
            return Err(ModelError::AdapterTensor {
                path: adapter_weights.clone(),
                name: a_key,
                reason: format!(
                    "the base model has no tensor `{name}` (looked in {}; wrong base model?)",
                    layout.files.join(", ")
                ),
            });
        }
        plan.insert(
            name,
            Factors {
                a: a.clone(),
                b: b.clone(),
                scale,
            },
        );
    }

    let tensors_total: usize = shards.iter().map(|s| s.tensors.len()).sum();
    let largest_tensor_bytes = shards
        .iter()
        .flat_map(|s| s.tensors.iter())
        .map(|(_, i)| (i.data_offsets.1 - i.data_offsets.0) as u64)
        .max()
        .unwrap_or(0);

    let staging = Staging::new(out_dir)?;
    progress.start("merge", Some(tensors_total as u64));
    let mut weights = Vec::with_capacity(shards.len());
    for shard in &shards {
        weights.push(shard.write_merged(&staging.dir.join(&shard.name), &plan, progress)?);
    }
    progress.finish();

    let (copied_files, skipped_files) = copy_other_files(&base.dir, &layout, &staging.dir)?;
    let report = MergeReport {
        merged_by: format!("mh-model {}", env!("CARGO_PKG_VERSION")),
        base: MergeBase {
            dir: absolute(&base.dir),
            ..base.clone()
        },
        adapter: adapter_record,
        tensors_total,
        tensors_merged: plan.keys().cloned().collect(),
        weights,
        copied_files,
        skipped_files,
        largest_tensor_bytes,
        out_dir: out_dir.to_path_buf(),
    };
    let record = staging.dir.join(MERGE_RECORD);
    mh_profile::atomic_write_json(&record, &report).map_err(|e| ModelError::io(&record, e))?;
    staging.commit(out_dir)?;
    Ok(report)
}

/// A and B of one projection, with the scale.
struct Factors {
    a: Tensor,
    b: Tensor,
    scale: f64,
}

/// Which weights files a model directory has, as [`crate::Weights::open`] chooses them.
struct Layout {
    /// Weights file names, in the order they are written.
    files: Vec<String>,
    /// The index's weight map, for a sharded model.
    index: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize)]
struct Index {
    weight_map: BTreeMap<String, String>,
}

impl Layout {
    fn read(dir: &Path) -> Result<Layout, ModelError> {
        if dir.join(SINGLE_FILE).is_file() {
            return Ok(Layout {
                files: vec![SINGLE_FILE.to_string()],
                index: None,
            });
        }
        let index_path = dir.join(INDEX_FILE);
        if !index_path.is_file() {
            return Err(ModelError::NoWeights {
                dir: dir.to_path_buf(),
            });
        }
        let index: Index = read_json(&index_path)?;
        let files: BTreeSet<&String> = index.weight_map.values().collect();
        for f in &files {
            // A shard is a file beside the index, never a path elsewhere.
            if f.contains('/') || f.contains('\\') || f.as_str() == ".." || f.is_empty() {
                return Err(ModelError::field(
                    &index_path,
                    "weight_map",
                    format!("shard {f:?} is not a plain file name"),
                ));
            }
        }
        Ok(Layout {
            files: files.into_iter().cloned().collect(),
            index: Some(index.weight_map),
        })
    }

    /// Every tensor the index promises is in the shard it names.
    fn check_index(&self, dir: &Path, shards: &[Shard]) -> Result<(), ModelError> {
        let Some(map) = &self.index else {
            return Ok(());
        };
        for (name, file) in map {
            let present = shards
                .iter()
                .any(|s| &s.name == file && s.info(name).is_some());
            if !present {
                return Err(ModelError::MissingTensor {
                    name: name.clone(),
                    files: dir.join(file).display().to_string(),
                });
            }
        }
        Ok(())
    }

    fn is_weights_file(&self, name: &str) -> bool {
        self.files.iter().any(|f| f == name)
    }
}

/// One mapped safetensors file of the base.
struct Shard {
    name: String,
    path: PathBuf,
    map: Mmap,
    /// Offset of the data section in the file (8 + header length).
    data_start: usize,
    /// Tensors in data order.
    tensors: Vec<(String, TensorInfo)>,
}

impl Shard {
    fn open(dir: &Path, name: &str) -> Result<Shard, ModelError> {
        let path = dir.join(name);
        let file = File::open(&path).map_err(|e| ModelError::io(&path, e))?;
        // SAFETY: the mapping is read-only; like every mmap-based loader we rely on the model
        // file not being truncated or rewritten while it is merged.
        let map = unsafe { Mmap::map(&file) }.map_err(|e| ModelError::io(&path, e))?;
        let bad = |reason: String| ModelError::Safetensors {
            path: path.clone(),
            reason,
        };
        let (header_len, metadata) =
            SafeTensors::read_metadata(&map).map_err(|e| bad(e.to_string()))?;
        let mut tensors: Vec<(String, TensorInfo)> = metadata
            .tensors()
            .into_iter()
            .map(|(n, i)| (n, i.clone()))
            .collect();
        tensors.sort_by_key(|(_, i)| i.data_offsets);
        Ok(Shard {
            name: name.to_string(),
            path,
            map,
            data_start: 8 + header_len,
            tensors,
        })
    }

    fn info(&self, name: &str) -> Option<&TensorInfo> {
        self.tensors.iter().find(|(n, _)| n == name).map(|(_, i)| i)
    }

    /// Write this shard with the planned tensors merged into `dest`: the same tensors at the
    /// same offsets, header metadata `{"format": "pt"}`.
    fn write_merged(
        &self,
        dest: &Path,
        plan: &BTreeMap<String, Factors>,
        progress: &dyn Progress,
    ) -> Result<WrittenShard, ModelError> {
        let io_err = |e: io::Error| ModelError::io(dest, e);
        let file = File::create_new(dest).map_err(io_err)?;
        let mut out = HashingWriter::new(BufWriter::with_capacity(1 << 20, file));
        let header = self.header()?;
        out.write_all(&(header.len() as u64).to_le_bytes())
            .map_err(io_err)?;
        out.write_all(&header).map_err(io_err)?;
        #[cfg(unix)]
        let _ = self.map.advise(memmap2::Advice::Sequential);
        for (name, info) in &self.tensors {
            let start = self.data_start + info.data_offsets.0;
            let end = self.data_start + info.data_offsets.1;
            match plan.get(name) {
                None => {
                    let mut pos = start;
                    while pos < end {
                        let stop = end.min(pos + COPY_BLOCK_BYTES);
                        out.write_all(&self.map[pos..stop]).map_err(io_err)?;
                        self.release(pos, stop);
                        pos = stop;
                    }
                }
                Some(f) => {
                    self.merge_tensor(name, info, start, f, &mut out)
                        .map_err(|e| match e {
                            MergeWriteError::Io(e) => io_err(e),
                            MergeWriteError::Candle(e) => ModelError::Tensor {
                                name: name.clone(),
                                file: self.path.clone(),
                                reason: format!("merging the adapter: {e}"),
                            },
                        })?
                }
            }
            progress.advance(1);
        }
        let (file, sha256, bytes) = out.finish().map_err(io_err)?;
        file.sync_all().map_err(io_err)?;
        Ok(WrittenShard {
            file: self.name.clone(),
            bytes,
            sha256,
            tensors: self.tensors.len(),
        })
    }

    /// `W + scale · B·A` block by block of rows, written in the stored dtype.
    fn merge_tensor(
        &self,
        name: &str,
        info: &TensorInfo,
        start: usize,
        f: &Factors,
        out: &mut impl Write,
    ) -> Result<(), MergeWriteError> {
        let (dtype, rows, cols) = match (float_dtype(info.dtype), info.shape.as_slice()) {
            (Some(d), &[r, c]) => (d, r, c),
            // The plan checked both; reaching here is a bug, reported rather than panicking.
            _ => {
                return Err(MergeWriteError::Candle(candle_core::Error::Msg(format!(
                    "`{name}` is not a 2-D float tensor"
                ))))
            }
        };
        let compute = if dtype == DType::F64 {
            DType::F64
        } else {
            DType::F32
        };
        let a = f.a.to_dtype(compute)?;
        let b = f.b.to_dtype(compute)?;
        let row_bytes = cols * dtype.size_in_bytes();
        let block = (MERGE_BLOCK_ELEMS / cols.max(1)).clamp(1, rows.max(1));
        let mut r0 = 0;
        while r0 < rows {
            let n = block.min(rows - r0);
            let lo = start + r0 * row_bytes;
            let hi = lo + n * row_bytes;
            let w = Tensor::from_raw_buffer(&self.map[lo..hi], dtype, &[n, cols], &Device::Cpu)?
                .to_dtype(compute)?;
            let delta = b.narrow(0, r0, n)?.matmul(&a)?.affine(f.scale, 0.0)?;
            let merged = (w + delta)?.to_dtype(dtype)?;
            out.write_all(&safetensors::View::data(&merged))?;
            self.release(lo, hi);
            r0 += n;
        }
        Ok(())
    }

    /// The header: every tensor as in the base, metadata `{"format": "pt"}`, padded with spaces
    /// to a multiple of 8 bytes as the safetensors writers do.
    fn header(&self) -> Result<Vec<u8>, ModelError> {
        let mut map = serde_json::Map::new();
        map.insert("__metadata__".into(), json!({"format": "pt"}));
        for (name, info) in &self.tensors {
            let v = serde_json::to_value(info).map_err(|e| ModelError::Tensor {
                name: name.clone(),
                file: self.path.clone(),
                reason: e.to_string(),
            })?;
            map.insert(name.clone(), v);
        }
        let mut bytes =
            serde_json::to_vec(&Value::Object(map)).map_err(|e| ModelError::Safetensors {
                path: self.path.clone(),
                reason: e.to_string(),
            })?;
        let pad = (8 - bytes.len() % 8) % 8;
        bytes.extend(std::iter::repeat_n(b' ', pad));
        Ok(bytes)
    }

    /// Drop the pages of `[from, to)` from this process's memory (they stay in the page cache).
    fn release(&self, from: usize, to: usize) {
        #[cfg(unix)]
        if to > from {
            // SAFETY: the map is a read-only shared file mapping: after MADV_DONTNEED a later
            // access reads the same bytes from the file again, so no live borrow can observe a
            // change. The advice only lowers this process's resident set.
            let _ = unsafe {
                self.map
                    .unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, from, to - from)
            };
        }
        #[cfg(not(unix))]
        let _ = (from, to);
    }
}

enum MergeWriteError {
    Io(io::Error),
    Candle(candle_core::Error),
}

impl From<io::Error> for MergeWriteError {
    fn from(e: io::Error) -> Self {
        MergeWriteError::Io(e)
    }
}

impl From<candle_core::Error> for MergeWriteError {
    fn from(e: candle_core::Error) -> Self {
        MergeWriteError::Candle(e)
    }
}

/// The candle dtype of a float safetensors dtype.
fn float_dtype(d: StDtype) -> Option<DType> {
    match d {
        StDtype::F16 => Some(DType::F16),
        StDtype::BF16 => Some(DType::BF16),
        StDtype::F32 => Some(DType::F32),
        StDtype::F64 => Some(DType::F64),
        _ => None,
    }
}

/// A writer that hashes and counts what passes through it.
struct HashingWriter<W: Write> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W: Write> HashingWriter<W> {
    fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
        }
    }
}

impl HashingWriter<BufWriter<File>> {
    fn finish(self) -> io::Result<(File, String, u64)> {
        let file = self.inner.into_inner().map_err(|e| e.into_error())?;
        Ok((file, hex::encode(self.hasher.finalize()), self.bytes))
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn sha256_file(path: &Path) -> Result<String, ModelError> {
    let mut file = File::open(path).map_err(|e| ModelError::io(path, e))?;
    let mut hasher = Sha256::new();
    io::copy(&mut file, &mut hasher).map_err(|e| ModelError::io(path, e))?;
    Ok(hex::encode(hasher.finalize()))
}

fn absolute(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

/// Copy the base directory's other files into `dest`; returns (copied, skipped), sorted.
fn copy_other_files(
    base: &Path,
    layout: &Layout,
    dest: &Path,
) -> Result<(Vec<String>, Vec<String>), ModelError> {
    let mut copied = Vec::new();
    let mut skipped = Vec::new();
    let entries = std::fs::read_dir(base).map_err(|e| ModelError::io(base, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| ModelError::io(base, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        if layout.is_weights_file(&name) {
            continue; // written above
        }
        // Follows symlinks: a hub snapshot's files link to blobs.
        let meta = std::fs::metadata(&path).map_err(|e| ModelError::io(&path, e))?;
        if meta.is_dir() {
            skipped.push(format!("{name}/"));
            continue;
        }
        let extension = Path::new(&name)
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .unwrap_or_default();
        let other_index =
            name.ends_with(".index.json") && !(name == INDEX_FILE && layout.index.is_some());
        if !meta.is_file()
            || name.starts_with('.')
            || name == MERGE_RECORD
            || other_index
            || OTHER_WEIGHT_EXTENSIONS.contains(&extension.as_str())
        {
            skipped.push(name);
            continue;
        }
        let to = dest.join(&name);
        std::fs::copy(&path, &to).map_err(|e| ModelError::io(&path, e))?;
        File::open(&to)
            .and_then(|f| f.sync_all())
            .map_err(|e| ModelError::io(&to, e))?;
        copied.push(name);
    }
    copied.sort();
    skipped.sort();
    Ok((copied, skipped))
}

/// The output must not exist, or be an empty directory.
fn check_output(out: &Path) -> Result<(), ModelError> {
    if out.exists() {
        let empty = out.is_dir()
            && std::fs::read_dir(out)
                .map_err(|e| ModelError::io(out, e))?
                .next()
                .is_none();
        if !empty {
            return Err(ModelError::io(
                out,
                io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    "already exists and is not an empty directory (choose another output or remove it)",
                ),
            ));
        }
    }
    Ok(())
}

/// A temporary directory beside the output, removed unless committed.
struct Staging {
    dir: PathBuf,
    committed: bool,
}

impl Staging {
    fn new(out: &Path) -> Result<Staging, ModelError> {
        let Some(name) = out.file_name() else {
            return Err(ModelError::Input(format!(
                "{}: not usable as an output directory name",
                out.display()
            )));
        };
        check_output(out)?;
        let parent = match out.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&parent).map_err(|e| ModelError::io(&parent, e))?;
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let dir = parent.join(format!(
            ".{}.merging-{}-{}",
            name.to_string_lossy(),
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        if dir.exists() {
            // Left by a crashed run that had this process id.
            std::fs::remove_dir_all(&dir).map_err(|e| ModelError::io(&dir, e))?;
        }
        std::fs::create_dir(&dir).map_err(|e| ModelError::io(&dir, e))?;
        Ok(Staging {
            dir,
            committed: false,
        })
    }

    /// Move the finished directory to `out`.
    fn commit(mut self, out: &Path) -> Result<(), ModelError> {
        mh_profile::atomic::sync_dir(&self.dir).map_err(|e| ModelError::io(&self.dir, e))?;
        if out.is_dir() {
            // Checked empty in `new`; a directory filled since then makes this fail, as it should.
            std::fs::remove_dir(out).map_err(|e| ModelError::io(out, e))?;
        }
        std::fs::rename(&self.dir, out).map_err(|e| ModelError::io(out, e))?;
        self.committed = true;
        if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
            mh_profile::atomic::sync_dir(parent).map_err(|e| ModelError::io(parent, e))?;
        }
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
