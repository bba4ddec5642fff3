//! Where a person's profile lives: `--profile DIR`, or `ROOT/profiles/<user>` unless
//! `ROOT/persona/users.json` moves it (`users[].metadata.profileStorage`), with the seed's
//! `fallbackBehavior` semantics: `error` (default) refuses, `readonly` falls back to the default
//! location but forbids writes.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::ProfileError;

/// How the caller named the profile.
#[derive(Debug, Clone)]
pub enum ProfileSpec {
    /// A profile directory given directly.
    Dir(PathBuf),
    /// A MetaHuman OS root and a user name.
    RootUser { root: PathBuf, user: Option<String> },
}

/// A profile location after resolution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedProfile {
    pub root: PathBuf,
    pub user: Option<String>,
    /// True when `profileStorage` pointed elsewhere and `fallbackBehavior: readonly` sent us to
    /// the default location: reading is fine, writing would split the person's data.
    pub readonly: bool,
    /// Why the location differs from what the user configured, if it does.
    pub warning: Option<String>,
}

impl ProfileSpec {
    pub fn resolve(&self) -> Result<ResolvedProfile, ProfileError> {
        match self {
            ProfileSpec::Dir(dir) => {
                require_dir(dir)?;
                Ok(ResolvedProfile {
                    root: dir.clone(),
                    user: None,
                    readonly: false,
                    warning: None,
                })
            }
            ProfileSpec::RootUser { root, user } => resolve_in_root(root, user.as_deref()),
        }
    }
}

fn require_dir(dir: &Path) -> Result<(), ProfileError> {
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(ProfileError::NotAProfile {
            path: dir.to_path_buf(),
            reason: "not a directory".into(),
        }),
        Err(e) => Err(ProfileError::NotAProfile {
            path: dir.to_path_buf(),
            reason: e.to_string(),
        }),
    }
}

