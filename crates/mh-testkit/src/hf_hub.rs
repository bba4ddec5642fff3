//! A loopback Hugging Face Hub: serves model repositories the way `huggingface.co` does for what
//! `hf-hub` and Python's `huggingface_hub` download with.
//!
//! * `GET|HEAD /{owner}/{name}/resolve/{revision}/{path}`: `x-repo-commit` on every answer;
//!   small ("git") files answer `200` with `etag: "<git blob sha1>"`; "LFS" files (weights, or
//!   anything of 10 MiB and more) answer `302` to the storage route with
//!   `x-linked-etag: "<sha256>"` and `x-linked-size`, like the hub's redirect to its CDN (on
//!   `localhost`, another origin than the hub's `127.0.0.1`, unless [`FakeHubOptions`] says).
//!   `Range: bytes=…` gives `206` with `Content-Range`. Revisions: `main` and the commit sha.
//! * `GET|HEAD /lfs-storage/{sha256}`: the LFS bytes (the "CDN"); never needs a token.
//! * `GET /api/models/{owner}/{name}` and `…/revision/{revision}`: `sha`, `siblings` (with
//!   `blobId`, `size` and `lfs` when `?blobs=true`), `gated`.
//! * Errors as the hub sends them: unknown repo `401` (no token) / `404` (token) with
//!   `x-error-code: RepoNotFound`; gated repo without the right token `401` / `403` with
//!   `GatedRepo`; `404` `RevisionNotFound`; `404` `EntryNotFound`.
//!
//! The commit sha is derived from the files, so the same files give the same sha (and the same
//! cache layout) in every run. Every request is recorded ([`FakeHub::requests`]).

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::Path;
use std::sync::Arc;

use serde_json::{json, Value};
use sha1::Sha1;
use sha2::{Digest, Sha256};

use crate::http::{HttpRequest, HttpResponse, Params, RecordedRequest, Router, TestServer};

/// Files at least this big are stored as LFS whatever their extension (the hub's 10 MiB rule).
pub const LFS_THRESHOLD: usize = 10 * 1024 * 1024;

/// Extensions the hub's default `.gitattributes` sends to LFS.
const LFS_EXTENSIONS: &[&str] = &[
    "safetensors",
    "bin",
    "gguf",
    "pt",
    "pth",
    "ckpt",
    "h5",
    "onnx",
    "msgpack",
    "model",
];

