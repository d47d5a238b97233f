//! One HTTP exchange: send the request, read the body up to the cap, and name what
//! went wrong below HTTP.

use reqwest::header::HeaderMap;

use crate::error::{ConfigError, Error, ResponseDetails, TransportError, TransportKind};
use crate::text::one_line;

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
        d.ray_id = crate::decode::ray_id(&headers);
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
