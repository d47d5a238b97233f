//! What the pacer knows of the account's limit: a window counted by the server's
//! `Ratelimit` headers ([`CountedWindow`]), or, without headers, a quota learned from 429s
//! ([`Learned`]). The arithmetic lives here; `pacer.rs` decides who waits and wakes.
//!
//! Both are made for company: the limit is the account's, shared with other copies of
//! the command, wrangler, Terraform. So a counted window is spent in proportion to this
//! client's share of what the window saw spent, spread over the window; and a learned
//! quota is never learned from a 429 that this client's own requests did not cause,
//! is halved at most by one that they did, and grows back after a window used without
//! a 429, as TCP's congestion window and the AWS SDKs' adaptive retry do.

use std::time::Duration;

use tokio::time::Instant;

/// A number in `[0, 1)` from the standard library's randomly keyed hasher over a
/// counter, different at each draw and in each process: clients that see the same
/// count do not space their starts or round their shares in step.
pub(crate) fn draw(counter: &mut u64) -> f64 {
    use std::hash::{BuildHasher, Hasher};
    thread_local! {
        static KEYS: std::collections::hash_map::RandomState = Default::default();
    }
    *counter = counter.wrapping_add(1);
    let mut h = KEYS.with(|k| k.build_hasher());
    h.write_u64(*counter);
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// A fall of `r` more than this many times this client's own requests is not
/// believed (see [`CountedWindow::share`]).
const ABSURD_FALL: u64 = 200;

/// A fall of `r` of this much within a window shows a share worth trusting over the
/// one carried from earlier windows, even when it is larger.
const TELLING_FALL: u64 = 8;

/// A share below this is taken as this: a client that has seen others spend the window
/// still takes a place now and then, so that it learns when they have gone.
const MIN_SHARE: f64 = 0.05;

/// From `r` and `t`: the lowest `r` answered in the current window. It belongs to the
/// request that reached the server last, so it counts every answered request; those
/// still in flight may not be counted and take from it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CountedWindow {
    pub(crate) min_r: u64,
    /// The highest `r` answered in the window, and the answers counted in it: how much
    /// of what the window saw spent was this client's.
    max_r: u64,
    answered: u64,
    pub(crate) reset: Instant,
}

impl CountedWindow {
    /// The count an answer with `r` and a reset at `reset` leaves, merged into the
    /// window known so far if it is the same one (`t` is whole seconds: resets of one
    /// window fall within a second of each other). Also gives this client's share of
    /// the window's spending, when the window shows it.
    pub(crate) fn count(
        known: Option<CountedWindow>,
        r: u64,
        reset: Instant,
        now: Instant,
        in_flight: u64,
    ) -> (CountedWindow, Option<f64>) {
        match known {
            Some(b) if b.reset > now && reset < b.reset + Duration::from_secs(1) => {
                let b = CountedWindow {
                    min_r: b.min_r.min(r),
                    max_r: b.max_r.max(r),
                    answered: b.answered + 1,
                    reset: b.reset.max(reset),
                };
                (b, b.share(in_flight))
            }
            _ => (
                CountedWindow {
                    min_r: r,
                    max_r: r,
                    answered: 1,
                    reset,
                },
                None,
            ),
        }
    }

    /// This client's part of what was spent between the highest and the lowest `r` it
    /// saw: at most its answers in the window but one (the highest's own) plus those
    /// still in flight (which may have been counted already). Alone, that is
    /// everything: 1. An estimate that errs towards this client: an answer of its own
    /// that came before the highest `r` counts as if it came after.
    fn share(&self, in_flight: u64) -> Option<f64> {
        let spent = self.max_r.saturating_sub(self.min_r);
        let ours = self.answered - 1 + in_flight;
        // A fall far past what many clients could spend is no count but a stray
        // number (`r=18446744073709551615` then `r=39`): no evidence either way.
        if spent == 0 || spent > ours.max(1).saturating_mul(ABSURD_FALL) {
            return None;
        }
        Some((ours as f64 / spent as f64).clamp(MIN_SHARE, 1.0))
    }

    /// Whether the window has shown enough to trust its share over an earlier one.
    pub(crate) fn telling(&self) -> bool {
        self.max_r.saturating_sub(self.min_r) >= TELLING_FALL
    }

