//! A GGUF export that runs out of space (a per-process file-size limit, as `ulimit -f` sets,
//! stands in for a full disk): a clear error naming the file, no partial file left behind,
//! and an earlier good export at the same path untouched.

use std::path::Path;
use std::process::{Command, Output};

mod common;
use common::{demo_copy, mh_train, s, stderr};

/// `mh-train args…` with every file it writes limited to `kib` KiB (SIGXFSZ ignored, so the
/// write fails with EFBIG instead of killing the process).
fn with_file_limit(kib: u64, args: &[&str]) -> Output {
    Command::new("bash")
        .arg("-c")
        .arg(format!("trap '' XFSZ; ulimit -f {kib}; exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_mh-train"))
        .args(args)
        .env_remove("METAHUMAN_ROOT")
        .output()
        .expect("run mh-train under bash")
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn a_full_disk_during_gguf_export_leaves_nothing_half_written() {
    let profile = demo_copy();
    let work = tempfile::tempdir().unwrap();
    let model = work.path().join("model");
    let o = mh_train(&[
        "--profile",
        s(profile.path()),
        "-q",
        "dev",
        "tiny-model",
        "--out",
        s(&model),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));

    let out_dir = work.path().join("gguf");
    std::fs::create_dir_all(&out_dir).unwrap();
    let file = out_dir.join("model-F32.gguf");
    let export = [
        "-q",
        "gguf",
        "export",
        "--model",
        s(&model),
        "--out",
        s(&file),
        "--quant",
        "f32",
    ];
    let good = mh_train(&export);
    assert!(good.status.success(), "{}", stderr(&good));
    let before = std::fs::read(&file).unwrap();
    assert!(
        before.len() > 256 * 1024,
        "the f32 file must exceed the limit below"
    );

    let o = with_file_limit(64, &export);
    assert!(
        !o.status.success(),
        "the export succeeded under a 64 KiB file limit"
    );
    let err = stderr(&o);
    assert!(
        err.contains("model-F32.gguf") || err.contains(s(&out_dir)),
        "{err}"
    );
    assert!(
        err.to_lowercase().contains("too large") || err.contains("os error"),
        "{err}"
    );
    assert_eq!(
        names(&out_dir),
        vec!["model-F32.gguf".to_string()],
        "leftovers: {err}"
    );
    assert_eq!(
        std::fs::read(&file).unwrap(),
        before,
        "the earlier export changed"
    );
}
