//! The sync job: where requests go (Cloudflare, a base URL, or the embedded mock), one
//! client for the run, one or many syncs, the printed results, and the exit code.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use cloudflare_mcp_sync::{
    BulkOptions, Client, Credentials, ENV_API_KEY, ENV_API_TOKEN, ENV_EMAIL, Error, RetryPolicy,
    SyncReport,
};

use crate::args::Output;
use crate::mock;
use crate::output::{Outcome, Record, text_line, text_not_attempted};
use crate::pipeline;
use crate::progress;
use crate::signals::{Interrupt, Signals};

/// The exit codes `--help` documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Every server synced and ready (0).
    Ready,
    /// Some request failed (1).
    Failed,
    /// Usage or configuration error; nothing was sent (2).
    Usage,
    /// Every request succeeded, but some server is not ready (3).
    NotReady,
    /// Interrupted by a signal: 128 + its number, as a shell reports it.
    Interrupted(Interrupt),
}

impl Exit {
    /// The process's exit code.
    pub fn code(self) -> u8 {
        match self {
            Self::Ready => 0,
            Self::Failed => 1,
            Self::Usage => 2,
            Self::NotReady => 3,
            Self::Interrupted(signal) => signal.exit_code(),
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit.code())
    }
}

/// A sync run, as the command line asked for it.
#[derive(Debug)]
pub struct Job {
    /// The account.
    pub account_id: String,
    /// The servers, in the order given.
    pub server_ids: Vec<String>,
    /// Where results go.
    pub output: Output,
    /// `--mock`.
    pub mock: bool,
    /// `--base-url` or `CLOUDFLARE_BASE_URL`.
    pub base_url: Option<String>,
    /// Time allowed per server.
    pub timeout: Duration,
    /// Retries per server.
    pub retries: u32,
    /// Syncs in flight at once.
    pub concurrency: usize,
    /// `-q` count.
    pub quiet: u8,
    /// Whether a run over several ids may draw a progress bar (one id never does).
    pub progress: bool,
    /// `--summary`: where the Markdown summary is appended.
    pub summary: Option<std::path::PathBuf>,
    /// Whether to print GitHub Actions annotations (`GITHUB_ACTIONS=true`).
    pub annotations: bool,
}

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

/// Why the run stopped before any request.
struct Failure {
    exit: Exit,
    message: String,
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Self {
            exit: exit_for_error(&e),
            message: e.to_string(),
        }
    }
}

/// The client of the run, and whether it talks to the embedded mock.
async fn client(job: &Job, say: &impl Fn(&str)) -> Result<(Client, bool), Failure> {
    let (credentials, base_url, mock) = if job.mock {
        // No credential is read, so none can reach the mock.
        let url = start_mock().await?;
        if job.quiet == 0 {
            say(&format!("note: syncing against the embedded mock at {url}"));
        }
        (Credentials::api_token(mock::TOKEN), Some(url), true)
    } else {
        let credentials = Credentials::from_env().map_err(Error::Config)?;
        match credentials {
            Some(credentials) => {
                // Not refused: a smoke job against a local server uses such values.
                for part in credentials.too_short_to_redact() {
                    say(&format!(
                        "warning: the {part} is shorter than {} characters, so it is not \
                         Cloudflare's; it is not looked for in what servers send back",
                        cloudflare_mcp_sync::MIN_REDACTED_SECRET_CHARS
                    ));
                }
                (credentials, job.base_url.clone(), false)
            }
            // Never a silent mock: a CI job whose secret is misnamed must fail, not
            // report a success that synced nothing.
            None => {
                return Err(Failure {
                    exit: Exit::Usage,
                    message: format!(
                        "configuration error: no credentials: set {ENV_API_TOKEN}, or \
                         {ENV_EMAIL} and {ENV_API_KEY} (or pass --mock to sync against the \
                         embedded mock)"
                    ),
                });
            }
        }
    };
    let mut builder = Client::builder()
        .credentials(credentials)
        .total_timeout(job.timeout)
        .attempt_timeout(
            job.timeout
                .min(cloudflare_mcp_sync::DEFAULT_ATTEMPT_TIMEOUT),
        )
        .retry_policy(RetryPolicy::new().with_max_retries(job.retries))
        .user_agent_suffix(concat!("cf-mcp-sync/", env!("CARGO_PKG_VERSION")));
    if let Some(url) = base_url {
        builder = builder.base_url(url);
    }
    Ok((builder.build()?, mock))
}

