//! Progress bars on stderr from the pipeline's [`Progress`] events.

use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use mh_profile::Progress;

/// Draws one bar per stage; hidden when quiet or when stderr is not a terminal.
pub struct Bars {
    bar: Mutex<Option<ProgressBar>>,
    hidden: bool,
}

impl Bars {
    pub fn new(quiet: bool) -> Self {
        Self {
            bar: Mutex::new(None),
            hidden: quiet,
        }
    }
}

impl Progress for Bars {
    fn start(&self, stage: &str, total: Option<u64>) {
        let bar = match total {
            Some(n) => ProgressBar::new(n).with_style(
                ProgressStyle::with_template(
                    "{prefix:>10} [{bar:30}] {pos}/{len} {per_sec} eta {eta} {msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            ),
            None => ProgressBar::new_spinner(),
        };
        if self.hidden {
            bar.set_draw_target(ProgressDrawTarget::hidden());
        }
        bar.set_prefix(stage.to_string());
        bar.enable_steady_tick(Duration::from_millis(200));
        if let Ok(mut slot) = self.bar.lock() {
            *slot = Some(bar);
        }
    }

    fn advance(&self, n: u64) {
        if let Ok(slot) = self.bar.lock() {
            if let Some(bar) = slot.as_ref() {
                bar.inc(n);
            }
        }
    }

    fn message(&self, msg: &str) {
        if let Ok(slot) = self.bar.lock() {
            if let Some(bar) = slot.as_ref() {
                bar.set_message(msg.to_string());
            }
        }
    }

    fn finish(&self) {
        if let Ok(mut slot) = self.bar.lock() {
            if let Some(bar) = slot.take() {
                bar.finish_and_clear();
            }
        }
    }
}
