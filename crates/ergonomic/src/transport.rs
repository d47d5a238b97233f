//! One HTTP exchange: send the request, read the body up to the cap, and name what
//! went wrong below HTTP.

use reqwest::header::HeaderMap;

use crate::error::{ConfigError, Error, ResponseDetails, TransportError, TransportKind};
use crate::text::one_line;

/// The most headers an answer may have: hyper's default, which the error for more
/// names. Not set on the client: set, hyper fills a heap vector of that many slots for
/// every answer (about 1,700 instructions a call, found by profiling), where its default
/// uses a stack array of the same size. `tests/faults.rs` checks that 100 headers are
/// read and 101 are refused, so a change of hyper's default shows there.
pub(crate) const MAX_HEADERS: usize = 100;

/// A request as the executor sends it on every attempt.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub(crate) method: reqwest::Method,
    pub(crate) url: reqwest::Url,
}

/// What came back: status, headers and the whole body.
pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Body,
}

/// A body read whole. Most arrive as one chunk, kept as it came; only a body in
/// several chunks is copied into one buffer.
pub(crate) enum Body {
    One(bytes::Bytes),
    Joined(Vec<u8>),
}

impl Body {
    pub(crate) fn as_slice(&self) -> &[u8] {
        match self {
            Self::One(b) => b,
            Self::Joined(v) => v,
        }
    }
}

/// Sends `request` with `headers` and reads the response (its headers scrubbed of the
/// credentials), at most `max_body_bytes` of body (a larger one is [`Error::BodyTooLarge`], by its declared length or once the
/// reading crosses the cap).
pub(crate) async fn exchange(
    http: &reqwest::Client,
    request: &Request,
    headers: &HeaderMap,
    max_body_bytes: usize,
    scrub: &crate::scrub::Scrubber,
) -> Result<Response, Error> {
    // Built directly rather than through RequestBuilder: the header map is cloned
    // once instead of being merged entry by entry.
    let mut req = reqwest::Request::new(request.method.clone(), request.url.clone());
    *req.headers_mut() = headers.clone();
    let mut response = http.execute(req).await.map_err(transport_error)?;
    let status = response.status().as_u16();
    let mut headers = std::mem::take(response.headers_mut());
    // Before anything reads them (a ray id, a Location): a credential echoed by the
    // server goes here.
    scrub.headers(&mut headers);
    tracing::Span::current().record("status", status);
    let too_large = |headers: HeaderMap| {
        // The attempt count is the executor's to record, as for every error.
        let mut d = ResponseDetails::new(status);
        d.ray_id = crate::header_facts::ray_id(&headers);
        d.problem = Some(format!(
            "body larger than the limit of {max_body_bytes} bytes"
        ));
        Error::BodyTooLarge(Box::new(d))
    };
    let declared = response
        .content_length()
        .and_then(|n| usize::try_from(n).ok());
    if declared.is_some_and(|n| n > max_body_bytes) {
        return Err(too_large(headers));
    }
    let mut first: Option<bytes::Bytes> = None;
    let mut joined: Vec<u8> = Vec::new();
    let mut len = 0usize;
    while let Some(chunk) = response.chunk().await.map_err(transport_error)? {
        len += chunk.len();
        if len > max_body_bytes {
            return Err(too_large(headers));
        }
        match first.take() {
            None if joined.is_empty() => first = Some(chunk),
            None => joined.extend_from_slice(&chunk),
            Some(head) => {
                joined.reserve(declared.unwrap_or(len).min(max_body_bytes));
                joined.extend_from_slice(&head);
                joined.extend_from_slice(&chunk);
            }
        }
    }
    let body = match first {
        Some(one) => Body::One(one),
        None => Body::Joined(joined),
    };
    Ok(Response {
        status,
        headers,
        body,
    })
}

