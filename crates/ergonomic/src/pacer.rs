//! Pacing under Cloudflare's rate limit, which counts per user and account, not per
//! call: one pacer per [`Client`](crate::Client), fed by every response it sees.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use crate::rate_limit::RateLimit;

/// Spaces request starts so that they fit the rate limit the API advertises, and holds
/// every request back while the API has said to wait (a 429's `Retry-After`).
#[derive(Debug, Default)]
pub(crate) struct Pacer {
    state: Mutex<PacerState>,
    rate_limited: AtomicUsize,
}

#[derive(Debug, Default)]
struct PacerState {
    /// No request starts before this.
    next_start: Option<Instant>,
    /// Gap between starts that keeps within the advertised remaining budget.
    interval: Duration,
}

impl Pacer {
    /// Waits for this request's turn.
    pub(crate) async fn acquire(&self) {
        let start = {
            let mut s = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            let now = Instant::now();
            let start = s.next_start.map_or(now, |t| t.max(now));
            s.next_start = Some(start + s.interval);
            (start > now).then_some(start)
        };
        // Most calls are not held back: no timer for them.
        if let Some(start) = start {
            tokio::time::sleep_until(start).await;
        }
    }

    /// Learns from a response's rate-limit headers: with `r` requests left for `t`
    /// seconds, start one every `t / r`; with none left, wait out the window.
    pub(crate) fn observe(&self, rate_limit: Option<&RateLimit>) {
        let Some(rl) = rate_limit else { return };
        let (Some(remaining), Some(reset)) = (rl.remaining, rl.reset) else {
            return;
        };
        let mut s = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if remaining == 0 {
            let until = Instant::now() + reset;
            s.next_start = Some(s.next_start.map_or(until, |t| t.max(until)));
        } else {
            s.interval = reset / u32::try_from(remaining).unwrap_or(u32::MAX);
        }
    }

    /// Learns from a 429: nobody starts before the advised wait is over.
    pub(crate) fn rate_limited(&self, retry_after: Option<Duration>) {
        self.rate_limited.fetch_add(1, Ordering::Relaxed);
        let wait = retry_after.unwrap_or(Duration::from_secs(1));
        let until = Instant::now() + wait;
        let mut s = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        s.next_start = Some(s.next_start.map_or(until, |t| t.max(until)));
    }

    pub(crate) fn rate_limited_count(&self) -> usize {
        self.rate_limited.load(Ordering::Relaxed)
    }
}
