//! Bulk sync against the three local limiters, timed: per limiter and N, the elapsed
//! time, the minimum the limit allows, their ratio, and the 429s drawn.
//!
//! ```text
//! cargo run --release -p workspace-tests --bin pacing-bench -- [QUOTA] [WINDOW_SECS] [N,N,…] [CONCURRENCY]
//! ```
//! Defaults: 50 per 5 s, N = 100,300,1000 (2× to 20× the quota), concurrency 8.

use std::time::{Duration, Instant};

use cloudflare_mcp_sync::{BulkOptions, Client, Credentials, RetryPolicy};
use workspace_tests::ratelimited::{Limiter, RateLimitedServer};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quota: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(50);
    let window = Duration::from_secs(args.get(1).and_then(|a| a.parse().ok()).unwrap_or(5));
    let sizes: Vec<usize> = args
        .get(2)
        .map(|a| a.split(',').filter_map(|n| n.parse().ok()).collect())
        .unwrap_or_else(|| vec![2 * quota, 6 * quota, 20 * quota]);
    let concurrency: usize = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(8);
    println!(
        "quota {quota} per {}s, concurrency {concurrency}",
        window.as_secs()
    );
    println!("limiter  N      elapsed_s  minimum_s  ratio  429s  failed");
    for limiter in [Limiter::Sliding, Limiter::Fixed, Limiter::Silent] {
        for &n in &sizes {
            let server = RateLimitedServer::start_limiter(limiter, quota, window).await;
            let client = Client::builder()
                .credentials(Credentials::api_token("bench"))
                .base_url(&server.base)
                .retry_policy(RetryPolicy::new().with_max_retry_after(window * 2))
                .total_timeout(Duration::from_secs(600))
                .build()
                .expect("client");
            let ids: Vec<String> = (0..n).map(|i| format!("server-{i:05}")).collect();
            let started = Instant::now();
            let results = client
                .sync_many(
                    "023e105f4ecef8ad9ca31a8372d0c353",
                    ids,
                    &BulkOptions::new().concurrency(concurrency),
                )
                .await;
            let elapsed = started.elapsed();
            let failed = results.iter().filter(|r| r.outcome.is_err()).count();
            // The first `quota` start at once; each further `quota` a window later.
            let minimum = window * (n.div_ceil(quota).saturating_sub(1) as u32);
            let ratio = minimum.as_secs_f64() / elapsed.as_secs_f64();
            let limited = server
                .counts
                .limited
                .load(std::sync::atomic::Ordering::Relaxed);
            println!(
                "{:<8} {n:<6} {:>9.2}  {:>9.2}  {ratio:>5.2}  {limited:>4}  {failed:>6}",
                format!("{limiter:?}").to_lowercase(),
                elapsed.as_secs_f64(),
                minimum.as_secs_f64(),
            );
        }
    }
}
