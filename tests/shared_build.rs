//! `cargo xtask` builds xtask alone; `cargo test --workspace` builds it with the rest.
//! Every crate in xtask's dependency graph must get the same features in both, or
//! cargo compiles it (and each crate above it) twice: xtask/Cargo.toml asks for what
//! the test build turns on. A dependency update that moves a feature fails here, naming
//! the features to add and the table they go in. What it compares: features, for
//! x86_64 Linux (where CI's minutes are spent). A profile setting only one of the two
//! builds has (a `[profile.test]` section, say) parts them too, unseen here.

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
        .args([
            "--prefix", "none", "--format", "{p}|{f}", "--color", "never",
        ])
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

fn set(list: &str) -> BTreeSet<&str> {
    list.split(',').filter(|f| !f.is_empty()).collect()
}

/// The list of `others` sharing the most features with `list`.
fn closest<'a>(list: &str, others: &'a BTreeSet<String>) -> BTreeSet<&'a str> {
    let list = set(list);
    others
        .iter()
        .map(|other| set(other))
        .max_by_key(|other| other.intersection(&list).count())
        .unwrap_or_default()
}

/// Per package of xtask's graph that the tests build otherwise: what to add, and where.
fn differences(
    xtask: &BTreeMap<String, BTreeSet<String>>,
    workspace: &BTreeMap<String, BTreeSet<String>>,
) -> Vec<String> {
    let mut out = Vec::new();
    for (package, ours) in xtask {
        let theirs = workspace.get(package).cloned().unwrap_or_default();
        for list in theirs.difference(ours) {
            let lacks: Vec<_> = set(list)
                .difference(&closest(list, ours))
                .copied()
                .collect();
            out.push(format!(
                "{package}: the tests build it with [{list}]; xtask alone lacks {lacks:?}: add them to the [target.'cfg(all())'.dependencies] table"
            ));
        }
        // xtask builds a copy more than the tests do: the one for its build scripts and
        // proc macros, which the tests build as one with the rest.
        if ours.len() > theirs.len() {
            for list in ours.difference(&theirs) {
                let lacks: Vec<_> = closest(list, &theirs)
                    .difference(&set(list))
                    .copied()
                    .collect();
                out.push(format!(
                    "{package}: xtask alone also builds a copy with [{list}] (for build scripts and proc macros), which the tests do not; it lacks {lacks:?}: add them under [build-dependencies]"
                ));
            }
        }
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
        "each of these is compiled twice by `cargo xtask ci` (xtask/Cargo.toml says why):\n{}",
        differ.join("\n")
    );
}

#[test]
fn a_feature_only_the_tests_turn_on_is_named_with_where_it_goes() {
    // tokio: one copy, a feature short. syn: the same in both. serde: xtask builds a
    // second copy for proc macros without `alloc`, which the tests build as one.
    let xtask = parse(
        "tokio v1.0.0|rt,time\nsyn v2.0.0 (proc-macro)|derive (*)\nserde v1.0.0|std\nserde v1.0.0|alloc,std\n",
    );
    let workspace =
        parse("tokio v1.0.0|macros,rt,time\nsyn v2.0.0|derive\nserde v1.0.0|alloc,std\n");
    let differ = differences(&xtask, &workspace);
    assert_eq!(differ.len(), 2, "{differ:?}");
    assert!(
        differ[0].starts_with("serde v1.0.0: xtask alone also builds a copy with [std]"),
        "{differ:?}"
    );
    assert!(
        differ[0].contains("lacks [\"alloc\"]: add them under [build-dependencies]"),
        "{differ:?}"
    );
    assert!(
        differ[1].starts_with("tokio v1.0.0: the tests build it with [macros,rt,time]"),
        "{differ:?}"
    );
    assert!(
        differ[1].contains("lacks [\"macros\"]: add them to the [target"),
        "{differ:?}"
    );
}
