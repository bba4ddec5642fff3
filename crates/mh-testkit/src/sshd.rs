//! A real OpenSSH server on loopback ([`Sshd`]) standing in for a pod in remote-training tests.
//!
//! [`Sshd::start`] makes a scratch directory with a fresh ed25519 host key and client key
//! (`ssh-keygen -q -N '' -t ed25519`), an `authorized_keys` holding the client key and an
//! `sshd_config` (127.0.0.1 on a free port, public-key authentication only, no PAM, internal
//! SFTP), then runs `sshd -D -e -f <config>` and waits until the port accepts connections. The
//! login user is the user running the tests (root in CI, anyone else locally).
//!
//! Faults: [`Sshd::kill_connections`] SIGKILLs the per-connection sshd processes (the
//! listener's descendants), which drops every open SSH link the way a network failure does
//! while the server keeps listening and anything started detached keeps running;
//! [`Sshd::restart`] restarts on the same port, optionally with a new host key (a "replaced"
//! pod, for host key checks). The server's log is kept ([`Sshd::log`]).
//!
//! Needs Debian's `openssh-server` (`sshd`, `ssh-keygen`); `scripts/test.sh` installs it.

use std::fs::{self, OpenOptions};
use std::io;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How to log in to an [`Sshd`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshLogin {
    pub host: String,
    pub port: u16,
    pub user: String,
    /// The client's private key (`<key_path>.pub` is next to it).
    pub key_path: PathBuf,
}

/// A running `sshd` on 127.0.0.1; stopped and its directory removed on drop.
pub struct Sshd {
    dir: PathBuf,
    port: u16,
    user: String,
    sshd: PathBuf,
    child: Mutex<Child>,
    pid: AtomicU32,
}

const MISSING: &str =
    "is not installed: install Debian's openssh-server (apt-get install openssh-server; scripts/test.sh does)";

impl Sshd {
    /// Generate keys and a config in a fresh directory and start sshd on a free port.
    pub fn start() -> io::Result<Sshd> {
        let sshd = find_program(
            "sshd",
            &["/usr/sbin/sshd", "/usr/local/sbin/sshd", "/sbin/sshd"],
        )
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("sshd {MISSING}")))?;
        if find_program("ssh-keygen", &["/usr/bin/ssh-keygen"]).is_none() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("ssh-keygen {MISSING}"),
            ));
        }
        let dir = scratch_dir()?;
        let result = (|| {
            keygen(&dir.join("host_ed25519"))?;
            keygen(&dir.join("client_ed25519"))?;
            fs::copy(dir.join("client_ed25519.pub"), dir.join("authorized_keys"))?;
            let user = current_user()?;
            if is_root() {
                fs::create_dir_all("/run/sshd")?;
            }
            let port = free_port()?;
            fs::write(dir.join("sshd_config"), config(&dir, port))?;
            let child = spawn(&sshd, &dir)?;
            let me = Sshd {
                pid: AtomicU32::new(child.id()),
                child: Mutex::new(child),
                dir: dir.clone(),
                port,
                user,
                sshd: sshd.clone(),
            };
            me.wait_ready()?;
            Ok(me)
        })();
        if result.is_err() {
            let _ = fs::remove_dir_all(&dir);
        }
        result
    }

    /// Host, port, user and client key to log in with.
    pub fn target(&self) -> SshLogin {
        SshLogin {
            host: "127.0.0.1".into(),
            port: self.port,
            user: self.user.clone(),
            key_path: self.dir.join("client_ed25519"),
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The scratch directory (keys, config, log).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `SHA256:…` fingerprint of the current host key, as `ssh-keygen -l -E sha256` prints it.
    pub fn host_key_fingerprint(&self) -> io::Result<String> {
        let out = Command::new("ssh-keygen")
            .args(["-l", "-E", "sha256", "-f"])
            .arg(self.dir.join("host_ed25519.pub"))
            .output()?;
        let text = String::from_utf8_lossy(&out.stdout);
        text.split_whitespace()
            .find(|w| w.starts_with("SHA256:"))
            .map(str::to_string)
            .ok_or_else(|| io::Error::other(format!("ssh-keygen -l printed {text:?}")))
    }

    /// Everything sshd has logged so far (across restarts).
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.join("sshd.log")).unwrap_or_default()
    }

    /// Pids of the per-connection sshd processes (descendants of the listener named sshd).
    pub fn connection_pids(&self) -> Vec<u32> {
        let listener = self.pid.load(Ordering::SeqCst);
        let procs = processes();
        let mut out = Vec::new();
        let mut frontier = vec![listener];
        while let Some(parent) = frontier.pop() {
            for (pid, ppid, comm) in &procs {
                if *ppid == parent {
                    frontier.push(*pid);
                    if comm.starts_with("sshd") {
                        out.push(*pid);
                    }
                }
            }
        }
        out
    }

    /// SIGKILL every per-connection sshd process: open SSH links drop at once, the listener
    /// keeps accepting, and processes that detached from their session (setsid) keep running.
    /// Returns how many processes were killed.
    pub fn kill_connections(&self) -> io::Result<usize> {
        let pids = self.connection_pids();
        for pid in &pids {
            // A process may have exited meanwhile; that is fine.
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .stderr(Stdio::null())
                .status()?;
        }
        Ok(pids.len())
    }

    /// Stop sshd (dropping its connections) and start it again on the same port; with
    /// `new_host_key` a fresh host key is generated first, as on a replaced machine.
    pub fn restart(&mut self, new_host_key: bool) -> io::Result<()> {
        self.stop();
        if new_host_key {
            let _ = fs::remove_file(self.dir.join("host_ed25519"));
            let _ = fs::remove_file(self.dir.join("host_ed25519.pub"));
            keygen(&self.dir.join("host_ed25519"))?;
        }
        let child = spawn(&self.sshd, &self.dir)?;
        self.pid.store(child.id(), Ordering::SeqCst);
        *self.child.lock().unwrap_or_else(|p| p.into_inner()) = child;
        self.wait_ready()
    }

    fn stop(&self) {
        let _ = self.kill_connections();
        let mut child = self.child.lock().unwrap_or_else(|p| p.into_inner());
        let _ = child.kill();
        let _ = child.wait();
    }

    fn wait_ready(&self) -> io::Result<()> {
        let started = Instant::now();
        loop {
            if let Some(status) = self
                .child
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .try_wait()?
            {
                return Err(io::Error::other(format!(
                    "sshd exited with {status} at start; its log:\n{}",
                    self.log()
                )));
            }
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return Ok(());
            }
            if started.elapsed() > Duration::from_secs(20) {
                return Err(io::Error::other(format!(
                    "sshd did not listen on 127.0.0.1:{} within 20 s; its log:\n{}",
                    self.port,
                    self.log()
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        self.stop();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

impl std::fmt::Debug for Sshd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sshd")
            .field("port", &self.port)
            .field("user", &self.user)
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

fn config(dir: &Path, port: u16) -> String {
    let d = dir.display();
    format!(
        "Port {port}
ListenAddress 127.0.0.1
HostKey {d}/host_ed25519
AuthorizedKeysFile {d}/authorized_keys
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PermitRootLogin prohibit-password
MaxStartups 100
PidFile {d}/sshd.pid
Subsystem sftp internal-sftp
LogLevel INFO
"
    )
}

fn spawn(sshd: &Path, dir: &Path) -> io::Result<Child> {
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("sshd.log"))?;
    Command::new(sshd)
        .arg("-D")
        .arg("-e")
        .arg("-f")
        .arg(dir.join("sshd_config"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(log))
        .spawn()
}

fn keygen(path: &Path) -> io::Result<()> {
    let out = Command::new("ssh-keygen")
        .args(["-q", "-N", "", "-t", "ed25519", "-C", "mh-testkit", "-f"])
        .arg(path)
        .stdin(Stdio::null())
        .output()?;
    if !out.status.success() {
        return Err(io::Error::other(format!(
            "ssh-keygen failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok(())
}

/// An absolute path for `name` (sshd refuses to re-exec itself from a relative one).
fn find_program(name: &str, candidates: &[&str]) -> Option<PathBuf> {
    for c in candidates {
        if Path::new(c).is_file() {
            return Some(PathBuf::from(c));
        }
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_absolute() && p.is_file())
}

fn scratch_dir() -> io::Result<PathBuf> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let base = std::env::temp_dir();
    // Canonical, so sshd gets absolute paths without symlinks.
    let base = base.canonicalize().unwrap_or(base);
    let dir = base.join(format!(
        "mh-sshd-{}-{}-{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    fs::create_dir(&dir)?;
    Ok(dir)
}

fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn command_output(program: &str, args: &[&str]) -> io::Result<String> {
    let out = Command::new(program).args(args).output()?;
    if !out.status.success() {
        return Err(io::Error::other(format!("{program} {args:?} failed")));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn current_user() -> io::Result<String> {
    command_output("id", &["-un"])
}

fn is_root() -> bool {
    command_output("id", &["-u"]).is_ok_and(|u| u == "0")
}

/// (pid, ppid, comm) of every process, from `/proc/<pid>/stat`.
fn processes() -> Vec<(u32, u32, String)> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // "pid (comm) state ppid …"; comm may contain spaces and parentheses.
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let comm = stat[open + 1..close].to_string();
        let mut rest = stat[close + 1..].split_whitespace();
        let _state = rest.next();
        if let Some(ppid) = rest.next().and_then(|p| p.parse::<u32>().ok()) {
            out.push((pid, ppid, comm));
        }
    }
    out
}
