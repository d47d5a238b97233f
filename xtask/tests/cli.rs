//! The `cargo xtask` command line itself: arguments, exit codes, what it prints.

use std::process::{Command, Output};

fn xtask(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .output()
        .expect("run xtask")
}

/// The workspace these tests run in, from the `CARGO_MANIFEST_DIR` cargo sets when it
/// runs them (as the xtask binary under test reads it), not the one compiled in: the
/// rehearsal's scratch copy shares the target directory, and cargo may reuse a test
/// binary built for the workspace itself there (seen: a second `cargo xtask ci` in one
/// checkout compared the scratch copy's provenance with the workspace's).
fn root() -> std::path::PathBuf {
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR").map_or_else(
        || env!("CARGO_MANIFEST_DIR").into(),
        std::path::PathBuf::from,
    );
    manifest.parent().expect("workspace root").to_path_buf()
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
            String::from_utf8_lossy(&out.stderr).contains("Usage: cargo xtask"),
            "{args:?}"
        );
    }
}

#[test]
fn values_out_of_range_are_usage_mistakes() {
    for args in [
        &["update", "https://x/y", "--max-mb", "0"][..],
        &["update", "https://x/y", "--max-mb", "1025"],
        &["update", "https://x/y", "--timeout", "0"],
        &["update", "https://x/y", "--timeout", "3601"],
        &["update", "https://x/y", "--timeout", "NaN"],
        &["diff", "a.json", "b.json", "--format", "yaml"],
        &["spec-drift", "https://x/y", "--verdict", "maybe"],
        &["bench-extract", "--runs", "many"],
    ] {
        let out = xtask(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(64), "{args:?}: {stderr}");
        assert!(stderr.contains("invalid value"), "{args:?}: {stderr}");
    }
}

#[test]
fn a_flag_the_command_does_not_take_is_refused() {
    // Each of these was once accepted and ignored: the command ran as if it were absent.
    for args in [
        &["generate", "--format", "json"][..],
        &["extract", "upstream.json", "--format", "json"],
        &["diff", "a.json", "b.json", "--timeout", "5"],
        &["diff", "a.json", "b.json", "--commit", "abc"],
        &["spec-drift", "https://x/y", "--operation", "op"],
        &["spec-drift", "https://x/y", "--format", "json"],
        &["rehearse-drift", "--report", "r.md"],
        &["bench-extract", "--commit", "abc"],
        &["surface", "--operation", "op"],
        &["ci", "--check"],
        &["bench-deps", "--runs", "3"],
    ] {
        let out = xtask(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(64), "{args:?}: {stderr}");
        assert!(stderr.contains("unexpected argument"), "{args:?}: {stderr}");
    }
}

#[test]
fn help_is_an_answer_not_a_mistake() {
    for args in [&["help"][..], &["--help"], &["-h"], &["update", "--help"]] {
        let out = xtask(args);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        assert!(stdout.contains("Usage: cargo xtask"), "{args:?}: {stdout}");
    }
    let out = xtask(&["help"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    for command in [
        "generate",
        "extract",
        "diff",
        "update",
        "spec-drift",
        "rehearse-drift",
        "bench-extract",
        "bench-deps",
        "ci",
        "provenance",
        "surface",
    ] {
        assert!(
            stdout.contains(&format!("  {command} ")),
            "{command}: {stdout}"
        );
    }
    assert!(stdout.contains("usage mistakes exit 64"), "{stdout}");
    let update = String::from_utf8_lossy(&xtask(&["update", "--help"]).stdout).into_owned();
    for option in [
        "--operation",
        "--commit",
        "--format",
        "--timeout",
        "--max-mb",
    ] {
        assert!(update.contains(option), "{option}: {update}");
    }
}

/// The upstream-style fixture with one breaking change: the server id's `maxLength`
/// tightened from 32 to 8.
fn drifted_fixture() -> serde_json::Value {
    let fixture = root().join("tests/fixtures/upstream-openapi.json");
    let mut doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixture).unwrap()).unwrap();
    doc["components"]["schemas"]["mcp-portals_identifier"]["maxLength"] = serde_json::json!(8);
    doc
}

