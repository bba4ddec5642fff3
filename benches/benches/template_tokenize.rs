//! Render + tokenize with assistant labels: 100k demo-like conversations through the ChatML
//! template and the tiny tokenizer, as `dataset build --model` does them. Prints
//! conversations/s and tokens/s on one thread and on all cores, and a digest of every
//! `input_ids`/`labels` pair that `scripts/baselines/hf_apply_chat_template.py` reproduces
//! with transformers on the same input (the conversations are written to a JSONL file for it).
//!
//! The conversations are the demo profile's samples (system prompt first) cycled to the count,
//! each first user turn prefixed with its number so no two are identical.
//! `MH_BENCH_CONVERSATIONS` changes the count.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::{DateTime, Utc};
use mh_dataset::template::{ChatTemplate, TemplateChoice};
use mh_dataset::tokenize::dataset::Encoder;
use mh_dataset::tokenize::{self, Encoded, LabelTurns, ModelTokenizer};
use mh_dataset::{Message, Role};
use mh_profile::{NoProgress, Profile};
use rayon::prelude::*;
use sha2::{Digest, Sha256};

fn main() {
    if let Err(e) = run() {
        eprintln!("template_tokenize: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let count: usize = std::env::var("MH_BENCH_CONVERSATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let demo = mh_testkit::demo_profile();
    let (config, req) = mh_dataset::config::load(&demo, None)?;
    let built = mh_dataset::build(&Profile::at(&demo), &config, &req, &NoProgress)?;

    let dir = mh_bench::cache_dir("template-tokenize");
    let tok_dir = dir.join("tiny-tokenizer");
    let texts = tokenize::tiny::corpus(&built, &config);
    let tiny = tokenize::train_tiny_tokenizer(&texts, tokenize::DEFAULT_TINY_VOCAB_SIZE, &tok_dir)?;

    let base: Vec<Vec<Message>> = built
        .train
        .iter()
        .chain(&built.eval)
        .map(|s| mh_dataset::with_system_prompt(s, &config, &built.person))
        .collect();
    let conversations: Vec<Vec<Message>> = (0..count)
        .map(|k| {
            let mut c = base[k % base.len()].clone();
            if let Some(m) = c.iter_mut().find(|m| m.role == Role::User) {
                m.content = format!("#{k} {}", m.content);
            }
            c
        })
        .collect();
    let input = write_input(&dir.join("conversations.jsonl"), &conversations)?;

    let template = ChatTemplate::load(&tok_dir, &TemplateChoice::Auto)?;
    let tokenizer = ModelTokenizer::load(&tiny.tokenizer_json)?;
    let encoder = Encoder {
        template: &template,
        tokenizer: &tokenizer,
        label_turns: LabelTurns::All,
    };
    let now = DateTime::<Utc>::UNIX_EPOCH.naive_utc();
    let encode_all = || -> Result<Vec<Encoded>, tokenize::TokenizeError> {
        conversations
            .par_iter()
            .map(|c| encoder.encode("bench", c, now))
            .collect()
    };

    println!(
        "template_tokenize: {count} conversations, ChatML + tiny tokenizer ({} tokens), input {}",
        tiny.vocab_size,
        input.display()
    );
    let cores = rayon::current_num_threads();
    let mut digest = String::new();
    for threads in [1, cores] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()?;
        // Warm up (BPE cache, page cache), then the best of three.
        pool.install(encode_all)?;
        let mut best = f64::INFINITY;
        let mut encoded = Vec::new();
        for _ in 0..3 {
            let start = Instant::now();
            encoded = pool.install(encode_all)?;
            best = best.min(start.elapsed().as_secs_f64());
        }
        let tokens: usize = encoded.iter().map(Encoded::len).sum();
        println!(
            "template_tokenize/{threads} thread(s): {best:.2} s, {:.0} conversations/s, {:.0} tokens/s",
            count as f64 / best,
            tokens as f64 / best
        );
        digest = digest_of(&encoded);
    }
    println!("digest of input_ids+labels: {digest}");
    Ok(())
}

fn write_input(path: &Path, conversations: &[Vec<Message>]) -> std::io::Result<PathBuf> {
    mh_profile::atomic_write_with(path, |w| {
        for c in conversations {
            serde_json::to_writer(&mut *w, c).map_err(std::io::Error::other)?;
            w.write_all(b"\n")?;
        }
        Ok(())
    })?;
    Ok(path.to_path_buf())
}

/// SHA-256 over `ids;labels\n` per conversation, numbers comma-separated (the Python baseline
/// computes the same).
fn digest_of(encoded: &[Encoded]) -> String {
    let mut h = Sha256::new();
    let join = |v: &mut dyn Iterator<Item = String>| v.collect::<Vec<_>>().join(",");
    for e in encoded {
        let ids = join(&mut e.input_ids.iter().map(u32::to_string));
        let labels = join(&mut e.labels.iter().map(i32::to_string));
        h.update(format!("{ids};{labels}\n").as_bytes());
    }
    hex::encode(h.finalize())
}
