//! What one registration sends: the [`ModelSpec`], its Modelfile, its `/api/create` request, and
//! [`OllamaClient::register`] which uploads, creates and verifies.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::api::{CreateRequest, Digest, Progress, ShowResponse, Version};
use crate::client::{BlobStatus, OllamaClient};
use crate::error::{OllamaError, Result};
use crate::name::ModelName;
use crate::template::OllamaTemplate;

/// Ollama 0.5.5 replaced the Modelfile-text `/api/create` with the files/blobs API used here.
pub const MIN_CREATE_VERSION: (u64, u64, u64) = (0, 5, 5);
/// GGUF adapters through `adapters` in `/api/create` (same API generation). A third-party report
/// says Ollama 0.34.1 stopped creating models with adapters; a refusal then comes back from the
/// server as a create error, with [`ADAPTER_REMOVAL_NOTE`] added.
pub const MIN_ADAPTER_VERSION: (u64, u64, u64) = (0, 5, 5);
/// Added to a failed adapter registration on servers from 0.34.1 on.
pub const ADAPTER_REMOVAL_NOTE: &str = "Ollama 0.34.1+ is reported to refuse creating models with \
     an ADAPTER; register the merged GGUF instead";

/// The file name the Modelfile gets beside the GGUF.
pub const MODELFILE_NAME: &str = "Modelfile";

/// What the model is built from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelBase {
    /// A (merged) GGUF file, uploaded as a blob and sent in `files`.
    Gguf(PathBuf),
    /// A model the server already has (`from`), e.g. the base model for an adapter.
    Existing(String),
}

/// Everything one Ollama model is made of.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelSpec {
    pub name: ModelName,
    pub base: ModelBase,
    /// One GGUF LoRA adapter (Ollama takes only one).
    pub adapter: Option<PathBuf>,
    pub template: OllamaTemplate,
    /// The persona's system prompt; when `None`, the template's default one (if any) is sent.
    pub system: Option<String>,
    /// The context length to serve with (`PARAMETER num_ctx`).
    pub num_ctx: Option<u32>,
}

/// A Modelfile on disk and the command that registers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenModelfile {
    pub path: PathBuf,
    /// `ollama create NAME -f PATH`, quoted for a POSIX shell.
    pub command: String,
}

/// The outcome of [`OllamaClient::register`].
#[derive(Debug, Clone)]
pub struct Registered {
    pub model: ModelName,
    pub server_version: Version,
    /// Each file sent as a blob, its digest and whether it had to be uploaded.
    pub blobs: Vec<(PathBuf, Digest, BlobStatus)>,
    /// The status lines of `/api/create`, ending with `success`.
    pub statuses: Vec<Progress>,
    /// `/api/show` of the new model, already checked against what was sent.
    pub show: ShowResponse,
}

impl ModelSpec {
    /// The system prompt that is sent: the given one, else the template's default.
    pub fn effective_system(&self) -> Option<&str> {
        self.system
            .as_deref()
            .or(self.template.default_system.as_deref())
    }

    /// `stop` (each token) then `num_ctx`, as sent in `parameters`.
    pub fn parameters(&self) -> Map<String, Value> {
        let mut p = Map::new();
        if !self.template.stop.is_empty() {
            p.insert(
                "stop".into(),
                Value::Array(
                    self.template
                        .stop
                        .iter()
                        .map(|s| Value::String(s.clone()))
                        .collect(),
                ),
            );
        }
        if let Some(n) = self.num_ctx {
            p.insert("num_ctx".into(), Value::from(n));
        }
        p
    }

    /// The directory the Modelfile belongs in: the GGUF's (the base's, else the adapter's).
    pub fn modelfile_dir(&self) -> Result<PathBuf> {
        let file = match (&self.base, &self.adapter) {
            (ModelBase::Gguf(p), _) => p,
            (ModelBase::Existing(_), Some(a)) => a,
            (ModelBase::Existing(_), None) => {
                return Err(OllamaError::Modelfile {
                    field: "FROM".into(),
                    reason:
                        "no GGUF file to write the Modelfile beside (an existing model without \
                             adapter)"
                            .into(),
                })
            }
        };
        Ok(parent_dir(file))
    }

