//! `dataset build` on a generated 100k-event profile: events/s and peak RSS.
//!
//! The parent generates (once, cached) the profile, then re-runs this binary as a child that
//! does only the build — read, curate, dedupe, sample, split, write JSONL + report — so the
//! child's peak RSS is the build's alone. `MH_BENCH_EVENTS` changes the size.

use std::path::Path;
use std::process::Command;

use mh_profile::{NoProgress, Profile};

const CHILD: &str = "MH_BENCH_DATASET_CHILD";

fn main() {
    if let Some(dir) = std::env::var_os(CHILD) {
        child(Path::new(&dir));
        return;
    }
    let events: usize = std::env::var("MH_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let root = mh_bench::cache_dir(&format!("profile-{events}"));
    if !root.join("persona/core.json").exists() {
        let _ = std::fs::remove_dir_all(&root);
        eprintln!(
            "generating a {events}-event profile in {} …",
            root.display()
        );
        if let Err(e) = mh_testkit::synthetic_profile(&root, events, 1) {
            eprintln!("cannot generate the profile: {e}");
            std::process::exit(1);
        }
    }
    let exe = match std::env::current_exe() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("cannot find this benchmark's executable: {e}");
            std::process::exit(1);
        }
    };
    // Warm the page cache once, then take the best of three runs.
    let mut runs = Vec::new();
    for i in 0..4 {
        let run = mh_bench::measure(Command::new(&exe).env(CHILD, &root));
        match run {
            Ok(r) if i > 0 => runs.push(r),
            Ok(_) => {}
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(1);
            }
        }
    }
    let best = runs
        .iter()
        .min_by_key(|r| r.wall)
        .copied()
        .unwrap_or(mh_bench::ChildRun {
            wall: Default::default(),
            peak_rss_bytes: 0,
        });
    let peak = runs.iter().map(|r| r.peak_rss_bytes).max().unwrap_or(0);
    println!(
        "dataset_build/{events} events: {:.2} s, {:.0} events/s, peak RSS {:.0} MB",
        best.wall.as_secs_f64(),
        events as f64 / best.wall.as_secs_f64(),
        peak as f64 / 1e6
    );
}

fn child(root: &Path) {
    let profile = Profile::at(root);
    let result = mh_dataset::config::load(root, None).and_then(|(config, req)| {
        let built = mh_dataset::build(&profile, &config, &req, &NoProgress)?;
        let out = root.join("out/bench-dataset");
        mh_dataset::export::write(&out, &built, &config, mh_dataset::Format::Chat, false)?;
        Ok(built.report.samples)
    });
    match result {
        Ok(n) if n > 0 => {}
        Ok(_) => {
            eprintln!("the benchmark build produced no samples");
            std::process::exit(1);
        }
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
}
