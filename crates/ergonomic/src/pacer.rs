//! Pacing under Cloudflare's rate limit, which counts per user and account, not per
//! call: one pacer per [`Client`](crate::Client), fed by every response it sees.
//!
//! What it reads and what it does (the arithmetic of the limit is `quota.rs`'s):
//! - `Ratelimit: …;r=<remaining>;t=<seconds>`: a request starts only while this
//!   client's part of the lowest `r` of the window is larger than what it has in flight
//!   (alone, all of it; in company, its share, spread over the window, after a slow
//!   start). With none left and nothing in flight, requests wait until `t` has passed;
//!   then one request goes alone and its answer starts the new window.
//! - every wait a server names is clamped to
//!   [`MAX_SERVER_WAIT`](crate::numbers::MAX_SERVER_WAIT) before it meets an `Instant`.
//! - no rate-limit header: nothing is held back until a 429; then a quota is learned.
//! - requests take their turns in the order they asked: when a window has room for one
//!   request, it goes to the id that has waited for it, not to whichever task the clock
//!   wakes first (a retrying id could otherwise take every window while another id's
//!   deadline ran out unsent).
//! - a 429: nobody starts before the advised wait is over, a second at least.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::{Instant, timeout_at};

use crate::numbers::after;
use crate::queue::{TurnQueue, either};
use crate::quota::{CountedWindow, Learned};
use crate::rate_limit::RateLimit;

/// In company, how far after a reset each client's probe may go, drawn at random.
const PROBE_SPREAD: Duration = Duration::from_millis(500);

/// A 429 without `Retry-After`, or advising less (`Retry-After: 0`), waits this long:
/// retrying at once only spends requests on 429s (found by attack: 180 of 190).
const DEFAULT_WAIT: Duration = Duration::from_secs(1);

/// How long the others wait for a request sent alone (the first of a run, or the first
/// after a reset) before they go anyway: a slow or stalled answer must not make
/// healthy servers' syncs time out behind it.
pub(crate) const ALONE_AT_MOST: Duration = Duration::from_secs(2);

/// The client's pacer.
#[derive(Debug, Default)]
pub(crate) struct Pacer {
    state: Mutex<State>,
    /// Wakes requests waiting for an answer (the one request sent alone).
    answered: Notify,
    /// Wakes the requests waiting behind the first when a hold appears that may outlast
    /// their deadlines (the first's leaving rings its successor's own bell: `queue.rs`).
    held: Notify,
    rate_limited: AtomicUsize,
}

#[derive(Debug, Default)]
struct State {
    /// What the headers said, once any response carried them.
    counted: Option<CountedWindow>,
    /// This client's share of what counted windows saw spent, once a window showed it
    /// (none known: all of it). Kept from window to window.
    share: Option<f64>,
    /// When the last request started (the spacing of starts in company counts from it).
    last_start: Option<Instant>,
    /// Spreads the spacing of clients in company (a counter, hashed).
    spacing_draws: u64,
    /// In company, when the probe after a reset goes (drawn once per reset).
    probe_at: Option<Instant>,
    /// Requests started and not yet answered.
    in_flight: u64,
    /// Nobody starts before this (a 429's advice).
    blocked_until: Option<Instant>,
    /// Without headers: the limit learned from 429s, and the current window.
    learned: Option<Learned>,
    /// Without headers: when the current run of successes began, and how many.
    run_start: Option<Instant>,
    run_ok: u64,
    /// Whether any answer came back yet: until one does, requests go one at a time,
    /// so that a quota smaller than the concurrency is learned before it is overrun.
    seen_answer: bool,
    /// When the request that went alone started, while the others wait for its answer
    /// (at most [`ALONE_AT_MOST`]).
    alone_since: Option<Instant>,
    /// The requests waiting for their turn, by ticket, in the order they asked.
    queue: TurnQueue,
}

/// One request's place under the limit; dropping it (answered or not) frees the place.
pub(crate) struct Permit<'a> {
    pacer: &'a Pacer,
    /// When the request started: a success started before the limit was learned
    /// belongs to the window it was learned from.
    started: Instant,
}

impl Permit<'_> {
    /// Learns from this request's answer: its rate-limit headers, and whether it was a
    /// 429 with the advised wait.
    pub(crate) fn answered(
        &self,
        rate_limit: Option<&RateLimit>,
        limited: bool,
        advised: Option<Duration>,
    ) {
        self.pacer
            .answered(self.started, rate_limit, limited, advised);
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        let mut s = self.pacer.lock();
        s.in_flight = s.in_flight.saturating_sub(1);
        let held = s.hold(Instant::now(), true).is_some();
        drop(s);
        self.pacer.answered.notify_waiters();
        if held {
            self.pacer.held.notify_waiters();
        }
    }
}

/// A request's place in the line; leaving it (started, given up or dropped) lets the
/// next one try.
struct Place<'a> {
    pacer: &'a Pacer,
    ticket: u64,
}

