//! What is printed for each server: the JSON record (a stable, documented shape) and
//! the text line. Server text reaches the terminal only through the library's
//! `Display` impls, which strip controls and bidi overrides and bound the length.

use std::borrow::Cow;

use cloudflare_mcp_sync::{ApiErrorItem, Error, SyncReport};
use serde::Serialize;

/// Server text one record holds at most (about; JSON escapes come on top). Up to 64
/// finished records wait behind a slow earlier id, each with Cloudflare's strings
/// kept whole by the library: 70 ids answering a 3.9 MB message with the first id
/// stalled took 293 MiB. A record past this is cut and says `"truncated": true`.
pub const MAX_RECORD_TEXT_BYTES: usize = 32 * 1024;

/// How one server's sync ended, from the exit code's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Synced and ready.
    Ready,
    /// Cloudflare answered with a result, but the server is not ready.
    NotReady,
    /// The request failed.
    Failed,
    /// The run was interrupted by a signal (SIGINT, SIGTERM, SIGHUP, …) before this
    /// id's result came.
    NotAttempted,
}

impl Outcome {
    /// The outcome of one sync.
    pub fn of(result: &Result<SyncReport, Error>) -> Self {
        match result {
            Ok(report) if report.is_ready() => Self::Ready,
            Ok(_) => Self::NotReady,
            Err(_) => Self::Failed,
        }
    }
}

/// One line of `--output json`. Fields are only ever added (a removal or a change of
/// meaning is a semver-major release of the CLI).
#[derive(Debug, Serialize)]
pub struct Record<'a> {
    /// The id, as given.
    pub server_id: &'a str,
    /// Whether the answer came from the embedded mock rather than Cloudflare.
    pub mock: bool,
    /// `ready`, `not_ready`, `failed`, or `not_attempted` (an interrupted run).
    pub outcome: Outcome,
    /// The library's report (its `Serialize` shape), when Cloudflare answered with one.
    pub report: Option<Cow<'a, SyncReport>>,
    /// Why the request failed, when it did.
    pub error: Option<ErrorRecord<'a>>,
    /// Present, and true, when the server's text was more than
    /// [`MAX_RECORD_TEXT_BYTES`]: strings cut (ending in `…`), items past the bound
    /// counted in `messages_omitted`, the result's later members left out.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}

/// The `error` of a [`Record`].
#[derive(Debug, Serialize)]
pub struct ErrorRecord<'a> {
    /// A stable name for the kind of failure (`not_found`, `rate_limited`, `timeout`, …).
    pub kind: &'static str,
    /// The error's one-line `Display`.
    pub message: String,
    /// The HTTP status, when a response came back.
    pub http_status: Option<u16>,
    /// The `cf-ray` of that response.
    pub ray_id: Option<&'a str>,
    /// Attempts made (0 when nothing was sent).
    pub attempts: u32,
    /// Whether trying again later may succeed.
    pub retryable: bool,
    /// The wait the server advised, in milliseconds.
    pub retry_after_ms: Option<u128>,
    /// Cloudflare's error items (`code`, `message`, …).
    pub cloudflare_errors: Cow<'a, [ApiErrorItem]>,
}

impl<'a> Record<'a> {
    /// The record of one server's result.
    pub fn new(server_id: &'a str, mock: bool, result: &'a Result<SyncReport, Error>) -> Self {
        let mut truncated = false;
        let report =
            result
                .as_ref()
                .ok()
                .map(|r| match r.with_text_within(MAX_RECORD_TEXT_BYTES) {
                    Some(cut) => {
                        truncated = true;
                        Cow::Owned(cut)
                    }
                    None => Cow::Borrowed(r),
                });
        let errors = result.as_ref().err().map(|e| {
            let all = e.cloudflare_errors();
            match ApiErrorItem::list_within(all, MAX_RECORD_TEXT_BYTES) {
                Some((cut, _)) => {
                    truncated = true;
                    Cow::Owned(cut)
                }
                None => Cow::Borrowed(all),
            }
        });
        Self {
            server_id,
            mock,
            outcome: Outcome::of(result),
            report,
            truncated,
            error: result.as_ref().err().map(|e| ErrorRecord {
                kind: kind(e),
                message: e.to_string(),
                http_status: e.status(),
                ray_id: e.ray_id(),
                attempts: e.attempts(),
                retryable: e.is_retryable(),
                retry_after_ms: e.retry_after().map(|d| d.as_millis()),
                cloudflare_errors: errors.unwrap_or_default(),
            }),
        }
    }
}

