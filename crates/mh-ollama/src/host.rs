//! Where Ollama listens: `OLLAMA_HOST`, read by the rules the `ollama` CLI uses
//! (`envconfig.Host` / `ConnectableHost` in ollama's Go source).
//!
//! * Surrounding spaces and quotes are dropped (`" '1.2.3.4' "` → `1.2.3.4`).
//! * The scheme is optional (`http` when absent); the port defaults to `11434` without a scheme,
//!   `80` for `http://`, `443` for `https://`; a bare `ollama.com` means `https://ollama.com:443`.
//! * `host`, `host:port`, `:port`, `[v6]`, `[v6]:port` and a bare v6 address are accepted; a
//!   port that is not a number in 0..=65535 falls back to the default, as the CLI does.
//! * A path after the host (`https://example.com/ollama`, a reverse proxy) is kept.
//! * To connect, an unspecified address (`0.0.0.0`, `::`, or no host at all) becomes loopback.
//!
//! Refused (the CLI would accept them and then fail): schemes other than `http`/`https`, and
//! credentials (`user:pass@host`; the value is not echoed in the error).

use std::fmt;
use std::net::IpAddr;

use crate::error::{OllamaError, Result};

/// The environment variable the ollama CLI and server read.
pub const OLLAMA_HOST_ENV: &str = "OLLAMA_HOST";

/// Where Ollama listens when `OLLAMA_HOST` is not set.
pub const DEFAULT_HOST: &str = "127.0.0.1:11434";

/// A parsed Ollama address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OllamaHost {
    scheme: String,
    /// Host without brackets (`::1` for IPv6); may be empty (`:1234`).
    host: String,
    port: u16,
    /// Path prefix without the leading `/` (empty for none).
    path: String,
}

impl OllamaHost {
    /// Parses a value the way `ollama` parses `OLLAMA_HOST` (an empty value is the default).
    pub fn parse(value: &str) -> Result<OllamaHost> {
        let s = value.trim().trim_matches(|c| c == '"' || c == '\'').trim();
        if s.contains('@') {
            return Err(OllamaError::Host {
                value: "<redacted>".into(),
                reason: "credentials in the address (user@host) are not supported".into(),
            });
        }
        let (mut scheme, mut hostport, mut default_port) = ("http".to_string(), s, 11434u16);
        match s.split_once("://") {
            None => {
                if s == "ollama.com" {
                    scheme = "https".into();
                    hostport = "ollama.com:443";
                }
            }
            Some((sch, rest)) => {
                scheme = sch.to_ascii_lowercase();
                hostport = rest;
                default_port = match scheme.as_str() {
                    "http" => 80,
                    "https" => 443,
                    _ => {
                        return Err(OllamaError::Host {
                            value: s.to_string(),
                            reason: format!("scheme {sch:?} is not http or https"),
                        })
                    }
                };
            }
        }
        let (hostport, path) = hostport.split_once('/').unwrap_or((hostport, ""));
        let (host, port) = match split_host_port(hostport) {
            Some((host, port)) => (host.to_string(), port.to_string()),
            None => {
                let bare = hostport.trim_matches(|c| c == '[' || c == ']');
                let host = match bare.parse::<IpAddr>() {
                    Ok(ip) => canonical_ip(ip),
                    Err(_) if !hostport.is_empty() => hostport.to_string(),
                    Err(_) => "127.0.0.1".to_string(),
                };
                (host, String::new())
            }
        };
        // Go's ParseInt(port, 10, 32) then the 0..=65535 check; anything else is the default.
        let port = port
            .parse::<i64>()
            .ok()
            .and_then(|p| u16::try_from(p).ok())
            .unwrap_or(default_port);
        Ok(OllamaHost {
            scheme,
            host,
            port,
            path: path.to_string(),
        })
    }

    /// `OLLAMA_HOST` from the environment, or the default when it is unset or empty.
    pub fn from_env() -> Result<OllamaHost> {
        OllamaHost::parse(&std::env::var(OLLAMA_HOST_ENV).unwrap_or_default())
    }

    /// The address as the CLI prints it (`http://127.0.0.1:11434`, `http://:1234`,
    /// `https://example.com:443/ollama`).
    pub fn url(&self) -> String {
        self.format(&self.host)
    }

    /// The base URL to connect to: [`url`](Self::url) with an unspecified or empty host replaced by
    /// the loopback address.
    pub fn connect_url(&self) -> String {
        let host = match self.host.parse::<IpAddr>() {
            Ok(IpAddr::V4(v4)) if v4.is_unspecified() => "127.0.0.1".to_string(),
            Ok(IpAddr::V6(v6)) if v6.is_unspecified() => "::1".to_string(),
            _ if self.host.is_empty() => "127.0.0.1".to_string(),
            _ => self.host.clone(),
        };
        self.format(&host)
    }

    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    fn format(&self, host: &str) -> String {
        let host = if host.contains(':') {
            format!("[{host}]")
        } else {
            host.to_string()
        };
        let mut url = format!("{}://{}:{}", self.scheme, host, self.port);
        if !self.path.is_empty() {
            url.push('/');
            url.push_str(&self.path);
        }
        url
    }
}

