//! What a successful sync returns: the server's sync state, its upstream failure if
//! any, and the response metadata.

use std::fmt;

use reqwest::header::HeaderMap;
use serde::Serialize;

use cloudflare_mcp_sync_generated::types as api;

use crate::envelope::{ApiErrorItem, ItemList};
use crate::rate_limit::RateLimit;
use crate::text::{one_line, quoted_value};

/// `result` as the spec describes it, read with the type generated from the spec: every
/// field Cloudflare documents is here, including ones added after this crate's
/// hand-written fields ([`SyncReport::status`], [`SyncReport::failure`]) were written.
/// Strings with a `date-time`, `date`, `uuid` or IP format are kept as sent (`String`),
/// integers are `i64` and numbers `f64`.
pub type SyncResult = api::McpPortalsApiSyncServerResponseResult;

/// What `result` decodes to: the status, the upstream failure, the generated type, and
/// the JSON as sent.
pub(crate) type ResultParts = (
    SyncStatus,
    Option<UpstreamFailure>,
    SyncResult,
    Box<serde_json::value::RawValue>,
);

/// The server's sync state. Open: a value Cloudflare adds later arrives as
/// [`SyncStatus::Unknown`] with the raw string, instead of failing the call.
///
/// ```
/// use cloudflare_mcp_sync::SyncStatus;
/// fn describe(status: &SyncStatus) -> &str {
///     match status {
///         SyncStatus::Ready => "serving",
///         SyncStatus::Waiting | SyncStatus::Stale => "catching up",
///         SyncStatus::Error => "failed",
///         other => other.as_str(), // Unknown(raw) and values added in later versions
///     }
/// }
/// assert_eq!(describe(&SyncStatus::from("syncing")), "syncing");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SyncStatus {
    /// Sync has not finished yet.
    Waiting,
    /// The server's capabilities are synced and usable.
    Ready,
    /// The last sync is out of date.
    Stale,
    /// The sync failed; see [`SyncReport::failure`].
    Error,
    /// A value this version does not know, kept as sent.
    Unknown(String),
}

/// The spec's known values (`waiting`, `ready`, …), generated from `result.status`.
type Known = api::McpPortalsApiSyncServerResponseResultStatusKnown;

impl SyncStatus {
    /// Every value the spec lists for `result.status`, in its order, read from the
    /// generated code: it can hold a value this version has no variant for yet (that one
    /// arrives as [`SyncStatus::Unknown`]).
    pub const SPEC_VALUES: &'static [&'static str] = Known::VALUES;

    /// The wire value.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Waiting => Known::Waiting.as_str(),
            Self::Ready => Known::Ready.as_str(),
            Self::Stale => Known::Stale.as_str(),
            Self::Error => Known::Error.as_str(),
            Self::Unknown(raw) => raw,
        }
    }
}

impl From<&str> for SyncStatus {
    /// A value the spec lists but this version does not name yet (the spec-drift pull
    /// request that brings it asks a maintainer to) is kept as [`SyncStatus::Unknown`].
    fn from(raw: &str) -> Self {
        match raw.parse::<Known>() {
            Ok(Known::Waiting) => Self::Waiting,
            Ok(Known::Ready) => Self::Ready,
            Ok(Known::Stale) => Self::Stale,
            Ok(Known::Error) => Self::Error,
            _ => Self::Unknown(raw.to_string()),
        }
    }
}

impl From<api::McpPortalsApiSyncServerResponseResultStatus> for SyncStatus {
    fn from(status: api::McpPortalsApiSyncServerResponseResultStatus) -> Self {
        // Known or not, the generated type shows the value as sent.
        Self::from(status.to_string().as_str())
    }
}

/// The wire value. An unknown one is server text that must not pass for a known one
/// (`"ready\u{200b}"` is not `ready`): it is shown in double quotes, with controls,
/// bidi overrides, whitespace other than U+0020 and invisible characters escaped, and
/// cut after 64 characters ([`SyncStatus::as_str`] keeps it exactly as sent).
impl fmt::Display for SyncStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unknown(raw) => f.write_str(&quoted_value(raw, 64)),
            known => f.write_str(known.as_str()),
        }
    }
}

