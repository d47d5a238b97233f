//! The response headers the client reads, as `HeaderName` constants: looking one up by
//! `&str` parses the name on every call, which shows up on the hot path.

use reqwest::header::HeaderName;

pub(crate) use reqwest::header::{CONTENT_TYPE, LOCATION, RETRY_AFTER};

/// Cloudflare's request id, quoted to support.
pub(crate) const CF_RAY: HeaderName = HeaderName::from_static("cf-ray");
/// IETF draft: remaining requests and seconds to reset.
pub(crate) const RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");
/// IETF draft: quota and window.
pub(crate) const RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");
/// Older rate-limit headers.
pub(crate) const X_RATELIMIT_REMAINING: HeaderName =
    HeaderName::from_static("x-ratelimit-remaining");
pub(crate) const X_RATELIMIT_LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit");
pub(crate) const X_RATELIMIT_RESET: HeaderName = HeaderName::from_static("x-ratelimit-reset");
/// The wait in milliseconds, preferred over `Retry-After`.
pub(crate) const RETRY_AFTER_MS: HeaderName = HeaderName::from_static("retry-after-ms");
/// The server's own say on whether to retry.
pub(crate) const X_SHOULD_RETRY: HeaderName = HeaderName::from_static("x-should-retry");
