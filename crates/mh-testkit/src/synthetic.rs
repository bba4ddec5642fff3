//! Synthetic MetaHuman OS profiles in the seed's exact on-disk layout, for benchmarks and scale
//! tests.
//!
//! Layout and shapes follow the seed's writers (`memory.ts:captureEventWithDetails`,
//! the curator's `curated_memory_saver`, `persona/session-manager.ts`):
//!
//! * `memory/episodic/[<category>/]YYYY/MM/DD/<id>-<slug>.json`, pretty (2-space) JSON with the
//!   `EpisodicEvent` fields in the seed's order. Folder dates use **UTC** here (the seed uses the
//!   machine's local time) so output does not depend on the machine's time zone.
//! * `memory/curated/conversations/<UTC date>-<id>.json` for ~3 % of events (conversations whose
//!   source event carries `metadata.curated/curatedAt`).
//! * `persona/therapy/session-*.json` (2 sessions) + `index.json`, `persona/core.json`,
//!   `etc/training.json`.
//!
//! Everything comes from one ChaCha8 stream seeded by `seed`, timestamps included, so the same
//! `(events, seed)` always produces the same bytes.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use rand::seq::index::sample;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Map, Value};

/// Start of the synthetic timeline (2024-01-01T00:00:00Z, epoch ms).
const START_MS: i64 = 1_704_067_200_000;
/// The timeline spans about two years.
const SPAN_MS: i64 = 730 * 86_400_000;
/// Conversation turns closer than this share a session id.
const SESSION_GAP_MS: i64 = 30 * 60_000;

/// What [`synthetic_profile`] wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyntheticStats {
    /// Episodic event files (duplicates and feedback events included).
    pub events: usize,
    /// Episodic events per `type` field.
    pub by_type: BTreeMap<String, usize>,
    /// Conversation events per `metadata.cognitiveMode`.
    pub conversations_by_mode: BTreeMap<String, usize>,
    /// Events whose content exactly repeats an earlier event's (new id and timestamp).
    pub exact_duplicates: usize,
    /// `observation` events tagged `feedback` with `reinforcementSignal: -1` and a `targetId`.
    pub feedback_events: usize,
    /// Files in `memory/curated/conversations/`.
    pub curated_conversations: usize,
    /// Of those, `suitableForTraining: true`.
    pub curated_suitable: usize,
    /// `persona/therapy/session-*.json` files.
    pub therapy_sessions: usize,
    /// Answers across all therapy sessions.
    pub therapy_answers: usize,
    /// Every file written.
    pub files: usize,
    /// Total bytes written.
    pub bytes: u64,
}

/// Writes a synthetic profile with `events` episodic events under `root` (created if needed).
///
/// Mix, by design close to a real profile: ~45 % `conversation` (`"User: …\n\nAssistant: …"`,
/// with `metadata.cognitiveMode` dual/emulation/agent), then inner_dialogue, observation,
/// reflection, journal, dream, decision, action, tool_invocation and a few rarer types;
/// 10–150 words each; exactly `events / 100` exact duplicates and (about) `events / 200`
/// negative-feedback events; `events * 3 / 100` curated conversations.
pub fn synthetic_profile(root: &Path, events: usize, seed: u64) -> io::Result<SyntheticStats> {
    let mut w = Out::new(root);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);

    let person = Person::pick(&mut rng);
    let plan = Plan::new(&mut rng, events);
    write_episodic(&mut w, &mut rng, &person, &plan)?;
    write_therapy(&mut w, &mut rng, &person)?;
    write_persona(&mut w, &person)?;
    w.json(
        &root.join("etc/training.json"),
        &json!({
            "base_model": "Qwen/Qwen3.5-9B",
            "num_train_epochs": 2,
            "max_samples": 3000,
            "lora_rank": 8,
            "lora_alpha": 16,
            "learning_rate": 0.0002,
            "per_device_train_batch_size": 1,
            "gradient_accumulation_steps": 16,
            "max_seq_length": 2048
        }),
    )?;
    Ok(w.stats)
}

/// Where the seed would store `event` under `profile_root`:
/// `memory/episodic/[<category>/]YYYY/MM/DD/<id>-<slug>.json` (UTC date folders).
///
/// `None` when the event lacks a string `id` or an RFC 3339 `timestamp`.
pub fn event_path(profile_root: &Path, event: &Value) -> Option<PathBuf> {
    let id = event.get("id")?.as_str()?;
    let ts = DateTime::parse_from_rfc3339(event.get("timestamp")?.as_str()?)
        .ok()?
        .with_timezone(&Utc);
    let content = event.get("content").and_then(Value::as_str).unwrap_or("");
    let ty = event
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("observation");
    let tags: Vec<&str> = event
        .get("tags")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    Some(profile_root.join(episodic_rel_path(id, &ts, content, ty, &tags)))
}

/// The seed's `resolveEventCategory` (HEAD rules); `None` = directly under `episodic/`.
fn category(ty: &str, tags: &[&str]) -> Option<&'static str> {
    let ty = ty.trim().to_lowercase();
    let has = |t: &str| tags.iter().any(|x| x.trim().eq_ignore_ascii_case(t));
    match ty.as_str() {
        "reflection" => Some("reflections"),
        "dream" if has("audio") || has("transcript") => Some("audio-dreams"),
        "dream" => Some("dreams"),
        "audio" => Some("audio"),
        _ if has("curated") => Some("curated"),
        _ if has("audio") || has("transcript") => Some("audio"),
        "tool_invocation" => Some("tool-invocations"),
        "action" => Some("actions"),
        _ => None,
    }
}

/// The seed's file-name slug: lower-case, runs outside `[a-z0-9-]` → `-`, trim `-`, first 50.
pub fn slug(content: &str) -> String {
    let lower = content.to_lowercase();
    let mut out = String::with_capacity(64);
    let mut in_run = false;
    for c in lower.chars() {
        if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' {
            out.push(c);
            in_run = false;
        } else if !in_run {
            out.push('-');
            in_run = true;
        }
    }
    let trimmed = out.trim_matches('-');
    // Only ASCII remains, so byte slicing is char slicing.
    let cut = &trimmed[..trimmed.len().min(50)];
    if cut.is_empty() {
        "event".to_owned()
    } else {
        cut.to_owned()
    }
}

/// `evt-` + the first 15 digits of the ISO timestamp (seconds plus the first millisecond digit).
fn event_id(iso: &str) -> String {
    let digits: String = iso.chars().filter(char::is_ascii_digit).take(15).collect();
    format!("evt-{digits}")
}

fn episodic_rel_path(
    id: &str,
    ts: &DateTime<Utc>,
    content: &str,
    ty: &str,
    tags: &[&str],
) -> PathBuf {
    let mut p = PathBuf::from("memory/episodic");
    if let Some(cat) = category(ty, tags) {
        p.push(cat);
    }
    p.push(ts.format("%Y/%m/%d").to_string());
    p.push(format!("{id}-{}.json", slug(content)));
    p
}

