//! `cargo xtask <command>`: see `cargo xtask help`. Each command declares exactly the
//! options it takes, so a flag it would ignore is refused as a usage mistake instead of
//! being accepted silently. Paths are taken as given, relative to where cargo was run
//! (not to the workspace root).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use xtask::{ci, commands, drift, history, spec};

const EXIT_ERROR: u8 = 3;
const EXIT_USAGE: u8 = 64;

/// Maintainer tooling: generate the client from openapi/, check it, follow upstream.
#[derive(Parser)]
#[command(
    name = "xtask",
    bin_name = "cargo xtask",
    arg_required_else_help = true,
    after_help = "Errors exit 3; usage mistakes exit 64.",
    max_term_width = 100
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write crates/generated/src/generated.rs from openapi/.
    Generate {
        /// Compare only: exit 1 with a diff and the fix when the file is stale.
        #[arg(long)]
        check: bool,
    },
    /// Write openapi/ from Cloudflare's full document (JSON or YAML): the operations in
    /// scope and what they reference.
    Extract {
        /// Cloudflare's full OpenAPI document.
        #[arg(value_name = "UPSTREAM_SPEC")]
        upstream: PathBuf,
        #[command(flatten)]
        scope: Scope,
        #[command(flatten)]
        commit: Commit,
    },
    /// Classify what changed for the operations in scope; exit 0 nothing, 1 non-breaking
    /// only, 2 breaking.
    Diff {
        /// The document before.
        old: PathBuf,
        /// The document after.
        new: PathBuf,
        #[command(flatten)]
        scope: Scope,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Extract + diff + generate from a file or an https:// URL; exits like diff.
    ///
    /// A URL is downloaded under a size cap and a timeout; the commit is read from a
    /// pinned .../api-schemas/<commit>/openapi.json URL. Prints the report and the
    /// snapshots to review. When nothing in scope changed, or on any error, nothing is
    /// written.
    Update {
        /// A local copy of Cloudflare's document, or an https:// URL.
        #[arg(value_name = "PATH|URL")]
        source: String,
        #[command(flatten)]
        scope: Scope,
        #[command(flatten)]
        commit: Commit,
        #[command(flatten)]
        format: FormatArg,
        #[command(flatten)]
        download: Download,
    },
    /// The weekly spec-drift job's steps; exit 0 whatever it found, 3 on error.
    ///
    /// Update, refresh the snapshots it moves, move the version and CHANGELOG.md, run
    /// cargo semver-checks (when installed), then the test command on the new tree.
    /// Writes the Markdown report (--report) and appends changed/class/verdict/version/
    /// title to --outputs ($GITHUB_OUTPUT).
    SpecDrift {
        /// Cloudflare's document: a local copy or an https:// URL.
        #[arg(value_name = "PATH|URL")]
        source: String,
        #[command(flatten)]
        commit: Commit,
        #[command(flatten)]
        download: Download,
        /// What decides the verdict (ci: `cargo xtask ci`).
        #[arg(long, value_enum, default_value_t = Verdict::Ci)]
        verdict: Verdict,
        /// Where to write the Markdown report.
        #[arg(long, value_name = "FILE")]
        report: Option<PathBuf>,
        /// A file to append the job's outputs to ($GITHUB_OUTPUT).
        #[arg(long, value_name = "FILE")]
        outputs: Option<PathBuf>,
    },
    /// Replay spec-drift per kind of upstream change and check each: non-breaking
    /// green, breaking red.
    ///
    /// The upstream documents are derived from openapi/ and served on 127.0.0.1; the
    /// work happens in target/rehearse-drift.
    RehearseDrift {
        /// Only this case (repeatable); default every case.
        #[arg(long = "case", value_name = "NAME")]
        cases: Vec<String>,
        /// What decides each case's verdict (tests: generate --check and cargo test
        /// --workspace).
        #[arg(long, value_enum, default_value_t = Verdict::Tests)]
        verdict: Verdict,
    },
    /// Time extract on a generated upstream-size document, beside the time to parse it
    /// alone.
    BenchExtract {
        /// Size of the generated document, in MB.
        #[arg(long, value_name = "N", default_value_t = 16)]
        size_mb: usize,
        /// Timed runs.
        #[arg(long, value_name = "N", default_value_t = 10)]
        runs: usize,
    },
    /// Report what depending on the library costs.
    BenchDeps,
    /// Every check CI runs (the README's test command).
    Ci,
    /// Print where the spec fragment came from and its sha256.
    Provenance,
    /// Print the API surface summary of openapi/ (what the snapshots hold).
    Surface,
    /// Replay the spec tooling over Cloudflare's real history: every distinct version of
    /// each operation extracted, generated (bounded), compiled; each consecutive pair
    /// classed and judged against what the generated Rust API did.
    ReplayHistory {
        /// A clone of cloudflare/api-schemas (with its history).
        #[arg(value_name = "API_SCHEMAS_GIT_DIR")]
        git_dir: PathBuf,
        /// `METHOD /path` of an operation to follow (repeatable); default 24 Access,
        /// DNS, Workers, rulesets and tunnel operations.
        #[arg(long = "operation", value_name = "METHOD /PATH")]
        operations: Vec<String>,
        /// Only upstream commits since this date (YYYY-MM-DD).
        #[arg(long, value_name = "DATE")]
        since: Option<String>,
        /// Only upstream commits until this date (YYYY-MM-DD).
        #[arg(long, value_name = "DATE")]
        until: Option<String>,
        /// Generate only; skip cargo check of the generated code.
        #[arg(long)]
        no_compile: bool,
        /// Where fragments and generated code go (default target/replay-history).
        #[arg(long, value_name = "DIR")]
        work_dir: Option<PathBuf>,
        /// Also write every pair, with diff's lines, as JSON lines to this file.
        #[arg(long, value_name = "FILE")]
        pairs: Option<PathBuf>,
    },
    /// (internal) Render one fragment in a bounded child process.
    #[command(hide = true)]
    RenderFragment {
        input: PathBuf,
        output: PathBuf,
        name: String,
        sha256: String,
    },
}