    /// How many of this client's requests may be out at once: its share of what is left
    /// (all of it, alone), and while a window is young, no more than twice the answers
    /// it has had (slow start: a client that does not yet know whether others share the
    /// window does not spend it in one burst).
    ///
    /// A share of what is left is rarely whole: it is rounded up when `roll` (in
    /// `[0, 1)`, drawn anew for each decision) falls below half its fraction, so that
    /// clients in company spend some of the window's last requests, rather than all
    /// leaving them (rounded down: six clients left a third of each window unused) or all
    /// taking them (rounded up, or at the fraction itself: 4 % of requests drew a 429).
    /// `roll` of 1 rounds down.
    pub(crate) fn allowance(&self, share: Option<f64>, roll: f64) -> u64 {
        let mine = self.min_r as f64 * share.unwrap_or(1.0);
        let whole = mine.floor();
        let up = u64::from(roll < (mine - whole) / 2.0);
        // `whole` is at most `min_r`, a `u64`: the cast cannot wrap.
        (whole as u64 + up).min(2 * self.answered + 1)
    }

    /// In company (a share below 1), the time between this client's starts that spreads
    /// its `allowance` over what is left of the window, drawn from ±50 % around it by
    /// `jitter` in `[0, 1)`. Alone: none, the window is this client's to spend at once.
    pub(crate) fn spacing(
        &self,
        share: Option<f64>,
        allowance: u64,
        now: Instant,
        jitter: f64,
    ) -> Option<Duration> {
        share.filter(|s| *s < 1.0)?;
        let left = self.reset.saturating_duration_since(now);
        // `left` is at most a day (resets are clamped), the factors finite and small.
        let even = left / u32::try_from(allowance.max(1)).unwrap_or(u32::MAX);
        Some(even.mul_f64(0.5 + jitter.clamp(0.0, 1.0)))
    }

    /// The answers counted in this window.
    pub(crate) fn answered(&self) -> u64 {
        self.answered
    }

    /// Whether nothing more may start before the reset whatever answers come.
    pub(crate) fn spent(&self) -> bool {
        self.min_r == 0
    }

    /// A 429 answered in this window: it is spent until `until`, the advice; until its
    /// reset as well only when the 429's own count says nothing is left (found by
    /// attack: a 429 advising 2 s beside a count resetting in 60 s held every call for
    /// 60 s, and failed those with less time left at once).
    pub(crate) fn limited(&mut self, until: Instant, spent_count: bool) {
        self.min_r = 0;
        self.reset = if spent_count {
            self.reset.max(until)
        } else {
            until
        };
    }
}

/// This client's share after an answer: within a window, the lowest measured until the
/// window has shown a telling fall of `r` (a client whose window started a little
/// before the others' sees itself alone for a moment and must not take that for the
/// truth), then what it measures; at a new window, the last one grown by half, so that
/// a client whose company has gone is back to all of it within a few windows.
pub(crate) fn next_share(
    known: Option<f64>,
    measured: Option<f64>,
    new_window: bool,
    telling: bool,
) -> Option<f64> {
    let known = if new_window {
        known.map(|s| (s * 1.5).min(1.0))
    } else {
        known
    };
    match (known, measured) {
        (Some(_), Some(m)) if telling => Some(m),
        (Some(k), Some(m)) => Some(k.min(m)),
        (k, m) => k.or(m),
    }
}

/// A limit learned from 429s without headers: `quota` requests of each `window` may
/// be out at once; past it, requests go one at a time until a 429 says the window is
/// spent.
///
/// That makes probing for room cheap (a probe that finds the limit draws one 429, not
/// one per request in flight) and never idle: a quota learned in company, or from a
/// window another client shared, costs this client nothing when the others have gone,
/// and what its windows answer without a 429 becomes its quota. A 429 that its own
/// requests caused halves the quota at most (multiplicative decrease, as TCP's
/// congestion window and the AWS SDKs' adaptive retry do).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Learned {
    /// When the 429 that taught it was answered.
    pub(crate) learned_at: Instant,
    pub(crate) quota: u64,
    pub(crate) window: Duration,
    pub(crate) window_start: Instant,
    started: u64,
    /// Successes answered in the current window: the quota a 429 in it teaches, and
    /// that a window without one leaves.
    ok: u64,
    /// After a 429 with no success before it, one request at a time until one succeeds:
    /// a quota learned long ago must not send a burst into a window still spent (found
    /// by attack: all in flight drew a 429 after every hold). A request out meanwhile
    /// holds the others until its answer or its attempt timeout.
    cautious: bool,
}

