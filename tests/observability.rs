//! Tracing: a span per call and per attempt with the fields operators need, and no
//! credential at any level, TRACE included.

use std::time::Duration;

use cloudflare_mcp_sync::{Client, Credentials, RetryPolicy};
use tracing::instrument::WithSubscriber;
use workspace_tests::capture::Capture;
use workspace_tests::fault::{FaultServer, Step, json, response};
use workspace_tests::secrets::{self, assert_no_secret};
use workspace_tests::{ACCOUNT, RAY, SERVER, ok_body};

#[tokio::test]
async fn trace_level_logs_have_spans_and_no_credentials() {
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
