//! Writing a built dataset: `train.jsonl`, `eval.jsonl`, `report.json` (and optionally
//! Parquet), each atomically, every line re-parsed and checked before the file is moved into
//! place; and validating such a file later (`dataset validate`).

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::build::{with_system_prompt, Built};
use crate::config::DatasetConfig;
use crate::sample::{Message, Role, Sample};
use crate::DatasetError;

/// Line shape of the exported JSONL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// `{"id","source","mode","messages":[{"role","content"}…]}` (system prompt first).
    #[default]
    Chat,
    /// The seed's LoRA shape `{"instruction","input","output"}`.
    Alpaca,
    /// The seed's full fine-tune shape `{"input","output"}`.
    InputOutput,
}

impl Format {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "chat" => Some(Format::Chat),
            "alpaca" => Some(Format::Alpaca),
            "input-output" => Some(Format::InputOutput),
            _ => None,
        }
    }
}

/// The files `write` produced.
#[derive(Debug, Clone)]
pub struct Written {
    pub train: PathBuf,
    pub eval: PathBuf,
    pub report: PathBuf,
    pub parquet: Vec<PathBuf>,
}

/// Write `built` into `out_dir`.
pub fn write(
    out_dir: &Path,
    built: &Built,
    config: &DatasetConfig,
    format: Format,
    parquet: bool,
) -> Result<Written, DatasetError> {
    std::fs::create_dir_all(out_dir).map_err(|e| DatasetError::io(out_dir, e))?;
    let train = out_dir.join("train.jsonl");
    let eval = out_dir.join("eval.jsonl");
    let report = out_dir.join("report.json");
    write_jsonl(&train, &built.train, config, &built.person, format)?;
    write_jsonl(&eval, &built.eval, config, &built.person, format)?;
    let mut parquet_files = Vec::new();
    if parquet {
        for src in [&train, &eval] {
            let dst = src.with_extension("parquet");
            crate::parquet::jsonl_to_parquet(src, &dst)?;
            parquet_files.push(dst);
        }
    }
    mh_profile::atomic_write_json(&report, &built.report)
        .map_err(|e| DatasetError::io(&report, e))?;
    Ok(Written {
        train,
        eval,
        report,
        parquet: parquet_files,
    })
}

/// One exported line as JSON.
pub fn line(sample: &Sample, config: &DatasetConfig, person: &str, format: Format) -> Value {
    match format {
        Format::Chat => json!({
            "id": sample.id,
            "source": sample.source.as_str(),
            "mode": sample.mode.as_str(),
            "messages": with_system_prompt(sample, config, person),
        }),
        Format::Alpaca => {
            let (context, last_user, output) = split_last_exchange(&sample.messages);
            json!({"instruction": last_user, "input": context, "output": output})
        }
        Format::InputOutput => {
            let (context, last_user, output) = split_last_exchange(&sample.messages);
            let input = if context.is_empty() {
                last_user
            } else {
                format!("{context}\n\nUser: {last_user}")
            };
            json!({"input": input, "output": output})
        }
    }
}

/// Earlier turns as a `User:/Assistant:` transcript, the last user turn, the last answer.
fn split_last_exchange(messages: &[Message]) -> (String, String, String) {
    let n = messages.len();
    let (earlier, last) = messages.split_at(n.saturating_sub(2));
    let context = earlier
        .iter()
        .map(|m| {
            let who = if m.role == Role::User {
                "User"
            } else {
                "Assistant"
            };
            format!("{who}: {}", m.content)
        })
        .collect::<Vec<_>>()
        .join("\n\n");
    let text = |i: usize| last.get(i).map(|m| m.content.clone()).unwrap_or_default();
    (context, text(0), text(1))
}

