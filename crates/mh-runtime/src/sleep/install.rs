//! `sleep-service install`: a systemd user service + timer running `sleep-service once` every
//! few minutes (the decision itself checks the window, idle time and switches), and the
//! equivalent cron line.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::SleepError;

/// The unit files and the cron line for one profile.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Units {
    /// `mh-train-sleep-<name>` (the service and the timer share it).
    pub name: String,
    pub service_file: String,
    pub service: String,
    pub timer_file: String,
    pub timer: String,
    pub cron: String,
}

/// `exe`: the mh-train binary (absolute); `profile_args`: how it names the profile
/// (`--profile DIR`, or `--root DIR --user NAME`); `every_min`: 1–60 minutes between
/// decisions; `log`: where the cron line appends output.
pub fn units(
    exe: &Path,
    profile_args: &[String],
    name: &str,
    every_min: u32,
    log: &Path,
) -> Result<Units, SleepError> {
    if !(1..=60).contains(&every_min) {
        return Err(SleepError::Install(format!(
            "--every {every_min}: expected 1 to 60 minutes"
        )));
    }
    if !exe.is_absolute() {
        return Err(SleepError::Install(format!(
            "{}: the binary path must be absolute",
            exe.display()
        )));
    }
    let slug: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let unit = format!("mh-train-sleep-{slug}");
    let mut argv = vec![exe.display().to_string()];
    argv.extend(profile_args.iter().cloned());
    argv.extend(["-q", "sleep-service", "once"].map(String::from));
    let exec = argv
        .iter()
        .map(|a| systemd_quote(a))
        .collect::<Vec<_>>()
        .join(" ");
    let service = format!(
        "# Written by `mh-train sleep-service install`.\n\
         # One decision of the nightly sleep service (it trains only inside the sleep window,\n\
         # when the person is idle and the switches allow it). Settings the run needs from the\n\
         # environment (OLLAMA_HOST, HF_HOME, MH_PROFILE_PASSPHRASE, RUNPOD_API_KEY) go in an\n\
         # EnvironmentFile= line.\n\
         [Unit]\n\
         Description=mh-train sleep service for {name}\n\
         \n\
         [Service]\n\
         Type=oneshot\n\
         ExecStart={exec}\n\
         Nice=10\n\
         IOSchedulingClass=idle\n\
         TimeoutStartSec=infinity\n\
         # SIGTERM: training checkpoints and the run stops; give it time.\n\
         KillMode=mixed\n\
         TimeoutStopSec=900\n"
    );
    let timer = format!(
        "# Written by `mh-train sleep-service install`.\n\
         [Unit]\n\
         Description=mh-train sleep service for {name}, every {every_min} min\n\
         \n\
         [Timer]\n\
         OnCalendar=*:0/{every_min}\n\
         RandomizedDelaySec=30\n\
         Unit={unit}.service\n\
         \n\
         [Install]\n\
         WantedBy=timers.target\n"
    );
    let cron_cmd = format!(
        "{} >> {} 2>&1",
        argv.iter()
            .map(|a| sh_quote(a))
            .collect::<Vec<_>>()
            .join(" "),
        sh_quote(&log.display().to_string())
    )
    // cron turns an unescaped % into a newline.
    .replace('%', "\\%");
    Ok(Units {
        service_file: format!("{unit}.service"),
        timer_file: format!("{unit}.timer"),
        name: unit,
        service,
        timer,
        cron: format!("*/{every_min} * * * * {cron_cmd}"),
    })
}

/// `$XDG_CONFIG_HOME/systemd/user`, else `~/.config/systemd/user`.
pub fn user_unit_dir() -> Result<PathBuf, SleepError> {
    if let Some(x) = std::env::var_os("XDG_CONFIG_HOME").filter(|x| !x.is_empty()) {
        return Ok(PathBuf::from(x).join("systemd/user"));
    }
    match std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        Some(h) => Ok(PathBuf::from(h).join(".config/systemd/user")),
        None => Err(SleepError::Install(
            "neither XDG_CONFIG_HOME nor HOME is set: pass --unit-dir".into(),
        )),
    }
}

/// Write both unit files into `dir` atomically; returns their paths.
pub fn write_units(u: &Units, dir: &Path) -> Result<Vec<PathBuf>, SleepError> {
    let mut out = Vec::new();
    for (file, text) in [(&u.service_file, &u.service), (&u.timer_file, &u.timer)] {
        let path = dir.join(file);
        mh_profile::atomic_write(&path, text.as_bytes()).map_err(|e| SleepError::Io {
            path: path.clone(),
            source: e,
        })?;
        out.push(path);
    }
    Ok(out)
}

/// One ExecStart= word: `%` and `$` escaped, quoted when it has spaces or quotes.
fn systemd_quote(s: &str) -> String {
    let s = s.replace('%', "%%").replace('$', "$$");
    if !s.is_empty()
        && !s
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, '"' | '\'' | '\\' | ';'))
    {
        return s;
    }
    let mut q = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => q.push_str("\\\""),
            '\\' => q.push_str("\\\\"),
            '\n' => q.push_str("\\n"),
            c => q.push(c),
        }
    }
    q.push('"');
    q
}

/// POSIX shell single quotes.
fn sh_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+=:,@".contains(c))
    {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', "'\\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(systemd_quote("/a/b"), "/a/b");
        assert_eq!(systemd_quote("/my dir/50%"), "\"/my dir/50%%\"");
        assert_eq!(systemd_quote("a\"b"), "\"a\\\"b\"");
        assert_eq!(sh_quote("/a b/it's"), "'/a b/it'\\''s'");
        let u = units(
            Path::new("/usr/bin/mh-train"),
            &["--profile".into(), "/p/ada 100%".into()],
            "ada 1",
            15,
            Path::new("/p/log"),
        )
        .unwrap();
        assert_eq!(u.name, "mh-train-sleep-ada-1");
        assert!(u.service.contains(
            "ExecStart=/usr/bin/mh-train --profile \"/p/ada 100%%\" -q sleep-service once\n"
        ));
        assert!(u.timer.contains("OnCalendar=*:0/15\n"));
        assert!(u
            .cron
            .starts_with("*/15 * * * * /usr/bin/mh-train --profile '/p/ada 100\\%'"));
        assert!(units(Path::new("mh-train"), &[], "x", 15, Path::new("/l")).is_err());
        assert!(units(Path::new("/x"), &[], "x", 0, Path::new("/l")).is_err());
    }
}