/// Node's `Date#toISOString` form.
fn iso(ms: i64) -> io::Result<String> {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .ok_or_else(|| io::Error::other(format!("timestamp {ms} ms out of range")))
}

fn datetime(ms: i64) -> io::Result<DateTime<Utc>> {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .ok_or_else(|| io::Error::other(format!("timestamp {ms} ms out of range")))
}

// ---------------------------------------------------------------------------------------------
// Output bookkeeping

struct Out {
    root: PathBuf,
    dirs: HashSet<PathBuf>,
    stats: SyntheticStats,
}

impl Out {
    fn new(root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
            dirs: HashSet::new(),
            stats: SyntheticStats::default(),
        }
    }

    fn bytes(&mut self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        if let Some(dir) = path.parent() {
            // Thousands of events share a day folder; create each folder once.
            if !self.dirs.contains(dir) {
                fs::create_dir_all(dir)?;
                self.dirs.insert(dir.to_path_buf());
            }
        }
        fs::write(path, bytes)?;
        self.stats.files += 1;
        self.stats.bytes += bytes.len() as u64;
        Ok(())
    }

    /// Pretty JSON as `JSON.stringify(v, null, 2)` writes it (no trailing newline).
    fn json(&mut self, path: &Path, value: &Value) -> io::Result<()> {
        let bytes = serde_json::to_vec_pretty(value)?;
        self.bytes(path, &bytes)
    }
}

// ---------------------------------------------------------------------------------------------
// The plan: which slot gets which kind of event, decided before anything is written so the
// counts are exact and independent of generation order.

#[derive(Clone, Copy, PartialEq, Eq)]
enum Slot {
    Normal(&'static str),
    Duplicate,
    Feedback,
}

/// Type mix of a lived-in profile (weights sum to 100).
const TYPE_WEIGHTS: &[(&str, u32)] = &[
    ("conversation", 45),
    ("inner_dialogue", 12),
    ("observation", 10),
    ("reflection", 8),
    ("journal", 5),
    ("dream", 4),
    ("decision", 3),
    ("action", 3),
    ("tool_invocation", 3),
    ("summary", 2),
    ("curiosity_question", 2),
    ("task", 1),
    ("audio", 1),
    ("daydream", 1),
];

struct Plan {
    slots: Vec<Slot>,
    curated: Vec<bool>,
}

impl Plan {
    fn new(rng: &mut ChaCha8Rng, n: usize) -> Self {
        let total: u32 = TYPE_WEIGHTS.iter().map(|(_, w)| w).sum();
        let mut slots: Vec<Slot> = (0..n)
            .map(|_| {
                let mut roll = rng.random_range(0..total);
                let mut ty = TYPE_WEIGHTS[0].0;
                for &(name, w) in TYPE_WEIGHTS {
                    if roll < w {
                        ty = name;
                        break;
                    }
                    roll -= w;
                }
                Slot::Normal(ty)
            })
            .collect();

        // Duplicates and feedback need something earlier to point at, so never slot 0.
        if n > 1 {
            let dups = n / 100;
            let feedback = n / 200;
            let picked = sample(rng, n - 1, (dups + feedback).min(n - 1));
            for (k, i) in picked.into_iter().enumerate() {
                slots[i + 1] = if k < dups {
                    Slot::Duplicate
                } else {
                    Slot::Feedback
                };
            }
        }

        let candidates: Vec<usize> = (0..n)
            .filter(|&i| slots[i] == Slot::Normal("conversation"))
            .collect();
        let mut curated = vec![false; n];
        let k = (n * 3 / 100).min(candidates.len());
        for c in sample(rng, candidates.len(), k) {
            curated[candidates[c]] = true;
        }
        Self { slots, curated }
    }
}

// ---------------------------------------------------------------------------------------------
// Episodic events

struct Person {
    first: &'static str,
    last: &'static str,
    user_id: String,
}

impl Person {
    fn pick(rng: &mut ChaCha8Rng) -> Self {
        let first = pick(rng, FIRST_NAMES);
        let last = pick(rng, LAST_NAMES);
        Self {
            first,
            last,
            user_id: first.to_lowercase(),
        }
    }
}

/// The pieces of one event before it gets an id and a place on disk.
struct Draft {
    ty: &'static str,
    content: String,
    entities: Vec<String>,
    tags: Vec<String>,
    importance: f64,
    links: Vec<Value>,
    metadata: Map<String, Value>,
    response: Option<String>,
}

fn write_episodic(
    w: &mut Out,
    rng: &mut ChaCha8Rng,
    person: &Person,
    plan: &Plan,
) -> io::Result<()> {
    let n = plan.slots.len();
    let gaps = GapModel::new(n);
    let mut now = START_MS;
    let mut session: Option<(String, i64)> = None;
    // Recent events, the pool exact duplicates copy from (duplicates happen close in time).
    let mut recent: VecDeque<(Draft, String)> = VecDeque::with_capacity(64);
    let mut conversation_ids: VecDeque<String> = VecDeque::with_capacity(512);
    let mut last_id: Option<String> = None;

    for i in 0..n {
        if i > 0 {
            // ≥100 ms apart keeps ids (100 ms resolution) unique.
            now += gaps.next(rng).max(100);
        }
        let ts = iso(now)?;
        let id = event_id(&ts);

        let slot = match plan.slots[i] {
            Slot::Feedback if conversation_ids.is_empty() => Slot::Normal("observation"),
            Slot::Duplicate if recent.is_empty() => Slot::Normal("observation"),
            s => s,
        };
        let mut draft = match slot {
            Slot::Normal(ty) => {
                let mut d = draft_event(rng, ty, last_id.as_deref());
                if ty == "conversation" {
                    let sid = match &session {
                        Some((sid, last)) if now - last < SESSION_GAP_MS => sid.clone(),
                        _ => format!("conv-{now}"),
                    };
                    session = Some((sid.clone(), now));
                    d.metadata
                        .insert("conversationId".into(), Value::from(sid.clone()));
                    d.metadata.insert("sessionId".into(), Value::from(sid));
                    d.metadata
                        .insert("userId".into(), Value::from(person.user_id.clone()));
                }
                d
            }
            Slot::Duplicate => {
                let (src, _) = &recent[rng.random_range(0..recent.len())];
                w.stats.exact_duplicates += 1;
                Draft {
                    ty: src.ty,
                    content: src.content.clone(),
                    entities: src.entities.clone(),
                    tags: src.tags.clone(),
                    importance: src.importance,
                    links: src.links.clone(),
                    metadata: src.metadata.clone(),
                    response: src.response.clone(),
                }
            }
            Slot::Feedback => {
                let target = conversation_ids[rng.random_range(0..conversation_ids.len())].clone();
                w.stats.feedback_events += 1;
                feedback_event(rng, target)
            }
        };

        if plan.curated[i] && draft.ty == "conversation" {
            let curated_at = iso(now + rng.random_range(3_600_000..259_200_000))?;
            draft.metadata.insert("curated".into(), Value::from(true));
            draft
                .metadata
                .insert("curatedAt".into(), Value::from(curated_at.clone()));
            write_curated(w, rng, &id, &ts, now, &curated_at, &draft)?;
        }

        let event = event_json(&id, &ts, &draft, &person.user_id);
        let tags: Vec<&str> = draft.tags.iter().map(String::as_str).collect();
        let path = w.root.join(episodic_rel_path(
            &id,
            &datetime(now)?,
            &draft.content,
            draft.ty,
            &tags,
        ));
        w.json(&path, &event)?;

        w.stats.events += 1;
        *w.stats.by_type.entry(draft.ty.to_owned()).or_default() += 1;
        if draft.ty == "conversation" {
            let mode = draft
                .metadata
                .get("cognitiveMode")
                .and_then(Value::as_str)
                .unwrap_or("dual")
                .to_owned();
            *w.stats.conversations_by_mode.entry(mode).or_default() += 1;
            if conversation_ids.len() == 512 {
                conversation_ids.pop_front();
            }
            conversation_ids.push_back(id.clone());
        }
        if slot != Slot::Feedback {
            // Copies for later duplicates must not inherit curation.
            draft.metadata.remove("curated");
            draft.metadata.remove("curatedAt");
            if recent.len() == 64 {
                recent.pop_front();
            }
            recent.push_back((draft, id.clone()));
        }
        last_id = Some(id);
    }
    Ok(())
}

/// Field order of the seed's `rawEvent` literal; `response` only when set (JSON.stringify drops
/// `undefined`).
fn event_json(id: &str, ts: &str, d: &Draft, user_id: &str) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), Value::from(id));
    m.insert("timestamp".into(), Value::from(ts));
    m.insert("content".into(), Value::from(d.content.clone()));
    m.insert("type".into(), Value::from(d.ty));
    if let Some(r) = &d.response {
        m.insert("response".into(), Value::from(r.clone()));
    }
    m.insert("entities".into(), Value::from(d.entities.clone()));
    m.insert("tags".into(), Value::from(d.tags.clone()));
    m.insert("importance".into(), Value::from(d.importance));
    m.insert("links".into(), Value::Array(d.links.clone()));
    m.insert("userId".into(), Value::from(user_id));
    m.insert("metadata".into(), Value::Object(d.metadata.clone()));
    Value::Object(m)
}

