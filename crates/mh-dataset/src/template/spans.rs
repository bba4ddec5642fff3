//! Where the assistant turns are in a rendered conversation, found by rendering.
//!
//! **The content.** For assistant message `i`, the conversation is rendered a second time with
//! that message's content replaced by a sentinel (private-use characters: not whitespace, no
//! case, no markup, so `trim`, `.strip()`, `.split('</think>')` leave it alone). Everything the
//! two renderings share at the start and at the end is template text the content does not
//! affect; what lies between, in the real rendering, is the content as the template writes it
//! (trimmed, think block split off, whatever the template does). Comparing whole renderings —
//! not searching for the content — means repeated or template-like content cannot confuse it,
//! and a template that moves text around (Mistral puts the system prompt into the last user
//! turn, Gemma renames the role) is handled because both renderings move it alike.
//!
//! **The end.** The end-of-turn token must follow the content directly; it is derived once per
//! template ([`derive_end_of_turn`]) from probe conversations: the text that follows an
//! assistant turn whatever comes next (another user turn, or the end of the conversation), up to
//! its first whitespace.
//!
//! **The start.** A span is what the model generates, i.e. what follows the prompt
//! `add_generation_prompt` produces. That prompt's tail (the generation prompt `G`, e.g.
//! `<|im_start|>assistant\n`) is the difference between rendering the history with and without
//! `add_generation_prompt`. If the nearest `G` before the content is in this turn (no
//! end-of-turn token between), the span starts right after it, so text the template puts
//! between the header and the content belongs to the span — Qwen3's `<think>\n\n</think>\n\n`
//! on the last turn, which the model has to emit at inference. Otherwise (no `G` in the turn:
//! Mistral, whose prompt has none, or Qwen3 with `enable_thinking=false`, whose `G` ends in the
//! empty think block that history turns lack) the span starts at the content. (A turn that
//! carries reasoning although `enable_thinking=false` — contradictory input — starts where it
//! departs from the empty think block, after `<think>\n`.)
//!
//! Cost: one extra render per counted turn, plus two per distinct set of options for `G`
//! (cached on the template).

use minijinja::Value;

use super::{env, py, ChatTemplate, RenderOptions, Rendered, SpanPolicy, TemplateError};
use crate::{Message, Role};

/// Candidate sentinels; the first that no message (and not the template) contains is used.
const SENTINELS: [&str; 3] = [
    "\u{E000}\u{E001}\u{E002}",
    "\u{F8F0}\u{F8F1}\u{F8F2}",
    "\u{F0000}\u{F0001}\u{F0002}",
];

fn role(r: Role) -> &'static str {
    match r {
        Role::System => "system",
        Role::User => "user",
        Role::Assistant => "assistant",
    }
}

fn message(role: &str, content: &str) -> Value {
    let mut m = super::map::SmallMap::with_capacity(2);
    m.set("role", Value::from(role));
    m.set("content", Value::from(content));
    m.into_value()
}

