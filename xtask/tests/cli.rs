//! The `cargo xtask` command line itself: arguments, exit codes, what it prints.

use std::process::{Command, Output};

fn xtask(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .output()
        .expect("run xtask")
}

fn root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

#[test]
fn generate_check_passes_on_the_committed_tree() {
    let out = xtask(&["generate", "--check"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("matches openapi/"));
}

#[test]
fn usage_mistakes_exit_64() {
    for args in [
        &["bogus"][..],
        &["generate", "--chek"],
        &["diff", "only-one"],
        &["provenance", "--check"],
        &[],
    ] {
        let out = xtask(args);
        assert_eq!(out.status.code(), Some(64), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("usage: cargo xtask"),
            "{args:?}"
        );
    }
}

#[test]
fn diff_exit_codes_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = root().join("tests/fixtures/upstream-openapi.json");
    let committed = root().join("openapi/mcp-portals-api-sync-server.json");

    let same = xtask(&[
        "diff",
        committed.to_str().unwrap(),
        fixture.to_str().unwrap(),
    ]);
    assert_eq!(
        same.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&same.stdout)
    );

    let mut doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&fixture).unwrap()).unwrap();
    doc["components"]["schemas"]["mcp-portals_identifier"]["maxLength"] = serde_json::json!(8);
    let drifted = dir.path().join("drifted.json");
    std::fs::write(&drifted, serde_json::to_vec(&doc).unwrap()).unwrap();
    let out = xtask(&[
        "diff",
        fixture.to_str().unwrap(),
        drifted.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["summary"]["breaking"], serde_json::json!(1));

    let missing = xtask(&["diff", fixture.to_str().unwrap(), "/nonexistent.json"]);
    assert_eq!(
        missing.status.code(),
        Some(3),
        "errors exit 3, apart from diff's 0/1/2"
    );
}

#[test]
fn provenance_prints_the_record() {
    let out = xtask(&["provenance"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("c92b9b0fde23ae00fece2025662f96dc8e2d6283"),
        "{text}"
    );
    assert!(text.contains("sha256:"), "{text}");
}
