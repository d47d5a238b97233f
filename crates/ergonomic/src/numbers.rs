//! Numbers as Cloudflare writes them: the spec says `number`, the values are integers,
//! and a body may still hold `7002.0`, `1.5` or `1e400`; and waits as servers write them.

use std::time::Duration;

/// An integral `f64` in `i64` range as `i64` (`-32603.0` → `-32603`); otherwise `None`.
pub(crate) fn float_to_i64(v: f64) -> Option<i64> {
    // 2^63 is exactly representable; anything at or beyond it does not fit.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    (v.is_finite() && v.fract() == 0.0 && (-LIMIT..LIMIT).contains(&v)).then_some(v as i64)
}

/// JSON number text as `i64` when it is an integer (or an integral float) in range:
/// `"7002"`, `"7002.0"`, `"-1"`; `None` for `"1.5"`, `"1e400"` or anything else.
pub(crate) fn parse_integral(text: &str) -> Option<i64> {
    let text = text.trim();
    text.parse::<i64>()
        .ok()
        .or_else(|| text.parse::<f64>().ok().and_then(float_to_i64))
}

/// The longest wait a server's number can impose here. Cloudflare's own blocks last
/// minutes; anything longer is clamped to this, so that `Retry-After: 1e19`,
/// `t=18446744073709551615` and `inf` all mean the same "far too long" and none of them
/// overflows an `Instant`. A day is past any sane call deadline, so such a wait fails
/// the call at once rather than being slept.
pub(crate) const MAX_SERVER_WAIT: Duration = Duration::from_secs(24 * 3600);

/// A server's count of seconds (`t=30`, `Retry-After: 1.5`, `inf`) as a wait, clamped
/// to [`MAX_SERVER_WAIT`]: digits past `u64` and `inf` are "too long", not "no
/// advice". `None` for negative, NaN and text that is not a number.
pub(crate) fn server_seconds(text: &str) -> Option<Duration> {
    let text = text.trim();
    if let Ok(secs) = text.parse::<u64>() {
        return Some(clamp_wait(Duration::from_secs(secs)));
    }
    // Past `u64` the digits still parse as a float (`1e23`), as does `inf`.
    text.parse::<f64>().ok().and_then(float_seconds)
}

/// Seconds as a float, clamped as [`server_seconds`]; `None` for negative and NaN.
pub(crate) fn float_seconds(secs: f64) -> Option<Duration> {
    // NaN fails the comparison.
    (secs >= 0.0).then(|| clamp_wait(Duration::try_from_secs_f64(secs).unwrap_or(MAX_SERVER_WAIT)))
}

/// `now + wait` for a wait a server named, clamped first: `RateLimit` is public and its
/// durations can be anything, so the clamp is where the `Instant` is made.
pub(crate) fn after(now: tokio::time::Instant, wait: Duration) -> tokio::time::Instant {
    // Past a day from now the clock cannot end; `now` is only the unreachable fallback.
    now.checked_add(clamp_wait(wait)).unwrap_or(now)
}

/// A wait no longer than [`MAX_SERVER_WAIT`]: what every server number passes through
/// before it is added to an `Instant`.
pub(crate) fn clamp_wait(wait: Duration) -> Duration {
    wait.min(MAX_SERVER_WAIT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integral_floats_become_integers_and_others_do_not() {
        assert_eq!(float_to_i64(-32603.0), Some(-32603));
        assert_eq!(float_to_i64(0.0), Some(0));
        assert_eq!(float_to_i64(1.5), None);
        assert_eq!(float_to_i64(f64::NAN), None);
        assert_eq!(float_to_i64(f64::INFINITY), None);
        assert_eq!(float_to_i64(1e19), None);
        assert_eq!(float_to_i64(-9_223_372_036_854_775_808.0), Some(i64::MIN));
        assert_eq!(float_to_i64(9_223_372_036_854_775_808.0), None);
    }

    #[test]
    fn number_text_parses_when_integral() {
        assert_eq!(parse_integral("7002"), Some(7002));
        assert_eq!(parse_integral("7002.0"), Some(7002));
        assert_eq!(parse_integral("-32603"), Some(-32603));
        assert_eq!(parse_integral("1e3"), Some(1000));
        assert_eq!(parse_integral("1.5"), None);
        assert_eq!(parse_integral("1e400"), None);
        assert_eq!(parse_integral("\"7\""), None);
        assert_eq!(parse_integral("null"), None);
    }

    #[test]
    fn huge_server_seconds_are_clamped_alike() {
        for v in [
            "86400",
            "86401",
            "1e18",
            "1e19",
            "18446744073709551615",
            "18446744073709551616",
            "99999999999999999999999",
            "1e400",
            "inf",
            "+inf",
            "infinity",
        ] {
            assert_eq!(server_seconds(v), Some(MAX_SERVER_WAIT), "{v}");
        }
        // A day, not less: an hour-long block is waited out, not clamped.
        assert_eq!(MAX_SERVER_WAIT, Duration::from_secs(86_400));
        assert_eq!(server_seconds("3700"), Some(Duration::from_secs(3700)));
        assert_eq!(server_seconds(" 30 "), Some(Duration::from_secs(30)));
        assert_eq!(server_seconds("0.25"), Some(Duration::from_millis(250)));
        for v in ["-1", "-inf", "NaN", "", "soon", "1s"] {
            assert_eq!(server_seconds(v), None, "{v}");
        }
    }
}