/// Inter-event gaps: bursts (2 s – 3 min, a chat session) mixed with long pauses sized so that
/// `n` events span about two years. Integer-only so it is bit-identical on every platform.
struct GapModel {
    long_max: i64,
    uniform_mean: Option<i64>,
}

impl GapModel {
    fn new(n: usize) -> Self {
        let mean = SPAN_MS / (n.max(1) as i64);
        // 70 % bursts averaging 91 s; the remaining 30 % absorb the rest of the mean.
        let long_max = (mean - 63_700) * 20 / 3;
        if long_max < 10_000 {
            // Too many events for bursts + pauses: spread them evenly instead.
            Self {
                long_max: 0,
                uniform_mean: Some(mean.max(100)),
            }
        } else {
            Self {
                long_max,
                uniform_mean: None,
            }
        }
    }

    fn next(&self, rng: &mut ChaCha8Rng) -> i64 {
        if let Some(mean) = self.uniform_mean {
            return rng.random_range(mean / 2..=mean + mean / 2);
        }
        if rng.random_range(0..10) < 7 {
            rng.random_range(2_000..=180_000)
        } else {
            rng.random_range(0..=self.long_max)
        }
    }
}

fn draft_event(rng: &mut ChaCha8Rng, ty: &'static str, last_id: Option<&str>) -> Draft {
    let mut g = Gen::new(rng);
    let mut metadata = Map::new();
    let mut tags: Vec<String> = Vec::new();
    let mut links = Vec::new();
    let mut response = None;
    let importance = if ty == "conversation" {
        0.5
    } else {
        // Tenths from 0.3 to 0.9: never 1.0, which Rust would print as `1.0` and JS as `1`.
        f64::from(g.rng.random_range(3..=9u8)) / 10.0
    };

    let content = match ty {
        "conversation" => {
            let user = g.question();
            let assistant = g.text(8, 110, "");
            let mode = match g.rng.random_range(0..20) {
                0..=11 => "dual",
                12..=16 => "emulation",
                _ => "agent",
            };
            metadata.insert("cognitiveMode".into(), Value::from(mode));
            if mode == "agent" {
                metadata.insert("usedOperator".into(), Value::from(true));
            }
            format!("User: {user}\n\nAssistant: {assistant}")
        }
        "inner_dialogue" => {
            metadata.insert("cognitiveMode".into(), Value::from("dual"));
            let source = pick(
                g.rng,
                &["reflection", "curiosity", "inner-monologue", "boredom"],
            );
            metadata.insert("dialogueSource".into(), Value::from(source));
            tags.push("inner".into());
            let opener = pick(g.rng, INNER_OPENERS);
            g.text(10, 120, opener)
        }
        "observation" => {
            let opener = pick(g.rng, &["Noticed that ", "Observed: ", ""]);
            g.text(10, 90, opener)
        }
        "reflection" => {
            tags.push("reflection".into());
            if let Some(prev) = last_id {
                links.push(json!({"type": "source", "target": prev}));
            }
            let topic = pick(g.rng, TOPICS);
            g.text(30, 150, &format!("Looking back on {topic}, "))
        }
        "journal" => {
            let when = capitalize(pick(g.rng, TIMES));
            g.text(25, 150, &format!("{when}: "))
        }
        "dream" => {
            tags.push("dream".into());
            if g.rng.random_range(0..5) == 0 {
                tags.push("audio".into());
            }
            g.text(20, 130, "I dreamt that ")
        }
        "daydream" => g.text(15, 90, "Imagining "),
        "decision" => {
            let verb = pick3(g.rng, VERBS).0;
            let noun = pick(g.rng, NOUNS);
            g.text(12, 70, &format!("Decided to {verb} the {noun}. "))
        }
        "action" => {
            let skill = pick(g.rng, SKILLS);
            metadata.insert("skillId".into(), Value::from(skill));
            metadata.insert("success".into(), Value::from(g.rng.random_range(0..10) > 0));
            let noun = pick(g.rng, NOUNS);
            g.text(10, 40, &format!("Ran {skill} on the {noun}. "))
        }
        "tool_invocation" => {
            let tool = pick(g.rng, SKILLS);
            let noun = pick(g.rng, NOUNS);
            let ok = g.rng.random_range(0..10) > 0;
            metadata.insert("toolName".into(), Value::from(tool));
            metadata.insert("toolInputs".into(), json!({ "query": noun }));
            metadata.insert("toolOutputs".into(), json!({ "ok": ok }));
            metadata.insert("success".into(), Value::from(ok));
            metadata.insert(
                "executionTimeMs".into(),
                Value::from(g.rng.random_range(5..4000u32)),
            );
            let status = if ok { "succeeded" } else { "failed" };
            g.text(10, 30, &format!("Tool {tool} {status} for {noun}. "))
        }
        "summary" => {
            tags.push("summary".into());
            if let Some(prev) = last_id {
                links.push(json!({"type": "summarizes", "target": prev}));
            }
            let when = pick(g.rng, TIMES);
            g.text(30, 150, &format!("Summary of {when}: "))
        }
        "curiosity_question" => {
            tags.push("curiosity".into());
            let q = g.question();
            let prefix = format!("{} ", capitalize(&q));
            g.text(10, 40, &prefix)
        }
        "task" => {
            let (verb, _, _) = pick3(g.rng, VERBS);
            let adj = pick(g.rng, ADJECTIVES);
            let noun = pick(g.rng, NOUNS);
            let when = pick(g.rng, TIMES);
            g.text(10, 25, &format!("Task: {verb} the {adj} {noun} ({when}). "))
        }
        "audio" => {
            tags.push("audio".into());
            tags.push("transcript".into());
            g.text(20, 150, "Transcript: ")
        }
        _ => g.text(10, 150, ""),
    };

    if ty != "conversation" && ty != "inner_dialogue" && g.rng.random_range(0..2) == 0 {
        metadata.insert("processed".into(), Value::from(true));
    }
    // The seed rarely fills `response`; keep a trace of it so readers handle it.
    if ty == "inner_dialogue" && g.rng.random_range(0..50) == 0 {
        response = Some(g.text(5, 30, ""));
    }
    if g.rng.random_range(0..3) == 0 {
        let t = pick(g.rng, TAGS);
        if !tags.iter().any(|x| x == t) {
            tags.push(t.to_owned());
        }
    }
    // People the text mentions, first mention first, like an entity extractor would list them.
    let mut entities: Vec<String> = Vec::new();
    for p in &g.people {
        if !entities.iter().any(|e| e == p) {
            entities.push((*p).to_owned());
        }
    }

    Draft {
        ty,
        content,
        entities,
        tags,
        importance,
        links,
        metadata,
        response,
    }
}

