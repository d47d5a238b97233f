//! The client: configuration, the attempt loop and one attempt over HTTP.

use std::fmt;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use reqwest::header::{ACCEPT, HeaderMap, HeaderValue, USER_AGENT};
use tokio::time::Instant;
use tracing::Instrument;

use cloudflare_mcp_sync_generated::operations::mcp_portals_api_sync_server as op;

use crate::bulk::Pacer;
use crate::credentials::Credentials;
use crate::decode::decode_response;
use crate::error::{ConfigError, Error, ResponseDetails, TransportError, TransportKind};
use crate::ids;
use crate::proxy::ProxyEnv;
use crate::report::SyncReport;
use crate::retry::{self, Decision, RetryPolicy};
use crate::text::{human_duration, one_line, redact_url};

/// Cloudflare's API base URL (the spec's server).
pub const DEFAULT_BASE_URL: &str = "https://api.cloudflare.com/client/v4";
/// Environment variable that overrides the base URL in [`ClientBuilder::from_env`].
pub const ENV_BASE_URL: &str = "CLOUDFLARE_BASE_URL";
/// Default limit on a response body.
pub const DEFAULT_MAX_BODY_BYTES: usize = 4 * 1024 * 1024;
/// Default time to establish a connection.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default time for one attempt, from sending to the last byte of the body.
pub const DEFAULT_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default time for the whole call, all attempts and waits included.
pub const DEFAULT_TOTAL_TIMEOUT: Duration = Duration::from_secs(60);

/// Configures a [`Client`]. Every setting has a documented default; only credentials
/// are required.
///
/// ```
/// use std::time::Duration;
/// use cloudflare_mcp_sync::{Client, Credentials, RetryPolicy};
/// let client = Client::builder()
///     .credentials(Credentials::api_token("token"))
///     .total_timeout(Duration::from_secs(20))
///     .retry_policy(RetryPolicy::new().with_max_retries(3))
///     .user_agent_suffix("deploy-bot/1.2")
///     .build()?;
/// # Ok::<(), cloudflare_mcp_sync::Error>(())
/// ```
#[derive(Clone)]
#[must_use]
pub struct ClientBuilder {
    credentials: Option<Credentials>,
    base_url: Option<String>,
    connect_timeout: Duration,
    attempt_timeout: Duration,
    total_timeout: Duration,
    user_agent_suffix: Option<String>,
    http_client: Option<reqwest::Client>,
    retry: RetryPolicy,
    max_body_bytes: usize,
    allow_insecure_http: bool,
    proxy_from_env: bool,
    /// Proxy variables captured by `from_lookup`; `None` reads the process at build.
    proxy_env: Option<ProxyEnv>,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self {
            credentials: None,
            base_url: None,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            attempt_timeout: DEFAULT_ATTEMPT_TIMEOUT,
            total_timeout: DEFAULT_TOTAL_TIMEOUT,
            user_agent_suffix: None,
            http_client: None,
            retry: RetryPolicy::default(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            allow_insecure_http: false,
            proxy_from_env: true,
            proxy_env: None,
        }
    }
}

impl ClientBuilder {
    /// A builder with the defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// A builder with credentials and base URL from the environment
    /// (`CLOUDFLARE_API_TOKEN`, or `CLOUDFLARE_EMAIL` + `CLOUDFLARE_API_KEY`;
    /// `CLOUDFLARE_BASE_URL`) and the proxy variables (see
    /// [`proxy_from_env`](Self::proxy_from_env)). Conflicting, half-set, or set but
    /// empty variables are an error.
    /// Nothing is read from the environment unless this is called.
    pub fn from_env() -> Result<Self, Error> {
        Self::from_lookup(crate::env_var)
    }

