//! Taking the client's own secrets out of what comes back. A server, a proxy or a
//! misbehaving upstream that echoes the token, key or email (in an error message, a
//! `cf-ray`, a `Location`, a text body) must not put it into a report, an error, a
//! record or a log.
//!
//! Only where a server's answer can carry text is anything replaced: header values,
//! and the strings of what was decoded (messages, causes, the result's string values),
//! after decoding. Keys, JSON structure, numbers, booleans and the body the decoder
//! reads are never touched, so redaction cannot change what a response means
//! (`redact.rs` walks the decoded report or error).

use std::fmt;

use reqwest::header::{HeaderMap, HeaderValue};
use secrecy::{ExposeSecret, SecretString};

/// What replaces a secret.
pub(crate) const REDACTED: &str = "[redacted]";

/// Tokens and keys shorter than this are not looked for in what servers send back.
///
/// Cloudflare's API tokens are 40 characters and its global API keys 37, so a shorter
/// value is a placeholder (`test`, `mock`, `ready`, `test-token`) that cannot
/// authenticate to Cloudflare; looking for it would replace ordinary words in the
/// server's text. 16 leaves room for tokens of other endpoints (a proxy, a test
/// server) while no ordinary word is that long. Such values are warned about
/// ([`Credentials::too_short_to_redact`](crate::Credentials::too_short_to_redact))
/// rather than refused: a CI smoke job against a local mock uses them legitimately.
/// An email (it holds an `@`) is looked for whatever its length: it can only match
/// text that names it.
pub const MIN_REDACTED_SECRET_CHARS: usize = 16;

/// The shortest start of a secret taken out where an excerpt was cut: long enough that
/// an ordinary word (an email's `admin`, `info`) is not taken for one.
const CUT_SECRET_CHARS: usize = 8;

/// `text` without an escape that a cut left unfinished at its end (`\`, `\u`, `\u00`).
fn drop_broken_escape(text: &str) -> &str {
    let from = text.len().saturating_sub(5);
    match text.get(from..).and_then(|end| end.rfind('\\')) {
        Some(at) => {
            let at = from + at;
            let rest = text.get(at + 1..).unwrap_or_default();
            let unfinished = rest.is_empty()
                || (rest.starts_with('u')
                    && rest.len() < 5
                    && rest.bytes().skip(1).all(|b| b.is_ascii_hexdigit()));
            if unfinished {
                text.get(..at).unwrap_or(text)
            } else {
                text
            }
        }
        None => text,
    }
}

/// `text` with its JSON string escapes undone (`\u0044` → `D`, a surrogate pair → its
/// character, `\/` → `/`); escapes that are not valid are kept as written.
fn unescape_json(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('\\') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        // Four hex digits exactly (`from_str_radix` would also take a sign: `\u+041`).
        let hex = |s: &str| {
            s.get(2..6)
                .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()))
                .and_then(|h| u32::from_str_radix(h, 16).ok())
        };
        let (ch, used) = match rest.as_bytes().get(1) {
            Some(b'u') => match hex(rest) {
                Some(hi @ 0xD800..=0xDBFF) => match rest.get(6..8).zip(hex(&rest[6..])) {
                    Some(("\\u", lo @ 0xDC00..=0xDFFF)) => (
                        char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)),
                        12,
                    ),
                    _ => (None, 1),
                },
                Some(c) => (char::from_u32(c), 6),
                None => (None, 1),
            },
            Some(b'/') => (Some('/'), 2),
            Some(b'\\') => (Some('\\'), 2),
            Some(b'"') => (Some('"'), 2),
            _ => (None, 1),
        };
        match ch {
            Some(c) => out.push(c),
            None => out.push_str(&rest[..used]),
        }
        rest = &rest[used..];
    }
    out.push_str(rest);
    out
}

/// Whether `value` (trimmed) is looked for in responses.
pub(crate) fn is_redactable(value: &str) -> bool {
    let v = value.trim();
    if v.contains('@') {
        v.len() >= 3
    } else {
        v.len() >= MIN_REDACTED_SECRET_CHARS
    }
}

/// The secrets to look for, ASCII lower-cased (the search ignores ASCII case: an
/// email's case means nothing, and a server may echo a token upper-cased), longest
/// first (so that a token that contains the email is replaced whole).
#[derive(Clone, Default)]
pub(crate) struct Scrubber {
    secrets: Vec<SecretString>,
}

impl fmt::Debug for Scrubber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Scrubber({} secrets, redacted)", self.secrets.len())
    }
}

