//! The sync operation's request, built from the generated crate's typed pieces:
//! `Params::new` takes a `Required` struct literal, so that a required parameter the spec
//! adds, renames or retypes fails the build right here, naming it; an optional one the
//! spec adds is left unset (not sent) until this crate offers it. The path comes from the same generated code.

use std::sync::{Arc, Mutex, PoisonError};

use cloudflare_mcp_sync_generated::operations::mcp_portals_api_sync_server as op;

use crate::error::{ConfigError, Error};
use crate::ids;
use crate::transport::Request;

// Retrying this call is safe because a second POST to `…/sync` has the same effect as
// the first. A spec that changes the method stops the build here, so that the retry
// policy is looked at again rather than silently applied to another kind of call.
const _: () = assert!(
    matches!(op::METHOD.as_bytes(), b"POST"),
    "the spec changed the sync operation's HTTP method: review retries in request.rs"
);

/// Builds (and remembers the last) request URL of the sync operation under one base.
pub(crate) struct SyncRequestBuilder {
    base: String,
    /// The last ids synced and their request: a program that polls one server until
    /// it is ready checks and builds that URL once, not on every call.
    last: Mutex<Option<Arc<Cached>>>,
}

struct Cached {
    account_id: String,
    server_id: String,
    request: Request,
}

impl SyncRequestBuilder {
    /// A builder under `base` (no trailing slash). Fails when even the longest ids
    /// accepted would make a URL too long to send: that is the base URL's fault, and
    /// better said now than as a "network" error on every attempt.
    pub(crate) fn new(base: String) -> Result<Self, ConfigError> {
        let longest_id = "x".repeat(32);
        let longest_id = longest_id
            .parse()
            .map_err(|_| ConfigError::new("the longest server id no longer fits the spec"))?;
        // Every byte of the longest account id percent-encoded: three bytes each.
        let longest_account = "\u{80}".repeat(ids::MAX_ACCOUNT_ID_CHARS / 2);
        let params = op::Params::new(op::Required {
            account_id: &longest_account,
            id: &longest_id,
        });
        let longest = format!("{base}{}", params.path());
        if http::Uri::try_from(longest.as_str()).is_err() {
            return Err(ConfigError::new(format!(
                "base URL is too long ({} bytes) to build a request URL on",
                base.len()
            )));
        }
        Ok(Self {
            base,
            last: Mutex::new(None),
        })
    }

    /// The base URL (no trailing slash).
    pub(crate) fn base(&self) -> &str {
        &self.base
    }

    /// Checks the ids and returns the request, from the one-entry cache when the ids
    /// are the last ones seen.
    pub(crate) fn request(&self, account_id: &str, server_id: &str) -> Result<Request, Error> {
        let cached = self
            .last
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if let Some(c) = cached.filter(|c| c.account_id == account_id && c.server_id == server_id) {
            return Ok(c.request.clone());
        }
        let account_id = ids::check_account_id(account_id)?;
        let id = ids::check_server_id(server_id)?;
        let params = op::Params::new(op::Required {
            account_id,
            id: &id,
        });
        let mut url = format!("{}{}", self.base, params.path());
        let query = params.query();
        if !query.is_empty() {
            url.push('?');
            url.push_str(
                &url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(query)
                    .finish(),
            );
        }
        // What cannot become an HTTP request URI is refused before any attempt; the
        // check in `new` makes this unreachable for checked ids.
        let uri_ok = http::Uri::try_from(url.as_str()).is_ok();
        let parsed = reqwest::Url::parse(&url)
            .ok()
            .filter(|_| uri_ok)
            .ok_or_else(|| {
                Error::Config(ConfigError::new(format!(
                    "the request URL ({} bytes) cannot be sent",
                    url.len()
                )))
            })?;
        let method = reqwest::Method::from_bytes(op::METHOD.as_bytes())
            .map_err(|_| ConfigError::new("the spec's method is not an HTTP method"))?;
        let request = Request {
            method,
            url: parsed,
        };
        *self.last.lock().unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(Cached {
            account_id: account_id.to_string(),
            server_id: server_id.to_string(),
            request: request.clone(),
        }));
        Ok(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_follows_the_spec() {
        let t = SyncRequestBuilder::new("https://h/v4".into()).unwrap();
        let r = t.request("acc", "srv").unwrap();
        assert_eq!(r.method, reqwest::Method::POST);
        assert_eq!(
            r.url.as_str(),
            "https://h/v4/accounts/acc/access/ai-controls/mcp/servers/srv/sync"
        );
        // Served from the cache the second time, identical.
        assert_eq!(t.request("acc", "srv").unwrap().url, r.url);
        // Another pair is checked again.
        assert!(t.request("acc", "Bad").is_err());
    }

    #[test]
    fn non_ascii_account_ids_are_percent_encoded() {
        let t = SyncRequestBuilder::new("https://h".into()).unwrap();
        let r = t.request("aé", "srv").unwrap();
        assert!(r.url.as_str().contains("/accounts/a%C3%A9/"), "{}", r.url);
    }

    #[test]
    fn a_base_too_long_for_any_request_is_refused() {
        let base = format!("https://h/{}", "p".repeat(70_000));
        assert!(SyncRequestBuilder::new(base).is_err());
    }
}
