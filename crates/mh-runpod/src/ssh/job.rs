//! A job on the pod that outlives SSH connections.
//!
//! Layout of `job_dir` on the pod:
//!
//! * `job.sh` — the wrapper mh-train writes (mode 0700; it carries the job's environment);
//! * `.started/` — created atomically by the one `start` that launched the job;
//! * `job.pid` — pid of the wrapper, which is also the job's process group and session id;
//! * `job.log` — the job's stdout and stderr;
//! * `exit-status` — the command's exit status, written by the wrapper when the command ends,
//!   also when it was killed (`128 + signal`).
//!
//! The wrapper runs under `setsid nohup` with stdin from `/dev/null`, so neither a dropped SSH
//! connection nor a hang-up reaches it. The command runs with `sh -c` in `job_dir`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::{sh_quote, sleep_unless_stopped, SshError, SshSession};

/// A detached job identified by its directory on the pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteJob {
    pub job_dir: String,
}

/// Result of [`RemoteJob::start`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobStart {
    /// The job was launched by this call.
    Started,
    /// A job was already launched in this directory (running or finished); nothing was done.
    AlreadyStarted,
}

/// State of a job as seen from the pod.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    /// No job was ever started in this directory.
    NotStarted,
    Running,
    /// Finished with this exit status.
    Exited(i32),
    /// Started, not running, no exit status (pod restarted, wrapper killed with SIGKILL).
    Lost,
}

/// The end of [`RemoteJob::follow`]: the job's exit status and the session in use then.
#[derive(Debug)]
pub struct JobExit {
    pub status: i32,
    pub session: SshSession,
}

/// Seconds `kill` waits after SIGTERM before SIGKILL.
const KILL_GRACE_TENTHS: u32 = 100;
/// Consecutive failed polls right after successful reconnects before `follow` gives up.
const MAX_FAILED_POLLS: u32 = 5;

impl RemoteJob {
    pub fn new(job_dir: impl Into<String>) -> RemoteJob {
        RemoteJob {
            job_dir: job_dir.into(),
        }
    }

    fn path(&self, name: &str) -> String {
        super::transfer::join_remote(&self.job_dir, name)
    }

