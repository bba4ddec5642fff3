//! # mh-profile
//!
//! A person's MetaHuman OS profile on disk, read exactly as the seed writes it.
//!
//! **In:** a profile directory (`--profile DIR`), or a MetaHuman root plus a user name resolved
//! through `persona/users.json` ([`ProfileSpec`]).
//! **Out:** typed records — episodic memories at any depth (decrypting `*.json.enc` when given a
//! passphrase), curated conversations, therapy sessions, legacy instruction pairs, persona, chat
//! buffers — each with its path, plus a [`ReadError`] for every file that could not be read;
//! typed configs with the seed's defaults that keep unknown keys on rewrite ([`config`]); the
//! audit log ([`AuditLog`]); crash-safe writes ([`atomic_write`]) and the per-profile writer lock
//! ([`ProfileLock`]).
//!
//! Upstream of every other crate; depends on none of them.

pub mod atomic;
pub mod audit;
mod check;
pub mod config;
pub mod crypto;
mod error;
pub mod lock;
pub mod memory;
mod profile;
pub mod progress;
pub mod resolve;
mod run_label;

pub use atomic::{atomic_write, atomic_write_json, atomic_write_with};
pub use audit::{AuditEvent, AuditLog};
pub use check::{EncryptedSummary, ProfileCheck};
pub use error::ProfileError;
pub use lock::{LockError, ProfileLock};
pub use memory::*;
pub use profile::{Profile, Scan, DEFAULT_MAX_FILE_BYTES};
pub use progress::{NoProgress, Progress};
pub use resolve::{ProfileSpec, ResolvedProfile};
pub use run_label::{is_run_label, run_label};
