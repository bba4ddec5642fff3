//! Files a profile reader must survive, and encrypted event fixtures.
//!
//! [`hostile_episodic_dir`] plants one file per failure class in a single day folder, so a test
//! can assert that the reader reports each one (with its path) and still returns the valid
//! control event. [`encrypted_event`] writes `*.json.enc` memories the way the seed does.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use mh_profile::crypto::{self, EncryptionMeta, ProfileKey, IV_LEN, META_FILE, SALT_LEN};
use rand::Rng;
use serde_json::{json, Value};

use crate::synthetic::event_path;

/// One planted file and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostileFile {
    pub path: PathBuf,
    /// One of [`HOSTILE_KINDS`].
    pub kind: &'static str,
}

/// Every kind [`hostile_episodic_dir`] can return. The symlink kinds exist on Unix only.
pub const HOSTILE_KINDS: &[&str] = &[
    "malformed-json",
    "wrong-type-content",
    "wrong-type-tags",
    "array-not-object",
    "missing-fields",
    "invalid-utf8",
    "huge-file",
    "symlink-loop",
    "dangling-symlink",
    "unreadable",
    "empty-file",
    "valid",
];

/// Day folder (relative to the profile root) that receives the hostile files.
pub const HOSTILE_DAY_DIR: &str = "memory/episodic/2026/01/01";
/// Sibling folder that receives the symlinks, so following them is the only way in.
pub const HOSTILE_LINK_DIR: &str = "memory/episodic/2026/01/links";
/// Size of the `huge-file` content string.
pub const HUGE_CONTENT_BYTES: usize = 50 * 1024 * 1024;

/// Creates the hostile files under `profile_root` and returns each with its kind.
///
/// Notes for assertions:
/// * `missing-fields` (`{}`) is not a read error: a reader should accept it and produce no sample.
/// * `unreadable` has mode 000; a test running as root can still read it.
/// * `valid` is the one control event a reader must return.
pub fn hostile_episodic_dir(profile_root: &Path) -> io::Result<Vec<HostileFile>> {
    let day = profile_root.join(HOSTILE_DAY_DIR);
    fs::create_dir_all(&day)?;
    let mut out = Vec::new();
    let mut add = |path: PathBuf, kind: &'static str| {
        out.push(HostileFile { path, kind });
    };

    let valid = event(
        "evt-202601010000000",
        "2026-01-01T00:00:00.000Z",
        "User: is this file fine?\n\nAssistant: Yes, this one is the control.",
    );
    let valid_bytes = serde_json::to_vec_pretty(&valid)?;
    let p = event_path(profile_root, &valid)
        .ok_or_else(|| io::Error::other("control event has no id/timestamp"))?;
    fs::write(&p, &valid_bytes)?;
    add(p, "valid");

    // Cut mid-string, like a write interrupted by a crash.
    let p = day.join("evt-202601010000010-truncated.json");
    fs::write(&p, &valid_bytes[..valid_bytes.len() * 3 / 5])?;
    add(p, "malformed-json");

    let mut wrong = event("evt-202601010000020", "2026-01-01T00:00:02.000Z", "");
    wrong["content"] = json!(5);
    let p = day.join("evt-202601010000020-wrong-content-type.json");
    fs::write(&p, serde_json::to_vec_pretty(&wrong)?)?;
    add(p, "wrong-type-content");

    let mut wrong = event(
        "evt-202601010000030",
        "2026-01-01T00:00:03.000Z",
        "Tags should be an array.",
    );
    wrong["tags"] = json!("x");
    let p = day.join("evt-202601010000030-tags-should-be-an-array.json");
    fs::write(&p, serde_json::to_vec_pretty(&wrong)?)?;
    add(p, "wrong-type-tags");

    let arr = json!([event(
        "evt-202601010000040",
        "2026-01-01T00:00:04.000Z",
        "Inside an array."
    )]);
    let p = day.join("evt-202601010000040-inside-an-array.json");
    fs::write(&p, serde_json::to_vec_pretty(&arr)?)?;
    add(p, "array-not-object");

    let p = day.join("evt-202601010000050-event.json");
    fs::write(&p, b"{}")?;
    add(p, "missing-fields");

    // Well-formed JSON structure whose content string holds bytes that are not UTF-8.
    let p = day.join("evt-202601010000060-bad-bytes.json");
    let mut bytes = Vec::new();
    bytes.extend_from_slice(b"{\n  \"id\": \"evt-202601010000060\",\n  \"timestamp\": \"2026-01-01T00:00:06.000Z\",\n  \"content\": \"bad bytes: ");
    bytes.extend_from_slice(&[0xff, 0xfe, 0xc3, 0x28, 0xa0]);
    bytes.extend_from_slice(b" end\",\n  \"type\": \"observation\",\n  \"entities\": [],\n  \"tags\": [],\n  \"importance\": 0.5,\n  \"links\": [],\n  \"metadata\": {}\n}");
    fs::write(&p, bytes)?;
    add(p, "invalid-utf8");

    let p = day.join("evt-202601010000070-huge.json");
    write_huge(&p)?;
    add(p, "huge-file");

    let p = day.join("evt-202601010000080-locked.json");
    fs::write(
        &p,
        serde_json::to_vec_pretty(&event(
            "evt-202601010000080",
            "2026-01-01T00:00:08.000Z",
            "Nobody may read this.",
        ))?,
    )?;
    make_unreadable(&p)?;
    add(p, "unreadable");

    let p = day.join("evt-202601010000090-empty.json");
    fs::write(&p, b"")?;
    add(p, "empty-file");

    #[cfg(unix)]
    {
        use std::os::unix::fs::symlink;
        let links = profile_root.join(HOSTILE_LINK_DIR);
        fs::create_dir_all(&links)?;
        // `links/loop` → `links`: links/loop/loop/… never ends for a walker that follows links.
        let p = links.join("loop");
        symlink(".", &p)?;
        add(p, "symlink-loop");
        let p = links.join("gone.json");
        symlink("does-not-exist.json", &p)?;
        add(p, "dangling-symlink");
    }

    Ok(out)
}

