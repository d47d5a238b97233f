//! The workspace-level suites, one module per file beside this one (TESTING.md lists
//! what each covers), built as one test binary: one link instead of one per suite, and
//! libtest runs the suites' tests side by side. Run one suite with a filter:
//! `cargo test --workspace --test suites wire::`.
//!
//! `observability.rs` is its own binary: its tests install tracing subscribers, which
//! must not race with callsites other suites hit first.

mod action;
mod architecture;
mod bulk;
mod codegen;
mod company;
mod contract;
mod faults;
mod fuzz_decode;
mod hostile;
mod main_job;
mod seam;
mod shared_build;
mod spec_drift;
mod supply_chain;
mod testing_md;
mod wire;
mod workflows;