pub(super) fn render_conversation(
    t: &ChatTemplate,
    messages: &[Message],
    opts: &RenderOptions,
    policy: SpanPolicy,
) -> Result<Rendered, TemplateError> {
    let values: Vec<Value> = messages
        .iter()
        .map(|m| message(role(m.role), &m.content))
        .collect();
    let text = t.render_values(
        Value::from(values.clone()),
        opts,
        opts.add_generation_prompt,
    )?;

    let mut turns: Vec<usize> = messages
        .iter()
        .enumerate()
        .filter(|(_, m)| m.role == Role::Assistant)
        .map(|(i, _)| i)
        .collect();
    if policy == SpanPolicy::LastOnly {
        turns = turns.last().copied().into_iter().collect();
    }
    let Some(&last) = turns.last() else {
        return Ok(Rendered {
            text,
            assistant_spans: Vec::new(),
        });
    };

    let span_error = |turn: usize, message: usize, reason: String| TemplateError::Span {
        template: t.label(),
        turn,
        message,
        reason,
    };
    let sentinel = SENTINELS
        .iter()
        .copied()
        .find(|s| !t.source.contains(s) && messages.iter().all(|m| !m.content.contains(s)))
        .ok_or_else(|| span_error(0, last, "every sentinel occurs in the messages".into()))?;
    let gen = t.generation_prompt(&values[..last], opts);
    let eot = t.end_of_turn();

    let mut spans = Vec::with_capacity(turns.len());
    let mut lo = 0;
    for (n, &i) in turns.iter().enumerate() {
        let mut probe = values.clone();
        probe[i] = message("assistant", sentinel);
        let marked = t.render_values(Value::from(probe), opts, opts.add_generation_prompt)?;
        let (a, b) = content_region(&text, &marked, sentinel).map_err(|r| span_error(n, i, r))?;
        if a < lo {
            return Err(span_error(n, i, "it overlaps the previous turn".into()));
        }
        let end = match eot {
            Some(tok) if text[b..].starts_with(tok) => b + tok.len(),
            Some(tok) => {
                return Err(span_error(
                    n,
                    i,
                    format!("the content is not followed by the end-of-turn token {tok:?}"),
                ))
            }
            None => b,
        };
        let start = span_start(&text, lo, a, &gen, eot);
        spans.push(start..end);
        lo = end;
    }
    Ok(Rendered {
        text,
        assistant_spans: spans,
    })
}

/// The byte range in `text` that differs from `marked` (the same render with one content
/// replaced by `sentinel`), bounded by the sentinel's own position so content that happens to
/// start or end like the sentinel's surroundings cannot widen it.
fn content_region(text: &str, marked: &str, sentinel: &str) -> Result<(usize, usize), String> {
    let sa = marked
        .find(sentinel)
        .ok_or("the template does not render the assistant's content")?;
    let sb = sa + sentinel.len();
    if marked[sb..].contains(sentinel) {
        return Err("the template renders the assistant's content more than once".into());
    }
    let mut a = common_prefix(text.as_bytes(), marked.as_bytes()).min(sa);
    while !text.is_char_boundary(a) {
        a -= 1;
    }
    let tail = marked.len() - sb;
    let suffix = common_suffix(text.as_bytes(), marked.as_bytes())
        .min(tail)
        .min(text.len() - a);
    let mut b = text.len() - suffix;
    while !text.is_char_boundary(b) {
        b += 1;
    }
    Ok((a, b))
}

/// Where the generated part of a turn starts (see the module docs): right after the nearest
/// generation prompt before the content when it belongs to this turn, else at the content.
fn span_start(text: &str, lo: usize, a: usize, gen: &str, eot: Option<&str>) -> usize {
    if gen.is_empty() {
        return a;
    }
    if let Some(pos) = text[lo..a].rfind(gen) {
        let g_end = lo + pos + gen.len();
        if eot.is_none_or(|tok| !text[g_end..a].contains(tok)) {
            return g_end;
        }
    }
    a
}

/// The text `add_generation_prompt` appends to `history` (empty when the template ignores it;
/// `None` when it cannot render the history on its own). Only its end is used, so when the two renderings
/// share the first characters of different endings (Phi-3: `<|assistant|>` vs `<|endoftext|>`)
/// the lost head does not matter.
pub(super) fn generation_prompt(
    t: &ChatTemplate,
    history: &[Value],
    opts: &RenderOptions,
) -> Option<String> {
    let messages = Value::from(history.to_vec());
    let with = t.render_values(messages.clone(), opts, true);
    let without = t.render_values(messages, opts, false);
    match (with, without) {
        (Ok(p), Ok(q)) => {
            let mut n = common_prefix(p.as_bytes(), q.as_bytes());
            while !p.is_char_boundary(n) {
                n -= 1;
            }
            Some(p[n..].to_string())
        }
        _ => None,
    }
}

