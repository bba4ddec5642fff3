//! Serves `mh_testkit::hf_hub::sample_sharded_repo(ID)` (default `mh-test/sharded`) on
//! 127.0.0.1, prints the endpoint on the first line of stdout and stops when stdin closes.
//! `scripts/gen_hf_cache_layout.py` points Python's `huggingface_hub` at it.

use std::io::{Read, Write};

use mh_testkit::hf_hub::sample_sharded_repo;
use mh_testkit::FakeHub;

fn main() -> std::io::Result<()> {
    let id = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "mh-test/sharded".to_string());
    let hub = FakeHub::start([sample_sharded_repo(&id)])?;
    let mut out = std::io::stdout();
    writeln!(out, "{}", hub.endpoint())?;
    out.flush()?;
    let mut sink = Vec::new();
    std::io::stdin().read_to_end(&mut sink)?;
    for r in hub.requests() {
        eprintln!("{} {} -> {}", r.method, r.url, r.status);
    }
    Ok(())
}
