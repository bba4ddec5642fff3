//! The Modelfile written beside the GGUF: exact text, and that Ollama's parser reads it as the
//! same model the REST request describes.

use std::path::Path;

use mh_ollama::{
    ChatFamily, Digest, ModelBase, ModelName, ModelSpec, OllamaError, OllamaTemplate,
    MODELFILE_NAME,
};
use mh_testkit::ollama::{parse_modelfile, tiny_gguf, ModelfileCommand};

const PERSONA: &str =
    "You are Nell's digital personality extension.\nSpeak naturally in first person as \"Nell\".";

fn spec_for(family: ChatFamily, gguf: &Path) -> ModelSpec {
    ModelSpec {
        name: ModelName::parse("nell-2026-01-02-030405-a1b2c3").unwrap(),
        base: ModelBase::Gguf(gguf.to_path_buf()),
        adapter: None,
        template: OllamaTemplate::for_family(family),
        system: Some(PERSONA.into()),
        num_ctx: Some(2048),
    }
}

fn write_gguf(dir: &Path, name: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, tiny_gguf("llama", "model", 1, 16)).unwrap();
    p
}

fn args<'a>(cmds: &'a [ModelfileCommand], name: &str) -> Vec<&'a str> {
    cmds.iter()
        .filter(|c| c.name == name)
        .map(|c| c.args.as_str())
        .collect()
}

#[test]
fn chatml_modelfile_text() {
    let dir = tempfile::tempdir().unwrap();
    let gguf = write_gguf(dir.path(), "model-Q4_K_M.gguf");
    let written = spec_for(ChatFamily::ChatMl, &gguf)
        .write_modelfile()
        .unwrap();
    assert_eq!(written.path, dir.path().join(MODELFILE_NAME));
    let text = std::fs::read_to_string(&written.path).unwrap();
    let expected = concat!(
        "# Ollama Modelfile for nell-2026-01-02-030405-a1b2c3, written by mh-train (template: chatml).\n",
        "# Register it with: ollama create nell-2026-01-02-030405-a1b2c3 -f Modelfile\n",
        "FROM ./model-Q4_K_M.gguf\n",
        "TEMPLATE \"\"\"{{- range .Messages }}<|im_start|>{{ .Role }}\n",
        "{{ .Content }}<|im_end|>\n",
        "{{ end }}<|im_start|>assistant\n",
        "\"\"\"\n",
        "SYSTEM \"\"\"You are Nell's digital personality extension.\n",
        "Speak naturally in first person as \"Nell\".\"\"\"\n",
        "PARAMETER stop \"<|im_start|>\"\n",
        "PARAMETER stop \"<|im_end|>\"\n",
        "PARAMETER num_ctx 2048\n",
    );
    assert_eq!(text, expected);
    // Atomic: nothing but the GGUF and the Modelfile in the directory.
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["Modelfile", "model-Q4_K_M.gguf"]);
}

