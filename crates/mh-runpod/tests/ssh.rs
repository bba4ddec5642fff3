//! SSH/SFTP against a real OpenSSH server on loopback (mh_testkit::Sshd). The "pod" is this
//! machine, so remote paths are checked directly on the local file system as well as with
//! `sha256sum` over SSH.

use std::fs;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use mh_profile::Progress;
use mh_runpod::ssh::{
    fingerprint_sha256, sh_quote, ConnectOptions, JobStart, JobState, RemoteJob, SshError,
    SshSession, SshTarget, TransferReport,
};
use mh_testkit::Sshd;
use sha2::{Digest, Sha256};

/// A stop flag nobody sets.
static NO_STOP: AtomicBool = AtomicBool::new(false);

fn target(sshd: &Sshd) -> SshTarget {
    let login = sshd.target();
    SshTarget {
        host: login.host,
        port: login.port,
        user: login.user,
        key_path: login.key_path,
    }
}

fn options(known_hosts: &Path) -> ConnectOptions {
    ConnectOptions {
        deadline: Duration::from_secs(30),
        retry_every: Duration::from_millis(200),
        known_hosts: known_hosts.to_path_buf(),
        io_timeout: Duration::from_secs(30),
    }
}

fn connect(sshd: &Sshd, known_hosts: &Path) -> SshSession {
    SshSession::connect(
        &target(sshd),
        &options(known_hosts),
        &AtomicBool::new(false),
    )
    .expect("connect to the loopback sshd")
}

/// Deterministic incompressible bytes (xorshift64*).
fn data(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        out.extend_from_slice(&x.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    out.truncate(len);
    out
}

fn sha_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn remote_sha(s: &SshSession, path: &Path) -> String {
    let out = s
        .exec_ok(&format!("sha256sum {}", sh_quote(path.to_str().unwrap())))
        .unwrap();
    out[..64].to_string()
}

/// Counts bytes and stages.
#[derive(Default)]
struct Counter {
    bytes: AtomicU64,
    starts: AtomicU64,
}

impl Progress for Counter {
    fn start(&self, _: &str, _: Option<u64>) {
        self.starts.fetch_add(1, Ordering::SeqCst);
    }
    fn advance(&self, n: u64) {
        self.bytes.fetch_add(n, Ordering::SeqCst);
    }
    fn finish(&self) {}
}

/// Drops every SSH connection once `at` bytes have gone through.
struct DropLinkAt<'a> {
    sshd: &'a Sshd,
    at: u64,
    seen: AtomicU64,
    fired: AtomicBool,
}

impl Progress for DropLinkAt<'_> {
    fn start(&self, _: &str, _: Option<u64>) {}
    fn advance(&self, n: u64) {
        let seen = self.seen.fetch_add(n, Ordering::SeqCst) + n;
        if seen >= self.at && !self.fired.swap(true, Ordering::SeqCst) {
            let killed = self.sshd.kill_connections().unwrap();
            assert!(killed > 0, "no connection to kill");
        }
    }
    fn finish(&self) {}
}

/// Upload one file, unstoppable, without progress.
fn upload(s: &SshSession, local: &Path, remote: &str) -> TransferReport {
    s.upload_file(local, remote, &Counter::default(), &NO_STOP)
        .unwrap()
}

/// Download one file, unstoppable, without progress.
fn download(s: &SshSession, remote: &str, local: &Path) -> Result<TransferReport, SshError> {
    s.download_file(remote, local, &Counter::default(), &NO_STOP)
}

/// Sets a stop flag once `at` bytes have moved.
struct StopAt<'a> {
    stop: &'a AtomicBool,
    at: u64,
    seen: AtomicU64,
}

impl Progress for StopAt<'_> {
    fn start(&self, _: &str, _: Option<u64>) {}
    fn advance(&self, n: u64) {
        if self.seen.fetch_add(n, Ordering::SeqCst) + n >= self.at {
            self.stop.store(true, Ordering::SeqCst);
        }
    }
    fn finish(&self) {}
}

