//! The rooms of the ergonomic crate and of the xtask: no two modules import each other
//! (nor does any longer cycle exist), and no file's code outside its tests outgrows one
//! concern's size.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use workspace_tests::workspace_root;

/// Lines of code before `#[cfg(test)]` that one module of the library or of the xtask
/// may have.
const MAX_LINES: usize = 400;

fn library() -> PathBuf {
    workspace_root().join("crates/ergonomic/src")
}

fn xtask() -> PathBuf {
    workspace_root().join("xtask/src")
}

/// The modules of the `crate::` paths in `code`: the first segment of each, and of each
/// item in a `crate::{a, b::c}` group.
fn crate_paths(code: &str) -> BTreeSet<String> {
    let ident = |s: &str| {
        s.chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect::<String>()
    };
    let mut found = BTreeSet::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // Top-level items of the group, up to its closing brace.
            let mut depth = 0;
            let mut item_start = true;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => item_start = true,
                    c if item_start && !c.is_whitespace() => {
                        found.insert(ident(&group[i..]));
                        item_start = false;
                    }
                    _ => {}
                }
            }
        } else {
            found.insert(ident(rest));
        }
    }
    found
}

/// Each module in `src` (but the crate roots) and the modules it names through `crate::`
/// in its code outside the tests.
fn modules(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let names: BTreeSet<String> = std::fs::read_dir(src)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .filter(|n| n != "lib" && n != "main")
        .collect();
    let mut graph = BTreeMap::new();
    for name in &names {
        let text = std::fs::read_to_string(src.join(format!("{name}.rs"))).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap();
        let uses = crate_paths(code)
            .into_iter()
            .filter(|other| other != name && names.contains(other))
            .collect();
        graph.insert(name.clone(), uses);
    }
    graph
}

/// A cycle in `graph`, as `a -> b -> a`, if there is one.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<String> {
    // Depth-first search for a back edge, reporting the cycle it closes.
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Result<(), String> {
        if let Some(i) = path.iter().position(|p| p == node) {
            return Err(format!("{} -> {node}", path[i..].join(" -> ")));
        }
        if done.contains(node) {
            return Ok(());
        }
        path.push(node.to_string());
        for next in &graph[node] {
            visit(next, graph, path, done)?;
        }
        path.pop();
        done.insert(node.to_string());
        Ok(())
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut Vec::new(), &mut done).err())
}

/// Every file in `src` whose code outside its tests is longer than `max` lines.
fn oversized(src: &Path, max: usize) -> Vec<String> {
    let mut over = Vec::new();
    for entry in std::fs::read_dir(src).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines = text.split("#[cfg(test)]").next().unwrap().lines().count();
        if lines > max {
            over.push(format!("{} has {lines} lines of code", path.display()));
        }
    }
    over
}

#[test]
fn the_scan_reads_paths_and_groups() {
    let code = "use crate::a::X;\nuse crate::{b, c::{D, E}, self};\nlet _ = crate::d(1);";
    let found: Vec<String> = crate_paths(code).into_iter().collect();
    assert_eq!(found, ["a", "b", "c", "d", "self"]);
    let graph = BTreeMap::from([
        ("a".to_string(), BTreeSet::from(["b".to_string()])),
        ("b".to_string(), BTreeSet::from(["a".to_string()])),
    ]);
    assert_eq!(find_cycle(&graph).as_deref(), Some("a -> b -> a"));
}

#[test]
fn no_module_cycles() {
    let graph = modules(&library());
    assert!(graph.len() > 15, "found only {:?}", graph.keys());
    assert!(
        graph["client"].contains("bulk"),
        "the scan sees imports: {graph:?}"
    );
    if let Some(cycle) = find_cycle(&graph) {
        panic!("module cycle: {cycle}");
    }
}

#[test]
fn no_module_cycles_in_the_xtask() {
    let graph = modules(&xtask());
    assert!(graph.len() > 15, "found only {:?}", graph.keys());
    assert!(
        graph["ci"].contains("rehearse"),
        "the scan sees grouped imports: {graph:?}"
    );
    if let Some(cycle) = find_cycle(&graph) {
        panic!("module cycle in xtask/src: {cycle}");
    }
}

#[test]
fn no_module_outgrows_one_concern() {
    let over = oversized(&library(), MAX_LINES);
    assert!(over.is_empty(), "{over:#?}");
}

#[test]
fn no_xtask_module_outgrows_one_concern() {
    let over = oversized(&xtask(), MAX_LINES);
    assert!(over.is_empty(), "{over:#?}");
}

fn command() -> PathBuf {
    workspace_root().join("crates/cli/src")
}

/// The command (crates/cli/src) under the library's rules: no module cycle, and no
/// module's code outside its tests longer than [`MAX_LINES`].
#[test]
fn the_command_has_no_module_cycles_and_no_module_outgrows_one_concern() {
    let graph = modules(&command());
    assert!(graph.len() >= 10, "found only {:?}", graph.keys());
    assert!(
        graph["run"].contains("printer") && graph["printer"].contains("ci_output"),
        "the scan sees imports: {graph:?}"
    );
    if let Some(cycle) = find_cycle(&graph) {
        panic!("module cycle in crates/cli/src: {cycle}");
    }
    let over = oversized(&command(), MAX_LINES);
    assert!(over.is_empty(), "{over:#?}");
}
