//! `mh-train lineage …`: the profile's model registry.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Subcommand;
use mh_lineage::{Registry, Version};
use serde::Serialize;

use super::activate::{open_lineage, print_state, report_change};
use super::print_json;
use crate::Global;

#[derive(Subcommand)]
pub enum LineageCommand {
    /// The current state and a tree of versions
    Show,
    /// Every version, oldest first
    History,
    /// Check every artifact's size and sha256, parents, and models.json (exit 1 on any problem)
    Verify,
    /// Return to the previous activation, or to version V
    Rollback {
        /// The version to return to
        #[arg(long)]
        to: Option<u32>,
    },
    /// Delete the artifacts of old versions (never the active version or its ancestors)
    Gc {
        /// How many of the newest versions to keep
        #[arg(long)]
        keep: usize,
        /// Report what would be deleted without deleting
        #[arg(long)]
        dry_run: bool,
    },
    /// Import an existing registry (e.g. MetaHuman OS's ROOT/etc/model-registry.json)
    Import {
        /// The registry file
        file: PathBuf,
    },
}

pub fn run(cmd: LineageCommand, g: &Global) -> Result<ExitCode> {
    match cmd {
        LineageCommand::Show => show(g),
        LineageCommand::History => history(g),
        LineageCommand::Verify => verify(g),
        LineageCommand::Rollback { to } => rollback(to, g),
        LineageCommand::Gc { keep, dry_run } => gc(keep, dry_run, g),
        LineageCommand::Import { file } => import(&file, g),
    }
}

/// A version and its descendants, for `show`.
#[derive(Serialize)]
struct Node {
    version: u32,
    status: String,
    children: Vec<Node>,
}

fn tree(reg: &Registry) -> Vec<Node> {
    let known: Vec<u32> = reg.training_history.iter().map(|v| v.version).collect();
    let mut children: BTreeMap<Option<u32>, Vec<&Version>> = BTreeMap::new();
    for v in &reg.training_history {
        // A missing parent (or a self-reference) makes the version a root.
        let parent = v
            .parent_version
            .filter(|p| known.contains(p) && *p != v.version);
        children.entry(parent).or_default().push(v);
    }
    fn build(
        at: Option<u32>,
        children: &BTreeMap<Option<u32>, Vec<&Version>>,
        seen: &mut Vec<u32>,
    ) -> Vec<Node> {
        let mut kids = children.get(&at).cloned().unwrap_or_default();
        kids.sort_by_key(|v| v.version);
        kids.into_iter()
            .filter_map(|v| {
                if seen.contains(&v.version) {
                    return None;
                }
                seen.push(v.version);
                Some(Node {
                    version: v.version,
                    status: v.status.to_string(),
                    children: build(Some(v.version), children, seen),
                })
            })
            .collect()
    }
    let mut seen = Vec::new();
    build(None, &children, &mut seen)
}

fn line(v: &Version) -> String {
    let mut parts = vec![format!("{:<9}", v.status.as_str())];
    parts.push(v.created_at.get(..10).unwrap_or("").to_string());
    if let Some(m) = v.method {
        parts.push(format!("{m:?}").to_lowercase());
    }
    if let Some(l) = &v.location {
        parts.push(format!("{:?}", l.kind).to_lowercase());
    }
    parts.push(format!("{} samples", v.samples_trained));
    if let Some(l) = v.metrics.best_eval_loss.or(v.metrics.final_eval_loss) {
        parts.push(format!("eval loss {l:.4}"));
    }
    if !v.run_label.is_empty() {
        parts.push(v.run_label.clone());
    }
    if let Some(o) = &v.ollama_model {
        parts.push(format!("ollama {o}"));
    }
    if v.pruned_at.is_some() {
        parts.push("(artifacts deleted)".into());
    }
    parts.join("  ")
}

fn print_tree(nodes: &[Node], reg: &Registry, prefix: &str, top: bool) {
    for (i, n) in nodes.iter().enumerate() {
        let last = i + 1 == nodes.len();
        let (branch, next) = if top {
            ("", prefix.to_string())
        } else if last {
            ("└─ ", format!("{prefix}   "))
        } else {
            ("├─ ", format!("{prefix}│  "))
        };
        let text = reg.get(n.version).map(line).unwrap_or_default();
        println!("{prefix}{branch}v{}  {text}", n.version);
        print_tree(&n.children, reg, &next, false);
    }
}

