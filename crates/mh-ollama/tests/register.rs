//! Registration against the loopback Ollama peer: uploads, create, verification and faults.

use std::path::{Path, PathBuf};
use std::time::Duration;

use mh_ollama::{
    BlobStatus, ClientOptions, CreateRequest, Digest, ModelBase, ModelName, ModelSpec,
    OllamaClient, OllamaError, OllamaTemplate, Progress, TemplateOptions,
};
use mh_testkit::ollama::{tiny_gguf, unreachable_url, Endpoint, Fault};
use mh_testkit::{FakeOllama, FakeOllamaOptions};

const PERSONA: &str =
    "You are Nell's digital personality extension. Speak naturally in first person as Nell.";
const CHATML_JINJA: &str = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";
const LABEL: &str = "2026-01-02-030405-a1b2c3";

fn quick() -> ClientOptions {
    ClientOptions {
        connect_timeout: Duration::from_secs(5),
        timeout: Duration::from_secs(20),
        transfer_timeout: Duration::from_secs(20),
        retries: 2,
        retry_delay: Duration::ZERO,
    }
}

fn client(fake: &FakeOllama) -> OllamaClient {
    OllamaClient::with_base_url(&fake.url(), quick())
}

/// A 64 KiB fake GGUF (Q4_K_M qwen2) in a fresh directory.
fn gguf_in(dir: &Path, name: &str, kind: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, tiny_gguf("qwen2", kind, 15, 64 * 1024)).unwrap();
    path
}

fn spec(gguf: &Path) -> ModelSpec {
    ModelSpec {
        name: ModelName::for_run("nell", LABEL).unwrap(),
        base: ModelBase::Gguf(gguf.to_path_buf()),
        adapter: None,
        template: OllamaTemplate::from_chat_template(CHATML_JINJA, &TemplateOptions::default())
            .unwrap(),
        system: Some(PERSONA.into()),
        num_ctx: Some(4096),
    }
}

fn ignore(_: &Progress) {}

#[test]
fn registers_once_and_reuses_the_blob_the_second_time() {
    let fake = FakeOllama::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let gguf = gguf_in(dir.path(), "model-Q4_K_M.gguf", "model");
    let spec = spec(&gguf);
    let digest = Digest::of_file(&gguf).unwrap();
    let client = client(&fake);

    let mut seen = Vec::new();
    let first = client
        .register(&spec, &mut |p: &Progress| seen.push(p.clone()))
        .unwrap();
    assert_eq!(
        first.blobs,
        vec![(gguf.clone(), digest.clone(), BlobStatus::Uploaded)]
    );
    assert_eq!(fake.uploads(), vec![digest.to_string()]);
    assert_eq!(first.statuses.last().unwrap().status, "success");
    assert!(first.statuses.iter().any(|p| p.status == "parsing GGUF"));
    // Upload progress ends at the file size; the create statuses follow.
    let size = std::fs::metadata(&gguf).unwrap().len();
    let last_upload = seen
        .iter()
        .rfind(|p| p.status.starts_with("uploading"))
        .unwrap();
    assert_eq!(
        (last_upload.completed, last_upload.total),
        (Some(size), Some(size))
    );
    assert_eq!(seen.last().unwrap().status, "success");

    let second = client.register(&spec, &mut ignore).unwrap();
    assert_eq!(second.blobs[0].2, BlobStatus::Present);
    assert_eq!(fake.uploads().len(), 1, "the blob was uploaded again");
    assert_eq!(fake.requests_to("POST", "/api/blobs/").len(), 1);
    assert_eq!(fake.requests_to("HEAD", "/api/blobs/").len(), 2);
    assert_eq!(fake.requests_to("POST", "/api/create").len(), 2);

    let tags = client.tags().unwrap();
    assert_eq!(tags.len(), 1);
    assert!(spec.name.matches(&tags[0].name), "{}", tags[0].name);
    assert_eq!(tags[0].name, format!("nell-{LABEL}:latest"));
    assert_eq!(tags[0].details.family, "qwen2");
}

