//! One sync from a cold process, side by side with baselines in the same run: the
//! whole process's wall time and peak RSS, each case run in turn (interleaved, so that
//! machine noise falls on all of them alike).
//!
//! ```text
//! cargo build --release -p cf-mcp-sync
//! cargo run --release -p workspace-tests --bin cold-start -- \
//!     --base-url http://127.0.0.1:8089/client/v4 --runs 30 \
//!     --case "cf-mcp-sync=target/release/cf-mcp-sync {server} --account-id {account} --base-url {base} -q" \
//!     --case "curl=curl -sS -o /dev/null -X POST -H Authorization:{sp}Bearer{sp}{token} {url}"
//! ```
//!
//! A case is `name=program arg…`, split on spaces; `{base}`, `{url}` (the sync URL),
//! `{account}`, `{server}` and `{token}` are filled in, and `{sp}` in an argument becomes a
//! space. Every case gets `CLOUDFLARE_API_TOKEN` and `CLOUDFLARE_BASE_URL`, and must exit 0.
//! Peak RSS comes from GNU time (`/usr/bin/time -f %M`), whose own small image is the
//! forking parent (Linux carries a parent's peak into a child's `ru_maxrss`).

use std::process::{Command, Stdio};
use std::time::Instant;

const ACCOUNT: &str = "023e105f4ecef8ad9ca31a8372d0c353";
const SERVER: &str = "my-mcp-server";
const TOKEN: &str = "bench-token";

struct Case {
    name: String,
    argv: Vec<String>,
    wall_ms: Vec<f64>,
    rss_kib: Vec<u64>,
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (mut base, mut runs, mut cases) = (None, 20usize, Vec::new());
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .unwrap_or_else(|| fail(&format!("{arg} needs a value")))
        };
        match arg.as_str() {
            "--base-url" => base = Some(value()),
            "--runs" => runs = value().parse().unwrap_or_else(|_| fail("--runs: a number")),
            "--case" => cases.push(value()),
            other => fail(&format!("unknown argument {other}")),
        }
    }
    let base = base.unwrap_or_else(|| fail("--base-url is required"));
    let url = format!("{base}/accounts/{ACCOUNT}/access/ai-controls/mcp/servers/{SERVER}/sync");
    let mut cases: Vec<Case> = cases
        .iter()
        .map(|spec| {
            let (name, command) = spec
                .split_once('=')
                .unwrap_or_else(|| fail(&format!("--case {spec:?}: name=command")));
            let argv = command
                .split_whitespace()
                .map(|a| {
                    a.replace("{base}", &base)
                        .replace("{url}", &url)
                        .replace("{account}", ACCOUNT)
                        .replace("{server}", SERVER)
                        .replace("{token}", TOKEN)
                        .replace("{sp}", " ")
                })
                .collect();
            Case {
                name: name.to_string(),
                argv,
                wall_ms: Vec::new(),
                rss_kib: Vec::new(),
            }
        })
        .collect();
    if cases.is_empty() {
        fail("give at least one --case");
    }
    let rss_file = std::env::temp_dir().join(format!("cold-start-rss-{}", std::process::id()));
    // One untimed round first: page cache and dynamic loader warm for every case.
    for round in 0..=runs {
        for case in &mut cases {
            let start = Instant::now();
            let status = Command::new("/usr/bin/time")
                .args(["-f", "%M", "-o"])
                .arg(&rss_file)
                .args(&case.argv)
                .env("CLOUDFLARE_API_TOKEN", TOKEN)
                .env("CLOUDFLARE_BASE_URL", &base)
                .stdout(Stdio::null())
                .status()
                .unwrap_or_else(|e| fail(&format!("{}: {e}", case.name)));
            let elapsed = start.elapsed();
            if !status.success() {
                fail(&format!("{}: {status}", case.name));
            }
            let rss: u64 = std::fs::read_to_string(&rss_file)
                .ok()
                .and_then(|t| t.trim().lines().last().and_then(|l| l.trim().parse().ok()))
                .unwrap_or_else(|| fail(&format!("{}: no RSS from GNU time", case.name)));
            if round > 0 {
                case.wall_ms.push(elapsed.as_secs_f64() * 1000.0);
                case.rss_kib.push(rss);
            }
        }
    }
    let _ = std::fs::remove_file(&rss_file);
    println!("| case | runs | wall median | wall p90 | wall min | peak RSS median |");
    println!("| --- | --- | --- | --- | --- | --- |");
    for case in &mut cases {
        case.wall_ms.sort_by(f64::total_cmp);
        case.rss_kib.sort_unstable();
        let at = |q: f64| case.wall_ms[((case.wall_ms.len() - 1) as f64 * q).round() as usize];
        println!(
            "| {} | {} | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} MiB |",
            case.name,
            case.wall_ms.len(),
            at(0.5),
            at(0.9),
            case.wall_ms[0],
            case.rss_kib[case.rss_kib.len() / 2] as f64 / 1024.0
        );
    }
}

fn fail(message: &str) -> ! {
    eprintln!("cold-start: {message}");
    std::process::exit(2)
}
