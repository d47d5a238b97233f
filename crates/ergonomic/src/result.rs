//! `result`: what Cloudflare says about the server, read with the generated type from
//! the spec, and kept as sent for the serialised report.

use std::fmt;

use serde::de::{self, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

use crate::numbers::{float_to_i64, parse_integral};
use crate::report::{ResultParts, SyncResult, SyncStatus, UpstreamFailure};

/// Reads `result` (raw JSON) with the generated type from the spec. A number the
/// generated type cannot hold (`1e400`) does not lose the report: the same fields are
/// then read leniently and the number is kept as text. `result`, and its
/// `error_details`, must be objects: serde's derived visitors would fill a struct's
/// fields from an array (`["ready"]` read as ready), so shapes are checked on the raw
/// text first.
pub(crate) fn decode_result(result: &RawValue) -> Result<ResultParts, serde_json::Error> {
    let text = result.get();
    let fits = check_shape(text)?;
    match serde_json::from_str::<SyncResult>(text) {
        Ok(typed) => {
            let (status, failure) = from_generated(typed.clone());
            let raw = if fits {
                result.to_owned()
            } else {
                printable(without_unfit_numbers(text), &typed)
            };
            Ok((status, failure, typed, raw))
        }
        Err(strict) => match serde_json::from_str::<LenientResult>(text) {
            Ok(lenient) if lenient.numbers_look_like_numbers() => {
                let (status, failure) = from_lenient(lenient);
                let kept = without_unfit_numbers(text);
                let typed = kept
                    .as_deref()
                    .and_then(|k| serde_json::from_str(k.get()).ok())
                    .unwrap_or_default();
                let raw = printable(kept, &typed);
                Ok((status, failure, typed, raw))
            }
            _ => Err(strict),
        },
    }
}

/// `result` as it will be printed: the text as sent when every number in it fits a
/// JSON reader's `f64`, else the generated type's own JSON (which never holds one that
/// does not).
fn printable(kept: Option<Box<RawValue>>, typed: &SyncResult) -> Box<RawValue> {
    kept.filter(|k| numbers_fit(k.get()))
        .or_else(|| serde_json::value::to_raw_value(typed).ok())
        .unwrap_or_else(|| RawValue::from_string("{}".to_string()).unwrap_or_default())
}

/// `text` without the `error_details` numbers the generated type cannot hold (they are
/// in [`UpstreamFailure::unparsed_numbers`]); every other field, including ones this
/// version does not name, is kept as sent.
fn without_unfit_numbers(text: &str) -> Option<Box<RawValue>> {
    type Fields = Vec<(String, Box<RawValue>)>;
    let mut top: Fields = serde_json::from_str::<Members>(text).ok()?.0;
    for (key, raw) in &mut top {
        if key == "error_details" && raw.get().starts_with('{') {
            let mut details: Fields = serde_json::from_str::<Members>(raw.get()).ok()?.0;
            details.retain(|(_, v)| {
                !v.get()
                    .starts_with(|c: char| c == '-' || c.is_ascii_digit())
                    || serde_json::from_str::<f64>(v.get()).is_ok()
            });
            *raw = to_object(&details)?;
        }
    }
    to_object(&top)
}

/// An object's members in the order sent.
struct Members(Vec<(String, Box<RawValue>)>);

impl<'de> Deserialize<'de> for Members {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Members;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members, A::Error> {
                let mut out = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    out.push(entry);
                }
                Ok(Members(out))
            }
        }
        de.deserialize_map(V)
    }
}

fn to_object(members: &[(String, Box<RawValue>)]) -> Option<Box<RawValue>> {
    let mut out = String::from("{");
    for (i, (key, value)) in members.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&serde_json::to_string(key).ok()?);
        out.push(':');
        out.push_str(value.get());
    }
    out.push('}');
    RawValue::from_string(out).ok()
}

/// Results larger than this get their `status` checked before the generated type reads
/// them: its open enum buffers whatever `status` holds, and a huge array there would
/// cost many times its size in memory before failing.
const SHAPE_CHECK_BYTES: usize = 4096;

/// One pass over `result` before the generated type reads it: `result` must be an
/// object, `error_details` an object or null, and (in a large result) `status` a
/// string. Returns whether every number fits an `f64`.
fn check_shape(text: &str) -> Result<bool, serde_json::Error> {
    struct Top {
        large: bool,
    }
    impl<'de> Visitor<'de> for Top {
        type Value = bool;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
            let mut fit = true;
            while let Some(key) = map.next_key::<String>()? {
                let raw: &'de RawValue = map.next_value()?;
                match key.as_str() {
                    "error_details" => must_be_object(raw.get(), "result.error_details")?,
                    "status"
                        if self.large
                            && !matches!(raw.get().as_bytes().first(), Some(b'"' | b'n')) =>
                    {
                        return Err(de::Error::custom("result.status is not a string"));
                    }
                    _ => {}
                }
                fit = fit && numbers_fit(raw.get());
            }
            Ok(fit)
        }
    }
    must_be_object(text, "result")?;
    let mut de = serde_json::Deserializer::from_str(text);
    let fit = serde::Deserializer::deserialize_map(
        &mut de,
        Top {
            large: text.len() > SHAPE_CHECK_BYTES,
        },
    )?;
    Ok(fit)
}

