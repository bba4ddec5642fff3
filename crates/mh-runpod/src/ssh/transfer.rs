//! File transfer over SFTP with sha256 verification and resume.
//!
//! Upload: a remote file with the local file's sha256 is skipped; a shorter remote file whose
//! bytes equal the local file's prefix (`head -c N | sha256sum` on the pod against the local
//! prefix hash) is continued from its length; anything else is rewritten from byte 0. Every
//! file written is then checked with `sha256sum` on the pod.
//!
//! Download: the pod's `sha256sum` is taken first; a local file with that hash is skipped; a
//! `<file>.part` whose bytes equal the remote prefix is continued; the finished `.part` is
//! hashed, fsynced and renamed over the target, so the target is either absent, the old file
//! or the verified new one.

use std::collections::BTreeSet;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use mh_profile::Progress;
use sha2::{Digest, Sha256};

use super::{sh_quote, SshError, SshSession};

const CHUNK: usize = 1 << 20;
/// Paths per `sha256sum` / `mkdir` invocation (keeps command lines far below ARG_MAX).
const BATCH: usize = 100;
/// Slowest disk read rate assumed when giving a remote `sha256sum` time to finish.
const HASH_RATE: u64 = 20 << 20;

/// What a transfer did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TransferReport {
    /// Files considered.
    pub files: u64,
    /// Files already identical at the destination (not sent).
    pub files_skipped: u64,
    /// Files continued from a partial copy.
    pub files_resumed: u64,
    /// Bytes that crossed the network in this call.
    pub bytes_sent: u64,
    /// Bytes not sent because they were already there (skipped files and resumed prefixes).
    pub bytes_skipped: u64,
    /// Wall time of the whole call, hashing and verification included.
    pub elapsed: Duration,
}

impl TransferReport {
    /// Add another report's counts to this one.
    pub fn add(&mut self, other: &TransferReport) {
        self.files += other.files;
        self.files_skipped += other.files_skipped;
        self.files_resumed += other.files_resumed;
        self.bytes_sent += other.bytes_sent;
        self.bytes_skipped += other.bytes_skipped;
        self.elapsed += other.elapsed;
    }
}

/// How a file gets to its destination.
enum Plan {
    Skip,
    /// Continue from this offset; the hasher has consumed the bytes before it.
    Resume(u64, Sha256),
    Full,
}

struct Item {
    /// Local path (source of an upload, target of a download).
    local: PathBuf,
    remote: String,
    /// Size of the source.
    size: u64,
    /// sha256 of the source (hex).
    sha: String,
    plan: Plan,
}

impl SshSession {
    /// Upload every file under `local` to `remote_dir` over SFTP (directories created as
    /// needed). Files already there with the same sha256 are skipped, a shorter remote file
    /// that is a prefix of the local one is resumed, anything else is rewritten; then every
    /// file written is verified with `sha256sum` on the pod.
    pub fn upload_dir(
        &self,
        local: &Path,
        remote_dir: &str,
        progress: &dyn Progress,
        stop: &AtomicBool,
    ) -> Result<TransferReport, SshError> {
        check_remote_path(remote_dir)?;
        let mut files = Vec::new();
        walk_local(local, "", &mut files)?;
        let items = files
            .into_iter()
            .map(|(path, rel, size)| (path, join_remote(remote_dir, &rel), size))
            .collect();
        let mut dirs = BTreeSet::new();
        dirs.insert(remote_dir.to_string());
        self.upload(items, dirs, progress, stop)
    }

    /// Upload one file to the remote path `remote` (its directory is created), with the same
    /// skip / resume / verify rules as [`upload_dir`](Self::upload_dir).
    pub fn upload_file(
        &self,
        local: &Path,
        remote: &str,
        progress: &dyn Progress,
        stop: &AtomicBool,
    ) -> Result<TransferReport, SshError> {
        check_remote_path(remote)?;
        let meta = fs::metadata(local)
            .map_err(|e| SshError::io(format!("read {}", local.display()), e))?;
        if !meta.is_file() {
            return Err(SshError::Invalid(format!(
                "{} is not a regular file",
                local.display()
            )));
        }
        self.upload(
            vec![(local.to_path_buf(), remote.to_string(), meta.len())],
            BTreeSet::new(),
            progress,
            stop,
        )
    }

