//! Tracing: a span per call and per attempt with the fields operators need, and no
//! credential at any level, TRACE included. Tests that read their log live here, one
//! at a time (`capture::one_at_a_time`), each with its own subscriber installed before
//! it calls the client: tracing caches per callsite whether anyone listens, and a
//! callsite first hit by a test without a subscriber, or while another test's comes or
//! goes, can lose the very line a test waits for.

use std::time::{Duration, Instant};

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

#[tokio::test]
async fn cancellation_during_backoff_is_immediate() {
    let _serial = workspace_tests::capture::one_at_a_time().await;
    let bytes = response(
        "503 Service Unavailable",
        &[
            ("content-type", "application/json"),
            ("retry-after-ms", "20000"),
        ],
        b"{}",
    );
    let server = FaultServer::start(vec![Step::Raw(bytes)]).await;
    let client = Client::builder()
        .credentials(Credentials::api_token(secrets::TOKEN))
        .base_url(&server.base)
        .retry_policy(RetryPolicy::new().with_max_retry_after(Duration::from_secs(60)))
        .total_timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let log = Capture::new();
    let call = tokio::spawn(
        async move { client.sync(ACCOUNT, SERVER).await }.with_subscriber(log.subscriber()),
    );
    // The client logs "retrying" right before it sleeps the advised 20 s; cancel then.
    log.wait_for("retrying").await;
    assert_eq!(server.requests(), 1);
    let aborted = Instant::now();
    call.abort();
    let joined = call.await;
    assert!(joined.unwrap_err().is_cancelled());
    assert!(
        aborted.elapsed() < Duration::from_millis(500),
        "cancel took {:?}",
        aborted.elapsed()
    );
    assert_eq!(server.requests(), 1);
}
