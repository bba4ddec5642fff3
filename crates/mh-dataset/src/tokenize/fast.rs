//! A faster `encode` for the common byte-level BPE layout (GPT-2, SmolLM2, Qwen2, Llama 3),
//! giving exactly the ids and byte offsets `tokenizers`' own `encode(text, false)` gives.
//!
//! `tokenizers` routes every piece of text through `NormalizedString` alignment bookkeeping;
//! for a byte-level tokenizer without a normalizer that bookkeeping is an identity map, and it
//! costs most of the encoding time. This path does the same steps on plain `&str`s: split out
//! the added tokens (leftmost-longest, non-normalized tokens first, then normalized ones in
//! the gaps, as `AddedVocabulary` does), split the rest with the pre-tokenizer's regex (the
//! crate's own regex engine, `Isolated` behaviour), map bytes to GPT-2's byte alphabet, and run
//! the crate's own BPE model (with its cache) on each piece. A token's offsets cover the
//! original characters its bytes came from, as the byte-level alignments do.
//!
//! [`FastEncoder::new`] accepts only a `tokenizer.json` whose every setting is one this path
//! reproduces; anything else (a normalizer, other pre-tokenizers, offset trimming, added tokens
//! that strip spaces or match single words, BPE dropout) gets `None`
//! and the caller uses `tokenizers` itself. Tests compare the two on many texts.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;
use tokenizers::models::bpe::BPE;
use tokenizers::utils::SysRegex;
use tokenizers::{Model, ModelWrapper, Tokenizer};

/// GPT-2's `ByteLevel` split pattern (used when `use_regex` is true).
const GPT2_PATTERN: &str =
    r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

/// Pieces of text up to this many bytes have their tokens remembered per thread (words and
/// punctuation recur; the BPE's own cache still costs a byte mapping and an allocation per
/// token on a hit).
const PIECE_CACHE_MAX_BYTES: usize = 48;
const PIECE_CACHE_CAPACITY: usize = 200_000;

static NEXT_ENCODER: AtomicU64 = AtomicU64::new(0);

/// One token of a remembered piece: id and byte offsets relative to the piece.
type PieceToken = (u32, u32, u32);

/// The encoder number the cache belongs to, and piece → tokens.
type PieceCache = (u64, HashMap<Box<str>, Box<[PieceToken]>>);

/// Token ids and their byte offsets into the encoded text.
pub type IdsAndOffsets = (Vec<u32>, Vec<(usize, usize)>);

thread_local! {
    /// The piece cache of the encoder this thread used last (tagged with its number).
    static PIECES: RefCell<PieceCache> =
        RefCell::new((u64::MAX, HashMap::new()));
}

/// The plain-`&str` encoder for one tokenizer.
pub struct FastEncoder {
    /// Tags this encoder's entries in the per-thread piece cache.
    id: u64,
    split: SysRegex,
    bpe: BPE,
    /// Added tokens matched on the raw text first, then those matched on normalized text (the
    /// same text here, there being no normalizer); each list longest first.
    raw_added: AddedTokens,
    normalized_added: AddedTokens,
    byte_char: [char; 256],
}

/// Added tokens, longest first, with the bytes they can start with (most positions of a text
/// start none, and are skipped without comparing).
struct AddedTokens {
    tokens: Vec<(String, u32)>,
    first_byte: [bool; 256],
}

impl AddedTokens {
    fn new(mut tokens: Vec<(String, u32)>) -> Self {
        // Longest first, then by id, so the first match at a position is the longest one.
        tokens.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.1.cmp(&b.1)));
        let mut first_byte = [false; 256];
        for (t, _) in &tokens {
            if let Some(&b) = t.as_bytes().first() {
                first_byte[b as usize] = true;
            }
        }
        Self { tokens, first_byte }
    }
}