async fn start_mock() -> Result<String, Failure> {
    mock::start().await.map_err(|e| Failure {
        exit: Exit::Failed,
        message: format!("cannot start the embedded mock: {e}"),
    })
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

/// How far past the earliest unwritten id a bulk run starts new ids: the most records
/// that wait in [`Printer`] for an earlier one.
const MAX_AHEAD: usize = cloudflare_mcp_sync::DEFAULT_MAX_AHEAD;

fn lock(printer: &Mutex<Printer>) -> std::sync::MutexGuard<'_, Printer> {
    printer.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One id's row of the Markdown summary, and its outcome (for the counts).
type SummaryRow = (String, Outcome);

/// One id's record, rendered when its result arrived.
struct Rendered {
    line: std::io::Result<String>,
    exit: Exit,
    /// The `error: <id>: …` line for stderr (JSON output only).
    error_line: Option<String>,
}

/// Writes the records in input order as results arrive: a result that finishes before
/// an earlier id's waits in `pending` (at most [`MAX_AHEAD`] of them, as rendered text)
/// until every id before it is written. Input order keeps the documented
/// contract (a script may pair records with the ids it passed), and an earlier id that
/// stalls holds the later ones back only until its `--timeout` or an interrupt.
struct Printer {
    ids: Vec<String>,
    output: Output,
    mock: bool,
    width: usize,
    bar: Option<indicatif::ProgressBar>,
    pending: Vec<Option<Rendered>>,
    next: usize,
    written: std::io::Result<()>,
    quiet: u8,
    worst: Exit,
    /// With `--summary`: each id's row and outcome, by input position.
    summary: Option<(std::path::PathBuf, Vec<Option<SummaryRow>>)>,
    annotations: bool,
}

impl Printer {
    fn new(job: &Job, mock: bool, bar: Option<indicatif::ProgressBar>) -> Self {
        Self {
            ids: job.server_ids.clone(),
            output: job.output,
            mock,
            width: job
                .server_ids
                .iter()
                .map(|id| id.chars().count())
                .max()
                .unwrap_or(0),
            bar,
            pending: job.server_ids.iter().map(|_| None).collect(),
            next: 0,
            written: Ok(()),
            quiet: job.quiet,
            worst: Exit::Ready,
            summary: job
                .summary
                .clone()
                .map(|path| (path, job.server_ids.iter().map(|_| None).collect())),
            annotations: job.annotations,
        }
    }

    /// The result of id `i`: rendered now, written as soon as every id before it is.
    fn finished(&mut self, i: usize, result: &Result<SyncReport, Error>) {
        let Some(id) = self.ids.get(i) else { return };
        // Everything printed holds server text: nothing a CI runner would read as a
        // workflow command. The library took the run's credentials out of that text
        // (only out of the server's strings, never out of ids, keys or statuses).
        let safe = |text: String, json: bool| pipeline::defuse(&text, json);
        let line = match self.output {
            Output::Text => Ok(safe(text_line(id, self.width, result), false)),
            Output::Json => serde_json::to_string(&Record::new(id, self.mock, result))
                .map(|l| safe(l, true))
                .map_err(std::io::Error::other),
        };
        // In JSON the failure is inside the record; say it on stderr too, for the log
        // of whoever runs this (in text it is already on the line).
        let error_line = match (self.output, result) {
            (Output::Json, Err(e)) => Some(safe(format!("error: {id}: {e}"), false)),
            _ => None,
        };
        let row = self.summary.is_some().then(|| pipeline::row(id, result));
        if let (Some(row), Some(slot)) = (
            row,
            self.summary.as_mut().and_then(|(_, rows)| rows.get_mut(i)),
        ) {
            *slot = Some((row, Outcome::of(result)));
        }
        if self.annotations
            && self.quiet < 2
            && let Some(line) = pipeline::annotation(id, result).map(|a| safe(a, false))
        {
            match &self.bar {
                Some(bar) => bar.suspend(|| to_stderr(&line)),
                None => to_stderr(&line),
            }
        }
        if let Some(slot) = self.pending.get_mut(i) {
            *slot = Some(Rendered {
                line,
                exit: exit_for(result),
                error_line,
            });
        }
        while let Some(rendered) = self.pending.get_mut(self.next).and_then(Option::take) {
            self.write(rendered);
            self.next += 1;
        }
    }

    /// After a signal: writes what finished, and a `not_attempted` record for every
    /// other id, in input order. Returns how many were not attempted.
    fn interrupt(&mut self) -> usize {
        let mut skipped = 0;
        while self.next < self.ids.len() {
            let rendered = match self.pending.get_mut(self.next).and_then(Option::take) {
                Some(rendered) => rendered,
                None => {
                    skipped += 1;
                    let id = &self.ids[self.next];
                    Rendered {
                        line: match self.output {
                            Output::Text => Ok(text_not_attempted(id, self.width)),
                            Output::Json => {
                                serde_json::to_string(&Record::not_attempted(id, self.mock))
                                    .map_err(std::io::Error::other)
                            }
                        },
                        exit: Exit::Ready,
                        error_line: None,
                    }
                }
            };
            self.write(rendered);
            self.next += 1;
        }
        skipped
    }

    fn write(&mut self, rendered: Rendered) {
        self.worst = worst([self.worst, rendered.exit].into_iter());
        if self.written.is_ok() {
            let write = |line: &str| {
                let mut out = std::io::stdout().lock();
                writeln!(out, "{line}").and_then(|()| out.flush())
            };
            self.written = match (&rendered.line, &self.bar) {
                // The bar steps aside while the line is written, then draws again.
                (Ok(line), Some(bar)) => bar.suspend(|| write(line)),
                (Ok(line), None) => write(line),
                (Err(e), _) => Err(std::io::Error::new(e.kind(), e.to_string())),
            };
        }
        match (rendered.error_line, &self.bar) {
            (Some(line), _) if self.quiet >= 2 => drop(line),
            (Some(line), Some(bar)) => bar.suspend(|| to_stderr(&line)),
            (Some(line), None) => to_stderr(&line),
            (None, _) => {}
        }
    }

    /// Appends the Markdown summary, in input order, when `--summary` asked for it; an
    /// id without a result (an interrupted run) is shown as not attempted. A summary
    /// that cannot be written is said on stderr and changes no exit code: the records
    /// on stdout are the results.
    fn write_summary(&mut self, say: &impl Fn(&str)) {
        let Some((path, rows)) = self.summary.take() else {
            return;
        };
        let (rows, outcomes): (Vec<String>, Vec<Outcome>) = rows
            .into_iter()
            .zip(&self.ids)
            .map(|(row, id)| {
                row.unwrap_or_else(|| (pipeline::row_not_attempted(id), Outcome::NotAttempted))
            })
            .unzip();
        let text = pipeline::document(&rows, &outcomes, self.mock);
        if let Err(e) = pipeline::append(&path, &text) {
            say(&format!(
                "warning: cannot write the summary to {}: {e}",
                path.display()
            ));
        }
    }

    /// The exit code of the whole run: the signal's when there was one, else the worst
    /// of the servers', or a failure to write the results.
    fn finish(&mut self, signal: Option<Exit>, say: &impl Fn(&str)) -> Exit {
        self.write_summary(say);
        match std::mem::replace(&mut self.written, Ok(())) {
            // A reader that went away (`| head`) is not a failure of the sync.
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                say(&format!("error: cannot write the results: {e}"));
                signal.unwrap_or(Exit::Failed)
            }
            _ => signal.unwrap_or(self.worst),
        }
    }
}

