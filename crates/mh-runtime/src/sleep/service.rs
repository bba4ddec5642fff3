//! The long-running loop, its pid file, `stop`, and the status `mh-train status` prints.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::clock::Clock;
use super::config::SleepConfigs;
use super::decide::{next_run, Decision, SleepService};
use super::record::{self, Attempt};
use super::SleepError;

/// The pid file of a running `sleep-service run` or `once`, relative to the profile root.
pub const PID_FILE: &str = "logs/run/sleep-service.pid";

/// Held by a running `sleep-service run` / `once`: an OS lock on the pid file (released by the
/// kernel if the process dies), which holds the process id while it runs and is emptied on
/// exit. One service per profile; a second is refused with the first one's pid.
#[derive(Debug)]
pub struct ServiceLock {
    file: File,
    path: PathBuf,
}

impl ServiceLock {
    pub fn acquire(profile_root: &Path) -> Result<ServiceLock, SleepError> {
        let path = profile_root.join(PID_FILE);
        let io = |e| SleepError::Io {
            path: path.clone(),
            source: e,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(SleepError::AlreadyRunning {
                    pid: read_pid(&mut file),
                    path,
                })
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        file.set_len(0).map_err(io)?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        writeln!(file, "{}", std::process::id()).map_err(io)?;
        file.sync_all().map_err(io)?;
        Ok(ServiceLock { file, path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ServiceLock {
    fn drop(&mut self) {
        // Emptied, not removed: a process that opened the file just before a removal would lock
        // an orphaned inode while a third created a new file.
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}

fn read_pid(file: &mut File) -> Option<u32> {
    let mut s = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.read_to_string(&mut s).ok()?;
    s.trim().parse().ok()
}

/// The pid of the service running on this profile, if one is.
pub fn running_pid(profile_root: &Path) -> Option<u32> {
    let path = profile_root.join(PID_FILE);
    let mut file = OpenOptions::new().read(true).open(path).ok()?;
    match file.try_lock() {
        Ok(()) => {
            let _ = file.unlock();
            None
        }
        Err(TryLockError::WouldBlock) => read_pid(&mut file),
        Err(TryLockError::Error(_)) => None,
    }
}

/// What `stop` found and did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum StopOutcome {
    NotRunning,
    /// SIGTERM sent to `pid`, which then exited.
    Stopped {
        pid: u32,
        waited_s: f64,
    },
}

/// Send SIGTERM to the running service and wait up to `timeout` for it to exit (a run in
/// progress checkpoints first).
pub fn stop_service(profile_root: &Path, timeout: Duration) -> Result<StopOutcome, SleepError> {
    let Some(pid) = running_pid(profile_root) else {
        return Ok(StopOutcome::NotRunning);
    };
    let Ok(raw) = libc::pid_t::try_from(pid) else {
        return Err(SleepError::Signal {
            pid,
            reason: "not a process id".into(),
        });
    };
    if raw <= 0 {
        return Err(SleepError::Signal {
            pid,
            reason: "not a process id".into(),
        });
    }
    // SAFETY: kill(2) with a positive pid and SIGTERM has no memory-safety preconditions.
    let rc = unsafe { libc::kill(raw, libc::SIGTERM) };
    if rc != 0 {
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::ESRCH) {
            return Err(SleepError::Signal {
                pid,
                reason: e.to_string(),
            });
        }
    }
    let start = Instant::now();
    while running_pid(profile_root).is_some() {
        if start.elapsed() >= timeout {
            return Err(SleepError::StopTimeout {
                pid,
                secs: timeout.as_secs(),
            });
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(StopOutcome::Stopped {
        pid,
        waited_s: start.elapsed().as_secs_f64(),
    })
}

impl SleepService<'_> {
    /// Decide every `tick_seconds` (re-read from `sleep-service.json` each time, as are all
    /// configs) until the stop flag is set; `max_ticks` bounds the loop (tests, `once`).
    /// `tick_override` replaces the configured interval. Errors of one tick are reported
    /// through `on_event` and the loop goes on; the pid lock is the caller's.
    pub fn run(&self, max_ticks: Option<u64>, tick_override: Option<Duration>) -> u64 {
        let mut ticks = 0;
        while !self.hooks.stop.load(Ordering::SeqCst) && max_ticks.is_none_or(|m| ticks < m) {
            if let Err(e) = self.tick(false) {
                (self.hooks.on_event)(&format!("sleep: tick failed: {e}"));
            }
            ticks += 1;
            if self.hooks.stop.load(Ordering::SeqCst) || max_ticks.is_some_and(|m| ticks >= m) {
                break;
            }
            let every = tick_override.unwrap_or_else(|| {
                let secs = configured_tick_seconds(self.profile.root());
                Duration::from_secs(secs)
            });
            self.clock.sleep(every, self.hooks.stop);
        }
        ticks
    }
}

fn configured_tick_seconds(profile_root: &Path) -> u64 {
    super::config::load_settings(&mh_profile::config::etc_path(
        profile_root,
        super::config::SETTINGS_FILE,
    ))
    .map(|s| s.value.tick_seconds)
    .unwrap_or(super::config::DEFAULT_TICK_SECONDS)
}

/// The sleep service's part of `mh-train status`.
#[derive(Debug, Clone, Serialize)]
pub struct SleepStatus {
    pub last_decision: Option<Decision>,
    pub last_attempt: Option<Attempt>,
    /// Local time, `None` when a switch keeps it from running.
    pub next_run: Option<String>,
    pub next_run_note: String,
    /// The pid of a `sleep-service run` / `once` working on the profile now.
    pub running_pid: Option<u32>,
    /// Why configs or records could not be read, if so.
    pub problems: Vec<String>,
}

impl SleepStatus {
    /// Lines for the terminal, aligned with `status`' other lines.
    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        match &self.last_decision {
            Some(d) => {
                let repeats = if d.repeats > 0 {
                    format!(", same since {}", d.first_checked_at)
                } else {
                    String::new()
                };
                out.push(format!(
                    "sleep        last decision {} ({}{repeats}): {}",
                    d.outcome.as_str(),
                    d.checked_at,
                    d.reason
                ));
            }
            None => out.push("sleep        no decision yet".into()),
        }
        if let Some(a) = &self.last_attempt {
            let same = self
                .last_decision
                .as_ref()
                .is_some_and(|d| d.attempted && d.night == a.night);
            if !same {
                out.push(format!(
                    "sleep        last attempt night of {} ({}): {}{}",
                    a.night,
                    a.outcome,
                    a.reason,
                    a.run_label
                        .as_ref()
                        .map_or(String::new(), |l| format!(" [run {l}]"))
                ));
            }
        }
        match &self.next_run {
            Some(t) => out.push(format!("sleep        next run {t}: {}", self.next_run_note)),
            None => out.push(format!("sleep        {}", self.next_run_note)),
        }
        if let Some(pid) = self.running_pid {
            out.push(format!("sleep        service running (pid {pid})"));
        }
        for p in &self.problems {
            out.push(format!("sleep        problem: {p}"));
        }
        out
    }
}

/// What the sleep service last did and will do next, for `mh-train status`.
pub fn status(profile_root: &Path, system_root: Option<&Path>, clock: &dyn Clock) -> SleepStatus {
    let mut problems = Vec::new();
    let last_decision = record::last_decision(profile_root).unwrap_or_else(|e| {
        problems.push(e.to_string());
        None
    });
    let last_attempt = match record::load_state(profile_root) {
        Ok(s) => s.last_attempt,
        Err(e) => {
            problems.push(e.to_string());
            None
        }
    };
    let (next_run, next_run_note) = match SleepConfigs::load(profile_root, system_root) {
        Ok(c) => {
            let (t, note) = next_run(&c, last_attempt.as_ref(), &clock.now());
            (
                t.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
                note,
            )
        }
        Err(e) => (None, format!("not scheduled: {e}")),
    };
    SleepStatus {
        last_decision,
        last_attempt,
        next_run,
        next_run_note,
        running_pid: running_pid(profile_root),
        problems,
    }
}
