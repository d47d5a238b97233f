//! What a successful sync returns: the server's sync state, its upstream failure if
//! any, and the response metadata.

use std::fmt;
use std::time::Duration;

use reqwest::header::HeaderMap;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use cloudflare_mcp_sync_generated::types as api;

use crate::envelope::{ApiErrorItem, ItemList};
use crate::numbers::{float_to_i64, parse_integral};
use crate::text::one_line;

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

impl SyncStatus {
    /// The wire value.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Waiting => "waiting",
            Self::Ready => "ready",
            Self::Stale => "stale",
            Self::Error => "error",
            Self::Unknown(raw) => raw,
        }
    }
}

impl From<&str> for SyncStatus {
    fn from(raw: &str) -> Self {
        match raw {
            "waiting" => Self::Waiting,
            "ready" => Self::Ready,
            "stale" => Self::Stale,
            "error" => Self::Error,
            other => Self::Unknown(other.to_string()),
        }
    }
}

impl From<api::McpPortalsApiSyncServerResponseResultStatus> for SyncStatus {
    fn from(status: api::McpPortalsApiSyncServerResponseResultStatus) -> Self {
        use api::McpPortalsApiSyncServerResponseResultStatus as S;
        use api::McpPortalsApiSyncServerResponseResultStatusKnown as K;
        match status {
            S::McpPortalsApiSyncServerResponseResultStatusKnown(known) => match known {
                K::Waiting => Self::Waiting,
                K::Ready => Self::Ready,
                K::Stale => Self::Stale,
                K::Error => Self::Error,
            },
            S::Unknown(raw) => Self::from(raw.as_str()),
        }
    }
}

impl fmt::Display for SyncStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
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

/// Rate-limit state advertised by the response, so callers can slow down before a 429.
///
/// Read from the IETF draft headers `Ratelimit: "default";r=50;t=30` and
/// `Ratelimit-Policy: "burst";q=100;w=60`, or the older `X-RateLimit-*`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct RateLimit {
    /// Requests left in the current window.
    pub remaining: Option<u64>,
    /// Time until the window resets.
    pub reset: Option<Duration>,
    /// Requests allowed per window.
    pub limit: Option<u64>,
    /// Length of the window.
    pub window: Option<Duration>,
}

impl RateLimit {
    /// Parses the rate-limit headers; `None` when there are none.
    pub fn from_headers(headers: &HeaderMap) -> Option<Self> {
        use crate::header_names as h;
        let mut rl = RateLimit::default();
        let (mut x_remaining, mut x_limit, mut x_reset) = (None, None, None);
        // One pass over the (few) headers instead of a hashed lookup per name.
        for (name, value) in headers {
            let Ok(v) = value.to_str() else { continue };
            let num = || v.trim().parse::<u64>().ok();
            if *name == h::RATELIMIT {
                rl.remaining = param(v, "r");
                rl.reset = param(v, "t").map(Duration::from_secs);
            } else if *name == h::RATELIMIT_POLICY {
                rl.limit = param(v, "q");
                rl.window = param(v, "w").map(Duration::from_secs);
            } else if *name == h::X_RATELIMIT_REMAINING {
                x_remaining = num();
            } else if *name == h::X_RATELIMIT_LIMIT {
                x_limit = num();
            } else if *name == h::X_RATELIMIT_RESET {
                x_reset = num().map(Duration::from_secs);
            }
        }
        rl.remaining = rl.remaining.or(x_remaining);
        rl.limit = rl.limit.or(x_limit);
        rl.reset = rl.reset.or(x_reset);
        (rl != RateLimit::default()).then_some(rl)
    }
}

/// `key=value` from a structured-field list such as `"default";r=50;t=30`; the first
/// list member that has the key wins.
fn param(header: &str, key: &str) -> Option<u64> {
    header
        .split([';', ','])
        .filter_map(|part| part.trim().split_once('='))
        .find(|(k, _)| k.trim() == key)
        .and_then(|(_, v)| v.trim().trim_matches('"').parse().ok())
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
        (status, failure): (SyncStatus, Option<UpstreamFailure>),
        messages: ItemList,
        meta: ResponseMeta,
    ) -> Self {
        Self {
            status,
            failure,
            messages: messages.items,
            messages_omitted: messages.omitted,
            meta,
        }
    }
}

