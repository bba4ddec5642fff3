//! SSH and SFTP to a pod: connect with retries, trust on first use of the host key, move files
//! with sha256 checks and resume, and run a job that survives dropped connections.
//!
//! **In:** an [`SshTarget`] (host, port, user, private key path) and [`ConnectOptions`] (a retry
//! deadline, an I/O timeout and a `known_hosts` file owned by mh-train).
//!
//! **Out:** an authenticated [`SshSession`] that runs commands ([`SshSession::exec`]), uploads
//! and downloads files and directories ([`SshSession::upload_dir`],
//! [`SshSession::download_file`], …; every file verified with `sha256sum` on the pod, partial
//! copies resumed), and a detached [`RemoteJob`] followed across reconnects.
//!
//! What the seed did wrong and this module does not: host keys are recorded on first contact
//! and enforced afterwards (a changed key refuses the connection before authentication); the
//! trainer is started detached with `setsid nohup` and writes its exit status to a file, so a
//! dropped SSH link never kills it; files travel over SFTP, not as base64 through a shell.
//!
//! Authentication is by public key only (`key_path`, plus `key_path.pub` when present): no
//! agent, no passwords. Key contents never appear in logs or errors, only the key's path.
//!
//! Remote paths are either absolute or relative to the login user's home directory (SFTP and
//! the remote shell both start there); `~` is not expanded.

mod hostkey;
mod job;
mod transfer;

use std::io::Read;
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

pub use hostkey::fingerprint_sha256;
pub use job::{JobExit, JobStart, JobState, RemoteJob};
pub use transfer::TransferReport;

/// Where to reach a pod's sshd and as whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshTarget {
    /// IP address or host name.
    pub host: String,
    /// TCP port (RunPod maps the pod's 22/tcp to a public port).
    pub port: u16,
    /// Login user (`root` on RunPod images).
    pub user: String,
    /// Private key file; `<key_path>.pub` is used too when it exists.
    pub key_path: PathBuf,
}

/// How [`SshSession::connect`] retries and which host keys it trusts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectOptions {
    /// Keep retrying (TCP refused, sshd not answering yet, handshake cut) until this much time
    /// has passed since the first attempt.
    pub deadline: Duration,
    /// Pause between attempts.
    pub retry_every: Duration,
    /// OpenSSH-format known-hosts file: the first contact with `host:port` records its key,
    /// later contacts must present the same key.
    pub known_hosts: PathBuf,
    /// Longest wait for any single network operation (connect, a read, a write) before the
    /// link counts as dropped.
    pub io_timeout: Duration,
}

impl ConnectOptions {
    /// Defaults for a pod that is still booting: retry for 5 minutes every 5 s, 60 s I/O
    /// timeout.
    pub fn new(known_hosts: impl Into<PathBuf>) -> ConnectOptions {
        ConnectOptions {
            deadline: Duration::from_secs(300),
            retry_every: Duration::from_secs(5),
            known_hosts: known_hosts.into(),
            io_timeout: Duration::from_secs(60),
        }
    }
}