    fn upload(
        &self,
        files: Vec<(PathBuf, String, u64)>,
        mut dirs: BTreeSet<String>,
        progress: &dyn Progress,
        stop: &AtomicBool,
    ) -> Result<TransferReport, SshError> {
        let started = Instant::now();
        for (_, remote, _) in &files {
            if let Some((parent, _)) = remote.rsplit_once('/') {
                if !parent.is_empty() {
                    dirs.insert(parent.to_string());
                }
            }
        }
        let dirs: Vec<String> = dirs.into_iter().collect();
        for chunk in dirs.chunks(BATCH) {
            let args: Vec<String> = chunk.iter().map(|d| sh_quote(d)).collect();
            self.exec_ok(&format!("mkdir -p -- {}", args.join(" ")))?;
        }

        // What is already on the pod.
        let mut remote_sizes = Vec::with_capacity(files.len());
        for (_, remote, _) in &files {
            remote_sizes.push(self.remote_size(remote)?);
        }
        // Local hashes (and the prefix hash where the remote copy is shorter).
        let mut items = Vec::with_capacity(files.len());
        let mut prefix_hashes = Vec::with_capacity(files.len());
        for ((local, remote, size), remote_size) in files.into_iter().zip(&remote_sizes) {
            let prefix_at = remote_size.filter(|&r| r > 0 && r < size);
            let (sha, prefix) = hash_local(&local, prefix_at)?;
            prefix_hashes.push(prefix);
            items.push(Item {
                local,
                remote,
                size,
                sha,
                plan: Plan::Full,
            });
        }
        let same_size: Vec<usize> = (0..items.len())
            .filter(|&i| remote_sizes[i] == Some(items[i].size))
            .collect();
        let paths: Vec<&str> = same_size
            .iter()
            .map(|&i| items[i].remote.as_str())
            .collect();
        let bytes: u64 = same_size.iter().map(|&i| items[i].size).sum();
        for (&i, sha) in same_size.iter().zip(self.remote_sha256(&paths, bytes)?) {
            if sha == items[i].sha {
                items[i].plan = Plan::Skip;
            }
        }
        let shorter: Vec<usize> = (0..items.len())
            .filter(|&i| prefix_hashes[i].is_some())
            .collect();
        let ranges: Vec<(&str, u64)> = shorter
            .iter()
            .filter_map(|&i| Some((items[i].remote.as_str(), remote_sizes[i]?)))
            .collect();
        for (&i, sha) in shorter.iter().zip(self.remote_prefix_sha256(&ranges)?) {
            if let (Some((local_sha, hasher)), Some(at)) = (&prefix_hashes[i], remote_sizes[i]) {
                if *local_sha == sha {
                    items[i].plan = Plan::Resume(at, hasher.clone());
                }
            }
        }

        let mut report = summarize(&items);
        let to_send: u64 = items.iter().map(bytes_to_move).sum();
        progress.start("upload", Some(to_send));
        for item in &items {
            let from = match item.plan {
                Plan::Skip => continue,
                Plan::Resume(at, _) => at,
                Plan::Full => 0,
            };
            progress.message(&item.remote);
            report.bytes_sent += self.send_file(item, from, progress, stop)?;
        }
        progress.finish();

        // Verify what was written.
        let written: Vec<&Item> = items
            .iter()
            .filter(|i| !matches!(i.plan, Plan::Skip))
            .collect();
        let paths: Vec<&str> = written.iter().map(|i| i.remote.as_str()).collect();
        let bytes: u64 = written.iter().map(|i| i.size).sum();
        for (item, found) in written.iter().zip(self.remote_sha256(&paths, bytes)?) {
            if found != item.sha {
                return Err(SshError::Checksum {
                    path: item.remote.clone(),
                    expected: item.sha.clone(),
                    found,
                });
            }
        }
        report.elapsed = started.elapsed();
        Ok(report)
    }

