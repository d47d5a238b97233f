//! Sync an MCP server behind a Cloudflare Zero Trust MCP portal.
//!
//! This crate calls one Cloudflare API operation, *Sync MCP Server Capabilities*
//! (`POST /accounts/{account_id}/access/ai-controls/mcp/servers/{id}/sync`). Cloudflare
//! reconnects to the MCP server, refreshes its tools and prompts, and reports the
//! server's sync state. Everything you need is re-exported here; you never have to name
//! the generated crate.
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
//! # Building a client
//!
//! [`Client::from_env`] reads the credentials from [`ENV_API_TOKEN`], or from
//! [`ENV_EMAIL`] and [`ENV_API_KEY`] together, and the base URL from [`ENV_BASE_URL`].
//! [`Client::builder`] lets you set each part yourself:
//!
//! - the credentials: [`Credentials::api_token`] or [`Credentials::global_key`];
//! - the base URL (default [`DEFAULT_BASE_URL`]);
//! - three timeouts: to connect ([`DEFAULT_CONNECT_TIMEOUT`]), per attempt
//!   ([`DEFAULT_ATTEMPT_TIMEOUT`]) and for the whole call ([`DEFAULT_TOTAL_TIMEOUT`]);
//! - a suffix for the `User-Agent` header;
//! - the [`RetryPolicy`];
//! - the largest body it reads (default [`DEFAULT_MAX_BODY_BYTES`], 4 MiB);
//! - your own `reqwest::Client` ([`ClientBuilder::http_client`]).
//!
//! [`ClientBuilder::build`] checks all of it and never panics; a problem is an
//! [`Error::Config`]. A variable that is set but empty is such an error, and the error
//! names it: this is what a CI job sees when a secret did not reach it, so it is never
//! read as "unset". Credentials must be visible ASCII, and a token is the token alone:
//! one with a `Bearer ` prefix or another space inside it is refused.
//!
//! Build one client per program (per account) and clone it where it is needed. Clones
//! are cheap and share one connection pool and one rate-limit pacer
//! (see [Rate limits](#rate-limits)).
//!
//! The client follows no redirect. It refuses a plain `http://` base URL unless the host
//! is a loopback address or you call [`ClientBuilder::allow_insecure_http`].
//!
//! # Reports
//!
//! [`Client::sync`] checks both ids before it sends anything: the server id must match
//! the spec's pattern, and an account id that could change the URL's path is refused.
//! [`check_ids`] runs the same checks without a request. The call returns a
//! [`SyncReport`]:
//!
//! - [`status`](SyncReport::status) is a [`SyncStatus`]: `Waiting`, `Ready`, `Stale`,
//!   `Error`, or `Unknown(raw)` for a value this version does not know yet;
//! - [`failure()`](SyncReport::failure) is the [`UpstreamFailure`] Cloudflare reported,
//!   if any, with `mcp_code` as an `i64` and `status_code` as a `u16`;
//! - [`meta`](SyncReport::meta) is the [`ResponseMeta`]: HTTP status, Ray ID, number of
//!   attempts, the rate-limit headers ([`RateLimit`]) and all headers;
//! - [`result`](SyncReport::result) is the whole `result` as the spec types it. A field
//!   Cloudflare adds to the spec shows up here without a new release of the fields above.
//!
//! # Errors
//!
//! Every failure is one [`Error`]. Its `Display` is one line, for example
//! `404 Not Found: [7002] Not Found (ray 8f1c2a3b4d5e6f70-SJC)`. Its methods answer the
//! usual questions without a `match`: [`Error::status`], [`Error::ray_id`],
//! [`Error::cloudflare_errors`], [`Error::attempts`], [`Error::retry_after`] and
//! [`Error::is_retryable`].
//!
//! A 2xx answer is an error too when its envelope says `success: false`
//! ([`Error::Unsuccessful`]) or has no `result` ([`Error::MissingResult`]).
//!
//! Secrets are held in `secrecy` types. No `Debug` or `Display` output, error or log
//! line contains one. Text from the server that reaches a `Display` (messages, causes,
//! body snippets) has its C0 and C1 control characters and its Unicode bidi overrides and
//! isolates replaced. A base URL shown in an error has any `user:password@` replaced by
//! `***@`.
//!
//! # Retries
//!
//! The default [`RetryPolicy`] retries twice ([`DEFAULT_MAX_RETRIES`]). It retries:
//!
//! - connection failures, except a refused certificate (that answer will not change);
//! - timeouts;
//! - 429, 502, 503, 504 and 520–524.
//!
//! An answer with `x-should-retry: false` is not retried; `x-should-retry: true` makes any
//! status retryable. The wait is what the server advises (`retry-after-ms`, then
//! `Retry-After`), or else exponential backoff with jitter. Every attempt and every wait
//! fits inside the call's total timeout. When the server asks for a wait longer than
//! what is left, the call fails at once with [`Error::RateLimited`], and
//! [`Error::retry_after`] holds the wait.
//!
//! Retrying this POST is deliberate: a second sync has the same effect as the first.
//! [`RetryPolicy::disabled`] turns retries off.
//!
//! # Rate limits
//!
//! Cloudflare counts requests per user and account (1,200 per 5 minutes). After a breach
//! it blocks requests for minutes. So the pacer belongs to the [`Client`], not to a call.
//! Every request through one client and its clones waits its turn under the same pacer:
//! single [`Client::sync`] calls and concurrent [`Client::sync_many`] runs alike. Turns
//! go in the order requests asked for them: when a window has room for one request, the
//! one that has waited longest takes it, so a server being retried cannot take every
//! window while another waits out its deadline unsent. Two separate clients pace
//! independently and can overrun the limit between them.
//!
//! | the answer says | the pacer |
//! | --- | --- |
//! | `Ratelimit: "default";r=<remaining>;t=<seconds>` | It keeps the lowest `r` answered in the current window. That value comes from the request that reached the server last, so it counts every answered request. A request starts only while `r` is larger than the number of requests in flight. So there are never more in flight than the quota allows, and the count is exact once a burst is answered. At `r = 0` with nothing in flight, requests wait `t` seconds for the reset. Then one request goes alone, and its answer starts the new window. |
//! | no rate-limit header | Nothing is held back. The very first request goes alone, so that a small quota is learned before a burst. |
//! | 429 with `Retry-After` (or `retry-after-ms`) | Nobody starts before the advised wait is over. Without rate-limit headers, the requests that succeeded since the last wait become the quota of a window that ends at the advised retry. From then on, no more than that start per window. |
//! | a hold longer than what is left of a call's total timeout | That call fails at once, without a request ("the rate limit holds requests for another …"). |
//!
//! Every wait a server names is clamped to one day, so no value can overflow the clock.
//!
//! # Many servers at once
//!
//! [`Client::sync_many`] syncs many servers of one account. It runs
//! [`BulkOptions::concurrency`] at a time under the client's pacer and returns one
//! [`BulkItem`] per id, in input order. One failure does not lose the others.
//!
//! ```no_run
//! use cloudflare_mcp_sync::{BulkOptions, Client};
//!
//! async fn sync_all(client: &Client) {
//!     let options = BulkOptions::new()
//!         .concurrency(8)
//!         .on_progress(|p| eprintln!("{}/{} done, {} failed", p.done, p.total, p.failed));
//!     let ids = ["server-a", "server-b", "server-c"];
//!     for item in client.sync_many("023e105f4ecef8ad9ca31a8372d0c353", ids, &options).await {
//!         match item.outcome {
//!             Ok(report) => println!("{}: {}", item.server_id, report.status),
//!             Err(e) => eprintln!("{}: {e}", item.server_id),
//!         }
//!     }
//! }
//! ```
//!
//! [`BulkOptions::on_progress`] receives a [`Progress`] after each id. It is also called
//! when a worker finds the pacer holding requests; then
//! [`Progress::waiting`] is `Some(duration)`, so a progress bar can say "waiting 4 s for
//! the rate limit". An id that is still rate limited after the client's retries is tried
//! again ([`BulkOptions::rate_limit_rounds`]) within its one total timeout; its attempt
//! count covers every request sent for it.
//!
//! `sync_many`'s list holds every report until the run ends. [`Client::sync_each`]
//! hands each id's [`BulkItem`] to a callback as soon as it finishes (in completion
//! order, with its index in the input) and keeps nothing, and new ids start at most
//! [`BulkOptions::max_ahead`] past the earliest unfinished one. Its memory is then
//! bounded by the ids in flight plus what the caller keeps for at most `max_ahead` ids,
//! whatever the number of ids: the command writes its records in input order this way
//! (500 ids whose answers carry ~270 KB of headers each peak at 16.6 MiB, against
//! 152 MiB when every report is held).
//!
//! # Proxies
//!
//! The client decides once, at build time, whether a proxy from the environment applies:
//!
//! - A plain `http://` base URL never goes through a proxy (`HTTP_PROXY`, `ALL_PROXY`,
//!   …): the proxy would read the credentials.
//! - An `https://` base URL uses `HTTPS_PROXY`, then `ALL_PROXY`. Upper case is read
//!   before lower case, and blank values are ignored. `NO_PROXY` can exclude the host:
//!   `*`, a domain and its subdomains, an IP address or a CIDR range (a `:port` is
//!   ignored). The proxy only tunnels; the request stays inside TLS.
//! - A proxy the client cannot speak (`socks5://`) or that does not parse is a
//!   configuration error.
//!
//! [`ClientBuilder::proxy_from_env`]`(false)` turns proxies off. With your own
//! [`http_client`](ClientBuilder::http_client), that client's proxy settings apply
//! instead.
//!
//! # TLS and certificates
//!
//! TLS is rustls only; OpenSSL is nowhere in the dependency tree. Two features choose the
//! set-up:
//!
//! - `ring` (the default) configures rustls with the ring provider and the platform's
//!   certificate verifier, for this client's connections only. It installs no
//!   process-wide provider.
//! - `aws-lc-rs` (with `default-features = false`) uses reqwest's own aws-lc-rs set-up
//!   instead. It takes about 25 s longer to build.
//!
//! The platform verifier reads the system's certificates, or `SSL_CERT_FILE` and
//! `SSL_CERT_DIR` when they are set. A variable that names nothing, or names a place that
//! holds no certificate, is a configuration error from [`ClientBuilder::build`].
//!
//! If you pass your own `reqwest::Client` and your reqwest has no TLS feature of its own,
//! install a rustls provider first, as reqwest asks:
//! `rustls::crypto::ring::default_provider().install_default()`.
//!
//! # Bounded decoding
//!
//! The body read is capped (see [`ClientBuilder::max_body_bytes`]; a larger body is
//! [`Error::BodyTooLarge`]). Decoding is bounded too: whatever the body holds, it costs a
//! small multiple of the cap. A `sync` peaks at 16–22 MiB of memory on 4 MiB bodies built
//! to expand.
//!
//! - Each list (`errors`, `messages`, every `error_chain`) keeps its first
//!   [`MAX_LIST_ITEMS`] items, and at most [`MAX_ITEMS_PER_LIST`] in all per top-level
//!   list.
//! - Chains are kept [`MAX_CHAIN_DEPTH`] levels deep.
//! - Unknown fields of an item keep values up to [`MAX_EXTRA_VALUE_BYTES`] each and
//!   [`MAX_EXTRA_BYTES_PER_LIST`] per list.
//!
//! What is dropped is counted (`errors_omitted`, `messages_omitted`,
//! `error_chain_omitted`, `extra_omitted`), and `Display` stays one bounded line
//! ("… and 131,070 more"). Messages and causes are kept whole: they cannot be larger
//! than the body. A number that does not fit (`"mcp_code": 1e400`) never loses the
//! report. It is kept as text in [`UpstreamFailure::unparsed_numbers`], or, for an
//! item's `code`, under `"code"` in its [`extra`](ApiErrorItem::extra).
//!
//! [`decode_sync_response`] is the same decoder, for a response you already have.
//!
//! # Logging
//!
//! The crate logs through `tracing` and installs no subscriber:
//!
//! - each call is an INFO span named `cloudflare_mcp_sync`, with the operation, the
//!   server id, and (once known) the attempts, status and Ray ID;
//! - each attempt is a DEBUG span named `attempt`, with its number, status, Ray ID and
//!   elapsed time;
//! - a retry is an INFO event `retrying` with the error and the wait; giving up is a
//!   DEBUG event with the reason.
//!
//! No span or event ever holds a credential or a body.

