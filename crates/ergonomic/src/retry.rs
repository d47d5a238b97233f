//! Retry policy: which failures are retried, how long to wait, and when to give up.
//!
//! Retrying this POST is deliberate: a sync only makes Cloudflare reconnect to the MCP
//! server and refresh what it knows, so sending it twice has the same effect as once.

use std::hash::{BuildHasher, Hasher};
use std::time::{Duration, SystemTime};

use reqwest::header::HeaderMap;

use crate::numbers;

/// Retries after a failed attempt under [`RetryPolicy::default`]. A sync repeated has
/// the effect of one, so riding out a passing failure costs nothing but time.
pub const DEFAULT_MAX_RETRIES: u32 = 2;

/// How a client retries. A value: build it, hand it to
/// [`ClientBuilder::retry_policy`](crate::ClientBuilder::retry_policy).
///
/// Retried: connection failures, timeouts, 429, 502, 503, 504 and 520–524, unless the
/// response says `x-should-retry: false` (and `x-should-retry: true` makes any status
/// retryable). The wait is the server's advice (`retry-after-ms`, then `Retry-After` in
/// seconds or as an HTTP date) or else exponential backoff with jitter. A wait longer
/// than [`max_retry_after`](Self::max_retry_after) or than what is left of the call's
/// deadline is not slept: the call fails at once, carrying the advised wait.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    max_retries: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
    max_retry_after: Duration,
}

impl Default for RetryPolicy {
    /// 2 retries, backoff 0.5 s doubling up to 8 s, server waits honoured up to 60 s.
    fn default() -> Self {
        Self {
            max_retries: DEFAULT_MAX_RETRIES,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// The default policy.
    pub fn new() -> Self {
        Self::default()
    }

    /// No retries: every call makes exactly one attempt.
    pub fn disabled() -> Self {
        Self {
            max_retries: 0,
            ..Self::default()
        }
    }

    /// Retries after the first attempt (so at most `1 + n` attempts).
    pub fn with_max_retries(mut self, n: u32) -> Self {
        self.max_retries = n;
        self
    }

    /// The first backoff and the cap it doubles up to.
    pub fn with_backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_backoff = initial;
        self.max_backoff = max.max(initial);
        self
    }

    /// The longest server-advised wait that is slept; beyond it the call fails at once.
    pub fn with_max_retry_after(mut self, max: Duration) -> Self {
        self.max_retry_after = max;
        self
    }

    /// Retries after the first attempt.
    pub fn max_retries(&self) -> u32 {
        self.max_retries
    }

    /// The longest server-advised wait that is slept.
    pub fn max_retry_after(&self) -> Duration {
        self.max_retry_after
    }

    /// Backoff before retry number `retry` (1-based): `initial · 2^(retry-1)`, capped,
    /// then reduced by up to 25 % at random so that many clients do not retry in step.
    pub(crate) fn backoff(&self, retry: u32, jitter: f64) -> Duration {
        let exp = 2u32.saturating_pow(retry.saturating_sub(1).min(30));
        let base = self
            .initial_backoff
            .saturating_mul(exp)
            .min(self.max_backoff);
        let factor = 1.0 - 0.25 * jitter.clamp(0.0, 1.0);
        Duration::try_from_secs_f64(base.as_secs_f64() * factor).unwrap_or(base)
    }
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Wait this long, then try again.
    RetryAfter(Duration),
    /// Stop and return the error.
    GiveUp(GiveUpReason),
}

/// Why a retryable failure is not retried (for logs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GiveUpReason {
    NotRetryable,
    RetriesExhausted,
    AdvisedWaitTooLong,
    DeadlineTooClose,
}

impl GiveUpReason {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::NotRetryable => "not retryable",
            Self::RetriesExhausted => "retries exhausted",
            Self::AdvisedWaitTooLong => "advised wait exceeds the cap",
            Self::DeadlineTooClose => "wait would pass the deadline",
        }
    }
}

impl RetryPolicy {
    /// Decides after attempt number `attempt` (1-based) failed.
    pub(crate) fn decide(
        &self,
        attempt: u32,
        retryable: bool,
        advised: Option<Duration>,
        remaining: Duration,
        jitter: f64,
    ) -> Decision {
        if !retryable {
            return Decision::GiveUp(GiveUpReason::NotRetryable);
        }
        if attempt > self.max_retries {
            return Decision::GiveUp(GiveUpReason::RetriesExhausted);
        }
        if advised.is_some_and(|w| w > self.max_retry_after) {
            return Decision::GiveUp(GiveUpReason::AdvisedWaitTooLong);
        }
        let wait = advised.unwrap_or_else(|| self.backoff(attempt, jitter));
        if wait >= remaining {
            return Decision::GiveUp(GiveUpReason::DeadlineTooClose);
        }
        Decision::RetryAfter(wait)
    }
}