/// Classifies a reqwest error; the message is the error's chain on one line (it names
/// the URL, which holds ids but never credentials).
pub(crate) fn transport_error(e: reqwest::Error) -> Error {
    if e.is_builder() {
        // The request could not even be built: nothing was sent, and trying again
        // cannot help.
        return Error::Config(ConfigError::new(format!(
            "the request cannot be sent: {}",
            one_line(&e.without_url().to_string(), 200)
        )));
    }
    // Bytes that are not HTTP/1.1 now will not be on the next try: one attempt, said
    // as what it is, not as a broken connection.
    if crate::tls::tls_failure(&e).is_none()
        && let Some(why) = malformed(&e)
    {
        let message = format!("malformed answer (not valid HTTP/1.1): {why}");
        let mut err = TransportError::new(TransportKind::Other, message).with_source(e);
        err.retryable = false;
        return Error::Transport(err);
    }
    let kind = if e.is_timeout() {
        TransportKind::Timeout
    } else if e.is_connect() {
        TransportKind::Connect
    } else {
        TransportKind::Other
    };
    let mut message = match kind {
        TransportKind::Connect => "connection failed".to_string(),
        TransportKind::Timeout => "connection timed out".to_string(),
        TransportKind::Other => "connection broken".to_string(),
    };
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(&e);
    let mut last = None;
    while let Some(s) = source {
        last = Some(s.to_string());
        source = s.source();
    }
    // What cannot succeed on another try: a certificate refused, a proxy that will not
    // open a tunnel. Each is said in words, not in the error's own `Debug`-like text.
    let lasting = match (
        crate::tls::tls_failure(&e),
        last.as_deref().and_then(tunnel_refused),
    ) {
        (Some(tls), _) => Some(crate::tls::describe(tls)),
        (None, Some(why)) => Some(why.to_string()),
        (None, None) => None,
    };
    if let Some(cause) = lasting.as_deref().or(last.as_deref()) {
        message.push_str(": ");
        message.push_str(&one_line(cause, 300));
    }
    let mut err = TransportError::new(kind, message).with_source(e);
    if lasting.is_some() {
        err.retryable = false;
    }
    match kind {
        TransportKind::Connect => Error::Connect(err),
        TransportKind::Timeout => Error::Timeout(err),
        TransportKind::Other => Error::Transport(err),
    }
}

/// Why hyper could not read the answer, when it could not: a head it cannot parse (two
/// `Content-Length`s, obs-fold, a NUL, status `000`, an HTTP/2 preface, too many
/// headers) or a chunked body whose framing is broken (its decoder's `InvalidData` /
/// `InvalidInput`, right under a hyper error). A truncated answer or a reset is not
/// here: those may go better on another try.
fn malformed(e: &reqwest::Error) -> Option<String> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(hyper) = s.downcast_ref::<hyper::Error>() {
            if hyper.is_parse() {
                let text = hyper.to_string();
                // hyper says this for too many headers and for a head past its buffer.
                return Some(if text.contains("too large") {
                    format!(
                        "more than {MAX_HEADERS} headers, or a head larger than 400 KiB ({text})"
                    )
                } else {
                    text
                });
            }
            let framing = std::error::Error::source(hyper)
                .and_then(|c| c.downcast_ref::<std::io::Error>())
                .filter(|io| {
                    matches!(
                        io.kind(),
                        std::io::ErrorKind::InvalidData | std::io::ErrorKind::InvalidInput
                    )
                });
            if let Some(io) = framing {
                return Some(format!("the body's framing is broken: {io}"));
            }
        }
        source = s.source();
    }
    None
}

/// A proxy's refusal to open a tunnel (its answer to `CONNECT` was not a success), from
/// the text of hyper-util's tunnel error, which keeps no status but 407's.
fn tunnel_refused(cause: &str) -> Option<&'static str> {
    if !cause.contains("tunnel error") {
        return None;
    }
    if cause.contains("proxy authorization required") {
        Some(
            "the proxy requires authorization (407 to CONNECT): give it a user and password in the proxy URL (http://user:password@host:port), or check the ones there",
        )
    } else if cause.contains("unsuccessful") {
        Some(
            "the proxy refused to open a tunnel to the API (its answer to CONNECT was not a success; its status is not kept)",
        )
    } else {
        None
    }
}
