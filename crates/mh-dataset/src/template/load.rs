//! Finding a template: the model directory's files, the built-ins, or a file by path.

use std::path::Path;

use serde_json::Value as Json;

use super::{SpecialTokens, TemplateChoice, TemplateError, TemplateOrigin};

/// A chat template shipped with mh-train, for models that ship none.
#[derive(Debug, Clone, Copy)]
pub struct Builtin {
    pub name: &'static str,
    /// The model whose `tokenizer_config.json` the text is from, byte for byte.
    pub model: &'static str,
    pub source: &'static str,
    /// That model's named special tokens `(bos, eos, pad, unk)`.
    tokens: [Option<&'static str>; 4],
}

impl Builtin {
    /// The special tokens of the model the template comes from.
    pub fn default_special(&self) -> SpecialTokens {
        let [bos, eos, pad, unk] = self.tokens.map(|t| t.map(str::to_string));
        SpecialTokens { bos, eos, pad, unk }
    }
}

/// The built-ins. Each text is a real model's template (the golden fixtures in
/// `tests/fixtures/templates/` hold the same bytes; `manifest.json` there cites the sources).
pub const BUILTINS: &[Builtin] = &[
    // HuggingFaceTB/SmolLM2-135M-Instruct, first revision (= teknium/OpenHermes-2.5): plain
    // ChatML without a default system prompt.
    Builtin {
        name: "chatml",
        model: "HuggingFaceTB/SmolLM2-135M-Instruct@e682e54c (plain ChatML)",
        source: include_str!("builtin/chatml.jinja"),
        tokens: [
            Some("<|im_start|>"),
            Some("<|im_end|>"),
            Some("<|im_end|>"),
            Some("<|endoftext|>"),
        ],
    },
    // meta-llama/Llama-3.1-8B-Instruct (via llama.cpp models/templates). Chosen over 3.2's
    // because its date is fixed ("26 Jul 2024" unless date_string is passed), so a training
    // set does not depend on the day it is rendered.
    Builtin {
        name: "llama3",
        model: "meta-llama/Llama-3.1-8B-Instruct",
        source: include_str!("builtin/llama3.jinja"),
        tokens: [Some("<|begin_of_text|>"), Some("<|eot_id|>"), None, None],
    },
    // mistralai/Mistral-7B-Instruct-v0.3 (the "v3" template, as in llama.cpp's tests).
    Builtin {
        name: "mistral",
        model: "mistralai/Mistral-7B-Instruct-v0.3",
        source: include_str!("builtin/mistral.jinja"),
        tokens: [Some("<s>"), Some("</s>"), None, Some("<unk>")],
    },
    // google/gemma-2-2b-it (via llama.cpp models/templates); no system role.
    Builtin {
        name: "gemma",
        model: "google/gemma-2-2b-it",
        source: include_str!("builtin/gemma.jinja"),
        tokens: [Some("<bos>"), Some("<eos>"), Some("<pad>"), Some("<unk>")],
    },
    // microsoft/Phi-3.5-mini-instruct@7a1ac0d6 (via llama.cpp models/templates).
    Builtin {
        name: "phi3",
        model: "microsoft/Phi-3.5-mini-instruct",
        source: include_str!("builtin/phi3.jinja"),
        tokens: [
            Some("<s>"),
            Some("<|endoftext|>"),
            Some("<|endoftext|>"),
            Some("<unk>"),
        ],
    },
    // Qwen/Qwen3-0.6B@7e4ae267 (2025-05-19 revision, via s1mar/chat-template-drift).
    Builtin {
        name: "qwen3",
        model: "Qwen/Qwen3-0.6B",
        source: include_str!("builtin/qwen3.jinja"),
        tokens: [None, Some("<|im_end|>"), Some("<|endoftext|>"), None],
    },
];

/// The built-in for a `config.json` `model_type`, for models without a template of their own.
pub fn architecture_builtin(model_type: &str) -> Option<&'static str> {
    Some(match model_type {
        "qwen2" | "qwen2_moe" => "chatml",
        "qwen3" | "qwen3_moe" => "qwen3",
        "llama" => "llama3",
        "mistral" => "mistral",
        "gemma" | "gemma2" => "gemma",
        "phi3" => "phi3",
        _ => return None,
    })
}

pub(super) fn builtin_source(name: &str) -> Result<&'static Builtin, TemplateError> {
    BUILTINS
        .iter()
        .find(|b| b.name == name)
        .ok_or_else(|| TemplateError::UnknownBuiltin {
            name: name.to_string(),
            available: super::builtin_list(),
        })
}

