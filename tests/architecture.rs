//! The ergonomic crate's rooms: no two modules import each other (nor does any longer
//! cycle exist), and no file's code outside its tests outgrows one concern's size.

use std::collections::{BTreeMap, BTreeSet};

use workspace_tests::workspace_root;

/// Lines of code before `#[cfg(test)]` that one module may have.
const MAX_LINES: usize = 400;

/// Each module of the ergonomic crate and the modules it names through `crate::`.
fn modules() -> BTreeMap<String, BTreeSet<String>> {
    let src = workspace_root().join("crates/ergonomic/src");
    let mut graph = BTreeMap::new();
    let files: Vec<_> = std::fs::read_dir(&src)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let names: BTreeSet<String> = files
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .filter(|n| n != "lib")
        .collect();
    for name in &names {
        let text = std::fs::read_to_string(src.join(format!("{name}.rs"))).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap();
        let uses: BTreeSet<String> = names
            .iter()
            .filter(|other| *other != name)
            .filter(|other| {
                code.contains(&format!("crate::{other}::"))
                    || code.contains(&format!("crate::{other};"))
                    || code.contains(&format!("crate::{other}::{{"))
                    || code.contains(&format!("crate::{{{other}"))
            })
            .cloned()
            .collect();
        graph.insert(name.clone(), uses);
    }
    graph
}

#[test]
fn no_module_cycles() {
    let graph = modules();
    assert!(graph.len() > 15, "found only {:?}", graph.keys());
    assert!(
        graph["client"].contains("executor"),
        "the scan sees imports: {graph:?}"
    );
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
    for node in graph.keys() {
        if let Err(cycle) = visit(node, &graph, &mut Vec::new(), &mut done) {
            panic!("module cycle: {cycle}");
        }
    }
}

#[test]
fn no_module_outgrows_one_concern() {
    let src = workspace_root().join("crates/ergonomic/src");
    for entry in std::fs::read_dir(src).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines = text.split("#[cfg(test)]").next().unwrap().lines().count();
        assert!(
            lines <= MAX_LINES,
            "{} has {lines} lines of code",
            path.display()
        );
    }
}