/// The separate memory `/api/feedback` stores for a thumbs-down.
fn feedback_event(rng: &mut ChaCha8Rng, target: String) -> Draft {
    let mut g = Gen::new(rng);
    let comment = g.rng.random_range(0..2) == 0;
    let content = if comment {
        g.text(10, 40, &format!("Negative feedback on response {target}: "))
    } else {
        format!("Negative feedback on response {target}: thumbs down, no comment given.")
    };
    let mut metadata = Map::new();
    metadata.insert("reinforcementSignal".into(), Value::from(-1));
    metadata.insert("isTrainingData".into(), Value::from(true));
    metadata.insert("feedbackType".into(), Value::from("thumbs_down"));
    metadata.insert("targetType".into(), Value::from("conversation"));
    metadata.insert("targetId".into(), Value::from(target));
    metadata.insert("hasComment".into(), Value::from(comment));
    metadata.insert("source".into(), Value::from("feedback"));
    Draft {
        ty: "observation",
        content,
        entities: Vec::new(),
        tags: vec![
            "feedback".into(),
            "training-data".into(),
            "feedback-conversation".into(),
        ],
        importance: 0.5,
        links: Vec::new(),
        metadata,
        response: None,
    }
}

/// `CuratedConversation` as the curator graph saves it.
fn write_curated(
    w: &mut Out,
    rng: &mut ChaCha8Rng,
    id: &str,
    ts: &str,
    now: i64,
    curated_at: &str,
    d: &Draft,
) -> io::Result<()> {
    let (user, assistant) = d
        .content
        .strip_prefix("User: ")
        .and_then(|rest| rest.split_once("\n\nAssistant: "))
        .unwrap_or(("", d.content.as_str()));
    let mode = d
        .metadata
        .get("cognitiveMode")
        .cloned()
        .unwrap_or_else(|| Value::from("dual"));
    let roll = rng.random_range(0..50);
    let record = if roll == 0 {
        // The shape written when the curator LLM failed.
        json!({
            "id": id,
            "originalTimestamp": ts,
            "conversationalEssence": d.content,
            "curatedAt": curated_at,
            "flags": ["curator-error"],
            "suitableForTraining": false,
            "rejectionReason": "Curator LLM error: request timed out",
            "cognitiveMode": mode,
            "memoryType": d.ty,
        })
    } else {
        let suitable = roll > 5;
        let essence = first_sentence(assistant);
        let mut m = Map::new();
        m.insert("id".into(), Value::from(id));
        m.insert("originalTimestamp".into(), Value::from(ts));
        m.insert("conversationalEssence".into(), Value::from(essence));
        m.insert(
            "context".into(),
            Value::from(format!("Chat about {}", pick(rng, TOPICS))),
        );
        m.insert("userMessage".into(), Value::from(user));
        m.insert("assistantResponse".into(), Value::from(assistant));
        m.insert("curatedAt".into(), Value::from(curated_at));
        let flags: Vec<&str> = if suitable {
            vec![]
        } else {
            vec!["low-quality"]
        };
        m.insert("flags".into(), Value::from(flags));
        m.insert("suitableForTraining".into(), Value::from(suitable));
        if !suitable {
            m.insert(
                "rejectionReason".into(),
                Value::from("Too generic to teach anything about the person"),
            );
        }
        m.insert("cognitiveMode".into(), mode);
        m.insert("memoryType".into(), Value::from(d.ty));
        Value::Object(m)
    };
    if record["suitableForTraining"] == Value::Bool(true) {
        w.stats.curated_suitable += 1;
    }
    let date = datetime(now)?.format("%Y-%m-%d").to_string();
    let path = w
        .root
        .join(format!("memory/curated/conversations/{date}-{id}.json"));
    w.json(&path, &record)?;
    w.stats.curated_conversations += 1;
    Ok(())
}

fn first_sentence(text: &str) -> &str {
    match text.find(['.', '?', '!']) {
        Some(i) => &text[..=i],
        None => text,
    }
}

// ---------------------------------------------------------------------------------------------
// Therapy sessions and persona

const THERAPY_CATEGORIES: &[&str] = &["values", "goals", "style", "biography", "current_focus"];

