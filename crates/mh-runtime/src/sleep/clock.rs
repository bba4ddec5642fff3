//! Time for the scheduler: the machine's clock, or one a test moves by hand.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, FixedOffset};

/// What the scheduler needs of time. Windows and quiet hours are compared in the local time
/// `now()` returns (its offset is the machine's, as the seed compared `getHours()`).
pub trait Clock: Send + Sync {
    /// The current local time with its UTC offset.
    fn now(&self) -> DateTime<FixedOffset>;
    /// Wait `d`, returning early once `stop` is set.
    fn sleep(&self, d: Duration, stop: &AtomicBool);
}

/// The machine's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<FixedOffset> {
        chrono::Local::now().fixed_offset()
    }

    fn sleep(&self, d: Duration, stop: &AtomicBool) {
        // In short slices so a stop request is seen within a fraction of a second.
        let end = Instant::now() + d;
        while !stop.load(Ordering::SeqCst) {
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            std::thread::sleep(left.min(Duration::from_millis(200)));
        }
    }
}

/// A clock that only moves when told to: `sleep` advances it at once. For simulated nights.
#[derive(Debug)]
pub struct FakeClock {
    now: Mutex<DateTime<FixedOffset>>,
}

impl FakeClock {
    pub fn new(now: DateTime<FixedOffset>) -> Self {
        FakeClock {
            now: Mutex::new(now),
        }
    }

    /// A clock at `rfc3339` (e.g. `2027-01-10T23:30:00-06:00`).
    pub fn at(rfc3339: &str) -> Result<Self, chrono::ParseError> {
        Ok(Self::new(DateTime::parse_from_rfc3339(rfc3339)?))
    }

    pub fn set(&self, now: DateTime<FixedOffset>) {
        *self.lock() = now;
    }

    pub fn advance(&self, d: Duration) {
        let mut now = self.lock();
        if let Some(t) = chrono::Duration::from_std(d)
            .ok()
            .and_then(|d| now.checked_add_signed(d))
        {
            *now = t;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, DateTime<FixedOffset>> {
        // A panic while holding this lock leaves a valid time behind: keep using it.
        self.now.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Clock for FakeClock {
    fn now(&self) -> DateTime<FixedOffset> {
        *self.lock()
    }

    fn sleep(&self, d: Duration, _stop: &AtomicBool) {
        self.advance(d);
    }
}
