//! Sync an MCP server behind a Cloudflare Zero Trust MCP portal.
//!
//! One client, built once and shared; one call per server:
//!
//! ```no_run
//! use cloudflare_mcp_sync::{Client, Credentials, Error, SyncStatus};
//!
//! # async fn run() -> Result<(), Error> {
//! let client = Client::builder()
//!     .credentials(Credentials::api_token(std::env::var("CLOUDFLARE_API_TOKEN").unwrap_or_default()))
//!     .build()?;
//! let report = client.sync("023e105f4ecef8ad9ca31a8372d0c353", "my-mcp-server").await?;
//! match &report.status {
//!     SyncStatus::Ready => println!("ready (ray {:?})", report.meta.ray_id),
//!     other => match report.failure() {
//!         Some(failure) => eprintln!("{other}: {failure}"),
//!         None => eprintln!("not ready yet: {other}"),
//!     },
//! }
//! # Ok(())
//! # }
//! ```
//!
//! Errors are one enum, [`Error`], whose `Display` is one line such as
//! `404 Not Found: [7002] Not Found (ray 8f1c2a3b4d5e6f70-SJC)`; its questions
//! ([`Error::status`], [`Error::ray_id`], [`Error::is_retryable`], …) save matching.
//!
//! What the client does for you:
//! - checks both ids before sending anything (the server id against the spec's pattern;
//!   an account id that could change the URL's path is refused);
//! - sends exactly one auth mode's headers, marked sensitive, and never prints a secret;
//! - unwraps Cloudflare's envelope, and treats a 2xx with `success: false` or without
//!   `result` as the errors they are;
//! - retries connection failures, timeouts, 429 and the edge's 502–504/520–524 within
//!   one total timeout ([`RetryPolicy`]). Retrying this POST is safe: a second sync has
//!   the same effect as the first;
//! - caps the body it reads, follows no redirect, and refuses plain `http://` to
//!   anything but loopback.
//!
//! Everything is re-exported here; nobody needs to name the generated crate.

#![forbid(unsafe_code)]

mod bulk;
mod client;
mod config;
mod credentials;
mod decode;
mod envelope;
mod error;
mod executor;
mod header_names;
mod ids;
mod numbers;
mod pacer;
mod proxy;
mod rate_limit;
mod report;
mod request;
mod retry;
mod text;
mod tls;
mod transport;

pub use bulk::{BulkItem, BulkOptions, DEFAULT_CONCURRENCY, DEFAULT_MAX_AHEAD, Progress};
pub use client::Client;
pub use config::{
    ClientBuilder, DEFAULT_ATTEMPT_TIMEOUT, DEFAULT_BASE_URL, DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_MAX_BODY_BYTES, DEFAULT_TOTAL_TIMEOUT, ENV_BASE_URL,
};
pub use credentials::{Credentials, ENV_API_KEY, ENV_API_TOKEN, ENV_EMAIL};
pub use decode::decode_response;
pub use envelope::{
    ApiErrorItem, MAX_CHAIN_DEPTH, MAX_EXTRA_BYTES_PER_LIST, MAX_EXTRA_VALUE_BYTES,
    MAX_ITEMS_PER_LIST, MAX_LIST_ITEMS,
};
pub use error::{
    ConfigError, Error, InvalidInput, ResponseDetails, SNIPPET_CHARS, TransportError, TransportKind,
};
pub use ids::check_ids;
pub use rate_limit::RateLimit;
pub use report::{ResponseMeta, SyncReport, SyncResult, SyncStatus, UpstreamFailure};
pub use retry::RetryPolicy;

/// The READMEs' Rust examples (the repository's and this crate's own, which crates.io
/// shows), compiled as doctests so that they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct CrateReadmeDoctests;

/// One variable of the process environment. A value that is not UTF-8 is kept
/// (lossily) rather than read as "unset": a token that arrived mangled must fail as a
/// bad token, not fall back to another configuration.
pub(crate) fn env_var(name: &str) -> Option<String> {
    std::env::var_os(name).map(|v| v.to_string_lossy().into_owned())
}

/// The HTTP header map used in [`ResponseMeta`] and [`decode_response`].
pub use reqwest::header::HeaderMap;