fn write_therapy(w: &mut Out, rng: &mut ChaCha8Rng, person: &Person) -> io::Result<()> {
    let mut index_entries = Vec::new();
    // One finished interview early in the timeline, one still active near the end.
    for (k, (start, asked, answered, status)) in [
        (START_MS + 3 * 86_400_000, 10usize, 10usize, "completed"),
        (START_MS + SPAN_MS - 20 * 86_400_000, 4, 3, "active"),
    ]
    .into_iter()
    .enumerate()
    {
        let suffix: String = (0..7)
            .map(|_| char::from(b"0123456789abcdefghijklmnopqrstuvwxyz"[rng.random_range(0..36)]))
            .collect();
        let session_id = format!("session-{start}-{suffix}");
        let mut questions = Vec::new();
        let mut answers = Vec::new();
        let mut coverage: BTreeMap<&str, u32> =
            THERAPY_CATEGORIES.iter().map(|c| (*c, 0)).collect();
        let mut t = start;
        for q in 0..asked {
            let cat = THERAPY_CATEGORIES[q % THERAPY_CATEGORIES.len()];
            let qid = format!("q-{}-{}", k + 1, q + 1);
            t += rng.random_range(30_000..600_000);
            let prompt = therapy_prompt(cat, pick(rng, TOPICS));
            questions.push(
                json!({"id": qid, "prompt": prompt, "category": cat, "generatedAt": iso(t)?}),
            );
            if q < answered {
                t += rng.random_range(30_000..900_000);
                let mut g = Gen::new(rng);
                let content = g.text(20, 120, "");
                answers.push(json!({"questionId": qid, "content": content, "capturedAt": iso(t)?}));
                if let Some(c) = coverage.get_mut(cat) {
                    // The seed counts 50 % per answered question, capped at 100.
                    *c = (*c + 50).min(100);
                }
            }
        }
        w.stats.therapy_answers += answers.len();
        let coverage_json: Map<String, Value> = THERAPY_CATEGORIES
            .iter()
            .map(|c| {
                (
                    (*c).to_owned(),
                    Value::from(coverage.get(c).copied().unwrap_or(0)),
                )
            })
            .collect();
        let session = json!({
            "sessionId": session_id,
            "userId": person.user_id,
            "username": person.user_id,
            "status": status,
            "createdAt": iso(start)?,
            "updatedAt": iso(t)?,
            "questions": questions,
            "answers": answers,
            "categoryCoverage": coverage_json,
        });
        w.json(
            &w.root.join(format!("persona/therapy/{session_id}.json")),
            &session,
        )?;
        w.stats.therapy_sessions += 1;
        index_entries.push(json!({
            "sessionId": session_id,
            "status": status,
            "createdAt": iso(start)?,
            "updatedAt": iso(t)?,
            "questionCount": asked,
            "answerCount": answered,
        }));
    }
    // Newest first, like the seed's index.
    index_entries.reverse();
    let latest = index_entries
        .first()
        .and_then(|e| e.get("sessionId"))
        .cloned()
        .unwrap_or(Value::Null);
    let index = json!({
        "latestSessionId": latest,
        "totalSessions": index_entries.len(),
        "completedCount": 1,
        "sessions": index_entries,
    });
    w.json(&w.root.join("persona/therapy/index.json"), &index)
}

/// A psychotherapist-style question for one interview category.
fn therapy_prompt(category: &str, topic: &str) -> String {
    match category {
        "values" => format!("What matters most to you when it comes to {topic}?"),
        "goals" => format!("Where do you hope {topic} will stand a year from now?"),
        "style" => format!("How would a close friend describe the way you talk about {topic}?"),
        "biography" => format!("Tell me about a time {topic} changed how you saw yourself."),
        _ => format!("What about {topic} is taking most of your attention right now?"),
    }
}

fn write_persona(w: &mut Out, person: &Person) -> io::Result<()> {
    let full = format!("{} {}", person.first, person.last);
    let core = json!({
        "version": "0.1.0",
        "lastUpdated": iso(START_MS + SPAN_MS)?,
        "identity": {
            "name": full,
            "humanName": full,
            "role": "Digital personality extension",
            "purpose": format!("Think, remember and speak like {}", person.first),
            "aliases": [person.first],
            "email": format!("{}@example.invalid", person.user_id),
            "icon": ""
        },
        "background": format!("{} fixes bicycles, writes short stories and grows too many tomatoes.", person.first),
        "personality": {
            "communicationStyle": {
                "tone": ["warm", "dry humour"],
                "verbosity": "concise",
                "emphasis": ["honesty"],
                "formality": "casual",
                "vocabularyLevel": "everyday"
            },
            "traits": {
                "openness": 0.8, "conscientiousness": 0.6, "extraversion": 0.4,
                "agreeableness": 0.7, "neuroticism": 0.3, "notes": ""
            },
            "archetypes": ["tinkerer"],
            "aesthetic": ["worn wood", "field notes"],
            "interests": ["cycling", "gardening", "fiction"],
            "narrativeStyle": "first person, plain"
        },
        "values": {
            "core": [
                {"value": "curiosity", "description": "Ask one more question", "priority": 1},
                {"value": "kindness", "description": "Leave people better off", "priority": 2}
            ],
            "boundaries": ["no medical advice"]
        },
        "goals": {
            "shortTerm": ["finish the garden layout"],
            "midTerm": ["run a half marathon"],
            "longTerm": ["publish a story collection"]
        },
        "context": {},
        "decisionHeuristics": ["sleep on big decisions"],
        "writingStyle": {},
        "notes": "synthetic profile generated by mh-testkit"
    });
    w.json(&w.root.join("persona/core.json"), &core)
}

// ---------------------------------------------------------------------------------------------
// Text generation from word lists: every slot is an independent draw, so two events sharing
// more than a few phrases is rare (they are not near-duplicates of each other).

struct Gen<'a> {
    rng: &'a mut ChaCha8Rng,
    people: Vec<&'static str>,
}

impl<'a> Gen<'a> {
    fn new(rng: &'a mut ChaCha8Rng) -> Self {
        Self {
            rng,
            people: Vec::new(),
        }
    }

