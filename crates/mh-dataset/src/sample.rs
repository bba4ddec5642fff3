//! The unit that flows through the dataset stage: one conversation with its provenance.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Cognitive mode of a sample (facts §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// The person's own line is the target; the AI's line is the prompt (role inversion).
    Dual,
    /// Ordinary chat in the person's voice.
    Emulation,
    /// Instruction → action, terse.
    Agent,
}

impl Mode {
    pub const ALL: [Mode; 3] = [Mode::Dual, Mode::Emulation, Mode::Agent];

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Dual => "dual",
            Mode::Emulation => "emulation",
            Mode::Agent => "agent",
        }
    }

    pub fn parse(s: &str) -> Option<Mode> {
        match s {
            "dual" => Some(Mode::Dual),
            "emulation" => Some(Mode::Emulation),
            "agent" => Some(Mode::Agent),
            _ => None,
        }
    }
}

/// Where a sample came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Episodic,
    Curated,
    Therapy,
    Legacy,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Episodic => "episodic",
            Source::Curated => "curated",
            Source::Therapy => "therapy",
            Source::Legacy => "legacy",
        }
    }
}

/// Chat roles in exported conversations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    pub content: String,
}

impl Message {
    pub fn new(role: Role, content: impl Into<String>) -> Self {
        Self {
            role,
            content: content.into(),
        }
    }
}

/// One conversation on its way to the export.
#[derive(Debug, Clone)]
pub struct Sample {
    /// Stable id (the memory's id where there is one); drives the eval split.
    pub id: String,
    pub source: Source,
    /// Memory type (`conversation`, `reflection`, …; `therapy_session` for therapy answers).
    pub kind: String,
    pub mode: Mode,
    pub timestamp: Option<DateTime<Utc>>,
    /// User/assistant turns, alternating, starting with the user, ending with the assistant.
    /// The system prompt is added at export.
    pub messages: Vec<Message>,
    /// The file it came from, relative to the profile root (for reports).
    pub path: PathBuf,
}

impl Sample {
    pub fn assistant_text(&self) -> String {
        self.messages
            .iter()
            .filter(|m| m.role == Role::Assistant)
            .map(|m| m.content.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Parse an ISO 8601 timestamp as the seed writes it (`2025-11-21T10:30:00.123Z`).
pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s.trim())
        .ok()
        .map(|t| t.with_timezone(&Utc))
}
