//! What one response's headers say, read once, against one reading of the wall clock.
//! The pacer, the retry policy and the report or error all take it from here, so an
//! HTTP-date `Retry-After` or an epoch `X-RateLimit-Reset` is one and the same wait for
//! each of them.

use std::time::{Duration, SystemTime};

use reqwest::header::HeaderMap;

use crate::header_names::CF_RAY;
use crate::rate_limit::RateLimit;
use crate::retry;

/// The facts of one response's headers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct HeaderFacts {
    /// The rate-limit headers (`Ratelimit`, `Ratelimit-Policy`, `X-RateLimit-*`).
    pub(crate) rate_limit: Option<RateLimit>,
    /// The server's advised wait (`retry-after-ms`, then `Retry-After`).
    pub(crate) retry_after: Option<Duration>,
    /// `x-should-retry`, when it is `true` or `false`.
    pub(crate) should_retry: Option<bool>,
    /// The `cf-ray` header, bounded.
    pub(crate) ray_id: Option<String>,
}

impl HeaderFacts {
    /// Reads `headers`, with `now` the one wall-clock reading every date and epoch time
    /// among them is read against.
    pub(crate) fn read(headers: &HeaderMap, now: SystemTime) -> Self {
        Self {
            rate_limit: RateLimit::from_headers_at(headers, now),
            retry_after: retry::advised_wait(headers, now),
            should_retry: retry::should_retry_header(headers),
            ray_id: ray_id(headers),
        }
    }
}

/// The `cf-ray` header, bounded.
pub(crate) fn ray_id(headers: &HeaderMap) -> Option<String> {
    // `to_str` admits only visible ASCII, so only the length needs bounding.
    let ray = headers.get(CF_RAY)?.to_str().ok()?;
    Some(ray.get(..64).unwrap_or(ray).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    /// An HTTP-date `Retry-After` and an epoch reset are both read against the one
    /// clock reading given.
    #[test]
    fn dates_and_epoch_times_are_read_against_the_one_reading() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let mut h = HeaderMap::new();
        let date = httpdate::fmt_http_date(now + Duration::from_secs(20));
        h.insert("retry-after", HeaderValue::from_str(&date).unwrap());
        h.insert("x-ratelimit-reset", HeaderValue::from_static("1800000045"));
        h.insert("x-should-retry", HeaderValue::from_static("true"));
        h.insert("cf-ray", HeaderValue::from_str(&"r".repeat(80)).unwrap());
        let facts = HeaderFacts::read(&h, now);
        assert_eq!(facts.retry_after, Some(Duration::from_secs(20)));
        let reset = facts.rate_limit.and_then(|rl| rl.reset);
        assert_eq!(reset, Some(Duration::from_secs(45)));
        assert_eq!(facts.should_retry, Some(true));
        assert_eq!(facts.ray_id.map(|r| r.len()), Some(64));
        assert_eq!(
            HeaderFacts::read(&HeaderMap::new(), now),
            HeaderFacts::default()
        );
    }
}
