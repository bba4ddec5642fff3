//! `mh-train activate V`, `deactivate`, `status`: which version the runtime uses.

use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;
use mh_lineage::{ActivationChange, ActivationState, Lineage};
use mh_profile::{Profile, ProfileSpec};

use super::{note, print_json};
use crate::Global;

#[derive(Args)]
pub struct ActivateArgs {
    /// Version number in the profile's lineage (see `mh-train lineage history`)
    pub version: u32,
}

/// Open the profile the global options name, without asking for a passphrase: the lineage
/// never reads memories.
pub fn open_lineage(g: &Global) -> Result<(Profile, Lineage)> {
    let spec = match (&g.profile, &g.root) {
        (Some(dir), _) => ProfileSpec::Dir(dir.clone()),
        (None, Some(root)) => ProfileSpec::RootUser {
            root: root.clone(),
            user: g.user.clone(),
        },
        (None, None) => anyhow::bail!(
            "no profile given: pass --profile DIR, or --root DIR (or METAHUMAN_ROOT) with --user NAME"
        ),
    };
    let resolved = spec.resolve()?;
    if let Some(w) = &resolved.warning {
        note(g, &format!("warning: {w}"));
    }
    let profile = Profile::open(resolved);
    let lineage = Lineage::new(&profile);
    Ok((profile, lineage))
}

pub fn activate(a: ActivateArgs, g: &Global) -> Result<ExitCode> {
    let (profile, lineage) = open_lineage(g)?;
    let lock = profile.lock("activate")?;
    let change = lineage
        .activate(&lock, a.version, "cli")
        .with_context(|| format!("activating version {}", a.version))?;
    report_change(&change, g)
}

pub fn deactivate(g: &Global) -> Result<ExitCode> {
    let (profile, lineage) = open_lineage(g)?;
    let lock = profile.lock("deactivate")?;
    let change = lineage.deactivate(&lock, "cli").context("deactivating")?;
    report_change(&change, g)
}

pub fn status(g: &Global) -> Result<ExitCode> {
    let (profile, lineage) = open_lineage(g)?;
    // The seed migrates a legacy active-adapter.json when it reads the active adapter; so do we,
    // when no other mh-train process holds the profile.
    if lineage.legacy_pending()? {
        match profile.lock("status (legacy active-adapter migration)") {
            Ok(lock) => {
                if let Some(info) = lineage.migrate_legacy(&lock)? {
                    note(
                        g,
                        &format!(
                            "migrated {} into {} (activeAdapter {:?})",
                            lineage.legacy_active_adapter_path().display(),
                            lineage.models_path().display(),
                            info.model_name
                        ),
                    );
                }
            }
            Err(e) => note(
                g,
                &format!("note: legacy active-adapter.json not migrated: {e}"),
            ),
        }
    }
    let state = lineage.status()?;
    let sleep = super::sleep::status(g, &profile);
    let runs_disk = mh_runtime::disk::runs_disk_usage(profile.root())?;
    // From the ledger alone (no network): pods not known to be terminated.
    let open_pods = mh_runpod::Ledger::new(profile.root()).open_entries()?;
    if g.json {
        let mut v = serde_json::to_value(&state)?;
        if let Some(o) = v.as_object_mut() {
            o.insert("sleep_service".into(), serde_json::to_value(&sleep)?);
            o.insert("runs_disk".into(), serde_json::to_value(&runs_disk)?);
            o.insert("open_pods".into(), serde_json::to_value(&open_pods)?);
        }
        print_json(&v)?;
    } else {
        print_state(&state);
        println!(
            "runs         {} in {} run(s) under {}",
            human_bytes(runs_disk.bytes),
            runs_disk.runs,
            runs_disk.path.display()
        );
        match open_pods.len() {
            0 => println!("pods         none alive in the ledger"),
            n => println!(
                "pods         {n} may still bill: {} (`mh-train remote list` for live status, `remote reap` to terminate)",
                open_pods
                    .iter()
                    .map(|e| e.pod_id.as_deref().unwrap_or(&e.name))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
        for line in sleep.lines() {
            println!("{line}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `bytes` in decimal units (`512 B`, `1.5 kB`, `23.4 MB`, `1.2 GB`).
fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// The activation part of `status` and `lineage show`.
pub fn print_state(s: &ActivationState) {
    match (s.active_version, &s.active_run_label) {
        (Some(v), Some(l)) if !l.is_empty() => println!("active       version {v} (run {l})"),
        (Some(v), _) => println!("active       version {v}"),
        (None, _) => println!("active       none (base model)"),
    }
    match &s.active_adapter {
        Some(i) => println!(
            "models.json  useAdapter {}, activeAdapter {:?} (status {})",
            s.use_adapter,
            i.model_name,
            i.status.as_deref().unwrap_or("loaded")
        ),
        None => println!(
            "models.json  useAdapter {}, no activeAdapter",
            s.use_adapter
        ),
    }
    println!("serving      {}", s.serving);
    if let Some(l) = &s.legacy_file {
        println!("legacy       {l} (not migrated)");
    }
    if let Some(m) = &s.mismatch {
        println!("mismatch     {m}");
    }
}

/// Print an activation change (activate, deactivate, rollback).
pub fn report_change(c: &ActivationChange, g: &Global) -> Result<ExitCode> {
    if g.json {
        print_json(c)?;
        return Ok(ExitCode::SUCCESS);
    }
    let what = match (c.version, &c.model_name) {
        (Some(v), Some(m)) => format!("version {v} ({m})"),
        (Some(v), None) => format!("version {v}"),
        (None, _) => "the base model".to_string(),
    };
    if !c.changed {
        println!("already active: {what}");
    } else {
        println!("now active: {what}");
    }
    if let Some(st) = &c.adapter_status {
        println!("  activeAdapter.status {st}, useAdapter {}", c.use_adapter);
        if st == "ready_for_ollama_load" {
            println!(
                "  note: not registered in Ollama yet; MetaHuman OS keeps the base model until it is"
            );
        }
    }
    match c.previous {
        Some(p) if Some(p) != c.version => println!("  previous: version {p}"),
        _ => {}
    }
    if let Some(r) = &c.replaced_model {
        if c.model_name.as_deref() != Some(r.as_str()) {
            println!("  replaced: {r}");
        }
    }
    if !c.skipped.is_empty() {
        let s: Vec<String> = c.skipped.iter().map(|v| v.to_string()).collect();
        println!("  skipped (no longer usable): {}", s.join(", "));
    }
    for w in &c.warnings {
        note(g, &format!("warning: {w}"));
    }
    Ok(ExitCode::SUCCESS)
}
