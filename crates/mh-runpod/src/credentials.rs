//! The RunPod API key: from `RUNPOD_API_KEY`, or from a credentials file only its owner can read.
//!
//! The key is held in [`ApiKey`], whose `Debug` and `Display` print `ApiKey(***)`; the only way
//! to the text is [`ApiKey::expose`], used for the `Authorization` header. Errors name files
//! and fixes, never the key or the file's contents.
//!
//! A credentials file holds either the bare key on one line, or JSON with an `apiKey` string
//! (the seed's `etc/runpod.json` shape: `{"apiKey": …, "templateId": …, "gpuType": …}`; other
//! fields are ignored). It must not be readable or writable by group or others (mode `0600` or
//! stricter).

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};

/// The environment variable the key is read from first.
pub const API_KEY_ENV: &str = "RUNPOD_API_KEY";

/// A RunPod API key. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(***)")
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(***)")
    }
}

/// Why no key could be had. Messages never contain the key or a credentials file's text.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    #[error(
        "no RunPod API key: set {API_KEY_ENV}, pass a credentials file, or write {} (mode 0600)",
        default_hint(.searched)
    )]
    Missing { searched: Vec<PathBuf> },
    #[error("cannot read RunPod credentials {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "RunPod credentials {path} are readable by others (mode {mode:04o}); run `chmod 600 {path}`"
    )]
    Permissions { path: PathBuf, mode: u32 },
    #[error("RunPod credentials {path}: {reason}")]
    Format { path: PathBuf, reason: String },
    #[error("{source_name}: {reason}")]
    Invalid { source_name: String, reason: String },
}

fn default_hint(searched: &[PathBuf]) -> String {
    searched
        .last()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "~/.config/mh-train/runpod.json".to_string())
}

