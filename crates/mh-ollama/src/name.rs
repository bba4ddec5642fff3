//! Ollama model names: validation by the server's rules and the `<user>-<RUN_LABEL>` default.
//!
//! The rules are those of ollama's `types/model/name.go` (`ParseName` + `IsValid`): a name is
//! `[host/][namespace/]model[:tag]`, missing parts take the defaults `registry.ollama.ai`,
//! `library` and `latest`; each part starts with a letter, digit or `_`, then
//!
//! | part      | other characters allowed | length  |
//! |-----------|--------------------------|---------|
//! | host      | `A-Za-z0-9_-.:`          | 1..=350 |
//! | namespace | `A-Za-z0-9_-`            | 1..=80  |
//! | model     | `A-Za-z0-9_-.`           | 1..=80  |
//! | tag       | `A-Za-z0-9_-.`           | 1..=80  |
//!
//! The server compares names case-insensitively; names made here are lower-case (the seed's
//! convention, and what `ollama list` shows for them).

use std::fmt;

use crate::error::{OllamaError, Result};

const MAX_PART: usize = 80;
const MAX_HOST: usize = 350;

/// A model name the Ollama server accepts, as written (`nell-2026-01-02-030405-a1b2c3`,
/// `me/model:v2`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ModelName(String);

impl ModelName {
    /// Checks `name` against the server's rules; nothing is changed.
    pub fn parse(name: &str) -> Result<ModelName> {
        validate(name).map_err(|reason| OllamaError::InvalidName {
            name: name.to_string(),
            reason,
        })?;
        Ok(ModelName(name.to_string()))
    }

    /// Makes a valid name out of anything: see [`sanitize_model_part`]. An explicit `:tag` is
    /// sanitised as a tag; `/` separators are not kept (a namespace is almost never meant).
    pub fn sanitized(name: &str) -> Result<ModelName> {
        let (model, tag) = match name.rsplit_once(':') {
            Some((m, t)) if !t.is_empty() => (m, Some(t)),
            _ => (name.trim_end_matches(':'), None),
        };
        let model = sanitize_model_part(model, MAX_PART);
        let model = if model.is_empty() {
            "model".to_string()
        } else {
            model
        };
        let full = match tag.map(|t| sanitize_model_part(t, MAX_PART)) {
            Some(t) if !t.is_empty() => format!("{model}:{t}"),
            _ => model,
        };
        ModelName::parse(&full)
    }

    /// The seed's default name `<user>-<RUN_LABEL>`, lower-cased and sanitised. The run label is
    /// kept whole (it is what makes the name unique) and the user part is shortened so the model
    /// part stays within 80 characters; a user name with nothing usable becomes `user`, as in the
    /// seed.
    pub fn for_run(user: &str, run_label: &str) -> Result<ModelName> {
        let label = sanitize_model_part(run_label, MAX_PART);
        if label.is_empty() {
            return Err(OllamaError::InvalidName {
                name: run_label.to_string(),
                reason: "the run label has no character a model name may contain".into(),
            });
        }
        let room = MAX_PART.saturating_sub(label.len() + 1);
        let mut user_part = sanitize_model_part(user, room);
        if user_part.is_empty() {
            user_part = "user".chars().take(room).collect();
        }
        let name = if user_part.is_empty() {
            label
        } else {
            format!("{user_part}-{label}")
        };
        ModelName::parse(&name)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name as the server lists it: `model:tag`, with `:latest` added when no tag was given
    /// (host and namespace are left as written).
    pub fn with_default_tag(&self) -> String {
        with_default_tag(&self.0)
    }

    /// Whether `other` (as `/api/tags` lists it) names the same model: same parts once the
    /// default tag is applied, compared case-insensitively as the server does.
    pub fn matches(&self, other: &str) -> bool {
        same_model(&self.0, other)
    }
}

impl fmt::Display for ModelName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for ModelName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// `name` with `:latest` appended when it has no tag.
pub fn with_default_tag(name: &str) -> String {
    let tagged = name
        .rfind(':')
        .is_some_and(|c| c > name.rfind('/').unwrap_or(0));
    if tagged {
        name.to_string()
    } else {
        format!("{name}:latest")
    }
}

/// Whether two names denote the same model (default tag, host and namespace applied;
/// case-insensitive).
pub fn same_model(a: &str, b: &str) -> bool {
    fn full(n: &str) -> String {
        let n = with_default_tag(n);
        let parts = n.split('/').count();
        let prefix = match parts {
            1 => "registry.ollama.ai/library/",
            2 => "registry.ollama.ai/",
            _ => "",
        };
        format!("{prefix}{n}").to_ascii_lowercase()
    }
    full(a) == full(b)
}

/// One part of a model name from arbitrary text: lower-cased, every run of characters outside
/// `a-z 0-9 _ . -` replaced by one `-`, leading characters that may not start a part and
/// trailing `-`/`.` removed, at most `max` characters (cut at a character boundary, then trimmed
/// again). May return an empty string.
pub fn sanitize_model_part(s: &str, max: usize) -> String {
    let mut out = String::with_capacity(s.len());
    let mut dash = false;
    for c in s.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '.' | '-') {
            out.push(c);
            dash = c == '-';
        } else if !dash {
            out.push('-');
            dash = true;
        }
    }
    let trim = |s: &str| -> String {
        s.trim_start_matches(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .trim_end_matches(['-', '.'])
            .to_string()
    };
    let mut out = trim(&out);
    if out.len() > max {
        out.truncate(max);
        out = trim(&out);
    }
    out
}

