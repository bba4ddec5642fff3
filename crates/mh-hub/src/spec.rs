use std::path::{Path, PathBuf};

use crate::error::HubError;

/// What a model argument names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelSpec {
    /// An existing directory.
    Dir(PathBuf),
    /// A hub repository at a revision (branch, tag or commit; `main` when none was given).
    Hub { repo: String, revision: String },
}

/// The revision used when a spec names none.
pub const DEFAULT_REVISION: &str = "main";

impl ModelSpec {
    /// An existing directory wins (as in `transformers`); anything path-like that does not exist
    /// is an error; otherwise `owner/name[@revision]` (or a bare legacy `name`) is a hub id.
    pub fn parse(spec: &str) -> Result<ModelSpec, HubError> {
        let invalid = |reason: &str| HubError::InvalidSpec {
            spec: spec.to_string(),
            reason: reason.to_string(),
        };
        if spec.trim().is_empty() {
            return Err(invalid("it is empty"));
        }
        let path = Path::new(spec);
        if path.is_dir() {
            return Ok(ModelSpec::Dir(path.to_path_buf()));
        }
        if path.exists() {
            return Err(HubError::NotAModelDir {
                path: path.to_path_buf(),
                reason: "it is a file, not a directory".into(),
            });
        }
        let looks_like_path = spec.starts_with(['/', '.', '~'])
            || spec.contains('\\')
            || spec.ends_with('/')
            || (spec.matches('/').count() > 1 && !spec.contains('@'));
        if looks_like_path {
            return Err(HubError::NotAModelDir {
                path: path.to_path_buf(),
                reason: "no such directory".into(),
            });
        }
        let (repo, revision) = match spec.split_once('@') {
            Some((repo, rev)) => (repo, rev),
            None => (spec, DEFAULT_REVISION),
        };
        validate_repo_id(repo).map_err(|r| invalid(&r))?;
        validate_revision(revision).map_err(|r| invalid(&r))?;
        Ok(ModelSpec::Hub {
            repo: repo.to_string(),
            revision: revision.to_string(),
        })
    }
}

/// `huggingface_hub`'s rule: `[owner/]name`, each part of letters, digits, `-`, `_`, `.`, not
/// starting or ending with `-` or `.`, no `--` or `..`, at most 96 characters.
pub(crate) fn validate_repo_id(repo: &str) -> Result<(), String> {
    if repo.len() > 96 {
        return Err(format!(
            "repository id {repo:?} is longer than 96 characters"
        ));
    }
    let parts: Vec<&str> = repo.split('/').collect();
    if parts.len() > 2 {
        return Err(format!("repository id {repo:?} has more than one '/'"));
    }
    for part in &parts {
        let ok_chars = part
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if part.is_empty()
            || !ok_chars
            || part.starts_with(['-', '.'])
            || part.ends_with(['-', '.'])
            || part.contains("--")
            || part.contains("..")
        {
            return Err(format!(
                "repository id {repo:?} must be owner/name with letters, digits, '-', '_' and '.' \
                 (not at the ends, no '--' or '..')"
            ));
        }
    }
    Ok(())
}

/// Revisions become file names under `refs/`, so they must stay inside it.
pub(crate) fn validate_revision(revision: &str) -> Result<(), String> {
    let ok_chars = revision
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'));
    let ok_parts = revision
        .split('/')
        .all(|part| !part.is_empty() && part != "." && part != "..");
    if revision.is_empty() || !ok_chars || !ok_parts {
        return Err(format!(
            "revision {revision:?} must be a branch, tag or commit (letters, digits, '-', '_', \
             '.', '/' between non-empty parts)"
        ));
    }
    Ok(())
}

/// A full commit sha: 40 lower-case hex digits.
pub(crate) fn is_commit(revision: &str) -> bool {
    revision.len() == 40
        && revision
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// A repository file name that stays inside a snapshot directory.
pub(crate) fn is_safe_file_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('/')
        && !name.contains('\\')
        && !name.contains('\0')
        && name
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hub_ids_and_revisions() {
        assert_eq!(
            ModelSpec::parse("Qwen/Qwen2.5-0.5B-Instruct").unwrap(),
            ModelSpec::Hub {
                repo: "Qwen/Qwen2.5-0.5B-Instruct".into(),
                revision: "main".into()
            }
        );
        assert_eq!(
            ModelSpec::parse("HuggingFaceTB/SmolLM2-135M@refs/pr/3").unwrap(),
            ModelSpec::Hub {
                repo: "HuggingFaceTB/SmolLM2-135M".into(),
                revision: "refs/pr/3".into()
            }
        );
        assert!(matches!(
            ModelSpec::parse("gpt2").unwrap(),
            ModelSpec::Hub { .. }
        ));
    }

    #[test]
    fn rejects_bad_ids_and_paths() {
        for bad in [
            "",
            "a/b/c@main",
            "a--b/c",
            "-a/b",
            "a/b.",
            "a/b c",
            "a/b@",
            "a/b@../x",
            "a/b@x//y",
        ] {
            assert!(
                matches!(ModelSpec::parse(bad), Err(HubError::InvalidSpec { .. })),
                "{bad:?} should be invalid"
            );
        }
        for path in ["./nope", "/definitely/not/here", "models/x/y", "nope/"] {
            assert!(
                matches!(ModelSpec::parse(path), Err(HubError::NotAModelDir { .. })),
                "{path:?} should be a missing directory"
            );
        }
    }

    #[test]
    fn file_names_stay_inside() {
        assert!(is_safe_file_name("model-00001-of-00002.safetensors"));
        assert!(is_safe_file_name("sub/dir/x.json"));
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../../x",
            "a//b",
            "a\\b",
            "./a",
        ] {
            assert!(!is_safe_file_name(bad), "{bad:?}");
        }
        assert!(is_commit("0123456789abcdef0123456789abcdef01234567"));
        assert!(!is_commit("main"));
        assert!(!is_commit("0123456789ABCDEF0123456789abcdef01234567"));
    }
}