impl Learned {
    /// What a 429 answered at `now`, holding until `until`, teaches. The first one: the
    /// `run_ok` successes since `run_start` are the quota of one window, which ends
    /// when the server says to come back. Later ones: the successes of the current
    /// window are its quota (at most halving it); the window's length stays. With no
    /// success since the last hold the 429 was not this client's doing (another client
    /// spent the window): it teaches no quota; one learned before stays, its window
    /// restarting at `until`, and without one the next window opens with a single
    /// request.
    pub(crate) fn from_429(
        known: Option<Learned>,
        run_start: Option<Instant>,
        run_ok: u64,
        now: Instant,
        until: Instant,
    ) -> Option<Learned> {
        let restart = |l: Learned| Learned {
            window_start: until,
            started: 0,
            ok: 0,
            ..l
        };
        match known {
            Some(l) if l.ok > 0 => Some(restart(Learned {
                learned_at: now,
                quota: l.ok.max(l.quota / 2),
                cautious: false,
                ..l
            })),
            Some(l) => Some(Learned {
                cautious: true,
                ..restart(l)
            }),
            None => {
                // No success yet: the window is someone else's, and as long as the
                // wait it advised. A quota of one lets the next window open with one
                // request and go on one at a time while they succeed, instead of every
                // request in flight drawing a 429 again.
                let (start, quota) = match run_start {
                    Some(start) if run_ok > 0 => (start, run_ok),
                    _ => (now, 1),
                };
                Some(Learned {
                    learned_at: now,
                    quota,
                    window: until.saturating_duration_since(start),
                    window_start: until,
                    started: 0,
                    ok: 0,
                    cautious: false,
                })
            }
        }
    }

    /// Takes a place at `now` with `in_flight` requests out; `false` while a start past
    /// the quota must wait for the answers out. A window that ended without a 429 (a
    /// 429 restarts the window) leaves what it answered as the quota, if more.
    pub(crate) fn start(&mut self, now: Instant, in_flight: u64) -> bool {
        if now >= self.window_end() {
            self.quota = self.quota.max(self.ok);
            self.window_start = now;
            self.started = 0;
            self.ok = 0;
        }
        if (self.started >= self.quota || self.cautious) && in_flight > 0 {
            return false;
        }
        self.started += 1;
        true
    }

    /// When the current window ends.
    pub(crate) fn window_end(&self) -> Instant {
        self.window_start + self.window
    }