impl Serialize for SyncStatus {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Why the MCP server could not be synced (`result.error` + `result.error_details`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct UpstreamFailure {
    /// `result.error`: Cloudflare's summary.
    pub message: Option<String>,
    /// `error_details.cause`: the underlying error message.
    pub cause: Option<String>,
    /// `error_details.is_upstream`: `true` when the MCP server answered with an error,
    /// `false` when Cloudflare could not reach it.
    pub is_upstream: Option<bool>,
    /// `error_details.mcp_code`: the MCP / JSON-RPC error code (may be negative).
    pub mcp_code: Option<i64>,
    /// `error_details.status_code`: the HTTP status the MCP server answered with.
    pub status_code: Option<u16>,
    /// `error_details.retryable`: whether the failure is transient.
    pub retryable: Option<bool>,
    /// `mcp_code` or `status_code` when it was not an integer in range, as the field
    /// name and the number's text (`("mcp_code", "1.5")`, `("mcp_code", "1e400")`):
    /// kept, never rounded, and never a reason to lose the rest of the report.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unparsed_numbers: Vec<(String, String)>,
}

impl UpstreamFailure {
    /// Whether Cloudflare reached the MCP server (which then answered with an error).
    pub fn server_answered(&self) -> Option<bool> {
        self.is_upstream
    }
}

impl fmt::Display for UpstreamFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Server text, made safe for a terminal and bounded.
        let message = self.message.as_deref().unwrap_or("MCP server sync failed");
        f.write_str(&one_line(message, 200))?;
        if let Some(cause) = &self.cause {
            write!(f, ": {}", one_line(cause, 300))?;
        }
        let mut extras = Vec::new();
        match self.is_upstream {
            Some(true) => extras.push("the MCP server answered".to_string()),
            Some(false) => extras.push("the MCP server was unreachable".to_string()),
            None => {}
        }
        if let Some(code) = self.mcp_code {
            extras.push(format!("mcp code {code}"));
        }
        if let Some(status) = self.status_code {
            extras.push(format!("http {status}"));
        }
        if self.retryable == Some(true) {
            extras.push("retryable".to_string());
        }
        if !extras.is_empty() {
            write!(f, " ({})", extras.join(", "))?;
        }
        Ok(())
    }
}

/// Metadata of the response a report came from.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ResponseMeta {
    /// HTTP status code.
    pub status: u16,
    /// The `cf-ray` header: quote it to Cloudflare support.
    pub ray_id: Option<String>,
    /// How many attempts the call took (1 = no retry).
    pub attempts: u32,
    /// Rate-limit state, when the response advertised it.
    pub rate_limit: Option<RateLimit>,
    /// All response headers.
    pub headers: HeaderMap,
}

/// The outcome of a sync that Cloudflare answered with a result.
///
/// A report is not a success: check [`SyncReport::is_ready`] or
/// [`SyncReport::failure`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SyncReport {
    /// The server's sync state.
    pub status: SyncStatus,
    /// Why the MCP server could not be synced, when Cloudflare said so.
    pub failure: Option<UpstreamFailure>,
    /// Items of the envelope's `messages` (the first
    /// [`MAX_LIST_ITEMS`](crate::MAX_LIST_ITEMS)).
    pub messages: Vec<ApiErrorItem>,
    /// How many more `messages` items the body had than were kept.
    pub messages_omitted: usize,
    /// Response metadata.
    pub meta: ResponseMeta,
    /// The whole `result`, typed as the spec describes it: fields the spec adds reach
    /// callers here (and in the serialized report) without a new version of the
    /// hand-written fields above. When a number did not fit its type, that number is
    /// left out here and kept in [`UpstreamFailure::unparsed_numbers`].
    pub result: SyncResult,
    /// `result` as the server sent it (every field, numbers in their own form: `502`
    /// stays `502` where [`SyncReport::result`]'s `f64` would print `502.0`), with any
    /// credential taken out of its strings. This is the serialised report's `result`.
    /// When a number in it does not fit an `f64`, it is [`SyncReport::result`]'s JSON.
    pub result_json: Box<serde_json::value::RawValue>,
}