impl FastEncoder {
    /// The fast path for `tokenizer` (parsed from `json`), or `None` when some setting is not
    /// one it reproduces exactly.
    pub fn new(json: &Value, tokenizer: &Tokenizer) -> Option<Self> {
        // Truncation and padding are switched off on load ([`super::ModelTokenizer`]).
        if !json.get("normalizer").is_none_or(Value::is_null) {
            return None;
        }
        let pattern = split_pattern(json.get("pre_tokenizer")?)?;
        if !post_processor_keeps_offsets(json.get("post_processor")) {
            return None;
        }
        let ModelWrapper::BPE(bpe) = tokenizer.get_model() else {
            return None;
        };
        if bpe.dropout.is_some_and(|d| d > 0.0) {
            return None;
        }
        let mut raw_added = Vec::new();
        let mut normalized_added = Vec::new();
        for (id, t) in tokenizer.get_added_tokens_decoder() {
            if t.lstrip || t.rstrip || t.single_word || t.content.is_empty() {
                return None;
            }
            if t.normalized {
                normalized_added.push((t.content, id));
            } else {
                raw_added.push((t.content, id));
            }
        }
        Some(Self {
            id: NEXT_ENCODER.fetch_add(1, Ordering::Relaxed),
            split: SysRegex::new(&pattern).ok()?,
            bpe: bpe.clone(),
            raw_added: AddedTokens::new(raw_added),
            normalized_added: AddedTokens::new(normalized_added),
            byte_char: byte_chars(),
        })
    }

    /// Token ids and byte offsets of `text`, as `encode(text, false)` gives them.
    pub fn encode(&self, text: &str) -> Result<IdsAndOffsets, String> {
        let mut ids = Vec::with_capacity(text.len() / 3);
        let mut offsets = Vec::with_capacity(text.len() / 3);
        let mut mapped = String::new();
        let mut char_at = Vec::new();
        for (range, added) in split_added(text, 0..text.len(), &self.raw_added) {
            if let Some(id) = added {
                ids.push(id);
                offsets.push((range.start, range.end));
                continue;
            }
            for (range, added) in split_added(text, range, &self.normalized_added) {
                if let Some(id) = added {
                    ids.push(id);
                    offsets.push((range.start, range.end));
                    continue;
                }
                let segment = &text[range.clone()];
                // Matches are pieces, and so are the gaps between them (`Isolated`).
                let mut pieces = Vec::new();
                let mut at = 0;
                for (s, e) in self.split.find_iter(segment) {
                    pieces.push((at, s));
                    pieces.push((s, e));
                    at = e;
                }
                pieces.push((at, segment.len()));
                for (s, e) in pieces {
                    if s < e {
                        self.piece(
                            text,
                            range.start + s,
                            range.start + e,
                            &mut mapped,
                            &mut char_at,
                            &mut ids,
                            &mut offsets,
                        )?;
                    }
                }
            }
        }
        Ok((ids, offsets))
    }

    /// BPE one pre-tokenized piece `text[start..end]`.
    #[allow(clippy::too_many_arguments)]
    fn piece(
        &self,
        text: &str,
        start: usize,
        end: usize,
        mapped: &mut String,
        char_at: &mut Vec<usize>,
        ids: &mut Vec<u32>,
        offsets: &mut Vec<(usize, usize)>,
    ) -> Result<(), String> {
        let cacheable = end - start <= PIECE_CACHE_MAX_BYTES;
        let piece = match text.get(start..end) {
            Some(p) if cacheable => p,
            _ => return self.bpe_piece(text, start, end, mapped, char_at, ids, offsets),
        };
        PIECES.with(|cell| {
            let mut cache = cell.borrow_mut();
            if cache.0 != self.id {
                *cache = (self.id, HashMap::new());
            }
            if let Some(hit) = cache.1.get(piece) {
                for &(id, s, e) in hit.iter() {
                    ids.push(id);
                    offsets.push((start + s as usize, start + e as usize));
                }
                return Ok(());
            }
            let first = ids.len();
            self.bpe_piece(text, start, end, mapped, char_at, ids, offsets)?;
            if cache.1.len() < PIECE_CACHE_CAPACITY {
                // Offsets are under PIECE_CACHE_MAX_BYTES, so they fit.
                let tokens: Box<[PieceToken]> = ids[first..]
                    .iter()
                    .zip(&offsets[first..])
                    .map(|(&id, &(s, e))| (id, (s - start) as u32, (e - start) as u32))
                    .collect();
                cache.1.insert(piece.into(), tokens);
            }
            Ok(())
        })
    }