/// Which operations a command looks at.
#[derive(Args)]
struct Scope {
    /// An operationId in scope (repeatable); default: those in openapi/.
    #[arg(long = "operation", value_name = "OPERATION_ID")]
    operations: Vec<String>,
}

/// The upstream commit to record.
#[derive(Args)]
struct Commit {
    /// The api-schemas commit the document comes from.
    #[arg(long = "commit", value_name = "SHA")]
    sha: Option<String>,
}

/// How a change report is printed.
#[derive(Args)]
struct FormatArg {
    /// Report format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Text,
    Json,
    Markdown,
}

/// Bounds on a download; refused with a local file, where they would mean nothing.
#[derive(Args)]
struct Download {
    /// Seconds allowed for the download (default 120, at most 3600).
    #[arg(long = "timeout", value_name = "SECS", value_parser = timeout_secs)]
    timeout_secs: Option<f64>,
    /// Largest document accepted, in MiB (default 64).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=1024))]
    max_mb: Option<u64>,
}

/// What runs after a spec-drift update to give its verdict.
#[derive(Clone, Copy, ValueEnum)]
enum Verdict {
    Ci,
    Tests,
    None,
}

impl From<Format> for commands::Format {
    fn from(f: Format) -> Self {
        match f {
            Format::Text => Self::Text,
            Format::Json => Self::Json,
            Format::Markdown => Self::Markdown,
        }
    }
}

impl From<Verdict> for drift::VerdictBy {
    fn from(v: Verdict) -> Self {
        match v {
            Verdict::Ci => Self::Ci,
            Verdict::Tests => Self::Tests,
            Verdict::None => Self::None,
        }
    }
}

/// A download timeout: more than 0, at most an hour (beyond that, something is stuck).
fn timeout_secs(text: &str) -> Result<f64, String> {
    text.parse::<f64>()
        .ok()
        .filter(|v| *v > 0.0 && *v <= 3600.0)
        .ok_or_else(|| "a number of seconds, more than 0 and at most 3600".to_string())
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Help asked for is an answer (stdout, 0); anything else is a usage mistake.
            let code = if e.use_stderr() { EXIT_USAGE } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match run(&spec::workspace_root(), cli.command) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

fn run(root: &Path, command: Command) -> anyhow::Result<u8> {
    match command {
        Command::Generate { check } => commands::generate(root, check),
        Command::Extract {
            upstream,
            scope,
            commit,
        } => commands::extract(root, &upstream, &scope.operations, commit.sha.as_deref()),
        Command::Diff {
            old,
            new,
            scope,
            format,
        } => commands::diff(root, &old, &new, scope.operations, format.format.into()),
        Command::Update {
            source,
            scope,
            commit,
            format,
            download,
        } => commands::update(
            root,
            &source,
            &scope.operations,
            commit.sha.as_deref(),
            format.format.into(),
            download.timeout_secs,
            download.max_mb,
        ),
        Command::SpecDrift {
            source,
            commit,
            download,
            verdict,
            report,
            outputs,
        } => {
            let options = drift::Options {
                source,
                commit: commit.sha,
                limits: commands::limits(download.timeout_secs, download.max_mb),
                verdict: verdict.into(),
                target_dir: None,
            };
            commands::spec_drift(root, &options, &drift::Files { report, outputs })
        }
        Command::RehearseDrift { cases, verdict } => {
            commands::rehearse_drift(root, &cases, verdict.into())
        }
        Command::BenchExtract { size_mb, runs } => commands::bench_extract(root, size_mb, runs),
        Command::BenchDeps => commands::bench_deps(root),
        Command::Ci => ci::run().map(|()| 0),
        Command::Provenance => commands::provenance(root),
        Command::Surface => commands::surface(root),
        Command::ReplayHistory {
            git_dir,
            operations,
            since,
            until,
            no_compile,
            work_dir,
            pairs,
        } => {
            let options = history::Options {
                git_dir,
                operations,
                since,
                until,
                compile: !no_compile,
                work_dir: work_dir.unwrap_or_else(|| root.join("target/replay-history")),
                exe: std::env::current_exe()?,
                root: root.to_path_buf(),
            };
            commands::replay_history(options, pairs.as_deref())
        }
        Command::RenderFragment {
            input,
            output,
            name,
            sha256,
        } => commands::render_fragment(&input, &output, name, sha256),
    }
}