    fn person(&mut self) -> &'static str {
        let p = pick(self.rng, PEOPLE);
        self.people.push(p);
        p
    }

    fn subject(&mut self) -> String {
        match self.rng.random_range(0..6) {
            0 | 1 => "I".to_owned(),
            2 => "we".to_owned(),
            3 => self.person().to_owned(),
            _ => pick(self.rng, GROUPS).to_owned(),
        }
    }

    fn clause(&mut self) -> String {
        let subj = self.subject();
        let (_, past, _) = pick3(self.rng, VERBS);
        let det = pick(self.rng, DETERMINERS);
        let adj = pick(self.rng, ADJECTIVES);
        let noun = pick(self.rng, NOUNS);
        format!("{subj} {past} {det} {adj} {noun}")
    }

    fn sentence(&mut self) -> String {
        match self.rng.random_range(0..10) {
            0 => {
                let c = self.clause();
                let place = pick(self.rng, PLACES);
                format!("{} {place}.", capitalize(&c))
            }
            1 => {
                let p = self.person();
                let c = self.clause();
                let when = pick(self.rng, TIMES);
                format!("{p} said {c} {when}.")
            }
            2 => {
                let topic = pick(self.rng, TOPICS);
                let det = pick(self.rng, DETERMINERS);
                let noun = pick(self.rng, NOUNS);
                let (_, _, s3) = pick3(self.rng, VERBS);
                let adv = pick(self.rng, ADVERBS);
                format!("I keep thinking about {topic} because {det} {noun} {s3} things {adv}.")
            }
            3 => {
                let when = capitalize(pick(self.rng, TIMES));
                let c = self.clause();
                let p = self.person();
                format!("{when}, {c} with {p}.")
            }
            4 => {
                let d1 = pick(self.rng, DETERMINERS);
                let n1 = pick(self.rng, NOUNS);
                let a1 = pick(self.rng, ADJECTIVES);
                let d2 = pick(self.rng, DETERMINERS);
                let n2 = pick(self.rng, NOUNS);
                let adv = pick(self.rng, ADVERBS);
                format!("Maybe {d1} {n1} is {a1}, but {d2} {n2} keeps changing {adv}.")
            }
            5 => {
                let feel = pick(self.rng, FEELINGS);
                let (base, _, _) = pick3(self.rng, VERBS);
                let det = pick(self.rng, DETERMINERS);
                let adj = pick(self.rng, ADJECTIVES);
                let noun = pick(self.rng, NOUNS);
                let place = pick(self.rng, PLACES);
                format!("It felt {feel} to {base} {det} {adj} {noun} {place}.")
            }
            6 => {
                let p = self.person();
                let topic = pick(self.rng, TOPICS);
                let dur = pick(self.rng, DURATIONS);
                format!("{p} and I talked about {topic} for {dur}.")
            }
            7 => {
                let (base, _, _) = pick3(self.rng, VERBS);
                let det = pick(self.rng, DETERMINERS);
                let adj = pick(self.rng, ADJECTIVES);
                let noun = pick(self.rng, NOUNS);
                format!("Next time I should {base} {det} {adj} {noun} first.")
            }
            8 => {
                let adj = pick(self.rng, ADJECTIVES);
                let noun = pick(self.rng, NOUNS);
                let place = pick(self.rng, PLACES);
                let (_, past, _) = pick3(self.rng, VERBS);
                format!("There was this {adj} {noun} {place}, and nobody {past} it.")
            }
            _ => {
                let c = self.clause();
                let topic = pick(self.rng, TOPICS);
                let feel = pick(self.rng, FEELINGS);
                format!("{}, which made {topic} feel {feel}.", capitalize(&c))
            }
        }
    }

    fn question(&mut self) -> String {
        match self.rng.random_range(0..6) {
            0 => format!("what do you think about {}?", pick(self.rng, TOPICS)),
            1 => {
                let (base, _, _) = pick3(self.rng, VERBS);
                let noun = pick(self.rng, NOUNS);
                format!("can you help me {base} the {noun}?")
            }
            2 => {
                let p = self.person();
                let (_, past, _) = pick3(self.rng, VERBS);
                let noun = pick(self.rng, NOUNS);
                format!("do you remember when {p} {past} my {noun}?")
            }
            3 => format!("how should I handle {}?", pick(self.rng, TOPICS)),
            4 => {
                let adj = pick(self.rng, ADJECTIVES);
                let noun = pick(self.rng, NOUNS);
                format!("any ideas for the {adj} {noun}?")
            }
            _ => {
                let (_, past, _) = pick3(self.rng, VERBS);
                let noun = pick(self.rng, NOUNS);
                let when = pick(self.rng, TIMES);
                let lead = self.sentence();
                format!("{lead} I {past} the {noun} {when}. thoughts?")
            }
        }
    }

    /// Sentences after `prefix` until at least a random target in `min..=max` words.
    fn text(&mut self, min: usize, max: usize, prefix: &str) -> String {
        let target = self.rng.random_range(min..=max);
        let mut out = String::with_capacity(target * 7);
        out.push_str(prefix);
        let mut words = prefix.split_whitespace().count();
        let mut first = true;
        while words < target {
            let s = self.sentence();
            words += s.split_whitespace().count();
            if !out.is_empty() && !out.ends_with(' ') {
                out.push(' ');
            }
            if first && !prefix.is_empty() && !prefix.ends_with(". ") && !prefix.ends_with(": ") {
                // Continue the prefix's sentence in lower case.
                out.push_str(&lowercase_first(&s));
            } else {
                out.push_str(&s);
            }
            first = false;
        }
        out.truncate(out.trim_end().len());
        out
    }
}

fn pick<T: Copy>(rng: &mut ChaCha8Rng, items: &[T]) -> T {
    items[rng.random_range(0..items.len())]
}

