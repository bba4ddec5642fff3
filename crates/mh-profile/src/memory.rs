//! The memory records MetaHuman OS writes, typed leniently: every field the seed may omit is
//! optional, `null` counts as absent, and unknown fields are kept in `extra` so a rewrite loses
//! nothing. A record that cannot be parsed is reported with its path and the parser's reason.

use std::path::PathBuf;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

/// One episodic memory (`memory/episodic/**/<id>-<slug>.json`), facts §1.3.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct EpisodicEvent {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub tags: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub metadata: Map<String, Value>,
    /// Explicit chat turns, when a writer stored them (takes precedence over `content`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messages: Option<Vec<ChatMessage>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub question: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<String>,
    /// `entities`, `importance`, `links`, `userId` and anything else, untouched.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl EpisodicEvent {
    pub fn cognitive_mode(&self) -> Option<&str> {
        self.metadata.get("cognitiveMode").and_then(Value::as_str)
    }

    /// `metadata.reinforcementSignal` as a number (the seed writes -1/0/1; strings are accepted).
    pub fn reinforcement_signal(&self) -> Option<f64> {
        signal_value(self.metadata.get("reinforcementSignal")?)
    }

    /// The memory a feedback event is about (`metadata.targetId`).
    pub fn target_id(&self) -> Option<&str> {
        self.metadata.get("targetId").and_then(Value::as_str)
    }

    pub fn has_tag(&self, tag: &str) -> bool {
        self.tags.iter().any(|t| t == tag)
    }
}

/// A chat turn `{role, content}`; extra keys (`meta`, `timestamp`) are kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub role: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub content: String,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `memory/curated/conversations/<date>-<id>.json`, written by the seed's LLM curator (facts §2.1).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CuratedConversation {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub original_timestamp: Option<String>,
    #[serde(default)]
    pub conversational_essence: Option<String>,
    #[serde(default)]
    pub context: Option<String>,
    #[serde(default)]
    pub user_message: Option<String>,
    #[serde(default)]
    pub assistant_response: Option<String>,
    #[serde(default)]
    pub curated_at: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub flags: Vec<String>,
    /// Absent means suitable: the seed sets it false only when the LLM said so.
    #[serde(default = "yes", deserialize_with = "null_as_true")]
    pub suitable_for_training: bool,
    #[serde(default)]
    pub rejection_reason: Option<String>,
    /// Absent in files written before 2025-11-24; those are `dual`.
    #[serde(default)]
    pub cognitive_mode: Option<String>,
    #[serde(default)]
    pub memory_type: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl CuratedConversation {
    pub fn is_curator_error(&self) -> bool {
        self.flags.iter().any(|f| f == "curator-error")
    }
}

/// `persona/therapy/session-*.json` (facts §1.5).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TherapySession {
    #[serde(default)]
    pub session_id: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub questions: Vec<TherapyQuestion>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub answers: Vec<TherapyAnswer>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TherapyQuestion {
    pub id: String,
    #[serde(default)]
    pub prompt: String,
    #[serde(default)]
    pub category: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TherapyAnswer {
    pub question_id: String,
    #[serde(default)]
    pub content: String,
    #[serde(default)]
    pub captured_at: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A line of a legacy `memory/training/**/*.jsonl` export: `{instruction, input, output}`.
/// Lines in the `{role, content}` shape are not pairs and are skipped by the reader.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LegacyPair {
    pub instruction: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub input: String,
    pub output: String,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `state/conversation-buffer-<mode>.json` (facts §1.6). Not a training source in the seed.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatBuffer {
    #[serde(default, deserialize_with = "null_as_default")]
    pub messages: Vec<ChatMessage>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `persona/core.json`; only the name is interpreted, the rest is kept as written.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Persona {
    #[serde(flatten)]
    pub doc: Map<String, Value>,
}

impl Persona {
    /// The person's name: `identity.name`, else `identity.humanName`.
    pub fn name(&self) -> Option<&str> {
        let identity = self.doc.get("identity")?;
        ["name", "humanName"]
            .iter()
            .filter_map(|k| identity.get(*k)?.as_str())
            .map(str::trim)
            .find(|s| !s.is_empty())
    }
}

/// A parsed record and where it came from.
#[derive(Debug, Clone)]
pub struct Loaded<T> {
    pub path: PathBuf,
    /// 1-based line for records read from JSONL files.
    pub line: Option<usize>,
    pub value: T,
    /// The file was `*.json.enc` and was decrypted.
    pub encrypted: bool,
}

/// A file (or line) that could not be read, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReadError {
    pub path: PathBuf,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    pub reason: String,
}

/// A reinforcement signal as a number: the seed writes -1/0/1, hand edits write strings.
pub fn signal_value(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// serde helper: `null` deserializes as the type's default (the seed writes `null` freely).
pub fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

fn null_as_true<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(Option::<bool>::deserialize(d)?.unwrap_or(true))
}

fn yes() -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_fields_survive_a_round_trip() {
        let text = r#"{"id":"evt-1","timestamp":"2026-01-01T00:00:00.000Z","content":"hi","type":"conversation","entities":["x"],"tags":[],"importance":0.5,"links":[],"userId":"ada","metadata":{"cognitiveMode":"dual","custom":{"a":1}},"futureField":[1,2]}"#;
        let ev: EpisodicEvent = serde_json::from_str(text).unwrap();
        assert_eq!(ev.cognitive_mode(), Some("dual"));
        let back: Value = serde_json::to_value(&ev).unwrap();
        let orig: Value = serde_json::from_str(text).unwrap();
        assert_eq!(back, orig);
    }

    #[test]
    fn nulls_and_absent_fields_are_lenient_but_wrong_types_are_errors() {
        let ev: EpisodicEvent = serde_json::from_str(r#"{"tags":null,"metadata":null}"#).unwrap();
        assert!(ev.tags.is_empty() && ev.content.is_none());
        let err = serde_json::from_str::<EpisodicEvent>(r#"{"content":5}"#).unwrap_err();
        assert!(err.to_string().contains("invalid type"), "{err}");
    }

    #[test]
    fn curated_defaults_follow_the_seed() {
        let c: CuratedConversation = serde_json::from_str(r#"{"id":"evt-1"}"#).unwrap();
        assert!(c.suitable_for_training);
        assert!(c.cognitive_mode.is_none());
        let c: CuratedConversation =
            serde_json::from_str(r#"{"flags":["curator-error"],"suitableForTraining":false}"#)
                .unwrap();
        assert!(c.is_curator_error() && !c.suitable_for_training);
    }

    #[test]
    fn reinforcement_signal_accepts_numbers_and_strings() {
        let ev: EpisodicEvent =
            serde_json::from_str(r#"{"metadata":{"reinforcementSignal":"-1"}}"#).unwrap();
        assert_eq!(ev.reinforcement_signal(), Some(-1.0));
    }

    #[test]
    fn persona_name_prefers_identity_name() {
        let p: Persona =
            serde_json::from_str(r#"{"identity":{"name":" ","humanName":"Ada Quill"}}"#).unwrap();
        assert_eq!(p.name(), Some("Ada Quill"));
    }
}
