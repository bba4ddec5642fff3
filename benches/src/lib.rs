//! Shared helpers for the benchmark binaries in `benches/`.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

/// Where generated benchmark inputs are cached between runs.
pub fn cache_dir(name: &str) -> PathBuf {
    let base = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    base.join("bench-inputs").join(name)
}

/// Wall time and peak RSS of one child process.
#[derive(Debug, Clone, Copy)]
pub struct ChildRun {
    pub wall: Duration,
    pub peak_rss_bytes: u64,
}

/// Run `cmd` to completion and measure it. Peak RSS comes from `wait4`'s rusage, so it is the
/// child's own high-water mark, not this process's.
pub fn measure(cmd: &mut Command) -> std::io::Result<ChildRun> {
    let start = Instant::now();
    let child = cmd.spawn()?;
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value for wait4 to overwrite.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: pid is our child; status and usage are valid for writes.
    let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = start.elapsed();
    if rc < 0 {
        return Err(std::io::Error::last_os_error());
    }
    if !(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0) {
        return Err(std::io::Error::other(format!(
            "benchmark child failed (status {status})"
        )));
    }
    Ok(ChildRun {
        wall,
        peak_rss_bytes: usage.ru_maxrss as u64 * 1024,
    })
}