/// A template's text with what it renders with.
pub(super) struct Found {
    pub name: String,
    pub source: String,
    pub special: SpecialTokens,
    pub origin: TemplateOrigin,
}

pub(super) fn resolve(model_dir: &Path, choice: &TemplateChoice) -> Result<Found, TemplateError> {
    if !model_dir.is_dir() {
        return Err(TemplateError::Io {
            path: model_dir.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "not a directory"),
        });
    }
    let config_path = model_dir.join("tokenizer_config.json");
    let config = read_json_if_exists(&config_path)?;
    let special = special_tokens(model_dir, config.as_ref(), &config_path)?;
    let found = |name: &str, source: String, origin: TemplateOrigin| Found {
        name: name.to_string(),
        source,
        special: special.clone(),
        origin,
    };

    match choice {
        TemplateChoice::Builtin(name) => {
            let b = builtin_source(name)?;
            Ok(found(
                b.name,
                b.source.to_string(),
                TemplateOrigin::Builtin { model_type: None },
            ))
        }
        TemplateChoice::Path(path) => {
            let source = read_text(path)?;
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| path.display().to_string());
            Ok(found(&name, source, TemplateOrigin::File(path.clone())))
        }
        TemplateChoice::Auto => {
            if let Some((source, origin)) =
                own_template(model_dir, config.as_ref(), &config_path, "default")?
            {
                return Ok(found("default", source, origin));
            }
            let model_type = model_type(model_dir)?;
            match model_type.as_deref().and_then(architecture_builtin) {
                Some(name) => {
                    let b = builtin_source(name)?;
                    Ok(found(
                        b.name,
                        b.source.to_string(),
                        TemplateOrigin::Builtin { model_type },
                    ))
                }
                None => Err(TemplateError::NoTemplate {
                    dir: model_dir.to_path_buf(),
                    reason: match model_type {
                        Some(t) => format!(
                            "neither chat_template.jinja, tokenizer_config.json chat_template nor \
                             chat_template.json, and no built-in for model_type {t:?}; pass \
                             --chat-template with one of {}",
                            super::builtin_list()
                        ),
                        None => format!(
                            "neither chat_template.jinja, tokenizer_config.json chat_template nor \
                             chat_template.json, and no config.json model_type; pass \
                             --chat-template with one of {}",
                            super::builtin_list()
                        ),
                    },
                }),
            }
        }
        TemplateChoice::Named(name) => {
            match own_template(model_dir, config.as_ref(), &config_path, name)? {
                Some((source, origin)) => Ok(found(name, source, origin)),
                None => Err(TemplateError::UnknownNamed {
                    path: model_dir.to_path_buf(),
                    name: name.clone(),
                    available: available_names(model_dir, config.as_ref()),
                }),
            }
        }
    }
}

/// The model's own template called `name`, looked for where transformers looks: the separate
/// files first (they take priority over the config field when a tokenizer is loaded), then
/// `tokenizer_config.json`, then the legacy `chat_template.json`.
fn own_template(
    model_dir: &Path,
    config: Option<&Json>,
    config_path: &Path,
    name: &str,
) -> Result<Option<(String, TemplateOrigin)>, TemplateError> {
    let jinja = if name == "default" {
        Some(model_dir.join("chat_template.jinja"))
    } else if is_plain_name(name) {
        Some(
            model_dir
                .join("additional_chat_templates")
                .join(format!("{name}.jinja")),
        )
    } else {
        None
    };
    if let Some(path) = jinja.filter(|p| p.is_file()) {
        return Ok(Some((read_text(&path)?, TemplateOrigin::JinjaFile(path))));
    }
    if let Some(config) = config {
        if let Some(source) = template_field(config, config_path, name)? {
            return Ok(Some((
                source,
                TemplateOrigin::TokenizerConfig(config_path.to_path_buf()),
            )));
        }
    }
    let json_path = model_dir.join("chat_template.json");
    if let Some(doc) = read_json_if_exists(&json_path)? {
        if let Some(source) = template_field(&doc, &json_path, name)? {
            return Ok(Some((source, TemplateOrigin::ChatTemplateJson(json_path))));
        }
    }
    Ok(None)
}