#[test]
fn show_reports_what_was_sent() {
    let fake = FakeOllama::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let gguf = gguf_in(dir.path(), "model.gguf", "model");
    let spec = spec(&gguf);
    let reg = client(&fake).register(&spec, &mut ignore).unwrap();

    // What went over the wire.
    let sent = fake.create_requests().pop().unwrap();
    let digest = Digest::of_file(&gguf).unwrap();
    assert_eq!(sent["model"], spec.name.as_str());
    assert_eq!(
        sent["files"],
        serde_json::json!({ "model.gguf": digest.as_str() })
    );
    assert_eq!(sent["template"], spec.template.text.as_str());
    assert_eq!(sent["system"], PERSONA);
    assert_eq!(
        sent["parameters"],
        serde_json::json!({ "stop": ["<|im_start|>", "<|im_end|>"], "num_ctx": 4096 })
    );
    assert!(sent.get("adapters").is_none() && sent.get("from").is_none());

    // What the server says it built.
    let show = &reg.show;
    assert_eq!(show.template, spec.template.text);
    assert_eq!(show.system, PERSONA);
    let params = show.parameter_map();
    assert_eq!(params["stop"], vec!["<|im_start|>", "<|im_end|>"]);
    assert_eq!(params["num_ctx"], vec!["4096"]);
    assert_eq!(show.details.format, "gguf");
    assert_eq!(show.details.family, "qwen2");
    assert_eq!(show.details.quantization_level, "Q4_K_M");
    assert_eq!(show.model_info["general.architecture"], "qwen2");
}

#[test]
fn an_error_line_in_the_create_stream_is_a_failure() {
    let fake = FakeOllama::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let spec = spec(&gguf_in(dir.path(), "model.gguf", "model"));
    fake.fail_next(
        Endpoint::Create,
        Fault::ErrorMidStream("llama runner process has terminated".into()),
    );

    let err = client(&fake).register(&spec, &mut ignore).unwrap_err();
    match &err {
        OllamaError::CreateFailed {
            model,
            message,
            url,
        } => {
            assert_eq!(model, spec.name.as_str());
            assert_eq!(message, "llama runner process has terminated");
            assert_eq!(url, &format!("{}/api/create", fake.url()));
        }
        other => panic!("expected CreateFailed, got {other:?}"),
    }
    assert!(err.to_string().contains(spec.name.as_str()), "{err}");
    // The stream was HTTP 200 with lines before the error, and nothing was kept.
    let create = fake.requests_to("POST", "/api/create");
    assert_eq!(
        create.len(),
        1,
        "a create that reported an error must not be retried"
    );
    assert_eq!(create[0].status, 200);
    assert!(fake.model_names().is_empty());
}

#[test]
fn a_stream_without_success_is_a_failure() {
    let fake = FakeOllama::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let spec = spec(&gguf_in(dir.path(), "model.gguf", "model"));
    fake.fail_next(Endpoint::Create, Fault::EndWithoutSuccess);
    match client(&fake).register(&spec, &mut ignore).unwrap_err() {
        OllamaError::StreamEnded { last, model, .. } => {
            assert_eq!(last.as_deref(), Some("writing manifest"));
            assert_eq!(model, spec.name.as_str());
        }
        other => panic!("expected StreamEnded, got {other:?}"),
    }
}

