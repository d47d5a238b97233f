//! Whether each published crate's package holds every file its build reads, proved
//! from the compiler's own dep-info instead of a second build of the whole stack per
//! crate (`cargo package`'s verification, ~110 s of the test command on 2 cores).
//!
//! The lint step already compiles every target of every package; rustc writes, beside
//! each, the list of source files it read (modules, `include_str!`, `include_bytes!`).
//! A file the package leaves out, or one outside the package's directory, is what would
//! make the crate fail to build from crates.io; `cargo package --no-verify` checks the
//! manifest (a version on every path dependency) and the compile checks everything else.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The published packages and their directories in the workspace.
pub const PUBLISHED: [(&str, &str); 3] = [
    ("cloudflare-mcp-sync-generated", "crates/generated"),
    ("cloudflare-mcp-sync", "crates/ergonomic"),
    ("cf-mcp-sync", "crates/cli"),
];

/// Files clippy adds to dep-info for its own configuration, relative to the workspace
/// root (its config file and the manifest's `[lints]`): read by the tool, not compiled.
/// Only these exact paths are passed over; a `Cargo.toml` or `clippy.toml` anywhere else
/// is judged like any file.
const TOOL_CONFIG: [&str; 3] = ["Cargo.toml", "clippy.toml", ".clippy.toml"];

/// `path` with `.` and `..` resolved by their names, as the packaged file list names
/// files: rustc writes `include_str!("../README.md")` from `src/lib.rs` as
/// `src/../README.md`.
fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// From one line of cargo's `--message-format=json` output: the published package
/// (by name) a `compiler-artifact` belongs to, and the dep-info file beside it.
pub fn artifact_dep_info(line: &str, root: &Path) -> Option<(&'static str, PathBuf)> {
    let message: serde_json::Value = serde_json::from_str(line).ok()?;
    if message["reason"] != "compiler-artifact" {
        return None;
    }
    let manifest = Path::new(message["manifest_path"].as_str()?);
    let (name, _) = PUBLISHED
        .iter()
        .find(|(_, dir)| manifest == root.join(dir).join("Cargo.toml"))?;
    // `.../deps/libname-HASH.rmeta` (or `.rlib`, or an executable) → `.../deps/name-HASH.d`
    let file = Path::new(message["filenames"].as_array()?.first()?.as_str()?);
    let stem = file.file_stem()?.to_str()?;
    let stem = stem.strip_prefix("lib").unwrap_or(stem);
    Some((name, file.with_file_name(format!("{stem}.d"))))
}

/// The files a dep-info (Makefile syntax, as rustc writes it) names as read: each has a
/// rule of its own with no prerequisites, `path:`; spaces in a path are escaped.
pub fn dep_info_sources(text: &str) -> Vec<String> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.strip_suffix(':'))
        .filter(|path| !path.is_empty())
        .map(|path| path.replace("\\ ", " "))
        .collect()
}

/// What is wrong with the package of `dir` (relative to `root`), given what
/// `cargo package --list` holds and the files its targets' compiles read (relative
/// paths are the workspace root's, where cargo runs rustc). Empty when nothing is.
pub fn misses(
    root: &Path,
    target: &Path,
    dir: &str,
    listed: &BTreeSet<String>,
    read: &BTreeSet<String>,
) -> Vec<String> {
    let package = root.join(dir);
    let target = lexical(&root.join(target));
    let mut problems = Vec::new();
    for file in read {
        let path = lexical(&root.join(file));
        if TOOL_CONFIG.iter().any(|config| path == root.join(config)) {
            continue;
        }
        if let Ok(inside) = path.strip_prefix(&package) {
            let inside = inside.to_string_lossy().replace('\\', "/");
            if !listed.contains(&inside) {
                problems.push(format!(
                    "{dir}: the build reads {inside}, which the package leaves out (see `include`/`exclude` in {dir}/Cargo.toml)"
                ));
            }
        } else if !path.starts_with(&target) {
            // Files generated into OUT_DIR live under the target directory; anything
            // else outside the package (the workspace, or anywhere on this machine) is
            // not there when the crate is built from crates.io.
            problems.push(format!(
                "{dir}: the build reads {file}, outside the package: a crate built from crates.io has no such file"
            ));
        }
    }
    problems
}

/// Reads every dep-info file gathered for each package; a missing one is an error
/// (the lint step did not compile what it claimed).
pub fn read_sources(
    dep_infos: &BTreeMap<&'static str, BTreeSet<PathBuf>>,
) -> anyhow::Result<BTreeMap<&'static str, BTreeSet<String>>> {
    let mut read = BTreeMap::new();
    for (name, files) in dep_infos {
        let sources: &mut BTreeSet<String> = read.entry(*name).or_default();
        for file in files {
            let text = std::fs::read_to_string(file).map_err(|e| {
                anyhow::anyhow!("no dep-info for {name} at {}: {e}", file.display())
            })?;
            sources.extend(dep_info_sources(&text));
        }
    }
    Ok(read)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEP_INFO: &str = "/w/target/debug/deps/cf_mcp_sync-abc.d: /w/.clippy.toml crates/cli/src/main.rs crates/cli/src/my\\ mod.rs Cargo.toml

