//! Configuring a [`Client`](crate::Client): the builder, its defaults, the environment it may read,
//! and the base-URL policy (https, or plain http to loopback only).

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use reqwest::header::{ACCEPT, HeaderValue, USER_AGENT};

use crate::client_core::ClientCore;
use crate::credentials::Credentials;
use crate::error::{ConfigError, Error};
use crate::executor::Executor;
use crate::pacer::Pacer;
use crate::proxy::ProxyEnv;
use crate::request::SyncRequestBuilder;
use crate::retry::RetryPolicy;
use crate::scrub::Scrubber;
use crate::text::{one_line, redact_url};

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

/// Configures a [`Client`](crate::Client). Every setting has a documented default; only credentials
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
        Self::from_lookup(crate::env::var)
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

    /// Checks the configuration and makes what a client shares; `build` (beside the
    /// client) wraps it, so that this module need not know the client.
    pub(crate) fn into_core(mut self) -> Result<ClientCore, Error> {
        let credentials = self
            .credentials
            .take()
            .ok_or_else(|| ConfigError::new("no credentials: call .credentials(...)"))?;
        let mut headers = credentials.headers()?;
        let base = normalise_base_url(
            self.base_url.as_deref().unwrap_or(DEFAULT_BASE_URL),
            self.allow_insecure_http,
        )?;
        let requests = SyncRequestBuilder::new(base)?;
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
        let (mode, base) = (credentials.mode(), requests.base().to_string());
        let http = self.build_http(&base)?;
        Ok(ClientCore {
            executor: Executor {
                http,
                headers,
                retry: self.retry,
                attempt_timeout: self.attempt_timeout,
                total_timeout: self.total_timeout,
                max_body_bytes: self.max_body_bytes,
                pacer: Pacer::default(),
                scrub: Scrubber::new(credentials.secret_values()),
                wall_clock: std::time::SystemTime::now,
            },
            requests,
            credentials_mode: mode,
        })
    }

    /// The caller's `reqwest::Client`, or one of ours: no redirects, the proxy decided
    /// in `proxy`, the TLS set-up of `tls`.
    fn build_http(&mut self, base: &str) -> Result<reqwest::Client, Error> {
        if let Some(client) = self.http_client.take() {
            return Ok(client);
        }
        // reqwest's own reading of the proxy variables is switched off; the one proxy
        // this client may use is decided in `proxy`.
        let mut builder = reqwest::Client::builder()
            .connect_timeout(self.connect_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy();
        if self.proxy_from_env {
            let env = self.proxy_env.take().unwrap_or_else(ProxyEnv::from_process);
            let parsed =
                url::Url::parse(base).map_err(|e| ConfigError::new(format!("base URL: {e}")))?;
            if let Some(proxy) = env.proxy_for(&parsed)? {
                builder = builder.proxy(proxy);
            }
        }
        crate::tls::check_cert_env(&crate::env::var)?;
        Ok(crate::tls::configure(builder)?
            .build()
            .map_err(|e| ConfigError::new(format!("cannot build the HTTP client: {e}")))?)
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
    let mut url = url::Url::parse(raw.trim())
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
                Some(url::Host::Domain(d)) => is_localhost(d),
                Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
                Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
                None => false,
            };
            if !loopback && !allow_insecure_http {
                return Err(ConfigError::new(format!(
                    "base URL {:?} is plain http to a non-loopback host; use https, or allow_insecure_http(true) for a test rig",
                    shown()
                )));
            }
        }
        other => {
            return Err(ConfigError::new(format!(
                "base URL scheme {other:?} is not http(s)"
            )));
        }
    }
    // `localhost.` is `localhost` written as a full name (the URL parser lower-cases
    // it); not every resolver reads /etc/hosts for it, so it is sent as `localhost`.
    if url.host_str() == Some("localhost.") {
        url.set_host(Some("localhost"))
            .map_err(|e| ConfigError::new(format!("base URL {:?}: {e}", shown())))?;
    }
    match url.host() {
        None => {
            return Err(ConfigError::new(format!(
                "base URL {:?} has no host",
                shown()
            )));
        }
        Some(url::Host::Domain(name)) => {
            if let Some(why) = unresolvable(name) {
                return Err(ConfigError::new(format!(
                    "base URL {:?}: the host name {why}, so no resolver can look it up",
                    shown()
                )));
            }
            // What TLS will check the certificate against: a name it refuses (an empty
            // label, a label that starts or ends with `-`) fails every attempt alike.
            if url.scheme() == "https"
                && rustls::pki_types::ServerName::try_from(name.to_string()).is_err()
            {
                return Err(ConfigError::new(format!(
                    "base URL {:?}: the host name is not a valid DNS name (labels of letters, digits and inner hyphens, none empty)",
                    shown()
                )));
            }
        }
        Some(_) => {}
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

/// `localhost`, with or without the root's trailing dot, in any case: loopback by
/// RFC 6761, so plain http to it keeps the credential on the machine.
fn is_localhost(name: &str) -> bool {
    name.strip_suffix('.')
        .unwrap_or(name)
        .eq_ignore_ascii_case("localhost")
}

/// Why DNS cannot carry `name` (RFC 1035: labels of 1 to 63 bytes, 253 in all), if it
/// cannot: such a name would fail every lookup, so it is a configuration error rather
/// than a connection failure worth retrying.
fn unresolvable(name: &str) -> Option<String> {
    let name = name.strip_suffix('.').unwrap_or(name);
    if name.len() > 253 {
        return Some(format!("is {} bytes long (at most 253)", name.len()));
    }
    let long = name.split('.').find(|label| label.len() > 63)?;
    Some(format!("has a label of {} bytes (at most 63)", long.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A user name alone, or a password alone, is refused as both together are.
    #[test]
    fn a_base_url_with_any_user_info_is_refused() {
        for url in [
            "https://user@api.example.com",
            "https://:pw@api.example.com",
            "https://user:pw@api.example.com",
        ] {
            let err = normalise_base_url(url, false).unwrap_err().to_string();
            assert!(
                err.contains("must not carry a user name or password"),
                "{url}: {err}"
            );
        }
    }

    /// Debug shows the settings (the credentials as their own redacted Debug).
    #[test]
    fn debug_shows_the_settings() {
        let shown = format!(
            "{:?}",
            ClientBuilder::new().total_timeout(Duration::from_secs(7))
        );
        for part in [
            "ClientBuilder {",
            "base_url:",
            "total_timeout: 7s",
            "max_body_bytes:",
        ] {
            assert!(shown.contains(part), "{part} in {shown}");
        }
    }

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
        assert_eq!(
            normalise_base_url("http://LocalHost.:1/v4", false).unwrap(),
            "http://localhost:1/v4"
        );
        assert!(normalise_base_url("http://localhost.example:1", false).is_err());
        assert!(normalise_base_url("http://localhost..:1", false).is_err());
        let label = |n| format!("https://{}.example.com", "a".repeat(n));
        assert!(normalise_base_url(&label(63), false).is_ok());
        let err = normalise_base_url(&label(64), false)
            .unwrap_err()
            .to_string();
        assert!(err.contains("a label of 64 bytes (at most 63)"), "{err}");
        let long = format!("https://{}com", "abcdefghi.".repeat(25));
        assert!(normalise_base_url(&long, false).is_ok(), "253 bytes");
        let err = normalise_base_url(&format!("{long}x"), false)
            .unwrap_err()
            .to_string();
        assert!(err.contains("254 bytes long (at most 253)"), "{err}");
        assert!(normalise_base_url("http://api.example.com", false).is_err());
        assert!(normalise_base_url("http://10.0.0.1", false).is_err());
        assert!(normalise_base_url("http://api.example.com", true).is_ok());
        assert!(normalise_base_url("ftp://x", false).is_err());
        assert!(normalise_base_url("not a url", false).is_err());
        assert!(normalise_base_url("https://u:p@x.test", false).is_err());
        assert!(normalise_base_url("https://x.test/?a=b", false).is_err());
    }
}