    fn send_file(
        &self,
        item: &Item,
        from: u64,
        progress: &dyn Progress,
        stop: &AtomicBool,
    ) -> Result<u64, SshError> {
        let what = format!("upload {}", item.remote);
        let mut local = File::open(&item.local)
            .map_err(|e| SshError::io(format!("open {}", item.local.display()), e))?;
        local
            .seek(SeekFrom::Start(from))
            .map_err(|e| SshError::io(format!("seek {}", item.local.display()), e))?;
        let mut local = local.take(item.size - from);
        let mode = local_mode(&item.local);
        self.with_sftp(|sftp| {
            let flags = if from == 0 {
                ssh2::OpenFlags::WRITE | ssh2::OpenFlags::CREATE | ssh2::OpenFlags::TRUNCATE
            } else {
                ssh2::OpenFlags::WRITE
            };
            let mut remote = sftp
                .open_mode(Path::new(&item.remote), flags, mode, ssh2::OpenType::File)
                .map_err(|e| self.ssh_error(&what, e))?;
            if from > 0 {
                remote
                    .seek(SeekFrom::Start(from))
                    .map_err(|e| self.stream_error(&what, e))?;
            }
            let mut buf = vec![0u8; CHUNK];
            let mut sent = 0u64;
            loop {
                // A partial file stays resumable.
                if stop.load(Ordering::SeqCst) {
                    return Err(SshError::Stopped);
                }
                let n = local
                    .read(&mut buf)
                    .map_err(|e| SshError::io(format!("read {}", item.local.display()), e))?;
                if n == 0 {
                    break;
                }
                remote
                    .write_all(&buf[..n])
                    .map_err(|e| self.stream_error(&what, e))?;
                sent += n as u64;
                progress.advance(n as u64);
            }
            remote.close().map_err(|e| self.ssh_error(&what, e))?;
            Ok(sent)
        })
    }

    /// Download the remote file `remote` to `local` (parent directories created). Skipped
    /// when `local` already has the pod's sha256; a `<local>.part` that is a prefix of the
    /// remote file is continued; the result is verified against the pod's `sha256sum` and
    /// renamed into place.
    pub fn download_file(
        &self,
        remote: &str,
        local: &Path,
        progress: &dyn Progress,
        stop: &AtomicBool,
    ) -> Result<TransferReport, SshError> {
        check_remote_path(remote)?;
        let size = self.remote_size(remote)?.ok_or_else(|| SshError::Sftp {
            context: format!("download {remote}"),
            code: Some(2),
            message: "no such file on the pod".into(),
        })?;
        self.download(
            vec![(remote.to_string(), local.to_path_buf(), size)],
            progress,
            stop,
        )
    }

    /// Download every regular file under `remote_dir` (symlinks to files followed, symlinks
    /// to directories not) into `local`, with the rules of
    /// [`download_file`](Self::download_file).
    pub fn download_dir(
        &self,
        remote_dir: &str,
        local: &Path,
        progress: &dyn Progress,
        stop: &AtomicBool,
    ) -> Result<TransferReport, SshError> {
        check_remote_path(remote_dir)?;
        let files = self.list_remote(remote_dir)?;
        fs::create_dir_all(local)
            .map_err(|e| SshError::io(format!("create {}", local.display()), e))?;
        let items = files
            .into_iter()
            .map(|(rel, remote, size)| {
                let mut path = local.to_path_buf();
                for part in rel.split('/') {
                    path.push(part);
                }
                (remote, path, size)
            })
            .collect();
        self.download(items, progress, stop)
    }

