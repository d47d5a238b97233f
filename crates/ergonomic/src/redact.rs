//! The client's secrets taken out of a decoded report or error: every string a server
//! sent (messages, causes, unknown fields' strings, the result's string values, an
//! unknown status, the snippet and the problem), after decoding, so that what the
//! decoder read and decided (ready or not, ids, numbers) is what the server sent.
//! Also catches an echo in a spelling only the decoder undoes (`\u0074ok…`).

use std::fmt;

use serde::Deserializer;
use serde::de::{DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use cloudflare_mcp_sync_generated::types::McpPortalsApiSyncServerResponseResultStatus as Status;

use crate::envelope::ApiErrorItem;
use crate::error::{Error, ResponseDetails};
use crate::report::{SyncReport, SyncStatus};
use crate::scrub::Scrubber;

impl Scrubber {
    /// One call's outcome with the secrets out of its server text.
    pub(crate) fn outcome(&self, outcome: Result<SyncReport, Error>) -> Result<SyncReport, Error> {
        if self.is_empty() {
            return outcome;
        }
        match outcome {
            Ok(report) => Ok(self.report(report)),
            Err(e) => Err(self.error(e)),
        }
    }

    fn report(&self, mut r: SyncReport) -> SyncReport {
        if let SyncStatus::Unknown(s) = &mut r.status {
            self.string(s);
        }
        if let Some(f) = &mut r.failure {
            self.option(&mut f.message);
            self.option(&mut f.cause);
        }
        self.items(&mut r.messages);
        self.option(&mut r.result.error);
        if let Some(d) = &mut r.result.error_details {
            self.option(&mut d.cause);
        }
        if let Some(Status::Unknown(s)) = &mut r.result.status {
            self.string(s);
        }
        if let Some(clean) = self.raw(&r.result_json) {
            r.result_json = clean;
        }
        r
    }

    fn error(&self, mut e: Error) -> Error {
        if let Some(d) = e.details_mut() {
            self.details(d);
        }
        if let Error::Decode { source, .. } = &mut e {
            // The decoder's message may quote a value it could not take.
            if let Some(clean) = self.text(&source.to_string()) {
                *source = serde::de::Error::custom(clean);
            }
        }
        e
    }

    fn details(&self, d: &mut ResponseDetails) {
        self.items(&mut d.errors);
        self.items(&mut d.messages);
        self.option(&mut d.ray_id);
        self.option(&mut d.content_type);
        if let Some(s) = &mut d.snippet {
            self.excerpt(s);
        }
        if let Some(s) = &mut d.problem {
            self.excerpt(s);
        }
    }

    fn items(&self, items: &mut [ApiErrorItem]) {
        for item in items {
            self.string(&mut item.message);
            self.option(&mut item.documentation_url);
            if let Some(source) = &mut item.source {
                self.value(source);
            }
            item.extra.values_mut().for_each(|v| self.value(v));
            self.items(&mut item.error_chain);
        }
    }

    fn option(&self, s: &mut Option<String>) {
        if let Some(s) = s {
            self.string(s);
        }
    }

    /// `raw` with the secrets out of its string values, or `None` when no string holds
    /// one. Keys, numbers (in the form sent) and structure are copied as they are; the
    /// walk streams, so a large result costs no tree in memory.
    pub(crate) fn raw(&self, raw: &RawValue) -> Option<Box<RawValue>> {
        let text = raw.get();
        // Without an escape, every string reads as it is written: one search decides.
        if memchr::memchr(b'\\', text.as_bytes()).is_none() && !self.occurs_in(text.as_bytes()) {
            return None;
        }
        let mut found = false;
        let mut out = String::with_capacity(text.len());
        self.rewrite(text, &mut out, &mut found).ok()?;
        found.then(|| RawValue::from_string(out).ok()).flatten()
    }

    fn rewrite(&self, text: &str, out: &mut String, found: &mut bool) -> serde_json::Result<()> {
        match text.as_bytes().first() {
            Some(b'"') => {
                let s: String = serde_json::from_str(text)?;
                match self.text(&s) {
                    Some(clean) => {
                        *found = true;
                        out.push_str(&serde_json::to_string(&clean)?);
                    }
                    None => out.push_str(text),
                }
            }
            Some(b'{' | b'[') => {
                let mut de = serde_json::Deserializer::from_str(text);
                Walk {
                    scrub: self,
                    out,
                    found,
                }
                .deserialize(&mut de)?;
            }
            _ => out.push_str(text),
        }
        Ok(())
    }
}

/// One level of an object or array, each value copied or rewritten into `out`.
struct Walk<'a> {
    scrub: &'a Scrubber,
    out: &'a mut String,
    found: &'a mut bool,
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
            if !std::mem::take(&mut first) {
                self.out.push(',');
            }
            let key = serde_json::to_string(&key).map_err(serde::de::Error::custom)?;
            self.out.push_str(&key);
            self.out.push(':');
            self.scrub
                .rewrite(value.get(), self.out, self.found)
                .map_err(serde::de::Error::custom)?;
        }
        self.out.push('}');
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.out.push('[');
        let mut first = true;
        while let Some(value) = seq.next_element::<&'de RawValue>()? {
            if !std::mem::take(&mut first) {
                self.out.push(',');
            }
            self.scrub
                .rewrite(value.get(), self.out, self.found)
                .map_err(serde::de::Error::custom)?;
        }
        self.out.push(']');
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "tok-SECRET-0123456789";

    #[test]
    fn a_result_loses_secrets_in_its_strings_only_and_keeps_its_numbers() {
        let s = Scrubber::new([TOKEN]);
        let text = format!(
            r#"{{"status":"error","n":502,"f":-32603.0,"{TOKEN}":["\u0074ok-secret-0123456789",true,null,{{"k":"x {TOKEN}"}}]}}"#
        );
        let raw = RawValue::from_string(text).unwrap();
        let clean = s.raw(&raw).expect("rewritten");
        assert_eq!(
            clean.get(),
            format!(
                r#"{{"status":"error","n":502,"f":-32603.0,"{TOKEN}":["[redacted]",true,null,{{"k":"x [redacted]"}}]}}"#
            )
        );
        let plain = RawValue::from_string(r#"{"status":"ready","m":"a\nb"}"#.into()).unwrap();
        assert!(
            s.raw(&plain).is_none(),
            "nothing to take out, nothing copied"
        );
    }
}