impl Drop for Place<'_> {
    fn drop(&mut self) {
        let mut s = self.pacer.lock();
        let (_, next) = s.queue.leave(self.ticket);
        drop(s);
        if let Some(bell) = next {
            bell.notify_one();
        }
    }
}

/// What a caller waits for.
enum Wait {
    Until(Instant),
    /// The answer of the request sent alone, or this time, whichever comes first.
    AnswerOr(Instant),
}

impl State {
    /// Until when a 429's advice or a window's count holds requests back. `no_answer`:
    /// only a hold no answer can end (a window spent with nothing in flight); otherwise
    /// also a full one. (A learned quota used up is none: past it requests go one at a
    /// time.)
    fn hold(&self, now: Instant, no_answer: bool) -> Option<Instant> {
        let blocked = self.blocked_until.filter(|t| *t > now);
        let full = |b: &CountedWindow| match no_answer {
            true => self.in_flight == 0 && b.spent(),
            false => b.allowance(self.share, 1.0) <= self.in_flight,
        };
        let spent = self.counted.filter(|b| b.reset > now && full(b));
        [blocked, spent.map(|b| b.reset)]
            .into_iter()
            .flatten()
            .max()
    }

    /// In company a fresh number in `[0, 1)`; alone `alone` (nothing to spread or round).
    fn jitter(&mut self, alone: f64) -> f64 {
        match self.share {
            Some(share) if share < 1.0 => crate::quota::draw(&mut self.spacing_draws),
            _ => alone,
        }
    }
}

