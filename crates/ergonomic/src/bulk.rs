//! Syncing many servers of one account: bounded concurrency, results in input order,
//! and pacing under Cloudflare's account-wide rate limit (1,200 requests per 5 minutes)
//! from the `Ratelimit` headers and 429s the calls see, instead of running into a
//! five-minute block.

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crate::client::Client;
use crate::error::Error;
use crate::report::SyncReport;

/// The progress callback, shared by the workers.
type ProgressFn = Arc<dyn Fn(&Progress) + Send + Sync>;
/// The per-item callback, shared by the workers.
type ItemFn = Arc<dyn Fn(usize, &BulkItem) + Send + Sync>;

/// Settings of [`Client::sync_many`].
#[derive(Clone)]
#[must_use]
pub struct BulkOptions {
    concurrency: usize,
    rate_limit_rounds: u32,
    on_progress: Option<ProgressFn>,
    on_item: Option<ItemFn>,
}

impl Default for BulkOptions {
    /// 8 in flight; an id that is still rate limited after the client's own retries is
    /// queued again up to 5 times.
    fn default() -> Self {
        Self {
            concurrency: 8,
            rate_limit_rounds: 5,
            on_progress: None,
            on_item: None,
        }
    }
}

impl fmt::Debug for BulkOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BulkOptions")
            .field("concurrency", &self.concurrency)
            .field("rate_limit_rounds", &self.rate_limit_rounds)
            .field("on_progress", &self.on_progress.is_some())
            .field("on_item", &self.on_item.is_some())
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

    /// How many more times an id is tried after it ended rate limited.
    pub fn rate_limit_rounds(mut self, n: u32) -> Self {
        self.rate_limit_rounds = n;
        self
    }

    /// Called after each id finishes (from the worker that finished it), and when a
    /// worker finds the rate limit holding requests back (`waiting` is then set).
    pub fn on_progress(mut self, f: impl Fn(&Progress) + Send + Sync + 'static) -> Self {
        self.on_progress = Some(Arc::new(f));
        self
    }

    /// Called once per id as soon as it finishes, with its index in the input, from the
    /// worker that finished it (so in completion order), before the progress callback.
    /// The same outcome is still in [`Client::sync_many`]'s result; this is for callers
    /// that must act on each result before the run ends, such as a command that writes
    /// each record at once so that an interrupted run keeps what it did.
    pub fn on_item(mut self, f: impl Fn(usize, &BulkItem) + Send + Sync + 'static) -> Self {
        self.on_item = Some(Arc::new(f));
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

impl Client {
    /// Syncs many servers of one account, `options.concurrency` at a time, and returns
    /// one [`BulkItem`] per id in input order: one failure does not lose the others.
    ///
    /// Requests are paced from the `Ratelimit` headers the API sends and from any 429,
    /// so a large run slows down before Cloudflare's account-wide limit instead of
    /// running into its five-minute block. Each id gets the client's retry policy and
    /// total timeout; an id still rate limited after that is queued again (see
    /// [`BulkOptions::rate_limit_rounds`]).
    pub async fn sync_many<I, S>(
        &self,
        account_id: &str,
        server_ids: I,
        options: &BulkOptions,
    ) -> Vec<BulkItem>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let ids: Vec<String> = server_ids.into_iter().map(Into::into).collect();
        let total = ids.len();
        let shared = Arc::new(Shared {
            client: self.clone(),
            account_id: account_id.to_string(),
            ids,
            next: AtomicUsize::new(0),
            slots: Mutex::new((0..total).map(|_| None).collect()),
            done: AtomicUsize::new(0),
            failed: AtomicUsize::new(0),
            rounds: options.rate_limit_rounds,
            on_progress: options.on_progress.clone(),
            on_item: options.on_item.clone(),
            rate_limited_before: self.pacer().rate_limited_count(),
        });
        let mut workers = tokio::task::JoinSet::new();
        for _ in 0..options.concurrency.min(total) {
            let shared = shared.clone();
            workers.spawn(async move { shared.work().await });
        }
        while workers.join_next().await.is_some() {}
        shared.take_slots()
    }
}

struct Shared {
    client: Client,
    account_id: String,
    ids: Vec<String>,
    next: AtomicUsize,
    slots: Mutex<Vec<Option<Result<SyncReport, Error>>>>,
    done: AtomicUsize,
    failed: AtomicUsize,
    rounds: u32,
    on_progress: Option<ProgressFn>,
    on_item: Option<ItemFn>,
    /// The client's 429 count when this run started: progress counts this run's only.
    rate_limited_before: usize,
}

impl Shared {
    async fn work(&self) {
        loop {
            let i = self.next.fetch_add(1, Ordering::Relaxed);
            let Some(id) = self.ids.get(i) else { return };
            self.report_wait();
            let mut outcome = self.client.sync(&self.account_id, id).await;
            let mut round = 0;
            while round < self.rounds && matches!(outcome, Err(Error::RateLimited(_))) {
                round += 1;
                self.report_wait();
                outcome = self.client.sync(&self.account_id, id).await;
            }
            if outcome.is_err() {
                self.failed.fetch_add(1, Ordering::Relaxed);
            }
            let outcome = match &self.on_item {
                Some(f) => {
                    let item = BulkItem {
                        server_id: id.clone(),
                        outcome,
                    };
                    f(i, &item);
                    item.outcome
                }
                None => outcome,
            };
            if let Some(slot) = self
                .slots
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get_mut(i)
            {
                *slot = Some(outcome);
            }
            let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
            self.report(done, None);
        }
    }

    /// Tells the progress callback that the rate limit is holding requests, if it is.
    fn report_wait(&self) {
        let now = tokio::time::Instant::now();
        if let Some(until) = self.client.pacer().holding_until() {
            let done = self.done.load(Ordering::Relaxed);
            self.report(done, Some(until.saturating_duration_since(now)));
        }
    }

    /// `done` is this worker's own count (from its increment), so that the finished
    /// reports count up one by one even when workers finish together.
    fn report(&self, done: usize, waiting: Option<Duration>) {
        if let Some(f) = &self.on_progress {
            f(&Progress {
                done,
                total: self.ids.len(),
                failed: self.failed.load(Ordering::Relaxed),
                rate_limited: self
                    .client
                    .pacer()
                    .rate_limited_count()
                    .saturating_sub(self.rate_limited_before),
                waiting,
            });
        }
    }

    fn take_slots(&self) -> Vec<BulkItem> {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        self.ids
            .iter()
            .zip(slots.iter_mut())
            .map(|(id, slot)| BulkItem {
                server_id: id.clone(),
                outcome: slot.take().unwrap_or_else(|| {
                    Err(Error::Config(crate::error::ConfigError::new(
                        "the bulk sync ended before this id was tried",
                    )))
                }),
            })
            .collect()
    }
}
