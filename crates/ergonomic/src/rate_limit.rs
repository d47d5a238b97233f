//! The rate-limit state a response advertises: what the pacer and callers read.

use std::borrow::Cow;
use std::convert::Infallible;
use std::time::{Duration, SystemTime};

use reqwest::header::HeaderMap;
use serde::Serialize;
use sfv::visitor::{
    EntryVisitor, Ignored, InnerListVisitor, ItemVisitor, ListVisitor, ParameterVisitor,
};
use sfv::{BareItemFromInput, KeyRef};

use crate::numbers::server_seconds;

/// Rate-limit state advertised by the response, so callers can slow down before a 429.
///
/// Durations are clamped to a day: a larger number (`t=999999999999999`,
/// `X-RateLimit-Reset: 18446744073709551615`) is one "far too long", never an overflow.
///
/// Read from the IETF draft headers `Ratelimit: "default";r=50;t=30` and
/// `Ratelimit-Policy: "burst";q=100;w=60`, or the older `X-RateLimit-*`. The IETF
/// headers are RFC 9651 structured-field lists: a quoted `,` or `;` is text, and a
/// field that does not parse (`t=1e19`) is ignored whole, as the RFC says. Where several
/// policies are given (`"burst";r=50;t=30, "daily";r=0;t=3600`, or the header
/// repeated), the most restrictive wins: the fewest requests left, then the longest
/// wait; its `Ratelimit-Policy` entry, by name, gives the limit and window. An
/// `X-RateLimit-Reset` that is a Unix time (GitHub's and others' habit) is read as the
/// time until then. Serialized
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
        Self::from_headers_at(headers, SystemTime::now())
    }

    /// As [`RateLimit::from_headers`], with the wall clock given (an epoch reset is a
    /// time, read against it).
    pub(crate) fn from_headers_at(headers: &HeaderMap, now: SystemTime) -> Option<Self> {
        use crate::header_names as h;
        let mut rl = RateLimit::default();
        let (mut x_remaining, mut x_limit, mut x_reset) = (None, None, None);
        // A field sent on several lines is one list, its lines joined (RFC 9110 5.3).
        let (mut ratelimit, mut policy) = (None, None);
        // One pass over the (few) headers instead of a hashed lookup per name.
        for (name, value) in headers {
            // Every name this reads starts so: one comparison skips the others.
            let n = name.as_str().as_bytes();
            if !n.starts_with(b"ratelimit") && !n.starts_with(b"x-ratelimit") {
                continue;
            }
            let Ok(v) = value.to_str() else { continue };
            let num = || v.trim().parse::<u64>().ok();
            if *name == h::RATELIMIT {
                join_line(&mut ratelimit, v);
            } else if *name == h::RATELIMIT_POLICY {
                join_line(&mut policy, v);
            } else if *name == h::X_RATELIMIT_REMAINING {
                x_remaining = num();
            } else if *name == h::X_RATELIMIT_LIMIT {
                x_limit = num();
            } else if *name == h::X_RATELIMIT_RESET {
                x_reset = reset_seconds(v, now);
            }
        }
        // The most restrictive `Ratelimit` member: (r, t, policy name).
        let mut tightest: Option<(u64, Option<Duration>, String)> = None;
        for member in members(ratelimit.as_deref()) {
            let Some(r) = member.param("r").and_then(|r| r.parse::<u64>().ok()) else {
                continue;
            };
            let t = member.param("t").and_then(server_seconds);
            // A member without a usable `t` cannot start a count: those with one come
            // first, then the fewest left, then the longest wait.
            let key = |r: u64, t: Option<Duration>| {
                (t.is_none(), r, std::cmp::Reverse(t.unwrap_or_default()))
            };
            if tightest
                .as_ref()
                .is_none_or(|(r0, t0, _)| key(r, t) < key(*r0, *t0))
            {
                tightest = Some((r, t, member.name));
            }
        }
        let policies = members(policy.as_deref());
        let chosen = tightest.as_ref().map(|(_, _, name)| name.as_str());
        // The count's own policy by name, else the first: Cloudflare names them apart
        // (`"default";r=50;t=30` beside `"burst";q=100;w=60`, api-facts.md), so a
        // strict pairing would never find its limit.
        if let Some(p) = policies
            .iter()
            .find(|p| Some(p.name.as_str()) == chosen)
            .or(policies.first())
        {
            rl.limit = p.param("q").and_then(|q| q.parse().ok());
            rl.window = p.param("w").and_then(server_seconds);
        }
        if let Some((r, t, _)) = tightest {
            (rl.remaining, rl.reset) = (Some(r), t);
        }
        rl.remaining = rl.remaining.or(x_remaining);
        rl.limit = rl.limit.or(x_limit);
        rl.reset = rl.reset.or(x_reset);
        (rl != RateLimit::default()).then_some(rl)
    }
}