    /// Launch `command` (run by `sh -c` in `job_dir`, with `env` exported) detached from the
    /// SSH session. Idempotent: if a job was already launched in `job_dir` — running or
    /// finished — nothing is started and [`JobStart::AlreadyStarted`] is returned.
    pub fn start(
        &self,
        s: &SshSession,
        command: &str,
        env: &[(String, String)],
    ) -> Result<JobStart, SshError> {
        if self.job_dir.trim_end_matches('/').is_empty() || self.job_dir.contains('\n') {
            return Err(SshError::Invalid(format!(
                "unusable job directory {:?}",
                self.job_dir
            )));
        }
        for (name, _) in env {
            let valid = !name.is_empty()
                && !name.starts_with(|c: char| c.is_ascii_digit())
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid {
                return Err(SshError::Invalid(format!(
                    "environment variable name {name:?} is not a valid shell name"
                )));
            }
        }
        let dir = sh_quote(&self.job_dir);
        s.exec_ok(&format!("mkdir -p -- {dir}"))?;

        // The wrapper goes in with SFTP (not on a command line: it may carry secrets in env).
        let nonce = format!(
            "{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        );
        let tmp_name = format!(".job.sh.{nonce}");
        let tmp = self.path(&tmp_name);
        let script = self.wrapper_script(command, env);
        let what = format!("write {tmp}");
        s.with_sftp(|sftp| {
            use std::io::Write;
            let mut f = sftp
                .open_mode(
                    std::path::Path::new(&tmp),
                    ssh2::OpenFlags::WRITE | ssh2::OpenFlags::CREATE | ssh2::OpenFlags::TRUNCATE,
                    0o700,
                    ssh2::OpenType::File,
                )
                .map_err(|e| s.ssh_error(&what, e))?;
            f.write_all(script.as_bytes())
                .map_err(|e| s.stream_error(&what, e))?;
            f.close().map_err(|e| s.ssh_error(&what, e))
        })?;

        let launch = format!(
            r#"cd -- {dir} || exit 1
if ! command -v setsid >/dev/null 2>&1; then rm -f {tmp}; echo "setsid not found on the pod (install util-linux)" >&2; exit 127; fi
if mkdir .started 2>/dev/null; then
  mv -f {tmp} job.sh || exit 1
  setsid nohup sh {wrapper} >{log} 2>&1 </dev/null &
  i=0
  while [ ! -s job.pid ] && [ ! -f exit-status ]; do
    i=$((i+1))
    if [ $i -gt 300 ]; then echo "the job did not record its pid within 30 s" >&2; exit 1; fi
    sleep 0.1
  done
  echo MH_JOB_STARTED
else
  rm -f {tmp}
  echo MH_JOB_ALREADY_STARTED
fi"#,
            tmp = sh_quote(&tmp_name),
            wrapper = sh_quote(&self.path("job.sh")),
            log = sh_quote(&self.path("job.log")),
        );
        let out = s.exec_ok_timeout(&launch, s.io_timeout + Duration::from_secs(30))?;
        if out.contains("MH_JOB_ALREADY_STARTED") {
            Ok(JobStart::AlreadyStarted)
        } else if out.contains("MH_JOB_STARTED") {
            Ok(JobStart::Started)
        } else {
            Err(SshError::Remote {
                command: "start job".into(),
                status: 0,
                stderr_tail: format!("unexpected output {:?}", super::tail(&out, 200)),
            })
        }
    }

    fn wrapper_script(&self, command: &str, env: &[(String, String)]) -> String {
        let dir = sh_quote(&self.job_dir);
        let mut s = String::from("# mh-train job wrapper: runs one command detached from SSH.\n");
        s.push_str(&format!("cd -- {dir} || exit 1\n"));
        s.push_str("echo $$ > job.pid.tmp && mv -f job.pid.tmp job.pid\n");
        // A trap (not an ignore, which children would inherit) keeps this shell alive on
        // SIGTERM to the process group so it can record the command's status.
        s.push_str("trap 'echo \"mh-train: job received SIGTERM\" >&2' TERM\n");
        for (k, v) in env {
            s.push_str(&format!("export {k}={}\n", sh_quote(v)));
        }
        s.push_str(&format!("sh -c {}\n", sh_quote(command)));
        s.push_str("status=$?\n");
        s.push_str(
            "printf '%s\\n' \"$status\" > exit-status.tmp && mv -f exit-status.tmp exit-status\n",
        );
        s
    }

    /// Where the job stands, from one remote command.
    pub fn state(&self, s: &SshSession) -> Result<JobState, SshError> {
        let script = format!(
            r#"cd -- {dir} 2>/dev/null || {{ echo MH_JOB_NONE; exit 0; }}
if [ -f exit-status ]; then echo "MH_JOB_EXITED $(cat exit-status)"; exit 0; fi
pid=$(cat job.pid 2>/dev/null)
case "$pid" in ''|*[!0-9]*) pid= ;; esac
if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then echo MH_JOB_RUNNING; exit 0; fi
if [ -f exit-status ]; then echo "MH_JOB_EXITED $(cat exit-status)"; exit 0; fi
if [ ! -d .started ]; then echo MH_JOB_NONE; exit 0; fi
if [ -z "$pid" ]; then echo MH_JOB_RUNNING; exit 0; fi
echo MH_JOB_LOST"#,
            dir = sh_quote(&self.job_dir)
        );
        let out = s.exec_ok(&script)?;
        let line = out.trim();
        if let Some(rest) = line.strip_prefix("MH_JOB_EXITED") {
            let status = rest.trim().parse::<i32>().map_err(|_| SshError::Remote {
                command: "job state".into(),
                status: 0,
                stderr_tail: format!("unreadable exit-status {:?}", rest.trim()),
            })?;
            return Ok(JobState::Exited(status));
        }
        match line {
            "MH_JOB_RUNNING" => Ok(JobState::Running),
            "MH_JOB_NONE" => Ok(JobState::NotStarted),
            "MH_JOB_LOST" => Ok(JobState::Lost),
            other => Err(SshError::Remote {
                command: "job state".into(),
                status: 0,
                stderr_tail: format!("unexpected output {other:?}"),
            }),
        }
    }

