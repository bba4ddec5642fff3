//! The dataset stage on real profile layouts: the demo profile, small hand-made profiles for
//! each rule, encrypted memories and a directory of hostile files.

use std::fs;
use std::path::Path;

use mh_dataset::{build, config, export, DatasetConfig, Format, Mode, Role, Sample};
use mh_profile::config::DatasetRequirements;
use mh_profile::{NoProgress, Profile};
use serde_json::json;

fn demo_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    mh_testkit::copy_dir(&mh_testkit::demo_profile(), dir.path()).unwrap();
    dir
}

fn build_default(root: &Path) -> mh_dataset::Built {
    let (config, req) = config::load(root, None).unwrap();
    build(&Profile::at(root), &config, &req, &NoProgress).unwrap()
}

fn all(b: &mh_dataset::Built) -> Vec<&Sample> {
    b.train.iter().chain(&b.eval).collect()
}

/// Write an episodic event at the seed's path for its timestamp.
fn event(root: &Path, id: &str, value: serde_json::Value) {
    let dir = root.join("memory/episodic/2026/05/01");
    fs::create_dir_all(&dir).unwrap();
    let mut v = value;
    v["id"] = json!(id);
    v.as_object_mut()
        .unwrap()
        .entry("timestamp")
        .or_insert(json!("2026-05-01T10:00:00.000Z"));
    fs::write(
        dir.join(format!("{id}-x.json")),
        serde_json::to_vec_pretty(&v).unwrap(),
    )
    .unwrap();
}

fn conversation(user: &str, assistant: &str, mode: &str) -> serde_json::Value {
    json!({"type": "conversation", "content": format!("User: {user}\n\nAssistant: {assistant}"),
           "tags": [], "metadata": {"cognitiveMode": mode}})
}

fn no_gates() -> DatasetRequirements {
    DatasetRequirements {
        min_samples: 0,
        ..Default::default()
    }
}

fn plain_config() -> DatasetConfig {
    DatasetConfig {
        eval_fraction: 0.0,
        ..DatasetConfig::default()
    }
}

fn ids(b: &mh_dataset::Built) -> Vec<String> {
    let mut v: Vec<String> = all(b).iter().map(|s| s.id.clone()).collect();
    v.sort();
    v
}

#[test]
fn demo_profile_builds_identically_twice_and_differently_with_another_seed() {
    let profile = demo_copy();
    let (mut config, req) = config::load(profile.path(), None).unwrap();
    config.seed = 7;
    let out = tempfile::tempdir().unwrap();
    let write = |name: &str, config: &DatasetConfig| {
        let built = build(&Profile::at(profile.path()), config, &req, &NoProgress).unwrap();
        export::write(&out.path().join(name), &built, config, Format::Chat, false).unwrap();
        built
    };
    let a = write("a", &config);
    write("b", &config);
    for f in ["train.jsonl", "eval.jsonl", "report.json"] {
        let x = fs::read(out.path().join("a").join(f)).unwrap();
        let y = fs::read(out.path().join("b").join(f)).unwrap();
        assert!(x == y, "{f} differs between identical runs");
        assert!(x.ends_with(b"\n"));
    }
    config.seed = 8;
    write("c", &config);
    assert_ne!(
        fs::read(out.path().join("a/train.jsonl")).unwrap(),
        fs::read(out.path().join("c/train.jsonl")).unwrap()
    );

    let r = &a.report;
    assert!(
        r.samples >= 250,
        "demo should give a few hundred samples, got {}",
        r.samples
    );
    assert_eq!(r.samples, r.train + r.eval);
    assert!(r.eval > 0 && r.errors.is_empty(), "{:?}", r.errors);
    for reason in [
        "feedback",
        "feedback_target",
        "negative_feedback",
        "exact_duplicate",
        "near_duplicate",
        "curator_error",
        "curator_rejected",
        "superseded_by_curated",
    ] {
        assert!(
            r.dropped.count(reason) > 0,
            "demo profile exercises {reason}"
        );
    }
    assert!(r.gates.passed, "{:?}", r.gates);
    // The person's name, never the seed's hard-coded one.
    for s in all(&a) {
        let sys = mh_dataset::with_system_prompt(s, &config, &a.person);
        assert!(sys[0].content.contains("Nell Ashcombe") && !sys[0].content.contains("Greg"));
    }
    // Every line validates.
    let v = export::validate_file(&out.path().join("a/train.jsonl")).unwrap();
    assert!(v.problems.is_empty(), "{:?}", v.problems);
    assert_eq!(v.lines, a.train.len());
}