/// For every family: the Modelfile, read by Ollama's parser rules, carries exactly the template,
/// system prompt and parameters of the REST request.
#[test]
fn every_family_round_trips_through_the_modelfile_parser() {
    let dir = tempfile::tempdir().unwrap();
    let gguf = write_gguf(dir.path(), "model.gguf");
    let digest = Digest::of_file(&gguf).unwrap();
    for family in ChatFamily::ALL {
        let spec = spec_for(family, &gguf);
        let written = spec.write_modelfile().unwrap();
        let cmds = parse_modelfile(&std::fs::read_to_string(&written.path).unwrap())
            .unwrap_or_else(|e| panic!("{family:?}: {e}"));
        let req = spec.create_request(Some(&digest), None).unwrap();
        assert_eq!(args(&cmds, "model"), ["./model.gguf"], "{family:?}");
        assert_eq!(req.files.keys().collect::<Vec<_>>(), ["model.gguf"]);
        assert_eq!(
            args(&cmds, "template"),
            [req.template.as_deref().unwrap()],
            "{family:?}"
        );
        assert_eq!(args(&cmds, "system"), [PERSONA], "{family:?}");
        let stops: Vec<&str> = req.parameters["stop"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(args(&cmds, "stop"), stops, "{family:?}");
        assert_eq!(stops, family.stop_tokens(), "{family:?}");
        assert_eq!(args(&cmds, "num_ctx"), ["2048"], "{family:?}");
        assert!(args(&cmds, "adapter").is_empty());
    }
}

#[test]
fn adapter_and_existing_base() {
    let dir = tempfile::tempdir().unwrap();
    let adapter = write_gguf(dir.path(), "adapter.gguf");
    let spec = ModelSpec {
        base: ModelBase::Existing("qwen2.5:0.5b".into()),
        adapter: Some(adapter.clone()),
        system: None,
        num_ctx: None,
        ..spec_for(ChatFamily::ChatMl, &adapter)
    };
    let written = spec.write_modelfile().unwrap();
    assert_eq!(written.path, dir.path().join("Modelfile"));
    let cmds = parse_modelfile(&std::fs::read_to_string(&written.path).unwrap()).unwrap();
    assert_eq!(args(&cmds, "model"), ["qwen2.5:0.5b"]);
    assert_eq!(args(&cmds, "adapter"), ["./adapter.gguf"]);
    assert!(args(&cmds, "system").is_empty() && args(&cmds, "num_ctx").is_empty());
    let d = Digest::of_file(&adapter).unwrap();
    let req = spec.create_request(None, Some(&d)).unwrap();
    assert_eq!(req.from.as_deref(), Some("qwen2.5:0.5b"));
    assert_eq!(req.adapters.get("adapter.gguf"), Some(&d));
    assert!(req.files.is_empty());
}

#[test]
fn files_elsewhere_are_referenced_by_absolute_path() {
    let dir = tempfile::tempdir().unwrap();
    let gguf = write_gguf(dir.path(), "model.gguf");
    let other = dir.path().join("sub dir");
    let spec = spec_for(ChatFamily::Gemma, &gguf);
    let written = spec.write_modelfile_at(&other.join("Modelfile")).unwrap();
    let cmds = parse_modelfile(&std::fs::read_to_string(&written.path).unwrap()).unwrap();
    assert_eq!(args(&cmds, "model"), [gguf.to_str().unwrap()]);
    assert_eq!(
        written.command,
        format!(
            "ollama create nell-2026-01-02-030405-a1b2c3 -f '{}'",
            written.path.display()
        )
    );
}

#[test]
fn what_a_modelfile_cannot_carry_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let gguf = write_gguf(dir.path(), "model.gguf");
    let mut spec = spec_for(ChatFamily::Phi3, &gguf);
    spec.system = Some("quote \"\"\" inside".into());
    let err = spec.write_modelfile().unwrap_err();
    assert!(
        matches!(&err, OllamaError::Modelfile { field, .. } if field == "SYSTEM"),
        "{err:?}"
    );
    assert!(
        !dir.path().join("Modelfile").exists(),
        "a refused Modelfile was written"
    );

    let mut spec = spec_for(ChatFamily::Phi3, &gguf);
    spec.base = ModelBase::Existing("base".into());
    assert!(spec.write_modelfile().is_err(), "no GGUF to write beside");
}

#[test]
fn default_system_prompt_is_sent_when_none_is_given() {
    let qwen = "{%- if messages[0]['role'] == 'system' %}{{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}{%- else %}{{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\\n' }}{%- endif %}";
    let template = OllamaTemplate::from_chat_template(qwen, &Default::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let gguf = write_gguf(dir.path(), "model.gguf");
    let mut spec = ModelSpec {
        template,
        ..spec_for(ChatFamily::ChatMl, &gguf)
    };
    spec.system = None;
    assert_eq!(
        spec.effective_system(),
        Some("You are Qwen, created by Alibaba Cloud. You are a helpful assistant.")
    );
    spec.system = Some("persona".into());
    assert_eq!(spec.effective_system(), Some("persona"));
}
