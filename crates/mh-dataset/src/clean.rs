//! Text cleaning as the seed's curator did it (facts §2.2): whitespace normalisation, leading
//! filler stripping, a word cap; and the normalisation used for duplicate detection.

use std::sync::LazyLock;

use regex::Regex;

/// Collapse every whitespace run to one space and trim.
pub fn normalize_whitespace(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for word in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// Start-anchored, case-insensitive filler patterns, applied once each, in order. The seed's
/// separators `[,;:\-\s]` are widened with `!` and `.` so "Certainly! Here…" loses its "!".
static FILLERS: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        r"(?i)^(okay|ok|alright|sure)\b[,;:!.\-\s]*",
        r"(?i)^so\b[,;:!.\-\s]*",
        r"(?i)^let me (start|think|figure)\b[^.!?]*[.!?]*\s*",
        r"(?i)^i'm just (here to|an ai)\b[^.!?]*[.!?]*\s*",
        r"(?i)^as an? (ai|language model)\b[^,.!?]*[,.!?]*\s*",
        r"(?i)^certainly\b[,;:!.\-\s]*",
        r"(?i)^here's what\b[^.!?:]*[.!?:]*\s*",
    ]
    .iter()
    .map(|p| Regex::new(p).expect("filler patterns are valid regexes"))
    .collect()
});

/// Strip leading filler. Returns the text unchanged if stripping would leave nothing.
pub fn strip_fillers(s: &str) -> String {
    let mut text = s.trim_start();
    for re in FILLERS.iter() {
        if let Some(m) = re.find(text) {
            text = &text[m.end()..];
        }
    }
    let text = text.trim();
    if text.is_empty() {
        return s.trim().to_string();
    }
    // "okay, so the thing is" → "The thing is": sentences start upper-case.
    let mut chars = text.chars();
    match chars.next() {
        Some(c) if c.is_lowercase() && text.len() < s.trim().len() => {
            c.to_uppercase().chain(chars).collect()
        }
        _ => text.to_string(),
    }
}

/// The seed's filler detector for the quality report (facts §2.4): lower-cased text *contains*.
pub const FILLER_PHRASES: [&str; 10] = [
    "as an ai",
    "as a language model",
    "certainly",
    "let me think",
    "let me start",
    "i'm just",
    "i'm here to",
    "here's what",
    "okay, so",
    "alright, so",
];

pub fn has_filler(s: &str) -> bool {
    let lower = s.to_lowercase();
    FILLER_PHRASES.iter().any(|p| lower.contains(p))
}

/// Cut to `cap` words, appending `...` when anything was cut.
pub fn cap_words(s: &str, cap: usize) -> String {
    let words: Vec<&str> = s.split_whitespace().collect();
    if words.len() <= cap {
        return words.join(" ");
    }
    let mut out = words[..cap].join(" ");
    // "snow." + "..." would read "snow....": drop the cut sentence's own punctuation first.
    let kept = out.trim_end_matches(['.', ',', ';', ':', '!', '?']).len();
    out.truncate(kept);
    out.push_str("...");
    out
}

/// The capture-time dedup normalisation (facts §1.3): lower-case, keep word characters and
/// whitespace, collapse whitespace.
pub fn dedupe_key(s: &str) -> String {
    let lowered: String = s
        .chars()
        .flat_map(char::to_lowercase)
        .map(|c| {
            if c.is_alphanumeric() || c == '_' {
                c
            } else if c.is_whitespace() {
                ' '
            } else {
                '\0'
            }
        })
        .filter(|&c| c != '\0')
        .collect();
    normalize_whitespace(&lowered)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_each_seed_filler() {
        let cases = [
            ("Okay, so the bus was late.", "The bus was late."),
            ("Sure - I can do that.", "I can do that."),
            ("so, what now?", "What now?"),
            ("Let me think about this. Tuesdays work.", "Tuesdays work."),
            (
                "I'm just an AI, but. Try the blue one.",
                "Try the blue one.",
            ),
            ("As an AI language model, I prefer tea.", "I prefer tea."),
            ("Certainly! Here it is.", "Here it is."),
            ("Here's what I found: three cafes.", "Three cafes."),
            ("Alright so okay fine.", "Okay fine."),
        ];
        for (input, want) in cases {
            assert_eq!(strip_fillers(input), want, "input {input:?}");
        }
    }

    #[test]
    fn leaves_words_that_only_start_like_fillers() {
        for s in ["Sorry I was late.", "Okapis are great.", "Solar panels."] {
            assert_eq!(strip_fillers(s), s);
        }
        assert_eq!(strip_fillers("Okay."), "Okay.");
    }

    #[test]
    fn word_cap_and_whitespace() {
        assert_eq!(cap_words("a b  c\nd", 3), "a b c...");
        assert_eq!(cap_words("a b", 3), "a b");
        assert_eq!(cap_words("one two. three", 2), "one two...");
        assert_eq!(normalize_whitespace("  a \n\t b "), "a b");
    }

    #[test]
    fn dedupe_key_ignores_case_punctuation_and_spacing() {
        assert_eq!(dedupe_key("Hello,  World!"), dedupe_key("hello world"));
        assert_ne!(dedupe_key("hello world"), dedupe_key("hello word"));
    }

    #[test]
    fn filler_detector_matches_the_seed_list() {
        assert!(has_filler("Well, Certainly not"));
        assert!(!has_filler("I walked the dog"));
    }
}