/// A Unix time this far past the epoch (2001-09-09) is a time, not seconds from now: no
/// window lasts 31 years.
const EPOCH_RESET_FROM: u64 = 1_000_000_000;

/// `X-RateLimit-Reset` as a wait: seconds from now, or, when it is a Unix time, the
/// time until then (one already past: none).
fn reset_seconds(text: &str, now: SystemTime) -> Option<Duration> {
    match text.trim().parse::<u64>() {
        Ok(at) if at >= EPOCH_RESET_FROM => Some(
            // A time the clock cannot hold is far in the future: the longest wait.
            match SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(at)) {
                Some(at) => {
                    crate::numbers::clamp_wait(at.duration_since(now).unwrap_or(Duration::ZERO))
                }
                None => crate::numbers::MAX_SERVER_WAIT,
            },
        ),
        _ => server_seconds(text),
    }
}

/// Adds one line of a field to what came before it.
fn join_line<'a>(field: &mut Option<Cow<'a, str>>, line: &'a str) {
    *field = Some(match field.take() {
        None => Cow::Borrowed(line),
        Some(before) => Cow::Owned(format!("{before}, {line}")),
    });
}

/// One member of a `Ratelimit` or `Ratelimit-Policy` list: its name (a string or a
/// token) and its number parameters, as sent.
#[derive(Debug, Default)]
struct Member {
    name: String,
    params: Vec<(String, String)>,
}

impl Member {
    /// The parameter `key` (the last, when repeated: RFC 9651 4.2.3.2).
    fn param(&self, key: &str) -> Option<&str> {
        let mut found = self.params.iter().rev().filter(|(k, _)| k == key);
        found.next().map(|(_, v)| v.as_str())
    }
}

/// The members of a structured-field list (RFC 9651, by `sfv`): a quoted `,` or `;` is
/// text, not a separator. A field that does not parse is ignored whole, as the RFC
/// says (no member of it is believed); so is a member that is an inner list.
fn members(field: Option<&str>) -> Vec<Member> {
    field
        .and_then(|f| {
            sfv::Parser::new(f)
                .parse_list_with_visitor(Members::default())
                .ok()
        })
        .unwrap_or_default()
}

/// Collects a list's members.
#[derive(Default)]
struct Members(Vec<Member>);

/// One entry of the list, and where it goes.
struct Entry<'a>(&'a mut Vec<Member>);

/// One member's parameters being read, and where it goes once they are.
struct Params<'a>(&'a mut Vec<Member>, Member);

impl<'de> ListVisitor<'de> for Members {
    type Out = Vec<Member>;
    type Error = Infallible;

    fn entry(&mut self) -> Result<impl EntryVisitor<'de>, Infallible> {
        Ok(Entry(&mut self.0))
    }

    fn finish(self) -> Result<Vec<Member>, Infallible> {
        Ok(self.0)
    }
}

impl<'de> EntryVisitor<'de> for Entry<'_> {
    type Error = Infallible;

    fn item(self) -> Result<impl ItemVisitor<'de>, Infallible> {
        Ok(self)
    }

    fn inner_list(self) -> Result<impl InnerListVisitor<'de>, Infallible> {
        Ok(Ignored)
    }
}

