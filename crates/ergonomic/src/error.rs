//! The one error type callers match on, and the response details it carries.

use std::fmt;
use std::time::Duration;

use crate::envelope::{ApiErrorItem, write_items};
use crate::text::human_duration;

/// Everything that can go wrong with a call, one variant per thing a caller may want to
/// handle differently. Every variant that came from a response carries
/// [`ResponseDetails`] (HTTP status, every Cloudflare error item, Ray ID, attempts);
/// `Display` is one line and never contains a body dump or a credential.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An argument was refused before any request was sent.
    #[error("{0}")]
    InvalidInput(InvalidInput),
    /// The client configuration is incomplete or contradictory.
    #[error("configuration error: {0}")]
    Config(#[from] ConfigError),
    /// 401 or 403: the credentials were refused or lack the permission.
    #[error("{0}")]
    Unauthorized(Box<ResponseDetails>),
    /// 404: the server id or account does not exist (Cloudflare codes 7002, 7003, 7000).
    #[error("{0}")]
    NotFound(Box<ResponseDetails>),
    /// 429: rate limited. [`Error::retry_after`] holds the wait the server advised.
    #[error("{0}")]
    RateLimited(Box<ResponseDetails>),
    /// Any other non-2xx status with a Cloudflare JSON envelope.
    #[error("{0}")]
    Api(Box<ResponseDetails>),
    /// A 2xx whose envelope says `success: false`.
    #[error("{0}")]
    Unsuccessful(Box<ResponseDetails>),
    /// A 2xx envelope without `result`.
    #[error("{0}")]
    MissingResult(Box<ResponseDetails>),
    /// A body that is not JSON (e.g. an HTML 502 page from the edge).
    #[error("{0}")]
    NotJson(Box<ResponseDetails>),
    /// A JSON body that does not decode into the expected shape.
    #[error("{details}")]
    Decode {
        /// What came back.
        details: Box<ResponseDetails>,
        /// The decoder's error.
        #[source]
        source: serde_json::Error,
    },
    /// The body was larger than the configured limit; reading stopped there.
    #[error("{0}")]
    BodyTooLarge(Box<ResponseDetails>),
    /// The connection could not be made (refused, DNS, TLS handshake). `source()` is
    /// the underlying error, as for the two variants below.
    #[error(transparent)]
    Connect(TransportError),
    /// An attempt, or the whole call, ran out of time.
    #[error(transparent)]
    Timeout(TransportError),
    /// The connection failed after it was made (reset, truncated response), or the
    /// answer was not valid HTTP/1.1 (a malformed head or chunked framing: not retried).
    #[error(transparent)]
    Transport(TransportError),
}

/// `Some(body)` with `d` bound to the boxed details of every variant that came from
/// a response, `None` otherwise: the one list of those variants, for `&` and `&mut`.
macro_rules! with_details {
    ($error:expr, $d:ident => $body:expr) => {
        match $error {
            Self::Unauthorized($d)
            | Self::NotFound($d)
            | Self::RateLimited($d)
            | Self::Api($d)
            | Self::Unsuccessful($d)
            | Self::MissingResult($d)
            | Self::NotJson($d)
            | Self::BodyTooLarge($d)
            | Self::Decode { details: $d, .. } => Some($body),
            Self::InvalidInput(_)
            | Self::Config(_)
            | Self::Connect(_)
            | Self::Timeout(_)
            | Self::Transport(_) => None,
        }
    };
}

impl Error {
    /// The response's details, when the error came from a response.
    pub fn details(&self) -> Option<&ResponseDetails> {
        with_details!(self, d => &**d)
    }

    /// The HTTP status, when the error came from a response.
    pub fn status(&self) -> Option<u16> {
        self.details().map(|d| d.status)
    }

    /// The `cf-ray` of the response, for Cloudflare support.
    pub fn ray_id(&self) -> Option<&str> {
        self.details().and_then(|d| d.ray_id.as_deref())
    }

    /// Every Cloudflare error item of the response (empty when there was none).
    pub fn cloudflare_errors(&self) -> &[ApiErrorItem] {
        self.details().map(|d| d.errors.as_slice()).unwrap_or(&[])
    }

    /// How many attempts were made (0 when nothing was sent).
    pub fn attempts(&self) -> u32 {
        match self {
            Self::Connect(t) | Self::Timeout(t) | Self::Transport(t) => t.attempts,
            _ => self.details().map_or(0, |d| d.attempts),
        }
    }

    /// The wait the server advised (`retry-after-ms` / `Retry-After`), if any.
    pub fn retry_after(&self) -> Option<Duration> {
        self.details().and_then(|d| d.retry_after)
    }