#[test]
fn create_with_a_blob_the_server_does_not_have_fails() {
    let fake = FakeOllama::start().unwrap();
    let client = client(&fake);
    let never_uploaded = Digest::of_bytes(b"not on the server");
    let mut req = CreateRequest {
        model: "nell-missing".into(),
        template: Some("{{ .Prompt }}".into()),
        stream: true,
        ..Default::default()
    };
    req.files
        .insert("model.gguf".into(), never_uploaded.clone());
    match client.create(&req, &mut ignore).unwrap_err() {
        OllamaError::CreateFailed { message, model, .. } => {
            assert_eq!(model, "nell-missing");
            assert!(
                message.contains(&format!("sha256-{}", never_uploaded.hex()))
                    && message.contains("no such file or directory"),
                "{message}"
            );
        }
        other => panic!("expected CreateFailed, got {other:?}"),
    }

    // The same for an adapter whose blob is missing, on top of an existing base.
    let dir = tempfile::tempdir().unwrap();
    client
        .register(
            &spec(&gguf_in(dir.path(), "base.gguf", "model")),
            &mut ignore,
        )
        .unwrap();
    let mut req = CreateRequest {
        model: "nell-adapter".into(),
        from: Some(format!("nell-{LABEL}")),
        stream: true,
        ..Default::default()
    };
    req.adapters.insert("adapter.gguf".into(), never_uploaded);
    let err = client.create(&req, &mut ignore).unwrap_err();
    assert!(matches!(err, OllamaError::CreateFailed { .. }), "{err:?}");
    assert!(!fake
        .model_names()
        .iter()
        .any(|n| n.starts_with("nell-adapter")));
}

#[test]
fn client_errors_are_reported_and_not_retried() {
    let fake = FakeOllama::start().unwrap();
    let client = client(&fake);
    let req = CreateRequest {
        model: "not a valid name".into(),
        from: Some("whatever".into()),
        stream: true,
        ..Default::default()
    };
    match client.create(&req, &mut ignore).unwrap_err() {
        OllamaError::CreateFailed { message, .. } => {
            assert_eq!(message, "HTTP 400: invalid model name")
        }
        other => panic!("expected CreateFailed, got {other:?}"),
    }
    assert_eq!(fake.requests_to("POST", "/api/create").len(), 1);

    // A blob whose bytes are not what its digest says: 400 digest mismatch.
    let dir = tempfile::tempdir().unwrap();
    let gguf = gguf_in(dir.path(), "model.gguf", "model");
    let wrong = Digest::of_bytes(b"something else");
    match client.upload_blob(&gguf, &wrong, &mut ignore).unwrap_err() {
        OllamaError::Status {
            status,
            message,
            url,
            ..
        } => {
            assert_eq!(status, 400);
            assert!(message.starts_with("digest mismatch"), "{message}");
            assert!(url.ends_with(wrong.as_str()), "{url}");
        }
        other => panic!("expected Status, got {other:?}"),
    }
    assert_eq!(fake.requests_to("POST", "/api/blobs/").len(), 1);
    assert!(!fake.has_blob(wrong.as_str()));

    // 500 is not retried either.
    fake.fail_next(Endpoint::Show, Fault::Status(500, "boom".into()));
    let err = client.show("anything").unwrap_err();
    assert!(
        matches!(err, OllamaError::Status { status: 500, .. }),
        "{err:?}"
    );
    assert_eq!(fake.requests_to("POST", "/api/show").len(), 1);
}