/// Everything that can go wrong talking to a pod. Messages name the host, path or command,
/// never key material.
#[derive(Debug, thiserror::Error)]
pub enum SshError {
    /// No authenticated session could be set up before the deadline (TCP refused or timed
    /// out, sshd not speaking SSH yet, handshake cut).
    #[error("cannot reach sshd at {host}:{port} after {attempts} attempt(s): {message}")]
    Connect {
        host: String,
        port: u16,
        attempts: u32,
        message: String,
    },
    /// The server presented a host key other than the one recorded on first contact. Nothing
    /// was authenticated or executed.
    #[error(
        "host key of {host}:{port} changed: recorded {expected}, presented {found}; refusing to connect (if the pod was really replaced, remove its line from the known-hosts file)"
    )]
    HostKeyMismatch {
        host: String,
        port: u16,
        /// `SHA256:<base64>` fingerprint recorded in the known-hosts file.
        expected: String,
        /// `SHA256:<base64>` fingerprint the server presented.
        found: String,
    },
    /// The known-hosts file could not be read or written.
    #[error("known-hosts file {path}: {message}")]
    KnownHosts { path: PathBuf, message: String },
    /// Public-key authentication was refused or the key file is unusable.
    #[error("authentication as {user} at {host}:{port} with key {key_path} failed: {message}")]
    Auth {
        user: String,
        host: String,
        port: u16,
        key_path: PathBuf,
        message: String,
    },
    /// A local file operation failed.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    /// The SSH connection broke or timed out in the middle of an operation.
    #[error("connection lost while trying to {context}: {message}")]
    Transport { context: String, message: String },
    /// The SFTP server refused an operation (no such file, permission denied, disk full, …).
    #[error("sftp: {context}: {message}")]
    Sftp {
        context: String,
        /// The SFTP status code (`SSH_FX_*`) when the server sent one.
        code: Option<i32>,
        message: String,
    },
    /// A file's sha256 after transfer differs from its source's.
    #[error("sha256 mismatch for {path}: expected {expected}, found {found}")]
    Checksum {
        path: String,
        expected: String,
        found: String,
    },
    /// A remote command exited non-zero.
    #[error("remote command `{command}` exited with status {status}: {stderr_tail}")]
    Remote {
        command: String,
        status: i32,
        stderr_tail: String,
    },
    /// A detached job neither runs nor left an exit status (the pod rebooted or the job's
    /// wrapper was killed with SIGKILL).
    #[error("the job in {job_dir} is gone without an exit status (pod restarted or job killed with SIGKILL)")]
    JobLost { job_dir: String },
    /// A request this module refuses (unsafe path, bad environment variable name, …).
    #[error("{0}")]
    Invalid(String),
    /// The caller's stop flag was set.
    #[error("stopped")]
    Stopped,
}

impl SshError {
    /// Whether reconnecting and trying again can help: dropped or unreachable connections yes;
    /// host key mismatch, authentication, checksum, refused SFTP operations and failed commands
    /// no.
    pub fn is_retryable(&self) -> bool {
        matches!(self, SshError::Connect { .. } | SshError::Transport { .. })
    }

    fn io(context: impl Into<String>, source: std::io::Error) -> SshError {
        SshError::Io {
            context: context.into(),
            source,
        }
    }
}

/// What a remote command printed and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOutput {
    /// Exit status; `128 + signal number` when the command was killed by a signal, `-1` when
    /// the signal is unknown.
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Quote `s` as one word for a POSIX shell (`'…'`, with embedded `'` as `'\''`).
pub fn sh_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        if c == '\'' {
            out.push_str("'\\''");
        } else {
            out.push(c);
        }
    }
    out.push('\'');
    out
}

/// An authenticated SSH connection to a pod (one `ssh2::Session` over one TCP stream; the SFTP
/// channel is opened on first use and reused).
pub struct SshSession {
    session: ssh2::Session,
    sftp: Mutex<Option<ssh2::Sftp>>,
    target: SshTarget,
    io_timeout: Duration,
    host_key_fingerprint: String,
}

impl std::fmt::Debug for SshSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SshSession")
            .field("target", &self.target)
            .field("host_key", &self.host_key_fingerprint)
            .finish_non_exhaustive()
    }
}

impl SshSession {
    /// Connect, check the host key against `opts.known_hosts` (recording it on first contact)
    /// and authenticate with the target's key. Unreachable or not-yet-ready sshd is retried
    /// every `opts.retry_every` until `opts.deadline`; a host key mismatch or an authentication
    /// failure ends at once. `stop` set → [`SshError::Stopped`].
    pub fn connect(
        target: &SshTarget,
        opts: &ConnectOptions,
        stop: &AtomicBool,
    ) -> Result<SshSession, SshError> {
        let started = Instant::now();
        let mut attempts = 0u32;
        loop {
            if stop.load(Ordering::SeqCst) {
                return Err(SshError::Stopped);
            }
            attempts += 1;
            let err = match Self::connect_once(target, opts) {
                Ok(s) => return Ok(s),
                Err(e) if e.is_retryable() => e,
                Err(e) => return Err(e),
            };
            let elapsed = started.elapsed();
            if elapsed >= opts.deadline {
                let message = match err {
                    SshError::Connect { message, .. } => message,
                    other => other.to_string(),
                };
                return Err(SshError::Connect {
                    host: target.host.clone(),
                    port: target.port,
                    attempts,
                    message,
                });
            }
            sleep_unless_stopped(opts.retry_every.min(opts.deadline - elapsed), stop)?;
        }
    }

