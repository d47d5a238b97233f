//! Text that reaches a person: server-supplied strings made safe for one terminal line,
//! durations and counts written for reading, URLs with their secrets taken out.

use std::fmt;
use std::time::Duration;

/// `250ms`, `1.5s`, `59s`, then whole units as people write them: `2m 30s`, `1h`,
/// `1d` (a server's `t=86400` is a day, not `86400.0s`). From a minute up, the
/// fraction of a second is rounded away.
pub(crate) fn human_duration(d: Duration) -> String {
    if d < Duration::from_millis(1) && !d.is_zero() {
        format!("{}µs", d.as_micros())
    } else if d.as_millis() < 1000 {
        format!("{}ms", d.as_millis())
    } else if d < Duration::from_secs(60) {
        if d.subsec_millis() == 0 {
            format!("{}s", d.as_secs())
        } else {
            format!("{:.1}s", d.as_secs_f64())
        }
    } else {
        let secs = d.as_secs() + u64::from(d.subsec_millis() >= 500);
        let parts = [
            (secs / 86_400, "d"),
            (secs / 3600 % 24, "h"),
            (secs / 60 % 60, "m"),
            (secs % 60, "s"),
        ];
        let words: Vec<String> = parts
            .iter()
            .filter(|(n, _)| *n > 0)
            .map(|(n, unit)| format!("{n}{unit}"))
            .collect();
        words.join(" ")
    }
}

/// `131070` → `131,070`.
pub(crate) fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Characters that would let server text rearrange or hide what a terminal shows: C0
/// and C1 controls (newlines, escapes), and the Unicode bidirectional overrides and
/// isolates (U+202A–U+202E, U+2066–U+2069) plus the bare marks (U+200E, U+200F, U+061C).
pub(crate) fn is_unsafe_for_terminal(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}'
        )
}

/// The first `max` characters of `text` on one line, each unsafe character replaced by
/// a space; `…` marks a cut.
pub(crate) fn one_line(text: &str, max: usize) -> String {
    let mut out: String = text
        .chars()
        .take(max)
        .map(|c| if is_unsafe_for_terminal(c) { ' ' } else { c })
        .collect();
    if text.chars().nth(max).is_some() {
        out.push('…');
    }
    out
}

/// Like [`one_line`], but what is unsafe for a terminal is shown escaped (`\u{0}`)
/// rather than blanked: for a value whose every character matters, such as a status
/// the spec does not list (`"ready\u{0}"` must not look like `ready`).
pub(crate) fn escaped_line(text: &str, max: usize) -> String {
    let mut out = String::new();
    for c in text.chars().take(max) {
        if is_unsafe_for_terminal(c) {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    if text.chars().nth(max).is_some() {
        out.push('…');
    }
    out
}

/// A URL as it may be shown: any `user:password@` is replaced by `***@`. Works on text
/// that does not parse as a URL too, which is exactly when it gets echoed in an error.
pub(crate) fn redact_url(raw: &str) -> String {
    let (scheme, rest) = match raw.find("://") {
        Some(i) => raw.split_at(i + 3),
        None => ("", raw),
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rfind('@') {
        Some(at) => format!("{scheme}***{}{tail}", &authority[at..]),
        None => raw.to_string(),
    }
}

/// Writes `items` separated by `sep`, at most `shown` of them, then `… and N more`
/// where N counts the rest and `omitted` items that were never kept.
pub(crate) fn write_bounded<T: fmt::Display>(
    f: &mut fmt::Formatter<'_>,
    items: &[T],
    omitted: usize,
    shown: usize,
    sep: &str,
) -> fmt::Result {
    for (i, item) in items.iter().take(shown).enumerate() {
        if i > 0 {
            f.write_str(sep)?;
        }
        write!(f, "{item}")?;
    }
    let more = items.len().saturating_sub(shown) + omitted;
    if more > 0 {
        if !items.is_empty() {
            f.write_str(sep)?;
        }
        write!(f, "… and {} more", thousands(more))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `a; b; … and N more`, separators only between items.
    struct Items(Vec<&'static str>, usize, usize);

    impl fmt::Display for Items {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write_bounded(f, &self.0, self.1, self.2, "; ")
        }
    }

    #[test]
    fn bounded_lists_separate_items_and_count_the_rest() {
        assert_eq!(Items(vec!["a", "b", "c"], 0, 5).to_string(), "a; b; c");
        let cut = Items(vec!["a", "b", "c"], 2, 2).to_string();
        assert!(cut.starts_with("a; b; "), "{cut}");
        assert!(cut.contains('3'), "{cut}");
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(human_duration(Duration::from_millis(250)), "250ms");
        assert_eq!(human_duration(Duration::from_micros(500)), "500µs");
        assert_eq!(human_duration(Duration::from_secs(86_400)), "1d");
        assert_eq!(human_duration(Duration::from_millis(86_399_970)), "1d");
        assert_eq!(human_duration(Duration::from_secs(3600)), "1h");
        assert_eq!(human_duration(Duration::from_secs(150)), "2m 30s");
        assert_eq!(human_duration(Duration::from_secs(90_061)), "1d 1h 1m 1s");
        assert_eq!(human_duration(Duration::from_millis(59_500)), "59.5s");
        // The edges: a whole millisecond and a whole second use the larger unit.
        assert_eq!(human_duration(Duration::from_millis(1)), "1ms");
        assert_eq!(human_duration(Duration::from_secs(1)), "1s");
        assert_eq!(
            escaped_line("ready\u{0}\u{202e}", 64),
            "ready\\u{0}\\u{202e}"
        );
        assert_eq!(human_duration(Duration::ZERO), "0ms");
        assert_eq!(human_duration(Duration::from_secs(300)), "5m");
        assert_eq!(human_duration(Duration::from_millis(1500)), "1.5s");
    }

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(131_070), "131,070");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn one_line_removes_controls_and_bidi_overrides() {
        let hostile = "a\nb\u{1b}[31mc\u{85}d\u{202E}e\u{2066}f\u{2069}g\u{200F}h";
        let clean = one_line(hostile, 100);
        assert_eq!(clean, "a b [31mc d e f g h");
        assert!(!clean.chars().any(is_unsafe_for_terminal));
        assert_eq!(one_line("abcdef", 3), "abc…");
        assert_eq!(one_line("abc", 3), "abc");
    }

    #[test]
    fn urls_lose_their_user_info() {
        assert_eq!(
            redact_url("http://user:PW@host:99999/x"),
            "http://***@host:99999/x"
        );
        assert_eq!(redact_url("http://a@b@host/p@q"), "http://***@host/p@q");
        assert_eq!(redact_url("https://host/p@q"), "https://host/p@q");
        assert_eq!(redact_url("user:pw@host"), "***@host");
        assert_eq!(redact_url("no url at all"), "no url at all");
    }
}
