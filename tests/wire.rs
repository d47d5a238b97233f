//! The ergonomic client over real HTTP on 127.0.0.1 (wiremock): what it sends, how it
//! unwraps the envelope, and the error for every class of answer.

use std::time::Duration;

use cloudflare_mcp_sync::{
    ApiErrorItem, Client, ClientBuilder, Credentials, Error, SyncStatus, TransportKind,
};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};
use workspace_tests::secrets::{self, assert_no_secret};
use workspace_tests::{ACCOUNT, RAY, SERVER, SYNC_PATH, builder, json_response, ok_body};

async fn server_answering(template: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(SYNC_PATH))
        .respond_with(template)
        .mount(&server)
        .await;
    server
}

async fn sync_against(
    template: ResponseTemplate,
) -> Result<cloudflare_mcp_sync::SyncReport, Error> {
    let server = server_answering(template).await;
    let client = builder(&server.uri()).build().unwrap();
    client.sync(ACCOUNT, SERVER).await
}

fn only_request(requests: &[Request]) -> &Request {
    assert_eq!(requests.len(), 1, "expected exactly one request");
    &requests[0]
}

#[tokio::test]
async fn token_mode_sends_bearer_and_no_global_key_headers() {
    let server = server_answering(json_response(200, &ok_body(r#"{"status":"ready"}"#))).await;
    let client = builder(&server.uri())
        .user_agent_suffix("deploy-bot/1.2")
        .build()
        .unwrap();
    let report = client.sync(ACCOUNT, SERVER).await.unwrap();
    assert!(report.is_ready());

    let requests = server.received_requests().await.unwrap();
    let req = only_request(&requests);
    assert_eq!(req.method.as_str(), "POST");
    assert_eq!(req.url.path(), SYNC_PATH);
    assert_eq!(req.url.query(), None);
    assert!(req.body.is_empty(), "the sync request has no body");
    let h = &req.headers;
    assert_eq!(
        h["authorization"],
        format!("Bearer {}", secrets::TOKEN).as_str()
    );
    assert!(h.get("x-auth-email").is_none() && h.get("x-auth-key").is_none());
    assert_eq!(h["accept"], "application/json");
    let agent = h["user-agent"].to_str().unwrap();
    let version = agent
        .strip_prefix("cloudflare-mcp-sync/")
        .unwrap_or_default();
    assert!(version.starts_with(|c: char| c.is_ascii_digit()), "{agent}");
    assert!(agent.ends_with(" deploy-bot/1.2"), "{agent}");
    assert!(
        h.get("api-version").is_none(),
        "progenitor's api-version header is not sent"
    );
}

#[tokio::test]
async fn global_key_mode_sends_email_and_key_and_no_bearer() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(SYNC_PATH))
        .and(header("x-auth-email", secrets::EMAIL))
        .and(header("x-auth-key", secrets::KEY))
        .respond_with(json_response(200, &ok_body(r#"{"status":"ready"}"#)))
        .expect(1)
        .mount(&server)
        .await;
    let client = Client::builder()
        .credentials(Credentials::global_key(secrets::EMAIL, secrets::KEY))
        .base_url(server.uri())
        .build()
        .unwrap();
    client.sync(ACCOUNT, SERVER).await.unwrap();
    let requests = server.received_requests().await.unwrap();
    assert!(
        only_request(&requests)
            .headers
            .get("authorization")
            .is_none()
    );
}

#[tokio::test]
async fn base_url_with_a_path_prefix_is_kept() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/client/v4{SYNC_PATH}")))
        .respond_with(json_response(200, &ok_body(r#"{"status":"ready"}"#)))
        .expect(1)
        .mount(&server)
        .await;
    let client = builder(&format!("{}/client/v4/", server.uri()))
        .build()
        .unwrap();
    client.sync(ACCOUNT, SERVER).await.unwrap();
}

#[tokio::test]
async fn envelope_is_unwrapped_with_metadata() {
    let template = json_response(
        200,
        r#"{"success":true,"errors":[],"messages":[{"code":1,"message":"synced 3 tools"}],
            "result":{"status":"ready","extra_field":{"nested":[1,2]}},"result_info":{"x":1}}"#,
    )
    .insert_header("ratelimit", "\"default\";r=50;t=30")
    .insert_header("ratelimit-policy", "\"burst\";q=100;w=60");
    let report = sync_against(template).await.unwrap();
    assert_eq!(report.status, SyncStatus::Ready);
    assert!(report.is_ready() && report.failure().is_none() && !report.is_worth_retrying());
    assert_eq!(
        report.messages,
        vec![ApiErrorItem::new(1, "synced 3 tools")]
    );
    assert_eq!(report.meta.status, 200);
    assert_eq!(report.meta.ray_id.as_deref(), Some(RAY));
    assert_eq!(report.meta.attempts, 1);
    let rl = report.meta.rate_limit.as_ref().unwrap();
    assert_eq!((rl.remaining, rl.limit), (Some(50), Some(100)));
    assert_eq!(report.meta.headers["cf-ray"], RAY);
}

#[tokio::test]
async fn unknown_status_keeps_the_raw_value() {
    let report = sync_against(json_response(200, &ok_body(r#"{"status":"syncing"}"#)))
        .await
        .unwrap();
    assert_eq!(report.status, SyncStatus::Unknown("syncing".into()));
    assert_eq!(report.status.as_str(), "syncing");
    assert!(!report.is_ready());
}

#[tokio::test]
async fn upstream_failure_with_negative_and_float_codes() {
    let result = r#"{"status":"error","error":"MCP server returned an error",
        "error_details":{"cause":"internal error","is_upstream":true,"mcp_code":-32603.0,"retryable":true,"status_code":502}}"#;
    let report = sync_against(json_response(200, &ok_body(result)))
        .await
        .unwrap();
    assert_eq!(report.status, SyncStatus::Error);
    let f = report.failure().unwrap();
    assert_eq!(f.message.as_deref(), Some("MCP server returned an error"));
    assert_eq!(f.cause.as_deref(), Some("internal error"));
    assert_eq!(f.server_answered(), Some(true));
    assert_eq!(f.mcp_code, Some(-32603));
    assert_eq!(f.status_code, Some(502));
    assert_eq!(f.retryable, Some(true));
    assert!(f.unparsed_numbers.is_empty());
    assert!(report.is_worth_retrying());
    assert_eq!(
        f.to_string(),
        "MCP server returned an error: internal error (the MCP server answered, mcp code -32603, http 502, retryable)"
    );
}

#[tokio::test]
async fn non_integral_codes_are_kept_not_rounded() {
    let result = r#"{"status":"error","error_details":{"is_upstream":false,"mcp_code":1.5,"status_code":70000,"retryable":false}}"#;
    let report = sync_against(json_response(200, &ok_body(result)))
        .await
        .unwrap();
    let f = report.failure().unwrap();
    assert_eq!((f.mcp_code, f.status_code), (None, None));
    assert_eq!(
        f.unparsed_numbers,
        vec![
            ("mcp_code".to_string(), "1.5".to_string()),
            ("status_code".to_string(), "70000".to_string())
        ]
    );
    assert_eq!(f.server_answered(), Some(false));
    assert!(!report.is_worth_retrying(), "retryable:false is final");
}

#[tokio::test]
async fn invalid_ids_send_no_request() {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    let client = builder(&server.uri()).build().unwrap();
    let long = "x".repeat(33);
    let cases: [(&str, &str, &str); 12] = [
        (ACCOUNT, "", "server id"),
        (ACCOUNT, "My-Server", "server id"),
        (ACCOUNT, "../../x", "server id"),
        (ACCOUNT, "a--b", "server id"),
        (ACCOUNT, &long, "server id"),
        ("", SERVER, "account id"),
        (".", SERVER, "account id"),
        ("..", SERVER, "account id"),
        ("acc/../../zones", SERVER, "account id"),
        ("acc?x=1", SERVER, "account id"),
        ("acc#frag", SERVER, "account id"),
        ("acc%2F..", SERVER, "account id"),
    ];
    for (account, server_id, field) in cases {
        match client.sync(account, server_id).await {
            Err(Error::InvalidInput(e)) => assert_eq!(e.field, field, "{account:?} {server_id:?}"),
            other => panic!("{account:?} {server_id:?}: expected InvalidInput, got {other:?}"),
        }
    }
    assert!(server.received_requests().await.unwrap().is_empty());
}

/// Every error class, its `Display` (snapshotted: one readable line each) and what a
/// caller can ask it.
#[tokio::test]
async fn error_classes_and_their_display() {
    let html = "<html><head><title>502 Bad Gateway</title></head>\n<body>cloudflare</body></html>";
    let cases: Vec<(&str, ResponseTemplate)> = vec![
        ("401 authentication", json_response(401, r#"{"success":false,"errors":[{"code":10000,"message":"Authentication error"}],"messages":[],"result":null}"#)),
        ("403 missing permission", json_response(403, r#"{"success":false,"errors":[{"code":9109,"message":"Unauthorized to access requested resource"}],"messages":[],"result":null}"#)),
        ("400 with error_chain", json_response(400, r#"{"success":false,"errors":[{"code":6003,"message":"Invalid request headers","error_chain":[{"code":6100,"message":"Invalid format for X-Auth-Email header"},{"code":6101,"message":"Invalid format for X-Auth-Key header"}]}],"messages":[],"result":null}"#)),
        ("404 documented", json_response(404, r#"{"success":false,"errors":[{"code":7002,"message":"Not Found"}]}"#)),
        ("404 could not route", json_response(404, r#"{"success":false,"errors":[{"code":7003,"message":"Could not route to /accounts/x/access, perhaps your object identifier is invalid?"},{"code":7000,"message":"No route for that URI"}],"messages":[],"result":null}"#)),
        ("429 rate limited", json_response(429, r#"{"success":false,"errors":[{"code":10100,"message":"More than 1200 requests per 300 seconds reached. Please wait and consider throttling your request speed"}],"messages":[],"result":null}"#).insert_header("retry-after", "300")),
        ("409 conflict", json_response(409, r#"{"success":false,"errors":[{"code":4000000001,"message":"conflict","documentation_url":"https://developers.cloudflare.com/x"}],"messages":[],"result":null}"#)),
        ("500 JSON", json_response(500, r#"{"success":false,"errors":[{"code":10001,"message":"Internal error"}],"messages":[],"result":null}"#)),
        ("502 HTML from the edge", ResponseTemplate::new(502).insert_header("cf-ray", RAY).set_body_raw(html, "text/html")),
        ("200 success false", json_response(200, r#"{"success":false,"errors":[{"code":1001,"message":"sync refused"}],"messages":[],"result":{"status":"ready"}}"#)),
        ("200 without result", json_response(200, r#"{"success":true,"errors":[],"messages":[]}"#)),
        ("200 result null", json_response(200, r#"{"success":true,"errors":[],"messages":[],"result":null}"#)),
        ("200 undecodable JSON", json_response(200, r#"{"success":true,"result":{"status":42}}"#)),
        ("200 truncated JSON", json_response(200, r#"{"success":true,"result":{"sta"#)),
        ("200 HTML", ResponseTemplate::new(200).insert_header("cf-ray", RAY).set_body_raw("<html>maintenance</html>", "text/html")),
    ];
    let mut lines = Vec::new();
    for (name, template) in cases {
        let err = sync_against(template).await.unwrap_err();
        let display = err.to_string();
        assert!(
            !display.contains('\n'),
            "{name}: Display is not one line: {display}"
        );
        assert_no_secret(&display);
        assert_no_secret(&format!("{err:?}"));
        let status = err.status().unwrap();
        assert_eq!(err.ray_id(), Some(RAY), "{name}");
        assert_eq!(err.attempts(), 1, "{name}");
        let kind = match &err {
            Error::Unauthorized(_) => "Unauthorized",
            Error::NotFound(_) => "NotFound",
            Error::RateLimited(_) => "RateLimited",
            Error::Api(_) => "Api",
            Error::Unsuccessful(_) => "Unsuccessful",
            Error::MissingResult(_) => "MissingResult",
            Error::NotJson(_) => "NotJson",
            Error::Decode { .. } => "Decode",
            other => panic!("{name}: unexpected {other:?}"),
        };
        let codes: Vec<i64> = err.cloudflare_errors().iter().map(|e| e.code).collect();
        lines.push(format!(
            "{name}\n  kind: {kind}, status: {status}, codes: {codes:?}, retryable: {}, retry_after: {:?}\n  display: {display}",
            err.is_retryable(),
            err.retry_after(),
        ));
    }
    insta::assert_snapshot!("error_displays", lines.join("\n"));
}

#[tokio::test]
async fn error_chain_and_big_codes_are_kept() {
    let body = r#"{"success":false,"errors":[{"code":6003,"message":"Invalid request headers","documentation_url":"https://d","source":{"pointer":"/h"},"meta":{"k":1},
        "error_chain":[{"code":6100,"message":"bad email"},{"code":6101,"message":"bad key"}]},{"code":4000000001.0,"message":"big"}]}"#;
    let err = sync_against(json_response(400, body)).await.unwrap_err();
    let items = err.cloudflare_errors();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0].documentation_url.as_deref(), Some("https://d"));
    assert_eq!(items[0].source, Some(serde_json::json!({"pointer": "/h"})));
    assert_eq!(items[0].extra["meta"], serde_json::json!({"k": 1}));
    assert_eq!(
        items[0]
            .error_chain
            .iter()
            .map(|e| e.code)
            .collect::<Vec<_>>(),
        vec![6100, 6101]
    );
    assert_eq!(items[1].code, 4_000_000_001);
}

#[tokio::test]
async fn html_502_keeps_status_content_type_and_a_bounded_snippet() {
    let page = format!("<html>{}</html>", "<p>edge</p>".repeat(2000));
    let template = ResponseTemplate::new(502).set_body_raw(page, "text/html; charset=utf-8");
    let err = sync_against(template).await.unwrap_err();
    let Error::NotJson(d) = &err else {
        panic!("expected NotJson, got {err:?}")
    };
    assert_eq!(d.status, 502);
    assert_eq!(d.content_type.as_deref(), Some("text/html; charset=utf-8"));
    let snippet = d.snippet.as_deref().unwrap();
    assert!(snippet.starts_with("<html><p>edge</p>"));
    assert!(snippet.chars().count() <= cloudflare_mcp_sync::SNIPPET_CHARS + 1);
    assert!(err.to_string().len() < 400);
}

#[tokio::test]
async fn decode_error_keeps_the_decoder_message_and_source() {
    let err = sync_against(json_response(
        200,
        r#"{"success":true,"result":{"status":42}}"#,
    ))
    .await
    .unwrap_err();
    let Error::Decode { details, source } = &err else {
        panic!("expected Decode, got {err:?}")
    };
    assert!(source.to_string().contains("line 1"), "{source}");
    assert!(
        details
            .problem
            .as_deref()
            .unwrap()
            .contains("does not decode")
    );
    assert!(
        details
            .snippet
            .as_deref()
            .unwrap()
            .contains("\"status\":42")
    );
    assert!(std::error::Error::source(&err).is_some());
}

#[tokio::test]
async fn connection_refused_is_a_connect_error() {
    // A port that refuses connections and that no other test can take (see
    // `closed_port_base`).
    let closed = workspace_tests::closed_port_base();
    let client = builder(&closed).build().unwrap();
    let err = client.sync(ACCOUNT, SERVER).await.unwrap_err();
    let Error::Connect(t) = &err else {
        panic!("expected Connect, got {err:?}")
    };
    assert_eq!(t.kind(), TransportKind::Connect);
    assert!(err.is_retryable());
    assert_eq!(err.attempts(), 1);
    assert!(err.to_string().starts_with("connection failed"), "{err}");
    assert!(err.status().is_none());
}

#[tokio::test]
async fn slow_answer_is_a_timeout_error() {
    let server = server_answering(
        json_response(200, &ok_body(r#"{"status":"ready"}"#)).set_delay(Duration::from_secs(5)),
    )
    .await;
    let client = builder(&server.uri())
        .attempt_timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    let err = client.sync(ACCOUNT, SERVER).await.unwrap_err();
    let Error::Timeout(t) = &err else {
        panic!("expected Timeout, got {err:?}")
    };
    assert_eq!(t.kind(), TransportKind::Timeout);
    assert_eq!(err.to_string(), "attempt timed out after 100ms");
}

#[test]
fn configuration_errors_are_errors_not_panics() {
    let cases: Vec<(&str, ClientBuilder)> = vec![
        ("no credentials", Client::builder()),
        ("malformed base URL", builder("not a url")),
        (
            "non-loopback http",
            builder("http://api.example.com/client/v4"),
        ),
        ("unsupported scheme", builder("ftp://127.0.0.1/")),
        (
            "base URL with query",
            builder("https://api.example.com/?x=1"),
        ),
        (
            "empty token",
            Client::builder().credentials(Credentials::api_token("")),
        ),
        (
            "token with newline",
            Client::builder().credentials(Credentials::api_token("a\nb")),
        ),
        (
            "user agent with newline",
            builder("https://api.example.com").user_agent_suffix("x\ny"),
        ),
        (
            "zero timeout",
            builder("https://api.example.com").total_timeout(Duration::ZERO),
        ),
    ];
    let mut lines = Vec::new();
    for (name, b) in cases {
        let err = b.build().unwrap_err();
        assert!(matches!(err, Error::Config(_)), "{name}: {err:?}");
        assert_eq!(err.attempts(), 0);
        assert_no_secret(&err.to_string());
        lines.push(format!("{name}: {err}"));
    }
    insta::assert_snapshot!("config_errors", lines.join("\n"));
}

#[test]
fn from_env_conflicts_are_configuration_errors() {
    let env = |vars: &'static [(&'static str, &'static str)]| {
        move |name: &str| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    };
    let both = ClientBuilder::from_lookup(env(&[
        ("CLOUDFLARE_API_TOKEN", secrets::TOKEN),
        ("CLOUDFLARE_API_KEY", secrets::KEY),
    ]));
    let e = both.unwrap_err();
    assert!(matches!(e, Error::Config(_)));
    assert_no_secret(&e.to_string());
    let half =
        ClientBuilder::from_lookup(env(&[("CLOUDFLARE_EMAIL", secrets::EMAIL)])).unwrap_err();
    assert!(
        half.to_string().contains("CLOUDFLARE_API_KEY is not"),
        "{half}"
    );
    assert_no_secret(&half.to_string());
    let none = ClientBuilder::from_lookup(env(&[])).unwrap_err();
    assert!(none.to_string().contains("no credentials"), "{none}");
    let client = ClientBuilder::from_lookup(env(&[
        ("CLOUDFLARE_API_TOKEN", secrets::TOKEN),
        ("CLOUDFLARE_BASE_URL", "http://127.0.0.1:9/client/v4/"),
    ]))
    .unwrap()
    .build()
    .unwrap();
    assert_eq!(client.base_url(), "http://127.0.0.1:9/client/v4");
    let bad_url = ClientBuilder::from_lookup(env(&[
        ("CLOUDFLARE_API_TOKEN", secrets::TOKEN),
        ("CLOUDFLARE_BASE_URL", "::"),
    ]));
    assert!(matches!(bad_url.unwrap().build(), Err(Error::Config(_))));
}

/// Formats every public type that can hold or have seen a credential, with `{}` and
/// `{:?}`, and finds no secret in any of it.
#[tokio::test]
async fn no_secret_in_any_debug_or_display() {
    let server = server_answering(json_response(
        200,
        &ok_body(r#"{"status":"error","error":"boom","error_details":{"cause":"c"}}"#),
    ))
    .await;
    let mut outputs: Vec<String> = Vec::new();
    for creds in [
        Credentials::api_token(secrets::TOKEN),
        Credentials::global_key(secrets::EMAIL, secrets::KEY),
    ] {
        outputs.push(format!("{creds:?}"));
        let b = Client::builder()
            .credentials(creds.clone())
            .base_url(server.uri());
        outputs.push(format!("{b:?}"));
        let client = b.build().unwrap();
        outputs.push(format!("{client:?}"));
        let report = client.sync(ACCOUNT, SERVER).await.unwrap();
        outputs.push(format!("{report:?}"));
        outputs.push(serde_json::to_string(&report).unwrap());
        outputs.push(format!("{}", report.failure().unwrap()));
        // Errors of every origin, built with these credentials.
        let bad = Client::builder()
            .credentials(creds.clone())
            .base_url("http://example.com")
            .build()
            .unwrap_err();
        outputs.push(format!("{bad} {bad:?}"));
        let invalid = client.sync("..", SERVER).await.unwrap_err();
        outputs.push(format!("{invalid} {invalid:?}"));
        let closed = workspace_tests::closed_port_base();
        let refused = Client::builder()
            .credentials(creds)
            .base_url(closed.clone())
            .build()
            .unwrap();
        let e = refused.sync(ACCOUNT, SERVER).await.unwrap_err();
        outputs.push(format!("{e} {e:?} {:?}", std::error::Error::source(&e)));
    }
    let e = sync_against(json_response(
        401,
        r#"{"success":false,"errors":[{"code":10000,"message":"Authentication error"}]}"#,
    ))
    .await
    .unwrap_err();
    outputs.push(format!("{e} {e:?}"));
    for out in &outputs {
        assert_no_secret(out);
    }
    assert!(
        outputs.iter().any(|o| o.contains("redacted")),
        "Debug should say it redacted"
    );
}

/// The client remembers the last ids' URL; switching ids, or passing a bad one after a
/// good one, must still be checked and routed afresh.
#[tokio::test]
async fn repeated_and_alternating_ids_go_to_the_right_url() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(json_response(200, &ok_body(r#"{"status":"ready"}"#)))
        .mount(&server)
        .await;
    let client = builder(&server.uri()).build().unwrap();
    for id in ["srv-a", "srv-a", "srv-b", "srv-a"] {
        client.sync(ACCOUNT, id).await.unwrap();
    }
    assert!(matches!(
        client.sync(ACCOUNT, "srv-a/../x").await,
        Err(Error::InvalidInput(_))
    ));
    assert!(matches!(
        client.sync("..", "srv-a").await,
        Err(Error::InvalidInput(_))
    ));
    client.sync("other-account", "srv-a").await.unwrap();
    let paths: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| r.url.path().to_string())
        .collect();
    let expected: Vec<String> = [
        (ACCOUNT, "srv-a"),
        (ACCOUNT, "srv-a"),
        (ACCOUNT, "srv-b"),
        (ACCOUNT, "srv-a"),
        ("other-account", "srv-a"),
    ]
    .iter()
    .map(|(a, s)| format!("/accounts/{a}/access/ai-controls/mcp/servers/{s}/sync"))
    .collect();
    assert_eq!(paths, expected);
}

/// The escape hatch: your own `reqwest::Client` carries the requests (here, its default
/// header shows up at the server), with the library's auth headers on top.
#[tokio::test]
async fn your_own_reqwest_client_is_used() {
    workspace_tests::install_crypto_provider();
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(SYNC_PATH))
        .and(header("x-proxy-tag", "team-a"))
        .and(header(
            "authorization",
            format!("Bearer {}", secrets::TOKEN).as_str(),
        ))
        .respond_with(json_response(200, &ok_body(r#"{"status":"ready"}"#)))
        .expect(1)
        .mount(&server)
        .await;
    let mut defaults = reqwest::header::HeaderMap::new();
    defaults.insert(
        "x-proxy-tag",
        reqwest::header::HeaderValue::from_static("team-a"),
    );
    let own = reqwest::Client::builder()
        .default_headers(defaults)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let client = builder(&server.uri()).http_client(own).build().unwrap();
    assert!(client.sync(ACCOUNT, SERVER).await.unwrap().is_ready());
}

#[tokio::test]
async fn a_client_is_shared_across_tasks() {
    let server = server_answering(json_response(200, &ok_body(r#"{"status":"ready"}"#))).await;
    let client = builder(&server.uri()).build().unwrap();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let c = client.clone();
        tasks.push(tokio::spawn(async move {
            c.sync(ACCOUNT, SERVER).await.map(|r| r.is_ready())
        }));
    }
    for t in tasks {
        assert!(t.await.unwrap().unwrap());
    }
    assert_eq!(server.received_requests().await.unwrap().len(), 8);
}