    /// The Modelfile text for a Modelfile in `dir` (files there are referenced as `./NAME`, others
    /// by absolute path). `ollama create NAME -f Modelfile` with it sends the same request as
    /// [`create_request`](Self::create_request).
    pub fn modelfile(&self, dir: &Path) -> Result<String> {
        let mut out = String::new();
        out.push_str(&format!(
            "# Ollama Modelfile for {}, written by mh-train (template: {}).\n",
            self.name,
            self.template.family.map(|f| f.name()).unwrap_or("custom")
        ));
        out.push_str(&format!(
            "# Register it with: ollama create {} -f {MODELFILE_NAME}\n",
            self.name
        ));
        let from = match &self.base {
            ModelBase::Gguf(p) => file_ref(p, dir, "FROM")?,
            ModelBase::Existing(name) => {
                check_line_value("FROM", name)?;
                name.clone()
            }
        };
        out.push_str(&format!("FROM {from}\n"));
        if let Some(a) = &self.adapter {
            out.push_str(&format!("ADAPTER {}\n", file_ref(a, dir, "ADAPTER")?));
        }
        out.push_str(&format!(
            "TEMPLATE {}\n",
            triple_quoted("TEMPLATE", &self.template.text)?
        ));
        if let Some(system) = self.effective_system() {
            out.push_str(&format!("SYSTEM {}\n", triple_quoted("SYSTEM", system)?));
        }
        for stop in &self.template.stop {
            if stop.is_empty() || stop.contains(['\n', '\r']) {
                return Err(OllamaError::Modelfile {
                    field: "PARAMETER stop".into(),
                    reason: format!("{stop:?} cannot be written on one line"),
                });
            }
            out.push_str(&format!("PARAMETER stop \"{stop}\"\n"));
        }
        if let Some(n) = self.num_ctx {
            out.push_str(&format!("PARAMETER num_ctx {n}\n"));
        }
        Ok(out)
    }

    /// Writes `Modelfile` beside the GGUF, atomically.
    pub fn write_modelfile(&self) -> Result<WrittenModelfile> {
        let dir = self.modelfile_dir()?;
        self.write_modelfile_at(&dir.join(MODELFILE_NAME))
    }

