//! Bulk sync against a server that enforces a small rate limit: every id succeeds, in
//! input order, with few 429s, and progress is reported.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cloudflare_mcp_sync::{BulkOptions, Error, Progress};
use workspace_tests::ratelimited::RateLimitedServer;
use workspace_tests::{ACCOUNT, builder};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_sync_of_200_ids_paces_itself_under_the_limit() {
    // 60 requests per second; 200 ids need a little over 3 windows.
    let server = RateLimitedServer::start(60, Duration::from_secs(1)).await;
    let client = builder(&server.base)
        .total_timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let ids: Vec<String> = (0..200).map(|i| format!("server-{i:03}")).collect();
    let seen: Arc<Mutex<Vec<Progress>>> = Arc::default();
    let sink = seen.clone();
    let options = BulkOptions::new()
        .concurrency(16)
        .on_progress(move |p| sink.lock().unwrap().push(p.clone()));

    let results = client.sync_many(ACCOUNT, ids.clone(), &options).await;

    assert_eq!(results.len(), 200);
    for (item, id) in results.iter().zip(&ids) {
        assert_eq!(&item.server_id, id, "results come back in input order");
        assert!(
            item.outcome.as_ref().is_ok_and(|r| r.is_ready()),
            "{id}: {:?}",
            item.outcome
        );
    }
    let ok = server.counts.ok.load(Ordering::Relaxed);
    let limited = server.counts.limited.load(Ordering::Relaxed);
    assert_eq!(ok, 200, "each id synced exactly once");
    // Unpaced, the same load draws 80 or more 429s (`unpaced_calls_run_into_the_limit`);
    // paced, a few at window edges at most.
    assert!(limited <= 10, "{limited} 429s");
    let progress = seen.lock().unwrap();
    assert_eq!(progress.len(), 200);
    assert_eq!(
        progress.last().map(|p| (p.done, p.total, p.failed)),
        Some((200, 200, 0))
    );
    assert!(progress.windows(2).all(|w| w[0].done < w[1].done));
}

/// The baseline the pacing is measured against: the same 200 syncs fired by 16 tasks
/// with plain `sync` and no retries run straight into the limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unpaced_calls_run_into_the_limit() {
    // The baseline: the same load sent with a bare reqwest client, which paces nothing.
    let server = RateLimitedServer::start(60, Duration::from_secs(1)).await;
    workspace_tests::install_crypto_provider();
    let http = reqwest::Client::new();
    let url = format!("{}{}", server.base, workspace_tests::SYNC_PATH);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..16 {
        let (http, url, next) = (http.clone(), url.clone(), next.clone());
        tasks.spawn(async move {
            let mut limited = 0;
            while next.fetch_add(1, Ordering::Relaxed) < 200 {
                let r = http.post(&url).bearer_auth("t").send().await.unwrap();
                if r.status() == 429 {
                    limited += 1;
                }
            }
            limited
        });
    }
    let mut limited = 0;
    while let Some(n) = tasks.join_next().await {
        limited += n.unwrap();
    }
    assert_eq!(limited, server.counts.limited.load(Ordering::Relaxed));
    // At most two windows' worth (120) can pass in the time 200 requests take.
    assert!(limited >= 80, "{limited} 429s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_calls_on_one_client_share_its_pacer() {
    // The same load as above through one shared client: every call waits its turn
    // under the one pacer, fed by every response.
    let server = RateLimitedServer::start(60, Duration::from_secs(1)).await;
    let client = builder(&server.base).build().unwrap();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..16 {
        let (client, next) = (client.clone(), next.clone());
        tasks.spawn(async move {
            while next.fetch_add(1, Ordering::Relaxed) < 200 {
                let _ = client.sync(ACCOUNT, "server-x").await;
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    let limited = server.counts.limited.load(Ordering::Relaxed);
    eprintln!("shared client: {limited} 429s");
    assert!(
        limited < 80,
        "{limited} 429s: the calls were not paced together"
    );
}

#[tokio::test]
async fn one_failure_does_not_lose_the_others() {
    let server = RateLimitedServer::start(1000, Duration::from_secs(1)).await;
    let client = builder(&server.base).build().unwrap();
    let ids = ["good-1", "Bad--Id", "good-2", "", "good-3"];
    let results = client
        .sync_many(ACCOUNT, ids, &BulkOptions::new().concurrency(2))
        .await;
    let shape: Vec<(&str, bool)> = results
        .iter()
        .map(|r| (r.server_id.as_str(), r.outcome.is_ok()))
        .collect();
    assert_eq!(
        shape,
        vec![
            ("good-1", true),
            ("Bad--Id", false),
            ("good-2", true),
            ("", false),
            ("good-3", true)
        ]
    );
    assert!(matches!(results[1].outcome, Err(Error::InvalidInput(_))));
    assert_eq!(
        server.counts.ok.load(Ordering::Relaxed),
        3,
        "invalid ids send nothing"
    );
}

#[tokio::test]
async fn empty_input_is_an_empty_result() {
    let client = builder("http://127.0.0.1:9").build().unwrap();
    assert!(
        client
            .sync_many(ACCOUNT, Vec::<String>::new(), &BulkOptions::new())
            .await
            .is_empty()
    );
}
