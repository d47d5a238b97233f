//! The command's own surface, run as a user runs it (snapbox, with an environment the
//! test sets entirely): `--help` and `--version`, shell completions, the embedded mock
//! behind every outcome, JSON Lines and text, notes and logs on stderr, and what a
//! terminal gets (run under `script`, which gives the command a pseudo-terminal).
//! Runs against servers that misbehave are in `tests/main_job.rs` and `tests/hostile.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly

use std::time::Duration;

use snapbox::cmd::Command;
use snapbox::{file, str};

const ACCOUNT: &str = "023e105f4ecef8ad9ca31a8372d0c353";

/// The command with nothing from the test's environment but `PATH`: no credential, no
/// proxy, no `RUST_LOG`, no `CLOUDFLARE_ACCOUNT_ID`.
fn cmd() -> Command {
    let mut cmd = Command::new(snapbox::cmd::cargo_bin!("cf-mcp-sync"))
        .env_clear()
        .timeout(Duration::from_secs(60));
    if let Some(path) = std::env::var_os("PATH") {
        cmd = cmd.env("PATH", path);
    }
    cmd
}

/// A base URL on 127.0.0.1 where nothing listens, and nothing can start to: the port is
/// the local end of a connection kept open until the process exits (a port bound and
/// released could be given to another test's listener).
fn closed_port_base() -> String {
    use std::net::{TcpListener, TcpStream};
    static HELD: std::sync::Mutex<Vec<(TcpStream, TcpStream)>> = std::sync::Mutex::new(Vec::new());
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server, _) = listener.accept().unwrap();
    let port = client.local_addr().unwrap().port();
    HELD.lock()
        .unwrap_or_else(|e| e.into_inner())
        .push((client, server));
    format!("http://127.0.0.1:{port}/client/v4")
}

#[test]
fn help_documents_arguments_environment_output_and_exit_codes() {
    cmd()
        .arg("--help")
        .assert()
        .success()
        .stdout_eq(file!["snapshots/help.txt"])
        .stderr_eq(str![""]);
}

#[test]
fn short_help_points_at_the_long_one() {
    cmd()
        .arg("-h")
        .assert()
        .success()
        .stdout_eq(file!["snapshots/short-help.txt"]);
}

#[test]
fn sync_help_documents_options_environment_output_and_exit_codes() {
    cmd()
        .args(["sync", "--help"])
        .assert()
        .success()
        .stdout_eq(file!["snapshots/sync-help.txt"])
        .stderr_eq(str![""]);
    cmd()
        .args(["sync", "-h"])
        .assert()
        .success()
        .stdout_eq(file!["snapshots/sync-short-help.txt"]);
    // `help sync` is clap's spelling of the same page.
    let long = cmd().args(["help", "sync"]).output().unwrap();
    let sync = cmd().args(["sync", "--help"]).output().unwrap();
    assert_eq!(long.stdout, sync.stdout);
}

#[test]
fn no_argument_at_all_shows_the_subcommands_and_exits_2() {
    let out = cmd().output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("Commands:\n  sync ") && stderr.contains("completions"),
        "{stderr}"
    );
}

