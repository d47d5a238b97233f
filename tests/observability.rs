//! Tracing: a span per call and per attempt with the fields operators need, and no
//! credential at any level, TRACE included. Tests that read their log live here, one
//! at a time (`capture::one_at_a_time`), each with its own subscriber installed before
//! it calls the client: tracing caches per callsite whether anyone listens, and a
//! callsite first hit by a test without a subscriber, or while another test's comes or
//! goes, can lose the very line a test waits for.

use std::time::Duration;

use cloudflare_mcp_sync::{Client, Credentials, RetryPolicy};
use tracing::instrument::WithSubscriber;
use workspace_tests::capture::Capture;
use workspace_tests::fault::{FaultServer, Step, json, response};
use workspace_tests::secrets::{self, assert_no_secret};
use workspace_tests::{ACCOUNT, RAY, SERVER, ok_body};

#[tokio::test]
async fn trace_level_logs_have_spans_and_no_credentials() {
    let _serial = workspace_tests::capture::one_at_a_time().await;
    let busy = response(
        "503 Service Unavailable",
        &[
            ("content-type", "application/json"),
            ("cf-ray", RAY),
            ("retry-after-ms", "5"),
        ],
        b"{}",
    );
    let denied = json(
        "403 Forbidden",
        r#"{"success":false,"errors":[{"code":10000,"message":"Authentication error"}]}"#,
    );
    let ready = json("200 OK", &ok_body(r#"{"status":"ready"}"#));
    let log = Capture::new();
    for creds in [
        Credentials::api_token(secrets::TOKEN),
        Credentials::global_key(secrets::EMAIL, secrets::KEY),
    ] {
        let server = FaultServer::start(vec![
            Step::Raw(busy.clone()),
            Step::Raw(ready.clone()),
            Step::Raw(denied.clone()),
        ])
        .await;
        let client = Client::builder()
            .credentials(creds)
            .base_url(&server.base)
            .retry_policy(
                RetryPolicy::new().with_backoff(Duration::from_millis(1), Duration::from_millis(2)),
            )
            .build()
            .unwrap();
        let ok = client
            .sync(ACCOUNT, SERVER)
            .with_subscriber(log.subscriber())
            .await
            .unwrap();
        assert_eq!(ok.meta.attempts, 2);
        let err = client
            .sync(ACCOUNT, SERVER)
            .with_subscriber(log.subscriber())
            .await
            .unwrap_err();
        assert_eq!(err.status(), Some(403));
        assert_eq!(server.requests(), 3);
    }
    let text = log.text();
    assert_no_secret(&text);
    for expected in [
        "cloudflare_mcp_sync{operation=\"mcp-portals-api-sync-server\" server_id=\"my-mcp-server\"",
        "attempt{attempt=1",
        "attempt{attempt=2",
        "status=503",
        "ray_id=\"8f1c2a3b4d5e6f70-SJC\"",
        "retrying",
        "wait_ms=5",
        "giving up",
        "reason=\"not retryable\"",
        "elapsed_ms=",
        "attempts=2",
    ] {
        assert!(text.contains(expected), "log lacks {expected:?}:\n{text}");
    }
    assert!(
        !text.contains("\"success\""),
        "bodies are never logged:\n{text}"
    );
}

/// A call dropped while it sleeps a backoff leaves the client usable: the next call on
/// the same client is sent and answered (nothing of the dropped one holds it back).
#[tokio::test]
async fn cancellation_during_backoff_is_immediate() {
    let _serial = workspace_tests::capture::one_at_a_time().await;
    let busy = response(
        "503 Service Unavailable",
        &[
            ("content-type", "application/json"),
            ("retry-after-ms", "20000"),
        ],
        b"{}",
    );
    let ready = json("200 OK", &ok_body(r#"{"status":"ready"}"#));
    let server = FaultServer::start(vec![Step::Raw(busy), Step::Raw(ready)]).await;
    let client = Client::builder()
        .credentials(Credentials::api_token(secrets::TOKEN))
        .base_url(&server.base)
        .retry_policy(RetryPolicy::new().with_max_retry_after(Duration::from_secs(60)))
        .total_timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let log = Capture::new();
    let first = client.clone();
    let call = tokio::spawn(
        async move { first.sync(ACCOUNT, SERVER).await }.with_subscriber(log.subscriber()),
    );
    // The client logs "retrying" right before it sleeps the advised 20 s; cancel then.
    log.wait_for("retrying").await;
    call.abort();
    assert!(call.await.unwrap_err().is_cancelled());
    assert_eq!(server.requests(), 1, "the dropped call sent nothing more");
    let report = client.sync(ACCOUNT, SERVER).await.unwrap();
    assert!(report.is_ready());
    assert_eq!((report.meta.attempts, server.requests()), (1, 2));
}

/// The client's debug log of one call by `builder`'s client, and the call's outcome.
async fn logged(
    builder: cloudflare_mcp_sync::ClientBuilder,
) -> (
    Result<cloudflare_mcp_sync::SyncReport, cloudflare_mcp_sync::Error>,
    String,
) {
    let client = builder.build().unwrap();
    let log = Capture::new();
    let outcome = async { client.sync(ACCOUNT, SERVER).await }
        .with_subscriber(log.subscriber())
        .await;
    (outcome, log.text())
}

fn with_budget(
    base: &str,
    policy: RetryPolicy,
    total: Duration,
) -> cloudflare_mcp_sync::ClientBuilder {
    Client::builder()
        .credentials(Credentials::api_token(secrets::TOKEN))
        .base_url(base)
        .retry_policy(policy)
        .total_timeout(total)
}

/// The server asks for 2 s; only 1 s of the budget is left: the call gives up at once,
/// without sleeping toward the deadline (the log has no "retrying").
#[tokio::test]
async fn deadline_would_be_crossed_by_the_backoff() {
    let _serial = workspace_tests::capture::one_at_a_time().await;
    let bytes = response(
        "503 Service Unavailable",
        &[
            ("content-type", "application/json"),
            ("retry-after-ms", "2000"),
        ],
        b"{}",
    );
    let server = FaultServer::start(vec![Step::Raw(bytes)]).await;
    let (outcome, log) = logged(with_budget(
        &server.base,
        RetryPolicy::new().with_max_retries(2),
        Duration::from_secs(1),
    ))
    .await;
    let err = outcome.unwrap_err();
    assert!(!log.contains("retrying"), "{log}");
    assert!(log.contains("giving up"), "{log}");
    assert_eq!(err.status(), Some(503));
    assert_eq!(err.retry_after(), Some(Duration::from_secs(2)));
    assert_eq!((err.attempts(), server.requests()), (1, 1));
}

/// Backoff 200 ms then 400 ms, each cut by up to 25 % jitter, under a 400 ms budget:
/// the first wait (150–200 ms) fits, the second (300–400 ms) never does, so the call
/// ends after exactly two attempts and one backoff, not by sleeping into the deadline.
#[tokio::test]
async fn deadline_reached_mid_backoff_sequence() {
    let _serial = workspace_tests::capture::one_at_a_time().await;
    let server = FaultServer::start(vec![Step::Raw(json("503 Service Unavailable", "{}"))]).await;
    let policy = RetryPolicy::new()
        .with_max_retries(10)
        .with_backoff(Duration::from_millis(200), Duration::from_secs(5));
    let (outcome, log) = logged(with_budget(
        &server.base,
        policy,
        Duration::from_millis(400),
    ))
    .await;
    let err = outcome.unwrap_err();
    assert_eq!(log.matches("retrying").count(), 1, "{log}");
    assert!(log.contains("giving up"), "{log}");
    assert_eq!(err.status(), Some(503));
    assert_eq!((err.attempts(), server.requests()), (2, 2));
}