/w/target/debug/deps/libcf_mcp_sync-abc.rmeta: /w/.clippy.toml crates/cli/src/main.rs crates/cli/src/my\\ mod.rs Cargo.toml

/w/.clippy.toml:
crates/cli/src/main.rs:
crates/cli/src/my\\ mod.rs:
Cargo.toml:

# env-dep:CARGO_PKG_VERSION=0.1.0
";

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn dep_info_lists_each_file_read_once_with_spaces_unescaped() {
        assert_eq!(
            dep_info_sources(DEP_INFO),
            [
                "/w/.clippy.toml",
                "crates/cli/src/main.rs",
                "crates/cli/src/my mod.rs",
                "Cargo.toml"
            ]
        );
    }

    #[test]
    fn a_package_holding_every_file_read_has_no_misses() {
        let read: BTreeSet<String> = dep_info_sources(DEP_INFO).into_iter().collect();
        let listed = set(&["Cargo.toml", "src/main.rs", "src/my mod.rs"]);
        let root = Path::new("/w");
        assert!(misses(root, &root.join("target"), "crates/cli", &listed, &read).is_empty());
    }

    #[test]
    fn a_file_left_out_or_outside_the_package_is_named() {
        let root = Path::new("/w");
        let read = set(&[
            "crates/cli/src/main.rs",
            "crates/cli/src/args.rs",
            "README.md",
            "/w/target/debug/build/x-1/out/gen.rs",
        ]);
        let listed = set(&["src/main.rs"]);
        let problems = misses(root, &root.join("target"), "crates/cli", &listed, &read);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("README.md, outside the package"));
        assert!(problems[1].contains("src/args.rs, which the package leaves out"));
    }

    #[test]
    fn a_file_included_through_dot_dot_is_judged_by_where_it_is() {
        let root = Path::new("/w");
        let read = set(&["crates/cli/src/main.rs", "crates/cli/src/../README.md"]);
        let listed = set(&["Cargo.toml", "README.md", "src/main.rs"]);
        let target = root.join("target");
        assert!(misses(root, &target, "crates/cli", &listed, &read).is_empty());
        let read = set(&["crates/cli/src/../../../README.md"]);
        let problems = misses(root, &target, "crates/cli", &listed, &read);
        assert!(problems[0].contains("outside the package"), "{problems:?}");
    }

    #[test]
    fn only_clippy_s_own_config_paths_are_passed_over() {
        let root = Path::new("/w");
        let read = set(&[
            "Cargo.toml",
            "/w/.clippy.toml",
            "/w/tools/clippy.toml",
            "/w/crates/generated/Cargo.toml",
        ]);
        let listed = set(&["Cargo.toml"]);
        let problems = misses(root, &root.join("target"), "crates/cli", &listed, &read);
        assert_eq!(problems.len(), 2, "{problems:?}");
    }

    #[test]
    fn out_dir_files_pass_and_files_elsewhere_on_the_machine_do_not() {
        let root = Path::new("/w");
        let listed = set(&["src/main.rs"]);
        let read = set(&[
            "crates/cli/src/main.rs",
            "/w/tgt/debug/build/cf-1/out/gen.rs",
            "/home/u/shared/schema.json",
        ]);
        // A relative target directory is the workspace root's.
        let problems = misses(root, Path::new("tgt"), "crates/cli", &listed, &read);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("/home/u/shared/schema.json"));
    }

    #[test]
    fn artifacts_map_to_their_package_and_dep_info() {
        let root = Path::new("/w");
        let line = r#"{"reason":"compiler-artifact","manifest_path":"/w/crates/ergonomic/Cargo.toml","filenames":["/w/target/debug/deps/libcloudflare_mcp_sync-1f.rmeta"]}"#;
        assert_eq!(
            artifact_dep_info(line, root),
            Some((
                "cloudflare-mcp-sync",
                PathBuf::from("/w/target/debug/deps/cloudflare_mcp_sync-1f.d")
            ))
        );
        let other = line.replace("crates/ergonomic", "xtask");
        assert_eq!(artifact_dep_info(&other, root), None);
        let message = line.replace("compiler-artifact", "compiler-message");
        assert_eq!(artifact_dep_info(&message, root), None);
        assert_eq!(artifact_dep_info("warning: not json", root), None);
    }
}