/// Runs the command over `args` (after the program's name) and returns its exit code,
/// stdout and stderr.
fn outcome(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String, String) {
    let mut command = cmd().args(args);
    for (k, v) in env {
        command = command.env(k, v);
    }
    let out = command.output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The stderr of a mock run without the mock's address (a new port every run).
fn without_port(stderr: &str) -> String {
    stderr
        .lines()
        .map(|l| match l.find("http://127.0.0.1:") {
            Some(at) => format!("{}http://127.0.0.1:PORT", &l[..at]),
            None => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The bare form is an alias of `sync`: for every outcome (ready, not ready, usage
/// errors of clap's and of the command's own, text and JSON) both print the same on
/// stdout and stderr and exit with the same code.
#[test]
fn the_bare_form_and_sync_print_the_same_and_exit_the_same() {
    let token = [("CLOUDFLARE_API_TOKEN", "a-token-that-is-long-enough-0123")];
    for (args, env, code) in [
        (
            &["a", "waiting-b", "--account-id", ACCOUNT, "--mock"][..],
            &[][..],
            3,
        ),
        (
            &["ready-one", "--account-id", ACCOUNT, "--mock", "-o", "text"],
            &[],
            0,
        ),
        (
            &["error-x", "stale-y", "--mock", "-q"],
            &[("CLOUDFLARE_ACCOUNT_ID", ACCOUNT)],
            3,
        ),
        (&["--mock", "a"], &[], 2),
        (&["--account-id", ACCOUNT, "--mock"], &[], 2),
        (&["Bad_Id", "--account-id", ACCOUNT, "--mock"], &[], 2),
        (
            &[
                "a",
                "--account-id",
                ACCOUNT,
                "--mock",
                "--base-url",
                "http://127.0.0.1:9",
            ],
            &[],
            2,
        ),
        (&["a", "--account-id", ACCOUNT, "--timeout", "0"], &token, 2),
        (&["a", "--account-id", ACCOUNT, "--no-such-flag"], &token, 2),
        (&["a", "--account-id", ACCOUNT], &[], 2),
    ] {
        let bare = outcome(args, env);
        let mut explicit = vec!["sync"];
        explicit.extend_from_slice(args);
        let sync = outcome(&explicit, env);
        assert_eq!(bare.0, Some(code), "{args:?}: {}", bare.2);
        assert_eq!(bare.0, sync.0, "{args:?}");
        assert_eq!(bare.1, sync.1, "{args:?}");
        assert_eq!(without_port(&bare.2), without_port(&sync.2), "{args:?}");
    }
}

/// Options may come before the subcommand's name, between the ids, or after them.
#[test]
fn options_go_before_or_after_the_subcommand() {
    let expected = outcome(&["sync", "a", "--account-id", ACCOUNT, "--mock", "-q"], &[]);
    assert_eq!(expected.0, Some(0), "{}", expected.2);
    for args in [
        &["--account-id", ACCOUNT, "--mock", "-q", "sync", "a"][..],
        &["--mock", "sync", "--account-id", ACCOUNT, "a", "-q"],
        &["-q", "--account-id", ACCOUNT, "--mock", "a"],
        &["sync", "-q", "--mock", "--account-id", ACCOUNT, "--", "a"],
    ] {
        assert_eq!(outcome(args, &[]), expected, "{args:?}");
    }
}

/// A server named like a subcommand: `--` makes every word after it an id; the first
/// word names the subcommand; later words are ids, as they always were.
#[test]
fn ids_named_like_subcommands_come_after_a_double_dash() {
    let ids = |stdout: &str| -> Vec<String> {
        stdout
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["server_id"].to_string())
            .collect()
    };
    let quoted = |names: &[&str]| names.iter().map(|n| format!("{n:?}")).collect::<Vec<_>>();
    let base = ["--account-id", ACCOUNT, "--mock", "-q"];
    for (before, after, expected) in [
        (
            &["--"][..],
            &["sync", "completions"][..],
            &["sync", "completions"][..],
        ),
        (
            &["sync", "--"],
            &["sync", "completions", "help"],
            &["sync", "completions", "help"],
        ),
        (
            &["sync"],
            &["sync", "completions"],
            &["sync", "completions"],
        ),
        (
            &["a"],
            &["sync", "completions"],
            &["a", "sync", "completions"],
        ),
    ] {
        // The options first, then `before` and `after`.
        let mut args = base.to_vec();
        args.extend_from_slice(before);
        args.extend_from_slice(after);
        let (code, stdout, stderr) = outcome(&args, &[]);
        assert_eq!(code, Some(0), "{args:?}: {stderr}");
        assert_eq!(ids(&stdout), quoted(expected), "{args:?}");
    }
    // Without `--`, a first word `completions` is the subcommand.
    let (code, _, stderr) = outcome(&["completions", "--mock"], &[]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("unexpected argument '--mock'"), "{stderr}");
}

#[test]
fn version_is_the_crate_name_and_a_plain_release_version() {
    cmd()
        .arg("--version")
        .assert()
        .success()
        .stdout_eq(format!("cf-mcp-sync {}\n", env!("CARGO_PKG_VERSION")));
    // Exactly `major.minor.patch`: the release tag is `v` + this, and the GitHub
    // Action compares the installed program's `--version` with it.
    let parts: Vec<&str> = env!("CARGO_PKG_VERSION").split('.').collect();
    assert_eq!(parts.len(), 3, "{}", env!("CARGO_PKG_VERSION"));
    assert!(
        parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())),
        "{}",
        env!("CARGO_PKG_VERSION")
    );
}

#[test]
fn completions_are_printed_for_every_shell_clap_knows() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = cmd()
            .args(["completions", shell])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let script = String::from_utf8(out).unwrap();
        for word in ["cf-mcp-sync", "account-id", "output", "concurrency"] {
            assert!(script.contains(word), "{shell}: no {word}");
        }
    }
}

