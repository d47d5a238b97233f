//! Heap allocations per call, library vs raw reqwest, counted on the client's thread
//! only (the server runs on another thread). `cargo bench -p library-benches --bench allocations`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
// A counting global allocator needs `unsafe impl GlobalAlloc`; nothing else here does.
#![allow(unsafe_code)]

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use common::{ACCOUNT, Raw, SERVER, TYPICAL, library, start_server};

struct Counting;

thread_local! {
    static COUNT: Cell<Option<u64>> = const { Cell::new(None) };
}

// SAFETY: forwards to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = COUNT.try_with(|c| c.set(c.get().map(|n| n + 1)));
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = COUNT.try_with(|c| c.set(c.get().map(|n| n + 1)));
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn count<F: std::future::Future>(rt: &tokio::runtime::Runtime, f: impl Fn() -> F, n: u64) -> f64 {
    // Warm the pool first.
    for _ in 0..10 {
        rt.block_on(f());
    }
    COUNT.with(|c| c.set(Some(0)));
    for _ in 0..n {
        rt.block_on(f());
    }
    let total = COUNT.with(|c| c.replace(None)).unwrap_or(0);
    total as f64 / n as f64
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let addr = start_server(TYPICAL);
    // Current-thread runtime: the client's tasks (hyper's connection too) run here.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let lib = library(addr);
    let raw = Raw::new(addr);
    let n = 2000;
    let raw_allocs = count(&rt, || raw.sync(), n);
    let lib_allocs = count(
        &rt,
        || async { lib.sync(ACCOUNT, SERVER).await.unwrap() },
        n,
    );
    println!("allocations per call (client thread, {n} sequential keep-alive calls):");
    println!("  raw reqwest + decode: {raw_allocs:.1}");
    println!(
        "  library sync:         {lib_allocs:.1}  ({:+.1} over raw)",
        lib_allocs - raw_allocs
    );
}
