//! Load generator: N syncs, C in flight, through one shared client; or the same work
//! with a bare `reqwest::Client` (`--raw`), the baseline the library is measured against.
//!
//! ```text
//! cargo run --release -p cloudflare-mcp-sync --example loadgen -- \
//!     --base-url <URL> --account-id <A> --server-id <S> --requests <N> --concurrency <C> [--raw]
//! cargo run --release -p cloudflare-mcp-sync --example loadgen -- ... --bulk
//! ```
//!
//! The last line printed is `req/s: <number>`. Retries are off in both modes, so each
//! request is one HTTP exchange. `--bulk` syncs N distinct ids (`<S>-0`, `<S>-1`, …) with
//! `Client::sync_many` (paced under the rate limit); `cf-mcp-sync` draws the same run with a
//! progress bar.
//! Credentials: `CLOUDFLARE_API_TOKEN`, else a placeholder token for local servers.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use cloudflare_mcp_sync::{BulkOptions, Client, Credentials, RetryPolicy};
use cloudflare_mcp_sync_generated::types::McpPortalsApiSyncServerResponse;
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderValue, USER_AGENT};

struct Args {
    base_url: String,
    account_id: String,
    server_id: String,
    requests: usize,
    concurrency: usize,
    raw: bool,
    bulk: bool,
}

fn parse() -> Result<Args, String> {
    let mut it = std::env::args().skip(1);
    let (mut base_url, mut account_id, mut server_id) = (None, None, None);
    let (mut requests, mut concurrency, mut raw, mut bulk) = (1000usize, 32usize, false, false);
    while let Some(a) = it.next() {
        let mut value = || it.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--base-url" => base_url = Some(value()?),
            "--account-id" => account_id = Some(value()?),
            "--server-id" => server_id = Some(value()?),
            "--requests" => requests = value()?.parse().map_err(|e| format!("--requests: {e}"))?,
            "--concurrency" => {
                concurrency = value()?
                    .parse()
                    .map_err(|e| format!("--concurrency: {e}"))?
            }
            "--raw" => raw = true,
            "--bulk" => bulk = true,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(Args {
        base_url: base_url
            .ok_or("--base-url is required")?
            .trim_end_matches('/')
            .to_string(),
        account_id: account_id.ok_or("--account-id is required")?,
        server_id: server_id.ok_or("--server-id is required")?,
        requests: requests.max(1),
        concurrency: concurrency.max(1),
        raw,
        bulk,
    })
}

fn token() -> String {
    std::env::var("CLOUDFLARE_API_TOKEN")
        .unwrap_or_else(|_| "loadgen-placeholder-token".to_string())
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!(
                "error: {e}\nusage: loadgen --base-url <URL> --account-id <A> --server-id <S> --requests <N> --concurrency <C> [--raw] [--bulk]"
            );
            return ExitCode::from(2);
        }
    };
    let started = Instant::now();
    let (ok, failed) = if args.bulk {
        match bulk(&args).await {
            Ok(counts) => counts,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        }
    } else if args.raw {
        run_raw(&args).await
    } else {
        match run_library(&args).await {
            Ok(counts) => counts,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        }
    };
    let elapsed = started.elapsed();
    let mode = if args.bulk {
        "bulk"
    } else if args.raw {
        "raw"
    } else {
        "library"
    };
    println!(
        "mode: {mode}, requests: {}, concurrency: {}, ok: {ok}, failed: {failed}",
        args.requests, args.concurrency
    );
    println!("elapsed: {:.3} s", elapsed.as_secs_f64());
    if let Some(kib) = peak_rss_kib() {
        println!("peak_rss_kib: {kib}");
    }
    println!("req/s: {:.0}", args.requests as f64 / elapsed.as_secs_f64());
    if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// Peak resident set size of this process (Linux `VmHWM`), in KiB.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn library_client(args: &Args) -> Result<Client, cloudflare_mcp_sync::Error> {
    Client::builder()
        .credentials(Credentials::api_token(token()))
        .base_url(&args.base_url)
        .allow_insecure_http(true)
        .retry_policy(RetryPolicy::disabled())
        .build()
}

/// C workers share one client and a request counter.
async fn run_library(args: &Args) -> Result<(usize, usize), cloudflare_mcp_sync::Error> {
    let client = library_client(args)?;
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..args.concurrency {
        let (client, next, n) = (client.clone(), next.clone(), args.requests);
        let (account, server) = (args.account_id.clone(), args.server_id.clone());
        workers.spawn(async move {
            let (mut ok, mut failed) = (0, 0);
            while next.fetch_add(1, Ordering::Relaxed) < n {
                match client.sync(&account, &server).await {
                    Ok(_) => ok += 1,
                    Err(_) => failed += 1,
                }
            }
            (ok, failed)
        });
    }
    Ok(sum(workers).await)
}

/// The baseline: the same requests and the same decoding into the generated result
/// type, with a bare reqwest client (same pool, TLS and redirect settings) and nothing else.
async fn run_raw(args: &Args) -> (usize, usize) {
    // The same TLS stack as the library's: rustls with ring and the platform verifier.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let Ok(http) = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()
    else {
        return (0, args.requests);
    };
    let url: Arc<str> = format!(
        "{}/accounts/{}/access/ai-controls/mcp/servers/{}/sync",
        args.base_url, args.account_id, args.server_id
    )
    .into();
    let auth = HeaderValue::from_str(&format!("Bearer {}", token()))
        .unwrap_or(HeaderValue::from_static("Bearer x"));
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..args.concurrency {
        let (http, next, n, url, auth) = (
            http.clone(),
            next.clone(),
            args.requests,
            url.clone(),
            auth.clone(),
        );
        workers.spawn(async move {
            let (mut ok, mut failed) = (0, 0);
            while next.fetch_add(1, Ordering::Relaxed) < n {
                let sent = http
                    .post(&*url)
                    .header(AUTHORIZATION, auth.clone())
                    .header(ACCEPT, "application/json")
                    .header(USER_AGENT, "loadgen-raw")
                    .send()
                    .await;
                let decoded = match sent {
                    Ok(r) if r.status().is_success() => match r.bytes().await {
                        Ok(b) => {
                            serde_json::from_slice::<McpPortalsApiSyncServerResponse>(&b).is_ok()
                        }
                        Err(_) => false,
                    },
                    _ => false,
                };
                if decoded { ok += 1 } else { failed += 1 }
            }
            (ok, failed)
        });
    }
    sum(workers).await
}

async fn sum(mut workers: tokio::task::JoinSet<(usize, usize)>) -> (usize, usize) {
    let (mut ok, mut failed) = (0, 0);
    while let Some(r) = workers.join_next().await {
        if let Ok((o, f)) = r {
            ok += o;
            failed += f;
        }
    }
    (ok, failed)
}

/// `sync_many` over N distinct ids.
async fn bulk(args: &Args) -> Result<(usize, usize), cloudflare_mcp_sync::Error> {
    let client = library_client(args)?;
    let ids: Vec<String> = (0..args.requests)
        .map(|i| format!("{}-{i}", args.server_id))
        .collect();
    let options = BulkOptions::new().concurrency(args.concurrency);
    let results = client.sync_many(&args.account_id, ids, &options).await;
    let ok = results.iter().filter(|r| r.outcome.is_ok()).count();
    Ok((ok, results.len() - ok))
}
