//! # mh-testkit
//!
//! Dev-only helpers for mh-train's tests and benchmarks; never a dependency of shipped crates.
//!
//! * [`demo`]: the committed demo profile and [`copy_dir`] to work on a scratch copy of it.
//! * [`synthetic`]: deterministic, seed-shaped MetaHuman OS profiles of any size
//!   ([`synthetic_profile`]), for scale tests and benchmarks.
//! * [`hostile`]: files a profile reader must survive ([`hostile_episodic_dir`]) and encrypted
//!   `*.json.enc` memory fixtures ([`encrypted_event`]).

pub mod demo;
pub mod hostile;
pub mod synthetic;

pub use demo::{copy_dir, demo_profile};
pub use hostile::{
    encrypted_event, encrypted_events, hostile_episodic_dir, HostileFile, HOSTILE_KINDS,
};
pub use synthetic::{event_path, synthetic_profile, SyntheticStats};
