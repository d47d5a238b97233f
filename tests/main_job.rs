//! The main job's exit codes, run as users run it (the `sync` example as a child
//! process, environment set entirely by the test): 0 ready, 3 synced but not ready,
//! 1 the request failed, 2 invalid input or configuration. The same against Prism in
//! both auth modes is in `contract.rs`.

use workspace_tests::fault::{FaultServer, Step, json};
use workspace_tests::main_job::run_sync;
use workspace_tests::secrets::{self, assert_no_secret};
use workspace_tests::{ACCOUNT, SERVER, ok_body};

const TOKEN: (&str, &str) = ("CLOUDFLARE_API_TOKEN", secrets::TOKEN);

#[test]
fn nothing_configured_syncs_against_the_embedded_mock_and_exits_0() {
    let run = run_sync(&[SERVER, "--account-id", ACCOUNT], &[]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(
        run.stdout.contains("\"status\": \"ready\""),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("\"mock\": true"), "{}", run.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn synced_but_not_ready_exits_3() {
    let result = r#"{"status":"error","error":"MCP server returned an error","error_details":{"cause":"initialize failed","is_upstream":true}}"#;
    let server = FaultServer::start(vec![Step::Raw(json("200 OK", &ok_body(result)))]).await;
    let base = server.base.clone();
    let run = tokio::task::spawn_blocking(move || {
        run_sync(
            &[SERVER, "--account-id", ACCOUNT, "--base-url", &base],
            &[TOKEN],
        )
    })
    .await
    .unwrap();
    assert_eq!(run.code, Some(3), "{}", run.stderr);
    assert!(
        run.stdout.contains("\"cause\": \"initialize failed\""),
        "{}",
        run.stdout
    );
    assert_no_secret(&run.stdout);
}

#[test]
fn a_failed_request_exits_1_with_one_line() {
    let closed = workspace_tests::closed_port_base();
    let run = run_sync(
        &[SERVER, "--account-id", ACCOUNT, "--base-url", &closed],
        &[TOKEN],
    );
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(
        run.stderr.starts_with("error: connection failed"),
        "{}",
        run.stderr
    );
    assert_no_secret(&run.stderr);
}

#[test]
fn invalid_input_and_configuration_exit_2() {
    /// (arguments, environment, what stderr says)
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);
    let cases: [Case<'_>; 4] = [
        (
            &["Not-Valid", "--account-id", ACCOUNT],
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
            &[SERVER, "--account-id", ACCOUNT, "--bogus"],
            &[],
            "unknown option --bogus",
        ),
    ];
    for (args, env, says) in cases {
        let run = run_sync(args, env);
        assert_eq!(run.code, Some(2), "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(says), "{args:?}: {}", run.stderr);
        assert!(run.stdout.is_empty(), "{}", run.stdout);
        assert_no_secret(&run.stderr);
    }
}