/// An error naming `field` unless `raw` (one JSON value) is an object or null.
pub(crate) fn must_be_object<E: de::Error>(raw: &str, field: &str) -> Result<(), E> {
    let what = match raw.trim_start().as_bytes().first() {
        // Nothing at all is the decoder's to say ("EOF while parsing").
        Some(b'{') | Some(b'n') | None => return Ok(()),
        Some(b'[') => "an array",
        Some(b'"') => "a string",
        Some(b't' | b'f') => "a boolean",
        Some(_) => "a number",
    };
    Err(E::custom(format_args!("{field} is {what}, not an object")))
}

/// Whether every number in `text` (one JSON value) fits an `f64`, as a JSON reader
/// needs to take the text as sent.
fn numbers_fit(text: &str) -> bool {
    struct Fits;
    impl<'de> Deserialize<'de> for Fits {
        fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
            de.deserialize_any(Fits)
        }
    }
    impl<'de> Visitor<'de> for Fits {
        type Value = Fits;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("any JSON value")
        }
        fn visit_bool<E>(self, _: bool) -> Result<Fits, E> {
            Ok(Fits)
        }
        fn visit_i64<E>(self, _: i64) -> Result<Fits, E> {
            Ok(Fits)
        }
        fn visit_u64<E>(self, _: u64) -> Result<Fits, E> {
            Ok(Fits)
        }
        fn visit_f64<E>(self, _: f64) -> Result<Fits, E> {
            Ok(Fits)
        }
        fn visit_str<E>(self, _: &str) -> Result<Fits, E> {
            Ok(Fits)
        }
        fn visit_unit<E>(self) -> Result<Fits, E> {
            Ok(Fits)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Fits, A::Error> {
            while seq.next_element::<Fits>()?.is_some() {}
            Ok(Fits)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Fits, A::Error> {
            while map.next_entry::<IgnoredAny, Fits>()?.is_some() {}
            Ok(Fits)
        }
    }
    serde_json::from_str::<Fits>(text).is_ok()
}

fn from_generated(result: SyncResult) -> (SyncStatus, Option<UpstreamFailure>) {
    let status = result
        .status
        .map_or_else(|| SyncStatus::Unknown(String::new()), SyncStatus::from);
    let failure = (result.error.is_some() || result.error_details.is_some()).then(|| {
        let d = result.error_details.unwrap_or_default();
        let number = |v: f64| Number {
            value: float_to_i64(v),
            text: v.to_string(),
        };
        upstream_failure(
            result.error,
            d.cause,
            d.is_upstream,
            d.retryable,
            d.mcp_code.map(number),
            d.status_code.map(number),
        )
    });
    (status, failure)
}

/// A number of the result as an integer when it is one, and as it was written.
struct Number {
    value: Option<i64>,
    text: String,
}

/// The failure, with `mcp_code` as `i64` and `status_code` as `u16` when they fit; a
/// number that does not is kept as text in `unparsed_numbers`, never rounded.
fn upstream_failure(
    message: Option<String>,
    cause: Option<String>,
    is_upstream: Option<bool>,
    retryable: Option<bool>,
    mcp_code: Option<Number>,
    status_code: Option<Number>,
) -> UpstreamFailure {
    let mut unparsed = Vec::new();
    let mcp_code = mcp_code.and_then(|n| {
        if n.value.is_none() {
            unparsed.push(("mcp_code".to_string(), n.text.clone()));
        }
        n.value
    });
    let status_code = status_code.and_then(|n| {
        let code = n.value.and_then(|v| u16::try_from(v).ok());
        if code.is_none() {
            unparsed.push(("status_code".to_string(), n.text.clone()));
        }
        code
    });
    UpstreamFailure {
        message,
        cause,
        is_upstream,
        mcp_code,
        status_code,
        retryable,
        unparsed_numbers: unparsed,
    }
}

/// The result's fields with numbers kept as text: the fallback when a number does not
/// fit the generated type's `f64`.
#[derive(Deserialize)]
struct LenientResult {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    error_details: Option<LenientDetails>,
}

#[derive(Deserialize, Default)]
struct LenientDetails {
    #[serde(default)]
    cause: Option<String>,
    #[serde(default)]
    is_upstream: Option<bool>,
    #[serde(default)]
    retryable: Option<bool>,
    #[serde(default)]
    mcp_code: Option<Box<RawValue>>,
    #[serde(default)]
    status_code: Option<Box<RawValue>>,
}

