use std::cell::Cell;
use std::collections::BTreeMap;
use std::io::{self, Read};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use hf_hub::api::sync::{Api, ApiBuilder, ApiError};
use hf_hub::{Cache, Repo, RepoType};
use mh_profile::Progress;
use serde::Deserialize;

use crate::cache::{
    content_mismatch, index_shards, size_mismatch, Expected, RepoCache, OPTIONAL_FILES,
    REQUIRED_FILES, WEIGHTS_FILE, WEIGHTS_INDEX_FILE,
};
use crate::error::HubError;
use crate::options::HubOptions;
use crate::spec::{is_commit, is_safe_file_name, ModelSpec};

/// Where a resolved model came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelSource {
    /// The spec was a local directory; returned as it is.
    LocalDir,
    /// The hub was asked which commit the revision is; files not yet cached were downloaded
    /// (`downloaded_files == 0` means everything was already in the cache).
    Hub {
        downloaded_files: usize,
        downloaded_bytes: u64,
    },
    /// The revision is a commit sha whose snapshot is complete in the cache; no network needed.
    Cache,
    /// Offline mode (`HF_HUB_OFFLINE`): taken from the cache without touching the network.
    Offline,
    /// The hub was unreachable, so a complete cached snapshot of the revision was used; it may
    /// be older than what the hub has now.
    CacheFallback { reason: String },
}

/// A model directory ready to load.
#[derive(Debug, Clone)]
pub struct ResolvedModel {
    /// The directory with every file side by side (for hub models the cache's
    /// `snapshots/<commit>/`, exactly what Python's `snapshot_download` returns).
    pub dir: PathBuf,
    /// `owner/name` for hub models.
    pub repo: Option<String>,
    /// The revision asked for (`main` by default).
    pub revision: Option<String>,
    /// The commit sha of the snapshot.
    pub commit: Option<String>,
    /// The model files present in `dir` (relative names): the required and present optional
    /// files, then the weights (single file, or the index and its shards). For a local
    /// directory, the ones of these names it has.
    pub files: Vec<String>,
    pub source: ModelSource,
}

impl ResolvedModel {
    /// Served from the cache without asking the hub (pinned commit, offline, or fallback).
    pub fn from_cache(&self) -> bool {
        matches!(
            self.source,
            ModelSource::Cache | ModelSource::Offline | ModelSource::CacheFallback { .. }
        )
    }

    /// A sentence for the user when the result deserves one (offline or fallback use of the
    /// cache), `None` otherwise.
    pub fn notice(&self) -> Option<String> {
        let what = format!(
            "{}@{} (commit {})",
            self.repo.as_deref().unwrap_or("?"),
            self.revision.as_deref().unwrap_or("?"),
            self.commit.as_deref().unwrap_or("?")
        );
        match &self.source {
            ModelSource::Offline => Some(format!(
                "offline mode (HF_HUB_OFFLINE): using the cached snapshot of {what} in {}",
                self.dir.display()
            )),
            ModelSource::CacheFallback { reason } => Some(format!(
                "the hub could not be reached ({reason}); using the cached snapshot of {what} in \
                 {}, which may be out of date",
                self.dir.display()
            )),
            _ => None,
        }
    }
}

/// Resolves `spec` to a model directory.
///
/// * An existing directory is returned as it is once `config.json` is found in it.
/// * `owner/name` or `owner/name@revision` is looked up on the hub (`opts.endpoint`) and every
///   model file missing from the cache is downloaded into `opts.cache_dir`, reporting each
///   download to `progress` as a stage `download <file>` counted in bytes.
/// * Offline (`opts.offline`), or when the revision is a commit sha already cached, the cache
///   alone answers. When the hub is unreachable, a complete cached snapshot of the revision is
///   used instead ([`ModelSource::CacheFallback`]; see [`ResolvedModel::notice`]).
pub fn resolve_model(
    spec: &str,
    opts: &HubOptions,
    progress: &dyn Progress,
) -> Result<ResolvedModel, HubError> {
    match ModelSpec::parse(spec)? {
        ModelSpec::Dir(dir) => local_dir(dir),
        ModelSpec::Hub { repo, revision } => {
            resolve_hub(&repo, &revision, opts, progress, Files::Model)
        }
    }
}

