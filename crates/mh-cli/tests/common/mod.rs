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
