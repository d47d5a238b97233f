//! Copies of a report or of error items that hold at most a given amount of server
//! text, for a caller that keeps many of them at once (the command holds up to 64
//! finished records behind a slow earlier id): Cloudflare's strings are kept whole in
//! a report, and 64 reports of 4 MiB each are 256 MiB.
//!
//! Text is kept in order (status, failure, result, messages) until the budget is
//! spent: a string past it is cut (ending in `…`), items past it are dropped and
//! counted in the `…_omitted` fields, the result's JSON keeps its first members and
//! cuts or drops the rest. Numbers, booleans and keys are never rewritten.

use std::fmt;

use serde::Deserializer;
use serde::de::{DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use crate::envelope::ApiErrorItem;
use crate::report::{SyncReport, SyncStatus};

/// What is left of the text a copy may hold.
struct TextBudget {
    left: usize,
}

impl TextBudget {
    fn string(&mut self, s: &mut String) {
        if s.len() <= self.left {
            self.left -= s.len();
            return;
        }
        let mut end = self.left;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
        s.push('…');
        self.left = 0;
    }

    fn option(&mut self, s: &mut Option<String>) {
        if let Some(s) = s {
            self.string(s);
        }
    }

    /// Keeps the items that fit (each cut to what is left), counting the rest.
    fn items(&mut self, items: &mut Vec<ApiErrorItem>, omitted: &mut usize) {
        let mut kept = 0;
        for item in items.iter_mut() {
            if self.left == 0 {
                break;
            }
            kept += 1;
            self.string(&mut item.message);
            self.option(&mut item.documentation_url);
            let extra = std::mem::take(&mut item.extra);
            for (key, value) in extra {
                match json_len(&value) {
                    Some(n) if n + key.len() <= self.left => {
                        self.left -= n + key.len();
                        item.extra.insert(key, value);
                    }
                    _ => item.extra_omitted += 1,
                }
            }
            if let Some(n) = item
                .source
                .as_ref()
                .map(|v| json_len(v).unwrap_or(usize::MAX))
            {
                if n <= self.left {
                    self.left -= n;
                } else {
                    item.source = None;
                    item.extra_omitted += 1;
                }
            }
            self.items(&mut item.error_chain, &mut item.error_chain_omitted);
        }
        *omitted += items.len() - kept;
        items.truncate(kept);
    }

    /// `raw` within what is left: whole when it fits, else its first members, a string
    /// cut, or `null` for a scalar (a number thousands of digits long) past the budget.
    fn raw(&mut self, text: &str, out: &mut String) {
        if text.len() <= self.left {
            self.left -= text.len();
            out.push_str(text);
            return;
        }
        match text.as_bytes().first() {
            Some(b'"') => {
                let mut s: String = serde_json::from_str(text).unwrap_or_default();
                self.string(&mut s);
                out.push_str(&serde_json::to_string(&s).unwrap_or_else(|_| "null".into()));
            }
            Some(b'{' | b'[') => {
                let mut de = serde_json::Deserializer::from_str(text);
                let walked = Walk { budget: self, out }.deserialize(&mut de);
                debug_assert!(walked.is_ok(), "the text was decoded once already");
            }
            _ => {
                self.left = 0;
                out.push_str("null");
            }
        }
    }
}

fn json_len(v: &impl serde::Serialize) -> Option<usize> {
    let mut counter = Counter(0);
    serde_json::to_writer(&mut counter, v).ok()?;
    Some(counter.0)
}

/// Counts what would be written.
struct Counter(usize);

impl std::io::Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

struct Walk<'a> {
    budget: &'a mut TextBudget,
    out: &'a mut String,
}

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object or an array")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        self.out.push('{');
        let mut first = true;
        while let Some(key) = map.next_key::<String>()? {
            let value: &'de RawValue = map.next_value()?;
            if self.budget.left < key.len() + 2 {
                self.budget.left = 0;
                continue;
            }
            self.budget.left -= key.len() + 2;
            if !std::mem::take(&mut first) {
                self.out.push(',');
            }
            let key = serde_json::to_string(&key).map_err(serde::de::Error::custom)?;
            self.out.push_str(&key);
            self.out.push(':');
            self.budget.raw(value.get(), self.out);
        }
        self.out.push('}');
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.out.push('[');
        let mut first = true;
        while let Some(value) = seq.next_element::<&'de RawValue>()? {
            if self.budget.left == 0 {
                continue;
            }
            if !std::mem::take(&mut first) {
                self.out.push(',');
            }
            self.budget.raw(value.get(), self.out);
        }
        self.out.push(']');
        Ok(())
    }
}