#[test]
fn negative_feedback_excludes_itself_and_its_target() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    event(
        root,
        "evt-target",
        conversation(
            "Do you like herring?",
            "Pickled herring is the best thing in the world, honestly.",
            "emulation",
        ),
    );
    event(
        root,
        "evt-keep",
        conversation(
            "Where is Otto?",
            "Asleep on the couch, pretending the vacuum is not real.",
            "emulation",
        ),
    );
    event(
        root,
        "evt-fb",
        json!({"type": "observation", "content": "[Feedback: Negative] wrong",
        "tags": ["feedback", "training-data"], "metadata": {"reinforcementSignal": -1, "targetId": "evt-target"}}),
    );
    event(
        root,
        "evt-self",
        json!({"type": "conversation", "content": "User: hi\n\nAssistant: I do not like this reply at all, drop it.",
        "metadata": {"reinforcementSignal": -1}}),
    );
    let b = build(
        &Profile::at(root),
        &plain_config(),
        &no_gates(),
        &NoProgress,
    )
    .unwrap();
    assert_eq!(ids(&b), ["evt-keep"]);
    assert_eq!(b.report.dropped.count("feedback_target"), 1);
    assert_eq!(b.report.dropped.count("feedback"), 1);
    assert_eq!(b.report.dropped.count("negative_feedback"), 1);
}

#[test]
fn dual_mode_inverts_roles_and_emulation_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    event(
        root,
        "evt-dual",
        conversation(
            "I tuned the Steinway today. Unisons were clean.",
            "That sounds like a satisfying day of work.",
            "dual",
        ),
    );
    event(
        root,
        "evt-emu",
        conversation(
            "How was the recital?",
            "The unisons were very clean, and nobody coughed during the quiet bit.",
            "emulation",
        ),
    );
    event(
        root,
        "evt-refl",
        json!({"type": "reflection", "content": "Close enough for folk music is a real standard, not an excuse."}),
    );
    let mut config = plain_config();
    config.type_percentages.insert("reflection".into(), 100.0);
    let b = build(&Profile::at(root), &config, &no_gates(), &NoProgress).unwrap();
    let get = |id: &str| all(&b).into_iter().find(|s| s.id == id).unwrap().clone();
    let dual = get("evt-dual");
    assert_eq!(dual.mode, Mode::Dual);
    assert_eq!(dual.messages[0].role, Role::User);
    assert_eq!(
        dual.messages[0].content,
        "That sounds like a satisfying day of work."
    );
    assert_eq!(
        dual.messages[1].content,
        "I tuned the Steinway today. Unisons were clean."
    );
    let emu = get("evt-emu");
    assert_eq!(emu.mode, Mode::Emulation);
    assert_eq!(emu.messages[0].content, "How was the recital?");
    // A content-only reflection is dual by type, but its text is the answer, not the prompt.
    let refl = get("evt-refl");
    assert_eq!(refl.mode, Mode::Dual);
    assert_eq!(
        refl.messages[1].content,
        "Close enough for folk music is a real standard, not an excuse."
    );
}

#[test]
fn curated_verdicts_override_raw_memories() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    event(
        root,
        "evt-a",
        conversation(
            "raw question a",
            "raw answer a that is long enough",
            "emulation",
        ),
    );
    event(
        root,
        "evt-b",
        conversation(
            "raw question b",
            "raw answer b that is long enough",
            "emulation",
        ),
    );
    event(
        root,
        "evt-c",
        conversation(
            "raw question c",
            "raw answer c that is long enough",
            "emulation",
        ),
    );
    let cur = root.join("memory/curated/conversations");
    fs::create_dir_all(&cur).unwrap();
    let write =
        |name: &str, v: serde_json::Value| fs::write(cur.join(name), v.to_string()).unwrap();
    // Legacy file (no cognitiveMode): used, and dual.
    write(
        "2026-05-01-evt-a.json",
        json!({"id": "evt-a", "userMessage": "the curated line Nell said a",
        "assistantResponse": "curated answer a, long enough", "suitableForTraining": true, "memoryType": "conversation"}),
    );
    write(
        "2026-05-01-evt-b.json",
        json!({"id": "evt-b", "suitableForTraining": false, "rejectionReason": "low-quality", "cognitiveMode": "emulation"}),
    );
    write(
        "2026-05-01-evt-c.json",
        json!({"id": "evt-c", "flags": ["curator-error"], "suitableForTraining": false}),
    );
    let b = build(
        &Profile::at(root),
        &plain_config(),
        &no_gates(),
        &NoProgress,
    )
    .unwrap();
    let samples = all(&b);
    let a = samples.iter().find(|s| s.id == "evt-a").unwrap();
    assert_eq!(a.mode, Mode::Dual);
    assert_eq!(a.messages[1].content, "the curated line Nell said a"); // dual: the person's line is the answer
    assert!(
        !samples.iter().any(|s| s.id == "evt-b"),
        "rejected by the curator"
    );
    let c = samples
        .iter()
        .find(|s| s.id == "evt-c")
        .unwrap_or_else(|| panic!("{:?}", b.report.dropped));
    assert_eq!(
        c.messages[1].content, "raw answer c that is long enough",
        "curator error keeps the raw memory"
    );
    assert_eq!(b.report.dropped.count("curator_error"), 1);
    assert_eq!(b.report.dropped.count("curator_rejected_source"), 1);
}

