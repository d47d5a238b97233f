//! Downloading Cloudflare's OpenAPI document for `cargo xtask update <URL>`: https only
//! (plain http to loopback, for tests), streamed under a size cap and a timeout, and
//! refused with a clear error unless it is a 200 that holds an OpenAPI 3 document.

use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde_json::Value;

/// The largest document accepted (Cloudflare's is about 16 MB).
pub const DEFAULT_MAX_BYTES: u64 = 64 * 1024 * 1024;
/// Time allowed for the whole download.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// How a download is bounded.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest body accepted, in bytes.
    pub max_bytes: u64,
    /// Time allowed from connect to the last byte.
    pub timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_bytes: DEFAULT_MAX_BYTES,
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

/// Whether a command-line source is a URL rather than a path.
pub fn is_url(source: &str) -> bool {
    let lower = source.get(..8).unwrap_or(source).to_ascii_lowercase();
    lower.starts_with("https://") || lower.starts_with("http://")
}

/// The api-schemas commit a raw URL names: a 40-hex path segment right before the file
/// (`…/cloudflare/api-schemas/<commit>/openapi.json`); `None` for a branch name.
pub fn commit_from_url(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    let segments: Vec<&str> = parsed.path_segments()?.collect();
    let [.., commit, _file] = segments.as_slice() else {
        return None;
    };
    (commit.len() == 40 && commit.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| commit.to_ascii_lowercase())
}

/// Checks that `url` may be fetched: https anywhere, plain http only to loopback.
pub fn check_url(url: &str) -> Result<url::Url> {
    let parsed = url::Url::parse(url).with_context(|| format!("{url} is not a URL"))?;
    match parsed.scheme() {
        "https" => Ok(parsed),
        "http" if is_loopback(&parsed) => Ok(parsed),
        "http" => bail!(
            "{url}: plain http is refused except to 127.0.0.1/localhost (the document decides \
             what code is generated; fetch it over https)"
        ),
        other => bail!("{url}: unsupported scheme {other:?} (use https)"),
    }
}

fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// Downloads `url` within `limits` and returns its bytes, or an error that says what
/// was wrong (status, size, time, truncation). Nothing is written anywhere.
pub fn download(url: &str, limits: Limits) -> Result<Vec<u8>> {
    let parsed = check_url(url)?;
    let client = reqwest::blocking::Client::builder()
        .tls_backend_preconfigured(tls_config()?)
        .timeout(limits.timeout)
        .connect_timeout(limits.timeout.min(Duration::from_secs(30)))
        .redirect(redirect_policy(parsed.scheme() == "https"))
        .user_agent(concat!(
            "cloudflare-mcp-sync-xtask/",
            env!("CARGO_PKG_VERSION")
        ))
        .build()
        .context("building the HTTP client")?;
    let response = client
        .get(parsed)
        .send()
        .map_err(|e| describe(url, &e, limits))?;
    let status = response.status();
    if status != reqwest::StatusCode::OK {
        bail!("{url} answered {status}, not 200 OK; nothing was changed");
    }
    if let Some(length) = response.content_length()
        && length > limits.max_bytes
    {
        bail!(
            "{url} is {length} bytes, over the {} byte limit; nothing was changed",
            limits.max_bytes
        );
    }
    let mut body = Vec::new();
    // Read one byte past the cap, so that "exactly the cap" and "more" differ.
    let mut reader = response.take(limits.max_bytes + 1);
    reader.read_to_end(&mut body).map_err(|e| {
        let inner = e
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<reqwest::Error>());
        match inner {
            Some(re) => describe(url, re, limits),
            None => anyhow::anyhow!(
                "reading {url} failed after {} bytes: {e} (the download was cut short); \
                 nothing was changed",
                body.len()
            ),
        }
    })?;
    if body.len() as u64 > limits.max_bytes {
        bail!(
            "{url} sent more than the {} byte limit; nothing was changed",
            limits.max_bytes
        );
    }
    Ok(body)
}

/// Up to 5 redirects, each to a URL [`check_url`] accepts, and never from https down to
/// plain http: a redirect cannot take the download somewhere the first URL could not go.
fn redirect_policy(from_https: bool) -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(move |attempt| {
        match redirect_verdict(from_https, attempt.url(), attempt.previous().len()) {
            Ok(()) => attempt.follow(),
            Err(why) => attempt.error(why),
        }
    })
}

/// Whether a redirect to `target`, after `hops` earlier ones, may be followed.
fn redirect_verdict(from_https: bool, target: &url::Url, hops: usize) -> Result<(), String> {
    if hops >= 5 {
        Err("more than 5 redirects".to_string())
    } else if from_https && target.scheme() != "https" {
        Err(format!("a redirect from https to {target} is refused"))
    } else {
        check_url(target.as_str())
            .map(drop)
            .map_err(|e| format!("redirected: {e}"))
    }
}

