//! Helpers shared by the CLI integration tests: run the real binary, copy the demo profile.
#![allow(dead_code)] // each test crate uses a different subset

use std::path::Path;
use std::process::{Command, Output};

/// Run `mh-train` with `args`, isolated from the caller's profile and passphrase variables.
pub fn mh_train(args: &[&str]) -> Output {
    mh_train_env(args, &[])
}

/// [`mh_train`] with extra environment variables.
pub fn mh_train_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mh-train"))
        .args(args)
        .env_remove("METAHUMAN_ROOT")
        .env_remove("MH_PROFILE_PASSPHRASE")
        .envs(env.iter().copied())
        .output()
        .expect("run mh-train")
}

/// A scratch copy of the committed demo profile.
pub fn demo_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    mh_testkit::copy_dir(&mh_testkit::demo_profile(), dir.path()).unwrap();
    dir
}

pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A scratch copy of the demo profile, a work directory holding a tiny model generated from it
/// (`dev tiny-model`) and `short.json`, training settings for a fast `local` run (4 steps, Q8_0
/// GGUF); returns (profile, work, model directory).
pub fn local_setup() -> (tempfile::TempDir, tempfile::TempDir, std::path::PathBuf) {
    let profile = demo_copy();
    let work = tempfile::tempdir().unwrap();
    let model = work.path().join("model");
    let out = mh_train(&[
        "--profile",
        s(profile.path()),
        "-q",
        "dev",
        "tiny-model",
        "--out",
        s(&model),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let config = work.path().join("short.json");
    std::fs::write(
        &config,
        r#"{"learning_rate": 5e-3, "max_steps": 4, "micro_batch_size": 2,
            "gradient_accumulation_steps": 2, "warmup_ratio": 0, "eval_every": 0,
            "save_every": 0, "gguf_quant": "Q8_0"}"#,
    )
    .unwrap();
    (profile, work, model)
}