    fn connect_once(target: &SshTarget, opts: &ConnectOptions) -> Result<SshSession, SshError> {
        let connect_err = |message: String| SshError::Connect {
            host: target.host.clone(),
            port: target.port,
            attempts: 1,
            message,
        };
        let io_timeout = opts.io_timeout.max(Duration::from_millis(100));
        let addrs: Vec<_> = (target.host.as_str(), target.port)
            .to_socket_addrs()
            .map_err(|e| connect_err(format!("cannot resolve host: {e}")))?
            .collect();
        let mut last = String::from("host resolved to no address");
        let mut tcp = None;
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, io_timeout) {
                Ok(s) => {
                    tcp = Some(s);
                    break;
                }
                Err(e) => last = format!("tcp connect to {addr}: {e}"),
            }
        }
        let tcp = tcp.ok_or_else(|| connect_err(last))?;
        let _ = tcp.set_nodelay(true);

        let mut session =
            ssh2::Session::new().map_err(|e| connect_err(format!("libssh2 init: {e}")))?;
        session.set_tcp_stream(tcp);
        session.set_timeout(millis(io_timeout));
        session
            .handshake()
            .map_err(|e| connect_err(format!("ssh handshake: {}", e.message())))?;

        let fingerprint = hostkey::verify(&session, &target.host, target.port, &opts.known_hosts)?;

        authenticate(&session, target)?;
        Ok(SshSession {
            session,
            sftp: Mutex::new(None),
            target: target.clone(),
            io_timeout,
            host_key_fingerprint: fingerprint,
        })
    }

    /// The target this session is connected to.
    pub fn target(&self) -> &SshTarget {
        &self.target
    }

    /// `SHA256:<base64>` fingerprint of the server's host key.
    pub fn host_key_fingerprint(&self) -> &str {
        &self.host_key_fingerprint
    }

    /// Run `command` through the login shell on the pod and collect its output and status.
    /// The command's first 200 characters appear in errors: pass secrets through
    /// [`RemoteJob::start`]'s environment (written to a 0700 file over SFTP), never on a
    /// command line.
    pub fn exec(&self, command: &str) -> Result<ExecOutput, SshError> {
        self.exec_timeout(command, self.io_timeout)
    }

    /// Like [`exec`](Self::exec) but a non-zero exit is [`SshError::Remote`]; returns stdout.
    pub fn exec_ok(&self, command: &str) -> Result<String, SshError> {
        self.exec_ok_timeout(command, self.io_timeout)
    }

    fn exec_ok_timeout(&self, command: &str, timeout: Duration) -> Result<String, SshError> {
        let out = self.exec_timeout(command, timeout)?;
        if out.status != 0 {
            return Err(SshError::Remote {
                command: short_command(command),
                status: out.status,
                stderr_tail: tail(&out.stderr, 2000),
            });
        }
        Ok(out.stdout)
    }

    /// Run a command allowing `timeout` of silence (e.g. `sha256sum` of a large file prints
    /// nothing for a while).
    fn exec_timeout(&self, command: &str, timeout: Duration) -> Result<ExecOutput, SshError> {
        let _timeout = TimeoutGuard::set(self, timeout);
        let what = format!("run `{}`", short_command(command));
        let mut channel = self
            .session
            .channel_session()
            .map_err(|e| self.ssh_error(&what, e))?;
        channel
            .exec(command)
            .map_err(|e| self.ssh_error(&what, e))?;
        let (stdout, stderr) = self.read_both(&mut channel, timeout, &what)?;
        channel.wait_close().map_err(|e| self.ssh_error(&what, e))?;
        let mut status = channel
            .exit_status()
            .map_err(|e| self.ssh_error(&what, e))?;
        if let Ok(sig) = channel.exit_signal() {
            if let Some(name) = sig.exit_signal {
                status = signal_number(&name).map_or(-1, |n| 128 + n);
            }
        }
        Ok(ExecOutput {
            status,
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
        })
    }

    /// Read stdout and stderr together until both end. Reading one stream to its end first
    /// can deadlock: libssh2 widens the channel window only when a read starts, so a command
    /// that fills the window with stderr while we wait for stdout stalls both sides.
    fn read_both(
        &self,
        channel: &mut ssh2::Channel,
        timeout: Duration,
        what: &str,
    ) -> Result<(Vec<u8>, Vec<u8>), SshError> {
        struct Blocking<'a>(&'a ssh2::Session);
        impl Drop for Blocking<'_> {
            fn drop(&mut self) {
                self.0.set_blocking(true);
            }
        }
        self.session.set_blocking(false);
        let _restore = Blocking(&self.session);
        let mut out = (Vec::new(), Vec::new());
        let mut done = (false, false);
        let mut buf = vec![0u8; 32 * 1024];
        let mut last_data = Instant::now();
        let mut idle = Duration::from_millis(1);
        while !(done.0 && done.1) {
            let mut progressed = false;
            for (is_stderr, finished) in [(false, &mut done.0), (true, &mut done.1)] {
                if *finished {
                    continue;
                }
                let read = if is_stderr {
                    channel.stderr().read(&mut buf)
                } else {
                    channel.read(&mut buf)
                };
                match read {
                    Ok(0) => *finished = true,
                    Ok(n) => {
                        let sink = if is_stderr { &mut out.1 } else { &mut out.0 };
                        sink.extend_from_slice(&buf[..n]);
                        progressed = true;
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                    Err(e) => return Err(self.stream_error(what, e)),
                }
            }
            if progressed {
                last_data = Instant::now();
                idle = Duration::from_millis(1);
            } else if !(done.0 && done.1) {
                if last_data.elapsed() > timeout {
                    return Err(SshError::Transport {
                        context: what.to_string(),
                        message: format!("no output and no exit for {} s", timeout.as_secs()),
                    });
                }
                std::thread::sleep(idle);
                idle = (idle * 2).min(Duration::from_millis(20));
            }
        }
        Ok(out)
    }

    /// Bytes of `remote` from `offset` to its current end (at most 4 MiB per call; call again
    /// for more). Empty when the file does not exist yet or is not longer than `offset`.
    pub fn read_from(&self, remote: &str, offset: u64) -> Result<Vec<u8>, SshError> {
        const MAX: u64 = 4 << 20;
        let what = format!("read {remote}");
        self.with_sftp(|sftp| {
            let mut file = match sftp.open(Path::new(remote)) {
                Ok(f) => f,
                Err(e) if is_not_found(&e) => return Ok(Vec::new()),
                Err(e) => return Err(self.ssh_error(&what, e)),
            };
            let size = file
                .stat()
                .map_err(|e| self.ssh_error(&what, e))?
                .size
                .unwrap_or(0);
            if size <= offset {
                return Ok(Vec::new());
            }
            use std::io::Seek;
            file.seek(std::io::SeekFrom::Start(offset))
                .map_err(|e| self.stream_error(&what, e))?;
            let mut buf = Vec::new();
            file.take((size - offset).min(MAX))
                .read_to_end(&mut buf)
                .map_err(|e| self.stream_error(&what, e))?;
            Ok(buf)
        })
    }

    /// `rm -rf` a directory on the pod (refuses `/`, `.`, `..` and the empty path).
    pub fn remove_dir_all(&self, remote_dir: &str) -> Result<(), SshError> {
        let trimmed = remote_dir.trim_end_matches('/');
        if trimmed.is_empty() || trimmed == "." || trimmed == ".." || trimmed == "~" {
            return Err(SshError::Invalid(format!(
                "refusing to remove remote directory {remote_dir:?}"
            )));
        }
        self.exec_ok(&format!("rm -rf -- {}", sh_quote(remote_dir)))
            .map(|_| ())
    }

    fn with_sftp<T>(
        &self,
        f: impl FnOnce(&ssh2::Sftp) -> Result<T, SshError>,
    ) -> Result<T, SshError> {
        let mut guard: MutexGuard<'_, Option<ssh2::Sftp>> = match self.sftp.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        if guard.is_none() {
            let sftp = self
                .session
                .sftp()
                .map_err(|e| self.ssh_error("open the sftp subsystem", e))?;
            *guard = Some(sftp);
        }
        match guard.as_ref() {
            Some(sftp) => f(sftp),
            None => Err(SshError::Invalid("sftp channel unavailable".into())),
        }
    }

    /// Map an `ssh2::Error` from an operation on this session.
    fn ssh_error(&self, context: &str, e: ssh2::Error) -> SshError {
        classify(context, &e)
    }

    /// Map an `io::Error` from a channel or SFTP stream: ssh2 drops the libssh2 code there, so
    /// ask the session for the last error to tell a broken link from a refused operation.
    fn stream_error(&self, context: &str, e: std::io::Error) -> SshError {
        if e.kind() == std::io::ErrorKind::TimedOut {
            return SshError::Transport {
                context: context.to_string(),
                message: e.to_string(),
            };
        }
        match ssh2::Error::last_session_error(&self.session) {
            Some(last) if is_transport_code(&last) => SshError::Transport {
                context: context.to_string(),
                message: format!("{e} ({})", last.message()),
            },
            Some(last) => match last.code() {
                ssh2::ErrorCode::SFTP(code) => SshError::Sftp {
                    context: context.to_string(),
                    code: Some(code),
                    message: e.to_string(),
                },
                ssh2::ErrorCode::Session(_) => SshError::Sftp {
                    context: context.to_string(),
                    code: None,
                    message: format!("{e} ({})", last.message()),
                },
            },
            None => SshError::Transport {
                context: context.to_string(),
                message: e.to_string(),
            },
        }
    }
}

