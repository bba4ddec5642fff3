//! The committed demo profile, and copying profiles into scratch directories so tests never
//! write into the repository.

use std::io;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde_json::json;

/// `datasets/demo-profile` in this checkout.
pub fn demo_profile() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../datasets/demo-profile")
}

/// Copy the directory tree `src` into `dst` (created if missing). Symlinks are copied as links.
pub fn copy_dir(src: &Path, dst: &Path) -> io::Result<()> {
    std::fs::create_dir_all(dst)?;
    for entry in std::fs::read_dir(src)? {
        let entry = entry?;
        let target = dst.join(entry.file_name());
        let kind = entry.file_type()?;
        if kind.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(entry.path())?, &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

/// Add `n` conversation memories to the profile at `root` in the seed's episodic format and
/// folder layout, the `i`-th captured at `start + i × step`, with texts drawn from the demo's
/// world (seeded by `tag` and `i`) that differ enough for near-duplicate removal to keep each.
pub fn add_conversations(
    root: &Path,
    start: DateTime<Utc>,
    step: chrono::Duration,
    n: usize,
    tag: &str,
) -> io::Result<()> {
    for i in 0..n {
        let ts = start + step * i as i32;
        let id = format!(
            "evt-{}{}",
            ts.format("%Y%m%d%H%M%S"),
            ts.timestamp_subsec_millis() / 100
        );
        let ev = json!({
            "id": id,
            "timestamp": ts.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "content": format!(
                "User: {tag} {}?\n\nAssistant: {}.",
                demo_words(&format!("{tag}{i}q"), 9),
                demo_words(&format!("{tag}{i}a"), 22)
            ),
            "type": "conversation",
            "entities": [],
            "tags": [],
            "importance": 0.5,
            "links": [],
            "userId": "nell",
            "metadata": {"cognitiveMode": "emulation", "usedOperator": false}
        });
        let path = crate::event_path(root, &ev)
            .ok_or_else(|| io::Error::other(format!("no episodic path for {id}")))?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(&path, serde_json::to_vec_pretty(&ev)?)?;
    }
    Ok(())
}

/// `n` words from the demo's world, drawn by a xorshift generator seeded with `seed`.
pub fn demo_words(seed: &str, n: usize) -> String {
    const VOCAB: &[&str] = &[
        "piano",
        "tuning",
        "harbor",
        "canoe",
        "lake",
        "Duluth",
        "Steinway",
        "unison",
        "treble",
        "bass",
        "hammer",
        "felt",
        "pitch",
        "rehearsal",
        "concert",
        "coffee",
        "bread",
        "cardamom",
        "bakery",
        "Otto",
        "dog",
        "walk",
        "ice",
        "ship",
        "laker",
        "bridge",
        "fog",
        "foghorn",
        "varnish",
        "cedar",
        "strip",
        "portage",
        "paddle",
        "tent",
        "spinet",
        "church",
        "school",
        "invoice",
        "tax",
        "folder",
        "mom",
        "phone",
        "crossword",
        "pen",
        "blackbird",
        "feeder",
        "yard",
        "snow",
        "shovel",
        "van",
        "garage",
        "Lyle",
        "Dev",
        "evening",
        "morning",
        "tired",
        "happy",
        "slow",
        "quick",
        "careful",
        "loud",
        "quiet",
        "wind",
        "rain",
        "sun",
        "kitchen",
        "shop",
        "bench",
        "string",
        "wire",
        "key",
        "octave",
        "ear",
        "fork",
        "mute",
        "wedge",
        "pin",
        "block",
        "soundboard",
        "glue",
        "clamp",
        "gunwale",
    ];
    let mut h: u64 = seed.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    (0..n)
        .map(|_| {
            h ^= h << 13;
            h ^= h >> 7;
            h ^= h << 17;
            VOCAB[(h % VOCAB.len() as u64) as usize]
        })
        .collect::<Vec<_>>()
        .join(" ")
}