/// A minimal seed-shaped event.
fn event(id: &str, ts: &str, content: &str) -> Value {
    json!({
        "id": id,
        "timestamp": ts,
        "content": content,
        "type": "conversation",
        "entities": [],
        "tags": [],
        "importance": 0.5,
        "links": [],
        "userId": "hostile",
        "metadata": {"cognitiveMode": "dual"}
    })
}

/// A valid-looking event whose content is a 50 MiB string, written in 1 MiB blocks.
fn write_huge(path: &Path) -> io::Result<()> {
    const BLOCK: usize = 1024 * 1024;
    let phrase = b"the river keeps going past the old mill ";
    let block: Vec<u8> = phrase.iter().copied().cycle().take(BLOCK).collect();
    let mut f = io::BufWriter::new(fs::File::create(path)?);
    f.write_all(b"{\n  \"id\": \"evt-202601010000070\",\n  \"timestamp\": \"2026-01-01T00:00:07.000Z\",\n  \"content\": \"")?;
    for _ in 0..HUGE_CONTENT_BYTES / BLOCK {
        f.write_all(&block)?;
    }
    f.write_all(b"\",\n  \"type\": \"observation\",\n  \"entities\": [],\n  \"tags\": [],\n  \"importance\": 0.5,\n  \"links\": [],\n  \"metadata\": {}\n}")?;
    f.flush()
}

#[cfg(unix)]
fn make_unreadable(path: &Path) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(0o000))
}

#[cfg(not(unix))]
fn make_unreadable(path: &Path) -> io::Result<()> {
    // Read-only is the closest portable approximation.
    let mut perms = fs::metadata(path)?.permissions();
    perms.set_readonly(true);
    fs::set_permissions(path, perms)
}

/// Writes `event_json` as an encrypted memory (`<seed path>.json.enc`) and returns its path.
///
/// Creates `<profile>/.encryption-meta.json` with a random salt and `iterations` if the profile
/// has none; an existing meta (and its iteration count) is reused, as the seed would. Use a small
/// `iterations` (e.g. 1000) in tests: the seed's 100 000 takes noticeable time per derivation.
/// The event needs a string `id` and an RFC 3339 `timestamp` to be placed.
pub fn encrypted_event(
    profile_root: &Path,
    passphrase: &str,
    event_json: &Value,
    iterations: u32,
) -> io::Result<PathBuf> {
    let mut paths = encrypted_events(
        profile_root,
        passphrase,
        std::slice::from_ref(event_json),
        iterations,
    )?;
    paths
        .pop()
        .ok_or_else(|| io::Error::other("no encrypted event written"))
}