#[test]
fn a_stop_request_ends_transfers_midway_and_they_resume() {
    let sshd = Sshd::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let s = connect(&sshd, &dir.path().join("known_hosts"));
    let content = data(8 << 20, 9);
    let local = dir.path().join("big.bin");
    fs::write(&local, &content).unwrap();
    let remote = dir.path().join("pod/big.bin");
    let remote_str = remote.to_str().unwrap();

    let stop = AtomicBool::new(false);
    let at = StopAt {
        stop: &stop,
        at: 1 << 20,
        seen: AtomicU64::new(0),
    };
    let err = s.upload_file(&local, remote_str, &at, &stop).unwrap_err();
    assert!(matches!(err, SshError::Stopped), "{err:?}");
    let partial = fs::metadata(&remote).unwrap().len();
    assert!(partial > 0 && partial < content.len() as u64, "{partial}");
    let report = upload(&s, &local, remote_str);
    assert_eq!(report.bytes_sent, content.len() as u64 - partial);
    assert_eq!(fs::read(&remote).unwrap(), content);

    let back = dir.path().join("back.bin");
    let stop = AtomicBool::new(false);
    let at = StopAt {
        stop: &stop,
        at: 1 << 20,
        seen: AtomicU64::new(0),
    };
    let err = s.download_file(remote_str, &back, &at, &stop).unwrap_err();
    assert!(matches!(err, SshError::Stopped), "{err:?}");
    assert!(!back.exists(), "a stopped download must not look complete");
    download(&s, remote_str, &back).unwrap();
    assert_eq!(fs::read(&back).unwrap(), content);
}

#[test]
fn exec_reports_output_and_status() {
    let sshd = Sshd::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let s = connect(&sshd, &dir.path().join("known_hosts"));
    assert_eq!(
        s.host_key_fingerprint(),
        sshd.host_key_fingerprint().unwrap()
    );

    let out = s.exec("echo hello; echo oops >&2; exit 3").unwrap();
    assert_eq!(out.status, 3);
    assert_eq!(out.stdout, "hello\n");
    assert_eq!(out.stderr, "oops\n");

    assert_eq!(s.exec_ok("printf %s \"$((6*7))\"").unwrap(), "42");
    let t = std::time::Instant::now();
    for _ in 0..10 {
        s.exec_ok("true").unwrap();
    }
    eprintln!(
        "exec round trip: {:.1} ms",
        t.elapsed().as_secs_f64() * 100.0
    );
    match s.exec_ok("echo bad >&2; exit 5") {
        Err(SshError::Remote {
            status,
            stderr_tail,
            ..
        }) => {
            assert_eq!(status, 5);
            assert_eq!(stderr_tail, "bad");
        }
        other => panic!("expected Remote error, got {other:?}"),
    }
    // killed by a signal: 128 + signal number
    assert_eq!(s.exec("kill -TERM $$").unwrap().status, 143);
    // a big stderr does not wedge the channel
    let out = s
        .exec("head -c 3000000 /dev/zero | tr '\\0' e >&2; echo done")
        .unwrap();
    assert_eq!(out.stdout, "done\n");
    assert_eq!(out.stderr.len(), 3_000_000);
}