impl SyncReport {
    /// A copy holding at most about `max_bytes` of server text (strings cut with `…`,
    /// items past the budget counted in `messages_omitted`, the result's JSON cut to
    /// its first members), or `None` when this report's JSON is already within it.
    pub fn with_text_within(&self, max_bytes: usize) -> Option<SyncReport> {
        if json_len(self).is_some_and(|n| n <= max_bytes) {
            return None;
        }
        let mut copy = self.clone();
        let mut budget = TextBudget { left: max_bytes };
        if let SyncStatus::Unknown(s) = &mut copy.status {
            budget.string(s);
        }
        if let Some(f) = &mut copy.failure {
            budget.option(&mut f.message);
            budget.option(&mut f.cause);
        }
        let mut out = String::new();
        budget.raw(self.result_json.get(), &mut out);
        if let Ok(raw) = RawValue::from_string(out) {
            copy.result_json = raw;
        }
        budget.items(&mut copy.messages, &mut copy.messages_omitted);
        Some(copy)
    }
}

impl ApiErrorItem {
    /// A copy of `items` holding at most about `max_bytes` of server text, with how
    /// many top-level items it dropped, or `None` when their JSON is within it.
    pub fn list_within(items: &[ApiErrorItem], max_bytes: usize) -> Option<(Vec<Self>, usize)> {
        if json_len(&items).is_some_and(|n| n <= max_bytes) {
            return None;
        }
        let mut copy = items.to_vec();
        let mut omitted = 0;
        TextBudget { left: max_bytes }.items(&mut copy, &mut omitted);
        Some((copy, omitted))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(body: &str) -> SyncReport {
        crate::decode_sync_response(200, Default::default(), body.as_bytes(), 1).unwrap()
    }

    #[test]
    fn a_report_within_its_bound_is_not_copied() {
        let r = report(r#"{"success":true,"result":{"status":"ready"}}"#);
        assert!(r.with_text_within(1024).is_none());
    }

    /// Server text past the budget is cut or dropped and counted; what is kept is
    /// valid JSON with numbers and keys as sent.
    #[test]
    fn text_past_the_budget_is_cut_and_counted() {
        let big = "m".repeat(10_000);
        let body = format!(
            r#"{{"success":true,"messages":[{{"code":1,"message":"{big}"}},{{"code":2,"message":"b"}}],"result":{{"status":"error","error_details":{{"status_code":502}},"x":"{big}","y":[1,2]}}}}"#
        );
        let r = report(&body);
        let cut = r.with_text_within(1_000).expect("a copy");
        let text = cut.result_json.get();
        assert!(
            text.starts_with(r#"{"status":"error","error_details":{"status_code":502},"x":"mmm"#),
            "{text}"
        );
        assert!(text.ends_with("…\"}"), "the rest is dropped: {text}");
        assert!(cut.messages.is_empty());
        assert_eq!(cut.messages_omitted, 2);
        let json = serde_json::to_string(&cut).unwrap();
        assert!(json.len() < 1_500, "{}", json.len());
        // A budget the result fits in: the first message is cut, the second dropped.
        let cut = r.with_text_within(10_100).expect("a copy");
        assert_eq!(cut.result_json.get(), r.result_json.get());
        assert_eq!(cut.messages.len(), 1);
        assert_eq!(cut.messages_omitted, 1);
        assert!(cut.messages[0].message.ends_with('…'));
        assert!(cut.messages[0].message.len() < 100);
        let (items, omitted) = ApiErrorItem::list_within(&r.messages, 100).expect("a copy");
        assert_eq!((items.len(), omitted), (1, 1));
    }
}
