//! Which proxy the client's own connections go through, decided once, at build time.
//!
//! reqwest would read `HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY` and `NO_PROXY` itself and
//! send a plain-`http://` request, credentials and all, to whatever proxy the
//! environment names. The client talks to exactly one host (its base URL), so the
//! decision is made here instead, once:
//!
//! - a plain `http://` base URL (loopback, or an explicit opt-in) never goes through a
//!   proxy from the environment: the proxy would read the credentials;
//! - an `https://` base URL honours `HTTPS_PROXY`, then `ALL_PROXY` (upper case first,
//!   then lower case, blank values ignored), unless `NO_PROXY` lists the host. The
//!   proxy only tunnels (`CONNECT`); the request and its headers stay inside TLS;
//! - a proxy this build cannot speak (`socks5://`…) or one that does not parse is a
//!   configuration error, not a connection failure retried three times.

use crate::error::ConfigError;
use crate::text::{one_line, redact_url};

/// The variables that name a proxy for an `https://` target, in order of precedence.
const HTTPS_PROXY_VARS: [&str; 4] = ["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"];
/// The variables that list hosts reached directly.
const NO_PROXY_VARS: [&str; 2] = ["NO_PROXY", "no_proxy"];

/// The proxy settings read from an environment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ProxyEnv {
    /// The variable that named the proxy, and its value.
    proxy: Option<(&'static str, String)>,
    no_proxy: Option<String>,
}

impl ProxyEnv {
    /// Reads the proxy variables through `lookup`.
    pub(crate) fn from_lookup(lookup: &dyn Fn(&str) -> Option<String>) -> Self {
        let first = |names: &[&'static str]| {
            names.iter().find_map(|name| {
                lookup(name)
                    .filter(|v| !v.trim().is_empty())
                    .map(|v| (*name, v.trim().to_string()))
            })
        };
        Self {
            proxy: first(&HTTPS_PROXY_VARS),
            no_proxy: first(&NO_PROXY_VARS).map(|(_, v)| v),
        }
    }

    /// Reads the process environment.
    pub(crate) fn from_process() -> Self {
        Self::from_lookup(&crate::env::var)
    }

    /// The proxy for requests to `base`, if any.
    pub(crate) fn proxy_for(&self, base: &url::Url) -> Result<Option<reqwest::Proxy>, ConfigError> {
        if base.scheme() != "https" {
            return Ok(None);
        }
        let Some((var, value)) = &self.proxy else {
            return Ok(None);
        };
        if self
            .no_proxy
            .as_deref()
            .is_some_and(|list| no_proxy_matches(list, base))
        {
            return Ok(None);
        }
        // `proxy:3128` means `http://proxy:3128`, as curl and reqwest read it.
        let with_scheme = if value.contains("://") {
            value.clone()
        } else {
            format!("http://{value}")
        };
        let shown = one_line(&redact_url(value), 100);
        let url = url::Url::parse(&with_scheme)
            .map_err(|e| ConfigError::new(format!("{var} ({shown}) is not a proxy URL: {e}")))?;
        match url.scheme() {
            "http" | "https" => reqwest::Proxy::all(url.as_str())
                .map(Some)
                .map_err(|_| ConfigError::new(format!("{var} ({shown}) is not a usable proxy"))),
            other => Err(ConfigError::new(format!(
                "{var} names a {other}:// proxy ({shown}), which this client cannot use \
                 (only http:// and https:// proxies); unset it or list the host in NO_PROXY"
            ))),
        }
    }
}

/// Whether a `NO_PROXY` list names the host of `url`: `*`; a domain (with or without a
/// leading dot) matching the host or any subdomain; an IP address; an IP range in CIDR
/// form. The matching is hyper-util's, the same reqwest applies; each entry is first
/// freed of a `:port` and a trailing dot, which that matcher would take as part of the
/// name (curl ignores both), and of the brackets around an IPv6 address.
pub(crate) fn no_proxy_matches(list: &str, url: &url::Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let entries: Vec<&str> = list
        .split(',')
        .map(|e| strip_brackets(strip_port(e.trim())).trim_end_matches('.'))
        .filter(|e| !e.is_empty())
        .collect();
    // `*` is every host; the matcher reads it as a domain, so an address escapes it.
    if entries.contains(&"*") {
        return true;
    }
    // The matcher answers for a proxy it was given; this one is never used, only asked
    // whether it would be.
    let matcher = hyper_util::client::proxy::matcher::Matcher::builder()
        .https("http://proxy.invalid:1".to_string())
        .no(entries.join(","))
        .build();
    let Ok(uri) = format!("https://{}/", host.trim_end_matches('.')).parse::<http::Uri>() else {
        return false;
    };
    matcher.intercept(&uri).is_none()
}