#[test]
fn the_bash_completion_script_is_valid_bash() {
    let out = cmd().args(["completions", "bash"]).output().unwrap();
    let dir = std::env::temp_dir().join(format!("cf-mcp-sync-completion-{}", std::process::id()));
    std::fs::write(&dir, &out.stdout).unwrap();
    let check = std::process::Command::new("bash")
        .arg("-n")
        .arg(&dir)
        .output()
        .unwrap();
    std::fs::remove_file(&dir).unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
}

#[test]
fn an_unknown_shell_is_a_usage_error() {
    cmd()
        .args(["completions", "tcsh"])
        .assert()
        .code(2)
        .stdout_eq(str![""])
        .stderr_eq(str![[r#"
error: invalid value 'tcsh' for '<SHELL>'
  [possible values: bash, elvish, fish, powershell, zsh]

  tip: a similar value exists: 'zsh'

For more information, try '--help'.

"#]]);
}

#[test]
fn mock_ready_is_one_json_record_and_exit_0() {
    cmd()
        .args(["my-mcp-server", "--account-id", ACCOUNT, "--mock"])
        .assert()
        .code(0)
        .stdout_eq(str![[r#"
{"server_id":"my-mcp-server","mock":true,"outcome":"ready","report":{"status":"ready","ready":true,"failure":null,"messages":[],"http_status":200,"ray_id":"0000000000000000-MOCK","attempts":1,"rate_limit":{"remaining":1199,"reset_secs":300,"limit":1200,"window_secs":300},"result":{"status":"ready"}},"error":null}

"#]])
        .stderr_eq(str![[r#"
note: syncing against the embedded mock at http://127.0.0.1:[..]/client/v4

"#]]);
}

#[test]
fn several_ids_are_json_lines_in_input_order_and_not_ready_exits_3() {
    let run = cmd()
        .args(["ready-one", "waiting-two", "error-three", "stale-four"])
        .args(["--account-id", ACCOUNT, "--mock", "-q"])
        .assert()
        .code(3)
        .stderr_eq(str![""]);
    let stdout = String::from_utf8(run.get_output().stdout.clone()).unwrap();
    let records: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let got: Vec<(&str, &str, &str)> = records
        .iter()
        .map(|r| {
            (
                r["server_id"].as_str().unwrap(),
                r["outcome"].as_str().unwrap(),
                r["report"]["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("ready-one", "ready", "ready"),
            ("waiting-two", "not_ready", "waiting"),
            ("error-three", "not_ready", "error"),
            ("stale-four", "not_ready", "stale"),
        ]
    );
    let failure = &records[2]["report"]["failure"];
    assert_eq!(failure["retryable"], true);
    assert_eq!(failure["status_code"], 502);
}

#[test]
fn text_output_is_one_aligned_line_per_server_with_the_cause() {
    cmd()
        .args(["a", "error-b", "waiting-long-name", "--account-id", ACCOUNT])
        .args(["--mock", "--output", "text", "-q"])
        .assert()
        .code(3)
        .stdout_eq(str![[r#"
a                  ready
error-b            error    MCP server returned an error: initialize: connection refused (mock) (the MCP server was unreachable, http 502, retryable)
waiting-long-name  waiting

"#]]);
}

#[test]
fn a_set_but_empty_token_is_an_error_not_the_mock() {
    cmd()
        .args(["my-mcp-server", "--account-id", ACCOUNT])
        .env("CLOUDFLARE_API_TOKEN", "")
        .assert()
        .code(2)
        .stdout_eq(str![""])
        .stderr_eq(str![[r#"
error: configuration error: CLOUDFLARE_API_TOKEN is set but empty; set it to the secret, or unset it

"#]]);
}

#[test]
fn a_missing_account_id_is_a_usage_error_with_the_usage_line() {
    cmd()
        .arg("my-mcp-server")
        .assert()
        .code(2)
        .stdout_eq(str![""])
        .stderr_eq(str![[r#"
error: missing --account-id (or set CLOUDFLARE_ACCOUNT_ID)

Usage: cf-mcp-sync sync [OPTIONS] <SERVER_ID>...

For more information, try '--help'.

"#]]);
}

#[test]
fn no_server_id_is_a_usage_error() {
    cmd()
        .args(["--account-id", ACCOUNT])
        .assert()
        .code(2)
        .stdout_eq(str![""])
        .stderr_eq(str![[r#"
error: the following required arguments were not provided:
  <SERVER_ID>...

Usage: cf-mcp-sync sync --account-id <ID> <SERVER_ID>...

For more information, try '--help'.

"#]]);
}

#[test]
fn a_bad_id_among_several_stops_the_run_before_any_request() {
    cmd()
        .args([
            "good",
            "Bad",
            "also-good",
            "no/slash",
            "--account-id",
            ACCOUNT,
            "--mock",
        ])
        .assert()
        .code(2)
        .stdout_eq(str![""])
        .stderr_eq(str![[r#"
error: invalid server id "Bad": [..]
error: invalid server id "no/slash": [..]

"#]]);
}

#[test]
fn verbose_shows_the_library_s_logs_and_quiet_hides_notes() {
    let verbose = cmd()
        .args(["my-mcp-server", "--account-id", ACCOUNT, "--mock", "-vv"])
        .assert()
        .code(0);
    let stderr = String::from_utf8_lossy(&verbose.get_output().stderr).into_owned();
    assert!(stderr.contains("DEBUG"), "{stderr}");
    assert!(stderr.contains("cloudflare_mcp_sync"), "{stderr}");
    assert!(!stderr.contains("mock-token"), "{stderr}");
    cmd()
        .args(["my-mcp-server", "--account-id", ACCOUNT, "--mock", "-q"])
        .assert()
        .code(0)
        .stderr_eq(str![""]);
}

#[test]
fn a_bad_rust_log_is_a_warning_not_a_failure() {
    cmd()
        .args(["my-mcp-server", "--account-id", ACCOUNT, "--mock", "-q"])
        .env("RUST_LOG", "cloudflare_mcp_sync=loud")
        .assert()
        .code(0)
        .stderr_eq(str![[r#"
warning: RUST_LOG is not a valid filter ([..]); using "error"

"#]]);
}

#[test]
fn quiet_twice_silences_error_lines_but_not_the_exit_code() {
    cmd()
        .args(["my-mcp-server", "--account-id", ACCOUNT, "--retries", "0", "-qq"])
        .args(["--base-url", &closed_port_base()])
        .env("CLOUDFLARE_API_TOKEN", "a-token-that-must-not-show")
        .assert()
        .code(1)
        .stdout_eq(str![[r#"
{"server_id":"my-mcp-server","mock":false,"outcome":"failed","report":null,"error":{"kind":"connect","message":"connection failed: [..]","http_status":null,"ray_id":null,"attempts":1,"retryable":true,"retry_after_ms":null,"cloudflare_errors":[]}}

"#]])
        .stderr_eq(str![""]);
}

/// Runs the command under `script`, so that its stdin, stdout and stderr are a
/// pseudo-terminal; returns what the terminal showed.
fn on_a_terminal(args: &str) -> (i32, String) {
    let bin = snapbox::cmd::cargo_bin!("cf-mcp-sync");
    let out = std::process::Command::new("script")
        .args(["--quiet", "--return", "--command"])
        .arg(format!("{} {args}", bin.display()))
        .arg("/dev/null")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("TERM", "xterm")
        .output()
        .expect("script (util-linux) runs the command on a pseudo-terminal");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n"),
    )
}

#[test]
fn on_a_terminal_the_default_output_is_text() {
    let (code, shown) = on_a_terminal(&format!("my-mcp-server --account-id {ACCOUNT} --mock -q"));
    assert_eq!(code, 0, "{shown}");
    assert_eq!(shown, "my-mcp-server  ready\n");
}

#[test]
fn on_a_terminal_several_ids_draw_a_progress_bar_that_is_cleared() {
    let ids: Vec<String> = (0..40).map(|i| format!("server-{i}")).collect();
    let (code, shown) = on_a_terminal(&format!(
        "{} --account-id {ACCOUNT} --mock --concurrency 2",
        ids.join(" ")
    ));
    assert_eq!(code, 0, "{shown}");
    // The bar drew "<n>/40 done" at least once, then cleared its line (ESC[2K) before
    // the results were printed.
    assert!(shown.contains("/40 done"), "{shown:?}");
    assert!(shown.contains("\u{1b}[2K"), "{shown:?}");
    assert!(shown.contains("server-39  ready\n"), "{shown:?}");
}

#[test]
fn a_reader_that_went_away_is_not_a_crash() {
    // The pipe's read end is closed before the command starts, so every write to
    // stdout fails with EPIPE: the command must neither panic nor call it a failure.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = std::process::Command::new(snapbox::cmd::cargo_bin!("cf-mcp-sync"))
        .args([
            "a",
            "b",
            "waiting-c",
            "--account-id",
            ACCOUNT,
            "--mock",
            "-q",
        ])
        .env_clear()
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.is_empty(), "{stderr}");
    // The exit code still says how the syncs went.
    assert_eq!(out.status.code(), Some(3));
}

#[test]
fn a_closed_stderr_is_not_a_crash_and_every_record_reaches_stdout() {
    // stderr is a pipe whose read end is closed before the command starts: every note,
    // error line and log line fails with EPIPE. eprintln! (and tracing-subscriber's own
    // report of a failed write) would panic with exit 101 and cut stdout short.
    let closed = closed_port_base();
    /// (arguments, environment, exit code, records)
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], i32, usize);
    let cases: [Case<'_>; 3] = [
        // A note, then debug logs from the library and the command.
        (&["a", "b", "waiting-c", "--mock", "-vv"], &[], 3, 3),
        // A warning about RUST_LOG, then a note.
        (
            &["a", "b", "--mock"],
            &[("RUST_LOG", "cloudflare_mcp_sync=loud")],
            0,
            2,
        ),
        // Failed requests: one error line per id, and retry logs at -v.
        (
            &["a", "b", "--retries", "1", "-v", "--base-url", &closed],
            &[("CLOUDFLARE_API_TOKEN", "a-token-that-must-not-show")],
            1,
            2,
        ),
    ];
    for (i, (args, env, code, records)) in cases.into_iter().enumerate() {
        let path = std::env::temp_dir().join(format!(
            "cf-mcp-sync-closed-stderr-{}-{i}.jsonl",
            std::process::id()
        ));
        let file = std::fs::File::create(&path).unwrap();
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let status = std::process::Command::new(snapbox::cmd::cargo_bin!("cf-mcp-sync"))
            .args(args)
            .args(["--account-id", ACCOUNT])
            .env_clear()
            .envs(env.iter().copied())
            .stdout(file)
            .stderr(writer)
            .status()
            .unwrap();
        let stdout = std::fs::read_to_string(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(status.code(), Some(code), "{args:?}: {stdout}");
        let got: Vec<serde_json::Value> = stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(got.len(), records, "{args:?}: {stdout}");
        assert!(!stdout.contains("a-token-that-must-not-show"));
    }
    // And a stdout that went away under `completions` (clap_complete would panic).
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = std::process::Command::new(snapbox::cmd::cargo_bin!("cf-mcp-sync"))
        .args(["completions", "bash"])
        .env_clear()
        .stdout(writer)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A server on 127.0.0.1 that reads each request head, then does `then` with the
/// connection (one thread per connection, alive until the test process ends).
fn server(then: fn(std::net::TcpStream)) -> String {
    use std::io::Read;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}/client/v4", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
                    head.push(byte[0]);
                }
                then(stream);
            });
        }
    });
    base
}

/// `-qq` silences every error line: a usage error's and a pipeline's annotations too
/// (cargo-mutants: `quiet < 2` could become `<= 2` at either place unseen).
#[test]
fn quiet_twice_silences_usage_errors_and_annotations() {
    cmd()
        .args(["Not A Valid Id", "--account-id", ACCOUNT, "--mock", "-qq"])
        .assert()
        .code(2)
        .stderr_eq(str![""]);
    one_sync(&closed_port_base())
        .arg("-qq")
        .env("GITHUB_ACTIONS", "true")
        .assert()
        .code(1)
        .stderr_eq(str![""]);
    // Without -qq, the same run annotates: the silence above is -qq's.
    let out = one_sync(&closed_port_base())
        .env("GITHUB_ACTIONS", "true")
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("::error"),
        "{out:?}"
    );
}

/// One sync against `base`, with a token and no retries.
fn one_sync(base: &str) -> Command {
    cmd()
        .args(["my-mcp-server", "--account-id", ACCOUNT, "--retries", "0"])
        .args(["--base-url", base])
        .env("CLOUDFLARE_API_TOKEN", "t")
}

/// Runs [`one_sync`] quietly; returns (exit, record).
fn failed_record(base: &str, extra: &[&str]) -> (i32, serde_json::Value) {
    let out = one_sync(base).arg("-qq").args(extra).output().unwrap();
    let record = serde_json::from_slice(&out.stdout).unwrap();
    (out.status.code().unwrap_or(-1), record)
}

#[test]
fn timeouts_cut_connections_and_oversized_bodies_have_their_kinds() {
    // Never answers: the per-server timeout ends it.
    let silent = server(|stream| {
        std::thread::park();
        drop(stream);
    });
    let (code, record) = failed_record(&silent, &["--timeout", "300ms"]);
    assert_eq!(code, 1);
    assert_eq!(record["error"]["kind"], "timeout", "{record}");
    // Closes without a byte of answer.
    let closing = server(drop);
    let (code, record) = failed_record(&closing, &[]);
    assert_eq!(code, 1);
    assert_eq!(record["error"]["kind"], "transport", "{record}");
    // Announces 5 MiB: over the 4 MiB cap.
    let huge = server(|mut stream| {
        use std::io::Write;
        let _ = stream.write_all(
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 5242880\r\n\r\n",
        );
        let _ = stream.write_all(&vec![b' '; 5 * 1024 * 1024]);
    });
    let (code, record) = failed_record(&huge, &[]);
    assert_eq!(code, 1);
    assert_eq!(record["error"]["kind"], "body_too_large", "{record}");
}

#[test]
fn off_a_terminal_several_ids_draw_no_progress_bar() {
    cmd()
        .args(["a", "b", "c", "--account-id", ACCOUNT, "--mock"])
        .assert()
        .code(0)
        .stderr_eq(str![[r#"
note: syncing against the embedded mock at http://127.0.0.1:[..]/client/v4

"#]]);
}

#[test]
fn on_a_terminal_the_bar_is_left_out_for_one_id_and_for_quiet_or_verbose_runs() {
    let ids: Vec<String> = (0..20).map(|i| format!("server-{i}")).collect();
    let several = ids.join(" ");
    for args in [
        format!("server-0 --account-id {ACCOUNT} --mock"),
        format!("{several} --account-id {ACCOUNT} --mock -q"),
        format!("{several} --account-id {ACCOUNT} --mock -v"),
    ] {
        let (code, shown) = on_a_terminal(&args);
        assert_eq!(code, 0, "{args}: {shown}");
        assert!(!shown.contains(" done"), "{args}: {shown:?}");
    }
}

#[test]
fn each_verbosity_shows_its_level_and_no_more() {
    let closed = closed_port_base();
    let run = |flags: &[&str], rust_log: Option<&str>| {
        let mut c = cmd()
            .args(["my-mcp-server", "--account-id", ACCOUNT, "--retries", "1"])
            .args(["--base-url", &closed])
            .args(flags)
            .env("CLOUDFLARE_API_TOKEN", "a-secret-token");
        if let Some(v) = rust_log {
            c = c.env("RUST_LOG", v);
        }
        let out = c.output().unwrap();
        assert_eq!(out.status.code(), Some(1));
        String::from_utf8(out.stderr).unwrap()
    };
    let default = run(&[], None);
    assert!(
        !default.contains(" INFO ") && !default.contains("DEBUG"),
        "{default}"
    );
    let info = run(&["-v"], None);
    assert!(
        info.contains(" INFO ") && info.contains("retrying"),
        "{info}"
    );
    assert!(!info.contains("DEBUG"), "{info}");
    let debug = run(&["-vv"], None);
    assert!(
        debug.contains("DEBUG") && !debug.contains("TRACE"),
        "{debug}"
    );
    // A blank RUST_LOG is no filter at all: the flags decide.
    let blank = run(&["-vv"], Some(" "));
    assert!(blank.contains("DEBUG"), "{blank}");
    assert!(!blank.contains("RUST_LOG"), "{blank}");
    for text in [default, info, debug, blank] {
        assert!(!text.contains("a-secret-token"), "{text}");
    }
}

#[test]
fn a_stdout_that_cannot_be_written_is_a_failure_that_says_so() {
    let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") else {
        panic!("/dev/full is needed (Linux)");
    };
    let out = std::process::Command::new(snapbox::cmd::cargo_bin!("cf-mcp-sync"))
        .args(["my-mcp-server", "--account-id", ACCOUNT, "--mock", "-q"])
        .env_clear()
        .stdout(full)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.starts_with("error: cannot write the results"),
        "{stderr}"
    );
}
