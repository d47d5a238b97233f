//! Turning one HTTP response (status, headers, body bytes) into a report or an error.
//!
//! Pure and synchronous, so the whole decoding path can be fuzzed without a socket.

use std::time::SystemTime;

use reqwest::header::HeaderMap;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::envelope::{ItemList, bounded_list};
use crate::error::{Error, ResponseDetails, SNIPPET_CHARS};
use crate::header_facts::HeaderFacts;
use crate::header_names::{CONTENT_TYPE, LOCATION};
use crate::report::{ResponseMeta, ResultParts, SyncReport};
use crate::result::{decode_result, must_be_object};
use crate::retry;
use crate::text::one_line;

/// The envelope of a 2xx answer. `result` stays raw text here: `report::decode_result`
/// reads it with the generated type from the spec.
#[derive(Deserialize)]
struct SuccessEnvelope<'a> {
    #[serde(default)]
    success: Option<bool>,
    #[serde(default, deserialize_with = "bounded_list")]
    errors: ItemList,
    #[serde(default, deserialize_with = "bounded_list")]
    messages: ItemList,
    #[serde(default, borrow)]
    result: Option<&'a RawValue>,
}

/// The envelope of an error answer: only the parts every Cloudflare error has.
#[derive(Deserialize)]
struct ErrorEnvelope {
    #[serde(default, deserialize_with = "bounded_list")]
    errors: ItemList,
    #[serde(default, deserialize_with = "bounded_list")]
    messages: ItemList,
}

/// Decodes one response of the sync operation (`POST …/servers/{id}/sync`), for a
/// response you already have: the decoder [`Client::sync`](crate::Client::sync) uses.
///
/// `attempts` is recorded in the result's metadata or the error. Never panics, whatever
/// the bytes: every input gives a report or a typed [`Error`].
pub fn decode_sync_response(
    status: u16,
    headers: HeaderMap,
    body: &[u8],
    attempts: u32,
) -> Result<SyncReport, Error> {
    let facts = HeaderFacts::read(&headers, SystemTime::now());
    decode_sync(status, headers, facts, body, attempts)
}

/// As [`decode_sync_response`], with the headers already read (by the executor, once
/// per response, for the pacer and the retry policy too).
pub(crate) fn decode_sync(
    status: u16,
    headers: HeaderMap,
    facts: HeaderFacts,
    body: &[u8],
    attempts: u32,
) -> Result<SyncReport, Error> {
    let content_type = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let answer = Answer {
        status,
        headers: &headers,
        facts: &facts,
        body,
        attempts,
        content_type,
        json: looks_like_json(content_type, body),
    };
    if !(200..300).contains(&status) {
        return Err(answer.failure());
    }
    let (parts, messages) = answer.success()?;
    let meta = ResponseMeta {
        status,
        ray_id: facts.ray_id,
        attempts,
        rate_limit: facts.rate_limit,
        headers,
    };
    Ok(SyncReport::new(parts, messages, meta))
}

/// One response being decoded.
struct Answer<'a> {
    status: u16,
    headers: &'a HeaderMap,
    facts: &'a HeaderFacts,
    body: &'a [u8],
    attempts: u32,
    content_type: Option<&'a str>,
    json: bool,
}