impl<'de> ItemVisitor<'de> for Entry<'_> {
    type Out = ();
    type Error = Infallible;

    fn bare_item(
        self,
        item: BareItemFromInput<'de>,
    ) -> Result<impl ParameterVisitor<'de, Out = ()>, Infallible> {
        let name = match &item {
            BareItemFromInput::String(s) => s.as_str().to_string(),
            BareItemFromInput::Token(t) => t.as_str().to_string(),
            _ => String::new(),
        };
        Ok(Params(
            self.0,
            Member {
                name,
                ..Member::default()
            },
        ))
    }
}

impl<'de> ParameterVisitor<'de> for Params<'_> {
    type Out = ();
    type Error = Infallible;

    fn parameter(
        &mut self,
        key: &'de KeyRef,
        value: BareItemFromInput<'de>,
    ) -> Result<(), Infallible> {
        let value = match value {
            BareItemFromInput::Integer(i) => i.to_string(),
            BareItemFromInput::Decimal(d) => d.to_string(),
            _ => return Ok(()),
        };
        self.1.params.push((key.as_str().to_string(), value));
        Ok(())
    }

    fn finish(self) -> Result<(), Infallible> {
        self.0.push(self.1);
        Ok(())
    }
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

    /// The largest numbers RFC 9651 allows (15 digits; 12 before a decimal point) are
    /// clamped to a day. A larger or unreadable one makes the field invalid, and an
    /// invalid field is ignored whole; `X-RateLimit-Reset` is plain text, clamped.
    #[test]
    fn huge_resets_are_clamped_to_a_day() {
        let day = Some(crate::numbers::MAX_SERVER_WAIT);
        for t in ["999999999999999", "999999999999.999"] {
            let v = format!("\"default\";r=0;t={t}");
            let h = ratelimit_owned(&v);
            assert_eq!(RateLimit::from_headers(&h).unwrap().reset, day, "{t}");
        }
        for t in [
            "18446744073709551615",
            "18446744073709551616",
            "1e19",
            "inf",
        ] {
            let v = format!("\"default\";r=0;t={t}");
            // `inf` is a token, not a number: the field parses, without a reset.
            let reset = RateLimit::from_headers(&ratelimit_owned(&v)).and_then(|rl| rl.reset);
            assert_eq!(reset, None, "{t}");
            let mut h = HeaderMap::new();
            h.insert("x-ratelimit-reset", HeaderValue::from_str(t).unwrap());
            assert_eq!(RateLimit::from_headers(&h).unwrap().reset, day, "{t}");
        }
        let invalid = ratelimit_owned("\"default\";r=0;t=18446744073709551615");
        assert_eq!(RateLimit::from_headers(&invalid), None);
    }

    fn ratelimit_owned(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("ratelimit", HeaderValue::from_str(value).unwrap());
        h
    }

    fn ratelimit(values: &[&'static str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("ratelimit", HeaderValue::from_static(v));
        }
        h
    }

    /// Several policies: the fewest left wins, in either order and across repeated
    /// headers; at equal counts the longer wait.
    #[test]
    fn the_most_restrictive_policy_wins() {
        for values in [
            &[r#""burst";r=50;t=30, "daily";r=0;t=3600"#][..],
            &[r#""daily";r=0;t=3600, "burst";r=50;t=30"#],
            &[r#""burst";r=50;t=30"#, r#""daily";r=0;t=3600"#],
            &[r#""daily";r=0;t=60, "burst";r=0;t=3600"#],
        ] {
            let rl = RateLimit::from_headers(&ratelimit(values)).unwrap();
            assert_eq!(rl.remaining, Some(0), "{values:?}");
            assert_eq!(rl.reset, Some(Duration::from_secs(3600)), "{values:?}");
        }
    }

    #[test]
    fn the_chosen_policy_names_its_limit() {
        let mut h = ratelimit(&[r#""burst";r=50;t=30, "daily";r=2;t=3600"#]);
        h.insert(
            "ratelimit-policy",
            HeaderValue::from_static(r#""burst";q=100;w=60, "daily";q=1000;w=86400"#),
        );
        let rl = RateLimit::from_headers(&h).unwrap();
        assert_eq!((rl.remaining, rl.limit), (Some(2), Some(1000)));
        assert_eq!(rl.window, Some(Duration::from_secs(86400)));
    }

    /// Found by attack: a member without `t` won and hid a full count; a `;` inside a
    /// quoted name read as a parameter.
    #[test]
    fn a_member_without_t_or_a_name_with_a_semicolon_misleads_nothing() {
        let rl = RateLimit::from_headers(&ratelimit(&[r#""a";r=0, "b";r=40;t=30"#])).unwrap();
        assert_eq!(
            (rl.remaining, rl.reset),
            (Some(40), Some(Duration::from_secs(30)))
        );
        let rl = RateLimit::from_headers(&ratelimit(&[r#""a;r=0";r=50;t=30"#])).unwrap();
        assert_eq!(rl.remaining, Some(50));
        let rl = RateLimit::from_headers(&ratelimit(&[r#"plain;r=7;t=3"#])).unwrap();
        assert_eq!(
            (rl.remaining, rl.reset),
            (Some(7), Some(Duration::from_secs(3)))
        );
    }

    /// A comma inside a quoted name does not split the member.
    #[test]
    fn quoted_commas_stay_in_their_member() {
        let rl = RateLimit::from_headers(&ratelimit(&[r#""a,b";r=3;t=9"#])).unwrap();
        assert_eq!(
            (rl.remaining, rl.reset),
            (Some(3), Some(Duration::from_secs(9)))
        );
    }

    /// Found by review: the hand-written splitter read a `;` or `,` inside a quoted
    /// parameter value, or after an escaped quote in a name, as a separator, and took
    /// the `r=0` inside the quotes for the member's count. RFC 9651 (`sfv`) reads them
    /// as text.
    #[test]
    fn quoted_separators_in_names_and_values_are_text() {
        for value in [
            r#""default";note="x;r=0";r=50;t=30"#,
            r#""default";note="x, r=0";r=50;t=30"#,
            r#""a\";r=0;t=1";r=50;t=30"#,
            r#""a\",\"b;r=0";r=50;t=30"#,
        ] {
            let rl = RateLimit::from_headers(&ratelimit(&[value])).expect(value);
            assert_eq!(
                (rl.remaining, rl.reset),
                (Some(50), Some(Duration::from_secs(30))),
                "{value}"
            );
        }
        // The policy named with a `;` and a `,` is the one chosen, found by its name.
        let mut h = ratelimit(&[r#""x;y,z";r=2;t=60, "b";r=9;t=60"#]);
        h.insert(
            "ratelimit-policy",
            HeaderValue::from_static(r#""b";q=100;w=60, "x;y,z";q=10;w=60"#),
        );
        let rl = RateLimit::from_headers(&h).unwrap();
        assert_eq!((rl.remaining, rl.limit), (Some(2), Some(10)));
    }

    /// A field that is not a structured list is ignored whole, every line of it (the
    /// lines are one field); a repeated parameter counts by its last value.
    #[test]
    fn an_invalid_field_is_ignored_and_the_last_parameter_counts() {
        assert_eq!(
            RateLimit::from_headers(&ratelimit(&["default;r=5;t=3 junk"])),
            None
        );
        assert_eq!(
            RateLimit::from_headers(&ratelimit(&[r#""a";r=5;t=3"#, r#""b";r=0;t=="#])),
            None
        );
        let rl = RateLimit::from_headers(&ratelimit(&[r#""a";r=0;r=7;t=3"#])).unwrap();
        assert_eq!(rl.remaining, Some(7));
    }

    #[test]
    fn an_epoch_reset_is_a_time() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let at = |v: &'static str| {
            let mut h = HeaderMap::new();
            h.insert("x-ratelimit-reset", HeaderValue::from_static(v));
            RateLimit::from_headers_at(&h, now).unwrap().reset
        };
        assert_eq!(at("1800000090"), Some(Duration::from_secs(90)));
        assert_eq!(at("1799999000"), Some(Duration::ZERO), "already past");
        assert_eq!(at("90"), Some(Duration::from_secs(90)), "seconds from now");
        assert_eq!(
            at("999999999"),
            Some(crate::numbers::MAX_SERVER_WAIT),
            "31 years: a day"
        );
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