impl Scrubber {
    /// A scrubber for these secret values (blank, short and non-ASCII ones are skipped:
    /// see [`MIN_REDACTED_SECRET_CHARS`]; a header cannot carry non-ASCII anyway).
    pub(crate) fn new<'a>(values: impl IntoIterator<Item = &'a str>) -> Self {
        let mut secrets: Vec<SecretString> = values
            .into_iter()
            .filter(|v| is_redactable(v) && v.is_ascii())
            .map(|v| SecretString::from(v.trim().to_ascii_lowercase()))
            .collect();
        secrets.sort_by_key(|s| std::cmp::Reverse(s.expose_secret().len()));
        Self { secrets }
    }

    /// Whether there is nothing to look for (then every method is a no-op).
    pub(crate) fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    /// Whether any secret occurs in `text`, in any ASCII case.
    pub(crate) fn occurs_in(&self, text: &[u8]) -> bool {
        self.secrets
            .iter()
            .any(|s| find_ascii_caseless(text, s.expose_secret().as_bytes()).is_some())
    }

    /// `text` with every secret replaced, or `None` when none occurs (the common case:
    /// one search per secret and no copy).
    pub(crate) fn text(&self, text: &str) -> Option<String> {
        let mut out: Option<String> = None;
        for secret in &self.secrets {
            let needle = secret.expose_secret().as_bytes();
            let haystack = out.as_deref().unwrap_or(text);
            if find_ascii_caseless(haystack.as_bytes(), needle).is_none() {
                continue;
            }
            // Secrets are ASCII, so every match starts and ends on a character boundary.
            let mut replaced = String::with_capacity(haystack.len());
            let mut rest = haystack;
            while let Some(at) = find_ascii_caseless(rest.as_bytes(), needle) {
                replaced.push_str(rest.get(..at).unwrap_or_default());
                replaced.push_str(REDACTED);
                rest = rest.get(at + needle.len()..).unwrap_or_default();
            }
            replaced.push_str(rest);
            out = Some(replaced);
        }
        out
    }

    /// Replaces secrets in an excerpt of raw text (a body's snippet, a decoder's
    /// message), in place. Such text was cut to a length and was never decoded, so two
    /// spellings escape [`Scrubber::text`]: a JSON escape only a decoder undoes
    /// (`…ABC\u0044`), and a secret cut short at the excerpt's end (`…0123456789AB…`).
    /// The first is looked for in the text with its JSON escapes undone (the excerpt is
    /// then shown so, redacted); the second as a tail of 8 or more characters that
    /// begins a secret, before the `…` that marks the cut, in that same reading (a cut
    /// can fall inside an escape). Text that holds neither is left as it is.
    pub(crate) fn excerpt(&self, s: &mut String) {
        if self.is_empty() {
            return;
        }
        let (text, cut) = match s.strip_suffix('…') {
            Some(body) => (body, true),
            None => (s.as_str(), false),
        };
        // The text as a decoder would read it: escapes undone, and at a cut, an escape
        // the cut broke (`…\u00`) dropped.
        let read = if text.contains('\\') {
            let unescaped = unescape_json(text);
            if cut {
                drop_broken_escape(&unescaped).to_string()
            } else {
                unescaped
            }
        } else {
            text.to_string()
        };
        let whole = self.text(&read);
        let redacted = whole.as_deref().unwrap_or(&read);
        let tail = cut.then(|| self.cut_secret_at_end(redacted)).flatten();
        if whole.is_none() && tail.is_none() {
            return;
        }
        // Secrets are ASCII: the tail starts on a character boundary.
        let keep = redacted.len() - tail.unwrap_or(0);
        let mut clean = redacted.get(..keep).unwrap_or_default().to_string();
        if tail.is_some() {
            clean.push_str(REDACTED);
        }
        if cut {
            clean.push('…');
        }
        *s = clean;
    }

    /// The length of the longest start of a secret, of [`CUT_SECRET_CHARS`] or more,
    /// that `text` ends with (any ASCII case).
    fn cut_secret_at_end(&self, text: &str) -> Option<usize> {
        let lower = text.to_ascii_lowercase();
        self.secrets
            .iter()
            .filter_map(|secret| {
                let secret = secret.expose_secret().as_bytes();
                (CUT_SECRET_CHARS..secret.len()).rev().find(|&n| {
                    secret
                        .get(..n)
                        .is_some_and(|p| lower.as_bytes().ends_with(p))
                })
            })
            .max()
    }

    /// Replaces secrets in `s`, in place.
    pub(crate) fn string(&self, s: &mut String) {
        if let Some(clean) = self.text(s) {
            *s = clean;
        }
    }

    /// Replaces secrets in the strings of `v`, its object keys included, in place.
    pub(crate) fn value(&self, v: &mut serde_json::Value) {
        match v {
            serde_json::Value::String(s) => self.string(s),
            serde_json::Value::Array(items) => items.iter_mut().for_each(|i| self.value(i)),
            serde_json::Value::Object(map) => self.map(map),
            _ => {}
        }
    }

    /// Replaces secrets in the keys and values of `map`, in place. A key that held a
    /// secret is written with it redacted; two such keys that would then be one are
    /// told apart (`[redacted] 2`), so that no value is lost.
    pub(crate) fn map(&self, map: &mut serde_json::Map<String, serde_json::Value>) {
        map.values_mut().for_each(|v| self.value(v));
        if !map.keys().any(|k| self.text(k).is_some()) {
            return;
        }
        // The keys that stay first, so that a redacted one cannot take their place.
        let mut redacted = Vec::new();
        for (key, value) in std::mem::take(map) {
            match self.text(&key) {
                Some(clean) => redacted.push((clean, value)),
                None => {
                    map.insert(key, value);
                }
            }
        }
        for (clean, value) in redacted {
            let mut unique = clean.clone();
            let mut n = 1;
            while map.contains_key(&unique) {
                n += 1;
                unique = format!("{clean} {n}");
            }
            map.insert(unique, value);
        }
    }

    /// Replaces secrets in the values of `headers`, in place.
    pub(crate) fn headers(&self, headers: &mut HeaderMap) {
        if self.secrets.is_empty() {
            return;
        }
        // Secrets are sorted longest first: a value shorter than the last cannot hold any
        // (most headers, `date`, `server`, `content-length`, are shorter than a token).
        let shortest = self.secrets.last().map_or(0, |s| s.expose_secret().len());
        for value in headers.values_mut().filter(|v| v.len() >= shortest) {
            let clean = value.to_str().ok().and_then(|v| self.text(v));
            let opaque = value.to_str().is_err() && self.occurs_in(value.as_bytes());
            if let Some(clean) = clean {
                // Only visible ASCII went in and came out, so this cannot fail; should
                // it, the value goes rather than the secret staying.
                *value = HeaderValue::from_str(&clean)
                    .unwrap_or_else(|_| HeaderValue::from_static(REDACTED));
            } else if opaque {
                *value = HeaderValue::from_static(REDACTED);
            }
        }
    }
}