/// Restores the session's I/O timeout when dropped.
struct TimeoutGuard<'a> {
    s: &'a SshSession,
}

impl<'a> TimeoutGuard<'a> {
    fn set(s: &'a SshSession, timeout: Duration) -> TimeoutGuard<'a> {
        s.session.set_timeout(millis(timeout));
        TimeoutGuard { s }
    }
}

impl Drop for TimeoutGuard<'_> {
    fn drop(&mut self) {
        self.s.session.set_timeout(millis(self.s.io_timeout));
    }
}

fn authenticate(session: &ssh2::Session, target: &SshTarget) -> Result<(), SshError> {
    let auth_err = |message: String| SshError::Auth {
        user: target.user.clone(),
        host: target.host.clone(),
        port: target.port,
        key_path: target.key_path.clone(),
        message,
    };
    if let Err(e) = std::fs::metadata(&target.key_path) {
        return Err(auth_err(format!("private key file not readable: {e}")));
    }
    let mut pub_path = target.key_path.clone().into_os_string();
    pub_path.push(".pub");
    let pub_path = PathBuf::from(pub_path);
    let pubkey = pub_path.is_file().then_some(pub_path.as_path());
    if let Err(e) = session.userauth_pubkey_file(&target.user, pubkey, &target.key_path, None) {
        if is_transport_code(&e) {
            return Err(SshError::Connect {
                host: target.host.clone(),
                port: target.port,
                attempts: 1,
                message: format!("connection dropped during authentication: {}", e.message()),
            });
        }
        return Err(auth_err(format!(
            "public key refused or unusable ({}); is the key's .pub in the pod's authorized_keys, and is the key unencrypted?",
            e.message()
        )));
    }
    if !session.authenticated() {
        return Err(auth_err("server did not accept the key".into()));
    }
    Ok(())
}