    /// BPE one piece by the model (no piece cache).
    #[allow(clippy::too_many_arguments)]
    fn bpe_piece(
        &self,
        text: &str,
        start: usize,
        end: usize,
        mapped: &mut String,
        char_at: &mut Vec<usize>,
        ids: &mut Vec<u32>,
        offsets: &mut Vec<(usize, usize)>,
    ) -> Result<(), String> {
        mapped.clear();
        char_at.clear();
        for &b in &text.as_bytes()[start..end] {
            char_at.push(mapped.len());
            mapped.push(self.byte_char[b as usize]);
        }
        char_at.push(mapped.len());
        for t in self.bpe.tokenize(mapped).map_err(|e| e.to_string())? {
            // Mapped bytes → mapped chars = original bytes → whole original characters.
            let (Ok(a), Ok(b)) = (
                char_at.binary_search(&t.offsets.0),
                char_at.binary_search(&t.offsets.1),
            ) else {
                return Err(format!("BPE offsets {:?} inside a character", t.offsets));
            };
            let mut s = start + a;
            let mut e = start + b;
            while !text.is_char_boundary(s) {
                s -= 1;
            }
            while !text.is_char_boundary(e) {
                e += 1;
            }
            ids.push(t.id);
            offsets.push((s, e));
        }
        Ok(())
    }
}

/// `text[range]` cut at the leftmost-longest occurrences of `added`: `(piece, Some(id))` for
/// a token, `(piece, None)` between them; empty pieces skipped.
fn split_added(
    text: &str,
    range: std::ops::Range<usize>,
    added: &AddedTokens,
) -> Vec<(std::ops::Range<usize>, Option<u32>)> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut gap = range.start;
    let mut i = range.start;
    while i < range.end {
        if !added.first_byte[bytes[i] as usize] {
            i += 1;
            continue;
        }
        let found = added
            .tokens
            .iter()
            .find(|(t, _)| bytes[i..range.end].starts_with(t.as_bytes()));
        match found {
            Some((t, id)) => {
                if gap < i {
                    out.push((gap..i, None));
                }
                out.push((i..i + t.len(), Some(*id)));
                i += t.len();
                gap = i;
            }
            None => i += 1,
        }
    }
    if gap < range.end {
        out.push((gap..range.end, None));
    }
    out
}

/// The regex the pre-tokenizer splits with, when it is one of the layouts this path knows:
/// `ByteLevel(add_prefix_space=false, use_regex=true)` (GPT-2's pattern), or
/// `Sequence[Split(Regex, Isolated), ByteLevel(add_prefix_space=false, use_regex=false)]`.
fn split_pattern(pre: &Value) -> Option<String> {
    let byte_level = |v: &Value, use_regex: bool| {
        v["type"] == "ByteLevel"
            && v["add_prefix_space"] == false
            && v.get("use_regex").and_then(Value::as_bool).unwrap_or(true) == use_regex
    };
    if byte_level(pre, true) {
        return Some(GPT2_PATTERN.to_string());
    }
    if pre["type"] != "Sequence" {
        return None;
    }
    match pre["pretokenizers"].as_array()?.as_slice() {
        [split, bl]
            if split["type"] == "Split"
                && split["behavior"] == "Isolated"
                && split["invert"] == false
                && byte_level(bl, false) =>
        {
            split["pattern"]["Regex"].as_str().map(String::from)
        }
        _ => None,
    }
}

/// With `add_special_tokens = false` a post-processor only matters if it changes offsets
/// (`ByteLevel` with `trim_offsets`).
fn post_processor_keeps_offsets(pp: Option<&Value>) -> bool {
    let Some(pp) = pp.filter(|v| !v.is_null()) else {
        return true;
    };
    match pp["type"].as_str() {
        Some("ByteLevel") => pp["trim_offsets"] == false,
        Some("TemplateProcessing") => true,
        Some("Sequence") => pp["processors"]
            .as_array()
            .is_some_and(|ps| ps.iter().all(|p| post_processor_keeps_offsets(Some(p)))),
        _ => false,
    }
}

/// GPT-2's byte → printable character table: printable Latin-1 bytes map to themselves, the
/// rest to U+0100 onwards in byte order.
fn byte_chars() -> [char; 256] {
    let mut table = ['\0'; 256];
    let mut next = 256u32;
    for b in 0..=255u8 {
        let printable = matches!(b, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF);
        let code = if printable {
            u32::from(b)
        } else {
            next += 1;
            next - 1
        };
        table[b as usize] = char::from_u32(code).unwrap_or('\u{FFFD}');
    }
    table
}