/// The server's `ParseName` + `IsValid`; `Err(reason)` when invalid.
fn validate(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("the name is empty".into());
    }
    let (rest, tag) = if s.rfind(':').map(|i| i as isize) > s.rfind('/').map(|i| i as isize) {
        let (r, t) = s.rsplit_once(':').unwrap_or((s, ""));
        (r, Some(t))
    } else {
        (s, None)
    };
    let mut parts: Vec<&str> = rest.split('/').collect();
    if parts.len() > 3 {
        // host may itself contain "://" (scheme) — ParseName cuts at the last two '/'.
        let model = parts.pop().unwrap_or_default();
        let namespace = parts.pop().unwrap_or_default();
        let host_joined = parts.join("/");
        let host = host_joined
            .split_once("://")
            .map(|(_, h)| h)
            .unwrap_or(&host_joined);
        check_part(Kind::Host, host)?;
        check_part(Kind::Namespace, namespace)?;
        check_part(Kind::Model, model)?;
    } else {
        match parts.as_slice() {
            [model] => check_part(Kind::Model, model)?,
            [namespace, model] => {
                check_part(Kind::Namespace, namespace)?;
                check_part(Kind::Model, model)?;
            }
            [host, namespace, model] => {
                check_part(Kind::Host, host)?;
                check_part(Kind::Namespace, namespace)?;
                check_part(Kind::Model, model)?;
            }
            _ => return Err("the name is empty".into()),
        }
    }
    if let Some(tag) = tag {
        check_part(Kind::Tag, tag)?;
    }
    Ok(())
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Host,
    Namespace,
    Model,
    Tag,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Host => "host",
            Kind::Namespace => "namespace",
            Kind::Model => "model",
            Kind::Tag => "tag",
        }
    }
}

fn check_part(kind: Kind, s: &str) -> Result<(), String> {
    let max = if kind == Kind::Host {
        MAX_HOST
    } else {
        MAX_PART
    };
    if s.is_empty() {
        return Err(format!("the {} part is empty", kind.name()));
    }
    if s.len() > max {
        return Err(format!(
            "the {} part is {} characters long (at most {max})",
            kind.name(),
            s.len()
        ));
    }
    for (i, b) in s.bytes().enumerate() {
        let alnum_us = b.is_ascii_alphanumeric() || b == b'_';
        let ok = if i == 0 {
            alnum_us
        } else {
            alnum_us
                || b == b'-'
                || (b == b'.' && kind != Kind::Namespace)
                || (b == b':' && kind == Kind::Host)
        };
        if !ok {
            let c = s[i..].chars().next().unwrap_or('?');
            return Err(if i == 0 {
                format!(
                    "the {} part must start with a letter, digit or '_', not {c:?}",
                    kind.name()
                )
            } else {
                format!("{c:?} is not allowed in the {} part", kind.name())
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_rules() {
        for ok in [
            "a",
            "nell-2026-01-02-030405-a1b2c3",
            "Mixed_Case.v2",
            "model:tag",
            "ns/model:1.0",
            "host.example:5000/ns/model:t",
            "_x",
        ] {
            assert!(ModelName::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "-x",
            ".x",
            "a b",
            "a:",
            "a:-t",
            "n.s/model",
            "x/",
            "/x",
            "é",
            &"m".repeat(81),
            "a:b:c",
        ] {
            assert!(ModelName::parse(bad).is_err(), "{bad:?}");
        }
        assert!(ModelName::parse(&"m".repeat(80)).is_ok());
    }

    #[test]
    fn default_tag_and_matching() {
        let n = ModelName::parse("nell-run").unwrap();
        assert_eq!(n.with_default_tag(), "nell-run:latest");
        assert!(n.matches("nell-run:latest"));
        assert!(n.matches("NELL-RUN"));
        assert!(n.matches("registry.ollama.ai/library/nell-run:latest"));
        assert!(!n.matches("nell-run:v2"));
        assert_eq!(with_default_tag("host:5000/ns/m"), "host:5000/ns/m:latest");
    }
}