/// `chat_template` of a config document: a string (the `default` template) or a list of
/// `{"name", "template"}`.
fn template_field(doc: &Json, path: &Path, name: &str) -> Result<Option<String>, TemplateError> {
    let bad = |reason: String| TemplateError::Json {
        path: path.to_path_buf(),
        reason,
    };
    match doc.get("chat_template") {
        None | Some(Json::Null) => Ok(None),
        Some(Json::String(s)) => Ok((name == "default").then(|| s.clone())),
        Some(Json::Array(entries)) => {
            for (i, entry) in entries.iter().enumerate() {
                let entry_name = entry
                    .get("name")
                    .and_then(Json::as_str)
                    .ok_or_else(|| bad(format!("chat_template[{i}].name: expected a string")))?;
                if entry_name == name {
                    let text = entry
                        .get("template")
                        .and_then(Json::as_str)
                        .ok_or_else(|| {
                            bad(format!("chat_template[{i}].template: expected a string"))
                        })?;
                    return Ok(Some(text.to_string()));
                }
            }
            Ok(None)
        }
        Some(_) => Err(bad(
            "chat_template: expected a string or a list of {name, template}".into(),
        )),
    }
}

/// The names a model's own templates go by, for an error message.
fn available_names(model_dir: &Path, config: Option<&Json>) -> String {
    let mut names = Vec::new();
    if model_dir.join("chat_template.jinja").is_file() {
        names.push("default".to_string());
    }
    if let Ok(dir) = std::fs::read_dir(model_dir.join("additional_chat_templates")) {
        for entry in dir.flatten() {
            let p = entry.path();
            if p.extension().is_some_and(|e| e == "jinja") {
                if let Some(stem) = p.file_stem() {
                    names.push(stem.to_string_lossy().into_owned());
                }
            }
        }
    }
    match config.and_then(|c| c.get("chat_template")) {
        Some(Json::String(_)) => names.push("default".into()),
        Some(Json::Array(entries)) => names.extend(
            entries
                .iter()
                .filter_map(|e| e.get("name").and_then(Json::as_str).map(str::to_string)),
        ),
        _ => {}
    }
    names.sort();
    names.dedup();
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

/// A template name that can be a file name (no separators, no leading dot).
fn is_plain_name(name: &str) -> bool {
    !name.is_empty() && !name.starts_with('.') && !name.contains(['/', '\\'])
}

/// The named special tokens of `tokenizer_config.json`, with `special_tokens_map.json` filling
/// any it leaves unset. A token is a string or an AddedToken object (`{"content": …}`).
fn special_tokens(
    model_dir: &Path,
    config: Option<&Json>,
    config_path: &Path,
) -> Result<SpecialTokens, TemplateError> {
    let map_path = model_dir.join("special_tokens_map.json");
    let map = read_json_if_exists(&map_path)?;
    let token = |key: &str| -> Result<Option<String>, TemplateError> {
        if let Some(t) = config
            .map(|c| token_field(c, config_path, key))
            .transpose()?
            .flatten()
        {
            return Ok(Some(t));
        }
        Ok(map
            .as_ref()
            .map(|m| token_field(m, &map_path, key))
            .transpose()?
            .flatten())
    };
    Ok(SpecialTokens {
        bos: token("bos_token")?,
        eos: token("eos_token")?,
        pad: token("pad_token")?,
        unk: token("unk_token")?,
    })
}

fn token_field(doc: &Json, path: &Path, key: &str) -> Result<Option<String>, TemplateError> {
    match doc.get(key) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::String(s)) => Ok(Some(s.clone())),
        Some(Json::Object(o)) => match o.get("content") {
            Some(Json::String(s)) => Ok(Some(s.clone())),
            _ => Err(TemplateError::Json {
                path: path.to_path_buf(),
                reason: format!("{key}.content: expected a string"),
            }),
        },
        Some(_) => Err(TemplateError::Json {
            path: path.to_path_buf(),
            reason: format!("{key}: expected a string, an AddedToken object or null"),
        }),
    }
}

/// `config.json` `model_type`, if the file and the field exist.
fn model_type(model_dir: &Path) -> Result<Option<String>, TemplateError> {
    let path = model_dir.join("config.json");
    let Some(doc) = read_json_if_exists(&path)? else {
        return Ok(None);
    };
    match doc.get("model_type") {
        None | Some(Json::Null) => Ok(None),
        Some(Json::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(TemplateError::Json {
            path,
            reason: "model_type: expected a string".into(),
        }),
    }
}

fn read_text(path: &Path) -> Result<String, TemplateError> {
    std::fs::read_to_string(path).map_err(|source| TemplateError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn read_json_if_exists(path: &Path) -> Result<Option<Json>, TemplateError> {
    if !path.is_file() {
        return Ok(None);
    }
    let text = read_text(path)?;
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| TemplateError::Json {
            path: path.to_path_buf(),
            reason: format!("not valid JSON: {e}"),
        })
}