#[test]
fn upload_dir_verifies_and_skips_identical_files() {
    let sshd = Sshd::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("run");
    fs::create_dir_all(local.join("nested/deeper")).unwrap();
    let big = data(3 << 20, 1);
    fs::write(local.join("big.bin"), &big).unwrap();
    fs::write(local.join("config.json"), b"{\"r\": 8}\n").unwrap();
    fs::write(
        local.join("nested/deeper/it's a file.txt"),
        b"quoted name\n",
    )
    .unwrap();
    fs::write(local.join("nested/empty"), b"").unwrap();
    let remote = dir.path().join("pod/workspace/input");
    let remote_str = remote.to_str().unwrap();

    let s = connect(&sshd, &dir.path().join("known_hosts"));
    let progress = Counter::default();
    let report = s
        .upload_dir(&local, remote_str, &progress, &NO_STOP)
        .unwrap();
    let total = big.len() as u64 + 9 + 12;
    assert_eq!(report.files, 4);
    assert_eq!(report.bytes_sent, total);
    assert_eq!(report.files_skipped, 0);
    assert_eq!(progress.bytes.load(Ordering::SeqCst), total);
    assert_eq!(fs::read(remote.join("big.bin")).unwrap(), big);
    assert_eq!(
        fs::read(remote.join("nested/deeper/it's a file.txt")).unwrap(),
        b"quoted name\n"
    );
    assert_eq!(fs::read(remote.join("nested/empty")).unwrap(), b"");
    assert_eq!(remote_sha(&s, &remote.join("big.bin")), sha_hex(&big));
    eprintln!(
        "upload of {} bytes: {:.1} MB/s (hashing and verification included)",
        report.bytes_sent,
        report.bytes_sent as f64 / 1e6 / report.elapsed.as_secs_f64()
    );

    let again = s
        .upload_dir(&local, remote_str, &Counter::default(), &NO_STOP)
        .unwrap();
    assert_eq!(again.files_skipped, 4);
    assert_eq!(again.bytes_sent, 0);
    assert_eq!(again.bytes_skipped, total);
}

#[test]
fn upload_resumes_a_truncated_remote_copy() {
    let sshd = Sshd::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let content = data(3 << 20, 2);
    let local = dir.path().join("dataset.jsonl");
    fs::write(&local, &content).unwrap();
    let remote = dir.path().join("pod/dataset.jsonl");
    fs::create_dir_all(remote.parent().unwrap()).unwrap();
    let have = 1_234_567usize;
    fs::write(&remote, &content[..have]).unwrap();

    let s = connect(&sshd, &dir.path().join("known_hosts"));
    let report = upload(&s, &local, remote.to_str().unwrap());
    assert_eq!(report.files_resumed, 1);
    assert_eq!(report.bytes_sent, (content.len() - have) as u64);
    assert_eq!(report.bytes_skipped, have as u64);
    assert_eq!(fs::read(&remote).unwrap(), content);
}

#[test]
fn upload_rewrites_remote_copies_that_are_not_a_prefix() {
    let sshd = Sshd::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let content = data(3 << 20, 3);
    let local = dir.path().join("f.bin");
    fs::write(&local, &content).unwrap();
    let remote = dir.path().join("pod/f.bin");
    fs::create_dir_all(remote.parent().unwrap()).unwrap();
    let s = connect(&sshd, &dir.path().join("known_hosts"));
    let remote_str = remote.to_str().unwrap();

    // shorter, but one byte differs inside the prefix: appending would corrupt the file
    let mut wrong = content[..2_000_000].to_vec();
    wrong[1000] ^= 0xff;
    fs::write(&remote, &wrong).unwrap();
    let r = upload(&s, &local, remote_str);
    assert_eq!(r.files_resumed, 0);
    assert_eq!(r.bytes_sent, content.len() as u64);
    assert_eq!(fs::read(&remote).unwrap(), content);

    // same size, different bytes
    let mut same_size = content.clone();
    same_size[content.len() - 1] ^= 1;
    fs::write(&remote, &same_size).unwrap();
    let r = upload(&s, &local, remote_str);
    assert_eq!((r.files_skipped, r.bytes_sent), (0, content.len() as u64));
    assert_eq!(fs::read(&remote).unwrap(), content);

    // longer than the local file: rewritten and truncated
    let mut longer = content.clone();
    longer.extend_from_slice(b"trailing garbage");
    fs::write(&remote, &longer).unwrap();
    let r = upload(&s, &local, remote_str);
    assert_eq!(r.bytes_sent, content.len() as u64);
    assert_eq!(fs::read(&remote).unwrap(), content);
}

