//! Several `cf-mcp-sync` processes sharing one account's limit, as deploy jobs do: per
//! limiter, P processes of K ids each started together against one local limiter, and
//! in the same run the baseline of one process with all P·K ids. Prints the time until
//! the last process ended, the ids that did not sync, and the share of requests that
//! drew a 429. A last row starts one process right after another client spent the
//! whole window.
//!
//! ```text
//! cargo build --release -p cf-mcp-sync
//! cargo run --release -p workspace-tests --bin company-bench -- [QUOTA] [WINDOW_SECS] [P] [K] [CONCURRENCY,…]
//! ```
//! Defaults: 50 per 5 s, 6 processes × 40 ids, concurrency 8 (the default) and 32.
//! `COMPANY_BENCH_LIMITERS=silent,fixed,sliding` picks limiters.

use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use workspace_tests::ratelimited::{Limiter, RateLimitedServer};

const ACCOUNT: &str = "023e105f4ecef8ad9ca31a8372d0c353";

/// What one run of P processes came to.
struct Run {
    elapsed: Duration,
    slowest_process: Duration,
    fastest_process: Duration,
    failed_ids: usize,
    requests: usize,
    limited: usize,
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, default: u64| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default);
    let quota = arg(0, 50) as usize;
    let window = Duration::from_secs(arg(1, 5));
    let processes = arg(2, 6) as usize;
    let per_process = arg(3, 40) as usize;
    let concurrencies: Vec<u16> = args
        .get(4)
        .map(|a| a.split(',').filter_map(|n| n.parse().ok()).collect())
        .unwrap_or_else(|| vec![8, 32]);
    let binary = std::env::current_exe()
        .expect("own path")
        .with_file_name("cf-mcp-sync");
    assert!(
        binary.exists(),
        "{} is missing: run `cargo build --release -p cf-mcp-sync` first",
        binary.display()
    );
    println!(
        "quota {quota} per {}s; {processes} processes x {per_process} ids against 1 process x {} ids",
        window.as_secs(),
        processes * per_process
    );
    println!(
        "limiter  C   layout   elapsed_s  fastest_s  slowest_s  failed  requests  429s  429_share"
    );
    // `COMPANY_BENCH_LIMITERS=silent,fixed` runs only those.
    let only = std::env::var("COMPANY_BENCH_LIMITERS").unwrap_or_default();
    for limiter in [Limiter::Silent, Limiter::Fixed, Limiter::Sliding] {
        let name = format!("{limiter:?}").to_lowercase();
        if !only.is_empty() && !only.split(',').any(|o| o == name) {
            continue;
        }
        for &c in &concurrencies {
            for (label, layout) in [
                ("1xall", vec![processes * per_process]),
                ("company", vec![per_process; processes]),
            ] {
                let server = RateLimitedServer::start_limiter(limiter, quota, window).await;
                let run = run(&binary, &server, &layout, c).await;
                print_row(limiter, c, label, &run);
                if std::env::var_os("COMPANY_BENCH_429S").is_some() {
                    let at = server.counts.limited_at.lock().expect("lock");
                    let shown: Vec<String> = at
                        .iter()
                        .map(|(s, t)| format!("{:.2}/{:.2}", s.as_secs_f64(), t.as_secs_f64()))
                        .collect();
                    println!("  429s at (since start / time left): {}", shown.join(" "));
                    // Per window, per process: admitted/refused.
                    let arrivals = server.counts.arrivals.lock().expect("lock");
                    let windows = arrivals
                        .iter()
                        .map(|a| (a.0.as_secs_f64() / window.as_secs_f64()) as usize)
                        .max()
                        .unwrap_or(0);
                    for w in 0..=windows {
                        let mut cells = Vec::new();
                        for p in 0..layout.len() {
                            let prefix = format!("p{p}-");
                            let (mut ok, mut no) = (0, 0);
                            for a in arrivals.iter().filter(|a| {
                                (a.0.as_secs_f64() / window.as_secs_f64()) as usize == w
                                    && a.1.starts_with(&prefix)
                            }) {
                                if a.2 { ok += 1 } else { no += 1 }
                            }
                            cells.push(format!("{ok:>2}/{no:<2}"));
                        }
                        println!("  window {w:>2}: {}", cells.join(" "));
                    }
                }
            }
        }
    }
    // One process right after another client spent the window (the 429 is not its own).
    let spent_window = Duration::from_secs(arg(5, 20));
    let server = RateLimitedServer::start_limiter(Limiter::Silent, quota, spent_window).await;
    server.spend_window();
    let run = run(&binary, &server, &[30], 8).await;
    print_row(
        Limiter::Silent,
        8,
        &format!("spent{}s", spent_window.as_secs()),
        &run,
    );
}

fn print_row(limiter: Limiter, c: u16, label: &str, run: &Run) {
    println!(
        "{:<8} {c:<3} {label:<8} {:>9.2}  {:>9.2}  {:>9.2}  {:>6}  {:>8}  {:>4}  {:>8.1}%",
        format!("{limiter:?}").to_lowercase(),
        run.elapsed.as_secs_f64(),
        run.fastest_process.as_secs_f64(),
        run.slowest_process.as_secs_f64(),
        run.failed_ids,
        run.requests,
        run.limited,
        100.0 * run.limited as f64 / run.requests.max(1) as f64,
    );
}

/// Starts one process per entry of `layout` (its number of ids) at once, and waits for
/// them all.
async fn run(
    binary: &std::path::Path,
    server: &RateLimitedServer,
    layout: &[usize],
    concurrency: u16,
) -> Run {
    let started = Instant::now();
    let children: Vec<_> = layout
        .iter()
        .enumerate()
        .map(|(p, &n)| {
            let ids: Vec<String> = (0..n).map(|i| format!("p{p}-server-{i:04}")).collect();
            let child = Command::new(binary)
                .args(ids)
                .args(["--output", "json", "--account-id", ACCOUNT])
                .args(["--base-url", &server.base])
                .args(["--concurrency", &concurrency.to_string()])
                .env_clear()
                .env(
                    "CLOUDFLARE_API_TOKEN",
                    "company-bench-token-0123456789abcdef0123",
                )
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("start cf-mcp-sync");
            let expected = n;
            std::thread::spawn(move || {
                let output = child.wait_with_output().expect("wait");
                let text = String::from_utf8_lossy(&output.stdout).into_owned();
                let ready = text
                    .lines()
                    .filter(|l| l.contains(r#""outcome":"ready""#))
                    .count();
                (started.elapsed(), expected - ready)
            })
        })
        .collect();
    let ends: Vec<(Duration, usize)> = tokio::task::spawn_blocking(move || {
        children
            .into_iter()
            .map(|h| h.join().expect("process thread"))
            .collect()
    })
    .await
    .expect("join");
    let ok = server.counts.ok.load(Ordering::Relaxed);
    let limited = server.counts.limited.load(Ordering::Relaxed);
    Run {
        elapsed: started.elapsed(),
        slowest_process: ends.iter().map(|e| e.0).max().unwrap_or_default(),
        fastest_process: ends.iter().map(|e| e.0).min().unwrap_or_default(),
        failed_ids: ends.iter().map(|e| e.1).sum(),
        requests: ok + limited,
        limited,
    }
}
