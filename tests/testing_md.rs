//! TESTING.md's fault matrix names tests; each must exist in tests/faults.rs.

use workspace_tests::workspace_root;

#[test]
fn every_listed_fault_test_exists() {
    let root = workspace_root();
    let doc = std::fs::read_to_string(root.join("TESTING.md")).unwrap();
    let suite = std::fs::read_to_string(root.join("tests/faults.rs")).unwrap();
    let rows: Vec<&str> = doc
        .lines()
        .filter(|l| l.starts_with("| ") && l.chars().nth(2).is_some_and(|c| c.is_ascii_digit()))
        .collect();
    assert!(
        rows.len() >= 25,
        "the matrix lists {} scenarios; at least 25 are required",
        rows.len()
    );
    for row in rows {
        let name = row
            .trim_end_matches(" |")
            .rsplit("| ")
            .next()
            .unwrap()
            .trim()
            .trim_matches('`');
        assert!(
            suite.contains(&format!("async fn {name}()")),
            "TESTING.md names {name:?}, which tests/faults.rs does not define"
        );
    }
}