fn show(g: &Global) -> Result<ExitCode> {
    let (_profile, lineage) = open_lineage(g)?;
    let reg = lineage.load()?;
    let state = lineage.status()?;
    let nodes = tree(&reg);
    if g.json {
        #[derive(Serialize)]
        struct Show<'a> {
            registry: String,
            original_base_model: &'a str,
            current_base_model: &'a str,
            model_type: mh_lineage::ModelType,
            versions: usize,
            state: &'a mh_lineage::ActivationState,
            tree: &'a [Node],
        }
        print_json(&Show {
            registry: lineage.registry_path().display().to_string(),
            original_base_model: &reg.original_base_model,
            current_base_model: &reg.current_base_model,
            model_type: reg.model_type,
            versions: reg.training_history.len(),
            state: &state,
            tree: &nodes,
        })?;
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "registry     {} ({} versions)",
        lineage.registry_path().display(),
        reg.training_history.len()
    );
    if !reg.original_base_model.is_empty() {
        println!(
            "base         original {}, current {} ({})",
            reg.original_base_model,
            reg.current_base_model,
            match reg.model_type {
                mh_lineage::ModelType::Huggingface => "huggingface",
                mh_lineage::ModelType::Local => "local",
            }
        );
    }
    print_state(&state);
    if nodes.is_empty() {
        println!("versions     none yet");
    } else {
        println!("versions");
        print_tree(&nodes, &reg, "  ", true);
    }
    Ok(ExitCode::SUCCESS)
}

fn history(g: &Global) -> Result<ExitCode> {
    let (_profile, lineage) = open_lineage(g)?;
    let versions = lineage.history()?;
    if g.json {
        print_json(&versions)?;
        return Ok(ExitCode::SUCCESS);
    }
    if versions.is_empty() {
        println!("no versions in {}", lineage.registry_path().display());
    }
    for v in &versions {
        let parent = v
            .parent_version
            .map(|p| format!("parent v{p}"))
            .unwrap_or_else(|| "root".into());
        println!("v{:<3} {parent:<10} {}", v.version, line(v));
    }
    Ok(ExitCode::SUCCESS)
}

fn verify(g: &Global) -> Result<ExitCode> {
    let (_profile, lineage) = open_lineage(g)?;
    let report = lineage.verify()?;
    if g.json {
        print_json(&report)?;
    } else {
        println!(
            "checked {} versions, {} artifacts, {} files, {} bytes",
            report.versions, report.artifacts, report.files, report.bytes
        );
        for p in &report.problems {
            println!("problem: {}", p.message);
        }
        if report.ok() {
            println!("ok");
        }
    }
    Ok(if report.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn rollback(to: Option<u32>, g: &Global) -> Result<ExitCode> {
    let (profile, lineage) = open_lineage(g)?;
    let lock = profile.lock("lineage rollback")?;
    let change = lineage.rollback(&lock, to, "cli").context("rolling back")?;
    report_change(&change, g)
}

fn gc(keep: usize, dry_run: bool, g: &Global) -> Result<ExitCode> {
    let (profile, lineage) = open_lineage(g)?;
    let lock = profile.lock("lineage gc")?;
    let report = lineage.gc(&lock, keep, dry_run)?;
    if g.json {
        print_json(&report)?;
    } else {
        let verb = if dry_run { "would free" } else { "freed" };
        for v in &report.pruned {
            println!(
                "v{}: {verb} {} bytes in {} files",
                v.version, v.freed_bytes, v.files_deleted
            );
            for s in &v.shared {
                println!("  kept (shared with a kept version): {s}");
            }
            for e in &v.errors {
                println!("  not deleted: {e}");
            }
        }
        let kept: Vec<String> = report.kept.iter().map(|v| format!("v{v}")).collect();
        println!(
            "kept {}; {verb} {} bytes in total",
            if kept.is_empty() {
                "nothing".to_string()
            } else {
                kept.join(", ")
            },
            report.freed_bytes
        );
    }
    let failed = report.pruned.iter().any(|v| !v.errors.is_empty());
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn import(file: &std::path::Path, g: &Global) -> Result<ExitCode> {
    let (profile, lineage) = open_lineage(g)?;
    let lock = profile.lock("lineage import")?;
    let report = lineage
        .import(&lock, file)
        .with_context(|| format!("importing {}", file.display()))?;
    if g.json {
        print_json(&report)?;
    } else {
        for v in &report.imported {
            println!(
                "v{} <- {} v{} ({}, {} artifacts{})",
                v.version,
                report.from,
                v.from_version,
                v.status,
                v.artifacts,
                v.parent_version
                    .map(|p| format!(", parent v{p}"))
                    .unwrap_or_default()
            );
            for m in &v.missing {
                println!("  not found here: {m}");
            }
        }
        for (from, here) in &report.already_present {
            println!("v{here}: already imported (v{from} there)");
        }
        println!(
            "imported {} versions into {}",
            report.imported.len(),
            report.registry
        );
    }
    Ok(ExitCode::SUCCESS)
}