impl ApiKey {
    /// A key from text (trimmed). Refuses an empty key or one with whitespace or control
    /// characters (it goes into an HTTP header). `source_name` names where it came from.
    pub fn new(text: &str, source_name: &str) -> Result<ApiKey, CredentialsError> {
        let key = text.trim();
        let invalid = |reason: &str| CredentialsError::Invalid {
            source_name: source_name.to_string(),
            reason: reason.to_string(),
        };
        if key.is_empty() {
            return Err(invalid("the API key is empty"));
        }
        if key.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid(
                "the API key contains whitespace or control characters",
            ));
        }
        Ok(ApiKey(key.to_string()))
    }

    /// `RUNPOD_API_KEY`, if set and not empty.
    pub fn from_env() -> Result<Option<ApiKey>, CredentialsError> {
        from_env_value(std::env::var_os(API_KEY_ENV))
    }

    /// Reads a credentials file (bare key, or JSON with `apiKey`), refusing one whose mode lets
    /// group or others in.
    pub fn from_file(path: &Path) -> Result<ApiKey, CredentialsError> {
        check_mode(path)?;
        let text = std::fs::read_to_string(path).map_err(|source| CredentialsError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let format = |reason: &str| CredentialsError::Format {
            path: path.to_path_buf(),
            reason: reason.to_string(),
        };
        let trimmed = text.trim_start_matches('\u{feff}').trim();
        let raw = if trimmed.starts_with('{') {
            // Parsed to a Value first: serde_json's syntax errors carry positions, not text.
            let value: serde_json::Value = serde_json::from_str(trimmed)
                .map_err(|e| format(&format!("not valid JSON ({e})")))?;
            match value.get("apiKey") {
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(_) => return Err(format("`apiKey` is not a string")),
                None => return Err(format("no `apiKey` field")),
            }
        } else {
            let mut lines = trimmed.lines().map(str::trim).filter(|l| !l.is_empty());
            let first = lines.next().unwrap_or("").to_string();
            if lines.next().is_some() {
                return Err(format(
                    "expected the key alone on one line, or JSON with `apiKey`",
                ));
            }
            first
        };
        ApiKey::new(&raw, &path.display().to_string())
    }

    /// The key from, in order: `RUNPOD_API_KEY`; `explicit_file`; the user's config file
    /// (`$XDG_CONFIG_HOME/mh-train/runpod.json`, else `~/.config/mh-train/runpod.json`).
    /// An explicit file that cannot be read is an error, not a reason to look further.
    pub fn resolve(explicit_file: Option<&Path>) -> Result<ApiKey, CredentialsError> {
        resolve_with(|name| std::env::var_os(name), explicit_file)
    }

    /// The key text, for the `Authorization` header only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

fn from_env_value(value: Option<OsString>) -> Result<Option<ApiKey>, CredentialsError> {
    let Some(value) = value else {
        return Ok(None);
    };
    let Some(text) = value.to_str() else {
        return Err(CredentialsError::Invalid {
            source_name: API_KEY_ENV.to_string(),
            reason: "not valid UTF-8".to_string(),
        });
    };
    if text.trim().is_empty() {
        return Ok(None);
    }
    ApiKey::new(text, API_KEY_ENV).map(Some)
}

/// [`ApiKey::resolve`] with the environment read through `env` (for tests).
pub fn resolve_with(
    env: impl Fn(&str) -> Option<OsString>,
    explicit_file: Option<&Path>,
) -> Result<ApiKey, CredentialsError> {
    if let Some(key) = from_env_value(env(API_KEY_ENV))? {
        return Ok(key);
    }
    if let Some(path) = explicit_file {
        return ApiKey::from_file(path);
    }
    let default = default_file_with(&env);
    match &default {
        Some(path) if path.exists() => ApiKey::from_file(path),
        _ => Err(CredentialsError::Missing {
            searched: default.into_iter().collect(),
        }),
    }
}

/// `$XDG_CONFIG_HOME/mh-train/runpod.json`, else `$HOME/.config/mh-train/runpod.json`.
pub fn default_credentials_file() -> Option<PathBuf> {
    default_file_with(&|name: &str| std::env::var_os(name))
}

fn default_file_with(env: &dyn Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    let non_empty = |name: &str| env(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    let config = non_empty("XDG_CONFIG_HOME")
        .filter(|p| p.is_absolute())
        .or_else(|| non_empty("HOME").map(|h| h.join(".config")))?;
    Some(config.join("mh-train").join("runpod.json"))
}

#[cfg(unix)]
fn check_mode(path: &Path) -> Result<(), CredentialsError> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).map_err(|source| CredentialsError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(CredentialsError::Permissions {
            path: path.to_path_buf(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_mode(path: &Path) -> Result<(), CredentialsError> {
    std::fs::metadata(path)
        .map(|_| ())
        .map_err(|source| CredentialsError::Io {
            path: path.to_path_buf(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const KEY: &str = "rpa_TESTKEY0123456789abcdef";

    fn write(dir: &Path, name: &str, text: &str, mode: u32) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        }
        let _ = mode;
        path
    }

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
        let map: HashMap<String, OsString> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), OsString::from(v)))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn debug_and_display_hide_the_key() {
        let key = ApiKey::new(KEY, "test").unwrap();
        assert_eq!(format!("{key:?}"), "ApiKey(***)");
        assert_eq!(key.to_string(), "ApiKey(***)");
        assert_eq!(key.expose(), KEY);
    }

    #[test]
    fn bare_and_json_files() {
        let dir = tempfile::tempdir().unwrap();
        let bare = write(dir.path(), "key", &format!("\n  {KEY}  \n"), 0o600);
        assert_eq!(ApiKey::from_file(&bare).unwrap().expose(), KEY);
        let json = write(
            dir.path(),
            "runpod.json",
            &format!(
                r#"{{"apiKey": "{KEY}", "templateId": "metahuman-runpod-trainer", "gpuType": "NVIDIA GeForce RTX 4090"}}"#
            ),
            0o400,
        );
        assert_eq!(ApiKey::from_file(&json).unwrap().expose(), KEY);
    }

    #[cfg(unix)]
    #[test]
    fn group_or_world_readable_file_is_refused_with_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        for mode in [0o644, 0o640, 0o604, 0o660] {
            let path = write(dir.path(), "runpod.json", KEY, mode);
            let err = ApiKey::from_file(&path).unwrap_err();
            let msg = err.to_string();
            assert!(matches!(err, CredentialsError::Permissions { .. }), "{msg}");
            assert!(msg.contains(&path.display().to_string()), "{msg}");
            assert!(msg.contains("chmod 600"), "{msg}");
            assert!(!msg.contains(KEY) && !format!("{err:?}").contains(KEY));
        }
    }

    #[test]
    fn malformed_files_say_why_without_the_contents() {
        let dir = tempfile::tempdir().unwrap();
        let cases = [
            (format!(r#"{{"apiKey": "{KEY}""#), "not valid JSON"),
            (format!(r#"{{"key": "{KEY}"}}"#), "no `apiKey` field"),
            (r#"{"apiKey": 42}"#.to_string(), "not a string"),
            (format!("{KEY}\n{KEY}\n"), "alone on one line"),
            ("   \n".to_string(), "empty"),
            (format!(r#"{{"apiKey": "{KEY} x"}}"#), "whitespace"),
        ];
        for (i, (text, want)) in cases.iter().enumerate() {
            let path = write(dir.path(), &format!("c{i}"), text, 0o600);
            let err = ApiKey::from_file(&path).unwrap_err();
            let msg = err.to_string();
            assert!(msg.contains(want), "case {i}: {msg}");
            assert!(!msg.contains(KEY), "case {i} leaks the key: {msg}");
            assert!(!format!("{err:?}").contains(KEY), "case {i} Debug leaks");
        }
    }

    #[test]
    fn resolution_order() {
        let dir = tempfile::tempdir().unwrap();
        let xdg = dir.path().join("xdg");
        std::fs::create_dir_all(xdg.join("mh-train")).unwrap();
        write(
            &xdg.join("mh-train"),
            "runpod.json",
            r#"{"apiKey": "from-config"}"#,
            0o600,
        );
        let explicit = write(dir.path(), "explicit", "from-explicit", 0o600);
        let xdg_s = xdg.to_str().unwrap();

        let env = env_of(&[(API_KEY_ENV, "from-env"), ("XDG_CONFIG_HOME", xdg_s)]);
        assert_eq!(
            resolve_with(&env, Some(&explicit)).unwrap().expose(),
            "from-env"
        );
        let env = env_of(&[(API_KEY_ENV, "  "), ("XDG_CONFIG_HOME", xdg_s)]);
        assert_eq!(
            resolve_with(&env, Some(&explicit)).unwrap().expose(),
            "from-explicit"
        );
        assert_eq!(resolve_with(&env, None).unwrap().expose(), "from-config");

        // HOME/.config when XDG_CONFIG_HOME is unset.
        let home = dir.path().join("home");
        std::fs::create_dir_all(home.join(".config/mh-train")).unwrap();
        write(
            &home.join(".config/mh-train"),
            "runpod.json",
            "from-home",
            0o600,
        );
        let env = env_of(&[("HOME", home.to_str().unwrap())]);
        assert_eq!(resolve_with(&env, None).unwrap().expose(), "from-home");

        // An explicit file that is missing is an error, not a fall-through.
        let env = env_of(&[("XDG_CONFIG_HOME", xdg_s)]);
        let err = resolve_with(&env, Some(&dir.path().join("absent"))).unwrap_err();
        assert!(matches!(err, CredentialsError::Io { .. }), "{err}");

        // Nothing anywhere: the message says what to do.
        let env = env_of(&[("HOME", dir.path().join("nohome").to_str().unwrap())]);
        let msg = resolve_with(&env, None).unwrap_err().to_string();
        assert!(msg.contains(API_KEY_ENV), "{msg}");
        assert!(msg.contains(".config/mh-train/runpod.json"), "{msg}");
    }
}
