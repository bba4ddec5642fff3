//! Regenerate the tiny model fixtures: `cargo run -p mh-model --example gen_tiny_fixtures [DIR]`
//! (default `crates/mh-model/tests/fixtures`). `scripts/gen_reference_logits.py` runs this first.

#[path = "../tests/common/fixtures.rs"]
mod fixtures;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::env::args()
        .nth(1)
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures"));
    for (name, spec) in fixtures::fixture_specs() {
        let m = mh_model::generate_tiny_model(&out.join(name), &spec)?;
        println!("{} {}", m.dir.display(), m.sha256);
    }
    Ok(())
}