    /// [`ClientBuilder::from_env`] over any variable lookup.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let mut builder = Self::new();
        builder.credentials = Credentials::from_lookup(&lookup)?;
        if builder.credentials.is_none() {
            return Err(ConfigError::new(format!(
                "no credentials in the environment: set {} or {} and {}",
                crate::credentials::ENV_API_TOKEN,
                crate::credentials::ENV_EMAIL,
                crate::credentials::ENV_API_KEY
            ))
            .into());
        }
        builder.base_url = match lookup(ENV_BASE_URL) {
            // Blank is a mistake (a variable meant for a test rig that came out empty),
            // and falling back to the real API with real credentials is the wrong guess.
            Some(v) if v.trim().is_empty() => {
                return Err(ConfigError::new(format!(
                    "{ENV_BASE_URL} is set but empty; set it to a URL, or unset it"
                ))
                .into());
            }
            other => other,
        };
        builder.proxy_env = Some(ProxyEnv::from_lookup(&lookup));
        Ok(builder)
    }

    /// The credentials (required).
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// The API base URL; default [`DEFAULT_BASE_URL`]. Checked in [`build`](Self::build):
    /// it must be `https://`, or `http://` to a loopback address (see
    /// [`allow_insecure_http`](Self::allow_insecure_http)).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// Allows a plain `http://` base URL to a non-loopback host. Credentials then cross
    /// the network unencrypted; meant for test rigs only.
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.allow_insecure_http = allow;
        self
    }

    /// Whether an `https://` base URL may go through the proxy named by `HTTPS_PROXY` /
    /// `ALL_PROXY` (unless `NO_PROXY` lists the host); default `true`. A plain `http://`
    /// base URL never goes through a proxy from the environment, whatever this says:
    /// the proxy would see the credentials. Ignored with [`http_client`](Self::http_client).
    pub fn proxy_from_env(mut self, enabled: bool) -> Self {
        self.proxy_from_env = enabled;
        self
    }

    /// Time to establish a connection; default 10 s. Ignored with [`http_client`](Self::http_client).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Time for one attempt, from sending to the last byte of the body; default 30 s.
    pub fn attempt_timeout(mut self, timeout: Duration) -> Self {
        self.attempt_timeout = timeout;
        self
    }

    /// Time for the whole call, every attempt and wait included; default 60 s.
    pub fn total_timeout(mut self, timeout: Duration) -> Self {
        self.total_timeout = timeout;
        self
    }

    /// Text appended to the `User-Agent` (`cloudflare-mcp-sync/<version> <suffix>`).
    pub fn user_agent_suffix(mut self, suffix: impl Into<String>) -> Self {
        self.user_agent_suffix = Some(suffix.into());
        self
    }

    /// The retry policy; default [`RetryPolicy::default`].
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Largest response body read; a larger one fails with [`Error::BodyTooLarge`].
    /// Default 4 MiB.
    pub fn max_body_bytes(mut self, limit: usize) -> Self {
        self.max_body_bytes = limit;
        self
    }

    /// Uses your own `reqwest::Client` (proxy, pool, TLS roots…). Its own redirect
    /// policy then applies: keep it at `reqwest::redirect::Policy::none()` so that
    /// credentials never follow a redirect to another host.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http_client = Some(client);
        self
    }

    /// Checks the configuration and builds the client. Never panics; a malformed base
    /// URL, missing credentials or unusable header values are a [`Error::Config`].
    pub fn build(self) -> Result<Client, Error> {
        let credentials = self
            .credentials
            .ok_or_else(|| ConfigError::new("no credentials: call .credentials(...)"))?;
        let mut headers = credentials.headers()?;
        let base = normalise_base_url(
            self.base_url.as_deref().unwrap_or(DEFAULT_BASE_URL),
            self.allow_insecure_http,
        )?;
        let path = PathTemplate::parse(op::PATH)?;
        // A base URL so long that no request URL built on it could be sent fails here,
        // not as a "network" error on every attempt.
        let longest = path.render(
            &base,
            &"%FF".repeat(ids::MAX_ACCOUNT_ID_CHARS),
            &"x".repeat(32),
        );
        if http::Uri::try_from(longest.as_str()).is_err() {
            return Err(ConfigError::new(format!(
                "base URL is too long ({} bytes) to build a request URL on",
                base.len()
            ))
            .into());
        }
        let mut agent = concat!(env!("CARGO_PKG_NAME"), "/", env!("CARGO_PKG_VERSION")).to_string();
        if let Some(suffix) = self
            .user_agent_suffix
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            agent.push(' ');
            agent.push_str(suffix);
        }
        let agent = HeaderValue::from_str(&agent).map_err(|_| {
            ConfigError::new("the user agent suffix contains characters not allowed in a header")
        })?;
        headers.insert(USER_AGENT, agent);
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        if self.attempt_timeout.is_zero()
            || self.total_timeout.is_zero()
            || self.connect_timeout.is_zero()
        {
            return Err(ConfigError::new("timeouts must be longer than zero").into());
        }
        let http = match self.http_client {
            Some(client) => client,
            None => {
                // reqwest's own reading of the proxy variables is switched off; the one
                // proxy this client may use is decided in `proxy`.
                let mut builder = reqwest::Client::builder()
                    .connect_timeout(self.connect_timeout)
                    .redirect(reqwest::redirect::Policy::none())
                    .no_proxy();
                if self.proxy_from_env {
                    let env = self.proxy_env.unwrap_or_else(ProxyEnv::from_process);
                    let parsed = url::Url::parse(&base)
                        .map_err(|e| ConfigError::new(format!("base URL: {e}")))?;
                    if let Some(proxy) = env.proxy_for(&parsed)? {
                        builder = builder.proxy(proxy);
                    }
                }
                crate::tls::check_cert_env(&crate::env_var)?;
                crate::tls::configure(builder)?
                    .build()
                    .map_err(|e| ConfigError::new(format!("cannot build the HTTP client: {e}")))?
            }
        };
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                base,
                path,
                headers,
                credentials_mode: credentials.mode(),
                retry: self.retry,
                attempt_timeout: self.attempt_timeout,
                total_timeout: self.total_timeout,
                max_body_bytes: self.max_body_bytes,
                last_target: Mutex::new(None),
            }),
        })
    }
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("credentials", &self.credentials)
            .field("base_url", &self.base_url)
            .field("connect_timeout", &self.connect_timeout)
            .field("attempt_timeout", &self.attempt_timeout)
            .field("total_timeout", &self.total_timeout)
            .field("user_agent_suffix", &self.user_agent_suffix)
            .field("custom_http_client", &self.http_client.is_some())
            .field("retry", &self.retry)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("allow_insecure_http", &self.allow_insecure_http)
            .field("proxy_from_env", &self.proxy_from_env)
            .finish()
    }
}