fn write_jsonl(
    path: &Path,
    samples: &[Sample],
    config: &DatasetConfig,
    person: &str,
    format: Format,
) -> Result<(), DatasetError> {
    let mut bad: Option<(usize, String)> = None;
    let result = mh_profile::atomic_write_with(path, |w| {
        for (i, s) in samples.iter().enumerate() {
            let bytes = serde_json::to_vec(&line(s, config, person, format))
                .map_err(std::io::Error::other)?;
            // Re-parse what we are about to write: a line that does not read back never lands.
            if let Err(reason) = check_line(&bytes, format) {
                bad = Some((i + 1, reason));
                return Err(std::io::Error::other("invalid line"));
            }
            w.write_all(&bytes)?;
            w.write_all(b"\n")?;
        }
        Ok(())
    });
    if let Some((line, reason)) = bad {
        return Err(DatasetError::InvalidLine {
            path: path.to_path_buf(),
            line,
            reason,
        });
    }
    result.map_err(|e| DatasetError::io(path, e))
}

/// Check one JSONL line against the shape of `format`.
pub fn check_line(bytes: &[u8], format: Format) -> Result<(), String> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| format!("invalid JSON: {e}"))?;
    let obj = v.as_object().ok_or("not a JSON object")?;
    let nonempty_str = |k: &str| match obj.get(k) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(()),
        Some(Value::String(_)) => Err(format!("field `{k}` is empty")),
        Some(_) => Err(format!("field `{k}` is not a string")),
        None => Err(format!("missing field `{k}`")),
    };
    match format {
        Format::Chat => {
            nonempty_str("id")?;
            nonempty_str("source")?;
            nonempty_str("mode")?;
            let msgs = obj
                .get("messages")
                .and_then(Value::as_array)
                .ok_or("field `messages` is not an array")?;
            let msgs: Vec<Message> = msgs
                .iter()
                .enumerate()
                .map(|(i, m)| {
                    serde_json::from_value(m.clone()).map_err(|e| format!("messages[{i}]: {e}"))
                })
                .collect::<Result<_, _>>()?;
            let turns = match msgs.first() {
                Some(m) if m.role == Role::System => &msgs[1..],
                _ => &msgs[..],
            };
            if turns.is_empty() {
                return Err("no user/assistant turns".into());
            }
            for (i, m) in turns.iter().enumerate() {
                let want = if i % 2 == 0 {
                    Role::User
                } else {
                    Role::Assistant
                };
                if m.role != want {
                    return Err(format!(
                        "turn {i} is {:?}, expected {want:?} (turns must alternate from user)",
                        m.role
                    ));
                }
                if m.content.trim().is_empty() {
                    return Err(format!("turn {i} is empty"));
                }
            }
            if turns.len() % 2 != 0 {
                return Err("the last turn must be the assistant's".into());
            }
            Ok(())
        }
        Format::Alpaca => {
            nonempty_str("instruction")?;
            nonempty_str("output")?;
            match obj.get("input") {
                None | Some(Value::String(_)) => Ok(()),
                Some(_) => Err("field `input` is not a string".into()),
            }
        }
        Format::InputOutput => {
            nonempty_str("input")?;
            nonempty_str("output")
        }
    }
}

/// Problems found in a JSONL file by [`validate_file`].
#[derive(Debug, Clone, Default, Serialize)]
pub struct Validation {
    pub lines: usize,
    pub format: Option<Format>,
    pub problems: Vec<(usize, String)>,
}

/// Validate a dataset file line by line; the format is taken from the first line's keys.
pub fn validate_file(path: &Path) -> Result<Validation, DatasetError> {
    let bytes = std::fs::read(path).map_err(|e| DatasetError::io(path, e))?;
    let mut v = Validation::default();
    if !bytes.is_empty() && !bytes.ends_with(b"\n") {
        v.problems
            .push((0, "file does not end with a newline".into()));
    }
    for (i, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        if raw.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        v.lines += 1;
        let format = *v.format.get_or_insert_with(|| sniff(raw));
        if let Err(reason) = check_line(raw, format) {
            v.problems.push((i + 1, reason));
        }
    }
    if v.lines == 0 {
        v.problems.push((0, "no samples".into()));
    }
    Ok(v)
}

fn sniff(line: &[u8]) -> Format {
    let v: Value = serde_json::from_slice(line).unwrap_or(Value::Null);
    if v.get("messages").is_some() {
        Format::Chat
    } else if v.get("instruction").is_some() {
        Format::Alpaca
    } else if v.get("input").is_some() {
        Format::InputOutput
    } else {
        Format::Chat
    }
}