/// Whether a status is worth retrying by itself.
pub(crate) fn status_is_retryable(status: u16) -> bool {
    matches!(status, 429 | 502 | 503 | 504 | 520..=524)
}

/// The server's `x-should-retry`, when it is `true` or `false`.
pub(crate) fn should_retry_header(headers: &HeaderMap) -> Option<bool> {
    match headers
        .get(crate::header_names::X_SHOULD_RETRY)?
        .to_str()
        .ok()?
        .trim()
    {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

/// The wait the server advised: `retry-after-ms` first, then `Retry-After` as seconds
/// or an HTTP date (a date in the past means now). Clamped to
/// [`MAX_SERVER_WAIT`](crate::numbers::MAX_SERVER_WAIT): `1e19`, `2^64-1` and `inf`
/// are one "too long" wait (which fails the call at once), not an overflow and not
/// "no advice"; negative and NaN are no advice.
pub(crate) fn advised_wait(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let text = |name: &reqwest::header::HeaderName| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(wait) = text(&crate::header_names::RETRY_AFTER_MS)
        .and_then(|v| v.parse::<f64>().ok())
        .and_then(|ms| numbers::float_seconds(ms / 1000.0))
    {
        return Some(wait);
    }
    let value = text(&crate::header_names::RETRY_AFTER)?;
    if value.parse::<f64>().is_ok() {
        return numbers::server_seconds(value);
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(numbers::clamp_wait(
        when.duration_since(now).unwrap_or(Duration::ZERO),
    ))
}

/// A number in `[0, 1)` from the standard library's randomly keyed hasher; jitter needs
/// no more than that, and it saves a dependency.
pub(crate) fn jitter() -> f64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u8(0);
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn backoff_doubles_caps_and_jitters_down() {
        let p = RetryPolicy::default();
        assert_eq!(p.backoff(1, 0.0), Duration::from_millis(500));
        assert_eq!(p.backoff(2, 0.0), Duration::from_secs(1));
        assert_eq!(p.backoff(10, 0.0), Duration::from_secs(8));
        assert_eq!(p.backoff(1, 1.0), Duration::from_millis(375));
        assert_eq!(p.backoff(u32::MAX, 0.5), Duration::from_secs(7));
    }

    #[test]
    fn retry_after_ms_wins_then_seconds_then_date() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
        let h = headers(&[("retry-after-ms", "1500"), ("retry-after", "300")]);
        assert_eq!(advised_wait(&h, now), Some(Duration::from_millis(1500)));
        assert_eq!(
            advised_wait(&headers(&[("retry-after", "300")]), now),
            Some(Duration::from_secs(300))
        );
        let date = headers(&[("retry-after", "Sun, 09 Sep 2001 01:47:00 GMT")]);
        assert_eq!(advised_wait(&date, now), Some(Duration::from_secs(20)));
        let past = headers(&[("retry-after", "Sat, 01 Jan 2000 00:00:00 GMT")]);
        assert_eq!(advised_wait(&past, now), Some(Duration::ZERO));
        assert_eq!(
            advised_wait(&headers(&[("retry-after", "soon")]), now),
            None
        );
        assert_eq!(advised_wait(&headers(&[("retry-after", "-5")]), now), None);
    }

    #[test]
    fn decisions() {
        let p = RetryPolicy::default();
        let big = Duration::from_secs(100);
        assert_eq!(
            p.decide(1, false, None, big, 0.0),
            Decision::GiveUp(GiveUpReason::NotRetryable)
        );
        assert_eq!(
            p.decide(3, true, None, big, 0.0),
            Decision::GiveUp(GiveUpReason::RetriesExhausted)
        );
        assert_eq!(
            p.decide(1, true, None, big, 0.0),
            Decision::RetryAfter(Duration::from_millis(500))
        );
        let advised = Some(Duration::from_secs(1));
        assert_eq!(
            p.decide(1, true, advised, big, 0.0),
            Decision::RetryAfter(Duration::from_secs(1))
        );
        let long = Some(Duration::from_secs(300));
        assert_eq!(
            p.decide(1, true, long, big, 0.0),
            Decision::GiveUp(GiveUpReason::AdvisedWaitTooLong)
        );
        let short_budget = Duration::from_millis(200);
        assert_eq!(
            p.decide(1, true, None, short_budget, 0.0),
            Decision::GiveUp(GiveUpReason::DeadlineTooClose)
        );
        assert_eq!(
            RetryPolicy::disabled().decide(1, true, None, big, 0.0),
            Decision::GiveUp(GiveUpReason::RetriesExhausted)
        );
    }

    #[test]
    fn the_builder_settings_take_effect() {
        let p = RetryPolicy::new()
            .with_max_retries(5)
            .with_max_retry_after(Duration::from_secs(10));
        assert_eq!(
            (p.max_retries(), p.max_retry_after()),
            (5, Duration::from_secs(10))
        );
        assert_eq!(RetryPolicy::default().max_retries(), 2);
        assert_eq!(RetryPolicy::disabled().max_retries(), 0);
        let big = Duration::from_secs(100);
        // Attempt 5 may still retry under 5 retries, not under the default 2.
        assert!(matches!(
            p.decide(5, true, None, big, 0.0),
            Decision::RetryAfter(_)
        ));
        assert_eq!(
            p.decide(6, true, None, big, 0.0),
            Decision::GiveUp(GiveUpReason::RetriesExhausted)
        );
        // An advised 20 s is slept under the default cap (60 s), not under 10 s.
        let advised = Some(Duration::from_secs(20));
        assert!(matches!(
            RetryPolicy::default().decide(1, true, advised, big, 0.0),
            Decision::RetryAfter(_)
        ));
        assert_eq!(
            p.decide(1, true, advised, big, 0.0),
            Decision::GiveUp(GiveUpReason::AdvisedWaitTooLong)
        );
    }

    #[test]
    fn an_advised_wait_at_the_cap_is_still_slept() {
        let p = RetryPolicy::default();
        let at_cap = Some(p.max_retry_after());
        assert_eq!(
            p.decide(1, true, at_cap, Duration::from_secs(100), 0.0),
            Decision::RetryAfter(p.max_retry_after())
        );
        let over = Some(p.max_retry_after() + Duration::from_millis(1));
        assert_eq!(
            p.decide(1, true, over, Duration::from_secs(100), 0.0),
            Decision::GiveUp(GiveUpReason::AdvisedWaitTooLong)
        );
    }

    #[test]
    fn odd_retry_after_values_are_no_advice() {
        let now = SystemTime::UNIX_EPOCH;
        for v in ["-1", "-inf", "NaN"] {
            assert_eq!(
                advised_wait(&headers(&[("retry-after", v)]), now),
                None,
                "{v}"
            );
        }
        assert_eq!(
            advised_wait(&headers(&[("retry-after", "0.25")]), now),
            Some(Duration::from_millis(250))
        );
    }

    #[test]
    fn huge_retry_after_values_are_one_clamped_wait() {
        let now = SystemTime::UNIX_EPOCH;
        let max = Some(numbers::MAX_SERVER_WAIT);
        for v in ["1e18", "1e19", "18446744073709551615", "1e400", "inf"] {
            assert_eq!(
                advised_wait(&headers(&[("retry-after", v)]), now),
                max,
                "{v}"
            );
        }
        for v in ["1e21", "1e22", "18446744073709551615000", "inf"] {
            assert_eq!(
                advised_wait(&headers(&[("retry-after-ms", v)]), now),
                max,
                "{v}"
            );
        }
        let far = headers(&[("retry-after", "Fri, 31 Dec 9999 23:59:59 GMT")]);
        assert_eq!(advised_wait(&far, now), max);
        // Too long for any cap below a day: given up at once, never slept.
        assert_eq!(
            RetryPolicy::default().decide(1, true, max, Duration::from_secs(600), 0.0),
            Decision::GiveUp(GiveUpReason::AdvisedWaitTooLong)
        );
    }

    #[test]
    fn jitter_varies() {
        // 2^-53 odds per pair of being equal by chance: eight equal draws is a bug.
        let first = jitter();
        assert!((0..8).any(|_| jitter() != first));
    }

    #[test]
    fn should_retry_header_and_statuses() {
        assert_eq!(
            should_retry_header(&headers(&[("x-should-retry", "false")])),
            Some(false)
        );
        assert_eq!(
            should_retry_header(&headers(&[("x-should-retry", "true")])),
            Some(true)
        );
        assert_eq!(
            should_retry_header(&headers(&[("x-should-retry", "maybe")])),
            None
        );
        for s in [429, 502, 503, 504, 520, 521, 522, 523, 524] {
            assert!(status_is_retryable(s), "{s}");
        }
        for s in [400, 401, 403, 404, 408, 409, 500, 501, 525] {
            assert!(!status_is_retryable(s), "{s}");
        }
    }

    #[test]
    fn extreme_settings_do_not_panic() {
        let p = RetryPolicy::new().with_backoff(Duration::MAX, Duration::MAX);
        assert!(p.backoff(u32::MAX, 0.0) > Duration::ZERO);
        assert!(p.backoff(1, 1.0) > Duration::ZERO);
    }

    #[test]
    fn jitter_is_in_range() {
        for _ in 0..100 {
            let j = jitter();
            assert!((0.0..1.0).contains(&j));
        }
    }
}