/// The seed's user-name rule (`^[a-zA-Z0-9_-]{1,50}$`); anything else could escape `profiles/`.
pub fn valid_user_name(name: &str) -> bool {
    (1..=50).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn resolve_in_root(root: &Path, user: Option<&str>) -> Result<ResolvedProfile, ProfileError> {
    require_dir(root)?;
    let user = match user {
        Some(u) => u.to_string(),
        None => only_profile(root)?,
    };
    if !valid_user_name(&user) {
        return Err(ProfileError::BadUser(user));
    }
    let default = root.join("profiles").join(&user);
    let users_json = root.join("persona").join("users.json");
    let storage = read_profile_storage(&users_json, &user)?;
    let Some(storage) = storage else {
        require_dir(&default)?;
        return Ok(ResolvedProfile {
            root: default,
            user: Some(user),
            readonly: false,
            warning: None,
        });
    };
    let custom = storage.get("path").and_then(Value::as_str).unwrap_or("");
    let fallback = storage
        .get("fallbackBehavior")
        .and_then(Value::as_str)
        .unwrap_or("error");
    let problem = if custom.is_empty() {
        Some("profileStorage.path is empty".to_string())
    } else if !Path::new(custom).is_absolute() {
        Some(format!("profileStorage.path {custom:?} is not absolute"))
    } else {
        match std::fs::read_dir(custom) {
            Ok(_) => None,
            Err(e) => Some(format!("profileStorage.path {custom}: {e}")),
        }
    };
    match (problem, fallback) {
        (None, _) => Ok(ResolvedProfile {
            root: PathBuf::from(custom),
            user: Some(user),
            readonly: false,
            warning: None,
        }),
        (Some(reason), "readonly") => {
            require_dir(&default)?;
            Ok(ResolvedProfile {
                root: default,
                user: Some(user),
                readonly: true,
                warning: Some(format!(
                    "{reason}; using the default location read-only (fallbackBehavior \"readonly\")"
                )),
            })
        }
        (Some(reason), _) => Err(ProfileError::StorageUnavailable { users_json, reason }),
    }
}

fn only_profile(root: &Path) -> Result<String, ProfileError> {
    let dir = root.join("profiles");
    let names: Vec<String> = std::fs::read_dir(&dir)
        .map_err(|e| ProfileError::NotAProfile {
            path: dir.clone(),
            reason: e.to_string(),
        })?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    match names.as_slice() {
        [one] => Ok(one.clone()),
        _ => Err(ProfileError::UserRequired {
            root: root.to_path_buf(),
            found: names,
        }),
    }
}

/// `users[]` entry for `user` → `metadata.profileStorage`, if any.
fn read_profile_storage(users_json: &Path, user: &str) -> Result<Option<Value>, ProfileError> {
    let bytes = match std::fs::read(users_json) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(ProfileError::io(users_json, e)),
    };
    let doc: Value = serde_json::from_slice(&bytes).map_err(|e| ProfileError::Json {
        path: users_json.to_path_buf(),
        source: e,
    })?;
    let users = match doc.get("users") {
        Some(Value::Array(users)) => users,
        Some(_) => {
            return Err(ProfileError::Field {
                path: users_json.to_path_buf(),
                field: "users".into(),
                reason: "expected an array".into(),
            })
        }
        None => return Ok(None),
    };
    let matches = |u: &Value| {
        ["username", "id", "name"]
            .iter()
            .any(|k| u.get(k).and_then(Value::as_str) == Some(user))
    };
    Ok(users
        .iter()
        .find(|u| matches(u))
        .and_then(|u| u.get("metadata")?.get("profileStorage"))
        .filter(|s| s.is_object())
        .cloned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn root_with(users_json: Option<&str>) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("profiles/ada")).unwrap();
        if let Some(text) = users_json {
            fs::create_dir_all(dir.path().join("persona")).unwrap();
            fs::write(dir.path().join("persona/users.json"), text).unwrap();
        }
        dir
    }

    fn spec(root: &Path, user: Option<&str>) -> ProfileSpec {
        ProfileSpec::RootUser {
            root: root.to_path_buf(),
            user: user.map(String::from),
        }
    }

    #[test]
    fn default_location_and_single_profile_guess() {
        let dir = root_with(None);
        let r = spec(dir.path(), Some("ada")).resolve().unwrap();
        assert_eq!(r.root, dir.path().join("profiles/ada"));
        assert!(!r.readonly);
        let r = spec(dir.path(), None).resolve().unwrap();
        assert_eq!(r.user.as_deref(), Some("ada"));
    }

    #[test]
    fn custom_storage_is_honoured() {
        let custom = tempfile::tempdir().unwrap();
        let users = format!(
            r#"{{"users":[{{"username":"ada","metadata":{{"profileStorage":{{"path":{:?},"type":"external"}}}}}}]}}"#,
            custom.path().to_str().unwrap()
        );
        let dir = root_with(Some(&users));
        let r = spec(dir.path(), Some("ada")).resolve().unwrap();
        assert_eq!(r.root, custom.path());
    }

    #[test]
    fn missing_custom_storage_errors_or_falls_back_readonly() {
        let users = r#"{"users":[{"username":"ada","metadata":{"profileStorage":{"path":"/nonexistent/mh","type":"external"}}}]}"#;
        let dir = root_with(Some(users));
        let err = spec(dir.path(), Some("ada")).resolve().unwrap_err();
        assert!(err.to_string().contains("/nonexistent/mh"), "{err}");

        let users = users.replace(r#""type""#, r#""fallbackBehavior":"readonly","type""#);
        let dir = root_with(Some(&users));
        let r = spec(dir.path(), Some("ada")).resolve().unwrap();
        assert!(r.readonly);
        assert_eq!(r.root, dir.path().join("profiles/ada"));
        assert!(r.warning.unwrap().contains("read-only"));
    }

    #[test]
    fn hostile_user_names_are_refused() {
        let dir = root_with(None);
        for bad in ["../etc", "", "a/b", &"x".repeat(51)] {
            assert!(matches!(
                spec(dir.path(), Some(bad)).resolve(),
                Err(ProfileError::BadUser(_))
            ));
        }
    }
}
