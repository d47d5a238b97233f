//! What the pacer knows of the account's limit: a window counted by the server's
//! `Ratelimit` headers ([`Budget`]), or, without headers, a quota learned from 429s
//! ([`Learned`]). The arithmetic lives here; `pacer.rs` decides who waits and wakes.
//!
//! Both are made for company: the limit is the account's, shared with other copies of
//! the command, wrangler, Terraform. So a counted window is spent in proportion to this
//! client's share of what the window saw spent, and a learned quota is never learned
//! from a 429 that this client's own requests did not cause, and grows back after a
//! window it used without a 429 (additive increase, multiplicative decrease, as TCP
//! and the AWS SDKs' adaptive retry do).

use std::time::Duration;

use tokio::time::Instant;

/// A share below this is taken as this: a client that has seen others spend the window
/// still takes a place now and then, so that it learns when they have gone.
const MIN_SHARE: f64 = 0.05;

/// From `r` and `t`: the lowest `r` answered in the current window. It belongs to the
/// request that reached the server last, so it counts every answered request; those
/// still in flight may not be counted and take from it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Budget {
    pub(crate) min_r: u64,
    /// The highest `r` answered in the window, and the answers counted in it: how much
    /// of what the window saw spent was this client's.
    max_r: u64,
    answered: u64,
    pub(crate) reset: Instant,
}

