//! The fault matrix: real sockets on 127.0.0.1, one scripted server per scenario.
//! Each test asserts the exact outcome, the attempts the client reports, the requests
//! the server saw, and that no credential appears in what the caller gets.
//! `TESTING.md` lists every scenario with its expected outcome and test name.

use std::time::{Duration, Instant, SystemTime};

use cloudflare_mcp_sync::{
    Client, ClientBuilder, Credentials, Error, RetryPolicy, SyncReport, SyncStatus,
};
use workspace_tests::fault::{FaultServer, Step, json, response};
use workspace_tests::secrets::{self, assert_no_secret};
use workspace_tests::{ACCOUNT, RAY, SERVER, ok_body};

/// 2 retries with millisecond backoff, 200 ms per attempt, 5 s in all.
fn fast(base: &str) -> ClientBuilder {
    Client::builder()
        .credentials(Credentials::api_token(secrets::TOKEN))
        .base_url(base)
        .retry_policy(
            RetryPolicy::new()
                .with_max_retries(2)
                .with_backoff(Duration::from_millis(1), Duration::from_millis(4)),
        )
        .attempt_timeout(Duration::from_millis(200))
        .total_timeout(Duration::from_secs(5))
}

async fn run(server: &FaultServer) -> Result<SyncReport, Error> {
    run_with(fast(&server.base)).await
}

async fn run_with(builder: ClientBuilder) -> Result<SyncReport, Error> {
    let client = builder.build().expect("client");
    let outcome = client.sync(ACCOUNT, SERVER).await;
    match &outcome {
        Ok(report) => {
            assert_no_secret(&format!("{report:?}"));
        }
        Err(e) => {
            assert_no_secret(&format!("{e} {e:?}"));
            let mut source = std::error::Error::source(e);
            while let Some(s) = source {
                assert_no_secret(&format!("{s} {s:?}"));
                source = s.source();
            }
        }
    }
    outcome
}

