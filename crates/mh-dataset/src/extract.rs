//! Records → conversations. Each source has one function; each returns the turns or the reason
//! the record yields none.

use mh_profile::memory::{null_as_default, signal_value};
use mh_profile::{ChatMessage, CuratedConversation, LegacyPair, TherapySession};
use serde::Deserialize;
use serde_json::Value;

use crate::sample::{Message, Role};

/// The fields of an episodic memory the dataset stage reads. Lighter than
/// [`mh_profile::EpisodicEvent`] (which keeps every field for rewriting): no catch-all maps,
/// so 100k memories parse fast and stay small. A wrong type in any of these fields is still an
/// error for that file.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct EventView {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub timestamp: Option<String>,
    #[serde(default)]
    pub content: Option<String>,
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub response: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub tags: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub metadata: EventMeta,
    #[serde(default)]
    pub messages: Option<Vec<ChatMessage>>,
    #[serde(default)]
    pub prompt: Option<String>,
    #[serde(default)]
    pub question: Option<String>,
    #[serde(default)]
    pub answer: Option<String>,
}

/// The metadata keys curation uses; their values are interpreted leniently (any JSON type).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventMeta {
    #[serde(default)]
    cognitive_mode: Option<Value>,
    #[serde(default)]
    reinforcement_signal: Option<Value>,
    #[serde(default)]
    target_id: Option<Value>,
}

impl EventView {
    pub fn cognitive_mode(&self) -> Option<&str> {
        self.metadata.cognitive_mode.as_ref()?.as_str()
    }

    pub fn reinforcement_signal(&self) -> Option<f64> {
        signal_value(self.metadata.reinforcement_signal.as_ref()?)
    }

    pub fn target_id(&self) -> Option<&str> {
        self.metadata.target_id.as_ref()?.as_str()
    }

    pub fn has_tag(&self, tag: &str) -> bool {
        self.tags.iter().any(|t| t == tag)
    }
}

/// Why a record produced no conversation (also the `dropped` key in the report).
pub type NoConversation = &'static str;

/// Turns from an episodic event, and whether the user turn was made up from the memory's type.
#[derive(Debug, Clone, PartialEq)]
pub struct EpisodicTurns {
    pub messages: Vec<Message>,
    /// Content-only memory: the user turn is [`synthetic_prompt`], the content the answer.
    pub synthetic: bool,
}

/// Conversation turns from an episodic event, in the seed's precedence (facts §2.2):
/// `messages[]` → `prompt`+`response` → `content`+`response` → the `"User: …\n\nAssistant: …"`
/// content convention → `question`+`answer` → content alone behind a prompt chosen by type.
pub fn from_episodic(ev: &EventView) -> Result<EpisodicTurns, NoConversation> {
    let real = |m: Result<Vec<Message>, NoConversation>| {
        m.map(|messages| EpisodicTurns {
            messages,
            synthetic: false,
        })
    };
    if let Some(msgs) = ev.messages.as_ref().filter(|m| !m.is_empty()) {
        let turns = msgs
            .iter()
            .filter_map(|m| Some(Message::new(role(&m.role)?, m.content.clone())))
            .collect();
        return real(tidy(turns));
    }
    if let (Some(p), Some(r)) = (text(&ev.prompt), text(&ev.response)) {
        return real(tidy(pair(p, r)));
    }
    if let (Some(c), Some(r)) = (text(&ev.content), text(&ev.response)) {
        return real(tidy(pair(c, r)));
    }
    if let Some(turns) = text(&ev.content).and_then(parse_transcript) {
        return real(tidy(turns));
    }
    if let (Some(q), Some(a)) = (text(&ev.question), text(&ev.answer)) {
        return real(tidy(pair(q, a)));
    }
    match text(&ev.content) {
        Some(c) => Ok(EpisodicTurns {
            messages: pair(
                synthetic_prompt(ev.kind.as_deref().unwrap_or("observation")),
                c,
            ),
            synthetic: true,
        }),
        None => Err("no_text"),
    }
}

/// A curated conversation's turns (`userMessage` → `assistantResponse`).
pub fn from_curated(c: &CuratedConversation) -> Result<Vec<Message>, NoConversation> {
    match (text(&c.user_message), text(&c.assistant_response)) {
        (Some(u), Some(a)) => Ok(pair(u, a)),
        _ => Err("curated_missing_messages"),
    }
}