#![forbid(unsafe_code)]

mod bound;
mod bulk;
mod bulk_options;
mod client;
mod client_core;
mod config;
mod credentials;
mod decode;
mod env;
mod envelope;
mod error;
mod executor;
mod header_facts;
mod header_names;
mod ids;
mod numbers;
mod pacer;
mod proxy;
mod queue;
mod quota;
mod rate_limit;
mod redact;
mod report;
mod request;
mod result;
mod retry;
mod scrub;
mod text;
mod tls;
mod transport;

pub use bulk_options::{BulkItem, BulkOptions, DEFAULT_CONCURRENCY, DEFAULT_MAX_AHEAD, Progress};
pub use client::Client;
pub use config::{
    ClientBuilder, DEFAULT_ATTEMPT_TIMEOUT, DEFAULT_BASE_URL, DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_MAX_BODY_BYTES, DEFAULT_TOTAL_TIMEOUT, ENV_BASE_URL,
};
pub use credentials::{Credentials, ENV_API_KEY, ENV_API_TOKEN, ENV_EMAIL};
pub use decode::decode_sync_response;
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
pub use retry::{DEFAULT_MAX_RETRIES, RetryPolicy};
pub use scrub::MIN_REDACTED_SECRET_CHARS;

/// The READMEs' Rust examples (the repository's and this crate's own, which crates.io
/// shows), compiled as doctests so that they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct CrateReadmeDoctests;

/// The HTTP header map used in [`ResponseMeta`] and [`decode_sync_response`].
pub use reqwest::header::HeaderMap;
