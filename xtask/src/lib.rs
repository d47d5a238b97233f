//! Maintainer tooling for this workspace. The binary (`cargo xtask …`) is a thin CLI over
//! these modules; tests call them directly on temporary copies of the workspace.

pub mod api;
pub mod bench;
pub mod bench_deps;
pub mod bounded;
pub mod ci;
pub mod command;
mod compare;
pub mod compile;
pub mod diff;
pub mod drift;
pub mod drift_changelog;
pub mod drift_judge;
pub mod drift_outputs;
pub mod drift_report;
pub mod drift_semver;
pub mod extract;
pub mod fetch;
pub mod findings;
pub mod generate;
pub mod history;
pub mod markdown;
pub mod normalise;
pub mod packaged;
pub mod prism;
pub mod refs;
pub mod rehearse;
pub mod rehearse_cases;
mod render;
pub mod report;
pub mod requests;
pub mod rust_api;
pub mod shapes;
pub mod spec;
pub mod surface;
pub mod update;
pub mod version;