    /// Writes the Modelfile at `path`, atomically (files in the same directory are referenced
    /// relatively).
    pub fn write_modelfile_at(&self, path: &Path) -> Result<WrittenModelfile> {
        let dir = parent_dir(path);
        let text = self.modelfile(&dir)?;
        mh_profile::atomic_write(path, text.as_bytes()).map_err(|source| OllamaError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(WrittenModelfile {
            path: path.to_path_buf(),
            command: create_command(&self.name, path),
        })
    }

    /// The `/api/create` request, given the digests of the base GGUF (when it is one) and the
    /// adapter. File names are the files' names, as the ollama CLI sends them.
    pub fn create_request(
        &self,
        base_digest: Option<&Digest>,
        adapter_digest: Option<&Digest>,
    ) -> Result<CreateRequest> {
        let mut req = CreateRequest {
            model: self.name.to_string(),
            template: Some(self.template.text.clone()),
            system: self.effective_system().map(str::to_string),
            parameters: self.parameters(),
            stream: true,
            ..Default::default()
        };
        match &self.base {
            ModelBase::Gguf(p) => {
                let digest = base_digest.ok_or_else(|| OllamaError::Modelfile {
                    field: "FROM".into(),
                    reason: "the GGUF's digest is missing".into(),
                })?;
                req.files.insert(file_name(p, "FROM")?, digest.clone());
            }
            ModelBase::Existing(name) => req.from = Some(name.clone()),
        }
        if let Some(a) = &self.adapter {
            let digest = adapter_digest.ok_or_else(|| OllamaError::Modelfile {
                field: "ADAPTER".into(),
                reason: "the adapter's digest is missing".into(),
            })?;
            req.adapters
                .insert(file_name(a, "ADAPTER")?, digest.clone());
        }
        Ok(req)
    }
}

impl OllamaClient {
    /// Registers `spec`: checks the server version, uploads the GGUF (and adapter) unless the
    /// server has them, creates the model, then reads it back with `/api/show` and checks the
    /// template, system prompt, stop tokens, `num_ctx`, format and adapter are what was sent.
    /// `on_progress` sees upload progress and every create status line.
    pub fn register(
        &self,
        spec: &ModelSpec,
        on_progress: &mut dyn FnMut(&Progress),
    ) -> Result<Registered> {
        let version = self.require_version(MIN_CREATE_VERSION, "the files-based /api/create")?;
        if spec.adapter.is_some() && !version.at_least(MIN_ADAPTER_VERSION) {
            return Err(OllamaError::VersionTooOld {
                url: self.base_url().to_string(),
                found: version.raw.clone(),
                required: format!(
                    "{}.{}.{}",
                    MIN_ADAPTER_VERSION.0, MIN_ADAPTER_VERSION.1, MIN_ADAPTER_VERSION.2
                ),
                feature: "GGUF adapters in /api/create".into(),
            });
        }
        let mut blobs = Vec::new();
        let mut send = |path: &Path| -> Result<Digest> {
            let digest = Digest::of_file(path)?;
            let status = self.ensure_blob(path, &digest, on_progress)?;
            blobs.push((path.to_path_buf(), digest.clone(), status));
            Ok(digest)
        };
        let base_digest = match &spec.base {
            ModelBase::Gguf(p) => Some(send(p)?),
            ModelBase::Existing(_) => None,
        };
        let adapter_digest = match &spec.adapter {
            Some(a) => Some(send(a)?),
            None => None,
        };
        let request = spec.create_request(base_digest.as_ref(), adapter_digest.as_ref())?;
        let statuses = match self.create(&request, on_progress) {
            Ok(s) => s,
            Err(OllamaError::CreateFailed {
                url,
                model,
                message,
            }) if spec.adapter.is_some() && version.triple() >= (0, 34, 1) => {
                return Err(OllamaError::CreateFailed {
                    url,
                    model,
                    message: format!("{message} ({ADAPTER_REMOVAL_NOTE})"),
                })
            }
            Err(e) => return Err(e),
        };
        let show = self.show(spec.name.as_str())?;
        verify(
            self.base_url(),
            spec,
            &request,
            adapter_digest.as_ref(),
            &show,
        )?;
        Ok(Registered {
            model: spec.name.clone(),
            server_version: version,
            blobs,
            statuses,
            show,
        })
    }
}

/// Checks `/api/show` against the request.
fn verify(
    url: &str,
    spec: &ModelSpec,
    request: &CreateRequest,
    adapter: Option<&Digest>,
    show: &ShowResponse,
) -> Result<()> {
    let mismatch = |field: &str, expected: String, found: String| OllamaError::Mismatch {
        url: url.to_string(),
        model: spec.name.to_string(),
        field: field.to_string(),
        expected,
        found,
    };
    if let Some(t) = &request.template {
        if &show.template != t {
            return Err(mismatch("template", t.clone(), show.template.clone()));
        }
    }
    if let Some(s) = &request.system {
        if &show.system != s {
            return Err(mismatch("system", s.clone(), show.system.clone()));
        }
    }
    let params = show.parameter_map();
    let stops = params.get("stop").cloned().unwrap_or_default();
    for stop in &spec.template.stop {
        if !stops.contains(stop) {
            return Err(mismatch("stop", stop.clone(), format!("{stops:?}")));
        }
    }
    if let Some(n) = spec.num_ctx {
        let found = params
            .get("num_ctx")
            .and_then(|v| v.last())
            .cloned()
            .unwrap_or_default();
        if found.parse::<f64>().ok() != Some(f64::from(n)) {
            return Err(mismatch("num_ctx", n.to_string(), found));
        }
    }
    if matches!(spec.base, ModelBase::Gguf(_)) && show.details.format != "gguf" {
        return Err(mismatch(
            "details.format",
            "gguf".into(),
            show.details.format.clone(),
        ));
    }
    if let Some(d) = adapter {
        let blob = format!("sha256-{}", d.hex());
        let listed = show
            .modelfile
            .lines()
            .any(|l| l.starts_with("ADAPTER ") && l.trim_end_matches('"').ends_with(&blob));
        if !listed {
            return Err(mismatch(
                "modelfile ADAPTER",
                blob,
                show.modelfile
                    .lines()
                    .filter(|l| l.starts_with("ADAPTER"))
                    .collect::<Vec<_>>()
                    .join("; "),
            ));
        }
    }
    Ok(())
}

/// `ollama create NAME -f PATH` for a POSIX shell.
pub fn create_command(name: &ModelName, modelfile: &Path) -> String {
    format!(
        "ollama create {} -f {}",
        shell_quote(name.as_str()),
        shell_quote(&modelfile.to_string_lossy())
    )
}

fn shell_quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'_' | b'-' | b'.' | b'/' | b':' | b'@' | b'%' | b'+' | b'=' | b','
                )
        });
    if plain {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

fn parent_dir(p: &Path) -> PathBuf {
    match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn file_name(p: &Path, field: &str) -> Result<String> {
    let name = p
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| OllamaError::Modelfile {
            field: field.into(),
            reason: format!("{} has no UTF-8 file name", p.display()),
        })?;
    check_line_value(field, name)?;
    Ok(name.to_string())
}

/// `./NAME` when `p` is in `dir`, else the absolute path.
fn file_ref(p: &Path, dir: &Path, field: &str) -> Result<String> {
    let name = file_name(p, field)?;
    let same_dir = parent_dir(p) == dir
        || matches!(
            (parent_dir(p).canonicalize(), dir.canonicalize()),
            (Ok(a), Ok(b)) if a == b
        );
    if same_dir {
        return Ok(format!("./{name}"));
    }
    let abs = std::path::absolute(p).map_err(|source| OllamaError::Io {
        path: p.to_path_buf(),
        source,
    })?;
    let text = abs.to_str().ok_or_else(|| OllamaError::Modelfile {
        field: field.into(),
        reason: format!("{} is not UTF-8", abs.display()),
    })?;
    check_line_value(field, text)?;
    Ok(text.to_string())
}

/// A one-line Modelfile value: no line breaks, no leading quote (the parser would unquote it).
fn check_line_value(field: &str, v: &str) -> Result<()> {
    if v.is_empty() || v.contains(['\n', '\r']) || v.starts_with('"') || v.trim() != v {
        return Err(OllamaError::Modelfile {
            field: field.into(),
            reason: format!("{v:?} cannot be written as a one-line value"),
        });
    }
    Ok(())
}

/// `"""text"""`, refusing what Ollama's Modelfile parser would change: `"""` inside, and control
/// characters other than tab and line breaks (it drops them).
fn triple_quoted(field: &str, text: &str) -> Result<String> {
    if text.contains("\"\"\"") {
        return Err(OllamaError::Modelfile {
            field: field.into(),
            reason: "contains \"\"\", which ends a Modelfile string; register over the REST API \
                     instead"
                .into(),
        });
    }
    if let Some(c) = text
        .chars()
        .find(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(OllamaError::Modelfile {
            field: field.into(),
            reason: format!("contains the control character {c:?}, which a Modelfile drops"),
        });
    }
    Ok(format!("\"\"\"{text}\"\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_quoting() {
        assert_eq!(shell_quote("nell-2026"), "nell-2026");
        assert_eq!(shell_quote("/a b/Modelfile"), "'/a b/Modelfile'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }

    #[test]
    fn triple_quote_refusals() {
        assert!(triple_quoted("SYSTEM", "say \"\"\"hi").is_err());
        assert!(triple_quoted("SYSTEM", "bell\u{7}").is_err());
        assert_eq!(
            triple_quoted("SYSTEM", "a\n\"b\"").unwrap(),
            "\"\"\"a\n\"b\"\"\"\""
        );
    }
}