#[test]
fn cleaning_strips_fillers_caps_words_and_drops_short_answers() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let long = (0..80)
        .map(|i| format!("w{i}"))
        .collect::<Vec<_>>()
        .join(" ");
    event(
        root,
        "evt-filler",
        conversation(
            "Plan for Sunday?",
            "Okay, so   Lakewalk with Otto, then pancakes.",
            "emulation",
        ),
    );
    event(
        root,
        "evt-long",
        conversation("Tell me everything.", &long, "emulation"),
    );
    event(
        root,
        "evt-short",
        conversation("Hm?", "Noted.", "emulation"),
    );
    let mut config = plain_config();
    config.long_form_share = 0.0;
    let b = build(&Profile::at(root), &config, &no_gates(), &NoProgress).unwrap();
    let get = |id: &str| {
        all(&b)
            .into_iter()
            .find(|s| s.id == id)
            .map(|s| s.messages[1].content.clone())
    };
    assert_eq!(
        get("evt-filler").unwrap(),
        "Lakewalk with Otto, then pancakes."
    );
    let capped = get("evt-long").unwrap();
    assert_eq!(capped.split_whitespace().count(), 40);
    assert!(capped.ends_with("w39..."));
    assert!(get("evt-short").is_none());
    assert_eq!(b.report.dropped.count("too_short"), 1);
    // With the whole share long-form, the cap is 300 words.
    config.long_form_share = 1.0;
    let b = build(&Profile::at(root), &config, &no_gates(), &NoProgress).unwrap();
    let full = all(&b).into_iter().find(|s| s.id == "evt-long").unwrap();
    assert_eq!(full.messages[1].content, long);
}

#[test]
fn eval_split_is_stable_for_a_sample_whatever_the_seed() {
    let profile = demo_copy();
    let (mut config, req) = config::load(profile.path(), None).unwrap();
    let mut eval_ids = |seed| {
        config.seed = seed;
        let b = build(&Profile::at(profile.path()), &config, &req, &NoProgress).unwrap();
        let mut v: Vec<String> = b.eval.iter().map(|s| s.id.clone()).collect();
        v.sort();
        (v, b.report.samples)
    };
    let (a, n) = eval_ids(1);
    let (b, _) = eval_ids(2);
    // Sampling differs between seeds, but a sample present in both lands on the same side.
    let common: Vec<_> = a.iter().filter(|id| b.contains(id)).collect();
    assert!(!common.is_empty());
    let share = a.len() as f64 / n as f64;
    assert!((0.01..0.12).contains(&share), "eval share {share}");
}

#[test]
fn encrypted_memories_are_read_with_the_passphrase_and_counted_without() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    event(
        root,
        "evt-plain",
        conversation(
            "Plain?",
            "A plain memory, long enough to keep.",
            "emulation",
        ),
    );
    let secret = conversation(
        "Secret?",
        "The spare key is under the blue heron statue.",
        "emulation",
    );
    let mut secret = secret;
    secret["id"] = json!("evt-secret");
    secret["timestamp"] = json!("2026-05-02T10:00:00.000Z");
    mh_testkit::encrypted_event(root, "correct horse", &secret, 1000).unwrap();

    // No passphrase: counted as locked, never silently skipped.
    let b = build(
        &Profile::at(root),
        &plain_config(),
        &no_gates(),
        &NoProgress,
    )
    .unwrap();
    assert_eq!(ids(&b), ["evt-plain"]);
    assert_eq!(b.report.encrypted.locked, 1);

    let mut p = Profile::at(root);
    p.unlock("correct horse").unwrap();
    let b = build(&p, &plain_config(), &no_gates(), &NoProgress).unwrap();
    assert_eq!(ids(&b), ["evt-plain", "evt-secret"]);
    assert_eq!(b.report.encrypted.decrypted, 1);

    let mut p = Profile::at(root);
    p.unlock("wrong").unwrap();
    let b = build(&p, &plain_config(), &no_gates(), &NoProgress).unwrap();
    assert_eq!(ids(&b), ["evt-plain"]);
    assert_eq!(b.report.errors.len(), 1);
    assert!(
        b.report.errors[0].path.ends_with(".json.enc"),
        "{:?}",
        b.report.errors
    );
    assert!(!b.report.errors[0].reason.contains("correct horse"));
}

