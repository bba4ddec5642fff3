//! Trust on first use: the first contact with `host:port` records the server's host key in an
//! OpenSSH-format known-hosts file (atomically); every later contact must present that key.
//!
//! Entries are written as OpenSSH does (`[host]:port keytype base64`, plain `host` for port
//! 22), so `ssh -o UserKnownHostsFile=<file>` trusts the same pods. Only plain entries naming
//! exactly this host and port are consulted; hashed (`|1|…`) and wildcard entries are ignored,
//! as are plain-host entries for a non-22 port (RunPod puts many pods behind one IP).

use std::path::Path;

use base64::Engine;
use sha2::{Digest, Sha256};
use ssh2::{CheckResult, KnownHostFileKind};

use super::SshError;

/// `SHA256:<base64 without padding>` of a raw SSH public key blob, as `ssh-keygen -l` prints.
pub fn fingerprint_sha256(key_blob: &[u8]) -> String {
    let digest = Sha256::digest(key_blob);
    format!(
        "SHA256:{}",
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(digest)
    )
}

/// Name of the host in known-hosts files.
fn entry_name(host: &str, port: u16) -> String {
    if port == 22 {
        host.to_string()
    } else {
        format!("[{host}]:{port}")
    }
}

/// Check the session's host key against `file`; record it when `host:port` is not there yet.
/// Returns the key's fingerprint.
pub(super) fn verify(
    session: &ssh2::Session,
    host: &str,
    port: u16,
    file: &Path,
) -> Result<String, SshError> {
    let kh_err = |message: String| SshError::KnownHosts {
        path: file.to_path_buf(),
        message,
    };
    let (key, key_type) = session.host_key().ok_or_else(|| SshError::Connect {
        host: host.to_string(),
        port,
        attempts: 1,
        message: "the server presented no host key".into(),
    })?;
    let found = fingerprint_sha256(key);
    let name = entry_name(host, port);

    let existing = match std::fs::read_to_string(file) {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(kh_err(format!("cannot read: {e}"))),
    };
    let mut known = session
        .known_hosts()
        .map_err(|e| kh_err(format!("libssh2 known-hosts init: {}", e.message())))?;
    // Load only the lines about this host:port, so a line libssh2 cannot parse (another
    // host's unusual key type) never blocks us, and a line for this host that it cannot
    // parse is an error rather than a silent "unknown host".
    for (lineno, line) in existing.lines().enumerate() {
        if !line_names(line, host, port) {
            continue;
        }
        known
            .read_str(line, KnownHostFileKind::OpenSSH)
            .map_err(|e| {
                kh_err(format!(
                    "line {} about {name} is not a valid entry: {}",
                    lineno + 1,
                    e.message()
                ))
            })?;
    }

    match known.check_port(host, port, key) {
        CheckResult::Match => Ok(found),
        CheckResult::Mismatch => {
            let expected = known
                .hosts()
                .ok()
                .and_then(|hosts| {
                    hosts.iter().find_map(|h| {
                        base64::engine::general_purpose::STANDARD
                            .decode(h.key().trim())
                            .ok()
                            .map(|blob| fingerprint_sha256(&blob))
                    })
                })
                .unwrap_or_else(|| "(unreadable recorded key)".to_string());
            Err(SshError::HostKeyMismatch {
                host: host.to_string(),
                port,
                expected,
                found,
            })
        }
        CheckResult::NotFound => {
            known
                .add(&name, key, "mh-train", key_type.into())
                .map_err(|e| kh_err(format!("cannot record key of {name}: {}", e.message())))?;
            let hosts = known
                .hosts()
                .map_err(|e| kh_err(format!("cannot list entries: {}", e.message())))?;
            let entry = hosts
                .iter()
                .rev()
                .find(|h| h.name() == Some(name.as_str()))
                .ok_or_else(|| kh_err(format!("entry for {name} vanished after adding it")))?;
            let line = known
                .write_string(entry, KnownHostFileKind::OpenSSH)
                .map_err(|e| kh_err(format!("cannot format entry: {}", e.message())))?;
            let mut content = existing;
            if !content.is_empty() && !content.ends_with('\n') {
                content.push('\n');
            }
            content.push_str(line.trim_end());
            content.push('\n');
            mh_profile::atomic_write(file, content.as_bytes())
                .map_err(|e| kh_err(format!("cannot write: {e}")))?;
            Ok(found)
        }
        CheckResult::Failure => Err(kh_err(format!("libssh2 could not check {name}"))),
    }
}

/// Whether a known-hosts line is a plain entry whose host list names exactly `host:port`.
fn line_names(line: &str, host: &str, port: u16) -> bool {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') || line.starts_with('@') {
        return false;
    }
    let Some(hosts) = line.split_whitespace().next() else {
        return false;
    };
    let bracketed = format!("[{host}]:{port}");
    hosts
        .split(',')
        .any(|h| h == bracketed || (port == 22 && h == host))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_matches_ssh_keygen() {
        // `ssh-keygen -l -E sha256 -f` of this public key (OpenSSH 9.2) printed
        // "256 SHA256:q9l16gwsqTMl3vQ2bvPGoVRpAd4Ueg0wyYCDFQ6znUI x (ED25519)".
        let blob = base64::engine::general_purpose::STANDARD
            .decode("AAAAC3NzaC1lZDI1NTE5AAAAIMKj5MHjRPsnATbNiD364EnvTeV40ga5HgLXYGV2YuHE")
            .unwrap();
        assert_eq!(
            fingerprint_sha256(&blob),
            "SHA256:q9l16gwsqTMl3vQ2bvPGoVRpAd4Ueg0wyYCDFQ6znUI"
        );
    }

    #[test]
    fn only_exact_host_port_lines_are_consulted() {
        assert!(line_names(
            "[1.2.3.4]:2222 ssh-ed25519 AAAA",
            "1.2.3.4",
            2222
        ));
        assert!(line_names(
            "a,[1.2.3.4]:2222 ssh-ed25519 AAAA",
            "1.2.3.4",
            2222
        ));
        assert!(!line_names("1.2.3.4 ssh-ed25519 AAAA", "1.2.3.4", 2222));
        assert!(line_names("1.2.3.4 ssh-ed25519 AAAA", "1.2.3.4", 22));
        assert!(!line_names(
            "[1.2.3.4]:22220 ssh-ed25519 AAAA",
            "1.2.3.4",
            2222
        ));
        assert!(!line_names(
            "# [1.2.3.4]:2222 ssh-ed25519 AAAA",
            "1.2.3.4",
            2222
        ));
        assert!(!line_names(
            "@revoked [1.2.3.4]:2222 ssh-ed25519 AAAA",
            "1.2.3.4",
            2222
        ));
    }
}
