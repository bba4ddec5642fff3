//! `mh-train sleep-service run|once|stop|install`: the nightly sleep service (mh-runtime::sleep).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use mh_runtime::sleep::{
    self, install, Decision, Outcome, ServiceLock, SleepService, SleepStatus, StopOutcome,
    SystemClock,
};
use mh_runtime::RunHooks;

use super::{note, open_profile, print_json, stop_on_signal, STOP};
use crate::progress::Bars;
use crate::Global;

#[derive(Subcommand)]
pub enum SleepCommand {
    /// Decide every tick (tick_seconds in etc/sleep-service.json, default 300) until SIGTERM,
    /// Ctrl-C or `sleep-service stop`; configs are re-read at every tick
    Run(RunArgs),
    /// One decision now, and the night's training if every gate passes (for cron / timers)
    Once(OnceArgs),
    /// Stop the running service or decision: SIGTERM (training checkpoints), then wait
    Stop(StopArgs),
    /// Print a systemd user service + timer and a cron line running `sleep-service once`
    Install(InstallArgs),
}

#[derive(Args)]
pub struct RunArgs {
    /// Seconds between decisions (overrides tick_seconds)
    #[arg(long, value_name = "SECONDS")]
    tick: Option<u64>,
}

#[derive(Args)]
pub struct OnceArgs {
    /// Ignore the sleep window, the idle time and the once-a-night rule (the switches and the
    /// data gates still apply)
    #[arg(long)]
    force: bool,
}

#[derive(Args)]
pub struct StopArgs {
    /// Seconds to wait for the service to exit
    #[arg(long, default_value_t = 900)]
    timeout: u64,
}

#[derive(Args)]
pub struct InstallArgs {
    /// Write the unit files into the systemd user directory (else print them)
    #[arg(long)]
    write: bool,
    /// Minutes between decisions (1-60)
    #[arg(long, default_value_t = 15)]
    every: u32,
    /// Directory for the unit files [default: $XDG_CONFIG_HOME/systemd/user or
    /// ~/.config/systemd/user]
    #[arg(long, value_name = "DIR")]
    unit_dir: Option<PathBuf>,
}

/// Set by SIGTERM / SIGINT / SIGHUP: the run checkpoints and stops, the loop ends.
fn install_signals() -> Result<()> {
    stop_on_signal(
        "sleep-service: stopping (the current step checkpoints; signal again to quit now)",
    )
}

fn system_root(g: &Global, profile: &mh_profile::Profile) -> Option<PathBuf> {
    g.root
        .clone()
        .filter(|_| g.profile.is_none())
        .or_else(|| sleep::system_root_of(profile.root()))
}

pub fn run(c: SleepCommand, g: &Global) -> Result<ExitCode> {
    match c {
        SleepCommand::Run(a) => run_loop(a, g),
        SleepCommand::Once(a) => once(a, g),
        SleepCommand::Stop(a) => stop(a, g),
        SleepCommand::Install(a) => install(a, g),
    }
}

/// Open the profile, take the service's pid lock, route signals to the stop flag, and hand a
/// service on the system clock to `f`.
fn with_service<T>(
    g: &Global,
    f: impl FnOnce(&SleepService<'_>, &ServiceLock) -> Result<T>,
) -> Result<T> {
    let profile = open_profile(g)?;
    let lock = ServiceLock::acquire(profile.root())?;
    install_signals()?;
    let bars = Bars::new(g.quiet || g.json);
    let say = |m: &str| note(g, m);
    let hooks = RunHooks::new(&bars, &say, &STOP);
    let service = SleepService {
        profile: &profile,
        system_root: system_root(g, &profile),
        clock: &SystemClock,
        hooks: &hooks,
    };
    f(&service, &lock)
}

fn run_loop(a: RunArgs, g: &Global) -> Result<ExitCode> {
    with_service(g, |service, lock| {
        note(
            g,
            &format!(
                "sleep service running on {} (pid {}, {}); stop with `mh-train sleep-service stop`",
                service.profile.root().display(),
                std::process::id(),
                lock.path().display()
            ),
        );
        let ticks = service.run(None, a.tick.map(Duration::from_secs));
        note(g, &format!("sleep service stopped after {ticks} decisions"));
        Ok(ExitCode::SUCCESS)
    })
}

fn once(a: OnceArgs, g: &Global) -> Result<ExitCode> {
    let d = with_service(g, |service, _| Ok(service.tick(a.force)?))?;
    if g.json {
        print_json(&d)?;
    } else {
        print_decision(&d);
    }
    Ok(if d.outcome == Outcome::Failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn print_decision(d: &Decision) {
    let gate = d.gate.as_ref().map_or(String::new(), |g| format!(" ({g})"));
    println!("{}{gate}: {}", d.outcome.as_str(), d.reason);
    if let Some(r) = &d.run {
        if let Some(l) = &r.run_label {
            println!("run {l}");
        }
        match r.active_version {
            Some(v) => println!("active version {v}"),
            None => println!("active: the base model"),
        }
    }
    if let Some(t) = &d.next_run {
        println!("next run {t}");
    }
}

fn stop(a: StopArgs, g: &Global) -> Result<ExitCode> {
    let (profile, _) = super::activate::open_lineage(g)?;
    match sleep::stop_service(profile.root(), Duration::from_secs(a.timeout))? {
        StopOutcome::NotRunning => println!("the sleep service is not running"),
        StopOutcome::Stopped { pid, waited_s } => {
            println!("stopped the sleep service (pid {pid}) after {waited_s:.1} s")
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn install(a: InstallArgs, g: &Global) -> Result<ExitCode> {
    let (profile, _) = super::activate::open_lineage(g)?;
    let exe = std::env::current_exe().context("locating the mh-train binary")?;
    let exe = std::fs::canonicalize(&exe).unwrap_or(exe);
    let root = std::fs::canonicalize(profile.root())
        .with_context(|| format!("resolving {}", profile.root().display()))?;
    let args: Vec<String> = match (&g.profile, &g.root, &g.user) {
        (None, Some(r), Some(u)) => vec![
            "--root".into(),
            std::fs::canonicalize(r)
                .unwrap_or(r.clone())
                .display()
                .to_string(),
            "--user".into(),
            u.clone(),
        ],
        _ => vec!["--profile".into(), root.display().to_string()],
    };
    let log = root.join("logs/run/sleep-service.log");
    let units = install::units(&exe, &args, &profile.display_name(), a.every, &log)?;
    if g.json && !a.write {
        print_json(&units)?;
        return Ok(ExitCode::SUCCESS);
    }
    if a.write {
        let dir = match a.unit_dir {
            Some(d) => d,
            None => install::user_unit_dir()?,
        };
        let written = install::write_units(&units, &dir)?;
        for p in &written {
            println!("wrote {}", p.display());
        }
        println!(
            "enable it with: systemctl --user daemon-reload && systemctl --user enable --now {}",
            units.timer_file
        );
        println!(
            "or, without systemd, add this line with `crontab -e`:\n{}",
            units.cron
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!("# {}\n{}", units.service_file, units.service);
    println!("# {}\n{}", units.timer_file, units.timer);
    println!("# crontab line (instead of systemd)\n{}", units.cron);
    Ok(ExitCode::SUCCESS)
}

/// The sleep service's part of `mh-train status`.
pub fn status(g: &Global, profile: &mh_profile::Profile) -> SleepStatus {
    sleep::status(
        profile.root(),
        system_root(g, profile).as_deref(),
        &SystemClock,
    )
}
