//! The run: the ids checked, the client built, one or many syncs handed to the printer,
//! and a signal that ends them early.

use std::sync::{Arc, Mutex, PoisonError};

use cloudflare_mcp_sync::{BulkOptions, Client, Error};

use crate::client::{Failure, client};
use crate::exit::Exit;
use crate::job::Job;
use crate::printer::{MAX_AHEAD, Printer, lock};
use crate::progress;
use crate::signals::Signals;
use crate::terminal::to_stderr;

/// Runs the job and says how it ended.
pub async fn run(job: Job) -> Exit {
    // Registered first, so that a signal while the ids are checked and the client is
    // built is ours too: it is kept until the syncs start, which then end at once with
    // every id `not_attempted` and the summary written (found by attack: a SIGHUP in the
    // first 20 ms killed the process with nothing written).
    let mut signals = Signals::register();
    let say = |line: &str| {
        if job.quiet < 2 {
            to_stderr(line);
        }
    };
    // Every id is checked before anything is sent: a typo is a usage error, not one
    // failure among syncs that already happened.
    let bad: Vec<Error> = job
        .server_ids
        .iter()
        .filter_map(|id| cloudflare_mcp_sync::check_ids(&job.account_id, id).err())
        .collect();
    if !bad.is_empty() {
        bad.iter().for_each(|e| say(&format!("error: {e}")));
        return Exit::Usage;
    }
    let (client, mock) = match client(&job, &say).await {
        Ok(pair) => pair,
        Err(Failure { exit, message }) => {
            say(&format!("error: {message}"));
            return exit;
        }
    };
    let bar =
        (job.progress && job.server_ids.len() > 1).then(|| progress::bar(job.server_ids.len()));
    let printer = Arc::new(Mutex::new(Printer::new(&job, mock, bar.clone())));
    let interrupted = tokio::select! {
        () = sync(&client, &job, &printer, bar.clone()) => None,
        signal = signals.recv() => Some(signal),
    };
    // Dropping the sync above aborted what was in flight; nothing else writes now.
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let mut printer = printer.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(signal) = interrupted {
        let skipped = printer.interrupt();
        say(&format!(
            "error: interrupted by {}: {skipped} of {} ids not attempted",
            signal.name(),
            job.server_ids.len()
        ));
    }
    printer.finish(interrupted.map(Exit::Interrupted), &say)
}

/// Syncs every id, handing each result to `printer` as soon as it finishes: one id
/// through `sync`, several through `sync_each` (concurrent, paced under the rate limit,
/// with a progress bar). Each report is rendered and dropped when it arrives; ids start
/// at most [`MAX_AHEAD`] past the earliest unwritten one, so the records waiting for an
/// earlier id to be written are bounded too.
async fn sync(
    client: &Client,
    job: &Job,
    printer: &Arc<Mutex<Printer>>,
    bar: Option<indicatif::ProgressBar>,
) {
    if let [id] = job.server_ids.as_slice() {
        let result = client.sync(&job.account_id, id).await;
        lock(printer).finished(0, &result);
        return;
    }
    // `--retries` bounds the 429 rounds too: `--retries 0` means one request per id.
    let mut options = BulkOptions::new()
        .concurrency(job.concurrency)
        .max_ahead(MAX_AHEAD)
        .rate_limit_rounds(job.retries);
    if let Some(bar) = bar {
        options = options.on_progress(move |p| progress::update(&bar, p));
    }
    let sink = printer.clone();
    client
        .sync_each(
            &job.account_id,
            job.server_ids.iter().cloned(),
            &options,
            move |i, item| lock(&sink).finished(i, &item.outcome),
        )
        .await;
}
