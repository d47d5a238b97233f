//! The client's secrets taken out of a decoded report or error: every string a server
//! sent (messages, causes, unknown fields' strings, the result's string values, an
//! unknown status, the snippet and the problem), after decoding, so that what the
//! decoder read and decided (ready or not, ids, numbers) is what the server sent.
//! Also catches an echo in a spelling only the decoder undoes (`\u0074ok…`).

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
            self.map(&mut item.extra);
            self.items(&mut item.error_chain);
        }
    }

    fn option(&self, s: &mut Option<String>) {
        if let Some(s) = s {
            self.string(s);
        }
    }

    /// `raw` with the secrets out of its strings (values and keys), or `None` when no
    /// string holds one. Only those string literals are rewritten; every other byte
    /// (other keys as they were spelled, numbers in the form sent, spacing) is copied
    /// as it is, and nothing is parsed into a tree, so depth and size cost nothing.
    pub(crate) fn raw(&self, raw: &RawValue) -> Option<Box<RawValue>> {
        let text = raw.get();
        // Without an escape, every string reads as it is written: one search decides.
        if memchr::memchr(b'\\', text.as_bytes()).is_none() && !self.occurs_in(text.as_bytes()) {
            return None;
        }
        let mut out = String::with_capacity(text.len());
        let (mut copied, mut at) = (0, 0);
        // `raw` is valid JSON: outside strings, a quote only ever opens one.
        while let Some(start) = text.get(at..).and_then(|t| t.find('"')).map(|o| at + o) {
            let end = string_end(text, start)?;
            at = end;
            // Keys too: a key can hold a credential as well as a value can.
            let literal = text.get(start..end)?;
            let value: String = serde_json::from_str(literal).ok()?;
            if let Some(clean) = self.text(&value) {
                out.push_str(text.get(copied..start)?);
                out.push_str(&serde_json::to_string(&clean).ok()?);
                copied = end;
            }
        }
        if copied == 0 {
            return None;
        }
        out.push_str(text.get(copied..)?);
        RawValue::from_string(out).ok()
    }
}

/// The end (past its closing quote) of the string literal that opens at `start`.
fn string_end(text: &str, start: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut i = start + 1;
    loop {
        match bytes.get(i)? {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "tok-SECRET-0123456789";

    #[test]
    fn a_result_loses_secrets_in_its_strings_and_keys_and_keeps_its_numbers() {
        let s = Scrubber::new([TOKEN]);
        let text = format!(
            r#"{{"status":"error","n":502,"f":-32603.0,"{TOKEN}":["\u0074ok-secret-0123456789",true,null,{{"k":"x {TOKEN}"}}]}}"#
        );
        let raw = RawValue::from_string(text).unwrap();
        let clean = s.raw(&raw).expect("rewritten");
        // Found by attack: a credential as a key was printed whole.
        assert_eq!(
            clean.get(),
            r#"{"status":"error","n":502,"f":-32603.0,"[redacted]":["[redacted]",true,null,{"k":"x [redacted]"}]}"#
        );
        // Found by attack: keys were re-encoded (`\u0041` became `A`) and spacing lost
        // when a result was rewritten. Both stay as sent, at any depth.
        let deep = format!(
            "{}{{\"\\u0041\" : \"{TOKEN}\", \"n\": 1.50}}{}",
            "[".repeat(200),
            "]".repeat(200)
        );
        let clean = s
            .raw(&RawValue::from_string(deep.clone()).unwrap())
            .unwrap();
        assert_eq!(clean.get(), deep.replace(TOKEN, "[redacted]"));
        let plain = RawValue::from_string(r#"{"status":"ready","m":"a\nb"}"#.into()).unwrap();
        assert!(
            s.raw(&plain).is_none(),
            "nothing to take out, nothing copied"
        );
    }
}