    fn download(
        &self,
        files: Vec<(String, PathBuf, u64)>,
        progress: &dyn Progress,
        stop: &AtomicBool,
    ) -> Result<TransferReport, SshError> {
        let started = Instant::now();
        let paths: Vec<&str> = files.iter().map(|(r, _, _)| r.as_str()).collect();
        let bytes: u64 = files.iter().map(|(_, _, s)| s).sum();
        let shas = self.remote_sha256(&paths, bytes)?;
        let mut items = Vec::with_capacity(files.len());
        let mut candidates: Vec<(usize, u64, String, Sha256)> = Vec::new();
        for ((remote, local, size), sha) in files.into_iter().zip(shas) {
            let mut plan = Plan::Full;
            if fs::metadata(&local).is_ok_and(|m| m.is_file() && m.len() == size) {
                let (local_sha, _) = hash_local(&local, None)?;
                if local_sha == sha {
                    plan = Plan::Skip;
                }
            }
            if matches!(plan, Plan::Full) {
                let part = part_path(&local);
                if let Ok(m) = fs::metadata(&part) {
                    if m.is_file() && m.len() > 0 && m.len() <= size {
                        let (prefix_sha, hasher) = hash_file_prefix(&part, m.len())?;
                        candidates.push((items.len(), m.len(), prefix_sha, hasher));
                    }
                }
            }
            items.push(Item {
                local,
                remote,
                size,
                sha,
                plan,
            });
        }
        let ranges: Vec<(&str, u64)> = candidates
            .iter()
            .map(|(i, at, _, _)| (items[*i].remote.as_str(), *at))
            .collect();
        let remote_prefixes = self.remote_prefix_sha256(&ranges)?;
        for ((i, at, local_sha, hasher), remote_sha) in candidates.into_iter().zip(remote_prefixes)
        {
            if local_sha == remote_sha {
                items[i].plan = Plan::Resume(at, hasher);
            }
        }

        let mut report = summarize(&items);
        let to_fetch: u64 = items.iter().map(bytes_to_move).sum();
        progress.start("download", Some(to_fetch));
        for item in &items {
            if matches!(item.plan, Plan::Skip) {
                continue;
            }
            progress.message(&item.remote);
            report.bytes_sent += self.fetch_file(item, progress, stop)?;
        }
        progress.finish();
        report.elapsed = started.elapsed();
        Ok(report)
    }

