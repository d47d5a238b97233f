//! What a successful sync returns: the server's sync state, its upstream failure if
//! any, and the response metadata.

use std::fmt;
use std::time::Duration;

use reqwest::header::HeaderMap;
use serde::Serialize;

use cloudflare_mcp_sync_generated::types as api;

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
    /// `mcp_code` or `status_code` as sent when it was not an integer in range (kept,
    /// never rounded).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unparsed_numbers: Vec<(String, f64)>,
}

impl UpstreamFailure {
    /// Whether Cloudflare reached the MCP server (which then answered with an error).
    pub fn server_answered(&self) -> Option<bool> {
        self.is_upstream
    }
}

impl fmt::Display for UpstreamFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message.as_deref().unwrap_or("MCP server sync failed"))?;
        if let Some(cause) = &self.cause {
            write!(f, ": {cause}")?;
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
    /// Items of the envelope's `messages`.
    pub messages: Vec<crate::ApiErrorItem>,
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

    pub(crate) fn from_result(
        result: api::McpPortalsApiSyncServerResponseResult,
        messages: Vec<crate::ApiErrorItem>,
        meta: ResponseMeta,
    ) -> Self {
        let status = result
            .status
            .map_or_else(|| SyncStatus::Unknown(String::new()), SyncStatus::from);
        let failure = (result.error.is_some() || result.error_details.is_some()).then(|| {
            let d = result.error_details.unwrap_or_default();
            let mut unparsed = Vec::new();
            let mcp_code = d.mcp_code.and_then(|v| {
                let n = float_to_i64(v);
                if n.is_none() {
                    unparsed.push(("mcp_code".to_string(), v));
                }
                n
            });
            let status_code = d.status_code.and_then(|v| {
                let n = float_to_i64(v).and_then(|n| u16::try_from(n).ok());
                if n.is_none() {
                    unparsed.push(("status_code".to_string(), v));
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
        Self {
            status,
            failure,
            messages,
            meta,
        }
    }
}

impl Serialize for SyncReport {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("SyncReport", 8)?;
        st.serialize_field("status", &self.status)?;
        st.serialize_field("ready", &self.is_ready())?;
        st.serialize_field("failure", &self.failure)?;
        st.serialize_field("messages", &self.messages)?;
        st.serialize_field("http_status", &self.meta.status)?;
        st.serialize_field("ray_id", &self.meta.ray_id)?;
        st.serialize_field("attempts", &self.meta.attempts)?;
        st.serialize_field("rate_limit", &self.meta.rate_limit)?;
        st.end()
    }
}

/// An integral `f64` in `i64` range as `i64` (`-32603.0` → `-32603`); otherwise `None`.
pub(crate) fn float_to_i64(v: f64) -> Option<i64> {
    // 2^63 is exactly representable; anything at or beyond it does not fit.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    (v.is_finite() && v.fract() == 0.0 && (-LIMIT..LIMIT).contains(&v)).then_some(v as i64)
}

/// A JSON number as `i64` when it is an integer (or an integral float) in range.
pub(crate) fn integral(n: &serde_json::Number) -> Option<i64> {
    n.as_i64().or_else(|| n.as_f64().and_then(float_to_i64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn integral_floats_become_integers_and_others_do_not() {
        assert_eq!(float_to_i64(-32603.0), Some(-32603));
        assert_eq!(float_to_i64(0.0), Some(0));
        assert_eq!(float_to_i64(1.5), None);
        assert_eq!(float_to_i64(f64::NAN), None);
        assert_eq!(float_to_i64(1e19), None);
        assert_eq!(float_to_i64(-9_223_372_036_854_775_808.0), Some(i64::MIN));
    }

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
