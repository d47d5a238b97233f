//! Syncing many servers of one account: bounded concurrency, results in input order,
//! and pacing under Cloudflare's account-wide rate limit (1,200 requests per 5 minutes)
//! from the `Ratelimit` headers and 429s the calls see, instead of running into a
//! five-minute block.

use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use crate::client::Client;
use crate::error::{Error, TransportError, TransportKind};
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
            // A panic (in the client or the progress callback) fails this id, not the
            // worker: otherwise the id, and every id the worker would have taken after
            // it, would end untried.
            if CatchUnwind(Box::pin(self.one(i, id))).await.is_err() {
                self.panicked(i);
            }
        }
    }

    /// Syncs id number `i`, re-queued while rate limited, and records its outcome.
    async fn one(&self, i: usize, id: &str) {
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
        let outcome = self.hand_over(i, id, outcome);
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

    /// Gives id number `i`'s outcome to the `on_item` callback, if any, and back.
    fn hand_over(
        &self,
        i: usize,
        id: &str,
        outcome: Result<SyncReport, Error>,
    ) -> Result<SyncReport, Error> {
        match &self.on_item {
            Some(f) => {
                let item = BulkItem {
                    server_id: id.to_string(),
                    outcome,
                };
                f(i, &item);
                item.outcome
            }
            None => outcome,
        }
    }

    /// Id number `i` panicked: it fails, unless its outcome was recorded before the
    /// panic (then the panic was in the progress callback after it, and the outcome
    /// stands).
    fn panicked(&self, i: usize) {
        let recorded = {
            let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
            match slots.get_mut(i) {
                Some(slot @ None) => {
                    *slot = Some(Err(panic_error()));
                    false
                }
                _ => true,
            }
        };
        if !recorded {
            self.failed.fetch_add(1, Ordering::Relaxed);
            let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
            // The callbacks may be what panicked: a second panic must not end the worker.
            let _ = std::panic::catch_unwind(AssertUnwindSafe(|| {
                if let Some(id) = self.ids.get(i) {
                    let _recorded_above = self.hand_over(i, id, Err(panic_error()));
                }
                self.report(done, None);
            }));
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
                // Only if a worker ended outside its catch: not a configuration error,
                // and not "nothing was sent" either.
                outcome: slot.take().unwrap_or_else(|| Err(panic_error())),
            })
            .collect()
    }
}

/// A panic while an id was synced: a request may have gone out (so one attempt, not
/// zero), and retrying it blindly may panic again. The payload is left out: it is not
/// ours and may hold anything.
fn panic_error() -> Error {
    let mut e = TransportError::new(
        TransportKind::Other,
        "the sync of this id panicked (a request may have been sent)",
    );
    e.retryable = false;
    Error::Transport(e)
}

/// A future whose panic comes back as `Err` instead of unwinding through the worker
/// (`futures::FutureExt::catch_unwind`, without the dependency). Boxed so that it is
/// `Unpin` without unsafe code.
struct CatchUnwind<'a>(Pin<Box<dyn Future<Output = ()> + Send + 'a>>);

impl Future for CatchUnwind<'_> {
    type Output = std::thread::Result<()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match std::panic::catch_unwind(AssertUnwindSafe(|| self.0.as_mut().poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(())) => Poll::Ready(Ok(())),
            Err(payload) => Poll::Ready(Err(payload)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panicking_future_comes_back_as_an_error() {
        let caught = CatchUnwind(Box::pin(async {
            tokio::task::yield_now().await;
            #[allow(clippy::panic)]
            {
                panic!("injected");
            }
        }))
        .await;
        assert!(caught.is_err());
        assert!(CatchUnwind(Box::pin(async {})).await.is_ok());
        assert!(matches!(panic_error(), Error::Transport(ref e) if e.attempts() == 1));
    }
}
