//! The `mh-train` binary as a user runs it: exit codes, one-line errors, files written.

use std::fs;

mod common;
use common::{demo_copy, mh_train, s, stderr};

#[test]
fn dataset_build_writes_the_three_files_identically_twice_and_audits() {
    let profile = demo_copy();
    let out = tempfile::tempdir().unwrap();
    let (a, b) = (out.path().join("a"), out.path().join("b"));
    for dir in [&a, &b] {
        let o = mh_train(&[
            "--profile",
            s(profile.path()),
            "-q",
            "dataset",
            "build",
            "--out",
            s(dir),
            "--seed",
            "7",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    for f in ["train.jsonl", "eval.jsonl", "report.json"] {
        assert_eq!(
            fs::read(a.join(f)).unwrap(),
            fs::read(b.join(f)).unwrap(),
            "{f}"
        );
    }
    let audit = fs::read_dir(profile.path().join("logs/audit"))
        .unwrap()
        .count();
    assert_eq!(audit, 1);
    let o = mh_train(&["dataset", "validate", s(&a.join("train.jsonl"))]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    let o = mh_train(&["--json", "dataset", "stats", s(&a)]);
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        v["samples"].as_u64().unwrap(),
        v["train"].as_u64().unwrap() + v["eval"].as_u64().unwrap()
    );
    assert!(v["quality"]["avg_assistant_words"].as_f64().unwrap() > 0.0);
}

#[test]
fn json_report_goes_to_stdout() {
    let profile = demo_copy();
    let out = tempfile::tempdir().unwrap();
    let o = mh_train(&[
        "--profile",
        s(profile.path()),
        "--json",
        "dataset",
        "build",
        "--out",
        s(out.path()),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["samples"].as_u64().unwrap() > 0);
    assert!(v["gates"]["passed"].is_boolean());
}

#[test]
fn a_second_writer_is_refused_naming_the_holder() {
    let profile = demo_copy();
    let _held = mh_profile::ProfileLock::acquire(profile.path(), "local").unwrap();
    let out = tempfile::tempdir().unwrap();
    let o = mh_train(&[
        "--profile",
        s(profile.path()),
        "dataset",
        "build",
        "--out",
        s(out.path()),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains(&std::process::id().to_string()) && err.contains("local"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(!out.path().join("train.jsonl").exists());
}

#[test]
fn a_failed_build_leaves_the_previous_output_untouched() {
    let profile = demo_copy();
    let out = tempfile::tempdir().unwrap();
    let o = mh_train(&[
        "--profile",
        s(profile.path()),
        "-q",
        "dataset",
        "build",
        "--out",
        s(out.path()),
    ]);
    assert!(o.status.success());
    let before = fs::read(out.path().join("train.jsonl")).unwrap();
    let bad = out.path().join("bad-config.json");
    fs::write(&bad, r#"{"word_cap": "forty"}"#).unwrap();
    let o = mh_train(&[
        "--profile",
        s(profile.path()),
        "dataset",
        "build",
        "--out",
        s(out.path()),
        "--config",
        s(&bad),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("bad-config.json"), "{}", stderr(&o));
    assert_eq!(fs::read(out.path().join("train.jsonl")).unwrap(), before);
}

#[test]
fn validate_points_at_the_bad_line() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("train.jsonl");
    fs::write(
        &f,
        concat!(
            r#"{"id":"a","source":"episodic","mode":"dual","messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"hello"}]}"#,
            "\n",
            r#"{"id":"b","source":"episodic","mode":"dual","messages":[{"role":"user","content":"only a question"}]}"#,
            "\n",
            "{broken\n"
        ),
    )
    .unwrap();
    let o = mh_train(&["dataset", "validate", s(&f)]);
    assert_eq!(o.status.code(), Some(1));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("train.jsonl:2:") && out.contains("train.jsonl:3: invalid JSON"),
        "{out}"
    );
}

#[test]
fn profile_check_reports_hostile_files_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    mh_testkit::hostile_episodic_dir(dir.path()).unwrap();
    let o = mh_train(&["--profile", s(dir.path()), "--json", "profile", "check"]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let errors = v["errors"].as_array().unwrap();
    assert!(errors.len() >= 5, "{errors:?}");
    assert!(errors
        .iter()
        .all(|e| e["path"].is_string() && e["reason"].is_string()));
    let o = mh_train(&[
        "--profile",
        s(&mh_testkit::demo_profile()),
        "profile",
        "check",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
}

#[test]
fn usage_errors_exit_2_and_missing_profiles_exit_1_with_one_line() {
    assert_eq!(
        mh_train(&["dataset", "build", "--seed", "x"]).status.code(),
        Some(2)
    );
    let o = mh_train(&["dataset", "build"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("--profile"));
    let o = mh_train(&["--profile", "/nonexistent/profile", "profile", "check"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("/nonexistent/profile"));
    assert_eq!(stderr(&o).trim().lines().count(), 1);
}

#[test]
fn root_and_user_resolve_through_users_json() {
    let root = tempfile::tempdir().unwrap();
    mh_testkit::copy_dir(
        &mh_testkit::demo_profile(),
        &root.path().join("profiles/nell"),
    )
    .unwrap();
    let o = mh_train(&[
        "--root",
        s(root.path()),
        "--user",
        "nell",
        "--json",
        "profile",
        "check",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["person"], "Nell Ashcombe");
    let o = mh_train(&[
        "--root",
        s(root.path()),
        "--user",
        "../etc",
        "profile",
        "check",
    ]);
    assert_eq!(o.status.code(), Some(1));
}