/// The `config.json` of a model argument: in the directory, or — for a hub id — fetched alone
/// into the same cache (no weights), with the same offline and fallback rules as
/// [`resolve_model`]. For sizing a model before downloading it (`mh-train plan`).
pub fn resolve_config(
    spec: &str,
    opts: &HubOptions,
    progress: &dyn Progress,
) -> Result<PathBuf, HubError> {
    let model = match ModelSpec::parse(spec)? {
        ModelSpec::Dir(dir) => local_dir(dir)?,
        ModelSpec::Hub { repo, revision } => resolve_hub(
            &repo,
            &revision,
            opts,
            progress,
            Files::Only(&["config.json"]),
        )?,
    };
    Ok(model.dir.join("config.json"))
}

/// Which files a resolution makes present.
#[derive(Clone, Copy)]
enum Files<'a> {
    /// Everything a model load needs (config, tokenizer, weights).
    Model,
    /// Just these.
    Only(&'a [&'a str]),
}

fn local_dir(dir: PathBuf) -> Result<ResolvedModel, HubError> {
    if !dir.join("config.json").is_file() {
        return Err(HubError::NotAModelDir {
            path: dir,
            reason: "it has no config.json".into(),
        });
    }
    let mut files: Vec<String> = REQUIRED_FILES
        .iter()
        .chain(OPTIONAL_FILES.iter())
        .chain([WEIGHTS_FILE, WEIGHTS_INDEX_FILE].iter())
        .filter(|name| dir.join(name).is_file())
        .map(|name| name.to_string())
        .collect();
    if !dir.join(WEIGHTS_FILE).is_file() {
        if let Ok(shards) = index_shards(&dir.join(WEIGHTS_INDEX_FILE)) {
            files.extend(shards.into_iter().filter(|s| dir.join(s).is_file()));
        }
    }
    Ok(ResolvedModel {
        dir,
        repo: None,
        revision: None,
        commit: None,
        files,
        source: ModelSource::LocalDir,
    })
}

fn resolve_hub(
    repo: &str,
    revision: &str,
    opts: &HubOptions,
    progress: &dyn Progress,
    wanted: Files<'_>,
) -> Result<ResolvedModel, HubError> {
    let cache_dir =
        std::path::absolute(&opts.cache_dir).map_err(|e| HubError::io(&opts.cache_dir, e))?;
    let cache = RepoCache::new(&cache_dir, repo);
    let cached = |source: ModelSource| -> Result<ResolvedModel, String> {
        let commit = cache
            .commit_for(revision)
            .ok_or_else(|| format!("no refs/{revision} in {}", cache.root.display()))?;
        let files = match wanted {
            Files::Model => cache.complete_snapshot(&commit)?,
            Files::Only(names) => {
                let dir = cache.snapshot(&commit);
                match names.iter().find(|n| !dir.join(n).is_file()) {
                    Some(missing) => return Err(format!("{missing} is not in the snapshot")),
                    None => names.iter().map(|n| n.to_string()).collect(),
                }
            }
        };
        Ok(ResolvedModel {
            dir: cache.snapshot(&commit),
            repo: Some(repo.to_string()),
            revision: Some(revision.to_string()),
            commit: Some(commit),
            files,
            source,
        })
    };

    if opts.offline {
        return cached(ModelSource::Offline).map_err(|missing| HubError::OfflineNotCached {
            repo: repo.to_string(),
            revision: revision.to_string(),
            cache: cache_dir.clone(),
            missing,
        });
    }
    // A commit never changes: when its snapshot is complete, the hub has nothing to add.
    if is_commit(revision) {
        if let Ok(model) = cached(ModelSource::Cache) {
            return Ok(model);
        }
    }
    let online = Online::new(
        repo,
        revision,
        opts,
        &cache_dir,
        cache.root.clone(),
        progress,
    )?;
    match online.run(wanted) {
        Ok(model) => Ok(model),
        Err(err) if err.is_network() => match cached(ModelSource::CacheFallback {
            reason: err.to_string(),
        }) {
            Ok(model) => Ok(model),
            Err(missing) => Err(match err {
                HubError::Network {
                    repo, url, reason, ..
                } => HubError::Network {
                    repo,
                    url,
                    reason,
                    cache_note: format!("; the cache cannot stand in: {missing}"),
                },
                other => other,
            }),
        },
        Err(err) => Err(err),
    }
}

#[derive(Deserialize)]
struct RepoInfo {
    sha: String,
    #[serde(default)]
    siblings: Vec<Sibling>,
}

