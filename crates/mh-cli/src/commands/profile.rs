//! `mh-train profile …`

use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;

use super::{open_profile, print_json};
use crate::progress::Bars;
use crate::Global;

#[derive(Subcommand)]
pub enum ProfileCommand {
    /// What was found in the profile, what could not be read and why
    Check,
}

pub fn run(cmd: ProfileCommand, g: &Global) -> Result<ExitCode> {
    match cmd {
        ProfileCommand::Check => check(g),
    }
}

fn check(g: &Global) -> Result<ExitCode> {
    let profile = open_profile(g)?;
    let report = profile.check(&Bars::new(g.quiet || g.json));
    if g.json {
        print_json(&report)?;
    } else {
        println!("profile   {}", report.root);
        println!(
            "person    {}",
            report
                .person
                .as_deref()
                .unwrap_or("(no persona/core.json name)")
        );
        if report.readonly {
            println!("mode      read-only (custom storage unavailable)");
        }
        if let Some((a, b)) = &report.date_range {
            println!("memories  {a} .. {b}");
        }
        println!("records:");
        for (k, v) in &report.records {
            println!("  {k:<24} {v:>7}");
        }
        println!("episodic types:");
        for (k, v) in &report.episodic_types {
            println!("  {k:<24} {v:>7}");
        }
        let e = &report.encrypted;
        if e.has_meta || e.locked > 0 {
            println!("encrypted: {} decrypted, {} locked", e.decrypted, e.locked);
        }
        println!("configs:");
        for (k, v) in &report.configs {
            println!("  {k:<28} {v}");
        }
        println!("unreadable: {}", report.errors.len());
        for err in &report.errors {
            let line = err.line.map(|l| format!(":{l}")).unwrap_or_default();
            println!("  {}{line}: {}", err.path.display(), err.reason);
        }
    }
    Ok(if report.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
