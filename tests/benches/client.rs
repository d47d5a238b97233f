//! Library vs raw reqwest, side by side in one run: per-call time (sequential,
//! keep-alive), throughput at concurrency 1/8/32/128, client construction, and decoding.
//! `cargo bench -p library-benches --bench client`; see BENCHMARKS.md.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use cloudflare_mcp_sync::{HeaderMap, decode_sync_response};
use cloudflare_mcp_sync_generated::types::McpPortalsApiSyncServerResponse;
use common::{ACCOUNT, FULL, Raw, SERVER, TYPICAL, library, start_server};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use reqwest::header::{CONTENT_TYPE, HeaderValue};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

fn sequential(c: &mut Criterion) {
    let addr = start_server(TYPICAL);
    let rt = runtime();
    let lib = library(addr);
    let raw = Raw::new(addr);
    let mut g = c.benchmark_group("sequential");
    g.throughput(Throughput::Elements(1));
    g.bench_function("raw", |b| {
        b.to_async(&rt)
            .iter(|| async { black_box(raw.sync().await) })
    });
    g.bench_function("library", |b| {
        b.to_async(&rt)
            .iter(|| async { black_box(lib.sync(ACCOUNT, SERVER).await.unwrap()) })
    });
    g.finish();
}

/// Each iteration is a batch of 2,048 syncs with `c` in flight over one shared client.
fn throughput(c: &mut Criterion) {
    const BATCH: usize = 2048;
    let addr = start_server(TYPICAL);
    let rt = runtime();
    let lib = library(addr);
    let raw = Arc::new(Raw::new(addr));
    let mut g = c.benchmark_group("throughput");
    g.throughput(Throughput::Elements(BATCH as u64));
    g.measurement_time(Duration::from_secs(4));
    for conc in [1usize, 8, 32, 128] {
        g.bench_with_input(BenchmarkId::new("raw", conc), &conc, |b, &conc| {
            b.to_async(&rt).iter(|| {
                let raw = raw.clone();
                async move {
                    let mut set = tokio::task::JoinSet::new();
                    for w in 0..conc {
                        let raw = raw.clone();
                        set.spawn(async move {
                            for _ in (w..BATCH).step_by(conc) {
                                black_box(raw.sync().await);
                            }
                        });
                    }
                    while set.join_next().await.is_some() {}
                }
            })
        });
        g.bench_with_input(BenchmarkId::new("library", conc), &conc, |b, &conc| {
            b.to_async(&rt).iter(|| {
                let lib = lib.clone();
                async move {
                    let mut set = tokio::task::JoinSet::new();
                    for w in 0..conc {
                        let lib = lib.clone();
                        set.spawn(async move {
                            for _ in (w..BATCH).step_by(conc) {
                                black_box(lib.sync(ACCOUNT, SERVER).await.unwrap());
                            }
                        });
                    }
                    while set.join_next().await.is_some() {}
                }
            })
        });
    }
    g.finish();
}

fn construction(c: &mut Criterion) {
    common::install_crypto_provider();
    let mut g = c.benchmark_group("construction");
    g.bench_function("raw reqwest::Client", |b| {
        b.iter(|| {
            black_box(
                reqwest::Client::builder()
                    .redirect(reqwest::redirect::Policy::none())
                    .build()
                    .unwrap(),
            )
        })
    });
    g.bench_function("library Client", |b| {
        b.iter(|| {
            black_box(
                cloudflare_mcp_sync::Client::builder()
                    .credentials(cloudflare_mcp_sync::Credentials::api_token("t"))
                    .build()
                    .unwrap(),
            )
        })
    });
    let shared = reqwest::Client::new();
    g.bench_function("library Client, own reqwest::Client", |b| {
        b.iter(|| {
            black_box(
                cloudflare_mcp_sync::Client::builder()
                    .credentials(cloudflare_mcp_sync::Credentials::api_token("t"))
                    .http_client(shared.clone())
                    .build()
                    .unwrap(),
            )
        })
    });
    g.finish();
}

fn decoding(c: &mut Criterion) {
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert("cf-ray", HeaderValue::from_static("8f1c2a3b4d5e6f70-SJC"));
    let mut g = c.benchmark_group("decode");
    for (name, body) in [("typical", TYPICAL), ("full", FULL)] {
        g.bench_with_input(BenchmarkId::new("raw serde_json", name), body, |b, body| {
            b.iter(|| {
                black_box(
                    serde_json::from_slice::<McpPortalsApiSyncServerResponse>(body.as_bytes())
                        .unwrap(),
                )
            })
        });
        g.bench_with_input(
            BenchmarkId::new("library decode_sync_response", name),
            body,
            |b, body| {
                b.iter(|| {
                    black_box(
                        decode_sync_response(200, headers.clone(), body.as_bytes(), 1).unwrap(),
                    )
                })
            },
        );
    }
    g.finish();
}

criterion_group!(benches, sequential, throughput, construction, decoding);
criterion_main!(benches);
