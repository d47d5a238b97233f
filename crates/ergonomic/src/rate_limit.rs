//! The rate-limit state a response advertises: what the pacer and callers read.

use std::time::Duration;

use reqwest::header::HeaderMap;
use serde::Serialize;

use crate::numbers::server_seconds;

/// Rate-limit state advertised by the response, so callers can slow down before a 429.
///
/// Durations are clamped to a day: a larger or unreadably large number (`t=1e19`,
/// `t=18446744073709551615`) is one "far too long", never an overflow.
///
/// Read from the IETF draft headers `Ratelimit: "default";r=50;t=30` and
/// `Ratelimit-Policy: "burst";q=100;w=60`, or the older `X-RateLimit-*`. Serialized
/// with the durations as whole seconds (`reset_secs`, `window_secs`), as the headers
/// give them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct RateLimit {
    /// Requests left in the current window.
    pub remaining: Option<u64>,
    /// Time until the window resets.
    #[serde(rename = "reset_secs", serialize_with = "whole_seconds")]
    pub reset: Option<Duration>,
    /// Requests allowed per window.
    pub limit: Option<u64>,
    /// Length of the window.
    #[serde(rename = "window_secs", serialize_with = "whole_seconds")]
    pub window: Option<Duration>,
}

fn whole_seconds<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_some(&d.as_secs()),
        None => s.serialize_none(),
    }
}

impl RateLimit {
    /// Parses the rate-limit headers; `None` when there are none.
    pub fn from_headers(headers: &HeaderMap) -> Option<Self> {
        use crate::header_names as h;
        let mut rl = RateLimit::default();
        let (mut x_remaining, mut x_limit, mut x_reset) = (None, None, None);
        // One pass over the (few) headers instead of a hashed lookup per name.
        for (name, value) in headers {
            let Ok(v) = value.to_str() else { continue };
            let num = || v.trim().parse::<u64>().ok();
            if *name == h::RATELIMIT {
                rl.remaining = param(v, "r").and_then(|r| r.parse().ok());
                rl.reset = param(v, "t").and_then(server_seconds);
            } else if *name == h::RATELIMIT_POLICY {
                rl.limit = param(v, "q").and_then(|q| q.parse().ok());
                rl.window = param(v, "w").and_then(server_seconds);
            } else if *name == h::X_RATELIMIT_REMAINING {
                x_remaining = num();
            } else if *name == h::X_RATELIMIT_LIMIT {
                x_limit = num();
            } else if *name == h::X_RATELIMIT_RESET {
                x_reset = server_seconds(v);
            }
        }
        rl.remaining = rl.remaining.or(x_remaining);
        rl.limit = rl.limit.or(x_limit);
        rl.reset = rl.reset.or(x_reset);
        (rl != RateLimit::default()).then_some(rl)
    }
}

/// `key=value` from a structured-field list such as `"default";r=50;t=30`; the first
/// list member that has the key wins.
fn param<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    header
        .split([';', ','])
        .filter_map(|part| part.trim().split_once('='))
        .find(|(k, _)| k.trim() == key)
        .map(|(_, v)| v.trim().trim_matches('"'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_serialize_as_whole_seconds() {
        let rl = RateLimit {
            remaining: Some(3),
            reset: Some(Duration::from_millis(30_400)),
            limit: None,
            window: Some(Duration::from_secs(300)),
        };
        assert_eq!(
            serde_json::to_string(&rl).unwrap(),
            r#"{"remaining":3,"reset_secs":30,"limit":null,"window_secs":300}"#
        );
    }
    use reqwest::header::HeaderValue;

    #[test]
    fn rate_limit_headers_parse() {
        let mut h = HeaderMap::new();
        h.insert(
            "ratelimit",
            HeaderValue::from_static("\"default\";r=50;t=30"),
        );
        h.insert(
            "ratelimit-policy",
            HeaderValue::from_static("\"burst\";q=100;w=60"),
        );
        let rl = RateLimit::from_headers(&h).unwrap();
        assert_eq!(rl.remaining, Some(50));
        assert_eq!(rl.reset, Some(Duration::from_secs(30)));
        assert_eq!(rl.limit, Some(100));
        assert_eq!(rl.window, Some(Duration::from_secs(60)));
    }

    #[test]
    fn huge_resets_are_clamped_to_a_day() {
        let day = Some(crate::numbers::MAX_SERVER_WAIT);
        for t in [
            "18446744073709551615",
            "18446744073709551616",
            "1e19",
            "inf",
        ] {
            let mut h = HeaderMap::new();
            let v = format!("\"default\";r=0;t={t}");
            h.insert("ratelimit", HeaderValue::from_str(&v).unwrap());
            assert_eq!(RateLimit::from_headers(&h).unwrap().reset, day, "{t}");
            let mut h = HeaderMap::new();
            h.insert("x-ratelimit-reset", HeaderValue::from_str(t).unwrap());
            assert_eq!(RateLimit::from_headers(&h).unwrap().reset, day, "{t}");
        }
    }

    #[test]
    fn legacy_rate_limit_headers_parse() {
        let mut h = HeaderMap::new();
        h.insert("x-ratelimit-remaining", HeaderValue::from_static("7"));
        h.insert("x-ratelimit-limit", HeaderValue::from_static("1200"));
        let rl = RateLimit::from_headers(&h).unwrap();
        assert_eq!((rl.remaining, rl.limit), (Some(7), Some(1200)));
        assert!(RateLimit::from_headers(&HeaderMap::new()).is_none());
    }
}
