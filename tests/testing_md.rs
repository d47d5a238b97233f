//! TESTING.md's fault matrix names tests; each must exist where the row says: a bare
//! name in tests/faults.rs, `file.rs::name` in that file (tests/ or xtask/tests/).

use workspace_tests::workspace_root;

#[test]
fn every_listed_fault_test_exists() {
    let root = workspace_root();
    let doc = std::fs::read_to_string(root.join("TESTING.md")).unwrap();
    let rows: Vec<&str> = doc
        .lines()
        .filter(|l| l.starts_with("| ") && l.chars().nth(2).is_some_and(|c| c.is_ascii_digit()))
        .collect();
    assert!(
        rows.len() >= 50,
        "the matrix lists {} scenarios; at least 50 are required",
        rows.len()
    );
    for row in rows {
        let cell = row
            .trim_end_matches(" |")
            .rsplit("| ")
            .next()
            .unwrap()
            .trim()
            .trim_matches('`');
        let (file, name) = cell.split_once("::").unwrap_or(("faults.rs", cell));
        // `cli.rs` is both xtask's and the command's: any suite of that name may hold it.
        let paths: Vec<_> = [
            root.join("tests").join(file),
            root.join("xtask/tests").join(file),
            root.join("crates/cli/tests").join(file),
        ]
        .into_iter()
        .filter(|p| p.is_file())
        .collect();
        assert!(
            !paths.is_empty(),
            "TESTING.md names {file}, which does not exist"
        );
        let defined = paths.iter().any(|path| {
            let suite = std::fs::read_to_string(path).unwrap();
            suite.contains(&format!("async fn {name}()"))
                || suite.contains(&format!("\nfn {name}()"))
        });
        assert!(
            defined,
            "TESTING.md names {name:?}, which none of {paths:?} defines"
        );
    }
}

#[test]
fn every_suite_is_indexed_and_every_indexed_suite_exists() {
    let root = workspace_root();
    let doc = std::fs::read_to_string(root.join("TESTING.md")).unwrap();
    let manifest = std::fs::read_to_string(root.join("tests/Cargo.toml")).unwrap();
    let mut suites: Vec<String> = manifest
        .lines()
        .filter_map(|l| l.trim().strip_prefix("path = \""))
        .filter_map(|p| p.strip_suffix('"'))
        .filter(|p| p.ends_with(".rs") && !p.starts_with("support/") && !p.starts_with("bin/"))
        .filter(|p| *p != "suites.rs")
        .map(|p| format!("tests/{p}"))
        .collect();
    // The suites built together: each `mod name;` of tests/suites.rs is tests/name.rs.
    let together = std::fs::read_to_string(root.join("tests/suites.rs")).unwrap();
    suites.extend(
        together
            .lines()
            .filter_map(|l| l.strip_prefix("mod ")?.strip_suffix(';'))
            .map(|name| format!("tests/{name}.rs")),
    );
    // Each package's own integration tests (the tests/ package's are in its manifest).
    for dir in ["xtask/tests", "crates/cli/tests"] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".rs") {
                suites.push(format!("{dir}/{name}"));
            }
        }
    }
    assert!(suites.len() >= 12, "{suites:?}");
    for suite in &suites {
        assert!(
            doc.contains(&format!("| `{suite}` |")),
            "TESTING.md does not list {suite}"
        );
    }
    // And the other way: every file the suite table names exists.
    for line in doc
        .lines()
        .filter(|l| l.starts_with("| ") && l.contains("| `"))
    {
        let Some(file) = line.split("| `").nth(1).and_then(|c| c.split('`').next()) else {
            continue;
        };
        if file.ends_with(".rs") && file.contains('/') {
            assert!(
                root.join(file).is_file(),
                "TESTING.md lists {file}, which does not exist"
            );
        }
    }
}
