//! The job: a sync run as the command line asked for it.

use std::time::Duration;

use crate::args::Output;

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