impl Default for OllamaHost {
    fn default() -> Self {
        OllamaHost {
            scheme: "http".into(),
            host: "127.0.0.1".into(),
            port: 11434,
            path: String::new(),
        }
    }
}

impl fmt::Display for OllamaHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.url())
    }
}

/// Go's `net.SplitHostPort`: `None` where it returns an error (no port, too many colons, bad
/// brackets). The port is returned as text (it may be empty or not a number).
fn split_host_port(hostport: &str) -> Option<(&str, &str)> {
    if let Some(rest) = hostport.strip_prefix('[') {
        let end = rest.find(']')?;
        let host = &rest[..end];
        let port = rest[end + 1..].strip_prefix(':')?;
        if port.contains(['[', ']']) {
            return None;
        }
        return Some((host, port));
    }
    let colon = hostport.rfind(':')?;
    let (host, port) = (&hostport[..colon], &hostport[colon + 1..]);
    if host.contains([':', '[', ']']) || port.contains(['[', ']']) {
        return None;
    }
    Some((host, port))
}

/// Go's `net.IP.String()`: IPv4-mapped IPv6 addresses print as IPv4.
fn canonical_ip(ip: IpAddr) -> String {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => v6.to_string(),
        },
        IpAddr::V4(v4) => v4.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cases of ollama's `envconfig` `TestHost` / `TestConnectableHost`.
    #[test]
    fn parses_like_the_ollama_cli() {
        let cases = [
            ("", "http://127.0.0.1:11434"),
            ("1.2.3.4", "http://1.2.3.4:11434"),
            (":1234", "http://:1234"),
            ("1.2.3.4:1234", "http://1.2.3.4:1234"),
            ("example.com", "http://example.com:11434"),
            ("example.com:1234", "http://example.com:1234"),
            (":0", "http://:0"),
            (":66000", "http://:11434"),
            (":-1", "http://:11434"),
            ("[::1]", "http://[::1]:11434"),
            ("[::]", "http://[::]:11434"),
            ("::1", "http://[::1]:11434"),
            ("[::1]:1337", "http://[::1]:1337"),
            (" 1.2.3.4 ", "http://1.2.3.4:11434"),
            ("\"1.2.3.4\"", "http://1.2.3.4:11434"),
            (" \" 1.2.3.4 \" ", "http://1.2.3.4:11434"),
            ("'1.2.3.4'", "http://1.2.3.4:11434"),
            ("http://1.2.3.4", "http://1.2.3.4:80"),
            ("http://1.2.3.4:4321", "http://1.2.3.4:4321"),
            ("https://1.2.3.4", "https://1.2.3.4:443"),
            ("https://1.2.3.4:4321", "https://1.2.3.4:4321"),
            (
                "https://example.com/ollama",
                "https://example.com:443/ollama",
            ),
            ("ollama.com", "https://ollama.com:443"),
        ];
        for (value, want) in cases {
            let host = OllamaHost::parse(value).unwrap();
            assert_eq!(host.url(), want, "OLLAMA_HOST={value:?}");
        }
    }

    #[test]
    fn connectable_addresses() {
        let cases = [
            ("", "http://127.0.0.1:11434"),
            ("0.0.0.0", "http://127.0.0.1:11434"),
            ("0.0.0.0:1234", "http://127.0.0.1:1234"),
            ("[::]", "http://[::1]:11434"),
            ("[::]:1234", "http://[::1]:1234"),
            ("[::1]:1234", "http://[::1]:1234"),
            ("192.168.1.5:8080", "http://192.168.1.5:8080"),
            ("example.com", "http://example.com:11434"),
            ("https://0.0.0.0:4321", "https://127.0.0.1:4321"),
            (":1234", "http://127.0.0.1:1234"),
        ];
        for (value, want) in cases {
            let host = OllamaHost::parse(value).unwrap();
            assert_eq!(host.connect_url(), want, "OLLAMA_HOST={value:?}");
        }
        assert_eq!(OllamaHost::default().url(), "http://127.0.0.1:11434");
    }

    #[test]
    fn refuses_what_cannot_work() {
        let err = OllamaHost::parse("http://me:secret@host:1").unwrap_err();
        assert!(!err.to_string().contains("secret"), "{err}");
        assert!(OllamaHost::parse("ftp://host").is_err());
    }
}
