//! Contract tests against Stoplight Prism, an independent server driven by the same
//! `openapi/` fragment: it validates every request against the spec (`--errors`), so a
//! path, header or auth mode the spec does not allow fails here.

use cloudflare_mcp_sync::{
    Client, Credentials, Error, RetryPolicy, SyncStatus, decode_sync_response,
};
use workspace_tests::prism::{Mode, Prism};
use workspace_tests::secrets::{self, assert_no_secret};
use workspace_tests::{ACCOUNT, SERVER, SYNC_PATH, workspace_root};

fn spec_path() -> std::path::PathBuf {
    let root = workspace_root();
    let prov = xtask::spec::load_provenance(&root).unwrap();
    xtask::spec::fragment_path(&root, &prov)
}

fn start(mode: Mode) -> Prism {
    Prism::start(&workspace_root(), &spec_path(), mode).unwrap_or_else(|e| panic!("{e:#}"))
}

/// Waits for Prism's verdict on `n` requests: it logs them after answering.
fn settle(prism: &Prism, n: usize) {
    prism
        .wait_for_requests(n)
        .unwrap_or_else(|e| panic!("{e:#}"));
}

fn both_modes() -> [Credentials; 2] {
    [
        Credentials::api_token(secrets::TOKEN),
        Credentials::global_key(secrets::EMAIL, secrets::KEY),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn the_client_passes_validation_in_both_auth_modes() {
    let prism = start(Mode::Static);
    for creds in both_modes() {
        let client = Client::builder()
            .credentials(creds)
            .base_url(&prism.base)
            .retry_policy(RetryPolicy::disabled())
            .build()
            .unwrap();
        let report = client
            .sync(ACCOUNT, SERVER)
            .await
            .unwrap_or_else(|e| panic!("{e}\nprism log:\n{}", prism.log()));
        // Prism's static answer is built from the schema: the first enum value.
        assert_eq!(report.status.as_str(), SyncStatus::SPEC_VALUES[0]);
        assert_eq!(report.meta.status, 200);
        assert_no_secret(&format!("{report:?}"));
    }
    settle(&prism, 2);
    assert_eq!(
        prism.violations(),
        Vec::<String>::new(),
        "prism log:\n{}",
        prism.log()
    );
    assert_eq!(prism.accepted(), 2, "prism log:\n{}", prism.log());
}

#[tokio::test(flavor = "multi_thread")]
async fn random_valid_responses_all_decode() {
    let prism = start(Mode::Dynamic { seed: 7 });
    let client = Client::builder()
        .credentials(Credentials::api_token(secrets::TOKEN))
        .base_url(&prism.base)
        .retry_policy(RetryPolicy::disabled())
        .build()
        .unwrap();
    let mut statuses = std::collections::BTreeSet::new();
    for _ in 0..25 {
        let report = client
            .sync(ACCOUNT, SERVER)
            .await
            .unwrap_or_else(|e| panic!("{e}\nprism log:\n{}", prism.log()));
        statuses.insert(report.status.as_str().to_string());
    }
    settle(&prism, 25);
    // Every status read is one the spec lists.
    for s in &statuses {
        assert!(SyncStatus::SPEC_VALUES.contains(&s.as_str()), "{s}");
    }
    assert_eq!(
        prism.violations(),
        Vec::<String>::new(),
        "prism log:\n{}",
        prism.log()
    );
}

/// The check can fail: what the spec forbids, Prism refuses.
#[tokio::test(flavor = "multi_thread")]
async fn prism_refuses_what_the_spec_forbids() {
    let prism = start(Mode::Static);
    workspace_tests::install_crypto_provider();
    let http = reqwest::Client::new();
    let url = format!("{}{SYNC_PATH}", prism.base);
    let no_auth = http.post(&url).send().await.unwrap();
    assert_eq!(no_auth.status().as_u16(), 401);
    let bad_id = http
        .post(format!(
            "{}/accounts/{ACCOUNT}/access/ai-controls/mcp/servers/Bad--Id/sync",
            prism.base
        ))
        .bearer_auth("t")
        .send()
        .await
        .unwrap();
    assert_eq!(bad_id.status().as_u16(), 422);
    let half_key = http
        .post(&url)
        .header("x-auth-email", "a@b.c")
        .send()
        .await
        .unwrap();
    assert_eq!(
        half_key.status().as_u16(),
        401,
        "the global key needs both headers"
    );
    settle(&prism, 3);
    assert!(prism.violations().len() >= 3, "prism log:\n{}", prism.log());
}

/// The documented 404 body, as Prism serves it from the spec, decodes into the typed
/// not-found error (and into the generated 404 type).
#[tokio::test(flavor = "multi_thread")]
async fn the_documented_404_decodes() {
    let prism = start(Mode::Static);
    workspace_tests::install_crypto_provider();
    let http = reqwest::Client::new();
    let response = http
        .post(format!("{}{SYNC_PATH}", prism.base))
        .bearer_auth("t")
        .header("prefer", "code=404")
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.bytes().await.unwrap();
    assert_eq!(status, 404);
    // The generated error type, whatever the spec names it (one body or a `oneOf`).
    let generated: cloudflare_mcp_sync_generated::operations::mcp_portals_api_sync_server::ErrorBody =
        serde_json::from_slice(&body).unwrap();
    assert_eq!(serde_json::to_value(generated).unwrap()["success"], false);
    let err = decode_sync_response(status, headers, &body, 1).unwrap_err();
    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
}

#[test]
fn the_main_job_against_prism_exits_3_in_both_auth_modes() {
    // Prism's static answer is the first status the spec lists (`waiting`): not ready.
    let first = SyncStatus::SPEC_VALUES[0];
    assert_ne!(
        first,
        SyncStatus::Ready.as_str(),
        "this test expects a status that is not ready"
    );
    let prism = start(Mode::Static);
    for env in [
        vec![("CLOUDFLARE_API_TOKEN", secrets::TOKEN)],
        vec![
            ("CLOUDFLARE_EMAIL", secrets::EMAIL),
            ("CLOUDFLARE_API_KEY", secrets::KEY),
        ],
    ] {
        let run = workspace_tests::main_job::run_sync(
            &[SERVER, "--account-id", ACCOUNT, "--base-url", &prism.base],
            &env,
        );
        assert_eq!(
            run.code,
            Some(3),
            "{}\nprism log:\n{}",
            run.stderr,
            prism.log()
        );
        let record = run.record();
        assert_eq!(record["report"]["status"], first, "{}", run.stdout);
        assert_eq!(record["report"]["http_status"], 200, "{}", run.stdout);
        assert_eq!(record["outcome"], "not_ready", "{}", run.stdout);
        assert_eq!(record["mock"], false, "{}", run.stdout);
        assert_no_secret(&run.stdout);
        assert_no_secret(&run.stderr);
    }
    settle(&prism, 2);
    assert_eq!(
        prism.violations(),
        Vec::<String>::new(),
        "prism log:\n{}",
        prism.log()
    );
    assert_eq!(prism.accepted(), 2, "prism log:\n{}", prism.log());
}

/// A port found free can be taken before Prism binds it (another test's socket): Prism
/// then exits with EADDRINUSE, and the next port is tried.
#[test]
fn prism_moves_to_the_next_port_when_one_is_taken() {
    let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken = held.local_addr().unwrap().port();
    let mut given = Vec::new();
    let prism = Prism::start_on_ports(&workspace_root(), &spec_path(), Mode::Static, &mut || {
        let port = if given.is_empty() {
            taken
        } else {
            workspace_tests::prism::free_port()?
        };
        given.push(port);
        Ok(port)
    })
    .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(given.len(), 2, "ports given: {given:?}");
    assert_eq!(prism.base, format!("http://127.0.0.1:{}", given[1]));
    drop(held);
}

/// When every port given is taken, the error names them, after the last attempt.
#[test]
fn prism_gives_up_after_its_attempts_naming_the_ports() {
    let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken = held.local_addr().unwrap().port();
    let mut calls = 0;
    let err = Prism::start_on_ports(&workspace_root(), &spec_path(), Mode::Static, &mut || {
        calls += 1;
        Ok(taken)
    })
    .err()
    .expect("no port was free");
    assert_eq!(calls, workspace_tests::prism::START_ATTEMPTS);
    assert!(
        format!("{err:#}").contains(&format!("in use: [{taken}, {taken}, {taken}]")),
        "{err:#}"
    );
    drop(held);
}

/// Prism exiting for any other reason fails at once, with its output, on the first
/// port: no retry, and no wait for the start timeout.
#[test]
fn prism_that_exits_fails_at_once_with_its_output() {
    let missing = workspace_root().join("target/no-such-spec.json");
    let mut calls = 0;
    let err = Prism::start_on_ports(&workspace_root(), &missing, Mode::Static, &mut || {
        calls += 1;
        workspace_tests::prism::free_port()
    })
    .err()
    .expect("prism cannot start on a missing spec");
    let text = format!("{err:#}");
    assert_eq!(calls, 1, "{text}");
    assert!(text.contains("prism exited before it listened"), "{text}");
    assert!(text.contains("no-such-spec.json"), "{text}");
}
