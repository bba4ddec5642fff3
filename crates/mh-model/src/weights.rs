//! Memory-mapped safetensors weights: one `model.safetensors` or the shards listed by
//! `model.safetensors.index.json`. Tensors are read on demand, checked against the shape the
//! model expects and converted to the compute dtype on the target device.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use candle_core::safetensors::{Load, MmapedSafetensors};
use candle_core::{DType, Device, Tensor};
use serde::Deserialize;

use crate::error::{read_json, ModelError};

pub const SINGLE_FILE: &str = "model.safetensors";
pub const INDEX_FILE: &str = "model.safetensors.index.json";

/// The weights of one model directory.
pub struct Weights {
    shards: Vec<(PathBuf, MmapedSafetensors)>,
    /// Tensor name → index into `shards`.
    routing: HashMap<String, usize>,
    device: Device,
    dtype: DType,
}

#[derive(Deserialize)]
struct Index {
    weight_map: BTreeMap<String, String>,
}

impl Weights {
    /// Open the weights of `dir`, preferring the single file when both layouts exist.
    pub fn open(dir: &Path, device: &Device, dtype: DType) -> Result<Weights, ModelError> {
        let single = dir.join(SINGLE_FILE);
        let index = dir.join(INDEX_FILE);
        if single.is_file() {
            Self::open_files(&[single], device, dtype)
        } else if index.is_file() {
            let parsed: Index = read_json(&index)?;
            let mut files: Vec<String> = parsed.weight_map.values().cloned().collect();
            files.sort();
            files.dedup();
            let mut paths = Vec::with_capacity(files.len());
            for f in &files {
                // A shard name is a file beside the index, never a path elsewhere.
                if f.contains('/') || f.contains('\\') || f == ".." {
                    return Err(ModelError::field(
                        &index,
                        "weight_map",
                        format!("shard {f:?} is not a plain file name"),
                    ));
                }
                let p = dir.join(f);
                if !p.is_file() {
                    return Err(ModelError::field(
                        &index,
                        "weight_map",
                        format!("shard {f} does not exist"),
                    ));
                }
                paths.push(p);
            }
            let weights = Self::open_files(&paths, device, dtype)?;
            // Every tensor the index promises must be in the shard it names.
            for (name, file) in &parsed.weight_map {
                let found = weights.routing.get(name).map(|&i| &weights.shards[i].0);
                if found
                    .map(|p| p.file_name() != Some(file.as_ref()))
                    .unwrap_or(true)
                {
                    return Err(ModelError::MissingTensor {
                        name: name.clone(),
                        files: dir.join(file).display().to_string(),
                    });
                }
            }
            Ok(weights)
        } else {
            Err(ModelError::NoWeights {
                dir: dir.to_path_buf(),
            })
        }
    }

    /// Open explicit safetensors files (a tensor present in several keeps the first).
    pub fn open_files(
        paths: &[PathBuf],
        device: &Device,
        dtype: DType,
    ) -> Result<Weights, ModelError> {
        let mut shards = Vec::with_capacity(paths.len());
        let mut routing = HashMap::new();
        for (i, path) in paths.iter().enumerate() {
            // SAFETY: the mapping is read-only; like every mmap-based loader we rely on the
            // model file not being truncated or rewritten while the model is loaded.
            let st =
                unsafe { MmapedSafetensors::new(path) }.map_err(|e| ModelError::Safetensors {
                    path: path.clone(),
                    reason: e.to_string(),
                })?;
            for (name, _) in st.tensors() {
                routing.entry(name).or_insert(i);
            }
            shards.push((path.clone(), st));
        }
        Ok(Weights {
            shards,
            routing,
            device: device.clone(),
            dtype,
        })
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    pub fn dtype(&self) -> DType {
        self.dtype
    }

    pub fn contains(&self, name: &str) -> bool {
        self.routing.contains_key(name)
    }

    /// All tensor names, sorted.
    pub fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.routing.keys().map(String::as_str).collect();
        names.sort_unstable();
        names
    }

    /// The file a tensor lives in.
    pub fn file_of(&self, name: &str) -> Option<&Path> {
        self.routing.get(name).map(|&i| self.shards[i].0.as_path())
    }

    /// Load `name`, check it has `shape`, convert it to the compute dtype.
    pub fn get(&self, name: &str, shape: &[usize]) -> Result<Tensor, ModelError> {
        let (file, view) = self.view(name)?;
        if view.shape() != shape {
            return Err(ModelError::TensorShape {
                name: name.into(),
                file: file.to_path_buf(),
                expected: shape.to_vec(),
                found: view.shape().to_vec(),
            });
        }
        self.load_view(name, file, &view)
    }

    /// Load `name` whatever its shape, converted to the compute dtype.
    pub fn get_unchecked(&self, name: &str) -> Result<Tensor, ModelError> {
        let (file, view) = self.view(name)?;
        self.load_view(name, file, &view)
    }

    fn view(&self, name: &str) -> Result<(&Path, safetensors::tensor::TensorView<'_>), ModelError> {
        let Some(&i) = self.routing.get(name) else {
            return Err(ModelError::MissingTensor {
                name: name.into(),
                files: self
                    .shards
                    .iter()
                    .map(|(p, _)| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        };
        let (path, st) = &self.shards[i];
        let view = st.get(name).map_err(|e| ModelError::Tensor {
            name: name.into(),
            file: path.clone(),
            reason: e.to_string(),
        })?;
        Ok((path, view))
    }

    fn load_view(
        &self,
        name: &str,
        file: &Path,
        view: &safetensors::tensor::TensorView<'_>,
    ) -> Result<Tensor, ModelError> {
        use safetensors::Dtype as St;
        // Weights are floating point; an integer tensor here means a wrong or quantized file.
        if !matches!(view.dtype(), St::F16 | St::BF16 | St::F32 | St::F64) {
            return Err(ModelError::Tensor {
                name: name.into(),
                file: file.to_path_buf(),
                reason: format!(
                    "dtype {:?} is not a float type (F16, BF16, F32, F64)",
                    view.dtype()
                ),
            });
        }
        let err = |e: candle_core::Error| ModelError::Tensor {
            name: name.into(),
            file: file.to_path_buf(),
            reason: e.to_string(),
        };
        let t = view.load(&self.device).map_err(err)?;
        if t.dtype() == self.dtype {
            Ok(t)
        } else {
            t.to_dtype(self.dtype).map_err(err)
        }
    }
}
