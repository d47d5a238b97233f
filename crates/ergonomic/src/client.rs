//! The client: one shared set of settings, connection pool and rate-limit pacer, and
//! the calls made through it.

use std::fmt;
use std::sync::Arc;

use cloudflare_mcp_sync_generated::operations::mcp_portals_api_sync_server as op;

use crate::decode::decode_response;
use crate::error::Error;
use crate::executor::{Budget, Executor, in_span};
use crate::pacer::Pacer;
use crate::report::SyncReport;
use crate::request::SyncTarget;

/// A configured client. Cheap to clone (one `Arc`), safe to share across tasks; every
/// clone shares one connection pool and one rate-limit pacer, so build one per program
/// (per account) and pass it around.
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) executor: Executor,
    pub(crate) target: SyncTarget,
    pub(crate) credentials_mode: &'static str,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        let e = &i.executor;
        f.debug_struct("Client")
            .field("base_url", &i.target.base())
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
    /// The base URL requests go to (no trailing slash).
    pub fn base_url(&self) -> &str {
        self.inner.target.base()
    }

    /// Syncs one MCP server: Cloudflare reconnects to it, refreshes its tools and
    /// prompts, and answers with its sync state.
    ///
    /// The ids are checked before anything is sent. Failures worth retrying are retried
    /// under the client's [`RetryPolicy`](crate::RetryPolicy), all within the total
    /// timeout, and every attempt waits its turn under the client's rate-limit pacer;
    /// the report's metadata and every error say how many attempts were made.
    pub async fn sync(&self, account_id: &str, server_id: &str) -> Result<SyncReport, Error> {
        self.sync_within(account_id, server_id, self.inner.executor.budget())
            .await
    }

    /// [`Client::sync`] within what is left of `budget` (a bulk run's later rounds).
    pub(crate) async fn sync_within(
        &self,
        account_id: &str,
        server_id: &str,
        budget: Budget,
    ) -> Result<SyncReport, Error> {
        let request = self.inner.target.request(account_id, server_id)?;
        let span = tracing::info_span!(
            "cloudflare_mcp_sync",
            operation = op::OPERATION_ID,
            server_id,
            attempts = tracing::field::Empty,
            status = tracing::field::Empty,
            ray_id = tracing::field::Empty,
        );
        let run = std::pin::pin!(self.inner.executor.run(&request, &decode_response, budget));
        in_span(span, run).await
    }

    /// A fresh budget for one id: the total timeout from now.
    pub(crate) fn budget(&self) -> Budget {
        self.inner.executor.budget()
    }

    /// The pacer every call through this client shares.
    pub(crate) fn pacer(&self) -> &Pacer {
        &self.inner.executor.pacer
    }
}
