//! The main job, `cf-mcp-sync`, run as users run it (a child process, environment set
//! entirely by the test) against local servers: every exit code (0 ready, 3 synced but
//! not ready, 1 the request failed, 2 invalid input or configuration), the JSON record,
//! text lines, several ids at once. Its own surface (help, completions, the embedded
//! mock) is in `crates/cli/tests/cli.rs`; the same against Prism is in `contract.rs`.

use workspace_tests::fault::{FaultServer, Step, json};
use workspace_tests::main_job::{run_sync, run_sync_measured, run_sync_off_runtime, sync_binary};
use workspace_tests::secrets::{self, assert_no_secret};
use workspace_tests::{ACCOUNT, SERVER, ok_body};

const TOKEN: (&str, &str) = ("CLOUDFLARE_API_TOKEN", secrets::TOKEN);

const NOT_READY: &str = r#"{"status":"error","error":"MCP server returned an error","error_details":{"cause":"initialize failed","is_upstream":true}}"#;

#[tokio::test(flavor = "multi_thread")]
async fn synced_but_not_ready_exits_3() {
    let server = FaultServer::start(vec![Step::Raw(json("200 OK", &ok_body(NOT_READY)))]).await;
    let run = run_sync_off_runtime(
        &[SERVER, "--account-id", ACCOUNT, "--base-url", &server.base],
        [TOKEN],
    )
    .await;
    assert_eq!(run.code, Some(3), "{}", run.stderr);
    let record = run.record();
    assert_eq!(record["mock"], false);
    assert_eq!(record["outcome"], "not_ready");
    assert_eq!(record["report"]["failure"]["cause"], "initialize failed");
    assert_eq!(record["error"], serde_json::Value::Null);
    assert_no_secret(&run.stdout);
}

