//! SHA-256 of files and directories, streamed (model files are gigabytes).
//!
//! A directory's digest is the SHA-256 of its files' lines `"<relative path>\0<sha256 hex>\n"`,
//! sorted by relative path (`/`-separated); symbolic links to files count as the file they point
//! to, links to directories are not followed.

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Hex SHA-256 of a byte string (config files, small documents).
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Size and hex SHA-256 of one file.
pub fn sha256_file(path: &Path) -> io::Result<(u64, String)> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        total += n as u64;
    }
    Ok((total, hex::encode(hasher.finalize())))
}

/// One file inside a hashed directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileDigest {
    /// Path relative to the directory, `/`-separated.
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
}

/// What [`hash_path`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathDigest {
    pub bytes: u64,
    pub sha256: String,
    /// The files of a directory (empty for a file).
    pub files: Vec<FileDigest>,
    pub is_dir: bool,
}

/// Hash a file, or every file under a directory.
pub fn hash_path(path: &Path) -> io::Result<PathDigest> {
    let meta = fs::metadata(path)?;
    if !meta.is_dir() {
        let (bytes, sha256) = sha256_file(path)?;
        return Ok(PathDigest {
            bytes,
            sha256,
            files: Vec::new(),
            is_dir: false,
        });
    }
    let mut files = Vec::new();
    for (rel, abs) in list_files(path)? {
        let (bytes, sha256) = sha256_file(&abs)?;
        files.push(FileDigest {
            path: rel,
            bytes,
            sha256,
        });
    }
    Ok(PathDigest {
        bytes: files.iter().map(|f| f.bytes).sum(),
        sha256: dir_digest(&files),
        files,
        is_dir: true,
    })
}

/// The directory digest of a list of files (sorted here, so any order is accepted).
pub fn dir_digest(files: &[FileDigest]) -> String {
    let mut sorted: Vec<&FileDigest> = files.iter().collect();
    sorted.sort_by(|a, b| a.path.cmp(&b.path));
    let mut h = Sha256::new();
    for f in sorted {
        h.update(f.path.as_bytes());
        h.update([0u8]);
        h.update(f.sha256.as_bytes());
        h.update([b'\n']);
    }
    hex::encode(h.finalize())
}

/// Every regular file under `dir` (following links to files, not to directories), as
/// (relative `/`-path, absolute path), sorted by relative path.
pub fn list_files(dir: &Path) -> io::Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    let mut stack = vec![(String::new(), dir.to_path_buf())];
    while let Some((prefix, d)) = stack.pop() {
        for entry in fs::read_dir(&d)? {
            let entry = entry?;
            let name = entry.file_name().into_string().map_err(|n| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{}: file name is not UTF-8", d.join(n).display()),
                )
            })?;
            let rel = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            };
            let ft = entry.file_type()?;
            if ft.is_dir() {
                stack.push((rel, entry.path()));
            } else if ft.is_symlink() {
                // A link to a file counts as that file; a link to a directory is not followed.
                if fs::metadata(entry.path()).is_ok_and(|m| m.is_file()) {
                    out.push((rel, entry.path()));
                }
            } else if ft.is_file() {
                out.push((rel, entry.path()));
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digest_and_directory_order_independence() {
        // sha256("abc"), FIPS 180-2 test vector.
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("d/sub")).unwrap();
        fs::write(dir.path().join("d/b.txt"), b"abc").unwrap();
        fs::write(dir.path().join("d/sub/a.txt"), b"").unwrap();
        let d = hash_path(&dir.path().join("d")).unwrap();
        assert!(d.is_dir);
        assert_eq!(d.bytes, 3);
        let names: Vec<_> = d.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(names, ["b.txt", "sub/a.txt"]);
        let mut rev = d.files.clone();
        rev.reverse();
        assert_eq!(dir_digest(&rev), d.sha256);
        let f = hash_path(&dir.path().join("d/b.txt")).unwrap();
        assert_eq!(f.sha256, sha256_hex(b"abc"));
        assert!(f.files.is_empty());
    }
}