/// A transport error as one clear sentence, with its causes (reqwest's own `Display`
/// leaves them out: "error following redirect" without the reason).
fn describe(url: &str, e: &reqwest::Error, limits: Limits) -> anyhow::Error {
    let mut why = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        why.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    if e.is_timeout() {
        anyhow::anyhow!(
            "{url} did not answer in full within {} s; nothing was changed",
            limits.timeout.as_secs_f64()
        )
    } else if e.is_body() || e.is_decode() {
        anyhow::anyhow!(
            "reading {url} failed: {why} (the download was cut short); nothing was changed"
        )
    } else if e.is_connect() {
        anyhow::anyhow!("cannot connect to {url}: {why}; nothing was changed")
    } else {
        anyhow::anyhow!("fetching {url} failed: {why}; nothing was changed")
    }
}

/// Refuses a document that is not OpenAPI 3 (an HTML error page, a truncated body that
/// still parsed, another format), naming what was found instead.
pub fn check_openapi(doc: &Value, source: &str) -> Result<()> {
    let version = doc.get("openapi").and_then(Value::as_str);
    let has_paths = doc.get("paths").is_some_and(Value::is_object);
    match version {
        Some(v) if v.starts_with("3.") && has_paths => Ok(()),
        Some(v) if !v.starts_with("3.") => {
            bail!("{source} is OpenAPI {v:?}; only 3.x is supported")
        }
        Some(_) => bail!("{source} has no `paths` object: not an OpenAPI document"),
        None => bail!("{source} is not an OpenAPI document (no `openapi` version field)"),
    }
}

/// rustls with the ring provider and the platform's certificate verifier.
fn tls_config() -> Result<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = rustls_platform_verifier::Verifier::new(provider.clone())
        .context("loading the platform's certificate verifier")?;
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_default_limits_are_64_mib_and_two_minutes() {
        let limits = Limits::default();
        assert_eq!(limits.max_bytes, 67_108_864);
        assert_eq!(limits.timeout, Duration::from_secs(120));
    }

    #[test]
    fn redirects_keep_to_the_url_rules() {
        let url = |u: &str| url::Url::parse(u).unwrap();
        assert_eq!(redirect_verdict(true, &url("https://b/x"), 0), Ok(()));
        assert_eq!(redirect_verdict(true, &url("https://b/x"), 4), Ok(()));
        assert!(
            redirect_verdict(true, &url("https://b/x"), 5)
                .unwrap_err()
                .contains("more than 5")
        );
        let down = redirect_verdict(true, &url("http://127.0.0.1/x"), 0).unwrap_err();
        assert!(down.contains("from https"), "{down}");
        assert_eq!(
            redirect_verdict(false, &url("http://127.0.0.1/x"), 0),
            Ok(())
        );
        assert_eq!(redirect_verdict(false, &url("https://b/x"), 0), Ok(()));
        let off = redirect_verdict(false, &url("http://10.0.0.1/x"), 0).unwrap_err();
        assert!(off.contains("plain http is refused"), "{off}");
    }

    #[test]
    fn urls_and_paths_are_told_apart() {
        assert!(is_url("https://raw.githubusercontent.com/x"));
        assert!(is_url("HTTP://127.0.0.1:1/x"));
        assert!(!is_url("openapi.json"));
        assert!(!is_url("./https/openapi.json"));
    }

    #[test]
    fn the_commit_comes_from_a_pinned_raw_url_only() {
        let sha = "c92b9b0fde23ae00fece2025662f96dc8e2d6283";
        let url =
            format!("https://raw.githubusercontent.com/cloudflare/api-schemas/{sha}/openapi.json");
        assert_eq!(commit_from_url(&url).as_deref(), Some(sha));
        let main = "https://raw.githubusercontent.com/cloudflare/api-schemas/main/openapi.json";
        assert_eq!(commit_from_url(main), None);
        assert_eq!(commit_from_url("https://x/openapi.json"), None);
        let not_hex = format!("https://x/{}/openapi.json", "z".repeat(40));
        assert_eq!(commit_from_url(&not_hex), None);
        let short = format!("https://x/{}/openapi.json", &sha[..39]);
        assert_eq!(commit_from_url(&short), None);
    }

    #[test]
    fn plain_http_is_for_loopback_only() {
        assert!(check_url("https://example.com/openapi.json").is_ok());
        for ok in [
            "http://127.0.0.1:8/x",
            "http://[::1]:8/x",
            "http://localhost/x",
        ] {
            assert!(check_url(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://example.com/x",
            "http://10.0.0.1/x",
            "ftp://x/y",
            "file:///etc/passwd",
        ] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn only_openapi_3_documents_pass() {
        assert!(check_openapi(&json!({"openapi": "3.0.3", "paths": {}}), "d").is_ok());
        for (doc, says) in [
            (json!({"swagger": "2.0", "paths": {}}), "no `openapi`"),
            (json!({"openapi": "2.0", "paths": {}}), "only 3.x"),
            (json!({"openapi": "3.1.0"}), "no `paths`"),
            (json!("<!DOCTYPE html>"), "no `openapi`"),
        ] {
            let e = check_openapi(&doc, "d").unwrap_err().to_string();
            assert!(e.contains(says), "{e}");
        }
    }
}
