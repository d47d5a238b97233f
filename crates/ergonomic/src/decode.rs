//! Turning one HTTP response (status, headers, body bytes) into a report or an error.
//!
//! Pure and synchronous, so the whole decoding path can be fuzzed without a socket.

use std::time::SystemTime;

use reqwest::header::HeaderMap;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::envelope::{ItemList, bounded_list};
use crate::error::{Error, ResponseDetails, SNIPPET_CHARS};
use crate::header_names::{CF_RAY, CONTENT_TYPE, LOCATION};
use crate::report::{RateLimit, ResponseMeta, SyncReport};
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

/// Decodes one response of the sync operation.
///
/// `attempts` is recorded in the result's metadata or the error. Never panics, whatever
/// the bytes: every input gives a report or a typed [`Error`].
pub fn decode_response(
    status: u16,
    headers: HeaderMap,
    body: &[u8],
    attempts: u32,
) -> Result<SyncReport, Error> {
    let content_type = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let json = looks_like_json(content_type, body);
    // What an error carries; built only when there is an error.
    let details = || {
        let mut d = ResponseDetails::new(status);
        d.attempts = attempts;
        d.ray_id = ray_id(&headers);
        d.content_type = content_type.map(|v| one_line(v, 100));
        d.retryable = retry::should_retry_header(&headers)
            .unwrap_or_else(|| retry::status_is_retryable(status));
        d.retry_after = retry::advised_wait(&headers, SystemTime::now());
        d
    };

    if (200..300).contains(&status) {
        if !json {
            let mut d = details();
            d.snippet = Some(snippet(body));
            d.problem = Some("expected a JSON body".into());
            return Err(Error::NotJson(Box::new(d)));
        }
        // `what` says which text the decoder's line and column count in.
        let decode_error = |what: &str, source: serde_json::Error| {
            let mut d = details();
            d.snippet = Some(snippet(body));
            d.problem = Some(format!(
                "{what} does not decode: {}",
                one_line(&source.to_string(), 200)
            ));
            Error::Decode {
                details: Box::new(d),
                source,
            }
        };
        let envelope: SuccessEnvelope<'_> = match serde_json::from_slice(body) {
            Ok(e) => e,
            Err(source) => return Err(decode_error("body", source)),
        };
        let result = match envelope.result {
            Some(result) if envelope.success != Some(false) && result.get() != "null" => result,
            _ => {
                let mut d = details();
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
        let parts =
            crate::report::decode_result(result).map_err(|e| decode_error("`result`", e))?;
        let meta = ResponseMeta {
            status,
            ray_id: ray_id(&headers),
            attempts,
            rate_limit: RateLimit::from_headers(&headers),
            headers,
        };
        return Ok(SyncReport::new(parts, envelope.messages, meta));
    }

    let mut details = details();
    let envelope = if json {
        serde_json::from_slice::<ErrorEnvelope>(body).ok()
    } else {
        None
    };
    match envelope {
        Some(e)
            if !e.errors.items.is_empty()
                || !e.messages.items.is_empty()
                || e.errors.omitted + e.messages.omitted > 0 =>
        {
            details.errors = e.errors.items;
            details.errors_omitted = e.errors.omitted;
            details.messages = e.messages.items;
            details.messages_omitted = e.messages.omitted;
        }
        _ => details.snippet = (!body.is_empty()).then(|| snippet(body)),
    }
    if (300..400).contains(&status) {
        let location = headers
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("?");
        details.problem = Some(format!(
            "redirect to {} not followed",
            one_line(location, 100)
        ));
    }
    let details = Box::new(details);
    Err(match status {
        401 | 403 => Error::Unauthorized(details),
        404 => Error::NotFound(details),
        429 => Error::RateLimited(details),
        _ if details.snippet.is_some() && !json => Error::NotJson(details),
        _ => Error::Api(details),
    })
}

/// The `cf-ray` header, bounded.
pub(crate) fn ray_id(headers: &HeaderMap) -> Option<String> {
    // `to_str` admits only visible ASCII, so only the length needs bounding.
    let ray = headers.get(CF_RAY)?.to_str().ok()?;
    Some(ray.get(..64).unwrap_or(ray).to_string())
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
    use reqwest::header::HeaderValue;

    fn json_headers() -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        h.insert("cf-ray", HeaderValue::from_static("8f1c2a3b4d5e6f70-SJC"));
        h
    }

    #[test]
    fn ready_report() {
        let body = br#"{"success":true,"errors":[],"messages":[],"result":{"status":"ready"}}"#;
        let r = decode_response(200, json_headers(), body, 1).unwrap();
        assert!(r.is_ready());
        assert_eq!(r.meta.ray_id.as_deref(), Some("8f1c2a3b4d5e6f70-SJC"));
    }

    #[test]
    fn not_found_display_is_one_line() {
        let body = br#"{"success":false,"errors":[{"code":7002,"message":"Not Found"}]}"#;
        let e = decode_response(404, json_headers(), body, 1).unwrap_err();
        assert!(matches!(e, Error::NotFound(_)));
        assert_eq!(
            e.to_string(),
            "404 Not Found: [7002] Not Found (ray 8f1c2a3b4d5e6f70-SJC)"
        );
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