/// `[::1]` → `::1`: the matcher reads addresses bare.
fn strip_brackets(s: &str) -> &str {
    s.strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .unwrap_or(s)
}

/// `host:8080` → `host`, `[::1]:8080` → `[::1]`; a bare IPv6 address is left alone.
fn strip_port(entry: &str) -> &str {
    if let Some(end) = entry.strip_prefix('[').and_then(|_| entry.find(']')) {
        return entry.get(..=end).unwrap_or(entry);
    }
    match entry.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') && port.parse::<u16>().is_ok() => host,
        _ => entry,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> url::Url {
        url::Url::parse(s).unwrap()
    }

    fn env(vars: &[(&str, &str)]) -> ProxyEnv {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ProxyEnv::from_lookup(&move |name| {
            vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn plain_http_never_takes_a_proxy_from_the_environment() {
        let e = env(&[
            ("HTTP_PROXY", "http://proxy:1"),
            ("HTTPS_PROXY", "http://proxy:1"),
            ("ALL_PROXY", "socks5://proxy:1"),
        ]);
        assert!(e.proxy_for(&url("http://127.0.0.1:9")).unwrap().is_none());
    }

    #[test]
    fn https_takes_https_proxy_then_all_proxy() {
        let e = env(&[
            ("https_proxy", "http://lower:1"),
            ("ALL_PROXY", "http://all:1"),
        ]);
        assert_eq!(e.proxy.as_ref().unwrap().0, "https_proxy");
        assert!(e.proxy_for(&url("https://api.test")).unwrap().is_some());
        let e = env(&[("HTTPS_PROXY", " "), ("all_proxy", "proxy:3128")]);
        assert_eq!(e.proxy, Some(("all_proxy", "proxy:3128".to_string())));
        assert!(e.proxy_for(&url("https://api.test")).unwrap().is_some());
        assert!(
            env(&[])
                .proxy_for(&url("https://api.test"))
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn unusable_proxies_are_configuration_errors_without_their_password() {
        let e = env(&[("ALL_PROXY", "socks5://user:PW@proxy:1080")]);
        let err = e
            .proxy_for(&url("https://api.test"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("ALL_PROXY") && err.contains("socks5://"),
            "{err}"
        );
        assert!(!err.contains("PW"), "{err}");
        let e = env(&[("HTTPS_PROXY", "http://user:PW@[bad")]);
        let err = e
            .proxy_for(&url("https://api.test"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("HTTPS_PROXY") && !err.contains("PW"), "{err}");
        // NO_PROXY that covers the host makes the setting irrelevant.
        let e = env(&[("ALL_PROXY", "socks5://p:1"), ("NO_PROXY", "api.test")]);
        assert!(e.proxy_for(&url("https://api.test")).unwrap().is_none());
    }

    #[test]
    fn no_proxy_forms() {
        let yes = [
            ("*", "https://anything.test"),
            ("a.test,*", "https://127.0.0.1"),
            ("*", "https://[::1]:1"),
            ("api.test", "https://api.test"),
            ("api.test", "https://x.api.test"),
            (".api.test", "https://x.api.test"),
            ("API.TEST:443", "https://api.test"),
            ("a.test, 127.0.0.1", "https://127.0.0.1:8443"),
            ("127.0.0.0/8", "https://127.1.2.3"),
            ("::1", "https://[::1]:1"),
            ("[::1]:443", "https://[::1]:1"),
            ("fd00::/8", "https://[fd12::1]"),
            ("api.test.", "https://api.test"),
        ];
        for (list, u) in yes {
            assert!(no_proxy_matches(list, &url(u)), "{list} should match {u}");
        }
        let no = [
            ("", "https://api.test"),
            ("api.test", "https://notapi.test"),
            ("api.test", "https://test"),
            ("127.0.0.1", "https://127.0.0.2"),
            ("10.0.0.0/8", "https://127.0.0.1"),
            ("127.0.0.0/33", "https://127.0.0.1"),
            ("localhost", "https://127.0.0.1"),
            ("::1", "https://127.0.0.1"),
        ];
        for (list, u) in no {
            assert!(
                !no_proxy_matches(list, &url(u)),
                "{list} should not match {u}"
            );
        }
    }
}