fn ready() -> Vec<u8> {
    json("200 OK", &ok_body(r#"{"status":"ready"}"#))
}

/// `call`'s output, or a failed test if it is still waiting after a minute. The cases
/// that use it wait five minutes or an hour when they are wrong and milliseconds when
/// they are right: a minute tells the two apart on the busiest machine, where a bound
/// near the right answer would not.
async fn without_the_advised_wait<T>(call: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(60), call)
        .await
        .expect("the call waited out the advised time instead of failing at once")
}

// ---- transport faults ----

#[tokio::test]
async fn connection_refused() {
    let closed = workspace_tests::closed_port_base();
    let err = run_with(fast(&closed)).await.unwrap_err();
    assert!(matches!(err, Error::Connect(_)), "{err:?}");
    assert_eq!(err.attempts(), 3);
}

/// A transport error after three attempts: the count is on the error and on the
/// transport error itself, whose Display says it too.
fn assert_transport_error_after_3_attempts(err: &Error) {
    let Error::Transport(transport) = err else {
        panic!("{err:?}")
    };
    assert_eq!((err.attempts(), transport.attempts()), (3, 3));
    assert!(
        transport.to_string().ends_with(" (3 attempts)"),
        "{transport}"
    );
}

#[tokio::test]
async fn reset_before_headers_is_retried_then_reported() {
    let server = FaultServer::start(vec![Step::ResetBeforeHeaders]).await;
    let err = run(&server).await.unwrap_err();
    assert_transport_error_after_3_attempts(&err);
    assert_eq!(server.requests(), 3);
}

#[tokio::test]
async fn reset_before_headers_then_success() {
    let server = FaultServer::start(vec![Step::ResetBeforeHeaders, Step::Raw(ready())]).await;
    let report = run(&server).await.unwrap();
    assert!(report.is_ready());
    assert_eq!(report.meta.attempts, 2);
    assert_eq!(server.requests(), 2);
}

#[tokio::test]
async fn reset_mid_body() {
    let full = ready();
    let cut = full[..full.len() - 20].to_vec();
    let server = FaultServer::start(vec![Step::ResetAfter(cut)]).await;
    let err = run(&server).await.unwrap_err();
    assert_transport_error_after_3_attempts(&err);
    assert_eq!(server.requests(), 3);
}

/// Answers no HTTP/1.1 reader can take, each as the whole answer to every request.
fn malformed_answers() -> Vec<(&'static str, Vec<u8>)> {
    let body = ok_body(r#"{"status":"ready"}"#);
    let n = body.len();
    let head = |status: &str, extra: &str| {
        format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\n{extra}connection: close\r\n\r\n{body}"
        )
        .into_bytes()
    };
    let length = format!("content-length: {n}\r\n");
    vec![
        (
            "two different Content-Lengths",
            head(
                "200 OK",
                &format!("content-length: {n}\r\ncontent-length: {}\r\n", n + 1),
            ),
        ),
        (
            "an obs-folded header",
            head("200 OK", &format!("x-folded: a\r\n b\r\n{length}")),
        ),
        (
            "a NUL in a header value",
            head("200 OK", &format!("x-nul: a\0b\r\n{length}")),
        ),
        ("status 000", head("000 Zero", &length)),
        ("status 099", head("099 Low", &length)),
        (
            "the HTTP/2 preface",
            b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec(),
        ),
        (
            "an HTTP/2 SETTINGS frame",
            vec![0, 0, 0, 4, 0, 0, 0, 0, 0],
        ),
        (
            "a chunk size past 64 bits",
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\nFFFFFFFFFFFFFFFFFFFF\r\nx\r\n0\r\n\r\n"
                .to_vec(),
        ),
    ]
}

/// What cannot be read now cannot be read on a second try: each malformed answer is one
/// attempt, not three, and the error says the answer was malformed. A reset or a
/// timeout (above) is still tried again.
#[tokio::test]
async fn malformed_framing_is_reported_once_not_retried() {
    for (what, answer) in malformed_answers() {
        let server = FaultServer::start(vec![Step::Raw(answer)]).await;
        let err = run(&server).await.unwrap_err();
        let shown = err.to_string();
        assert!(matches!(err, Error::Transport(_)), "{what}: {err:?}");
        assert_eq!(
            (err.attempts(), server.requests()),
            (1, 1),
            "{what}: {shown}"
        );
        assert!(!err.is_retryable(), "{what}: {shown}");
        assert!(shown.contains("malformed"), "{what}: {shown}");
    }
}

/// hyper reads at most 100 headers; the 101st makes the answer unreadable, and the error
/// says that, with the count, rather than calling a 2 KB head too large.
#[tokio::test]
async fn more_than_100_headers_are_named_by_their_count() {
    let headers: Vec<(String, String)> = (0..101)
        .map(|i| (format!("x-h{i}"), "v".to_string()))
        .collect();
    let pairs: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let answer = response(
        "200 OK",
        &pairs,
        ok_body(r#"{"status":"ready"}"#).as_bytes(),
    );
    assert!(answer.len() < 2048, "a small head: {} bytes", answer.len());
    let server = FaultServer::start(vec![Step::Raw(answer)]).await;
    let err = run(&server).await.unwrap_err();
    let shown = err.to_string();
    assert!(shown.contains("more than 100 headers"), "{shown}");
    assert!(shown.contains("malformed"), "{shown}");
    assert_eq!((err.attempts(), server.requests()), (1, 1), "{shown}");
    // At the limit (98 and content-length and connection: 100), the answer is read.
    let headers = &pairs[..98];
    let answer = response(
        "200 OK",
        headers,
        ok_body(r#"{"status":"ready"}"#).as_bytes(),
    );
    let server = FaultServer::start(vec![Step::Raw(answer)]).await;
    assert!(run(&server).await.unwrap().is_ready());
}

#[tokio::test]
async fn slow_headers_past_the_attempt_timeout() {
    let server = FaultServer::start(vec![Step::StallThen(Duration::from_secs(30), ready())]).await;
    let err = run(&server).await.unwrap_err();
    assert!(matches!(err, Error::Timeout(_)), "{err:?}");
    assert_eq!(
        err.to_string(),
        "attempt timed out after 200ms (3 attempts)"
    );
    assert_eq!(err.attempts(), 3);
    assert_eq!(server.requests(), 3);
}

#[tokio::test]
async fn slow_body_past_the_attempt_timeout() {
    let full = ready();
    let (head, rest) = full.split_at(full.len() - 10);
    let server = FaultServer::start(vec![Step::Split(
        head.to_vec(),
        Duration::from_secs(30),
        rest.to_vec(),
    )])
    .await;
    let err = run(&server).await.unwrap_err();
    assert!(matches!(err, Error::Timeout(_)), "{err:?}");
    assert_eq!(err.attempts(), 3);
    assert_eq!(server.requests(), 3);
}

#[tokio::test]
async fn slow_headers_then_a_fast_answer_succeeds() {
    let server = FaultServer::start(vec![
        Step::StallThen(Duration::from_secs(30), ready()),
        Step::Raw(ready()),
    ])
    .await;
    let report = run(&server).await.unwrap();
    assert_eq!(report.meta.attempts, 2);
}

// ---- bodies ----

#[tokio::test]
async fn truncated_json() {
    let server = FaultServer::start(vec![Step::Raw(json(
        "200 OK",
        r#"{"success":true,"result":{"stat"#,
    ))])
    .await;
    let err = run(&server).await.unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
    assert_eq!((err.attempts(), server.requests()), (1, 1));
    assert_eq!(err.ray_id(), Some(RAY));
}

#[tokio::test]
async fn empty_200_body() {
    let server = FaultServer::start(vec![Step::Raw(json("200 OK", ""))]).await;
    let err = run(&server).await.unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
    assert!(err.to_string().contains("EOF while parsing"), "{err}");
    assert_eq!((err.attempts(), server.requests()), (1, 1));
}

#[tokio::test]
async fn success_false_on_200() {
    let body = r#"{"success":false,"errors":[{"code":1001,"message":"nope"}],"messages":[],"result":{"status":"ready"}}"#;
    let server = FaultServer::start(vec![Step::Raw(json("200 OK", body))]).await;
    let err = run(&server).await.unwrap_err();
    assert!(matches!(err, Error::Unsuccessful(_)), "{err:?}");
    assert_eq!(err.cloudflare_errors()[0].code, 1001);
    assert_eq!((err.attempts(), server.requests()), (1, 1));
}

#[tokio::test]
async fn success_without_result() {
    let server = FaultServer::start(vec![Step::Raw(json(
        "200 OK",
        r#"{"success":true,"errors":[],"messages":[]}"#,
    ))])
    .await;
    let err = run(&server).await.unwrap_err();
    assert!(matches!(err, Error::MissingResult(_)), "{err:?}");
    assert_eq!((err.attempts(), server.requests()), (1, 1));
}

#[tokio::test]
async fn unknown_fields_everywhere() {
    let body = r#"{"success":true,"new_top":1,"errors":[],"messages":[{"code":1,"message":"m","new_item":true}],
        "result":{"status":"error","new_result":{"a":[1]},"error":"e","error_details":{"cause":"c","new_detail":"x","mcp_code":-32000}},
        "result_info":{"page":1}}"#;
    let server = FaultServer::start(vec![Step::Raw(json("200 OK", body))]).await;
    let report = run(&server).await.unwrap();
    assert_eq!(report.status, SyncStatus::Error);
    assert_eq!(report.failure().unwrap().mcp_code, Some(-32000));
    assert_eq!(
        report.messages[0].extra["new_item"],
        serde_json::json!(true)
    );
}

#[tokio::test]
async fn unknown_status() {
    let server = FaultServer::start(vec![Step::Raw(json(
        "200 OK",
        &ok_body(r#"{"status":"syncing"}"#),
    ))])
    .await;
    let report = run(&server).await.unwrap();
    assert_eq!(report.status, SyncStatus::Unknown("syncing".into()));
}

#[tokio::test]
async fn invalid_utf8_body() {
    let mut body = br#"{"success":true,"result":{"status":"re"#.to_vec();
    body.extend_from_slice(&[0xff, 0xfe]);
    body.extend_from_slice(br#"ady"}}"#);
    let bytes = response("200 OK", &[("content-type", "application/json")], &body);
    let server = FaultServer::start(vec![Step::Raw(bytes)]).await;
    let err = run(&server).await.unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
    assert!(
        err.to_string().contains('\u{FFFD}'),
        "the snippet shows the bad bytes replaced: {err}"
    );
}

#[tokio::test]
async fn oversized_body_by_content_length() {
    let big = format!(
        r#"{{"success":true,"result":{{"status":"ready","pad":"{}"}}}}"#,
        "x".repeat(64 * 1024)
    );
    let server = FaultServer::start(vec![Step::Raw(json("200 OK", &big))]).await;
    let err = run_with(fast(&server.base).max_body_bytes(16 * 1024))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::BodyTooLarge(_)), "{err:?}");
    assert!(
        err.to_string()
            .contains("larger than the limit of 16384 bytes"),
        "{err}"
    );
    assert_eq!((err.attempts(), server.requests()), (1, 1));
}

/// A body too large on a retry counts the attempts before it: the error says 2.
#[tokio::test]
async fn an_oversized_body_on_a_retry_counts_every_attempt() {
    let big = format!(
        r#"{{"success":true,"result":{{"status":"ready","pad":"{}"}}}}"#,
        "x".repeat(64 * 1024)
    );
    let server = FaultServer::start(vec![
        Step::Raw(json("503 Service Unavailable", "{}")),
        Step::Raw(json("200 OK", &big)),
    ])
    .await;
    let err = run_with(fast(&server.base).max_body_bytes(16 * 1024))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::BodyTooLarge(_)), "{err:?}");
    assert_eq!((err.attempts(), server.requests()), (2, 2));
}

