//! Syncing many servers of one account: bounded concurrency, bounded memory, and
//! pacing under Cloudflare's account-wide rate limit (1,200 requests per 5 minutes)
//! from the `Ratelimit` headers and 429s the calls see, instead of running into a
//! five-minute block.
//!
//! [`Client::sync_each`](crate::Client::sync_each) hands each id's outcome over as
//! soon as it finishes and keeps nothing, so a run's memory is bounded by how many ids
//! are in flight and how far ahead of the earliest unfinished id the run may start new
//! ones ([`BulkOptions::max_ahead`]), not by how many ids there are.
//! [`Client::sync_many`](crate::Client::sync_many) collects the outcomes into one
//! list, for callers that want them all at once.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::sync::Notify;

use crate::bulk_options::{BulkItem, BulkOptions, Progress, ProgressFn};
use crate::client_core::ClientCore;
use crate::error::{Error, TransportError, TransportKind};
use crate::report::SyncReport;

/// The per-item callback of [`Client::sync_each`](crate::Client::sync_each), shared by
/// the workers.
type ItemFn = Arc<dyn Fn(usize, BulkItem) + Send + Sync>;

/// The run behind [`Client::sync_each`](crate::Client::sync_each): workers under the
/// client's pacer, each id delivered once, a panic failing its id alone.
pub(crate) async fn sync_each<I, S>(
    core: &Arc<ClientCore>,
    account_id: &str,
    server_ids: I,
    options: &BulkOptions,
    on_item: impl Fn(usize, BulkItem) + Send + Sync + 'static,
) where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    let ids: Vec<String> = server_ids.into_iter().map(Into::into).collect();
    let total = ids.len();
    let shared = Arc::new(BulkRun {
        core: core.clone(),
        account_id: account_id.to_string(),
        ids,
        next: AtomicUsize::new(0),
        window: Mutex::new(Window {
            finished: vec![false; total],
            earliest: 0,
        }),
        room: Notify::new(),
        max_ahead: options.max_ahead,
        done: AtomicUsize::new(0),
        failed: AtomicUsize::new(0),
        rounds: options.rate_limit_rounds,
        on_progress: options.on_progress.clone(),
        on_item: Arc::new(on_item),
        rate_limited_before: core.pacer().rate_limited_count(),
    });
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..options.concurrency.min(total) {
        let shared = shared.clone();
        workers.spawn(async move { shared.work().await });
    }
    while workers.join_next().await.is_some() {}
    // Only if a worker ended outside its catch: never an id left unaccounted for.
    for i in 0..total {
        if shared.claim(i) {
            shared.deliver_panic(i, 0);
        }
    }
}

/// The run behind [`Client::sync_many`](crate::Client::sync_many): `sync_each` into
/// one slot per id, in input order.
pub(crate) async fn sync_many<I, S>(
    core: &Arc<ClientCore>,
    account_id: &str,
    server_ids: I,
    options: &BulkOptions,
) -> Vec<BulkItem>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    let ids: Vec<String> = server_ids.into_iter().map(Into::into).collect();
    let slots: Arc<Mutex<Vec<Option<BulkItem>>>> =
        Arc::new(Mutex::new((0..ids.len()).map(|_| None).collect()));
    let sink = slots.clone();
    sync_each(core, account_id, ids.clone(), options, move |i, item| {
        if let Some(slot) = sink
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get_mut(i)
        {
            *slot = Some(item);
        }
    })
    .await;
    let mut slots = slots.lock().unwrap_or_else(PoisonError::into_inner);
    ids.into_iter()
        .zip(slots.iter_mut())
        .map(|(server_id, slot)| {
            slot.take().unwrap_or_else(|| BulkItem {
                server_id,
                outcome: Err(panic_error(0)),
            })
        })
        .collect()
}

/// Which ids have finished, and the earliest that has not: new ids start only within
/// `max_ahead` of it.
struct Window {
    finished: Vec<bool>,
    earliest: usize,
}

/// What the workers of one bulk run share: the client, the ids and where the run is.
struct BulkRun {
    core: Arc<ClientCore>,
    account_id: String,
    ids: Vec<String>,
    next: AtomicUsize,
    window: Mutex<Window>,
    /// Woken when the earliest unfinished id moves on.
    room: Notify,
    max_ahead: usize,
    done: AtomicUsize,
    failed: AtomicUsize,
    rounds: u32,
    on_progress: Option<ProgressFn>,
    on_item: ItemFn,
    /// The client's 429 count when this run started: progress counts this run's only.
    rate_limited_before: usize,
}

