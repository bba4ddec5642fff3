//! The one progress interface every long stage reports through: the CLI draws bars from it, the
//! sleep service writes audit lines from it, tests ignore it.

/// Receives progress events. Implementations must be cheap: `advance` is called per item.
pub trait Progress: Sync {
    /// A stage begins; `total` is the number of items when known.
    fn start(&self, stage: &str, total: Option<u64>);
    /// `n` more items of the current stage are done.
    fn advance(&self, n: u64);
    /// The current stage is over.
    fn finish(&self);
    /// A short status for the current stage (e.g. the latest loss); shown beside the bar.
    fn message(&self, _msg: &str) {}
}

/// Discards all progress.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&self, _: &str, _: Option<u64>) {}
    fn advance(&self, _: u64) {}
    fn finish(&self) {}
}