fn pick3(
    rng: &mut ChaCha8Rng,
    items: &[(&'static str, &'static str, &'static str)],
) -> (&'static str, &'static str, &'static str) {
    pick(rng, items)
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn lowercase_first(s: &str) -> String {
    // Keep "I" and names capitalised; only common words are lowered.
    let first_word = s.split(' ').next().unwrap_or("");
    if first_word == "I" || PEOPLE.contains(&first_word) {
        return s.to_owned();
    }
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

const FIRST_NAMES: &[&str] = &[
    "Robin", "Alex", "Jordan", "Casey", "Morgan", "Avery", "Riley", "Quinn",
];
const LAST_NAMES: &[&str] = &[
    "Hale",
    "Moreau",
    "Okafor",
    "Lindqvist",
    "Tanaka",
    "Castillo",
    "Byrne",
    "Novak",
];

const PEOPLE: &[&str] = &[
    "Maya", "Jonas", "Priya", "Tomás", "Aiko", "Dev", "Lena", "Marcus", "Sofia", "Kwame", "Hannah",
    "Ravi", "Elena", "Owen", "Noor", "Felix", "Grace", "Mateo", "Ingrid", "Sam", "Yuki", "Bea",
    "Caleb", "Zoë", "Theo", "Amara", "Lukas", "Ines", "Omar", "Clara",
];

const GROUPS: &[&str] = &[
    "my neighbor",
    "the team",
    "my brother",
    "the landlord",
    "our coach",
    "my old roommate",
    "the kids",
    "my manager",
    "the band",
    "grandma",
];

const NOUNS: &[&str] = &[
    "garden",
    "bicycle",
    "guitar",
    "notebook",
    "deadline",
    "kitchen",
    "train ticket",
    "letter",
    "project",
    "recipe",
    "camera",
    "budget",
    "playlist",
    "apartment",
    "meeting",
    "novel",
    "sketch",
    "workshop",
    "bakery",
    "harbor map",
    "laptop",
    "podcast",
    "telescope",
    "jacket",
    "concert",
    "tomato plant",
    "spreadsheet",
    "lantern",
    "ferry schedule",
    "library card",
    "coffee grinder",
    "drum kit",
    "umbrella",
    "tent",
    "puzzle",
    "painting",
    "compiler",
    "server",
    "river path",
    "sourdough starter",
    "bookshelf",
    "van",
    "cello",
    "tax form",
    "postcard",
    "chess set",
    "sewing machine",
    "blog post",
];

const ADJECTIVES: &[&str] = &[
    "quiet",
    "messy",
    "bright",
    "unfinished",
    "stubborn",
    "cheap",
    "borrowed",
    "strange",
    "familiar",
    "heavy",
    "tiny",
    "noisy",
    "careful",
    "lazy",
    "warm",
    "cold",
    "crooked",
    "brilliant",
    "awkward",
    "half-broken",
    "new",
    "old",
    "rainy",
    "slow",
    "honest",
    "clumsy",
    "patient",
    "golden",
    "fragile",
    "odd",
    "secondhand",
    "ambitious",
];

const VERBS: &[(&str, &str, &str)] = &[
    ("fix", "fixed", "fixes"),
    ("forget", "forgot", "forgets"),
    ("find", "found", "finds"),
    ("build", "built", "builds"),
    ("sell", "sold", "sells"),
    ("paint", "painted", "paints"),
    ("lose", "lost", "loses"),
    ("borrow", "borrowed", "borrows"),
    ("rewrite", "rewrote", "rewrites"),
    ("clean", "cleaned", "cleans"),
    ("plan", "planned", "plans"),
    ("cook", "cooked", "cooks"),
    ("read", "read", "reads"),
    ("carry", "carried", "carries"),
    ("test", "tested", "tests"),
    ("break", "broke", "breaks"),
    ("return", "returned", "returns"),
    ("measure", "measured", "measures"),
    ("sketch", "sketched", "sketches"),
    ("record", "recorded", "records"),
    ("organize", "organized", "organizes"),
    ("question", "questioned", "questions"),
    ("replace", "replaced", "replaces"),
    ("ship", "shipped", "ships"),
    ("water", "watered", "waters"),
    ("tune", "tuned", "tunes"),
    ("photograph", "photographed", "photographs"),
];

const DETERMINERS: &[&str] = &["the", "my", "that", "our", "this", "their", "your"];

const PLACES: &[&str] = &[
    "at the market",
    "in the studio",
    "on the night bus",
    "at the office",
    "by the river",
    "in the back yard",
    "at my parents' place",
    "in the library",
    "on the balcony",
    "at the climbing gym",
    "in the old warehouse",
    "at the train station",
    "in the cafe on Elm Street",
    "at the harbor",
    "in the attic",
    "on the rooftop",
    "at the co-working space",
    "in the hospital waiting room",
    "at the lake cabin",
    "in the garage",
];

const TIMES: &[&str] = &[
    "this morning",
    "last night",
    "yesterday afternoon",
    "on Sunday",
    "before lunch",
    "after the storm",
    "two weeks ago",
    "around midnight",
    "at dawn",
    "during the break",
    "last spring",
    "over the weekend",
    "right after work",
    "on the way home",
    "early in the week",
];

const TOPICS: &[&str] = &[
    "moving to a new city",
    "learning the cello",
    "my sister's wedding",
    "burnout",
    "the garden layout",
    "saving for a van",
    "quitting sugar",
    "the open-source project",
    "sleep schedules",
    "old friendships",
    "the job offer",
    "writing a short story",
    "teaching kids to code",
    "climbing grades",
    "the neighborhood council",
    "my grandfather's stories",
    "running a half marathon",
    "the broken heater",
    "language lessons",
    "the band reunion",
    "taxes",
    "a road trip north",
    "minimalism",
    "the new manager",
    "volunteering at the shelter",
];

const FEELINGS: &[&str] = &[
    "strange",
    "good",
    "exhausting",
    "freeing",
    "awkward",
    "calming",
    "bittersweet",
    "hilarious",
    "frustrating",
    "oddly satisfying",
    "nerve-wracking",
    "peaceful",
];

const ADVERBS: &[&str] = &[
    "slowly",
    "again",
    "too often",
    "without warning",
    "better than expected",
    "in a weird way",
    "all the time",
    "for no reason",
    "surprisingly well",
    "half-heartedly",
    "every day",
    "at the worst moment",
];

const DURATIONS: &[&str] = &[
    "an hour",
    "ten minutes",
    "most of the evening",
    "the whole drive",
    "a long walk",
    "two coffees",
    "half the night",
];

const INNER_OPENERS: &[&str] = &[
    "I wonder if ",
    "Part of me thinks ",
    "Note to self: ",
    "Honestly, ",
    "Somehow ",
];

const SKILLS: &[&str] = &[
    "web_search",
    "fs_read",
    "fs_write",
    "calendar_add",
    "task_create",
    "weather_lookup",
    "summarize_url",
    "shell_safe",
];

const TAGS: &[&str] = &[
    "work", "family", "music", "health", "travel", "coding", "friends", "books", "cooking",
    "money", "garden", "sleep",
];

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// All files under `root` as (relative path, bytes), sorted.
    fn snapshot(root: &Path) -> Vec<(PathBuf, Vec<u8>)> {
        fn walk(root: &Path, dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
            for entry in fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    walk(root, &path, out);
                } else {
                    let rel = path.strip_prefix(root).unwrap().to_path_buf();
                    out.push((rel, fs::read(&path).unwrap()));
                }
            }
        }
        let mut out = Vec::new();
        walk(root, root, &mut out);
        out.sort();
        out
    }

    fn events_in(root: &Path) -> Vec<(PathBuf, Value)> {
        snapshot(&root.join("memory/episodic"))
            .into_iter()
            .map(|(p, b)| (p, serde_json::from_slice(&b).unwrap()))
            .collect()
    }

    #[test]
    fn deterministic_for_same_seed() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let c = tempfile::tempdir().unwrap();
        let sa = synthetic_profile(a.path(), 1500, 42).unwrap();
        let sb = synthetic_profile(b.path(), 1500, 42).unwrap();
        let sc = synthetic_profile(c.path(), 1500, 43).unwrap();
        assert_eq!(sa, sb);
        let (snap_a, snap_b) = (snapshot(a.path()), snapshot(b.path()));
        assert_eq!(snap_a.len(), sa.files);
        assert!(snap_a == snap_b, "same seed must give the same bytes");
        assert!(
            snapshot(c.path()) != snap_a,
            "another seed gives another profile"
        );
        assert_ne!(sa, sc);
    }

    #[test]
    fn counts_layout_and_schema() {
        let dir = tempfile::tempdir().unwrap();
        let n = 3000;
        let stats = synthetic_profile(dir.path(), n, 7).unwrap();
        let events = events_in(dir.path());
        assert_eq!(events.len(), n);
        assert_eq!(stats.events, n);
        assert_eq!(stats.by_type.values().sum::<usize>(), n);
        assert_eq!(stats.exact_duplicates, n / 100);
        assert_eq!(stats.feedback_events, n / 200);
        assert_eq!(stats.curated_conversations, n * 3 / 100);
        assert_eq!(stats.therapy_sessions, 2);
        assert_eq!(stats.therapy_answers, 13);
        let conv = stats.by_type["conversation"] as f64 / n as f64;
        assert!((0.40..0.50).contains(&conv), "conversation share {conv}");
        assert_eq!(
            stats.conversations_by_mode.values().sum::<usize>(),
            stats.by_type["conversation"]
        );
        // events + curated + 2 therapy sessions + therapy index + core.json + training.json
        assert_eq!(stats.files, n + stats.curated_conversations + 5);

        let mut ids = HashSet::new();
        let mut contents: HashMap<String, usize> = HashMap::new();
        let mut feedback_targets = Vec::new();
        let mut words_total = 0usize;
        for (rel, ev) in &events {
            let obj = ev.as_object().unwrap();
            let keys: Vec<&str> = obj.keys().map(String::as_str).collect();
            let expected: &[&str] = if obj.contains_key("response") {
                &[
                    "id",
                    "timestamp",
                    "content",
                    "type",
                    "response",
                    "entities",
                    "tags",
                    "importance",
                    "links",
                    "userId",
                    "metadata",
                ]
            } else {
                &[
                    "id",
                    "timestamp",
                    "content",
                    "type",
                    "entities",
                    "tags",
                    "importance",
                    "links",
                    "userId",
                    "metadata",
                ]
            };
            assert_eq!(keys, expected, "{rel:?}");
            let id = ev["id"].as_str().unwrap();
            assert!(
                id.len() == 19 && id[4..].bytes().all(|b| b.is_ascii_digit()),
                "{id}"
            );
            assert!(ids.insert(id.to_owned()), "duplicate id {id}");
            let content = ev["content"].as_str().unwrap();
            let words = content.split_whitespace().count();
            assert!((8..=175).contains(&words), "{words} words in {rel:?}");
            words_total += words;
            *contents.entry(content.to_owned()).or_default() += 1;

            // The path is derived from the event exactly as the seed does.
            assert_eq!(
                Path::new("memory/episodic").join(rel),
                event_path(Path::new(""), ev).unwrap(),
                "{rel:?}"
            );
            let ty = ev["type"].as_str().unwrap();
            let top = rel
                .components()
                .next()
                .unwrap()
                .as_os_str()
                .to_str()
                .unwrap();
            match ty {
                "reflection" => assert_eq!(top, "reflections"),
                "action" => assert_eq!(top, "actions"),
                "tool_invocation" => assert_eq!(top, "tool-invocations"),
                "conversation" => {
                    assert!(top.starts_with("20"), "{rel:?}");
                    assert!(content.starts_with("User: ") && content.contains("\n\nAssistant: "));
                    assert!(ev["metadata"]["cognitiveMode"].is_string());
                }
                _ => {}
            }
            if ev["metadata"]["reinforcementSignal"] == -1 {
                assert!(ev["tags"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|t| t == "feedback"));
                feedback_targets.push(ev["metadata"]["targetId"].as_str().unwrap().to_owned());
            }
        }
        assert_eq!(feedback_targets.len(), n / 200);
        for t in &feedback_targets {
            assert!(ids.contains(t), "feedback target {t} missing");
        }
        // Exact duplicates are planned; accidental repeats would show up here as extra copies.
        let repeated: usize = contents.values().map(|c| c - 1).sum();
        assert!(
            repeated >= n / 100 && repeated <= n / 100 + 3,
            "{repeated} repeated contents"
        );
        let mean = words_total / n;
        assert!((30..=90).contains(&mean), "mean length {mean} words");

        // Curated records point at curated conversation events.
        let curated = snapshot(&dir.path().join("memory/curated/conversations"));
        assert_eq!(curated.len(), stats.curated_conversations);
        let by_id: HashMap<&str, &Value> = events
            .iter()
            .map(|(_, e)| (e["id"].as_str().unwrap(), e))
            .collect();
        for (rel, bytes) in &curated {
            let rec: Value = serde_json::from_slice(bytes).unwrap();
            let id = rec["id"].as_str().unwrap();
            let name = rel.to_str().unwrap();
            assert!(
                name.len() == 11 + id.len() + 5 && name.ends_with(&format!("-{id}.json")),
                "{name}"
            );
            let ev = by_id[id];
            assert_eq!(ev["type"], "conversation");
            assert_eq!(ev["metadata"]["curated"], true);
            assert_eq!(rec["originalTimestamp"], ev["timestamp"]);
        }

        let core: Value =
            serde_json::from_slice(&fs::read(dir.path().join("persona/core.json")).unwrap())
                .unwrap();
        assert!(core["identity"]["name"].as_str().unwrap().contains(' '));
        assert!(dir.path().join("etc/training.json").is_file());
    }

    /// Content is generated, not templated copies: unrelated events share few word trigrams.
    #[test]
    fn contents_are_not_near_duplicates() {
        let dir = tempfile::tempdir().unwrap();
        synthetic_profile(dir.path(), 600, 11).unwrap();
        let shingles: Vec<HashSet<String>> = events_in(dir.path())
            .iter()
            .map(|(_, e)| {
                let words: Vec<&str> = e["content"].as_str().unwrap().split_whitespace().collect();
                words.windows(3).map(|w| w.join(" ")).collect()
            })
            .filter(|s: &HashSet<String>| s.len() >= 10)
            .collect();
        let mut similar = 0;
        let mut pairs = 0;
        for i in (0..shingles.len()).step_by(7) {
            for j in (i + 1..shingles.len()).step_by(13) {
                let inter = shingles[i].intersection(&shingles[j]).count();
                let union = shingles[i].len() + shingles[j].len() - inter;
                pairs += 1;
                if inter * 2 > union {
                    similar += 1;
                }
            }
        }
        // Only the planned exact duplicates may look alike.
        assert!(
            similar * 100 <= pairs * 2,
            "{similar}/{pairs} near-duplicate pairs"
        );
    }

    #[test]
    fn slug_matches_seed_rule() {
        assert_eq!(
            slug("User: how was the gig?\n\nAssistant: Loud."),
            "user-how-was-the-gig-assistant-loud"
        );
        assert_eq!(slug("!!!"), "event");
        assert_eq!(slug(""), "event");
        assert_eq!(slug("Tomás -- café"), "tom-s----caf");
        // "abcd-" × 10 is exactly 50 chars, so the cut lands right after a dash.
        let long = slug(&"abcd ".repeat(40));
        assert_eq!(long.len(), 50);
        assert!(
            long.ends_with('-'),
            "the seed cuts after trimming, so a trailing dash survives"
        );
    }

    #[test]
    fn ids_follow_the_seed() {
        assert_eq!(event_id("2025-11-21T10:30:00.123Z"), "evt-202511211030001");
    }

    /// Scale check for benchmarks: `cargo test -p mh-testkit --release -- --ignored --nocapture`.
    #[test]
    #[ignore = "writes 100k files; run on demand"]
    fn hundred_thousand_events() {
        let dir = tempfile::tempdir().unwrap();
        let t = std::time::Instant::now();
        let stats = synthetic_profile(dir.path(), 100_000, 1).unwrap();
        let took = t.elapsed();
        eprintln!(
            "100k events: {took:?}, {} files, {} MB",
            stats.files,
            stats.bytes / 1_000_000
        );
        assert_eq!(stats.events, 100_000);
    }
}