    fn fetch_file(
        &self,
        item: &Item,
        progress: &dyn Progress,
        stop: &AtomicBool,
    ) -> Result<u64, SshError> {
        let what = format!("download {}", item.remote);
        let part = part_path(&item.local);
        let local_err = |op: &str, e| SshError::io(format!("{op} {}", part.display()), e);
        if let Some(parent) = item.local.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::create_dir_all(parent).map_err(|e| local_err("create directory for", e))?;
        }
        let (from, mut hasher) = match &item.plan {
            Plan::Resume(at, h) => (*at, h.clone()),
            _ => (0, Sha256::new()),
        };
        let mut out = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(from == 0)
            .open(&part)
            .map_err(|e| local_err("open", e))?;
        out.set_len(from).map_err(|e| local_err("truncate", e))?;
        out.seek(SeekFrom::Start(from))
            .map_err(|e| local_err("seek", e))?;
        let received = self.with_sftp(|sftp| {
            let mut remote = sftp
                .open(Path::new(&item.remote))
                .map_err(|e| self.ssh_error(&what, e))?;
            if from > 0 {
                remote
                    .seek(SeekFrom::Start(from))
                    .map_err(|e| self.stream_error(&what, e))?;
            }
            let mut remote = remote.take(item.size - from);
            let mut buf = vec![0u8; CHUNK];
            let mut received = 0u64;
            loop {
                // The `.part` file stays resumable.
                if stop.load(Ordering::SeqCst) {
                    return Err(SshError::Stopped);
                }
                let n = remote
                    .read(&mut buf)
                    .map_err(|e| self.stream_error(&what, e))?;
                if n == 0 {
                    break;
                }
                out.write_all(&buf[..n])
                    .map_err(|e| local_err("write", e))?;
                hasher.update(&buf[..n]);
                received += n as u64;
                progress.advance(n as u64);
            }
            Ok(received)
        })?;
        out.sync_all().map_err(|e| local_err("fsync", e))?;
        drop(out);
        let found = hex::encode(hasher.finalize());
        if found != item.sha {
            let _ = fs::remove_file(&part);
            return Err(SshError::Checksum {
                path: item.remote.clone(),
                expected: item.sha.clone(),
                found,
            });
        }
        fs::rename(&part, &item.local).map_err(|e| {
            SshError::io(
                format!("rename {} to {}", part.display(), item.local.display()),
                e,
            )
        })?;
        if let Some(parent) = item.local.parent() {
            let dir = if parent.as_os_str().is_empty() {
                Path::new(".")
            } else {
                parent
            };
            mh_profile::atomic::sync_dir(dir)
                .map_err(|e| SshError::io(format!("fsync {}", dir.display()), e))?;
        }
        Ok(received)
    }

    /// Size of a remote regular file, `None` when it does not exist.
    fn remote_size(&self, remote: &str) -> Result<Option<u64>, SshError> {
        let what = format!("stat {remote}");
        self.with_sftp(|sftp| match sftp.stat(Path::new(remote)) {
            Ok(st) if st.is_dir() => Err(SshError::Invalid(format!(
                "remote path {remote} is a directory"
            ))),
            Ok(st) => Ok(Some(st.size.unwrap_or(0))),
            Err(e) if super::is_not_found(&e) => Ok(None),
            Err(e) => Err(self.ssh_error(&what, e)),
        })
    }

    /// Regular files under `dir` as (relative path with `/`, remote path, size), sorted.
    fn list_remote(&self, dir: &str) -> Result<Vec<(String, String, u64)>, SshError> {
        self.with_sftp(|sftp| {
            let mut out = Vec::new();
            let mut stack = vec![(dir.trim_end_matches('/').to_string(), String::new())];
            if stack[0].0.is_empty() {
                stack[0].0 = "/".to_string();
            }
            while let Some((remote_dir, rel_dir)) = stack.pop() {
                let what = format!("list {remote_dir}");
                let entries = sftp
                    .readdir(Path::new(&remote_dir))
                    .map_err(|e| self.ssh_error(&what, e))?;
                for (path, st) in entries {
                    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                        return Err(SshError::Invalid(format!(
                            "remote file name in {remote_dir} is not UTF-8"
                        )));
                    };
                    if name == "." || name == ".." {
                        continue;
                    }
                    check_name(name)?;
                    let remote = join_remote(&remote_dir, name);
                    let rel = if rel_dir.is_empty() {
                        name.to_string()
                    } else {
                        format!("{rel_dir}/{name}")
                    };
                    if st.is_dir() {
                        stack.push((remote, rel));
                    } else if st.is_file() {
                        out.push((rel, remote, st.size.unwrap_or(0)));
                    } else if st.file_type().is_symlink() {
                        if let Ok(target) = sftp.stat(Path::new(&remote)) {
                            if target.is_file() {
                                out.push((rel, remote, target.size.unwrap_or(0)));
                            }
                        }
                    }
                }
            }
            out.sort();
            Ok(out)
        })
    }

    /// `sha256sum` of each remote path, in order.
    fn remote_sha256(&self, paths: &[&str], total_bytes: u64) -> Result<Vec<String>, SshError> {
        let mut out = Vec::with_capacity(paths.len());
        for chunk in paths.chunks(BATCH) {
            let args: Vec<String> = chunk.iter().map(|p| sh_quote(p)).collect();
            let command = format!("sha256sum -- {}", args.join(" "));
            let stdout = self.exec_ok_timeout(&command, self.hash_timeout(total_bytes))?;
            out.extend(parse_sha_lines(&stdout, chunk.len(), &command)?);
        }
        Ok(out)
    }

    /// sha256 of the first `n` bytes of each remote path, in order.
    fn remote_prefix_sha256(&self, ranges: &[(&str, u64)]) -> Result<Vec<String>, SshError> {
        let mut out = Vec::with_capacity(ranges.len());
        for chunk in ranges.chunks(BATCH) {
            let parts: Vec<String> = chunk
                .iter()
                .map(|(p, n)| format!("head -c {n} -- {} | sha256sum", sh_quote(p)))
                .collect();
            let command = parts.join(" && ");
            let bytes = chunk.iter().map(|(_, n)| n).sum();
            let stdout = self.exec_ok_timeout(&command, self.hash_timeout(bytes))?;
            out.extend(parse_sha_lines(&stdout, chunk.len(), &command)?);
        }
        Ok(out)
    }

    fn hash_timeout(&self, bytes: u64) -> Duration {
        self.io_timeout + Duration::from_secs(bytes / HASH_RATE)
    }
}

