//! `cf-mcp-sync`: sync MCP servers behind a Cloudflare Zero Trust MCP portal.
//!
//! The command line is in `args`; the job it asks for in `job`, run by `run` with the
//! client of `client`; each result is rendered by `output` (records, text lines) and
//! `ci_output` (job summary Markdown, GitHub annotations) and written in order by
//! `printer`; the exit code follows `exit`; signals are `signals`, the terminal
//! `terminal`, the progress bar `progress`, and the embedded mock `mock`.

mod args;
mod ci_output;
mod client;
mod exit;
mod job;
mod mock;
mod output;
mod printer;
mod progress;
mod run;
mod signals;
mod terminal;

use std::io::Write;
use std::process::ExitCode;

use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches, error::ErrorKind};
use tracing_subscriber::EnvFilter;

use args::{Cli, Command, ENV_ACCOUNT_ID, Output, checked_value};
use exit::Exit;
use job::Job;

fn main() -> ExitCode {
    // The bare form `cf-mcp-sync <SERVER_ID>...` is `sync`, made explicit before clap
    // parses (so both print the same, usage errors included).
    let command = Cli::command();
    let argv = args::with_subcommand(std::env::args_os().collect(), &command);
    let matches = command.get_matches_from(argv);
    // Where `--base-url` came from, so that a refused `--mock` can name it.
    let base_url_source = matches
        .subcommand_matches(args::DEFAULT_SUBCOMMAND)
        .and_then(|m| m.value_source("base_url"));
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let sync = match cli.command {
        Command::Sync(sync) => sync,
        Command::Completions { shell } => {
            let mut command = Cli::command();
            // clap_complete panics on a failed write: generate into memory, then write and
            // let a reader that went away be its own business.
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut command, "cf-mcp-sync", &mut script);
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(&script).and_then(|()| out.flush());
            return ExitCode::SUCCESS;
        }
    };
    let lookup = |name: &str| std::env::var_os(name).map(|v| v.to_string_lossy().into_owned());
    let account_id = match checked_value(sync.account_id, "--account-id", ENV_ACCOUNT_ID, lookup) {
        Ok(Some(id)) => id,
        Ok(None) => usage_error(
            ErrorKind::MissingRequiredArgument,
            &format!("missing --account-id (or set {ENV_ACCOUNT_ID})"),
        ),
        Err(message) => usage_error(ErrorKind::InvalidValue, &message),
    };
    let base_url = match checked_value(
        sync.base_url,
        "--base-url",
        cloudflare_mcp_sync::ENV_BASE_URL,
        lookup,
    ) {
        Ok(url) => url,
        Err(message) => usage_error(ErrorKind::InvalidValue, &message),
    };
    if sync.mock && base_url.is_some() {
        let message = if base_url_source == Some(ValueSource::EnvVariable) {
            format!(
                "--mock cannot be used while {} is set (the mock has its own address); \
                 unset it, or drop --mock",
                cloudflare_mcp_sync::ENV_BASE_URL
            )
        } else {
            "the argument '--mock' cannot be used with '--base-url <URL>'".to_string()
        };
        usage_error(ErrorKind::ArgumentConflict, &message);
    }
    init_logging(sync.verbose, sync.quiet);
    let job = Job {
        account_id,
        output: sync.output.unwrap_or(if terminal::stdout_is_terminal() {
            Output::Text
        } else {
            Output::Json
        }),
        // Drawn only for several ids (`run::sync`), on a terminal, and not beside logs.
        progress: sync.quiet == 0 && sync.verbose == 0 && terminal::stderr_is_terminal(),
        server_ids: sync.server_ids,
        mock: sync.mock,
        base_url,
        timeout: sync.timeout,
        retries: sync.retries,
        concurrency: usize::from(sync.concurrency),
        quiet: sync.quiet,
        summary: sync.summary.map(std::path::PathBuf::from),
        annotations: std::env::var_os("GITHUB_ACTIONS").is_some_and(|v| v == "true"),
    };
    // One thread: the work is waiting on the network, and a cold start stays small.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            terminal::to_stderr(&format!("error: cannot start the async runtime: {e}"));
            return Exit::Failed.into();
        }
    };
    runtime.block_on(run::run(job)).into()
}

/// Prints a usage error the way clap prints its own (with the `sync` usage line) and
/// exits 2.
fn usage_error(kind: ErrorKind, message: &str) -> ! {
    let mut command = Cli::command();
    command.build();
    match command.find_subcommand_mut(args::DEFAULT_SUBCOMMAND) {
        Some(sync) => sync.error(kind, message).exit(),
        None => command.error(kind, message).exit(),
    }
}

/// Logs on stderr: `RUST_LOG` when set, else the level `-v`/`-q` ask for (default:
/// warnings).
fn init_logging(verbose: u8, quiet: u8) {
    let default = match (verbose, quiet) {
        (0, 0) => "warn",
        (0, 1) => "error",
        (0, _) => "off",
        (1, _) => "warn,cloudflare_mcp_sync=info,cf_mcp_sync=info",
        (2, _) => "info,cloudflare_mcp_sync=debug,cf_mcp_sync=debug",
        _ => "trace",
    };
    let filter = match std::env::var("RUST_LOG") {
        Ok(directives) if !directives.trim().is_empty() => EnvFilter::try_new(&directives)
            .unwrap_or_else(|e| {
                terminal::to_stderr(&format!(
                    "warning: RUST_LOG is not a valid filter ({e}); using {default:?}"
                ));
                EnvFilter::new(default)
            }),
        _ => EnvFilter::new(default),
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(terminal::stderr_is_terminal())
        // A failed write would otherwise be reported with `eprintln!`, which panics when
        // stderr is gone (a closed pipe); logs that cannot be written are dropped.
        .log_internal_errors(false)
        .init();
}