#[derive(Deserialize)]
struct Sibling {
    rfilename: String,
    #[serde(rename = "blobId")]
    blob_id: Option<String>,
    size: Option<u64>,
    lfs: Option<LfsInfo>,
}

#[derive(Deserialize)]
struct LfsInfo {
    sha256: String,
    size: Option<u64>,
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit())
}

impl Sibling {
    fn expected(&self) -> Expected {
        match &self.lfs {
            Some(lfs) => Expected {
                size: lfs.size.or(self.size),
                sha256: is_hex(&lfs.sha256, 64).then(|| lfs.sha256.to_ascii_lowercase()),
                git_sha1: None,
            },
            None => Expected {
                size: self.size,
                sha256: None,
                git_sha1: self
                    .blob_id
                    .as_ref()
                    .filter(|b| is_hex(b, 40))
                    .map(|b| b.to_ascii_lowercase()),
            },
        }
    }
}

/// One online resolution: the hub's answer for the revision, then each file.
struct Online<'a> {
    repo: &'a str,
    revision: &'a str,
    opts: &'a HubOptions,
    cache: RepoCache,
    api: Api,
    progress: &'a dyn Progress,
}

/// How one file got into the snapshot.
enum Fetched {
    Cached,
    Downloaded(u64),
}

impl<'a> Online<'a> {
    fn new(
        repo: &'a str,
        revision: &'a str,
        opts: &'a HubOptions,
        cache_dir: &Path,
        root: PathBuf,
        progress: &'a dyn Progress,
    ) -> Result<Online<'a>, HubError> {
        let api = ApiBuilder::from_cache(Cache::new(cache_dir.to_path_buf()))
            .with_endpoint(opts.endpoint.clone())
            .with_token(opts.token.as_ref().map(|t| t.secret().to_string()))
            .with_progress(false)
            .with_user_agent("mh-train", env!("CARGO_PKG_VERSION"))
            .build()
            .map_err(|e| HubError::Protocol {
                repo: repo.to_string(),
                url: opts.endpoint.clone(),
                reason: format!("cannot set up the HTTP client: {e}"),
            })?;
        Ok(Online {
            repo,
            revision,
            opts,
            cache: RepoCache { root },
            api,
            progress,
        })
    }

    /// Removes the token from server- or library-supplied text before it reaches a message.
    fn scrub(&self, text: &str) -> String {
        let mut text: String = text.chars().take(500).collect();
        if let Some(token) = &self.opts.token {
            text = text.replace(token.secret(), "<token>");
        }
        text
    }

    fn run(&self, wanted: Files<'_>) -> Result<ResolvedModel, HubError> {
        let info = self.info()?;
        let commit = info.sha.to_ascii_lowercase();
        let siblings: BTreeMap<&str, &Sibling> = info
            .siblings
            .iter()
            .map(|s| (s.rfilename.as_str(), s))
            .collect();

        let mut plan: Vec<&str> = Vec::new();
        if let Files::Only(names) = wanted {
            for name in names {
                if !siblings.contains_key(name) {
                    return Err(self.missing_file(&commit, name, ""));
                }
            }
            return self.fetch_all(&commit, &siblings, names, false);
        }
        for name in REQUIRED_FILES {
            if !siblings.contains_key(name) {
                return Err(self.missing_file(&commit, name, ""));
            }
            plan.push(name);
        }
        plan.extend(OPTIONAL_FILES.iter().filter(|n| siblings.contains_key(*n)));
        let weights = if siblings.contains_key(WEIGHTS_FILE) {
            WEIGHTS_FILE
        } else if siblings.contains_key(WEIGHTS_INDEX_FILE) {
            WEIGHTS_INDEX_FILE
        } else {
            return Err(self.missing_file(
                &commit,
                WEIGHTS_FILE,
                &format!(" (nor {WEIGHTS_INDEX_FILE}; only safetensors weights are supported)"),
            ));
        };
        plan.push(weights);
        self.fetch_all(&commit, &siblings, &plan, weights == WEIGHTS_INDEX_FILE)
    }

    /// Fetch `plan` (and, with `sharded`, the shards its weights index names) into the
    /// snapshot of `commit`, and point the revision's ref at it.
    fn fetch_all(
        &self,
        commit: &str,
        siblings: &BTreeMap<&str, &Sibling>,
        plan: &[&str],
        sharded: bool,
    ) -> Result<ResolvedModel, HubError> {
        let commit = commit.to_string();
        // hf-hub records `refs/<commit>` for every download; Python keeps no ref named by a
        // commit, so one that did not exist before is removed again at the end.
        let commit_ref = self.cache.ref_path(&commit);
        let commit_ref_existed = commit_ref.exists();

        let mut files = Vec::new();
        let (mut downloaded_files, mut downloaded_bytes) = (0usize, 0u64);
        let mut fetch = |name: &str| -> Result<(), HubError> {
            let sibling = siblings.get(name).copied();
            if let Fetched::Downloaded(bytes) = self.fetch(&commit, name, sibling)? {
                downloaded_files += 1;
                downloaded_bytes += bytes;
            }
            files.push(name.to_string());
            Ok(())
        };
        let mut result = plan.iter().try_for_each(|name| fetch(name));
        if result.is_ok() && sharded {
            let index = self.cache.snapshot(&commit).join(WEIGHTS_INDEX_FILE);
            result = match index_shards(&index) {
                Ok(shards) => shards.iter().try_for_each(|shard| {
                    if !siblings.contains_key(shard.as_str()) {
                        return Err(self.missing_file(
                            &commit,
                            shard,
                            &format!(" (named by {WEIGHTS_INDEX_FILE})"),
                        ));
                    }
                    fetch(shard)
                }),
                Err(reason) => Err(HubError::Protocol {
                    repo: self.repo.to_string(),
                    url: self.file_url(&commit, WEIGHTS_INDEX_FILE),
                    reason: format!("{WEIGHTS_INDEX_FILE}: {reason}"),
                }),
            };
        }
        if !commit_ref_existed && self.revision != commit {
            let _ = std::fs::remove_file(&commit_ref);
        }
        result?;
        if self.revision != commit {
            self.cache.write_ref(self.revision, &commit)?;
        }
        Ok(ResolvedModel {
            dir: self.cache.snapshot(&commit),
            repo: Some(self.repo.to_string()),
            revision: Some(self.revision.to_string()),
            commit: Some(commit),
            files,
            source: ModelSource::Hub {
                downloaded_files,
                downloaded_bytes,
            },
        })
    }

    /// `GET /api/models/{repo}/revision/{revision}?blobs=true`: the commit and the file list
    /// with sizes and hashes.
    fn info(&self) -> Result<RepoInfo, HubError> {
        let request = self
            .api
            .repo(Repo::with_revision(
                self.repo.to_string(),
                RepoType::Model,
                self.revision.to_string(),
            ))
            .info_request()
            .query("blobs", "true");
        let url = request.url().to_string();
        let response = request
            .call()
            .map_err(|e| self.classify(e, &format!("revision {}", self.revision), &url))?;
        let mut body = String::new();
        response
            .into_reader()
            .take(64 << 20)
            .read_to_string(&mut body)
            .map_err(|e| self.io_failure(e, &url, &self.cache.root))?;
        let info: RepoInfo = serde_json::from_str(&body).map_err(|e| HubError::Protocol {
            repo: self.repo.to_string(),
            url: url.clone(),
            reason: format!("the repository info is not the hub's JSON: {e}"),
        })?;
        if !is_hex(&info.sha, 40) {
            return Err(HubError::Protocol {
                repo: self.repo.to_string(),
                url,
                reason: format!("{:?} is not a commit sha", self.scrub(&info.sha)),
            });
        }
        Ok(info)
    }

    fn file_url(&self, commit: &str, file: &str) -> String {
        self.api
            .repo(Repo::with_revision(
                self.repo.to_string(),
                RepoType::Model,
                commit.to_string(),
            ))
            .url(file)
    }

    fn missing_file(&self, commit: &str, file: &str, detail: &str) -> HubError {
        HubError::NotFound {
            repo: self.repo.to_string(),
            what: format!("file {file}"),
            url: self.file_url(commit, file),
            code: None,
            detail: format!(
                "{detail}: the repository at {} (commit {commit}) does not have it",
                self.revision
            ),
        }
    }

    /// Makes `snapshots/<commit>/<file>` present: already there, linked to a blob already
    /// cached, or downloaded through hf-hub (then checked against the hub's size and hash).
    fn fetch(
        &self,
        commit: &str,
        file: &str,
        sibling: Option<&Sibling>,
    ) -> Result<Fetched, HubError> {
        let url = self.file_url(commit, file);
        if !is_safe_file_name(file) {
            return Err(HubError::Protocol {
                repo: self.repo.to_string(),
                url,
                reason: format!("unsafe file name {file:?}"),
            });
        }
        let expected = sibling.map(Sibling::expected).unwrap_or_default();
        let pointer = self.cache.snapshot(commit).join(file);
        if pointer.is_file() {
            match size_mismatch(&pointer, &expected) {
                Ok(None) => return Ok(Fetched::Cached),
                // A truncated or foreign copy: drop it (and its blob) and download again.
                _ => self.discard(&pointer),
            }
        }
        if let Some(etag) = expected.etag() {
            let blob = self.cache.blob(etag);
            if blob.is_file() && matches!(size_mismatch(&blob, &expected), Ok(None)) {
                self.cache.link(commit, file, etag)?;
                return Ok(Fetched::Cached);
            }
        }

        let api_repo = self.api.repo(Repo::with_revision(
            self.repo.to_string(),
            RepoType::Model,
            commit.to_string(),
        ));
        let started = Cell::new(false);
        let adapter = FileProgress {
            inner: self.progress,
            stage: format!("download {file}"),
            started: &started,
        };
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            api_repo.download_with_progress(file, adapter)
        }));
        if started.get() {
            self.progress.finish();
        }
        let path = match outcome {
            Ok(Ok(path)) => path,
            Ok(Err(err)) => return Err(self.api_error(err, file, &url)),
            Err(panic) => {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "a panic".into());
                return Err(HubError::Protocol {
                    repo: self.repo.to_string(),
                    url,
                    reason: format!(
                        "the download client failed on the answer: {}",
                        self.scrub(&what)
                    ),
                });
            }
        };
        if path != pointer {
            // hf-hub files the download under the commit the hub's `x-repo-commit` names.
            return Err(HubError::Protocol {
                repo: self.repo.to_string(),
                url,
                reason: format!(
                    "the file came as {} but the repository info named commit {commit}",
                    path.display()
                ),
            });
        }
        match content_mismatch(&pointer, &expected) {
            Ok(None) => {}
            Ok(Some(reason)) => {
                self.discard(&pointer);
                return Err(HubError::Corrupt {
                    repo: self.repo.to_string(),
                    file: file.to_string(),
                    url,
                    reason,
                });
            }
            Err(e) => return Err(HubError::io(&pointer, e)),
        }
        let size = std::fs::metadata(&pointer)
            .map_err(|e| HubError::io(&pointer, e))?
            .len();
        Ok(Fetched::Downloaded(size))
    }

    /// Removes a snapshot entry and the blob it leads to (only a blob of this repository).
    fn discard(&self, pointer: &Path) {
        if let Ok(blob) = std::fs::canonicalize(pointer) {
            let blobs = std::fs::canonicalize(self.cache.root.join("blobs")).ok();
            if blobs.is_some_and(|dir| blob.starts_with(dir)) {
                let _ = std::fs::remove_file(&blob);
            }
        }
        let _ = std::fs::remove_file(pointer);
    }

    /// Maps an HTTP failure to the error kinds callers act on.
    fn classify(&self, err: ureq::Error, what: &str, url: &str) -> HubError {
        let repo = self.repo.to_string();
        let url = url.to_string();
        match err {
            ureq::Error::Status(status, response) => {
                let code = response.header("x-error-code").map(|c| self.scrub(c));
                let message = response
                    .header("x-error-message")
                    .map(|m| self.scrub(m))
                    .unwrap_or_default();
                let with_message = |base: &str| {
                    if message.is_empty() {
                        base.to_string()
                    } else {
                        format!("{base} (hub: {message})")
                    }
                };
                let token_hint = if self.opts.token.is_none() {
                    "; if the repository is private or gated, set HF_TOKEN"
                } else {
                    ""
                };
                match (code.as_deref(), status) {
                    (Some("GatedRepo"), _) => HubError::Denied {
                        repo,
                        what: what.to_string(),
                        url,
                        status,
                        gated: true,
                        reason: with_message(if self.opts.token.is_some() {
                            "the repository is gated and the token given has no access; accept its \
                             conditions on the hub with that account"
                        } else {
                            "the repository is gated; accept its conditions on the hub and set \
                             HF_TOKEN"
                        }),
                    },
                    (Some("RepoNotFound"), _) => HubError::NotFound {
                        repo,
                        what: "repository".into(),
                        url,
                        code,
                        detail: format!("{}{token_hint}", prefixed(&message)),
                    },
                    (Some("RevisionNotFound"), _) => HubError::NotFound {
                        repo,
                        what: format!("revision {}", self.revision),
                        url,
                        code,
                        detail: prefixed(&message),
                    },
                    (_, 404) => HubError::NotFound {
                        repo,
                        what: what.to_string(),
                        url,
                        code,
                        detail: prefixed(&message),
                    },
                    (_, 401 | 403) => HubError::Denied {
                        repo,
                        what: what.to_string(),
                        url,
                        status,
                        gated: false,
                        reason: with_message(if self.opts.token.is_some() {
                            "the hub refused the token given"
                        } else {
                            "the hub wants a token; set HF_TOKEN"
                        }),
                    },
                    (_, 429 | 500..=599) => HubError::Network {
                        repo,
                        url,
                        reason: with_message(&format!("HTTP {status}")),
                        cache_note: String::new(),
                    },
                    _ => HubError::Protocol {
                        repo,
                        url,
                        reason: with_message(&format!("HTTP {status} for {what}")),
                    },
                }
            }
            ureq::Error::Transport(transport) => HubError::Network {
                repo,
                url,
                reason: self.scrub(&transport.to_string()),
                cache_note: String::new(),
            },
        }
    }

    fn io_failure(&self, err: io::Error, url: &str, path: &Path) -> HubError {
        use io::ErrorKind::*;
        let network = matches!(
            err.kind(),
            ConnectionReset
                | ConnectionAborted
                | ConnectionRefused
                | NotConnected
                | BrokenPipe
                | UnexpectedEof
                | TimedOut
                | Interrupted
        ) || err
            .get_ref()
            .is_some_and(|inner| inner.is::<ureq::Transport>() || inner.is::<ureq::Error>());
        if network {
            HubError::Network {
                repo: self.repo.to_string(),
                url: url.to_string(),
                reason: self.scrub(&format!("the transfer broke: {err}")),
                cache_note: String::new(),
            }
        } else {
            HubError::io(path, err)
        }
    }

    fn api_error(&self, err: ApiError, file: &str, url: &str) -> HubError {
        let protocol = |reason: String| HubError::Protocol {
            repo: self.repo.to_string(),
            url: url.to_string(),
            reason,
        };
        match err {
            ApiError::RequestError(e) => self.classify(*e, &format!("file {file}"), url),
            ApiError::IoError(e) => self.io_failure(e, url, &self.cache.root.join("blobs")),
            ApiError::TooManyRetries(inner) => self.api_error(*inner, file, url),
            ApiError::MissingHeader(h) => protocol(format!("the answer lacks the {h} header")),
            ApiError::InvalidHeader(h) => protocol(format!("the answer's {h} header is invalid")),
            ApiError::ParseIntError(e) => {
                protocol(format!("the answer's Content-Range is not a size: {e}"))
            }
            ApiError::InvalidResume => {
                // A leftover partial download longer than the file: drop it so a retry starts over.
                if let Ok(entries) = std::fs::read_dir(self.cache.root.join("blobs")) {
                    for entry in entries.flatten() {
                        if entry.path().extension().is_some_and(|e| e == "part") {
                            let _ = std::fs::remove_file(entry.path());
                        }
                    }
                }
                protocol(
                    "a partial download was longer than the file; it was removed, retry".into(),
                )
            }
            ApiError::LockAcquisition(path) => HubError::io(
                path,
                io::Error::other("another process holds the download lock of this file"),
            ),
            #[allow(unreachable_patterns)]
            other => protocol(self.scrub(&other.to_string())),
        }
    }
}

fn prefixed(message: &str) -> String {
    if message.is_empty() {
        String::new()
    } else {
        format!(": {message}")
    }
}

/// Forwards hf-hub's per-file progress (bytes) to the project's [`Progress`] as one stage.
struct FileProgress<'a> {
    inner: &'a dyn Progress,
    stage: String,
    started: &'a Cell<bool>,
}

impl hf_hub::api::Progress for FileProgress<'_> {
    fn init(&mut self, size: usize, _filename: &str) {
        // hf-hub announces the size twice per attempt; one stage per file.
        if !self.started.get() {
            self.inner.start(&self.stage, Some(size as u64));
            self.started.set(true);
        }
    }

    fn update(&mut self, size: usize) {
        if size > 0 {
            self.inner.advance(size as u64);
        }
    }

    fn finish(&mut self) {}
}
