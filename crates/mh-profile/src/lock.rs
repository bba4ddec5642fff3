//! One writer per profile. The lock is an OS file lock (`flock`) on `<profile>/.mh-train.lock`,
//! so the kernel releases it when the holder dies; the file also records the holder's PID and
//! command so a refused second writer can say who holds it.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Name of the lock file inside a profile root.
pub const LOCK_FILE: &str = ".mh-train.lock";

/// Why the lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("profile {profile} is locked by another mh-train process (pid {pid}, {what}); wait for it to finish or stop it")]
    Held {
        profile: PathBuf,
        pid: u32,
        what: String,
    },
    #[error("cannot open lock file {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Held for as long as the value lives; dropping it releases the lock.
#[derive(Debug)]
pub struct ProfileLock {
    file: File,
    path: PathBuf,
    /// PID of a dead holder whose stale lock file we took over, if any.
    pub took_over_from: Option<u32>,
}

impl ProfileLock {
    /// Take the profile's lock or fail at once (never waits). `what` describes this holder
    /// (e.g. "dataset build") for the message another process would print.
    pub fn acquire(profile_root: &Path, what: &str) -> Result<Self, LockError> {
        let path = profile_root.join(LOCK_FILE);
        let io_err = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io_err)?;
        let previous = read_holder(&mut file);
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let (pid, what) = previous.unwrap_or((0, "unknown command".into()));
                return Err(LockError::Held {
                    profile: profile_root.to_path_buf(),
                    pid,
                    what,
                });
            }
            Err(TryLockError::Error(e)) => return Err(io_err(e)),
        }
        // We hold the flock, so any PID left in the file belongs to a process that died
        // without cleaning up (kill -9, power loss): a stale lock, now ours.
        let took_over_from = previous
            .map(|(pid, _)| pid)
            .filter(|&pid| pid != 0 && pid != std::process::id());
        file.set_len(0).map_err(io_err)?;
        file.seek(SeekFrom::Start(0)).map_err(io_err)?;
        let what_line = what.replace('\n', " ");
        writeln!(file, "{}\n{}", std::process::id(), what_line).map_err(io_err)?;
        file.sync_all().map_err(io_err)?;
        Ok(Self {
            file,
            path,
            took_over_from,
        })
    }

    /// The lock file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ProfileLock {
    fn drop(&mut self) {
        // Clear the holder line first so nobody reads our PID after we are gone.
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}

fn read_holder(file: &mut File) -> Option<(u32, String)> {
    let mut text = String::new();
    file.read_to_string(&mut text).ok()?;
    let mut lines = text.lines();
    let pid = lines.next()?.trim().parse().ok()?;
    let what = lines.next().unwrap_or("unknown command").to_string();
    Some((pid, what))
}

/// Whether a process with this PID exists (signal 0 probes without sending anything).
pub fn pid_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if pid <= 0 {
        return false;
    }
    // SAFETY: kill with signal 0 only checks for existence and permission.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_holder_is_refused_with_the_first_pid() {
        let dir = tempfile::tempdir().unwrap();
        let first = ProfileLock::acquire(dir.path(), "dataset build").unwrap();
        // A second open file description conflicts with flock even inside one process.
        let err = ProfileLock::acquire(dir.path(), "local").unwrap_err();
        match &err {
            LockError::Held { pid, what, .. } => {
                assert_eq!(*pid, std::process::id());
                assert_eq!(what, "dataset build");
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(err.to_string().contains(&std::process::id().to_string()));
        drop(first);
        ProfileLock::acquire(dir.path(), "local").unwrap();
    }

    #[test]
    fn stale_lock_of_a_dead_process_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        // A PID that cannot be alive: larger than any pid_max Linux allows.
        std::fs::write(dir.path().join(LOCK_FILE), "4194399\nlocal\n").unwrap();
        assert!(!pid_alive(4194399));
        let lock = ProfileLock::acquire(dir.path(), "dataset build").unwrap();
        assert_eq!(lock.took_over_from, Some(4194399));
        let text = std::fs::read_to_string(lock.path()).unwrap();
        assert!(text.starts_with(&format!("{}\n", std::process::id())));
    }

    #[test]
    fn pid_alive_sees_ourselves() {
        assert!(pid_alive(std::process::id()));
    }
}