#[test]
fn download_resumes_from_a_part_file_and_verifies() {
    let sshd = Sshd::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let content = data(3 << 20, 4);
    let remote_dir = dir.path().join("pod/output/adapter");
    fs::create_dir_all(remote_dir.join("logs")).unwrap();
    let remote = remote_dir.join("adapter_model.safetensors");
    fs::write(&remote, &content).unwrap();
    fs::write(remote_dir.join("adapter_config.json"), b"{\"r\":8}").unwrap();
    fs::write(remote_dir.join("logs/metrics.jsonl"), b"{\"step\":1}\n").unwrap();
    let s = connect(&sshd, &dir.path().join("known_hosts"));

    let local = dir.path().join("local/adapter_model.safetensors");
    let part = dir.path().join("local/adapter_model.safetensors.part");
    fs::create_dir_all(local.parent().unwrap()).unwrap();
    fs::write(&part, &content[..1_000_000]).unwrap();
    let r = download(&s, remote.to_str().unwrap(), &local).unwrap();
    assert_eq!(r.files_resumed, 1);
    assert_eq!(r.bytes_sent, (content.len() - 1_000_000) as u64);
    assert_eq!(fs::read(&local).unwrap(), content);
    assert!(!part.exists());

    // already there: nothing moves
    let r = download(&s, remote.to_str().unwrap(), &local).unwrap();
    assert_eq!((r.files_skipped, r.bytes_sent), (1, 0));

    // a .part that is not a prefix is discarded
    fs::remove_file(&local).unwrap();
    let mut wrong = content[..500_000].to_vec();
    wrong[10] ^= 0x55;
    fs::write(&part, &wrong).unwrap();
    let r = download(&s, remote.to_str().unwrap(), &local).unwrap();
    assert_eq!((r.files_resumed, r.bytes_sent), (0, content.len() as u64));
    assert_eq!(fs::read(&local).unwrap(), content);

    // whole directory
    let out = dir.path().join("local-dir");
    let r = s
        .download_dir(
            remote_dir.to_str().unwrap(),
            &out,
            &Counter::default(),
            &NO_STOP,
        )
        .unwrap();
    assert_eq!(r.files, 3);
    assert_eq!(
        fs::read(out.join("adapter_model.safetensors")).unwrap(),
        content
    );
    assert_eq!(
        fs::read(out.join("logs/metrics.jsonl")).unwrap(),
        b"{\"step\":1}\n"
    );

    // missing remote file: a clear, non-retryable error and no local file
    let err = s
        .download_file(
            dir.path().join("pod/nope").to_str().unwrap(),
            &dir.path().join("nope"),
            &Counter::default(),
            &NO_STOP,
        )
        .unwrap_err();
    assert!(!err.is_retryable(), "{err}");
    assert!(!dir.path().join("nope").exists());
}