#[test]
fn diff_exit_codes_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = root().join("tests/fixtures/upstream-openapi.json");
    let committed = root().join("openapi/mcp-portals-api-sync-server.json");
    // The committed operation as Cloudflare writes it: the same API.
    let respelled = dir.path().join("respelled.json");
    let upstream = xtask::rehearse::upstream_style(&xtask::rehearse::resolved(&root()).unwrap());
    std::fs::write(&respelled, serde_json::to_vec(&upstream).unwrap()).unwrap();

    let same = xtask(&[
        "diff",
        committed.to_str().unwrap(),
        respelled.to_str().unwrap(),
    ]);
    assert_eq!(
        same.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&same.stdout)
    );

    let drifted = dir.path().join("drifted.json");
    std::fs::write(&drifted, serde_json::to_vec(&drifted_fixture()).unwrap()).unwrap();
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
    let (prov, fragment) = xtask::spec::load_fragment(&root()).unwrap();
    assert!(
        text.contains(&format!("commit:      {}\n", prov.upstream.commit)),
        "{text}"
    );
    assert!(
        text.contains(&format!("sha256:      {}\n", fragment.sha256)),
        "{text}"
    );
}

/// A copy of `openapi/` and the generated file, with the markers `workspace_root`
/// looks for, in a temporary directory.
fn scratch() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let openapi = dir.path().join("openapi");
    std::fs::create_dir_all(&openapi).unwrap();
    for entry in std::fs::read_dir(root().join("openapi")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), openapi.join(entry.file_name())).unwrap();
    }
    let generated = dir.path().join("crates/generated/src/generated.rs");
    std::fs::create_dir_all(generated.parent().unwrap()).unwrap();
    std::fs::copy(root().join("crates/generated/src/generated.rs"), &generated).unwrap();
    std::fs::create_dir_all(dir.path().join("xtask")).unwrap();
    std::fs::write(dir.path().join("xtask/Cargo.toml"), "").unwrap();
    dir
}

/// Runs xtask as `cargo run` would in the clone at `clone`: cargo sets
/// `CARGO_MANIFEST_DIR` to that clone's xtask directory.
fn xtask_in(clone: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .env("CARGO_MANIFEST_DIR", clone.join("xtask"))
        .current_dir(clone)
        .output()
        .expect("run xtask")
}

const SPEC: &str = "openapi/mcp-portals-api-sync-server.json";

#[test]
fn a_binary_shared_between_clones_works_on_the_clone_it_runs_in() {
    // One CARGO_TARGET_DIR for two clones: the binary built for this tree runs in
    // another. It must read and write that other clone only.
    let clone = scratch();
    let stale = clone.path().join("crates/generated/src/generated.rs");
    std::fs::write(&stale, "// stale\n").unwrap();
    let ours = std::fs::read(root().join("crates/generated/src/generated.rs")).unwrap();

    let check = xtask_in(clone.path(), &["generate", "--check"]);
    assert_eq!(
        check.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    let write = xtask_in(clone.path(), &["generate"]);
    assert_eq!(
        write.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&write.stderr)
    );
    assert_eq!(
        std::fs::read(&stale).unwrap(),
        ours,
        "the clone was regenerated"
    );
    assert_eq!(
        std::fs::read(root().join("crates/generated/src/generated.rs")).unwrap(),
        ours,
        "this tree was not touched"
    );
}