#[test]
fn a_failed_request_exits_1_with_a_record_and_one_line() {
    let closed = workspace_tests::closed_port_base();
    let run = run_sync(
        &[
            SERVER,
            "--account-id",
            ACCOUNT,
            "--base-url",
            &closed,
            "--retries",
            "0",
        ],
        &[TOKEN],
    );
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let record = run.record();
    assert_eq!(record["outcome"], "failed");
    assert_eq!(record["report"], serde_json::Value::Null);
    assert_eq!(record["error"]["kind"], "connect");
    assert_eq!(record["error"]["attempts"], 1);
    assert_eq!(record["error"]["retryable"], true);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(
        run.stderr
            .starts_with(&format!("error: {SERVER}: connection failed")),
        "{}",
        run.stderr
    );
    assert_no_secret(&run.stderr);
    assert_no_secret(&run.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_request_has_its_status_ray_and_cloudflare_errors_in_the_record() {
    let body = r#"{"success":false,"errors":[{"code":7002,"message":"Not Found"}],"messages":[],"result":null}"#;
    let server = FaultServer::start(vec![Step::Raw(json("404 Not Found", body))]).await;
    let run = run_sync_off_runtime(
        &[SERVER, "--account-id", ACCOUNT, "--base-url", &server.base],
        [TOKEN],
    )
    .await;
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let error = &run.record()["error"];
    assert_eq!(error["kind"], "not_found");
    assert_eq!(error["http_status"], 404);
    assert_eq!(error["ray_id"], workspace_tests::RAY);
    assert_eq!(error["cloudflare_errors"][0]["code"], 7002);
    assert_eq!(error["retryable"], false);
}

#[tokio::test(flavor = "multi_thread")]
async fn several_ids_give_one_record_per_id_in_order_and_the_worst_exit_code() {
    // Ready, not ready, then a failure that is not retried: exit 1 (a failed request
    // outweighs a server that is not ready).
    let not_found = r#"{"success":false,"errors":[{"code":7002,"message":"Not Found"}],"messages":[],"result":null}"#;
    let server = FaultServer::start(vec![
        Step::Raw(json("200 OK", &ok_body(r#"{"status":"ready"}"#))),
        Step::Raw(json("200 OK", &ok_body(NOT_READY))),
        Step::Raw(json("404 Not Found", not_found)),
    ])
    .await;
    let run = run_sync_off_runtime(
        &[
            "a",
            "b",
            "c",
            "--account-id",
            ACCOUNT,
            "--base-url",
            &server.base,
            "--concurrency",
            "1",
        ],
        [TOKEN],
    )
    .await;
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let records = run.records();
    let ids: Vec<&str> = records
        .iter()
        .map(|r| r["server_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["a", "b", "c"]);
    let outcomes: Vec<&str> = records
        .iter()
        .map(|r| r["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["ready", "not_ready", "failed"]);
    // The failure is also said on stderr, with its id; no progress bar off a terminal.
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(
        run.stderr.starts_with("error: c: 404 Not Found"),
        "{}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn several_ids_all_answered_but_one_not_ready_exit_3_and_text_shows_the_cause() {
    let server = FaultServer::start(vec![
        Step::Raw(json("200 OK", &ok_body(r#"{"status":"ready"}"#))),
        Step::Raw(json("200 OK", &ok_body(NOT_READY))),
    ])
    .await;
    let run = run_sync_off_runtime(
        &[
            "first",
            "second-one",
            "--account-id",
            ACCOUNT,
            "--base-url",
            &server.base,
            "--concurrency",
            "1",
            "--output",
            "text",
        ],
        [TOKEN],
    )
    .await;
    assert_eq!(run.code, Some(3), "{}", run.stderr);
    assert_eq!(
        run.stdout,
        "first       ready\n\
         second-one  error    MCP server returned an error: initialize failed (the MCP server answered)\n"
    );
    assert!(run.stderr.is_empty(), "{}", run.stderr);
}

#[test]
fn invalid_input_and_configuration_exit_2_before_any_request() {
    /// (arguments, environment, what stderr says)
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);
    let cases: [Case<'_>; 9] = [
        (
            &["Not-Valid", "--account-id", ACCOUNT],
            &[],
            "invalid server id",
        ),
        (
            &["good", "Not-Valid", "--account-id", ACCOUNT],
            &[],
            "invalid server id",
        ),
        (
            &[SERVER, "--account-id", ACCOUNT],
            &[TOKEN, ("CLOUDFLARE_API_KEY", "k")],
            "not both",
        ),
        (&[SERVER], &[], "missing --account-id"),
        (
            &[SERVER],
            &[("CLOUDFLARE_ACCOUNT_ID", " ")],
            "CLOUDFLARE_ACCOUNT_ID is set but empty",
        ),
        (
            &[SERVER, "--account-id", ACCOUNT, "--bogus"],
            &[],
            "unexpected argument '--bogus'",
        ),
        (
            &[SERVER, "--account-id", ACCOUNT, "--timeout", "0"],
            &[],
            "out of range",
        ),
        (
            &[
                SERVER,
                "--account-id",
                ACCOUNT,
                "--mock",
                "--base-url",
                "http://127.0.0.1:9",
            ],
            &[],
            "cannot be used with",
        ),
        (
            &[SERVER, "--account-id", ACCOUNT, "--mock"],
            &[("CLOUDFLARE_BASE_URL", "http://127.0.0.1:9")],
            "--mock cannot be used while CLOUDFLARE_BASE_URL is set",
        ),
        // No credential at all: hostile.rs's no_credential_variable_is_a_configuration_error_not_the_mock.
    ];
    for (args, env, says) in cases {
        let run = run_sync(args, env);
        assert_eq!(run.code, Some(2), "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(says), "{args:?}: {}", run.stderr);
        assert!(run.stdout.is_empty(), "{}", run.stdout);
        assert_no_secret(&run.stderr);
    }
}

#[test]
fn the_account_id_comes_from_its_variable() {
    let run = run_sync(&[SERVER, "--mock"], &[("CLOUDFLARE_ACCOUNT_ID", ACCOUNT)]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.record()["outcome"], "ready");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_interrupted_run_writes_what_finished_and_the_rest_as_not_attempted() {
    for (signal, code, name) in [
        (libc::SIGTERM, 143, "SIGTERM"),
        (libc::SIGINT, 130, "SIGINT"),
    ] {
        // Two ids are answered; every later request stalls (the last step repeats).
        let server = FaultServer::start(vec![
            Step::Raw(json("200 OK", &ok_body(r#"{"status":"ready"}"#))),
            Step::Raw(json("200 OK", &ok_body(NOT_READY))),
            Step::StallThen(
                std::time::Duration::from_secs(24 * 3600),
                json("200 OK", &ok_body(r#"{"status":"ready"}"#)),
            ),
        ])
        .await;
        let args: Vec<String> = [
            "a",
            "b",
            "c",
            "d",
            "e",
            "--account-id",
            ACCOUNT,
            "--base-url",
            &server.base,
            "--concurrency",
            "1",
            "--retries",
            "0",
            "--timeout",
            "24h",
        ]
        .map(String::from)
        .to_vec();
        let env = vec![(TOKEN.0.to_string(), TOKEN.1.to_string())];
        let run = tokio::task::spawn_blocking(move || {
            workspace_tests::main_job::run_sync_interrupted(&args, &env, 2, signal)
        })
        .await
        .unwrap();
        assert_eq!(
            run.code,
            Some(code),
            "{name}: {}\n{}",
            run.stdout,
            run.stderr
        );
        let got: Vec<(String, String)> = run
            .records()
            .iter()
            .map(|r| {
                (
                    r["server_id"].as_str().unwrap().to_string(),
                    r["outcome"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        let expected = [
            ("a", "ready"),
            ("b", "not_ready"),
            ("c", "not_attempted"),
            ("d", "not_attempted"),
            ("e", "not_attempted"),
        ]
        .map(|(id, outcome)| (id.to_string(), outcome.to_string()));
        assert_eq!(got, expected, "{name}: {}", run.stderr);
        let skipped = &run.records()[2];
        assert_eq!(skipped["report"], serde_json::Value::Null);
        assert_eq!(skipped["error"], serde_json::Value::Null);
        assert_eq!(skipped["mock"], false);
        assert!(
            run.stderr
                .contains(&format!("interrupted by {name}: 3 of 5 ids not attempted")),
            "{}",
            run.stderr
        );
        assert_no_secret(&run.stderr);
    }
}

/// `--retries 0` is one request per id in a bulk run too: a rate-limited id is not
/// queued again (the bulk rounds follow `--retries`), and its record says 1 attempt.
#[tokio::test(flavor = "multi_thread")]
async fn retries_0_sends_one_request_per_id_even_when_rate_limited() {
    let limited = workspace_tests::fault::response(
        "429 Too Many Requests",
        &[("content-type", "application/json"), ("retry-after", "1")],
        br#"{"success":false,"errors":[{"code":10429,"message":"slow down"}],"messages":[],"result":null}"#,
    );
    let server = FaultServer::start(vec![Step::Raw(limited)]).await;
    let run = run_sync_off_runtime(
        [
            "first",
            "second",
            "--account-id",
            ACCOUNT,
            "--base-url",
            &server.base,
            "--retries",
            "0",
        ],
        [TOKEN],
    )
    .await;
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let records = run.records();
    assert_eq!(records.len(), 2);
    for record in &records {
        assert_eq!(record["error"]["kind"], "rate_limited", "{record}");
        assert_eq!(record["error"]["attempts"], 1, "{record}");
    }
    assert_eq!(server.requests(), 2, "{:?}", server.heads());
}

/// The first request of a run goes alone (the rate limit is learned from its answer),
/// but a stalled first answer holds the others for a bounded time (the pacer's 2 s), not
/// until their own timeouts (6 s): the healthy ids are ready and only the stalled one fails.
#[tokio::test(flavor = "multi_thread")]
async fn a_stalled_first_answer_does_not_fail_the_ids_behind_it() {
    let ready = json("200 OK", &ok_body(r#"{"status":"ready"}"#));
    let server = FaultServer::start(vec![
        Step::StallThen(std::time::Duration::from_secs(3600), ready.clone()),
        Step::Raw(ready),
    ])
    .await;
    let ids = ["stalled", "ok-1", "ok-2", "ok-3", "ok-4"];
    let mut argv: Vec<&str> = ids.to_vec();
    argv.extend([
        "--account-id",
        ACCOUNT,
        "--base-url",
        &server.base,
        "--timeout",
        "6s",
        "--retries",
        "0",
    ]);
    let run = run_sync_off_runtime(argv, [TOKEN]).await;
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let outcomes: Vec<String> = run
        .records()
        .iter()
        .map(|r| r["outcome"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        outcomes,
        ["failed", "ready", "ready", "ready", "ready"],
        "{}",
        run.stdout
    );
    assert_eq!(server.requests(), 5);
}

/// For pipelines: `--summary` appends a Markdown table (heading with the counts, one row
/// per id in input order) and, with `GITHUB_ACTIONS=true`, each failure or not-ready
/// server is an annotation on stderr; the records and the exit code are as without.
/// A summary path that is not a regular file is a warning, not another exit code.
#[tokio::test(flavor = "multi_thread")]
async fn pipelines_get_a_markdown_summary_and_annotations() {
    let server = FaultServer::start(vec![
        Step::Raw(json("200 OK", &ok_body(r#"{"status":"ready"}"#))),
        Step::Raw(json("200 OK", &ok_body(NOT_READY))),
        Step::Raw(json(
            "403 Forbidden",
            r#"{"success":false,"errors":[{"code":10000,"message":"Authentication error | <b>"}],"messages":[],"result":null}"#,
        )),
    ])
    .await;
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("summary.md");
    std::fs::write(&summary, "before\n").unwrap();
    let summary_arg = summary.to_str().unwrap().to_string();
    let base = [
        "ok-a",
        "nr-b",
        "fail-c",
        "--account-id",
        ACCOUNT,
        "--base-url",
        &server.base,
        "--concurrency",
        "1",
        "--retries",
        "0",
    ];
    let mut argv: Vec<&str> = base.to_vec();
    argv.extend(["--summary", &summary_arg]);
    let run = run_sync_off_runtime(argv, [TOKEN, ("GITHUB_ACTIONS", "true")]).await;
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let outcomes: Vec<String> = run
        .records()
        .iter()
        .map(|r| r["outcome"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(outcomes, ["ready", "not_ready", "failed"]);
    let text = std::fs::read_to_string(&summary).unwrap();
    assert!(
        text.starts_with("before\n### cf-mcp-sync: 1 ready, 1 not ready, 1 failed\n"),
        "{text}"
    );
    let rows: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| Server"))
        .collect();
    assert_eq!(rows.len(), 3, "{text}");
    assert!(
        rows[0].starts_with("| ok-a | ✅ ready | ready |"),
        "{}",
        rows[0]
    );
    assert!(
        rows[1].starts_with("| nr-b | ⚠️ not ready | error | MCP server returned an error"),
        "{}",
        rows[1]
    );
    assert!(
        rows[2].starts_with("| fail-c | ❌ failed | HTTP 403 |"),
        "{}",
        rows[2]
    );
    assert!(
        rows[2].contains("Authentication error \\| &lt;b&gt;"),
        "server text stays text: {}",
        rows[2]
    );
    assert!(
        run.stderr.contains(
            "::warning title=cf-mcp-sync nr-b::nr-b is error: MCP server returned an error"
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("::error title=cf-mcp-sync fail-c::fail-c: 403 Forbidden"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("title=cf-mcp-sync ok-a"),
        "{}",
        run.stderr
    );
    assert_no_secret(&text);
    assert_no_secret(&run.stderr);
    // Not on GitHub: no annotations. A directory as the summary: a warning, same exit.
    let server2 = FaultServer::start(vec![Step::Raw(json(
        "200 OK",
        &ok_body(r#"{"status":"ready"}"#),
    ))])
    .await;
    let dir_arg = dir.path().to_str().unwrap().to_string();
    let run = run_sync_off_runtime(
        [
            "ok-a",
            "--account-id",
            ACCOUNT,
            "--base-url",
            &server2.base,
            "--summary",
            &dir_arg,
        ],
        [TOKEN],
    )
    .await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(
        run.stderr.contains("warning: cannot write the summary"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("not a regular file"), "{}", run.stderr);
    assert!(!run.stderr.contains("::"), "{}", run.stderr);
    assert_eq!(run.records().len(), 1);
}

/// What the suites start dies with the thread that started it (which waits for it), so a
/// killed test run leaves nothing running: a child whose thread ends without waiting is
/// killed, not left for ten minutes (if not, this test fails when `sleep` ends).
#[test]
fn a_command_the_suites_start_dies_with_its_thread() {
    let pid = std::thread::spawn(|| {
        let mut sleep = std::process::Command::new("sleep");
        sleep.arg("120");
        workspace_tests::main_job::spawn_tied(&mut sleep).id()
    })
    .join()
    .expect("spawning thread");
    let pid = libc::pid_t::try_from(pid).expect("pid");
    let mut status = 0;
    // SAFETY: waitpid(2) on our own child, which nothing else waits for.
    #[allow(unsafe_code)]
    let waited = unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(waited, pid, "waitpid: {}", std::io::Error::last_os_error());
    assert!(
        libc::WIFSIGNALED(status) && libc::WTERMSIG(status) == libc::SIGKILL,
        "the child outlived its thread (status {status:#x})"
    );
}

/// Only the exact status `ready` reads as ready. A status that differs by a character a
/// reader cannot see (a trailing space, U+2028, NBSP, a zero-width space, a BOM) is
/// quoted with that character escaped in the text line, the annotation and the summary,
/// so that it never prints as a ready server's line; the JSON record keeps it as sent.
#[tokio::test(flavor = "multi_thread")]
async fn a_status_that_is_not_exactly_ready_never_reads_as_ready() {
    let cases = [
        ("ready ", r#""ready ""#),
        ("ready\u{2028}", r#""ready\u{2028}""#),
        ("ready\u{a0}", r#""ready\u{a0}""#),
        ("ready\u{200b}", r#""ready\u{200b}""#),
        ("\u{feff}ready", r#""\u{feff}ready""#),
        ("Ready", r#""Ready""#),
    ];
    let script = || {
        let mut steps = vec![Step::Raw(json("200 OK", &ok_body(r#"{"status":"ready"}"#)))];
        for (raw, _) in cases {
            let result = serde_json::json!({ "status": raw }).to_string();
            steps.push(Step::Raw(json("200 OK", &ok_body(&result))));
        }
        steps
    };
    let ids: Vec<String> = (0..=cases.len()).map(|i| format!("s{i}")).collect();
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("summary.md");
    let summary_arg = summary.to_str().unwrap().to_string();
    let argv = |base: &str, output: &str| {
        let mut argv = ids.clone();
        argv.extend(
            [
                "--account-id",
                ACCOUNT,
                "--base-url",
                base,
                "--concurrency",
                "1",
                "--retries",
                "0",
                "--output",
                output,
                "--summary",
                &summary_arg,
            ]
            .map(String::from),
        );
        argv
    };

    let server = FaultServer::start(script()).await;
    let run = run_sync_off_runtime(
        argv(&server.base, "text"),
        [TOKEN, ("GITHUB_ACTIONS", "true")],
    )
    .await;
    assert_eq!(run.code, Some(3), "{}", run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), cases.len() + 1, "{}", run.stdout);
    assert_eq!(lines[0], "s0  ready");
    let text = std::fs::read_to_string(&summary).unwrap();
    for (i, (raw, shown)) in cases.iter().enumerate() {
        let id = &ids[i + 1];
        let line = lines[i + 1];
        assert_ne!(line.trim_end(), format!("{id}  ready"), "{raw:?}");
        assert!(
            line.starts_with(&format!("{id}  {shown}")),
            "{raw:?}: {line:?}"
        );
        assert!(
            raw.is_ascii() || !line.contains(raw),
            "{raw:?} printed as is: {line:?}"
        );
        let annotation = format!("::warning title=cf-mcp-sync {id}::{id} is {shown}");
        assert!(
            run.stderr.contains(&annotation),
            "{annotation}\n{}",
            run.stderr
        );
        // Markdown reads `\\` as one backslash: the rendered cell shows `shown`.
        let cell = shown.replace('\\', "\\\\");
        assert!(
            text.contains(&format!("| {id} | ⚠️ not ready | {cell} |")),
            "{raw:?}: {text}"
        );
    }
    assert!(!run.stderr.contains("is ready"), "{}", run.stderr);
    assert!(text.contains("1 ready, 6 not ready, 0 failed"), "{text}");

    // The record keeps the status exactly as the server sent it.
    let server = FaultServer::start(script()).await;
    let run = run_sync_off_runtime(argv(&server.base, "json"), [TOKEN]).await;
    assert_eq!(run.code, Some(3), "{}", run.stderr);
    let records = run.records();
    for (i, (raw, _)) in cases.iter().enumerate() {
        assert_eq!(records[i + 1]["report"]["status"], *raw);
        assert_eq!(records[i + 1]["outcome"], "not_ready");
    }
}

/// Every terminating signal a process can catch ends a run as SIGINT and SIGTERM do:
/// the finished records, `not_attempted` for the rest, the summary and the
/// "interrupted" line, exit 128 + the signal's number. A signal the command was started
/// ignoring (SIGHUP under `nohup`) stays ignored: the run goes on until the next one.
#[tokio::test(flavor = "multi_thread")]
async fn every_catchable_terminating_signal_writes_the_records_and_the_summary() {
    for (ignored, signals, code, name) in [
        (&[][..], &[libc::SIGHUP][..], 129, "SIGHUP"),
        (&[], &[libc::SIGQUIT], 131, "SIGQUIT"),
        (&[], &[libc::SIGUSR1], 138, "SIGUSR1"),
        (&[], &[libc::SIGUSR2], 140, "SIGUSR2"),
        (&[], &[libc::SIGINT], 130, "SIGINT"),
        (&[], &[libc::SIGTERM], 143, "SIGTERM"),
        (
            &[libc::SIGHUP],
            &[libc::SIGHUP, libc::SIGTERM],
            143,
            "SIGTERM",
        ),
    ] {
        // Two ids are answered; every later request stalls (the last step repeats).
        let server = FaultServer::start(vec![
            Step::Raw(json("200 OK", &ok_body(r#"{"status":"ready"}"#))),
            Step::Raw(json("200 OK", &ok_body(NOT_READY))),
            Step::StallThen(
                std::time::Duration::from_secs(24 * 3600),
                json("200 OK", &ok_body(r#"{"status":"ready"}"#)),
            ),
        ])
        .await;
        let dir = tempfile::tempdir().unwrap();
        let summary = dir.path().join("summary.md");
        let args: Vec<String> = [
            "a",
            "b",
            "c",
            "d",
            "e",
            "--account-id",
            ACCOUNT,
            "--base-url",
            &server.base,
            "--concurrency",
            "1",
            "--retries",
            "0",
            "--timeout",
            "24h",
            "--summary",
            summary.to_str().unwrap(),
        ]
        .map(String::from)
        .to_vec();
        let env = vec![(TOKEN.0.to_string(), TOKEN.1.to_string())];
        let run = tokio::task::spawn_blocking(move || {
            workspace_tests::main_job::run_sync_signalled(&args, &env, 2, ignored, signals)
        })
        .await
        .unwrap();
        assert_eq!(
            run.code,
            Some(code),
            "{name}: {}\n{}",
            run.stdout,
            run.stderr
        );
        let outcomes: Vec<String> = run
            .records()
            .iter()
            .map(|r| r["outcome"].as_str().unwrap_or_default().to_string())
            .collect();
        assert_eq!(
            outcomes,
            [
                "ready",
                "not_ready",
                "not_attempted",
                "not_attempted",
                "not_attempted"
            ],
            "{name}"
        );
        assert!(
            run.stderr
                .contains(&format!("interrupted by {name}: 3 of 5 ids not attempted")),
            "{name}: {}",
            run.stderr
        );
        let text = std::fs::read_to_string(&summary).unwrap_or_default();
        assert!(
            text.starts_with("### cf-mcp-sync: 1 ready, 1 not ready, 0 failed, 3 not attempted\n"),
            "{name}: {text}"
        );
        assert_eq!(text.matches("⏹ not attempted").count(), 3, "{text}");
        assert_no_secret(&run.stderr);
    }
}

/// The command measures nothing about itself: the test reads the process's own peak
/// memory (`VmHWM`) at its exit stop under ptrace, whatever the log filter, and the
/// binary holds no such instrumentation (it used to log `peak_rss_kib` at exit).
#[test]
fn the_test_measures_the_command_s_own_peak_memory_from_outside() {
    let run = run_sync_measured(
        &[
            "sync",
            "my-mcp-server",
            "--account-id",
            ACCOUNT,
            "--mock",
            "-q",
        ],
        &[("RUST_LOG", "trace")],
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.record()["outcome"], "ready");
    let peak = run.own_peak_rss_kib.expect("VmHWM at the exit stop");
    assert!((1024..256 * 1024).contains(&peak), "{peak} KiB");
    assert!(!run.stderr.contains("peak_rss"), "{}", run.stderr);
    let binary = std::fs::read(sync_binary()).expect("the binary");
    for word in [&b"VmHWM"[..], b"peak_rss_kib"] {
        assert!(
            !binary.windows(word.len()).any(|w| w == word),
            "{} is in the binary",
            String::from_utf8_lossy(word)
        );
    }
    // Not measured: no ptrace, no figure.
    let plain = run_sync(
        &["my-mcp-server", "--account-id", ACCOUNT, "--mock", "-q"],
        &[],
    );
    assert_eq!((plain.code, plain.own_peak_rss_kib), (Some(0), None));
}