/// Like [`encrypted_event`] for many events, deriving the key once.
pub fn encrypted_events(
    profile_root: &Path,
    passphrase: &str,
    events: &[Value],
    iterations: u32,
) -> io::Result<Vec<PathBuf>> {
    let meta = match EncryptionMeta::load(profile_root).map_err(io::Error::other)? {
        Some(meta) => meta,
        None => {
            let mut salt = [0u8; SALT_LEN];
            rand::rng().fill(&mut salt);
            let meta = EncryptionMeta::new_random_like_seed(salt, iterations);
            fs::create_dir_all(profile_root)?;
            fs::write(
                profile_root.join(META_FILE),
                serde_json::to_vec_pretty(&meta.to_json())?,
            )?;
            meta
        }
    };
    let key = ProfileKey::derive(passphrase, &meta).map_err(io::Error::other)?;

    let mut paths = Vec::with_capacity(events.len());
    for ev in events {
        let plain_path = event_path(profile_root, ev).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "event needs a string `id` and an RFC 3339 `timestamp`",
            )
        })?;
        let mut name = plain_path.into_os_string();
        name.push(crypto::ENCRYPTED_EXTENSION);
        let path = PathBuf::from(name);
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir)?;
        }
        let mut iv = [0u8; IV_LEN];
        rand::rng().fill(&mut iv);
        // The seed encrypts the same 2-space pretty JSON it would have written in the clear.
        let plaintext = serde_json::to_vec_pretty(ev)?;
        fs::write(&path, crypto::encrypt(&key, &plaintext, iv))?;
        paths.push(path);
    }
    Ok(paths)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_planted() {
        let dir = tempfile::tempdir().unwrap();
        let files = hostile_episodic_dir(dir.path()).unwrap();
        for kind in HOSTILE_KINDS {
            if cfg!(not(unix)) && kind.contains("symlink") {
                continue;
            }
            assert!(files.iter().any(|f| f.kind == *kind), "missing {kind}");
        }
        for f in &files {
            // symlink_metadata: the links themselves exist even where their targets do not.
            assert!(fs::symlink_metadata(&f.path).is_ok(), "{f:?}");
            assert!(f
                .path
                .starts_with(dir.path().join("memory/episodic/2026/01")));
        }
        let huge = files.iter().find(|f| f.kind == "huge-file").unwrap();
        assert!(fs::metadata(&huge.path).unwrap().len() > HUGE_CONTENT_BYTES as u64);
        let bad = files.iter().find(|f| f.kind == "invalid-utf8").unwrap();
        assert!(std::str::from_utf8(&fs::read(&bad.path).unwrap()).is_err());
        let valid = files.iter().find(|f| f.kind == "valid").unwrap();
        let v: Value = serde_json::from_slice(&fs::read(&valid.path).unwrap()).unwrap();
        assert_eq!(event_path(dir.path(), &v).unwrap(), valid.path);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let locked = files.iter().find(|f| f.kind == "unreadable").unwrap();
            assert_eq!(
                fs::metadata(&locked.path).unwrap().permissions().mode() & 0o777,
                0
            );
            let looped = files.iter().find(|f| f.kind == "symlink-loop").unwrap();
            assert_eq!(
                fs::canonicalize(&looped.path).unwrap(),
                fs::canonicalize(looped.path.parent().unwrap()).unwrap()
            );
            let gone = files.iter().find(|f| f.kind == "dangling-symlink").unwrap();
            assert!(fs::metadata(&gone.path).is_err());
        }
    }

    #[test]
    fn encrypted_event_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let ev = event(
            "evt-202511211030001",
            "2025-11-21T10:30:00.123Z",
            "User: secret?\n\nAssistant: Safe.",
        );
        let path = encrypted_event(dir.path(), "pass phrase", &ev, 1000).unwrap();
        assert!(path.ends_with(
            "memory/episodic/2025/11/21/evt-202511211030001-user-secret-assistant-safe.json.enc"
        ));

        let meta = EncryptionMeta::load(dir.path()).unwrap().unwrap();
        assert_eq!(meta.iterations, 1000);
        assert_eq!(meta.salt.len(), SALT_LEN);
        let key = ProfileKey::derive("pass phrase", &meta).unwrap();
        let plain = crypto::decrypt(&key, &fs::read(&path).unwrap()).unwrap();
        assert_eq!(plain, serde_json::to_vec_pretty(&ev).unwrap());

        // A second event reuses the meta (and its iteration count).
        let ev2 = event("evt-202511211030002", "2025-11-21T10:30:00.200Z", "Second.");
        let p2 = encrypted_event(dir.path(), "pass phrase", &ev2, 5).unwrap();
        assert_eq!(EncryptionMeta::load(dir.path()).unwrap().unwrap(), meta);
        assert!(crypto::decrypt(&key, &fs::read(p2).unwrap()).is_ok());

        let wrong = ProfileKey::derive("other", &meta).unwrap();
        assert!(crypto::decrypt(&wrong, &fs::read(&path).unwrap()).is_err());
        assert!(
            encrypted_event(dir.path(), "pass phrase", &json!({"content": "no id"}), 5).is_err()
        );
    }
}