impl SyncReport {
    /// Whether the server's capabilities are synced and usable.
    pub fn is_ready(&self) -> bool {
        self.status == SyncStatus::Ready
    }

    /// The upstream failure, if any.
    pub fn failure(&self) -> Option<&UpstreamFailure> {
        self.failure.as_ref()
    }

    /// Whether syncing again later is worth it: the server is not ready and Cloudflare
    /// did not mark the failure as permanent (`retryable: false`).
    pub fn is_worth_retrying(&self) -> bool {
        !self.is_ready() && self.failure.as_ref().and_then(|f| f.retryable) != Some(false)
    }

    pub(crate) fn new(
        (status, failure, result, result_json): ResultParts,
        messages: ItemList,
        meta: ResponseMeta,
    ) -> Self {
        Self {
            status,
            failure,
            messages: messages.items,
            messages_omitted: messages.omitted,
            meta,
            result,
            result_json,
        }
    }
}

impl Serialize for SyncReport {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("SyncReport", 11)?;
        st.serialize_field("status", &self.status)?;
        st.serialize_field("ready", &self.is_ready())?;
        st.serialize_field("failure", &self.failure)?;
        st.serialize_field("messages", &self.messages)?;
        if self.messages_omitted > 0 {
            st.serialize_field("messages_omitted", &self.messages_omitted)?;
        }
        st.serialize_field("http_status", &self.meta.status)?;
        st.serialize_field("ray_id", &self.meta.ray_id)?;
        st.serialize_field("attempts", &self.meta.attempts)?;
        st.serialize_field("rate_limit", &self.meta.rate_limit)?;
        st.serialize_field("result", &self.result_json)?;
        st.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_status_is_shown_safely_and_kept_exactly() {
        let raw = "syncing\u{1b}[2J\u{202E}x";
        let status = SyncStatus::from(raw);
        assert_eq!(status.as_str(), raw);
        let shown = status.to_string();
        assert!(
            !shown.contains('\u{1b}') && !shown.contains('\u{202E}'),
            "{shown:?}"
        );
        assert!(shown.starts_with("\"syncing"), "{shown:?}");
        assert!(
            SyncStatus::from("x".repeat(500).as_str())
                .to_string()
                .chars()
                .count()
                <= 67
        );
        // Only the exact value reads as a known one; a near miss is quoted, and what
        // would hide is shown.
        assert_eq!(SyncStatus::Ready.to_string(), "ready");
        assert_eq!(
            SyncStatus::from("ready\u{a0}").to_string(),
            r#""ready\u{a0}""#
        );
        assert_eq!(SyncStatus::from("Ready").to_string(), r#""Ready""#);
    }

    /// The serialised report counts the messages it left out, and only when it left
    /// some out.
    #[test]
    fn serialised_reports_count_omitted_messages_only_when_there_are_some() {
        let message = r#"{"code":1,"message":"m"}"#;
        for (n, omitted) in [(crate::envelope::MAX_LIST_ITEMS, None), (25, Some(5))] {
            let body = format!(
                r#"{{"success":true,"messages":[{}],"result":{{"status":"ready"}}}}"#,
                vec![message; n].join(",")
            );
            let report = crate::decode_sync_response(200, Default::default(), body.as_bytes(), 1)
                .expect("a report");
            let json = serde_json::to_value(&report).expect("serialises");
            assert_eq!(
                json.get("messages_omitted").and_then(|v| v.as_u64()),
                omitted,
                "{n} messages"
            );
        }
    }

    #[test]
    fn status_round_trips_and_keeps_unknown_values() {
        for s in ["waiting", "ready", "stale", "error", "syncing"] {
            assert_eq!(SyncStatus::from(s).as_str(), s);
        }
        // The values the spec lists are named, not kept as unknown text.
        for (s, known) in [
            ("waiting", SyncStatus::Waiting),
            ("ready", SyncStatus::Ready),
            ("stale", SyncStatus::Stale),
            ("error", SyncStatus::Error),
        ] {
            assert_eq!(SyncStatus::from(s), known);
        }
        assert_eq!(
            SyncStatus::from("syncing"),
            SyncStatus::Unknown("syncing".into())
        );
    }
}