impl Answer<'_> {
    /// What an error carries; built only when there is an error.
    fn details(&self) -> ResponseDetails {
        let mut d = ResponseDetails::new(self.status);
        d.attempts = self.attempts;
        d.ray_id.clone_from(&self.facts.ray_id);
        d.content_type = self.content_type.map(|v| one_line(v, 100));
        d.retryable = self
            .facts
            .should_retry
            .unwrap_or_else(|| retry::status_is_retryable(self.status));
        d.retry_after = self.facts.retry_after;
        d
    }

    /// A body that does not decode; `what` says which text the decoder's line and
    /// column count in.
    fn decode_error(&self, what: &str, source: serde_json::Error) -> Error {
        let mut d = self.details();
        d.snippet = Some(snippet(self.body));
        d.problem = Some(format!(
            "{what} does not decode: {}",
            one_line(&source.to_string(), 200)
        ));
        Error::Decode {
            details: Box::new(d),
            source,
        }
    }

    /// A 2xx answer: its `result` decoded and its messages, or why there is none.
    fn success(&self) -> Result<(ResultParts, ItemList), Error> {
        if !self.json {
            let mut d = self.details();
            d.snippet = Some(snippet(self.body));
            d.problem = Some("expected a JSON body".into());
            return Err(Error::NotJson(Box::new(d)));
        }
        // An array would fill the envelope's fields in order (serde's derived
        // visitor): `[true,[],[],{"status":"ready"}]` must not read as ready.
        must_be_object(&first_value_text(self.body), "the envelope")
            .map_err(|source| self.decode_error("body", source))?;
        let envelope: SuccessEnvelope<'_> = serde_json::from_slice(self.body)
            .map_err(|source| self.decode_error("body", source))?;
        let result = match envelope.result {
            Some(result) if envelope.success != Some(false) && result.get() != "null" => result,
            _ => {
                let mut d = self.details();
                d.errors = envelope.errors.items;
                d.errors_omitted = envelope.errors.omitted;
                d.messages = envelope.messages.items;
                d.messages_omitted = envelope.messages.omitted;
                return Err(if envelope.success == Some(false) {
                    d.problem = Some("success is false".into());
                    Error::Unsuccessful(Box::new(d))
                } else {
                    d.problem = Some("the envelope has no result".into());
                    Error::MissingResult(Box::new(d))
                });
            }
        };
        let parts = decode_result(result).map_err(|e| self.decode_error("`result`", e))?;
        Ok((parts, envelope.messages))
    }

    /// Any other answer: the error its status and envelope say.
    fn failure(&self) -> Error {
        let mut details = self.details();
        let envelope = if self.json {
            must_be_object::<serde_json::Error>(&first_value_text(self.body), "the envelope")
                .ok()
                .and_then(|()| serde_json::from_slice::<ErrorEnvelope>(self.body).ok())
        } else {
            None
        };
        // A list that omits items has kept its first (each list has its own budget), so
        // an envelope with nothing to show has nothing omitted either.
        match envelope {
            Some(e) if !e.errors.items.is_empty() || !e.messages.items.is_empty() => {
                details.errors = e.errors.items;
                details.errors_omitted = e.errors.omitted;
                details.messages = e.messages.items;
                details.messages_omitted = e.messages.omitted;
            }
            _ => details.snippet = (!self.body.is_empty()).then(|| snippet(self.body)),
        }
        if (300..400).contains(&self.status) {
            details.problem = Some(self.redirect_problem());
        }
        let details = Box::new(details);
        match self.status {
            401 | 403 => Error::Unauthorized(details),
            404 => Error::NotFound(details),
            429 => Error::RateLimited(details),
            _ if details.snippet.is_some() && !self.json => Error::NotJson(details),
            _ => Error::Api(details),
        }
    }

    /// Why a 3xx answer is wrong (the status is already the message's start).
    fn redirect_problem(&self) -> String {
        let location = self.headers.get(LOCATION).and_then(|v| v.to_str().ok());
        match (self.status, location) {
            (304, _) => {
                "an answer to a conditional request, which this client never makes".to_string()
            }
            (_, Some(location)) => format!("redirect to {} not followed", one_line(location, 100)),
            (_, None) => "a redirect without a Location header, not followed".to_string(),
        }
    }
}

/// JSON by content type, or by its first byte when there is no content type.
fn looks_like_json(content_type: Option<&str>, body: &[u8]) -> bool {
    match content_type {
        Some(ct) => {
            let essence = ct
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            essence == "application/json" || essence.ends_with("+json")
        }
        None => body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{'),
    }
}

/// The first bytes of the body's JSON value (past leading whitespace), enough to see
/// what kind of value it is.
fn first_value_text(body: &[u8]) -> std::borrow::Cow<'_, str> {
    let start = body
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        .unwrap_or(body.len());
    String::from_utf8_lossy(body.get(start..start.saturating_add(1)).unwrap_or_default())
}

