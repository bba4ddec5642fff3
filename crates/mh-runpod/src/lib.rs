//! # mh-runpod
//!
//! RunPod pods for remote training, built so a pod never outlives the run that rented it.
//!
//! **In:** an API key ([`ApiKey`]: `RUNPOD_API_KEY` or a 0600 credentials file), a base model's
//! `config.json` and training shape (for [`plan`]), a profile (for the [`ledger`]) and an SSH key.
//!
//! **Out:** pods created, watched and terminated through [`PodApi`] (GraphQL at
//! `RUNPOD_API_URL`, or REST v2 at `RUNPOD_REST_URL`), every pod recorded in
//! `<profile>/out/pods.json` before it exists; files moved to and from a pod over SFTP with
//! sha256 checks ([`ssh`]); a detached job on the pod followed across SSH drops.
//!
//! The orchestration (dataset → pod → upload → train → download → terminate) lives in
//! `mh-runtime`; this crate supplies the parts.

pub mod api;
pub mod credentials;
pub mod graphql;
pub mod guard;
pub mod ledger;
pub mod plan;
pub mod rest;
pub mod ssh;
mod transport;

pub use api::{
    connect, ApiError, ApiKind, ClientOptions, CloudType, CreatePod, GpuType, Pod, PodApi, PodPort,
    PodStatus, StockStatus,
};
pub use credentials::{ApiKey, CredentialsError};
pub use graphql::GraphQlApi;
pub use guard::{reap, GuardOptions, Offer, PodError, PodGuard, Reaped};
pub use ledger::{EntryState, Ledger, LedgerEntry};
pub use rest::RestApi;