fn summarize(items: &[Item]) -> TransferReport {
    let mut r = TransferReport {
        files: items.len() as u64,
        ..TransferReport::default()
    };
    for item in items {
        match item.plan {
            Plan::Skip => {
                r.files_skipped += 1;
                r.bytes_skipped += item.size;
            }
            Plan::Resume(at, _) => {
                r.files_resumed += 1;
                r.bytes_skipped += at;
            }
            Plan::Full => {}
        }
    }
    r
}

fn bytes_to_move(item: &Item) -> u64 {
    match item.plan {
        Plan::Skip => 0,
        Plan::Resume(at, _) => item.size - at,
        Plan::Full => item.size,
    }
}

/// Parse `sha256sum` output: one line per input, `<64 hex>  <name>` (a leading `\` marks an
/// escaped name).
fn parse_sha_lines(stdout: &str, expected: usize, command: &str) -> Result<Vec<String>, SshError> {
    let mut out = Vec::with_capacity(expected);
    for line in stdout.lines().filter(|l| !l.trim().is_empty()) {
        let line = line.strip_prefix('\\').unwrap_or(line);
        let hex = line.get(..64).unwrap_or("");
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(SshError::Remote {
                command: super::short_command(command),
                status: 0,
                stderr_tail: format!("unexpected sha256sum output line {line:?}"),
            });
        }
        out.push(hex.to_ascii_lowercase());
    }
    if out.len() != expected {
        return Err(SshError::Remote {
            command: super::short_command(command),
            status: 0,
            stderr_tail: format!(
                "sha256sum printed {} hashes for {expected} files",
                out.len()
            ),
        });
    }
    Ok(out)
}

/// sha256 of a whole local file and, when `prefix_at` is given, of its first `prefix_at`
/// bytes together with the hasher state at that point.
#[allow(clippy::type_complexity)]
fn hash_local(
    path: &Path,
    prefix_at: Option<u64>,
) -> Result<(String, Option<(String, Sha256)>), SshError> {
    let mut file =
        File::open(path).map_err(|e| SshError::io(format!("open {}", path.display()), e))?;
    let mut hasher = Sha256::new();
    let mut prefix = None;
    let mut buf = vec![0u8; CHUNK];
    let mut pos = 0u64;
    loop {
        let n = file
            .read(&mut buf)
            .map_err(|e| SshError::io(format!("read {}", path.display()), e))?;
        if n == 0 {
            break;
        }
        let mut data = &buf[..n];
        if let Some(at) = prefix_at {
            if prefix.is_none() && pos + n as u64 >= at {
                let k = (at - pos) as usize;
                hasher.update(&data[..k]);
                prefix = Some((hex::encode(hasher.clone().finalize()), hasher.clone()));
                data = &data[k..];
            }
        }
        hasher.update(data);
        pos += n as u64;
    }
    Ok((hex::encode(hasher.finalize()), prefix))
}

