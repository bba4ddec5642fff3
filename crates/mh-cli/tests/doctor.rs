//! `mh-train doctor`: the report in text and JSON, and the device choices, on the machine that
//! runs the tests. These build machines and CI have no NVIDIA driver and the suite is built
//! without the `cuda` feature, which is what the exact expectations below describe; on a
//! machine with a driver only the consistency checks apply.

mod common;

use common::{mh_train, stderr};
use serde_json::Value;

fn doctor_json(extra: &[&str]) -> (std::process::Output, Value) {
    let mut args = vec!["--json", "doctor"];
    args.extend_from_slice(extra);
    let o = mh_train(&args);
    let v: Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("doctor --json printed no JSON ({e}): {}", stderr(&o)));
    (o, v)
}

#[test]
fn json_report_describes_build_cpu_gpus_and_auto_device() {
    let (o, v) = doctor_json(&[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
    let cuda_built = v["features"]["cuda"].as_bool().expect("features.cuda");
    assert_eq!(cuda_built, cfg!(feature = "cuda"));
    assert_eq!(v["gpu"]["cuda_built"], cuda_built);
    let threads = v["cpu"]["threads"].as_u64().expect("cpu.threads");
    assert_eq!(
        threads as usize,
        std::thread::available_parallelism().unwrap().get()
    );

    let gpus = v["gpu"]["gpus"].as_array().expect("gpu.gpus");
    let usable = v["gpu"]["usable"].as_bool().expect("gpu.usable");
    assert_eq!(usable, cuda_built && !gpus.is_empty());
    assert_eq!(v["gpu"]["reason"].is_null(), usable, "{v:#}");
    for gpu in gpus {
        assert!(gpu["name"].as_str().is_some_and(|n| !n.is_empty()), "{gpu}");
        assert!(
            gpu["total_memory_bytes"].as_u64().is_some_and(|b| b > 0),
            "{gpu}"
        );
    }

    let device = &v["device"];
    assert_eq!(device["requested"], "auto");
    if !usable {
        // No usable GPU: auto is the CPU in f32, and says why.
        assert_eq!(device["selected"], "cpu", "{v:#}");
        assert_eq!(device["compute_dtype"], "f32");
        assert_eq!(device["lora_dtype"], "f32");
        assert_eq!(device["cpu_because"], v["gpu"]["reason"]);
    }
    if !cuda_built {
        let reason = v["gpu"]["reason"].as_str().expect("gpu.reason");
        assert!(
            reason.contains("rebuild with `--features cuda`"),
            "{reason}"
        );
    }
}

#[test]
fn text_report_says_plainly_whether_a_gpu_is_usable() {
    let o = mh_train(&["doctor"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8(o.stdout).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], format!("mh-train {}", env!("CARGO_PKG_VERSION")));
    let cuda = if cfg!(feature = "cuda") { "on" } else { "off" };
    assert!(
        out.contains(&format!("build features: cuda {cuda}")),
        "{out}"
    );
    assert!(lines.iter().any(|l| l.starts_with("cpu: ")), "{out}");
    let usable = lines
        .iter()
        .find(|l| l.starts_with("gpu usable: "))
        .unwrap_or_else(|| panic!("no `gpu usable:` line in {out}"));
    let device = lines
        .iter()
        .find(|l| l.starts_with("device auto: "))
        .unwrap_or_else(|| panic!("no `device auto:` line in {out}"));
    if usable.starts_with("gpu usable: no: ") {
        assert!(
            device.starts_with("device auto: cpu (base weights f32, LoRA f32)"),
            "{out}"
        );
    } else {
        assert_eq!(*usable, "gpu usable: yes");
    }
}

#[cfg(not(feature = "cuda"))]
#[test]
fn cuda_from_a_cpu_build_fails_and_says_how_to_rebuild() {
    let (o, v) = doctor_json(&["--device", "cuda:1"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(v["device"]["requested"], "cuda:1");
    let err = v["device"]["error"].as_str().expect("device.error");
    assert!(err.contains("built without it"), "{err}");
    assert!(err.contains("--features cuda"), "{err}");
    // The one-line failure reason on stderr, like every failing command.
    assert!(
        stderr(&o).contains("mh-train: --device cuda:1 needs CUDA"),
        "{}",
        stderr(&o)
    );

    let (o, v) = doctor_json(&["--device", "cpu"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(v["device"]["selected"], "cpu");
    assert_eq!(v["device"]["cpu_because"], Value::Null);
}

#[test]
fn bad_device_is_a_usage_error() {
    let o = mh_train(&["doctor", "--device", "tpu"]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("unknown device `tpu`"), "{err}");
    assert!(err.contains("expected cpu, cuda, cuda:N or auto"), "{err}");
}