    /// A success answered: it counts into the current window's, and one that started
    /// before the quota was learned fitted in the window it was learned from.
    pub(crate) fn succeeded(&mut self, started: Instant) {
        self.ok += 1;
        self.cautious = false;
        if started < self.learned_at {
            self.quota += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alone_the_whole_window_is_this_clients() {
        let now = Instant::now();
        let reset = now + Duration::from_secs(5);
        let (mut b, share) = CountedWindow::count(None, 49, reset, now, 0);
        assert_eq!(share, None);
        for r in (40..49).rev() {
            let (next, share) = CountedWindow::count(Some(b), r, reset, now, 0);
            assert_eq!(share, Some(1.0), "r={r}");
            b = next;
        }
        assert_eq!(
            b.allowance(Some(1.0), 0.0),
            21,
            "slow start: 2 x 10 answers + 1"
        );
        assert_eq!(b.allowance(None, 0.0), 21);
    }

    #[test]
    fn in_company_a_client_spends_its_share_of_what_is_left() {
        let now = Instant::now();
        let reset = now + Duration::from_secs(5);
        let (b, _) = CountedWindow::count(None, 49, reset, now, 0);
        // Our second answer: 20 were spent meanwhile, one of them ours.
        let (b, share) = CountedWindow::count(Some(b), 29, reset, now, 0);
        assert_eq!(share, Some(MIN_SHARE.max(1.0 / 20.0)));
        assert_eq!(b.allowance(share, 1.0), 1, "5 % of 29, rounded down");
        assert_eq!(
            b.allowance(share, 0.2),
            2,
            "rounded up when the roll is below .45"
        );
        let (b, share) = CountedWindow::count(Some(b), 9, reset, now, 9);
        // Ours: the 2 answers after the highest r and the 9 in flight, of 40 spent.
        let share = share.unwrap();
        assert!((share - 11.0 / 40.0).abs() < 1e-9, "{share}");
        assert_eq!(b.allowance(Some(share), 1.0), 2);
    }

    #[test]
    fn a_share_falls_within_a_window_and_grows_back_across_windows() {
        assert_eq!(next_share(None, None, true, false), None);
        assert_eq!(next_share(None, Some(0.5), false, false), Some(0.5));
        let alone = next_share(Some(0.2), Some(1.0), false, false);
        assert_eq!(alone, Some(0.2), "a moment alone");
        let telling = next_share(Some(0.2), Some(1.0), false, true);
        assert_eq!(telling, Some(1.0), "a telling window alone");
        assert_eq!(next_share(Some(0.4), Some(0.1), false, false), Some(0.1));
        let mut share = Some(0.05);
        let mut windows = 0;
        while share != Some(1.0) {
            share = next_share(share, None, true, false);
            windows += 1;
        }
        assert_eq!(windows, 8, "alone again: all of it within 8 windows");
    }

    #[test]
    fn in_company_starts_are_spread_over_what_is_left_of_the_window() {
        let now = Instant::now();
        let (b, _) = CountedWindow::count(None, 10, now + Duration::from_secs(2), now, 0);
        assert_eq!(b.spacing(None, 4, now, 0.5), None, "alone: at once");
        assert_eq!(b.spacing(Some(1.0), 4, now, 0.5), None);
        let gap = |j| b.spacing(Some(0.5), 4, now, j).unwrap();
        assert_eq!(gap(0.5), Duration::from_millis(500), "2 s left, 4 to start");
        assert_eq!(gap(0.0), Duration::from_millis(250));
        assert_eq!(gap(2.0), Duration::from_millis(750), "jitter is clamped");
        let later = now + Duration::from_secs(3);
        assert_eq!(
            b.spacing(Some(0.5), 0, later, 0.5),
            Some(Duration::ZERO),
            "past the reset"
        );
    }

    /// Found by attack: one stray `r` (2^64 - 1) made a lone client's share 5 %.
    #[test]
    fn a_stray_count_is_no_evidence_of_company() {
        let now = Instant::now();
        let reset = now + Duration::from_secs(20);
        let (b, _) = CountedWindow::count(None, u64::MAX, reset, now, 0);
        let (b, share) = CountedWindow::count(Some(b), 39, reset, now, 2);
        assert_eq!(share, None);
        assert_eq!(
            b.allowance(share, 1.0),
            5,
            "slow start only: twice the 2 answers, and one"
        );
    }

    #[test]
    fn a_later_window_starts_a_new_count() {
        let now = Instant::now();
        let (b, _) = CountedWindow::count(None, 1, now + Duration::from_secs(5), now, 0);
        let (b, share) = CountedWindow::count(Some(b), 50, now + Duration::from_secs(10), now, 0);
        assert_eq!((b.min_r, b.answered, share), (50, 1, None));
    }

    #[test]
    fn a_429_with_no_success_of_ours_teaches_no_quota() {
        let now = Instant::now();
        let until = now + Duration::from_secs(20);
        for run_start in [Some(now), None] {
            let first = Learned::from_429(None, run_start, 0, now, until).unwrap();
            assert_eq!(first.quota, 1, "the next window opens with one request");
            assert_eq!(
                first.window,
                Duration::from_secs(20),
                "as long as the advice"
            );
        }
        let known = Learned::from_429(None, Some(now), 7, now, until).unwrap();
        assert_eq!((known.quota, known.window), (7, Duration::from_secs(20)));
        let later = until + Duration::from_secs(3);
        let kept = Learned::from_429(Some(known), None, 0, later, later + Duration::from_secs(1));
        assert_eq!(
            kept.unwrap().quota,
            7,
            "not lowered by another client's 429"
        );
    }

    #[test]
    fn a_quota_is_what_a_window_answered_and_a_429_halves_it_at_most() {
        let now = Instant::now();
        let mut l =
            Learned::from_429(None, Some(now), 4, now, now + Duration::from_secs(1)).unwrap();
        assert_eq!((l.quota, l.window), (4, Duration::from_secs(1)));
        // A window that answered 40 without a 429 (4 at once, then one at a time).
        let at = l.window_start;
        for _ in 0..40 {
            assert!(l.start(at, 0));
            l.succeeded(at);
        }
        assert!(l.start(at + l.window, 0), "the next window");
        assert_eq!(l.quota, 40);
        // A 429 after 3 successes: halved, not cut to 3.
        l.ok = 3;
        let l = Learned::from_429(Some(l), None, 0, at, at + l.window).unwrap();
        assert_eq!((l.quota, l.window), (20, Duration::from_secs(1)));
    }

    #[test]
    fn after_a_429_with_no_success_one_goes_until_one_succeeds() {
        let now = Instant::now();
        let l = Learned::from_429(None, Some(now), 600, now, now + Duration::from_secs(1));
        let later = now + Duration::from_secs(2);
        let mut l = Learned::from_429(l, None, 0, later, later + Duration::from_secs(1)).unwrap();
        assert_eq!(l.quota, 600, "kept: the 429 was not this client's doing");
        let at = l.window_start;
        assert!(l.start(at, 0));
        assert!(!l.start(at, 1), "one at a time while cautious");
        l.succeeded(at);
        assert!(l.start(at, 1), "the quota again after a success");
    }

    /// Past the quota, starts go one at a time: a probe that finds the limit draws one
    /// 429, not one per request in flight.
    #[test]
    fn starts_past_the_quota_go_one_at_a_time() {
        let now = Instant::now();
        let mut l =
            Learned::from_429(None, Some(now), 2, now, now + Duration::from_secs(1)).unwrap();
        let at = l.window_start;
        assert!(l.start(at, 0));
        assert!(l.start(at, 1), "within the quota, beside one in flight");
        assert!(!l.start(at, 2), "a probe waits for the answers");
        assert!(l.start(at, 0), "and goes alone");
        assert!(!l.start(at, 1));
    }
}