/// The first position of `needle` (ASCII lower-case) in `haystack`, ignoring ASCII
/// case, without copying either.
fn find_ascii_caseless(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    let first = *needle.first()?;
    let (lower, upper) = (first.to_ascii_lowercase(), first.to_ascii_uppercase());
    let mut from = 0;
    while let Some(i) = memchr::memchr2(lower, upper, haystack.get(from..)?) {
        let at = from + i;
        if haystack
            .get(at..at + needle.len())
            .is_some_and(|w| w.eq_ignore_ascii_case(needle))
        {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const LONG_TOKEN: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCD";

    /// Found by attack: a snippet is raw body text, so an escaped spelling passed, and a
    /// token cut at the snippet's end passed whole but one character.
    #[test]
    fn excerpts_lose_escaped_and_cut_secrets() {
        let s = Scrubber::new([LONG_TOKEN]);
        let mut escaped =
            r#"{"result":["abcdefghijklmnopqrstuvwxyz0123456789ABC\u0044"]}"#.to_string();
        s.excerpt(&mut escaped);
        assert_eq!(escaped, r#"{"result":["[redacted]"]}"#);
        let mut cut = format!("{{\"echo\":\"xx{}…", &LONG_TOKEN[..39]);
        s.excerpt(&mut cut);
        assert_eq!(cut, r#"{"echo":"xx[redacted]…"#);
        let mut short_tail = "ends with abcdefg…".to_string();
        s.excerpt(&mut short_tail);
        assert_eq!(
            short_tail, "ends with abcdefg…",
            "7 characters are not a secret"
        );
        let mut plain = r#"no secret \u00e9 here…"#.to_string();
        s.excerpt(&mut plain);
        assert_eq!(
            plain, r#"no secret \u00e9 here…"#,
            "unchanged when nothing is found"
        );
    }

    /// Found by the second attack: an escape inside the cut part, a cut inside an
    /// escape, an escaped email; and `\u+041` is no escape.
    #[test]
    fn cut_secrets_are_found_in_the_text_as_decoded() {
        let s = Scrubber::new([LONG_TOKEN, "ops+cloudflare@example.com"]);
        for (raw, shown) in [
            (
                r#"{"echo":"abc\u0064efghijklmnopqrstuvwxyz0123456789ABC…"#,
                r#"{"echo":"[redacted]…"#,
            ),
            (
                r#"{"echo":"abcdefghijklmnopqrstuvwxyz0123456789ABC\u00…"#,
                r#"{"echo":"[redacted]…"#,
            ),
            (r#""user ops\u002Bcloudflare@exam…"#, r#""user [redacted]…"#),
        ] {
            let mut text = raw.to_string();
            s.excerpt(&mut text);
            assert_eq!(text, shown);
        }
        let mut word = "please contact your admin…".to_string();
        Scrubber::new(["admin@example.com"]).excerpt(&mut word);
        assert_eq!(word, "please contact your admin…", "an ordinary word");
        assert_eq!(unescape_json(r"\u+041"), r"\u+041");
    }

    #[test]
    fn json_escapes_are_undone_and_broken_ones_kept() {
        assert_eq!(unescape_json(r#"a\u0041\/\\\"b"#), r#"aA/\"b"#);
        assert_eq!(unescape_json(r"\ud83d\ude00"), "😀");
        assert_eq!(unescape_json(r"\ud83d x \uzzzz \"), r"\ud83d x \uzzzz \");
    }

    const TOKEN: &str = "Tok_SECRET_1234567890";

    #[test]
    fn every_occurrence_of_every_secret_goes_in_any_case_and_nothing_else_changes() {
        let s = Scrubber::new([TOKEN, "me@example.com", "k3y-abcdef-0123456789", "", "ab"]);
        let text =
            "Bearer tok_secret_1234567890 for ME@example.com, again TOK_SECRET_1234567890; ab";
        assert_eq!(
            s.text(text).as_deref(),
            Some("Bearer [redacted] for [redacted], again [redacted]; ab")
        );
        assert!(s.text("nothing secret here").is_none());
        let mut headers = HeaderMap::new();
        headers.insert(
            "cf-ray",
            HeaderValue::from_static("k3y-abcdef-0123456789-AMS"),
        );
        headers.insert("x-other", HeaderValue::from_static("plain"));
        s.headers(&mut headers);
        assert_eq!(headers["cf-ray"], "[redacted]-AMS");
        assert_eq!(headers["x-other"], "plain");
        assert_eq!(format!("{s:?}"), "Scrubber(3 secrets, redacted)");
    }

    #[test]
    fn a_secret_inside_a_longer_one_leaves_no_fragment() {
        let s = Scrubber::new(["abcdefghijklmnop", "xxabcdefghijklmnopxx"]);
        let clean = s.text("[xxabcdefghijklmnopxx] [abcdefghijklmnop]").unwrap();
        assert_eq!(clean, "[[redacted]] [[redacted]]");
    }

    /// A placeholder token cannot be a Cloudflare token and would match ordinary words:
    /// it is not looked for. An email is, whatever its length. A secret that is part of
    /// the replacement is replaced once, not forever.
    #[test]
    fn placeholders_are_not_looked_for_and_emails_always_are() {
        let s = Scrubber::new(["true", "ready", "test-token", "mock", "a@b.co"]);
        assert_eq!(
            s.text("ready: true, test-token mock, mail A@B.CO")
                .as_deref(),
            Some("ready: true, test-token mock, mail [redacted]")
        );
        assert!(!is_redactable(&"x".repeat(MIN_REDACTED_SECRET_CHARS - 1)));
        assert!(is_redactable(&"x".repeat(MIN_REDACTED_SECRET_CHARS)));
        let r = Scrubber::new(["[redacted]-redacted-redacted"]);
        assert_eq!(
            r.text("a [REDACTED]-redacted-redacted b").as_deref(),
            Some("a [redacted] b")
        );
    }

    #[test]
    fn values_lose_secrets_in_strings_and_keys_and_keep_everything_else() {
        let s = Scrubber::new([TOKEN]);
        let lower = TOKEN.to_lowercase();
        let mut v = serde_json::json!({
            TOKEN: [TOKEN, 1, true, {"k": format!("x{TOKEN}")}],
            lower: 2,
            "[redacted]": 3,
        });
        s.value(&mut v);
        // Found by attack: a credential as a key was printed whole. No value is lost
        // when two keys become one.
        assert_eq!(
            v,
            serde_json::json!({
                "[redacted]": 3,
                "[redacted] 2": ["[redacted]", 1, true, {"k": "x[redacted]"}],
                "[redacted] 3": 2,
            })
        );
    }
}
