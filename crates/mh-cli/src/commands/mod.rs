//! One module per command group; shared helpers here.

pub mod activate;
pub mod base;
pub mod chat;
pub mod dataset;
pub mod dev;
pub mod doctor;
pub mod eval;
pub mod generate;
pub mod gguf;
pub mod lineage;
pub mod local;
pub mod merge;
pub mod profile;
pub mod remote;
pub mod sleep;
pub mod template;
pub mod train;

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result};
use mh_profile::{Profile, ProfileSpec};

use crate::Global;

/// Resolve and open the profile the global options name, unlocking encrypted memories when a
/// passphrase is available (`MH_PROFILE_PASSPHRASE`, or a prompt when stdin is a terminal).
pub fn open_profile(g: &Global) -> Result<Profile> {
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
    let mut profile = Profile::open(resolved);
    if profile.encryption_meta()?.is_some() {
        let pass = match std::env::var("MH_PROFILE_PASSPHRASE") {
            Ok(p) if !p.is_empty() => Some(p),
            _ if std::io::stdin().is_terminal() && !g.quiet => Some(
                rpassword::prompt_password(
                    "Profile passphrase (empty to skip encrypted memories): ",
                )
                .context("reading the passphrase")?,
            ),
            _ => None,
        };
        match pass.filter(|p| !p.is_empty()) {
            Some(p) => profile.unlock(&p)?,
            None => note(
                g,
                "note: this profile has encrypted memories and no passphrase was given \
                 (MH_PROFILE_PASSPHRASE); they will be counted, not read",
            ),
        }
    }
    Ok(profile)
}

/// Set by the first Ctrl-C / SIGTERM: training checkpoints and stops, a run stops at the next
/// step boundary, a rented pod is terminated.
pub(crate) static STOP: AtomicBool = AtomicBool::new(false);

/// Route Ctrl-C / SIGTERM to [`STOP`] (printing `message`); a second signal exits at once (130).
pub(crate) fn stop_on_signal(message: &'static str) -> Result<()> {
    ctrlc::set_handler(move || {
        if STOP.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
        eprintln!("\n{message}");
    })
    .context("installing the Ctrl-C handler")
}

/// A line on stderr unless quiet.
pub fn note(g: &Global, msg: &str) {
    if !g.quiet {
        eprintln!("{msg}");
    }
}

/// Print `value` as pretty JSON on stdout.
pub fn print_json<T: serde::Serialize>(value: &T) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}
