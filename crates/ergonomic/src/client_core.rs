//! What every clone of a [`Client`](crate::Client) shares, and one sync made through
//! it. Apart from the client so that the bulk runs can hold and use it without
//! importing the client back.

use cloudflare_mcp_sync_generated::operations::mcp_portals_api_sync_server as op;

use crate::decode::decode_sync;
use crate::error::Error;
use crate::executor::{CallBudget, Executor, in_span};
use crate::pacer::Pacer;
use crate::report::SyncReport;
use crate::request::SyncRequestBuilder;

/// The settings, connection pool and rate-limit pacer behind one client and its clones.
pub(crate) struct ClientCore {
    pub(crate) executor: Executor,
    pub(crate) requests: SyncRequestBuilder,
    pub(crate) credentials_mode: &'static str,
}

impl ClientCore {
    /// Syncs one server within what is left of `budget` (a bulk run's later rounds
    /// pass the id's budget on).
    pub(crate) async fn sync_within(
        &self,
        account_id: &str,
        server_id: &str,
        budget: CallBudget,
    ) -> Result<SyncReport, Error> {
        let request = self.requests.request(account_id, server_id)?;
        let span = tracing::info_span!(
            "cloudflare_mcp_sync",
            operation = op::OPERATION_ID,
            server_id,
            attempts = tracing::field::Empty,
            status = tracing::field::Empty,
            ray_id = tracing::field::Empty,
        );
        // Decoded first, then the client's secrets taken out of the server's text: what
        // the decoder reads is what the server sent.
        let scrub = &self.executor.scrub;
        let decode = |status, headers, facts, body: &[u8], attempts| {
            scrub.outcome(decode_sync(status, headers, facts, body, attempts))
        };
        let run = std::pin::pin!(self.executor.run(&request, &decode, budget));
        in_span(span, run).await
    }

    /// A fresh budget for one id: the total timeout from now.
    pub(crate) fn budget(&self) -> CallBudget {
        self.executor.budget()
    }

    /// The pacer every call through the client shares.
    pub(crate) fn pacer(&self) -> &Pacer {
        &self.executor.pacer
    }
}
