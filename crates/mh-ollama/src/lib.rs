//! # mh-ollama
//!
//! Registers a trained model with [Ollama](https://ollama.com) over its REST API, and always
//! leaves a Modelfile beside the GGUF so the same model can be registered by hand.
//!
//! **In:** a [`ModelSpec`]: the model name ([`ModelName::for_run`] gives the seed's
//! `<user>-<RUN_LABEL>`), the merged GGUF (or an existing Ollama model plus one GGUF adapter),
//! the [`OllamaTemplate`] matching the chat template the model was trained with
//! ([`OllamaTemplate::from_chat_template`]), the system prompt and `num_ctx`.
//! **Out:** a `Modelfile` written atomically beside the GGUF with the exact `ollama create`
//! command ([`ModelSpec::write_modelfile`]), and a registered, verified model
//! ([`OllamaClient::register`] → [`Registered`]).
//!
//! Entry points: [`OllamaClient::from_env`] (honours `OLLAMA_HOST` as the ollama CLI does, see
//! [`host`]) and [`OllamaClient::register`], which
//!
//! 1. checks `GET /api/version` (the files-based `/api/create` needs Ollama 0.5.5+, refused
//!    clearly otherwise);
//! 2. for the GGUF and the adapter: `HEAD /api/blobs/sha256:<digest>` and `POST` only the missing
//!    ones, streamed from disk;
//! 3. `POST /api/create` with `files` / `from`, `adapters`, an explicit Go `template`, `system`
//!    and `parameters` (`stop` tokens of the template, `num_ctx`), reading the NDJSON status
//!    stream — any `{"error": …}` line (HTTP status 200) or a stream without `success` is a
//!    failure;
//! 4. `POST /api/show` and checks the template, system prompt, stop tokens, `num_ctx`, format and
//!    adapter are what was sent.
//!
//! [`OllamaClient::chat`] talks to a registered model (`POST /api/chat`, streamed NDJSON), for
//! `mh-train chat --ollama`. `tags` and `delete` are there for the registry. Connection errors (refused, reset, closed
//! before an answer) and 502/503/504 are retried with a doubling delay; 4xx never. When nothing
//! listens, the error [`is_unreachable`](OllamaError::is_unreachable): keep the written
//! Modelfile and print its command instead.

pub mod api;
pub mod client;
pub mod error;
pub mod host;
pub mod name;
pub mod spec;
pub mod template;

pub use api::{
    ChatMessage, ChatRequest, ChatResponse, CreateRequest, Digest, ListedModel, ModelDetails,
    Progress, ShowResponse, Version,
};
pub use client::{BlobStatus, ClientOptions, OllamaClient};
pub use error::{OllamaError, Result};
pub use host::{OllamaHost, DEFAULT_HOST, OLLAMA_HOST_ENV};
pub use name::{sanitize_model_part, ModelName};
pub use spec::{
    create_command, ModelBase, ModelSpec, Registered, WrittenModelfile, MIN_ADAPTER_VERSION,
    MIN_CREATE_VERSION, MODELFILE_NAME,
};
pub use template::{ChatFamily, OllamaTemplate, TemplateOptions};
