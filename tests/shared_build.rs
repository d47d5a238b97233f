//! `cargo xtask` builds xtask alone; `cargo test --workspace` builds it with the rest.
//! Every crate in xtask's dependency graph must get the same features in both, or
//! cargo compiles it (and each crate above it) twice: xtask/Cargo.toml asks for what
//! the test build turns on. A dependency update that moves a feature fails here, with
//! the line to add.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use workspace_tests::workspace_root;

/// Each package in the graph `cargo tree` prints for `args` (one `name vX.Y.Z` per
/// package, path packages with their path), with the feature lists it is built with:
/// two when its build-script and proc-macro instance differs from the rest.
fn features(args: &[&str]) -> BTreeMap<String, BTreeSet<String>> {
    let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .arg("tree")
        .args(args)
        // One platform for every host: the one CI measures.
        .args(["--target", "x86_64-unknown-linux-gnu", "--locked"])
        .args(["--prefix", "none", "--format", "{p}|{f}"])
        .current_dir(workspace_root())
        .output()
        .expect("run cargo tree");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "cargo tree {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    parse(&stdout)
}

fn parse(tree: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut found: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in tree.lines() {
        let line = line.trim_end().trim_end_matches(" (*)");
        let Some((package, features)) = line.rsplit_once('|') else {
            continue;
        };
        let package = package.trim_end_matches(" (proc-macro)");
        found
            .entry(package.to_string())
            .or_default()
            .insert(features.to_string());
    }
    found
}

/// What the workspace's build turns on beyond xtask's, per package of xtask's graph.
fn differences(
    xtask: &BTreeMap<String, BTreeSet<String>>,
    workspace: &BTreeMap<String, BTreeSet<String>>,
) -> Vec<String> {
    let mut out = Vec::new();
    for (package, ours) in xtask {
        let theirs = workspace.get(package).cloned().unwrap_or_default();
        if *ours == theirs {
            continue;
        }
        let split = |sets: &BTreeSet<String>| -> BTreeSet<String> {
            sets.iter()
                .flat_map(|s| s.split(',').filter(|f| !f.is_empty()))
                .map(str::to_string)
                .collect()
        };
        let missing: Vec<_> = split(&theirs).difference(&split(ours)).cloned().collect();
        out.push(format!(
            "{package}: xtask alone builds it with {ours:?}, the tests with {theirs:?}; add {missing:?} (or, when only the instance for proc macros differs, add them under [build-dependencies])"
        ));
    }
    out
}

#[test]
fn xtask_alone_builds_its_dependencies_as_the_tests_do() {
    let xtask = features(&["-p", "xtask", "-e", "normal,build"]);
    let workspace = features(&["--workspace", "-e", "normal,build,dev"]);
    assert!(
        xtask.keys().any(|p| p.starts_with("tokio v")),
        "the scan found xtask's graph: {xtask:?}"
    );
    let differ = differences(&xtask, &workspace);
    assert!(
        differ.is_empty(),
        "each of these is compiled twice by `cargo xtask ci`; add the features to xtask/Cargo.toml's [target.'cfg(all())'.dependencies]:\n{}",
        differ.join("\n")
    );
}

#[test]
fn a_feature_only_the_tests_turn_on_is_named() {
    let xtask = parse("tokio v1.0.0|rt,time\nsyn v2.0.0 (proc-macro)|derive (*)\n");
    let workspace = parse("tokio v1.0.0|macros,rt,time\nsyn v2.0.0|derive\n");
    let differ = differences(&xtask, &workspace);
    assert_eq!(differ.len(), 1, "{differ:?}");
    assert!(differ[0].starts_with("tokio v1.0.0:"), "{differ:?}");
    assert!(differ[0].contains("add [\"macros\"]"), "{differ:?}");
}