/// sha256 of the first `len` bytes of a local file and the hasher state after them.
fn hash_file_prefix(path: &Path, len: u64) -> Result<(String, Sha256), SshError> {
    let file = File::open(path).map_err(|e| SshError::io(format!("open {}", path.display()), e))?;
    let mut hasher = Sha256::new();
    let mut reader = file.take(len);
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = reader
            .read(&mut buf)
            .map_err(|e| SshError::io(format!("read {}", path.display()), e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok((hex::encode(hasher.clone().finalize()), hasher))
}

/// Regular files under `dir` (symlinks to files followed) as (path, relative path, size),
/// sorted by relative path.
fn walk_local(
    dir: &Path,
    rel: &str,
    out: &mut Vec<(PathBuf, String, u64)>,
) -> Result<(), SshError> {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .map_err(|e| SshError::io(format!("list {}", dir.display()), e))?
        .collect::<Result<_, _>>()
        .map_err(|e| SshError::io(format!("list {}", dir.display()), e))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            return Err(SshError::Invalid(format!(
                "file name {} is not UTF-8",
                path.display()
            )));
        };
        check_name(&name)?;
        let child_rel = if rel.is_empty() {
            name
        } else {
            format!("{rel}/{name}")
        };
        let meta =
            fs::metadata(&path).map_err(|e| SshError::io(format!("stat {}", path.display()), e))?;
        let is_link = entry.file_type().map(|t| t.is_symlink()).unwrap_or(false);
        if meta.is_dir() {
            if is_link {
                return Err(SshError::Invalid(format!(
                    "{} is a symlink to a directory; not uploaded",
                    path.display()
                )));
            }
            walk_local(&path, &child_rel, out)?;
        } else if meta.is_file() {
            out.push((path, child_rel, meta.len()));
        } else {
            return Err(SshError::Invalid(format!(
                "{} is not a regular file or directory",
                path.display()
            )));
        }
    }
    Ok(())
}

/// File names `sha256sum` would escape (backslash, newline) are refused, so its output maps
/// back to paths unambiguously.
fn check_name(name: &str) -> Result<(), SshError> {
    if name.contains(['\n', '\\', '\0']) {
        return Err(SshError::Invalid(format!(
            "file name {name:?} contains a newline or backslash; rename it"
        )));
    }
    Ok(())
}

fn check_remote_path(path: &str) -> Result<(), SshError> {
    if path.is_empty() {
        return Err(SshError::Invalid("empty remote path".into()));
    }
    check_name(path)
}

pub(super) fn join_remote(dir: &str, rel: &str) -> String {
    let dir = dir.trim_end_matches('/');
    if dir.is_empty() {
        format!("/{rel}")
    } else {
        format!("{dir}/{rel}")
    }
}

fn part_path(local: &Path) -> PathBuf {
    let mut name = local
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".part");
    local.with_file_name(name)
}

#[cfg(unix)]
fn local_mode(path: &Path) -> i32 {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path)
        .map(|m| (m.permissions().mode() & 0o777) as i32)
        .unwrap_or(0o644)
}

#[cfg(not(unix))]
fn local_mode(_: &Path) -> i32 {
    0o644
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_hash_equals_hash_of_the_prefix() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
        fs::write(&p, &data).unwrap();
        for at in [1u64, 1 << 20, (1 << 20) + 5, 2_999_999] {
            let (full, prefix) = hash_local(&p, Some(at)).unwrap();
            assert_eq!(full, hex::encode(Sha256::digest(&data)));
            let (prefix_sha, hasher) = prefix.unwrap();
            assert_eq!(
                prefix_sha,
                hex::encode(Sha256::digest(&data[..at as usize]))
            );
            // the saved state continues to the full hash
            let mut h = hasher;
            h.update(&data[at as usize..]);
            assert_eq!(hex::encode(h.finalize()), full);
            let (p2, _) = hash_file_prefix(&p, at).unwrap();
            assert_eq!(p2, prefix_sha);
        }
    }

    #[test]
    fn sha256sum_output_is_parsed_in_order() {
        let a = "a".repeat(64);
        let b = "B".repeat(64);
        let out = format!("{a}  x\n\\{b}  y\\\\z\n");
        assert_eq!(
            parse_sha_lines(&out, 2, "c").unwrap(),
            vec![a.clone(), "b".repeat(64)]
        );
        assert!(parse_sha_lines(&out, 3, "c").is_err());
        assert!(parse_sha_lines("nothex  x\n", 1, "c").is_err());
    }

    #[test]
    fn paths_join_and_parts_are_named() {
        assert_eq!(join_remote("/w/in/", "a/b"), "/w/in/a/b");
        assert_eq!(join_remote("/", "a"), "/a");
        assert_eq!(join_remote("run", "a"), "run/a");
        assert_eq!(
            part_path(Path::new("/x/adapter.safetensors")),
            PathBuf::from("/x/adapter.safetensors.part")
        );
        assert!(check_name("a\nb").is_err());
    }
}