#[tokio::test]
async fn oversized_chunked_body_without_length() {
    // A chunked body that never says how long it is: the cap stops reading mid-stream.
    let mut bytes = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n".to_vec();
    for _ in 0..64 {
        bytes.extend_from_slice(format!("400\r\n{}\r\n", "y".repeat(1024)).as_bytes());
    }
    bytes.extend_from_slice(b"0\r\n\r\n");
    let server = FaultServer::start(vec![Step::Raw(bytes)]).await;
    let err = run_with(fast(&server.base).max_body_bytes(8 * 1024))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::BodyTooLarge(_)), "{err:?}");
    assert_eq!((err.attempts(), server.requests()), (1, 1));
}

/// Without `max_body_bytes`, the limit is the documented 4 MiB: a body that declares
/// one byte more is refused before it is read.
#[tokio::test]
async fn the_default_body_limit_is_4_mib() {
    let declared = 4 * 1024 * 1024 + 1;
    let head = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {declared}\r\nconnection: close\r\n\r\n{{"
    );
    let server = FaultServer::start(vec![Step::Raw(head.into_bytes())]).await;
    let err = run_with(fast(&server.base)).await.unwrap_err();
    assert!(matches!(err, Error::BodyTooLarge(_)), "{err:?}");
    assert!(
        err.to_string()
            .contains("larger than the limit of 4194304 bytes"),
        "{err}"
    );
    assert_eq!((err.attempts(), server.requests()), (1, 1));
}

/// A body of exactly the limit is read, whether its length is declared or it comes
/// chunked: the cap refuses only what is larger.
#[tokio::test]
async fn a_body_of_exactly_the_limit_is_read() {
    const LIMIT: usize = 8 * 1024;
    let empty = ok_body(r#"{"status":"ready","pad":""}"#);
    let body = ok_body(&format!(
        r#"{{"status":"ready","pad":"{}"}}"#,
        "x".repeat(LIMIT - empty.len())
    ));
    assert_eq!(body.len(), LIMIT);
    let mut chunked = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n".to_vec();
    for chunk in body.as_bytes().chunks(1000) {
        chunked.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        chunked.extend_from_slice(chunk);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    for answer in [json("200 OK", &body), chunked] {
        let server = FaultServer::start(vec![Step::Raw(answer)]).await;
        let report = run_with(fast(&server.base).max_body_bytes(LIMIT))
            .await
            .unwrap();
        assert_eq!(report.status, SyncStatus::Ready);
    }
}

/// A server that echoes the client's secrets gets them back redacted in the library's
/// error (its message, Display and Debug), for both kinds of credentials; the command
/// has a scrub of its own, so this is the library's alone.
#[tokio::test]
async fn echoed_secrets_are_redacted_in_the_librarys_errors() {
    for (credentials, secret) in [
        (Credentials::api_token(secrets::TOKEN), secrets::TOKEN),
        (
            Credentials::global_key(secrets::EMAIL, secrets::KEY),
            secrets::KEY,
        ),
        (
            Credentials::global_key(secrets::EMAIL, secrets::KEY),
            secrets::EMAIL,
        ),
    ] {
        let body = format!(
            r#"{{"success":false,"errors":[{{"code":9109,"message":"bad {secret}"}}],"messages":[],"result":null}}"#
        );
        let server = FaultServer::start(vec![Step::Raw(json("403 Forbidden", &body))]).await;
        let client = fast(&server.base).credentials(credentials).build().unwrap();
        let err = client.sync(ACCOUNT, SERVER).await.unwrap_err();
        let shown = format!("{err} {err:?}");
        assert!(shown.contains("bad [redacted]"), "{shown}");
        assert_no_secret(&shown);
    }
}

// ---- statuses and retries ----

#[tokio::test]
async fn html_502_is_retried_then_reported() {
    let page = response(
        "502 Bad Gateway",
        &[("content-type", "text/html"), ("cf-ray", RAY)],
        b"<html><body>502 Bad Gateway</body></html>",
    );
    let server = FaultServer::start(vec![Step::Raw(page)]).await;
    let err = run(&server).await.unwrap_err();
    assert!(matches!(err, Error::NotJson(_)), "{err:?}");
    assert_eq!(err.status(), Some(502));
    assert_eq!((err.attempts(), server.requests()), (3, 3));
    assert!(
        err.to_string()
            .ends_with("(ray 8f1c2a3b4d5e6f70-SJC, 3 attempts)"),
        "{err}"
    );
}

#[tokio::test]
async fn status_520_then_success() {
    let page = response(
        "520 Unknown",
        &[("content-type", "text/html")],
        b"<html>520</html>",
    );
    let server = FaultServer::start(vec![Step::Raw(page), Step::Raw(ready())]).await;
    let report = run(&server).await.unwrap();
    assert!(report.is_ready());
    assert_eq!((report.meta.attempts, server.requests()), (2, 2));
}

#[tokio::test]
async fn status_503_on_every_attempt() {
    let server = FaultServer::start(vec![Step::Raw(json(
        "503 Service Unavailable",
        r#"{"success":false,"errors":[{"code":10013,"message":"busy"}]}"#,
    ))])
    .await;
    let err = run(&server).await.unwrap_err();
    assert!(matches!(err, Error::Api(_)), "{err:?}");
    assert_eq!((err.attempts(), server.requests()), (3, 3));
    let with_five = run_with(
        fast(&server.base).retry_policy(
            RetryPolicy::new()
                .with_max_retries(5)
                .with_backoff(Duration::from_millis(1), Duration::from_millis(2)),
        ),
    )
    .await
    .unwrap_err();
    assert_eq!(with_five.attempts(), 6);
    assert_eq!(server.requests(), 3 + 6);
}

#[tokio::test]
async fn retries_switched_off() {
    let server = FaultServer::start(vec![Step::Raw(json("503 Service Unavailable", "{}"))]).await;
    let err = run_with(fast(&server.base).retry_policy(RetryPolicy::disabled()))
        .await
        .unwrap_err();
    assert_eq!((err.attempts(), server.requests()), (1, 1));
}

#[tokio::test]
async fn x_should_retry_false_on_503() {
    let bytes = response(
        "503 Service Unavailable",
        &[
            ("content-type", "application/json"),
            ("x-should-retry", "false"),
        ],
        b"{}",
    );
    let server = FaultServer::start(vec![Step::Raw(bytes)]).await;
    let err = run(&server).await.unwrap_err();
    assert!(!err.is_retryable());
    assert_eq!((err.attempts(), server.requests()), (1, 1));
}

#[tokio::test]
async fn x_should_retry_true_on_500() {
    let bytes = response(
        "500 Internal Server Error",
        &[
            ("content-type", "application/json"),
            ("x-should-retry", "true"),
        ],
        b"{}",
    );
    let server = FaultServer::start(vec![Step::Raw(bytes), Step::Raw(ready())]).await;
    let report = run(&server).await.unwrap();
    assert_eq!((report.meta.attempts, server.requests()), (2, 2));
}

#[tokio::test]
async fn conflict_409_is_not_retried() {
    let server = FaultServer::start(vec![Step::Raw(json(
        "409 Conflict",
        r#"{"success":false,"errors":[{"code":1002,"message":"busy syncing"}]}"#,
    ))])
    .await;
    let err = run(&server).await.unwrap_err();
    assert!(matches!(err, Error::Api(_)), "{err:?}");
    assert_eq!((err.attempts(), server.requests()), (1, 1));
}

#[tokio::test]
async fn unauthorized_401_is_not_retried() {
    let server = FaultServer::start(vec![Step::Raw(json(
        "401 Unauthorized",
        r#"{"success":false,"errors":[{"code":10000,"message":"Authentication error"}]}"#,
    ))])
    .await;
    let err = run(&server).await.unwrap_err();
    assert!(matches!(err, Error::Unauthorized(_)), "{err:?}");
    assert_eq!((err.attempts(), server.requests()), (1, 1));
}

fn rate_limited(retry_after: &str) -> Vec<u8> {
    response(
        "429 Too Many Requests",
        &[("content-type", "application/json"), ("retry-after", retry_after), ("cf-ray", RAY)],
        br#"{"success":false,"errors":[{"code":10100,"message":"More than 1200 requests per 300 seconds reached"}]}"#,
    )
}

#[tokio::test]
async fn rate_limited_retry_after_1_then_success() {
    let server = FaultServer::start(vec![Step::Raw(rate_limited("1")), Step::Raw(ready())]).await;
    let started = Instant::now();
    let report = run_with(fast(&server.base).total_timeout(Duration::from_secs(10)))
        .await
        .unwrap();
    assert!(report.is_ready());
    assert_eq!((report.meta.attempts, server.requests()), (2, 2));
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "the advised second was waited"
    );
}

/// A 429 whose `Ratelimit` window holds requests past the call's deadline fails at once
/// and says so: its `retry_after` is that hold (an hour here), not the 1 s
/// `Retry-After` beside it, and a window with no `Retry-After` gives one too. (Found by
/// attack: the error said "retry after 1s", or nothing.)
#[tokio::test]
async fn rate_limited_held_past_the_deadline_says_the_hold() {
    for retry_after in [Some("1"), None] {
        let mut headers = vec![("Ratelimit", "\"default\";r=0;t=3600")];
        if let Some(advice) = retry_after {
            headers.push(("Retry-After", advice));
        }
        let body = r#"{"success":false,"errors":[{"code":10000,"message":"rate limited"}],"messages":[],"result":null}"#;
        let server = FaultServer::start(vec![Step::Raw(response(
            "429 Too Many Requests",
            &[&headers[..], &[("Content-Type", "application/json")]].concat(),
            body.as_bytes(),
        ))])
        .await;
        let err = without_the_advised_wait(run_with(
            fast(&server.base).total_timeout(Duration::from_secs(30)),
        ))
        .await
        .unwrap_err();
        assert!(matches!(err, Error::RateLimited(_)), "{err:?}");
        assert_eq!(err.attempts(), 1, "{err}");
        assert_eq!(server.requests(), 1);
        let hold = err.retry_after().expect("the hold");
        assert!(
            hold > Duration::from_secs(3000) && hold <= Duration::from_secs(3600),
            "{hold:?}"
        );
        let text = err.to_string();
        assert!(
            text.contains("the rate limit holds requests past the call's deadline"),
            "{text}"
        );
        assert!(
            text.contains("retry after 1h") || text.contains("retry after 59m"),
            "{text}"
        );
    }
}

#[tokio::test]
async fn rate_limited_retry_after_300_fails_fast() {
    let server = FaultServer::start(vec![Step::Raw(rate_limited("300"))]).await;
    let err = without_the_advised_wait(run_with(
        fast(&server.base).total_timeout(Duration::from_secs(600)),
    ))
    .await
    .unwrap_err();
    assert!(matches!(err, Error::RateLimited(_)), "{err:?}");
    assert_eq!(err.retry_after(), Some(Duration::from_secs(300)));
    assert_eq!((err.attempts(), server.requests()), (1, 1));
    assert!(err.to_string().contains("retry after 5m"), "{err}");
}

#[tokio::test]
async fn after_a_long_advised_wait_the_next_call_fails_fast_without_a_request() {
    let server = FaultServer::start(vec![Step::Raw(rate_limited("300"))]).await;
    let client = fast(&server.base).build().unwrap();
    let first = client.sync(ACCOUNT, SERVER).await.unwrap_err();
    assert!(matches!(first, Error::RateLimited(_)), "{first:?}");
    let second = without_the_advised_wait(client.sync(ACCOUNT, SERVER))
        .await
        .unwrap_err();
    assert!(
        second
            .to_string()
            .starts_with("the rate limit holds requests for another"),
        "{second}"
    );
    assert_eq!((second.attempts(), second.is_retryable()), (0, false));
    assert_eq!(server.requests(), 1, "the pacer held the second call back");
}

/// Waits no clock can hold, each as a server might write it: every one is the same
/// "far too long", so the call fails at once as rate limited (one attempt, one request,
/// no backoff, no pacing timeout) and the process does not panic.
#[tokio::test]
async fn rate_limited_with_waits_too_long_for_the_clock_fails_at_once() {
    let day = Duration::from_secs(24 * 3600);
    let cases: [&[(&str, &str)]; 8] = [
        &[("retry-after", "1e18")],
        &[("retry-after", "1e19")],
        &[("retry-after", "18446744073709551615")],
        &[("retry-after", "inf")],
        &[("retry-after-ms", "1e22")],
        &[("retry-after-ms", "inf")],
        // The largest integer RFC 9651 allows (a longer one makes the field invalid,
        // and an invalid field is ignored: `rate_limit.rs`).
        &[("ratelimit", "\"default\";r=0;t=999999999999999")],
        &[
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", "18446744073709551615"),
        ],
    ];
    for headers in cases {
        let mut all = vec![("content-type", "application/json"), ("cf-ray", RAY)];
        all.extend_from_slice(headers);
        let server = FaultServer::start(vec![Step::Raw(response(
            "429 Too Many Requests",
            &all,
            br#"{"success":false,"errors":[{"code":10100,"message":"rate limited"}]}"#,
        ))])
        .await;
        let client = fast(&server.base)
            .total_timeout(Duration::from_secs(600))
            .build()
            .unwrap();
        let err = client.sync(ACCOUNT, SERVER).await.unwrap_err();
        assert_no_secret(&format!("{err} {err:?}"));
        assert!(matches!(err, Error::RateLimited(_)), "{headers:?}: {err:?}");
        // A day, the clamp: advised, or the hold a rate-limit header set (a moment less
        // by the time the error is made).
        let wait = err.retry_after().expect("a wait");
        assert!(
            wait <= day && wait > day - Duration::from_secs(60),
            "{headers:?}: {wait:?}"
        );
        assert_eq!((err.attempts(), server.requests()), (1, 1), "{headers:?}");
        // The next call on the client is held back without a request, as after any
        // long advised wait.
        let second = client.sync(ACCOUNT, SERVER).await.unwrap_err();
        assert_eq!(second.attempts(), 0, "{headers:?}: {second}");
        assert_eq!(server.requests(), 1, "{headers:?}");
    }
}

#[tokio::test]
async fn rate_limited_retry_after_http_date() {
    let later = httpdate_in(Duration::from_secs(3600));
    let server = FaultServer::start(vec![Step::Raw(rate_limited(&later))]).await;
    let err = without_the_advised_wait(run(&server)).await.unwrap_err();
    assert!(matches!(err, Error::RateLimited(_)), "{err:?}");
    let wait = err.retry_after().unwrap();
    assert!(
        wait > Duration::from_secs(3590) && wait <= Duration::from_secs(3600),
        "{wait:?}"
    );
    assert_eq!((err.attempts(), server.requests()), (1, 1));
}

#[tokio::test]
async fn rate_limited_retry_after_past_http_date_retries_at_once() {
    let server = FaultServer::start(vec![
        Step::Raw(rate_limited("Sat, 01 Jan 2000 00:00:00 GMT")),
        Step::Raw(ready()),
    ])
    .await;
    let report = run(&server).await.unwrap();
    assert_eq!((report.meta.attempts, server.requests()), (2, 2));
}

#[tokio::test]
async fn rate_limit_headers_reach_the_metadata() {
    let bytes = response(
        "200 OK",
        &[
            ("content-type", "application/json"),
            ("ratelimit", "\"default\";r=3;t=42"),
            ("ratelimit-policy", "\"default\";q=1200;w=300"),
        ],
        ok_body(r#"{"status":"ready"}"#).as_bytes(),
    );
    let server = FaultServer::start(vec![Step::Raw(bytes)]).await;
    let rl = run(&server).await.unwrap().meta.rate_limit.unwrap();
    assert_eq!(
        (rl.remaining, rl.reset, rl.limit, rl.window),
        (
            Some(3),
            Some(Duration::from_secs(42)),
            Some(1200),
            Some(Duration::from_secs(300))
        )
    );
}

// ---- the time budget ----

#[tokio::test]
async fn deadline_reached_during_an_attempt() {
    let server = FaultServer::start(vec![Step::StallThen(Duration::from_secs(30), ready())]).await;
    let builder = fast(&server.base)
        .attempt_timeout(Duration::from_secs(10))
        .total_timeout(Duration::from_millis(300));
    // The message says the 300 ms deadline ended the attempt, not its 10 s timeout.
    let err = run_with(builder).await.unwrap_err();
    assert!(matches!(err, Error::Timeout(_)), "{err:?}");
    assert_eq!(
        err.to_string(),
        "the call's total timeout of 300ms was reached"
    );
    assert!(!err.is_retryable());
    assert_eq!((err.attempts(), server.requests()), (1, 1));
}

#[tokio::test]
async fn cross_origin_redirect_is_not_followed_and_leaks_nothing() {
    let target = FaultServer::start(vec![Step::Raw(ready())]).await;
    let location = format!("{}/steal", target.base);
    let redirect = response("307 Temporary Redirect", &[("location", &location)], b"");
    let origin = FaultServer::start(vec![Step::Raw(redirect)]).await;
    for creds in [
        Credentials::api_token(secrets::TOKEN),
        Credentials::global_key(secrets::EMAIL, secrets::KEY),
    ] {
        let err = run_with(fast(&origin.base).credentials(creds))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Api(_)), "{err:?}");
        assert_eq!(err.status(), Some(307));
        assert!(err.to_string().contains("not followed"), "{err}");
        assert_eq!(err.attempts(), 1);
    }
    assert_eq!(origin.requests(), 2);
    assert_eq!(
        target.requests(),
        0,
        "the second server must never be contacted"
    );
    for head in target.heads() {
        for h in ["authorization", "x-auth-key", "x-auth-email"] {
            assert!(!head.contains(h));
        }
    }
}

#[tokio::test]
async fn plain_http_to_a_non_loopback_host_is_refused_before_any_request() {
    for base in [
        "http://192.0.2.10/client/v4",
        "http://api.cloudflare.com/client/v4",
        "http://[2001:db8::1]/",
    ] {
        let err = fast(base).build().unwrap_err();
        assert!(matches!(err, Error::Config(_)), "{err:?}");
        assert_eq!(err.attempts(), 0);
        assert!(
            err.to_string()
                .contains("plain http to a non-loopback host"),
            "{err}"
        );
        assert_no_secret(&format!("{err} {err:?}"));
    }
    // The explicit opt-in builds (nothing is sent here).
    assert!(
        fast("http://192.0.2.10/client/v4")
            .allow_insecure_http(true)
            .build()
            .is_ok()
    );
}

#[tokio::test]
async fn https_goes_through_tls_and_a_bad_handshake_is_a_connect_error() {
    // The default client builds its own rustls (ring) config: no process-wide provider
    // is needed, and https really is TLS. A server answering the ClientHello with plain
    // HTTP fails the handshake cleanly.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut hello = [0u8; 5];
        socket.read_exact(&mut hello).await.unwrap();
        socket.write_all(&ready()).await.unwrap();
        hello
    });
    let builder = fast(&format!("https://127.0.0.1:{port}")).retry_policy(RetryPolicy::disabled());
    let err = run_with(builder).await.unwrap_err();
    let hello = server.await.unwrap();
    assert_eq!(
        hello[0], 0x16,
        "the client opened with a TLS handshake record"
    );
    assert!(matches!(err, Error::Connect(_)), "{err:?}");
    assert_eq!(err.attempts(), 1);
}

fn httpdate_in(d: Duration) -> String {
    httpdate::fmt_http_date(SystemTime::now() + d)
}