impl LenientResult {
    /// Only numbers may differ from what the generated type takes.
    fn numbers_look_like_numbers(&self) -> bool {
        let is_number = |v: &Option<Box<RawValue>>| {
            v.as_ref().is_none_or(|raw| {
                raw.get()
                    .starts_with(|c: char| c == '-' || c.is_ascii_digit())
            })
        };
        self.error_details
            .as_ref()
            .is_none_or(|d| is_number(&d.mcp_code) && is_number(&d.status_code))
    }
}

fn from_lenient(result: LenientResult) -> (SyncStatus, Option<UpstreamFailure>) {
    let status = SyncStatus::from(result.status.as_deref().unwrap_or(""));
    let failure = (result.error.is_some() || result.error_details.is_some()).then(|| {
        let d = result.error_details.unwrap_or_default();
        let number = |raw: Box<RawValue>| Number {
            value: parse_integral(raw.get()),
            text: raw.get().to_string(),
        };
        upstream_failure(
            result.error,
            d.cause,
            d.is_upstream,
            d.retryable,
            d.mcp_code.map(number),
            d.status_code.map(number),
        )
    });
    (status, failure)
}
#[cfg(test)]
mod tests {
    use super::*;

    /// A result over SHAPE_CHECK_BYTES has its status looked at before the generated
    /// type reads it (an array there is refused as such); one at the bound goes straight
    /// to the generated type, whose own error names the type it wanted.
    #[test]
    fn only_results_over_the_bound_have_their_status_shape_checked() {
        let decode = |status: &str, size: usize| {
            let head = format!(r#"{{"status":{status},"pad":""#);
            let text = format!("{head}{}\"}}", "x".repeat(size - head.len() - 2));
            assert_eq!(text.len(), size);
            decode_result(&RawValue::from_string(text).unwrap())
        };
        let at_bound = decode("[1]", SHAPE_CHECK_BYTES).unwrap_err().to_string();
        assert!(
            !at_bound.contains("result.status is not a string"),
            "{at_bound}"
        );
        let over = decode("[1]", SHAPE_CHECK_BYTES + 1)
            .unwrap_err()
            .to_string();
        assert!(over.contains("result.status is not a string"), "{over}");
        // A string passes the check.
        let (status, failure, _, _) = decode(r#""ready""#, SHAPE_CHECK_BYTES + 1).unwrap();
        assert_eq!((status, failure.is_none()), (SyncStatus::Ready, true));
    }

    fn decode(text: &str) -> Result<ResultParts, serde_json::Error> {
        decode_result(&RawValue::from_string(text.to_string()).unwrap())
    }

    /// `result` and `error_details` must be objects: serde's derived visitors would
    /// read an array's items as the fields, in order.
    #[test]
    fn only_objects_are_read_as_result_and_error_details() {
        for (text, says) in [
            (r#"["ready"]"#, "result is an array, not an object"),
            (r#""ready""#, "result is a string, not an object"),
            ("5", "result is a number, not an object"),
            ("true", "result is a boolean, not an object"),
            (
                r#"{"status":"error","error_details":["c",true,1,false,500]}"#,
                "result.error_details is an array, not an object",
            ),
            (
                r#"{"status":"error","error_details":"c"}"#,
                "result.error_details is a string, not an object",
            ),
        ] {
            let err = decode(text)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.contains(says), "{text}: {err:?}");
        }
        let (status, failure, _, _) = decode(r#"{"status":"ready","error_details":null}"#).unwrap();
        assert_eq!(status, SyncStatus::Ready);
        assert!(failure.is_none(), "null details are no details");
    }

    /// The JSON kept for printing is the text as sent: integers stay integers, floats
    /// keep their point, unknown fields stay; a number no reader's `f64` holds is
    /// left out as before.
    #[test]
    fn numbers_keep_the_form_they_were_sent_in() {
        let text = r#"{"status":"error","error_details":{"status_code":502,"mcp_code":-32603.0},"new":[1,2.50]}"#;
        let (_, failure, typed, raw) = decode(text).unwrap();
        assert_eq!(raw.get(), text);
        assert_eq!(typed.error_details.and_then(|d| d.status_code), Some(502.0));
        assert_eq!(failure.and_then(|f| f.status_code), Some(502));
        let odd = r#"{"status":"error","error_details":{"status_code":1e400,"cause":"c"},"x":7}"#;
        let (_, failure, _, raw) = decode(odd).unwrap();
        assert_eq!(
            raw.get(),
            r#"{"status":"error","error_details":{"cause":"c"},"x":7}"#
        );
        assert_eq!(failure.map(|f| f.unparsed_numbers.len()), Some(1));
        // An unfit number where no lenient read removes it: the generated type's JSON.
        let (_, _, _, raw) = decode(r#"{"status":"ready","x":1e400}"#).unwrap();
        assert_eq!(raw.get(), r#"{"status":"ready"}"#);
    }
}
