//! `cargo run -p mh-hub --example resolve -- SPEC`: resolves SPEC with the `HF_*` variables
//! of the environment and prints the result as JSON (progress on stderr).
//! `scripts/gen_hf_cache_layout.py` uses it to check that Python reads mh-hub's cache.

use std::sync::atomic::{AtomicU64, Ordering};

use mh_hub::{resolve_model, HubOptions};
use mh_profile::Progress;

struct Stderr(AtomicU64);

impl Progress for Stderr {
    fn start(&self, stage: &str, total: Option<u64>) {
        self.0.store(0, Ordering::Relaxed);
        eprintln!("{stage}: {} bytes", total.unwrap_or(0));
    }
    fn advance(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }
    fn finish(&self) {
        eprintln!("  done ({} bytes)", self.0.load(Ordering::Relaxed));
    }
}

fn main() {
    let Some(spec) = std::env::args().nth(1) else {
        eprintln!("usage: resolve SPEC");
        std::process::exit(2);
    };
    match resolve_model(&spec, &HubOptions::from_env(), &Stderr(AtomicU64::new(0))) {
        Ok(model) => {
            if let Some(notice) = model.notice() {
                eprintln!("{notice}");
            }
            let out = serde_json::json!({
                "dir": model.dir,
                "commit": model.commit,
                "files": model.files,
                "source": format!("{:?}", model.source),
            });
            println!("{out}");
        }
        Err(err) => {
            eprintln!("error: {err}");
            std::process::exit(1);
        }
    }
}
