//! The sync job: where requests go (Cloudflare, a base URL, or the embedded mock), one
//! client for the run, one or many syncs, the printed results, and the exit code.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;

use cloudflare_mcp_sync::{
    BulkOptions, Client, Credentials, ENV_API_KEY, ENV_API_TOKEN, ENV_EMAIL, Error, RetryPolicy,
    SyncReport,
};

use crate::args::Output;
use crate::mock;
use crate::output::{Outcome, Record, text_line};
use crate::progress;

/// The exit codes `--help` documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Every server synced and ready.
    Ready = 0,
    /// Some request failed.
    Failed = 1,
    /// Usage or configuration error; nothing was sent.
    Usage = 2,
    /// Every request succeeded, but some server is not ready.
    NotReady = 3,
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit as u8)
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
}

/// Runs the job and says how it ended.
pub async fn run(job: Job) -> Exit {
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
    let results = sync(&client, &job).await;
    print(&job, mock, &results, &say)
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
            Some(credentials) => (credentials, job.base_url.clone(), false),
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

/// One result per id, in input order: one id through `sync`, several through
/// `sync_many` (concurrent, paced under the rate limit, with a progress bar).
async fn sync(client: &Client, job: &Job) -> Vec<Result<SyncReport, Error>> {
    if let [id] = job.server_ids.as_slice() {
        return vec![client.sync(&job.account_id, id).await];
    }
    let mut options = BulkOptions::new().concurrency(job.concurrency);
    let bar = job.progress.then(|| progress::bar(job.server_ids.len()));
    if let Some(bar) = bar.clone() {
        options = options.on_progress(move |p| progress::update(&bar, p));
    }
    let items = client
        .sync_many(&job.account_id, job.server_ids.iter().cloned(), &options)
        .await;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    items.into_iter().map(|item| item.outcome).collect()
}

/// Prints one record per id and returns the exit code of the whole run.
fn print(
    job: &Job,
    mock: bool,
    results: &[Result<SyncReport, Error>],
    say: &impl Fn(&str),
) -> Exit {
    let width = job
        .server_ids
        .iter()
        .map(|id| id.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = std::io::stdout().lock();
    let mut written = Ok(());
    for (id, result) in job.server_ids.iter().zip(results) {
        let line = match job.output {
            Output::Text => Ok(text_line(id, width, result)),
            Output::Json => serde_json::to_string(&Record::new(id, mock, result)),
        };
        written = written.and_then(|()| match line {
            Ok(line) => writeln!(out, "{line}"),
            Err(e) => Err(std::io::Error::other(e)),
        });
        // In JSON the failure is inside the record; say it on stderr too, for the log
        // of whoever runs this (in text it is already on the line).
        if let (Output::Json, Err(e)) = (job.output, result) {
            say(&format!("error: {id}: {e}"));
        }
    }
    written = written.and_then(|()| out.flush());
    let worst = worst(results.iter().map(exit_for));
    match written {
        // A reader that went away (`| head`) is not a failure of the sync.
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            say(&format!("error: cannot write the results: {e}"));
            Exit::Failed
        }
        _ => worst,
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