impl Budget {
    /// The count an answer with `r` and a reset at `reset` leaves, merged into the
    /// window known so far if it is the same one (`t` is whole seconds: resets of one
    /// window fall within a second of each other). Also gives this client's share of
    /// the window's spending, when the window shows it.
    pub(crate) fn count(
        known: Option<Budget>,
        r: u64,
        reset: Instant,
        now: Instant,
        in_flight: u64,
    ) -> (Budget, Option<f64>) {
        match known {
            Some(b) if b.reset > now && reset < b.reset + Duration::from_secs(1) => {
                let b = Budget {
                    min_r: b.min_r.min(r),
                    max_r: b.max_r.max(r),
                    answered: b.answered + 1,
                    reset: b.reset.max(reset),
                };
                (b, b.share(in_flight))
            }
            _ => (
                Budget {
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
    /// saw: at most its answers since the highest one plus those still in flight (which
    /// may have been counted already). Alone, that is everything: 1.
    fn share(&self, in_flight: u64) -> Option<f64> {
        let spent = self.max_r.saturating_sub(self.min_r);
        if spent == 0 {
            return None;
        }
        let ours = (self.answered - 1 + in_flight) as f64;
        Some((ours / spent as f64).clamp(MIN_SHARE, 1.0))
    }

    /// How many of this client's requests may be out at once: its share of what is left
    /// (all of it, alone), and while a window is young, no more than twice the answers
    /// it has had (slow start: a client that does not yet know whether others share the
    /// window does not spend it in one burst).
    pub(crate) fn allowance(&self, share: Option<f64>) -> u64 {
        let share = share.unwrap_or(1.0);
        // Floor: a share that rounds to nothing waits for the next window.
        let mine = (self.min_r as f64 * share) as u64;
        mine.min(2 * self.answered + 1)
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
        let share = share.filter(|s| *s < 1.0)?;
        let left = self.reset.saturating_duration_since(now);
        let even = left.div_f64(allowance.max(1) as f64);
        let _ = share;
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

    /// A 429 answered in this window: it is spent until `until` at least.
    pub(crate) fn limited(&mut self, until: Instant) {
        self.min_r = 0;
        self.reset = self.reset.max(until);
    }
}

/// This client's share after an answer: within a window, the lowest measured (a client
/// whose window started a little before the others' sees itself alone for a moment and
/// must not take that for the truth); at a new window, the last one grown by a quarter,
/// so that a client whose company has gone is back to all of it within a few windows.
pub(crate) fn next_share(
    known: Option<f64>,
    measured: Option<f64>,
    new_window: bool,
) -> Option<f64> {
    let known = if new_window {
        known.map(|s| (s * 1.25).min(1.0))
    } else {
        known
    };
    match (known, measured) {
        (Some(k), Some(m)) => Some(k.min(m)),
        (k, m) => k.or(m),
    }
}

/// What a start under a learned quota waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LearnedWait {
    /// The quota is used up until the window ends.
    WindowEnd(Instant),
    /// Its even place in the window.
    Pace(Instant),
    /// A probe past the quota known good: the answers of the requests in flight.
    Probe,
}

/// A limit learned from 429s without headers: `quota` starts per `window`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Learned {
    /// When the 429 that taught it was answered.
    pub(crate) learned_at: Instant,
    pub(crate) quota: u64,
    pub(crate) window: Duration,
    pub(crate) window_start: Instant,
    pub(crate) started: u64,
    /// Successes answered in the current window: the quota a 429 in it teaches.
    ok: u64,
    /// A quota a window has used without a 429. Starts past it probe the limit, so they
    /// go one at a time: a probe that finds the limit costs one 429, not one per
    /// request in flight.
    good: u64,
    /// Below this the quota doubles after a clean window, from it on it grows by one
    /// (TCP's slow-start threshold): half the quota a 429 cut short, or what succeeded.
    threshold: u64,
}

impl Learned {
    /// What a 429 answered at `now`, holding until `until`, teaches. The first one: the
    /// `run_ok` successes since `run_start` are the quota of one window, which ends
    /// when the server says to come back. Later ones: the successes of the current
    /// window are its quota (at most halving it), the window's length stays. With no success since the last
    /// hold the 429 was not this client's doing (another client spent the window): it
    /// teaches nothing, and a quota learned before stays, its window restarting at
    /// `until`.
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
            // Halved at most (multiplicative decrease): in company a window's successes
            // are this client's part of it, which another window may give back.
            Some(l) if l.ok > 0 => Some(restart(Learned {
                learned_at: now,
                quota: l.ok.max(l.quota / 2),
                good: l.ok.min(l.good),
                threshold: (l.quota / 2).max(l.ok),
                ..l
            })),
            Some(l) => Some(restart(l)),
            None => run_start.filter(|_| run_ok > 0).map(|start| Learned {
                learned_at: now,
                quota: run_ok,
                window: until.saturating_duration_since(start),
                window_start: until,
                started: 0,
                ok: 0,
                good: run_ok,
                threshold: u64::MAX,
            }),
        }
    }

    /// Takes a place at `now`, or says what to wait for. Starts are spread evenly over
    /// the window: requests that clients release together when a window opens would
    /// spend it at once, and a client whose hold ends a little later (`Retry-After` is
    /// whole seconds) would find every window spent, every time. A window that ended with its quota used and no 429 (a 429
    /// restarts the window) makes that quota good and grows it: doubled up to the
    /// threshold, then by one. A quota learned in company, or from a window another
    /// client shared, grows back once the company has gone.
    pub(crate) fn start(&mut self, now: Instant, in_flight: u64) -> Result<(), LearnedWait> {
        let window_end = self.window_start + self.window;
        if now >= window_end {
            if self.started >= self.quota {
                self.good = self.quota;
                self.quota = if self.quota < self.threshold {
                    self.quota.saturating_mul(2).min(self.threshold)
                } else {
                    self.quota + 1
                };
            }
            self.window_start = now;
            self.started = 0;
            self.ok = 0;
        } else if self.started >= self.quota {
            return Err(LearnedWait::WindowEnd(window_end));
        }
        let due = self.window_start
            + self
                .window
                .mul_f64(self.started as f64 / self.quota.max(1) as f64);
        if now < due {
            return Err(LearnedWait::Pace(due));
        }
        if self.started >= self.good && in_flight > 0 {
            return Err(LearnedWait::Probe);
        }
        self.started += 1;
        Ok(())
    }

    /// A success answered: it counts into the current window's, and one that started
    /// before the quota was learned fitted in the window it was learned from.
    pub(crate) fn succeeded(&mut self, started: Instant) {
        self.ok += 1;
        if started < self.learned_at {
            self.quota += 1;
            self.good = self.good.max(self.quota);
        }
    }

    /// The end of the window when its quota is used up.
    pub(crate) fn used_up_until(&self, now: Instant) -> Option<Instant> {
        let end = self.window_start + self.window;
        (self.started >= self.quota && end > now).then_some(end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alone_the_whole_window_is_this_clients() {
        let now = Instant::now();
        let reset = now + Duration::from_secs(5);
        let (mut b, share) = Budget::count(None, 49, reset, now, 0);
        assert_eq!(share, None);
        for r in (40..49).rev() {
            let (next, share) = Budget::count(Some(b), r, reset, now, 0);
            assert_eq!(share, Some(1.0), "r={r}");
            b = next;
        }
        assert_eq!(b.allowance(Some(1.0)), 21, "slow start: 2 x 10 answers + 1");
        assert_eq!(b.allowance(None), 21);
    }

    #[test]
    fn in_company_a_client_spends_its_share_of_what_is_left() {
        let now = Instant::now();
        let reset = now + Duration::from_secs(5);
        let (b, _) = Budget::count(None, 49, reset, now, 0);
        // Our second answer: 20 were spent meanwhile, one of them ours.
        let (b, share) = Budget::count(Some(b), 29, reset, now, 0);
        assert_eq!(share, Some(MIN_SHARE.max(1.0 / 20.0)));
        assert_eq!(b.allowance(share), 1, "5 % of 29, floored");
        let (b, share) = Budget::count(Some(b), 9, reset, now, 9);
        // Ours: the 2 answers after the highest r and the 9 in flight, of 40 spent.
        let share = share.unwrap();
        assert!((share - 11.0 / 40.0).abs() < 1e-9, "{share}");
        assert_eq!(b.allowance(Some(share)), 2);
    }

    #[test]
    fn a_share_falls_within_a_window_and_grows_back_across_windows() {
        assert_eq!(next_share(None, None, true), None);
        assert_eq!(next_share(None, Some(0.5), false), Some(0.5));
        assert_eq!(
            next_share(Some(0.2), Some(1.0), false),
            Some(0.2),
            "a moment alone"
        );
        assert_eq!(next_share(Some(0.4), Some(0.1), false), Some(0.1));
        let mut share = Some(0.2);
        let mut windows = 0;
        while share != Some(1.0) {
            share = next_share(share, None, true);
            windows += 1;
        }
        assert_eq!(windows, 8, "alone again: all of it within 8 windows");
    }

    #[test]
    fn a_later_window_starts_a_new_count() {
        let now = Instant::now();
        let (b, _) = Budget::count(None, 1, now + Duration::from_secs(5), now, 0);
        let (b, share) = Budget::count(Some(b), 50, now + Duration::from_secs(10), now, 0);
        assert_eq!((b.min_r, b.answered, share), (50, 1, None));
    }

    #[test]
    fn a_429_with_no_success_of_ours_teaches_nothing() {
        let now = Instant::now();
        let until = now + Duration::from_secs(20);
        assert!(Learned::from_429(None, Some(now), 0, now, until).is_none());
        assert!(Learned::from_429(None, None, 0, now, until).is_none());
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

    /// Starts as many as the window lets start, each at its even place in it.
    fn fill(l: &mut Learned, from: Instant) {
        let mut at = from;
        loop {
            match l.start(at, 0) {
                Ok(()) => {}
                Err(LearnedWait::Pace(due)) => at = due,
                Err(_) => return,
            }
        }
    }

    #[test]
    fn a_quota_used_without_a_429_grows_back() {
        let now = Instant::now();
        let mut l =
            Learned::from_429(None, Some(now), 1, now, now + Duration::from_secs(1)).unwrap();
        let mut at = l.window_start;
        let mut quotas = vec![];
        for _ in 0..6 {
            fill(&mut l, at);
            quotas.push(l.quota);
            at += l.window;
        }
        assert_eq!(quotas, [1, 2, 4, 8, 16, 32], "doubles: no threshold yet");
        // A 429 after 40 successes in the window: the threshold is half the quota it
        // cut short, or what succeeded.
        l.ok = 40;
        let mut cut = Learned::from_429(Some(l), None, 0, at, at + l.window).unwrap();
        assert_eq!((cut.quota, cut.threshold), (40, 40));
        cut.ok = 10;
        let mut l = Learned::from_429(Some(cut), None, 0, at, at + l.window).unwrap();
        assert_eq!(
            (l.quota, l.threshold, l.good),
            (20, 20, 10),
            "halved, not cut to 10"
        );
        let mut at = l.window_start;
        let mut quotas = vec![];
        for _ in 0..4 {
            fill(&mut l, at);
            quotas.push(l.quota);
            at += l.window;
        }
        assert_eq!(quotas, [20, 21, 22, 23], "from the threshold on, by one");
    }

    #[test]
    fn a_quota_not_used_up_does_not_grow() {
        let now = Instant::now();
        let mut l =
            Learned::from_429(None, Some(now), 4, now, now + Duration::from_secs(1)).unwrap();
        let at = l.window_start;
        l.start(at, 0).unwrap();
        l.start(at + l.window, 0).unwrap();
        assert_eq!(l.quota, 4, "1 of 4 started");
    }

    /// Past the quota known good, starts go one at a time: a probe that finds the limit
    /// draws one 429, not one per request in flight.
    #[test]
    fn starts_past_the_good_quota_go_one_at_a_time() {
        let now = Instant::now();
        let mut l =
            Learned::from_429(None, Some(now), 2, now, now + Duration::from_secs(1)).unwrap();
        let at = l.window_start;
        let half = l.window / 2;
        assert_eq!(l.start(at, 0), Ok(()));
        assert_eq!(l.start(at, 1), Err(LearnedWait::Pace(at + half)), "evenly");
        let beside = l.start(at + half, 1);
        assert_eq!(
            beside,
            Ok(()),
            "within the good quota, beside one in flight"
        );
        // The window ends clean: quota 4, good 2.
        let next = at + l.window;
        let quarter = l.window / 4;
        assert_eq!(l.start(next, 0), Ok(()));
        assert_eq!(l.start(next + quarter, 1), Ok(()));
        let probe = l.start(next + half, 2);
        assert_eq!(
            probe,
            Err(LearnedWait::Probe),
            "a probe waits for the answers"
        );
        assert_eq!(l.start(next + half, 0), Ok(()), "and goes alone");
    }
}