impl<'a> Record<'a> {
    /// The record of an id that had no result when the run was interrupted.
    pub fn not_attempted(server_id: &'a str, mock: bool) -> Self {
        Self {
            server_id,
            mock,
            outcome: Outcome::NotAttempted,
            report: None,
            error: None,
            truncated: false,
        }
    }
}

/// A stable snake_case name for each error variant (the enum is non-exhaustive, so a
/// variant added later is `other` until this list learns it).
pub fn kind(e: &Error) -> &'static str {
    match e {
        Error::InvalidInput(_) => "invalid_input",
        Error::Config(_) => "config",
        Error::Unauthorized(_) => "unauthorized",
        Error::NotFound(_) => "not_found",
        Error::RateLimited(_) => "rate_limited",
        Error::Api(_) => "api",
        Error::Unsuccessful(_) => "unsuccessful",
        Error::MissingResult(_) => "missing_result",
        Error::NotJson(_) => "not_json",
        Error::Decode { .. } => "decode",
        Error::BodyTooLarge(_) => "body_too_large",
        Error::Connect(_) => "connect",
        Error::Timeout(_) => "timeout",
        Error::Transport(_) => "transport",
        _ => "other",
    }
}

/// One `--output text` line: the id (padded to `width`), the status, and the cause
/// when there is one.
pub fn text_line(server_id: &str, width: usize, result: &Result<SyncReport, Error>) -> String {
    let (status, detail) = match result {
        Ok(report) => (
            report.status.to_string(),
            report.failure().map(ToString::to_string),
        ),
        Err(e) => ("failed".to_string(), Some(e.to_string())),
    };
    let line = format!("{server_id:<width$}  {status:<7}");
    match detail {
        Some(detail) => format!("{line}  {detail}"),
        None => line.trim_end().to_string(),
    }
}

/// The `--output text` line of an id that had no result when the run was interrupted.
pub fn text_not_attempted(server_id: &str, width: usize) -> String {
    format!("{server_id:<width$}  not attempted (interrupted)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_not_attempted_says_so_in_its_column() {
        assert_eq!(
            text_not_attempted("ab", 4),
            "ab    not attempted (interrupted)"
        );
    }

    #[test]
    fn outcomes_order_by_how_bad_they_are() {
        assert!(Outcome::Ready < Outcome::NotReady);
        assert!(Outcome::NotReady < Outcome::Failed);
        assert!(Outcome::Failed < Outcome::NotAttempted);
    }

    #[test]
    fn every_kind_of_answer_has_its_own_stable_name() {
        use cloudflare_mcp_sync::{HeaderMap, decode_sync_response};
        let failure = |code: u32| {
            format!(
                r#"{{"success":false,"errors":[{{"code":{code},"message":"m"}}],"messages":[],"result":null}}"#
            )
        };
        let cases = [
            (401, failure(10000), "unauthorized"),
            (403, failure(10000), "unauthorized"),
            (404, failure(7002), "not_found"),
            (429, failure(971), "rate_limited"),
            (500, failure(1000), "api"),
            (200, failure(1000), "unsuccessful"),
            (
                200,
                r#"{"success":true,"errors":[],"messages":[]}"#.to_string(),
                "missing_result",
            ),
            (502, "<html>bad gateway</html>".to_string(), "not_json"),
            (
                200,
                r#"{"success":true,"errors":[],"messages":[],"result":{"status":7}}"#.to_string(),
                "decode",
            ),
        ];
        for (status, body, name) in cases {
            let e = decode_sync_response(status, HeaderMap::new(), body.as_bytes(), 1).unwrap_err();
            assert_eq!(kind(&e), name, "{status} {body}: {e:?}");
        }
        let config = cloudflare_mcp_sync::Client::builder().build().unwrap_err();
        assert_eq!(kind(&config), "config");
    }

    #[test]
    fn a_failed_text_line_says_failed_and_why() {
        let e = cloudflare_mcp_sync::check_ids("acc", "Bad").unwrap_err();
        let result = Err(e);
        let line = text_line("Bad", 5, &result);
        assert!(
            line.starts_with("Bad    failed   invalid server id"),
            "{line:?}"
        );
        assert_eq!(Outcome::of(&result), Outcome::Failed);
        let record = serde_json::to_value(Record::new("Bad", false, &result)).unwrap();
        assert_eq!(record["error"]["kind"], "invalid_input");
        assert_eq!(record["outcome"], "failed");
        assert_eq!(record["report"], serde_json::Value::Null);
    }
}