    /// Poll until the job's exit status appears. Every `poll`, new bytes of each of `files`
    /// (remote paths) are read and complete lines handed to `on_line(file_index, line)`; a last
    /// line without a newline is delivered once the job has ended. On a dropped connection
    /// `reconnect()` is called and following continues from the saved offsets: no line twice,
    /// none lost. `stop` set → [`SshError::Stopped`] (the job keeps running).
    pub fn follow(
        &self,
        session: SshSession,
        reconnect: &mut dyn FnMut() -> Result<SshSession, SshError>,
        files: &[String],
        on_line: &mut dyn FnMut(usize, &str),
        poll: Duration,
        stop: &AtomicBool,
    ) -> Result<JobExit, SshError> {
        let mut followers: Vec<Follower> = files.iter().map(|_| Follower::default()).collect();
        let mut session = session;
        let mut failed_polls = 0u32;
        loop {
            if stop.load(Ordering::SeqCst) {
                return Err(SshError::Stopped);
            }
            match self.poll_once(&session, files, &mut followers, on_line) {
                Ok(Some(status)) => {
                    for (i, f) in followers.iter_mut().enumerate() {
                        if !f.partial.is_empty() {
                            let line = std::mem::take(&mut f.partial);
                            on_line(i, &line_text(&line));
                        }
                    }
                    return Ok(JobExit { status, session });
                }
                Ok(None) => {
                    failed_polls = 0;
                    sleep_unless_stopped(poll, stop)?;
                }
                Err(e) if e.is_retryable() => {
                    failed_polls += 1;
                    if failed_polls > MAX_FAILED_POLLS {
                        return Err(e);
                    }
                    drop(session);
                    if stop.load(Ordering::SeqCst) {
                        return Err(SshError::Stopped);
                    }
                    session = reconnect()?;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// One round: job state first, then every file to its current end (so once the job has
    /// exited, the files read are complete). Returns the exit status when the job has ended.
    fn poll_once(
        &self,
        s: &SshSession,
        files: &[String],
        followers: &mut [Follower],
        on_line: &mut dyn FnMut(usize, &str),
    ) -> Result<Option<i32>, SshError> {
        let state = self.state(s)?;
        for (i, (path, f)) in files.iter().zip(followers.iter_mut()).enumerate() {
            loop {
                let bytes = s.read_from(path, f.offset)?;
                if bytes.is_empty() {
                    break;
                }
                f.offset += bytes.len() as u64;
                f.partial.extend_from_slice(&bytes);
                while let Some(nl) = f.partial.iter().position(|&b| b == b'\n') {
                    let line: Vec<u8> = f.partial.drain(..=nl).collect();
                    on_line(i, &line_text(&line[..nl]));
                }
            }
        }
        match state {
            JobState::Exited(status) => Ok(Some(status)),
            JobState::Running => Ok(None),
            JobState::Lost => Err(SshError::JobLost {
                job_dir: self.job_dir.clone(),
            }),
            JobState::NotStarted => Err(SshError::Invalid(format!(
                "no job was started in {}",
                self.job_dir
            ))),
        }
    }

    /// Make `job_dir` ready for a new job: stop any job it ran (as [`kill`](Self::kill)) and
    /// remove its traces (`job.sh`, `.started`, `job.pid`, `job.log`, `exit-status`); other
    /// files stay.
    pub fn forget(&self, s: &SshSession) -> Result<(), SshError> {
        self.kill(s)?;
        let traces: Vec<String> = ["job.sh", ".started", "job.pid", "job.log", "exit-status"]
            .iter()
            .map(|name| sh_quote(&self.path(name)))
            .collect();
        s.exec_ok(&format!("rm -rf -- {}", traces.join(" ")))
            .map(|_| ())
    }

    /// Stop the job: SIGTERM to its process group, up to 10 s for it to end, then SIGKILL.
    /// The exit status file is written either way (by the wrapper, or `137` after SIGKILL).
    /// A job that is not running is left alone.
    pub fn kill(&self, s: &SshSession) -> Result<(), SshError> {
        let script = format!(
            r#"cd -- {dir} 2>/dev/null || exit 0
[ -f exit-status ] && exit 0
pid=$(cat job.pid 2>/dev/null)
case "$pid" in ''|*[!0-9]*) exit 0 ;; esac
kill -0 "$pid" 2>/dev/null || exit 0
kill -TERM -"$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
i=0
while [ ! -f exit-status ] && [ $i -lt {grace} ]; do sleep 0.1; i=$((i+1)); done
if [ ! -f exit-status ]; then
  kill -KILL -"$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null
  printf '137\n' > exit-status.tmp && mv -f exit-status.tmp exit-status
fi"#,
            dir = sh_quote(&self.job_dir),
            grace = KILL_GRACE_TENTHS,
        );
        s.exec_ok_timeout(
            &script,
            s.io_timeout + Duration::from_secs(u64::from(KILL_GRACE_TENTHS) / 10 + 5),
        )
        .map(|_| ())
    }
}

#[derive(Default)]
struct Follower {
    /// Bytes of the file consumed so far (complete lines delivered + `partial`).
    offset: u64,
    /// Bytes after the last newline.
    partial: Vec<u8>,
}

fn line_text(bytes: &[u8]) -> String {
    let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
    String::from_utf8_lossy(bytes).into_owned()
}