#[test]
fn host_key_is_recorded_on_first_contact_and_enforced() {
    let mut sshd = Sshd::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kh = dir.path().join("pods/known_hosts");
    let first = sshd.host_key_fingerprint().unwrap();
    let s = connect(&sshd, &kh);
    assert_eq!(s.host_key_fingerprint(), first);
    drop(s);
    let recorded = fs::read_to_string(&kh).unwrap();
    let line = format!("[127.0.0.1]:{} ssh-ed25519 ", sshd.port());
    assert!(recorded.starts_with(&line), "{recorded}");
    assert_eq!(recorded.lines().count(), 1);
    // the recorded key is the server's public key file
    let host_pub = fs::read_to_string(sshd.dir().join("host_ed25519.pub")).unwrap();
    let key_b64 = host_pub.split_whitespace().nth(1).unwrap();
    assert!(recorded.contains(key_b64));

    // second contact, same key: accepted, file unchanged
    let s = connect(&sshd, &kh);
    drop(s);
    assert_eq!(fs::read_to_string(&kh).unwrap(), recorded);

    // the "pod" is replaced: new host key on the same address
    sshd.restart(true).unwrap();
    let second = sshd.host_key_fingerprint().unwrap();
    assert_ne!(first, second);
    let log_before = sshd.log().matches("Accepted publickey").count();
    let err =
        SshSession::connect(&target(&sshd), &options(&kh), &AtomicBool::new(false)).unwrap_err();
    match &err {
        SshError::HostKeyMismatch {
            expected, found, ..
        } => {
            assert_eq!(expected, &first);
            assert_eq!(found, &second);
        }
        other => panic!("expected HostKeyMismatch, got {other:?}"),
    }
    assert!(!err.is_retryable());
    // refused before authentication: the server logged no new login
    assert_eq!(sshd.log().matches("Accepted publickey").count(), log_before);
    assert_eq!(fs::read_to_string(&kh).unwrap(), recorded);

    // a different port on the same IP is a different pod: TOFU again
    let kh2 = dir.path().join("other_known_hosts");
    let other = format!("[127.0.0.1]:1 ssh-ed25519 {key_b64}\n");
    fs::write(&kh2, &other).unwrap();
    let s = connect(&sshd, &kh2);
    assert_eq!(s.host_key_fingerprint(), second);
    assert!(fs::read_to_string(&kh2).unwrap().starts_with(&other));
}

#[test]
fn fingerprint_matches_ssh_keygen_for_the_server_key() {
    let sshd = Sshd::start().unwrap();
    let host_pub = fs::read_to_string(sshd.dir().join("host_ed25519.pub")).unwrap();
    use base64::Engine;
    let blob = base64::engine::general_purpose::STANDARD
        .decode(host_pub.split_whitespace().nth(1).unwrap())
        .unwrap();
    assert_eq!(
        fingerprint_sha256(&blob),
        sshd.host_key_fingerprint().unwrap()
    );
}

#[test]
fn wrong_key_is_an_auth_error_and_unreachable_host_a_connect_error() {
    let sshd = Sshd::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("stranger");
    let ok = std::process::Command::new("ssh-keygen")
        .args(["-q", "-N", "", "-t", "ed25519", "-f"])
        .arg(&key)
        .status()
        .unwrap();
    assert!(ok.success());
    let mut t = target(&sshd);
    t.key_path = key.clone();
    let err = SshSession::connect(
        &t,
        &options(&dir.path().join("kh")),
        &AtomicBool::new(false),
    )
    .unwrap_err();
    assert!(matches!(err, SshError::Auth { .. }), "{err:?}");
    assert!(!err.is_retryable());
    // the message names the key file, never its contents
    let private = fs::read_to_string(&key).unwrap();
    let body = private.lines().nth(1).unwrap();
    assert!(!err.to_string().contains(body));
    assert!(err.to_string().contains("stranger"));

    // nothing listens: retried until the deadline, then a retryable Connect error
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let mut t = target(&sshd);
    t.port = port;
    let mut opts = options(&dir.path().join("kh"));
    opts.deadline = Duration::from_millis(500);
    opts.retry_every = Duration::from_millis(100);
    let err = SshSession::connect(&t, &opts, &AtomicBool::new(false)).unwrap_err();
    match &err {
        SshError::Connect { attempts, .. } => assert!(*attempts >= 2, "{err}"),
        other => panic!("expected Connect, got {other:?}"),
    }
    assert!(err.is_retryable());
    // stop flag wins over retrying
    let err = SshSession::connect(&t, &options(&dir.path().join("kh")), &AtomicBool::new(true))
        .unwrap_err();
    assert!(matches!(err, SshError::Stopped));
}