impl Pacer {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits for this request's turn and takes its place. A hold that lasts past
    /// `deadline` (an earlier 429's advice, a spent window) is not waited out: its end
    /// comes back as the error, at once, wherever the request is in line.
    ///
    /// Turns are fair, as with tokio's `Semaphore`: a request that has been polled once
    /// keeps its place until it starts or is dropped, so a call left alive but never
    /// polled again holds back the calls behind it on this client. A start wakes only
    /// the next in line; an answer only the first, and the others only when it brings a
    /// hold.
    pub(crate) async fn acquire(&self, deadline: Instant) -> Result<Permit<'_>, Instant> {
        let place = self.join_queue();
        loop {
            // Registered before the state is read: an answer, or a hold, between the
            // two still wakes us.
            let answered = self.answered.notified();
            let held = self.held.notified();
            let bell = {
                let mut s = self.lock();
                let first = s.queue.is_first(place.ticket);
                (!first).then(|| s.queue.bell(place.ticket)).flatten()
            };
            if let Some(bell) = bell {
                // What holds the first holds everyone: only the first need look, but a
                // hold that outlasts this request's deadline is its answer now.
                if let Some(until) = self.hold_no_answer_ends(Instant::now())
                    && until > deadline
                {
                    return Err(until);
                }
                either(bell.notified(), held).await;
                continue;
            }
            match self.try_start(Instant::now()) {
                Ok(()) => {
                    drop(place);
                    return Ok(Permit {
                        pacer: self,
                        started: Instant::now(),
                    });
                }
                Err(Wait::Until(when)) if when > deadline => return Err(when),
                // A later 429 may push the hold past the deadline: look again then.
                Err(Wait::Until(when)) => drop(timeout_at(when, self.held.notified()).await),
                Err(Wait::AnswerOr(when)) => {
                    let _ = tokio::time::timeout_at(when, answered).await;
                }
            }
        }
    }

    fn hold_no_answer_ends(&self, now: Instant) -> Option<Instant> {
        self.lock().hold(now, true)
    }

    /// Takes a ticket at the end of the queue.
    fn join_queue(&self) -> Place<'_> {
        let ticket = self.lock().queue.join();
        Place {
            pacer: self,
            ticket,
        }
    }

    fn try_start(&self, now: Instant) -> Result<(), Wait> {
        let mut s = self.lock();
        if let Some(until) = s.blocked_until {
            if until > now {
                return Err(Wait::Until(until));
            }
            s.blocked_until = None;
        }
        if let Some(counted) = s.counted
            && counted.reset <= now
        {
            // The count has reset: one request goes alone to learn the new `r`. The
            // spent counted stays until its answer comes: clearing it here would
            // let every waiting request through behind this one.
            if s.in_flight > 0 {
                // Requests of the old window still out: their answers may come any
                // time. The one sent alone: at most ALONE_AT_MOST, then nothing is
                // known of the new window, as after an answer without the header.
                let until = *s.alone_since.get_or_insert(now) + ALONE_AT_MOST;
                if until > now {
                    return Err(Wait::AnswerOr(until));
                }
                s.counted = None;
            } else {
                // In company, each client's probe goes at its own moment within
                // PROBE_SPREAD of the reset: probes sent together when a sliding window
                // frees one place draw a 429 each but one.
                if s.share.is_some_and(|share| share < 1.0) {
                    let spread = PROBE_SPREAD.mul_f64(s.jitter(0.0));
                    let at = *s.probe_at.get_or_insert(counted.reset + spread);
                    if at > now {
                        return Err(Wait::AnswerOr(at));
                    }
                }
                s.probe_at = None;
                s.in_flight += 1;
                s.alone_since = Some(now);
                return Ok(());
            }
        }
        if let Some(counted) = s.counted {
            // In company, starts are spread over what is left of the window: requests
            // spent at once leave nothing for clients whose window starts a little later.
            let allowance = counted.allowance(s.share, s.jitter(1.0));
            if let Some(gap) = counted.spacing(s.share, allowance, now, s.jitter(0.0)) {
                let next = s.last_start.map_or(now, |t| t + gap).min(counted.reset);
                if next > now && allowance > s.in_flight {
                    return Err(Wait::AnswerOr(next));
                }
            }
            if allowance > s.in_flight {
                s.in_flight += 1;
                s.last_start = Some(now);
                return Ok(());
            }
            // Full: an answer may show that a request in flight was already counted;
            // with none in flight, only the reset helps. A share that rounds to nothing
            // is this client's restraint, not the server's count: it never fails a
            // request before its deadline.
            return Err(if s.in_flight > 0 || !counted.spent() {
                // Any answer may free a place; the reset does in any case.
                Wait::AnswerOr(counted.reset)
            } else {
                Wait::Until(counted.reset)
            });
        }
        if !s.seen_answer && s.in_flight > 0 {
            let until = *s.alone_since.get_or_insert(now) + ALONE_AT_MOST;
            if until > now {
                return Err(Wait::AnswerOr(until));
            }
        }
        if !s.seen_answer && s.in_flight == 0 {
            s.alone_since = Some(now);
        }
        let in_flight = s.in_flight;
        if let Some(learned) = &mut s.learned
            && !learned.start(now, in_flight)
        {
            // Past the quota: one at a time. Any answer may free it; a new window does.
            return Err(Wait::AnswerOr(learned.window_end()));
        }
        if s.run_start.is_none() {
            s.run_start = Some(now);
        }
        s.in_flight += 1;
        Ok(())
    }

    /// Learns from an answer (before its permit is dropped): its rate-limit headers,
    /// and whether it was a 429 with the advised wait.
    fn answered(
        &self,
        started: Instant,
        rate_limit: Option<&RateLimit>,
        limited: bool,
        advised: Option<Duration>,
    ) {
        let now = Instant::now();
        let mut s = self.lock();
        s.seen_answer = true;
        s.alone_since = None;
        // A reset that is now (`t=0`, an epoch reset already past) says nothing of the
        // window to come: read as a count, it would send every request alone.
        let counted = rate_limit
            .and_then(|rl| rl.remaining.zip(rl.reset))
            .filter(|(_, t)| !t.is_zero());
        if counted.is_none() && s.counted.is_some_and(|b| b.reset <= now) {
            // The answer after a reset carries no count: nothing is known any more.
            s.counted = None;
        }
        if let Some((r, t)) = counted {
            // This answer's request is still counted in flight (its permit not dropped).
            let (counted, share) = CountedWindow::count(
                s.counted,
                r,
                after(now, t),
                now,
                s.in_flight.saturating_sub(1),
            );
            let new_window = counted.answered() == 1;
            s.counted = Some(counted);
            s.share = crate::quota::next_share(s.share, share, new_window, counted.telling());
        }
        if limited {
            self.rate_limited.fetch_add(1, Ordering::Relaxed);
            let until = after(now, advised.unwrap_or(DEFAULT_WAIT).max(DEFAULT_WAIT));
            s.blocked_until = Some(s.blocked_until.map_or(until, |t| t.max(until)));
            let spent_count = counted.is_some_and(|(r, _)| r == 0);
            if let Some(counted) = &mut s.counted {
                counted.limited(until, spent_count);
                // Overspent: a client that took the window for its own takes half at most.
                s.share = Some(s.share.unwrap_or(1.0).min(0.5));
            } else {
                // No headers: what succeeded since the run began is the quota of one
                // window, which ends when the server says to come back.
                s.learned = Learned::from_429(s.learned, s.run_start, s.run_ok, now, until);
            }
            s.run_start = None;
            s.run_ok = 0;
        } else {
            s.run_ok += 1;
            if let Some(learned) = &mut s.learned {
                learned.succeeded(started);
            }
        }
    }

    /// Until when requests are held back for the rate limit, if they are now.
    pub(crate) fn holding_until(&self) -> Option<Instant> {
        self.lock().hold(Instant::now(), false)
    }

    /// 429s seen so far.
    pub(crate) fn rate_limited_count(&self) -> usize {
        self.rate_limited.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A deadline no test reaches.
    fn far() -> Instant {
        Instant::now() + Duration::from_secs(3600)
    }

    /// A pacer whose one request so far was answered 429 `Retry-After: 1`, and the
    /// end of the hold that set.
    async fn held_for_a_second() -> (Pacer, Instant) {
        let p = Pacer::default();
        let first = p.acquire(far()).await.unwrap();
        first.answered(None, true, Some(Duration::from_secs(1)));
        drop(first);
        let until = p.holding_until().unwrap();
        (p, until)
    }

    /// A pacer whose first answer said `remaining` requests are left until a reset
    /// `reset_secs` from now.
    async fn counted(remaining: u64, reset_secs: u64) -> Pacer {
        let p = Pacer::default();
        let first = p.acquire(far()).await.unwrap();
        first.answered(Some(&rl(remaining, reset_secs)), false, None);
        drop(first);
        p
    }

    /// Polls `request` once, the clock unmoved: whether it is still waiting.
    async fn still_waiting<F: std::future::Future + Unpin>(request: &mut F) -> bool {
        tokio::time::timeout(Duration::ZERO, request).await.is_err()
    }

    fn rl(remaining: u64, reset_secs: u64) -> RateLimit {
        RateLimit {
            remaining: Some(remaining),
            reset: Some(Duration::from_secs(reset_secs)),
            ..RateLimit::default()
        }
    }

    #[tokio::test]
    async fn no_more_in_flight_than_the_remaining_quota() {
        let p = counted(3, 10).await;
        assert_eq!(p.holding_until(), None, "3 places free: nothing held");
        let held: Vec<Permit<'_>> = vec![
            p.acquire(far()).await.unwrap(),
            p.acquire(far()).await.unwrap(),
            p.acquire(far()).await.unwrap(),
        ];
        assert!(
            p.try_start(Instant::now()).is_err(),
            "a fourth would overdraw r=3"
        );
        assert!(p.holding_until().is_some());
        drop(held);
    }

    /// A spent count holds until its reset and not at it (a paused clock moved to the
    /// reset instant exactly).
    #[tokio::test(start_paused = true)]
    async fn a_spent_count_holds_until_its_reset_and_not_at_it() {
        let p = counted(0, 10).await;
        let until = p.holding_until().expect("a spent count holds");
        tokio::time::advance(until - Instant::now()).await;
        assert_eq!(p.holding_until(), None, "at the reset itself");
    }

    /// An answer whose reset is a second or more past the known one is a later window:
    /// its count replaces the old one instead of being merged into it. (The clock is
    /// paused: both answers come at one instant, the second's reset exactly 1 s later.)
    #[tokio::test(start_paused = true)]
    async fn an_answer_from_a_later_window_replaces_the_count() {
        let p = counted(1, 10).await;
        let second = p.acquire(far()).await.unwrap();
        second.answered(Some(&rl(2, 11)), false, None);
        drop(second);
        let started = (0..2)
            .filter(|_| p.try_start(Instant::now()).is_ok())
            .count();
        assert_eq!(started, 2, "the later window's places");
        assert!(p.try_start(Instant::now()).is_err(), "and no third");
    }

    /// An answer without a count, within a counted window, leaves the count as it
    /// is: one place left stays one place.
    #[tokio::test(start_paused = true)]
    async fn an_answer_without_a_count_keeps_the_windows_count() {
        let p = counted(1, 10).await;
        let plain = p.acquire(far()).await.unwrap();
        plain.answered(None, false, None);
        drop(plain);
        assert!(p.try_start(Instant::now()).is_ok(), "the one place");
        assert!(
            p.try_start(Instant::now()).is_err(),
            "a second would overdraw r=1"
        );
    }

    #[tokio::test]
    async fn without_headers_nothing_is_held_back() {
        let p = Pacer::default();
        let first = p.acquire(far()).await.unwrap();
        first.answered(None, false, None);
        drop(first);
        let permits: Vec<Permit<'_>> = (0..50)
            .map(|_| {
                p.try_start(Instant::now()).map(|()| Permit {
                    pacer: &p,
                    started: Instant::now(),
                })
            })
            .collect::<Result<_, _>>()
            .ok()
            .unwrap();
        assert_eq!(p.lock().in_flight, 50);
        drop(permits);
        assert_eq!(p.lock().in_flight, 0);
        assert!(p.holding_until().is_none());
    }

    /// A success counts into the learned quota only if it started before the 429
    /// that taught it was answered: one that started at that very instant does not,
    /// one that started earlier does. (The clock is paused.)
    #[tokio::test(start_paused = true)]
    async fn only_successes_started_before_the_429_count_into_its_quota() {
        let p = Pacer::default();
        for _ in 0..2 {
            let ok = p.acquire(far()).await.unwrap();
            ok.answered(None, false, None);
        }
        let earlier = p.acquire(far()).await.unwrap();
        tokio::time::advance(Duration::from_millis(1)).await;
        let same_instant = p.acquire(far()).await.unwrap();
        let limited = p.acquire(far()).await.unwrap();
        limited.answered(None, true, Some(Duration::from_secs(2)));
        drop(limited);
        assert_eq!(p.lock().learned.unwrap().quota, 2, "the two before");
        same_instant.answered(None, false, None);
        assert_eq!(
            p.lock().learned.unwrap().quota,
            2,
            "started with the 429's answer"
        );
        earlier.answered(None, false, None);
        assert_eq!(p.lock().learned.unwrap().quota, 3, "started before it");
    }

    #[tokio::test]
    async fn a_429_without_headers_teaches_the_limit() {
        let p = Pacer::default();
        for _ in 0..5 {
            let permit = p.acquire(far()).await.unwrap();
            permit.answered(None, false, None);
            drop(permit);
        }
        let permit = p.acquire(far()).await.unwrap();
        permit.answered(None, true, Some(Duration::from_secs(2)));
        drop(permit);
        let learned = p.lock().learned.unwrap();
        assert_eq!(learned.quota, 5);
        assert!(p.holding_until().is_some());
        assert_eq!(p.rate_limited_count(), 1);
    }

    #[tokio::test]
    async fn the_lowest_r_of_a_window_less_what_is_in_flight() {
        let p = Pacer::default();
        let a = p.acquire(far()).await.unwrap();
        a.answered(Some(&rl(5, 10)), false, None);
        drop(a);
        let b = p.acquire(far()).await.unwrap();
        let c = p.acquire(far()).await.unwrap();
        // An older answer arriving late cannot raise the count.
        b.answered(Some(&rl(6, 10)), false, None);
        assert_eq!(p.lock().counted.unwrap().min_r, 5);
        // 5 left, 2 in flight: 3 more may start, not 4.
        let more: Vec<Permit<'_>> = (0..3)
            .map(|_| {
                p.try_start(Instant::now()).map(|()| Permit {
                    pacer: &p,
                    started: Instant::now(),
                })
            })
            .collect::<Result<_, _>>()
            .ok()
            .unwrap();
        assert!(p.try_start(Instant::now()).is_err());
        drop((b, c, more));
    }

    #[tokio::test]
    async fn after_a_reset_one_request_goes_alone_until_its_answer() {
        // r=0 and t=1: spent, and a second later the window has reset. (A reset that is
        // now, `t=0`, is no count at all: `a_reset_that_is_now_is_no_count`.)
        tokio::time::pause();
        let p = counted(0, 1).await;
        tokio::time::advance(Duration::from_secs(1)).await;
        let probe = p.acquire(far()).await.unwrap();
        assert!(
            matches!(p.try_start(Instant::now()), Err(Wait::AnswerOr(_))),
            "a second request went beside the one sent alone"
        );
        probe.answered(Some(&rl(0, 10)), false, None);
        drop(probe);
        assert!(matches!(p.try_start(Instant::now()), Err(Wait::Until(_))));
    }

    /// A 429's advised wait holds every start until it is over, and not a moment
    /// longer; a call whose deadline comes first is told at once when the hold ends.
    #[tokio::test]
    async fn an_advised_wait_holds_until_it_ends_and_is_waited_within_the_deadline() {
        let p = Pacer::default();
        let first = p.acquire(far()).await.unwrap();
        first.answered(None, true, Some(Duration::from_millis(50)));
        drop(first);
        let until = p.holding_until().unwrap();
        assert!(
            matches!(p.try_start(until - Duration::from_millis(1)), Err(Wait::Until(t)) if t == until)
        );
        assert!(p.try_start(until).is_ok(), "the hold is over at its end");
        let p = Pacer::default();
        let first = p.acquire(far()).await.unwrap();
        first.answered(None, true, Some(Duration::from_millis(50)));
        drop(first);
        let until = p.holding_until().unwrap();
        // A deadline before the hold's end: the end comes back at once.
        assert_eq!(
            p.acquire(until - Duration::from_millis(10)).await.err(),
            Some(until)
        );
        // A deadline exactly at the end: waited, then the turn.
        assert!(p.acquire(until).await.is_ok());
    }

    /// A place that frees while a request waits for it goes to that request, not to
    /// one that asks at the moment it frees (seen: under load, an id retrying at each
    /// window's end took every place while the other id's deadline ran out unsent).
    #[tokio::test(start_paused = true)]
    async fn a_free_place_goes_to_the_request_that_waited_for_it() {
        let (p, until) = held_for_a_second().await;
        // The waiter asks during the hold and is polled once: it is in line.
        let mut waiter = Box::pin(p.acquire(far()));
        assert!(still_waiting(&mut waiter).await);
        tokio::time::advance(until - Instant::now()).await;
        assert!(p.holding_until().is_none(), "the hold is over");
        // A newcomer at the hold's end, before the waiter runs again: it waits its turn.
        assert!(
            still_waiting(&mut Box::pin(p.acquire(far()))).await,
            "a newcomer took the place of a request waiting for it"
        );
        assert!(waiter.await.is_ok(), "the waiter's turn");
    }

    /// A request that stops waiting (its deadline's timeout dropped it) leaves the line:
    /// the next one is not held behind it.
    #[tokio::test(start_paused = true)]
    async fn a_request_that_stops_waiting_leaves_the_line() {
        let (p, until) = held_for_a_second().await;
        let mut gone = Box::pin(p.acquire(far()));
        assert!(still_waiting(&mut gone).await);
        let mut next = Box::pin(p.acquire(far()));
        assert!(still_waiting(&mut next).await);
        drop(gone);
        tokio::time::advance(until - Instant::now()).await;
        assert!(
            !still_waiting(&mut next).await,
            "held behind a request that had left"
        );
        assert!(p.lock().queue.is_empty());
    }

    /// Behind the first in line, a hold that outlasts a request's deadline is still
    /// its answer at once (not a wait until the deadline).
    #[tokio::test(start_paused = true)]
    async fn a_hold_past_the_deadline_is_the_answer_in_line_too() {
        let (p, until) = held_for_a_second().await;
        let mut ahead = Box::pin(p.acquire(far()));
        assert!(still_waiting(&mut ahead).await);
        let started = Instant::now();
        assert_eq!(
            p.acquire(until - Duration::from_millis(10)).await.err(),
            Some(until)
        );
        assert_eq!(Instant::now(), started, "answered without waiting");
        // A deadline exactly at the hold's end is not outlasted: it waits in line.
        let mut at_the_end = Box::pin(p.acquire(until));
        assert!(still_waiting(&mut at_the_end).await);
        // At the hold's very end nothing is held: even a request out of time waits its
        // turn in line rather than being told of a hold that is over.
        tokio::time::advance(until - Instant::now()).await;
        let mut late = Box::pin(p.acquire(until - Duration::from_millis(10)));
        assert!(still_waiting(&mut late).await);
    }

    /// Behind the first in line, a request is told at once of a hold that outlasts
    /// its deadline, waits when the hold ends at its deadline, and waits once the hold
    /// is over even when it is out of time.
    async fn holds_in_line_until(p: &Pacer, until: Instant) {
        let mut ahead = Box::pin(p.acquire(far()));
        assert!(still_waiting(&mut ahead).await);
        // Polled once, the clock unmoved: the answer must be there.
        let told =
            tokio::time::timeout(Duration::ZERO, p.acquire(until - Duration::from_millis(10)))
                .await;
        assert_eq!(told.ok().and_then(Result::err), Some(until), "told at once");
        assert!(still_waiting(&mut Box::pin(p.acquire(until))).await);
        tokio::time::advance(until - Instant::now()).await;
        let mut late = Box::pin(p.acquire(until - Duration::from_millis(10)));
        assert!(
            still_waiting(&mut late).await,
            "told of a hold that is over"
        );
    }

    /// A spent count with nothing in flight holds the line until its reset.
    #[tokio::test(start_paused = true)]
    async fn a_spent_count_is_the_answer_in_line_too() {
        let p = counted(0, 10).await;
        let until = p.holding_until().expect("a spent count holds");
        holds_in_line_until(&p, until).await;
    }

    /// Past a quota learned from a 429 without headers, requests go one at a time: the
    /// third waits while two are out, and starts when they have been answered.
    #[tokio::test(start_paused = true)]
    async fn past_a_learned_quota_requests_go_one_at_a_time() {
        let p = Pacer::default();
        for _ in 0..2 {
            let ok = p.acquire(far()).await.unwrap();
            ok.answered(None, false, None);
        }
        tokio::time::advance(Duration::from_secs(1)).await;
        let limited = p.acquire(far()).await.unwrap();
        limited.answered(None, true, Some(Duration::from_secs(2)));
        drop(limited);
        let blocked = p.holding_until().unwrap();
        tokio::time::advance(blocked - Instant::now()).await;
        // The learned quota of 2, out at once.
        let (a, b) = (
            p.acquire(far()).await.unwrap(),
            p.acquire(far()).await.unwrap(),
        );
        let mut third = Box::pin(p.acquire(far()));
        assert!(still_waiting(&mut third).await);
        assert_eq!(p.holding_until(), None, "not a hold: an answer frees it");
        a.answered(None, false, None);
        drop(a);
        assert!(still_waiting(&mut third).await, "one still out");
        b.answered(None, false, None);
        drop(b);
        assert!(third.await.is_ok());
    }

    /// A hold that appears while a request waits behind the first in line (a 429
    /// answered meanwhile) is its answer at once when it outlasts its deadline: it does
    /// not wait out the deadline in line (found by review: the line hid new holds).
    #[tokio::test(start_paused = true)]
    async fn a_hold_that_appears_while_in_line_is_the_answer_at_once() {
        let p = Pacer::default();
        let alone = p.acquire(far()).await.unwrap();
        let mut first = Box::pin(p.acquire(far()));
        assert!(still_waiting(&mut first).await);
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut behind = Box::pin(p.acquire(deadline));
        assert!(still_waiting(&mut behind).await);
        alone.answered(None, true, Some(Duration::from_secs(30)));
        drop(alone);
        let until = p.holding_until().unwrap();
        assert!(until > deadline);
        // The first in line (no deadline) sleeps the hold out.
        assert!(still_waiting(&mut first).await);
        let started = Instant::now();
        let got = tokio::time::timeout_at(deadline, &mut behind).await;
        assert_eq!(Instant::now(), started, "waited in line until its deadline");
        assert_eq!(got.ok().and_then(Result::err), Some(until));
    }

    /// A full window with answers still to come is no hold for anyone in line: an answer
    /// may free a place before the deadline (found by review: behind the first, it was
    /// refused at once).
    #[tokio::test(start_paused = true)]
    async fn a_full_window_with_answers_to_come_is_waited_for_in_line_too() {
        let p = counted(2, 60).await;
        let a = p.acquire(far()).await.unwrap();
        let b = p.acquire(far()).await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut ahead = Box::pin(p.acquire(deadline));
        assert!(still_waiting(&mut ahead).await);
        let mut behind = Box::pin(p.acquire(deadline));
        assert!(
            still_waiting(&mut behind).await,
            "refused at once, or started past a full window"
        );
        // Both answers say two places are left: both waiting requests start.
        a.answered(Some(&rl(2, 60)), false, None);
        b.answered(Some(&rl(2, 60)), false, None);
        drop((a, b));
        assert!(ahead.await.is_ok());
        assert!(
            behind.await.is_ok(),
            "a place came free within its deadline"
        );
    }

    /// A request sent alone (the first of a run, the first after a reset) holds the
    /// others only so long: a stalled answer must not time out healthy calls behind it.
    #[tokio::test(start_paused = true)]
    async fn a_request_sent_alone_holds_the_others_for_a_bounded_time() {
        // The clock is paused: `now` is the instant the request went alone, and the others
        // go at exactly ALONE_AT_MOST after it, not a moment later.
        let later = |now: Instant| now + ALONE_AT_MOST;
        // The first of a run.
        let p = Pacer::default();
        let _first = p.acquire(far()).await.unwrap();
        let now = Instant::now();
        assert!(matches!(p.try_start(now), Err(Wait::AnswerOr(t)) if t <= now + ALONE_AT_MOST));
        assert!(
            p.try_start(later(now)).is_ok(),
            "still held after ALONE_AT_MOST"
        );
        // The first after a reset.
        let p = counted(0, 1).await;
        tokio::time::advance(Duration::from_secs(1)).await;
        let _probe = p.acquire(far()).await.unwrap();
        let now = Instant::now();
        assert!(matches!(p.try_start(now), Err(Wait::AnswerOr(_))));
        assert!(
            p.try_start(later(now)).is_ok(),
            "still held after ALONE_AT_MOST"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_answer_without_the_header_after_a_reset_frees_everyone() {
        let p = counted(0, 1).await;
        tokio::time::advance(Duration::from_secs(1)).await;
        let probe = p.acquire(far()).await.unwrap();
        probe.answered(None, false, None);
        drop(probe);
        let both = (
            p.acquire(far()).await.unwrap(),
            p.acquire(far()).await.unwrap(),
        );
        drop(both);
    }

    /// Found by attack: `t=0` on every answer (or an epoch reset already past) sent
    /// every request alone. Such a count says nothing of the window to come.
    #[tokio::test]
    async fn a_reset_that_is_now_is_no_count() {
        let p = counted(50, 0).await;
        assert!(p.lock().counted.is_none());
        let together: Vec<Permit<'_>> = vec![
            p.acquire(far()).await.unwrap(),
            p.acquire(far()).await.unwrap(),
            p.acquire(far()).await.unwrap(),
        ];
        drop(together);
    }

    /// Found by attack: `Retry-After: 0` on a 429 held nothing, and the retries spent
    /// 180 requests on 429s in 0.2 s. A 429 holds for a second at least.
    #[tokio::test(start_paused = true)]
    async fn a_429_holds_a_second_at_least() {
        let p = Pacer::default();
        let first = p.acquire(far()).await.unwrap();
        let now = Instant::now();
        first.answered(None, true, Some(Duration::ZERO));
        drop(first);
        assert_eq!(p.holding_until(), Some(now + DEFAULT_WAIT));
    }

    /// Found by the second attack: a request of the old window that never answered held
    /// every start after the reset until its attempt timed out (the bound on waiting for
    /// it was counted from each look, so it never came).
    #[tokio::test(start_paused = true)]
    async fn a_stalled_request_of_the_old_window_holds_the_new_one_a_bounded_time() {
        let p = counted(5, 1).await;
        let _stalled = p.acquire(far()).await.unwrap();
        tokio::time::advance(Duration::from_secs(1)).await;
        let t0 = Instant::now();
        let started = tokio::time::timeout(ALONE_AT_MOST * 2, p.acquire(far())).await;
        assert!(
            started.is_ok(),
            "still waiting after {:?}",
            Instant::now() - t0
        );
    }

    /// Found by the second attack: a 429 advising 2 s beside a count resetting in 60 s
    /// held the client 60 s, and a call with 30 s left failed at once. The advice
    /// rules, unless the 429's own count says nothing is left.
    #[tokio::test(start_paused = true)]
    async fn a_429_with_room_left_holds_for_its_advice() {
        for known in [true, false] {
            let p = if known {
                counted(50, 60).await
            } else {
                Pacer::default()
            };
            let a = p.acquire(far()).await.unwrap();
            a.answered(Some(&rl(50, 60)), true, Some(Duration::from_secs(2)));
            drop(a);
            let t0 = Instant::now();
            let permit = p.acquire(t0 + Duration::from_secs(30)).await;
            assert!(permit.is_ok(), "known window {known}");
            // The advice, and the probe's spread in company (a 429 halves the share).
            let waited = Instant::now() - t0;
            assert!(waited >= Duration::from_secs(2), "{waited:?}");
            assert!(
                waited <= Duration::from_secs(2) + PROBE_SPREAD,
                "{waited:?}"
            );
        }
        let p = Pacer::default();
        let a = p.acquire(far()).await.unwrap();
        a.answered(Some(&rl(0, 60)), true, Some(Duration::from_secs(2)));
        drop(a);
        let spent = p.acquire(Instant::now() + Duration::from_secs(30)).await;
        assert!(spent.is_err(), "a spent count holds to its reset");
    }

    /// Found by the second attack: the first in line, sleeping out a hold within its
    /// deadline, learned of a later 429's longer hold only when the first hold ended.
    #[tokio::test(start_paused = true)]
    async fn the_first_in_line_is_told_at_once_of_a_hold_past_its_deadline() {
        let p = Pacer::default();
        let first = p.acquire(far()).await.unwrap();
        first.answered(None, false, None);
        drop(first);
        let (a, b) = (
            p.acquire(far()).await.unwrap(),
            p.acquire(far()).await.unwrap(),
        );
        a.answered(None, true, Some(Duration::from_secs(5)));
        drop(a);
        let t0 = Instant::now();
        let mut waiting = Box::pin(p.acquire(t0 + Duration::from_secs(10)));
        assert!(still_waiting(&mut waiting).await);
        b.answered(None, true, Some(Duration::from_secs(60)));
        drop(b);
        assert!(waiting.await.is_err());
        assert_eq!(Instant::now(), t0, "told at once");
    }

    #[tokio::test]
    async fn waits_too_long_for_the_clock_are_held_to_a_day() {
        let p = Pacer::default();
        let permit = p.acquire(far()).await.unwrap();
        let huge = RateLimit {
            remaining: Some(0),
            reset: Some(Duration::MAX),
            ..RateLimit::default()
        };
        permit.answered(Some(&huge), true, Some(Duration::MAX));
        drop(permit);
        let until = p.holding_until().unwrap();
        let day = crate::numbers::MAX_SERVER_WAIT;
        assert!(until <= Instant::now() + day, "clamped to a day");
        // Past the deadline: the end of the hold comes back at once.
        assert_eq!(p.acquire(far()).await.err(), Some(until));
    }

    proptest! {
        /// Whatever a server writes in the rate-limit and retry headers, reading them,
        /// pacing on them and deciding on a retry never panics.
        #[test]
        fn no_header_value_panics_the_pacer_or_the_retry_decision(
            values in proptest::collection::vec(
                prop_oneof![
                    any::<u64>().prop_map(|n| n.to_string()),
                    any::<f64>().prop_map(|f| f.to_string()),
                    (0u32..30).prop_map(|e| format!("1e{e}")),
                    prop_oneof![
                        Just("inf".to_string()),
                        Just("18446744073709551615".to_string()),
                        Just("-1".to_string()),
                        Just("NaN".to_string()),
                    ],
                    "[ -~]{0,24}",
                ],
                5..=5,
            ),
            status_429: bool,
        ) {
            let mut h = reqwest::header::HeaderMap::new();
            let names = ["retry-after", "retry-after-ms", "x-ratelimit-reset", "x-ratelimit-remaining"];
            for (name, v) in names.iter().zip(&values) {
                if let Ok(v) = reqwest::header::HeaderValue::from_str(v) {
                    h.insert(*name, v);
                }
            }
            let ratelimit = format!("\"default\";r={};t={}", values[3], values[4]);
            if let Ok(v) = reqwest::header::HeaderValue::from_str(&ratelimit) {
                h.insert("ratelimit", v);
            }
            let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
            rt.block_on(async {
                let p = Pacer::default();
                for attempt in 1..=3 {
                    let deadline = Instant::now() + Duration::from_secs(30);
                    let Ok(permit) = p.acquire(deadline).await else { break };
                    let advised = crate::retry::advised_wait(&h, std::time::SystemTime::now());
                    let rl = RateLimit::from_headers(&h);
                    permit.answered(rl.as_ref(), status_429, advised);
                    drop(permit);
                    let _ = p.holding_until();
                    let _ = crate::retry::RetryPolicy::default().decide(
                        attempt,
                        true,
                        advised,
                        deadline.saturating_duration_since(Instant::now()),
                        0.5,
                    );
                    if p.holding_until().is_some() {
                        // A hold within the deadline is slept by the executor: not here.
                        break;
                    }
                }
            });
        }
    }
}
