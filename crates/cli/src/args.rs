//! The command line: what clap parses, and the checks clap cannot make (a variable that
//! is set but blank, durations with units).

use std::ffi::OsString;
use std::time::Duration;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};

/// `--timeout`'s default: the library's total timeout, as text because clap parses
/// defaults (a test checks that it parses to the library's value).
pub const DEFAULT_TIMEOUT: &str = "60s";

/// `--concurrency`'s default: the library's, in the flag's type and range.
pub const DEFAULT_CONCURRENCY: u16 = {
    assert!(cloudflare_mcp_sync::DEFAULT_CONCURRENCY >= 1);
    assert!(cloudflare_mcp_sync::DEFAULT_CONCURRENCY <= 64);
    cloudflare_mcp_sync::DEFAULT_CONCURRENCY as u16
};

/// Variable that supplies `--account-id` (the name Cloudflare's own tools use).
pub const ENV_ACCOUNT_ID: &str = "CLOUDFLARE_ACCOUNT_ID";

/// The grammar note shared by `--help` and `sync --help`.
macro_rules! grammar {
    () => {
        "\
`cf-mcp-sync <SERVER_ID>... [OPTIONS]` (no subcommand) is the same as `cf-mcp-sync sync
<SERVER_ID>... [OPTIONS]`: same output, same exit codes. The first argument that is not
an option or an option's value names the subcommand when it is `sync`, or, before any
option, `completions` or `help`; any other word starts the ids. Everything after `--` is
an id: to sync a server called `sync` or `completions`, write `cf-mcp-sync sync
[OPTIONS] -- sync completions`."
    };
}

/// The exit codes, in both helps.
macro_rules! exit_codes {
    () => {
        "\
Exit codes:
  0  every server synced and ready
  3  every request succeeded, but some server is not ready (waiting, stale, error)
  1  some request failed (network, timeout, rate limit, refused by Cloudflare)
  2  usage or configuration error; nothing was sent
  128+n  interrupted by signal n (what finished is written): 129 SIGHUP, 130 SIGINT,
         131 SIGQUIT, 143 SIGTERM, 138/140 SIGUSR1/SIGUSR2 on Linux"
    };
}

const COMMAND_LONG_HELP: &str = concat!(
    grammar!(),
    "\n\nRun `cf-mcp-sync sync --help` for the options, the environment and the JSON fields.\n\n",
    exit_codes!()
);

const SYNC_LONG_HELP: &str = concat!(
    "\
Credentials come only from the environment, never from arguments (which other users
of the machine can read):
  CLOUDFLARE_API_TOKEN                     an API token (Authorization: Bearer)
  CLOUDFLARE_EMAIL + CLOUDFLARE_API_KEY    or the legacy global API key pair
With none of them set the command stops with exit 2 and sends nothing: the embedded
mock on 127.0.0.1 answers only with --mock (and the output then says \"mock\": true).
A variable that is set but empty is an error.

Output (--output json): one JSON object per server id, one per line, in input order,
each written as soon as it and every id before it have finished:
  {\"server_id\", \"mock\", \"outcome\": \"ready\"|\"not_ready\"|\"failed\"|\"not_attempted\",
   \"report\": {status, ready, failure, messages, http_status, ray_id, attempts,
               rate_limit, result (Cloudflare's, as sent)} or null,
   \"error\": {kind, message, http_status, ray_id, attempts, retryable,
              retry_after_ms, cloudflare_errors} or null,
   \"truncated\": true only when the server's text passed 32 KiB and was cut}
Fields (and outcome values) are only ever added, never removed or changed in meaning.
On SIGHUP, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2 or SIGTERM every id still gets its
record, in input order: those that finished as usual, the others with \"outcome\":
\"not_attempted\" (no result came; one in flight may have reached Cloudflare); the
--summary is written too, and the exit code is 128 + the signal's number. A signal
ignored when the command started (SIGHUP under nohup) stays ignored.

Logs go to stderr: -v info, -vv debug, -vvv trace; -q errors only; RUST_LOG overrides.

",
    grammar!(),
    "\n\n",
    exit_codes!()
);

/// The usage lines of the command (clap would show only `<COMMAND>`).
const USAGE: &str = "cf-mcp-sync sync [OPTIONS] <SERVER_ID>...
       cf-mcp-sync [OPTIONS] <SERVER_ID>...    (the same: sync is the default)
       cf-mcp-sync completions <SHELL>";

/// Sync MCP servers behind a Cloudflare Zero Trust MCP portal.
///
/// Asks Cloudflare to reconnect to each MCP server, refresh its tools and prompts, and
/// report the server's sync state. Several ids are synced concurrently, paced under
/// Cloudflare's account-wide rate limit.
#[derive(Debug, Parser)]
#[command(
    name = "cf-mcp-sync",
    version,
    override_usage = USAGE,
    after_long_help = COMMAND_LONG_HELP,
    after_help = "Run with --help for the grammar and the exit codes, `sync --help` for the options.",
    subcommand_required = true,
    arg_required_else_help = true,
    max_term_width = 100
)]
pub struct Cli {
    /// The operation.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Sync MCP servers (the default: `cf-mcp-sync <SERVER_ID>...` is short for this).
    ///
    /// Asks Cloudflare to reconnect to each MCP server, refresh its tools and prompts, and
    /// report the server's sync state. Several ids are synced concurrently, paced under
    /// Cloudflare's account-wide rate limit. `cf-mcp-sync <SERVER_ID>... [OPTIONS]`, with
    /// no subcommand, is the same command.
    #[command(
        after_long_help = SYNC_LONG_HELP,
        after_help = "Run with --help for the environment, the JSON fields and the exit codes."
    )]
    Sync(SyncArgs),
    /// Print a shell completion script to stdout (e.g. `cf-mcp-sync completions bash >
    /// ~/.local/share/bash-completion/completions/cf-mcp-sync`).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// The name of the subcommand the bare form stands for.
pub const DEFAULT_SUBCOMMAND: &str = "sync";

/// `args` (the program's name first) with the subcommand made explicit, so that the bare
/// form `cf-mcp-sync [OPTIONS] <SERVER_ID>...` parses as `sync` and prints exactly what
/// it prints. The first argument that is neither an option nor an option's value (as
/// `command` declares them) decides: a subcommand's name is moved to the front (options
/// may come before `sync`; the options are sync's, so `help` or `completions` after one
/// is an id); any other word, `--`, or no word at all means `sync`. An option's value
/// is never `--` (clap refuses it, and so does this). Only `-h`, `--help`, `-V`,
/// `--version` or nothing at all as the first argument are left to the top level.
pub fn with_subcommand(mut args: Vec<OsString>, command: &clap::Command) -> Vec<OsString> {
    let Some(first) = args.get(1) else {
        return args;
    };
    if ["-h", "--help", "-V", "--version"]
        .iter()
        .any(|f| first == *f)
    {
        return args;
    }
    let Some(sync) = command.find_subcommand(DEFAULT_SUBCOMMAND) else {
        return args;
    };
    let takes_value = |arg: &clap::Arg| arg.get_action().takes_values();
    let mut i = 1;
    let mut after_option = false;
    // The word after an option that takes one is its value, unless it is `--`.
    let value_follows = |args: &[OsString], i: usize| args.get(i + 1).is_some_and(|w| w != "--");
    while let Some(word) = args.get(i) {
        let Some(text) = word.to_str() else { break };
        if text == "--" {
            break;
        }
        if let Some(long) = text.strip_prefix("--") {
            let needs_next = !long.contains('=')
                && sync
                    .get_arguments()
                    .any(|a| a.get_long() == Some(long) && takes_value(a));
            if needs_next && !value_follows(&args, i) {
                break;
            }
            after_option = true;
            i += if needs_next { 2 } else { 1 };
            continue;
        }
        if let Some(shorts) = text.strip_prefix('-').filter(|s| !s.is_empty()) {
            // `-vq`, `-ojson`, `-o json`: a short that takes a value ends the cluster.
            let mut needs_next = false;
            for (at, c) in shorts.char_indices() {
                if sync
                    .get_arguments()
                    .any(|a| a.get_short() == Some(c) && takes_value(a))
                {
                    needs_next = at + c.len_utf8() == shorts.len();
                    break;
                }
            }
            if needs_next && !value_follows(&args, i) {
                break;
            }
            after_option = true;
            i += if needs_next { 2 } else { 1 };
            continue;
        }
        let is_subcommand = (text == "help"
            || command
                .get_subcommands()
                .any(|s| s.get_name() == text || s.get_all_aliases().any(|a| a == text)))
            && (text == DEFAULT_SUBCOMMAND || !after_option);
        if is_subcommand {
            let name = args.remove(i);
            args.insert(1, name);
            return args;
        }
        break;
    }
    args.insert(1, OsString::from(DEFAULT_SUBCOMMAND));
    args
}

/// Arguments of a sync.
#[derive(Debug, Args)]
pub struct SyncArgs {
    /// MCP server ids to sync (1 to 32 of a-z, 0-9, _ in words joined by single -).
    #[arg(value_name = "SERVER_ID", required = true)]
    pub server_ids: Vec<String>,

    /// The Cloudflare account the servers belong to (required).
    #[arg(long, value_name = "ID", env = ENV_ACCOUNT_ID, hide_env_values = true)]
    pub account_id: Option<String>,

    /// Output format [default: text on a terminal, json otherwise].
    #[arg(short, long, value_enum, value_name = "FORMAT")]
    pub output: Option<Output>,

    /// Also append a Markdown summary table to FILE (e.g. "$GITHUB_STEP_SUMMARY").
    ///
    /// The records on stdout are unchanged. On GitHub Actions (GITHUB_ACTIONS=true), each
    /// server that failed or is not ready is also an annotation on stderr.
    #[arg(long, value_name = "FILE", value_parser = clap::builder::NonEmptyStringValueParser::new())]
    pub summary: Option<String>,

    /// The API base URL (the help text names the default).
    #[arg(
        long,
        value_name = "URL",
        env = cloudflare_mcp_sync::ENV_BASE_URL,
        hide_env_values = true,
        help = "API base URL [default: https://api.cloudflare.com/client/v4]"
    )]
    pub base_url: Option<String>,

    /// Sync against the embedded mock on 127.0.0.1 instead of Cloudflare (no credentials
    /// are used or needed; not with --base-url or CLOUDFLARE_BASE_URL). Ids starting with
    /// `waiting`, `stale` or `error` get that status; all others are ready.
    #[arg(long)]
    pub mock: bool,

    /// Time allowed for each server, retries included (e.g. 30, 30s, 500ms, 2m).
    #[arg(long, value_name = "DURATION", default_value = DEFAULT_TIMEOUT, value_parser = parse_duration)]
    pub timeout: Duration,

    /// Retries after a failed attempt (connection failures, timeouts, 429, 5xx).
    ///
    /// With several ids, one still rate limited after them is tried again up to N more
    /// rounds, within its --timeout; 0 sends one request per id.
    #[arg(long, value_name = "N", default_value_t = cloudflare_mcp_sync::DEFAULT_MAX_RETRIES, value_parser = clap::value_parser!(u32).range(0..=10))]
    pub retries: u32,

    /// Syncs in flight at once when several ids are given.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_CONCURRENCY, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,

    /// More logs on stderr (-v info, -vv debug, -vvv trace).
    #[arg(short, long, action = ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,

    /// Fewer messages on stderr: no notes or progress bar (-qq: no error lines either).
    #[arg(short, long, action = ArgAction::Count)]
    pub quiet: u8,
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// One line per server: id, status, cause.
    Text,
    /// One JSON object per server, one per line (JSON Lines).
    Json,
}