#[test]
fn dropped_connection_mid_upload_resumes_after_reconnect() {
    let sshd = Sshd::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kh = dir.path().join("known_hosts");
    let local = dir.path().join("run");
    fs::create_dir_all(&local).unwrap();
    let content = data(50 << 20, 5);
    fs::write(local.join("weights.bin"), &content).unwrap();
    fs::write(local.join("a.json"), b"{}").unwrap();
    let remote = dir.path().join("pod/run");
    let remote_str = remote.to_str().unwrap();

    let s = connect(&sshd, &kh);
    let dropper = DropLinkAt {
        sshd: &sshd,
        at: 10 << 20,
        seen: AtomicU64::new(0),
        fired: AtomicBool::new(false),
    };
    let err = s
        .upload_dir(&local, remote_str, &dropper, &NO_STOP)
        .unwrap_err();
    assert!(dropper.fired.load(Ordering::SeqCst));
    assert!(err.is_retryable(), "not retryable: {err:?}");
    drop(s);
    let partial = fs::metadata(remote.join("weights.bin"))
        .map(|m| m.len())
        .unwrap_or(0);
    assert!(partial < content.len() as u64);

    let s = connect(&sshd, &kh);
    let report = s
        .upload_dir(&local, remote_str, &Counter::default(), &NO_STOP)
        .unwrap();
    assert!(report.bytes_sent < content.len() as u64, "{report:?}");
    assert!(report.bytes_skipped >= 10 << 20, "{report:?}");
    assert_eq!(
        remote_sha(&s, &remote.join("weights.bin")),
        sha_hex(&content)
    );
    assert_eq!(fs::read(remote.join("a.json")).unwrap(), b"{}");
}