impl BulkRun {
    async fn work(&self) {
        loop {
            let i = self.next.fetch_add(1, Ordering::Relaxed);
            let Some(id) = self.ids.get(i) else { return };
            self.wait_for_room(i).await;
            // The requests sent for the id in its finished rounds, which a panic in a
            // later round still counts.
            let sent = AtomicU32::new(0);
            // A panic (in the client or a callback) fails this id, not the worker:
            // otherwise the id, and every id the worker would have taken after it,
            // would end untried.
            if CatchUnwind(Box::pin(self.one(i, id, &sent))).await.is_err() && self.claim(i) {
                self.deliver_panic(i, sent.load(Ordering::Relaxed));
            }
        }
    }

    /// Waits until id `i` is fewer than `max_ahead` places past the earliest
    /// unfinished id. The earliest unfinished id was taken before `i` by a worker that
    /// is not waiting (it is within the window), so this always ends.
    async fn wait_for_room(&self, i: usize) {
        loop {
            let notified = self.room.notified();
            let earliest = self.lock_window().earliest;
            if i < earliest.saturating_add(self.max_ahead) {
                return;
            }
            notified.await;
        }
    }

    fn lock_window(&self) -> std::sync::MutexGuard<'_, Window> {
        self.window.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Marks id `i` finished; false if it already was (its outcome was handed over).
    fn claim(&self, i: usize) -> bool {
        let mut window = self.lock_window();
        let Some(finished) = window.finished.get_mut(i) else {
            return false;
        };
        if *finished {
            return false;
        }
        *finished = true;
        let moved = i == window.earliest;
        while window.finished.get(window.earliest) == Some(&true) {
            window.earliest += 1;
        }
        drop(window);
        if moved {
            self.room.notify_waiters();
        }
        true
    }

    /// Syncs id number `i`, tried again while rate limited, and records its outcome.
    /// Every round spends the same budget: the id's total timeout covers them all, and
    /// its attempt count is every request sent for it.
    async fn one(&self, i: usize, id: &str, sent: &AtomicU32) {
        let mut budget = self.core.budget();
        self.report_wait();
        let mut outcome = self.core.sync_within(&self.account_id, id, budget).await;
        let mut round = 0;
        while round < self.rounds {
            let Err(Error::RateLimited(limited)) = &outcome else {
                break;
            };
            // No round could start in time: the id ends rate limited, as it is.
            let now = tokio::time::Instant::now();
            let free_at = self.core.pacer().holding_until().unwrap_or(now).max(now);
            if free_at >= budget.deadline {
                break;
            }
            round += 1;
            budget.sent = limited.attempts;
            sent.store(budget.sent, Ordering::Relaxed);
            self.report_wait();
            outcome = self.core.sync_within(&self.account_id, id, budget).await;
        }
        if self.claim(i) {
            self.deliver(i, id, outcome);
        }
    }

    /// Hands id number `i`'s outcome (already claimed) to the caller and reports
    /// progress.
    fn deliver(&self, i: usize, id: &str, outcome: Result<SyncReport, Error>) {
        if outcome.is_err() {
            self.failed.fetch_add(1, Ordering::Relaxed);
        }
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        (self.on_item)(
            i,
            BulkItem {
                server_id: id.to_string(),
                outcome,
            },
        );
        self.report(done, None);
    }

    /// Id number `i` panicked before its outcome was handed over, after `sent`
    /// requests in its finished rounds: it fails. The callbacks may be what panicked,
    /// so a second panic must not end the worker.
    fn deliver_panic(&self, i: usize, sent: u32) {
        let _ = std::panic::catch_unwind(AssertUnwindSafe(|| {
            if let Some(id) = self.ids.get(i) {
                self.deliver(i, id, Err(panic_error(sent)));
            }
        }));
    }

    /// Tells the progress callback that the rate limit is holding requests, if it is.
    fn report_wait(&self) {
        let now = tokio::time::Instant::now();
        if let Some(until) = self.core.pacer().holding_until() {
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
                    .core
                    .pacer()
                    .rate_limited_count()
                    .saturating_sub(self.rate_limited_before),
                waiting,
            });
        }
    }
}

/// A panic while an id was synced, after `sent` requests in its finished rounds: a
/// request of the round it panicked in may have gone out too (so one attempt more,
/// never zero), and retrying it blindly may panic again. The payload is left out: it is
/// not ours and may hold anything.
fn panic_error(sent: u32) -> Error {
    let mut e = TransportError::new(
        TransportKind::Other,
        "the sync of this id panicked (a request may have been sent)",
    );
    e.retryable = false;
    Error::Transport(e).with_attempts(sent.saturating_add(1))
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
        assert!(
            matches!(panic_error(0), Error::Transport(ref e) if e.attempts() == 1 && !e.retryable)
        );
        assert_eq!(
            panic_error(3).attempts(),
            4,
            "the 3 sent before, and one that may have gone"
        );
    }
}