#[test]
fn a_spec_the_generator_cannot_take_is_a_clear_error_not_a_panic() {
    let clone = scratch();
    let path = clone.path().join(SPEC);
    // Read through the `$ref` resolver: the same pointers whatever form openapi/ has.
    let mut doc = xtask::rehearse::resolved(clone.path()).unwrap();
    let op = doc["paths"]
        .as_object_mut()
        .unwrap()
        .values_mut()
        .next()
        .unwrap();
    let status = &mut op["post"]["responses"]["200"]["content"]["application/json"]["schema"];
    let status = find_status_enum(status).expect("the status enum");
    let twice = status.as_array().unwrap().len();
    status
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!("ready"));
    std::fs::write(&path, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
    let before = std::fs::read(clone.path().join("crates/generated/src/generated.rs")).unwrap();

    for args in [&["generate"][..], &["generate", "--check"]] {
        let out = xtask_in(clone.path(), args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_ne!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(
            stderr.contains(&format!(
                "/properties/status/enum/{twice}: the value \"ready\" is listed twice"
            )),
            "{args:?}: {stderr}"
        );
        assert!(
            stderr.contains("/paths/~1accounts~1{account_id}"),
            "{stderr}"
        );
        assert!(
            !stderr.contains("panicked") && !stderr.contains("backtrace"),
            "{stderr}"
        );
    }
    assert_eq!(
        std::fs::read(clone.path().join("crates/generated/src/generated.rs")).unwrap(),
        before,
        "nothing was written"
    );
}

/// The `enum` array of the `status` property somewhere below `schema`.
fn find_status_enum(schema: &mut serde_json::Value) -> Option<&mut serde_json::Value> {
    if schema.pointer("/properties/status/enum").is_some() {
        return schema.pointer_mut("/properties/status/enum");
    }
    match schema {
        serde_json::Value::Object(map) => map.values_mut().find_map(find_status_enum),
        serde_json::Value::Array(items) => items.iter_mut().find_map(find_status_enum),
        _ => None,
    }
}

#[test]
fn diff_prints_a_markdown_table_for_a_job_summary() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = root().join("tests/fixtures/upstream-openapi.json");
    let drifted = dir.path().join("drifted.json");
    std::fs::write(&drifted, serde_json::to_vec(&drifted_fixture()).unwrap()).unwrap();
    let out = xtask(&[
        "diff",
        fixture.to_str().unwrap(),
        drifted.to_str().unwrap(),
        "--format",
        "markdown",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("**1 change(s)** in scope: 1 breaking,"),
        "{text}"
    );
    assert!(
        text.contains("| class | JSON pointer | change | was | now |"),
        "{text}"
    );
    assert!(text.contains("| breaking | `"), "{text}");
    assert!(text.contains("| `32` | `8` |"), "{text}");
}

/// Serves `body` as a 200 to every connection on 127.0.0.1 (one thread per test).
fn serve(body: Vec<u8>) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
                head.push(byte[0]);
            }
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(&body);
        }
    });
    base
}

#[test]
fn update_from_a_url_prints_markdown_and_exits_like_diff_then_0_when_unchanged() {
    let clone = scratch();
    let sha = "89abcdef0123456789abcdef0123456789abcdef";
    let base = serve(serde_json::to_vec(&drifted_fixture()).unwrap());
    let url = format!("{base}/cloudflare/api-schemas/{sha}/openapi.json");
    let out = xtask_in(clone.path(), &["update", &url, "--format", "markdown"]);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(2), "{stdout}\n{stderr}");
    assert!(stdout.starts_with("## Cloudflare spec drift"), "{stdout}");
    assert!(stdout.contains(&format!("commit `{sha}`")), "{stdout}");
    assert!(
        stdout.contains("Most serious class: **breaking**"),
        "{stdout}"
    );
    assert!(stdout.contains("### Snapshots to review"), "{stdout}");
    assert!(stderr.contains("wrote openapi/"), "{stderr}");
    let prov = std::fs::read_to_string(clone.path().join("openapi/provenance.json")).unwrap();
    assert!(prov.contains(sha) && prov.contains(&url), "{prov}");

    // The same document again: exit 0, and not one byte changes.
    let before: Vec<Vec<u8>> = [
        "openapi/provenance.json",
        SPEC,
        "crates/generated/src/generated.rs",
    ]
    .iter()
    .map(|p| std::fs::read(clone.path().join(p)).unwrap())
    .collect();
    let again = xtask_in(clone.path(), &["update", &url, "--format", "markdown"]);
    let stdout = String::from_utf8_lossy(&again.stdout);
    assert_eq!(again.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("Nothing in scope changed"), "{stdout}");
    let after: Vec<Vec<u8>> = [
        "openapi/provenance.json",
        SPEC,
        "crates/generated/src/generated.rs",
    ]
    .iter()
    .map(|p| std::fs::read(clone.path().join(p)).unwrap())
    .collect();
    assert!(before == after, "the tree changed");
}

#[test]
fn update_refuses_plain_http_off_loopback_and_limits_on_a_file() {
    let clone = scratch();
    let out = xtask_in(clone.path(), &["update", "http://example.com/openapi.json"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("plain http is refused"));
    let out = xtask_in(clone.path(), &["update", "openapi.json", "--timeout", "5"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("go with a URL"));
    let out = xtask_in(clone.path(), &["update", "https://x/y", "--max-mb", "0"]);
    assert_eq!(out.status.code(), Some(64));
}
