//! Text that reaches a person: server-supplied strings made safe for one terminal line,
//! durations and counts written for reading, URLs with their secrets taken out.

use std::fmt;
use std::time::Duration;

/// A duration for reading, written by `humantime` (`250ms`, `1s 500ms`, `2m 30s`, `1h`,
/// `1day`: a server's `t=86400` is a day, not `86400s`) once what nobody reads is
/// rounded away: from a minute up, the fraction of a second (to the nearest); from a
/// millisecond up, what is below it; below that, the nanoseconds.
pub(crate) fn human_duration(d: Duration) -> String {
    let rounded = if d >= Duration::from_secs(60) {
        Duration::from_secs(
            d.as_secs()
                .saturating_add(u64::from(d.subsec_millis() >= 500)),
        )
    } else if d >= Duration::from_millis(1) {
        Duration::from_millis(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    } else {
        Duration::from_micros(u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
    };
    humantime::format_duration(rounded).to_string()
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

/// Characters a reader cannot see, or cannot tell from a plain space: every
/// whitespace but U+0020 (tabs, NBSP, U+2028, the ideographic space), the zero-width
/// and format characters (U+200B, U+FEFF, the word joiner, soft hyphen, tags) and the
/// fillers that render blank (Hangul, Braille, variation selectors).
pub(crate) fn is_invisible(c: char) -> bool {
    (c.is_whitespace() && c != ' ')
        || matches!(
            c,
            '\u{00AD}'
                | '\u{034F}'
                | '\u{0600}'..='\u{0605}'
                | '\u{061C}'
                | '\u{06DD}'
                | '\u{070F}'
                | '\u{0890}'..='\u{0891}'
                | '\u{08E2}'
                | '\u{115F}'..='\u{1160}'
                | '\u{17B4}'..='\u{17B5}'
                | '\u{180B}'..='\u{180F}'
                | '\u{200B}'..='\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2060}'..='\u{206F}'
                | '\u{2800}'
                | '\u{3164}'
                | '\u{FE00}'..='\u{FE0F}'
                | '\u{FEFF}'
                | '\u{FFA0}'
                | '\u{FFF0}'..='\u{FFFB}'
                | '\u{110BD}'
                | '\u{110CD}'
                | '\u{13430}'..='\u{1343F}'
                | '\u{1BCA0}'..='\u{1BCA3}'
                | '\u{1D173}'..='\u{1D17A}'
                | '\u{E0000}'..='\u{E0FFF}'
        )
}

/// A value whose every character matters, such as a status the spec does not list,
/// shown so that it cannot pass for another: in double quotes, with `"` and `\`
/// escaped and every character unsafe for a terminal or invisible written as `\u{…}`
/// (`"ready\u{200b}"`, `"ready\u{a0}"`, `"ready "` never read as `ready`). The first
/// `max` characters; `…` after the closing quote marks a cut.
pub(crate) fn quoted_value(text: &str, max: usize) -> String {
    let mut out = String::from('"');
    for c in text.chars().take(max) {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if is_unsafe_for_terminal(c) || is_invisible(c) => out.extend(c.escape_unicode()),
            c => out.push(c),
        }
    }
    out.push('"');
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
        for (d, shown) in [
            (Duration::from_millis(250), "250ms"),
            (Duration::from_micros(500), "500µs"),
            (Duration::from_nanos(500_900), "500µs"),
            (Duration::from_secs(86_400), "1day"),
            (Duration::from_secs(2 * 86_400), "2days"),
            (Duration::from_millis(86_399_970), "1day"),
            (Duration::from_secs(3600), "1h"),
            (Duration::from_secs(150), "2m 30s"),
            (Duration::from_millis(150_499), "2m 30s"),
            (Duration::from_secs(90_061), "1day 1h 1m 1s"),
            (Duration::from_millis(59_500), "59s 500ms"),
            (Duration::from_micros(1_500_700), "1s 500ms"),
            // The edges: a whole millisecond and a whole second use the larger unit.
            (Duration::from_millis(1), "1ms"),
            (Duration::from_secs(1), "1s"),
            (Duration::ZERO, "0s"),
            (Duration::from_secs(300), "5m"),
            (Duration::MAX, "584542046090years 7months 15days 17h 5m 3s"),
        ] {
            assert_eq!(human_duration(d), shown, "{d:?}");
        }
    }

    #[test]
    fn a_quoted_value_shows_every_character_that_could_hide() {
        assert_eq!(
            quoted_value("ready\u{0}\u{202e}", 64),
            r#""ready\u{0}\u{202e}""#
        );
        for (raw, shown) in [
            ("ready ", r#""ready ""#),
            ("ready\u{2028}", r#""ready\u{2028}""#),
            ("ready\u{a0}", r#""ready\u{a0}""#),
            ("ready\u{200b}", r#""ready\u{200b}""#),
            ("\u{feff}ready", r#""\u{feff}ready""#),
            ("re\tady", r#""re\u{9}ady""#),
            ("ready\u{3000}", r#""ready\u{3000}""#),
            ("ready\u{e0072}", r#""ready\u{e0072}""#),
            ("ready\u{fe0f}", r#""ready\u{fe0f}""#),
            ("ready\u{2060}", r#""ready\u{2060}""#),
            ("\u{ad}ready", r#""\u{ad}ready""#),
            ("", r#""""#),
            (r#"a"b\c"#, r#""a\"b\\c""#),
            ("syncing", r#""syncing""#),
            ("café", r#""café""#),
        ] {
            assert_eq!(quoted_value(raw, 64), shown, "{raw:?}");
        }
        assert_eq!(quoted_value("abcdef", 3), r#""abc"…"#);
        assert!(!is_invisible(' '));
        assert!(!is_invisible('a'));
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