#[test]
fn no_server_is_a_clear_unreachable_error() {
    let url = unreachable_url();
    let client = OllamaClient::with_base_url(
        &url,
        ClientOptions {
            retries: 1,
            ..quick()
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let spec = spec(&gguf_in(dir.path(), "model.gguf", "model"));
    // What a caller does: the Modelfile is always written first…
    let written = spec.write_modelfile().unwrap();
    // …and when registration cannot reach Ollama, the command is what it prints.
    let err = client.register(&spec, &mut ignore).unwrap_err();
    assert!(err.is_unreachable(), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains(&url) && text.contains("no Ollama server is reachable"),
        "{text}"
    );
    assert_eq!(
        written.command,
        format!("ollama create nell-{LABEL} -f {}", written.path.display())
    );
    assert!(written.path.is_file());

    // A server that stops listening gives the same error to a new client.
    let fake = FakeOllama::start().unwrap();
    fake.refuse_connections();
    let err = client_for(&fake).version().unwrap_err();
    assert!(err.is_unreachable(), "{err:?}");
}

fn client_for(fake: &FakeOllama) -> OllamaClient {
    OllamaClient::with_base_url(&fake.url(), quick())
}

#[test]
fn dropped_connections_are_retried() {
    let fake = FakeOllama::start().unwrap();
    fake.drop_next_connections(1);
    let v = client(&fake).version().unwrap();
    assert_eq!(v.raw, "0.13.5");
    assert_eq!(fake.dropped_connections(), 1);
    assert_eq!(fake.requests_to("GET", "/api/version").len(), 1);

    // An upload whose connection drops is sent again, whole, from the file.
    let dir = tempfile::tempdir().unwrap();
    let gguf = gguf_in(dir.path(), "model.gguf", "model");
    let digest = Digest::of_file(&gguf).unwrap();
    fake.drop_next_connections(1);
    client(&fake)
        .upload_blob(&gguf, &digest, &mut ignore)
        .unwrap();
    assert_eq!(fake.dropped_connections(), 2);
    assert_eq!(fake.uploads(), vec![digest.to_string()]);

    // Retries run out: a connection error (not "unreachable": something listens).
    fake.drop_next_connections(10);
    let err = client(&fake).version().unwrap_err();
    assert!(matches!(err, OllamaError::Connection { .. }), "{err:?}");
    assert_eq!(fake.dropped_connections(), 2 + 3, "1 try + 2 retries");

    // 503 is retried too.
    let fake = FakeOllama::start().unwrap();
    fake.fail_next(Endpoint::Version, Fault::Status(503, "server busy".into()));
    client(&fake).version().unwrap();
    assert_eq!(fake.requests_to("GET", "/api/version").len(), 2);
}

#[test]
fn a_silent_server_times_out() {
    let fake = FakeOllama::start().unwrap();
    fake.hang_next_connections(1);
    let client = OllamaClient::with_base_url(
        &fake.url(),
        ClientOptions {
            timeout: Duration::from_millis(300),
            ..quick()
        },
    );
    match client.version().unwrap_err() {
        OllamaError::Timeout { url, op, after } => {
            assert!(url.ends_with("/api/version"), "{url}");
            assert_eq!(op, "GET /api/version");
            assert_eq!(after, Duration::from_millis(300));
        }
        other => panic!("expected Timeout, got {other:?}"),
    }
    assert!(fake.requests_to("GET", "/api/version").is_empty());
}

#[test]
fn old_servers_are_refused_before_anything_is_sent() {
    let fake = FakeOllama::start_with(FakeOllamaOptions {
        version: "0.5.4".into(),
    })
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let spec = spec(&gguf_in(dir.path(), "model.gguf", "model"));
    match client(&fake).register(&spec, &mut ignore).unwrap_err() {
        OllamaError::VersionTooOld {
            found, required, ..
        } => {
            assert_eq!((found.as_str(), required.as_str()), ("0.5.4", "0.5.5"));
        }
        other => panic!("expected VersionTooOld, got {other:?}"),
    }
    assert!(fake.requests_to("HEAD", "/api/blobs/").is_empty());
    assert!(fake.requests_to("POST", "/api/create").is_empty());
}

#[test]
fn adapters_on_an_existing_model() {
    let fake = FakeOllama::start().unwrap();
    let client = client(&fake);
    let dir = tempfile::tempdir().unwrap();
    let base = spec(&gguf_in(dir.path(), "base.gguf", "model"));
    client.register(&base, &mut ignore).unwrap();

    let adapter = gguf_in(dir.path(), "adapter.gguf", "adapter");
    let with_adapter = ModelSpec {
        name: ModelName::parse("nell-adapted").unwrap(),
        base: ModelBase::Existing(base.name.to_string()),
        adapter: Some(adapter.clone()),
        ..base.clone()
    };
    let reg = client.register(&with_adapter, &mut ignore).unwrap();
    let digest = Digest::of_file(&adapter).unwrap();
    assert_eq!(
        reg.blobs,
        vec![(adapter.clone(), digest.clone(), BlobStatus::Uploaded)]
    );
    let sent = fake.create_requests().pop().unwrap();
    assert_eq!(sent["from"], base.name.as_str());
    assert_eq!(
        sent["adapters"],
        serde_json::json!({ "adapter.gguf": digest.as_str() })
    );
    assert!(reg.show.modelfile.contains(&format!(
        "ADAPTER /root/.ollama/models/blobs/sha256-{}",
        digest.hex()
    )));
    assert_eq!(
        reg.show.details.parent_model,
        format!("nell-{LABEL}:latest")
    );

    // A full model passed as the adapter (the seed's "dual" Modelfile) is caught by the check.
    let not_adapter = gguf_in(dir.path(), "merged.gguf", "model");
    let wrong = ModelSpec {
        name: ModelName::parse("nell-dual").unwrap(),
        adapter: Some(not_adapter),
        ..with_adapter.clone()
    };
    match client.register(&wrong, &mut ignore).unwrap_err() {
        OllamaError::Mismatch { field, model, .. } => {
            assert_eq!(field, "modelfile ADAPTER");
            assert_eq!(model, "nell-dual");
        }
        other => panic!("expected Mismatch, got {other:?}"),
    }

    // Adapters need a files-API server as well.
    let old = FakeOllama::start_with(FakeOllamaOptions {
        version: "0.4.7".into(),
    })
    .unwrap();
    let err = client_for(&old)
        .register(&with_adapter, &mut ignore)
        .unwrap_err();
    assert!(matches!(err, OllamaError::VersionTooOld { .. }), "{err:?}");
}

#[test]
fn delete_and_missing_models() {
    let fake = FakeOllama::start().unwrap();
    let client = client(&fake);
    let dir = tempfile::tempdir().unwrap();
    let spec = spec(&gguf_in(dir.path(), "model.gguf", "model"));
    client.register(&spec, &mut ignore).unwrap();
    client.delete(spec.name.as_str()).unwrap();
    assert!(client.tags().unwrap().is_empty());
    let err = client.delete(spec.name.as_str()).unwrap_err();
    assert!(
        matches!(&err, OllamaError::ModelNotFound { model, .. } if model == spec.name.as_str()),
        "{err:?}"
    );
    let err = client.show(spec.name.as_str()).unwrap_err();
    assert!(matches!(err, OllamaError::ModelNotFound { .. }), "{err:?}");
}

#[test]
fn sanitised_names_are_accepted_by_the_server() {
    let fake = FakeOllama::start().unwrap();
    let client = client(&fake);
    let dir = tempfile::tempdir().unwrap();
    let gguf = gguf_in(dir.path(), "model.gguf", "model");
    for user in [
        "  Zoë O'Brien!! ",
        "Ωμέγα",
        &"long-user-name".repeat(10),
        "-_-",
    ] {
        let name = ModelName::for_run(user, LABEL).unwrap();
        assert!(name.as_str().ends_with(LABEL), "{name}");
        assert!(name.as_str().len() <= 80, "{name}");
        let spec = ModelSpec {
            name,
            ..spec(&gguf)
        };
        client.register(&spec, &mut ignore).unwrap();
    }
    let mut names = fake.model_names();
    names.sort();
    assert_eq!(names.len(), 4, "{names:?}");
    assert!(
        names.contains(&format!("zo-o-brien-{LABEL}:latest")),
        "{names:?}"
    );
    assert!(names.contains(&format!("user-{LABEL}:latest")), "{names:?}");
    assert!(names.contains(&format!("_-{LABEL}:latest")), "{names:?}");
}