    /// Whether trying the same call again later may succeed: connection failures,
    /// timeouts, 429, 502, 503, 504 and 520–524, unless the server said
    /// `x-should-retry: false` (or `true` for another status).
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Connect(t) | Self::Timeout(t) | Self::Transport(t) => t.retryable,
            _ => self.details().is_some_and(|d| d.retryable),
        }
    }

    pub(crate) fn with_attempts(mut self, attempts: u32) -> Self {
        match &mut self {
            Self::Connect(t) | Self::Timeout(t) | Self::Transport(t) => t.attempts = attempts,
            other => {
                if let Some(d) = other.details_mut() {
                    d.attempts = attempts;
                }
            }
        }
        self
    }

    pub(crate) fn details_mut(&mut self) -> Option<&mut ResponseDetails> {
        with_details!(self, d => &mut **d)
    }
}

/// An argument refused before any request was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidInput {
    /// Which argument: `"server id"` or `"account id"`.
    pub field: &'static str,
    /// The value given (shortened when long).
    pub value: String,
    /// Why it was refused.
    pub reason: String,
}

impl fmt::Display for InvalidInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid {} {:?}: {}",
            self.field, self.value, self.reason
        )
    }
}

/// Contradictory or incomplete configuration, found before any request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    message: String,
}

impl ConfigError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConfigError {}

/// What came back, for errors that came from a response.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ResponseDetails {
    /// HTTP status code.
    pub status: u16,
    /// The `cf-ray` header.
    pub ray_id: Option<String>,
    /// The items of the envelope's `errors` (the first
    /// [`MAX_LIST_ITEMS`](crate::MAX_LIST_ITEMS); see [`errors_omitted`](Self::errors_omitted)).
    pub errors: Vec<ApiErrorItem>,
    /// How many more `errors` items the body had than were kept.
    pub errors_omitted: usize,
    /// The items of the envelope's `messages` (bounded like `errors`).
    pub messages: Vec<ApiErrorItem>,
    /// How many more `messages` items the body had than were kept.
    pub messages_omitted: usize,
    /// The `Content-Type` header.
    pub content_type: Option<String>,
    /// The start of the body (bounded, one line), when it was not a Cloudflare envelope.
    pub snippet: Option<String>,
    /// What was wrong, in words, when the status and error items do not say it.
    pub problem: Option<String>,
    /// The wait the server advised before trying again.
    pub retry_after: Option<Duration>,
    /// Whether the response is worth retrying (status, or `x-should-retry`).
    pub retryable: bool,
    /// How many attempts were made in all.
    pub attempts: u32,
}

/// Longest body excerpt kept in an error.
pub const SNIPPET_CHARS: usize = 200;

impl ResponseDetails {
    pub(crate) fn new(status: u16) -> Self {
        Self {
            status,
            ray_id: None,
            errors: Vec::new(),
            errors_omitted: 0,
            messages: Vec::new(),
            messages_omitted: 0,
            content_type: None,
            snippet: None,
            problem: None,
            retry_after: None,
            retryable: false,
            attempts: 1,
        }
    }
}

impl fmt::Display for ResponseDetails {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.status)?;
        if let Some(reason) = reqwest::StatusCode::from_u16(self.status)
            .ok()
            .and_then(|s| s.canonical_reason())
        {
            write!(f, " {reason}")?;
        }
        let mut sep = ": ";
        // Omitted items come after kept ones: a list with none kept has none omitted.
        if !self.errors.is_empty() {
            f.write_str(sep)?;
            write_items(f, &self.errors, self.errors_omitted, "; ")?;
            sep = "; ";
        }
        if let Some(problem) = &self.problem {
            write!(f, "{sep}{problem}")?;
            sep = "; ";
        }
        if let Some(snippet) = &self.snippet {
            let ct = self.content_type.as_deref().unwrap_or("no content type");
            write!(f, "{sep}{ct} body {snippet:?}")?;
            sep = "; ";
        }
        if let Some(wait) = self.retry_after {
            write!(f, "{sep}retry after {}", human_duration(wait))?;
        }
        let mut extras: Vec<String> = Vec::new();
        if let Some(ray) = &self.ray_id {
            extras.push(format!("ray {ray}"));
        }
        if self.attempts > 1 {
            extras.push(format!("{} attempts", self.attempts));
        }
        if !extras.is_empty() {
            write!(f, " ({})", extras.join(", "))?;
        }
        Ok(())
    }
}

/// Which kind of transport failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportKind {
    /// The connection could not be established.
    Connect,
    /// The connect timeout, an attempt's timeout, or the overall deadline ran out.
    Timeout,
    /// The connection broke after it was made.
    Other,
}

/// A failure below HTTP: no (complete) response arrived.
#[derive(Debug)]
pub struct TransportError {
    pub(crate) kind: TransportKind,
    pub(crate) message: String,
    pub(crate) attempts: u32,
    pub(crate) retryable: bool,
    pub(crate) source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl TransportError {
    pub(crate) fn new(kind: TransportKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            attempts: 1,
            retryable: true,
            source: None,
        }
    }

    pub(crate) fn with_source(
        mut self,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// Which kind of failure.
    pub fn kind(&self) -> TransportKind {
        self.kind
    }

    /// How many attempts were made in all.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if self.attempts > 1 {
            write!(f, " ({} attempts)", self.attempts)?;
        }
        Ok(())
    }
}

impl std::error::Error for TransportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}
