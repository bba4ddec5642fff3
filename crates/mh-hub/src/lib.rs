//! # mh-hub
//!
//! Turns a model argument into a model directory on disk, fetching from the Hugging Face Hub
//! through the [`hf_hub`] crate into the cache Python's `huggingface_hub` uses.
//!
//! **In:** a spec — an existing directory, or a hub id `owner/name` / `owner/name@revision`
//! (branch, tag or commit) — plus [`HubOptions`] (endpoint, cache directory, token, offline;
//! [`HubOptions::from_env`] reads `HF_ENDPOINT`, `HF_HOME`, `HF_HUB_CACHE`, `HF_HUB_OFFLINE`,
//! `HF_TOKEN` like Python) and a [`mh_profile::Progress`] for download bars.
//!
//! **Out:** a [`ResolvedModel`]: the directory with every file side by side (for hub models
//! `<cache>/models--owner--name/snapshots/<commit>/`), the commit sha, the files, and where
//! they came from ([`ModelSource`]); or a [`HubError`] naming the repository, file and URL that
//! tells apart not found (404), denied/gated (401/403), offline and not cached, and network
//! failure. The token only ever travels in the `Authorization` header.
//!
//! One entry point: [`resolve_model`].
//!
//! ## What is fetched
//! `config.json`, `tokenizer.json`, `tokenizer_config.json` (required);
//! `generation_config.json`, `special_tokens_map.json`, `chat_template.jinja` (when the
//! repository has them); weights: `model.safetensors`, else `model.safetensors.index.json` and
//! every shard it names.
//!
//! ## How
//! Online, one `GET /api/models/{repo}/revision/{rev}?blobs=true` gives the commit and each
//! file's size and hash. A file already in `snapshots/<commit>/` costs nothing more; one whose
//! blob is already cached (shared with another revision) is linked; the rest are downloaded
//! by hf-hub (resumable `.part` files, per-blob lock, relative symlinks), then checked against
//! the advertised size and sha256 (LFS) or git blob id; a mismatch removes the copy.
//! `refs/<revision>` ends up holding the commit, as Python writes it.
//! A commit-sha revision whose snapshot is complete, and offline mode, never touch the network.
//! When the hub cannot be reached (connection, DNS, TLS, HTTP 5xx/429) a complete cached
//! snapshot of the revision is used and [`ResolvedModel::notice`] says so.
//!
//! ## Known limits (from hf-hub 0.4.3's sync client)
//! * Its size probe for LFS files (`GET` with `Range: bytes=0-0`) goes to the storage URL the
//!   hub redirects to *with* the `Authorization` header (its full download drops the header on
//!   a cross-host redirect; Python drops it in both).
//! * It leaves `blobs/<etag>.lock` files next to the blobs (Python keeps its locks in
//!   `<cache>/.locks/`); they are harmless and ignored by Python.
//! * No request timeout: a server that accepts the connection and then stalls stalls the call.

mod cache;
mod error;
mod options;
mod resolve;
mod spec;

pub use cache::{OPTIONAL_FILES, REQUIRED_FILES, WEIGHTS_FILE, WEIGHTS_INDEX_FILE};
pub use error::HubError;
pub use options::{HubOptions, HubToken, DEFAULT_ENDPOINT};
pub use resolve::{resolve_config, resolve_model, ModelSource, ResolvedModel};
pub use spec::{ModelSpec, DEFAULT_REVISION};