/// The start of a body, as one line of text (invalid UTF-8 replaced).
fn snippet(body: &[u8]) -> String {
    // Cut the bytes first so a huge body costs nothing; 4 bytes per char at most.
    let head = body.get(..SNIPPET_CHARS * 4).unwrap_or(body);
    let text = String::from_utf8_lossy(head);
    let mut s = one_line(text.trim(), SNIPPET_CHARS);
    if head.len() < body.len() && !s.ends_with('…') {
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::SyncStatus;
    use reqwest::header::HeaderValue;

    fn json_headers() -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        h.insert("cf-ray", HeaderValue::from_static("8f1c2a3b4d5e6f70-SJC"));
        h
    }

    #[test]
    fn redirects_say_what_they_were() {
        let problem = |status: u16, location: Option<&str>| {
            let mut headers = HeaderMap::new();
            if let Some(l) = location {
                headers.insert(LOCATION, HeaderValue::from_str(l).unwrap());
            }
            let err = decode_sync_response(status, headers, b"", 1).unwrap_err();
            err.details()
                .and_then(|d| d.problem.clone())
                .unwrap_or_default()
        };
        assert_eq!(
            problem(307, Some("https://x.test/a")),
            "redirect to https://x.test/a not followed"
        );
        assert_eq!(
            problem(304, None),
            "an answer to a conditional request, which this client never makes"
        );
        assert_eq!(
            problem(302, None),
            "a redirect without a Location header, not followed"
        );
    }

    /// Without a content type, the first byte that is not whitespace decides: `{` is
    /// read as JSON, anything else is not.
    #[test]
    fn without_a_content_type_a_body_opening_a_json_object_is_read() {
        let body = b"\r\n  {\"success\":true,\"result\":{\"status\":\"ready\"}}";
        let report = decode_sync_response(200, HeaderMap::new(), body, 1).unwrap();
        assert!(report.is_ready());
        for other in [&b" <html>{}</html>"[..], b"", b"   "] {
            let err = decode_sync_response(200, HeaderMap::new(), other, 1).unwrap_err();
            assert!(matches!(err, Error::NotJson(_)), "{other:?}: {err:?}");
        }
    }

    /// A success whose lists are not lists is a decode error that says what was expected.
    #[test]
    fn lists_of_the_wrong_type_say_what_was_expected() {
        for (body, expected) in [
            (
                &br#"{"success":true,"errors":5,"result":{"status":"ready"}}"#[..],
                "expected a list of Cloudflare error items",
            ),
            (
                br#"{"success":true,"messages":[5],"result":{"status":"ready"}}"#,
                "expected a Cloudflare error item (an object)",
            ),
        ] {
            let err = decode_sync_response(200, json_headers(), body, 1).unwrap_err();
            assert!(matches!(err, Error::Decode { .. }), "{err:?}");
            assert!(err.to_string().contains(expected), "{err}");
        }
    }

    /// A 2xx body that is a JSON array is not an envelope, whatever its items: read in
    /// order they would say success and ready.
    #[test]
    fn an_envelope_that_is_not_an_object_is_a_decode_error_naming_it() {
        for (body, says) in [
            (
                &br#"[true,[],[],{"status":"ready"}]"#[..],
                "the envelope is an array",
            ),
            (b" \n\"ready\"", "the envelope is a string"),
            (b"42", "the envelope is a number"),
        ] {
            let err = decode_sync_response(200, json_headers(), body, 1).unwrap_err();
            assert!(matches!(err, Error::Decode { .. }), "{err:?}");
            assert!(err.to_string().contains(says), "{err}");
        }
        let result = br#"{"success":true,"result":["ready"]}"#;
        let err = decode_sync_response(200, json_headers(), result, 1).unwrap_err();
        assert!(err.to_string().contains("result is an array"), "{err}");
        // An error status's array body is not read as one either: its start is shown.
        let err = decode_sync_response(500, json_headers(), br#"[[{"code":1,"message":"m"}]]"#, 1)
            .unwrap_err();
        assert!(err.cloudflare_errors().is_empty(), "{err:?}");
        assert!(err.details().and_then(|d| d.snippet.as_deref()).is_some());
    }

    /// An error envelope with items shows them; one with nothing to show (empty
    /// lists) shows the start of the body instead, so the error is never blank.
    #[test]
    fn an_error_envelope_with_nothing_to_show_keeps_a_snippet_of_the_body() {
        let empty = br#"{"success":false,"errors":[],"messages":[],"result":null}"#;
        let err = decode_sync_response(500, json_headers(), empty, 1).unwrap_err();
        let d = err.details().expect("details");
        assert!(d.errors.is_empty());
        assert_eq!(d.snippet.as_deref(), std::str::from_utf8(empty).ok());
        let full = br#"{"success":false,"errors":[{"code":10000,"message":"boom"}],"messages":[],"result":null}"#;
        let err = decode_sync_response(500, json_headers(), full, 1).unwrap_err();
        let d = err.details().expect("details");
        assert_eq!(d.errors.len(), 1);
        assert_eq!(d.snippet, None, "the items say it");
    }

    #[test]
    fn the_whole_result_reaches_the_report_and_its_json() {
        let body = br#"{"success":true,"result":{"status":"error","error":"down","error_details":{"cause":"refused","retryable":true,"status_code":502}}}"#;
        let r = decode_sync_response(200, json_headers(), body, 1).unwrap();
        assert_eq!(r.result.error.as_deref(), Some("down"));
        let details = r.result.error_details.as_ref().unwrap();
        assert_eq!(details.cause.as_deref(), Some("refused"));
        assert_eq!(details.status_code, Some(502.0));
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["result"]["status"], "error");
        assert_eq!(json["result"]["error_details"]["retryable"], true);
    }

    #[test]
    fn a_number_that_does_not_fit_is_left_out_of_the_result_only() {
        let body = br#"{"success":true,"result":{"status":"error","error":"down","error_details":{"cause":"refused","mcp_code":1e400,"status_code":-1e999,"is_upstream":true}}}"#;
        let r = decode_sync_response(200, json_headers(), body, 1).unwrap();
        let failure = r.failure.as_ref().unwrap();
        assert_eq!(
            failure.unparsed_numbers,
            [
                ("mcp_code".to_string(), "1e400".to_string()),
                ("status_code".to_string(), "-1e999".to_string())
            ]
        );
        let details = r.result.error_details.as_ref().unwrap();
        assert_eq!((details.mcp_code, details.status_code), (None, None));
        assert_eq!(details.cause.as_deref(), Some("refused"));
        assert_eq!(details.is_upstream, Some(true));
        assert_eq!(r.result.error.as_deref(), Some("down"));
        assert_eq!(r.status, SyncStatus::Error);
        // Details without a message are a failure on this path too.
        let body = br#"{"success":true,"result":{"status":"error","error_details":{"cause":"refused","status_code":1e400}}}"#;
        let r = decode_sync_response(200, json_headers(), body, 1).unwrap();
        let failure = r.failure.as_ref().expect("a failure");
        assert_eq!(failure.cause.as_deref(), Some("refused"));
        assert_eq!(failure.message, None);
    }

    #[test]
    fn ready_report() {
        let body = br#"{"success":true,"errors":[],"messages":[],"result":{"status":"ready"}}"#;
        let r = decode_sync_response(200, json_headers(), body, 1).unwrap();
        assert!(r.is_ready());
        assert_eq!(r.meta.ray_id.as_deref(), Some("8f1c2a3b4d5e6f70-SJC"));
    }

    #[test]
    fn not_found_display_is_one_line() {
        let body = br#"{"success":false,"errors":[{"code":7002,"message":"Not Found"}]}"#;
        let e = decode_sync_response(404, json_headers(), body, 1).unwrap_err();
        assert!(matches!(e, Error::NotFound(_)));
        assert_eq!(
            e.to_string(),
            "404 Not Found: [7002] Not Found (ray 8f1c2a3b4d5e6f70-SJC)"
        );
    }

    #[test]
    fn snippet_keeps_its_length_in_characters_of_four_bytes() {
        let body = "🙂".repeat(SNIPPET_CHARS + 1);
        let s = snippet(body.as_bytes());
        assert_eq!(s, format!("{}…", "🙂".repeat(SNIPPET_CHARS)));
    }

    #[test]
    fn snippet_is_bounded_and_single_line() {
        let body = format!("<html>\n{}</html>", "x".repeat(10_000));
        let s = snippet(body.as_bytes());
        assert!(s.chars().count() <= SNIPPET_CHARS + 1);
        assert!(!s.contains('\n'));
        assert!(s.ends_with('…'));
    }
}