/// Git's object id of a blob: `sha1("blob <len>\0" + bytes)`.
pub fn git_blob_sha1(bytes: &[u8]) -> String {
    let mut h = Sha1::new();
    h.update(format!("blob {}\0", bytes.len()).as_bytes());
    h.update(bytes);
    hex::encode(h.finalize())
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Whether the hub would store `path` (of `len` bytes) in LFS.
pub fn is_lfs(path: &str, len: usize) -> bool {
    let ext = path.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    len >= LFS_THRESHOLD || LFS_EXTENSIONS.contains(&ext)
}

/// The git-lfs pointer file the repository holds in place of an LFS file.
pub fn lfs_pointer(bytes: &[u8]) -> String {
    format!(
        "version https://git-lfs.github.com/spec/v1\noid sha256:{}\nsize {}\n",
        sha256_hex(bytes),
        bytes.len()
    )
}

/// One repository to serve.
#[derive(Debug, Clone)]
pub struct FakeRepo {
    id: String,
    files: BTreeMap<String, Vec<u8>>,
    gated_token: Option<String>,
    tampered: BTreeSet<String>,
}

impl FakeRepo {
    /// An empty repository `owner/name`.
    pub fn new(id: &str) -> Self {
        Self {
            id: id.to_string(),
            files: BTreeMap::new(),
            gated_token: None,
            tampered: BTreeSet::new(),
        }
    }

    /// Every regular file under `dir` (recursively), named by its `/`-separated relative path.
    pub fn from_dir(id: &str, dir: &Path) -> io::Result<Self> {
        let mut repo = Self::new(id);
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for entry in std::fs::read_dir(&d)? {
                let entry = entry?;
                let path = entry.path();
                if entry.file_type()?.is_dir() {
                    stack.push(path);
                } else if path.is_file() {
                    let rel = path
                        .strip_prefix(dir)
                        .map_err(io::Error::other)?
                        .components()
                        .map(|c| c.as_os_str().to_string_lossy().into_owned())
                        .collect::<Vec<_>>()
                        .join("/");
                    repo.files.insert(rel, std::fs::read(&path)?);
                }
            }
        }
        Ok(repo)
    }

    /// Adds (or replaces) a file.
    pub fn file(mut self, path: &str, bytes: impl Into<Vec<u8>>) -> Self {
        self.files.insert(path.to_string(), bytes.into());
        self
    }

    /// Makes the repository gated: file downloads need `Authorization: Bearer <token>`.
    pub fn gated(mut self, token: &str) -> Self {
        self.gated_token = Some(token.to_string());
        self
    }

    /// Serves `path` with its last byte flipped while advertising the true etag and size (a
    /// corrupted transfer).
    pub fn tampered(mut self, path: &str) -> Self {
        self.tampered.insert(path.to_string());
        self
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn files(&self) -> &BTreeMap<String, Vec<u8>> {
        &self.files
    }

    /// What the hub's cache calls the file: sha256 for LFS files, the git blob sha1 otherwise.
    pub fn etag(&self, path: &str) -> Option<String> {
        let bytes = self.files.get(path)?;
        Some(if is_lfs(path, bytes.len()) {
            sha256_hex(bytes)
        } else {
            git_blob_sha1(bytes)
        })
    }

    /// The commit sha `main` points to (derived from the files).
    pub fn commit(&self) -> String {
        let mut h = Sha1::new();
        h.update(format!("fake-hub commit of {}\n", self.id).as_bytes());
        for path in self.files.keys() {
            let etag = self.etag(path).unwrap_or_default();
            h.update(format!("{path}\0{etag}\n").as_bytes());
        }
        hex::encode(h.finalize())
    }

    /// The bytes sent for `path` (tampered if asked).
    fn served_bytes(&self, path: &str) -> Option<Vec<u8>> {
        let mut bytes = self.files.get(path)?.clone();
        if self.tampered.contains(path) {
            if let Some(last) = bytes.last_mut() {
                *last ^= 0xff;
            }
        }
        Some(bytes)
    }
}

/// A deterministic sharded repository (index + two LFS shards, small JSON files, plus a README
/// and `.gitattributes` a model download does not need). The Python cache-layout fixture of
/// mh-hub is generated against exactly this repository.
pub fn sample_sharded_repo(id: &str) -> FakeRepo {
    let shard = |n: usize, seed: u32| -> Vec<u8> {
        let mut x = seed;
        (0..n)
            .map(|_| {
                x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (x >> 24) as u8
            })
            .collect()
    };
    let shard1 = "model-00001-of-00002.safetensors";
    let shard2 = "model-00002-of-00002.safetensors";
    let index = json!({
        "metadata": {"total_size": 100_000},
        "weight_map": {
            "lm_head.weight": shard2,
            "model.embed_tokens.weight": shard1,
            "model.layers.0.mlp.down_proj.weight": shard1,
            "model.norm.weight": shard2,
        }
    });
    FakeRepo::new(id)
        .file(".gitattributes", "*.safetensors filter=lfs diff=lfs merge=lfs -text\n")
        .file("README.md", "# sample\n\nA repository for hub client tests.\n")
        .file(
            "config.json",
            "{\n  \"architectures\": [\"Qwen2ForCausalLM\"],\n  \"model_type\": \"qwen2\",\n  \"vocab_size\": 512\n}\n",
        )
        .file(
            "generation_config.json",
            "{\n  \"eos_token_id\": 2,\n  \"do_sample\": false\n}\n",
        )
        .file(
            "tokenizer.json",
            "{\n  \"version\": \"1.0\",\n  \"model\": {\"type\": \"BPE\", \"vocab\": {}, \"merges\": []}\n}\n",
        )
        .file(
            "tokenizer_config.json",
            "{\n  \"eos_token\": \"<|im_end|>\",\n  \"chat_template\": \"{{ messages }}\"\n}\n",
        )
        .file(
            "model.safetensors.index.json",
            serde_json::to_string_pretty(&index).unwrap_or_default() + "\n",
        )
        .file(shard1, shard(70_000, 1))
        .file(shard2, shard(30_000, 2))
}

/// Options of [`FakeHub::start_with`].
#[derive(Debug, Clone)]
pub struct FakeHubOptions {
    /// Host name in LFS redirects (same port). The default, `localhost`, makes the storage
    /// another origin than the hub's `127.0.0.1`, as the hub's CDN is: clients must not follow
    /// the redirect for metadata, nor send the token there. `127.0.0.1` makes it the same host.
    pub storage_host: String,
}

impl Default for FakeHubOptions {
    fn default() -> Self {
        Self {
            storage_host: "localhost".into(),
        }
    }
}

/// A running fake hub; stops when dropped.
pub struct FakeHub {
    server: TestServer,
}

struct State {
    repos: BTreeMap<String, FakeRepo>,
    options: FakeHubOptions,
}

impl FakeHub {
    /// Serves `repos` on `127.0.0.1:0`.
    pub fn start(repos: impl IntoIterator<Item = FakeRepo>) -> io::Result<FakeHub> {
        Self::start_with(repos, FakeHubOptions::default())
    }

    pub fn start_with(
        repos: impl IntoIterator<Item = FakeRepo>,
        options: FakeHubOptions,
    ) -> io::Result<FakeHub> {
        let state = Arc::new(State {
            repos: repos.into_iter().map(|r| (r.id.clone(), r)).collect(),
            options,
        });
        let (s1, s2, s3, s4) = (
            Arc::clone(&state),
            Arc::clone(&state),
            Arc::clone(&state),
            Arc::clone(&state),
        );
        let router = Router::new()
            .route("GET", "/api/models/{owner}/{name}", move |req, p| {
                s1.info(req, p, "main")
            })
            .route(
                "GET",
                "/api/models/{owner}/{name}/revision/{revision}",
                move |req, p| s2.info(req, p, p.get("revision")),
            )
            .route("GET", "/lfs-storage/{sha256}", move |req, p| {
                s3.storage(req, p)
            })
            .route(
                "GET",
                "/{owner}/{name}/resolve/{revision}/{*path}",
                move |req, p| s4.resolve(req, p),
            );
        Ok(FakeHub {
            server: TestServer::start(router)?,
        })
    }

    /// The endpoint to give a client (`HF_ENDPOINT`): `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        self.server.url()
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.server.requests()
    }

    pub fn clear_requests(&self) {
        self.server.clear_requests()
    }

    /// Requests for file content: `resolve` and storage URLs (API calls excluded).
    pub fn file_requests(&self) -> Vec<RecordedRequest> {
        self.requests()
            .into_iter()
            .filter(|r| !r.path().starts_with("/api/"))
            .collect()
    }
}