/// Parses and checks a base URL; returns it without a trailing slash.
fn normalise_base_url(raw: &str, allow_insecure_http: bool) -> Result<String, ConfigError> {
    // The raw text may hold a password (that is one reason it might not parse): it is
    // shown with any user info taken out, and bounded.
    let shown = || one_line(&redact_url(raw.trim()), 200);
    let url = url::Url::parse(raw.trim())
        .map_err(|e| ConfigError::new(format!("base URL {:?} is not a URL: {e}", shown())))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ConfigError::new(
            "the base URL must not carry a user name or password",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(ConfigError::new(format!(
            "base URL {:?} must not have a query or fragment",
            shown()
        )));
    }
    match url.scheme() {
        "https" => {}
        "http" => {
            let loopback = match url.host() {
                Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
                Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
                Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
                None => false,
            };
            if !loopback && !allow_insecure_http {
                return Err(ConfigError::new(format!(
                    "base URL {:?} is plain http to a non-loopback host; use https, or allow_insecure_http(true) for a test rig", shown()
                )));
            }
        }
        other => {
            return Err(ConfigError::new(format!(
                "base URL scheme {other:?} is not http(s)"
            )));
        }
    }
    if url.host().is_none() {
        return Err(ConfigError::new(format!("base URL {:?} has no host", shown())));
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

/// The operation's path template split at its parameters, parsed once at build time.
#[derive(Debug, Clone)]
struct PathTemplate {
    pieces: Vec<Piece>,
}

#[derive(Debug, Clone)]
enum Piece {
    Literal(String),
    AccountId,
    ServerId,
}

impl PathTemplate {
    fn parse(template: &str) -> Result<Self, ConfigError> {
        let mut pieces = Vec::new();
        let mut rest = template;
        while let Some((literal, after)) = rest.split_once('{') {
            let (name, after) = after.split_once('}').ok_or_else(|| {
                ConfigError::new(format!("unclosed parameter in path {template}"))
            })?;
            pieces.push(Piece::Literal(literal.to_string()));
            pieces.push(match name {
                "account_id" => Piece::AccountId,
                "id" => Piece::ServerId,
                other => {
                    return Err(ConfigError::new(format!(
                        "path parameter {{{other}}} is not known to this client"
                    )));
                }
            });
            rest = after;
        }
        pieces.push(Piece::Literal(rest.to_string()));
        Ok(Self { pieces })
    }

    fn render(&self, base: &str, account_id: &str, server_id: &str) -> String {
        let mut url = String::with_capacity(base.len() + 96);
        url.push_str(base);
        for piece in &self.pieces {
            match piece {
                Piece::Literal(s) => url.push_str(s),
                Piece::AccountId => ids::push_segment(&mut url, account_id),
                Piece::ServerId => ids::push_segment(&mut url, server_id),
            }
        }
        url
    }
}

/// A configured client. Cheap to clone (one `Arc`), safe to share across tasks.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base: String,
    path: PathTemplate,
    /// Auth (sensitive), user agent and accept: built once, cloned per request.
    headers: HeaderMap,
    credentials_mode: &'static str,
    retry: RetryPolicy,
    attempt_timeout: Duration,
    total_timeout: Duration,
    max_body_bytes: usize,
    /// The last ids synced and their URL: a program that polls one server until it is
    /// ready checks and builds that URL once, not on every call.
    last_target: Mutex<Option<Arc<Target>>>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        f.debug_struct("Client")
            .field("base_url", &i.base)
            .field(
                "credentials",
                &format_args!("{} (redacted)", i.credentials_mode),
            )
            .field("retry", &i.retry)
            .field("attempt_timeout", &i.attempt_timeout)
            .field("total_timeout", &i.total_timeout)
            .field("max_body_bytes", &i.max_body_bytes)
            .finish()
    }
}

