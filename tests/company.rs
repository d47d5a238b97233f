//! Clients in company: several clients (each with its own pacer, as separate processes
//! have) sharing one account's limit, and a run that starts after another client spent
//! the window. Every id syncs within its timeout; with headers, the clients converge
//! instead of overshooting together. (`company-bench` measures the same with real
//! processes; BENCHMARKS.md.)

use std::sync::atomic::Ordering;
use std::time::Duration;

use cloudflare_mcp_sync::{BulkOptions, Client};
use workspace_tests::ratelimited::{Limiter, RateLimitedServer};
use workspace_tests::{ACCOUNT, builder};

/// Runs `clients` clients of `per_client` ids each against `server` at once; returns
/// the ids that did not sync ready.
async fn in_company(
    server: &RateLimitedServer,
    clients: usize,
    per_client: usize,
    concurrency: usize,
    timeout: Duration,
) -> usize {
    let mut runs = tokio::task::JoinSet::new();
    for c in 0..clients {
        let client: Client = builder(&server.base)
            .total_timeout(timeout)
            .build()
            .unwrap();
        runs.spawn(async move {
            let ids: Vec<String> = (0..per_client).map(|i| format!("c{c}-{i:03}")).collect();
            let results = client
                .sync_many(ACCOUNT, ids, &BulkOptions::new().concurrency(concurrency))
                .await;
            results
                .iter()
                .filter(|r| !r.outcome.as_ref().is_ok_and(|r| r.is_ready()))
                .count()
        });
    }
    runs.join_all().await.into_iter().sum()
}

/// A 429 answered to a run's very first request was not its doing: another client
/// spent the window. Before, the pacer learned a quota of one request per window from
/// it and held to it: 30 ids against 10 per 2 s took 60 s, and ids failed their
/// timeout. Now the run waits the advised time and goes on at the limit's speed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_another_client_caused_does_not_pin_the_run() {
    let server =
        RateLimitedServer::start_limiter(Limiter::Silent, 10, Duration::from_secs(2)).await;
    server.spend_window();
    let failed = in_company(&server, 1, 30, 8, Duration::from_secs(20)).await;
    assert_eq!(
        failed, 0,
        "ids failed that a patient client syncs within 20 s"
    );
    assert_eq!(server.counts.ok.load(Ordering::Relaxed), 30);
}

/// Four clients, 30 ids each, against 20 per second without rate-limit headers: a
/// quota one of them learned while the others spent the window grows back, so every
/// id syncs within a timeout of three times what one client with all 120 ids needs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_sharing_a_silent_limit_all_finish() {
    let server =
        RateLimitedServer::start_limiter(Limiter::Silent, 20, Duration::from_secs(1)).await;
    let failed = in_company(&server, 4, 30, 16, Duration::from_secs(18)).await;
    assert_eq!(failed, 0);
    assert_eq!(server.counts.ok.load(Ordering::Relaxed), 120);
}

/// Four clients against one counted limit, started together: each spends its share of
/// what is left, found from how fast `r` falls beside its own requests, instead of all
/// of it. Fewer than 5 % of requests draw a 429 (all of them at once drew over 40 %).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_sharing_a_counted_limit_rarely_overshoot() {
    for limiter in [Limiter::Fixed, Limiter::Sliding] {
        let server = RateLimitedServer::start_limiter(limiter, 20, Duration::from_secs(1)).await;
        let failed = in_company(&server, 4, 30, 16, Duration::from_secs(30)).await;
        assert_eq!(failed, 0, "{limiter:?}");
        let ok = server.counts.ok.load(Ordering::Relaxed);
        let limited = server.counts.limited.load(Ordering::Relaxed);
        assert_eq!(ok, 120, "{limiter:?}");
        assert!(
            limited * 20 < ok + limited,
            "{limiter:?}: {limited} of {} requests were 429",
            ok + limited
        );
    }
}