/// libssh2 session error codes that mean the link is broken or silent, not that the request
/// was refused.
fn is_transport_code(e: &ssh2::Error) -> bool {
    match e.code() {
        ssh2::ErrorCode::Session(code) => matches!(
            code,
            -1 | -2
                | -3
                | -4
                | -5
                | -7
                | -8
                | -9
                | -12
                | -13
                | -14
                | -20
                | -21
                | -23
                | -24
                | -25
                | -26
                | -27
                | -30
                | -37
                | -43
                | -44
                | -45
                | -47
                | -52
        ),
        // SSH_FX_NO_CONNECTION, SSH_FX_CONNECTION_LOST
        ssh2::ErrorCode::SFTP(code) => matches!(code, 6 | 7),
    }
}

fn classify(context: &str, e: &ssh2::Error) -> SshError {
    if is_transport_code(e) {
        return SshError::Transport {
            context: context.to_string(),
            message: e.message().to_string(),
        };
    }
    let code = match e.code() {
        ssh2::ErrorCode::SFTP(c) => Some(c),
        ssh2::ErrorCode::Session(_) => None,
    };
    SshError::Sftp {
        context: context.to_string(),
        code,
        message: e.message().to_string(),
    }
}

fn is_not_found(e: &ssh2::Error) -> bool {
    // SSH_FX_NO_SUCH_FILE, SSH_FX_NO_SUCH_PATH
    matches!(e.code(), ssh2::ErrorCode::SFTP(2 | 10))
}