impl Client {
    /// A [`ClientBuilder`] with the defaults.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    /// A client configured from the environment; see [`ClientBuilder::from_env`].
    pub fn from_env() -> Result<Self, Error> {
        ClientBuilder::from_env()?.build()
    }

    /// The base URL requests go to (no trailing slash).
    pub fn base_url(&self) -> &str {
        &self.inner.base
    }

    /// Syncs one MCP server: Cloudflare reconnects to it, refreshes its tools and
    /// prompts, and answers with its sync state.
    ///
    /// The ids are checked before anything is sent. Failures worth retrying are retried
    /// under the client's [`RetryPolicy`], all within the total timeout; the report's
    /// metadata and every error say how many attempts were made.
    pub async fn sync(&self, account_id: &str, server_id: &str) -> Result<SyncReport, Error> {
        self.sync_with(account_id, server_id, None).await
    }

    /// [`Client::sync`] with every attempt paced by a bulk run's [`Pacer`].
    pub(crate) async fn sync_paced(
        &self,
        account_id: &str,
        server_id: &str,
        pacer: &Pacer,
    ) -> Result<SyncReport, Error> {
        self.sync_with(account_id, server_id, Some(pacer)).await
    }

    async fn sync_with(
        &self,
        account_id: &str,
        server_id: &str,
        pacer: Option<&Pacer>,
    ) -> Result<SyncReport, Error> {
        let url = self.inner.target(account_id, server_id)?;
        let span = tracing::info_span!(
            "cloudflare_mcp_sync",
            operation = op::OPERATION_ID,
            server_id,
            bulk = pacer.is_some(),
            attempts = tracing::field::Empty,
            status = tracing::field::Empty,
            ray_id = tracing::field::Empty,
        );
        let run = std::pin::pin!(self.inner.run(&url, pacer));
        in_span(span, run).await
    }
}

/// A checked pair of ids and the URL they make.
struct Target {
    account_id: String,
    server_id: String,
    url: reqwest::Url,
}

impl Inner {
    /// Checks the ids and returns the request URL, from the one-entry cache when the
    /// ids are the last ones seen.
    fn target(&self, account_id: &str, server_id: &str) -> Result<reqwest::Url, Error> {
        let cached = self
            .last_target
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if let Some(t) = cached.filter(|t| t.account_id == account_id && t.server_id == server_id) {
            return Ok(t.url.clone());
        }
        let account_id = ids::check_account_id(account_id)?;
        let server_id = ids::check_server_id(server_id)?;
        let rendered = self.path.render(&self.base, account_id, server_id);
        // What cannot become an HTTP request URI is refused before any attempt; the
        // build-time check on the base URL makes this unreachable for checked ids.
        let uri_ok = http::Uri::try_from(rendered.as_str()).is_ok();
        let url = reqwest::Url::parse(&rendered)
            .ok()
            .filter(|_| uri_ok)
            .ok_or_else(|| {
                Error::Config(ConfigError::new(format!(
                    "the request URL ({} bytes) cannot be sent",
                    rendered.len()
                )))
            })?;
        let target = Arc::new(Target {
            account_id: account_id.to_string(),
            server_id: server_id.to_string(),
            url: url.clone(),
        });
        *self
            .last_target
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(target);
        Ok(url)
    }

