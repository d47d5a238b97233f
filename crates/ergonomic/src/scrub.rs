//! Taking the client's own secrets out of what comes back. A server, a proxy or a
//! misbehaving upstream that echoes the token, key or email (in an error message, a
//! `cf-ray`, a `Location`, a text body) must not put it into a report, an error, a
//! record or a log: every response's headers and body pass through here before
//! anything reads them.

use std::fmt;

use reqwest::header::{HeaderMap, HeaderValue};
use secrecy::{ExposeSecret, SecretString};

/// What replaces a secret.
pub(crate) const REDACTED: &str = "[redacted]";

/// Shorter values are not searched for: they would match ordinary text, and no real
/// token, key or email is that short.
const MIN_SECRET_LEN: usize = 4;

/// The secrets to look for, longest first (so that a token that contains the email is
/// replaced whole).
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
    /// A scrubber for these secret values (blank or very short ones are skipped).
    pub(crate) fn new<'a>(values: impl IntoIterator<Item = &'a str>) -> Self {
        let mut secrets: Vec<SecretString> = values
            .into_iter()
            .map(str::trim)
            .filter(|v| v.len() >= MIN_SECRET_LEN)
            .map(|v| SecretString::from(v.to_string()))
            .collect();
        secrets.sort_by_key(|s| std::cmp::Reverse(s.expose_secret().len()));
        Self { secrets }
    }

    /// `bytes` with every secret replaced, or `None` when none occurs (the common
    /// case, which costs one search per secret and no copy).
    pub(crate) fn bytes(&self, bytes: &[u8]) -> Option<Vec<u8>> {
        let mut out: Option<Vec<u8>> = None;
        for secret in &self.secrets {
            let needle = secret.expose_secret().as_bytes();
            let haystack = out.as_deref().unwrap_or(bytes);
            if memchr::memmem::find(haystack, needle).is_none() {
                continue;
            }
            let mut replaced = Vec::with_capacity(haystack.len());
            let mut rest = haystack;
            while let Some(at) = memchr::memmem::find(rest, needle) {
                let (before, found) = rest.split_at(at);
                replaced.extend_from_slice(before);
                replaced.extend_from_slice(REDACTED.as_bytes());
                rest = found.get(needle.len()..).unwrap_or_default();
            }
            replaced.extend_from_slice(rest);
            out = Some(replaced);
        }
        out
    }

    /// Replaces secrets in the values of `headers`, in place.
    pub(crate) fn headers(&self, headers: &mut HeaderMap) {
        if self.secrets.is_empty() {
            return;
        }
        for value in headers.values_mut() {
            if let Some(clean) = self.bytes(value.as_bytes()) {
                // Only visible ASCII went in and came out, so this cannot fail; should
                // it, the value goes rather than the secret staying.
                *value = HeaderValue::from_bytes(&clean)
                    .unwrap_or_else(|_| HeaderValue::from_static(REDACTED));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_occurrence_of_every_secret_goes_and_nothing_else_changes() {
        let s = Scrubber::new(["tok-123456", "me@example.com", "k3y-abcdef", "", "ab"]);
        let body = br#"{"message":"Bearer tok-123456 for me@example.com, again tok-123456; ab"}"#;
        let clean = String::from_utf8(s.bytes(body).unwrap()).unwrap();
        assert_eq!(
            clean,
            r#"{"message":"Bearer [redacted] for [redacted], again [redacted]; ab"}"#
        );
        assert!(s.bytes(b"nothing secret here").is_none());
        let mut headers = HeaderMap::new();
        headers.insert("cf-ray", HeaderValue::from_static("k3y-abcdef-AMS"));
        headers.insert("x-other", HeaderValue::from_static("plain"));
        s.headers(&mut headers);
        assert_eq!(headers["cf-ray"], "[redacted]-AMS");
        assert_eq!(headers["x-other"], "plain");
        assert_eq!(format!("{s:?}"), "Scrubber(3 secrets, redacted)");
    }

    #[test]
    fn a_secret_inside_a_longer_one_leaves_no_fragment() {
        let s = Scrubber::new(["abcd", "xxabcdxx"]);
        let clean = s.bytes(b"[xxabcdxx] [abcd]").unwrap();
        assert_eq!(clean, b"[[redacted]] [[redacted]]");
    }
}
