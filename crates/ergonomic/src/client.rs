//! The client: every public method in one place, each a thin call into the module that
//! does the work (`config` builds, `shared` makes one sync, `bulk` runs many).

use std::fmt;
use std::sync::Arc;

use crate::bulk;
use crate::bulk_options::{BulkItem, BulkOptions};
use crate::client_core::ClientCore;
use crate::config::ClientBuilder;
use crate::error::Error;
use crate::report::SyncReport;

/// A configured client. Cheap to clone (one `Arc`), safe to share across tasks; every
/// clone shares one connection pool and one rate-limit pacer, so build one per program
/// (per account) and pass it around.
#[derive(Clone)]
pub struct Client {
    core: Arc<ClientCore>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.core;
        let e = &i.executor;
        f.debug_struct("Client")
            .field("base_url", &i.requests.base())
            .field(
                "credentials",
                &format_args!("{} (redacted)", i.credentials_mode),
            )
            .field("retry", &e.retry)
            .field("attempt_timeout", &e.attempt_timeout)
            .field("total_timeout", &e.total_timeout)
            .field("max_body_bytes", &e.max_body_bytes)
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
        self.core.requests.base()
    }

    /// Syncs one MCP server: Cloudflare reconnects to it, refreshes its tools and
    /// prompts, and answers with its sync state.
    ///
    /// The ids are checked before anything is sent. Failures worth retrying are retried
    /// under the client's [`RetryPolicy`](crate::RetryPolicy), all within the total
    /// timeout, and every attempt waits its turn under the client's rate-limit pacer;
    /// the report's metadata and every error say how many attempts were made.
    pub async fn sync(&self, account_id: &str, server_id: &str) -> Result<SyncReport, Error> {
        self.core
            .sync_within(account_id, server_id, self.core.budget())
            .await
    }

    /// Syncs many servers of one account, `options.concurrency` at a time, and hands
    /// each id's [`BulkItem`] to `on_item` with its index in the input as soon as it
    /// finishes (so in completion order), from the worker that finished it. Nothing is
    /// kept after that: memory is bounded by the ids in flight and
    /// [`BulkOptions::max_ahead`], not by the number of ids. One failure does not
    /// lose the others, and a panic while an id is synced fails that id alone.
    ///
    /// Requests are paced from the `Ratelimit` headers the API sends and from any 429,
    /// so a large run slows down before Cloudflare's account-wide limit instead of
    /// running into its five-minute block. Each id gets the client's retry policy and
    /// one total timeout; an id still rate limited after its retries is tried again
    /// (see [`BulkOptions::rate_limit_rounds`]) while that timeout allows.
    ///
    /// Dropping the returned future stops the run: ids not yet handed over are never
    /// handed over, so a caller that must account for every id (a command on SIGINT)
    /// counts what it received.
    pub async fn sync_each<I, S>(
        &self,
        account_id: &str,
        server_ids: I,
        options: &BulkOptions,
        on_item: impl Fn(usize, BulkItem) + Send + Sync + 'static,
    ) where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        bulk::sync_each(&self.core, account_id, server_ids, options, on_item).await;
    }

    /// [`Client::sync_each`], with the outcomes collected into one list in input
    /// order. The list holds every report until the run ends; a caller with many ids
    /// that can act on each outcome as it comes should use `sync_each`.
    pub async fn sync_many<I, S>(
        &self,
        account_id: &str,
        server_ids: I,
        options: &BulkOptions,
    ) -> Vec<BulkItem>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        bulk::sync_many(&self.core, account_id, server_ids, options).await
    }
}

impl ClientBuilder {
    /// Checks the configuration and builds the client. Never panics; a malformed base
    /// URL, missing credentials or unusable header values are a [`Error::Config`].
    //
    // Here rather than in `config`, so that `config` need not import the client back.
    pub fn build(self) -> Result<Client, Error> {
        Ok(Client {
            core: Arc::new(self.into_core()?),
        })
    }
}
