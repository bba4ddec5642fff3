//! Cognitive modes (facts §2.2, §3): which mode a memory trains, and dual's role inversion.

use crate::sample::{Message, Mode, Role};

/// The memory's `metadata.cognitiveMode` when it is a training mode, else the seed's type map
/// (exact type, then substring), else emulation. Returns the mode and whether it came from
/// metadata (`true`) or the type (`false`).
pub fn assign(cognitive_mode: Option<&str>, kind: &str) -> (Mode, bool) {
    if let Some(m) = cognitive_mode.and_then(Mode::parse) {
        return (m, true);
    }
    const MAP: [(&str, Mode); 10] = [
        ("inner_dialogue", Mode::Dual),
        ("reflection", Mode::Dual),
        ("dream", Mode::Dual),
        ("conversation", Mode::Emulation),
        ("chat", Mode::Emulation),
        ("observation", Mode::Emulation),
        ("journal", Mode::Emulation),
        ("action", Mode::Agent),
        ("task", Mode::Agent),
        ("tool_use", Mode::Agent),
    ];
    let mode = MAP
        .iter()
        .find(|(k, _)| *k == kind)
        .or_else(|| MAP.iter().find(|(k, _)| kind.contains(k)))
        .map_or(Mode::Emulation, |(_, m)| *m);
    (mode, false)
}

/// Dual mode trains the model to say what the *person* said in reply to their AI: within each
/// exchange the AI's line becomes the prompt and the person's line the target (the seed's
/// aggregator flip, extended to every exchange of a multi-turn conversation).
pub fn invert(messages: &[Message]) -> Vec<Message> {
    messages
        .chunks(2)
        .filter(|c| c.len() == 2 && c[0].role == Role::User && c[1].role == Role::Assistant)
        .flat_map(|c| {
            [
                Message::new(Role::User, c[1].content.clone()),
                Message::new(Role::Assistant, c[0].content.clone()),
            ]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_wins_then_exact_type_then_substring() {
        assert_eq!(assign(Some("agent"), "reflection"), (Mode::Agent, true));
        assert_eq!(
            assign(Some("environment"), "reflection"),
            (Mode::Dual, false)
        );
        assert_eq!(assign(None, "conversation"), (Mode::Emulation, false));
        assert_eq!(assign(None, "reflection_summary"), (Mode::Dual, false));
        assert_eq!(assign(None, "daydream"), (Mode::Dual, false));
        assert_eq!(assign(None, "task_update"), (Mode::Agent, false));
        assert_eq!(assign(None, "curiosity_question"), (Mode::Emulation, false));
    }

    #[test]
    fn inversion_swaps_within_each_exchange() {
        let m = |r, c: &str| Message::new(r, c);
        let conv = [
            m(Role::User, "u1"),
            m(Role::Assistant, "a1"),
            m(Role::User, "u2"),
            m(Role::Assistant, "a2"),
        ];
        let inv = invert(&conv);
        let got: Vec<_> = inv.iter().map(|x| (x.role, x.content.as_str())).collect();
        assert_eq!(
            got,
            [
                (Role::User, "a1"),
                (Role::Assistant, "u1"),
                (Role::User, "a2"),
                (Role::Assistant, "u2")
            ]
        );
    }
}