fn millis(d: Duration) -> u32 {
    u32::try_from(d.as_millis()).unwrap_or(u32::MAX)
}

/// Sleep `d` in short slices, returning [`SshError::Stopped`] as soon as `stop` is set.
fn sleep_unless_stopped(d: Duration, stop: &AtomicBool) -> Result<(), SshError> {
    let end = Instant::now() + d;
    loop {
        if stop.load(Ordering::SeqCst) {
            return Err(SshError::Stopped);
        }
        let now = Instant::now();
        if now >= end {
            return Ok(());
        }
        std::thread::sleep((end - now).min(Duration::from_millis(50)));
    }
}

fn short_command(command: &str) -> String {
    let one_line = command.replace('\n', "; ");
    if one_line.chars().count() > 200 {
        let cut: String = one_line.chars().take(200).collect();
        format!("{cut}…")
    } else {
        one_line
    }
}

fn tail(s: &str, max: usize) -> String {
    let t = s.trim_end();
    let n = t.chars().count();
    if n <= max {
        t.to_string()
    } else {
        t.chars().skip(n - max).collect()
    }
}

fn signal_number(name: &str) -> Option<i32> {
    Some(match name.trim_start_matches("SIG") {
        "HUP" => 1,
        "INT" => 2,
        "QUIT" => 3,
        "ILL" => 4,
        "ABRT" => 6,
        "FPE" => 8,
        "KILL" => 9,
        "SEGV" => 11,
        "PIPE" => 13,
        "ALRM" => 14,
        "TERM" => 15,
        "USR1" => 10,
        "USR2" => 12,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sh_quote_survives_the_shell() {
        for s in [
            "plain",
            "",
            "a b",
            "it's",
            "'",
            "$(rm -rf /)",
            "a\nb",
            "-n",
            "\\",
        ] {
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(format!("printf %s {}", sh_quote(s)))
                .output()
                .unwrap();
            assert_eq!(String::from_utf8(out.stdout).unwrap(), s, "{s:?}");
        }
    }

    #[test]
    fn retryable_only_for_link_problems() {
        let transport = SshError::Transport {
            context: "x".into(),
            message: "y".into(),
        };
        assert!(transport.is_retryable());
        let mismatch = SshError::HostKeyMismatch {
            host: "h".into(),
            port: 1,
            expected: "a".into(),
            found: "b".into(),
        };
        assert!(!mismatch.is_retryable());
        let checksum = SshError::Checksum {
            path: "p".into(),
            expected: "a".into(),
            found: "b".into(),
        };
        assert!(!checksum.is_retryable());
        assert!(!SshError::Stopped.is_retryable());
    }

    #[test]
    fn sessions_can_move_between_threads() {
        fn assert_send<T: Send>() {}
        assert_send::<SshSession>();
        assert_send::<SshError>();
    }

    #[test]
    fn long_commands_are_shortened_in_errors() {
        let c = "x".repeat(500);
        assert_eq!(short_command(&c).chars().count(), 201);
        assert_eq!(tail("abcdef\n", 3), "def");
    }
}