fn hub_error(status: u16, code: &str, message: &str) -> HttpResponse {
    HttpResponse::json(status, &json!({ "error": message }))
        .header("x-error-code", code)
        .header("x-error-message", message)
}

impl State {
    /// The repo and commit for `owner/name` at `revision`, or the hub's error answer.
    fn lookup(
        &self,
        req: &HttpRequest,
        p: &Params,
        revision: &str,
        check_gate: bool,
    ) -> Result<(&FakeRepo, String), HttpResponse> {
        let id = format!("{}/{}", p.get("owner"), p.get("name"));
        let token = req.bearer_token();
        let Some(repo) = self.repos.get(&id) else {
            let status = if token.is_some() { 404 } else { 401 };
            return Err(hub_error(status, "RepoNotFound", "Repository not found"));
        };
        if check_gate {
            if let Some(expected) = &repo.gated_token {
                if token != Some(expected.as_str()) {
                    let status = if token.is_some() { 403 } else { 401 };
                    let message = format!(
                        "Access to model {id} is restricted. You must have access to it and be authenticated to access it. Please log in."
                    );
                    return Err(hub_error(status, "GatedRepo", &message));
                }
            }
        }
        let commit = repo.commit();
        if revision != "main" && revision != commit {
            return Err(hub_error(
                404,
                "RevisionNotFound",
                &format!("Invalid rev id: {revision}"),
            ));
        }
        Ok((repo, commit))
    }

    fn info(&self, req: &HttpRequest, p: &Params, revision: &str) -> HttpResponse {
        let (repo, commit) = match self.lookup(req, p, revision, false) {
            Ok(found) => found,
            Err(answer) => return answer,
        };
        let blobs = req.query_param("blobs").as_deref() == Some("true");
        let siblings: Vec<Value> = repo
            .files
            .iter()
            .map(|(path, bytes)| {
                if !blobs {
                    return json!({ "rfilename": path });
                }
                if is_lfs(path, bytes.len()) {
                    let pointer = lfs_pointer(bytes);
                    json!({
                        "rfilename": path,
                        "blobId": git_blob_sha1(pointer.as_bytes()),
                        "size": bytes.len(),
                        "lfs": {
                            "sha256": sha256_hex(bytes),
                            "size": bytes.len(),
                            "pointerSize": pointer.len(),
                        }
                    })
                } else {
                    json!({
                        "rfilename": path,
                        "blobId": git_blob_sha1(bytes),
                        "size": bytes.len(),
                    })
                }
            })
            .collect();
        let owner = repo.id.split('/').next().unwrap_or("");
        let gated: Value = if repo.gated_token.is_some() {
            json!("manual")
        } else {
            json!(false)
        };
        HttpResponse::json(
            200,
            &json!({
                "_id": format!("fake-{}", &commit[..12]),
                "id": repo.id,
                "modelId": repo.id,
                "author": owner,
                "sha": commit,
                "private": false,
                "gated": gated,
                "disabled": false,
                "lastModified": "2026-01-01T00:00:00.000Z",
                "tags": [],
                "siblings": siblings,
            }),
        )
    }

