//! What a bulk run is told ([`BulkOptions`]) and what it tells back ([`Progress`],
//! [`BulkItem`]): plain data, apart from the run itself in `bulk`.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::error::Error;
use crate::report::SyncReport;

/// The progress callback, shared by the workers.
pub(crate) type ProgressFn = Arc<dyn Fn(&Progress) + Send + Sync>;

/// Settings of [`Client::sync_each`](crate::Client::sync_each) and [`Client::sync_many`](crate::Client::sync_many).
#[derive(Clone)]
#[must_use]
pub struct BulkOptions {
    pub(crate) concurrency: usize,
    pub(crate) rate_limit_rounds: u32,
    pub(crate) max_ahead: usize,
    pub(crate) on_progress: Option<ProgressFn>,
}

/// In flight at once, by default.
pub const DEFAULT_CONCURRENCY: usize = 8;

/// How far past the earliest unfinished id a run may start, by default.
pub const DEFAULT_MAX_AHEAD: usize = 64;

impl Default for BulkOptions {
    /// 8 in flight; an id that is still rate limited after the client's own retries is
    /// tried again up to 5 times (within its total timeout); new ids start at most 64
    /// past the earliest unfinished one.
    fn default() -> Self {
        Self {
            concurrency: DEFAULT_CONCURRENCY,
            rate_limit_rounds: 5,
            max_ahead: DEFAULT_MAX_AHEAD,
            on_progress: None,
        }
    }
}

impl fmt::Debug for BulkOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BulkOptions")
            .field("concurrency", &self.concurrency)
            .field("rate_limit_rounds", &self.rate_limit_rounds)
            .field("max_ahead", &self.max_ahead)
            .field("on_progress", &self.on_progress.is_some())
            .finish()
    }
}

impl BulkOptions {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many syncs are in flight at once (at least 1).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// How many more times an id is tried after it ended rate limited. Every round
    /// spends the id's one total timeout, and its attempt count covers them all.
    pub fn rate_limit_rounds(mut self, n: u32) -> Self {
        self.rate_limit_rounds = n;
        self
    }

    /// An id is started only when it is fewer than `n` places past the earliest id
    /// that has not finished (at least 1). A caller that writes outcomes in input order
    /// then holds at most `n` of them while an early id is slow, whatever the number of
    /// ids; a value below the concurrency lowers the concurrency while that id is slow.
    pub fn max_ahead(mut self, n: usize) -> Self {
        self.max_ahead = n.max(1);
        self
    }

    /// Called after each id finishes (from the worker that finished it), and when a
    /// worker finds the rate limit holding requests back (`waiting` is then set).
    pub fn on_progress(mut self, f: impl Fn(&Progress) + Send + Sync + 'static) -> Self {
        self.on_progress = Some(Arc::new(f));
        self
    }
}

/// Where a bulk sync stands, passed to the progress callback.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Progress {
    /// Ids finished (either way).
    pub done: usize,
    /// Ids in all.
    pub total: usize,
    /// Ids finished with an error.
    pub failed: usize,
    /// Responses of this run that were 429 so far.
    pub rate_limited: usize,
    /// How long the client's pacer is holding requests back for the rate limit, when
    /// it is (a progress bar can say "waiting 4 s for the rate limit").
    pub waiting: Option<Duration>,
}

/// One id's outcome.
#[derive(Debug)]
#[non_exhaustive]
pub struct BulkItem {
    /// The server id, as given.
    pub server_id: String,
    /// Its report or error.
    pub outcome: Result<SyncReport, Error>,
}

#[cfg(test)]
mod tests {
    use super::BulkOptions;

    #[test]
    fn debug_shows_each_setting_and_whether_progress_is_reported() {
        let options = BulkOptions::new()
            .concurrency(3)
            .rate_limit_rounds(5)
            .max_ahead(7)
            .on_progress(|_| {});
        assert_eq!(
            format!("{options:?}"),
            "BulkOptions { concurrency: 3, rate_limit_rounds: 5, max_ahead: 7, on_progress: true }"
        );
    }
}
