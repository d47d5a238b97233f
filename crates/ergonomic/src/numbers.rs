//! Numbers as Cloudflare writes them: the spec says `number`, the values are integers,
//! and a body may still hold `7002.0`, `1.5` or `1e400`.

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
}