#[test]
fn hostile_files_are_reported_and_the_build_carries_on() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let hostile = mh_testkit::hostile_episodic_dir(root).unwrap();
    event(
        root,
        "evt-good",
        conversation(
            "Still there?",
            "Yes. The build carries on past broken files.",
            "emulation",
        ),
    );
    let b = build(
        &Profile::at(root),
        &plain_config(),
        &no_gates(),
        &NoProgress,
    )
    .unwrap();
    assert!(ids(&b).contains(&"evt-good".to_string()));
    let reported = |needle: &str| b.report.errors.iter().any(|e| e.path.contains(needle));
    let running_as_root = running_as_root();
    for h in &hostile {
        let name = h.path.file_name().unwrap().to_string_lossy().to_string();
        match h.kind {
            "valid" | "missing-fields" => {
                assert!(!reported(&name), "{} should not be an error", h.kind)
            }
            "unreadable" if running_as_root => {} // root reads mode-000 files
            _ => assert!(
                reported(&name),
                "{} ({}) not reported: {:?}",
                h.kind,
                name,
                b.report.errors
            ),
        }
    }
    for e in &b.report.errors {
        assert!(!e.reason.is_empty());
    }
}

fn running_as_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| {
            use std::os::unix::fs::MetadataExt;
            m.uid() == 0
        })
        .unwrap_or(false)
}

#[test]
fn configs_dataset_json_documents_the_defaults() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/dataset.json");
    let text = fs::read_to_string(&path).unwrap();
    let on_disk: DatasetConfig = serde_json::from_str(&text).unwrap();
    assert_eq!(
        on_disk,
        DatasetConfig::default(),
        "regenerate configs/dataset.json from DatasetConfig::default()"
    );
}

#[test]
fn alpaca_and_input_output_exports_keep_the_seed_shapes() {
    let profile = demo_copy();
    let b = build_default(profile.path());
    let config = DatasetConfig::default();
    let out = tempfile::tempdir().unwrap();
    export::write(
        &out.path().join("alpaca"),
        &b,
        &config,
        Format::Alpaca,
        false,
    )
    .unwrap();
    export::write(
        &out.path().join("io"),
        &b,
        &config,
        Format::InputOutput,
        false,
    )
    .unwrap();
    let first = |p: &str| -> serde_json::Value {
        let text = fs::read_to_string(out.path().join(p)).unwrap();
        serde_json::from_str(text.lines().next().unwrap()).unwrap()
    };
    let a = first("alpaca/train.jsonl");
    let keys: Vec<_> = a.as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, ["instruction", "input", "output"]);
    let io = first("io/train.jsonl");
    let keys: Vec<_> = io.as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, ["input", "output"]);
    for p in ["alpaca/train.jsonl", "io/eval.jsonl"] {
        assert!(export::validate_file(&out.path().join(p))
            .unwrap()
            .problems
            .is_empty());
    }
}

#[cfg(feature = "parquet")]
#[test]
fn parquet_has_the_same_rows() {
    let profile = demo_copy();
    let b = build_default(profile.path());
    let out = tempfile::tempdir().unwrap();
    let w = export::write(
        out.path(),
        &b,
        &DatasetConfig::default(),
        Format::Chat,
        true,
    )
    .unwrap();
    assert_eq!(w.parquet.len(), 2);
    use polars::prelude::*;
    let df = ParquetReader::new(fs::File::open(&w.parquet[0]).unwrap())
        .finish()
        .unwrap();
    assert_eq!(df.height(), b.train.len());
    let ids_column = df.column("id").unwrap().str().unwrap().clone();
    let ids: Vec<String> = (0..ids_column.len())
        .map(|i| ids_column.get(i).unwrap().to_string())
        .collect();
    let want: Vec<String> = b.train.iter().map(|s| s.id.clone()).collect();
    assert_eq!(ids, want);
    assert!(df.column("messages").unwrap().dtype().is_list());
}