/// Reads `result` (raw JSON) with the generated type from the spec. A number the
/// generated type cannot hold (`1e400`) does not lose the report: the same fields are
/// then read leniently and the number is kept as text.
pub(crate) fn decode_result(
    result: &RawValue,
) -> Result<(SyncStatus, Option<UpstreamFailure>), serde_json::Error> {
    let text = result.get();
    if text.len() > SHAPE_CHECK_BYTES {
        check_status_shape(text)?;
    }
    match serde_json::from_str::<api::McpPortalsApiSyncServerResponseResult>(text) {
        Ok(result) => Ok(from_generated(result)),
        Err(strict) => match serde_json::from_str::<LenientResult>(text) {
            Ok(lenient) if lenient.numbers_look_like_numbers() => Ok(from_lenient(lenient)),
            _ => Err(strict),
        },
    }
}

/// Results larger than this get their `status` checked before the generated type reads
/// them: its open enum buffers whatever `status` holds, and a huge array there would
/// cost many times its size in memory before failing.
const SHAPE_CHECK_BYTES: usize = 4096;

fn check_status_shape(text: &str) -> Result<(), serde_json::Error> {
    #[derive(Deserialize)]
    struct Shape<'a> {
        #[serde(default, borrow)]
        status: Option<&'a RawValue>,
    }
    let shape: Shape<'_> = serde_json::from_str(text)?;
    match shape.status.map(RawValue::get) {
        Some(raw) if !raw.starts_with('"') => {
            Err(serde::de::Error::custom("result.status is not a string"))
        }
        _ => Ok(()),
    }
}

fn from_generated(
    result: api::McpPortalsApiSyncServerResponseResult,
) -> (SyncStatus, Option<UpstreamFailure>) {
    let status = result
        .status
        .map_or_else(|| SyncStatus::Unknown(String::new()), SyncStatus::from);
    let failure = (result.error.is_some() || result.error_details.is_some()).then(|| {
        let d = result.error_details.unwrap_or_default();
        let mut unparsed = Vec::new();
        let mcp_code = d.mcp_code.and_then(|v| {
            let n = float_to_i64(v);
            if n.is_none() {
                unparsed.push(("mcp_code".to_string(), v.to_string()));
            }
            n
        });
        let status_code = d.status_code.and_then(|v| {
            let n = float_to_i64(v).and_then(|n| u16::try_from(n).ok());
            if n.is_none() {
                unparsed.push(("status_code".to_string(), v.to_string()));
            }
            n
        });
        UpstreamFailure {
            message: result.error,
            cause: d.cause,
            is_upstream: d.is_upstream,
            mcp_code,
            status_code,
            retryable: d.retryable,
            unparsed_numbers: unparsed,
        }
    });
    (status, failure)
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
        let mut unparsed = Vec::new();
        let mut number = |field: &str, raw: Option<Box<RawValue>>| {
            let raw = raw?;
            let n = parse_integral(raw.get());
            if n.is_none() {
                unparsed.push((field.to_string(), raw.get().to_string()));
            }
            n
        };
        let mcp_code = number("mcp_code", d.mcp_code);
        let status_code = number("status_code", d.status_code).and_then(|n| {
            let code = u16::try_from(n).ok();
            if code.is_none() {
                unparsed.push(("status_code".to_string(), n.to_string()));
            }
            code
        });
        UpstreamFailure {
            message: result.error,
            cause: d.cause,
            is_upstream: d.is_upstream,
            mcp_code,
            status_code,
            retryable: d.retryable,
            unparsed_numbers: unparsed,
        }
    });
    (status, failure)
}

impl Serialize for SyncReport {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("SyncReport", 9)?;
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
        st.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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

    #[test]
    fn legacy_rate_limit_headers_parse() {
        let mut h = HeaderMap::new();
        h.insert("x-ratelimit-remaining", HeaderValue::from_static("7"));
        h.insert("x-ratelimit-limit", HeaderValue::from_static("1200"));
        let rl = RateLimit::from_headers(&h).unwrap();
        assert_eq!((rl.remaining, rl.limit), (Some(7), Some(1200)));
        assert!(RateLimit::from_headers(&HeaderMap::new()).is_none());
    }

    #[test]
    fn status_round_trips_and_keeps_unknown_values() {
        for s in ["waiting", "ready", "stale", "error", "syncing"] {
            assert_eq!(SyncStatus::from(s).as_str(), s);
        }
        assert_eq!(
            SyncStatus::from("syncing"),
            SyncStatus::Unknown("syncing".into())
        );
    }
}