/// A duration: a number of seconds, or a number with `ms`, `s`, `m` or `h`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration (e.g. 30, 30s, 500ms, 2m)"))?;
    let seconds = match unit.trim() {
        "" | "s" => value,
        "ms" => value / 1000.0,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        other => return Err(format!("unknown unit {other:?} (use ms, s, m or h)")),
    };
    if !(seconds > 0.0 && seconds <= 86_400.0) {
        return Err(format!(
            "{text:?} is out of range (more than 0, at most 24 h)"
        ));
    }
    // Below a millisecond no request can be answered; saying so beats a timeout
    // reported as "0ms".
    if seconds < 0.001 {
        return Err(format!(
            "{text:?} is shorter than 1ms, too short for any request"
        ));
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// The value of an option that may come from a variable, checked the way the library
/// checks its own variables: a variable that is set but blank is a mistake (a CI secret
/// that did not arrive), never "unset". `lookup` reads the environment.
pub fn checked_value(
    value: Option<String>,
    flag: &str,
    var: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<Option<String>, String> {
    match value {
        Some(v) if v.trim().is_empty() => match lookup(var) {
            Some(env) if env == v => Err(format!("{var} is set but empty; set it, or unset it")),
            _ => Err(format!("{flag} must not be empty")),
        },
        Some(v) => Ok(Some(v)),
        // clap may treat an empty variable as absent: look at it directly.
        None => match lookup(var) {
            Some(env) if env.trim().is_empty() => {
                Err(format!("{var} is set but empty; set it, or unset it"))
            }
            _ => Ok(None),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    /// `args` after the program's name, made explicit.
    fn explicit(args: &[&str]) -> Vec<String> {
        let mut argv = vec![OsString::from("cf-mcp-sync")];
        argv.extend(args.iter().map(OsString::from));
        with_subcommand(argv, &Cli::command())
            .into_iter()
            .skip(1)
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }

    /// The sync arguments `args` parse to.
    fn parse(args: &[&str]) -> Result<SyncArgs, String> {
        let mut argv = vec![OsString::from("cf-mcp-sync")];
        argv.extend(args.iter().map(OsString::from));
        match Cli::try_parse_from(with_subcommand(argv, &Cli::command())) {
            Ok(Cli {
                command: Command::Sync(sync),
            }) => Ok(sync),
            Ok(other) => Err(format!("{other:?}")),
            Err(e) => Err(e.to_string()),
        }
    }

    #[test]
    fn the_bare_form_is_sync_and_the_first_word_names_the_subcommand() {
        for (args, expected) in [
            (vec!["a", "b"], vec!["sync", "a", "b"]),
            (vec!["sync", "a"], vec!["sync", "a"]),
            (vec!["completions", "bash"], vec!["completions", "bash"]),
            // Options before the subcommand's name: it is still the subcommand.
            (vec!["--mock", "sync", "a"], vec!["sync", "--mock", "a"]),
            (
                vec!["--account-id", "sync", "-o", "json", "-vq", "sync", "a"],
                vec!["sync", "--account-id", "sync", "-o", "json", "-vq", "a"],
            ),
            (vec!["-ojson", "sync", "a"], vec!["sync", "-ojson", "a"]),
            (
                vec!["--timeout=5s", "sync", "a"],
                vec!["sync", "--timeout=5s", "a"],
            ),
            // Only the first word counts: a later `sync` is an id, as it always was.
            (vec!["a", "sync"], vec!["sync", "a", "sync"]),
            // After `--` every word is an id.
            (vec!["--", "sync"], vec!["sync", "--", "sync"]),
            (
                vec!["--mock", "--", "completions"],
                vec!["sync", "--mock", "--", "completions"],
            ),
            (vec!["--mock"], vec!["sync", "--mock"]),
            // Found by attack: the options are sync's, so `help` or `completions` after
            // one is an id (clap said "unrecognized subcommand '--mock'"); and `--` is
            // never an option's value (clap refuses it there too).
            (vec!["--mock", "help"], vec!["sync", "--mock", "help"]),
            (
                vec!["-o", "json", "completions", "bash"],
                vec!["sync", "-o", "json", "completions", "bash"],
            ),
            (
                vec!["--account-id", "--", "completions", "bash"],
                vec!["sync", "--account-id", "--", "completions", "bash"],
            ),
            (
                vec!["-o", "--", "completions"],
                vec!["sync", "-o", "--", "completions"],
            ),
            (vec!["--help"], vec!["--help"]),
            (vec!["-V"], vec!["-V"]),
            (vec!["help", "sync"], vec!["help", "sync"]),
            (vec![], vec![]),
        ] {
            assert_eq!(explicit(&args), expected, "{args:?}");
        }
    }

    #[test]
    fn ids_named_like_subcommands_need_the_sync_form_or_a_double_dash() {
        let ids = |args: &[&str]| parse(args).map(|s| s.server_ids);
        let both = vec!["sync".to_string(), "completions".to_string()];
        assert_eq!(ids(&["--", "sync", "completions"]), Ok(both.clone()));
        assert_eq!(
            ids(&["sync", "--", "sync", "completions"]),
            Ok(both.clone())
        );
        assert_eq!(ids(&["sync", "sync", "completions"]), Ok(both));
        assert_eq!(ids(&["--mock", "sync", "x"]), Ok(vec!["x".to_string()]));
        assert!(ids(&["sync"]).is_err_and(|e| e.contains("<SERVER_ID>")));
        // Options after the ids, in either form.
        let late = parse(&["sync", "a", "--retries", "0", "-q"]);
        assert!(
            matches!(&late, Ok(s) if s.retries == 0 && s.quiet == 1),
            "{late:?}"
        );
        let bare = parse(&["a", "--retries", "0", "-q"]);
        assert!(
            matches!(&bare, Ok(s) if s.retries == 0 && s.quiet == 1),
            "{bare:?}"
        );
    }

    #[test]
    fn the_defaults_are_the_librarys() {
        assert_eq!(
            parse_duration(DEFAULT_TIMEOUT),
            Ok(cloudflare_mcp_sync::DEFAULT_TOTAL_TIMEOUT)
        );
        assert_eq!(
            usize::from(DEFAULT_CONCURRENCY),
            cloudflare_mcp_sync::DEFAULT_CONCURRENCY
        );
        let sync = parse(&["server-a"]);
        assert!(
            matches!(&sync, Ok(s) if s.timeout == cloudflare_mcp_sync::DEFAULT_TOTAL_TIMEOUT
                && s.retries == cloudflare_mcp_sync::DEFAULT_MAX_RETRIES
                && s.concurrency == DEFAULT_CONCURRENCY),
            "{sync:?}"
        );
    }

    #[test]
    fn durations_take_seconds_or_units() {
        for (text, ms) in [
            ("30", 30_000),
            ("30s", 30_000),
            ("1.5", 1_500),
            ("500ms", 500),
            ("2m", 120_000),
            ("1h", 3_600_000),
            (" 5 s ", 5_000),
        ] {
            assert_eq!(
                parse_duration(text),
                Ok(Duration::from_millis(ms)),
                "{text}"
            );
        }
        for bad in ["", "s", "0", "-1", "1d", "NaN", "inf", "25h", "1e3", "1..2"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
        for short in ["0.5ms", "0.0001", "0.9ms"] {
            let err = parse_duration(short).unwrap_err();
            assert!(err.contains("shorter than 1ms"), "{short}: {err}");
        }
        assert_eq!(parse_duration("1ms"), Ok(Duration::from_millis(1)));
        assert!(parse_duration("24h").is_ok());
    }

    #[test]
    fn blank_values_name_where_they_came_from() {
        let none = |_: &str| None;
        let blank = |_: &str| Some(" ".to_string());
        assert_eq!(checked_value(None, "--x", "X", none), Ok(None));
        assert_eq!(
            checked_value(Some("v".into()), "--x", "X", blank),
            Ok(Some("v".into()))
        );
        assert!(
            checked_value(None, "--x", "X", blank)
                .unwrap_err()
                .starts_with("X is set")
        );
        assert!(
            checked_value(Some(" ".into()), "--x", "X", blank)
                .unwrap_err()
                .starts_with("X is set")
        );
        assert!(
            checked_value(Some("".into()), "--x", "X", none)
                .unwrap_err()
                .starts_with("--x must not")
        );
        // A blank flag beside a variable that holds something is the flag's fault.
        let set = |_: &str| Some("value".to_string());
        assert!(
            checked_value(Some(" ".into()), "--x", "X", set)
                .unwrap_err()
                .starts_with("--x must not")
        );
        assert_eq!(checked_value(None, "--x", "X", set), Ok(None));
    }
}