#[test]
fn remote_job_survives_dropped_links_and_is_followed_exactly_once() {
    let sshd = Sshd::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kh = dir.path().join("known_hosts");
    let job_dir = dir.path().join("pod/job");
    let job = RemoteJob::new(job_dir.to_str().unwrap());
    let s = connect(&sshd, &kh);
    let command = r#"mkdir -p train; echo "started $MH_RUN"; for i in 1 2 3 4 5; do echo "{\"step\":$i}" >> train/metrics.jsonl; sleep 0.3; done; exit 3"#;
    let env = vec![("MH_RUN".to_string(), "it's run 7".to_string())];
    assert_eq!(job.start(&s, command, &env).unwrap(), JobStart::Started);
    // a second start while it runs does nothing
    assert_eq!(
        job.start(&s, command, &env).unwrap(),
        JobStart::AlreadyStarted
    );

    let files = vec![
        format!("{}/train/metrics.jsonl", job.job_dir),
        format!("{}/job.log", job.job_dir),
    ];
    let mut lines: Vec<(usize, String)> = Vec::new();
    let mut dropped = false;
    let mut reconnects = 0;
    let exit = {
        let mut on_line = |i: usize, line: &str| {
            lines.push((i, line.to_string()));
            if i == 0 && !dropped {
                // the link dies in the middle of a poll, after the first metrics line
                dropped = true;
                assert!(sshd.kill_connections().unwrap() > 0);
            }
        };
        let mut reconnect = || {
            reconnects += 1;
            SshSession::connect(&target(&sshd), &options(&kh), &AtomicBool::new(false))
        };
        job.follow(
            s,
            &mut reconnect,
            &files,
            &mut on_line,
            Duration::from_millis(100),
            &AtomicBool::new(false),
        )
        .unwrap()
    };
    assert_eq!(exit.status, 3);
    assert!(dropped);
    assert!(reconnects >= 1);
    let metrics: Vec<&str> = lines
        .iter()
        .filter(|(i, _)| *i == 0)
        .map(|(_, l)| l.as_str())
        .collect();
    assert_eq!(
        metrics,
        (1..=5)
            .map(|i| format!("{{\"step\":{i}}}"))
            .collect::<Vec<_>>()
    );
    let log: Vec<&str> = lines
        .iter()
        .filter(|(i, _)| *i == 1)
        .map(|(_, l)| l.as_str())
        .collect();
    assert_eq!(log, vec!["started it's run 7"]);
    assert_eq!(
        fs::read_to_string(job_dir.join("exit-status")).unwrap(),
        "3\n"
    );

    // finished jobs are not started again; their state is readable
    let s = exit.session;
    assert_eq!(
        job.start(&s, command, &env).unwrap(),
        JobStart::AlreadyStarted
    );
    assert_eq!(job.state(&s).unwrap(), JobState::Exited(3));
    assert_eq!(
        fs::read_to_string(job_dir.join("train/metrics.jsonl"))
            .unwrap()
            .lines()
            .count(),
        5
    );
    // the wrapper (which carries the environment) is private to the user
    use std::os::unix::fs::PermissionsExt;
    let mode = fs::metadata(job_dir.join("job.sh"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o077, 0);
}

#[test]
fn kill_ends_a_detached_job_and_follow_honours_stop() {
    let sshd = Sshd::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kh = dir.path().join("known_hosts");
    let job_dir = dir.path().join("pod/job");
    let job = RemoteJob::new(job_dir.to_str().unwrap());
    let s = connect(&sshd, &kh);
    assert_eq!(job.state(&s).unwrap(), JobState::NotStarted);
    assert_eq!(
        job.start(&s, "echo up; sleep 600", &[]).unwrap(),
        JobStart::Started
    );
    let pid: u32 = fs::read_to_string(job_dir.join("job.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(job.state(&s).unwrap(), JobState::Running);

    // the job is not a child of the SSH session: dropping every connection leaves it running
    assert!(sshd.kill_connections().unwrap() > 0);
    drop(s);
    let s = connect(&sshd, &kh);
    assert_eq!(job.state(&s).unwrap(), JobState::Running);
    assert!(Path::new(&format!("/proc/{pid}")).exists());

    // stop set: follow returns Stopped and the job keeps running
    let stop = AtomicBool::new(true);
    let err = job
        .follow(
            s,
            &mut || Err(SshError::Stopped),
            &[],
            &mut |_, _| {},
            Duration::from_millis(50),
            &stop,
        )
        .unwrap_err();
    assert!(matches!(err, SshError::Stopped));
    let s = connect(&sshd, &kh);
    assert_eq!(job.state(&s).unwrap(), JobState::Running);

    job.kill(&s).unwrap();
    assert_eq!(job.state(&s).unwrap(), JobState::Exited(143));
    // the whole process group is gone (sleep included)
    let group_alive = fs::read_dir("/proc").unwrap().flatten().any(|e| {
        fs::read_to_string(e.path().join("stat"))
            .ok()
            .and_then(|st| {
                let mut rest = st[st.rfind(')')? + 1..].split_whitespace();
                let state = rest.next()?;
                // zombies are dead, only not yet reaped by this container's init
                let pgid = rest.nth(1)?.parse::<u32>().ok()?;
                (state != "Z").then_some(pgid)
            })
            == Some(pid)
    });
    assert!(!group_alive, "processes of job group {pid} still alive");
    // killing an ended job is a no-op
    job.kill(&s).unwrap();
    assert_eq!(job.state(&s).unwrap(), JobState::Exited(143));
}

#[test]
fn read_from_follows_a_growing_file_and_remove_dir_all_cleans_up() {
    let sshd = Sshd::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let s = connect(&sshd, &dir.path().join("known_hosts"));
    let pod = dir.path().join("pod");
    let file = pod.join("log.txt");
    let path = file.to_str().unwrap();
    assert!(s.read_from(path, 0).unwrap().is_empty());
    fs::create_dir_all(&pod).unwrap();
    fs::write(&file, b"one\ntw").unwrap();
    assert_eq!(s.read_from(path, 0).unwrap(), b"one\ntw");
    assert_eq!(s.read_from(path, 4).unwrap(), b"tw");
    assert!(s.read_from(path, 6).unwrap().is_empty());
    assert!(s.read_from(path, 100).unwrap().is_empty());

    s.remove_dir_all(pod.to_str().unwrap()).unwrap();
    assert!(!pod.exists());
    for bad in ["", "/", "//", ".", ".."] {
        assert!(matches!(s.remove_dir_all(bad), Err(SshError::Invalid(_))));
    }
}
