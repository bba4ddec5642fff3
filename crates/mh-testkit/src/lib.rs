//! # mh-testkit
//!
//! Dev-only helpers for mh-train's tests and benchmarks; never a dependency of shipped crates.
//!
//! * [`demo`]: the committed demo profile and [`copy_dir`] to work on a scratch copy of it.
//! * [`synthetic`]: deterministic, seed-shaped MetaHuman OS profiles of any size
//!   ([`synthetic_profile`]), for scale tests and benchmarks.
//! * [`hostile`]: files a profile reader must survive ([`hostile_episodic_dir`]) and encrypted
//!   `*.json.enc` memory fixtures ([`encrypted_event`]).
//! * [`http`]: a loopback HTTP server ([`TestServer`]) over a method + path [`Router`] that
//!   records every request; the protocol fakes are routers over it.
//! * [`hf_hub`]: a fake Hugging Face Hub ([`FakeHub`]) serving model repositories ([`FakeRepo`])
//!   the way `huggingface.co` does for downloads.
//! * [`ollama`]: a loopback Ollama server ([`FakeOllama`]) for model registration (blobs, create,
//!   show, tags, delete), with faults on demand; plus [`ollama::tiny_gguf`] and
//!   [`ollama::parse_modelfile`].
//! * [`sshd`]: a real OpenSSH server on loopback ([`Sshd`]) standing in for a RunPod pod, with
//!   dropped connections and host key changes on demand.
//! * [`runpod`]: a loopback RunPod ([`FakeRunPod`]) speaking GraphQL and REST v2, with
//!   RunPod's failure modes on demand (no capacity, slow start, ports never appearing,
//!   terminate failing, rate limits, bad keys); it records every pod and its state.

pub mod demo;
pub mod hf_hub;
pub mod hostile;
pub mod http;
pub mod ollama;
pub mod runpod;
pub mod sshd;
pub mod synthetic;

pub use demo::{add_conversations, copy_dir, demo_profile, demo_words};
pub use hf_hub::{FakeHub, FakeHubOptions, FakeRepo};
pub use hostile::{
    encrypted_event, encrypted_events, hostile_episodic_dir, HostileFile, HOSTILE_KINDS,
};
pub use http::{HttpRequest, HttpResponse, RecordedRequest, Router, TestServer};
pub use ollama::{FakeOllama, FakeOllamaOptions};
pub use runpod::{FakeGpu, FakePod, FakeRunPod, FakeRunPodOptions};
pub use sshd::{SshLogin, Sshd};
pub use synthetic::{event_path, synthetic_profile, SyntheticStats};
