use std::path::{Path, PathBuf};

/// Errors from reading model directories and adapters, building the model and running it.
/// Every variant about a file names the file; every variant about a tensor names the tensor.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: invalid JSON at `{field}`: {reason}")]
    Json {
        path: PathBuf,
        field: String,
        reason: String,
    },
    #[error("{path}: field `{field}`: {reason}")]
    Field {
        path: PathBuf,
        field: String,
        reason: String,
    },
    #[error("{path}: {what} {value:?} is not supported (supported: {supported})")]
    Unsupported {
        path: PathBuf,
        what: String,
        value: String,
        supported: String,
    },
    #[error("{dir}: no model.safetensors or model.safetensors.index.json")]
    NoWeights { dir: PathBuf },
    #[error("{path}: not a readable safetensors file: {reason}")]
    Safetensors { path: PathBuf, reason: String },
    #[error("tensor `{name}` is missing (looked in {files})")]
    MissingTensor { name: String, files: String },
    #[error("tensor `{name}` in {file}: expected shape {expected:?}, found {found:?}")]
    TensorShape {
        name: String,
        file: PathBuf,
        expected: Vec<usize>,
        found: Vec<usize>,
    },
    #[error("tensor `{name}` in {file}: {reason}")]
    Tensor {
        name: String,
        file: PathBuf,
        reason: String,
    },
    #[error("{path}: adapter tensor `{name}`: {reason}")]
    AdapterTensor {
        path: PathBuf,
        name: String,
        reason: String,
    },
    #[error("invalid input: {0}")]
    Input(String),
    #[error("tensor computation failed: {0}")]
    Candle(#[from] candle_core::Error),
}

impl ModelError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        ModelError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    pub(crate) fn field(path: &Path, field: impl Into<String>, reason: impl Into<String>) -> Self {
        ModelError::Field {
            path: path.to_path_buf(),
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// Read and parse a JSON file, naming the JSON path of a field with the wrong type.
pub(crate) fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, ModelError> {
    let bytes = std::fs::read(path).map_err(|e| ModelError::io(path, e))?;
    let de = &mut serde_json::Deserializer::from_slice(&bytes);
    serde_path_to_error::deserialize(de).map_err(|e| ModelError::Json {
        path: path.to_path_buf(),
        field: e.path().to_string(),
        reason: e.inner().to_string(),
    })
}