    fn resolve(&self, req: &HttpRequest, p: &Params) -> HttpResponse {
        let (repo, commit) = match self.lookup(req, p, p.get("revision"), true) {
            Ok(found) => found,
            Err(answer) => return answer,
        };
        let path = p.get("path");
        let Some(bytes) = repo.served_bytes(path) else {
            return hub_error(404, "EntryNotFound", "Entry not found")
                .header("x-repo-commit", commit);
        };
        let true_len = repo.files.get(path).map(Vec::len).unwrap_or(0);
        if is_lfs(path, true_len) {
            let port = req
                .header("host")
                .and_then(|h| h.rsplit_once(':'))
                .map(|(_, port)| port)
                .unwrap_or("80");
            let host = format!("{}:{port}", self.options.storage_host);
            let sha = repo.etag(path).unwrap_or_default();
            let location = format!("http://{host}/lfs-storage/{sha}");
            let pointer = lfs_pointer(repo.files.get(path).map(Vec::as_slice).unwrap_or(&[]));
            return HttpResponse::text(302, &format!("Found. Redirecting to {location}"))
                .header("location", location)
                .header("x-repo-commit", commit)
                .header("x-linked-etag", format!("\"{sha}\""))
                .header("x-linked-size", true_len.to_string())
                .header("etag", format!("\"{}\"", git_blob_sha1(pointer.as_bytes())));
        }
        let etag = repo.etag(path).unwrap_or_default();
        ranged(req, bytes)
            .header("x-repo-commit", commit)
            .header("etag", format!("\"{etag}\""))
    }

    fn storage(&self, req: &HttpRequest, p: &Params) -> HttpResponse {
        let sha = p.get("sha256");
        for repo in self.repos.values() {
            for (path, bytes) in &repo.files {
                if is_lfs(path, bytes.len()) && sha256_hex(bytes) == sha {
                    let served = repo.served_bytes(path).unwrap_or_default();
                    return ranged(req, served).header("etag", format!("\"{sha}\""));
                }
            }
        }
        HttpResponse::text(404, "NoSuchKey")
    }
}

/// `200` with all of `bytes`, or `206`/`416` for a single `Range: bytes=…` request.
fn ranged(req: &HttpRequest, bytes: Vec<u8>) -> HttpResponse {
    let total = bytes.len();
    let base = |status| {
        HttpResponse::new(status)
            .header("content-type", "application/octet-stream")
            .header("accept-ranges", "bytes")
    };
    let Some(range) = req.header("range") else {
        return base(200).body(bytes);
    };
    let parsed = range
        .trim()
        .strip_prefix("bytes=")
        .and_then(|r| r.split_once('-'))
        .and_then(|(a, b)| {
            let (a, b) = (a.trim(), b.trim());
            match (a.is_empty(), b.is_empty()) {
                // bytes=-N: the last N bytes.
                (true, false) => {
                    let n: usize = b.parse().ok()?;
                    Some((total.saturating_sub(n), total.checked_sub(1)?))
                }
                (false, _) => {
                    let start: usize = a.parse().ok()?;
                    let end = if b.is_empty() {
                        total.checked_sub(1)?
                    } else {
                        b.parse::<usize>().ok()?.min(total.checked_sub(1)?)
                    };
                    (start <= end).then_some((start, end))
                }
                (true, true) => None,
            }
        });
    match parsed {
        Some((start, end)) => base(206)
            .header("content-range", format!("bytes {start}-{end}/{total}"))
            .body(bytes[start..=end].to_vec()),
        None => base(416).header("content-range", format!("bytes */{total}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_blob_ids_match_git() {
        // `printf 'hello\n' | git hash-object --stdin`
        assert_eq!(
            git_blob_sha1(b"hello\n"),
            "ce013625030ba8dba906f756967f9e9ca394464a"
        );
        assert_eq!(
            git_blob_sha1(b""),
            "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"
        );
    }

    #[test]
    fn lfs_classification() {
        assert!(is_lfs("model.safetensors", 10));
        assert!(is_lfs("sub/model-00001-of-00002.safetensors", 10));
        assert!(!is_lfs("config.json", 100));
        assert!(is_lfs("big.json", LFS_THRESHOLD));
    }

    #[test]
    fn commit_is_stable_and_content_addressed() {
        let a = sample_sharded_repo("o/n");
        assert_eq!(a.commit(), sample_sharded_repo("o/n").commit());
        assert_eq!(a.commit().len(), 40);
        let b = sample_sharded_repo("o/n").file("config.json", "{}");
        assert_ne!(a.commit(), b.commit());
    }
}