/// Therapy answers paired with their questions by `questionId` (the seed paired by index).
pub fn from_therapy(s: &TherapySession) -> Vec<(String, Result<Vec<Message>, NoConversation>)> {
    s.answers
        .iter()
        .map(|a| {
            let turns = match s.questions.iter().find(|q| q.id == a.question_id) {
                None => Err("therapy_question_missing"),
                Some(q) if q.prompt.trim().is_empty() || a.content.trim().is_empty() => {
                    Err("no_text")
                }
                Some(q) => Ok(pair(q.prompt.trim(), a.content.trim())),
            };
            (a.question_id.clone(), turns)
        })
        .collect()
}

/// A legacy `{instruction, input, output}` line: the user turn is the instruction, plus the input
/// after a blank line when there is one (as the seed's trainer built it).
pub fn from_legacy(p: &LegacyPair) -> Result<Vec<Message>, NoConversation> {
    let (inst, input, out) = (p.instruction.trim(), p.input.trim(), p.output.trim());
    if inst.is_empty() || out.is_empty() {
        return Err("no_text");
    }
    let user = if input.is_empty() {
        inst.to_string()
    } else {
        format!("{inst}\n\n{input}")
    };
    Ok(pair(&user, out))
}

/// A field's text, trimmed; `None` when absent or blank.
fn text(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn pair(user: &str, assistant: &str) -> Vec<Message> {
    vec![
        Message::new(Role::User, user),
        Message::new(Role::Assistant, assistant),
    ]
}

fn role(r: &str) -> Option<Role> {
    match r.to_ascii_lowercase().as_str() {
        "user" | "human" => Some(Role::User),
        "assistant" | "ai" | "bot" | "model" => Some(Role::Assistant),
        _ => None, // system prompts come from our config, not from memories
    }
}

/// Merge consecutive turns of one role, drop leading assistant and trailing user turns: what is
/// left alternates user/assistant and ends with the assistant.
fn tidy(turns: Vec<Message>) -> Result<Vec<Message>, NoConversation> {
    let mut out: Vec<Message> = Vec::with_capacity(turns.len());
    for t in turns {
        if t.content.trim().is_empty() {
            continue;
        }
        match out.last_mut() {
            Some(last) if last.role == t.role => {
                last.content.push_str("\n\n");
                last.content.push_str(&t.content);
            }
            None if t.role == Role::Assistant => {}
            _ => out.push(t),
        }
    }
    if out.last().is_some_and(|m| m.role == Role::User) {
        out.pop();
    }
    if out.is_empty() {
        Err("no_exchange")
    } else {
        Ok(out)
    }
}

/// Parse the chat-capture convention `"User: …\n\nAssistant: …"` (possibly several exchanges).
/// `None` if the text does not start with `User:` or has no `Assistant:` turn.
pub fn parse_transcript(content: &str) -> Option<Vec<Message>> {
    let content = content.trim_start();
    if !content.starts_with("User:") {
        return None;
    }
    let mut turns = Vec::new();
    let mut current: Option<(Role, String)> = None;
    for line in content.split('\n') {
        let marker = [("User:", Role::User), ("Assistant:", Role::Assistant)]
            .into_iter()
            .find(|(m, _)| line.starts_with(m));
        match marker {
            Some((m, role)) => {
                if let Some((r, text)) = current.take() {
                    turns.push(Message::new(r, text.trim()));
                }
                current = Some((role, line[m.len()..].to_string()));
            }
            None => {
                if let Some((_, text)) = current.as_mut() {
                    text.push('\n');
                    text.push_str(line);
                }
            }
        }
    }
    if let Some((r, text)) = current {
        turns.push(Message::new(r, text.trim()));
    }
    turns
        .iter()
        .any(|t| t.role == Role::Assistant)
        .then_some(turns)
}

/// The user turn for a memory that is only the person's own text (the fix the seed documented
/// in TRAINING_FIXES.md but never committed).
pub fn synthetic_prompt(kind: &str) -> &'static str {
    match kind {
        "inner_dialogue" => "Reflect on your recent experiences and share your inner thoughts.",
        "reflection" | "reflection_summary" => "What have you been reflecting on lately?",
        "observation" => "What did you observe?",
        "dream" | "daydream" => "Tell me about a dream you had.",
        "journal" => "Write today's journal entry.",
        "decision" => "What did you decide, and why?",
        "curiosity_question" => "What are you curious about right now?",
        "summary" => "Sum up what has been going on.",
        _ => "Share your thoughts.",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    fn ev(json: &str) -> EventView {
        serde_json::from_str(json).unwrap()
    }

    fn texts(turns: &[Message]) -> Vec<(Role, &str)> {
        turns.iter().map(|m| (m.role, m.content.as_str())).collect()
    }

    #[test]
    fn precedence_messages_first() {
        let mut e = ev(r#"{"content":"User: a\n\nAssistant: b","prompt":"p","response":"r"}"#);
        e.messages = Some(vec![
            ChatMessage {
                role: "system".into(),
                content: "ignored".into(),
                extra: Default::default(),
            },
            ChatMessage {
                role: "user".into(),
                content: "hi".into(),
                extra: Default::default(),
            },
            ChatMessage {
                role: "assistant".into(),
                content: "yo".into(),
                extra: Default::default(),
            },
        ]);
        assert_eq!(
            texts(&from_episodic(&e).unwrap().messages),
            [(Role::User, "hi"), (Role::Assistant, "yo")]
        );
    }

    #[test]
    fn precedence_prompt_then_content_response_then_transcript_then_qa_then_content() {
        let e = ev(r#"{"prompt":"p","response":"r","content":"c"}"#);
        assert_eq!(
            texts(&from_episodic(&e).unwrap().messages),
            [(Role::User, "p"), (Role::Assistant, "r")]
        );
        let e = ev(r#"{"content":"c","response":"r"}"#);
        assert_eq!(
            texts(&from_episodic(&e).unwrap().messages),
            [(Role::User, "c"), (Role::Assistant, "r")]
        );
        let e = ev(r#"{"content":"User: how was the gig?\n\nAssistant: Loud, sweaty, great."}"#);
        assert_eq!(
            texts(&from_episodic(&e).unwrap().messages),
            [
                (Role::User, "how was the gig?"),
                (Role::Assistant, "Loud, sweaty, great.")
            ]
        );
        let e = ev(r#"{"question":"q?","answer":"a."}"#);
        assert_eq!(
            texts(&from_episodic(&e).unwrap().messages),
            [(Role::User, "q?"), (Role::Assistant, "a.")]
        );
        let e = ev(r#"{"type":"inner_dialogue","content":"I keep thinking about the lake."}"#);
        let t = from_episodic(&e).unwrap();
        assert!(t.synthetic);
        let t = t.messages;
        assert_eq!(t[0].content, synthetic_prompt("inner_dialogue"));
        assert_eq!(t[1].content, "I keep thinking about the lake.");
        assert_eq!(from_episodic(&ev(r#"{"content":"  "}"#)), Err("no_text"));
    }

    #[test]
    fn multi_turn_transcripts_stay_multi_turn() {
        let c = "User: one\n\nAssistant: two\nstill two\n\nUser: three\n\nAssistant: four";
        let turns = parse_transcript(c).unwrap();
        assert_eq!(
            texts(&turns),
            [
                (Role::User, "one"),
                (Role::Assistant, "two\nstill two"),
                (Role::User, "three"),
                (Role::Assistant, "four")
            ]
        );
        assert!(parse_transcript("User: only a question").is_none());
        assert!(parse_transcript("Dear diary").is_none());
    }

    #[test]
    fn turns_are_tidied_to_alternate() {
        let turns = vec![
            Message::new(Role::Assistant, "orphan"),
            Message::new(Role::User, "a"),
            Message::new(Role::User, "b"),
            Message::new(Role::Assistant, "c"),
            Message::new(Role::User, "dangling"),
        ];
        assert_eq!(
            texts(&tidy(turns).unwrap()),
            [(Role::User, "a\n\nb"), (Role::Assistant, "c")]
        );
        assert_eq!(
            tidy(vec![Message::new(Role::User, "x")]),
            Err("no_exchange")
        );
    }

    #[test]
    fn therapy_pairs_by_question_id() {
        let s: TherapySession = serde_json::from_str(
            r#"{"questions":[{"id":"q1","prompt":"First?"},{"id":"q2","prompt":"Second?"}],
                "answers":[{"questionId":"q2","content":"Two."},{"questionId":"q9","content":"Lost."}]}"#,
        )
        .unwrap();
        let out = from_therapy(&s);
        assert_eq!(
            texts(out[0].1.as_ref().unwrap()),
            [(Role::User, "Second?"), (Role::Assistant, "Two.")]
        );
        assert_eq!(out[1].1, Err("therapy_question_missing"));
    }

    #[test]
    fn legacy_lines_join_instruction_and_input() {
        let p: LegacyPair =
            serde_json::from_str(r#"{"instruction":"Do","input":"this","output":"Done"}"#).unwrap();
        assert_eq!(
            texts(&from_legacy(&p).unwrap())[0],
            (Role::User, "Do\n\nthis")
        );
    }

    #[test]
    fn curated_needs_both_messages() {
        let c: CuratedConversation = serde_json::from_str(r#"{"userMessage":"u"}"#).unwrap();
        assert_eq!(from_curated(&c), Err("curated_missing_messages"));
    }
}
