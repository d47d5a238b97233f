//! The seam between generated and hand-written code: after `cargo xtask generate`, a
//! new required, new path or renamed parameter, or a method change in `openapi/` must
//! stop the ergonomic crate from compiling, with an error that names what changed; a
//! new optional parameter must not. Each case
//! changes the spec in a scratch copy of the workspace, regenerates, and runs
//! `cargo check` there (offline, its own target directory, so the outer build's lock
//! is never touched). The unchanged copy must compile, so a failure is the change's.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};
use workspace_tests::{SYNC_OP, workspace_root};

/// A workspace of the generated and ergonomic crates, with `openapi/`.
fn scratch() -> tempfile::TempDir {
    let root = workspace_root();
    let dir = tempfile::tempdir().expect("temp dir");
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).expect("Cargo.toml");
    let start = manifest.find("members = [").expect("members");
    let end = start + manifest[start..].find(']').expect("end of members") + 1;
    let manifest = format!(
        "{}members = [\"crates/generated\", \"crates/ergonomic\"]{}",
        &manifest[..start],
        &manifest[end..]
    );
    std::fs::write(dir.path().join("Cargo.toml"), manifest).expect("write manifest");
    std::fs::copy(root.join("Cargo.lock"), dir.path().join("Cargo.lock")).expect("lock");
    for sub in [
        "openapi",
        "crates/generated",
        "crates/ergonomic/src",
        "crates/ergonomic/examples",
    ] {
        copy_dir(&root.join(sub), &dir.path().join(sub));
    }
    std::fs::copy(
        root.join("crates/ergonomic/Cargo.toml"),
        dir.path().join("crates/ergonomic/Cargo.toml"),
    )
    .expect("ergonomic manifest");
    // The crate's docs include the README: an empty one will do here.
    std::fs::write(dir.path().join("README.md"), "").expect("readme");
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

/// Changes the spec in `ws` with `change`, regenerates, and checks the ergonomic
/// crate. Returns cargo's exit success and its stderr.
fn check_after(ws: &Path, change: impl FnOnce(&mut Value)) -> (bool, String) {
    let mut doc = workspace_tests::committed_spec();
    change(&mut doc);
    workspace_tests::write_spec(ws, &doc);
    xtask::generate::write(ws).expect("generate");
    let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args([
            "check",
            "--offline",
            "-q",
            "-p",
            "cloudflare-mcp-sync",
            "--message-format=short",
        ])
        .current_dir(ws)
        .env("CARGO_TARGET_DIR", target_dir())
        .env_remove("RUSTFLAGS")
        .output()
        .expect("run cargo check");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// One target directory for every run of this suite, inside the workspace's own: the
/// one `cargo xtask ci`'s package step checks the library alone in (same dependencies,
/// same features: this suite starts warm), and xtask's corpus test after it.
fn target_dir() -> PathBuf {
    xtask::ci::scratch_check_of_this_test()
}

fn operation(doc: &mut Value) -> &mut Value {
    doc.pointer_mut(SYNC_OP).expect("the sync operation")
}

#[test]
fn the_seam_holds() {
    let ws = scratch();

    // The unchanged spec compiles: any failure below is the change's.
    let (ok, stderr) = check_after(ws.path(), |_| {});
    assert!(
        ok,
        "the unchanged scratch workspace does not compile:\n{stderr}"
    );

    // A new required query parameter.
    let (ok, stderr) =
        check_after(ws.path(), |doc| {
            operation(doc)["parameters"].as_array_mut().unwrap().push(json!({
            "name": "dry_run", "in": "query", "required": true, "schema": {"type": "boolean"}
        }));
        });
    assert!(!ok, "a new required query parameter compiled");
    assert!(stderr.contains("missing field `dry_run`"), "{stderr}");

    // A new optional query parameter compiles: it is not sent until the crate offers it.
    let (ok, stderr) = check_after(ws.path(), |doc| {
        operation(doc)["parameters"]
            .as_array_mut()
            .unwrap()
            .push(json!({
                "name": "force", "in": "query", "schema": {"type": "boolean"}
            }));
    });
    assert!(
        ok,
        "a new optional query parameter broke the build:\n{stderr}"
    );

    // A new path parameter.
    let (ok, stderr) =
        check_after(ws.path(), |doc| {
            let paths = doc["paths"].as_object_mut().unwrap();
            let (old, mut item) = paths
                .iter()
                .next()
                .map(|(k, v)| (k.clone(), v.clone()))
                .unwrap();
            item["post"]["parameters"].as_array_mut().unwrap().push(json!({
            "name": "portal_id", "in": "path", "required": true, "schema": {"type": "string"}
        }));
            paths.remove(&old);
            paths.insert(
                old.replace("/mcp/servers/", "/mcp/portals/{portal_id}/servers/"),
                item,
            );
        });
    assert!(!ok, "a new path parameter compiled");
    assert!(stderr.contains("missing field `portal_id`"), "{stderr}");

    // A renamed path parameter.
    let (ok, stderr) = check_after(ws.path(), |doc| {
        let paths = doc["paths"].as_object_mut().unwrap();
        let (old, mut item) = paths
            .iter()
            .next()
            .map(|(k, v)| (k.clone(), v.clone()))
            .unwrap();
        for p in item["post"]["parameters"].as_array_mut().unwrap() {
            if p["name"] == "id" {
                p["name"] = json!("server_id");
            }
        }
        paths.remove(&old);
        paths.insert(old.replace("{id}", "{server_id}"), item);
    });
    assert!(!ok, "a renamed path parameter compiled");
    assert!(stderr.contains("has no field named `id`"), "{stderr}");

    // A method change.
    let (ok, stderr) = check_after(ws.path(), |doc| {
        let item = doc["paths"]
            .as_object_mut()
            .unwrap()
            .values_mut()
            .next()
            .unwrap();
        let op = item.as_object_mut().unwrap().remove("post").unwrap();
        item["put"] = op;
    });
    assert!(!ok, "a method change compiled");
    assert!(
        stderr.contains("changed the sync operation's HTTP method"),
        "{stderr}"
    );
}