    async fn run(&self, url: &reqwest::Url, pacer: Option<&Pacer>) -> Result<SyncReport, Error> {
        let started = Instant::now();
        // Beyond a year the clock's range is the only limit; a year is "no deadline" here.
        let deadline = started
            .checked_add(self.total_timeout.min(Duration::from_secs(365 * 24 * 3600)))
            .unwrap_or(started);
        let span = tracing::Span::current();
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            if let Some(pacer) = pacer {
                // Waiting for a turn counts against the call's deadline.
                if tokio::time::timeout_at(deadline, pacer.acquire())
                    .await
                    .is_err()
                {
                    let e = TransportError::new(
                        TransportKind::Timeout,
                        format!(
                            "the call's total timeout of {} was reached while pacing",
                            human_duration(self.total_timeout)
                        ),
                    );
                    return Err(Error::Timeout(TransportError {
                        retryable: false,
                        ..e
                    })
                    .with_attempts(attempt - 1));
                }
            }
            let remaining = deadline.saturating_duration_since(Instant::now());
            let budget = remaining.min(self.attempt_timeout);
            let attempt_started = Instant::now();
            let attempt_span = tracing::debug_span!(
                "attempt",
                attempt,
                status = tracing::field::Empty,
                ray_id = tracing::field::Empty,
                elapsed_ms = tracing::field::Empty,
            );
            // Pinned in place: the combinators around it then move a pointer, not the
            // whole attempt future.
            let attempt_future = std::pin::pin!(self.attempt(url, attempt));
            let timed = std::pin::pin!(tokio::time::timeout(budget, attempt_future));
            let outcome = match in_span(attempt_span.clone(), timed).await {
                Ok(outcome) => outcome,
                Err(_) => Err(Error::Timeout(self.timeout_error(budget, remaining))),
            };
            let elapsed_ms =
                u64::try_from(attempt_started.elapsed().as_millis()).unwrap_or(u64::MAX);
            attempt_span.record("elapsed_ms", elapsed_ms);
            span.record("attempts", attempt);
            if let Some(pacer) = pacer {
                match &outcome {
                    Ok(report) => pacer.observe(report.meta.rate_limit.as_ref()),
                    Err(e @ Error::RateLimited(_)) => pacer.rate_limited(e.retry_after()),
                    Err(_) => {}
                }
            }
            let err = match outcome {
                Ok(report) => {
                    span.record("status", report.meta.status);
                    if let Some(ray) = &report.meta.ray_id {
                        span.record("ray_id", ray.as_str());
                    }
                    tracing::debug!(status = %report.status, attempt, "sync answered");
                    return Ok(report);
                }
                Err(err) => err.with_attempts(attempt),
            };
            if let Some(status) = err.status() {
                span.record("status", status);
                attempt_span.record("status", status);
            }
            if let Some(ray) = err.ray_id() {
                span.record("ray_id", ray);
                attempt_span.record("ray_id", ray);
            }
            let remaining = deadline.saturating_duration_since(Instant::now());
            match self.retry.decide(
                attempt,
                err.is_retryable(),
                err.retry_after(),
                remaining,
                retry::jitter(),
            ) {
                Decision::RetryAfter(wait) => {
                    tracing::info!(
                        attempt,
                        error = %err,
                        wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                        "retrying"
                    );
                    // Dropping the call's future drops this sleep: cancellation is immediate.
                    tokio::time::sleep(wait).await;
                }
                Decision::GiveUp(reason) => {
                    tracing::debug!(attempt, error = %err, reason = reason.as_str(), "giving up");
                    return Err(err);
                }
            }
        }
    }

    fn timeout_error(&self, budget: Duration, remaining: Duration) -> TransportError {
        // The attempt's budget was cut to what was left of the call: the deadline is reached.
        let deadline_reached = remaining <= self.attempt_timeout;
        let message = if deadline_reached {
            format!(
                "the call's total timeout of {} was reached",
                human_duration(self.total_timeout)
            )
        } else {
            format!("attempt timed out after {}", human_duration(budget))
        };
        let mut e = TransportError::new(TransportKind::Timeout, message);
        e.retryable = !deadline_reached;
        e
    }

    /// One request and its whole body, decoded.
    async fn attempt(&self, url: &reqwest::Url, attempt: u32) -> Result<SyncReport, Error> {
        // Built directly rather than through RequestBuilder: the header map is cloned
        // once instead of being merged entry by entry.
        let mut request = reqwest::Request::new(reqwest::Method::POST, url.clone());
        *request.headers_mut() = self.headers.clone();
        let mut response = self.http.execute(request).await.map_err(transport_error)?;
        let status = response.status().as_u16();
        let headers = std::mem::take(response.headers_mut());
        tracing::Span::current().record("status", status);
        let too_large = |headers: HeaderMap| {
            let mut d = ResponseDetails::new(status);
            d.attempts = attempt;
            d.ray_id = crate::decode::ray_id(&headers);
            d.problem = Some(format!(
                "body larger than the limit of {} bytes",
                self.max_body_bytes
            ));
            Error::BodyTooLarge(Box::new(d))
        };
        let declared = response
            .content_length()
            .and_then(|n| usize::try_from(n).ok());
        if declared.is_some_and(|n| n > self.max_body_bytes) {
            return Err(too_large(headers));
        }
        // Most bodies arrive as one chunk: decode it in place, copying only when a
        // second chunk shows up.
        let mut first: Option<bytes::Bytes> = None;
        let mut joined: Vec<u8> = Vec::new();
        let mut len = 0usize;
        while let Some(chunk) = response.chunk().await.map_err(transport_error)? {
            len += chunk.len();
            if len > self.max_body_bytes {
                return Err(too_large(headers));
            }
            match first.take() {
                None if joined.is_empty() => first = Some(chunk),
                None => joined.extend_from_slice(&chunk),
                Some(head) => {
                    joined.reserve(declared.unwrap_or(len).min(self.max_body_bytes));
                    joined.extend_from_slice(&head);
                    joined.extend_from_slice(&chunk);
                }
            }
        }
        let body: &[u8] = match &first {
            Some(head) => head,
            None => &joined,
        };
        decode_response(status, headers, body, attempt)
    }
}