/// Generation prompts by the options that can change them (extra variables, tools, documents;
/// not the time, which would defeat the cache when every sample has its own date, and which no
/// template puts into its generation prompt — if one did, spans would just start at the
/// content). Training renders thousands of conversations with the same options, so this saves
/// two renders per conversation.
#[derive(Default)]
pub(super) struct GenerationPrompts(std::sync::RwLock<std::collections::HashMap<String, String>>);

impl GenerationPrompts {
    /// Entries kept before the cache starts over (options are few in practice).
    const LIMIT: usize = 64;

    /// The cached prompt for `key`, else `make()`'s, remembered when there is one.
    pub(super) fn get_or_insert(
        &self,
        key: String,
        make: impl FnOnce() -> Option<String>,
    ) -> String {
        if let Ok(map) = self.0.read() {
            if let Some(g) = map.get(&key) {
                return g.clone();
            }
        }
        let Some(g) = make() else {
            return String::new();
        };
        if let Ok(mut map) = self.0.write() {
            if map.len() >= Self::LIMIT {
                map.clear();
            }
            map.insert(key, g.clone());
        }
        g
    }
}

/// The cache key of `opts` for [`GenerationPrompts`].
pub(super) fn options_key(opts: &RenderOptions) -> String {
    if opts.extra.is_empty() && opts.tools.is_none() && opts.documents.is_none() {
        return String::new();
    }
    let json = |v: Option<&serde_json::Value>| v.map(|v| v.to_string()).unwrap_or_default();
    format!(
        "{}\u{0}{}\u{0}{}",
        serde_json::Value::Object(opts.extra.clone()),
        json(opts.tools.as_ref()),
        json(opts.documents.as_ref())
    )
}

/// The end-of-turn token of `t`: render `user, assistant, user, assistant` with sentinel
/// contents (and, for templates that insist on one, a leading system message); the text after
/// the first assistant turn and the text after the last one share a prefix — the token, plus
/// whatever whitespace the template adds — cut at its first whitespace. A prefix that runs into
/// the start of the next token (`<|end|>` + `\n<|user|>` / `\n<|endoftext|>` share `<|` after
/// the newline) is cut at the newline; one without whitespace is cut after its last `>` or `]`.
pub(super) fn derive_end_of_turn(t: &ChatTemplate) -> Option<String> {
    let mark = |n: u32| format!("\u{E000}{n}\u{E001}");
    let (sys, u1, a1, u2, a2) = (mark(0), mark(1), mark(2), mark(3), mark(4));
    let _now = env::NowGuard::set(Some(chrono::DateTime::UNIX_EPOCH.naive_utc()));
    for with_system in [false, true] {
        let mut probe = Vec::new();
        if with_system {
            probe.push(message("system", &sys));
        }
        probe.extend([
            message("user", &u1),
            message("assistant", &a1),
            message("user", &u2),
            message("assistant", &a2),
        ]);
        let Ok(text) = t.render_values(Value::from(probe), &RenderOptions::default(), false) else {
            continue;
        };
        let (Some(a1_at), Some(u2_at), Some(a2_at)) =
            (text.find(&a1), text.find(&u2), text.find(&a2))
        else {
            continue;
        };
        let a1_end = a1_at + a1.len();
        if a1_end > u2_at || u2_at > a2_at {
            continue;
        }
        let after_first = &text[a1_end..u2_at];
        let after_last = &text[a2_at + a2.len()..];
        let mut n = common_prefix(after_first.as_bytes(), after_last.as_bytes());
        while !after_first.is_char_boundary(n) {
            n -= 1;
        }
        let shared = &after_first[..n];
        let mut token = shared.split(py::is_space).next().unwrap_or_default();
        if !token.ends_with(['>', ']']) {
            if let Some(k) = token.rfind(['>', ']']) {
                token = &token[..=k];
            }
        }
        return (!token.is_empty()).then(|| token.to_string());
    }
    None
}

fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

fn common_suffix(a: &[u8], b: &[u8]) -> usize {
    a.iter()
        .rev()
        .zip(b.iter().rev())
        .take_while(|(x, y)| x == y)
        .count()
}