fn exit_for(result: &Result<SyncReport, Error>) -> Exit {
    match (Outcome::of(result), result) {
        (_, Err(e)) => exit_for_error(e),
        (Outcome::Ready, _) => Exit::Ready,
        _ => Exit::NotReady,
    }
}

fn exit_for_error(e: &Error) -> Exit {
    match e {
        Error::InvalidInput(_) | Error::Config(_) => Exit::Usage,
        _ => Exit::Failed,
    }
}

/// The exit code of a run: the worst of its servers' (ready when there is none).
fn worst(exits: impl Iterator<Item = Exit>) -> Exit {
    exits.max_by_key(|e| severity(*e)).unwrap_or(Exit::Ready)
}

/// Which exit code wins when servers ended differently: usage, then a failed request,
/// then not ready.
fn severity(exit: Exit) -> u8 {
    match exit {
        Exit::Ready => 0,
        Exit::NotReady => 1,
        Exit::Failed => 2,
        Exit::Usage => 3,
        Exit::Interrupted(_) => 4,
    }
}

/// Writes one line on stderr, ignoring failure: unlike `eprintln!`, a stderr that went
/// away (a closed pipe) neither panics nor stops the records on stdout.
pub fn to_stderr(line: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{line}").and_then(|()| err.flush());
}

/// Whether stdout is a terminal (text output by default).
pub fn stdout_is_terminal() -> bool {
    std::io::stdout().is_terminal()
}

/// Whether stderr is a terminal (progress bar, colours).
pub fn stderr_is_terminal() -> bool {
    std::io::stderr().is_terminal()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worst_outcome_decides_the_exit_code() {
        use Exit::*;
        for (exits, expected) in [
            (vec![], Ready),
            (vec![Ready, Ready], Ready),
            (vec![NotReady, Ready], NotReady),
            (vec![Ready, NotReady], NotReady),
            (vec![NotReady, Failed, Ready], Failed),
            (vec![Failed, NotReady], Failed),
            (vec![Failed, Usage, NotReady], Usage),
        ] {
            assert_eq!(worst(exits.clone().into_iter()), expected, "{exits:?}");
        }
        assert_eq!(ExitCode::from(Exit::NotReady), ExitCode::from(3));
    }
}