/// Runs `fut` inside `span`; skips the wrapper when no subscriber wants the span, which
/// is most of the cost of tracing on the hot path.
async fn in_span<F: std::future::Future>(span: tracing::Span, fut: F) -> F::Output {
    if span.is_disabled() {
        fut.await
    } else {
        fut.instrument(span).await
    }
}

/// Classifies a reqwest error; the message is the error's chain on one line (it names
/// the URL, which holds ids but never credentials).
fn transport_error(e: reqwest::Error) -> Error {
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
    if let Some(cause) = last {
        message.push_str(": ");
        message.push_str(&crate::text::one_line(&cause, 200));
    }
    // A body cut short is worth another try, like a refused connection; a certificate
    // that was refused is not.
    let tls = crate::tls::is_tls_failure(&e);
    let mut err = TransportError::new(kind, message).with_source(e);
    if tls {
        err.retryable = false;
    }
    match kind {
        TransportKind::Connect => Error::Connect(err),
        TransportKind::Timeout => Error::Timeout(err),
        TransportKind::Other => Error::Transport(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls() {
        assert_eq!(
            normalise_base_url(DEFAULT_BASE_URL, false).unwrap(),
            DEFAULT_BASE_URL
        );
        assert_eq!(
            normalise_base_url("https://x.test/v4/", false).unwrap(),
            "https://x.test/v4"
        );
        assert_eq!(
            normalise_base_url("http://127.0.0.1:8080", false).unwrap(),
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            normalise_base_url("http://[::1]:8080/", false).unwrap(),
            "http://[::1]:8080"
        );
        assert!(normalise_base_url("http://localhost:1", false).is_ok());
        assert!(normalise_base_url("http://api.example.com", false).is_err());
        assert!(normalise_base_url("http://10.0.0.1", false).is_err());
        assert!(normalise_base_url("http://api.example.com", true).is_ok());
        assert!(normalise_base_url("ftp://x", false).is_err());
        assert!(normalise_base_url("not a url", false).is_err());
        assert!(normalise_base_url("https://u:p@x.test", false).is_err());
        assert!(normalise_base_url("https://x.test/?a=b", false).is_err());
    }

    #[test]
    fn path_template_from_the_spec_renders() {
        let t = PathTemplate::parse(op::PATH).unwrap();
        assert_eq!(
            t.render("https://h/v4", "acc", "srv"),
            "https://h/v4/accounts/acc/access/ai-controls/mcp/servers/srv/sync"
        );
        assert!(PathTemplate::parse("/a/{other}").is_err());
        assert!(PathTemplate::parse("/a/{id").is_err());
    }
}
